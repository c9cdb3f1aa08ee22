/*
 * ginsfsm/app.h - the application runner: command line, JSON config,
 * validation, the gobj tree, signals and the main loop.
 *
 * A program built on ginsfsm is a thin main():
 *
 *     static int register_gclasses(void *user)
 *     {
 *         (void)user;
 *         return gobj_register_builtin_gclasses();
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         static const gapp_t app = {
 *             .name = "myserver",
 *             .version = "1.0.0",
 *             .default_config = "{\"tree\": {\"gclass\": \"GTimer\", \"name\": \"t\"}}",
 *             .register_gclasses = register_gclasses,
 *         };
 *         return gapp_main(argc, argv, &app);
 *     }
 *
 * gapp_main() gives that program the whole command line of gserve (see
 * doc/gserve.md): -c FILE..., -s KEY=VALUE..., --check, --print-config,
 * --log-format, --log-level, --trace, --dot, --version, --help.
 */
#ifndef GINSFSM_APP_H
#define GINSFSM_APP_H

#include "gobj.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in the public headers is exported; the rest of the
 * library is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/* Exit statuses returned by gapp_main(). */
enum {
    GAPP_EXIT_OK = 0,      /* clean shutdown, or an inquiry (--help, --check ...) done */
    GAPP_EXIT_FAILURE = 1, /* run-time failure: the tree could not be created or started */
    /* Bad command line or configuration, also found while starting: a gobj
     * whose start fails with GOBJ_ECONFIG (a certificate that does not load). */
    GAPP_EXIT_USAGE = 2,
};

/* What a program tells the runner about itself.  Every string is borrowed
 * and must stay valid during gapp_main(). */
typedef struct gapp {
    const char *name;        /* program name for messages, --help, --version;
                                NULL = basename of argv[0] */
    const char *version;     /* the program's version; NULL = the library's */
    const char *description; /* one line for --help; may be NULL */
    /* The configuration used when no -c is given: JSON text of the shape
     * described in doc/gserve.md.  NULL means -c is mandatory. */
    const char *default_config;
    /* How error messages name default_config, e.g. "ticker.json (built in)";
     * NULL = "(built-in config)". */
    const char *default_config_name;
    /* Called once, after the command line was parsed and before anything
     * needs a gclass, to register the program's gclasses.  May be NULL when
     * the program registered them before calling gapp_main().
     * Returns: 0, or a negative code (gapp_main then returns
     * GAPP_EXIT_FAILURE). */
    int (*register_gclasses)(void *user);
    void *user; /* passed to register_gclasses */
} gapp_t;

/*
 * Run the program: parse argv, load and merge the configuration, validate it
 * against the registered gclass schemas before anything is created, then
 * (unless an inquiry option was given) create the tree, start it and run the
 * loop until SIGINT or SIGTERM, stop the tree within the config's
 * shutdown_timeout, destroy it and return.
 *
 * gapp_main() owns the process's runtime while it runs: it creates the loop
 * (or uses the one that exists), sets the global attributes and the log
 * settings, and on return has destroyed every gobj it created, freed the loop
 * it created, cleared the global attributes and emptied the gclass registry.
 * It ignores SIGPIPE for the whole process.
 *
 * A gobj may end the run itself with gapp_shutdown(status) (below).
 *
 * Errors: bad input (usage or configuration) prints one message naming the
 * problem and where it is on stderr.  A failure to create or start the tree
 * is logged as an error record with the reason.
 * Returns: GAPP_EXIT_OK, GAPP_EXIT_USAGE or GAPP_EXIT_FAILURE, or the status
 * given to gapp_shutdown(), to be returned from main().  gapp_main() may be
 * called again in the same process (one call at a time).
 */
int gapp_main(int argc, char **argv, const gapp_t *app);

/*
 * Ask the running gapp_main() for a graceful shutdown, as SIGTERM does: on a
 * later loop turn (never inside the caller's action) it logs "stopping",
 * stops the tree, lets the loop run until the tree's work is done or
 * shutdown_timeout has passed, destroys the tree, and gapp_main() returns
 * exit_status instead of GAPP_EXIT_OK.  Callable from any action, method or
 * loop callback while gapp_main() runs.  Once a shutdown has begun (by
 * gapp_shutdown or a signal), later calls change nothing; the first
 * exit_status given is kept.
 *
 * gobj_loop_stop() called inside gapp_main() means the same as
 * gapp_shutdown(GAPP_EXIT_OK): the loop returns, and gapp_main() runs the
 * graceful stop before it destroys the tree.
 *
 * Returns: 0, or GOBJ_ESTATE (logged) when no gapp_main() is running.
 */
int gapp_shutdown(int exit_status);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_APP_H */
