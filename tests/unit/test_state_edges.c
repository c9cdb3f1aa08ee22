/*
 * test_state_edges.c - state changes at the edges of a step: events sent
 * while a gobj enters its initial state, gobj_change_state() from outside
 * the action of the step in progress and from mt_create, and a flat gobj
 * destroyed by a subscriber of its EV_STATE_CHANGED.
 *
 * The gclasses append to the shared trace (testlib.h): "entry:ST" and
 * "exit:ST" from hooks, "act:EV" from actions, so each case asserts the
 * order of everything the runtime ran.
 */
#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_SE_GO);    /* a transition row */
GOBJ_DEFINE_EVENT(EV_SE_STAY);  /* an internal row (no next state) */
GOBJ_DEFINE_EVENT(EV_SE_SELF);  /* sent to self from the initial entry */
GOBJ_DEFINE_EVENT(EV_SE_ALIEN); /* accepted by no state: mt_inject_event */
GOBJ_DEFINE_STATE(ST_SE_TOP);
GOBJ_DEFINE_STATE(ST_SE_A);
GOBJ_DEFINE_STATE(ST_SE_B);
GOBJ_DEFINE_STATE(ST_SE_C);

/* What the test gclasses do, set by each case. */
static struct {
    bool entry_sends_self;       /* entry of ST_SE_A sends EV_SE_SELF to self */
    gobj_t *entry_src;           /* ... with this src */
    gobj_state_t create_changes; /* mt_create calls gobj_change_state(this) */
    bool create_sends_self;      /* mt_create sends EV_SE_GO then EV_SE_SELF to self */
    gobj_state_t inject_changes; /* mt_inject_event calls gobj_change_state(this) */
    bool change_result;          /* what that gobj_change_state returned */
} cfg;

/*--------------------------------------------------------------------------*
 *  Hierarchical: ST_SE_TOP { ST_SE_A (initial), ST_SE_B, ST_SE_C }
 *--------------------------------------------------------------------------*/
static void entry_top(gobj_t *g)
{
    t_trace_add("entry:ST_SE_TOP");
}
static void entry_a(gobj_t *g)
{
    t_trace_add("entry:ST_SE_A");
    if (cfg.entry_sends_self)
        gobj_send_event(g, EV_SE_SELF, NULL, cfg.entry_src);
}
static void exit_a(gobj_t *g)
{
    t_trace_add("exit:ST_SE_A");
}
static void entry_b(gobj_t *g)
{
    t_trace_add("entry:ST_SE_B");
}
static void exit_b(gobj_t *g)
{
    t_trace_add("exit:ST_SE_B");
}
static void entry_c(gobj_t *g)
{
    t_trace_add("entry:ST_SE_C");
}
static void exit_c(gobj_t *g)
{
    t_trace_add("exit:ST_SE_C");
}

static int ac_log(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    t_trace_add("act:%s%s", gobj_event_name(ev), src ? "" : "(nosrc)");
    return 0;
}

static int mt_create(gobj_t *gobj)
{
    if (cfg.create_changes)
        cfg.change_result = gobj_change_state(gobj, cfg.create_changes);
    if (cfg.create_sends_self) {
        t_trace_add("create");
        gobj_send_event(gobj, EV_SE_GO, NULL, gobj);
        gobj_send_event(gobj, EV_SE_SELF, NULL, gobj);
    }
    return 0;
}

static int mt_inject(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    t_trace_add("inject:%s", gobj_event_name(ev));
    if (cfg.inject_changes)
        cfg.change_result = gobj_change_state(gobj, cfg.inject_changes);
    return 0;
}

static const gobj_row_t st_top[] = {
    GOBJ_ROW(EV_SE_STAY, ac_log, NULL),
    GOBJ_ROW(EV_SE_SELF, ac_log, NULL),
    {NULL},
};
static const gobj_row_t st_a[] = {
    GOBJ_ROW(EV_SE_GO, ac_log, ST_SE_B),
    {NULL},
};
static const gobj_row_t st_b[] = {
    GOBJ_ROW(EV_SE_GO, ac_log, ST_SE_A),
    {NULL},
};
static const gobj_row_t st_c[] = {
    GOBJ_ROW(EV_SE_GO, ac_log, ST_SE_A),
    {NULL},
};
static const gobj_state_def_t h_states[] = {
    {ST_SE_TOP, st_top, NULL, ST_SE_A, entry_top, NULL},
    {ST_SE_A, st_a, ST_SE_TOP, NULL, entry_a, exit_a},
    {ST_SE_B, st_b, ST_SE_TOP, NULL, entry_b, exit_b},
    {ST_SE_C, st_c, ST_SE_TOP, NULL, entry_c, exit_c},
    {NULL},
};
static const gobj_event_def_t se_events[] = {
    {EV_SE_GO, GOBJ_EV_IN, "{}"},
    {EV_SE_STAY, GOBJ_EV_IN, "{}"},
    {EV_SE_SELF, GOBJ_EV_IN, "{}"},
    {EV_SE_ALIEN, GOBJ_EV_OUT, "{} (declared only so that it has an id)"},
    {NULL},
};
static const gclass_def_t h_gclass = {
    .name = "SEHier",
    .states = h_states,
    .events = se_events,
    .methods = {.mt_create = mt_create, .mt_inject_event = mt_inject},
    .priv_size = 1,
};

/*--------------------------------------------------------------------------*
 *  Flat: ST_SE_A --EV_SE_GO--> ST_SE_B --EV_SE_GO--> ST_SE_A
 *--------------------------------------------------------------------------*/
static const gobj_row_t f_a[] = {
    GOBJ_ROW(EV_SE_GO, ac_log, ST_SE_B),
    GOBJ_ROW(EV_SE_STAY, ac_log, NULL),
    GOBJ_ROW(EV_SE_SELF, ac_log, NULL),
    {NULL},
};
static const gobj_row_t f_b[] = {
    GOBJ_ROW(EV_SE_GO, ac_log, ST_SE_A),
    GOBJ_ROW(EV_SE_STAY, ac_log, NULL),
    GOBJ_ROW(EV_SE_SELF, ac_log, NULL),
    {NULL},
};
static const gobj_state_def_t f_states[] = {
    GOBJ_STATE(ST_SE_A, f_a),
    GOBJ_STATE(ST_SE_B, f_b),
    GOBJ_STATE(ST_SE_C, f_b),
    {NULL},
};
static const gclass_def_t f_gclass = {
    .name = "SEFlat",
    .states = f_states,
    .events = se_events,
    .methods = {.mt_create = mt_create},
    .priv_size = 1,
};

/*--------------------------------------------------------------------------*
 *  Watcher: subscribes to EV_STATE_CHANGED and reacts on a chosen state
 *--------------------------------------------------------------------------*/
static struct {
    const char *on_state;    /* react when "current" is this */
    gobj_state_t change_to;  /* ... with gobj_change_state(src, this) */
    bool destroy;            /* ... or by destroying src */
} watch;

static int ac_changed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    const char *cur = json_string_value(json_object_get(kw, "current"));
    t_trace_add("changed:%s", cur ? cur : "?");
    if (watch.on_state && cur && strcmp(cur, watch.on_state) == 0) {
        watch.on_state = NULL; /* once */
        if (watch.destroy)
            gobj_destroy(src);
        else if (watch.change_to)
            cfg.change_result = gobj_change_state(src, watch.change_to);
    }
    return 0;
}

static const gobj_row_t w_idle[] = {
    GOBJ_ROW(EV_STATE_CHANGED, ac_changed, NULL),
    {NULL},
};
static const gobj_state_def_t w_states[] = {
    GOBJ_STATE(ST_SE_A, w_idle),
    {NULL},
};
static const gobj_event_def_t w_events[] = {
    {EV_STATE_CHANGED, GOBJ_EV_IN, "{previous, current}"},
    {NULL},
};
static const gclass_def_t w_gclass = {
    .name = "SEWatch",
    .states = w_states,
    .events = w_events,
    .priv_size = 1,
};

static gclass_t *gc_h, *gc_f, *gc_w;

static void reset(void)
{
    memset(&cfg, 0, sizeof cfg);
    memset(&watch, 0, sizeof watch);
    t_trace_reset();
}

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/
/* An event sent to self from the initial entry is delivered before create
 * returns, in order, and before any later event. */
static void case_initial_entry_sends_self(void)
{
    reset();
    gobj_t *other = gobj_create("other", gc_f, NULL, NULL);
    cfg.entry_sends_self = true;
    cfg.entry_src = other;
    gobj_t *h = gobj_create("h", gc_h, NULL, NULL);
    T_ASSERT(h != NULL);
    T_EQ_STR(t_trace, "entry:ST_SE_TOP entry:ST_SE_A act:EV_SE_SELF");
    cfg.entry_sends_self = false;
    /* The queued event's src is destroyed before any later dispatch: with
     * the queue drained at create, nothing refers to it any more. */
    gobj_destroy(other);
    gobj_send_event(h, EV_SE_STAY, NULL, h);
    T_EQ_STR(t_trace, "entry:ST_SE_TOP entry:ST_SE_A act:EV_SE_SELF act:EV_SE_STAY");
    gobj_destroy(h);
}

/* gobj_change_state from an EV_STATE_CHANGED subscriber (the gobj is busy,
 * but not inside the action of its step) applies at once; a later internal
 * row does not move the gobj. */
static void case_change_from_subscriber(void)
{
    reset();
    gobj_t *h = gobj_create("h", gc_h, NULL, NULL);
    gobj_t *w = gobj_create("w", gc_w, NULL, NULL);
    T_EQ_INT(gobj_subscribe_event(h, EV_STATE_CHANGED, NULL, w), 0);
    watch.on_state = "ST_SE_B";
    watch.change_to = ST_SE_C;
    t_trace_reset();
    T_EQ_INT(gobj_send_event(h, EV_SE_GO, NULL, w), 0);
    T_ASSERT(cfg.change_result);
    T_ASSERT(gobj_in_this_state(h, ST_SE_C));
    T_EQ_STR(t_trace, "act:EV_SE_GO exit:ST_SE_A entry:ST_SE_B changed:ST_SE_B exit:ST_SE_B "
                      "entry:ST_SE_C changed:ST_SE_C");
    gobj_send_event(h, EV_SE_STAY, NULL, w);
    T_ASSERT(gobj_in_this_state(h, ST_SE_C));
    gobj_destroy(w);
    gobj_destroy(h);
}

/* From mt_inject_event (a refused event): applies at once. */
static void case_change_from_inject(void)
{
    reset();
    gobj_t *h = gobj_create("h", gc_h, NULL, NULL);
    cfg.inject_changes = ST_SE_C;
    t_trace_reset();
    T_EQ_INT(gobj_send_event(h, EV_SE_ALIEN, NULL, h), 0);
    T_ASSERT(cfg.change_result);
    T_ASSERT(gobj_in_this_state(h, ST_SE_C));
    T_EQ_STR(t_trace, "inject:EV_SE_ALIEN exit:ST_SE_A entry:ST_SE_C");
    gobj_send_event(h, EV_SE_STAY, NULL, h);
    T_ASSERT(gobj_in_this_state(h, ST_SE_C));
    gobj_destroy(h);
}

/* From mt_create: chooses the initial state; hooks stay balanced (no exit
 * of a state never entered) and nothing is published. */
static void case_change_from_create(void)
{
    reset();
    cfg.create_changes = ST_SE_B;
    gobj_t *h = gobj_create("h", gc_h, NULL, NULL);
    T_ASSERT(h != NULL);
    T_ASSERT(cfg.change_result);
    T_ASSERT(gobj_in_this_state(h, ST_SE_B));
    T_EQ_STR(t_trace, "entry:ST_SE_TOP entry:ST_SE_B");
    t_trace_reset();
    gobj_send_event(h, EV_SE_GO, NULL, h);
    T_ASSERT(gobj_in_this_state(h, ST_SE_A));
    T_EQ_STR(t_trace, "act:EV_SE_GO exit:ST_SE_B entry:ST_SE_A");
    gobj_destroy(h);

    reset();
    cfg.create_changes = ST_SE_B;
    gobj_t *f = gobj_create("f", gc_f, NULL, NULL);
    T_ASSERT(f != NULL);
    T_ASSERT(cfg.change_result);
    T_ASSERT(gobj_in_this_state(f, ST_SE_B));
    gobj_destroy(f);
}

/* Events sent to a gobj from its own mt_create wait until the initial state
 * is entered, then are delivered in order before gobj_create returns. */
static void case_sent_during_create(void)
{
    reset();
    cfg.create_sends_self = true;
    gobj_t *h = gobj_create("h", gc_h, NULL, NULL);
    T_ASSERT(h != NULL);
    T_EQ_STR(t_trace, "create entry:ST_SE_TOP entry:ST_SE_A act:EV_SE_GO exit:ST_SE_A "
                      "entry:ST_SE_B act:EV_SE_SELF");
    T_ASSERT(gobj_in_this_state(h, ST_SE_B));
    gobj_destroy(h);

    reset();
    cfg.create_sends_self = true;
    cfg.create_changes = ST_SE_B; /* chosen initial state, then EV_SE_GO from there */
    gobj_t *f = gobj_create("f", gc_f, NULL, NULL);
    T_ASSERT(f != NULL);
    T_EQ_STR(t_trace, "create act:EV_SE_GO act:EV_SE_SELF");
    T_ASSERT(gobj_in_this_state(f, ST_SE_A));
    gobj_destroy(f);
}

/* Flat: a subscriber of EV_STATE_CHANGED destroys the gobj; the row's
 * action is not run on it. */
static void case_flat_destroyed_by_subscriber(void)
{
    reset();
    gobj_t *f = gobj_create("f", gc_f, NULL, NULL);
    gobj_t *w = gobj_create("w", gc_w, NULL, NULL);
    T_EQ_INT(gobj_subscribe_event(f, EV_STATE_CHANGED, NULL, w), 0);
    watch.on_state = "ST_SE_B";
    watch.destroy = true;
    T_EQ_INT(gobj_send_event(f, EV_SE_GO, NULL, w), GOBJ_EDESTROYED);
    T_EQ_STR(t_trace, "changed:ST_SE_B");
    T_EQ_INT(gobj_live_count(), 1);
    gobj_destroy(w);
}

int main(void)
{
    t_init();
    gc_h = gclass_register(&h_gclass);
    gc_f = gclass_register(&f_gclass);
    gc_w = gclass_register(&w_gclass);
    T_ASSERT(gc_h && gc_f && gc_w);

    case_initial_entry_sends_self();
    case_change_from_subscriber();
    case_change_from_inject();
    case_change_from_create();
    case_flat_destroyed_by_subscriber();
    case_sent_during_create();

    T_EQ_INT(gobj_live_count(), 0);
    T_EQ_INT(gclass_unregister_all(), 0);
    return t_done();
}
