/*
 * c_srv_sock.c - GServerSock: listens on TCP (IPv4/IPv6) ports or a unix
 * socket and turns each accepted connection into a GSock.
 *
 * What it is
 *   gobj_start binds every configured address, all or nothing, and starts
 *   accepting.  Each accepted connection becomes a GSock named
 *   "<server-name>.clisrv_<n>" (n counts up from 1 across every server of
 *   the process: unique under the subscriber, never reused), created as a
 *   child of the subscriber (the parent unless `subscriber` names another
 *   gobj, which must exist at start).  The GSock subscribes its parent to its output events, so the
 *   subscriber gets EV_CONNECTED {peername, sockname} with the GSock as src,
 *   then that GSock's EV_RX_DATA ... EV_DISCONNECTED.  The subscriber owns
 *   the GSock and destroys it, normally on EV_DISCONNECTED.
 *
 * Lifecycle
 *   gobj_start  checks the subscriber, backlog, port(s) and path
 *               (GOBJ_ECONFIG, one error naming what is wrong), binds (the
 *               first time) and accepts.  On any failure every
 *               socket already bound is closed, a unix socket file it
 *               created is removed, one error names the address and the OS
 *               reason, and the start fails with the negated errno.
 *   gobj_stop   stops accepting; the sockets stay bound, so new clients wait
 *               in the backlog.  gobj_start resumes.
 *   destroy     closes the listeners and removes the unix socket file (if
 *               it is still the one this server created).
 *   None of these touch the connections already accepted.
 *
 * TLS: with ssl_options (certfile and keyfile at least) gobj_start builds one
 * TLS context, loading and checking every file before any socket is bound;
 * a bad certificate or key fails the start with GOBJ_ECONFIG and one error
 * naming the file and OpenSSL's reason.  The GSocks it accepts share the
 * context and run the handshake before their EV_CONNECTED; one that fails
 * (or times out) is never announced and is counted in tls_failures.
 *
 * Accepting pauses by itself at max_connections (until one closes; the
 * connections in their lingering close count, see linger.h), on EMFILE /
 * ENFILE / ENOBUFS / ENOMEM (a timer retries after 100 ms, doubling to 1 s;
 * one warning per burst), and when the subscriber is gone (one error; the
 * next start checks again).  ECONNABORTED and the like are skipped.
 *
 * Input events: internal only (listener readable, the retry timer, one of
 * its GSocks closed, one of its lingering closes over).  Output events:
 * none of its own.
 * Attributes: see the table below and doc/gclasses/GServerSock.md.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"
#include "linger.h"
#include "sock_internal.h"
#include "srv_session.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT. */
#include <event2/event.h>

GOBJ_DEFINE_STATE(ST_LISTENING);
GOBJ_DEFINE_STATE(ST_PAUSED);

/* Internal input events. */
GOBJ_DEFINE_EVENT(EV_SRVSOCK_READABLE);     /* in: {} a listener has connections */
GOBJ_DEFINE_EVENT(EV_SRVSOCK_RETRY);        /* in: {} accept backoff is over */
GOBJ_DEFINE_EVENT(EV_SRVSOCK_GSOCK_CLOSED); /* in: {} from a GSock of ours (src) */
GOBJ_DEFINE_EVENT(EV_SRVSOCK_LINGER_DONE);  /* in: {} a lingering close of ours ended */
GOBJ_DEFINE_EVENT(EV_SRVSOCK_SESSION_GONE); /* in: see sock_internal.h */

/* Connections accepted per readiness, so that one busy listener cannot keep
 * the loop from everything else. */
#define ACCEPT_BATCH   64
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS   1000

/*---------------------------------------------------------------------*
 *  Private data
 *---------------------------------------------------------------------*/
typedef struct listener {
    gobj_t *gobj;
    int fd;
    struct event *ev;
    char address[GSOCK_ADDRSTRLEN]; /* as logged, with the real port */
    bool wildcard;                  /* the local address differs per connection */
    int family;
} listener_t;

typedef struct {
    /* Attributes. */
    char *host;
    int64_t port;
    json_t *ports;
    bool use_multi_ports;
    char *path;
    int64_t backlog;
    int64_t max_connections;
    char *subscriber;
    json_t *ssl_options;
    int64_t n_gsocks;
    int64_t n_lingering;
    int64_t total_accepted;
    int64_t tls_failures;
    char *session_gclass;
    json_t *session_attrs;
    json_t *gsock_attrs;
    int64_t n_sessions;
    int64_t session_failures;

    /* Run time. */
    gclass_t *session_gc; /* NULL = no sessions */
    listener_t **ls;
    size_t n_ls;
    listener_t *ready; /* set by the callback for ac_accept */
    gsock_srv_link_t *link;
    gsock_linger_acct_t *linger; /* its accepted sockets in a lingering close */
    gsock_tls_ctx_t *tls;        /* NULL = plain TCP */
    gclass_t *gsock_gc;
    gobj_loop_timer_t *retry;
    uint64_t retry_ms;
    bool running;   /* between mt_start and mt_stop */
    bool accepting; /* the listener events are added */
    bool at_limit;  /* max_connections reached */
    bool backoff;   /* waiting for the retry timer */
    bool orphaned;  /* the subscriber is gone: paused until the next start */
    bool warned;    /* this burst of accept errors was logged */
    bool unix_created;
    dev_t unix_dev;
    ino_t unix_ino;
} srv_priv_t;

/*---------------------------------------------------------------------*
 *  Attributes
 *---------------------------------------------------------------------*/
/* clang-format off */
static const gobj_attr_t srv_attrs[] = {
    GOBJ_ATTR("host", GOBJ_ATTR_STRING, srv_priv_t, host, "\"\"", GOBJ_RD,
              "Name or IPv4/IPv6 literal to listen on; empty = 0.0.0.0 and ::"),
    GOBJ_ATTR("port", GOBJ_ATTR_INT, srv_priv_t, port, "0", GOBJ_RD,
              "TCP port; 0 = the kernel's choice, read back after start"),
    GOBJ_ATTR("ports", GOBJ_ATTR_JSON, srv_priv_t, ports, "[]", GOBJ_RD,
              "With use_multi_ports: the ports to listen on (read back after start)"),
    GOBJ_ATTR("use_multi_ports", GOBJ_ATTR_BOOL, srv_priv_t, use_multi_ports, "false", GOBJ_RD,
              "Listen on each of ports instead of port"),
    GOBJ_ATTR("path", GOBJ_ATTR_STRING, srv_priv_t, path, "\"\"", GOBJ_RD,
              "Unix socket path to listen on (instead of host and port)"),
    GOBJ_ATTR("backlog", GOBJ_ATTR_INT, srv_priv_t, backlog, "4096", GOBJ_RD,
              "listen() backlog (the kernel caps it at net.core.somaxconn)"),
    GOBJ_ATTR("max_connections", GOBJ_ATTR_INT, srv_priv_t, max_connections, "0",
              GOBJ_RD | GOBJ_WR, "Stop accepting while this many are open; 0 = unlimited"),
    GOBJ_ATTR("subscriber", GOBJ_ATTR_STRING, srv_priv_t, subscriber, "\"\"", GOBJ_RD,
              "Unique or full name of the owner of the GSocks; empty = the parent"),
    GOBJ_ATTR("ssl_options", GOBJ_ATTR_JSON, srv_priv_t, ssl_options, "{}", GOBJ_RD,
              "TLS: {certfile, keyfile, cafile, verify_peer, ciphers, min_version, "
              "handshake_timeout}; empty = plain TCP (doc/tls.md)"),
    GOBJ_ATTR("n_gsocks", GOBJ_ATTR_INT, srv_priv_t, n_gsocks, "0", GOBJ_STATS,
              "Accepted connections open now (GSocks)"),
    GOBJ_ATTR("n_lingering", GOBJ_ATTR_INT, srv_priv_t, n_lingering, "0", GOBJ_STATS,
              "Accepted connections closed by us, their descriptor still held by the "
              "lingering close; n_gsocks + n_lingering count against max_connections"),
    GOBJ_ATTR("total_accepted", GOBJ_ATTR_INT, srv_priv_t, total_accepted, "0", GOBJ_STATS,
              "Connections accepted so far"),
    GOBJ_ATTR("tls_failures", GOBJ_ATTR_INT, srv_priv_t, tls_failures, "0", GOBJ_STATS,
              "TLS handshakes that failed or timed out"),
    GOBJ_ATTR("session_gclass", GOBJ_ATTR_STRING, srv_priv_t, session_gclass, "\"\"", GOBJ_RD,
              "Sessions: each connection becomes a gobj of this gclass owning its GSock "
              "\"sock\"; empty = the subscriber owns the GSocks"),
    GOBJ_ATTR("session_attrs", GOBJ_ATTR_JSON, srv_priv_t, session_attrs, "{}", GOBJ_RD,
              "Attributes given to each session at create"),
    GOBJ_ATTR("gsock_attrs", GOBJ_ATTR_JSON, srv_priv_t, gsock_attrs, "{}", GOBJ_RD,
              "Attributes given to each accepted GSock at create (with or without sessions)"),
    GOBJ_ATTR("n_sessions", GOBJ_ATTR_INT, srv_priv_t, n_sessions, "0", GOBJ_STATS,
              "Sessions whose connection is open now"),
    GOBJ_ATTR("session_failures", GOBJ_ATTR_INT, srv_priv_t, session_failures, "0", GOBJ_STATS,
              "Sessions that could not be created or started (their connection was closed)"),
    GOBJ_ATTR_END,
};
/* clang-format on */

/*---------------------------------------------------------------------*
 *  Loop glue
 *---------------------------------------------------------------------*/
static void on_listener(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    listener_t *l = arg;
    gobj_t *gobj = l->gobj;
    srv_priv_t *priv = gobj_priv(gobj);
    priv->ready = l;
    gobj_send_event(gobj, EV_SRVSOCK_READABLE, NULL, gobj);
}

static void on_retry(void *user)
{
    gobj_t *gobj = user;
    gobj_send_event(gobj, EV_SRVSOCK_RETRY, NULL, gobj);
}

static void on_linger_done(void *user)
{
    gobj_t *gobj = user;
    if (!gobj_is_destroying(gobj))
        gobj_send_event(gobj, EV_SRVSOCK_LINGER_DONE, NULL, gobj);
}

/*---------------------------------------------------------------------*
 *  Helpers
 *---------------------------------------------------------------------*/
static gobj_t *resolve(const char *name)
{
    gobj_t *g = gobj_find_unique(name);
    return g ? g : gobj_find_path(NULL, name);
}

static gobj_t *get_subscriber(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    if (priv->subscriber && *priv->subscriber)
        return resolve(priv->subscriber);
    return gobj_parent(gobj);
}

/* The subscriber, or NULL (logged, naming it) if it does not exist. */
static gobj_t *check_subscriber(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    gobj_t *sub = get_subscriber(gobj);
    if (sub && !gobj_is_destroying(sub))
        return sub;
    const char *name = priv->subscriber && *priv->subscriber ? priv->subscriber : "";
    char msg[512];
    if (*name)
        snprintf(msg, sizeof msg, "GServerSock: the subscriber '%s' does not exist", name);
    else
        snprintf(msg, sizeof msg,
                 "GServerSock: no subscriber (a server without a parent must name one)");
    gobj_log(GOBJ_LOG_ERROR, gobj, msg, "subscriber", json_string(name), NULL);
    return NULL;
}

/* Descriptors of accepted connections still open: the GSocks' and those
 * of lingering closes. */
static int64_t n_open(const srv_priv_t *priv)
{
    return priv->link->n_open + (priv->linger ? priv->linger->n_lingering : 0);
}

static bool over_limit(const srv_priv_t *priv)
{
    return priv->max_connections > 0 && n_open(priv) >= priv->max_connections;
}

/* Accept when running, below max_connections, not backing off and with a
 * subscriber; the state follows. */
static void update_accepting(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    bool want =
        priv->running && !priv->at_limit && !priv->backoff && !priv->orphaned && priv->n_ls > 0;
    if (want != priv->accepting) {
        for (size_t i = 0; i < priv->n_ls; i++) {
            if (want)
                event_add(priv->ls[i]->ev, NULL);
            else
                event_del(priv->ls[i]->ev);
        }
        priv->accepting = want;
    }
    gobj_change_state(gobj, priv->n_ls == 0 ? ST_IDLE : want ? ST_LISTENING : ST_PAUSED);
}

static void close_listeners(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    for (size_t i = 0; i < priv->n_ls; i++) {
        listener_t *l = priv->ls[i];
        if (l->ev)
            event_free(l->ev);
        if (l->fd >= 0)
            close(l->fd);
        free(l);
    }
    free(priv->ls);
    priv->ls = NULL;
    priv->n_ls = 0;
    priv->accepting = false;
    /* Remove the socket file only if it is still ours: another server may
     * have replaced it since. */
    if (priv->unix_created) {
        struct stat st;
        if (lstat(priv->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == priv->unix_dev &&
            st.st_ino == priv->unix_ino)
            unlink(priv->path);
        priv->unix_created = false;
    }
}

/* One error record for a failed start: the address and the OS reason. */
static int fail_listen(gobj_t *gobj, const char *address, int err, const char *why)
{
    char msg[GSOCK_ADDRSTRLEN + 200];
    snprintf(msg, sizeof msg, "cannot listen on %s: %s", address, why ? why : strerror(err));
    gobj_log(GOBJ_LOG_ERROR, gobj, msg, "address", json_string(address), "error",
             json_string(why ? why : strerror(err)), "errno",
             json_string(err ? gobj_err_name(-err) : ""), NULL);
    return err ? -err : GOBJ_ECONFIG;
}

static listener_t *add_listener(gobj_t *gobj, int fd)
{
    srv_priv_t *priv = gobj_priv(gobj);
    listener_t *l = calloc(1, sizeof *l);
    listener_t **n = realloc(priv->ls, (priv->n_ls + 1) * sizeof *n);
    if (!l || !n) {
        free(l);
        if (n)
            priv->ls = n;
        return NULL;
    }
    priv->ls = n;
    l->gobj = gobj;
    l->fd = fd;
    l->ev = event_new(gobj_loop_base(), fd, EV_READ | EV_PERSIST, on_listener, l);
    priv->ls[priv->n_ls++] = l;
    if (!l->ev)
        return NULL; /* closed with the others by the caller */
    return l;
}

/* Bind and listen on one TCP address.  *port: in, the port to use (0 =
 * any); out, the bound port.  Returns 0 or a negative code (logged). */
static int listen_tcp(gobj_t *gobj, struct sockaddr *sa, socklen_t len, bool v6only, bool wildcard,
                      int *port)
{
    srv_priv_t *priv = gobj_priv(gobj);
    char address[GSOCK_ADDRSTRLEN];
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)*port);
    else
        ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)*port);
    gsock__format_addr(sa, len, address, sizeof address);

    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail_listen(gobj, address, errno, NULL);
    int one = 1;
    /* Restarting while old connections sit in TIME_WAIT must work; a live
     * listener on the same address still makes bind fail on Linux. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6only)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, sa, len) < 0 || listen(fd, (int)priv->backlog) < 0) {
        int err = errno;
        close(fd);
        return fail_listen(gobj, address, err, NULL);
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    listener_t *l = add_listener(gobj, fd);
    if (!l) {
        if (!priv->n_ls || priv->ls[priv->n_ls - 1]->fd != fd)
            close(fd);
        return fail_listen(gobj, address, ENOMEM, NULL);
    }
    gsock__format_addr((struct sockaddr *)&ss, sl, l->address, sizeof l->address);
    l->wildcard = wildcard;
    l->family = sa->sa_family;
    *port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                    : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/* Listen on every address of host for one port.  *port as in listen_tcp:
 * with 0 the first address gets the kernel's port and the others reuse it. */
static int listen_port(gobj_t *gobj, int *port)
{
    srv_priv_t *priv = gobj_priv(gobj);
    if (!priv->host || !*priv->host) {
        /* All families: 0.0.0.0 and ::, the v6 socket IPv6-only so that
         * both can hold the same port. */
        struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
        int rc = listen_tcp(gobj, (struct sockaddr *)&in4, sizeof in4, false, true, port);
        if (rc < 0)
            return rc;
        struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
        int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0 && errno == EAFNOSUPPORT)
            return 0; /* a machine without IPv6: the IPv4 socket is all */
        if (probe >= 0)
            close(probe);
        return listen_tcp(gobj, (struct sockaddr *)&in6, sizeof in6, true, true, port);
    }
    char service[16];
    snprintf(service, sizeof service, "%d", *port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gerr = getaddrinfo(priv->host, service, &hints, &res);
    if (gerr) {
        char address[GSOCK_ADDRSTRLEN + 16];
        snprintf(address, sizeof address, strchr(priv->host, ':') ? "[%s]:%d" : "%s:%d", priv->host,
                 *port);
        return fail_listen(gobj, address, 0, gai_strerror(gerr));
    }
    /* A name with both families (localhost) gets one socket per address;
     * the v6 one must then be IPv6-only.  A lone "::" stays dual-stack. */
    bool has_v4 = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        has_v4 |= ai->ai_family == AF_INET;
    int rc = 0;
    for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        /* getaddrinfo may list one address twice (one per protocol). */
        bool dup = false;
        for (struct addrinfo *p = res; p != ai; p = p->ai_next)
            dup |= p->ai_addrlen == ai->ai_addrlen &&
                   memcmp(p->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0;
        if (dup)
            continue;
        struct sockaddr_storage ss;
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        bool wildcard = ai->ai_family == AF_INET
                            ? ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)
                            : IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
        rc = listen_tcp(gobj, (struct sockaddr *)&ss, ai->ai_addrlen,
                        ai->ai_family == AF_INET6 && has_v4, wildcard, port);
        /* The kernel's port, once chosen, is the port of the other
         * addresses: the attribute reads back one port. */
    }
    freeaddrinfo(res);
    return rc;
}

static int listen_unix(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    size_t n = strlen(priv->path);
    if (n >= sizeof un.sun_path) {
        /* A configuration error (exit 2 from gserve), not a failure of
         * the system. */
        char why[120];
        snprintf(why, sizeof why,
                 "the path is %zu bytes long; a unix socket path is at most %zu bytes", n,
                 sizeof un.sun_path - 1);
        return fail_listen(gobj, priv->path, 0, why);
    }
    memcpy(un.sun_path, priv->path, n + 1);

    struct stat st;
    if (lstat(priv->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail_listen(gobj, priv->path, EEXIST, "the path exists and is not a socket");
        /* A socket file: live if something accepts connections behind it
         * (never taken over), stale if the connect is refused (left by a
         * process that died without removing it: replaced). */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return fail_listen(gobj, priv->path, errno, NULL);
        int rc = connect(probe, (struct sockaddr *)&un, sizeof un);
        int err = rc < 0 ? errno : 0;
        close(probe);
        if (err == ECONNREFUSED) {
            if (unlink(priv->path) < 0 && errno != ENOENT)
                return fail_listen(gobj, priv->path, errno, NULL);
        } else if (err == 0 || err == EAGAIN) {
            return fail_listen(gobj, priv->path, EADDRINUSE,
                               "another server is listening on this socket");
        } else {
            return fail_listen(gobj, priv->path, err, NULL);
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail_listen(gobj, priv->path, errno, NULL);
    if (bind(fd, (struct sockaddr *)&un, sizeof un) < 0) {
        int err = errno;
        close(fd);
        return fail_listen(gobj, priv->path, err, NULL);
    }
    /* From here the file is ours to remove, also on failure below. */
    if (lstat(priv->path, &st) == 0) {
        priv->unix_created = true;
        priv->unix_dev = st.st_dev;
        priv->unix_ino = st.st_ino;
    }
    listener_t *l = add_listener(gobj, fd);
    if (!l) {
        if (!priv->n_ls || priv->ls[priv->n_ls - 1]->fd != fd)
            close(fd);
        return fail_listen(gobj, priv->path, ENOMEM, NULL);
    }
    if (listen(fd, (int)priv->backlog) < 0)
        return fail_listen(gobj, priv->path, errno, NULL);
    snprintf(l->address, sizeof l->address, "%s", priv->path);
    l->family = AF_UNIX;
    return 0;
}

/* Bind everything, all or nothing. */
static int bind_all(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    int rc = 0;
    if (!gobj_loop_base()) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GServerSock: the loop is not initialised", NULL);
        return GOBJ_ESTATE;
    }
    /* listen() takes an int, and the kernel caps any value at
     * net.core.somaxconn: refuse what would not fit instead of truncating
     * it (2^40 would become 0). */
    if (priv->backlog < 1 || priv->backlog > INT_MAX) {
        char msg[300];
        snprintf(msg, sizeof msg, "GServerSock: backlog must be 1..%d, not %lld", INT_MAX,
                 (long long)priv->backlog);
        gobj_log(GOBJ_LOG_ERROR, gobj, msg, "attr", json_string("backlog"), "backlog",
                 json_integer(priv->backlog), NULL);
        return GOBJ_ECONFIG;
    }
    if (priv->path && *priv->path) {
        rc = listen_unix(gobj);
    } else if (priv->use_multi_ports) {
        size_t i;
        json_t *v;
        if (!json_is_array(priv->ports) || json_array_size(priv->ports) == 0) {
            gobj_log(GOBJ_LOG_ERROR, gobj,
                     "GServerSock: use_multi_ports needs a non-empty ports array", NULL);
            return GOBJ_ECONFIG;
        }
        json_array_foreach (priv->ports, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
                gobj_log(GOBJ_LOG_ERROR, gobj, "GServerSock: ports must be integers 0..65535",
                         "ports", json_incref(priv->ports), NULL);
                return GOBJ_ECONFIG;
            }
        }
        json_t *bound = json_array();
        json_array_foreach (priv->ports, i, v) {
            int port = (int)json_integer_value(v);
            rc = listen_port(gobj, &port);
            if (rc < 0)
                break;
            json_array_append_new(bound, json_integer(port));
        }
        if (rc == 0) {
            json_decref(priv->ports);
            priv->ports = bound;
            priv->port = json_integer_value(json_array_get(bound, 0));
        } else {
            json_decref(bound);
        }
    } else {
        if (priv->port < 0 || priv->port > 65535) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "GServerSock: port must be 0..65535", "port",
                     json_integer(priv->port), NULL);
            return GOBJ_ECONFIG;
        }
        int port = (int)priv->port;
        rc = listen_port(gobj, &port);
        if (rc == 0)
            priv->port = port;
    }
    if (rc == 0 && priv->n_ls == 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GServerSock: the host has no IPv4 or IPv6 address", "host",
                 json_string(priv->host ? priv->host : ""), NULL);
        rc = GOBJ_ECONFIG;
    }
    if (rc < 0) {
        close_listeners(gobj);
        return rc;
    }
    for (size_t i = 0; i < priv->n_ls; i++)
        gobj_log(GOBJ_LOG_INFO, gobj, "listening", "address", json_string(priv->ls[i]->address),
                 NULL);
    return 0;
}

/* Accept errors that mean "out of descriptors or memory": retrying at once
 * would spin, because the connection stays in the backlog. */
static void start_backoff(gobj_t *gobj, listener_t *l, int err)
{
    srv_priv_t *priv = gobj_priv(gobj);
    priv->backoff = true;
    update_accepting(gobj);
    if (!priv->warned) {
        gobj_log(GOBJ_LOG_WARN, gobj, "accept paused", "address", json_string(l->address), "error",
                 json_string(strerror(err)), "errno", json_string(gobj_err_name(-err)), NULL);
        priv->warned = true;
    }
    priv->retry_ms = priv->retry_ms ? priv->retry_ms * 2 : RETRY_FIRST_MS;
    if (priv->retry_ms > RETRY_MAX_MS)
        priv->retry_ms = RETRY_MAX_MS;
    if (!priv->retry)
        priv->retry = gobj_loop_timer_new(on_retry, gobj);
    if (priv->retry)
        gobj_loop_timer_start(priv->retry, priv->retry_ms, false);
}

/* The GSocks' numbers, shared by every server of the process: two servers
 * with the same short name (a.server, b.server) may have one subscriber,
 * and a name must be unique among the subscriber's children and never
 * reused.  A name some other code took meanwhile is skipped. */
static uint64_t clisrv_serial;

/* Turn one accepted descriptor into a GSock child of the subscriber, or into
 * a session (child of the subscriber) owning its GSock "sock". */
static void hand_over(gobj_t *gobj, gobj_t *sub, listener_t *l, int fd,
                      const struct sockaddr_storage *ss, socklen_t sl)
{
    srv_priv_t *priv = gobj_priv(gobj);
    char name[256];
    do {
        snprintf(name, sizeof name, "%s.clisrv_%llu", gobj_name(gobj),
                 (unsigned long long)++clisrv_serial);
    } while (gobj_find_child(sub, name));
    gobj_t *session = NULL;
    gobj_t *sock;
    if (priv->session_gc) {
        sock = srv_session__create(gobj, sub, name, priv->session_gc, priv->session_attrs,
                                   priv->gsock_gc, priv->gsock_attrs);
        if (!sock) {
            close(fd);
            priv->session_failures++;
            return;
        }
        session = gobj_parent(sock);
        gsock__bind_session(sock, session, priv->link);
    } else {
        sock = gobj_create(name, priv->gsock_gc, json_deep_copy(priv->gsock_attrs), sub);
        if (!sock) {
            close(fd);
            return; /* the core logged why */
        }
    }
    if (gsock__adopt(sock, fd, (const struct sockaddr *)ss, sl, l->wildcard ? NULL : l->address,
                     priv->link, priv->tls) < 0) {
        gobj_destroy(session ? session : sock);
        return;
    }
    gsock__linger_expect(fd, priv->linger);
    priv->link->n_open++;
    priv->n_gsocks = priv->link->n_open;
    priv->total_accepted++;
    if (session) {
        priv->n_sessions = priv->link->n_open;
        /* After the session (subscribed at the GSock's create): the server
         * hears of EV_CONNECTED / EV_DISCONNECTED once the session has. */
        gobj_subscribe_event(sock, EV_CONNECTED, NULL, gobj);
        gobj_subscribe_event(sock, EV_DISCONNECTED, NULL, gobj);
        int rc = gobj_start(session);
        if (gobj_is_destroying(session) || gobj_is_destroying(sock))
            return; /* it (or its GSock) went away by itself: not a failure */
        if (rc < 0) {
            priv->session_failures++;
            srv_session__fail(gobj, priv->session_gc, gobj_strerror(rc));
            gobj_destroy(session);
            return;
        }
    }
    if (gobj_start(sock) < 0) {
        gobj_destroy(session ? session : sock);
        return;
    }
    gobj_send_event(sock, EV_GSOCK_ACCEPTED, NULL, gobj);
}

/*---------------------------------------------------------------------*
 *  Methods
 *---------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    priv->link = calloc(1, sizeof *priv->link);
    if (!priv->link)
        return GOBJ_ENOMEM;
    priv->link->refs = 1;
    priv->link->server = gobj;
    priv->linger = gsock__linger_acct_new(on_linger_done, gobj);
    if (!priv->linger)
        return GOBJ_ENOMEM;
    /* The session gclass may be registered later, before the start. */
    return srv_session__check(gobj, priv->session_gclass, priv->session_attrs, priv->gsock_attrs,
                              false);
}

static int mt_start(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    priv->gsock_gc = gclass_find(GCLASS_GSOCK_NAME);
    if (!priv->gsock_gc) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GServerSock: the GSock gclass is not registered", NULL);
        return GOBJ_ENOENT;
    }
    /* Without a subscriber every accepted connection would be refused:
     * the user's to fix, as a bad config. */
    if (!check_subscriber(gobj))
        return GOBJ_ECONFIG;
    int src = srv_session__check(gobj, priv->session_gclass, priv->session_attrs, priv->gsock_attrs,
                                 true);
    if (src < 0)
        return src;
    priv->session_gc =
        priv->session_gclass && *priv->session_gclass ? gclass_find(priv->session_gclass) : NULL;
    /* The certificate and key are checked before anything is bound: a
     * server that cannot speak TLS must not accept a single client. */
    if (!priv->tls && json_object_size(priv->ssl_options) > 0) {
        int rc = gsock_tls__ctx_new(gobj, priv->ssl_options, true, &priv->tls);
        if (rc < 0)
            return rc;
    }
    if (priv->n_ls == 0) {
        int rc = bind_all(gobj);
        if (rc < 0)
            return rc;
    }
    priv->running = true;
    priv->orphaned = false;
    priv->at_limit = over_limit(priv);
    update_accepting(gobj);
    return 0;
}

static int mt_stop(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    priv->running = false;
    update_accepting(gobj);
    return 0;
}

static void mt_destroy(gobj_t *gobj)
{
    srv_priv_t *priv = gobj_priv(gobj);
    close_listeners(gobj);
    gobj_loop_timer_free(priv->retry);
    priv->retry = NULL;
    /* The GSocks still open hold their own references. */
    gsock_tls__ctx_unref(priv->tls);
    priv->tls = NULL;
    if (priv->link) {
        priv->link->server = NULL;
        gsock__link_release(priv->link);
        priv->link = NULL;
    }
    gsock__linger_acct_close(priv->linger);
    priv->linger = NULL;
}

static void mt_writing(gobj_t *gobj, const char *attr)
{
    srv_priv_t *priv = gobj_priv(gobj);
    if (strcmp(attr, "max_connections") == 0 && priv->n_ls) {
        priv->at_limit = over_limit(priv);
        update_accepting(gobj);
    }
}

/*---------------------------------------------------------------------*
 *  Actions
 *---------------------------------------------------------------------*/
static int ac_accept(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    srv_priv_t *priv = gobj_priv(gobj);
    listener_t *l = priv->ready;
    priv->ready = NULL;
    if (!l || !priv->accepting)
        return 0;
    gobj_t *sub = check_subscriber(gobj);
    if (!sub) {
        /* The listener is level-triggered: returning without accepting
         * would wake us at once again, for ever.  Pause (logged once, just
         * above) until a start finds a subscriber. */
        priv->orphaned = true;
        update_accepting(gobj);
        return GOBJ_ENOENT;
    }
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (over_limit(priv)) {
            /* Later clients wait in the backlog until one closes. */
            priv->at_limit = true;
            update_accepting(gobj);
            break;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            /* A client that reset while waiting in the backlog, a signal,
             * a firewall rule: nothing wrong with the listener. */
            if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                break;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                start_backoff(gobj, l, err);
                break;
            }
            gobj_log(GOBJ_LOG_ERROR, gobj, "accept failed", "address", json_string(l->address),
                     "error", json_string(strerror(err)), "errno", json_string(gobj_err_name(-err)),
                     NULL);
            break;
        }
        if (priv->warned) {
            gobj_log(GOBJ_LOG_INFO, gobj, "accepting again", "address", json_string(l->address),
                     NULL);
            priv->warned = false;
        }
        priv->retry_ms = 0;
        hand_over(gobj, sub, l, fd, &ss, sl);
        /* The subscriber may have stopped or destroyed us, or itself. */
        if (gobj_is_destroying(gobj) || gobj_is_destroying(sub) || !priv->accepting)
            break;
    }
    return 0;
}

static int ac_retry(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    srv_priv_t *priv = gobj_priv(gobj);
    priv->backoff = false;
    update_accepting(gobj);
    return 0;
}

static int ac_gsock_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    srv_priv_t *priv = gobj_priv(gobj);
    priv->n_gsocks = priv->link->n_open;
    if (priv->session_gc)
        priv->n_sessions = priv->link->n_open;
    priv->n_lingering = priv->linger->n_lingering;
    priv->tls_failures = priv->link->tls_failures;
    if (priv->at_limit && !over_limit(priv)) {
        priv->at_limit = false;
        update_accepting(gobj);
    }
    return 0;
}

/* EV_CONNECTED, EV_DISCONNECTED and EV_SRVSOCK_SESSION_GONE from a
 * session's GSock (src): srv_session.c. */
static int ac_session_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    srv_session__connected(get_subscriber(gobj), src, kw);
    return 0;
}

static int ac_session_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    srv_session__disconnected(get_subscriber(gobj), src, kw);
    return 0;
}

static int ac_session_gone(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    srv_session__gone(get_subscriber(gobj), src, kw);
    return 0;
}

/*---------------------------------------------------------------------*
 *  FSM
 *---------------------------------------------------------------------*/
/*
 *            gobj_start (binds all, or fails and stays)
 *  ST_IDLE ---------------------------------------------> ST_LISTENING --.
 *                                                           |  ^         | EV_SRVSOCK_READABLE:
 *      gobj_stop / max_connections reached / EMFILE... /    |  |         | accept, hand over
 *      the subscriber is gone                               v  |<--------'
 *                                                        ST_PAUSED
 *      gobj_start / a GSock closed or a lingering close over (below max) /
 *      EV_SRVSOCK_RETRY  (back up)
 *
 * The sockets stay bound in ST_PAUSED; only destroy closes them.  The
 * actions and methods choose the state (update_accepting).
 */
/* clang-format off */
static const gobj_row_t st_idle[] = {
    /*       event                     action            next state */
    GOBJ_ROW(EV_SRVSOCK_GSOCK_CLOSED,  ac_gsock_closed,  NULL),
    GOBJ_ROW(EV_SRVSOCK_LINGER_DONE,   ac_gsock_closed,  NULL),
    GOBJ_ROW(EV_CONNECTED,             ac_session_connected,     NULL),
    GOBJ_ROW(EV_DISCONNECTED,          ac_session_disconnected,  NULL),
    GOBJ_ROW(EV_SRVSOCK_SESSION_GONE,  ac_session_gone,          NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_listening[] = {
    /*       event                     action            next state */
    GOBJ_ROW(EV_SRVSOCK_READABLE,      ac_accept,        NULL),  /* ST_PAUSED at a limit */
    GOBJ_ROW(EV_SRVSOCK_GSOCK_CLOSED,  ac_gsock_closed,  NULL),
    GOBJ_ROW(EV_SRVSOCK_LINGER_DONE,   ac_gsock_closed,  NULL),
    GOBJ_ROW(EV_SRVSOCK_RETRY,         ac_retry,         NULL),
    GOBJ_ROW(EV_CONNECTED,             ac_session_connected,     NULL),
    GOBJ_ROW(EV_DISCONNECTED,          ac_session_disconnected,  NULL),
    GOBJ_ROW(EV_SRVSOCK_SESSION_GONE,  ac_session_gone,          NULL),
    {NULL, NULL, NULL, NULL},
};

static const gobj_row_t st_paused[] = {
    /*       event                     action            next state */
    GOBJ_ROW(EV_SRVSOCK_GSOCK_CLOSED,  ac_gsock_closed,  NULL),  /* ST_LISTENING below max */
    GOBJ_ROW(EV_SRVSOCK_LINGER_DONE,   ac_gsock_closed,  NULL),  /* (the same) */
    GOBJ_ROW(EV_SRVSOCK_RETRY,         ac_retry,         NULL),  /* ST_LISTENING if running */
    GOBJ_ROW(EV_CONNECTED,             ac_session_connected,     NULL),
    GOBJ_ROW(EV_DISCONNECTED,          ac_session_disconnected,  NULL),
    GOBJ_ROW(EV_SRVSOCK_SESSION_GONE,  ac_session_gone,          NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t srv_states[] = {
    GOBJ_STATE(ST_IDLE, st_idle),
    GOBJ_STATE(ST_LISTENING, st_listening),
    GOBJ_STATE(ST_PAUSED, st_paused),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const gobj_event_def_t srv_events[] = {
    {EV_SRVSOCK_READABLE, GOBJ_EV_IN, "{} internal: a listener has connections waiting"},
    {EV_SRVSOCK_RETRY, GOBJ_EV_IN, "{} internal: the accept backoff is over"},
    {EV_SRVSOCK_GSOCK_CLOSED, GOBJ_EV_IN, "{} internal: one of its GSocks closed"},
    {EV_SRVSOCK_LINGER_DONE, GOBJ_EV_IN, "{} internal: one of its lingering closes ended"},
    {EV_SRVSOCK_SESSION_GONE, GOBJ_EV_IN,
     "{peername, sockname, reason} internal: a session's GSock destroyed before its end"},
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname} internal: from a session's GSock"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason} internal: from a session's GSock"},
    {EV_SESSION_OPENED, GOBJ_EV_OUT, "{session, peername, sockname} sent to the subscriber"},
    {EV_SESSION_CLOSED, GOBJ_EV_OUT,
     "{session, peername, sockname, reason} sent to the subscriber"},
    {NULL, 0, NULL},
};

/*---------------------------------------------------------------------*
 *  Registration
 *---------------------------------------------------------------------*/
const gclass_def_t gobj__gserversock_def = {
    .name = GCLASS_GSERVERSOCK_NAME,
    .description = "Listens on TCP ports or a unix socket; each connection becomes a GSock",
    .states = srv_states,
    .events = srv_events,
    .attrs = srv_attrs,
    .methods =
        {
            .mt_create = mt_create,
            .mt_check = srv_session__mt_check,
            .mt_start = mt_start,
            .mt_stop = mt_stop,
            .mt_destroy = mt_destroy,
            .mt_writing = mt_writing,
        },
    .priv_size = sizeof(srv_priv_t),
};
