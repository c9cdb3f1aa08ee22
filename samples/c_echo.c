/*
 * c_echo.c - Echo: sends every byte a client sends back to it.
 *
 * Echo is the subscriber of its GServerSock child (the server's default
 * subscriber is its parent).  Each accepted connection is a GSock created as
 * a child of Echo, which therefore owns it: Echo destroys it on
 * EV_DISCONNECTED.  Echo keeps no state of its own per connection; the GSock
 * is the connection.
 *
 *   ST_SERVING --EV_CONNECTED-->    ST_SERVING  log "EV_CONNECTED"
 *              --EV_RX_DATA-->      ST_SERVING  send the same kw back: EV_SEND_DATA
 *              --EV_TRANSMIT_READY  ST_SERVING  (nothing: the client reads at its pace)
 *              --EV_DISCONNECTED--> ST_SERVING  log "EV_DISCONNECTED", destroy the GSock
 *
 * Input events (all from a GSock child, src = the GSock):
 *   EV_CONNECTED {peername, sockname}
 *   EV_RX_DATA {data}
 *   EV_TRANSMIT_READY {}
 *   EV_DISCONNECTED {peername, sockname, reason}
 * Output events: none.
 * Attributes:
 *   connections (int, STATS)  connections accepted so far
 *   echoed_bytes (int, STATS) bytes sent back so far
 */
#include "c_echo.h"

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"

GOBJ_DEFINE_STATE(ST_SERVING);

/*--------------------------------------------------------------------------*
 *  Attributes and private data
 *--------------------------------------------------------------------------*/
typedef struct echo_priv {
    int64_t connections;
    int64_t echoed_bytes;
} echo_priv_t;

static const gobj_attr_t echo_attrs[] = {
    GOBJ_ATTR("connections", GOBJ_ATTR_INT, echo_priv_t, connections, "0", GOBJ_STATS,
              "connections accepted so far"),
    GOBJ_ATTR("echoed_bytes", GOBJ_ATTR_INT, echo_priv_t, echoed_bytes, "0", GOBJ_STATS,
              "bytes sent back so far"),
    GOBJ_ATTR_END,
};

/*--------------------------------------------------------------------------*
 *  Actions
 *--------------------------------------------------------------------------*/
/* One info record per connection event, on behalf of the GSock, with the
 * addresses the event carries. */
static void log_connection(gobj_t *sock, gobj_event_t ev, json_t *kw)
{
    if (!gobj_log_enabled(GOBJ_LOG_INFO))
        return;
    json_t *fields = json_pack("{s:O?, s:O?}", "peername", json_object_get(kw, "peername"),
                               "sockname", json_object_get(kw, "sockname"));
    json_t *reason = json_object_get(kw, "reason");
    if (fields && reason)
        json_object_set(fields, "reason", reason);
    gobj_log_json(GOBJ_LOG_INFO, sock, gobj_event_name(ev), fields);
}

static int ac_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    echo_priv_t *priv = gobj_priv(gobj);
    priv->connections++;
    log_connection(src, ev, kw);
    return 0;
}

static int ac_rx_data(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    echo_priv_t *priv = gobj_priv(gobj);
    priv->echoed_bytes += (int64_t)json_string_length(json_object_get(kw, "data"));
    /* The kw is read-only and {data} is exactly what EV_SEND_DATA takes: pass
     * the same object on (one more reference), no copy. */
    return gobj_send_event(src, EV_SEND_DATA, json_incref(kw), gobj);
}

static int ac_transmit_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    return 0;
}

static int ac_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    log_connection(src, ev, kw);
    /* Echo owns the GSock (it is Echo's child): done with it. */
    gobj_destroy(src);
    return 0;
}

/*--------------------------------------------------------------------------*
 *  FSM
 *--------------------------------------------------------------------------*/
static const gobj_row_t st_serving[] = {
    /*       event              action              next state */
    GOBJ_ROW(EV_CONNECTED,      ac_connected,       NULL),
    GOBJ_ROW(EV_RX_DATA,        ac_rx_data,         NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_transmit_ready,  NULL),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected,    NULL),
    {0},
};

static const gobj_state_def_t echo_states[] = {
    GOBJ_STATE(ST_SERVING, st_serving),
    {0},
};

static const gobj_event_def_t echo_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname} from a GSock child"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data} from a GSock child"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{} from a GSock child"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason} from a GSock child"},
    {0},
};

/*--------------------------------------------------------------------------*
 *  Registration
 *--------------------------------------------------------------------------*/
static const gclass_def_t echo_def = {
    .name = GCLASS_ECHO_NAME,
    .description = "echoes every byte back to the client that sent it",
    .states = echo_states,
    .events = echo_events,
    .attrs = echo_attrs,
    .priv_size = sizeof(echo_priv_t),
};

int echo_register_gclass(void)
{
    if (gclass_find(GCLASS_ECHO_NAME))
        return 0;
    return gclass_register(&echo_def) ? 0 : GOBJ_ETABLE;
}
