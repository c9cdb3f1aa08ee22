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

# 40,000 siblings: --check answers (the duplicate-name check is not
# quadratic), and a duplicate at the very end is still found, naming both.
if [ "$PYTHON3" != no ] && [ -n "$PYTHON3" ]; then
    "$PYTHON3" - "$TMP/wide.json" "$TMP/wide_dup.json" <<'EOP'
import json, sys
kids = [{"gclass": "GTimer", "name": "t%d" % i} for i in range(40000)]
tree = {"gclass": "Ticker", "name": "w", "children": kids}
json.dump({"tree": tree}, open(sys.argv[1], "w"))
kids.append({"gclass": "GTimer", "name": "t7"})
json.dump({"tree": tree}, open(sys.argv[2], "w"))
EOP
    if run 0 "$GSERVE" -c "$TMP/wide.json" --check; then
        contains "$TMP/out" "configuration OK (40001 gobjs)" && pass "--check of 40,000 siblings"
    fi
    usage_error "duplicate among 40,000 siblings" \
        "tree.children[40000]: duplicate name 't7' (also tree.children[7])" -- \
        "$GSERVE" -c "$TMP/wide_dup.json" --check
fi

# -s GClass.attr=V does not override a value in a node's attrs: a warning
# names the gobj whose own value wins, and how to reach it.
if run 0 "$GSERVE" -c "$TICKER" -s GTimer.msec=5 --check; then
    contains "$TMP/err" "WARN" && contains "$TMP/err" "-s 'GTimer.msec=5'" &&
        contains "$TMP/err" "ticker.timer" && contains "$TMP/err" "-s ticker.timer.msec=5" &&
        pass "-s GClass.attr shadowed by a node's attrs: warned"
fi
# ... nor a "name.attr" global for the gobj.
printf '{"global": {"timer.msec": 7}, "tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer", "name": "timer"}]}}' >"$TMP/gshadow.json"
if run 0 "$GSERVE" -c "$TMP/gshadow.json" -s GTimer.msec=5 --check; then
    contains "$TMP/err" "WARN" && contains "$TMP/err" "t.timer" &&
        contains "$TMP/err" "global 'timer.msec'" && pass "-s GClass.attr shadowed by a global: warned"
fi
# No warning when nothing shadows it.
if run 0 "$GSERVE" -c "$TICKER" -s GTimer.subscriber=ticker -s timer.msec=5 --check; then
    lines "$TMP/err" 0 && pass "-s GClass.attr not shadowed: no warning"
fi

# GConnex: its mt_check sees the destinations' shape and, through GSock's
# own check, its gsock_attrs.
printf '{"tree": {"gclass": "GConnex", "name": "up", "attrs": {"destinations": [{"host": "127.0.0.1", "port": 9}], "gsock_attrs": {"framing": "frames"}}}}' >"$TMP/connex.json"
usage_error "--check: GConnex gsock_attrs" "gsock_attrs: GSock attribute 'framing'" -- \
    "$GSERVE" -c "$TMP/connex.json" --check
usage_error "--check: GConnex destinations" "destinations: entry 0: port" -- \
    "$GSERVE" -c "$TMP/connex.json" -s 'up.gsock_attrs={}' -s 'up.destinations=[{"host":"x"}]' --check
if run 0 "$GSERVE" -c "$TMP/connex.json" -s 'up.gsock_attrs={"framing":"line"}' --check; then
    contains "$TMP/out" "configuration OK (1 gobjs)" && pass "--check of a good GConnex"
fi

finish
