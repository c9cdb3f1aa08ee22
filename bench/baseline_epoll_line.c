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

#define BASELINE_PROG "baseline_epoll_line"

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

#include "baseline_epoll_loop.h"
