/*
 * transport_tls.c - the TLS layer of a GSock's transport stack.
 *
 * A thin adapter from the transport interface (transport.h) to a TLS
 * connection of tls.c, whose records travel on the layer below.  OpenSSL
 * reads ahead: records (and a close_notify) may be out of the socket and
 * inside OpenSSL, which pending() reports, so that GSock reads them without
 * waiting for a readiness the socket will never signal.
 */
#include <stdlib.h>

#include "tls.h"

typedef struct {
    gsock_transport_t head; /* first: the layer is its head */
    gsock_tls_t *tls;
} tls_layer_t;

static gsock_tls_t *tls_of(const gsock_transport_t *t)
{
    return ((const tls_layer_t *)t)->tls;
}

static int tls_handshake(gsock_transport_t *t, char *why, size_t whylen)
{
    return gsock_tls__handshake(tls_of(t), why, whylen);
}

static ssize_t tls_read(gsock_transport_t *t, void *buf, size_t n, char *why, size_t whylen,
                        int *err)
{
    return gsock_tls__read(tls_of(t), buf, n, why, whylen, err);
}

/* One entry at a time (iov_max 1): a write that must be retried is retried
 * with the same bytes, which the head of the caller's queue keeps.  A
 * partial SSL_write takes one record; the loop goes on until the layer
 * below is full, so that a short count means "full", as on a socket. */
static ssize_t tls_writev(gsock_transport_t *t, const struct iovec *iov, int iovcnt, char *why,
                          size_t whylen, int *err)
{
    (void)iovcnt;
    const char *p = iov[0].iov_base;
    size_t len = iov[0].iov_len, off = 0;
    while (off < len) {
        ssize_t n = gsock_tls__write(tls_of(t), p + off, len - off, why, whylen, err);
        if (n < 0)
            return off ? (ssize_t)off : n; /* an error shows again on the next call */
        off += (size_t)n;
    }
    return (ssize_t)off;
}

static bool tls_pending(const gsock_transport_t *t)
{
    return gsock_tls__pending(tls_of(t));
}

static json_t *tls_info(const gsock_transport_t *t)
{
    return gsock_tls__info(tls_of(t));
}

static void tls_shutdown(gsock_transport_t *t)
{
    gsock_tls__shutdown(tls_of(t));
}

static void tls_free(gsock_transport_t *t)
{
    gsock_tls__free(tls_of(t));
    free(t);
}

static const gsock_transport_ops_t tls_ops = {
    .name = "tls",
    .iov_max = 1,
    .handshake = tls_handshake,
    .read = tls_read,
    .writev = tls_writev,
    .pending = tls_pending,
    .info = tls_info,
    .shutdown = tls_shutdown,
    .free = tls_free,
};

gsock_transport_t *gsock_transport__tls_new(gsock_tls_ctx_t *ctx, gsock_transport_t *below,
                                            const char *host)
{
    tls_layer_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->tls = gsock_tls__new(ctx, below, host);
    if (!l->tls) {
        free(l);
        return NULL;
    }
    l->head.ops = &tls_ops;
    l->head.below = below;
    l->head.fd = below->fd;
    return &l->head;
}
