#!/usr/bin/env python3
"""A small client of capd's control socket, for tests/netns/test_capd.sh.

usage:
  capdq.py SOCKET REQUEST...        sends each request line on one connection,
                                    prints each answer line
  capdq.py SOCKET --long N          sends one line of N bytes, then a status
                                    request on the same connection; prints
                                    both answers
  capdq.py SOCKET --loop N USER PID opens and closes a session N times in a
                                    row; prints {"ok":..,"failed":..,"seconds":..}
Exit status 0 if every answer says "ok": true, 1 if one does not, 2 if
capd cannot be reached or does not answer.
"""
import json
import socket
import sys
import time


class Conn:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def answer(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise OSError("capd closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def ask(self, req):
        self.send(req.encode() + b"\n")
        return self.answer()


def okay(line):
    try:
        return json.loads(line).get("ok") is True
    except ValueError:
        return False


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, args = sys.argv[1], sys.argv[2:]
    good = True
    try:
        c = Conn(path)
        if args[0] == "--long":
            c.send(b"x" * int(args[1]) + b"\n")
            first = c.answer()
            print(first)
            second = c.ask('{"cmd":"status"}')
            print(second)
            good = okay(second) and not okay(first)
        elif args[0] == "--loop":
            n, user, pid = int(args[1]), args[2], int(args[3])
            failed = 0
            t0 = time.monotonic()
            for _ in range(n):
                a = json.loads(c.ask(json.dumps({"cmd": "open", "user": user,
                                                 "service": "test", "tty": "",
                                                 "rhost": "", "pid": pid})))
                if not a.get("ok"):
                    failed += 1
                    continue
                b = json.loads(c.ask(json.dumps({"cmd": "close",
                                                 "session": a["session"]})))
                if not b.get("ok"):
                    failed += 1
            dt = time.monotonic() - t0
            print(json.dumps({"ok": failed == 0, "failed": failed, "seconds": round(dt, 3)}))
            good = failed == 0
        else:
            for req in args:
                line = c.ask(req)
                print(line)
                good = good and okay(line)
    except OSError as e:
        print("capdq: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if good else 1)


main()
