/*
 * c_chat.c - the line chat sample: ChatRoom and ChatSession.
 *
 * samples/chat.json runs a ChatRoom with a GServerSock child whose
 * session_gclass is ChatSession and whose GSocks cut lines (framing "line").
 * Each connection is then a ChatSession, a child of the room, owning its
 * GSock; the runtime destroys it after its EV_DISCONNECTED.  Everything one
 * client is (its nick, whether it has joined, whether it is too slow) is in
 * its session: the room keeps no list of its own, it walks its children.
 *
 * The protocol, one line each way (the GSock strips and adds the "\n"; a
 * trailing "\r" is ignored, for telnet):
 *   - the first line is the nick: "OK <nick>" joins, "ERR nick taken" (the
 *     client may try another), "ERR bad nick" (empty, over 32 bytes, a space,
 *     a ':' or a control character);
 *   - then every line L is delivered to every other joined client as
 *     "<nick>: L", in the order the room received them;
 *   - "/quit" closes the client (after what was queued for it is written).
 * A client whose output queue passes its GSock's tx_high_water is slow: the
 * session's slow_policy drops the messages meant for it (counted) until the
 * queue drains, or disconnects it.  A line longer than the GSock's max_frame
 * ends its sender's connection only ("frame too large").
 *
 * ChatRoom (flat):
 *   ST_ROOM --EV_CHAT_JOIN {nick}-->    ST_ROOM  GOBJ_EEXIST if a joined session has the nick
 *           --EV_CHAT_LINE {data}-->    ST_ROOM  "<nick>: data" to every other joined session
 *           --EV_CHAT_LEAVE {}-->       ST_ROOM  one member less
 *           --EV_SESSION_OPENED-->      ST_ROOM  count
 *           --EV_SESSION_CLOSED-->      ST_ROOM  count
 *
 * ChatSession (hierarchical):
 *   ST_SESSION                 EV_CONNECTED: check the framing; EV_TRANSMIT_READY:
 *     |                        not slow any more; EV_DISCONNECTED: leave -> ST_GONE
 *     +- ST_WAIT_NICK (initial)  EV_RX_DATA: the nick -> ST_CHATTING, or an ERR line
 *     +- ST_CHATTING             EV_RX_DATA: a line to the room, or /quit -> ST_LEAVING
 *     |                          EV_CHAT_MESSAGE: to the client (or dropped: slow)
 *     +- ST_LEAVING              (closing: waits for EV_DISCONNECTED)
 *   ST_GONE                    (disconnected: the runtime destroys the session)
 */
#include "c_chat.h"

#include <stdio.h>
#include <string.h>

#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"

/* Events between the room and its sessions. */
GOBJ_DEFINE_EVENT(EV_CHAT_JOIN);    /* session -> room {nick}: 0 or GOBJ_EEXIST */
GOBJ_DEFINE_EVENT(EV_CHAT_LINE);    /* session -> room {data}: a line to the others */
GOBJ_DEFINE_EVENT(EV_CHAT_LEAVE);   /* session -> room {}: it leaves (quit or gone) */
GOBJ_DEFINE_EVENT(EV_CHAT_MESSAGE); /* room -> session {data}: "<nick>: <line>" */

GOBJ_DEFINE_STATE(ST_ROOM);
GOBJ_DEFINE_STATE(ST_SESSION);
GOBJ_DEFINE_STATE(ST_WAIT_NICK);
GOBJ_DEFINE_STATE(ST_CHATTING);
GOBJ_DEFINE_STATE(ST_LEAVING);
GOBJ_DEFINE_STATE(ST_GONE);

#define NICK_MAX 32

/* What a session did with a message (EV_CHAT_MESSAGE's result). */
enum { MSG_SENT = 0, MSG_DROPPED = 1, MSG_SLOW_DISCONNECT = 2 };

static gclass_t *session_gc; /* ChatSession, set at registration */

/*--------------------------------------------------------------------------*
 *  Private data and attributes
 *--------------------------------------------------------------------------*/
typedef struct {
    int64_t members;         /* joined sessions now */
    int64_t sessions;        /* open sessions now (EV_SESSION_OPENED/CLOSED) */
    int64_t lines;           /* lines received from joined sessions */
    int64_t deliveries;      /* messages handed to a session's GSock */
    int64_t dropped;         /* messages not sent to a slow client */
    int64_t slow_disconnects; /* clients disconnected for being slow */
} room_priv_t;

static const gobj_attr_t room_attrs[] = {
    GOBJ_ATTR("members", GOBJ_ATTR_INT, room_priv_t, members, "0", GOBJ_STATS,
              "clients that have joined (sent a nick) and not left"),
    GOBJ_ATTR("sessions", GOBJ_ATTR_INT, room_priv_t, sessions, "0", GOBJ_STATS,
              "connections open now, joined or not"),
    GOBJ_ATTR("lines", GOBJ_ATTR_INT, room_priv_t, lines, "0", GOBJ_STATS,
              "lines received from joined clients"),
    GOBJ_ATTR("deliveries", GOBJ_ATTR_INT, room_priv_t, deliveries, "0", GOBJ_STATS,
              "messages handed to the other clients' connections"),
    GOBJ_ATTR("dropped", GOBJ_ATTR_INT, room_priv_t, dropped, "0", GOBJ_STATS,
              "messages not sent to a slow client (slow_policy drop)"),
    GOBJ_ATTR("slow_disconnects", GOBJ_ATTR_INT, room_priv_t, slow_disconnects, "0", GOBJ_STATS,
              "clients disconnected for being slow (slow_policy disconnect)"),
    GOBJ_ATTR_END,
};

typedef struct {
    char *slow_policy; /* "drop" or "disconnect" */
    char *nick;        /* NULL until joined */
    int64_t dropped;   /* messages not sent to this client */

    gobj_t *sock;    /* the GSock (a child), from EV_CONNECTED */
    int64_t high;    /* its tx_high_water */
    int64_t max;     /* its max_frame: the longest message it can send */
    bool disconnect; /* slow_policy is "disconnect" */
    bool slow;       /* above tx_high_water: dropping until EV_TRANSMIT_READY */
} session_priv_t;

static const gobj_attr_t session_attrs[] = {
    GOBJ_ATTR("slow_policy", GOBJ_ATTR_STRING, session_priv_t, slow_policy, "\"drop\"", GOBJ_RD,
              "a client above tx_high_water: \"drop\" its messages, or \"disconnect\" it"),
    GOBJ_ATTR("nick", GOBJ_ATTR_STRING, session_priv_t, nick, "null", GOBJ_VOLATILE,
              "the client's nick, once joined"),
    GOBJ_ATTR("dropped", GOBJ_ATTR_INT, session_priv_t, dropped, "0", GOBJ_STATS,
              "messages not sent to this client because it was slow"),
    GOBJ_ATTR_END,
};

/*--------------------------------------------------------------------------*
 *  Helpers
 *--------------------------------------------------------------------------*/
/* The line of an EV_RX_DATA, without a trailing "\r". */
static const char *line_of(json_t *kw, size_t *len)
{
    json_t *data = json_object_get(kw, "data");
    const char *p = json_string_value(data);
    *len = p ? json_string_length(data) : 0;
    if (*len > 0 && p[*len - 1] == '\r')
        (*len)--;
    return p ? p : "";
}

/* One line to the client (the GSock adds the delimiter). */
static void say(gobj_t *gobj, const char *text)
{
    session_priv_t *priv = gobj_priv(gobj);
    if (priv->sock)
        gobj_send_event(priv->sock, EV_SEND_DATA, json_pack("{s:s}", "data", text), gobj);
}

static bool nick_ok(const char *p, size_t n)
{
    if (n == 0 || n > NICK_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == ':' || c == 0x7f)
            return false;
    }
    return true;
}

/*--------------------------------------------------------------------------*
 *  ChatRoom
 *--------------------------------------------------------------------------*/
static int ac_join(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    room_priv_t *priv = gobj_priv(gobj);
    const char *nick = json_string_value(json_object_get(kw, "nick"));
    if (!nick)
        return GOBJ_EINVAL;
    for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c)) {
        if (c == src || gobj_gclass(c) != session_gc || !gobj_is_in_state(c, ST_CHATTING))
            continue;
        session_priv_t *s = gobj_priv(c);
        if (s->nick && strcmp(s->nick, nick) == 0)
            return GOBJ_EEXIST;
    }
    priv->members++;
    return 0;
}

static int ac_room_line(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    room_priv_t *priv = gobj_priv(gobj);
    session_priv_t *from = gobj_priv(src);
    size_t n;
    const char *line = line_of(kw, &n);
    size_t nl = strlen(from->nick);

    /* One string for every recipient: each GSock queues a reference. */
    char *buf = malloc(nl + 2 + n);
    if (!buf)
        return GOBJ_ENOMEM;
    memcpy(buf, from->nick, nl);
    memcpy(buf + nl, ": ", 2);
    memcpy(buf + nl + 2, line, n);
    json_t *msg = json_object();
    json_object_set_new(msg, "data", json_stringn_nocheck(buf, nl + 2 + n));
    free(buf);

    priv->lines++;
    /* Sessions answer at once and never call back into the room (a slow one
     * says so in the result), and a GSock announces a close only on a later
     * turn: no child goes away during this walk. */
    for (gobj_t *c = gobj_first_child(gobj); c; c = gobj_next_child(c)) {
        if (c == src || gobj_gclass(c) != session_gc || !gobj_in_this_state(c, ST_CHATTING))
            continue;
        switch (gobj_send_event(c, EV_CHAT_MESSAGE, json_incref(msg), gobj)) {
        case MSG_SENT:
            priv->deliveries++;
            break;
        case MSG_DROPPED:
            priv->dropped++;
            break;
        case MSG_SLOW_DISCONNECT: /* queued, written while it is dropped */
            priv->deliveries++;
            priv->slow_disconnects++;
            priv->members--;
            break;
        default:
            break;
        }
    }
    json_decref(msg);
    return 0;
}

static int ac_leave(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    room_priv_t *priv = gobj_priv(gobj);
    priv->members--;
    return 0;
}

static int ac_session_opened(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    room_priv_t *priv = gobj_priv(gobj);
    priv->sessions++;
    return 0;
}

static int ac_session_closed(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    room_priv_t *priv = gobj_priv(gobj);
    priv->sessions--;
    return 0;
}

static const gobj_row_t st_room[] = {
    /*       event              action              next state */
    GOBJ_ROW(EV_CHAT_JOIN,      ac_join,            NULL),
    GOBJ_ROW(EV_CHAT_LINE,      ac_room_line,       NULL),
    GOBJ_ROW(EV_CHAT_LEAVE,     ac_leave,           NULL),
    GOBJ_ROW(EV_SESSION_OPENED, ac_session_opened,  NULL),
    GOBJ_ROW(EV_SESSION_CLOSED, ac_session_closed,  NULL),
    {0},
};

static const gobj_state_def_t room_states[] = {
    GOBJ_STATE(ST_ROOM, st_room),
    {0},
};

static const gobj_event_def_t room_events[] = {
    {EV_CHAT_JOIN, GOBJ_EV_IN, "{nick} from a session: 0, or GOBJ_EEXIST if taken"},
    {EV_CHAT_LINE, GOBJ_EV_IN, "{data} from a joined session: a line for the others"},
    {EV_CHAT_LEAVE, GOBJ_EV_IN, "{} from a joined session that leaves"},
    {EV_SESSION_OPENED, GOBJ_EV_IN, "{session, peername, sockname} from the GServerSock"},
    {EV_SESSION_CLOSED, GOBJ_EV_IN, "{session, peername, sockname, reason} from the GServerSock"},
    {EV_CHAT_MESSAGE, GOBJ_EV_OUT, "{data} to each other joined session"},
    {0},
};

static const gclass_def_t room_def = {
    .name = GCLASS_CHAT_ROOM_NAME,
    .description = "a line chat room: the subscriber of a GServerSock of ChatSessions",
    .states = room_states,
    .events = room_events,
    .attrs = room_attrs,
    .priv_size = sizeof(room_priv_t),
};

/*--------------------------------------------------------------------------*
 *  ChatSession
 *--------------------------------------------------------------------------*/
#define BAD_POLICY "ChatSession: attribute 'slow_policy' must be \"drop\" or \"disconnect\""

static bool policy_ok(const char *p)
{
    return p && (strcmp(p, "drop") == 0 || strcmp(p, "disconnect") == 0);
}

/* gserve --check (through GServerSock's session_attrs): the same rule as
 * session_create, before anything runs. */
static int session_check(const json_t *attrs, char *why, size_t why_len)
{
    const char *p = json_string_value(json_object_get(attrs, "slow_policy"));
    if (policy_ok(p))
        return 0;
    snprintf(why, why_len, "%s, not \"%s\"", BAD_POLICY, p ? p : "");
    return GOBJ_EINVAL;
}

static int session_create(gobj_t *gobj)
{
    session_priv_t *priv = gobj_priv(gobj);
    const char *p = priv->slow_policy ? priv->slow_policy : "";
    if (!policy_ok(p)) {
        gobj_log(GOBJ_LOG_ERROR, gobj, BAD_POLICY, "slow_policy", json_string(p), NULL);
        return GOBJ_EINVAL;
    }
    priv->disconnect = strcmp(p, "disconnect") == 0;
    gobj_t *room = gobj_parent(gobj);
    if (!room || strcmp(gobj_gclass_name(room), GCLASS_CHAT_ROOM_NAME) != 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj,
                 "ChatSession: its parent must be a ChatRoom (the subscriber of the "
                 "GServerSock whose session_gclass is ChatSession)",
                 "parent", json_string(room ? gobj_full_name(room) : ""), NULL);
        return GOBJ_ECONFIG;
    }
    return 0;
}

static int ac_connected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    session_priv_t *priv = gobj_priv(gobj);
    priv->sock = src;
    priv->high = gobj_read_int(src, "tx_high_water");
    priv->max = gobj_read_int(src, "max_frame");
    const char *framing = gobj_read_str(src, "framing");
    if (!framing || strcmp(framing, "line") != 0) {
        gobj_log(GOBJ_LOG_ERROR, gobj,
                 "ChatSession: the connection must cut lines: give the GServerSock "
                 "\"gsock_attrs\": {\"framing\": \"line\"}",
                 "framing", json_string(framing ? framing : ""), NULL);
        gobj_change_state(gobj, ST_LEAVING);
        return gobj_send_event(src, EV_DROP, NULL, gobj);
    }
    return 0;
}

static int ac_nick(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    session_priv_t *priv = gobj_priv(gobj);
    size_t n;
    const char *p = line_of(kw, &n);
    if (!nick_ok(p, n)) {
        say(gobj, "ERR bad nick");
        return 0;
    }
    char nick[NICK_MAX + 1];
    memcpy(nick, p, n);
    nick[n] = '\0';
    int rc = gobj_send_event(gobj_parent(gobj), EV_CHAT_JOIN, json_pack("{s:s}", "nick", nick),
                             gobj);
    if (rc == GOBJ_EEXIST) {
        say(gobj, "ERR nick taken");
        return 0;
    }
    if (rc < 0)
        return rc;
    free(priv->nick);
    priv->nick = strdup(nick);
    char ok[NICK_MAX + 4];
    snprintf(ok, sizeof ok, "OK %s", nick);
    say(gobj, ok);
    gobj_change_state(gobj, ST_CHATTING);
    return 0;
}

static int ac_line(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    size_t n;
    const char *p = line_of(kw, &n);
    if (n == 5 && memcmp(p, "/quit", 5) == 0) {
        gobj_send_event(gobj_parent(gobj), EV_CHAT_LEAVE, NULL, gobj);
        gobj_change_state(gobj, ST_LEAVING);
        return gobj_send_event(src, EV_DROP, NULL, gobj);
    }
    /* "<nick>: <line>" must fit the others' max_frame (the same attrs). */
    session_priv_t *priv = gobj_priv(gobj);
    if ((int64_t)(strlen(priv->nick) + 2 + n) > priv->max) {
        say(gobj, "ERR line too long");
        return 0;
    }
    return gobj_send_event(gobj_parent(gobj), EV_CHAT_LINE, json_incref(kw), gobj);
}

/* A message for this client: sent, or dropped while it is slow. */
static int ac_message(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    session_priv_t *priv = gobj_priv(gobj);
    if (priv->slow) {
        priv->dropped++;
        return MSG_DROPPED;
    }
    /* EV_SEND_DATA returns the bytes its GSock has queued. */
    int queued = gobj_send_event(priv->sock, EV_SEND_DATA, json_incref(kw), gobj);
    if (priv->high > 0 && queued > priv->high) {
        if (priv->disconnect) {
            /* It leaves the room here (the room counts it from the result);
             * the close comes back as EV_DISCONNECTED on a later turn. */
            gobj_log(GOBJ_LOG_INFO, gobj, "slow client disconnected", "nick",
                     json_string(priv->nick), NULL);
            gobj_change_state(gobj, ST_LEAVING);
            gobj_send_event(priv->sock, EV_DROP, NULL, gobj);
            return MSG_SLOW_DISCONNECT;
        }
        priv->slow = true;
    }
    return MSG_SENT;
}

static int ac_drained(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)kw;
    (void)src;
    session_priv_t *priv = gobj_priv(gobj);
    priv->slow = false;
    return 0;
}

static int ac_disconnected(gobj_t *gobj, gobj_event_t ev, json_t *kw, gobj_t *src)
{
    (void)ev;
    (void)src;
    session_priv_t *priv = gobj_priv(gobj);
    if (gobj_log_enabled(GOBJ_LOG_INFO))
        gobj_log_json(GOBJ_LOG_INFO, gobj, "EV_DISCONNECTED",
                      json_pack("{s:O?, s:O?, s:o}", "peername", json_object_get(kw, "peername"),
                                "reason", json_object_get(kw, "reason"), "nick",
                                json_string(priv->nick ? priv->nick : "")));
    if (gobj_in_this_state(gobj, ST_CHATTING))
        gobj_send_event(gobj_parent(gobj), EV_CHAT_LEAVE, NULL, gobj);
    priv->sock = NULL;
    return 0;
}

static const gobj_row_t st_session[] = {
    /*       event              action              next state */
    GOBJ_ROW(EV_CONNECTED,      ac_connected,       NULL),
    GOBJ_ROW(EV_TRANSMIT_READY, ac_drained,         NULL),
    GOBJ_ROW(EV_DISCONNECTED,   ac_disconnected,    ST_GONE),
    {0},
};

static const gobj_row_t st_wait_nick[] = {
    GOBJ_ROW(EV_RX_DATA,        ac_nick,            NULL),  /* ST_CHATTING when joined */
    {0},
};

static const gobj_row_t st_chatting[] = {
    GOBJ_ROW(EV_RX_DATA,        ac_line,            NULL),  /* /quit: ST_LEAVING */
    GOBJ_ROW(EV_CHAT_MESSAGE,   ac_message,         NULL),  /* slow: ST_LEAVING */
    {0},
};

static const gobj_row_t st_leaving[] = {
    GOBJ_ROW(EV_RX_DATA,        NULL,               NULL),  /* read before the close */
    {0},
};

static const gobj_row_t st_gone[] = {
    {0},
};

static const gobj_state_def_t session_states[] = {
    /* state         rows          parent      initial        entry exit */
    {ST_SESSION,     st_session,   NULL,       ST_WAIT_NICK,  NULL, NULL},
    {ST_WAIT_NICK,   st_wait_nick, ST_SESSION, NULL,          NULL, NULL},
    {ST_CHATTING,    st_chatting,  ST_SESSION, NULL,          NULL, NULL},
    {ST_LEAVING,     st_leaving,   ST_SESSION, NULL,          NULL, NULL},
    {ST_GONE,        st_gone,      NULL,       NULL,          NULL, NULL},
    {0},
};

static const gobj_event_def_t session_events[] = {
    {EV_CONNECTED, GOBJ_EV_IN, "{peername, sockname} from its GSock"},
    {EV_RX_DATA, GOBJ_EV_IN, "{data} from its GSock: one line"},
    {EV_TRANSMIT_READY, GOBJ_EV_IN, "{} from its GSock: its output drained"},
    {EV_DISCONNECTED, GOBJ_EV_IN, "{peername, sockname, reason} from its GSock"},
    {EV_CHAT_MESSAGE, GOBJ_EV_IN, "{data} from the room: a line for this client"},
    {EV_CHAT_JOIN, GOBJ_EV_OUT, "{nick} to the room"},
    {EV_CHAT_LINE, GOBJ_EV_OUT, "{data} to the room"},
    {EV_CHAT_LEAVE, GOBJ_EV_OUT, "{} to the room"},
    {0},
};

static const gclass_def_t session_def = {
    .name = GCLASS_CHAT_SESSION_NAME,
    .description = "one chat client: its nick, its lines, its slowness",
    .states = session_states,
    .events = session_events,
    .attrs = session_attrs,
    /* The runtime frees nick, an attribute. */
    .methods = {.mt_create = session_create, .mt_check = session_check},
    .priv_size = sizeof(session_priv_t),
};

/*--------------------------------------------------------------------------*
 *  Registration
 *--------------------------------------------------------------------------*/
int chat_register_gclasses(void)
{
    if (!gclass_find(GCLASS_CHAT_ROOM_NAME) && !gclass_register(&room_def))
        return GOBJ_ETABLE;
    if (!gclass_find(GCLASS_CHAT_SESSION_NAME) && !gclass_register(&session_def))
        return GOBJ_ETABLE;
    session_gc = gclass_find(GCLASS_CHAT_SESSION_NAME);
    return 0;
}
