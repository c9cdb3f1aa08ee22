## gobjs/connex.mk: GConnex, the client that stays connected (fragment of the
## top Makefile.am).
libginsfsm_la_SOURCES += \
	gobjs/connex.h \
	gobjs/c_connex.c \
	gobjs/connex_conf.c

## Against GServerSock listeners on loopback (port 0) and closed ports.
check_PROGRAMS += tests/unit/test_connex
UNIT_TESTS += tests/unit/test_connex
TESTS += tests/unit/test_connex
tests_unit_test_connex_SOURCES = tests/unit/test_connex.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_connex_CPPFLAGS = $(AM_CPPFLAGS) -DOPENSSL_BIN='"$(OPENSSL_BIN)"'
tests_unit_test_connex_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_connex_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_connex_LDFLAGS = $(TESTLINKFLAGS)

EXTRA_DIST += doc/gclasses/GConnex.md doc/gclasses/GConnex.dot doc/gclasses/GConnex.svg
