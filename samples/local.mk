## samples: the application runner (it is part of the library but has its
## home here with gserve, its first user), gserve and the sample gclasses.
libginsfsm_la_SOURCES += lib/app.c lib/app_config.c lib/app_globals.c lib/app_check.c lib/app_run.c lib/app_internal.h
libginsfsm_la_SOURCES += lib/app_control.c lib/app_control_cmds.c lib/app_control.h
ginsfsminclude_HEADERS += include/ginsfsm/app.h

bin_PROGRAMS += samples/gserve
bin_PROGRAMS += samples/gctl
samples_gctl_SOURCES = samples/gctl.c
samples_gctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
samples_gctl_LDADD = $(JANSSON_LIBS)
samples_gserve_SOURCES = samples/gserve.c samples/c_ticker.c samples/c_ticker.h \
	samples/c_echo.c samples/c_echo.h samples/c_chat.c samples/c_chat.h \
	samples/c_proxy.c samples/c_proxy.h \
	samples/c_echo_client.c samples/c_echo_client.h samples/rtt_hist.c samples/rtt_hist.h
nodist_samples_gserve_SOURCES = samples/gserve_default.c
samples_gserve_LDADD = libginsfsm.la $(JANSSON_LIBS)
EXTRA_DIST += samples/ticker.json samples/echo.json samples/echo-unix.json samples/echo-dual.json
EXTRA_DIST += samples/echo-tls.json samples/echo-length.json samples/chat.json
EXTRA_DIST += samples/tcp-proxy.json
EXTRA_DIST += samples/echo-client.json

## The echo client's round-trip histogram, a module of its own with its own
## unit test.
check_PROGRAMS += tests/unit/test_rtt_hist
UNIT_TESTS += tests/unit/test_rtt_hist
TESTS += tests/unit/test_rtt_hist
tests_unit_test_rtt_hist_SOURCES = tests/unit/test_rtt_hist.c tests/unit/testlib.h \
	samples/rtt_hist.c samples/rtt_hist.h
tests_unit_test_rtt_hist_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_rtt_hist_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples
tests_unit_test_rtt_hist_LDADD = $(TESTLIBS)
tests_unit_test_rtt_hist_LDFLAGS = $(TESTLINKFLAGS)

## EchoClient in one process: against Echo, against a server the test
## drives (the matching rules), nothing listening, stop, bad attributes.
check_PROGRAMS += tests/unit/test_echo_client
UNIT_TESTS += tests/unit/test_echo_client
TESTS += tests/unit/test_echo_client
tests_unit_test_echo_client_SOURCES = tests/unit/test_echo_client.c tests/unit/testlib.h \
	tests/unit/socktest.h samples/c_echo_client.c samples/c_echo_client.h \
	samples/c_echo.c samples/c_echo.h samples/rtt_hist.c samples/rtt_hist.h
tests_unit_test_echo_client_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_unit_test_echo_client_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples
tests_unit_test_echo_client_LDADD = $(TESTLIBS) -lpthread
tests_unit_test_echo_client_LDFLAGS = $(TESTLINKFLAGS)
CLEANFILES += samples/gserve_default.c

## The configuration gserve runs when no -c is given.  The file itself is
## compiled in, as a NUL-terminated array of bytes, so that the default and
## the sample file cannot drift apart; its name labels error messages.  od and
## sed are POSIX (xxd is not always installed).
GSERVE_DEFAULT_CONFIG = samples/echo.json
samples/gserve_default.c: $(srcdir)/$(GSERVE_DEFAULT_CONFIG) $(srcdir)/samples/local.mk
	$(AM_V_GEN)$(MKDIR_P) samples && { \
	  echo '/* Generated from $(GSERVE_DEFAULT_CONFIG) by samples/local.mk: do not edit. */'; \
	  echo 'extern const char gserve_default_config[], gserve_default_config_name[];'; \
	  echo 'const char gserve_default_config_name[] = "$(GSERVE_DEFAULT_CONFIG) (built in)";'; \
	  echo 'const char gserve_default_config[] = {'; \
	  od -An -v -tx1 $(srcdir)/$(GSERVE_DEFAULT_CONFIG) | \
	    $(SED) -e 's/[0-9a-f][0-9a-f]/0x&,/g'; \
	  echo '0x00};'; \
	} >$@.tmp && mv $@.tmp $@
