/*
 * pubsub.c - subscriptions and publishing (doc/manual.md chapter 2, rule 12).
 *
 * A subscription sits on two lists: its publisher's (in subscription order,
 * the order of delivery) and its subscriber's (so that destroying either side
 * removes it at once).  Publishing walks a snapshot of the matching
 * subscriptions, each held by a reference, and re-checks before every send
 * that the subscription and the subscriber are still there: any action may
 * unsubscribe or destroy anything, including the publisher.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
    SUB_HARD = 0x01,
    SUB_POST = 0x02,
    SUB_OWN = 0x04,
};

struct sub {
    gobj_t *pub;
    gobj_t *subscriber;
    gobj_event_t ev;     /* NULL: every output event */
    gobj_event_t rename; /* deliver under this event, or NULL */
    json_t *filter;      /* kw must match, or NULL */
    unsigned flags;
    bool removed;
    unsigned refs; /* publishes walking over it */
    struct sub *pub_prev, *pub_next;
    struct sub *sub_prev, *sub_next;
};

/* EV_STATE_CHANGED goes only to those who ask for it by name: a
 * subscription to "every output event" (ev NULL) means the gclass's declared
 * outputs, and its subscriber need not handle state changes. */
static bool gets_state_changes(const struct sub *s)
{
    return s->ev == EV_STATE_CHANGED;
}

static void sub_free(struct sub *s)
{
    json_decref(s->filter);
    free(s);
}

static void sub_unlink(struct sub *s)
{
    gobj_t *p = s->pub, *r = s->subscriber;
    if (s->pub_prev)
        s->pub_prev->pub_next = s->pub_next;
    else
        p->pub_head = s->pub_next;
    if (s->pub_next)
        s->pub_next->pub_prev = s->pub_prev;
    else
        p->pub_tail = s->pub_prev;
    if (s->sub_prev)
        s->sub_prev->sub_next = s->sub_next;
    else
        r->sub_head = s->sub_next;
    if (s->sub_next)
        s->sub_next->sub_prev = s->sub_prev;
    if (gets_state_changes(s))
        p->n_state_subs--;
    s->removed = true;
    if (!s->refs)
        sub_free(s);
}

void pubsub__remove_all(gobj_t *g)
{
    while (g->pub_head)
        sub_unlink(g->pub_head);
    while (g->sub_head)
        sub_unlink(g->sub_head);
}

static bool declares_output(const gobj_t *pub, gobj_event_t ev)
{
    if (ev == EV_STATE_CHANGED)
        return true;
    return ev->id && ev->id < pub->gc->n_slots && (pub->gc->ev_flags[ev->id] & GOBJ_EV_OUT);
}

static bool json_flag(const json_t *kw, const char *key)
{
    return json_is_true(json_object_get(kw, key));
}

int gobj_subscribe_event(gobj_t *pub, gobj_event_t ev, json_t *kw, gobj_t *subscriber)
{
    int rc = 0;
    struct sub *s = NULL;
    if (!gobj__alive(pub) || !gobj__alive(subscriber)) {
        gobj__errorf(pub, "gobj_subscribe_event %s: the %s is %s", gobj_event_name(ev),
                     gobj__alive(pub) ? "subscriber" : "publisher",
                     (gobj__alive(pub) ? subscriber : pub) ? "destroyed" : "NULL");
        rc = GOBJ_EINVAL;
        goto out;
    }
    if (kw && !json_is_object(kw)) {
        gobj__errorf(pub, "gobj_subscribe_event %s: options must be a JSON object",
                     gobj_event_name(ev));
        rc = GOBJ_EINVAL;
        goto out;
    }
    if (ev && !declares_output(pub, ev)) {
        gobj__errorf(pub, "gobj_subscribe_event: %s (%s) does not publish %s", pub->full_name,
                     pub->gc->name, ev->name);
        rc = GOBJ_ENOEVENT;
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach (kw, key, v) {
        if (strcmp(key, "__rename_event_name__") != 0 &&
            strcmp(key, "__hard_subscription__") != 0 && strcmp(key, "__use_post_event__") != 0 &&
            strcmp(key, "__filter__") != 0 && strcmp(key, "__own_event__") != 0) {
            gobj__errorf(pub, "gobj_subscribe_event %s: unknown option '%s'", gobj_event_name(ev),
                         key);
            rc = GOBJ_EINVAL;
            goto out;
        }
    }
    gobj_event_t rename = NULL;
    json_t *rn = json_object_get(kw, "__rename_event_name__");
    if (rn) {
        rename = gobj_event_find(json_string_value(rn));
        if (!rename) {
            gobj__errorf(pub,
                         "gobj_subscribe_event %s: __rename_event_name__ '%s' is not a "
                         "known event",
                         gobj_event_name(ev), json_is_string(rn) ? json_string_value(rn) : "?");
            rc = GOBJ_EINVAL;
            goto out;
        }
    }
    json_t *filter = json_object_get(kw, "__filter__");
    if (filter && !json_is_object(filter)) {
        gobj__errorf(pub, "gobj_subscribe_event %s: __filter__ must be a JSON object",
                     gobj_event_name(ev));
        rc = GOBJ_EINVAL;
        goto out;
    }
    for (struct sub *o = pub->pub_head; o; o = o->pub_next) {
        if (o->subscriber == subscriber && o->ev == ev && o->rename == rename) {
            rc = GOBJ_EEXIST;
            goto out;
        }
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        rc = GOBJ_ENOMEM;
        goto out;
    }
    s->pub = pub;
    s->subscriber = subscriber;
    s->ev = ev;
    s->rename = rename;
    s->filter = filter ? json_incref(filter) : NULL;
    s->flags = (json_flag(kw, "__hard_subscription__") ? SUB_HARD : 0) |
               (json_flag(kw, "__use_post_event__") ? SUB_POST : 0) |
               (json_flag(kw, "__own_event__") ? SUB_OWN : 0);
    s->pub_prev = pub->pub_tail;
    if (pub->pub_tail)
        pub->pub_tail->pub_next = s;
    else
        pub->pub_head = s;
    pub->pub_tail = s;
    s->sub_next = subscriber->sub_head;
    if (subscriber->sub_head)
        subscriber->sub_head->sub_prev = s;
    subscriber->sub_head = s;
    if (gets_state_changes(s))
        pub->n_state_subs++;
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__subscription(pub, "subscribe", ev, subscriber);
out:
    json_decref(kw);
    return rc;
}

int gobj_unsubscribe_event(gobj_t *pub, gobj_event_t ev, json_t *kw, gobj_t *subscriber)
{
    bool force = json_flag(kw, "__force__");
    json_decref(kw);
    if (!pub || !subscriber)
        return GOBJ_EINVAL;
    int found = 0, kept = 0;
    for (struct sub *s = pub->pub_head, *n; s; s = n) {
        n = s->pub_next;
        if (s->subscriber != subscriber || s->ev != ev)
            continue;
        if ((s->flags & SUB_HARD) && !force) {
            kept++;
            continue;
        }
        if (GOBJ_UNLIKELY(gobj__trace_any))
            trace__subscription(pub, "unsubscribe", ev, subscriber);
        sub_unlink(s);
        found++;
    }
    if (found)
        return 0;
    return kept ? GOBJ_EACCES : GOBJ_ENOENT;
}

size_t gobj_subscription_count(const gobj_t *pub, gobj_event_t ev)
{
    size_t n = 0;
    for (const struct sub *s = pub ? pub->pub_head : NULL; s; s = s->pub_next)
        if (!ev || s->ev == ev)
            n++;
    return n;
}

static bool filter_matches(const json_t *filter, const json_t *kw)
{
    /* A NULL kw matches no filter, not even the empty one. */
    if (!json_is_object(kw))
        return false;
    const char *key;
    json_t *want;
    json_object_foreach ((json_t *)filter, key, want) {
        json_t *have = json_object_get(kw, key);
        if (!have || !json_equal(have, want))
            return false;
    }
    return true;
}

static int deliver(struct sub *s, gobj_event_t ev, json_t *kw)
{
    gobj_t *pub = s->pub;
    if (s->rename) {
        /* The kw is shared and read-only: the renamed delivery gets a copy
         * that names the original event. */
        json_t *k = kw ? json_copy(kw) : json_object();
        json_object_set_new(k, "original_event_name", json_string(ev->name));
        if (s->flags & SUB_POST)
            return gobj_post_event(s->subscriber, s->rename, k, pub);
        return gobj_send_event(s->subscriber, s->rename, k, pub);
    }
    if (s->flags & SUB_POST)
        return gobj_post_event(s->subscriber, ev, json_incref(kw), pub);
    return gobj_send_event(s->subscriber, ev, json_incref(kw), pub);
}

int gobj_publish_event(gobj_t *pub, gobj_event_t ev, json_t *kw)
{
    if (!gobj__alive(pub) || !ev) {
        json_decref(kw);
        return 0;
    }
    if (!declares_output(pub, ev)) {
        gobj__errorf(pub, "gobj_publish_event: %s (%s) does not declare output event %s",
                     pub->full_name, pub->gc->name, ev->name);
        json_decref(kw);
        return GOBJ_ENOEVENT;
    }
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__subscription(pub, "publish", ev, NULL);

    struct sub *stack[16];
    struct sub **snap = stack;
    size_t n = 0, cap = 16;
    for (struct sub *s = pub->pub_head; s; s = s->pub_next) {
        if (s->ev ? s->ev != ev : ev == EV_STATE_CHANGED)
            continue;
        if (n == cap) {
            size_t ncap = cap * 2;
            struct sub **m = malloc(ncap * sizeof *m);
            if (!m)
                break;
            memcpy(m, snap, n * sizeof *m);
            if (snap != stack)
                free(snap);
            snap = m;
            cap = ncap;
        }
        s->refs++;
        snap[n++] = s;
    }

    gobj__enter();
    int delivered = 0;
    size_t i = 0;
    for (; i < n; i++) {
        struct sub *s = snap[i];
        if (s->removed || !gobj__alive(s->subscriber))
            continue;
        if (s->filter && !filter_matches(s->filter, kw))
            continue;
        int ret = deliver(s, ev, kw);
        delivered++;
        if ((s->flags & SUB_OWN) && ret > 0)
            break;
    }
    for (i = 0; i < n; i++) {
        struct sub *s = snap[i];
        if (--s->refs == 0 && s->removed)
            sub_free(s);
    }
    if (snap != stack)
        free(snap);
    json_decref(kw);
    gobj__leave();
    return delivered;
}

void pubsub__publish_state_change(gobj_t *g, int16_t previous, int16_t current)
{
    json_t *kw = json_pack("{s:s, s:s}", "previous", g->gc->states[previous].name->name, "current",
                           g->gc->states[current].name->name);
    gobj_publish_event(g, EV_STATE_CHANGED, kw);
}
