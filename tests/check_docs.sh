#!/bin/sh
# The documentation says what the code does:
# - every gclass gserve knows has a card doc/gclasses/NAME.md;
# - the committed diagram doc/gclasses/NAME.dot is what `gserve --dot NAME`
#   prints today (regenerate with `make doc` in an in-tree build);
# - the manual's complete example is doc/example/blink.c, verbatim.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
gserve="$top_builddir/samples/gserve"
fails=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

"$gserve" --help >"$tmp/help" 2>&1 || { echo "check_docs: gserve --help failed"; exit 99; }

for card in "$top_srcdir"/doc/gclasses/*.md; do
    name=$(basename "$card" .md)
    if ! "$gserve" --dot "$name" >"$tmp/$name.dot" 2>"$tmp/err"; then
        echo "FAIL: doc/gclasses/$name.md: gserve knows no gclass $name"
        fails=$((fails + 1))
        continue
    fi
    if ! cmp -s "$tmp/$name.dot" "$top_srcdir/doc/gclasses/$name.dot"; then
        echo "FAIL: doc/gclasses/$name.dot is missing or stale (run make doc in-tree)"
        fails=$((fails + 1))
    fi
done

# Every registered gclass has a card: the names come from the error message
# for an unknown gclass, which lists the registered ones.
"$gserve" --dot NoSuchGClass__ >/dev/null 2>"$tmp/err"
names=$(sed -n 's/.*(registered gclasses: \(.*\))$/\1/p' "$tmp/err" | tr ',' ' ')
[ -n "$names" ] || { echo "FAIL: cannot read the registered gclasses"; fails=$((fails + 1)); }
for name in $names; do
    if [ ! -f "$top_srcdir/doc/gclasses/$name.md" ]; then
        echo "FAIL: gclass $name has no card doc/gclasses/$name.md"
        fails=$((fails + 1))
    fi
done

# The last C block of the manual is the example program.
awk '/^```c$/ {n++; buf=""; inblk=1; next} /^```$/ {if (inblk) last=buf; inblk=0; next}
     inblk {buf = buf $0 "\n"} END {printf "%s", last}' "$top_srcdir/doc/manual.md" >"$tmp/example.c"
if ! cmp -s "$tmp/example.c" "$top_srcdir/doc/example/blink.c"; then
    echo "FAIL: the example in doc/manual.md differs from doc/example/blink.c"
    diff "$top_srcdir/doc/example/blink.c" "$tmp/example.c" | head -20
    fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] && echo "check_docs: cards, diagrams and the manual's example are current"
[ "$fails" -eq 0 ]
