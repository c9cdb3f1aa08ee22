/*
 * sock_attrs.c - GSock's attributes: the table (bound by offsetof to
 * sock_priv_t; doc/gclasses/GSock.md lists them) and the check of the
 * framing attributes, made at create and again at each connection.
 */
#include "ginsfsm/gobj.h"
#include "sock_priv.h"

/* clang-format off */
const gobj_attr_t gsock__attrs[] = {
    GOBJ_ATTR("host", GOBJ_ATTR_STRING, sock_priv_t, host, "\"\"", GOBJ_RD | GOBJ_WR,
              "Client side: host name or IPv4/IPv6 literal to connect to"),
    GOBJ_ATTR("port", GOBJ_ATTR_INT, sock_priv_t, port, "0", GOBJ_RD | GOBJ_WR,
              "Client side: TCP port to connect to"),
    GOBJ_ATTR("path", GOBJ_ATTR_STRING, sock_priv_t, path, "\"\"", GOBJ_RD | GOBJ_WR,
              "Client side: unix socket path to connect to (wins over host:port)"),
    GOBJ_ATTR("ssl_options", GOBJ_ATTR_JSON, sock_priv_t, ssl_options, "{}", GOBJ_RD,
              "Client side TLS: {cafile, verify_peer, server_name, certfile, keyfile, ciphers, "
              "min_version, handshake_timeout}; empty = plain TCP (doc/tls.md)"),
    GOBJ_ATTR("connect_timeout", GOBJ_ATTR_INT, sock_priv_t, connect_timeout, "10000",
              GOBJ_RD | GOBJ_WR, "Client connect bound in ms; <= 0 = none"),
    GOBJ_ATTR("happy_eyeballs_delay", GOBJ_ATTR_INT, sock_priv_t, happy_eyeballs_delay, "250",
              GOBJ_RD | GOBJ_WR,
              "Client, a name with several addresses: ms before the next address's attempt "
              "starts while the earlier ones are in flight (RFC 8305); <= 0 = one after another"),
    GOBJ_ATTR("inactivity_timeout", GOBJ_ATTR_INT, sock_priv_t, inactivity_timeout, "0",
              GOBJ_RD | GOBJ_WR, "Close after this many ms without rx or tx; 0 = off"),
    GOBJ_ATTR("tx_high_water", GOBJ_ATTR_INT, sock_priv_t, tx_high_water, "1048576",
              GOBJ_RD | GOBJ_WR, "Stop reading while more bytes than this are queued; 0 = never"),
    GOBJ_ATTR("drop_timeout", GOBJ_ATTR_INT, sock_priv_t, drop_timeout, "5000",
              GOBJ_RD | GOBJ_WR, "EV_DROP, gobj_stop: close after this many ms even if unsent"),
    GOBJ_ATTR("subscriber", GOBJ_ATTR_STRING, sock_priv_t, subscriber, "\"\"", GOBJ_RD,
              "Unique or full name of the gobj subscribed to the output events; empty = parent"),
    GOBJ_ATTR("framing", GOBJ_ATTR_STRING, sock_priv_t, framing, "\"none\"", GOBJ_RD | GOBJ_WR,
              "\"none\" (bytes as they come), \"line\" or \"length\": one frame per EV_RX_DATA"),
    GOBJ_ATTR("delimiter", GOBJ_ATTR_STRING, sock_priv_t, delimiter, "\"\\n\"", GOBJ_RD | GOBJ_WR,
              "line: ends each frame (1 to 8 bytes); with \"\\r\\n\" a bare \"\\n\" does too"),
    GOBJ_ATTR("keep_delimiter", GOBJ_ATTR_BOOL, sock_priv_t, keep_delimiter, "false",
              GOBJ_RD | GOBJ_WR, "line: EV_RX_DATA data ends with the delimiter received"),
    GOBJ_ATTR("max_frame", GOBJ_ATTR_INT, sock_priv_t, max_frame, "65536", GOBJ_RD | GOBJ_WR,
              "line, length: largest payload in bytes (> 0); larger closes or is refused"),
    GOBJ_ATTR("length_bytes", GOBJ_ATTR_INT, sock_priv_t, length_bytes, "4", GOBJ_RD | GOBJ_WR,
              "length: header size, 1, 2, 4 or 8 bytes"),
    GOBJ_ATTR("length_endian", GOBJ_ATTR_STRING, sock_priv_t, length_endian, "\"big\"",
              GOBJ_RD | GOBJ_WR, "length: header byte order, \"big\" or \"little\""),
    GOBJ_ATTR("length_includes_header", GOBJ_ATTR_BOOL, sock_priv_t, length_includes_header,
              "false", GOBJ_RD | GOBJ_WR, "length: the header's value counts the header too"),
    GOBJ_ATTR("half_close", GOBJ_ATTR_BOOL, sock_priv_t, half_close, "false", GOBJ_RD,
              "The peer's FIN is published as EV_RX_EOF and the write side stays open "
              "until EV_SHUTDOWN; false = close once the replies are written"),
    GOBJ_ATTR("rx_bytes", GOBJ_ATTR_INT, sock_priv_t, rx_bytes, "0", GOBJ_STATS,
              "Bytes received"),
    GOBJ_ATTR("rx_msgs", GOBJ_ATTR_INT, sock_priv_t, rx_msgs, "0", GOBJ_STATS,
              "EV_RX_DATA published (frames, when framing is on)"),
    GOBJ_ATTR("tx_bytes", GOBJ_ATTR_INT, sock_priv_t, tx_bytes, "0", GOBJ_STATS,
              "Bytes written to the socket"),
    GOBJ_ATTR("tx_msgs", GOBJ_ATTR_INT, sock_priv_t, tx_msgs, "0", GOBJ_STATS,
              "EV_SEND_DATA accepted"),
    GOBJ_ATTR("tx_queued", GOBJ_ATTR_INT, sock_priv_t, tx_queued, "0", GOBJ_STATS,
              "Bytes accepted but not yet written (now)"),
    GOBJ_ATTR("peername", GOBJ_ATTR_STRING, sock_priv_t, peername, "\"\"", GOBJ_VOLATILE,
              "The peer's address: 127.0.0.1:7000, [::1]:7000, a path, or empty"),
    GOBJ_ATTR("sockname", GOBJ_ATTR_STRING, sock_priv_t, sockname, "\"\"", GOBJ_VOLATILE,
              "The local address, in the same format"),
    GOBJ_ATTR("peer_uid", GOBJ_ATTR_INT, sock_priv_t, peer_uid, "-1", GOBJ_VOLATILE,
              "Accepted on a unix socket: the peer's user id (SO_PEERCRED); else -1"),
    GOBJ_ATTR("peer_pid", GOBJ_ATTR_INT, sock_priv_t, peer_pid, "-1", GOBJ_VOLATILE,
              "Accepted on a unix socket: the peer's process id when it connected; else -1"),
    GOBJ_ATTR_END,
};
/* clang-format on */

/* Check the framing attributes and (re)make the framer.  At create a bad
 * value fails the create; at a later connection (the attributes were
 * written since) the framing in use so far is kept and the error logged. */
int gsock__apply_framing(gobj_t *gobj)
{
    sock_priv_t *priv = gobj_priv(gobj);
    gsock_framing_conf_t conf = {
        .framing = priv->framing,
        .delimiter = priv->delimiter,
        .keep_delimiter = priv->keep_delimiter,
        .max_frame = priv->max_frame,
        .length_bytes = priv->length_bytes,
        .length_endian = priv->length_endian,
        .length_includes_header = priv->length_includes_header,
    };
    int rc = gsock_framer__check(gobj, &conf);
    if (rc == 0)
        rc = gsock_framer__setup(&priv->framer, &conf);
    gsock_framer__reset(priv->framer);
    return rc;
}

/* mt_check: the framing attributes a create would use (gserve --check,
 * gclass_check_attrs: GServerSock's gsock_attrs). */
int gsock__mt_check(const json_t *attrs, char *why, size_t why_len)
{
    gsock_framing_conf_t conf = {
        .framing = json_string_value(json_object_get(attrs, "framing")),
        .delimiter = json_string_value(json_object_get(attrs, "delimiter")),
        .keep_delimiter = json_is_true(json_object_get(attrs, "keep_delimiter")),
        .max_frame = json_integer_value(json_object_get(attrs, "max_frame")),
        .length_bytes = json_integer_value(json_object_get(attrs, "length_bytes")),
        .length_endian = json_string_value(json_object_get(attrs, "length_endian")),
        .length_includes_header = json_is_true(json_object_get(attrs, "length_includes_header")),
    };
    return gsock_framer__explain(&conf, why, why_len);
}
