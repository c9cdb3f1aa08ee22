#!/bin/sh
# --print-config shows the merged configuration: -c files in order (name,
# shutdown_timeout and tree replaced, log and global merged key by key), then
# -s (GClass.attr into global, NAME.attr into the node and winning over a
# global entry for it), then --log-format / --log-level.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

if [ "$PYTHON3" = no ] || [ -z "$PYTHON3" ]; then
    echo "SKIP: python3 is needed to read the printed JSON"
    exit 77
fi

# jcheck DESCRIPTION PYTHON-EXPR : EXPR over c (the printed config) is true.
jcheck() {
    if "$PYTHON3" -c '
import json, sys
c = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print("    config:", json.dumps(c, sort_keys=True))
sys.exit(0 if ok else 1)
' "$TMP/out" "$2"; then
        pass "$1"
    else
        fail "$1: $2"
    fi
}

cat >"$TMP/a.json" <<'EOC'
{ "name": "a",
  "shutdown_timeout": 100,
  "log": { "level": "debug" },
  "global": { "GTimer.msec": 100, "GTimer.periodic": false },
  "tree": { "gclass": "Ticker", "name": "t1",
            "children": [ { "gclass": "GTimer", "name": "tm", "attrs": { "msec": 10 } } ] } }
EOC
cat >"$TMP/b.json" <<'EOC'
{ "name": "b",
  "log": { "format": "json" },
  "global": { "GTimer.msec": 200, "tm.periodic": true },
  "tree": { "gclass": "Ticker", "name": "t2",
            "children": [ { "gclass": "GTimer", "name": "tm", "attrs": { "msec": 30 } },
                          { "gclass": "GTimer", "name": "other" } ] } }
EOC

if run 0 "$GSERVE" -c "$TMP/a.json" -c "$TMP/b.json" --print-config; then
    lines "$TMP/err" 0
    jcheck "later name wins" 'c["name"] == "b"'
    jcheck "shutdown_timeout kept from the only file that has it" 'c["shutdown_timeout"] == 100'
    jcheck "log merged key by key" 'c["log"] == {"level": "debug", "format": "json"}'
    jcheck "global merged key by key, later file wins" \
        'c["global"] == {"GTimer.msec": 200, "GTimer.periodic": False, "tm.periodic": True}'
    jcheck "later tree replaces the earlier one" \
        'c["tree"]["name"] == "t2" and len(c["tree"]["children"]) == 2'
    jcheck "keys in a fixed order" \
        'list(c) == ["name", "log", "global", "tree", "shutdown_timeout"]'
fi

if run 0 "$GSERVE" -c "$TMP/b.json" -c "$TMP/a.json" --print-config; then
    jcheck "reversed order: the other file wins" \
        'c["name"] == "a" and c["tree"]["name"] == "t1" and c["global"]["GTimer.msec"] == 100'
fi

# -s NAME.attr goes into the node (by name or full name), converted by type.
if run 0 "$GSERVE" -c "$TMP/a.json" -c "$TMP/b.json" -s tm.msec=7 -s t2.other.msec=9 \
    -s GTimer.periodic=true --print-config; then
    jcheck "-s name.attr sets the node's attrs" 'c["tree"]["children"][0]["attrs"]["msec"] == 7'
    jcheck "-s full.name.attr sets the node's attrs" \
        'c["tree"]["children"][1]["attrs"] == {"msec": 9}'
    jcheck "-s GClass.attr goes into global, converted" 'c["global"]["GTimer.periodic"] is True'
fi

# -s NAME.attr wins over a global entry for the same gobj and attribute.
if run 0 "$GSERVE" -c "$TMP/b.json" -s tm.periodic=false --print-config; then
    jcheck "-s name.attr replaces the global name.attr" \
        '"tm.periodic" not in c["global"] and c["tree"]["children"][0]["attrs"]["periodic"] is False'
fi

# Later -s wins over an earlier one.
if run 0 "$GSERVE" -c "$TICKER" -s timer.msec=5 -s timer.msec=6 --print-config; then
    jcheck "the last -s wins" 'c["tree"]["children"][0]["attrs"]["msec"] == 6'
fi

# No -c: the built-in config is the sample file that --help names, byte for
# byte the same configuration.
run 0 "$GSERVE" --help
builtin=$(sed -n 's/.*built-in configuration, \(.*\) (built in)\.$/\1/p' "$TMP/out")
if [ -n "$builtin" ] && [ -f "$top_srcdir/$builtin" ]; then
    run 0 "$GSERVE" -c "$top_srcdir/$builtin" --print-config && cp "$TMP/out" "$TMP/from_file.json"
    run 0 "$GSERVE" --print-config
    if cmp -s "$TMP/out" "$TMP/from_file.json"; then
        pass "no -c: the built-in config is $builtin"
    else
        fail "the built-in config differs from $builtin"
    fi
else
    fail "--help does not name the built-in config file ($builtin)"
fi

# Value conversion by type: JSON, real, string.
if run 0 "$GSERVE" -c "$TICKER" -s timer.subscriber=ticker -s GTimer.msec=-3 --print-config; then
    jcheck "string value taken as is" 'c["tree"]["children"][0]["attrs"]["subscriber"] == "ticker"'
    jcheck "negative integer" 'c["global"]["GTimer.msec"] == -3'
fi

# -s NAME.attr against a short-name global that names other gobjs too: the
# global stays for them, and the -s value is pinned by full name so that it
# wins at run time, as --print-config shows.
cat >"$TMP/two.json" <<'EOC'
{ "global": { "timer.msec": 600000 },
  "tree": { "gclass": "Ticker", "name": "t",
            "children": [
              { "gclass": "Ticker", "name": "a", "children": [ { "gclass": "GTimer", "name": "timer" } ] },
              { "gclass": "Ticker", "name": "b", "children": [ { "gclass": "GTimer", "name": "timer" } ] } ] } }
EOC
if run 0 "$GSERVE" -c "$TMP/two.json" -s t.a.timer.msec=20 --print-config; then
    jcheck "-s full.name.attr pinned over a short-name global for two gobjs" \
        'c["global"] == {"timer.msec": 600000, "t.a.timer.msec": 20} and c["tree"]["children"][0]["children"][0]["attrs"] == {"msec": 20}'
fi

# --log-format and --log-level override the files' log.
if run 0 "$GSERVE" -c "$TMP/a.json" -c "$TMP/b.json" --log-level warn --log-format text \
    --print-config; then
    jcheck "--log-level and --log-format override log" \
        'c["log"] == {"level": "warn", "format": "text"}'
fi

# The printed config is itself a valid config that prints the same.
cp "$TMP/out" "$TMP/printed.json"
if run 0 "$GSERVE" -c "$TMP/printed.json" --print-config; then
    if cmp -s "$TMP/out" "$TMP/printed.json"; then
        pass "printed config round-trips"
    else
        fail "printed config does not round-trip"
    fi
fi

finish
