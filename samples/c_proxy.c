/*
 * c_proxy.c - the TCP proxy sample: TcpProxy and ProxySession.
 *
 * samples/tcp-proxy.json runs a TcpProxy with a GServerSock child whose
 * session_gclass is ProxySession.  Each accepted connection (the client) is
 * a ProxySession owning its GSock ("sock", from the server) and a GConnex
 * child ("upstream") that connects to the upstream's destinations (the
 * session's `upstream` attribute, over the "GConnex.*" globals: so
 * `-s 'GConnex.destinations=[{"host":"127.0.0.1","port":9000}]'` works).
 * Nothing else is involved: bytes go from one to the other as events.
 *
 * The rules of the pair:
 *   - Bytes go both ways unchanged (framing "none" on both sides).
 *   - Backpressure across the pair: when a send to one side leaves more
 *     than high_water bytes queued there, reading from the other side is
 *     held (EV_PAUSE_RX) until that side has written its queue
 *     (EV_TRANSMIT_READY, then EV_RESUME_RX).  A side that never reads
 *     therefore costs at most about high_water plus one read (64 KiB) of
 *     memory, whatever the other side sends.
 *   - Before the upstream is connected the client's bytes are queued in
 *     the GConnex (bounded: the same hold applies, and its tx_queue_max is
 *     set above high_water plus a read so that nothing is ever refused);
 *     they go out in order once it connects.  An upstream not connected
 *     within connect_timeout (all its destinations and retries included)
 *     closes the client, with a warning naming the client and the upstream.
 *   - Half-close: both GSocks run with half_close, so an end of stream on one
 *     side (EV_RX_EOF) becomes EV_SHUTDOWN on the other (a FIN once its
 *     queue is written), and the other direction goes on.  Each side is
 *     closed when it is done both ways; the client is closed last, when the
 *     upstream has closed (so that the session, which lives as long as the
 *     client's GSock, outlives the upstream's output).
 *   - When the upstream's connection ends (closed, reset), the client is
 *     closed after its output drains (EV_DROP); when the client's ends, the
 *     runtime destroys the session, and the upstream with it.
 *
 * ProxySession (flat):
 *   ST_PX_WAIT_CLIENT --client EV_CONNECTED--> ST_PX_CONNECTING (upstream started)
 *   ST_PX_CONNECTING  --upstream EV_CONNECTED--> ST_PX_RELAYING
 *                     --EV_TIMER_TIMEOUT / EV_CONNEX_GAVE_UP--> ST_PX_CLOSING
 *   ST_PX_RELAYING    EV_RX_DATA, EV_TRANSMIT_READY, EV_RX_EOF from either side
 *                     --upstream EV_DISCONNECTED--> ST_PX_CLOSING (client dropped)
 *   any               --client EV_DISCONNECTED--> ST_PX_GONE (the runtime destroys it)
 */
#include "c_proxy.h"

#include <stdio.h>
#include <string.h>

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"

GOBJ_DEFINE_STATE(ST_PROXY);
GOBJ_DEFINE_STATE(ST_PX_WAIT_CLIENT);
GOBJ_DEFINE_STATE(ST_PX_CONNECTING);
GOBJ_DEFINE_STATE(ST_PX_RELAYING);
GOBJ_DEFINE_STATE(ST_PX_CLOSING);
GOBJ_DEFINE_STATE(ST_PX_GONE);

/* One read of a GSock: what may arrive after a hold was asked for. */
#define READ_MAX 65536

/*--------------------------------------------------------------------------*
 *  TcpProxy: the subscriber of the server, parent of the sessions
 *--------------------------------------------------------------------------*/
typedef struct {
    int64_t sessions;       /* open now */
    int64_t sessions_total; /* opened since start */
} proxy_priv_t;

static const gobj_attr_t proxy_attrs[] = {
    GOBJ_ATTR("sessions", GOBJ_ATTR_INT, proxy_priv_t, sessions, "0", GOBJ_STATS,
              "Client connections open now"),
    GOBJ_ATTR("sessions_total", GOBJ_ATTR_INT, proxy_priv_t, sessions_total, "0", GOBJ_STATS,
              "Client connections opened since start"),
    GOBJ_ATTR_END,
};

static int ac_opened(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw, (void)src;
    proxy_priv_t *priv = gobj_priv(gobj);
    priv->sessions++;
    priv->sessions_total++;
    return 0;
}

static int ac_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw, (void)src;
    proxy_priv_t *priv = gobj_priv(gobj);
    priv->sessions--;
    return 0;
}

/* clang-format off */
static const gobj_row_t st_proxy[] = {
    GOBJ_ROW(EV_SESSION_OPENED, ac_opened, NULL),
    GOBJ_ROW(EV_SESSION_CLOSED, ac_closed, NULL),
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */
static const gobj_state_def_t proxy_states[] = {
    GOBJ_STATE(ST_PROXY, st_proxy),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t proxy_events[] = {
    {EV_SESSION_OPENED, GOBJ_EV_IN, "{session, peername, sockname} from the server"},
    {EV_SESSION_CLOSED, GOBJ_EV_IN, "{session, peername, sockname, reason} from the server"},
    {NULL, 0, NULL},
};
static const gclass_def_t proxy_def = {
    .name = GCLASS_TCP_PROXY_NAME,
    .description = "a TCP proxy: the parent of one ProxySession per client",
    .states = proxy_states,
    .events = proxy_events,
    .attrs = proxy_attrs,
    .priv_size = sizeof(proxy_priv_t),
};

/*--------------------------------------------------------------------------*
 *  ProxySession: one client and its upstream
 *--------------------------------------------------------------------------*/
typedef struct {
    /* Attributes. */
    int64_t connect_timeout;
    int64_t high_water;
    json_t *upstream_attrs;
    int64_t bytes_up;   /* client -> upstream */
    int64_t bytes_down; /* upstream -> client */
    int64_t holds;
    /* Run time. */
    gobj_t *client;   /* the GSock, from its EV_CONNECTED */
    gobj_t *upstream; /* the GConnex child */
    gobj_t *timer;    /* the GTimer child: connect_timeout */
    bool client_held, upstream_held;
    bool client_eof, upstream_eof;
} session_priv_t;

static const gobj_attr_t session_attrs[] = {
    GOBJ_ATTR("connect_timeout", GOBJ_ATTR_INT, session_priv_t, connect_timeout, "10000", GOBJ_RD,
              "ms the upstream has to connect (all destinations and retries); then the "
              "client is closed"),
    GOBJ_ATTR("high_water", GOBJ_ATTR_INT, session_priv_t, high_water, "262144", GOBJ_RD,
              "Bytes queued on one side above which reading from the other is held"),
    GOBJ_ATTR("upstream", GOBJ_ATTR_JSON, session_priv_t, upstream_attrs, "{}", GOBJ_RD,
              "Attributes of the upstream GConnex (over the GConnex.* globals); its "
              "gsock_attrs get half_close"),
    GOBJ_ATTR("bytes_up", GOBJ_ATTR_INT, session_priv_t, bytes_up, "0", GOBJ_STATS,
              "Bytes from the client passed to the upstream"),
    GOBJ_ATTR("bytes_down", GOBJ_ATTR_INT, session_priv_t, bytes_down, "0", GOBJ_STATS,
              "Bytes from the upstream passed to the client"),
    GOBJ_ATTR("holds", GOBJ_ATTR_INT, session_priv_t, holds, "0", GOBJ_STATS,
              "Times reading from one side was held for the other's queue"),
    GOBJ_ATTR_END,
};

/* The GConnex's create kw: `upstream` with half_close added to its
 * gsock_attrs and a queue bound that the hold keeps it under.  New. */
static json_t *upstream_kw(const json_t *upstream, int64_t high_water)
{
    json_t *kw = json_is_object(upstream) ? json_deep_copy(upstream) : json_object();
    json_t *ga = json_object_get(kw, "gsock_attrs");
    if (!json_is_object(ga)) {
        ga = json_object();
        json_object_set_new(kw, "gsock_attrs", ga);
    }
    json_object_set_new(ga, "half_close", json_true());
    if (!json_object_get(kw, "tx_queue_max"))
        json_object_set_new(kw, "tx_queue_max", json_integer(high_water + 2 * READ_MAX));
    return kw;
}

/* mt_check, shared with mt_create: the values, and the GConnex it would
 * make (its destinations may come from the "GConnex.destinations" global). */
static int session_explain(int64_t connect_timeout, int64_t high_water, const json_t *upstream,
                           char *why, size_t why_len)
{
    if (connect_timeout <= 0) {
        snprintf(why, why_len, "ProxySession: attribute 'connect_timeout' must be > 0, not %lld",
                 (long long)connect_timeout);
        return GOBJ_EINVAL;
    }
    if (high_water <= 0) {
        snprintf(why, why_len, "ProxySession: attribute 'high_water' must be > 0, not %lld",
                 (long long)high_water);
        return GOBJ_EINVAL;
    }
    if (!json_is_object(upstream)) {
        snprintf(why, why_len, "ProxySession: attribute 'upstream' must be a JSON object");
        return GOBJ_EINVAL;
    }
    json_t *kw = upstream_kw(upstream, high_water);
    char inner[400];
    int rc = gclass_check_attrs(gclass_find(GCLASS_GCONNEX_NAME), kw, inner, sizeof inner);
    json_decref(kw);
    if (rc < 0) {
        snprintf(why, why_len, "ProxySession: upstream: %s", inner);
        return GOBJ_EINVAL;
    }
    return 0;
}

static int session_check(const json_t *attrs, char *why, size_t why_len)
{
    return session_explain(json_integer_value(json_object_get(attrs, "connect_timeout")),
                           json_integer_value(json_object_get(attrs, "high_water")),
                           json_object_get(attrs, "upstream"), why, why_len);
}

static int session_create(gobj_t *gobj)
{
    session_priv_t *priv = gobj_priv(gobj);
    char why[512];
    int rc = session_explain(priv->connect_timeout, priv->high_water, priv->upstream_attrs, why,
                             sizeof why);
    if (rc < 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, why, NULL);
        return rc;
    }
    priv->upstream = gobj_create("upstream", gclass_find(GCLASS_GCONNEX_NAME),
                                 upstream_kw(priv->upstream_attrs, priv->high_water), gobj);
    if (!priv->upstream)
        return GOBJ_ECONFIG; /* the create logged why */
    priv->timer = gobj_create("timer", gclass_find(GCLASS_GTIMER_NAME),
                              json_pack("{s:I}", "msec", (json_int_t)priv->connect_timeout), gobj);
    return priv->timer ? 0 : GOBJ_ENOMEM;
}

/* Hold reading from `from`, once, until the other side drains. */
static void hold(gobj_t *gobj, gobj_t *from, bool *held)
{
    session_priv_t *priv = gobj_priv(gobj);
    if (*held)
        return;
    *held = true;
    priv->holds++;
    gobj_send_event(from, EV_PAUSE_RX, NULL, gobj);
}

static void release(gobj_t *gobj, gobj_t *from, bool *held)
{
    if (!*held)
        return;
    *held = false;
    gobj_send_event(from, EV_RESUME_RX, NULL, gobj);
}

/* Close the client once its output is written; the upstream stops (no
 * retries).  The client's EV_DISCONNECTED ends the session. */
static void finish(gobj_t *gobj)
{
    session_priv_t *priv = gobj_priv(gobj);
    gobj_change_state(gobj, ST_PX_CLOSING);
    gobj_stop(priv->timer);
    gobj_stop(priv->upstream);
    if (priv->client)
        gobj_send_event(priv->client, EV_DROP, NULL, gobj);
}

static int ac_client_up(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    session_priv_t *priv = gobj_priv(gobj);
    if (src == priv->upstream)
        return 0; /* cannot happen before the upstream is started */
    priv->client = src;
    if (!gobj_read_bool(src, "half_close")) {
        static bool told;
        if (!told)
            gobj_log(GOBJ_LOG_WARN, gobj,
                     "ProxySession: give the GServerSock \"gsock_attrs\": {\"half_close\": true}: "
                     "without it a client's end of stream closes both sides at once",
                     NULL);
        told = true;
    }
    int rc = gobj_start(priv->timer);
    if (rc == 0)
        rc = gobj_start(priv->upstream);
    if (rc < 0) {
        finish(gobj);
        return rc;
    }
    return 0;
}

static int ac_upstream_up(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    session_priv_t *priv = gobj_priv(gobj);
    if (src != priv->upstream) {
        gobj_change_state(gobj, ST_PX_CONNECTING); /* not ours: nothing happened */
        return 0;
    }
    gobj_stop(priv->timer);
    /* The queue went out before EV_CONNECTED: the client may send again. */
    release(gobj, priv->client, &priv->client_held);
    return 0;
}

static int ac_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    session_priv_t *priv = gobj_priv(gobj);
    bool up = src == priv->client;
    gobj_t *to = up ? priv->upstream : priv->client;
    if (!to)
        return 0;
    size_t n = json_string_length(json_object_get(kw, "data"));
    int queued = gobj_send_event(to, EV_SEND_DATA, json_incref(kw), gobj);
    if (queued < 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "ProxySession: relaying failed: closing the client",
                 "direction", json_string(up ? "client to upstream" : "upstream to client"),
                 "error", json_string(gobj_err_name(queued)), NULL);
        finish(gobj);
        return 0;
    }
    *(up ? &priv->bytes_up : &priv->bytes_down) += (int64_t)n;
    if (queued > priv->high_water)
        hold(gobj, src, up ? &priv->client_held : &priv->upstream_held);
    return 0;
}

/* One side wrote its queue: the other may be read again. */
static int ac_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    session_priv_t *priv = gobj_priv(gobj);
    if (src == priv->client)
        release(gobj, priv->upstream, &priv->upstream_held);
    else if (src == priv->upstream)
        release(gobj, priv->client, &priv->client_held);
    return 0;
}

/* One side sends nothing more: the other gets a FIN once written.  A side
 * whose end comes after it was shut itself is done both ways: the upstream
 * is closed then; the client only when the upstream has closed. */
static int ac_eof(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    session_priv_t *priv = gobj_priv(gobj);
    if (src == priv->client) {
        priv->client_eof = true;
        gobj_send_event(priv->upstream, EV_SHUTDOWN, NULL, gobj);
    } else if (src == priv->upstream) {
        priv->upstream_eof = true;
        gobj_send_event(priv->client, EV_SHUTDOWN, NULL, gobj);
        if (priv->client_eof)
            gobj_send_event(priv->upstream, EV_SHUTDOWN, NULL, gobj);
    }
    return 0;
}

/* The upstream's connection ended: the client follows, once written. */
static int ac_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    session_priv_t *priv = gobj_priv(gobj);
    if (src == priv->client || !priv->client) {
        gobj_change_state(gobj, ST_PX_GONE);
        return 0;
    }
    if (src != priv->upstream)
        return 0;
    const char *reason = json_string_value(json_object_get(kw, "reason"));
    gobj_log(GOBJ_LOG_DEBUG, gobj, "ProxySession: the upstream closed: closing the client",
             "reason", json_string(reason ? reason : ""), NULL);
    finish(gobj);
    return 0;
}

/* No upstream within connect_timeout, or the GConnex gave up. */
static int ac_no_upstream(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw, (void)src;
    session_priv_t *priv = gobj_priv(gobj);
    char msg[160];
    if (ev == EV_TIMER_TIMEOUT)
        snprintf(msg, sizeof msg,
                 "ProxySession: the upstream did not connect within %lld ms: closing the client",
                 (long long)priv->connect_timeout);
    else
        snprintf(msg, sizeof msg, "ProxySession: the upstream gave up: closing the client");
    gobj_log(GOBJ_LOG_WARN, gobj, msg, "client",
             json_string(gobj_read_str(priv->client, "peername")), "upstream",
             json_string(gobj_read_str(priv->upstream, "destination")), "attempts",
             json_integer(gobj_read_int(priv->upstream, "n_attempts")), NULL);
    finish(gobj);
    return 0;
}

/* clang-format off */
static const gobj_row_t st_wait_client[] = {
    GOBJ_ROW(EV_CONNECTED,      ac_client_up,    ST_PX_CONNECTING),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected, ST_PX_GONE),
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_connecting[] = {
    GOBJ_ROW(EV_CONNECTED,      ac_upstream_up,  ST_PX_RELAYING),
    GOBJ_ROW(EV_RX_DATA,        ac_rx,           NULL),  /* queued in the GConnex */
    GOBJ_ROW(EV_RX_EOF,         ac_eof,          NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_tx_ready,     NULL),
    GOBJ_ROW(EV_TIMER_TIMEOUT,  ac_no_upstream,  NULL),  /* ST_PX_CLOSING */
    GOBJ_ROW(EV_CONNEX_GAVE_UP, ac_no_upstream,  NULL),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected, NULL),  /* the client: ST_PX_GONE */
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_relaying[] = {
    GOBJ_ROW(EV_RX_DATA,        ac_rx,           NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_tx_ready,     NULL),
    GOBJ_ROW(EV_RX_EOF,         ac_eof,          NULL),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected, NULL),  /* ST_PX_CLOSING or ST_PX_GONE */
    GOBJ_ROW(EV_TIMER_TIMEOUT,  NULL,            NULL),  /* stopped already */
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_closing[] = {
    GOBJ_ROW(EV_RX_DATA,        NULL,            NULL),  /* the client is being closed */
    GOBJ_ROW(EV_TRANSMIT_READY, NULL,            NULL),
    GOBJ_ROW(EV_RX_EOF,         NULL,            NULL),
    GOBJ_ROW(EV_CONNECTED,      NULL,            NULL),
    GOBJ_ROW(EV_TIMER_TIMEOUT,  NULL,            NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP, NULL,            NULL),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected, NULL),  /* the client: ST_PX_GONE */
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_gone[] = {  /* the runtime destroys it at the end of this dispatch */
    GOBJ_ROW(EV_RX_DATA,        NULL,            NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, NULL,            NULL),
    GOBJ_ROW(EV_RX_EOF,         NULL,            NULL),
    GOBJ_ROW(EV_CONNECTED,      NULL,            NULL),
    GOBJ_ROW(EV_TIMER_TIMEOUT,  NULL,            NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP, NULL,            NULL),
    GOBJ_ROW(EV_DISCONNECTED,   NULL,            NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t session_states[] = {
    GOBJ_STATE(ST_PX_WAIT_CLIENT, st_wait_client),
    GOBJ_STATE(ST_PX_CONNECTING, st_connecting),
    GOBJ_STATE(ST_PX_RELAYING, st_relaying),
    GOBJ_STATE(ST_PX_CLOSING, st_closing),
    GOBJ_STATE(ST_PX_GONE, st_gone),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const gobj_event_def_t session_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname} from the client's GSock or the upstream"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data} from either side"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{} from either side: its output drained"},
    {EV_RX_EOF, GOBJ_EV_IN, "{} from either side: its end of stream"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason} from either side"},
    {EV_TIMER_TIMEOUT, GOBJ_EV_IN, "{} from its timer: connect_timeout"},
    {EV_CONNEX_GAVE_UP, GOBJ_EV_IN, "{destinations, attempts} from the upstream"},
    {NULL, 0, NULL},
};

static const gclass_def_t session_def = {
    .name = GCLASS_PROXY_SESSION_NAME,
    .description = "one proxied client: its GSock, its upstream GConnex, the bytes between",
    .states = session_states,
    .events = session_events,
    .attrs = session_attrs,
    .methods = {.mt_create = session_create, .mt_check = session_check},
    .priv_size = sizeof(session_priv_t),
};

/*--------------------------------------------------------------------------*
 *  Registration
 *--------------------------------------------------------------------------*/
int proxy_register_gclasses(void)
{
    if (!gclass_find(GCLASS_TCP_PROXY_NAME) && !gclass_register(&proxy_def))
        return GOBJ_ETABLE;
    if (!gclass_find(GCLASS_PROXY_SESSION_NAME) && !gclass_register(&session_def))
        return GOBJ_ETABLE;
    return 0;
}
