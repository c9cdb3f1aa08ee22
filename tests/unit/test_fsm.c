/*
 * test_fsm.c - the flat dispatch contract (doc/manual.md chapter 2, rules 1-3
 * and 7): what send returns, when the next state is set, EV_STATE_CHANGED,
 * refusals, destroyed destinations, mt_inject_event, nested self-sends and
 * the machine trace.
 *
 *   ST_A --EV_GO / EV_OUTER--> ST_B --EV_BACK--> ST_A
 *   ST_A --EV_JUMP (ac_jump calls gobj_change_state)--> ST_C --EV_BACK--> ST_A
 */
#include <stdarg.h>

#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_GO);
GOBJ_DEFINE_EVENT(EV_NOP);
GOBJ_DEFINE_EVENT(EV_JUMP);
GOBJ_DEFINE_EVENT(EV_SAME);
GOBJ_DEFINE_EVENT(EV_OUTER);
GOBJ_DEFINE_EVENT(EV_INNER);
GOBJ_DEFINE_EVENT(EV_KILL);
GOBJ_DEFINE_EVENT(EV_NEG);
GOBJ_DEFINE_EVENT(EV_BACK);
GOBJ_DEFINE_EVENT(EV_FOREIGN);

GOBJ_DEFINE_STATE(ST_A);
GOBJ_DEFINE_STATE(ST_B);
GOBJ_DEFINE_STATE(ST_C);
GOBJ_DEFINE_STATE(ST_WATCH);

/*--------------------------------------------------------------------------*
 *  Trace and knobs
 *--------------------------------------------------------------------------*/
static char trace[1024];

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

static struct {
    int go_ret;                /* what ac_go returns */
    gobj_state_t seen_state;   /* gobj_current_state() inside the action */
    bool seen_in_b;            /* gobj_in_this_state(ST_B) inside ac_go */
    int64_t seen_n;            /* kw["n"] seen by the action (borrowed kw) */
    gobj_t *seen_src;          /* src seen by the action */
    int change_ret;            /* gobj_change_state() inside ac_jump */
    gobj_state_t after_change; /* the state right after that call */
    int nested_ret;            /* result of a send made inside an action */
    bool victim_destroying;    /* gobj_is_destroying(victim) after gobj_destroy */
    gobj_t *victim;            /* what ac_kill destroys */
    int n_chg;                 /* EV_STATE_CHANGED received */
    char chg_prev[32], chg_cur[32];
    gobj_t *chg_src;
    size_t chg_keys; /* number of keys in the last EV_STATE_CHANGED kw */
    int n_inject;
    gobj_event_t inject_ev;
} k;

static void reset(void)
{
    memset(&k, 0, sizeof k);
    k.change_ret = -1;
    k.nested_ret = 12345;
    trace[0] = '\0';
    t_log_clear();
}

/*--------------------------------------------------------------------------*
 *  The flat gclass
 *--------------------------------------------------------------------------*/
static int ac_go(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_go");
    k.seen_state = gobj_current_state(gobj);
    k.seen_in_b = gobj_in_this_state(gobj, ST_B);
    k.seen_n = json_integer_value(json_object_get(kw, "n"));
    k.seen_src = src;
    return k.go_ret;
}

static int ac_jump(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_jump");
    k.change_ret = gobj_change_state(gobj, ST_C);
    k.after_change = gobj_current_state(gobj);
    return 0;
}

static int ac_same(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_same");
    return 0;
}

static int ac_outer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_outer");
    k.nested_ret = gobj_send_event(gobj, EV_INNER, json_pack("{s:i}", "n", 2), gobj);
    tr("act:ac_outer_end");
    return 1;
}

static int ac_inner(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_inner");
    return 9;
}

static int ac_kill(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_kill");
    gobj_destroy(k.victim);
    k.victim_destroying = gobj_is_destroying(k.victim);
    k.nested_ret = gobj_send_event(k.victim, EV_NOP, json_pack("{s:s}", "data", "lost"), gobj);
    return 3;
}

static int ac_neg(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tr("act:ac_neg");
    return -5;
}

static int mt_inject_event(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    k.n_inject++;
    k.inject_ev = ev;
    k.seen_n = json_integer_value(json_object_get(kw, "n"));
    k.seen_src = src;
    return 77;
}

static const gobj_row_t st_a[] = {
    /* event, action, next state */
    GOBJ_ROW(EV_GO, ac_go, ST_B),       {EV_NOP, NULL, NULL, NULL},
    GOBJ_ROW(EV_JUMP, ac_jump, NULL),   GOBJ_ROW(EV_SAME, ac_same, ST_A),
    GOBJ_ROW(EV_OUTER, ac_outer, ST_B), GOBJ_ROW(EV_KILL, ac_kill, NULL),
    GOBJ_ROW(EV_NEG, ac_neg, NULL),     {0},
};
static const gobj_row_t st_b[] = {
    GOBJ_ROW(EV_INNER, ac_inner, NULL),
    {EV_BACK, NULL, ST_A, NULL},
    {0},
};
static const gobj_row_t st_c[] = {
    {EV_BACK, NULL, ST_A, NULL},
    {0},
};
static const gobj_state_def_t flat_states[] = {
    {ST_A, st_a, NULL, NULL, NULL, NULL},
    {ST_B, st_b, NULL, NULL, NULL, NULL},
    {ST_C, st_c, NULL, NULL, NULL, NULL},
    {0},
};
/* EV_STATE_CHANGED is deliberately not listed: gobj.h says every gobj
 * publishes it, so subscribing to it must work without a declaration. */
static const gobj_event_def_t flat_events[] = {
    {EV_GO, GOBJ_EV_IN, "{n: int}"}, {EV_NOP, GOBJ_EV_IN, "{}"},
    {EV_JUMP, GOBJ_EV_IN, "{}"},     {EV_SAME, GOBJ_EV_IN, "{}"},
    {EV_OUTER, GOBJ_EV_IN, "{}"},    {EV_INNER, GOBJ_EV_IN, "{n: int}"},
    {EV_KILL, GOBJ_EV_IN, "{}"},     {EV_NEG, GOBJ_EV_IN, "{}"},
    {EV_BACK, GOBJ_EV_IN, "{}"},     {0},
};

struct priv {
    int64_t unused;
};

static const gclass_def_t flat_def = {
    .name = "FsmFlat",
    .description = "flat dispatch fixture",
    .states = flat_states,
    .events = flat_events,
    .priv_size = sizeof(struct priv),
};
static const gclass_def_t inject_def = {
    .name = "FsmInject",
    .description = "flat dispatch fixture with mt_inject_event",
    .states = flat_states,
    .events = flat_events,
    .methods = {.mt_inject_event = mt_inject_event},
    .priv_size = sizeof(struct priv),
};

/*--------------------------------------------------------------------------*
 *  The watcher
 *--------------------------------------------------------------------------*/
static int ac_chg(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    const char *prev = json_string_value(json_object_get(kw, "previous"));
    const char *cur = json_string_value(json_object_get(kw, "current"));
    k.n_chg++;
    snprintf(k.chg_prev, sizeof k.chg_prev, "%s", prev ? prev : "(null)");
    snprintf(k.chg_cur, sizeof k.chg_cur, "%s", cur ? cur : "(null)");
    k.chg_src = src;
    k.chg_keys = json_object_size(kw);
    tr("chg:%s>%s", k.chg_prev, k.chg_cur);
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
    .name = "FsmWatcher",
    .description = "counts EV_STATE_CHANGED",
    .states = watch_states,
    .events = watch_events,
    .priv_size = sizeof(struct priv),
};

static gclass_t *gc_flat, *gc_inject, *gc_watch;

static const char *state_of(const gobj_t *gobj)
{
    return gobj_state_name(gobj_current_state(gobj));
}

/*--------------------------------------------------------------------------*
 *  Tests
 *--------------------------------------------------------------------------*/
/* Rule 1: send is synchronous and returns the action's int; a row with no
 * action returns 0. */
static void test_send_returns_action_value(void)
{
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    reset();
    T_EQ_INT(gobj_send_event(obj, EV_NEG, NULL, NULL), -5);
    T_EQ_STR(trace, "act:ac_neg");
    T_EQ_INT(gobj_send_event(obj, EV_NOP, json_pack("{s:i}", "n", 1), NULL), 0);
    T_EQ_STR(state_of(obj), "ST_A");
    k.go_ret = 42;
    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 42);
    T_EQ_STR(trace, "act:ac_neg act:ac_go");
    T_EQ_INT(t_log_find("error", NULL), 0);
    gobj_destroy(obj);
}

/* Rule 2: in a flat machine the row's next state is set before the action
 * runs; the action gets kw borrowed and src as sent. */
static void test_next_state_before_action(void)
{
    gobj_t *src = gobj_create("src", gc_flat, NULL, NULL);
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    reset();
    T_EQ_INT(gobj_send_event(obj, EV_GO, json_pack("{s:i}", "n", 7), src), 0);
    T_ASSERT(k.seen_state == ST_B);
    T_ASSERT(k.seen_in_b);
    T_EQ_INT(k.seen_n, 7);
    T_ASSERT(k.seen_src == src);
    T_EQ_STR(state_of(obj), "ST_B");
    T_ASSERT(gobj_in_this_state(obj, ST_B));
    T_ASSERT(gobj_is_in_state(obj, ST_B));
    T_ASSERT(!gobj_is_in_state(obj, ST_A));
    gobj_destroy(obj);
    gobj_destroy(src);
}

/* Rule 2: an action may call gobj_change_state() on a row with no next
 * state; in a flat machine it takes effect at once. */
static void test_change_state_in_action(void)
{
    gobj_t *w = gobj_create("watcher", gc_watch, NULL, NULL);
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    T_EQ_INT(gobj_subscribe_event(obj, EV_STATE_CHANGED, NULL, w), 0);
    reset();
    T_EQ_INT(gobj_send_event(obj, EV_JUMP, NULL, NULL), 0);
    T_EQ_INT(k.change_ret, 1);
    T_ASSERT(k.after_change == ST_C);
    T_EQ_STR(state_of(obj), "ST_C");
    T_EQ_INT(k.n_chg, 1);
    T_EQ_STR(k.chg_prev, "ST_A");
    T_EQ_STR(k.chg_cur, "ST_C");
    gobj_destroy(obj);
    gobj_destroy(w);
}

/* EV_STATE_CHANGED is published only when the state changes, with
 * {previous, current} and the gobj as src. */
static void test_state_changed(void)
{
    gobj_t *w = gobj_create("watcher", gc_watch, NULL, NULL);
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    /* Not declared in FsmFlat's event table, yet every gobj publishes it. */
    T_EQ_INT(gobj_subscribe_event(obj, EV_STATE_CHANGED, NULL, w), 0);
    reset();

    T_EQ_INT(gobj_send_event(obj, EV_NOP, NULL, NULL), 0);
    T_EQ_INT(k.n_chg, 0);
    T_EQ_INT(gobj_send_event(obj, EV_SAME, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_same");
    T_EQ_INT(k.n_chg, 0);
    T_ASSERT(gobj_change_state(obj, ST_A));
    T_EQ_INT(k.n_chg, 0);

    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 0);
    T_EQ_INT(k.n_chg, 1);
    T_EQ_STR(k.chg_prev, "ST_A");
    T_EQ_STR(k.chg_cur, "ST_B");
    T_ASSERT(k.chg_src == obj);
    T_EQ_INT(k.chg_keys, 2);

    T_EQ_INT(gobj_send_event(obj, EV_BACK, NULL, NULL), 0);
    T_EQ_INT(k.n_chg, 2);
    T_EQ_STR(k.chg_prev, "ST_B");
    T_EQ_STR(k.chg_cur, "ST_A");

    /* Outside any dispatch, a flat change publishes at once. */
    T_ASSERT(gobj_change_state(obj, ST_C));
    T_EQ_INT(k.n_chg, 3);
    T_EQ_STR(k.chg_cur, "ST_C");
    T_EQ_STR(state_of(obj), "ST_C");
    gobj_destroy(obj);
    gobj_destroy(w);
}

/* Rule 3: a refused event returns GOBJ_ENOEVENT, logs one error naming the
 * gobj, the state and the event, and releases the kw. */
static void test_refused(void)
{
    gobj_t *w = gobj_create("watcher", gc_watch, NULL, NULL);
    gobj_t *obj = gobj_create("refuser", gc_flat, NULL, NULL);
    T_EQ_INT(gobj_subscribe_event(obj, EV_STATE_CHANGED, NULL, w), 0);
    reset();
    long live = t_json_live;
    json_t *kw =
        json_pack("{s:s, s:[i,i,i], s:{s:b}}", "data", "abc", "list", 1, 2, 3, "o", "x", 1);
    T_ASSERT(kw != NULL);
    T_ASSERT(t_json_live > live);
    T_EQ_INT(gobj_send_event(obj, EV_INNER, kw, NULL), GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "");
    T_EQ_STR(state_of(obj), "ST_A");
    T_EQ_INT(k.n_chg, 0);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "refuser"), 1);
    T_EQ_INT(t_log_find("error", "ST_A"), 1);
    T_EQ_INT(t_log_find("error", "EV_INNER"), 1);

    /* An event this gclass does not know at all is refused the same way. */
    t_log_clear();
    T_EQ_INT(gobj_send_event(obj, EV_FOREIGN, json_pack("{s:i}", "n", 1), NULL), GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "EV_FOREIGN"), 1);
    gobj_destroy(obj);
    gobj_destroy(w);
}

/* A destroyed gobj receives nothing more: a send to it (possible only
 * inside a dispatch, before it is freed) returns GOBJ_EDESTROYED and
 * releases the kw. */
static void test_send_to_destroyed(void)
{
    gobj_t *obj = gobj_create("killer", gc_flat, NULL, NULL);
    gobj_t *victim = gobj_create("victim", gc_flat, NULL, NULL);
    reset();
    k.victim = victim;
    size_t gobjs = gobj_live_count();
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(obj, EV_KILL, NULL, NULL), 3);
    T_ASSERT(k.victim_destroying);
    T_EQ_INT(k.nested_ret, GOBJ_EDESTROYED);
    T_EQ_INT(t_json_live, live);
    T_EQ_INT(gobj_live_count(), gobjs - 1);
    T_ASSERT(gobj_find_path(NULL, "victim") == NULL);

    /* The same when the action destroys its own gobj. */
    reset();
    k.victim = obj;
    T_EQ_INT(gobj_send_event(obj, EV_KILL, NULL, NULL), 3);
    T_EQ_INT(k.nested_ret, GOBJ_EDESTROYED);
    T_EQ_STR(trace, "act:ac_kill");
    T_EQ_INT(t_json_live, live);
    T_EQ_INT(gobj_live_count(), gobjs - 2);
}

/* mt_inject_event gets what the state refuses, instead of the refusal. */
static void test_inject_event(void)
{
    gobj_t *src = gobj_create("src", gc_flat, NULL, NULL);
    gobj_t *obj = gobj_create("obj", gc_inject, NULL, NULL);
    reset();
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(obj, EV_INNER, json_pack("{s:i}", "n", 5), src), 77);
    T_EQ_INT(t_json_live, live);
    T_EQ_INT(k.n_inject, 1);
    T_ASSERT(k.inject_ev == EV_INNER);
    T_EQ_INT(k.seen_n, 5);
    T_ASSERT(k.seen_src == src);
    T_EQ_INT(t_log_find("error", NULL), 0);
    T_EQ_STR(state_of(obj), "ST_A");
    /* Accepted events still go to their rows. */
    k.go_ret = 4;
    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 4);
    T_EQ_INT(k.n_inject, 1);
    gobj_destroy(obj);
    gobj_destroy(src);
}

/* A flat self-send from an action is dispatched synchronously, nested: the
 * inner action runs (in the new state) before the outer one returns. */
static void test_self_send_nested(void)
{
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    reset();
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(obj, EV_OUTER, NULL, NULL), 1);
    T_EQ_INT(k.nested_ret, 9);
    T_EQ_STR(trace, "act:ac_outer act:ac_inner act:ac_outer_end");
    T_EQ_STR(state_of(obj), "ST_B");
    T_EQ_INT(t_json_live, live);
    gobj_destroy(obj);
}

/* Find the one captured record containing needle; -1 if none or several. */
static long find_record(const char *needle)
{
    long found = -1;
    for (size_t i = 0; i < t_log_count(); i++) {
        if (strstr(t_log_text(i), needle)) {
            if (found >= 0)
                return -1;
            found = (long)i;
        }
    }
    return found;
}

static json_int_t record_depth(long i)
{
    json_t *rec = t_log_get((size_t)i);
    json_t *depth = json_object_get(rec, "depth");
    json_int_t d = json_is_integer(depth) ? json_integer_value(depth) : -1;
    json_decref(rec);
    return d;
}

/* Rule 7 and the machine trace (manual chapter 7): the machine trace emits one record per dispatch with
 * the gobj, state, event, action, next state and nesting depth; with the
 * trace off nothing is emitted. */
static void test_machine_trace(void)
{
    gobj_t *obj = gobj_create("tracee", gc_flat, NULL, NULL);
    reset();
    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 0);
    T_EQ_INT(t_log_count(), 0);
    T_EQ_INT(gobj_send_event(obj, EV_BACK, NULL, NULL), 0);
    T_EQ_INT(t_log_count(), 0);

    gobj_set_trace(obj, GOBJ_TRACE_MACHINE);
    T_ASSERT(gobj_is_tracing(obj, GOBJ_TRACE_MACHINE));
    t_log_clear();
    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 0);
    T_EQ_INT(t_log_count(), 1);
    T_EQ_INT(t_log_find(NULL, "EV_GO"), 1);
    long i = find_record("EV_GO");
    T_ASSERT(i >= 0);
    if (i >= 0) {
        const char *text = t_log_text((size_t)i);
        T_CONTAINS(text, "tracee");
        T_CONTAINS(text, "ST_A");
        T_CONTAINS(text, "ac_go");
        T_CONTAINS(text, "ST_B");
        T_CONTAINS(text, "\"depth\":");
        T_ASSERT(record_depth(i) >= 0);
    }

    /* A nested dispatch is one level deeper than the one around it. */
    T_EQ_INT(gobj_send_event(obj, EV_BACK, NULL, NULL), 0);
    t_log_clear();
    T_EQ_INT(gobj_send_event(obj, EV_OUTER, NULL, NULL), 1);
    T_EQ_INT(t_log_count(), 2);
    long outer = find_record("EV_OUTER");
    long inner = find_record("EV_INNER");
    T_ASSERT(outer >= 0 && inner >= 0);
    if (outer >= 0 && inner >= 0) {
        T_CONTAINS(t_log_text((size_t)outer), "ac_outer");
        T_CONTAINS(t_log_text((size_t)inner), "ac_inner");
        T_ASSERT(record_depth(outer) >= 0);
        T_EQ_INT(record_depth(inner), record_depth(outer) + 1);
    }

    /* Off again: no record. */
    gobj_set_trace(obj, 0);
    T_ASSERT(!gobj_is_tracing(obj, GOBJ_TRACE_MACHINE));
    t_log_clear();
    T_EQ_INT(gobj_send_event(obj, EV_BACK, NULL, NULL), 0);
    T_EQ_INT(gobj_send_event(obj, EV_GO, NULL, NULL), 0);
    T_EQ_INT(t_log_count(), 0);
    gobj_destroy(obj);
}

/* Trace specs on and off: global, gclass, a gobj by name; removing clears
 * only the levels named, also for a gobj of that name created later. */
static void test_trace_specs(void)
{
    gobj_t *obj = gobj_create("spec", gc_flat, NULL, NULL);
    T_EQ_INT(gobj_trace_apply_spec("machine,lifecycle"), 0);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_MACHINE | GOBJ_TRACE_LIFECYCLE);
    T_EQ_INT(gobj_trace_remove_spec("lifecycle"), 0);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_MACHINE);
    T_EQ_INT(gobj_trace_remove_spec("all"), 0);
    T_EQ_INT(gobj_trace_levels(obj), 0);

    T_EQ_INT(gobj_trace_apply_spec("FsmFlat:traffic"), 0);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_TRAFFIC);
    T_EQ_INT(gobj_trace_remove_spec("FsmFlat:traffic"), 0);
    T_EQ_INT(gobj_trace_levels(obj), 0);

    T_EQ_INT(gobj_trace_apply_spec("spec:machine,subscriptions"), 0);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_MACHINE | GOBJ_TRACE_SUBSCRIPTIONS);
    T_EQ_INT(gobj_trace_remove_spec("spec:machine"), 0);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_SUBSCRIPTIONS);
    gobj_destroy(obj);
    /* What is left applies to the next gobj of that name; removed, nothing. */
    obj = gobj_create("spec", gc_flat, NULL, NULL);
    T_EQ_INT(gobj_trace_levels(obj), GOBJ_TRACE_SUBSCRIPTIONS);
    T_EQ_INT(gobj_trace_remove_spec("spec:all"), 0);
    gobj_destroy(obj);
    obj = gobj_create("spec", gc_flat, NULL, NULL);
    T_EQ_INT(gobj_trace_levels(obj), 0);
    gobj_destroy(obj);

    size_t before = t_log_find("error", "unknown trace level");
    T_EQ_INT(gobj_trace_remove_spec("spec:loud"), GOBJ_EINVAL);
    T_EQ_INT(t_log_find("error", "unknown trace level") - before, 1);
    T_EQ_INT(gobj_get_global_trace(), 0);
}

/* gobj_has_input_event answers for the current state only. */
static void test_has_input_event(void)
{
    gobj_t *obj = gobj_create("obj", gc_flat, NULL, NULL);
    reset();
    T_ASSERT(gobj_has_input_event(obj, EV_GO));
    T_ASSERT(gobj_has_input_event(obj, EV_NOP));
    T_ASSERT(!gobj_has_input_event(obj, EV_INNER));
    T_ASSERT(!gobj_has_input_event(obj, EV_BACK));
    T_ASSERT(!gobj_has_input_event(obj, EV_FOREIGN));
    gobj_send_event(obj, EV_GO, NULL, NULL);
    T_ASSERT(!gobj_has_input_event(obj, EV_GO));
    T_ASSERT(gobj_has_input_event(obj, EV_INNER));
    T_ASSERT(gobj_has_input_event(obj, EV_BACK));
    T_EQ_INT(t_log_find("error", NULL), 0);
    gobj_destroy(obj);
}

int main(void)
{
    t_init();
    gc_flat = gclass_register(&flat_def);
    gc_inject = gclass_register(&inject_def);
    gc_watch = gclass_register(&watch_def);
    T_ASSERT(gc_flat && gc_inject && gc_watch);
    if (!(gc_flat && gc_inject && gc_watch))
        return t_done();
    T_ASSERT(!gclass_is_hierarchical(gc_flat));

    test_send_returns_action_value();
    test_next_state_before_action();
    test_change_state_in_action();
    test_state_changed();
    test_refused();
    test_send_to_destroyed();
    test_inject_event();
    test_trace_specs();
    test_self_send_nested();
    test_machine_trace();
    test_has_input_event();
    return t_done();
}
