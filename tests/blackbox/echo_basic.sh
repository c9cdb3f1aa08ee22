#!/bin/sh
# The echo sample as a user meets it: the port the kernel chose is read back
# from the "listening" record (text and JSON logs), every byte comes back
# exactly (1 B, 64 KiB in one write, 1 MiB, 1000 writes of 10 B), each
# connection gives one EV_CONNECTED and one EV_DISCONNECTED naming the
# addresses the client itself sees, and the built-in config is the echo.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"

# The text log, as a user reads it: "listening address=127.0.0.1:PORT".
echo_config "$TMP/text.json" '{}' 'server={ "host": "127.0.0.1", "port": 0 }'
start_bg text "$GSERVE" -c "$TMP/text.json"
if wait_for "$TMP/text.err" 'running' 20; then
    tport=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$TMP/text.err" | head -n 1)
    if [ -n "$tport" ] && [ "$tport" != 0 ]; then
        pass "text log: port 0 read back as 'listening address=127.0.0.1:$tport'"
        check "text log: echo on the port read back" echo "127.0.0.1:$tport" 1 5
    else
        fail "text log: no 'listening address=127.0.0.1:PORT' record with a real port"
        dump "$TMP/text.err"
    fi
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "text log: SIGTERM -> exit 0" ||
        fail "text log: exit status $EXIT_STATUS after SIGTERM, expected 0"
    contains "$TMP/text.err" "EV_CONNECTED" && contains "$TMP/text.err" "EV_DISCONNECTED" &&
        pass "text log: EV_CONNECTED and EV_DISCONNECTED records"
else
    fail "text log: gserve did not start"
    dump "$TMP/text.err"
fi

# The JSON log: every case on one server, each connection recorded from the
# client's side for the final pairing.
echo_config "$TMP/echo.json" '{}' 'server={ "host": "127.0.0.1", "port": 0 }'
if start_echo main -c "$TMP/echo.json"; then
    pid=$SRV_PID
    case $ADDR in
        127.0.0.1:0 | "") fail "port 0 read back: listening address is '$ADDR'" ;;
        127.0.0.1:*) pass "port 0 read back: listening address=$ADDR" ;;
        *) fail "port 0 read back: listening address is '$ADDR', expected 127.0.0.1:PORT" ;;
    esac
    n=$(client count "$TMP/main.err" listening)
    [ "$n" = 1 ] && pass "one listening record" || fail "$n listening records, expected 1"
    C="$TMP/main.clients"
    check "1 byte" echo "$ADDR" 1 --record "$C"
    check "64 KiB in one write" echo "$ADDR" 64K --record "$C" --seed 2
    check "1 MiB of random bytes" echo "$ADDR" 1M --record "$C" --seed 3
    check "1000 writes of 10 bytes" echo "$ADDR" 1000x10 --record "$C" --seed 4
    check "all four at once on one connection each" echo "$ADDR" 1 64K 1M 1000x10 \
        --record "$C" --seed 5
    # The records so far: 8 connections, each closed by the client.
    stop_echo main "$pid" --clients "$C" --count 8
fi

# The built-in configuration is the echo on 127.0.0.1:7000.  It is run on
# port 0 here (-s), never on the fixed port, which may be taken.
if run 0 "$GSERVE" --print-config; then
    missing=""
    for want in '"Echo"' '"GServerSock"' '127.0.0.1' '7000'; do
        grep -F -q -e "$want" "$TMP/out" || missing="$missing $want"
    done
    if [ -z "$missing" ]; then
        pass "built-in config: Echo with a GServerSock on 127.0.0.1:7000"
    else
        fail "built-in config (--print-config without -c) lacks:$missing"
        dump "$TMP/out"
    fi
fi
if start_echo default -s server.port=0; then
    check "built-in config with -s server.port=0 echoes" echo "$ADDR" 64K
    stop_echo default "$SRV_PID" --count 1
fi

finish
