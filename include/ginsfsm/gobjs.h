/*
 * ginsfsm/gobjs.h - the built-in gclasses: their names, events and helpers.
 */
#ifndef GINSFSM_GOBJS_H
#define GINSFSM_GOBJS_H

#include "gobj.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Register every built-in gclass (idempotent).  Returns: 0 or an error. */
int gobj_register_builtin_gclasses(void);

/*--------------------------------------------------------------------------*
 *  GTimer
 *  attrs: msec (int, ms), periodic (bool), subscriber (string: full name;
 *         default the parent)
 *  in:  EV_SET_TIMER {msec, periodic}  (re-arms; missing keys keep the attrs)
 *       EV_STOP_TIMER {}
 *  out: EV_TIMER_TIMEOUT {}            (published; the subscriber gets it)
 *--------------------------------------------------------------------------*/
/* The output event is EV_TIMER_TIMEOUT, not ginsfsm's EV_TIMEOUT: libevent's
 * <event2/event.h> #defines EV_TIMEOUT, and gclass code includes both. */
#define GCLASS_GTIMER_NAME "GTimer"
GOBJ_DECLARE_EVENT(EV_SET_TIMER);
GOBJ_DECLARE_EVENT(EV_STOP_TIMER);
GOBJ_DECLARE_EVENT(EV_TIMER_TIMEOUT);
GOBJ_DECLARE_STATE(ST_IDLE);
GOBJ_DECLARE_STATE(ST_ARMED);

/*--------------------------------------------------------------------------*
 *  GSock: one stream connection (TCP over IPv4/IPv6, or a unix socket).
 *  attrs: host, port, path (unix), ssl_options (reserved for TLS),
 *         connect_timeout (ms, 10000), inactivity_timeout (ms, 0 = off),
 *         tx_high_water (bytes, 1048576), drop_timeout (ms, 5000),
 *         subscriber (string; default the parent),
 *         framing ("none" | "line" | "length"), delimiter ("\n"; "\r\n" also
 *         takes a bare "\n"), keep_delimiter (false), max_frame (65536),
 *         length_bytes (1|2|4|8, 4), length_endian ("big" | "little"),
 *         length_includes_header (false); checked at create, read again
 *         at each connection
 *  stats: rx_bytes, rx_msgs, tx_bytes, tx_msgs, tx_queued (msgs: frames
 *         when framing is on)
 *  volatile: peername, sockname ("127.0.0.1:7000", "[::1]:7000", a path)
 *  in:  EV_CONNECT {host?, port?, path?}   client side: connect
 *       EV_SEND_DATA {data}                 data: a JSON string (binary-safe);
 *                                           framing: one frame, delimiter or
 *                                           header added; > max_frame is
 *                                           refused (GOBJ_EINVAL), not sent
 *       EV_DROP {}                          flush pending output, then close
 *       EV_PAUSE_RX {} / EV_RESUME_RX {}    hold reading / let it go on
 *       EV_SHUTDOWN {}                      nothing more to send: FIN once
 *                                           the queue is written (after
 *                                           EV_RX_EOF: close once written)
 *  out (published; the subscriber is subscribed at create):
 *       EV_CONNECTED {peername, sockname}
 *       EV_RX_DATA {data}                   use json_string_length(data);
 *                                           framing: exactly one whole frame
 *       EV_TRANSMIT_READY {}                queued output has drained
 *       EV_RX_EOF {}                        half_close: the peer's FIN
 *       EV_DISCONNECTED {peername, sockname, reason, errno?}
 *                                           exactly once per EV_CONNECTED
 *                                           (or per failed EV_CONNECT);
 *                                           framing adds the reasons "frame
 *                                           too large", "truncated frame",
 *                                           "invalid frame length"
 *--------------------------------------------------------------------------*/
#define GCLASS_GSOCK_NAME "GSock"
GOBJ_DECLARE_EVENT(EV_CONNECT);
GOBJ_DECLARE_EVENT(EV_SEND_DATA);
GOBJ_DECLARE_EVENT(EV_DROP);
GOBJ_DECLARE_EVENT(EV_CONNECTED);
GOBJ_DECLARE_EVENT(EV_RX_DATA);
GOBJ_DECLARE_EVENT(EV_TRANSMIT_READY);
GOBJ_DECLARE_EVENT(EV_DISCONNECTED);
GOBJ_DECLARE_EVENT(EV_PAUSE_RX);
GOBJ_DECLARE_EVENT(EV_RESUME_RX);
GOBJ_DECLARE_EVENT(EV_SHUTDOWN);
GOBJ_DECLARE_EVENT(EV_RX_EOF);
GOBJ_DECLARE_STATE(ST_DISCONNECTED);
GOBJ_DECLARE_STATE(ST_WAIT_CONNECTED);
GOBJ_DECLARE_STATE(ST_CONNECTED);
GOBJ_DECLARE_STATE(ST_CLOSING);

/*--------------------------------------------------------------------------*
 *  GServerSock: listens and turns each accepted connection into a GSock
 *  named "<server-name>.clisrv_<n>", a child of the subscriber, which gets
 *  that GSock's EV_CONNECTED {peername, sockname} (src = the GSock).
 *  attrs: host ("" = 0.0.0.0 and ::), port (0 = the kernel's choice; reads
 *         back the bound port after start), ports + use_multi_ports,
 *         path (unix), backlog (4096), max_connections (0 = unlimited),
 *         subscriber (string; default the parent), ssl_options (reserved)
 *  stats: n_gsocks (open now), total_accepted
 *  gobj_start binds (all or nothing) and accepts; gobj_stop stops accepting
 *  but keeps the sockets bound; destroy closes them.
 *  States: ST_IDLE (nothing bound), ST_LISTENING, ST_PAUSED.
 *
 *  Sessions (session_gclass set): each connection becomes a gobj of that
 *  gclass named "<server-name>.clisrv_<n>", a child of the subscriber,
 *  created with session_attrs, owning its GSock child "sock" (created with
 *  gsock_attrs; the session is its subscriber).  The server sends its
 *  subscriber, if the subscriber's gclass declares them as input events
 *  (src = the session):
 *       EV_SESSION_OPENED {session (full name), peername, sockname}
 *                          after the session got EV_CONNECTED
 *       EV_SESSION_CLOSED {session, peername, sockname, reason}
 *                          after the session handled EV_DISCONNECTED; the
 *                          server then destroys the session (deferred).
 *  A session destroyed earlier gets no EV_SESSION_CLOSED.
 *  more attrs: session_gclass, session_attrs ({}), gsock_attrs ({}, also
 *  without sessions); stats: n_sessions, session_failures.
 *--------------------------------------------------------------------------*/
#define GCLASS_GSERVERSOCK_NAME "GServerSock"
GOBJ_DECLARE_EVENT(EV_SESSION_OPENED);
GOBJ_DECLARE_EVENT(EV_SESSION_CLOSED);
GOBJ_DECLARE_STATE(ST_LISTENING);
GOBJ_DECLARE_STATE(ST_PAUSED);

/*--------------------------------------------------------------------------*
 *  GConnex: a client connection kept up over a list of destinations.
 *  Owns one GSock child ("sock", a new one per attempt) and republishes its
 *  events with "connex" (the GConnex's full name) added to the kw.
 *  attrs: destinations ([{host, port} | {path}, each with ssl_options?]),
 *         ssl_options ({}), gsock_attrs ({}: framing, ...; checked as a
 *         GSock's create kw), connect_timeout (ms, 10000),
 *         inactivity_timeout (ms, 0 = off), backoff_initial (ms, 500),
 *         backoff_max (ms, 30000), backoff_jitter (0..1, 0.2), max_retries
 *         (0 = for ever), stable_after (ms, 5000: a connection that ends
 *         sooner does not reset the wait), tx_queue_max (bytes, 1048576), disabled (false;
 *         writable: true drops and stops retrying, false resumes),
 *         subscriber (string; default the parent)
 *  stats: n_attempts, n_failures, n_connects, n_refused, tx_queued
 *  in:  EV_CONNECT {}          connect now, resetting the backoff
 *       EV_SEND_DATA {data}    connected: to the GSock; else queued up to
 *                              tx_queue_max bytes, then refused (-ENOSPC)
 *       EV_DROP {}             drop now; reconnect after the backoff
 *       EV_PAUSE_RX {} / EV_RESUME_RX {}   hold reading (kept across
 *                              connections until resumed)
 *       EV_SHUTDOWN {}         the GSock's; while down, for the next connection
 *  out (published; the subscriber is subscribed at create):
 *       EV_CONNECTED {peername, sockname, tls?, connex}
 *       EV_RX_DATA {data, connex}
 *       EV_TRANSMIT_READY {connex}
 *       EV_RX_EOF {connex}     gsock_attrs half_close: the peer's end
 *       EV_DISCONNECTED {peername, sockname, reason, errno?, connex}
 *                              only after EV_CONNECTED, one per connection
 *       EV_CONNEX_GAVE_UP {destinations, attempts, connex}
 *                              after max_retries failed attempts in a row
 *  States: ST_IDLE, ST_WAIT_RETRY, ST_WAIT_CONNECTED, ST_CONNECTED.
 *--------------------------------------------------------------------------*/
#define GCLASS_GCONNEX_NAME "GConnex"
GOBJ_DECLARE_EVENT(EV_CONNEX_GAVE_UP);
GOBJ_DECLARE_STATE(ST_WAIT_RETRY);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GINSFSM_GOBJS_H */
