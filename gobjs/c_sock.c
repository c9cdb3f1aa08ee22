/*
 * c_sock.c - GSock: one stream connection (TCP over IPv4 or IPv6, or a unix
 * socket), accepted by a GServerSock or connected as a client.
 *
 * What it is
 *   The socket is driven with libevent's low-level event API on the process
 *   loop: a persistent read event, and a write event armed only while output
 *   is queued.  Every byte received is published as EV_RX_DATA; every
 *   EV_SEND_DATA is written at once when nothing is queued, and only the part
 *   the kernel did not take is queued, as a reference to the caller's JSON
 *   string (no copy).  Output events are published; at create the GSock
 *   subscribes its subscriber (the parent unless `subscriber` names another
 *   gobj) to each of them.
 *
 * The connection contract
 *   - Exactly one EV_DISCONNECTED per EV_CONNECTED, whatever ends the
 *     connection (peer close, reset, inactivity, EV_DROP, gobj_stop, an
 *     error); a client connect that fails gives one EV_DISCONNECTED with the
 *     reason and no EV_CONNECTED.
 *   - Half-close: when the peer shuts its write side (read() == 0) reading
 *     stops, everything received has been delivered, queued and later replies
 *     are still written, and the socket closes once the queue is empty.
 *     With half_close the FIN is published as EV_RX_EOF instead and the
 *     subscriber ends the connection (EV_SHUTDOWN, EV_DROP; sock_flow.c).
 *   - Backpressure: while more than tx_high_water bytes are queued the GSock
 *     stops reading; it reads again once the queue has drained to half.
 *   - SIGPIPE never fires: every write is send/sendmsg with MSG_NOSIGNAL
 *     (also under TLS: tls.c writes through a BIO of its own).
 *   - TLS (ssl_options not empty on a client; the server's ssl_options on an
 *     accepted GSock): after the TCP connect or the accept the GSock runs
 *     the handshake (ST_HANDSHAKE, bounded by handshake_timeout and by
 *     inactivity_timeout), and EV_CONNECTED comes only once it completes,
 *     with tls: {version, cipher, peer_subject?}.  A failed handshake gives
 *     a client EV_DISCONNECTED {reason} and no EV_CONNECTED; an accepted
 *     GSock publishes nothing at all, counts the failure on its server
 *     (tls_failures), logs it at debug level and destroys itself.  The
 *     bytes go through a stack of transports (transport.h: plain, then TLS
 *     on it), so the machine has one path for the handshake, reading,
 *     writing and closing; reading resumes by first draining what a layer
 *     already holds (pending).
 *   - No re-entrant callbacks: a close caused inside EV_SEND_DATA, EV_DROP
 *     or gobj_stop is published as EV_DISCONNECTED on a later turn.
 *   - Framing (framing "line" or "length"; framing.c cuts, sock_rx.c
 *     delivers): each EV_RX_DATA is one whole frame, all the frames of a
 *     read come from that read, a frame above max_frame ends the
 *     connection ("frame too large") as soon as it is known, an end inside
 *     a frame is "truncated frame"; EV_SEND_DATA sends one frame (the
 *     delimiter or header as an iovec entry of its own), one above
 *     max_frame is refused.  A subscriber that destroys, stops or drops the
 *     GSock in EV_RX_DATA ends the batch; one whose sends pass
 *     tx_high_water pauses it (the rest waits, delivered before the next
 *     read).  With framing "none" the path is the plain one, one branch.
 *   - Split by concern: sock_io.c (loop glue, queue, backpressure, framed
 *     sends), sock_rx.c (reading, frame delivery), sock_connect.c (client
 *     connect, adoption), sock_addr.c (addresses), sock_handshake.c (TLS
 *     handshake), sock_flow.c (holding reading, half-close).
 *   - Destroying the GSock from any action (also inside the subscriber's
 *     EV_CONNECTED, EV_RX_DATA or EV_DISCONNECTED) is safe: the core defers
 *     the free, mt_destroy closes the descriptor and frees the libevent
 *     events, and no callback fires for it afterwards.
 *
 * Input events (kw borrowed, read only)
 *   EV_CONNECT      {host?, port?, path?}  client side: connect to path, or
 *                   to host:port (a name resolved without blocking the
 *                   loop, sock_resolve.c; its addresses raced, RFC 8305:
 *                   sock_eyeballs.c),
 *                   resolution and connect bounded by connect_timeout.
 *                   Given keys are stored in the attributes first.  The
 *                   result always arrives later, never inside the send.
 *   EV_SEND_DATA    {data: string}  data is kept (json_incref) until written.
 *   EV_DROP         {}  flush pending output then close; drop_timeout forces.
 *                   gobj_stop does the same, with reason "stopped".
 * Output events (published; kw shared and read-only)
 *   EV_CONNECTED      {peername, sockname}
 *   EV_RX_DATA        {data}  binary-safe: use json_string_length()
 *   EV_TRANSMIT_READY {}      output that had to be queued is all written
 *   EV_DISCONNECTED   {peername, sockname, reason, errno?}
 *
 * Attributes: see the table below and doc/gclasses/GSock.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"
#include "internal.h" /* gobj__trace_any: one branch per message when tracing is off */
#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>

GOBJ_DEFINE_EVENT(EV_CONNECT);        /* in:  {host?, port?, path?} */
GOBJ_DEFINE_EVENT(EV_SEND_DATA);      /* in:  {data} */
GOBJ_DEFINE_EVENT(EV_DROP);           /* in:  {} */
GOBJ_DEFINE_EVENT(EV_CONNECTED);      /* out: {peername, sockname, tls?} */
GOBJ_DEFINE_EVENT(EV_RX_DATA);        /* out: {data} */
GOBJ_DEFINE_EVENT(EV_TRANSMIT_READY); /* out: {} */
GOBJ_DEFINE_EVENT(EV_DISCONNECTED);   /* out: {peername, sockname, reason, errno?} */
GOBJ_DEFINE_EVENT(EV_PAUSE_RX);       /* in:  {} hold reading (sock_flow.c) */
GOBJ_DEFINE_EVENT(EV_RESUME_RX);      /* in:  {} */
GOBJ_DEFINE_EVENT(EV_SHUTDOWN);       /* in:  {} nothing more to send: FIN once written */
GOBJ_DEFINE_EVENT(EV_RX_EOF);         /* out: {} half_close: the peer sends nothing more */

/* Internal input events: loop activity turned into events by the callbacks
 * below (src = the GSock itself), and the hand-over from a GServerSock. */
GOBJ_DEFINE_EVENT(EV_GSOCK_READABLE); /* in: {} the socket is readable */
GOBJ_DEFINE_EVENT(EV_GSOCK_WRITABLE); /* in: {} writable, or a connect finished */
GOBJ_DEFINE_EVENT(EV_GSOCK_TIMER);    /* in: {} a deadline may have passed */
GOBJ_DEFINE_EVENT(EV_GSOCK_ACCEPTED); /* in: {} from GServerSock, after gsock__adopt */
/* Posted to self, so that a caller never gets an answer inside its call. */
GOBJ_DEFINE_EVENT(EV_GSOCK_CLOSED);    /* in: the EV_DISCONNECTED kw, to publish now */
GOBJ_DEFINE_EVENT(EV_GSOCK_ABANDONED); /* in: {} stopped in its handshake: destroy self */

GOBJ_DEFINE_STATE(ST_DISCONNECTED);
GOBJ_DEFINE_STATE(ST_WAIT_CONNECTED);
GOBJ_DEFINE_STATE(ST_HANDSHAKE);
GOBJ_DEFINE_STATE(ST_CONNECTED);
GOBJ_DEFINE_STATE(ST_CLOSING);

/*---------------------------------------------------------------------*
 *  Attributes: the table and the framing check are in sock_attrs.c.
 *---------------------------------------------------------------------*/

/*---------------------------------------------------------------------*
 *  Helpers: closing
 *---------------------------------------------------------------------*/
/* Release the descriptor and everything tied to it, without publishing. */
void gsock__release_fd(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock__free_events(priv);
    gobj_loop_timer_stop(priv->timer);
    gsock__txq_clear(priv);
    /* Before the descriptor closes: a healthy TLS session sends
     * close_notify. */
    gsock_transport__release(priv->tr, &priv->plain);
    priv->tr = NULL;
    priv->rx_wants_write = false;
    if (priv->fd >= 0) {
        /* After the peer's EOF nothing more can come: a plain close.
         * Otherwise the peer may still be sending (a client we stop or drop
         * while it writes): close without a reset that would destroy the
         * end of the replies it has not read yet. */
        if (priv->rx_eof)
            close(priv->fd);
        else
            gsock__close_lingering(priv->fd);
        priv->fd = -1;
        priv->tr = NULL;
    }
    gsock__resolve_cancel(priv);
    gsock__eyeballs_cancel(priv); /* every attempt still racing */
    if (priv->ai_list) {
        evutil_freeaddrinfo(priv->ai_list);
        priv->ai_list = priv->ai_next = NULL;
    }
    priv->rx_paused = priv->rx_eof = priv->rx_held = false;
    priv->tx_shut_wanted = priv->tx_shut = false;
    gsock_framer__reset(priv->framer);
    priv->drop_deadline = 0;
    priv->retry_at = 0;
    priv->closing_reason = NULL;
    gobj_stopped(gobj);
    if (priv->link) {
        gsock_srv_link_t *link = priv->link;
        gobj_t *server = link->server;
        priv->link = NULL;
        link->n_open--;
        gsock__link_release(link);
        /* The server may be waiting below max_connections; it may also be
         * marked for destruction in this same reap, and then it is told
         * nothing. */
        if (server && !gobj_is_destroying(server))
            gobj_send_event(server, EV_SRVSOCK_GSOCK_CLOSED, NULL, gobj);
    }
}

/* End the session: close, then publish the one EV_DISCONNECTED it owes.
 * err is an errno value (0 = none).  Nothing may follow the publish: a
 * subscriber may destroy the GSock (the free is deferred, so priv stays
 * valid until the outermost dispatch returns, but the session is over). */
void gsock__sock_close(gobj_t *gobj, const char *reason, int err)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->session) {
        gsock__release_fd(gobj);
        return;
    }
    priv->session = false;
    priv->connected = false;
    json_t *kw = json_object();
    json_object_set_new(kw, "peername", json_string(priv->peername ? priv->peername : ""));
    json_object_set_new(kw, "sockname", json_string(priv->sockname ? priv->sockname : ""));
    json_object_set_new(kw, "reason", json_string(reason));
    if (err)
        json_object_set_new(kw, "errno", json_string(gobj_err_name(-err)));
    gsock__release_fd(gobj);
    gobj_change_state(gobj, ST_DISCONNECTED);
    /* No re-entrant callbacks: a close caused by a call from outside (a
     * write error in EV_SEND_DATA, EV_DROP, gobj_stop) is announced on a
     * later turn, so that a caller walking a list of GSocks and sending to
     * each never sees one end, and maybe be freed, inside its own send. */
    if (!priv->in_call) {
        gobj_publish_event(gobj, EV_DISCONNECTED, kw);
    } else if (!priv->owed) {
        /* Kept here, so that a second gobj_stop ("finish now") can still
         * publish it before the owner destroys the tree. */
        priv->owed = kw;
        gobj_post_event(gobj, EV_GSOCK_CLOSED, NULL, gobj);
    } else {
        gobj_post_event(gobj, EV_GSOCK_CLOSED, kw, gobj); /* after a quick reconnect */
    }
}

/* Publish the EV_DISCONNECTED that a close inside a call owes.  A stop
 * that caused it ends now (gobj_stop returned with the GSock stopping). */
static void publish_owed(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    json_t *kw = priv->owed;
    priv->owed = NULL;
    if (gobj_is_stopping(gobj))
        gobj_stopped(gobj);
    if (kw)
        gobj_publish_event(gobj, EV_DISCONNECTED, kw);
}

/* A socket error while connected: a reset is the common case. */
void gsock__close_on_error(gobj_t *gobj, int err)
{
    if (err == ECONNRESET || err == EPIPE) {
        gsock__sock_close(gobj, "connection reset", err);
        return;
    }
    char reason[160];
    snprintf(reason, sizeof reason, "socket error: %s", strerror(err));
    gsock__sock_close(gobj, reason, err);
}

/* The connection is up (client connect done, or accepted): start reading,
 * arm the inactivity timer, and announce it. */
void gsock__go_connected(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->connected = true;
    priv->session = true;       /* an accepted TLS connection owes events from now */
    gsock__apply_framing(gobj); /* a change of the attributes applies from here */
    priv->last_activity = gobj_loop_now_msec();
    gobj_change_state(gobj, ST_CONNECTED);
    /* Output sent while connecting is waiting, perhaps above the high
     * water already. */
    gsock__rx_enable(priv, gsock__rx_wanted(priv));
    gsock__tx_enable(priv, priv->q_len > 0);
    gsock__shut_if_wanted(gobj); /* EV_SHUTDOWN while connecting, nothing queued */
    gsock__rearm_timer(gobj);
    json_t *kw = json_object();
    json_object_set_new(kw, "peername", json_string(priv->peername ? priv->peername : ""));
    json_object_set_new(kw, "sockname", json_string(priv->sockname ? priv->sockname : ""));
    if (priv->tr->ops->info)
        json_object_set_new(kw, priv->tr->ops->name, priv->tr->ops->info(priv->tr));
    gobj_publish_event(gobj, EV_CONNECTED, kw);
}

/* Close after flushing: with nothing queued (or not connected yet) at once;
 * otherwise reading stops (nothing more is wanted from the peer), the queue
 * is written, and drop_timeout bounds the wait (ST_CLOSING). */
void gsock__graceful_close(gobj_t *gobj, const char *reason)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->connected || priv->q_len == 0) {
        gsock__sock_close(gobj, reason, 0);
        return;
    }
    gsock__rx_enable(priv, false);
    priv->closing_reason = reason;
    if (priv->drop_timeout > 0)
        priv->drop_deadline = gobj_loop_now_msec() + (uint64_t)priv->drop_timeout;
    gobj_change_state(gobj, ST_CLOSING);
    gsock__rearm_timer(gobj);
}

/*---------------------------------------------------------------------*
 *  Methods
 *---------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->self = gobj;
    priv->fd = -1;
    int rc = gsock__apply_framing(gobj);
    if (rc < 0)
        return rc;
    /* A named subscriber created later is looked up again at start. */
    rc = gsock__subscribe_subscriber(gobj);
    return rc == GOBJ_ENOENT ? 0 : rc;
}

static int mt_start(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    int rc = gsock__subscribe_subscriber(gobj);
    if (rc == GOBJ_ENOENT)
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: the subscriber does not exist", "subscriber",
                 json_string(priv->subscriber), NULL);
    if (rc < 0)
        return rc;
    /* A client's TLS files are read and checked now, not at the first
     * connect, so that a bad certificate fails the start.  An accepted
     * GSock (link set) uses its server's context. */
    if (!priv->link && !priv->tls_ctx && json_object_size(priv->ssl_options) > 0)
        rc = gsock_tls__ctx_new(gobj, priv->ssl_options, false, &priv->tls_ctx);
    return rc;
}

static int stop_sock(gobj_t *gobj);

static int mt_stop(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->in_call = true; /* the caller gets EV_DISCONNECTED after gobj_stop */
    int rc = stop_sock(gobj);
    priv->in_call = false;
    return rc;
}

static int stop_sock(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->owed && gobj_is_stopping(gobj)) {
        /* A second stop while the announcement waits for its turn (gserve
         * at shutdown_timeout): the owner hears it now, before it destroys
         * the tree. */
        publish_owed(gobj);
        return 0;
    }
    if (priv->link && priv->tls_ctx && !priv->session && priv->fd >= 0) {
        /* Accepted, in its TLS handshake: it ends as a failed handshake
         * does, unannounced, and destroys itself on the next turn (not
         * here: the caller of gobj_stop may still use it). */
        gsock__release_fd(gobj);
        gobj_change_state(gobj, ST_DISCONNECTED);
        if (!gobj_is_destroying(gobj))
            gobj_post_event(gobj, EV_GSOCK_ABANDONED, NULL, gobj);
        return 0;
    }
    /* Stop is a graceful shutdown, as EV_DROP: the connection ends with its
     * one EV_DISCONNECTED {reason: "stopped"}, at once if nothing is queued,
     * else once the queue is written (drop_timeout bounds the wait).  When
     * the stop is part of a destroy, mt_destroy closes right after. */
    if (priv->closing_reason && gobj_is_stopping(gobj)) {
        /* A second stop while flushing: finish now (gserve's shutdown_timeout),
         * still with the one EV_DISCONNECTED the session owes, published at
         * once for the same reason as above. */
        priv->in_call = false;
        gsock__sock_close(gobj, priv->closing_reason, 0);
        return 0;
    }
    if (priv->session || priv->fd >= 0)
        gsock__graceful_close(gobj, "stopped");
    /* Still flushing, or the EV_DISCONNECTED waits for the next turn: the
     * owner (gserve's shutdown) waits for gobj_stopped, which release_fd
     * calls when the descriptor is closed, or publish_owed. */
    return priv->fd >= 0 || priv->owed ? 1 : 0;
}

static void mt_destroy(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    /* The subscriptions are gone already: close without telling anyone. */
    priv->session = false;
    gsock__release_fd(gobj);
    gsock__session_end(gobj);
    json_decref(priv->owed); /* nobody is subscribed any more */
    priv->owed = NULL;
    gsock_tls__ctx_unref(priv->tls_ctx);
    priv->tls_ctx = NULL;
    gobj_loop_timer_free(priv->timer);
    priv->timer = NULL;
    free(priv->q);
    priv->q = NULL;
    priv->q_cap = 0;
    gsock_framer__free(priv->framer);
    priv->framer = NULL;
}

/*---------------------------------------------------------------------*
 *  Actions
 *---------------------------------------------------------------------*/
static int ac_connect(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    int rc = gsock__connect_args(gobj, kw);
    if (rc < 0) {
        /* Refused: nothing started, no event owed. */
        gobj_change_state(gobj, ST_DISCONNECTED);
        return rc;
    }
    bool use_path = priv->path && *priv->path;

    priv->session = true;
    priv->connected = false;
    priv->conn_err = priv->gai_err = 0;
    gsock__set_str(&priv->sockname, "");
    priv->connect_deadline =
        priv->connect_timeout > 0 ? gobj_loop_now_msec() + (uint64_t)priv->connect_timeout : 0;

    priv->retry_ms = 0;
    priv->retry_at = 0;
    bool started = false;
    if (use_path) {
        started = gsock__connect_unix(gobj);
    } else {
        char port[16];
        snprintf(port, sizeof port, "%d", (int)priv->port);
        char target[GSOCK_ADDRSTRLEN + 8];
        snprintf(target, sizeof target, strchr(priv->host, ':') ? "[%s]:%s" : "%s:%s", priv->host,
                 port);
        gsock__set_str(&priv->peername, target);
        /* A numeric host connects now; a name is resolved without
         * blocking the loop (sock_resolve.c). */
        started = gsock__resolve_start(gobj, port);
    }
    if (!started)
        gsock__defer_failure(gobj);
    else
        gsock__rearm_timer(gobj);
    return 0;
}

/* ST_WAIT_CONNECTED: the socket became writable, the connect is done. */
static int ac_connect_result(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->eb && !gsock__eyeballs_writable(gobj))
        return 0; /* racing (sock_eyeballs.c): no winner yet, or all failed */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(priv->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        priv->conn_err = err;
        gsock__free_events(priv);
        close(priv->fd);
        priv->fd = -1;
        priv->tr = NULL;
        if (gsock__connect_next(gobj))
            return 0;
        gsock__connect_failed(gobj);
        return 0;
    }
    if (priv->ai_list) {
        evutil_freeaddrinfo(priv->ai_list);
        priv->ai_list = priv->ai_next = NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(priv->fd, (struct sockaddr *)&ss, &sl) == 0)
        gsock__set_nodelay(priv->fd, ss.ss_family);
    gsock__load_names(gobj, true, true);
    /* The write event was the connect's; it stays armed only if output was
     * queued while connecting. */
    gsock__tx_enable(priv, false);
    gsock__start_transport(gobj);
    return 0;
}

/* ST_WAIT_CONNECTED: the connect deadline, or a failure found in EV_CONNECT. */
static int ac_connect_timeout(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (gsock__resolve_timer(gobj))
        return 0; /* resolving, or its answer came */
    if (gsock__eyeballs_timer(gobj))
        return 0; /* racing: the next attempt's turn, or the deadline */
    if (priv->retry_at) {
        /* A unix connect waits for room in the listener's backlog. */
        uint64_t now = gobj_loop_now_msec();
        if (priv->connect_deadline && now >= priv->connect_deadline) {
            priv->retry_at = 0;
            priv->conn_err = 0;
            gsock__connect_failed(gobj); /* "connect timeout" */
            return 0;
        }
        if (now >= priv->retry_at && !gsock__connect_unix(gobj)) {
            gsock__connect_failed(gobj);
            return 0;
        }
        gsock__rearm_timer(gobj);
        return 0;
    }
    if (priv->fd < 0) {
        gsock__connect_failed(gobj); /* nothing under way: report the error */
        return 0;
    }
    if (priv->connect_deadline && gobj_loop_now_msec() >= priv->connect_deadline) {
        priv->conn_err = 0;
        priv->gai_err = 0;
        gsock__connect_failed(gobj); /* "connect timeout" */
        return 0;
    }
    gsock__rearm_timer(gobj);
    return 0;
}

static int ac_accepted(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    /* A TLS connection owes no event yet (session is set at EV_CONNECTED). */
    if (priv->fd < 0 || (!priv->session && !priv->tls_ctx)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: EV_GSOCK_ACCEPTED without an adopted descriptor",
                 NULL);
        gobj_change_state(gobj, ST_DISCONNECTED);
        return GOBJ_ESTATE;
    }
    gsock__start_transport(gobj);
    return 0;
}

/* ST_HANDSHAKE's actions are sock_handshake.c; the rows keep their short
 * names (and the diagram its labels). */
static int ac_handshake(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_handshake(gobj, ev, kw, src);
}

static int ac_handshake_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_handshake_timer(gobj, ev, kw, src);
}

/* The receive path is sock_rx.c; the row keeps its short name (and the
 * diagram its label), the call is a jump. */
static int ac_read(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_read(gobj, ev, kw, src);
}

static int ac_write(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    /* Under TLS a read may have waited for writability (a key update):
     * let it run again on the next turn. */
    if (GOBJ_UNLIKELY(priv->rx_wants_write)) {
        priv->rx_wants_write = false;
        if (priv->reading)
            event_active(priv->rev, EV_READ, 0);
    }
    int64_t before = priv->tx_bytes;
    int err = gsock__flush_queue(gobj);
    if (err) {
        gsock__close_on_error(gobj, err);
        return 0;
    }
    if (priv->tx_bytes != before)
        gsock__touch(priv);
    if (priv->q_len) {
        gsock__check_low_water(gobj);
        return 0;
    }
    gsock__tx_enable(priv, false);
    if (gobj_in_this_state(gobj, ST_CLOSING)) {
        gsock__sock_close(gobj, priv->closing_reason ? priv->closing_reason : "dropped", 0);
        return 0;
    }
    gsock__check_low_water(gobj);
    gsock__shut_if_wanted(gobj);
    gobj_publish_event(gobj, EV_TRANSMIT_READY, json_object());
    return 0;
}

/* A batch of frames is delivered corked (sock_rx.c): the sends its
 * subscriber makes are queued, without a write each, and written here at
 * its end, together (one writev where one per frame would have been).
 * What the kernel takes now was never waiting for the subscriber, so no
 * EV_TRANSMIT_READY follows; the rest waits for writability as any queued
 * output does.  A GSock destroyed in the batch still gets its replies
 * written, as the immediate write would have done. */
void gsock__uncork(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->corked = false;
    if (!priv->q_len || priv->writing || priv->fd < 0 || !priv->tr || !priv->connected)
        return;
    int err = gsock__flush_queue(gobj);
    if (gobj_is_destroying(gobj))
        return;
    if (err) {
        gsock__close_on_error(gobj, err);
        return;
    }
    gsock__touch(priv);
    if (priv->q_len) {
        gsock__tx_enable(priv, true);
        gsock__check_high_water(priv);
        return;
    }
    if (gobj_in_this_state(gobj, ST_CLOSING))
        gsock__sock_close(gobj, priv->closing_reason ? priv->closing_reason : "dropped", 0);
    else
        gsock__shut_if_wanted(gobj);
}

int gsock__corked_push(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->tx_queued >= GSOCK_CORK_MAX) {
        /* Inside the caller's send: a close is announced later. */
        bool was = priv->in_call;
        priv->in_call = true;
        gsock__uncork(gobj);
        priv->in_call = was;
    }
    return gsock__queued_ret(priv);
}

/* The sender is inside its send: a close it causes is announced later. */
void gsock__close_in_send(gobj_t *gobj, int err)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->in_call = true;
    gsock__close_on_error(gobj, err);
    priv->in_call = false;
}

static int ac_send_data(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    json_t *data = json_object_get(kw, "data");
    if (GOBJ_UNLIKELY(!json_is_string(data))) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: EV_SEND_DATA expects {data: string}", NULL);
        return GOBJ_EINVAL;
    }
    if (GOBJ_UNLIKELY(priv->tx_shut_wanted))
        return gsock__send_after_shutdown(gobj);
    size_t len = json_string_length(data);
    if (GOBJ_UNLIKELY(priv->framer))
        return gsock__send_framed(gobj, data, len);
    priv->tx_msgs++;
    if (!len)
        return 0;
    size_t off = 0;
    /* The fast path: nothing queued, the socket is connected, write now. */
    if (priv->q_len == 0 && priv->connected && !priv->corked) {
        const char *p = json_string_value(data);
        int err = 0;
        ssize_t n = gsock_transport__write(priv->tr, p, len, &err);
        if (n < 0) {
            if (n != GSOCK_IO_WANT_WRITE && n != GSOCK_IO_WANT_READ) {
                gsock__close_in_send(gobj, gsock__write_errno(n, err));
                return 0;
            }
            n = 0;
        }
        if (n > 0) {
            if (GOBJ_UNLIKELY(gobj__trace_any) && gobj_is_tracing(gobj, GOBJ_TRACE_TRAFFIC))
                gsock__trace_traffic(gobj, "tx", p, (size_t)n);
            priv->tx_bytes += n;
            gsock__touch(priv);
        }
        if ((size_t)n == len)
            return 0;
        off = (size_t)n;
    }
    /* Queue what is left as a reference to the caller's string. */
    if (gsock__txq_push(priv, data, off) < 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: out of memory queueing output", NULL);
        gsock__close_in_send(gobj, ENOMEM);
        return 0;
    }
    if (GOBJ_UNLIKELY(priv->corked))
        return gsock__corked_push(gobj);
    if (priv->connected)
        gsock__tx_enable(priv, true);
    gsock__check_high_water(priv);
    return gsock__queued_ret(priv);
}

static int ac_drop(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    priv->in_call = true; /* the dropper gets EV_DISCONNECTED after its send */
    gsock__graceful_close(gobj, "dropped");
    priv->in_call = false;
    return 0;
}

/* A close announced from inside a call, on this later turn. */
static int ac_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    if (kw) {
        gobj_publish_event(gobj, EV_DISCONNECTED, json_incref(kw));
        return 0;
    }
    publish_owed(gobj);
    return 0;
}

/* An accepted GSock stopped during its handshake: it was never announced,
 * so nobody else will destroy it. */
static int ac_abandoned(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->session && priv->fd < 0)
        gobj_destroy(gobj);
    return 0;
}

/* ST_CONNECTED / ST_CLOSING: the inactivity or the drop deadline. */
static int ac_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    uint64_t now = gobj_loop_now_msec();
    if (priv->drop_deadline && now >= priv->drop_deadline) {
        gsock__sock_close(gobj, priv->closing_reason ? priv->closing_reason : "dropped", ETIMEDOUT);
        return 0;
    }
    if (priv->inactivity_timeout > 0 &&
        now >= priv->last_activity + (uint64_t)priv->inactivity_timeout) {
        gsock__sock_close(gobj, "inactivity timeout", 0);
        return 0;
    }
    gsock__rearm_timer(gobj);
    return 0;
}

/* The subscriber's hold on reading and the half-close are sock_flow.c; the
 * rows keep short names (and the diagram its labels). */
static int ac_pause_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_pause_rx(gobj, ev, kw, src);
}

static int ac_resume_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_resume_rx(gobj, ev, kw, src);
}

static int ac_shutdown(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return gsock__ac_shutdown(gobj, ev, kw, src);
}

/*---------------------------------------------------------------------*
 *  FSM
 *---------------------------------------------------------------------*/
/*
 *                 EV_CONNECT                       EV_GSOCK_WRITABLE (connect done)
 *  ST_DISCONNECTED ----------> ST_WAIT_CONNECTED -----------------------------.
 *     ^   |  ^                     |  EV_GSOCK_TIMER (timeout / failed):       |
 *     |   |  '---------------------'  EV_DISCONNECTED {reason}                 v
 *     |   |        EV_GSOCK_ACCEPTED (from GServerSock)                  ST_CONNECTED
 *     |   '------------------------------------------------------------->  (EV_CONNECTED)
 *     |                                                                   |  EV_GSOCK_READABLE
 *     |  peer close / reset / inactivity / error / gobj_stop, nothing     |  EV_SEND_DATA
 *     |  queued: EV_DISCONNECTED                                          |  EV_GSOCK_WRITABLE
 *     |<------------------------------------------------------------------'
 *     |                                                                   | EV_DROP or peer FIN
 *     |        queue drained / drop_timeout / error                       v with output queued
 *     '--------------------------------------------------------------- ST_CLOSING
 *
 * With TLS, both ways into ST_CONNECTED pass through ST_HANDSHAKE first:
 *
 *   (connect done / EV_GSOCK_ACCEPTED) --> ST_HANDSHAKE --handshake done--> ST_CONNECTED
 *                                            |  EV_GSOCK_READABLE / _WRITABLE: advance it
 *                                            |  EV_GSOCK_TIMER: handshake or inactivity
 *                                            '--failed--> ST_DISCONNECTED (a client gets
 *                                               EV_DISCONNECTED; an accepted GSock is
 *                                               destroyed, unannounced)
 *
 * Rows whose outcome depends on the socket (a read may find the peer gone,
 * a write may drain the queue of a closing sock, a connect may fail and try
 * the next address) keep the state in the table and their action chooses
 * it (gobj_change_state); every close goes through sock_close, which ends
 * in ST_DISCONNECTED.
 */
/* clang-format off */
static const gobj_row_t st_disconnected[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_CONNECT,         ac_connect,         ST_WAIT_CONNECTED), /* or refused */
    GOBJ_ROW(EV_GSOCK_ACCEPTED,  ac_accepted,        ST_CONNECTED),
    GOBJ_ROW(EV_DROP,            NULL,               NULL),  /* nothing to drop */
    GOBJ_ROW(EV_GSOCK_CLOSED,    ac_closed,          NULL),  /* EV_DISCONNECTED, later */
    GOBJ_ROW(EV_GSOCK_ABANDONED, ac_abandoned,       NULL),  /* destroys self */
    GOBJ_ROW(EV_PAUSE_RX,        ac_pause_rx,        NULL),  /* for the next connection */
    GOBJ_ROW(EV_RESUME_RX,       ac_resume_rx,       NULL),
    GOBJ_ROW(EV_SHUTDOWN,        NULL,               NULL),  /* nothing to shut */
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_wait_connected[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_GSOCK_WRITABLE,  ac_connect_result,  NULL),  /* ST_CONNECTED or failed */
    GOBJ_ROW(EV_GSOCK_TIMER,     ac_connect_timeout, NULL),  /* resolved, or ST_DISCONNECTED */
    GOBJ_ROW(EV_SEND_DATA,       ac_send_data,       NULL),  /* queued until connected */
    GOBJ_ROW(EV_DROP,            ac_drop,            ST_DISCONNECTED),
    GOBJ_ROW(EV_GSOCK_CLOSED,    ac_closed,          NULL),  /* a reconnect came first */
    GOBJ_ROW(EV_PAUSE_RX,        ac_pause_rx,        NULL),  /* applies from EV_CONNECTED */
    GOBJ_ROW(EV_RESUME_RX,       ac_resume_rx,       NULL),
    GOBJ_ROW(EV_SHUTDOWN,        ac_shutdown,        NULL),  /* once connected and written */
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_handshake[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_GSOCK_READABLE,  ac_handshake,       NULL),  /* done: ST_CONNECTED */
    GOBJ_ROW(EV_GSOCK_WRITABLE,  ac_handshake,       NULL),  /* failed: ST_DISCONNECTED */
    GOBJ_ROW(EV_GSOCK_TIMER,     ac_handshake_timer, NULL),  /* handshake_timeout */
    GOBJ_ROW(EV_SEND_DATA,       ac_send_data,       NULL),  /* queued until connected */
    GOBJ_ROW(EV_DROP,            ac_drop,            ST_DISCONNECTED),
    GOBJ_ROW(EV_GSOCK_CLOSED,    ac_closed,          NULL),  /* a reconnect came first */
    GOBJ_ROW(EV_PAUSE_RX,        ac_pause_rx,        NULL),  /* applies from EV_CONNECTED */
    GOBJ_ROW(EV_RESUME_RX,       ac_resume_rx,       NULL),
    GOBJ_ROW(EV_SHUTDOWN,        ac_shutdown,        NULL),  /* once connected and written */
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_connected[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_GSOCK_READABLE,  ac_read,            NULL),  /* peer FIN: ST_CLOSING or closed */
    GOBJ_ROW(EV_GSOCK_WRITABLE,  ac_write,           NULL),
    GOBJ_ROW(EV_SEND_DATA,       ac_send_data,       NULL),
    GOBJ_ROW(EV_DROP,            ac_drop,            NULL),  /* ST_CLOSING or closed */
    GOBJ_ROW(EV_GSOCK_TIMER,     ac_timer,           NULL),  /* inactivity */
    GOBJ_ROW(EV_GSOCK_CLOSED,    ac_closed,          NULL),  /* a reconnect came first */
    GOBJ_ROW(EV_PAUSE_RX,        ac_pause_rx,        NULL),
    GOBJ_ROW(EV_RESUME_RX,       ac_resume_rx,       NULL),
    GOBJ_ROW(EV_SHUTDOWN,        ac_shutdown,        NULL),  /* FIN once written; after EOF: close */
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_closing[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_GSOCK_WRITABLE,  ac_write,           NULL),  /* drained: ST_DISCONNECTED */
    GOBJ_ROW(EV_SEND_DATA,       ac_send_data,       NULL),  /* replies after a peer FIN */
    GOBJ_ROW(EV_DROP,            ac_drop,            NULL),  /* bounds the wait */
    GOBJ_ROW(EV_GSOCK_TIMER,     ac_timer,           NULL),  /* drop_timeout, inactivity */
    GOBJ_ROW(EV_GSOCK_CLOSED,    ac_closed,          NULL),  /* a reconnect came first */
    GOBJ_ROW(EV_PAUSE_RX,        NULL,               NULL),  /* reading is over */
    GOBJ_ROW(EV_RESUME_RX,       NULL,               NULL),
    GOBJ_ROW(EV_SHUTDOWN,        NULL,               NULL),  /* closing already */
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t sock_states[] = {
    GOBJ_STATE(ST_DISCONNECTED, st_disconnected),
    GOBJ_STATE(ST_WAIT_CONNECTED, st_wait_connected),
    GOBJ_STATE(ST_HANDSHAKE, st_handshake),
    GOBJ_STATE(ST_CONNECTED, st_connected),
    GOBJ_STATE(ST_CLOSING, st_closing),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const gobj_event_def_t sock_events[] = {
    {EV_CONNECT, GOBJ_EV_IN, "{host?: string, port?: int, path?: string}"},
    {EV_SEND_DATA, GOBJ_EV_IN, "{data: string}"},
    {EV_DROP, GOBJ_EV_IN, "{}"},
    {EV_CONNECTED, GOBJ_EV_OUT, "{peername, sockname, tls?: {version, cipher, peer_subject?}}"},
    {EV_RX_DATA, GOBJ_EV_OUT, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_OUT, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_OUT, "{peername, sockname, reason, errno?}"},
    {EV_PAUSE_RX, GOBJ_EV_IN, "{}"},
    {EV_RESUME_RX, GOBJ_EV_IN, "{}"},
    {EV_SHUTDOWN, GOBJ_EV_IN, "{}"},
    {EV_RX_EOF, GOBJ_EV_OUT, "{}"},
    {EV_GSOCK_READABLE, GOBJ_EV_IN, "{} internal: the socket is readable"},
    {EV_GSOCK_WRITABLE, GOBJ_EV_IN, "{} internal: writable, or the connect finished"},
    {EV_GSOCK_TIMER, GOBJ_EV_IN, "{} internal: a deadline may have passed"},
    {EV_GSOCK_ACCEPTED, GOBJ_EV_IN, "{} internal: from GServerSock, the descriptor is live"},
    {EV_GSOCK_CLOSED, GOBJ_EV_IN, "{peername, sockname, reason, errno?} internal: posted to self"},
    {EV_GSOCK_ABANDONED, GOBJ_EV_IN, "{} internal: stopped in its handshake, posted to self"},
    {NULL, 0, NULL},
};

/*---------------------------------------------------------------------*
 *  Registration
 *---------------------------------------------------------------------*/
const gclass_def_t gobj__gsock_def = {
    .name = GCLASS_GSOCK_NAME,
    .description = "One stream connection (TCP or unix socket): rx/tx as events",
    .states = sock_states,
    .events = sock_events,
    .attrs = gsock__attrs,
    .methods =
        {
            .mt_create = mt_create,
            .mt_check = gsock__mt_check,
            .mt_start = mt_start,
            .mt_stop = mt_stop,
            .mt_destroy = mt_destroy,
        },
    .priv_size = sizeof(sock_priv_t),
};
