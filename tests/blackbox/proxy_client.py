#!/usr/bin/env python3
"""proxy_client.py - the clients and upstreams of tests/blackbox/tcp_proxy.sh.

Subcommands (each prints one summary line and exits 0, or prints the reason
to stderr and exits 1):
  roundtrip HOST:PORT --bytes N       N random bytes to an echo behind the
                                      proxy, then a half-close; everything
                                      must come back, byte-exact, then EOF
  get HOST:PORT --path P --sha256 H   HTTP GET through the proxy; the body's
                                      SHA-256 must be H
  put HOST:PORT --bytes N             HTTP PUT of N random bytes; the server
                                      (serve-put) answers their SHA-256
  serve-put --port-file F             an HTTP server (http.server) answering
                                      a PUT with the SHA-256 of its body
  sink --port-file F                  a TCP server that accepts and never reads
  flood HOST:PORT --pid PID --seconds S --max-growth-kib K
                                      send without ever reading for S seconds
                                      (until the kernel's buffers fill); the
                                      RSS of PID must grow by at most K KiB
  closed HOST:PORT --within S         connect, send a line, and see the proxy
                                      close the connection within S seconds
Loopback only; every wait is bounded.
"""
import argparse
import hashlib
import http.server
import os
import socket
import sys
import threading
import time


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def connect(a, timeout=10.0):
    return socket.create_connection(addr(a), timeout=timeout)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cmd_roundtrip(a):
    s = connect(a.addr, timeout=60)
    data = os.urandom(a.bytes)
    got = bytearray()
    err = []

    def reader():
        try:
            while True:
                b = s.recv(1 << 20)
                if not b:
                    return
                got.extend(b)
        except OSError as e:
            err.append(str(e))

    t = threading.Thread(target=reader)
    t.start()
    t0 = time.monotonic()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join(a.limit)
    if t.is_alive():
        die("roundtrip: %d of %d bytes back within %ss" % (len(got), len(data), a.limit))
    if err:
        die("roundtrip: read error %s after %d bytes" % (err[0], len(got)))
    if bytes(got) != data:
        for i in range(min(len(got), len(data))):
            if got[i] != data[i]:
                die("roundtrip: %d bytes back, first difference at byte %d" % (len(got), i))
        die("roundtrip: %d bytes back, expected %d" % (len(got), len(data)))
    dt = time.monotonic() - t0
    print("%d bytes both ways, byte-exact, EOF after them (%.2f s, %.0f MiB/s)"
          % (len(data), dt, len(data) / dt / 1048576))


def http_exchange(a, request, body=b""):
    s = connect(a.addr, timeout=60)
    s.sendall(request + body)
    s.shutdown(socket.SHUT_WR)  # the request is whole: a half-close
    buf = bytearray()
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        buf.extend(b)
    s.close()
    head, sep, payload = bytes(buf).partition(b"\r\n\r\n")
    if not sep:
        die("http: no complete response header in %d bytes" % len(buf))
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if " 200 " not in status:
        die("http: status line %r" % status)
    return head, payload


def cmd_get(a):
    t0 = time.monotonic()
    _, body = http_exchange(
        a, ("GET /%s HTTP/1.0\r\nHost: test\r\n\r\n" % a.path).encode())
    h = hashlib.sha256(body).hexdigest()
    if h != a.sha256:
        die("get: body of %d bytes has SHA-256 %s, expected %s" % (len(body), h, a.sha256))
    print("GET /%s: %d bytes, SHA-256 matches (%.2f s)" % (a.path, len(body),
                                                         time.monotonic() - t0))


def cmd_put(a):
    data = os.urandom(a.bytes)
    t0 = time.monotonic()
    req = ("PUT /upload HTTP/1.0\r\nHost: test\r\nContent-Length: %d\r\n\r\n"
           % len(data)).encode()
    _, body = http_exchange(a, req, data)
    want = hashlib.sha256(data).hexdigest()
    if body.decode(errors="replace").strip() != want:
        die("put: the server saw SHA-256 %r, expected %s" % (body[:80], want))
    print("PUT %d bytes: the server's SHA-256 matches (%.2f s)" % (len(data),
                                                                   time.monotonic() - t0))


class PutHandler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        while n > 0:
            b = self.rfile.read(min(n, 1 << 20))
            if not b:
                break
            h.update(b)
            n -= len(b)
        out = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def cmd_serve_put(a):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PutHandler)
    write_port(a.port_file, srv.server_address[1])
    srv.serve_forever()


def cmd_sink(a):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    write_port(a.port_file, ls.getsockname()[1])
    keep = []
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        keep.append(c)  # never read


def cmd_flood(a):
    s = connect(a.addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # and never read
    s.setblocking(False)
    before = rss_kib(a.pid)
    chunk = os.urandom(1 << 16)
    sent = 0
    stuck_since = None
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            sent += s.send(chunk)
            stuck_since = None
        except BlockingIOError:
            if stuck_since is None:
                stuck_since = time.monotonic()
            elif time.monotonic() - stuck_since > 1.0:
                break  # every buffer on the way is full: the proxy holds it
            time.sleep(0.01)
    time.sleep(0.3)
    growth = rss_kib(a.pid) - before
    s.close()
    if growth > a.max_growth_kib:
        die("flood: the proxy's RSS grew by %d KiB after %d bytes sent (limit %d KiB)"
            % (growth, sent, a.max_growth_kib))
    print("%d bytes sent until the path was full; proxy RSS grew by %d KiB (limit %d)"
          % (sent, growth, a.max_growth_kib))


def cmd_closed(a):
    s = connect(a.addr)
    s.sendall(b"hello\n")
    s.settimeout(a.within)
    t0 = time.monotonic()
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
    except socket.timeout:
        die("closed: still open after %ss" % a.within)
    except ConnectionResetError:
        pass
    print("closed by the proxy after %.2f s" % (time.monotonic() - t0))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("roundtrip")
    c.add_argument("addr")
    c.add_argument("--bytes", type=int, required=True)
    c.add_argument("--limit", type=float, default=120)
    c = sub.add_parser("get")
    c.add_argument("addr")
    c.add_argument("--path", required=True)
    c.add_argument("--sha256", required=True)
    c = sub.add_parser("put")
    c.add_argument("addr")
    c.add_argument("--bytes", type=int, required=True)
    c = sub.add_parser("serve-put")
    c.add_argument("--port-file", required=True)
    c = sub.add_parser("sink")
    c.add_argument("--port-file", required=True)
    c = sub.add_parser("flood")
    c.add_argument("addr")
    c.add_argument("--pid", type=int, required=True)
    c.add_argument("--seconds", type=float, default=10)
    c.add_argument("--max-growth-kib", type=int, required=True)
    c = sub.add_parser("closed")
    c.add_argument("addr")
    c.add_argument("--within", type=float, required=True)
    a = p.parse_args()
    {"roundtrip": cmd_roundtrip, "get": cmd_get, "put": cmd_put,
     "serve-put": cmd_serve_put, "sink": cmd_sink, "flood": cmd_flood,
     "closed": cmd_closed}[a.cmd.replace("_", "-")](a)


if __name__ == "__main__":
    main()
