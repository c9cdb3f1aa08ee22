/*
 * app_check.c - the last step of validating a configuration: each node's
 * gclass checks the values it would be created with (its mt_check), so that
 * what --check accepts does not fail at create: a GSock's framing names, a
 * GServerSock's session_gclass, session_attrs and gsock_attrs.  The values
 * are those the core would use: default < "GClass.attr" global < the node's
 * attrs < "name.attr" global (-s lands in these too).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "app_internal.h"
#include "internal.h"

int app__check_nodes(app_ctx_t *ctx)
{
    json_t *global = json_object_get(ctx->cfg, "global");
    /* A check may look at another gclass's attributes (a GServerSock at its
     * sessions' and GSocks'), whose "GClass.attr" globals the core applies:
     * the core holds this config's globals while checking (they were
     * validated already; gapp_main clears them on its way out). */
    if (gobj_set_global_attrs(global ? json_deep_copy(global) : NULL) < 0)
        return -1;
    for (size_t i = 0; i < ctx->n_nodes; i++) {
        const app_node_t *nd = &ctx->nodes[i];
        int (*check)(const json_t *, char *, size_t) = gclass_def(nd->gc)->methods.mt_check;
        if (!check)
            continue;
        /* A short name that is a gclass's name is not a by-name key. */
        const char *prefixes[2] = {gclass_find(nd->full) ? NULL : nd->full,
                                   gclass_find(nd->name) ? NULL : nd->name};
        json_t *eff =
            attrs__effective(nd->gc, global, json_object_get(nd->node, "attrs"), prefixes);
        char why[1024] = "";
        int rc = eff ? check(eff, why, sizeof why) : GOBJ_ENOMEM;
        json_decref(eff);
        if (rc < 0) {
            app__error(ctx, "%s: %s (%s '%s'): %s", ctx->tree_src, nd->path, gclass_name(nd->gc),
                       nd->name, why[0] ? why : gobj_strerror(rc));
            return -1;
        }
    }
    return 0;
}
