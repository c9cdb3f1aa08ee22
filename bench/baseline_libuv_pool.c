/*
 * baseline_libuv_pool.c - the echo server a performance-minded libuv user
 * writes: pooled buffers, no allocation per message, uv_try_write first (for
 * make bench to compare against).
 *
 *   baseline_libuv_pool [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * The allocation callback takes a 64 KiB buffer from a free list (the one
 * the last read gave back, still warm in the cache); the read callback
 * echoes it with uv_try_write, which writes straight to the socket, and
 * gives the buffer back at once.  Only what the socket would not take goes
 * through uv_write: the buffer carries its own write request and returns to
 * the free list when the write completes.  So an idle connection holds no
 * buffer, and the steady state allocates nothing.  A connection with more
 * than PENDING_MAX bytes queued stops reading until they drain, so a client
 * that never reads cannot make the server grow without bound.  TCP_NODELAY,
 * a raised descriptor limit and a clean shutdown on a signal as in the
 * other baselines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "baseline.h"

#define BUF_SIZE    65536
#define PENDING_MAX (1u << 20)
/* Free buffers kept for reuse; more than this go back to malloc. */
#define POOL_KEEP 64

/* A pooled buffer, with the write request that may carry it. */
struct buf {
    uv_write_t req;
    struct buf *next;
    char data[BUF_SIZE];
};

/* A connection: the handle and whether reading is paused. */
struct conn {
    uv_tcp_t tcp;
    bool paused;
};

static uv_loop_t *loop;
static uv_tcp_t listener;
static struct buf *pool;
static size_t pool_count;

static struct buf *buf_of(char *data)
{
    return (struct buf *)(data - offsetof(struct buf, data));
}

static void pool_put(struct buf *b)
{
    if (pool_count >= POOL_KEEP) {
        free(b);
        return;
    }
    b->next = pool;
    pool = b;
    pool_count++;
}

static void on_alloc(uv_handle_t *handle, size_t suggested_size, uv_buf_t *out)
{
    (void)handle;
    (void)suggested_size;
    struct buf *b = pool;
    if (b) {
        pool = b->next;
        pool_count--;
    } else {
        b = malloc(sizeof *b);
    }
    /* A zero-length buffer makes libuv report UV_ENOBUFS to on_read. */
    *out = b ? uv_buf_init(b->data, BUF_SIZE) : uv_buf_init(NULL, 0);
}

static void on_close(uv_handle_t *handle)
{
    free(handle);
}

static void conn_close(uv_stream_t *s)
{
    if (!uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_close);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *in);

static void on_write(uv_write_t *req, int status)
{
    struct buf *b = (struct buf *)req;
    uv_stream_t *s = req->handle;
    pool_put(b);
    if (status < 0) {
        conn_close(s);
        return;
    }
    struct conn *c = (struct conn *)s;
    if (c->paused && uv_stream_get_write_queue_size(s) <= PENDING_MAX / 2) {
        c->paused = false;
        uv_read_start(s, on_alloc, on_read);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *in)
{
    struct buf *b = in->base ? buf_of(in->base) : NULL;
    if (nread <= 0) {
        /* 0 is "nothing this time"; below 0 is EOF or an error. */
        if (b)
            pool_put(b);
        if (nread < 0)
            conn_close(s);
        return;
    }
    uv_buf_t out = uv_buf_init(b->data, (unsigned int)nread);
    int w = uv_try_write(s, &out, 1);
    if (w == nread) {
        pool_put(b);
        return;
    }
    if (w < 0 && w != UV_EAGAIN) {
        pool_put(b);
        conn_close(s);
        return;
    }
    /* The rest (all of it when earlier bytes are still queued: then
     * uv_try_write says UV_EAGAIN, and order is kept) waits in the buffer. */
    if (w > 0) {
        out.base += w;
        out.len -= (unsigned int)w;
    }
    if (uv_write(&b->req, s, &out, 1, on_write) != 0) {
        pool_put(b);
        conn_close(s);
        return;
    }
    if (uv_stream_get_write_queue_size(s) > PENDING_MAX) {
        ((struct conn *)s)->paused = true;
        uv_read_stop(s);
    }
}

static void on_new_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        /* Out of descriptors is the expected failure when holding many idle
         * connections: say so once and keep serving the ones we have. */
        static int said;
        if (!said++)
            fprintf(stderr, "baseline_libuv_pool: accept: %s\n", uv_strerror(status));
        return;
    }
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return;
    c->paused = false;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

/* Shutdown: every handle is closed (queued writes complete with
 * UV_ECANCELED, which gives their buffers back); the connections were
 * malloc'ed, the listener and the signal handles were not. */
static void close_all(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (uv_is_closing(handle))
        return;
    bool conn = handle->type == UV_TCP && handle != (uv_handle_t *)&listener;
    uv_close(handle, conn ? on_close : NULL);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    (void)signum;
    uv_walk(handle->loop, close_all, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: baseline_libuv_pool [--host ADDR] [--port N]\n"
               "  --host ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N      port (default 0: the kernel chooses)\n");
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
                fprintf(stderr, "baseline_libuv_pool: bad --port '%s'\n", optarg);
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
        fprintf(stderr, "baseline_libuv_pool: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct sockaddr_in addr;
    if (uv_ip4_addr(host, (int)port, &addr) != 0) {
        fprintf(stderr, "baseline_libuv_pool: --host must be an IPv4 address, not '%s'\n", host);
        return 2;
    }

    raise_nofile_limit();
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();

    uv_tcp_init(loop, &listener);
    int r = uv_tcp_bind(&listener, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&listener, 4096, on_new_connection);
    if (r != 0) {
        fprintf(stderr, "baseline_libuv_pool: cannot listen on %s:%ld: %s\n", host, port,
                uv_strerror(r));
        uv_close((uv_handle_t *)&listener, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
        return 1;
    }
    uv_signal_t sigint, sigterm;
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &len);
    fprintf(stderr, "listening %s:%u\n", host, ntohs(bound.sin_port));
    fflush(stderr);

    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    while (pool) {
        struct buf *b = pool;
        pool = b->next;
        free(b);
    }
    return 0;
}
