/*
 * test_sock_flow.c - GSock: what the subscriber controls of the two
 * directions.  EV_PAUSE_RX / EV_RESUME_RX hold and release reading (also
 * inside a framed batch, across the GSock's own backpressure, and sent
 * before the connection is up); EV_SHUTDOWN shuts the write side once the
 * queue is written and reading goes on; with half_close the peer's FIN is
 * EV_RX_EOF and the connection stays open for writing until the subscriber
 * ends it.  The peer is a plain socket of the test (loopback, port 0).
 */
#include "socktest.h"

/*---------------------------------------------------------------------*
 *  TFlow: a subscriber that records, and acts on cue
 *---------------------------------------------------------------------*/
typedef struct {
    int connected, disconnected, rx_events, rx_eof, tx_ready;
    char reason[200];
    char rx[1 << 16];
    size_t rx_len;
    gobj_t *sock;
    /* Cues. */
    bool pause_on_first_rx; /* EV_PAUSE_RX inside the first EV_RX_DATA */
    bool destroy_on_eof;    /* gobj_destroy(src) inside EV_RX_EOF */
    bool reply_on_eof;      /* inside EV_RX_EOF: send "bye" then EV_SHUTDOWN */
    int events_after_eof;   /* anything delivered after a destroy in EV_RX_EOF */
} tflow_rec_t;

static tflow_rec_t rec;

GOBJ_DEFINE_STATE(ST_TFLOW);

static int ac_f_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj, (void)ev, (void)kw;
    rec.connected++;
    rec.sock = src;
    return 0;
}

static int ac_f_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    json_t *data = json_object_get(kw, "data");
    size_t n = json_string_length(data);
    if (rec.rx_eof && rec.destroy_on_eof)
        rec.events_after_eof++;
    if (rec.rx_len + n < sizeof rec.rx) {
        memcpy(rec.rx + rec.rx_len, json_string_value(data), n);
        rec.rx_len += n;
        rec.rx[rec.rx_len] = '\0';
    }
    rec.rx_events++;
    if (rec.pause_on_first_rx && rec.rx_events == 1)
        T_EQ_INT(gobj_send_event(src, EV_PAUSE_RX, NULL, gobj), 0);
    return 0;
}

static int ac_f_eof(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev, (void)kw;
    rec.rx_eof++;
    if (rec.destroy_on_eof)
        gobj_destroy(src);
    if (rec.reply_on_eof) {
        T_ASSERT(gobj_send_event(src, EV_SEND_DATA, json_pack("{s:s}", "data", "bye"), gobj) >= 0);
        T_EQ_INT(gobj_send_event(src, EV_SHUTDOWN, NULL, gobj), 0);
        /* Rule 15: the close it causes is not announced inside the send. */
        T_EQ_INT(rec.disconnected, 0);
    }
    return 0;
}

static int ac_f_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj, (void)ev, (void)kw, (void)src;
    rec.tx_ready++;
    return 0;
}

static int ac_f_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj, (void)ev, (void)src;
    if (rec.rx_eof && rec.destroy_on_eof)
        rec.events_after_eof++;
    rec.disconnected++;
    const char *r = json_string_value(json_object_get(kw, "reason"));
    snprintf(rec.reason, sizeof rec.reason, "%s", r ? r : "");
    return 0;
}

static const gobj_row_t st_tflow[] = {
    GOBJ_ROW(EV_CONNECTED, ac_f_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_f_rx, NULL),
    GOBJ_ROW(EV_RX_EOF, ac_f_eof, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_f_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_f_disconnected, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tflow_states[] = {
    GOBJ_STATE(ST_TFLOW, st_tflow),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tflow_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_RX_EOF, GOBJ_EV_IN, "{}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tflow_def = {
    .name = "TFlow",
    .description = "test subscriber of the flow controls",
    .states = tflow_states,
    .events = tflow_events,
};

/*---------------------------------------------------------------------*
 *  The peer: a plain listener and the connection it accepts
 *---------------------------------------------------------------------*/
static int lfd = -1, pfd = -1, lport;
static gobj_t *owner, *sock;

static void listen_plain(void)
{
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A small window (inherited by the accepted peer), so that output the
     * peer does not read is queued by the GSock soon. */
    int rcvbuf = 64 * 1024;
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    T_EQ_INT(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(listen(lfd, 8), 0);
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    lport = ntohs(a.sin_port);
}

/* A GSock under the TFlow "owner" with attrs (host and port added). */
static gobj_t *make_sock(json_t *attrs)
{
    owner = gobj_create("owner", gclass_find("TFlow"), NULL, NULL);
    T_ASSERT(owner != NULL);
    if (!attrs)
        attrs = json_object();
    json_object_set_new(attrs, "host", json_string("127.0.0.1"));
    json_object_set_new(attrs, "port", json_integer(lport));
    sock = gobj_create("sock", gclass_find(GCLASS_GSOCK_NAME), attrs, owner);
    T_ASSERT(sock != NULL);
    T_EQ_INT(gobj_start(sock), 0);
    return sock;
}

/* Connect, accept the peer's end (nonblocking), and wait for EV_CONNECTED. */
static void connect_sock(void)
{
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.connected == 1, 10000));
    pfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    T_ASSERT(pfd >= 0);
}

/* What the peer can read now (nonblocking); -1 at EOF. */
static ssize_t peer_read(char *buf, size_t cap)
{
    ssize_t n = read(pfd, buf, cap);
    if (n == 0)
        return -1;
    return n < 0 ? 0 : n;
}

/* Run the loop, the peer reading, until it has want bytes and (if eof)
 * the end of the stream.  Returns the bytes read. */
static size_t peer_drain(char *into, size_t want, bool eof, uint64_t ms)
{
    size_t got = 0;
    bool ended = false;
    uint64_t deadline = gobj_loop_now_msec() + ms;
    while (gobj_loop_now_msec() < deadline && !(got >= want && (!eof || ended))) {
        char tmp[65536];
        ssize_t n = peer_read(tmp, sizeof tmp);
        if (n < 0) {
            ended = true;
            continue;
        }
        if (n > 0) {
            if (into && got + (size_t)n <= want)
                memcpy(into + got, tmp, (size_t)n);
            got += (size_t)n;
            continue;
        }
        gobj_loop_run_once(true);
    }
    return eof && !ended ? 0 : got;
}

static void peer_write(const char *s)
{
    T_EQ_INT(write(pfd, s, strlen(s)), (ssize_t)strlen(s));
}

static void setup(void)
{
    t_setup();
    if (!gclass_find("TFlow"))
        T_ASSERT(gclass_register(&tflow_def) != NULL);
    memset(&rec, 0, sizeof rec);
    listen_plain();
}

static void end(void)
{
    gobj_destroy(owner);
    owner = sock = NULL;
    if (pfd >= 0)
        close(pfd);
    close(lfd);
    pfd = lfd = -1;
    t_teardown();
}

static int send_str(const char *s)
{
    return gobj_send_event(sock, EV_SEND_DATA, json_pack("{s:s}", "data", s), owner);
}

/*---------------------------------------------------------------------*
 *  Half-close
 *---------------------------------------------------------------------*/
/* The peer's FIN is EV_RX_EOF; replies still go out; EV_SHUTDOWN ends it. */
static void test_half_close_eof_then_reply(void)
{
    setup();
    make_sock(json_pack("{s:b}", "half_close", 1));
    connect_sock();
    peer_write("question");
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.rx_eof == 1, 10000));
    T_EQ_STR(rec.rx, "question");
    T_EQ_INT(rec.disconnected, 0);
    T_ASSERT(gobj_in_this_state(sock, ST_CONNECTED));
    /* Still writable, for as long as the subscriber wants. */
    t_run_for(100);
    T_EQ_INT(rec.disconnected, 0);
    T_EQ_INT(send_str("answer-1 "), 0);
    T_EQ_INT(send_str("answer-2"), 0);
    char buf[64] = "";
    T_EQ_INT(peer_drain(buf, 17, false, 10000), 17);
    T_ASSERT(memcmp(buf, "answer-1 answer-2", 17) == 0);
    /* The end: once written, then closed; announced on a later turn. */
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    T_EQ_INT(rec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    T_EQ_INT(peer_drain(NULL, 0, true, 10000), 0);
    T_EQ_INT(rec.connected, 1);
    t_run_for(50);
    T_EQ_INT(rec.disconnected, 1);
    end();
}

/* The reply and the shutdown from inside EV_RX_EOF, queued behind a large
 * output the peer reads only later: all of it arrives, then the FIN. */
static void test_half_close_reply_in_eof(void)
{
    setup();
    make_sock(json_pack("{s:b, s:i}", "half_close", 1, "tx_high_water", 0));
    rec.reply_on_eof = true;
    connect_sock();
    size_t big = 16 * 1024 * 1024;
    char *p = malloc(big + 1);
    memset(p, 'x', big);
    p[big] = '\0';
    T_ASSERT(send_str(p) > 0); /* the peer does not read yet: queued */
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.rx_eof == 1, 10000));
    T_EQ_INT(rec.disconnected, 0);
    char *in = malloc(big + 3);
    T_EQ_INT(peer_drain(in, big + 3, true, 20000), big + 3);
    T_ASSERT(memcmp(in + big, "bye", 3) == 0 && in[0] == 'x' && in[big - 1] == 'x');
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    free(p);
    free(in);
    end();
}

/* EV_SHUTDOWN first: the queue is written, then the FIN; sends after it are
 * refused; reading goes on; the peer's close ends it (without half_close). */
static void test_shutdown_first(void)
{
    setup();
    make_sock(json_pack("{s:i}", "tx_high_water", 0));
    connect_sock();
    size_t big = 16 * 1024 * 1024;
    char *p = malloc(big + 1);
    memset(p, 'y', big);
    p[big] = '\0';
    T_ASSERT(send_str(p) > 0);
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    size_t before = t_log_find("error", "after EV_SHUTDOWN");
    T_EQ_INT(send_str("late"), GOBJ_ESTATE);
    T_EQ_INT(t_log_find("error", "after EV_SHUTDOWN") - before, 1);
    char *in = malloc(big);
    T_EQ_INT(peer_drain(in, big, true, 20000), big);
    T_ASSERT(in[0] == 'y' && in[big - 1] == 'y');
    T_ASSERT(RUN_UNTIL(rec.tx_ready == 1, 10000));
    /* Our side is shut; the peer's is not: it still talks to us. */
    peer_write("still here");
    T_ASSERT(RUN_UNTIL(rec.rx_len == 10, 10000));
    T_EQ_STR(rec.rx, "still here");
    T_EQ_INT(rec.disconnected, 0);
    close(pfd);
    pfd = -1;
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    T_EQ_INT(rec.rx_eof, 0); /* no half_close: no EV_RX_EOF */
    free(p);
    free(in);
    end();
}

/* half_close after our own shutdown: the peer's FIN is still EV_RX_EOF,
 * and a second EV_SHUTDOWN closes at once. */
static void test_shutdown_then_eof(void)
{
    setup();
    make_sock(json_pack("{s:b}", "half_close", 1));
    connect_sock();
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    T_EQ_INT(peer_drain(NULL, 0, true, 10000), 0); /* the FIN came */
    peer_write("last words");
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.rx_eof == 1, 10000));
    T_EQ_STR(rec.rx, "last words");
    t_run_for(50);
    T_EQ_INT(rec.disconnected, 0); /* the subscriber ends it */
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    end();
}

/* A peer that ends inside a frame is not a clean end: "truncated frame",
 * no EV_RX_EOF, even with half_close. */
static void test_half_close_truncated(void)
{
    setup();
    make_sock(json_pack("{s:b, s:s}", "half_close", 1, "framing", "line"));
    connect_sock();
    peer_write("whole\npart");
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "truncated frame");
    T_EQ_INT(rec.rx_eof, 0);
    T_EQ_STR(rec.rx, "whole");
    end();
}

/* The subscriber destroys the GSock inside EV_RX_EOF: nothing after. */
static void test_destroy_in_eof(void)
{
    setup();
    make_sock(json_pack("{s:b}", "half_close", 1));
    rec.destroy_on_eof = true;
    connect_sock();
    peer_write("x");
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.rx_eof == 1, 10000));
    t_run_for(100);
    T_EQ_INT(rec.events_after_eof, 0);
    T_ASSERT(gobj_find_child(owner, "sock") == NULL);
    T_EQ_INT(peer_drain(NULL, 0, true, 10000), 0); /* closed */
    end();
}

/* An accepted GSock gets half_close from the server's gsock_attrs. */
static void test_server_side(void)
{
    t_setup();
    if (!gclass_find("TFlow"))
        T_ASSERT(gclass_register(&tflow_def) != NULL);
    memset(&rec, 0, sizeof rec);
    rec.reply_on_eof = true;
    owner = gobj_create("owner", gclass_find("TFlow"), NULL, NULL);
    gobj_t *srv = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME),
                              json_pack("{s:s, s:i, s:{s:b}}", "host", "127.0.0.1", "port", 0,
                                        "gsock_attrs", "half_close", 1),
                              owner);
    T_ASSERT(srv != NULL);
    T_EQ_INT(gobj_start_tree(owner), 0);
    pfd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(srv, "port"));
    T_ASSERT(pfd >= 0);
    fcntl(pfd, F_SETFL, O_NONBLOCK);
    T_EQ_INT(write(pfd, "ping", 4), 4);
    shutdown(pfd, SHUT_WR);
    char buf[16] = "";
    T_EQ_INT(peer_drain(buf, 3, true, 10000), 3); /* "bye", then the FIN */
    T_ASSERT(memcmp(buf, "bye", 3) == 0);
    T_EQ_STR(rec.rx, "ping");
    T_EQ_INT(rec.rx_eof, 1);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    lfd = socket(AF_INET, SOCK_STREAM, 0); /* end() closes one */
    end();
}

/*---------------------------------------------------------------------*
 *  Holding reading
 *---------------------------------------------------------------------*/
static void test_pause_resume(void)
{
    setup();
    make_sock(NULL);
    connect_sock();
    T_EQ_INT(gobj_send_event(sock, EV_PAUSE_RX, NULL, owner), 0);
    peer_write("abc");
    t_run_for(200);
    T_EQ_INT(rec.rx_events, 0);
    T_EQ_INT(gobj_send_event(sock, EV_RESUME_RX, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.rx_len == 3, 10000));
    T_EQ_STR(rec.rx, "abc");
    /* A resume without a pause is harmless. */
    T_EQ_INT(gobj_send_event(sock, EV_RESUME_RX, NULL, owner), 0);
    peer_write("def");
    T_ASSERT(RUN_UNTIL(rec.rx_len == 6, 10000));
    end();
}

/* Paused inside the first frame of a read: the rest of the batch waits. */
static void test_pause_in_batch(void)
{
    setup();
    make_sock(json_pack("{s:s}", "framing", "line"));
    rec.pause_on_first_rx = true;
    connect_sock();
    peer_write("a\nb\nc\n");
    T_ASSERT(RUN_UNTIL(rec.rx_events == 1, 10000));
    t_run_for(200);
    T_EQ_INT(rec.rx_events, 1);
    T_EQ_STR(rec.rx, "a");
    T_EQ_INT(gobj_send_event(sock, EV_RESUME_RX, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.rx_events == 3, 10000));
    T_EQ_STR(rec.rx, "abc");
    end();
}

/* The hold outlasts the GSock's own backpressure: crossing tx_high_water
 * and draining below it does not resume a held GSock. */
static void test_pause_across_backpressure(void)
{
    setup();
    make_sock(json_pack("{s:i}", "tx_high_water", 1000));
    connect_sock();
    T_EQ_INT(gobj_send_event(sock, EV_PAUSE_RX, NULL, owner), 0);
    size_t big = 4 * 1024 * 1024;
    char *p = malloc(big + 1);
    memset(p, 'z', big);
    p[big] = '\0';
    T_ASSERT(send_str(p) > 1000);
    T_EQ_INT(peer_drain(NULL, big, false, 20000), big);
    T_ASSERT(RUN_UNTIL(rec.tx_ready == 1, 10000));
    peer_write("held");
    t_run_for(200);
    T_EQ_INT(rec.rx_events, 0);
    T_EQ_INT(gobj_send_event(sock, EV_RESUME_RX, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.rx_len == 4, 10000));
    free(p);
    end();
}

/* A hold sent before EV_CONNECT applies to the connection; it ends with it. */
static void test_pause_before_connect(void)
{
    setup();
    make_sock(NULL);
    T_EQ_INT(gobj_send_event(sock, EV_PAUSE_RX, NULL, owner), 0);
    connect_sock();
    peer_write("early");
    t_run_for(200);
    T_EQ_INT(rec.rx_events, 0);
    T_EQ_INT(gobj_send_event(sock, EV_RESUME_RX, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.rx_len == 5, 10000));
    /* EV_SHUTDOWN while disconnected does nothing. */
    close(pfd);
    pfd = -1;
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    end();
}

/* EV_SHUTDOWN while connecting: the FIN follows the connect and the queue. */
static void test_shutdown_while_connecting(void)
{
    setup();
    make_sock(NULL);
    T_EQ_INT(gobj_send_event(sock, EV_CONNECT, NULL, owner), 0);
    T_EQ_INT(send_str("queued"), 6);
    T_EQ_INT(gobj_send_event(sock, EV_SHUTDOWN, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.connected == 1, 10000));
    pfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    T_ASSERT(pfd >= 0);
    char buf[16] = "";
    T_EQ_INT(peer_drain(buf, 6, true, 10000), 6);
    T_ASSERT(memcmp(buf, "queued", 6) == 0);
    end();
}

/* GConnex passes them on: the hold and EV_SHUTDOWN sent while it is down
 * apply to the connection it makes; EV_RX_EOF is republished. */
static void test_connex(void)
{
    setup();
    owner = gobj_create("owner", gclass_find("TFlow"), NULL, NULL);
    json_t *attrs = json_pack("{s:[{s:s, s:i}], s:{s:b}}", "destinations", "host", "127.0.0.1",
                              "port", lport, "gsock_attrs", "half_close", 1);
    gobj_t *cx = gobj_create("cx", gclass_find(GCLASS_GCONNEX_NAME), attrs, owner);
    T_ASSERT(cx != NULL);
    T_EQ_INT(gobj_send_event(cx, EV_PAUSE_RX, NULL, owner), 0);
    T_EQ_INT(gobj_send_event(cx, EV_SEND_DATA, json_pack("{s:s}", "data", "first"), owner), 5);
    T_EQ_INT(gobj_send_event(cx, EV_SHUTDOWN, NULL, owner), 0);
    size_t before = t_log_find("error", "after EV_SHUTDOWN");
    T_EQ_INT(gobj_send_event(cx, EV_SEND_DATA, json_pack("{s:s}", "data", "x"), owner),
             GOBJ_ESTATE);
    T_EQ_INT(t_log_find("error", "after EV_SHUTDOWN") - before, 1);
    T_EQ_INT(gobj_start(cx), 0);
    T_ASSERT(RUN_UNTIL(rec.connected == 1, 10000));
    T_ASSERT(rec.sock == cx);
    pfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    T_ASSERT(pfd >= 0);
    char buf[16] = "";
    T_EQ_INT(peer_drain(buf, 5, true, 10000), 5); /* the queue, then the FIN */
    T_ASSERT(memcmp(buf, "first", 5) == 0);
    peer_write("back");
    t_run_for(200);
    T_EQ_INT(rec.rx_events, 0); /* held */
    T_EQ_INT(gobj_send_event(cx, EV_RESUME_RX, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.rx_len == 4, 10000));
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.rx_eof == 1, 10000));
    T_EQ_INT(rec.disconnected, 0);
    T_EQ_INT(gobj_send_event(cx, EV_SHUTDOWN, NULL, owner), 0);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 10000));
    T_EQ_STR(rec.reason, "peer closed");
    T_EQ_INT(gobj_send_event(cx, EV_DROP, NULL, owner), 0);
    gobj_stop(cx);
    end();
}

int main(void)
{
    t_init();
    test_half_close_eof_then_reply();
    test_half_close_reply_in_eof();
    test_shutdown_first();
    test_shutdown_then_eof();
    test_half_close_truncated();
    test_destroy_in_eof();
    test_server_side();
    test_pause_resume();
    test_pause_in_batch();
    test_pause_across_backpressure();
    test_pause_before_connect();
    test_shutdown_while_connecting();
    test_connex();
    return t_done();
}
