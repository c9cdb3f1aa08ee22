#!/bin/sh
# The control socket and gctl as their users meet them: every command of
# gctl, human and --json; bad requests on the raw socket (not JSON, not an
# object, unknown command, unknown gobj, an attribute of the wrong type or
# read-only, a 1 MiB line); 16 clients at once; a client that never reads;
# another uid refused (when run as root); a stale socket file replaced and a
# live one refused; the socket's mode, and its removal at exit; the
# "control" config key and its errors; shutdown through the socket.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
. "$top_srcdir/tests/blackbox/echo_lib.sh"
GCTL="$top_builddir/samples/gctl"
CTLC="$top_srcdir/tests/blackbox/ctl_client.py"
SOCK="$TMP/ctl.sock"

[ -x "$GCTL" ] || { echo "ERROR: $GCTL is not built"; exit 99; }
if [ "$PYTHON3" = no ] || [ -z "$PYTHON3" ]; then
    echo "SKIP: no python3"
    exit 77
fi

# ctl STATUS DESCRIPTION ARGS... : gctl -s $SOCK ARGS, exit STATUS; output in
# $TMP/out, $TMP/err.
ctl() {
    want=$1
    desc=$2
    shift 2
    timeout "$LIMIT" "$GCTL" -s "$SOCK" "$@" >"$TMP/out" 2>"$TMP/err"
    st=$?
    if [ "$st" = "$want" ]; then
        pass "gctl $desc: exit $st"
    else
        fail "gctl $desc: exit $st, expected $want"
        dump "$TMP/out"
        dump "$TMP/err"
    fi
}

# raw DESCRIPTION TEXT LINE : one request line on the raw socket; the answer
# contains TEXT.
raw() {
    timeout "$LIMIT" "$PYTHON3" "$CTLC" lines "$SOCK" "$3" >"$TMP/raw" 2>&1
    if grep -q -F -e "$2" "$TMP/raw"; then
        pass "raw $1: $(head -c 160 "$TMP/raw")"
    else
        fail "raw $1: expected '$2' in the answer"
        dump "$TMP/raw"
    fi
}

pyc() {
    desc=$1
    shift
    if timeout $((90 * TIME_SCALE)) "$PYTHON3" "$CTLC" "$@" >"$TMP/py" 2>&1; then
        pass "$desc: $(tail -n 1 "$TMP/py")"
    else
        fail "$desc: $(cat "$TMP/py")"
    fi
}

# 1. gserve with --control: every command through gctl.
if start_echo ctl -s server.port=0 --control "$SOCK"; then
    CTL_PID=$SRV_PID
    mode=$(stat -c %a "$SOCK" 2>/dev/null)
    [ "$mode" = 600 ] && pass "the socket is mode 600" || fail "the socket is mode '$mode', not 600"
    ctl 0 "tree" tree
    contains "$TMP/out" "server  GServerSock  ST_LISTENING"
    ctl 0 "tree --json" --json tree
    contains "$TMP/out" '"gclass": "Echo"'
    ctl 0 "tree of a subtree" tree echo.server
    ctl 0 "attrs" attrs echo.server
    contains "$TMP/out" "host = 127.0.0.1"
    ctl 0 "set" set echo.server.max_connections=9
    contains "$TMP/out" "echo.server.max_connections = 9"
    ctl 0 "attrs after set" --json attrs echo.server
    contains "$TMP/out" '"max_connections": 9'
    contains "$TMP/ctl.err" "attribute written by the control socket"
    ctl 1 "set: wrong type" set echo.server.max_connections=abc
    contains "$TMP/err" "wrong type for attribute 'max_connections' of GServerSock"
    ctl 1 "set: read-only" set echo.server.port=1
    contains "$TMP/err" "read-only at run time"
    ctl 1 "set: unknown attribute" set echo.server.max_conections=1
    contains "$TMP/err" "did you mean 'max_connections'"
    ctl 1 "attrs: unknown gobj" attrs echo.nosuch
    contains "$TMP/err" "no gobj 'echo.nosuch'"
    ctl 0 "stats" stats
    contains "$TMP/out" "total_accepted = "
    ctl 0 "gclass" gclass GSock
    contains "$TMP/out" "EV_RX_EOF"
    ctl 1 "gclass: unknown" gclass GSocks
    contains "$TMP/err" "did you mean 'GSock'"
    ctl 0 "dot" dot GTimer
    contains "$TMP/out" 'digraph "GTimer"'
    ctl 0 "log-level" log-level debug
    ctl 1 "log-level: bad" log-level loud
    contains "$TMP/err" "unknown log level 'loud'"
    ctl 0 "hello" --json hello
    contains "$TMP/out" '"protocol": 1'
    ctl 2 "unknown command" bogus
    ctl 2 "missing argument" attrs
    ctl 2 "set without =" set echo.server.max_connections

    # 2. Bad requests on the raw socket: an error naming what was wrong.
    raw "not JSON" '"error":"not JSON' 'hello'
    raw "not an object" 'must be a JSON object' '[1, 2]'
    raw "no cmd" "'cmd' must be a string" '{"id": 7}'
    raw "unknown command" "unknown command 'tre'; did you mean 'tree'" '{"id": 8, "cmd": "tre"}'
    raw "the id comes back" '"id":{"a":[1]}' '{"id": {"a": [1]}, "cmd": "hello"}'
    raw "wrong argument type" "'gobj' must be a string" '{"id": 9, "cmd": "attrs", "gobj": 3}'
    pyc "a 1 MiB line" bigline "$SOCK" 1048576
    pyc "16 clients at once" many "$SOCK" 16 50
    pyc "a client that never reads" noread "$SOCK"
    if [ "$(id -u)" = 0 ]; then
        chmod 755 "$TMP"
        chmod 666 "$SOCK"
        pyc "another uid refused" uid "$SOCK" 65534
        contains "$TMP/ctl.err" "refused a client of another user"
        chmod 600 "$SOCK"
    else
        echo "skip: another uid (needs root)"
    fi

    # 3. A second server on the same live path is refused.
    start_bg ctl2 "$GSERVE" -s server.port=0 --control "$SOCK"
    wait_exit "$BG_PID" 20
    [ "$EXIT_STATUS" != 0 ] && pass "a live control socket is refused (exit $EXIT_STATUS)" ||
        fail "a second gserve took a live control socket"
    contains "$TMP/ctl2.err" "$SOCK"

    # 4. Shutdown through the socket: exit 0, the file removed.
    ctl 0 "shutdown" shutdown
    wait_exit "$CTL_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "exit 0 after gctl shutdown" ||
        fail "exit $EXIT_STATUS after gctl shutdown"
    [ -e "$SOCK" ] && fail "the socket file is left behind" || pass "the socket file is removed"
fi

# 5. A stale file (a crashed run) is replaced; the config key works.
"$PYTHON3" -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
cat >"$TMP/ctl.json" <<EOF
{ "name": "c", "control": { "path": "$SOCK" },
  "tree": { "gclass": "Echo", "name": "echo", "children": [
    { "gclass": "GServerSock", "name": "server", "attrs": { "host": "127.0.0.1", "port": 0 } } ] } }
EOF
if start_echo ctl3 -c "$TMP/ctl.json"; then
    ctl 0 "through the config key, over a stale file" tree
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 20
fi

# 6. Configuration errors: exit 2 naming the key.
run 2 "$GSERVE" --control ""
contains "$TMP/err" "--control"
printf '{ "control": { "path": "" }, "tree": { "gclass": "Echo", "name": "e" } }' >"$TMP/bad1.json"
run 2 "$GSERVE" -c "$TMP/bad1.json" --check
contains "$TMP/err" "control.path must be a non-empty string"
printf '{ "control": { "paht": "/x" }, "tree": { "gclass": "Echo", "name": "e" } }' >"$TMP/bad2.json"
run 2 "$GSERVE" -c "$TMP/bad2.json" --check
contains "$TMP/err" "control: unknown key 'paht'"
printf '{ "control": [], "tree": { "gclass": "Echo", "name": "e" } }' >"$TMP/bad3.json"
run 2 "$GSERVE" -c "$TMP/bad3.json" --check
contains "$TMP/err" "'control' must be an object"

finish
