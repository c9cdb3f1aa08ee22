/*
 * ginsfsm/gobjs.h - the built-in gclasses: their names, events and helpers.
 */
#ifndef GINSFSM_GOBJS_H
#define GINSFSM_GOBJS_H

#include "gobj.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Register every built-in gclass (idempotent).  Returns: 0 or an error. */
int gobj_register_builtin_gclasses(void);

/*--------------------------------------------------------------------------*
 *  GTimer
 *  attrs: msec (int, ms), periodic (bool), subscriber (string: full name;
 *         default the parent)
 *  in:  EV_SET_TIMER {msec, periodic}  (re-arms; missing keys keep the attrs)
 *       EV_STOP_TIMER {}
 *  out: EV_TIMER_TIMEOUT {}            (published; the subscriber gets it)
 *--------------------------------------------------------------------------*/
/* The output event is EV_TIMER_TIMEOUT, not ginsfsm's EV_TIMEOUT: libevent's
 * <event2/event.h> #defines EV_TIMEOUT, and gclass code includes both. */
#define GCLASS_GTIMER_NAME "GTimer"
GOBJ_DECLARE_EVENT(EV_SET_TIMER);
GOBJ_DECLARE_EVENT(EV_STOP_TIMER);
GOBJ_DECLARE_EVENT(EV_TIMER_TIMEOUT);
GOBJ_DECLARE_STATE(ST_IDLE);
GOBJ_DECLARE_STATE(ST_ARMED);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_GOBJS_H */
