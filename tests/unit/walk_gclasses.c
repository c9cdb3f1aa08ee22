/*
 * walk_gclasses.c - the two gclasses the random walk drives (doc/testing.md):
 * WalkFlat (flat) and WalkHsm (hierarchical).  Their actions, hooks and
 * methods check what the dispatch contract promises at the moment they run
 * (never on a destroying gobj; hooks enter a state only from its parent and
 * exit only the innermost entered one; mt_destroy after every child's) and
 * issue more random calls through do_calls().
 */
#include <stdlib.h>
#include <string.h>

#include "walk.h"

/*---------------------------------------------------------------------*
 *  Events and states
 *---------------------------------------------------------------------*/
GOBJ_DEFINE_EVENT(EV_W_SENT);    /* in  {seq}: per-destination sequence of sends */
GOBJ_DEFINE_EVENT(EV_W_POSTED);  /* in  {seq}: per-destination sequence of posts */
GOBJ_DEFINE_EVENT(EV_W_DO);      /* in  {}: the action issues more calls */
GOBJ_DEFINE_EVENT(EV_W_GO);      /* in  {}: takes a transition */
GOBJ_DEFINE_EVENT(EV_W_OUT);     /* in/out {color}: published */
GOBJ_DEFINE_EVENT(EV_W_RENAMED); /* in  {original_event_name, ...}: a renamed EV_W_OUT */
GOBJ_DEFINE_EVENT(EV_W_PROBE);   /* in  {}: no transition, no calls (quiescence check) */
GOBJ_DEFINE_EVENT(EV_W_REFUSED); /* in  {}: accepted only in ST_W_BUSY and ST_W_B2 */

GOBJ_DEFINE_STATE(ST_W_IDLE);
GOBJ_DEFINE_STATE(ST_W_BUSY);
GOBJ_DEFINE_STATE(ST_W_TOP);
GOBJ_DEFINE_STATE(ST_W_A);
GOBJ_DEFINE_STATE(ST_W_A1);
GOBJ_DEFINE_STATE(ST_W_A2);
GOBJ_DEFINE_STATE(ST_W_B);
GOBJ_DEFINE_STATE(ST_W_B1);
GOBJ_DEFINE_STATE(ST_W_B2);

/* The slot of a gobj that a callback runs on; the model must know it. */
static int w_self(gobj_t *g, const char *where)
{
    const struct wpriv *p = gobj_priv(g);
    int s = p->slot;
    if (s < 0 || s >= N_SLOTS || slots[s].g != g || slots[s].serial != p->serial) {
        w_fail(__FILE__, __LINE__, "model knows gobj",
               "%s ran on %s, a gobj the model says is freed", where, gobj_full_name(g));
        return -1;
    }
    return s;
}

/*---------------------------------------------------------------------*
 *  The hierarchical machine's states, as the hooks check them
 *---------------------------------------------------------------------*/
gobj_state_t walk_parent_state(gobj_state_t st)
{
    if (st == ST_W_A || st == ST_W_B)
        return ST_W_TOP;
    if (st == ST_W_A1 || st == ST_W_A2)
        return ST_W_A;
    if (st == ST_W_B1 || st == ST_W_B2)
        return ST_W_B;
    return NULL;
}

static void w_entry(gobj_t *g, gobj_state_t st)
{
    int s = w_self(g, "on_entry");
    W_CHECK(!gobj_is_destroying(g), "on_entry %s of %s after its destroy", st->name,
            gobj_full_name(g));
    if (s < 0)
        return;
    W_CHECK(gobj_hook_state(g) == st, "gobj_hook_state is %s in the entry hook of %s",
            gobj_state_name(gobj_hook_state(g)), st->name);
    struct slot *m = &slots[s];
    gobj_state_t top = m->depth ? m->stack[m->depth - 1] : NULL;
    W_CHECK(walk_parent_state(st) == top, "%s entered %s from %s (its parent is %s)", sname(s),
            st->name, top ? top->name : "nothing",
            walk_parent_state(st) ? walk_parent_state(st)->name : "-");
    if (m->depth < MAX_DEPTH)
        m->stack[m->depth++] = st;
    w_say("[%s entry %s]", sname(s), st->name);
    do_calls(C_ENTRY, s, 20);
}

static void w_exit(gobj_t *g, gobj_state_t st)
{
    int s = w_self(g, "on_exit");
    W_CHECK(!gobj_is_destroying(g), "on_exit %s of %s after its destroy", st->name,
            gobj_full_name(g));
    if (s < 0)
        return;
    W_CHECK(gobj_hook_state(g) == st, "gobj_hook_state is %s in the exit hook of %s",
            gobj_state_name(gobj_hook_state(g)), st->name);
    struct slot *m = &slots[s];
    gobj_state_t top = m->depth ? m->stack[m->depth - 1] : NULL;
    W_CHECK(top == st, "%s exited %s, but the innermost entered state is %s", sname(s), st->name,
            top ? top->name : "nothing");
    if (top == st)
        m->depth--;
    w_say("[%s exit %s]", sname(s), st->name);
    do_calls(C_EXIT, s, 20);
}

#define W_HOOKS(X)                \
    static void en_##X(gobj_t *g) \
    {                             \
        w_entry(g, ST_W_##X);     \
    }                             \
    static void ex_##X(gobj_t *g) \
    {                             \
        w_exit(g, ST_W_##X);      \
    }
W_HOOKS(TOP)
W_HOOKS(A)
W_HOOKS(A1)
W_HOOKS(A2)
W_HOOKS(B)
W_HOOKS(B1)
W_HOOKS(B2)

/*---------------------------------------------------------------------*
 *  Actions
 *---------------------------------------------------------------------*/
static int ac_any(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    int s = w_self(g, ev->name);
    W_CHECK(!gobj_is_destroying(g), "%s received %s after its destroy", gobj_full_name(g),
            ev->name);
    W_CHECK(!gobj_hook_state(g), "%s: gobj_hook_state is %s in an action", gobj_full_name(g),
            gobj_state_name(gobj_hook_state(g)));
    if (s < 0)
        return 0;
    struct slot *m = &slots[s];
    uint32_t seq = (uint32_t)json_integer_value(json_object_get(kw, "seq"));
    if (ev == EV_W_SENT) {
        W_CHECK(seq == m->sent_recv + 1, "%s got EV_W_SENT #%u, expected #%u (sends out of order)",
                sname(s), seq, m->sent_recv + 1);
        m->sent_recv = seq;
    } else if (ev == EV_W_POSTED) {
        W_CHECK(seq == m->post_recv + 1,
                "%s got EV_W_POSTED #%u, expected #%u (posts out of FIFO order)", sname(s), seq,
                m->post_recv + 1);
        m->post_recv = seq;
    } else if (ev == EV_W_RENAMED) {
        W_CHECK(json_object_get(kw, "original_event_name"),
                "a renamed delivery lacks original_event_name");
    } else if (ev == EV_W_PROBE) {
        return 0;
    }
    w_say("[%s %s in %s%s%s]", sname(s), ev->name, gobj_state_name(gobj_current_state(g)),
          src ? " from " : "", src ? gobj_full_name(src) : "");
    do_calls(C_ACTION, s, ev == EV_W_DO ? 80 : 35);
    /* A result > 0 stops the fan-out of an __own_event__ subscription. */
    return ev == EV_W_OUT || ev == EV_W_RENAMED ? (int)rnd(2) : 0;
}

/* A guard: false offers the event to the superstate. */
static int ac_guard(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    W_CHECK(!gobj_is_destroying(g), "%s guard for %s after its destroy", gobj_full_name(g),
            ev->name);
    if (!W.quiet && rnd(3) == 0)
        return FSM_UNHANDLED;
    return ac_any(g, ev, kw, src);
}

/*---------------------------------------------------------------------*
 *  Methods
 *---------------------------------------------------------------------*/
static int mt_create(gobj_t *g)
{
    struct wpriv *p = gobj_priv(g);
    int s = W.pending_slot;
    W.pending_slot = -1;
    if (s < 0) {
        w_fail(__FILE__, __LINE__, "pending slot", "mt_create of %s without a pending create",
               gobj_full_name(g));
        p->slot = -1;
        return -1;
    }
    slots[s].g = g;
    p->slot = s;
    p->serial = slots[s].serial;
    w_say("[%s mt_create %s]", sname(s), gobj_full_name(g));
    do_calls(C_CREATE, s, 30);
    return !W.quiet && rnd(25) == 0 ? GOBJ_EINVAL : 0;
}

static void mt_destroy(gobj_t *g)
{
    const struct wpriv *p = gobj_priv(g);
    if (p->slot < 0)
        return;
    int s = w_self(g, "mt_destroy");
    if (s < 0)
        return;
    for (int i = 0; i < N_SLOTS; i++)
        W_CHECK(!slots[i].g || slots[i].parent != s, "%s destroyed before its child %s", sname(s),
                sname(i));
    w_say("[%s mt_destroy]", sname(s));
    slots[s].g = NULL;
}

static int mt_start(gobj_t *g)
{
    int s = w_self(g, "mt_start");
    W_CHECK(!gobj_is_destroying(g), "mt_start of %s after its destroy", gobj_full_name(g));
    w_say("[%s mt_start]", sname(s));
    do_calls(C_START, s, 30);
    return !W.quiet && rnd(20) == 0 ? GOBJ_EINVAL : 0;
}

static int mt_stop(gobj_t *g)
{
    int s = w_self(g, "mt_stop");
    w_say("[%s mt_stop]", sname(s));
    do_calls(C_STOP, s, 30);
    /* > 0: still finishing; the walker calls gobj_stopped() some time. */
    return !W.quiet && rnd(8) == 0 ? 1 : 0;
}

static void mt_writing(gobj_t *g, const char *attr)
{
    int s = w_self(g, "mt_writing");
    w_say("[%s mt_writing %s]", sname(s), attr);
    do_calls(C_WRITING, s, 20);
}

/*---------------------------------------------------------------------*
 *  The gclasses
 *---------------------------------------------------------------------*/
static const gobj_attr_t w_attrs[] = {
    GOBJ_ATTR("n", GOBJ_ATTR_INT, struct wpriv, n, "0", GOBJ_WR, "a writable integer"),
    GOBJ_ATTR("s", GOBJ_ATTR_STRING, struct wpriv, s, "\"\"", GOBJ_WR, "a writable string"),
    GOBJ_ATTR("ro", GOBJ_ATTR_INT, struct wpriv, ro, "7", GOBJ_RD, "a read-only integer"),
    GOBJ_ATTR_END,
};

static const gobj_event_def_t w_events[] = {
    {EV_W_SENT, GOBJ_EV_IN, "{seq}"},
    {EV_W_POSTED, GOBJ_EV_IN, "{seq}"},
    {EV_W_DO, GOBJ_EV_IN, "{}"},
    {EV_W_GO, GOBJ_EV_IN, "{}"},
    {EV_W_OUT, GOBJ_EV_IN | GOBJ_EV_OUT, "{color}"},
    {EV_W_RENAMED, GOBJ_EV_IN, "{original_event_name, color}"},
    {EV_W_PROBE, GOBJ_EV_IN, "{}"},
    {EV_W_REFUSED, GOBJ_EV_IN, "{}"},
    {EV_STATE_CHANGED, GOBJ_EV_IN, "{previous, current}"},
    {NULL, 0, NULL},
};

static void mt_tree_started(gobj_t *g)
{
    int s = w_self(g, "mt_tree_started");
    W_CHECK(!gobj_is_destroying(g), "mt_tree_started of %s after its destroy", gobj_full_name(g));
    w_say("[%s mt_tree_started]", sname(s));
    do_calls(C_TREE_STARTED, s, 30);
}

/* WalkHsm only: gets EV_W_REFUSED where no state accepts it. */
static int mt_inject_event(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    int s = w_self(g, "mt_inject_event");
    W_CHECK(!gobj_is_destroying(g), "%s got %s (injected) after its destroy", gobj_full_name(g),
            ev->name);
    w_say("[%s mt_inject_event %s in %s]", sname(s), ev->name,
          gobj_state_name(gobj_current_state(g)));
    do_calls(C_INJECT, s, 40);
    return 0;
}

static const gobj_methods_t w_methods = {
    .mt_create = mt_create,
    .mt_start = mt_start,
    .mt_stop = mt_stop,
    .mt_destroy = mt_destroy,
    .mt_writing = mt_writing,
    .mt_tree_started = mt_tree_started,
};
static const gobj_methods_t w_hsm_methods = {
    .mt_create = mt_create,
    .mt_start = mt_start,
    .mt_stop = mt_stop,
    .mt_destroy = mt_destroy,
    .mt_writing = mt_writing,
    .mt_tree_started = mt_tree_started,
    .mt_inject_event = mt_inject_event,
};

/*  Flat:  ST_W_IDLE <--EV_W_GO--> ST_W_BUSY; every other event in both. */
#define W_COMMON_ROWS                                                             \
    GOBJ_ROW(EV_W_SENT, ac_any, NULL), GOBJ_ROW(EV_W_POSTED, ac_any, NULL),       \
        GOBJ_ROW(EV_W_DO, ac_any, NULL), GOBJ_ROW(EV_W_OUT, ac_any, NULL),        \
        GOBJ_ROW(EV_W_RENAMED, ac_any, NULL), GOBJ_ROW(EV_W_PROBE, ac_any, NULL), \
        GOBJ_ROW(EV_STATE_CHANGED, ac_any, NULL)
static const gobj_row_t st_idle[] = {
    GOBJ_ROW(EV_W_GO, ac_any, ST_W_BUSY), W_COMMON_ROWS, {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_busy[] = {GOBJ_ROW(EV_W_GO, ac_any, ST_W_IDLE),
                                     GOBJ_ROW(EV_W_REFUSED, ac_any, NULL),
                                     W_COMMON_ROWS,
                                     {NULL, NULL, NULL, NULL}};
static const gobj_state_def_t flat_states[] = {
    GOBJ_STATE(ST_W_IDLE, st_idle),
    GOBJ_STATE(ST_W_BUSY, st_busy),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

/*  Hierarchical:
 *    ST_W_TOP (initial A): every event, EV_W_GO keeps the state
 *      ST_W_A (initial A1):  EV_W_GO [guard] -> B,  EV_W_SENT [guard]
 *        ST_W_A1:  EV_W_GO [guard] -> A2
 *        ST_W_A2:  EV_W_GO [guard] -> B2 (across branches), EV_W_DO [guard] -> B1
 *      ST_W_B (initial B1):  EV_W_GO -> TOP (exits to TOP, drills to A1)
 *        ST_W_B1:  EV_W_GO -> B1 (external self-transition), EV_W_POSTED [guard]
 *        ST_W_B2:  EV_W_GO [guard] -> A1, EV_W_OUT [guard] -> A2
 */
static const gobj_row_t st_top[] = {
    GOBJ_ROW(EV_W_GO, ac_any, NULL), W_COMMON_ROWS, {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_a[] = {GOBJ_ROW(EV_W_GO, ac_guard, ST_W_B),
                                  GOBJ_ROW(EV_W_SENT, ac_guard, NULL),
                                  {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_a1[] = {GOBJ_ROW(EV_W_GO, ac_guard, ST_W_A2), {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_a2[] = {GOBJ_ROW(EV_W_GO, ac_guard, ST_W_B2),
                                   GOBJ_ROW(EV_W_DO, ac_guard, ST_W_B1),
                                   {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_b[] = {GOBJ_ROW(EV_W_GO, ac_any, ST_W_TOP), {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_b1[] = {GOBJ_ROW(EV_W_GO, ac_any, ST_W_B1),
                                   GOBJ_ROW(EV_W_POSTED, ac_guard, NULL),
                                   {NULL, NULL, NULL, NULL}};
static const gobj_row_t st_b2[] = {GOBJ_ROW(EV_W_GO, ac_guard, ST_W_A1),
                                   GOBJ_ROW(EV_W_REFUSED, ac_any, NULL),
                                   GOBJ_ROW(EV_W_OUT, ac_guard, ST_W_A2),
                                   {NULL, NULL, NULL, NULL}};
static const gobj_state_def_t hsm_states[] = {
    {ST_W_TOP, st_top, NULL, ST_W_A, en_TOP, ex_TOP}, {ST_W_A, st_a, ST_W_TOP, ST_W_A1, en_A, ex_A},
    {ST_W_A1, st_a1, ST_W_A, NULL, en_A1, ex_A1},     {ST_W_A2, st_a2, ST_W_A, NULL, en_A2, ex_A2},
    {ST_W_B, st_b, ST_W_TOP, ST_W_B1, en_B, ex_B},    {ST_W_B1, st_b1, ST_W_B, NULL, en_B1, ex_B1},
    {ST_W_B2, st_b2, ST_W_B, NULL, en_B2, ex_B2},     {NULL, NULL, NULL, NULL, NULL, NULL},
};
gobj_state_t const walk_flat_states[2] = {ST_W_IDLE, ST_W_BUSY};
gobj_state_t const walk_hsm_states[7] = {ST_W_TOP, ST_W_A,  ST_W_A1, ST_W_A2,
                                         ST_W_B,   ST_W_B1, ST_W_B2};

const gclass_def_t walk_flat_def = {
    .name = "WalkFlat",
    .description = "the random walk's flat gclass",
    .states = flat_states,
    .events = w_events,
    .attrs = w_attrs,
    .methods = w_methods,
    .priv_size = sizeof(struct wpriv),
};
const gclass_def_t walk_hsm_def = {
    .name = "WalkHsm",
    .description = "the random walk's hierarchical gclass",
    .states = hsm_states,
    .events = w_events,
    .attrs = w_attrs,
    .methods = w_hsm_methods,
    .priv_size = sizeof(struct wpriv),
};
