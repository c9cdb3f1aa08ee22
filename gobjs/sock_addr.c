/*
 * sock_addr.c - how GSock and GServerSock print a socket address.
 *
 *   127.0.0.1:7000        IPv4, and IPv4-mapped IPv6 (a dual-stack socket's
 *                         view of an IPv4 peer), as people know them
 *   [::1]:7000            IPv6
 *   [fe80::1%eth0]:7000   IPv6 with a scope id: the interface name, or its
 *                         number when no interface has that index
 *                         (fe80::1%3); without it the address is ambiguous
 *   /run/x.sock, @name    a unix path, an abstract name ("" when unnamed)
 *
 * Kept apart from c_sock.c so that the unit test can build it in and check
 * the formats without a network.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "sock_internal.h"

/* "%lo" or "%3" for a scope id, "" for none. */
static void format_scope(uint32_t scope, char *buf, size_t size)
{
    char name[IF_NAMESIZE];
    if (!scope)
        buf[0] = '\0';
    else if (if_indextoname(scope, name))
        snprintf(buf, size, "%%%s", name);
    else
        snprintf(buf, size, "%%%u", (unsigned)scope);
}

char *gsock__format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    buf[0] = '\0';
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return buf;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        /* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; people
         * and logs expect the IPv4 they know. */
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(in6->sin6_port));
        } else {
            char scope[IF_NAMESIZE + 12];
            format_scope(len >= (socklen_t)sizeof *in6 ? in6->sin6_scope_id : 0, scope,
                         sizeof scope);
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            snprintf(buf, size, "[%s%s]:%u", ip, scope, (unsigned)ntohs(in6->sin6_port));
        }
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        /* An unnamed socket has no path at all; an abstract one starts
         * with NUL and is shown with '@', as ss(8) does. */
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= (socklen_t)off)
            break;
        size_t n = (size_t)len - off;
        if (un->sun_path[0] == '\0') {
            snprintf(buf, size, "@%.*s", (int)(n > 1 ? n - 1 : 0), un->sun_path + 1);
        } else {
            size_t l = strnlen(un->sun_path, n);
            snprintf(buf, size, "%.*s", (int)l, un->sun_path);
        }
        break;
    }
    default:
        snprintf(buf, size, "(family %d)", (int)sa->sa_family);
        break;
    }
    return buf;
}
