/*
 * test_hsm_observe.c - pinning cases 22 to 25 of the hierarchical-state
 * semantics (doc/manual-runtime.md chapter 6): what a gobj's state reads as
 * inside an action, the checks of gclass tables at registration, and the
 * order of flat dispatch.  The fixture is test_hsm.c's (hsm_fixture.h).
 */
#include <stdarg.h>

#include "testlib.h"

#include "hsm_fixture.h"

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/
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
    if (!hsm_fixture_register())
        return t_done();
    case_22_observability();
    case_23_build_checks();
    case_24_flat_order();
    case_25_flat_rest();
    return t_done();
}
