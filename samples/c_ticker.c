/*
 * c_ticker.c - Ticker: counts the EV_TIMER_TIMEOUTs of its GTimer children and logs
 * each one as an info record "tick" {count}.
 *
 * It is gserve's built-in configuration (samples/ticker.json): a Ticker with
 * one periodic GTimer child.  The timers are configured in the tree (msec,
 * periodic) and arm themselves when the tree starts; a GTimer's subscriber is
 * its parent by default, so the Ticker needs no wiring at all.
 *
 *   ST_TICKING --EV_TIMER_TIMEOUT--> ST_TICKING    (count, log "tick", publish EV_TICK)
 *
 * Input events:
 *   EV_TIMER_TIMEOUT {}          from a GTimer child (kw borrowed, src the timer).
 * Output events:
 *   EV_TICK {count}        published after each tick is logged.
 * Attributes:
 *   count (int, RD|STATS)  ticks received since the gobj was created.
 */
#include "c_ticker.h"

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"

GOBJ_DEFINE_EVENT(EV_TICK);
GOBJ_DEFINE_STATE(ST_TICKING);

/*--------------------------------------------------------------------------*
 *  Attributes and private data
 *--------------------------------------------------------------------------*/
typedef struct ticker_priv {
    int64_t count;
} ticker_priv_t;

static const gobj_attr_t ticker_attrs[] = {
    GOBJ_ATTR("count", GOBJ_ATTR_INT, ticker_priv_t, count, "0", GOBJ_RD | GOBJ_STATS,
              "ticks received since the gobj was created"),
    GOBJ_ATTR_END,
};

/*--------------------------------------------------------------------------*
 *  Actions
 *--------------------------------------------------------------------------*/
static int ac_timeout(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    ticker_priv_t *priv = gobj_priv(gobj);
    priv->count++;
    gobj_log(GOBJ_LOG_INFO, gobj, "tick", "count", json_integer(priv->count), NULL);
    gobj_publish_event(gobj, EV_TICK, json_pack("{s:I}", "count", (json_int_t)priv->count));
    return 0;
}

/*--------------------------------------------------------------------------*
 *  FSM
 *--------------------------------------------------------------------------*/
static const gobj_row_t st_ticking[] = {
    /*       event       action      next state */
    GOBJ_ROW(EV_TIMER_TIMEOUT, ac_timeout, NULL),
    {0},
};

static const gobj_state_def_t ticker_states[] = {
    {.state = ST_TICKING, .rows = st_ticking},
    {0},
};

static const gobj_event_def_t ticker_events[] = {
    {EV_TIMER_TIMEOUT, GOBJ_EV_IN, "{} from a GTimer child"},
    {EV_TICK, GOBJ_EV_OUT, "{count: int}"},
    {0},
};

/*--------------------------------------------------------------------------*
 *  Registration
 *--------------------------------------------------------------------------*/
static const gclass_def_t ticker_def = {
    .name = GCLASS_TICKER_NAME,
    .description = "counts the EV_TIMER_TIMEOUTs of its GTimer children and logs each tick",
    .states = ticker_states,
    .events = ticker_events,
    .attrs = ticker_attrs,
    .priv_size = sizeof(ticker_priv_t),
};

int ticker_register_gclass(void)
{
    if (gclass_find(GCLASS_TICKER_NAME))
        return 0;
    return gclass_register(&ticker_def) ? 0 : GOBJ_ETABLE;
}
