/*
 * app.c - the application runner behind gapp_main().
 *
 * The runner works in phases, and nothing of a later phase starts before the
 * earlier ones succeeded:
 *
 *   1. parse the command line (bad usage: exit 2);
 *   2. register the program's gclasses (the inquiry options --help and --dot
 *      need them);
 *   3. load every -c file (or the built-in config), check each one's top level
 *      and merge them in order;
 *   4. validate the merged tree against the gclass schemas, apply -s, then
 *      validate the global attributes and the required attributes -- all
 *      before one gobj exists, so that --check creates nothing;
 *   5. create the tree, start it, run the loop until a signal, stop the tree
 *      within shutdown_timeout, destroy it (a failure here: exit 1, except a
 *      start that fails with GOBJ_ECONFIG, a configuration only the gobj
 *      could check, such as a TLS certificate: exit 2).
 *
 * Bad input is reported with exactly one message on stderr: every check
 * function prints its message and returns -1, and its callers only pass the
 * -1 up.  This file only uses the public API (gobj.h, log.h, loop.h): it knows
 * nothing of libevent, of the built-in gclasses or of the samples.
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

#include "ginsfsm/app.h"
#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

/* Default of the top-level "shutdown_timeout" (ms). */
#define APP_SHUTDOWN_TIMEOUT_MSEC 5000
/* How often a stopping tree is checked for remaining work (ms). */
#define APP_DRAIN_POLL_MSEC 10
/* The largest config file -c reads: far above any real configuration, and
 * a bound on what a wrong path (-c /dev/zero) can make the process hold. */
#define APP_CONFIG_MAX_BYTES (16u * 1024 * 1024)
#define APP_CONFIG_MAX_TEXT  "16 MiB"

/*--------------------------------------------------------------------------*
 *  Small helpers: a growing string, a list of names, "did you mean"
 *--------------------------------------------------------------------------*/
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

static void sb_vprintf(sbuf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

static const char *sb_str(const sbuf_t *b)
{
    return b->s ? b->s : "";
}

static void sb_free(sbuf_t *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

typedef struct names {
    const char **v;
    size_t n, cap;
} names_t;

static void names_add(names_t *ns, const char *s)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 16;
        const char **v = realloc(ns->v, cap * sizeof *v);
        if (!v)
            return;
        ns->v = v;
        ns->cap = cap;
    }
    ns->v[ns->n++] = s;
}

static void names_free(names_t *ns)
{
    free(ns->v);
    ns->v = NULL;
    ns->n = ns->cap = 0;
}

/* Levenshtein distance, ignoring case, so that "gtimer" finds "GTimer".
 * Names longer than the work rows are never "near" anything. */
static size_t edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 63 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN)
        return SIZE_MAX;
    size_t prev[MAXLEN + 1], cur[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + (same ? 0 : 1);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* Appends "; did you mean 'x'?" when a candidate is near word, then the list
 * of every candidate, so that one message is enough to fix the typo. */
static void sb_suggest(sbuf_t *b, const char *word, const names_t *cands, const char *what)
{
    size_t len = strlen(word);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < cands->n; i++) {
        size_t d = edit_distance(word, cands->v[i]);
        if (d < best)
            best = d;
    }
    if (best <= limit) {
        const char *sep = "; did you mean ";
        for (size_t i = 0; i < cands->n; i++) {
            if (edit_distance(word, cands->v[i]) == best) {
                sb_printf(b, "%s'%s'", sep, cands->v[i]);
                sep = " or ";
            }
        }
        sb_printf(b, "?");
    }
    if (cands->n == 0) {
        sb_printf(b, " (%s: none)", what);
        return;
    }
    /* The list is for reading: a tree of thousands of gobjs gets the first
     * ones and a count, not a line of megabytes. */
    enum { LIST_MAX = 64 };
    sb_printf(b, " (%s: ", what);
    for (size_t i = 0; i < cands->n && i < LIST_MAX; i++)
        sb_printf(b, "%s%s", i ? ", " : "", cands->v[i]);
    if (cands->n > LIST_MAX)
        sb_printf(b, ", ... and %zu more", cands->n - LIST_MAX);
    sb_printf(b, ")");
}

static void collect_gclass(gclass_t *gc, void *user)
{
    names_add(user, gclass_name(gc));
}

static void gclass_names(names_t *ns)
{
    gclass_foreach(collect_gclass, ns);
}

/* The attributes a config may set (statistics and run-time state are
 * readable only). */
static void attr_names(const gclass_t *gc, names_t *ns)
{
    const gobj_attr_t *a = gclass_attrs(gc);
    for (; a && a->name; a++)
        if (!(a->flags & (GOBJ_STATS | GOBJ_VOLATILE)))
            names_add(ns, a->name);
}

/* A JSON value's kind, as a user reads it in a message. */
static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON value";
}

static const char *attr_type_text(gobj_attr_type_t type)
{
    switch (type) {
    case GOBJ_ATTR_BOOL:
        return "a boolean";
    case GOBJ_ATTR_INT:
        return "an integer";
    case GOBJ_ATTR_REAL:
        return "a number";
    case GOBJ_ATTR_STRING:
        return "a string";
    case GOBJ_ATTR_JSON:
        return "any JSON value";
    }
    return "an unknown type";
}

/*--------------------------------------------------------------------------*
 *  The runner's state
 *--------------------------------------------------------------------------*/
typedef struct app_opts {
    const char **configs; /* -c, in command-line order */
    size_t n_configs;
    const char **sets; /* -s */
    size_t n_sets;
    const char **traces; /* --trace */
    size_t n_traces;
    const char *log_format;
    const char *log_level;
    const char *dot;
    int check, print_config, help, version;
} app_opts_t;

/* One node of the config tree, found by the validation. */
typedef struct app_node {
    json_t *node;     /* borrowed from the merged config */
    gclass_t *gc;     /* borrowed from the registry */
    const char *name; /* borrowed from node */
    char *full;       /* dotted path from the root, as gobj_full_name() */
    char *path;       /* where it is in the config, e.g. tree.children[0] */
} app_node_t;

typedef struct app_ctx {
    const gapp_t *app;
    const char *prog;
    app_opts_t opts;

    json_t *cfg;        /* the merged config (new) */
    json_t *global_src; /* "key" -> label of the source that set it last */
    const char *tree_src;
    app_node_t *nodes;
    size_t n_nodes, cap_nodes;
    /* Node indexes sorted by full name and by short name (then by index),
     * for lookups by name in O(log n) however wide the tree. */
    size_t *by_full, *by_name;
    /* Warnings found while validating, [msg, fields] each, logged once the
     * log settings of the config are in force. */
    json_t *warnings;

    /* Run phase. */
    gobj_t *root;
    int stopping; /* the graceful stop has begun */
    int finished; /* the tree is destroyed: the loop may return for good */
    int shutdown_requested;
    int exit_status; /* of a clean run: GAPP_EXIT_OK or gapp_shutdown's */
    gobj_loop_timer_t *deadline;
    gobj_loop_timer_t *drain;
    gobj_loop_timer_t *request; /* gapp_shutdown: the stop on a later turn */
    int64_t shutdown_timeout;
} app_ctx_t;

/* The gapp_main() run in progress, for gapp_shutdown(). */
static app_ctx_t *running_app;

static void app_error(const app_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void app_error(const app_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", ctx->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *default_label(const app_ctx_t *ctx)
{
    return ctx->app->default_config_name ? ctx->app->default_config_name : "(built-in config)";
}

/*--------------------------------------------------------------------------*
 *  Command line
 *--------------------------------------------------------------------------*/
enum opt_id {
    OPT_CONFIG,
    OPT_SET,
    OPT_CHECK,
    OPT_PRINT_CONFIG,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    OPT_TRACE,
    OPT_DOT,
    OPT_VERSION,
    OPT_HELP,
};

typedef struct app_option {
    const char *lng;  /* "--config" */
    const char *shrt; /* "-c" or NULL */
    const char *arg;  /* argument name, NULL for a flag */
    enum opt_id id;
} app_option_t;

static const app_option_t app_options[] = {
    {"--config", "-c", "FILE", OPT_CONFIG},
    {"--set", "-s", "KEY=VALUE", OPT_SET},
    {"--check", NULL, NULL, OPT_CHECK},
    {"--print-config", NULL, NULL, OPT_PRINT_CONFIG},
    {"--log-format", NULL, "FORMAT", OPT_LOG_FORMAT},
    {"--log-level", NULL, "LEVEL", OPT_LOG_LEVEL},
    {"--trace", NULL, "SPEC", OPT_TRACE},
    {"--dot", NULL, "GCLASS", OPT_DOT},
    {"--version", "-V", NULL, OPT_VERSION},
    {"--help", "-h", NULL, OPT_HELP},
};
#define N_APP_OPTIONS (sizeof app_options / sizeof app_options[0])

static int set_option(app_ctx_t *ctx, const app_option_t *o, const char *val)
{
    app_opts_t *op = &ctx->opts;
    gobj_log_level_t level;

    switch (o->id) {
    case OPT_CONFIG:
        op->configs[op->n_configs++] = val;
        break;
    case OPT_SET:
        op->sets[op->n_sets++] = val;
        break;
    case OPT_TRACE:
        op->traces[op->n_traces++] = val;
        break;
    case OPT_LOG_FORMAT:
        if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0) {
            app_error(ctx, "--log-format: unknown format '%s' (expected text or json)", val);
            return -1;
        }
        op->log_format = val;
        break;
    case OPT_LOG_LEVEL:
        if (gobj_log_level_from_name(val, &level) < 0) {
            app_error(ctx,
                      "--log-level: unknown level '%s' (expected error, warn, info, "
                      "debug or trace)",
                      val);
            return -1;
        }
        op->log_level = val;
        break;
    case OPT_DOT:
        op->dot = val;
        break;
    case OPT_CHECK:
        op->check = 1;
        break;
    case OPT_PRINT_CONFIG:
        op->print_config = 1;
        break;
    case OPT_VERSION:
        op->version = 1;
        break;
    case OPT_HELP:
        op->help = 1;
        break;
    }
    return 0;
}

/* Accepts "--opt VALUE", "--opt=VALUE", "-c VALUE" and "-cVALUE". */
static int parse_args(app_ctx_t *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc) {
                app_error(ctx, "unexpected argument '%s' (try '%s --help')", argv[i + 1],
                          ctx->prog);
                return -1;
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            app_error(ctx, "unexpected argument '%s' (try '%s --help')", a, ctx->prog);
            return -1;
        }
        const app_option_t *o = NULL;
        const char *val = NULL;
        int attached = 0;
        for (size_t k = 0; k < N_APP_OPTIONS && !o; k++) {
            const app_option_t *c = &app_options[k];
            size_t ll = strlen(c->lng);
            if (strncmp(a, c->lng, ll) == 0 && (a[ll] == '\0' || a[ll] == '=')) {
                o = c;
                if (a[ll] == '=') {
                    val = a + ll + 1;
                    attached = 1;
                }
            } else if (c->shrt && strncmp(a, c->shrt, 2) == 0) {
                if (a[2] == '\0') {
                    o = c;
                } else if (c->arg) {
                    o = c;
                    val = a + 2;
                    attached = 1;
                }
            }
        }
        if (!o) {
            app_error(ctx, "unknown option '%s' (try '%s --help')", a, ctx->prog);
            return -1;
        }
        if (!o->arg && attached) {
            app_error(ctx, "option '%s' takes no argument", o->lng);
            return -1;
        }
        if (o->arg && !attached) {
            if (i + 1 >= argc) {
                app_error(ctx, "option '%s' needs an argument (%s)", a, o->arg);
                return -1;
            }
            val = argv[++i];
        }
        if (set_option(ctx, o, val) < 0)
            return -1;
    }
    return 0;
}

static void print_help(const app_ctx_t *ctx)
{
    const gapp_t *app = ctx->app;
    const char *p = ctx->prog;
    names_t gcs = {0};

    printf("Usage: %s [OPTION]...\n", p);
    if (app->description)
        printf("%s\n", app->description);
    printf("\nRuns a tree of gobjs described by a JSON configuration until SIGINT or\n"
           "SIGTERM.  With no -c it runs the built-in configuration");
    if (app->default_config_name)
        printf(", %s", app->default_config_name);
    printf(".\n\n");
    printf("Options:\n"
           "  -c, --config FILE      read the configuration from FILE; repeat to merge\n"
           "                         several files in order\n"
           "  -s, --set KEY=VALUE    set an attribute after the files are merged (repeatable):\n"
           "                         NAME.attr for one gobj of the tree (its name or full\n"
           "                         dotted name) or GClass.attr for every gobj of that\n"
           "                         gclass; VALUE is converted to the attribute's type\n"
           "      --check            validate the configuration, create nothing, exit 0 or 2\n"
           "      --print-config     print the merged configuration as JSON and exit\n"
           "      --log-format FMT   text (default) or json (one JSON object per line)\n"
           "      --log-level LEVEL  error, warn, info (default), debug or trace\n"
           "      --trace SPEC       trace LEVEL[,LEVEL] everywhere, GClass:LEVEL[,LEVEL] or\n"
           "                         full.name:LEVEL[,LEVEL]; LEVEL is machine, traffic,\n"
           "                         subscriptions, lifecycle or all (repeatable)\n"
           "      --dot GCLASS       print the state machine of GCLASS as Graphviz DOT\n"
           "  -V, --version          print the version and exit\n"
           "  -h, --help             print this help and exit\n"
           "\n"
           "Configuration (a JSON object; only \"tree\" is required):\n"
           "  {\n"
           "    \"name\": \"ticker\",                  the name used in the log\n"
           "    \"shutdown_timeout\": 5000,          ms a graceful stop may take (default 5000)\n"
           "    \"log\": {\"level\": \"info\", \"format\": \"text\"},\n"
           "    \"global\": {\"GClass.attr\": VALUE, \"name.attr\": VALUE},\n"
           "    \"tree\": {\"gclass\": \"Ticker\", \"name\": \"ticker\", \"attrs\": {},\n"
           "             \"children\": [{\"gclass\": \"GTimer\", \"name\": \"timer\",\n"
           "                           \"attrs\": {\"msec\": 1000, \"periodic\": true}}]}\n"
           "  }\n"
           "  Every node of the tree has a gclass and a name, and optionally attrs and\n"
           "  children.  Several -c files merge in order: name, shutdown_timeout and tree\n"
           "  are replaced by a later file, log and global merge key by key; -s comes last\n"
           "  and --log-format/--log-level override \"log\".  Attribute precedence at\n"
           "  create: default < \"GClass.attr\" < the node's attrs < \"name.attr\".\n"
           "\n");
    gclass_names(&gcs);
    printf("Registered gclasses:");
    for (size_t i = 0; i < gcs.n; i++)
        printf("%s %s", i ? "," : "", gcs.v[i]);
    printf("%s\n\n", gcs.n ? "" : " (none)");
    names_free(&gcs);
    printf("Examples:\n"
           "  %s                                run the built-in configuration\n"
           "  %s -c app.json --check            validate app.json and exit\n"
           "  %s -c base.json -c site.json -s timer.msec=250 --print-config\n"
           "  %s --log-format json --trace GTimer:machine\n"
           "  %s --dot GTimer | dot -Tsvg > GTimer.svg\n"
           "\n"
           "Exit status: 0 after a clean shutdown (or a done inquiry), 1 when the tree\n"
           "could not be created or started, 2 for bad usage or configuration.\n"
           "SIGINT and SIGTERM stop the tree gracefully; a second one exits at once.\n"
           "SIGPIPE is ignored.  The log goes to stderr, one record per line.\n",
           p, p, p, p, p);
}

static void print_version(const app_ctx_t *ctx)
{
    const char *v = ctx->app->version ? ctx->app->version : gobj_version();
    printf("%s %s (ginsfsm %s)\n", ctx->prog, v, gobj_version());
}

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
        names_add(&ns, *known);
    sb_printf(&b, "%s: unknown %s '%s'", where, what, key);
    sb_suggest(&b, key, &ns, "known keys");
    app_error(ctx, "%s", sb_str(&b));
    names_free(&ns);
    sb_free(&b);
}

static int is_known(const char *key, const char *const *known)
{
    for (; *known; known++)
        if (strcmp(key, *known) == 0)
            return 1;
    return 0;
}

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    sbuf_t b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!b.s)
        b.s = calloc(1, 1);
    return b.s;
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
        app_error(ctx, "%s:%d:%d: invalid JSON: %s", label, err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        app_error(ctx, "%s: the configuration must be a JSON object, not %s", label, json_kind(j));
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
            app_error(ctx, "%s: 'name' must be a non-empty string, not %s", label, json_kind(v));
            goto bad;
        }
        if (strcmp(key, "tree") == 0 && !json_is_object(v)) {
            app_error(ctx, "%s: 'tree' must be an object, not %s", label, json_kind(v));
            goto bad;
        }
        if (strcmp(key, "shutdown_timeout") == 0 &&
            (!json_is_integer(v) || json_integer_value(v) < 0)) {
            app_error(ctx, "%s: 'shutdown_timeout' must be an integer >= 0 (ms), not %s", label,
                      json_is_integer(v) ? "negative" : json_kind(v));
            goto bad;
        }
        if (strcmp(key, "global") == 0) {
            const char *gk;
            json_t *gv;
            if (!json_is_object(v)) {
                app_error(ctx, "%s: 'global' must be an object, not %s", label, json_kind(v));
                goto bad;
            }
            json_object_foreach (v, gk, gv) {
                const char *dot = strrchr(gk, '.');
                if (!dot || dot == gk || dot[1] == '\0') {
                    app_error(ctx, "%s: global key '%s' must be GClass.attr or name.attr", label,
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
                app_error(ctx, "%s: 'log' must be an object, not %s", label, json_kind(v));
                goto bad;
            }
            json_object_foreach (v, lk, lv) {
                if (!is_known(lk, log_keys)) {
                    char *where = str_printf("%s: log", label);
                    report_unknown_key(ctx, where, "key", lk, log_keys);
                    free(where);
                    goto bad;
                }
                const char *s = json_string_value(lv);
                if (strcmp(lk, "level") == 0 && (!s || gobj_log_level_from_name(s, &level) < 0)) {
                    app_error(ctx,
                              "%s: log.level must be \"error\", \"warn\", \"info\", "
                              "\"debug\" or \"trace\", not %s%s%s",
                              label, s ? "'" : json_kind(lv), s ? s : "", s ? "'" : "");
                    goto bad;
                }
                if (strcmp(lk, "format") == 0 &&
                    (!s || (strcmp(s, "text") != 0 && strcmp(s, "json") != 0))) {
                    app_error(ctx, "%s: log.format must be \"text\" or \"json\", not %s%s%s", label,
                              s ? "'" : json_kind(lv), s ? s : "", s ? "'" : "");
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
static void canonical_order(app_ctx_t *ctx)
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
static int load_config(app_ctx_t *ctx)
{
    const app_opts_t *op = &ctx->opts;

    ctx->cfg = json_object();
    ctx->global_src = json_object();
    if (!ctx->cfg || !ctx->global_src) {
        app_error(ctx, "out of memory");
        return -1;
    }
    if (op->n_configs == 0) {
        const char *text = ctx->app->default_config;
        if (!text) {
            app_error(ctx, "no configuration: give one with -c FILE (try '%s --help')", ctx->prog);
            return -1;
        }
        json_t *j = load_source(ctx, default_label(ctx), text, strlen(text));
        if (!j)
            return -1;
        merge_source(ctx, j, default_label(ctx));
        json_decref(j);
    }
    for (size_t i = 0; i < op->n_configs; i++) {
        const char *path = op->configs[i];
        size_t len = 0;
        char *text = read_file(path, &len);
        if (!text) {
            if (errno == EFBIG)
                app_error(ctx,
                          "cannot read config file '%s': larger than " APP_CONFIG_MAX_TEXT
                          " (the limit of a configuration file)",
                          path);
            else
                app_error(ctx, "cannot read config file '%s': %s", path, strerror(errno));
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

    canonical_order(ctx);
    if (!json_object_get(ctx->cfg, "tree")) {
        if (op->n_configs == 1)
            app_error(ctx, "%s: the configuration has no 'tree'", op->configs[0]);
        else if (op->n_configs == 0)
            app_error(ctx, "%s: the configuration has no 'tree'", default_label(ctx));
        else
            app_error(ctx, "none of the %zu config files has a 'tree'", op->n_configs);
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
        attr_names(gc, &ns);
        sb_printf(&what, "attributes of %s", gclass_name(gc));
        sb_printf(why, "unknown attribute '%s' of %s", name, gclass_name(gc));
        sb_suggest(why, name, &ns, sb_str(&what));
        sb_free(&what);
        names_free(&ns);
        return NULL;
    }
    if (a->flags & GOBJ_STATS) {
        sb_printf(why, "attribute '%s' of %s is a statistic and cannot be configured", name,
                  gclass_name(gc));
        return NULL;
    }
    if (a->flags & GOBJ_VOLATILE) {
        sb_printf(why, "attribute '%s' of %s is run-time state and cannot be configured", name,
                  gclass_name(gc));
        return NULL;
    }
    if (v && !attr_type_ok(a->type, v)) {
        sb_printf(why, "wrong type for attribute '%s' of %s: expected %s, got %s", name,
                  gclass_name(gc), attr_type_text(a->type), json_kind(v));
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
        app_error(ctx, "%s: %s: a tree node must be an object, not %s", label, path,
                  json_kind(node));
        return -1;
    }
    json_object_foreach (node, key, v) {
        if (!is_known(key, node_keys)) {
            char *where = str_printf("%s: %s", label, path);
            report_unknown_key(ctx, where, "key", key, node_keys);
            free(where);
            return -1;
        }
    }

    json_t *jgc = json_object_get(node, "gclass");
    if (!json_is_string(jgc)) {
        app_error(ctx, "%s: %s: %s", label, path,
                  jgc ? "'gclass' must be a string" : "missing 'gclass'");
        return -1;
    }
    const char *gcname = json_string_value(jgc);
    gclass_t *gc = gclass_find(gcname);
    if (!gc) {
        sbuf_t b = {0};
        names_t ns = {0};
        gclass_names(&ns);
        sb_printf(&b, "%s: %s: unknown gclass '%s'", label, path, gcname);
        sb_suggest(&b, gcname, &ns, "registered gclasses");
        app_error(ctx, "%s", sb_str(&b));
        names_free(&ns);
        sb_free(&b);
        return -1;
    }

    /* Every configured gobj is named: the log, -s, "name.attr" and --trace
     * all address gobjs by their (full) name. */
    json_t *jname = json_object_get(node, "name");
    const char *name = json_string_value(jname);
    /* '.' separates the parts of a full name, '=' ends the key of -s and
     * ':' the name of --trace: a name holding one could never be reached. */
    if (!name || !*name || strpbrk(name, ".=:")) {
        app_error(ctx, "%s: %s (%s): %s", label, path, gcname,
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
        app_error(ctx, "%s: %s (%s '%s'): 'attrs' must be an object, not %s", label, path, gcname,
                  name, json_kind(attrs));
        return -1;
    }
    json_object_foreach (attrs, key, v) {
        sbuf_t why = {0};
        if (!check_attr(gc, key, v, &why)) {
            app_error(ctx, "%s: %s.attrs.%s: %s", label, path, key, sb_str(&why));
            sb_free(&why);
            return -1;
        }
    }

    app_node_t *n = add_node(ctx);
    if (!n) {
        app_error(ctx, "out of memory");
        return -1;
    }
    n->node = node;
    n->gc = gc;
    n->name = name;
    n->full = parent_full ? str_printf("%s.%s", parent_full, name) : str_printf("%s", name);
    n->path = str_printf("%s", path);
    /* n may move when the array grows: keep what the children need. */
    char *full = str_printf("%s", n->full);

    json_t *children = json_object_get(node, "children");
    if (children && !json_is_array(children)) {
        app_error(ctx, "%s: %s (%s '%s'): 'children' must be an array, not %s", label, path, gcname,
                  name, json_kind(children));
        free(full);
        return -1;
    }
    size_t i;
    json_t *child;
    json_array_foreach (children, i, child) {
        char *cpath = str_printf("%s.children[%zu]", path, i);
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
        app_error(ctx, "out of memory");
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
        app_error(ctx, "%s: %s: duplicate name '%s' (also %s)", ctx->tree_src, d->path, d->name,
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
    gclass_names(&ns);
    for (size_t i = 0; i < ctx->n_nodes; i++)
        names_add(&ns, ctx->nodes[i].full);
    for (size_t i = 0; i < ctx->n_nodes; i++) {
        const app_node_t *nd = &ctx->nodes[ctx->by_name[i]];
        int same_prev = i > 0 && strcmp(ctx->nodes[ctx->by_name[i - 1]].name, nd->name) == 0;
        int same_next =
            i + 1 < ctx->n_nodes && strcmp(ctx->nodes[ctx->by_name[i + 1]].name, nd->name) == 0;
        if (!same_prev && !same_next && strchr(nd->full, '.'))
            names_add(&ns, nd->name);
    }
    sb_printf(b, "no gclass and no gobj of the tree is named '%s'", prefix);
    sb_suggest(b, prefix, &ns, "gclasses and gobjs");
    names_free(&ns);
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
        sb_printf(why, "value for attribute '%s' of %s is not valid UTF-8", a->name,
                  gclass_name(gc));
        return NULL;
    }
    case GOBJ_ATTR_JSON: {
        json_error_t err;
        json_t *v = json_loads(s, JSON_DECODE_ANY, &err);
        if (v)
            return v;
        sb_printf(why, "wrong type for attribute '%s' of %s: expected JSON, got '%s' (%s)", a->name,
                  gclass_name(gc), s, err.text);
        return NULL;
    }
    }
    sb_printf(why, "wrong type for attribute '%s' of %s: expected %s, got '%s'", a->name,
              gclass_name(gc), attr_type_text(a->type), s);
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
        char *k = str_printf("%s.%s", prefixes[i], attr);
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
    char *what = by_global ? str_printf("global '%s'", by_global)
                           : str_printf("its attrs (%s)", first->path);
    char *more = n > 1 ? str_printf(" (and %zu more gobjs of %s)", n - 1, gclass_name(gc))
                       : str_printf("%s", "");
    char *msg = str_printf("-s '%s' does not reach %s%s: %s sets '%s', which wins over "
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
    char *key = eq ? str_printf("%.*s", (int)(eq - arg), arg) : NULL;
    char *dot = key ? strrchr(key, '.') : NULL;
    sbuf_t why = {0};
    json_t *value = NULL;
    int rc = -1;

    if (!dot || dot == key || dot[1] == '\0') {
        app_error(ctx, "bad -s '%s': expected NAME.attr=VALUE or GClass.attr=VALUE", arg);
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
            app_error(ctx, "-s '%s': %s", arg, sb_str(&why));
            goto done;
        }
        char *gkey = str_printf("%s.%s", prefix, attr);
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
        app_error(ctx, "-s '%s': %s", arg, sb_str(&why));
        goto done;
    }
    if (n > 1) {
        app_error(ctx, "-s '%s': '%s' names %zu gobjs (%s, %s%s); use the full name", arg, prefix,
                  n, ctx->nodes[idx[0]].full, ctx->nodes[idx[1]].full, n > 2 ? ", ..." : "");
        goto done;
    }
    size_t me = idx[0];
    app_node_t *nd = &ctx->nodes[me];
    const gobj_attr_t *a = check_attr(nd->gc, attr, NULL, &why);
    if (!a || !(value = convert_value(a, nd->gc, text, &why))) {
        app_error(ctx, "-s '%s': %s", arg, sb_str(&why));
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
        char *gprefix = str_printf("%s", gk);
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
        char *fkey = str_printf("%s.%s", nd->full, attr);
        json_object_set(global, fkey, value);
        json_object_set_new(ctx->global_src, fkey, json_sprintf("-s '%s'", arg));
        free(fkey);
    }
    json_decref(value);
    rc = 0;

done:
    sb_free(&why);
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
        char *prefix = str_printf("%s", gk);
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
            app_error(ctx, "%s: global '%s': %s", label ? label : "-s", gk, sb_str(&why));
        sb_free(&why);
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
            char *k1 = str_printf("%s.%s", gclass_name(nd->gc), a->name);
            int found = json_object_get(global, k1) || name_global_for(ctx, nd, a->name);
            free(k1);
            if (!found) {
                app_error(ctx, "%s: %s (%s '%s'): missing required attribute '%s' (%s%s%s)",
                          ctx->tree_src, nd->path, gclass_name(nd->gc), nd->name, a->name,
                          attr_type_text(a->type), a->description ? ": " : "",
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
static int check_trace_spec(const app_ctx_t *ctx, const char *spec)
{
    static const char *const levels[] = {"machine",   "traffic", "subscriptions",
                                         "lifecycle", "all",     NULL};
    const char *colon = strrchr(spec, ':');
    const char *list = colon ? colon + 1 : spec;

    if (colon == spec) {
        app_error(ctx,
                  "--trace '%s': empty name before ':' (expected GClass:LEVEL or "
                  "full.name:LEVEL)",
                  spec);
        return -1;
    }
    if (!*list) {
        app_error(ctx,
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
            app_error(ctx,
                      "--trace '%s': empty trace level (expected LEVEL[,LEVEL]; LEVEL is "
                      "machine, traffic, subscriptions, lifecycle or all)",
                      spec);
            return -1;
        }
        char *tok = str_printf("%.*s", (int)len, p);
        int known = gobj_trace_level_from_name(tok) != 0;
        if (!known) {
            sbuf_t b = {0};
            names_t ns = {0};
            for (const char *const *l = levels; *l; l++)
                names_add(&ns, *l);
            sb_printf(&b, "--trace '%s': unknown trace level '%s'", spec, tok);
            sb_suggest(&b, tok, &ns, "trace levels");
            app_error(ctx, "%s", sb_str(&b));
            names_free(&ns);
            sb_free(&b);
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
    char *name = str_printf("%.*s", (int)(colon - spec), spec);
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
        name = str_printf("%.*s", (int)(colon - spec), spec);
        sb_no_target(ctx, &b, name);
        app_error(ctx, "--trace '%s': %s", spec, sb_str(&b));
        sb_free(&b);
        free(name);
        return -1;
    }
    return 0;
}

static int validate_config(app_ctx_t *ctx)
{
    if (check_node(ctx, json_object_get(ctx->cfg, "tree"), "tree", NULL) < 0 ||
        index_nodes(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_sets; i++)
        if (apply_set(ctx, ctx->opts.sets[i]) < 0)
            return -1;
    if (check_globals(ctx) < 0 || check_required(ctx) < 0)
        return -1;
    for (size_t i = 0; i < ctx->opts.n_traces; i++)
        if (check_trace_target(ctx, ctx->opts.traces[i]) < 0)
            return -1;
    return 0;
}

/*--------------------------------------------------------------------------*
 *  Running the tree
 *--------------------------------------------------------------------------*/
static const char *config_name(const app_ctx_t *ctx)
{
    const char *name = json_string_value(json_object_get(ctx->cfg, "name"));
    if (!name)
        name = json_string_value(json_object_get(json_object_get(ctx->cfg, "tree"), "name"));
    return name ? name : ctx->prog;
}

static const char *signal_name(int signo)
{
    switch (signo) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    }
    return "signal";
}

/* Creates node and its subtree under parent; the root is stored in
 * ctx->root as soon as it exists, so that whatever was created before a
 * failure hangs under it for the caller to destroy.
 * Returns: 0, or -1 with the reason logged. */
static int create_node(app_ctx_t *ctx, json_t *node, gobj_t *parent)
{
    const char *gcname = json_string_value(json_object_get(node, "gclass"));
    const char *name = json_string_value(json_object_get(node, "name"));
    json_t *attrs = json_object_get(node, "attrs");
    gobj_t *gobj =
        gobj_create(name, gclass_find(gcname), attrs ? json_deep_copy(attrs) : NULL, parent);
    if (!gobj) {
        char *full =
            parent ? str_printf("%s.%s", gobj_full_name(parent), name) : str_printf("%s", name);
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot create the tree", "failed", json_string(full),
                 "gclass", json_string(gcname), NULL);
        free(full);
        return -1;
    }
    if (!parent)
        ctx->root = gobj;
    size_t i;
    json_t *child;
    json_array_foreach (json_object_get(node, "children"), i, child) {
        if (create_node(ctx, child, gobj) < 0)
            return -1;
    }
    return 0;
}

static int tree_running(const gobj_t *gobj)
{
    /* A stopping gobj (a connection flushing its output) is still at work. */
    if (gobj_is_running(gobj) || gobj_is_stopping(gobj))
        return 1;
    for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c))
        if (tree_running(c))
            return 1;
    return 0;
}

/* The end of a graceful stop: destroy the tree, then let the loop return. */
static void finish(app_ctx_t *ctx)
{
    if (ctx->deadline)
        gobj_loop_timer_stop(ctx->deadline);
    if (ctx->drain)
        gobj_loop_timer_stop(ctx->drain);
    if (ctx->root) {
        gobj_destroy(ctx->root);
        ctx->root = NULL;
    }
    ctx->finished = 1;
    gobj_loop_stop();
}

/* The tree has finished its work when nothing in it runs any more and no
 * posted event waits: events posted by the stop itself are delivered first. */
static void on_drain_poll(void *user)
{
    app_ctx_t *ctx = user;
    if (gobj_posted_count() == 0 && (!ctx->root || !tree_running(ctx->root)))
        finish(ctx);
}

/* A second stop asks every gobj still stopping to finish now: a connection
 * still flushing closes and publishes its EV_DISCONNECTED while its owner
 * can still hear it, before the tree is destroyed. */
static void finish_now(app_ctx_t *ctx)
{
    if (ctx->root)
        gobj_stop_tree(ctx->root);
    finish(ctx);
}

static void on_shutdown_deadline(void *user)
{
    app_ctx_t *ctx = user;
    gobj_log(GOBJ_LOG_WARN, NULL, "shutdown_timeout expired, destroying the tree",
             "shutdown_timeout", json_integer(ctx->shutdown_timeout), NULL);
    finish_now(ctx);
}

/* The graceful stop, whatever asked for it (a signal, gapp_shutdown, a
 * gobj_loop_stop): stop the tree, then wait for its work to end within
 * shutdown_timeout.  fields (stolen) say why, for the "stopping" record. */
static void begin_stop(app_ctx_t *ctx, json_t *fields)
{
    if (ctx->stopping) {
        json_decref(fields);
        return;
    }
    ctx->stopping = 1;
    if (ctx->request)
        gobj_loop_timer_stop(ctx->request);
    json_object_set_new(fields, "shutdown_timeout", json_integer(ctx->shutdown_timeout));
    gobj_log_json(GOBJ_LOG_INFO, NULL, "stopping", fields);
    if (ctx->root)
        gobj_stop_tree(ctx->root);
    if (ctx->shutdown_timeout == 0 || !ctx->deadline || !ctx->drain) {
        /* No time to wait, but still no work cut off in the middle. */
        finish_now(ctx);
        return;
    }
    gobj_loop_timer_start(ctx->deadline, (uint64_t)ctx->shutdown_timeout, false);
    gobj_loop_timer_start(ctx->drain, APP_DRAIN_POLL_MSEC, true);
}

static void on_signal(int signo, void *user)
{
    app_ctx_t *ctx = user;
    if (ctx->stopping) {
        /* The user insists: do not wait for anything, not even destructors
         * that might be what hangs. */
        gobj_log(GOBJ_LOG_WARN, NULL, "second signal, exiting now", "signal",
                 json_string(signal_name(signo)), NULL);
        _exit(GAPP_EXIT_FAILURE);
    }
    begin_stop(ctx, json_pack("{s:s}", "signal", signal_name(signo)));
}

static void on_shutdown_request(void *user)
{
    app_ctx_t *ctx = user;
    begin_stop(ctx,
               json_pack("{s:s, s:i}", "reason", "gapp_shutdown", "exit_status", ctx->exit_status));
}

int gapp_shutdown(int exit_status)
{
    app_ctx_t *ctx = running_app;
    if (!ctx) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "gapp_shutdown: no gapp_main() is running", NULL);
        return GOBJ_ESTATE;
    }
    if (ctx->stopping || ctx->shutdown_requested)
        return 0;
    ctx->shutdown_requested = 1;
    ctx->exit_status = exit_status;
    /* Never inside the caller's action: the stop walks the whole tree, the
     * caller included, so it runs on a later loop turn. */
    if (ctx->request)
        gobj_loop_timer_start(ctx->request, 0, false);
    return 0;
}

/* SIGUSR1: one info record "stats" that shows what the process holds now:
 * live gobjs, queued posts, open descriptors, and the statistics of every
 * gobj of the tree that has any, depth first, keyed by full name. */
static void collect_stats(const gobj_t *gobj, json_t *out)
{
    json_t *st = gobj_stats(gobj);
    if (st && json_object_size(st) > 0)
        json_object_set_new(out, gobj_full_name(gobj), st);
    else
        json_decref(st);
    for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c))
        collect_stats(c, out);
}

static json_int_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    json_int_t n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static void on_stats_signal(int signo, void *user)
{
    (void)signo;
    app_ctx_t *ctx = user;
    json_t *stats = json_object();
    if (ctx->root)
        collect_stats(ctx->root, stats);
    gobj_log(GOBJ_LOG_INFO, NULL, "stats", "gobjs", json_integer((json_int_t)gobj_live_count()),
             "posted", json_integer((json_int_t)gobj_posted_count()), "fds",
             json_integer(open_fds()), "stats", stats, NULL);
}

static void apply_log_settings(const app_ctx_t *ctx)
{
    json_t *log = json_object_get(ctx->cfg, "log");
    const char *level = json_string_value(json_object_get(log, "level"));
    const char *format = json_string_value(json_object_get(log, "format"));
    gobj_log_level_t lv;
    if (level && gobj_log_level_from_name(level, &lv) == 0)
        gobj_log_set_level(lv);
    if (format)
        gobj_log_set_format(strcmp(format, "json") == 0 ? GOBJ_LOG_JSON : GOBJ_LOG_TEXT);
}

/* Raise the soft RLIMIT_NOFILE to the hard limit.  Returns: the limit now
 * in force (-1 if unknown). */
static json_int_t raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            gobj_log(GOBJ_LOG_WARN, NULL, "cannot raise the descriptor limit", "soft",
                     json_integer((json_int_t)was), "hard", json_integer((json_int_t)rl.rlim_max),
                     "error", json_string(strerror(errno)), NULL);
            rl.rlim_cur = was;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (json_int_t)rl.rlim_cur;
}

static int run(app_ctx_t *ctx)
{
    int status = GAPP_EXIT_FAILURE;
    int rc;
    json_t *sd = json_object_get(ctx->cfg, "shutdown_timeout");

    ctx->shutdown_timeout = sd ? json_integer_value(sd) : APP_SHUTDOWN_TIMEOUT_MSEC;

    /* A server holds one descriptor per connection: take all the process is
     * allowed (the soft limit up to the hard one), before anything opens. */
    json_int_t max_fds = raise_fd_limit();

    rc = gobj_loop_init();
    int own_loop = rc == 0;
    if (rc < 0 && rc != GOBJ_EEXIST) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot create the event loop", "error",
                 json_string(gobj_strerror(rc)), NULL);
        return GAPP_EXIT_FAILURE;
    }
    json_t *global = json_object_get(ctx->cfg, "global");
    rc = gobj_set_global_attrs(global ? json_deep_copy(global) : NULL);
    if (rc < 0) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot set the global attributes", "error",
                 json_string(gobj_strerror(rc)), NULL);
        goto out;
    }

    /* The timers exist before the tree does: a gobj may call
     * gapp_shutdown() from its mt_create or mt_start. */
    ctx->deadline = gobj_loop_timer_new(on_shutdown_deadline, ctx);
    ctx->drain = gobj_loop_timer_new(on_drain_poll, ctx);
    ctx->request = gobj_loop_timer_new(on_shutdown_request, ctx);
    if (!ctx->deadline || !ctx->drain || !ctx->request) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot create the runner's timers", NULL);
        goto out;
    }
    running_app = ctx;

    if (create_node(ctx, json_object_get(ctx->cfg, "tree"), NULL) < 0)
        goto out;
    rc = gobj_start_tree(ctx->root);
    if (rc < 0) {
        gobj_log(GOBJ_LOG_ERROR, ctx->root, "cannot start the tree", "error",
                 json_string(gobj_strerror(rc)), NULL);
        /* A start that found its configuration unusable (a TLS certificate
         * that does not load, a port out of range) is the user's to fix, as
         * a bad config file is: exit 2, not the runtime failure's 1. */
        if (rc == GOBJ_ECONFIG)
            status = GAPP_EXIT_USAGE;
        goto out;
    }

    if (gobj_loop_on_signal(SIGINT, on_signal, ctx) < 0 ||
        gobj_loop_on_signal(SIGTERM, on_signal, ctx) < 0 ||
        gobj_loop_on_signal(SIGUSR1, on_stats_signal, ctx) < 0) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot handle SIGINT, SIGTERM and SIGUSR1", NULL);
        goto out;
    }

    gobj_log(GOBJ_LOG_INFO, NULL, "running", "name", json_string(config_name(ctx)), "version",
             json_string(ctx->app->version ? ctx->app->version : gobj_version()), "pid",
             json_integer((json_int_t)getpid()), "max_fds", json_integer(max_fds), NULL);
    while (!ctx->finished) {
        rc = gobj_loop_run();
        if (rc < 0) {
            gobj_log(GOBJ_LOG_ERROR, NULL, "the event loop failed", "error",
                     json_string(gobj_strerror(rc)), NULL);
            goto out;
        }
        /* The loop returned before the tree was destroyed: a gobj called
         * gobj_loop_stop() (or nothing was left to wait for).  That is a
         * graceful shutdown with status 0, never a tree destroyed with its
         * output still queued.  During the stop, the loop simply goes on:
         * the deadline timer bounds it. */
        if (!ctx->finished && !ctx->stopping)
            begin_stop(ctx, json_pack("{s:s}", "reason", "gobj_loop_stop"));
    }
    status = ctx->exit_status;

out:
    running_app = NULL;
    /* Nothing is left behind, whichever step failed. */
    if (ctx->root) {
        gobj_destroy(ctx->root);
        ctx->root = NULL;
    }
    gobj_loop_on_signal(SIGINT, NULL, NULL);
    gobj_loop_on_signal(SIGTERM, NULL, NULL);
    gobj_loop_on_signal(SIGUSR1, NULL, NULL);
    if (ctx->deadline)
        gobj_loop_timer_free(ctx->deadline);
    if (ctx->drain)
        gobj_loop_timer_free(ctx->drain);
    if (ctx->request)
        gobj_loop_timer_free(ctx->request);
    ctx->deadline = ctx->drain = ctx->request = NULL;
    gobj_set_global_attrs(NULL);
    if (own_loop)
        gobj_loop_free();
    if (ctx->finished)
        gobj_log(GOBJ_LOG_INFO, NULL, "exit", "name", json_string(config_name(ctx)), "status",
                 json_integer(status), NULL);
    return status;
}

/*--------------------------------------------------------------------------*
 *  gapp_main
 *--------------------------------------------------------------------------*/
static int print_dot(const app_ctx_t *ctx, const char *name)
{
    gclass_t *gc = gclass_find(name);
    if (!gc) {
        sbuf_t b = {0};
        names_t ns = {0};
        gclass_names(&ns);
        sb_printf(&b, "--dot: unknown gclass '%s'", name);
        sb_suggest(&b, name, &ns, "registered gclasses");
        app_error(ctx, "%s", sb_str(&b));
        names_free(&ns);
        sb_free(&b);
        return GAPP_EXIT_USAGE;
    }
    char *dot = gclass_to_dot(gc);
    if (!dot) {
        app_error(ctx, "--dot: cannot export the state machine of %s", name);
        return GAPP_EXIT_FAILURE;
    }
    fputs(dot, stdout);
    free(dot);
    return GAPP_EXIT_OK;
}

int gapp_main(int argc, char **argv, const gapp_t *app)
{
    app_ctx_t ctx = {0};
    app_opts_t *op = &ctx.opts;
    int status = GAPP_EXIT_USAGE;
    size_t nargs = argc > 0 ? (size_t)argc : 1;

    /* A peer that goes away must show up as EPIPE on the write, never as a
     * process killed by a signal. */
    signal(SIGPIPE, SIG_IGN);

    ctx.app = app;
    ctx.prog = app->name;
    if (!ctx.prog) {
        const char *a0 = argc > 0 && argv[0] ? argv[0] : "gapp";
        const char *slash = strrchr(a0, '/');
        ctx.prog = slash ? slash + 1 : a0;
    }

    op->configs = calloc(nargs, sizeof *op->configs);
    op->sets = calloc(nargs, sizeof *op->sets);
    op->traces = calloc(nargs, sizeof *op->traces);
    if (!op->configs || !op->sets || !op->traces) {
        app_error(&ctx, "out of memory");
        status = GAPP_EXIT_FAILURE;
        goto out;
    }
    if (parse_args(&ctx, argc, argv) < 0)
        goto out;
    if (op->version) {
        print_version(&ctx);
        status = GAPP_EXIT_OK;
        goto out;
    }
    if (app->register_gclasses) {
        int rc = app->register_gclasses(app->user);
        if (rc < 0) {
            app_error(&ctx, "cannot register the gclasses: %s", gobj_strerror(rc));
            status = GAPP_EXIT_FAILURE;
            goto out;
        }
    }
    if (op->help) {
        print_help(&ctx);
        status = GAPP_EXIT_OK;
        goto out;
    }
    if (op->dot) {
        status = print_dot(&ctx, op->dot);
        goto out;
    }
    for (size_t i = 0; i < op->n_traces; i++)
        if (check_trace_spec(&ctx, op->traces[i]) < 0)
            goto out;
    if (load_config(&ctx) < 0 || validate_config(&ctx) < 0)
        goto out;

    apply_log_settings(&ctx);
    size_t wi;
    json_t *w;
    json_array_foreach (ctx.warnings, wi, w) {
        gobj_log_json(GOBJ_LOG_WARN, NULL, json_string_value(json_array_get(w, 0)),
                      json_incref(json_array_get(w, 1)));
    }
    /* Traces are on before anything is created, so that a lifecycle trace
     * shows the whole life of the tree (and, with --check, that nothing was
     * created at all). */
    for (size_t i = 0; i < op->n_traces; i++)
        if (gobj_trace_apply_spec(op->traces[i]) < 0)
            goto out;

    if (op->print_config) {
        canonical_order(&ctx);
        json_dumpf(ctx.cfg, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        status = GAPP_EXIT_OK;
        goto out;
    }
    if (op->check) {
        printf("%s: configuration OK (%zu gobjs)\n", ctx.prog, ctx.n_nodes);
        status = GAPP_EXIT_OK;
        goto out;
    }
    status = run(&ctx);

out:
    for (size_t i = 0; i < ctx.n_nodes; i++) {
        free(ctx.nodes[i].full);
        free(ctx.nodes[i].path);
    }
    free(ctx.nodes);
    free(ctx.by_full);
    free(ctx.by_name);
    json_decref(ctx.warnings);
    json_decref(ctx.cfg);
    json_decref(ctx.global_src);
    free(op->configs);
    free(op->sets);
    free(op->traces);
    gobj_set_global_attrs(NULL);
    gclass_unregister_all();
    fflush(stdout);
    return status;
}
