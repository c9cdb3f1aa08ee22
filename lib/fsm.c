/*
 * fsm.c - dispatch: gobj_send_event for flat and hierarchical gclasses
 * (doc/manual-runtime.md, chapter 6), refusals, and the state queries.
 *
 * Flat: one load of row_of[event id] in the current state, the next state
 * set before the action (ginsfsm's rule), the action.  Nothing else.
 *
 * One hierarchical step: find the first state from the leaf upwards with a
 * row for the event; run its action while the gobj is still in the leaf
 * (FSM_UNHANDLED offers the event to the superstate); then exit up to the
 * common ancestor, enter down to the target and drill into initial
 * substates.  A gobj is busy for the whole step: events sent to it meanwhile
 * wait in its run-to-completion FIFO and are dispatched, in order, before
 * the outermost send returns.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rtc_entry {
    gobj_event_t ev;
    json_t *kw;
    gobj_t *src;
};

/*---------------------------------------------------------------------*
 *  Refusal
 *---------------------------------------------------------------------*/
__attribute__((noinline, cold)) int fsm__refuse(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    const struct gclass *gc = g->gc;
    if (gc->def->methods.mt_inject_event) {
        gobj__enter();
        unsigned settled = g->flags & GOBJ_F_SETTLED;
        g->flags |= GOBJ_F_SETTLED; /* no row ran: gobj_change_state applies at once */
        int ret = gc->def->methods.mt_inject_event(g, ev, kw, src);
        g->flags = (g->flags & ~(unsigned)GOBJ_F_SETTLED) | settled;
        json_decref(kw);
        gobj__leave();
        return ret;
    }
    gobj__errorf(g, "gobj %s (%s): event %s not accepted in state %s", g->full_name, gc->name,
                 ev->name, gc->states[g->state].name->name);
    json_decref(kw);
    return GOBJ_ENOEVENT;
}

static void finish_step(gobj_t *g);

/*---------------------------------------------------------------------*
 *  Hooks and transitions
 *---------------------------------------------------------------------*/
static void run_hook(gobj_t *g, int16_t s, bool entry)
{
    const struct gc_state *st = &g->gc->states[s];
    gobj_hook_fn fn = entry ? st->on_entry : st->on_exit;
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__hook(g, entry ? "entry" : "exit", s);
    if (!fn)
        return;
    g->flags |= GOBJ_F_IN_HOOK;
    g->hook_state = s;
    fn(g);
    g->flags &= ~(unsigned)GOBJ_F_IN_HOOK;
}

static bool is_ancestor_or_self(const struct gclass *gc, int16_t a, int16_t s)
{
    for (; s != GOBJ_NO_STATE; s = gc->states[s].parent)
        if (s == a)
            return true;
    return false;
}

/* Enter the states strictly below `from` down to `to`, outermost first. */
static void enter_path(gobj_t *g, int16_t from, int16_t to)
{
    int16_t path[GOBJ_MAX_DEPTH + 1];
    int n = 0;
    for (int16_t s = to; s != from && s != GOBJ_NO_STATE; s = g->gc->states[s].parent)
        path[n++] = s;
    while (n > 0 && !(g->flags & GOBJ_F_DESTROYED))
        run_hook(g, path[--n], true);
}

/* Drill from s into initial substates; returns the leaf. */
static int16_t drill(gobj_t *g, int16_t s)
{
    const struct gclass *gc = g->gc;
    while (gc->states[s].initial != GOBJ_NO_STATE && !(g->flags & GOBJ_F_DESTROYED)) {
        int16_t ini = gc->states[s].initial;
        enter_path(g, s, ini);
        s = ini;
    }
    return s;
}

static void set_leaf(gobj_t *g, int16_t leaf)
{
    int16_t prev = g->state;
    g->state = leaf;
    if (prev != leaf && g->n_state_subs && !(g->flags & GOBJ_F_DESTROYED)) {
        /* The transition is complete: a subscriber's gobj_change_state
         * applies at once instead of waiting for a later step. */
        unsigned settled = g->flags & GOBJ_F_SETTLED;
        g->flags |= GOBJ_F_SETTLED;
        pubsub__publish_state_change(g, prev, leaf);
        g->flags = (g->flags & ~(unsigned)GOBJ_F_SETTLED) | settled;
    }
}

/* transition(S, T): the step order of doc/manual.md, rule 5. */
static __attribute__((noinline)) void transition(gobj_t *g, int16_t S, int16_t T)
{
    const struct gclass *gc = g->gc;
    int16_t D;
    if (T == S) {
        D = gc->states[S].parent; /* external self-transition */
    } else {
        D = S;
        while (D != GOBJ_NO_STATE && !is_ancestor_or_self(gc, D, T))
            D = gc->states[D].parent;
    }
    for (int16_t x = g->state; x != D && x != GOBJ_NO_STATE; x = gc->states[x].parent) {
        run_hook(g, x, false);
        if (g->flags & GOBJ_F_DESTROYED)
            return;
    }
    if (T != D)
        enter_path(g, D, T);
    int16_t leaf = drill(g, T);
    if (g->flags & GOBJ_F_DESTROYED)
        return;
    set_leaf(g, leaf);
}

static void drain_flat(gobj_t *g);

/* Enter the initial state: state 0, or the one mt_create chose with
 * gobj_change_state() (recorded in pending_target, nothing run yet). */
void fsm__init_state(gobj_t *g)
{
    int16_t target = g->pending_target != GOBJ_NO_STATE ? g->pending_target : 0;
    g->pending_target = GOBJ_NO_STATE;
    g->state = target;
    if (!g->gc->hier) {
        /* Events sent during mt_create, now in the entered state. */
        if (g->rtc_len)
            drain_flat(g);
        return;
    }
    g->flags |= GOBJ_F_BUSY;
    gobj__enter();
    enter_path(g, GOBJ_NO_STATE, target);
    g->state = drill(g, target);
    /* Events the entry hooks sent to the gobj waited in its run-to-completion
     * queue: deliver them now, in order, before create returns. */
    finish_step(g);
    gobj__leave();
}

/*---------------------------------------------------------------------*
 *  Hierarchical dispatch
 *---------------------------------------------------------------------*/
static inline __attribute__((always_inline)) int step(gobj_t *g, gobj_event_t ev, json_t *kw,
                                                      gobj_t *src)
{
    const struct gclass *gc = g->gc;
    uint32_t id = ev->id;
    unsigned r = id < gc->n_slots ? gc->states[g->state].row_of[id] : 0;
    while (r) {
        const struct gc_row *row = &gc->rows[r];
        if (GOBJ_UNLIKELY(gobj__trace_any))
            trace__machine(g, ev, row, gobj__depth);
        int ret = 0;
        if (row->action) {
            ret = row->action(g, ev, kw, src);
            if (GOBJ_UNLIKELY(ret == FSM_UNHANDLED)) {
                /* The guard said no: offer the event to the superstates. */
                g->pending_target = GOBJ_NO_STATE;
                int16_t p = gc->states[row->state].parent;
                r = p != GOBJ_NO_STATE ? gc->states[p].row_of[id] : 0;
                continue;
            }
        }
        json_decref(kw);
        if (GOBJ_UNLIKELY(g->flags & GOBJ_F_DESTROYED))
            return ret;
        int16_t target = row->next;
        if (GOBJ_UNLIKELY(g->pending_target != GOBJ_NO_STATE)) {
            target = g->pending_target;
            g->pending_target = GOBJ_NO_STATE;
        }
        if (target != GOBJ_NO_STATE)
            transition(g, row->state, target);
        return ret;
    }
    return fsm__refuse(g, ev, kw, src);
}

static __attribute__((noinline)) int rtc_push(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    if (g->rtc_len == g->rtc_cap) {
        uint32_t cap = g->rtc_cap ? g->rtc_cap * 2 : 8;
        struct rtc_entry *n = malloc(cap * sizeof *n);
        if (!n) {
            json_decref(kw);
            return GOBJ_ENOMEM;
        }
        for (uint32_t i = 0; i < g->rtc_len; i++)
            n[i] = g->rtc[(g->rtc_head + i) % g->rtc_cap];
        free(g->rtc);
        g->rtc = n;
        g->rtc_cap = cap;
        g->rtc_head = 0;
    }
    g->rtc[(g->rtc_head + g->rtc_len) % g->rtc_cap] = (struct rtc_entry){ev, kw, src};
    g->rtc_len++;
    return 0;
}

void fsm__drop_rtc(gobj_t *g)
{
    for (uint32_t i = 0; i < g->rtc_len; i++)
        json_decref(g->rtc[(g->rtc_head + i) % g->rtc_cap].kw);
    free(g->rtc);
    g->rtc = NULL;
    g->rtc_head = g->rtc_len = g->rtc_cap = 0;
}

/* Dispatch what was queued for g during its step, then leave the step. */
static __attribute__((noinline, cold)) void finish_step(gobj_t *g)
{
    while (g->rtc_len && !(g->flags & GOBJ_F_DESTROYED)) {
        struct rtc_entry e = g->rtc[g->rtc_head];
        g->rtc_head = (g->rtc_head + 1) % g->rtc_cap;
        g->rtc_len--;
        /* Nothing is freed while the depth is above zero, so a queued source
         * is still readable; a destroyed one is delivered as NULL. */
        step(g, e.ev, e.kw, gobj__alive(e.src) ? e.src : NULL);
    }
    if (g->flags & GOBJ_F_DESTROYED)
        fsm__drop_rtc(g);
    g->flags &= ~(unsigned)GOBJ_F_BUSY;
}

static inline __attribute__((always_inline)) int dispatch_hier(gobj_t *g, gobj_event_t ev,
                                                               json_t *kw, gobj_t *src)
{
    if (g->flags & GOBJ_F_BUSY)
        return rtc_push(g, ev, kw, src);
    g->flags |= GOBJ_F_BUSY;
    gobj__depth++;
    int ret = step(g, ev, kw, src);
    if (GOBJ_UNLIKELY(g->rtc_len | (g->flags & GOBJ_F_DESTROYED)))
        finish_step(g);
    else
        g->flags &= ~(unsigned)GOBJ_F_BUSY;
    if (--gobj__depth == 0 && gobj__reap_head)
        gobj__reap();
    return ret;
}

/*---------------------------------------------------------------------*
 *  Send: the flat fast path (fsm.c has the hierarchical one)
 *---------------------------------------------------------------------*/
static inline __attribute__((always_inline)) int send_flat(gobj_t *dst, gobj_event_t ev, json_t *kw,
                                                           gobj_t *src)
{
    struct gclass *gc = dst->gc;
    uint32_t id = ev->id;
    unsigned r = id < gc->n_slots ? gc->states[dst->state].row_of[id] : 0;
    if (GOBJ_UNLIKELY(!r))
        return fsm__refuse(dst, ev, kw, src);
    const struct gc_row *row = &gc->rows[r];

    gobj__depth++;
    if (GOBJ_UNLIKELY(gobj__trace_any))
        trace__machine(dst, ev, row, gobj__depth);
    /* Flat machines set the next state before the action runs (ginsfsm's
     * rule); the action may change it again. */
    if (row->next != GOBJ_NO_STATE && row->next != dst->state) {
        int16_t prev = dst->state;
        dst->state = row->next;
        if (dst->n_state_subs) {
            pubsub__publish_state_change(dst, prev, row->next);
            /* A subscriber may have destroyed it: it receives nothing more. */
            if (GOBJ_UNLIKELY(dst->flags & GOBJ_F_DESTROYED)) {
                json_decref(kw);
                if (--gobj__depth == 0 && gobj__reap_head)
                    gobj__reap();
                return GOBJ_EDESTROYED;
            }
        }
    }
    int ret = row->action ? row->action(dst, ev, kw, src) : 0;
    json_decref(kw);
    if (--gobj__depth == 0 && gobj__reap_head)
        gobj__reap();
    return ret;
}

int gobj_send_event(gobj_t *dst, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    if (GOBJ_UNLIKELY(!dst || !ev ||
                      (dst->flags & (GOBJ_F_DESTROYED | GOBJ_F_IN_CREATE | GOBJ_F_QUEUEING)))) {
        /* Inside its mt_create no state is entered yet: the event waits in
         * the gobj's queue and is delivered, in order, once gobj_create has
         * entered the initial state (and while that queue drains, later
         * sends wait behind it). */
        if (dst && ev && !(dst->flags & GOBJ_F_DESTROYED))
            return rtc_push(dst, ev, kw, src);
        if (dst && ev)
            gobj__errorf(dst, "gobj_send_event %s to %s: the gobj is destroyed", ev->name,
                         dst->full_name);
        json_decref(kw);
        return dst && ev ? GOBJ_EDESTROYED : GOBJ_EINVAL;
    }
    if (dst->gc->hier)
        return dispatch_hier(dst, ev, kw, src);
    return send_flat(dst, ev, kw, src);
}

/* A flat gobj's events sent during its mt_create, delivered in the entered
 * state, in order; what their actions send to the gobj waits behind them. */
static __attribute__((noinline, cold)) void drain_flat(gobj_t *g)
{
    gobj__enter();
    g->flags |= GOBJ_F_QUEUEING;
    while (g->rtc_len && !(g->flags & GOBJ_F_DESTROYED)) {
        struct rtc_entry e = g->rtc[g->rtc_head];
        g->rtc_head = (g->rtc_head + 1) % g->rtc_cap;
        g->rtc_len--;
        send_flat(g, e.ev, e.kw, gobj__alive(e.src) ? e.src : NULL);
    }
    g->flags &= ~(unsigned)GOBJ_F_QUEUEING;
    if (g->flags & GOBJ_F_DESTROYED)
        fsm__drop_rtc(g);
    gobj__leave();
}

/*---------------------------------------------------------------------*
 *  State queries and changes
 *---------------------------------------------------------------------*/
gobj_state_t gobj_current_state(const gobj_t *g)
{
    return g ? g->gc->states[g->state].name : NULL;
}

bool gobj_in_this_state(const gobj_t *g, gobj_state_t st)
{
    return g && st && g->gc->states[g->state].name == st;
}

bool gobj_is_in_state(const gobj_t *g, gobj_state_t st)
{
    if (!g || !st)
        return false;
    for (int16_t s = g->state; s != GOBJ_NO_STATE; s = g->gc->states[s].parent)
        if (g->gc->states[s].name == st)
            return true;
    return false;
}

gobj_state_t gobj_hook_state(const gobj_t *g)
{
    if (!g || !(g->flags & GOBJ_F_IN_HOOK))
        return NULL;
    return g->gc->states[g->hook_state].name;
}

bool gobj_has_input_event(const gobj_t *g, gobj_event_t ev)
{
    if (!g || !ev || ev->id >= g->gc->n_slots)
        return false;
    return g->gc->states[g->state].row_of[ev->id] != 0;
}

bool gobj_change_state(gobj_t *g, gobj_state_t st)
{
    if (!gobj__alive(g) || !st)
        return false;
    int idx = gclass__state_index(g->gc, st);
    if (idx == GOBJ_NO_STATE) {
        gobj__errorf(g, "gobj %s (%s): gobj_change_state: unknown state %s", g->full_name,
                     g->gc->name, st->name);
        return false;
    }
    if (g->flags & GOBJ_F_IN_CREATE) {
        /* From mt_create: nothing was entered yet, so this chooses the
         * initial state (entered after mt_create, nothing published). */
        g->pending_target = (int16_t)idx;
        return true;
    }
    if (!g->gc->hier) {
        if (g->state != idx) {
            int16_t prev = g->state;
            g->state = (int16_t)idx;
            if (g->n_state_subs)
                pubsub__publish_state_change(g, prev, (int16_t)idx);
        }
        return true;
    }
    if (g->flags & GOBJ_F_IN_HOOK) {
        gobj__errorf(g,
                     "gobj %s (%s): gobj_change_state(%s) inside an entry/exit hook is "
                     "not allowed",
                     g->full_name, g->gc->name, st->name);
        return false;
    }
    if (g->flags & GOBJ_F_SETTLED) {
        /* Busy, but outside the step's action: an EV_STATE_CHANGED
         * subscriber (the transition is complete) or mt_inject_event (no
         * row ran).  Transition at once; the step in progress drains the
         * queue when it ends. */
        gobj__enter();
        transition(g, g->state, (int16_t)idx);
        gobj__leave();
        return true;
    }
    if (g->flags & GOBJ_F_BUSY) {
        /* Inside the action of the step in progress (or something it led
         * to; hooks and the settled parts are excluded above): the target
         * replaces the row's next state. */
        g->pending_target = (int16_t)idx;
        return true;
    }
    g->flags |= GOBJ_F_BUSY;
    gobj__enter();
    transition(g, g->state, (int16_t)idx);
    finish_step(g);
    gobj__leave();
    return true;
}
