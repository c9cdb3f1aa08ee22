## tests/unit: rules of this area (fragment of the top Makefile.am).
## The dispatch contract, the hierarchical-state pinning cases (the
## semantics of doc/manual.md chapter 6), and the gclass table checks.
check_PROGRAMS += tests/unit/test_fsm tests/unit/test_hsm tests/unit/test_hsm_observe \
	tests/unit/test_registration
UNIT_TESTS += tests/unit/test_fsm tests/unit/test_hsm tests/unit/test_hsm_observe \
	tests/unit/test_registration
TESTS += tests/unit/test_fsm tests/unit/test_hsm tests/unit/test_hsm_observe \
	tests/unit/test_registration

tests_unit_test_fsm_SOURCES = tests/unit/test_fsm.c tests/unit/testlib.h
tests_unit_test_fsm_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_fsm_LDADD = $(TESTLIBS)
tests_unit_test_fsm_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_hsm_SOURCES = tests/unit/test_hsm.c tests/unit/hsm_fixture.h tests/unit/testlib.h
tests_unit_test_hsm_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_hsm_LDADD = $(TESTLIBS)
tests_unit_test_hsm_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_hsm_observe_SOURCES = tests/unit/test_hsm_observe.c tests/unit/hsm_fixture.h \
	tests/unit/testlib.h
tests_unit_test_hsm_observe_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_hsm_observe_LDADD = $(TESTLIBS)
tests_unit_test_hsm_observe_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_registration_SOURCES = tests/unit/test_registration.c tests/unit/testlib.h
tests_unit_test_registration_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_registration_LDADD = $(TESTLIBS)
tests_unit_test_registration_LDFLAGS = $(TESTLINKFLAGS)

## State changes at the edges of a step (initial entry, outside the action,
## mt_create, a flat gobj destroyed by its EV_STATE_CHANGED subscriber).
check_PROGRAMS += tests/unit/test_state_edges
UNIT_TESTS += tests/unit/test_state_edges
TESTS += tests/unit/test_state_edges
tests_unit_test_state_edges_SOURCES = tests/unit/test_state_edges.c tests/unit/testlib.h
tests_unit_test_state_edges_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_state_edges_LDADD = $(TESTLIBS)
tests_unit_test_state_edges_LDFLAGS = $(TESTLINKFLAGS)
