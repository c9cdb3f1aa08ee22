/*
 * dispatch.c - the cost of one gobj_send_event in four scenarios.
 *
 *   dispatch SCENARIO N     send N events, print "SCENARIO ns_per_event"
 *   SCENARIO: flat-internal, flat-transition, hsm-internal-bubbled,
 *             hsm-cross-branch, or all.
 *
 * bench/run-dispatch counts instructions per event with callgrind by
 * running each scenario at two sizes and dividing the difference, which
 * cancels the set-up cost exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ginsfsm.h>

GOBJ_DEFINE_EVENT(EV_B_PING);
GOBJ_DEFINE_EVENT(EV_B_FLIP);
GOBJ_DEFINE_EVENT(EV_B_GO);
GOBJ_DEFINE_STATE(ST_B_A);
GOBJ_DEFINE_STATE(ST_B_B);
GOBJ_DEFINE_STATE(ST_B_TOP1);
GOBJ_DEFINE_STATE(ST_B_LEAF1);
GOBJ_DEFINE_STATE(ST_B_TOP2);
GOBJ_DEFINE_STATE(ST_B_LEAF2);

static volatile long sink;

static int ac_count(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    sink++;
    return 0;
}

/* Flat: PING is internal in both states, FLIP toggles A <-> B. */
static const gobj_row_t flat_a[] = {
    GOBJ_ROW(EV_B_PING, ac_count, NULL),
    GOBJ_ROW(EV_B_FLIP, ac_count, ST_B_B),
    {0},
};
static const gobj_row_t flat_b[] = {
    GOBJ_ROW(EV_B_PING, ac_count, NULL),
    GOBJ_ROW(EV_B_FLIP, ac_count, ST_B_A),
    {0},
};
static const gobj_event_def_t events[] = {
    {EV_B_PING, GOBJ_EV_IN, "{}"},
    {EV_B_FLIP, GOBJ_EV_IN, "{}"},
    {EV_B_GO, GOBJ_EV_IN, "{}"},
    {0},
};
static const gobj_row_t flat_go[] = {
    GOBJ_ROW(EV_B_GO, ac_count, NULL),
    {0},
};
static const gobj_state_def_t flat_states_go[] = {
    GOBJ_STATE(ST_B_A, flat_a),
    GOBJ_STATE(ST_B_B, flat_b),
    GOBJ_STATE(ST_B_TOP1, flat_go),
    {0},
};
static const gclass_def_t flat_gclass = {
    .name = "BenchFlat",
    .states = flat_states_go,
    .events = events,
};

/* Hierarchical: TOP1 { LEAF1 }, TOP2 { LEAF2 }.  PING is handled by the
 * superstate (bubbled one level); GO crosses branches LEAF1 <-> LEAF2. */
static void hook(gobj_t *gobj)
{
    (void)gobj;
}
static const gobj_row_t h_top1[] = {
    GOBJ_ROW(EV_B_PING, ac_count, NULL),
    GOBJ_ROW(EV_B_GO, ac_count, ST_B_TOP2),
    {0},
};
static const gobj_row_t h_top2[] = {
    GOBJ_ROW(EV_B_PING, ac_count, NULL),
    GOBJ_ROW(EV_B_GO, ac_count, ST_B_LEAF1),
    {0},
};
static const gobj_row_t h_leaf[] = {
    GOBJ_ROW(EV_B_FLIP, ac_count, NULL),
    {0},
};
static const gobj_state_def_t h_states[] = {
    {ST_B_TOP1, h_top1, NULL, ST_B_LEAF1, hook, hook},
    {ST_B_LEAF1, h_leaf, ST_B_TOP1, NULL, hook, hook},
    {ST_B_TOP2, h_top2, NULL, ST_B_LEAF2, hook, hook},
    {ST_B_LEAF2, h_leaf, ST_B_TOP2, NULL, hook, hook},
    {0},
};
static const gclass_def_t hsm_gclass = {
    .name = "BenchHsm",
    .states = h_states,
    .events = events,
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(const char *scenario, gobj_t *flat, gobj_t *hsm, long n)
{
    gobj_t *g = flat;
    gobj_event_t ev = EV_B_PING;
    if (strcmp(scenario, "flat-internal") == 0) {
    } else if (strcmp(scenario, "flat-transition") == 0) {
        ev = EV_B_FLIP;
    } else if (strcmp(scenario, "hsm-internal-bubbled") == 0) {
        g = hsm;
    } else if (strcmp(scenario, "hsm-cross-branch") == 0) {
        g = hsm;
        ev = EV_B_GO;
    } else {
        fprintf(stderr, "dispatch: unknown scenario '%s'\n", scenario);
        exit(2);
    }
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        gobj_send_event(g, ev, NULL, NULL);
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dispatch SCENARIO|all N\n");
        return 2;
    }
    long n = atol(argv[2]);
    gobj_log_set_level(GOBJ_LOG_WARN);
    gclass_t *fg = gclass_register(&flat_gclass);
    gclass_t *hg = gclass_register(&hsm_gclass);
    gobj_t *flat = gobj_create("flat", fg, NULL, NULL);
    gobj_t *hsm = gobj_create("hsm", hg, NULL, NULL);
    if (!flat || !hsm)
        return 1;
    const char *all[] = {"flat-internal", "flat-transition", "hsm-internal-bubbled",
                         "hsm-cross-branch"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(argv[1], "all") != 0 && strcmp(argv[1], all[i]) != 0)
            continue;
        run(all[i], flat, hsm, n / 10 + 1); /* warm up */
        printf("%s %.2f\n", all[i], run(all[i], flat, hsm, n));
    }
    gobj_destroy(flat);
    gobj_destroy(hsm);
    gclass_unregister_all();
    return 0;
}
