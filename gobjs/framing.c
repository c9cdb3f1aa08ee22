/*
 * framing.c - the frame cutter under GSock: "line" (a delimiter ends each
 * frame) and "length" (a 1, 2, 4 or 8 byte header, big or little endian,
 * counting the header or not, gives each frame's size).
 *
 * Why it works in place: most reads hold whole frames, and a frame found in
 * the read buffer is returned as a pointer into it (the caller copies it
 * once, into the EV_RX_DATA string).  Only a frame split across reads is
 * copied into the framer's buffer, which never holds more than one frame:
 * max_frame plus its delimiter or header.  A frame that cannot fit is found
 * as soon as that is known (a length header, or max_frame bytes without a
 * delimiter), never by buffering its end.
 */
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "ginsfsm/log.h"

/*---------------------------------------------------------------------*
 *  Configuration
 *---------------------------------------------------------------------*/
/* The first bad framing attribute of c: its name, with *value (a new
 * reference) and *expected set; NULL when all are good. */
static const char *framing_fault(const gsock_framing_conf_t *c, json_t **value,
                                 const char **expected)
{
    const char *f = c->framing ? c->framing : "";
    bool line = strcmp(f, "line") == 0, length = strcmp(f, "length") == 0;
    if (!line && !length && strcmp(f, "none") != 0) {
        *value = json_string(f);
        *expected = "\"none\", \"line\" or \"length\"";
        return "framing";
    }
    if (!line && !length)
        return NULL;
    if (c->max_frame <= 0) {
        *value = json_integer((json_int_t)c->max_frame);
        *expected = "a size in bytes > 0";
        return "max_frame";
    }
    if (line) {
        size_t dl = c->delimiter ? strlen(c->delimiter) : 0;
        if (dl > 0 && dl <= GSOCK_DELIM_MAX)
            return NULL;
        *value = json_string(c->delimiter ? c->delimiter : "");
        *expected = "1 to 8 bytes";
        return "delimiter";
    }
    int64_t lb = c->length_bytes;
    if (lb != 1 && lb != 2 && lb != 4 && lb != 8) {
        *value = json_integer((json_int_t)lb);
        *expected = "1, 2, 4 or 8";
        return "length_bytes";
    }
    const char *e = c->length_endian ? c->length_endian : "";
    if (strcmp(e, "big") != 0 && strcmp(e, "little") != 0) {
        *value = json_string(e);
        *expected = "\"big\" or \"little\"";
        return "length_endian";
    }
    return NULL;
}

int gsock_framer__check(gobj_t *gobj, const gsock_framing_conf_t *c)
{
    json_t *value = NULL;
    const char *expected = NULL;
    const char *attr = framing_fault(c, &value, &expected);
    if (!attr)
        return 0;
    gobj_log(GOBJ_LOG_ERROR, gobj, "GSock: bad framing attribute", "attr", json_string(attr),
             "value", value, "expected", json_string(expected), NULL);
    return GOBJ_EINVAL;
}

int gsock_framer__explain(const gsock_framing_conf_t *c, char *why, size_t why_len)
{
    json_t *value = NULL;
    const char *expected = NULL;
    const char *attr = framing_fault(c, &value, &expected);
    if (!attr)
        return 0;
    /* (Not json_dumps: its buffer belongs to jansson's allocator.) */
    if (json_is_string(value))
        snprintf(why, why_len, "GSock attribute '%s' is \"%s\": expected %s", attr,
                 json_string_value(value), expected);
    else
        snprintf(why, why_len, "GSock attribute '%s' is %lld: expected %s", attr,
                 (long long)json_integer_value(value), expected);
    json_decref(value);
    return GOBJ_EINVAL;
}

void gsock_framer__free(gsock_framer_t *fr)
{
    if (!fr)
        return;
    json_decref(fr->delim_str);
    free(fr->buf);
    free(fr->stash);
    free(fr);
}

void gsock_framer__reset(gsock_framer_t *fr)
{
    if (!fr)
        return;
    fr->len = 0;
    fr->need = 0;
    fr->stash_len = 0;
}

int gsock_framer__setup(gsock_framer_t **frp, const gsock_framing_conf_t *c)
{
    const char *f = c->framing ? c->framing : "none";
    gsock_framing_t kind = strcmp(f, "line") == 0     ? GSOCK_FRAMING_LINE
                           : strcmp(f, "length") == 0 ? GSOCK_FRAMING_LENGTH
                                                      : GSOCK_FRAMING_NONE;
    if (kind == GSOCK_FRAMING_NONE) {
        gsock_framer__free(*frp);
        *frp = NULL;
        return 0;
    }
    gsock_framer_t *fr = *frp;
    if (!fr) {
        fr = calloc(1, sizeof *fr);
        if (!fr)
            return GOBJ_ENOMEM;
    }
    json_decref(fr->delim_str);
    fr->delim_str = NULL;
    fr->kind = kind;
    fr->keep = c->keep_delimiter;
    fr->max_frame = (size_t)c->max_frame;
    if (kind == GSOCK_FRAMING_LINE) {
        fr->dlen = strlen(c->delimiter);
        memcpy(fr->delim, c->delimiter, fr->dlen);
        fr->crlf = fr->dlen == 2 && memcmp(fr->delim, "\r\n", 2) == 0;
        fr->delim_str = json_stringn_nocheck(fr->delim, fr->dlen);
        if (!fr->delim_str) {
            if (!*frp)
                free(fr);
            return GOBJ_ENOMEM;
        }
    } else {
        fr->hlen = (unsigned)c->length_bytes;
        fr->little = strcmp(c->length_endian, "little") == 0;
        fr->incl = c->length_includes_header;
    }
    gsock_framer__reset(fr);
    *frp = fr;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Buffers
 *---------------------------------------------------------------------*/
static int grow(char **buf, size_t *cap, size_t want)
{
    if (want <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < want)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return GSOCK_FRAME_NOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static int append(gsock_framer_t *fr, const char *p, size_t n)
{
    if (grow(&fr->buf, &fr->cap, fr->len + n) < 0)
        return GSOCK_FRAME_NOMEM;
    memcpy(fr->buf + fr->len, p, n);
    fr->len += n;
    return 0;
}

int gsock_framer__stash(gsock_framer_t *fr, const char *in, size_t n)
{
    /* in may point into the stash itself (a stash cut in part). */
    if (in >= fr->stash && in < fr->stash + fr->stash_len) {
        memmove(fr->stash, in, n);
        fr->stash_len = n;
        return 0;
    }
    if (grow(&fr->stash, &fr->stash_cap, n) < 0)
        return GOBJ_ENOMEM;
    memcpy(fr->stash, in, n);
    fr->stash_len = n;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Line framing
 *---------------------------------------------------------------------*/
/* The first delimiter in p[0..n): its offset, or n. */
static size_t find_delim(const gsock_framer_t *fr, const char *p, size_t n)
{
    const char *q;
    if (fr->crlf || fr->dlen == 1)
        q = memchr(p, fr->crlf ? '\n' : fr->delim[0], n);
    else
        q = memmem(p, n, fr->delim, fr->dlen);
    return q ? (size_t)(q - p) : n;
}

/* The payload of a frame of n bytes before its delimiter: with "\r\n", a
 * bare "\n" ends a frame too, and the "\r" before it is not payload. */
static size_t payload_len(const gsock_framer_t *fr, const char *frame, size_t n)
{
    if (fr->crlf && n > 0 && frame[n - 1] == '\r')
        return n - 1;
    return n;
}

static int cut_line(gsock_framer_t *fr, const char *in, size_t n, size_t *used, const char **frame,
                    size_t *flen)
{
    size_t seplen = fr->crlf ? 1 : fr->dlen;
    /* The most bytes without a whole delimiter that may still be a frame:
     * max_frame, then the start of the delimiter. */
    size_t limit = fr->max_frame + (fr->crlf ? 1 : fr->dlen - 1);

    if (fr->len == 0) {
        size_t pos = find_delim(fr, in, n);
        if (pos == n) {
            if (n > limit)
                return GSOCK_FRAME_TOO_LARGE;
            *used = n;
            return append(fr, in, n);
        }
        size_t plen = payload_len(fr, in, pos);
        if (plen > fr->max_frame)
            return GSOCK_FRAME_TOO_LARGE;
        *frame = in;
        *flen = fr->keep ? pos + seplen : plen;
        *used = pos + seplen;
        return 1;
    }

    /* A delimiter that started in the partial frame. */
    if (!fr->crlf && fr->dlen > 1) {
        size_t s = fr->len > fr->dlen - 1 ? fr->len - (fr->dlen - 1) : 0;
        for (; s < fr->len; s++) {
            size_t k = fr->len - s;
            if (n >= fr->dlen - k && memcmp(fr->buf + s, fr->delim, k) == 0 &&
                memcmp(in, fr->delim + k, fr->dlen - k) == 0) {
                if (s > fr->max_frame)
                    return GSOCK_FRAME_TOO_LARGE;
                *used = fr->dlen - k;
                if (fr->keep && append(fr, in, *used) < 0)
                    return GSOCK_FRAME_NOMEM;
                *frame = fr->buf;
                *flen = fr->keep ? fr->len : s;
                fr->len = 0;
                return 1;
            }
        }
    }
    size_t pos = find_delim(fr, in, n);
    if (pos == n) {
        if (fr->len + n > limit)
            return GSOCK_FRAME_TOO_LARGE;
        *used = n;
        return append(fr, in, n);
    }
    size_t total = fr->len + pos;
    if (total > limit)
        return GSOCK_FRAME_TOO_LARGE;
    if (append(fr, in, fr->keep ? pos + seplen : pos) < 0)
        return GSOCK_FRAME_NOMEM;
    size_t plen = payload_len(fr, fr->buf, total);
    if (plen > fr->max_frame)
        return GSOCK_FRAME_TOO_LARGE;
    *frame = fr->buf;
    *flen = fr->keep ? fr->len : plen;
    *used = pos + seplen;
    fr->len = 0;
    return 1;
}

/*---------------------------------------------------------------------*
 *  Length framing
 *---------------------------------------------------------------------*/
static uint64_t decode(const gsock_framer_t *fr, const unsigned char *h)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < fr->hlen; i++)
        v = (v << 8) | h[fr->little ? fr->hlen - 1 - i : i];
    return v;
}

/* The frame's size, header included, from its header; or an error. */
static int64_t frame_size(const gsock_framer_t *fr, const char *h)
{
    uint64_t v = decode(fr, (const unsigned char *)h);
    if (fr->incl) {
        if (v < fr->hlen)
            return GSOCK_FRAME_INVALID_LENGTH;
        v -= fr->hlen;
    }
    if (v > fr->max_frame)
        return GSOCK_FRAME_TOO_LARGE;
    return (int64_t)(v + fr->hlen);
}

static int cut_length(gsock_framer_t *fr, const char *in, size_t n, size_t *used,
                      const char **frame, size_t *flen)
{
    if (fr->len == 0 && n >= fr->hlen) {
        int64_t size = frame_size(fr, in);
        if (size < 0)
            return (int)size;
        if (n >= (uint64_t)size) {
            *frame = in + fr->hlen;
            *flen = (size_t)size - fr->hlen;
            *used = (size_t)size;
            return 1;
        }
        fr->need = (uint64_t)size;
        *used = n;
        return append(fr, in, n);
    }
    /* A frame split across reads: complete its header, then its payload. */
    size_t off = 0;
    if (fr->need == 0) {
        size_t k = fr->hlen - fr->len < n ? fr->hlen - fr->len : n;
        if (append(fr, in, k) < 0)
            return GSOCK_FRAME_NOMEM;
        off = k;
        if (fr->len < fr->hlen) {
            *used = n;
            return 0;
        }
        int64_t size = frame_size(fr, fr->buf);
        if (size < 0)
            return (int)size;
        fr->need = (uint64_t)size;
    }
    size_t k = fr->need - fr->len < n - off ? (size_t)(fr->need - fr->len) : n - off;
    if (append(fr, in + off, k) < 0)
        return GSOCK_FRAME_NOMEM;
    *used = off + k;
    if (fr->len < fr->need)
        return 0;
    *frame = fr->buf + fr->hlen;
    *flen = fr->len - fr->hlen;
    fr->len = 0;
    fr->need = 0;
    return 1;
}

/*---------------------------------------------------------------------*
 *  Public (to GSock)
 *---------------------------------------------------------------------*/
int gsock_framer__cut(gsock_framer_t *fr, const char *in, size_t n, size_t *used,
                      const char **frame, size_t *flen)
{
    *used = 0;
    if (fr->kind == GSOCK_FRAMING_LINE)
        return cut_line(fr, in, n, used, frame, flen);
    return cut_length(fr, in, n, used, frame, flen);
}

const char *gsock_framer__refuse(const gsock_framer_t *fr, size_t len)
{
    if (len > fr->max_frame)
        return "GSock: EV_SEND_DATA data is larger than max_frame, not sent";
    if (fr->kind == GSOCK_FRAMING_LENGTH && fr->hlen < 8) {
        uint64_t v = (uint64_t)len + (fr->incl ? fr->hlen : 0);
        if (v >> (8 * fr->hlen))
            return "GSock: EV_SEND_DATA data is too long for a length_bytes header, not sent";
    }
    return NULL;
}

size_t gsock_framer__wrap(const gsock_framer_t *fr, size_t len, char *hdr, const char **bytes,
                          bool *before)
{
    if (fr->kind == GSOCK_FRAMING_LINE) {
        *bytes = fr->delim;
        *before = false;
        return fr->dlen;
    }
    uint64_t v = (uint64_t)len + (fr->incl ? fr->hlen : 0);
    for (unsigned i = 0; i < fr->hlen; i++) {
        unsigned char b = (unsigned char)(v >> (8 * i));
        hdr[fr->little ? i : fr->hlen - 1 - i] = (char)b;
    }
    *bytes = hdr;
    *before = true;
    return fr->hlen;
}
