/*
 * c_echo_client.h - EchoClient, the sample stress client of an echo server
 * (samples/echo-client.json).  See doc/gclasses/EchoClient.md.
 */
#ifndef GINSFSM_SAMPLES_C_ECHO_CLIENT_H
#define GINSFSM_SAMPLES_C_ECHO_CLIENT_H

#include "ginsfsm/gobj.h"

#define GCLASS_ECHO_CLIENT_NAME "EchoClient"

/* The bytes of a message before its padding: "CCCCCCCC SSSSSSSSSSSSSSSS
 * TTTTTTTTTTTTTTTT KKKKKKKK " (client, sequence, send time in µs, check, in
 * hex).  The smallest `size` an EchoClient accepts. */
#define ECHO_CLIENT_HEADER 52

/* Register EchoClient (idempotent; needs GConnex registered first for
 * gserve --check to check its destinations).  Returns: 0 or a negative
 * GOBJ_E* code. */
int echo_client_register_gclass(void);

#endif /* GINSFSM_SAMPLES_C_ECHO_CLIENT_H */
