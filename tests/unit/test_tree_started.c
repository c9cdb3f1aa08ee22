/*
 * test_tree_started.c - mt_tree_started: called once gobj_start_tree has
 * started a gobj and its whole subtree (children first), only when the whole
 * call succeeded, and only for the gobjs that call started; and
 * gobj_hook_state: one hook function serving many states.
 */
#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_TS_GO);
GOBJ_DEFINE_STATE(ST_TS_IDLE);
GOBJ_DEFINE_STATE(ST_TS_TOP);
GOBJ_DEFINE_STATE(ST_TS_A);
GOBJ_DEFINE_STATE(ST_TS_B);

typedef struct {
    bool fail_start;
    bool talk; /* mt_tree_started sends EV_TS_GO to each child */
} ts_priv_t;

static const gobj_attr_t ts_attrs[] = {
    GOBJ_ATTR("fail_start", GOBJ_ATTR_BOOL, ts_priv_t, fail_start, "false", GOBJ_RD,
              "mt_start fails"),
    GOBJ_ATTR("talk", GOBJ_ATTR_BOOL, ts_priv_t, talk, "false", GOBJ_RD,
              "mt_tree_started sends EV_TS_GO to each child"),
    GOBJ_ATTR_END,
};

static int ts_start(gobj_t *gobj)
{
    ts_priv_t *priv = gobj_priv(gobj);
    t_trace_add("start:%s", gobj_name(gobj));
    return priv->fail_start ? GOBJ_ERANGE : 0;
}

static void ts_tree_started(gobj_t *gobj)
{
    ts_priv_t *priv = gobj_priv(gobj);
    t_trace_add("started:%s", gobj_name(gobj));
    if (priv->talk)
        for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c))
            gobj_send_event(c, EV_TS_GO, NULL, gobj);
}

static int ac_go(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    /* The child is running when its parent talks to it. */
    t_trace_add("go:%s:%s", gobj_name(gobj), gobj_is_running(gobj) ? "running" : "stopped");
    return 0;
}

static const gobj_row_t st_idle[] = {
    GOBJ_ROW(EV_TS_GO, ac_go, NULL),
    {NULL},
};
static const gobj_state_def_t ts_states[] = {
    GOBJ_STATE(ST_TS_IDLE, st_idle),
    {NULL},
};
static const gobj_event_def_t ts_events[] = {
    {EV_TS_GO, GOBJ_EV_IN, "{}"},
    {NULL},
};
static const gclass_def_t ts_gclass = {
    .name = "TreeStarted",
    .states = ts_states,
    .events = ts_events,
    .attrs = ts_attrs,
    .methods = {.mt_start = ts_start, .mt_tree_started = ts_tree_started},
    .priv_size = sizeof(ts_priv_t),
};

/* One entry and one exit function for three states. */
static void any_entry(gobj_t *gobj)
{
    t_trace_add("entry:%s", gobj_state_name(gobj_hook_state(gobj)));
}
static void any_exit(gobj_t *gobj)
{
    t_trace_add("exit:%s", gobj_state_name(gobj_hook_state(gobj)));
}

static const gobj_row_t st_a[] = {
    GOBJ_ROW(EV_TS_GO, NULL, ST_TS_B),
    {NULL},
};
static const gobj_row_t st_b[] = {
    GOBJ_ROW(EV_TS_GO, NULL, ST_TS_A),
    {NULL},
};
static const gobj_row_t st_top[] = {
    {NULL},
};
static const gobj_state_def_t hk_states[] = {
    {ST_TS_TOP, st_top, NULL, ST_TS_A, any_entry, any_exit},
    {ST_TS_A, st_a, ST_TS_TOP, NULL, any_entry, any_exit},
    {ST_TS_B, st_b, ST_TS_TOP, NULL, any_entry, any_exit},
    {NULL},
};
static const gclass_def_t hk_gclass = {
    .name = "HookState",
    .states = hk_states,
    .events = ts_events,
    .priv_size = 1,
};

static gclass_t *gc, *gc_hk;

static gobj_t *mk(const char *name, gobj_t *parent, json_t *kw)
{
    gobj_t *g = gobj_create(name, gc, kw, parent);
    T_ASSERT(g != NULL);
    return g;
}

static void case_order(void)
{
    gobj_t *r = mk("r", NULL, json_pack("{s:b}", "talk", 1));
    gobj_t *c1 = mk("c1", r, NULL);
    mk("g1", c1, NULL);
    mk("c2", r, NULL);
    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), 0);
    T_EQ_STR(t_trace, "start:r start:c1 start:g1 start:c2 started:g1 started:c1 started:c2 "
                      "started:r go:c1:running go:c2:running");
    /* Already running: nothing started, nothing called. */
    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), 0);
    T_EQ_STR(t_trace, "");
    gobj_destroy(r);
}

static void case_partly_running(void)
{
    gobj_t *r = mk("r", NULL, NULL);
    gobj_t *c1 = mk("c1", r, NULL);
    mk("c2", r, NULL);
    T_EQ_INT(gobj_start(r), 0);
    T_EQ_INT(gobj_start(c1), 0);
    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), 0);
    T_EQ_STR(t_trace, "start:c2 started:c2");
    gobj_destroy(r);
}

static void case_failure(void)
{
    gobj_t *r = mk("r", NULL, NULL);
    mk("c1", r, NULL);
    mk("c2", r, json_pack("{s:b}", "fail_start", 1));
    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), GOBJ_ERANGE);
    T_EQ_STR(t_trace, "start:r start:c1 start:c2");
    gobj_destroy(r);
}

static void case_hook_state(void)
{
    t_trace_reset();
    gobj_t *h = gobj_create("h", gc_hk, NULL, NULL);
    T_ASSERT(h != NULL);
    T_ASSERT(gobj_hook_state(h) == NULL);
    gobj_send_event(h, EV_TS_GO, NULL, NULL);
    T_EQ_STR(t_trace, "entry:ST_TS_TOP entry:ST_TS_A exit:ST_TS_A entry:ST_TS_B");
    T_ASSERT(gobj_hook_state(h) == NULL);
    T_ASSERT(gobj_hook_state(NULL) == NULL);
    gobj_destroy(h);
}

int main(void)
{
    t_init();
    gc = gclass_register(&ts_gclass);
    gc_hk = gclass_register(&hk_gclass);
    T_ASSERT(gc && gc_hk);
    case_order();
    case_partly_running();
    case_failure();
    case_hook_state();
    T_EQ_INT(gobj_live_count(), 0);
    T_EQ_INT(gclass_unregister_all(), 0);
    return t_done();
}
