/*
 * connex.h - what GConnex's files share (gobjs/c_connex.c, the machine;
 * gobjs/connex_conf.c, the checks of its configuration and the names of its
 * destinations).  Internal to the library.
 */
#ifndef GINSFSM_CONNEX_H
#define GINSFSM_CONNEX_H

#include <stddef.h>

#include "ginsfsm/gobjs.h"

/* Check the values a GConnex would be created with (attrs: every
 * configurable attribute, borrowed; values may have the wrong type).
 * Returns: 0, or GOBJ_ECONFIG with a one-line reason in why naming the
 * attribute (and *attr set to it, when attr is not NULL). */
int connex__explain(const json_t *attrs, char *why, size_t why_len, const char **attr);
/* mt_check of GConnex. */
int connex__mt_check(const json_t *attrs, char *why, size_t why_len);
/* Print a destination ({host, port} or {path}) as "127.0.0.1:7000",
 * "[::1]:7000" or the path, into buf. */
void connex__dest_name(const json_t *dest, char *buf, size_t n);

#endif /* GINSFSM_CONNEX_H */
