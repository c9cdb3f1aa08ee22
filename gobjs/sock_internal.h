/*
 * sock_internal.h - private glue between GServerSock (c_srv_sock.c) and
 * GSock (c_sock.c).  Nothing here is exported: the library is built with
 * -fvisibility=hidden and these names are not in a public header.
 */
#ifndef GINSFSM_SOCK_INTERNAL_H
#define GINSFSM_SOCK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ginsfsm/gobjs.h"
#include "tls.h"

/* Internal input events, declared here because the other file sends them.
 * EV_GSOCK_ACCEPTED   GServerSock -> GSock: the adopted descriptor is live.
 * EV_SRVSOCK_GSOCK_CLOSED  GSock -> GServerSock: one of its connections
 *                     closed (the server may accept again).
 * EV_SRVSOCK_SESSION_GONE  GSock -> GServerSock: a session's GSock is being
 *                     destroyed without its EV_DISCONNECTED having reached the
 *                     session, after the subscriber heard EV_SESSION_OPENED:
 *                     kw {peername, sockname, reason}; the server tells the
 *                     subscriber EV_SESSION_CLOSED (gsock__session_of(src)). */
GOBJ_DECLARE_EVENT(EV_GSOCK_ACCEPTED);
GOBJ_DECLARE_EVENT(EV_SRVSOCK_GSOCK_CLOSED);
GOBJ_DECLARE_EVENT(EV_SRVSOCK_SESSION_GONE);

/* Defined in the gclass files, listed by builtins.c. */
extern const gclass_def_t gobj__gsock_def;
extern const gclass_def_t gobj__gserversock_def;

/*
 * The count of open connections is shared by a server and the GSocks it
 * accepted, so that either side may be destroyed first: the server holds one
 * reference and each GSock holds one until its connection closes.  server is
 * cleared when the server is destroyed.
 */
typedef struct gsock_srv_link {
    unsigned refs;
    int64_t n_open;
    int64_t tls_failures; /* handshakes that failed or timed out */
    gobj_t *server;
} gsock_srv_link_t;

/* Drop one reference; the last frees the link. */
void gsock__link_release(gsock_srv_link_t *link);

/*
 * Hand an accepted descriptor to a freshly created GSock (ST_DISCONNECTED).
 * The GSock owns fd from now on, on every path.  peer/peerlen is what
 * accept4 returned; sockname, when not NULL, is the listener's own address
 * (known when the listener is not bound to a wildcard address, which saves
 * a getsockname per connection).  link gets a reference and n_open is
 * counted by the caller.  tls, when not NULL, is the server's TLS context
 * (the GSock takes a reference) and the GSock runs the handshake before it
 * publishes anything.  The caller then starts the GSock and sends it
 * EV_GSOCK_ACCEPTED, which publishes EV_CONNECTED (after the handshake).
 * Returns: 0, or a negative code (fd closed, nothing referenced).
 */
int gsock__adopt(gobj_t *sock, int fd, const struct sockaddr *peer, socklen_t peerlen,
                 const char *sockname, gsock_srv_link_t *link, gsock_tls_ctx_t *tls);

/*
 * Sessions: a session lives exactly as long as its connection's GSock.  The
 * GSock holds a reference to the link until it is destroyed; when it is
 * destroyed while its session is not (a TLS handshake that failed or was
 * cut short by a stop, the session destroying its GSock), it destroys the
 * session too, first sending the server EV_SRVSOCK_SESSION_GONE if the
 * subscriber heard EV_SESSION_OPENED of it.  (Destroy is children first:
 * the session is still in memory when its GSock is reaped.)
 */
void gsock__bind_session(gobj_t *sock, gobj_t *session, gsock_srv_link_t *link);
/* The session of a GSock being destroyed, or NULL. */
gobj_t *gsock__session_of(gobj_t *sock);
/* The subscriber heard EV_SESSION_OPENED of this GSock's session. */
void gsock__session_opened(gobj_t *sock);
/* Called by GSock's mt_destroy. */
void gsock__session_end(gobj_t *sock);

/*
 * Print an address as "127.0.0.1:7000", "[::1]:7000", "[fe80::1%lo]:7000" (a
 * scope id: the interface name, or its index) or the unix path ("" for
 * an unnamed unix socket).  IPv4-mapped IPv6 addresses print as IPv4.
 * Returns: buf.
 */
char *gsock__format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

/* Close a connected socket without a reset that would make the peer lose
 * data it has not read yet: shut it for writing, discard what still arrives
 * until the peer closes or a short time passes, then close (linger.c).
 * Takes the descriptor. */
void gsock__close_lingering(int fd);

/* Large enough for any formatted address, including a unix path. */
#define GSOCK_ADDRSTRLEN 128

#endif /* GINSFSM_SOCK_INTERNAL_H */
