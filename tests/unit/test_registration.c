/*
 * test_registration.c - gclass_register() refuses every invalid table with
 * exactly one error that names the gclass and the culprit, and accepts the
 * valid ones; gclass_find, gclass_is_hierarchical and gclass_to_dot.
 *
 * The invalid machines start with the eight of ginsfsm's test_smachine.py
 * (FSM_TEST1..8), translated to our table format, then every other refusal
 * of a gclass table (the dispatch contract, doc/manual.md chapter 2, and
 * the rules for nested states of its chapter 6, "Hierarchical states"),
 * then the attribute table checks.
 */
#include <stdarg.h>

#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_PING);
GOBJ_DEFINE_EVENT(EV_PONG);
GOBJ_DEFINE_EVENT(EV_STRAY);
GOBJ_DEFINE_EVENT(EV_OUT_ONLY);
GOBJ_DEFINE_EVENT(EV_IDLE_INPUT);

GOBJ_DEFINE_STATE(ST_ONE);
GOBJ_DEFINE_STATE(ST_TWO);
GOBJ_DEFINE_STATE(ST_UNLISTED);
GOBJ_DEFINE_STATE(ST_TOP);
GOBJ_DEFINE_STATE(ST_INNER_A);
GOBJ_DEFINE_STATE(ST_INNER_B);
GOBJ_DEFINE_STATE(ST_OTHER);
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

/* A state whose descriptor has an empty name. */
static struct gobj_name_s ST_NAMELESS[1] = {{"", 0}};

static int ac_ping(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static int ac_pong(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static void en_top(gobj_t *gobj)
{
}

struct priv {
    int64_t port;
    bool enabled;
    double ratio;
    char *host;
    json_t *extra;
    int small; /* an int, to bind wrongly as GOBJ_ATTR_INT */
};

/*--------------------------------------------------------------------------*
 *  Shared tables
 *--------------------------------------------------------------------------*/
/* The usual event table: two inputs. */
static const gobj_event_def_t ev_ping_pong[] = {
    {EV_PING, GOBJ_EV_IN, "{}"},
    {EV_PONG, GOBJ_EV_IN, "{}"},
    {0},
};

/*  ST_ONE --EV_PING--> ST_TWO --EV_PONG--> ST_ONE */
static const gobj_row_t one_ok[] = {
    GOBJ_ROW(EV_PING, ac_ping, ST_TWO),
    {0},
};
static const gobj_row_t two_ok[] = {
    GOBJ_ROW(EV_PONG, ac_pong, ST_ONE),
    {0},
};
static const gobj_row_t none[] = {
    {0},
};
static const gobj_state_def_t flat_ok[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {0},
};

/*  ST_TOP ( ST_INNER_A --EV_PING--> ST_INNER_B ) --EV_PONG--> ST_OTHER --EV_PING--> ST_TOP */
static const gobj_row_t top_rows[] = {
    GOBJ_ROW(EV_PONG, ac_pong, ST_OTHER),
    {0},
};
static const gobj_row_t inner_a_rows[] = {
    GOBJ_ROW(EV_PING, ac_ping, ST_INNER_B),
    {0},
};
static const gobj_row_t other_rows[] = {
    GOBJ_ROW(EV_PING, ac_ping, ST_TOP),
    {0},
};
static const gobj_state_def_t nested_ok[] = {
    {ST_TOP, top_rows, NULL, ST_INNER_A, en_top, NULL},
    {ST_INNER_A, inner_a_rows, ST_TOP, NULL, NULL, NULL},
    {ST_INNER_B, none, ST_TOP, NULL, NULL, NULL},
    {ST_OTHER, other_rows, NULL, NULL, NULL, NULL},
    {0},
};

static gclass_def_t make_def(const char *name, const gobj_state_def_t *states,
                             const gobj_event_def_t *events, const gobj_attr_t *attrs)
{
    gclass_def_t def = {
        .name = name,
        .description = "registration test",
        .states = states,
        .events = events,
        .attrs = attrs,
        .priv_size = sizeof(struct priv),
    };
    return def;
}

/* Register def, expect a refusal with exactly one error record, and expect
 * each of the NULL-terminated needles (gclass name, culprit names) to be in
 * that record. */
static void expect_refused_(int line, const gclass_def_t *def, ...)
{
    int failures = t_failures;
    gclass_t *before = gclass_find(def->name);
    t_log_clear();
    T_ASSERT(gclass_register(def) == NULL);
    T_EQ_INT(t_log_find("error", NULL), 1);
    va_list ap;
    va_start(ap, def);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
        T_EQ_INT(t_log_find("error", needle), 1);
    va_end(ap);
    /* A refused gclass leaves the registry as it was. */
    T_ASSERT(gclass_find(def->name) == before);
    if (t_failures != failures) {
        fprintf(stderr, "  (case at line %d, gclass \"%s\")\n", line,
                def->name ? def->name : "(null)");
        for (size_t i = 0; i < t_log_count(); i++)
            fprintf(stderr, "  log: %s\n", t_log_text(i));
    }
}
#define expect_refused(def, ...) expect_refused_(__LINE__, def, __VA_ARGS__)

/*--------------------------------------------------------------------------*
 *  ginsfsm's eight invalid machines
 *--------------------------------------------------------------------------*/
/* FSM_TEST1: the machine uses a state that is not in the state list.  Our
 * states are the list, so a state is "used" by naming it as a parent. */
static const gobj_state_def_t g1_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, ST_UNLISTED, NULL, NULL, NULL},
    {0},
};
/* FSM_TEST3: the state list has a duplicate. */
static const gobj_state_def_t g3_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, none, NULL, NULL, NULL, NULL},
    {0},
};
/* FSM_TEST4: a row names an event that is not in the event list. */
static const gobj_row_t g4_one[] = {
    GOBJ_ROW(EV_STRAY, ac_ping, ST_TWO),
    GOBJ_ROW(EV_PING, ac_ping, ST_TWO),
    {0},
};
static const gobj_state_def_t g4_states[] = {
    {ST_ONE, g4_one, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {0},
};
/* FSM_TEST5: the event list has an input that no state handles. */
static const gobj_event_def_t g5_events[] = {
    {EV_PING, GOBJ_EV_IN, "{}"},
    {EV_PONG, GOBJ_EV_IN, "{}"},
    {EV_IDLE_INPUT, GOBJ_EV_IN, "{}"},
    {0},
};
/* FSM_TEST6: the event list has a duplicate. */
static const gobj_event_def_t g6_events[] = {
    {EV_PING, GOBJ_EV_IN, "{}"},
    {EV_PONG, GOBJ_EV_IN, "{}"},
    {EV_PONG, GOBJ_EV_IN, "{}"},
    {0},
};
/* FSM_TEST7: a row's next state is not in the state list. */
static const gobj_row_t g7_two[] = {
    GOBJ_ROW(EV_PONG, ac_pong, ST_UNLISTED),
    {0},
};
static const gobj_state_def_t g7_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, g7_two, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t empty_states[] = {
    {0},
};

static void test_ginsfsm_eight(void)
{
    gclass_def_t def;

    def = make_def("RegG1UnlistedState", g1_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegG1UnlistedState", "ST_UNLISTED", NULL);

    /* FSM_TEST2 (a listed state without a machine entry) cannot be written:
     * each state entry carries its own rows.  What is left of it is a
     * machine with no states at all, which ginsfsm refuses too. */
    def = make_def("RegG2NoStates", empty_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegG2NoStates", NULL);
    def = make_def("RegG2NullStates", NULL, ev_ping_pong, NULL);
    expect_refused(&def, "RegG2NullStates", NULL);

    def = make_def("RegG3DuplicateState", g3_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegG3DuplicateState", "ST_TWO", NULL);

    def = make_def("RegG4UnknownEvent", g4_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegG4UnknownEvent", "EV_STRAY", "ST_ONE", NULL);

    def = make_def("RegG5UnhandledInput", flat_ok, g5_events, NULL);
    expect_refused(&def, "RegG5UnhandledInput", "EV_IDLE_INPUT", NULL);

    def = make_def("RegG6DuplicateEvent", flat_ok, g6_events, NULL);
    expect_refused(&def, "RegG6DuplicateEvent", "EV_PONG", NULL);

    def = make_def("RegG7UnknownNext", g7_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegG7UnknownNext", "ST_UNLISTED", "ST_TWO", NULL);

    /* FSM_TEST8 (an action that is not callable) is refused by the C
     * compiler: gobj_row_t.action is a function pointer.  A row with no
     * action at all is valid and must be accepted. */
    static const gobj_row_t g8_one[] = {
        {EV_PING, NULL, ST_TWO, NULL},
        {0},
    };
    static const gobj_row_t g8_two[] = {
        {EV_PONG, NULL, NULL, NULL},
        {0},
    };
    static const gobj_state_def_t g8_states[] = {
        {ST_ONE, g8_one, NULL, NULL, NULL, NULL},
        {ST_TWO, g8_two, NULL, NULL, NULL, NULL},
        {0},
    };
    static const gclass_def_t g8 = {
        .name = "RegG8NoActions",
        .description = "rows without actions",
        .states = g8_states,
        .events = ev_ping_pong,
        .priv_size = sizeof(struct priv),
    };
    t_log_clear();
    T_ASSERT(gclass_register(&g8) != NULL);
    T_EQ_INT(t_log_find("error", NULL), 0);
}

/*--------------------------------------------------------------------------*
 *  The other machine refusals
 *--------------------------------------------------------------------------*/
/* An event that is in the table but only as an output. */
static const gobj_event_def_t out_only_events[] = {
    {EV_PING, GOBJ_EV_IN, "{}"},
    {EV_PONG, GOBJ_EV_IN, "{}"},
    {EV_OUT_ONLY, GOBJ_EV_OUT, "{}"},
    {0},
};
static const gobj_row_t out_only_two[] = {
    GOBJ_ROW(EV_PONG, ac_pong, ST_ONE),
    GOBJ_ROW(EV_OUT_ONLY, ac_pong, NULL),
    {0},
};
static const gobj_state_def_t out_only_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, out_only_two, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_row_t dup_row_one[] = {
    GOBJ_ROW(EV_PING, ac_ping, ST_TWO),
    GOBJ_ROW(EV_PONG, ac_pong, NULL),
    GOBJ_ROW(EV_PING, ac_pong, NULL),
    {0},
};
static const gobj_state_def_t dup_row_states[] = {
    {ST_ONE, dup_row_one, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t cycle_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {ST_INNER_A, none, ST_INNER_B, ST_INNER_B, NULL, NULL},
    {ST_INNER_B, none, ST_INNER_A, ST_INNER_A, NULL, NULL},
    {0},
};
static const gobj_row_t l0_rows[] = {
    GOBJ_ROW(EV_PING, ac_ping, NULL),
    GOBJ_ROW(EV_PONG, ac_pong, NULL),
    {0},
};
/* Ten levels: deeper than 8 however the depth is counted. */
static const gobj_state_def_t too_deep_states[] = {
    {ST_L0, l0_rows, NULL, ST_L1, NULL, NULL},
    {ST_L1, none, ST_L0, ST_L2, NULL, NULL},
    {ST_L2, none, ST_L1, ST_L3, NULL, NULL},
    {ST_L3, none, ST_L2, ST_L4, NULL, NULL},
    {ST_L4, none, ST_L3, ST_L5, NULL, NULL},
    {ST_L5, none, ST_L4, ST_L6, NULL, NULL},
    {ST_L6, none, ST_L5, ST_L7, NULL, NULL},
    {ST_L7, none, ST_L6, ST_L8, NULL, NULL},
    {ST_L8, none, ST_L7, ST_L9, NULL, NULL},
    {ST_L9, none, ST_L8, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t no_initial_states[] = {
    {ST_TOP, top_rows, NULL, NULL, NULL, NULL},
    {ST_INNER_A, inner_a_rows, ST_TOP, NULL, NULL, NULL},
    {ST_INNER_B, none, ST_TOP, NULL, NULL, NULL},
    {ST_OTHER, other_rows, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t initial_outside_states[] = {
    {ST_TOP, top_rows, NULL, ST_OTHER, NULL, NULL},
    {ST_INNER_A, inner_a_rows, ST_TOP, NULL, NULL, NULL},
    {ST_INNER_B, none, ST_TOP, NULL, NULL, NULL},
    {ST_OTHER, other_rows, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t initial_on_leaf_states[] = {
    {ST_TOP, top_rows, NULL, ST_INNER_A, NULL, NULL},
    {ST_INNER_A, inner_a_rows, ST_TOP, NULL, NULL, NULL},
    {ST_INNER_B, none, ST_TOP, NULL, NULL, NULL},
    {ST_OTHER, other_rows, NULL, ST_INNER_A, NULL, NULL},
    {0},
};
static const gobj_state_def_t unknown_initial_states[] = {
    {ST_TOP, top_rows, NULL, ST_UNLISTED, NULL, NULL},
    {ST_INNER_A, inner_a_rows, ST_TOP, NULL, NULL, NULL},
    {ST_INNER_B, none, ST_TOP, NULL, NULL, NULL},
    {ST_OTHER, other_rows, NULL, NULL, NULL, NULL},
    {0},
};
static const gobj_state_def_t nameless_state_states[] = {
    {ST_ONE, one_ok, NULL, NULL, NULL, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {ST_NAMELESS, none, NULL, NULL, NULL, NULL},
    {0},
};

static void test_machine_refusals(void)
{
    gclass_def_t def;

    def = make_def("RegOutputInRow", out_only_states, out_only_events, NULL);
    expect_refused(&def, "RegOutputInRow", "EV_OUT_ONLY", "ST_TWO", NULL);

    def = make_def("RegDuplicateRow", dup_row_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegDuplicateRow", "EV_PING", "ST_ONE", NULL);

    def = make_def("RegParentCycle", cycle_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegParentCycle", NULL);
    T_ASSERT(t_log_find("error", "ST_INNER_A") + t_log_find("error", "ST_INNER_B") >= 1);

    def = make_def("RegTooDeep", too_deep_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegTooDeep", NULL);
    T_ASSERT(t_log_find("error", "ST_L8") + t_log_find("error", "ST_L9") >= 1);

    def = make_def("RegNoInitial", no_initial_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegNoInitial", "ST_TOP", NULL);

    def = make_def("RegInitialOutside", initial_outside_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegInitialOutside", "ST_TOP", "ST_OTHER", NULL);

    def = make_def("RegInitialOnLeaf", initial_on_leaf_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegInitialOnLeaf", "ST_OTHER", NULL);

    def = make_def("RegUnknownInitial", unknown_initial_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegUnknownInitial", "ST_TOP", "ST_UNLISTED", NULL);

    def = make_def("RegNamelessState", nameless_state_states, ev_ping_pong, NULL);
    expect_refused(&def, "RegNamelessState", NULL);
}

/*--------------------------------------------------------------------------*
 *  Names of gclasses
 *--------------------------------------------------------------------------*/
static void test_gclass_names(void)
{
    gclass_def_t def;

    def = make_def(NULL, flat_ok, ev_ping_pong, NULL);
    expect_refused(&def, NULL);
    def = make_def("", flat_ok, ev_ping_pong, NULL);
    expect_refused(&def, NULL);
    T_ASSERT(gclass_find("") == NULL);
    T_ASSERT(gclass_find(NULL) == NULL);

    static const gclass_def_t first = {
        .name = "RegTwice",
        .description = "registered once",
        .states = flat_ok,
        .events = ev_ping_pong,
        .priv_size = sizeof(struct priv),
    };
    t_log_clear();
    gclass_t *gc = gclass_register(&first);
    T_ASSERT(gc != NULL);
    def = make_def("RegTwice", nested_ok, ev_ping_pong, NULL);
    expect_refused(&def, "RegTwice", NULL);
    /* The first registration is untouched. */
    T_ASSERT(gclass_find("RegTwice") == gc);
    T_ASSERT(gclass_def(gc) == &first);
    T_ASSERT(!gclass_is_hierarchical(gc));
}

/*--------------------------------------------------------------------------*
 *  Attribute tables
 *--------------------------------------------------------------------------*/
static const gobj_attr_t attrs_ok[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, struct priv, port, "7000", GOBJ_RD | GOBJ_WR, "port"),
    GOBJ_ATTR("enabled", GOBJ_ATTR_BOOL, struct priv, enabled, "true", GOBJ_RD, "on/off"),
    GOBJ_ATTR("ratio", GOBJ_ATTR_REAL, struct priv, ratio, "0.5", GOBJ_RD, "a ratio"),
    GOBJ_ATTR("host", GOBJ_ATTR_STRING, struct priv, host, "\"localhost\"", GOBJ_RD, "host"),
    GOBJ_ATTR("extra", GOBJ_ATTR_JSON, struct priv, extra, "{}", GOBJ_RD, "anything"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_unknown_type[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, struct priv, port, "7000", GOBJ_RD, "port"),
    {"weird", (gobj_attr_type_t)99, NULL, GOBJ_RD, offsetof(struct priv, port), sizeof(int64_t),
     "no such type"},
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_bad_size[] = {
    GOBJ_ATTR("small", GOBJ_ATTR_INT, struct priv, small, "1", GOBJ_RD, "an int, not int64_t"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_bad_json[] = {
    GOBJ_ATTR("extra", GOBJ_ATTR_JSON, struct priv, extra, "{nope", GOBJ_RD, "not JSON"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_wrong_type[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, struct priv, port, "\"seven\"", GOBJ_RD, "a string"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_wrong_type_bool[] = {
    GOBJ_ATTR("enabled", GOBJ_ATTR_BOOL, struct priv, enabled, "1", GOBJ_RD, "an int"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t attrs_duplicate[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, struct priv, port, "7000", GOBJ_RD, "port"),
    GOBJ_ATTR("host", GOBJ_ATTR_STRING, struct priv, host, NULL, GOBJ_RD, "host"),
    GOBJ_ATTR("port", GOBJ_ATTR_REAL, struct priv, ratio, "1.0", GOBJ_RD, "port again"),
    GOBJ_ATTR_END,
};

static void test_attr_refusals(void)
{
    gclass_def_t def;

    def = make_def("RegAttrsOk", flat_ok, ev_ping_pong, attrs_ok);
    t_log_clear();
    gclass_t *gc = gclass_register(&def);
    T_ASSERT(gc != NULL);
    T_EQ_INT(t_log_find("error", NULL), 0);
    T_ASSERT(gclass_find_attr(gc, "port") == &attrs_ok[0]);
    T_ASSERT(gclass_find_attr(gc, "host") == &attrs_ok[3]);
    T_ASSERT(gclass_find_attr(gc, "nope") == NULL);

    def = make_def("RegAttrUnknownType", flat_ok, ev_ping_pong, attrs_unknown_type);
    expect_refused(&def, "RegAttrUnknownType", "weird", NULL);

    def = make_def("RegAttrBadSize", flat_ok, ev_ping_pong, attrs_bad_size);
    expect_refused(&def, "RegAttrBadSize", "small", NULL);

    def = make_def("RegAttrBadJson", flat_ok, ev_ping_pong, attrs_bad_json);
    expect_refused(&def, "RegAttrBadJson", "extra", NULL);

    def = make_def("RegAttrWrongType", flat_ok, ev_ping_pong, attrs_wrong_type);
    expect_refused(&def, "RegAttrWrongType", "port", NULL);

    def = make_def("RegAttrWrongTypeBool", flat_ok, ev_ping_pong, attrs_wrong_type_bool);
    expect_refused(&def, "RegAttrWrongTypeBool", "enabled", NULL);

    def = make_def("RegAttrDuplicate", flat_ok, ev_ping_pong, attrs_duplicate);
    expect_refused(&def, "RegAttrDuplicate", "port", NULL);
}

/*--------------------------------------------------------------------------*
 *  Valid gclasses: find, hierarchical, DOT
 *--------------------------------------------------------------------------*/
static const gclass_def_t flat_def = {
    .name = "RegFlat",
    .description = "a valid flat machine",
    .states = flat_ok,
    .events = ev_ping_pong,
    .priv_size = sizeof(struct priv),
};
static const gclass_def_t nested_def = {
    .name = "RegNested",
    .description = "a valid nested machine",
    .states = nested_ok,
    .events = ev_ping_pong,
    .priv_size = sizeof(struct priv),
};
/* Hooks alone make a gclass hierarchical. */
static const gobj_state_def_t hooked_states[] = {
    {ST_ONE, one_ok, NULL, NULL, en_top, NULL},
    {ST_TWO, two_ok, NULL, NULL, NULL, NULL},
    {0},
};
static const gclass_def_t hooked_def = {
    .name = "RegHooked",
    .description = "flat shape with a hook",
    .states = hooked_states,
    .events = ev_ping_pong,
    .priv_size = sizeof(struct priv),
};

static void test_valid(void)
{
    t_log_clear();
    gclass_t *flat = gclass_register(&flat_def);
    gclass_t *nested = gclass_register(&nested_def);
    gclass_t *hooked = gclass_register(&hooked_def);
    T_ASSERT(flat && nested && hooked);
    T_EQ_INT(t_log_find("error", NULL), 0);
    if (!(flat && nested && hooked))
        return;

    T_ASSERT(gclass_find("RegFlat") == flat);
    T_ASSERT(gclass_find("RegNested") == nested);
    T_ASSERT(gclass_find("RegNoSuchThing") == NULL);
    T_EQ_STR(gclass_name(flat), "RegFlat");
    T_ASSERT(gclass_def(flat) == &flat_def);
    T_ASSERT(!gclass_is_hierarchical(flat));
    T_ASSERT(gclass_is_hierarchical(nested));
    T_ASSERT(gclass_is_hierarchical(hooked));

    char *dot = gclass_to_dot(flat);
    T_ASSERT(dot != NULL);
    if (dot) {
        T_CONTAINS(dot, "digraph");
        T_CONTAINS(dot, "ST_ONE");
        T_CONTAINS(dot, "ST_TWO");
        T_CONTAINS(dot, "EV_PING");
        T_CONTAINS(dot, "EV_PONG");
        T_ASSERT(!strstr(dot, "subgraph cluster") && !strstr(dot, "subgraph \"cluster"));
        free(dot);
    }

    dot = gclass_to_dot(nested);
    T_ASSERT(dot != NULL);
    if (dot) {
        T_CONTAINS(dot, "digraph");
        /* Graphviz draws a subgraph as a box when its ID starts with
         * "cluster", quoted or not. */
        T_ASSERT(strstr(dot, "subgraph cluster") || strstr(dot, "subgraph \"cluster"));
        T_CONTAINS(dot, "ST_TOP");
        T_CONTAINS(dot, "ST_INNER_A");
        T_CONTAINS(dot, "ST_INNER_B");
        T_CONTAINS(dot, "ST_OTHER");
        T_CONTAINS(dot, "EV_PING");
        T_CONTAINS(dot, "EV_PONG");
        free(dot);
    }

    /* Both run: the nested one starts in its initial leaf. */
    gobj_t *a = gobj_create("a", flat, NULL, NULL);
    gobj_t *b = gobj_create("b", nested, NULL, NULL);
    T_ASSERT(a && b);
    T_ASSERT(gobj_current_state(a) == ST_ONE);
    T_ASSERT(gobj_current_state(b) == ST_INNER_A);
    gobj_destroy(a);
    gobj_destroy(b);
}

int main(void)
{
    t_init();
    test_valid();
    test_ginsfsm_eight();
    test_machine_refusals();
    test_gclass_names();
    test_attr_refusals();
    return t_done();
}
