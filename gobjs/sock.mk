## gobjs/sock.mk: GSock and GServerSock (fragment of the top Makefile.am).
libginsfsm_la_SOURCES += \
	gobjs/sock_internal.h \
	gobjs/c_sock.c \
	gobjs/sock_priv.h \
	gobjs/sock_io.c \
	gobjs/sock_rx.c \
	gobjs/sock_flow.c \
	gobjs/sock_handshake.c \
	gobjs/sock_attrs.c \
	gobjs/framing.h \
	gobjs/framing.c \
	gobjs/sock_connect.c \
	gobjs/sock_resolve.c \
	gobjs/sock_eyeballs.c \
	gobjs/sock_addr.c \
	gobjs/c_srv_sock.c \
	gobjs/srv_session.h \
	gobjs/srv_session.c \
	gobjs/tls.h \
	gobjs/tls.c \
	gobjs/transport.h \
	gobjs/transport_plain.c \
	gobjs/transport_tls.c \
	gobjs/linger.h \
	gobjs/linger.c

## The unit tests run a server and its clients in one process on loopback;
## some clients are plain blocking sockets in a thread.
check_PROGRAMS += tests/unit/test_sock
UNIT_TESTS += tests/unit/test_sock
TESTS += tests/unit/test_sock
## sock_addr.c is built into the test too: it checks the address formats
## (IPv6 scope ids) without a network, through a name the library hides.
tests_unit_test_sock_SOURCES = tests/unit/test_sock.c tests/unit/testlib.h tests/unit/socktest.h \
	gobjs/sock_addr.c
tests_unit_test_sock_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/gobjs
tests_unit_test_sock_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_sock_LDFLAGS = $(TESTLINKFLAGS)

check_PROGRAMS += tests/unit/test_srv_sock
UNIT_TESTS += tests/unit/test_srv_sock
TESTS += tests/unit/test_srv_sock
tests_unit_test_srv_sock_SOURCES = tests/unit/test_srv_sock.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_srv_sock_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_srv_sock_LDFLAGS = $(TESTLINKFLAGS)

EXTRA_DIST += doc/gclasses/GSock.md doc/gclasses/GSock.dot doc/gclasses/GSock.svg \
	doc/gclasses/GServerSock.md doc/gclasses/GServerSock.dot doc/gclasses/GServerSock.svg
EXTRA_DIST += doc/tls.md

## TLS: a server and a client in one process, certificates made at run time
## with the openssl command (the test skips without it).
check_PROGRAMS += tests/unit/test_tls
UNIT_TESTS += tests/unit/test_tls
TESTS += tests/unit/test_tls
tests_unit_test_tls_SOURCES = tests/unit/test_tls.c tests/unit/testlib.h tests/unit/socktest.h
tests_unit_test_tls_CPPFLAGS = $(AM_CPPFLAGS) -DOPENSSL_BIN='"$(OPENSSL_BIN)"'
tests_unit_test_tls_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_tls_LDFLAGS = $(TESTLINKFLAGS)

## Framing: the frame cutter (gobjs/framing.c, built into the test as well,
## through names the library hides) and framed GSocks on loopback.
check_PROGRAMS += tests/unit/test_framing
UNIT_TESTS += tests/unit/test_framing
TESTS += tests/unit/test_framing
tests_unit_test_framing_SOURCES = tests/unit/test_framing.c tests/unit/testlib.h \
	tests/unit/socktest.h gobjs/framing.c
tests_unit_test_framing_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/gobjs
tests_unit_test_framing_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_framing_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_framing_LDFLAGS = $(TESTLINKFLAGS)

check_PROGRAMS += tests/unit/test_sessions
UNIT_TESTS += tests/unit/test_sessions
TESTS += tests/unit/test_sessions
tests_unit_test_sessions_SOURCES = tests/unit/test_sessions.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_sessions_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_sessions_LDFLAGS = $(TESTLINKFLAGS)
tests_unit_test_sessions_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)

## How sessions end (TLS handshake failures, a session destroying its GSock)
## and a hierarchical session gclass.
check_PROGRAMS += tests/unit/test_session_ends
UNIT_TESTS += tests/unit/test_session_ends
TESTS += tests/unit/test_session_ends
tests_unit_test_session_ends_SOURCES = tests/unit/test_session_ends.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_session_ends_CPPFLAGS = $(AM_CPPFLAGS) -DOPENSSL_BIN='"$(OPENSSL_BIN)"'
tests_unit_test_session_ends_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_session_ends_LDFLAGS = $(TESTLINKFLAGS)
tests_unit_test_session_ends_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)

## Rule 15 of the dispatch contract on GSock, plain and TLS: no output event
## inside the subscriber's own call (certificates made at run time; the TLS
## cases are skipped without the openssl command).
check_PROGRAMS += tests/unit/test_sock_reentry
UNIT_TESTS += tests/unit/test_sock_reentry
TESTS += tests/unit/test_sock_reentry
tests_unit_test_sock_reentry_SOURCES = tests/unit/test_sock_reentry.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_sock_reentry_CPPFLAGS = $(AM_CPPFLAGS) -DOPENSSL_BIN='"$(OPENSSL_BIN)"'
tests_unit_test_sock_reentry_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_sock_reentry_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_sock_reentry_LDFLAGS = $(TESTLINKFLAGS)

## Name resolution of GSock clients on the loop (evdns): name servers that
## are UDP sockets of the test on loopback (silent, or answering NXDOMAIN).
check_PROGRAMS += tests/unit/test_resolve
UNIT_TESTS += tests/unit/test_resolve
TESTS += tests/unit/test_resolve
tests_unit_test_resolve_SOURCES = tests/unit/test_resolve.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_resolve_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_resolve_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_resolve_LDFLAGS = $(TESTLINKFLAGS)

## Happy Eyeballs: a name answered by the test's own name server with ::1
## and 127.0.0.1, listeners on both (one silent: its backlog full).
check_PROGRAMS += tests/unit/test_eyeballs
UNIT_TESTS += tests/unit/test_eyeballs
TESTS += tests/unit/test_eyeballs
tests_unit_test_eyeballs_SOURCES = tests/unit/test_eyeballs.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_eyeballs_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_eyeballs_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_eyeballs_LDFLAGS = $(TESTLINKFLAGS)

check_PROGRAMS += tests/unit/test_sock_flow
UNIT_TESTS += tests/unit/test_sock_flow
TESTS += tests/unit/test_sock_flow
tests_unit_test_sock_flow_SOURCES = tests/unit/test_sock_flow.c tests/unit/testlib.h \
	tests/unit/socktest.h
tests_unit_test_sock_flow_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_sock_flow_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_sock_flow_LDFLAGS = $(TESTLINKFLAGS)
