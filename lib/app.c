/*
 * app.c - the application runner behind gapp_main(): its small helpers,
 * the command line and gapp_main() itself.
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

#include "app_internal.h"

/*--------------------------------------------------------------------------*
 *  Small helpers: a growing string, a list of names, "did you mean"
 *--------------------------------------------------------------------------*/
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

void app__sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *app__sb_str(const sbuf_t *b)
{
    return b->s ? b->s : "";
}

void app__sb_free(sbuf_t *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

void app__names_add(names_t *ns, const char *s)
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

void app__names_free(names_t *ns)
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
void app__sb_suggest(sbuf_t *b, const char *word, const names_t *cands, const char *what)
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
                app__sb_printf(b, "%s'%s'", sep, cands->v[i]);
                sep = " or ";
            }
        }
        app__sb_printf(b, "?");
    }
    if (cands->n == 0) {
        app__sb_printf(b, " (%s: none)", what);
        return;
    }
    /* The list is for reading: a tree of thousands of gobjs gets the first
     * ones and a count, not a line of megabytes. */
    enum { LIST_MAX = 64 };
    app__sb_printf(b, " (%s: ", what);
    for (size_t i = 0; i < cands->n && i < LIST_MAX; i++)
        app__sb_printf(b, "%s%s", i ? ", " : "", cands->v[i]);
    if (cands->n > LIST_MAX)
        app__sb_printf(b, ", ... and %zu more", cands->n - LIST_MAX);
    app__sb_printf(b, ")");
}

static void collect_gclass(gclass_t *gc, void *user)
{
    app__names_add(user, gclass_name(gc));
}

void app__gclass_names(names_t *ns)
{
    gclass_foreach(collect_gclass, ns);
}

/* The attributes a config may set (statistics and run-time state are
 * readable only). */
void app__attr_names(const gclass_t *gc, names_t *ns)
{
    const gobj_attr_t *a = gclass_attrs(gc);
    for (; a && a->name; a++)
        if (!(a->flags & (GOBJ_STATS | GOBJ_VOLATILE)))
            app__names_add(ns, a->name);
}

/* A JSON value's kind, as a user reads it in a message. */
const char *app__json_kind(const json_t *v)
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

const char *app__attr_type_text(gobj_attr_type_t type)
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

char *app__str_printf(const char *fmt, ...)
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

void app__error(const app_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", ctx->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *app__default_label(const app_ctx_t *ctx)
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
    OPT_CONTROL,
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
    {"--control", NULL, "PATH", OPT_CONTROL},
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
            app__error(ctx, "--log-format: unknown format '%s' (expected text or json)", val);
            return -1;
        }
        op->log_format = val;
        break;
    case OPT_LOG_LEVEL:
        if (gobj_log_level_from_name(val, &level) < 0) {
            app__error(ctx,
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
    case OPT_CONTROL:
        if (!*val) {
            app__error(ctx, "--control: the path is empty");
            return -1;
        }
        op->control = val;
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
                app__error(ctx, "unexpected argument '%s' (try '%s --help')", argv[i + 1],
                           ctx->prog);
                return -1;
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            app__error(ctx, "unexpected argument '%s' (try '%s --help')", a, ctx->prog);
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
            app__error(ctx, "unknown option '%s' (try '%s --help')", a, ctx->prog);
            return -1;
        }
        if (!o->arg && attached) {
            app__error(ctx, "option '%s' takes no argument", o->lng);
            return -1;
        }
        if (o->arg && !attached) {
            if (i + 1 >= argc) {
                app__error(ctx, "option '%s' needs an argument (%s)", a, o->arg);
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
           "      --control PATH     open a control socket at PATH (mode 0600) for gctl\n"
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
    app__gclass_names(&gcs);
    printf("Registered gclasses:");
    for (size_t i = 0; i < gcs.n; i++)
        printf("%s %s", i ? "," : "", gcs.v[i]);
    printf("%s\n\n", gcs.n ? "" : " (none)");
    app__names_free(&gcs);
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
 *  gapp_main
 *--------------------------------------------------------------------------*/
static int print_dot(const app_ctx_t *ctx, const char *name)
{
    gclass_t *gc = gclass_find(name);
    if (!gc) {
        sbuf_t b = {0};
        names_t ns = {0};
        app__gclass_names(&ns);
        app__sb_printf(&b, "--dot: unknown gclass '%s'", name);
        app__sb_suggest(&b, name, &ns, "registered gclasses");
        app__error(ctx, "%s", app__sb_str(&b));
        app__names_free(&ns);
        app__sb_free(&b);
        return GAPP_EXIT_USAGE;
    }
    char *dot = gclass_to_dot(gc);
    if (!dot) {
        app__error(ctx, "--dot: cannot export the state machine of %s", name);
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
        app__error(&ctx, "out of memory");
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
            app__error(&ctx, "cannot register the gclasses: %s", gobj_strerror(rc));
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
        if (app__check_trace_spec(&ctx, op->traces[i]) < 0)
            goto out;
    if (app__load_config(&ctx) < 0 || app__validate_config(&ctx) < 0)
        goto out;

    app__apply_log_settings(&ctx);
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
        app__canonical_order(&ctx);
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
    status = app__run(&ctx);

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
