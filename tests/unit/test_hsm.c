/*
 * test_hsm.c - pinning cases 1 to 21 of the hierarchical-state semantics
 * (doc/manual.md chapter 6, "Hierarchical states", and rules 4 to 8 of its
 * chapter 2, the dispatch contract).
 *
 * The fixture is the socket gclass of the manual's section 6.1
 * (DISCONNECTED, CONNECTING, and CONNECTED with substates IDLE and SENDING)
 * plus two test-only rows (EV_KICK in CONNECTED -> SENDING, EV_TX_ABORT in
 * SENDING -> CONNECTED).  Every action appends "act:NAME" to a trace, every state has
 * an entry and an exit hook that append "entry:STATE" / "exit:STATE", and a
 * watcher gobj subscribed to EV_STATE_CHANGED appends "chg:PREV>CUR".  State
 * names lose their "ST_" prefix in the trace so that the expected strings
 * stay short.  Each case compares the whole trace.
 *
 *   DISCONNECTED --EV_CONNECT--> CONNECTING --EV_CONNECTED--> CONNECTED
 *        ^                          |                         +--------------------+
 *        '------EV_TIMEOUT----------'                         | IDLE  --EV_TX_DATA-->|
 *        ^                                                    |       SENDING      |
 *        '----------- EV_DROP / EV_DISCONNECTED --------------| <--EV_TX_READY--   |
 *                                                             +--------------------+
 */
#include "hsm_fixture.h"

/*--------------------------------------------------------------------------*
 *  Cases
 *--------------------------------------------------------------------------*/
/* 1. Create enters the first state; a composite first state drills. */
static void case_01_create(void)
{
    knobs_reset();
    trace_reset();
    gobj_t *w = gobj_create("watcher", gc_watch, NULL, NULL);
    gobj_t *sock = gobj_create("sock", gc_sock, NULL, w);
    T_EQ_STR(trace, "entry:DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    gobj_destroy(w);

    trace_reset();
    w = gobj_create("watcher", gc_watch, NULL, NULL);
    sock = gobj_create("sock", gc_sock_first, NULL, w);
    T_EQ_STR(trace, "entry:CONNECTED entry:IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    gobj_destroy(w);
    T_EQ_INT(gobj_live_count(), 0);
}

/* 2. A sibling transition: action, exit, entry, change. */
static void case_02_connect(void)
{
    gobj_t *sock = sock_in(ST_DISCONNECTED);
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, NULL), 0);
    T_EQ_STR(trace,
             "act:ac_connect exit:DISCONNECTED entry:CONNECTING chg:DISCONNECTED>CONNECTING");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    finish();
}

/* 3. A row without action into a composite drills to its initial leaf. */
static void case_03_connected(void)
{
    gobj_t *sock = sock_in(ST_CONNECTING);
    T_EQ_INT(gobj_send_event(sock, EV_CONNECTED, NULL, NULL), 0);
    T_EQ_STR(trace, "exit:CONNECTING entry:CONNECTED entry:IDLE chg:CONNECTING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 4. A row found in the superstate with no next state is internal. */
static void case_04_rx_bubbled(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_RX_DATA, json_pack("{s:s}", "data", "abc"), NULL), 0);
    T_EQ_STR(trace, "act:ac_rx_data");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 5. The leaf's row overrides the superstate's row for the same event. */
static void case_05_start_tx(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, json_pack("{s:s}", "data", "abc"), NULL), 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 6. The leaf's guard says yes: internal, nothing else runs. */
static void case_06_try_write_ok(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = 0;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 7. The leaf's guard says no: the superstate's row fires and its value is
 * what send returns. */
static void case_07_try_write_unhandled(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = FSM_UNHANDLED;
    knobs.enqueue_tx_ret = 7;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 7);
    T_EQ_STR(trace, "act:ac_try_write act:ac_enqueue_tx");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();
}

/* 8. Every guard says no: refused like an event with no row. */
static void case_08_all_unhandled(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.try_write_ret = FSM_UNHANDLED;
    knobs.enqueue_tx_ret = FSM_UNHANDLED;
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, json_pack("{s:s}", "data", "abc"), NULL),
             GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "act:ac_try_write act:ac_enqueue_tx");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_SENDING"), 1);
    T_EQ_INT(t_log_find("error", "EV_TX_DATA"), 1);
    finish();
}

/* 9. Bubbled row to a top-level state: exits innermost first. */
static void case_09_drop(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_STR(
        trace,
        "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();
}

/* 10. Self-transition of the source state is external: exits and re-enters
 * it, then drills to the initial leaf. */
static void case_10_resync_from_sending(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_RESYNC, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_flush exit:SENDING exit:CONNECTED entry:CONNECTED entry:IDLE "
                    "chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 11. Same from IDLE: the leaf ends where it started, so no change event. */
static void case_11_resync_from_idle(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_RESYNC, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_flush exit:IDLE exit:CONNECTED entry:CONNECTED entry:IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 12. A transition to an ancestor is local: the ancestor is not exited. */
static void case_12_abort_to_ancestor(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_TX_ABORT, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_abort_tx exit:SENDING entry:IDLE chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 13. A row owned by an ancestor of the target is local too; when the
 * target is the current leaf, the leaf is exited and re-entered. */
static void case_13_kick(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_EQ_INT(gobj_send_event(sock, EV_KICK, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_kick exit:IDLE entry:SENDING chg:IDLE>SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");

    trace_reset();
    T_EQ_INT(gobj_send_event(sock, EV_KICK, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_kick exit:SENDING entry:SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 14. No row anywhere: refused, nothing runs, kw released; with
 * mt_inject_event the method gets it instead. */
static void case_14_refused(void)
{
    gobj_t *sock = sock_in(ST_CONNECTING);
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, json_pack("{s:i}", "n", 3), NULL), GOBJ_ENOEVENT);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_CONNECTING"), 1);
    T_EQ_INT(t_log_find("error", "EV_TX_READY"), 1);
    finish();

    sock = new_obj(gc_sock_inject);
    gobj_send_event(sock, EV_CONNECT, NULL, NULL);
    trace_reset();
    live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, json_pack("{s:i}", "n", 3), NULL), 42);
    T_EQ_INT(t_json_live, live);
    T_EQ_STR(trace, "inject:EV_TX_READY:3");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    T_EQ_INT(t_log_find("error", NULL), 0);
    finish();
}

/* 15. A row in another branch does not count. */
static void case_15_other_branch(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    T_ASSERT(!gobj_has_input_event(sock, EV_CONNECT));
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, NULL), GOBJ_ENOEVENT);
    T_EQ_STR(trace, "");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_INT(t_log_find("error", "ST_IDLE"), 1);
    finish();
}

/* 16. A send to a busy gobj is queued (returns 0) and runs as a full step
 * after the current one, whether it comes from the gobj itself or back
 * through a child that runs synchronously. */
static void case_16_self_send(void)
{
    gobj_t *sock = sock_in(ST_IDLE);
    knobs.start_tx_self_send = 1;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_INT(knobs.nested_calls, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();

    sock = sock_in(ST_IDLE);
    knobs.start_tx_self_send = 2;
    T_EQ_INT(gobj_send_event(sock, EV_TX_DATA, NULL, NULL), 0);
    T_EQ_INT(knobs.bounces, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_start_tx exit:IDLE entry:SENDING chg:IDLE>SENDING act:ac_try_write");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 17. A send from an exit hook is queued behind the current step too. */
static void case_17_send_from_hook(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.ex_connected_send = 1;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(knobs.nested_calls, 1);
    T_EQ_INT(knobs.nested_ret, 0);
    T_EQ_STR(trace, "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED "
                    "chg:SENDING>DISCONNECTED "
                    "act:ac_connect exit:DISCONNECTED entry:CONNECTING "
                    "chg:DISCONNECTED>CONNECTING");
    T_EQ_STR(state_of(sock), "ST_CONNECTING");
    finish();
}

/* 18. gobj_change_state() inside an action replaces the row's next state. */
static void case_18_change_in_action(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, NULL, NULL), 0);
    T_EQ_STR(trace, "act:ac_tx_done exit:SENDING entry:IDLE chg:SENDING>IDLE");
    finish();

    sock = sock_in(ST_SENDING);
    knobs.tx_done_to_sending = 1;
    T_EQ_INT(gobj_send_event(sock, EV_TX_READY, NULL, NULL), 0);
    T_EQ_INT(knobs.change_ret, 1);
    T_EQ_STR(trace, "act:ac_tx_done exit:SENDING entry:SENDING");
    T_EQ_STR(state_of(sock), "ST_SENDING");
    finish();
}

/* 19. gobj_change_state() inside a hook is refused with one error and the
 * step goes on unchanged. */
static void case_19_change_in_hook(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.ex_connected_change = 1;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(knobs.change_ret, 0);
    T_EQ_INT(t_log_find("error", NULL), 1);
    T_EQ_STR(
        trace,
        "act:ac_close exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();
}

/* 20. gobj_change_state() outside any step transitions at once. */
static void case_20_change_outside(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    T_ASSERT(gobj_change_state(sock, ST_DISCONNECTED));
    T_EQ_STR(trace, "exit:SENDING exit:CONNECTED entry:DISCONNECTED chg:SENDING>DISCONNECTED");
    T_EQ_STR(state_of(sock), "ST_DISCONNECTED");
    finish();

    /* A composite target drills to its initial leaf. */
    sock = sock_in(ST_SENDING);
    T_ASSERT(gobj_change_state(sock, ST_CONNECTED));
    T_EQ_STR(trace, "exit:SENDING entry:IDLE chg:SENDING>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();

    sock = sock_in(ST_DISCONNECTED);
    T_ASSERT(gobj_change_state(sock, ST_CONNECTED));
    T_EQ_STR(trace, "exit:DISCONNECTED entry:CONNECTED entry:IDLE chg:DISCONNECTED>IDLE");
    T_EQ_STR(state_of(sock), "ST_IDLE");
    finish();
}

/* 21. An action destroying its own gobj stops the step; gobj_destroy runs
 * no exit hooks. */
static void case_21_destroy(void)
{
    gobj_t *sock = sock_in(ST_SENDING);
    knobs.close_destroys = 1;
    knobs.close_ret = 5;
    long live = t_json_live;
    T_EQ_INT(gobj_send_event(sock, EV_DROP, NULL, NULL), 5);
    T_EQ_STR(trace, "act:ac_close");
    T_EQ_INT(knobs.nested_ret, 0);
    /* The queued EV_RX_DATA was dropped and its kw released. */
    T_EQ_INT(t_json_live, live);
    T_ASSERT(gobj_find_child(watcher, "sock") == NULL);
    T_EQ_INT(gobj_live_count(), 1);
    finish();

    sock = sock_in(ST_SENDING);
    gobj_destroy(sock);
    T_EQ_STR(trace, "");
    T_EQ_INT(gobj_live_count(), 1);
    finish();
}

int main(void)
{
    t_init();
    if (!hsm_fixture_register())
        return t_done();

    case_01_create();
    case_02_connect();
    case_03_connected();
    case_04_rx_bubbled();
    case_05_start_tx();
    case_06_try_write_ok();
    case_07_try_write_unhandled();
    case_08_all_unhandled();
    case_09_drop();
    case_10_resync_from_sending();
    case_11_resync_from_idle();
    case_12_abort_to_ancestor();
    case_13_kick();
    case_14_refused();
    case_15_other_branch();
    case_16_self_send();
    case_17_send_from_hook();
    case_18_change_in_action();
    case_19_change_in_hook();
    case_20_change_outside();
    case_21_destroy();
    return t_done();
}
