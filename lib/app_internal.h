/*
 * app_internal.h - what the parts of the application runner (gapp_main)
 * share; not installed.
 *
 *   lib/app.c         small helpers, the command line, gapp_main();
 *   lib/app_config.c  loading, merging and validating the configuration;
 *   lib/app_run.c     creating and running the tree, signals, the graceful
 *                     stop, gapp_shutdown();
 *   lib/app_control.c, app_control_cmds.c  the control socket and its
 *                     commands (app_control.h).
 *
 * These files only use the public API (gobj.h, log.h, loop.h; the control
 * socket also gobjs.h, being made of a GServerSock and its sessions): they
 * know nothing of libevent or of the samples.
 */
#ifndef GINSFSM_APP_INTERNAL_H
#define GINSFSM_APP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ginsfsm/app.h"
#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

/*--------------------------------------------------------------------------*
 *  Small helpers (app.c): a growing string, a list of names, "did you mean"
 *--------------------------------------------------------------------------*/
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

typedef struct names {
    const char **v;
    size_t n, cap;
} names_t;

void app__sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *app__sb_str(const sbuf_t *b);
void app__sb_free(sbuf_t *b);
/* Returns: new text (free()); never NULL unless out of memory. */
char *app__str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void app__names_add(names_t *ns, const char *s);
void app__names_free(names_t *ns);
/* Appends "; did you mean 'x'?" when a candidate is near word, then the
 * list of the candidates (what names them). */
void app__sb_suggest(sbuf_t *b, const char *word, const names_t *cands, const char *what);
void app__gclass_names(names_t *ns);
void app__attr_names(const gclass_t *gc, names_t *ns);
const char *app__json_kind(const json_t *v);
const char *app__attr_type_text(gobj_attr_type_t type);

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
    const char *control; /* --control PATH */
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
    gobj_t *control; /* the control socket's tree (app_control.c), or NULL */
    int stopping;    /* the graceful stop has begun */
    int finished;    /* the tree is destroyed: the loop may return for good */
    int shutdown_requested;
    int exit_status; /* of a clean run: GAPP_EXIT_OK or gapp_shutdown's */
    gobj_loop_timer_t *deadline;
    gobj_loop_timer_t *drain;
    gobj_loop_timer_t *request; /* gapp_shutdown: the stop on a later turn */
    int64_t shutdown_timeout;
} app_ctx_t;

/* One message "prog: ..." on stderr: bad usage or configuration. */
void app__error(const app_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How messages name the built-in configuration. */
const char *app__default_label(const app_ctx_t *ctx);

/*--------------------------------------------------------------------------*
 *  The configuration (app_config.c).  Each returns 0, or -1 after one
 *  message on stderr.
 *--------------------------------------------------------------------------*/
/* The syntax of a --trace SPEC (its name is checked by validate_config). */
int app__check_trace_spec(const app_ctx_t *ctx, const char *spec);
/* Loads the -c files in order (or the built-in config) and merges them. */
int app__load_config(app_ctx_t *ctx);
/* Checks the tree, applies -s, checks the globals, the required
 * attributes and the --trace names: all before anything is created. */
int app__validate_config(app_ctx_t *ctx);
/* app_config.c: is name a configurable attribute of gc, and (if v) is v of
 * its type?  Returns: the attribute, or NULL with the reason in why. */
const gobj_attr_t *app__check_attr(const gclass_t *gc, const char *name, const json_t *v,
                                   sbuf_t *why);
/* app_globals.c, each 0 or -1 (reported): -s KEY=VALUE; the "global" keys;
 * the required attributes; a --trace spec's name against the tree. */
int app__apply_set(app_ctx_t *ctx, const char *arg);
int app__check_globals(app_ctx_t *ctx);
int app__check_required(app_ctx_t *ctx);
int app__check_trace_target(const app_ctx_t *ctx, const char *spec);
/* Each node's gclass checks its values (mt_check).  Returns 0 or -1
 * (reported, naming the file, the node and the attribute). */
int app__check_nodes(app_ctx_t *ctx);
/* Puts the top-level keys in one fixed order (for --print-config). */
void app__canonical_order(app_ctx_t *ctx);

/*--------------------------------------------------------------------------*
 *  Running (app_run.c)
 *--------------------------------------------------------------------------*/
void app__apply_log_settings(const app_ctx_t *ctx);
/* The statistics of gobj and its subtree, {full_name: {stat: value}} for each
 * gobj that has any, depth first, into out (SIGUSR1, the control socket). */
void app__collect_stats(const gobj_t *gobj, json_t *out);
/* Creates, starts and runs the tree until the graceful stop has destroyed
 * it.  Returns: gapp_main's status. */
int app__run(app_ctx_t *ctx);

#endif /* GINSFSM_APP_INTERNAL_H */
