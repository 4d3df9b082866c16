#!/usr/bin/env python3
"""Send one JSON-lines request to a captun control socket, print the answer.

usage: ctlquery.py SOCKET '{"cmd":"status"}' [--timeout S]
Exit status 0 if the answer says "ok": true, 1 if not, 2 if unreachable.
"""
import json
import socket
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: ctlquery.py SOCKET REQUEST [--timeout S]")
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--timeout" else 5.0
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(sys.argv[1])
        s.sendall(sys.argv[2].encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        print("ctlquery: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(2)
    sys.stdout.write(buf.decode())
    try:
        sys.exit(0 if json.loads(buf).get("ok") else 1)
    except ValueError:
        sys.exit(1)


main()
