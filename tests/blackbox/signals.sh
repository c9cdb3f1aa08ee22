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

finish
