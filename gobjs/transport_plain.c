/*
 * transport_plain.c - the bottom transport of a GSock: the descriptor.
 *
 * One recv per read and one send (or one sendmsg over the queue) per write,
 * as the code before the seam did: the plain echo costs no more for it.
 * Every write uses MSG_NOSIGNAL, so a reset peer never raises SIGPIPE.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "transport.h"

/* An errno value as a GSOCK_IO_* code. */
static ssize_t io_error(int e, char *why, size_t whylen, int *err)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return GSOCK_IO_WANT_READ;
    *err = e;
    snprintf(why, whylen, "%s", strerror(e));
    return GSOCK_IO_ERROR;
}

ssize_t gsock_transport__plain_read(gsock_transport_t *t, void *buf, size_t n, char *why,
                                    size_t whylen, int *err)
{
    ssize_t r;
    do {
        r = recv(t->fd, buf, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r > 0)
        return r;
    if (r == 0) {
        snprintf(why, whylen, "peer closed");
        return GSOCK_IO_CLOSED;
    }
    return io_error(errno, why, whylen, err);
}

ssize_t gsock_transport__plain_writev(gsock_transport_t *t, const struct iovec *iov, int iovcnt,
                                      char *why, size_t whylen, int *err)
{
    ssize_t r;
    do {
        if (iovcnt == 1) {
            r = send(t->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
        } else {
            struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
            r = sendmsg(t->fd, &m, MSG_NOSIGNAL);
        }
    } while (r < 0 && errno == EINTR);
    if (r >= 0)
        return r;
    r = io_error(errno, why, whylen, err);
    return r == GSOCK_IO_WANT_READ ? GSOCK_IO_WANT_WRITE : r;
}

static void plain_nothing(gsock_transport_t *t)
{
    (void)t;
}

char gsock__io_why[256];

ssize_t gsock_transport__plain_result(ssize_t r, int e, bool writing, char *why, size_t whylen,
                                      int *err)
{
    if (r == 0 && !writing) {
        snprintf(why, whylen, "peer closed");
        return GSOCK_IO_CLOSED;
    }
    if (e == EINTR)
        return writing ? GSOCK_IO_WANT_WRITE : GSOCK_IO_WANT_READ; /* the event fires again */
    r = io_error(e, why, whylen, err);
    return r == GSOCK_IO_WANT_READ && writing ? GSOCK_IO_WANT_WRITE : r;
}

const gsock_transport_ops_t gsock_transport__plain_ops = {
    .name = "plain",
    .iov_max = 64,
    .handshake = NULL,
    .read = gsock_transport__plain_read,
    .writev = gsock_transport__plain_writev,
    .pending = NULL,
    .info = NULL,
    .shutdown = plain_nothing,
    .free = plain_nothing,
};

void gsock_transport__plain_init(gsock_transport_t *t, int fd)
{
    t->ops = &gsock_transport__plain_ops;
    t->below = NULL;
    t->fd = fd;
}

void gsock_transport__release(gsock_transport_t *t, gsock_transport_t *bottom)
{
    while (t && t != bottom) {
        gsock_transport_t *below = t->below;
        t->ops->shutdown(t);
        t->ops->free(t);
        t = below;
    }
}
