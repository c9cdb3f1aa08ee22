/*
 * loadgen.h - what the load generator's files share (loadgen.c: the
 * options, the shared helpers and the echo mode; loadgen_modes.c: the
 * connect, idle and freeport modes).
 */
#ifndef GINSFSM_BENCH_LOADGEN_H
#define GINSFSM_BENCH_LOADGEN_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loadgen_util.h"

enum mode { MODE_ECHO, MODE_CONNECT, MODE_IDLE, MODE_FREEPORT };

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct options {
    enum mode mode;
    const char *host;
    long port;
    const char *path;
    long conns;
    long size;
    double duration;
    double warmup;
    long threads;
    long workers;
    long long count;
    long pid;
    /* Echo mode: a second process whose CPU is reported as well (the
     * upstream behind a proxy given with --pid). */
    long pid2;
    /* Connect mode: worker i connects from source + i (host order). */
    uint32_t source;
    bool tls;
};

/* Where to connect, resolved once. */
struct target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool is_tcp;
};

/*
 * Latency histogram: 64 linear sub-buckets per power of two of nanoseconds,
 * so every value is kept to within 1.6% in a fixed 30 KiB per worker, with
 * no allocation and no sorting on the hot path.
 */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  (HIST_SUB * (64 - HIST_SUB_BITS + 1))

/* Messages start at one of this many offsets into the pattern, so that
 * consecutive messages (and neighbouring connections) differ. */
#define PATTERN_SHIFTS 251

/* Connect and blocking I/O give up after this long: an unresponsive server
 * is an error, never a hang. */
#define IO_TIMEOUT_S 5

struct conn {
    int fd;
    SSL *ssl; /* --tls: the session, else NULL */
    uint32_t id;
    uint64_t msgno;
    const uint8_t *msg;
    size_t sent;
    size_t recvd;
    uint64_t t0;
    bool busy;
    bool want_out;
};

struct worker {
    pthread_t tid;
    int epfd;
    struct conn *conns;
    size_t nconns;
    size_t active;
    /* Idle mode: each connection echoes one message, and a connection the
     * server drops is counted as lost instead of failing the run. */
    bool one_shot;
    uint64_t lost;
    uint64_t msgs;
    uint64_t bytes;
    uint8_t *rbuf;
    uint64_t hist[HIST_BUCKETS];
};

extern struct options opt;
extern struct target tgt;
extern uint8_t *pattern;
extern size_t msg_size;
extern _Atomic int g_phase;
extern atomic_llong g_budget;
extern atomic_int g_failed;
extern pthread_mutex_t g_error_lock;
extern char g_error[512];

/* loadgen.c */
void close_conns(struct conn *conns, size_t n);
const char *connect_error_text(int err);
void connect_error(int err);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hist_add(uint64_t *hist, uint64_t v);
double hist_percentile(const uint64_t *hist, double p);
const uint8_t *message_bytes(uint32_t id, uint64_t msgno);
int open_conn(const struct sockaddr_in *src);
void print_server_cpu(int64_t c0, int64_t c1, double secs, uint64_t ops, const char *per);
int report_failure(void);
void sleep_s(double s);
void sleep_unless_failed(double s);
bool target_is_loopback4(void);
const char *target_name(char *buf, size_t len);
void worker_fini(struct worker *w);
int worker_init(struct worker *w, struct conn *conns, size_t n);
void worker_run(struct worker *w, uint64_t deadline);
/* loadgen_modes.c */
int run_connect(void);
int run_idle(void);
int run_freeport(void);
#endif /* GINSFSM_BENCH_LOADGEN_H */
