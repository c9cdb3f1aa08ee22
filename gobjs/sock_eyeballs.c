/*
 * sock_eyeballs.c - GSock: Happy Eyeballs (RFC 8305) for a client whose
 * host name resolved to several addresses.
 *
 * The addresses are put in the order RFC 8305 section 4 asks for: IPv6
 * first, then IPv4, alternating (each family keeps the resolver's order).
 * With happy_eyeballs_delay > 0 and more than one address, the attempts
 * race: the first starts at once; while none has connected, the next
 * address's attempt starts each happy_eyeballs_delay ms (the "connection
 * attempt delay"), the earlier ones staying in flight; an attempt that
 * fails (refused, unreachable) starts the next one at once.  The first
 * attempt whose TCP connect completes wins: every other attempt is closed
 * (its socket and its libevent event), and the winner becomes the GSock's
 * descriptor, which goes on as any connected client does (TLS handshake,
 * EV_CONNECTED).  connect_timeout bounds the whole race; when every
 * attempt fails, the GSock reports the last failure, once, as it does for
 * a single address.  With happy_eyeballs_delay 0 (or one address) the
 * addresses are tried one after another (sock_connect.c).
 *
 * While racing, priv->fd stays -1 and the attempts live here, each with a
 * one-shot write event of its own.  The event's callback only marks its
 * attempt and sends EV_GSOCK_WRITABLE, as the single-address write event
 * does; the decisions are taken in ac_connect_result and in the connect
 * timer's action, through gsock__eyeballs_writable and
 * gsock__eyeballs_timer.  A close, stop, drop or destroy frees the race
 * (gsock__eyeballs_cancel, called by release_fd): every attempt's event is
 * freed before its socket closes, so no callback can come afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>
#include <event2/util.h>

typedef struct gsock_attempt gsock_attempt_t;

struct gsock_attempt {
    gsock_eyeballs_t *eb;
    int fd;              /* -1 = not in flight */
    struct event *ev;    /* EV_WRITE, one-shot: the connect finished */
    bool done;           /* the event fired: SO_ERROR has the outcome */
    struct addrinfo *ai; /* its address (in priv->ai_list) */
};

struct gsock_eyeballs {
    gobj_t *gobj;
    gsock_attempt_t *at; /* one slot per address */
    size_t n_at;
    size_t n_live;    /* attempts in flight */
    uint64_t next_at; /* ms: when the next address starts; 0 = none due */
};

/*---------------------------------------------------------------------*
 *  Order
 *---------------------------------------------------------------------*/
/* Relink the list in RFC 8305 order: IPv6 first, then the other family,
 * alternating, each family in the resolver's order. */
static void order_addrs(struct addrinfo **list)
{
    struct addrinfo *v6 = NULL, *other = NULL;
    struct addrinfo **t6 = &v6, **to = &other;
    for (struct addrinfo *ai = *list; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET6) {
            *t6 = ai;
            t6 = &ai->ai_next;
        } else {
            *to = ai;
            to = &ai->ai_next;
        }
    }
    *t6 = *to = NULL;
    /* Relinked in place: the nodes stay the resolver's, freed as one list. */
    struct addrinfo **tail = list;
    while (v6 || other) {
        if (v6) {
            *tail = v6;
            tail = &v6->ai_next;
            v6 = v6->ai_next;
        }
        if (other) {
            *tail = other;
            tail = &other->ai_next;
            other = other->ai_next;
        }
    }
    *tail = NULL;
}

/*---------------------------------------------------------------------*
 *  Loop glue
 *---------------------------------------------------------------------*/
static void on_attempt_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gsock_attempt_t *a = arg;
    gobj_t *gobj = a->eb->gobj;
    a->done = true;
    gobj_send_event(gobj, EV_GSOCK_WRITABLE, NULL, gobj);
}

/*---------------------------------------------------------------------*
 *  Attempts
 *---------------------------------------------------------------------*/
static void attempt_close(gsock_eyeballs_t *eb, gsock_attempt_t *a)
{
    if (a->fd < 0)
        return;
    /* The event first: once it is freed no callback can name the slot. */
    if (a->ev)
        event_free(a->ev);
    a->ev = NULL;
    close(a->fd);
    a->fd = -1;
    a->done = false;
    eb->n_live--;
}

static void set_peername(sock_priv_t *priv, const struct addrinfo *ai)
{
    char buf[GSOCK_ADDRSTRLEN];
    gsock__set_str(&priv->peername,
                   gsock__format_addr(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf));
}

/* Start one attempt to ai in slot a.  Returns 0 or an errno value. */
static int attempt_start(gsock_eyeballs_t *eb, gsock_attempt_t *a, struct addrinfo *ai)
{
    a->ai = ai;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return err;
    }
    /* The outcome is read when the socket is writable, on a later turn. */
    a->ev = event_new(gobj_loop_base(), fd, EV_WRITE, on_attempt_writable, a);
    if (!a->ev || event_add(a->ev, NULL) < 0) {
        if (a->ev)
            event_free(a->ev);
        a->ev = NULL;
        close(fd);
        return ENOMEM;
    }
    a->fd = fd;
    a->done = false;
    eb->n_live++;
    return 0;
}

/* Start the next address's attempt; one that fails at once (no route, no
 * such family) gives way to the next at once.  Returns true if one
 * started; else conn_err holds the last error. */
static bool start_next(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_eyeballs_t *eb = priv->eb;
    while (priv->ai_next) {
        struct addrinfo *ai = priv->ai_next;
        priv->ai_next = ai->ai_next;
        gsock_attempt_t *a = NULL;
        for (size_t i = 0; i < eb->n_at && !a; i++)
            if (eb->at[i].fd < 0 && !eb->at[i].ai)
                a = &eb->at[i];
        if (!a) {
            priv->conn_err = ENOMEM; /* more addresses than counted: a bug */
            break;
        }
        set_peername(priv, ai);
        int err = attempt_start(eb, a, ai);
        if (!err) {
            eb->next_at =
                priv->ai_next ? gobj_loop_now_msec() + (uint64_t)priv->happy_eyeballs_delay : 0;
            return true;
        }
        priv->conn_err = err;
    }
    eb->next_at = 0;
    return false;
}

/* Nothing in flight and nothing left: the race is lost. */
static void race_lost(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock__eyeballs_cancel(priv);
    gsock__connect_failed(gobj);
}

/*---------------------------------------------------------------------*
 *  The race
 *---------------------------------------------------------------------*/
static bool race_start(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    size_t n = 0;
    for (struct addrinfo *ai = priv->ai_next; ai; ai = ai->ai_next)
        n++;
    gsock_eyeballs_t *eb = calloc(1, sizeof *eb);
    gsock_attempt_t *at = eb ? calloc(n, sizeof *at) : NULL;
    if (!at) {
        free(eb);
        priv->conn_err = ENOMEM;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        at[i].eb = eb;
        at[i].fd = -1;
    }
    eb->gobj = gobj;
    eb->at = at;
    eb->n_at = n;
    priv->eb = eb;
    if (start_next(gobj))
        return true;
    gsock__eyeballs_cancel(priv);
    return false;
}

bool gsock__eyeballs_connect(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    order_addrs(&priv->ai_list);
    priv->ai_next = priv->ai_list;
    /* One address, or no delay: one after another, as without a race. */
    if (priv->happy_eyeballs_delay <= 0 || !priv->ai_next || !priv->ai_next->ai_next)
        return gsock__connect_next(gobj);
    return race_start(gobj);
}

void gsock__eyeballs_cancel(sock_priv_t *priv)
{
    gsock_eyeballs_t *eb = priv->eb;
    if (!eb)
        return;
    priv->eb = NULL;
    for (size_t i = 0; i < eb->n_at; i++)
        attempt_close(eb, &eb->at[i]);
    free(eb->at);
    free(eb);
}

uint64_t gsock__eyeballs_due(const sock_priv_t *priv)
{
    return priv->eb ? priv->eb->next_at : 0;
}

/* The winner's descriptor becomes the GSock's; the others are closed. */
static bool adopt_winner(gobj_t *gobj, gsock_attempt_t *w)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_eyeballs_t *eb = priv->eb;
    int fd = w->fd;
    struct addrinfo *ai = w->ai;
    event_free(w->ev);
    w->ev = NULL;
    w->fd = -1;
    eb->n_live--;
    gsock__eyeballs_cancel(priv); /* the losers */
    set_peername(priv, ai);
    priv->fd = fd;
    gsock_transport__plain_init(&priv->plain, fd);
    priv->tr = &priv->plain;
    if (gsock__make_events(gobj) < 0) {
        gsock__free_events(priv);
        close(fd);
        priv->fd = -1;
        priv->tr = NULL;
        priv->conn_err = ENOMEM;
        gsock__connect_failed(gobj);
        return false;
    }
    return true;
}

bool gsock__eyeballs_writable(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_eyeballs_t *eb = priv->eb;
    bool failed = false;
    for (size_t i = 0; i < eb->n_at; i++) {
        gsock_attempt_t *a = &eb->at[i];
        if (a->fd < 0 || !a->done)
            continue;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (!err)
            return adopt_winner(gobj, a);
        /* This one failed: its address and error are the ones a final
         * failure reports, unless a later one fails too. */
        set_peername(priv, a->ai);
        priv->conn_err = err;
        attempt_close(eb, a);
        failed = true;
    }
    /* A failure gives the next address its turn at once. */
    if (failed && !start_next(gobj) && eb->n_live == 0) {
        race_lost(gobj);
        return false;
    }
    gsock__rearm_timer(gobj);
    return false;
}

bool gsock__eyeballs_timer(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_eyeballs_t *eb = priv->eb;
    if (!eb)
        return false;
    uint64_t now = gobj_loop_now_msec();
    if (priv->connect_deadline && now >= priv->connect_deadline) {
        gsock__eyeballs_cancel(priv);
        priv->conn_err = 0;
        priv->gai_err = 0;
        gsock__connect_failed(gobj); /* "connect timeout" */
        return true;
    }
    if (eb->next_at && now >= eb->next_at && !start_next(gobj) && eb->n_live == 0) {
        race_lost(gobj);
        return true;
    }
    gsock__rearm_timer(gobj);
    return true;
}
