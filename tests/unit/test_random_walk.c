/*
 * test_random_walk.c - a random-walk fuzzer of the gobj API (doc/testing.md).
 *
 * A walk is a seeded random sequence of public calls (create, start, stop,
 * start_tree, stop_tree, destroy, send, post, publish, subscribe with every
 * option, unsubscribe, change_state, attribute writes, gobj_stopped, draining
 * the post queue) over two gclasses, one flat and one hierarchical (nested
 * states with initial substates, FSM_UNHANDLED guards, transitions across
 * branches).  The calls are issued from main, from a loop timer callback
 * (both outside any dispatch) and, recursively, from the gclasses' own
 * actions, entry/exit hooks and methods (mt_create, mt_start, mt_stop,
 * mt_writing, mt_tree_started, mt_inject_event), within a budget per step.
 *
 * The walker keeps a model: one slot per gobj, filled by mt_create and
 * emptied by mt_destroy, so it never holds a pointer to a freed gobj.  After
 * every step taken outside any dispatch it checks (w_quiescent):
 *   - no gobj is left marked: a destroyed gobj is freed once the outermost
 *     call has returned, and gobj_live_count() equals the model's count;
 *   - the tree matches the model (gobj_parent, gobj_child_count, uniques);
 *   - every EV_W_SENT accepted for a gobj was delivered, in order, before
 *     the outermost send returned (a hierarchical gobj queues sends while
 *     busy), and EV_W_POSTED arrive in FIFO order per gobj;
 *   - the states a hierarchical gobj entered through its hooks and has not
 *     exited are exactly the chain of gobj_current_state, and a probe event
 *     with no transition leaves the state alone (no stale pending target).
 * At any time: an action or hook never runs on a gobj that is destroying,
 * hooks enter a state only from its parent and exit only the innermost one,
 * and mt_destroy never runs before the destroy of its children.
 * At the end of each walk: no gobj, no json_t and no posted event left.
 *
 *   test_random_walk                    WALK_WALKS walks (default 1000, 150
 *                                       under valgrind) of
 *                                       WALK_STEPS steps (default 300), seeds 1..
 *   test_random_walk --seed S [--steps N] [--verbose]   replay one walk
 *   test_random_walk --fuzz SECONDS     fresh seeds, each batch in a child
 *                                       process so that a crash names its seed
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "walk.h"

/*---------------------------------------------------------------------*
 *  The walker's state, its numbers and its checks
 *---------------------------------------------------------------------*/
struct slot slots[N_SLOTS];
struct walker W;
static gclass_t *gc_flat, *gc_hsm;
static gobj_loop_timer_t *timer;
static const char *const ctx_names[] = {
    "main",     "timer",   "action",     "entry",           "exit",           "mt_create",
    "mt_start", "mt_stop", "mt_writing", "mt_tree_started", "mt_inject_event"};

void w_pass(void)
{
    t_checks++;
}

void w_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    va_list ap;
    t_checks++;
    if (++W.failed > 8)
        return;
    t_failures++;
    fprintf(stderr, "walk seed %llu step %d: VIOLATION (%s:%d: %s): ", W.seed, W.step, file, line,
            what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void w_say(const char *fmt, ...)
{
    va_list ap;
    if (!W.verbose)
        return;
    fprintf(stderr, "%*s", 2 + 2 * W.nest, "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* xorshift64*: small, fast, and the same sequence on every platform. */
uint32_t rnd(uint32_t n)
{
    W.rng ^= W.rng >> 12;
    W.rng ^= W.rng << 25;
    W.rng ^= W.rng >> 27;
    return (uint32_t)((W.rng * 2685821657736338717ULL) >> 32) % n;
}

const char *sname(int s)
{
    static char buf[4][40];
    static int k;
    if (s < 0)
        return "-";
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "#%u", slots[s].serial);
    return buf[k];
}

static void w_log_capture(const json_t *record, void *user)
{
    (void)user;
    if (!W.verbose)
        return;
    char *s = json_dumps(record, JSON_COMPACT);
    if (s) {
        fprintf(stderr, "%*slog: %s\n", 2 + 2 * W.nest, "", s);
        t_json_free(s); /* json_dumps allocates through the counted functions */
    }
}

/*---------------------------------------------------------------------*
 *  Picking gobjs
 *---------------------------------------------------------------------*/
static int n_alive(void)
{
    int n = 0;
    for (int i = 0; i < N_SLOTS; i++)
        n += slots[i].g != NULL;
    return n;
}

/* A random gobj the model holds (it may be destroying inside a dispatch:
 * calls on it are legal and must find it destroyed), or -1. */
static int pick_any(void)
{
    int n = n_alive();
    if (!n)
        return -1;
    int k = (int)rnd((uint32_t)n);
    for (int i = 0; i < N_SLOTS; i++)
        if (slots[i].g && k-- == 0)
            return i;
    return -1;
}

/* Calls from a callback mostly aim at its own gobj and its relatives. */
static int pick(int self)
{
    if (self >= 0 && slots[self].g) {
        uint32_t r = rnd(100);
        if (r < 40)
            return self;
        if (r < 55 && slots[self].parent >= 0)
            return slots[self].parent;
        if (r < 65)
            for (int i = 0; i < N_SLOTS; i++)
                if (slots[i].g && slots[i].parent == self)
                    return i;
    }
    return pick_any();
}

static gobj_t *gobj_of(int s)
{
    return s >= 0 ? slots[s].g : NULL;
}

static int free_slot(void)
{
    for (int i = 0; i < N_SLOTS; i++)
        if (!slots[i].g)
            return i;
    return -1;
}

/*---------------------------------------------------------------------*
 *  The calls
 *---------------------------------------------------------------------*/
enum op {
    OP_CREATE,
    OP_START,
    OP_STOP,
    OP_START_TREE,
    OP_STOP_TREE,
    OP_DESTROY,
    OP_SEND,
    OP_SEND_GO,
    OP_SEND_DO,
    OP_POST,
    OP_POST_DO,
    OP_PUBLISH,
    OP_SUBSCRIBE,
    OP_UNSUBSCRIBE,
    OP_CHANGE_STATE,
    OP_WRITE_ATTR,
    OP_STOPPED,
    OP_DRAIN, /* outside any dispatch only */
    OP_TIMER, /* from main only */
    N_OPS
};
/* Relative weights: creating and destroying keep the tree moving. */
static const unsigned op_weight[N_OPS] = {
    [OP_CREATE] = 14,   [OP_START] = 6,       [OP_STOP] = 6,         [OP_START_TREE] = 4,
    [OP_STOP_TREE] = 4, [OP_DESTROY] = 8,     [OP_SEND] = 8,         [OP_SEND_GO] = 8,
    [OP_SEND_DO] = 6,   [OP_POST] = 6,        [OP_POST_DO] = 4,      [OP_PUBLISH] = 6,
    [OP_SUBSCRIBE] = 8, [OP_UNSUBSCRIBE] = 3, [OP_CHANGE_STATE] = 6, [OP_WRITE_ATTR] = 4,
    [OP_STOPPED] = 2,   [OP_DRAIN] = 5,       [OP_TIMER] = 3,
};

static int pick_op(int ctx)
{
    unsigned total = 0, r;
    for (int i = 0; i < N_OPS; i++)
        total += op_weight[i];
    for (;;) {
        r = rnd(total);
        int op = 0;
        while (r >= op_weight[op])
            r -= op_weight[op++];
        if (op == OP_DRAIN && ctx != C_MAIN && ctx != C_TIMER)
            continue;
        if (op == OP_TIMER && ctx != C_MAIN)
            continue;
        return op;
    }
}

static void call_create(int self)
{
    int parent = rnd(5) == 0 ? -1 : pick(self);
    int s = free_slot();
    if (s < 0)
        return;
    gobj_t *pg = gobj_of(parent);
    bool parent_dying = pg && gobj_is_destroying(pg);
    struct slot *m = &slots[s];
    memset(m, 0, sizeof *m);
    m->serial = ++W.serial;
    m->parent = parent;
    m->kind = rnd(2) ? K_HSM : K_FLAT;
    m->unique = rnd(10) == 0;
    bool anonymous = !m->unique && rnd(6) == 0;
    snprintf(m->name, sizeof m->name, "%c%u", m->unique ? 'u' : 'g', m->serial);
    json_t *kw = NULL;
    bool bad = false;
    switch (rnd(12)) {
    case 0:
        kw = json_pack("{s:i}", "bogus", 1);
        bad = true;
        break;
    case 1:
        kw = json_pack("{s:s}", "n", "not an integer");
        bad = true;
        break;
    case 2:
    case 3:
    case 4:
        kw = json_pack("{s:i, s:s}", "n", (int)rnd(100), "s", "hello");
        break;
    default:
        break;
    }
    w_say("create %s %s (%s) under %s%s%s", m->kind == K_HSM ? "WalkHsm" : "WalkFlat",
          anonymous ? "(anonymous)" : m->name, sname(s), parent >= 0 ? sname(parent) : "(root)",
          bad ? " [bad attrs]" : "", parent_dying ? " [parent destroying]" : "");
    W.pending_slot = s;
    gclass_t *gc = m->kind == K_HSM ? gc_hsm : gc_flat;
    const char *name = anonymous ? NULL : m->name;
    gobj_t *g = m->unique ? gobj_create_unique(name, gc, kw, pg) : gobj_create(name, gc, kw, pg);
    W.pending_slot = -1;
    if (bad || parent_dying)
        W_CHECK(!g, "create %s with %s succeeded", sname(s),
                bad ? "bad attributes" : "a destroying parent");
    if (g)
        W_CHECK(slots[s].g == g, "create %s returned a gobj the model does not hold", sname(s));
}

/* Subscription options (doc/manual.md chapter 2, rule 12), at random. */
static json_t *random_sub_options(void)
{
    json_t *o = json_object();
    if (rnd(4) == 0)
        json_object_set_new(o, "__rename_event_name__", json_string("EV_W_RENAMED"));
    if (rnd(4) == 0)
        json_object_set_new(o, "__use_post_event__", json_true());
    if (rnd(4) == 0)
        json_object_set_new(o, "__filter__", json_pack("{s:s}", "color", "red"));
    if (rnd(4) == 0)
        json_object_set_new(o, "__own_event__", json_true());
    if (rnd(4) == 0)
        json_object_set_new(o, "__hard_subscription__", json_true());
    return o;
}

static void timer_cb(void *user);

/* Was the gobj destroyed during the call (freed, or marked inside a
 * dispatch)?  A send whose row's state change made a subscriber destroy the
 * gobj returns GOBJ_EDESTROYED: the action never ran. */
static bool gone(int t, gobj_t *g, unsigned serial)
{
    return slots[t].g != g || slots[t].serial != serial || gobj_is_destroying(g);
}

static void do_call(int ctx, int self)
{
    int op = pick_op(ctx);
    int t = pick(self);
    gobj_t *g = gobj_of(t);
    gobj_t *src = self >= 0 ? gobj_of(self) : (rnd(2) ? gobj_of(pick_any()) : NULL);
    /* Read before the call: the call may free g. */
    bool dying = g && gobj_is_destroying(g);
    int kind = t >= 0 ? slots[t].kind : K_FLAT;
    unsigned serial = t >= 0 ? slots[t].serial : 0;
    int rc;
    W.calls[ctx]++;
    if (op != OP_CREATE && op != OP_DRAIN && op != OP_TIMER && !g)
        return;
    switch (op) {
    case OP_CREATE:
        call_create(self);
        break;
    case OP_START:
        w_say("start %s", sname(t));
        rc = gobj_start(g);
        if (dying)
            W_CHECK(rc == GOBJ_EDESTROYED, "start of a destroying gobj returned %d", rc);
        break;
    case OP_STOP:
        w_say("stop %s", sname(t));
        gobj_stop(g);
        break;
    case OP_START_TREE:
        w_say("start_tree %s", sname(t));
        rc = gobj_start_tree(g);
        if (dying)
            W_CHECK(rc == GOBJ_EDESTROYED, "start_tree of a destroying gobj returned %d", rc);
        break;
    case OP_STOP_TREE:
        w_say("stop_tree %s", sname(t));
        gobj_stop_tree(g);
        break;
    case OP_DESTROY:
        w_say("destroy %s", sname(t));
        gobj_destroy(g);
        break;
    case OP_SEND: {
        uint32_t seq = ++slots[t].sent_seq;
        w_say("send EV_W_SENT #%u to %s", seq, sname(t));
        rc = gobj_send_event(g, EV_W_SENT, json_pack("{s:i}", "seq", (int)seq), src);
        if (dying)
            W_CHECK(rc == GOBJ_EDESTROYED, "send to a destroying gobj returned %d", rc);
        else
            W_CHECK(rc >= 0 || (rc == GOBJ_EDESTROYED && gone(t, g, serial)),
                    "send EV_W_SENT to %s returned %d", sname(t), rc);
        break;
    }
    case OP_SEND_GO:
    case OP_SEND_DO: {
        /* EV_W_REFUSED is refused by most states: WalkFlat logs and
         * returns GOBJ_ENOEVENT, WalkHsm hands it to mt_inject_event. */
        gobj_event_t ev = op == OP_SEND_GO ? EV_W_GO : rnd(3) == 0 ? EV_W_REFUSED : EV_W_DO;
        w_say("send %s to %s", ev->name, sname(t));
        rc = gobj_send_event(g, ev, NULL, src);
        if (dying)
            W_CHECK(rc == GOBJ_EDESTROYED, "send to a destroying gobj returned %d", rc);
        else
            W_CHECK(rc >= 0 || (rc == GOBJ_EDESTROYED && gone(t, g, serial)) ||
                        (rc == GOBJ_ENOEVENT && ev == EV_W_REFUSED && kind == K_FLAT),
                    "send %s to %s returned %d", ev->name, sname(t), rc);
        break;
    }
    case OP_POST: {
        uint32_t seq = ++slots[t].post_seq;
        w_say("post EV_W_POSTED #%u to %s", seq, sname(t));
        rc = gobj_post_event(g, EV_W_POSTED, json_pack("{s:i}", "seq", (int)seq), src);
        W_CHECK(rc == (dying ? GOBJ_EDESTROYED : 0), "post to %s returned %d", sname(t), rc);
        break;
    }
    case OP_POST_DO: {
        gobj_event_t ev = rnd(2) ? EV_W_GO : rnd(3) == 0 ? EV_W_REFUSED : EV_W_DO;
        w_say("post %s to %s", ev->name, sname(t));
        rc = gobj_post_event(g, ev, NULL, src);
        W_CHECK(rc == (dying ? GOBJ_EDESTROYED : 0), "post to %s returned %d", sname(t), rc);
        break;
    }
    case OP_PUBLISH: {
        const char *color = rnd(2) ? "red" : "blue";
        w_say("publish EV_W_OUT {%s} from %s", color, sname(t));
        rc = gobj_publish_event(g, EV_W_OUT, json_pack("{s:s}", "color", color));
        W_CHECK(rc >= 0, "publish from %s returned %d", sname(t), rc);
        if (dying)
            W_CHECK(rc == 0, "publish from a destroying gobj delivered %d", rc);
        break;
    }
    case OP_SUBSCRIBE: {
        int sub = pick_any();
        gobj_t *sg = gobj_of(sub);
        bool sub_dying = sg && gobj_is_destroying(sg);
        uint32_t which = rnd(3);
        gobj_event_t ev = which == 0 ? NULL : which == 1 ? EV_W_OUT : EV_STATE_CHANGED;
        json_t *opts = random_sub_options();
        if (W.verbose) {
            char *o = json_dumps(opts, JSON_COMPACT);
            w_say("subscribe %s to %s of %s %s", sname(sub), ev ? ev->name : "(all)", sname(t), o);
            t_json_free(o);
        }
        rc = gobj_subscribe_event(g, ev, opts, sg);
        if (dying || sub_dying)
            W_CHECK(rc == GOBJ_EINVAL, "subscribe with a destroying gobj returned %d", rc);
        else
            W_CHECK(rc == 0 || rc == GOBJ_EEXIST, "subscribe returned %d", rc);
        break;
    }
    case OP_UNSUBSCRIBE: {
        int sub = pick_any();
        uint32_t which = rnd(3);
        gobj_event_t ev = which == 0 ? NULL : which == 1 ? EV_W_OUT : EV_STATE_CHANGED;
        bool force = rnd(3) == 0;
        w_say("unsubscribe %s from %s of %s%s", sname(sub), ev ? ev->name : "(all)", sname(t),
              force ? " (forced)" : "");
        gobj_unsubscribe_event(g, ev, force ? json_pack("{s:b}", "__force__", 1) : NULL,
                               gobj_of(sub));
        break;
    }
    case OP_CHANGE_STATE: {
        gobj_state_t st = kind == K_HSM ? walk_hsm_states[rnd(7)] : walk_flat_states[rnd(2)];
        w_say("change_state %s to %s", sname(t), st->name);
        gobj_change_state(g, st);
        break;
    }
    case OP_WRITE_ATTR: {
        uint32_t which = rnd(5);
        const char *name = which == 0   ? "n"
                           : which == 1 ? "s"
                           : which == 2 ? "ro"
                           : which == 3 ? "nope"
                                        : "n";
        json_t *v = which == 1   ? json_string("w")
                    : which == 4 ? json_string("not an integer")
                                 : json_integer(rnd(1000));
        int want = which == 2   ? GOBJ_EACCES
                   : which == 3 ? GOBJ_ENOENT
                   : which == 4 ? GOBJ_ETYPE
                                : 0;
        w_say("write_attr %s.%s", sname(t), name);
        rc = gobj_write_attr(g, name, v);
        if (!dying)
            W_CHECK(rc == want, "write_attr %s.%s returned %d, expected %d", sname(t), name, rc,
                    want);
        break;
    }
    case OP_STOPPED:
        w_say("stopped %s", sname(t));
        gobj_stopped(g);
        break;
    case OP_DRAIN: {
        size_t max = 1 + rnd(8);
        w_say("run_posted %zu (%zu queued)", max, gobj_posted_count());
        gobj_run_posted(max);
        break;
    }
    case OP_TIMER:
        /* The loop must find nothing but the timer: which turn runs a
         * 0 ms timer depends on the clock, and a walk must depend only on
         * its seed.  So what is queued is delivered first. */
        for (int i = 0; i < 64 && gobj_posted_count(); i++)
            gobj_run_posted(SIZE_MAX);
        if (gobj_posted_count())
            break;
        w_say("loop turn with a 0 ms timer");
        W.timer_fired = false;
        gobj_loop_timer_start(timer, 0, false);
        for (int i = 0; i < 10 && !W.timer_fired; i++)
            gobj_loop_run_once(true);
        W_CHECK(W.timer_fired, "a 0 ms timer did not fire in 10 loop turns");
        break;
    default:
        break;
    }
}

/* Calls issued by a callback, within the step's budget. */
void do_calls(int ctx, int self, unsigned pct)
{
    if (W.quiet || W.budget <= 0 || W.nest >= MAX_NEST || rnd(100) >= pct)
        return;
    int n = 1 + (int)rnd(2);
    W.nest++;
    w_say("(from %s of %s)", ctx_names[ctx], sname(self));
    for (int i = 0; i < n && W.budget > 0; i++) {
        W.budget--;
        do_call(ctx, self);
    }
    W.nest--;
}

/*---------------------------------------------------------------------*
 *  Invariants at quiescence (outside any dispatch)
 *---------------------------------------------------------------------*/
static void check_hooks(int s)
{
    struct slot *m = &slots[s];
    gobj_state_t chain[MAX_DEPTH + 1];
    int n = 0;
    for (gobj_state_t st = gobj_current_state(m->g); st && n <= MAX_DEPTH;
         st = walk_parent_state(st))
        chain[n++] = st;
    bool same = n == m->depth;
    for (int i = 0; same && i < n; i++)
        same = chain[n - 1 - i] == m->stack[i];
    W_CHECK(same, "%s is in %s, but its hooks entered %d state(s) ending in %s", sname(s),
            gobj_state_name(gobj_current_state(m->g)), m->depth,
            m->depth ? m->stack[m->depth - 1]->name : "nothing");
}

static void w_quiescent(void)
{
    size_t alive = 0;
    for (int i = 0; i < N_SLOTS; i++) {
        struct slot *m = &slots[i];
        if (!m->g)
            continue;
        alive++;
        if (gobj_is_destroying(m->g)) {
            w_fail(__FILE__, __LINE__, "freed",
                   "%s is destroyed but not freed after the outermost call", sname(i));
            continue;
        }
        W_CHECK(gobj_parent(m->g) == gobj_of(m->parent), "%s: gobj_parent is not %s", sname(i),
                sname(m->parent));
        size_t kids = 0;
        for (int j = 0; j < N_SLOTS; j++)
            kids += slots[j].g && slots[j].parent == i;
        W_CHECK(gobj_child_count(m->g) == kids, "%s: gobj_child_count %zu, the model has %zu",
                sname(i), gobj_child_count(m->g), kids);
        if (m->unique)
            W_CHECK(gobj_find_unique(m->name) == m->g, "unique %s not found", m->name);
        W_CHECK(m->sent_recv == m->sent_seq,
                "%s: %u EV_W_SENT accepted, only %u delivered when the outermost call returned",
                sname(i), m->sent_seq, m->sent_recv);
        W_CHECK(m->post_recv <= m->post_seq, "%s: more posts delivered than made", sname(i));
        if (m->kind != K_HSM)
            continue;
        /* An event without a transition must leave the state alone: a
         * target recorded outside a step must not surface now. */
        gobj_state_t before = gobj_current_state(m->g);
        W.quiet = true;
        int rc = gobj_send_event(m->g, EV_W_PROBE, NULL, NULL);
        W.quiet = false;
        W_CHECK(rc == 0, "probe of %s returned %d", sname(i), rc);
        if (!m->g)
            continue;
        W_CHECK(gobj_current_state(m->g) == before, "a probe moved %s from %s to %s", sname(i),
                before->name, gobj_state_name(gobj_current_state(m->g)));
        check_hooks(i);
    }
    W_CHECK(gobj_live_count() == alive, "gobj_live_count %zu, the model holds %zu",
            gobj_live_count(), alive);
}

/*---------------------------------------------------------------------*
 *  A walk
 *---------------------------------------------------------------------*/
static void timer_cb(void *user)
{
    (void)user;
    W.timer_fired = true;
    int n = 1 + (int)rnd(3);
    for (int i = 0; i < n && !W.failed; i++) {
        w_say("(timer callback, outside any dispatch)");
        do_call(C_TIMER, -1);
        w_quiescent();
    }
}

static int run_walk(unsigned long long seed, int steps)
{
    /* The registered gclasses hold their attribute defaults. */
    long json_base = t_json_live;
    memset(slots, 0, sizeof slots);
    W.seed = seed;
    /* splitmix64 of the seed: any seed, also 0, gives a good start. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    W.rng = (z ^ (z >> 31)) | 1;
    W.failed = 0;
    W.nest = 0;
    W.quiet = false;
    W.pending_slot = -1;
    W.serial = 0; /* the same names in a batch as in a replay */
    for (W.step = 1; W.step <= steps && !W.failed; W.step++) {
        W.budget = 4 + (int)rnd(12);
        if (W.verbose)
            fprintf(stderr, "step %d\n", W.step);
        do_call(C_MAIN, -1);
        w_quiescent();
    }
    if (W.verbose)
        fprintf(stderr, "teardown\n");
    /* Teardown: callbacks issue no more calls, so this ends. */
    W.quiet = true;
    for (int k = 0; k < 64 && gobj_posted_count(); k++)
        gobj_run_posted(SIZE_MAX);
    for (int i = 0; i < N_SLOTS; i++)
        if (slots[i].g)
            W_CHECK(slots[i].post_recv == slots[i].post_seq,
                    "%s: %u EV_W_POSTED made, %u delivered after draining", sname(i),
                    slots[i].post_seq, slots[i].post_recv);
    for (int i = 0; i < N_SLOTS; i++)
        if (slots[i].g && slots[i].parent < 0)
            gobj_destroy(slots[i].g);
    W_CHECK(gobj_posted_count() == 0, "%zu posted events left for destroyed gobjs",
            gobj_posted_count());
    W_CHECK(n_alive() == 0, "%d gobjs left in the model after destroying the roots", n_alive());
    W_CHECK(gobj_live_count() == 0, "%zu gobjs alive after the walk", gobj_live_count());
    W_CHECK(t_json_live == json_base, "%ld json_t alive after the walk, %ld before", t_json_live,
            json_base);
    W.quiet = false;
    return W.failed;
}

/*---------------------------------------------------------------------*
 *  Drivers: make check, one replay, fuzz for a time
 *---------------------------------------------------------------------*/
static void setup(void)
{
    t_init();
    gobj_log_set_capture(w_log_capture, NULL);
    gobj_log_set_level(GOBJ_LOG_INFO);
    gc_flat = gclass_register(&walk_flat_def);
    gc_hsm = gclass_register(&walk_hsm_def);
    T_ASSERT(gc_flat && gc_hsm);
    T_EQ_INT(gobj_loop_init(), 0);
    timer = gobj_loop_timer_new(timer_cb, NULL);
    T_ASSERT(timer);
}

static int finish(void)
{
    gobj_loop_timer_free(timer);
    gobj_loop_free();
    return t_done();
}

static void replay_hint(unsigned long long seed, int steps)
{
    fprintf(stderr,
            "walk seed %llu FAILED; replay: tests/unit/test_random_walk --seed %llu "
            "--steps %d --verbose\n",
            seed, seed, steps);
}

struct fuzz_shared {
    volatile unsigned long long seed;
    volatile long walks, steps;
};

static int fuzz(long secs, int steps)
{
    struct fuzz_shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    unsigned long long next =
        ((unsigned long long)time(NULL) << 20) ^ ((unsigned long long)getpid() << 4);
    time_t end = time(NULL) + secs;
    long failed = 0;
    printf("fuzz-walk: %ld s of walks of %d steps, seeds from %llu\n", secs, steps, next);
    fflush(stdout);
    while (time(NULL) < end) {
        sh->seed = next;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            /* A batch of walks per process: a crash (sanitizer abort)
             * leaves the seed it was running in the shared page. */
            setup();
            int bad = 0;
            for (int k = 0; k < 200 && time(NULL) < end; k++) {
                sh->seed = next + (unsigned long long)k;
                if (run_walk(sh->seed, steps)) {
                    bad = 1;
                    break;
                }
                sh->walks++;
                sh->steps += steps;
            }
            int rc = finish();
            exit(bad || rc ? 1 : 0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            /* Go on with the next seed: one run lists every failing seed
             * it met, not only the first. */
            failed++;
            fprintf(stderr, "fuzz-walk: a walk failed (%s %d)\n",
                    WIFSIGNALED(status) ? "signal" : "exit status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            replay_hint(sh->seed, steps);
        }
        next = sh->seed + 1;
    }
    printf("fuzz-walk: %ld walks of %d steps clean (%ld steps), %ld failed\n", sh->walks, steps,
           sh->steps, failed);
    return failed ? 1 : 0;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

static void usage(void)
{
    fprintf(stderr, "usage: test_random_walk [--seed S] [--steps N] [--walks N] [--verbose]\n"
                    "       test_random_walk --fuzz SECONDS [--steps N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    /* About 2 s natively and under ASan.  Valgrind runs the walks some 50
     * times slower: make check-valgrind gets fewer (about 20 s). */
    const char *preload = getenv("LD_PRELOAD");
    bool valgrind = preload && strstr(preload, "vgpreload");
    long walks = env_long("WALK_WALKS", valgrind ? 150 : 1000), fuzz_secs = -1;
    int steps = (int)env_long("WALK_STEPS", 300);
    unsigned long long first = (unsigned long long)env_long("WALK_SEED", 1);
    bool one = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0)
            W.verbose = true;
        else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0)
            first = strtoull(argv[++i], NULL, 10), one = true;
        else if (i + 1 < argc && strcmp(argv[i], "--steps") == 0)
            steps = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--walks") == 0)
            walks = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--fuzz") == 0)
            fuzz_secs = atol(argv[++i]);
        else
            usage();
    }
    if (steps <= 0 || walks <= 0)
        usage();
    if (fuzz_secs >= 0)
        return fuzz(fuzz_secs, steps);
    if (one)
        walks = 1;
    setup();
    long done = 0;
    for (long k = 0; k < walks; k++) {
        unsigned long long seed = first + (unsigned long long)k;
        if (run_walk(seed, steps)) {
            replay_hint(seed, steps);
            break;
        }
        done++;
    }
    fprintf(stderr, "%ld of %ld walks of %d steps clean; calls by context:", done, walks, steps);
    for (int c = 0; c < N_CTX; c++)
        fprintf(stderr, " %s %ld", ctx_names[c], W.calls[c]);
    fputc('\n', stderr);
    return finish();
}
