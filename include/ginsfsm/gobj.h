/*
 * ginsfsm/gobj.h - gclasses and gobjs: the tree, the lifecycle, attributes,
 * events and subscriptions.
 *
 * Ownership vocabulary (used on every signature below):
 *   stolen    the callee takes the reference, on every path, success or failure.
 *   borrowed  the callee only looks; the caller keeps its reference.
 *   new       the caller receives a reference it must release (json_decref / free).
 *
 * Errors are negative GOBJ_E* codes (see the X-macro list below) or a negated
 * errno for operating-system failures.  The code is the one channel a caller
 * acts on; a failure caused by bad input (a table, a config value, a misused
 * call) is also written once to the log, so that a person can see why.
 */
#ifndef GINSFSM_GOBJ_H
#define GINSFSM_GOBJ_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in the public headers is exported; the rest of the
 * library is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

#define GINSFSM_VERSION_MAJOR 0
#define GINSFSM_VERSION_MINOR 1
#define GINSFSM_VERSION_MICRO 0
#define GINSFSM_VERSION       "0.1.0"

/* Returns: the library's version string (borrowed, static). */
const char *gobj_version(void);

/*--------------------------------------------------------------------------*
 *  Errors
 *--------------------------------------------------------------------------*/
/* X(name, value, text).  Values stay clear of -errno (errno < 4096 on Linux). */
// clang-format off
#define GOBJ_ERRORS(X)                                                        \
    X(GOBJ_EINVAL,      -10001, "invalid argument")                           \
    X(GOBJ_ENOMEM,      -10002, "out of memory")                              \
    X(GOBJ_ENOEVENT,    -10003, "event not accepted in the current state")    \
    X(GOBJ_ENOENT,      -10004, "no such gobj, gclass, event or attribute")   \
    X(GOBJ_EEXIST,      -10005, "already exists")                             \
    X(GOBJ_ETYPE,       -10006, "wrong type")                                 \
    X(GOBJ_EREQUIRED,   -10007, "required attribute missing")                 \
    X(GOBJ_EACCES,      -10008, "attribute not readable or not writable")     \
    X(GOBJ_EDESTROYED,  -10009, "gobj is destroyed")                          \
    X(GOBJ_ESTATE,      -10010, "not allowed in this state or phase")         \
    X(GOBJ_ETABLE,      -10011, "invalid gclass table")                       \
    X(GOBJ_ECONFIG,     -10012, "invalid configuration")                      \
    X(GOBJ_ERANGE,      -10013, "value out of range")                         \
    X(GOBJ_ETIMEDOUT,   -10014, "timed out")
// clang-format on

enum gobj_error {
    GOBJ_OK = 0,
#define GOBJ__ERR_ENUM(name, value, text) name = value,
    GOBJ_ERRORS(GOBJ__ERR_ENUM)
#undef GOBJ__ERR_ENUM
};

/* Returns: a static description of a GOBJ_E* code or of a negated errno. */
const char *gobj_strerror(int err);
/* Returns: the static symbolic name ("GOBJ_ENOEVENT", "ECONNRESET"), or "unknown". */
const char *gobj_err_name(int err);

/*--------------------------------------------------------------------------*
 *  Interned names: events and states
 *--------------------------------------------------------------------------*/
/*
 * An event or a state is the address of a small descriptor that the library
 * numbers when a gclass using it is registered.  Dispatch compares numbers,
 * never strings.  Define each name exactly once in the program and declare
 * it where it is used:
 *
 *     GOBJ_DEFINE_EVENT(EV_TICK);       (in one .c file)
 *     GOBJ_DECLARE_EVENT(EV_TICK);      (in a header)
 *
 * EV_TICK is then an address constant, usable in static tables.
 */
struct gobj_name_s {
    const char *name; /* the text, e.g. "EV_TICK" */
    uint32_t id;      /* set by the library; 0 until first registered */
};
typedef struct gobj_name_s *gobj_event_t;
typedef struct gobj_name_s *gobj_state_t;

#define GOBJ_DEFINE_EVENT(ev)  struct gobj_name_s ev[1] = {{#ev, 0}}
#define GOBJ_DECLARE_EVENT(ev) extern struct gobj_name_s ev[1]
#define GOBJ_DEFINE_STATE(st)  struct gobj_name_s st[1] = {{#st, 0}}
#define GOBJ_DECLARE_STATE(st) extern struct gobj_name_s st[1]

/* Published by every gobj whose leaf state changes: kw {previous, current}
 * (state names as strings).  The kw is built only when someone subscribes. */
GOBJ_DECLARE_EVENT(EV_STATE_CHANGED);

/* Returns: the event's text (borrowed, static); "(null)" for NULL. */
const char *gobj_event_name(gobj_event_t ev);
const char *gobj_state_name(gobj_state_t st);
/* Map text from outside (config, control) to an interned event known to a
 * registered gclass.  Returns: the event, or NULL if no gclass knows it. */
gobj_event_t gobj_event_find(const char *name);

/*--------------------------------------------------------------------------*
 *  GClass definition
 *--------------------------------------------------------------------------*/
typedef struct gobj gobj_t;     /* opaque instance */
typedef struct gclass gclass_t; /* opaque, registered class */

/* An action.  kw is borrowed: the dispatcher releases it after the action
 * returns (json_incref it to keep it).  kw may be NULL.  src may be NULL.
 * Returns: >= 0 on success (send returns it), negative on error, or
 * FSM_UNHANDLED in hierarchical gclasses to offer the event to the
 * superstate (guard false). */
typedef int (*gobj_action_fn)(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
typedef void (*gobj_hook_fn)(gobj_t *gobj);
#define FSM_UNHANDLED INT_MIN

/* One transition row; tables end with a row whose event is NULL.
 * next_state NULL keeps the state.  action_name is optional and only used
 * by the machine trace and the DOT export (GOBJ_ROW fills it in). */
typedef struct gobj_row {
    gobj_event_t event;
    gobj_action_fn action;
    gobj_state_t next_state;
    const char *action_name;
} gobj_row_t;
#define GOBJ_ROW(ev, ac, next)  \
    {                           \
        (ev), (ac), (next), #ac \
    }

/* One state; tables end with an entry whose state is NULL.  The first state
 * is the initial one (mt_create may choose another with gobj_change_state).
 * Setting any of parent / initial / on_entry / on_exit in any state makes the
 * gclass hierarchical (doc/manual-runtime.md, chapter 6). */
typedef struct gobj_state_def {
    gobj_state_t state;
    const gobj_row_t *rows;
    gobj_state_t parent;  /* superstate, NULL = top level */
    gobj_state_t initial; /* required iff other states name this as parent */
    gobj_hook_fn on_entry;
    gobj_hook_fn on_exit;
} gobj_state_def_t;
/* A flat state, complete for -Wextra's missing-field-initializers. */
#define GOBJ_STATE(st, rows)                 \
    {                                        \
        (st), (rows), NULL, NULL, NULL, NULL \
    }

/* Event table entry; the table ends with an entry whose event is NULL. */
enum {
    GOBJ_EV_IN = 0x01,  /* accepted by the machine (must be handled somewhere) */
    GOBJ_EV_OUT = 0x02, /* published or sent out by this gclass */
};
typedef struct gobj_event_def {
    gobj_event_t event;
    unsigned flags;
    const char *kw_doc; /* one line: the kw layout, e.g. "{data: string}" */
} gobj_event_def_t;

/* Attributes. */
typedef enum {
    GOBJ_ATTR_BOOL = 1, /* field: bool */
    GOBJ_ATTR_INT,      /* field: int64_t */
    GOBJ_ATTR_REAL,     /* field: double */
    GOBJ_ATTR_STRING,   /* field: char * (owned by the gobj; NULL when JSON null) */
    GOBJ_ATTR_JSON,     /* field: json_t * (owned reference; never NULL) */
} gobj_attr_type_t;

enum {
    GOBJ_RD = 0x01,       /* readable through the API */
    GOBJ_WR = 0x02,       /* writable at run time (implies readable) */
    GOBJ_REQUIRED = 0x04, /* must be given at create */
    GOBJ_STATS = 0x08,    /* a statistic: read-only, returned by gobj_stats() */
    GOBJ_VOLATILE = 0x10, /* run-time state: not configurable, readable */
};

typedef struct gobj_attr {
    const char *name;
    gobj_attr_type_t type;
    const char *default_json; /* JSON text, e.g. "0", "true", "\"x\"", "{}"; NULL = type's zero */
    unsigned flags;
    size_t offset;           /* offsetof(private struct, field) */
    size_t size;             /* sizeof the field, checked against the type */
    const char *description; /* one line */
} gobj_attr_t;

#define GOBJ__FIELD_SIZE(T, f) sizeof(((T *)0)->f)
#define GOBJ_ATTR(name, type, T, field, def, flags, desc)                                      \
    {                                                                                          \
        (name), (type), (def), (flags), offsetof(T, field), GOBJ__FIELD_SIZE(T, field), (desc) \
    }
#define GOBJ_ATTR_END                \
    {                                \
        NULL, 0, NULL, 0, 0, 0, NULL \
    }

/* Methods; every member is optional. */
typedef struct gobj_methods {
    /* Attributes are set; < 0 fails the create (mt_destroy is still called,
     * so it must cope with a half-initialised private struct: it starts
     * zeroed). */
    int (*mt_create)(gobj_t *gobj);
    int (*mt_start)(gobj_t *gobj); /* < 0 fails the start */
    /* 0: stopped.  > 0: still finishing work (a connection flushing its
     * output): the gobj is "stopping" until it calls gobj_stopped().  A
     * gobj_stop() while stopping calls mt_stop again, meaning "finish now". */
    int (*mt_stop)(gobj_t *gobj);
    void (*mt_destroy)(gobj_t *gobj); /* release what mt_create/mt_start acquired */
    /* After an attribute was written at run time (not at create). */
    void (*mt_writing)(gobj_t *gobj, const char *attr);
    /* Gets events that no state accepts instead of the refusal; kw borrowed. */
    int (*mt_inject_event)(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
    /* After gobj_start_tree has started this gobj and its whole subtree
     * (children's calls come first), so that a parent can talk to its
     * started children at once.  Called only when the whole call
     * succeeded, and only for the gobjs that call started. */
    void (*mt_tree_started)(gobj_t *gobj);
    /* Checks values that types alone cannot (a framing name, a nested
     * gclass's attributes) without creating anything: gserve --check and
     * gclass_check_attrs() call it.  attrs holds every configurable
     * attribute with the value a gobj would be created with (borrowed; a
     * value may have the wrong type: check).  Returns: 0, or < 0 with a
     * one-line reason in why (naming the attribute).  mt_create must refuse
     * the same values: share the code. */
    int (*mt_check)(const json_t *attrs, char *why, size_t why_len);
} gobj_methods_t;

typedef struct gclass_def {
    const char *name;        /* "GSock" */
    const char *description; /* one line */
    const gobj_state_def_t *states;
    const gobj_event_def_t *events;
    const gobj_attr_t *attrs; /* may be NULL */
    gobj_methods_t methods;
    size_t priv_size; /* size of the private struct */
} gclass_def_t;

/* Compile and register a gclass.  def and every table it points to must
 * outlive the program (static tables).  A bad table is refused with one
 * logged error naming the gclass and the row.
 * Returns: the gclass (borrowed, lives until gclass_unregister_all), or NULL. */
gclass_t *gclass_register(const gclass_def_t *def);
/* Returns: a registered gclass by name, or NULL. */
gclass_t *gclass_find(const char *name);
const char *gclass_name(const gclass_t *gc);
bool gclass_is_hierarchical(const gclass_t *gc);
/* Calls fn for each registered gclass, in registration order. */
void gclass_foreach(void (*fn)(gclass_t *gc, void *user), void *user);
/* Returns: the attribute description or NULL. */
const gobj_attr_t *gclass_find_attr(const gclass_t *gc, const char *name);
const gobj_attr_t *gclass_attrs(const gclass_t *gc); /* terminated table */
const gclass_def_t *gclass_def(const gclass_t *gc);
/* Check attrs (a JSON object, or NULL) as the create kw of a gobj of gc,
 * creating nothing: each key a configurable attribute of gc with a value of
 * its type, then gc's mt_check on the values a create would use (defaults <
 * "GClass.attr" globals < attrs).  Returns: 0, or a negative code with a
 * one-line reason in why (e.g. "unknown attribute 'x' of GSock"). */
int gclass_check_attrs(const gclass_t *gc, const json_t *attrs, char *why, size_t why_len);
/* Forget every gclass and interned name (for tests and clean exits).
 * Refused with GOBJ_ESTATE while any gobj lives. */
int gclass_unregister_all(void);
/* Returns: the gclass's FSM as Graphviz DOT (new, free() it), or NULL. */
char *gclass_to_dot(const gclass_t *gc);

/*--------------------------------------------------------------------------*
 *  GObj lifecycle and tree
 *--------------------------------------------------------------------------*/
/* Create a gobj.  kw: stolen; a JSON object of attribute values (or NULL).
 * name: may be NULL/empty for an anonymous gobj; among siblings a non-empty
 * name must be unique.  parent NULL makes a root.
 * Returns: the gobj (borrowed, owned by its parent or by the caller for a
 * root), or NULL with the reason logged (unknown or wrongly typed attribute,
 * missing required attribute, mt_create failure, duplicate name). */
gobj_t *gobj_create(const char *name, gclass_t *gclass, json_t *kw, gobj_t *parent);
/* Same, and registers the name in the global registry of unique gobjs
 * (services); a duplicate unique name is refused. */
gobj_t *gobj_create_unique(const char *name, gclass_t *gclass, json_t *kw, gobj_t *parent);
/* Returns: 0, or a negative code (mt_start failed, destroyed gobj). */
int gobj_start(gobj_t *gobj);
int gobj_stop(gobj_t *gobj);
/* Start the gobj then its descendants, depth first; stops at the first
 * failure and stops again what it had started.  Returns: 0 or the error. */
int gobj_start_tree(gobj_t *gobj);
/* Stop the descendants then the gobj. */
int gobj_stop_tree(gobj_t *gobj);
/* Destroy the gobj and its subtree (children first).  Inside a dispatch it
 * only marks: the gobj leaves the tree, the registry and every subscription
 * at once, receives nothing more, and is stopped, destroyed and freed when
 * the outermost dispatch returns.  NULL or an already destroyed gobj: no-op.
 * Every call above (create, start, stop, the tree walks) counts as a dispatch
 * while it runs, so a method that destroys its own gobj is always safe. */
void gobj_destroy(gobj_t *gobj);

bool gobj_is_running(const gobj_t *gobj);
/* Stopped, but its mt_stop is still finishing work (see gobj_methods_t). */
bool gobj_is_stopping(const gobj_t *gobj);
/* Called by a gobj whose mt_stop returned > 0, once that work is done. */
void gobj_stopped(gobj_t *gobj);
bool gobj_is_destroying(const gobj_t *gobj);
/* Returns: borrowed strings, valid while the gobj lives. */
const char *gobj_name(const gobj_t *gobj);
const char *gobj_full_name(const gobj_t *gobj); /* "echo.server.clisrv_3" */
gclass_t *gobj_gclass(const gobj_t *gobj);
const char *gobj_gclass_name(const gobj_t *gobj);
gobj_t *gobj_parent(const gobj_t *gobj);
/* Returns: the private struct (mt_* and actions use it). */
void *gobj_priv(const gobj_t *gobj);
/* Children iteration, in creation order; destroyed children are skipped. */
gobj_t *gobj_first_child(const gobj_t *gobj);
gobj_t *gobj_next_child(const gobj_t *child);
size_t gobj_child_count(const gobj_t *gobj);
/* Find a child by its (possibly dotted) name. */
gobj_t *gobj_find_child(const gobj_t *gobj, const char *name);
/* Find by dotted path below root ("server.clisrv_3"), or, with root NULL,
 * among the roots by full name ("echo.server"). */
gobj_t *gobj_find_path(const gobj_t *root, const char *path);
/* Registry of unique gobjs. */
gobj_t *gobj_find_unique(const char *name);
/* Number of gobjs alive (created and not yet freed); tests assert 0. */
size_t gobj_live_count(void);

/*--------------------------------------------------------------------------*
 *  Attributes
 *--------------------------------------------------------------------------*/
/* Returns: the value (new reference), or NULL if unknown or not readable. */
json_t *gobj_read_attr(const gobj_t *gobj, const char *name);
/* value: stolen.  Validates the type, stores it, calls mt_writing.
 * Returns: 0, GOBJ_ENOENT, GOBJ_EACCES (not WR) or GOBJ_ETYPE (also a string
 * holding a NUL byte). */
int gobj_write_attr(gobj_t *gobj, const char *name, json_t *value);
/* Returns: {attr: value} of every readable attribute (new). */
json_t *gobj_read_attrs(const gobj_t *gobj);
/* Returns: {attr: value} of every STATS attribute (new). */
json_t *gobj_stats(const gobj_t *gobj);
/* Typed shortcuts for readable attributes; 0 / NULL if unknown. */
int64_t gobj_read_int(const gobj_t *gobj, const char *name);
bool gobj_read_bool(const gobj_t *gobj, const char *name);
const char *gobj_read_str(const gobj_t *gobj, const char *name); /* borrowed */
/* Write typed values (same rules as gobj_write_attr). */
int gobj_write_int(gobj_t *gobj, const char *name, int64_t value);
int gobj_write_str(gobj_t *gobj, const char *name, const char *value);

/* Values applied to gobjs created from now on, by key "GClass.attr" (every
 * gobj of that gclass), "full.name.attr" (that gobj) or "name.attr" (every
 * gobj with that short name).
 * Precedence at create: default < "GClass.attr" < kw < "name.attr".  A prefix
 * that names a registered gclass is always a gclass key, never a gobj name.
 * Keys of any length.
 * global: stolen (a JSON object, or NULL to clear).  Returns: 0 or GOBJ_EINVAL. */
int gobj_set_global_attrs(json_t *global);

/*--------------------------------------------------------------------------*
 *  Events
 *--------------------------------------------------------------------------*/
/* Synchronous.  kw: stolen, also on failure.  Returns the action's result,
 * 0 for a row with no action, GOBJ_ENOEVENT if the state does not accept
 * ev, GOBJ_EDESTROYED for a destroyed dst. */
int gobj_send_event(gobj_t *dst, gobj_event_t ev, json_t *kw, gobj_t *src);
/* Queued: delivered on a later loop turn, FIFO.  kw: stolen.
 * Returns: 0, GOBJ_EINVAL (NULL dst or ev), GOBJ_EDESTROYED or GOBJ_ENOMEM. */
int gobj_post_event(gobj_t *dst, gobj_event_t ev, json_t *kw, gobj_t *src);
/* Deliver at most max posted events that were queued before this call.
 * The loop calls it every turn; tests may call it directly.
 * Returns: how many were delivered (or dropped for a gone destination). */
size_t gobj_run_posted(size_t max);
/* Drop every queued event without delivering it (kw released); the loop
 * calls it when it is freed.  Returns: how many were dropped. */
size_t gobj_drop_posted(void);
/* Returns: the number of events waiting in the post queue. */
size_t gobj_posted_count(void);
/* Called when the queue goes from empty to non-empty (the loop uses it to
 * schedule a drain).  NULL to clear. */
void gobj_set_post_notify(void (*fn)(void *user), void *user);

/* Does the gobj's current state (or a superstate) have a row for ev? */
bool gobj_has_input_event(const gobj_t *gobj, gobj_event_t ev);

/* State. */
gobj_state_t gobj_current_state(const gobj_t *gobj);          /* the leaf */
bool gobj_in_this_state(const gobj_t *gobj, gobj_state_t st); /* exact */
bool gobj_is_in_state(const gobj_t *gobj, gobj_state_t st);   /* leaf or ancestor */
/* Flat: sets the state now (publishing EV_STATE_CHANGED if it changed).
 * Hierarchical: inside the action of the step in progress records the target
 * (replaces the row's next state); inside a hook refused; anywhere else
 * (outside any step, an EV_STATE_CHANGED subscriber, mt_inject_event)
 * transitions at once.  From mt_create (both kinds): chooses the initial
 * state, entered after mt_create returns.
 * Returns: true if done or recorded. */
bool gobj_change_state(gobj_t *gobj, gobj_state_t st);
/* Inside an entry or exit hook: the state whose hook is running, so that one
 * hook function can serve many states.  NULL outside hooks. */
gobj_state_t gobj_hook_state(const gobj_t *gobj);

/*--------------------------------------------------------------------------*
 *  Publish / subscribe
 *--------------------------------------------------------------------------*/
/* Subscribe subscriber to ev of publisher; ev NULL = every output event the
 * publisher's gclass declares (not EV_STATE_CHANGED, which is subscribed by
 * name).
 * kw: stolen; options (all optional):
 *   "__rename_event_name__": "EV_OTHER"  deliver under this name, with
 *                                        "original_event_name" added to a copy of kw
 *   "__hard_subscription__": true        survives a non-forced unsubscribe
 *   "__use_post_event__": true           deliver with gobj_post_event
 *   "__filter__": {k: v, ...}            deliver only if kw[k] == v for each k
 *   "__own_event__": true                a result > 0 stops the fan-out
 * Returns: 0, GOBJ_EINVAL (NULL or destroyed gobj, bad option),
 * GOBJ_ENOEVENT (publisher does not output ev), GOBJ_EEXIST (same triple). */
int gobj_subscribe_event(gobj_t *publisher, gobj_event_t ev, json_t *kw, gobj_t *subscriber);
/* kw: stolen; {"__force__": true} also removes hard subscriptions.
 * Returns: 0, GOBJ_EACCES (only hard subscriptions matched: kept),
 * GOBJ_ENOENT (no such subscription) or GOBJ_EINVAL (NULL gobj). */
int gobj_unsubscribe_event(gobj_t *publisher, gobj_event_t ev, json_t *kw, gobj_t *subscriber);
/* Deliver ev to every matching subscriber in subscription order.
 * kw: stolen; each subscriber gets it borrowed (read-only, shared).
 * Returns: the number of deliveries (a __use_post_event__ delivery counts
 * when queued), or GOBJ_ENOEVENT if the publisher's gclass does not declare
 * ev as an output event (EV_STATE_CHANGED is always allowed). */
int gobj_publish_event(gobj_t *publisher, gobj_event_t ev, json_t *kw);
/* Number of subscriptions held on publisher (for ev, or all if NULL). */
size_t gobj_subscription_count(const gobj_t *publisher, gobj_event_t ev);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_GOBJ_H */
