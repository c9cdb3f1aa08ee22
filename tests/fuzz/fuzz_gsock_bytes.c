/*
 * fuzz_gsock_bytes.c - libFuzzer harness: the byte path of a GSock accepted
 * by a GServerSock, plain and TLS, driven by a raw client whose every move
 * the input scripts: chunk sizes and bytes, pauses, reads or no reads
 * (backpressure), half-close, close and reset points, and closes from the
 * server side.
 *
 * One process keeps one tree for every input: a root FPeer (an echo-like
 * subscriber that also records what it receives) with three started
 * GServerSocks, "plain" (a unix socket in a temp dir), "tcp" (127.0.0.1,
 * port 0) and "tls" (a unix socket, ssl_options with a self-signed P-256
 * certificate made at start).  Each input opens one connection from this
 * same thread (non-blocking client socket, loop turns in between), runs
 * its script, closes, and runs the loop until the server side is quiescent.
 *
 * Input: byte 0 is the setup, the rest a list of ops.
 *   setup bits 0-1  0 plain unix, 1 plain TCP, 2 TLS, 3 raw bytes to the
 *                   TLS server (the client speaks no TLS)
 *         bit 2     read nothing until the final phase (backpressure)
 *         bit 3     client SO_SNDBUF / SO_RCVBUF 4096
 *         bits 4-5  server tx_high_water: 1048576, 0 (never), 1, 4096
 *         bit 6     the server does not echo (a sink)
 *         bit 7     TLS: SSL_shutdown before the final close; plain unix:
 *                   framing "line" (max_frame 64); plain TCP: framing
 *                   "length" (2-byte big-endian header, max_frame 1024)
 *   op byte: kind = b & 7, arg = b >> 3 (0..31)
 *     0 send the next arg+1 input bytes     4 shutdown(SHUT_WR)
 *     1 send (arg+1) KiB of a pattern       5 close: ends the script
 *       seeded by the next byte             6 reset (SO_LINGER 0): ends it
 *     2 arg+1 loop turns                    7 server side, by arg & 3:
 *     3 read what is there (unless bit 2)     0 EV_DROP, 1 gobj_stop (arg
 *                                             & 4: from outside a dispatch,
 *                                             else from an action), 2 write
 *                                             tx_high_water 1 (arg & 8:
 *                                             EV_PAUSE_RX / EV_RESUME_RX in
 *                                             turn; a hold left on is let
 *                                             go before the final phase),
 *                                             3 sync
 * With no close op the final phase runs: (plain) shut the write side and
 * read to EOF; (TLS) read the whole echo, then close.
 *
 * Invariants, checked for every input (a violation aborts with a message):
 *   - every byte the client reads is the next byte it sent (echo order);
 *     every byte the subscriber receives is the next byte the client sent;
 *   - the connection ends: the server holds no GSock, the subscriber no
 *     child, the post queue is empty, within 10 s;
 *   - exactly one EV_DISCONNECTED per EV_CONNECTED (plain: exactly one of
 *     each; TLS: one of each once the handshake completed);
 *   - with the final phase and no server-side close: the subscriber got
 *     every byte sent and (echo) the client read every byte back;
 *   - framing: each EV_RX_DATA is the next frame of what the client sent
 *     (line: the bytes up to the next "\n", at most max_frame; length: the
 *     payload its header announced); the echo (the server's framed sends)
 *     gives back exactly the bytes of those frames; and when what was sent
 *     is a whole number of valid frames, all of it is delivered and echoed
 *     (otherwise the server may end the connection: frame too large,
 *     truncated frame);
 *   - the live gobjs and json_t allocations are those before the input;
 *   - at exit, after destroying the tree: zero live gobjs and json_t.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ginsfsm/gobj.h"
#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

#include "fuzz.h"

#define MAX_BYTES   (512 * 1024) /* sent by one input, at most */
#define QUIET_MSEC  10000        /* bound on every wait */
#define STALL_TURNS 8            /* loop turns without progress: stalled */

enum { T_PLAIN, T_TCP, T_TLS, T_TLS_RAW };
enum { F_NONE, F_LINE, F_LENGTH };
#define LINE_MAX_FRAME 64
#define LENGTH_MAX_FRAME 1024

/*---------------------------------------------------------------------*
 *  FPeer: the subscriber of the servers (and parent of their GSocks)
 *---------------------------------------------------------------------*/
typedef struct {
    int connected, disconnected;
    gobj_t *sock;     /* the server side of the connection, while it lives */
    bool echo;        /* send back every EV_RX_DATA */
    size_t rx;        /* bytes received by the subscriber */
    const uint8_t *expect; /* what the client sent, to compare rx with */
    const size_t *expect_len;
    int framing; /* F_*: what EV_RX_DATA carries */
} fpeer_rec_t;

static fpeer_rec_t rec;

GOBJ_DEFINE_STATE(ST_FZ_RUN);
GOBJ_DEFINE_EVENT(EV_FZ_STOP); /* in: {} stop the connection's GSock from this action */

static int ac_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    rec.connected++;
    if (rec.connected > 1)
        fuzz_fail("a second EV_CONNECTED for one connection");
    rec.sock = src;
    return 0;
}

/* A frame must be the next one of what the client sent. */
static void check_frame(const char *f, size_t n)
{
    const uint8_t *at = rec.expect + rec.rx;
    size_t avail = *rec.expect_len - rec.rx;
    if (rec.framing == F_LINE) {
        if (n > LINE_MAX_FRAME)
            fuzz_fail("a line frame of %zu bytes, max_frame is %d", n, LINE_MAX_FRAME);
        if (n + 1 > avail || at[n] != '\n' || memchr(at, '\n', n) || memcmp(f, at, n) != 0)
            fuzz_fail("the line frame at offset %zu is not the next line sent", rec.rx);
        rec.rx += n + 1;
        return;
    }
    if (avail < 2 || (size_t)(at[0] << 8 | at[1]) != n || n + 2 > avail ||
        memcmp(f, at + 2, n) != 0)
        fuzz_fail("the length frame at offset %zu is not the next frame sent", rec.rx);
    if (n > LENGTH_MAX_FRAME)
        fuzz_fail("a length frame of %zu bytes, max_frame is %d", n, LENGTH_MAX_FRAME);
    rec.rx += n + 2;
}

/* What was sent is a whole number of valid frames. */
static bool well_framed(const uint8_t *p, size_t n, int framing)
{
    size_t i = 0;
    while (i < n) {
        if (framing == F_LINE) {
            const uint8_t *q = memchr(p + i, '\n', n - i);
            if (!q || (size_t)(q - (p + i)) > LINE_MAX_FRAME)
                return false;
            i = (size_t)(q - p) + 1;
        } else {
            if (n - i < 2)
                return false;
            size_t len = (size_t)(p[i] << 8 | p[i + 1]);
            if (len > LENGTH_MAX_FRAME || n - i - 2 < len)
                return false;
            i += 2 + len;
        }
    }
    return true;
}

static int ac_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    json_t *data = json_object_get(kw, "data");
    size_t n = json_string_length(data);
    if (rec.disconnected)
        fuzz_fail("EV_RX_DATA after EV_DISCONNECTED");
    if (rec.framing != F_NONE) {
        check_frame(json_string_value(data), n);
        if (rec.echo)
            gobj_send_event(src, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj);
        return 0;
    }
    if (rec.rx + n > *rec.expect_len)
        fuzz_fail("the subscriber received %zu bytes, the client sent %zu", rec.rx + n,
                  *rec.expect_len);
    if (memcmp(json_string_value(data), rec.expect + rec.rx, n) != 0)
        fuzz_fail("the subscriber received other bytes than sent, at offset %zu", rec.rx);
    rec.rx += n;
    if (rec.echo)
        gobj_send_event(src, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj);
    return 0;
}

static int ac_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static int ac_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    rec.disconnected++;
    if (rec.disconnected > rec.connected)
        fuzz_fail("EV_DISCONNECTED without EV_CONNECTED (or twice)");
    if (src != rec.sock)
        fuzz_fail("EV_DISCONNECTED from another GSock than the connected one");
    if (!json_string_value(json_object_get(kw, "reason")))
        fuzz_fail("EV_DISCONNECTED without a reason");
    rec.sock = NULL;
    gobj_destroy(src);
    return 0;
}

/* gobj_stop of the GSock from inside a dispatch. */
static int ac_fz_stop(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    if (rec.sock)
        gobj_stop(rec.sock);
    return 0;
}

static const gobj_row_t st_fz_run[] = {
    GOBJ_ROW(EV_FZ_STOP, ac_fz_stop, NULL),
    GOBJ_ROW(EV_CONNECTED, ac_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_disconnected, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t fpeer_states[] = {
    GOBJ_STATE(ST_FZ_RUN, st_fz_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t fpeer_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {EV_FZ_STOP, GOBJ_EV_IN, "{}"},
    {NULL, 0, NULL},
};
static const gclass_def_t fpeer_def = {
    .name = "FPeer",
    .description = "fuzz subscriber: echoes and checks what it receives",
    .states = fpeer_states,
    .events = fpeer_events,
};

/*---------------------------------------------------------------------*
 *  Process-wide setup: the tree, the certificate, the client context
 *---------------------------------------------------------------------*/
static long json_live;
static char dir[64];
static char path_plain[96], path_tls[96], cert_file[96], key_file[96];
static gobj_t *root, *srv[4];
static int tcp_port;
static SSL_CTX *client_ctx;
static uint64_t slow_msec; /* FUZZ_SLOW_MS: report inputs that take longer */

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        __atomic_add_fetch(&json_live, 1, __ATOMIC_RELAXED);
    return p;
}

static void count_free(void *p)
{
    if (p) {
        __atomic_sub_fetch(&json_live, 1, __ATOMIC_RELAXED);
        free(p);
    }
}

/* A self-signed P-256 certificate for 127.0.0.1 and its key, in dir. */
static void make_cert(void)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!pk || !x)
        fuzz_fail("cannot make a key");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(x, nm);
    if (!X509_sign(x, pk, EVP_sha256()))
        fuzz_fail("cannot sign the certificate");
    FILE *f = fopen(cert_file, "w");
    FILE *k = fopen(key_file, "w");
    if (!f || !k || !PEM_write_X509(f, x) || !PEM_write_PrivateKey(k, pk, NULL, NULL, 0, NULL, NULL))
        fuzz_fail("cannot write the certificate in %s", dir);
    fclose(f);
    fclose(k);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void run_turns(int n)
{
    for (int i = 0; i < n; i++)
        gobj_loop_run_once(false);
}

static size_t n_gsocks(gobj_t *server)
{
    json_t *st = gobj_stats(server);
    size_t n = (size_t)json_integer_value(json_object_get(st, "n_gsocks"));
    json_decref(st);
    return n;
}

static void teardown(void)
{
    gobj_destroy(root);
    root = NULL;
    run_turns(4);
    gobj_set_global_attrs(NULL);
    gobj_loop_free();
    gclass_unregister_all();
    SSL_CTX_free(client_ctx);
    unlink(cert_file);
    unlink(key_file);
    unlink(path_plain);
    unlink(path_tls);
    rmdir(dir);
    if (gobj_live_count() != 0)
        fuzz_fail("%zu gobj(s) alive after destroying the tree", gobj_live_count());
    if (json_live != 0)
        fuzz_fail("%ld json allocation(s) alive after destroying the tree", json_live);
}

static gobj_t *server(const char *name, json_t *kw)
{
    gobj_t *s = gobj_create(name, gclass_find(GCLASS_GSERVERSOCK_NAME), kw, root);
    if (!s || gobj_start(s) < 0)
        fuzz_fail("cannot start the %s server", name);
    return s;
}

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    fuzz_quiet_init();
    json_set_alloc_funcs(count_malloc, count_free);
    const char *v = getenv("FUZZ_SLOW_MS");
    if (v)
        slow_msec = strtoull(v, NULL, 10);
    /* Log records are not what this harness checks (FUZZ_VERBOSE shows them). */
    if (!getenv("FUZZ_VERBOSE"))
        gobj_log_set_fd(-1);
    snprintf(dir, sizeof dir, "/tmp/fuzz_gsock.XXXXXX");
    if (!mkdtemp(dir))
        fuzz_fail("cannot make a temp dir");
    snprintf(path_plain, sizeof path_plain, "%s/plain.sock", dir);
    snprintf(path_tls, sizeof path_tls, "%s/tls.sock", dir);
    snprintf(cert_file, sizeof cert_file, "%s/server.pem", dir);
    snprintf(key_file, sizeof key_file, "%s/server.key", dir);
    make_cert();

    if (gobj_loop_init() < 0 || gobj_register_builtin_gclasses() < 0 ||
        !gclass_register(&fpeer_def))
        fuzz_fail("cannot set up the loop and the gclasses");
    root = gobj_create("fz", gclass_find("FPeer"), NULL, NULL);
    srv[T_PLAIN] = server("plain", json_pack("{s:s}", "path", path_plain));
    srv[T_TCP] = server("tcp", json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0));
    srv[T_TLS] = server("tls", json_pack("{s:s, s:{s:s, s:s}}", "path", path_tls, "ssl_options",
                                         "certfile", cert_file, "keyfile", key_file));
    srv[T_TLS_RAW] = srv[T_TLS];
    tcp_port = (int)gobj_read_int(srv[T_TCP], "port");

    client_ctx = SSL_CTX_new(TLS_client_method());
    if (!client_ctx)
        fuzz_fail("cannot make the client TLS context");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    atexit(teardown);
}

/*---------------------------------------------------------------------*
 *  The client
 *---------------------------------------------------------------------*/
static uint8_t sent_buf[MAX_BYTES];

typedef struct {
    int fd;
    SSL *ssl;
    int transport;
    bool reading;   /* reads during the script */
    bool echo;      /* the server echoes: what is read must match */
    bool shut;      /* write side shut */
    bool stalled;   /* a send made no progress: no more sends */
    bool eof, err;  /* read side ended */
    size_t sent, got;
    /* Bytes handed to send() or SSL_write(): sent, or more while an
     * SSL_write is retried (a TLS record can reach the server before
     * SSL_write says how much it took). */
    size_t placed;
} client_t;

static void client_read(client_t *c)
{
    uint8_t tmp[16384];
    while (!c->eof && !c->err) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, tmp, sizeof tmp);
            if (r > 0) {
                n = r;
            } else {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return;
                if (e == SSL_ERROR_ZERO_RETURN)
                    c->eof = true;
                else
                    c->err = true;
                return;
            }
        } else {
            n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (n == 0) {
                c->eof = true;
                return;
            }
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    c->err = true;
                return;
            }
        }
        if (c->echo) {
            if (c->got + (size_t)n > c->placed)
                fuzz_fail("the client read %zu bytes back, it sent %zu", c->got + (size_t)n,
                          c->placed);
            if (memcmp(tmp, sent_buf + c->got, (size_t)n) != 0)
                fuzz_fail("the echo differs from what was sent, at offset %zu", c->got);
        } else if (c->transport != T_TLS_RAW) {
            fuzz_fail("the client read %zd bytes from a server that does not echo", n);
        }
        c->got += (size_t)n;
    }
}

/* One loop turn, then read if the client reads. */
static void pump(client_t *c, bool read)
{
    gobj_loop_run_once(false);
    if (read && c->fd >= 0)
        client_read(c);
}

/* Try one write.  Returns: bytes written, 0 to retry later, -1 if the
 * connection is unusable. */
static ssize_t client_write_once(client_t *c, const uint8_t *p, size_t n)
{
    if (c->ssl) {
        ERR_clear_error();
        int r = SSL_write(c->ssl, p, (int)n);
        if (r > 0)
            return r;
        int e = SSL_get_error(c->ssl, r);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
    }
    ssize_t r = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0)
        return r;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* Send n bytes already placed at sent_buf + c->sent. */
static void client_send(client_t *c, size_t n)
{
    size_t off = 0;
    int idle = 0;
    if (c->ssl)
        c->placed = c->sent + n;
    while (off < n && !c->stalled && !c->shut) {
        ssize_t r = client_write_once(c, sent_buf + c->sent, n - off);
        if (r < 0) {
            c->stalled = true; /* reset by the server: nothing more to send */
            return;
        }
        if (r == 0) {
            if (++idle > STALL_TURNS) {
                c->stalled = true;
                return;
            }
            pump(c, c->reading);
            continue;
        }
        idle = 0;
        off += (size_t)r;
        c->sent += (size_t)r;
        if (!c->ssl)
            c->placed = c->sent;
    }
}

static void client_close(client_t *c, bool reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    c->fd = -1;
}

static int client_connect(client_t *c, bool small_buffers)
{
    if (c->transport == T_TCP) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            return -1;
        if (small_buffers) {
            int sz = 4096;
            setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
            setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        }
        if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0)
            return -1;
    } else {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof un.sun_path, "%s",
                 c->transport == T_PLAIN ? path_plain : path_tls);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            return -1;
        if (small_buffers) {
            int sz = 4096;
            setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
            setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        }
        if (connect(c->fd, (struct sockaddr *)&un, sizeof un) < 0)
            return -1;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The TLS handshake, the server's side running in the loop turns. */
static void client_handshake(client_t *c)
{
    c->ssl = SSL_new(client_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
        fuzz_fail("cannot make the client TLS session");
    uint64_t deadline = gobj_loop_now_msec() + QUIET_MSEC;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return;
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            char why[256];
            ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
            fuzz_fail("TLS handshake failed: %s", why);
        }
        if (gobj_loop_now_msec() > deadline)
            fuzz_fail("TLS handshake did not complete in %d ms", QUIET_MSEC);
        gobj_loop_run_once(false);
    }
}

/* Run the loop until cond, or fail after QUIET_MSEC saying what. */
#define WAIT_FOR(c, read, cond, what)                                          \
    do {                                                                       \
        uint64_t d_ = gobj_loop_now_msec() + QUIET_MSEC;                       \
        for (unsigned turn_ = 0; !(cond); turn_++) {                           \
            if (gobj_loop_now_msec() > d_)                                     \
                fuzz_fail("%s (waited %d ms)", what, QUIET_MSEC);              \
            pump(c, read);                                                     \
            if (turn_ > 64 && !(cond))                                         \
                poll(NULL, 0, 1);                                              \
        }                                                                      \
    } while (0)

/*---------------------------------------------------------------------*
 *  One input
 *---------------------------------------------------------------------*/
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    uint64_t t0 = gobj_loop_now_msec();
    const uint8_t *p = data + 1, *end = data + size;
    uint8_t s = data[0];
    static const int64_t high_water[] = {1048576, 0, 1, 4096};

    client_t c = {.fd = -1, .transport = s & 3, .reading = !(s & 4), .echo = !(s & 64)};
    if (c.transport == T_TLS_RAW)
        c.echo = false; /* what comes back is the server's TLS, not an echo */
    gobj_t *server_gobj = srv[c.transport];

    json_t *g = json_pack("{s:I, s:i}", "GSock.tx_high_water", (json_int_t)high_water[(s >> 4) & 3],
                          "GSock.drop_timeout", 50);
    int framing = F_NONE;
    if ((s & 128) && c.transport == T_PLAIN) {
        framing = F_LINE;
        json_object_set_new(g, "GSock.framing", json_string("line"));
        json_object_set_new(g, "GSock.max_frame", json_integer(LINE_MAX_FRAME));
    } else if ((s & 128) && c.transport == T_TCP) {
        framing = F_LENGTH;
        json_object_set_new(g, "GSock.framing", json_string("length"));
        json_object_set_new(g, "GSock.length_bytes", json_integer(2));
        json_object_set_new(g, "GSock.max_frame", json_integer(LENGTH_MAX_FRAME));
    }
    gobj_set_global_attrs(g);
    long json_before = json_live;
    size_t live_before = gobj_live_count();
    memset(&rec, 0, sizeof rec);
    rec.echo = c.echo;
    rec.expect = sent_buf;
    rec.expect_len = &c.placed;
    rec.framing = framing;

    if (client_connect(&c, (s & 8) != 0) < 0) {
        /* Out of descriptors or ports: not the library's doing. */
        client_close(&c, false);
        return 0;
    }
    if (c.transport == T_TLS)
        client_handshake(&c);
    if (c.transport != T_TLS_RAW)
        WAIT_FOR(&c, false, rec.connected == 1, "no EV_CONNECTED for an accepted connection");

    bool closed = false, server_closed = false, held = false;
    while (p < end && !closed) {
        uint8_t op = *p++;
        unsigned arg = op >> 3;
        switch (op & 7) {
        case 0: {
            size_t n = arg + 1;
            if (n > (size_t)(end - p))
                n = (size_t)(end - p);
            if (c.sent + n > MAX_BYTES || c.shut || c.stalled)
                break;
            memcpy(sent_buf + c.sent, p, n);
            p += n;
            client_send(&c, n);
            break;
        }
        case 1: {
            size_t n = (arg + 1) * 1024;
            uint32_t x = p < end ? *p++ : 1u;
            if (c.sent + n > MAX_BYTES || c.shut || c.stalled)
                break;
            for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                sent_buf[c.sent + i] = (uint8_t)(x >> 16);
            }
            client_send(&c, n);
            break;
        }
        case 2:
            for (unsigned i = 0; i <= arg; i++)
                pump(&c, c.reading);
            break;
        case 3:
            if (c.reading)
                client_read(&c);
            break;
        case 4:
            if (!c.shut) {
                if (c.ssl)
                    SSL_shutdown(c.ssl); /* close_notify, then the TCP half-close */
                shutdown(c.fd, SHUT_WR);
                c.shut = true;
            }
            break;
        case 5:
        case 6:
            client_close(&c, (op & 7) == 6);
            closed = true;
            break;
        case 7:
            if (!rec.sock)
                break;
            switch (arg & 3) {
            case 0:
                gobj_send_event(rec.sock, EV_DROP, NULL, NULL);
                server_closed = true;
                break;
            case 1:
                /* arg bit 2: from outside any dispatch, else from an action
                 * (the corpus's plain-server-stop-outside-dispatch was a
                 * use-after-free in stop(), lib/gobj.c, before Rule 9). */
                if (arg & 4)
                    gobj_stop(rec.sock);
                else
                    gobj_send_event(root, EV_FZ_STOP, NULL, NULL);
                server_closed = true;
                break;
            case 2:
                if (arg & 8) {
                    /* The subscriber's hold on reading, on and off. */
                    gobj_send_event(rec.sock, held ? EV_RESUME_RX : EV_PAUSE_RX, NULL, NULL);
                    held = !held;
                } else {
                    gobj_write_int(rec.sock, "tx_high_water", 1);
                }
                break;
            case 3:
                for (int i = 0; i < 64 && rec.rx < c.sent; i++)
                    pump(&c, c.reading);
                break;
            }
            break;
        }
    }

    /* A hold still on is let go: the final phase wants every byte. */
    if (held && rec.sock)
        gobj_send_event(rec.sock, EV_RESUME_RX, NULL, NULL);

    /* The final phase: the client reads everything back and closes. */
    /* Exact counts unless a close cut the flow short: the client's own close
     * op, a close from the server side, or a TLS close_notify after which
     * the client does not wait for the echo. */
    bool exact = !closed && !server_closed && c.transport != T_TLS_RAW &&
                 !(c.transport == T_TLS && (c.shut || c.stalled));
    /* Framed: a stream that is not whole frames ends the connection. */
    if (framing != F_NONE && !well_framed(sent_buf, c.sent, framing))
        exact = false;
    if (!closed) {
        c.reading = true;
        if (exact && c.transport == T_TLS)
            WAIT_FOR(&c, true, c.err || c.eof || (rec.rx == c.sent && (!c.echo || c.got == c.sent)),
                     "TLS: the echo did not come back");
        if (c.transport == T_TLS && (s & 128) && !c.shut)
            SSL_shutdown(c.ssl);
        if (c.transport != T_TLS) {
            if (!c.shut)
                shutdown(c.fd, SHUT_WR);
            c.shut = true;
            WAIT_FOR(&c, true, c.eof || c.err, "no EOF after the client's half-close");
        }
        if (exact && (c.err || c.eof) && c.transport == T_TLS && !c.shut)
            fuzz_fail("TLS: the server closed a connection nobody asked to close");
        client_close(&c, false);
    }

    WAIT_FOR(&c, false,
             n_gsocks(server_gobj) == 0 && gobj_child_count(root) == 3 && !rec.sock &&
                 gobj_posted_count() == 0,
             "the connection did not end");

    if (rec.connected != rec.disconnected)
        fuzz_fail("%d EV_CONNECTED but %d EV_DISCONNECTED", rec.connected, rec.disconnected);
    if (c.transport != T_TLS_RAW && rec.connected != 1)
        fuzz_fail("%d EV_CONNECTED for one connection", rec.connected);
    if (exact) {
        if (rec.rx != c.sent)
            fuzz_fail("the subscriber received %zu of the %zu bytes sent", rec.rx, c.sent);
        if (c.echo && c.got != c.sent)
            fuzz_fail("the client read %zu of the %zu bytes sent back", c.got, c.sent);
        if (c.err)
            fuzz_fail("the client's read failed (reset) on a clean close");
    }
    if (gobj_live_count() != live_before)
        fuzz_fail("%zu gobjs alive after the connection, %zu before", gobj_live_count(),
                  live_before);
    if (json_live != json_before)
        fuzz_fail("%ld json allocations alive after the connection, %ld before", json_live,
                  json_before);
    if (slow_msec && gobj_loop_now_msec() - t0 >= slow_msec)
        dprintf(fuzz_stderr, "slow input: %llu ms, setup 0x%02x, %zu bytes sent\n",
                (unsigned long long)(gobj_loop_now_msec() - t0), s, c.sent);
    return 0;
}
