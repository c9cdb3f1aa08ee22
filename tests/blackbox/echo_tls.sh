#!/bin/sh
# The echo sample over TLS as a user meets it: samples/echo-tls.json runs
# with certificates made here (openssl req), a real client (openssl
# s_client) gets every line back, a client killed mid-session or reset
# during a large write leaves the server serving, every bad certificate or
# key makes gserve exit 2 naming the file, and 10 good clients keep echoing
# while garbage and half-finished handshakes hit the port.  Skips (77)
# without the openssl command.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/blackbox/lib.sh"

OPENSSL=$(command -v openssl) || { echo "openssl not found: skipped"; exit 77; }
C="$TMP/certs"
mkdir -p "$C"

# A CA, a server certificate it signed for 127.0.0.1 and localhost, a key
# that matches nothing, and the server key under a passphrase.
make_certs() {
    ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    (
        cd "$C" &&
            "$OPENSSL" req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=TestCA &&
            "$OPENSSL" req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf &&
            "$OPENSSL" x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -out server.pem -days 2 -extfile ext.cnf &&
            "$OPENSSL" req -x509 $ec -keyout other.key -out other.pem -days 2 -subj /CN=other &&
            "$OPENSSL" pkey -in server.key -aes128 -passout pass:secret -out server-enc.key
    ) >"$TMP/certs.log" 2>&1
}
if ! make_certs; then
    fail "cannot make the test certificates"
    sed 's/^/    | /' "$TMP/certs.log" >&2
    finish
fi

# tls_config FILE CERT KEY [EXTRA] : an echo-tls config on 127.0.0.1 port 0.
tls_config() {
    cat >"$1" <<EOC
{ "name": "echo-tls",
  "tree": { "gclass": "Echo", "name": "echo",
            "children": [ { "gclass": "GServerSock", "name": "server",
                            "attrs": { "host": "127.0.0.1", "port": 0,
                                       "ssl_options": { "certfile": "$2", "keyfile": "$3"$4 } } } ] } }
EOC
}

# port_of FILE : the port of the first "listening" record of a JSON log.
port_of() {
    sed -n 's/.*"address": *"127\.0\.0\.1:\([0-9][0-9]*\)".*/\1/p' "$1" | head -n 1
}

# sclient PORT : openssl s_client verifying the server, quiet, ending at the
# end of its input (stdin and stdout are the caller's).
sclient() {
    timeout "$LIMIT" "$OPENSSL" s_client -quiet -no_ign_eof -connect "127.0.0.1:$1" \
        -CAfile "$C/ca.pem" -verify_return_error -servername localhost 2>/dev/null
}

# count FILE TEXT : the number of lines of FILE containing TEXT.
count() {
    grep -F -c -e "$2" "$1" 2>/dev/null || true
}

# --- The sample itself, run where its relative certificate paths point. ---
cp "$C/server.pem" "$C/server.key" "$TMP/"
start_bg sample sh -c 'cd "$1" && exec "$2" -c "$3" -s server.port=0 --log-format json' \
    sh "$TMP" "$GSERVE" "$top_srcdir/samples/echo-tls.json"
if wait_for "$TMP/sample.err" '"msg": ?"running"' 20; then
    port=$(port_of "$TMP/sample.err")
    # The client's input stays open until the echo is back (bounded): s_client
    # ends at the end of its input, and a fixed pause would be too short on a
    # busy machine.
    mkfifo "$TMP/sample.in"
    sclient "$port" <"$TMP/sample.in" >"$TMP/sample.out" &
    spid=$!
    exec 5>"$TMP/sample.in"
    printf 'hello tls\n' >&5
    i=0
    while ! grep -q -x 'hello tls' "$TMP/sample.out" && [ $i -lt $((200 * TIME_SCALE)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    exec 5>&-
    wait "$spid"
    if grep -q -x 'hello tls' "$TMP/sample.out"; then
        pass "samples/echo-tls.json: openssl s_client gets its line back"
    else
        fail "samples/echo-tls.json: no echo through openssl s_client"
        sed 's/^/    | /' "$TMP/sample.err" >&2
    fi
    kill -TERM "$BG_PID"
    wait_exit "$BG_PID" 20
    [ "$EXIT_STATUS" = 0 ] && pass "samples/echo-tls.json: SIGTERM -> exit 0" ||
        fail "samples/echo-tls.json: exit status $EXIT_STATUS after SIGTERM"
    n_c=$(count "$TMP/sample.err" '"EV_CONNECTED"')
    n_d=$(count "$TMP/sample.err" '"EV_DISCONNECTED"')
    [ "$n_c" = 1 ] && [ "$n_d" = 1 ] && pass "one EV_CONNECTED, one EV_DISCONNECTED" ||
        fail "$n_c EV_CONNECTED and $n_d EV_DISCONNECTED records, expected 1 and 1"
else
    fail "samples/echo-tls.json: gserve did not start"
    sed 's/^/    | /' "$TMP/sample.err" >&2
fi

# --- Bad certificates and keys: exit 2, the file named, nothing bound. ---
bad() {
    desc=$1
    file=$2
    tls_config "$TMP/bad.json" "$3" "$4"
    before=$FAILS
    if run 2 "$GSERVE" -c "$TMP/bad.json"; then
        contains "$TMP/err" "$file"
        lacks "$TMP/err" "listening"
    fi
    [ "$FAILS" -eq "$before" ] && pass "$desc: exit 2, $(basename "$file") named"
}
bad "missing certificate" "$C/missing.pem" "$C/missing.pem" "$C/server.key"
bad "missing key" "$C/missing.key" "$C/server.pem" "$C/missing.key"
bad "certificate that is not one" "$C/ext.cnf" "$C/ext.cnf" "$C/server.key"
bad "key of another certificate" "$C/other.key" "$C/server.pem" "$C/other.key"
bad "passphrase-protected key" "$C/server-enc.key" "$C/server.pem" "$C/server-enc.key"

# --- One server for the rest, with a short handshake_timeout (1 s times
# TIME_SCALE: the good clients' handshakes must fit in it on a busy machine).
tls_config "$TMP/tls.json" "$C/server.pem" "$C/server.key" \
    ", \"handshake_timeout\": $((1000 * TIME_SCALE))"
start_bg main "$GSERVE" -c "$TMP/tls.json" --log-format json --log-level debug
if ! wait_for "$TMP/main.err" '"msg": ?"running"' 20; then
    fail "gserve with TLS did not start"
    sed 's/^/    | /' "$TMP/main.err" >&2
    finish
fi
SRV=$BG_PID
port=$(port_of "$TMP/main.err")

# A client killed mid-session (no close_notify, an abrupt TCP close).
mkfifo "$TMP/in"
sclient "$port" <"$TMP/in" >"$TMP/abrupt.out" &
cpid=$!
exec 3>"$TMP/in"
printf 'abrupt\n' >&3
i=0
while ! grep -q abrupt "$TMP/abrupt.out" && [ $i -lt $((200 * TIME_SCALE)) ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -KILL "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
exec 3>&-
grep -q abrupt "$TMP/abrupt.out" && pass "echo before an abrupt drop" ||
    fail "no echo on the connection dropped later"

# A client that sends 8 MB, reads nothing, and is killed: a reset while the
# server writes.  No SIGPIPE, no crash.
# The client's output is a fifo nobody reads (held open read-write here, so
# that opening it does not block): once the pipe is full the client stops
# reading the socket.
mkfifo "$TMP/sink"
exec 4<>"$TMP/sink"
head -c 8000000 /dev/zero | "$OPENSSL" s_client -quiet -connect "127.0.0.1:$port" \
    -CAfile "$C/ca.pem" >"$TMP/sink" 2>/dev/null &
rpid=$!
sleep 1.5
kill -KILL "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null
exec 4<&-
sleep 0.5
kill -0 "$SRV" 2>/dev/null && pass "reset during a large write: the server lives" ||
    fail "the server died after a reset during a large write"

# Ten good clients, each sending 20 lines over 2 s, while garbage and
# half-finished handshakes arrive.  Each keeps its input open until its 20
# lines are back (bounded), then ends.
n=1
while [ $n -le 10 ]; do
    (
        i=1
        while [ $i -le 20 ]; do
            echo "client $n line $i"
            sleep 0.1
            i=$((i + 1))
        done
        i=0
        while [ "$(grep -c "^client $n line" "$TMP/good$n.out")" -lt 20 ] &&
            [ $i -lt $((200 * TIME_SCALE)) ]; do
            sleep 0.1
            i=$((i + 1))
        done
    ) | sclient "$port" >"$TMP/good$n.out" &
    eval "gpid_$n=\$!"
    n=$((n + 1))
done
if command -v python3 >/dev/null 2>&1; then
    timeout "$LIMIT" python3 - "$port" <<'EOP' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(10):
    g = socket.create_connection(("127.0.0.1", port))
    g.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
    socks.append(g)
    h = socket.create_connection(("127.0.0.1", port))
    # A ClientHello record header that promises more than ever comes.
    h.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]))
    socks.append(h)
    time.sleep(0.1)
time.sleep(1.5)
for s in socks:
    s.close()
EOP
    junk_pid=$!
else
    junk_pid=""
    echo "python3 not found: garbage clients skipped"
fi
before=$FAILS
n=1
while [ $n -le 10 ]; do
    eval "wait \$gpid_$n"
    got=$(grep -c "^client $n line" "$TMP/good$n.out")
    [ "$got" = 20 ] || fail "good client $n got $got of its 20 lines back"
    n=$((n + 1))
done
[ -n "$junk_pid" ] && wait "$junk_pid"
[ "$FAILS" -eq "$before" ] && pass "10 good clients got every line back"
if [ -n "$junk_pid" ]; then
    nf=$(count "$TMP/main.err" 'TLS handshake failed')
    [ "$nf" -ge 20 ] && pass "$nf failed handshakes logged at debug level" ||
        fail "$nf failed handshake records, expected at least 20"
    grep -F 'TLS handshake failed' "$TMP/main.err" | grep -q -v '"level": *"debug"' &&
        fail "a failed handshake was logged above debug level"
fi

kill -TERM "$SRV"
wait_exit "$SRV" 20
[ "$EXIT_STATUS" = 0 ] && pass "SIGTERM -> exit 0" || fail "exit status $EXIT_STATUS after SIGTERM"
# Every announced connection ended in exactly one EV_DISCONNECTED.
n_c=$(count "$TMP/main.err" '"EV_CONNECTED"')
n_d=$(count "$TMP/main.err" '"EV_DISCONNECTED"')
[ "$n_c" = "$n_d" ] && [ "$n_c" -ge 12 ] &&
    pass "$n_c EV_CONNECTED, as many EV_DISCONNECTED" ||
    fail "$n_c EV_CONNECTED but $n_d EV_DISCONNECTED"
finish
