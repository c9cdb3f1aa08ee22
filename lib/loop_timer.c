/*
 * loop_timer.c - the loop's millisecond timers (gobj_loop_timer_*), part of
 * the loop (lib/loop.c): a min-heap of deadlines on CLOCK_MONOTONIC, served
 * by one timerfd.
 *
 * Why not libevent's own timers: millisecond timers need libevent's
 * EVENT_BASE_FLAG_PRECISE_TIMER (without it libevent reads
 * CLOCK_MONOTONIC_COARSE, whose resolution is the kernel tick, 4 ms with
 * HZ=250), and with that flag libevent's epoll backend calls
 * timerfd_settime() on every loop turn, armed or not: one syscall per turn,
 * a quarter of the syscalls of a one-connection echo.  Here the timerfd is
 * re-armed only when the earliest deadline changes, which on a busy server
 * is rare (a GSock's inactivity deadline moves lazily), and not at all while
 * no timer is armed.
 *
 * The timerfd event is edge-triggered and never read: timerfd_settime()
 * resets the expiry count, and each expiry wakes epoll again.  It is added
 * to the loop only while some timer is armed, so that gobj_loop_run still
 * returns when nothing is left to wait for.  A timer stopped or freed leaves
 * the timerfd armed: the expiry then finds nothing due, which costs one
 * wake-up and saves a syscall on every stop.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ginsfsm/loop.h"
#include "internal.h"
#include "loop_timer.h"

#define NOT_ARMED SIZE_MAX

struct gobj_loop_timer {
    void (*fn)(void *user);
    void *user;
    uint64_t due;    /* ns on CLOCK_MONOTONIC, while armed */
    uint64_t period; /* ns; 0 = one-shot */
    size_t slot;     /* index in the heap, NOT_ARMED otherwise */
    bool detached;   /* the loop was freed under it */
    struct gobj_loop_timer *prev, *next;
};

static struct event_base *base;
static int tfd = -1;
static struct event *tfd_ev;
static bool tfd_added;
static uint64_t tfd_due;  /* the deadline the timerfd is set to; 0 = none */
static bool in_pass;      /* inside on_expiry */
static uint64_t pass_now; /* the clock reading of the pass in progress */
static gobj_loop_timer_t **heap;
static size_t heap_n, heap_cap;
static gobj_loop_timer_t *timers_head; /* every live timer, for loop free */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*---------------------------------------------------------------------*
 *  The heap
 *---------------------------------------------------------------------*/
static void heap_set(size_t i, gobj_loop_timer_t *t)
{
    heap[i] = t;
    t->slot = i;
}

static void sift_up(size_t i)
{
    gobj_loop_timer_t *t = heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (heap[p]->due <= t->due)
            break;
        heap_set(i, heap[p]);
        i = p;
    }
    heap_set(i, t);
}

static void sift_down(size_t i)
{
    gobj_loop_timer_t *t = heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_n)
            break;
        if (c + 1 < heap_n && heap[c + 1]->due < heap[c]->due)
            c++;
        if (t->due <= heap[c]->due)
            break;
        heap_set(i, heap[c]);
        i = c;
    }
    heap_set(i, t);
}

static void heap_remove(gobj_loop_timer_t *t)
{
    size_t i = t->slot;
    t->slot = NOT_ARMED;
    gobj_loop_timer_t *last = heap[--heap_n];
    if (i == heap_n)
        return;
    heap_set(i, last);
    if (i > 0 && heap[(i - 1) / 2]->due > last->due)
        sift_up(i);
    else
        sift_down(i);
}

static int heap_insert(gobj_loop_timer_t *t)
{
    if (heap_n == heap_cap) {
        size_t cap = heap_cap ? 2 * heap_cap : 64;
        gobj_loop_timer_t **h = realloc(heap, cap * sizeof *h);
        if (!h)
            return GOBJ_ENOMEM;
        heap = h;
        heap_cap = cap;
    }
    heap_set(heap_n++, t);
    sift_up(t->slot);
    return 0;
}

/*---------------------------------------------------------------------*
 *  The timerfd
 *---------------------------------------------------------------------*/
/* Point the timerfd at the earliest deadline, if that changed, and keep its
 * event in the loop exactly while a timer is armed. */
static void sync_tfd(void)
{
    if (heap_n == 0) {
        if (tfd_added) {
            event_del(tfd_ev);
            tfd_added = false;
        }
        return;
    }
    uint64_t due = heap[0]->due;
    if (due != tfd_due) {
        struct itimerspec its = {
            .it_value = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)},
        };
        /* An absolute deadline already past expires at once. */
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
            gobj__errorf(NULL, "loop timers: timerfd_settime: %s", gobj_strerror(-errno));
        tfd_due = due;
    }
    if (!tfd_added) {
        if (event_add(tfd_ev, NULL) < 0)
            gobj__errorf(NULL, "loop timers: cannot add the timerfd to the loop");
        else
            tfd_added = true;
    }
}

/* The timerfd expired: run every timer due now.  A timer armed by a
 * callback during the pass is due after the pass's clock reading, so a
 * callback that re-arms itself with 0 runs again on the next turn, not in a
 * loop here. */
static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    tfd_due = 0; /* fired: the next sync must set it again */
    in_pass = true;
    pass_now = now_ns();
    while (heap_n && heap[0]->due <= pass_now) {
        gobj_loop_timer_t *t = heap[0];
        if (t->period) {
            /* Due again one period after it was due (no drift); a timer
             * that fell a whole period behind skips to one period from now
             * instead of firing in a burst. */
            t->due += t->period;
            if (t->due <= pass_now)
                t->due = pass_now + t->period;
            sift_down(0);
        } else {
            heap_remove(t);
        }
        /* The callback may stop, restart or free t, or any other timer:
         * nothing here touches t afterwards. */
        t->fn(t->user);
        if (!base)
            break; /* the callback freed the loop */
    }
    in_pass = false;
    if (base)
        sync_tfd();
}

int loop__timers_init(struct event_base *b)
{
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) {
        int err = -errno;
        gobj__errorf(NULL, "gobj_loop_init: timerfd_create: %s", gobj_strerror(err));
        return err;
    }
    tfd_ev = event_new(b, tfd, EV_READ | EV_PERSIST | EV_ET, on_expiry, NULL);
    if (!tfd_ev) {
        close(tfd);
        tfd = -1;
        return GOBJ_ENOMEM;
    }
    base = b;
    tfd_added = false;
    tfd_due = 0;
    return 0;
}

int loop__timers_free(void)
{
    /* Timers a caller forgot are detached, not freed: the caller still
     * holds them, and gobj_loop_timer_free works on them later. */
    int n = 0;
    for (gobj_loop_timer_t *t = timers_head; t; t = t->next) {
        if (!t->detached) {
            t->detached = true;
            t->slot = NOT_ARMED;
            n++;
        }
    }
    heap_n = 0;
    free(heap);
    heap = NULL;
    heap_cap = 0;
    if (tfd_ev) {
        event_free(tfd_ev);
        tfd_ev = NULL;
    }
    if (tfd >= 0) {
        close(tfd);
        tfd = -1;
    }
    tfd_added = false;
    tfd_due = 0;
    base = NULL;
    return n;
}

bool loop__is_timer_event(const struct event *ev)
{
    return ev && ev == tfd_ev;
}

/*---------------------------------------------------------------------*
 *  Public API
 *---------------------------------------------------------------------*/
gobj_loop_timer_t *gobj_loop_timer_new(void (*fn)(void *user), void *user)
{
    if (!fn) {
        gobj__errorf(NULL, "gobj_loop_timer_new: no callback given");
        return NULL;
    }
    if (!base) {
        gobj__errorf(NULL, "gobj_loop_timer_new: the loop is not initialised");
        return NULL;
    }
    gobj_loop_timer_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->user = user;
    t->slot = NOT_ARMED;
    t->next = timers_head;
    if (timers_head)
        timers_head->prev = t;
    timers_head = t;
    return t;
}

int gobj_loop_timer_start(gobj_loop_timer_t *t, uint64_t msec, bool periodic)
{
    if (!t || t->detached || !base)
        return GOBJ_EINVAL;
    /* A periodic timer of zero would fire on every turn forever. */
    if (periodic && msec == 0)
        return GOBJ_EINVAL;
    if (msec > UINT64_MAX / 2000000u)
        return GOBJ_ERANGE;
    uint64_t delay = msec * 1000000u;
    uint64_t due = now_ns() + delay;
    if (in_pass && due <= pass_now)
        due = pass_now + 1; /* never in the pass that is running */
    if (t->slot != NOT_ARMED)
        heap_remove(t);
    t->due = due;
    t->period = periodic ? delay : 0;
    int rc = heap_insert(t);
    if (rc < 0)
        return rc;
    if (!in_pass)
        sync_tfd(); /* the pass syncs once at its end */
    return 0;
}

void gobj_loop_timer_stop(gobj_loop_timer_t *t)
{
    if (!t || t->slot == NOT_ARMED)
        return;
    heap_remove(t);
    /* The timerfd stays set (see the top); its event leaves the loop once no
     * timer is armed, so that an idle loop can return. */
    if (!in_pass && heap_n == 0)
        sync_tfd();
}

bool gobj_loop_timer_is_armed(const gobj_loop_timer_t *t)
{
    return t && t->slot != NOT_ARMED;
}

void gobj_loop_timer_free(gobj_loop_timer_t *t)
{
    if (!t)
        return;
    gobj_loop_timer_stop(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        timers_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    free(t);
}
