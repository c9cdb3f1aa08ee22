/*
 * c_chat.h - ChatRoom and ChatSession, the line chat sample
 * (samples/chat.json; doc/gclasses/ChatRoom.md, ChatSession.md).
 */
#ifndef GINSFSM_SAMPLES_C_CHAT_H
#define GINSFSM_SAMPLES_C_CHAT_H

#include "ginsfsm/gobj.h"

#define GCLASS_CHAT_ROOM_NAME "ChatRoom"
#define GCLASS_CHAT_SESSION_NAME "ChatSession"

/* Register ChatRoom and ChatSession (idempotent).
 * Returns: 0 or a negative GOBJ_E* code. */
int chat_register_gclasses(void);

#endif /* GINSFSM_SAMPLES_C_CHAT_H */
