/*
 * testlib.h - the tiny harness every unit test uses.
 *
 *   int main(void) {
 *       t_init();                 counts json_t allocations, captures the log
 *       ... T_ASSERT / T_EQ_INT / T_EQ_STR ...
 *       return t_done();          fails if a gobj or a json_t is still alive
 *   }
 *
 * Asserts print file, line and both values and count failures; the test goes
 * on so that one run shows every broken rule.
 */
#ifndef GINSFSM_TESTLIB_H
#define GINSFSM_TESTLIB_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ginsfsm.h"

static int t_failures;
static int t_checks;
static long t_json_live;
static char **t_log_lines;      /* captured records, as compact JSON text */
static size_t t_log_n, t_log_cap;
static int t_log_echo;          /* set T_LOG_ECHO=1 to also see the log */

static void *t_json_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        t_json_live++;
    return p;
}

static void t_json_free(void *p)
{
    if (p) {
        t_json_live--;
        free(p);
    }
}

static void t_capture(const json_t *record, void *user)
{
    (void)user;
    /* Captured records are kept as text in plain malloc'd memory, so that
     * they never count as the program's own live json_t. */
    char *s = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return;
    if (t_log_n == t_log_cap) {
        t_log_cap = t_log_cap ? 2 * t_log_cap : 64;
        t_log_lines = realloc(t_log_lines, t_log_cap * sizeof *t_log_lines);
    }
    t_log_lines[t_log_n++] = strdup(s);
    t_json_free(s);
    if (t_log_echo)
        fprintf(stderr, "captured: %s\n", t_log_lines[t_log_n - 1]);
}

#define T_FAIL_(...)                                                          \
    do {                                                                      \
        t_failures++;                                                         \
        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
    } while (0)

#define T_ASSERT(cond)                                                        \
    do {                                                                      \
        t_checks++;                                                           \
        if (!(cond))                                                          \
            T_FAIL_("%s", #cond);                                             \
    } while (0)

#define T_EQ_INT(a, b)                                                        \
    do {                                                                      \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);               \
        t_checks++;                                                           \
        if (t_a_ != t_b_)                                                     \
            T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);            \
    } while (0)

#define T_EQ_STR(a, b)                                                        \
    do {                                                                      \
        const char *t_a_ = (a), *t_b_ = (b);                                  \
        t_checks++;                                                           \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                        \
            T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                     \
                    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");          \
    } while (0)

/* Substring check, e.g. on an error message. */
#define T_CONTAINS(hay, needle)                                               \
    do {                                                                      \
        const char *t_h_ = (hay), *t_n_ = (needle);                           \
        t_checks++;                                                           \
        if (!t_h_ || !strstr(t_h_, t_n_))                                     \
            T_FAIL_("\"%s\" does not contain \"%s\"", t_h_ ? t_h_ : "(null)", \
                    t_n_);                                                    \
    } while (0)

static void t_init(void)
{
    const char *e = getenv("T_LOG_ECHO");
    t_log_echo = e && *e == '1';
    json_set_alloc_funcs(t_json_malloc, t_json_free);
    gobj_log_set_capture(t_capture, NULL);
    gobj_log_set_fd(-1);
    gobj_log_set_level(GOBJ_LOG_DEBUG);
}

/* Number of captured records. */
static inline size_t t_log_count(void)
{
    return t_log_n;
}

/* Record i as compact JSON text with sorted keys (borrowed). */
static inline const char *t_log_text(size_t i)
{
    return i < t_log_n ? t_log_lines[i] : NULL;
}

/* Record i parsed (new: json_decref it), or NULL. */
static inline json_t *t_log_get(size_t i)
{
    return i < t_log_n ? json_loads(t_log_lines[i], JSON_ALLOW_NUL, NULL) : NULL;
}

/* Forget the captured records. */
static inline void t_log_clear(void)
{
    for (size_t i = 0; i < t_log_n; i++)
        free(t_log_lines[i]);
    t_log_n = 0;
}

/* Number of captured records at this level (NULL = any) whose JSON text
 * contains needle (NULL = any), e.g. t_log_find("error", "EV_KICK"). */
static inline size_t t_log_find(const char *level, const char *needle)
{
    size_t n = 0;
    char lv[64];
    if (level)
        snprintf(lv, sizeof lv, "\"level\":\"%s\"", level);
    for (size_t i = 0; i < t_log_n; i++) {
        if (level && !strstr(t_log_lines[i], lv))
            continue;
        if (needle && !strstr(t_log_lines[i], needle))
            continue;
        n++;
    }
    return n;
}

/* A trace the test's actions and methods append words to ("create:a",
 * "act:ac_x"), compared whole with T_EQ_STR. */
static char t_trace[8192];

static inline void t_trace_reset(void)
{
    t_trace[0] = '\0';
}

static void t_trace_add(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void t_trace_add(const char *fmt, ...)
{
    size_t len = strlen(t_trace);
    va_list ap;
    if (len > 0 && len + 1 < sizeof t_trace) {
        t_trace[len++] = ' ';
        t_trace[len] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(t_trace + len, sizeof t_trace - len, fmt, ap);
    va_end(ap);
}

/* Ends the test: no gobj and no json_t may be left alive. */
static int t_done(void)
{
    gobj_log_set_capture(NULL, NULL);
    T_EQ_INT(gobj_live_count(), 0);
    gclass_unregister_all();
    gobj_set_global_attrs(NULL);
    t_checks++;
    if (t_json_live != 0)
        T_FAIL_("%ld json_t allocation(s) still alive", t_json_live);
    json_set_alloc_funcs(malloc, free);
    t_log_clear();
    free(t_log_lines);
    fprintf(stderr, "%d checks, %d failed\n", t_checks, t_failures);
    return t_failures ? 1 : 0;
}

#endif /* GINSFSM_TESTLIB_H */
