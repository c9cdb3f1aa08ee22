## make bench: speed, measured (never part of make check).
noinst_PROGRAMS += bench/dispatch
bench_dispatch_SOURCES = bench/dispatch.c
bench_dispatch_LDADD = $(TESTLIBS)
bench_dispatch_LDFLAGS = $(TESTLINKFLAGS)
EXTRA_DIST += bench/run

bench: bench/dispatch
	$(srcdir)/bench/run $(abs_top_builddir) $(abs_top_srcdir)
.PHONY: bench
