#!/bin/sh
# --check validates and exits 0 or 2, creating nothing: with a lifecycle trace
# on, not one create is logged, the loop never runs, and no tick happens even
# with a 10 ms timer in the config.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

if run 0 "$GSERVE" --check; then
    contains "$TMP/out" "gserve: configuration OK (" && pass "--check of the built-in config"
    lines "$TMP/err" 0
fi
if run 0 "$GSERVE" -c "$TICKER" --check; then
    contains "$TMP/out" "gserve: configuration OK (2 gobjs)" && pass "--check counts the gobjs"
fi

ticker_config "$TMP/fast.json" 10
if run 0 "$GSERVE" -c "$TMP/fast.json" --check --trace all --log-level debug; then
    contains "$TMP/out" "configuration OK"
    # Nothing at all was logged: no create, no start, no "running", no tick.
    lines "$TMP/err" 0 && pass "--check creates nothing (trace all is silent)"
fi

# The probe counts creates: none happens.
if run 0 "$PROBE" --check --trace lifecycle; then
    lines "$TMP/err" 0 && pass "--check: no Probe created, nothing left (probe)"
fi

printf '{"tree": {"gclass": "Nope", "name": "n"}}' >"$TMP/bad.json"
usage_error "--check of a bad config" "unknown gclass 'Nope'" -- "$GSERVE" -c "$TMP/bad.json" --check

finish
