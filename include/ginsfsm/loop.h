/*
 * ginsfsm/loop.h - the process's event loop (libevent underneath).
 *
 * One loop per process.  Posted events (gobj_post_event) are drained every
 * loop turn, FIFO, in bounded batches; an event posted during a drain waits
 * for the next turn, so a chain of posts cannot starve I/O.
 * Only lib/loop*.c and gobjs/ touch libevent; programs use this API.
 */
#ifndef GINSFSM_LOOP_H
#define GINSFSM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct event_base;

/* Create the loop and hook the post queue to it.
 * Returns: 0, GOBJ_EEXIST if it exists, or GOBJ_ENOMEM. */
int gobj_loop_init(void);
/* Returns: the libevent base (borrowed), or NULL before gobj_loop_init.
 * For gobjs/ code; applications use the calls below. */
struct event_base *gobj_loop_base(void);
/* Run until gobj_loop_stop() or until nothing is left to wait for.
 * Returns: 0, or a negative code if the loop failed. */
int gobj_loop_run(void);
/* Run one non-blocking turn (tests).  Returns: 0 or a negative code. */
int gobj_loop_run_once(bool block);
/* Make gobj_loop_run return after the current turn. */
void gobj_loop_stop(void);
/* Free the loop; every timer and signal handler must be gone.
 * Posted events still queued are dropped (kw released). */
void gobj_loop_free(void);
/* Call fn when gobj_loop_free runs, before it frees the base: for code in
 * gobjs/ that keeps process-wide loop resources outside any gobj (sockets
 * still closing after their GSock is gone).  At most 8 hooks; each is called
 * once and forgotten.  Returns: 0, GOBJ_ESTATE (no loop) or GOBJ_ENOMEM. */
int gobj_loop_on_free(void (*fn)(void *user), void *user);
/* How many posted events one turn delivers at most (default 1024). */
void gobj_loop_set_post_batch(unsigned n);
/* The name servers the loop's resolver asks (GSock clients resolve host
 * names without blocking): a list of "ip", "ip:port" or "[ipv6]:port"
 * separated by commas or blanks, e.g. "127.0.0.1:5353,[::1]:53".  It
 * replaces those of /etc/resolv.conf (whose search list and options, and
 * /etc/hosts, still apply) until gobj_loop_free; NULL or "" restores them.
 * Requests in flight go to the new servers.
 * Returns: 0, GOBJ_ESTATE (no loop), GOBJ_EINVAL (an entry is not an
 * address; logged) or GOBJ_ENOMEM. */
int gobj_loop_set_nameservers(const char *list);

/* Monotonic milliseconds. */
uint64_t gobj_loop_now_msec(void);

/* A plain callback timer for the runtime itself (gobjs use GTimer). */
typedef struct gobj_loop_timer gobj_loop_timer_t;
/* Returns: the timer (free it with gobj_loop_timer_free), or NULL. */
gobj_loop_timer_t *gobj_loop_timer_new(void (*fn)(void *user), void *user);
/* (Re)arm: fire after msec, then every msec if periodic. */
int gobj_loop_timer_start(gobj_loop_timer_t *t, uint64_t msec, bool periodic);
void gobj_loop_timer_stop(gobj_loop_timer_t *t);
bool gobj_loop_timer_is_armed(const gobj_loop_timer_t *t);
void gobj_loop_timer_free(gobj_loop_timer_t *t);

/* Signals are delivered as loop callbacks (never inside the handler).
 * fn NULL removes the handler.  Returns: 0 or a negative code. */
int gobj_loop_on_signal(int signo, void (*fn)(int signo, void *user), void *user);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_LOOP_H */
