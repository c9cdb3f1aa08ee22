#!/bin/sh
# Many connections: 3000 sequential ones (connect, send, read back, close)
# and then 200 open at once leave the server holding the same descriptors
# and the same number of live gobjs as before them; SIGTERM afterwards exits
# 0 with every connection paired.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"

# back_to NAME PID GOBJS FDS PROCFDS WHAT : waits (bounded: the server
# handles the last closes on its own time) until the stats record shows
# GOBJS live gobjs and FDS descriptors, and /proc shows PROCFDS.
back_to() {
    i=0
    while :; do
        stats_now "$1" "$2" || return 1
        now_proc=$(fd_count "$2")
        if [ "$GOBJS" = "$3" ] && [ "$FDS" = "$4" ] && [ "$now_proc" = "$5" ]; then
            pass "$6: back to $GOBJS gobjs and $FDS descriptors ($now_proc in /proc)"
            return 0
        fi
        i=$((i + 1))
        if [ "$i" -gt 20 ]; then
            fail "$6: $GOBJS gobjs and $FDS descriptors ($now_proc in /proc), expected $3, $4 ($5) as before"
            return 1
        fi
        sleep 0.25
    done
}

echo_config "$TMP/stress.json" '{}' 'server={ "host": "127.0.0.1", "port": 0 }'
if start_echo stress -c "$TMP/stress.json"; then
    pid=$SRV_PID
    if stats_now stress "$pid"; then
        gobjs0=$GOBJS
        fds0=$FDS
        proc0=$(fd_count "$pid")
        pass "at start: $gobjs0 gobjs, $fds0 descriptors ($proc0 in /proc)"
        check "3000 sequential connections" seq "$ADDR" 3000 --max 50 &&
            back_to stress "$pid" "$gobjs0" "$fds0" "$proc0" "after 3000 connections"
        check "200 connections open at once" hold "$ADDR" 200 --echo \
            --ready "$TMP/held" --until "$TMP/held" &&
            back_to stress "$pid" "$gobjs0" "$fds0" "$proc0" "after 200 at once"
    fi
    stop_echo stress "$pid" --count 3200
fi

finish
