/*
 * test_sock_reentry.c - dispatch contract rule 15 on GSock: an output event
 * caused by a call is never delivered to the caller before that call
 * returns.
 *
 * The subscriber (TRe) counts its own calls into a GSock (EV_SEND_DATA,
 * EV_DROP, EV_CONNECT, gobj_stop) in `in_call`, and every one of its
 * handlers (EV_CONNECTED, EV_RX_DATA, EV_TRANSMIT_READY, EV_DISCONNECTED)
 * counts a violation if it runs while that count is not zero.  It destroys
 * the GSock on EV_DISCONNECTED, as a chat server does, so a delivery inside
 * the call would also be a use after free under ASan and valgrind.
 *
 * Each case runs over plain TCP and over TLS (an accepted GSock of a TLS
 * GServerSock; the peer is an OpenSSL client driven in the loop's thread),
 * with the calls made from main (outside any dispatch) and from inside one
 * of the subscriber's own actions:
 *   - a send the kernel takes at once: no EV_TRANSMIT_READY at all;
 *   - a send that queues (below tx_high_water), then the peer empties the
 *     kernel buffers and the subscriber sends again while output is still
 *     queued: EV_TRANSMIT_READY comes from the loop, never inside that send;
 *   - a send that crosses tx_high_water, the subscriber sending more from
 *     its EV_TRANSMIT_READY handler: each EV_TRANSMIT_READY from the loop;
 *   - a send that hits a write error (the peer reset): EV_DISCONNECTED
 *     later, exactly one;
 *   - EV_DROP with nothing queued, EV_DROP with output queued, gobj_stop:
 *     EV_DISCONNECTED later, exactly one.
 * And on a client GSock: EV_CONNECT answers (EV_CONNECTED, or
 * EV_DISCONNECTED for a connect that fails at once) come later.
 * Loopback only, port 0, time-boxed.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "socktest.h"

#ifndef OPENSSL_BIN
#define OPENSSL_BIN "openssl"
#endif

/*---------------------------------------------------------------------*
 *  TRe: the subscriber that checks the rule
 *---------------------------------------------------------------------*/
typedef struct {
    int in_call;    /* > 0 while inside its own call into a GSock */
    int violations; /* output events delivered inside such a call */
    char violation[64];
    int connected, rx_events, tx_ready, disconnected;
    char reason[200];
    gobj_t *sock;          /* the last GSock that connected */
    size_t more_on_ready;  /* EV_TRANSMIT_READY: send this many bytes more, once */
    size_t sent;           /* bytes handed to EV_SEND_DATA */
    int queued_when_ready; /* tx_queued seen by an EV_TRANSMIT_READY (must be 0) */
} re_rec_t;

typedef struct {
    re_rec_t *rec;
} re_priv_t;

GOBJ_DEFINE_STATE(ST_RE_RUN);
/* in: {op: "send" | "drop" | "stop" | "connect", n?, path?} */
GOBJ_DEFINE_EVENT(EV_RE_KICK);

static re_rec_t *rec_of(gobj_t *g)
{
    return ((re_priv_t *)gobj_priv(g))->rec;
}

static void seen(gobj_t *gobj, gobj_event_t ev)
{
    re_rec_t *r = rec_of(gobj);
    if (r->in_call) {
        r->violations++;
        snprintf(r->violation, sizeof r->violation, "%s", gobj_event_name(ev));
    }
}

/* n bytes of 'a'..'z' as {data}. */
static json_t *payload(size_t n)
{
    char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(p, n));
    free(p);
    return kw;
}

/* The subscriber's own calls: the only place in_call is raised. */
static int re_send(re_rec_t *r, gobj_t *sock, size_t n, gobj_t *src)
{
    r->in_call++;
    r->sent += n;
    int rc = gobj_send_event(sock, EV_SEND_DATA, payload(n), src);
    r->in_call--;
    return rc;
}

static int re_do(re_rec_t *r, gobj_t *sock, const char *op, size_t n, const char *path, gobj_t *src)
{
    if (strcmp(op, "send") == 0)
        return re_send(r, sock, n, src);
    r->in_call++;
    int rc = 0;
    if (strcmp(op, "drop") == 0)
        rc = gobj_send_event(sock, EV_DROP, NULL, src);
    else if (strcmp(op, "stop") == 0)
        rc = gobj_stop(sock);
    else if (strcmp(op, "connect") == 0)
        rc = gobj_send_event(sock, EV_CONNECT, json_pack("{s:s}", "path", path), src);
    r->in_call--;
    return rc;
}

static int ac_re_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    seen(gobj, ev);
    rec_of(gobj)->connected++;
    rec_of(gobj)->sock = src;
    return 0;
}

static int ac_re_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    seen(gobj, ev);
    rec_of(gobj)->rx_events++;
    return 0;
}

static int ac_re_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    seen(gobj, ev);
    re_rec_t *r = rec_of(gobj);
    r->tx_ready++;
    r->queued_when_ready += (int)gobj_read_int(src, "tx_queued");
    if (r->more_on_ready) {
        size_t n = r->more_on_ready;
        r->more_on_ready = 0;
        re_send(r, src, n, gobj); /* its own EV_TRANSMIT_READY comes later */
    }
    return 0;
}

static int ac_re_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    seen(gobj, ev);
    re_rec_t *r = rec_of(gobj);
    r->disconnected++;
    const char *why = json_string_value(json_object_get(kw, "reason"));
    snprintf(r->reason, sizeof r->reason, "%s", why ? why : "");
    if (r->sock == src)
        r->sock = NULL;
    gobj_destroy(src);
    return 0;
}

static int ac_re_kick(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    re_rec_t *r = rec_of(gobj);
    gobj_t *sock = (gobj_t *)(uintptr_t)json_integer_value(json_object_get(kw, "sock"));
    return re_do(r, sock, json_string_value(json_object_get(kw, "op")),
                 (size_t)json_integer_value(json_object_get(kw, "n")),
                 json_string_value(json_object_get(kw, "path")), gobj);
}

static const gobj_row_t st_re_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_re_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_re_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_re_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_re_disconnected, NULL),
    GOBJ_ROW(EV_RE_KICK, ac_re_kick, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t re_states[] = {
    GOBJ_STATE(ST_RE_RUN, st_re_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t re_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname, tls?}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {EV_RE_KICK, GOBJ_EV_IN, "{op, sock, n?, path?}"},
    {NULL, 0, NULL},
};
static const gclass_def_t re_def = {
    .name = "TRe",
    .description = "subscriber that checks no output event comes inside its own calls",
    .states = re_states,
    .events = re_events,
    .priv_size = sizeof(re_priv_t),
};

/*---------------------------------------------------------------------*
 *  The fixture: a server (plain or TLS) under a TRe, one peer
 *---------------------------------------------------------------------*/
static char dir[64]; /* the server's certificate, for TLS */
static bool have_tls;
static re_rec_t rec;
static gobj_t *app;
static bool from_action; /* the calls come from a TRe action, not from main */

/* One call of the subscriber's, from main or from its own action. */
static int call(gobj_t *sock, const char *op, size_t n, const char *path)
{
    if (!from_action)
        return re_do(&rec, sock, op, n, path, NULL);
    json_t *kw = json_pack("{s:s, s:I, s:I}", "op", op, "sock", (json_int_t)(uintptr_t)sock, "n",
                           (json_int_t)n);
    if (path)
        json_object_set_new(kw, "path", json_string(path));
    return gobj_send_event(app, EV_RE_KICK, kw, NULL);
}

static void make_cert(void)
{
    const char *o = strcmp(OPENSSL_BIN, "no") == 0 ? "openssl" : OPENSSL_BIN;
    snprintf(dir, sizeof dir, "/tmp/test_sock_reentry.XXXXXX");
    if (!mkdtemp(dir))
        return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout server.key -out server.pem -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1",
             dir, o);
    have_tls = system(cmd) == 0;
}

static void remove_cert(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    T_EQ_INT(system(cmd), 0);
}

typedef struct {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    size_t got; /* bytes read so far */
} peer_t;

/* A TRe root, a started server under it; returns the port. */
static int setup(bool tls, int64_t high_water)
{
    t_setup();
    if (!gclass_find("TRe"))
        T_ASSERT(gclass_register(&re_def) != NULL);
    memset(&rec, 0, sizeof rec);
    app = gobj_create("app", gclass_find("TRe"), NULL, NULL);
    ((re_priv_t *)gobj_priv(app))->rec = &rec;
    T_EQ_INT(gobj_set_global_attrs(json_pack("{s:I}", "GSock.tx_high_water", high_water)), 0);
    json_t *attrs = json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0);
    if (tls) {
        char cert[128], key[128];
        snprintf(cert, sizeof cert, "%s/server.pem", dir);
        snprintf(key, sizeof key, "%s/server.key", dir);
        json_object_set_new(attrs, "ssl_options",
                            json_pack("{s:s, s:s}", "certfile", cert, "keyfile", key));
    }
    gobj_t *srv = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), attrs, app);
    T_ASSERT(srv != NULL);
    T_EQ_INT(gobj_start_tree(app), 0);
    return (int)gobj_read_int(srv, "port");
}

static void end(void)
{
    gobj_destroy(app);
    app = NULL;
    t_teardown();
}

/* Connect (a small receive buffer, so that output queues soon), finish
 * the TLS handshake running the loop, and wait for EV_CONNECTED. */
static bool peer_open(peer_t *p, int port, bool tls)
{
    memset(p, 0, sizeof *p);
    p->fd = t_connect_tcp_rcvbuf("127.0.0.1", port, 4096);
    T_ASSERT(p->fd >= 0);
    fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
    if (tls) {
        p->ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
        p->ssl = SSL_new(p->ctx);
        SSL_set_fd(p->ssl, p->fd);
        SSL_set_connect_state(p->ssl);
        uint64_t deadline = gobj_loop_now_msec() + 5000;
        int r;
        while ((r = SSL_do_handshake(p->ssl)) != 1 && gobj_loop_now_msec() < deadline) {
            int e = SSL_get_error(p->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                break;
            gobj_loop_run_once(false);
        }
        T_EQ_INT(r, 1);
    }
    return RUN_UNTIL(rec.connected == 1, 5000);
}

/* Read what is readable now, without running the loop.  Returns false on
 * EOF or an error. */
static bool peer_read_now(peer_t *p)
{
    for (;;) {
        char buf[65536];
        ssize_t n;
        if (p->ssl) {
            int k = SSL_read(p->ssl, buf, sizeof buf);
            if (k <= 0) {
                int e = SSL_get_error(p->ssl, k);
                return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
            }
            n = k;
        } else {
            n = read(p->fd, buf, sizeof buf);
            if (n <= 0)
                return n < 0 && errno == EAGAIN;
        }
        p->got += (size_t)n;
    }
}

/* Empty the kernel buffers between the GSock and the peer while the loop
 * does not run (so nothing refills them): read until nothing has come for
 * a while. */
static void peer_drain_kernel(peer_t *p)
{
    for (int quiet = 0; quiet < 3;) {
        size_t before = p->got;
        peer_read_now(p);
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (p->got == before && poll(&pf, 1, 20) == 0)
            quiet++;
    }
}

/* Read, running the loop, until want bytes came in. */
static bool peer_read_until(peer_t *p, size_t want, uint64_t ms)
{
    uint64_t deadline = gobj_loop_now_msec() + ms;
    while (p->got < want && gobj_loop_now_msec() < deadline) {
        if (!peer_read_now(p))
            break;
        gobj_loop_run_once(false);
    }
    return p->got >= want;
}

/* Close with a reset: the RST is on the GSock's socket before its next
 * write, and the loop has not run. */
static void peer_reset(peer_t *p)
{
    struct linger lg = {1, 0};
    setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (p->ssl) {
        SSL_free(p->ssl);
        SSL_CTX_free(p->ctx);
        p->ssl = NULL;
        p->ctx = NULL;
    }
    close(p->fd);
    p->fd = -1;
    ERR_clear_error();
}

static void peer_close(peer_t *p)
{
    if (p->ssl) {
        SSL_free(p->ssl);
        SSL_CTX_free(p->ctx);
    }
    if (p->fd >= 0)
        close(p->fd);
    ERR_clear_error();
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

/* Send chunks until the GSock queues some output.  Returns the bytes sent. */
static size_t send_until_queued(gobj_t *sock)
{
    size_t sent = 0;
    for (int i = 0; i < 8192 && gobj_read_int(sock, "tx_queued") == 0; i++) {
        call(sock, "send", 16384, NULL);
        sent += 16384;
    }
    T_ASSERT(gobj_read_int(sock, "tx_queued") > 0);
    return sent;
}

/*---------------------------------------------------------------------*
 *  The cases
 *---------------------------------------------------------------------*/
/* The kernel takes it all at once: nothing owed, no EV_TRANSMIT_READY. */
static void case_send_at_once(bool tls)
{
    peer_t p;
    int port = setup(tls, 1 << 20);
    T_ASSERT(peer_open(&p, port, tls));
    T_EQ_INT(call(rec.sock, "send", 100, NULL), 0);
    T_EQ_INT(gobj_read_int(rec.sock, "tx_queued"), 0);
    T_ASSERT(peer_read_until(&p, 100, 5000));
    t_run_for(20);
    T_EQ_INT(rec.tx_ready, 0);
    T_EQ_INT(rec.violations, 0);
    peer_close(&p);
    end();
}

/* Output queued below tx_high_water; the peer then empties the kernel
 * buffers, so the socket has room, and the subscriber sends again while
 * output is still queued: the queue is written by the loop, and
 * EV_TRANSMIT_READY comes from there, once everything is written. */
static void case_queued_below_high_water(bool tls)
{
    peer_t p;
    int port = setup(tls, 64 << 20);
    T_ASSERT(peer_open(&p, port, tls));
    gobj_t *sock = rec.sock;
    send_until_queued(sock);
    T_ASSERT(gobj_read_int(sock, "tx_queued") < (64 << 20));
    peer_drain_kernel(&p);
    /* The send returns the bytes queued (queued behind the rest). */
    T_EQ_INT(call(sock, "send", 10, NULL), gobj_read_int(sock, "tx_queued"));
    T_EQ_INT(rec.tx_ready, 0); /* not inside the send, and not yet */
    T_ASSERT(peer_read_until(&p, rec.sent, 20000));
    T_ASSERT(RUN_UNTIL(rec.tx_ready == 1, 5000));
    t_run_for(20);
    T_EQ_INT(rec.tx_ready, 1);
    T_EQ_INT(rec.queued_when_ready, 0);
    T_EQ_INT(rec.violations, 0);
    T_EQ_INT(rec.disconnected, 0);
    peer_close(&p);
    end();
}

/* One send crosses tx_high_water (reading pauses); the peer reads; the
 * EV_TRANSMIT_READY handler sends more, crossing it again: each
 * EV_TRANSMIT_READY comes from the loop, none inside a send. */
static void case_cross_high_water(bool tls)
{
    peer_t p;
    int port = setup(tls, 65536);
    T_ASSERT(peer_open(&p, port, tls));
    gobj_t *sock = rec.sock;
    rec.more_on_ready = 2 << 20;
    T_EQ_INT(call(sock, "send", 4 << 20, NULL), gobj_read_int(sock, "tx_queued"));
    T_ASSERT(gobj_read_int(sock, "tx_queued") > 65536);
    T_EQ_INT(rec.tx_ready, 0);
    T_ASSERT(peer_read_until(&p, 6 << 20, 30000));
    T_ASSERT(RUN_UNTIL(rec.tx_ready == 2, 5000));
    T_EQ_INT(rec.queued_when_ready, 0);
    T_EQ_INT(rec.violations, 0);
    T_EQ_INT(rec.disconnected, 0);
    peer_close(&p);
    end();
}

/* The peer reset: the send finds it.  EV_DISCONNECTED comes later, one. */
static void case_write_error(bool tls)
{
    peer_t p;
    int port = setup(tls, 1 << 20);
    T_ASSERT(peer_open(&p, port, tls));
    peer_reset(&p);
    T_EQ_INT(call(rec.sock, "send", 100, NULL), 0);
    T_EQ_INT(rec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "connection reset");
    t_run_for(20);
    T_EQ_INT(rec.disconnected, 1);
    T_EQ_INT(rec.violations, 0);
    T_EQ_INT(gobj_child_count(app), 1); /* the GSock is gone, the server stays */
    end();
}

/* EV_DROP or gobj_stop, with nothing queued or with output queued: the
 * EV_DISCONNECTED comes later, exactly one. */
static void case_drop_or_stop(bool tls, const char *op, bool queued)
{
    peer_t p;
    int port = setup(tls, 64 << 20);
    T_ASSERT(peer_open(&p, port, tls));
    gobj_t *sock = rec.sock;
    if (queued)
        send_until_queued(sock);
    T_ASSERT(call(sock, op, 0, NULL) >= 0);
    T_EQ_INT(rec.disconnected, 0);
    if (queued)
        T_ASSERT(peer_read_until(&p, rec.sent, 20000));
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, strcmp(op, "drop") == 0 ? "dropped" : "stopped");
    t_run_for(20);
    T_EQ_INT(rec.disconnected, 1);
    T_EQ_INT(rec.violations, 0);
    peer_close(&p);
    end();
}

/* A client GSock: EV_CONNECT answers later, whether the connect succeeds
 * or fails at once (a unix path that does not exist). */
static void case_client_connect(void)
{
    int port = setup(false, 1 << 20);
    re_rec_t crec = {0};
    gobj_t *capp = gobj_create("capp", gclass_find("TRe"), NULL, NULL);
    ((re_priv_t *)gobj_priv(capp))->rec = &crec;
    gobj_t *c = gobj_create("c", gclass_find(GCLASS_GSOCK_NAME),
                            json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port), capp);
    T_EQ_INT(gobj_start(c), 0);
    crec.in_call++;
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, NULL, capp), 0);
    crec.in_call--;
    T_EQ_INT(crec.connected, 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));

    gobj_t *u = gobj_create("u", gclass_find(GCLASS_GSOCK_NAME), NULL, capp);
    T_EQ_INT(gobj_start(u), 0);
    T_EQ_INT(re_do(&crec, u, "connect", 0, "/nonexistent.test_sock_reentry/sock", capp), 0);
    T_EQ_INT(crec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_INT(crec.violations, 0);
    gobj_destroy(capp);
    end();
}

static void run_cases(bool tls)
{
    case_send_at_once(tls);
    case_queued_below_high_water(tls);
    case_cross_high_water(tls);
    case_write_error(tls);
    case_drop_or_stop(tls, "drop", false);
    case_drop_or_stop(tls, "drop", true);
    case_drop_or_stop(tls, "stop", false);
    case_drop_or_stop(tls, "stop", true);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: it must not come */
    t_init();
    make_cert();
    if (!have_tls)
        fprintf(stderr, "openssl not found: the TLS cases are skipped\n");
    for (int origin = 0; origin < 2; origin++) {
        from_action = origin == 1;
        run_cases(false);
        if (have_tls)
            run_cases(true);
    }
    from_action = false;
    case_client_connect();
    remove_cert();
    return t_done();
}
