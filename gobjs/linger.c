/*
 * linger.c - closing a connection without losing what the peer has not read.
 *
 * close() on a TCP socket that still has unread input (or that receives
 * more afterwards) makes the kernel answer with a reset, and a reset makes
 * the peer's kernel discard whatever it had received but the peer had not
 * read yet: the end of a reply we did send.  So a socket we close while the
 * peer may still be sending is shut for writing (our FIN follows the data),
 * and what arrives afterwards is read and thrown away until the peer closes
 * too or LINGER_MSEC passes; only then is the descriptor closed.  (nginx
 * calls this a lingering close.)  The sockets being closed belong to no
 * gobj: the GSock that had one is already disconnected, maybe destroyed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ginsfsm/loop.h"
#include "sock_internal.h"

/* Long enough for a peer that reads its replies to finish reading them and
 * close, short enough that a peer that never stops sending costs nothing
 * for long. */
#define LINGER_MSEC 2000
/* Reads per wake-up: a peer flooding us must not hold the loop. */
#define LINGER_READS 16

struct lingering_fd {
    int fd;
    struct event *ev;
    struct lingering_fd *prev, *next;
};

static struct lingering_fd *lingering;
static bool hooked;

/* Read and discard what is there.  Returns true when the socket is done:
 * the peer closed, or it failed. */
static bool drain(int fd)
{
    static char sink[16384];
    for (int i = 0; i < LINGER_READS; i++) {
        ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return false;
        return true;
    }
    return false;
}

static void finish(struct lingering_fd *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        lingering = l->next;
    if (l->next)
        l->next->prev = l->prev;
    event_free(l->ev);
    close(l->fd);
    free(l);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    struct lingering_fd *l = arg;
    if ((what & EV_TIMEOUT) || drain(fd))
        finish(l);
}

static void finish_all(void *user)
{
    (void)user;
    while (lingering)
        finish(lingering);
    hooked = false;
}

void gsock__close_lingering(int fd)
{
    /* Our FIN goes after everything already written. */
    if (shutdown(fd, SHUT_WR) < 0 || drain(fd)) {
        close(fd);
        return;
    }
    struct event_base *base = gobj_loop_base();
    struct lingering_fd *l = base ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        close(fd);
        return;
    }
    l->fd = fd;
    l->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_linger, l);
    struct timeval tv = {LINGER_MSEC / 1000, (LINGER_MSEC % 1000) * 1000};
    if (!l->ev || event_add(l->ev, &tv) < 0 ||
        (!hooked && gobj_loop_on_free(finish_all, NULL) < 0)) {
        if (l->ev)
            event_free(l->ev);
        free(l);
        close(fd);
        return;
    }
    hooked = true;
    l->next = lingering;
    if (lingering)
        lingering->prev = l;
    lingering = l;
}
