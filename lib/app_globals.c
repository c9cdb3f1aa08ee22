/*
 * app_globals.c - gapp_main's configuration, second half: -s KEY=VALUE (a
 * "GClass.attr" default, or one gobj's attribute), the "global" keys (each
 * names a registered gclass or gobjs of the tree and a configurable
 * attribute of each, with a value of its type), the required attributes,
 * and the --trace specs and names.  Called by app__validate_config
 * (app_config.c) once the tree is checked and indexed.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app_internal.h"
/* The nodes a prefix names: for a dotted prefix, the node with that full
 * name; for a prefix without dots, every node with that short name (the
 * root's full name is its short name).  Returns: how many; *first points
 * to their indexes in ctx->nodes (sorted by index). */
static size_t match_nodes(const app_ctx_t *ctx, const char *prefix, const size_t **first)
{
    int plain = strchr(prefix, '.') == NULL;
    const size_t *v = plain ? ctx->by_name : ctx->by_full;
    size_t lo = 0, hi = ctx->n_nodes;
    *first = v;
    if (!v)
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const app_node_t *nd = &ctx->nodes[v[mid]];
        if (strcmp(plain ? nd->name : nd->full, prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < ctx->n_nodes) {
        const app_node_t *nd = &ctx->nodes[v[end]];
        if (strcmp(plain ? nd->name : nd->full, prefix) != 0)
            break;
        end++;
    }
    *first = v + lo;
    return end - lo;
}

/* Returns: the index of the node whose full name is full, or SIZE_MAX. */
static size_t find_full(const app_ctx_t *ctx, const char *full)
{
    size_t lo = 0, hi = ctx->n_nodes;
    while (ctx->by_full && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ctx->nodes[ctx->by_full[mid]].full, full);
        if (c == 0)
            return ctx->by_full[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* "no gclass and no gobj named X", with the names that exist: every
 * gclass, every full name, and every short name unique in the tree. */
static void sb_no_target(const app_ctx_t *ctx, sbuf_t *b, const char *prefix)
{
    names_t ns = {0};
    app__gclass_names(&ns);
    for (size_t i = 0; i < ctx->n_nodes; i++)
        app__names_add(&ns, ctx->nodes[i].full);
    for (size_t i = 0; i < ctx->n_nodes; i++) {
        const app_node_t *nd = &ctx->nodes[ctx->by_name[i]];
        int same_prev = i > 0 && strcmp(ctx->nodes[ctx->by_name[i - 1]].name, nd->name) == 0;
        int same_next =
            i + 1 < ctx->n_nodes && strcmp(ctx->nodes[ctx->by_name[i + 1]].name, nd->name) == 0;
        if (!same_prev && !same_next && strchr(nd->full, '.'))
            app__names_add(&ns, nd->name);
    }
    app__sb_printf(b, "no gclass and no gobj of the tree is named '%s'", prefix);
    app__sb_suggest(b, prefix, &ns, "gclasses and gobjs");
    app__names_free(&ns);
}

/* Converts -s text to the attribute's type.  Returns: new value or NULL. */
static json_t *convert_value(const gobj_attr_t *a, const gclass_t *gc, const char *s, sbuf_t *why)
{
    char *end;
    switch (a->type) {
    case GOBJ_ATTR_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on"))
            return json_true();
        if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off"))
            return json_false();
        break;
    case GOBJ_ATTR_INT: {
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*s && !*end && errno == 0 && !isspace((unsigned char)*s))
            return json_integer((json_int_t)x);
        break;
    }
    case GOBJ_ATTR_REAL: {
        errno = 0;
        double x = strtod(s, &end);
        if (*s && !*end && errno == 0 && isfinite(x) && !isspace((unsigned char)*s))
            return json_real(x);
        break;
    }
    case GOBJ_ATTR_STRING: {
        json_t *v = json_string(s);
        if (v)
            return v;
        app__sb_printf(why, "value for attribute '%s' of %s is not valid UTF-8", a->name,
                       gclass_name(gc));
        return NULL;
    }
    case GOBJ_ATTR_JSON: {
        json_error_t err;
        json_t *v = json_loads(s, JSON_DECODE_ANY, &err);
        if (v)
            return v;
        app__sb_printf(why, "wrong type for attribute '%s' of %s: expected JSON, got '%s' (%s)",
                       a->name, gclass_name(gc), s, err.text);
        return NULL;
    }
    }
    app__sb_printf(why, "wrong type for attribute '%s' of %s: expected %s, got '%s'", a->name,
                   gclass_name(gc), app__attr_type_text(a->type), s);
    return NULL;
}

/* Records a warning, logged once the config's log settings are in force. */
static void add_warning(app_ctx_t *ctx, char *msg, json_t *fields)
{
    if (!ctx->warnings)
        ctx->warnings = json_array();
    json_array_append_new(ctx->warnings, json_pack("[so]", msg ? msg : "", fields));
    free(msg);
}

/* Does "global" hold a "name.attr" key for node nd (its full name, or its
 * short name when that is not a gclass's)?  Returns: the key (borrowed from
 * global) or NULL. */
static const char *name_global_for(const app_ctx_t *ctx, const app_node_t *nd, const char *attr)
{
    json_t *global = json_object_get(ctx->cfg, "global");
    const char *prefixes[2] = {nd->full, nd->name};
    for (int i = 0; i < 2 && global; i++) {
        if (gclass_find(prefixes[i]))
            continue;
        char *k = app__str_printf("%s.%s", prefixes[i], attr);
        void *it = json_object_iter_at(global, k);
        free(k);
        if (it)
            return json_object_iter_key(it);
    }
    return NULL;
}

/* -s GClass.attr=V sets the default of every gobj of the gclass; a node
 * that gives the attribute itself (its attrs, or a "name.attr" global)
 * keeps its own value.  That is the documented precedence, but a user who
 * typed -s GServerSock.port=8000 expects 8000: say which gobj keeps what. */
static void warn_shadowed(app_ctx_t *ctx, const char *arg, const gclass_t *gc, const char *attr,
                          const char *text)
{
    size_t n = 0;
    const app_node_t *first = NULL;
    const char *by_global = NULL;
    for (size_t i = 0; i < ctx->n_nodes; i++) {
        const app_node_t *nd = &ctx->nodes[i];
        if (nd->gc != gc)
            continue;
        const char *gk = NULL;
        if (!json_object_get(json_object_get(nd->node, "attrs"), attr) &&
            !(gk = name_global_for(ctx, nd, attr)))
            continue;
        if (n++ == 0) {
            first = nd;
            by_global = gk;
        }
    }
    if (!first)
        return;
    char *what = by_global ? app__str_printf("global '%s'", by_global)
                           : app__str_printf("%s.attrs", first->path);
    char *more = n > 1 ? app__str_printf(" (and %zu more gobjs of %s)", n - 1, gclass_name(gc))
                       : app__str_printf("%s", "");
    char *msg = app__str_printf("-s '%s' does not reach %s%s: %s sets '%s', which wins over "
                                "GClass.attr; use -s %s.%s=%s",
                                arg, first->full, more, what, attr, first->full, attr, text);
    add_warning(ctx, msg,
                json_pack("{s:s, s:s, s:s, s:I}", "set", arg, "node", first->full, "by", what,
                          "shadowed", (json_int_t)n));
    free(what);
    free(more);
}

/* -s KEY=VALUE: GClass.attr goes to "global" (so it also reaches gobjs
 * created later); NAME.attr goes into that node's attrs, so that it shows in
 * --print-config.  A "name.attr" global that also names this gobj would win
 * over its attrs at create: when it names this gobj only, it is removed;
 * when it names others too (a short name shared by several gobjs), it stays
 * for them and the -s value is also set as "full.name.attr", which wins. */
int app__apply_set(app_ctx_t *ctx, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key = eq ? app__str_printf("%.*s", (int)(eq - arg), arg) : NULL;
    char *dot = key ? strrchr(key, '.') : NULL;
    sbuf_t why = {0};
    json_t *value = NULL;
    int rc = -1;

    if (!dot || dot == key || dot[1] == '\0') {
        app__error(ctx, "bad -s '%s': expected NAME.attr=VALUE or GClass.attr=VALUE", arg);
        goto done;
    }
    *dot = '\0';
    const char *prefix = key, *attr = dot + 1, *text = eq + 1;

    json_t *global = json_object_get(ctx->cfg, "global");
    if (!global) {
        global = json_object();
        json_object_set_new(ctx->cfg, "global", global);
    }

    gclass_t *gc = gclass_find(prefix);
    if (gc) {
        const gobj_attr_t *a = app__check_attr(gc, attr, NULL, &why);
        if (!a || !(value = convert_value(a, gc, text, &why))) {
            app__error(ctx, "-s '%s': %s", arg, app__sb_str(&why));
            goto done;
        }
        char *gkey = app__str_printf("%s.%s", prefix, attr);
        json_object_set_new(global, gkey, value);
        json_object_set_new(ctx->global_src, gkey, json_sprintf("-s '%s'", arg));
        free(gkey);
        warn_shadowed(ctx, arg, gc, attr, text);
        rc = 0;
        goto done;
    }

    const size_t *idx;
    size_t n = match_nodes(ctx, prefix, &idx);
    if (n == 0) {
        sb_no_target(ctx, &why, prefix);
        app__error(ctx, "-s '%s': %s", arg, app__sb_str(&why));
        goto done;
    }
    if (n > 1) {
        app__error(ctx, "-s '%s': '%s' names %zu gobjs (%s, %s%s); use the full name", arg, prefix,
                   n, ctx->nodes[idx[0]].full, ctx->nodes[idx[1]].full, n > 2 ? ", ..." : "");
        goto done;
    }
    size_t me = idx[0];
    app_node_t *nd = &ctx->nodes[me];
    const gobj_attr_t *a = app__check_attr(nd->gc, attr, NULL, &why);
    if (!a || !(value = convert_value(a, nd->gc, text, &why))) {
        app__error(ctx, "-s '%s': %s", arg, app__sb_str(&why));
        goto done;
    }
    json_t *attrs = json_object_get(nd->node, "attrs");
    if (!attrs) {
        attrs = json_object();
        json_object_set_new(nd->node, "attrs", attrs);
    }
    json_object_set(attrs, attr, value);

    const char *gk;
    json_t *gv;
    void *tmp;
    int pin = 0;
    json_object_foreach_safe (global, tmp, gk, gv) {
        char *gprefix = app__str_printf("%s", gk);
        char *gdot = strrchr(gprefix, '.');
        if (gdot) {
            *gdot = '\0';
            const size_t *gidx;
            size_t gn = 0;
            if (strcmp(gdot + 1, attr) == 0 && !gclass_find(gprefix))
                gn = match_nodes(ctx, gprefix, &gidx);
            int mine = 0;
            for (size_t k = 0; k < gn && !mine; k++)
                mine = gidx[k] == me;
            if (mine && gn == 1) {
                json_object_del(ctx->global_src, gk);
                json_object_del(global, gk);
            } else if (mine) {
                pin = 1;
            }
        }
        free(gprefix);
    }
    if (pin) {
        char *fkey = app__str_printf("%s.%s", nd->full, attr);
        json_object_set(global, fkey, value);
        json_object_set_new(ctx->global_src, fkey, json_sprintf("-s '%s'", arg));
        free(fkey);
    }
    json_decref(value);
    rc = 0;

done:
    app__sb_free(&why);
    free(key);
    return rc;
}

/* Each "global" key names a registered gclass or a gobj of the tree, and a
 * configurable attribute of it, with a value of the attribute's type -- for
 * every gobj it names, so that the run cannot fail on it. */
int app__check_globals(app_ctx_t *ctx)
{
    json_t *global = json_object_get(ctx->cfg, "global");
    const char *gk;
    json_t *gv;
    json_object_foreach (global, gk, gv) {
        const char *label = json_string_value(json_object_get(ctx->global_src, gk));
        char *prefix = app__str_printf("%s", gk);
        char *dot = strrchr(prefix, '.');
        sbuf_t why = {0};
        int ok = 1;

        /* load_source and app__apply_set let only dotted keys in. */
        if (!dot) {
            free(prefix);
            continue;
        }
        *dot = '\0';
        gclass_t *gc = gclass_find(prefix);
        if (gc) {
            ok = app__check_attr(gc, dot + 1, gv, &why) != NULL;
        } else {
            const size_t *idx;
            size_t n = match_nodes(ctx, prefix, &idx);
            if (n == 0) {
                sb_no_target(ctx, &why, prefix);
                ok = 0;
            }
            for (size_t i = 0; i < n && ok; i++)
                ok = app__check_attr(ctx->nodes[idx[i]].gc, dot + 1, gv, &why) != NULL;
        }
        if (!ok)
            app__error(ctx, "%s: global '%s': %s", label ? label : "-s", gk, app__sb_str(&why));
        app__sb_free(&why);
        free(prefix);
        if (!ok)
            return -1;
    }
    return 0;
}

/* A REQUIRED attribute may come from the node's attrs or from "global"
 * ("GClass.attr", "name.attr" or "full.name.attr"). */
int app__check_required(app_ctx_t *ctx)
{
    json_t *global = json_object_get(ctx->cfg, "global");
    for (size_t i = 0; i < ctx->n_nodes; i++) {
        const app_node_t *nd = &ctx->nodes[i];
        json_t *attrs = json_object_get(nd->node, "attrs");
        const gobj_attr_t *a = gclass_attrs(nd->gc);
        for (; a && a->name; a++) {
            if (!(a->flags & GOBJ_REQUIRED) || json_object_get(attrs, a->name))
                continue;
            char *k1 = app__str_printf("%s.%s", gclass_name(nd->gc), a->name);
            int found = json_object_get(global, k1) || name_global_for(ctx, nd, a->name);
            free(k1);
            if (!found) {
                app__error(ctx, "%s: %s (%s '%s'): missing required attribute '%s' (%s%s%s)",
                           ctx->tree_src, nd->path, gclass_name(nd->gc), nd->name, a->name,
                           app__attr_type_text(a->type), a->description ? ": " : "",
                           a->description ? a->description : "");
                return -1;
            }
        }
    }
    return 0;
}

/* --trace SPEC is LEVEL[,LEVEL], GClass:LEVEL[,LEVEL] or name:LEVEL[,LEVEL]
 * (split at the last ':', as gobj_trace_apply_spec does).  Checked in two
 * steps: the levels at once, the name once the tree is known. */
int app__check_trace_spec(const app_ctx_t *ctx, const char *spec)
{
    static const char *const levels[] = {"machine",   "traffic", "subscriptions",
                                         "lifecycle", "all",     NULL};
    const char *colon = strrchr(spec, ':');
    const char *list = colon ? colon + 1 : spec;

    if (colon == spec) {
        app__error(ctx,
                   "--trace '%s': empty name before ':' (expected GClass:LEVEL or "
                   "full.name:LEVEL)",
                   spec);
        return -1;
    }
    if (!*list) {
        app__error(ctx,
                   "--trace '%s': no trace level (machine, traffic, subscriptions, "
                   "lifecycle or all)",
                   spec);
        return -1;
    }
    /* Every level between commas must be there: "machine," or "," is a
     * mistake, not a request for nothing. */
    for (const char *p = list;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            app__error(ctx,
                       "--trace '%s': empty trace level (expected LEVEL[,LEVEL]; LEVEL is "
                       "machine, traffic, subscriptions, lifecycle or all)",
                       spec);
            return -1;
        }
        char *tok = app__str_printf("%.*s", (int)len, p);
        int known = gobj_trace_level_from_name(tok) != 0;
        if (!known) {
            sbuf_t b = {0};
            names_t ns = {0};
            for (const char *const *l = levels; *l; l++)
                app__names_add(&ns, *l);
            app__sb_printf(&b, "--trace '%s': unknown trace level '%s'", spec, tok);
            app__sb_suggest(&b, tok, &ns, "trace levels");
            app__error(ctx, "%s", app__sb_str(&b));
            app__names_free(&ns);
            app__sb_free(&b);
        }
        free(tok);
        if (!known)
            return -1;
        if (!end)
            break;
        p = end;
    }
    return 0;
}

/* The name of a --trace spec is a registered gclass, a gobj of the tree (its
 * full name, or its short name), or the full name of a gobj created at run
 * time under a gobj of the tree (a connection, "echo.server.clisrv_1"):
 * anything else is a typo that would trace nothing. */
int app__check_trace_target(const app_ctx_t *ctx, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return 0;
    char *name = app__str_printf("%.*s", (int)(colon - spec), spec);
    const size_t *idx;
    int ok = gclass_find(name) != NULL || match_nodes(ctx, name, &idx) > 0;
    /* Under a gobj of the tree: a dotted prefix of name is a full name. */
    for (char *dot = strrchr(name, '.'); !ok && dot; dot = strrchr(name, '.')) {
        *dot = '\0';
        ok = find_full(ctx, name) != SIZE_MAX;
    }
    free(name);
    if (!ok) {
        sbuf_t b = {0};
        name = app__str_printf("%.*s", (int)(colon - spec), spec);
        sb_no_target(ctx, &b, name);
        app__error(ctx, "--trace '%s': %s", spec, app__sb_str(&b));
        app__sb_free(&b);
        free(name);
        return -1;
    }
    return 0;
}
