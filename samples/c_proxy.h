/*
 * c_proxy.h - TcpProxy and ProxySession, the TCP proxy sample
 * (samples/tcp-proxy.json; doc/gclasses/TcpProxy.md, ProxySession.md).
 */
#ifndef GINSFSM_SAMPLES_C_PROXY_H
#define GINSFSM_SAMPLES_C_PROXY_H

#include "ginsfsm/gobj.h"

#define GCLASS_TCP_PROXY_NAME "TcpProxy"
#define GCLASS_PROXY_SESSION_NAME "ProxySession"

/* Register TcpProxy and ProxySession (idempotent).
 * Returns: 0 or a negative GOBJ_E* code. */
int proxy_register_gclasses(void);

#endif /* GINSFSM_SAMPLES_C_PROXY_H */
