/*
 * app_control.h - private: the runner's control socket (app_control.c) and
 * its commands (app_control_cmds.c).  Not installed.
 */
#ifndef GINSFSM_APP_CONTROL_H
#define GINSFSM_APP_CONTROL_H

#include "app_internal.h"

/* The version of the protocol (doc/control.md); "hello" reports it. */
#define APP_CONTROL_PROTOCOL 1

/* Opens the control socket when --control or "control": {"path"} gives
 * one (a tree of its own: GCtl "control" > GServerSock "server").
 * Returns: 0 (also when there is none), or -1 (logged). */
int app__control_start(app_ctx_t *ctx);
/* Closes it (the socket file is removed). */
void app__control_stop(app_ctx_t *ctx);

/* Runs one request (an object with "cmd").  On success returns 0 and sets
 * *out (new, or NULL for null); on failure returns < 0 with a one-line
 * reason in err.  ctl is the GCtl root. */
int app__control_command(app_ctx_t *ctx, gobj_t *ctl, json_t *req, json_t **out, char *err,
                         size_t errlen);

#endif /* GINSFSM_APP_CONTROL_H */
