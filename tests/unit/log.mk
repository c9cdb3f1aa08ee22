## tests/unit: rules of this area (fragment of the top Makefile.am).

## test_log: the logging half of log.h (levels, record layout, TEXT and JSON
## lines, escaping, collisions, capture hook, ownership of the values).
check_PROGRAMS += tests/unit/test_log
UNIT_TESTS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c tests/unit/testlib.h
tests_unit_test_log_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_log_LDADD = $(TESTLIBS)
tests_unit_test_log_LDFLAGS = $(TESTLINKFLAGS)
