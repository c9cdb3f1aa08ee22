/*
 * tls.h - private: the one TLS layer that GSock and GServerSock drive.
 *
 * Only gobjs/tls.c includes OpenSSL.  A context
 * (gsock_tls_ctx_t) is built from an `ssl_options` object when the gobj
 * starts, with every file loaded and checked then; a connection
 * (gsock_tls_t) runs on the transport layer below it (transport.h).  The connection calls
 * never block: they answer GSOCK_TLS_WANT_READ / GSOCK_TLS_WANT_WRITE and
 * the socket code arms the matching libevent event and calls again.
 */
#ifndef GINSFSM_GOBJS_TLS_H
#define GINSFSM_GOBJS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ginsfsm/gobj.h"
#include "transport.h"

typedef struct gsock_tls_ctx gsock_tls_ctx_t;
typedef struct gsock_tls gsock_tls_t;

/* Results of the connection calls below that are not byte counts. */
enum {
    GSOCK_TLS_WANT_READ = GSOCK_IO_WANT_READ,   /* call again when readable */
    GSOCK_TLS_WANT_WRITE = GSOCK_IO_WANT_WRITE, /* call again when writable */
    GSOCK_TLS_CLOSED = GSOCK_IO_CLOSED,         /* the peer closed (close_notify or TCP EOF) */
    GSOCK_TLS_ERROR = GSOCK_IO_ERROR,           /* fatal: the reason is in the caller's buffer */
};

/*
 * Build a context from ssl_options (borrowed).  server selects the role and
 * the defaults (verify_peer is false on servers, true on clients).  Every
 * file is read now; an unknown key, a wrong type, a missing, unreadable,
 * mismatched or passphrase-protected certificate or key is logged once on
 * gobj, naming the file and OpenSSL's reason.
 * Returns: 0 and *out (one reference), or GOBJ_ECONFIG / GOBJ_ENOMEM.
 */
int gsock_tls__ctx_new(gobj_t *gobj, const json_t *ssl_options, bool server, gsock_tls_ctx_t **out);
/* References: a server's context is shared by the GSocks it accepted. */
gsock_tls_ctx_t *gsock_tls__ctx_ref(gsock_tls_ctx_t *ctx);
void gsock_tls__ctx_unref(gsock_tls_ctx_t *ctx);
/* ms; > 0. */
int64_t gsock_tls__ctx_handshake_timeout(const gsock_tls_ctx_t *ctx);

/*
 * A connection whose records travel on the transport below (borrowed: it
 * must outlive the connection; the plain layer of a nonblocking
 * descriptor).  host is the client's destination, used for SNI and the
 * name check unless ssl_options.server_name is set; NULL on the server side.
 * Returns: new, or NULL (out of memory).
 */
gsock_tls_t *gsock_tls__new(gsock_tls_ctx_t *ctx, gsock_transport_t *below, const char *host);
/* Send close_notify when the session is healthy (one nonblocking try). */
void gsock_tls__shutdown(gsock_tls_t *t);
/* Free (no close_notify: gsock_tls__shutdown first).  NULL is accepted. */
void gsock_tls__free(gsock_tls_t *t);

/* The TLS layer of a GSock's transport stack (transport_tls.c), on top of
 * below.  Returns: new, or NULL (out of memory). */
gsock_transport_t *gsock_transport__tls_new(gsock_tls_ctx_t *ctx, gsock_transport_t *below,
                                            const char *host);

/* Advance the handshake.  Returns: 1 done, GSOCK_TLS_WANT_*, or
 * GSOCK_TLS_ERROR / GSOCK_TLS_CLOSED with the reason in why. */
int gsock_tls__handshake(gsock_tls_t *t, char *why, size_t whylen);

/* Read up to n bytes.  Returns: > 0, or a GSOCK_TLS_* code (why and *err,
 * an errno value or 0, describe an error). */
ssize_t gsock_tls__read(gsock_tls_t *t, void *buf, size_t n, char *why, size_t whylen, int *err);

/* Decrypted or raw bytes are buffered inside OpenSSL (read-ahead), or a
 * read already found the end of the session: the socket may not signal
 * readable for them, so read again while this holds. */
bool gsock_tls__pending(const gsock_tls_t *t);

/* Write up to n bytes of buf; after GSOCK_TLS_WANT_* the next call must
 * pass the same bytes again (the same pointer is not required).
 * Returns: the count written (> 0), or a GSOCK_TLS_* code. */
ssize_t gsock_tls__write(gsock_tls_t *t, const void *buf, size_t n, char *why, size_t whylen,
                         int *err);

/* The session, for EV_CONNECTED: {version, cipher, peer_subject?} (new). */
json_t *gsock_tls__info(const gsock_tls_t *t);

#endif /* GINSFSM_GOBJS_TLS_H */
