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

finish
