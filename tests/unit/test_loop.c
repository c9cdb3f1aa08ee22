/*
 * test_loop.c - the event loop: posted events delivered by the loop in FIFO
 * order and in bounded batches, a chain of posts that cannot starve timers
 * or I/O, one-turn runs, loop timers, signal callbacks run in the loop, and
 * what gobj_loop_free does with events still queued.
 *
 * Every wait is bounded by a guard timer that fails the test, and the whole
 * program by alarm(): a broken loop fails, it never hangs the suite.
 */
#include <signal.h>
#include <unistd.h>

#include "ginsfsm/loop.h"
#include "testlib.h"

/* This file uses libevent directly only to serve a pipe. */
#include <event2/event.h>

#define GUARD_MSEC 5000

GOBJ_DEFINE_EVENT(EV_TL_PING);  /* {n: int}: recorded */
GOBJ_DEFINE_EVENT(EV_TL_CHAIN); /* {}: posts the next link of the chain */
GOBJ_DEFINE_STATE(ST_TL_IDLE);

/*---------------------------------------------------------------------*
 *  A recording gclass
 *---------------------------------------------------------------------*/
#define MAX_REC 4096
static int rec[MAX_REC];
static gobj_t *rec_dst[MAX_REC];
static size_t n_rec;
static size_t stop_after; /* gobj_loop_stop after this many pings (0 = never) */

static size_t chain_len; /* links delivered */
static size_t chain_max; /* the chain ends here */
static bool chain_stop_on_flag;
static volatile bool flag_fired; /* set by the timer / the I/O callback */
static size_t chain_at_flag;

static int ac_ping(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    if (n_rec < MAX_REC) {
        rec[n_rec] = (int)json_integer_value(json_object_get(kw, "n"));
        rec_dst[n_rec] = gobj;
        n_rec++;
    }
    if (stop_after && n_rec == stop_after)
        gobj_loop_stop();
    return 0;
}

static int ac_chain(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)kw;
    (void)src;
    chain_len++;
    bool end = chain_len >= chain_max || (chain_stop_on_flag && flag_fired);
    if (end) {
        gobj_loop_stop();
        return 0;
    }
    gobj_post_event(gobj, ev, NULL, gobj);
    return 0;
}

static const gobj_row_t st_tl_idle[] = {
    GOBJ_ROW(EV_TL_PING, ac_ping, NULL),
    GOBJ_ROW(EV_TL_CHAIN, ac_chain, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tl_states[] = {
    {.state = ST_TL_IDLE, .rows = st_tl_idle},
    {.state = NULL},
};
static const gobj_event_def_t tl_events[] = {
    {EV_TL_PING, GOBJ_EV_IN, "{n: int}"},
    {EV_TL_CHAIN, GOBJ_EV_IN, "{}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tl_def = {
    .name = "TLoop",
    .description = "records what the loop delivers",
    .states = tl_states,
    .events = tl_events,
    .priv_size = 0,
};

static gclass_t *tl_gc;

static void reset_records(void)
{
    n_rec = 0;
    stop_after = 0;
    chain_len = 0;
    chain_max = 0;
    chain_stop_on_flag = false;
    flag_fired = false;
    chain_at_flag = 0;
}

/*---------------------------------------------------------------------*
 *  Guard: every run of the loop is bounded
 *---------------------------------------------------------------------*/
static bool guard_fired;

static void on_guard(void *user)
{
    (void)user;
    guard_fired = true;
    gobj_loop_stop();
}

/* Run the loop until something calls gobj_loop_stop, failing the test if
 * the guard had to do it. */
static void run_guarded(const char *what)
{
    gobj_loop_timer_t *guard = gobj_loop_timer_new(on_guard, NULL);
    T_ASSERT(guard != NULL);
    guard_fired = false;
    gobj_loop_timer_start(guard, GUARD_MSEC, false);
    T_EQ_INT(gobj_loop_run(), 0);
    if (guard_fired)
        T_FAIL_("%s: the guard timer had to stop the loop", what);
    gobj_loop_timer_free(guard);
}

/*---------------------------------------------------------------------*
 *  Tests
 *---------------------------------------------------------------------*/
static void test_init_twice(void)
{
    T_ASSERT(gobj_loop_base() != NULL);
    T_EQ_INT(gobj_loop_init(), GOBJ_EEXIST);
    T_ASSERT(gobj_loop_base() != NULL);
}

/* Posts to two gobjs, interleaved, come out in the order they were posted,
 * and gobj_loop_run returns on its own once nothing is left to wait for. */
static void test_fifo(void)
{
    reset_records();
    gobj_t *a = gobj_create("a", tl_gc, NULL, NULL);
    gobj_t *b = gobj_create("b", tl_gc, NULL, NULL);
    T_ASSERT(a && b);
    for (int i = 0; i < 3000; i++)
        T_EQ_INT(gobj_post_event(i % 3 ? a : b, EV_TL_PING, json_pack("{s:i}", "n", i), NULL), 0);
    T_EQ_INT(gobj_posted_count(), 3000);
    T_EQ_INT(n_rec, 0); /* nothing delivered before the loop runs */
    T_EQ_INT(gobj_loop_run(), 0);
    T_EQ_INT(n_rec, 3000);
    T_EQ_INT(gobj_posted_count(), 0);
    bool in_order = true, right_dst = true;
    for (size_t i = 0; i < n_rec; i++) {
        if (rec[i] != (int)i)
            in_order = false;
        if (rec_dst[i] != (i % 3 ? a : b))
            right_dst = false;
    }
    T_ASSERT(in_order);
    T_ASSERT(right_dst);
    gobj_destroy(a);
    gobj_destroy(b);
}

/* One non-blocking turn delivers one batch; what is left waits for the next
 * turn. */
static void test_batch_and_run_once(void)
{
    reset_records();
    gobj_loop_set_post_batch(10);
    gobj_t *a = gobj_create("a", tl_gc, NULL, NULL);
    for (int i = 0; i < 25; i++)
        gobj_post_event(a, EV_TL_PING, json_pack("{s:i}", "n", i), NULL);
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(n_rec, 10);
    T_EQ_INT(gobj_posted_count(), 15);
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(n_rec, 20);
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(n_rec, 25);
    T_EQ_INT(gobj_posted_count(), 0);
    /* Nothing left: a turn does nothing and returns. */
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(n_rec, 25);
    bool in_order = true;
    for (size_t i = 0; i < n_rec; i++)
        if (rec[i] != (int)i)
            in_order = false;
    T_ASSERT(in_order);
    /* 0 restores the default batch: 1500 queued need two turns. */
    gobj_loop_set_post_batch(0);
    n_rec = 0;
    for (int i = 0; i < 1500; i++)
        gobj_post_event(a, EV_TL_PING, json_pack("{s:i}", "n", i), NULL);
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(gobj_posted_count(), 1500 - 1024);
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_EQ_INT(gobj_posted_count(), 0);
    gobj_destroy(a);
}

/* Each delivery posts the next link: a timer of 10 ms must still fire long
 * before 100000 links are done. */
static void on_flag_timer(void *user)
{
    (void)user;
    flag_fired = true;
    chain_at_flag = chain_len;
}

static void test_chain_does_not_starve_timer(void)
{
    reset_records();
    chain_max = 100000;
    chain_stop_on_flag = true;
    gobj_t *a = gobj_create("a", tl_gc, NULL, NULL);
    gobj_loop_timer_t *t = gobj_loop_timer_new(on_flag_timer, NULL);
    gobj_loop_timer_start(t, 10, false);
    gobj_post_event(a, EV_TL_CHAIN, NULL, a);
    run_guarded("chain vs timer");
    T_ASSERT(flag_fired);
    T_ASSERT(chain_at_flag > 0);
    T_ASSERT(chain_at_flag < chain_max);
    T_EQ_INT(chain_len, chain_at_flag + 1); /* the link after the timer ended it */
    gobj_loop_timer_free(t);
    gobj_destroy(a);
    T_EQ_INT(gobj_posted_count(), 0);
}

/* Same with I/O: a readable pipe is served while the chain runs. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    char c;
    if (read(fd, &c, 1) == 1 && c == 'x') {
        flag_fired = true;
        chain_at_flag = chain_len;
    }
}

static void test_chain_does_not_starve_io(void)
{
    reset_records();
    chain_max = 100000;
    chain_stop_on_flag = true;
    int fds[2];
    T_EQ_INT(pipe(fds), 0);
    struct event *rd = event_new(gobj_loop_base(), fds[0], EV_READ, on_readable, NULL);
    T_ASSERT(rd != NULL);
    event_add(rd, NULL);
    gobj_t *a = gobj_create("a", tl_gc, NULL, NULL);
    gobj_post_event(a, EV_TL_CHAIN, NULL, a);
    /* Let the chain start, then make the pipe readable from inside it. */
    T_EQ_INT(gobj_loop_run_once(false), 0);
    T_ASSERT(chain_len >= 1);
    T_EQ_INT(write(fds[1], "x", 1), 1);
    run_guarded("chain vs I/O");
    T_ASSERT(flag_fired);
    T_ASSERT(chain_at_flag < chain_max);
    event_free(rd);
    close(fds[0]);
    close(fds[1]);
    gobj_destroy(a);
}

/* gobj_loop_stop from a timer makes gobj_loop_run return although another
 * timer is still pending. */
static void on_stop_timer(void *user)
{
    int *n = user;
    (*n)++;
    gobj_loop_stop();
}

static void test_stop_returns(void)
{
    int n = 0;
    gobj_loop_timer_t *stopper = gobj_loop_timer_new(on_stop_timer, &n);
    gobj_loop_timer_t *idle = gobj_loop_timer_new(on_stop_timer, &n);
    gobj_loop_timer_start(stopper, 5, false);
    gobj_loop_timer_start(idle, 60000, false);
    run_guarded("stop");
    T_EQ_INT(n, 1);
    T_ASSERT(gobj_loop_timer_is_armed(idle));
    T_ASSERT(!gobj_loop_timer_is_armed(stopper));
    gobj_loop_timer_free(stopper);
    gobj_loop_timer_free(idle);
}

/* A blocking turn waits for the timer, runs it, and returns. */
static void on_count(void *user)
{
    (*(int *)user)++;
}

static void test_run_once_blocking(void)
{
    int n = 0;
    gobj_loop_timer_t *t = gobj_loop_timer_new(on_count, &n);
    uint64_t t0 = gobj_loop_now_msec();
    gobj_loop_timer_start(t, 20, false);
    T_ASSERT(gobj_loop_timer_is_armed(t));
    for (int i = 0; i < 100 && n == 0; i++)
        T_EQ_INT(gobj_loop_run_once(true), 0);
    uint64_t elapsed = gobj_loop_now_msec() - t0;
    T_EQ_INT(n, 1);
    T_ASSERT(elapsed >= 19); /* never early (1 ms for rounding of now) */
    T_ASSERT(!gobj_loop_timer_is_armed(t));
    gobj_loop_timer_free(t);
}

/* One-shot fires once; periodic repeats, never ahead of its schedule, and
 * can be stopped, re-armed as one-shot and freed from its own callback. */
struct periodic_probe {
    gobj_loop_timer_t *t;
    int n;
    uint64_t t0;
    uint64_t at[8];
    int action; /* 0: stop at 5, 1: re-arm one-shot at 3, 2: free at 2 */
};

static void on_periodic(void *user)
{
    struct periodic_probe *p = user;
    if (p->n < 8)
        p->at[p->n] = gobj_loop_now_msec() - p->t0;
    p->n++;
    if (p->action == 0 && p->n == 5) {
        gobj_loop_timer_stop(p->t);
        T_ASSERT(!gobj_loop_timer_is_armed(p->t));
        gobj_loop_stop();
    } else if (p->action == 1 && p->n == 3) {
        gobj_loop_timer_start(p->t, 10, false);
    } else if (p->action == 1 && p->n == 4) {
        gobj_loop_stop();
    } else if (p->action == 2 && p->n == 2) {
        gobj_loop_timer_free(p->t);
        p->t = NULL;
    }
}

static void on_stop_after(void *user)
{
    (void)user;
    gobj_loop_stop();
}

static void test_loop_timers(void)
{
    /* One-shot. */
    int n = 0;
    gobj_loop_timer_t *once = gobj_loop_timer_new(on_count, &n);
    gobj_loop_timer_t *stop = gobj_loop_timer_new(on_stop_after, NULL);
    gobj_loop_timer_start(once, 10, false);
    gobj_loop_timer_start(stop, 100, false);
    run_guarded("one-shot");
    T_EQ_INT(n, 1);
    T_ASSERT(!gobj_loop_timer_is_armed(once));

    /* Periodic: five ticks, each no earlier than its slot. */
    struct periodic_probe p = {.action = 0};
    p.t = gobj_loop_timer_new(on_periodic, &p);
    p.t0 = gobj_loop_now_msec();
    T_EQ_INT(gobj_loop_timer_start(p.t, 10, true), 0);
    run_guarded("periodic");
    T_EQ_INT(p.n, 5);
    bool on_schedule = true;
    for (int i = 0; i < 5; i++)
        if (p.at[i] + 1 < (uint64_t)(i + 1) * 10)
            on_schedule = false;
    T_ASSERT(on_schedule);
    for (int i = 1; i < 5; i++)
        T_ASSERT(p.at[i] >= p.at[i - 1]);
    gobj_loop_timer_free(p.t);

    /* Periodic re-armed as one-shot from its own callback: 3 + 1 ticks. */
    struct periodic_probe q = {.action = 1};
    q.t = gobj_loop_timer_new(on_periodic, &q);
    gobj_loop_timer_start(q.t, 10, true);
    run_guarded("periodic to one-shot");
    T_EQ_INT(q.n, 4);
    T_ASSERT(!gobj_loop_timer_is_armed(q.t));
    gobj_loop_timer_free(q.t);

    /* Freed from its own callback: no more ticks, nothing touched after. */
    struct periodic_probe r = {.action = 2};
    r.t = gobj_loop_timer_new(on_periodic, &r);
    gobj_loop_timer_start(r.t, 5, true);
    gobj_loop_timer_start(stop, 80, false);
    run_guarded("freed in callback");
    T_EQ_INT(r.n, 2);
    T_ASSERT(r.t == NULL);

    /* A periodic timer of 0 ms would spin: refused. */
    T_EQ_INT(gobj_loop_timer_start(once, 0, true), GOBJ_EINVAL);
    T_ASSERT(gobj_loop_timer_new(NULL, NULL) == NULL);
    gobj_loop_timer_free(once);
    gobj_loop_timer_free(stop);
}

/* The signal callback runs in the loop, not in the handler. */
static int sig_calls, sig_calls2;
static int sig_seen;
static void *sig_user;

static void on_usr1(int signo, void *user)
{
    sig_calls++;
    sig_seen = signo;
    sig_user = user;
}

static void on_usr1_other(int signo, void *user)
{
    (void)signo;
    (void)user;
    sig_calls2++;
    /* Removing its own handler from inside the callback is allowed. */
    gobj_loop_on_signal(SIGUSR1, NULL, NULL);
}

static void test_signal(void)
{
    /* Ignored underneath, so that a raise after removal is harmless. */
    signal(SIGUSR1, SIG_IGN);
    int token;
    T_EQ_INT(gobj_loop_on_signal(SIGUSR1, on_usr1, &token), 0);
    raise(SIGUSR1);
    T_EQ_INT(sig_calls, 0); /* not inside the handler */
    for (int i = 0; i < 50 && sig_calls == 0; i++)
        gobj_loop_run_once(true);
    T_EQ_INT(sig_calls, 1);
    T_EQ_INT(sig_seen, SIGUSR1);
    T_ASSERT(sig_user == &token);

    /* Replacing the callback. */
    T_EQ_INT(gobj_loop_on_signal(SIGUSR1, on_usr1_other, NULL), 0);
    raise(SIGUSR1);
    for (int i = 0; i < 50 && sig_calls2 == 0; i++)
        gobj_loop_run_once(true);
    T_EQ_INT(sig_calls2, 1);
    T_EQ_INT(sig_calls, 1);

    /* Removed (by the callback itself): raising again calls nobody. */
    raise(SIGUSR1);
    int n = 0;
    gobj_loop_timer_t *t = gobj_loop_timer_new(on_count, &n);
    gobj_loop_timer_start(t, 30, false);
    for (int i = 0; i < 100 && n == 0; i++)
        gobj_loop_run_once(true);
    T_EQ_INT(sig_calls2, 1);
    T_EQ_INT(sig_calls, 1);
    gobj_loop_timer_free(t);

    T_EQ_INT(gobj_loop_on_signal(0, on_usr1, NULL), GOBJ_EINVAL);
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, NULL, NULL), 0); /* nothing to remove */
    signal(SIGUSR1, SIG_DFL);
}

/* gobj_loop_free drops what is still queued: released, never delivered.
 * Posts made before gobj_loop_init are delivered once the loop exists. */
static void test_free_drops_and_init_delivers(void)
{
    reset_records();
    gobj_t *a = gobj_create("a", tl_gc, NULL, NULL);
    for (int i = 0; i < 3; i++)
        gobj_post_event(a, EV_TL_PING, json_pack("{s:i, s:s}", "n", i, "pad", "kw"), NULL);
    gobj_loop_free();
    T_ASSERT(gobj_loop_base() == NULL);
    T_EQ_INT(gobj_posted_count(), 0);
    T_EQ_INT(n_rec, 0);
    T_EQ_INT(gobj_loop_run(), GOBJ_ESTATE);
    T_ASSERT(gobj_loop_timer_new(on_count, NULL) == NULL);

    /* No loop: the post waits in the queue. */
    gobj_post_event(a, EV_TL_PING, json_pack("{s:i}", "n", 7), NULL);
    T_EQ_INT(gobj_loop_init(), 0);
    T_EQ_INT(gobj_loop_run(), 0);
    T_EQ_INT(n_rec, 1);
    T_EQ_INT(rec[0], 7);
    gobj_destroy(a);
}

/* A timer forgotten by its owner is released by gobj_loop_free, with an
 * error naming the mistake; freeing the handle afterwards is still safe. */
static void test_free_with_forgotten_timer(void)
{
    t_log_clear();
    int n = 0;
    gobj_loop_timer_t *t = gobj_loop_timer_new(on_count, &n);
    gobj_loop_timer_start(t, 60000, false);
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, on_usr1, NULL), 0);
    gobj_loop_free();
    T_EQ_INT(t_log_find("error", "still registered"), 1);
    /* libevent's own signal plumbing is not someone's forgotten event. */
    T_EQ_INT(t_log_find("error", "still pending"), 0);
    T_ASSERT(!gobj_loop_timer_is_armed(t));
    gobj_loop_timer_free(t);
    T_EQ_INT(gobj_loop_init(), 0);
}

/* An event of someone else (a socket of a gobj still alive, say) pending at
 * gobj_loop_free is reported.  The event lives in memory the test owns, so
 * that nothing has to touch libevent after the base is gone. */
static void on_never(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void test_free_reports_foreign_event(void)
{
    t_log_clear();
    struct event *ev = calloc(1, event_get_struct_event_size());
    T_ASSERT(ev != NULL);
    T_EQ_INT(event_assign(ev, gobj_loop_base(), -1, 0, on_never, NULL), 0);
    struct timeval tv = {60, 0};
    event_add(ev, &tv);
    gobj_loop_free();
    T_EQ_INT(t_log_find("error", "1 event(s) of live gobjs still pending"), 1);
    T_EQ_INT(t_log_find("error", "still registered"), 0);
    free(ev);
    T_EQ_INT(gobj_loop_init(), 0);
}

/*--------------------------------------------------------------------------*
 *  The timer heap (lib/loop_timer.c)
 *--------------------------------------------------------------------------*/
#define N_HEAP 200
static gobj_loop_timer_t *heap_t[N_HEAP];
static uint64_t heap_due[N_HEAP];
static int heap_fired[N_HEAP];
static int heap_order_errors;
static uint64_t heap_last_due;
static int heap_left;

static void on_heap_timer(void *user)
{
    int i = (int)(intptr_t)user;
    heap_fired[i]++;
    /* Deadlines fire in order (ties in any order). */
    if (heap_due[i] < heap_last_due)
        heap_order_errors++;
    heap_last_due = heap_due[i];
    /* Every 7th stops the next one by index, every 11th frees itself. */
    if (i % 7 == 0 && i + 1 < N_HEAP && heap_t[i + 1] && gobj_loop_timer_is_armed(heap_t[i + 1])) {
        gobj_loop_timer_stop(heap_t[i + 1]);
        heap_left--;
    }
    if (i % 11 == 0) {
        gobj_loop_timer_free(heap_t[i]);
        heap_t[i] = NULL;
    }
    if (--heap_left == 0)
        gobj_loop_stop();
}

/* Many timers, armed in random order, stopped and freed from callbacks. */
static void test_timer_heap(void)
{
    srand(12345);
    heap_left = 0;
    heap_last_due = 0;
    heap_order_errors = 0;
    for (int i = 0; i < N_HEAP; i++) {
        heap_t[i] = gobj_loop_timer_new(on_heap_timer, (void *)(intptr_t)i);
        heap_fired[i] = 0;
    }
    /* Delays 0..40 ms; the deadline each gets is what the order is checked
     * against, so store it the way the heap computes it (msec resolution
     * is enough: two timers with the same msec may fire in any order). */
    for (int i = 0; i < N_HEAP; i++) {
        uint64_t d = (uint64_t)(rand() % 41);
        heap_due[i] = gobj_loop_now_msec() + d;
        T_EQ_INT(gobj_loop_timer_start(heap_t[i], d, false), 0);
        heap_left++;
    }
    /* Re-arming moves a timer: the first one goes last. */
    heap_due[0] = gobj_loop_now_msec() + 60;
    T_EQ_INT(gobj_loop_timer_start(heap_t[0], 60, false), 0);
    gobj_loop_run();
    T_EQ_INT(heap_left, 0);
    T_EQ_INT(heap_order_errors, 0);
    int total = 0;
    for (int i = 0; i < N_HEAP; i++) {
        T_ASSERT(heap_fired[i] <= 1);
        total += heap_fired[i];
        gobj_loop_timer_free(heap_t[i]);
    }
    T_ASSERT(total > N_HEAP / 2);
    T_ASSERT(heap_fired[0] == 1 && heap_last_due == heap_due[0]);
}

/* A callback that re-arms its timer with 0 runs again on a later turn, not
 * in a loop inside the same pass; the loop returns once no timer is armed. */
static int rearm_runs;
static gobj_loop_timer_t *rearm_t;
static void on_rearm(void *user)
{
    (void)user;
    if (++rearm_runs < 5)
        gobj_loop_timer_start(rearm_t, 0, false);
}

static void test_timer_rearm_zero(void)
{
    rearm_t = gobj_loop_timer_new(on_rearm, NULL);
    rearm_runs = 0;
    T_EQ_INT(gobj_loop_timer_start(rearm_t, 0, false), 0);
    for (int turn = 1; turn <= 5; turn++) {
        gobj_loop_run_once(true);
        T_EQ_INT(rearm_runs, turn);
    }
    T_ASSERT(!gobj_loop_timer_is_armed(rearm_t));
    /* Nothing armed, nothing posted: run returns at once. */
    T_EQ_INT(gobj_loop_run(), 0);
    gobj_loop_timer_free(rearm_t);
}

/* Periodic timers do not drift: 20 periods of 5 ms take about 100 ms of
 * the clock (each is due one period after the last was due), and never
 * fire early. */
static int per_runs;
static uint64_t per_start, per_early;
static gobj_loop_timer_t *per_t;
static void on_per_tick(void *user)
{
    (void)user;
    per_runs++;
    if (gobj_loop_now_msec() < per_start + 5u * (uint64_t)per_runs)
        per_early++;
    if (per_runs == 20) {
        gobj_loop_timer_stop(per_t);
        gobj_loop_stop();
    }
}

static void test_timer_periodic(void)
{
    per_t = gobj_loop_timer_new(on_per_tick, NULL);
    per_runs = 0;
    per_early = 0;
    per_start = gobj_loop_now_msec();
    T_EQ_INT(gobj_loop_timer_start(per_t, 5, true), 0);
    gobj_loop_run();
    T_EQ_INT(per_runs, 20);
    T_EQ_INT(per_early, 0);
    T_EQ_INT(gobj_loop_timer_start(per_t, 0, true), GOBJ_EINVAL);
    gobj_loop_timer_free(per_t);
}

int main(void)
{
    /* The whole program is bounded: a hung loop is a failure. */
    alarm(60);
    t_init();
    tl_gc = gclass_register(&tl_def);
    T_ASSERT(tl_gc != NULL);
    T_EQ_INT(gobj_loop_init(), 0);

    uint64_t a = gobj_loop_now_msec();
    uint64_t b = gobj_loop_now_msec();
    T_ASSERT(b >= a);

    test_init_twice();
    test_fifo();
    test_batch_and_run_once();
    test_chain_does_not_starve_timer();
    test_chain_does_not_starve_io();
    test_stop_returns();
    test_run_once_blocking();
    test_loop_timers();
    test_timer_heap();
    test_timer_rearm_zero();
    test_timer_periodic();
    test_signal();
    test_free_drops_and_init_delivers();
    test_free_with_forgotten_timer();
    test_free_reports_foreign_event();

    /* A clean shutdown (signal callbacks used and removed, timers freed)
     * frees the loop without a complaint. */
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, on_usr1, NULL), 0);
    T_EQ_INT(gobj_loop_on_signal(SIGUSR2, NULL, NULL), 0);
    t_log_clear();
    gobj_loop_free();
    T_EQ_INT(t_log_find("error", NULL), 0);
    T_ASSERT(gobj_loop_base() == NULL);
    return t_done();
}
