/*
 * test_log.c - the logging half of log.h: levels and their names, the
 * record layout, the TEXT and JSON lines, escaping, field-name collisions,
 * invalid UTF-8, gobj_logf truncation, the capture hook, and the "stolen"
 * rule for every json_t handed in, including when the level is disabled.
 *
 * Formatted output is checked by pointing the log fd at a temporary file,
 * reading it back, and pointing it at -1 again as testlib expects.
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

/*--------------------------------------------------------------------------*
 *  Output to a temporary file
 *--------------------------------------------------------------------------*/
static FILE *out_file;

static void out_begin(gobj_log_format_t format)
{
    int fd = fileno(out_file);
    T_ASSERT(ftruncate(fd, 0) == 0);
    T_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
    gobj_log_set_format(format);
    gobj_log_set_fd(fd);
}

/* Returns: what was logged since out_begin (malloc'd, NUL-terminated; the
 * length in *len so that stray NUL bytes can be detected). */
static char *out_end(size_t *len)
{
    int fd = fileno(out_file);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text;
    size_t got = 0;

    gobj_log_set_fd(-1);
    gobj_log_set_format(GOBJ_LOG_TEXT);
    T_ASSERT(size >= 0);
    if (size < 0)
        size = 0;
    text = malloc((size_t)size + 1);
    if (!text)
        abort();
    T_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
    while (got < (size_t)size) {
        ssize_t r = read(fd, text + got, (size_t)size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    T_EQ_INT(got, size);
    text[got] = '\0';
    if (len)
        *len = got;
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* Line i of text, without its newline (malloc'd), or NULL. */
static char *line_at(const char *text, size_t i)
{
    for (; i > 0 && text; i--) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    if (!text || !*text)
        return NULL;
    const char *end = strchr(text, '\n');
    size_t n = end ? (size_t)(end - text) : strlen(text);
    char *line = malloc(n + 1);
    if (!line)
        abort();
    memcpy(line, text, n);
    line[n] = '\0';
    return line;
}

/* The keys of an object joined by commas, in iteration order. */
static void keys_of(const json_t *obj, char *buf, size_t size)
{
    const char *key;
    json_t *value;
    size_t used = 0;

    buf[0] = '\0';
    json_object_foreach((json_t *)obj, key, value) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", key);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

/* The last captured record (new), or NULL. */
static json_t *last_record(void)
{
    return t_log_count() ? t_log_get(t_log_count() - 1) : NULL;
}

static const char *rec_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/*--------------------------------------------------------------------------*
 *  A tiny gclass, so that records can name a real gobj
 *--------------------------------------------------------------------------*/
GOBJ_DEFINE_STATE(ST_LOG_IDLE);
GOBJ_DEFINE_EVENT(EV_LOG_PING);

static int ac_ping(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    gobj_log(GOBJ_LOG_INFO, gobj, "ping received", "from",
             json_string(src ? gobj_full_name(src) : ""), NULL);
    return 0;
}

/*  ST_LOG_IDLE --EV_LOG_PING / ac_ping--> ST_LOG_IDLE */
static const gobj_row_t st_log_idle[] = {
    /*       event          action    next state */
    GOBJ_ROW(EV_LOG_PING,   ac_ping,  NULL),
    { 0 },
};
static const gobj_state_def_t log_states[] = {
    { .state = ST_LOG_IDLE, .rows = st_log_idle },
    { 0 },
};
static const gobj_event_def_t log_events[] = {
    { EV_LOG_PING, GOBJ_EV_IN, "{}" },
    { 0 },
};
static const gclass_def_t log_gclass_def = {
    .name = "LogProbe",
    .description = "a gobj whose only job is to be named in log records",
    .states = log_states,
    .events = log_events,
    .priv_size = 0,
};

/*--------------------------------------------------------------------------*
 *  Tests
 *--------------------------------------------------------------------------*/
static void test_level_names(void)
{
    static const gobj_log_level_t levels[] = {
        GOBJ_LOG_ERROR, GOBJ_LOG_WARN, GOBJ_LOG_INFO, GOBJ_LOG_DEBUG, GOBJ_LOG_TRACE,
    };
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    gobj_log_level_t level;

    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        T_EQ_STR(gobj_log_level_name(levels[i]), names[i]);
        level = GOBJ_LOG_ERROR;
        T_EQ_INT(gobj_log_level_from_name(gobj_log_level_name(levels[i]), &level), 0);
        T_EQ_INT(level, levels[i]);
    }

    /* Command lines and configs may shout. */
    T_EQ_INT(gobj_log_level_from_name("INFO", &level), 0);
    T_EQ_INT(level, GOBJ_LOG_INFO);

    /* Unknown names are refused and leave *level alone. */
    level = GOBJ_LOG_DEBUG;
    T_EQ_INT(gobj_log_level_from_name("verbose", &level), GOBJ_EINVAL);
    T_EQ_INT(gobj_log_level_from_name("warning", &level), GOBJ_EINVAL);
    T_EQ_INT(gobj_log_level_from_name("", &level), GOBJ_EINVAL);
    T_EQ_INT(gobj_log_level_from_name("info ", &level), GOBJ_EINVAL);
    T_EQ_INT(gobj_log_level_from_name(NULL, &level), GOBJ_EINVAL);
    T_EQ_INT(gobj_log_level_from_name("info", NULL), GOBJ_EINVAL);
    T_EQ_INT(level, GOBJ_LOG_DEBUG);

    T_EQ_STR(gobj_log_level_name((gobj_log_level_t)42), "unknown");
}

static void test_level_filter(void)
{
    gobj_log_set_level(GOBJ_LOG_WARN);
    T_EQ_INT(gobj_log_get_level(), GOBJ_LOG_WARN);
    T_ASSERT(gobj_log_enabled(GOBJ_LOG_ERROR));
    T_ASSERT(gobj_log_enabled(GOBJ_LOG_WARN));
    T_ASSERT(!gobj_log_enabled(GOBJ_LOG_INFO));
    T_ASSERT(!gobj_log_enabled(GOBJ_LOG_DEBUG));
    /* Trace records are emitted whatever the level: the trace layer has
     * already decided. */
    T_ASSERT(gobj_log_enabled(GOBJ_LOG_TRACE));
    T_ASSERT(!gobj_log_enabled((gobj_log_level_t)-1));
    T_ASSERT(!gobj_log_enabled((gobj_log_level_t)7));

    t_log_clear();
    gobj_log(GOBJ_LOG_ERROR, NULL, "f-error", NULL);
    gobj_log(GOBJ_LOG_WARN, NULL, "f-warn", NULL);
    gobj_log(GOBJ_LOG_INFO, NULL, "f-info", NULL);
    gobj_log(GOBJ_LOG_DEBUG, NULL, "f-debug", NULL);
    gobj_log(GOBJ_LOG_TRACE, NULL, "f-trace", NULL);
    gobj_logf(GOBJ_LOG_INFO, NULL, "f-%s", "infof");
    gobj_logf(GOBJ_LOG_WARN, NULL, "f-%s", "warnf");
    gobj_log_json(GOBJ_LOG_DEBUG, NULL, "f-debugj", NULL);
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "f-errorj", NULL);
    gobj_log((gobj_log_level_t)9, NULL, "f-bogus", NULL);
    T_EQ_INT(t_log_count(), 5);
    T_EQ_INT(t_log_find("error", "\"f-error\""), 1);
    T_EQ_INT(t_log_find("warn", "\"f-warn\""), 1);
    T_EQ_INT(t_log_find("trace", "\"f-trace\""), 1);
    T_EQ_INT(t_log_find("warn", "\"f-warnf\""), 1);
    T_EQ_INT(t_log_find("error", "\"f-errorj\""), 1);
    T_EQ_INT(t_log_find("info", NULL), 0);
    T_EQ_INT(t_log_find("debug", NULL), 0);
    T_EQ_INT(t_log_find(NULL, "f-bogus"), 0);

    /* An out-of-range level is ignored, not stored. */
    gobj_log_set_level((gobj_log_level_t)42);
    T_EQ_INT(gobj_log_get_level(), GOBJ_LOG_WARN);
    gobj_log_set_level((gobj_log_level_t)-3);
    T_EQ_INT(gobj_log_get_level(), GOBJ_LOG_WARN);

    gobj_log_set_level(GOBJ_LOG_ERROR);
    T_ASSERT(!gobj_log_enabled(GOBJ_LOG_WARN));
    gobj_log_set_level(GOBJ_LOG_TRACE);
    T_ASSERT(gobj_log_enabled(GOBJ_LOG_DEBUG));
    gobj_log_set_level(GOBJ_LOG_DEBUG);
    t_log_clear();
}

static void test_release_when_disabled(void)
{
    long before = t_json_live;

    gobj_log_set_level(GOBJ_LOG_ERROR);
    t_log_clear();
    gobj_log(GOBJ_LOG_INFO, NULL, "dropped", "a", json_string("v"), "b",
             json_pack("{s:[i,i]}", "k", 1, 2), "c", NULL, NULL);
    gobj_log_json(GOBJ_LOG_DEBUG, NULL, "dropped", json_pack("{s:i}", "n", 1));
    gobj_log_json(GOBJ_LOG_WARN, NULL, "dropped", json_string("not an object"));
    gobj_log((gobj_log_level_t)9, NULL, "dropped", "x", json_integer(1), NULL);
    T_EQ_INT(t_log_count(), 0);
    T_EQ_INT(t_json_live, before);

    /* A shared value: the caller keeps its own reference, the log steals
     * exactly one. */
    json_t *shared = json_pack("{s:s}", "x", "y");
    gobj_log(GOBJ_LOG_DEBUG, NULL, "dropped", "s", json_incref(shared), NULL);
    T_EQ_INT(shared->refcount, 1);
    gobj_log(GOBJ_LOG_ERROR, NULL, "kept", "s", json_incref(shared), NULL);
    T_EQ_INT(shared->refcount, 1);
    json_decref(shared);
    T_EQ_INT(t_log_count(), 1);

    /* With no fd and no hook an enabled record has nowhere to go: its values
     * are released all the same. */
    gobj_log_set_capture(NULL, NULL);
    gobj_log(GOBJ_LOG_ERROR, NULL, "nowhere", "a", json_string("v"), NULL);
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "nowhere", json_pack("{s:i}", "n", 1));
    gobj_logf(GOBJ_LOG_ERROR, NULL, "nowhere %d", 1);
    gobj_log_set_capture(t_capture, NULL);
    T_EQ_INT(t_log_count(), 1);

    /* An emitted record releases everything too (testlib keeps its copies
     * outside the json_t count). */
    gobj_log(GOBJ_LOG_ERROR, NULL, "emitted", "a", json_string("v"), "b",
             json_pack("[i,{s:n}]", 1, "z"), NULL);
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "emitted", json_pack("{s:i}", "n", 1));
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "emitted", json_integer(3));
    T_EQ_INT(t_log_count(), 4);
    T_EQ_INT(t_json_live, before);

    gobj_log_set_level(GOBJ_LOG_DEBUG);
    t_log_clear();
}

static void test_json_format(void)
{
    char keys[256];
    size_t len;

    t_log_clear();
    out_begin(GOBJ_LOG_JSON);
    gobj_log(GOBJ_LOG_INFO, NULL, "started", "port", json_integer(7000), "host",
             json_string("127.0.0.1"), "ok", json_true(), "none", NULL, "list",
             json_pack("[i,s]", 1, "two"), NULL);
    gobj_log_json(GOBJ_LOG_WARN, NULL, "second\nline", json_pack("{s:f}", "ratio", 0.5));
    /* A bad format value is ignored: JSON stays. */
    gobj_log_set_format((gobj_log_format_t)7);
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "third", NULL);
    char *out = out_end(&len);

    T_EQ_INT(strlen(out), len);
    T_EQ_INT(count_lines(out), 3);
    T_ASSERT(len > 0 && out[len - 1] == '\n');

    char *line = line_at(out, 0);
    json_error_t err;
    json_t *rec = line ? json_loads(line, 0, &err) : NULL;
    T_ASSERT(json_is_object(rec));
    if (rec) {
        keys_of(rec, keys, sizeof keys);
        T_EQ_STR(keys, "ts,level,gobj,msg,port,host,ok,none,list");
        T_EQ_STR(rec_str(rec, "level"), "info");
        T_EQ_STR(rec_str(rec, "gobj"), "");
        T_EQ_STR(rec_str(rec, "msg"), "started");
        T_EQ_INT(json_integer_value(json_object_get(rec, "port")), 7000);
        T_EQ_STR(rec_str(rec, "host"), "127.0.0.1");
        T_ASSERT(json_is_true(json_object_get(rec, "ok")));
        T_ASSERT(json_is_null(json_object_get(rec, "none")));
        T_EQ_INT(json_array_size(json_object_get(rec, "list")), 2);
        T_EQ_STR(json_string_value(json_array_get(json_object_get(rec, "list"), 1)), "two");
    }
    /* The line on the fd and the record given to the hook are the same. */
    json_t *captured = t_log_get(0);
    T_ASSERT(rec && captured && json_equal(rec, captured));
    json_decref(captured);
    json_decref(rec);
    free(line);

    line = line_at(out, 1);
    rec = line ? json_loads(line, 0, &err) : NULL;
    T_ASSERT(json_is_object(rec));
    T_EQ_STR(rec_str(rec, "level"), "warn");
    T_EQ_STR(rec_str(rec, "msg"), "second\nline");
    T_ASSERT(json_real_value(json_object_get(rec, "ratio")) == 0.5);
    json_decref(rec);
    free(line);

    line = line_at(out, 2);
    rec = line ? json_loads(line, 0, &err) : NULL;
    T_ASSERT(json_is_object(rec));
    T_EQ_INT(json_object_size(rec), 4);
    T_EQ_STR(rec_str(rec, "level"), "error");
    json_decref(rec);
    free(line);
    free(out);

    T_EQ_INT(t_log_count(), 3);
    t_log_clear();
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void test_ts_shape(void)
{
    t_log_clear();
    time_t before = time(NULL);
    gobj_log(GOBJ_LOG_INFO, NULL, "when", NULL);
    json_t *rec = last_record();
    const char *ts = rec_str(rec, "ts");

    T_ASSERT(ts != NULL);
    if (ts) {
        /* 2026-11-24T15:41:03.123Z */
        T_EQ_INT(strlen(ts), 24);
        T_ASSERT(strlen(ts) == 24 && all_digits(ts, 4) && ts[4] == '-' &&
                 all_digits(ts + 5, 2) && ts[7] == '-' && all_digits(ts + 8, 2) &&
                 ts[10] == 'T' && all_digits(ts + 11, 2) && ts[13] == ':' &&
                 all_digits(ts + 14, 2) && ts[16] == ':' && all_digits(ts + 17, 2) &&
                 ts[19] == '.' && all_digits(ts + 20, 3) && ts[23] == 'Z');
        struct tm tm = {0};
        int ms = -1;
        T_EQ_INT(sscanf(ts, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                 7);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        /* UTC, and close to now: a day either way is generous enough for
         * any machine, and still catches local time or a bad epoch. */
        time_t t = timegm(&tm);
        T_ASSERT(t != (time_t)-1);
        T_ASSERT(t >= before - 86400 && t <= time(NULL) + 86400);
        T_ASSERT(ms >= 0 && ms <= 999);
    }
    json_decref(rec);
    t_log_clear();
}

static void test_text_format(void)
{
    size_t len;

    t_log_clear();
    out_begin(GOBJ_LOG_TEXT);
    gobj_log(GOBJ_LOG_INFO, NULL, "hello world", "addr", json_string("127.0.0.1:7000"),
             "n", json_integer(5), "spaced", json_string("a b"), "nl",
             json_string("x\ny"), "eq", json_string("k=v"), "quote",
             json_string("say \"hi\""), "empty", json_string(""), "obj",
             json_pack("{s:i}", "a", 1), "nothing", NULL, "utf8",
             json_string("caf\xc3\xa9"), NULL);
    gobj_log(GOBJ_LOG_ERROR, NULL, "two\nlines\tand\\slash\x01", NULL);
    gobj_log(GOBJ_LOG_DEBUG, NULL, "", "k", json_string("v"), NULL);
    gobj_log(GOBJ_LOG_TRACE, NULL, "traced", NULL);
    gobj_log(GOBJ_LOG_WARN, NULL, "key escaping", "bad key\n", json_integer(1), NULL);
    char *out = out_end(&len);

    T_EQ_INT(strlen(out), len);
    T_EQ_INT(count_lines(out), 5);

    char *line = line_at(out, 0);
    T_ASSERT(line && strlen(line) > 25);
    if (line && strlen(line) > 25) {
        /* The line's timestamp is the record's. */
        json_t *rec = t_log_get(0);
        const char *ts = rec_str(rec, "ts");
        T_ASSERT(ts && strncmp(line, ts, 24) == 0);
        json_decref(rec);
        T_EQ_INT(line[24], ' ');
        T_EQ_STR(line + 25,
                 "INFO  -: hello world addr=127.0.0.1:7000 n=5 spaced=\"a b\" "
                 "nl=\"x\\ny\" eq=\"k=v\" quote=\"say \\\"hi\\\"\" empty=\"\" "
                 "obj={\"a\":1} nothing=null utf8=caf\xc3\xa9");
    }
    free(line);

    line = line_at(out, 1);
    T_ASSERT(line && strlen(line) > 25);
    if (line && strlen(line) > 25)
        T_EQ_STR(line + 25, "ERROR -: two\\nlines\\tand\\\\slash\\u0001");
    free(line);

    line = line_at(out, 2);
    T_ASSERT(line && strlen(line) > 25);
    if (line && strlen(line) > 25)
        T_EQ_STR(line + 25, "DEBUG -:  k=v");
    free(line);

    line = line_at(out, 3);
    T_ASSERT(line && strlen(line) > 25);
    if (line && strlen(line) > 25)
        T_EQ_STR(line + 25, "TRACE -: traced");
    free(line);

    line = line_at(out, 4);
    T_ASSERT(line && strlen(line) > 25);
    if (line && strlen(line) > 25)
        T_EQ_STR(line + 25, "WARN  -: key escaping bad key\\n=1");
    free(line);
    free(out);
    t_log_clear();
}

static void test_collisions(void)
{
    json_t *rec;

    t_log_clear();
    gobj_log(GOBJ_LOG_INFO, NULL, "real", "msg", json_string("inner"), "ts",
             json_integer(1), "level", json_string("x"), "gobj", json_string("g"),
             NULL);
    rec = last_record();
    T_EQ_STR(rec_str(rec, "msg"), "real");
    T_EQ_STR(rec_str(rec, "level"), "info");
    T_EQ_STR(rec_str(rec, "gobj"), "");
    T_ASSERT(json_is_string(json_object_get(rec, "ts")));
    T_EQ_STR(rec_str(rec, "field_msg"), "inner");
    T_EQ_INT(json_integer_value(json_object_get(rec, "field_ts")), 1);
    T_EQ_STR(rec_str(rec, "field_level"), "x");
    T_EQ_STR(rec_str(rec, "field_gobj"), "g");
    T_EQ_INT(json_object_size(rec), 8);
    json_decref(rec);

    /* Renaming never loses a value, even when the new name is taken. */
    gobj_log_json(GOBJ_LOG_INFO, NULL, "m",
                  json_pack("{s:i,s:i}", "msg", 1, "field_msg", 2));
    rec = last_record();
    T_EQ_STR(rec_str(rec, "msg"), "m");
    T_EQ_INT(json_integer_value(json_object_get(rec, "field_msg")), 1);
    T_EQ_INT(json_integer_value(json_object_get(rec, "field_field_msg")), 2);
    T_EQ_INT(json_object_size(rec), 6);
    json_decref(rec);

    /* A repeated key in the pairs is kept, not overwritten. */
    gobj_log(GOBJ_LOG_INFO, NULL, "dup", "k", json_integer(1), "k", json_integer(2), NULL);
    rec = last_record();
    T_EQ_INT(json_integer_value(json_object_get(rec, "k")), 1);
    T_EQ_INT(json_integer_value(json_object_get(rec, "field_k")), 2);
    json_decref(rec);

    /* Fields that are not an object still show, under "fields". */
    gobj_log_json(GOBJ_LOG_INFO, NULL, "odd", json_pack("[i,i]", 1, 2));
    rec = last_record();
    T_EQ_INT(json_array_size(json_object_get(rec, "fields")), 2);
    json_decref(rec);
    t_log_clear();
}

static void test_invalid_utf8(void)
{
    size_t len;
    json_t *rec;

    t_log_clear();
    out_begin(GOBJ_LOG_TEXT);
    /* Binary payloads travel as strings built without a UTF-8 check: the
     * record must still be valid JSON, for the hook and for the line. */
    gobj_log(GOBJ_LOG_INFO, NULL, "bad \xc3( msg", "data",
             json_stringn_nocheck("ab\xff\0c", 5), "nested",
             json_pack("{s:[o]}", "arr", json_stringn_nocheck("\xfe", 1)),
             "k\xff", json_integer(1), NULL);
    char *out = out_end(&len);

    T_EQ_INT(t_log_count(), 1);
    /* t_log_get would refuse the escaped NUL: parse with JSON_ALLOW_NUL. */
    json_error_t err;
    rec = t_log_text(0) ? json_loads(t_log_text(0), JSON_ALLOW_NUL, &err) : NULL;
    T_ASSERT(json_is_object(rec));
    T_EQ_STR(rec_str(rec, "msg"), "bad \\xc3( msg");
    json_t *data = json_object_get(rec, "data");
    T_EQ_INT(json_string_length(data), 8);
    T_ASSERT(json_string_length(data) == 8 &&
             memcmp(json_string_value(data), "ab\\xff\0c", 8) == 0);
    T_EQ_STR(json_string_value(json_array_get(
                 json_object_get(json_object_get(rec, "nested"), "arr"), 0)),
             "\\xfe");
    T_EQ_INT(json_integer_value(json_object_get(rec, "k\\xff")), 1);
    json_decref(rec);

    /* One line, no raw NUL: the embedded NUL is escaped. */
    T_EQ_INT(strlen(out), len);
    T_EQ_INT(count_lines(out), 1);
    T_CONTAINS(out, "INFO  -: bad \\\\xc3( msg data=\"ab\\\\xff\\u0000c\" "
                    "nested={\"arr\":[\"\\\\xfe\"]} k\\\\xff=1\n");
    free(out);

    /* The same in JSON: the line parses. */
    json_t *bad_keys = json_object();
    json_object_set_new_nocheck(bad_keys, "q\xfe", json_integer(2));
    out_begin(GOBJ_LOG_JSON);
    gobj_log(GOBJ_LOG_INFO, NULL, "bin", "data", json_stringn_nocheck("\x80\x81", 2), "obj",
             bad_keys, NULL);
    out = out_end(&len);
    T_EQ_INT(count_lines(out), 1);
    rec = json_loads(out, 0, &err);
    T_EQ_STR(rec_str(rec, "data"), "\\x80\\x81");
    T_EQ_INT(json_integer_value(json_object_get(json_object_get(rec, "obj"), "q\\xfe")), 2);
    json_decref(rec);
    free(out);
    t_log_clear();
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_logf(void)
{
    json_t *rec;
    const char *msg;

    t_log_clear();
    gobj_logf(GOBJ_LOG_INFO, NULL, "x=%d s=%s", 42, "str");
    rec = last_record();
    T_EQ_STR(rec_str(rec, "msg"), "x=42 s=str");
    T_EQ_STR(rec_str(rec, "level"), "info");
    T_EQ_INT(json_object_size(rec), 4);
    json_decref(rec);

    /* A huge message is cut, marked, and stays within 4 KiB. */
    size_t big_len = 10000;
    char *big = malloc(big_len + 1);
    if (!big)
        abort();
    memset(big, 'a', big_len);
    big[big_len] = '\0';
    gobj_logf(GOBJ_LOG_WARN, NULL, "%s", big);
    rec = last_record();
    msg = rec_str(rec, "msg");
    T_ASSERT(msg && strlen(msg) < 4096 && strlen(msg) > 4000);
    T_ASSERT(msg && ends_with(msg, "...[truncated]"));
    T_ASSERT(msg && strncmp(msg, big, 4000) == 0);
    json_decref(rec);

    /* Cut inside a two-byte character: whichever parity, the message stays
     * valid UTF-8, so no "\x" repair shows up. */
    for (size_t i = 0; i + 1 < big_len; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    for (int shift = 0; shift < 2; shift++) {
        gobj_logf(GOBJ_LOG_WARN, NULL, "%s%s", shift ? "a" : "", big);
        rec = last_record();
        msg = rec_str(rec, "msg");
        T_ASSERT(msg && ends_with(msg, "...[truncated]"));
        T_ASSERT(msg && !strstr(msg, "\\x"));
        T_ASSERT(msg && strlen(msg) < 4096);
        json_decref(rec);
    }
    free(big);

    /* Disabled: nothing is formatted or recorded. */
    size_t n = t_log_count();
    gobj_log_set_level(GOBJ_LOG_ERROR);
    gobj_logf(GOBJ_LOG_INFO, NULL, "hidden %d", 1);
    gobj_log_set_level(GOBJ_LOG_DEBUG);
    T_EQ_INT(t_log_count(), n);
    t_log_clear();
}

static int hook_calls;
static char hook_keys[256];

static void order_hook(const json_t *record, void *user)
{
    hook_calls++;
    T_ASSERT(user == &hook_calls);
    keys_of(record, hook_keys, sizeof hook_keys);
    t_capture(record, NULL);
}

static void test_capture_and_fd(void)
{
    size_t len;

    t_log_clear();
    hook_calls = 0;
    gobj_log_set_capture(order_hook, &hook_calls);

    /* The hook sees the record whether or not it is written. */
    out_begin(GOBJ_LOG_JSON);
    gobj_log(GOBJ_LOG_INFO, NULL, "both", "b", json_integer(2), "a", json_integer(1), NULL);
    char *out = out_end(&len);
    T_EQ_INT(hook_calls, 1);
    T_EQ_STR(hook_keys, "ts,level,gobj,msg,b,a");
    T_EQ_INT(count_lines(out), 1);
    T_CONTAINS(out, "\"msg\":\"both\",\"b\":2,\"a\":1}\n");
    free(out);

    out_begin(GOBJ_LOG_JSON);
    gobj_log_set_fd(-1);
    gobj_log(GOBJ_LOG_INFO, NULL, "hook only", NULL);
    out = out_end(&len);
    T_EQ_INT(hook_calls, 2);
    T_EQ_INT(len, 0);
    free(out);

    /* Without a hook the fd still gets the line. */
    gobj_log_set_capture(NULL, NULL);
    out_begin(GOBJ_LOG_TEXT);
    gobj_log(GOBJ_LOG_INFO, NULL, "fd only", NULL);
    out = out_end(&len);
    T_EQ_INT(hook_calls, 2);
    T_EQ_INT(count_lines(out), 1);
    T_CONTAINS(out, "INFO  -: fd only\n");
    free(out);

    gobj_log_set_capture(t_capture, NULL);
    T_EQ_INT(t_log_count(), 2);
    t_log_clear();
}

static void test_large_record(void)
{
    size_t len, big_len = 300000;
    char *big = malloc(big_len + 1);

    if (!big)
        abort();
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    out_begin(GOBJ_LOG_TEXT);
    gobj_log(GOBJ_LOG_INFO, NULL, "big", "payload", json_string(big), NULL);
    char *out = out_end(&len);
    T_EQ_INT(count_lines(out), 1);
    T_ASSERT(len > big_len && out[len - 1] == '\n');
    T_CONTAINS(out, "INFO  -: big payload=xxxx");
    free(out);
    free(big);
    t_log_clear();
}

static void test_errno_preserved(void)
{
    /* A descriptor number that is certainly closed makes write(2) fail. */
    int closed = dup(fileno(out_file));
    T_ASSERT(closed >= 0);
    close(closed);

    gobj_log_set_fd(closed);
    errno = ENOTTY;
    gobj_log(GOBJ_LOG_ERROR, NULL, "to a closed fd", "x", json_integer(1), NULL);
    T_EQ_INT(errno, ENOTTY);
    errno = ENOTTY;
    gobj_logf(GOBJ_LOG_ERROR, NULL, "to a closed fd %d", 2);
    T_EQ_INT(errno, ENOTTY);
    errno = ENOTTY;
    gobj_log_json(GOBJ_LOG_ERROR, NULL, "to a closed fd", json_pack("{s:i}", "x", 3));
    T_EQ_INT(errno, ENOTTY);
    gobj_log_set_fd(-1);
    /* The hook got all three all the same. */
    T_EQ_INT(t_log_find("error", "to a closed fd"), 3);
    t_log_clear();
}

static void test_gobj_name(void)
{
    size_t len;
    json_t *rec;

    gclass_t *gc = gclass_register(&log_gclass_def);
    T_ASSERT(gc != NULL);
    if (!gc)
        return;
    gobj_t *root = gobj_create("logroot", gc, NULL, NULL);
    gobj_t *child = root ? gobj_create("worker", gc, NULL, root) : NULL;
    T_ASSERT(root && child);
    if (!root || !child) {
        gobj_destroy(root);
        return;
    }
    T_EQ_STR(gobj_full_name(child), "logroot.worker");

    t_log_clear();
    out_begin(GOBJ_LOG_TEXT);
    gobj_log(GOBJ_LOG_INFO, child, "from child", "n", json_integer(1), NULL);
    gobj_logf(GOBJ_LOG_WARN, root, "from %s", "root");
    char *out = out_end(&len);
    T_EQ_INT(count_lines(out), 2);
    T_CONTAINS(out, "INFO  logroot.worker: from child n=1\n");
    T_CONTAINS(out, "WARN  logroot: from root\n");
    free(out);

    rec = t_log_get(0);
    T_EQ_STR(rec_str(rec, "gobj"), "logroot.worker");
    json_decref(rec);
    rec = t_log_get(1);
    T_EQ_STR(rec_str(rec, "gobj"), "logroot");
    json_decref(rec);

    /* And from inside an action, as gclasses log. */
    T_EQ_INT(gobj_send_event(child, EV_LOG_PING, NULL, root), 0);
    rec = last_record();
    T_EQ_STR(rec_str(rec, "msg"), "ping received");
    T_EQ_STR(rec_str(rec, "gobj"), "logroot.worker");
    T_EQ_STR(rec_str(rec, "from"), "logroot");
    json_decref(rec);

    gobj_destroy(root);
    t_log_clear();
}

int main(void)
{
    t_init();
    out_file = tmpfile();
    if (!out_file) {
        perror("tmpfile");
        return 1;
    }

    test_level_names();
    test_level_filter();
    test_release_when_disabled();
    test_json_format();
    test_ts_shape();
    test_text_format();
    test_collisions();
    test_invalid_utf8();
    test_logf();
    test_capture_and_fd();
    test_large_record();
    test_errno_preserved();
    test_gobj_name();

    fclose(out_file);
    return t_done();
}
