/*
 * internal.h - the layout of gclasses and gobjs, shared by the files of lib/.
 * Nothing here is exported: the library is built with -fvisibility=hidden and
 * only the public headers' declarations leave it.
 */
#ifndef GINSFSM_INTERNAL_H
#define GINSFSM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"

#define GOBJ_LIKELY(x)   __builtin_expect(!!(x), 1)
#define GOBJ_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Our own contract broken inside the library: name the module and site. */
#define GOBJ_ASSERT(cond)                                           \
    do {                                                            \
        if (GOBJ_UNLIKELY(!(cond)))                                 \
            gobj__assert_fail(#cond, __FILE__, __LINE__, __func__); \
    } while (0)
_Noreturn void gobj__assert_fail(const char *cond, const char *file, int line, const char *func);

#define GOBJ_MAX_DEPTH 8 /* nesting of hierarchical states */
#define GOBJ_NO_STATE  (-1)

/*---------------------------------------------------------------------*
 *  Compiled gclass
 *---------------------------------------------------------------------*/
struct gc_row {
    gobj_event_t event;
    gobj_action_fn action;
    const char *action_name;
    int16_t next;  /* local state index, GOBJ_NO_STATE = internal */
    uint8_t state; /* the state that owns the row */
};

struct gc_state {
    gobj_state_t name;
    int16_t parent;  /* GOBJ_NO_STATE = top level */
    int16_t initial; /* GOBJ_NO_STATE = leaf */
    uint8_t depth;   /* 0 at top level */
    gobj_hook_fn on_entry;
    gobj_hook_fn on_exit;
    /* [n_slots]: event id -> the row of this state or, in hierarchical
     * gclasses, of the nearest superstate that has one; 0 = none. */
    uint16_t *row_of;
};

struct gclass {
    const gclass_def_t *def;
    const char *name;
    bool hier;
    uint16_t n_states;
    uint32_t n_slots; /* 1 + the largest event id this gclass knows */
    struct gc_state *states;
    struct gc_row *rows; /* rows[0] unused */
    uint32_t n_rows;
    uint8_t *ev_flags; /* [n_slots]: GOBJ_EV_IN / GOBJ_EV_OUT */
    size_t n_attrs;
    json_t **attr_defaults; /* [n_attrs], parsed default_json */
    unsigned trace;
    struct gclass *next;
};

/*---------------------------------------------------------------------*
 *  GObj
 *---------------------------------------------------------------------*/
struct sub;
struct rtc_entry;

enum {
    GOBJ_F_DESTROYED = 0x01, /* marked: out of the tree, waiting to be freed */
    GOBJ_F_RUNNING = 0x02,
    GOBJ_F_UNIQUE = 0x04,
    GOBJ_F_CREATED = 0x08,  /* mt_create ran (mt_destroy is due) */
    GOBJ_F_BUSY = 0x10,     /* hierarchical: inside a run-to-completion step */
    GOBJ_F_STOPPING = 0x20, /* mt_stop returned > 0: finishing work */
    GOBJ_F_IN_HOOK = 0x40,
    GOBJ_F_FREED = 0x80,      /* on the reap list */
    GOBJ_F_IN_CREATE = 0x100, /* inside mt_create: gobj_change_state picks the initial state */
    GOBJ_F_QUEUEING = 0x400,  /* flat: draining its creation queue, sends wait behind */
    GOBJ_F_PINNED = 0x800,    /* gobj_create is still looking at it: freed later */
    GOBJ_F_ZOMBIE = 0x1000,   /* freed while pinned: only the struct is left */
    GOBJ_F_SETTLED = 0x200,   /* hierarchical, busy: user code outside the step's action */
};

struct gobj {
    struct gclass *gc;
    void *priv;
    unsigned flags;
    int16_t state;          /* the leaf */
    int16_t pending_target; /* hierarchical: gobj_change_state inside an action */
    int16_t hook_state;     /* the state whose entry/exit hook runs (GOBJ_F_IN_HOOK) */
    unsigned trace;         /* this gobj's own trace levels */
    char *name;
    char *full_name;
    struct gobj *parent;
    struct gobj *first_child, *last_child;
    struct gobj *prev_sibling, *next_sibling;
    size_t n_children;
    /* Named children by name, built once a gobj has many children (a server
     * owner holds one per connection), so that the sibling-name check of
     * gobj_create stays O(1).  NULL while the list is short. */
    struct gobj **child_buckets;
    uint32_t n_buckets;
    struct gobj *bucket_next;
    /* Subscriptions where this gobj publishes, in subscription order, and
     * where it subscribes. */
    struct sub *pub_head, *pub_tail;
    struct sub *sub_head;
    uint32_t n_state_subs; /* subscriptions that would get EV_STATE_CHANGED */
    /* Entries in the post queue that name this gobj. */
    uint32_t n_posted_to;
    uint32_t n_posted_from;
    /* Hierarchical run-to-completion FIFO, allocated on first use. */
    struct rtc_entry *rtc;
    uint32_t rtc_head, rtc_len, rtc_cap;
    struct gobj *reap_next;
};

/*---------------------------------------------------------------------*
 *  Shared state and internal calls
 *---------------------------------------------------------------------*/
/* Dispatch depth: > 0 while any action, hook, method or publish runs.
 * gobj_destroy only marks while it is > 0; the marked gobjs are freed when
 * it drops back to 0. */
extern unsigned gobj__depth;
extern bool gobj__trace_any; /* any trace level set anywhere */

static inline void gobj__enter(void)
{
    gobj__depth++;
}
void gobj__reap(void);
extern struct gobj *gobj__reap_head;
static inline void gobj__leave(void)
{
    if (--gobj__depth == 0 && gobj__reap_head)
        gobj__reap();
}

static inline bool gobj__alive(const gobj_t *g)
{
    return g && !(g->flags & GOBJ_F_DESTROYED);
}

/* gclass.c */
void gclass__intern_builtin(void);
int gclass__state_index(const struct gclass *gc, gobj_state_t st);
gobj_event_t gclass__event_by_id(uint32_t id);

/* fsm.c */
void fsm__init_state(gobj_t *g);
void fsm__drop_rtc(gobj_t *g);
int fsm__refuse(gobj_t *g, gobj_event_t ev, json_t *kw, gobj_t *src);

/* attrs.c */
int attrs__set_at_create(gobj_t *g, json_t *kw);
void attrs__free(gobj_t *g);
int attrs__validate_global(json_t *global);
/* The values a create of gc with kw would use, for every configurable
 * attribute (new object): default < global "GClass.attr" < kw < global
 * "prefix.attr" for each non-NULL prefixes[i] (a gobj's full or short name;
 * prefixes may be NULL).  global may be NULL. */
json_t *attrs__effective(const gclass_t *gc, const json_t *global, const json_t *kw,
                         const char *const prefixes[2]);

/* pubsub.c */
void pubsub__remove_all(gobj_t *g);
void pubsub__publish_state_change(gobj_t *g, int16_t previous, int16_t current);

/* post.c */
void post__forget(gobj_t *g);
void post__reset(void);

/* trace.c */
void trace__machine(const gobj_t *g, gobj_event_t ev, const struct gc_row *row, unsigned depth);
void trace__hook(const gobj_t *g, const char *kind, int16_t state);
void trace__lifecycle(const gobj_t *g, const char *what);
void trace__subscription(const gobj_t *pub, const char *what, gobj_event_t ev,
                         const gobj_t *subscriber);
void trace__on_create(gobj_t *g);
void trace__reset(void);
void trace__recompute(void);

/* error.c */
void gobj__errorf(const gobj_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* GINSFSM_INTERNAL_H */
