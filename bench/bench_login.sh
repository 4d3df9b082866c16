#!/usr/bin/env bash
# bench/bench_login.sh - how fast a login narrows what a host may reach, and a
# logout widens it again, seen from the receiver; and how fast capd takes
# session opens and closes. A benchmark: it prints figures (and writes them
# to bench/login-results.md) and asserts nothing about speed.
#
#   BL-host1 (bit 1, grant host2,host3)         BL-host2 (bit 2)
#   +-----------------------------------+      +------------------------------+
#   | sshd:22 -PAM-> pam_capd -> capd   |      | capshim: host1's capability, |
#   |   capd -> capshim (new epoch,     |      |   reaches_us (polled 10 ms)  |
#   |   announced to host2)             |      | http :80  <-- probe SYNs     |
#   | probe: a TCP connect to host2:80  |      |   dropped once host1's       |
#   |   every 5 ms, 100 ms time-out     |----->|   capability lacks host2     |
#   | capshim --test-skip-sender-check  |      |                              |
#   +---------------+-------------------+      +---------------+--------------+
#                   |        BL-sw: bridge br0 (underlay)      |
#                   +--------------+---------------------------+
#                                  |
#                `caplab ssh BL host1 A -- sh -c 'echo in; read x'`  (A reaches
#                host1,host3: with A on, host1's capability lacks host2)
#
# host1 runs as a rogue sender (--test-skip-sender-check) so that its probe
# packets leave it even when its own capability forbids them: what is timed
# is host2 refusing them, not host1's local fast reject.
#
# Per round (ROUNDS, default 20), times from the moment `ssh` is started:
#   login        until A's command runs (pam_open_session has returned)
#   h1 narrow    until host1's capshim shows mask 3 (polled every 10 ms)
#   h2 view      until host2's status shows peer host1 reaches_us false
#   h2 refuses   until the first probe SYN that host2 drops (every later
#                one dropped too, until the logout)
# and from the logout (the line that ends A's command is written):
#   ssh exits    until the ssh client has exited
#   h1 widen, h2 view (reaches_us true), h2 accepts (the first probe that
#                gets through, every later one too)
# Then capd alone: 1,000 opens+closes in a row on one connection, and 1,000
# sessions opened then closed; none may be lost (counted, reported).
#
# Usage: bench/bench_login.sh [--rounds N] [--out FILE]   (root; CAPTUN_BIN)
# Everything it makes (the lab, processes, temp files) goes on exit, failure
# or Ctrl-C.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CAPTUN_BIN=$(cd "${CAPTUN_BIN:-$ROOT/build}" && pwd) || { echo "bench_login: no CAPTUN_BIN directory" >&2; exit 1; }
export CAPTUN_BIN
CAPLAB=$ROOT/tools/caplab/caplab
CAPLAB_RUNDIR=${CAPLAB_RUNDIR:-/run/caplab}
POLICY=$ROOT/tests/policies/acceptance.json
ROUNDS=20
OUT=$HERE/login-results.md

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_login: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench_login: needs root (namespaces, users)" >&2; exit 1; }
for b in capshim capd pam_capd.so capctl; do
	[ -e "$CAPTUN_BIN/$b" ] || { echo "bench_login: no $CAPTUN_BIN/$b (make)" >&2; exit 1; }
done

# A lab name no other run has: "bl" and this pid in base 36.
n=$$ digits=0123456789abcdefghijklmnopqrstuvwxyz LAB=""
while [ "$n" -gt 0 ]; do LAB=${digits:$((n % 36)):1}$LAB; n=$((n / 36)); done
LAB=bl$LAB
TMP=$(mktemp -d /tmp/captun-bench-login.XXXXXX)
SLEEPER=""
cleanup() {
	trap - EXIT INT TERM
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
	"$CAPLAB" down "$LAB" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench_login: interrupted" >&2; exit 130' INT TERM

T_BEGIN=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "# bench_login: lab $LAB, $ROUNDS rounds, CAPTUN_BIN=$CAPTUN_BIN"
"$CAPLAB" up "$POLICY" --name "$LAB" --shim-arg host1=--test-skip-sender-check >"$TMP/up.out" 2>&1 ||
	{ cat "$TMP/up.out" >&2; exit 1; }
D=$CAPLAB_RUNDIR/$LAB
H2=$("$CAPLAB" addr "$LAB" host2)
for _ in $(seq 100); do
	"$CAPLAB" exec "$LAB" host2 ss -Hltn 'sport = :80' | grep -q . && break
	sleep 0.1
done

# The probe, run in host1's namespace: a non-blocking TCP connect to
# host2:80 every 5 ms, each given 100 ms; one line per probe when it is
# decided: "START_EPOCH_SECONDS ok|drop|err".
cat >"$TMP/probe.py" <<'PY'
import errno, select, socket, sys, time
addr = (sys.argv[1], 80)
every, give = 0.005, 0.100
pending = {}		# fd -> (socket, start)
poll = select.poll()
nxt = time.time()
end = nxt + float(sys.argv[2])
out = sys.stdout
while time.time() < end:
    now = time.time()
    if now >= nxt:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        t = time.time()
        e = s.connect_ex(addr)
        if e in (0, errno.EINPROGRESS):
            pending[s.fileno()] = (s, t)
            poll.register(s.fileno(), select.POLLOUT)
        else:
            out.write("%.6f err\n" % t)
            s.close()
        nxt += every
        if nxt < now:
            nxt = now + every
    wait = max(0.0, min(nxt - time.time(), 0.005))
    for fd, ev in poll.poll(wait * 1000):
        s, t = pending.pop(fd)
        poll.unregister(fd)
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        out.write("%.6f %s\n" % (t, "ok" if e == 0 else "err"))
        s.close()
    now = time.time()
    for fd, (s, t) in list(pending.items()):
        if now - t > give:
            del pending[fd]
            poll.unregister(fd)
            out.write("%.6f drop\n" % t)
            s.close()
    out.flush()
PY

# The harness: the rounds, then capd's 1,000 sessions; JSON to stdout.
cat >"$TMP/harness.py" <<'PY'
import json, os, socket, statistics, subprocess, sys, threading, time

caplab, lab, labdir, h2, rounds, probe = sys.argv[1:7]
rounds = int(rounds)
lock = threading.Lock()
probes = []		# (start, result)
polls = []		# (t, host1 mask, host2 sees host1 reach it)

def ask(sock, req, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(req.encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        c = s.recv(1 << 16)
        if not c:
            break
        buf += c
    s.close()
    return json.loads(buf)

stop = threading.Event()

def poller():
    s1 = os.path.join(labdir, "hosts/host1/shim.sock")
    s2 = os.path.join(labdir, "hosts/host2/shim.sock")
    while not stop.is_set():
        t = time.time()
        try:
            m1 = ask(s1, '{"cmd":"status"}')["mask"]
            d2 = ask(s2, '{"cmd":"status"}')
            r2 = [p for p in d2["peers"] if p["name"] == "host1"][0]["reaches_us"]
        except Exception:
            m1, r2 = None, None
        with lock:
            polls.append((t, m1, r2))
        time.sleep(0.01)

pr = subprocess.Popen([caplab, "exec", lab, "host1", "--", sys.executable, probe, h2,
                       str(60 + rounds * 15)], stdout=subprocess.PIPE, text=True)

def prober():
    for line in pr.stdout:
        t, r = line.split()
        with lock:
            probes.append((float(t), r))

threads = [threading.Thread(target=poller, daemon=True),
           threading.Thread(target=prober, daemon=True)]
for th in threads:
    th.start()

def wait_for(pred, bound):
    end = time.time() + bound
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False

def last_poll():
    with lock:
        return polls[-1] if polls else (0, None, None)

def first_poll(t0, t1, f):
    with lock:
        for t, m1, r2 in polls:
            if t0 <= t < t1 and f(m1, r2):
                return t
    return None

def switch(t0, t1, good):
    """Start of the first probe in [t0, t1) after which every probe is
    good(result); None if the last one is not."""
    with lock:
        ps = sorted(p for p in probes if t0 <= p[0] < t1)
    if not ps or not good(ps[-1][1]):
        return None
    bad = [p[0] for p in ps if not good(p[1])]
    after = [p[0] for p in ps if good(p[1]) and (not bad or p[0] > bad[-1])]
    return after[0] if after else None

def probes_settled(t0, good, n=10):
    with lock:
        ps = sorted(p for p in probes if p[0] >= t0)
    return len(ps) >= n and all(good(r) for _, r in ps[-n:])

ok = lambda r: r == "ok"
refused = lambda r: r != "ok"
steady = lambda: (last_poll()[1] == "2-3" and last_poll()[2] is True
                  and probes_settled(time.time() - 0.3, ok))
if not wait_for(steady, 20):
    sys.exit("harness: host1 -> host2 never settled (probe or status)")

res = []
for i in range(rounds):
    r = {}
    wait_for(steady, 10)
    time.sleep(0.2)
    t0 = time.time()
    p = subprocess.Popen([caplab, "ssh", lab, "host1", "A", "--", "sh", "-c", "echo in; read x"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    t_in = time.time()
    if line.strip() != "in":
        sys.exit("harness: round %d: A's login failed (%r)" % (i + 1, line))
    r["login"] = t_in - t0
    wait_for(lambda: last_poll()[1] == "3" and last_poll()[2] is False
             and probes_settled(t0, refused, 3), 10)
    time.sleep(0.3)
    t1 = time.time()
    tr = switch(t0, t1, refused)
    r["refuse_probe"] = tr - t0 if tr else None
    v = first_poll(t0, t1, lambda m1, r2: r2 is False)
    r["refuse_view"] = v - t0 if v else None
    v = first_poll(t0, t1, lambda m1, r2: m1 == "3")
    r["h1_narrow"] = v - t0 if v else None
    p.stdin.write("bye\n")
    p.stdin.flush()
    p.stdin.close()
    p.wait()
    r["ssh_exit"] = time.time() - t1
    wait_for(lambda: last_poll()[1] == "2-3" and last_poll()[2] is True
             and probes_settled(t1, ok, 10), 10)
    time.sleep(0.3)
    t2 = time.time()
    ta = switch(t1, t2, ok)
    r["accept_probe"] = ta - t1 if ta else None
    v = first_poll(t1, t2, lambda m1, r2: r2 is True)
    r["accept_view"] = v - t1 if v else None
    v = first_poll(t1, t2, lambda m1, r2: m1 == "2-3")
    r["h1_widen"] = v - t1 if v else None
    res.append(r)
    print("# round %2d: %s" % (i + 1, "  ".join(
        "%s %s" % (k, "%.0f ms" % (x * 1000) if x is not None else "-") for k, x in r.items())),
        file=sys.stderr, flush=True)

stop.set()
pr.terminate()
pr.wait()

# capd alone: 1,000 opens and closes.
sock = os.path.join(labdir, "hosts/host1/capd.sock")
sleeper = int(os.environ["SLEEPER"])
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(30)
c.connect(sock)
buf = b""
def call(req):
    global buf
    c.sendall(json.dumps(req).encode() + b"\n")
    while b"\n" not in buf:
        ch = c.recv(1 << 16)
        if not ch:
            raise OSError("capd closed the connection")
        buf += ch
    line, buf = buf.split(b"\n", 1)
    return json.loads(line)
def opn():
    return call({"cmd": "open", "user": "A", "service": "bench", "tty": "",
                 "rhost": "", "pid": sleeper})
audit = os.path.join(labdir, "hosts/host1/audit.log")
def events(since):
    """The audit events after byte offset since, by kind; and the new end."""
    with open(audit, "rb") as f:
        f.seek(since)
        data = f.read()
    kinds = {}
    for line in data.split(b"\n")[:-1]:
        k = json.loads(line)["event"]
        kinds[k] = kinds.get(k, 0) + 1
    return kinds, since + len(data)
a0 = os.path.getsize(audit)
N = 1000
failed = 0
t = time.monotonic()
for _ in range(N):
    a = opn()
    if not a.get("ok"):
        failed += 1
        continue
    if not call({"cmd": "close", "session": a["session"]}).get("ok"):
        failed += 1
pairs_s = time.monotonic() - t
left_pairs = len(call({"cmd": "list"})["sessions"])
ev_pairs, a1 = events(a0)
ids = []
t = time.monotonic()
for _ in range(N):
    a = opn()
    if a.get("ok"):
        ids.append(a["session"])
open_s = time.monotonic() - t
listed = len(call({"cmd": "list"})["sessions"])
mask_open = call({"cmd": "status"})["mask"]
t = time.monotonic()
closed = sum(1 for sid in ids if call({"cmd": "close", "session": sid}).get("ok"))
close_s = time.monotonic() - t
left_bulk = len(call({"cmd": "list"})["sessions"])
mask_end = call({"cmd": "status"})["mask"]
ev_bulk, _ = events(a1)
c.close()

def stat(k):
    xs = [r[k] for r in res if r[k] is not None]
    return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 1) if xs else None,
            "worst_ms": round(max(xs) * 1000, 1) if xs else None,
            "best_ms": round(min(xs) * 1000, 1) if xs else None}

print(json.dumps({
    "rounds": res,
    "stats": {k: stat(k) for k in res[0]},
    "capd": {"n": N, "pairs_seconds": round(pairs_s, 3), "pairs_failed": failed,
             "pairs_left_open": left_pairs, "pairs_audit": ev_pairs,
             "bulk_open_seconds": round(open_s, 3), "bulk_opened": len(ids),
             "bulk_listed": listed, "bulk_mask_open": mask_open,
             "bulk_close_seconds": round(close_s, 3), "bulk_closed": closed,
             "bulk_left_open": left_bulk, "bulk_mask_end": mask_end,
             "bulk_audit": ev_bulk}}))
PY

sleep 3600 &
SLEEPER=$!
export SLEEPER
T0=$(date +%s)
python3 "$TMP/harness.py" "$CAPLAB" "$LAB" "$D" "$H2" "$ROUNDS" "$TMP/probe.py" >"$TMP/result.json"
ELAPSED=$(($(date +%s) - T0))

# The report: markdown, printed and written to OUT.
python3 - "$TMP/result.json" "$OUT" "$ROUNDS" "$CAPTUN_BIN" "$ROOT" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$ELAPSED" "$(($(date +%s) - T_BEGIN))" <<'PY'
import hashlib, json, os, platform, subprocess, sys, time
res, out, rounds, binpath, root, load0, load1, elapsed, total = sys.argv[1:10]
d = json.load(open(res))
st, cp = d["stats"], d["capd"]

def rev():
    try:
        r = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        return r + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "?"

def binfo(name):
    p = os.path.join(binpath, name)
    h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:12]
    return "%s sha256 %s built %s UTC" % (name, h, time.strftime(
        "%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(p))))

cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
rows = [
    ("login", "ssh started -> A's command runs (login itself, for reference)"),
    ("h1_narrow", "ssh started -> host1's capshim mask is 3 (sender side)"),
    ("refuse_view", "ssh started -> host2's status: host1 reaches_us false"),
    ("refuse_probe", "ssh started -> host2 drops host1's probe SYNs"),
    ("ssh_exit", "logout -> the ssh client has exited"),
    ("h1_widen", "logout -> host1's capshim mask is 2-3 again"),
    ("accept_view", "logout -> host2's status: host1 reaches_us true"),
    ("accept_probe", "logout -> host2 lets host1's probe SYNs through"),
]
L = []
L.append("# Login to refusal: how fast a login narrows a host, seen by the receiver")
L.append("")
L.append("Made by `bench/bench_login.sh` (a benchmark: figures, no assertion on speed).")
L.append("")
L.append("- Date: %s UTC" % time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
L.append("- Kernel: %s; CPU: %s (%d CPUs online)" % (platform.release(), cpu, os.cpu_count()))
L.append("- Load average: %s at start, %s at end (1/5/15 min)" % (load0, load1))
L.append("- captun: %s; %s; %s" % (rev(), binfo("capd"), binfo("capshim")))
L.append("- Binaries: %s" % binpath)
L.append("- Rounds: %s; the rounds and the capd part took %s s (whole run %s s)" % (rounds, elapsed, total))
L.append("")
L.append("Lab: tests/policies/acceptance.json in caplab (host1 reaches host2 and host3; "
         "user A reaches host1 and host3). Each round: a real SSH login of A on host1 "
         "(`caplab ssh LAB host1 A -- sh -c 'echo in; read x'`, sshd + PAM + pam_capd.so + "
         "capd) held open, then ended by writing the line its command reads. host1's capshim "
         "runs with --test-skip-sender-check so that its probe packets leave it whatever its "
         "capability: the probe, in host1, starts a TCP connect to host2:80 every 5 ms "
         "(100 ms time-out each); \"host2 drops\" is the start of the first probe from which "
         "on every probe was dropped, \"lets through\" the first from which on every probe "
         "connected. Status polls of both capshims every 10 ms (one sample reads both, so the two status rows agree to within that).")
L.append("")
L.append("| from -> to | median ms | worst ms | best ms | rounds |")
L.append("| --- | ---: | ---: | ---: | ---: |")
for k, text in rows:
    s = st[k]
    f = lambda x: "-" if x is None else "%.1f" % x
    L.append("| %s | %s | %s | %s | %d/%s |" % (text, f(s["median_ms"]), f(s["worst_ms"]),
                                                f(s["best_ms"]), s["n"], rounds))
L.append("")
L.append("Per round (ms):")
L.append("")
L.append("| round | " + " | ".join(k for k, _ in rows) + " |")
L.append("| ---: |" + " ---: |" * len(rows))
for i, r in enumerate(d["rounds"]):
    L.append("| %d | " % (i + 1) + " | ".join(
        "-" if r[k] is None else "%.0f" % (r[k] * 1000) for k, _ in rows) + " |")
L.append("")
L.append("## capd: 1,000 sessions")
L.append("")
n = cp["n"]
L.append("One connection to host1's capd, user A, the pid of a live `sleep` (each open and "
         "close gives capshim a new signed capability, announced to the peers).")
L.append("")
L.append("| run | seconds | rate | none lost? |")
L.append("| --- | ---: | ---: | --- |")
ev = lambda d: ", ".join("%s %d" % kv for kv in sorted(d.items()))
L.append("| %d x (open, close) in a row | %.3f | %.0f open+close/s (%.2f ms each) | "
         "%d failed, %d left open; audit: %s |" % (
             n, cp["pairs_seconds"], n / cp["pairs_seconds"], cp["pairs_seconds"] * 1000 / n,
             cp["pairs_failed"], cp["pairs_left_open"], ev(cp["pairs_audit"])))
L.append("| %d opens (held at once) | %.3f | %.0f opens/s | %d opened, %d listed, mask %s |" % (
    n, cp["bulk_open_seconds"], n / cp["bulk_open_seconds"], cp["bulk_opened"],
    cp["bulk_listed"], cp["bulk_mask_open"]))
L.append("| then %d closes | %.3f | %.0f closes/s | %d closed, %d left open, mask %s; "
         "audit (opens and closes): %s |" % (
             n, cp["bulk_close_seconds"], n / cp["bulk_close_seconds"], cp["bulk_closed"],
             cp["bulk_left_open"], cp["bulk_mask_end"], ev(cp["bulk_audit"])))
text = "\n".join(L) + "\n"
print(text, end="")
open(out, "w").write(text)
PY
echo "# written to $OUT"
