/*
 * srv_session.c - GServerSock's sessions: one gobj of session_gclass per
 * accepted connection, owning that connection's GSock (named "sock").
 *
 * The hand-over (c_srv_sock.c) creates the session as a child of the
 * subscriber with session_attrs, then its GSock child "sock" with gsock_attrs
 * (the session is its subscriber, subscribed at create).  The server then
 * subscribes itself to the GSock's EV_CONNECTED and EV_DISCONNECTED: being
 * subscribed after the session, it gets each of them after the session has
 * handled it, and then tells the subscriber (EV_SESSION_OPENED /
 * EV_SESSION_CLOSED) and, after EV_DISCONNECTED, destroys the session
 * (gobj_destroy is deferred to the end of the outermost dispatch).  A session
 * destroyed earlier (by itself, by the subscriber, with the subscriber) has
 * left every subscription at once, so the server hears nothing more of it and
 * sends no EV_SESSION_CLOSED for it.  A GSock destroyed without its
 * EV_DISCONNECTED reaching the session (a failed TLS handshake, the session
 * destroying its GSock) destroys its session too (gsock__session_end), and
 * asks the server to send EV_SESSION_CLOSED if EV_SESSION_OPENED was sent.
 */
#include <stdio.h>
#include <string.h>

#include "ginsfsm/log.h"
#include "sock_internal.h"
#include "srv_session.h"

GOBJ_DEFINE_EVENT(EV_SESSION_OPENED);
GOBJ_DEFINE_EVENT(EV_SESSION_CLOSED);

int srv_session__explain(const char *session_gclass, const json_t *session_attrs,
                         const json_t *gsock_attrs, bool need_gclass, char *why, size_t why_len,
                         const char **attr)
{
    char inner[400];
    const char *bad = !json_is_object(session_attrs) ? "session_attrs"
                      : !json_is_object(gsock_attrs) ? "gsock_attrs"
                                                     : NULL;
    if (bad) {
        *attr = bad;
        snprintf(why, why_len, "%s must be a JSON object", bad);
        return GOBJ_ECONFIG;
    }
    int rc = gclass_check_attrs(gclass_find(GCLASS_GSOCK_NAME), gsock_attrs, inner, sizeof inner);
    if (rc < 0) {
        *attr = "gsock_attrs";
        snprintf(why, why_len, "gsock_attrs: %s", inner);
        return GOBJ_ECONFIG;
    }
    if (!session_gclass || !*session_gclass)
        return 0;
    gclass_t *gc = gclass_find(session_gclass);
    if (!gc) {
        if (!need_gclass)
            return 0;
        *attr = "session_gclass";
        snprintf(why, why_len, "session_gclass '%s' is not a registered gclass", session_gclass);
        return GOBJ_ECONFIG;
    }
    rc = gclass_check_attrs(gc, session_attrs, inner, sizeof inner);
    if (rc < 0) {
        *attr = "session_attrs";
        snprintf(why, why_len, "session_attrs: %s", inner);
        return GOBJ_ECONFIG;
    }
    return 0;
}

int srv_session__check(gobj_t *server, const char *session_gclass, const json_t *session_attrs,
                       const json_t *gsock_attrs, bool need_gclass)
{
    char why[600], msg[640];
    const char *attr = NULL;
    int rc = srv_session__explain(session_gclass, session_attrs, gsock_attrs, need_gclass, why,
                                  sizeof why, &attr);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "GServerSock: %s", why);
        gobj_log(GOBJ_LOG_ERROR, server, msg, "attr", json_string(attr), NULL);
    }
    return rc;
}

int srv_session__mt_check(const json_t *attrs, char *why, size_t why_len)
{
    const char *attr = NULL;
    return srv_session__explain(json_string_value(json_object_get(attrs, "session_gclass")),
                                json_object_get(attrs, "session_attrs"),
                                json_object_get(attrs, "gsock_attrs"), true, why, why_len, &attr);
}

void srv_session__fail(gobj_t *server, gclass_t *session_gc, const char *cause)
{
    char msg[400];
    snprintf(msg, sizeof msg, "GServerSock %s: session of %s failed: %s", gobj_full_name(server),
             gclass_name(session_gc), cause);
    gobj_log(GOBJ_LOG_ERROR, server, msg, "session_gclass", json_string(gclass_name(session_gc)),
             "cause", json_string(cause), NULL);
}

gobj_t *srv_session__create(gobj_t *server, gobj_t *sub, const char *name, gclass_t *session_gc,
                            const json_t *session_attrs, gclass_t *gsock_gc,
                            const json_t *gsock_attrs)
{
    gobj_t *session = gobj_create(name, session_gc, json_deep_copy(session_attrs), sub);
    if (!session) {
        srv_session__fail(server, session_gc, "create failed (bad session_attrs or mt_create)");
        return NULL;
    }
    if (gobj_is_destroying(session))
        return NULL; /* it destroyed itself in mt_create: not a failure */
    gobj_t *sock = gobj_create("sock", gsock_gc, json_deep_copy(gsock_attrs), session);
    if (!sock) {
        srv_session__fail(server, session_gc, "cannot create its GSock (bad gsock_attrs?)");
        gobj_destroy(session);
        return NULL;
    }
    return sock;
}

bool srv_session__declares_input(const gclass_t *gc, gobj_event_t ev)
{
    const gclass_def_t *def = gc ? gclass_def(gc) : NULL;
    if (!def || !def->events)
        return false;
    for (const gobj_event_def_t *e = def->events; e->event; e++)
        if (e->event == ev && (e->flags & GOBJ_EV_IN))
            return true;
    return false;
}

void srv_session__notify(gobj_t *sub, gobj_event_t ev, gobj_t *session, json_t *kw)
{
    if (!sub || gobj_is_destroying(sub) || !srv_session__declares_input(gobj_gclass(sub), ev))
        return;
    json_t *out = json_object();
    json_object_set_new(out, "session", json_string(gobj_full_name(session)));
    const char *keys[] = {"peername", "sockname", "reason"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(kw, keys[i]);
        if (v)
            json_object_set(out, keys[i], v);
    }
    gobj_send_event(sub, ev, out, session);
}

void srv_session__connected(gobj_t *sub, gobj_t *src, json_t *kw)
{
    gobj_t *session = gobj_parent(src);
    if (!session || gobj_is_destroying(session) || gobj_is_destroying(src))
        return;
    gsock__session_opened(src);
    srv_session__notify(sub, EV_SESSION_OPENED, session, kw);
}

void srv_session__disconnected(gobj_t *sub, gobj_t *src, json_t *kw)
{
    gobj_t *session = gobj_parent(src);
    if (!session || gobj_is_destroying(session))
        return;
    srv_session__notify(sub, EV_SESSION_CLOSED, session, kw);
    gobj_destroy(session);
}

void srv_session__gone(gobj_t *sub, gobj_t *src, json_t *kw)
{
    gobj_t *session = gsock__session_of(src);
    if (session && !gobj_is_destroying(session))
        srv_session__notify(sub, EV_SESSION_CLOSED, session, kw);
}
