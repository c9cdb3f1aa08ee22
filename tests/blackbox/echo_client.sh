#!/bin/sh
# The echo client sample (samples/echo-client.json, gclass EchoClient) as a
# user runs it: gserve's echo on a port the kernel chose, then the client
# against it with 20 clients x 50 messages every 20 ms: exit 0, a final
# report of 1000 sent and 1000 received, nothing lost or mismatched, and
# ordered percentiles.  Then the hostile cases: a python3 "echo" that drops
# and corrupts some replies (counted, a bounded end, exit 1, no crash), a
# destination where nothing listens (GConnex retries, the run ends at
# final_timeout with a clear log, exit 1), SIGTERM with count 0 (final
# report, exit 0), and gserve --check refusing bad attributes (exit 2, the
# attribute named).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"
CFG="$top_srcdir/samples/echo-client.json"

dump() {
    sed 's/^/    | /' "$1" >&2
}

# dest PORT : the -s that points the client at 127.0.0.1:PORT.
dest() {
    echo "client.destinations=[{\"host\": \"127.0.0.1\", \"port\": $1}]"
}

# field NAME FILE : the value of NAME=... in the last "final report" of FILE.
field() {
    grep 'final report' "$2" | tail -n 1 | sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

# no_sanitizer_report FILE DESC : the run left no AddressSanitizer or
# LeakSanitizer report (in a sanitizer build, a leak or a bad access).
no_sanitizer_report() {
    if grep -q -E 'Sanitizer|runtime error:' "$1"; then
        fail "$2: sanitizer report"
        dump "$1"
        return 1
    fi
    return 0
}

# The echo server: the built-in config on port 0.
start_bg echo "$GSERVE" -s server.port=0
SRV=$BG_PID
if ! wait_for "$TMP/echo.err" 'running' 20; then
    fail "the echo server did not start"
    dump "$TMP/echo.err"
    finish
fi
PORT=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$TMP/echo.err" | head -n 1)
[ -n "$PORT" ] || {
    fail "no listening port in the echo server's log"
    dump "$TMP/echo.err"
    finish
}

# 20 clients x 50 messages, every 20 ms: everything comes back.
start_bg ok "$GSERVE" -c "$CFG" -s "$(dest "$PORT")" -s client.clients=20 -s client.period=20 \
    -s client.count=50 -s client.report_interval=500 -s client.final_timeout=$((5000 * TIME_SCALE))
wait_exit "$BG_PID" 60
if [ "$EXIT_STATUS" = 0 ]; then
    pass "20 clients x 50 messages: exit 0"
else
    fail "20 clients x 50 messages: exit status $EXIT_STATUS, expected 0"
    dump "$TMP/ok.err"
fi
sent=$(field sent "$TMP/ok.err")
received=$(field received "$TMP/ok.err")
lost=$(field lost "$TMP/ok.err")
mism=$(field mismatched "$TMP/ok.err")
if [ "$sent" = 1000 ] && [ "$received" = 1000 ] && [ "$lost" = 0 ] && [ "$mism" = 0 ]; then
    pass "final report: sent=1000 received=1000 lost=0 mismatched=0"
else
    fail "final report: sent=$sent received=$received lost=$lost mismatched=$mism"
    dump "$TMP/ok.err"
fi
contains "$TMP/ok.err" "complete=true" && contains "$TMP/ok.err" "end=done" &&
    pass "final report: end=done complete=true"
p50=$(field rtt_p50_us "$TMP/ok.err")
p90=$(field rtt_p90_us "$TMP/ok.err")
p99=$(field rtt_p99_us "$TMP/ok.err")
max=$(field rtt_max_us "$TMP/ok.err")
samples=$(field rtt_samples "$TMP/ok.err")
case "$p50$p90$p99$max$samples" in
    "" | *[!0-9]*)
        fail "final report: percentiles missing or not numbers ($p50 $p90 $p99 $max $samples)"
        ;;
    *)
        if [ "$samples" = 1000 ] && [ "$p50" -gt 0 ] && [ "$p50" -le "$p90" ] &&
            [ "$p90" -le "$p99" ] && [ "$p99" -le "$max" ]; then
            pass "percentiles ordered: p50=$p50 <= p90=$p90 <= p99=$p99 <= max=$max us"
        else
            fail "percentiles: samples=$samples p50=$p50 p90=$p90 p99=$p99 max=$max"
        fi
        ;;
esac
n=$(grep -c ' client: report sent=' "$TMP/ok.err")
[ "$n" -ge 1 ] && pass "interval reports logged ($n)" || fail "no interval report"
no_sanitizer_report "$TMP/ok.err" "20 clients x 50 messages"

# count 0 runs until stopped: SIGTERM gives the final report and exit 0.
start_bg forever "$GSERVE" -c "$CFG" -s "$(dest "$PORT")" -s client.clients=3 -s client.period=10
FOREVER=$BG_PID
sleep 1
kill -TERM "$FOREVER"
wait_exit "$FOREVER" 20
if [ "$EXIT_STATUS" = 0 ] && grep -q 'final report.* end=stopped complete=false' "$TMP/forever.err"; then
    pass "count 0: SIGTERM -> final report (end=stopped), exit 0"
else
    fail "count 0: exit status $EXIT_STATUS after SIGTERM, or no final report"
    dump "$TMP/forever.err"
fi
no_sanitizer_report "$TMP/forever.err" "count 0 and SIGTERM"

kill -TERM "$SRV"
wait_exit "$SRV" 20
[ "$EXIT_STATUS" = 0 ] && pass "echo server: SIGTERM -> exit 0" ||
    fail "echo server: exit status $EXIT_STATUS after SIGTERM"
no_sanitizer_report "$TMP/echo.err" "echo server"

# Nothing listens: a port that was free a moment ago (bound, then closed).
# GConnex retries; the run ends at final_timeout, saying so.
if [ "$PYTHON3" != no ] && [ -n "$PYTHON3" ]; then
    FREE=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start_bg nobody "$GSERVE" -c "$CFG" -s "$(dest "$FREE")" -s client.clients=3 -s client.count=5 \
        -s client.period=20 -s client.final_timeout=$((1500 * TIME_SCALE))
    wait_exit "$BG_PID" 30
    if [ "$EXIT_STATUS" = 1 ]; then
        pass "nothing listening: exit 1"
    else
        fail "nothing listening: exit status $EXIT_STATUS, expected 1"
        dump "$TMP/nobody.err"
    fi
    contains "$TMP/nobody.err" "final_timeout: nothing sent or received for $((1500 * TIME_SCALE)) ms" &&
        contains "$TMP/nobody.err" "3 of 3 clients never connected" &&
        contains "$TMP/nobody.err" "end=final_timeout complete=false" &&
        pass "nothing listening: final_timeout and the clients that never connected logged"
    n=$(grep -c 'GConnex client.client1: connect to 127.0.0.1:' "$TMP/nobody.err")
    [ "$n" -ge 2 ] && pass "nothing listening: GConnex retried ($n attempts of client1)" ||
        fail "nothing listening: $n failed attempts of client1 logged, expected >= 2"
    no_sanitizer_report "$TMP/nobody.err" "nothing listening"
else
    echo "SKIP: nothing listening (python3 finds the free port)"
fi

# A hostile "echo": drops every 7th line and corrupts every 11th (one byte
# of its padding), echoes the rest.
if [ "$PYTHON3" != no ] && [ -n "$PYTHON3" ]; then
    cat >"$TMP/hostile.py" <<'EOF'
import socket, sys, threading, time

def serve(conn):
    n = 0
    buf = b""
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            out = b""
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                n += 1
                if n % 7 == 0:
                    continue
                if n % 11 == 0 and len(line) > 60:
                    line = line[:60] + bytes([line[60] ^ 0x20]) + line[61:]
                out += line + b"\n"
            if out:
                try:
                    conn.sendall(out)
                except OSError:
                    return

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
srv.settimeout(float(sys.argv[2]))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        c, _ = srv.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
    start_bg hostile "$PYTHON3" "$TMP/hostile.py" "$TMP/hostile.port" $((60 * TIME_SCALE))
    HOSTILE=$BG_PID
    i=0
    while [ ! -s "$TMP/hostile.port" ] && [ "$i" -lt $((100 * TIME_SCALE)) ]; do
        i=$((i + 1))
        sleep 0.05
    done
    HPORT=$(cat "$TMP/hostile.port" 2>/dev/null)
    if [ -z "$HPORT" ]; then
        fail "the hostile server did not start"
        dump "$TMP/hostile.err"
    else
        start_bg bad "$GSERVE" -c "$CFG" -s "$(dest "$HPORT")" -s client.clients=5 \
            -s client.period=10 -s client.count=40 -s client.report_interval=200 \
            -s client.final_timeout=$((2000 * TIME_SCALE))
        wait_exit "$BG_PID" 40
        if [ "$EXIT_STATUS" = 1 ]; then
            pass "hostile echo: the run ends, exit 1"
        else
            fail "hostile echo: exit status $EXIT_STATUS, expected 1"
            dump "$TMP/bad.err"
        fi
        sent=$(field sent "$TMP/bad.err")
        received=$(field received "$TMP/bad.err")
        lost=$(field lost "$TMP/bad.err")
        mism=$(field mismatched "$TMP/bad.err")
        inflight=$(field in_flight "$TMP/bad.err")
        # Each client's 40 messages: the 7th, 14th ... 35th dropped (5 lost),
        # the 11th, 22nd, 33rd corrupted (3 mismatched, and lost as well):
        # for 5 clients 160 received, 40 lost, 15 mismatched.
        if [ "$sent" = 200 ] && [ "$received" = 160 ] && [ "$lost" = 40 ] && [ "$mism" = 15 ] &&
            [ "$inflight" = 0 ]; then
            pass "hostile echo: sent=$sent received=$received lost=$lost mismatched=$mism"
        else
            fail "hostile echo: sent=$sent received=$received lost=$lost mismatched=$mism in_flight=$inflight, expected 200 160 40 15 0"
            dump "$TMP/bad.err"
        fi
        contains "$TMP/bad.err" "mismatched replies" && contains "$TMP/bad.err" "corrupted padding" &&
            pass "hostile echo: the mismatches logged with the first one's reason"
        n=$(grep -c 'mismatched replies' "$TMP/bad.err")
        r=$(grep -c 'report sent=' "$TMP/bad.err")
        [ "$n" -le "$r" ] && pass "hostile echo: at most one mismatch record per report ($n <= $r)" ||
            fail "hostile echo: $n mismatch records for $r reports"
        no_sanitizer_report "$TMP/bad.err" "hostile echo"
    fi
    kill -TERM "$HOSTILE" 2>/dev/null
    wait_exit "$HOSTILE" 10
else
    echo "SKIP: hostile echo (needs python3)"
fi

# gserve --check refuses bad attributes, naming them and the value.
for bad in "clients=0:clients: must be an integer 1..100000, not 0" \
    "size=10:size: must be an integer 52..16777216, not 10" \
    "period=0:period: must be an integer" \
    "framing=length:framing: must be \"line\", not \"length\"" \
    "destinations=[]:destinations: is empty"; do
    set_=${bad%%:*}
    expect=${bad#*:}
    if run 2 "$GSERVE" -c "$CFG" -s "client.$set_" --check; then
        contains "$TMP/err" "EchoClient 'client'" && contains "$TMP/err" "$expect" &&
            pass "--check -s client.$set_: exit 2, '$expect'"
    fi
done
run 0 "$GSERVE" -c "$CFG" --check && pass "--check of samples/echo-client.json: exit 0"

finish
