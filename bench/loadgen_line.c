/*
 * loadgen_line.c - the load generator for make bench's line protocols
 * (bench/run): a line echo and a chat fan-out.
 *
 *   loadgen_line --mode line-echo    N connections (default 100) each keep
 *                                    --depth 64-byte lines in flight, sent
 *                                    --batch lines per write (so a server
 *                                    finds several lines in one read); every
 *                                    echoed line is checked byte for byte.
 *                                    Lines/s.
 *   loadgen_line --mode chat-fanout  N clients (default 100) join a chat
 *                                    server (samples/chat.json: the first
 *                                    line is the nick, answered "OK <nick>";
 *                                    then each line L from N reaches every
 *                                    other client as "N: L") and each keeps
 *                                    at most --depth of its lines not yet
 *                                    delivered to all the others, so that no
 *                                    client's queue on the server grows past
 *                                    --depth x N deliveries (a few tens of
 *                                    KiB): nobody is a slow consumer.  Every
 *                                    delivery is checked (format, sender,
 *                                    text, and per-sender order); after the
 *                                    run the load generator waits until
 *                                    every line has reached every other
 *                                    client.  Lines/s and deliveries/s.
 *
 * Both measure for --duration s after --warmup s; with --pid the server's CPU
 * time over that interval (as bench/loadgen measures it) gives its CPU per
 * line or per delivery.  A wrong byte, a delivery out of order or a lost
 * connection is a hard error (exit status 1).  A delivery the server
 * skipped (a chat server dropping messages to a slow client) is not an
 * error but is reported as missing=N.  Results are one line of key=value
 * pairs on stdout (for scripts) and one line for people starting with "# ".
 *
 * Plain C with libc and epoll, one thread: nothing shared with the servers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "loadgen_util.h"

/* A line: LINE_LEN bytes of text, then "\n" (64 bytes in all). */
#define LINE_LEN  63
#define NICK_LEN  6                         /* "u00042" */
#define DELIVERY  (NICK_LEN + 2 + LINE_LEN) /* "u00042: " + line */
#define RBUF_SIZE 65536
#define MAX_DEPTH 1024
/* Connect, join and the final drain give up after this long. */
#define IO_TIMEOUT_S 5

enum mode { MODE_LINE_ECHO, MODE_CHAT };

static struct {
    enum mode mode;
    const char *host;
    long port;
    long conns;
    long depth;
    long batch;
    double duration;
    double warmup;
    long pid;
} opt = {.host = "127.0.0.1",
         .port = -1,
         .conns = 100,
         .depth = 0,
         .batch = 8,
         .duration = 4,
         .warmup = 1};

struct conn {
    int fd;
    uint32_t id;
    uint64_t sent; /* lines written (or queued in out) */
    uint64_t done; /* line echo: lines echoed; chat: own lines delivered to all */
    size_t in_pos; /* line echo: bytes of the current line already checked */
    char *in;      /* chat: a delivery cut by the end of a read */
    size_t in_len;
    char *out; /* bytes the socket did not take */
    size_t out_off, out_len, out_cap;
    bool want_out;
    uint16_t *cnt; /* chat: deliveries of each line in flight, by seq % depth */
};

static struct conn *conns;
static size_t nconns;
static int epfd = -1;
static bool measuring, sending = true;
static uint64_t m_lines, m_deliveries, missing;
/* Chat: deliveries received since the start, warm-up and drain included. */
static uint64_t all_deliveries;
static uint64_t *rseq; /* chat: [receiver * n + sender] the next seq expected */
static char rbuf[RBUF_SIZE];
static char g_error[512];

static void fail(const char *fmt, ...)
{
    if (g_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

/* Writes v as exactly w decimal digits. */
static void put_digits(char *p, uint64_t v, int w)
{
    for (int i = w - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
}

/* Line seq of connection id: "IIIII SSSSSSSSSS " and letters that depend on
 * both, so that consecutive lines and neighbouring connections differ. */
static void make_line(char *p, uint32_t id, uint64_t seq)
{
    put_digits(p, id % 100000, 5);
    p[5] = ' ';
    put_digits(p + 6, seq % 10000000000ull, 10);
    p[16] = ' ';
    unsigned k = (unsigned)((id * 7u + seq * 13u) % 26u);
    for (int i = 17; i < LINE_LEN; i++)
        p[i] = (char)('a' + (k + (unsigned)i) % 26u);
}

static int out_append(struct conn *c, const char *data, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            fail("out of memory");
            return -1;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

static void set_want_out(struct conn *c, bool want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        fail("epoll_ctl: %s", strerror(errno));
    c->want_out = want;
}

/* Writes what is queued; what the socket does not take waits for EPOLLOUT. */
static void flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w > 0) {
            c->out_off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_want_out(c, true);
            return;
        } else {
            fail("connection %u: write: %s", c->id, w < 0 ? strerror(errno) : "wrote nothing");
            return;
        }
    }
    set_want_out(c, false);
}

/* Sends lines while fewer than --depth are in flight, --batch per write in
 * line echo (all that fit in chat). */
static void top_up(struct conn *c)
{
    size_t batch = opt.mode == MODE_LINE_ECHO ? (size_t)opt.batch : (size_t)opt.depth;
    char buf[MAX_DEPTH * (LINE_LEN + 1)];
    while (sending && !g_error[0]) {
        size_t room = (size_t)opt.depth - (size_t)(c->sent - c->done), n = 0;
        if (room < batch && !(opt.mode == MODE_CHAT && room > 0))
            break;
        for (; n < batch && n < room; n++) {
            make_line(buf + n * (LINE_LEN + 1), c->id, c->sent + n);
            buf[n * (LINE_LEN + 1) + LINE_LEN] = '\n';
        }
        if (opt.mode == MODE_CHAT)
            for (size_t i = 0; i < n; i++)
                c->cnt[(c->sent + i) % (uint64_t)opt.depth] = 0;
        c->sent += n;
        if (measuring && opt.mode == MODE_CHAT)
            m_lines += n;
        if (out_append(c, buf, n * (LINE_LEN + 1)) < 0)
            return;
        if (!c->want_out)
            flush_out(c);
    }
}

/* Line echo: checks n bytes read against the lines sent, in order. */
static void check_echo(struct conn *c, const char *p, size_t n)
{
    char line[LINE_LEN + 1];
    while (n > 0) {
        size_t take = LINE_LEN + 1 - c->in_pos;
        if (take > n)
            take = n;
        if (c->done >= c->sent) {
            fail("connection %u: more bytes echoed than sent", c->id);
            return;
        }
        make_line(line, c->id, c->done);
        line[LINE_LEN] = '\n';
        if (memcmp(p, line + c->in_pos, take) != 0) {
            fail("connection %u: line %llu: echoed bytes %zu..%zu differ from those sent", c->id,
                 (unsigned long long)c->done, c->in_pos, c->in_pos + take - 1);
            return;
        }
        p += take;
        n -= take;
        c->in_pos += take;
        if (c->in_pos == LINE_LEN + 1) {
            c->in_pos = 0;
            c->done++;
            if (measuring)
                m_lines++;
        }
    }
}

/* Chat: line seq of sender s has reached one more client. */
static void delivered(struct conn *s, uint64_t seq)
{
    s->cnt[seq % (uint64_t)opt.depth]++;
    bool more = false;
    while (s->done < s->sent && s->cnt[s->done % (uint64_t)opt.depth] == nconns - 1) {
        s->done++;
        more = true;
    }
    if (more)
        top_up(s);
}

static long parse_nick(const char *p)
{
    if (p[0] != 'u')
        return -1;
    long v = 0;
    for (int i = 1; i < NICK_LEN; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Chat: one delivery "uNNNNN: line" (without "\n") received by r. */
static void check_delivery(struct conn *r, const char *p, size_t n)
{
    char line[LINE_LEN];
    long s = n == DELIVERY && p[NICK_LEN] == ':' && p[NICK_LEN + 1] == ' ' ? parse_nick(p) : -1;
    if (s < 0 || (size_t)s >= nconns || (uint32_t)s == r->id) {
        fail("client %u: not a delivery from another client: '%.*s'", r->id, (int)(n > 80 ? 80 : n),
             p);
        return;
    }
    struct conn *sc = &conns[s];
    uint64_t *next = &rseq[(size_t)r->id * nconns + (size_t)s];
    const char *text = p + NICK_LEN + 2;
    make_line(line, (uint32_t)s, *next);
    if (memcmp(text, line, LINE_LEN) != 0) {
        /* A later line of the same sender: the ones between were dropped
         * (slow consumer).  They count as missing, and as done for the
         * sender's window, which would otherwise wait for them forever. */
        uint64_t seq = 0;
        for (int i = 6; i < 16; i++)
            seq = seq * 10 + (uint64_t)(text[i] - '0');
        make_line(line, (uint32_t)s, seq);
        if (seq <= *next || seq >= sc->sent || memcmp(text, line, LINE_LEN) != 0) {
            fail("client %u: from %ld: expected line %llu, got '%.*s'", r->id, s,
                 (unsigned long long)*next, LINE_LEN, text);
            return;
        }
        missing += seq - *next;
        for (; *next < seq; (*next)++)
            delivered(sc, *next);
    }
    if (*next >= sc->sent) {
        fail("client %u: from %ld: line %llu delivered before it was sent", r->id, s,
             (unsigned long long)*next);
        return;
    }
    (*next)++;
    all_deliveries++;
    if (measuring)
        m_deliveries++;
    delivered(sc, *next - 1);
}

static void check_chat(struct conn *c, const char *p, size_t n)
{
    const char *end = p + n;
    if (c->in_len > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (c->in_len + take > DELIVERY) {
            fail("client %u: a line longer than %d bytes", c->id, DELIVERY);
            return;
        }
        memcpy(c->in + c->in_len, p, take);
        c->in_len += take;
        if (!nl)
            return;
        check_delivery(c, c->in, c->in_len);
        c->in_len = 0;
        p = nl + 1;
    }
    for (const char *nl; p < end && !g_error[0] && (nl = memchr(p, '\n', (size_t)(end - p)));
         p = nl + 1)
        check_delivery(c, p, (size_t)(nl - p));
    if (p < end && !g_error[0]) {
        if ((size_t)(end - p) > DELIVERY) {
            fail("client %u: a line longer than %d bytes", c->id, DELIVERY);
            return;
        }
        memcpy(c->in, p, (size_t)(end - p));
        c->in_len = (size_t)(end - p);
    }
}

static void on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, rbuf, sizeof rbuf);
        if (n > 0) {
            if (opt.mode == MODE_LINE_ECHO)
                check_echo(c, rbuf, (size_t)n);
            else
                check_chat(c, rbuf, (size_t)n);
            if (g_error[0] || (size_t)n < sizeof rbuf)
                break;
        } else if (n == 0) {
            fail("connection %u: closed by the server", c->id);
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            fail("connection %u: read: %s", c->id, strerror(errno));
            return;
        }
    }
    if (opt.mode == MODE_LINE_ECHO)
        top_up(c);
}

/* Opens one blocking connection, with IO_TIMEOUT_S on every call. */
static int open_conn(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Chat: sends the nick and waits for "OK <nick>" (nothing else can come
 * before the load starts). */
static int join(struct conn *c)
{
    char nick[NICK_LEN + 2], want[NICK_LEN + 5], got[64];
    nick[0] = 'u';
    put_digits(nick + 1, c->id, NICK_LEN - 1);
    nick[NICK_LEN] = '\n';
    snprintf(want, sizeof want, "OK %.*s\n", NICK_LEN, nick);
    if (write(c->fd, nick, NICK_LEN + 1) != NICK_LEN + 1) {
        fail("client %u: cannot send its nick: %s", c->id, strerror(errno));
        return -1;
    }
    size_t have = 0;
    while (have < strlen(want)) {
        ssize_t n = read(c->fd, got + have, strlen(want) - have);
        if (n <= 0) {
            fail("client %u: no answer to its nick: %s", c->id,
                 n == 0 ? "connection closed" : strerror(errno));
            return -1;
        }
        have += (size_t)n;
        if (memchr(got, '\n', have))
            break;
    }
    if (have != strlen(want) || memcmp(got, want, have) != 0) {
        fail("client %u: nick answered '%.*s', not '%.*s'", c->id, (int)have - 1, got,
             (int)strlen(want) - 1, want);
        return -1;
    }
    return 0;
}

static int setup(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    char port[24];
    snprintf(port, sizeof port, "%ld", opt.port);
    int rc = getaddrinfo(opt.host, port, &hints, &ai);
    if (rc != 0) {
        fail("cannot resolve --host %s: %s", opt.host, gai_strerror(rc));
        return -1;
    }
    nconns = (size_t)opt.conns;
    conns = calloc(nconns, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (opt.mode == MODE_CHAT)
        rseq = calloc(nconns * nconns, sizeof *rseq);
    if (!conns || epfd < 0 || (opt.mode == MODE_CHAT && !rseq)) {
        freeaddrinfo(ai);
        fail("cannot set up: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < nconns; i++)
        conns[i].fd = -1;
    for (size_t i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->id = (uint32_t)i;
        if ((c->fd = open_conn(ai)) < 0) {
            fail("cannot connect to %s:%ld: %s", opt.host, opt.port, strerror(errno));
            break;
        }
        if (opt.mode == MODE_CHAT) {
            c->cnt = calloc((size_t)opt.depth, sizeof *c->cnt);
            c->in = malloc(DELIVERY);
            if (!c->cnt || !c->in) {
                fail("out of memory");
                break;
            }
            if (join(c) < 0)
                break;
        }
        int fl = fcntl(c->fd, F_GETFL);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            fail("cannot set up connection %zu: %s", i, strerror(errno));
            break;
        }
    }
    freeaddrinfo(ai);
    return g_error[0] ? -1 : 0;
}

/* Runs the loop until the deadline, or (until) until every line sent has
 * been answered. */
static void run_until(uint64_t deadline, bool until_done)
{
    struct epoll_event evs[256];
    while (!g_error[0]) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return;
        if (until_done) {
            bool all = true;
            for (size_t i = 0; i < nconns && all; i++)
                all = conns[i].done == conns[i].sent;
            if (all)
                return;
        }
        int ms = (int)((deadline - now) / 1000000u) + 1;
        int n = epoll_wait(epfd, evs, 256, ms > 50 ? 50 : ms);
        if (n < 0 && errno != EINTR) {
            fail("epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n && !g_error[0]; i++) {
            struct conn *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT)
                flush_out(c);
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
    }
}

/* This process's CPU time so far, in ns. */
static int64_t self_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void print_server_cpu(int64_t c0, int64_t c1, double secs, uint64_t ops, const char *per)
{
    if (!opt.pid)
        return;
    if (c0 < 0 || c1 < 0 || ops == 0)
        printf(" server_cpu_pct=n/a server_cpu_us_per_%s=n/a", per);
    else
        printf(" server_cpu_pct=%.1f server_cpu_us_per_%s=%.3f", (double)(c1 - c0) / secs / 1e7,
               per, (double)(c1 - c0) / 1e3 / (double)ops);
}

static int run(void)
{
    if (setup() < 0)
        return 1;
    for (size_t i = 0; i < nconns && !g_error[0]; i++)
        top_up(&conns[i]);
    run_until(now_ns() + (uint64_t)(opt.warmup * 1e9), false);
    int64_t c0 = opt.pid ? read_cpu_ns(opt.pid) : -1, s0 = self_cpu_ns();
    uint64_t t0 = now_ns();
    measuring = true;
    run_until(t0 + (uint64_t)(opt.duration * 1e9), false);
    measuring = false;
    uint64_t t1 = now_ns();
    int64_t c1 = opt.pid ? read_cpu_ns(opt.pid) : -1;
    double secs = (double)(t1 - t0) / 1e9;
    /* At 100% the load generator, not the server, is the bottleneck. */
    double self_pct = (double)(self_cpu_ns() - s0) / secs / 1e7;
    sending = false;
    /* Every line sent must come back (line echo), or reach every other
     * client or be skipped by the server, which a later line of the same
     * sender shows (chat). */
    run_until(now_ns() + IO_TIMEOUT_S * 1000000000ull, true);
    if (g_error[0])
        return 1;
    if (opt.mode == MODE_LINE_ECHO) {
        for (size_t i = 0; i < nconns; i++)
            if (conns[i].done != conns[i].sent) {
                fprintf(stderr, "loadgen_line: connection %zu: %llu lines never echoed\n", i,
                        (unsigned long long)(conns[i].sent - conns[i].done));
                return 1;
            }
        printf("mode=line-echo conns=%zu size=%d depth=%ld batch=%ld duration_s=%.3f lines=%llu "
               "lines_per_s=%.0f mb_per_s=%.2f",
               nconns, LINE_LEN + 1, opt.depth, opt.batch, secs, (unsigned long long)m_lines,
               (double)m_lines / secs, (double)m_lines * (LINE_LEN + 1) / secs / 1e6);
        print_server_cpu(c0, c1, secs, m_lines, "line");
        uint64_t total = 0;
        for (size_t i = 0; i < nconns; i++)
            total += conns[i].done;
        printf(" loadgen_cpu_pct=%.1f lines_total=%llu\n", self_pct, (unsigned long long)total);
        printf("# line echo: %zu conns x %d B lines, %ld in flight, %ld per write: %.0f lines/s "
               "(%llu lines in %.2f s, all verified)\n",
               nconns, LINE_LEN + 1, opt.depth, opt.batch, (double)m_lines / secs,
               (unsigned long long)m_lines, secs);
        return 0;
    }
    uint64_t undelivered = 0;
    for (size_t i = 0; i < nconns; i++)
        for (uint64_t q = conns[i].done; q < conns[i].sent; q++)
            undelivered += nconns - 1 - conns[i].cnt[q % (uint64_t)opt.depth];
    printf("mode=chat-fanout clients=%zu size=%d depth=%ld duration_s=%.3f lines=%llu "
           "lines_per_s=%.0f deliveries=%llu deliveries_per_s=%.0f missing=%llu",
           nconns, LINE_LEN + 1, opt.depth, secs, (unsigned long long)m_lines,
           (double)m_lines / secs, (unsigned long long)m_deliveries, (double)m_deliveries / secs,
           (unsigned long long)(missing + undelivered));
    print_server_cpu(c0, c1, secs, m_deliveries, "delivery");
    uint64_t total = 0;
    for (size_t i = 0; i < nconns; i++)
        total += conns[i].sent;
    printf(" loadgen_cpu_pct=%.1f lines_total=%llu deliveries_total=%llu\n", self_pct,
           (unsigned long long)total, (unsigned long long)all_deliveries);
    printf("# chat fan-out: %zu clients, %d B lines, %ld in flight each: %.0f lines/s, %.0f "
           "deliveries/s (all verified; %llu missing)\n",
           nconns, LINE_LEN + 1, opt.depth, (double)m_lines / secs, (double)m_deliveries / secs,
           (unsigned long long)(missing + undelivered));
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen_line --mode line-echo|chat-fanout --port N [options]\n"
               "  --host ADDR       server address (default 127.0.0.1)\n"
               "  --port N          server port\n"
               "  --conns N         connections / chat clients (default 100)\n"
               "  --depth K         lines in flight per connection (line-echo: default 32;\n"
               "                    chat-fanout: lines not yet delivered to all, default 4)\n"
               "  --batch B         line-echo: lines per write (default 8)\n"
               "  --duration S      measured seconds (default 4)\n"
               "  --warmup S        seconds before measuring (default 1)\n"
               "  --pid PID         the server's PID, for its CPU time\n");
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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"conns", required_argument, NULL, 'c'},
        {"depth", required_argument, NULL, 'k'},
        {"batch", required_argument, NULL, 'b'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"pid", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mode = NULL;
    int ch, idx = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'm':
            mode = optarg;
            break;
        case 'H':
            opt.host = optarg;
            break;
        case 'p':
            ok = parse_long(optarg, 1, 65535, &opt.port);
            break;
        case 'c':
            ok = parse_long(optarg, 2, 99999, &opt.conns);
            break;
        case 'k':
            ok = parse_long(optarg, 1, MAX_DEPTH, &opt.depth);
            break;
        case 'b':
            ok = parse_long(optarg, 1, MAX_DEPTH, &opt.batch);
            break;
        case 'd':
            ok = parse_seconds(optarg, &opt.duration) && opt.duration > 0;
            break;
        case 'w':
            ok = parse_seconds(optarg, &opt.warmup);
            break;
        case 'P':
            ok = parse_long(optarg, 1, 1L << 30, &opt.pid);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "loadgen_line: bad --%s '%s'\n", longopts[idx].name, optarg);
            return 2;
        }
    }
    if (optind < argc || !mode || opt.port < 0) {
        fprintf(stderr, "loadgen_line: %s\n",
                optind < argc ? "unexpected argument"
                : !mode       ? "--mode is required"
                              : "--port is required");
        usage(stderr);
        return 2;
    }
    if (strcmp(mode, "line-echo") == 0) {
        opt.mode = MODE_LINE_ECHO;
        if (!opt.depth)
            opt.depth = 32;
        if (opt.batch > opt.depth) {
            fprintf(stderr, "loadgen_line: --batch %ld is more than --depth %ld\n", opt.batch,
                    opt.depth);
            return 2;
        }
    } else if (strcmp(mode, "chat-fanout") == 0) {
        opt.mode = MODE_CHAT;
        if (!opt.depth)
            opt.depth = 4;
        if ((uint64_t)opt.conns - 1 > UINT16_MAX) {
            fprintf(stderr, "loadgen_line: --conns too large for chat-fanout\n");
            return 2;
        }
    } else {
        fprintf(stderr, "loadgen_line: --mode must be line-echo or chat-fanout, not '%s'\n", mode);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int rc = run();
    if (rc)
        fprintf(stderr, "loadgen_line: %s\n", g_error);
    for (size_t i = 0; conns && i < nconns; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].out);
        free(conns[i].in);
        free(conns[i].cnt);
    }
    free(conns);
    free(rseq);
    if (epfd >= 0)
        close(epfd);
    return rc;
}
