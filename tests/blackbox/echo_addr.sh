#!/bin/sh
# Listening addresses: two listeners (two GServerSock children, or one with
# ports + use_multi_ports) both echo; IPv6 and the all-families host; an
# address in use makes the second server exit 1 naming host:port and the OS
# reason while the first keeps echoing; a failed start is all-or-nothing:
# what the server had bound before the failure is free again.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"

# Two GServerSock children, each on a port of the kernel's choice.
echo_config "$TMP/two.json" '{}' \
    'server={ "host": "127.0.0.1", "port": 0 }' 'server2={ "host": "127.0.0.1", "port": 0 }'
if start_echo two -c "$TMP/two.json"; then
    addrs=$(client listening "$TMP/two.err" | tr '\n' ' ')
    set -- $addrs
    if [ $# = 2 ] && [ "$1" != "$2" ]; then
        pass "two children: listening on $1 and $2"
        check "two children: echo on $1" echo "$1" 64K --record "$TMP/two.clients"
        check "two children: echo on $2" echo "$2" 64K --record "$TMP/two.clients"
    else
        fail "two children: listening records '$addrs', expected two different addresses"
    fi
    stop_echo two "$SRV_PID" --clients "$TMP/two.clients" --count 2
fi

# One GServerSock on two ports (ports + use_multi_ports).  The ports are
# picked free by the kernel just before; another program could take one in
# between, which would show as a start failure naming it.
p1=$(client freeport)
p2=$(client freeport)
while [ "$p2" = "$p1" ]; do p2=$(client freeport); done
echo_config "$TMP/multi.json" '{}' \
    "server={ \"host\": \"127.0.0.1\", \"ports\": [$p1, $p2], \"use_multi_ports\": true }"
if start_echo multi -c "$TMP/multi.json"; then
    addrs=$(client listening "$TMP/multi.err" | sort | tr '\n' ' ')
    want=$(printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$p1" "$p2" | sort | tr '\n' ' ')
    [ "$addrs" = "$want" ] && pass "use_multi_ports: listening on $addrs" ||
        fail "use_multi_ports: listening records '$addrs', expected '$want'"
    check "use_multi_ports: echo on port $p1" echo "127.0.0.1:$p1" 1M --record "$TMP/multi.clients"
    check "use_multi_ports: echo on port $p2" echo "127.0.0.1:$p2" 1M --record "$TMP/multi.clients"
    stop_echo multi "$SRV_PID" --clients "$TMP/multi.clients" --count 2
fi

# IPv6 loopback, when the machine has it.
if client has-ipv6 >/dev/null 2>&1; then
    echo_config "$TMP/v6.json" '{}' 'server={ "host": "::1", "port": 0 }'
    if start_echo v6 -c "$TMP/v6.json"; then
        case $ADDR in
            "[::1]:0") fail "IPv6: port 0 not read back: $ADDR" ;;
            "[::1]:"*) pass "IPv6: listening address=$ADDR" ;;
            *) fail "IPv6: listening address '$ADDR', expected [::1]:PORT" ;;
        esac
        check "IPv6: echo" echo "$ADDR" 1 64K --record "$TMP/v6.clients"
        stop_echo v6 "$SRV_PID" --clients "$TMP/v6.clients" --count 2
    fi
    # host "" listens on every family with one port; an IPv4 client is
    # reported as plain IPv4 (not ::ffff:127.0.0.1).
    echo_config "$TMP/any.json" '{}' 'server={ "host": "", "port": 0 }'
    if start_echo any -c "$TMP/any.json"; then
        port=$PORT
        addrs=$(client listening "$TMP/any.err" | tr '\n' ' ')
        pass "all families: listening on $addrs"
        check "all families: echo over IPv4" echo "127.0.0.1:$port" 64K --record "$TMP/any.clients"
        check "all families: echo over IPv6" echo "[::1]:$port" 64K --record "$TMP/any.clients"
        lacks "$TMP/any.err" "::ffff:" && pass "all families: IPv4 peers printed as plain IPv4"
        stop_echo any "$SRV_PID" --clients "$TMP/any.clients" --count 2
    fi
else
    echo "skip: no IPv6 loopback on this machine"
fi

# Address in use.  Server A holds a port; server B (text log, as a user runs
# it) is configured on the same host:port.
echo_config "$TMP/a.json" '{}' 'server={ "host": "127.0.0.1", "port": 0 }'
if start_echo a -c "$TMP/a.json"; then
    a_pid=$SRV_PID
    busy=$PORT
    echo_config "$TMP/b.json" '{}' "server={ \"host\": \"127.0.0.1\", \"port\": $busy }"
    start_bg b "$GSERVE" -c "$TMP/b.json"
    if expect_exit1 b 20; then
        before=$FAILS
        contains "$TMP/b.err" "127.0.0.1:$busy"
        contains "$TMP/b.err" "Address already in use"
        [ "$FAILS" -eq "$before" ] &&
            pass "address in use: exit 1 naming 127.0.0.1:$busy and 'Address already in use'"
    fi
    check "address in use: the first server still echoes" echo "$ADDR" 64K --record "$TMP/a.clients"

    # All-or-nothing: a free port first, then the busy one.  B fails, and
    # the free port it had bound is released.
    free=$(client freeport)
    echo_config "$TMP/c.json" '{}' "server={ \"host\": \"127.0.0.1\", \"port\": $free }" \
        "server2={ \"host\": \"127.0.0.1\", \"port\": $busy }"
    start_bg c "$GSERVE" -c "$TMP/c.json" --log-format json
    if expect_exit1 c 20; then
        contains "$TMP/c.err" "127.0.0.1:$busy" &&
            pass "all-or-nothing (two children): exit 1 naming 127.0.0.1:$busy"
        check "all-or-nothing (two children): port $free is free again" bindable "127.0.0.1:$free"
    fi
    free=$(client freeport)
    echo_config "$TMP/d.json" '{}' \
        "server={ \"host\": \"127.0.0.1\", \"ports\": [$free, $busy], \"use_multi_ports\": true }"
    start_bg d "$GSERVE" -c "$TMP/d.json" --log-format json
    if expect_exit1 d 20; then
        contains "$TMP/d.err" "127.0.0.1:$busy" &&
            pass "all-or-nothing (use_multi_ports): exit 1 naming 127.0.0.1:$busy"
        check "all-or-nothing (use_multi_ports): port $free is free again" bindable "127.0.0.1:$free"
    fi
    check "the first server still echoes" echo "$ADDR" 1M --record "$TMP/a.clients"
    stop_echo a "$a_pid" --clients "$TMP/a.clients" --count 2
fi

finish
