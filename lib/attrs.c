/*
 * attrs.c - typed attributes bound by offsetof to a gobj's private struct.
 *
 * Values are validated and converted once, at create and on every write, so
 * that gclass code reads plain C fields (priv->port) and never a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool gobj__attr_accepts(gobj_attr_type_t t, const json_t *v);
const char *gobj__attr_type_name(gobj_attr_type_t t);

/* Global values by key "GClass.attr" or "name.attr" (gobj_set_global_attrs). */
static json_t *global_attrs;

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static void *field(const gobj_t *g, const gobj_attr_t *a)
{
    return (char *)g->priv + a->offset;
}

/* Store v (borrowed) into the field; the old value is released. */
static int store(gobj_t *g, const gobj_attr_t *a, const json_t *v)
{
    void *f = field(g, a);
    switch (a->type) {
    case GOBJ_ATTR_BOOL:
        *(bool *)f = json_is_true(v);
        return 0;
    case GOBJ_ATTR_INT:
        *(int64_t *)f = (int64_t)json_integer_value(v);
        return 0;
    case GOBJ_ATTR_REAL:
        *(double *)f = json_number_value(v);
        return 0;
    case GOBJ_ATTR_STRING: {
        char *s = NULL;
        if (json_is_string(v)) {
            size_t n = json_string_length(v);
            s = malloc(n + 1);
            if (!s)
                return GOBJ_ENOMEM;
            memcpy(s, json_string_value(v), n + 1);
        }
        free(*(char **)f);
        *(char **)f = s;
        return 0;
    }
    case GOBJ_ATTR_JSON: {
        json_t *old = *(json_t **)f;
        *(json_t **)f = json_incref((json_t *)v);
        json_decref(old);
        return 0;
    }
    }
    return GOBJ_ETYPE;
}

static json_t *load(const gobj_t *g, const gobj_attr_t *a)
{
    const void *f = field(g, a);
    switch (a->type) {
    case GOBJ_ATTR_BOOL:
        return json_boolean(*(const bool *)f);
    case GOBJ_ATTR_INT:
        return json_integer((json_int_t) * (const int64_t *)f);
    case GOBJ_ATTR_REAL:
        return json_real(*(const double *)f);
    case GOBJ_ATTR_STRING: {
        const char *s = *(char *const *)f;
        return s ? json_string(s) : json_null();
    }
    case GOBJ_ATTR_JSON: {
        json_t *j = *(json_t *const *)f;
        return j ? json_incref(j) : json_null();
    }
    }
    return NULL;
}

static int type_error(const gobj_t *g, const gobj_attr_t *a, const json_t *v, const char *where)
{
    gobj__errorf(g, "gobj %s (%s): attribute '%s'%s: expected %s, got %s", g->full_name,
                 g->gc->name, a->name, where, gobj__attr_type_name(a->type), json_type_name(v));
    return GOBJ_ETYPE;
}

/* Is v a value attribute a can hold?  A string attribute is a C string
 * (char *): a JSON string holding a NUL byte would be read back cut at the
 * NUL, so it is refused; binary data belongs in a JSON attribute.
 * Returns: 0, or GOBJ_ETYPE with the error logged.  g may be NULL (a
 * global value): then where is the global key; else where says where the
 * value came from (" (from global 'k')" or ""). */
static int check_value(const gobj_t *g, const gobj_attr_t *a, const json_t *v, const char *gcname,
                       const char *where)
{
    if (!gobj__attr_accepts(a->type, v)) {
        if (g)
            return type_error(g, a, v, where);
        gobj__errorf(NULL, "global attribute '%s': expected %s, got %s", where,
                     gobj__attr_type_name(a->type), json_type_name(v));
        return GOBJ_ETYPE;
    }
    if (a->type == GOBJ_ATTR_STRING && json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), len = strlen(s);
        if (len != n) {
            if (g)
                gobj__errorf(g,
                             "gobj %s (%s): attribute '%s'%s: a string attribute cannot hold "
                             "a NUL byte (found at byte %zu); use a JSON attribute for binary "
                             "data",
                             g->full_name, gcname, a->name, where, len);
            else
                gobj__errorf(NULL,
                             "global attribute '%s': a string attribute cannot hold a NUL "
                             "byte (found at byte %zu)",
                             where, len);
            return GOBJ_ETYPE;
        }
    }
    return 0;
}

/* The value of global key "prefix.attr" (borrowed), or NULL.  *key is set to
 * the stored key when one is found.  The key is built on the stack when it
 * is short and on the heap otherwise: full names have no length limit.
 * Returns: 0, or GOBJ_ENOMEM. */
static int global_get(const char *prefix, const char *attr, json_t **val, const char **key)
{
    char small[256];
    size_t pl = strlen(prefix), al = strlen(attr);
    char *k = pl + al + 2 <= sizeof small ? small : malloc(pl + al + 2);
    if (!k)
        return GOBJ_ENOMEM;
    memcpy(k, prefix, pl);
    k[pl] = '.';
    memcpy(k + pl + 1, attr, al + 1);
    void *it = json_object_iter_at(global_attrs, k);
    if (k != small)
        free(k);
    *val = NULL;
    if (it) {
        *key = json_object_iter_key(it);
        *val = json_object_iter_value(it);
    }
    return 0;
}

/* Which of the gobj's names can be "name.attr" prefixes: a name that is
 * also a registered gclass is that gclass's key, never the gobj's (a
 * registered gclass name wins). */
struct name_keys {
    const char *prefix[2];
};

static struct name_keys name_keys_of(const gobj_t *g)
{
    struct name_keys nk = {{NULL, NULL}};
    int n = 0;
    if (!gclass_find(g->full_name))
        nk.prefix[n++] = g->full_name;
    if (*g->name && strcmp(g->name, g->full_name) != 0 && !gclass_find(g->name))
        nk.prefix[n++] = g->name;
    return nk;
}

/* The value that a global key gives attribute a of g: by the gobj's full or
 * short name (by_name), or by its gclass.  *key is set to the key when one
 * is found.  Returns: 0, or GOBJ_ENOMEM. */
static int global_for(const gobj_t *g, const gobj_attr_t *a, const struct name_keys *nk,
                      json_t **val, const char **key)
{
    *val = NULL;
    if (!global_attrs)
        return 0;
    if (!nk)
        return global_get(g->gc->name, a->name, val, key);
    for (int i = 0; i < 2 && nk->prefix[i] && !*val; i++) {
        int rc = global_get(nk->prefix[i], a->name, val, key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A by-name global key for this gobj must name one of its attributes. */
static int check_global_names(const gobj_t *g, const struct name_keys *nk)
{
    const char *key;
    json_t *v;
    json_object_foreach (global_attrs, key, v) {
        const char *dot = strrchr(key, '.');
        if (!dot)
            continue;
        size_t n = (size_t)(dot - key);
        bool mine = false;
        for (int i = 0; i < 2 && nk->prefix[i] && !mine; i++)
            mine = strlen(nk->prefix[i]) == n && strncmp(key, nk->prefix[i], n) == 0;
        if (!mine)
            continue;
        const gobj_attr_t *a = gclass_find_attr(g->gc, dot + 1);
        if (!a) {
            gobj__errorf(g, "gobj %s (%s): global '%s' names unknown attribute '%s'", g->full_name,
                         g->gc->name, key, dot + 1);
            return GOBJ_ENOENT;
        }
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE)) {
            gobj__errorf(g, "gobj %s (%s): global '%s': attribute '%s' cannot be set", g->full_name,
                         g->gc->name, key, dot + 1);
            return GOBJ_EACCES;
        }
    }
    return 0;
}

int attrs__set_at_create(gobj_t *g, json_t *kw)
{
    const struct gclass *gc = g->gc;
    const gobj_attr_t *attrs = gc->def->attrs;
    int rc = 0;

    /* An unknown name is an error, never silently ignored: it is almost
     * always a typo that would otherwise leave a default in place. */
    const char *key;
    json_t *v;
    json_object_foreach (kw, key, v) {
        const gobj_attr_t *a = gclass_find_attr(gc, key);
        if (!a) {
            gobj__errorf(g, "gobj %s (%s): unknown attribute '%s'", g->full_name, gc->name, key);
            rc = GOBJ_ENOENT;
            goto out;
        }
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE)) {
            gobj__errorf(g, "gobj %s (%s): attribute '%s' is %s and cannot be set", g->full_name,
                         gc->name, key, (a->flags & GOBJ_STATS) ? "a statistic" : "volatile");
            rc = GOBJ_EACCES;
            goto out;
        }
    }
    struct name_keys nk = name_keys_of(g);
    if (global_attrs && (rc = check_global_names(g, &nk)) < 0)
        goto out;

    for (size_t i = 0; i < gc->n_attrs; i++) {
        const gobj_attr_t *a = &attrs[i];
        const char *gkey = NULL;
        json_t *val = NULL;
        /* Precedence: default < "GClass.attr" < kw < "name.attr". */
        if (!(a->flags & (GOBJ_STATS | GOBJ_VOLATILE))) {
            if ((rc = global_for(g, a, &nk, &val, &gkey)) < 0)
                goto out;
            if (!val)
                val = json_object_get(kw, a->name);
            if (!val && (rc = global_for(g, a, NULL, &val, &gkey)) < 0)
                goto out;
        }
        if (!val) {
            if (a->flags & GOBJ_REQUIRED) {
                gobj__errorf(g, "gobj %s (%s): required attribute '%s' (%s) is missing",
                             g->full_name, gc->name, a->name, gobj__attr_type_name(a->type));
                rc = GOBJ_EREQUIRED;
                goto out;
            }
            val = gc->attr_defaults[i];
        }
        if (gkey) {
            char *where = malloc(strlen(gkey) + 32);
            if (!where) {
                rc = GOBJ_ENOMEM;
                goto out;
            }
            sprintf(where, " (from global '%s')", gkey);
            rc = check_value(g, a, val, gc->name, where);
            free(where);
        } else {
            rc = check_value(g, a, val, gc->name, "");
        }
        if (rc < 0 || (rc = store(g, a, val)) < 0)
            goto out;
    }
out:
    json_decref(kw);
    return rc;
}

void attrs__free(gobj_t *g)
{
    const struct gclass *gc = g->gc;
    if (!g->priv)
        return;
    for (size_t i = 0; i < gc->n_attrs; i++) {
        const gobj_attr_t *a = &gc->def->attrs[i];
        if (a->type == GOBJ_ATTR_STRING) {
            char **f = field(g, a);
            free(*f);
            *f = NULL;
        } else if (a->type == GOBJ_ATTR_JSON) {
            json_t **f = field(g, a);
            json_decref(*f);
            *f = NULL;
        }
    }
}

static bool readable(const gobj_attr_t *a)
{
    return a->flags & (GOBJ_RD | GOBJ_WR | GOBJ_STATS | GOBJ_VOLATILE);
}

json_t *gobj_read_attr(const gobj_t *g, const char *name)
{
    if (!g)
        return NULL;
    const gobj_attr_t *a = gclass_find_attr(g->gc, name);
    if (!a || !readable(a))
        return NULL;
    return load(g, a);
}

int gobj_write_attr(gobj_t *g, const char *name, json_t *value)
{
    int rc = 0;
    const gobj_attr_t *a = g ? gclass_find_attr(g->gc, name) : NULL;
    if (!g || !value) {
        rc = GOBJ_EINVAL;
    } else if (!a) {
        gobj__errorf(g, "gobj %s (%s): unknown attribute '%s'", g->full_name, g->gc->name,
                     name ? name : "(null)");
        rc = GOBJ_ENOENT;
    } else if (!(a->flags & GOBJ_WR)) {
        gobj__errorf(g, "gobj %s (%s): attribute '%s' is not writable", g->full_name, g->gc->name,
                     name);
        rc = GOBJ_EACCES;
    } else if ((rc = check_value(g, a, value, g->gc->name, "")) == 0) {
        rc = store(g, a, value);
    }
    json_decref(value);
    if (rc == 0 && g->gc->def->methods.mt_writing && gobj__alive(g)) {
        gobj__enter();
        g->gc->def->methods.mt_writing(g, a->name);
        gobj__leave();
    }
    return rc;
}

static json_t *read_some(const gobj_t *g, unsigned mask)
{
    if (!g)
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; o && i < g->gc->n_attrs; i++) {
        const gobj_attr_t *a = &g->gc->def->attrs[i];
        if (a->flags & mask)
            json_object_set_new(o, a->name, load(g, a));
    }
    return o;
}

json_t *gobj_read_attrs(const gobj_t *g)
{
    return read_some(g, GOBJ_RD | GOBJ_WR | GOBJ_STATS | GOBJ_VOLATILE);
}

json_t *gobj_stats(const gobj_t *g)
{
    return read_some(g, GOBJ_STATS);
}

int64_t gobj_read_int(const gobj_t *g, const char *name)
{
    const gobj_attr_t *a = g ? gclass_find_attr(g->gc, name) : NULL;
    if (!a || !readable(a))
        return 0;
    switch (a->type) {
    case GOBJ_ATTR_INT:
        return *(const int64_t *)field(g, a);
    case GOBJ_ATTR_BOOL:
        return *(const bool *)field(g, a);
    case GOBJ_ATTR_REAL:
        return (int64_t) * (const double *)field(g, a);
    default:
        return 0;
    }
}

bool gobj_read_bool(const gobj_t *g, const char *name)
{
    return gobj_read_int(g, name) != 0;
}

const char *gobj_read_str(const gobj_t *g, const char *name)
{
    const gobj_attr_t *a = g ? gclass_find_attr(g->gc, name) : NULL;
    if (!a || !readable(a) || a->type != GOBJ_ATTR_STRING)
        return NULL;
    return *(char *const *)field(g, a);
}

int gobj_write_int(gobj_t *g, const char *name, int64_t value)
{
    const gobj_attr_t *a = g ? gclass_find_attr(g->gc, name) : NULL;
    json_t *v =
        a && a->type == GOBJ_ATTR_REAL ? json_real((double)value) : json_integer((json_int_t)value);
    return gobj_write_attr(g, name, v);
}

int gobj_write_str(gobj_t *g, const char *name, const char *value)
{
    return gobj_write_attr(g, name, value ? json_string(value) : json_null());
}

int attrs__validate_global(json_t *global)
{
    const char *key;
    json_t *v;
    json_object_foreach (global, key, v) {
        const char *dot = strrchr(key, '.');
        if (!dot || dot == key || !dot[1]) {
            gobj__errorf(NULL, "global attribute '%s': the key must be GClass.attr or name.attr",
                         key);
            return GOBJ_EINVAL;
        }
        size_t n = (size_t)(dot - key);
        char *prefix = strndup(key, n);
        if (!prefix)
            return GOBJ_ENOMEM;
        gclass_t *gc = gclass_find(prefix);
        free(prefix);
        if (!gc)
            continue; /* a gobj's name: checked when that gobj is created */
        const gobj_attr_t *a = gclass_find_attr(gc, dot + 1);
        if (!a) {
            gobj__errorf(NULL, "global attribute '%s': gclass %s has no attribute '%s'", key,
                         gc->name, dot + 1);
            return GOBJ_ENOENT;
        }
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE)) {
            gobj__errorf(NULL, "global attribute '%s': '%s' cannot be set", key, dot + 1);
            return GOBJ_EACCES;
        }
        int rc = check_value(NULL, a, v, gc->name, key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int gobj_set_global_attrs(json_t *global)
{
    if (global && !json_is_object(global)) {
        gobj__errorf(NULL, "gobj_set_global_attrs: expected a JSON object");
        json_decref(global);
        return GOBJ_EINVAL;
    }
    if (global) {
        int rc = attrs__validate_global(global);
        if (rc < 0) {
            json_decref(global);
            return rc;
        }
    }
    json_decref(global_attrs);
    global_attrs = global;
    return 0;
}

/*---------------------------------------------------------------------*
 *  Checking attributes without creating (gclass_check_attrs, --check)
 *---------------------------------------------------------------------*/
static json_t *global_value(const json_t *global, const char *prefix, const char *attr)
{
    if (!global || !prefix)
        return NULL;
    size_t n = strlen(prefix) + strlen(attr) + 2;
    char *k = malloc(n);
    if (!k)
        return NULL;
    snprintf(k, n, "%s.%s", prefix, attr);
    json_t *v = json_object_get(global, k);
    free(k);
    return v;
}

json_t *attrs__effective(const gclass_t *gc, const json_t *global, const json_t *kw,
                         const char *const prefixes[2])
{
    json_t *out = json_object();
    for (size_t i = 0; out && i < gc->n_attrs; i++) {
        const gobj_attr_t *a = &gc->def->attrs[i];
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE))
            continue;
        json_t *v = NULL;
        for (int p = 0; prefixes && p < 2 && !v; p++)
            v = global_value(global, prefixes[p], a->name);
        if (!v)
            v = json_object_get(kw, a->name);
        if (!v)
            v = global_value(global, gc->name, a->name);
        if (!v)
            v = gc->attr_defaults[i];
        if (v)
            json_object_set(out, a->name, v);
    }
    return out;
}

int gclass_check_attrs(const gclass_t *gc, const json_t *attrs, char *why, size_t why_len)
{
    char dummy[1];
    if (!why || !why_len) {
        why = dummy;
        why_len = sizeof dummy;
    }
    why[0] = 0;
    if (!gc) {
        snprintf(why, why_len, "no gclass");
        return GOBJ_EINVAL;
    }
    if (attrs && !json_is_object(attrs)) {
        snprintf(why, why_len, "the attributes of %s must be a JSON object, not %s", gc->name,
                 json_type_name(attrs));
        return GOBJ_ETYPE;
    }
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)attrs, key, v) {
        const gobj_attr_t *a = gclass_find_attr(gc, key);
        if (!a) {
            snprintf(why, why_len, "unknown attribute '%s' of %s", key, gc->name);
            return GOBJ_ENOENT;
        }
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE)) {
            snprintf(why, why_len, "attribute '%s' of %s is %s and cannot be set", key, gc->name,
                     (a->flags & GOBJ_STATS) ? "a statistic" : "run-time state");
            return GOBJ_EACCES;
        }
        if (!gobj__attr_accepts(a->type, v) ||
            (a->type == GOBJ_ATTR_STRING && json_is_string(v) &&
             strlen(json_string_value(v)) != json_string_length(v))) {
            snprintf(why, why_len, "attribute '%s' of %s: expected %s, got %s", key, gc->name,
                     gobj__attr_type_name(a->type),
                     json_is_string(v) ? "a string holding a NUL byte" : json_type_name(v));
            return GOBJ_ETYPE;
        }
    }
    int (*check)(const json_t *, char *, size_t) = gc->def->methods.mt_check;
    if (!check)
        return 0;
    json_t *eff = attrs__effective(gc, global_attrs, attrs, NULL);
    if (!eff) {
        snprintf(why, why_len, "out of memory");
        return GOBJ_ENOMEM;
    }
    int rc = check(eff, why, why_len);
    json_decref(eff);
    if (rc >= 0)
        return 0;
    if (!why[0])
        snprintf(why, why_len, "%s refused its attributes (%s)", gc->name, gobj_strerror(rc));
    return rc;
}
