/*
 * c_echo_client.c - EchoClient: a stress client of an echo server.
 *
 * What it is
 *   `clients` GConnex children (client1 .. clientN, created with the
 *   EchoClient, so one number in the config says how many) keep a
 *   line-framed connection each to `destinations`.  Every `period` ms each
 *   connected client sends one message of `size` bytes; the server sends it
 *   back and the EchoClient matches the reply and records its round trip.
 *   Every `report_interval` ms it logs one "report" record, and at the end
 *   one "final report"; with `count` > 0 it then asks the application to
 *   shut down (gapp_shutdown), with exit status 0 if every client sent its
 *   `count` messages and every reply came back intact, 1 otherwise.
 *
 * A message (one line; GConnex's GSock adds and strips the "\n"):
 *   "CCCCCCCC SSSSSSSSSSSSSSSS TTTTTTTTTTTTTTTT KKKKKKKK pppp..."
 *   client index, sequence number (per client, from 0), send time (µs of
 *   CLOCK_MONOTONIC), check (FNV-1a of the first three fields), all in hex,
 *   then padding up to `size` bytes that depends on the sequence.  A reply is
 *   matched by its own fields: nothing is kept per message, so the memory
 *   does not grow with the number in flight.
 *
 * Matching (a TCP connection and GConnex's queue keep each client's order):
 *   a reply with the sequence of the oldest message in flight is received;
 *   one with a later sequence (still in flight) is received and the older
 *   ones are lost (their replies will never come); anything else (wrong
 *   length, bad header or check, corrupted padding, another client's
 *   message, a sequence not in flight, a time in the future) is mismatched.
 *   So sent = received + lost + in_flight at every moment; what is still in
 *   flight at the end is lost.  The first mismatch of each interval is
 *   logged once, with the count, at the report.
 *
 * When it ends (count > 0)
 *   when every client has sent its count (or its GConnex gave up) and no
 *   reply is in flight; or when nothing was sent or received for
 *   `final_timeout` ms (a server that stopped answering, or nothing
 *   listening: GConnex keeps retrying meanwhile).  With count 0 it runs
 *   until the application stops (SIGINT, SIGTERM), and logs the final report
 *   in its mt_stop.
 *
 *   ST_MEASURING --EV_RX_DATA-->        match the reply, maybe end
 *                --EV_ECLIENT_TICK-->   one message per connected client
 *                --EV_ECLIENT_REPORT--> log "report", reset the interval
 *                --EV_ECLIENT_IDLE-->   final_timeout passed? end
 *                --(end)-->             ST_MEASURED: log "final report",
 *                                       gapp_shutdown(0 or 1)
 *   ST_MEASURED  every event ignored
 *
 * Input events (kw borrowed)
 *   From its GConnex children (src = the GConnex): EV_CONNECTED,
 *   EV_RX_DATA {data}, EV_TRANSMIT_READY, EV_DISCONNECTED,
 *   EV_CONNEX_GAVE_UP.  Internal, from its own loop timers (src = itself):
 *   EV_ECLIENT_TICK, EV_ECLIENT_REPORT, EV_ECLIENT_IDLE.
 * Output events: none.
 * Attributes: see the table below and doc/gclasses/EchoClient.md.
 */
#include "c_echo_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ginsfsm/app.h"
#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"
#include "rtt_hist.h"

/* Internal events, from the loop timers. */
static GOBJ_DEFINE_EVENT(EV_ECLIENT_TICK);   /* {}: send one message per client */
static GOBJ_DEFINE_EVENT(EV_ECLIENT_REPORT); /* {}: log the interval's report */
static GOBJ_DEFINE_EVENT(EV_ECLIENT_IDLE);   /* {}: check final_timeout */
static GOBJ_DEFINE_STATE(ST_MEASURING);
static GOBJ_DEFINE_STATE(ST_MEASURED);

/* Bounds of the attributes. */
#define CLIENTS_MAX     100000
#define SIZE_MAX_BYTES  (16 * 1024 * 1024)
#define GSOCK_MAX_FRAME 65536 /* GSock's default max_frame */

/*--------------------------------------------------------------------------*
 *  Attributes and private data
 *--------------------------------------------------------------------------*/
typedef struct {
    gobj_t *connex;   /* the GConnex child */
    uint64_t tx_next; /* sequence of the next message: messages sent */
    uint64_t rx_next; /* sequence of the oldest message in flight */
    bool up;          /* connected now */
    bool ever_up;     /* connected at least once */
    bool done;        /* sent its count, or its GConnex gave up */
} client_t;

typedef struct {
    /* Attributes. */
    json_t *destinations;
    int64_t clients;
    int64_t period;
    int64_t size;
    int64_t count;
    int64_t report_interval;
    int64_t final_timeout;
    char *framing;
    int64_t sent;
    int64_t received;
    int64_t lost;
    int64_t mismatched;
    int64_t in_flight;
    int64_t connected;
    int64_t rtt_p50_us;
    int64_t rtt_p90_us;
    int64_t rtt_p99_us;
    int64_t rtt_max_us;
    /* Run time. */
    client_t *cl;
    size_t n_done;     /* clients done (count sent, or gave up) */
    size_t n_complete; /* clients that sent their count */
    char *buf;         /* one message being built */
    gobj_loop_timer_t *tick, *report, *idle;
    uint64_t last_progress_ms; /* last send or receive (loop clock) */
    int64_t interval_mismatched;
    char first_mismatch[200]; /* the interval's first mismatch */
    bool finished;
    rtt_hist_t interval; /* round trips since the last report */
    rtt_hist_t total;    /* round trips of the run, up to the last report */
} eclient_priv_t;

static const gobj_attr_t eclient_attrs[] = {
    GOBJ_ATTR("destinations", GOBJ_ATTR_JSON, eclient_priv_t, destinations, "[]", GOBJ_RD,
              "The echo server: an array of {host, port} or {path}, as GConnex's"),
    GOBJ_ATTR("clients", GOBJ_ATTR_INT, eclient_priv_t, clients, "10", GOBJ_RD,
              "How many connections (GConnex children), 1..100000"),
    GOBJ_ATTR("period", GOBJ_ATTR_INT, eclient_priv_t, period, "1000", GOBJ_RD,
              "ms between two messages of one client, >= 1"),
    GOBJ_ATTR("size", GOBJ_ATTR_INT, eclient_priv_t, size, "64", GOBJ_RD,
              "Bytes of each message, without the newline, 52..16777216"),
    GOBJ_ATTR("count", GOBJ_ATTR_INT, eclient_priv_t, count, "0", GOBJ_RD,
              "Messages per client, then end the run; 0 = until stopped"),
    GOBJ_ATTR("report_interval", GOBJ_ATTR_INT, eclient_priv_t, report_interval, "5000", GOBJ_RD,
              "ms between two report records; 0 = only the final report"),
    GOBJ_ATTR("final_timeout", GOBJ_ATTR_INT, eclient_priv_t, final_timeout, "10000", GOBJ_RD,
              "With count > 0: end the run when nothing was sent or received for this long (ms)"),
    GOBJ_ATTR("framing", GOBJ_ATTR_STRING, eclient_priv_t, framing, "\"line\"", GOBJ_RD,
              "How messages are cut on the connection: \"line\" (the only one)"),
    GOBJ_ATTR("sent", GOBJ_ATTR_INT, eclient_priv_t, sent, "0", GOBJ_STATS, "Messages sent"),
    GOBJ_ATTR("received", GOBJ_ATTR_INT, eclient_priv_t, received, "0", GOBJ_STATS,
              "Replies received intact, in order"),
    GOBJ_ATTR("lost", GOBJ_ATTR_INT, eclient_priv_t, lost, "0", GOBJ_STATS,
              "Messages whose reply will not come (a later one came first, or the run ended)"),
    GOBJ_ATTR("mismatched", GOBJ_ATTR_INT, eclient_priv_t, mismatched, "0", GOBJ_STATS,
              "Replies that match no message in flight (corrupted, unknown, out of order)"),
    GOBJ_ATTR("in_flight", GOBJ_ATTR_INT, eclient_priv_t, in_flight, "0", GOBJ_STATS,
              "Messages sent whose reply has not come yet"),
    GOBJ_ATTR("connected", GOBJ_ATTR_INT, eclient_priv_t, connected, "0", GOBJ_STATS,
              "Clients connected now"),
    GOBJ_ATTR("rtt_p50_us", GOBJ_ATTR_INT, eclient_priv_t, rtt_p50_us, "0", GOBJ_STATS,
              "Median round trip (µs) of the last report"),
    GOBJ_ATTR("rtt_p90_us", GOBJ_ATTR_INT, eclient_priv_t, rtt_p90_us, "0", GOBJ_STATS,
              "90th percentile round trip (µs) of the last report"),
    GOBJ_ATTR("rtt_p99_us", GOBJ_ATTR_INT, eclient_priv_t, rtt_p99_us, "0", GOBJ_STATS,
              "99th percentile round trip (µs) of the last report"),
    GOBJ_ATTR("rtt_max_us", GOBJ_ATTR_INT, eclient_priv_t, rtt_max_us, "0", GOBJ_STATS,
              "Longest round trip (µs) of the last report"),
    GOBJ_ATTR_END,
};

/*--------------------------------------------------------------------------*
 *  Configuration checks (mt_check and mt_create share them)
 *--------------------------------------------------------------------------*/
/* The value as the user wrote it, for a message.  (json_dumps would return
 * memory of jansson's allocator, which the program may have replaced.) */
static const char *value_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, n, "%g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, n, "\"%s\"", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else
        snprintf(buf, n, "%s",
                 json_is_null(v)    ? "null"
                 : json_is_array(v) ? "an array"
                                    : "an object");
    return buf;
}

static int bad_int(const json_t *attrs, const char *name, long long min, long long max, char *why,
                   size_t why_len)
{
    json_t *v = json_object_get(attrs, name);
    if (!v || (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max))
        return 0;
    char text[120];
    snprintf(why, why_len, "%s: must be an integer %lld..%lld, not %s", name, min, max,
             value_text(v, text, sizeof text));
    return GOBJ_ECONFIG;
}

/* The line-framed GSock of every client: a frame must hold a message. */
static json_t *gsock_attrs_for(long long size)
{
    long long max_frame = size + 1 > GSOCK_MAX_FRAME ? size + 1 : GSOCK_MAX_FRAME;
    return json_pack("{s:s, s:I}", "framing", "line", "max_frame", (json_int_t)max_frame);
}

static int eclient_check(const json_t *attrs, char *why, size_t why_len)
{
    int rc;
    if ((rc = bad_int(attrs, "clients", 1, CLIENTS_MAX, why, why_len)) < 0 ||
        (rc = bad_int(attrs, "period", 1, INT32_MAX, why, why_len)) < 0 ||
        (rc = bad_int(attrs, "size", ECHO_CLIENT_HEADER, SIZE_MAX_BYTES, why, why_len)) < 0 ||
        (rc = bad_int(attrs, "count", 0, INT64_MAX, why, why_len)) < 0 ||
        (rc = bad_int(attrs, "report_interval", 0, INT32_MAX, why, why_len)) < 0 ||
        (rc = bad_int(attrs, "final_timeout", 1, INT32_MAX, why, why_len)) < 0)
        return rc;
    json_t *framing = json_object_get(attrs, "framing");
    if (framing && !(json_is_string(framing) && strcmp(json_string_value(framing), "line") == 0)) {
        char text[120];
        snprintf(why, why_len, "framing: must be \"line\", not %s",
                 value_text(framing, text, sizeof text));
        return GOBJ_ECONFIG;
    }
    /* The destinations are GConnex's: let GConnex judge them, with the same
     * code as its own create and check. */
    gclass_t *gc = gclass_find(GCLASS_GCONNEX_NAME);
    json_t *size = json_object_get(attrs, "size");
    json_t *kw = json_pack("{s:O?, s:o}", "destinations", json_object_get(attrs, "destinations"),
                           "gsock_attrs", gsock_attrs_for(size ? json_integer_value(size) : 64));
    char inner[400];
    rc = gc && kw ? gclass_check_attrs(gc, kw, inner, sizeof inner) : 0;
    json_decref(kw);
    if (rc < 0) {
        /* GConnex's reason starts with the attribute it names. */
        snprintf(why, why_len, "%s", inner);
        return rc;
    }
    return 0;
}

/*--------------------------------------------------------------------------*
 *  Messages
 *--------------------------------------------------------------------------*/
/* The fields before the check: "CCCCCCCC SSSSSSSSSSSSSSSS TTTTTTTTTTTTTTTT ". */
#define FIELDS_LEN 43

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint32_t fnv1a(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return h;
}

static char pad_byte(uint64_t seq, size_t i)
{
    return (char)('a' + (seq + i) % 26);
}

/* Write the message of (client, seq, ts) in buf[0..size). */
static void msg_build(char *buf, size_t size, uint32_t client, uint64_t seq, uint64_t ts)
{
    char head[ECHO_CLIENT_HEADER + 1];
    snprintf(head, FIELDS_LEN + 1, "%08" PRIx32 " %016" PRIx64 " %016" PRIx64 " ", client, seq, ts);
    snprintf(head + FIELDS_LEN, sizeof head - FIELDS_LEN, "%08" PRIx32 " ",
             fnv1a(head, FIELDS_LEN));
    memcpy(buf, head, ECHO_CLIENT_HEADER);
    for (size_t i = ECHO_CLIENT_HEADER; i < size; i++)
        buf[i] = pad_byte(seq, i);
}

static bool hex_field(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* Parse a reply of `size` bytes.  Returns NULL, or why it is not one of
 * our messages. */
static const char *msg_parse(const char *p, size_t n, size_t size, uint64_t *client, uint64_t *seq,
                             uint64_t *ts)
{
    uint64_t check;
    if (n != size)
        return "wrong length";
    if (p[8] != ' ' || p[25] != ' ' || p[42] != ' ' || p[51] != ' ' || !hex_field(p, 8, client) ||
        !hex_field(p + 9, 16, seq) || !hex_field(p + 26, 16, ts) || !hex_field(p + 43, 8, &check))
        return "bad header";
    if (check != fnv1a(p, FIELDS_LEN))
        return "bad check";
    for (size_t i = ECHO_CLIENT_HEADER; i < n; i++)
        if (p[i] != pad_byte(*seq, i))
            return "corrupted padding";
    return NULL;
}

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
/* The client of a GConnex child, from its name "clientN", or NULL. */
static client_t *client_of(gobj_t *gobj, gobj_t *src)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    const char *name = src ? gobj_name(src) : NULL;
    if (!name || strncmp(name, "client", 6) != 0)
        return NULL;
    char *end;
    unsigned long long i = strtoull(name + 6, &end, 10);
    if (*end || i < 1 || i > (unsigned long long)priv->clients || priv->cl[i - 1].connex != src)
        return NULL;
    return &priv->cl[i - 1];
}

static void refresh(eclient_priv_t *priv)
{
    priv->in_flight = priv->sent - priv->received - priv->lost;
}

static void mismatch(gobj_t *gobj, gobj_t *src, const char *why, uint64_t seq)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    priv->mismatched++;
    if (priv->interval_mismatched++ == 0)
        snprintf(priv->first_mismatch, sizeof priv->first_mismatch, "%s: %s (sequence %" PRIu64 ")",
                 src ? gobj_name(src) : "?", why, seq);
}

static void set_rtt(eclient_priv_t *priv, const rtt_hist_t *h)
{
    priv->rtt_p50_us = (int64_t)rtt_hist_percentile(h, 50);
    priv->rtt_p90_us = (int64_t)rtt_hist_percentile(h, 90);
    priv->rtt_p99_us = (int64_t)rtt_hist_percentile(h, 99);
    priv->rtt_max_us = (int64_t)rtt_hist_percentile(h, 100);
}

/* One report record: the counters of the run and the percentiles of h.
 * fields: stolen, more fields (or NULL). */
static void log_report(gobj_t *gobj, const char *msg, const rtt_hist_t *h, json_t *fields)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    if (priv->interval_mismatched > 0) {
        gobj_log(GOBJ_LOG_WARN, gobj, "mismatched replies", "count",
                 json_integer(priv->interval_mismatched), "first",
                 json_string(priv->first_mismatch), NULL);
        priv->interval_mismatched = 0;
    }
    set_rtt(priv, h);
    json_t *f = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)priv->sent,
        "received", (json_int_t)priv->received, "lost", (json_int_t)priv->lost, "mismatched",
        (json_int_t)priv->mismatched, "in_flight", (json_int_t)priv->in_flight, "connected",
        (json_int_t)priv->connected, "rtt_samples", (json_int_t)h->count, "rtt_p50_us",
        (json_int_t)priv->rtt_p50_us, "rtt_p90_us", (json_int_t)priv->rtt_p90_us, "rtt_p99_us",
        (json_int_t)priv->rtt_p99_us, "rtt_max_us", (json_int_t)priv->rtt_max_us);
    if (f && fields)
        json_object_update(f, fields);
    json_decref(fields);
    gobj_log_json(GOBJ_LOG_INFO, gobj, msg, f);
}

static void stop_timers(eclient_priv_t *priv)
{
    if (priv->tick)
        gobj_loop_timer_stop(priv->tick);
    if (priv->report)
        gobj_loop_timer_stop(priv->report);
    if (priv->idle)
        gobj_loop_timer_stop(priv->idle);
}

/* The end of the run: what is still in flight is lost (unless the run was
 * stopped), the final report is logged with the whole run's percentiles.
 * Returns true if the run was complete: every client sent its count and
 * every reply came back intact. */
static bool final_report(gobj_t *gobj, const char *why)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    priv->finished = true;
    stop_timers(priv);
    /* At the end of a run the replies still awaited will not come; a run
     * stopped from outside was cut short instead, and says how many were
     * on their way. */
    if (strcmp(why, "stopped") != 0) {
        priv->lost += priv->in_flight;
        priv->in_flight = 0;
    }
    rtt_hist_merge(&priv->total, &priv->interval);
    rtt_hist_reset(&priv->interval);
    size_t never = 0;
    for (int64_t i = 0; i < priv->clients; i++)
        never += !priv->cl[i].ever_up;
    bool complete = priv->count > 0 && priv->n_complete == (size_t)priv->clients &&
                    priv->lost == 0 && priv->mismatched == 0;
    if (never > 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu of %lld clients never connected", never,
                 (long long)priv->clients);
        gobj_log(GOBJ_LOG_WARN, gobj, msg, "destinations", json_incref(priv->destinations), NULL);
    }
    log_report(gobj, "final report", &priv->total,
               json_pack("{s:s, s:b}", "end", why, "complete", complete));
    return complete;
}

static void finish(gobj_t *gobj, const char *why)
{
    bool complete = final_report(gobj, why);
    gobj_change_state(gobj, ST_MEASURED);
    gapp_shutdown(complete ? GAPP_EXIT_OK : GAPP_EXIT_FAILURE);
}

/* With count > 0: every client done and nothing in flight ends the run. */
static void maybe_finish(gobj_t *gobj)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    if (priv->count > 0 && priv->n_done == (size_t)priv->clients && priv->in_flight == 0)
        finish(gobj, "done");
}

static void client_done(eclient_priv_t *priv, client_t *c, bool complete)
{
    if (c->done)
        return;
    c->done = true;
    priv->n_done++;
    priv->n_complete += complete;
    if (priv->n_done == (size_t)priv->clients && priv->tick)
        gobj_loop_timer_stop(priv->tick);
}

/* Loop glue: each timer only turns into an event. */
static void on_tick(void *user)
{
    gobj_send_event(user, EV_ECLIENT_TICK, NULL, user);
}

static void on_report(void *user)
{
    gobj_send_event(user, EV_ECLIENT_REPORT, NULL, user);
}

static void on_idle(void *user)
{
    gobj_send_event(user, EV_ECLIENT_IDLE, NULL, user);
}

/*--------------------------------------------------------------------------*
 *  Methods
 *--------------------------------------------------------------------------*/
static int mt_create(gobj_t *gobj)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    json_t *attrs = gobj_read_attrs(gobj);
    char why[500];
    int rc = eclient_check(attrs, why, sizeof why);
    json_decref(attrs);
    if (rc < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "EchoClient %s: %s", gobj_full_name(gobj), why);
        gobj_log(GOBJ_LOG_ERROR, gobj, msg, NULL);
        return rc;
    }
    gclass_t *gc = gclass_find(GCLASS_GCONNEX_NAME);
    priv->cl = calloc((size_t)priv->clients, sizeof *priv->cl);
    priv->buf = malloc((size_t)priv->size);
    priv->tick = gobj_loop_timer_new(on_tick, gobj);
    priv->report = gobj_loop_timer_new(on_report, gobj);
    priv->idle = gobj_loop_timer_new(on_idle, gobj);
    if (!gc || !priv->cl || !priv->buf || !priv->tick || !priv->report || !priv->idle) {
        gobj_log(GOBJ_LOG_ERROR, gobj, "EchoClient: no memory, no loop or no GConnex gclass", NULL);
        return GOBJ_ENOMEM;
    }
    rtt_hist_reset(&priv->interval);
    rtt_hist_reset(&priv->total);
    for (int64_t i = 0; i < priv->clients; i++) {
        char name[32];
        snprintf(name, sizeof name, "client%lld", (long long)(i + 1));
        json_t *kw = json_pack("{s:O, s:o}", "destinations", priv->destinations, "gsock_attrs",
                               gsock_attrs_for(priv->size));
        priv->cl[i].connex = gobj_create(name, gc, kw, gobj);
        if (!priv->cl[i].connex)
            return GOBJ_ECONFIG; /* GConnex logged why */
    }
    return 0;
}

static int mt_start(gobj_t *gobj)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    if (priv->finished)
        return 0;
    priv->last_progress_ms = gobj_loop_now_msec();
    int rc = gobj_loop_timer_start(priv->tick, (uint64_t)priv->period, true);
    if (rc == 0 && priv->report_interval > 0)
        rc = gobj_loop_timer_start(priv->report, (uint64_t)priv->report_interval, true);
    if (rc == 0 && priv->count > 0)
        rc = gobj_loop_timer_start(priv->idle, (uint64_t)priv->final_timeout, false);
    return rc;
}

static int mt_stop(gobj_t *gobj)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    /* Stopped before the end (a signal, or count 0): the run's report. */
    if (!priv->finished) {
        final_report(gobj, "stopped");
        gobj_change_state(gobj, ST_MEASURED);
    }
    stop_timers(priv);
    return 0;
}

static void mt_destroy(gobj_t *gobj)
{
    eclient_priv_t *priv = gobj_priv(gobj);
    gobj_loop_timer_free(priv->tick);
    gobj_loop_timer_free(priv->report);
    gobj_loop_timer_free(priv->idle);
    free(priv->cl);
    free(priv->buf);
}

/*--------------------------------------------------------------------------*
 *  Actions
 *--------------------------------------------------------------------------*/
static int ac_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    eclient_priv_t *priv = gobj_priv(gobj);
    client_t *c = client_of(gobj, src);
    if (c && !c->up) {
        c->up = c->ever_up = true;
        priv->connected++;
    }
    return 0;
}

static int ac_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    eclient_priv_t *priv = gobj_priv(gobj);
    client_t *c = client_of(gobj, src);
    /* What was in flight on this connection stays in flight: a later reply
     * (GConnex writes what it queued first) shows it lost, or the end does. */
    if (c && c->up) {
        c->up = false;
        priv->connected--;
    }
    return 0;
}

static int ac_gave_up(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    eclient_priv_t *priv = gobj_priv(gobj);
    client_t *c = client_of(gobj, src);
    if (c)
        client_done(priv, c, false);
    maybe_finish(gobj);
    return 0;
}

static int ac_rx_data(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    eclient_priv_t *priv = gobj_priv(gobj);
    json_t *data = json_object_get(kw, "data");
    const char *p = json_string_value(data);
    uint64_t idx = 0, seq = 0, ts = 0, now = now_us();
    const char *why =
        p ? msg_parse(p, json_string_length(data), (size_t)priv->size, &idx, &seq, &ts) : "no data";
    client_t *c = client_of(gobj, src);
    priv->last_progress_ms = gobj_loop_now_msec();
    if (!why && (!c || idx >= (uint64_t)priv->clients || &priv->cl[idx] != c))
        why = "another client's message";
    if (!why && ts > now)
        why = "sent in the future";
    if (!why && (seq < c->rx_next || seq >= c->tx_next))
        why = "sequence not in flight";
    if (why) {
        mismatch(gobj, src, why, seq);
        return 0;
    }
    /* The replies of the messages before this one will not come: each
     * connection keeps the order. */
    priv->lost += (int64_t)(seq - c->rx_next);
    c->rx_next = seq + 1;
    priv->received++;
    rtt_hist_add(&priv->interval, now - ts);
    refresh(priv);
    maybe_finish(gobj);
    return 0;
}

static int ac_ignore(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)gobj;
    (void)ev;
    (void)kw;
    (void)src;
    return 0;
}

static int ac_tick(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    eclient_priv_t *priv = gobj_priv(gobj);
    size_t size = (size_t)priv->size;
    bool any = false;
    /* Every connected client sends at once: one timer for all keeps the
     * cost of a tick independent of the number of clients. */
    for (int64_t i = 0; i < priv->clients; i++) {
        client_t *c = &priv->cl[i];
        if (!c->up || c->done)
            continue;
        msg_build(priv->buf, size, (uint32_t)i, c->tx_next, now_us());
        json_t *msg = json_object();
        json_object_set_new(msg, "data", json_stringn_nocheck(priv->buf, size));
        if (gobj_send_event(c->connex, EV_SEND_DATA, msg, gobj) < 0)
            continue; /* GConnex logged why; nothing was sent */
        c->tx_next++;
        priv->sent++;
        any = true;
        if (priv->count > 0 && c->tx_next >= (uint64_t)priv->count)
            client_done(priv, c, true);
    }
    if (any)
        priv->last_progress_ms = gobj_loop_now_msec();
    refresh(priv);
    return 0;
}

static int ac_report(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    eclient_priv_t *priv = gobj_priv(gobj);
    log_report(gobj, "report", &priv->interval, NULL);
    rtt_hist_merge(&priv->total, &priv->interval);
    rtt_hist_reset(&priv->interval);
    return 0;
}

static int ac_idle(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    eclient_priv_t *priv = gobj_priv(gobj);
    uint64_t idle = gobj_loop_now_msec() - priv->last_progress_ms;
    if (idle < (uint64_t)priv->final_timeout) {
        gobj_loop_timer_start(priv->idle, (uint64_t)priv->final_timeout - idle, false);
        return 0;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "final_timeout: nothing sent or received for %lld ms, ending the run",
             (long long)priv->final_timeout);
    gobj_log(GOBJ_LOG_WARN, gobj, msg, "clients_done", json_integer((json_int_t)priv->n_done),
             "in_flight", json_integer(priv->in_flight), NULL);
    finish(gobj, "final_timeout");
    return 0;
}

/*--------------------------------------------------------------------------*
 *  FSM
 *--------------------------------------------------------------------------*/
/* clang-format off */
static const gobj_row_t st_measuring[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_CONNECTED,       ac_connected,       NULL),
    GOBJ_ROW(EV_RX_DATA,         ac_rx_data,         NULL),
    GOBJ_ROW(EV_TRANSMIT_READY,  ac_ignore,          NULL),
    GOBJ_ROW(EV_DISCONNECTED,    ac_disconnected,    NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP,  ac_gave_up,         NULL),
    GOBJ_ROW(EV_ECLIENT_TICK,    ac_tick,            NULL),
    GOBJ_ROW(EV_ECLIENT_REPORT,  ac_report,          NULL),
    GOBJ_ROW(EV_ECLIENT_IDLE,    ac_idle,            NULL),
    {0},
};

static const gobj_row_t st_measured[] = {
    /*       event               action              next state */
    GOBJ_ROW(EV_CONNECTED,       ac_ignore,          NULL),
    GOBJ_ROW(EV_RX_DATA,         ac_ignore,          NULL),
    GOBJ_ROW(EV_TRANSMIT_READY,  ac_ignore,          NULL),
    GOBJ_ROW(EV_DISCONNECTED,    ac_ignore,          NULL),
    GOBJ_ROW(EV_CONNEX_GAVE_UP,  ac_ignore,          NULL),
    GOBJ_ROW(EV_ECLIENT_TICK,    ac_ignore,          NULL),
    GOBJ_ROW(EV_ECLIENT_REPORT,  ac_ignore,          NULL),
    GOBJ_ROW(EV_ECLIENT_IDLE,    ac_ignore,          NULL),
    {0},
};
/* clang-format on */

static const gobj_state_def_t eclient_states[] = {
    GOBJ_STATE(ST_MEASURING, st_measuring),
    GOBJ_STATE(ST_MEASURED, st_measured),
    {0},
};

static const gobj_event_def_t eclient_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname, connex} from a GConnex child"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data, connex} from a GConnex child: one reply"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{connex} from a GConnex child"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason, connex} from a GConnex child"},
    {EV_CONNEX_GAVE_UP, GOBJ_EV_IN, "{destinations, attempts, connex} from a GConnex child"},
    {EV_ECLIENT_TICK, GOBJ_EV_IN, "{} internal: the period timer"},
    {EV_ECLIENT_REPORT, GOBJ_EV_IN, "{} internal: the report_interval timer"},
    {EV_ECLIENT_IDLE, GOBJ_EV_IN, "{} internal: the final_timeout timer"},
    {0},
};

/*--------------------------------------------------------------------------*
 *  Registration
 *--------------------------------------------------------------------------*/
static const gclass_def_t eclient_def = {
    .name = GCLASS_ECHO_CLIENT_NAME,
    .description = "stress client of an echo server: N GConnex, round-trip percentiles",
    .states = eclient_states,
    .events = eclient_events,
    .attrs = eclient_attrs,
    .methods =
        {
            .mt_create = mt_create,
            .mt_start = mt_start,
            .mt_stop = mt_stop,
            .mt_destroy = mt_destroy,
            .mt_check = eclient_check,
        },
    .priv_size = sizeof(eclient_priv_t),
};

int echo_client_register_gclass(void)
{
    if (gclass_find(GCLASS_ECHO_CLIENT_NAME))
        return 0;
    return gclass_register(&eclient_def) ? 0 : GOBJ_ETABLE;
}
