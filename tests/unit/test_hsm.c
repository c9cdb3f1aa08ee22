/*
 * test_hsm.c - the 25 pinning cases of the hierarchical-state semantics
 * (doc/manual.md chapter 6, "Hierarchical states", and rules 4 to 8 of its
 * chapter 2, the dispatch contract).
 *
 * The fixture is the socket gclass of the manual's section 6.1
 * (DISCONNECTED, CONNECTING, and CONNECTED with substates IDLE and SENDING)
 * plus two test-only rows (EV_KICK in CONNECTED -> SENDING, EV_TX_ABORT in
 * SENDING -> CONNECTED).  Every action appends "act:NAME" to a trace, every state has
 * an entry and an exit hook that append "entry:STATE" / "exit:STATE", and a
 * watcher gobj subscribed to EV_STATE_CHANGED appends "chg:PREV>CUR".  State
 * names lose their "ST_" prefix in the trace so that the expected strings
 * stay short.  Each case compares the whole trace.
 *
 *   DISCONNECTED --EV_CONNECT--> CONNECTING --EV_CONNECTED--> CONNECTED
 *        ^                          |                         +--------------------+
 *        '------EV_TIMEOUT----------'                         | IDLE  --EV_TX_DATA-->|
 *        ^                                                    |       SENDING      |
 *        '----------- EV_DROP / EV_DISCONNECTED --------------| <--EV_TX_READY--   |
 *                                                             +--------------------+
 */
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

static void trace_reset(void)
{
    trace[0] = '\0';
}

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tr(const char *fmt, ...)
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
static const char *short_state(const char *name)
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

static void knobs_reset(void)
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
static gobj_t *new_obj(gclass_t *gc)
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
static gobj_t *sock_in(gobj_state_t leaf)
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

static void finish(void)
{
    gobj_destroy(watcher);
    watcher = NULL;
    T_EQ_INT(gobj_live_count(), 0);
}

static const char *state_of(gobj_t *gobj)
{
    return gobj_state_name(gobj_current_state(gobj));
}

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/
/* 1. Create enters the first state; a composite first state drills. */
static void case_01_create(void)
{
    knobs_reset();
    trace_reset();
    gobj_t *w = gobj_create("watcher", gc_watch, NULL, NULL);
    gobj_t *sock = gobj_create("sock", gc_sock, NULL, w);
    T_EQ_STR(trace, "entry:DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    gobj_destroy(w);

    trace_reset();
    w = gobj_create("watcher", gc_watch, NULL, NULL);
    sock = gobj_create("sock", gc_sock_first, NULL, w);
    T_EQ_STR(trace, "entry:CONNECTED entry:IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    gobj_destroy(w);
    T_EQ_INT(gobj_live_count(), 0);
}

/* 2. A sibling transition: action, exit, entry, change. */
static void case_02_connect(void)
{
    gobj_t *sock = sock_in(ST_DISCONNECTED);
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, NULL), 0);
    T_EQ_STR(trace,
             "act:ac_connect exit:DISCONNECTED entry:CONNECTING chg:DISCONNECTED>CONNECTING");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    finish();
}

/* 3. A row without action into a composite drills to its initial leaf. */
static void case_03_connected(void)
{
    gobj_t *sock = sock_in(ST_CONNECTING);
    T_EQ_INT(gobj_send_event(sock, EV_CONNECTED, NULL, NULL), 0);
    T_EQ_STR(trace, "exit:CONNECTING entry:CONNECTED entry:IDLE chg:CONNECTING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 4. A row found in the superstate with no next state is internal. */
static void case_04_rx_bubbled(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_RX_DATA, json_pack("{s:s}", "data", "abc"), NULL), 0);
    T_EQ_STR(trace, "act:ac_rx_data");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 5. The leaf's row overrides the superstate's row for the same event. */
static void case_05_start_tx(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, json_pack("{s:s}", "data", "abc"), NULL), 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 6. The leaf's guard says yes: internal, nothing else runs. */
static void case_06_try_write_ok(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = 0;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 7. The leaf's guard says no: the superstate's row fires and its value is
 * what send returns. */
static void case_07_try_write_unhandled(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = FSM_UNHANDLED;
    knobs.enqueue_tx_ret = 7;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 7);
    T_EQ_STR(trace, "act:ac_try_write act:ac_enqueue_tx");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();
}

/* 8. Every guard says no: refused like an event with no row. */
static void case_08_all_unhandled(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = FSM_UNHANDLED;
    knobs.enqueue_tx_ret = FSM_UNHANDLED;
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, json_pack("{s:s}", "data", "abc"), NULL),
             GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "act:ac_try_write act:ac_enqueue_tx");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_SENDING"), 1);
    T_EQ_INT(t_log_find("error", "EV_TX_DATA"), 1);
    finish();
}

/* 9. Bubbled row to a top-level state: exits innermost first. */
static void case_09_drop(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_STR(
        trace,
        "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();
}

/* 10. Self-transition of the source state is external: exits and re-enters
 * it, then drills to the initial leaf. */
static void case_10_resync_from_sending(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_RESYNC, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_flush exit:SENDING exit:CONNECTED entry:CONNECTED entry:IDLE "
                    "chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 11. Same from IDLE: the leaf ends where it started, so no change event. */
static void case_11_resync_from_idle(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_RESYNC, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_flush exit:IDLE exit:CONNECTED entry:CONNECTED entry:IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 12. A transition to an ancestor is local: the ancestor is not exited. */
static void case_12_abort_to_ancestor(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_TX_ABORT, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_abort_tx exit:SENDING entry:IDLE chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 13. A row owned by an ancestor of the target is local too; when the
 * target is the current leaf, the leaf is exited and re-entered. */
static void case_13_kick(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_KICK, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_kick exit:IDLE entry:SENDING chg:IDLE>SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");

    trace_reset();
    T_EQ_INT(gobj_send_event(sock, EV_KICK, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_kick exit:SENDING entry:SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 14. No row anywhere: refused, nothing runs, kw released; with
 * mt_inject_event the method gets it instead. */
static void case_14_refused(void)
{
    gobj_t *sock = sock_in(ST_CONNECTING);
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, json_pack("{s:i}", "n", 3), NULL), GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_CONNECTING"), 1);
    T_EQ_INT(t_log_find("error", "EV_TX_READY"), 1);
    finish();

    sock = new_obj(gc_sock_inject);
    gobj_send_event(sock, EV_CONNECT, NULL, NULL);
    trace_reset();
    live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, json_pack("{s:i}", "n", 3), NULL), 42);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "inject:EV_TX_READY:3");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();
}

/* 15. A row in another branch does not count. */
static void case_15_other_branch(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_ASSERT(!gobj_has_input_event(sock, EV_CONNECT));
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, NULL), GOBJ_ENOEVENT);
    T_EQ_STR(trace, "");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_IDLE"), 1);
    finish();
}

/* 16. A send to a busy gobj is queued (returns 0) and runs as a full step
 * after the current one, whether it comes from the gobj itself or back
 * through a child that runs synchronously. */
static void case_16_self_send(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    knobs.start_tx_self_send = 1;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_INT(knobs.nested_calls, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();

    sock = sock_in(ST_IDLE);
    knobs.start_tx_self_send = 2;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_INT(knobs.bounces, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 17. A send from an exit hook is queued behind the current step too. */
static void case_17_send_from_hook(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.ex_connected_send = 1;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(knobs.nested_calls, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED "
                    "chg:SENDING>DISCONNECTED "
                    "act:ac_connect exit:DISCONNECTED entry:CONNECTING "
                    "chg:DISCONNECTED>CONNECTING");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    finish();
}

/* 18. gobj_change_state() inside an action replaces the row's next state. */
static void case_18_change_in_action(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_tx_done exit:SENDING entry:IDLE chg:SENDING>IDLE");
    finish();

    sock = sock_in(ST_SENDING);
    knobs.tx_done_to_sending = 1;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, NULL, NULL), 0);
    T_EQ_INT(knobs.change_ret, 1);
    T_EQ_STR(trace, "act:ac_tx_done exit:SENDING entry:SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 19. gobj_change_state() inside a hook is refused with one error and the
 * step goes on unchanged. */
static void case_19_change_in_hook(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.ex_connected_change = 1;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(knobs.change_ret, 0);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_STR(
        trace,
        "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();
}

/* 20. gobj_change_state() outside any step transitions at once. */
static void case_20_change_outside(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_ASSERT(gobj_change_state(sock, ST_DISCONNECTED));
    T_EQ_STR(trace, "exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();

    /* A composite target drills to its initial leaf. */
    sock = sock_in(ST_SENDING);
    T_ASSERT(gobj_change_state(sock, ST_CONNECTED));
    T_EQ_STR(trace, "exit:SENDING entry:IDLE chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();

    sock = sock_in(ST_DISCONNECTED);
    T_ASSERT(gobj_change_state(sock, ST_CONNECTED));
    T_EQ_STR(trace, "exit:DISCONNECTED entry:CONNECTED entry:IDLE chg:DISCONNECTED>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 21. An action destroying its own gobj stops the step; gobj_destroy runs
 * no exit hooks. */
static void case_21_destroy(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.close_destroys = 1;
    knobs.close_ret = 5;
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 5);
    T_EQ_STR(trace, "act:ac_close");
    T_EQ_INT(knobs.nested_ret, 0);
    /* The queued EV_RX_DATA was dropped and its kw released. */
    T_EQ_INT(t_json_live, live);
    T_ASSERT(gobj_find_child(watcher, "sock") == NULL);
    T_EQ_INT(gobj_live_count(), 1);
    finish();

    sock = sock_in(ST_SENDING);
    gobj_destroy(sock);
    T_EQ_STR(trace, "");
    T_EQ_INT(gobj_live_count(), 1);
    finish();
}

/* 22. Inside the action the gobj is still in the old leaf; exact vs
 * ancestor-or-self state tests. */
static void case_22_observability(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_ASSERT(gobj_has_input_event(sock, EV_RX_DATA)); /* from CONNECTED */
    T_ASSERT(gobj_has_input_event(sock, EV_TX_DATA));
    T_ASSERT(!gobj_has_input_event(sock, EV_TX_READY));
    gobj_send_event(sock, EV_TX_DATA, NULL, NULL);
    T_ASSERT(knobs.seen_state == ST_IDLE);
    T_EQ_STR(gobj_state_name(knobs.seen_state), "ST_IDLE");
    T_ASSERT(gobj_current_state(sock) == ST_SENDING);
    T_ASSERT(gobj_in_this_state(sock, ST_SENDING));
    T_ASSERT(!gobj_in_this_state(sock, ST_CONNECTED));
    T_ASSERT(gobj_is_in_state(sock, ST_CONNECTED));
    T_ASSERT(gobj_is_in_state(sock, ST_SENDING));
    T_ASSERT(!gobj_is_in_state(sock, ST_IDLE));
    T_ASSERT(!gobj_is_in_state(sock, ST_DISCONNECTED));
    T_ASSERT(gclass_is_hierarchical(gc_sock));
    finish();
}

/* 23. Each build-time violation of a hierarchical table (manual 6.1: parent,
 * initial, nesting depth): NULL, exactly one error. */
static const gobj_event_def_t v_events[] = {
    {EV_PING, GOBJ_EV_IN, "{}"},
    {0},
};
static const gobj_row_t v_ping[] = {
    GOBJ_ROW(EV_PING, ac_same, NULL),
    {0},
};
static const gobj_row_t v_ping_to_nowhere[] = {
    GOBJ_ROW(EV_PING, ac_same, ST_NOWHERE),
    {0},
};
static const gobj_row_t v_ping_twice[] = {
    GOBJ_ROW(EV_PING, ac_same, NULL),
    GOBJ_ROW(EV_PING, ac_x, ST_B),
    {0},
};
static const gobj_row_t v_none[] = {
    {0},
};

static const gobj_state_def_t v_unknown_parent[] = {
    {ST_A, v_ping, NULL, NULL, NULL, NULL},
    {ST_B, v_none, ST_NOWHERE, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_unknown_initial[] = {
    {ST_A, v_ping, NULL, ST_NOWHERE, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_unknown_next[] = {
    {ST_A, v_ping_to_nowhere, NULL, ST_B, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_cycle[] = {
    {ST_A, v_ping, NULL, NULL, NULL, NULL},
    {ST_B, v_none, ST_C, ST_C, NULL, NULL},
    {ST_C, v_none, ST_B, ST_B, NULL, NULL},
    {0},
};
/* Ten nested levels: deeper than 8 however the depth is counted. */
static const gobj_state_def_t v_too_deep[] = {
    {ST_L0, v_ping, NULL, ST_L1, NULL, NULL},
    {ST_L1, v_none, ST_L0, ST_L2, NULL, NULL},
    {ST_L2, v_none, ST_L1, ST_L3, NULL, NULL},
    {ST_L3, v_none, ST_L2, ST_L4, NULL, NULL},
    {ST_L4, v_none, ST_L3, ST_L5, NULL, NULL},
    {ST_L5, v_none, ST_L4, ST_L6, NULL, NULL},
    {ST_L6, v_none, ST_L5, ST_L7, NULL, NULL},
    {ST_L7, v_none, ST_L6, ST_L8, NULL, NULL},
    {ST_L8, v_none, ST_L7, ST_L9, NULL, NULL},
    {ST_L9, v_none, ST_L8, NULL, NULL, NULL},
    {0},
};
/* Eight nested levels: within the limit however the depth is counted. */
static const gobj_state_def_t v_deep_ok[] = {
    {ST_L0, v_ping, NULL, ST_L1, NULL, NULL},
    {ST_L1, v_none, ST_L0, ST_L2, NULL, NULL},
    {ST_L2, v_none, ST_L1, ST_L3, NULL, NULL},
    {ST_L3, v_none, ST_L2, ST_L4, NULL, NULL},
    {ST_L4, v_none, ST_L3, ST_L5, NULL, NULL},
    {ST_L5, v_none, ST_L4, ST_L6, NULL, NULL},
    {ST_L6, v_none, ST_L5, ST_L7, NULL, NULL},
    {ST_L7, v_none, ST_L6, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_no_initial[] = {
    {ST_A, v_ping, NULL, NULL, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_initial_not_descendant[] = {
    {ST_A, v_ping, NULL, ST_C, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {ST_C, v_none, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_initial_self[] = {
    {ST_A, v_ping, NULL, ST_A, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_initial_on_leaf[] = {
    {ST_A, v_ping, NULL, ST_B, NULL, NULL},
    {ST_B, v_none, ST_A, NULL, NULL, NULL},
    {ST_C, v_none, NULL, ST_B, NULL, NULL},
    {0},
};
static const gobj_state_def_t v_duplicate_row[] = {
    {ST_A, v_ping_twice, NULL, NULL, en_idle, NULL},
    {ST_B, v_none, NULL, NULL, NULL, NULL},
    {0},
};

static void expect_refused(const char *gclass_name, const gobj_state_def_t *states,
                           const char *culprit)
{
    gclass_def_t def = {
        .name = gclass_name,
        .description = "invalid on purpose",
        .states = states,
        .events = v_events,
        .priv_size = sizeof(struct sock_priv),
    };
    t_log_clear();
    T_ASSERT(gclass_register(&def) == NULL);
    T_ASSERT(gclass_find(gclass_name) == NULL);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", gclass_name), 1);
    if (culprit)
        T_EQ_INT(t_log_find("error", culprit), 1);
    if (t_log_find("error", NULL) != 1 || (culprit && t_log_find("error", culprit) != 1))
        fprintf(stderr, "  (while registering %s)\n", gclass_name);
}

static void case_23_build_checks(void)
{
    expect_refused("HsmBadParent", v_unknown_parent, "ST_NOWHERE");
    expect_refused("HsmBadInitial", v_unknown_initial, "ST_NOWHERE");
    expect_refused("HsmBadNext", v_unknown_next, "ST_NOWHERE");
    expect_refused("HsmCycle", v_cycle, NULL);
    expect_refused("HsmTooDeep", v_too_deep, NULL);
    expect_refused("HsmNoInitial", v_no_initial, "ST_A");
    expect_refused("HsmInitialNotDescendant", v_initial_not_descendant, "ST_C");
    expect_refused("HsmInitialSelf", v_initial_self, "ST_A");
    expect_refused("HsmInitialOnLeaf", v_initial_on_leaf, "ST_C");
    expect_refused("HsmDuplicateRow", v_duplicate_row, "EV_PING");

    static const gclass_def_t deep_ok = {
        .name = "HsmDeepOk",
        .description = "eight nested levels",
        .states = v_deep_ok,
        .events = v_events,
        .priv_size = sizeof(struct sock_priv),
    };
    t_log_clear();
    gclass_t *gc = gclass_register(&deep_ok);
    T_ASSERT(gc != NULL);
    T_EQ_INT(t_log_find("error", NULL), 0);
    if (gc) {
        /* Creating drills from L0 all the way down to the deepest leaf. */
        gobj_t *deep = gobj_create("deep", gc, NULL, NULL);
        T_ASSERT(deep != NULL);
        T_ASSERT(gobj_current_state(deep) == ST_L7);
        T_ASSERT(gobj_is_in_state(deep, ST_L0));
        gobj_destroy(deep);
    }
}

/* 24. Flat: next state set before the action; EV_STATE_CHANGED when the
 * state is set (gobj.h: "Flat: sets the state now (publishing
 * EV_STATE_CHANGED if it changed)"), hence before the action runs. */
static void case_24_flat_order(void)
{
    gobj_t *obj = new_obj(gc_flat);
    T_ASSERT(!gclass_is_hierarchical(gc_flat));
    T_EQ_INT(gobj_send_event(obj, EV_X, NULL, NULL), 11);
    T_ASSERT(knobs.seen_state == ST_B);
    T_EQ_STR(trace, "chg:A>B act:ac_x");
    T_EQ_STR(state_of(obj), "ST_B");
    finish();

    obj = new_obj(gc_flat);
    T_EQ_INT(gobj_send_event(obj, EV_SAME, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_same");
    T_EQ_STR(state_of(obj), "ST_A");
    finish();
}

/* 25. Flat: refusal, mt_inject_event, FSM_UNHANDLED passes through, and a
 * self-send is dispatched at once, nested. */
static void case_25_flat_rest(void)
{
    gobj_t *obj = new_obj(gc_flat);
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(obj, EV_BACK, json_pack("{s:i}", "n", 4), NULL), GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_A"), 1);
    T_EQ_STR(trace, "");
    finish();

    obj = new_obj(gc_flat_inject);
    T_EQ_INT(gobj_send_event(obj, EV_BACK, json_pack("{s:i}", "n", 4), NULL), 42);
    T_EQ_STR(trace, "inject:EV_BACK:4");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();

    obj = new_obj(gc_flat);
    T_EQ_INT(gobj_send_event(obj, EV_UNH, NULL, NULL), FSM_UNHANDLED);
    T_EQ_STR(trace, "act:ac_unh");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();

    obj = new_obj(gc_flat);
    T_EQ_INT(gobj_send_event(obj, EV_OUTER, NULL, NULL), 0);
    T_EQ_INT(knobs.nested_ret, 9);
    T_EQ_STR(trace, "act:ac_outer act:ac_inner act:ac_outer_end");
    finish();
}

int main(void)
{
    t_init();
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
        return t_done();

    case_01_create();
    case_02_connect();
    case_03_connected();
    case_04_rx_bubbled();
    case_05_start_tx();
    case_06_try_write_ok();
    case_07_try_write_unhandled();
    case_08_all_unhandled();
    case_09_drop();
    case_10_resync_from_sending();
    case_11_resync_from_idle();
    case_12_abort_to_ancestor();
    case_13_kick();
    case_14_refused();
    case_15_other_branch();
    case_16_self_send();
    case_17_send_from_hook();
    case_18_change_in_action();
    case_19_change_in_hook();
    case_20_change_outside();
    case_21_destroy();
    case_22_observability();
    case_23_build_checks();
    case_24_flat_order();
    case_25_flat_rest();
    return t_done();
}
