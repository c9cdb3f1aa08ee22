/*
 * gclass.c - the gclass registry: interning of event names, and the
 * compilation of a gclass's tables into dense per-state arrays.
 *
 * Registration checks every table once and refuses a bad one with a single
 * error naming the gclass and the offending row, so that dispatch never has
 * to validate anything: it indexes row_of[event id] and calls the action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

GOBJ_DEFINE_EVENT(EV_STATE_CHANGED);

static struct gclass *gc_head, *gc_tail;

/* Interned events, indexed by id (ids start at 1). */
static gobj_event_t *ev_by_id;
static uint32_t ev_count, ev_cap;

const char *gobj_event_name(gobj_event_t ev)
{
    return ev ? ev->name : "(null)";
}

const char *gobj_state_name(gobj_state_t st)
{
    return st ? st->name : "(null)";
}

gobj_event_t gclass__event_by_id(uint32_t id)
{
    return id >= 1 && id <= ev_count ? ev_by_id[id] : NULL;
}

gobj_event_t gobj_event_find(const char *name)
{
    if (!name)
        return NULL;
    for (uint32_t i = 1; i <= ev_count; i++)
        if (strcmp(ev_by_id[i]->name, name) == 0)
            return ev_by_id[i];
    return NULL;
}

/* Give ev an id.  Two different descriptors with one name would make text
 * from outside ambiguous, so that is refused. */
static int intern_event(gobj_event_t ev, const char *gclass)
{
    if (ev->id)
        return 0;
    if (!ev->name || !*ev->name) {
        gobj__errorf(NULL, "gclass %s: an event has no name", gclass);
        return GOBJ_ETABLE;
    }
    if (gobj_event_find(ev->name)) {
        gobj__errorf(NULL,
                     "gclass %s: event %s is defined twice in the program "
                     "(define it once with GOBJ_DEFINE_EVENT and declare it elsewhere)",
                     gclass, ev->name);
        return GOBJ_ETABLE;
    }
    if (ev_count + 1 >= ev_cap) {
        uint32_t cap = ev_cap ? ev_cap * 2 : 64;
        gobj_event_t *n = realloc(ev_by_id, cap * sizeof *n);
        if (!n)
            return GOBJ_ENOMEM;
        ev_by_id = n;
        ev_cap = cap;
    }
    ev->id = ++ev_count;
    ev_by_id[ev->id] = ev;
    return 0;
}

void gclass__intern_builtin(void)
{
    if (!EV_STATE_CHANGED->id)
        intern_event(EV_STATE_CHANGED, "(runtime)");
}

int gclass__state_index(const struct gclass *gc, gobj_state_t st)
{
    for (int i = 0; i < gc->n_states; i++)
        if (gc->states[i].name == st)
            return i;
    return GOBJ_NO_STATE;
}

gclass_t *gclass_find(const char *name)
{
    if (!name)
        return NULL;
    for (struct gclass *gc = gc_head; gc; gc = gc->next)
        if (strcmp(gc->name, name) == 0)
            return gc;
    return NULL;
}

const char *gclass_name(const gclass_t *gc)
{
    return gc ? gc->name : "(null)";
}

bool gclass_is_hierarchical(const gclass_t *gc)
{
    return gc && gc->hier;
}

const gclass_def_t *gclass_def(const gclass_t *gc)
{
    return gc ? gc->def : NULL;
}

void gclass_foreach(void (*fn)(gclass_t *gc, void *user), void *user)
{
    for (struct gclass *gc = gc_head; gc; gc = gc->next)
        fn(gc, user);
}

const gobj_attr_t *gclass_attrs(const gclass_t *gc)
{
    static const gobj_attr_t none[] = {GOBJ_ATTR_END};
    return gc && gc->def->attrs ? gc->def->attrs : none;
}

const gobj_attr_t *gclass_find_attr(const gclass_t *gc, const char *name)
{
    if (!gc || !name)
        return NULL;
    for (size_t i = 0; i < gc->n_attrs; i++)
        if (strcmp(gc->def->attrs[i].name, name) == 0)
            return &gc->def->attrs[i];
    return NULL;
}

static void gclass_free(struct gclass *gc)
{
    if (!gc)
        return;
    if (gc->states) {
        for (int i = 0; i < gc->n_states; i++)
            free(gc->states[i].row_of);
        free(gc->states);
    }
    if (gc->attr_defaults) {
        for (size_t i = 0; i < gc->n_attrs; i++)
            json_decref(gc->attr_defaults[i]);
        free(gc->attr_defaults);
    }
    free(gc->rows);
    free(gc->ev_flags);
    free(gc);
}

int gclass_unregister_all(void)
{
    if (gobj_live_count() != 0) {
        gobj__errorf(NULL, "gclass_unregister_all: %zu gobj(s) still alive", gobj_live_count());
        return GOBJ_ESTATE;
    }
    while (gc_head) {
        struct gclass *n = gc_head->next;
        gclass_free(gc_head);
        gc_head = n;
    }
    gc_tail = NULL;
    for (uint32_t i = 1; i <= ev_count; i++)
        ev_by_id[i]->id = 0;
    free(ev_by_id);
    ev_by_id = NULL;
    ev_count = ev_cap = 0;
    post__reset();
    trace__reset();
    return 0;
}

/*---------------------------------------------------------------------*
 *  Attribute table checks
 *---------------------------------------------------------------------*/
static const char *attr_type_name(gobj_attr_type_t t)
{
    switch (t) {
    case GOBJ_ATTR_BOOL:
        return "bool";
    case GOBJ_ATTR_INT:
        return "int";
    case GOBJ_ATTR_REAL:
        return "real";
    case GOBJ_ATTR_STRING:
        return "string";
    case GOBJ_ATTR_JSON:
        return "json";
    }
    return NULL;
}

static size_t attr_field_size(gobj_attr_type_t t)
{
    switch (t) {
    case GOBJ_ATTR_BOOL:
        return sizeof(bool);
    case GOBJ_ATTR_INT:
        return sizeof(int64_t);
    case GOBJ_ATTR_REAL:
        return sizeof(double);
    case GOBJ_ATTR_STRING:
        return sizeof(char *);
    case GOBJ_ATTR_JSON:
        return sizeof(json_t *);
    }
    return 0;
}

/* Is v acceptable for an attribute of type t?  (Shared with attrs.c through
 * gobj__attr_accepts.) */
bool gobj__attr_accepts(gobj_attr_type_t t, const json_t *v);
bool gobj__attr_accepts(gobj_attr_type_t t, const json_t *v)
{
    switch (t) {
    case GOBJ_ATTR_BOOL:
        return json_is_boolean(v);
    case GOBJ_ATTR_INT:
        return json_is_integer(v);
    case GOBJ_ATTR_REAL:
        return json_is_number(v);
    case GOBJ_ATTR_STRING:
        return json_is_string(v) || json_is_null(v);
    case GOBJ_ATTR_JSON:
        return v != NULL;
    }
    return false;
}

const char *gobj__attr_type_name(gobj_attr_type_t t);
const char *gobj__attr_type_name(gobj_attr_type_t t)
{
    const char *n = attr_type_name(t);
    return n ? n : "?";
}

static int compile_attrs(struct gclass *gc)
{
    const gclass_def_t *def = gc->def;
    const gobj_attr_t *a = def->attrs;
    size_t n = 0;
    if (a)
        while (a[n].name)
            n++;
    gc->n_attrs = n;
    if (!n)
        return 0;
    gc->attr_defaults = calloc(n, sizeof(json_t *));
    if (!gc->attr_defaults)
        return GOBJ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const gobj_attr_t *at = &a[i];
        /* Configuration reaches an attribute by "prefix.attr" keys split at
         * the last dot (global, gserve -s): a name that is empty or holds a
         * dot or '=' could never be given a value that way. */
        if (!*at->name || strpbrk(at->name, ".=")) {
            gobj__errorf(NULL,
                         "gclass %s: attribute '%s': a name must not be empty nor contain "
                         "'.' or '=' (configuration keys could not reach it)",
                         gc->name, at->name);
            return GOBJ_ETABLE;
        }
        /* STATS and VOLATILE attributes cannot be given at create, so a
         * REQUIRED one could never be created. */
        if ((at->flags & GOBJ_REQUIRED) && (at->flags & (GOBJ_STATS | GOBJ_VOLATILE))) {
            gobj__errorf(NULL,
                         "gclass %s: attribute %s: REQUIRED together with %s: it cannot be "
                         "given at create, so no gobj of the gclass could be created",
                         gc->name, at->name, (at->flags & GOBJ_STATS) ? "STATS" : "VOLATILE");
            return GOBJ_ETABLE;
        }
        if (!attr_type_name(at->type)) {
            gobj__errorf(NULL, "gclass %s: attribute %s: unknown type %d", gc->name, at->name,
                         (int)at->type);
            return GOBJ_ETABLE;
        }
        if (at->size != attr_field_size(at->type)) {
            gobj__errorf(NULL,
                         "gclass %s: attribute %s: type %s needs a field of %zu bytes, "
                         "the bound field has %zu",
                         gc->name, at->name, attr_type_name(at->type), attr_field_size(at->type),
                         at->size);
            return GOBJ_ETABLE;
        }
        if (at->offset + at->size > def->priv_size) {
            gobj__errorf(NULL,
                         "gclass %s: attribute %s: field lies outside the private "
                         "struct (priv_size %zu)",
                         gc->name, at->name, def->priv_size);
            return GOBJ_ETABLE;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(a[j].name, at->name) == 0) {
                gobj__errorf(NULL, "gclass %s: attribute %s is defined twice", gc->name, at->name);
                return GOBJ_ETABLE;
            }
        }
        json_t *d;
        if (at->default_json) {
            json_error_t jerr;
            d = json_loads(at->default_json, JSON_DECODE_ANY, &jerr);
            if (!d) {
                gobj__errorf(NULL, "gclass %s: attribute %s: default '%s' is not JSON: %s",
                             gc->name, at->name, at->default_json, jerr.text);
                return GOBJ_ETABLE;
            }
        } else {
            switch (at->type) {
            case GOBJ_ATTR_BOOL:
                d = json_false();
                break;
            case GOBJ_ATTR_INT:
                d = json_integer(0);
                break;
            case GOBJ_ATTR_REAL:
                d = json_real(0);
                break;
            case GOBJ_ATTR_STRING:
                d = json_null();
                break;
            default:
                d = json_null();
                break;
            }
        }
        gc->attr_defaults[i] = d;
        if (!d)
            return GOBJ_ENOMEM;
        if (!gobj__attr_accepts(at->type, d)) {
            gobj__errorf(NULL, "gclass %s: attribute %s: default '%s' is not of type %s", gc->name,
                         at->name, at->default_json, attr_type_name(at->type));
            return GOBJ_ETABLE;
        }
    }
    return 0;
}

/*---------------------------------------------------------------------*
 *  Machine compilation
 *---------------------------------------------------------------------*/
static int compile_machine(struct gclass *gc)
{
    const gclass_def_t *def = gc->def;
    const gobj_state_def_t *sd = def->states;
    const gobj_event_def_t *ed = def->events;
    const char *gn = gc->name;
    int n_states = 0, rc;
    uint32_t n_rows = 0;

    if (!sd || !sd[0].state) {
        gobj__errorf(NULL, "gclass %s: the state table is empty", gn);
        return GOBJ_ETABLE;
    }
    while (sd[n_states].state)
        n_states++;
    if (n_states > 255) {
        gobj__errorf(NULL, "gclass %s: %d states, at most 255", gn, n_states);
        return GOBJ_ETABLE;
    }

    /* Intern every event the tables name, then size the dense arrays. */
    uint32_t max_id = EV_STATE_CHANGED->id;
    for (size_t i = 0; ed && ed[i].event; i++) {
        if ((rc = intern_event(ed[i].event, gn)) < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (ed[j].event == ed[i].event) {
                gobj__errorf(NULL, "gclass %s: event %s is listed twice in the event table", gn,
                             ed[i].event->name);
                return GOBJ_ETABLE;
            }
        }
        if (ed[i].event->id > max_id)
            max_id = ed[i].event->id;
    }
    gc->n_slots = max_id + 1;
    gc->ev_flags = calloc(gc->n_slots, 1);
    if (!gc->ev_flags)
        return GOBJ_ENOMEM;
    for (size_t i = 0; ed && ed[i].event; i++)
        gc->ev_flags[ed[i].event->id] = (uint8_t)(ed[i].flags & (GOBJ_EV_IN | GOBJ_EV_OUT));

    gc->n_states = (uint16_t)n_states;
    gc->states = calloc((size_t)n_states, sizeof *gc->states);
    if (!gc->states)
        return GOBJ_ENOMEM;
    for (int i = 0; i < n_states; i++) {
        if (!sd[i].state->name || !*sd[i].state->name) {
            gobj__errorf(NULL, "gclass %s: state #%d has no name", gn, i);
            return GOBJ_ETABLE;
        }
        for (int j = 0; j < i; j++) {
            if (sd[j].state == sd[i].state || strcmp(sd[j].state->name, sd[i].state->name) == 0) {
                gobj__errorf(NULL, "gclass %s: duplicate state %s", gn, sd[i].state->name);
                return GOBJ_ETABLE;
            }
        }
        gc->states[i].name = sd[i].state;
        gc->states[i].parent = GOBJ_NO_STATE;
        gc->states[i].initial = GOBJ_NO_STATE;
        gc->states[i].on_entry = sd[i].on_entry;
        gc->states[i].on_exit = sd[i].on_exit;
        gc->states[i].row_of = calloc(gc->n_slots, sizeof(uint16_t));
        if (!gc->states[i].row_of)
            return GOBJ_ENOMEM;
        if (sd[i].parent || sd[i].initial || sd[i].on_entry || sd[i].on_exit)
            gc->hier = true;
        for (const gobj_row_t *r = sd[i].rows; r && r->event; r++)
            n_rows++;
    }

    /* Hierarchy: parents, cycles, depth, initial substates. */
    for (int i = 0; i < n_states; i++) {
        if (!sd[i].parent)
            continue;
        int p = gclass__state_index(gc, sd[i].parent);
        if (p == GOBJ_NO_STATE) {
            gobj__errorf(NULL, "gclass %s: state %s: unknown parent %s", gn, sd[i].state->name,
                         sd[i].parent->name);
            return GOBJ_ETABLE;
        }
        gc->states[i].parent = (int16_t)p;
    }
    for (int i = 0; i < n_states; i++) {
        int depth = 0;
        for (int p = gc->states[i].parent; p != GOBJ_NO_STATE; p = gc->states[p].parent) {
            if (p == i || depth > n_states) {
                gobj__errorf(NULL, "gclass %s: state %s: parent cycle", gn, sd[i].state->name);
                return GOBJ_ETABLE;
            }
            depth++;
        }
        if (depth >= GOBJ_MAX_DEPTH) {
            gobj__errorf(NULL, "gclass %s: state %s: nested %d levels deep, at most %d", gn,
                         sd[i].state->name, depth + 1, GOBJ_MAX_DEPTH);
            return GOBJ_ETABLE;
        }
        gc->states[i].depth = (uint8_t)depth;
    }
    for (int i = 0; i < n_states; i++) {
        bool composite = false;
        for (int j = 0; j < n_states; j++)
            if (gc->states[j].parent == i)
                composite = true;
        if (!sd[i].initial) {
            if (composite) {
                gobj__errorf(NULL, "gclass %s: composite state %s has no initial substate", gn,
                             sd[i].state->name);
                return GOBJ_ETABLE;
            }
            continue;
        }
        int ini = gclass__state_index(gc, sd[i].initial);
        if (ini == GOBJ_NO_STATE) {
            gobj__errorf(NULL, "gclass %s: state %s: unknown initial substate %s", gn,
                         sd[i].state->name, sd[i].initial->name);
            return GOBJ_ETABLE;
        }
        if (!composite) {
            gobj__errorf(NULL, "gclass %s: state %s is a leaf but names an initial substate %s", gn,
                         sd[i].state->name, sd[i].initial->name);
            return GOBJ_ETABLE;
        }
        bool below = false;
        for (int p = gc->states[ini].parent; p != GOBJ_NO_STATE; p = gc->states[p].parent)
            if (p == i)
                below = true;
        if (!below) {
            gobj__errorf(NULL, "gclass %s: state %s: initial %s is not one of its substates", gn,
                         sd[i].state->name, sd[i].initial->name);
            return GOBJ_ETABLE;
        }
        gc->states[i].initial = (int16_t)ini;
    }

    /* Rows. */
    if (n_rows > UINT16_MAX - 1) {
        gobj__errorf(NULL, "gclass %s: %u rows, too many", gn, n_rows);
        return GOBJ_ETABLE;
    }
    gc->rows = calloc(n_rows + 1, sizeof *gc->rows);
    if (!gc->rows)
        return GOBJ_ENOMEM;
    uint32_t k = 1;
    for (int i = 0; i < n_states; i++) {
        for (const gobj_row_t *r = sd[i].rows; r && r->event; r++) {
            const char *sn = sd[i].state->name;
            uint32_t id = r->event->id;
            if (!id || id >= gc->n_slots || !(gc->ev_flags[id] & GOBJ_EV_IN)) {
                gobj__errorf(NULL,
                             "gclass %s: state %s, row %s: unknown event (not an input "
                             "event of the gclass's event table)",
                             gn, sn, r->event->name ? r->event->name : "(unnamed)");
                return GOBJ_ETABLE;
            }
            if (gc->states[i].row_of[id]) {
                gobj__errorf(NULL, "gclass %s: state %s, row %s: duplicate row", gn, sn,
                             r->event->name);
                return GOBJ_ETABLE;
            }
            int16_t next = GOBJ_NO_STATE;
            if (r->next_state) {
                next = (int16_t)gclass__state_index(gc, r->next_state);
                if (next == GOBJ_NO_STATE) {
                    gobj__errorf(NULL, "gclass %s: state %s, row %s: unknown next state %s", gn, sn,
                                 r->event->name,
                                 r->next_state->name ? r->next_state->name : "(unnamed)");
                    return GOBJ_ETABLE;
                }
            }
            gc->rows[k] = (struct gc_row){
                .event = r->event,
                .action = r->action,
                .action_name = r->action_name,
                .next = next,
                .state = (uint8_t)i,
            };
            gc->states[i].row_of[id] = (uint16_t)k;
            k++;
        }
    }
    gc->n_rows = k;

    /* Every input event must be handled somewhere. */
    for (size_t i = 0; ed && ed[i].event; i++) {
        if (!(ed[i].flags & GOBJ_EV_IN))
            continue;
        bool handled = false;
        for (int s = 0; s < n_states && !handled; s++)
            if (gc->states[s].row_of[ed[i].event->id])
                handled = true;
        if (!handled) {
            gobj__errorf(NULL, "gclass %s: input event %s is handled in no state", gn,
                         ed[i].event->name);
            return GOBJ_ETABLE;
        }
    }

    /* Resolve inherited rows: a substate's row_of[] also points at the
     * nearest superstate's row, so that dispatch finds the first candidate
     * with one load whatever the depth.  Superstates are done first. */
    for (int depth = 1; gc->hier && depth < GOBJ_MAX_DEPTH; depth++) {
        for (int i = 0; i < n_states; i++) {
            struct gc_state *st = &gc->states[i];
            if (st->depth != depth)
                continue;
            const uint16_t *up = gc->states[st->parent].row_of;
            for (uint32_t id = 0; id < gc->n_slots; id++)
                if (!st->row_of[id])
                    st->row_of[id] = up[id];
        }
    }
    return 0;
}

gclass_t *gclass_register(const gclass_def_t *def)
{
    if (!def || !def->name || !*def->name) {
        gobj__errorf(NULL, "gclass_register: the gclass has no name");
        return NULL;
    }
    if (gclass_find(def->name)) {
        gobj__errorf(NULL, "gclass %s is already registered", def->name);
        return NULL;
    }
    gclass__intern_builtin();
    struct gclass *gc = calloc(1, sizeof *gc);
    if (!gc) {
        gobj__errorf(NULL, "gclass %s: out of memory", def->name);
        return NULL;
    }
    gc->def = def;
    gc->name = def->name;
    /* Events interned by a refused gclass stay interned: harmless, and it
     * keeps ids stable for the gclasses that were accepted. */
    int rc = compile_machine(gc);
    if (rc == 0)
        rc = compile_attrs(gc);
    if (rc < 0) {
        if (rc == GOBJ_ENOMEM)
            gobj__errorf(NULL, "gclass %s: out of memory", def->name);
        gclass_free(gc);
        return NULL;
    }
    if (gc_tail)
        gc_tail->next = gc;
    else
        gc_head = gc;
    gc_tail = gc;
    trace__recompute();
    return gc;
}
