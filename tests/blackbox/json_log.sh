#!/bin/sh
# --log-format json: every line on stderr is one JSON object with ts (RFC 3339
# with milliseconds), level, gobj and msg -- the runner's own records, the
# ticks and the trace records alike.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

if [ "$PYTHON3" = no ] || [ -z "$PYTHON3" ]; then
    echo "SKIP: python3 is needed to parse the log"
    exit 77
fi

ticker_config "$TMP/fast.json" 20
start_bg json "$GSERVE" -c "$TMP/fast.json" --log-format json --log-level debug \
    --trace lifecycle --trace GTimer:machine
if ! wait_for "$TMP/json.err" '"count": ?5[,}]' 30; then
    fail "no 5th tick"
    sed 's/^/    | /' "$TMP/json.err" >&2
fi
kill -TERM "$BG_PID"
wait_exit "$BG_PID" 20
[ "$EXIT_STATUS" = 0 ] || fail "exit status $EXIT_STATUS, expected 0"

if "$PYTHON3" -c '
import json, re, sys
ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
bad = 0
msgs = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        r = json.loads(line)
    except ValueError as e:
        print("    line %d is not JSON (%s): %s" % (n, e, line.rstrip())); bad += 1; continue
    if not isinstance(r, dict):
        print("    line %d is not an object: %s" % (n, line.rstrip())); bad += 1; continue
    for k in ("ts", "level", "gobj", "msg"):
        if k not in r:
            print("    line %d has no %s: %s" % (n, k, line.rstrip())); bad += 1
    if "ts" in r and not ts.match(str(r["ts"])):
        print("    line %d: ts is not RFC 3339 with ms: %s" % (n, r["ts"])); bad += 1
    msgs.append(r.get("msg"))
for m in ("running", "tick", "stopping", "exit"):
    if m not in msgs:
        print("    no %r record" % m); bad += 1
if len(msgs) < 10:
    print("    only %d records" % len(msgs)); bad += 1
sys.exit(1 if bad else 0)
' "$TMP/json.err"; then
    pass "$(wc -l <"$TMP/json.err" | tr -d ' ') JSON log lines parse, each with ts, level, gobj, msg"
else
    fail "JSON log lines"
fi

finish
