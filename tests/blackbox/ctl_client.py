#!/usr/bin/env python3
"""ctl_client.py - raw clients of gserve's control socket for tests/blackbox/control.sh.

  lines PATH LINE...        send each LINE, print each answer line (one per request)
  bigline PATH BYTES        send one line of BYTES bytes; the server must close the
                            connection without answering it; then a new connection works
  many PATH CLIENTS N       CLIENTS connections at once, each N "hello" requests with
                            its own ids; every answer must match its request
  noread PATH               ask for large answers without ever reading: the server must
                            disconnect the client (bounded), and keep serving others
  uid PATH UID              connect as UID (the caller is root): the answer must be a
                            permission error, then the connection closes
Each prints one line and exits 0, or prints the reason on stderr and exits 1.
"""
import json
import os
import socket
import sys
import threading
import time


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def conn(path, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_line(f):
    line = f.readline()
    if not line:
        return None
    return json.loads(line)


def cmd_lines(a):
    s = conn(a[0])
    f = s.makefile("rwb")
    for line in a[1:]:
        f.write(line.encode() + b"\n")
        f.flush()
        ans = f.readline()
        if not ans:
            die("no answer to %r" % line)
        sys.stdout.write(ans.decode())


def cmd_bigline(a):
    path, n = a[0], int(a[1])
    s = conn(path)
    try:
        s.sendall(b"x" * n + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except ConnectionResetError:
        pass
    if got:
        die("an answer to a %d-byte line: %r" % (n, got[:200]))
    f = conn(path).makefile("rwb")
    f.write(b'{"id": 1, "cmd": "hello"}\n')
    f.flush()
    ans = read_line(f)
    if not ans or not ans.get("ok"):
        die("after the long line, hello failed: %r" % ans)
    print("a %d-byte line closed its connection unanswered; the next client is served" % n)


def cmd_many(a):
    path, clients, n = a[0], int(a[1]), int(a[2])
    errors = []

    def one(k):
        try:
            f = conn(path).makefile("rwb")
            for i in range(n):
                rid = "%d-%d" % (k, i)
                f.write(json.dumps({"id": rid, "cmd": "hello"}).encode() + b"\n")
                f.flush()
                ans = read_line(f)
                if not ans or ans.get("id") != rid or not ans.get("ok"):
                    errors.append("client %d request %d: %r" % (k, i, ans))
                    return
        except OSError as e:
            errors.append("client %d: %s" % (k, e))

    ts = [threading.Thread(target=one, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    if errors:
        die("; ".join(errors[:3]))
    print("%d clients x %d requests at once: every answer matched its request" % (clients, n))


def cmd_noread(a):
    path = a[0]
    s = conn(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    req = b'{"id": 0, "cmd": "gclass", "gclass": "GSock"}\n' * 64
    sent = 0
    closed = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            sent += s.send(req)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    if not closed:
        die("a client that never reads was not disconnected (%d bytes of requests sent)" % sent)
    f = conn(path).makefile("rwb")
    f.write(b'{"id": 1, "cmd": "hello"}\n')
    f.flush()
    ans = read_line(f)
    if not ans or not ans.get("ok"):
        die("after the client that never reads, hello failed: %r" % ans)
    print("a client that never reads was disconnected after %d bytes of requests" % sent)


def cmd_uid(a):
    path, uid = a[0], int(a[1])
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            f = conn(path).makefile("rwb")
            f.write(b'{"id": 1, "cmd": "tree"}\n')
            f.flush()
            ans = read_line(f)
            rest = f.read()
            if ans and not ans.get("ok") and "permission denied" in ans.get("error", "") \
                    and not rest:
                print("uid %d: %s; then closed" % (uid, ans["error"]))
                os._exit(0)
            print("uid %d got %r then %r" % (uid, ans, rest[:100]), file=sys.stderr)
            os._exit(1)
        except Exception as e:
            print("uid %d: %s" % (uid, e), file=sys.stderr)
            os._exit(1)
    _, st = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(st))


def main():
    cmds = {"lines": cmd_lines, "bigline": cmd_bigline, "many": cmd_many,
            "noread": cmd_noread, "uid": cmd_uid}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        die("usage: ctl_client.py {%s} PATH ..." % ",".join(cmds))
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
