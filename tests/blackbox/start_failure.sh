#!/bin/sh
# A tree that cannot be created or started: exit 1, the reason logged, and
# nothing left behind (gapp_probe exits 3 if a gobj or a json_t survives, or
# if a created Probe was never destroyed).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

tree() {
    cat >"$TMP/$1.json" <<EOC
{ "tree": { "gclass": "Probe", "name": "p", "attrs": { "id": 1 },
            "children": [
                { "gclass": "Probe", "name": "a", "attrs": { "id": 2 },
                  "children": [ { "gclass": "GTimer", "name": "tm",
                                  "attrs": { "msec": 10, "periodic": true } } ] },
                { "gclass": "Probe", "name": "b", "attrs": { "id": 3, "fail": "$2" } },
                { "gclass": "Probe", "name": "c", "attrs": { "id": 4 } } ] } }
EOC
}

tree create create
if run 1 "$PROBE" -c "$TMP/create.json"; then
    before=$FAILS
    contains "$TMP/err" "cannot create the tree"
    contains "$TMP/err" "failed=p.b"
    lacks "$TMP/err" "running"
    lacks "$TMP/err" "LEFT BEHIND"
    [ "$FAILS" -eq "$before" ] && pass "failed create: exit 1, nothing left"
fi

tree start start
if run 1 "$PROBE" -c "$TMP/start.json"; then
    before=$FAILS
    contains "$TMP/err" "cannot start the tree"
    lacks "$TMP/err" "running"
    lacks "$TMP/err" "LEFT BEHIND"
    [ "$FAILS" -eq "$before" ] && pass "failed start: exit 1, nothing left"
fi

# The root itself fails.
printf '{"tree": {"gclass": "Probe", "name": "p", "attrs": {"id": 1, "fail": "create"}}}' >"$TMP/root.json"
if run 1 "$PROBE" -c "$TMP/root.json"; then
    contains "$TMP/err" "cannot create the tree" && lacks "$TMP/err" "LEFT BEHIND" &&
        pass "failed root create: exit 1, nothing left"
fi

# --check does not run mt_create, so it cannot see these failures: exit 0.
run 0 "$PROBE" -c "$TMP/start.json" --check && pass "--check does not start anything"

# A clean run of the same tree leaves nothing either.
tree ok ""
start_bg ok "$PROBE" -c "$TMP/ok.json"
if wait_for "$TMP/ok.err" 'running' 20; then
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
    if [ "$EXIT_STATUS" = 0 ]; then
        lacks "$TMP/ok.err" "LEFT BEHIND" && pass "clean run: exit 0, nothing left"
    else
        fail "clean run: exit status $EXIT_STATUS"
        sed 's/^/    | /' "$TMP/ok.err" >&2
    fi
else
    fail "clean probe run did not start"
    sed 's/^/    | /' "$TMP/ok.err" >&2
fi

finish
