/*
 * test_check_attrs.c - gclass_check_attrs() and the mt_check method:
 * attributes checked as a create would take them, creating nothing.  Keys
 * must be configurable attributes of the right type; then mt_check sees the
 * values a create would use (default < "GClass.attr" global < attrs) and
 * may refuse them with a reason.
 */
#include "testlib.h"

typedef struct {
    int64_t port;
    char *mode;
    int64_t hits;
    json_t *extra;
} chk_priv_t;

static int check_calls;
static char seen_mode[64];
static int64_t seen_port;

/* mode must be "a" or "b"; port >= 0. */
static int chk_check(const json_t *attrs, char *why, size_t why_len)
{
    check_calls++;
    const char *mode = json_string_value(json_object_get(attrs, "mode"));
    snprintf(seen_mode, sizeof seen_mode, "%s", mode ? mode : "(none)");
    seen_port = json_integer_value(json_object_get(attrs, "port"));
    T_ASSERT(json_object_get(attrs, "hits") == NULL); /* a statistic: not configurable */
    T_ASSERT(json_is_object(json_object_get(attrs, "extra")));
    if (!mode || (strcmp(mode, "a") != 0 && strcmp(mode, "b") != 0)) {
        snprintf(why, why_len, "TChk attribute 'mode' must be \"a\" or \"b\"");
        return GOBJ_EINVAL;
    }
    if (seen_port < 0)
        return GOBJ_ERANGE; /* no reason given: the core says one */
    return 0;
}

static const gobj_attr_t chk_attrs[] = {
    GOBJ_ATTR("port", GOBJ_ATTR_INT, chk_priv_t, port, "7", GOBJ_RD, "a port"),
    GOBJ_ATTR("mode", GOBJ_ATTR_STRING, chk_priv_t, mode, "\"a\"", GOBJ_RD, "a or b"),
    GOBJ_ATTR("hits", GOBJ_ATTR_INT, chk_priv_t, hits, "0", GOBJ_STATS, "a statistic"),
    GOBJ_ATTR("extra", GOBJ_ATTR_JSON, chk_priv_t, extra, "{}", GOBJ_RD, "any JSON"),
    GOBJ_ATTR_END,
};

GOBJ_DEFINE_STATE(ST_CHK);
static const gobj_row_t st_chk[] = {{NULL, NULL, NULL, NULL}};
static const gobj_state_def_t chk_states[] = {
    GOBJ_STATE(ST_CHK, st_chk),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
static const gclass_def_t chk_def = {
    .name = "TChk",
    .description = "gclass_check_attrs test",
    .states = chk_states,
    .attrs = chk_attrs,
    .methods = {.mt_check = chk_check},
    .priv_size = sizeof(chk_priv_t),
};
static const gclass_def_t plain_def = {
    .name = "TPlain",
    .description = "no mt_check",
    .states = chk_states,
    .attrs = chk_attrs,
    .priv_size = sizeof(chk_priv_t),
};

/* One check: the return code and, when it fails, the reason contains want. */
static void expect(gclass_t *gc, const char *json, int rc, const char *want)
{
    json_t *attrs = json ? json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    T_ASSERT(json == NULL || attrs != NULL);
    char why[256] = "untouched";
    T_EQ_INT(gclass_check_attrs(gc, attrs, why, sizeof why), rc);
    if (want)
        T_CONTAINS(why, want);
    else
        T_EQ_STR(why, "");
    json_decref(attrs);
}

int main(void)
{
    t_init();
    gclass_t *gc = gclass_register(&chk_def);
    gclass_t *plain = gclass_register(&plain_def);
    T_ASSERT(gc && plain);

    /* Defaults reach mt_check; NULL attrs is an empty kw. */
    expect(gc, NULL, 0, NULL);
    T_EQ_INT(check_calls, 1);
    T_EQ_STR(seen_mode, "a");
    T_EQ_INT(seen_port, 7);
    expect(gc, "{\"mode\": \"b\", \"port\": 80}", 0, NULL);
    T_EQ_STR(seen_mode, "b");
    T_EQ_INT(seen_port, 80);

    /* What the core refuses before mt_check runs. */
    int calls = check_calls;
    expect(gc, "{\"prot\": 1}", GOBJ_ENOENT, "unknown attribute 'prot' of TChk");
    expect(gc, "{\"hits\": 1}", GOBJ_EACCES, "attribute 'hits' of TChk is a statistic");
    expect(gc, "{\"port\": \"80\"}", GOBJ_ETYPE, "attribute 'port' of TChk: expected int");
    expect(gc, "{\"mode\": \"a\\u0000b\"}", GOBJ_ETYPE, "a string holding a NUL byte");
    expect(gc, "[1]", GOBJ_ETYPE, "must be a JSON object, not array");
    T_EQ_INT(check_calls, calls);
    expect(NULL, "{}", GOBJ_EINVAL, "no gclass");

    /* mt_check refuses, with its reason or the core's. */
    expect(gc, "{\"mode\": \"c\"}", GOBJ_EINVAL, "TChk attribute 'mode' must be");
    expect(gc, "{\"port\": -1}", GOBJ_ERANGE, "TChk refused its attributes");

    /* A gclass without mt_check: only the keys and types. */
    expect(plain, "{\"mode\": \"c\"}", 0, NULL);
    expect(plain, "{\"mode\": 1}", GOBJ_ETYPE, "attribute 'mode' of TPlain");

    /* "GClass.attr" globals reach mt_check; attrs win over them; by-name
     * globals do not apply (no gobj has a name yet). */
    T_EQ_INT(gobj_set_global_attrs(json_pack("{s:s, s:i}", "TChk.mode", "c", "x.port", 1)), 0);
    expect(gc, NULL, GOBJ_EINVAL, "'mode' must be");
    T_EQ_STR(seen_mode, "c");
    T_EQ_INT(seen_port, 7);
    expect(gc, "{\"mode\": \"b\"}", 0, NULL);
    T_EQ_STR(seen_mode, "b");
    gobj_set_global_attrs(NULL);

    /* A NULL or empty why is allowed. */
    T_EQ_INT(gclass_check_attrs(gc, NULL, NULL, 0), 0);
    json_t *bad = json_pack("{s:i}", "nope", 1);
    T_EQ_INT(gclass_check_attrs(gc, bad, NULL, 0), GOBJ_ENOENT);
    json_decref(bad);

    T_EQ_INT(gobj_live_count(), 0);
    return t_done();
}
