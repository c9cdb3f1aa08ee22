/*
 * test_framing.c - GSock framing ("line", "length"): the frame cutter on its
 * own (every split of a stream, every header size and byte order, the
 * limits), then through a real GSock connected to a plain socket: frames
 * split at every byte boundary, many frames in one read, max_frame and one
 * more, EOF mid-frame, bad lengths, what a framed send puts on the wire,
 * refused sends, the subscriber ending the GSock in the middle of a batch,
 * and backpressure holding frames back.  Loopback only, port 0, time-boxed.
 */
#include "framing.h" /* gobjs/framing.c is built into this test */
#include "socktest.h"

/*---------------------------------------------------------------------*
 *  The cutter alone
 *---------------------------------------------------------------------*/
static gsock_framer_t *mk(const char *framing, const char *delim, bool keep, int64_t max,
                          int64_t lb, const char *endian, bool incl)
{
    gsock_framing_conf_t c = {framing, delim, keep, max, lb, endian, incl};
    gsock_framer_t *fr = NULL;
    T_EQ_INT(gsock_framer__check(NULL, &c), 0);
    T_EQ_INT(gsock_framer__setup(&fr, &c), 0);
    T_ASSERT(fr != NULL);
    return fr;
}

/* Feed in[0..n) to fr; append each frame to out as "<len>:<bytes>|".
 * Returns: 0, or the cutter's error. */
static int feed(gsock_framer_t *fr, const char *in, size_t n, char *out, size_t *olen)
{
    while (n) {
        size_t used;
        const char *f;
        size_t fl;
        int r = gsock_framer__cut(fr, in, n, &used, &f, &fl);
        if (r < 0)
            return r;
        T_ASSERT(used > 0 && used <= n);
        in += used;
        n -= used;
        if (r == 1) {
            *olen += (size_t)sprintf(out + *olen, "%zu:", fl);
            memcpy(out + *olen, f, fl);
            *olen += fl;
            out[(*olen)++] = '|';
        }
    }
    return 0;
}

/* The stream cut whole, at every split into two, and byte by byte, gives
 * the same frames: expect (length expect_n). */
static void check_splits(gsock_framer_t *fr, const char *s, size_t n, const char *expect,
                         size_t expect_n)
{
    static char out[8192];
    for (size_t i = 0; i <= n; i++) {
        size_t ol = 0;
        gsock_framer__reset(fr);
        T_EQ_INT(feed(fr, s, i, out, &ol), 0);
        T_EQ_INT(feed(fr, s + i, n - i, out, &ol), 0);
        T_EQ_INT(ol, expect_n);
        T_ASSERT(ol == expect_n && memcmp(out, expect, ol) == 0);
        T_ASSERT(!gsock_framer__partial(fr));
    }
    size_t ol = 0;
    gsock_framer__reset(fr);
    for (size_t i = 0; i < n; i++)
        T_EQ_INT(feed(fr, s + i, 1, out, &ol), 0);
    T_ASSERT(ol == expect_n && memcmp(out, expect, ol) == 0);
}

#define SPLITS(fr, lit, exp) check_splits(fr, lit, sizeof(lit) - 1, exp, sizeof(exp) - 1)

static void test_cut_line(void)
{
    gsock_framer_t *fr = mk("line", "\n", false, 100, 4, "big", false);
    /* Empty frames, NUL, bytes that are not UTF-8. */
    SPLITS(fr, "ab\n\ncd\n\0\xff\xfe\n", "2:ab|0:|2:cd|3:\0\xff\xfe|");
    gsock_framer__free(fr);

    /* "\r\n": a bare "\n" ends a frame too; the "\r" is not payload. */
    fr = mk("line", "\r\n", false, 100, 4, "big", false);
    SPLITS(fr, "ab\r\ncd\n\r\nx\ry\r\n", "2:ab|2:cd|0:|3:x\ry|");
    gsock_framer__free(fr);
    fr = mk("line", "\r\n", true, 100, 4, "big", false);
    SPLITS(fr, "ab\r\ncd\n\r\n", "4:ab\r\n|3:cd\n|2:\r\n|");
    gsock_framer__free(fr);

    /* A delimiter of several bytes, split anywhere, overlapping itself. */
    fr = mk("line", "||", false, 100, 4, "big", false);
    SPLITS(fr, "a|b||c|||d||||", "3:a|b|1:c|2:|d|0:|");
    gsock_framer__free(fr);
    fr = mk("line", "END", true, 100, 4, "big", false);
    SPLITS(fr, "xENxEND1ENEND", "7:xENxEND|6:1ENEND|");
    gsock_framer__free(fr);
}

static void test_cut_line_limits(void)
{
    char buf[64], out[256];
    size_t ol;
    gsock_framer_t *fr = mk("line", "\n", false, 10, 4, "big", false);
    /* Exactly max_frame, in one piece and split. */
    memset(buf, 'a', 10);
    buf[10] = '\n';
    check_splits(fr, buf, 11, "10:aaaaaaaaaa|", 14);
    /* One more: refused as soon as the 11th byte comes, no delimiter needed. */
    memset(buf + 11, 'a', 11);
    for (size_t i = 1; i <= 10; i++) {
        gsock_framer__reset(fr);
        ol = 0;
        T_EQ_INT(feed(fr, buf, i, out, &ol), 0);
        T_EQ_INT(feed(fr, buf + 11, 11 - i, out, &ol), GSOCK_FRAME_TOO_LARGE);
    }
    gsock_framer__reset(fr);
    ol = 0;
    T_EQ_INT(feed(fr, "aaaaaaaaaaa\n", 12, out, &ol), GSOCK_FRAME_TOO_LARGE);
    gsock_framer__free(fr);

    /* "\r\n": max_frame bytes then "\r\n" fit; max_frame + 1 then "\n" does not. */
    fr = mk("line", "\r\n", false, 3, 4, "big", false);
    check_splits(fr, "abc\r\n", 5, "3:abc|", 6);
    gsock_framer__reset(fr);
    ol = 0;
    T_EQ_INT(feed(fr, "abcd\n", 5, out, &ol), GSOCK_FRAME_TOO_LARGE);
    gsock_framer__reset(fr);
    ol = 0;
    T_EQ_INT(feed(fr, "abc\r", 4, out, &ol), 0);
    T_EQ_INT(feed(fr, "x", 1, out, &ol), GSOCK_FRAME_TOO_LARGE);
    gsock_framer__free(fr);

    /* A long delimiter: max_frame then the delimiter's head is not too
     * large yet. */
    fr = mk("line", "END", false, 2, 4, "big", false);
    check_splits(fr, "abEND", 5, "2:ab|", 5);
    gsock_framer__reset(fr);
    ol = 0;
    T_EQ_INT(feed(fr, "abEN", 4, out, &ol), 0);
    T_EQ_INT(feed(fr, "x", 1, out, &ol), GSOCK_FRAME_TOO_LARGE);
    gsock_framer__free(fr);
}

/* Header of hlen bytes for v, in the byte order asked for. */
static size_t put_hdr(char *p, uint64_t v, unsigned hlen, bool little)
{
    for (unsigned i = 0; i < hlen; i++)
        p[little ? i : hlen - 1 - i] = (char)(unsigned char)(v >> (8 * i));
    return hlen;
}

static void test_cut_length(void)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    static const size_t lens[] = {0, 1, 5, 200, 3};
    static char s[1024], exp[2048];
    for (size_t si = 0; si < 4; si++) {
        for (int little = 0; little < 2; little++) {
            for (int incl = 0; incl < 2; incl++) {
                unsigned h = sizes[si];
                gsock_framer_t *fr =
                    mk("length", "\n", false, 200, h, little ? "little" : "big", incl);
                size_t n = 0, en = 0;
                for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
                    size_t len = lens[k];
                    n += put_hdr(s + n, len + (incl ? h : 0), h, little);
                    /* What the send side would put: the same header. */
                    char hdr[8];
                    const char *wb;
                    bool before;
                    T_EQ_INT(gsock_framer__wrap(fr, len, hdr, &wb, &before), h);
                    T_ASSERT(before && memcmp(wb, s + n - h, h) == 0);
                    for (size_t i = 0; i < len; i++)
                        s[n + i] = (char)(i * 7 + k); /* NULs and high bytes */
                    en += (size_t)sprintf(exp + en, "%zu:", len);
                    memcpy(exp + en, s + n, len);
                    en += len;
                    exp[en++] = '|';
                    n += len;
                }
                check_splits(fr, s, n, exp, en);
                gsock_framer__free(fr);
            }
        }
    }
}

static void test_cut_length_limits(void)
{
    char s[300], out[600];
    size_t ol;
    /* max_frame exactly, then one more: refused from the header alone. */
    gsock_framer_t *fr = mk("length", "\n", false, 10, 2, "big", false);
    size_t n = put_hdr(s, 10, 2, false);
    memset(s + n, 'z', 10);
    check_splits(fr, s, n + 10, "10:zzzzzzzzzz|", 14);
    put_hdr(s, 11, 2, false);
    for (size_t i = 0; i < 2; i++) {
        gsock_framer__reset(fr);
        ol = 0;
        T_EQ_INT(feed(fr, s, i, out, &ol), 0);
        T_EQ_INT(feed(fr, s + i, 2 - i, out, &ol), GSOCK_FRAME_TOO_LARGE);
    }
    T_ASSERT(gsock_framer__refuse(fr, 10) == NULL);
    T_ASSERT(gsock_framer__refuse(fr, 11) != NULL);
    gsock_framer__free(fr);

    /* Counting the header: a value below the header is impossible. */
    fr = mk("length", "\n", false, 10, 4, "little", true);
    put_hdr(s, 3, 4, true);
    ol = 0;
    T_EQ_INT(feed(fr, s, 4, out, &ol), GSOCK_FRAME_INVALID_LENGTH);
    put_hdr(s, 4, 4, true); /* an empty frame */
    gsock_framer__reset(fr);
    ol = 0;
    T_EQ_INT(feed(fr, s, 4, out, &ol), 0);
    T_EQ_INT(ol, 3);
    gsock_framer__free(fr);

    /* A one-byte header cannot say 256: such a send is refused. */
    fr = mk("length", "\n", false, 1000, 1, "big", false);
    T_ASSERT(gsock_framer__refuse(fr, 255) == NULL);
    T_ASSERT(gsock_framer__refuse(fr, 256) != NULL);
    gsock_framer__free(fr);
    /* An 8-byte header with the top bit set is just too large. */
    fr = mk("length", "\n", false, 1000, 8, "big", false);
    put_hdr(s, UINT64_C(1) << 63, 8, false);
    ol = 0;
    T_EQ_INT(feed(fr, s, 8, out, &ol), GSOCK_FRAME_TOO_LARGE);
    gsock_framer__free(fr);
}

static void test_check(void)
{
    t_log_clear();
    gsock_framing_conf_t ok = {"line", "\n", false, 10, 4, "big", false};
    gsock_framing_conf_t c = ok;
    c.framing = "lines";
    T_EQ_INT(gsock_framer__check(NULL, &c), GOBJ_EINVAL);
    T_ASSERT(t_log_find("error", "lines") > 0);
    c = ok;
    c.delimiter = "";
    T_EQ_INT(gsock_framer__check(NULL, &c), GOBJ_EINVAL);
    c = ok;
    c.max_frame = 0;
    T_EQ_INT(gsock_framer__check(NULL, &c), GOBJ_EINVAL);
    c = ok;
    c.framing = "length";
    c.length_bytes = 3;
    T_EQ_INT(gsock_framer__check(NULL, &c), GOBJ_EINVAL);
    c.length_bytes = 2;
    c.length_endian = "middle";
    T_EQ_INT(gsock_framer__check(NULL, &c), GOBJ_EINVAL);
    c = ok;
    c.framing = "none";
    c.max_frame = -1; /* not looked at without framing */
    T_EQ_INT(gsock_framer__check(NULL, &c), 0);
    t_log_clear();
}

/*---------------------------------------------------------------------*
 *  Through a GSock: TFr records each frame its GSock publishes
 *---------------------------------------------------------------------*/
typedef struct {
    int connected, disconnected;
    char reason[200];
    json_t *frames; /* the data strings, in order */
    gobj_t *sock;
    int act_at;       /* at this frame (1-based) ... */
    const char *act;  /* ... "destroy", "stop", "drop" or "reply" */
    size_t reply_len; /* "reply": this many bytes */
    bool echo;        /* send every frame back, before the act */
    int tx_ready;     /* EV_TRANSMIT_READY received */
} fr_rec_t;

typedef struct {
    fr_rec_t *rec;
} tfr_priv_t;

GOBJ_DEFINE_STATE(ST_TF_RUN);

static fr_rec_t rec;
static gobj_t *cli;
static int lfd = -1, pfd = -1; /* the plain listener and peer */

static int ac_tf_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    fr_rec_t *r = ((tfr_priv_t *)gobj_priv(gobj))->rec;
    r->connected++;
    r->sock = src;
    return 0;
}

static int ac_tf_rx(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    fr_rec_t *r = ((tfr_priv_t *)gobj_priv(gobj))->rec;
    json_t *data = json_object_get(kw, "data");
    json_array_append(r->frames, data);
    if (r->echo)
        T_ASSERT(gobj_send_event(src, EV_SEND_DATA, json_pack("{s:O}", "data", data), gobj) >= 0);
    if ((int)json_array_size(r->frames) != r->act_at || !r->act)
        return 0;
    if (strcmp(r->act, "destroy") == 0) {
        gobj_destroy(src);
    } else if (strcmp(r->act, "stop") == 0) {
        gobj_stop(src);
    } else if (strcmp(r->act, "drop") == 0) {
        gobj_send_event(src, EV_DROP, NULL, gobj);
    } else if (strcmp(r->act, "reply") == 0) {
        char *big = malloc(r->reply_len);
        memset(big, 'r', r->reply_len);
        json_t *out = json_object();
        json_object_set_new(out, "data", json_stringn_nocheck(big, r->reply_len));
        free(big);
        /* The send returns the bytes queued (the kernel took the rest). */
        int queued = gobj_send_event(src, EV_SEND_DATA, out, gobj);
        T_ASSERT(queued > 0);
        T_EQ_INT(queued, gobj_read_int(src, "tx_queued"));
    }
    return 0;
}

static int ac_tf_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    fr_rec_t *r = ((tfr_priv_t *)gobj_priv(gobj))->rec;
    r->disconnected++;
    t_copy(r->reason, sizeof r->reason, kw, "reason");
    return 0;
}

static int ac_tf_tx_ready(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    ((tfr_priv_t *)gobj_priv(gobj))->rec->tx_ready++;
    return 0;
}

static const gobj_row_t st_tf_run[] = {
    GOBJ_ROW(EV_CONNECTED, ac_tf_connected, NULL),
    GOBJ_ROW(EV_RX_DATA, ac_tf_rx, NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_tf_tx_ready, NULL),
    GOBJ_ROW(EV_DISCONNECTED, ac_tf_disconnected, NULL),
    {NULL, NULL, NULL, NULL},
};
static const gobj_state_def_t tfr_states[] = {
    GOBJ_STATE(ST_TF_RUN, st_tf_run),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gobj_event_def_t tfr_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname}"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data}"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{}"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason}"},
    {NULL, 0, NULL},
};
static const gclass_def_t tfr_def = {
    .name = "TFr",
    .description = "records frames",
    .states = tfr_states,
    .events = tfr_events,
    .priv_size = sizeof(tfr_priv_t),
};

/* A framed client GSock (attrs) connected to a plain peer socket (pfd).
 * rcvbuf > 0: the peer's receive buffer, small so that output queues. */
static gobj_t *fr_open(json_t *attrs, int rcvbuf)
{
    t_setup();
    if (!gclass_find("TFr"))
        T_ASSERT(gclass_register(&tfr_def) != NULL);
    memset(&rec, 0, sizeof rec);
    rec.frames = json_array();
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
        setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    T_EQ_INT(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    T_EQ_INT(listen(lfd, 4), 0);
    T_EQ_INT(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    cli = gobj_create("cli", gclass_find("TFr"), NULL, NULL);
    ((tfr_priv_t *)gobj_priv(cli))->rec = &rec;
    json_object_set_new(attrs, "host", json_string("127.0.0.1"));
    json_object_set_new(attrs, "port", json_integer(ntohs(a.sin_port)));
    gobj_t *s = gobj_create("sock", gclass_find(GCLASS_GSOCK_NAME), attrs, cli);
    T_ASSERT(s != NULL);
    T_EQ_INT(gobj_start(s), 0);
    T_EQ_INT(gobj_send_event(s, EV_CONNECT, NULL, cli), 0);
    T_ASSERT(RUN_UNTIL(rec.connected == 1, 5000));
    pfd = accept(lfd, NULL, NULL);
    T_ASSERT(pfd >= 0);
    return s;
}

static void fr_close(void)
{
    gobj_destroy(cli);
    cli = NULL;
    if (pfd >= 0)
        close(pfd);
    close(lfd);
    pfd = lfd = -1;
    json_decref(rec.frames);
    rec.frames = NULL;
    t_teardown();
}

static void put(const void *p, size_t n)
{
    T_EQ_INT(send(pfd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static const char *frame(size_t i, size_t *n)
{
    json_t *s = json_array_get(rec.frames, i);
    *n = json_string_length(s);
    return json_string_value(s);
}

#define T_FRAME(i, lit)                                                   \
    do {                                                                  \
        size_t n_;                                                        \
        const char *f_ = frame(i, &n_);                                   \
        T_EQ_INT(n_, sizeof(lit) - 1);                                    \
        T_ASSERT(f_ &&n_ == sizeof(lit) - 1 && memcmp(f_, lit, n_) == 0); \
    } while (0)

/* Read exactly n bytes from the peer (bounded). */
static size_t peer_read(void *buf, size_t n)
{
    size_t got = 0;
    uint64_t deadline = gobj_loop_now_msec() + 5000;
    while (got < n && gobj_loop_now_msec() < deadline) {
        gobj_loop_run_once(false);
        ssize_t r = recv(pfd, (char *)buf + got, n - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
    }
    return got;
}

/* Nothing more from the peer (after the loop ran a while). */
static bool peer_quiet(void)
{
    t_run_for(30);
    char c;
    return recv(pfd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* A stream of frames, written split at every byte boundary: the first
 * part is read by the GSock before the second is written. */
static void test_split_every_byte(void)
{
    gobj_t *s = fr_open(json_pack("{s:s, s:s}", "framing", "line", "delimiter", "\r\n"), 0);
    static const char stream[] = "hello\r\n\r\nw\0rld\n\xff\xfe\r\n";
    size_t n = sizeof stream - 1;
    int64_t bytes = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t before = json_array_size(rec.frames);
        if (i) {
            put(stream, i);
            bytes += (int64_t)i;
            T_ASSERT(RUN_UNTIL(gobj_read_int(s, "rx_bytes") == bytes, 5000));
        }
        if (i < n)
            put(stream + i, n - i);
        bytes += (int64_t)(n - i);
        T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) == before + 4, 5000));
        T_FRAME(before, "hello");
        T_FRAME(before + 1, "");
        T_FRAME(before + 2, "w\0rld");
        T_FRAME(before + 3, "\xff\xfe");
    }
    T_EQ_INT(gobj_read_int(s, "rx_msgs"), 4 * (n + 1));
    T_EQ_INT(rec.disconnected, 0);
    fr_close();
}

/* Many frames in one write are all delivered, in order, from few reads. */
static void test_many_in_one_read(void)
{
    gobj_t *s = fr_open(json_pack("{s:s, s:i}", "framing", "length", "length_bytes", 2), 0);
    static char buf[60000];
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "frame %d", i);
        n += put_hdr(buf + n, (uint64_t)len, 2, false);
        memcpy(buf + n, line, (size_t)len);
        n += (size_t)len;
    }
    put(buf, n);
    T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) == 2000, 5000));
    for (int i = 0; i < 2000; i += 199) {
        char line[32];
        size_t fl;
        int len = snprintf(line, sizeof line, "frame %d", i);
        const char *f = frame((size_t)i, &fl);
        T_ASSERT(fl == (size_t)len && memcmp(f, line, fl) == 0);
    }
    T_EQ_INT(gobj_read_int(s, "rx_msgs"), 2000);
    T_EQ_INT(gobj_read_int(s, "rx_bytes"), n);
    fr_close();
}

/* max_frame exactly passes; one byte more ends the connection at once,
 * without waiting for a delimiter that never comes. */
static void test_max_frame(void)
{
    fr_open(json_pack("{s:s, s:i}", "framing", "line", "max_frame", 8), 0);
    put("12345678\n", 9);
    T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) == 1, 5000));
    T_FRAME(0, "12345678");
    put("123456789", 9);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "frame too large");
    T_EQ_INT(json_array_size(rec.frames), 1);
    fr_close();

    fr_open(json_pack("{s:s, s:i, s:i}", "framing", "length", "max_frame", 8, "length_bytes", 1),
            0);
    put("\x08"
        "12345678"
        "\x09",
        10);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "frame too large");
    T_EQ_INT(json_array_size(rec.frames), 1);
    fr_close();
}

/* The peer ends the stream inside a frame, or sends an impossible length. */
static void test_truncated_and_invalid(void)
{
    fr_open(json_pack("{s:s}", "framing", "line"), 0);
    put("whole\npart", 10);
    T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) == 1, 5000));
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "truncated frame");
    fr_close();

    /* A clean end between frames is the ordinary "peer closed". */
    fr_open(json_pack("{s:s}", "framing", "line"), 0);
    put("whole\n", 6);
    shutdown(pfd, SHUT_WR);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "peer closed");
    T_EQ_INT(json_array_size(rec.frames), 1);
    fr_close();

    fr_open(json_pack("{s:s, s:i, s:b}", "framing", "length", "length_bytes", 4,
                      "length_includes_header", 1),
            0);
    put("\0\0\0\x06"
        "ab"
        "\0\0\0\x03",
        10);
    T_ASSERT(RUN_UNTIL(rec.disconnected == 1, 5000));
    T_EQ_STR(rec.reason, "invalid frame length");
    T_EQ_INT(json_array_size(rec.frames), 1);
    T_FRAME(0, "ab");
    fr_close();
}

static void send_data(gobj_t *s, const char *p, size_t n, int expect)
{
    json_t *kw = json_object();
    json_object_set_new(kw, "data", json_stringn_nocheck(p, n));
    T_EQ_INT(gobj_send_event(s, EV_SEND_DATA, kw, NULL), expect);
}

/* A framed send puts the delimiter or header on the wire; too large is
 * refused, nothing written. */
static void test_send(void)
{
    char got[64];
    gobj_t *s = fr_open(json_pack("{s:s, s:s, s:i, s:b}", "framing", "line", "delimiter", "\r\n",
                                  "max_frame", 5, "keep_delimiter", 1),
                        0);
    send_data(s, "ab\0c", 4, 0);
    send_data(s, "", 0, 0);
    T_EQ_INT(peer_read(got, 8), 8);
    T_ASSERT(memcmp(got, "ab\0c\r\n\r\n", 8) == 0);
    t_log_clear();
    send_data(s, "123456", 6, GOBJ_EINVAL);
    T_ASSERT(t_log_find("error", "max_frame") > 0);
    T_ASSERT(peer_quiet());
    T_EQ_INT(gobj_read_int(s, "tx_msgs"), 2);
    T_EQ_INT(gobj_read_int(s, "tx_bytes"), 8);
    send_data(s, "12345", 5, 0);
    T_EQ_INT(peer_read(got, 7), 7);
    T_ASSERT(memcmp(got, "12345\r\n", 7) == 0);
    T_EQ_INT(rec.disconnected, 0);
    fr_close();

    s = fr_open(json_pack("{s:s, s:i, s:s, s:b}", "framing", "length", "length_bytes", 2,
                          "length_endian", "little", "length_includes_header", 1),
                0);
    send_data(s, "xyz", 3, 0);
    T_EQ_INT(peer_read(got, 5), 5);
    T_ASSERT(memcmp(got, "\x05\x00xyz", 5) == 0);
    fr_close();

    s = fr_open(json_pack("{s:s, s:i}", "framing", "length", "length_bytes", 8), 0);
    send_data(s, "q", 1, 0);
    T_EQ_INT(peer_read(got, 9), 9);
    T_ASSERT(memcmp(got, "\0\0\0\0\0\0\0\x01q", 9) == 0);
    fr_close();

    /* The traffic trace shows every byte a write sent: the delimiter too,
     * and every string of a queue written in one writev (the replies of a
     * batch of frames). */
    s = fr_open(json_pack("{s:s}", "framing", "line"), 0);
    gobj_set_trace(s, GOBJ_TRACE_TRAFFIC);
    t_log_clear();
    send_data(s, "abc", 3, 0);
    T_EQ_INT(peer_read(got, 4), 4);
    T_EQ_INT(t_log_find("trace", "\"bytes\":4,\"gobj\":\"cli.sock\",\"hex\":\"6162630a\""), 1);
    rec.echo = true;
    t_log_clear();
    put("x\ny\n", 4);
    T_EQ_INT(peer_read(got, 4), 4);
    T_EQ_INT(t_log_find("trace", "\"msg\":\"tx\""), 1); /* one write */
    T_EQ_INT(t_log_find("trace", "\"hex\":\"780a790a\""), 2); /* rx and tx */
    gobj_set_trace(s, 0);
    fr_close();
}

/* The subscriber ends the GSock inside EV_RX_DATA, in the middle of a
 * batch of frames from one read: nothing more is delivered. */
static void test_end_inside_batch(void)
{
    static const char *acts[] = {"destroy", "stop", "drop"};
    for (size_t a = 0; a < 3; a++) {
        fr_open(json_pack("{s:s}", "framing", "line"), 0);
        rec.act = acts[a];
        rec.act_at = 2;
        put("1\n2\n3\n4\n5\n", 10);
        T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) >= 2, 5000));
        t_run_for(50);
        T_EQ_INT(json_array_size(rec.frames), 2);
        T_EQ_INT(rec.disconnected, a == 0 ? 0 : 1);
        fr_close();
    }
}

/* The replies to the frames of one read are written together at the end of
 * the batch (one writev, not one write per frame: make bench counts the
 * syscalls): in order, complete, without an EV_TRANSMIT_READY (nothing was
 * ever waiting for the subscriber), also over the cork limit (64 KiB). */
static void test_replies_of_one_read(void)
{
    for (int big = 0; big < 2; big++) {
        gobj_t *s = fr_open(json_pack("{s:s}", "framing", "line"), 0);
        rec.echo = true;
        int n = big ? 1200 : 500;
        size_t len = big ? 100 : 8; /* 1,200 x 101 bytes: past the cork limit */
        static char buf[1200 * 101];
        size_t w = 0;
        for (int i = 0; i < n; i++) {
            int k = snprintf(buf + w, len + 1, "%0*d", (int)len, i);
            T_EQ_INT(k, (int)len);
            w += len;
            buf[w++] = '\n';
        }
        put(buf, w);
        static char got[sizeof buf];
        T_EQ_INT(peer_read(got, w), w);
        T_ASSERT(memcmp(got, buf, w) == 0);
        T_ASSERT(peer_quiet());
        T_EQ_INT(json_array_size(rec.frames), n);
        T_EQ_INT(gobj_read_int(s, "tx_msgs"), n);
        T_EQ_INT(gobj_read_int(s, "tx_bytes"), w);
        T_EQ_INT(gobj_read_int(s, "tx_queued"), 0);
        t_run_for(20);
        T_EQ_INT(rec.tx_ready, 0);
        fr_close();
    }
}

/* Ending the GSock in the middle of a batch whose replies are held: the
 * replies already sent still go out (destroy: as an immediate write would
 * have; stop and drop: before the close), nothing after them. */
static void test_end_inside_batch_with_replies(void)
{
    static const char *acts[] = {"destroy", "stop", "drop"};
    for (size_t a = 0; a < 3; a++) {
        fr_open(json_pack("{s:s}", "framing", "line"), 0);
        rec.echo = true;
        rec.act = acts[a];
        rec.act_at = 2;
        put("1\n2\n3\n4\n5\n", 10);
        char got[8] = {0};
        T_EQ_INT(peer_read(got, 4), 4);
        T_ASSERT(memcmp(got, "1\n2\n", 4) == 0);
        char c;
        T_ASSERT(RUN_UNTIL(recv(pfd, &c, 1, MSG_DONTWAIT) == 0, 5000)); /* then the end */
        T_EQ_INT(json_array_size(rec.frames), 2);
        T_EQ_INT(rec.disconnected, a == 0 ? 0 : 1);
        fr_close();
    }
}

/* Backpressure: a reply above tx_high_water pauses reading in the middle
 * of a batch; the frames left wait, and come in order once the peer reads. */
static void test_backpressure(void)
{
    gobj_t *s = fr_open(
        json_pack("{s:s, s:i, s:i}", "framing", "line", "tx_high_water", 1, "max_frame", 16 << 20),
        4096);
    rec.act = "reply";
    rec.act_at = 1;
    rec.reply_len = 8 << 20;
    put("a\nb\nc\nd\ne\n", 10);
    T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) >= 1, 5000));
    t_run_for(100);
    T_EQ_INT(json_array_size(rec.frames), 1);
    T_ASSERT(gobj_read_int(s, "tx_queued") > 0);
    /* More frames from the peer wait behind them. */
    put("f\n", 2);
    t_run_for(50);
    T_EQ_INT(json_array_size(rec.frames), 1);
    static char sink[1 << 16];
    size_t got = 0;
    uint64_t deadline = gobj_loop_now_msec() + 20000;
    /* The reply and its delimiter. */
    while (got < rec.reply_len + 1 && gobj_loop_now_msec() < deadline) {
        ssize_t r = recv(pfd, sink, sizeof sink, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        gobj_loop_run_once(false);
    }
    T_EQ_INT(got, rec.reply_len + 1);
    T_ASSERT(RUN_UNTIL(json_array_size(rec.frames) == 6, 5000));
    const char *want = "abcdef";
    for (size_t i = 0; i < 6; i++) {
        size_t fl;
        const char *f = frame(i, &fl);
        T_ASSERT(fl == 1 && f[0] == want[i]);
    }
    T_EQ_INT(rec.disconnected, 0);
    fr_close();
}

/* Bad attributes fail the create with an error naming them. */
static void test_bad_attrs(void)
{
    t_setup();
    static const char *bad[][2] = {
        {"framing", "\"lines\""}, {"delimiter", "\"\""},        {"max_frame", "0"},
        {"length_bytes", "3"},    {"length_endian", "\"mid\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_log_clear();
        json_t *attrs = json_pack("{s:s}", "framing", i < 3 ? "line" : "length");
        json_object_set_new(attrs, bad[i][0], json_loads(bad[i][1], JSON_DECODE_ANY, NULL));
        gobj_t *s = gobj_create("bad", gclass_find(GCLASS_GSOCK_NAME), attrs, NULL);
        T_ASSERT(s == NULL);
        T_ASSERT(t_log_find("error", bad[i][0]) > 0);
    }
    t_log_clear();
    t_teardown();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: it must not come */
    t_init();
    test_cut_line();
    test_cut_line_limits();
    test_cut_length();
    test_cut_length_limits();
    test_check();
    test_bad_attrs();
    test_split_every_byte();
    test_many_in_one_read();
    test_max_frame();
    test_truncated_and_invalid();
    test_send();
    test_end_inside_batch();
    test_replies_of_one_read();
    test_end_inside_batch_with_replies();
    test_backpressure();
    return t_done();
}
