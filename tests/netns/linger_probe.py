#!/usr/bin/env python3
"""The code a user leaves behind: test_linger.sh's attacker.

usage: linger_probe.py OUT ADDR GO TRIES [--rename] [--undumpable] [--thread]

Appends to OUT "start PID UNIX_MS", then waits (60 s at most) until the file
GO exists - the test makes it once capd has recorded that the way in ended
and the session lingers, so that every try comes after the logout however
slow a loaded machine makes it - and logs "go UNIX_MS". Then it tries a TCP
connection to ADDR port 80 TRIES times, 0.2 s apart (1 s time-out each): one
line per try, "ok" or "no ERRNO-NAME"; last "end UNIX_MS", and it exits at
once (os._exit: no interpreter shutdown after the time it logged, so "end"
is when the code is gone). --rename changes its name and command line (comm,
argv) to a kernel thread's; --undumpable hands /proc/PID to root
(PR_SET_DUMPABLE 0); --thread tries from a second thread while the main
thread calls pthread_exit(), which leaves a zombie leader behind a running
process. It closes its standard streams so that nothing ties it to the
login that started it.
"""
import ctypes
import errno
import os
import socket
import sys
import threading
import time

PR_SET_NAME, PR_SET_DUMPABLE = 15, 4
GO_WAIT_S = 60


def log(out, text):
    with open(out, "a") as f:
        f.write(text + "\n")


def tries(out, addr, go, n):
    end = time.time() + GO_WAIT_S
    while not os.path.exists(go) and time.time() < end:
        time.sleep(0.05)
    log(out, "go %d" % int(time.time() * 1000))
    for i in range(n):
        if i:
            time.sleep(0.2)
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((addr, 80))
            log(out, "ok")
        except OSError as e:
            log(out, "no %s" % errno.errorcode.get(e.errno, "timeout"))
        finally:
            s.close()
    log(out, "end %d" % int(time.time() * 1000))
    os._exit(0)


def main():
    out, addr, go, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    flags = set(sys.argv[5:])
    for fd in (0, 1, 2):
        os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    libc = ctypes.CDLL(None, use_errno=True)
    if "--rename" in flags:
        libc.prctl(PR_SET_NAME, b"kworker/0:1", 0, 0, 0)
        sys.argv[:] = ["[kworker/0:1]"]
    if "--undumpable" in flags:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    log(out, "start %d %d" % (os.getpid(), int(time.time() * 1000)))
    if "--thread" in flags:
        t = threading.Thread(target=tries, args=(out, addr, go, n))
        t.start()
        time.sleep(0.05)
        libc.pthread_exit(None)     # the leader goes; the thread runs on
    tries(out, addr, go, n)


main()
