#!/bin/sh
# The chat sample (samples/chat.json) as its users meet it: 30 clients x 30
# lines, each gets exactly the others' lines in one order; nicks (taken,
# bad, freed); /quit; clients vanishing mid-line; a line over max_frame; a
# client that never reads, under both slow policies; a bad slow_policy; and
# the length-framed echo (samples/echo-length.json).  Every server listens on
# a port the kernel chose (-s server.port=0).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"
CHAT="$top_srcdir/tests/blackbox/chat_client.py"
CHAT_CFG="$top_srcdir/samples/chat.json"

# chat DESCRIPTION ARGS... : echo_lib.sh's check, with chat_client.py.
chat() {
    saved=$CLIENT
    CLIENT=$CHAT
    check "$@"
    st=$?
    CLIENT=$saved
    return $st
}

# stat NAME GOBJ ATTR : the statistic from a fresh stats record of server NAME.
stat() {
    stats_now "$1" "$SRV_PID" >/dev/null || return 1
    "$PYTHON3" "$CHAT" stat "$TMP/$1.err" "$2" "$3"
}

# expect_stat NAME GOBJ ATTR WANT : the statistic is WANT (bounded wait).
expect_stat() {
    i=0
    while :; do
        got=$(stat "$1" "$2" "$3")
        [ "$got" = "$4" ] && { pass "$1: $2 $3 = $4"; return 0; }
        i=$((i + 1))
        if [ "$i" -gt $((20 * TIME_SCALE)) ]; then
            fail "$1: $2 $3 = $got, expected $4"
            return 1
        fi
        sleep 0.25
    done
}

# 1. The chat with its own config: drop policy.
if start_echo chat -c "$CHAT_CFG" -s server.port=0; then
    chat "fan-out" fanout "$ADDR" --clients 30 --lines 30
    chat "nicks" nicks "$ADDR"
    chat "quit" quit "$ADDR"
    chat "abrupt" abrupt "$ADDR"
    chat "too long" toolong "$ADDR" --max 1024
    chat "slow, drop" slow "$ADDR" --policy drop
    expect_stat chat room members 0
    expect_stat chat room sessions 0
    d=$(stat chat room dropped)
    case $d in
        '' | *[!0-9]* | 0) fail "chat: room dropped = '$d', expected > 0 after the slow client" ;;
        *) pass "chat: room dropped = $d messages meant for the slow client" ;;
    esac
    expect_stat chat room slow_disconnects 0
    expect_stat chat room.server n_sessions 0
    grep -q '"reason": *"frame too large"' "$TMP/chat.err" &&
        pass "chat: the too long line's connection ended with 'frame too large'" ||
        fail "chat: no EV_DISCONNECTED with reason 'frame too large' in the log"
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "chat: SIGTERM -> exit 0" ||
        { fail "chat: exit status $EXIT_STATUS after SIGTERM"; dump "$TMP/chat.err"; }
fi

# 2. The disconnect policy, set with -s on the sessions' gclass.
if start_echo slow -c "$CHAT_CFG" -s server.port=0 -s ChatSession.slow_policy=disconnect; then
    chat "slow, disconnect" slow "$ADDR" --policy disconnect
    expect_stat slow room slow_disconnects 1
    expect_stat slow room dropped 0
    expect_stat slow room members 0
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "slow: SIGTERM -> exit 0" || fail "slow: exit $EXIT_STATUS"
fi

# 3. A bad slow_policy is a configuration error: --check and the run refuse
#    it (exit 2, one line) before anything is created, naming the node and
#    the value.
usage_error "chat: bad slow_policy, --check" "(GServerSock 'server'): session_attrs:" \
    "slow_policy" '"fast"' -- \
    "$GSERVE" -c "$CHAT_CFG" -s server.port=0 -s ChatSession.slow_policy=fast --check
usage_error "chat: bad slow_policy, run" "(GServerSock 'server'): session_attrs:" \
    "slow_policy" '"fast"' -- \
    "$GSERVE" -c "$CHAT_CFG" -s server.port=0 -s ChatSession.slow_policy=fast

# 4. The length-framed echo.
if start_echo len -c "$top_srcdir/samples/echo-length.json" -s server.port=0; then
    chat "length echo" lenecho "$ADDR"
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "len: SIGTERM -> exit 0" || fail "len: exit $EXIT_STATUS"
fi

# 5. The chat config passes --check, and gserve draws both gclasses.
run 0 "$GSERVE" -c "$CHAT_CFG" --check && pass "chat.json passes --check"
finish
