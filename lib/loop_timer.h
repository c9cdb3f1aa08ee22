/*
 * loop_timer.h - between lib/loop.c and lib/loop_timer.c (the loop's
 * millisecond timers).  Not installed.
 */
#ifndef GINSFSM_LOOP_TIMER_H
#define GINSFSM_LOOP_TIMER_H

#include <stdbool.h>

struct event_base;
struct event;

/* Creates the timerfd and its event on b.  Returns: 0 or a negative code. */
int loop__timers_init(struct event_base *b);
/* Detaches every timer still alive and closes the timerfd.
 * Returns: how many timers were still alive (a caller's leak to report). */
int loop__timers_free(void);
/* Is ev the timers' own event (not one a gobj left behind)? */
bool loop__is_timer_event(const struct event *ev);

#endif /* GINSFSM_LOOP_TIMER_H */
