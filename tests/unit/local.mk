## Unit tests: one program per feature, each linked against libginsfsm.
## Every area's fragment adds its own programs to check_PROGRAMS, TESTS and
## UNIT_TESTS with += .
EXTRA_DIST += tests/unit/testlib.h

## The exported symbols are exactly the public headers' declarations.
dist_check_SCRIPTS += tests/check_exports.sh
TESTS += tests/check_exports.sh

## The docs match the code: a card and a current diagram for every gclass,
## the manual's example is doc/example/blink.c, and every relative link and
## #anchor of README.md and doc/**/*.md resolves (tests/check_links.py).
dist_check_SCRIPTS += tests/check_docs.sh
EXTRA_DIST += tests/check_links.py
TESTS += tests/check_docs.sh

## The manual's complete example program is built and run as a test.
check_PROGRAMS += doc/example/blink
TESTS += doc/example/blink
UNIT_TESTS += doc/example/blink
doc_example_blink_SOURCES = doc/example/blink.c
doc_example_blink_LDADD = $(TESTLIBS)
doc_example_blink_LDFLAGS = $(TESTLINKFLAGS)
