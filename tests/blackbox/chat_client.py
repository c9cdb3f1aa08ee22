#!/usr/bin/env python3
"""chat_client.py - the clients of the chat sample's black-box test.

tests/blackbox/chat.sh starts samples/gserve with samples/chat.json (on a port
the kernel chose) and calls this program for what real chat clients do.  Each
command prints one line saying what it saw and exits 0 when that is what the
chat promises, 1 otherwise (the reason on stderr), 2 on bad usage.  Every wait
is bounded, and every bound is multiplied by the environment's TIME_SCALE.

The protocol (doc/gclasses/ChatRoom.md): the first line is the nick ("OK
<nick>", "ERR nick taken", "ERR bad nick"); every later line L of N reaches
every other joined client as "N: L"; "/quit" closes the client.
"""

import argparse
import json
import os
import random
import selectors
import socket
import sys
import time

SCALE = max(1, int(os.environ.get("TIME_SCALE", "1") or "1"))


class Failure(Exception):
    """A broken promise: the message says what was expected and what came."""


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class Client:
    """One chat connection with a line reader."""

    def __init__(self, addr, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10 * SCALE)
        self.sock.connect(addr)
        self.buf = b""
        self.lines = []
        self.eof = False
        self.out = b""

    def send(self, data):
        self.sock.sendall(data)

    def feed(self, data):
        if not data:
            self.eof = True
            return
        self.buf += data
        *whole, self.buf = self.buf.split(b"\n")
        self.lines.extend(whole)

    def read_some(self):
        try:
            self.feed(self.sock.recv(65536))
        except (ConnectionResetError, BrokenPipeError):
            self.eof = True

    def line(self, timeout=10):
        """The next line (bytes, without "\\n"), within timeout * SCALE s."""
        end = time.monotonic() + timeout * SCALE
        while not self.lines:
            if self.eof:
                raise Failure("the server closed the connection; expected a line")
            left = end - time.monotonic()
            if left <= 0:
                raise Failure("no line within %ds" % (timeout * SCALE))
            self.sock.settimeout(left)
            try:
                self.read_some()
            except socket.timeout:
                pass
        return self.lines.pop(0)

    def expect(self, want, timeout=10):
        got = self.line(timeout)
        if got != want:
            raise Failure("expected %r, got %r" % (want, got))

    def expect_eof(self, timeout=10):
        """The server closes: EOF (or a reset) within timeout * SCALE s;
        lines read before it are returned."""
        end = time.monotonic() + timeout * SCALE
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                raise Failure("the server did not close within %ds" % (timeout * SCALE))
            self.sock.settimeout(left)
            try:
                self.read_some()
            except socket.timeout:
                pass
        return self.lines

    def join(self, nick):
        self.send(nick.encode() + b"\n")
        self.expect(b"OK " + nick.encode())

    def close(self):
        self.sock.close()


def quiet(clients, seconds):
    """No client gets a line for `seconds` (not scaled: it is what is tested)."""
    sel = selectors.DefaultSelector()
    for c in clients:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(max(0.0, end - time.monotonic())):
            c = key.data
            try:
                c.feed(c.sock.recv(65536))
            except BlockingIOError:
                pass
    sel.close()
    for c in clients:
        c.sock.setblocking(True)
        if c.lines:
            raise Failure("unexpected line %r" % c.lines[0])


def pump(clients, until, timeout):
    """Reads every client (and writes their pending output) until until()
    holds, within timeout * SCALE s."""
    sel = selectors.DefaultSelector()
    for c in clients:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    end = time.monotonic() + timeout * SCALE
    try:
        while not until():
            left = end - time.monotonic()
            if left <= 0:
                raise Failure("not done within %ds" % (timeout * SCALE))
            for key, ev in sel.select(min(left, 1.0)):
                c = key.data
                if ev & selectors.EVENT_WRITE and c.out:
                    try:
                        n = c.sock.send(c.out)
                        c.out = c.out[n:]
                    except BlockingIOError:
                        pass
                if ev & selectors.EVENT_READ:
                    try:
                        c.feed(c.sock.recv(262144))
                    except BlockingIOError:
                        pass
                    except ConnectionResetError:
                        c.eof = True
                if not c.out and not c.eof:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                if c.eof:
                    sel.unregister(c.sock)
    finally:
        sel.close()
        for c in clients:
            c.sock.setblocking(True)


# ---------------------------------------------------------------------------
#  Commands
# ---------------------------------------------------------------------------
def cmd_fanout(a):
    """N clients join, then each sends L lines, interleaved and pipelined;
    each gets exactly the others' lines, each sender's in order, and every
    two clients see the lines they both get in the same order."""
    addr = parse_addr(a.addr)
    rnd = random.Random(a.seed)
    cs = [Client(addr) for _ in range(a.clients)]
    for i, c in enumerate(cs):
        c.join("c%d" % i)
    sent = {}
    for i, c in enumerate(cs):
        sent[i] = [b"line %d of c%d %s" % (j, i, b"x" * rnd.randrange(0, 40))
                   for j in range(a.lines)]
    # Pipelined: each client's lines go in chunks cut at random points, so
    # that lines arrive split and many to a read.
    for i, c in enumerate(cs):
        c.out = b"".join(l + b"\n" for l in sent[i])
    want = (a.clients - 1) * a.lines
    pump(cs, lambda: all(len(c.lines) >= want for c in cs), 60)
    seqs = []
    for i, c in enumerate(cs):
        if len(c.lines) != want:
            raise Failure("c%d got %d lines, expected %d" % (i, len(c.lines), want))
        per = {}
        for l in c.lines:
            nick, sep, text = l.partition(b": ")
            if not sep or not nick.startswith(b"c"):
                raise Failure("c%d got a malformed line %r" % (i, l))
            k = int(nick[1:])
            if k == i:
                raise Failure("c%d got its own line %r" % (i, l))
            per.setdefault(k, []).append(text)
        for k, texts in per.items():
            if texts != sent[k]:
                raise Failure("c%d got c%d's lines out of order or changed" % (i, k))
        seqs.append(c.lines)
    # One order for everybody: the lines two clients both get come in the
    # same order to both.
    for i in range(len(cs)):
        for j in range(i + 1, len(cs)):
            own = (b"c%d: " % i, b"c%d: " % j)
            a_ = [l for l in seqs[i] if not l.startswith(own)]
            b_ = [l for l in seqs[j] if not l.startswith(own)]
            if a_ != b_:
                raise Failure("c%d and c%d got the common lines in different orders" % (i, j))
    for c in cs:
        c.close()
    print("%d clients x %d lines: each got the %d lines of the others, in one order"
          % (a.clients, a.lines, want))


def cmd_nicks(a):
    addr = parse_addr(a.addr)
    x = Client(addr)
    x.join("alice")
    y = Client(addr)
    y.send(b"alice\n")
    y.expect(b"ERR nick taken")
    for bad in (b"", b"a b", b"a:b", b"n" * 33, b"tab\tnick"):
        y.send(bad + b"\n")
        y.expect(b"ERR bad nick")
    y.send(b"bob\r\n")  # a telnet line
    y.expect(b"OK bob")
    x.send(b"hello\n")
    y.expect(b"alice: hello")
    # A client that has not joined gets nothing.
    z = Client(addr)
    y.send(b"to the joined only\n")
    x.expect(b"bob: to the joined only")
    quiet([z], 0.3)
    # When alice leaves, her nick is free again.
    x.send(b"/quit\n")
    x.expect_eof()
    z.join("alice")
    y.send(b"again\n")
    z.expect(b"bob: again")
    for c in (x, y, z):
        c.close()
    print("nick taken, bad nicks refused, a telnet line, a freed nick joins again")


def cmd_quit(a):
    addr = parse_addr(a.addr)
    x, y = Client(addr), Client(addr)
    x.join("q1")
    y.join("q2")
    x.send(b"bye all\n/quit\nnever sent\n")
    y.expect(b"q1: bye all")
    x.expect_eof()
    y.send(b"anyone?\n")
    quiet([y], 0.3)
    y.send(b"/quit\r\n")
    y.expect_eof()
    print("/quit closes the client; lines after it are not delivered")


def cmd_abrupt(a):
    """Clients that vanish mid-line (close and reset) deliver nothing of the
    partial line; the others go on."""
    addr = parse_addr(a.addr)
    x, y = Client(addr), Client(addr)
    x.join("stay1")
    y.join("stay2")
    for k in range(a.count):
        v = Client(addr)
        v.join("gone%d" % k)
        v.send(b"whole line %d\npartial line wi" % k)
        x.expect(b"gone%d: whole line %d" % (k, k))
        y.expect(b"gone%d: whole line %d" % (k, k))
        if k % 2:
            v.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        v.close()
    x.send(b"still here\n")
    y.expect(b"stay1: still here")
    quiet([x, y], 0.3)
    x.close()
    y.close()
    print("%d clients gone mid-line (close and reset): no partial line, the others go on"
          % a.count)


def cmd_toolong(a):
    addr = parse_addr(a.addr)
    x, y = Client(addr), Client(addr)
    x.join("long1")
    y.join("long2")
    # The longest deliverable line: "long1: " + line is max_frame.
    x.send(b"fits " + b"a" * (a.max - 12) + b"\n")
    y.expect(b"long1: fits " + b"a" * (a.max - 12))
    x.send(b"c" * (a.max - 6) + b"\n")
    x.expect(b"ERR line too long")
    x.send(b"b" * (a.max + 1))  # no newline needed: too long already
    x.expect_eof()
    y.send(b"alone\n")
    quiet([y], 0.3)
    z = Client(addr)
    z.join("long3")
    y.send(b"hi long3\n")
    z.expect(b"long2: hi long3")
    for c in (y, z):
        c.close()
    print("a line of max_frame passes; max_frame + 1 closes only its sender")


def cmd_slow(a):
    """A client that never reads: a sender and a reader go on at full speed
    and the reader gets every line; with --policy disconnect the slow client
    is closed."""
    addr = parse_addr(a.addr)
    slow = Client(addr, rcvbuf=4096)
    slow.join("slow")
    tx, rx = Client(addr), Client(addr)
    tx.join("tx")
    rx.join("rx")
    line = b"y" * 900
    tx.out = b"".join(b"%06d %s\n" % (j, line) for j in range(a.lines))
    pump([tx, rx], lambda: len(rx.lines) >= a.lines, 60)
    for j, l in enumerate(rx.lines):
        if l != b"tx: %06d %s" % (j, line):
            raise Failure("rx: line %d is %r..." % (j, l[:30]))
    rx.lines = []
    if a.policy == "disconnect":
        got = slow.expect_eof(20)
        if len(got) >= a.lines:
            raise Failure("the slow client got every line: it was never slow")
        what = "the slow client was disconnected after %d lines" % len(got)
    else:
        # Still connected: once it reads (its GSock reads again when its
        # queue drains), it gets some of the lines, in order, with a gap
        # where they were dropped, and it can talk again.
        slow.sock.settimeout(1.0)
        while True:
            try:
                data = slow.sock.recv(262144)
            except socket.timeout:
                break
            if not data:
                raise Failure("the slow client was closed under the drop policy")
            slow.feed(data)
        nums = [int(l[4:10]) for l in slow.lines]
        if nums != sorted(set(nums)) or len(nums) >= a.lines:
            raise Failure("the slow client got %d lines, expected fewer than %d, in order"
                          % (len(nums), a.lines))
        slow.send(b"i am alive\n")
        rx.expect(b"slow: i am alive")
        what = "the slow client stays connected"
    for c in (slow, tx, rx):
        c.close()
    print("%d lines of 908 bytes all reached the reader past a never-reading client; %s"
          % (a.lines, what))


def cmd_lenecho(a):
    """The length-framed echo (samples/echo-length.json): 4-byte big-endian
    headers; frames split at every point and many in one write come back
    whole, binary bytes included."""
    addr = parse_addr(a.addr)
    c = Client(addr)
    rnd = random.Random(a.seed)
    frames = [bytes(rnd.randrange(256) for _ in range(n)) for n in (0, 1, 2, 255, 256, 70000)]
    wire = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    cut = 0
    while cut < len(wire):  # odd-sized pieces: headers and payloads split
        step = rnd.randrange(1, 7) if cut < 600 else 65536
        c.send(wire[cut:cut + step])
        cut += step
    back = b""
    end = time.monotonic() + 10 * SCALE
    while len(back) < len(wire):
        if time.monotonic() > end:
            raise Failure("got %d of %d bytes back" % (len(back), len(wire)))
        c.sock.settimeout(max(0.1, end - time.monotonic()))
        data = c.sock.recv(65536)
        if not data:
            raise Failure("closed after %d of %d bytes" % (len(back), len(wire)))
        back += data
    if back != wire:
        raise Failure("the frames came back changed")
    # A header announcing more than max_frame closes the connection.
    c.send((a.max + 1).to_bytes(4, "big"))
    c.expect_eof()
    print("%d length-framed frames (0 B to 70000 B, split at random) echoed whole; "
          "a header over max_frame closes" % len(frames))


def cmd_closed(a):
    """The client is closed by the server (no line needed)."""
    c = Client(parse_addr(a.addr))
    if a.send:
        c.send(a.send.encode().replace(b"\\n", b"\n"))
    c.expect_eof()
    print("closed by the server")


def cmd_stat(a):
    """Prints the statistic NAME of gobj GOBJ from the last stats record."""
    last = None
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for text in f:
            try:
                r = json.loads(text)
            except ValueError:
                continue
            if r.get("msg") == "stats":
                last = r
    if last is None:
        raise Failure("no stats record in %s" % a.log)
    print((last.get("stats") or {}).get(a.gobj, {}).get(a.name, "missing"))


def main():
    p = argparse.ArgumentParser(prog="chat_client")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, addr=True):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        if addr:
            sp.add_argument("addr")
        return sp

    sp = add("fanout", cmd_fanout)
    sp.add_argument("--clients", type=int, default=30)
    sp.add_argument("--lines", type=int, default=30)
    sp.add_argument("--seed", type=int, default=1)
    add("nicks", cmd_nicks)
    add("quit", cmd_quit)
    sp = add("abrupt", cmd_abrupt)
    sp.add_argument("--count", type=int, default=6)
    sp = add("toolong", cmd_toolong)
    sp.add_argument("--max", type=int, default=1024)
    sp = add("slow", cmd_slow)
    sp.add_argument("--lines", type=int, default=8000)
    sp.add_argument("--policy", choices=("drop", "disconnect"), default="drop")
    sp = add("lenecho", cmd_lenecho)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--max", type=int, default=1048576)
    sp = add("closed", cmd_closed)
    sp.add_argument("--send", default="")
    sp = add("stat", cmd_stat, addr=False)
    sp.add_argument("log")
    sp.add_argument("gobj")
    sp.add_argument("name")
    a = p.parse_args()
    try:
        a.fn(a)
    except Failure as e:
        print("chat_client %s: %s" % (a.cmd, e), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print("chat_client %s: %s" % (a.cmd, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
