/*
 * sock_priv.h - private: GSock's private data and the helpers its files
 * share.  c_sock.c is the gclass (contract, methods, actions, machine);
 * sock_io.c moves bytes (the loop events, the transmit queue, backpressure,
 * the traffic trace); sock_connect.c connects a client and adopts an
 * accepted descriptor; sock_eyeballs.c races a client's addresses (RFC
 * 8305).  The bytes themselves go through transport.h.
 */
#ifndef GINSFSM_GOBJS_SOCK_PRIV_H
#define GINSFSM_GOBJS_SOCK_PRIV_H

#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>

#include "ginsfsm/gobjs.h"
#include "framing.h"
#include "ginsfsm/loop.h"
#include "sock_internal.h"
#include "tls.h"
#include "transport.h"

/* Internal input events (c_sock.c has the list with their kw). */
GOBJ_DECLARE_EVENT(EV_GSOCK_READABLE);
GOBJ_DECLARE_EVENT(EV_GSOCK_WRITABLE);
GOBJ_DECLARE_EVENT(EV_GSOCK_TIMER);
GOBJ_DECLARE_STATE(ST_HANDSHAKE);

/* A client's name resolution in flight (sock_resolve.c). */
typedef struct gsock_resolve gsock_resolve_t;
/* A client's race of connect attempts (sock_eyeballs.c). */
typedef struct gsock_eyeballs gsock_eyeballs_t;

/* At most this many queued strings go to one sendmsg. */
#define TX_IOV_MAX 64

/*---------------------------------------------------------------------*
 *  Private data
 *---------------------------------------------------------------------*/
/* A queued string and how much of it was already written. */
typedef struct {
    json_t *str;
    size_t off;
} txq_item_t;

typedef struct {
    /* Attributes. */
    char *host;
    int64_t port;
    char *path;
    json_t *ssl_options;
    int64_t connect_timeout;
    int64_t happy_eyeballs_delay;
    int64_t inactivity_timeout;
    int64_t tx_high_water;
    int64_t drop_timeout;
    char *subscriber;
    int64_t rx_bytes;
    int64_t rx_msgs;
    int64_t tx_bytes;
    int64_t tx_msgs;
    int64_t tx_queued;
    char *peername;
    char *sockname;
    int64_t peer_uid; /* accepted on a unix socket: the peer's uid (SO_PEERCRED), else -1 */
    int64_t peer_pid;
    char *framing; /* framing: see framing.h; read at create and at each connection */
    char *delimiter;
    bool keep_delimiter;
    int64_t max_frame;
    int64_t length_bytes;
    char *length_endian;
    bool length_includes_header;
    bool half_close; /* the peer's FIN is EV_RX_EOF, the write side stays open */

    /* Run time. */
    gobj_t *self;
    int fd;                   /* -1 when closed */
    struct event *rev, *wev;  /* read (persistent) and write (while queued) */
    gobj_loop_timer_t *timer; /* connect, inactivity and drop deadlines */
    txq_item_t *q;            /* ring of queued strings */
    uint32_t q_head, q_len, q_cap;
    struct addrinfo *ai_list; /* client connect: the addresses to try */
    struct addrinfo *ai_next;
    gsock_resolve_t *dns;           /* client connect: the name being resolved */
    bool dns_done;                  /* ... its answer is in (ai_list or gai_err) */
    gsock_eyeballs_t *eb;           /* client connect: the attempts racing (fd is -1) */
    gsock_srv_link_t *link;         /* accepted: shared with the server until close */
    gobj_t *session_of;             /* accepted into a session: the session */
    gsock_srv_link_t *session_link; /* ... and a link reference until destroy */
    bool session_opened;            /* ... whose subscriber heard of it */
    uint64_t last_activity;         /* ms, kept only with an inactivity_timeout */
    uint64_t connect_deadline;
    uint64_t drop_deadline;     /* 0 = none */
    const char *closing_reason; /* ST_CLOSING: the reason the close will give */
    int conn_err;               /* client: the last connect error (errno) */
    int gai_err;                /* client: the resolver's error (EVUTIL_EAI_*) */
    bool session;               /* EV_DISCONNECTED is owed */
    bool connected;             /* EV_CONNECTED was published this session */
    bool reading;               /* rev is added */
    bool writing;               /* wev is added */
    bool rx_paused;             /* above tx_high_water */
    bool rx_eof;                /* the peer shut its write side */
    bool rx_held;               /* EV_PAUSE_RX: the subscriber holds reading */
    bool tx_shut_wanted;        /* EV_SHUTDOWN: shut the write side once drained */
    bool tx_shut;               /* ... done: FIN (and close_notify) sent */
    bool subscribed;
    bool in_call;      /* inside EV_SEND_DATA, EV_DROP or mt_stop */
    bool corked;       /* delivering one read's frames: sends queue, written at its end */
    json_t *owed;      /* an EV_DISCONNECTED kw posted for a later turn */
    uint32_t retry_ms; /* unix connect: the backoff while the backlog is full */
    uint64_t retry_at; /* unix connect: the next try (0 = none) */

    /* The bytes go through a stack of transports (transport.h): the plain
     * layer on the descriptor at the bottom, TLS on it when tls_ctx is set. */
    gsock_transport_t plain;  /* the bottom layer, valid while fd >= 0 */
    gsock_transport_t *tr;    /* the top layer; NULL while closed */
    gsock_tls_ctx_t *tls_ctx; /* the client's own, or the server's (a reference) */
    uint64_t hs_deadline;     /* ST_HANDSHAKE: handshake_timeout */
    bool rx_wants_write;      /* a read must wait for writability (TLS key update) */
    gsock_framer_t *framer;   /* NULL with framing "none" (the hot path's one branch) */
} sock_priv_t;

/* sock_io.c */
void gsock__set_str(char **field, const char *value);
void gsock__load_names(gobj_t *gobj, bool peer, bool self);
int gsock__txq_push(sock_priv_t *priv, json_t *str, size_t off);
void gsock__txq_clear(sock_priv_t *priv);
void gsock__txq_consume(sock_priv_t *priv, size_t n);
void gsock__rx_enable(sock_priv_t *priv, bool on);
void gsock__tx_enable(sock_priv_t *priv, bool on);
int gsock__make_events(gobj_t *gobj);
void gsock__free_events(sock_priv_t *priv);
void gsock__rearm_timer(gobj_t *gobj);
void gsock__trace_traffic(gobj_t *gobj, const char *dir, const char *p, size_t n);
void gsock__trace_iov(gobj_t *gobj, const char *dir, const struct iovec *iov, int cnt, size_t n);
void gsock__trace_shown(gobj_t *gobj, const char *dir, const char *p, size_t shown, size_t n);
void gsock__check_high_water(sock_priv_t *priv);
/* c_sock.c: the end of a batch of frames (or a batch that queued much):
 * write what its sends queued, together. */
void gsock__uncork(gobj_t *gobj);
/* A send queued while corked: uncork past GSOCK_CORK_MAX bytes.  Returns
 * what EV_SEND_DATA returns. */
int gsock__corked_push(gobj_t *gobj);
#define GSOCK_CORK_MAX 65536
/* What EV_SEND_DATA returns once the data is queued: the bytes queued. */
static inline int gsock__queued_ret(const sock_priv_t *priv)
{
    return priv->tx_queued > INT_MAX ? INT_MAX : (int)priv->tx_queued;
}
void gsock__check_low_water(gobj_t *gobj);
int gsock__write_errno(ssize_t n, int err);
int gsock__flush_queue(gobj_t *gobj);
int gsock__send_framed(gobj_t *gobj, json_t *data, size_t len);

static inline void gsock__touch(sock_priv_t *priv)
{
    /* Only kept when needed: a vDSO clock read, but still work per message. */
    if (priv->inactivity_timeout > 0)
        priv->last_activity = gobj_loop_now_msec();
}

/* sock_connect.c */
void gsock__set_nodelay(int fd, int family);
int gsock__connect_one(gobj_t *gobj, const struct sockaddr *sa, socklen_t len);
bool gsock__connect_next(gobj_t *gobj);
bool gsock__connect_unix(gobj_t *gobj);
void gsock__defer_failure(gobj_t *gobj);
void gsock__connect_failed(gobj_t *gobj);
int gsock__subscribe_subscriber(gobj_t *gobj);
int gsock__connect_args(gobj_t *gobj, json_t *kw);

/* sock_resolve.c: a numeric host is converted at once and its connect
 * started; a name is resolved on the loop.  Returns true if a connect or a
 * resolution is under way; else gai_err or conn_err holds the error. */
bool gsock__resolve_start(gobj_t *gobj, const char *port);
/* Cancel the resolution, if any (the GSock closes or is destroyed). */
void gsock__resolve_cancel(sock_priv_t *priv);
/* ST_WAIT_CONNECTED's timer while resolving: the answer came (try the
 * addresses, or report the failure), or connect_timeout passed.  Returns
 * false if no resolution is involved. */
bool gsock__resolve_timer(gobj_t *gobj);

/* sock_eyeballs.c: Happy Eyeballs (RFC 8305).  Order the resolved
 * addresses (IPv6 first, then alternating) and connect: a race of staggered
 * attempts with happy_eyeballs_delay > 0 and several addresses, else one
 * after another.  Returns true if a connect is under way; else conn_err
 * holds the error. */
bool gsock__eyeballs_connect(gobj_t *gobj);
/* Close every attempt in flight and free the race, if any. */
void gsock__eyeballs_cancel(sock_priv_t *priv);
/* When the next attempt is due (ms, loop clock), or 0. */
uint64_t gsock__eyeballs_due(const sock_priv_t *priv);
/* ST_WAIT_CONNECTED, racing: an attempt's connect finished.  Returns true
 * if one won (it is now priv->fd); false if the race goes on or was lost
 * (then EV_DISCONNECTED was published). */
bool gsock__eyeballs_writable(gobj_t *gobj);
/* ST_WAIT_CONNECTED's timer while racing: the next attempt's turn, or
 * connect_timeout.  Returns false if no race is under way. */
bool gsock__eyeballs_timer(gobj_t *gobj);

/* sock_flow.c: the subscriber's hold on reading (EV_PAUSE_RX,
 * EV_RESUME_RX) and the half-close (half_close, EV_RX_EOF, EV_SHUTDOWN). */
/* Should reading be on now, as far as the GSock's own state goes? */
static inline bool gsock__rx_wanted(const sock_priv_t *priv)
{
    return !priv->rx_paused && !priv->rx_held && !priv->rx_eof;
}
int gsock__ac_pause_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
int gsock__ac_resume_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
int gsock__ac_shutdown(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
/* The peer's end of the stream with half_close: true when it was handled
 * (EV_RX_EOF published, or the connection closed), false to close as
 * without half_close. */
bool gsock__peer_eof_half(gobj_t *gobj, const char *reason);
/* The queue is empty: shut the write side if EV_SHUTDOWN asked for it.
 * Returns true if the connection was closed (both sides done). */
bool gsock__shut_if_wanted(gobj_t *gobj);
/* EV_SEND_DATA after EV_SHUTDOWN: refused with a log. */
int gsock__send_after_shutdown(gobj_t *gobj);

/* sock_attrs.c */
extern const gobj_attr_t gsock__attrs[];
int gsock__apply_framing(gobj_t *gobj);
int gsock__mt_check(const json_t *attrs, char *why, size_t why_len);

/* sock_rx.c */
int gsock__ac_read(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);

/* c_sock.c */
void gsock__sock_close(gobj_t *gobj, const char *reason, int err);
void gsock__graceful_close(gobj_t *gobj, const char *reason);
void gsock__close_on_error(gobj_t *gobj, int err);
void gsock__close_in_send(gobj_t *gobj, int err);
void gsock__release_fd(gobj_t *gobj);
void gsock__go_connected(gobj_t *gobj);

/* sock_handshake.c */
void gsock__start_transport(gobj_t *gobj);
int gsock__ac_handshake(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);
int gsock__ac_handshake_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src);

#endif /* GINSFSM_GOBJS_SOCK_PRIV_H */
