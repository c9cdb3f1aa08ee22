/*
 * sock_resolve.c - GSock: a client's host name, resolved without blocking
 * the loop.
 *
 * A numeric host (an IPv4 or IPv6 literal) is converted at once, with no
 * query (getaddrinfo with AI_NUMERICHOST).  A name goes to the loop's
 * resolver (lib/loop_dns.c: libevent's evdns, /etc/hosts then the name
 * servers) while the GSock waits in ST_WAIT_CONNECTED; connect_timeout
 * bounds the resolution and the connect together.  The addresses are then
 * tried as RFC 8305 asks (sock_eyeballs.c).
 *
 * The answer never arrives inside EV_CONNECT (rule 15): libevent may answer
 * within evdns_getaddrinfo (a name from /etc/hosts), and a later answer
 * comes from the loop; either way the callback only stores it and arms the
 * GSock's timer to fire at once, and the timer's action tries the addresses
 * (gsock__resolve_timer).  The request's context is on the heap: a close,
 * stop or destroy cancels the request and detaches the context from the
 * GSock, and the callback libevent still owes (EVUTIL_EAI_CANCEL) frees it
 * without touching the GSock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ginsfsm/log.h"
#include "loop_dns.h"
#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/dns.h>
#include <event2/util.h>

struct gsock_resolve {
    gobj_t *gobj; /* NULL once cancelled */
    struct evdns_getaddrinfo_request *req;
};

static void on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
    gsock_resolve_t *ctx = arg;
    gobj_t *gobj = ctx->gobj;
    free(ctx);
    loop__dns_request_ended();
    if (!gobj) {
        /* Cancelled: the GSock may be gone. */
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    sock_priv_t *priv = gobj_priv(gobj);
    priv->dns = NULL;
    if (err) {
        if (res)
            evutil_freeaddrinfo(res);
        priv->gai_err = err == EVUTIL_EAI_CANCEL ? EVUTIL_EAI_FAIL : err;
    } else if (!res) {
        priv->gai_err = EVUTIL_EAI_NODATA;
    } else {
        priv->ai_list = priv->ai_next = res;
    }
    priv->dns_done = true;
    gsock__rearm_timer(gobj); /* at once: on this turn's timers, not inside a caller */
}

bool gsock__resolve_start(gobj_t *gobj, const char *port)
{
    sock_priv_t *priv = gobj_priv(gobj);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_ADDRCONFIG};
    int gerr = getaddrinfo(priv->host, port, &hints, &priv->ai_list);
    if (gerr == 0) {
        priv->ai_next = priv->ai_list;
        return gsock__connect_next(gobj);
    }
    priv->ai_list = NULL;
    if (gerr != EAI_NONAME) {
        priv->gai_err = gerr;
        return false;
    }

    struct evdns_base *dns = loop__dns_base();
    gsock_resolve_t *ctx = dns ? calloc(1, sizeof *ctx) : NULL;
    if (!ctx) {
        priv->gai_err = EVUTIL_EAI_MEMORY;
        return false;
    }
    ctx->gobj = gobj;
    priv->dns = ctx;
    loop__dns_request_begun();
    /* Both families are asked for (RFC 8305 section 3), without
     * AI_ADDRCONFIG: libevent's version of it counts no unique local IPv6
     * address (fc00::/7) and so would skip AAAA on many hosts that reach
     * IPv6 peers.  An address the host cannot reach fails its connect at
     * once (no route), and the next address is tried at once. */
    struct evutil_addrinfo ehints = {.ai_family = AF_UNSPEC,
                                     .ai_socktype = SOCK_STREAM,
                                     .ai_protocol = IPPROTO_TCP,
                                     .ai_flags = EVUTIL_AI_NUMERICSERV};
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(dns, priv->host, port, &ehints, on_resolved, ctx);
    /* Answered already (/etc/hosts, or an error): ctx is freed, dns_done set
     * and the timer armed.  Else the request is in flight. */
    if (priv->dns)
        ctx->req = req;
    return true;
}

void gsock__resolve_cancel(sock_priv_t *priv)
{
    gsock_resolve_t *ctx = priv->dns;
    priv->dns = NULL;
    priv->dns_done = false;
    if (!ctx)
        return;
    ctx->gobj = NULL; /* the callback still comes, with EVUTIL_EAI_CANCEL */
    if (ctx->req)
        evdns_getaddrinfo_cancel(ctx->req);
}

bool gsock__resolve_timer(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->dns_done) {
        priv->dns_done = false;
        if (!priv->gai_err && gsock__eyeballs_connect(gobj))
            gsock__rearm_timer(gobj);
        else
            gsock__connect_failed(gobj);
        return true;
    }
    if (!priv->dns)
        return false;
    if (priv->connect_deadline && gobj_loop_now_msec() >= priv->connect_deadline) {
        gsock__resolve_cancel(priv);
        char reason[320];
        snprintf(reason, sizeof reason, "cannot resolve '%s': timeout", priv->host);
        gsock__sock_close(gobj, reason, ETIMEDOUT);
        return true;
    }
    gsock__rearm_timer(gobj);
    return true;
}
