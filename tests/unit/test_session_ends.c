/*
 * test_session_ends.c - every way a GServerSock session can end, and a
 * hierarchical session gclass.  A session lives exactly as long as its
 * connection's GSock: destroyed by the runtime after EV_DISCONNECTED, and
 * also when its GSock goes without one (a TLS handshake that failed or was
 * cut by a stop, or the session destroying its own GSock); the subscriber
 * hears EV_SESSION_CLOSED exactly once for each EV_SESSION_OPENED.
 * The TLS cases make a self-signed certificate with the openssl command
 * (skipped without it).  Loopback only, port 0, time-boxed.
 */
#include <stdlib.h>

#include "socktest.h"

#ifndef OPENSSL_BIN
#define OPENSSL_BIN "openssl"
#endif

/*---------------------------------------------------------------------*
 *  HSess: a hierarchical session.
 *    ST_H_LIVE { ST_H_GREET (initial), ST_H_ECHO }   ST_H_DONE
 *  GREET: EV_CONNECTED sends "hi\n"; the first line goes to ECHO ("ok\n").
 *  ECHO: every EV_RX_DATA is echoed, except the commands "die" (destroy
 *  self), "sockdie" (destroy the GSock), "drop" (EV_DROP).
 *  LIVE: EV_DISCONNECTED → ST_H_DONE.  Hooks are counted: balanced at the end.
 *---------------------------------------------------------------------*/
typedef struct {
    int entries, exits;
} hsess_priv_t;

static int h_connected, h_disconnected, h_destroyed, h_created;
static int h_entries_total, h_exits_total;
static char h_name[160];

GOBJ_DEFINE_STATE(ST_H_LIVE);
GOBJ_DEFINE_STATE(ST_H_GREET);
GOBJ_DEFINE_STATE(ST_H_ECHO);
GOBJ_DEFINE_STATE(ST_H_DONE);

static void say(gobj_t *gobj, gobj_t *sock, const char *s)
{
    gobj_send_event(sock, EV_SEND_DATA, json_pack("{s:s}", "data", s), gobj);
}

static int ac_h_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    h_connected++;
    snprintf(h_name, sizeof h_name, "%s", gobj_full_name(gobj));
    T_ASSERT(gobj_current_state(gobj) == ST_H_GREET);
    say(gobj, src, "hi\n");
    return 0;
}

static int ac_h_first(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    say(gobj, src, "ok\n");
    return 0;
}

static int ac_h_echo(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    const char *d = json_string_value(json_object_get(kw, "data"));
    T_ASSERT(gobj_current_state(gobj) == ST_H_ECHO);
    if (strcmp(d, "die\n") == 0) {
        gobj_destroy(gobj);
        return 0;
    }
    if (strcmp(d, "sockdie\n") == 0) {
        gobj_destroy(src);
        return 0;
    }
    if (strcmp(d, "drop\n") == 0) {
        say(gobj, src, "bye\n");
        gobj_send_event(src, EV_DROP, NULL, gobj);
        return 0;
    }
    say(gobj, src, d);
    return 0;
}

static int ac_h_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    h_disconnected++;
    return 0;
}

static int ac_h_ignore(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    return 0;
}

static void h_enter(gobj_t *gobj)
{
    ((hsess_priv_t *)gobj_priv(gobj))->entries++;
    h_entries_total++;
}

static void h_leave(gobj_t *gobj)
{
    ((hsess_priv_t *)gobj_priv(gobj))->exits++;
    h_exits_total++;
}

static int hsess_create(gobj_t *gobj)
{
    h_created++;
    return 0;
}

/* Destroy runs no exit hook (manual, chapter 2): the states still entered
 * are the leaf and its superstates. */
static void hsess_destroy(gobj_t *gobj)
{
    h_destroyed++;
    gobj_state_t st = gobj_current_state(gobj);
    h_exits_total += st == ST_H_GREET || st == ST_H_ECHO ? 2 : 1;
}

/* clang-format off */
static const gobj_row_t st_h_live[] = {
    GOBJ_ROW(EV_DISCONNECTED,   ac_h_disconnected, ST_H_DONE),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_h_ignore,       NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_h_greet[] = {
    GOBJ_ROW(EV_CONNECTED, ac_h_connected, NULL),
    GOBJ_ROW(EV_RX_DATA,   ac_h_first,     ST_H_ECHO),
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_h_echo[] = {
    GOBJ_ROW(EV_RX_DATA, ac_h_echo, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_row_t st_h_done[] = {
    GOBJ_ROW(EV_TRANSMIT_READY, ac_h_ignore, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t hsess_states[] = {
    {ST_H_LIVE,  st_h_live,  NULL,      ST_H_GREET, h_enter, h_leave},
    {ST_H_GREET, st_h_greet, ST_H_LIVE, NULL,       h_enter, h_leave},
    {ST_H_ECHO,  st_h_echo,  ST_H_LIVE, NULL,       h_enter, h_leave},
    {ST_H_DONE,  st_h_done,  NULL,      NULL,       h_enter, h_leave},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
static const gobj_event_def_t hsess_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t hsess_def = {
    .name = "HSess",
    .description = "hierarchical test session",
    .states = hsess_states,
    .events = hsess_events,
    .methods = {.mt_create = hsess_create, .mt_destroy = hsess_destroy},
    .priv_size = sizeof(hsess_priv_t),
};

/*---------------------------------------------------------------------*
 *  HOwner: the subscriber, counting EV_SESSION_OPENED / EV_SESSION_CLOSED
 *---------------------------------------------------------------------*/
static int o_opened, o_closed;
static char o_reason[200], o_closed_session[160];

GOBJ_DEFINE_STATE(ST_HO_RUN);

static int ac_ho_opened(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    o_opened++;
    return 0;
}

static int ac_ho_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    o_closed++;
    t_copy(o_reason, sizeof o_reason, kw, "reason");
    t_copy(o_closed_session, sizeof o_closed_session, kw, "session");
    T_ASSERT(o_closed <= o_opened);
    return 0;
}

static const gobj_row_t st_ho_run[] = {
    GOBJ_ROW(EV_SESSION_OPENED, ac_ho_opened, NULL),
    GOBJ_ROW(EV_SESSION_CLOSED, ac_ho_closed, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t howner_states[] = {
    GOBJ_STATE(ST_HO_RUN, st_ho_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t howner_events[] = {
    {EV_SESSION_OPENED, GOBJ_EV_IN, "{session, peername, sockname}"},
    {EV_SESSION_CLOSED, GOBJ_EV_IN, "{session, peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t howner_def = {
    .name = "HOwner",
    .description = "test subscriber of sessions",
    .states = howner_states,
    .events = howner_events,
};

/*---------------------------------------------------------------------*/
static gobj_t *owner;
static char dir[64]; /* the certificate, "" without openssl */

static void h_setup(void)
{
    t_setup();
    if (!gclass_find("HSess"))
        T_ASSERT(gclass_register(&hsess_def) != NULL);
    if (!gclass_find("HOwner"))
        T_ASSERT(gclass_register(&howner_def) != NULL);
    h_connected = h_disconnected = h_destroyed = h_created = 0;
    h_entries_total = h_exits_total = 0;
    o_opened = o_closed = 0;
    o_reason[0] = o_closed_session[0] = h_name[0] = 0;
    owner = gobj_create("owner", gclass_find("HOwner"), NULL, NULL);
    T_ASSERT(owner != NULL);
}

static void h_end(void)
{
    gobj_destroy(owner);
    owner = NULL;
    t_teardown();
    /* Every state entered was left or still held at destroy. */
    T_EQ_INT(h_entries_total, h_exits_total);
    T_EQ_INT(h_created, h_destroyed);
}

static gobj_t *h_server(bool tls, json_t *extra)
{
    json_t *kw =
        json_pack("{s:s, s:i, s:s}", "host", "127.0.0.1", "port", 0, "session_gclass", "HSess");
    if (tls) {
        char cert[128], key[128];
        snprintf(cert, sizeof cert, "%s/cert.pem", dir);
        snprintf(key, sizeof key, "%s/key.pem", dir);
        json_object_set_new(kw, "ssl_options",
                            json_pack("{s:s, s:s, s:i}", "certfile", cert, "keyfile", key,
                                      "handshake_timeout", 300));
    }
    if (extra)
        json_object_update(kw, extra);
    json_decref(extra);
    gobj_t *s = gobj_create("server", gclass_find(GCLASS_GSERVERSOCK_NAME), kw, owner);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    return s;
}

/* Read until the bytes read end with want, or the peer closed, or 5 s.
 * Returns whether they did. */
static bool read_until(int fd, const char *want)
{
    char buf[512];
    size_t got = 0;
    size_t wl = strlen(want);
    RUN_UNTIL(({
                  ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
                  if (r > 0)
                      got += (size_t)r;
                  buf[got] = 0;
                  (got >= wl && strcmp(buf + got - wl, want) == 0) || r == 0 ||
                      got == sizeof buf - 1;
              }),
              5000);
    return got >= wl && strcmp(buf + got - wl, want) == 0;
}

/* Wait until the peer closed fd (recv returns 0 or an error). */
static bool wait_closed(int fd)
{
    char c;
    return RUN_UNTIL(({
                         ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
                         r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
                     }),
                     5000);
}

static int make_cert(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_session_ends.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *o = strcmp(OPENSSL_BIN, "no") == 0 ? "openssl" : OPENSSL_BIN;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1",
             dir, o);
    return system(cmd) == 0 ? 0 : 77;
}

static void remove_cert(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    T_EQ_INT(system(cmd), 0);
}

/*---------------------------------------------------------------------*
 *  Tests
 *---------------------------------------------------------------------*/
/* A hierarchical session: initial substate entered before EV_CONNECTED,
 * transitions, the superstate's EV_DISCONNECTED row, then destroyed by the
 * runtime with its hooks balanced. */
static void test_hierarchical_session(void)
{
    h_setup();
    gobj_t *s = h_server(false, NULL);
    int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
    T_ASSERT(read_until(fd, "hi\n"));
    T_EQ_INT(send(fd, "one\n", 4, 0), 4);
    T_ASSERT(read_until(fd, "ok\n"));
    gobj_t *sess = gobj_find_path(NULL, h_name);
    T_ASSERT(sess != NULL);
    T_ASSERT(gobj_current_state(sess) == ST_H_ECHO);
    T_EQ_INT(send(fd, "two\n", 4, 0), 4);
    T_ASSERT(read_until(fd, "two\n"));
    T_EQ_INT(send(fd, "drop\n", 5, 0), 5);
    T_ASSERT(read_until(fd, "bye\n"));
    T_ASSERT(wait_closed(fd));
    T_ASSERT(RUN_UNTIL(h_destroyed == 1, 5000));
    T_EQ_INT(h_disconnected, 1);
    T_EQ_INT(o_opened, 1);
    T_EQ_INT(o_closed, 1);
    T_EQ_INT(gobj_read_int(s, "n_sessions"), 0);
    T_EQ_INT(gobj_child_count(owner), 1);
    close(fd);
    h_end();
}

/* The session destroys itself, or its GSock, in a substate: the runtime
 * destroys what is left, and the subscriber's OPENED gets its CLOSED. */
static void test_session_destroys(void)
{
    const char *cmds[] = {"die\n", "sockdie\n"};
    for (int i = 0; i < 2; i++) {
        h_setup();
        gobj_t *s = h_server(false, NULL);
        int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
        T_ASSERT(read_until(fd, "hi\n"));
        T_EQ_INT(send(fd, "x\n", 2, 0), 2);
        T_ASSERT(read_until(fd, "ok\n"));
        T_EQ_INT(send(fd, cmds[i], strlen(cmds[i]), 0), (ssize_t)strlen(cmds[i]));
        T_ASSERT(RUN_UNTIL(h_destroyed == 1, 5000));
        T_ASSERT(wait_closed(fd));
        T_ASSERT(gobj_find_path(NULL, h_name) == NULL);
        T_EQ_INT(h_disconnected, 0);
        T_EQ_INT(o_opened, 1);
        if (i == 0) {
            T_EQ_INT(o_closed, 0); /* gone before its end: nothing to tell */
        } else {
            T_EQ_INT(o_closed, 1);
            T_EQ_STR(o_closed_session, h_name);
            T_EQ_STR(o_reason, "GSock destroyed");
        }
        T_ASSERT(RUN_UNTIL(gobj_read_int(s, "n_sessions") == 0, 5000));
        T_EQ_INT(gobj_child_count(owner), 1);
        close(fd);
        h_end();
    }
}

/* TLS: a client that sends garbage, one that never speaks (handshake
 * timeout), and handshakes in progress when the server stops: the session
 * that never got EV_CONNECTED goes with its GSock, and the subscriber hears
 * nothing.  A good client next to them is served. */
static void test_tls_handshake_failures(void)
{
    if (!*dir)
        return;
    for (int mode = 0; mode < 3; mode++) {
        h_setup();
        gobj_t *s = h_server(true, NULL);
        int port = (int)gobj_read_int(s, "port");
        int fd = t_connect_tcp("127.0.0.1", port);
        T_ASSERT(RUN_UNTIL(h_created == 1, 5000));
        if (mode == 0) {
            static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
            T_EQ_INT(send(fd, junk, sizeof junk - 1, 0), (ssize_t)sizeof junk - 1);
        } else if (mode == 2) {
            t_run_for(20);
            gobj_stop(s);
        }
        T_ASSERT(RUN_UNTIL(h_destroyed == 1, 5000));
        T_ASSERT(wait_closed(fd));
        close(fd);
        T_EQ_INT(h_connected, 0);
        T_EQ_INT(o_opened, 0);
        T_EQ_INT(o_closed, 0);
        T_EQ_INT(gobj_child_count(owner), 1);
        T_EQ_INT(gobj_read_int(s, "n_sessions"), 0);
        if (mode != 2)
            T_ASSERT(RUN_UNTIL(gobj_read_int(s, "tls_failures") == 1, 5000));
        h_end();
    }
}

/* The server goes while a handshake is in progress: the session still goes
 * with its GSock. */
static void test_tls_server_destroyed_mid_handshake(void)
{
    if (!*dir)
        return;
    h_setup();
    gobj_t *s = h_server(true, NULL);
    int fd = t_connect_tcp("127.0.0.1", (int)gobj_read_int(s, "port"));
    T_ASSERT(RUN_UNTIL(h_created == 1, 5000));
    gobj_destroy(s);
    T_ASSERT(RUN_UNTIL(h_destroyed == 1, 5000)); /* handshake_timeout */
    T_ASSERT(wait_closed(fd));
    close(fd);
    T_EQ_INT(gobj_child_count(owner), 0);
    h_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    t_init();
    int rc = make_cert();
    if (rc < 0)
        return 1;
    if (rc == 77) {
        fprintf(stderr, "no openssl command: the TLS cases are skipped\n");
        remove_cert();
        dir[0] = 0;
    }
    test_hierarchical_session();
    test_session_destroys();
    test_tls_handshake_failures();
    test_tls_server_destroyed_mid_handshake();
    if (*dir)
        remove_cert();
    return t_done();
}
