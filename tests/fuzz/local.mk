## tests/fuzz: libFuzzer harnesses (doc/fuzzing.md).
##
## Without --enable-fuzzers each harness is linked with replay.c instead of
## libFuzzer, and make check runs it once over its seed corpus
## (tests/fuzz/corpus/<harness>/): the corpus is a regression test under
## gcc, the sanitizer build and valgrind.  With --enable-fuzzers (clang) the
## same sources are linked with -fsanitize=fuzzer and make fuzz runs each
## harness for FUZZ_SECONDS.
FUZZ_HARNESSES = tests/fuzz/fuzz_config tests/fuzz/fuzz_gsock_bytes
FUZZ_SECONDS = 60

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h \
	samples/c_echo.c samples/c_echo.h samples/c_ticker.c samples/c_ticker.h
tests_fuzz_fuzz_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/samples
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_fuzz_fuzz_config_LDADD = $(TESTLIBS)
tests_fuzz_fuzz_gsock_bytes_SOURCES = tests/fuzz/fuzz_gsock_bytes.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_gsock_bytes_CPPFLAGS = $(AM_CPPFLAGS)
tests_fuzz_fuzz_gsock_bytes_CFLAGS = $(AM_CFLAGS) $(TESTWARNFLAGS)
tests_fuzz_fuzz_gsock_bytes_LDADD = $(TESTLIBS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/crashers tests/fuzz/fuzz_config.dict doc/fuzzing.md

if FUZZERS
noinst_PROGRAMS += $(FUZZ_HARNESSES)
tests_fuzz_fuzz_config_LDFLAGS = $(TESTLINKFLAGS) $(FUZZER_LDFLAGS)
tests_fuzz_fuzz_gsock_bytes_LDFLAGS = $(TESTLINKFLAGS) $(FUZZER_LDFLAGS)

## make fuzz: each harness for FUZZ_SECONDS on one core, starting from (and
## adding to) a copy of its seed corpus in tests/fuzz/work/<harness>/.  A
## crash leaves its input in tests/fuzz/work/ and fails the target.  A small
## ASan quarantine triples the rate (freed memory is reused instead of
## faulted in afresh); ASAN_OPTIONS from the environment wins.
FUZZ_ASAN_OPTIONS = quarantine_size_mb=8:max_malloc_fill_size=0
fuzz-libfuzzer: $(FUZZ_HARNESSES)
	@failed=0; \
	for h in $(FUZZ_HARNESSES); do \
	  name=$${h##*/}; name=$${name#fuzz_}; \
	  work=tests/fuzz/work/$$name; mkdir -p $$work; \
	  cp -n $(srcdir)/tests/fuzz/corpus/$$name/* $$work/ 2>/dev/null; \
	  dict=; test -f $(srcdir)/tests/fuzz/$${h##*/}.dict && dict=-dict=$(srcdir)/tests/fuzz/$${h##*/}.dict; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s (corpus $$work)"; \
	  if ASAN_OPTIONS=$${ASAN_OPTIONS:-$(FUZZ_ASAN_OPTIONS)} \
	     ./$$h -max_total_time=$(FUZZ_SECONDS) -timeout=60 -print_final_stats=1 \
	       -artifact_prefix=tests/fuzz/work/$$name- $$dict $$work \
	       >tests/fuzz/work/$$name.log 2>&1; then \
	    runs=`sed -n 's/^stat::number_of_executed_units: *//p' tests/fuzz/work/$$name.log`; \
	    echo "PASS: fuzz $$name: $$runs executions clean (log tests/fuzz/work/$$name.log)"; \
	  else \
	    echo "FAIL: fuzz $$name (see tests/fuzz/work/$$name.log and the crash-* input there)"; \
	    tail -n 40 tests/fuzz/work/$$name.log; failed=$$((failed+1)); \
	  fi; \
	done; \
	test $$failed -eq 0
else
check_PROGRAMS += $(FUZZ_HARNESSES)
TESTS += $(FUZZ_HARNESSES)
UNIT_TESTS += $(FUZZ_HARNESSES)
tests_fuzz_fuzz_config_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_config_CPPFLAGS += -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/config"'
tests_fuzz_fuzz_config_LDFLAGS = $(TESTLINKFLAGS)
tests_fuzz_fuzz_gsock_bytes_SOURCES += tests/fuzz/replay.c
tests_fuzz_fuzz_gsock_bytes_CPPFLAGS += \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/gsock_bytes"'
tests_fuzz_fuzz_gsock_bytes_LDFLAGS = $(TESTLINKFLAGS)

## Not an error: make fuzz may have other parts that run under any compiler.
fuzz-libfuzzer:
	@echo "fuzz: libFuzzer harnesses skipped: they need ./configure --enable-fuzzers (clang; doc/fuzzing.md)"
endif
CLEANFILES += tests/fuzz/*.valgrind.log

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/work

.PHONY: fuzz-libfuzzer clean-fuzz
