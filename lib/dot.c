/*
 * dot.c - a gclass's state machine as Graphviz DOT.
 *
 * States are boxes; a composite state is a cluster holding its substates,
 * with a small anchor node that edges to or from the composite attach to
 * (drawn to the cluster's border with lhead/ltail).  Each row is an edge
 * labelled "EVENT / action"; an internal transition (no next state) is a
 * dashed loop.  A filled dot marks the initial state of the machine and of
 * each composite.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* No arithmetic on the NULL of an empty buffer (C11 6.5.6). */
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
}

static bool is_composite(const struct gclass *gc, int s)
{
    return gc->states[s].initial != GOBJ_NO_STATE;
}

/* The node an edge attaches to, and the cluster it clips to. */
static void endpoint(const struct gclass *gc, int s, char *node, size_t n, char *cluster, size_t m)
{
    const char *name = gc->states[s].name->name;
    if (is_composite(gc, s)) {
        snprintf(node, n, "%s__anchor", name);
        snprintf(cluster, m, "cluster_%s", name);
    } else {
        snprintf(node, n, "%s", name);
        cluster[0] = '\0';
    }
}

static void put_state(struct buf *b, const struct gclass *gc, int s, int indent)
{
    const char *name = gc->states[s].name->name;
    if (!is_composite(gc, s)) {
        put(b, "%*s\"%s\" [shape=box, style=rounded];\n", indent, "", name);
        return;
    }
    put(b, "%*ssubgraph \"cluster_%s\" {\n", indent, "", name);
    put(b, "%*slabel=\"%s\"; style=rounded;\n", indent + 2, "", name);
    put(b, "%*s\"%s__anchor\" [shape=point, width=0.12, label=\"\"];\n", indent + 2, "", name);
    for (int c = 0; c < gc->n_states; c++)
        if (gc->states[c].parent == s)
            put_state(b, gc, c, indent + 2);
    put(b, "%*s}\n", indent, "");
}

char *gclass_to_dot(const gclass_t *gc)
{
    if (!gc)
        return NULL;
    struct buf b = {0};
    put(&b, "digraph \"%s\" {\n", gc->name);
    put(&b, "  label=\"%s\"; labelloc=t; compound=true; rankdir=LR;\n", gc->name);
    put(&b, "  node [fontname=\"Helvetica\", fontsize=11];\n");
    put(&b, "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    put(&b, "  \"__start\" [shape=circle, style=filled, fillcolor=black, label=\"\", "
            "width=0.15];\n");
    for (int s = 0; s < gc->n_states; s++)
        if (gc->states[s].parent == GOBJ_NO_STATE)
            put_state(&b, gc, s, 2);

    char from[300], to[300], cf[300], ct[300];
    endpoint(gc, 0, to, sizeof to, ct, sizeof ct);
    put(&b, "  \"__start\" -> \"%s\"%s%s%s;\n", to, *ct ? " [lhead=\"" : "", ct, *ct ? "\"]" : "");
    for (int s = 0; s < gc->n_states; s++) {
        if (!is_composite(gc, s))
            continue;
        endpoint(gc, gc->states[s].initial, to, sizeof to, ct, sizeof ct);
        put(&b, "  \"%s__anchor\" -> \"%s\" [style=dotted, arrowhead=open%s%s%s];\n",
            gc->states[s].name->name, to, *ct ? ", lhead=\"" : "", ct, *ct ? "\"" : "");
    }
    for (uint32_t r = 1; r < gc->n_rows; r++) {
        const struct gc_row *row = &gc->rows[r];
        int target = row->next != GOBJ_NO_STATE ? row->next : row->state;
        endpoint(gc, row->state, from, sizeof from, cf, sizeof cf);
        endpoint(gc, target, to, sizeof to, ct, sizeof ct);
        const char *ac = row->action ? (row->action_name ? row->action_name : "action") : NULL;
        put(&b, "  \"%s\" -> \"%s\" [label=\"%s%s%s\"%s", from, to, row->event->name,
            ac ? " / " : "", ac ? ac : "", row->next == GOBJ_NO_STATE ? ", style=dashed" : "");
        if (*cf && target != row->state)
            put(&b, ", ltail=\"%s\"", cf);
        if (*ct && target != row->state)
            put(&b, ", lhead=\"%s\"", ct);
        put(&b, "];\n");
    }
    put(&b, "}\n");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
