/*
 * builtins.c - registration of the built-in gclasses (gobjs/).
 *
 * Each gclass file defines its gclass_def_t; this file is the one list of
 * them, so that a program (gserve, a test) gets every built-in gclass with
 * one call and a new gclass is added in one place.
 */
#include "ginsfsm/gobjs.h"

/* The definitions live in their gclass files. */
extern const gclass_def_t gobj__gtimer_def;
extern const gclass_def_t gobj__gsock_def;
extern const gclass_def_t gobj__gserversock_def;
extern const gclass_def_t gobj__gconnex_def;

static const gclass_def_t *const builtins[] = {
    &gobj__gtimer_def,
    &gobj__gsock_def,
    &gobj__gserversock_def,
    &gobj__gconnex_def,
};

int gobj_register_builtin_gclasses(void)
{
    /* Idempotent: a gclass already registered (by an earlier call, or after
     * gclass_unregister_all and a new call) is skipped, not refused. */
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (gclass_find(builtins[i]->name))
            continue;
        if (!gclass_register(builtins[i]))
            return GOBJ_ETABLE;
    }
    return 0;
}
