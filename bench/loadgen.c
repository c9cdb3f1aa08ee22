/*
 * loadgen.c - the load generator behind make bench (bench/run).
 *
 *   loadgen --mode echo     N connections ping-pong S-byte messages for T s
 *                           after a warm-up of W s (or exactly --count
 *                           messages): msgs/s, MB/s, p50/p99 latency.
 *   loadgen --mode connect  K workers connect, send S bytes, read them back
 *                           and close, in a loop: connections/s.
 *   loadgen --mode idle     hold N connections, then echo once on each:
 *                           how many were held and echoed, and with --pid the
 *                           server's RSS per held connection.
 *   loadgen --mode freeport print a free TCP port on --host and exit.
 *   --pid2 PID              (echo mode) a second process whose CPU is
 *                           reported too, as pid2_cpu_*: the upstream
 *                           echo when --pid is a proxy in front of it.
 *   --tls                   (echo mode) every connection speaks TLS: the
 *                           handshake is done before the warm-up, then each
 *                           message is one SSL_write; the server's
 *                           certificate is not verified (it is a load
 *                           generator, not a client to trust).
 *
 * Every echoed byte is checked against what was sent; a mismatch is a hard
 * error (exit status 1).  Results are one line of key=value pairs on stdout
 * (for scripts) followed by one line for people, starting with "# ".
 *
 * Plain C with libc, pthreads and epoll (and OpenSSL for --tls): the load
 * generator must not share any code, allocator or event loop with the
 * servers it measures.
 */
#include "loadgen.h"

struct options opt = {
    .mode = MODE_ECHO,
    .host = "127.0.0.1",
    .port = -1,
    .conns = -1,
    .size = 64,
    .duration = 5.0,
    .warmup = 1.0,
    .threads = 1,
    .workers = 8,
    .count = 0,
    .pid = 0,
    .pid2 = 0,
    .source = 0x7f000002u,
};

struct target tgt;
uint8_t *pattern;
size_t msg_size;

_Atomic int g_phase;
atomic_llong g_budget;
atomic_int g_failed;
pthread_mutex_t g_error_lock = PTHREAD_MUTEX_INITIALIZER;
char g_error[512];

/* Records the first hard error and stops every worker; later errors are
 * usually consequences of the first and would only hide it. */
void fail(const char *fmt, ...)
{
    pthread_mutex_lock(&g_error_lock);
    if (!atomic_load(&g_failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_error, sizeof g_error, fmt, ap);
        va_end(ap);
        atomic_store(&g_failed, 1);
    }
    pthread_mutex_unlock(&g_error_lock);
    atomic_store(&g_phase, PHASE_STOP);
}

void hist_add(uint64_t *hist, uint64_t v)
{
    unsigned idx;
    if (v < HIST_SUB) {
        idx = (unsigned)v;
    } else {
        unsigned msb = 63u - (unsigned)__builtin_clzll(v);
        unsigned shift = msb - HIST_SUB_BITS;
        idx = HIST_SUB + shift * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
    }
    hist[idx]++;
}

/* The middle of bucket idx, in nanoseconds. */
static double hist_value(unsigned idx)
{
    if (idx < HIST_SUB)
        return idx;
    unsigned shift = (idx - HIST_SUB) / HIST_SUB;
    double m = (idx - HIST_SUB) % HIST_SUB + HIST_SUB;
    return (m + 0.5) * (double)(1ull << shift);
}

double hist_percentile(const uint64_t *hist, double p)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        total += hist[i];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(p * (double)total);
    if (rank >= total)
        rank = total - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > rank)
            return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Sleeps up to s seconds, waking early when a worker fails. */
void sleep_unless_failed(double s)
{
    uint64_t end = now_ns() + (uint64_t)(s * 1e9);
    while (!atomic_load(&g_failed)) {
        uint64_t t = now_ns();
        if (t >= end)
            break;
        double left = (double)(end - t) / 1e9;
        sleep_s(left < 0.05 ? left : 0.05);
    }
}

static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fprintf(stderr, "loadgen: warning: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
    }
}

const char *target_name(char *buf, size_t len)
{
    if (!tgt.is_tcp)
        snprintf(buf, len, "unix:%s", opt.path);
    else if (strchr(opt.host, ':'))
        snprintf(buf, len, "[%s]:%ld", opt.host, opt.port);
    else
        snprintf(buf, len, "%s:%ld", opt.host, opt.port);
    return buf;
}

static int resolve_target(void)
{
    memset(&tgt, 0, sizeof tgt);
    if (opt.path) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&tgt.addr;
        if (strlen(opt.path) >= sizeof sun->sun_path) {
            fprintf(stderr, "loadgen: --path is longer than %zu bytes\n", sizeof sun->sun_path - 1);
            return -1;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, opt.path);
        tgt.addrlen = sizeof *sun;
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    char port[24];
    snprintf(port, sizeof port, "%ld", opt.port < 0 ? 0 : opt.port);
    int rc = getaddrinfo(opt.host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "loadgen: cannot resolve --host %s: %s\n", opt.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&tgt.addr, res->ai_addr, res->ai_addrlen);
    tgt.addrlen = res->ai_addrlen;
    tgt.is_tcp = true;
    freeaddrinfo(res);
    return 0;
}

/*
 * Opens one blocking connection with IO_TIMEOUT_S on connect, send and
 * receive.  src, when given, is the IPv4 source address (port chosen by the
 * kernel at connect time, so that each source address has its own range of
 * ephemeral ports).  Returns the descriptor or -errno.
 */
int open_conn(const struct sockaddr_in *src)
{
    int fd = socket(tgt.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (tgt.is_tcp) {
        /* Ping-pong must not wait for Nagle: one message, one segment. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (src) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)src, sizeof *src) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    while (connect(fd, (const struct sockaddr *)&tgt.addr, tgt.addrlen) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Why a connect failed, in words: a blocking connect that times out
 * reports EINPROGRESS, which would only confuse. */
const char *connect_error_text(int err)
{
    static _Thread_local char buf[128];
    if (err == -EAGAIN || err == -EINPROGRESS || err == -ETIMEDOUT)
        snprintf(buf, sizeof buf, "no answer within %d s", IO_TIMEOUT_S);
    else if (err == -EADDRNOTAVAIL)
        snprintf(buf, sizeof buf, "%s (ephemeral ports used up, e.g. by TIME_WAIT)",
                 strerror(-err));
    else
        snprintf(buf, sizeof buf, "%s", strerror(-err));
    return buf;
}

void connect_error(int err)
{
    char name[160];
    fprintf(stderr, "loadgen: cannot connect to %s: %s\n", target_name(name, sizeof name),
            connect_error_text(err));
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Whether the target is IPv4 loopback, where every 127.x.y.z is ours and
 * can serve as a source address with its own ephemeral ports. */
bool target_is_loopback4(void)
{
    return tgt.is_tcp && tgt.addr.ss_family == AF_INET &&
           (ntohl(((struct sockaddr_in *)&tgt.addr)->sin_addr.s_addr) >> 24) == 127;
}

/* Message msgno of connection id starts here in the pattern. */
const uint8_t *message_bytes(uint32_t id, uint64_t msgno)
{
    return pattern + (id * 17u + msgno) % PATTERN_SHIFTS;
}

/* Points out the first differing byte, for an error a person can act on. */
static void report_mismatch(const struct conn *c, const uint8_t *got, size_t n)
{
    size_t i = 0;
    while (i < n && got[i] == c->msg[c->recvd + i])
        i++;
    fail("connection %u, message %llu: byte %zu is 0x%02x, expected 0x%02x", c->id,
         (unsigned long long)c->msgno, c->recvd + i, got[i], c->msg[c->recvd + i]);
}

static int set_events(struct worker *w, struct conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fail("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    c->want_out = out;
    return 0;
}

/* Drops a connection the server closed; only idle mode tolerates that. */
static void conn_lost(struct worker *w, struct conn *c, const char *why)
{
    if (!w->one_shot) {
        fail("connection %u: %s after %llu messages", c->id, why, (unsigned long long)c->msgno);
        return;
    }
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->busy) {
        c->busy = false;
        w->active--;
    }
    w->lost++;
}

/* --tls: one SSL_write or SSL_read as a send/recv would report it (-1 with
 * errno EAGAIN when OpenSSL waits for the socket, ECONNRESET when the
 * session failed, 0 at the peer's close). */
static ssize_t tls_io(struct conn *c, void *buf, size_t n, bool out)
{
    int r = out ? SSL_write(c->ssl, buf, (int)n) : SSL_read(c->ssl, buf, (int)n);
    if (r > 0)
        return r;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
}

static void pump_send(struct worker *w, struct conn *c)
{
    while (c->sent < msg_size) {
        ssize_t n = c->ssl ? tls_io(c, (void *)(c->msg + c->sent), msg_size - c->sent, true)
                           : send(c->fd, c->msg + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                set_events(w, c, true);
            return;
        } else {
            conn_lost(w, c, n < 0 ? strerror(errno) : "send returned 0");
            return;
        }
    }
    if (c->want_out)
        set_events(w, c, false);
}

static void start_message(struct worker *w, struct conn *c)
{
    if (opt.count > 0 && atomic_fetch_sub(&g_budget, 1) <= 0) {
        c->busy = false;
        return;
    }
    c->msg = message_bytes(c->id, c->msgno);
    c->sent = 0;
    c->recvd = 0;
    c->busy = true;
    w->active++;
    c->t0 = now_ns();
    pump_send(w, c);
}

static void on_readable(struct worker *w, struct conn *c)
{
    size_t want = c->busy ? msg_size - c->recvd : 1;
    ssize_t n = c->ssl ? tls_io(c, w->rbuf, want, false) : recv(c->fd, w->rbuf, want, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_lost(w, c, strerror(errno));
        return;
    }
    if (n == 0) {
        conn_lost(w, c, "server closed the connection");
        return;
    }
    if (!c->busy) {
        fail("connection %u: %zd bytes arrived with no message outstanding", c->id, n);
        return;
    }
    if (memcmp(w->rbuf, c->msg + c->recvd, (size_t)n) != 0) {
        report_mismatch(c, w->rbuf, (size_t)n);
        return;
    }
    c->recvd += (size_t)n;
    if (c->recvd < msg_size)
        return;

    uint64_t t = now_ns();
    c->busy = false;
    w->active--;
    if (atomic_load_explicit(&g_phase, memory_order_relaxed) == PHASE_MEASURE) {
        w->msgs++;
        w->bytes += msg_size;
        hist_add(w->hist, t - c->t0);
    }
    c->msgno++;
    if (!w->one_shot && atomic_load_explicit(&g_phase, memory_order_relaxed) != PHASE_STOP)
        start_message(w, c);
}

/* Runs the worker's connections until the phase says stop, every message
 * is done (count and idle modes), or the deadline passes (0: none). */
void worker_run(struct worker *w, uint64_t deadline)
{
    struct epoll_event evs[256];
    for (size_t i = 0; i < w->nconns; i++)
        start_message(w, &w->conns[i]);
    while (atomic_load_explicit(&g_phase, memory_order_relaxed) != PHASE_STOP) {
        if (w->active == 0 && (w->one_shot || opt.count > 0))
            break;
        if (deadline && now_ns() >= deadline)
            break;
        int n = epoll_wait(w->epfd, evs, 256, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                on_readable(w, c);
                /* Bytes OpenSSL already took off the socket get no epoll
                 * event of their own. */
                while (c->fd >= 0 && c->ssl && SSL_pending(c->ssl) > 0 && !atomic_load(&g_failed))
                    on_readable(w, c);
            }
            if (c->fd >= 0 && (evs[i].events & EPOLLOUT) && c->busy)
                pump_send(w, c);
        }
    }
}

static void *worker_main(void *arg)
{
    worker_run(arg, 0);
    return NULL;
}

int worker_init(struct worker *w, struct conn *conns, size_t n)
{
    w->conns = conns;
    w->nconns = n;
    w->rbuf = malloc(msg_size);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!w->rbuf || w->epfd < 0) {
        fprintf(stderr, "loadgen: cannot set up a worker: %s\n", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (set_nonblocking(conns[i].fd) < 0 ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) {
            fprintf(stderr, "loadgen: cannot watch a connection: %s\n", strerror(errno));
            return -1;
        }
    }
    return 0;
}

void worker_fini(struct worker *w)
{
    if (w->epfd >= 0)
        close(w->epfd);
    free(w->rbuf);
}

void close_conns(struct conn *conns, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        SSL_free(conns[i].ssl);
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    }
}

/* --tls: the handshake on the blocking socket (IO_TIMEOUT_S bounds it). */
static SSL *tls_connect(SSL_CTX *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        fprintf(stderr, "loadgen: TLS handshake failed: %s\n", err);
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

int report_failure(void)
{
    fprintf(stderr, "loadgen: %s\n", g_error);
    return 1;
}

/* The server's share of one CPU and its CPU time per operation between two
 * readings; tells a server at its limit from one waiting for the load
 * generator. */
void print_server_cpu(int64_t c0, int64_t c1, double secs, uint64_t ops, const char *per)
{
    if (!opt.pid)
        return;
    if (c0 < 0 || c1 < 0 || ops == 0)
        printf(" server_cpu_pct=n/a server_cpu_us_per_%s=n/a", per);
    else
        printf(" server_cpu_pct=%.1f server_cpu_us_per_%s=%.3f", (double)(c1 - c0) / secs / 1e7,
               per, (double)(c1 - c0) / 1e3 / (double)ops);
}

static int run_echo(void)
{
    size_t nconns = (size_t)opt.conns;
    size_t nthreads = (size_t)opt.threads;
    if (nthreads > nconns)
        nthreads = nconns;
    struct conn *conns = calloc(nconns, sizeof *conns);
    struct worker *ws = calloc(nthreads, sizeof *ws);
    int rc = 2;
    size_t opened = 0, started = 0;
    SSL_CTX *ctx = NULL;
    if (!conns || !ws) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nthreads; i++)
        ws[i].epfd = -1;
    if (opt.tls && !(ctx = SSL_CTX_new(TLS_client_method()))) {
        fprintf(stderr, "loadgen: cannot create a TLS context\n");
        goto out;
    }
    for (; opened < nconns; opened++) {
        int fd = open_conn(NULL);
        if (fd < 0) {
            connect_error(fd);
            goto out;
        }
        conns[opened].fd = fd;
        conns[opened].id = (uint32_t)opened;
        if (ctx && !(conns[opened].ssl = tls_connect(ctx, fd))) {
            opened++;
            goto out;
        }
    }

    /* Worker i drives a contiguous share of the connections. */
    for (size_t i = 0, first = 0; i < nthreads; i++) {
        size_t n = nconns / nthreads + (i < nconns % nthreads);
        if (worker_init(&ws[i], conns + first, n) < 0)
            goto out;
        first += n;
    }

    atomic_store(&g_budget, opt.count);
    atomic_store(&g_phase, opt.count > 0 ? PHASE_MEASURE : PHASE_WARMUP);
    int64_t c0 = opt.pid ? read_cpu_ns(opt.pid) : -1, c1 = -1;
    int64_t d0 = opt.pid2 ? read_cpu_ns(opt.pid2) : -1, d1 = -1;
    uint64_t t0 = now_ns(), t1 = 0;
    for (; started < nthreads; started++) {
        int e = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
        if (e) {
            fail("pthread_create: %s", strerror(e));
            break;
        }
    }
    if (opt.count == 0 && !atomic_load(&g_failed)) {
        sleep_unless_failed(opt.warmup);
        c0 = opt.pid ? read_cpu_ns(opt.pid) : -1;
        d0 = opt.pid2 ? read_cpu_ns(opt.pid2) : -1;
        t0 = now_ns();
        atomic_store(&g_phase, PHASE_MEASURE);
        sleep_unless_failed(opt.duration);
        atomic_store(&g_phase, PHASE_STOP);
        t1 = now_ns();
        c1 = opt.pid ? read_cpu_ns(opt.pid) : -1;
        d1 = opt.pid2 ? read_cpu_ns(opt.pid2) : -1;
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    if (opt.count > 0) {
        t1 = now_ns();
        c1 = opt.pid ? read_cpu_ns(opt.pid) : -1;
        d1 = opt.pid2 ? read_cpu_ns(opt.pid2) : -1;
    }
    started = 0;
    if (atomic_load(&g_failed)) {
        rc = report_failure();
        goto out;
    }

    uint64_t msgs = 0, bytes = 0;
    for (size_t i = 0; i < nthreads; i++) {
        msgs += ws[i].msgs;
        bytes += ws[i].bytes;
        if (i > 0)
            for (unsigned b = 0; b < HIST_BUCKETS; b++)
                ws[0].hist[b] += ws[i].hist[b];
    }
    double secs = (double)(t1 - t0) / 1e9;
    double p50 = hist_percentile(ws[0].hist, 0.50) / 1e3;
    double p99 = hist_percentile(ws[0].hist, 0.99) / 1e3;
    printf("mode=echo conns=%zu size=%zu threads=%zu duration_s=%.3f msgs=%llu "
           "msgs_per_s=%.0f mb_per_s=%.2f p50_us=%.1f p99_us=%.1f",
           nconns, msg_size, nthreads, secs, (unsigned long long)msgs, (double)msgs / secs,
           (double)bytes / secs / 1e6, p50, p99);
    print_server_cpu(c0, c1, secs, msgs, "msg");
    if (opt.pid2) {
        if (d0 < 0 || d1 < 0 || msgs == 0)
            printf(" pid2_cpu_pct=n/a pid2_cpu_us_per_msg=n/a");
        else
            printf(" pid2_cpu_pct=%.1f pid2_cpu_us_per_msg=%.3f", (double)(d1 - d0) / secs / 1e7,
                   (double)(d1 - d0) / 1e3 / (double)msgs);
    }
    printf("\n");
    printf("# echo: %zu conns x %zu B: %.0f msgs/s, %.2f MB/s each way, latency p50 %.1f us, "
           "p99 %.1f us (%llu messages in %.2f s, all verified)\n",
           nconns, msg_size, (double)msgs / secs, (double)bytes / secs / 1e6, p50, p99,
           (unsigned long long)msgs, secs);
    rc = 0;
out:
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    if (ws)
        for (size_t i = 0; i < nthreads; i++)
            worker_fini(&ws[i]);
    if (conns)
        close_conns(conns, opened);
    SSL_CTX_free(ctx);
    free(conns);
    free(ws);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen --mode MODE [options]\n"
               "  --mode echo|connect|idle|freeport\n"
               "  --host ADDR       server address (default 127.0.0.1)\n"
               "  --port N          server port (required except with --path and freeport)\n"
               "  --path PATH       connect to a unix socket instead\n"
               "  --conns N         connections (echo: default 1; idle: default 10000)\n"
               "  --size BYTES      message size (default 64)\n"
               "  --duration S      measured seconds (default 5; idle: seconds to hold, "
               "default 0)\n"
               "  --warmup S        seconds before measuring (default 1)\n"
               "  --threads N       echo: worker threads (default 1)\n"
               "  --workers N       connect: concurrent workers (default 8)\n"
               "  --count N         echo: send exactly N messages in all, no warm-up\n"
               "  --pid PID         the server: its CPU use (echo, connect) or its RSS per\n"
               "                    connection (idle), read from /proc\n"
               "  --pid2 PID        echo: a second process whose CPU use is reported too\n"
               "                    (pid2_cpu_*: the upstream behind a proxy)\n"
               "  --source ADDR     connect: worker i connects from ADDR + i (a 127.x address;\n"
               "                    default 127.0.0.2)\n"
               "  --tls             echo: speak TLS (the server's certificate is not checked)\n"
               "Exit status: 0 ok, 1 wrong echo or connections lost, 2 usage or setup error.\n");
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400)
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv)
{
    /* One option per line. */
    /* clang-format off */
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"conns", required_argument, NULL, 'c'},
        {"size", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"workers", required_argument, NULL, 'k'},
        {"count", required_argument, NULL, 'n'},
        {"pid", required_argument, NULL, 'i'},
        {"pid2", required_argument, NULL, 'I'},
        {"source", required_argument, NULL, 'S'},
        {"tls", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    bool duration_given = false;
    int ch, li = 0;
    long v;
    while ((ch = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'm':
            if (!strcmp(optarg, "echo"))
                opt.mode = MODE_ECHO;
            else if (!strcmp(optarg, "connect"))
                opt.mode = MODE_CONNECT;
            else if (!strcmp(optarg, "idle"))
                opt.mode = MODE_IDLE;
            else if (!strcmp(optarg, "freeport"))
                opt.mode = MODE_FREEPORT;
            else
                ok = false;
            break;
        case 'H':
            opt.host = optarg;
            break;
        case 'p':
            ok = parse_long(optarg, 0, 65535, &opt.port);
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'c':
            ok = parse_long(optarg, 1, 10000000, &opt.conns);
            break;
        case 's':
            ok = parse_long(optarg, 1, 64L << 20, &opt.size);
            break;
        case 'd':
            ok = parse_seconds(optarg, &opt.duration);
            duration_given = true;
            break;
        case 'w':
            ok = parse_seconds(optarg, &opt.warmup);
            break;
        case 't':
            ok = parse_long(optarg, 1, 1024, &opt.threads);
            break;
        case 'k':
            ok = parse_long(optarg, 1, 1024, &opt.workers);
            break;
        case 'n':
            ok = parse_long(optarg, 1, LONG_MAX, &v);
            opt.count = v;
            break;
        case 'i':
            ok = parse_long(optarg, 1, INT_MAX, &opt.pid);
            break;
        case 'I':
            ok = parse_long(optarg, 1, INT_MAX, &opt.pid2);
            break;
        case 'S': {
            struct in_addr a;
            ok = inet_pton(AF_INET, optarg, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
            opt.source = ntohl(a.s_addr);
            break;
        }
        case 'T':
            opt.tls = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "loadgen: bad value for --%s: '%s'\n", longopts[li].name, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if ((opt.source + (uint32_t)opt.workers) >> 24 != 127) {
        fprintf(stderr, "loadgen: --source plus --workers runs past 127.255.255.254\n");
        return -1;
    }
    if (opt.path && opt.mode == MODE_FREEPORT) {
        fprintf(stderr, "loadgen: --mode freeport takes --host, not --path\n");
        return -1;
    }
    if (!opt.path && opt.port < 0 && opt.mode != MODE_FREEPORT) {
        fprintf(stderr, "loadgen: --port (or --path) is required\n");
        return -1;
    }
    if (opt.mode == MODE_ECHO && opt.duration == 0 && opt.count == 0) {
        fprintf(stderr, "loadgen: --duration must be above 0 (or give --count)\n");
        return -1;
    }
    if (opt.tls && opt.mode != MODE_ECHO) {
        fprintf(stderr, "loadgen: --tls goes with --mode echo only\n");
        return -1;
    }
    if (opt.conns < 0)
        opt.conns = opt.mode == MODE_IDLE ? 10000 : 1;
    if (opt.mode == MODE_IDLE && !duration_given)
        opt.duration = 0;
    msg_size = (size_t)opt.size;
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0)
        return 2;
    /* A peer that vanishes must show up as an error from send(), not kill
     * the load generator. */
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();
    if (resolve_target() < 0)
        return 2;
    if (opt.mode == MODE_FREEPORT)
        return run_freeport();

    /* Random bytes, so that a shifted, repeated or stale echo never matches
     * by accident. */
    pattern = malloc(msg_size + PATTERN_SHIFTS);
    if (!pattern) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < msg_size + PATTERN_SHIFTS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = (uint8_t)(x >> 24);
    }

    int rc;
    switch (opt.mode) {
    case MODE_ECHO:
        rc = run_echo();
        break;
    case MODE_CONNECT:
        rc = run_connect();
        break;
    default:
        rc = run_idle();
        break;
    }
    free(pattern);
    fflush(stdout);
    return rc;
}
