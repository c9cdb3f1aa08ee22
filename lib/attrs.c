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

/* The value that a global key gives attribute a of g: by the gobj's full or
 * short name, or by its gclass.  *key is set to the key when one is found. */
static json_t *global_for(const gobj_t *g, const gobj_attr_t *a, bool by_name, const char **key)
{
    if (!global_attrs)
        return NULL;
    const char *prefixes[2] = {g->gc->name, NULL};
    if (by_name) {
        prefixes[0] = g->full_name;
        prefixes[1] = *g->name ? g->name : NULL;
    }
    char buf[512];
    for (int i = 0; i < 2 && prefixes[i]; i++) {
        snprintf(buf, sizeof buf, "%s.%s", prefixes[i], a->name);
        void *it = json_object_iter_at(global_attrs, buf);
        if (it) {
            *key = json_object_iter_key(it);
            return json_object_iter_value(it);
        }
    }
    return NULL;
}

/* A by-name global key for this gobj must name one of its attributes. */
static int check_global_names(const gobj_t *g)
{
    const char *key;
    json_t *v;
    json_object_foreach (global_attrs, key, v) {
        const char *dot = strrchr(key, '.');
        if (!dot)
            continue;
        size_t n = (size_t)(dot - key);
        bool mine = (strlen(g->full_name) == n && strncmp(key, g->full_name, n) == 0) ||
                    (*g->name && strlen(g->name) == n && strncmp(key, g->name, n) == 0);
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
    if (global_attrs && (rc = check_global_names(g)) < 0)
        goto out;

    for (size_t i = 0; i < gc->n_attrs; i++) {
        const gobj_attr_t *a = &attrs[i];
        const char *gkey = NULL;
        const char *where = "";
        char wbuf[600];
        json_t *val = NULL;
        /* Precedence: default < "GClass.attr" < kw < "name.attr". */
        if (!(a->flags & (GOBJ_STATS | GOBJ_VOLATILE))) {
            val = global_for(g, a, true, &gkey);
            if (!val)
                val = json_object_get(kw, a->name);
            if (!val)
                val = global_for(g, a, false, &gkey);
        }
        if (gkey) {
            snprintf(wbuf, sizeof wbuf, " (from global '%s')", gkey);
            where = wbuf;
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
        if (!gobj__attr_accepts(a->type, val)) {
            rc = type_error(g, a, val, where);
            goto out;
        }
        if ((rc = store(g, a, val)) < 0)
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
    } else if (!gobj__attr_accepts(a->type, value)) {
        rc = type_error(g, a, value, "");
    } else {
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
        char prefix[256];
        size_t n = (size_t)(dot - key);
        if (n >= sizeof prefix)
            continue;
        memcpy(prefix, key, n);
        prefix[n] = '\0';
        gclass_t *gc = gclass_find(prefix);
        if (!gc)
            continue; /* a gobj's name: checked when that gobj is created */
        const gobj_attr_t *a = gclass_find_attr(gc, dot + 1);
        if (!a) {
            gobj__errorf(NULL, "global attribute '%s': gclass %s has no attribute '%s'", key,
                         prefix, dot + 1);
            return GOBJ_ENOENT;
        }
        if (a->flags & (GOBJ_STATS | GOBJ_VOLATILE)) {
            gobj__errorf(NULL, "global attribute '%s': '%s' cannot be set", key, dot + 1);
            return GOBJ_EACCES;
        }
        if (!gobj__attr_accepts(a->type, v)) {
            gobj__errorf(NULL, "global attribute '%s': expected %s, got %s", key,
                         gobj__attr_type_name(a->type), json_type_name(v));
            return GOBJ_ETYPE;
        }
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
