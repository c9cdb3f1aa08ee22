#!/bin/sh
# The documentation says what the code does:
# - every gclass gserve knows has a card doc/gclasses/NAME.md;
# - the committed diagram doc/gclasses/NAME.dot is what `gserve --dot NAME`
#   prints today (regenerate with `make doc` in an in-tree build);
# - the manual's complete example (chapter 15, doc/manual-example.md today) is
#   doc/example/blink.c, verbatim;
# - every relative link and #anchor of README.md and doc/**/*.md resolves
#   (tests/check_links.py; skipped when there is no python3).
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

# The last C block of the manual's chapter 15, whichever file holds it, is the
# example program.
example_md=$(grep -l '^## 15\. A complete example$' "$top_srcdir"/doc/manual*.md | head -n 1)
if [ -z "$example_md" ]; then
    echo "FAIL: no doc/manual*.md has the heading '## 15. A complete example'"
    fails=$((fails + 1))
else
    awk '/^```c$/ {n++; buf=""; inblk=1; next} /^```$/ {if (inblk) last=buf; inblk=0; next}
         inblk {buf = buf $0 "\n"} END {printf "%s", last}' "$example_md" >"$tmp/example.c"
    if ! cmp -s "$tmp/example.c" "$top_srcdir/doc/example/blink.c"; then
        echo "FAIL: the example in doc/$(basename "$example_md") differs from doc/example/blink.c"
        diff "$top_srcdir/doc/example/blink.c" "$tmp/example.c" | head -20
        fails=$((fails + 1))
    fi
fi

# Every relative link of the docs names a file that exists, and every #anchor
# a heading of that file.
python=${PYTHON3:-python3}
if command -v "$python" >/dev/null 2>&1; then
    if ! "$python" "$top_srcdir/tests/check_links.py" --root "$top_srcdir"; then
        fails=$((fails + 1))
    fi
else
    echo "check_docs: $python not found: links not checked"
fi

[ "$fails" -eq 0 ] && echo "check_docs: cards, diagrams, the manual's example and the links are current"
[ "$fails" -eq 0 ]
