/*
 * app_config.c - gapp_main's configuration: load every -c file (at most
 * APP_CONFIG_MAX_BYTES each) or the built-in one, check each one's top
 * level, merge them in order, then validate the merged tree against the
 * gclass schemas, apply -s, and check the global attributes, the required
 * attributes and the --trace names (those in app_globals.c), and the values
 * each gclass checks itself (app_check.c) -- all before one gobj exists, so that
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
static const char *const top_keys[] = {"name",    "log", "global", "tree", "shutdown_timeout",
                                       "control", NULL};
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

/* "control": {"path": string} (doc/control.md). */
static const char *const control_keys[] = {"path", NULL};

static int check_control(const app_ctx_t *ctx, const char *label, json_t *v)
{
    const char *k;
    json_t *cv;
    if (!json_is_object(v)) {
        app__error(ctx, "%s: 'control' must be an object, not %s", label, app__json_kind(v));
        return -1;
    }
    json_object_foreach (v, k, cv) {
        if (!is_known(k, control_keys)) {
            char *where = app__str_printf("%s: control", label);
            report_unknown_key(ctx, where, "key", k, control_keys);
            free(where);
            return -1;
        }
        if (strcmp(k, "path") == 0 && (!json_is_string(cv) || !json_string_length(cv))) {
            app__error(ctx, "%s: control.path must be a non-empty string, not %s", label,
                       json_is_string(cv) ? "empty" : app__json_kind(cv));
            return -1;
        }
    }
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
        if (strcmp(key, "control") == 0 && check_control(ctx, label, v) < 0)
            goto bad;
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
 * children match); log, global and control merge key by key. */
static int merge_source(app_ctx_t *ctx, json_t *src, const char *label)
{
    const char *key;
    json_t *v;
    json_object_foreach (src, key, v) {
        if (strcmp(key, "log") == 0 || strcmp(key, "global") == 0 || strcmp(key, "control") == 0) {
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
const gobj_attr_t *app__check_attr(const gclass_t *gc, const char *name, const json_t *v,
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
        if (!app__check_attr(gc, key, v, &why)) {
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

int app__validate_config(app_ctx_t *ctx)
{
    if (check_node(ctx, json_object_get(ctx->cfg, "tree"), "tree", NULL) < 0 ||
        index_nodes(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_sets; i++)
        if (app__apply_set(ctx, ctx->opts.sets[i]) < 0)
            return -1;
    if (app__check_globals(ctx) < 0 || app__check_required(ctx) < 0 || app__check_nodes(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_traces; i++)
        if (app__check_trace_target(ctx, ctx->opts.traces[i]) < 0)
            return -1;
    return 0;
}
