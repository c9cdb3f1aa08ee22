/*
 * c_timer.c - GTimer: a millisecond timer that publishes EV_TIMER_TIMEOUT.
 *
 * What it is
 *   A one-shot or periodic timer on the process loop (monotonic clock,
 *   millisecond resolution).  Each expiry is published as EV_TIMER_TIMEOUT; the
 *   subscriber (the parent unless the `subscriber` attribute names another
 *   gobj) is subscribed by the timer itself, and any other gobj may
 *   subscribe too.  Periodic timers are scheduled relative to the time they
 *   were due, so they do not drift.
 *
 * Lifecycle
 *   gobj_start arms the timer if msec > 0; gobj_stop disarms it; destroying
 *   it cancels it.  A timer that is not running only records what
 *   EV_SET_TIMER asks for: the values take effect at the next gobj_start.
 *   Stopping, re-arming or destroying the timer from inside a subscriber's
 *   EV_TIMER_TIMEOUT action is safe.  An expiry always comes from the loop,
 *   never inside the call that armed the timer.  A re-arm that fails leaves
 *   the timer disarmed.
 *
 * Input events
 *   EV_SET_TIMER  {msec?: int, periodic?: bool}   kw borrowed, read only.
 *                 Sets the attributes (a missing key keeps the current
 *                 value) and re-arms from now; msec <= 0 disarms.
 *   EV_STOP_TIMER {}                              disarms.
 *   EV_TIMER_TIMEOUT    {}                              only from the timer itself
 *                 (its loop callback); refused from anyone else.
 * Output events
 *   EV_TIMER_TIMEOUT    {}   published on each expiry; subscribers get the kw
 *                      borrowed (shared, read-only) with src = the timer.
 *
 * Attributes
 *   msec        int     0      RD|WR  period or delay in ms; <= 0 = unarmed
 *   periodic    bool    false  RD|WR  fire every msec instead of once
 *   subscriber  string  ""     RD     unique name or full name of the gobj
 *                                     to subscribe to EV_TIMER_TIMEOUT; "" = parent
 *   n_timeouts  int     0      STATS  expiries published so far
 *
 * Writing msec or periodic while the timer is armed re-arms it from now.
 */
#include <stddef.h>
#include <string.h>

/* The timer runs on the loop's own timer API (lib/loop.c), not on libevent
 * directly: one timer implementation for the runtime and its gclasses. */
#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

GOBJ_DEFINE_EVENT(EV_SET_TIMER);     /* in:     {msec?: int, periodic?: bool} */
GOBJ_DEFINE_EVENT(EV_STOP_TIMER);    /* in:     {} */
GOBJ_DEFINE_EVENT(EV_TIMER_TIMEOUT); /* out:    {} (in: only from the timer itself) */
GOBJ_DEFINE_STATE(ST_IDLE);
GOBJ_DEFINE_STATE(ST_ARMED);

/* Defined here, listed by builtins.c. */
extern const gclass_def_t gobj__gtimer_def;

/*---------------------------------------------------------------------*
 *  Private data
 *---------------------------------------------------------------------*/
typedef struct {
    /* Attributes. */
    int64_t msec;
    bool periodic;
    char *subscriber;
    int64_t n_timeouts;
    /* Run time. */
    gobj_loop_timer_t *timer; /* created on first arm, freed by mt_destroy */
    bool subscribed;          /* the subscriber was subscribed once */
} timer_priv_t;

/*---------------------------------------------------------------------*
 *  Attributes
 *---------------------------------------------------------------------*/
static const gobj_attr_t timer_attrs[] = {
    GOBJ_ATTR("msec", GOBJ_ATTR_INT, timer_priv_t, msec, "0", GOBJ_RD | GOBJ_WR,
              "Delay or period in milliseconds; <= 0 leaves the timer unarmed"),
    GOBJ_ATTR("periodic", GOBJ_ATTR_BOOL, timer_priv_t, periodic, "false", GOBJ_RD | GOBJ_WR,
              "Fire every msec instead of once"),
    GOBJ_ATTR(
        "subscriber", GOBJ_ATTR_STRING, timer_priv_t, subscriber, "\"\"", GOBJ_RD,
        "Unique name or full name of the gobj subscribed to EV_TIMER_TIMEOUT; empty = the parent"),
    GOBJ_ATTR("n_timeouts", GOBJ_ATTR_INT, timer_priv_t, n_timeouts, "0", GOBJ_STATS,
              "Expiries published so far"),
    GOBJ_ATTR_END,
};

/*---------------------------------------------------------------------*
 *  Loop glue
 *---------------------------------------------------------------------*/
/* Thin on purpose: the expiry becomes an event to the timer itself, and
 * ac_timeout decides what it means.  The send may end with the timer freed
 * (a subscriber destroyed it), so nothing may follow it here. */
static void on_expiry(void *user)
{
    gobj_t *gobj = user;
    gobj_send_event(gobj, EV_TIMER_TIMEOUT, NULL, gobj);
}

static void disarm(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    gobj_loop_timer_stop(priv->timer);
}

/* (Re)arm from now with the current attributes (msec > 0).
 * Returns 0 or an error. */
static int arm(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    if (!priv->timer) {
        if (!gobj_loop_base()) {
            gobj_log(GOBJ_LOG_ERROR, gobj,
                     "GTimer: the loop is not initialised (call gobj_loop_init first)", NULL);
            return GOBJ_ESTATE;
        }
        priv->timer = gobj_loop_timer_new(on_expiry, gobj);
        if (!priv->timer) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "GTimer: out of memory", NULL);
            return GOBJ_ENOMEM;
        }
    }
    /* Periodic loop timers are rescheduled relative to the time they were
     * due, not to when the callback ran: no drift. */
    int rc = gobj_loop_timer_start(priv->timer, (uint64_t)priv->msec, priv->periodic);
    if (rc < 0)
        gobj_log(GOBJ_LOG_ERROR, gobj, "GTimer: cannot arm the timer", "msec",
                 json_integer(priv->msec), "error", json_string(gobj_strerror(rc)), NULL);
    return rc;
}

/* Arm if msec > 0, else disarm, and put the state in step. */
static int apply(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    if (priv->msec <= 0) {
        disarm(gobj);
        gobj_change_state(gobj, ST_IDLE);
        return 0;
    }
    int rc = arm(gobj);
    /* A re-arm that failed (a delay beyond the loop's range) left the
     * previous schedule in the loop: drop it, so that the timer is as idle
     * as its state says and no expiry comes to ST_IDLE. */
    if (rc < 0)
        disarm(gobj);
    gobj_change_state(gobj, rc == 0 ? ST_ARMED : ST_IDLE);
    return rc;
}

/* A unique name first (services), then a full name from the roots. */
static gobj_t *resolve(const char *name)
{
    gobj_t *g = gobj_find_unique(name);
    return g ? g : gobj_find_path(NULL, name);
}

/* Subscribe the configured subscriber once.  Returns 0, or GOBJ_ENOENT when
 * a named subscriber does not exist (yet). */
static int subscribe_subscriber(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    if (priv->subscribed)
        return 0;
    bool named = priv->subscriber && *priv->subscriber;
    gobj_t *sub = named ? resolve(priv->subscriber) : gobj_parent(gobj);
    if (!sub)
        return named ? GOBJ_ENOENT : 0; /* a root timer with no subscriber */
    if (sub == gobj) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GTimer: the timer cannot be its own subscriber",
                 "subscriber", json_string(priv->subscriber), NULL);
        return GOBJ_EINVAL;
    }
    int rc = gobj_subscribe_event(gobj, EV_TIMER_TIMEOUT, NULL, sub);
    if (rc < 0 && rc != GOBJ_EEXIST)
        return rc;
    priv->subscribed = true;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Methods
 *---------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    /* A named subscriber created after the timer (a later sibling, say) is
     * found at start instead. */
    int rc = subscribe_subscriber(gobj);
    return rc == GOBJ_ENOENT ? 0 : rc;
}

static int mt_start(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    int rc = subscribe_subscriber(gobj);
    if (rc == GOBJ_ENOENT) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GTimer: the subscriber does not exist", "subscriber",
                 json_string(priv->subscriber), NULL);
        return rc;
    }
    if (rc < 0)
        return rc;
    return priv->msec > 0 ? apply(gobj) : 0;
}

static int mt_stop(gobj_t *gobj)
{
    disarm(gobj);
    gobj_change_state(gobj, ST_IDLE);
    return 0;
}

static void mt_destroy(gobj_t *gobj)
{
    timer_priv_t *priv = gobj_priv(gobj);
    /* May run while the loop is still inside on_expiry for this very timer
     * (a subscriber destroyed the timer from its EV_TIMER_TIMEOUT action): a loop
     * timer may be freed from its own callback, nothing touches it after the
     * callback returns. */
    gobj_loop_timer_free(priv->timer);
    priv->timer = NULL;
}

static void mt_writing(gobj_t *gobj, const char *attr)
{
    if (!gobj_in_this_state(gobj, ST_ARMED))
        return;
    if (strcmp(attr, "msec") == 0 || strcmp(attr, "periodic") == 0)
        apply(gobj);
}

/*---------------------------------------------------------------------*
 *  Actions
 *---------------------------------------------------------------------*/
static int ac_set_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    timer_priv_t *priv = gobj_priv(gobj);
    json_t *jmsec = json_object_get(kw, "msec");
    json_t *jperiodic = json_object_get(kw, "periodic");
    /* Check both before changing anything: a bad request leaves the timer
     * as it was. */
    if ((jmsec && !json_is_integer(jmsec)) || (jperiodic && !json_is_boolean(jperiodic))) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GTimer: EV_SET_TIMER expects {msec: int, periodic: bool}",
                 "kw", kw ? json_incref(kw) : json_null(), NULL);
        return GOBJ_ETYPE;
    }
    if (jmsec)
        priv->msec = json_integer_value(jmsec);
    if (jperiodic)
        priv->periodic = json_is_true(jperiodic);
    if (!gobj_is_running(gobj))
        return 0;
    return apply(gobj);
}

static int ac_stop_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    disarm(gobj);
    return 0;
}

static int ac_timeout(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    timer_priv_t *priv = gobj_priv(gobj);
    if (src != gobj) {
        gobj_log(GOBJ_LOG_ERROR, gobj,
                 "GTimer: EV_TIMER_TIMEOUT is only accepted from the timer itself", "src",
                 json_string(src ? gobj_full_name(src) : ""), NULL);
        return GOBJ_EINVAL;
    }
    priv->n_timeouts++;
    /* The state is settled before publishing, so that a subscriber sees a
     * spent one-shot timer as idle and can re-arm it, and nothing is done
     * after publishing: a subscriber may have re-armed, stopped or destroyed
     * the timer. */
    if (!priv->periodic)
        gobj_change_state(gobj, ST_IDLE);
    gobj_publish_event(gobj, ev, json_object());
    return 0;
}

/*---------------------------------------------------------------------*
 *  FSM
 *---------------------------------------------------------------------*/
/*
 *            gobj_start (msec > 0) / EV_SET_TIMER (msec > 0, running)
 *           .---------------------------------------------------.
 *           |                                                   v
 *       ST_IDLE                                             ST_ARMED --.
 *           ^                                                   |      | EV_TIMER_TIMEOUT
 *           |   EV_STOP_TIMER, gobj_stop,                       |      | (periodic): publish
 *           |   EV_TIMER_TIMEOUT (one-shot): publish it,        |<-----'
 *           |   EV_SET_TIMER / msec written (msec <= 0)         |
 *           '---------------------------------------------------'
 *
 * EV_SET_TIMER and writes of msec/periodic in ST_ARMED re-arm from now.
 * The actions choose the next state (gobj_change_state) where it depends on
 * the kw or the attributes, so those rows keep the state in the table.
 */
/* clang-format off */
static const gobj_row_t st_idle[] = {
    /*       event             action         next state */
    GOBJ_ROW(EV_SET_TIMER,     ac_set_timer,  NULL),    /* ST_ARMED if running and msec > 0 */
    GOBJ_ROW(EV_STOP_TIMER,    ac_stop_timer, NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_armed[] = {
    /*       event             action         next state */
    GOBJ_ROW(EV_SET_TIMER,     ac_set_timer,  NULL),    /* ST_IDLE if msec <= 0 */
    GOBJ_ROW(EV_STOP_TIMER,    ac_stop_timer, ST_IDLE),
    GOBJ_ROW(EV_TIMER_TIMEOUT, ac_timeout,    NULL),    /* ST_IDLE if one-shot */
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const gobj_state_def_t timer_states[] = {
    {.state = ST_IDLE, .rows = st_idle},
    {.state = ST_ARMED, .rows = st_armed},
    {.state = NULL},
};

static const gobj_event_def_t timer_events[] = {
    {EV_SET_TIMER, GOBJ_EV_IN, "{msec?: int, periodic?: bool}"},
    {EV_STOP_TIMER, GOBJ_EV_IN, "{}"},
    {EV_TIMER_TIMEOUT, GOBJ_EV_IN | GOBJ_EV_OUT, "{}"},
    {NULL, 0, NULL},
};

/*---------------------------------------------------------------------*
 *  Registration
 *---------------------------------------------------------------------*/
const gclass_def_t gobj__gtimer_def = {
    .name = GCLASS_GTIMER_NAME,
    .description = "Millisecond one-shot or periodic timer that publishes EV_TIMER_TIMEOUT",
    .states = timer_states,
    .events = timer_events,
    .attrs = timer_attrs,
    .methods =
        {
            .mt_create = mt_create,
            .mt_start = mt_start,
            .mt_stop = mt_stop,
            .mt_destroy = mt_destroy,
            .mt_writing = mt_writing,
        },
    .priv_size = sizeof(timer_priv_t),
};
