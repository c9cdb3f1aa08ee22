/*
 * test_attrs.c - typed attributes (doc/manual-runtime.md chapter 5): binding to the private
 * struct, defaults, values given at create, run-time reads and writes,
 * errors, statistics and the global "GClass.attr" / "name.attr" values.
 *
 * Decisions pinned here where the design leaves room:
 *   - an int attribute refuses a real, even 1.5 (no silent truncation);
 *   - a real attribute accepts a JSON integer (3 means 3.0);
 *   - STATS and VOLATILE attributes cannot be given at create;
 *   - an attribute without GOBJ_RD can be configured but not read back.
 */
#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_AT_NOP);
GOBJ_DEFINE_STATE(ST_AT_IDLE);

/*--------------------------------------------------------------------------*
 *  Attrs: one attribute of every type and flag
 *--------------------------------------------------------------------------*/
typedef struct {
    bool flag;
    int64_t count;
    double ratio;
    char *label;
    json_t *extra;
    char *nothing;    /* string with a NULL default */
    int64_t fixed;    /* readable, not writable */
    int64_t secret;   /* configurable, not readable */
    int64_t rx_bytes; /* STATS */
    int64_t tx_bytes; /* STATS */
    char *peername;   /* VOLATILE */
} at_priv_t;

static const gobj_attr_t at_attrs[] = {
    GOBJ_ATTR("flag", GOBJ_ATTR_BOOL, at_priv_t, flag, "true", GOBJ_RD | GOBJ_WR, "a bool"),
    GOBJ_ATTR("count", GOBJ_ATTR_INT, at_priv_t, count, "42", GOBJ_RD | GOBJ_WR, "an int"),
    GOBJ_ATTR("ratio", GOBJ_ATTR_REAL, at_priv_t, ratio, "0.5", GOBJ_RD | GOBJ_WR, "a real"),
    GOBJ_ATTR("label", GOBJ_ATTR_STRING, at_priv_t, label, "\"hello\"", GOBJ_RD | GOBJ_WR,
              "a string"),
    GOBJ_ATTR("extra", GOBJ_ATTR_JSON, at_priv_t, extra, "{\"a\": 1}", GOBJ_RD | GOBJ_WR,
              "any json"),
    GOBJ_ATTR("nothing", GOBJ_ATTR_STRING, at_priv_t, nothing, NULL, GOBJ_RD | GOBJ_WR,
              "a string that defaults to null"),
    GOBJ_ATTR("fixed", GOBJ_ATTR_INT, at_priv_t, fixed, "7", GOBJ_RD, "read-only at run time"),
    GOBJ_ATTR("secret", GOBJ_ATTR_INT, at_priv_t, secret, "0", 0, "configurable, not readable"),
    GOBJ_ATTR("rx_bytes", GOBJ_ATTR_INT, at_priv_t, rx_bytes, "0", GOBJ_RD | GOBJ_STATS,
              "bytes received"),
    GOBJ_ATTR("tx_bytes", GOBJ_ATTR_INT, at_priv_t, tx_bytes, "0", GOBJ_RD | GOBJ_STATS,
              "bytes sent"),
    GOBJ_ATTR("peername", GOBJ_ATTR_STRING, at_priv_t, peername, NULL, GOBJ_RD | GOBJ_VOLATILE,
              "run-time state"),
    GOBJ_ATTR_END,
};

static int g_create_calls;
static int g_writing_calls;
static char g_written[64];
static const gobj_t *g_written_gobj;

static int at_mt_create(gobj_t *gobj)
{
    (void)gobj;
    g_create_calls++;
    return 0;
}

static void at_mt_writing(gobj_t *gobj, const char *attr)
{
    g_writing_calls++;
    g_written_gobj = gobj;
    snprintf(g_written, sizeof g_written, "%s", attr ? attr : "(null)");
}

static const gobj_row_t at_st_idle[] = {
    GOBJ_ROW(EV_AT_NOP, NULL, NULL),
    {NULL},
};
static const gobj_state_def_t at_states[] = {
    {.state = ST_AT_IDLE, .rows = at_st_idle},
    {NULL},
};
static const gobj_event_def_t at_events[] = {
    {EV_AT_NOP, GOBJ_EV_IN, "{}"},
    {NULL},
};
static const gclass_def_t at_def = {
    .name = "Attrs",
    .description = "one attribute of every type and flag",
    .states = at_states,
    .events = at_events,
    .attrs = at_attrs,
    .methods = {.mt_create = at_mt_create, .mt_writing = at_mt_writing},
    .priv_size = sizeof(at_priv_t),
};

/*--------------------------------------------------------------------------*
 *  Req: a required attribute
 *--------------------------------------------------------------------------*/
typedef struct {
    int64_t port;
    char *host;
} req_priv_t;

static const gobj_attr_t req_attrs[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, req_priv_t, port, NULL, GOBJ_RD | GOBJ_REQUIRED, "port"),
    GOBJ_ATTR("host", GOBJ_ATTR_STRING, req_priv_t, host, "\"localhost\"", GOBJ_RD, "host"),
    GOBJ_ATTR_END,
};
static const gclass_def_t req_def = {
    .name = "Req",
    .description = "a required attribute",
    .states = at_states,
    .events = at_events,
    .attrs = req_attrs,
    .priv_size = sizeof(req_priv_t),
};

static gclass_t *g_at_gc;
static gclass_t *g_req_gc;

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
static at_priv_t *ap(gobj_t *gobj)
{
    return gobj_priv(gobj);
}

/* kw from JSON text (a test typo must fail loudly, not pass NULL). */
static json_t *J(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    if (!v)
        fprintf(stderr, "bad JSON in test: %s: %s\n", text, err.text);
    return v;
}

/* Is there one error record that contains every needle? */
static bool error_names_all(const char *const *needles)
{
    for (size_t i = 0; i < t_log_count(); i++) {
        const char *rec = t_log_text(i);
        bool all = strstr(rec, "\"level\":\"error\"") != NULL;
        for (size_t k = 0; all && needles[k]; k++)
            all = strstr(rec, needles[k]) != NULL;
        if (all)
            return true;
    }
    return false;
}

/* The create must fail, log one error naming every needle, leave no gobj
 * and release its kw. */
#define EXPECT_CREATE_FAILS(name, gc, kw_text, ...)                         \
    do {                                                                    \
        static const char *const needles_[] = {__VA_ARGS__, NULL};          \
        size_t live_ = gobj_live_count();                                   \
        long json_ = t_json_live;                                           \
        t_log_clear();                                                      \
        gobj_t *g_ = gobj_create((name), (gc), J(kw_text), NULL);           \
        T_ASSERT(g_ == NULL);                                               \
        if (g_)                                                             \
            gobj_destroy(g_);                                               \
        T_EQ_INT(gobj_live_count(), live_);                                 \
        T_EQ_INT(t_json_live, json_);                                       \
        T_EQ_INT(t_log_find("error", NULL), 1); /* logged once */           \
        t_checks++;                                                         \
        if (!error_names_all(needles_))                                     \
            T_FAIL_("create %s with %s: no error record naming all of the " \
                    "expected words (first: %s)",                           \
                    (name), (kw_text), needles_[0]);                        \
    } while (0)

#define REQUIRE(cond)   \
    do {                \
        T_ASSERT(cond); \
        if (!(cond))    \
            return;     \
    } while (0)

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/

/* Defaults from default_json land in the private struct and read back
 * with the right JSON type. */
static void case_defaults(void)
{
    gobj_t *g = gobj_create("defaults", g_at_gc, NULL, NULL);
    REQUIRE(g);
    at_priv_t *p = ap(g);

    T_ASSERT(p->flag == true);
    T_EQ_INT(p->count, 42);
    T_ASSERT(p->ratio == 0.5);
    T_EQ_STR(p->label, "hello");
    T_ASSERT(json_is_object(p->extra));
    T_EQ_INT(json_integer_value(json_object_get(p->extra, "a")), 1);
    T_ASSERT(p->nothing == NULL);
    T_EQ_INT(p->fixed, 7);
    T_EQ_INT(p->rx_bytes, 0);
    T_ASSERT(p->peername == NULL);

    json_t *v = gobj_read_attr(g, "flag");
    T_ASSERT(json_is_true(v));
    json_decref(v);
    v = gobj_read_attr(g, "count");
    T_ASSERT(json_is_integer(v));
    T_EQ_INT(json_integer_value(v), 42);
    json_decref(v);
    v = gobj_read_attr(g, "ratio");
    T_ASSERT(json_is_real(v) && json_real_value(v) == 0.5);
    json_decref(v);
    v = gobj_read_attr(g, "label");
    T_EQ_STR(json_string_value(v), "hello");
    json_decref(v);
    v = gobj_read_attr(g, "extra");
    json_t *want = J("{\"a\": 1}");
    T_ASSERT(json_equal(v, want));
    json_decref(want);
    json_decref(v);
    v = gobj_read_attr(g, "nothing");
    T_ASSERT(json_is_null(v));
    json_decref(v);

    /* Unknown and unreadable attributes read as NULL. */
    T_ASSERT(gobj_read_attr(g, "nope") == NULL);
    T_ASSERT(gobj_read_attr(g, "secret") == NULL);

    /* The attributes were set before mt_create ran, and mt_writing is for
     * run-time writes only. */
    T_EQ_INT(g_writing_calls, 0);
    gobj_destroy(g);
}

/* Values given at create override the defaults, for every type. */
static void case_kw_at_create(void)
{
    int before = g_create_calls;
    gobj_t *g = gobj_create("kw", g_at_gc,
                            J("{\"flag\": false, \"count\": 9000000000, \"ratio\": 2.25,"
                              " \"label\": \"world\", \"extra\": [1, 2], \"nothing\": \"x\","
                              " \"fixed\": 8, \"secret\": 3}"),
                            NULL);
    REQUIRE(g);
    at_priv_t *p = ap(g);

    T_EQ_INT(g_create_calls, before + 1);
    T_ASSERT(p->flag == false);
    T_EQ_INT(p->count, INT64_C(9000000000));
    T_ASSERT(p->ratio == 2.25);
    T_EQ_STR(p->label, "world");
    T_ASSERT(json_is_array(p->extra) && json_array_size(p->extra) == 2);
    T_EQ_STR(p->nothing, "x");
    T_EQ_INT(p->fixed, 8);
    T_EQ_INT(p->secret, 3);
    T_EQ_INT(g_writing_calls, 0);

    json_t *v = gobj_read_attr(g, "flag");
    T_ASSERT(json_is_false(v));
    json_decref(v);
    v = gobj_read_attr(g, "count");
    T_EQ_INT(json_integer_value(v), INT64_C(9000000000));
    json_decref(v);
    gobj_destroy(g);

    /* A real accepts a JSON integer. */
    g = gobj_create("int_for_real", g_at_gc, J("{\"ratio\": 3}"), NULL);
    T_ASSERT(g != NULL);
    if (g) {
        T_ASSERT(ap(g)->ratio == 3.0);
        v = gobj_read_attr(g, "ratio");
        T_ASSERT(json_is_number(v) && json_number_value(v) == 3.0);
        json_decref(v);
        gobj_destroy(g);
    }

    /* A JSON attribute takes any JSON value. */
    g = gobj_create("json_any", g_at_gc, J("{\"extra\": \"text\"}"), NULL);
    T_ASSERT(g != NULL);
    if (g) {
        T_EQ_STR(json_string_value(ap(g)->extra), "text");
        gobj_destroy(g);
    }
}

/* Wrong types, unknown names, missing REQUIRED, STATS or VOLATILE given at
 * create: the create fails, and the error names the gobj, the attribute,
 * what was expected and what came. */
static void case_create_errors(void)
{
    EXPECT_CREATE_FAILS("bad_count", g_at_gc, "{\"count\": \"abc\"}", "bad_count", "count", "int",
                        "string");
    EXPECT_CREATE_FAILS("bad_real", g_at_gc, "{\"count\": 1.5}", "bad_real", "count", "int",
                        "real");
    EXPECT_CREATE_FAILS("bad_flag", g_at_gc, "{\"flag\": \"yes\"}", "bad_flag", "flag", "bool",
                        "string");
    EXPECT_CREATE_FAILS("bad_label", g_at_gc, "{\"label\": 5}", "bad_label", "label", "string",
                        "int");
    EXPECT_CREATE_FAILS("bad_ratio", g_at_gc, "{\"ratio\": \"x\"}", "bad_ratio", "ratio", "real",
                        "string");
    EXPECT_CREATE_FAILS("unknown", g_at_gc, "{\"count\": 1, \"nope\": 1}", "unknown", "nope");
    EXPECT_CREATE_FAILS("stats", g_at_gc, "{\"rx_bytes\": 5}", "stats", "rx_bytes");
    EXPECT_CREATE_FAILS("volatile", g_at_gc, "{\"peername\": \"1.2.3.4:5\"}", "volatile",
                        "peername");
    EXPECT_CREATE_FAILS("req1", g_req_gc, "{\"host\": \"h\"}", "req1", "port");
    /* A kw that is not an object at all. */
    EXPECT_CREATE_FAILS("notobj", g_at_gc, "[1, 2]", "notobj");

    gobj_t *g = gobj_create("req2", g_req_gc, J("{\"port\": 80}"), NULL);
    T_ASSERT(g != NULL);
    if (g) {
        T_EQ_INT(((req_priv_t *)gobj_priv(g))->port, 80);
        T_EQ_STR(((req_priv_t *)gobj_priv(g))->host, "localhost");
        gobj_destroy(g);
    }
}

/* gobj_write_attr: WR required, type checked, mt_writing called with the
 * name, value stolen on every path. */
static void case_write_attr(void)
{
    gobj_t *g = gobj_create("writer", g_at_gc, NULL, NULL);
    REQUIRE(g);
    at_priv_t *p = ap(g);
    long json_before = t_json_live;
    g_writing_calls = 0;

    T_EQ_INT(gobj_write_attr(g, "fixed", json_integer(1)), GOBJ_EACCES);
    T_EQ_INT(p->fixed, 7);
    T_EQ_INT(gobj_write_attr(g, "rx_bytes", json_integer(1)), GOBJ_EACCES);
    T_EQ_INT(gobj_write_attr(g, "peername", json_string("x")), GOBJ_EACCES);
    T_EQ_INT(gobj_write_attr(g, "count", json_string("x")), GOBJ_ETYPE);
    T_EQ_INT(gobj_write_attr(g, "count", json_real(1.5)), GOBJ_ETYPE);
    T_EQ_INT(gobj_write_attr(g, "flag", json_integer(1)), GOBJ_ETYPE);
    T_EQ_INT(gobj_write_attr(g, "label", json_integer(1)), GOBJ_ETYPE);
    T_EQ_INT(p->count, 42);
    T_ASSERT(p->flag == true);
    T_EQ_STR(p->label, "hello");
    T_EQ_INT(gobj_write_attr(g, "nope", json_integer(1)), GOBJ_ENOENT);
    T_EQ_INT(g_writing_calls, 0);
    T_EQ_INT(t_json_live, json_before);

    T_EQ_INT(gobj_write_attr(g, "count", json_integer(5)), 0);
    T_EQ_INT(p->count, 5);
    T_EQ_INT(g_writing_calls, 1);
    T_EQ_STR(g_written, "count");
    T_ASSERT(g_written_gobj == g);

    T_EQ_INT(gobj_write_attr(g, "flag", json_false()), 0);
    T_ASSERT(p->flag == false);
    T_EQ_STR(g_written, "flag");

    T_EQ_INT(gobj_write_attr(g, "ratio", json_integer(2)), 0);
    T_ASSERT(p->ratio == 2.0);
    T_EQ_INT(gobj_write_attr(g, "ratio", json_real(0.25)), 0);
    T_ASSERT(p->ratio == 0.25);
    T_EQ_STR(g_written, "ratio");

    /* The old string is released (valgrind checks it); null stores NULL. */
    T_EQ_INT(gobj_write_attr(g, "label", json_string("new")), 0);
    T_EQ_STR(p->label, "new");
    T_EQ_STR(g_written, "label");
    T_EQ_INT(gobj_write_attr(g, "label", json_null()), 0);
    T_ASSERT(p->label == NULL);
    json_t *v = gobj_read_attr(g, "label");
    T_ASSERT(json_is_null(v));
    json_decref(v);

    json_t *obj = J("{\"k\": [1, 2, 3]}");
    T_EQ_INT(gobj_write_attr(g, "extra", obj), 0);
    json_t *want = J("{\"k\": [1, 2, 3]}");
    T_ASSERT(json_equal(p->extra, want));
    json_decref(want);
    T_EQ_STR(g_written, "extra");
    T_EQ_INT(g_writing_calls, 7);

    gobj_destroy(g);
}

/* STATS attributes are what gobj_stats returns; gobj_read_attrs returns
 * every readable one. */
static void case_stats_and_read_attrs(void)
{
    gobj_t *g = gobj_create("stats", g_at_gc, NULL, NULL);
    REQUIRE(g);
    ap(g)->rx_bytes = 17;
    ap(g)->tx_bytes = 4;

    json_t *st = gobj_stats(g);
    T_ASSERT(json_is_object(st));
    T_EQ_INT(json_object_size(st), 2);
    T_EQ_INT(json_integer_value(json_object_get(st, "rx_bytes")), 17);
    T_EQ_INT(json_integer_value(json_object_get(st, "tx_bytes")), 4);
    json_decref(st);

    json_t *all = gobj_read_attrs(g);
    T_ASSERT(json_is_object(all));
    static const char *const readable[] = {"flag",    "count", "ratio",    "label",    "extra",
                                           "nothing", "fixed", "rx_bytes", "tx_bytes", "peername"};
    for (size_t i = 0; i < sizeof readable / sizeof readable[0]; i++) {
        t_checks++;
        if (!json_object_get(all, readable[i]))
            T_FAIL_("gobj_read_attrs lacks \"%s\"", readable[i]);
    }
    T_ASSERT(json_object_get(all, "secret") == NULL);
    T_EQ_INT(json_object_size(all), sizeof readable / sizeof readable[0]);
    T_EQ_INT(json_integer_value(json_object_get(all, "rx_bytes")), 17);
    T_EQ_STR(json_string_value(json_object_get(all, "label")), "hello");
    json_decref(all);

    gobj_destroy(g);
}

/* The typed shortcuts follow the same rules. */
static void case_typed_shortcuts(void)
{
    gobj_t *g = gobj_create("typed", g_at_gc, NULL, NULL);
    REQUIRE(g);
    at_priv_t *p = ap(g);
    g_writing_calls = 0;

    T_EQ_INT(gobj_read_int(g, "count"), 42);
    T_ASSERT(gobj_read_bool(g, "flag") == true);
    T_EQ_STR(gobj_read_str(g, "label"), "hello");
    T_EQ_INT(gobj_read_int(g, "nope"), 0);
    T_ASSERT(gobj_read_bool(g, "nope") == false);
    T_ASSERT(gobj_read_str(g, "nope") == NULL);
    T_ASSERT(gobj_read_str(g, "nothing") == NULL);
    T_EQ_INT(gobj_read_int(g, "secret"), 0);

    T_EQ_INT(gobj_write_int(g, "count", -77), 0);
    T_EQ_INT(p->count, -77);
    T_EQ_INT(gobj_read_int(g, "count"), -77);
    T_EQ_STR(g_written, "count");
    T_EQ_INT(gobj_write_str(g, "label", "typed"), 0);
    T_EQ_STR(p->label, "typed");
    T_EQ_STR(gobj_read_str(g, "label"), "typed");
    T_EQ_STR(g_written, "label");
    T_EQ_INT(g_writing_calls, 2);

    T_EQ_INT(gobj_write_int(g, "label", 5), GOBJ_ETYPE);
    T_EQ_INT(gobj_write_str(g, "count", "5"), GOBJ_ETYPE);
    T_EQ_INT(gobj_write_int(g, "fixed", 1), GOBJ_EACCES);
    T_EQ_INT(gobj_write_int(g, "nope", 1), GOBJ_ENOENT);
    T_EQ_INT(gobj_write_str(g, "nope", "x"), GOBJ_ENOENT);
    T_EQ_STR(p->label, "typed");
    T_EQ_INT(p->count, -77);
    T_EQ_INT(g_writing_calls, 2);

    gobj_destroy(g);
}

/* default < "GClass.attr" < kw < "name.attr" (or the full dotted name),
 * for gobjs created after the call. */
static void case_global_attrs(void)
{
    gobj_t *old = gobj_create("old", g_at_gc, NULL, NULL);
    gobj_t *top = gobj_create("top", g_at_gc, NULL, NULL);
    gobj_t *top2 = gobj_create("top2", g_at_gc, NULL, NULL);
    REQUIRE(old && top && top2);

    T_EQ_INT(gobj_set_global_attrs(J("{\"Attrs.count\": 1, \"Attrs.label\": \"g\"}")), 0);
    T_EQ_INT(ap(old)->count, 42); /* not retroactive */

    gobj_t *g1 = gobj_create("g1", g_at_gc, NULL, NULL);
    gobj_t *g2 = gobj_create("g2", g_at_gc, J("{\"count\": 2}"), NULL);
    REQUIRE(g1 && g2);
    T_EQ_INT(ap(g1)->count, 1);
    T_EQ_STR(ap(g1)->label, "g");
    T_EQ_INT(ap(g2)->count, 2);
    T_EQ_STR(ap(g2)->label, "g");

    T_EQ_INT(gobj_set_global_attrs(J("{\"Attrs.count\": 1, \"g3.count\": 3,"
                                     " \"top.kid.count\": 4, \"kid2.count\": 5}")),
             0);
    gobj_t *g3 = gobj_create("g3", g_at_gc, J("{\"count\": 2}"), NULL);
    gobj_t *kid = gobj_create("kid", g_at_gc, J("{\"count\": 2}"), top);
    gobj_t *kid2 = gobj_create("kid2", g_at_gc, NULL, top);
    gobj_t *other_kid = gobj_create("kid", g_at_gc, NULL, top2);
    REQUIRE(g3 && kid && kid2 && other_kid);
    T_EQ_INT(ap(g3)->count, 3);
    T_EQ_INT(ap(kid)->count, 4);
    T_EQ_INT(ap(kid2)->count, 5);
    /* "top.kid" names one gobj: top2.kid only gets the gclass value. */
    T_EQ_INT(ap(other_kid)->count, 1);

    long json_before = t_json_live;
    T_EQ_INT(gobj_set_global_attrs(json_integer(3)), GOBJ_EINVAL);
    T_EQ_INT(t_json_live, json_before);

    T_EQ_INT(gobj_set_global_attrs(NULL), 0);
    gobj_t *g4 = gobj_create("g4", g_at_gc, NULL, NULL);
    REQUIRE(g4);
    T_EQ_INT(ap(g4)->count, 42);
    T_EQ_STR(ap(g4)->label, "hello");

    gobj_destroy(old);
    gobj_destroy(top);
    gobj_destroy(top2);
    gobj_destroy(g1);
    gobj_destroy(g2);
    gobj_destroy(g3);
    gobj_destroy(g4);
}

/* A "GClass.attr" key belongs to the gclass only: a gobj *named* like a
 * registered gclass is not matched by it as if it were "name.attr" (that
 * inverted the precedence, reached gobjs of another gclass, or failed their
 * create). */
static void case_global_gclass_name_wins(void)
{
    T_EQ_INT(gobj_set_global_attrs(J("{\"Attrs.count\": 1}")), 0);

    /* A Req named "Attrs": Req has no 'count', and the key is not for it. */
    t_log_clear();
    gobj_t *req = gobj_create("Attrs", g_req_gc, J("{\"port\": 1}"), NULL);
    T_ASSERT(req != NULL);
    T_EQ_INT(t_log_find("error", NULL), 0);

    /* An Attrs named "Attrs" under it: the key is its gclass's default, so
     * the kw wins (default < "GClass.attr" < kw). */
    gobj_t *g = gobj_create("Attrs", g_at_gc, J("{\"count\": 2}"), req);
    T_ASSERT(g != NULL);
    if (g)
        T_EQ_INT(ap(g)->count, 2);
    /* ... and without a kw value it gets the gclass value, once. */
    gobj_t *g2 = gobj_create("Attrs2", g_at_gc, NULL, req);
    T_ASSERT(g2 != NULL);
    if (g2)
        T_EQ_INT(ap(g2)->count, 1);

    T_EQ_INT(gobj_set_global_attrs(NULL), 0);
    if (req)
        gobj_destroy(req);
}

/* A full-name key of any length is found (no fixed-size buffer). */
static void case_global_long_key(void)
{
    char name[2001];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    gobj_t *top = gobj_create(name, g_at_gc, NULL, NULL);
    REQUIRE(top);

    json_t *global = json_object();
    char *key = malloc(2 * sizeof name + 16);
    snprintf(key, 2 * sizeof name + 16, "%s.%s.count", name, name);
    json_object_set_new(global, key, json_integer(5)); /* full name */
    snprintf(key, 2 * sizeof name + 16, "%s.label", name);
    json_object_set_new(global, key, json_string("long")); /* short name */
    free(key);
    T_EQ_INT(gobj_set_global_attrs(global), 0);

    gobj_t *g = gobj_create(name, g_at_gc, NULL, top);
    T_ASSERT(g != NULL);
    if (g) {
        T_EQ_INT(ap(g)->count, 5);
        T_EQ_STR(ap(g)->label, "long");
    }
    T_EQ_INT(gobj_set_global_attrs(NULL), 0);
    gobj_destroy(top);
}

/* A string attribute is a C string: a value holding a NUL byte would be
 * read back cut, so it is refused (binary data goes in a JSON attribute). */
static void case_string_with_nul(void)
{
    t_log_clear();
    long json_before = t_json_live;
    json_t *kw = json_object();
    json_object_set_new(kw, "label", json_stringn("ab\0cd", 5));
    gobj_t *g = gobj_create("nul", g_at_gc, kw, NULL);
    T_ASSERT(g == NULL);
    if (g)
        gobj_destroy(g);
    static const char *const needles[] = {"nul", "label", "NUL", NULL};
    t_checks++;
    if (!error_names_all(needles))
        T_FAIL_("create with a NUL in a string: no error naming the gobj and attribute");
    T_EQ_INT(t_json_live, json_before);

    g = gobj_create("nul2", g_at_gc, NULL, NULL);
    REQUIRE(g);
    t_log_clear();
    T_EQ_INT(gobj_write_attr(g, "label", json_stringn("x\0y", 3)), GOBJ_ETYPE);
    T_EQ_STR(ap(g)->label, "hello");
    static const char *const needles2[] = {"nul2", "label", "NUL", NULL};
    t_checks++;
    if (!error_names_all(needles2))
        T_FAIL_("write with a NUL in a string: no error naming the gobj and attribute");
    /* A JSON attribute carries such a string whole. */
    T_EQ_INT(gobj_write_attr(g, "extra", json_stringn("x\0y", 3)), 0);
    T_EQ_INT(json_string_length(ap(g)->extra), 3);
    gobj_destroy(g);

    /* A global value for a gclass is checked when it is set. */
    json_t *global = json_object();
    json_object_set_new(global, "Attrs.label", json_stringn("a\0", 2));
    T_EQ_INT(gobj_set_global_attrs(global), GOBJ_ETYPE);
    T_EQ_INT(t_json_live, json_before);
}

/* A table whose attribute could never be given a value is refused at
 * registration: REQUIRED with STATS or VOLATILE (which cannot be given at
 * create), and a name that "GClass.attr" / "name.attr" keys cannot reach. */
typedef struct {
    int64_t x;
} bad_priv_t;
static const gobj_attr_t bad_req_stats[] = {
    GOBJ_ATTR("hits", GOBJ_ATTR_INT, bad_priv_t, x, NULL, GOBJ_RD | GOBJ_STATS | GOBJ_REQUIRED,
              "a required statistic"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t bad_req_volatile[] = {
    GOBJ_ATTR("state", GOBJ_ATTR_INT, bad_priv_t, x, NULL, GOBJ_RD | GOBJ_VOLATILE | GOBJ_REQUIRED,
              "required run-time state"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t bad_dotted[] = {
    GOBJ_ATTR("a.b", GOBJ_ATTR_INT, bad_priv_t, x, NULL, GOBJ_RD, "a dotted name"),
    GOBJ_ATTR_END,
};
static const gobj_attr_t bad_empty[] = {
    GOBJ_ATTR("", GOBJ_ATTR_INT, bad_priv_t, x, NULL, GOBJ_RD, "an empty name"),
    GOBJ_ATTR_END,
};

static void expect_refused(const char *gcname, const gobj_attr_t *attrs, const char *attr,
                           const char *why)
{
    gclass_def_t def = {
        .name = gcname,
        .description = "a bad attribute table",
        .states = at_states,
        .events = at_events,
        .attrs = attrs,
        .priv_size = sizeof(bad_priv_t),
    };
    static gclass_def_t defs[4];
    static size_t n_defs;
    gclass_def_t *d = &defs[n_defs++ % 4];
    *d = def;
    t_log_clear();
    gclass_t *gc = gclass_register(d);
    T_ASSERT(gc == NULL);
    T_ASSERT(gclass_find(gcname) == NULL);
    T_EQ_INT(t_log_find("error", NULL), 1);
    const char *const needles[] = {gcname, attr, why, NULL};
    t_checks++;
    if (!error_names_all(needles))
        T_FAIL_("gclass %s: no error naming the gclass, '%s' and '%s'", gcname, attr, why);
}

static void case_register_refuses_unreachable(void)
{
    expect_refused("BadReqStats", bad_req_stats, "hits", "REQUIRED");
    expect_refused("BadReqVolatile", bad_req_volatile, "state", "REQUIRED");
    expect_refused("BadDotted", bad_dotted, "a.b", "'.'");
    expect_refused("BadEmpty", bad_empty, "BadEmpty", "empty");
}

int main(void)
{
    t_init();
    g_at_gc = gclass_register(&at_def);
    g_req_gc = gclass_register(&req_def);
    T_ASSERT(g_at_gc != NULL);
    T_ASSERT(g_req_gc != NULL);
    if (!g_at_gc || !g_req_gc)
        return t_done();

    case_defaults();
    case_kw_at_create();
    case_create_errors();
    case_write_attr();
    case_stats_and_read_attrs();
    case_typed_shortcuts();
    case_global_attrs();
    case_global_gclass_name_wins();
    case_global_long_key();
    case_string_with_nul();
    case_register_refuses_unreachable();

    T_EQ_INT(gobj_live_count(), 0);
    return t_done();
}
