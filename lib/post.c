/*
 * post.c - the post queue: events delivered on a later loop turn, FIFO.
 *
 * A ring buffer of (dst, event, kw, src).  Each gobj counts the entries that
 * name it, so destroying a gobj scans the queue only when it has entries
 * there: its incoming events are dropped (kw released) and its outgoing ones
 * are delivered with src NULL.
 */
#include <stdlib.h>

#include "internal.h"

struct post_entry {
    gobj_t *dst; /* NULL: dropped */
    gobj_event_t ev;
    json_t *kw;
    gobj_t *src;
};

static struct post_entry *ring;
static size_t head, len, cap;
static void (*notify_fn)(void *user);
static void *notify_user;
/* Counts gobj_drop_posted calls, so that a drain in progress stops at a
 * drop instead of delivering what was posted after it. */
static unsigned long drop_epoch;

void gobj_set_post_notify(void (*fn)(void *user), void *user)
{
    notify_fn = fn;
    notify_user = user;
}

size_t gobj_posted_count(void)
{
    return len;
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 256;
    struct post_entry *n = malloc(ncap * sizeof *n);
    if (!n)
        return GOBJ_ENOMEM;
    for (size_t i = 0; i < len; i++)
        n[i] = ring[(head + i) % cap];
    free(ring);
    ring = n;
    cap = ncap;
    head = 0;
    return 0;
}

int gobj_post_event(gobj_t *dst, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    if (!dst || !ev) {
        json_decref(kw);
        return GOBJ_EINVAL;
    }
    if (dst->flags & GOBJ_F_DESTROYED) {
        json_decref(kw);
        return GOBJ_EDESTROYED;
    }
    if (len == cap && grow() < 0) {
        gobj__errorf(dst, "gobj_post_event %s to %s: out of memory", ev->name, dst->full_name);
        json_decref(kw);
        return GOBJ_ENOMEM;
    }
    if (src && !gobj__alive(src))
        src = NULL;
    ring[(head + len) % cap] = (struct post_entry){dst, ev, kw, src};
    len++;
    dst->n_posted_to++;
    if (src)
        src->n_posted_from++;
    if (len == 1 && notify_fn)
        notify_fn(notify_user);
    return 0;
}

size_t gobj_run_posted(size_t max)
{
    /* Only what was queued before this call: an event posted by a delivery
     * waits for the next call, so a chain of posts cannot starve the loop. */
    size_t n = len < max ? len : max;
    size_t done = 0;
    unsigned long epoch = drop_epoch;
    gobj__enter();
    while (done < n && len && epoch == drop_epoch) {
        struct post_entry e = ring[head];
        head = (head + 1) % cap;
        len--;
        done++;
        if (!e.dst)
            continue;
        e.dst->n_posted_to--;
        if (e.src)
            e.src->n_posted_from--;
        gobj_send_event(e.dst, e.ev, e.kw, e.src);
    }
    gobj__leave();
    return done;
}

void post__forget(gobj_t *g)
{
    for (size_t i = 0; i < len && (g->n_posted_to || g->n_posted_from); i++) {
        struct post_entry *e = &ring[(head + i) % cap];
        if (e->dst == g) {
            json_decref(e->kw);
            e->kw = NULL;
            e->dst = NULL;
            if (e->src)
                e->src->n_posted_from--;
            e->src = NULL;
            g->n_posted_to--;
        } else if (e->src == g) {
            e->src = NULL;
            g->n_posted_from--;
        }
    }
}

size_t gobj_drop_posted(void)
{
    size_t n = len;
    drop_epoch++;
    while (len) {
        struct post_entry *e = &ring[head];
        if (e->dst)
            e->dst->n_posted_to--;
        if (e->src)
            e->src->n_posted_from--;
        json_decref(e->kw);
        head = (head + 1) % cap;
        len--;
    }
    return n;
}

void post__reset(void)
{
    gobj_drop_posted();
    free(ring);
    ring = NULL;
    head = len = cap = 0;
}
