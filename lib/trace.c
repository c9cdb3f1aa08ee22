/*
 * trace.c - trace levels (global, per gclass, per gobj) and the trace records.
 *
 * Dispatch tests one global flag, gobj__trace_any, which is true only while
 * some trace level is set somewhere; everything else here runs only then.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool gobj__trace_any;
static unsigned global_trace;
static bool some_gobj_traced;

/* Levels asked for by name for gobjs that do not exist yet. */
struct pending_trace {
    char *name;
    unsigned levels;
    struct pending_trace *next;
};
static struct pending_trace *pending;

static const struct {
    const char *name;
    unsigned bit;
} level_names[] = {
    {"machine", GOBJ_TRACE_MACHINE},
    {"traffic", GOBJ_TRACE_TRAFFIC},
    {"subscriptions", GOBJ_TRACE_SUBSCRIPTIONS},
    {"lifecycle", GOBJ_TRACE_LIFECYCLE},
};

unsigned gobj_trace_level_from_name(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "all") == 0)
        return GOBJ_TRACE_MACHINE | GOBJ_TRACE_TRAFFIC | GOBJ_TRACE_SUBSCRIPTIONS |
               GOBJ_TRACE_LIFECYCLE;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(level_names[i].name, name) == 0)
            return level_names[i].bit;
    return 0;
}

const char *gobj_trace_level_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (level_names[i].bit == bit)
            return level_names[i].name;
    return "unknown";
}

static void any_gclass_traced(gclass_t *gc, void *user)
{
    if (gc->trace)
        *(bool *)user = true;
}

void trace__recompute(void)
{
    bool any = global_trace || some_gobj_traced || pending;
    if (!any)
        gclass_foreach(any_gclass_traced, &any);
    gobj__trace_any = any;
}

void gobj_set_global_trace(unsigned levels)
{
    global_trace = levels;
    trace__recompute();
}

unsigned gobj_get_global_trace(void)
{
    return global_trace;
}

void gclass_set_trace(gclass_t *gc, unsigned levels)
{
    if (!gc)
        return;
    gc->trace = levels;
    trace__recompute();
}

void gobj_set_trace(gobj_t *g, unsigned levels)
{
    if (!g)
        return;
    g->trace = levels;
    /* Once a gobj was traced, dispatch keeps looking until the next reset:
     * cheaper than counting traced gobjs through every free. */
    if (levels)
        some_gobj_traced = true;
    trace__recompute();
}

unsigned gobj_trace_levels(const gobj_t *g)
{
    return global_trace | (g ? g->gc->trace | g->trace : 0);
}

void trace__on_create(gobj_t *g)
{
    for (struct pending_trace *p = pending; p; p = p->next)
        if (strcmp(p->name, g->full_name) == 0)
            g->trace |= p->levels;
}

void trace__reset(void)
{
    while (pending) {
        struct pending_trace *n = pending->next;
        free(pending->name);
        free(pending);
        pending = n;
    }
    global_trace = 0;
    some_gobj_traced = false;
    gobj__trace_any = false;
}

static int parse_levels(const char *s, unsigned *out, const char *spec)
{
    unsigned levels = 0;
    char buf[256];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf) {
        gobj__errorf(NULL, "--trace '%s': no trace level given", spec);
        return GOBJ_EINVAL;
    }
    memcpy(buf, s, n + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned bit = gobj_trace_level_from_name(tok);
        if (!bit) {
            gobj__errorf(NULL,
                         "--trace '%s': unknown trace level '%s' (known: machine, "
                         "traffic, subscriptions, lifecycle, all)",
                         spec, tok);
            return GOBJ_EINVAL;
        }
        levels |= bit;
    }
    *out = levels;
    return 0;
}

/* Add (or, with add false, remove) the levels of a spec. */
static int apply_spec(const char *spec, bool add)
{
    if (!spec || !*spec) {
        gobj__errorf(NULL, "--trace: empty specification");
        return GOBJ_EINVAL;
    }
    const char *colon = strrchr(spec, ':');
    unsigned levels;
    int rc = parse_levels(colon ? colon + 1 : spec, &levels, spec);
    if (rc < 0)
        return rc;
    if (!colon) {
        gobj_set_global_trace(add ? global_trace | levels : global_trace & ~levels);
        return 0;
    }
    size_t n = (size_t)(colon - spec);
    char *who = strndup(spec, n);
    if (!who)
        return GOBJ_ENOMEM;
    gclass_t *gc = gclass_find(who);
    if (gc) {
        gclass_set_trace(gc, add ? gc->trace | levels : gc->trace & ~levels);
        free(who);
        return 0;
    }
    gobj_t *g = gobj_find_path(NULL, who);
    if (!g)
        g = gobj_find_unique(who);
    if (g)
        gobj_set_trace(g, add ? g->trace | levels : g->trace & ~levels);
    if (!add) {
        /* Those created later get the levels left. */
        for (struct pending_trace **pp = &pending; *pp;) {
            struct pending_trace *p = *pp;
            if (strcmp(p->name, who) == 0 || (g && strcmp(p->name, g->full_name) == 0))
                p->levels &= ~levels;
            if (!p->levels) {
                *pp = p->next;
                free(p->name);
                free(p);
            } else {
                pp = &p->next;
            }
        }
        free(who);
        trace__recompute();
        return 0;
    }
    /* Also for gobjs of that name created later (a connection, a restart). */
    struct pending_trace *p = calloc(1, sizeof *p);
    if (!p) {
        free(who);
        return GOBJ_ENOMEM;
    }
    p->name = who;
    p->levels = levels;
    p->next = pending;
    pending = p;
    trace__recompute();
    return 0;
}

int gobj_trace_apply_spec(const char *spec)
{
    return apply_spec(spec, true);
}

int gobj_trace_remove_spec(const char *spec)
{
    return apply_spec(spec, false);
}

/*---------------------------------------------------------------------*
 *  Records
 *---------------------------------------------------------------------*/
void trace__machine(const gobj_t *g, gobj_event_t ev, const struct gc_row *row, unsigned depth)
{
    if (!(gobj_trace_levels(g) & GOBJ_TRACE_MACHINE))
        return;
    const struct gclass *gc = g->gc;
    const char *state = gc->states[g->state].name->name;
    const char *next = row->next != GOBJ_NO_STATE ? gc->states[row->next].name->name : state;
    char msg[512];
    snprintf(msg, sizeof msg, "%*s%s -%s-> %s", (int)(depth > 1 ? 2 * (depth - 1) : 0), "", state,
             ev->name, next);
    gobj_log(GOBJ_LOG_TRACE, g, msg, "trace", json_string("machine"), "state", json_string(state),
             "event", json_string(ev->name), "action",
             row->action ? json_string(row->action_name ? row->action_name : "(unnamed)")
                         : json_null(),
             "next", json_string(next), "handled_in",
             json_string(gc->states[row->state].name->name), "depth", json_integer(depth), NULL);
}

void trace__hook(const gobj_t *g, const char *kind, int16_t state)
{
    if (!(gobj_trace_levels(g) & GOBJ_TRACE_MACHINE))
        return;
    const char *name = g->gc->states[state].name->name;
    char msg[256];
    snprintf(msg, sizeof msg, "%s %s", kind, name);
    gobj_log(GOBJ_LOG_TRACE, g, msg, "trace", json_string("machine"), "state", json_string(name),
             "depth", json_integer(gobj__depth), NULL);
}

void trace__lifecycle(const gobj_t *g, const char *what)
{
    if (!(gobj_trace_levels(g) & GOBJ_TRACE_LIFECYCLE))
        return;
    gobj_log(GOBJ_LOG_TRACE, g, what, "trace", json_string("lifecycle"), "gclass",
             json_string(g->gc->name), NULL);
}

void trace__subscription(const gobj_t *pub, const char *what, gobj_event_t ev,
                         const gobj_t *subscriber)
{
    if (!(gobj_trace_levels(pub) & GOBJ_TRACE_SUBSCRIPTIONS) &&
        !(subscriber && (gobj_trace_levels(subscriber) & GOBJ_TRACE_SUBSCRIPTIONS)))
        return;
    gobj_log(GOBJ_LOG_TRACE, pub, what, "trace", json_string("subscriptions"), "event",
             json_string(ev ? ev->name : "*"), "subscriber",
             subscriber ? json_string(subscriber->full_name) : json_null(), NULL);
}
