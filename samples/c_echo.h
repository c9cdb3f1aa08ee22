/*
 * c_echo.h - Echo, the sample server gclass (gserve's built-in configuration).
 */
#ifndef GINSFSM_SAMPLES_C_ECHO_H
#define GINSFSM_SAMPLES_C_ECHO_H

#include "ginsfsm/gobj.h"

#define GCLASS_ECHO_NAME "Echo"

/* Register Echo (idempotent).  Returns: 0 or a negative GOBJ_E* code. */
int echo_register_gclass(void);

#endif /* GINSFSM_SAMPLES_C_ECHO_H */
