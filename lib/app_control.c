/*
 * app_control.c - the runner's control socket: a unix socket on which gctl
 * (or any program) asks a running gserve about its tree and acts on it.
 *
 * It is made of the library's own parts: a tree of its own, apart from the
 * application's, whose root is a GCtl; its child "server" is a GServerSock
 * on the unix path with session_gclass GCtlSession and line framing, so each
 * control client is one GCtlSession owning its GSock.  The socket is created
 * mode 0600 (umask 0177 around the bind), refuses peers of another uid
 * (SO_PEERCRED, through the GSock's peer_uid; root is allowed), and is
 * removed with the server; a stale file from a crashed run is replaced and a
 * live one refused, as any GServerSock on a path does.
 *
 * Protocol (doc/control.md, version 1): one JSON object per line each way.
 * A request {"id": any, "cmd": "name", ...arguments}; an answer
 * {"id": the same, "ok": true, "data": ...} or {"id", "ok": false,
 * "error": "what was wrong"}.  The commands are app_control_cmds.c.
 * Bounds: a request line is at most 64 KiB (a longer one closes the
 * connection: "frame too large"), at most 16 clients at once, and a client
 * whose unread answers pass 4 MiB is disconnected.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_control.h"
#include "ginsfsm/gobjs.h"

#define CTL_MAX_LINE    65536
#define CTL_MAX_CLIENTS 16
#define CTL_MAX_QUEUED  (4 * 1024 * 1024)
/* A watcher whose unread records pass this is sent no more until it reads
 * (the records in between are counted and reported). */
#define CTL_WATCH_MAX_QUEUED (1024 * 1024)

GOBJ_DEFINE_STATE(ST_CTL);
GOBJ_DEFINE_STATE(ST_CTL_SESSION);
GOBJ_DEFINE_STATE(ST_CTL_CLOSING);

static app_ctx_t *ctl_app;                 /* the run this control socket belongs to */
static char ctl_root_name[32] = "control"; /* the control tree's root */

/* The sessions watching the log (watch), and the capture hook's guard. */
static gobj_t *watchers[CTL_MAX_CLIENTS];
static size_t n_watchers;
static bool in_capture;

/*--------------------------------------------------------------------------*
 *  GCtl: the root of the control tree
 *--------------------------------------------------------------------------*/
typedef struct {
    char *path;
    int64_t clients;  /* open now */
    int64_t requests; /* answered */
    int64_t refused;  /* clients of another uid */
} ctl_priv_t;

static const gobj_attr_t ctl_attrs[] = {
    GOBJ_ATTR("path", GOBJ_ATTR_STRING, ctl_priv_t, path, "\"\"", GOBJ_RD,
              "The control socket's path"),
    GOBJ_ATTR("clients", GOBJ_ATTR_INT, ctl_priv_t, clients, "0", GOBJ_STATS,
              "Control clients connected now"),
    GOBJ_ATTR("requests", GOBJ_ATTR_INT, ctl_priv_t, requests, "0", GOBJ_STATS,
              "Requests answered"),
    GOBJ_ATTR("refused", GOBJ_ATTR_INT, ctl_priv_t, refused, "0", GOBJ_STATS,
              "Clients refused: another uid"),
    GOBJ_ATTR_END,
};

static int ac_ctl_opened(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw, (void)src;
    ((ctl_priv_t *)gobj_priv(gobj))->clients++;
    return 0;
}

static int ac_ctl_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw, (void)src;
    ((ctl_priv_t *)gobj_priv(gobj))->clients--;
    return 0;
}

/* clang-format off */
static const gobj_row_t st_ctl[] = {
    GOBJ_ROW(EV_SESSION_OPENED, ac_ctl_opened, NULL),
    GOBJ_ROW(EV_SESSION_CLOSED, ac_ctl_closed, NULL),
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */
static const gobj_state_def_t ctl_states[] = {
    GOBJ_STATE(ST_CTL, st_ctl),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t ctl_events[] = {
    {EV_SESSION_OPENED, GOBJ_EV_IN, "{session, peername, sockname} from the server"},
    {EV_SESSION_CLOSED, GOBJ_EV_IN, "{session, peername, sockname, reason} from the server"},
    {NULL, 0, NULL},
};
static const gclass_def_t ctl_def = {
    .name = "GCtl",
    .description = "the control socket's root: one GCtlSession per control client",
    .states = ctl_states,
    .events = ctl_events,
    .attrs = ctl_attrs,
    .priv_size = sizeof(ctl_priv_t),
};

/*--------------------------------------------------------------------------*
 *  GCtlSession: one control client
 *--------------------------------------------------------------------------*/
typedef struct {
    gobj_t *sock;
    int64_t requests;
    bool watching;
    char *watch_spec;      /* the trace spec the watch applied (cleared at its end) */
    int64_t dropped;       /* records not sent since the last one sent */
    int64_t watch_dropped; /* in all */
} csess_priv_t;

static const gobj_attr_t csess_attrs[] = {
    GOBJ_ATTR("requests", GOBJ_ATTR_INT, csess_priv_t, requests, "0", GOBJ_STATS,
              "Requests answered on this connection"),
    GOBJ_ATTR("watch_dropped", GOBJ_ATTR_INT, csess_priv_t, watch_dropped, "0", GOBJ_STATS,
              "Log records not sent to this watcher: it was not reading"),
    GOBJ_ATTR_END,
};

/* One line to a client: obj (stolen) as compact JSON.  Returns what
 * EV_SEND_DATA returns (the bytes queued). */
static int send_line(gobj_t *session, gobj_t *sock, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        return 0;
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_string_nocheck(text));
    free(text);
    return gobj_send_event(sock, EV_SEND_DATA, kw, session);
}

/* Send one answer line; a client that lets its answers pile up is cut. */
static void answer(gobj_t *gobj, json_t *reply)
{
    csess_priv_t *priv = gobj_priv(gobj);
    int queued = send_line(gobj, priv->sock, reply);
    if (queued > CTL_MAX_QUEUED) {
        gobj_log(GOBJ_LOG_WARN, gobj, "control: a client does not read its answers: disconnected",
                 "queued", json_integer(queued), NULL);
        gobj_change_state(gobj, ST_CTL_CLOSING);
        gobj_send_event(priv->sock, EV_DROP, NULL, gobj);
    }
}

static json_t *error_reply(json_t *id, const char *msg)
{
    return json_pack("{s:O, s:b, s:s}", "id", id ? id : json_null(), "ok", 0, "error", msg);
}

static int ac_cs_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    csess_priv_t *priv = gobj_priv(gobj);
    priv->sock = src;
    int64_t uid = gobj_read_int(src, "peer_uid");
    if (uid != (int64_t)getuid() && uid != 0) {
        gobj_t *root = gobj_parent(gobj);
        if (root)
            ((ctl_priv_t *)gobj_priv(root))->refused++;
        gobj_log(GOBJ_LOG_WARN, gobj, "control: refused a client of another user", "uid",
                 json_integer((json_int_t)uid), "pid", json_integer(gobj_read_int(src, "peer_pid")),
                 NULL);
        char msg[120];
        snprintf(msg, sizeof msg, "permission denied: uid %lld is not the server's (%lld)",
                 (long long)uid, (long long)getuid());
        answer(gobj, error_reply(NULL, msg));
        gobj_change_state(gobj, ST_CTL_CLOSING);
        gobj_send_event(src, EV_DROP, NULL, gobj);
    }
    return 0;
}

/*--------------------------------------------------------------------------*
 *  watch: the log records, streamed to the watching clients
 *--------------------------------------------------------------------------*/
static bool is_control_gobj(const char *name)
{
    size_t n = strlen(ctl_root_name);
    return name && strncmp(name, ctl_root_name, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* The capture hook: every record the log writes goes to each watcher,
 * except the control socket's own (a trace of its own sends would feed
 * itself) and records logged while one is being sent. */
static void on_record(const json_t *record, void *user)
{
    (void)user;
    if (in_capture || is_control_gobj(json_string_value(json_object_get(record, "gobj"))))
        return;
    in_capture = true;
    for (size_t i = 0; i < n_watchers; i++) {
        gobj_t *w = watchers[i];
        csess_priv_t *p = gobj_priv(w);
        if (!p->sock || gobj_is_destroying(w) || !gobj_in_this_state(p->sock, ST_CONNECTED))
            continue;
        if (gobj_read_int(p->sock, "tx_queued") > CTL_WATCH_MAX_QUEUED) {
            p->dropped++;
            p->watch_dropped++;
            continue;
        }
        if (p->dropped) {
            send_line(w, p->sock, json_pack("{s:I}", "dropped", (json_int_t)p->dropped));
            p->dropped = 0;
        }
        send_line(w, p->sock, json_pack("{s:O}", "record", (json_t *)record));
    }
    in_capture = false;
}

static void watch_end(gobj_t *gobj)
{
    csess_priv_t *priv = gobj_priv(gobj);
    if (!priv->watching)
        return;
    priv->watching = false;
    for (size_t i = 0; i < n_watchers; i++) {
        if (watchers[i] == gobj) {
            watchers[i] = watchers[--n_watchers];
            break;
        }
    }
    if (n_watchers == 0)
        gobj_log_set_capture(NULL, NULL);
    if (priv->watch_spec) {
        gobj_trace_remove_spec(priv->watch_spec);
        free(priv->watch_spec);
        priv->watch_spec = NULL;
    }
}

/* {"cmd": "watch", "spec"?}: the answer, then every log record as
 * {"record": {...}} lines (and {"dropped": N} before a record when some
 * could not be sent), until the connection ends. */
static json_t *watch_begin(gobj_t *gobj, json_t *req, json_t *id)
{
    csess_priv_t *priv = gobj_priv(gobj);
    json_t *jspec = json_object_get(req, "spec");
    const char *spec = json_string_value(jspec);
    char err[400];
    const char *target;
    if (jspec && !spec)
        return error_reply(id, "'spec' must be a string (a trace spec)");
    if (priv->watching)
        return error_reply(id, "this connection is watching already");
    if (spec && app__control_check_spec(spec, err, sizeof err, &target) < 0)
        return error_reply(id, err);
    if (spec && gobj_trace_apply_spec(spec) < 0)
        return error_reply(id, "the trace spec could not be applied (see the server's log)");
    if (spec)
        priv->watch_spec = strdup(spec);
    priv->watching = true;
    watchers[n_watchers++] = gobj;
    gobj_log_set_capture(on_record, NULL);
    return json_pack("{s:O, s:b, s:{s:b, s:s?}}", "id", id ? id : json_null(), "ok", 1, "data",
                     "watching", 1, "spec", spec);
}

static void csess_destroy(gobj_t *gobj)
{
    watch_end(gobj);
}

static int ac_cs_request(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)src;
    csess_priv_t *priv = gobj_priv(gobj);
    json_t *data = json_object_get(kw, "data");
    json_error_t jerr;
    json_t *req = json_loadb(json_string_value(data), json_string_length(data), 0, &jerr);
    if (!req) {
        char msg[300];
        snprintf(msg, sizeof msg, "not JSON: %s (column %d)", jerr.text, jerr.column);
        answer(gobj, error_reply(NULL, msg));
        return 0;
    }
    json_t *id = json_object_get(req, "id");
    json_t *reply;
    if (!json_is_object(req)) {
        reply = error_reply(NULL, "a request must be a JSON object {\"id\", \"cmd\", ...}");
    } else if (json_is_string(json_object_get(req, "cmd")) &&
               strcmp(json_string_value(json_object_get(req, "cmd")), "watch") == 0) {
        reply = watch_begin(gobj, req, id);
    } else {
        char err[512] = "";
        json_t *out = NULL;
        int rc = app__control_command(ctl_app, gobj_parent(gobj), req, &out, err, sizeof err);
        if (rc < 0) {
            reply = error_reply(id, err[0] ? err : gobj_strerror(rc));
            json_decref(out);
        } else {
            reply = json_pack("{s:O, s:b, s:o}", "id", id ? id : json_null(), "ok", 1, "data",
                              out ? out : json_null());
        }
    }
    json_decref(req);
    priv->requests++;
    gobj_t *root = gobj_parent(gobj);
    if (root)
        ((ctl_priv_t *)gobj_priv(root))->requests++;
    answer(gobj, reply);
    return 0;
}

/* clang-format off */
static const gobj_row_t st_cs[] = {
    GOBJ_ROW(EV_CONNECTED,      ac_cs_connected, NULL),
    GOBJ_ROW(EV_RX_DATA,        ac_cs_request,   NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, NULL,            NULL),
    GOBJ_ROW(EV_DISCONNECTED,   NULL,            NULL),  /* the runtime destroys the session */
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_cs_closing[] = {
    GOBJ_ROW(EV_RX_DATA,        NULL,            NULL),  /* refused or cut: not read */
    GOBJ_ROW(EV_TRANSMIT_READY, NULL,            NULL),
    GOBJ_ROW(EV_DISCONNECTED,   NULL,            NULL),
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */
static const gobj_state_def_t csess_states[] = {
    GOBJ_STATE(ST_CTL_SESSION, st_cs),
    GOBJ_STATE(ST_CTL_CLOSING, st_cs_closing),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t csess_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname} from its GSock"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data} one request line"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t csess_def = {
    .name = "GCtlSession",
    .description = "one control client: JSON requests in, JSON answers out, a line each",
    .states = csess_states,
    .events = csess_events,
    .attrs = csess_attrs,
    .methods = {.mt_destroy = csess_destroy},
    .priv_size = sizeof(csess_priv_t),
};

/*--------------------------------------------------------------------------*
 *  Start and stop
 *--------------------------------------------------------------------------*/
int app__control_start(app_ctx_t *ctx)
{
    json_t *ctl = json_object_get(ctx->cfg, "control");
    const char *path =
        ctx->opts.control ? ctx->opts.control : json_string_value(json_object_get(ctl, "path"));
    if (!path || !*path)
        return 0;
    if ((!gclass_find(ctl_def.name) && !gclass_register(&ctl_def)) ||
        (!gclass_find(csess_def.name) && !gclass_register(&csess_def))) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "control: cannot register its gclasses", NULL);
        return -1;
    }
    ctl_app = ctx;
    /* The root's name keeps the control tree's records apart from the
     * application's (watch): "control", unless the application took it. */
    snprintf(ctl_root_name, sizeof ctl_root_name, "%s",
             ctx->root && strcmp(gobj_name(ctx->root), "control") == 0 ? "control-socket"
                                                                       : "control");
    json_t *kw = json_pack("{s:s}", "path", path);
    gobj_t *root = gobj_create(ctl_root_name, gclass_find(ctl_def.name), kw, NULL);
    gobj_t *srv =
        root ? gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME),
                           json_pack("{s:s, s:i, s:s, s:{s:s, s:i, s:i, s:i}}", "path", path,
                                     "max_connections", CTL_MAX_CLIENTS, "session_gclass",
                                     csess_def.name, "gsock_attrs", "framing", "line", "max_frame",
                                     CTL_MAX_LINE, "tx_high_water", 0, "drop_timeout", 2000),
                           root)
             : NULL;
    if (!srv) {
        gobj_destroy(root);
        gobj_log(GOBJ_LOG_ERROR, NULL, "control: cannot create the control socket's server", "path",
                 json_string(path), NULL);
        return -1;
    }
    /* Mode 0600: the file is made by the bind, under this umask. */
    mode_t old = umask(0177);
    int rc = gobj_start_tree(root);
    umask(old);
    if (rc < 0) {
        gobj_destroy(root);
        gobj_log(GOBJ_LOG_ERROR, NULL, "control: cannot listen on the control socket", "path",
                 json_string(path), "error", json_string(gobj_strerror(rc)), NULL);
        return -1;
    }
    ctx->control = root;
    gobj_log(GOBJ_LOG_INFO, root, "control socket ready", "path", json_string(path), NULL);
    return 0;
}

void app__control_stop(app_ctx_t *ctx)
{
    if (ctx->control) {
        gobj_destroy(ctx->control); /* the server removes the socket file */
        ctx->control = NULL;
    }
    ctl_app = NULL;
}
