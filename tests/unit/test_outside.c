/*
 * test_outside.c - dispatch contract rule 14: a gobj destroyed by its own
 * method or hook during a public call made from *outside* any dispatch
 * (main, a loop timer, a signal callback) is freed only after that call has
 * stopped using it.
 *
 * Each case calls gobj_create, gobj_start, gobj_stop, gobj_start_tree,
 * gobj_stop_tree or gobj_write_attr from each origin outside any dispatch:
 * directly from main (depth 0), from a loop timer callback, and from a
 * signal callback (gobj_loop_on_signal, libevent's evsignal underneath: the
 * test raises SIGUSR2 itself), on a gobj whose method destroys itself or
 * its parent.  Without the rule
 * these are heap-use-after-free reads and writes (ASan, valgrind); the
 * asserts check the return codes, the log and that nothing is left alive.
 */
#include <signal.h>

#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_OUT_PING);
GOBJ_DEFINE_STATE(ST_OUT_IDLE);
GOBJ_DEFINE_STATE(ST_OUT_TOP);
GOBJ_DEFINE_STATE(ST_OUT_LEAF);

/* What the methods of the test gclasses do, set by each case. */
enum {
    DO_NOTHING,
    CREATE_DESTROYS_SELF,
    ENTRY_DESTROYS_SELF,
    START_DESTROYS_SELF,
    START_DESTROYS_SELF_AND_FAILS,
    STOP_DESTROYS_SELF,
    STOP_DESTROYS_PARENT,
    START_DESTROYS_PARENT,
    WRITING_DESTROYS_SELF,
    CREATE_DESTROYS_VICTIM, /* whose mt_stop, run when create leaves, destroys the new gobj */
};
static gobj_t *victim, *being_created;
static int mode;
static int n_destroyed;

static void maybe_destroy(gobj_t *gobj, int when)
{
    if (mode == when)
        gobj_destroy(gobj);
}

static int out_mt_create(gobj_t *gobj)
{
    if (mode == CREATE_DESTROYS_VICTIM && victim && gobj != victim) {
        being_created = gobj;
        gobj_destroy(victim);
        victim = NULL;
    }
    maybe_destroy(gobj, CREATE_DESTROYS_SELF);
    return 0;
}

static int out_mt_start(gobj_t *gobj)
{
    if (mode == START_DESTROYS_PARENT && gobj_parent(gobj)) {
        gobj_destroy(gobj_parent(gobj));
        return 0;
    }
    maybe_destroy(gobj, START_DESTROYS_SELF);
    if (mode == START_DESTROYS_SELF_AND_FAILS) {
        gobj_destroy(gobj);
        return GOBJ_EINVAL;
    }
    return 0;
}

static int out_mt_stop(gobj_t *gobj)
{
    if (mode == CREATE_DESTROYS_VICTIM && being_created) {
        gobj_destroy(being_created);
        being_created = NULL;
        return 0;
    }
    if (mode == STOP_DESTROYS_PARENT && gobj_parent(gobj))
        gobj_destroy(gobj_parent(gobj));
    else
        maybe_destroy(gobj, STOP_DESTROYS_SELF);
    return 0;
}

static void out_mt_writing(gobj_t *gobj, const char *attr)
{
    maybe_destroy(gobj, WRITING_DESTROYS_SELF);
}

typedef struct {
    int64_t v;
} out_priv_t;

static const gobj_attr_t out_attrs[] = {
    GOBJ_ATTR("v", GOBJ_ATTR_INT, out_priv_t, v, "0", GOBJ_RD | GOBJ_WR, "a writable value"),
    GOBJ_ATTR_END,
};

static void out_mt_destroy(gobj_t *gobj)
{
    (void)gobj;
    n_destroyed++;
}

static int ac_ping(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static const gobj_row_t st_out_idle[] = {
    GOBJ_ROW(EV_OUT_PING, ac_ping, NULL),
    {NULL},
};
static const gobj_state_def_t out_states[] = {
    GOBJ_STATE(ST_OUT_IDLE, st_out_idle),
    {NULL},
};
static const gobj_event_def_t out_events[] = {
    {EV_OUT_PING, GOBJ_EV_IN, "{}"},
    {NULL},
};
static const gclass_def_t out_gclass = {
    .name = "Out",
    .states = out_states,
    .events = out_events,
    .attrs = out_attrs,
    .methods = {.mt_create = out_mt_create,
                .mt_start = out_mt_start,
                .mt_stop = out_mt_stop,
                .mt_destroy = out_mt_destroy,
                .mt_writing = out_mt_writing},
    .priv_size = sizeof(out_priv_t),
};

/* Hierarchical: ST_OUT_TOP with initial ST_OUT_LEAF, whose entry hook may
 * destroy the gobj while gobj_create enters the initial state. */
static void leaf_entry(gobj_t *gobj)
{
    maybe_destroy(gobj, ENTRY_DESTROYS_SELF);
}

static const gobj_row_t st_out_top[] = {
    GOBJ_ROW(EV_OUT_PING, ac_ping, NULL),
    {NULL},
};
static const gobj_row_t st_out_leaf[] = {
    {NULL},
};
static const gobj_state_def_t hout_states[] = {
    {ST_OUT_TOP, st_out_top, NULL, ST_OUT_LEAF, NULL, NULL},
    {ST_OUT_LEAF, st_out_leaf, ST_OUT_TOP, NULL, leaf_entry, NULL},
    {NULL},
};
static const gclass_def_t hout_gclass = {
    .name = "HOut",
    .states = hout_states,
    .events = out_events,
    .methods = {.mt_create = out_mt_create,
                .mt_start = out_mt_start,
                .mt_stop = out_mt_stop,
                .mt_destroy = out_mt_destroy},
    .priv_size = 1,
};

static gclass_t *gc_out, *gc_hout;

/*--------------------------------------------------------------------------*
 *  The cases, each run from main, from a loop timer and from a signal
 *  callback
 *--------------------------------------------------------------------------*/
static void case_create_destroys_self(void)
{
    mode = CREATE_DESTROYS_SELF;
    n_destroyed = 0;
    T_ASSERT(gobj_create("a", gc_out, NULL, NULL) == NULL);
    T_EQ_INT(n_destroyed, 1);
    gobj_t *root = gobj_create("root", gc_out, NULL, NULL);
    T_ASSERT(root == NULL); /* the mode applies to every Out */
    mode = DO_NOTHING;
    root = gobj_create("root", gc_out, NULL, NULL);
    mode = CREATE_DESTROYS_SELF;
    T_ASSERT(gobj_create("child", gc_out, NULL, root) == NULL);
    T_EQ_INT(gobj_child_count(root), 0);
    mode = DO_NOTHING;
    gobj_destroy(root);
    T_EQ_INT(gobj_live_count(), 0);
}

static void case_entry_destroys_self(void)
{
    mode = ENTRY_DESTROYS_SELF;
    n_destroyed = 0;
    T_ASSERT(gobj_create("h", gc_hout, NULL, NULL) == NULL);
    T_EQ_INT(n_destroyed, 1);
    T_EQ_INT(gobj_live_count(), 0);
    mode = DO_NOTHING;
}

static void case_start_destroys_self(void)
{
    mode = DO_NOTHING;
    gobj_t *g = gobj_create("s", gc_out, NULL, NULL);
    mode = START_DESTROYS_SELF;
    T_EQ_INT(gobj_start(g), GOBJ_EDESTROYED);
    T_EQ_INT(gobj_live_count(), 0);

    mode = DO_NOTHING;
    g = gobj_create("s", gc_out, NULL, NULL);
    mode = START_DESTROYS_SELF_AND_FAILS;
    t_log_clear();
    T_EQ_INT(gobj_start(g), GOBJ_EINVAL);
    /* The debug record names the gobj: it was read before the free. */
    T_EQ_INT(t_log_find("debug", "start failed"), 1);
    T_EQ_INT(t_log_find(NULL, "\"gobj\":\"s\""), 1);
    T_EQ_INT(gobj_live_count(), 0);

    /* gobj_start_tree on a gobj that destroys itself in its start. */
    mode = DO_NOTHING;
    g = gobj_create("s", gc_out, NULL, NULL);
    gobj_create("c", gc_out, NULL, g);
    mode = START_DESTROYS_SELF;
    T_EQ_INT(gobj_start_tree(g), GOBJ_EDESTROYED);
    T_EQ_INT(gobj_live_count(), 0);

    /* A child's start destroys the parent during gobj_start_tree(parent). */
    mode = DO_NOTHING;
    g = gobj_create("p", gc_out, NULL, NULL);
    gobj_create("c1", gc_out, NULL, g);
    gobj_create("c2", gc_out, NULL, g);
    mode = START_DESTROYS_PARENT;
    n_destroyed = 0;
    T_EQ_INT(gobj_start_tree(g), GOBJ_EDESTROYED);
    T_EQ_INT(n_destroyed, 3);
    T_EQ_INT(gobj_live_count(), 0);
    mode = DO_NOTHING;
}

static void case_stop_destroys_self(void)
{
    mode = DO_NOTHING;
    gobj_t *g = gobj_create("t", gc_out, NULL, NULL);
    T_EQ_INT(gobj_start(g), 0);
    mode = STOP_DESTROYS_SELF;
    T_EQ_INT(gobj_stop(g), 0);
    T_EQ_INT(gobj_live_count(), 0);

    mode = DO_NOTHING;
    g = gobj_create("t", gc_out, NULL, NULL);
    gobj_create("c", gc_out, NULL, g);
    T_EQ_INT(gobj_start_tree(g), 0);
    mode = STOP_DESTROYS_SELF; /* the child first, then g */
    n_destroyed = 0;
    T_EQ_INT(gobj_stop_tree(g), 0);
    T_EQ_INT(n_destroyed, 2);
    T_EQ_INT(gobj_live_count(), 0);

    /* A child's mt_stop destroys its parent during gobj_stop_tree(parent):
     * the walk goes on over its snapshot, and the parent's own stop is
     * still called safely (it is destroyed: stopped by its destruction). */
    mode = DO_NOTHING;
    g = gobj_create("p", gc_out, NULL, NULL);
    gobj_create("c1", gc_out, NULL, g);
    gobj_create("c2", gc_out, NULL, g);
    T_EQ_INT(gobj_start_tree(g), 0);
    mode = STOP_DESTROYS_PARENT;
    n_destroyed = 0;
    gobj_stop_tree(g);
    T_EQ_INT(n_destroyed, 3);
    T_EQ_INT(gobj_live_count(), 0);
    mode = DO_NOTHING;
}

static void case_writing_destroys_self(void)
{
    mode = DO_NOTHING;
    gobj_t *g = gobj_create("w", gc_out, NULL, NULL);
    mode = WRITING_DESTROYS_SELF;
    n_destroyed = 0;
    T_EQ_INT(gobj_write_int(g, "v", 5), 0);
    T_EQ_INT(n_destroyed, 1);
    T_EQ_INT(gobj_live_count(), 0);
    mode = DO_NOTHING;
}

/* The new gobj survives its mt_create and its initial entry, and is then
 * destroyed by a method that runs while gobj_create leaves (the victim's
 * mt_stop, reaped then): create returns NULL, never a freed gobj. */
static void case_destroyed_while_create_leaves(void)
{
    mode = DO_NOTHING;
    victim = gobj_create("victim", gc_out, NULL, NULL);
    T_EQ_INT(gobj_start(victim), 0);
    mode = CREATE_DESTROYS_VICTIM;
    n_destroyed = 0;
    T_ASSERT(gobj_create("newborn", gc_out, NULL, NULL) == NULL);
    T_EQ_INT(n_destroyed, 2);
    T_EQ_INT(gobj_live_count(), 0);
    mode = DO_NOTHING;
}

static void run_all(void)
{
    case_create_destroys_self();
    case_entry_destroys_self();
    case_start_destroys_self();
    case_stop_destroys_self();
    case_writing_destroys_self();
    case_destroyed_while_create_leaves();
}

static int timer_runs;
static void on_timer(void *user)
{
    (void)user;
    timer_runs++;
    run_all();
    gobj_loop_stop();
}

static int signal_runs;
static void on_signal(int signo, void *user)
{
    (void)user;
    T_EQ_INT(signo, SIGUSR2);
    signal_runs++;
    run_all();
    gobj_loop_stop();
}

/* Guard: a signal that never arrives fails the test instead of hanging. */
static void on_guard(void *user)
{
    (void)user;
    gobj_loop_stop();
}

int main(void)
{
    t_init();
    T_ASSERT(gobj_register_builtin_gclasses() == 0);
    gc_out = gclass_register(&out_gclass);
    gc_hout = gclass_register(&hout_gclass);
    T_ASSERT(gc_out && gc_hout);

    /* From main: depth 0, no loop running. */
    run_all();

    /* From a loop timer callback (also outside any dispatch). */
    T_EQ_INT(gobj_loop_init(), 0);
    gobj_loop_timer_t *t = gobj_loop_timer_new(on_timer, NULL);
    T_EQ_INT(gobj_loop_timer_start(t, 1, false), 0);
    gobj_loop_run();
    T_EQ_INT(timer_runs, 1);
    gobj_loop_timer_free(t);

    /* From a signal callback: the loop turns the signal into a callback
     * that runs at depth 0, like a timer's. */
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, on_signal, NULL), 0);
    gobj_loop_timer_t *guard = gobj_loop_timer_new(on_guard, NULL);
    T_EQ_INT(gobj_loop_timer_start(guard, 30000, false), 0);
    T_EQ_INT(raise(SIGUSR2), 0);
    gobj_loop_run();
    T_EQ_INT(signal_runs, 1);
    gobj_loop_timer_free(guard);
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, NULL, NULL), 0);
    gobj_loop_free();

    T_EQ_INT(gclass_unregister_all(), 0);
    return t_done();
}
