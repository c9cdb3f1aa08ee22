## make bench: speed, measured (never part of make check).
noinst_PROGRAMS += bench/dispatch
bench_dispatch_SOURCES = bench/dispatch.c
bench_dispatch_LDADD = $(TESTLIBS)
bench_dispatch_LDFLAGS = $(TESTLINKFLAGS)

## The echo benchmarks: a load generator and the two servers gserve's echo is
## measured against.  None of them uses the library: the load generator must
## share nothing with what it measures, and the baselines are what a user
## would write without us (plain libevent) and the practical limit (raw
## epoll).
noinst_PROGRAMS += bench/loadgen bench/baseline_libevent bench/baseline_epoll
bench_loadgen_SOURCES = bench/loadgen.c bench/loadgen_modes.c bench/loadgen.h bench/loadgen_util.h
bench_loadgen_CFLAGS = $(AM_CFLAGS) -pthread
bench_loadgen_LDFLAGS = -pthread
bench_baseline_libevent_SOURCES = bench/baseline_libevent.c bench/baseline.h
bench_baseline_libevent_LDADD = $(LIBEVENT_LIBS)
bench_baseline_epoll_SOURCES = bench/baseline_epoll.c bench/baseline_epoll_loop.h bench/baseline.h
EXTRA_DIST += bench/run bench/run-line.sh bench/run-proxy.sh

BENCH_DEPS = bench/dispatch bench/loadgen bench/baseline_libevent bench/baseline_epoll \
	samples/gserve
bench: $(BENCH_DEPS)
	$(srcdir)/bench/run $(abs_top_builddir) $(abs_top_srcdir)
.PHONY: bench

## TLS echo: the same comparison with TLS on both servers (loadgen --tls);
## the baseline is plain libevent with bufferevent_openssl.
noinst_PROGRAMS += bench/baseline_libevent_tls
bench_baseline_libevent_tls_SOURCES = bench/baseline_libevent_tls.c bench/baseline.h
bench_baseline_libevent_tls_LDADD = $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
bench_loadgen_LDADD = $(OPENSSL_LIBS)
BENCH_DEPS += bench/baseline_libevent_tls

## Raw epoll + OpenSSL: the practical TLS limit, as baseline_epoll is for
## plain TCP.
noinst_PROGRAMS += bench/baseline_epoll_tls
bench_baseline_epoll_tls_SOURCES = bench/baseline_epoll_tls.c bench/baseline.h
bench_baseline_epoll_tls_LDADD = $(OPENSSL_LIBS)
BENCH_DEPS += bench/baseline_epoll_tls

## libuv, two ways: as libuv's guide writes an echo server (a fresh buffer
## per read) and as a performance-minded user does (pooled buffers,
## uv_try_write first).  Built only when configure found libuv; without it
## bench/run reports their columns as n/a.
if HAVE_LIBUV
noinst_PROGRAMS += bench/baseline_libuv_guide bench/baseline_libuv_pool
bench_baseline_libuv_guide_SOURCES = bench/baseline_libuv_guide.c bench/baseline.h
bench_baseline_libuv_guide_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
bench_baseline_libuv_guide_LDADD = $(LIBUV_LIBS)
bench_baseline_libuv_pool_SOURCES = bench/baseline_libuv_pool.c bench/baseline.h
bench_baseline_libuv_pool_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
bench_baseline_libuv_pool_LDADD = $(LIBUV_LIBS)
BENCH_DEPS += bench/baseline_libuv_guide bench/baseline_libuv_pool
endif

## Line protocols: a line echo (gserve's echo with line framing) against a
## raw epoll line-echo server, and the chat sample's fan-out, driven by a
## load generator of their own (bench/loadgen_line, one thread, every line
## checked).
noinst_PROGRAMS += bench/loadgen_line bench/baseline_epoll_line
bench_loadgen_line_SOURCES = bench/loadgen_line.c bench/loadgen_util.h
bench_baseline_epoll_line_SOURCES = bench/baseline_epoll_line.c bench/baseline_epoll_loop.h bench/baseline.h
BENCH_DEPS += bench/loadgen_line bench/baseline_epoll_line

## The TCP proxy (BENCH_CASES=proxy100, bench/run-proxy.sh): bench/loadgen
## to baseline_epoll directly, through gserve with samples/tcp-proxy.json
## and through HAProxy when it is installed; nothing more to build.
