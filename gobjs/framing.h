/*
 * framing.h - private: the frame cutter under GSock (framing "line" and
 * "length").  One gsock_framer_t per GSock whose framing is not "none"; the
 * receive path (sock_rx.c) asks it for whole frames in the bytes of a read,
 * and the send path asks it for the delimiter or header of a payload.
 *
 * Receiving costs no copy when a whole frame is in the read buffer: the
 * frame returned points into it.  Only a frame split across reads is copied
 * into the framer's own buffer (its head on the first read, the rest when it
 * completes), bounded by max_frame plus the header or delimiter.
 */
#ifndef GINSFSM_GOBJS_FRAMING_H
#define GINSFSM_GOBJS_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ginsfsm/gobj.h"

typedef enum {
    GSOCK_FRAMING_NONE = 0,
    GSOCK_FRAMING_LINE,
    GSOCK_FRAMING_LENGTH,
} gsock_framing_t;

/* The configuration, as the attributes give it. */
typedef struct {
    const char *framing;   /* "none" | "line" | "length" */
    const char *delimiter; /* line: not empty, at most 8 bytes */
    bool keep_delimiter;
    int64_t max_frame;    /* > 0 */
    int64_t length_bytes; /* 1, 2, 4 or 8 */
    const char *length_endian;
    bool length_includes_header;
} gsock_framing_conf_t;

#define GSOCK_DELIM_MAX 8

typedef struct {
    /* Configuration. */
    gsock_framing_t kind;
    char delim[GSOCK_DELIM_MAX];
    size_t dlen;
    bool crlf; /* delimiter "\r\n": a bare "\n" ends a frame too */
    bool keep;
    size_t max_frame;
    unsigned hlen; /* length: header bytes */
    bool little;
    bool incl;         /* the length counts the header */
    json_t *delim_str; /* line: the delimiter, queued by reference when a send is short */

    /* The partial frame: bytes of a frame whose end has not come yet. */
    char *buf;
    size_t len, cap;
    uint64_t need; /* length: payload + header bytes of the frame in buf, 0 = header incomplete */

    /* Bytes of a read not cut yet, kept while reading is paused (or the
     * subscriber stopped the delivery): cut before the socket is read again. */
    char *stash;
    size_t stash_len, stash_cap;
} gsock_framer_t;

/* Results of gsock_framer__cut besides 1 (a frame) and 0 (need more). */
enum {
    GSOCK_FRAME_TOO_LARGE = -1,
    GSOCK_FRAME_INVALID_LENGTH = -2,
    GSOCK_FRAME_NOMEM = -3,
};

/*
 * Check conf and say what is wrong with it: an error log naming gobj, the
 * attribute and the value.  Returns: 0, or GOBJ_EINVAL.
 */
int gsock_framer__check(gobj_t *gobj, const gsock_framing_conf_t *conf);
/* The same check without a gobj: 0, or GOBJ_EINVAL with a one-line reason
 * naming the attribute, its value and what is expected in why. */
int gsock_framer__explain(const gsock_framing_conf_t *conf, char *why, size_t why_len);

/*
 * Make (or remake, *fr may be NULL) the framer for conf, emptied; conf must
 * have passed gsock_framer__check.  framing "none" frees it (*fr = NULL).
 * Returns: 0, or GOBJ_ENOMEM (*fr unchanged).
 */
int gsock_framer__setup(gsock_framer_t **fr, const gsock_framing_conf_t *conf);

void gsock_framer__free(gsock_framer_t *fr);

/* Forget any partial frame and stashed bytes (a new connection). */
void gsock_framer__reset(gsock_framer_t *fr);

/*
 * Cut the next frame from in[0..n).  *used is how many bytes of in were
 * consumed.  Returns 1 with *frame, *flen set: the frame points into in or
 * into the framer, valid until the next call; 0: all of in was consumed and
 * kept as a partial frame; or a GSOCK_FRAME_* error.
 */
int gsock_framer__cut(gsock_framer_t *fr, const char *in, size_t n, size_t *used,
                      const char **frame, size_t *flen);

/* A partial frame is held (an end of the stream now truncates it). */
static inline bool gsock_framer__partial(const gsock_framer_t *fr)
{
    return fr->len > 0 || fr->stash_len > 0;
}

/* Keep in[0..n) to be cut later.  Returns: 0, or GOBJ_ENOMEM. */
int gsock_framer__stash(gsock_framer_t *fr, const char *in, size_t n);

/* A payload of len bytes may be sent: at most max_frame, and a length its
 * header can express.  Returns: NULL, or why not (a static string). */
const char *gsock_framer__refuse(const gsock_framer_t *fr, size_t len);

/*
 * The bytes a payload of len bytes is sent with: the header (length),
 * written to hdr (at least 8 bytes), or the delimiter (line), pointed to.
 * Returns the count, before (*before true: the header) or after the payload.
 */
size_t gsock_framer__wrap(const gsock_framer_t *fr, size_t len, char *hdr, const char **bytes,
                          bool *before);

#endif /* GINSFSM_GOBJS_FRAMING_H */
