/*
 * sock_flow.c - GSock: what the subscriber controls of the two directions.
 *
 * Reading: EV_PAUSE_RX holds reading (nothing more is read from the socket,
 * the kernel's window closes and the peer's sends block) until EV_RESUME_RX.
 * The hold is the subscriber's, apart from the GSock's own backpressure
 * (tx_high_water): reading runs only when neither holds it.  A relay uses it
 * to stop reading one side while the other side's output is above its mark.
 * The hold lasts until EV_RESUME_RX or the end of the connection.
 *
 * Half-close: EV_SHUTDOWN says "I will send nothing more": once the queue
 * is written the write side is shut (FIN; under TLS close_notify first) and
 * reading goes on.  With the attribute half_close the peer's FIN is
 * published as EV_RX_EOF and the connection stays open for writing; it ends
 * when the subscriber sends EV_SHUTDOWN (after the queue is written) or
 * EV_DROP, or at an error or inactivity_timeout.  So a relay can pass each
 * direction's end on to the other side and close each side only when it is
 * done with it.  Without half_close the peer's FIN closes the connection
 * once the replies are written, as it always did.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ginsfsm/log.h"
#include "sock_priv.h"

int gsock__ac_pause_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    priv->rx_held = true;
    /* A TLS handshake reads whatever the hold says: the hold applies from
     * EV_CONNECTED on, as the backpressure does. */
    if (priv->connected)
        gsock__rx_enable(priv, false);
    return 0;
}

int gsock__ac_resume_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->rx_held)
        return 0;
    priv->rx_held = false;
    /* Frames kept while held, and bytes already inside the TLS layer, are
     * read first, on the next turn (gsock__rx_enable). */
    if (priv->connected && gobj_in_this_state(gobj, ST_CONNECTED) && gsock__rx_wanted(priv))
        gsock__rx_enable(priv, true);
    return 0;
}

/* Shut the write side now: the queue is empty. */
static void shut_now(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    priv->tx_shut = true;
    if (priv->tr && priv->tr->ops->shutdown)
        priv->tr->ops->shutdown(priv->tr); /* TLS: close_notify */
    if (priv->fd >= 0)
        shutdown(priv->fd, SHUT_WR);
}

bool gsock__shut_if_wanted(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->tx_shut_wanted || priv->tx_shut || priv->q_len || !priv->connected)
        return false;
    shut_now(gobj);
    return false;
}

int gsock__ac_shutdown(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->rx_eof) {
        /* Both directions are done: close once the queue is written (the
         * EV_DISCONNECTED comes on a later turn, never inside the send). */
        priv->tx_shut_wanted = true;
        priv->in_call = true;
        gsock__graceful_close(gobj, "peer closed");
        priv->in_call = false;
        return 0;
    }
    priv->tx_shut_wanted = true;
    /* Corked (inside the subscriber's EV_RX_DATA of a framed batch): the
     * batch's end writes the queue, then shuts. */
    if (!priv->corked)
        gsock__shut_if_wanted(gobj);
    return 0;
}

bool gsock__peer_eof_half(gobj_t *gobj, const char *reason)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (!priv->half_close || strcmp(reason, "truncated frame") == 0)
        return false;
    priv->rx_eof = true;
    gsock__rx_enable(priv, false);
    gobj_publish_event(gobj, EV_RX_EOF, json_object());
    return true;
}

int gsock__send_after_shutdown(gobj_t *gobj)
{
    gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: EV_SEND_DATA after EV_SHUTDOWN: refused", NULL);
    return GOBJ_ESTATE;
}
