## gobjs: rules of this area (fragment of the top Makefile.am).
## The event loop (lib/loop.c, its timers in lib/loop_timer.c and its name
## resolver in lib/loop_dns.c: the only lib/ files that touch libevent) and the built-in gclasses, one per file,
## registered by gobjs/builtins.c.
libginsfsm_la_SOURCES += \
	lib/loop.c \
	lib/loop_timer.h \
	lib/loop_timer.c \
	lib/loop_dns.h \
	lib/loop_dns.c \
	gobjs/c_timer.c \
	gobjs/builtins.c

ginsfsminclude_HEADERS += include/ginsfsm/loop.h include/ginsfsm/gobjs.h

check_PROGRAMS += tests/unit/test_loop
UNIT_TESTS += tests/unit/test_loop
TESTS += tests/unit/test_loop
tests_unit_test_loop_SOURCES = tests/unit/test_loop.c tests/unit/testlib.h
tests_unit_test_loop_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_loop_LDADD = $(TESTLIBS)
tests_unit_test_loop_LDFLAGS = $(TESTLINKFLAGS)

check_PROGRAMS += tests/unit/test_timer
UNIT_TESTS += tests/unit/test_timer
TESTS += tests/unit/test_timer
tests_unit_test_timer_SOURCES = tests/unit/test_timer.c tests/unit/testlib.h
tests_unit_test_timer_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_timer_LDADD = $(TESTLIBS)
tests_unit_test_timer_LDFLAGS = $(TESTLINKFLAGS)


