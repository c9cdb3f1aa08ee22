/*
 * ginsfsm/log.h - structured logging and trace levels.
 *
 * A log record is {ts, level, gobj, msg, fields...}.  It is written to stderr
 * (text or JSON lines) and, if set, handed to a capture hook as a JSON object
 * so that tests can assert on what was logged.
 */
#ifndef GINSFSM_LOG_H
#define GINSFSM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include <jansson.h>

#include "gobj.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in the public headers is exported; the rest of the
 * library is built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

typedef enum {
    GOBJ_LOG_ERROR = 0,
    GOBJ_LOG_WARN,
    GOBJ_LOG_INFO,
    GOBJ_LOG_DEBUG,
    GOBJ_LOG_TRACE, /* trace records: shown whenever their trace level is on */
} gobj_log_level_t;

typedef enum {
    GOBJ_LOG_TEXT = 0,
    GOBJ_LOG_JSON,
} gobj_log_format_t;

/* Records above this level are dropped (default GOBJ_LOG_INFO).
 * Trace records ignore the level. */
void gobj_log_set_level(gobj_log_level_t level);
gobj_log_level_t gobj_log_get_level(void);
void gobj_log_set_format(gobj_log_format_t format);
/* Returns: 0 and sets *level, or GOBJ_EINVAL for an unknown name
 * ("error", "warn", "info", "debug", "trace"). */
int gobj_log_level_from_name(const char *name, gobj_log_level_t *level);
const char *gobj_log_level_name(gobj_log_level_t level);
/* Where records go: a file descriptor (default 2), -1 to write nothing. */
void gobj_log_set_fd(int fd);
/* Capture hook: record is borrowed, valid during the call.  The record is
 * still written to the fd.  NULL to clear. */
typedef void (*gobj_log_capture_fn)(const json_t *record, void *user);
void gobj_log_set_capture(gobj_log_capture_fn fn, void *user);

/* Would a record at this level be emitted?  Guard costly field building. */
bool gobj_log_enabled(gobj_log_level_t level);

/* Log one record.  gobj may be NULL.  After msg come pairs
 * (const char *key, json_t *value), each value stolen, ended by NULL:
 *     gobj_log(GOBJ_LOG_INFO, gobj, "listening",
 *              "address", json_string("127.0.0.1:7000"), NULL);
 * Every value is released even when the level is disabled. */
void gobj_log(gobj_log_level_t level, const gobj_t *gobj, const char *msg, ...);
void gobj_logv(gobj_log_level_t level, const gobj_t *gobj, const char *msg, va_list ap);
/* Same, with fields as one JSON object (stolen, may be NULL). */
void gobj_log_json(gobj_log_level_t level, const gobj_t *gobj, const char *msg, json_t *fields);
/* printf-style message, no fields. */
void gobj_logf(gobj_log_level_t level, const gobj_t *gobj, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*--------------------------------------------------------------------------*
 *  Trace levels
 *--------------------------------------------------------------------------*/
enum {
    GOBJ_TRACE_MACHINE = 0x01,       /* each dispatch: gobj, state, event, action, next, depth */
    GOBJ_TRACE_TRAFFIC = 0x02,       /* hexdump of rx/tx */
    GOBJ_TRACE_SUBSCRIPTIONS = 0x04, /* subscribe, unsubscribe, publish */
    GOBJ_TRACE_LIFECYCLE = 0x08,     /* create, start, stop, destroy */
};
/* Parse "machine", "traffic", "subscriptions", "lifecycle" (or "all").
 * Returns: the bit, or 0 for an unknown name. */
unsigned gobj_trace_level_from_name(const char *name);
const char *gobj_trace_level_name(unsigned bit);

void gobj_set_global_trace(unsigned levels);
unsigned gobj_get_global_trace(void);
void gclass_set_trace(gclass_t *gc, unsigned levels);
void gobj_set_trace(gobj_t *gobj, unsigned levels);
/* Effective levels: global | gclass | gobj. */
unsigned gobj_trace_levels(const gobj_t *gobj);
static inline bool gobj_is_tracing(const gobj_t *gobj, unsigned level)
{
    return (gobj_trace_levels(gobj) & level) != 0;
}
/* Apply a --trace SPEC: "LEVEL[,LEVEL]" (global), "GClass:LEVEL[,LEVEL]", or
 * "full.name:LEVEL[,LEVEL]" (a gobj that exists now or is created later).
 * Returns: 0, or GOBJ_EINVAL with the reason logged. */
int gobj_trace_apply_spec(const char *spec);
/* Clear the levels a SPEC names (the same forms), on what exists now and
 * on what is created later.  Returns: 0, or GOBJ_EINVAL (logged). */
int gobj_trace_remove_spec(const char *spec);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_LOG_H */
