/*
 * hsm_fixture.h - the fixture of the hierarchical-state pinning cases
 * (test_hsm.c: cases 1-21; test_hsm_observe.c: cases 22-25): the socket
 * gclass of the manual's section 6.1 and its variants, the watcher, the
 * bouncer, the flat gclasses, the trace and the helpers.  Included by one
 * test program each (everything is static).
 */
#ifndef GINSFSM_TEST_HSM_FIXTURE_H
#define GINSFSM_TEST_HSM_FIXTURE_H

#include <stdarg.h>

#include "testlib.h"

/*--------------------------------------------------------------------------*
 *  Names
 *--------------------------------------------------------------------------*/
GOBJ_DEFINE_EVENT(EV_CONNECT);
GOBJ_DEFINE_EVENT(EV_CONNECTED);
GOBJ_DEFINE_EVENT(EV_TIMEOUT);
GOBJ_DEFINE_EVENT(EV_TX_DATA);
GOBJ_DEFINE_EVENT(EV_RX_DATA);
GOBJ_DEFINE_EVENT(EV_RESYNC);
GOBJ_DEFINE_EVENT(EV_DROP);
GOBJ_DEFINE_EVENT(EV_DISCONNECTED);
GOBJ_DEFINE_EVENT(EV_TX_READY);
GOBJ_DEFINE_EVENT(EV_KICK);
GOBJ_DEFINE_EVENT(EV_TX_ABORT);
GOBJ_DEFINE_EVENT(EV_BOUNCE);
GOBJ_DEFINE_EVENT(EV_X);
GOBJ_DEFINE_EVENT(EV_SAME);
GOBJ_DEFINE_EVENT(EV_BACK);
GOBJ_DEFINE_EVENT(EV_UNH);
GOBJ_DEFINE_EVENT(EV_OUTER);
GOBJ_DEFINE_EVENT(EV_INNER);
GOBJ_DEFINE_EVENT(EV_PING);

GOBJ_DEFINE_STATE(ST_DISCONNECTED);
GOBJ_DEFINE_STATE(ST_CONNECTING);
GOBJ_DEFINE_STATE(ST_CONNECTED);
GOBJ_DEFINE_STATE(ST_IDLE);
GOBJ_DEFINE_STATE(ST_SENDING);
GOBJ_DEFINE_STATE(ST_WATCH);
GOBJ_DEFINE_STATE(ST_BOUNCE);
GOBJ_DEFINE_STATE(ST_A);
GOBJ_DEFINE_STATE(ST_B);
GOBJ_DEFINE_STATE(ST_C);
GOBJ_DEFINE_STATE(ST_D);
GOBJ_DEFINE_STATE(ST_E);
GOBJ_DEFINE_STATE(ST_NOWHERE);
GOBJ_DEFINE_STATE(ST_L0);
GOBJ_DEFINE_STATE(ST_L1);
GOBJ_DEFINE_STATE(ST_L2);
GOBJ_DEFINE_STATE(ST_L3);
GOBJ_DEFINE_STATE(ST_L4);
GOBJ_DEFINE_STATE(ST_L5);
GOBJ_DEFINE_STATE(ST_L6);
GOBJ_DEFINE_STATE(ST_L7);
GOBJ_DEFINE_STATE(ST_L8);
GOBJ_DEFINE_STATE(ST_L9);

/*--------------------------------------------------------------------------*
 *  The trace
 *--------------------------------------------------------------------------*/
static char trace[4096];

static inline void trace_reset(void)
{
    trace[0] = '\0';
}

static inline void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tr(const char *fmt, ...)
{
    size_t n = strlen(trace);
    va_list ap;
    if (n && n + 1 < sizeof trace)
        trace[n++] = ' ';
    va_start(ap, fmt);
    vsnprintf(trace + n, sizeof trace - n, fmt, ap);
    va_end(ap);
}

/* The trace writes states without their "ST_" prefix. */
static inline const char *short_state(const char *name)
{
    if (!name)
        return "(null)";
    return strncmp(name, "ST_", 3) == 0 ? name + 3 : name;
}

/*--------------------------------------------------------------------------*
 *  Knobs: how the actions and hooks behave in the current case
 *--------------------------------------------------------------------------*/
static struct {
    int try_write_ret;       /* ac_try_write's result */
    int enqueue_tx_ret;      /* ac_enqueue_tx's result */
    int close_ret;           /* ac_close's result */
    int start_tx_self_send;  /* 1: ac_start_tx sends EV_TX_DATA to self; 2: via the child */
    int ex_connected_send;   /* ex_connected sends EV_CONNECT to self */
    int ex_connected_change; /* ex_connected calls gobj_change_state() */
    int tx_done_to_sending;  /* ac_tx_done calls gobj_change_state(ST_SENDING) */
    int close_destroys;      /* ac_close queues an event to self, then destroys self */
    int nested_ret;          /* what the nested send returned */
    int nested_calls;        /* how many nested sends were made */
    int change_ret;          /* what gobj_change_state returned inside an action or hook */
    int bounces;             /* how many times the child bounced */
    gobj_state_t seen_state; /* gobj_current_state() inside ac_start_tx / ac_x */
} knobs;

static inline void knobs_reset(void)
{
    memset(&knobs, 0, sizeof knobs);
    knobs.nested_ret = 12345;
    knobs.change_ret = -1;
}

/*--------------------------------------------------------------------------*
 *  Hooks: every state has both, so that every entry and exit is observed
 *--------------------------------------------------------------------------*/
#define SIMPLE_HOOKS(lower, NAME)        \
    static void en_##lower(gobj_t *gobj) \
    {                                    \
        tr("entry:%s", NAME);            \
    }                                    \
    static void ex_##lower(gobj_t *gobj) \
    {                                    \
        tr("exit:%s", NAME);             \
    }

SIMPLE_HOOKS(disconnected, "DISCONNECTED")
SIMPLE_HOOKS(connecting, "CONNECTING")
SIMPLE_HOOKS(idle, "IDLE")
SIMPLE_HOOKS(sending, "SENDING")

static void en_connected(gobj_t *gobj)
{
    tr("entry:CONNECTED");
}

/* Cases 17 and 19 act from here: leaving CONNECTED is the middle of the
 * EV_DROP step, when the gobj is busy and no transition may start. */
static void ex_connected(gobj_t *gobj)
{
    tr("exit:CONNECTED");
    if (knobs.ex_connected_send) {
        knobs.nested_calls++;
        knobs.nested_ret = gobj_send_event(gobj, EV_CONNECT, NULL, gobj);
    }
    if (knobs.ex_connected_change)
        knobs.change_ret = gobj_change_state(gobj, ST_CONNECTING);
}

/*--------------------------------------------------------------------------*
 *  Actions of the socket fixture
 *--------------------------------------------------------------------------*/
static int ac_connect(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_connect");
    return 0;
}

static int ac_drop_tx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_drop_tx");
    return 0;
}

static int ac_retry_later(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_retry_later");
    return 0;
}

static int ac_rx_data(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_rx_data");
    return 0;
}

static int ac_enqueue_tx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_enqueue_tx");
    return knobs.enqueue_tx_ret;
}

static int ac_flush(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_flush");
    return 0;
}

static int ac_close(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_close");
    if (knobs.close_destroys) {
        /* The self-send lands in the gobj's run-to-completion queue; the
         * destroy that follows must drop it and release its kw. */
        knobs.nested_calls++;
        knobs.nested_ret = gobj_send_event(gobj, EV_RX_DATA, json_pack("{s:i}", "x", 1), gobj);
        gobj_destroy(gobj);
    }
    return knobs.close_ret;
}

static int ac_start_tx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_start_tx");
    knobs.seen_state = gobj_current_state(gobj);
    if (knobs.start_tx_self_send == 1) {
        knobs.nested_calls++;
        knobs.nested_ret = gobj_send_event(gobj, EV_TX_DATA, NULL, gobj);
    } else if (knobs.start_tx_self_send == 2) {
        gobj_send_event(gobj_find_child(gobj, "bouncer"), EV_BOUNCE, NULL, gobj);
    }
    return 0;
}

static int ac_try_write(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_try_write");
    return knobs.try_write_ret;
}

static int ac_tx_done(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_tx_done");
    if (knobs.tx_done_to_sending)
        knobs.change_ret = gobj_change_state(gobj, ST_SENDING);
    return 0;
}

static int ac_kick(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_kick");
    return 0;
}

static int ac_abort_tx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_abort_tx");
    return 0;
}

/* Case 14: gets the refused events of the HsmSockInject variant. */
static int mt_inject_event(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("inject:%s:%d", gobj_event_name(ev), (int)json_integer_value(json_object_get(kw, "n")));
    return 42;
}

/*--------------------------------------------------------------------------*
 *  The socket fixture (manual 6.1 + the two test-only rows)
 *--------------------------------------------------------------------------*/
static const gobj_row_t st_disconnected[] = {
    /* event, action, next state */
    GOBJ_ROW(EV_CONNECT, ac_connect, ST_CONNECTING),
    GOBJ_ROW(EV_TX_DATA, ac_drop_tx, NULL),
    {0},
};
static const gobj_row_t st_connecting[] = {
    {EV_CONNECTED, NULL, ST_CONNECTED, NULL}, /* drills to ST_IDLE */
    GOBJ_ROW(EV_TIMEOUT, ac_retry_later, ST_DISCONNECTED),
    {0},
};
static const gobj_row_t st_connected[] = {
    /* Shared by IDLE and SENDING. */
    GOBJ_ROW(EV_RX_DATA, ac_rx_data, NULL),
    GOBJ_ROW(EV_TX_DATA, ac_enqueue_tx, NULL),
    GOBJ_ROW(EV_RESYNC, ac_flush, ST_CONNECTED), /* self: re-enter, back to IDLE */
    GOBJ_ROW(EV_DROP, ac_close, ST_DISCONNECTED),
    {EV_DISCONNECTED, NULL, ST_DISCONNECTED, NULL},
    GOBJ_ROW(EV_KICK, ac_kick, ST_SENDING), /* test-only */
    {0},
};
static const gobj_row_t st_idle[] = {
    GOBJ_ROW(EV_TX_DATA, ac_start_tx, ST_SENDING), /* overrides the parent's row */
    {0},
};
static const gobj_row_t st_sending[] = {
    GOBJ_ROW(EV_TX_DATA, ac_try_write, NULL), /* FSM_UNHANDLED -> ac_enqueue_tx */
    GOBJ_ROW(EV_TX_READY, ac_tx_done, ST_IDLE),
    GOBJ_ROW(EV_TX_ABORT, ac_abort_tx, ST_CONNECTED), /* test-only */
    {0},
};

static const gobj_state_def_t sock_states[] = {
    /* state, rows, parent, initial, on_entry, on_exit */
    {ST_DISCONNECTED, st_disconnected, NULL, NULL, en_disconnected, ex_disconnected},
    {ST_CONNECTING, st_connecting, NULL, NULL, en_connecting, ex_connecting},
    {ST_CONNECTED, st_connected, NULL, ST_IDLE, en_connected, ex_connected},
    {ST_IDLE, st_idle, ST_CONNECTED, NULL, en_idle, ex_idle},
    {ST_SENDING, st_sending, ST_CONNECTED, NULL, en_sending, ex_sending},
    {0},
};

/* Case 1: the same machine with CONNECTED listed first. */
static const gobj_state_def_t sock_states_connected_first[] = {
    {ST_CONNECTED, st_connected, NULL, ST_IDLE, en_connected, ex_connected},
    {ST_DISCONNECTED, st_disconnected, NULL, NULL, en_disconnected, ex_disconnected},
    {ST_CONNECTING, st_connecting, NULL, NULL, en_connecting, ex_connecting},
    {ST_IDLE, st_idle, ST_CONNECTED, NULL, en_idle, ex_idle},
    {ST_SENDING, st_sending, ST_CONNECTED, NULL, en_sending, ex_sending},
    {0},
};

/* EV_STATE_CHANGED is listed as an output so that this file does not depend
 * on whether undeclared publication is allowed (test_fsm.c pins that). */
static const gobj_event_def_t sock_events[] = {
    {EV_CONNECT, GOBJ_EV_IN, "{}"},
    {EV_CONNECTED, GOBJ_EV_IN, "{}"},
    {EV_TIMEOUT, GOBJ_EV_IN, "{}"},
    {EV_TX_DATA, GOBJ_EV_IN, "{data: string}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data: string}"},
    {EV_RESYNC, GOBJ_EV_IN, "{}"},
    {EV_DROP, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{}"},
    {EV_TX_READY, GOBJ_EV_IN, "{}"},
    {EV_KICK, GOBJ_EV_IN, "{}"},
    {EV_TX_ABORT, GOBJ_EV_IN, "{}"},
    {EV_STATE_CHANGED, GOBJ_EV_OUT, "{previous, current}"},
    {0},
};

struct sock_priv {
    int64_t unused;
};

static const gclass_def_t sock_def = {
    .name = "HsmSock",
    .description = "socket machine of the manual, 6.1",
    .states = sock_states,
    .events = sock_events,
    .priv_size = sizeof(struct sock_priv),
};
static const gclass_def_t sock_first_def = {
    .name = "HsmSockConnectedFirst",
    .description = "socket machine of the manual, 6.1, CONNECTED listed first",
    .states = sock_states_connected_first,
    .events = sock_events,
    .priv_size = sizeof(struct sock_priv),
};
static const gclass_def_t sock_inject_def = {
    .name = "HsmSockInject",
    .description = "socket machine of the manual, 6.1 with mt_inject_event",
    .states = sock_states,
    .events = sock_events,
    .methods = {.mt_inject_event = mt_inject_event},
    .priv_size = sizeof(struct sock_priv),
};

/*--------------------------------------------------------------------------*
 *  Watcher: records EV_STATE_CHANGED
 *--------------------------------------------------------------------------*/
static int ac_chg(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("chg:%s>%s", short_state(json_string_value(json_object_get(kw, "previous"))),
       short_state(json_string_value(json_object_get(kw, "current"))));
    return 0;
}

static const gobj_row_t st_watch[] = {
    GOBJ_ROW(EV_STATE_CHANGED, ac_chg, NULL),
    {0},
};
static const gobj_state_def_t watch_states[] = {
    {ST_WATCH, st_watch, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_event_def_t watch_events[] = {
    {EV_STATE_CHANGED, GOBJ_EV_IN, "{previous, current}"},
    {0},
};
static const gclass_def_t watch_def = {
    .name = "HsmWatcher",
    .description = "records EV_STATE_CHANGED into the trace",
    .states = watch_states,
    .events = watch_events,
    .priv_size = sizeof(struct sock_priv),
};

/*--------------------------------------------------------------------------*
 *  Bouncer: a child that sends EV_TX_DATA back to its parent (case 16)
 *--------------------------------------------------------------------------*/
static int ac_bounce(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    knobs.bounces++;
    knobs.nested_calls++;
    knobs.nested_ret = gobj_send_event(gobj_parent(gobj), EV_TX_DATA, NULL, gobj);
    return 0;
}

static const gobj_row_t st_bounce[] = {
    GOBJ_ROW(EV_BOUNCE, ac_bounce, NULL),
    {0},
};
static const gobj_state_def_t bounce_states[] = {
    {ST_BOUNCE, st_bounce, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_event_def_t bounce_events[] = {
    {EV_BOUNCE, GOBJ_EV_IN, "{}"},
    {0},
};
static const gclass_def_t bounce_def = {
    .name = "HsmBouncer",
    .description = "sends EV_TX_DATA back to its parent",
    .states = bounce_states,
    .events = bounce_events,
    .priv_size = sizeof(struct sock_priv),
};

/*--------------------------------------------------------------------------*
 *  Flat gclass (cases 24 and 25)
 *--------------------------------------------------------------------------*/
static int ac_x(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_x");
    knobs.seen_state = gobj_current_state(gobj);
    return 11;
}

static int ac_same(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_same");
    return 0;
}

static int ac_unh(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_unh");
    return FSM_UNHANDLED;
}

static int ac_outer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_outer");
    knobs.nested_calls++;
    knobs.nested_ret = gobj_send_event(gobj, EV_INNER, NULL, gobj);
    tr("act:ac_outer_end");
    return 0;
}

static int ac_inner(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_inner");
    return 9;
}

static const gobj_row_t st_flat_a[] = {
    GOBJ_ROW(EV_X, ac_x, ST_B),         GOBJ_ROW(EV_SAME, ac_same, ST_A),
    GOBJ_ROW(EV_UNH, ac_unh, NULL),     GOBJ_ROW(EV_OUTER, ac_outer, NULL),
    GOBJ_ROW(EV_INNER, ac_inner, NULL), {0},
};
static const gobj_row_t st_flat_b[] = {
    {EV_BACK, NULL, ST_A, NULL},
    {0},
};
static const gobj_state_def_t flat_states[] = {
    {ST_A, st_flat_a, NULL, NULL, NULL, NULL},
    {ST_B, st_flat_b, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_event_def_t flat_events[] = {
    {EV_X, GOBJ_EV_IN, "{}"},
    {EV_SAME, GOBJ_EV_IN, "{}"},
    {EV_BACK, GOBJ_EV_IN, "{}"},
    {EV_UNH, GOBJ_EV_IN, "{}"},
    {EV_OUTER, GOBJ_EV_IN, "{}"},
    {EV_INNER, GOBJ_EV_IN, "{}"},
    {EV_STATE_CHANGED, GOBJ_EV_OUT, "{previous, current}"},
    {0},
};
static const gclass_def_t flat_def = {
    .name = "HsmFlat",
    .description = "flat machine for cases 24 and 25",
    .states = flat_states,
    .events = flat_events,
    .priv_size = sizeof(struct sock_priv),
};
static const gclass_def_t flat_inject_def = {
    .name = "HsmFlatInject",
    .description = "flat machine with mt_inject_event",
    .states = flat_states,
    .events = flat_events,
    .methods = {.mt_inject_event = mt_inject_event},
    .priv_size = sizeof(struct sock_priv),
};

static gclass_t *gc_sock, *gc_sock_first, *gc_sock_inject, *gc_watch, *gc_bounce;
static gclass_t *gc_flat, *gc_flat_inject;

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
static gobj_t *watcher;

/* A watcher root with the machine under test as its child "sock" (which has
 * a child "bouncer"); the watcher subscribes to the machine's changes.  The
 * trace and the captured log start empty after this. */
static inline gobj_t *new_obj(gclass_t *gc)
{
    watcher = gobj_create("watcher", gc_watch, NULL, NULL);
    T_ASSERT(watcher != NULL);
    gobj_t *obj = gobj_create("sock", gc, NULL, watcher);
    T_ASSERT(obj != NULL);
    T_ASSERT(gobj_create("bouncer", gc_bounce, NULL, obj) != NULL);
    T_EQ_INT(gobj_subscribe_event(obj, EV_STATE_CHANGED, NULL, watcher), 0);
    knobs_reset();
    trace_reset();
    t_log_clear();
    return obj;
}

/* Drive a fresh socket into `leaf` through the normal rows. */
static inline gobj_t *sock_in(gobj_state_t leaf)
{
    gobj_t *sock = new_obj(gc_sock);
    if (leaf != ST_DISCONNECTED)
        gobj_send_event(sock, EV_CONNECT, NULL, NULL);
    if (leaf == ST_IDLE || leaf == ST_SENDING)
        gobj_send_event(sock, EV_CONNECTED, NULL, NULL);
    if (leaf == ST_SENDING)
        gobj_send_event(sock, EV_TX_DATA, NULL, NULL);
    T_ASSERT(gobj_current_state(sock) == leaf);
    knobs_reset();
    trace_reset();
    t_log_clear();
    return sock;
}

static inline void finish(void)
{
    gobj_destroy(watcher);
    watcher = NULL;
    T_EQ_INT(gobj_live_count(), 0);
}

static inline const char *state_of(gobj_t *gobj)
{
    return gobj_state_name(gobj_current_state(gobj));
}

/* Registers the fixture's gclasses.  Returns: whether all registered. */
static inline bool hsm_fixture_register(void)
{
    gc_watch = gclass_register(&watch_def);
    gc_bounce = gclass_register(&bounce_def);
    gc_sock = gclass_register(&sock_def);
    gc_sock_first = gclass_register(&sock_first_def);
    gc_sock_inject = gclass_register(&sock_inject_def);
    gc_flat = gclass_register(&flat_def);
    gc_flat_inject = gclass_register(&flat_inject_def);
    T_ASSERT(gc_watch && gc_bounce && gc_sock && gc_sock_first && gc_sock_inject && gc_flat &&
             gc_flat_inject);
    T_EQ_INT(t_log_find("error", NULL), 0);
    if (!(gc_watch && gc_bounce && gc_sock && gc_sock_first && gc_sock_inject && gc_flat &&
          gc_flat_inject))
        return false;
    return true;
}

#endif /* GINSFSM_TEST_HSM_FIXTURE_H */
