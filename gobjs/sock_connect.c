/*
 * sock_connect.c - GSock: a client's connect (each resolved address in
 * turn, a unix path retried while the listener's backlog is full), the
 * subscription of the subscriber, and the hand-over of an accepted
 * descriptor from GServerSock (gsock__adopt).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ginsfsm/log.h"
#include "internal.h" /* gobj__trace_any: one branch per message when tracing is off */
#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>
#include <event2/util.h>

void gsock__set_nodelay(int fd, int family)
{
    if (family != AF_INET && family != AF_INET6)
        return;
    int one = 1;
    /* Replies are written whole; Nagle would only add latency. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*---------------------------------------------------------------------*
 *  Helpers: client connect
 *---------------------------------------------------------------------*/
/* Start a nonblocking connect to one address.  Returns 0 when under way
 * (the result comes as EV_GSOCK_WRITABLE), or an errno value. */
int gsock__connect_one(gobj_t *gobj, const struct sockaddr *sa, socklen_t len)
{
    sock_priv_t *priv = gobj_priv(gobj);
    char buf[GSOCK_ADDRSTRLEN];
    gsock__set_str(&priv->peername, gsock__format_addr(sa, len, buf, sizeof buf));
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return err;
    }
    priv->fd = fd;
    gsock_transport__plain_init(&priv->plain, fd);
    priv->tr = &priv->plain;
    int rc = gsock__make_events(gobj);
    if (rc < 0) {
        gsock__free_events(priv);
        close(fd);
        priv->fd = -1;
        priv->tr = NULL;
        return ENOMEM;
    }
    /* Connected or not, the outcome is read when the socket is writable,
     * on a later turn: EV_CONNECT never answers inside its own send. */
    gsock__tx_enable(priv, true);
    return 0;
}

/* Try the remaining resolved addresses in turn.  Returns true if a connect
 * is under way; else conn_err holds the last error. */
bool gsock__connect_next(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    while (priv->ai_next) {
        struct addrinfo *ai = priv->ai_next;
        priv->ai_next = ai->ai_next;
        int err = gsock__connect_one(gobj, ai->ai_addr, ai->ai_addrlen);
        if (!err)
            return true;
        priv->conn_err = err;
    }
    return false;
}

/* Connect to the unix path.  A listener whose backlog is full refuses at
 * once with EAGAIN, where TCP would let the SYN wait: that is tried again
 * after a short backoff (5 ms, doubling up to 200 ms), until
 * connect_timeout.  Returns true if a connect or a retry is under way;
 * else conn_err holds the error. */
bool gsock__connect_unix(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, priv->path, strlen(priv->path) + 1);
    int err = gsock__connect_one(gobj, (struct sockaddr *)&un, sizeof un);
    gsock__set_str(&priv->peername, priv->path);
    priv->conn_err = err;
    if (err != EAGAIN) {
        priv->retry_at = 0;
        return err == 0;
    }
    priv->retry_ms = priv->retry_ms ? priv->retry_ms * 2 : 5;
    if (priv->retry_ms > 200)
        priv->retry_ms = 200;
    priv->retry_at = gobj_loop_now_msec() + priv->retry_ms;
    return true;
}

/* Report a failed connect on a later turn (through the timer, which a close
 * or a destroy cancels), so that it never arrives inside EV_CONNECT. */
void gsock__defer_failure(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->connect_deadline = gobj_loop_now_msec();
    gsock__rearm_timer(gobj);
}

void gsock__connect_failed(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    char reason[200];
    if (priv->gai_err) {
        char why[320];
        snprintf(why, sizeof why, "cannot resolve '%s': %s", priv->host ? priv->host : "",
                 evutil_gai_strerror(priv->gai_err));
        gsock__sock_close(gobj, why, 0);
    } else if (priv->conn_err) {
        snprintf(reason, sizeof reason, "connect failed: %s", strerror(priv->conn_err));
        gsock__sock_close(gobj, reason, priv->conn_err);
    } else {
        gsock__sock_close(gobj, "connect timeout", ETIMEDOUT);
    }
}

/* A unique name first (services), then a full name from the roots. */
static gobj_t *resolve(const char *name)
{
    gobj_t *g = gobj_find_unique(name);
    return g ? g : gobj_find_path(NULL, name);
}

int gsock__subscribe_subscriber(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->subscribed)
        return 0;
    bool named = priv->subscriber && *priv->subscriber;
    gobj_t *sub = named ? resolve(priv->subscriber) : gobj_parent(gobj);
    if (!sub)
        return named ? GOBJ_ENOENT : 0;
    if (sub == gobj) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: the sock cannot be its own subscriber", NULL);
        return GOBJ_EINVAL;
    }
    /* One subscription per output event, not one for all of them: an
     * all-events subscription would also deliver EV_STATE_CHANGED, which a
     * subscriber does not expect. */
    const gobj_event_t evs[] = {EV_CONNECTED, EV_RX_DATA, EV_TRANSMIT_READY, EV_DISCONNECTED,
                                EV_RX_EOF};
    /* EV_RX_EOF only with half_close: without it nothing publishes it. */
    size_t n = sizeof evs / sizeof evs[0] - (priv->half_close ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        int rc = gobj_subscribe_event(gobj, evs[i], NULL, sub);
        if (rc < 0 && rc != GOBJ_EEXIST)
            return rc;
    }
    priv->subscribed = true;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Glue for GServerSock
 *---------------------------------------------------------------------*/
void gsock__link_release(gsock_srv_link_t *link)
{
    if (link && --link->refs == 0)
        free(link);
}

int gsock__adopt(gobj_t *sock, int fd, const struct sockaddr *peer, socklen_t peerlen,
                 const char *sockname, gsock_srv_link_t *link, gsock_tls_ctx_t *tls)
{
    sock_priv_t *priv = gobj_priv(sock);
    if (!priv || priv->fd >= 0 || priv->session) {
        close(fd);
        return GOBJ_ESTATE;
    }
    priv->fd = fd;
    gsock_transport__plain_init(&priv->plain, fd);
    priv->tr = &priv->plain;
    int rc = gsock__make_events(sock);
    if (rc < 0) {
        gsock__free_events(priv);
        close(fd);
        priv->fd = -1;
        priv->tr = NULL;
        return rc;
    }
    char buf[GSOCK_ADDRSTRLEN];
    gsock__set_str(&priv->peername, gsock__format_addr(peer, peerlen, buf, sizeof buf));
    if (sockname)
        gsock__set_str(&priv->sockname, sockname);
    else
        gsock__load_names(sock, false, true);
    gsock__set_nodelay(fd, peer->sa_family);
    priv->peer_uid = priv->peer_pid = -1;
    if (peer->sa_family == AF_UNIX) {
        /* Who is on the other end (a control socket admits its own uid). */
        struct ucred cred;
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
            priv->peer_uid = (int64_t)cred.uid;
            priv->peer_pid = (int64_t)cred.pid;
        }
    }
    priv->link = link;
    link->refs++;
    /* A TLS connection owes its subscriber nothing until the handshake
     * completes: one that fails is never announced. */
    priv->tls_ctx = gsock_tls__ctx_ref(tls);
    priv->session = !tls;
    return 0;
}

/* Check and store the destination.  Returns 0 or an error (logged). */
int gsock__connect_args(gobj_t *gobj, json_t *kw)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (!gobj_is_running(gobj)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: EV_CONNECT on a GSock that is not started", NULL);
        return GOBJ_ESTATE;
    }
    json_t *jhost = json_object_get(kw, "host");
    json_t *jport = json_object_get(kw, "port");
    json_t *jpath = json_object_get(kw, "path");
    if ((jhost && !json_is_string(jhost)) || (jport && !json_is_integer(jport)) ||
        (jpath && !json_is_string(jpath))) {
        gobj_log(GOBJ_LOG_ERROR, gobj,
                 "GSock: EV_CONNECT expects {host?: string, port?: int, path?: string}", NULL);
        return GOBJ_ETYPE;
    }
    if (jhost)
        gsock__set_str(&priv->host, json_string_value(jhost));
    if (jport)
        priv->port = json_integer_value(jport);
    if (jpath)
        gsock__set_str(&priv->path, json_string_value(jpath));

    bool use_path = priv->path && *priv->path;
    if (!use_path && (!priv->host || !*priv->host || priv->port <= 0 || priv->port > 65535)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: EV_CONNECT needs a path, or a host and a port",
                 "host", json_string(priv->host ? priv->host : ""), "port",
                 json_integer(priv->port), NULL);
        return GOBJ_EINVAL;
    }
    if (use_path && strlen(priv->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: the unix socket path is too long", "path",
                 json_string(priv->path), NULL);
        return GOBJ_EINVAL;
    }
    return 0;
}

/*---------------------------------------------------------------------*
 *  Sessions (sock_internal.h)
 *---------------------------------------------------------------------*/
void gsock__bind_session(gobj_t *sock, gobj_t *session, gsock_srv_link_t *link)
{
    sock_priv_t *priv = gobj_priv(sock);
    priv->session_of = session;
    priv->session_link = link;
    link->refs++;
}

gobj_t *gsock__session_of(gobj_t *sock)
{
    sock_priv_t *priv = gobj_priv(sock);
    return priv ? priv->session_of : NULL;
}

void gsock__session_opened(gobj_t *sock)
{
    sock_priv_t *priv = gobj_priv(sock);
    if (priv)
        priv->session_opened = true;
}

void gsock__session_end(gobj_t *sock)
{
    sock_priv_t *priv = gobj_priv(sock);
    gobj_t *session = priv->session_of;
    gsock_srv_link_t *link = priv->session_link;
    if (session && !gobj_is_destroying(session)) {
        gobj_t *server = link->server;
        if (priv->session_opened && server && !gobj_is_destroying(server)) {
            json_t *kw = json_object();
            json_object_set_new(kw, "peername", json_string(priv->peername ? priv->peername : ""));
            json_object_set_new(kw, "sockname", json_string(priv->sockname ? priv->sockname : ""));
            json_object_set_new(kw, "reason", json_string("GSock destroyed"));
            gobj_send_event(server, EV_SRVSOCK_SESSION_GONE, kw, sock);
        }
        gobj_destroy(session);
    }
    priv->session_of = NULL;
    priv->session_link = NULL;
    gsock__link_release(link);
}
