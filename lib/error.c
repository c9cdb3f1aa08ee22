/*
 * error.c - error codes, their names and texts, and the library's own
 * assertion failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *gobj_version(void)
{
    return GINSFSM_VERSION;
}

const char *gobj_strerror(int err)
{
    switch (err) {
    case GOBJ_OK:
        return "success";
#define GOBJ__ERR_TEXT(name, value, text) \
    case name:                            \
        return text;
        GOBJ_ERRORS(GOBJ__ERR_TEXT)
#undef GOBJ__ERR_TEXT
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

/* The errno values a socket server meets; the rest print as "unknown". */
// clang-format off
#define GOBJ__ERRNO_NAMES(X)                                                   \
    X(EPERM) X(ENOENT) X(EINTR) X(EIO) X(EBADF) X(EAGAIN) X(ENOMEM) X(EACCES)  \
    X(EFAULT) X(EBUSY) X(EEXIST) X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE)      \
    X(EMFILE) X(ENOSPC) X(EPIPE) X(ERANGE) X(ENAMETOOLONG) X(ENOSYS)           \
    X(ENOTSOCK) X(EMSGSIZE) X(EPROTONOSUPPORT) X(EOPNOTSUPP) X(EAFNOSUPPORT)   \
    X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED)  \
    X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ETIMEDOUT)              \
    X(ECONNREFUSED) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(EPROTO)
// clang-format on

const char *gobj_err_name(int err)
{
    switch (err) {
    case GOBJ_OK:
        return "GOBJ_OK";
#define GOBJ__ERR_NAME(name, value, text) \
    case name:                            \
        return #name;
        GOBJ_ERRORS(GOBJ__ERR_NAME)
#undef GOBJ__ERR_NAME
#define GOBJ__ERRNO_CASE(e) \
    case -e:                \
        return #e;
        GOBJ__ERRNO_NAMES(GOBJ__ERRNO_CASE)
#undef GOBJ__ERRNO_CASE
    default:
        return "unknown";
    }
}

void gobj__errorf(const gobj_t *g, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    gobj_log(GOBJ_LOG_ERROR, g, buf, NULL);
}

_Noreturn void gobj__assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "ginsfsm: internal error in %s:%d (%s): assertion '%s' failed\n", file, line,
            func, cond);
    abort();
}
