# echo_lib.sh - sourced by the echo_*.sh black-box tests, after lib.sh.
#
# The servers run the Echo sample with --log-format json, so that the tests
# read the listening address, the connection records and the stats records
# as JSON (with echo_client.py) instead of guessing at text.  Every server
# listens on a port the kernel chose (port 0) or on a path inside $TMP:
# the tests never depend on a fixed port being free.

if [ "$PYTHON3" = no ] || [ -z "$PYTHON3" ]; then
    echo "SKIP: python3 is needed for the echo clients"
    exit 77
fi
CLIENT="$top_srcdir/tests/blackbox/echo_client.py"

# A client command runs under its own bound, longer than LIMIT because a
# flood that the server fails to stop may take up to 20 s before the client
# gives up and reads everything back.  echo_client.py multiplies its own
# bounds (--timeout, --eof, --max ...) by TIME_SCALE as well.
CLIENT_LIMIT=$((45 * TIME_SCALE))

# dump FILE : shows FILE indented, for the reader of a failure.
dump() {
    sed 's/^/    | /' "$1" >&2
}

# check DESCRIPTION ARGS... : runs echo_client.py ARGS; one "ok" line with the
# client's own summary, or one FAIL line with its reason.
check() {
    desc=$1
    shift
    timeout "$CLIENT_LIMIT" "$PYTHON3" "$CLIENT" "$@" >"$TMP/c.out" 2>"$TMP/c.err"
    st=$?
    if [ "$st" = 0 ]; then
        pass "$desc: $(tail -n 1 "$TMP/c.out")"
        return 0
    fi
    if [ "$st" = 124 ]; then
        fail "$desc: the client did not finish within ${CLIENT_LIMIT}s"
    else
        fail "$desc: $(cat "$TMP/c.err")"
    fi
    return 1
}

# client ARGS... : runs echo_client.py ARGS (time-boxed), output as is.
client() {
    timeout "$CLIENT_LIMIT" "$PYTHON3" "$CLIENT" "$@"
}

# echo_config FILE GLOBAL NAME=ATTRS... : an Echo tree with one GServerSock
# child per NAME=ATTRS (ATTRS a JSON object); GLOBAL is the "global" object;
# shutdown_timeout is $SHUTDOWN_TIMEOUT ms (3000 when unset).
echo_config() {
    file=$1
    global=$2
    shift 2
    {
        printf '{ "name": "echo",\n  "shutdown_timeout": %s,\n  "global": %s,\n' \
            "${SHUTDOWN_TIMEOUT:-3000}" "$global"
        printf '  "tree": { "gclass": "Echo", "name": "echo", "children": [\n'
        sep=""
        for spec in "$@"; do
            printf '%s    { "gclass": "GServerSock", "name": "%s", "attrs": %s }' \
                "$sep" "${spec%%=*}" "${spec#*=}"
            sep=",
"
        done
        printf '\n  ] } }\n'
    } >"$file"
}

# start_echo NAME GSERVE-ARGS... : starts gserve with a JSON log in
# $TMP/NAME.err and waits (bounded) for its "running" record.  Sets SRV_PID,
# ADDR (the first listening address) and PORT (its port, empty for a path).
start_echo() {
    name=$1
    shift
    start_bg "$name" "$GSERVE" "$@" --log-format json
    SRV_PID=$BG_PID
    ADDR=""
    PORT=""
    if ! wait_for "$TMP/$name.err" '"msg": ?"running"' 20; then
        fail "$name: gserve did not start ($*)"
        dump "$TMP/$name.err"
        return 1
    fi
    ADDR=$(client listening "$TMP/$name.err" | head -n 1)
    case $ADDR in
        /*) PORT="" ;;
        *) PORT=${ADDR##*:} ;;
    esac
    return 0
}

# stop_echo NAME PID [PAIRS-ARGS...] : SIGTERM, then exit 0 within a bound,
# then every EV_CONNECTED of the log paired with one EV_DISCONNECTED before
# the exit record (PAIRS-ARGS: --clients FILE, --count N).
stop_echo() {
    name=$1
    pid=$2
    shift 2
    kill -TERM "$pid" 2>/dev/null
    wait_exit "$pid" 20
    if [ "$EXIT_STATUS" != 0 ]; then
        fail "$name: after SIGTERM exit status $EXIT_STATUS, expected 0"
        dump "$TMP/$name.err"
        return 1
    fi
    pass "$name: SIGTERM -> exit 0"
    check "$name: every connection paired" pairs "$TMP/$name.err" --exited "$@" || {
        dump "$TMP/$name.err"
        return 1
    }
    return 0
}

# expect_exit1 NAME SECONDS : the server NAME (last started, BG_PID) exits
# with status 1 within SECONDS.
expect_exit1() {
    wait_exit "$BG_PID" "$2"
    if [ "$EXIT_STATUS" != 1 ]; then
        fail "$1: exit status $EXIT_STATUS, expected 1"
        dump "$TMP/$1.err"
        return 1
    fi
    return 0
}

# expect_exit2 NAME SECONDS : the server NAME (last started, BG_PID) exits
# with status 2 (a configuration error) within SECONDS.
expect_exit2() {
    wait_exit "$BG_PID" "$2"
    if [ "$EXIT_STATUS" != 2 ]; then
        fail "$1: exit status $EXIT_STATUS, expected 2"
        dump "$TMP/$1.err"
        return 1
    fi
    return 0
}

# stats_now NAME PID : asks gserve for a stats record (SIGUSR1), waits for it
# (bounded) and sets GOBJS and FDS from it.
stats_now() {
    n0=$(grep -c -E '"msg": ?"stats"' "$TMP/$1.err")
    kill -USR1 "$2"
    i=0
    while [ "$(grep -c -E '"msg": ?"stats"' "$TMP/$1.err")" -le "$n0" ]; do
        i=$((i + 1))
        if [ "$i" -gt $((200 * TIME_SCALE)) ]; then
            fail "$1: no stats record within $((10 * TIME_SCALE))s of SIGUSR1"
            return 1
        fi
        sleep 0.05
    done
    set -- $(client stats "$TMP/$1.err")
    GOBJS=$1
    FDS=$2
    return 0
}

# fd_count PID : the descriptors PID holds now.
fd_count() {
    ls "/proc/$1/fd" | wc -l | tr -d ' '
}

# sockname_of FILE : the client's own address in the last record of FILE.
sockname_of() {
    tail -n 1 "$1" | sed 's/.*"sockname": "\([^"]*\)".*/\1/'
}

# wait_disconnected NAME PEERNAME : waits (bounded) until the log of NAME has
# the EV_DISCONNECTED of the connection from PEERNAME; sets REASON.
wait_disconnected() {
    i=0
    while ! REASON=$(client reason "$TMP/$1.err" "$2" 2>/dev/null); do
        i=$((i + 1))
        if [ "$i" -gt $((100 * TIME_SCALE)) ]; then
            fail "$1: no EV_DISCONNECTED for the connection from $2 within $((10 * TIME_SCALE))s"
            dump "$TMP/$1.err"
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# wait_file FILE SECONDS : waits (SECONDS times TIME_SCALE at most) until
# FILE exists.
wait_file() {
    i=0
    while [ ! -e "$1" ]; do
        i=$((i + 1))
        [ "$i" -gt $(($2 * 20 * TIME_SCALE)) ] && return 1
        sleep 0.05
    done
    return 0
}
