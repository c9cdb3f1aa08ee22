## tests/unit: rules of this area (fragment of the top Makefile.am).
## The runtime core's contracts other than dispatch: publish/subscribe,
## attributes, the lifecycle and the tree, the post queue, error codes.

check_PROGRAMS += tests/unit/test_pubsub tests/unit/test_attrs tests/unit/test_lifecycle \
	tests/unit/test_post tests/unit/test_errors
UNIT_TESTS += tests/unit/test_pubsub tests/unit/test_attrs tests/unit/test_lifecycle \
	tests/unit/test_post tests/unit/test_errors
TESTS += tests/unit/test_pubsub tests/unit/test_attrs tests/unit/test_lifecycle \
	tests/unit/test_post tests/unit/test_errors

tests_unit_test_pubsub_SOURCES = tests/unit/test_pubsub.c tests/unit/testlib.h
tests_unit_test_pubsub_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_pubsub_LDADD = $(TESTLIBS)
tests_unit_test_pubsub_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c tests/unit/testlib.h
tests_unit_test_attrs_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_attrs_LDADD = $(TESTLIBS)
tests_unit_test_attrs_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_lifecycle_SOURCES = tests/unit/test_lifecycle.c tests/unit/testlib.h
tests_unit_test_lifecycle_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_lifecycle_LDADD = $(TESTLIBS)
tests_unit_test_lifecycle_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_post_SOURCES = tests/unit/test_post.c tests/unit/testlib.h
tests_unit_test_post_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_post_LDADD = $(TESTLIBS)
tests_unit_test_post_LDFLAGS = $(TESTLINKFLAGS)

tests_unit_test_errors_SOURCES = tests/unit/test_errors.c tests/unit/testlib.h
tests_unit_test_errors_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_errors_LDADD = $(TESTLIBS)
tests_unit_test_errors_LDFLAGS = $(TESTLINKFLAGS)

## Rule 9: destruction during public calls made from outside any dispatch.
check_PROGRAMS += tests/unit/test_outside
UNIT_TESTS += tests/unit/test_outside
TESTS += tests/unit/test_outside
tests_unit_test_outside_SOURCES = tests/unit/test_outside.c tests/unit/testlib.h
tests_unit_test_outside_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_outside_LDADD = $(TESTLIBS)
tests_unit_test_outside_LDFLAGS = $(TESTLINKFLAGS)

## mt_tree_started and gobj_hook_state.
check_PROGRAMS += tests/unit/test_tree_started
UNIT_TESTS += tests/unit/test_tree_started
TESTS += tests/unit/test_tree_started
tests_unit_test_tree_started_SOURCES = tests/unit/test_tree_started.c tests/unit/testlib.h
tests_unit_test_tree_started_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_tree_started_LDADD = $(TESTLIBS)
tests_unit_test_tree_started_LDFLAGS = $(TESTLINKFLAGS)

## gclass_check_attrs and mt_check: attributes checked without a create.
check_PROGRAMS += tests/unit/test_check_attrs
UNIT_TESTS += tests/unit/test_check_attrs
TESTS += tests/unit/test_check_attrs
tests_unit_test_check_attrs_SOURCES = tests/unit/test_check_attrs.c tests/unit/testlib.h
tests_unit_test_check_attrs_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_check_attrs_LDADD = $(TESTLIBS)
tests_unit_test_check_attrs_LDFLAGS = $(TESTLINKFLAGS)
