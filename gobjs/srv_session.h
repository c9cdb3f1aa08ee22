/*
 * srv_session.h - private glue between GServerSock (c_srv_sock.c) and its
 * session hand-over (srv_session.c).
 */
#ifndef GINSFSM_SRV_SESSION_H
#define GINSFSM_SRV_SESSION_H

#include "ginsfsm/gobjs.h"

/* Check session_gclass, session_attrs and gsock_attrs as a create would
 * use them: both JSON objects; gsock_attrs as GSock attributes
 * (gclass_check_attrs); session_attrs as attributes of session_gclass when
 * that is registered (need_gclass: it must be).  Returns: 0, or GOBJ_ECONFIG
 * with the reason in why and the attribute in *attr. */
int srv_session__explain(const char *session_gclass, const json_t *session_attrs,
                         const json_t *gsock_attrs, bool need_gclass, char *why, size_t why_len,
                         const char **attr);
/* The same, logged as one error of server. */
int srv_session__check(gobj_t *server, const char *session_gclass, const json_t *session_attrs,
                       const json_t *gsock_attrs, bool need_gclass);
/* GServerSock's mt_check. */
int srv_session__mt_check(const json_t *attrs, char *why, size_t why_len);

/* Create the session "name" (a child of sub, with session_attrs) and its GSock
 * child "sock" (with gsock_attrs).  Returns: the GSock, or NULL (logged once,
 * naming the server, the gclass and the cause; the caller closes fd and counts
 * the failure). */
gobj_t *srv_session__create(gobj_t *server, gobj_t *sub, const char *name, gclass_t *session_gc,
                            const json_t *session_attrs, gclass_t *gsock_gc,
                            const json_t *gsock_attrs);

/* Log a failed session (create or start) once. */
void srv_session__fail(gobj_t *server, gclass_t *session_gc, const char *cause);

/* Send ev {session, peername, sockname, reason?} to sub if its gclass
 * declares ev as an input event. */
void srv_session__notify(gobj_t *sub, gobj_event_t ev, gobj_t *session, json_t *kw);

/* The server's actions for its sessions' GSocks (src), sub its subscriber:
 * EV_CONNECTED (after the session got it): EV_SESSION_OPENED to sub;
 * EV_DISCONNECTED (after the session handled it): EV_SESSION_CLOSED to sub,
 * then destroy the session; EV_SRVSOCK_SESSION_GONE: EV_SESSION_CLOSED. */
void srv_session__connected(gobj_t *sub, gobj_t *src, json_t *kw);
void srv_session__disconnected(gobj_t *sub, gobj_t *src, json_t *kw);
void srv_session__gone(gobj_t *sub, gobj_t *src, json_t *kw);

/* Does gc declare ev as an input event? */
bool srv_session__declares_input(const gclass_t *gc, gobj_event_t ev);

#endif /* GINSFSM_SRV_SESSION_H */
