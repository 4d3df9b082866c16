#!/bin/bash
# bench/audit/run.sh - what the audit path costs, side by side in one run:
#
#   nfq     new TCP connections through capqueue (the first packet of each
#           queued, a verdict asked of capshim) against the same lab with
#           the queue rules removed (nothing queued): connections per
#           second, connect() latency (median, p99), and an established
#           flow's throughput (iperf3 -t T), in interleaved rounds
#   report  `capctl audit report` over 1,000,000 records from 3 hosts:
#           elapsed seconds and peak memory (GNU time's maximum RSS)
#
#   PFX-host1                                 PFX-host2
#   connect loop / iperf3 -c  -- overlay -->  accept loop :7000, iperf3 -s
#   capshim + capqueue (rules on | off)       capshim + capqueue
#   (a caplab lab of bench/net/pair.json, no logins)
#
# Usage: bench/audit/run.sh [--rounds N] [--seconds S] [--only nfq|report]
# Numbers only, no assertion; the goals (issue 8): rate >= 0.8x, throughput
# >= 0.98x, report <= 5 s and <= 200 MB. Build first (make); root.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
export CAPTUN_BIN=$BIN
CAPLAB=$ROOT/tools/caplab/caplab
ROUNDS=3
SECS=3
ONLY=""
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "bench-audit: unknown option $1" >&2; exit 2 ;;
	esac
done
LAB=ba$$
LAB=${LAB:0:8}
TMP=$(mktemp -d /tmp/captun-bench-audit.XXXXXX)
cleanup() {
	"$CAPLAB" down "$LAB" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "# bench-audit: $(date -u +%FT%TZ), load: $(uptime | sed 's/.*load average: //')"

bench_nfq() {
	"$CAPLAB" up "$ROOT/bench/net/pair.json" --name "$LAB" --no-logins >/dev/null
	local h2 d=/run/caplab/$LAB/hosts
	h2=$("$CAPLAB" addr "$LAB" host2)
	ip netns exec "$LAB-host2" setsid python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' </dev/null >/dev/null 2>&1 &
	ip netns exec "$LAB-host2" setsid iperf3 -s -p 7001 </dev/null >/dev/null 2>&1 &
	sleep 0.5
	# conn SECONDS: connections/s, median and p99 connect() in microseconds
	conn() {
		ip netns exec "$LAB-host1" python3 - "$h2" "$1" <<'PY'
import socket, sys, time
dst, secs = sys.argv[1], float(sys.argv[2])
lat = []
end = time.monotonic() + secs
while time.monotonic() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    t = time.perf_counter()
    s.connect((dst, 7000))
    lat.append(time.perf_counter() - t)
    s.close()
lat.sort()
print("%.0f %.0f %.0f" % (len(lat) / secs, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6))
PY
	}
	tput() {
		ip netns exec "$LAB-host1" iperf3 -c "$h2" -p 7001 -t "$1" -J |
			python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
	}
	for r in $(seq 1 "$ROUNDS"); do
		for mode in queue plain; do
			if [ $mode = plain ]; then
				ip netns exec "$LAB-host1" "$BIN/capqueue" --ifname cap0 --remove-rules || true
			else
				ip netns exec "$LAB-host1" iptables -S | grep -q CAPQ-cap0 ||
					{ ip netns exec "$LAB-host1" "$BIN/capqueue" --ifname cap0 --remove-rules || true
					  kill "$(cat "$d/host1/capqueue.pid")" 2>/dev/null || true; sleep 0.3
					  ip netns exec "$LAB-host1" setsid "$BIN/capqueue" --ifname cap0 \
						--shim "$d/host1/shim.sock" --foreground </dev/null >>"$d/host1/capqueue.log" 2>&1 &
					  echo $! >"$d/host1/capqueue.pid"; sleep 1; }
			fi
			echo "round $r $mode conn $(conn "$SECS") tput $(tput "$SECS")" | tee -a "$TMP/nfq.txt"
		done
	done
	python3 - "$TMP/nfq.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r[2], []).append((float(r[4]), float(r[5]), float(r[6]), float(r[8])))
def med(m, i): return statistics.median(x[i] for x in by[m])
q, p = "queue", "plain"
print("nfq: connections/s  queue %.0f  plain %.0f  ratio %.2f (goal >= 0.8)" % (med(q, 0), med(p, 0), med(q, 0) / med(p, 0)))
print("nfq: connect() median  queue %.0f us  plain %.0f us  added %.0f us" % (med(q, 1), med(p, 1), med(q, 1) - med(p, 1)))
print("nfq: connect() p99     queue %.0f us  plain %.0f us  added %.0f us" % (med(q, 2), med(p, 2), med(q, 2) - med(p, 2)))
print("nfq: established TCP   queue %.3f Gbit/s  plain %.3f Gbit/s  ratio %.3f (goal >= 0.98)" % (med(q, 3), med(p, 3), med(q, 3) / med(p, 3)))
PY
	"$CAPLAB" down "$LAB" >/dev/null
}

bench_report() {
	echo "# generating 1,000,000 records of 3 hosts"
	python3 - "$TMP" <<'PY'
import os, random, sys
random.seed(8)
out = sys.argv[1]
hosts = ["host1", "host2", "host3"]
users = ["A", "B", "C", "alice", "bob"]
files = {h: open(os.path.join(out, h + ".flows"), "w") for h in hosts}
seq = {h: 0 for h in hosts}
zero = "0" * 64
t0 = 1700000000
n = 0
def line(h, side, fid, src, dst, u, port, t, extra):
    seq[h] += 1
    return ('{"v":1,"seq":%d,"time":"%s","kind":"denied","host":"%s","side":"%s","flow":"%016x",'
            '"src_host":"%s","dst_host":"%s","users":["%s"],"proto":"tcp","src":"10.77.0.%d",'
            '"sport":%d,"dst":"10.77.0.%d","dport":%d,"epoch":7,"reason":"user_grant","subject":"%s",'
            '"why":"user %s\'s grant lacks %s"%s,"prev":"%s"}\n' % (
            seq[h], t, h, side, fid, src, dst, u, hosts.index(src) + 2, 30000 + fid % 30000,
            hosts.index(dst) + 2, port, u, u, dst, extra, zero))
import time
while n < 1000000:
    fid = random.getrandbits(63)
    src, dst = random.sample(hosts, 2)
    u = random.choice(users)
    port = random.choice([22, 80, 443, 5432, 8080])
    ts = t0 + n // 50
    t = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))
    files[src].write(line(src, "sender", fid, src, dst, u, port, t,
        ',"told":true,"via":"nfqueue","uid":1001,"user":"%s","pid":%d,"comm":"curl","exe":"/usr/bin/curl"' % (u, 1000 + n % 30000)))
    n += 1
    if n < 1000000 and random.random() < 0.9:
        files[dst].write(line(dst, "receiver", fid, src, dst, u, port, t, ',"via":"report"'))
        n += 1
for f in files.values():
    f.close()
PY
	ls -l "$TMP"/*.flows | awk '{s += $5} END {printf "# %.0f MB of records\n", s / 1e6}'
	for r in $(seq 1 "$ROUNDS"); do
		/usr/bin/time -f "%e %M %U %S" -o "$TMP/time.txt" "$BIN/capctl" audit report "$TMP"/*.flows >/dev/null
		read -r secs kb us ss <"$TMP/time.txt"
		echo "report: round $r: $secs s elapsed ($us s user + $ss s system CPU), $((kb / 1024)) MB peak (goal <= 5 s, <= 200 MB)"
	done
}

if [ -z "$ONLY" ] || [ "$ONLY" = nfq ]; then bench_nfq; fi
if [ -z "$ONLY" ] || [ "$ONLY" = report ]; then bench_report; fi
