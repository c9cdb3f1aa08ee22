/*
 * gserve.c - the ginsfsm server: runs a tree of gobjs from a JSON config.
 *
 * Everything a user sees (options, config, signals, exit status) is
 * gapp_main()'s; this file only says which gclasses exist and which config
 * runs when no -c is given.  See doc/gserve.md.
 */
#include "ginsfsm/app.h"
#include "ginsfsm/gobj.h"
#include "ginsfsm/gobjs.h"

#include "c_chat.h"
#include "c_proxy.h"
#include "c_echo.h"
#include "c_echo_client.h"
#include "c_ticker.h"

/* The default config file (samples/echo.json) and its name, compiled in by
 * samples/local.mk so that the built-in config and the sample file are one
 * source. */
extern const char gserve_default_config[], gserve_default_config_name[];

static int register_gclasses(void *user)
{
    (void)user;
    int rc = gobj_register_builtin_gclasses();
    if (rc < 0)
        return rc;
    rc = ticker_register_gclass();
    if (rc < 0)
        return rc;
    rc = chat_register_gclasses();
    if (rc < 0)
        return rc;
    rc = proxy_register_gclasses();
    if (rc < 0)
        return rc;
    rc = echo_client_register_gclass();
    if (rc < 0)
        return rc;
    return echo_register_gclass();
}

int main(int argc, char **argv)
{
    static const gapp_t app = {
        .name = "gserve",
        .version = GINSFSM_VERSION,
        .description = "gserve - run a tree of ginsfsm gobjs described by a JSON config.",
        .default_config = gserve_default_config,
        .default_config_name = gserve_default_config_name,
        .register_gclasses = register_gclasses,
    };
    return gapp_main(argc, argv, &app);
}
