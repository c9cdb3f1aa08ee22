/*
 * walk.h - what the random walk's two files share (doc/testing.md): the
 * model of the gobjs (one slot per gobj), the walker's state, its random
 * numbers and its checks.  walk_gclasses.c holds the two gclasses the walk
 * drives; test_random_walk.c the calls, the invariants and the drivers.
 */
#ifndef WALK_H
#define WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ginsfsm.h"

GOBJ_DECLARE_EVENT(EV_W_SENT);
GOBJ_DECLARE_EVENT(EV_W_POSTED);
GOBJ_DECLARE_EVENT(EV_W_DO);
GOBJ_DECLARE_EVENT(EV_W_GO);
GOBJ_DECLARE_EVENT(EV_W_OUT);
GOBJ_DECLARE_EVENT(EV_W_RENAMED);
GOBJ_DECLARE_EVENT(EV_W_PROBE);
GOBJ_DECLARE_EVENT(EV_W_REFUSED);
GOBJ_DECLARE_STATE(ST_W_IDLE);
GOBJ_DECLARE_STATE(ST_W_BUSY);
GOBJ_DECLARE_STATE(ST_W_TOP);
GOBJ_DECLARE_STATE(ST_W_A);
GOBJ_DECLARE_STATE(ST_W_A1);
GOBJ_DECLARE_STATE(ST_W_A2);
GOBJ_DECLARE_STATE(ST_W_B);
GOBJ_DECLARE_STATE(ST_W_B1);
GOBJ_DECLARE_STATE(ST_W_B2);

#define N_SLOTS   24
#define MAX_NEST  4 /* calls issued from callbacks of calls ... */
#define MAX_DEPTH 4 /* nesting of the hierarchical states */

enum kind { K_FLAT, K_HSM };
enum ctx {
    C_MAIN,
    C_TIMER,
    C_ACTION,
    C_ENTRY,
    C_EXIT,
    C_CREATE,
    C_START,
    C_STOP,
    C_WRITING,
    C_TREE_STARTED,
    C_INJECT,
    N_CTX
};

struct slot {
    gobj_t *g; /* NULL: free.  Set by mt_create, cleared by mt_destroy. */
    unsigned serial;
    int parent; /* slot of the parent, -1 for a root */
    int kind;
    bool unique;
    char name[24];
    uint32_t sent_seq, sent_recv;  /* EV_W_SENT issued / last received */
    uint32_t post_seq, post_recv;  /* EV_W_POSTED issued / last received */
    gobj_state_t stack[MAX_DEPTH]; /* states entered and not exited */
    int depth;
};

struct wpriv {
    int slot;
    unsigned serial;
    int64_t n;
    int64_t ro;
    char *s;
};

extern struct slot slots[N_SLOTS];

struct walker {
    uint64_t rng;
    unsigned long long seed;
    int step;
    int budget; /* calls callbacks may still issue in this step */
    int nest;   /* depth of calls issued from callbacks */
    bool quiet; /* callbacks issue no calls (probes, teardown) */
    bool verbose;
    int failed;       /* violations seen in this walk */
    int pending_slot; /* the slot gobj_create is filling (read by mt_create) */
    unsigned serial;
    bool timer_fired;
    long calls[N_CTX]; /* calls issued, by context */
};
extern struct walker W;

/* A uniform number in [0, n), from the walk's seeded generator. */
uint32_t rnd(uint32_t n);
/* Short printable name of a slot ("#12"), for the trace and the checks. */
const char *sname(int s);
/* Print a line of the step trace (--verbose), indented by nesting. */
void w_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Count a check; report a violation with the seed and the step. */
void w_pass(void);
void w_fail(const char *file, int line, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define W_CHECK(cond, ...)                                  \
    do {                                                    \
        if (!(cond))                                        \
            w_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
        else                                                \
            w_pass();                                       \
    } while (0)

/* Calls a callback of self issues, with probability pct percent, within
 * the step's budget (test_random_walk.c). */
void do_calls(int ctx, int self, unsigned pct);

/* walk_gclasses.c */
extern const gclass_def_t walk_flat_def, walk_hsm_def;
extern gobj_state_t const walk_flat_states[2], walk_hsm_states[7];
/* The superstate of a state of WalkHsm, or NULL. */
gobj_state_t walk_parent_state(gobj_state_t st);

#endif /* WALK_H */
