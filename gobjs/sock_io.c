/*
 * sock_io.c - GSock: how bytes move.  The libevent glue (thin: each
 * callback only turns loop activity into an internal event), the read and
 * write interest, the one timer, the transmit queue (references to the
 * senders' strings, written with one sendmsg when the transport allows),
 * backpressure, and the traffic trace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ginsfsm/log.h"
#include "internal.h" /* gobj__trace_any: one branch per message when tracing is off */
#include "sock_priv.h"

/* After the ginsfsm headers: libevent #defines EV_TIMEOUT, which is also a
 * name of the public vocabulary. */
#include <event2/event.h>

/*---------------------------------------------------------------------*
 *  Helpers: addresses
 *---------------------------------------------------------------------*/
void gsock__set_str(char **field, const char *value)
{
    char *s = strdup(value ? value : "");
    if (!s)
        return; /* keep the old value: a name is informative only */
    free(*field);
    *field = s;
}

void gsock__load_names(gobj_t *gobj, bool peer, bool self)
{
    sock_priv_t *priv = gobj_priv(gobj);
    struct sockaddr_storage ss;
    char buf[GSOCK_ADDRSTRLEN];
    socklen_t len;
    if (peer) {
        len = sizeof ss;
        if (getpeername(priv->fd, (struct sockaddr *)&ss, &len) == 0)
            gsock__set_str(&priv->peername,
                           gsock__format_addr((struct sockaddr *)&ss, len, buf, sizeof buf));
    }
    if (self) {
        len = sizeof ss;
        if (getsockname(priv->fd, (struct sockaddr *)&ss, &len) == 0)
            gsock__set_str(&priv->sockname,
                           gsock__format_addr((struct sockaddr *)&ss, len, buf, sizeof buf));
    }
}

/*---------------------------------------------------------------------*
 *  Helpers: the transmit queue
 *---------------------------------------------------------------------*/
int gsock__txq_push(sock_priv_t *priv, json_t *str, size_t off)
{
    if (priv->q_len == priv->q_cap) {
        uint32_t cap = priv->q_cap ? priv->q_cap * 2 : 8;
        txq_item_t *n = malloc(cap * sizeof *n);
        if (!n)
            return GOBJ_ENOMEM;
        /* Unroll the ring into the new array. */
        for (uint32_t i = 0; i < priv->q_len; i++)
            n[i] = priv->q[(priv->q_head + i) % priv->q_cap];
        free(priv->q);
        priv->q = n;
        priv->q_cap = cap;
        priv->q_head = 0;
    }
    txq_item_t *it = &priv->q[(priv->q_head + priv->q_len) % priv->q_cap];
    it->str = json_incref(str);
    it->off = off;
    priv->q_len++;
    priv->tx_queued += (int64_t)(json_string_length(str) - off);
    return 0;
}

void gsock__txq_clear(sock_priv_t *priv)
{
    for (uint32_t i = 0; i < priv->q_len; i++)
        json_decref(priv->q[(priv->q_head + i) % priv->q_cap].str);
    priv->q_head = priv->q_len = 0;
    priv->tx_queued = 0;
}

/*---------------------------------------------------------------------*
 *  Loop glue: thin on purpose, every decision is in an action.
 *  A send may end with the GSock freed, so nothing follows it.
 *---------------------------------------------------------------------*/
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gobj_t *gobj = arg;
    gobj_send_event(gobj, EV_GSOCK_READABLE, NULL, gobj);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gobj_t *gobj = arg;
    gobj_send_event(gobj, EV_GSOCK_WRITABLE, NULL, gobj);
}

static void on_timer(void *user)
{
    gobj_t *gobj = user;
    gobj_send_event(gobj, EV_GSOCK_TIMER, NULL, gobj);
}

/*---------------------------------------------------------------------*
 *  Helpers: events, timer, traffic trace
 *---------------------------------------------------------------------*/
void gsock__rx_enable(sock_priv_t *priv, bool on)
{
    if (on != priv->reading && priv->rev) {
        if (on)
            event_add(priv->rev, NULL);
        else
            event_del(priv->rev); /* also cancels an event_active still due */
        priv->reading = on;
    }
    /* Bytes may already sit inside the TLS layer (read ahead, or a close
     * found after data), where the socket will never signal them, or in
     * the framer (frames kept while paused): any resume of reading reads
     * them first, on the next turn. */
    if (on && priv->reading && priv->tr &&
        (gsock_transport__pending(priv->tr) || (priv->framer && priv->framer->stash_len)))
        event_active(priv->rev, EV_READ, 0);
}

void gsock__tx_enable(sock_priv_t *priv, bool on)
{
    if (on == priv->writing || priv->fd < 0)
        return;
    /* Made on first use: most connections never fill the socket buffer,
     * and an idle connection should cost as little memory as possible. */
    if (!priv->wev) {
        priv->wev =
            event_new(gobj_loop_base(), priv->fd, EV_WRITE | EV_PERSIST, on_writable, priv->self);
        if (!priv->wev)
            return;
    }
    if (on)
        event_add(priv->wev, NULL);
    else
        event_del(priv->wev);
    priv->writing = on;
}

int gsock__make_events(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    struct event_base *base = gobj_loop_base();
    if (!base) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: the loop is not initialised", NULL);
        return GOBJ_ESTATE;
    }
    priv->rev = event_new(base, priv->fd, EV_READ | EV_PERSIST, on_readable, gobj);
    if (!priv->rev)
        return GOBJ_ENOMEM;
    return 0;
}

void gsock__free_events(sock_priv_t *priv)
{
    if (priv->rev)
        event_free(priv->rev);
    if (priv->wev)
        event_free(priv->wev);
    priv->rev = priv->wev = NULL;
    priv->reading = priv->writing = false;
}

/* Arm the one timer for the nearest deadline of the current state. */
void gsock__rearm_timer(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    uint64_t due = 0;
    if (gobj_in_this_state(gobj, ST_WAIT_CONNECTED)) {
        due = priv->connect_deadline;
        if (priv->retry_at && (!due || priv->retry_at < due))
            due = priv->retry_at;
        uint64_t next = gsock__eyeballs_due(priv);
        if (next && (!due || next < due))
            due = next;
        if (priv->dns_done)
            due = 1; /* the resolver answered: go on at once */
    } else if (gobj_in_this_state(gobj, ST_HANDSHAKE)) {
        due = priv->hs_deadline;
        if (priv->inactivity_timeout > 0 &&
            priv->last_activity + (uint64_t)priv->inactivity_timeout < due)
            due = priv->last_activity + (uint64_t)priv->inactivity_timeout;
    } else {
        if (priv->inactivity_timeout > 0)
            due = priv->last_activity + (uint64_t)priv->inactivity_timeout;
        if (priv->drop_deadline && (!due || priv->drop_deadline < due))
            due = priv->drop_deadline;
    }
    if (!due) {
        gobj_loop_timer_stop(priv->timer);
        return;
    }
    if (!priv->timer) {
        priv->timer = gobj_loop_timer_new(on_timer, gobj);
        if (!priv->timer) {
            gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: cannot create its timer", NULL);
            return;
        }
    }
    uint64_t now = gobj_loop_now_msec();
    gobj_loop_timer_start(priv->timer, due > now ? due - now : 0, false);
}

void gsock__trace_traffic(gobj_t *gobj, const char *dir, const char *p, size_t n)
{
    gsock__trace_shown(gobj, dir, p, n < 1024 ? n : 1024, n);
}

/* A write of n bytes from iov[0..cnt): one record with all of it (the
 * delimiter or header of a frame, the many strings of a queue). */
void gsock__trace_iov(gobj_t *gobj, const char *dir, const struct iovec *iov, int cnt, size_t n)
{
    char buf[1024];
    size_t shown = 0;
    for (int i = 0; i < cnt && shown < sizeof buf && shown < n; i++) {
        size_t k = iov[i].iov_len;
        if (k > sizeof buf - shown)
            k = sizeof buf - shown;
        if (k > n - shown)
            k = n - shown;
        memcpy(buf + shown, iov[i].iov_base, k);
        shown += k;
    }
    gsock__trace_shown(gobj, dir, buf, shown, n);
}

/* One traffic record: n bytes, of which the first shown are in p. */
void gsock__trace_shown(gobj_t *gobj, const char *dir, const char *p, size_t shown, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *s = malloc(shown * 2 + 1);
    if (!s)
        return;
    for (size_t i = 0; i < shown; i++) {
        s[2 * i] = hex[(unsigned char)p[i] >> 4];
        s[2 * i + 1] = hex[(unsigned char)p[i] & 15];
    }
    s[shown * 2] = '\0';
    gobj_log(GOBJ_LOG_TRACE, gobj, dir, "trace", json_string("traffic"), "bytes",
             json_integer((json_int_t)n), "hex", json_string(s), NULL);
    free(s);
}

/*---------------------------------------------------------------------*
 *  Helpers: reading and writing
 *---------------------------------------------------------------------*/
void gsock__check_high_water(sock_priv_t *priv)
{
    if (priv->tx_high_water > 0 && priv->tx_queued > priv->tx_high_water && !priv->rx_paused) {
        priv->rx_paused = true;
        /* Not before EV_CONNECTED: a TLS handshake cannot finish without
         * reading (go_connected applies the pause). */
        if (priv->connected)
            gsock__rx_enable(priv, false);
    }
}

/* Reading resumes at half the high water, so that a slow reader does not
 * toggle the read interest (an epoll_ctl each time) around every write. */
void gsock__check_low_water(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    if (priv->rx_paused && priv->tx_queued <= priv->tx_high_water / 2) {
        priv->rx_paused = false;
        if (gsock__rx_wanted(priv) && gobj_in_this_state(gobj, ST_CONNECTED))
            gsock__rx_enable(priv, true);
    }
}

/* Account for n bytes written from the head of the queue. */
void gsock__txq_consume(sock_priv_t *priv, size_t n)
{
    priv->tx_bytes += (int64_t)n;
    priv->tx_queued -= (int64_t)n;
    while (n) {
        txq_item_t *it = &priv->q[priv->q_head];
        size_t avail = json_string_length(it->str) - it->off;
        if (n < avail) {
            it->off += n;
            break;
        }
        n -= avail;
        json_decref(it->str);
        it->str = NULL;
        priv->q_head = (priv->q_head + 1) % priv->q_cap;
        priv->q_len--;
    }
}

/* A write's failure as an errno value for close_on_error. */
int gsock__write_errno(ssize_t n, int err)
{
    return err ? err : n == GSOCK_IO_CLOSED ? EPIPE : EPROTO;
}

/* Write as much of the queue as the transport takes: up to its iov_max
 * strings per call (one sendmsg on a plain socket).
 * Returns: 0, or an errno value (the caller closes). */
int gsock__flush_queue(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_transport_t *tr = priv->tr;
    uint32_t max = (uint32_t)tr->ops->iov_max;
    while (priv->q_len) {
        struct iovec iov[TX_IOV_MAX];
        uint32_t k = 0;
        size_t total = 0;
        for (; k < priv->q_len && k < max && k < TX_IOV_MAX; k++) {
            txq_item_t *it = &priv->q[(priv->q_head + k) % priv->q_cap];
            iov[k].iov_base = (char *)json_string_value(it->str) + it->off;
            iov[k].iov_len = json_string_length(it->str) - it->off;
            total += iov[k].iov_len;
        }
        char why[256];
        int err = 0;
        ssize_t n = tr->ops->writev(tr, iov, (int)k, why, sizeof why, &err);
        if (n == GSOCK_IO_WANT_WRITE || n == GSOCK_IO_WANT_READ)
            return 0;
        if (n < 0)
            return gsock__write_errno(n, err);
        if (GOBJ_UNLIKELY(gobj__trace_any) && gobj_is_tracing(gobj, GOBJ_TRACE_TRAFFIC))
            gsock__trace_iov(gobj, "tx", iov, (int)k, (size_t)n);
        gsock__txq_consume(priv, (size_t)n);
        if ((size_t)n < total)
            return 0; /* the kernel is full: wait for writable */
    }
    priv->q_head = 0;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Sending with framing
 *---------------------------------------------------------------------*/
/* Queue entry i of iov from off: the payload is data itself, the
 * delimiter the framer's string; a header is a string of its own (made
 * only when the kernel did not take it all). */
static int queue_part(sock_priv_t *priv, const struct iovec *v, json_t *data, size_t off)
{
    if (v->iov_len <= off)
        return 0;
    if (v->iov_base == json_string_value(data))
        return gsock__txq_push(priv, data, off);
    if (v->iov_base == priv->framer->delim)
        return gsock__txq_push(priv, priv->framer->delim_str, off);
    json_t *h = json_stringn_nocheck(v->iov_base, v->iov_len);
    if (!h)
        return GOBJ_ENOMEM;
    int rc = gsock__txq_push(priv, h, off);
    json_decref(h);
    return rc;
}

/* EV_SEND_DATA with framing "line" or "length": the payload and its
 * delimiter or header go out together, the delimiter or header as an iovec
 * entry of its own (one sendmsg on a plain socket; no copy of the payload).
 * A payload larger than max_frame is refused and nothing is sent. */
int gsock__send_framed(gobj_t *gobj, json_t *data, size_t len)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_framer_t *fr = priv->framer;
    const char *why = gsock_framer__refuse(fr, len);
    if (why) {
        gobj_log(GOBJ_LOG_ERROR, gobj, why, "size", json_integer((json_int_t)len), "max_frame",
                 json_integer((json_int_t)fr->max_frame), "framing", json_string(priv->framing),
                 NULL);
        return GOBJ_EINVAL;
    }
    char hdr[8];
    const char *wb;
    bool before;
    size_t wn = gsock_framer__wrap(fr, len, hdr, &wb, &before);
    struct iovec iov[2];
    struct iovec *pay = &iov[before ? 1 : 0], *wrap = &iov[before ? 0 : 1];
    pay->iov_base = (char *)json_string_value(data);
    pay->iov_len = len;
    wrap->iov_base = (char *)wb;
    wrap->iov_len = wn;
    priv->tx_msgs++;
    size_t total = len + wn, done = 0;
    /* The fast path: nothing queued, the socket is connected, write now. */
    if (priv->q_len == 0 && priv->connected && !priv->corked) {
        gsock_transport_t *tr = priv->tr;
        while (done < total) {
            /* The entries not written yet, the first from where it stopped
             * (an empty payload is skipped: TLS writes no empty records). */
            struct iovec cur[2];
            int k = 0;
            size_t skip = done;
            for (int i = 0; i < 2; i++) {
                if (skip >= iov[i].iov_len) {
                    skip -= iov[i].iov_len;
                    continue;
                }
                cur[k].iov_base = (char *)iov[i].iov_base + skip;
                cur[k].iov_len = iov[i].iov_len - skip;
                skip = 0;
                k++;
            }
            int cnt = k < tr->ops->iov_max ? k : tr->ops->iov_max;
            size_t offered = 0;
            for (int i = 0; i < cnt; i++)
                offered += cur[i].iov_len;
            int err = 0;
            ssize_t n = tr->ops->writev(tr, cur, cnt, gsock__io_why, sizeof gsock__io_why, &err);
            if (n < 0) {
                if (n != GSOCK_IO_WANT_WRITE && n != GSOCK_IO_WANT_READ) {
                    gsock__close_in_send(gobj, gsock__write_errno(n, err));
                    return 0;
                }
                break;
            }
            if (GOBJ_UNLIKELY(gobj__trace_any) && gobj_is_tracing(gobj, GOBJ_TRACE_TRAFFIC))
                gsock__trace_iov(gobj, "tx", cur, cnt, (size_t)n);
            priv->tx_bytes += n;
            gsock__touch(priv);
            done += (size_t)n;
            if ((size_t)n < offered)
                break; /* the kernel is full */
        }
        if (done == total)
            return 0;
    }
    /* Queue what is left: references to the payload and the delimiter. */
    int rc = 0;
    if (done < iov[0].iov_len) {
        rc = queue_part(priv, &iov[0], data, done);
        if (rc == 0)
            rc = queue_part(priv, &iov[1], data, 0);
    } else {
        rc = queue_part(priv, &iov[1], data, done - iov[0].iov_len);
    }
    if (rc < 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: out of memory queueing output", NULL);
        gsock__close_in_send(gobj, ENOMEM);
        return 0;
    }
    if (priv->corked)
        return gsock__corked_push(gobj);
    if (priv->connected)
        gsock__tx_enable(priv, true);
    gsock__check_high_water(priv);
    return gsock__queued_ret(priv);
}
