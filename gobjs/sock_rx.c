/*
 * sock_rx.c - GSock: the receive path.  A read takes what the transport
 * has; with framing "none" it is published as one EV_RX_DATA, otherwise the
 * frame cutter (framing.h) cuts it into frames, each published as its own
 * EV_RX_DATA, all from that one read.  Also the peer's end of the stream.
 *
 * Delivering a batch of frames checks, before each frame, that the
 * subscriber still wants them: a subscriber that destroys, stops or drops
 * the GSock inside its EV_RX_DATA ends the batch at once (the rest is
 * dropped), and one whose sends pushed the queue above tx_high_water pauses
 * it: the rest of the read is kept (the stash) and delivered when reading
 * resumes, before the socket is read again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "framing.h"
#include "ginsfsm/log.h"
#include "internal.h" /* gobj__trace_any: one branch per message when tracing is off */
#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>

/* One buffer for the process: the bytes are copied into the JSON strings
 * (or the framer's partial frame) before anything else can run. */
static char rxbuf[64 * 1024];

static void publish_rx(gobj_t *gobj, const char *buf, size_t n)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->rx_bytes += (int64_t)n;
    priv->rx_msgs++;
    gsock__touch(priv);
    if (GOBJ_UNLIKELY(gobj__trace_any) && gobj_is_tracing(gobj, GOBJ_TRACE_TRAFFIC))
        gsock__trace_traffic(gobj, "rx", buf, n);
    json_t *out = json_object();
    json_object_set_new_nocheck(out, "data", json_stringn_nocheck(buf, n));
    gobj_publish_event(gobj, EV_RX_DATA, out);
}

/* The peer will send nothing more (FIN, or TLS close_notify): stop reading
 * and close once the replies are written. */
static void peer_closed(gobj_t *gobj, const char *reason)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (gsock__peer_eof_half(gobj, reason))
        return; /* EV_RX_EOF: the subscriber ends it (sock_flow.c) */
    priv->rx_eof = true;
    gsock__rx_enable(priv, false);
    if (priv->q_len == 0) {
        gsock__sock_close(gobj, reason, 0);
    } else {
        priv->closing_reason = reason;
        gobj_change_state(gobj, ST_CLOSING);
    }
}

/* Read what the transport has, up to the buffer: one read on a plain
 * socket; under TLS, the records OpenSSL holds are drained too, and what
 * does not fit (or an end found after data) stays pending and is read on
 * the next turn, without waiting for the socket.  Returns the bytes read;
 * when none, *np is the transport's answer. */
static inline size_t read_some(sock_priv_t *priv, ssize_t *np, int *err)
{
    gsock_transport_t *tr = priv->tr;
    size_t got = 0;
    ssize_t n;
    for (;;) {
        n = gsock_transport__read(tr, rxbuf + got, sizeof rxbuf - got, err);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof rxbuf || !gsock_transport__pending(tr))
            break;
    }
    if (GOBJ_UNLIKELY(n == GSOCK_IO_WANT_WRITE)) {
        priv->rx_wants_write = true; /* a TLS key update must be answered first */
        gsock__tx_enable(priv, true);
    }
    if (got && gsock_transport__pending(tr))
        event_active(priv->rev, EV_READ, 0);
    *np = n;
    return got;
}

/* A read found no bytes: the end of the stream, an error, or nothing yet. */
static void read_ended(gobj_t *gobj, ssize_t n, int err, bool truncated)
{
    if (n == GSOCK_IO_CLOSED) {
        /* The reason string must outlive this frame (ST_CLOSING keeps it). */
        peer_closed(gobj, truncated                                   ? "truncated frame"
                          : strcmp(gsock__io_why, "peer closed") == 0 ? "peer closed"
                                                                      : "connection closed");
    } else if (n == GSOCK_IO_ERROR) {
        if (err) {
            gsock__close_on_error(gobj, err);
        } else {
            char reason[300];
            snprintf(reason, sizeof reason, "TLS error: %s", gsock__io_why);
            gsock__sock_close(gobj, reason, 0);
        }
    }
}

/*---------------------------------------------------------------------*
 *  Framing
 *---------------------------------------------------------------------*/
/* Cut p[0..n) into frames and publish each while the subscriber lets the
 * batch go on; what is left when reading was paused is stashed. */
static void cut_and_publish(gobj_t *gobj, sock_priv_t *priv, const char *p, size_t n)
{
    gsock_framer_t *fr = priv->framer;
    while (n) {
        /* The subscriber's last EV_RX_DATA may have destroyed, stopped,
         * dropped (reading off, or the descriptor closed) or paused it. */
        if (!priv->reading || gobj_is_destroying(gobj)) {
            if ((priv->rx_paused || priv->rx_held) && priv->fd >= 0 && !gobj_is_destroying(gobj) &&
                gsock_framer__stash(fr, p, n) < 0) {
                gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: out of memory keeping frames", NULL);
                gsock__close_on_error(gobj, ENOMEM);
            }
            return;
        }
        size_t used;
        const char *frame = NULL;
        size_t flen = 0;
        int r = gsock_framer__cut(fr, p, n, &used, &frame, &flen);
        if (r == 0)
            return; /* a partial frame, kept by the framer */
        if (r < 0) {
            if (r == GSOCK_FRAME_NOMEM) {
                gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: out of memory buffering a frame", NULL);
                gsock__close_on_error(gobj, ENOMEM);
            } else {
                gsock__sock_close(
                    gobj, r == GSOCK_FRAME_TOO_LARGE ? "frame too large" : "invalid frame length",
                    0);
            }
            return;
        }
        p += used;
        n -= used;
        priv->rx_msgs++;
        json_t *out = json_object();
        json_object_set_new_nocheck(out, "data", json_stringn_nocheck(frame, flen));
        gobj_publish_event(gobj, EV_RX_DATA, out);
    }
}

/* The frames of one read are delivered corked: the replies they cause go
 * out together at the end (gsock__uncork). */
static void deliver_frames(gobj_t *gobj, sock_priv_t *priv, const char *p, size_t n)
{
    priv->corked = true;
    cut_and_publish(gobj, priv, p, n);
    if (priv->corked)
        gsock__uncork(gobj);
}

/* framing "line" or "length": the frames kept while reading was paused
 * first, then a read. */
static int read_framed(gobj_t *gobj, sock_priv_t *priv)
{
    gsock_framer_t *fr = priv->framer;
    if (fr->stash_len) {
        /* Taken out of the stash first: a new pause stashes what is left
         * again (moved to the front). */
        size_t n = fr->stash_len;
        fr->stash_len = 0;
        deliver_frames(gobj, priv, fr->stash, n);
        if (!priv->reading || gobj_is_destroying(gobj) || fr->stash_len)
            return 0;
    }
    ssize_t n;
    int err = 0;
    size_t got = read_some(priv, &n, &err);
    if (got) {
        priv->rx_bytes += (int64_t)got;
        gsock__touch(priv);
        if (GOBJ_UNLIKELY(gobj__trace_any) && gobj_is_tracing(gobj, GOBJ_TRACE_TRAFFIC))
            gsock__trace_traffic(gobj, "rx", rxbuf, got);
        deliver_frames(gobj, priv, rxbuf, got);
        return 0;
    }
    read_ended(gobj, n, err, gsock_framer__partial(fr));
    return 0;
}

/*---------------------------------------------------------------------*
 *  The action
 *---------------------------------------------------------------------*/
/* ST_CONNECTED: EV_GSOCK_READABLE. */
int gsock__ac_read(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (GOBJ_UNLIKELY(priv->framer))
        return read_framed(gobj, priv);
    ssize_t n;
    int err = 0;
    size_t got = read_some(priv, &n, &err);
    if (got) {
        publish_rx(gobj, rxbuf, got);
        return 0;
    }
    read_ended(gobj, n, err, false);
    return 0;
}
