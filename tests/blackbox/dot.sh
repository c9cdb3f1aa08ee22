#!/bin/sh
# --dot GCLASS prints the gclass's state machine as Graphviz DOT: valid for
# dot(1) when Graphviz is installed, structurally sound in any case.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

for gc in GTimer Ticker; do
    run 0 "$GSERVE" --dot "$gc" || continue
    lines "$TMP/err" 0
    before=$FAILS
    head -n 1 "$TMP/out" | grep -E -q '^(strict )?digraph' || fail "$gc: does not start with digraph"
    opens=$(tr -cd '{' <"$TMP/out" | wc -c)
    closes=$(tr -cd '}' <"$TMP/out" | wc -c)
    [ "$opens" -ge 1 ] && [ "$opens" -eq "$closes" ] || fail "$gc: unbalanced braces ($opens/$closes)"
    grep -q -- '->' "$TMP/out" || fail "$gc: no edge"
    case $gc in
    GTimer) contains "$TMP/out" ST_IDLE; contains "$TMP/out" ST_ARMED
            contains "$TMP/out" EV_SET_TIMER ;;
    Ticker) contains "$TMP/out" ST_TICKING; contains "$TMP/out" EV_TIMER_TIMEOUT ;;
    esac
    if [ "$DOT" != no ] && [ -n "$DOT" ]; then
        if "$DOT" -Tsvg <"$TMP/out" >"$TMP/$gc.svg" 2>"$TMP/dot.err" && grep -q '<svg' "$TMP/$gc.svg"; then
            :
        else
            fail "$gc: dot -Tsvg rejects the output: $(cat "$TMP/dot.err")"
        fi
    fi
    [ "$FAILS" -eq "$before" ] && pass "--dot $gc"
done

finish
