/*
 * loop_dns.h - between lib/loop_dns.c (the loop's name resolver) and its
 * users: lib/loop.c frees it, gobjs/sock_resolve.c resolves with it.
 * Not installed.
 */
#ifndef GINSFSM_LOOP_DNS_H
#define GINSFSM_LOOP_DNS_H

struct evdns_base;

/* The loop's resolver, made on first use.  Returns: it (borrowed), or NULL
 * without a loop or when it cannot be made (logged). */
struct evdns_base *loop__dns_base(void);
/* Count a request from its start until its callback has run (also after a
 * cancel), so that the loop's free lets the callbacks still owed run. */
void loop__dns_request_begun(void);
void loop__dns_request_ended(void);
/* gobj_loop_free: runs the callbacks still owed, frees the resolver and
 * forgets the name servers set. */
void loop__dns_free(void);

#endif /* GINSFSM_LOOP_DNS_H */
