/*
 * connex_conf.c - GConnex's configuration: the shape of `destinations`,
 * the numbers, and `gsock_attrs` (checked as the create kw of a GSock, with
 * gclass_check_attrs).  One function serves mt_create and mt_check, so that
 * `gserve --check` refuses exactly what a create would refuse.
 */
#include <stdio.h>
#include <string.h>

#include "connex.h"

/* The GSock attributes that GConnex sets itself on each GSock it creates:
 * giving them in gsock_attrs would be silently overridden, so it is refused. */
static const char *const owned_keys[] = {
    "host", "port", "path", "ssl_options", "connect_timeout", "inactivity_timeout", "subscriber",
};

static int fail(char *why, size_t why_len, const char **attr, const char *name, const char *fmt,
                const char *detail, long long index)
{
    char text[600];
    snprintf(text, sizeof text, fmt, detail ? detail : "", index);
    snprintf(why, why_len, "%s: %s", name, text);
    if (attr)
        *attr = name;
    return GOBJ_ECONFIG;
}

static int check_destination(const json_t *d, size_t i, char *why, size_t why_len,
                             const char **attr)
{
    const char *a = "destinations";
    long long ix = (long long)i;
    if (!json_is_object(d))
        return fail(why, why_len, attr, a, "%sentry %lld must be an object {host, port} or {path}",
                    NULL, ix);
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)d, key, v) {
        if (strcmp(key, "host") && strcmp(key, "port") && strcmp(key, "path") &&
            strcmp(key, "ssl_options"))
            return fail(why, why_len, attr, a,
                        "unknown key '%s' in entry %lld (expected host, port, path, ssl_options)",
                        key, ix);
    }
    json_t *host = json_object_get(d, "host"), *port = json_object_get(d, "port");
    json_t *path = json_object_get(d, "path"), *ssl = json_object_get(d, "ssl_options");
    if (ssl && !json_is_object(ssl))
        return fail(why, why_len, attr, a, "%sentry %lld: ssl_options must be an object", NULL, ix);
    if (path) {
        if (!json_is_string(path) || !*json_string_value(path))
            return fail(why, why_len, attr, a, "%sentry %lld: path must be a non-empty string",
                        NULL, ix);
        if (host || port)
            return fail(why, why_len, attr, a,
                        "%sentry %lld: give {path} or {host, port}, not both", NULL, ix);
        return 0;
    }
    if (!json_is_string(host) || !*json_string_value(host))
        return fail(why, why_len, attr, a, "%sentry %lld: host must be a non-empty string", NULL,
                    ix);
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        return fail(why, why_len, attr, a, "%sentry %lld: port must be an integer 1..65535", NULL,
                    ix);
    return 0;
}

static int check_int(const json_t *attrs, const char *name, long long min, char *why,
                     size_t why_len, const char **attr)
{
    json_t *v = json_object_get(attrs, name);
    if (v && (!json_is_integer(v) || json_integer_value(v) < min))
        return fail(why, why_len, attr, name, "%smust be an integer >= %lld", NULL, min);
    return 0;
}

int connex__explain(const json_t *attrs, char *why, size_t why_len, const char **attr)
{
    json_t *dests = json_object_get(attrs, "destinations");
    if (dests && !json_is_array(dests))
        return fail(why, why_len, attr, "destinations",
                    "%smust be an array of {host, port} or {path}", NULL, 0);
    /* destinations is read only: one that is empty at create stays so. */
    if (json_array_size(dests) == 0)
        return fail(why, why_len, attr, "destinations",
                    "%sis empty: give at least one {host, port} or {path}", NULL, 0);
    for (size_t i = 0; i < json_array_size(dests); i++) {
        int rc = check_destination(json_array_get(dests, i), i, why, why_len, attr);
        if (rc < 0)
            return rc;
    }
    json_t *ssl = json_object_get(attrs, "ssl_options");
    if (ssl && !json_is_object(ssl))
        return fail(why, why_len, attr, "ssl_options", "%smust be a JSON object", NULL, 0);
    static const char *const nonneg[] = {"backoff_initial", "backoff_max", "max_retries",
                                         "tx_queue_max", "inactivity_timeout"};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++) {
        int rc = check_int(attrs, nonneg[i], 0, why, why_len, attr);
        if (rc < 0)
            return rc;
    }
    json_t *jit = json_object_get(attrs, "backoff_jitter");
    if (jit && (!json_is_number(jit) || json_number_value(jit) < 0 || json_number_value(jit) > 1))
        return fail(why, why_len, attr, "backoff_jitter", "%smust be a number from 0 to 1", NULL,
                    0);
    json_t *gattrs = json_object_get(attrs, "gsock_attrs");
    if (!gattrs)
        return 0;
    if (!json_is_object(gattrs))
        return fail(why, why_len, attr, "gsock_attrs", "%smust be a JSON object", NULL, 0);
    for (size_t i = 0; i < sizeof owned_keys / sizeof owned_keys[0]; i++)
        if (json_object_get(gattrs, owned_keys[i]))
            return fail(why, why_len, attr, "gsock_attrs",
                        "'%s' is set by GConnex itself (use its own attributes or destinations)",
                        owned_keys[i], 0);
    gclass_t *gc = gclass_find(GCLASS_GSOCK_NAME);
    if (!gc)
        return 0; /* the GSock gclass is checked again at start */
    char inner[300];
    if (gclass_check_attrs(gc, gattrs, inner, sizeof inner) < 0)
        return fail(why, why_len, attr, "gsock_attrs", "%s", inner, 0);
    return 0;
}

int connex__mt_check(const json_t *attrs, char *why, size_t why_len)
{
    return connex__explain(attrs, why, why_len, NULL);
}

void connex__dest_name(const json_t *dest, char *buf, size_t n)
{
    const char *path = json_string_value(json_object_get(dest, "path"));
    const char *host = json_string_value(json_object_get(dest, "host"));
    long long port = json_integer_value(json_object_get(dest, "port"));
    if (path)
        snprintf(buf, n, "%s", path);
    else if (host && strchr(host, ':'))
        snprintf(buf, n, "[%s]:%lld", host, port);
    else
        snprintf(buf, n, "%s:%lld", host ? host : "", port);
}
