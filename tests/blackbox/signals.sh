#!/bin/sh
# SIGTERM and SIGINT stop the tree gracefully and exit 0; a tree that does not
# finish its work is destroyed after shutdown_timeout (still exit 0); a second
# signal during the stop exits at once with status 1.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

ticker_config "$TMP/fast.json" 20

for sig in TERM INT; do
    start_bg "$sig" "$GSERVE" -c "$TMP/fast.json"
    if ! wait_for "$TMP/$sig.err" 'running' 20; then
        fail "SIG$sig: gserve did not start"
        sed 's/^/    | /' "$TMP/$sig.err" >&2
        continue
    fi
    # Let it tick at least once, so the stop meets an armed timer.
    wait_for "$TMP/$sig.err" 'tick' 20 || fail "SIG$sig: no tick"
    kill -"$sig" "$BG_PID"
    wait_exit "$BG_PID" 20
    if [ "$EXIT_STATUS" = 0 ]; then
        before=$FAILS
        contains "$TMP/$sig.err" "running"
        contains "$TMP/$sig.err" "name=fast"
        contains "$TMP/$sig.err" "stopping"
        contains "$TMP/$sig.err" "SIG$sig"
        contains "$TMP/$sig.err" "exit"
        lacks "$TMP/$sig.err" "ERROR"
        lacks "$TMP/$sig.err" "WARN"
        [ "$FAILS" -eq "$before" ] && pass "SIG$sig: clean exit 0"
    else
        fail "SIG$sig: exit status $EXIT_STATUS, expected 0"
        sed 's/^/    | /' "$TMP/$sig.err" >&2
    fi
done

# A gobj whose shutdown work never ends: the stop waits shutdown_timeout,
# then the tree is destroyed anyway and the exit is still clean.
cat >"$TMP/busy.json" <<'EOC'
{ "shutdown_timeout": 300,
  "tree": { "gclass": "Probe", "name": "p", "attrs": { "id": 1, "busy_stop": true } } }
EOC
start_bg busy "$PROBE" -c "$TMP/busy.json"
if wait_for "$TMP/busy.err" 'running' 20; then
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
    if [ "$EXIT_STATUS" = 0 ]; then
        contains "$TMP/busy.err" "shutdown_timeout expired" && pass "shutdown_timeout bounds the stop"
    else
        fail "busy stop: exit status $EXIT_STATUS, expected 0"
        sed 's/^/    | /' "$TMP/busy.err" >&2
    fi
else
    fail "busy probe did not start"
fi

# A second signal while the stop waits: immediate exit 1.
cat >"$TMP/stuck.json" <<'EOC'
{ "shutdown_timeout": 600000,
  "tree": { "gclass": "Probe", "name": "p", "attrs": { "id": 1, "busy_stop": true } } }
EOC
start_bg stuck "$PROBE" -c "$TMP/stuck.json"
if wait_for "$TMP/stuck.err" 'running' 20; then
    kill -INT "$BG_PID"
    if wait_for "$TMP/stuck.err" 'stopping' 20; then
        kill -INT "$BG_PID"
        wait_exit "$BG_PID" 20
        if [ "$EXIT_STATUS" = 1 ]; then
            contains "$TMP/stuck.err" "second signal" && pass "second SIGINT exits at once"
        else
            fail "second SIGINT: exit status $EXIT_STATUS, expected 1"
            sed 's/^/    | /' "$TMP/stuck.err" >&2
        fi
    else
        fail "stuck probe did not log stopping"
    fi
else
    fail "stuck probe did not start"
fi

# SIGPIPE is ignored: a signal that would kill a default process does not.
start_bg pipe "$GSERVE" -c "$TMP/fast.json"
if wait_for "$TMP/pipe.err" 'running' 20; then
    kill -PIPE "$BG_PID"
    wait_for "$TMP/pipe.err" 'count[=": ]+3([^0-9]|$)' 20 || true
    if kill -0 "$BG_PID" 2>/dev/null; then
        kill -TERM "$BG_PID"
        wait_exit "$BG_PID" 20
        [ "$EXIT_STATUS" = 0 ] && pass "SIGPIPE ignored" || fail "after SIGPIPE: exit $EXIT_STATUS"
    else
        wait_exit "$BG_PID" 1
        fail "SIGPIPE killed gserve (status $EXIT_STATUS)"
    fi
else
    fail "gserve did not start (SIGPIPE case)"
fi

# "shutdown_timeout": 0 still does the second stop ("finish now") before the
# tree is destroyed: a gobj still stopping (a connection still flushing)
# finishes, and is not destroyed in the middle of its work.
cat >"$TMP/zero.json" <<'EOC'
{ "shutdown_timeout": 0,
  "tree": { "gclass": "Probe", "name": "p", "attrs": { "id": 1, "linger_stop": 1000000 } } }
EOC
start_bg zero "$PROBE" -c "$TMP/zero.json"
if wait_for "$TMP/zero.err" 'running' 20; then
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
    before=$FAILS
    [ "$EXIT_STATUS" = 0 ] || fail "shutdown_timeout 0: exit status $EXIT_STATUS, expected 0"
    contains "$TMP/zero.err" "probe: finish now"
    lacks "$TMP/zero.err" "work lost"
    [ "$FAILS" -eq "$before" ] && pass "shutdown_timeout 0: the second stop finishes the work"
else
    fail "zero probe did not start"
fi

# gapp_shutdown(status) from an action: the same graceful stop as SIGTERM
# (the lingering stop finishes), and gapp_main returns the status.
cat >"$TMP/gs.json" <<'EOC'
{ "tree": { "gclass": "Probe", "name": "p",
            "attrs": { "id": 1, "linger_stop": 5, "shutdown": "gapp_shutdown", "shutdown_status": 7 } } }
EOC
if run 7 "$PROBE" -c "$TMP/gs.json"; then
    before=$FAILS
    contains "$TMP/err" "stopping"
    contains "$TMP/err" "gapp_shutdown"
    contains "$TMP/err" "probe: stop finished"
    lacks "$TMP/err" "work lost"
    contains "$TMP/err" "exit"
    [ "$FAILS" -eq "$before" ] && pass "gapp_shutdown(7): graceful stop, exit 7"
fi

# gobj_loop_stop() from an action inside gapp_main means a graceful shutdown
# with status 0: nothing is destroyed in the middle of its work.
cat >"$TMP/ls.json" <<'EOC'
{ "tree": { "gclass": "Probe", "name": "p",
            "attrs": { "id": 1, "linger_stop": 5, "shutdown": "loop_stop" } } }
EOC
if run 0 "$PROBE" -c "$TMP/ls.json"; then
    before=$FAILS
    contains "$TMP/err" "stopping"
    contains "$TMP/err" "gobj_loop_stop"
    contains "$TMP/err" "probe: stop finished"
    lacks "$TMP/err" "work lost"
    [ "$FAILS" -eq "$before" ] && pass "gobj_loop_stop(): graceful stop, exit 0"
fi

# SIGUSR1's stats record names every gobj with statistics (no cap at 64),
# on one line.
{
    printf '{"tree": {"gclass": "Ticker", "name": "t", "children": ['
    i=0
    while [ $i -lt 70 ]; do
        [ $i -gt 0 ] && printf ', '
        printf '{"gclass": "GTimer", "name": "tm%d"}' $i
        i=$((i + 1))
    done
    printf ']}}\n'
} >"$TMP/wide.json"
start_bg usr1 "$GSERVE" -c "$TMP/wide.json" --log-format json
if wait_for "$TMP/usr1.err" 'running' 20; then
    kill -USR1 "$BG_PID"
    if wait_for "$TMP/usr1.err" '"msg": ?"stats"' 20; then
        n=$(grep -E '"msg": ?"stats"' "$TMP/usr1.err" | grep -o '"t\.tm[0-9]*"' | sort -u | wc -l | tr -d ' ')
        if [ "$n" = 70 ] && grep -E '"msg": ?"stats"' "$TMP/usr1.err" | grep -q '"t":'; then
            pass "SIGUSR1: the stats of all 71 gobjs, one line"
        else
            fail "SIGUSR1: stats of $n GTimers (expected 70) and of t"
        fi
    else
        fail "SIGUSR1: no stats record"
    fi
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
else
    fail "gserve did not start (SIGUSR1 case)"
fi

finish
