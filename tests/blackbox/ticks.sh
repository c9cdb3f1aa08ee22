#!/bin/sh
# The built-in kind of tree with a 20 ms periodic timer: ticks come in order
# (count 1, 2, 3, ... with no gap and no repeat) and keep coming.  Bounds are
# generous: only order and progress are asserted, never timing.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

ticker_config "$TMP/fast.json" 20
start_bg ticks "$GSERVE" -c "$TMP/fast.json" --log-format json
if ! wait_for "$TMP/ticks.err" '"count": ?5[,}]' 30; then
    fail "no 5th tick"
    sed 's/^/    | /' "$TMP/ticks.err" >&2
    finish
fi
first=$(tick_counts "$TMP/ticks.err" | tail -n 1)
# Keeps firing: 20 more ticks after the point we looked.
want=$((first + 20))
wait_for "$TMP/ticks.err" "\"count\": ?$want[,}]" 30 || fail "stopped ticking after $first"
kill -TERM "$BG_PID"
wait_exit "$BG_PID" 20
[ "$EXIT_STATUS" = 0 ] || fail "exit status $EXIT_STATUS, expected 0"

tick_counts "$TMP/ticks.err" >"$TMP/counts"
n=$(wc -l <"$TMP/counts" | tr -d ' ')
seq 1 "$n" >"$TMP/expected"
if [ "$n" -ge "$want" ] && cmp -s "$TMP/counts" "$TMP/expected"; then
    pass "$n ticks, in order, no gap"
else
    fail "tick counts are not 1..$n (want at least $want): $(tr '\n' ' ' <"$TMP/counts")"
fi
# Each tick is logged by the Ticker gobj.
if grep -E '"msg": ?"tick"' "$TMP/ticks.err" | grep -E -v -q '"gobj": ?"ticker"'; then
    fail "a tick record is not from gobj ticker"
fi

# -s reaches the timer: the sample's 1000 ms period becomes 20 ms.
start_bg set "$GSERVE" -c "$TICKER" -s timer.msec=20 --log-format json
if wait_for "$TMP/set.err" '"count": ?10[,}]' 30; then
    pass "-s timer.msec=20 on samples/ticker.json"
else
    fail "-s timer.msec=20: no 10th tick"
fi
kill -TERM "$BG_PID"
wait_exit "$BG_PID" 20
[ "$EXIT_STATUS" = 0 ] || fail "exit status $EXIT_STATUS, expected 0"

# A gobj named like a registered gclass is not reached by that gclass's
# "GClass.attr" keys as if they were "name.attr": the Ticker named "GTimer"
# is created, and its timer gets the GTimer value.
cat >"$TMP/gcname.json" <<'EOC'
{ "global": { "GTimer.msec": 20 },
  "tree": { "gclass": "Ticker", "name": "GTimer",
            "children": [ { "gclass": "GTimer", "name": "timer", "attrs": { "periodic": true } } ] } }
EOC
start_bg gcname "$GSERVE" -c "$TMP/gcname.json" --log-format json
if wait_for "$TMP/gcname.err" '"count": ?3[,}]' 30; then
    pass "a gobj named like a gclass: GClass.attr is the gclass's"
else
    fail "a gobj named like a gclass: no 3rd tick"
    sed 's/^/    | /' "$TMP/gcname.err" >&2
fi
kill -TERM "$BG_PID" 2>/dev/null
wait_exit "$BG_PID" 20

# -s NAME.attr wins at run time over a short-name global that also names
# another gobj (two timers are named "timer"): t.a ticks every 20 ms.
cat >"$TMP/two.json" <<'EOC'
{ "global": { "timer.msec": 600000 },
  "tree": { "gclass": "Ticker", "name": "t",
            "children": [
              { "gclass": "Ticker", "name": "a", "children": [
                  { "gclass": "GTimer", "name": "timer", "attrs": { "periodic": true } } ] },
              { "gclass": "Ticker", "name": "b", "children": [
                  { "gclass": "GTimer", "name": "timer", "attrs": { "periodic": true } } ] } ] } }
EOC
start_bg two "$GSERVE" -c "$TMP/two.json" -s t.a.timer.msec=20 --log-format json
if wait_for "$TMP/two.err" '"gobj": ?"t.a".*"count": ?3[,}]|"count": ?3[,}].*"gobj": ?"t.a"' 30; then
    pass "-s full.name.attr wins over a short-name global naming two gobjs"
else
    fail "-s t.a.timer.msec=20: t.a does not tick"
    sed 's/^/    | /' "$TMP/two.err" >&2
fi
kill -TERM "$BG_PID" 2>/dev/null
wait_exit "$BG_PID" 20
grep -E '"msg": ?"tick"' "$TMP/two.err" | grep -q '"gobj": ?"t.b"' && fail "t.b ticked (its timer is 600000 ms)"

finish
