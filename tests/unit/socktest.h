/*
 * socktest.h - what the GSock and GServerSock unit tests share: TPeer, a
 * gclass that records what a GSock publishes (and can echo, drop or
 * destroy on cue), a bounded loop runner, and plain-socket clients.
 */
#ifndef GINSFSM_SOCKTEST_H
#define GINSFSM_SOCKTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testlib.h"

/*---------------------------------------------------------------------*
 *  TPeer: the subscriber of servers and client GSocks in the tests
 *---------------------------------------------------------------------*/
typedef struct {
    /* What happened. */
    int connected, disconnected, rx_events, tx_ready;
    char peername[160], sockname[160], reason[200], err[40];
    char first_name[160], last_name[160]; /* GSock names seen at EV_CONNECTED */
    unsigned char *rx;
    size_t rx_len, rx_cap;
    gobj_t *sock; /* the last GSock that connected */
    /* What to do. */
    bool echo;                    /* EV_RX_DATA: send the same data back */
    bool keep_rx;                 /* EV_RX_DATA: append the bytes to rx */
    bool destroy_on_connected;    /* destroy the GSock in these actions */
    bool destroy_on_rx;
    bool keep_on_disconnected;    /* default: destroy it on EV_DISCONNECTED */
    size_t reply_bytes;           /* first EV_RX_DATA: reply this many bytes ... */
    bool drop_after_reply;        /* ... then EV_DROP */
    bool relay;                   /* EV_RX_DATA: send a copy built with json_stringn_nocheck */
    bool chat;                    /* keep a list of connections (t_conn_t), as a chat server */
    /* EV_T_KICK: what its action saw. */
    int disconnected_in_call;     /* EV_DISCONNECTED delivered inside the kick's own sends */
    int kick_sends;               /* sends made by the last kick */
} tpeer_rec_t;

/* The chat server's list of connections: one heap node per GSock, freed on
 * its EV_DISCONNECTED, as the first programs written against the library
 * did.  A walk that sends to each node reads node->next after the send. */
typedef struct t_conn {
    gobj_t *sock;
    struct t_conn *next;
} t_conn_t;
static t_conn_t *t_conns;

typedef struct {
    tpeer_rec_t *rec;
} tpeer_priv_t;

GOBJ_DEFINE_STATE(ST_T_RUN);
/* in: {op: "send" | "drop" | "stop" | "broadcast", data?}: the subscriber
 * acts on its last GSock (or on every GSock of its chat list) from inside
 * one of its own actions. */
GOBJ_DEFINE_EVENT(EV_T_KICK);

static inline tpeer_rec_t *t_rec(gobj_t *gobj)
{
    return ((tpeer_priv_t *)gobj_priv(gobj))->rec;
}

static inline void t_copy(char *dst, size_t n, json_t *kw, const char *key)
{
    const char *s = json_string_value(json_object_get(kw, key));
    snprintf(dst, n, "%s", s ? s : "");
}

static int ac_t_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    tpeer_rec_t *r = t_rec(gobj);
    r->connected++;
    r->sock = src;
    t_copy(r->peername, sizeof r->peername, kw, "peername");
    t_copy(r->sockname, sizeof r->sockname, kw, "sockname");
    if (r->connected == 1)
        snprintf(r->first_name, sizeof r->first_name, "%s", gobj_full_name(src));
    snprintf(r->last_name, sizeof r->last_name, "%s", gobj_full_name(src));
    if (r->chat) {
        t_conn_t *c = calloc(1, sizeof *c), **tail = &t_conns;
        c->sock = src;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
    }
    if (r->destroy_on_connected)
        gobj_destroy(src);
    return 0;
}

static int ac_t_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    tpeer_rec_t *r = t_rec(gobj);
    json_t *data = json_object_get(kw, "data");
    size_t n = json_string_length(data);
    r->rx_events++;
    if (r->keep_rx) {
        if (r->rx_len + n > r->rx_cap) {
            r->rx_cap = (r->rx_len + n) * 2;
            r->rx = realloc(r->rx, r->rx_cap);
        }
        memcpy(r->rx + r->rx_len, json_string_value(data), n);
    }
    r->rx_len += n;
    if (r->echo)
        gobj_send_event(src, EV_SEND_DATA, json_incref(kw), gobj);
    if (r->relay) {
        /* A relay builds its own payload from the bytes: json_stringn would
         * refuse (NULL) anything that is not valid UTF-8. */
        json_t *out = json_object();
        json_object_set_new(out, "data", json_stringn_nocheck(json_string_value(data), n));
        gobj_send_event(src, EV_SEND_DATA, out, gobj);
    }
    if (r->reply_bytes && r->rx_events == 1) {
        char *big = malloc(r->reply_bytes);
        for (size_t i = 0; i < r->reply_bytes; i++)
            big[i] = (char)('a' + i % 26);
        gobj_send_event(src, EV_SEND_DATA,
                        json_pack("{s:s%}", "data", big, r->reply_bytes), gobj);
        free(big);
        if (r->drop_after_reply)
            gobj_send_event(src, EV_DROP, NULL, gobj);
    }
    if (r->destroy_on_rx)
        gobj_destroy(src);
    return 0;
}

static int ac_t_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    t_rec(gobj)->tx_ready++;
    return 0;
}

static int ac_t_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    tpeer_rec_t *r = t_rec(gobj);
    r->disconnected++;
    t_copy(r->peername, sizeof r->peername, kw, "peername");
    t_copy(r->sockname, sizeof r->sockname, kw, "sockname");
    t_copy(r->reason, sizeof r->reason, kw, "reason");
    t_copy(r->err, sizeof r->err, kw, "errno");
    for (t_conn_t **pp = &t_conns; *pp; pp = &(*pp)->next) {
        if ((*pp)->sock == src) {
            t_conn_t *dead = *pp;
            *pp = dead->next;
            free(dead);
            break;
        }
    }
    if (!r->keep_on_disconnected)
        gobj_destroy(src);
    return 0;
}

static int ac_t_kick(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    tpeer_rec_t *r = t_rec(gobj);
    const char *op = json_string_value(json_object_get(kw, "op"));
    json_t *data = json_object_get(kw, "data");
    int before = r->disconnected;
    r->kick_sends = 0;
    if (strcmp(op, "broadcast") == 0) {
        /* The natural walk: no copy of the list, no defensive checks. */
        for (t_conn_t *c = t_conns; c; c = c->next) {
            gobj_send_event(c->sock, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj);
            r->kick_sends++;
        }
    } else if (strcmp(op, "send") == 0) {
        gobj_send_event(r->sock, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj);
        r->kick_sends++;
    } else if (strcmp(op, "drop") == 0) {
        gobj_send_event(r->sock, EV_DROP, NULL, gobj);
        r->kick_sends++;
    } else if (strcmp(op, "stop") == 0) {
        gobj_stop(r->sock);
        r->kick_sends++;
    }
    r->disconnected_in_call = r->disconnected - before;
    return 0;
}

static const gobj_row_t st_t_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_t_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_t_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_t_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_t_disconnected, NULL),
    GOBJ_ROW(EV_T_KICK, ac_t_kick, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tpeer_states[] = {
    GOBJ_STATE(ST_T_RUN, st_t_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tpeer_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {EV_T_KICK, GOBJ_EV_IN, "{op, data?}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tpeer_def = {
    .name = "TPeer",
    .description = "test subscriber",
    .states = tpeer_states,
    .events = tpeer_events,
    .priv_size = sizeof(tpeer_priv_t),
};

static inline void t_rec_reset(tpeer_rec_t *r)
{
    while (t_conns) {
        t_conn_t *n = t_conns->next;
        free(t_conns);
        t_conns = n;
    }
    free(r->rx);
    memset(r, 0, sizeof *r);
}

/* A TPeer root recording into rec. */
static inline gobj_t *t_peer(const char *name, tpeer_rec_t *rec)
{
    gobj_t *g = gobj_create(name, gclass_find("TPeer"), NULL, NULL);
    if (g)
        ((tpeer_priv_t *)gobj_priv(g))->rec = rec;
    return g;
}

/*---------------------------------------------------------------------*
 *  Loop: setup, bounded runs, teardown
 *---------------------------------------------------------------------*/
static gobj_loop_timer_t *t_wake;
static inline void t_on_wake(void *user)
{
    (void)user;
}

static inline void t_setup(void)
{
    t_log_clear(); /* each test looks at its own records */
    T_EQ_INT(gobj_loop_init(), 0);
    T_EQ_INT(gobj_register_builtin_gclasses(), 0);
    if (!gclass_find("TPeer"))
        T_ASSERT(gclass_register(&tpeer_def) != NULL);
    /* Wakes the loop often, so that a condition set by a client thread is
     * seen soon. */
    t_wake = gobj_loop_timer_new(t_on_wake, NULL);
    gobj_loop_timer_start(t_wake, 5, true);
}

static inline void t_teardown(void)
{
    gobj_loop_timer_free(t_wake);
    t_wake = NULL;
    gobj_set_global_attrs(NULL);
    size_t before = t_log_find("error", "still pending");
    gobj_loop_free();
    /* Every libevent event of a socket must be gone with its gobj. */
    T_EQ_INT(t_log_find("error", "still pending") - before, 0);
    T_EQ_INT(gobj_live_count(), 0);
}

/* Run the loop until cond holds or ms pass.  Evaluates to cond. */
#define RUN_UNTIL(cond, ms)                                                   \
    ({                                                                        \
        uint64_t t_deadline_ = gobj_loop_now_msec() + (ms);                   \
        while (!(cond) && gobj_loop_now_msec() < t_deadline_)                 \
            gobj_loop_run_once(true);                                         \
        (cond);                                                               \
    })

/* Run the loop for ms, whatever happens. */
static inline void t_run_for(uint64_t ms)
{
    uint64_t deadline = gobj_loop_now_msec() + ms;
    while (gobj_loop_now_msec() < deadline)
        gobj_loop_run_once(true);
}

/*---------------------------------------------------------------------*
 *  Plain sockets
 *---------------------------------------------------------------------*/
/* rcvbuf > 0 sets SO_RCVBUF before connecting, so that a client that does
 * not read makes the server queue output soon, whatever the machine's
 * autotuning limits are. */
static inline int t_connect_tcp_rcvbuf(const char *ip, int port, int rcvbuf);

static inline int t_connect_tcp(const char *ip, int port)
{
    return t_connect_tcp_rcvbuf(ip, port, 0);
}

static inline int t_connect_tcp_rcvbuf(const char *ip, int port, int rcvbuf)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        len = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int t_connect_unix(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* "127.0.0.1:7000" / "[::1]:7000" for one end of fd (peer or self). */
static inline void t_name(int fd, bool peer, char *buf, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    buf[0] = '\0';
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                  : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(buf, n, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

/* Read until EOF or error (blocking, with a receive timeout as a guard).
 * Returns the byte count. */
static inline size_t t_read_all(int fd, unsigned char *buf, size_t cap)
{
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    for (;;) {
        unsigned char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0)
            break;
        if (buf && got + (size_t)n <= cap)
            memcpy(buf + got, tmp, (size_t)n);
        got += (size_t)n;
    }
    return got;
}

/* Deterministic pseudo-random bytes. */
static inline void t_fill_random(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/*---------------------------------------------------------------------*
 *  A thread client: writes out[], then shuts its write side, reading all
 *  the while (poll), until EOF.  For half-close and flush checks.
 *---------------------------------------------------------------------*/
typedef struct {
    int fd;
    const unsigned char *out;
    size_t out_len;
    bool shut_wr; /* shutdown(SHUT_WR) once everything is written */
    unsigned char *in;
    size_t in_cap, in_len;
    volatile int done;
} t_client_t;

static inline void *t_client_main(void *arg)
{
    t_client_t *c = arg;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    bool shut = false;
    for (int idle = 0; idle < 1000;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (off < c->out_len)
            p.events |= POLLOUT;
        if (poll(&p, 1, 10) == 0) {
            idle++;
            continue;
        }
        idle = 0;
        if (p.revents & POLLOUT) {
            ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        }
        if (off == c->out_len && c->shut_wr && !shut) {
            shutdown(c->fd, SHUT_WR);
            shut = true;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char tmp[65536];
            ssize_t n = read(c->fd, tmp, sizeof tmp);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                break;
            if (n > 0) {
                if (c->in_len + (size_t)n <= c->in_cap)
                    memcpy(c->in + c->in_len, tmp, (size_t)n);
                c->in_len += (size_t)n;
            }
        }
    }
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline bool t_client_done(t_client_t *c)
{
    return __atomic_load_n(&c->done, __ATOMIC_ACQUIRE) != 0;
}

#endif /* GINSFSM_SOCKTEST_H */
