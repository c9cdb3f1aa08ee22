#!/bin/sh
# The TCP proxy sample (samples/tcp-proxy.json) as its users meet it, every
# upstream on loopback: 64 MiB byte-exact both ways through it to gserve's
# echo; a 64 MiB GET from python3 -m http.server and a 64 MiB PUT to an
# http.server that answers the body's SHA-256 (each request ends with a
# half-close, so the proxy must pass the FIN on and keep the other
# direction open); a client that never reads and an upstream that never
# reads leave the proxy's RSS bounded; an upstream killed with a connection
# open closes that connection, a client arriving while it is down is closed
# after connect_timeout with a warning, and a restarted upstream is used
# again; a bad session attribute is refused by --check.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"
PROXY="$top_srcdir/tests/blackbox/proxy_client.py"
PROXY_CFG="$top_srcdir/samples/tcp-proxy.json"
BIG=$((64 * 1024 * 1024))

if [ "$PYTHON3" = no ] || [ -z "$PYTHON3" ]; then
    echo "SKIP: no python3"
    exit 77
fi

# pcheck DESCRIPTION ARGS... : proxy_client.py ARGS, one ok or FAIL line.
pcheck() {
    saved=$CLIENT
    CLIENT=$PROXY
    check "$@"
    st=$?
    CLIENT=$saved
    return $st
}

# start_proxy NAME UPSTREAM-PORT [ARGS...] : a proxy on port 0 in front of
# 127.0.0.1:UPSTREAM-PORT; sets PADDR and PPID_.
start_proxy() {
    n=$1
    up=$2
    shift 2
    start_echo "$n" -c "$PROXY_CFG" -s server.port=0 \
        -s "GConnex.destinations=[{\"host\":\"127.0.0.1\",\"port\":$up}]" "$@" || return 1
    PADDR=$ADDR
    PPID_=$SRV_PID
    return 0
}

# stop_proxy NAME PID : SIGTERM, then exit 0 within a bound.
stop_proxy() {
    kill -TERM "$2" 2>/dev/null
    wait_exit "$2" 20
    if [ "$EXIT_STATUS" = 0 ]; then
        pass "$1: SIGTERM -> exit 0"
    else
        fail "$1: after SIGTERM exit status $EXIT_STATUS, expected 0"
        dump "$TMP/$1.err"
    fi
}

# wait_port_file FILE : the port an upstream of proxy_client.py wrote.
wait_port_file() {
    wait_file "$1" 20 || { fail "no port in $1 within $((20 * TIME_SCALE))s"; return 1; }
    cat "$1"
}

# 1. gserve's echo behind the proxy: 64 MiB both ways, byte-exact.
if start_echo echo -s server.port=0; then
    ECHO_PID=$SRV_PID
    ECHO_PORT=$PORT
    if start_proxy p_echo "$ECHO_PORT"; then
        pcheck "echo: 64 MiB through the proxy" roundtrip "$PADDR" --bytes "$BIG" \
            --limit $((120 * TIME_SCALE))
        pcheck "echo: 10 small exchanges" roundtrip "$PADDR" --bytes 100
        # 2. A client that never reads: the echo's replies pile up in front
        # of it, the proxy holds the upstream, then the echo holds the
        # client: the proxy's memory stays bounded.
        pcheck "echo: a client that never reads" flood "$PADDR" --pid "$PPID_" \
            --seconds $((20 * TIME_SCALE)) --max-growth-kib 24576
        pcheck "echo: still serving after it" roundtrip "$PADDR" --bytes 1000000
        stop_proxy p_echo "$PPID_"
    fi
    stop_echo echo "$ECHO_PID"
fi

# 3. A real HTTP server: python3 -m http.server serving a 64 MiB file.
mkdir -p "$TMP/www"
head -c "$BIG" /dev/urandom >"$TMP/www/big.bin"
SHA=$(sha256sum "$TMP/www/big.bin" | cut -d' ' -f1)
start_bg httpd "$PYTHON3" -u -m http.server 0 --bind 127.0.0.1 --directory "$TMP/www"
HTTPD_PID=$BG_PID
if wait_for "$TMP/httpd.out" 'port [0-9]+' 20; then
    HPORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$TMP/httpd.out" | head -n 1)
    if start_proxy p_http "$HPORT"; then
        pcheck "http.server: GET 64 MiB through the proxy" get "$PADDR" --path big.bin \
            --sha256 "$SHA"
        stop_proxy p_http "$PPID_"
    fi
else
    fail "python3 -m http.server did not start"
    dump "$TMP/httpd.err"
fi
kill "$HTTPD_PID" 2>/dev/null
wait "$HTTPD_PID" 2>/dev/null

# 4. An HTTP server that reads a 64 MiB PUT and answers its SHA-256.
start_bg putd "$PYTHON3" "$PROXY" serve-put --port-file "$TMP/putd.port"
PUTD_PID=$BG_PID
if UPORT=$(wait_port_file "$TMP/putd.port") && start_proxy p_put "$UPORT"; then
    pcheck "http PUT: 64 MiB through the proxy" put "$PADDR" --bytes "$BIG"
    stop_proxy p_put "$PPID_"
fi
kill "$PUTD_PID" 2>/dev/null
wait "$PUTD_PID" 2>/dev/null

# 5. An upstream that never reads: the proxy holds the client.
start_bg sink "$PYTHON3" "$PROXY" sink --port-file "$TMP/sink.port"
SINK_PID=$BG_PID
if SPORT=$(wait_port_file "$TMP/sink.port") && start_proxy p_sink "$SPORT"; then
    pcheck "an upstream that never reads" flood "$PADDR" --pid "$PPID_" \
        --seconds $((20 * TIME_SCALE)) --max-growth-kib 24576
    stop_proxy p_sink "$PPID_"
fi
kill "$SINK_PID" 2>/dev/null
wait "$SINK_PID" 2>/dev/null

# 6. The upstream killed and restarted on its port.
UP=$("$PYTHON3" "$top_srcdir/tests/blackbox/echo_client.py" freeport)
if start_echo up1 -s server.port="$UP"; then
    UP1_PID=$SRV_PID
    if start_proxy p_restart "$UP" \
        -s 'server.session_attrs={"connect_timeout":1500,"high_water":262144}'; then
        pcheck "restart: before" roundtrip "$PADDR" --bytes 100000
        start_bg held "$PYTHON3" "$PROXY" closed "$PADDR" --within $((20 * TIME_SCALE))
        HELD_PID=$BG_PID
        sleep 0.5
        kill -KILL "$UP1_PID"
        wait "$UP1_PID" 2>/dev/null
        wait_exit "$HELD_PID" $((25 * TIME_SCALE))
        if [ "$EXIT_STATUS" = 0 ]; then
            pass "restart: the open connection was closed when its upstream died"
        else
            fail "restart: the open connection: $(cat "$TMP/held.err")"
        fi
        pcheck "restart: a client while the upstream is down is closed" closed "$PADDR" \
            --within $((10 * TIME_SCALE))
        contains "$TMP/p_restart.err" "did not connect within 1500 ms"
        if start_echo up2 -s server.port="$UP"; then
            pcheck "restart: after" roundtrip "$PADDR" --bytes 100000
            stop_echo up2 "$SRV_PID"
        fi
        stop_proxy p_restart "$PPID_"
    fi
fi

# 7. A bad session attribute: --check names it.
run 2 "$GSERVE" -c "$PROXY_CFG" --check -s 'server.session_attrs={"high_water":0}'
contains "$TMP/err" "high_water"
run 2 "$GSERVE" -c "$PROXY_CFG" --check -s 'GConnex.destinations=[]'
contains "$TMP/err" "destinations"
run 0 "$GSERVE" -c "$PROXY_CFG" --check

finish
