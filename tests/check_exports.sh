#!/bin/sh
# The shared library exports exactly the documented API: every function and
# every event/state declared in include/ginsfsm/*.h, and nothing else.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
lib="$top_builddir/.libs/libginsfsm.so"
if [ ! -f "$lib" ]; then
    echo "check_exports: $lib not built (static-only build): skipped"
    exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Declared: functions (not static inline) and names made with GOBJ_DECLARE_*.
for h in "$top_srcdir"/include/ginsfsm/*.h; do
    # Join each declaration onto one line, then keep "name(" at the top level.
    sed -e 's://.*$::' "$h" |
        awk '/^[ \t]*#/ {next} {printf "%s ", $0} /;|\{/ {print ""}' |
        grep -v 'static inline' | grep -v 'typedef' |
        sed -n 's/.*[ *]\(g[a-z]*_[a-z0-9_]*\)(.*/\1/p'
    sed -n 's/^GOBJ_DECLARE_\(EVENT\|STATE\)(\([A-Za-z0-9_]*\)).*/\2/p' "$h"
done | sort -u >"$tmp/declared"

nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^_' | sort -u >"$tmp/exported"

if ! diff -u "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
    echo "check_exports: exported symbols differ from the public headers"
    echo "  (- declared but not exported, + exported but not declared)"
    grep '^[-+][^-+]' "$tmp/diff"
    exit 1
fi
echo "check_exports: $(wc -l <"$tmp/exported") symbols, all declared"
