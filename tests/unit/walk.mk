## tests/unit: rules of this area (fragment of the top Makefile.am).
## The random-walk fuzzer of the gobj API (doc/testing.md): make check runs a
## bounded set of seeds; make fuzz-walk FUZZ_SECONDS=N runs fresh seeds for N
## seconds and prints the seed and the replay command of any failure.
check_PROGRAMS += tests/unit/test_random_walk
UNIT_TESTS += tests/unit/test_random_walk
TESTS += tests/unit/test_random_walk
tests_unit_test_random_walk_SOURCES = tests/unit/test_random_walk.c tests/unit/walk_gclasses.c \
	tests/unit/walk.h tests/unit/testlib.h
tests_unit_test_random_walk_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_random_walk_LDADD = $(TESTLIBS)
tests_unit_test_random_walk_LDFLAGS = $(TESTLINKFLAGS)
EXTRA_DIST += doc/testing.md

## FUZZ_SECONDS comes from the command line (default 60).
fuzz-walk: tests/unit/test_random_walk
	secs='$(FUZZ_SECONDS)'; ./tests/unit/test_random_walk --fuzz "$${secs:-60}"

.PHONY: fuzz-walk
