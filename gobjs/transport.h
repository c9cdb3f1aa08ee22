/*
 * transport.h - private: the byte transport under a GSock.
 *
 * GSock's machine has one path for the handshake, reading, writing and
 * closing; what moves the bytes is a small stack of transports below it, as
 * libevent's bufferevent filters are: the plain one on the descriptor at the
 * bottom, TLS on top of it (transport_tls.c, over tls.c), and later the
 * PROXY header and framing, each taking its bytes from the layer below.
 *
 * The contract every layer keeps:
 *   - No call blocks.  A call that cannot proceed answers
 *     GSOCK_IO_WANT_READ or GSOCK_IO_WANT_WRITE, naming what the socket
 *     must become before the same call is made again.
 *   - read() may consume bytes from the layer below before it returns any
 *     (a TLS record, a PROXY header); bytes it already holds and has not
 *     returned make pending() true.  The socket does not signal those bytes,
 *     so GSock reads again, without waiting, whenever pending() holds: after
 *     a read that filled its buffer, after the handshake, and whenever
 *     reading resumes after backpressure.  An end found by a read (a close,
 *     an error) is pending too, until a read reports it again.
 *   - writev() writes from the front of the iovec and returns the count it
 *     took; after GSOCK_IO_WANT_* the next call passes the same bytes again
 *     (at any address).  iov_max is how many entries one call looks at.
 *   - handshake (NULL when there is none) runs before the first read or
 *     write; shutdown says goodbye (TLS close_notify) without blocking; free
 *     releases the layer (not the descriptor, which GSock closes).
 */
#ifndef GINSFSM_GOBJS_TRANSPORT_H
#define GINSFSM_GOBJS_TRANSPORT_H

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ginsfsm/gobj.h"

typedef struct gsock_transport gsock_transport_t;

/* Results that are not byte counts (the same values as GSOCK_TLS_*). */
enum {
    GSOCK_IO_WANT_READ = -1,  /* call again when the socket is readable */
    GSOCK_IO_WANT_WRITE = -2, /* call again when the socket is writable */
    GSOCK_IO_CLOSED = -3,     /* the peer closed: why says how */
    GSOCK_IO_ERROR = -4,      /* fatal: why and *err (an errno value or 0) */
};

typedef struct {
    const char *name; /* "plain", "tls"; also the key of info() in EV_CONNECTED */
    int iov_max;      /* entries one writev looks at */
    /* Returns: 1 done, GSOCK_IO_WANT_*, GSOCK_IO_CLOSED or _ERROR (why). */
    int (*handshake)(gsock_transport_t *t, char *why, size_t whylen);
    /* Returns: > 0 bytes, or a GSOCK_IO_* code. */
    ssize_t (*read)(gsock_transport_t *t, void *buf, size_t n, char *why, size_t whylen, int *err);
    /* Returns: > 0 bytes taken, or a GSOCK_IO_* code. */
    ssize_t (*writev)(gsock_transport_t *t, const struct iovec *iov, int iovcnt, char *why,
                      size_t whylen, int *err);
    /* NULL when the layer never holds bytes (plain). */
    bool (*pending)(const gsock_transport_t *t);
    /* NULL when there is nothing to say; new when not NULL. */
    json_t *(*info)(const gsock_transport_t *t);
    void (*shutdown)(gsock_transport_t *t);
    void (*free)(gsock_transport_t *t);
} gsock_transport_ops_t;

/* The head of every layer; a layer's own struct starts with it. */
struct gsock_transport {
    const gsock_transport_ops_t *ops;
    gsock_transport_t *below; /* NULL at the bottom */
    int fd;                   /* the descriptor, for the bottom layer */
};

/* The bottom layer, embedded in the GSock (nothing to allocate): recv and
 * send(MSG_NOSIGNAL) / sendmsg on fd. */
void gsock_transport__plain_init(gsock_transport_t *t, int fd);
extern const gsock_transport_ops_t gsock_transport__plain_ops;
ssize_t gsock_transport__plain_read(gsock_transport_t *t, void *buf, size_t n, char *why,
                                    size_t whylen, int *err);
ssize_t gsock_transport__plain_writev(gsock_transport_t *t, const struct iovec *iov, int iovcnt,
                                      char *why, size_t whylen, int *err);

/* The reason of the last failed gsock_transport__read / __write (the loop
 * is single-threaded; read it before the next call). */
extern char gsock__io_why[256];

/* A plain recv (writing false) or send that did not move bytes, as a
 * GSOCK_IO_* code: 0 read is CLOSED, EAGAIN and EINTR are WANT_*. */
ssize_t gsock_transport__plain_result(ssize_t r, int e, bool writing, char *why, size_t whylen,
                                      int *err);

/* The top layer's read and write of one buffer, as GSock's hot path calls
 * them: when the stack is the plain layer alone, the syscall is made here
 * and only an unusual result goes out of line (the full plain call). */
static inline ssize_t gsock_transport__read(gsock_transport_t *t, void *buf, size_t n, int *err)
{
    if (t->ops == &gsock_transport__plain_ops) {
        ssize_t r = recv(t->fd, buf, n, 0);
        if (r > 0)
            return r;
        return gsock_transport__plain_result(r, errno, false, gsock__io_why, sizeof gsock__io_why,
                                             err);
    }
    return t->ops->read(t, buf, n, gsock__io_why, sizeof gsock__io_why, err);
}

static inline ssize_t gsock_transport__write(gsock_transport_t *t, const void *p, size_t n,
                                             int *err)
{
    if (t->ops == &gsock_transport__plain_ops) {
        ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        return gsock_transport__plain_result(r, errno, true, gsock__io_why, sizeof gsock__io_why,
                                             err);
    }
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    return t->ops->writev(t, &iov, 1, gsock__io_why, sizeof gsock__io_why, err);
}

static inline bool gsock_transport__pending(const gsock_transport_t *t)
{
    return t->ops->pending && t->ops->pending(t);
}

/* Shut down and free every layer from t down to (not including) bottom. */
void gsock_transport__release(gsock_transport_t *t, gsock_transport_t *bottom);

#endif /* GINSFSM_GOBJS_TRANSPORT_H */
