/*
 * app_control_cmds.c - the commands of the control socket (doc/control.md).
 *
 * Each takes the request object (borrowed) and answers data (new) or an
 * error naming what was wrong: the command, the gobj, the attribute, the
 * value.  Gobjs are named by their full name ("echo.server") or a unique
 * name.  Nothing here blocks, and nothing is left half done: a write that
 * fails changes nothing.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app_control.h"

typedef int (*cmd_fn)(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                      size_t errlen);

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
/* The string argument key of req: NULL (with err set) when missing. */
static const char *arg_str(json_t *req, const char *key, bool required, char *err, size_t errlen)
{
    json_t *v = json_object_get(req, key);
    if (!v && !required)
        return NULL;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "'%s' must be a string%s", key, v ? "" : " (missing)");
        return NULL;
    }
    return json_string_value(v);
}

/* The gobj named by req's "gobj" (default: the tree's root). */
static gobj_t *arg_gobj(app_ctx_t *ctx, json_t *req, bool required, char *err, size_t errlen)
{
    json_t *v = json_object_get(req, "gobj");
    if (!v && !required) {
        if (!ctx->root)
            snprintf(err, errlen, "no tree is running");
        return ctx->root;
    }
    const char *name = arg_str(req, "gobj", true, err, errlen);
    if (!name)
        return NULL;
    gobj_t *g = gobj_find_path(NULL, name);
    if (!g)
        g = gobj_find_unique(name);
    if (!g)
        snprintf(err, errlen,
                 "no gobj '%s' (give a full name such as 'echo.server', or a "
                 "unique name)",
                 name);
    return g;
}

static gclass_t *arg_gclass(json_t *req, char *err, size_t errlen)
{
    const char *name = arg_str(req, "gclass", true, err, errlen);
    if (!name)
        return NULL;
    gclass_t *gc = gclass_find(name);
    if (!gc) {
        sbuf_t b = {0};
        names_t ns = {0};
        app__gclass_names(&ns);
        app__sb_printf(&b, "no gclass '%s'", name);
        app__sb_suggest(&b, name, &ns, "registered gclasses");
        snprintf(err, errlen, "%s", app__sb_str(&b));
        app__sb_free(&b);
        app__names_free(&ns);
    }
    return gc;
}

/*--------------------------------------------------------------------------*
 *  Commands
 *--------------------------------------------------------------------------*/
static const char *const cmd_names[];

static int cmd_hello(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                     size_t errlen)
{
    (void)ctl, (void)req, (void)err, (void)errlen;
    json_t *cmds = json_array();
    for (const char *const *n = cmd_names; *n; n++)
        json_array_append_new(cmds, json_string(*n));
    json_array_append_new(cmds, json_string("watch")); /* the session's own (app_control.c) */
    const char *name = json_string_value(json_object_get(ctx->cfg, "name"));
    *out = json_pack("{s:i, s:s, s:s, s:I, s:o}", "protocol", APP_CONTROL_PROTOCOL, "name",
                     name ? name : ctx->prog, "version",
                     ctx->app->version ? ctx->app->version : gobj_version(), "pid",
                     (json_int_t)getpid(), "commands", cmds);
    return 0;
}

static json_t *node_of(const gobj_t *g)
{
    gobj_state_t st = gobj_current_state(g);
    json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "name", gobj_name(g), "full_name",
                          gobj_full_name(g), "gclass", gobj_gclass_name(g), "state",
                          st ? gobj_state_name(st) : "", "running", gobj_is_running(g), "stopping",
                          gobj_is_stopping(g));
    json_t *kids = json_array();
    for (gobj_t *c = gobj_first_child(g); c; c = gobj_next_child(c))
        json_array_append_new(kids, node_of(c));
    json_object_set_new(n, "children", kids);
    return n;
}

static int cmd_tree(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                    size_t errlen)
{
    (void)ctl;
    gobj_t *g = arg_gobj(ctx, req, false, err, errlen);
    if (!g)
        return GOBJ_ENOENT;
    *out = node_of(g);
    return 0;
}

static int cmd_attrs(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                     size_t errlen)
{
    (void)ctl;
    gobj_t *g = arg_gobj(ctx, req, true, err, errlen);
    if (!g)
        return GOBJ_ENOENT;
    *out = gobj_read_attrs(g);
    return 0;
}

/* {gobj, attr, value}: checked as the configuration is (the attribute is
 * configurable and writable, the value of its type, the gclass's mt_check
 * on the values the gobj would then have), then written (mt_writing). */
static int cmd_set(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err, size_t errlen)
{
    (void)ctl, (void)out;
    gobj_t *g = arg_gobj(ctx, req, true, err, errlen);
    if (!g)
        return GOBJ_ENOENT;
    const char *attr = arg_str(req, "attr", true, err, errlen);
    if (!attr)
        return GOBJ_EINVAL;
    json_t *value = json_object_get(req, "value");
    if (!value) {
        snprintf(err, errlen, "'value' is missing");
        return GOBJ_EINVAL;
    }
    gclass_t *gc = gobj_gclass(g);
    sbuf_t why = {0};
    const gobj_attr_t *a = app__check_attr(gc, attr, value, &why);
    if (a && !(a->flags & GOBJ_WR)) {
        app__sb_printf(&why, "attribute '%s' of %s is read-only at run time (flags RD)", attr,
                       gclass_name(gc));
        a = NULL;
    }
    if (!a) {
        snprintf(err, errlen, "%s: %s", gobj_full_name(g), app__sb_str(&why));
        app__sb_free(&why);
        return GOBJ_EINVAL;
    }
    app__sb_free(&why);
    /* The values the gobj would have, as its gclass checks a config. */
    json_t *now = json_object();
    for (const gobj_attr_t *x = gclass_attrs(gc); x && x->name; x++) {
        if (x->flags & (GOBJ_STATS | GOBJ_VOLATILE))
            continue;
        json_t *v = gobj_read_attr(g, x->name);
        if (v)
            json_object_set_new(now, x->name, v);
    }
    json_object_set(now, attr, value);
    char why2[400] = "";
    int rc = gclass_check_attrs(gc, now, why2, sizeof why2);
    json_decref(now);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", gobj_full_name(g), why2);
        return rc;
    }
    rc = gobj_write_attr(g, attr, json_incref(value));
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot write '%s': %s", gobj_full_name(g), attr,
                 gobj_strerror(rc));
        return rc;
    }
    gobj_log(GOBJ_LOG_INFO, g, "attribute written by the control socket", "attr", json_string(attr),
             "value", json_incref(value), NULL);
    *out = gobj_read_attr(g, attr);
    return 0;
}

static int cmd_stats(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                     size_t errlen)
{
    (void)ctl;
    gobj_t *g = arg_gobj(ctx, req, false, err, errlen);
    if (!g)
        return GOBJ_ENOENT;
    *out = json_object();
    app__collect_stats(g, *out);
    return 0;
}

static const char *attr_flags_text(unsigned f, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s", f & GOBJ_RD ? "RD " : "", f & GOBJ_WR ? "WR " : "",
             f & GOBJ_REQUIRED ? "REQUIRED " : "", f & GOBJ_STATS ? "STATS " : "",
             f & GOBJ_VOLATILE ? "VOLATILE " : "");
    size_t len = strlen(buf);
    if (len)
        buf[len - 1] = '\0';
    return buf;
}

static int cmd_gclass(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                      size_t errlen)
{
    (void)ctx, (void)ctl;
    gclass_t *gc = arg_gclass(req, err, errlen);
    if (!gc)
        return GOBJ_ENOENT;
    const gclass_def_t *d = gclass_def(gc);
    json_t *states = json_array();
    for (const gobj_state_def_t *s = d->states; s && s->state; s++) {
        json_t *rows = json_array();
        for (const gobj_row_t *r = s->rows; r && r->event; r++)
            json_array_append_new(rows,
                                  json_pack("{s:s, s:s?, s:s?}", "event", gobj_event_name(r->event),
                                            "action", r->action ? r->action_name : NULL, "next",
                                            r->next_state ? gobj_state_name(r->next_state) : NULL));
        json_array_append_new(
            states, json_pack("{s:s, s:s?, s:o}", "state", gobj_state_name(s->state), "parent",
                              s->parent ? gobj_state_name(s->parent) : NULL, "rows", rows));
    }
    json_t *events = json_array();
    for (const gobj_event_def_t *e = d->events; e && e->event; e++)
        json_array_append_new(
            events, json_pack("{s:s, s:s, s:s?}", "event", gobj_event_name(e->event), "direction",
                              (e->flags & GOBJ_EV_IN) && (e->flags & GOBJ_EV_OUT) ? "in, out"
                              : (e->flags & GOBJ_EV_OUT)                          ? "out"
                                                                                  : "in",
                              "kw", e->kw_doc));
    json_t *attrs = json_array();
    char fl[64];
    for (const gobj_attr_t *a = gclass_attrs(gc); a && a->name; a++)
        json_array_append_new(attrs,
                              json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "name", a->name, "type",
                                        app__attr_type_text(a->type), "default", a->default_json,
                                        "flags", attr_flags_text(a->flags, fl, sizeof fl),
                                        "description", a->description));
    *out = json_pack("{s:s, s:s?, s:b, s:o, s:o, s:o}", "gclass", gclass_name(gc), "description",
                     d->description, "hierarchical", gclass_is_hierarchical(gc), "states", states,
                     "events", events, "attrs", attrs);
    return 0;
}

static int cmd_dot(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err, size_t errlen)
{
    (void)ctx, (void)ctl;
    gclass_t *gc = arg_gclass(req, err, errlen);
    if (!gc)
        return GOBJ_ENOENT;
    char *dot = gclass_to_dot(gc);
    if (!dot)
        return GOBJ_ENOMEM;
    *out = json_pack("{s:s}", "dot", dot);
    free(dot);
    return 0;
}

static int cmd_log_level(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                         size_t errlen)
{
    (void)ctx, (void)ctl;
    const char *name = arg_str(req, "level", true, err, errlen);
    gobj_log_level_t lv;
    if (!name)
        return GOBJ_EINVAL;
    if (gobj_log_level_from_name(name, &lv) < 0) {
        snprintf(err, errlen, "unknown log level '%s' (expected error, warn, info, debug or trace)",
                 name);
        return GOBJ_EINVAL;
    }
    gobj_log_set_level(lv);
    gobj_log(GOBJ_LOG_INFO, NULL, "log level set by the control socket", "to", json_string(name),
             NULL);
    *out = json_pack("{s:s}", "level", name);
    return 0;
}

/* A trace spec, checked here so that the answer says what is wrong:
 * "LEVEL[,LEVEL]", "GClass:LEVEL[,LEVEL]" or "name:LEVEL[,LEVEL]". */
int app__control_check_spec(const char *spec, char *err, size_t errlen, const char **target)
{
    const char *colon = strrchr(spec, ':');
    const char *levels = colon ? colon + 1 : spec;
    *target = NULL;
    char buf[256];
    size_t n = strlen(levels);
    if (n == 0 || n >= sizeof buf) {
        snprintf(err, errlen, "trace spec '%s': no trace level given", spec);
        return GOBJ_EINVAL;
    }
    memcpy(buf, levels, n + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (!gobj_trace_level_from_name(tok)) {
            snprintf(err, errlen,
                     "trace spec '%s': unknown trace level '%s' (known: machine, traffic, "
                     "subscriptions, lifecycle, all)",
                     spec, tok);
            return GOBJ_EINVAL;
        }
    }
    if (colon && colon == spec) {
        snprintf(err, errlen, "trace spec '%s': nothing before the ':'", spec);
        return GOBJ_EINVAL;
    }
    if (!colon)
        *target = "global";
    return 0;
}

/* What a spec's target is now: "global", "gclass", "gobj", or "later" (a
 * name that no gobj has yet: it applies when one is created). */
static const char *spec_target(const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return "global";
    char who[256];
    snprintf(who, sizeof who, "%.*s", (int)(colon - spec), spec);
    if (gclass_find(who))
        return "gclass";
    return gobj_find_path(NULL, who) || gobj_find_unique(who) ? "gobj" : "later";
}

static int cmd_trace_common(json_t *req, json_t **out, char *err, size_t errlen, bool add)
{
    const char *spec = arg_str(req, "spec", true, err, errlen);
    const char *t;
    if (!spec)
        return GOBJ_EINVAL;
    int rc = app__control_check_spec(spec, err, errlen, &t);
    if (rc < 0)
        return rc;
    rc = add ? gobj_trace_apply_spec(spec) : gobj_trace_remove_spec(spec);
    if (rc < 0) {
        snprintf(err, errlen, "trace spec '%s': %s", spec, gobj_strerror(rc));
        return rc;
    }
    gobj_log(GOBJ_LOG_INFO, NULL,
             add ? "trace set by the control socket" : "trace cleared by the control socket",
             "spec", json_string(spec), NULL);
    *out = json_pack("{s:s, s:s}", "spec", spec, "target", spec_target(spec));
    return 0;
}

static int cmd_trace(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                     size_t errlen)
{
    (void)ctx, (void)ctl;
    return cmd_trace_common(req, out, err, errlen, true);
}

static int cmd_untrace(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                       size_t errlen)
{
    (void)ctx, (void)ctl;
    return cmd_trace_common(req, out, err, errlen, false);
}

/* {gobj, event, kw?}: only with "control": {"allow_send": true}.  The
 * event must be one the gobj's gclass declares as input; the action's
 * return value is answered. */
static int cmd_send(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                    size_t errlen)
{
    if (!json_is_true(json_object_get(json_object_get(ctx->cfg, "control"), "allow_send"))) {
        snprintf(err, errlen,
                 "send is off: give the server \"control\": {\"allow_send\": true} to allow it");
        return GOBJ_EACCES;
    }
    (void)ctl;
    gobj_t *g = arg_gobj(ctx, req, true, err, errlen);
    if (!g)
        return GOBJ_ENOENT;
    const char *evname = arg_str(req, "event", true, err, errlen);
    if (!evname)
        return GOBJ_EINVAL;
    json_t *kw = json_object_get(req, "kw");
    if (kw && !json_is_object(kw)) {
        snprintf(err, errlen, "'kw' must be a JSON object");
        return GOBJ_EINVAL;
    }
    gobj_event_t ev = gobj_event_find(evname);
    bool declared = false;
    const gclass_def_t *d = gclass_def(gobj_gclass(g));
    for (const gobj_event_def_t *e = d->events; ev && e && e->event; e++)
        if (e->event == ev && (e->flags & GOBJ_EV_IN))
            declared = true;
    if (!declared) {
        sbuf_t b = {0};
        names_t ns = {0};
        for (const gobj_event_def_t *e = d->events; e && e->event; e++)
            if (e->flags & GOBJ_EV_IN)
                app__names_add(&ns, gobj_event_name(e->event));
        app__sb_printf(&b, "%s: %s is not an input event of %s", gobj_full_name(g), evname,
                       gobj_gclass_name(g));
        app__sb_suggest(&b, evname, &ns, "its input events");
        snprintf(err, errlen, "%s", app__sb_str(&b));
        app__sb_free(&b);
        app__names_free(&ns);
        return GOBJ_EINVAL;
    }
    gobj_log(GOBJ_LOG_INFO, g, "event sent by the control socket", "event", json_string(evname),
             NULL);
    int rc = gobj_send_event(g, ev, kw ? json_deep_copy(kw) : json_object(), NULL);
    *out = json_pack("{s:i, s:s?}", "result", rc, "error", rc < 0 ? gobj_err_name(rc) : NULL);
    return 0;
}

/* The answer is written first; the stop begins on a later turn. */
static int cmd_shutdown(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                        size_t errlen)
{
    (void)ctx, (void)ctl, (void)req;
    gobj_log(GOBJ_LOG_INFO, NULL, "shutdown asked by the control socket", NULL);
    int rc = gapp_shutdown(GAPP_EXIT_OK);
    if (rc < 0) {
        snprintf(err, errlen, "cannot shut down: %s", gobj_strerror(rc));
        return rc;
    }
    *out = json_pack("{s:b}", "stopping", 1);
    return 0;
}

/*--------------------------------------------------------------------------*
 *  Dispatch
 *--------------------------------------------------------------------------*/
static const char *const cmd_names[] = {
    "hello", "tree",    "attrs", "set",       "stats",    "gclass", "dot",
    "trace", "untrace", "send",  "log-level", "shutdown", NULL,
};
static const cmd_fn cmd_fns[] = {
    cmd_hello, cmd_tree,  cmd_attrs,   cmd_set,  cmd_stats,     cmd_gclass,
    cmd_dot,   cmd_trace, cmd_untrace, cmd_send, cmd_log_level, cmd_shutdown,
};

int app__control_command(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd) {
        snprintf(err, errlen, "'cmd' must be a string (the command's name)");
        return GOBJ_EINVAL;
    }
    for (size_t i = 0; cmd_names[i]; i++)
        if (strcmp(cmd, cmd_names[i]) == 0)
            return cmd_fns[i](ctx, ctl, req, out, err, errlen);
    sbuf_t b = {0};
    names_t ns = {0};
    for (size_t i = 0; cmd_names[i]; i++)
        app__names_add(&ns, cmd_names[i]);
    app__sb_printf(&b, "unknown command '%s'", cmd);
    app__sb_suggest(&b, cmd, &ns, "commands");
    snprintf(err, errlen, "%s", app__sb_str(&b));
    app__sb_free(&b);
    app__names_free(&ns);
    return GOBJ_EINVAL;
}
