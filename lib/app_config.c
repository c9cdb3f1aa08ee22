/*
 * app_config.c - gapp_main's configuration: load every -c file (at most
 * APP_CONFIG_MAX_BYTES each) or the built-in one, check each one's top
 * level, merge them in order, then validate the merged tree against the
 * gclass schemas, apply -s, and check the global attributes, the required
 * attributes and the --trace names -- all before one gobj exists, so that
 * --check creates nothing, and so that what --check accepts does not fail
 * the run on the configuration.
 *
 * Bad input is reported with exactly one message on stderr: every check
 * function prints its message and returns -1, and its callers only pass the
 * -1 up.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app_internal.h"

/* The largest config file -c reads: far above any real configuration, and
 * a bound on what a wrong path (-c /dev/zero) can make the process hold. */
#define APP_CONFIG_MAX_BYTES (16u * 1024 * 1024)
#define APP_CONFIG_MAX_TEXT  "16 MiB"

/*--------------------------------------------------------------------------*
 *  Loading and merging the configuration
 *--------------------------------------------------------------------------*/
static const char *const top_keys[] = {"name", "log", "global", "tree", "shutdown_timeout", NULL};
static const char *const node_keys[] = {"gclass", "name", "attrs", "children", NULL};
static const char *const log_keys[] = {"level", "format", NULL};

/* Reports an unknown key against a NULL-terminated list of known keys. */
static void report_unknown_key(const app_ctx_t *ctx, const char *where, const char *what,
                               const char *key, const char *const *known)
{
    sbuf_t b = {0};
    names_t ns = {0};
    for (; *known; known++)
        app__names_add(&ns, *known);
    app__sb_printf(&b, "%s: unknown %s '%s'", where, what, key);
    app__sb_suggest(&b, key, &ns, "known keys");
    app__error(ctx, "%s", app__sb_str(&b));
    app__names_free(&ns);
    app__sb_free(&b);
}

static int is_known(const char *key, const char *const *known)
{
    for (; *known; known++)
        if (strcmp(key, *known) == 0)
            return 1;
    return 0;
}

/* Reads a whole file, at most APP_CONFIG_MAX_BYTES.
 * Returns: the text (new, free()), or NULL with errno (EFBIG: too large). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    /* One byte more than the limit tells "too large" from "exactly the
     * limit" without reading further. */
    const size_t most = (size_t)APP_CONFIG_MAX_BYTES + 1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == most) {
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap * 2 < most ? cap * 2 : most;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                buf = NULL;
                errno = e;
            }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Parses one source and checks its top level.
 * Returns: the object (new), or NULL after reporting. */
static json_t *load_source(const app_ctx_t *ctx, const char *label, const char *text, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        app__error(ctx, "%s:%d:%d: invalid JSON: %s", label, err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        app__error(ctx, "%s: the configuration must be a JSON object, not %s", label,
                   app__json_kind(j));
        json_decref(j);
        return NULL;
    }

    const char *key;
    json_t *v;
    json_object_foreach (j, key, v) {
        if (!is_known(key, top_keys)) {
            report_unknown_key(ctx, label, "top-level key", key, top_keys);
            goto bad;
        }
        if (strcmp(key, "name") == 0 && (!json_is_string(v) || !json_string_length(v))) {
            app__error(ctx, "%s: 'name' must be a non-empty string, not %s", label,
                       app__json_kind(v));
            goto bad;
        }
        if (strcmp(key, "tree") == 0 && !json_is_object(v)) {
            app__error(ctx, "%s: 'tree' must be an object, not %s", label, app__json_kind(v));
            goto bad;
        }
        if (strcmp(key, "shutdown_timeout") == 0 &&
            (!json_is_integer(v) || json_integer_value(v) < 0)) {
            app__error(ctx, "%s: 'shutdown_timeout' must be an integer >= 0 (ms), not %s", label,
                       json_is_integer(v) ? "negative" : app__json_kind(v));
            goto bad;
        }
        if (strcmp(key, "global") == 0) {
            const char *gk;
            json_t *gv;
            if (!json_is_object(v)) {
                app__error(ctx, "%s: 'global' must be an object, not %s", label, app__json_kind(v));
                goto bad;
            }
            json_object_foreach (v, gk, gv) {
                const char *dot = strrchr(gk, '.');
                if (!dot || dot == gk || dot[1] == '\0') {
                    app__error(ctx, "%s: global key '%s' must be GClass.attr or name.attr", label,
                               gk);
                    goto bad;
                }
            }
        }
        if (strcmp(key, "log") == 0) {
            const char *lk;
            json_t *lv;
            gobj_log_level_t level;
            if (!json_is_object(v)) {
                app__error(ctx, "%s: 'log' must be an object, not %s", label, app__json_kind(v));
                goto bad;
            }
            json_object_foreach (v, lk, lv) {
                if (!is_known(lk, log_keys)) {
                    char *where = app__str_printf("%s: log", label);
                    report_unknown_key(ctx, where, "key", lk, log_keys);
                    free(where);
                    goto bad;
                }
                const char *s = json_string_value(lv);
                if (strcmp(lk, "level") == 0 && (!s || gobj_log_level_from_name(s, &level) < 0)) {
                    app__error(ctx,
                               "%s: log.level must be \"error\", \"warn\", \"info\", "
                               "\"debug\" or \"trace\", not %s%s%s",
                               label, s ? "'" : app__json_kind(lv), s ? s : "", s ? "'" : "");
                    goto bad;
                }
                if (strcmp(lk, "format") == 0 &&
                    (!s || (strcmp(s, "text") != 0 && strcmp(s, "json") != 0))) {
                    app__error(ctx, "%s: log.format must be \"text\" or \"json\", not %s%s%s",
                               label, s ? "'" : app__json_kind(lv), s ? s : "", s ? "'" : "");
                    goto bad;
                }
            }
        }
    }
    return j;

bad:
    json_decref(j);
    return NULL;
}

/* Merge rules: name, shutdown_timeout and tree are replaced by a later
 * source (two trees cannot be merged node by node without guessing which
 * children match); log and global merge key by key. */
static int merge_source(app_ctx_t *ctx, json_t *src, const char *label)
{
    const char *key;
    json_t *v;
    json_object_foreach (src, key, v) {
        if (strcmp(key, "log") == 0 || strcmp(key, "global") == 0) {
            json_t *dst = json_object_get(ctx->cfg, key);
            if (!dst) {
                dst = json_object();
                json_object_set_new(ctx->cfg, key, dst);
            }
            json_object_update(dst, v);
            if (strcmp(key, "global") == 0) {
                const char *gk;
                json_t *gv;
                json_object_foreach (v, gk, gv) {
                    json_object_set_new(ctx->global_src, gk, json_string(label));
                }
            }
        } else {
            json_object_set(ctx->cfg, key, v);
            if (strcmp(key, "tree") == 0)
                ctx->tree_src = label;
        }
    }
    return 0;
}

/* Puts the top-level keys of the merged config in one fixed order, whatever
 * order the files used, so that --print-config reads the same every time. */
void app__canonical_order(app_ctx_t *ctx)
{
    json_t *canon = json_object();
    if (!canon)
        return;
    for (const char *const *k = top_keys; *k; k++) {
        json_t *v = json_object_get(ctx->cfg, *k);
        if (v)
            json_object_set(canon, *k, v);
    }
    json_decref(ctx->cfg);
    ctx->cfg = canon;
}

/* Loads the -c files in order (or the built-in config), merges them and
 * applies --log-format / --log-level to the merged "log". */
int app__load_config(app_ctx_t *ctx)
{
    const app_opts_t *op = &ctx->opts;

    ctx->cfg = json_object();
    ctx->global_src = json_object();
    if (!ctx->cfg || !ctx->global_src) {
        app__error(ctx, "out of memory");
        return -1;
    }
    if (op->n_configs == 0) {
        const char *text = ctx->app->default_config;
        if (!text) {
            app__error(ctx, "no configuration: give one with -c FILE (try '%s --help')", ctx->prog);
            return -1;
        }
        json_t *j = load_source(ctx, app__default_label(ctx), text, strlen(text));
        if (!j)
            return -1;
        merge_source(ctx, j, app__default_label(ctx));
        json_decref(j);
    }
    for (size_t i = 0; i < op->n_configs; i++) {
        const char *path = op->configs[i];
        size_t len = 0;
        char *text = read_file(path, &len);
        if (!text) {
            if (errno == EFBIG)
                app__error(ctx,
                           "cannot read config file '%s': larger than " APP_CONFIG_MAX_TEXT
                           " (the limit of a configuration file)",
                           path);
            else
                app__error(ctx, "cannot read config file '%s': %s", path, strerror(errno));
            return -1;
        }
        json_t *j = load_source(ctx, path, text, len);
        free(text);
        if (!j)
            return -1;
        merge_source(ctx, j, path);
        json_decref(j);
    }

    if (op->log_level || op->log_format) {
        json_t *log = json_object_get(ctx->cfg, "log");
        if (!log) {
            log = json_object();
            json_object_set_new(ctx->cfg, "log", log);
        }
        if (op->log_level)
            json_object_set_new(log, "level", json_string(op->log_level));
        if (op->log_format)
            json_object_set_new(log, "format", json_string(op->log_format));
    }

    app__canonical_order(ctx);
    if (!json_object_get(ctx->cfg, "tree")) {
        if (op->n_configs == 1)
            app__error(ctx, "%s: the configuration has no 'tree'", op->configs[0]);
        else if (op->n_configs == 0)
            app__error(ctx, "%s: the configuration has no 'tree'", app__default_label(ctx));
        else
            app__error(ctx, "none of the %zu config files has a 'tree'", op->n_configs);
        return -1;
    }
    return 0;
}

/*--------------------------------------------------------------------------*
 *  Validation against the gclass schemas
 *--------------------------------------------------------------------------*/
static int attr_type_ok(gobj_attr_type_t type, const json_t *v)
{
    switch (type) {
    case GOBJ_ATTR_BOOL:
        return json_is_boolean(v);
    case GOBJ_ATTR_INT:
        return json_is_integer(v);
    case GOBJ_ATTR_REAL:
        return json_is_number(v);
    case GOBJ_ATTR_STRING:
        return json_is_string(v) || json_is_null(v);
    case GOBJ_ATTR_JSON:
        return 1;
    }
    return 0;
}

/* Is name a configurable attribute of gc, and (if v) is v of its type?
 * Returns: the attribute, or NULL with the reason in why. */
static const gobj_attr_t *check_attr(const gclass_t *gc, const char *name, const json_t *v,
                                     sbuf_t *why)
{
    const gobj_attr_t *a = gclass_find_attr(gc, name);
    if (!a) {
        names_t ns = {0};
        sbuf_t what = {0};
        app__attr_names(gc, &ns);
        app__sb_printf(&what, "attributes of %s", gclass_name(gc));
        app__sb_printf(why, "unknown attribute '%s' of %s", name, gclass_name(gc));
        app__sb_suggest(why, name, &ns, app__sb_str(&what));
        app__sb_free(&what);
        app__names_free(&ns);
        return NULL;
    }
    if (a->flags & GOBJ_STATS) {
        app__sb_printf(why, "attribute '%s' of %s is a statistic and cannot be configured", name,
                       gclass_name(gc));
        return NULL;
    }
    if (a->flags & GOBJ_VOLATILE) {
        app__sb_printf(why, "attribute '%s' of %s is run-time state and cannot be configured", name,
                       gclass_name(gc));
        return NULL;
    }
    if (v && !attr_type_ok(a->type, v)) {
        app__sb_printf(why, "wrong type for attribute '%s' of %s: expected %s, got %s", name,
                       gclass_name(gc), app__attr_type_text(a->type), app__json_kind(v));
        return NULL;
    }
    return a;
}

static app_node_t *add_node(app_ctx_t *ctx)
{
    if (ctx->n_nodes == ctx->cap_nodes) {
        size_t cap = ctx->cap_nodes ? 2 * ctx->cap_nodes : 16;
        app_node_t *v = realloc(ctx->nodes, cap * sizeof *v);
        if (!v)
            return NULL;
        ctx->nodes = v;
        ctx->cap_nodes = cap;
    }
    app_node_t *n = &ctx->nodes[ctx->n_nodes++];
    memset(n, 0, sizeof *n);
    return n;
}

/* Validates one node and its subtree, recording each node (pre-order). */
static int check_node(app_ctx_t *ctx, json_t *node, const char *path, const char *parent_full)
{
    const char *label = ctx->tree_src;
    const char *key;
    json_t *v;

    if (!json_is_object(node)) {
        app__error(ctx, "%s: %s: a tree node must be an object, not %s", label, path,
                   app__json_kind(node));
        return -1;
    }
    json_object_foreach (node, key, v) {
        if (!is_known(key, node_keys)) {
            char *where = app__str_printf("%s: %s", label, path);
            report_unknown_key(ctx, where, "key", key, node_keys);
            free(where);
            return -1;
        }
    }

    json_t *jgc = json_object_get(node, "gclass");
    if (!json_is_string(jgc)) {
        app__error(ctx, "%s: %s: %s", label, path,
                   jgc ? "'gclass' must be a string" : "missing 'gclass'");
        return -1;
    }
    const char *gcname = json_string_value(jgc);
    gclass_t *gc = gclass_find(gcname);
    if (!gc) {
        sbuf_t b = {0};
        names_t ns = {0};
        app__gclass_names(&ns);
        app__sb_printf(&b, "%s: %s: unknown gclass '%s'", label, path, gcname);
        app__sb_suggest(&b, gcname, &ns, "registered gclasses");
        app__error(ctx, "%s", app__sb_str(&b));
        app__names_free(&ns);
        app__sb_free(&b);
        return -1;
    }

    /* Every configured gobj is named: the log, -s, "name.attr" and --trace
     * all address gobjs by their (full) name. */
    json_t *jname = json_object_get(node, "name");
    const char *name = json_string_value(jname);
    /* '.' separates the parts of a full name, '=' ends the key of -s and
     * ':' the name of --trace: a name holding one could never be reached. */
    if (!name || !*name || strpbrk(name, ".=:")) {
        app__error(ctx, "%s: %s (%s): %s", label, path, gcname,
                   !jname              ? "missing 'name'"
                   : !name             ? "'name' must be a string"
                   : !*name            ? "'name' must not be empty"
                   : strchr(name, '.') ? "'name' must not contain '.' (full names are dotted paths)"
                   : strchr(name, '=') ? "'name' must not contain '=' (-s NAME.attr=VALUE could "
                                         "not name it)"
                                       : "'name' must not contain ':' (--trace NAME:LEVEL could "
                                         "not name it)");
        return -1;
    }

    json_t *attrs = json_object_get(node, "attrs");
    if (attrs && !json_is_object(attrs)) {
        app__error(ctx, "%s: %s (%s '%s'): 'attrs' must be an object, not %s", label, path, gcname,
                   name, app__json_kind(attrs));
        return -1;
    }
    json_object_foreach (attrs, key, v) {
        sbuf_t why = {0};
        if (!check_attr(gc, key, v, &why)) {
            app__error(ctx, "%s: %s.attrs.%s: %s", label, path, key, app__sb_str(&why));
            app__sb_free(&why);
            return -1;
        }
    }

    app_node_t *n = add_node(ctx);
    if (!n) {
        app__error(ctx, "out of memory");
        return -1;
    }
    n->node = node;
    n->gc = gc;
    n->name = name;
    n->full =
        parent_full ? app__str_printf("%s.%s", parent_full, name) : app__str_printf("%s", name);
    n->path = app__str_printf("%s", path);
    /* n may move when the array grows: keep what the children need. */
    char *full = app__str_printf("%s", n->full);

    json_t *children = json_object_get(node, "children");
    if (children && !json_is_array(children)) {
        app__error(ctx, "%s: %s (%s '%s'): 'children' must be an array, not %s", label, path,
                   gcname, name, app__json_kind(children));
        free(full);
        return -1;
    }
    size_t i;
    json_t *child;
    json_array_foreach (children, i, child) {
        char *cpath = app__str_printf("%s.children[%zu]", path, i);
        int rc = check_node(ctx, child, cpath, full);
        free(cpath);
        if (rc < 0) {
            free(full);
            return -1;
        }
    }
    free(full);
    return 0;
}

/*--------------------------------------------------------------------------*
 *  Finding nodes by name
 *--------------------------------------------------------------------------*/
static const app_ctx_t *sort_ctx; /* qsort has no user pointer */

static int cmp_by_full(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(sort_ctx->nodes[x].full, sort_ctx->nodes[y].full);
    return c ? c : (x > y) - (x < y);
}

static int cmp_by_name(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(sort_ctx->nodes[x].name, sort_ctx->nodes[y].name);
    return c ? c : (x > y) - (x < y);
}

/* Sorts the nodes by full name and by short name, and refuses two siblings
 * with the same name (gobj_create would): they are the nodes with the same
 * full name, since names hold no dot.  O(n log n), so that a tree of many
 * thousands of siblings is checked at once.  Of several duplicates, the
 * one that comes first in the file is reported, naming both places. */
static int index_nodes(app_ctx_t *ctx)
{
    size_t n = ctx->n_nodes;
    ctx->by_full = malloc((n ? n : 1) * sizeof *ctx->by_full);
    ctx->by_name = malloc((n ? n : 1) * sizeof *ctx->by_name);
    if (!ctx->by_full || !ctx->by_name) {
        app__error(ctx, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ctx->by_full[i] = ctx->by_name[i] = i;
    sort_ctx = ctx;
    qsort(ctx->by_full, n, sizeof *ctx->by_full, cmp_by_full);
    qsort(ctx->by_name, n, sizeof *ctx->by_name, cmp_by_name);
    sort_ctx = NULL;

    size_t dup = SIZE_MAX, first = 0, run = 0;
    for (size_t i = 1; i < n; i++) {
        const app_node_t *a = &ctx->nodes[ctx->by_full[run]];
        const app_node_t *b = &ctx->nodes[ctx->by_full[i]];
        if (strcmp(a->full, b->full) != 0) {
            run = i;
            continue;
        }
        /* In a run of equal names the indexes ascend: b comes after the
         * run's first node in the file. */
        if (ctx->by_full[i] < dup) {
            dup = ctx->by_full[i];
            first = ctx->by_full[run];
        }
    }
    if (dup != SIZE_MAX) {
        const app_node_t *d = &ctx->nodes[dup];
        app__error(ctx, "%s: %s: duplicate name '%s' (also %s)", ctx->tree_src, d->path, d->name,
                   ctx->nodes[first].path);
        return -1;
    }
    return 0;
}

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
static int apply_set(app_ctx_t *ctx, const char *arg)
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
        const gobj_attr_t *a = check_attr(gc, attr, NULL, &why);
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
    const gobj_attr_t *a = check_attr(nd->gc, attr, NULL, &why);
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
static int check_globals(app_ctx_t *ctx)
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

        /* load_source and apply_set let only dotted keys in. */
        if (!dot) {
            free(prefix);
            continue;
        }
        *dot = '\0';
        gclass_t *gc = gclass_find(prefix);
        if (gc) {
            ok = check_attr(gc, dot + 1, gv, &why) != NULL;
        } else {
            const size_t *idx;
            size_t n = match_nodes(ctx, prefix, &idx);
            if (n == 0) {
                sb_no_target(ctx, &why, prefix);
                ok = 0;
            }
            for (size_t i = 0; i < n && ok; i++)
                ok = check_attr(ctx->nodes[idx[i]].gc, dot + 1, gv, &why) != NULL;
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
static int check_required(app_ctx_t *ctx)
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
static int check_trace_target(const app_ctx_t *ctx, const char *spec)
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

int app__validate_config(app_ctx_t *ctx)
{
    if (check_node(ctx, json_object_get(ctx->cfg, "tree"), "tree", NULL) < 0 ||
        index_nodes(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_sets; i++)
        if (apply_set(ctx, ctx->opts.sets[i]) < 0)
            return -1;
    if (check_globals(ctx) < 0 || check_required(ctx) < 0 || app__check_nodes(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_traces; i++)
        if (check_trace_target(ctx, ctx->opts.traces[i]) < 0)
            return -1;
    return 0;
}
