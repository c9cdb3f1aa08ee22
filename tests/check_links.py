#!/usr/bin/env python3
"""Check the relative links of Markdown files.

Usage: check_links.py [--root DIR] [FILE.md ...]

Without files it checks README.md and every doc/**/*.md under the root
(default: the current directory).  For every relative link or image,
inline ([text](target)) or by reference ([name]: target):
- the file or directory it names must exist;
- a #anchor must match a heading of the target Markdown file (or of the
  file itself for a bare #anchor) by GitHub's rule: the heading's text in
  lower case, punctuation removed, each space a '-', and "-1", "-2", ...
  appended to repeated anchors; an HTML id="..." or name="..." also counts.
Links with a scheme (https:, mailto:, ...) are not checked.  Fenced code
blocks and inline code spans are not links.  Prints one line per broken
link (file:line: target: why) and exits 1 if there is any, else 0.
"""
import os
import re
import sys
import glob

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HTML_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
MD_LINK_TEXT = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def prose_lines(text):
    """Yield (line number, line) outside fenced code blocks."""
    fence = None
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                continue
            yield n, line
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                and not line.strip()[len(m.group(1)):].strip():
            fence = None


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = MD_LINK_TEXT.sub(r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchors = {}


def anchors(path):
    """Every anchor a Markdown file defines."""
    if path in _anchors:
        return _anchors[path]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found, seen = set(), {}
    for _, line in prose_lines(text):
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else "%s-%d" % (base, n))
        for a in HTML_ID.findall(line):
            found.add(a)
    _anchors[path] = found
    return found


def links(text):
    """Yield (line number, target) for every link outside code."""
    for n, line in prose_lines(text):
        line = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        for m in INLINE_LINK.finditer(line):
            yield n, m.group(1)
        for m in REF_DEF.finditer(line):
            yield n, m.group(1)


def check(path, root):
    broken = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    here = os.path.dirname(path)
    shown = os.path.relpath(path, root)
    for n, target in links(text):
        target = target.strip("<>")
        if SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(here, file_part)) if file_part else path
        if not os.path.exists(dest):
            broken.append("%s:%d: %s: no such file %s" % (shown, n, target,
                                                          os.path.relpath(dest, root)))
            continue
        if not anchor:
            continue
        if os.path.isdir(dest) or not dest.endswith(".md"):
            broken.append("%s:%d: %s: an anchor into a file that is not Markdown" %
                          (shown, n, target))
            continue
        if anchor not in anchors(dest):
            broken.append("%s:%d: %s: %s has no heading with anchor #%s" %
                          (shown, n, target, os.path.relpath(dest, root), anchor))
    return broken


def main(argv):
    root = "."
    if len(argv) >= 2 and argv[0] == "--root":
        root, argv = argv[1], argv[2:]
    files = argv or sorted(
        [os.path.join(root, "README.md")] +
        glob.glob(os.path.join(root, "doc", "**", "*.md"), recursive=True))
    broken, nlinks = [], 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            nlinks += sum(1 for _ in links(f.read()))
        broken += check(path, root)
    for b in broken:
        print("FAIL: broken link: " + b)
    print("check_links: %d files, %d links, %d broken" %
          (len(files), nlinks, len(broken)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
