#!/usr/bin/env python3
"""echo_client.py - the client side of the echo black-box tests.

The shell scripts in tests/blackbox (echo_*.sh) start samples/gserve running
the Echo sample and call this program for everything a real client does:
connect, send, read back and compare every byte, close in a chosen way, hold
connections open, flood the server, and for reading the server's JSON log
(--log-format json) and its /proc entries.

Every command prints one line that says what it saw and exits 0 when what
it saw is what the contract promises, 1 otherwise (with the reason on
stderr), 2 on bad usage.  Every wait is bounded.

Every bound on a wait (--timeout, --eof, the --max of hold, trickle and
seq, trickle's --hold) is multiplied by the environment's TIME_SCALE (an
integer, 1 when unset; the shell tests export it, default 2), so that a busy
machine does not fail a test that would pass.  Durations that are part of
what is tested (a client that must get no echo for --wait seconds, idle's
--min, the intervals) are not scaled.

Addresses are written as gserve prints them: "127.0.0.1:7000",
"[::1]:7000", or a unix socket path (anything that starts with "/").
"""

import argparse
import collections
import errno
import json
import os
import random
import re
import selectors
import socket
import struct
import sys
import time

PROG = "echo_client"


class Failure(Exception):
    """A broken promise: the message says what was expected and what came."""


# ---------------------------------------------------------------------------
#  Addresses
# ---------------------------------------------------------------------------
def parse_addr(text):
    """Returns (family, sockaddr) for "host:port", "[v6]:port" or a path."""
    if text.startswith("/"):
        return socket.AF_UNIX, text
    m = re.match(r"^\[([^\]]+)\]:(\d+)$", text)
    if m:
        return socket.AF_INET6, (m.group(1), int(m.group(2)))
    m = re.match(r"^([^:]+):(\d+)$", text)
    if m:
        return socket.AF_INET, (m.group(1), int(m.group(2)))
    raise argparse.ArgumentTypeError("bad address %r" % text)


def fmt_addr(family, sa):
    """Formats a socket address the way gserve prints it."""
    if family == socket.AF_UNIX:
        if isinstance(sa, bytes):
            sa = sa.decode("utf-8", "replace")
        # An unnamed unix socket has no name: gserve prints an empty string.
        return sa.rstrip("\0") if sa else ""
    if family == socket.AF_INET6:
        return "[%s]:%d" % (sa[0], sa[1])
    return "%s:%d" % (sa[0], sa[1])


def names(s):
    """The client's view of a connection: its own name and the server's."""
    return {"sockname": fmt_addr(s.family, s.getsockname()),
            "peername": fmt_addr(s.family, s.getpeername())}


def connect(addr, timeout=10.0):
    family, sa = addr
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sa)
    except OSError as e:
        s.close()
        raise Failure("cannot connect to %s: %s" % (fmt_addr(family, sa), e))
    if family != socket.AF_UNIX:
        # Small writes must leave as small segments, not be merged by Nagle.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def record(path, s):
    """Appends the client's view of connection s to the file path."""
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(names(s)) + "\n")


def end(s, how):
    """Ends a connection: "fin" (an orderly close) or "rst" (a reset)."""
    if how == "rst":
        # SO_LINGER with a zero timeout makes close() send RST.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def size(text):
    """"10", "64K", "1M" -> bytes."""
    m = re.match(r"^(\d+)([KM]?)$", text)
    if not m:
        raise argparse.ArgumentTypeError("bad size %r" % text)
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(2)]


# ---------------------------------------------------------------------------
#  Moving bytes
# ---------------------------------------------------------------------------
def exchange(s, chunks, deadline, shut_wr=False):
    """Sends every chunk (one send() call each, continued when partial) while
    reading what comes back, so that neither side's buffers can deadlock the
    transfer.  Returns the bytes received: once as many as were sent, or, with
    shut_wr, after the write side was shut down and the server closed (EOF)."""
    total = sum(len(c) for c in chunks)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    got = bytearray()
    queue = collections.deque(chunks)
    pending = memoryview(queue.popleft()) if queue else None
    eof = False
    try:
        while True:
            if pending is None and not shut_wr and len(got) >= total:
                break
            if eof:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("timed out: sent %d of %d bytes, received %d"
                              % (total - len(pending or b"") - sum(len(c) for c in queue),
                                 total, len(got)))
            for _key, mask in sel.select(min(left, 0.5)):
                if mask & selectors.EVENT_READ:
                    try:
                        data = s.recv(1 << 18)
                    except BlockingIOError:
                        data = None
                    except ConnectionResetError:
                        raise Failure("connection reset by the server after %d of %d bytes"
                                      % (len(got), total))
                    if data == b"":
                        if not shut_wr or pending is not None:
                            raise Failure("the server closed after echoing %d of %d bytes"
                                          % (len(got), total))
                        eof = True
                    elif data:
                        got += data
                if mask & selectors.EVENT_WRITE and pending is not None:
                    try:
                        n = s.send(pending)
                    except BlockingIOError:
                        n = 0
                    pending = pending[n:]
                    if not pending:
                        pending = memoryview(queue.popleft()) if queue else None
                        if pending is None:
                            if shut_wr:
                                s.shutdown(socket.SHUT_WR)
                            sel.modify(s, selectors.EVENT_READ)
    finally:
        sel.close()
        s.setblocking(True)
    return bytes(got)


def compare(sent, got, what):
    if got == sent:
        return
    if len(got) != len(sent):
        raise Failure("%s: sent %d bytes, got %d back" % (what, len(sent), len(got)))
    for i in range(len(sent)):
        if sent[i] != got[i]:
            raise Failure("%s: byte %d differs (sent 0x%02x, got 0x%02x)"
                          % (what, i, sent[i], got[i]))


def wait_eof(s, timeout, delay=0.0):
    """Reads (and counts) until EOF, sleeping delay seconds after each read
    (a slow reader); returns ("eof", "reset" or "timeout", the number of
    bytes read)."""
    s.settimeout(0.5)
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", n
        if not data:
            return "eof", n
        n += len(data)
        if delay:
            time.sleep(delay)
    return "timeout", n


# ---------------------------------------------------------------------------
#  Commands: traffic
# ---------------------------------------------------------------------------
def cmd_echo(a):
    """One connection per SPEC: N bytes in one write, or CxN (C writes of N
    random bytes); every byte must come back in order."""
    rnd = random.Random(a.seed)
    deadline = time.monotonic() + a.timeout
    done = []
    for spec in a.specs:
        m = re.match(r"^(\d+)x(\d+[KM]?)$", spec)
        if m:
            chunks = [rnd.randbytes(size(m.group(2))) for _ in range(int(m.group(1)))]
        else:
            chunks = [rnd.randbytes(size(spec))]
        sent = b"".join(chunks)
        s = connect(a.addr, a.timeout)
        record(a.record, s)
        got = exchange(s, chunks, deadline)
        compare(sent, got, "echo %s" % spec)
        end(s, a.end)
        done.append("%s (%d B)" % (spec, len(sent)))
    print("echoed byte-exact: %s; closed with %s" % (", ".join(done), a.end.upper()))


def cmd_send(a):
    """Sends BYTES without reading anything back (until the socket stays full
    for a second), then ends the connection (--end fin or rst): the server
    is left with output it cannot deliver."""
    s = connect(a.addr, a.timeout)
    record(a.record, s)
    s.setblocking(False)
    view = memoryview(b"u" * 65536)
    sent = 0
    idle_since = None
    t_end = time.monotonic() + a.timeout
    while sent < a.bytes and time.monotonic() < t_end:
        try:
            sent += s.send(view[:min(len(view), a.bytes - sent)])
            idle_since = None
        except BlockingIOError:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 1.0:
                break
            time.sleep(0.01)
    s.setblocking(True)
    end(s, a.end)
    print("sent %d bytes without reading, then %s" % (sent, a.end.upper()))


def cmd_half(a):
    """Sends BYTES, shuts the write side, and must then get every byte back
    followed by EOF (not a reset)."""
    data = random.Random(a.seed).randbytes(a.bytes)
    s = connect(a.addr, a.timeout)
    record(a.record, s)
    # Chunks of 64 KiB so that the shutdown follows the last one at once.
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    got = exchange(s, chunks, time.monotonic() + a.timeout, shut_wr=True)
    compare(data, got, "half-close")
    s.close()
    print("half-close: %d bytes echoed in full, then EOF" % len(data))


def cmd_idle(a):
    """Talks once, then idles: the server must close (EOF) within TIMEOUT
    seconds and not before MIN seconds."""
    s = connect(a.addr, a.timeout)
    record(a.record, s)
    got = exchange(s, [b"i"], time.monotonic() + a.timeout)
    compare(b"i", got, "idle")
    t0 = time.monotonic()
    how, _n = wait_eof(s, a.timeout)
    took = time.monotonic() - t0
    me = names(s)["sockname"]
    s.close()
    if how != "eof":
        raise Failure("idle client %s: expected EOF from the server within %gs, got %s"
                      % (me, a.timeout, how))
    if took < a.min:
        raise Failure("idle client %s: closed after %.3fs, before %gs" % (me, took, a.min))
    print("idle client %s: server closed after %.2fs" % (me, took))


def cmd_chatty(a):
    """Sends a byte every INTERVAL seconds for SECONDS: each must be echoed
    and the server must not close the connection meanwhile."""
    s = connect(a.addr, a.timeout)
    record(a.record, s)
    t_end = time.monotonic() + a.seconds
    n = 0
    while time.monotonic() < t_end:
        got = exchange(s, [b"c"], time.monotonic() + a.timeout)
        compare(b"c", got, "chatty byte %d" % n)
        n += 1
        time.sleep(a.interval)
    s.close()
    print("chatty client: %d bytes over %gs, each echoed, never closed" % (n, a.seconds))


def cmd_hold(a):
    """Opens N connections and keeps them; --echo checks each echoes a byte
    first; --stuck K makes the first K send without reading until the
    socket stays full for a second (the server has stopped reading, so it
    holds unsent output of its own, up to its tx_high_water).  Then
    either waits for the file --until and closes them all, or waits until the
    server has closed every one (EOF).  The stuck ones start reading only
    --drain-after seconds later (and, with --slow-read, sleep that long
    after each read of up to 64 KiB) and then, by --stuck-end: "any" end (EOF or
    reset) will do, "eof" (not a reset), or "complete" (every byte they sent
    comes back, then EOF)."""
    socks = []
    stuck = {}
    for i in range(a.n):
        s = connect(a.addr, a.timeout)
        socks.append(s)
        if a.echo:
            got = exchange(s, [b"h"], time.monotonic() + a.timeout)
            compare(b"h", got, "held connection %d" % i)
            record(a.record, s)
        if i < a.stuck:
            # Fill every buffer between here and past the server's
            # tx_high_water, so that the server keeps output of its own.
            s.setblocking(False)
            blob = b"s" * 65536
            sent = 0
            t_end = time.monotonic() + a.timeout
            idle_since = None
            while sent < a.stuck_bytes and time.monotonic() < t_end:
                try:
                    sent += s.send(blob)
                    idle_since = None
                except BlockingIOError:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 1.0:
                        break
                    time.sleep(0.01)
            s.setblocking(True)
            stuck[i] = sent
    # The ready file: our pid, then every byte sent so far (what the server
    # echoes once it has read everything).
    with open(a.ready + ".tmp", "w", encoding="utf-8") as f:
        f.write("%d\nsent %d\n" % (os.getpid(), (len(socks) if a.echo else 0) + sum(stuck.values())))
    os.rename(a.ready + ".tmp", a.ready)
    if a.until:
        t_end = time.monotonic() + a.max
        while not os.path.exists(a.until):
            if time.monotonic() > t_end:
                raise Failure("hold: %s did not appear within %gs" % (a.until, a.max))
            time.sleep(0.05)
        for s in socks:
            s.close()
        print("held %d connections, then closed them" % len(socks))
        return
    bad = []
    ends = []
    # The idle ones first: they must be closed whatever the stuck ones do.
    for i, s in enumerate(socks):
        if i in stuck:
            continue
        how, n = wait_eof(s, a.eof)
        if how != "eof":
            bad.append("connection %d: %s" % (i, how))
        s.close()
    time.sleep(a.drain_after)
    for i, sent in stuck.items():
        how, n = wait_eof(socks[i], a.eof, a.slow_read)
        if a.stuck_end == "complete" and (how != "eof" or n != sent):
            bad.append("stuck connection %d: sent %d bytes, got %d back, then %s "
                       "(expected all of them, then EOF)" % (i, sent, n, how))
        elif a.stuck_end == "eof" and how != "eof":
            bad.append("stuck connection %d: sent %d bytes, got %d back, then %s "
                       "(expected EOF)" % (i, sent, n, how))
        elif how == "timeout":
            bad.append("stuck connection %d: never closed" % i)
        else:
            ends.append("%d of %d bytes back, then %s" % (n, sent, how))
        socks[i].close()
    if bad:
        raise Failure("within %gs: %s" % (a.eof, "; ".join(bad)))
    print("held %d connections: the server closed each one%s"
          % (len(socks), "".join("; stuck: " + e for e in ends)))


def cmd_trickle(a):
    """Opens N connections and stays silent until the server closes each one
    (its inactivity_timeout: EOF); from then on sends one byte every
    --interval seconds, as a peer that keeps the server's lingering close
    busy would, until the send fails (the server closed the descriptor for
    good: a reset).  Writes --ready once --ready-after of them are
    trickling; stops when the file --until exists (or after --max seconds)
    and fails if any connection the server closed was still accepting bytes
    --hold seconds after its EOF."""
    socks = []
    for _ in range(a.n):
        s = connect(a.addr, a.timeout)
        s.setblocking(False)
        socks.append(s)
    eof_at = {}   # index -> time of the server's EOF
    gone_at = {}  # index -> time a send failed (the descriptor is closed)
    ready = False
    t_end = time.monotonic() + a.max
    next_send = 0.0
    while not (a.until and os.path.exists(a.until)):
        now = time.monotonic()
        if now > t_end:
            raise Failure("trickle: %s did not appear within %gs" % (a.until, a.max))
        for i, s in enumerate(socks):
            if i in eof_at:
                continue
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                eof_at[i] = now
        if now >= next_send:
            next_send = now + a.interval
            for i in eof_at:
                if i in gone_at:
                    continue
                try:
                    socks[i].send(b"t")
                except OSError:
                    gone_at[i] = now
        if not ready and len(eof_at) - len(gone_at) >= a.ready_after:
            with open(a.ready, "w", encoding="utf-8") as f:
                f.write("%d\n" % os.getpid())
            ready = True
        time.sleep(0.02)
    now = time.monotonic()
    for s in socks:
        s.close()
    held = [i for i in eof_at if gone_at.get(i, now) - eof_at[i] > a.hold]
    if held:
        raise Failure("trickle: %d of %d connections closed by the server kept their "
                      "descriptor more than %gs after the close"
                      % (len(held), len(eof_at), a.hold))
    print("trickle: %d connections, %d closed by the server, %d of them let go "
          "within %gs while trickling" % (len(socks), len(eof_at), len(gone_at), a.hold))


def cmd_maxconn(a):
    """With max_connections 2: two clients echo; a third connects (backlog) but
    gets no echo while both are open; once one closes, it is echoed."""
    c1 = connect(a.addr, a.timeout)
    compare(b"1", exchange(c1, [b"1"], time.monotonic() + a.timeout), "client 1")
    c2 = connect(a.addr, a.timeout)
    compare(b"2", exchange(c2, [b"2"], time.monotonic() + a.timeout), "client 2")
    c3 = connect(a.addr, a.timeout)
    c3.sendall(b"3")
    sel = selectors.DefaultSelector()
    sel.register(c3, selectors.EVENT_READ)
    early = sel.select(a.wait)
    sel.close()
    if early:
        data = c3.recv(16)
        raise Failure("the third client got %r while two connections were open "
                      "(max_connections 2): expected nothing" % data)
    c1.close()
    c3.settimeout(a.timeout)
    try:
        data = c3.recv(16)
    except socket.timeout:
        raise Failure("the third client got no echo within %gs after the first closed"
                      % a.timeout)
    if data != b"3":
        raise Failure("the third client got %r, expected b'3'" % data)
    compare(b"2", exchange(c2, [b"2"], time.monotonic() + a.timeout), "client 2 again")
    c2.close()
    c3.close()
    print("third client waited (no echo for %gs) and was echoed once a slot freed" % a.wait)


def rss_kib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS for pid %d" % pid)


def cmd_flood(a):
    """Sends up to MAX bytes without reading, stopping when the socket stays
    full for STALL seconds (or after SECONDS): the server must have stopped
    reading (bounded bytes accepted, bounded RSS).  Then reads everything
    back: nothing is lost."""
    block = random.Random(a.seed).randbytes(1 << 20)
    view = memoryview(block)
    twice = block + block
    rss0 = peak = rss_kib(a.pid)
    s = connect(a.addr, a.timeout)
    record(a.record, s)
    s.setblocking(False)
    sent = 0
    t0 = time.monotonic()
    last_progress = t0
    last_sample = 0.0
    why = "max"
    while sent < a.max:
        now = time.monotonic()
        if now - t0 > a.seconds:
            why = "time"
            break
        if now - last_progress > a.stall:
            why = "stall"
            break
        if now - last_sample > 0.1:
            peak = max(peak, rss_kib(a.pid))
            last_sample = now
        off = sent % len(block)
        try:
            n = s.send(view[off:off + min(len(block) - off, a.max - sent)])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent += n
        last_progress = time.monotonic()
    peak = max(peak, rss_kib(a.pid))
    grew = (peak - rss0) / 1024.0
    # Everything accepted must come back, byte for byte.
    s.setblocking(True)
    s.settimeout(a.timeout)
    got = 0
    while got < sent:
        try:
            data = s.recv(1 << 20)
        except socket.timeout:
            raise Failure("flood: %d of %d bytes echoed, then nothing for %gs"
                          % (got, sent, a.timeout))
        if not data:
            raise Failure("flood: the server closed after echoing %d of %d bytes" % (got, sent))
        off = got % len(block)
        # recv() returns at most one block: two blocks hold any window.
        if data != twice[off:off + len(data)]:
            raise Failure("flood: echoed bytes differ from sent ones near offset %d" % got)
        got += len(data)
    s.close()
    mib = sent / 1048576.0
    msg = ("flood: sent %.1f MiB without reading (stopped: %s), server RSS grew %.1f MiB "
           "(%d -> %d KiB peak), all echoed back" % (mib, why, grew, rss0, peak))
    if mib > a.sent_limit:
        raise Failure(msg + ": the server accepted more than %g MiB, it never stopped reading"
                      % a.sent_limit)
    if grew > a.rss_limit:
        raise Failure(msg + ": RSS grew more than %g MiB" % a.rss_limit)
    print(msg)


def cmd_seq(a):
    """N sequential connections, each connect, send, read back, close."""
    t0 = time.monotonic()
    for i in range(a.n):
        s = connect(a.addr, a.timeout)
        data = b"%08d-sequential" % i
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            try:
                chunk = s.recv(64)
            except socket.timeout:
                raise Failure("connection %d: no echo within %gs" % (i, a.timeout))
            if not chunk:
                raise Failure("connection %d: closed before the echo" % i)
            got += chunk
        compare(data, got, "connection %d" % i)
        s.close()
        if time.monotonic() - t0 > a.max:
            raise Failure("only %d connections in %gs" % (i + 1, a.max))
    print("%d sequential connections echoed in %.1fs" % (a.n, time.monotonic() - t0))


# ---------------------------------------------------------------------------
#  Commands: addresses and processes
# ---------------------------------------------------------------------------
def cmd_freeport(a):
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((a.host, 0))
    print(s.getsockname()[1])
    s.close()


def cmd_bindable(a):
    family, sa = a.addr
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind(sa)
        s.listen(1)
    except OSError as e:
        raise Failure("cannot bind %s: %s" % (fmt_addr(family, sa), e))
    finally:
        s.close()
        if family == socket.AF_UNIX and os.path.exists(sa):
            os.unlink(sa)
    print("%s is free" % fmt_addr(family, sa))


def cmd_stale(a):
    """Leaves a unix socket file with nothing listening behind it, as a
    process killed with SIGKILL does."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(a.path)
    s.listen(1)
    s.close()
    print("stale socket file %s" % a.path)


def cmd_refused(a):
    """Connecting to ADDR must fail (nothing listens there)."""
    family, sa = a.addr
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect(sa)
    except OSError as e:
        print("%s refuses connections (%s)" % (fmt_addr(family, sa), e.strerror or e))
        return
    finally:
        s.close()
    raise Failure("%s accepts connections" % fmt_addr(family, sa))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid, encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" field 3 (state) is index 0: utime is field 14, stime 15.
    return int(fields[11]) + int(fields[12])


def cmd_cpu(a):
    """CPU seconds PID uses during SECONDS; fails above LIMIT."""
    hz = os.sysconf("SC_CLK_TCK")
    t0 = cpu_ticks(a.pid)
    time.sleep(a.seconds)
    used = (cpu_ticks(a.pid) - t0) / hz
    msg = "pid %d used %.2fs of CPU in %gs" % (a.pid, used, a.seconds)
    if used > a.limit:
        raise Failure(msg + ": more than %gs, it is spinning" % a.limit)
    print(msg)


def cmd_has_ipv6(a):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError as e:
        raise Failure("no IPv6 loopback: %s" % e)
    print("::1 is usable")


# ---------------------------------------------------------------------------
#  Commands: the JSON log
# ---------------------------------------------------------------------------
def read_log(path):
    """The records of a --log-format json log; any other line is a failure."""
    recs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except ValueError:
                raise Failure("%s line %d is not JSON: %s" % (path, n, line.rstrip()))
            if not isinstance(r, dict):
                raise Failure("%s line %d is not an object: %s" % (path, n, line.rstrip()))
            recs.append(r)
    return recs


def cmd_listening(a):
    for r in read_log(a.log):
        if r.get("msg") == "listening":
            print(r.get("address", ""))


def cmd_stats(a):
    last = None
    for r in read_log(a.log):
        if r.get("msg") == "stats":
            last = r
    if last is None:
        raise Failure("no stats record in %s" % a.log)
    print("%s %s %s" % (last.get("gobjs"), last.get("fds"), last.get("posted")))


def cmd_echoed(a):
    """Prints the Echo sample's echoed_bytes from the last stats record."""
    last = None
    for r in read_log(a.log):
        if r.get("msg") == "stats":
            last = r
    if last is None:
        raise Failure("no stats record in %s" % a.log)
    echo = (last.get("stats") or {}).get("echo") or {}
    print(echo.get("echoed_bytes", 0))


def cmd_count(a):
    print(sum(1 for r in read_log(a.log) if r.get("msg") == a.msg))


def cmd_reason(a):
    """The reason of the EV_DISCONNECTED of the connection from PEERNAME."""
    found = [r.get("reason", "") for r in read_log(a.log)
             if r.get("msg") == "EV_DISCONNECTED" and r.get("peername") == a.peername]
    if len(found) != 1:
        raise Failure("%d EV_DISCONNECTED records with peername %s, expected 1"
                      % (len(found), a.peername))
    print(found[0])


def cmd_pairs(a):
    """Every connection (gobj) has exactly one EV_CONNECTED and then exactly
    one EV_DISCONNECTED with the same peername and sockname; with --exited,
    all of them before the runner's "exit" record; with --clients, the
    clients' own view of each of their connections matches one connection
    of the log (peername = the client's sockname and the other way round)."""
    recs = read_log(a.log)
    conns = collections.OrderedDict()
    exit_at = None
    problems = []
    for i, r in enumerate(recs):
        msg = r.get("msg")
        if msg == "exit" and r.get("gobj") == "" and exit_at is None:
            exit_at = i
        if msg not in ("EV_CONNECTED", "EV_DISCONNECTED"):
            continue
        g = r.get("gobj", "")
        if not re.match(r"^.+\.clisrv_[0-9]+$", g):
            problems.append("record %d: gobj %r is not <server>.clisrv_<n>" % (i + 1, g))
        c = conns.setdefault(g, {"EV_CONNECTED": [], "EV_DISCONNECTED": []})
        c[msg].append((i, r))
    for g, c in conns.items():
        con, dis = c["EV_CONNECTED"], c["EV_DISCONNECTED"]
        if len(con) != 1 or len(dis) != 1:
            problems.append("%s: %d EV_CONNECTED and %d EV_DISCONNECTED, expected 1 and 1"
                            % (g, len(con), len(dis)))
            continue
        (ic, rc), (id_, rd) = con[0], dis[0]
        if id_ < ic:
            problems.append("%s: EV_DISCONNECTED before EV_CONNECTED" % g)
        for k in ("peername", "sockname"):
            if k not in rc or k not in rd:
                problems.append("%s: %s missing" % (g, k))
            elif rc[k] != rd[k]:
                problems.append("%s: %s %r at EV_CONNECTED, %r at EV_DISCONNECTED"
                                % (g, k, rc[k], rd[k]))
        if not rd.get("reason"):
            problems.append("%s: EV_DISCONNECTED without a reason" % g)
        if a.exited and (exit_at is None or id_ > exit_at):
            problems.append("%s: EV_DISCONNECTED not logged before the exit record" % g)
    if a.exited and exit_at is None:
        problems.append("no exit record")
    if a.count is not None and len(conns) != a.count:
        problems.append("%d connections in the log, expected %d" % (len(conns), a.count))
    if a.clients:
        keys = collections.Counter()
        for g, c in conns.items():
            if c["EV_CONNECTED"]:
                rc = c["EV_CONNECTED"][0][1]
                keys[(rc.get("peername"), rc.get("sockname"))] += 1
        mine = collections.Counter()
        with open(a.clients, encoding="utf-8") as f:
            for line in f:
                v = json.loads(line)
                mine[(v["sockname"], v["peername"])] += 1
        for k, n in mine.items():
            # Unnamed unix clients all look alike ("" and the path), and
            # other programs (a second server probing whether the socket is
            # live) may connect too: for them, at least as many as the
            # clients made.
            if keys[k] != n and (k[0] != "" or keys[k] < n):
                problems.append("client sockname=%r peername=%r: %d connection(s) in the log "
                                "with peername=%r sockname=%r, expected %d"
                                % (k[0], k[1], keys[k], k[0], k[1], n))
        if not mine:
            problems.append("no client records in %s" % a.clients)
    if problems:
        raise Failure("; ".join(problems[:20]) + (" ..." if len(problems) > 20 else ""))
    print("%d connection(s), each with one EV_CONNECTED and one EV_DISCONNECTED%s%s"
          % (len(conns), ", all before exit" if a.exited else "",
             ", matching the clients' own addresses" if a.clients else ""))


# ---------------------------------------------------------------------------
def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, addr=True, timeout=10.0):
        sp = sub.add_parser(name, help=fn.__doc__.split("\n")[0] if fn.__doc__ else None)
        sp.set_defaults(fn=fn)
        if addr:
            sp.add_argument("addr", type=parse_addr)
        sp.add_argument("--timeout", type=float, default=timeout,
                        help="seconds for each wait (default %(default)s)")
        sp.add_argument("--record", help="append each connection's names to this file")
        sp.add_argument("--seed", type=int, default=1)
        return sp

    sp = add("echo", cmd_echo, timeout=20.0)
    sp.add_argument("specs", nargs="+", help="N, 64K, 1M or CxN (C writes of N bytes)")
    sp.add_argument("--end", choices=("fin", "rst"), default="fin")
    sp = add("send", cmd_send)
    sp.add_argument("bytes", type=size)
    sp.add_argument("--end", choices=("fin", "rst"), default="fin")
    sp = add("half", cmd_half, timeout=20.0)
    sp.add_argument("bytes", type=size)
    sp = add("idle", cmd_idle)
    sp.add_argument("--min", type=float, default=0.0)
    sp = add("chatty", cmd_chatty)
    sp.add_argument("seconds", type=float)
    sp.add_argument("interval", type=float)
    sp = add("hold", cmd_hold)
    sp.add_argument("n", type=int)
    sp.add_argument("--ready", required=True, help="file written once all are open")
    sp.add_argument("--until", help="close all once this file exists")
    sp.add_argument("--max", type=float, default=30.0, help="bound on waiting for --until")
    sp.add_argument("--eof", type=float, default=20.0, help="seconds to wait for the EOFs")
    sp.add_argument("--echo", action="store_true")
    sp.add_argument("--stuck", type=int, default=0)
    sp.add_argument("--stuck-bytes", type=size, default=size("64M"))
    sp.add_argument("--stuck-end", choices=("any", "eof", "complete"), default="any")
    sp.add_argument("--drain-after", type=float, default=0.0)
    sp.add_argument("--slow-read", type=float, default=0.0)
    sp = add("trickle", cmd_trickle)
    sp.add_argument("n", type=int)
    sp.add_argument("--interval", type=float, default=0.5)
    sp.add_argument("--ready", required=True, help="file written once enough trickle")
    sp.add_argument("--ready-after", type=int, default=1)
    sp.add_argument("--until", required=True, help="stop once this file exists")
    sp.add_argument("--max", type=float, default=60.0, help="bound on waiting for --until")
    sp.add_argument("--hold", type=float, default=10.0,
                    help="seconds a closed connection may keep accepting bytes")
    sp = add("maxconn", cmd_maxconn)
    sp.add_argument("--wait", type=float, default=1.0)
    sp = add("flood", cmd_flood, timeout=30.0)
    sp.add_argument("--pid", type=int, required=True)
    sp.add_argument("--max", type=size, default=size("256M"))
    sp.add_argument("--seconds", type=float, default=30.0)
    sp.add_argument("--stall", type=float, default=2.0)
    sp.add_argument("--sent-limit", type=float, default=64.0, help="MiB")
    sp.add_argument("--rss-limit", type=float, default=64.0, help="MiB")
    sp = add("seq", cmd_seq, timeout=5.0)
    sp.add_argument("n", type=int)
    sp.add_argument("--max", type=float, default=50.0)
    sp = add("freeport", cmd_freeport, addr=False)
    sp.add_argument("--host", default="127.0.0.1")
    add("bindable", cmd_bindable)
    sp = add("stale", cmd_stale, addr=False)
    sp.add_argument("path")
    add("refused", cmd_refused, timeout=5.0)
    sp = add("cpu", cmd_cpu, addr=False)
    sp.add_argument("pid", type=int)
    sp.add_argument("seconds", type=float)
    sp.add_argument("--limit", type=float, default=0.5)
    add("has-ipv6", cmd_has_ipv6, addr=False)
    for name, fn in (("listening", cmd_listening), ("stats", cmd_stats),
                     ("echoed", cmd_echoed)):
        sp = add(name, fn, addr=False)
        sp.add_argument("log")
    sp = add("count", cmd_count, addr=False)
    sp.add_argument("log")
    sp.add_argument("msg")
    sp = add("reason", cmd_reason, addr=False)
    sp.add_argument("log")
    sp.add_argument("peername")
    sp = add("pairs", cmd_pairs, addr=False)
    sp.add_argument("log")
    sp.add_argument("--clients")
    sp.add_argument("--count", type=int)
    sp.add_argument("--exited", action="store_true")

    a = p.parse_args()
    try:
        scale = int(os.environ.get("TIME_SCALE", "1"))
    except ValueError:
        scale = 0
    if scale < 1:
        print("%s: TIME_SCALE must be an integer >= 1" % PROG, file=sys.stderr)
        return 2
    a.timeout *= scale
    for bound in ("eof", "hold"):
        if hasattr(a, bound):
            setattr(a, bound, getattr(a, bound) * scale)
    if a.cmd in ("hold", "trickle", "seq"):
        a.max *= scale
    try:
        a.fn(a)
    except Failure as e:
        print("%s %s: %s" % (PROG, a.cmd, e), file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno == errno.ENOENT and a.cmd in ("listening", "stats", "echoed", "pairs",
                                                 "count"):
            print("%s %s: %s" % (PROG, a.cmd, e), file=sys.stderr)
            return 1
        print("%s %s: unexpected error: %s" % (PROG, a.cmd, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
