/*
 * tls.c - the TLS layer of GSock and GServerSock (OpenSSL).
 *
 * What it is
 *   A context per GServerSock (shared by the GSocks it accepts) and per
 *   client GSock, built from `ssl_options` when the gobj starts; and a thin
 *   wrapper per connection over an SSL object whose I/O goes through a small
 *   BIO of our own on the nonblocking descriptor.  The socket code keeps its
 *   events, buffers and queue; it only calls gsock_tls__read / __write where
 *   it would call read / send, and arms the event a GSOCK_TLS_WANT_* names.
 *
 * Why a BIO of our own
 *   OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a
 *   reset connection; ours uses send(MSG_NOSIGNAL), as the plain path does,
 *   and it records a TCP EOF and the last errno, so that a peer that drops
 *   the connection is told apart from a protocol error.
 *
 * Errors
 *   Every connection call starts with ERR_clear_error(), so that one
 *   connection's failure never shows up as another's reason.  Context
 *   errors are logged once, naming the file and OpenSSL's reason.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ginsfsm/log.h"

struct gsock_tls_ctx {
    SSL_CTX *ssl;
    unsigned refs;
    int64_t handshake_timeout;
    char *server_name; /* client: overrides the host for SNI and the check */
    bool verify;
    bool server;
};

struct gsock_tls {
    SSL *ssl;
    gsock_tls_ctx_t *ctx;
    gsock_transport_t *below; /* the layer the records travel on */
    int last_err;             /* errno of the last failed send/recv */
    bool eof;                 /* recv returned 0: the peer's TCP side is closed */
    bool broken;              /* a fatal error: no close_notify may be sent */
    bool done;                /* the handshake completed */
    bool ended;               /* a read found the end (close_notify, EOF, an error) */
};

/*---------------------------------------------------------------------*
 *  The BIO: records go through the transport below (the descriptor's
 *  plain layer: send with MSG_NOSIGNAL, never SIGPIPE)
 *---------------------------------------------------------------------*/
static BIO_METHOD *bio_method;
static unsigned n_ctx; /* contexts alive: the method is freed with the last */

static int bio_write(BIO *b, const char *buf, int len)
{
    gsock_tls_t *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    struct iovec iov = {.iov_base = (char *)buf, .iov_len = (size_t)len};
    char why[128];
    int err = 0;
    ssize_t n = t->below->ops->writev(t->below, &iov, 1, why, sizeof why, &err);
    if (n >= 0)
        return (int)n;
    if (n == GSOCK_IO_WANT_WRITE)
        BIO_set_retry_write(b);
    else if (n == GSOCK_IO_WANT_READ)
        BIO_set_retry_read(b);
    else
        t->last_err = err ? err : EPIPE;
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    gsock_tls_t *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    char why[128];
    int err = 0;
    ssize_t n = t->below->ops->read(t->below, buf, (size_t)len, why, sizeof why, &err);
    if (n > 0)
        return (int)n;
    if (n == GSOCK_IO_CLOSED) {
        t->eof = true;
        return 0;
    }
    if (n == GSOCK_IO_WANT_READ)
        BIO_set_retry_read(b);
    else if (n == GSOCK_IO_WANT_WRITE)
        BIO_set_retry_write(b);
    else
        t->last_err = err ? err : EPROTO;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* Nothing is buffered here: a flush is always complete, and every
     * other control (kTLS, peeking at the descriptor) is declined. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *get_bio_method(void)
{
    if (!bio_method) {
        bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gsock");
        if (!bio_method)
            return NULL;
        BIO_meth_set_write(bio_method, bio_write);
        BIO_meth_set_read(bio_method, bio_read);
        BIO_meth_set_ctrl(bio_method, bio_ctrl);
        BIO_meth_set_create(bio_method, bio_create);
    }
    return bio_method;
}

/*---------------------------------------------------------------------*
 *  Contexts
 *---------------------------------------------------------------------*/
/* A private key protected by a passphrase must fail the start, not ask for
 * the passphrase on the terminal of a server. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return 0;
}

/* OpenSSL's first queued reason, cleared; "unknown error" when none. */
static void ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, size);
    else
        snprintf(buf, size, "unknown error");
    ERR_clear_error();
}

static int fail_file(gobj_t *gobj, const char *what, const char *file)
{
    char reason[256];
    ssl_reason(reason, sizeof reason);
    char msg[1024];
    snprintf(msg, sizeof msg, "cannot load the TLS %s %s: %s", what, file, reason);
    gobj_log(GOBJ_LOG_ERROR, gobj, msg, "file", json_string(file), "error", json_string(reason),
             NULL);
    return GOBJ_ECONFIG;
}

static int fail_option(gobj_t *gobj, const char *key, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "ssl_options.%s: %s", key, why);
    gobj_log(GOBJ_LOG_ERROR, gobj, msg, "key", json_string(key), NULL);
    ERR_clear_error();
    return GOBJ_ECONFIG;
}

static int parse_version(const char *s)
{
    static const struct {
        const char *name;
        int v;
    } tab[] = {{"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(s, tab[i].name) == 0)
            return tab[i].v;
    return 0;
}

/* Check the keys and types of ssl_options; fills the string fields. */
static int check_options(gobj_t *gobj, const json_t *o, const char **s, int *verify,
                         int64_t *timeout)
{
    static const char *const strs[] = {"certfile",    "keyfile", "cafile",
                                       "server_name", "ciphers", "min_version"};
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)o, key, v) {
        size_t i;
        for (i = 0; i < 6 && strcmp(key, strs[i]) != 0; i++)
            ;
        if (i < 6) {
            if (!json_is_string(v))
                return fail_option(gobj, key, "expected a string");
            s[i] = json_string_value(v);
        } else if (strcmp(key, "verify_peer") == 0) {
            if (!json_is_boolean(v))
                return fail_option(gobj, key, "expected true or false");
            *verify = json_is_true(v);
        } else if (strcmp(key, "handshake_timeout") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return fail_option(gobj, key, "expected a positive integer (ms)");
            *timeout = json_integer_value(v);
        } else {
            return fail_option(gobj, key, "unknown option");
        }
    }
    return 0;
}

int gsock_tls__ctx_new(gobj_t *gobj, const json_t *ssl_options, bool server, gsock_tls_ctx_t **out)
{
    enum { CERT, KEY, CA, NAME, CIPHERS, MINV };
    const char *s[6] = {NULL, NULL, NULL, NULL, NULL, "TLSv1.2"};
    int verify = -1;
    int64_t timeout = 10000;
    *out = NULL;
    ERR_clear_error();
    int rc = check_options(gobj, ssl_options, s, &verify, &timeout);
    if (rc < 0)
        return rc;
    if (verify < 0)
        verify = !server; /* clients check the server; servers ask no certificate */
    int minv = parse_version(s[MINV]);
    if (!minv)
        return fail_option(gobj, "min_version", "expected \"TLSv1.2\" or \"TLSv1.3\"");
    if (server && (!s[CERT] || !s[KEY]))
        return fail_option(gobj, s[CERT] ? "keyfile" : "certfile",
                           "a TLS server needs certfile and keyfile");
    if (!server && (!s[CERT]) != (!s[KEY]))
        return fail_option(gobj, s[CERT] ? "keyfile" : "certfile",
                           "a client certificate needs both certfile and keyfile");

    gsock_tls_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return GOBJ_ENOMEM;
    c->refs = 1;
    c->server = server;
    c->verify = verify;
    c->handshake_timeout = timeout;
    if (s[NAME] && !(c->server_name = strdup(s[NAME]))) {
        free(c);
        return GOBJ_ENOMEM;
    }
    n_ctx++; /* from here gsock_tls__ctx_unref undoes everything */
    c->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c->ssl) {
        gsock_tls__ctx_unref(c);
        return fail_option(gobj, "certfile", "cannot create an OpenSSL context");
    }
    SSL_CTX_set_default_passwd_cb(c->ssl, no_passphrase);
    SSL_CTX_set_min_proto_version(c->ssl, minv);
    /* Partial writes let a large string go out as far as the socket takes
     * it; the queue keeps the rest and calls again with the same bytes,
     * which may sit at a new address after the ring grows. */
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION);
    /* One recv per burst of records instead of two per record (header,
     * then body); the reader drains what is buffered (gsock_tls__pending). */
    SSL_CTX_set_read_ahead(c->ssl, 1);

    rc = 0;
    if (s[CERT] && SSL_CTX_use_certificate_chain_file(c->ssl, s[CERT]) != 1)
        rc = fail_file(gobj, "certificate", s[CERT]);
    else if (s[KEY] && SSL_CTX_use_PrivateKey_file(c->ssl, s[KEY], SSL_FILETYPE_PEM) != 1)
        rc = fail_file(gobj, "private key", s[KEY]);
    else if (s[KEY] && SSL_CTX_check_private_key(c->ssl) != 1)
        rc = fail_file(gobj, "private key (it does not match the certificate)", s[KEY]);
    else if (s[CA] && SSL_CTX_load_verify_locations(c->ssl, s[CA], NULL) != 1)
        rc = fail_file(gobj, "CA file", s[CA]);
    else if (!s[CA] && verify && SSL_CTX_set_default_verify_paths(c->ssl) != 1)
        rc = fail_option(gobj, "cafile", "cannot load the system's trusted certificates");
    else if (s[CIPHERS] && SSL_CTX_set_cipher_list(c->ssl, s[CIPHERS]) != 1)
        rc = fail_option(gobj, "ciphers", "no cipher in the list is usable");
    if (rc < 0) {
        gsock_tls__ctx_unref(c);
        return rc;
    }
    if (verify) {
        int mode = SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
        SSL_CTX_set_verify(c->ssl, mode, NULL);
        if (server && s[CA]) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s[CA]);
            if (names)
                SSL_CTX_set_client_CA_list(c->ssl, names);
        }
    } else {
        SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    }
    if (server) {
        /* Resumed sessions of verified clients need an id context. */
        static const unsigned char sid[] = "ginsfsm";
        SSL_CTX_set_session_id_context(c->ssl, sid, sizeof sid - 1);
    }
    if (!get_bio_method()) {
        gsock_tls__ctx_unref(c);
        return GOBJ_ENOMEM;
    }
    ERR_clear_error();
    *out = c;
    return 0;
}

gsock_tls_ctx_t *gsock_tls__ctx_ref(gsock_tls_ctx_t *ctx)
{
    if (ctx)
        ctx->refs++;
    return ctx;
}

void gsock_tls__ctx_unref(gsock_tls_ctx_t *ctx)
{
    if (!ctx || --ctx->refs > 0)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx->server_name);
    free(ctx);
    if (--n_ctx == 0 && bio_method) {
        BIO_meth_free(bio_method);
        bio_method = NULL;
    }
}

int64_t gsock_tls__ctx_handshake_timeout(const gsock_tls_ctx_t *ctx)
{
    return ctx->handshake_timeout;
}

/*---------------------------------------------------------------------*
 *  Connections
 *---------------------------------------------------------------------*/
gsock_tls_t *gsock_tls__new(gsock_tls_ctx_t *ctx, gsock_transport_t *below, const char *host)
{
    ERR_clear_error();
    gsock_tls_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->below = below;
    t->ssl = SSL_new(ctx->ssl);
    BIO *bio = t->ssl ? BIO_new(bio_method) : NULL;
    if (!bio) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);
    t->ctx = gsock_tls__ctx_ref(ctx);
    if (ctx->server) {
        SSL_set_accept_state(t->ssl);
        return t;
    }
    SSL_set_connect_state(t->ssl);
    const char *name = ctx->server_name ? ctx->server_name : host;
    if (name && *name) {
        unsigned char addr[16];
        bool literal = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
        /* SNI carries host names only (RFC 6066); an address literal is
         * checked against the certificate's IP entries instead. */
        if (!literal)
            SSL_set_tlsext_host_name(t->ssl, name);
        if (ctx->verify) {
            if (literal)
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name);
            else
                SSL_set1_host(t->ssl, name);
        }
    }
    ERR_clear_error();
    return t;
}

void gsock_tls__shutdown(gsock_tls_t *t)
{
    ERR_clear_error();
    /* A healthy session says goodbye (close_notify), best effort: the
     * descriptor is about to close and nothing waits for the answer. */
    if (t->done && !t->broken && !t->eof)
        SSL_shutdown(t->ssl);
    t->broken = true; /* once */
    ERR_clear_error();
}

void gsock_tls__free(gsock_tls_t *t)
{
    if (!t)
        return;
    ERR_clear_error();
    SSL_free(t->ssl);
    ERR_clear_error();
    gsock_tls__ctx_unref(t->ctx);
    free(t);
}

/* Turn a failed SSL call into a code and a reason. */
static int failure(gsock_tls_t *t, int ret, char *why, size_t whylen, int *err)
{
    int e = SSL_get_error(t->ssl, ret);
    if (err)
        *err = 0;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return GSOCK_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return GSOCK_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(why, whylen, "peer closed");
        return GSOCK_TLS_CLOSED;
    default:
        break;
    }
    t->broken = true;
    if (t->eof) {
        snprintf(why, whylen, t->done ? "peer closed" : "peer closed during the TLS handshake");
        ERR_clear_error();
        return GSOCK_TLS_CLOSED;
    }
    if (e == SSL_ERROR_SYSCALL && t->last_err) {
        if (err)
            *err = t->last_err;
        snprintf(why, whylen, "%s", strerror(t->last_err));
        ERR_clear_error();
        return GSOCK_TLS_ERROR;
    }
    long vr = SSL_get_verify_result(t->ssl);
    if (!t->done && vr != X509_V_OK) {
        snprintf(why, whylen, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return GSOCK_TLS_ERROR;
    }
    ssl_reason(why, whylen);
    return GSOCK_TLS_ERROR;
}

int gsock_tls__handshake(gsock_tls_t *t, char *why, size_t whylen)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->done = true;
        return 1;
    }
    return failure(t, r, why, whylen, NULL);
}

ssize_t gsock_tls__read(gsock_tls_t *t, void *buf, size_t n, char *why, size_t whylen, int *err)
{
    ERR_clear_error();
    int r = SSL_read(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    int rc = failure(t, r, why, whylen, err);
    if (rc == GSOCK_TLS_CLOSED || rc == GSOCK_TLS_ERROR)
        t->ended = true;
    return rc;
}

bool gsock_tls__pending(const gsock_tls_t *t)
{
    /* An end found by a read is owed to the reader as well: the socket
     * will not signal a close_notify that OpenSSL has already read. */
    return t->ended || SSL_has_pending(t->ssl) != 0;
}

ssize_t gsock_tls__write(gsock_tls_t *t, const void *buf, size_t n, char *why, size_t whylen,
                         int *err)
{
    ERR_clear_error();
    int r = SSL_write(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    return failure(t, r, why, whylen, err);
}

json_t *gsock_tls__info(const gsock_tls_t *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(SSL_get_version(t->ssl)));
    json_object_set_new(o, "cipher", json_string(SSL_get_cipher_name(t->ssl)));
    if (t->ctx->verify && SSL_get_verify_result(t->ssl) == X509_V_OK) {
        X509 *cert = SSL_get_peer_certificate(t->ssl);
        if (cert) {
            char subject[512];
            BIO *mem = BIO_new(BIO_s_mem());
            if (mem) {
                X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
                int len = BIO_read(mem, subject, sizeof subject - 1);
                subject[len > 0 ? len : 0] = '\0';
                json_object_set_new(o, "peer_subject", json_string(subject));
                BIO_free(mem);
            }
            X509_free(cert);
        }
    }
    ERR_clear_error();
    return o;
}
