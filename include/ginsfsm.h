/*
 * ginsfsm.h - umbrella header: everything a program built on ginsfsm uses.
 */
#ifndef GINSFSM_H
#define GINSFSM_H

#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"
#include "ginsfsm/gobjs.h"
#include "ginsfsm/app.h"

#endif /* GINSFSM_H */
