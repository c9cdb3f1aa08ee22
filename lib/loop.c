/*
 * loop.c - the process's event loop: one libevent event_base, the glue that
 * drains the post queue, plain callback timers and signal callbacks.
 *
 * Posted events.  The core calls our notify hook when its post queue goes
 * from empty to non-empty; we then activate one internal event whose
 * callback delivers a bounded batch with gobj_run_posted(), which takes only
 * the events queued before it was called.  If events are still queued after
 * the batch (more than a batch was waiting, or the deliveries posted new
 * ones), the drain is rescheduled for the *next* loop turn, after the loop
 * has polled for I/O and run due timers, so a chain of posts cannot starve
 * anything else.  When the queue is empty the internal event is neither
 * pending nor active, so an idle loop sleeps (and gobj_loop_run returns when
 * nothing else is left to wait for).
 *
 * Time.  The loop's millisecond timers are not libevent's: they live in
 * lib/loop_timer.c, on CLOCK_MONOTONIC, served by one timerfd that is re-set
 * only when the earliest deadline changes.  libevent's own precise timers
 * would call timerfd_settime() on every loop turn.  The base therefore runs
 * without EVENT_BASE_FLAG_PRECISE_TIMER: what libevent still times itself
 * (the zero timeout that schedules the post drain, a lingering close's
 * bound) needs no millisecond precision.
 *
 * Only the loop's files (this one, loop_timer.c, loop_dns.c: the name
 * resolver) and gobjs/ include libevent headers.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "ginsfsm/loop.h"
#include "internal.h"
#include "loop_dns.h"
#include "loop_timer.h"

#define DEFAULT_POST_BATCH 1024u

static struct event_base *base;
static struct event *post_ev; /* drains the post queue */
static unsigned post_batch = DEFAULT_POST_BATCH;
static bool draining; /* inside on_post */

/* One slot per signal number with a callback. */
struct sig_slot {
    struct event *ev;
    void (*fn)(int signo, void *user);
    void *user;
    int signo;
};
static struct sig_slot *sig_slots[NSIG];

/*---------------------------------------------------------------------*
 *  libevent's own messages
 *---------------------------------------------------------------------*/
/* libevent writes its warnings to stderr by default; routing them through
 * gobj_log keeps one format (text or JSON lines) for everything the process
 * logs. */
static void on_libevent_log(int severity, const char *msg)
{
    gobj_log_level_t level = GOBJ_LOG_DEBUG;
    if (severity >= EVENT_LOG_ERR)
        level = GOBJ_LOG_ERROR;
    else if (severity == EVENT_LOG_WARN)
        level = GOBJ_LOG_WARN;
    else if (severity == EVENT_LOG_MSG)
        level = GOBJ_LOG_INFO;
    gobj_log(level, NULL, "libevent", "detail", json_string(msg ? msg : ""), NULL);
}

/*---------------------------------------------------------------------*
 *  Post queue glue
 *---------------------------------------------------------------------*/
/* Run the drain on a later turn.  A zero timeout, not event_active(): an
 * event activated from inside a callback of the same priority is run again
 * in the same pass over the active queue, before the loop polls for I/O or
 * looks at its timers, which is exactly the starvation we must avoid.  A
 * timeout of zero becomes due after the next poll. */
static void schedule_next_turn(void)
{
    static const struct timeval now = {0, 0};
    if (event_add(post_ev, &now) < 0)
        gobj__errorf(NULL, "loop: cannot schedule the post queue drain");
}

static void on_post(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    /* Deliveries that post into the emptied queue fire the notify hook;
     * while draining it must not activate the event (see above): the check
     * after the batch takes care of them. */
    draining = true;
    gobj_run_posted(post_batch);
    draining = false;
    if (base && post_ev && gobj_posted_count() > 0)
        schedule_next_turn();
}

static void on_post_notify(void *user)
{
    (void)user;
    if (!post_ev || draining)
        return;
    /* Outside a drain (an I/O or timer callback, or the application before
     * the loop runs) activation is the cheapest way to get the queue looked
     * at in this same turn. */
    event_active(post_ev, EV_TIMEOUT, 0);
}

void gobj_loop_set_post_batch(unsigned n)
{
    post_batch = n ? n : DEFAULT_POST_BATCH;
}

/*---------------------------------------------------------------------*
 *  Init, run, free
 *---------------------------------------------------------------------*/
int gobj_loop_init(void)
{
    if (base)
        return GOBJ_EEXIST;
    struct event_config *cfg = event_config_new();
    if (!cfg) {
        gobj__errorf(NULL, "gobj_loop_init: out of memory");
        return GOBJ_ENOMEM;
    }
    /* One thread runs the loop: no locks.  No precise timers: see the top. */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    event_set_log_callback(on_libevent_log);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base) {
        gobj__errorf(NULL, "gobj_loop_init: libevent could not create an event base");
        event_set_log_callback(NULL);
        return GOBJ_ENOMEM;
    }
    post_ev = event_new(base, -1, 0, on_post, NULL);
    if (!post_ev) {
        gobj__errorf(NULL, "gobj_loop_init: out of memory");
        event_base_free(base);
        base = NULL;
        event_set_log_callback(NULL);
        return GOBJ_ENOMEM;
    }
    int rc = loop__timers_init(base);
    if (rc < 0) {
        event_free(post_ev);
        post_ev = NULL;
        event_base_free(base);
        base = NULL;
        event_set_log_callback(NULL);
        return rc;
    }
    draining = false;
    gobj_set_post_notify(on_post_notify, NULL);
    /* Events posted before the loop existed found no hook to call. */
    if (gobj_posted_count() > 0)
        event_active(post_ev, EV_TIMEOUT, 0);
    return 0;
}

struct event_base *gobj_loop_base(void)
{
    return base;
}

int gobj_loop_run(void)
{
    if (!base)
        return GOBJ_ESTATE;
    /* No flags: block in the backend until something happens; return when
     * gobj_loop_stop() breaks the loop or when no event is pending or active
     * (the post event is neither while the queue is empty). */
    int rc = event_base_loop(base, 0);
    return rc < 0 ? GOBJ_ESTATE : 0;
}

int gobj_loop_run_once(bool block)
{
    if (!base)
        return GOBJ_ESTATE;
    /* EVLOOP_NONBLOCK alone would keep looping while anything is ready,
     * which with a chain of posts (always ready on the next turn) is not one
     * turn at all; with EVLOOP_ONCE it stops after the callbacks of one
     * poll. */
    int rc = event_base_loop(base, EVLOOP_ONCE | (block ? 0 : EVLOOP_NONBLOCK));
    return rc < 0 ? GOBJ_ESTATE : 0;
}

void gobj_loop_stop(void)
{
    if (base)
        event_base_loopbreak(base);
}

/* Counts the events someone else left pending.  libevent lists its own
 * internal events too (the socketpair through which signals arrive stays
 * added once a signal was caught); the internal events it creates for a base
 * all take the base as their callback argument, which no event of ours or
 * of a gobj does. */
static int count_event(const struct event_base *b, const struct event *ev, void *arg)
{
    if (ev != post_ev && !loop__is_timer_event(ev) && event_get_callback_arg(ev) != (const void *)b)
        (*(int *)arg)++;
    return 0;
}

/* Hooks run by gobj_loop_free before anything is checked or freed. */
#define MAX_FREE_HOOKS 8
static struct {
    void (*fn)(void *user);
    void *user;
} free_hooks[MAX_FREE_HOOKS];
static int n_free_hooks;

int gobj_loop_on_free(void (*fn)(void *user), void *user)
{
    if (!base)
        return GOBJ_ESTATE;
    if (!fn || n_free_hooks == MAX_FREE_HOOKS)
        return fn ? GOBJ_ENOMEM : GOBJ_EINVAL;
    free_hooks[n_free_hooks].fn = fn;
    free_hooks[n_free_hooks].user = user;
    n_free_hooks++;
    return 0;
}

void gobj_loop_free(void)
{
    if (!base)
        return;
    for (int i = 0; i < n_free_hooks; i++)
        free_hooks[i].fn(free_hooks[i].user);
    n_free_hooks = 0;
    /* The resolver's own events (its sockets, its timers) go with it. */
    loop__dns_free();
    gobj_set_post_notify(NULL, NULL);

    /* The contract is that every timer and signal callback is gone by now.
     * Those this file owns are released anyway, so that a forgetful caller
     * leaks nothing and never touches a freed base from a later
     * gobj_loop_timer_free. */
    int n_sigs = 0, n_timers = 0;
    for (int s = 1; s < NSIG; s++) {
        if (sig_slots[s]) {
            event_free(sig_slots[s]->ev);
            free(sig_slots[s]);
            sig_slots[s] = NULL;
            n_sigs++;
        }
    }
    n_timers = loop__timers_free();
    if (n_sigs || n_timers)
        gobj__errorf(NULL,
                     "gobj_loop_free: %d signal callback(s) and %d loop timer(s) were "
                     "still registered",
                     n_sigs, n_timers);
    /* Events that gobjs added directly (a socket's) would be left pointing
     * at a freed base: name the mistake instead of crashing later.  (A GTimer
     * runs on a loop timer, counted above.) */
    int n_other = 0;
    event_base_foreach_event(base, count_event, &n_other);
    if (n_other)
        gobj__errorf(NULL,
                     "gobj_loop_free: %d event(s) of live gobjs still pending; destroy "
                     "the gobjs before freeing the loop",
                     n_other);

    /* Queued posts are dropped, not delivered: their actions would run with
     * no loop under them (a GTimer could not arm, a socket could not write),
     * and a program freeing its loop is shutting down. */
    size_t dropped = gobj_drop_posted();
    if (dropped)
        gobj_log(GOBJ_LOG_DEBUG, NULL, "gobj_loop_free: queued events dropped", "count",
                 json_integer((json_int_t)dropped), NULL);

    event_free(post_ev);
    post_ev = NULL;
    event_base_free(base);
    base = NULL;
    draining = false;
    event_set_log_callback(NULL);
}

/*---------------------------------------------------------------------*
 *  Time
 *---------------------------------------------------------------------*/
uint64_t gobj_loop_now_msec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*---------------------------------------------------------------------*
 *  Signals
 *---------------------------------------------------------------------*/
/* libevent catches the signal with its own handler and turns it into a
 * loop event, so this runs in the loop, where any code is allowed. */
static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sig_slot *slot = arg;
    /* The callback may remove its own handler (freeing slot). */
    slot->fn(slot->signo, slot->user);
}

int gobj_loop_on_signal(int signo, void (*fn)(int signo, void *user), void *user)
{
    if (signo <= 0 || signo >= NSIG) {
        gobj__errorf(NULL, "gobj_loop_on_signal: %d is not a signal number", signo);
        return GOBJ_EINVAL;
    }
    struct sig_slot *slot = sig_slots[signo];
    if (!fn) {
        if (!slot)
            return 0;
        event_free(slot->ev);
        free(slot);
        sig_slots[signo] = NULL;
        return 0;
    }
    if (!base) {
        gobj__errorf(NULL, "gobj_loop_on_signal: the loop is not initialised");
        return GOBJ_ESTATE;
    }
    if (slot) {
        slot->fn = fn;
        slot->user = user;
        return 0;
    }
    slot = calloc(1, sizeof *slot);
    if (!slot)
        return GOBJ_ENOMEM;
    slot->fn = fn;
    slot->user = user;
    slot->signo = signo;
    slot->ev = evsignal_new(base, signo, on_signal, slot);
    if (!slot->ev) {
        free(slot);
        return GOBJ_ENOMEM;
    }
    errno = 0;
    if (evsignal_add(slot->ev, NULL) < 0) {
        int err = errno ? -errno : GOBJ_EINVAL;
        gobj__errorf(NULL, "gobj_loop_on_signal: cannot catch signal %d: %s", signo,
                     gobj_strerror(err));
        event_free(slot->ev);
        free(slot);
        return err;
    }
    sig_slots[signo] = slot;
    return 0;
}
