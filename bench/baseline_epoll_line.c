/*
 * baseline_epoll_line.c - a line echo server on raw edge-triggered epoll:
 * the practical limit for a line protocol on this machine, for make bench to
 * compare gserve's line-framed echo against.
 *
 *   baseline_epoll_line [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * What a well-written hand server does: one 64 KiB read buffer serves every
 * connection; each read is cut into lines at "\n" (memchr), each whole line
 * is handled on its own (here: copied into the reply with its "\n"), and
 * the replies to one read go out in one write.  A line cut by the end of a
 * read waits in a per-connection input buffer (allocated when needed,
 * freed once used); a line longer than MAX_LINE closes the connection, as
 * gserve's max_frame does.  Only what the socket would not take is copied
 * into a per-connection pending buffer; a connection with more than
 * PENDING_MAX pending stops reading until it drains.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "baseline.h"

#define BUF_SIZE    65536
#define MAX_LINE    65536
#define PENDING_MAX (1u << 20)

/* Per-connection state, indexed by descriptor. */
struct conn {
    char *in; /* the start of a line the last read cut */
    size_t in_len, in_cap;
    char *pending; /* reply bytes the socket did not take */
    size_t off, len, cap;
    bool open;
    bool paused;
};

static struct conn *conns;
static size_t conns_size;
static int epfd;
static char buf[BUF_SIZE];
/* The replies to one read: at most a held line, the read and a "\n". */
static char reply[MAX_LINE + BUF_SIZE + 1];

static void conn_close(int fd)
{
    struct conn *c = &conns[fd];
    free(c->in);
    free(c->pending);
    memset(c, 0, sizeof *c);
    /* Closing the only descriptor also removes it from the epoll set. */
    close(fd);
}

/* Appends n bytes to a growable buffer whose used part is [0, *len). */
static int buf_append(char **p, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        char *q = realloc(*p, c);
        if (!q)
            return -1;
        *p = q;
        *cap = c;
    }
    memcpy(*p + *len, data, n);
    *len += n;
    return 0;
}

static int pending_add(struct conn *c, const char *data, size_t n)
{
    if (c->off > 0) {
        memmove(c->pending, c->pending + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    return buf_append(&c->pending, &c->len, &c->cap, data, n);
}

/* Writes the replies of one read, keeping whatever the socket will not take. */
static int send_reply(int fd, struct conn *c, const char *data, size_t n)
{
    if (n == 0)
        return 0;
    /* Bytes already waiting go first, so the order is kept. */
    if (c->len > c->off)
        return pending_add(c, data, n);
    ssize_t w;
    do
        w = write(fd, data, n);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)n)
        return 0;
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        w = 0;
    }
    return pending_add(c, data + w, n - (size_t)w);
}

/* One whole line (without its "\n"): its reply is the line and "\n". */
static size_t handle_line(size_t at, const char *line, size_t n)
{
    memcpy(reply + at, line, n);
    reply[at + n] = '\n';
    return at + n + 1;
}

/* Cuts n bytes just read into lines and answers them in one write.
 * Returns -1 when the connection must close. */
static int on_data(int fd, struct conn *c, const char *data, size_t n)
{
    size_t at = 0;
    const char *p = data, *end = data + n;
    if (c->in_len > 0) {
        /* The line the last read cut: complete it first. */
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (c->in_len + take > MAX_LINE)
            return -1;
        if (buf_append(&c->in, &c->in_len, &c->in_cap, p, take) < 0)
            return -1;
        if (!nl)
            return 0;
        at = handle_line(at, c->in, c->in_len);
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
        p = nl + 1;
    }
    for (const char *nl; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
        if ((size_t)(nl - p) > MAX_LINE)
            return -1;
        at = handle_line(at, p, (size_t)(nl - p));
    }
    if (p < end) {
        if ((size_t)(end - p) > MAX_LINE)
            return -1;
        if (buf_append(&c->in, &c->in_len, &c->in_cap, p, (size_t)(end - p)) < 0)
            return -1;
    }
    return send_reply(fd, c, reply, at);
}

/*
 * Reads until the socket is drained.  A read shorter than the buffer means
 * it is (edge-triggered epoll reports any later arrival as a new event),
 * unless the peer has also shut down, whose EOF must still be read.
 */
static void on_readable(int fd, bool hangup)
{
    struct conn *c = &conns[fd];
    for (;;) {
        if (c->len - c->off > PENDING_MAX) {
            c->paused = true;
            return;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (on_data(fd, c, buf, (size_t)n) < 0) {
                conn_close(fd);
                return;
            }
            if ((size_t)n < sizeof buf && !hangup)
                return;
        } else if (n == 0) {
            conn_close(fd);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            conn_close(fd);
            return;
        }
    }
}

static void on_writable(int fd)
{
    struct conn *c = &conns[fd];
    while (c->off < c->len) {
        ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
        if (w > 0) {
            c->off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conn_close(fd);
            return;
        }
    }
    if (c->pending) {
        /* Drained: give the memory back, an idle connection keeps none. */
        free(c->pending);
        c->pending = NULL;
        c->off = c->len = c->cap = 0;
    }
    if (c->paused) {
        c->paused = false;
        on_readable(fd, false);
    }
}

static void on_accept(int lfd)
{
    static int said;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && !said++)
                fprintf(stderr, "baseline_epoll_line: accept: %s\n", strerror(errno));
            return;
        }
        if ((size_t)fd >= conns_size) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* EPOLLOUT stays armed: edge-triggered, it only fires after a write
         * found the socket full, so it costs nothing in the common case. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        conns[fd].open = true;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: baseline_epoll_line [--host ADDR] [--port N]\n"
               "  --host ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N      port (default 0: the kernel chooses)\n");
}

static int listen_on(const char *host, long port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "baseline_epoll_line: --host must be an IPv4 address, not '%s'\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "baseline_epoll_line: cannot listen on %s:%ld: %s\n", host, port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &len);
    fprintf(stderr, "listening %s:%u\n", host, ntohs(sin.sin_port));
    fflush(stderr);
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    long port = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || port < 0 || port > 65535) {
                fprintf(stderr, "baseline_epoll_line: bad --port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "baseline_epoll_line: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    /* Signals arrive as a descriptor, so that shutdown is one more event. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    conns_size = raise_nofile_limit();
    conns = calloc(conns_size, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epfd < 0 || sfd < 0) {
        fprintf(stderr, "baseline_epoll_line: cannot set up: %s\n", strerror(errno));
        return 1;
    }
    int lfd = listen_on(host, port);
    if (lfd < 0)
        return 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = sfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

    struct epoll_event evs[256];
    for (bool running = true; running;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "baseline_epoll_line: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            uint32_t e = evs[i].events;
            if (fd == lfd) {
                on_accept(lfd);
            } else if (fd == sfd) {
                running = false;
            } else {
                /* An earlier event in this batch may have closed it (and an
                 * accept reused its number): check, never assume. */
                uint32_t hup = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
                if ((e & EPOLLOUT) && conns[fd].open)
                    on_writable(fd);
                if ((e & (EPOLLIN | hup)) && conns[fd].open)
                    on_readable(fd, e & hup);
            }
        }
    }

    for (size_t fd = 0; fd < conns_size; fd++)
        if (conns[fd].open)
            conn_close((int)fd);
    free(conns);
    close(lfd);
    close(sfd);
    close(epfd);
    return 0;
}
