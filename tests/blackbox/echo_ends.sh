#!/bin/sh
# Every way a connection ends gives exactly one EV_DISCONNECTED, with a
# reason, and leaves the server serving: the client closes (FIN), the client
# resets (RST), either of them while the server still has output for it,
# inactivity_timeout, a half-close (everything is still echoed, then EOF),
# and the server's own shutdown (SIGTERM while clients are connected: exit 0,
# every connection's EV_DISCONNECTED logged before the exit, clients see EOF).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"

# inactivity_timeout 600 ms (times TIME_SCALE) for every GSock the server
# creates: the chatty client below, which talks every 100 ms, must never
# look idle, even when the machine is busy and it runs late.
IDLE_MS=$((600 * TIME_SCALE))
echo_config "$TMP/ends.json" "{ \"GSock.inactivity_timeout\": $IDLE_MS }" \
    'server={ "host": "127.0.0.1", "port": 0 }'
if start_echo ends -c "$TMP/ends.json"; then
    pid=$SRV_PID
    C="$TMP/ends.clients"

    if check "FIN after 64 KiB" echo "$ADDR" 64K --record "$TMP/fin.rec"; then
        wait_disconnected ends "$(sockname_of "$TMP/fin.rec")" &&
            pass "FIN: EV_DISCONNECTED reason '$REASON'"
    fi
    if check "RST after 64 KiB" echo "$ADDR" 64K --end rst --record "$TMP/rst.rec"; then
        wait_disconnected ends "$(sockname_of "$TMP/rst.rec")" &&
            pass "RST: EV_DISCONNECTED reason '$REASON'"
    fi
    check "still echoing after the RST" echo "$ADDR" 1K
    # The client sends without reading, so the server holds output it can
    # never deliver when the connection goes away.
    if check "RST with 8 MiB unread" send "$ADDR" 8M --end rst --record "$TMP/rst2.rec"; then
        wait_disconnected ends "$(sockname_of "$TMP/rst2.rec")" &&
            pass "RST with pending output: EV_DISCONNECTED reason '$REASON'"
    fi
    if check "FIN with 8 MiB unread" send "$ADDR" 8M --end fin --record "$TMP/fin2.rec"; then
        wait_disconnected ends "$(sockname_of "$TMP/fin2.rec")" &&
            pass "FIN with pending output: EV_DISCONNECTED reason '$REASON'"
    fi
    check "still echoing after the closes with pending output" echo "$ADDR" 64K
    if check "inactivity: the server closes an idle client" \
        idle "$ADDR" --min "$((IDLE_MS * 2 / 3))e-3" --record "$TMP/idle.rec"; then
        if wait_disconnected ends "$(sockname_of "$TMP/idle.rec")"; then
            case $REASON in
                *inactiv* | *Inactiv*) pass "inactivity: EV_DISCONNECTED reason '$REASON'" ;;
                *) fail "inactivity: EV_DISCONNECTED reason '$REASON' does not mention inactivity" ;;
            esac
        fi
    fi
    check "inactivity: a client that talks every 100 ms is never closed" \
        chatty "$ADDR" 1.5 0.1
    check "half-close: 4 MiB then SHUT_WR" half "$ADDR" 4M --record "$C"
    cat "$TMP"/*.rec >>"$C"
    stop_echo ends "$pid" --clients "$C"
fi

# Shutdown with clients connected.  The clients run in the background and
# wait for the server to close every connection.
#   shutdown NAME SHUTDOWN_TIMEOUT GLOBAL HOLD-ARGS... : SHUTDOWN_TIMEOUT is
#   multiplied by TIME_SCALE (a flush must fit in it on a busy machine); three idle clients
#   plus those HOLD-ARGS add (--stuck K: K that send without reading, so
#   that the server holds unsent output for them).
shutdown() {
    name=$1
    SHUTDOWN_TIMEOUT=$(($2 * TIME_SCALE))
    echo_config "$TMP/$name.json" "$3" 'server={ "host": "127.0.0.1", "port": 0 }'
    SHUTDOWN_TIMEOUT=
    shift 3
    start_echo "$name" -c "$TMP/$name.json" || return 1
    pid=$SRV_PID
    timeout "$CLIENT_LIMIT" "$PYTHON3" "$CLIENT" hold "$ADDR" "$@" --echo \
        --ready "$TMP/$name.held" --eof 20 --record "$TMP/$name.clients" \
        >"$TMP/$name.hold.out" 2>"$TMP/$name.hold.err" &
    hold_pid=$!
    BG_PIDS="$BG_PIDS $hold_pid"
    if ! wait_file "$TMP/$name.held" 20; then
        fail "$name: the clients could not connect: $(cat "$TMP/$name.hold.err")"
        kill -TERM "$pid"
        wait_exit "$pid" 20
        return 1
    fi
    # With ALL_READ set, the signal waits until the server has read (and
    # echoed) every byte the clients sent: what is still in flight at the
    # stop is not the server's to echo, and the clients' sends end only a
    # moment before they say they are ready.
    if [ -n "$ALL_READ" ]; then
        want=$(sed -n 's/^sent //p' "$TMP/$name.held")
        i=0
        while stats_now "$name" "$pid" && got=$(client echoed "$TMP/$name.err") &&
            [ "$got" -lt "$want" ]; do
            i=$((i + 1))
            if [ "$i" -gt $((100 * TIME_SCALE)) ]; then
                fail "$name: the server read $got of the $want bytes sent before the stop"
                break
            fi
            sleep 0.1
        done
    fi
    stop_echo "$name" "$pid" --clients "$TMP/$name.clients" --count "$(wc -l <"$TMP/$name.clients")"
    wait_exit "$hold_pid" 30
    if [ "$EXIT_STATUS" = 0 ]; then
        pass "$name: $(cat "$TMP/$name.hold.out")"
    else
        fail "$name: $(cat "$TMP/$name.hold.err")"
    fi
}

# Idle clients are closed at once: the stop does not wait for
# shutdown_timeout.
if shutdown shut_idle 5000 '{}' 3; then
    lacks "$TMP/shut_idle.err" "shutdown_timeout expired" &&
        pass "shut_idle: idle connections closed without waiting for shutdown_timeout"
fi
# Output still queued at the SIGTERM is flushed before the close.  The
# server reads all 12 MiB (tx_high_water 64 MiB) but cannot send them while
# the client does not read; the client starts reading one second after the
# signal and must get every byte, then EOF.
ALL_READ=yes
shutdown shut_flush 5000 '{ "GSock.tx_high_water": 67108864 }' \
    4 --stuck 1 --stuck-bytes 12M --drain-after 1 --stuck-end complete
ALL_READ=
# The same with the server's default tx_high_water: it has stopped reading
# the client (backpressure) when the signal comes.  The client still gets a
# clean end (EOF after what the server sent), not a reset that would
# discard the output the server flushed.
shutdown shut_backpressure 5000 '{}' 4 --stuck 1 --drain-after 1 --stuck-end eof
# The same with a client that reads slowly (64 KiB every 20 ms), as any
# client does on a busy machine: gserve's exit must not reset it while the
# end of its replies is still on the way.  (Before, the lingering closes were
# cut short when the loop was freed, and the client got a few MiB back, then
# a reset.)
shutdown shut_slow_reader 5000 '{}' 4 --stuck 1 --drain-after 1 --stuck-end eof \
    --slow-read 0.02
# A client that does not read before shutdown_timeout (1 s) expires: the
# stop is bounded, and the connection still gets its EV_DISCONNECTED.
shutdown shut_stuck 1000 '{}' 4 --stuck 1 --drain-after $((3 * TIME_SCALE))

finish
