#!/bin/sh
# Under valgrind: a SIGTERM'd gserve, a bad config and a failed start exit
# with their normal status and without a leak or a memory error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

if [ "$VALGRIND" = no ] || [ -z "$VALGRIND" ]; then
    echo "SKIP: valgrind is not installed"
    exit 77
fi
if [ "${GINSFSM_SANITIZERS:-no}" = yes ]; then
    echo "SKIP: built with sanitizers, which valgrind cannot run"
    exit 77
fi

# gserve is a libtool wrapper in the build tree: let libtool run valgrind on
# the real binary (it execs, so the PID stays the same).
VG="$top_builddir/libtool --mode=execute $VALGRIND --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --track-fds=no --quiet"
LIMIT=120

ticker_config "$TMP/fast.json" 20
# shellcheck disable=SC2086
start_bg vg $VG "$GSERVE" -c "$TMP/fast.json"
if wait_for "$TMP/vg.err" 'count[=": ]+3([^0-9]|$)' 120; then
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 120
    if [ "$EXIT_STATUS" = 0 ]; then
        pass "SIGTERM under valgrind: exit 0, no error, no leak"
    else
        fail "SIGTERM under valgrind: exit status $EXIT_STATUS (99 = valgrind error)"
        sed 's/^/    | /' "$TMP/vg.err" >&2
    fi
else
    fail "gserve did not tick under valgrind"
    sed 's/^/    | /' "$TMP/vg.err" >&2
fi

# shellcheck disable=SC2086
run 2 $VG "$GSERVE" -s timer.mse=1 && pass "bad config under valgrind: exit 2, no leak"
printf '{"tree": {"gclass": "Probe", "name": "p", "attrs": {"id": 1}, "children": [{"gclass": "Probe", "name": "q", "attrs": {"id": 2, "fail": "start"}}]}}' >"$TMP/fail.json"
# shellcheck disable=SC2086
run 1 $VALGRIND --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
    --quiet "$PROBE" -c "$TMP/fail.json" && pass "failed start under valgrind: exit 1, no leak"

finish
