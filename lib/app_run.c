/*
 * app_run.c - gapp_main's run: create the tree (parents before children),
 * start it, run the loop until a signal, gapp_shutdown() or a
 * gobj_loop_stop(), then the graceful stop: stop the tree, wait for its work
 * within shutdown_timeout, stop it again ("finish now"), destroy it.  A
 * failure here: exit 1, except a start that fails with GOBJ_ECONFIG, a
 * configuration only the gobj could check, such as a TLS certificate: exit 2.
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

#include "app_control.h"
#include "app_internal.h"

/* Default of the top-level "shutdown_timeout" (ms). */
#define APP_SHUTDOWN_TIMEOUT_MSEC 5000
/* How often a stopping tree is checked for remaining work (ms). */
#define APP_DRAIN_POLL_MSEC 10

/* The gapp_main() run in progress, for gapp_shutdown(). */
static app_ctx_t *running_app;

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
        char *full = parent ? app__str_printf("%s.%s", gobj_full_name(parent), name)
                            : app__str_printf("%s", name);
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
    app__control_stop(ctx);
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
void app__collect_stats(const gobj_t *gobj, json_t *out)
{
    json_t *st = gobj_stats(gobj);
    if (st && json_object_size(st) > 0)
        json_object_set_new(out, gobj_full_name(gobj), st);
    else
        json_decref(st);
    for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c))
        app__collect_stats(c, out);
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
        app__collect_stats(ctx->root, stats);
    gobj_log(GOBJ_LOG_INFO, NULL, "stats", "gobjs", json_integer((json_int_t)gobj_live_count()),
             "posted", json_integer((json_int_t)gobj_posted_count()), "fds",
             json_integer(open_fds()), "stats", stats, NULL);
}

void app__apply_log_settings(const app_ctx_t *ctx)
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

int app__run(app_ctx_t *ctx)
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

    if (app__control_start(ctx) < 0)
        goto out;

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
    app__control_stop(ctx);
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
