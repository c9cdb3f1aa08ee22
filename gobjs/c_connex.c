/*
 * c_connex.c - GConnex: a client connection that stays up.
 *
 * What it is
 *   GConnex keeps one connection up over a list of `destinations`
 *   ({host, port} or {path}, each with optional ssl_options), trying them in
 *   order and moving to the next one after each failure (round robin).  For
 *   each attempt it creates one GSock child ("sock", with gsock_attrs plus
 *   the destination, ssl_options, connect_timeout and inactivity_timeout),
 *   starts it and sends it EV_CONNECT; a fresh GSock per attempt means that
 *   per-destination TLS settings and new timeouts need no special case, and
 *   that nothing of an old connection can arrive late.  After a failure or a
 *   drop it waits (exponential backoff with jitter) and tries again, until
 *   max_retries failures in a row (then EV_CONNEX_GAVE_UP and idle).
 *   Output sent while no connection is up is queued, bounded by
 *   tx_queue_max bytes, and written in order as soon as one is.
 *
 * The contract
 *   - It republishes its GSock's EV_CONNECTED, EV_RX_DATA,
 *     EV_TRANSMIT_READY and EV_DISCONNECTED with the same kw plus `connex`
 *     (its full name); EV_DISCONNECTED only after an EV_CONNECTED, exactly
 *     one per connection.  Failed attempts publish nothing: each is logged
 *     once (warning: destination, reason) and counted (n_failures).
 *   - No re-entrant callbacks (manual, dispatch rule 15): EV_CONNECT,
 *     EV_DROP, EV_SEND_DATA, gobj_start, gobj_stop and writing `disabled`
 *     never deliver an event to anyone before they return.  Every attempt
 *     starts from the loop (the retry timer, armed at 0 ms for "now"), and
 *     every outcome comes from the GSock, which never publishes inside a
 *     call either.  gobj_stop of a connected GConnex closes its GSock at once
 *     and posts the EV_DISCONNECTED {reason: "stopped"} to itself.
 *   - Destroying it at any point is clean: the GSock child goes with it, the
 *     timer is freed, the queue released, and its posted events are dropped
 *     by the core, so nothing is published after the destroy.
 *
 * Input events (kw borrowed)
 *   EV_CONNECT    {}       connect now (resets the backoff and the failure
 *                          count); also after EV_CONNEX_GAVE_UP.  Refused
 *                          (GOBJ_ESTATE, logged) when not running or disabled.
 *   EV_SEND_DATA  {data}   connected: passed to the GSock (returns its result);
 *                          else queued (returns the bytes queued), or refused
 *                          with -ENOSPC (logged) past tx_queue_max.
 *   EV_DROP       {}       drop the connection (or the attempt) now; the next
 *                          attempt follows the backoff.
 *   EV_PAUSE_RX, EV_RESUME_RX {}  hold reading; kept across connections
 *   EV_SHUTDOWN   {}       the GSock's; while down, sent to the next
 *                          connection after its queue
 *   From its GSock (src = the GSock): EV_CONNECTED, EV_RX_DATA,
 *   EV_TRANSMIT_READY, EV_DISCONNECTED.  Internal, from itself only:
 *   EV_CONNEX_TIMER (the retry timer), EV_CONNEX_CLOSED (a posted
 *   EV_DISCONNECTED of a connection closed by gobj_stop).
 * Output events (published)
 *   EV_CONNECTED {peername, sockname, tls?, connex}
 *   EV_RX_DATA {data, connex}
 *   EV_TRANSMIT_READY {connex}
 *   EV_RX_EOF {connex}  (gsock_attrs half_close)
 *   EV_DISCONNECTED {peername, sockname, reason, errno?, connex}
 *   EV_CONNEX_GAVE_UP {destinations, attempts, connex}
 *
 * Attributes: see the table below and doc/gclasses/GConnex.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connex.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

GOBJ_DEFINE_EVENT(EV_CONNEX_GAVE_UP); /* out: {destinations, attempts, connex} */
GOBJ_DEFINE_EVENT(EV_CONNEX_TIMER);   /* in, internal: {} the retry timer fired */
GOBJ_DEFINE_EVENT(EV_CONNEX_CLOSED);  /* in, internal: the EV_DISCONNECTED kw to publish */
GOBJ_DEFINE_STATE(ST_WAIT_RETRY);

/* Defined here, listed by builtins.c. */
extern const gclass_def_t gobj__gconnex_def;

/*---------------------------------------------------------------------*
 *  Private data
 *---------------------------------------------------------------------*/
typedef struct {
    /* Attributes. */
    json_t *destinations;
    json_t *ssl_options;
    json_t *gsock_attrs;
    int64_t connect_timeout;
    int64_t inactivity_timeout;
    int64_t backoff_initial;
    int64_t backoff_max;
    double backoff_jitter;
    int64_t max_retries;
    int64_t tx_queue_max;
    int64_t stable_after;
    bool disabled;
    char *subscriber;
    int64_t n_attempts;
    int64_t n_failures;
    int64_t n_connects;
    int64_t n_refused;
    int64_t tx_queued;
    char *destination;
    /* Run time. */
    gobj_loop_timer_t *timer; /* the retry timer */
    json_t *queue;            /* data strings waiting for a connection, in order */
    size_t next_dest;         /* index of the destination the next attempt uses */
    int64_t failures_in_row;  /* failed attempts since the last connect or EV_CONNECT */
    int64_t delay;            /* the next backoff before jitter; 0 = backoff_initial */
    bool up;                  /* EV_CONNECTED published, EV_DISCONNECTED not yet */
    bool dropping;            /* we dropped the GSock: its end is not a failure */
    bool rx_held;             /* EV_PAUSE_RX: each GSock is held until EV_RESUME_RX */
    bool shut_wanted;         /* EV_SHUTDOWN while down: shut the next connection */
    uint64_t up_since;        /* ms: when the connection came up */
    bool subscribed;
    uint64_t rnd; /* xorshift state for the jitter */
} connex_priv_t;

/*---------------------------------------------------------------------*
 *  Attributes
 *---------------------------------------------------------------------*/
static const gobj_attr_t connex_attrs[] = {
    GOBJ_ATTR("destinations", GOBJ_ATTR_JSON, connex_priv_t, destinations, "[]", GOBJ_RD,
              "Where to connect: an array of {host, port} or {path}, each with optional "
              "ssl_options; tried in order, the next one after each failure"),
    GOBJ_ATTR("ssl_options", GOBJ_ATTR_JSON, connex_priv_t, ssl_options, "{}", GOBJ_RD,
              "TLS settings (as GSock's) for destinations without their own; {} = plain TCP"),
    GOBJ_ATTR("gsock_attrs", GOBJ_ATTR_JSON, connex_priv_t, gsock_attrs, "{}", GOBJ_RD,
              "Attributes of each GSock it creates (framing, tx_high_water, ...)"),
    GOBJ_ATTR("connect_timeout", GOBJ_ATTR_INT, connex_priv_t, connect_timeout, "10000",
              GOBJ_RD | GOBJ_WR, "Bound on one attempt in ms (the GSock's); <= 0 = none"),
    GOBJ_ATTR("inactivity_timeout", GOBJ_ATTR_INT, connex_priv_t, inactivity_timeout, "0",
              GOBJ_RD | GOBJ_WR, "Drop a connection silent for this long (ms); 0 = off"),
    GOBJ_ATTR("backoff_initial", GOBJ_ATTR_INT, connex_priv_t, backoff_initial, "500",
              GOBJ_RD | GOBJ_WR, "Wait before the first retry after a failure or a drop (ms)"),
    GOBJ_ATTR("backoff_max", GOBJ_ATTR_INT, connex_priv_t, backoff_max, "30000", GOBJ_RD | GOBJ_WR,
              "The wait doubles after each failure in a row, up to this (ms)"),
    GOBJ_ATTR("backoff_jitter", GOBJ_ATTR_REAL, connex_priv_t, backoff_jitter, "0.2",
              GOBJ_RD | GOBJ_WR,
              "Each wait is changed by a random fraction up to this, + or - (0..1)"),
    GOBJ_ATTR("stable_after", GOBJ_ATTR_INT, connex_priv_t, stable_after, "5000", GOBJ_RD | GOBJ_WR,
              "ms a connection must last to reset the backoff; one that ends sooner lets the "
              "wait keep growing"),
    GOBJ_ATTR("max_retries", GOBJ_ATTR_INT, connex_priv_t, max_retries, "0", GOBJ_RD | GOBJ_WR,
              "Give up after this many failed attempts in a row; 0 = never"),
    GOBJ_ATTR("tx_queue_max", GOBJ_ATTR_INT, connex_priv_t, tx_queue_max, "1048576",
              GOBJ_RD | GOBJ_WR, "Bytes of EV_SEND_DATA kept while not connected; more is refused"),
    GOBJ_ATTR("disabled", GOBJ_ATTR_BOOL, connex_priv_t, disabled, "false", GOBJ_RD | GOBJ_WR,
              "true drops the connection and stops trying; false resumes"),
    GOBJ_ATTR("subscriber", GOBJ_ATTR_STRING, connex_priv_t, subscriber, "\"\"", GOBJ_RD,
              "Unique name or full name of the gobj subscribed to the output events; empty = the "
              "parent"),
    GOBJ_ATTR("n_attempts", GOBJ_ATTR_INT, connex_priv_t, n_attempts, "0", GOBJ_STATS,
              "Connection attempts made"),
    GOBJ_ATTR("n_failures", GOBJ_ATTR_INT, connex_priv_t, n_failures, "0", GOBJ_STATS,
              "Attempts that failed"),
    GOBJ_ATTR("n_connects", GOBJ_ATTR_INT, connex_priv_t, n_connects, "0", GOBJ_STATS,
              "Attempts that connected (EV_CONNECTED published)"),
    GOBJ_ATTR("n_refused", GOBJ_ATTR_INT, connex_priv_t, n_refused, "0", GOBJ_STATS,
              "EV_SEND_DATA refused because the queue was full"),
    GOBJ_ATTR("tx_queued", GOBJ_ATTR_INT, connex_priv_t, tx_queued, "0", GOBJ_STATS,
              "Bytes queued now, waiting for a connection"),
    GOBJ_ATTR("destination", GOBJ_ATTR_STRING, connex_priv_t, destination, "\"\"", GOBJ_VOLATILE,
              "The destination of the attempt or connection in progress, or the last one"),
    GOBJ_ATTR_END,
};

/*---------------------------------------------------------------------*
 *  Helpers
 *---------------------------------------------------------------------*/
static void on_timer(void *user)
{
    gobj_t *gobj = user;
    gobj_send_event(gobj, EV_CONNEX_TIMER, NULL, gobj);
}

static int arm(gobj_t *gobj, int64_t msec)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!priv->timer) {
        priv->timer = gobj_loop_timer_new(on_timer, gobj);
        if (!priv->timer) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: cannot create its timer (no loop?)", NULL);
            return GOBJ_ENOMEM;
        }
    }
    int rc = gobj_loop_timer_start(priv->timer, (uint64_t)(msec > 0 ? msec : 0), false);
    if (rc < 0)
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: cannot arm its timer", "msec", json_integer(msec),
                 NULL);
    return rc;
}

/* A uniform number in [-1, 1]: xorshift64*, seeded per gobj at create. */
static double rand_pm1(connex_priv_t *priv)
{
    uint64_t x = priv->rnd;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    priv->rnd = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

/* The wait before the next attempt: the current delay with jitter; then the
 * delay doubles (up to backoff_max) for the wait after it. */
static int64_t next_wait(connex_priv_t *priv)
{
    int64_t base = priv->delay > 0 ? priv->delay : priv->backoff_initial;
    if (priv->backoff_max > 0 && base > priv->backoff_max)
        base = priv->backoff_max;
    double w = (double)base * (1.0 + priv->backoff_jitter * rand_pm1(priv));
    int64_t next = base > INT64_MAX / 2 ? base : base * 2;
    priv->delay = priv->backoff_max > 0 && next > priv->backoff_max ? priv->backoff_max : next;
    return w > 0 ? (int64_t)llround(w) : 0;
}

static void reset_backoff(connex_priv_t *priv)
{
    priv->delay = 0; /* the next wait is backoff_initial, as it is then */
    priv->failures_in_row = 0;
}

/* A shallow copy of a GSock's kw plus connex (the data string is shared,
 * never copied). */
static json_t *with_connex(gobj_t *gobj, json_t *kw)
{
    json_t *out = json_is_object(kw) ? json_copy(kw) : json_object();
    json_object_set_new(out, "connex", json_string(gobj_full_name(gobj)));
    return out;
}

/* The GSock of the attempt or connection in progress, or NULL.  Looked up
 * by name rather than kept as a pointer: a child is destroyed before its
 * parent's mt_stop runs, and a destroyed gobj leaves the tree at once. */
static gobj_t *the_sock(const gobj_t *gobj)
{
    return gobj_find_child(gobj, "sock");
}

static void queue_clear(connex_priv_t *priv)
{
    json_array_clear(priv->queue);
    priv->tx_queued = 0;
}

/* Write the queue to the connected GSock, in order.  The GSock never
 * publishes inside a send, so nothing here can re-enter us. */
static void queue_flush(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    size_t n = json_array_size(priv->queue);
    gobj_t *sock = the_sock(gobj);
    for (size_t i = 0; i < n && sock; i++) {
        json_t *kw = json_object();
        json_object_set(kw, "data", json_array_get(priv->queue, i));
        gobj_send_event(sock, EV_SEND_DATA, kw, gobj);
    }
    queue_clear(priv);
}

static gobj_t *resolve(const char *name)
{
    gobj_t *g = gobj_find_unique(name);
    return g ? g : gobj_find_path(NULL, name);
}

static const gobj_event_def_t connex_events[];

/* Subscribe the subscriber to every output event, once. */
static int subscribe_subscriber(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (priv->subscribed)
        return 0;
    bool named = priv->subscriber && *priv->subscriber;
    gobj_t *sub = named ? resolve(priv->subscriber) : gobj_parent(gobj);
    if (!sub)
        return named ? GOBJ_ENOENT : 0;
    if (sub == gobj) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: the gobj cannot be its own subscriber",
                 "subscriber", json_string(priv->subscriber), NULL);
        return GOBJ_EINVAL;
    }
    for (const gobj_event_def_t *e = connex_events; e->event; e++) {
        if (!(e->flags & GOBJ_EV_OUT))
            continue;
        int rc = gobj_subscribe_event(gobj, e->event, NULL, sub);
        if (rc < 0 && rc != GOBJ_EEXIST)
            return rc;
    }
    priv->subscribed = true;
    return 0;
}

/* The GSock of the attempt: gsock_attrs plus what GConnex owns. */
static json_t *sock_kw(connex_priv_t *priv, const json_t *dest)
{
    json_t *kw = json_deep_copy(priv->gsock_attrs);
    json_t *ssl = json_object_get(dest, "ssl_options");
    json_object_set_new(kw, "ssl_options", json_deep_copy(ssl ? ssl : priv->ssl_options));
    json_object_set_new(kw, "connect_timeout", json_integer(priv->connect_timeout));
    json_object_set_new(kw, "inactivity_timeout", json_integer(priv->inactivity_timeout));
    json_object_set_new(kw, "subscriber", json_string(""));
    const char *path = json_string_value(json_object_get(dest, "path"));
    if (path) {
        json_object_set_new(kw, "path", json_string(path));
    } else {
        json_object_set(kw, "host", json_object_get(dest, "host"));
        json_object_set(kw, "port", json_object_get(dest, "port"));
    }
    return kw;
}

/* Log one failed attempt, count it, and decide what follows: the next try
 * after the backoff, or giving up.  Returns true if it gave up (the caller
 * publishes EV_CONNEX_GAVE_UP last). */
static bool attempt_failed(gobj_t *gobj, const char *reason, const char *err)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!reason)
        reason = "unknown reason";
    priv->n_failures++;
    priv->failures_in_row++;
    char msg[600];
    snprintf(msg, sizeof msg, "GConnex %s: connect to %s failed: %s", gobj_full_name(gobj),
             priv->destination ? priv->destination : "", reason);
    gobj_log(GOBJ_LOG_WARN, gobj, msg, "destination", json_string(priv->destination), "reason",
             json_string(reason), "errno", json_string(err ? err : ""), "attempt",
             json_integer(priv->failures_in_row), NULL);
    size_t n = json_array_size(priv->destinations);
    priv->next_dest = n ? (priv->next_dest + 1) % n : 0;
    if (priv->max_retries > 0 && priv->failures_in_row >= priv->max_retries) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: gave up", "attempts",
                 json_integer(priv->failures_in_row), NULL);
        gobj_change_state(gobj, ST_IDLE);
        return true;
    }
    /* Failover is immediate: the next destination of the round is tried
     * at once (on a later turn, from the timer); the backoff applies once
     * every destination has failed in a row. */
    bool round_over = n <= 1 || priv->failures_in_row % (int64_t)n == 0;
    if (arm(gobj, round_over ? next_wait(priv) : 0) == 0)
        gobj_change_state(gobj, ST_WAIT_RETRY);
    else
        gobj_change_state(gobj, ST_IDLE);
    return false;
}

static void publish_gave_up(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    json_t *kw = json_pack("{s:O, s:I, s:s}", "destinations", priv->destinations, "attempts",
                           (json_int_t)priv->failures_in_row, "connex", gobj_full_name(gobj));
    gobj_publish_event(gobj, EV_CONNEX_GAVE_UP, kw);
}

/* Start one attempt (from the loop: the timer).  A failure found here (the
 * GSock cannot be created or started) is a failed attempt like any other. */
static void attempt(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    size_t n = json_array_size(priv->destinations);
    json_t *dest = json_array_get(priv->destinations, priv->next_dest < n ? priv->next_dest : 0);
    char name[300];
    connex__dest_name(dest, name, sizeof name);
    free(priv->destination);
    priv->destination = strdup(name);
    priv->n_attempts++;
    priv->dropping = false;
    gobj_t *sock = gobj_create("sock", gclass_find(GCLASS_GSOCK_NAME), sock_kw(priv, dest), gobj);
    int rc = sock ? gobj_start(sock) : GOBJ_EINVAL;
    if (rc == 0 && priv->rx_held)
        gobj_send_event(sock, EV_PAUSE_RX, NULL, gobj);
    if (rc == 0) {
        gobj_change_state(gobj, ST_WAIT_CONNECTED);
        rc = gobj_send_event(sock, EV_CONNECT, NULL, gobj);
        if (rc >= 0)
            return;
    }
    gobj_destroy(sock);
    if (attempt_failed(gobj, "cannot create or start the GSock (see the log)", gobj_err_name(rc)))
        publish_gave_up(gobj);
}

/* Close the GSock now, without an event from it.  If a connection was up,
 * its EV_DISCONNECTED is posted to ourselves (rule 15: never inside the
 * caller's call) with the last addresses and `reason`. */
static void close_now(gobj_t *gobj, const char *reason)
{
    connex_priv_t *priv = gobj_priv(gobj);
    gobj_t *sock = the_sock(gobj);
    if (!sock)
        return;
    json_t *kw = NULL;
    if (priv->up) {
        const char *peer = gobj_read_str(sock, "peername");
        const char *local = gobj_read_str(sock, "sockname");
        kw = json_pack("{s:s, s:s, s:s}", "peername", peer ? peer : "", "sockname",
                       local ? local : "", "reason", reason);
        priv->up = false;
    }
    gobj_destroy(sock);
    if (kw)
        gobj_post_event(gobj, EV_CONNEX_CLOSED, kw, gobj);
}

/*---------------------------------------------------------------------*
 *  Methods
 *---------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    json_t *attrs = gobj_read_attrs(gobj);
    char why[600];
    const char *attr = NULL;
    int rc = connex__explain(attrs, why, sizeof why, &attr);
    json_decref(attrs);
    if (rc < 0) {
        char msg[700];
        snprintf(msg, sizeof msg, "GConnex %s: %s", gobj_full_name(gobj), why);
        gobj_log(GOBJ_LOG_ERROR, gobj, msg, "attr", json_string(attr), NULL);
        return rc;
    }
    priv->queue = json_array();
    if (!priv->queue)
        return GOBJ_ENOMEM;
    priv->rnd = ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)gobj ^ 0x9e3779b97f4a7c15ULL;
    if (!priv->rnd)
        priv->rnd = 1;
    reset_backoff(priv);
    rc = subscribe_subscriber(gobj);
    return rc == GOBJ_ENOENT ? 0 : rc;
}

static int mt_start(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!gclass_find(GCLASS_GSOCK_NAME)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: the GSock gclass is not registered", NULL);
        return GOBJ_ENOENT;
    }
    int rc = subscribe_subscriber(gobj);
    if (rc == GOBJ_ENOENT)
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: the subscriber does not exist", "subscriber",
                 json_string(priv->subscriber), NULL);
    if (rc < 0)
        return rc;
    reset_backoff(priv);
    priv->next_dest = 0;
    if (priv->disabled)
        return 0;
    rc = arm(gobj, 0);
    if (rc == 0)
        gobj_change_state(gobj, ST_WAIT_RETRY);
    return rc;
}

static int mt_stop(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    gobj_loop_timer_stop(priv->timer);
    close_now(gobj, "stopped");
    gobj_change_state(gobj, ST_IDLE);
    return 0;
}

static void mt_destroy(gobj_t *gobj)
{
    connex_priv_t *priv = gobj_priv(gobj);
    /* The GSock child was destroyed before us (children first). */
    gobj_loop_timer_free(priv->timer);
    priv->timer = NULL;
    json_decref(priv->queue);
    priv->queue = NULL;
}

static void mt_writing(gobj_t *gobj, const char *attr)
{
    connex_priv_t *priv = gobj_priv(gobj);
    /* The other attributes are read when they are needed: the GSock's at
     * each attempt, the backoff's when a wait starts. */
    gobj_t *sock = the_sock(gobj);
    if (strcmp(attr, "disabled") != 0 || !gobj_is_running(gobj))
        return;
    if (priv->disabled) {
        /* Drop the connection (its EV_DISCONNECTED comes from the GSock, on
         * a later turn) and stop retrying. */
        gobj_loop_timer_stop(priv->timer);
        if (sock) {
            priv->dropping = true;
            gobj_send_event(sock, EV_DROP, NULL, gobj);
        } else {
            gobj_change_state(gobj, ST_IDLE);
        }
        return;
    }
    if (gobj_in_this_state(gobj, ST_IDLE) && arm(gobj, 0) == 0) {
        reset_backoff(priv);
        gobj_change_state(gobj, ST_WAIT_RETRY);
    }
}

/*---------------------------------------------------------------------*
 *  Actions
 *---------------------------------------------------------------------*/
static int ac_connect(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    connex_priv_t *priv = gobj_priv(gobj);
    if (!gobj_is_running(gobj) || priv->disabled) {
        gobj_log(GOBJ_LOG_ERROR, gobj,
                 priv->disabled ? "GConnex: EV_CONNECT refused: disabled"
                                : "GConnex: EV_CONNECT refused: not started",
                 NULL);
        return GOBJ_ESTATE;
    }
    if (the_sock(gobj))
        return 0; /* connecting or connected already */
    reset_backoff(priv);
    int rc = arm(gobj, 0);
    if (rc == 0)
        gobj_change_state(gobj, ST_WAIT_RETRY);
    return rc;
}

static int ac_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    if (src != gobj) {
        gobj_change_state(gobj, ST_WAIT_RETRY); /* not the timer: nothing happened */
        return GOBJ_EINVAL;
    }
    connex_priv_t *priv = gobj_priv(gobj);
    if (!gobj_is_running(gobj) || priv->disabled) {
        gobj_change_state(gobj, ST_IDLE);
        return 0;
    }
    attempt(gobj);
    return 0;
}

static int ac_send_data(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)src;
    connex_priv_t *priv = gobj_priv(gobj);
    json_t *data = json_object_get(kw, "data");
    if (!json_is_string(data)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: EV_SEND_DATA expects {data: string}", NULL);
        return GOBJ_EINVAL;
    }
    /* A connection we are dropping, or whose GSock has closed and not yet
     * told us (a write error inside an earlier send), takes nothing more:
     * the data waits for the next connection. */
    gobj_t *sock =
        gobj_in_this_state(gobj, ST_CONNECTED) && !priv->dropping ? the_sock(gobj) : NULL;
    if (sock && gobj_has_input_event(sock, ev))
        return gobj_send_event(sock, ev, json_incref(kw), gobj);
    if (priv->shut_wanted) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: EV_SEND_DATA after EV_SHUTDOWN: refused", NULL);
        return GOBJ_ESTATE;
    }
    size_t len = json_string_length(data);
    if ((int64_t)len > priv->tx_queue_max - priv->tx_queued) {
        priv->n_refused++;
        gobj_log(GOBJ_LOG_ERROR, gobj, "GConnex: not connected and the queue is full: data refused",
                 "bytes", json_integer((json_int_t)len), "tx_queued", json_integer(priv->tx_queued),
                 "tx_queue_max", json_integer(priv->tx_queue_max), NULL);
        return -ENOSPC;
    }
    if (json_array_append(priv->queue, data) < 0)
        return GOBJ_ENOMEM;
    priv->tx_queued += (int64_t)len;
    return (int)(priv->tx_queued > INT32_MAX ? INT32_MAX : priv->tx_queued);
}

static int ac_drop(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    connex_priv_t *priv = gobj_priv(gobj);
    gobj_t *sock = the_sock(gobj);
    if (!sock)
        return 0;
    priv->dropping = true;
    return gobj_send_event(sock, ev, NULL, gobj);
}

static int ac_sock_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!src || src != the_sock(gobj)) {
        gobj_change_state(gobj, ST_WAIT_CONNECTED); /* not our GSock: nothing happened */
        return 0;
    }
    priv->n_connects++;
    priv->up = true;
    /* The failure count starts over; the wait only once the connection
     * has lasted stable_after (a server that accepts and closes at once
     * is not hammered every backoff_initial). */
    priv->failures_in_row = 0;
    priv->up_since = gobj_loop_now_msec();
    /* The queue goes first, so that what the subscriber sends from its
     * EV_CONNECTED action comes after it. */
    queue_flush(gobj);
    if (priv->shut_wanted)
        gobj_send_event(src, EV_SHUTDOWN, NULL, gobj); /* after the queue */
    gobj_publish_event(gobj, ev, with_connex(gobj, kw));
    return 0;
}

/* EV_PAUSE_RX / EV_RESUME_RX: the hold is the GConnex's, kept across
 * connections (each new GSock starts held) until EV_RESUME_RX. */
static int ac_hold(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    connex_priv_t *priv = gobj_priv(gobj);
    priv->rx_held = ev == EV_PAUSE_RX;
    gobj_t *sock = the_sock(gobj);
    return sock ? gobj_send_event(sock, ev, NULL, gobj) : 0;
}

/* EV_SHUTDOWN: nothing more to send on this connection.  While down it
 * waits for the next connection, after the queue. */
static int ac_shutdown(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    connex_priv_t *priv = gobj_priv(gobj);
    gobj_t *sock =
        gobj_in_this_state(gobj, ST_CONNECTED) && !priv->dropping ? the_sock(gobj) : NULL;
    priv->shut_wanted = true;
    return sock ? gobj_send_event(sock, ev, NULL, gobj) : 0;
}

static int ac_sock_pass(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!src || src != the_sock(gobj) || !priv->up)
        return 0;
    gobj_publish_event(gobj, ev, with_connex(gobj, kw));
    return 0;
}

/* The GSock's one EV_DISCONNECTED: the end of a connection (republished) or
 * a failed attempt (logged and counted).  The state and the next step are
 * settled first and the publish comes last: a subscriber may send us
 * EV_CONNECT, stop us or destroy us from its action. */
static int ac_sock_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    connex_priv_t *priv = gobj_priv(gobj);
    if (!src || src != the_sock(gobj)) {
        gobj_change_state(gobj, priv->up ? ST_CONNECTED : ST_WAIT_CONNECTED);
        return 0; /* not our GSock: nothing happened */
    }
    gobj_destroy(src);
    bool was_up = priv->up, dropped = priv->dropping, gave_up = false;
    if (was_up) {
        priv->shut_wanted = false; /* it applied to that connection */
        if (gobj_loop_now_msec() - priv->up_since >=
            (uint64_t)(priv->stable_after > 0 ? priv->stable_after : 0))
            priv->delay = 0; /* it lasted: the next wait is backoff_initial */
    }
    priv->up = false;
    priv->dropping = false;
    bool go_on = gobj_is_running(gobj) && !priv->disabled;
    if (!was_up && !dropped) {
        if (go_on) {
            gave_up = attempt_failed(gobj, json_string_value(json_object_get(kw, "reason")),
                                     json_string_value(json_object_get(kw, "errno")));
        } else {
            priv->n_failures++;
            gobj_change_state(gobj, ST_IDLE);
        }
    } else if (go_on && arm(gobj, next_wait(priv)) == 0) {
        gobj_change_state(gobj, ST_WAIT_RETRY);
    } else {
        gobj_change_state(gobj, ST_IDLE);
    }
    if (was_up)
        gobj_publish_event(gobj, ev, with_connex(gobj, kw));
    else if (gave_up)
        publish_gave_up(gobj);
    return 0;
}

/* A connection closed by gobj_stop: its EV_DISCONNECTED, a turn later. */
static int ac_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    if (src != gobj)
        return GOBJ_EINVAL;
    gobj_publish_event(gobj, EV_DISCONNECTED, with_connex(gobj, kw));
    return 0;
}

/*---------------------------------------------------------------------*
 *  FSM
 *---------------------------------------------------------------------*/
/*
 *   gobj_start / EV_CONNECT / disabled=false: timer at 0 ms
 *  ST_IDLE ------------------------------------> ST_WAIT_RETRY
 *     ^  ^                                         |    ^
 *     |  | gave up (max_retries)                   |    | attempt failed / dropped:
 *     |  '-------------------------------.         |    | backoff timer
 *     |                                  |         v    |
 *     |   gobj_stop, disabled=true     ST_WAIT_CONNECTED  (EV_CONNEX_TIMER:
 *     '-------------------------------   |   (GSock connecting)  new GSock,
 *                                        |                       EV_CONNECT)
 *                        EV_CONNECTED    v
 *                                     ST_CONNECTED --EV_DISCONNECTED--> ST_WAIT_RETRY
 *
 * A row's next state is the usual outcome; an action overrides it where the
 * outcome depends on the counters, on `disabled` or on whether the GConnex
 * runs (an attempt that fails at once, giving up), and where the event came
 * from someone else than the timer or the current GSock (nothing happens).
 * EV_CONNECT in ST_IDLE keeps NULL: refused when stopped or disabled.
 */
/* clang-format off */
static const gobj_row_t st_idle[] = {
    /*       event              action                next state */
    GOBJ_ROW(EV_CONNECT,        ac_connect,           NULL),              /* ST_WAIT_RETRY */
    GOBJ_ROW(EV_SEND_DATA,      ac_send_data,         ST_IDLE),
    GOBJ_ROW(EV_DROP,           ac_drop,              ST_IDLE),
    GOBJ_ROW(EV_CONNEX_CLOSED,  ac_closed,            ST_IDLE),
    GOBJ_ROW(EV_PAUSE_RX,       ac_hold,              NULL),
    GOBJ_ROW(EV_RESUME_RX,      ac_hold,              NULL),
    GOBJ_ROW(EV_SHUTDOWN,       ac_shutdown,          NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_wait_retry[] = {
    GOBJ_ROW(EV_CONNECT,        ac_connect,           ST_WAIT_RETRY),     /* timer at 0 ms */
    GOBJ_ROW(EV_SEND_DATA,      ac_send_data,         ST_WAIT_RETRY),
    GOBJ_ROW(EV_DROP,           ac_drop,              ST_WAIT_RETRY),
    GOBJ_ROW(EV_CONNEX_TIMER,   ac_timer,             ST_WAIT_CONNECTED), /* or failed at once */
    GOBJ_ROW(EV_CONNEX_CLOSED,  ac_closed,            ST_WAIT_RETRY),
    GOBJ_ROW(EV_PAUSE_RX,       ac_hold,              NULL),
    GOBJ_ROW(EV_RESUME_RX,      ac_hold,              NULL),
    GOBJ_ROW(EV_SHUTDOWN,       ac_shutdown,          NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_wait_connected[] = {
    GOBJ_ROW(EV_CONNECT,        ac_connect,           ST_WAIT_CONNECTED),
    GOBJ_ROW(EV_SEND_DATA,      ac_send_data,         ST_WAIT_CONNECTED),
    GOBJ_ROW(EV_DROP,           ac_drop,              ST_WAIT_CONNECTED),
    GOBJ_ROW(EV_CONNECTED,      ac_sock_connected,    ST_CONNECTED),
    GOBJ_ROW(EV_DISCONNECTED,   ac_sock_disconnected, ST_WAIT_RETRY),     /* or ST_IDLE */
    GOBJ_ROW(EV_CONNEX_CLOSED,  ac_closed,            ST_WAIT_CONNECTED),
    GOBJ_ROW(EV_PAUSE_RX,       ac_hold,              NULL),
    GOBJ_ROW(EV_RESUME_RX,      ac_hold,              NULL),
    GOBJ_ROW(EV_SHUTDOWN,       ac_shutdown,          NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_connected[] = {
    GOBJ_ROW(EV_CONNECT,        ac_connect,           ST_CONNECTED),
    GOBJ_ROW(EV_SEND_DATA,      ac_send_data,         ST_CONNECTED),
    GOBJ_ROW(EV_DROP,           ac_drop,              ST_CONNECTED),
    GOBJ_ROW(EV_RX_DATA,        ac_sock_pass,         ST_CONNECTED),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_sock_pass,         ST_CONNECTED),
    GOBJ_ROW(EV_DISCONNECTED,   ac_sock_disconnected, ST_WAIT_RETRY),     /* or ST_IDLE */
    GOBJ_ROW(EV_CONNEX_CLOSED,  ac_closed,            ST_CONNECTED),
    GOBJ_ROW(EV_PAUSE_RX,       ac_hold,              NULL),
    GOBJ_ROW(EV_RESUME_RX,      ac_hold,              NULL),
    GOBJ_ROW(EV_SHUTDOWN,       ac_shutdown,          NULL),
    GOBJ_ROW(EV_RX_EOF,         ac_sock_pass,         ST_CONNECTED),
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const gobj_state_def_t connex_states[] = {
    GOBJ_STATE(ST_IDLE, st_idle),
    GOBJ_STATE(ST_WAIT_RETRY, st_wait_retry),
    GOBJ_STATE(ST_WAIT_CONNECTED, st_wait_connected),
    GOBJ_STATE(ST_CONNECTED, st_connected),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const gobj_event_def_t connex_events[] = {
    {EV_CONNECT, GOBJ_EV_IN, "{}"},
    {EV_SEND_DATA, GOBJ_EV_IN, "{data}"},
    {EV_DROP, GOBJ_EV_IN, "{}"},
    {EV_CONNECTED, GOBJ_EV_IN | GOBJ_EV_OUT, "{peername, sockname, tls?, connex}"},
    {EV_RX_DATA, GOBJ_EV_IN | GOBJ_EV_OUT, "{data, connex}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN | GOBJ_EV_OUT, "{connex}"},
    {EV_DISCONNECTED, GOBJ_EV_IN | GOBJ_EV_OUT, "{peername, sockname, reason, errno?, connex}"},
    {EV_PAUSE_RX, GOBJ_EV_IN, "{}"},
    {EV_RESUME_RX, GOBJ_EV_IN, "{}"},
    {EV_SHUTDOWN, GOBJ_EV_IN, "{}"},
    {EV_RX_EOF, GOBJ_EV_IN | GOBJ_EV_OUT, "{connex} (gsock_attrs half_close)"},
    {EV_CONNEX_GAVE_UP, GOBJ_EV_OUT, "{destinations, attempts, connex}"},
    {EV_CONNEX_TIMER, GOBJ_EV_IN, "{} internal: the retry timer"},
    {EV_CONNEX_CLOSED, GOBJ_EV_IN, "{peername, sockname, reason} internal: closed by gobj_stop"},
    {NULL, 0, NULL},
};

/*---------------------------------------------------------------------*
 *  Registration
 *---------------------------------------------------------------------*/
const gclass_def_t gobj__gconnex_def = {
    .name = GCLASS_GCONNEX_NAME,
    .description = "Client connection kept up over a list of destinations, with backoff",
    .states = connex_states,
    .events = connex_events,
    .attrs = connex_attrs,
    .methods =
        {
            .mt_create = mt_create,
            .mt_start = mt_start,
            .mt_stop = mt_stop,
            .mt_destroy = mt_destroy,
            .mt_writing = mt_writing,
            .mt_check = connex__mt_check,
        },
    .priv_size = sizeof(connex_priv_t),
};
