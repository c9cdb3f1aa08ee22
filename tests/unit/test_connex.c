/*
 * test_connex.c - GConnex: echo through a GServerSock, reconnection after the
 * peer closes, rotation over destinations, giving up, `disabled`, the queue
 * while disconnected and its bound, stop and destroy in every state, no event
 * inside the caller's own call (rule 15), bad attributes, statistics.
 * Loopback only, port 0, closed ports for refusals; every wait is bounded and
 * the tests count attempts and events, never time them.
 */
#include <stdlib.h>

#include "socktest.h"

#ifndef OPENSSL_BIN
#define OPENSSL_BIN "openssl"
#endif

/*---------------------------------------------------------------------*
 *  TCli: the subscriber of the GConnex
 *---------------------------------------------------------------------*/
typedef struct {
    int connected, disconnected, rx_events, tx_ready, gave_up;
    int in_call_events; /* events delivered while t_in_call was set */
    int bad_connex;     /* events whose kw lacked the right connex */
    char reason[200], peername[160];
    json_int_t gave_up_attempts;
    unsigned char rx[4096];
    size_t rx_len;
    /* What to do. */
    const char *send_on_connected; /* send this from the EV_CONNECTED action */
    bool drop_on_connected;        /* EV_DROP from the EV_CONNECTED action (in call) */
    bool destroy_on_connected, destroy_on_rx, destroy_on_disconnected;
} tcli_rec_t;

static tcli_rec_t crec;
static tpeer_rec_t srec;
static gobj_t *app, *server, *cli, *connex;
static bool t_in_call;

static void c_seen(gobj_t *gobj, json_t *kw, gobj_t *src)
{
    (void)gobj;
    if (t_in_call)
        crec.in_call_events++;
    const char *c = json_string_value(json_object_get(kw, "connex"));
    if (!c || !src || strcmp(c, gobj_full_name(src)) != 0)
        crec.bad_connex++;
}

static int ac_c_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    c_seen(gobj, kw, src);
    crec.connected++;
    t_copy(crec.peername, sizeof crec.peername, kw, "peername");
    if (crec.send_on_connected)
        gobj_send_event(src, EV_SEND_DATA, json_pack("{s:s}", "data", crec.send_on_connected),
                        gobj);
    if (crec.drop_on_connected) {
        int before = crec.in_call_events;
        t_in_call = true;
        gobj_send_event(src, EV_DROP, NULL, gobj);
        t_in_call = false;
        crec.in_call_events -= 0; /* counted by c_seen if anything came */
        (void)before;
    }
    if (crec.destroy_on_connected)
        gobj_destroy(src);
    return 0;
}

static int ac_c_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    c_seen(gobj, kw, src);
    json_t *data = json_object_get(kw, "data");
    size_t n = json_string_length(data);
    crec.rx_events++;
    if (crec.rx_len + n <= sizeof crec.rx) {
        memcpy(crec.rx + crec.rx_len, json_string_value(data), n);
        crec.rx_len += n;
    }
    if (crec.destroy_on_rx)
        gobj_destroy(src);
    return 0;
}

static int ac_c_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    c_seen(gobj, kw, src);
    crec.tx_ready++;
    return 0;
}

static int ac_c_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    c_seen(gobj, kw, src);
    crec.disconnected++;
    t_copy(crec.reason, sizeof crec.reason, kw, "reason");
    if (crec.destroy_on_disconnected)
        gobj_destroy(src);
    return 0;
}

static int ac_c_gave_up(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    c_seen(gobj, kw, src);
    crec.gave_up++;
    crec.gave_up_attempts = json_integer_value(json_object_get(kw, "attempts"));
    if (!json_is_array(json_object_get(kw, "destinations")))
        crec.bad_connex++;
    return 0;
}

GOBJ_DEFINE_STATE(ST_C_RUN);
static const gobj_row_t st_c_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_c_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_c_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_c_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_c_disconnected, NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP, ac_c_gave_up, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tcli_states[] = {
    GOBJ_STATE(ST_C_RUN, st_c_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tcli_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname, connex}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data, connex}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{connex}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason, connex}"},
    {EV_CONNEX_GAVE_UP, GOBJ_EV_IN, "{destinations, attempts, connex}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tcli_def = {
    .name = "TCli",
    .description = "test subscriber of a GConnex",
    .states = tcli_states,
    .events = tcli_events,
};

/*---------------------------------------------------------------------*
 *  Setup
 *---------------------------------------------------------------------*/
static void setup(void)
{
    t_setup();
    if (!gclass_find("TCli"))
        T_ASSERT(gclass_register(&tcli_def) != NULL);
    memset(&crec, 0, sizeof crec);
}

/* A server under the TPeer "app" (srec records, and echoes with
 * srec.echo), with attrs (stolen) or on 127.0.0.1 port 0.  Returns its port. */
static int t_server_attrs(json_t *attrs)
{
    app = t_peer("app", &srec);
    if (!attrs)
        attrs = json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0);
    server = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), attrs, app);
    T_ASSERT(server != NULL);
    T_EQ_INT(gobj_start_tree(app), 0);
    return (int)gobj_read_int(server, "port");
}

static int t_server(void)
{
    return t_server_attrs(NULL);
}

/* A port on 127.0.0.1 where nothing listens (bound, read back, closed). */
static int t_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    T_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static json_t *dest(int port)
{
    return json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port);
}

/* A GConnex "connex" under the TCli "cli", created with attrs (stolen) and
 * not started. */
static gobj_t *t_connex(json_t *attrs)
{
    cli = gobj_create("cli", gclass_find("TCli"), NULL, NULL);
    T_ASSERT(cli != NULL);
    connex = gobj_create("connex", gclass_find(GCLASS_GCONNEX_NAME), attrs, cli);
    T_ASSERT(connex != NULL);
    return connex;
}

static void t_end(void)
{
    gobj_destroy(cli);
    gobj_destroy(app);
    cli = connex = app = server = NULL;
    t_teardown();
    t_rec_reset(&srec);
}

static int send_str(gobj_t *dst, const char *s)
{
    return gobj_send_event(dst, EV_SEND_DATA, json_pack("{s:s}", "data", s), NULL);
}

/*---------------------------------------------------------------------*/
static void test_echo(void)
{
    setup();
    srec.echo = true;
    int port = t_server();
    t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
    T_EQ_INT(gobj_start(connex), 0);
    /* Queued while connecting, then echoed. */
    T_EQ_INT(send_str(connex, "hello"), 5);
    T_ASSERT(RUN_UNTIL(crec.rx_len == 5, 5000));
    T_EQ_INT(crec.connected, 1);
    T_ASSERT(memcmp(crec.rx, "hello", 5) == 0);
    T_ASSERT(gobj_in_this_state(connex, ST_CONNECTED));
    /* Connected: straight to the GSock (it returns the bytes it queued). */
    T_ASSERT(send_str(connex, " world") >= 0);
    T_ASSERT(RUN_UNTIL(crec.rx_len == 11, 5000));
    T_ASSERT(memcmp(crec.rx, "hello world", 11) == 0);
    T_EQ_INT(crec.bad_connex, 0);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 1);
    T_EQ_INT(gobj_read_int(connex, "n_connects"), 1);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 0);
    json_t *stats = gobj_stats(connex);
    T_EQ_INT(json_integer_value(json_object_get(stats, "n_connects")), 1);
    json_decref(stats);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, want);
    T_EQ_STR(gobj_read_str(connex, "destination"), want);
    t_end();
}

/* Output the GSock had to queue: EV_TRANSMIT_READY, republished. */
static void test_transmit_ready(void)
{
    setup();
    t_server();
    int port = (int)gobj_read_int(server, "port");
    t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    size_t n = 16u << 20; /* more than loopback takes at once */
    char *big = calloc(1, n);
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(big, n));
    free(big);
    T_ASSERT(gobj_send_event(connex, EV_SEND_DATA, kw, NULL) > 0);
    T_ASSERT(RUN_UNTIL(crec.tx_ready == 1 && srec.rx_len == n, 20000));
    T_EQ_INT(crec.bad_connex, 0);
    t_end();
}

/* The peer closes: one EV_DISCONNECTED, then a new connection after the
 * backoff; several times. */
static void test_reconnect(void)
{
    setup();
    srec.keep_on_disconnected = false;
    t_server();
    int port = (int)gobj_read_int(server, "port");
    t_connex(json_pack("{s:[o], s:i, s:f}", "destinations", dest(port), "backoff_initial", 20,
                       "backoff_jitter", 0.5));
    T_EQ_INT(gobj_start(connex), 0);
    for (int i = 1; i <= 3; i++) {
        T_ASSERT(RUN_UNTIL(crec.connected == i && srec.connected == i, 5000));
        T_EQ_INT(crec.disconnected, i - 1);
        gobj_send_event(app, EV_T_KICK, json_pack("{s:s}", "op", "drop"), NULL);
        T_ASSERT(RUN_UNTIL(crec.disconnected == i, 5000));
        T_EQ_INT(crec.connected, i); /* not before the backoff's timer */
        T_EQ_STR(crec.reason, "peer closed");
    }
    T_ASSERT(RUN_UNTIL(crec.connected == 4, 5000));
    T_EQ_INT(crec.disconnected, 3);
    T_EQ_INT(gobj_read_int(connex, "n_connects"), 4);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 4);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 0);
    T_EQ_INT(crec.bad_connex, 0);
    t_end();
}

/* The first destination refuses: the second one is used. */
static void test_rotation(void)
{
    setup();
    int port = t_server();
    int closed = t_closed_port();
    t_connex(json_pack("{s:[o,o], s:i}", "destinations", dest(closed), dest(port),
                       "backoff_initial", 10));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, want);
    T_EQ_INT(crec.disconnected, 0); /* a failed attempt publishes nothing */
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 2);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 1);
    snprintf(want, sizeof want, "connect to 127.0.0.1:%d failed", closed);
    T_EQ_INT(t_log_find("warn", want), 1); /* logged once */
    T_EQ_INT(t_log_find("warn", "ECONNREFUSED"), 1);
    t_end();
}

/* Failover is immediate: with a backoff of a minute, the second destination
 * is still tried at once after the first fails; once every destination has
 * failed, the backoff applies (two closed ports: two attempts, then a wait). */
static void test_failover_now(void)
{
    setup();
    int port = t_server();
    int closed = t_closed_port();
    t_connex(json_pack("{s:[o,o], s:i, s:f}", "destinations", dest(closed), dest(port),
                       "backoff_initial", 60000, "backoff_jitter", 0.0));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 10000));
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 2);
    t_end();

    setup();
    int closed2 = t_closed_port();
    t_connex(json_pack("{s:[o,o], s:i, s:f}", "destinations", dest(closed), dest(closed2),
                       "backoff_initial", 60000, "backoff_jitter", 0.0));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(gobj_read_int(connex, "n_failures") == 2, 10000));
    t_run_for(300);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 2); /* the round failed: a minute's wait */
    T_ASSERT(gobj_in_this_state(connex, ST_WAIT_RETRY));
    t_end();
}

/* A name that cannot be resolved (a name server that never answers, and
 * connect_timeout 300 ms) is a failed attempt like a refused one: logged
 * once with the name, counted, and the next destination is used. */
static void test_resolve_failure(void)
{
    setup();
    int port = t_server();
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    T_EQ_INT(bind(udp, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(getsockname(udp, (struct sockaddr *)&a, &len), 0);
    char ns[64];
    snprintf(ns, sizeof ns, "127.0.0.1:%d", ntohs(a.sin_port));
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);
    t_connex(json_pack("{s:[{s:s, s:i}, o], s:i}", "destinations", "host", "upstream.test", "port",
                       80, dest(port), "connect_timeout", 300));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 10000));
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 1);
    T_EQ_INT(t_log_find("warn", "cannot resolve 'upstream.test'"), 1);
    T_EQ_INT(crec.disconnected, 0);
    close(udp);
    t_end();
}

/* max_retries failures in a row: EV_CONNEX_GAVE_UP, then nothing until
 * EV_CONNECT. */
static void test_gave_up(void)
{
    setup();
    int closed = t_closed_port();
    t_connex(json_pack("{s:[o], s:i, s:i, s:i}", "destinations", dest(closed), "backoff_initial",
                       5, "backoff_max", 20, "max_retries", 3));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.gave_up == 1, 5000));
    T_EQ_INT(crec.gave_up_attempts, 3);
    t_run_for(200);
    T_EQ_INT(crec.gave_up, 1);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 3);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 3);
    T_EQ_INT(crec.connected + crec.disconnected, 0);
    T_ASSERT(gobj_in_this_state(connex, ST_IDLE));
    T_EQ_INT(t_log_find("error", "gave up"), 1);
    /* EV_CONNECT starts over, with a fresh count. */
    T_EQ_INT(gobj_send_event(connex, EV_CONNECT, NULL, NULL), 0);
    T_ASSERT(RUN_UNTIL(crec.gave_up == 2, 5000));
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 6);
    T_EQ_INT(crec.bad_connex, 0);
    t_end();
}

/* disabled: true drops and stops trying, false resumes. */
static void test_disabled(void)
{
    setup();
    int port = t_server();
    t_connex(json_pack("{s:[o], s:i, s:b}", "destinations", dest(port), "backoff_initial", 10,
                       "disabled", 1));
    T_EQ_INT(gobj_start(connex), 0);
    t_run_for(100);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 0);
    T_ASSERT(gobj_send_event(connex, EV_CONNECT, NULL, NULL) < 0);
    T_EQ_INT(gobj_write_attr(connex, "disabled", json_false()), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    t_in_call = true;
    T_EQ_INT(gobj_write_attr(connex, "disabled", json_true()), 0);
    t_in_call = false;
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "dropped");
    t_run_for(100);
    T_EQ_INT(crec.connected, 1);
    T_EQ_INT(gobj_read_int(connex, "n_attempts"), 1);
    T_ASSERT(gobj_in_this_state(connex, ST_IDLE));
    T_EQ_INT(gobj_write_attr(connex, "disabled", json_false()), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 2, 5000));
    T_EQ_INT(crec.in_call_events, 0);
    t_end();
}

/* Sends while not connected are kept and written in order, before what the
 * subscriber sends from its EV_CONNECTED action. */
static void test_queue(void)
{
    setup();
    srec.keep_rx = true;
    int port = t_server();
    t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
    crec.send_on_connected = "d\n";
    T_EQ_INT(send_str(connex, "a\n"), 2); /* not even started */
    T_EQ_INT(gobj_start(connex), 0);
    T_EQ_INT(send_str(connex, "b\n"), 4);
    T_EQ_INT(send_str(connex, "c\n"), 6);
    T_EQ_INT(gobj_read_int(connex, "tx_queued"), 6);
    T_ASSERT(RUN_UNTIL(srec.rx_len == 8, 5000));
    T_ASSERT(srec.rx && memcmp(srec.rx, "a\nb\nc\nd\n", 8) == 0);
    T_EQ_INT(gobj_read_int(connex, "tx_queued"), 0);
    /* A bad kw is refused. */
    T_EQ_INT(gobj_send_event(connex, EV_SEND_DATA, json_pack("{s:i}", "data", 1), NULL),
             GOBJ_EINVAL);
    t_end();
}

/* Past tx_queue_max the send is refused, logged and counted. */
static void test_queue_max(void)
{
    setup();
    int closed = t_closed_port();
    t_connex(json_pack("{s:[o], s:i, s:i}", "destinations", dest(closed), "tx_queue_max", 10,
                       "backoff_initial", 5000));
    T_EQ_INT(gobj_start(connex), 0);
    T_EQ_INT(send_str(connex, "123456"), 6);
    T_EQ_INT(send_str(connex, "123456"), -ENOSPC);
    T_EQ_INT(send_str(connex, "1234"), 10);
    T_EQ_INT(send_str(connex, "1"), -ENOSPC);
    T_EQ_INT(gobj_read_int(connex, "n_refused"), 2);
    T_EQ_INT(gobj_read_int(connex, "tx_queued"), 10);
    T_EQ_INT(t_log_find("error", "queue is full"), 2);
    t_end();
}

/* Stop and destroy in each state; nothing comes after a destroy. */
static void test_stop_destroy(void)
{
    for (int how = 0; how < 2; how++) {
        /* Connecting. */
        setup();
        int port = t_server();
        t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
        T_EQ_INT(gobj_start(connex), 0);
        T_ASSERT(RUN_UNTIL(gobj_in_this_state(connex, ST_WAIT_CONNECTED), 5000));
        t_in_call = true;
        if (how == 0)
            gobj_destroy(connex);
        else
            T_EQ_INT(gobj_stop(connex), 0);
        t_in_call = false;
        t_run_for(50);
        T_EQ_INT(crec.connected + crec.disconnected, 0);
        T_EQ_INT(crec.in_call_events, 0);
        t_end();

        /* Connected. */
        setup();
        port = t_server();
        t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
        T_EQ_INT(gobj_start(connex), 0);
        T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
        t_in_call = true;
        if (how == 0)
            gobj_destroy(connex);
        else
            T_EQ_INT(gobj_stop(connex), 0);
        t_in_call = false;
        T_EQ_INT(crec.in_call_events, 0);
        t_run_for(50);
        T_EQ_INT(crec.disconnected, how == 0 ? 0 : 1); /* a destroy publishes nothing */
        if (how == 1) {
            T_EQ_STR(crec.reason, "stopped");
            T_ASSERT(gobj_in_this_state(connex, ST_IDLE));
            /* Restart: connects again. */
            T_EQ_INT(gobj_start(connex), 0);
            T_ASSERT(RUN_UNTIL(crec.connected == 2, 5000));
        }
        T_EQ_INT(crec.bad_connex, 0);
        t_end();

        /* Backing off. */
        setup();
        int closed = t_closed_port();
        t_connex(json_pack("{s:[o], s:i}", "destinations", dest(closed), "backoff_initial",
                           10000));
        T_EQ_INT(gobj_start(connex), 0);
        T_ASSERT(RUN_UNTIL(gobj_read_int(connex, "n_failures") == 1, 5000));
        T_ASSERT(gobj_in_this_state(connex, ST_WAIT_RETRY));
        if (how == 0)
            gobj_destroy(connex);
        else
            T_EQ_INT(gobj_stop(connex), 0);
        t_run_for(50);
        if (how == 1)
            T_EQ_INT(gobj_read_int(connex, "n_attempts"), 1);
        t_end();
    }
}

/* Stopped then destroyed in one turn: the posted EV_DISCONNECTED is dropped
 * with it. */
static void test_stop_then_destroy(void)
{
    setup();
    int port = t_server();
    t_connex(json_pack("{s:[o]}", "destinations", dest(port)));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    T_EQ_INT(gobj_stop(connex), 0);
    gobj_destroy(connex);
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000)); /* the server saw it close */
    t_end();
}

/* The subscriber destroys the GConnex from inside its actions. */
static void test_destroy_inside(void)
{
    for (int where = 0; where < 3; where++) {
        setup();
        srec.echo = true;
        int port = t_server();
        t_connex(json_pack("{s:[o], s:i}", "destinations", dest(port), "backoff_initial", 10));
        crec.destroy_on_connected = where == 0;
        crec.destroy_on_rx = where == 1;
        crec.destroy_on_disconnected = where == 2;
        T_EQ_INT(gobj_start(connex), 0);
        send_str(connex, "x");
        if (where == 2) {
            T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
            gobj_send_event(app, EV_T_KICK, json_pack("{s:s}", "op", "drop"), NULL);
            T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
        } else {
            T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
        }
        t_run_for(50);
        T_EQ_INT(crec.connected, 1);
        T_EQ_INT(crec.disconnected, where == 2 ? 1 : 0);
        T_ASSERT(gobj_find_child(cli, "connex") == NULL);
        t_end();
    }
}

/* Rule 15: EV_DROP, EV_CONNECT and EV_SEND_DATA deliver nothing inside the
 * caller's call, from outside any dispatch and from the subscriber's own
 * action. */
static void test_no_reentry(void)
{
    setup();
    srec.echo = true;
    int port = t_server();
    t_connex(json_pack("{s:[o], s:i}", "destinations", dest(port), "backoff_initial", 10));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    t_in_call = true;
    T_ASSERT(send_str(connex, "ping") >= 0);
    T_EQ_INT(gobj_send_event(connex, EV_CONNECT, NULL, NULL), 0);
    T_EQ_INT(gobj_send_event(connex, EV_DROP, NULL, NULL), 0);
    t_in_call = false;
    T_EQ_INT(crec.in_call_events, 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "dropped");
    /* From inside the subscriber's EV_CONNECTED action. */
    crec.drop_on_connected = true;
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    T_EQ_INT(crec.connected, 2);
    T_EQ_INT(crec.in_call_events, 0);
    crec.drop_on_connected = false;
    T_ASSERT(RUN_UNTIL(crec.connected == 3, 5000));
    /* EV_CONNECT while backing off connects now (reset backoff). */
    gobj_write_int(connex, "backoff_initial", 60000);
    gobj_send_event(connex, EV_DROP, NULL, NULL);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 3, 5000));
    T_ASSERT(gobj_in_this_state(connex, ST_WAIT_RETRY));
    t_in_call = true;
    T_EQ_INT(gobj_send_event(connex, EV_CONNECT, NULL, NULL), 0);
    t_in_call = false;
    T_ASSERT(RUN_UNTIL(crec.connected == 4, 5000));
    T_EQ_INT(crec.in_call_events, 0);
    /* Sent after EV_DROP, before the EV_DISCONNECTED: kept for the next
     * connection, no error. */
    srec.echo = false;
    free(srec.rx);
    srec.rx = NULL;
    srec.rx_len = srec.rx_cap = 0;
    srec.keep_rx = true;
    T_EQ_INT(gobj_write_int(connex, "backoff_initial", 10), 0);
    t_log_clear();
    T_EQ_INT(gobj_send_event(connex, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(send_str(connex, "later"), 5);
    T_EQ_INT(t_log_find("error", NULL), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 5 && srec.rx_len == 5, 5000));
    T_ASSERT(srec.rx && memcmp(srec.rx, "later", 5) == 0);
    T_EQ_INT(crec.disconnected, 4);
    /* EV_DROP then gobj_stop in the same turn: still one EV_DISCONNECTED. */
    T_EQ_INT(gobj_send_event(connex, EV_DROP, NULL, NULL), 0);
    T_EQ_INT(gobj_stop(connex), 0);
    t_run_for(100);
    T_EQ_INT(crec.disconnected, 5);
    T_EQ_STR(crec.reason, "stopped");
    T_EQ_INT(crec.connected, 5);
    t_end();
}

/* Bad attributes: the create fails naming them; gclass_check_attrs (gserve
 * --check) refuses the same. */
static void test_bad_attrs(void)
{
    setup();
    gclass_t *gc = gclass_find(GCLASS_GCONNEX_NAME);
    struct {
        const char *json, *needle;
    } bad[] = {
        {"{}", "destinations: is empty"},
        {"{\"destinations\": 3}", "destinations"},
        {"{\"destinations\": [{\"host\": \"x\"}]}", "port"},
        {"{\"destinations\": [{\"port\": 1}]}", "host"},
        {"{\"destinations\": [{\"path\": \"/x\", \"port\": 1}]}", "not both"},
        {"{\"destinations\": [{\"host\": \"x\", \"port\": 1, \"hots\": 1}]}", "hots"},
        {"{\"gsock_attrs\": {\"framing\": \"bogus\"}}", "framing"},
        {"{\"gsock_attrs\": {\"nope\": 1}}", "nope"},
        {"{\"gsock_attrs\": {\"host\": \"x\"}}", "host"},
        {"{\"backoff_jitter\": 2.0}", "backoff_jitter"},
        {"{\"backoff_initial\": -1}", "backoff_initial"},
        {"{\"ssl_options\": []}", "ssl_options"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *attrs = json_loads(bad[i].json, 0, NULL);
        if (!json_object_get(attrs, "destinations"))
            json_object_set_new(attrs, "destinations", json_pack("[o]", dest(1)));
        if (i == 0)
            json_object_del(attrs, "destinations");
        char why[600] = "";
        T_ASSERT(gclass_check_attrs(gc, attrs, why, sizeof why) < 0);
        T_CONTAINS(why, bad[i].needle);
        t_log_clear();
        gobj_t *g = gobj_create("bad", gc, attrs, NULL);
        T_ASSERT(g == NULL);
        T_ASSERT(t_log_find("error", bad[i].needle) >= 1);
    }
    /* Good ones pass. */
    json_t *ok = json_pack("{s:[{s:s,s:i},{s:s}], s:{s:s}}", "destinations", "host", "::1",
                           "port", 7, "path", "/tmp/x", "gsock_attrs", "framing", "line");
    char why[600] = "";
    T_EQ_INT(gclass_check_attrs(gc, ok, why, sizeof why), 0);
    json_decref(ok);
    t_end();
}

/* The wait doubles after each failure, up to backoff_max: counted as
 * attempts in a window, never timed. */
static void test_backoff(void)
{
    setup();
    int closed = t_closed_port();
    /* Doubling from 20 ms: attempts at about 0, 20, 60, 140, 300, 620 ms. */
    t_connex(json_pack("{s:[o], s:i, s:i, s:f}", "destinations", dest(closed), "backoff_initial",
                       20, "backoff_max", 100000, "backoff_jitter", 0.0));
    T_EQ_INT(gobj_start(connex), 0);
    t_run_for(500);
    int64_t n = gobj_read_int(connex, "n_attempts");
    T_ASSERT(n >= 2 && n <= 7);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), n);
    t_end();

    /* Capped at 10 ms: many more in the same window. */
    setup();
    t_connex(json_pack("{s:[o], s:i, s:i}", "destinations", dest(closed), "backoff_initial", 10,
                       "backoff_max", 10));
    T_EQ_INT(gobj_start(connex), 0);
    t_run_for(500);
    T_ASSERT(gobj_read_int(connex, "n_attempts") >= 10);
    t_end();
}

/* A server that accepts and closes at once: the connections do not reset
 * the backoff (they end before stable_after), so the waits keep doubling;
 * with stable_after 0 every connection resets it. */
static void test_accept_then_close(void)
{
    setup();
    srec.destroy_on_connected = true;
    int port = t_server();
    t_connex(json_pack("{s:[o], s:i, s:i, s:f}", "destinations", dest(port), "backoff_initial",
                       20, "backoff_max", 100000, "backoff_jitter", 0.0));
    T_EQ_INT(gobj_start(connex), 0);
    t_run_for(600);
    /* Waits of 20, 40, 80, 160, 320 ms: at most 6 connections. */
    int64_t n = gobj_read_int(connex, "n_connects");
    T_ASSERT(n >= 2 && n <= 6);
    t_end();

    setup();
    srec.destroy_on_connected = true;
    port = t_server();
    t_connex(json_pack("{s:[o], s:i, s:i, s:f, s:i}", "destinations", dest(port),
                       "backoff_initial", 20, "backoff_max", 100000, "backoff_jitter", 0.0,
                       "stable_after", 0));
    T_EQ_INT(gobj_start(connex), 0);
    t_run_for(600);
    T_ASSERT(gobj_read_int(connex, "n_connects") >= 10);
    t_end();
}

/* inactivity_timeout is the GSock's: a silent connection is dropped and
 * made again. */
static void test_inactivity(void)
{
    setup();
    int port = t_server();
    t_connex(json_pack("{s:[o], s:i, s:i}", "destinations", dest(port), "inactivity_timeout", 50,
                       "backoff_initial", 10));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "inactivity timeout");
    T_ASSERT(RUN_UNTIL(crec.connected == 2, 5000));
    t_end();
}

/* inactivity_timeout written while connected applies from the next
 * connection. */
static void test_inactivity_write(void)
{
    setup();
    int port = t_server();
    t_connex(json_pack("{s:[o], s:i}", "destinations", dest(port), "backoff_initial", 10));
    T_EQ_INT(gobj_start(connex), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    t_run_for(100);
    T_EQ_INT(crec.disconnected, 0);
    T_EQ_INT(gobj_write_int(connex, "inactivity_timeout", 50), 0);
    T_EQ_INT(gobj_send_event(connex, EV_DROP, NULL, NULL), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    T_EQ_INT(crec.connected, 2);
    T_EQ_STR(crec.reason, "inactivity timeout");
    t_end();
}

/* A subscriber named by the attribute; one that does not exist fails the
 * start. */
static void test_subscriber(void)
{
    setup();
    srec.echo = true;
    int port = t_server();
    cli = gobj_create("cli", gclass_find("TCli"), NULL, NULL);
    connex = gobj_create("connex", gclass_find(GCLASS_GCONNEX_NAME),
                         json_pack("{s:[o], s:s}", "destinations", dest(port), "subscriber", "cli"),
                         NULL);
    T_ASSERT(connex != NULL);
    T_EQ_INT(gobj_start(connex), 0);
    send_str(connex, "hi");
    T_ASSERT(RUN_UNTIL(crec.rx_len == 2, 5000));
    T_EQ_INT(crec.connected, 1);
    gobj_destroy(connex);
    gobj_t *lost = gobj_create("lost", gclass_find(GCLASS_GCONNEX_NAME),
                               json_pack("{s:[o], s:s}", "destinations", dest(port), "subscriber",
                                         "nobody"),
                               NULL);
    T_ASSERT(lost != NULL);
    T_EQ_INT(gobj_start(lost), GOBJ_ENOENT);
    T_ASSERT(t_log_find("error", "nobody") >= 1);
    gobj_destroy(lost);
    t_end();
}

/* A unix destination, and framing through gsock_attrs. */
static void test_unix_framing(void)
{
    setup();
    srec.echo = true;
    char dir[] = "/tmp/test_connex.XXXXXX", path[100];
    T_ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/s.sock", dir);
    t_server_attrs(json_pack("{s:s, s:{s:s}}", "path", path, "gsock_attrs", "framing", "line"));
    t_connex(json_pack("{s:[{s:s}], s:{s:s}}", "destinations", "path", path, "gsock_attrs",
                       "framing", "line"));
    T_EQ_INT(gobj_start(connex), 0);
    send_str(connex, "one");
    send_str(connex, "two");
    T_ASSERT(RUN_UNTIL(crec.rx_events == 2, 5000));
    T_EQ_INT(crec.rx_len, 6); /* two frames, without their delimiters */
    T_ASSERT(memcmp(crec.rx, "onetwo", 6) == 0);
    T_EQ_STR(gobj_read_str(connex, "destination"), path);
    t_end();
    unlink(path);
    rmdir(dir);
}

/*---------------------------------------------------------------------*
 *  TLS: per-destination ssl_options
 *---------------------------------------------------------------------*/
static char cdir[64];

static int sh(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd '%s' && %s >/dev/null 2>&1", cdir, cmd);
    return system(full);
}

/* A CA, a server certificate it signed for 127.0.0.1, and a CA that
 * signed nothing.  Returns 0, or 77 without the openssl command. */
static int make_certs(void)
{
    const char *o = strcmp(OPENSSL_BIN, "no") == 0 ? "openssl" : OPENSSL_BIN;
    char cmd[1024];
    snprintf(cdir, sizeof cdir, "/tmp/test_connex.XXXXXX");
    if (!mkdtemp(cdir))
        return -1;
    snprintf(cmd, sizeof cmd, "%s version", o);
    if (sh(cmd) != 0)
        return 77;
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const char *steps[] = {
        "%s req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=TestCA",
        "%s req -x509 %s -keyout wrongca.key -out wrongca.pem -days 2 -subj /CN=WrongCA",
        "%s req %s -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf && "
        "%s x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf %.0s",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        snprintf(cmd, sizeof cmd, steps[i], o, ec);
        if (sh(cmd) != 0) {
            fprintf(stderr, "certificate step failed: %s\n", cmd);
            return -1;
        }
    }
    return 0;
}

static void test_tls(void)
{
    int rc = make_certs();
    if (rc == 77) {
        fprintf(stderr, "test_tls: skipped (no openssl command)\n");
        return;
    }
    T_EQ_INT(rc, 0);
    char cert[128], key[128], ca[128], wrong[128];
    snprintf(cert, sizeof cert, "%s/server.pem", cdir);
    snprintf(key, sizeof key, "%s/server.key", cdir);
    snprintf(ca, sizeof ca, "%s/ca.pem", cdir);
    snprintf(wrong, sizeof wrong, "%s/wrongca.pem", cdir);
    setup();
    srec.echo = true;
    int port = t_server_attrs(json_pack("{s:s, s:i, s:{s:s, s:s}}", "host", "127.0.0.1", "port",
                                        0, "ssl_options", "certfile", cert, "keyfile", key));
    /* The first destination trusts the wrong CA (its own ssl_options); the
     * second uses the GConnex's. */
    t_connex(json_pack("{s:[{s:s, s:i, s:{s:s}}, o], s:{s:s}, s:i}", "destinations", "host",
                       "127.0.0.1", "port", port, "ssl_options", "cafile", wrong, dest(port),
                       "ssl_options", "cafile", ca, "backoff_initial", 10));
    T_EQ_INT(gobj_start(connex), 0);
    send_str(connex, "secret");
    T_ASSERT(RUN_UNTIL(crec.rx_len == 6, 10000));
    T_ASSERT(memcmp(crec.rx, "secret", 6) == 0);
    T_EQ_INT(crec.connected, 1);
    T_EQ_INT(gobj_read_int(connex, "n_failures"), 1);
    T_EQ_INT(t_log_find("warn", "certificate verify failed"), 1);
    t_end();
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cdir);
    T_EQ_INT(system(cmd), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    t_init();
    test_echo();
    test_transmit_ready();
    test_reconnect();
    test_rotation();
    test_failover_now();
    test_resolve_failure();
    test_gave_up();
    test_disabled();
    test_queue();
    test_queue_max();
    test_stop_destroy();
    test_stop_then_destroy();
    test_destroy_inside();
    test_no_reentry();
    test_bad_attrs();
    test_backoff();
    test_accept_then_close();
    test_inactivity();
    test_inactivity_write();
    test_subscriber();
    test_unix_framing();
    test_tls();
    return t_done();
}
