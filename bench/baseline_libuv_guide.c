/*
 * baseline_libuv_guide.c - the echo server as libuv's guide (the "uvbook",
 * chapter "Networking") writes it, for make bench to compare against.
 *
 *   baseline_libuv_guide [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * As in the guide: the allocation callback mallocs a fresh buffer of the
 * suggested size (64 KiB) for every read; the read callback hands the bytes
 * to a malloc'ed write request, whose completion callback frees the request
 * and the buffer.  Each connection is a malloc'ed uv_tcp_t, closed on EOF or
 * error.  Like the guide (and bench/baseline_libevent.c) it does not stop
 * reading from a client that does not read its echo.  The only additions
 * are what any server holding many connections needs: TCP_NODELAY (a reply
 * must not wait for Nagle), a raised descriptor limit, and a clean shutdown
 * on a signal (close every handle, run the loop until they are closed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "baseline.h"

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req_t;

static uv_loop_t *loop;
static uv_tcp_t listener;

static void alloc_buffer(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(suggested_size);
    buf->len = buf->base ? suggested_size : 0;
}

static void on_close(uv_handle_t *handle)
{
    free(handle);
}

static void echo_write(uv_write_t *req, int status)
{
    (void)status; /* an error also shows up as an error on the next read */
    write_req_t *wr = (write_req_t *)req;
    free(wr->buf.base);
    free(wr);
}

static void echo_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf)
{
    if (nread > 0) {
        write_req_t *req = malloc(sizeof *req);
        if (req) {
            req->buf = uv_buf_init(buf->base, (unsigned int)nread);
            if (uv_write(&req->req, client, &req->buf, 1, echo_write) == 0)
                return;
            free(req);
        }
        free(buf->base);
        uv_close((uv_handle_t *)client, on_close);
        return;
    }
    if (nread < 0 && !uv_is_closing((uv_handle_t *)client))
        uv_close((uv_handle_t *)client, on_close);
    free(buf->base);
}

static void on_new_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        /* Out of descriptors is the expected failure when holding many idle
         * connections: say so once and keep serving the ones we have. */
        static int said;
        if (!said++)
            fprintf(stderr, "baseline_libuv_guide: accept: %s\n", uv_strerror(status));
        return;
    }
    uv_tcp_t *client = malloc(sizeof *client);
    if (!client)
        return;
    uv_tcp_init(loop, client);
    if (uv_accept(server, (uv_stream_t *)client) == 0) {
        uv_tcp_nodelay(client, 1);
        uv_read_start((uv_stream_t *)client, alloc_buffer, echo_read);
    } else {
        uv_close((uv_handle_t *)client, on_close);
    }
}

/* Shutdown: every handle is closed; the connections were malloc'ed, the
 * listener and the signal handles were not. */
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
    fprintf(f, "usage: baseline_libuv_guide [--host ADDR] [--port N]\n"
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
                fprintf(stderr, "baseline_libuv_guide: bad --port '%s'\n", optarg);
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
        fprintf(stderr, "baseline_libuv_guide: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct sockaddr_in addr;
    if (uv_ip4_addr(host, (int)port, &addr) != 0) {
        fprintf(stderr, "baseline_libuv_guide: --host must be an IPv4 address, not '%s'\n", host);
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
        fprintf(stderr, "baseline_libuv_guide: cannot listen on %s:%ld: %s\n", host, port,
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
    return 0;
}
