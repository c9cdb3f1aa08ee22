/*
 * test_resolve.c - GSock clients resolve host names without blocking the
 * loop (gobjs/sock_resolve.c, lib/loop_dns.c): "localhost" from /etc/hosts,
 * a name answered by a name server, new name servers taking over a request
 * in flight, a name server that never answers (the loop keeps serving other
 * connections; connect_timeout bounds the resolution), one that answers
 * NXDOMAIN, a GSock destroyed or stopped while its name is resolving, and a
 * numeric host that makes no query at all.  Every name server here is a UDP
 * socket of the test on 127.0.0.1, port 0.
 */
#include "socktest.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>

static tpeer_rec_t srec, crec, c2rec;
static gobj_t *app, *cli, *cli2, *server;

/* An echo server on 127.0.0.1, port 0.  Returns its port. */
static int t_server(void)
{
    app = t_peer("app", &srec);
    srec.echo = true;
    json_t *attrs = json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 0);
    server = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), attrs, app);
    T_ASSERT(server != NULL);
    T_EQ_INT(gobj_start_tree(app), 0);
    return (int)gobj_read_int(server, "port");
}

/* A started client GSock under peer, sent EV_CONNECT {host, port}. */
static gobj_t *t_client(gobj_t *peer, const char *host, int port, int connect_timeout)
{
    json_t *attrs = json_pack("{s:i}", "connect_timeout", connect_timeout);
    gobj_t *s = gobj_create(NULL, gclass_find(GCLASS_GSOCK_NAME), attrs, peer);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    T_EQ_INT(
        gobj_send_event(s, EV_CONNECT, json_pack("{s:s, s:i}", "host", host, "port", port), peer),
        0);
    return s;
}

static void t_end(void)
{
    gobj_destroy(app);
    gobj_destroy(cli);
    gobj_destroy(cli2);
    app = cli = cli2 = server = NULL;
    t_teardown();
    t_rec_reset(&srec);
    t_rec_reset(&crec);
    t_rec_reset(&c2rec);
}

/* A UDP socket on 127.0.0.1, port 0, and "127.0.0.1:port" for it. */
static int t_udp(char *addr, size_t n)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    T_ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    snprintf(addr, n, "127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* How many datagrams wait on fd (read and discarded). */
static int t_udp_drain(int fd)
{
    char buf[1500];
    int n = 0;
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        n++;
    return n;
}

/* Echo bytes through a client GSock (rec records it): send, wait for them. */
static bool t_echoed(tpeer_rec_t *rec, const char *text)
{
    size_t before = rec->rx_len;
    gobj_send_event(rec->sock, EV_SEND_DATA, json_pack("{s:s}", "data", text),
                    gobj_parent(rec->sock));
    return RUN_UNTIL(rec->rx_len == before + strlen(text), 5000);
}

/*---------------------------------------------------------------------*/
/* "localhost" comes from /etc/hosts: no name server is asked (the only one
 * configured never answers). */
static void test_localhost(void)
{
    t_setup();
    int port = t_server();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);

    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    crec.keep_rx = true;
    gobj_t *c = t_client(cli, "localhost", port, 5000);
    /* Rule 15: not inside the send, even when the answer is at hand. */
    T_EQ_INT(crec.connected + crec.disconnected, 0);
    T_EQ_STR(gobj_current_state(c)->name, "ST_WAIT_CONNECTED");
    T_ASSERT(RUN_UNTIL(crec.connected == 1 || crec.disconnected, 5000));
    T_EQ_INT(crec.connected, 1);
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, peer);
    T_ASSERT(t_echoed(&crec, "hello"));
    T_ASSERT(memcmp(crec.rx, "hello", 5) == 0);
    T_EQ_INT(t_udp_drain(udp), 0);
    close(udp);
    t_end();
}

/* A name server that never answers: connect_timeout ends the resolution,
 * and meanwhile the loop serves a numeric client as usual. */
static void test_silent_server(void)
{
    t_setup();
    int port = t_server();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);

    /* No connect_timeout: only libevent's own retries (seconds) would end it. */
    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    gobj_t *hang = t_client(cli, "example.test", 80, 0);

    cli2 = t_peer("cli2", &c2rec);
    c2rec.keep_on_disconnected = true;
    c2rec.keep_rx = true;
    t_client(cli2, "127.0.0.1", port, 5000);
    T_ASSERT(RUN_UNTIL(c2rec.connected == 1, 5000));
    T_ASSERT(t_echoed(&c2rec, "still serving"));
    /* The resolution was asked for and still hangs. */
    T_EQ_STR(gobj_current_state(hang)->name, "ST_WAIT_CONNECTED");
    T_EQ_INT(crec.connected + crec.disconnected, 0);
    T_ASSERT(t_udp_drain(udp) > 0);
    gobj_destroy(hang); /* while resolving: nothing more comes */

    /* connect_timeout covers the resolution. */
    gobj_t *c = t_client(cli, "example.test", 80, 500);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 10000));
    T_EQ_INT(crec.connected, 0);
    T_EQ_STR(crec.reason, "cannot resolve 'example.test': timeout");
    T_EQ_STR(crec.err, "ETIMEDOUT");
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 1);
    close(udp);
    t_end();
}

/* A name server of the test: answers every query with NXDOMAIN, or (when
 * nx_answer_a) an A query with 127.0.0.1 and any other with no record. */
static int nx_queries;
static bool nx_answer_a;
static void on_query(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    unsigned char q[1500];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n;
    while ((n = recvfrom(fd, q, sizeof q - 16, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >=
           12) {
        nx_queries++;
        /* Keep the header and the question (name, type, class). */
        size_t end = 12;
        while (end < (size_t)n && q[end])
            end += q[end] + 1u;
        end += 5;
        if (end > (size_t)n)
            continue;
        bool is_a = q[end - 3] == 1 && q[end - 4] == 0; /* QTYPE A */
        q[2] = 0x80 | (q[2] & 0x79);                    /* QR, the query's opcode and RD */
        q[3] = nx_answer_a ? 0x80 : 0x80 | 3;           /* RA, RCODE = 0 or NXDOMAIN */
        memset(q + 6, 0, 6); /* no answer, authority or additional (yet) */
        if (nx_answer_a && is_a) {
            /* One answer: the question's name (a pointer), A, IN, TTL 60, 127.0.0.1. */
            static const unsigned char rr[] = {0xc0, 12, 0, 1, 0,   1, 0, 0,
                                               0,    60, 0, 4, 127, 0, 0, 1};
            memcpy(q + end, rr, sizeof rr);
            end += sizeof rr;
            q[7] = 1;
        }
        sendto(fd, q, end, 0, (struct sockaddr *)&from, fl);
        fl = sizeof from;
    }
}

/* A name answered by the name server, on a later turn: the GSock connects
 * to its address. */
static void test_dns_answer(void)
{
    t_setup();
    int port = t_server();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    struct event *ev = event_new(gobj_loop_base(), udp, EV_READ | EV_PERSIST, on_query, NULL);
    event_add(ev, NULL);
    nx_answer_a = true;
    nx_queries = 0;
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);

    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    crec.keep_rx = true;
    t_client(cli, "echo.test", port, 5000);
    T_EQ_INT(crec.connected + crec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 || crec.disconnected, 5000));
    T_EQ_INT(crec.connected, 1);
    T_ASSERT(nx_queries > 0);
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
    T_EQ_STR(crec.peername, peer);
    T_ASSERT(t_echoed(&crec, "by name"));
    nx_answer_a = false;
    event_free(ev);
    close(udp);
    t_end();
}

/* New name servers take over a request in flight. */
static void test_switch_servers(void)
{
    t_setup();
    int port = t_server();
    char silent[64], answering[64];
    int udp1 = t_udp(silent, sizeof silent);
    int udp2 = t_udp(answering, sizeof answering);
    struct event *ev = event_new(gobj_loop_base(), udp2, EV_READ | EV_PERSIST, on_query, NULL);
    event_add(ev, NULL);
    nx_answer_a = true;
    nx_queries = 0;
    T_EQ_INT(gobj_loop_set_nameservers(silent), 0);

    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    t_client(cli, "echo.test", port, 0);
    int asked = 0;
    T_ASSERT(RUN_UNTIL((asked += t_udp_drain(udp1)) > 0, 5000)); /* never answered */
    T_EQ_INT(crec.connected + crec.disconnected, 0);
    T_EQ_INT(gobj_loop_set_nameservers(answering), 0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1 || crec.disconnected, 5000));
    T_EQ_INT(crec.connected, 1);
    T_ASSERT(nx_queries > 0);
    nx_answer_a = false;
    event_free(ev);
    close(udp1);
    close(udp2);
    t_end();
}

static void test_nxdomain(void)
{
    t_setup();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    struct event *ev = event_new(gobj_loop_base(), udp, EV_READ | EV_PERSIST, on_query, NULL);
    event_add(ev, NULL);
    nx_queries = 0;
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);

    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    gobj_t *c = t_client(cli, "nohost.invalid", 80, 5000);
    T_EQ_INT(crec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_INT(crec.connected, 0);
    T_CONTAINS(crec.reason, "cannot resolve 'nohost.invalid': ");
    T_EQ_STR(crec.peername, "nohost.invalid:80");
    T_ASSERT(nx_queries > 0);
    /* The GSock connects again afterwards, to a name or not. */
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, NULL, cli), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    T_CONTAINS(crec.reason, "cannot resolve 'nohost.invalid': ");
    event_free(ev);
    close(udp);
    t_end();
}

/* Stopped, or destroyed, while resolving: no event after, nothing leaks
 * (valgrind and the sanitizers watch), the cancelled request is quiet. */
static void test_end_while_resolving(void)
{
    t_setup();
    int port = t_server();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);
    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;

    /* Destroyed at once, and after its query went out. */
    gobj_t *c = t_client(cli, "example.test", 80, 0);
    gobj_destroy(c);
    c = t_client(cli, "example.test", 80, 0);
    t_run_for(30);
    gobj_destroy(c);
    t_run_for(30);
    T_EQ_INT(crec.connected + crec.disconnected, 0);

    /* Stopped: the one EV_DISCONNECTED, after the stop, and nothing else. */
    c = t_client(cli, "example.test", 80, 0);
    t_run_for(30);
    gobj_stop(c);
    T_EQ_INT(crec.disconnected, 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 5000));
    T_EQ_STR(crec.reason, "stopped");
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 1);
    T_EQ_INT(crec.connected, 0);
    /* Started again, it connects to a numeric host. */
    T_EQ_INT(gobj_start(c), 0);
    T_EQ_INT(gobj_send_event(c, EV_CONNECT,
                             json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port), cli),
             0);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));

    /* Dropped while resolving: EV_DISCONNECTED once. */
    gobj_t *d = t_client(cli, "example.test", 80, 0);
    t_run_for(30);
    T_EQ_INT(gobj_send_event(d, EV_DROP, NULL, cli), 0);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 2, 5000));
    t_run_for(50);
    T_EQ_INT(crec.disconnected, 2);

    /* Destroyed, then the loop freed on the same turn: the callback libevent
     * still owes runs then, and frees what it holds. */
    c = t_client(cli, "example.test", 80, 0);
    t_run_for(30);
    gobj_destroy(c);
    close(udp);
    t_end();
}

/* A numeric host asks no name server. */
static void test_numeric_no_query(void)
{
    t_setup();
    int port = t_server();
    char ns[64];
    int udp = t_udp(ns, sizeof ns);
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);
    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    crec.keep_rx = true;
    t_client(cli, "127.0.0.1", port, 5000);
    T_ASSERT(RUN_UNTIL(crec.connected == 1, 5000));
    T_ASSERT(t_echoed(&crec, "numeric"));
    T_EQ_INT(t_udp_drain(udp), 0);
    close(udp);
    t_end();
}

/* gobj_loop_set_nameservers: bad input is refused, naming the entry. */
static void test_set_nameservers(void)
{
    T_EQ_INT(gobj_loop_set_nameservers("127.0.0.1"), GOBJ_ESTATE); /* no loop */
    t_setup();
    T_EQ_INT(gobj_loop_set_nameservers("127.0.0.1:5353, [::1]:53 10.0.0.1"), 0);
    T_EQ_INT(gobj_loop_set_nameservers("127.0.0.1,dns.example"), GOBJ_EINVAL);
    T_EQ_INT(t_log_find("error", "gobj_loop_set_nameservers"), 1);
    T_EQ_INT(t_log_find("error", "dns.example"), 1);
    T_EQ_INT(gobj_loop_set_nameservers(NULL), 0);
    T_EQ_INT(gobj_loop_set_nameservers(""), 0);
    t_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    t_init();
    test_localhost();
    test_silent_server();
    test_nxdomain();
    test_dns_answer();
    test_switch_servers();
    test_end_while_resolving();
    test_numeric_no_query();
    test_set_nameservers();
    return t_done();
}
