/*
 * test_lifecycle.c - create / start / stop / destroy, the tree and its
 * names, the registry of unique gobjs, and deferred destruction (doc/manual.md
 * chapter 4, and chapter 2, rule 11).
 *
 * The "Life" gclass appends "create:NAME", "start:NAME", "stop:NAME",
 * "destroy:NAME" and "ping:NAME" to a trace from its methods and from its
 * one action, so each case asserts the order in which the runtime called
 * them.  The action then runs an optional hook set by the case, which acts
 * from inside a dispatch (destroys itself, its parent, another gobj).
 */
#include <stdarg.h>

#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_LF_PING);
GOBJ_DEFINE_STATE(ST_LF_IDLE);

/* Position of a whole token in the trace, or -1. */
static long trace_pos(const char *token)
{
    size_t n = strlen(token);
    for (const char *p = t_trace; (p = strstr(p, token)) != NULL; p++) {
        bool starts = p == t_trace || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return (long)(p - t_trace);
    }
    return -1;
}

/* How many times a whole token occurs. */
static int trace_count(const char *token)
{
    size_t n = strlen(token);
    int count = 0;
    for (const char *p = t_trace; (p = strstr(p, token)) != NULL; p++) {
        bool starts = p == t_trace || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            count++;
    }
    return count;
}

/* a happened, b happened, a before b. */
#define T_BEFORE(a, b)                                                          \
    do {                                                                        \
        long pa_ = trace_pos(a), pb_ = trace_pos(b);                            \
        t_checks++;                                                             \
        if (pa_ < 0 || pb_ < 0 || pa_ > pb_)                                    \
            T_FAIL_("\"%s\" before \"%s\" in trace \"%s\"", (a), (b), t_trace); \
    } while (0)

/*--------------------------------------------------------------------------*
 *  Life
 *--------------------------------------------------------------------------*/
typedef int (*life_hook_fn)(gobj_t *gobj);

typedef struct {
    bool fail_create;
    bool fail_start;
    bool async_stop;
    int64_t value;
    life_hook_fn hook; /* not an attribute: set by the case after create */
} life_priv_t;

static const gobj_attr_t life_attrs[] = {
    GOBJ_ATTR("fail_create", GOBJ_ATTR_BOOL, life_priv_t, fail_create, "false", GOBJ_RD,
              "mt_create fails"),
    GOBJ_ATTR("fail_start", GOBJ_ATTR_BOOL, life_priv_t, fail_start, "false", GOBJ_RD,
              "mt_start fails"),
    GOBJ_ATTR("value", GOBJ_ATTR_INT, life_priv_t, value, "0", GOBJ_RD | GOBJ_WR,
              "what the action returns"),
    GOBJ_ATTR("async_stop", GOBJ_ATTR_BOOL, life_priv_t, async_stop, "false", GOBJ_RD,
              "mt_stop returns 1: still finishing"),
    GOBJ_ATTR_END,
};

static int life_mt_create(gobj_t *gobj)
{
    life_priv_t *priv = gobj_priv(gobj);
    t_trace_add("create:%s", gobj_name(gobj));
    priv->hook = NULL;
    return priv->fail_create ? GOBJ_ERANGE : 0;
}

static int life_mt_start(gobj_t *gobj)
{
    life_priv_t *priv = gobj_priv(gobj);
    t_trace_add("start:%s", gobj_name(gobj));
    return priv->fail_start ? GOBJ_ERANGE : 0;
}

static int life_mt_stop(gobj_t *gobj)
{
    life_priv_t *priv = gobj_priv(gobj);
    t_trace_add("stop:%s", gobj_name(gobj));
    return priv->async_stop ? 1 : 0;
}

static void life_mt_destroy(gobj_t *gobj)
{
    t_trace_add("destroy:%s", gobj_name(gobj));
}

static int ac_ping(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    life_priv_t *priv = gobj_priv(gobj);
    (void)ev;
    (void)kw;
    (void)src;
    t_trace_add("ping:%s", gobj_name(gobj));
    if (priv->hook)
        return priv->hook(gobj);
    return (int)priv->value;
}

static const gobj_row_t life_st_idle[] = {
    GOBJ_ROW(EV_LF_PING, ac_ping, NULL),
    {NULL},
};
static const gobj_state_def_t life_states[] = {
    {.state = ST_LF_IDLE, .rows = life_st_idle},
    {NULL},
};
static const gobj_event_def_t life_events[] = {
    {EV_LF_PING, GOBJ_EV_IN, "{}"},
    {NULL},
};
static const gclass_def_t life_def = {
    .name = "Life",
    .description = "records its lifecycle",
    .states = life_states,
    .events = life_events,
    .attrs = life_attrs,
    .methods =
        {
            .mt_create = life_mt_create,
            .mt_start = life_mt_start,
            .mt_stop = life_mt_stop,
            .mt_destroy = life_mt_destroy,
        },
    .priv_size = sizeof(life_priv_t),
};

static gclass_t *g_gc;

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
static gobj_t *mk(const char *name, gobj_t *parent)
{
    gobj_t *g = gobj_create(name, g_gc, NULL, parent);
    T_ASSERT(g != NULL);
    if (!g)
        fprintf(stderr, "  (could not create %s)\n", name ? name : "(anonymous)");
    return g;
}

static life_priv_t *lp(gobj_t *gobj)
{
    return gobj_priv(gobj);
}

#define REQUIRE(cond)   \
    do {                \
        T_ASSERT(cond); \
        if (!(cond))    \
            return;     \
    } while (0)

/* What the hooks act on and what they saw from inside the dispatch. */
static gobj_t *g_a;
static gobj_t *g_b;
static gobj_t *g_c;
static gobj_t *g_replacement;
static int g_hook_calls;
static size_t g_live_before;
static bool g_seen[16];

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/

/* create -> start -> stop -> start -> destroy (of a running gobj, which is
 * stopped first). */
static void case_basic(void)
{
    size_t live = gobj_live_count();
    t_trace_reset();
    gobj_t *a = mk("a", NULL);
    REQUIRE(a);
    T_EQ_STR(t_trace, "create:a");
    T_EQ_INT(gobj_live_count(), live + 1);
    T_ASSERT(!gobj_is_running(a));
    T_ASSERT(!gobj_is_destroying(a));

    T_EQ_INT(gobj_start(a), 0);
    T_ASSERT(gobj_is_running(a));
    T_EQ_INT(gobj_stop(a), 0);
    T_ASSERT(!gobj_is_running(a));
    T_EQ_INT(gobj_start(a), 0);
    T_ASSERT(gobj_is_running(a));
    gobj_destroy(a);
    T_EQ_STR(t_trace, "create:a start:a stop:a start:a stop:a destroy:a");
    T_EQ_INT(gobj_live_count(), live);

    /* A gobj that never ran is not stopped. */
    t_trace_reset();
    gobj_t *b = mk("b", NULL);
    REQUIRE(b);
    gobj_destroy(b);
    T_EQ_STR(t_trace, "create:b destroy:b");

    gobj_destroy(NULL);
    T_EQ_INT(gobj_live_count(), live);
}

/* An mt_stop that returns > 0 leaves the gobj "stopping" (not running)
 * until it calls gobj_stopped(); a start or a destroy ends that too. */
static void case_async_stop(void)
{
    gobj_t *a = gobj_create("a", g_gc, json_pack("{s:b}", "async_stop", 1), NULL);
    REQUIRE(a);
    T_EQ_INT(gobj_start(a), 0);
    T_ASSERT(!gobj_is_stopping(a));
    T_EQ_INT(gobj_stop(a), 0);
    T_ASSERT(!gobj_is_running(a));
    T_ASSERT(gobj_is_stopping(a));
    gobj_stopped(a);
    T_ASSERT(!gobj_is_stopping(a));
    gobj_stopped(a); /* no-op */
    T_ASSERT(!gobj_is_stopping(a));

    T_EQ_INT(gobj_start(a), 0);
    T_EQ_INT(gobj_stop(a), 0);
    T_ASSERT(gobj_is_stopping(a));
    T_EQ_INT(gobj_start(a), 0);
    T_ASSERT(gobj_is_running(a) && !gobj_is_stopping(a));

    /* A plain mt_stop (returning 0) is never stopping. */
    gobj_t *b = mk("b", NULL);
    REQUIRE(b);
    T_EQ_INT(gobj_start(b), 0);
    T_EQ_INT(gobj_stop(b), 0);
    T_ASSERT(!gobj_is_stopping(b));
    gobj_destroy(a);
    gobj_destroy(b);
}

/* mt_create failing fails the create, leaves nothing behind and does not
 * reserve the name. */
static void case_create_fails(void)
{
    gobj_t *p = mk("p", NULL);
    REQUIRE(p);
    size_t live = gobj_live_count();
    long json_before = t_json_live;

    t_trace_reset();
    gobj_t *x = gobj_create("x", g_gc, json_pack("{s:b}", "fail_create", 1), p);
    T_ASSERT(x == NULL);
    T_EQ_INT(trace_count("create:x"), 1);
    /* mt_destroy still runs, so that it can release what mt_create took. */
    T_EQ_INT(trace_count("destroy:x"), 1);
    T_EQ_INT(gobj_live_count(), live);
    T_EQ_INT(t_json_live, json_before);
    T_EQ_INT(gobj_child_count(p), 0);
    T_ASSERT(gobj_find_child(p, "x") == NULL);

    x = mk("x", p);
    T_ASSERT(x != NULL);
    T_EQ_INT(gobj_child_count(p), 1);

    /* mt_start failing fails the start. */
    gobj_t *y = gobj_create("y", g_gc, json_pack("{s:b}", "fail_start", 1), p);
    REQUIRE(y);
    T_EQ_INT(gobj_start(y), GOBJ_ERANGE);
    T_ASSERT(!gobj_is_running(y));

    gobj_destroy(p);
    T_EQ_INT(gobj_live_count(), live - 1);
}

/* gobj_start_tree: the gobj then its descendants, depth first;
 * gobj_stop_tree: the descendants then the gobj.  A failing start stops
 * what was started. */
static void case_start_stop_tree(void)
{
    gobj_t *r = mk("r", NULL);
    REQUIRE(r);
    gobj_t *c1 = mk("c1", r);
    gobj_t *g1 = c1 ? mk("g1", c1) : NULL;
    gobj_t *c2 = mk("c2", r);
    REQUIRE(c1 && g1 && c2);

    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), 0);
    T_EQ_STR(t_trace, "start:r start:c1 start:g1 start:c2");
    T_ASSERT(gobj_is_running(r) && gobj_is_running(c1) && gobj_is_running(g1) &&
             gobj_is_running(c2));

    t_trace_reset();
    T_EQ_INT(gobj_stop_tree(r), 0);
    T_EQ_INT(trace_count("stop:r") + trace_count("stop:c1") + trace_count("stop:g1") +
                 trace_count("stop:c2"),
             4);
    T_BEFORE("stop:g1", "stop:c1");
    T_BEFORE("stop:c1", "stop:r");
    T_BEFORE("stop:c2", "stop:r");
    T_ASSERT(!gobj_is_running(r) && !gobj_is_running(c1) && !gobj_is_running(g1) &&
             !gobj_is_running(c2));
    gobj_destroy(r);

    /* The third child fails to start: the fourth is never started and the
     * ones already started are stopped again. */
    r = mk("r", NULL);
    REQUIRE(r);
    c1 = mk("c1", r);
    g1 = c1 ? mk("g1", c1) : NULL;
    c2 = gobj_create("c2", g_gc, json_pack("{s:b}", "fail_start", 1), r);
    gobj_t *c3 = mk("c3", r);
    REQUIRE(c1 && g1 && c2 && c3);

    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), GOBJ_ERANGE);
    T_BEFORE("start:g1", "start:c2");
    T_EQ_INT(trace_count("start:c3"), 0);
    T_EQ_INT(trace_count("stop:r"), 1);
    T_EQ_INT(trace_count("stop:c1"), 1);
    T_EQ_INT(trace_count("stop:g1"), 1);
    T_ASSERT(!gobj_is_running(r) && !gobj_is_running(c1) && !gobj_is_running(g1) &&
             !gobj_is_running(c2) && !gobj_is_running(c3));
    gobj_destroy(r);

    /* A failure stops only what this call started: the root and a child
     * that were running before the call keep running. */
    r = mk("r", NULL);
    REQUIRE(r);
    c1 = mk("c1", r);
    g1 = c1 ? mk("g1", c1) : NULL;
    c2 = mk("c2", r);
    REQUIRE(c1 && g1 && c2);
    T_EQ_INT(gobj_start(r), 0);
    T_EQ_INT(gobj_start(c1), 0);
    c3 = gobj_create("c3", g_gc, json_pack("{s:b}", "fail_start", 1), r);
    REQUIRE(c3);
    t_trace_reset();
    T_EQ_INT(gobj_start_tree(r), GOBJ_ERANGE);
    T_EQ_STR(t_trace, "start:g1 start:c2 start:c3 stop:c2 stop:g1");
    T_ASSERT(gobj_is_running(r) && gobj_is_running(c1));
    T_ASSERT(!gobj_is_running(g1) && !gobj_is_running(c2) && !gobj_is_running(c3));
    gobj_destroy(r);
}

/* Names, full names, dotted child names and the finders. */
static void case_names_and_paths(void)
{
    gobj_t *root = mk("root", NULL);
    REQUIRE(root);
    gobj_t *a = mk("a", root);
    gobj_t *b = a ? mk("b", a) : NULL;
    REQUIRE(a && b);

    T_EQ_STR(gobj_name(b), "b");
    T_EQ_STR(gobj_full_name(b), "root.a.b");
    T_EQ_STR(gobj_full_name(root), "root");
    T_EQ_STR(gobj_gclass_name(b), "Life");
    T_ASSERT(gobj_gclass(b) == g_gc);
    T_ASSERT(gobj_parent(b) == a);
    T_ASSERT(gobj_parent(a) == root);
    T_ASSERT(gobj_parent(root) == NULL);

    T_ASSERT(gobj_find_path(root, "a") == a);
    T_ASSERT(gobj_find_path(root, "a.b") == b);
    T_ASSERT(gobj_find_path(a, "b") == b);
    T_ASSERT(gobj_find_path(NULL, "root") == root);
    T_ASSERT(gobj_find_path(NULL, "root.a.b") == b);
    T_ASSERT(gobj_find_path(root, "a.nope") == NULL);
    T_ASSERT(gobj_find_path(root, "b") == NULL);
    T_ASSERT(gobj_find_path(NULL, "nope") == NULL);
    T_ASSERT(gobj_find_path(NULL, "a.b") == NULL);

    T_ASSERT(gobj_find_child(root, "a") == a);
    T_ASSERT(gobj_find_child(root, "b") == NULL);
    T_ASSERT(gobj_find_child(a, "b") == b);

    /* The layout of an echo server: the connection "server.clisrv_3" is a
     * child of echo, next to the listener "server". */
    gobj_t *echo = mk("echo", NULL);
    REQUIRE(echo);
    gobj_t *server = mk("server", echo);
    gobj_t *cli = mk("server.clisrv_3", echo);
    REQUIRE(server && cli);
    T_EQ_STR(gobj_name(cli), "server.clisrv_3");
    T_EQ_STR(gobj_full_name(cli), "echo.server.clisrv_3");
    T_ASSERT(gobj_parent(cli) == echo);
    T_ASSERT(gobj_find_child(echo, "server.clisrv_3") == cli);
    T_ASSERT(gobj_find_child(echo, "server") == server);
    T_ASSERT(gobj_find_path(echo, "server.clisrv_3") == cli);
    T_ASSERT(gobj_find_path(echo, "server") == server);
    T_ASSERT(gobj_find_path(NULL, "echo.server.clisrv_3") == cli);
    T_ASSERT(gobj_find_path(NULL, "echo.server") == server);

    gobj_destroy(root);
    gobj_destroy(echo);
}

/* A non-empty name is unique among siblings; anonymous gobjs are not
 * named at all. */
static void case_sibling_names(void)
{
    gobj_t *p = mk("p", NULL);
    gobj_t *q = mk("q", NULL);
    REQUIRE(p && q);
    gobj_t *x = mk("x", p);
    REQUIRE(x);
    size_t live = gobj_live_count();
    long json_before = t_json_live;

    t_trace_reset();
    T_ASSERT(gobj_create("x", g_gc, json_pack("{s:i}", "value", 1), p) == NULL);
    T_EQ_INT(gobj_live_count(), live);
    T_EQ_INT(t_json_live, json_before);
    T_EQ_INT(gobj_child_count(p), 1);
    /* The refusal comes before mt_create: nothing to undo. */
    T_EQ_INT(trace_count("create:x"), 0);

    gobj_t *qx = mk("x", q);
    T_ASSERT(qx != NULL && qx != x);
    gobj_t *anon1 = gobj_create(NULL, g_gc, NULL, p);
    gobj_t *anon2 = gobj_create(NULL, g_gc, NULL, p);
    gobj_t *anon3 = gobj_create("", g_gc, NULL, p);
    gobj_t *anon4 = gobj_create("", g_gc, NULL, p);
    T_ASSERT(anon1 && anon2 && anon3 && anon4);
    T_EQ_INT(gobj_child_count(p), 5);

    gobj_destroy(p);
    gobj_destroy(q);
}

/* Children come in creation order; destroyed ones are gone from the
 * iteration and the count. */
static void case_children(void)
{
    gobj_t *p = mk("p", NULL);
    REQUIRE(p);
    gobj_t *c1 = mk("c1", p);
    gobj_t *c2 = mk("c2", p);
    gobj_t *c3 = mk("c3", p);
    REQUIRE(c1 && c2 && c3);

    T_EQ_INT(gobj_child_count(p), 3);
    T_ASSERT(gobj_first_child(p) == c1);
    T_ASSERT(gobj_next_child(c1) == c2);
    T_ASSERT(gobj_next_child(c2) == c3);
    T_ASSERT(gobj_next_child(c3) == NULL);
    T_ASSERT(gobj_first_child(c1) == NULL);
    T_EQ_INT(gobj_child_count(c1), 0);

    gobj_destroy(c2);
    T_EQ_INT(gobj_child_count(p), 2);
    T_ASSERT(gobj_first_child(p) == c1);
    T_ASSERT(gobj_next_child(c1) == c3);
    T_ASSERT(gobj_next_child(c3) == NULL);

    gobj_t *c4 = mk("c4", p);
    T_ASSERT(gobj_next_child(c3) == c4);

    gobj_destroy(p);
}

/* The registry of unique gobjs. */
static void case_unique(void)
{
    gobj_t *p = mk("p", NULL);
    REQUIRE(p);
    gobj_t *u = gobj_create_unique("svc", g_gc, NULL, NULL);
    REQUIRE(u);
    T_ASSERT(gobj_find_unique("svc") == u);
    T_ASSERT(gobj_find_unique("nope") == NULL);

    size_t live = gobj_live_count();
    long json_before = t_json_live;
    T_ASSERT(gobj_create_unique("svc", g_gc, json_pack("{s:i}", "value", 1), p) == NULL);
    T_EQ_INT(gobj_live_count(), live);
    T_EQ_INT(t_json_live, json_before);
    T_EQ_INT(gobj_child_count(p), 0);
    T_ASSERT(gobj_find_unique("svc") == u);

    /* A plain create does not register. */
    gobj_t *plain = mk("plain", p);
    T_ASSERT(plain != NULL);
    T_ASSERT(gobj_find_unique("plain") == NULL);

    gobj_destroy(u);
    T_ASSERT(gobj_find_unique("svc") == NULL);
    u = gobj_create_unique("svc", g_gc, NULL, p);
    T_ASSERT(u != NULL);
    T_ASSERT(gobj_find_unique("svc") == u);

    /* Destroying the parent takes the unique child out of the registry. */
    gobj_destroy(p);
    T_ASSERT(gobj_find_unique("svc") == NULL);
}

/* Destroy stops what runs and destroys the children before the parent. */
static void case_destroy_order(void)
{
    gobj_t *r = mk("r", NULL);
    REQUIRE(r);
    gobj_t *c1 = mk("c1", r);
    gobj_t *g1 = c1 ? mk("g1", c1) : NULL;
    gobj_t *c2 = mk("c2", r);
    REQUIRE(c1 && g1 && c2);
    T_EQ_INT(gobj_start_tree(r), 0);
    size_t live = gobj_live_count();

    t_trace_reset();
    gobj_destroy(r);
    T_EQ_INT(gobj_live_count(), live - 4);
    static const char *const names[] = {"r", "c1", "g1", "c2"};
    for (size_t i = 0; i < 4; i++) {
        char stop[32], destroy[32];
        snprintf(stop, sizeof stop, "stop:%s", names[i]);
        snprintf(destroy, sizeof destroy, "destroy:%s", names[i]);
        T_EQ_INT(trace_count(stop), 1);
        T_EQ_INT(trace_count(destroy), 1);
        T_BEFORE(stop, destroy);
    }
    T_BEFORE("destroy:g1", "destroy:c1");
    T_BEFORE("destroy:c1", "destroy:r");
    T_BEFORE("destroy:c2", "destroy:r");
}

/* A gobj destroys itself inside its own action. */
static int hook_destroy_self(gobj_t *gobj)
{
    gobj_t *parent = gobj_parent(gobj);
    g_hook_calls++;
    g_live_before = gobj_live_count();
    gobj_destroy(gobj);

    g_seen[0] = gobj_is_destroying(gobj);
    g_seen[1] = gobj_live_count() == g_live_before; /* not freed yet */
    g_seen[2] = trace_pos("destroy:me") < 0;        /* mt_destroy deferred */
    g_seen[3] = gobj_find_path(NULL, "selfroot.me") == NULL;
    g_seen[4] = gobj_find_child(parent, "me") == NULL;
    g_seen[5] = gobj_find_unique("me") == NULL;
    g_seen[6] = gobj_child_count(parent) == 0;
    g_seen[7] = gobj_send_event(gobj, EV_LF_PING, json_object(), NULL) == GOBJ_EDESTROYED;
    g_seen[8] = gobj_post_event(gobj, EV_LF_PING, json_object(), NULL) == GOBJ_EDESTROYED;
    g_seen[9] = trace_count("ping:me") == 1;
    /* The name is free again, in the tree and in the registry. */
    g_replacement = gobj_create_unique("me", g_gc, NULL, parent);
    g_seen[10] = g_replacement != NULL;
    /* The private struct stays readable until the action returns. */
    return (int)lp(gobj)->value;
}

static void case_destroy_self_in_action(void)
{
    gobj_t *root = mk("selfroot", NULL);
    REQUIRE(root);
    gobj_t *me = gobj_create_unique("me", g_gc, json_pack("{s:i}", "value", 1234), root);
    REQUIRE(me);
    T_EQ_INT(gobj_start(me), 0);
    lp(me)->hook = hook_destroy_self;
    g_hook_calls = 0;
    g_replacement = NULL;
    memset(g_seen, 0, sizeof g_seen);
    size_t live = gobj_live_count();
    long json_before = t_json_live;

    t_trace_reset();
    T_EQ_INT(gobj_send_event(me, EV_LF_PING, NULL, NULL), 1234);
    T_EQ_INT(g_hook_calls, 1);
    for (int i = 0; i <= 10; i++) {
        t_checks++;
        if (!g_seen[i])
            T_FAIL_("destroy self, observation %d inside the action failed", i);
    }
    /* Stopped and destroyed after the action, then freed. */
    T_BEFORE("ping:me", "stop:me");
    T_BEFORE("stop:me", "destroy:me");
    T_EQ_INT(gobj_live_count(), live - 1 + (g_replacement ? 1 : 0));
    T_EQ_INT(t_json_live, json_before);
    if (g_replacement) {
        T_ASSERT(gobj_find_unique("me") == g_replacement);
        T_ASSERT(!gobj_is_destroying(g_replacement));
        T_EQ_INT(gobj_child_count(root), 1);
    }
    gobj_destroy(root);
    T_ASSERT(gobj_find_unique("me") == NULL);
}

/* A child destroys its parent (and so itself and its sibling) inside its
 * action. */
static int hook_destroy_parent(gobj_t *gobj)
{
    g_hook_calls++;
    g_live_before = gobj_live_count();
    gobj_destroy(g_a);

    g_seen[0] = gobj_is_destroying(g_a);
    g_seen[1] = gobj_is_destroying(gobj);
    g_seen[2] = gobj_is_destroying(g_c);
    g_seen[3] = gobj_live_count() == g_live_before;
    g_seen[4] =
        trace_pos("destroy:P") < 0 && trace_pos("destroy:C1") < 0 && trace_pos("destroy:C2") < 0;
    g_seen[5] = gobj_find_path(NULL, "P") == NULL;
    g_seen[6] = gobj_find_path(NULL, "P.C2") == NULL;
    g_seen[7] = gobj_send_event(g_c, EV_LF_PING, NULL, gobj) == GOBJ_EDESTROYED;
    g_seen[8] = trace_pos("ping:C2") < 0;
    return (int)lp(gobj)->value;
}

static void case_destroy_parent_in_child_action(void)
{
    gobj_t *p = mk("P", NULL);
    REQUIRE(p);
    gobj_t *c1 = gobj_create("C1", g_gc, json_pack("{s:i}", "value", 77), p);
    gobj_t *c2 = mk("C2", p);
    REQUIRE(c1 && c2);
    T_EQ_INT(gobj_start_tree(p), 0);
    lp(c1)->hook = hook_destroy_parent;
    g_a = p;
    g_b = c1;
    g_c = c2;
    g_hook_calls = 0;
    memset(g_seen, 0, sizeof g_seen);
    size_t live = gobj_live_count();

    t_trace_reset();
    T_EQ_INT(gobj_send_event(c1, EV_LF_PING, NULL, NULL), 77);
    T_EQ_INT(g_hook_calls, 1);
    for (int i = 0; i <= 8; i++) {
        t_checks++;
        if (!g_seen[i])
            T_FAIL_("destroy parent, observation %d inside the action failed", i);
    }
    T_EQ_INT(gobj_live_count(), live - 3);
    T_BEFORE("ping:C1", "destroy:C1");
    T_BEFORE("destroy:C1", "destroy:P");
    T_BEFORE("destroy:C2", "destroy:P");
    T_BEFORE("stop:P", "destroy:P");
    T_BEFORE("stop:C2", "destroy:C2");
}

/* The outermost dispatch frees: A's action sends to B, B destroys A; back
 * in A's action A is still there until A's send returns. */
static int hook_a_sends_to_b(gobj_t *gobj)
{
    g_hook_calls++;
    g_live_before = gobj_live_count();
    int r = gobj_send_event(g_b, EV_LF_PING, NULL, gobj);
    g_seen[0] = r == 5;
    g_seen[1] = gobj_is_destroying(gobj);
    g_seen[2] = gobj_live_count() == g_live_before;
    g_seen[3] = trace_pos("destroy:A") < 0;
    return (int)lp(gobj)->value;
}

static int hook_b_destroys_a(gobj_t *gobj)
{
    g_hook_calls++;
    gobj_destroy(g_a);
    return (int)lp(gobj)->value;
}

static void case_nested_dispatch(void)
{
    gobj_t *a = gobj_create("A", g_gc, json_pack("{s:i}", "value", 3), NULL);
    gobj_t *b = gobj_create("B", g_gc, json_pack("{s:i}", "value", 5), NULL);
    REQUIRE(a && b);
    lp(a)->hook = hook_a_sends_to_b;
    lp(b)->hook = hook_b_destroys_a;
    g_a = a;
    g_b = b;
    g_hook_calls = 0;
    memset(g_seen, 0, sizeof g_seen);
    size_t live = gobj_live_count();

    t_trace_reset();
    T_EQ_INT(gobj_send_event(a, EV_LF_PING, NULL, NULL), 3);
    T_EQ_INT(g_hook_calls, 2);
    for (int i = 0; i <= 3; i++) {
        t_checks++;
        if (!g_seen[i])
            T_FAIL_("nested dispatch, observation %d inside the action failed", i);
    }
    T_EQ_STR(t_trace, "ping:A ping:B destroy:A");
    T_EQ_INT(gobj_live_count(), live - 1);
    T_ASSERT(!gobj_is_destroying(b));
    gobj_destroy(b);
}

int main(void)
{
    t_init();
    g_gc = gclass_register(&life_def);
    T_ASSERT(g_gc != NULL);
    if (!g_gc)
        return t_done();

    case_basic();
    case_create_fails();
    case_async_stop();
    case_start_stop_tree();
    case_names_and_paths();
    case_sibling_names();
    case_children();
    case_unique();
    case_destroy_order();
    case_destroy_self_in_action();
    case_destroy_parent_in_child_action();
    case_nested_dispatch();

    T_EQ_INT(gobj_live_count(), 0);
    return t_done();
}
