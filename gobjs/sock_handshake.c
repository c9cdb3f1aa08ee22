/*
 * sock_handshake.c - GSock: the TLS handshake between TCP up (connected or
 * accepted) and EV_CONNECTED.  The transports are stacked (plain, then TLS
 * on it), the handshake runs as far as the socket allows, bounded by
 * handshake_timeout and inactivity_timeout; a client's failure is the one
 * EV_DISCONNECTED of its connect, an accepted GSock's failure is counted on
 * its server and the GSock destroys itself unannounced.
 */
#include <errno.h>
#include <stdio.h>

#include "ginsfsm/log.h"
#include "sock_priv.h"

/*---------------------------------------------------------------------*
 *  Helpers: TLS handshake
 *---------------------------------------------------------------------*/
/* The handshake failed or timed out.  A client reports it as the one
 * EV_DISCONNECTED of its connect; an accepted GSock was never announced, so
 * it tells nobody: it counts the failure on its server, closes, and
 * destroys itself (its subscriber never saw it and will not). */
static void tls_failed(gobj_t *gobj, const char *why, int err)
{
    sock_priv_t *priv = gobj_priv(gobj);
    char reason[320];
    snprintf(reason, sizeof reason, "TLS handshake failed: %s", why);
    gobj_log(GOBJ_LOG_DEBUG, gobj, reason, "peername",
             json_string(priv->peername ? priv->peername : ""), NULL);
    if (!priv->link) {
        gsock__sock_close(gobj, reason, err);
        return;
    }
    priv->link->tls_failures++;
    priv->session = false;
    gsock__release_fd(gobj); /* tells the server, which reads the count */
    gobj_change_state(gobj, ST_DISCONNECTED);
    gobj_destroy(gobj);
}

/* Run the handshake as far as the socket allows, and arm the event the
 * next step waits for. */
static void do_handshake(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    char why[256];
    int r = priv->tr->ops->handshake(priv->tr, why, sizeof why);
    if (r == 1) {
        gsock__tx_enable(priv, false);
        /* The peer's first data may have come in with its last handshake
         * message and sit read ahead inside OpenSSL, where the socket will
         * not signal it: go_connected's rx_enable finds it. */
        gsock__go_connected(gobj);
        return;
    }
    if (r == GSOCK_IO_WANT_READ || r == GSOCK_IO_WANT_WRITE) {
        gsock__tx_enable(priv, r == GSOCK_IO_WANT_WRITE);
        return;
    }
    tls_failed(gobj, why, 0);
}

/* TCP is up (connected or accepted): stack the transports, and run the
 * handshake, if the stack has one, before EV_CONNECTED.  Reading is on
 * whatever the backpressure says: the handshake cannot finish without it. */
void gsock__start_transport(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->tls_ctx) {
        priv->tr =
            gsock_transport__tls_new(priv->tls_ctx, &priv->plain, priv->link ? NULL : priv->host);
        if (!priv->tr) {
            tls_failed(gobj, "out of memory", ENOMEM);
            return;
        }
    }
    if (!priv->tr->ops->handshake) {
        gsock__go_connected(gobj);
        return;
    }
    uint64_t now = gobj_loop_now_msec();
    priv->hs_deadline =
        now + (uint64_t)(priv->tls_ctx ? gsock_tls__ctx_handshake_timeout(priv->tls_ctx) : 10000);
    priv->last_activity = now;
    gobj_change_state(gobj, ST_HANDSHAKE);
    gsock__rx_enable(priv, true);
    gsock__rearm_timer(gobj);
    do_handshake(gobj);
}

/* ST_HANDSHAKE: the socket is readable or writable. */
int gsock__ac_handshake(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    gsock__touch(gobj_priv(gobj));
    do_handshake(gobj);
    return 0;
}

/* ST_HANDSHAKE: handshake_timeout or inactivity_timeout. */
int gsock__ac_handshake_timer(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    sock_priv_t *priv = gobj_priv(gobj);
    uint64_t now = gobj_loop_now_msec();
    if (now >= priv->hs_deadline) {
        tls_failed(gobj, "handshake timeout", ETIMEDOUT);
        return 0;
    }
    if (priv->inactivity_timeout > 0 &&
        now >= priv->last_activity + (uint64_t)priv->inactivity_timeout) {
        tls_failed(gobj, "inactivity timeout", ETIMEDOUT);
        return 0;
    }
    gsock__rearm_timer(gobj);
    return 0;
}
