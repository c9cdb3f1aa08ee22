/*
 * test_eyeballs.c - Happy Eyeballs (RFC 8305) for GSock clients
 * (gobjs/sock_eyeballs.c): a name that resolves to ::1 and 127.0.0.1 is
 * tried IPv6 first; an IPv6 address that never answers does not hold the
 * connect up (the IPv4 attempt starts after happy_eyeballs_delay and wins,
 * the IPv6 one is closed); a refused IPv6 attempt gives way at once; when
 * both answer IPv6 wins; happy_eyeballs_delay 0 tries one address after
 * another; when all fail one EV_DISCONNECTED comes; stop, drop and destroy
 * with two attempts in flight close both; GConnex gets the same.
 *
 * The name is answered by a UDP name server of the test on 127.0.0.1 (A
 * 127.0.0.1, AAAA ::1).  An address "never answers" when its listener's
 * backlog is full: the listener on port P has backlog 0 and one connection
 * it never accepts, so Linux drops further SYNs (tcp_abort_on_overflow 0).
 * Descriptors are counted in /proc/self/fd: a closed attempt leaves none.
 * Every wait is bounded and generous; nothing is timed beyond that.
 */
#include <dirent.h>

#include "socktest.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>

#define NAME "dual.test"

static tpeer_rec_t crec;
static gobj_t *cli;

/*---------------------------------------------------------------------*
 *  The name server: A 127.0.0.1 and AAAA ::1 for any name
 *---------------------------------------------------------------------*/
static int dns_fd = -1, aaaa_queries;
static struct event *dns_ev;

static void on_query(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    unsigned char q[1500];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n;
    while ((n = recvfrom(fd, q, sizeof q - 40, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >=
           12) {
        /* Keep the header and the question (name, type, class). */
        size_t end = 12;
        while (end < (size_t)n && q[end])
            end += q[end] + 1u;
        end += 5;
        if (end > (size_t)n)
            continue;
        int qtype = q[end - 4] << 8 | q[end - 3];
        q[2] = 0x80 | (q[2] & 0x79); /* QR, the query's opcode and RD */
        q[3] = 0x80;                 /* RA, NOERROR */
        memset(q + 6, 0, 6);         /* no answer, authority or additional (yet) */
        if (qtype == 1) {
            /* The question's name (a pointer), A, IN, TTL 60, 127.0.0.1. */
            static const unsigned char rr[] = {0xc0, 12, 0, 1, 0,   1, 0, 0,
                                               0,    60, 0, 4, 127, 0, 0, 1};
            memcpy(q + end, rr, sizeof rr);
            end += sizeof rr;
            q[7] = 1;
        } else if (qtype == 28) {
            aaaa_queries++;
            /* AAAA, IN, TTL 60, ::1. */
            static const unsigned char rr[] = {0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
                                               0,    0,  0, 0,  0, 0, 0, 0, 0, 0,  0, 0,
                                               0,    0,  0, 1};
            memcpy(q + end, rr, sizeof rr);
            end += sizeof rr;
            q[7] = 1;
        }
        sendto(fd, q, end, 0, (struct sockaddr *)&from, fl);
        fl = sizeof from;
    }
}

static void dns_start(void)
{
    dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    T_ASSERT(dns_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_EQ_INT(bind(dns_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(dns_fd, (struct sockaddr *)&a, &al);
    char ns[64];
    snprintf(ns, sizeof ns, "127.0.0.1:%d", ntohs(a.sin_port));
    dns_ev = event_new(gobj_loop_base(), dns_fd, EV_READ | EV_PERSIST, on_query, NULL);
    event_add(dns_ev, NULL);
    T_EQ_INT(gobj_loop_set_nameservers(ns), 0);
}

static void dns_stop(void)
{
    event_free(dns_ev);
    dns_ev = NULL;
    close(dns_fd);
    dns_fd = -1;
}

/*---------------------------------------------------------------------*
 *  Listeners on [::1]:P and 127.0.0.1:P
 *---------------------------------------------------------------------*/
enum { L_NONE, L_BOUND, L_LISTEN, L_SILENT };

typedef struct {
    int port;
    int v6, v4;       /* the two sockets, bound to the same port */
    int fill[2][8];   /* connections filling a silent listener's backlog */
    int n_fill[2];
} t_pair_t;

/* Count the open descriptors of the process. */
static int t_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Fill the backlog of the listener fd (backlog 0) at sa: connect until one
 * connect does not complete (its SYN is dropped), and keep them all. */
static void t_fill(t_pair_t *p, int which, const struct sockaddr *sa, socklen_t len)
{
    while (p->n_fill[which] < 8) {
        int c = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        T_ASSERT(c >= 0);
        p->fill[which][p->n_fill[which]++] = c;
        int rc = connect(c, sa, len);
        T_ASSERT(rc == 0 || errno == EINPROGRESS);
        struct pollfd pf = {.fd = c, .events = POLLOUT};
        if (poll(&pf, 1, 300) == 0)
            return; /* this SYN was dropped: the next ones will be too */
    }
    T_FAIL_("the listener's backlog never filled");
}

/* A socket of family fam bound to loopback, port (0 = any); -1 if taken. */
static int t_bind(int fam, int port)
{
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    T_ASSERT(fd >= 0);
    int one = 1;
    int rc;
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    }
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* [::1]:P and 127.0.0.1:P, each L_BOUND (bound, not listening: refuses),
 * L_LISTEN (accepts), L_SILENT (backlog full: never answers) or L_NONE
 * (nothing there: refuses, the port may be reused by others). */
static void t_pair(t_pair_t *p, int mode6, int mode4)
{
    memset(p, 0, sizeof *p);
    for (int tries = 0; tries < 50; tries++) {
        p->v6 = t_bind(AF_INET6, 0);
        T_ASSERT(p->v6 >= 0);
        struct sockaddr_in6 a6;
        socklen_t l6 = sizeof a6;
        getsockname(p->v6, (struct sockaddr *)&a6, &l6);
        p->port = ntohs(a6.sin6_port);
        p->v4 = t_bind(AF_INET, p->port);
        if (p->v4 >= 0)
            break;
        close(p->v6);
    }
    T_ASSERT(p->v4 >= 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)p->port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int *fds[2] = {&p->v6, &p->v4};
    int modes[2] = {mode6, mode4};
    const struct sockaddr *sas[2] = {(struct sockaddr *)&a6, (struct sockaddr *)&a4};
    socklen_t lens[2] = {sizeof a6, sizeof a4};
    for (int i = 0; i < 2; i++) {
        if (modes[i] == L_NONE) {
            close(*fds[i]);
            *fds[i] = -1;
        } else if (modes[i] == L_LISTEN) {
            T_EQ_INT(listen(*fds[i], 16), 0);
        } else if (modes[i] == L_SILENT) {
            T_EQ_INT(listen(*fds[i], 0), 0);
            t_fill(p, i, sas[i], lens[i]);
        }
    }
}

static void t_pair_close(t_pair_t *p)
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < p->n_fill[i]; j++)
            close(p->fill[i][j]);
    if (p->v6 >= 0)
        close(p->v6);
    if (p->v4 >= 0)
        close(p->v4);
}

/* Whether a connection waits in the listener's queue. */
static bool t_queued(int lfd)
{
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    return poll(&pf, 1, 0) == 1;
}

/*---------------------------------------------------------------------*
 *  Clients
 *---------------------------------------------------------------------*/
static gobj_t *t_client(int port, int connect_timeout, int delay);

/* The resolver opens its socket on its first query: one query first, so
 * that the descriptors counted are the connections' only. */
static void setup(void)
{
    t_setup();
    dns_start();
    cli = t_peer("cli", &crec);
    crec.keep_on_disconnected = true;
    t_pair_t p;
    t_pair(&p, L_BOUND, L_BOUND);
    gobj_t *c = t_client(p.port, 5000, -1);
    T_ASSERT(RUN_UNTIL(crec.disconnected == 1, 10000));
    gobj_destroy(c);
    t_pair_close(&p);
    t_rec_reset(&crec);
    crec.keep_on_disconnected = true;
}

static void t_end(void)
{
    gobj_destroy(cli);
    cli = NULL;
    dns_stop();
    t_teardown();
    t_rec_reset(&crec);
}

/* A started client GSock under cli, sent EV_CONNECT {NAME, port}. */
static gobj_t *t_client(int port, int connect_timeout, int delay)
{
    json_t *attrs = json_pack("{s:i}", "connect_timeout", connect_timeout);
    if (delay >= 0)
        json_object_set_new(attrs, "happy_eyeballs_delay", json_integer(delay));
    gobj_t *s = gobj_create(NULL, gclass_find(GCLASS_GSOCK_NAME), attrs, cli);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    int before = crec.connected + crec.disconnected;
    T_EQ_INT(
        gobj_send_event(s, EV_CONNECT, json_pack("{s:s, s:i}", "host", NAME, "port", port), cli),
        0);
    /* Rule 15: nothing inside the send. */
    T_EQ_INT(crec.connected + crec.disconnected, before);
    return s;
}

/*---------------------------------------------------------------------*/
/* IPv6 never answers, IPv4 accepts: IPv4 wins long before connect_timeout,
 * and the IPv6 attempt is closed.  Returns false if the resolver asked for
 * no AAAA record. */
static bool test_v6_silent(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_SILENT, L_LISTEN);
    int fds = t_fds();
    uint64_t t0 = gobj_loop_now_msec();
    gobj_t *c = t_client(p.port, 20000, -1); /* the default delay, 250 ms */
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected, 15000));
    if (aaaa_queries == 0) {
        gobj_destroy(c);
        t_pair_close(&p);
        t_end();
        return false;
    }
    T_EQ_INT(crec.connected, 1);
    T_EQ_INT(crec.disconnected, 0);
    T_ASSERT(gobj_loop_now_msec() - t0 < 10000); /* not connect_timeout */
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", p.port);
    T_EQ_STR(crec.peername, want);
    T_EQ_STR(gobj_read_str(c, "peername"), want);
    /* One descriptor: the winner.  The IPv6 attempt is closed. */
    T_EQ_INT(t_fds(), fds + 1);
    T_ASSERT(t_queued(p.v4));
    /* It works as any connection: bytes go through. */
    T_ASSERT(gobj_send_event(c, EV_SEND_DATA, json_pack("{s:s}", "data", "hi"), cli) >= 0);
    int a = accept(p.v4, NULL, NULL);
    T_ASSERT(a >= 0);
    char buf[8] = "";
    struct pollfd pf = {.fd = a, .events = POLLIN};
    T_EQ_INT(poll(&pf, 1, 5000), 1);
    T_EQ_INT(recv(a, buf, sizeof buf, 0), 2);
    T_ASSERT(memcmp(buf, "hi", 2) == 0);
    close(a);
    gobj_destroy(c);
    T_EQ_INT(t_fds(), fds);
    t_run_for(50);
    T_EQ_INT(crec.connected, 1);
    T_EQ_INT(crec.disconnected, 0);
    t_pair_close(&p);
    t_end();
    return true;
}

/* Nothing on ::1:P: the refusal starts the IPv4 attempt at once, without
 * waiting for happy_eyeballs_delay (here far above the bound). */
static void test_v6_refused(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_BOUND, L_LISTEN);
    int fds = t_fds();
    t_client(p.port, 60000, 30000);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected, 15000));
    T_EQ_INT(crec.connected, 1);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", p.port);
    T_EQ_STR(crec.peername, want);
    T_EQ_INT(t_fds(), fds + 1);
    t_pair_close(&p);
    t_end();
}

/* Both answer: IPv6 is tried first, and wins. */
static void test_both_answer(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_LISTEN, L_LISTEN);
    int fds = t_fds();
    t_client(p.port, 20000, 5000);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected, 15000));
    T_EQ_INT(crec.connected, 1);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%d", p.port);
    T_EQ_STR(crec.peername, want);
    T_EQ_INT(t_fds(), fds + 1);
    T_ASSERT(t_queued(p.v6));
    T_ASSERT(!t_queued(p.v4));
    t_pair_close(&p);
    t_end();
}

/* happy_eyeballs_delay 0: one address after another, as without the race.
 * The silent IPv6 attempt holds the connect until connect_timeout, and no
 * IPv4 attempt is made. */
static void test_delay_zero(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_SILENT, L_LISTEN);
    int fds = t_fds();
    gobj_t *c = t_client(p.port, 1500, 0);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected, 15000));
    T_EQ_INT(crec.connected, 0);
    T_EQ_INT(crec.disconnected, 1);
    T_EQ_STR(crec.reason, "connect timeout");
    T_EQ_STR(crec.err, "ETIMEDOUT");
    T_ASSERT(!t_queued(p.v4));
    T_EQ_INT(t_fds(), fds);
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");

    /* A refused IPv6 attempt gives way to IPv4, one after another. */
    t_pair_t q;
    t_pair(&q, L_BOUND, L_LISTEN);
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, json_pack("{s:i}", "port", q.port), cli), 0);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected > 1, 15000));
    T_EQ_INT(crec.connected, 1);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", q.port);
    T_EQ_STR(crec.peername, want);
    t_pair_close(&q);
    t_pair_close(&p);
    t_end();
}

/* Both refuse: one EV_DISCONNECTED with the last error, no EV_CONNECTED. */
static void test_all_fail(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_BOUND, L_BOUND);
    int fds = t_fds();
    gobj_t *c = t_client(p.port, 20000, -1);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected, 15000));
    t_run_for(300);
    T_EQ_INT(crec.connected, 0);
    T_EQ_INT(crec.disconnected, 1);
    T_EQ_STR(crec.reason, "connect failed: Connection refused");
    T_EQ_STR(crec.err, "ECONNREFUSED");
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", p.port); /* the last one tried */
    T_EQ_STR(crec.peername, want);
    T_EQ_INT(t_fds(), fds);
    T_EQ_STR(gobj_current_state(c)->name, "ST_DISCONNECTED");

    /* Both silent: connect_timeout ends the race, once. */
    t_pair_t q;
    t_pair(&q, L_SILENT, L_SILENT);
    fds = t_fds();
    T_EQ_INT(gobj_write_int(c, "connect_timeout", 1500), 0);
    T_EQ_INT(gobj_send_event(c, EV_CONNECT, json_pack("{s:i}", "port", q.port), cli), 0);
    T_ASSERT(RUN_UNTIL(crec.connected || crec.disconnected > 1, 15000));
    t_run_for(300);
    T_EQ_INT(crec.connected, 0);
    T_EQ_INT(crec.disconnected, 2);
    T_EQ_STR(crec.reason, "connect timeout");
    T_EQ_INT(t_fds(), fds);
    t_pair_close(&q);
    t_pair_close(&p);
    t_end();
}

/* Stop, drop and destroy with both attempts in flight: both are closed,
 * and nothing comes after the one EV_DISCONNECTED (none for destroy). */
static void test_end_racing(void)
{
    setup();
    t_pair_t p;
    t_pair(&p, L_SILENT, L_SILENT);
    int fds = t_fds();
    for (int i = 0; i < 3; i++) {
        int before = crec.disconnected;
        gobj_t *c = t_client(p.port, 20000, 50);
        /* Two attempts in flight: two descriptors. */
        T_ASSERT(RUN_UNTIL(t_fds() == fds + 2, 10000));
        T_EQ_STR(gobj_current_state(c)->name, "ST_WAIT_CONNECTED");
        if (i == 0) {
            gobj_stop(c);
        } else if (i == 1) {
            T_EQ_INT(gobj_send_event(c, EV_DROP, NULL, cli), 0);
        } else {
            gobj_destroy(c);
        }
        T_EQ_INT(t_fds(), fds);
        T_EQ_INT(crec.disconnected, before); /* never inside the call */
        t_run_for(400);
        T_EQ_INT(crec.connected, 0);
        T_EQ_INT(crec.disconnected, before + (i < 2 ? 1 : 0));
        if (i < 2) {
            T_EQ_STR(crec.reason, i == 0 ? "stopped" : "dropped");
            gobj_destroy(c);
        }
        T_EQ_INT(t_fds(), fds);
    }
    t_pair_close(&p);
    t_end();
}

/*---------------------------------------------------------------------*
 *  GConnex
 *---------------------------------------------------------------------*/
static int cx_connected;
static char cx_peer[160];

static int ac_cx_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)src;
    cx_connected++;
    t_copy(cx_peer, sizeof cx_peer, kw, "peername");
    return 0;
}

static int ac_cx_other(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    return 0;
}

GOBJ_DEFINE_STATE(ST_CX_RUN);
static const gobj_row_t st_cx_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_cx_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_cx_other, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_cx_other, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_cx_other, NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP, ac_cx_other, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tcx_states[] = {
    GOBJ_STATE(ST_CX_RUN, st_cx_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tcx_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname, connex}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data, connex}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{connex}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason, connex}"},
    {EV_CONNEX_GAVE_UP, GOBJ_EV_IN, "{destinations, attempts, connex}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tcx_def = {
    .name = "TCx",
    .description = "test subscriber of a GConnex",
    .states = tcx_states,
    .events = tcx_events,
};

/* A GConnex to the name: IPv6 never answers, IPv4 wins. */
static void test_connex(void)
{
    setup();
    if (!gclass_find("TCx"))
        T_ASSERT(gclass_register(&tcx_def) != NULL);
    t_pair_t p;
    t_pair(&p, L_SILENT, L_LISTEN);
    int fds = t_fds();
    gobj_t *owner = gobj_create("owner", gclass_find("TCx"), NULL, NULL);
    json_t *attrs = json_pack("{s:[{s:s, s:i}], s:i}", "destinations", "host", NAME, "port",
                              p.port, "connect_timeout", 20000);
    gobj_t *cx = gobj_create("connex", gclass_find(GCLASS_GCONNEX_NAME), attrs, owner);
    T_ASSERT(cx != NULL);
    T_EQ_INT(gobj_start_tree(owner), 0);
    T_ASSERT(RUN_UNTIL(cx_connected == 1, 15000));
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", p.port);
    T_EQ_STR(cx_peer, want);
    T_EQ_INT(t_fds(), fds + 1);
    /* The peer closes first: the client's close does not linger. */
    close(accept(p.v4, NULL, NULL));
    gobj_destroy(owner);
    T_ASSERT(RUN_UNTIL(t_fds() == fds, 5000));
    t_pair_close(&p);
    t_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    t_init();
    if (!test_v6_silent()) {
        /* The resolver asked for no AAAA (sock_resolve.c asks for both
         * families): without ::1 among the answers nothing here can be
         * tested. */
        fprintf(stderr, "SKIP: the resolver asked for no AAAA record\n");
        t_done();
        return 77;
    }
    test_v6_refused();
    test_both_answer();
    test_delay_zero();
    test_all_fail();
    test_end_racing();
    test_connex();
    return t_done();
}
