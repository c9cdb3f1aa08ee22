#!/bin/sh
# The command line itself: --version, --help, and bad usage (exit 2, one
# message on stderr naming the problem).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

# --version and -V: program and library versions, on stdout.
for opt in --version -V; do
    if run 0 "$GSERVE" $opt; then
        if grep -E -q '^gserve [0-9]+\.[0-9]+\.[0-9]+ \(ginsfsm [0-9]+\.[0-9]+\.[0-9]+\)$' "$TMP/out"; then
            pass "$opt"
        else
            fail "$opt printed: $(cat "$TMP/out")"
        fi
        lines "$TMP/err" 0
    fi
done

# A program built on gapp_main shows its own name and version.
if run 0 "$PROBE" --version; then
    contains "$TMP/out" "gapp_probe 9.9.9-probe (ginsfsm " && pass "gapp_t name and version"
fi

# --help: every option, the config shape, the gclasses, an example.
if run 0 "$GSERVE" --help; then
    before=$FAILS
    for text in "-c, --config FILE" "-s, --set KEY=VALUE" "--check" "--print-config" \
        "--log-format" "--log-level" "--trace SPEC" "--dot GCLASS" "--version" "--help" \
        '"name"' '"shutdown_timeout"' '"log"' '"global"' '"tree"' '"gclass"' '"attrs"' \
        '"children"' "GClass.attr" "name.attr" "Registered gclasses:" "GTimer" "Ticker" \
        "Examples:" "gserve -c app.json --check" "Exit status:" "SIGTERM"; do
        contains "$TMP/out" "$text"
    done
    lines "$TMP/err" 0
    [ "$FAILS" -eq "$before" ] && pass "--help content"
fi
run 0 "$GSERVE" -h && contains "$TMP/out" "Usage: gserve" && pass "-h"

usage_error "unknown long option" "unknown option '--bogus'" "gserve --help" -- \
    "$GSERVE" --bogus
usage_error "unknown short option" "unknown option '-x'" -- "$GSERVE" -x
usage_error "unknown option among good ones" "unknown option '--chek'" -- \
    "$GSERVE" --check --chek
usage_error "positional argument" "unexpected argument 'ticker.json'" -- \
    "$GSERVE" ticker.json
usage_error "missing option argument" "option '-c' needs an argument (FILE)" -- \
    "$GSERVE" -c
usage_error "missing --dot argument" "option '--dot' needs an argument (GCLASS)" -- \
    "$GSERVE" --dot
usage_error "flag given a value" "option '--check' takes no argument" -- \
    "$GSERVE" --check=yes
usage_error "bad --log-format" "--log-format: unknown format 'xml'" "text or json" -- \
    "$GSERVE" --log-format xml --check
usage_error "bad --log-level" "--log-level: unknown level 'loud'" -- \
    "$GSERVE" --log-level=loud --check
usage_error "bad --trace level" "--trace 'GTimer:machin'" "unknown trace level 'machin'" \
    "did you mean 'machine'?" -- "$GSERVE" --trace GTimer:machin --check
usage_error "empty --trace level" "--trace 'GTimer:'" "no trace level" -- \
    "$GSERVE" --trace GTimer: --check
usage_error "--dot of an unknown gclass" "--dot: unknown gclass 'GTimr'" \
    "did you mean 'GTimer'?" "registered gclasses: " -- "$GSERVE" --dot GTimr

# Both spellings of an option argument work.
run 0 "$GSERVE" --log-level=debug --log-format=json --config="$top_srcdir/samples/ticker.json" \
    --check && pass "--opt=VALUE"
run 0 "$GSERVE" "-c$top_srcdir/samples/ticker.json" --check && pass "-cVALUE"

# gapp_main() can be called again and again in one process (an in-process
# fuzzer does): each call ends with nothing alive and the same status, for a
# check, a bad config and a whole run ended by gapp_shutdown().
printf '{"tree": {"gclass": "Probe", "name": "p", "attrs": {"id": 1}, "children": [{"gclass": "GTimer", "name": "t"}]}}' >"$TMP/rep.json"
run 0 env GAPP_PROBE_REPEAT=50 "$PROBE" -c "$TMP/rep.json" --check -s GTimer.msec=5 --trace t:machine &&
    pass "gapp_main 50 times: --check"
run 2 env GAPP_PROBE_REPEAT=50 "$PROBE" -c "$TMP/rep.json" --check -s GTimer.mse=5 &&
    pass "gapp_main 50 times: bad config"
printf '{"tree": {"gclass": "Probe", "name": "p", "attrs": {"id": 1, "shutdown": "gapp_shutdown", "shutdown_status": 4}}}' >"$TMP/rep_run.json"
run 4 env GAPP_PROBE_REPEAT=5 "$PROBE" -c "$TMP/rep_run.json" && pass "gapp_main 5 times: a whole run"

finish
