/*
 * test_post.c - the post queue (doc/manual.md chapter 2, rule 10): gobj_post_event queues,
 * gobj_run_posted delivers a bounded FIFO batch of what was queued before
 * the call, a gone destination drops its events, a gone source arrives as
 * NULL, and the loop is told when the queue stops being empty.
 *
 * The "Dst" gclass records each delivery as "name:EVENT:n<src" where n is
 * kw.n ("-" if absent) and src the sender's name ("null" if none); its
 * action then runs an optional hook set by the case.
 */
#include <stdarg.h>

#include "testlib.h"

GOBJ_DEFINE_EVENT(EV_PO_A); /* {n?: int} */
GOBJ_DEFINE_EVENT(EV_PO_B); /* {n?: int} */
GOBJ_DEFINE_STATE(ST_PO_IDLE);

/*--------------------------------------------------------------------------*
 *  Dst
 *--------------------------------------------------------------------------*/
typedef int (*dst_hook_fn)(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);

typedef struct {
    dst_hook_fn hook;
    int received;
} dst_priv_t;

static int dst_mt_create(gobj_t *gobj)
{
    /* No attributes: the whole private struct is ours to clear. */
    memset(gobj_priv(gobj), 0, sizeof(dst_priv_t));
    return 0;
}

static int ac_rec(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    dst_priv_t *priv = gobj_priv(gobj);
    json_t *n = kw ? json_object_get(kw, "n") : NULL;
    char num[32];

    if (json_is_integer(n))
        snprintf(num, sizeof num, "%" PRId64, (int64_t)json_integer_value(n));
    else
        snprintf(num, sizeof num, "-");
    t_trace_add("%s:%s:%s<%s", gobj_name(gobj), gobj_event_name(ev), num,
              src ? gobj_name(src) : "null");
    priv->received++;
    if (priv->hook)
        return priv->hook(gobj, ev, kw, src);
    return 0;
}

static const gobj_row_t dst_st_idle[] = {
    GOBJ_ROW(EV_PO_A, ac_rec, NULL),
    GOBJ_ROW(EV_PO_B, ac_rec, NULL),
    {NULL},
};
static const gobj_state_def_t dst_states[] = {
    {.state = ST_PO_IDLE, .rows = dst_st_idle},
    {NULL},
};
static const gobj_event_def_t dst_events[] = {
    {EV_PO_A, GOBJ_EV_IN, "{n?: int}"},
    {EV_PO_B, GOBJ_EV_IN, "{n?: int}"},
    {NULL},
};
static const gclass_def_t dst_def = {
    .name = "Dst",
    .description = "records posted deliveries",
    .states = dst_states,
    .events = dst_events,
    .methods = {.mt_create = dst_mt_create},
    .priv_size = sizeof(dst_priv_t),
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
        fprintf(stderr, "  (could not create %s)\n", name);
    return g;
}

static dst_priv_t *dp(gobj_t *gobj)
{
    return gobj_priv(gobj);
}

static json_t *kw_n(int n)
{
    return json_pack("{s:i}", "n", n);
}

#define REQUIRE(cond)   \
    do {                \
        T_ASSERT(cond); \
        if (!(cond))    \
            return;     \
    } while (0)

/* Empty the queue between cases, so that one broken case does not make
 * every later one fail too. */
static void drain(void)
{
    for (int i = 0; i < 100 && gobj_posted_count() > 0; i++)
        gobj_run_posted(1000);
}

static int g_notify_calls;
static void *g_notify_user;

static void on_post_notify(void *user)
{
    g_notify_calls++;
    g_notify_user = user;
}

static gobj_t *g_target;
static int g_post_result;

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/

/* Posting only queues; run_posted delivers, with the kw and the source. */
static void case_queue_then_deliver(void)
{
    gobj_t *root = mk("q", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *s = mk("s", root);
    REQUIRE(d1 && s);
    long json_before = t_json_live;

    T_EQ_INT(gobj_posted_count(), 0);
    t_trace_reset();
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(1), s), 0);
    T_EQ_STR(t_trace, "");
    T_EQ_INT(dp(d1)->received, 0);
    T_EQ_INT(gobj_posted_count(), 1);

    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<s");
    T_EQ_INT(gobj_posted_count(), 0);
    T_EQ_INT(gobj_run_posted(100), 0);
    T_EQ_INT(t_json_live, json_before);

    drain();
    gobj_destroy(root);
}

/* One FIFO across all destinations. */
static void case_fifo(void)
{
    gobj_t *root = mk("fifo", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *d2 = mk("d2", root);
    gobj_t *d3 = mk("d3", root);
    REQUIRE(d1 && d2 && d3);

    t_trace_reset();
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(1), NULL), 0);
    T_EQ_INT(gobj_post_event(d2, EV_PO_B, kw_n(2), d1), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_B, kw_n(3), d3), 0);
    T_EQ_INT(gobj_post_event(d3, EV_PO_A, NULL, NULL), 0);
    T_EQ_INT(gobj_post_event(d2, EV_PO_A, kw_n(5), NULL), 0);
    T_EQ_INT(gobj_posted_count(), 5);
    T_EQ_INT(gobj_run_posted(100), 5);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<null d2:EV_PO_B:2<d1 d1:EV_PO_B:3<d3 d3:EV_PO_A:-<null "
                      "d2:EV_PO_A:5<null");

    drain();
    gobj_destroy(root);
}

/* run_posted(max) delivers at most max. */
static void case_bounded_batch(void)
{
    gobj_t *root = mk("batch", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    REQUIRE(d1);

    for (int i = 1; i <= 5; i++)
        T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(i), NULL), 0);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(2), 2);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<null d1:EV_PO_A:2<null");
    T_EQ_INT(gobj_posted_count(), 3);
    T_EQ_INT(gobj_run_posted(2), 2);
    T_EQ_INT(gobj_posted_count(), 1);
    T_EQ_INT(gobj_run_posted(10), 1);
    T_EQ_INT(gobj_run_posted(10), 0);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<null d1:EV_PO_A:2<null d1:EV_PO_A:3<null "
                      "d1:EV_PO_A:4<null d1:EV_PO_A:5<null");

    drain();
    gobj_destroy(root);
}

/* An event posted while the queue drains waits for the next call, so a
 * gobj that posts to itself cannot starve the loop. */
static int hook_post_more(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    g_post_result = gobj_post_event(g_target, EV_PO_B, kw_n(dp(gobj)->received), gobj);
    return 0;
}

static void case_posted_during_drain(void)
{
    gobj_t *root = mk("during", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *d2 = mk("d2", root);
    REQUIRE(d1 && d2);

    dp(d1)->hook = hook_post_more;
    g_target = d2;
    g_post_result = 1;
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, NULL, NULL), 0);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_INT(g_post_result, 0);
    T_EQ_STR(t_trace, "d1:EV_PO_A:-<null");
    T_EQ_INT(gobj_posted_count(), 1);
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "d1:EV_PO_A:-<null d2:EV_PO_B:1<d1");

    /* Posting to itself: one step per call. */
    g_target = d1;
    dp(d1)->hook = hook_post_more;
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, NULL, NULL), 0);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_INT(gobj_posted_count(), 1);
    dp(d1)->hook = NULL;
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "d1:EV_PO_A:-<null d1:EV_PO_B:2<d1");
    T_EQ_INT(gobj_posted_count(), 0);

    drain();
    gobj_destroy(root);
}

/* Destroying the destination drops its queued events and their kw. */
static void case_destination_destroyed(void)
{
    gobj_t *root = mk("dstgone", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *d2 = mk("d2", root);
    REQUIRE(d1 && d2);
    long json_before = t_json_live;

    T_EQ_INT(gobj_post_event(d1, EV_PO_A, json_pack("{s:i,s:s}", "n", 1, "big", "payload"), NULL),
             0);
    T_EQ_INT(gobj_post_event(d2, EV_PO_A, kw_n(2), NULL), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_B, kw_n(3), NULL), 0);
    gobj_destroy(d1);

    /* A new gobj, possibly at the same address, must not inherit them. */
    gobj_t *d1b = mk("d1", root);
    t_trace_reset();
    (void)gobj_run_posted(100);
    T_EQ_STR(t_trace, "d2:EV_PO_A:2<null");
    T_EQ_INT(gobj_posted_count(), 0);
    if (d1b)
        T_EQ_INT(dp(d1b)->received, 0);
    gobj_destroy(d1b);
    T_EQ_INT(t_json_live, json_before);

    drain();
    gobj_destroy(root);
}

/* Destroying the source delivers with src == NULL. */
static void case_source_destroyed(void)
{
    gobj_t *root = mk("srcgone", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *s = mk("s", root);
    gobj_t *s2 = mk("s2", root);
    REQUIRE(d1 && s && s2);

    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(1), s), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(2), s2), 0);
    gobj_destroy(s);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(100), 2);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<null d1:EV_PO_A:2<s2");

    drain();
    gobj_destroy(root);
}

/* Posting to a gobj destroyed inside the current dispatch is refused and
 * the kw released. */
static int hook_destroy_and_post(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    gobj_destroy(g_target);
    g_post_result = gobj_post_event(g_target, EV_PO_A, kw_n(9), gobj);
    return 0;
}

static void case_post_to_destroyed(void)
{
    gobj_t *root = mk("postdead", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    gobj_t *d2 = mk("d2", root);
    REQUIRE(d1 && d2);
    long json_before = t_json_live;

    dp(d1)->hook = hook_destroy_and_post;
    g_target = d2;
    g_post_result = 1;
    T_EQ_INT(gobj_send_event(d1, EV_PO_A, NULL, NULL), 0);
    T_EQ_INT(g_post_result, GOBJ_EDESTROYED);
    T_EQ_INT(gobj_posted_count(), 0);
    T_EQ_INT(t_json_live, json_before);

    drain();
    gobj_destroy(root);
}

/* The notify hook fires when the queue goes from empty to non-empty. */
static void case_notify(void)
{
    gobj_t *root = mk("notify", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    REQUIRE(d1);
    int token = 0;

    g_notify_calls = 0;
    g_notify_user = NULL;
    gobj_set_post_notify(on_post_notify, &token);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(1), NULL), 0);
    T_EQ_INT(g_notify_calls, 1);
    T_ASSERT(g_notify_user == &token);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(2), NULL), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(3), NULL), 0);
    T_EQ_INT(g_notify_calls, 1);

    /* Still not empty after a partial drain: no new notice. */
    T_EQ_INT(gobj_run_posted(1), 1);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(4), NULL), 0);
    T_EQ_INT(g_notify_calls, 1);

    /* Emptied, then posted again: one more notice. */
    T_EQ_INT(gobj_run_posted(100), 3);
    T_EQ_INT(gobj_posted_count(), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_B, NULL, NULL), 0);
    T_EQ_INT(g_notify_calls, 2);
    T_EQ_INT(gobj_run_posted(100), 1);

    /* Cleared: no more calls. */
    gobj_set_post_notify(NULL, NULL);
    T_EQ_INT(gobj_post_event(d1, EV_PO_B, NULL, NULL), 0);
    T_EQ_INT(g_notify_calls, 2);

    drain();
    gobj_destroy(root);
}

/* An action that drops the queue and then posts: the drain in progress
 * stops at the drop, so the new event waits for the next drain. */
static int hook_drop_then_post(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    if (ev == EV_PO_A) {
        T_EQ_INT(gobj_drop_posted(), 1); /* d1's second EV_PO_A */
        T_EQ_INT(gobj_post_event(gobj, EV_PO_B, kw_n(7), NULL), 0);
    }
    return 0;
}

static void case_drop_then_post(void)
{
    gobj_t *root = mk("dropped", NULL);
    REQUIRE(root);
    gobj_t *d1 = mk("d1", root);
    REQUIRE(d1);
    dp(d1)->hook = hook_drop_then_post;
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(1), NULL), 0);
    T_EQ_INT(gobj_post_event(d1, EV_PO_A, kw_n(2), NULL), 0);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "d1:EV_PO_A:1<null");
    T_EQ_INT(gobj_posted_count(), 1);
    t_trace_reset();
    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "d1:EV_PO_B:7<null");
    drain();
    gobj_destroy(root);
}

int main(void)
{
    t_init();
    g_gc = gclass_register(&dst_def);
    T_ASSERT(g_gc != NULL);
    if (!g_gc)
        return t_done();

    case_queue_then_deliver();
    case_fifo();
    case_bounded_batch();
    case_posted_during_drain();
    case_destination_destroyed();
    case_source_destroyed();
    case_post_to_destroyed();
    case_notify();
    case_drop_then_post();

    T_EQ_INT(gobj_posted_count(), 0);
    T_EQ_INT(gobj_live_count(), 0);
    return t_done();
}
