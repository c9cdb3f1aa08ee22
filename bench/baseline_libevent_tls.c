/*
 * baseline_libevent_tls.c - the TLS echo server a user writes by hand with
 * libevent: an evconnlistener and one OpenSSL bufferevent per connection
 * (make bench compares gserve's echo with ssl_options against it).
 *
 *   baseline_libevent_tls --cert FILE --key FILE [--host ADDR] [--port N]
 *
 * Port 0 (the default) lets the kernel choose; the address is printed on
 * stderr as "listening 127.0.0.1:PORT".  SIGINT or SIGTERM stops the server
 * and frees everything.
 *
 * It is deliberately plain, as bench/baseline_libevent.c with TLS added the
 * documented way: bufferevent_openssl_socket_new in the accepting state, one
 * SSL_CTX for the server, TLS 1.2 at least, OpenSSL's defaults otherwise.
 * The read callback moves the whole input buffer to the output buffer, the
 * event callback frees the connection on EOF or error (a handshake that
 * fails included).  The only additions are what any server holding many connections
 * needs: TCP_NODELAY (a reply must not wait for Nagle), a raised descriptor
 * limit, and a table of live connections so that shutdown frees them.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "baseline.h"

/* Live connections by descriptor, so that shutdown can free them. */
static struct bufferevent **live;
static size_t live_size;
static SSL_CTX *ssl_ctx;

static void on_read(struct bufferevent *bev, void *ctx)
{
    (void)ctx;
    evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

static void conn_free(struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0 && (size_t)fd < live_size)
        live[fd] = NULL;
    bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *ctx)
{
    (void)ctx;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(bev);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *ctx)
{
    (void)sa;
    (void)salen;
    (void)ctx;
    struct event_base *base = evconnlistener_get_base(lis);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL *ssl = SSL_new(ssl_ctx);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (!bev) {
        if (ssl)
            SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    /* A client that closes without close_notify ends like a plain EOF. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
    bufferevent_enable(bev, EV_READ);
    if ((size_t)fd < live_size)
        live[fd] = bev;
}

static void on_accept_error(struct evconnlistener *lis, void *ctx)
{
    (void)ctx;
    /* Out of descriptors is the expected failure when holding many idle
     * connections: say so once and keep serving the ones we have. */
    static int said;
    int err = EVUTIL_SOCKET_ERROR();
    if (!said++)
        fprintf(stderr, "baseline_libevent_tls: accept: %s\n", evutil_socket_error_to_string(err));
    (void)lis;
}

static void on_signal(evutil_socket_t sig, short what, void *ctx)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(ctx);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: baseline_libevent_tls --cert FILE --key FILE [--host ADDR] [--port N]\n"
               "  --cert FILE   certificate chain (PEM)\n"
               "  --key FILE    private key (PEM)\n"
               "  --host ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N      port (default 0: the kernel chooses)\n");
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
                fprintf(stderr, "baseline_libevent_tls: bad --port '%s'\n", optarg);
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
        fprintf(stderr, "baseline_libevent_tls: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!cert || !key) {
        usage(stderr);
        return 2;
    }
    ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!ssl_ctx || SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl_ctx) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        fprintf(stderr, "baseline_libevent_tls: cannot load %s / %s: %s\n", cert, key, err);
        SSL_CTX_free(ssl_ctx);
        return 1;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "baseline_libevent_tls: --host must be an IPv4 address, not '%s'\n", host);
        return 2;
    }

    live_size = raise_nofile_limit();
    live = calloc(live_size, sizeof *live);
    struct event_base *base = event_base_new();
    if (!live || !base) {
        fprintf(stderr, "baseline_libevent_tls: cannot set up: out of memory\n");
        return 1;
    }
    struct evconnlistener *lis =
        evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                4096, (struct sockaddr *)&sin, sizeof sin);
    if (!lis) {
        fprintf(stderr, "baseline_libevent_tls: cannot listen on %s:%ld: %s\n", host, port,
                strerror(errno));
        event_base_free(base);
        free(live);
        return 1;
    }
    evconnlistener_set_error_cb(lis, on_accept_error);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&bound, &len);
    fprintf(stderr, "listening %s:%u\n", host, ntohs(bound.sin_port));
    fflush(stderr);

    event_base_dispatch(base);

    for (size_t i = 0; i < live_size; i++)
        if (live[i])
            bufferevent_free(live[i]);
    free(live);
    evconnlistener_free(lis);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    SSL_CTX_free(ssl_ctx);
    return 0;
}
