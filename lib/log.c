/*
 * log.c - structured log records: {ts, level, gobj, msg, fields...}.
 *
 * Contract (see include/ginsfsm/log.h):
 *   - A record is a JSON object whose keys come in this order: "ts" (RFC 3339
 *     UTC with milliseconds, "2026-11-24T15:41:03.123Z"), "level" ("error",
 *     "warn", "info", "debug", "trace"), "gobj" (the full name, "" without a
 *     gobj), "msg", then the caller's fields in the order given.
 *   - A field is never overwritten and never overwrites: a key that is
 *     already in the record ("msg", or a repeated key) is kept as
 *     "field_<key>", prefixed again until the name is free.
 *   - Records above the current level are dropped; GOBJ_LOG_TRACE records are
 *     always emitted because the trace layer decided to call.  Out-of-range
 *     levels are never emitted.  The capture hook does not change filtering.
 *   - Every json_t handed in is stolen, on every path, enabled or not.
 *   - Each record becomes one line, built whole and written with one write(2)
 *     (continued after EINTR or a partial write), so records never
 *     interleave.  TEXT: `TS LEVEL gobj: msg key=value ...`; JSON: the record
 *     as compact JSON.  Control characters never reach the line unescaped.
 *   - Bytes that are not valid UTF-8 (binary "data" built with
 *     json_stringn_nocheck, a raw msg) are shown as the four characters
 *     "\xNN" per bad byte, so that every record stays valid JSON for the
 *     writer and for the capture hook alike.
 *   - The capture hook is called after the line was written (or skipped for
 *     fd -1), with the record borrowed.  A hook that logs is called again for
 *     its own record.
 *   - errno is preserved across every logging call, so that code can log a
 *     failure and then still read errno.
 *
 * Only libc and jansson are used.  The state is the level, the format, the fd
 * and the capture hook, nothing else.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r, strcasecmp, poll */
#endif

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"

/* gobj_logf formats into a buffer of this size; longer messages are cut at
 * a character boundary and end with LOG_TRUNCATED. */
#define LOG_MSG_MAX   4096
#define LOG_TRUNCATED "...[truncated]"
/* Most lines fit on the stack; longer ones move to the heap. */
#define LOG_LINE_STACK 1024
/* How long a write to a full non-blocking fd may wait before the rest of the
 * record is dropped: logging must not hang the loop on a stuck reader. */
#define LOG_WRITE_WAIT_MS    1000
#define LOG_FIELD_PREFIX     "field_"
#define LOG_FIELD_PREFIX_LEN (sizeof LOG_FIELD_PREFIX - 1)

static gobj_log_level_t log_level = GOBJ_LOG_INFO;
static gobj_log_format_t log_format = GOBJ_LOG_TEXT;
static int log_fd = 2;
static gobj_log_capture_fn log_capture;
static void *log_capture_user;

static const char *const level_names[] = {
    [GOBJ_LOG_ERROR] = "error", [GOBJ_LOG_WARN] = "warn",   [GOBJ_LOG_INFO] = "info",
    [GOBJ_LOG_DEBUG] = "debug", [GOBJ_LOG_TRACE] = "trace",
};
/* TEXT format: upper case, padded to 5 so that the columns line up. */
static const char *const level_tags[] = {
    [GOBJ_LOG_ERROR] = "ERROR", [GOBJ_LOG_WARN] = "WARN ",  [GOBJ_LOG_INFO] = "INFO ",
    [GOBJ_LOG_DEBUG] = "DEBUG", [GOBJ_LOG_TRACE] = "TRACE",
};

/* The record's own keys, which come first and which fields never reuse. */
static const char *const reserved_keys[] = {"ts", "level", "gobj", "msg"};

/*--------------------------------------------------------------------------*
 *  Settings
 *--------------------------------------------------------------------------*/
void gobj_log_set_level(gobj_log_level_t level)
{
    /* An out-of-range level would make every later comparison meaningless;
     * it is ignored and the current level stays. */
    if ((unsigned)level <= (unsigned)GOBJ_LOG_TRACE)
        log_level = level;
}

gobj_log_level_t gobj_log_get_level(void)
{
    return log_level;
}

void gobj_log_set_format(gobj_log_format_t format)
{
    if (format == GOBJ_LOG_TEXT || format == GOBJ_LOG_JSON)
        log_format = format;
}

int gobj_log_level_from_name(const char *name, gobj_log_level_t *level)
{
    if (!name || !level)
        return GOBJ_EINVAL;
    /* Names come from the command line and from config files, where "INFO"
     * means the same as "info". */
    for (unsigned i = 0; i <= (unsigned)GOBJ_LOG_TRACE; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = (gobj_log_level_t)i;
            return 0;
        }
    }
    return GOBJ_EINVAL;
}

const char *gobj_log_level_name(gobj_log_level_t level)
{
    if ((unsigned)level > (unsigned)GOBJ_LOG_TRACE)
        return "unknown";
    return level_names[level];
}

void gobj_log_set_fd(int fd)
{
    log_fd = fd < 0 ? -1 : fd;
}

void gobj_log_set_capture(gobj_log_capture_fn fn, void *user)
{
    log_capture = fn;
    log_capture_user = fn ? user : NULL;
}

bool gobj_log_enabled(gobj_log_level_t level)
{
    /* The unsigned compare also rejects negative levels. */
    return (unsigned)level <= (unsigned)log_level || level == GOBJ_LOG_TRACE;
}

/* Would an enabled record reach anyone?  With no fd and no hook the record
 * is not even built. */
static bool log_has_sink(void)
{
    return log_fd >= 0 || log_capture != NULL;
}

/*--------------------------------------------------------------------------*
 *  UTF-8: records must stay valid JSON whatever bytes the caller had
 *--------------------------------------------------------------------------*/
/* Returns: the length of the valid UTF-8 sequence at s (1..4), or 0.  The
 * rules are jansson's: no overlong forms, no surrogates, nothing above
 * U+10FFFF, so that whatever passes here jansson can dump. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
        return 0;
    return len;
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* Returns: a malloc'd copy of s (NUL-terminated, length in *out_len) with
 * each byte of an invalid sequence replaced by the text "\xNN", or NULL. */
static char *utf8_repair(const char *s, size_t n, size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* A bad byte grows to 4 characters; nothing grows more. */
    char *out = malloc(4 * n + 1);
    size_t o = 0, i = 0;

    if (!out)
        return NULL;
    while (i < n) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (k > 0) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 0x0F];
            i++;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Returns: a JSON string for a C string from the caller (new), or NULL. */
static json_t *log_text_new(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return json_string_nocheck("");
    if (utf8_valid(s, n))
        return json_stringn_nocheck(s, n);
    size_t fixed_len;
    char *fixed = utf8_repair(s, n, &fixed_len);
    if (!fixed)
        return NULL;
    json_t *str = json_stringn_nocheck(fixed, fixed_len);
    free(fixed);
    return str;
}

static bool json_is_clean(json_t *value)
{
    size_t i;
    json_t *item;

    switch (json_typeof(value)) {
    case JSON_STRING:
        return utf8_valid(json_string_value(value), json_string_length(value));
    case JSON_OBJECT:
        for (void *it = json_object_iter(value); it; it = json_object_iter_next(value, it)) {
            if (!utf8_valid(json_object_iter_key(it), json_object_iter_key_len(it)) ||
                !json_is_clean(json_object_iter_value(it)))
                return false;
        }
        return true;
    case JSON_ARRAY:
        json_array_foreach (value, i, item) {
            if (!json_is_clean(item))
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* Returns: a copy of value in which every string and key is valid UTF-8
 * (new; clean strings and scalars are shared), or NULL. */
static json_t *json_repaired(json_t *value)
{
    size_t i, len;
    json_t *item, *copy;
    char *fixed;

    switch (json_typeof(value)) {
    case JSON_STRING:
        if (utf8_valid(json_string_value(value), json_string_length(value)))
            return json_incref(value);
        fixed = utf8_repair(json_string_value(value), json_string_length(value), &len);
        if (!fixed)
            return NULL;
        copy = json_stringn_nocheck(fixed, len);
        free(fixed);
        return copy;
    case JSON_OBJECT:
        copy = json_object();
        if (!copy)
            return NULL;
        for (void *it = json_object_iter(value); it; it = json_object_iter_next(value, it)) {
            item = json_repaired(json_object_iter_value(it));
            fixed = utf8_repair(json_object_iter_key(it), json_object_iter_key_len(it), &len);
            if (!fixed) {
                json_decref(item);
                json_decref(copy);
                return NULL;
            }
            /* On failure jansson releases item itself. */
            if (json_object_setn_new_nocheck(copy, fixed, len, item) < 0) {
                free(fixed);
                json_decref(copy);
                return NULL;
            }
            free(fixed);
        }
        return copy;
    case JSON_ARRAY:
        copy = json_array();
        if (!copy)
            return NULL;
        json_array_foreach (value, i, item) {
            if (json_array_append_new(copy, json_repaired(item)) < 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    default:
        return json_incref(value);
    }
}

/* value: stolen.  Returns: value itself when it is valid UTF-8 throughout,
 * else a repaired copy (new), or NULL. */
static json_t *log_clean(json_t *value)
{
    if (json_is_clean(value))
        return value;
    json_t *copy = json_repaired(value);
    json_decref(value);
    return copy;
}

/*--------------------------------------------------------------------------*
 *  Building the record
 *--------------------------------------------------------------------------*/
/* "2026-11-24T15:41:03.123Z" into buf (at least 32 bytes). */
static void log_timestamp(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;

    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        now.tv_sec = time(NULL);
        now.tv_nsec = 0;
    }
    if (!gmtime_r(&now.tv_sec, &tm)) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(now.tv_nsec / 1000000) % 1000);
}

/* Returns: {ts, level, gobj, msg} (new), or NULL when out of memory. */
static json_t *log_record_new(gobj_log_level_t level, const gobj_t *gobj, const char *msg)
{
    char ts[64];
    const char *name = gobj ? gobj_full_name(gobj) : NULL;
    json_t *record = json_object();

    if (!record)
        return NULL;
    log_timestamp(ts, sizeof ts);
    if (json_object_set_new_nocheck(record, "ts", json_string_nocheck(ts)) < 0 ||
        json_object_set_new_nocheck(record, "level", json_string_nocheck(level_names[level])) < 0 ||
        json_object_set_new_nocheck(record, "gobj", log_text_new(name)) < 0 ||
        json_object_set_new_nocheck(record, "msg", log_text_new(msg)) < 0) {
        json_decref(record);
        return NULL;
    }
    return record;
}

/* Add one field.  value: stolen (NULL means JSON null).  A key already in the
 * record is kept as "field_<key>" rather than overwriting or being lost. */
static void log_add_field(json_t *record, const char *key, size_t key_len, json_t *value)
{
    char *owned = NULL;

    value = value ? log_clean(value) : json_null();
    if (!value)
        return;
    if (!utf8_valid(key, key_len)) {
        owned = utf8_repair(key, key_len, &key_len);
        if (!owned) {
            json_decref(value);
            return;
        }
        key = owned;
    }
    while (json_object_getn(record, key, key_len)) {
        char *longer = malloc(LOG_FIELD_PREFIX_LEN + key_len + 1);
        if (!longer) {
            free(owned);
            json_decref(value);
            return;
        }
        memcpy(longer, LOG_FIELD_PREFIX, LOG_FIELD_PREFIX_LEN);
        memcpy(longer + LOG_FIELD_PREFIX_LEN, key, key_len);
        longer[LOG_FIELD_PREFIX_LEN + key_len] = '\0';
        free(owned);
        owned = longer;
        key = longer;
        key_len += LOG_FIELD_PREFIX_LEN;
    }
    /* On failure jansson releases the value itself. */
    json_object_setn_new_nocheck(record, key, key_len, value);
    free(owned);
}

/*--------------------------------------------------------------------------*
 *  Rendering one line
 *--------------------------------------------------------------------------*/
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* out of memory: the line is dropped, the hook still runs */
    char stack[LOG_LINE_STACK];
} log_line_t;

static void line_init(log_line_t *line)
{
    line->data = line->stack;
    line->len = 0;
    line->cap = sizeof line->stack;
    line->failed = false;
}

static void line_free(log_line_t *line)
{
    if (line->data != line->stack)
        free(line->data);
}

static void line_add(log_line_t *line, const char *s, size_t n)
{
    if (line->failed)
        return;
    if (n > line->cap - line->len) {
        size_t cap = line->cap;
        while (n > cap - line->len) {
            if (cap > SIZE_MAX / 2) {
                line->failed = true;
                return;
            }
            cap *= 2;
        }
        char *data;
        if (line->data == line->stack) {
            data = malloc(cap);
            if (data)
                memcpy(data, line->stack, line->len);
        } else {
            data = realloc(line->data, cap);
        }
        if (!data) {
            line->failed = true;
            return;
        }
        line->data = data;
        line->cap = cap;
    }
    memcpy(line->data + line->len, s, n);
    line->len += n;
}

static void line_adds(log_line_t *line, const char *s)
{
    line_add(line, s, strlen(s));
}

static int line_dump_cb(const char *buffer, size_t size, void *data)
{
    log_line_t *line = data;
    line_add(line, buffer, size);
    return line->failed ? -1 : 0;
}

static void line_add_json(log_line_t *line, const json_t *value, size_t flags)
{
    if (json_dump_callback(value, line_dump_cb, line, flags) < 0)
        line->failed = true;
}

/* Free text (msg, gobj name, keys) in TEXT format: printed bare, but no
 * control character may reach the line, and a backslash is doubled so that
 * an escape in the output always means an escape. */
static void line_add_escaped(log_line_t *line, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t esc_len = 2;

        if (c >= 0x20 && c != 0x7F && c != '\\')
            continue;
        line_add(line, s + start, i - start);
        start = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0x0F];
            esc_len = 6;
            break;
        }
        line_add(line, esc, esc_len);
    }
    line_add(line, s + start, n - start);
}

/* A string value is printed bare only when a reader splitting on spaces and
 * '=' would get it back exactly. */
static bool text_is_bare(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\')
            return false;
    }
    return true;
}

static bool is_reserved_key(const char *key, size_t key_len)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++) {
        if (strlen(reserved_keys[i]) == key_len && memcmp(reserved_keys[i], key, key_len) == 0)
            return true;
    }
    return false;
}

/* `TS LEVEL gobj: msg key=value ...` */
static void render_text(log_line_t *line, gobj_log_level_t level, json_t *record)
{
    json_t *gobj = json_object_get(record, "gobj");
    json_t *msg = json_object_get(record, "msg");
    const char *key;
    size_t key_len;
    json_t *value;

    line_adds(line, json_string_value(json_object_get(record, "ts")));
    line_add(line, " ", 1);
    line_adds(line, level_tags[level]);
    line_add(line, " ", 1);
    if (json_string_length(gobj) > 0)
        line_add_escaped(line, json_string_value(gobj), json_string_length(gobj));
    else
        line_add(line, "-", 1);
    line_add(line, ": ", 2);
    line_add_escaped(line, json_string_value(msg), json_string_length(msg));

    /* Iterated with key lengths: since jansson 2.14 a key may hold NUL. */
    for (void *it = json_object_iter(record); it; it = json_object_iter_next(record, it)) {
        key = json_object_iter_key(it);
        key_len = json_object_iter_key_len(it);
        value = json_object_iter_value(it);
        if (is_reserved_key(key, key_len))
            continue;
        line_add(line, " ", 1);
        line_add_escaped(line, key, key_len);
        line_add(line, "=", 1);
        if (json_is_string(value) &&
            text_is_bare(json_string_value(value), json_string_length(value)))
            line_add(line, json_string_value(value), json_string_length(value));
        else
            line_add_json(line, value, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    line_add(line, "\n", 1);
}

static void render_json(log_line_t *line, json_t *record)
{
    /* Jansson keeps insertion order, so the line reads ts, level, gobj, msg,
     * then the fields; compact output has no newline of its own. */
    line_add_json(line, record, JSON_COMPACT);
    line_add(line, "\n", 1);
}

/* The whole line, once: a record must never be split by another one. */
static void log_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int r = poll(&pfd, 1, LOG_WRITE_WAIT_MS);
            if (r > 0 || (r < 0 && errno == EINTR))
                continue;
        }
        /* There is nowhere to report a failing log: the record is lost. */
        return;
    }
}

/* record: stolen (NULL after an allocation failure: nothing to emit). */
static void log_emit(gobj_log_level_t level, json_t *record)
{
    if (!record)
        return;
    if (log_fd >= 0) {
        log_line_t line;
        line_init(&line);
        if (log_format == GOBJ_LOG_JSON)
            render_json(&line, record);
        else
            render_text(&line, level, record);
        if (!line.failed)
            log_write_all(log_fd, line.data, line.len);
        line_free(&line);
    }
    if (log_capture)
        log_capture(record, log_capture_user);
    json_decref(record);
}

/*--------------------------------------------------------------------------*
 *  Logging
 *--------------------------------------------------------------------------*/
void gobj_logv(gobj_log_level_t level, const gobj_t *gobj, const char *msg, va_list ap)
{
    int saved_errno = errno;
    json_t *record = NULL;
    const char *key;

    if (gobj_log_enabled(level) && log_has_sink())
        record = log_record_new(level, gobj, msg);
    /* The pairs are walked on every path, because every value is stolen:
     * a disabled level (record NULL) only releases them. */
    while ((key = va_arg(ap, const char *)) != NULL) {
        json_t *value = va_arg(ap, json_t *);
        if (record)
            log_add_field(record, key, strlen(key), value);
        else
            json_decref(value);
    }
    log_emit(level, record);
    errno = saved_errno;
}

void gobj_log(gobj_log_level_t level, const gobj_t *gobj, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    gobj_logv(level, gobj, msg, ap);
    va_end(ap);
}

void gobj_log_json(gobj_log_level_t level, const gobj_t *gobj, const char *msg, json_t *fields)
{
    int saved_errno = errno;

    if (!gobj_log_enabled(level) || !log_has_sink()) {
        json_decref(fields);
        return;
    }
    json_t *record = log_record_new(level, gobj, msg);
    if (record && json_is_object(fields)) {
        for (void *it = json_object_iter(fields); it; it = json_object_iter_next(fields, it)) {
            log_add_field(record, json_object_iter_key(it), json_object_iter_key_len(it),
                          json_incref(json_object_iter_value(it)));
        }
    } else if (record && fields) {
        /* Not an object: still worth showing, under one key. */
        log_add_field(record, "fields", strlen("fields"), json_incref(fields));
    }
    json_decref(fields);
    log_emit(level, record);
    errno = saved_errno;
}

/* Cut msg (a full buffer of size bytes) so that it ends with LOG_TRUNCATED,
 * never in the middle of a UTF-8 character. */
static void log_truncate(char *msg, size_t size)
{
    size_t cut = size - sizeof LOG_TRUNCATED;
    size_t start = cut;

    /* Find where the character straddling the cut begins (at most three
     * continuation bytes back) and drop it if it does not fit whole. */
    while (start > 0 && cut - start < 3 && ((unsigned char)msg[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && (unsigned char)msg[start - 1] >= 0xC0) {
        size_t k = utf8_seq_len((const unsigned char *)msg + start - 1, cut - (start - 1));
        if (k == 0)
            cut = start - 1;
    }
    memcpy(msg + cut, LOG_TRUNCATED, sizeof LOG_TRUNCATED);
}

void gobj_logf(gobj_log_level_t level, const gobj_t *gobj, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[LOG_MSG_MAX];
    va_list ap;

    if (!gobj_log_enabled(level) || !log_has_sink())
        return;
    int n = 0;
    msg[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (n < 0)
        snprintf(msg, sizeof msg, "(unprintable log message)");
    else if ((size_t)n >= sizeof msg)
        log_truncate(msg, sizeof msg);
    log_emit(level, log_record_new(level, gobj, msg));
    errno = saved_errno;
}
