/*
 * test_timer.c - GTimer: periodic and one-shot expiries published to the
 * subscriber (the parent by default, or the gobj its `subscriber` attribute
 * names), EV_STOP_TIMER, re-arming with EV_SET_TIMER, stopping, re-arming
 * and destroying the timer from inside the subscriber's EV_TIMER_TIMEOUT action,
 * msec / periodic written at run time, a failed re-arm that disarms, and
 * rule 15: no EV_TIMER_TIMEOUT inside the call that armed the timer.
 *
 * Counts are asserted exactly where the test itself stops the loop, and
 * durations only with generous lower bounds; every run of the loop is
 * bounded by a guard timer that fails the test.
 */
#include <unistd.h>

#include "ginsfsm/gobjs.h"
#include "ginsfsm/loop.h"
#include "testlib.h"

#define GUARD_MSEC 5000

GOBJ_DEFINE_STATE(ST_OWNER_IDLE);

/*---------------------------------------------------------------------*
 *  Owner: the gobj that receives EV_TIMER_TIMEOUT and does what the test asks
 *---------------------------------------------------------------------*/
enum owner_mode {
    M_COUNT,          /* count; stop the loop at `limit` */
    M_STOP_EVENT,     /* EV_STOP_TIMER at `limit` */
    M_GOBJ_STOP,      /* gobj_stop(timer) at `limit` */
    M_DESTROY_TIMER,  /* gobj_destroy(timer) at the first tick */
    M_DESTROY_SELF,   /* the owner destroys itself (and its timer child) */
    M_REARM,          /* EV_SET_TIMER {msec: 10} until `limit` */
    M_REARM_PERIODIC, /* EV_SET_TIMER {periodic: true} at the first tick */
    M_REARM_1MS,      /* EV_SET_TIMER {msec: 1} (in_call raised) until `limit` */
    M_RESTART,        /* gobj_stop then gobj_start (in_call raised) until `limit` */
};

typedef struct {
    int64_t ticks;
} owner_priv_t;

static enum owner_mode mode;
static int limit;
static int total_ticks; /* all owners */
static gobj_t *last_src;
static bool kw_was_empty_object = true;
static uint64_t tick_at[64];
static uint64_t t0;
static gobj_state_t state_seen[64];
static gobj_t *who[64]; /* which owner got each tick */
/* Rule 15: > 0 while the test (or an owner) is inside its own call into a
 * timer; an EV_TIMER_TIMEOUT delivered then is counted in `nested`. */
static int in_call, nested;

static int ac_owner_timeout(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    owner_priv_t *priv = gobj_priv(gobj);
    priv->ticks++;
    if (total_ticks < 64) {
        tick_at[total_ticks] = gobj_loop_now_msec() - t0;
        state_seen[total_ticks] = gobj_current_state(src);
        who[total_ticks] = gobj;
    }
    total_ticks++;
    if (in_call)
        nested++;
    last_src = src;
    if (!json_is_object(kw) || json_object_size(kw) != 0)
        kw_was_empty_object = false;

    switch (mode) {
    case M_COUNT:
        if (total_ticks == limit)
            gobj_loop_stop();
        break;
    case M_STOP_EVENT:
        if (total_ticks == limit)
            T_EQ_INT(gobj_send_event(src, EV_STOP_TIMER, NULL, gobj), 0);
        break;
    case M_GOBJ_STOP:
        if (total_ticks == limit)
            T_EQ_INT(gobj_stop(src), 0);
        break;
    case M_DESTROY_TIMER:
        gobj_destroy(src);
        /* Destroyed means unreachable at once, even before it is freed. */
        T_ASSERT(gobj_is_destroying(src));
        T_ASSERT(gobj_find_child(gobj, "t") == NULL);
        break;
    case M_DESTROY_SELF:
        gobj_destroy(gobj);
        break;
    case M_REARM:
        if (total_ticks < limit)
            T_EQ_INT(gobj_send_event(src, EV_SET_TIMER, json_pack("{s:i}", "msec", 10), gobj), 0);
        else
            gobj_loop_stop();
        break;
    case M_REARM_1MS:
        if (total_ticks < limit) {
            in_call++;
            T_EQ_INT(gobj_send_event(src, EV_SET_TIMER, json_pack("{s:i}", "msec", 1), gobj), 0);
            in_call--;
        } else {
            gobj_loop_stop();
        }
        break;
    case M_RESTART:
        if (total_ticks < limit) {
            in_call++;
            T_EQ_INT(gobj_stop(src), 0);
            T_EQ_INT(gobj_start(src), 0);
            in_call--;
            T_ASSERT(gobj_in_this_state(src, ST_ARMED));
        } else {
            gobj_loop_stop();
        }
        break;
    case M_REARM_PERIODIC:
        if (total_ticks == 1)
            gobj_send_event(src, EV_SET_TIMER, json_pack("{s:b}", "periodic", 1), gobj);
        if (total_ticks == limit)
            gobj_loop_stop();
        break;
    }
    return 0;
}

static const gobj_row_t st_owner_idle[] = {
    GOBJ_ROW(EV_TIMER_TIMEOUT, ac_owner_timeout, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t owner_states[] = {
    {.state = ST_OWNER_IDLE, .rows = st_owner_idle},
    {.state = NULL},
};
static const gobj_event_def_t owner_events[] = {
    {EV_TIMER_TIMEOUT, GOBJ_EV_IN, "{}"},
    {NULL, 0, NULL},
};
static const gobj_attr_t owner_attrs[] = {
    GOBJ_ATTR("ticks", GOBJ_ATTR_INT, owner_priv_t, ticks, "0", GOBJ_STATS, "EV_TIMER_TIMEOUT received"),
    GOBJ_ATTR_END,
};
static const gclass_def_t owner_def = {
    .name = "TOwner",
    .description = "receives EV_TIMER_TIMEOUT",
    .states = owner_states,
    .events = owner_events,
    .attrs = owner_attrs,
    .priv_size = sizeof(owner_priv_t),
};

static gclass_t *owner_gc, *timer_gc;

static void reset(enum owner_mode m, int lim)
{
    mode = m;
    limit = lim;
    total_ticks = 0;
    in_call = nested = 0;
    last_src = NULL;
    kw_was_empty_object = true;
    memset(tick_at, 0, sizeof tick_at);
    memset(state_seen, 0, sizeof state_seen);
    memset(who, 0, sizeof who);
    t0 = gobj_loop_now_msec();
}

static int64_t owner_ticks(const gobj_t *owner)
{
    return gobj_read_int(owner, "ticks");
}

/*---------------------------------------------------------------------*
 *  Bounded loop runs
 *---------------------------------------------------------------------*/
static bool guard_fired;

static void on_guard(void *user)
{
    (void)user;
    guard_fired = true;
    gobj_loop_stop();
}

static void on_stop(void *user)
{
    (void)user;
    gobj_loop_stop();
}

/* Run until the test stops the loop; the guard failing the test. */
static void run_until_stopped(const char *what)
{
    gobj_loop_timer_t *guard = gobj_loop_timer_new(on_guard, NULL);
    guard_fired = false;
    gobj_loop_timer_start(guard, GUARD_MSEC, false);
    T_EQ_INT(gobj_loop_run(), 0);
    if (guard_fired)
        T_FAIL_("%s: the guard timer had to stop the loop", what);
    gobj_loop_timer_free(guard);
}

/* Run for msec, to see that nothing more happens. */
static void run_for(uint64_t msec)
{
    gobj_loop_timer_t *stop = gobj_loop_timer_new(on_stop, NULL);
    gobj_loop_timer_start(stop, msec, false);
    T_EQ_INT(gobj_loop_run(), 0);
    gobj_loop_timer_free(stop);
}

static gobj_t *make_owner(const char *name)
{
    gobj_t *o = gobj_create(name, owner_gc, NULL, NULL);
    T_ASSERT(o != NULL);
    return o;
}

/*---------------------------------------------------------------------*
 *  Tests
 *---------------------------------------------------------------------*/
static void test_registration(void)
{
    T_EQ_INT(gobj_register_builtin_gclasses(), 0);
    T_EQ_INT(gobj_register_builtin_gclasses(), 0); /* idempotent */
    timer_gc = gclass_find(GCLASS_GTIMER_NAME);
    T_ASSERT(timer_gc != NULL);
    T_EQ_STR(gclass_name(timer_gc), "GTimer");
    T_ASSERT(gclass_find_attr(timer_gc, "msec") != NULL);
    T_ASSERT(gclass_find_attr(timer_gc, "periodic") != NULL);
    T_ASSERT(gclass_find_attr(timer_gc, "subscriber") != NULL);
}

/* A periodic 20 ms timer delivers EV_TIMER_TIMEOUT {} to its parent repeatedly,
 * in order, each tick no earlier than its slot. */
static void test_periodic(void)
{
    reset(M_COUNT, 6);
    gobj_t *owner = make_owner("owner");
    gobj_t *t =
        gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 20, "periodic", 1), owner);
    T_ASSERT(t != NULL);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE)); /* not armed before start */
    T_EQ_INT(gobj_start_tree(owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    run_until_stopped("periodic");
    T_EQ_INT(total_ticks, 6);
    T_EQ_INT(owner_ticks(owner), 6);
    T_ASSERT(last_src == t);
    T_ASSERT(kw_was_empty_object);
    bool on_schedule = true, ordered = true;
    for (int i = 0; i < 6; i++) {
        if (tick_at[i] + 1 < (uint64_t)(i + 1) * 20)
            on_schedule = false;
        if (i && tick_at[i] < tick_at[i - 1])
            ordered = false;
        if (state_seen[i] != ST_ARMED)
            ordered = false;
    }
    T_ASSERT(on_schedule);
    T_ASSERT(ordered);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED)); /* still running */
    json_t *stats = gobj_stats(t);
    T_EQ_INT(json_integer_value(json_object_get(stats, "n_timeouts")), 6);
    json_decref(stats);
    gobj_destroy(owner);
}

/* A one-shot timer fires once and goes back to ST_IDLE. */
static void test_one_shot(void)
{
    reset(M_COUNT, 0);
    gobj_t *owner = make_owner("owner");
    gobj_t *t = gobj_create("t", timer_gc, json_pack("{s:i}", "msec", 15), owner);
    gobj_start_tree(owner);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    run_for(120);
    T_EQ_INT(total_ticks, 1);
    T_ASSERT(tick_at[0] + 1 >= 15);
    T_ASSERT(state_seen[0] == ST_IDLE); /* spent before it is published */
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    T_EQ_INT(gobj_read_int(t, "n_timeouts"), 1);
    gobj_destroy(owner);
}

/* EV_STOP_TIMER from inside EV_TIMER_TIMEOUT, and from outside. */
static void test_stop_event(void)
{
    reset(M_STOP_EVENT, 3);
    gobj_t *owner = make_owner("owner");
    gobj_t *t =
        gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 10, "periodic", 1), owner);
    gobj_start_tree(owner);
    run_for(150);
    T_EQ_INT(total_ticks, 3);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));

    /* From outside, while armed; and a stop while idle is accepted. */
    reset(M_COUNT, 0);
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, NULL, NULL), 0); /* re-arm as it was */
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    T_EQ_INT(gobj_send_event(t, EV_STOP_TIMER, NULL, NULL), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    T_EQ_INT(gobj_send_event(t, EV_STOP_TIMER, NULL, NULL), 0);
    run_for(60);
    T_EQ_INT(total_ticks, 0);
    gobj_destroy(owner);
}

/* gobj_stop from inside EV_TIMER_TIMEOUT disarms; gobj_start arms again. */
static void test_gobj_stop_inside(void)
{
    reset(M_GOBJ_STOP, 2);
    gobj_t *owner = make_owner("owner");
    gobj_t *t =
        gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 10, "periodic", 1), owner);
    gobj_start_tree(owner);
    run_for(120);
    T_EQ_INT(total_ticks, 2);
    T_ASSERT(!gobj_is_running(t));
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));

    reset(M_COUNT, 3);
    T_EQ_INT(gobj_start(t), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    run_until_stopped("restart");
    T_EQ_INT(total_ticks, 3);
    T_EQ_INT(gobj_stop(t), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    gobj_destroy(owner);
}

/* Destroying the timer from inside its subscriber's EV_TIMER_TIMEOUT action
 * cancels it: once, no more ticks, no leak, no use after free. */
static void test_destroy_inside(void)
{
    reset(M_DESTROY_TIMER, 0);
    gobj_t *owner = make_owner("owner");
    gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 5, "periodic", 1), owner);
    gobj_start_tree(owner);
    size_t live = gobj_live_count();
    run_for(80);
    T_EQ_INT(total_ticks, 1);
    T_EQ_INT(gobj_live_count(), live - 1);
    T_EQ_INT(gobj_child_count(owner), 0);

    /* One-shot, destroyed the same way. */
    reset(M_DESTROY_TIMER, 0);
    gobj_create("t", timer_gc, json_pack("{s:i}", "msec", 5), owner);
    gobj_start_tree(owner);
    run_for(60);
    T_EQ_INT(total_ticks, 1);
    T_EQ_INT(gobj_child_count(owner), 0);
    gobj_destroy(owner);

    /* The subscriber destroys itself, and with it the timer (its child). */
    reset(M_DESTROY_SELF, 0);
    owner = make_owner("owner");
    gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 5, "periodic", 1), owner);
    gobj_start_tree(owner);
    run_for(60);
    T_EQ_INT(total_ticks, 1);
    T_ASSERT(gobj_find_path(NULL, "owner") == NULL);
}

/* Re-arming with EV_SET_TIMER: from idle, from inside EV_TIMER_TIMEOUT, missing
 * keys keep the current values, msec <= 0 stops, bad types are refused. */
static void test_set_timer(void)
{
    reset(M_REARM, 4);
    gobj_t *owner = make_owner("owner");
    gobj_t *t = gobj_create("t", timer_gc, NULL, owner);
    gobj_start_tree(owner);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE)); /* msec 0: nothing to arm */
    T_EQ_INT(
        gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i, s:b}", "msec", 20, "periodic", 0), owner),
        0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    T_EQ_INT(gobj_read_int(t, "msec"), 20);
    run_until_stopped("re-arm");
    T_EQ_INT(total_ticks, 4); /* one from the first arm, three re-armed */
    T_EQ_INT(gobj_read_int(t, "msec"), 10);
    T_ASSERT(!gobj_read_bool(t, "periodic"));

    /* One-shot turned periodic by its subscriber at the first tick. */
    reset(M_REARM_PERIODIC, 4);
    gobj_send_event(t, EV_SET_TIMER, NULL, owner);
    run_until_stopped("one-shot to periodic");
    T_EQ_INT(total_ticks, 4);
    T_ASSERT(gobj_read_bool(t, "periodic"));
    T_EQ_INT(gobj_read_int(t, "msec"), 10);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));

    /* msec <= 0 stops. */
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", 0), owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", -5), owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));

    /* Wrong types: refused, nothing changed. */
    t_log_clear();
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:s}", "msec", "10"), owner), GOBJ_ETYPE);
    T_EQ_INT(
        gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i, s:i}", "msec", 10, "periodic", 1), owner),
        GOBJ_ETYPE);
    T_EQ_INT(t_log_find("error", "expects {msec"), 2);
    T_EQ_INT(gobj_read_int(t, "msec"), -5);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));

    /* EV_TIMER_TIMEOUT from anyone but the timer itself is refused. */
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", 60000), owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    reset(M_COUNT, 0);
    T_EQ_INT(gobj_send_event(t, EV_TIMER_TIMEOUT, NULL, owner), GOBJ_EINVAL);
    T_EQ_INT(total_ticks, 0);
    gobj_destroy(owner);
}

/* A timer that is not running only records EV_SET_TIMER; start arms. */
static void test_set_timer_not_running(void)
{
    reset(M_COUNT, 1);
    gobj_t *owner = make_owner("owner");
    gobj_t *t = gobj_create("t", timer_gc, NULL, owner);
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", 10), owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    T_EQ_INT(gobj_read_int(t, "msec"), 10);
    gobj_start_tree(owner);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    run_until_stopped("armed at start");
    T_EQ_INT(total_ticks, 1);
    gobj_destroy(owner);
}

/* The subscriber attribute names another gobj (a later sibling, found at
 * start; or a unique gobj); the parent then gets nothing.  Other gobjs may
 * subscribe too, and get the ticks after the configured subscriber. */
static void test_subscriber_attr(void)
{
    reset(M_COUNT, 3);
    gobj_t *app = make_owner("app");
    gobj_t *t = gobj_create(
        "ticker", timer_gc,
        json_pack("{s:i, s:b, s:s}", "msec", 10, "periodic", 1, "subscriber", "app.listener"), app);
    T_ASSERT(t != NULL);
    gobj_t *listener = gobj_create("listener", owner_gc, NULL, app);
    T_EQ_INT(gobj_start_tree(app), 0);
    run_until_stopped("named subscriber");
    T_EQ_INT(owner_ticks(listener), 3);
    T_EQ_INT(owner_ticks(app), 0);
    gobj_destroy(app);

    /* A unique name. */
    reset(M_COUNT, 2);
    gobj_t *svc = gobj_create_unique("svc", owner_gc, NULL, NULL);
    app = make_owner("app");
    gobj_create("ticker", timer_gc,
                json_pack("{s:i, s:b, s:s}", "msec", 10, "periodic", 1, "subscriber", "svc"), app);
    gobj_start_tree(app);
    run_until_stopped("unique subscriber");
    T_EQ_INT(owner_ticks(svc), 2);
    T_EQ_INT(owner_ticks(app), 0);
    gobj_destroy(app);
    gobj_destroy(svc);

    /* A subscriber that does not exist: start fails, naming it. */
    t_log_clear();
    app = make_owner("app");
    t = gobj_create("ticker", timer_gc, json_pack("{s:i, s:s}", "msec", 10, "subscriber", "nobody"),
                    app);
    T_ASSERT(t != NULL);
    T_EQ_INT(gobj_start(t), GOBJ_ENOENT);
    T_ASSERT(!gobj_is_running(t));
    T_EQ_INT(t_log_find("error", "nobody"), 1);
    gobj_destroy(app);

    /* Another subscriber besides the parent: delivery in subscription
     * order, parent first. */
    reset(M_COUNT, 0);
    app = make_owner("app");
    gobj_t *extra = make_owner("extra");
    t = gobj_create("ticker", timer_gc, json_pack("{s:i}", "msec", 10), app);
    T_EQ_INT(gobj_subscribe_event(t, EV_TIMER_TIMEOUT, NULL, extra), 0);
    T_EQ_INT(gobj_subscription_count(t, EV_TIMER_TIMEOUT), 2);
    gobj_start_tree(app);
    run_for(60);
    T_EQ_INT(owner_ticks(app), 1);
    T_EQ_INT(owner_ticks(extra), 1);
    T_EQ_INT(total_ticks, 2);
    T_ASSERT(who[0] == app);
    T_ASSERT(who[1] == extra);
    gobj_destroy(app);
    gobj_destroy(extra);
}

/* msec and periodic written at run time re-arm an armed timer. */
static void test_write_at_run_time(void)
{
    reset(M_COUNT, 3);
    gobj_t *owner = make_owner("owner");
    gobj_t *t =
        gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 60000, "periodic", 1), owner);
    gobj_start_tree(owner);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    /* Left alone it would not fire within the guard: only the write makes
     * the ticks come. */
    T_EQ_INT(gobj_write_int(t, "msec", 10), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    run_until_stopped("msec written");
    T_EQ_INT(total_ticks, 3);

    /* periodic -> one-shot: one more tick, then idle. */
    reset(M_COUNT, 0);
    T_EQ_INT(gobj_write_attr(t, "periodic", json_false()), 0);
    run_for(100);
    T_EQ_INT(total_ticks, 1);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));

    /* Written while idle: recorded, not armed. */
    T_EQ_INT(gobj_write_int(t, "msec", 5), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    run_for(40);
    T_EQ_INT(total_ticks, 1);

    /* msec <= 0 written while armed disarms. */
    gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i, s:b}", "msec", 10, "periodic", 1), owner);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    T_EQ_INT(gobj_write_int(t, "msec", 0), 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    reset(M_COUNT, 0);
    run_for(50);
    T_EQ_INT(total_ticks, 0);

    /* subscriber is not writable at run time. */
    T_EQ_INT(gobj_write_str(t, "subscriber", "x"), GOBJ_EACCES);
    gobj_destroy(owner);
}

/* Destroying an armed timer (not from a callback) cancels it. */
static void test_destroy_armed(void)
{
    reset(M_COUNT, 0);
    gobj_t *owner = make_owner("owner");
    gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 5, "periodic", 1), owner);
    gobj_start_tree(owner);
    gobj_destroy(owner);
    run_for(40);
    T_EQ_INT(total_ticks, 0);
}

/* A re-arm that fails (a delay beyond the loop's range) leaves the timer
 * disarmed, as its state says: the old schedule must not go on firing
 * into ST_IDLE, where each expiry would be refused and logged.  Whether
 * the re-arm comes from EV_SET_TIMER, a write of msec or gobj_start. */
static void test_arm_failure_disarms(void)
{
    const json_int_t huge = (json_int_t)1 << 62; /* ms: beyond the loop's range */
    reset(M_COUNT, 0);
    gobj_t *owner = make_owner("owner");
    gobj_t *t =
        gobj_create("t", timer_gc, json_pack("{s:i, s:b}", "msec", 10, "periodic", 1), owner);
    T_EQ_INT(gobj_start_tree(owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    t_log_clear();
    T_ASSERT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:I}", "msec", huge), owner) < 0);
    T_EQ_INT(t_log_find("error", "cannot arm"), 1);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    run_for(60);
    T_EQ_INT(total_ticks, 0);
    T_EQ_INT(t_log_find("error", "not accepted"), 0);

    /* msec written while armed. */
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", 10), owner), 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    t_log_clear();
    gobj_write_int(t, "msec", huge);
    T_EQ_INT(t_log_find("error", "cannot arm"), 1);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    run_for(60);
    T_EQ_INT(total_ticks, 0);
    T_EQ_INT(t_log_find("error", "not accepted"), 0);

    /* gobj_start with such a delay fails and arms nothing. */
    T_EQ_INT(gobj_stop(t), 0);
    t_log_clear();
    T_ASSERT(gobj_start(t) < 0);
    T_ASSERT(gobj_in_this_state(t, ST_IDLE));
    run_for(40);
    T_EQ_INT(total_ticks, 0);
    T_EQ_INT(t_log_find("error", "not accepted"), 0);
    gobj_destroy(owner);
}

/* Rule 15 (no re-entrant callbacks): an EV_TIMER_TIMEOUT is never
 * delivered inside the call that armed the timer, even with a delay of
 * 1 ms armed from a loop callback that returns only after it is due; nor
 * inside a re-arm (EV_SET_TIMER) or a restart (gobj_stop + gobj_start)
 * made from the subscriber's own EV_TIMER_TIMEOUT action. */
static gobj_t *cb_timer;
static void on_cb_set(void *user)
{
    (void)user;
    in_call++;
    T_EQ_INT(gobj_send_event(cb_timer, EV_SET_TIMER, json_pack("{s:i}", "msec", 1), NULL), 0);
    usleep(3000); /* due before this callback returns */
    in_call--;
}

static void on_cb_restart(void *user)
{
    (void)user;
    in_call++;
    T_EQ_INT(gobj_stop(cb_timer), 0);
    T_ASSERT(gobj_in_this_state(cb_timer, ST_IDLE));
    T_EQ_INT(gobj_start(cb_timer), 0);
    T_ASSERT(gobj_in_this_state(cb_timer, ST_ARMED));
    usleep(3000);
    in_call--;
}

static void test_no_timeout_inside_calls(void)
{
    reset(M_COUNT, 0);
    gobj_t *owner = make_owner("owner");
    gobj_t *t = gobj_create("t", timer_gc, json_pack("{s:i}", "msec", 1), owner);
    cb_timer = t;

    /* From main: start, EV_SET_TIMER, a write of msec. */
    in_call++;
    T_EQ_INT(gobj_start_tree(owner), 0);
    usleep(3000);
    in_call--;
    run_for(40);
    T_EQ_INT(total_ticks, 1);
    in_call++;
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, NULL, owner), 0);
    usleep(3000);
    in_call--;
    run_for(40);
    T_EQ_INT(total_ticks, 2);
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i}", "msec", 60000), owner), 0);
    in_call++;
    T_EQ_INT(gobj_write_int(t, "msec", 1), 0); /* armed: re-armed from now */
    usleep(3000);
    in_call--;
    run_for(40);
    T_EQ_INT(total_ticks, 3);

    /* From loop callbacks (outside any dispatch): EV_SET_TIMER, and a
     * stop and start of the timer. */
    gobj_loop_timer_t *cb = gobj_loop_timer_new(on_cb_set, NULL);
    gobj_loop_timer_start(cb, 1, false);
    run_for(60);
    T_EQ_INT(total_ticks, 4);
    gobj_loop_timer_free(cb);
    T_EQ_INT(gobj_write_attr(t, "periodic", json_true()), 0); /* idle: recorded */
    cb = gobj_loop_timer_new(on_cb_restart, NULL);
    gobj_loop_timer_start(cb, 1, false);
    reset(M_COUNT, 3);
    run_until_stopped("restarted from a loop callback");
    T_EQ_INT(total_ticks, 3);
    gobj_loop_timer_free(cb);
    T_EQ_INT(nested, 0);

    /* From the subscriber's own EV_TIMER_TIMEOUT: a 1 ms re-arm of a
     * one-shot, then a stop and start of a periodic timer. */
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i, s:b}", "msec", 1, "periodic", 0),
                             owner),
             0);
    reset(M_REARM_1MS, 5);
    run_until_stopped("re-armed with 1 ms from its own timeout");
    T_EQ_INT(total_ticks, 5);
    T_EQ_INT(nested, 0);
    T_EQ_INT(gobj_send_event(t, EV_SET_TIMER, json_pack("{s:i, s:b}", "msec", 2, "periodic", 1),
                             owner),
             0);
    reset(M_RESTART, 5);
    run_until_stopped("restarted from its own timeout");
    T_EQ_INT(total_ticks, 5);
    T_EQ_INT(nested, 0);
    T_ASSERT(gobj_in_this_state(t, ST_ARMED));
    T_EQ_INT(gobj_read_int(t, "n_timeouts"), 17);
    gobj_destroy(owner);
}

int main(void)
{
    alarm(60);
    t_init();
    T_EQ_INT(gobj_loop_init(), 0);
    test_registration();
    owner_gc = gclass_register(&owner_def);
    T_ASSERT(owner_gc != NULL);

    test_periodic();
    test_one_shot();
    test_stop_event();
    test_gobj_stop_inside();
    test_destroy_inside();
    test_set_timer();
    test_set_timer_not_running();
    test_subscriber_attr();
    test_write_at_run_time();
    test_destroy_armed();
    test_arm_failure_disarms();
    test_no_timeout_inside_calls();

    T_EQ_INT(gobj_live_count(), 0);
    gobj_loop_free();
    return t_done();
}
