#!/usr/bin/env python3
"""A stand-in for capd's control socket, for testing pam_capd alone.

usage: fakecapd.py SOCKET LOG MODEFILE

Appends every request line to LOG and answers it the way MODEFILE (read
at each connection, default "ok") says:
  ok        open: {"ok":true,"session":N,...}; close: {"ok":true,...}
  strid     the same with string session ids ("s-N")
  refuse    {"ok":false,"error":"user U has no valid token"}
  garbage   a line that is not JSON
  hangup    closes without answering
  silent    never answers (holds the connection for 30 s)
Stops on SIGTERM, or after 10 minutes.
"""
import json
import os
import signal
import socket
import sys
import threading
import time


def answer(req, mode, n):
    if mode == "garbage":
        return b"this is not json\n"
    if mode == "refuse":
        return (json.dumps({"ok": False, "error": "user %s has no valid token"
                            % req.get("user", "?")}) + "\n").encode()
    sid = "s-%d" % n if mode == "strid" else n
    if req.get("cmd") == "open":
        return (json.dumps({"ok": True, "session": sid, "epoch": n, "mask": "1,3"})
                + "\n").encode()
    return (json.dumps({"ok": True, "epoch": n, "mask": "1,2,3"}) + "\n").encode()


def serve(conn, log, modefile, n):
    with conn:
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        with open(log, "ab") as f:
            f.write(buf)
        try:
            with open(modefile) as f:
                mode = f.read().strip() or "ok"
        except OSError:
            mode = "ok"
        if mode == "hangup":
            return
        if mode == "silent":
            time.sleep(30)
            return
        try:
            req = json.loads(buf)
        except ValueError:
            req = {}
        conn.sendall(answer(req, mode, n))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: fakecapd.py SOCKET LOG MODEFILE")
    path, log, modefile = sys.argv[1:]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.alarm(600)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        threading.Thread(target=serve, args=(conn, log, modefile, n), daemon=True).start()


main()
