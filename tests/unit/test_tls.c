/*
 * test_tls.c - TLS on GServerSock and GSock: echo through a GSock TLS
 * client (small and 1 MB), the tls fields of EV_CONNECTED, client-side
 * verification failures (wrong CA, wrong name), each bad certificate or key
 * failing the start before anything is bound, an idle client closed at
 * handshake_timeout (and inactivity_timeout), a client whose server never
 * answers, and garbage on the TLS port next to a good client.
 * The certificates are made at run time with the openssl command (skipped
 * with 77 without it).  Loopback only, port 0, time-boxed.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "socktest.h"

#ifndef OPENSSL_BIN
#define OPENSSL_BIN "openssl"
#endif

static char dir[64]; /* the certificates */

static const char *f(const char *name)
{
    static char paths[8][128];
    static int i;
    char *p = paths[i++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static int sh(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd '%s' && %s >/dev/null 2>&1", dir, cmd);
    return system(full);
}

/* A CA, a server certificate it signed for 127.0.0.1 and localhost, a
 * second CA that signed nothing, a key that matches nothing, the server key
 * under a passphrase, and a file that is not a certificate. */
static int make_certs(void)
{
    const char *o = strcmp(OPENSSL_BIN, "no") == 0 ? "openssl" : OPENSSL_BIN;
    char cmd[1024];
    snprintf(dir, sizeof dir, "/tmp/test_tls.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof cmd, "%s version", o);
    if (sh(cmd) != 0)
        return 77;
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const char *steps[] = {
        "%s req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=TestCA",
        "%s req -x509 %s -keyout wrongca.key -out wrongca.pem -days 2 -subj /CN=WrongCA",
        "%s req %s -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
        "%s x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf %.0s",
        "%s req -x509 %s -keyout other.key -out other.pem -days 2 -subj /CN=other",
        "%s pkey -in server.key -aes128 -passout pass:secret -out server-enc.key %.0s",
        "echo 'not a certificate' > garbage.pem %.0s%.0s",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        snprintf(cmd, sizeof cmd, steps[i], o, ec);
        if (sh(cmd) != 0) {
            fprintf(stderr, "certificate step failed: %s\n", cmd);
            return -1;
        }
    }
    return 0;
}

/*---------------------------------------------------------------------*
 *  TTls: records what a GSock publishes, with the tls fields
 *---------------------------------------------------------------------*/
typedef struct {
    int connected, disconnected;
    char reason[256], version[32], cipher[128], subject[256];
    bool has_tls, echo;
    size_t reply_on_connected; /* EV_CONNECTED: reply this many bytes */
    size_t reply_on_rx;        /* first EV_RX_DATA: reply this many bytes */
    int rx_events;
    unsigned char *rx;
    size_t rx_len, rx_cap;
    gobj_t *sock;
} trec_t;

typedef struct {
    trec_t *rec;
} ttls_priv_t;

GOBJ_DEFINE_STATE(ST_TT_RUN);

static trec_t *rec_of(gobj_t *g)
{
    return ((ttls_priv_t *)gobj_priv(g))->rec;
}

static void copy(char *dst, size_t n, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", s ? s : "");
}

/* Send n bytes of 'a'..'z' to sock. */
static void send_big(gobj_t *sock, size_t n)
{
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(big, n));
    free(big);
    gobj_send_event(sock, EV_SEND_DATA, kw, NULL);
}

static int ac_tt_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    trec_t *r = rec_of(gobj);
    r->connected++;
    r->sock = src;
    json_t *tls = json_object_get(kw, "tls");
    r->has_tls = json_is_object(tls);
    copy(r->version, sizeof r->version, tls, "version");
    copy(r->cipher, sizeof r->cipher, tls, "cipher");
    copy(r->subject, sizeof r->subject, tls, "peer_subject");
    if (r->reply_on_connected)
        send_big(src, r->reply_on_connected);
    return 0;
}

static int ac_tt_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    trec_t *r = rec_of(gobj);
    json_t *data = json_object_get(kw, "data");
    size_t n = json_string_length(data);
    if (r->rx_len + n > r->rx_cap) {
        r->rx_cap = (r->rx_len + n) * 2;
        r->rx = realloc(r->rx, r->rx_cap);
    }
    memcpy(r->rx + r->rx_len, json_string_value(data), n);
    r->rx_len += n;
    if (++r->rx_events == 1 && r->reply_on_rx)
        send_big(src, r->reply_on_rx);
    if (r->echo)
        gobj_send_event(src, EV_SEND_DATA, json_incref(kw), gobj);
    return 0;
}

static int ac_tt_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    trec_t *r = rec_of(gobj);
    r->disconnected++;
    copy(r->reason, sizeof r->reason, kw, "reason");
    if (r->sock == src)
        r->sock = NULL;
    /* The server's GSocks are ours to destroy; a client GSock is kept for
     * the test to reuse or destroy. */
    if (gobj_parent(src) == gobj && strstr(gobj_name(src), "clisrv_"))
        gobj_destroy(src);
    return 0;
}

static int ac_tt_ignore(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    return 0;
}

static const gobj_row_t st_tt_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_tt_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_tt_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_tt_ignore, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_tt_disconnected, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t ttls_states[] = {
    GOBJ_STATE(ST_TT_RUN, st_tt_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t ttls_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname, tls}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t ttls_def = {
    .name = "TTls",
    .description = "test subscriber with the tls fields",
    .states = ttls_states,
    .events = ttls_events,
    .priv_size = sizeof(ttls_priv_t),
};

static trec_t srec, crec, crec2;
static gobj_t *sapp, *capp, *capp2;

static gobj_t *tt_peer(const char *name, trec_t *r)
{
    gobj_t *g = gobj_create(name, gclass_find("TTls"), NULL, NULL);
    T_ASSERT(g != NULL);
    ((ttls_priv_t *)gobj_priv(g))->rec = r;
    return g;
}

static void setup(void)
{
    t_setup();
    if (!gclass_find("TTls"))
        T_ASSERT(gclass_register(&ttls_def) != NULL);
    sapp = tt_peer("sapp", &srec);
    capp = tt_peer("capp", &crec);
    capp2 = tt_peer("capp2", &crec2);
    srec.echo = true;
}

static void end(void)
{
    gobj_destroy(sapp);
    gobj_destroy(capp);
    gobj_destroy(capp2);
    sapp = capp = capp2 = NULL;
    t_teardown();
    trec_t *rs[] = {&srec, &crec, &crec2};
    for (size_t i = 0; i < 3; i++) {
        free(rs[i]->rx);
        memset(rs[i], 0, sizeof *rs[i]);
    }
}

/* A started TLS server on 127.0.0.1, port 0; extra: more ssl_options. */
static gobj_t *tls_server(json_t *extra, int *port)
{
    json_t *ssl = json_pack("{s:s, s:s}", "certfile", f("server.pem"), "keyfile", f("server.key"));
    if (extra)
        json_object_update(ssl, extra);
    json_decref(extra);
    gobj_t *s = gobj_create(
        "server", gclass_find(GCLASS_GSERVERSOCK_NAME),
        json_pack("{s:s, s:i, s:o}", "host", "127.0.0.1", "port", 0, "ssl_options", ssl), sapp);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    *port = (int)gobj_read_int(s, "port");
    T_ASSERT(*port > 0);
    return s;
}

/* A started client GSock under parent, connecting to 127.0.0.1:port. */
static gobj_t *tls_client(gobj_t *parent, const char *name, json_t *ssl, int port)
{
    gobj_t *c = gobj_create(name, gclass_find(GCLASS_GSOCK_NAME),
                            json_pack("{s:o}", "ssl_options", ssl), parent);
    T_ASSERT(c != NULL);
    T_EQ_INT(gobj_start(c), 0);
    gobj_send_event(c, EV_CONNECT, json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port),
                    NULL);
    return c;
}

static void send_str(gobj_t *sock, const char *s, size_t n)
{
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(s, n)); /* binary-safe */
    gobj_send_event(sock, EV_SEND_DATA, kw, NULL);
}

/*---------------------------------------------------------------------*/
static void test_echo(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(NULL, &port);
    gobj_t *cli = tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("ca.pem")), port);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 && srec.connected == 1, 5000));
    /* Both ends see the session; the client verified the server. */
    T_ASSERT(crec.has_tls);
    T_ASSERT(srec.has_tls);
    T_CONTAINS(crec.version, "TLSv1.");
    T_ASSERT(crec.cipher[0] != '\0');
    T_EQ_STR(crec.version, srec.version);
    T_EQ_STR(crec.cipher, srec.cipher);
    T_CONTAINS(crec.subject, "CN=127.0.0.1");
    T_EQ_STR(srec.subject, ""); /* the server asked for no certificate */

    send_str(cli, "hello tls", 9);
    T_ASSERT(RUN_UNTIL(crec.rx_len == 9, 5000));
    T_ASSERT(crec.rx_len == 9 && memcmp(crec.rx, "hello tls", 9) == 0);

    /* 1 MB both ways: partial writes, the queue, read-ahead draining. */
    size_t big = 1 << 20;
    unsigned char *buf = malloc(big);
    t_fill_random(buf, big, 7);
    crec.rx_len = 0;
    send_str(cli, (const char *)buf, big);
    T_ASSERT(RUN_UNTIL(crec.rx_len == big, 20000));
    T_ASSERT(crec.rx_len == big && memcmp(crec.rx, buf, big) == 0);
    free(buf);
    T_EQ_INT(gobj_read_int(srv, "tls_failures"), 0);

    /* A clean close (close_notify): exactly one EV_DISCONNECTED each. */
    gobj_send_event(cli, EV_DROP, NULL, NULL);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1 && srec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "dropped");
    T_EQ_STR(srec.reason, "peer closed");
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 1);
    T_EQ_INT(srec.disconnected, 1);
    end();
}

/* Framing over TLS: both ends cut lines (a global attribute reaches the
 * accepted GSock and the client), the server echoes each frame (its send
 * adds the delimiter back), and a frame split across sends and records
 * still arrives whole. */
static void test_framing(void)
{
    setup();
    gobj_set_global_attrs(json_pack("{s:s, s:i}", "GSock.framing", "line", "GSock.max_frame", 100));
    int port;
    tls_server(NULL, &port);
    gobj_t *cli = tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("ca.pem")), port);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 && srec.connected == 1, 5000));
    send_str(cli, "one", 3);
    send_str(cli, "", 0);
    send_str(cli, "th\0ree", 6);
    T_ASSERT(RUN_UNTIL(crec.rx_events == 3, 5000));
    T_EQ_INT(srec.rx_events, 3);
    T_EQ_INT(crec.rx_len, 9);
    T_ASSERT(memcmp(crec.rx, "oneth\0ree", 9) == 0);
    /* Too large: refused at the sender, nothing goes out. */
    char big[101];
    memset(big, 'x', sizeof big);
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(big, sizeof big));
    T_ASSERT(gobj_send_event(cli, EV_SEND_DATA, kw, NULL) < 0);
    t_run_for(50);
    T_EQ_INT(srec.rx_events, 3);
    gobj_send_event(cli, EV_DROP, NULL, NULL);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1 && srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "peer closed");
    end();
}

/* The client goes away (destroyed) after the handshake: the server's side
 * ends in exactly one EV_DISCONNECTED and counts no TLS failure (the
 * session was up).  The abrupt TCP drop is in tests/blackbox/echo_tls.sh,
 * with a real client killed. */
static void test_abrupt_drop(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(NULL, &port);
    gobj_t *cli = tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("ca.pem")), port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1 && crec.connected == 1, 5000));
    gobj_destroy(cli);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    t_run_for(50);
    T_EQ_INT(srec.disconnected, 1);
    T_EQ_INT(gobj_read_int(srv, "tls_failures"), 0);
    end();
}

static void test_verify_failures(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(NULL, &port);
    /* A CA that did not sign the server's certificate. */
    tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("wrongca.pem")), port);
    /* The right CA, the wrong name. */
    tls_client(capp2, "cli2",
               json_pack("{s:s, s:s}", "cafile", f("ca.pem"), "server_name", "wrong.example"),
               port);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1 && crec2.disconnected == 1, 5000));
    T_EQ_INT(crec.connected, 0);
    T_EQ_INT(crec2.connected, 0);
    T_CONTAINS(crec.reason, "TLS handshake failed");
    T_CONTAINS(crec.reason, "certificate");
    T_CONTAINS(crec2.reason, "TLS handshake failed");
    T_CONTAINS(crec2.reason, "mismatch");
    /* The server saw two handshakes fail, and announced neither. */
    T_ASSERT(RUN_UNTIL(gobj_read_int(srv, "tls_failures") == 2, 5000));
    T_EQ_INT(srec.connected, 0);
    T_EQ_INT(srec.disconnected, 0);
    T_EQ_INT(gobj_read_int(srv, "n_gsocks"), 0);
    T_ASSERT(t_log_find("debug", "TLS handshake failed") >= 2);

    /* The name localhost is in the certificate: it verifies. */
    tls_client(capp, "cli3",
               json_pack("{s:s, s:s}", "cafile", f("ca.pem"), "server_name", "localhost"), port);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    end();
}

/* Each bad file fails gobj_start with GOBJ_ECONFIG, binds nothing and logs
 * one error naming the file. */
static void test_bad_certificates(void)
{
    static const struct {
        const char *cert, *key, *ca;
    } cases[] = {
        {"missing.pem", "server.key", NULL},    {"server.pem", "missing.key", NULL},
        {"garbage.pem", "server.key", NULL},    {"server.pem", "other.key", NULL},
        {"server.pem", "server-enc.key", NULL}, {"server.pem", "server.key", "missing-ca.pem"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup();
        const char *bad = cases[i].ca                                ? cases[i].ca
                          : strcmp(cases[i].cert, "server.pem") != 0 ? cases[i].cert
                                                                     : cases[i].key;
        json_t *ssl =
            json_pack("{s:s, s:s}", "certfile", f(cases[i].cert), "keyfile", f(cases[i].key));
        if (cases[i].ca)
            json_object_set_new(ssl, "cafile", json_string(f(cases[i].ca)));
        gobj_t *s = gobj_create(
            "server", gclass_find(GCLASS_GSERVERSOCK_NAME),
            json_pack("{s:s, s:i, s:o}", "host", "127.0.0.1", "port", 0, "ssl_options", ssl), sapp);
        T_ASSERT(s != NULL);
        size_t before = t_log_find("error", NULL);
        T_EQ_INT(gobj_start(s), GOBJ_ECONFIG);
        T_EQ_INT(gobj_read_int(s, "port"), 0); /* nothing was bound */
        T_EQ_INT(t_log_find("error", NULL) - before, 1);
        T_EQ_INT(t_log_find("error", f(bad)), 1);
        T_EQ_INT(t_log_find("error", "listening"), 0);
        end();
    }
    /* The encrypted key names OpenSSL's reason, not a prompt. */
    setup();
    gobj_t *s = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME),
                            json_pack("{s:s, s:i, s:{s:s, s:s}}", "host", "127.0.0.1", "port", 0,
                                      "ssl_options", "certfile", f("server.pem"), "keyfile",
                                      f("server-enc.key")),
                            sapp);
    T_EQ_INT(gobj_start(s), GOBJ_ECONFIG);
    T_EQ_INT(t_log_find("error", "error:"), 1);
    /* A client checks its files at start too; an unknown option is refused. */
    gobj_t *c =
        gobj_create("cli", gclass_find(GCLASS_GSOCK_NAME),
                    json_pack("{s:{s:s}}", "ssl_options", "cafile", f("missing-ca.pem")), capp);
    T_EQ_INT(gobj_start(c), GOBJ_ECONFIG);
    T_EQ_INT(t_log_find("error", f("missing-ca.pem")), 1);
    gobj_t *c2 = gobj_create("cli2", gclass_find(GCLASS_GSOCK_NAME),
                             json_pack("{s:{s:s}}", "ssl_options", "cafle", "x"), capp);
    T_EQ_INT(gobj_start(c2), GOBJ_ECONFIG);
    T_EQ_INT(t_log_find("error", "ssl_options.cafle: unknown option"), 1);
    end();
}

/* A client that connects and says nothing is closed at handshake_timeout,
 * counted, never announced. */
static void test_handshake_timeout(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(json_pack("{s:i}", "handshake_timeout", 300), &port);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(fd >= 0);
    uint64_t t0 = gobj_loop_now_msec();
    T_ASSERT(RUN_UNTIL(gobj_read_int(srv, "tls_failures") == 1, 5000));
    T_ASSERT(gobj_loop_now_msec() - t0 >= 250);
    T_EQ_INT(gobj_read_int(srv, "n_gsocks"), 0);
    T_EQ_INT(srec.connected, 0);
    T_EQ_INT(srec.disconnected, 0);
    T_ASSERT(t_log_find("debug", "handshake timeout") >= 1);
    /* The server closed the descriptor: the client reads EOF. */
    unsigned char tmp[64];
    T_EQ_INT((int)t_read_all(fd, tmp, sizeof tmp), 0);
    close(fd);
    end();
}

/* Garbage and a half-finished handshake on the port while a good client
 * keeps echoing. */
static void test_garbage_next_to_good(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(json_pack("{s:i}", "handshake_timeout", 500), &port);
    gobj_t *cli = tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("ca.pem")), port);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));

    int g = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(g >= 0);
    const char junk[] = "GET / HTTP/1.0\r\n\r\n\x16\x03\x01\x00\x05garbage";
    T_ASSERT(write(g, junk, sizeof junk) == (ssize_t)sizeof junk);
    /* A ClientHello record header promising more than ever comes. */
    int h = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(h >= 0);
    const unsigned char half[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    T_ASSERT(write(h, half, sizeof half) == (ssize_t)sizeof half);

    for (int i = 0; i < 20; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "ping %d;", i);
        size_t want = crec.rx_len + (size_t)n;
        send_str(cli, msg, (size_t)n);
        T_ASSERT(RUN_UNTIL(crec.rx_len == want, 5000));
        t_run_for(30);
    }
    T_ASSERT(RUN_UNTIL(gobj_read_int(srv, "tls_failures") == 2, 5000));
    T_EQ_INT(crec.disconnected, 0);
    T_EQ_INT(srec.connected, 1);
    T_EQ_INT(srec.disconnected, 0);
    send_str(cli, "after", 5);
    size_t want = crec.rx_len + 5;
    T_ASSERT(RUN_UNTIL(crec.rx_len == want, 5000));
    close(g);
    close(h);
    end();
}

/* A server that accepts TCP and never answers: the client's handshake ends
 * at its handshake_timeout, with its one EV_DISCONNECTED and no
 * EV_CONNECTED; sends while it waits are queued and dropped with it. */
static void test_client_handshake_timeout(void)
{
    setup();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_ASSERT(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    gobj_t *cli = tls_client(
        capp, "cli", json_pack("{s:s, s:i}", "cafile", f("ca.pem"), "handshake_timeout", 300),
        ntohs(a.sin_port));
    t_run_for(50);
    send_str(cli, "queued", 6);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_INT(crec.connected, 0);
    T_EQ_STR(crec.reason, "TLS handshake failed: handshake timeout");
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 1);
    close(lfd);
    end();
}

/* inactivity_timeout holds during the handshake too, when it is the
 * shorter bound. */
static void test_inactivity_in_handshake(void)
{
    setup();
    json_t *global = json_pack("{s:i}", "GSock.inactivity_timeout", 200);
    T_EQ_INT(gobj_set_global_attrs(global), 0);
    int port;
    gobj_t *srv = tls_server(NULL, &port); /* handshake_timeout 10 s */
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(fd >= 0);
    T_ASSERT(RUN_UNTIL(gobj_read_int(srv, "tls_failures") == 1, 3000));
    T_ASSERT(t_log_find("debug", "inactivity timeout") >= 1);
    close(fd);
    end();
}

/*---------------------------------------------------------------------*
 *  An OpenSSL peer the test drives itself, nonblocking, in the loop's
 *  thread: it decides which records leave together.
 *---------------------------------------------------------------------*/
typedef struct {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} ossl_t;

static void ossl_open(ossl_t *p, int fd, bool server)
{
    p->fd = fd;
    p->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    T_ASSERT(p->ctx != NULL);
    if (server) {
        T_EQ_INT(SSL_CTX_use_certificate_chain_file(p->ctx, f("server.pem")), 1);
        T_EQ_INT(SSL_CTX_use_PrivateKey_file(p->ctx, f("server.key"), SSL_FILETYPE_PEM), 1);
    } else {
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
    }
    p->ssl = SSL_new(p->ctx);
    SSL_set_fd(p->ssl, fd);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (server)
        SSL_set_accept_state(p->ssl);
    else
        SSL_set_connect_state(p->ssl);
}

static void ossl_close(ossl_t *p)
{
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    close(p->fd);
    ERR_clear_error();
}

/* Hold what is written until ossl_uncork: what is written meanwhile
 * leaves in one segment, so the other side reads it in one recv. */
static void ossl_cork(ossl_t *p, int on)
{
    setsockopt(p->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

/* Handshake, running the loop while it waits.  Returns as soon as it is
 * done, without another loop turn, and with the socket corked: the
 * caller's next writes leave together with the handshake's last flight
 * when it uncorks. */
static bool ossl_handshake(ossl_t *p, uint64_t ms)
{
    uint64_t deadline = gobj_loop_now_msec() + ms;
    while (gobj_loop_now_msec() < deadline) {
        ossl_cork(p, 1);
        int r = SSL_do_handshake(p->ssl);
        if (r == 1)
            return true;
        ossl_cork(p, 0);
        int e = SSL_get_error(p->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return false;
        gobj_loop_run_once(false);
    }
    return false;
}

/* Read up to want decrypted bytes (checked: 'a'..'z' repeating), running
 * the loop.  Returns the count. */
static size_t ossl_read(ossl_t *p, size_t want, uint64_t ms)
{
    size_t got = 0;
    bool same = true;
    uint64_t deadline = gobj_loop_now_msec() + ms;
    while (got < want && gobj_loop_now_msec() < deadline) {
        char buf[65536];
        int n = SSL_read(p->ssl, buf, sizeof buf);
        if (n > 0) {
            for (int i = 0; i < n; i++)
                same = same && buf[i] == (char)('a' + (got + (size_t)i) % 26);
            got += (size_t)n;
            continue;
        }
        int e = SSL_get_error(p->ssl, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        gobj_loop_run_once(false);
    }
    T_ASSERT(same);
    return got;
}

/* TLS stall: the client's last record and its close_notify arrive
 * together while the reply to that record crosses tx_high_water.  Reading
 * pauses with the close already inside OpenSSL; when the queue drains,
 * the close must still be found: all the reply, then "peer closed". */
static void test_stall_close_notify(void)
{
    setup();
    srec.echo = false;
    size_t big = 4 << 20;
    srec.reply_on_rx = big;
    T_EQ_INT(gobj_set_global_attrs(json_pack("{s:i}", "GSock.tx_high_water", 65536)), 0);
    int port;
    tls_server(NULL, &port);
    ossl_t p;
    ossl_open(&p, t_connect_tcp("127.0.0.1", port), false);
    T_ASSERT(ossl_handshake(&p, 5000));
    ossl_cork(&p, 0);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    /* One segment: one read finds both. */
    ossl_cork(&p, 1);
    T_EQ_INT(SSL_write(p.ssl, "last", 4), 4);
    T_ASSERT(SSL_shutdown(p.ssl) >= 0);
    ossl_cork(&p, 0);
    T_ASSERT(RUN_UNTIL(srec.rx_events == 1, 5000));
    T_ASSERT(srec.sock && gobj_read_int(srec.sock, "tx_queued") > 65536); /* paused */
    T_EQ_INT(ossl_read(&p, big, 20000), big);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "peer closed");
    T_EQ_INT(srec.rx_len, 4);
    ossl_close(&p);
    end();
}

/* TLS stall: a request sent together with the handshake's Finished while
 * the subscriber answers EV_CONNECTED with more than tx_high_water.  The
 * request sits inside OpenSSL; it must be delivered once the queue drains. */
static void test_stall_after_finished(void)
{
    setup();
    srec.echo = false;
    size_t big = 4 << 20;
    srec.reply_on_connected = big;
    T_EQ_INT(gobj_set_global_attrs(json_pack("{s:i}", "GSock.tx_high_water", 65536)), 0);
    int port;
    tls_server(NULL, &port);
    ossl_t p;
    ossl_open(&p, t_connect_tcp("127.0.0.1", port), false);
    T_ASSERT(ossl_handshake(&p, 5000));
    T_EQ_INT(SSL_write(p.ssl, "req", 3), 3); /* leaves with the client's Finished */
    ossl_cork(&p, 0);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    T_ASSERT(srec.sock && gobj_read_int(srec.sock, "tx_queued") > 65536); /* paused */
    T_EQ_INT(ossl_read(&p, big, 20000), big);
    T_ASSERT(RUN_UNTIL(srec.rx_len == 3, 5000));
    T_ASSERT(srec.rx_len == 3 && memcmp(srec.rx, "req", 3) == 0);
    ossl_close(&p);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    end();
}

/* A client's EV_SEND_DATA during its handshake queues past tx_high_water:
 * reading must go on, or the handshake cannot finish. */
static void test_client_handshake_backpressure(void)
{
    setup();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_ASSERT(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    gobj_t *cli = gobj_create("cli", gclass_find(GCLASS_GSOCK_NAME),
                              json_pack("{s:{s:s, s:i}, s:i}", "ssl_options", "cafile", f("ca.pem"),
                                        "handshake_timeout", 3000, "tx_high_water", 1024),
                              capp);
    T_EQ_INT(gobj_start(cli), 0);
    gobj_send_event(cli, EV_CONNECT,
                    json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", ntohs(a.sin_port)), NULL);
    /* Nobody answers yet: the client waits in its handshake. */
    T_ASSERT(RUN_UNTIL(strcmp(gobj_current_state(cli)->name, "ST_HANDSHAKE") == 0, 5000));
    send_big(cli, 65536);
    ossl_t p;
    ossl_open(&p, accept(lfd, NULL, NULL), true);
    T_ASSERT(ossl_handshake(&p, 5000));
    ossl_cork(&p, 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    T_EQ_INT(crec.disconnected, 0);
    T_EQ_INT(ossl_read(&p, 65536, 5000), 65536);
    ossl_close(&p);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    close(lfd);
    end();
}

/* Accepted GSocks stopped during their handshake end, publish nothing (as
 * a failed handshake) and are destroyed: the subscriber has as many
 * children after a stop and start of the service as before. */
static void test_stop_in_handshake(void)
{
    setup();
    int port;
    gobj_t *srv = tls_server(NULL, &port);
    size_t before = gobj_child_count(sapp);
    int fd1 = t_connect_tcp("127.0.0.1", port), fd2 = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(gobj_child_count(sapp) == before + 2, 5000));
    T_EQ_INT(gobj_stop_tree(sapp), 0);
    T_ASSERT(RUN_UNTIL(gobj_child_count(sapp) == before, 5000));
    T_EQ_INT(gobj_read_int(srv, "n_gsocks"), 0);
    T_EQ_INT(t_read_all(fd1, NULL, 0), 0); /* closed */
    T_EQ_INT(t_read_all(fd2, NULL, 0), 0);
    T_EQ_INT(srec.connected, 0);
    T_EQ_INT(srec.disconnected, 0);
    /* The service starts again and serves. */
    T_EQ_INT(gobj_start_tree(sapp), 0);
    tls_client(capp, "cli", json_pack("{s:s}", "cafile", f("ca.pem")), port);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 && srec.connected == 1, 5000));
    T_EQ_INT(gobj_child_count(sapp), before + 1);
    close(fd1);
    close(fd2);
    end();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: none may fire */
    int rc = make_certs();
    if (rc != 0) {
        fprintf(stderr, rc == 77 ? "openssl not found: skipped\n" : "cannot make certificates\n");
        return rc == 77 ? 77 : 1;
    }
    t_init();
    test_echo();
    test_framing();
    test_abrupt_drop();
    test_verify_failures();
    test_bad_certificates();
    test_handshake_timeout();
    test_garbage_next_to_good();
    test_inactivity_in_handshake();
    test_client_handshake_timeout();
    test_stall_close_notify();
    test_stall_after_finished();
    test_client_handshake_backpressure();
    test_stop_in_handshake();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_done();
}
