# bench/run-line.sh: the line protocol cases of make bench, sourced by
# bench/run (whose variables and helpers it uses: tmp, results, notes,
# server_pid, server_port, pin_lg, kv, record, note, cell, rcell, target...).
#
#   line100  gserve's echo with "gsock_attrs": {"framing": "line"} against
#            bench/baseline_epoll_line, driven by bench/loadgen_line
#            --mode line-echo;
#   chat100  gserve -c samples/chat.json, driven by bench/loadgen_line
#            --mode chat-fanout.
# Their results have a section of their own in doc/performance.md, with its
# own date, source and load, so that BENCH_CASES="line100 chat100" can
# rewrite it alone.

line_heading="## Line protocols: line echo and chat fan-out"

# count_line_syscalls KEY LOADGEN_LINE-ARGS...: like count_syscalls, for
# loadgen_line: sets sysval to the server's syscalls per KEY (lines_total
# or deliveries_total, counted by loadgen_line over its whole run, drain
# included), or to n/a or FAIL.
count_line_syscalls() {
    local key=$1 n="" total=""
    shift
    sysval=n/a
    case $syscounter in
    perf) perf stat -e raw_syscalls:sys_enter -x, -o "$tmp/count.out" -p "$server_pid" & ;;
    strace) strace -c -f -o "$tmp/count.out" -p "$server_pid" 2>/dev/null & ;;
    *) return 0 ;;
    esac
    counter_pid=$!
    sleep 0.5
    if ! $pin_lg "$loadgen_line" --port "$server_port" "$@" >"$tmp/lg.out" 2>"$tmp/lg.err"; then
        sysval=FAIL
    fi
    kill -INT "$counter_pid" 2>/dev/null || true
    wait "$counter_pid" 2>/dev/null || true
    counter_pid=""
    [ "$sysval" = n/a ] || return 0
    case $syscounter in
    perf) n=$(awk -F, '/raw_syscalls:sys_enter/ {print $1; exit}' "$tmp/count.out") ;;
    strace) n=$(awk '$NF == "total" {print $4; exit}' "$tmp/count.out") ;;
    esac
    total=$(kv "$key")
    case $n$total in
    '' | *[!0-9]*) ;;
    *) [ "$total" = 0 ] || sysval=$(awk -v n="$n" -v m="$total" 'BEGIN { printf "%.3f", n / m }') ;;
    esac
}

# room_dropped: the chat room's "dropped" statistic (messages not sent to a
# slow client), from the stats record gserve logs on SIGUSR1; n/a when it
# does not come within 2 s.
room_dropped() {
    local d=""
    kill -USR1 "$server_pid" 2>/dev/null || true
    for _ in $(seq 40); do
        d=$(sed -n 's/.* stats .*"room":{[^}]*"dropped":\([0-9][0-9]*\).*/\1/p' "$tmp/server.err")
        [ -z "$d" ] || break
        sleep 0.05
    done
    echo "${d:-n/a}"
}

# measure_line CASE SERVER REP: the line100 or chat100 measurement on the
# server measure() started; sets v=FAIL (measure's) when the run failed.
measure_line() {
    local c=$1 s=$2 rep=$3
    case $c in
    line100)
        if $pin_lg "$loadgen_line" --mode line-echo --port "$server_port" --conns 100 \
            --duration "$dur" --warmup "$warm" --pid "$server_pid" >"$tmp/lg.out" 2>"$tmp/lg.err"
        then
            record "$c" "$s" "$rep" "$(kv lines_per_s)"
            record "$c.cpu" "$s" "$rep" "$(kv server_cpu_us_per_line)"
            record "$c.pct" "$s" "$rep" "$(kv server_cpu_pct)"
            record "$c.lgpct" "$s" "$rep" "$(kv loadgen_cpu_pct)"
            # Syscalls in a second, shorter run on the same server, so
            # that counting them cannot disturb the CPU figures above.
            count_line_syscalls lines_total --mode line-echo --conns 100 --duration "$sys_dur" \
                --warmup 0
            record "$c.sys" "$s" "$rep" "$sysval"
            [ "$sysval" != FAIL ] ||
                note "$s failed the syscall count of $c (repetition $rep): $(head -n 1 "$tmp/lg.err")"
        else
            v=FAIL
        fi
        ;;
    chat100)
        if $pin_lg "$loadgen_line" --mode chat-fanout --port "$server_port" --conns 100 \
            --duration "$dur" --warmup "$warm" --pid "$server_pid" >"$tmp/lg.out" 2>"$tmp/lg.err"
        then
            record "$c" "$s" "$rep" "$(kv lines_per_s)"
            record "$c.deliv" "$s" "$rep" "$(kv deliveries_per_s)"
            record "$c.cpu" "$s" "$rep" "$(kv server_cpu_us_per_delivery)"
            record "$c.pct" "$s" "$rep" "$(kv server_cpu_pct)"
            record "$c.missing" "$s" "$rep" "$(kv missing)"
            record "$c.lgpct" "$s" "$rep" "$(kv loadgen_cpu_pct)"
            record "$c.dropped" "$s" "$rep" "$(room_dropped)"
            count_line_syscalls deliveries_total --mode chat-fanout --conns 100 \
                --duration "$sys_dur" --warmup 0
            record "$c.sys" "$s" "$rep" "$sysval"
            [ "$sysval" != FAIL ] ||
                note "$s failed the syscall count of $c (repetition $rep): $(head -n 1 "$tmp/lg.err")"
        else
            v=FAIL
        fi
        ;;
    esac
}

# worst KEY: the largest value of KEY over the repetitions, or the first
# that is not a number (n/a, FAIL).
worst() {
    awk -v k="$1" '
        $1 == k { if ($4 !~ /^[0-9]+$/) { if (bad == "") bad = $4 } else if (!n++ || $4 > m) m = $4 + 0 }
        END { print (bad != "" ? bad : n ? m : "n/a") }' "$results"
}

# old_line_section FILE: the line protocols section of FILE (to the next
# "## " heading).
old_line_section() {
    [ -f "$1" ] || return 0
    awk -v h="$line_heading" '$0 == h { on = 1; print; next } on && /^## / { on = 0 } on' "$1"
}

# put_section HEADING NEW FILE: FILE with its section HEADING (to the next
# "## " heading) replaced by the file NEW, in the same place, or with NEW
# appended when FILE has no such section; sections stay one blank line
# apart (blank lines at the end of FILE are dropped).
put_section() {
    awk -v h="$1" -v new="$2" '
        function put() { while ((getline l < new) > 0) print l; close(new); done = 1 }
        function flush() { for (; blank > 0; blank--) print "" }
        $0 == h { on = 1; flush(); put(); next }
        on && /^## / { on = 0; print "" }
        on { next }
        /^$/ { blank++; next }
        { flush(); print }
        END { if (!done) { print ""; put() } }' "$3" >"$3.new"
    mv "$3.new" "$3"
}

# write_line_section: when a line case ran, writes its section to
# $tmp/line.md; then puts it into $tmp/performance.md: after a full run at
# its end (or the old section of doc/performance.md when no line case ran);
# after a run of only some cases into a copy of doc/performance.md whose
# other sections stay as they were (in their place).
write_line_section() {
    local line_ran=0 c
    for c in $cases; do
        case $c in line100 | chat100) line_ran=1 ;; esac
    done
    if [ $line_ran = 1 ]; then
        {
            echo "$line_heading"
            echo
            echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
            echo "- source: $(git -C "$srcdir" log -1 --format='%h %s' 2>/dev/null || echo unknown)"
            echo "- command: \`BENCH_CASES=\"line100 chat100\" make bench\` (also part of a"
            echo "  full \`make bench\`)"
            echo "- runs: $reps repetitions, servers alternating in a rotating order, every"
            echo "  measurement on a fresh server, ${dur} s after a ${warm} s warm-up; medians;"
            echo "  ratios are medians of the per-repetition ratios"
            echo "- pinning: $pinning"
            echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after"
            echo
            echo "Line echo: \`samples/gserve\` running samples/echo.json with"
            echo "\`\"gsock_attrs\": {\"framing\": \"line\"}\` on its GServerSock (each line one"
            echo "EV_RX_DATA, echoed as one EV_SEND_DATA) against bench/baseline_epoll_line"
            echo "(edge-triggered epoll, one shared read buffer, lines cut with memchr, the"
            echo "replies to one read sent in one write, partial lines and unwritten replies"
            echo "kept per connection).  \`bench/loadgen_line --mode line-echo\`: 100"
            echo "connections, each keeping 32 lines of 64 bytes (with the \"\\n\") in flight,"
            echo "sent 8 per write, every echoed line checked byte for byte.  Target"
            echo "(issue 10): gserve >= 0.9x the baseline's throughput and <= 1/0.9x its"
            echo "server CPU per line."
            echo
            echo "| line echo, 100 conns x 64 B lines | gserve (line framing) | epoll line | gserve / epoll line |"
            echo "|---|---:|---:|---:|"
            echo "| lines/s | $(cell line100 gserve) | $(cell line100 epoll_line) | $(rcell line100 epoll_line) |"
            echo "| server CPU per line (us) | $(cell line100.cpu gserve 3) |" \
                "$(cell line100.cpu epoll_line 3) | $(rcell line100.cpu epoll_line) |"
            echo "| server CPU use | $(cell line100.pct gserve)% | $(cell line100.pct epoll_line)% | |"
            echo "| load generator CPU use | $(cell line100.lgpct gserve)% |" \
                "$(cell line100.lgpct epoll_line)% | |"
            echo "| server syscalls per line | $(cell line100.sys gserve 3) |" \
                "$(cell line100.sys epoll_line 3) | $(rcell line100.sys epoll_line) |"
            echo
            echo "Chat fan-out: \`samples/gserve -c samples/chat.json\` (moved to a free port;"
            echo "ChatRoom and ChatSession, line framing, tx_high_water 65536, slow_policy"
            echo "drop).  \`bench/loadgen_line --mode chat-fanout\`: 100 clients join, then"
            echo "each keeps at most 4 of its 64-byte lines not yet delivered to all 99"
            echo "others (so no client's queue can pass about 28 KiB: nobody is a slow"
            echo "consumer), every client reads all the time, and every delivery is"
            echo "checked: format \`N: L\`, sender, text and per-sender order.  Each line"
            echo "sent is 99 deliveries.  \"dropped\" is the room's statistic (read with"
            echo "SIGUSR1 after the run), \"missing\" the deliveries the load generator"
            echo "never saw; both should be 0."
            echo
            echo "| chat fan-out, 100 clients x 64 B lines | gserve (samples/chat.json) |"
            echo "|---|---:|"
            echo "| lines/s sent | $(cell chat100 gserve) |"
            echo "| deliveries/s | $(cell chat100.deliv gserve) |"
            echo "| server CPU per delivery (us) | $(cell chat100.cpu gserve 3) |"
            echo "| server CPU use | $(cell chat100.pct gserve)% |"
            echo "| load generator CPU use | $(cell chat100.lgpct gserve)% |"
            echo "| server syscalls per delivery | $(cell chat100.sys gserve 3) |"
            echo "| dropped (room) / missing (loadgen), worst repetition |" \
                "$(worst chat100.dropped) / $(worst chat100.missing) |"
            echo
            echo "Syscalls: $counted, in a second run of ${sys_dur} s on the same server"
            echo "(the load generator's count of lines or deliveries, its final drain"
            echo "included)."
            echo
            echo "When neither the server nor the load generator is near 100% of its CPU,"
            echo "the machine is the bottleneck (other processes on the same cores, wake-up"
            echo "latency): throughput then says little, CPU per line or per delivery is the"
            echo "figure to compare."
            echo
            echo "Targets (issue 10):"
            echo
            target "line echo throughput vs epoll line >= 0.9" line100 epoll_line ">=" 0.9
            target "line echo server CPU per line vs epoll line <= 1.11" line100.cpu epoll_line "<=" 1.11
            if [ $full = 0 ] && [ -s "$notes" ]; then
                echo
                echo "Notes from this run:"
                echo
                cat "$notes"
            fi
        } >"$tmp/line.md"
    fi
    if [ $full = 1 ]; then
        if [ $line_ran = 1 ]; then
            { echo; cat "$tmp/line.md"; } >>"$tmp/performance.md"
        elif [ -n "$(old_line_section "$out")" ]; then
            { echo; old_line_section "$out"; } >>"$tmp/performance.md"
        fi
    elif [ -f "$out" ]; then
        # Only some cases ran: every other section stays as it was.
        cp "$out" "$tmp/performance.md"
        [ $line_ran = 0 ] || put_section "$line_heading" "$tmp/line.md" "$tmp/performance.md"
    elif [ $line_ran = 1 ]; then
        { echo "# Performance"; echo; cat "$tmp/line.md"; } >"$tmp/performance.md"
    else
        echo "# Performance" >"$tmp/performance.md"
    fi
}
