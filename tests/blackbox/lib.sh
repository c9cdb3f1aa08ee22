# lib.sh - sourced by every black-box test.  It finds the programs, makes a
# private temporary directory, and gives small assertion helpers that count
# failures so that one run shows every broken rule.
#
# Every command runs under a time limit: foreground commands under timeout(1),
# background servers through start_bg / wait_exit, which poll with a bound and
# kill (by PID, only processes this script started) when it is exceeded.
#
# TIME_SCALE (an integer >= 1, default 2) multiplies every time limit: LIMIT,
# the bounds of wait_for / wait_exit (and echo_lib.sh's waits and clients).
# A limit is reached only when something is wrong, so a large one costs
# nothing when the tests pass, and keeps a busy machine (two suites at once
# on 2 cores, a sanitizer build, valgrind) from failing a test that would
# pass: TIME_SCALE=5 make check.  The call sites give the bound a quiet
# machine needs, already with a wide margin.

: "${top_srcdir:=$(dirname "$0")/../..}"
: "${top_builddir:=.}"
: "${VALGRIND:=no}"
: "${DOT:=no}"
: "${PYTHON3:=no}"

GSERVE="$top_builddir/samples/gserve"
# The sample config the tests that need a Ticker name explicitly, so that
# they do not depend on which config gserve has built in.
TICKER="$top_srcdir/samples/ticker.json"
PROBE="$top_builddir/tests/blackbox/gapp_probe"
: "${TIME_SCALE:=2}"
case $TIME_SCALE in
    "" | *[!0-9]* | 0)
        echo "ERROR: TIME_SCALE must be an integer >= 1, not '$TIME_SCALE'" >&2
        exit 99
        ;;
esac
export TIME_SCALE
LIMIT=$((30 * TIME_SCALE))
FAILS=0
BG_PIDS=""

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gserve-test.XXXXXX") || exit 99
cleanup() {
    for p in $BG_PIDS; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

if [ ! -x "$GSERVE" ]; then
    echo "ERROR: $GSERVE is not built" >&2
    exit 99
fi

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

pass() {
    echo "ok: $*"
}

# Ends the test: exit 1 if anything failed.
finish() {
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS failure(s)" >&2
        exit 1
    fi
    exit 0
}

# run STATUS CMD... : runs CMD (time-boxed) with stdout in $TMP/out and
# stderr in $TMP/err, and checks its exit status.
run() {
    want=$1
    shift
    timeout "$LIMIT" "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" != "$want" ]; then
        fail "'$*' exited $got, expected $want"
        sed 's/^/    stderr: /' "$TMP/err" >&2
        return 1
    fi
    return 0
}

# contains FILE TEXT : FILE contains TEXT (fixed string).
contains() {
    if ! grep -F -q -e "$2" "$1"; then
        fail "$(basename "$1") does not contain: $2"
        sed 's/^/    | /' "$1" >&2
        return 1
    fi
    return 0
}

# lacks FILE TEXT : FILE does not contain TEXT.
lacks() {
    if grep -F -q -e "$2" "$1"; then
        fail "$(basename "$1") contains: $2"
        sed 's/^/    | /' "$1" >&2
        return 1
    fi
    return 0
}

# lines FILE N : FILE has exactly N lines.
lines() {
    n=$(wc -l <"$1" | tr -d ' ')
    if [ "$n" != "$2" ]; then
        fail "$(basename "$1") has $n line(s), expected $2"
        sed 's/^/    | /' "$1" >&2
        return 1
    fi
    return 0
}

# usage_error DESCRIPTION TEXT... -- CMD... : CMD exits 2 with exactly one
# line on stderr containing every TEXT, and nothing on stdout.
usage_error() {
    desc=$1
    shift
    n=0
    while [ "$1" != "--" ]; do
        n=$((n + 1))
        eval "want_$n=\$1"
        shift
    done
    shift
    before=$FAILS
    if run 2 "$@"; then
        lines "$TMP/err" 1
        lines "$TMP/out" 0
        i=1
        while [ "$i" -le "$n" ]; do
            eval "contains \"\$TMP/err\" \"\$want_$i\""
            i=$((i + 1))
        done
    fi
    [ "$FAILS" -eq "$before" ] && pass "$desc"
}

# start_bg NAME CMD... : runs CMD in the background with stdout and stderr in
# $TMP/NAME.out and $TMP/NAME.err; sets BG_PID.
start_bg() {
    name=$1
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    BG_PID=$!
    BG_PIDS="$BG_PIDS $BG_PID"
}

# wait_for FILE PATTERN SECONDS : waits until FILE has a line matching the
# extended regex PATTERN while $BG_PID lives.  Returns 1 on timeout (SECONDS
# times TIME_SCALE) or death.
wait_for() {
    i=0
    while ! grep -E -q -e "$2" "$1" 2>/dev/null; do
        kill -0 "$BG_PID" 2>/dev/null || {
            grep -E -q -e "$2" "$1" 2>/dev/null && return 0
            return 1
        }
        i=$((i + 1))
        [ "$i" -gt $(($3 * 20 * TIME_SCALE)) ] && return 1
        sleep 0.05
    done
    return 0
}

# wait_exit PID SECONDS : waits for PID to exit and sets EXIT_STATUS; after
# SECONDS (times TIME_SCALE) kills it and sets EXIT_STATUS=timeout.
wait_exit() {
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt $(($2 * 20 * TIME_SCALE)) ]; then
            kill -KILL "$1" 2>/dev/null
            wait "$1" 2>/dev/null
            EXIT_STATUS=timeout
            return 1
        fi
        sleep 0.05
    done
    wait "$1"
    EXIT_STATUS=$?
    return 0
}

# tick_counts FILE : the count of every "tick" record of a JSON log, in order.
tick_counts() {
    grep -E '"msg": ?"tick"' "$1" | sed -n 's/.*"count": *\([0-9][0-9]*\).*/\1/p'
}

# ticker_config FILE MSEC : a Ticker with a periodic GTimer of MSEC ms.
ticker_config() {
    cat >"$1" <<EOC
{
    "name": "fast",
    "shutdown_timeout": 2000,
    "tree": {
        "gclass": "Ticker",
        "name": "ticker",
        "children": [
            { "gclass": "GTimer", "name": "timer",
              "attrs": { "msec": $2, "periodic": true } }
        ]
    }
}
EOC
}
