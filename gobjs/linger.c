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
 *
 * The LINGER_MSEC deadline is absolute, counted from the close: a peer that
 * keeps sending a byte now and then must not keep the descriptor for ever.
 * A socket a server accepted is charged to that server's account while it
 * lingers (linger.h), so that max_connections bounds the descriptors its
 * clients hold, lingering ones included.
 *
 * The loop being freed (the process is about to exit, say after a graceful
 * stop) does not cut the lingering closes short: closing them all at once
 * would reset every client still reading the end of its replies while its
 * own last bytes arrive.  gobj_loop_free waits for them (poll), each until
 * its peer closes or its own deadline, so at most LINGER_MSEC.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ginsfsm/loop.h"
#include "linger.h"
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
    uint64_t deadline;         /* gobj_loop_now_msec() at which the close is forced */
    gsock_linger_acct_t *acct; /* NULL: nobody counts this one */
    struct lingering_fd *prev, *next;
};

/* A descriptor a server accepted: the socket (by inode) and its account. */
typedef struct {
    ino_t ino;
    gsock_linger_acct_t *acct;
} linger_mark_t;

static struct lingering_fd *lingering;
static linger_mark_t *marks; /* indexed by descriptor */
static size_t n_marks;
static bool hooked;

/*---------------------------------------------------------------------*
 *  Accounts and marks
 *---------------------------------------------------------------------*/
gsock_linger_acct_t *gsock__linger_acct_new(void (*on_done)(void *user), void *user)
{
    gsock_linger_acct_t *a = calloc(1, sizeof *a);
    if (a) {
        a->refs = 1;
        a->on_done = on_done;
        a->user = user;
    }
    return a;
}

static void acct_release(gsock_linger_acct_t *a)
{
    if (a && --a->refs == 0)
        free(a);
}

void gsock__linger_acct_close(gsock_linger_acct_t *a)
{
    if (!a)
        return;
    a->on_done = NULL;
    a->user = NULL;
    acct_release(a);
}

static void finish_all(void *user);

/* Everything here is released when the loop is freed. */
static bool hook(void)
{
    if (!hooked && gobj_loop_on_free(finish_all, NULL) == 0)
        hooked = true;
    return hooked;
}

void gsock__linger_expect(int fd, gsock_linger_acct_t *acct)
{
    struct stat st;
    if (fd < 0 || !acct || fstat(fd, &st) < 0 || !hook())
        return;
    if ((size_t)fd >= n_marks) {
        size_t n = n_marks ? n_marks : 64;
        while (n <= (size_t)fd)
            n *= 2;
        linger_mark_t *m = realloc(marks, n * sizeof *m);
        if (!m)
            return; /* not counted: the close still happens */
        for (size_t i = n_marks; i < n; i++)
            m[i] = (linger_mark_t){0, NULL};
        marks = m;
        n_marks = n;
    }
    acct_release(marks[fd].acct); /* a stale mark: that socket is gone */
    marks[fd].ino = st.st_ino;
    marks[fd].acct = acct;
    acct->refs++;
}

/* The account fd was accepted for, if fd is still that socket (new
 * reference), else NULL.  The mark is used up either way. */
static gsock_linger_acct_t *take_mark(int fd)
{
    if (fd < 0 || (size_t)fd >= n_marks || !marks[fd].acct)
        return NULL;
    gsock_linger_acct_t *a = marks[fd].acct;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && st.st_ino == marks[fd].ino;
    marks[fd].acct = NULL;
    if (same)
        return a;
    acct_release(a);
    return NULL;
}

/*---------------------------------------------------------------------*
 *  Lingering closes
 *---------------------------------------------------------------------*/
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

/* Close for good.  notify: tell the account's server (not while the loop
 * is being freed). */
static void finish(struct lingering_fd *l, bool notify)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        lingering = l->next;
    if (l->next)
        l->next->prev = l->prev;
    event_free(l->ev);
    close(l->fd);
    gsock_linger_acct_t *a = l->acct;
    free(l);
    if (a) {
        a->n_lingering--;
        /* The server may destroy itself from here: the account is still
         * ours to release afterwards. */
        if (notify && a->on_done)
            a->on_done(a->user);
        acct_release(a);
    }
}

static struct timeval remaining(uint64_t deadline)
{
    uint64_t now = gobj_loop_now_msec();
    uint64_t ms = deadline > now ? deadline - now : 0;
    return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    struct lingering_fd *l = arg;
    if ((what & EV_TIMEOUT) || drain(fd) || gobj_loop_now_msec() >= l->deadline) {
        finish(l, true);
        return;
    }
    /* Not persistent: a persistent event would restart its timeout at each
     * read, and a trickling peer would keep the descriptor for ever. */
    struct timeval tv = remaining(l->deadline);
    if (event_add(l->ev, &tv) < 0)
        finish(l, true);
}

/* Wait, without the loop, until every lingering close is over: its peer
 * closed, or its deadline passed. */
static void settle_all(void)
{
    size_t cap = 0;
    for (struct lingering_fd *l = lingering; l; l = l->next)
        cap++;
    struct pollfd *pf = calloc(cap ? cap : 1, sizeof *pf);
    struct lingering_fd **ls = calloc(cap ? cap : 1, sizeof *ls);
    while (pf && ls && lingering) {
        uint64_t now = gobj_loop_now_msec();
        uint64_t first = UINT64_MAX;
        nfds_t n = 0;
        for (struct lingering_fd *l = lingering, *next; l; l = next) {
            next = l->next;
            if (l->deadline <= now) {
                finish(l, false);
                continue;
            }
            if (l->deadline < first)
                first = l->deadline;
            pf[n] = (struct pollfd){.fd = l->fd, .events = POLLIN};
            ls[n++] = l;
        }
        if (!n)
            break;
        int rc = poll(pf, n, (int)(first - now));
        if (rc < 0 && errno != EINTR)
            break;
        for (nfds_t i = 0; i < n && rc > 0; i++)
            if (pf[i].revents && drain(pf[i].fd))
                finish(ls[i], false);
    }
    free(pf);
    free(ls);
}

static void finish_all(void *user)
{
    (void)user;
    settle_all();
    while (lingering)
        finish(lingering, false);
    for (size_t i = 0; i < n_marks; i++)
        acct_release(marks[i].acct);
    free(marks);
    marks = NULL;
    n_marks = 0;
    hooked = false;
}

void gsock__close_lingering(int fd)
{
    gsock_linger_acct_t *acct = take_mark(fd);
    /* Our FIN goes after everything already written. */
    if (shutdown(fd, SHUT_WR) < 0 || drain(fd)) {
        close(fd);
        acct_release(acct);
        return;
    }
    struct event_base *base = gobj_loop_base();
    struct lingering_fd *l = base && hook() ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        close(fd);
        acct_release(acct);
        return;
    }
    l->fd = fd;
    l->deadline = gobj_loop_now_msec() + LINGER_MSEC;
    l->ev = event_new(base, fd, EV_READ, on_linger, l);
    struct timeval tv = remaining(l->deadline);
    if (!l->ev || event_add(l->ev, &tv) < 0) {
        if (l->ev)
            event_free(l->ev);
        free(l);
        close(fd);
        acct_release(acct);
        return;
    }
    l->acct = acct;
    if (acct)
        acct->n_lingering++;
    l->next = lingering;
    if (lingering)
        lingering->prev = l;
    lingering = l;
}
