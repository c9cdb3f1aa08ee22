#!/bin/sh
# Bad configuration: exit 2 with exactly one message on stderr that names the
# problem and where it is; nothing on stdout.  The same inputs given to
# gapp_probe also prove that no gobj and no json_t is left behind.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

good="$TMP/good.json"
ticker_config "$good" 1000

# Invalid JSON: file:line:column from the parser.
printf '{\n  "name": "x",\n  "tree": { "gclass": "Ticker" "name": "t" }\n}\n' >"$TMP/syntax.json"
usage_error "invalid JSON" "$TMP/syntax.json:3:" "invalid JSON" -- \
    "$GSERVE" -c "$TMP/syntax.json"
printf '{"name": "a", "name": "b", "tree": {}}' >"$TMP/dup.json"
usage_error "duplicate key" "$TMP/dup.json:1:" "duplicate object key" -- \
    "$GSERVE" -c "$TMP/dup.json"
printf '' >"$TMP/empty.json"
usage_error "empty file" "$TMP/empty.json:" "invalid JSON" -- "$GSERVE" -c "$TMP/empty.json"
printf '[1, 2]' >"$TMP/array.json"
usage_error "not an object" "$TMP/array.json: the configuration must be a JSON object, not an array" -- \
    "$GSERVE" -c "$TMP/array.json"

# Unreadable files: the errno text.
usage_error "missing file" "cannot read config file '$TMP/nope.json': No such file or directory" -- \
    "$GSERVE" -c "$TMP/nope.json"
usage_error "directory" "cannot read config file '$TMP': Is a directory" -- "$GSERVE" -c "$TMP"
# The second file is bad: the first one's success does not hide it.
usage_error "second file missing" "'$TMP/nope.json'" -- "$GSERVE" -c "$good" -c "$TMP/nope.json"

# Unknown top-level key, with a suggestion and the known keys.
printf '{"tre": {"gclass": "Ticker", "name": "t"}}' >"$TMP/top.json"
usage_error "unknown top-level key" "$TMP/top.json: unknown top-level key 'tre'" \
    "did you mean 'tree'?" "known keys: name, log, global, tree, shutdown_timeout" -- \
    "$GSERVE" -c "$TMP/top.json"
printf '{"name": "x"}' >"$TMP/notree.json"
usage_error "no tree" "$TMP/notree.json: the configuration has no 'tree'" -- \
    "$GSERVE" -c "$TMP/notree.json"
printf '{"shutdown_timeout": "5s", "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/sd.json"
usage_error "bad shutdown_timeout" "$TMP/sd.json: 'shutdown_timeout' must be an integer >= 0 (ms), not a string" -- \
    "$GSERVE" -c "$TMP/sd.json"
printf '{"log": {"level": "loud"}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/lv.json"
usage_error "bad log.level" "$TMP/lv.json: log.level must be" "not 'loud'" -- \
    "$GSERVE" -c "$TMP/lv.json"
printf '{"log": {"colour": true}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/lk.json"
usage_error "unknown key in log" "$TMP/lk.json: log: unknown key 'colour'" -- \
    "$GSERVE" -c "$TMP/lk.json"

# Unknown gclass: listing the registered ones.
printf '{"tree": {"gclass": "Tikker", "name": "t"}}' >"$TMP/gc.json"
usage_error "unknown gclass" "$TMP/gc.json: tree: unknown gclass 'Tikker'" \
    "did you mean 'Ticker'?" "registered gclasses: " "GTimer" -- "$GSERVE" -c "$TMP/gc.json"

# Tree nodes.
printf '{"tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer"}]}}' >"$TMP/noname.json"
usage_error "node without name" "$TMP/noname.json: tree.children[0] (GTimer): missing 'name'" -- \
    "$GSERVE" -c "$TMP/noname.json"
printf '{"tree": {"gclass": "Ticker", "name": "t", "kids": []}}' >"$TMP/nodekey.json"
usage_error "unknown node key" "$TMP/nodekey.json: tree: unknown key 'kids'" -- \
    "$GSERVE" -c "$TMP/nodekey.json"
printf '{"tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer", "name": "a"}, {"gclass": "GTimer", "name": "a"}]}}' >"$TMP/dupname.json"
usage_error "duplicate sibling names" "tree.children[1]: duplicate name 'a' (also tree.children[0])" -- \
    "$GSERVE" -c "$TMP/dupname.json"

# Attributes: unknown (with near names), not configurable, wrong type.
printf '{"tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer", "name": "tm", "attrs": {"mse": 20}}]}}' >"$TMP/attr.json"
usage_error "unknown attribute" "$TMP/attr.json: tree.children[0].attrs.mse: unknown attribute 'mse' of GTimer" \
    "did you mean 'msec'?" "attributes of GTimer: msec, periodic" -- "$GSERVE" -c "$TMP/attr.json"
printf '{"tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer", "name": "tm", "attrs": {"msec": "fast"}}]}}' >"$TMP/type.json"
usage_error "wrong type" "$TMP/type.json: tree.children[0].attrs.msec: wrong type for attribute 'msec' of GTimer: expected an integer, got a string" -- \
    "$GSERVE" -c "$TMP/type.json"
printf '{"tree": {"gclass": "Ticker", "name": "t", "attrs": {"count": 3}}}' >"$TMP/stats.json"
usage_error "statistic attribute" "attribute 'count' of Ticker is a statistic and cannot be configured" -- \
    "$GSERVE" -c "$TMP/stats.json"
printf '{"global": {"GTimer.msc": 5}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/global.json"
usage_error "unknown attribute in global" "$TMP/global.json: global 'GTimer.msc': unknown attribute 'msc' of GTimer" \
    "did you mean 'msec'?" -- "$GSERVE" -c "$TMP/global.json"
printf '{"global": {"GTimer.periodic": 1}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/gtype.json"
usage_error "wrong type in global" "global 'GTimer.periodic': wrong type for attribute 'periodic' of GTimer: expected a boolean, got an integer" -- \
    "$GSERVE" -c "$TMP/gtype.json"
printf '{"global": {"nobody.msec": 5}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/gname.json"
usage_error "global for no gobj" "global 'nobody.msec': no gclass and no gobj of the tree is named 'nobody'" -- \
    "$GSERVE" -c "$TMP/gname.json"
printf '{"global": {"msec": 5}, "tree": {"gclass": "Ticker", "name": "t"}}' >"$TMP/gkey.json"
usage_error "global key without dot" "global key 'msec' must be GClass.attr or name.attr" -- \
    "$GSERVE" -c "$TMP/gkey.json"

# Missing required attribute (Probe.id is REQUIRED).
printf '{"tree": {"gclass": "Probe", "name": "p"}}' >"$TMP/req.json"
usage_error "missing required attribute" "$TMP/req.json: tree (Probe 'p'): missing required attribute 'id'" -- \
    "$PROBE" -c "$TMP/req.json"
# ... which "global" may give instead.
run 0 "$PROBE" -c "$TMP/req.json" -s Probe.id=7 --check && pass "required attribute from -s GClass.attr"
printf '{"global": {"p.id": 3}, "tree": {"gclass": "Probe", "name": "p"}}' >"$TMP/req2.json"
run 0 "$PROBE" -c "$TMP/req2.json" --check && pass "required attribute from global name.attr"

# -s: syntax, target, attribute, value.
usage_error "-s without =" "bad -s 'timer.msec': expected NAME.attr=VALUE or GClass.attr=VALUE" -- \
    "$GSERVE" -c "$TICKER" -s timer.msec
usage_error "-s without dot" "bad -s 'msec=5'" -- "$GSERVE" -c "$TICKER" -s msec=5
usage_error "-s with empty attribute" "bad -s 'timer.=5'" -- "$GSERVE" -c "$TICKER" -s timer.=5
usage_error "-s unknown attribute" "-s 'timer.mse=5': unknown attribute 'mse' of GTimer" \
    "did you mean 'msec'?" -- "$GSERVE" -c "$TICKER" -s timer.mse=5
usage_error "-s wrong type" "-s 'timer.msec=soon': wrong type for attribute 'msec' of GTimer: expected an integer, got 'soon'" -- \
    "$GSERVE" -c "$TICKER" -s timer.msec=soon
usage_error "-s bad boolean" "expected a boolean, got 'maybe'" -- "$GSERVE" -c "$TICKER" -s GTimer.periodic=maybe
usage_error "-s unknown target" "-s 'timr.msec=5': no gclass and no gobj of the tree is named 'timr'" \
    "did you mean 'timer'?" -- "$GSERVE" -c "$TICKER" -s timr.msec=5
usage_error "-s statistic" "attribute 'n_timeouts' of GTimer is a statistic" -- \
    "$GSERVE" -c "$TICKER" -s timer.n_timeouts=5

# Names that -s and --trace could never reach: '=' splits -s, ':' splits
# --trace.
printf '{"tree": {"gclass": "Ticker", "name": "t", "children": [{"gclass": "GTimer", "name": "a=b"}]}}' >"$TMP/eqname.json"
usage_error "node name with =" "$TMP/eqname.json: tree.children[0] (GTimer): 'name' must not contain '='" -- \
    "$GSERVE" -c "$TMP/eqname.json" --check
printf '{"tree": {"gclass": "Ticker", "name": "t:x"}}' >"$TMP/colname.json"
usage_error "node name with :" "$TMP/colname.json: tree (Ticker): 'name' must not contain ':'" -- \
    "$GSERVE" -c "$TMP/colname.json" --check

# -c reads at most 16 MiB: a bigger file (or an endless one) is refused,
# naming it, before it can eat the memory.
if command -v truncate >/dev/null 2>&1; then
    truncate -s 17M "$TMP/big.json"
    usage_error "config file over 16 MiB" "cannot read config file '$TMP/big.json': larger than 16 MiB" -- \
        "$GSERVE" -c "$TMP/big.json" --check
fi
if [ -r /dev/zero ]; then
    usage_error "endless config file" "cannot read config file '/dev/zero': larger than 16 MiB" -- \
        "$GSERVE" -c /dev/zero --check
fi

# --trace: no empty level, and a name must be a gclass or a gobj of the tree.
usage_error "--trace ','" "--trace ',': empty trace level" -- "$GSERVE" -c "$TICKER" --trace ,
usage_error "--trace 'machine,'" "--trace 'machine,': empty trace level" -- \
    "$GSERVE" -c "$TICKER" --trace machine,
usage_error "--trace typo of a gclass" "--trace 'Gsock:traffic': no gclass and no gobj of the tree is named 'Gsock'" \
    "did you mean 'GSock'?" -- "$GSERVE" -c "$TICKER" --trace Gsock:traffic --check
usage_error "--trace typo of a gobj" "--trace 'tickr.timer:machine': no gclass and no gobj of the tree is named 'tickr.timer'" \
    "did you mean 'ticker.timer'?" -- "$GSERVE" -c "$TICKER" --trace tickr.timer:machine --check
# ... while a gobj created at run time under a gobj of the tree is allowed.
run 0 "$GSERVE" --trace echo.server.clisrv_1:traffic --check && pass "--trace a run-time gobj"
run 0 "$GSERVE" -c "$TICKER" --trace timer:machine --trace GTimer:all --check && pass "--trace a short name and a gclass"

# A short-name global checked against every gobj it names, not only the first
# 16: here the 17th "x" is a Ticker, which has no msec (the run would fail).
{
    printf '{"global": {"x.msec": 5}, "tree": {"gclass": "Ticker", "name": "t", "children": ['
    i=0
    while [ $i -lt 17 ]; do
        gc=GTimer
        [ $i -eq 16 ] && gc=Ticker
        [ $i -gt 0 ] && printf ', '
        printf '{"gclass": "Ticker", "name": "p%d", "children": [{"gclass": "%s", "name": "x"}]}' $i $gc
        i=$((i + 1))
    done
    printf ']}}\n'
} >"$TMP/many_x.json"
usage_error "--check: a short-name global on all its gobjs" "global 'x.msec': unknown attribute 'msec' of Ticker" -- \
    "$GSERVE" -c "$TMP/many_x.json" --check

# Values a gclass checks itself (mt_check), found before anything is created:
# a GSock framing name, and what a GServerSock gives its GSocks and sessions.
printf '{"tree": {"gclass": "GSock", "name": "s", "attrs": {"framing": "length", "length_bytes": 3}}}' \
    >"$TMP/lenbytes.json"
usage_error "--check: GSock length_bytes" "$TMP/lenbytes.json: tree (GSock 's'):" \
    "GSock attribute 'length_bytes' is 3: expected 1, 2, 4 or 8" -- \
    "$GSERVE" -c "$TMP/lenbytes.json" --check
usage_error "--check: gsock_attrs framing" "(GServerSock 'server'): gsock_attrs:" \
    "'framing' is \"frames\"" -- "$GSERVE" -s 'server.gsock_attrs={"framing": "frames"}' --check
usage_error "--check: a GSock.framing global reaches the server's GSocks" \
    "(GServerSock 'server'): gsock_attrs:" "'framing' is \"frames\"" -- \
    "$GSERVE" -s GSock.framing=frames --check
usage_error "--check: gsock_attrs unknown attribute" \
    "gsock_attrs: unknown attribute 'framming' of GSock" -- \
    "$GSERVE" -s 'server.gsock_attrs={"framming": "line"}' --check
usage_error "--check: session_gclass not registered" \
    "(GServerSock 'server'): session_gclass 'EchoSession' is not a registered gclass" -- \
    "$GSERVE" -s server.session_gclass=EchoSession --check
usage_error "run: session_gclass not registered" \
    "(GServerSock 'server'): session_gclass 'EchoSession' is not a registered gclass" -- \
    "$GSERVE" -s server.session_gclass=EchoSession -s server.port=0

# No bad input leaves anything behind (gapp_probe exits 3 if it does).
for args in "-c $TMP/syntax.json" "-c $TMP/nope.json" "-c $TMP/top.json" "-c $TMP/gc.json" \
    "-c $TMP/attr.json" "-c $TMP/type.json" "-c $TMP/req.json" "-c $TMP/global.json" \
    "-s timer.msec" "-s p.idd=1" "-s p.id=x" "--bogus" "--trace x:y" "--trace ," \
    "--trace Prob:all" "-c $TMP/eqname.json" "-c /dev/zero" "-c $TMP/lenbytes.json"; do
    # shellcheck disable=SC2086
    run 2 "$PROBE" $args && lines "$TMP/err" 1 && pass "probe $args: exit 2, nothing left"
done

finish
