/*
 * test_pubsub.c - the publish/subscribe contract (doc/manual.md chapter 2,
 * rule 12, and chapter 3).
 *
 * A "Pub" gclass declares two output events; a "Sub" gclass accepts them
 * (and the rename target and EV_STATE_CHANGED) with one recording action
 * that appends "name:EVENT" to a trace and then runs an optional per-gobj
 * hook, so that each case can act from inside the fan-out: destroy itself,
 * another subscriber or the publisher.
 *
 * Every case builds its own small tree under a root and destroys it at the
 * end, so the cases do not see each other's subscriptions.
 */
#include <stdarg.h>

#include "testlib.h"

/* Output events of Pub. */
GOBJ_DEFINE_EVENT(EV_PS_A); /* {x?: int, k?: string, n?: int} */
GOBJ_DEFINE_EVENT(EV_PS_B); /* {} */
/* Input of Pub, only so that its machine has a row. */
GOBJ_DEFINE_EVENT(EV_PS_POKE);
/* Input of Sub: the name a renamed subscription delivers under. */
GOBJ_DEFINE_EVENT(EV_PS_RENAMED);
/* Input of Sub that no Pub outputs: subscribing to it must be refused. */
GOBJ_DEFINE_EVENT(EV_PS_SUB_ONLY);

GOBJ_DEFINE_STATE(ST_PUB_ONE);
GOBJ_DEFINE_STATE(ST_PUB_TWO);
GOBJ_DEFINE_STATE(ST_SUB_IDLE);

/* Deliveries are recorded in testlib's t_trace. */

/*--------------------------------------------------------------------------*
 *  Pub: a publisher with two states (for EV_STATE_CHANGED)
 *--------------------------------------------------------------------------*/
typedef struct {
    int unused;
} pub_priv_t;

static const gobj_row_t pub_st_one[] = {
    GOBJ_ROW(EV_PS_POKE, NULL, ST_PUB_TWO),
    {NULL},
};
static const gobj_row_t pub_st_two[] = {
    GOBJ_ROW(EV_PS_POKE, NULL, ST_PUB_ONE),
    {NULL},
};
static const gobj_state_def_t pub_states[] = {
    {.state = ST_PUB_ONE, .rows = pub_st_one},
    {.state = ST_PUB_TWO, .rows = pub_st_two},
    {NULL},
};
static const gobj_event_def_t pub_events[] = {
    {EV_PS_A, GOBJ_EV_OUT, "{x?: int, k?: string, n?: int}"},
    {EV_PS_B, GOBJ_EV_OUT, "{}"},
    {EV_PS_POKE, GOBJ_EV_IN, "{}"},
    {NULL},
};
static const gclass_def_t pub_def = {
    .name = "Pub",
    .description = "test publisher",
    .states = pub_states,
    .events = pub_events,
    .priv_size = sizeof(pub_priv_t),
};

/*--------------------------------------------------------------------------*
 *  Sub: records every delivery, then runs its hook
 *--------------------------------------------------------------------------*/
typedef int (*sub_hook_fn)(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);

typedef struct {
    int ret; /* returned by the action when there is no hook */
    sub_hook_fn hook;
    int received;
    json_t *last_kw; /* compared as a pointer only */
    gobj_t *last_src;
    gobj_event_t last_ev;
    char last_orig[64]; /* kw.original_event_name, "" if absent */
    char previous[32];  /* EV_STATE_CHANGED kw */
    char current[32];
} sub_priv_t;

static int sub_mt_create(gobj_t *gobj)
{
    /* Sub has no attributes, so clearing the whole private struct cannot
     * undo an attribute binding. */
    memset(gobj_priv(gobj), 0, sizeof(sub_priv_t));
    return 0;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int ac_record(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    sub_priv_t *priv = gobj_priv(gobj);

    t_trace_add("%s:%s", gobj_name(gobj), gobj_event_name(ev));
    priv->received++;
    priv->last_kw = kw;
    priv->last_src = src;
    priv->last_ev = ev;
    copy_str(priv->last_orig, sizeof priv->last_orig,
             kw ? json_object_get(kw, "original_event_name") : NULL);
    if (ev == EV_STATE_CHANGED && kw) {
        copy_str(priv->previous, sizeof priv->previous, json_object_get(kw, "previous"));
        copy_str(priv->current, sizeof priv->current, json_object_get(kw, "current"));
    }
    if (priv->hook)
        return priv->hook(gobj, ev, kw, src);
    return priv->ret;
}

static const gobj_row_t sub_st_idle[] = {
    GOBJ_ROW(EV_PS_A, ac_record, NULL),          GOBJ_ROW(EV_PS_B, ac_record, NULL),
    GOBJ_ROW(EV_PS_RENAMED, ac_record, NULL),    GOBJ_ROW(EV_PS_SUB_ONLY, ac_record, NULL),
    GOBJ_ROW(EV_STATE_CHANGED, ac_record, NULL), {NULL},
};
static const gobj_state_def_t sub_states[] = {
    {.state = ST_SUB_IDLE, .rows = sub_st_idle},
    {NULL},
};
static const gobj_event_def_t sub_events[] = {
    {EV_PS_A, GOBJ_EV_IN, "{x?: int}"},
    {EV_PS_B, GOBJ_EV_IN, "{}"},
    {EV_PS_RENAMED, GOBJ_EV_IN, "{original_event_name: string}"},
    {EV_PS_SUB_ONLY, GOBJ_EV_IN, "{}"},
    {EV_STATE_CHANGED, GOBJ_EV_IN, "{previous: string, current: string}"},
    {NULL},
};
static const gclass_def_t sub_def = {
    .name = "Sub",
    .description = "test subscriber",
    .states = sub_states,
    .events = sub_events,
    .methods = {.mt_create = sub_mt_create},
    .priv_size = sizeof(sub_priv_t),
};

static gclass_t *g_pub_gc;
static gclass_t *g_sub_gc;

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
static gobj_t *mk(gclass_t *gc, const char *name, gobj_t *parent)
{
    gobj_t *g = gobj_create(name, gc, NULL, parent);
    T_ASSERT(g != NULL);
    if (!g)
        fprintf(stderr, "  (could not create %s)\n", name);
    return g;
}

static sub_priv_t *sp(gobj_t *sub)
{
    return gobj_priv(sub);
}

/* Used by hooks: the gobj a hook acts on, and what it observed. */
static gobj_t *g_victim;
static gobj_t *g_other;
static gobj_t *g_root;
static int g_hook_calls;
static int g_r1, g_r2;
static size_t g_live_inside;
static bool g_destroying_inside;

#define REQUIRE(cond)   \
    do {                \
        T_ASSERT(cond); \
        if (!(cond))    \
            return;     \
    } while (0)

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/

/* Publish reaches every subscriber of the event, in subscription order (not
 * creation order), with the publisher as src, and returns the count. */
static void case_order_and_count(void)
{
    gobj_t *root = mk(g_pub_gc, "order", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(pub && s1 && s2 && s3);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s3), 0);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_A), 3);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_B), 0);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 3);

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:i}", "x", 1)), 3);
    T_EQ_STR(t_trace, "s2:EV_PS_A s1:EV_PS_A s3:EV_PS_A");
    T_ASSERT(sp(s1)->last_src == pub);
    T_ASSERT(sp(s3)->last_ev == EV_PS_A);

    /* Nobody subscribed to EV_PS_B: no delivery, and the kw is still
     * released (checked by the harness at the end). */
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_B, json_object()), 0);
    T_EQ_STR(t_trace, "");

    gobj_destroy(root);
}

/* A subscription to the NULL event receives every output event. */
static void case_all_events(void)
{
    gobj_t *root = mk(g_pub_gc, "all", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    REQUIRE(pub && s1);

    T_EQ_INT(gobj_subscribe_event(pub, NULL, NULL, s1), 0);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_B, NULL), 1);
    T_EQ_STR(t_trace, "s1:EV_PS_A s1:EV_PS_B");

    /* The catch-all subscription is removed like any other. */
    T_EQ_INT(gobj_unsubscribe_event(pub, NULL, NULL, s1), 0);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 0);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 0);
    T_EQ_STR(t_trace, "");

    gobj_destroy(root);
}

/* Refusals: an event the publisher does not output, a duplicate, NULL
 * gobjs, an unknown subscription on unsubscribe.  Every refused call still
 * releases its kw. */
static void case_refusals(void)
{
    gobj_t *root = mk(g_pub_gc, "refuse", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    REQUIRE(pub && s1);
    long json_before = t_json_live;

    /* EV_PS_POKE is an input of Pub, EV_PS_SUB_ONLY is not in its table. */
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_POKE, json_object(), s1), GOBJ_ENOEVENT);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_SUB_ONLY, NULL, s1), GOBJ_ENOEVENT);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 0);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, json_object(), s1), GOBJ_EEXIST);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_A), 1);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    T_EQ_STR(t_trace, "s1:EV_PS_A");

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, json_object(), NULL), GOBJ_EINVAL);
    T_EQ_INT(gobj_subscribe_event(NULL, EV_PS_A, json_object(), s1), GOBJ_EINVAL);

    T_EQ_INT(gobj_unsubscribe_event(pub, EV_PS_B, NULL, s1), GOBJ_ENOENT);
    T_EQ_INT(gobj_unsubscribe_event(pub, EV_PS_B, json_pack("{s:b}", "__force__", 1), s1),
             GOBJ_ENOENT);
    T_EQ_INT(gobj_unsubscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_unsubscribe_event(pub, EV_PS_A, NULL, s1), GOBJ_ENOENT);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 0);

    T_EQ_INT(t_json_live, json_before);
    gobj_destroy(root);
}

/* A renamed subscription delivers under the new name with
 * original_event_name in a copy of the kw; the subscribers after it see the
 * publisher's kw unchanged. */
static void case_rename(void)
{
    gobj_t *root = mk(g_pub_gc, "rename", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A,
                                  json_pack("{s:s}", "__rename_event_name__", "EV_PS_RENAMED"), s1),
             0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);

    json_t *kw = json_pack("{s:i}", "x", 7);
    json_incref(kw); /* keep one reference to look at it after the publish */
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, kw), 2);
    T_EQ_STR(t_trace, "s1:EV_PS_RENAMED s2:EV_PS_A");
    T_ASSERT(sp(s1)->last_ev == EV_PS_RENAMED);
    T_EQ_STR(sp(s1)->last_orig, "EV_PS_A");
    T_EQ_STR(sp(s2)->last_orig, "");
    T_ASSERT(sp(s2)->last_kw == kw);
    T_ASSERT(json_object_get(kw, "original_event_name") == NULL);
    T_EQ_INT(json_object_size(kw), 1);
    json_decref(kw);

    /* With no kw at all the renamed subscriber still learns the original
     * name. */
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 2);
    T_EQ_STR(sp(s1)->last_orig, "EV_PS_A");

    gobj_destroy(root);
}

/* A hard subscription survives a plain unsubscribe; __force__ removes it. */
static void case_hard(void)
{
    gobj_t *root = mk(g_pub_gc, "hard", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, json_pack("{s:b}", "__hard_subscription__", 1), s1),
             0);
    /* The refusal is an error (which code is not pinned here), not 0. */
    T_ASSERT(gobj_unsubscribe_event(pub, EV_PS_A, NULL, s1) < 0);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_A), 1);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    T_EQ_STR(t_trace, "s1:EV_PS_A");

    T_EQ_INT(gobj_unsubscribe_event(pub, EV_PS_A, json_pack("{s:b}", "__force__", 1), s1), 0);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_A), 0);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 0);
    T_EQ_STR(t_trace, "");

    /* Destroying the subscriber removes even a hard subscription. */
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_B, json_pack("{s:b}", "__hard_subscription__", 1), s2),
             0);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_B), 1);
    gobj_destroy(s2);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_B), 0);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_B, NULL), 0);

    gobj_destroy(root);
}

/* __use_post_event__ queues the delivery until gobj_run_posted. */
static void case_use_post(void)
{
    gobj_t *root = mk(g_pub_gc, "post", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, json_pack("{s:b}", "__use_post_event__", 1), s1),
             0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    long json_before = t_json_live;
    T_EQ_INT(gobj_posted_count(), 0);

    t_trace_reset();
    (void)gobj_publish_event(pub, EV_PS_A, json_pack("{s:i}", "x", 3));
    T_EQ_STR(t_trace, "s2:EV_PS_A");
    T_EQ_INT(sp(s1)->received, 0);
    T_EQ_INT(gobj_posted_count(), 1);

    T_EQ_INT(gobj_run_posted(100), 1);
    T_EQ_STR(t_trace, "s2:EV_PS_A s1:EV_PS_A");
    T_EQ_INT(sp(s1)->received, 1);
    T_ASSERT(sp(s1)->last_src == pub);
    T_EQ_INT(gobj_posted_count(), 0);
    /* The kw travelled through the queue and is gone now. */
    T_EQ_INT(t_json_live, json_before);

    gobj_destroy(root);
}

/* __filter__ delivers only when every key of the filter matches the kw. */
static void case_filter(void)
{
    gobj_t *root = mk(g_pub_gc, "filter", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A,
                                  json_pack("{s:{s:s,s:i}}", "__filter__", "k", "v", "n", 2), s1),
             0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    long json_before = t_json_live;

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:s,s:i,s:i}", "k", "v", "n", 2, "z", 0)),
             2);
    T_EQ_STR(t_trace, "s1:EV_PS_A s2:EV_PS_A");

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:s}", "k", "v")), 1);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:s,s:i}", "k", "v", "n", 3)), 1);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:s,s:i}", "k", "w", "n", 2)), 1);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    T_EQ_STR(t_trace, "s2:EV_PS_A s2:EV_PS_A s2:EV_PS_A s2:EV_PS_A");
    T_EQ_INT(sp(s1)->received, 1);
    T_EQ_INT(t_json_live, json_before);

    /* An empty filter matches every kw object, and a NULL kw matches no
     * filter, not even the empty one. */
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(s3);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_B, json_pack("{s:{}}", "__filter__"), s3), 0);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_B, json_object()), 1);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_B, NULL), 0);
    T_EQ_STR(t_trace, "s3:EV_PS_B");

    gobj_destroy(root);
}

/* __own_event__: a result > 0 from that subscriber ends the fan-out; the
 * same result from a plain subscriber does not. */
static void case_own_event(void)
{
    gobj_t *root = mk(g_pub_gc, "own", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s0 = mk(g_sub_gc, "s0", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s0 && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s0), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, json_pack("{s:b}", "__own_event__", 1), s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    sp(s0)->ret = 1;
    sp(s1)->ret = 1;

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 2);
    T_EQ_STR(t_trace, "s0:EV_PS_A s1:EV_PS_A");
    T_EQ_INT(sp(s2)->received, 0);

    sp(s1)->ret = 0;
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 3);
    T_EQ_STR(t_trace, "s0:EV_PS_A s1:EV_PS_A s2:EV_PS_A");

    gobj_destroy(root);
}

/* Every subscriber gets the very same kw pointer, and the kw is released
 * once the publish returns. */
static void case_shared_kw(void)
{
    gobj_t *root = mk(g_pub_gc, "shared", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(pub && s1 && s2 && s3);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s3), 0);

    json_t *kw = json_pack("{s:i}", "x", 1);
    json_incref(kw);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, kw), 3);
    T_ASSERT(sp(s1)->last_kw == kw);
    T_ASSERT(sp(s2)->last_kw == kw);
    T_ASSERT(sp(s3)->last_kw == kw);
    /* Only our own reference is left. */
    T_EQ_INT(kw->refcount, 1);
    json_decref(kw);

    long json_before = t_json_live;
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, json_pack("{s:s,s:[i,i]}", "data", "abc", "l", 1, 2)),
             3);
    T_EQ_INT(t_json_live, json_before);

    gobj_destroy(root);
}

/* Destroying a subscriber, or a publisher, removes its subscriptions. */
static void case_destroy_removes(void)
{
    gobj_t *root = mk(g_pub_gc, "rm", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *pub2 = mk(g_pub_gc, "pub2", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && pub2 && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_B, json_pack("{s:{s:s}}", "__filter__", "k", "v"), s1),
             0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 3);

    gobj_destroy(s1);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 1);
    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    T_EQ_STR(t_trace, "s2:EV_PS_A");

    /* s2 subscribes to a second publisher (with an option that holds json),
     * which is then destroyed: the options are released and s2, which also
     * keeps a record of its subscriptions, can still be destroyed cleanly
     * afterwards (valgrind would see a dangling record). */
    long json_before = t_json_live;
    T_EQ_INT(
        gobj_subscribe_event(pub2, EV_PS_A, json_pack("{s:{s:s}}", "__filter__", "k", "v"), s2), 0);
    T_EQ_INT(gobj_subscription_count(pub2, NULL), 1);
    gobj_destroy(pub2);
    T_EQ_INT(t_json_live, json_before);
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 1);
    gobj_destroy(s2);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 0);

    gobj_destroy(root);
}

/* EV_STATE_CHANGED is an output of every gobj whatever its gclass says. */
static void case_state_changed(void)
{
    gobj_t *root = mk(g_pub_gc, "stch", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_STATE_CHANGED, NULL, s1), 0);
    /* Sub declares no output at all, yet its state changes can be watched. */
    T_EQ_INT(gobj_subscribe_event(s2, EV_STATE_CHANGED, NULL, s1), 0);

    T_ASSERT(gobj_current_state(pub) == ST_PUB_ONE);
    T_ASSERT(gobj_change_state(pub, ST_PUB_TWO));
    T_EQ_INT(sp(s1)->received, 1);
    T_ASSERT(sp(s1)->last_ev == EV_STATE_CHANGED);
    T_ASSERT(sp(s1)->last_src == pub);
    T_EQ_STR(sp(s1)->previous, "ST_PUB_ONE");
    T_EQ_STR(sp(s1)->current, "ST_PUB_TWO");

    /* No change, no event. */
    (void)gobj_change_state(pub, ST_PUB_TWO);
    T_EQ_INT(sp(s1)->received, 1);

    /* A transition made by a row publishes it too. */
    T_EQ_INT(gobj_send_event(pub, EV_PS_POKE, NULL, NULL), 0);
    T_ASSERT(gobj_current_state(pub) == ST_PUB_ONE);
    T_EQ_INT(sp(s1)->received, 2);
    T_EQ_STR(sp(s1)->previous, "ST_PUB_TWO");
    T_EQ_STR(sp(s1)->current, "ST_PUB_ONE");

    /* A subscription to every output event does not include state changes:
     * they go only to those who name EV_STATE_CHANGED. */
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(s3);
    T_EQ_INT(gobj_subscribe_event(pub, NULL, NULL, s3), 0);
    T_ASSERT(gobj_change_state(pub, ST_PUB_TWO));
    T_EQ_INT(sp(s1)->received, 3);
    T_EQ_INT(sp(s3)->received, 0);

    gobj_destroy(root);
}

/* Inside a dispatch a destroyed gobj still exists in memory: it must be
 * refused both as subscriber and as publisher. */
static int hook_subscribe_destroyed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    g_hook_calls++;
    gobj_destroy(g_victim); /* a subscriber */
    gobj_destroy(g_other);  /* a publisher */
    g_r1 = gobj_subscribe_event(gobj_find_child(g_root, "pub"), EV_PS_A,
                                json_pack("{s:b}", "__hard_subscription__", 1), g_victim);
    g_r2 = gobj_subscribe_event(g_other, EV_PS_A, json_object(), gobj);
    return 0;
}

static void case_subscribe_destroyed(void)
{
    gobj_t *root = mk(g_pub_gc, "dead", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *pub2 = mk(g_pub_gc, "pub2", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && pub2 && s1 && s2);

    g_root = root;
    g_victim = s2;
    g_other = pub2;
    g_hook_calls = 0;
    g_r1 = g_r2 = 1;
    sp(s1)->hook = hook_subscribe_destroyed;
    long json_before = t_json_live;
    size_t live = gobj_live_count();

    T_EQ_INT(gobj_send_event(s1, EV_PS_A, NULL, NULL), 0);
    T_EQ_INT(g_hook_calls, 1);
    T_EQ_INT(g_r1, GOBJ_EINVAL);
    T_EQ_INT(g_r2, GOBJ_EINVAL);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 0);
    T_EQ_INT(gobj_live_count(), live - 2);
    T_EQ_INT(t_json_live, json_before);

    gobj_destroy(root);
}

/* A subscriber destroys itself during the fan-out: the later subscribers
 * still get the event, the destroyed one gets nothing more (it is also
 * subscribed to every event, later in the list), and it is freed only after
 * its action returned. */
static int hook_destroy_self(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    size_t live = gobj_live_count();
    g_hook_calls++;
    gobj_destroy(gobj);
    g_destroying_inside = gobj_is_destroying(gobj);
    g_live_inside = live - gobj_live_count(); /* 0: not freed yet */
    /* The private struct is still readable after gobj_destroy(). */
    return sp(gobj)->ret;
}

static void case_destroy_self_in_fanout(void)
{
    gobj_t *root = mk(g_pub_gc, "self", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(pub && s1 && s2 && s3);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s3), 0);
    T_EQ_INT(gobj_subscribe_event(pub, NULL, NULL, s2), 0);
    sp(s2)->hook = hook_destroy_self;
    sp(s2)->ret = 5;
    g_hook_calls = 0;
    g_live_inside = 99;
    g_destroying_inside = false;
    size_t live = gobj_live_count();

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 3);
    T_EQ_STR(t_trace, "s1:EV_PS_A s2:EV_PS_A s3:EV_PS_A");
    T_EQ_INT(g_hook_calls, 1);
    T_ASSERT(g_destroying_inside);
    T_EQ_INT(g_live_inside, 0);
    T_EQ_INT(gobj_live_count(), live - 1);
    T_EQ_INT(gobj_subscription_count(pub, NULL), 2);

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 2);
    T_EQ_STR(t_trace, "s1:EV_PS_A s3:EV_PS_A");

    gobj_destroy(root);
}

/* A subscriber destroys the publisher in the middle of its publish. */
static int hook_destroy_victim(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    g_hook_calls++;
    gobj_destroy(g_victim);
    g_destroying_inside = gobj_is_destroying(g_victim);
    /* It left the tree at once. */
    g_r1 = gobj_find_child(g_root, gobj_name(g_victim)) == NULL;
    /* Sent an event its machine accepts, so that only the destruction can
     * refuse it. */
    g_r2 = gobj_send_event(g_victim, gobj_gclass(g_victim) == g_pub_gc ? EV_PS_POKE : EV_PS_A,
                           json_object(), NULL);
    return 0;
}

static void case_destroy_publisher_in_fanout(void)
{
    gobj_t *root = mk(g_pub_gc, "killpub", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    REQUIRE(pub && s1 && s2);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    sp(s1)->hook = hook_destroy_victim;
    g_root = root;
    g_victim = pub;
    g_hook_calls = 0;
    g_destroying_inside = false;
    g_r1 = 0;
    g_r2 = 0;
    size_t live = gobj_live_count();
    long json_before = t_json_live;

    t_trace_reset();
    int n = gobj_publish_event(pub, EV_PS_A, json_pack("{s:i}", "x", 1));
    T_ASSERT(n >= 1);
    T_ASSERT(strncmp(t_trace, "s1:EV_PS_A", 10) == 0);
    T_EQ_INT(g_hook_calls, 1);
    T_ASSERT(g_destroying_inside);
    T_EQ_INT(g_r1, 1);
    T_EQ_INT(g_r2, GOBJ_EDESTROYED);
    T_EQ_INT(gobj_live_count(), live - 1);
    T_EQ_INT(t_json_live, json_before);
    T_EQ_INT(gobj_child_count(root), 2);

    gobj_destroy(root);
}

/* A subscriber destroys a subscriber that comes later in the list: that
 * one receives nothing. */
static void case_destroy_later_subscriber(void)
{
    gobj_t *root = mk(g_pub_gc, "later", NULL);
    REQUIRE(root);
    gobj_t *pub = mk(g_pub_gc, "pub", root);
    gobj_t *s1 = mk(g_sub_gc, "s1", root);
    gobj_t *s2 = mk(g_sub_gc, "s2", root);
    gobj_t *s3 = mk(g_sub_gc, "s3", root);
    REQUIRE(pub && s1 && s2 && s3);

    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s1), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s2), 0);
    T_EQ_INT(gobj_subscribe_event(pub, EV_PS_A, NULL, s3), 0);
    sp(s1)->hook = hook_destroy_victim;
    g_root = root;
    g_victim = s3;
    g_hook_calls = 0;
    size_t live = gobj_live_count();

    t_trace_reset();
    T_EQ_INT(gobj_publish_event(pub, EV_PS_A, NULL), 2);
    T_EQ_STR(t_trace, "s1:EV_PS_A s2:EV_PS_A");
    T_EQ_INT(g_r2, GOBJ_EDESTROYED);
    T_EQ_INT(gobj_live_count(), live - 1);
    T_EQ_INT(gobj_subscription_count(pub, EV_PS_A), 2);

    gobj_destroy(root);
}

int main(void)
{
    t_init();
    g_pub_gc = gclass_register(&pub_def);
    g_sub_gc = gclass_register(&sub_def);
    T_ASSERT(g_pub_gc != NULL);
    T_ASSERT(g_sub_gc != NULL);
    if (!g_pub_gc || !g_sub_gc)
        return t_done();

    case_order_and_count();
    case_all_events();
    case_refusals();
    case_rename();
    case_hard();
    case_use_post();
    case_filter();
    case_own_event();
    case_shared_kw();
    case_destroy_removes();
    case_state_changed();
    case_subscribe_destroyed();
    case_destroy_self_in_fanout();
    case_destroy_publisher_in_fanout();
    case_destroy_later_subscriber();

    T_EQ_INT(gobj_live_count(), 0);
    T_EQ_INT(gobj_posted_count(), 0);
    return t_done();
}
