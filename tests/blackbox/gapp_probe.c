/*
 * gapp_probe.c - a program built on gapp_main() for the black-box tests.
 *
 * It knows gserve's gclasses plus Probe, a gclass whose failures are
 * switches, and after gapp_main() returns it checks what a user cannot see
 * from the outside: that no gobj and no json_t is left alive, on every path
 * (clean shutdown, bad config, failed create or start).
 *
 * Probe attributes:
 *   id (int, REQUIRED)     any number; makes "missing required attribute"
 *                          testable.
 *   fail (string)          "create": mt_create fails; "start": mt_start fails.
 *   busy_stop (bool)       after mt_stop, keep posting events to itself
 *                          forever, like a gobj whose shutdown work never
 *                          ends (tests shutdown_timeout and the second signal).
 *   linger_stop (int)      > 0: a stop takes that many loop turns, like a
 *                          connection flushing its output (mt_stop returns
 *                          > 0, then gobj_stopped()); logs "probe: stop
 *                          finished".  A second stop meanwhile logs "probe:
 *                          finish now" and stops at once.  Destroyed before
 *                          either, it logs the error "probe: work lost".
 *   shutdown (string)      "gapp_shutdown" or "loop_stop": once started, an
 *                          action calls gapp_shutdown(shutdown_status) or
 *                          gobj_loop_stop().
 *   shutdown_status (int)  the status given to gapp_shutdown().
 * Input events:
 *   EV_PROBE_BUSY {}       posted to itself while busy.
 *   EV_PROBE_LINGER {}     posted to itself while a lingering stop lasts.
 *   EV_PROBE_SHUTDOWN {}   posted to itself by mt_start (see shutdown).
 *
 * GAPP_PROBE_REPEAT=N in the environment calls gapp_main() N times in the
 * process (as an in-process fuzzer does), checking after each call.
 *
 * Exit status: gapp_main()'s, or 3 when something was left alive (or a
 * repeated call returned another status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ginsfsm/app.h"
#include "ginsfsm/gobj.h"
#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"

#include "c_ticker.h"

GOBJ_DEFINE_EVENT(EV_PROBE_BUSY);
GOBJ_DEFINE_EVENT(EV_PROBE_LINGER);
GOBJ_DEFINE_EVENT(EV_PROBE_SHUTDOWN);
GOBJ_DEFINE_STATE(ST_PROBING);

static long json_live;
static int created, destroyed;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        json_live++;
    return p;
}

static void count_free(void *p)
{
    if (p) {
        json_live--;
        free(p);
    }
}

/*--------------------------------------------------------------------------*
 *  Probe: attributes and private data
 *--------------------------------------------------------------------------*/
typedef struct probe_priv {
    int64_t id;
    char *fail;
    bool busy_stop;
    int64_t linger_stop;
    char *shutdown;
    int64_t shutdown_status;
    bool created;   /* mt_create succeeded: mt_destroy must follow */
    int64_t left;   /* loop turns left in a lingering stop */
    bool lingering; /* a lingering stop is in progress */
} probe_priv_t;

static const gobj_attr_t probe_attrs[] = {
    GOBJ_ATTR("id", GOBJ_ATTR_INT, probe_priv_t, id, NULL, GOBJ_RD | GOBJ_REQUIRED, "any number"),
    GOBJ_ATTR("fail", GOBJ_ATTR_STRING, probe_priv_t, fail, "\"\"", GOBJ_RD,
              "\"create\" or \"start\": that method fails"),
    GOBJ_ATTR("busy_stop", GOBJ_ATTR_BOOL, probe_priv_t, busy_stop, "false", GOBJ_RD,
              "keep posting to itself after mt_stop"),
    GOBJ_ATTR("linger_stop", GOBJ_ATTR_INT, probe_priv_t, linger_stop, "0", GOBJ_RD,
              "a stop takes this many loop turns"),
    GOBJ_ATTR("shutdown", GOBJ_ATTR_STRING, probe_priv_t, shutdown, "\"\"", GOBJ_RD,
              "\"gapp_shutdown\" or \"loop_stop\", called from an action once started"),
    GOBJ_ATTR("shutdown_status", GOBJ_ATTR_INT, probe_priv_t, shutdown_status, "0", GOBJ_RD,
              "the status given to gapp_shutdown()"),
    GOBJ_ATTR_END,
};

/*--------------------------------------------------------------------------*
 *  Methods
 *--------------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    probe_priv_t *priv = gobj_priv(gobj);
    if (priv->fail && strcmp(priv->fail, "create") == 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "probe: failing mt_create on purpose", NULL);
        return GOBJ_EINVAL;
    }
    priv->created = true;
    created++;
    return 0;
}

static int mt_start(gobj_t *gobj)
{
    probe_priv_t *priv = gobj_priv(gobj);
    if (priv->fail && strcmp(priv->fail, "start") == 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "probe: failing mt_start on purpose", NULL);
        return GOBJ_EINVAL;
    }
    if (priv->shutdown && *priv->shutdown)
        gobj_post_event(gobj, EV_PROBE_SHUTDOWN, NULL, gobj);
    return 0;
}

static int mt_stop(gobj_t *gobj)
{
    probe_priv_t *priv = gobj_priv(gobj);
    if (priv->lingering) {
        priv->lingering = false;
        if (gobj_is_destroying(gobj)) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "probe: work lost", "left", json_integer(priv->left),
                     NULL);
            return 0;
        }
        gobj_log(GOBJ_LOG_INFO, gobj, "probe: finish now", "left", json_integer(priv->left), NULL);
        return 0;
    }
    if (priv->linger_stop > 0) {
        if (gobj_is_destroying(gobj)) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "probe: work lost", "left",
                     json_integer(priv->linger_stop), NULL);
            return 0;
        }
        priv->lingering = true;
        priv->left = priv->linger_stop;
        gobj_post_event(gobj, EV_PROBE_LINGER, NULL, gobj);
        return 1;
    }
    if (priv->busy_stop)
        gobj_post_event(gobj, EV_PROBE_BUSY, NULL, gobj);
    return 0;
}

/* Counts only the gobjs whose mt_create succeeded: whether mt_destroy also
 * runs after a failed mt_create is the library's business. */
static void mt_destroy(gobj_t *gobj)
{
    probe_priv_t *priv = gobj_priv(gobj);
    if (priv->created)
        destroyed++;
}

/*--------------------------------------------------------------------------*
 *  Actions and FSM
 *--------------------------------------------------------------------------*/
static int ac_busy(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    return gobj_post_event(gobj, ev, NULL, gobj);
}

static int ac_linger(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    probe_priv_t *priv = gobj_priv(gobj);
    if (!priv->lingering)
        return 0;
    if (--priv->left > 0)
        return gobj_post_event(gobj, ev, NULL, gobj);
    priv->lingering = false;
    gobj_log(GOBJ_LOG_INFO, gobj, "probe: stop finished", NULL);
    gobj_stopped(gobj);
    return 0;
}

static int ac_shutdown(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    probe_priv_t *priv = gobj_priv(gobj);
    if (strcmp(priv->shutdown, "gapp_shutdown") == 0)
        return gapp_shutdown((int)priv->shutdown_status);
    if (strcmp(priv->shutdown, "loop_stop") == 0)
        gobj_loop_stop();
    return 0;
}

static const gobj_row_t st_probing[] = {
    GOBJ_ROW(EV_PROBE_BUSY, ac_busy, NULL),
    GOBJ_ROW(EV_PROBE_LINGER, ac_linger, NULL),
    GOBJ_ROW(EV_PROBE_SHUTDOWN, ac_shutdown, NULL),
    {0},
};

static const gobj_state_def_t probe_states[] = {
    {.state = ST_PROBING, .rows = st_probing},
    {0},
};

static const gobj_event_def_t probe_events[] = {
    {EV_PROBE_BUSY, GOBJ_EV_IN, "{} posted to itself while busy"},
    {EV_PROBE_LINGER, GOBJ_EV_IN, "{} posted to itself while a lingering stop lasts"},
    {EV_PROBE_SHUTDOWN, GOBJ_EV_IN, "{} posted to itself by mt_start"},
    {0},
};

static const gclass_def_t probe_def = {
    .name = "Probe",
    .description = "fails on request; counts creates and destroys",
    .states = probe_states,
    .events = probe_events,
    .attrs = probe_attrs,
    .methods = {.mt_create = mt_create,
                .mt_start = mt_start,
                .mt_stop = mt_stop,
                .mt_destroy = mt_destroy},
    .priv_size = sizeof(probe_priv_t),
};

static int register_gclasses(void *user)
{
    (void)user;
    int rc = gobj_register_builtin_gclasses();
    if (rc == 0)
        rc = ticker_register_gclass();
    if (rc == 0 && !gclass_register(&probe_def))
        rc = GOBJ_ETABLE;
    return rc;
}

int main(int argc, char **argv)
{
    static const gapp_t app = {
        .name = "gapp_probe",
        .version = "9.9.9-probe",
        .description = "gapp_probe - gapp_main() under test.",
        .default_config = "{\"name\": \"probe\", \"tree\": {\"gclass\": \"Probe\", "
                          "\"name\": \"p\", \"attrs\": {\"id\": 1}}}",
        .register_gclasses = register_gclasses,
    };

    /* Count every jansson allocation from the first one on. */
    json_set_alloc_funcs(count_malloc, count_free);

    /* GAPP_PROBE_REPEAT=N runs gapp_main N times in this process, as a
     * fuzzer does: each run must end as clean as the first, with the same
     * status. */
    const char *rep = getenv("GAPP_PROBE_REPEAT");
    int runs = rep ? atoi(rep) : 1;
    int status = 0, leaked = 0;
    for (int r = 0; r < (runs > 0 ? runs : 1) && !leaked; r++) {
        int st = gapp_main(argc, argv, &app);
        if (r > 0 && st != status) {
            fprintf(stderr, "gapp_probe: run %d returned %d, the first %d\n", r + 1, st, status);
            leaked = 1;
        }
        status = st;
        if (gobj_live_count() != 0) {
            fprintf(stderr, "gapp_probe: LEFT BEHIND: %zu gobj(s) alive\n", gobj_live_count());
            leaked = 1;
        }
        if (created != destroyed) {
            fprintf(stderr, "gapp_probe: LEFT BEHIND: %d Probe(s) created, %d destroyed\n", created,
                    destroyed);
            leaked = 1;
        }
        if (json_live != 0) {
            fprintf(stderr, "gapp_probe: LEFT BEHIND: %ld json allocation(s) alive\n", json_live);
            leaked = 1;
        }
    }
    return leaked ? 3 : status;
}
