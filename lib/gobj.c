/*
 * gobj.c - gobj instances: the tree, the lifecycle, deferred destruction, and
 * the flat fast path of gobj_send_event.
 *
 * Destruction is in two phases.  gobj_destroy() marks the subtree at once
 * (it leaves the tree, the unique registry, every subscription and the post
 * queue), so that nothing can reach it any more; the marked gobjs are stopped,
 * destroyed and freed when the outermost dispatch returns (gobj__depth back
 * to 0).  An action may therefore destroy its own gobj, its publisher or any
 * other gobj and keep using its private data until it returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

unsigned gobj__depth;
struct gobj *gobj__reap_head;
static struct gobj *reap_tail;
static size_t live_count;

/* The registry of unique gobjs: few entries, looked up by name. */
static gobj_t **uniques;
static size_t n_uniques, cap_uniques;

size_t gobj_live_count(void)
{
    return live_count;
}

/*---------------------------------------------------------------------*
 *  Accessors
 *---------------------------------------------------------------------*/
bool gobj_is_running(const gobj_t *g)
{
    return g && (g->flags & GOBJ_F_RUNNING);
}

bool gobj_is_stopping(const gobj_t *g)
{
    return g && (g->flags & GOBJ_F_STOPPING);
}

void gobj_stopped(gobj_t *g)
{
    if (!g || !(g->flags & GOBJ_F_STOPPING))
        return;
    g->flags &= ~(unsigned)GOBJ_F_STOPPING;
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__lifecycle(g, "stopped");
}

bool gobj_is_destroying(const gobj_t *g)
{
    return g && (g->flags & GOBJ_F_DESTROYED);
}

const char *gobj_name(const gobj_t *g)
{
    return g ? g->name : "";
}

const char *gobj_full_name(const gobj_t *g)
{
    return g ? g->full_name : "";
}

gclass_t *gobj_gclass(const gobj_t *g)
{
    return g ? g->gc : NULL;
}

const char *gobj_gclass_name(const gobj_t *g)
{
    return g ? g->gc->name : "";
}

gobj_t *gobj_parent(const gobj_t *g)
{
    return g ? g->parent : NULL;
}

void *gobj_priv(const gobj_t *g)
{
    return g ? g->priv : NULL;
}

gobj_t *gobj_first_child(const gobj_t *g)
{
    return g ? g->first_child : NULL;
}

gobj_t *gobj_next_child(const gobj_t *child)
{
    return child ? child->next_sibling : NULL;
}

size_t gobj_child_count(const gobj_t *g)
{
    return g ? g->n_children : 0;
}

/*---------------------------------------------------------------------*
 *  Index of named children
 *---------------------------------------------------------------------*/
#define CHILD_INDEX_MIN 16 /* below this many children a list walk is cheaper */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void index_insert(gobj_t *parent, gobj_t *c)
{
    uint32_t b = name_hash(c->name) & (parent->n_buckets - 1);
    c->bucket_next = parent->child_buckets[b];
    parent->child_buckets[b] = c;
}

/* (Re)build the index with room for the children there are now. */
static void index_build(gobj_t *parent)
{
    uint32_t n = CHILD_INDEX_MIN;
    while (n < parent->n_children)
        n *= 2;
    gobj_t **buckets = calloc(n, sizeof *buckets);
    if (!buckets)
        return; /* the list walk still works, only slower */
    free(parent->child_buckets);
    parent->child_buckets = buckets;
    parent->n_buckets = n;
    for (gobj_t *c = parent->first_child; c; c = c->next_sibling)
        if (*c->name)
            index_insert(parent, c);
}

static void index_add(gobj_t *parent, gobj_t *c)
{
    if (!parent->child_buckets) {
        if (parent->n_children >= CHILD_INDEX_MIN)
            index_build(parent);
        return;
    }
    if (parent->n_children > 2 * (size_t)parent->n_buckets)
        index_build(parent); /* includes c */
    else if (*c->name)
        index_insert(parent, c);
}

static void index_remove(gobj_t *parent, gobj_t *c)
{
    if (!parent->child_buckets || !*c->name)
        return;
    gobj_t **pp = &parent->child_buckets[name_hash(c->name) & (parent->n_buckets - 1)];
    for (; *pp; pp = &(*pp)->bucket_next) {
        if (*pp == c) {
            *pp = c->bucket_next;
            break;
        }
    }
    c->bucket_next = NULL;
}

gobj_t *gobj_find_child(const gobj_t *g, const char *name)
{
    if (!g || !name || !*name)
        return NULL;
    if (g->child_buckets) {
        gobj_t *c = g->child_buckets[name_hash(name) & (g->n_buckets - 1)];
        for (; c; c = c->bucket_next)
            if (strcmp(c->name, name) == 0)
                return c;
        return NULL;
    }
    for (gobj_t *c = g->first_child; c; c = c->next_sibling)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* Children's names may contain dots ("server.clisrv_3"), so a path segment
 * is any child name that is a prefix of the rest followed by '.' or the end. */
static gobj_t *find_below(const gobj_t *g, const char *path)
{
    for (gobj_t *c = g->first_child; c; c = c->next_sibling) {
        size_t n = strlen(c->name);
        if (!n || strncmp(path, c->name, n) != 0)
            continue;
        if (path[n] == '\0')
            return c;
        if (path[n] == '.') {
            gobj_t *hit = find_below(c, path + n + 1);
            if (hit)
                return hit;
        }
    }
    return NULL;
}

/* Roots (gobjs without a parent), linked through their sibling pointers. */
static gobj_t *roots_first, *roots_last;

gobj_t *gobj_find_path(const gobj_t *root, const char *path)
{
    if (!path || !*path)
        return NULL;
    if (root)
        return find_below(root, path);
    for (gobj_t *r = roots_first; r; r = r->next_sibling) {
        size_t n = strlen(r->name);
        if (!n || strncmp(path, r->name, n) != 0)
            continue;
        if (path[n] == '\0')
            return r;
        if (path[n] == '.') {
            gobj_t *hit = find_below(r, path + n + 1);
            if (hit)
                return hit;
        }
    }
    return NULL;
}

gobj_t *gobj_find_unique(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < n_uniques; i++)
        if (strcmp(uniques[i]->name, name) == 0)
            return uniques[i];
    return NULL;
}

static int unique_add(gobj_t *g)
{
    if (n_uniques == cap_uniques) {
        size_t cap = cap_uniques ? cap_uniques * 2 : 16;
        gobj_t **n = realloc(uniques, cap * sizeof *n);
        if (!n)
            return GOBJ_ENOMEM;
        uniques = n;
        cap_uniques = cap;
    }
    uniques[n_uniques++] = g;
    g->flags |= GOBJ_F_UNIQUE;
    return 0;
}

static void unique_remove(gobj_t *g)
{
    for (size_t i = 0; i < n_uniques; i++) {
        if (uniques[i] == g) {
            memmove(&uniques[i], &uniques[i + 1], (n_uniques - i - 1) * sizeof *uniques);
            n_uniques--;
            break;
        }
    }
    g->flags &= ~(unsigned)GOBJ_F_UNIQUE;
    if (n_uniques == 0) {
        free(uniques);
        uniques = NULL;
        cap_uniques = 0;
    }
}

/*---------------------------------------------------------------------*
 *  Tree links
 *---------------------------------------------------------------------*/
static void link_child(gobj_t *parent, gobj_t *g)
{
    gobj_t **first = parent ? &parent->first_child : &roots_first;
    gobj_t **last = parent ? &parent->last_child : &roots_last;
    g->parent = parent;
    g->prev_sibling = *last;
    if (*last)
        (*last)->next_sibling = g;
    else
        *first = g;
    *last = g;
    if (parent) {
        parent->n_children++;
        index_add(parent, g);
    }
}

static void unlink_child(gobj_t *g)
{
    gobj_t *p = g->parent;
    gobj_t **first = p ? &p->first_child : &roots_first;
    gobj_t **last = p ? &p->last_child : &roots_last;
    if (!p && roots_first != g && !g->prev_sibling)
        return; /* not linked */
    if (g->prev_sibling)
        g->prev_sibling->next_sibling = g->next_sibling;
    else
        *first = g->next_sibling;
    if (g->next_sibling)
        g->next_sibling->prev_sibling = g->prev_sibling;
    else
        *last = g->prev_sibling;
    g->prev_sibling = g->next_sibling = NULL;
    if (p) {
        p->n_children--;
        index_remove(p, g);
    }
}

/*---------------------------------------------------------------------*
 *  Create
 *---------------------------------------------------------------------*/
static char *make_full_name(const gobj_t *parent, const char *name, const gclass_t *gc)
{
    static unsigned long anon_serial;
    char anon[96];
    if (!name || !*name) {
        snprintf(anon, sizeof anon, "%s#%lu", gc->name, ++anon_serial);
        name = anon;
    }
    size_t pl = parent ? strlen(parent->full_name) + 1 : 0;
    size_t nl = strlen(name);
    char *s = malloc(pl + nl + 1);
    if (!s)
        return NULL;
    if (parent) {
        memcpy(s, parent->full_name, pl - 1);
        s[pl - 1] = '.';
    }
    memcpy(s + pl, name, nl + 1);
    return s;
}

static void gobj_free_memory(gobj_t *g)
{
    attrs__free(g);
    fsm__drop_rtc(g);
    free(g->child_buckets);
    free(g->priv);
    free(g->name);
    free(g->full_name);
    g->priv = NULL;
    g->name = g->full_name = NULL;
    /* gobj_create still has to look at it (see there): it frees the rest. */
    if (g->flags & GOBJ_F_PINNED) {
        g->flags |= GOBJ_F_ZOMBIE;
        return;
    }
    free(g);
    live_count--;
}

static gobj_t *create(const char *name, gclass_t *gc, json_t *kw, gobj_t *parent, bool unique)
{
    if (!gc) {
        gobj__errorf(parent, "gobj_create %s: no gclass given", name ? name : "");
        json_decref(kw);
        return NULL;
    }
    if (parent && !gobj__alive(parent)) {
        gobj__errorf(NULL, "gobj_create %s (%s): the parent is destroyed", name ? name : "",
                     gc->name);
        json_decref(kw);
        return NULL;
    }
    if (kw && !json_is_object(kw)) {
        gobj__errorf(parent, "gobj_create %s (%s): the attributes must be a JSON object",
                     name ? name : "", gc->name);
        json_decref(kw);
        return NULL;
    }
    if (name && *name && (parent ? gobj_find_child(parent, name) : gobj_find_path(NULL, name))) {
        gobj__errorf(parent, "gobj_create: %s%s%s already exists", parent ? parent->full_name : "",
                     parent ? "." : "", name);
        json_decref(kw);
        return NULL;
    }
    if (unique && (!name || !*name)) {
        gobj__errorf(parent, "gobj_create_unique (%s): a unique gobj needs a name", gc->name);
        json_decref(kw);
        return NULL;
    }
    if (unique && gobj_find_unique(name)) {
        gobj__errorf(parent, "gobj_create_unique %s (%s): the name is already registered", name,
                     gc->name);
        json_decref(kw);
        return NULL;
    }

    gobj_t *g = calloc(1, sizeof *g);
    if (!g) {
        json_decref(kw);
        return NULL;
    }
    live_count++;
    g->gc = gc;
    g->pending_target = GOBJ_NO_STATE;
    g->name = strdup(name ? name : "");
    g->full_name = make_full_name(parent, name, gc);
    g->priv = calloc(1, gc->def->priv_size ? gc->def->priv_size : 1);
    if (!g->name || !g->full_name || !g->priv) {
        gobj__errorf(parent, "gobj_create %s (%s): out of memory", name ? name : "", gc->name);
        json_decref(kw);
        gobj_free_memory(g);
        return NULL;
    }
    int rc = attrs__set_at_create(g, kw); /* kw stolen */
    if (rc < 0) {
        gobj_free_memory(g);
        return NULL;
    }
    if (unique && unique_add(g) < 0) {
        gobj_free_memory(g);
        return NULL;
    }
    link_child(parent, g);
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__on_create(g);

    /* Rule 9: mt_create or an initial entry hook may destroy the gobj (or
     * anything else).  The depth is held until create is done with it, so
     * that it is freed only when the outermost call returns, after the last
     * read below. */
    gobj__enter();
    g->flags |= GOBJ_F_CREATED;
    if (gc->def->methods.mt_create) {
        g->flags |= GOBJ_F_IN_CREATE;
        rc = gc->def->methods.mt_create(g);
        g->flags &= ~(unsigned)GOBJ_F_IN_CREATE;
        if (rc < 0 || (g->flags & GOBJ_F_DESTROYED)) {
            gobj__errorf(g, "gobj_create %s (%s): mt_create failed: %s", g->full_name, gc->name,
                         rc < 0 ? gobj_strerror(rc) : "destroyed itself");
            gobj_destroy(g);
            gobj__leave();
            return NULL;
        }
    }
    fsm__init_state(g);
    if (g->flags & GOBJ_F_DESTROYED) {
        gobj__errorf(NULL, "gobj_create %s (%s): destroyed while entering its initial state",
                     g->full_name, gc->name);
        gobj__leave();
        return NULL;
    }
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__lifecycle(g, "created");
    /* Leaving may free what the call marked, and the methods that run then
     * may destroy this gobj too: pinned, its struct outlives that, so that
     * create can tell whether it still has a gobj to return. */
    g->flags |= GOBJ_F_PINNED;
    gobj__leave();
    g->flags &= ~(unsigned)GOBJ_F_PINNED;
    if (g->flags & GOBJ_F_ZOMBIE) {
        free(g);
        live_count--;
        return NULL;
    }
    return (g->flags & GOBJ_F_DESTROYED) ? NULL : g;
}

gobj_t *gobj_create(const char *name, gclass_t *gc, json_t *kw, gobj_t *parent)
{
    return create(name, gc, kw, parent, false);
}

gobj_t *gobj_create_unique(const char *name, gclass_t *gc, json_t *kw, gobj_t *parent)
{
    return create(name, gc, kw, parent, true);
}

/*---------------------------------------------------------------------*
 *  Start / stop
 *---------------------------------------------------------------------*/
int gobj_start(gobj_t *g)
{
    if (!gobj__alive(g))
        return g ? GOBJ_EDESTROYED : GOBJ_EINVAL;
    if (g->flags & GOBJ_F_RUNNING)
        return 0;
    /* Rule 9: hold the depth for the whole call, so that a gobj destroyed
     * by its own mt_start is freed only after the last read of it here. */
    gobj__enter();
    g->flags &= ~(unsigned)GOBJ_F_STOPPING;
    int rc = 0;
    if (g->gc->def->methods.mt_start)
        rc = g->gc->def->methods.mt_start(g);
    if (rc < 0) {
        /* The gclass reports why (it knows: "cannot listen on host:port");
         * this record is only for debugging, so one failure stays one error. */
        gobj_log(GOBJ_LOG_DEBUG, g, "start failed", "error", json_string(gobj_strerror(rc)), NULL);
    } else if (!gobj__alive(g)) {
        rc = GOBJ_EDESTROYED;
    } else {
        g->flags |= GOBJ_F_RUNNING;
        if (GOBJ_UNLIKELY(gobj__trace_any))
            trace__lifecycle(g, "started");
    }
    gobj__leave();
    return rc;
}

/* A stop of a gobj that is still stopping (its mt_stop returned > 0) asks it
 * to finish at once: mt_stop runs again and sees it is already closing. */
static int stop(gobj_t *g, bool destroying)
{
    if (!g || !(g->flags & (GOBJ_F_RUNNING | GOBJ_F_STOPPING)))
        return 0;
    if (!destroying && (g->flags & GOBJ_F_DESTROYED))
        return GOBJ_EDESTROYED;
    gobj__enter(); /* rule 9, as in gobj_start */
    g->flags &= ~(unsigned)GOBJ_F_RUNNING;
    int rc = 0;
    if (g->gc->def->methods.mt_stop)
        rc = g->gc->def->methods.mt_stop(g);
    if (rc > 0 && !destroying && gobj__alive(g)) {
        /* Still finishing (it calls gobj_stopped when done). */
        g->flags |= GOBJ_F_STOPPING;
        rc = 0;
    } else {
        g->flags &= ~(unsigned)GOBJ_F_STOPPING;
        if (GOBJ_UNLIKELY(gobj__trace_any))
            trace__lifecycle(g, "stopped");
        if (rc > 0)
            rc = 0;
    }
    gobj__leave();
    return rc;
}

int gobj_stop(gobj_t *g)
{
    if (!g)
        return GOBJ_EINVAL;
    return stop(g, false);
}

/* The children of g, in order, in *out (the stack buffer when they fit, a
 * heap array otherwise).  A walk over a snapshot survives children that are
 * destroyed (unlinked) while it runs.  Returns: their number, or 0. */
static size_t snapshot_children(const gobj_t *g, gobj_t **stack, size_t n_stack, gobj_t ***out)
{
    gobj_t **v = stack;
    if (g->n_children > n_stack) {
        v = malloc(g->n_children * sizeof *v);
        if (!v) {
            gobj__errorf(g, "gobj %s: out of memory walking its children", g->full_name);
            *out = NULL;
            return 0;
        }
    }
    size_t n = 0;
    for (gobj_t *c = g->first_child; c; c = c->next_sibling)
        v[n++] = c;
    *out = v;
    return n;
}

/* The gobjs one gobj_start_tree call started, in order, so that a failure
 * stops exactly those and leaves alone what was running before the call. */
struct gobj_list {
    gobj_t **v;
    size_t n, cap;
    bool oom;
};
struct started {
    struct gobj_list pre;  /* in start order: undone last first on failure */
    struct gobj_list post; /* children before parents: mt_tree_started order */
};

static void list_add(struct gobj_list *l, gobj_t *g)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        gobj_t **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = g;
}

static int start_tree(gobj_t *g, struct started *s)
{
    if (!gobj__alive(g))
        return GOBJ_EDESTROYED;
    bool was_running = gobj_is_running(g);
    int rc = gobj_start(g);
    if (rc < 0)
        return rc;
    if (!was_running)
        list_add(&s->pre, g);
    /* A child's start may create or destroy siblings: walk a snapshot
     * (the caller holds the depth, so nothing in it is freed meanwhile). */
    gobj_t *stack[32], **v;
    size_t n = snapshot_children(g, stack, 32, &v);
    for (size_t i = 0; i < n && rc >= 0; i++)
        if (gobj__alive(v[i]))
            rc = start_tree(v[i], s);
    if (v != stack)
        free(v);
    if (rc >= 0 && !gobj__alive(g))
        rc = GOBJ_EDESTROYED;
    if (rc >= 0 && !was_running)
        list_add(&s->post, g);
    return rc;
}

int gobj_start_tree(gobj_t *g)
{
    if (!gobj__alive(g))
        return g ? GOBJ_EDESTROYED : GOBJ_EINVAL;
    gobj__enter(); /* rule 9: nothing is freed until the walk is over */
    struct started s = {{0}, {0}};
    int rc = start_tree(g, &s);
    if (rc >= 0 && (s.pre.oom || s.post.oom))
        rc = GOBJ_ENOMEM; /* cannot tell what to undo or notify: undo what is known */
    if (rc < 0) {
        /* gobj_start logged the failure where it happened; stop what this
         * call started, last first, and nothing that was running before. */
        if (s.pre.oom || s.post.oom)
            gobj__errorf(g, "gobj_start_tree %s: out of memory recording what it started",
                         g->full_name);
        for (size_t i = s.pre.n; i-- > 0;)
            if (gobj__alive(s.pre.v[i]))
                gobj_stop(s.pre.v[i]);
    } else {
        for (size_t i = 0; i < s.post.n; i++) {
            gobj_t *c = s.post.v[i];
            if (gobj__alive(c) && (c->flags & GOBJ_F_RUNNING) &&
                c->gc->def->methods.mt_tree_started)
                c->gc->def->methods.mt_tree_started(c);
        }
    }
    free(s.pre.v);
    free(s.post.v);
    gobj__leave();
    return rc;
}

static int stop_tree(gobj_t *g)
{
    /* A child's stop may destroy it, its siblings or this gobj (an owner
     * destroying a connection on the EV_DISCONNECTED its stop published):
     * walk a snapshot; the caller holds the depth. */
    gobj_t *stack[32], **v;
    size_t n = snapshot_children(g, stack, 32, &v);
    for (size_t i = 0; i < n; i++)
        if (gobj__alive(v[i]))
            stop_tree(v[i]);
    if (v != stack)
        free(v);
    return stop(g, false);
}

int gobj_stop_tree(gobj_t *g)
{
    if (!g)
        return GOBJ_EINVAL;
    if (g->flags & GOBJ_F_DESTROYED)
        return GOBJ_EDESTROYED;
    gobj__enter(); /* rule 9 */
    int rc = stop_tree(g);
    gobj__leave();
    return rc;
}

/*---------------------------------------------------------------------*
 *  Destroy
 *---------------------------------------------------------------------*/
/* Phase one: make the subtree unreachable. */
static void mark_tree(gobj_t *g)
{
    g->flags |= GOBJ_F_DESTROYED;
    if (g->flags & GOBJ_F_UNIQUE)
        unique_remove(g);
    pubsub__remove_all(g);
    post__forget(g);
    for (gobj_t *c = g->first_child; c; c = c->next_sibling)
        if (!(c->flags & GOBJ_F_DESTROYED))
            mark_tree(c);
}

/* Phase two, children first: stop, mt_destroy, free. */
static void destroy_now(gobj_t *g)
{
    while (g->first_child) {
        gobj_t *c = g->first_child;
        unlink_child(c);
        destroy_now(c);
    }
    stop(g, true);
    if ((g->flags & GOBJ_F_CREATED) && g->gc->def->methods.mt_destroy)
        g->gc->def->methods.mt_destroy(g);
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__lifecycle(g, "destroyed");
    /* A method may have created children or subscriptions while dying. */
    while (g->first_child) {
        gobj_t *c = g->first_child;
        unlink_child(c);
        if (!(c->flags & GOBJ_F_DESTROYED))
            mark_tree(c);
        destroy_now(c);
    }
    pubsub__remove_all(g);
    post__forget(g);
    gobj_free_memory(g);
}

void gobj__reap(void)
{
    /* Methods run while reaping may destroy more gobjs: they are appended to
     * the list and handled by this same loop. */
    gobj__depth++;
    while (gobj__reap_head) {
        gobj_t *g = gobj__reap_head;
        gobj__reap_head = g->reap_next;
        if (!gobj__reap_head)
            reap_tail = NULL;
        destroy_now(g);
    }
    gobj__depth--;
}

void gobj_destroy(gobj_t *g)
{
    if (!g || (g->flags & GOBJ_F_DESTROYED))
        return;
    gobj__enter();
    mark_tree(g);
    unlink_child(g);
    g->parent = NULL;
    g->flags |= GOBJ_F_FREED;
    if (reap_tail)
        reap_tail->reap_next = g;
    else
        gobj__reap_head = g;
    reap_tail = g;
    gobj__leave();
}
