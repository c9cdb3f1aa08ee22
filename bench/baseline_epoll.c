/*
 * baseline_epoll.c - the echo server on raw edge-triggered epoll: the
 * practical limit on this machine, for make bench to compare against.
 *
 *   baseline_epoll [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * One 64 KiB buffer serves every connection: read, write straight back, and
 * only what the socket would not take is copied into a small per-connection
 * pending buffer (allocated when needed, freed once drained).  A connection
 * with more than PENDING_MAX pending stops reading until it drains, so a
 * client that never reads cannot make the server grow without bound.
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

#include "baseline.h"

#define BASELINE_PROG "baseline_epoll"

#define BUF_SIZE    65536
#define PENDING_MAX (1u << 20)

/* Per-connection state, indexed by descriptor: nothing but the pending
 * bytes, so that an idle connection costs the kernel's socket and this. */
struct conn {
    char *pending;
    size_t off, len, cap;
    bool open;
    bool paused;
};

static struct conn *conns;
static size_t conns_size;
static int epfd;
static char buf[BUF_SIZE];

static void conn_close(int fd)
{
    struct conn *c = &conns[fd];
    free(c->pending);
    memset(c, 0, sizeof *c);
    /* Closing the only descriptor also removes it from the epoll set. */
    close(fd);
}

static int pending_add(struct conn *c, const char *data, size_t n)
{
    if (c->off > 0 && c->off == c->len)
        c->off = c->len = 0;
    if (c->len + n > c->cap) {
        /* Move what is left to the front before growing. */
        if (c->off > 0) {
            memmove(c->pending, c->pending + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
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

/* Writes data back, keeping whatever the socket will not take. */
static int on_data(int fd, struct conn *c, const char *data, size_t n)
{
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

#include "baseline_epoll_loop.h"
