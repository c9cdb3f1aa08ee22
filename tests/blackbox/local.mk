## Black-box tests: shell scripts that drive samples/gserve exactly as a user
## would from the shell, plus gapp_probe, a program built on gapp_main() whose
## Probe gclass fails on request and which checks that nothing is left alive.
BLACKBOX_TESTS = \
	tests/blackbox/cli.sh \
	tests/blackbox/config_errors.sh \
	tests/blackbox/print_config.sh \
	tests/blackbox/check.sh \
	tests/blackbox/dot.sh \
	tests/blackbox/signals.sh \
	tests/blackbox/ticks.sh \
	tests/blackbox/json_log.sh \
	tests/blackbox/start_failure.sh \
	tests/blackbox/valgrind.sh
TESTS += $(BLACKBOX_TESTS)
dist_check_SCRIPTS += $(BLACKBOX_TESTS)
EXTRA_DIST += tests/blackbox/lib.sh

check_PROGRAMS += tests/blackbox/gapp_probe
tests_blackbox_gapp_probe_SOURCES = tests/blackbox/gapp_probe.c \
	samples/c_ticker.c samples/c_ticker.h
tests_blackbox_gapp_probe_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_blackbox_gapp_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples
tests_blackbox_gapp_probe_LDADD = $(TESTLIBS)
tests_blackbox_gapp_probe_LDFLAGS = $(TESTLINKFLAGS)

## The scripts learn the tools configure found (each is "no" when missing).
AM_TESTS_ENVIRONMENT += VALGRIND='$(VALGRIND)' DOT='$(DOT)' PYTHON3='$(PYTHON3)'; \
	export VALGRIND DOT PYTHON3;
## valgrind cannot run programs built with AddressSanitizer (which checks
## leaks by itself): valgrind.sh skips in such a build.
if SANITIZERS
AM_TESTS_ENVIRONMENT += GINSFSM_SANITIZERS=yes; export GINSFSM_SANITIZERS;
endif

## The control socket and gctl (tests/blackbox/ctl_client.py: raw clients).
TESTS += tests/blackbox/control.sh
dist_check_SCRIPTS += tests/blackbox/control.sh
EXTRA_DIST += tests/blackbox/ctl_client.py
