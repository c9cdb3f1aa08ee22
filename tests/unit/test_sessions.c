/*
 * test_sessions.c - GServerSock sessions: session_gclass, session_attrs,
 * gsock_attrs, the names, the subscriber's view (EV_SESSION_OPENED /
 * EV_SESSION_CLOSED and their order), destroy at every point, failing
 * sessions, and many connections closed abruptly.  Loopback only, port 0.
 */
#include "socktest.h"

/*---------------------------------------------------------------------*
 *  TSess: an echo session, told by its attributes where to die
 *---------------------------------------------------------------------*/
typedef struct {
    char *greeting;
    char *die; /* "", "start", "connected", "rx", "disconnected", "sock_rx" */
    bool fail_create, fail_start;
    int64_t tx_high_water_seen;
} tsess_priv_t;

static int sess_connected, sess_rx, sess_disconnected, sess_created, sess_destroyed;
static char sess_last_name[160], sess_last_sub_name[160];

GOBJ_DEFINE_STATE(ST_S_RUN);

static int ac_s_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tsess_priv_t *p = gobj_priv(gobj);
    sess_connected++;
    T_ASSERT(src == gobj_find_child(gobj, "sock"));
    snprintf(sess_last_name, sizeof sess_last_name, "%s", gobj_full_name(gobj));
    p->tx_high_water_seen = gobj_read_int(src, "tx_high_water");
    t_trace_add("S+");
    if (*p->greeting)
        gobj_send_event(src, EV_SEND_DATA, json_pack("{s:s}", "data", p->greeting), gobj);
    if (strcmp(p->die, "connected") == 0)
        gobj_destroy(gobj);
    return 0;
}

static int ac_s_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tsess_priv_t *p = gobj_priv(gobj);
    sess_rx++;
    json_t *data = json_object_get(kw, "data");
    /* EV_SEND_DATA returns the bytes left queued: none for a small echo. */
    T_EQ_INT(gobj_send_event(src, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj), 0);
    if (strcmp(p->die, "rx") == 0)
        gobj_destroy(gobj);
    if (strcmp(p->die, "sock_rx") == 0)
        gobj_destroy(src);
    return 0;
}

static int ac_s_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    tsess_priv_t *p = gobj_priv(gobj);
    sess_disconnected++;
    t_trace_add("S-");
    if (strcmp(p->die, "disconnected") == 0)
        gobj_destroy(gobj);
    return 0;
}

static int ac_s_ignore(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static int tsess_create(gobj_t *gobj)
{
    tsess_priv_t *p = gobj_priv(gobj);
    if (p->fail_create)
        return GOBJ_EINVAL;
    sess_created++;
    return 0;
}

static int tsess_start(gobj_t *gobj)
{
    tsess_priv_t *p = gobj_priv(gobj);
    snprintf(sess_last_sub_name, sizeof sess_last_sub_name, "%s", gobj_name(gobj_parent(gobj)));
    if (p->fail_start)
        return GOBJ_EINVAL;
    if (strcmp(p->die, "start") == 0)
        gobj_destroy(gobj);
    return 0;
}

static void tsess_destroy(gobj_t *gobj)
{
    sess_destroyed++;
}

/* clang-format off */
static const gobj_attr_t tsess_attrs[] = {
    GOBJ_ATTR("greeting", GOBJ_ATTR_STRING, tsess_priv_t, greeting, "\"\"", GOBJ_RD, "sent at connect"),
    GOBJ_ATTR("die", GOBJ_ATTR_STRING, tsess_priv_t, die, "\"\"", GOBJ_RD, "where to destroy itself"),
    GOBJ_ATTR("fail_create", GOBJ_ATTR_BOOL, tsess_priv_t, fail_create, "false", GOBJ_RD, "mt_create fails"),
    GOBJ_ATTR("fail_start", GOBJ_ATTR_BOOL, tsess_priv_t, fail_start, "false", GOBJ_RD, "mt_start fails"),
    GOBJ_ATTR_END,
};
static const gobj_row_t st_s_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_s_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_s_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_s_ignore, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_s_disconnected, NULL),
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */
static const gobj_state_def_t tsess_states[] = {
    GOBJ_STATE(ST_S_RUN, st_s_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tsess_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tsess_def = {
    .name = "TSess",
    .description = "test session: echoes",
    .states = tsess_states,
    .events = tsess_events,
    .attrs = tsess_attrs,
    .methods = {.mt_create = tsess_create, .mt_start = tsess_start, .mt_destroy = tsess_destroy},
    .priv_size = sizeof(tsess_priv_t),
};

/*---------------------------------------------------------------------*
 *  TOwner: a subscriber that wants EV_SESSION_OPENED / EV_SESSION_CLOSED
 *---------------------------------------------------------------------*/
static int own_opened, own_closed;
static bool own_destroy_on_opened;
static char own_session[160], own_peer[160], own_reason[200];

static int ac_o_opened(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    own_opened++;
    t_trace_add("O+");
    t_copy(own_session, sizeof own_session, kw, "session");
    t_copy(own_peer, sizeof own_peer, kw, "peername");
    T_EQ_STR(own_session, gobj_full_name(src));
    T_ASSERT(json_object_get(kw, "sockname") != NULL);
    if (own_destroy_on_opened)
        gobj_destroy(src);
    return 0;
}

static int ac_o_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    own_closed++;
    t_trace_add("O-");
    t_copy(own_reason, sizeof own_reason, kw, "reason");
    return 0;
}

static const gobj_row_t st_o_run[] = {
    GOBJ_ROW(EV_SESSION_OPENED, ac_o_opened, NULL),
    GOBJ_ROW(EV_SESSION_CLOSED, ac_o_closed, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t towner_states[] = {
    GOBJ_STATE(ST_T_RUN, st_o_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t towner_events[] = {
    {EV_SESSION_OPENED, GOBJ_EV_IN, "{session, peername, sockname}"},
    {EV_SESSION_CLOSED, GOBJ_EV_IN, "{session, peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t towner_def = {
    .name = "TOwner",
    .description = "test subscriber of sessions",
    .states = towner_states,
    .events = towner_events,
};

/*---------------------------------------------------------------------*/
static gobj_t *owner;

static void s_setup(void)
{
    t_setup();
    if (!gclass_find("TSess"))
        T_ASSERT(gclass_register(&tsess_def) != NULL);
    if (!gclass_find("TOwner"))
        T_ASSERT(gclass_register(&towner_def) != NULL);
    sess_connected = sess_rx = sess_disconnected = sess_created = sess_destroyed = 0;
    own_opened = own_closed = 0;
    own_destroy_on_opened = false;
    t_trace_reset();
    owner = gobj_create("owner", gclass_find("TOwner"), NULL, NULL);
    T_ASSERT(owner != NULL);
}

static void s_end(void)
{
    gobj_destroy(owner);
    owner = NULL;
    t_teardown();
}

static gobj_t *s_server(json_t *extra)
{
    json_t *kw =
        json_pack("{s:s, s:i, s:s}", "host", "127.0.0.1", "port", 0, "session_gclass", "TSess");
    if (extra)
        json_object_update(kw, extra);
    json_decref(extra);
    gobj_t *s = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), kw, owner);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    return s;
}

/* Read until n bytes came or the peer closed; returns the count. */
static size_t s_read(int fd, char *buf, size_t n)
{
    size_t got = 0;
    RUN_UNTIL(({
                  ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
                  if (r > 0)
                      got += (size_t)r;
                  got >= n || r == 0;
              }),
              5000);
    return got;
}

/*---------------------------------------------------------------------*/
static void test_echo_names_attrs_order(void)
{
    s_setup();
    json_t *g = json_pack("{s:s}", "TSess.greeting", "hello\n");
    T_EQ_INT(gobj_set_global_attrs(g), 0);
    gobj_t *s = s_server(json_pack("{s:{s:s}, s:{s:i}}", "session_attrs", "die", "", "gsock_attrs",
                                   "tx_high_water", 12345));
    int port = (int)gobj_read_int(s, "port");
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(own_opened == 1, 5000));
    T_EQ_STR(t_trace, "S+ O+");
    T_EQ_INT(gobj_read_int(s, "n_sessions"), 1);
    /* Named like the GSocks were, a child of the subscriber; its GSock is "sock". */
    T_CONTAINS(sess_last_name, "owner.server.clisrv_");
    T_EQ_STR(own_session, sess_last_name);
    T_EQ_STR(sess_last_sub_name, "owner");
    gobj_t *sess = gobj_find_path(NULL, sess_last_name);
    T_ASSERT(sess != NULL);
    T_EQ_STR(gobj_gclass_name(sess), "TSess");
    T_EQ_STR(gobj_read_str(sess, "greeting"), "hello\n");
    gobj_t *sock = gobj_find_child(sess, "sock");
    T_ASSERT(sock != NULL);
    T_EQ_INT(gobj_read_int(sock, "tx_high_water"), 12345);
    char buf[64] = {0};
    T_EQ_INT(s_read(fd, buf, 6), 6);
    T_EQ_STR(buf, "hello\n");
    T_EQ_INT(send(fd, "abc", 3, 0), 3);
    memset(buf, 0, sizeof buf);
    T_EQ_INT(s_read(fd, buf, 3), 3);
    T_EQ_STR(buf, "abc");
    close(fd);
    T_ASSERT(RUN_UNTIL(own_closed == 1, 5000));
    T_EQ_STR(t_trace, "S+ O+ S- O-");
    T_ASSERT(*own_reason);
    /* Destroyed by the runtime, after it handled EV_DISCONNECTED. */
    T_ASSERT(RUN_UNTIL(sess_destroyed == 1, 5000));
    T_ASSERT(gobj_find_path(NULL, sess_last_name) == NULL);
    T_EQ_INT(gobj_read_int(s, "n_sessions"), 0);
    T_EQ_INT(gobj_child_count(owner), 1); /* the server */

    /* Names are never reused. */
    char first[160];
    snprintf(first, sizeof first, "%s", sess_last_name);
    fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(own_opened == 2, 5000));
    T_ASSERT(strcmp(first, sess_last_name) != 0);
    close(fd);
    T_ASSERT(RUN_UNTIL(sess_destroyed == 2, 5000));
    s_end();
}

/* A subscriber without the events gets nothing, and no error. */
static void test_subscriber_without_events(void)
{
    s_setup();
    tpeer_rec_t rec = {0};
    gobj_t *peer = t_peer("peer", &rec);
    gobj_t *s = gobj_create(
        "server", gclass_find(GCLASS_GSERVERSOCK_NAME),
        json_pack("{s:s, s:i, s:s}", "host", "127.0.0.1", "port", 0, "session_gclass", "TSess"),
        peer);
    T_EQ_INT(gobj_start(s), 0);
    int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
    T_ASSERT(RUN_UNTIL(sess_connected == 1, 5000));
    close(fd);
    T_ASSERT(RUN_UNTIL(sess_destroyed == 1, 5000));
    T_EQ_INT(rec.connected, 0);
    T_EQ_INT(t_log_find("error", ""), 0);
    gobj_destroy(peer);
    t_rec_reset(&rec);
    s_end();
}

/* The session destroys itself (or its GSock) at each point. */
static void test_destroy_points(void)
{
    const char *points[] = {"start", "connected", "rx", "disconnected", "sock_rx"};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        s_setup();
        gobj_t *s = s_server(json_pack("{s:{s:s}}", "session_attrs", "die", points[i]));
        int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
        T_ASSERT(fd >= 0);
        RUN_UNTIL(sess_connected == 1 || sess_destroyed == 1, 5000);
        send(fd, "x", 1, MSG_NOSIGNAL);
        RUN_UNTIL(sess_rx == 1 || sess_destroyed == 1, 3000);
        close(fd);
        /* A session that destroys its GSock goes with it (the runtime
         * destroys it), and its subscriber hears EV_SESSION_CLOSED. */
        T_ASSERT(RUN_UNTIL(sess_destroyed == 1, 5000));
        T_ASSERT(gobj_find_path(NULL, sess_last_name) == NULL);
        T_ASSERT(RUN_UNTIL(gobj_read_int(s, "n_sessions") == 0, 5000));
        T_EQ_INT(gobj_read_int(s, "session_failures"), 0);
        T_ASSERT(own_closed <= own_opened);
        if (strcmp(points[i], "sock_rx") == 0) {
            T_EQ_INT(own_closed, 1);
            T_EQ_STR(own_reason, "GSock destroyed");
        } else if (strcmp(points[i], "disconnected") != 0) {
            T_EQ_INT(own_closed, 0); /* destroyed before its end: no CLOSED */
        }
        T_EQ_INT(gobj_child_count(owner), 1);
        s_end();
    }
}

/* The subscriber destroys the session on OPENED. */
static void test_owner_destroys_on_opened(void)
{
    s_setup();
    own_destroy_on_opened = true;
    gobj_t *s = s_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
    T_ASSERT(RUN_UNTIL(sess_destroyed == 1, 5000));
    char c;
    T_ASSERT(RUN_UNTIL(recv(fd, &c, 1, MSG_DONTWAIT) == 0, 5000));
    close(fd);
    T_EQ_INT(own_closed, 0);
    T_EQ_INT(gobj_read_int(s, "n_sessions"), 0);
    s_end();
}

/* Failing sessions: closed, counted, logged once; the server continues. */
static void test_failures(void)
{
    const char *cases[] = {"fail_create", "fail_start"};
    for (size_t i = 0; i < 2; i++) {
        s_setup();
        json_t *sa = json_pack("{s:b}", cases[i], 1);
        gobj_t *s = s_server(json_pack("{s:o}", "session_attrs", sa));
        int port = (int)gobj_read_int(s, "port");
        for (int k = 1; k <= 2; k++) {
            int fd = t_connect_tcp("127.0.0.1", port);
            T_ASSERT(RUN_UNTIL(gobj_read_int(s, "session_failures") == k, 5000));
            char c;
            T_ASSERT(RUN_UNTIL(recv(fd, &c, 1, MSG_DONTWAIT) == 0, 5000));
            close(fd);
        }
        T_EQ_INT(t_log_find("error", "session of TSess failed"), 2);
        T_CONTAINS(t_log_text(t_log_count() - 1), "owner.server");
        T_EQ_INT(own_opened, 0);
        T_EQ_INT(gobj_child_count(owner), 1);
        T_EQ_INT(gobj_read_int(s, "n_sessions"), 0);
        T_EQ_STR(gobj_current_state(s)->name, "ST_LISTENING");
        s_end();
    }
}

static void test_bad_config(void)
{
    s_setup();
    gobj_t *s = gobj_create(
        "server", gclass_find(GCLASS_GSERVERSOCK_NAME),
        json_pack("{s:s, s:s}", "host", "127.0.0.1", "session_gclass", "NoSuch"), owner);
    T_ASSERT(s != NULL);
    T_ASSERT(gobj_start(s) < 0);
    T_EQ_INT(t_log_find("error", "session_gclass 'NoSuch'"), 1);
    T_ASSERT(gobj_create("server2", gclass_find(GCLASS_GSERVERSOCK_NAME),
                         json_pack("{s:[]}", "session_attrs"), owner) == NULL);
    T_EQ_INT(t_log_find("error", "session_attrs must be a JSON object"), 1);
    T_ASSERT(gobj_create("server3", gclass_find(GCLASS_GSERVERSOCK_NAME),
                         json_pack("{s:s}", "gsock_attrs", "x"), owner) == NULL);
    T_EQ_INT(t_log_find("error", "gsock_attrs must be a JSON object"), 1);
    /* What a connection would fail on fails the server's create instead,
     * naming the attribute (gserve --check finds the same). */
    struct {
        const char *json, *error;
    } bad[] = {
        {"{\"session_attrs\": {\"no_such_attr\": 1}}",
         "session_attrs: unknown attribute 'no_such_attr' of TSess"},
        {"{\"session_attrs\": {\"greeting\": 1}}",
         "session_attrs: attribute 'greeting' of TSess: expected string"},
        {"{\"gsock_attrs\": {\"framing\": \"bogus\"}}",
         "gsock_attrs: GSock attribute 'framing' is \\\"bogus\\\""}, /* JSON text */
        {"{\"gsock_attrs\": {\"framing\": \"line\", \"max_frame\": 0}}",
         "gsock_attrs: GSock attribute 'max_frame' is 0"},
        {"{\"gsock_attrs\": {\"tx_queued\": 1}}",
         "gsock_attrs: attribute 'tx_queued' of GSock is a statistic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *kw = json_loads(bad[i].json, 0, NULL);
        T_ASSERT(kw != NULL);
        json_object_set_new(kw, "session_gclass", json_string("TSess"));
        T_ASSERT(gobj_create("bad", gclass_find(GCLASS_GSERVERSOCK_NAME), kw, owner) == NULL);
        T_EQ_INT(t_log_find("error", bad[i].error), 1);
    }
    s_end();
}

/* gsock_attrs without sessions. */
static void test_gsock_attrs_plain(void)
{
    s_setup();
    tpeer_rec_t rec = {0};
    gobj_t *peer = t_peer("peer", &rec);
    gobj_t *s = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME),
                            json_pack("{s:s, s:i, s:{s:i}}", "host", "127.0.0.1", "port", 0,
                                      "gsock_attrs", "tx_high_water", 777),
                            peer);
    T_EQ_INT(gobj_start(s), 0);
    int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
    T_ASSERT(RUN_UNTIL(rec.connected == 1, 5000));
    T_EQ_INT(gobj_read_int(rec.sock, "tx_high_water"), 777);
    close(fd);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    gobj_destroy(peer);
    t_rec_reset(&rec);
    s_end();
}

/* Live sessions when the server stops, is destroyed, or the owner goes. */
static void test_teardown_with_live_sessions(void)
{
    for (int mode = 0; mode < 3; mode++) {
        s_setup();
        gobj_t *s = s_server(NULL);
        int port = (int)gobj_read_int(s, "port");
        int fds[5];
        for (int i = 0; i < 5; i++)
            fds[i] = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(own_opened == 5, 5000));
        if (mode == 0) {
            gobj_stop(s); /* the sessions go on */
            T_EQ_INT(send(fds[0], "q", 1, 0), 1);
            T_ASSERT(RUN_UNTIL(sess_rx == 1, 5000));
        } else if (mode == 1) {
            gobj_destroy(s); /* the sessions go on; the server hears nothing more */
            T_EQ_INT(send(fds[0], "q", 1, 0), 1);
            T_ASSERT(RUN_UNTIL(sess_rx == 1, 5000));
            close(fds[1]);
            T_ASSERT(RUN_UNTIL(sess_disconnected == 1, 5000));
        } else {
            gobj_destroy(owner); /* its sessions with it */
            owner = NULL;
            T_ASSERT(RUN_UNTIL(sess_destroyed == 5, 5000));
        }
        for (int i = 0; i < 5; i++)
            close(fds[i]);
        if (mode == 0)
            T_ASSERT(RUN_UNTIL(sess_destroyed == 5 && gobj_read_int(s, "n_sessions") == 0, 5000));
        else
            t_run_for(50);
        s_end();
    }
}

/* Many connections, closed abruptly (RST) or not, in seeded random order. */
static void test_many(void)
{
    s_setup();
    gobj_t *s = s_server(json_pack("{s:{s:s}}", "session_attrs", "greeting", "hi\n"));
    int port = (int)gobj_read_int(s, "port");
    enum { N = 200 };
    static int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(fds[i] >= 0);
    }
    T_ASSERT(RUN_UNTIL(own_opened == N, 20000));
    T_EQ_INT(gobj_read_int(s, "n_sessions"), N);
    uint32_t seed = 12345;
    for (int i = N - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (uint32_t)(i + 1));
        int t = fds[i];
        fds[i] = fds[j];
        fds[j] = t;
    }
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            struct linger lg = {1, 0}; /* RST */
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fds[i]);
        if (i % 17 == 0)
            gobj_loop_run_once(false);
    }
    T_ASSERT(RUN_UNTIL(sess_destroyed == N, 20000));
    T_EQ_INT(own_closed, N);
    T_ASSERT(RUN_UNTIL(gobj_read_int(s, "n_sessions") == 0, 5000));
    T_EQ_INT(gobj_child_count(owner), 1);
    s_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    t_init();
    test_echo_names_attrs_order();
    test_subscriber_without_events();
    test_destroy_points();
    test_owner_destroys_on_opened();
    test_failures();
    test_bad_config();
    test_gsock_attrs_plain();
    test_teardown_with_live_sessions();
    test_many();
    return t_done();
}
