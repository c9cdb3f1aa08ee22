#!/bin/sh
# Unix-domain sockets: echo over a path, the peer's empty name; a stale
# socket file (nothing listening behind it) is replaced; a live one is never
# taken over and a file that is not a socket is never deleted (the second
# server exits 1 naming the path); a failed start leaves no socket file; the
# file is removed at SIGTERM; a path too long for a unix socket is a
# configuration error (exit 2 naming the path and the limit).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"

# stopped_and_removed NAME PID PATH [PAIRS-ARGS...]
stopped_and_removed() {
    name=$1
    pid=$2
    path=$3
    shift 3
    stop_echo "$name" "$pid" "$@"
    if [ -e "$path" ]; then
        fail "$name: $path still exists after the exit"
    else
        pass "$name: $path removed at exit"
    fi
}

S="$TMP/echo.sock"
echo_config "$TMP/main.json" '{}' "server={ \"path\": \"$S\" }"
if start_echo main -c "$TMP/main.json"; then
    main_pid=$SRV_PID
    [ "$ADDR" = "$S" ] && pass "listening address=$S" ||
        fail "listening address '$ADDR', expected $S"
    [ -S "$S" ] && pass "$S is a socket" || fail "$S is not a socket"
    # The clients are unnamed: the log's peername is "", its sockname the path.
    check "echo over the unix socket" echo "$S" 1 64K 1M 100x10 --record "$TMP/main.clients"

    # A live socket is never taken over.
    start_bg live "$GSERVE" -c "$TMP/main.json" --log-format json
    if expect_exit1 live 20; then
        contains "$TMP/live.err" "$S" && pass "live socket: second server exits 1 naming $S"
    fi
    [ -S "$S" ] && pass "live socket: the file is still there" ||
        fail "live socket: the second server removed $S"
    check "live socket: the first server still echoes" echo "$S" 64K --record "$TMP/main.clients"
    # No --count: the second server may have probed the socket with a
    # connection of its own to find out that it is live.
    stopped_and_removed main "$main_pid" "$S" --clients "$TMP/main.clients"
fi

# A regular file at the path: never deleted, never overwritten.
F="$TMP/file.sock"
echo "keep me" >"$F"
echo_config "$TMP/file.json" '{}' "server={ \"path\": \"$F\" }"
start_bg file "$GSERVE" -c "$TMP/file.json" --log-format json
if expect_exit1 file 20; then
    contains "$TMP/file.err" "$F" && pass "not a socket: exit 1 naming $F"
fi
if [ -f "$F" ] && [ "$(cat "$F")" = "keep me" ]; then
    pass "not a socket: the file is kept as it was"
else
    fail "not a socket: $F was deleted or changed"
fi

# A stale socket file left by a process that did not clean up.  This server
# also listens on a TCP port, used below as the busy address.
T="$TMP/stale.sock"
check "stale socket file made" stale "$T"
echo_config "$TMP/stale.json" '{}' "server={ \"path\": \"$T\" }" \
    'server2={ "host": "127.0.0.1", "port": 0 }'
if start_echo stale -c "$TMP/stale.json"; then
    stale_pid=$SRV_PID
    busy=$(client listening "$TMP/stale.err" | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p')
    pass "stale socket file: replaced, the server runs"
    check "stale socket file: echo" echo "$T" 64K --record "$TMP/stale.clients"

    # All-or-nothing: the unix socket is bound first, then the busy port
    # fails: no socket file is left behind.
    A="$TMP/aon.sock"
    echo_config "$TMP/aon.json" '{}' "server={ \"path\": \"$A\" }" \
        "server2={ \"host\": \"127.0.0.1\", \"port\": $busy }"
    start_bg aon "$GSERVE" -c "$TMP/aon.json" --log-format json
    if expect_exit1 aon 20; then
        contains "$TMP/aon.err" "127.0.0.1:$busy" && pass "all-or-nothing: exit 1 naming 127.0.0.1:$busy"
    fi
    [ -e "$A" ] && fail "all-or-nothing: $A left behind" ||
        pass "all-or-nothing: no socket file left behind"
    stopped_and_removed stale "$stale_pid" "$T" --clients "$TMP/stale.clients" --count 1
fi

# A path longer than a unix socket address holds (107 bytes on Linux): a
# configuration error, exit 2, naming the path, its length and the limit.
L="$TMP/$(printf 'l%.0s' $(seq 1 120)).sock"
echo_config "$TMP/long.json" '{}' "server={ \"path\": \"$L\" }"
start_bg long "$GSERVE" -c "$TMP/long.json" --log-format json
if expect_exit2 long 20; then
    contains "$TMP/long.err" "$L" && contains "$TMP/long.err" "${#L} bytes long" &&
        contains "$TMP/long.err" "at most 107 bytes" &&
        pass "path too long: exit 2 naming the path (${#L} bytes) and the limit"
fi

# The real stale case: a server killed with SIGKILL leaves its file; the
# next one takes the path over.
K="$TMP/killed.sock"
echo_config "$TMP/killed.json" '{}' "server={ \"path\": \"$K\" }"
if start_echo killed -c "$TMP/killed.json"; then
    kill -KILL "$SRV_PID"
    wait_exit "$SRV_PID" 10
    if [ -S "$K" ]; then
        if start_echo killed2 -c "$TMP/killed.json"; then
            pass "after SIGKILL: the next server replaces the stale file"
            check "after SIGKILL: echo" echo "$K" 1M --record "$TMP/killed.clients"
            stopped_and_removed killed2 "$SRV_PID" "$K" --clients "$TMP/killed.clients" --count 1
        fi
    else
        fail "after SIGKILL: $K does not exist, nothing to test"
    fi
fi

finish
