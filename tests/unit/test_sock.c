/*
 * test_sock.c - GSock: echo through a GServerSock in one process (byte-exact
 * at several sizes), the names it reports, every way a connection ends,
 * half-close, destroying it from the subscriber's actions, backpressure and
 * client connect failures.  Loopback only, port 0, time-boxed.
 */
#include <net/if.h>

#include "socktest.h"
#include "sock_internal.h" /* gsock__format_addr: gobjs/sock_addr.c is built into this test */

static tpeer_rec_t srec, crec;
static gobj_t *app, *cli, *server;

/* A server on 127.0.0.1 (or attrs) under the TPeer "app"; srec records what
 * its GSocks publish.  Returns the bound port. */
static int t_server(json_t *attrs)
{
    app = t_peer("app", &srec);
    if (!attrs)
        attrs = json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0);
    server = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), attrs, app);
    T_ASSERT(server != NULL);
    T_EQ_INT(gobj_start_tree(app), 0);
    return (int)gobj_read_int(server, "port");
}

/* A client GSock under the TPeer "cli", connecting to attrs. */
static gobj_t *t_client(json_t *attrs)
{
    if (!cli)
        cli = t_peer("cli", &crec);
    gobj_t *s = gobj_create(NULL, gclass_find(GCLASS_GSOCK_NAME), attrs, cli);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    T_EQ_INT(gobj_send_event(s, EV_CONNECT, NULL, cli), 0);
    return s;
}

/* {data} with any bytes (json_pack would insist on UTF-8). */
static json_t *t_data(const void *p, size_t n)
{
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(p, n));
    return kw;
}

static void t_end(void)
{
    gobj_destroy(app);
    gobj_destroy(cli);
    app = cli = server = NULL;
    t_teardown();
    t_rec_reset(&srec);
    t_rec_reset(&crec);
}

/*---------------------------------------------------------------------*/
static void test_echo_sizes(void)
{
    t_setup();
    srec.echo = true;
    int port = t_server(NULL);
    T_ASSERT(port > 0);
    crec.keep_rx = true;
    crec.keep_on_disconnected = true;
    gobj_t *c = t_client(json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port));
    /* EV_CONNECT never answers inside its own send. */
    T_EQ_INT(crec.connected, 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 && srec.connected == 1, 5000));
    T_EQ_STR(gobj_current_state(c)->name, "ST_CONNECTED");
    /* The accepted GSock is the subscriber's child, named after the server. */
    T_EQ_STR(srec.first_name, "app.server.clisrv_1");
    T_ASSERT(gobj_find_child(app, "server.clisrv_1") != NULL);
    T_EQ_INT(gobj_read_int(server, "n_gsocks"), 1);

    static const size_t sizes[] = {1, 65536, 1048576};
    size_t total = 0;
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        unsigned char *buf = malloc(n);
        t_fill_random(buf, n, (uint32_t)(k + 7));
        crec.rx_len = 0;
        gobj_send_event(c, EV_SEND_DATA, t_data(buf, n), cli);
        T_ASSERT(RUN_UNTIL(crec.rx_len >= n, 10000));
        T_EQ_INT(crec.rx_len, n);
        T_ASSERT(crec.rx_len == n && memcmp(crec.rx, buf, n) == 0);
        total += n;
        free(buf);
    }
    /* Many small chunks, sent back to back: the bytes arrive in order. */
    crec.rx_len = 0;
    unsigned char small[1000 * 37];
    t_fill_random(small, sizeof small, 99);
    for (size_t i = 0; i < 1000; i++)
        gobj_send_event(c, EV_SEND_DATA, t_data(small + i * 37, 37), cli);
    total += sizeof small;
    T_ASSERT(RUN_UNTIL(crec.rx_len >= sizeof small, 10000));
    T_ASSERT(crec.rx_len == sizeof small && memcmp(crec.rx, small, sizeof small) == 0);

    json_t *st = gobj_stats(c);
    T_EQ_INT(json_integer_value(json_object_get(st, "tx_bytes")), total);
    T_EQ_INT(json_integer_value(json_object_get(st, "rx_bytes")), total);
    T_EQ_INT(json_integer_value(json_object_get(st, "tx_msgs")), 1003);
    T_EQ_INT(json_integer_value(json_object_get(st, "tx_queued")), 0);
    json_decref(st);

    /* The client drops (nothing queued: closes at once, and announces it
     * on a later turn, not inside the send); the server side sees the peer
     * close.  One EV_DISCONNECTED each. */
    gobj_send_event(c, EV_DROP, NULL, cli);
    T_EQ_INT(crec.disconnected, 0);
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "dropped");
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "peer closed");
    T_ASSERT(RUN_UNTIL(gobj_read_int(server, "n_gsocks") == 0, 5000));
    T_EQ_INT(gobj_read_int(server, "total_accepted"), 1);
    t_run_for(20);
    T_EQ_INT(srec.connected, 1);
    T_EQ_INT(srec.disconnected, 1);
    T_EQ_INT(crec.connected, 1);
    T_EQ_INT(crec.disconnected, 1);
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");
    t_end();
}

/* peername/sockname are what the client itself sees, swapped. */
static void check_names(const char *host, const char *connect_ip)
{
    t_setup();
    int port = t_server(json_pack("{s:s, s:i}", "host", host, "port", 0));
    int fd = t_connect_tcp(connect_ip, port);
    T_ASSERT(fd >= 0);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    char self[160], peer[160];
    t_name(fd, false, self, sizeof self);
    t_name(fd, true, peer, sizeof peer);
    T_EQ_STR(srec.peername, self);
    T_EQ_STR(srec.sockname, peer);
    T_EQ_STR(gobj_read_str(srec.sock, "peername"), self);
    T_EQ_INT(gobj_read_int(srec.sock, "peer_uid"), -1); /* TCP: unknown */
    close(fd);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "peer closed");
    T_EQ_STR(srec.peername, self);
    T_EQ_STR(srec.sockname, peer);
    t_end();
}

static void test_names(void)
{
    check_names("127.0.0.1", "127.0.0.1");
    check_names("::1", "::1");
    /* All families: the wildcard listeners ask the kernel per connection. */
    check_names("", "127.0.0.1");
    check_names("", "::1");
}

static void test_reset(void)
{
    t_setup();
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* RST */
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "connection reset");
    T_EQ_STR(srec.err, "ECONNRESET");
    t_run_for(20);
    T_EQ_INT(srec.disconnected, 1);
    t_end();
}

static void test_inactivity(void)
{
    t_setup();
    /* Every GSock created from now on, also those the server creates. */
    gobj_set_global_attrs(json_pack("{s:i}", "GSock.inactivity_timeout", 400));
    srec.echo = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    uint64_t t0 = gobj_loop_now_msec();
    /* Traffic keeps it open (a byte every 50 ms, well inside 400 ms). */
    for (int i = 0; i < 3; i++) {
        t_run_for(50);
        T_EQ_INT(write(fd, "x", 1), 1);
    }
    T_EQ_INT(srec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_ASSERT(gobj_loop_now_msec() - t0 >= 150 + 400);
    T_EQ_STR(srec.reason, "inactivity timeout");
    /* The client sees the server's close after the echoed bytes. */
    unsigned char buf[16];
    T_EQ_INT(t_read_all(fd, buf, sizeof buf), 3);
    close(fd);
    t_end();
}

static void test_stop(void)
{
    t_setup();
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    srec.keep_on_disconnected = true;
    gobj_t *s = srec.sock;
    T_EQ_INT(gobj_stop(s), 0);
    T_EQ_INT(srec.disconnected, 0); /* closed now, announced on a later turn */
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "stopped");
    T_EQ_INT(t_read_all(fd, NULL, 0), 0); /* EOF */
    t_run_for(20);
    T_EQ_INT(srec.disconnected, 1);
    /* Destroying the stopped GSock publishes nothing more. */
    gobj_destroy(s);
    T_EQ_INT(srec.disconnected, 1);
    close(fd);
    t_end();
}

/* gobj_stop is graceful too: queued output is written before the close. */
static void test_stop_flush(void)
{
    t_setup();
    srec.reply_bytes = 8 * 1024 * 1024;
    int port = t_server(NULL);
    int fd = t_connect_tcp_rcvbuf("127.0.0.1", port, 4096);
    T_EQ_INT(write(fd, "go", 2), 2);
    T_ASSERT(RUN_UNTIL(srec.rx_events == 1, 5000));
    T_ASSERT(gobj_read_int(srec.sock, "tx_queued") > 0);
    T_EQ_INT(gobj_stop(srec.sock), 0);
    T_EQ_INT(srec.disconnected, 0); /* still flushing */
    size_t cap = srec.reply_bytes + 16;
    unsigned char *in = malloc(cap);
    t_client_t c = {.fd = fd, .in = in, .in_cap = cap};
    pthread_t th;
    pthread_create(&th, NULL, t_client_main, &c);
    T_ASSERT(RUN_UNTIL(t_client_done(&c) && srec.disconnected == 1, 10000));
    pthread_join(th, NULL);
    T_EQ_INT(c.in_len, srec.reply_bytes);
    T_EQ_STR(srec.reason, "stopped");
    free(in);
    close(fd);
    t_end();
}

/* EV_DROP flushes what is queued (8 MiB, more than the socket buffers
 * take at once) before closing. */
static void test_drop_flush(void)
{
    t_setup();
    srec.reply_bytes = 8 * 1024 * 1024;
    srec.drop_after_reply = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp_rcvbuf("127.0.0.1", port, 4096);
    T_EQ_INT(write(fd, "go", 2), 2);
    size_t cap = srec.reply_bytes + 16;
    unsigned char *in = malloc(cap);
    t_client_t c = {.fd = fd, .in = in, .in_cap = cap};
    pthread_t th;
    pthread_create(&th, NULL, t_client_main, &c);
    T_ASSERT(RUN_UNTIL(t_client_done(&c) && srec.disconnected == 1, 10000));
    pthread_join(th, NULL);
    T_EQ_INT(c.in_len, srec.reply_bytes);
    bool same = c.in_len == srec.reply_bytes;
    for (size_t i = 0; same && i < c.in_len; i++)
        same = in[i] == (unsigned char)('a' + i % 26);
    T_ASSERT(same);
    T_EQ_STR(srec.reason, "dropped");
    T_EQ_STR(srec.err, "");
    free(in);
    close(fd);
    t_end();
}

/* A peer that never reads: drop_timeout forces the close. */
static void test_drop_timeout(void)
{
    t_setup();
    gobj_set_global_attrs(json_pack("{s:i}", "GSock.drop_timeout", 100));
    srec.reply_bytes = 8 * 1024 * 1024;
    srec.drop_after_reply = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp_rcvbuf("127.0.0.1", port, 4096);
    T_EQ_INT(write(fd, "go", 2), 2);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "dropped");
    T_EQ_STR(srec.err, "ETIMEDOUT");
    close(fd);
    t_end();
}

/* Half-close: 4 MiB, then shutdown(SHUT_WR); every byte comes back. */
static void test_half_close(void)
{
    t_setup();
    srec.echo = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    size_t n = 4 * 1024 * 1024;
    unsigned char *out = malloc(n), *in = malloc(n + 16);
    t_fill_random(out, n, 4);
    t_client_t c = {.fd = fd, .out = out, .out_len = n, .shut_wr = true, .in = in,
                    .in_cap = n + 16};
    pthread_t th;
    pthread_create(&th, NULL, t_client_main, &c);
    T_ASSERT(RUN_UNTIL(t_client_done(&c) && srec.disconnected == 1, 20000));
    pthread_join(th, NULL);
    T_EQ_INT(c.in_len, n);
    T_ASSERT(c.in_len == n && memcmp(in, out, n) == 0);
    T_EQ_STR(srec.reason, "peer closed");
    T_EQ_INT(srec.connected, 1);
    T_EQ_INT(srec.disconnected, 1);
    free(out);
    free(in);
    close(fd);
    t_end();
}

/* The subscriber destroys the GSock inside each of its actions. */
static void test_destroy_inside(void)
{
    for (int mode = 0; mode < 3; mode++) {
        t_setup();
        srec.destroy_on_connected = mode == 0;
        srec.destroy_on_rx = mode == 1;
        srec.echo = mode == 1;
        int port = t_server(NULL);
        size_t live = gobj_live_count();
        int fd = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
        if (mode == 1) {
            T_EQ_INT(write(fd, "ping", 4), 4);
            T_ASSERT(RUN_UNTIL(srec.rx_events == 1, 5000));
        }
        if (mode == 2) {
            shutdown(fd, SHUT_WR);
            T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
        }
        /* The GSock is gone, its socket closed: the client reads EOF (the
         * echo of "ping" first, written before the destroy). */
        T_ASSERT(RUN_UNTIL(gobj_live_count() == live, 5000));
        unsigned char buf[16];
        T_EQ_INT(t_read_all(fd, buf, sizeof buf), mode == 1 ? 4 : 0);
        t_run_for(20);
        T_EQ_INT(srec.disconnected, mode == 2 ? 1 : 0);
        T_EQ_INT(gobj_read_int(server, "n_gsocks"), 0);
        close(fd);
        t_end();
    }
}

/* Destroying the subscriber closes the GSocks it owns. */
static void test_destroy_subscriber(void)
{
    t_setup();
    int port = t_server(NULL);
    int fd1 = t_connect_tcp("127.0.0.1", port), fd2 = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 2, 5000));
    gobj_destroy(app);
    app = server = NULL;
    T_EQ_INT(t_read_all(fd1, NULL, 0), 0);
    T_EQ_INT(t_read_all(fd2, NULL, 0), 0);
    close(fd1);
    close(fd2);
    t_end();
}

/* A peer that sends without reading: the GSock stops reading once more
 * than tx_high_water is queued, so its memory stays bounded; reading
 * resumes when the peer drains. */
static void test_backpressure(void)
{
    t_setup();
    gobj_set_global_attrs(json_pack("{s:i}", "GSock.tx_high_water", 65536));
    srec.echo = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    gobj_t *s = srec.sock;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static unsigned char chunk[65536];
    memset(chunk, 'b', sizeof chunk);
    size_t sent = 0;
    int64_t max_queued = 0;
    int stuck = 0;
    uint64_t deadline = gobj_loop_now_msec() + 10000;
    while (stuck < 50 && gobj_loop_now_msec() < deadline) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            stuck = 0;
        } else {
            stuck++;
        }
        gobj_loop_run_once(false);
        int64_t q = gobj_read_int(s, "tx_queued");
        if (q > max_queued)
            max_queued = q;
    }
    /* The client could not push more: the server stopped reading. */
    T_ASSERT(stuck >= 50);
    int64_t rx_before = gobj_read_int(s, "rx_bytes");
    t_run_for(50);
    T_EQ_INT(gobj_read_int(s, "rx_bytes"), rx_before);
    /* Bounded: the high water plus at most one read's worth. */
    T_ASSERT(max_queued > 65536);
    T_ASSERT(max_queued <= 65536 + 65536);
    /* Now the client reads everything; the server drains and reads on. */
    size_t got = 0;
    deadline = gobj_loop_now_msec() + 10000;
    while (got < sent && gobj_loop_now_msec() < deadline) {
        unsigned char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n > 0)
            got += (size_t)n;
        gobj_loop_run_once(false);
    }
    T_EQ_INT(got, sent);
    T_ASSERT(srec.tx_ready >= 0);
    T_EQ_INT(gobj_read_int(s, "rx_bytes"), sent);
    close(fd);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    t_end();
}

static void test_connect_failures(void)
{
    t_setup();
    /* A port nobody listens on: bind one, read it, close it. */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(probe, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(probe, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    close(probe);

    crec.keep_on_disconnected = true;
    gobj_t *c = t_client(json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port));
    T_EQ_INT(crec.disconnected, 0); /* never inside the send */
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_INT(crec.connected, 0);
    T_EQ_STR(crec.reason, "connect failed: Connection refused");
    T_EQ_STR(crec.err, "ECONNREFUSED");
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, target);

    /* A unix path with nothing behind it. */
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, json_pack("{s:s}", "path", "/nonexistent/x.sock"),
                             cli),
             0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    T_EQ_STR(crec.err, "ENOENT");
    T_CONTAINS(crec.reason, "connect failed:");

    /* Bad arguments are an error code, not an event. */
    gobj_t *c2 = gobj_create("c2", gclass_find(GCLASS_GSOCK_NAME), NULL, cli);
    gobj_start(c2);
    T_EQ_INT(gobj_send_event(c2, EV_CONNECT, NULL, cli), GOBJ_EINVAL);
    T_EQ_INT(t_log_find("error", "needs a path"), 1);
    /* Refused while disconnected: sending. */
    T_EQ_INT(gobj_send_event(c2, EV_SEND_DATA, json_pack("{s:s}", "data", "x"), cli),
             GOBJ_ENOEVENT);
    t_run_for(20);
    T_EQ_INT(crec.disconnected, 2);
    t_end();
}

/* A listener whose accept queue is full drops new SYNs: the connect hangs
 * and connect_timeout ends it. */
static void test_connect_timeout(void)
{
    t_setup();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_EQ_INT(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(listen(lfd, 0), 0);
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    /* Fill the accept queue (never accepted). */
    int fill[4], n_fill = 0;
    for (int i = 0; i < 4; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fd, (struct sockaddr *)&a, sizeof a);
        fill[n_fill++] = fd;
    }
    t_run_for(50);
    crec.keep_on_disconnected = true;
    gobj_t *c = gobj_create("slow", gclass_find(GCLASS_GSOCK_NAME),
                            json_pack("{s:s, s:i, s:i}", "host", "127.0.0.1", "port", port,
                                      "connect_timeout", 200),
                            cli ? cli : (cli = t_peer("cli", &crec)));
    gobj_start(c);
    uint64_t t0 = gobj_loop_now_msec();
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, NULL, cli), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_ASSERT(gobj_loop_now_msec() - t0 >= 200);
    T_EQ_INT(crec.connected, 0);
    T_EQ_STR(crec.reason, "connect timeout");
    T_EQ_STR(crec.err, "ETIMEDOUT");
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");
    for (int i = 0; i < n_fill; i++)
        close(fill[i]);
    close(lfd);
    t_end();
}

/* Data sent while connecting is queued and goes out once connected;
 * a client connects by name (localhost: one address may be refused, the
 * next is tried). */
static void test_send_while_connecting(void)
{
    t_setup();
    srec.echo = true;
    int port = t_server(NULL);
    crec.keep_rx = true;
    crec.keep_on_disconnected = true;
    gobj_t *c = t_client(json_pack("{s:s, s:i}", "host", "localhost", "port", port));
    gobj_send_event(c, EV_SEND_DATA, json_pack("{s:s}", "data", "early"), cli);
    T_ASSERT(RUN_UNTIL(crec.rx_len == 5, 5000));
    T_ASSERT(crec.rx_len == 5 && memcmp(crec.rx, "early", 5) == 0);
    T_EQ_INT(crec.connected, 1);
    char expect[64];
    snprintf(expect, sizeof expect, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, expect);
    /* gobj_stop on the client: "stopped", and the server sees it close. */
    gobj_stop(c);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "stopped");
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    t_end();
}

/* The machine trace shows the loop activity as events. */
static void test_trace(void)
{
    t_setup();
    srec.echo = true;
    int port = t_server(NULL);
    gclass_set_trace(gclass_find(GCLASS_GSOCK_NAME), GOBJ_TRACE_MACHINE);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
    T_EQ_INT(write(fd, "hi", 2), 2);
    T_ASSERT(RUN_UNTIL(srec.rx_events == 1, 5000));
    close(fd);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    gclass_set_trace(gclass_find(GCLASS_GSOCK_NAME), 0);
    /* Off again: the traffic is not dumped. */
    T_EQ_INT(t_log_find(NULL, "6869"), 0);
    T_ASSERT(t_log_find(NULL, "EV_GSOCK_ACCEPTED") >= 1);
    T_ASSERT(t_log_find(NULL, "EV_GSOCK_READABLE") >= 2);
    T_ASSERT(t_log_find(NULL, "ac_read") >= 2);
    t_end();
}

/* The traffic trace dumps rx and tx as hex. */
static void test_traffic_trace(void)
{
    t_setup();
    srec.echo = true;
    int port = t_server(NULL);
    gclass_set_trace(gclass_find(GCLASS_GSOCK_NAME), GOBJ_TRACE_TRAFFIC);
    int fd = t_connect_tcp("127.0.0.1", port);
    T_EQ_INT(write(fd, "hi", 2), 2);
    T_ASSERT(RUN_UNTIL(srec.rx_events == 1, 5000));
    gclass_set_trace(gclass_find(GCLASS_GSOCK_NAME), 0);
    T_EQ_INT(t_log_find(NULL, "\"hex\":\"6869\""), 2); /* rx, then the echo's tx */
    T_EQ_INT(t_log_find(NULL, "\"msg\":\"rx\""), 1);
    T_EQ_INT(t_log_find(NULL, "\"msg\":\"tx\""), 1);
    /* Trace records name their level, as every other trace kind does. */
    T_EQ_INT(t_log_find("trace", "\"trace\":\"traffic\""), 2);
    close(fd);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    t_end();
}

/* A client GSock on a unix socket: the server's peer is unnamed. */
static void test_unix_client(void)
{
    char dir[] = "/tmp/gsock-test-XXXXXX";
    T_ASSERT(mkdtemp(dir) != NULL);
    char path[100];
    snprintf(path, sizeof path, "%s/c.sock", dir);
    t_setup();
    srec.echo = true;
    t_server(json_pack("{s:s}", "path", path));
    crec.keep_rx = true;
    crec.keep_on_disconnected = true;
    gobj_t *c = t_client(json_pack("{s:s}", "path", path));
    T_ASSERT(RUN_UNTIL(crec.connected == 1 && srec.connected == 1, 5000));
    T_EQ_STR(crec.peername, path);
    T_EQ_STR(crec.sockname, "");
    T_EQ_STR(srec.peername, "");
    T_EQ_STR(srec.sockname, path);
    /* The accepted side knows who connected (SO_PEERCRED); a client does
     * not. */
    T_EQ_INT(gobj_read_int(srec.sock, "peer_uid"), (int64_t)getuid());
    T_EQ_INT(gobj_read_int(srec.sock, "peer_pid"), (int64_t)getpid());
    T_EQ_INT(gobj_read_int(c, "peer_uid"), -1);
    gobj_send_event(c, EV_SEND_DATA, json_pack("{s:s}", "data", "unix"), cli);
    T_ASSERT(RUN_UNTIL(crec.rx_len == 4, 5000));
    T_ASSERT(memcmp(crec.rx, "unix", 4) == 0);
    gobj_send_event(c, EV_DROP, NULL, cli);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "peer closed");
    t_end();
    struct stat sb;
    T_ASSERT(lstat(path, &sb) < 0); /* removed with the server */
    rmdir(dir);
}

/* A peer that reset: the RST is already on the server's socket, but the
 * loop has not run, so the next thing to find it is a write. */
static void t_reset_now(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void t_kick(const char *op, const char *data)
{
    json_t *kw = data ? json_pack("{s:s, s:s}", "op", op, "data", data)
                      : json_pack("{s:s}", "op", op);
    T_EQ_INT(gobj_send_event(app, EV_T_KICK, kw, NULL), 0);
}

/* No re-entrant callbacks: an EV_DISCONNECTED caused by the subscriber's
 * own EV_SEND_DATA (a write error), EV_DROP (nothing queued) or gobj_stop
 * is not delivered inside that call, and exactly one arrives later. */
static void test_no_reentry(void)
{
    static const char *const ops[] = {"send", "drop", "stop"};
    for (size_t k = 0; k < 3; k++) {
        t_setup();
        int port = t_server(NULL);
        int fd = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
        if (k == 0)
            t_reset_now(fd);
        t_kick(ops[k], "x");
        T_EQ_INT(srec.kick_sends, 1);
        T_EQ_INT(srec.disconnected_in_call, 0);
        T_EQ_INT(srec.disconnected, 0);
        T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
        T_EQ_STR(srec.reason, k == 0 ? "connection reset" : k == 1 ? "dropped" : "stopped");
        t_run_for(20);
        T_EQ_INT(srec.disconnected, 1);
        T_EQ_INT(gobj_child_count(app), 1); /* the GSock was destroyed, the server stays */
        if (k != 0)
            close(fd);
        t_end();
    }
}

/* The chat server: walk the list of connections and send to each; one of
 * them has reset.  The walk reads node->next after each send, and the
 * subscriber frees the node and destroys the GSock on its EV_DISCONNECTED:
 * clean only if that event comes after the walk. */
static void test_broadcast_reset(void)
{
    t_setup();
    srec.chat = true;
    int port = t_server(NULL);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(srec.connected == i + 1, 5000));
    }
    /* The first in the list resets: the walk goes on past its node. */
    t_reset_now(fds[0]);
    t_kick("broadcast", "hello");
    T_EQ_INT(srec.kick_sends, 3);
    T_EQ_INT(srec.disconnected_in_call, 0);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    T_EQ_STR(srec.reason, "connection reset");
    for (int i = 1; i < 3; i++) {
        char buf[8] = "";
        T_EQ_INT(read(fds[i], buf, 5), 5);
        T_ASSERT(memcmp(buf, "hello", 5) == 0);
    }
    T_EQ_INT(gobj_child_count(app), 3); /* the server and two GSocks */
    for (int i = 1; i < 3; i++)
        close(fds[i]);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 3, 5000));
    t_end();
}

/* gobj_stop(gsock) from outside any dispatch (the test's main, a loop
 * timer callback) while the subscriber destroys the GSock on its
 * EV_DISCONNECTED: nothing is used after it is freed. */
static void t_stop_cb(void *user)
{
    gobj_stop(user);
}

static void test_stop_outside_dispatch(void)
{
    for (int mode = 0; mode < 2; mode++) {
        t_setup();
        int port = t_server(NULL);
        int fd = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(srec.connected == 1, 5000));
        gobj_loop_timer_t *tm = NULL;
        if (mode == 0) {
            T_EQ_INT(gobj_stop(srec.sock), 0);
        } else {
            tm = gobj_loop_timer_new(t_stop_cb, srec.sock);
            gobj_loop_timer_start(tm, 1, false);
        }
        T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
        T_EQ_STR(srec.reason, "stopped");
        T_ASSERT(RUN_UNTIL(gobj_child_count(app) == 1, 5000));
        T_EQ_INT(t_read_all(fd, NULL, 0), 0); /* EOF */
        t_run_for(20);
        T_EQ_INT(srec.disconnected, 1);
        gobj_loop_timer_free(tm);
        close(fd);
        t_end();
    }
}

/* A binary relay: every byte value, invalid UTF-8 and NULs go through
 * EV_RX_DATA -> json_stringn_nocheck -> EV_SEND_DATA unchanged. */
static void test_binary_relay(void)
{
    t_setup();
    srec.relay = true;
    int port = t_server(NULL);
    int fd = t_connect_tcp("127.0.0.1", port);
    unsigned char out[256 + 32];
    for (int i = 0; i < 256; i++)
        out[i] = (unsigned char)i;
    static const unsigned char bad[] = {0xc0, 0xaf, 0xe0, 0x80, 0xbf, 0xed, 0xa0, 0x80,
                                        0xf8, 0x88, 0x80, 0x80, 0x80, 0xff, 0xfe, 0x00,
                                        0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1,
                                        0xf0, 0x28, 0x8c, 0xbc, 0x00, 0x80, 0xc2, 0x00};
    memcpy(out + 256, bad, sizeof bad);
    T_EQ_INT(write(fd, out, sizeof out), (ssize_t)sizeof out);
    unsigned char in[sizeof out];
    size_t got = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    uint64_t deadline = gobj_loop_now_msec() + 5000;
    while (got < sizeof in && gobj_loop_now_msec() < deadline) {
        gobj_loop_run_once(false);
        ssize_t n = read(fd, in + got, sizeof in - got);
        if (n > 0)
            got += (size_t)n;
    }
    T_EQ_INT(got, sizeof out);
    T_ASSERT(got == sizeof out && memcmp(in, out, sizeof out) == 0);
    T_EQ_INT(t_log_find("error", NULL), 0);
    close(fd);
    T_ASSERT(RUN_UNTIL(srec.disconnected == 1, 5000));
    t_end();
}

/* A unix listener whose backlog is full answers connect() with EAGAIN: the
 * client retries until connect_timeout instead of failing at once. */
static void test_unix_backlog_full(void)
{
    char dir[] = "/tmp/gsock-test-XXXXXX";
    T_ASSERT(mkdtemp(dir) != NULL);
    char path[100];
    snprintf(path, sizeof path, "%s/b.sock", dir);
    t_setup();
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
    T_EQ_INT(bind(lfd, (struct sockaddr *)&un, sizeof un), 0);
    T_EQ_INT(listen(lfd, 0), 0);
    int fill[8], n_fill = 0;
    for (; n_fill < 8; n_fill++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
            T_EQ_INT(errno, EAGAIN);
            close(fd);
            break;
        }
        fill[n_fill] = fd;
    }
    T_ASSERT(n_fill < 8); /* the backlog is full */
    crec.keep_on_disconnected = true;
    cli = t_peer("cli", &crec);
    gobj_t *c = gobj_create("c", gclass_find(GCLASS_GSOCK_NAME),
                            json_pack("{s:s, s:i}", "path", path, "connect_timeout", 10000), cli);
    T_EQ_INT(gobj_start(c), 0);
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, NULL, cli), 0);
    t_run_for(100);
    T_EQ_INT(crec.disconnected, 0); /* still trying */
    T_EQ_STR(gobj_current_state(c)->name, "ST_WAIT_CONNECTED");
    /* Room in the backlog: the next try connects. */
    int acc[8], n_acc = 0;
    while (n_acc < n_fill) {
        int a = accept(lfd, NULL, NULL);
        if (a < 0)
            break;
        acc[n_acc++] = a;
    }
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    T_EQ_INT(crec.disconnected, 0);
    gobj_stop(c);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "stopped");

    /* Full for good: connect_timeout ends it, as on TCP. */
    int more = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(more, (struct sockaddr *)&un, sizeof un); /* the slot the GSock used */
    int again = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(again, (struct sockaddr *)&un, sizeof un);
    gobj_write_int(c, "connect_timeout", 300);
    uint64_t t0 = gobj_loop_now_msec();
    T_EQ_INT(gobj_start(c), 0);
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, NULL, cli), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    T_ASSERT(gobj_loop_now_msec() - t0 >= 300);
    T_EQ_INT(crec.connected, 1);
    T_EQ_STR(crec.reason, "connect timeout");
    T_EQ_STR(crec.err, "ETIMEDOUT");
    close(more);
    close(again);
    for (int i = 0; i < n_fill; i++)
        close(fill[i]);
    for (int i = 0; i < n_acc; i++)
        close(acc[i]);
    close(lfd);
    t_end();
    unlink(path);
    rmdir(dir);
}

/* IPv6 scope ids are kept: [fe80::1%lo]:7000 (the interface name, or the
 * index when no interface has it). */
static void test_format_scope(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(7000)};
    T_EQ_INT(inet_pton(AF_INET6, "fe80::1", &a.sin6_addr), 1);
    char buf[GSOCK_ADDRSTRLEN];
    a.sin6_scope_id = if_nametoindex("lo");
    T_ASSERT(a.sin6_scope_id > 0);
    T_EQ_STR(gsock__format_addr((struct sockaddr *)&a, sizeof a, buf, sizeof buf),
             "[fe80::1%lo]:7000");
    a.sin6_scope_id = 999999; /* no such interface */
    T_EQ_STR(gsock__format_addr((struct sockaddr *)&a, sizeof a, buf, sizeof buf),
             "[fe80::1%999999]:7000");
    a.sin6_scope_id = 0;
    T_EQ_STR(gsock__format_addr((struct sockaddr *)&a, sizeof a, buf, sizeof buf),
             "[fe80::1]:7000");
    /* A global address never carries one. */
    T_EQ_INT(inet_pton(AF_INET6, "2001:db8::5", &a.sin6_addr), 1);
    T_EQ_STR(gsock__format_addr((struct sockaddr *)&a, sizeof a, buf, sizeof buf),
             "[2001:db8::5]:7000");
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: it must not come */
    t_init();
    test_echo_sizes();
    test_names();
    test_reset();
    test_inactivity();
    test_stop();
    test_stop_flush();
    test_drop_flush();
    test_drop_timeout();
    test_half_close();
    test_destroy_inside();
    test_destroy_subscriber();
    test_backpressure();
    test_connect_failures();
    test_connect_timeout();
    test_send_while_connecting();
    test_trace();
    test_traffic_trace();
    test_unix_client();
    test_no_reentry();
    test_broadcast_reset();
    test_stop_outside_dispatch();
    test_binary_relay();
    test_unix_backlog_full();
    test_format_scope();
    return t_done();
}
