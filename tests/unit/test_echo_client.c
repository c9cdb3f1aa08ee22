/*
 * test_echo_client.c - the EchoClient sample (samples/c_echo_client.c) in
 * one process, against the Echo sample and against a TPeer server that
 * keeps what it gets and answers what the test tells it to: a complete run,
 * the matching rules (an intact reply after a missing one, a corrupted one,
 * a repeated one, a wrong length, another client's message), the end at
 * final_timeout with nothing listening, a stop before the end, and the
 * checks of the attributes.  There is no gapp_main() here, so the
 * gapp_shutdown() at the end of a run logs an error, which the tests
 * expect.  Loopback, port 0; every wait is bounded.
 */
#include <inttypes.h>

#include "c_echo.h"
#include "c_echo_client.h"
#include "socktest.h"

static tpeer_rec_t srec;
static gobj_t *server_root, *ec;

static void setup(void)
{
    t_setup();
    memset(&srec, 0, sizeof srec);
    T_EQ_INT(echo_register_gclass(), 0);
    T_EQ_INT(echo_client_register_gclass(), 0);
}

static void end(void)
{
    gobj_destroy(ec);
    gobj_destroy(server_root);
    ec = server_root = NULL;
    free(srec.rx);
    t_teardown();
}

static json_t *dest(int port)
{
    return json_pack("[{s:s, s:i}]", "host", "127.0.0.1", "port", port);
}

/* A server on 127.0.0.1:0 under root (an Echo or a TPeer); its port. */
static int start_server(gobj_t *root)
{
    server_root = root;
    gobj_t *srv = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME),
                              json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0), root);
    T_ASSERT(srv != NULL);
    T_EQ_INT(gobj_start_tree(root), 0);
    return (int)gobj_read_int(srv, "port");
}

static gobj_t *start_client(json_t *attrs)
{
    ec = gobj_create("ec", gclass_find(GCLASS_ECHO_CLIENT_NAME), attrs, NULL);
    T_ASSERT(ec != NULL);
    if (ec)
        T_EQ_INT(gobj_start_tree(ec), 0);
    return ec;
}

static int64_t st(const char *name)
{
    return gobj_read_int(ec, name);
}

/* 4 clients x 20 messages against the Echo: everything comes back, the
 * percentiles are ordered, the final report says complete. */
static void test_complete(void)
{
    setup();
    int port = start_server(gobj_create("echo", gclass_find(GCLASS_ECHO_NAME), NULL, NULL));
    start_client(json_pack("{s:o, s:i, s:i, s:i, s:i, s:i}", "destinations", dest(port), "clients",
                           4, "period", 5, "count", 20, "report_interval", 30, "final_timeout",
                           10000));
    T_EQ_INT(gobj_child_count(ec), 4);
    T_ASSERT(gobj_find_child(ec, "client1") && gobj_find_child(ec, "client4"));
    T_ASSERT(RUN_UNTIL(t_log_find("info", "final report") == 1, 20000));
    T_EQ_INT(st("sent"), 80);
    T_EQ_INT(st("received"), 80);
    T_EQ_INT(st("lost"), 0);
    T_EQ_INT(st("mismatched"), 0);
    T_EQ_INT(st("in_flight"), 0);
    T_EQ_INT(st("connected"), 4);
    T_ASSERT(st("rtt_p50_us") > 0);
    T_ASSERT(st("rtt_p50_us") <= st("rtt_p90_us"));
    T_ASSERT(st("rtt_p90_us") <= st("rtt_p99_us"));
    T_ASSERT(st("rtt_p99_us") <= st("rtt_max_us"));
    T_EQ_INT(t_log_find("info", "\"complete\":true"), 1);
    T_EQ_INT(t_log_find("info", "\"end\":\"done\""), 1);
    T_EQ_INT(t_log_find("info", "\"rtt_samples\":80"), 1);
    /* No gapp_main() runs in this test: the request to end is refused. */
    T_EQ_INT(t_log_find("error", "gapp_shutdown"), 1);
    /* Nothing more happens after the end: no report, no message. */
    size_t reports = t_log_find("info", "\"msg\":\"report\"");
    t_run_for(100);
    T_EQ_INT(t_log_find("info", "\"msg\":\"report\""), reports);
    T_EQ_INT(st("sent"), 80);
    end();
}

/* The n-th line (from 0) the server got, or NULL; its length in *len. */
static const char *line_at(size_t n, size_t *len)
{
    const char *p = (const char *)srec.rx, *e = p + srec.rx_len;
    for (size_t i = 0; p < e; i++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            return NULL;
        if (i == n) {
            *len = (size_t)(nl - p);
            return p;
        }
        p = nl + 1;
    }
    return NULL;
}

/* The server sends `text` (len bytes) and a newline to the client. */
static void reply(const char *text, size_t len)
{
    char *buf = malloc(len + 1);
    memcpy(buf, text, len);
    buf[len] = '\n';
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(buf, len + 1));
    free(buf);
    T_ASSERT(gobj_send_event(srec.sock, EV_SEND_DATA, kw, server_root) >= 0);
}

/* The matching rules, on a real connection: the server keeps the three
 * messages of one client and the test chooses the replies. */
static void test_matching(void)
{
    setup();
    srec.keep_rx = true;
    int port = start_server(t_peer("peer", &srec));
    start_client(json_pack("{s:o, s:i, s:i, s:i, s:i, s:i}", "destinations", dest(port), "clients",
                           1, "period", 5, "count", 3, "report_interval", 0, "final_timeout",
                           1000));
    T_ASSERT(RUN_UNTIL(st("sent") == 3 && srec.rx_len == 3 * 65, 10000));
    size_t n0 = 0, n1 = 0, n2 = 0;
    const char *m0 = line_at(0, &n0), *m1 = line_at(1, &n1), *m2 = line_at(2, &n2);
    T_ASSERT(m0 && m1 && m2 && n0 == 64 && n1 == 64 && n2 == 64);
    if (!(m0 && m1 && m2)) {
        end();
        return;
    }
    /* The wire format: client, sequence, time, check, padding. */
    T_ASSERT(memcmp(m0, "00000000 0000000000000000 ", 26) == 0);
    T_ASSERT(memcmp(m1, "00000000 0000000000000001 ", 26) == 0);
    T_ASSERT(m1[42] == ' ' && m1[51] == ' ');

    char bad[64];
    memcpy(bad, m1, 64);
    bad[60] ^= 0x20; /* a byte of the padding */
    reply(bad, 64);
    T_ASSERT(RUN_UNTIL(st("mismatched") == 1, 5000));
    memcpy(bad, m1, 64);
    bad[30] = bad[30] == '0' ? '1' : '0'; /* a digit of the time: the check fails */
    reply(bad, 64);
    T_ASSERT(RUN_UNTIL(st("mismatched") == 2, 5000));
    reply(m1, 63); /* one byte short */
    T_ASSERT(RUN_UNTIL(st("mismatched") == 3, 5000));
    memcpy(bad, m1, 64);
    bad[7] = '5'; /* client 5 of 1 (and a check that no longer matches) */
    reply(bad, 64);
    T_ASSERT(RUN_UNTIL(st("mismatched") == 4, 5000));
    T_EQ_INT(st("received"), 0);

    /* The reply of message 1 before that of message 0: 0 is lost. */
    reply(m1, 64);
    T_ASSERT(RUN_UNTIL(st("received") == 1, 5000));
    T_EQ_INT(st("lost"), 1);
    T_EQ_INT(st("in_flight"), 1);
    /* Message 0 now, and message 1 again: neither is in flight. */
    reply(m0, 64);
    reply(m1, 64);
    T_ASSERT(RUN_UNTIL(st("mismatched") == 6, 5000));
    T_EQ_INT(st("received"), 1);

    /* Message 2 never comes back: final_timeout ends the run, and it is
     * lost. */
    T_ASSERT(RUN_UNTIL(t_log_find("info", "final report") == 1, 10000));
    T_EQ_INT(st("sent"), 3);
    T_EQ_INT(st("received"), 1);
    T_EQ_INT(st("lost"), 2);
    T_EQ_INT(st("in_flight"), 0);
    T_EQ_INT(st("mismatched"), 6);
    T_EQ_INT(t_log_find("warn", "final_timeout: nothing sent or received for 1000 ms"), 1);
    T_EQ_INT(t_log_find("info", "\"complete\":false"), 1);
    T_EQ_INT(t_log_find("info", "\"end\":\"final_timeout\""), 1);
    /* The mismatches: one record, with the first one's reason. */
    T_EQ_INT(t_log_find("warn", "mismatched replies"), 1);
    T_EQ_INT(t_log_find("warn", "client1: corrupted padding (sequence 1)"), 1);
    end();
}

/* Nothing listens: GConnex retries, the run ends at final_timeout saying
 * that no client ever connected. */
static void test_nothing_listening(void)
{
    setup();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    T_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    gobj_set_global_attrs(json_pack("{s:i}", "GConnex.backoff_initial", 20));
    start_client(json_pack("{s:o, s:i, s:i, s:i}", "destinations", dest(ntohs(a.sin_port)),
                           "clients", 2, "count", 5, "final_timeout", 300));
    T_ASSERT(RUN_UNTIL(t_log_find("info", "final report") == 1, 10000));
    T_ASSERT(gobj_read_int(gobj_find_child(ec, "client1"), "n_failures") >= 2);
    T_EQ_INT(st("sent"), 0);
    T_EQ_INT(t_log_find("warn", "2 of 2 clients never connected"), 1);
    T_EQ_INT(t_log_find("info", "\"complete\":false"), 1);
    end();
}

/* count 0 runs until stopped; the stop logs the final report once. */
static void test_stop(void)
{
    setup();
    int port = start_server(gobj_create("echo", gclass_find(GCLASS_ECHO_NAME), NULL, NULL));
    start_client(json_pack("{s:o, s:i, s:i, s:i}", "destinations", dest(port), "clients", 2,
                           "period", 5, "report_interval", 20));
    T_ASSERT(
        RUN_UNTIL(st("received") >= 10 && t_log_find("info", "\"msg\":\"report\"") >= 1, 10000));
    T_EQ_INT(gobj_stop_tree(ec), 0);
    T_EQ_INT(t_log_find("info", "final report"), 1);
    T_EQ_INT(t_log_find("info", "\"end\":\"stopped\""), 1);
    /* A run cut short: what was on its way is not counted lost. */
    T_EQ_INT(st("lost"), 0);
    T_EQ_INT(st("sent"), st("received") + st("in_flight"));
    T_EQ_INT(t_log_find("error", "gapp_shutdown"), 0);
    t_run_for(50);
    T_EQ_INT(t_log_find("info", "final report"), 1);
    end();
}

/* Bad attributes: refused at create and by gclass_check_attrs, naming the
 * attribute and the value. */
static void test_check(void)
{
    setup();
    gclass_t *gc = gclass_find(GCLASS_ECHO_CLIENT_NAME);
    char why[600];
    static const struct {
        const char *attrs, *want;
    } cases[] = {
        {"{\"clients\": 0}", "clients: must be an integer 1..100000, not 0"},
        {"{\"period\": -5}", "period: must be an integer 1..2147483647, not -5"},
        {"{\"size\": 51}", "size: must be an integer 52..16777216, not 51"},
        {"{\"count\": -1}", "count: must be an integer"},
        {"{\"report_interval\": -1}", "report_interval: must be an integer"},
        {"{\"final_timeout\": 0}", "final_timeout: must be an integer"},
        {"{\"framing\": \"length\"}", "framing: must be \"line\", not \"length\""},
        {"{}", "destinations: is empty"},
        {"{\"destinations\": [{\"host\": \"h\"}]}", "destinations: entry 0: port"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *attrs = json_loads(cases[i].attrs, 0, NULL);
        if (!json_object_get(attrs, "destinations") && strcmp(cases[i].attrs, "{}") != 0)
            json_object_set_new(attrs, "destinations", dest(7000));
        why[0] = 0;
        T_ASSERT(gclass_check_attrs(gc, attrs, why, sizeof why) < 0);
        T_CONTAINS(why, cases[i].want);
        /* The log is searched in JSON text, where a quote is escaped: up
         * to the first one. */
        char needle[200];
        snprintf(needle, sizeof needle, "EchoClient bad: %s", cases[i].want);
        needle[strcspn(needle, "\"")] = 0;
        size_t before = t_log_find("error", needle);
        T_ASSERT(gobj_create("bad", gc, attrs, NULL) == NULL);
        T_EQ_INT(t_log_find("error", needle) - before, 1);
    }
    json_t *good = json_pack("{s:o}", "destinations", dest(7000));
    T_EQ_INT(gclass_check_attrs(gc, good, why, sizeof why), 0);
    json_decref(good);
    end();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    t_init();
    test_complete();
    test_matching();
    test_nothing_listening();
    test_stop();
    test_check();
    return t_done();
}
