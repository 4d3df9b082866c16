#!/usr/bin/env python3
"""The code a user leaves behind: test_linger.sh's attacker.

usage: linger_probe.py OUT ADDR DELAY SECONDS [--rename] [--undumpable] [--thread]

Appends to OUT "start PID UNIX_MS", then, from DELAY seconds on and for SECONDS,
tries a TCP connection to ADDR port 80 every 0.2 s (1 s time-out each):
one line per try, "ok" or "no ERRNO-NAME"; last "end UNIX_MS". --rename
changes its name and command line (comm, argv) to a kernel thread's;
--undumpable hands /proc/PID to root (PR_SET_DUMPABLE 0); --thread tries
from a second thread while the main thread calls pthread_exit(), which
leaves a zombie leader behind a running process. It closes its standard
streams so that nothing ties it to the login that started it.
"""
import ctypes
import errno
import os
import socket
import sys
import threading
import time

PR_SET_NAME, PR_SET_DUMPABLE = 15, 4


def log(out, text):
    with open(out, "a") as f:
        f.write(text + "\n")


def tries(out, addr, delay, seconds):
    time.sleep(delay)
    end = time.time() + seconds
    while time.time() < end:
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
        time.sleep(0.2)
    log(out, "end %d" % int(time.time() * 1000))


def main():
    out, addr, delay, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
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
        t = threading.Thread(target=tries, args=(out, addr, delay, seconds))
        t.start()
        time.sleep(0.05)
        libc.pthread_exit(None)     # the leader goes; the thread runs on
    tries(out, addr, delay, seconds)


main()
