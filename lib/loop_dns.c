/*
 * loop_dns.c - the loop's name resolver: one libevent evdns_base, made on
 * the first name a client resolves (gobjs/sock_resolve.c), never before, so
 * that a program which only uses numeric addresses has no resolver socket
 * and no resolver timer.  It reads /etc/resolv.conf (name servers, search
 * list, options) and /etc/hosts; gobj_loop_set_nameservers replaces the
 * name servers.  Freed by gobj_loop_free.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "ginsfsm/gobj.h"
#include "ginsfsm/log.h"
#include "ginsfsm/loop.h"
#include "loop_dns.h"

#define RESOLV_CONF "/etc/resolv.conf"

static struct evdns_base *dns;
static char *servers;    /* gobj_loop_set_nameservers' list, or NULL */
static unsigned pending; /* requests whose callback has not run yet */

/* Calls fn on each entry of a list separated by commas or blanks.
 * Returns: 0, or the first non-zero value fn returned. */
static int each_server(const char *list, int (*fn)(const char *entry, void *user), void *user)
{
    char entry[128];
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", \t");
        if (n >= sizeof entry)
            return fn(NULL, user);
        if (n) {
            memcpy(entry, p, n);
            entry[n] = 0;
            int rc = fn(entry, user);
            if (rc)
                return rc;
        }
        p += n;
        p += strspn(p, ", \t");
    }
    return 0;
}

static int check_server(const char *entry, void *user)
{
    (void)user;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!entry || evutil_parse_sockaddr_port(entry, (struct sockaddr *)&ss, &len) < 0) {
        gobj_log(GOBJ_LOG_ERROR, NULL,
                 "gobj_loop_set_nameservers: not an address (ip, ip:port or [ipv6]:port)", "entry",
                 json_string(entry ? entry : "(too long)"), NULL);
        return GOBJ_EINVAL;
    }
    return 0;
}

static int add_server(const char *entry, void *user)
{
    struct evdns_base *d = user;
    return evdns_base_nameserver_ip_add(d, entry) == 0 ? 0 : GOBJ_EINVAL;
}

/* Load the name servers: the list set, else resolv.conf's. */
static void load_servers(struct evdns_base *d)
{
    if (servers)
        each_server(servers, add_server, d);
    else
        evdns_base_resolv_conf_parse(d, DNS_OPTION_NAMESERVERS, RESOLV_CONF);
}

struct evdns_base *loop__dns_base(void)
{
    struct event_base *base = gobj_loop_base();
    if (dns || !base)
        return dns;
    /* Its sockets are open only while a request is in flight: an idle
     * resolver keeps nothing on the loop (gobj_loop_run can return). */
    dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns) {
        gobj_log(GOBJ_LOG_ERROR, NULL, "cannot create the name resolver (evdns)", NULL);
        return NULL;
    }
    /* The search list, the options (timeout, attempts, ndots) and
     * /etc/hosts; a missing file leaves libevent's defaults. */
    evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL & ~DNS_OPTION_NAMESERVERS, RESOLV_CONF);
    load_servers(dns);
    return dns;
}

void loop__dns_request_begun(void)
{
    pending++;
}

void loop__dns_request_ended(void)
{
    if (pending)
        pending--;
}

int gobj_loop_set_nameservers(const char *list)
{
    if (!gobj_loop_base())
        return GOBJ_ESTATE;
    if (list && !*list)
        list = NULL;
    if (list) {
        int rc = each_server(list, check_server, NULL);
        if (rc)
            return rc;
    }
    char *copy = list ? strdup(list) : NULL;
    if (list && !copy)
        return GOBJ_ENOMEM;
    free(servers);
    servers = copy;
    if (dns) {
        /* Requests in flight wait, and go to the new servers. */
        evdns_base_clear_nameservers_and_suspend(dns);
        load_servers(dns);
        evdns_base_resume(dns);
    }
    return 0;
}

void loop__dns_free(void)
{
    /* A cancelled request still owes its callback (EVUTIL_EAI_CANCEL), which
     * libevent runs on a later turn and which frees what the request holds:
     * let it run, a few non-blocking turns at most. */
    for (int i = 0; i < 8 && pending && gobj_loop_base(); i++)
        event_base_loop(gobj_loop_base(), EVLOOP_NONBLOCK);
    if (dns)
        evdns_base_free(dns, 0);
    dns = NULL;
    free(servers);
    servers = NULL;
    pending = 0;
}
