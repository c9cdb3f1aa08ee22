/*
 * baseline_epoll_tls.c - the TLS echo server on raw epoll and OpenSSL: the
 * practical TLS limit on this machine, for make bench to compare against.
 *
 *   baseline_epoll_tls --cert FILE --key FILE [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * One SSL per connection on its non-blocking socket (SSL_set_fd), one
 * SSL_CTX as in bench/baseline_libevent_tls.c (TLS 1.2 at least, OpenSSL's
 * defaults otherwise) plus what a performance-minded user sets: read-ahead
 * (one read() takes every record the socket holds, instead of a header and
 * a body per record) and partial writes.  Plaintext is read into one 64 KiB
 * buffer shared by every connection and written straight back with
 * SSL_write; only what the socket would not take is kept in a per-connection
 * pending buffer (allocated when needed, freed once drained).  A connection
 * with more than PENDING_MAX pending stops reading until it drains.
 *
 * Level-triggered epoll: EPOLLIN, and EPOLLOUT only while something waits
 * to be written (EPOLLOUT alone while paused).  Level rather than edge:
 * with read-ahead, OpenSSL cannot say whether its read() drained the
 * socket, so an edge-triggered server would pay a read() that returns
 * EAGAIN after every message; level-triggered, it reads while OpenSSL holds
 * buffered bytes (no syscall) and lets epoll_wait, which it calls anyway,
 * say whether the socket has more.
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "baseline.h"

#define BUF_SIZE    65536
#define PENDING_MAX (1u << 20)

/* Per-connection state, indexed by descriptor. */
struct conn {
    SSL *ssl;
    char *pending;
    size_t off, len, cap;
    uint32_t events; /* what epoll watches for */
    bool open;
    bool handshaken;
};

static struct conn *conns;
static size_t conns_size;
static int epfd;
static SSL_CTX *ssl_ctx;
static char buf[BUF_SIZE];

static void conn_close(int fd)
{
    struct conn *c = &conns[fd];
    /* No close_notify: the peer is gone or misbehaved, or we are stopping. */
    SSL_free(c->ssl);
    free(c->pending);
    memset(c, 0, sizeof *c);
    close(fd);
}

/* Watches fd for events (EPOLLIN, EPOLLOUT or both). */
static int watch(int fd, uint32_t events)
{
    struct conn *c = &conns[fd];
    if (c->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -1;
    c->events = events;
    return 0;
}

/* What an SSL call that returned r <= 0 means: 0 wait (EPOLLOUT armed if
 * OpenSSL waits to write), -1 the connection is over. */
static int ssl_wait(int fd, int r)
{
    switch (SSL_get_error(conns[fd].ssl, r)) {
    case SSL_ERROR_WANT_READ:
        return 0;
    case SSL_ERROR_WANT_WRITE:
        return watch(fd, conns[fd].events | EPOLLOUT);
    default:
        /* EOF (with or without close_notify) or an error. */
        ERR_clear_error();
        return -1;
    }
}

static int pending_add(struct conn *c, const char *data, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        /* Moving the bytes OpenSSL was asked to write is allowed
         * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER); they are not moved within
         * the buffer, since a retried SSL_write must start with them. */
        char *p = realloc(c->pending, cap);
        if (!p)
            return -1;
        c->pending = p;
        c->cap = cap;
    }
    memcpy(c->pending + c->len, data, n);
    c->len += n;
    return 0;
}

/* Writes what is pending.  Returns 1 when all of it is written, 0 when the
 * socket is full, -1 when the connection is over. */
static int flush_pending(int fd)
{
    struct conn *c = &conns[fd];
    while (c->off < c->len) {
        size_t n = c->len - c->off;
        int w = SSL_write(c->ssl, c->pending + c->off, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0)
            return ssl_wait(fd, w) < 0 ? -1 : 0;
        c->off += (size_t)w;
    }
    /* Drained: give the memory back, an idle connection keeps none. */
    free(c->pending);
    c->pending = NULL;
    c->off = c->len = c->cap = 0;
    return watch(fd, EPOLLIN) < 0 ? -1 : 1;
}

/* Writes data back, keeping whatever the socket will not take. */
static int echo_back(int fd, const char *data, size_t n)
{
    struct conn *c = &conns[fd];
    /* Bytes already waiting go first, so the order is kept. */
    if (c->len > c->off)
        return pending_add(c, data, n);
    while (n > 0) {
        int w = SSL_write(c->ssl, data, (int)n);
        if (w <= 0) {
            if (ssl_wait(fd, w) < 0)
                return -1;
            return pending_add(c, data, n);
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Everything a connection's events lead to: the handshake, then writing
 * what is pending, then reading and echoing. */
static void on_event(int fd)
{
    struct conn *c = &conns[fd];
    if (!c->handshaken) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            if (ssl_wait(fd, r) < 0)
                conn_close(fd);
            return;
        }
        c->handshaken = true;
    }
    /* EPOLLOUT stays armed only while the last SSL call waits to write. */
    int r = c->len > c->off ? flush_pending(fd) : watch(fd, EPOLLIN);
    if (r < 0) {
        conn_close(fd);
        return;
    }
    /* One SSL_read may leave more records in OpenSSL's buffer, where epoll
     * cannot see them: read on while it has any. */
    do {
        if (c->len - c->off > PENDING_MAX) {
            /* Paused: only EPOLLOUT (armed since a write found the socket
             * full) is watched until the pending bytes are written. */
            if (watch(fd, EPOLLOUT) < 0)
                conn_close(fd);
            return;
        }
        int n = SSL_read(c->ssl, buf, sizeof buf);
        if (n <= 0) {
            if (ssl_wait(fd, n) < 0)
                conn_close(fd);
            return;
        }
        if (echo_back(fd, buf, (size_t)n) < 0) {
            conn_close(fd);
            return;
        }
    } while (SSL_has_pending(c->ssl));
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
                fprintf(stderr, "baseline_epoll_tls: accept: %s\n", strerror(errno));
            return;
        }
        if ((size_t)fd >= conns_size) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        SSL *ssl = SSL_new(ssl_ctx);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            SSL_free(ssl);
            ERR_clear_error();
            close(fd);
            continue;
        }
        SSL_set_accept_state(ssl);
        conns[fd] = (struct conn){.ssl = ssl, .events = EPOLLIN, .open = true};
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: baseline_epoll_tls --cert FILE --key FILE [--host ADDR] [--port N]\n"
               "  --cert FILE   certificate chain (PEM)\n"
               "  --key FILE    private key (PEM)\n"
               "  --host ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N      port (default 0: the kernel chooses)\n");
}

static int listen_on(const char *host, long port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "baseline_epoll_tls: --host must be an IPv4 address, not '%s'\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "baseline_epoll_tls: cannot listen on %s:%ld: %s\n", host, port,
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

static SSL_CTX *make_ssl_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        fprintf(stderr, "baseline_epoll_tls: cannot load %s / %s: %s\n", cert, key, err);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
        {"cert", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    const char *cert = NULL, *key = NULL;
    long port = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'H':
            host = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || port < 0 || port > 65535) {
                fprintf(stderr, "baseline_epoll_tls: bad --port '%s'\n", optarg);
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
        fprintf(stderr, "baseline_epoll_tls: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!cert || !key) {
        usage(stderr);
        return 2;
    }
    ssl_ctx = make_ssl_ctx(cert, key);
    if (!ssl_ctx)
        return 1;

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
        fprintf(stderr, "baseline_epoll_tls: cannot set up: %s\n", strerror(errno));
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
            fprintf(stderr, "baseline_epoll_tls: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd)
                on_accept(lfd);
            else if (fd == sfd)
                running = false;
            else if (conns[fd].open)
                /* An earlier event in this batch may have closed it (and an
                 * accept reused its number): the SSL calls find out. */
                on_event(fd);
        }
    }

    for (size_t fd = 0; fd < conns_size; fd++)
        if (conns[fd].open)
            conn_close((int)fd);
    free(conns);
    close(lfd);
    close(sfd);
    close(epfd);
    SSL_CTX_free(ssl_ctx);
    return 0;
}
