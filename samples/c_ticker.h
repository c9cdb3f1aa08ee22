/*
 * c_ticker.h - Ticker, the sample gclass of gserve's built-in configuration.
 */
#ifndef GINSFSM_SAMPLES_C_TICKER_H
#define GINSFSM_SAMPLES_C_TICKER_H

#include "ginsfsm/gobj.h"

#define GCLASS_TICKER_NAME "Ticker"

/* Output: published on every tick, kw {count: int}. */
GOBJ_DECLARE_EVENT(EV_TICK);

/* Register Ticker (idempotent).  Returns: 0 or a negative GOBJ_E* code. */
int ticker_register_gclass(void);

#endif /* GINSFSM_SAMPLES_C_TICKER_H */
