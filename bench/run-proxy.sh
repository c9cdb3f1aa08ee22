# bench/run-proxy.sh: the TCP proxy case of make bench, sourced by
# bench/run (whose variables and helpers it uses: tmp, results, notes,
# server_pid, server_port, pin_srv, pin_lg, loadgen, kv, record, note,
# median, count_syscalls, stop_server, put_section...).
#
#   proxy100  100 connections x 16 KiB messages (bench/loadgen --mode echo)
#             to bench/baseline_epoll, three ways: directly ("direct"),
#             through gserve -c samples/tcp-proxy.json ("gserve") and
#             through HAProxy in mode tcp ("haproxy", n/a when haproxy is
#             not installed).
# Its results have a section of their own in doc/performance.md, with its
# own date, source and load, so that BENCH_CASES=proxy100 rewrites it alone.

proxy_heading="## TCP proxy: 100 connections x 16 KiB through the proxy"
proxy_config="$srcdir/samples/tcp-proxy.json"
proxy_size=16384
# The upstream echo, remembered by PID for cleanup (bench/run's trap).
upstream_pid=""
upstream_port=""
# The load generator while it runs in the background (measure_proxy).
lg_pid=""
haproxy_cmd=$(command -v haproxy 2>/dev/null || true)

# pstart_upstream: bench/baseline_epoll on a port of its own choosing,
# pinned with the load generator; sets upstream_pid and upstream_port, or
# start_error and returns 1.
pstart_upstream() {
    upstream_port=""
    : >"$tmp/upstream.err"
    $pin_lg "$builddir/bench/baseline_epoll" --port 0 >/dev/null 2>"$tmp/upstream.err" &
    upstream_pid=$!
    for _ in $(seq 100); do
        upstream_port=$(sed -n 's/^listening .*:\([0-9][0-9]*\)$/\1/p' "$tmp/upstream.err")
        [ -z "$upstream_port" ] || return 0
        kill -0 "$upstream_pid" 2>/dev/null || break
        sleep 0.05
    done
    start_error="the upstream echo did not start: $(head -n 1 "$tmp/upstream.err")"
    pstop_upstream
    return 1
}

pstop_upstream() {
    [ -n "$upstream_pid" ] || return 0
    kill -TERM "$upstream_pid" 2>/dev/null || true
    wait "$upstream_pid" 2>/dev/null || true
    upstream_pid=""
}

# pstart_proxy NAME: gserve or haproxy on a free port in front of the
# upstream, pinned to the server's CPU; sets server_pid and server_port, or
# start_error and returns 1.
pstart_proxy() {
    server_port=$("$loadgen" --mode freeport) || {
        start_error="no free port"
        return 1
    }
    : >"$tmp/server.err"
    case $1 in
    gserve)
        $pin_srv "$gserve" -c "$proxy_config" --log-level warn -s "server.port=$server_port" \
            -s "GConnex.destinations=[{\"host\":\"127.0.0.1\",\"port\":$upstream_port}]" \
            >"$tmp/server.out" 2>"$tmp/server.err" &
        ;;
    haproxy)
        # One frontend, one backend server, one thread, timeouts far beyond
        # a run; no log.  -db: in the foreground, no master process, so
        # $! is the process that relays.
        cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h
frontend bench
    bind 127.0.0.1:$server_port
    default_backend echo
backend echo
    server echo 127.0.0.1:$upstream_port
EOF
        $pin_srv "$haproxy_cmd" -f "$tmp/haproxy.cfg" -db >"$tmp/server.out" 2>"$tmp/server.err" &
        ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$server_port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        start_error="not accepting connections on 127.0.0.1:$server_port after 5 s"
    else
        start_error="exited: $(head -n 1 "$tmp/server.err")"
    fi
    stop_server
    return 1
}

# rss_kb PID: VmRSS in KiB, or n/a.
rss_kb() {
    local r
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    echo "${r:-n/a}"
}

# measure_proxy CASE SERVER REP: one proxy100 measurement (SERVER direct,
# gserve or haproxy) on a fresh upstream and a fresh proxy; records the
# results itself.
measure_proxy() {
    local c=$1 s=$2 rep=$3 pid
    if [ "$s" = haproxy ] && [ -z "$haproxy_cmd" ]; then
        record "$c" "$s" "$rep" n/a
        return 0
    fi
    if ! pstart_upstream || { [ "$s" != direct ] && ! pstart_proxy "$s"; }; then
        note "$s did not start for $c (repetition $rep): $start_error"
        record "$c" "$s" "$rep" FAIL
        failed=1
        pstop_upstream
        return 0
    fi
    # direct: the echo is the only server; count_syscalls and the CPU
    # figures then see the echo itself.
    if [ "$s" = direct ]; then
        server_pid=$upstream_pid server_port=$upstream_port
        set -- --pid "$upstream_pid"
    else
        set -- --pid "$server_pid" --pid2 "$upstream_pid"
    fi
    pid=$server_pid
    record "$c.rss0" "$s" "$rep" "$(rss_kb "$pid")"
    # The load generator in the background, so that the proxy's RSS can be
    # read half-way through the measured interval, all 100 clients busy.
    run_loadgen --mode echo --conns 100 --size "$proxy_size" --duration "$dur" \
        --warmup "$warm" "$@" &
    lg_pid=$!
    sleep "$(awk -v w="$warm" -v d="$dur" 'BEGIN { print w + d / 2 }')"
    record "$c.rssmid" "$s" "$rep" "$(rss_kb "$pid")"
    if wait "$lg_pid"; then
        lg_pid=""
        record "$c" "$s" "$rep" "$(kv msgs_per_s)"
        record "$c.rss" "$s" "$rep" "$(rss_kb "$pid")"
        record "$c.mib" "$s" "$rep" "$(awk -v m="$(kv msgs_per_s)" -v z="$proxy_size" \
            'BEGIN { printf "%.1f", m * z / 1048576 }')"
        record "$c.p50" "$s" "$rep" "$(kv p50_us)"
        record "$c.p99" "$s" "$rep" "$(kv p99_us)"
        record "$c.cpu" "$s" "$rep" "$(kv server_cpu_us_per_msg)"
        record "$c.cpumib" "$s" "$rep" "$(awk -v u="$(kv server_cpu_us_per_msg)" \
            -v z="$proxy_size" 'BEGIN { printf "%.1f", u * 1048576 / z }')"
        record "$c.pct" "$s" "$rep" "$(kv server_cpu_pct)"
        if [ "$s" = direct ]; then
            record "$c.upcpu" "$s" "$rep" "$(kv server_cpu_us_per_msg)"
            record "$c.uppct" "$s" "$rep" "$(kv server_cpu_pct)"
        else
            record "$c.upcpu" "$s" "$rep" "$(kv pid2_cpu_us_per_msg)"
            record "$c.uppct" "$s" "$rep" "$(kv pid2_cpu_pct)"
        fi
        # Syscalls in a second, shorter run on the same processes, so that
        # counting them cannot disturb the figures above.
        count_syscalls "$sys_msgs_16k" --conns 100 --size "$proxy_size"
        record "$c.sys" "$s" "$rep" "$sysval"
        [ "$sysval" != FAIL ] ||
            note "$s failed the syscall count of $c (repetition $rep): $(head -n 1 "$tmp/lg.err")"
    else
        lg_pid=""
        note "$s failed $c (repetition $rep): $(grep -v '^#' "$tmp/lg.err" | head -n 1)"
        record "$c" "$s" "$rep" FAIL
        failed=1
    fi
    if [ "$s" = direct ]; then
        server_pid=""
    else
        stop_server
    fi
    pstop_upstream
    echo "bench: $c $s #$rep: $(awk -v c="$c" -v s="$s" -v r="$rep" \
        '$1 == c && $2 == s && $3 == r {print $4}' "$results")" >&2
}

# pratio KEY NUM DEN: the median over repetitions of NUM / DEN.
pratio() {
    awk -v c="$1" -v s="$2" -v t="$3" '
        $1 == c && $2 == s { g[$3] = $4 }
        $1 == c && $2 == t { b[$3] = $4 }
        END {
            for (r in g)
                if (g[r] ~ /^[0-9.]+$/ && b[r] ~ /^[0-9.]+$/ && b[r] > 0) v[n++] = g[r] / b[r]
            if (n == 0) { print "n/a"; exit }
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
                if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
            printf "%.2f\n", m
        }' "$results"
}

# prow LABEL KEY DECIMALS [DIRECT]: one row of the table; DIRECT "-" leaves
# the direct column empty (a figure only a proxy has).
prow() {
    local d
    if [ "${4:-}" = - ]; then d="-"; else d=$(median "$2" direct "$3"); fi
    echo "| $1 | $d | $(median "$2" gserve "$3") | $(median "$2" haproxy "$3") |" \
        "$(pratio "$2" gserve haproxy) |"
}

# write_proxy_section: when proxy100 ran, writes its section to
# $tmp/proxy.md; then puts it (or, when it did not run, the old section of
# doc/performance.md) into $tmp/performance.md in its place.
write_proxy_section() {
    local ran=0 c
    for c in $cases; do
        [ "$c" != proxy100 ] || ran=1
    done
    if [ $ran = 0 ]; then
        [ -f "$out" ] || return 0
        awk -v h="$proxy_heading" '$0 == h { on = 1; print; next } on && /^## / { on = 0 } on' \
            "$out" | sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}' >"$tmp/proxy.md"
        [ -s "$tmp/proxy.md" ] || return 0
        put_section "$proxy_heading" "$tmp/proxy.md" "$tmp/performance.md"
        return 0
    fi
    local hap
    hap="HAProxy $("${haproxy_cmd:-false}" -v 2>/dev/null | sed -n '1s/^HA-*Proxy version \([^ ]*\).*/\1/p')"
    [ -n "$haproxy_cmd" ] || hap="HAProxy: n/a (not installed; \`apt-get install haproxy\`)"
    {
        echo "$proxy_heading"
        echo
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "- source: $(git -C "$srcdir" log -1 --format='%h %s' 2>/dev/null || echo unknown)"
        echo "- command: \`BENCH_CASES=proxy100 make bench\` (also part of a full \`make bench\`)"
        echo "- runs: $reps repetitions, the three paths alternating in a rotating order,"
        echo "  every measurement on a fresh echo and a fresh proxy, ${dur} s after a ${warm} s"
        echo "  warm-up; medians; ratios are medians of the per-repetition ratios"
        if [ -n "$pin_srv" ]; then
            echo "- pinning (taskset): the proxy alone on CPU 0; the upstream echo and the"
            echo "  load generator together on CPU 1 (the same places for the direct runs)"
        else
            echo "- pinning: $pinning"
        fi
        echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after"
        echo "- $hap"
        echo
        echo "bench/loadgen --mode echo, 100 connections, each with one 16 KiB message"
        echo "in flight (ping-pong, every echoed byte checked), to an upstream echo, three"
        echo "ways:"
        echo
        echo "- direct: to the echo itself, the reference without a proxy;"
        echo "- gserve: through \`samples/gserve -c samples/tcp-proxy.json --log-level warn"
        echo "  -s server.port=P -s 'GConnex.destinations=[{\"host\":\"127.0.0.1\",\"port\":E}]'\`"
        echo "  (TcpProxy; a ProxySession and its GConnex per client, high_water 256 KiB);"
        echo "- HAProxy: through \`haproxy -db\` with a config written for the run: mode tcp,"
        echo "  one frontend on a free loopback port, one backend server, nbthread 1,"
        echo "  timeouts of an hour, no log (the practical reference for a TCP proxy)."
        echo
        echo "The upstream is bench/baseline_epoll (edge-triggered epoll, one reused"
        echo "buffer: the cheapest echo here), so that the proxy's own cost dominates"
        echo "what the proxied runs add, and the echo's share of CPU 1 stays as small as"
        echo "it can be.  A message is 16 KiB each way: the proxy reads and writes it"
        echo "twice (client to upstream, upstream to client); MiB/s counts one way."
        echo "Proxy CPU is the proxy process's CPU time over the measured interval"
        echo "(/proc/PID/task/*/schedstat, all its threads), per message and per MiB;"
        echo "the echo's CPU is measured the same way at the same time (loadgen --pid2),"
        echo "so it is never counted as the proxy's.  In the direct column the CPU and"
        echo "syscall rows are the echo's own.  RSS is the proxy's VmRSS with no client"
        echo "(after one probe connection), half-way through the measured interval"
        echo "(100 clients busy) and right after the run (the load generator's"
        echo "connections just closed: what the proxy freed then and kept in its heap"
        echo "still counts)."
        echo
        echo "Syscalls of the proxy (of the echo for direct), in a second run of"
        echo "exactly $sys_msgs_16k messages on the same processes: $counted."
        echo
        echo "| 100 conns x 16 KiB echo | direct (no proxy) | gserve proxy | HAProxy | gserve / HAProxy |"
        echo "|---|---:|---:|---:|---:|"
        prow "messages/s" proxy100 0
        prow "MiB/s (each way)" proxy100.mib 1
        echo "| throughput / direct | 1.00 | $(pratio proxy100 gserve direct) |" \
            "$(pratio proxy100 haproxy direct) | |"
        prow "proxy CPU per message (us; direct: the echo's)" proxy100.cpu 2
        prow "proxy CPU per MiB (us; direct: the echo's)" proxy100.cpumib 1
        prow "proxy CPU use (%; direct: the echo's)" proxy100.pct 1
        prow "upstream echo CPU per message (us)" proxy100.upcpu 2
        prow "upstream echo CPU use (%)" proxy100.uppct 1
        prow "proxy syscalls per message (direct: the echo's)" proxy100.sys 2
        prow "latency p50 (us)" proxy100.p50 1
        prow "latency p99 (us)" proxy100.p99 1
        prow "proxy RSS with no client (KiB)" proxy100.rss0 0 -
        prow "proxy RSS half-way through the run (KiB)" proxy100.rssmid 0 -
        prow "proxy RSS after the run (KiB)" proxy100.rss 0 -
        echo
        echo "CPU per message and per MiB are the figures to compare: throughput and"
        echo "latency move with whatever else the machine runs, and with a proxy"
        echo "below 100% of its CPU they are set by CPU 1 (the load generator and the"
        echo "echo) and by wake-ups, not by the proxy."
        if [ $full = 0 ] && [ -s "$notes" ]; then
            echo
            echo "Notes from this run:"
            echo
            cat "$notes"
        fi
    } >"$tmp/proxy.md"
    put_section "$proxy_heading" "$tmp/proxy.md" "$tmp/performance.md"
}
