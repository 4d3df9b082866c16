#!/bin/bash
# bench/attach/run.sh - what attach mode costs on a real mesh: the same
# mesh bare, and with capshim attached (tc stamp/strip, cgroup hooks), side
# by side, for wireguard-go and for Nebula.
#
#   PFX<s>-host1                          PFX<s>-host2
#   iperf3 -c / ping / bench_connect      iperf3 -s
#   wg0 or nebula1 10.77.0.2  <-- mesh over ul0 veths and a bridge -->  10.77.0.3
#   (attached: capshim --attach on both ends; bare: detached again, so the
#   mesh is exactly as caplab built it)
#
#   setups: wb wireguard-go bare   wa wireguard-go + captun attached
#           nb nebula bare         na nebula + captun attached
#
# Each setup is a caplab lab (bench/net/pair.json: host1 and host2 reach
# each other; no logins), all up at once, measured in interleaved rounds
# (wb wa nb na, wb wa nb na, ...) so that a shared machine's noise hits all
# alike. Per setup and round:
#   tcp1    iperf3 TCP 1 stream, Gbit/s at the receiver
#   tcp4    iperf3 TCP 4 streams, Gbit/s
#   udp64   iperf3 -u -l 64 -b 0, kpps received (received bits / 512)
#   rtt     ping -c 200 -i 0.002 -q, average RTT in us
#   conn    bench_connect to host2 (UDP connect(): no packet, the hooks'
#           cost alone), ns per socket+connect+close
# The report gives medians per setup and medians of per-round ratios
# attached/bare (throughput: goal >= 0.97) and differences (RTT: goal
# <= 10 us added; connect: goal <= 3 us added).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
CAPLAB=$ROOT/tools/caplab/caplab
POLICY=$ROOT/bench/net/pair.json
ROUNDS=3
SECS=5
OUT=""
PFX=ba$(printf '%x' $(($$ % 4096)))

usage() {
	cat <<'USAGE'
Usage: bench/attach/run.sh [--rounds N] [--quick] [--out FILE]

Throughput (TCP 1 and 4 streams, 64-byte UDP), RTT and connect() cost on a
wireguard-go mesh and a Nebula mesh, bare and with captun attached, in
interleaved rounds. Needs root and a built tree (make); about 4 minutes
with 3 rounds, 1 with --quick (1 round, 2 s runs).
USAGE
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--quick) ROUNDS=1; SECS=2; shift ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench-attach: unknown option '$1'" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench-attach: needs root" >&2; exit 1; }
[ -x "$BIN/bench_connect" ] || { echo "bench-attach: no $BIN/bench_connect (make)" >&2; exit 1; }

SETUPS="wb wa nb na"
declare -A LAB=([wb]=${PFX}wb [wa]=${PFX}wa [nb]=${PFX}nb [na]=${PFX}na)
declare -A MESH=([wb]=wireguard-go [wa]=wireguard-go [nb]=nebula [na]=nebula)
TMP=$(mktemp -d /tmp/bench-attach.XXXXXX)
cleanup() {
	for s in $SETUPS; do "$CAPLAB" down "${LAB[$s]}" >/dev/null 2>&1 || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inns() { local s=$1 h=$2; shift 2; ip netns exec "${LAB[$s]}-$h" "$@"; }

for s in $SETUPS; do
	echo "# $s: caplab up --mesh ${MESH[$s]}" >&2
	CAPTUN_BIN=$BIN "$CAPLAB" up "$POLICY" --name "${LAB[$s]}" --mesh "${MESH[$s]}" \
		--no-logins >"$TMP/up-$s.log" 2>&1 || { cat "$TMP/up-$s.log" >&2; exit 1; }
	if [ "${s:1}" = b ]; then	# bare: detach captun again
		for h in host1 host2; do
			pid=$(cat "/run/caplab/${LAB[$s]}/hosts/$h/capshim.pid")
			kill -TERM "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		done
	fi
	inns "$s" host2 iperf3 -s -D -1 >/dev/null 2>&1 || true
done
sleep 1

iperf() { # SETUP ARGS... -> JSON
	local s=$1; shift
	inns "$s" host2 iperf3 -s -1 -D >/dev/null 2>&1 || true
	sleep 0.2
	inns "$s" host1 iperf3 -c 10.77.0.3 -t "$SECS" -O 1 -J "$@" 2>/dev/null || echo '{}'
}

for r in $(seq 1 "$ROUNDS"); do
	for s in $SETUPS; do
		tcp1=$(iperf "$s" | jq '(.end.sum_received.bits_per_second // 0) / 1e9')
		tcp4=$(iperf "$s" -P 4 | jq '(.end.sum_received.bits_per_second // 0) / 1e9')
		udp=$(iperf "$s" -u -l 64 -b 0 | jq '((.end.sum_received.bits_per_second // .end.sum.bits_per_second // 0) / 512) / 1e3')
		rtt=$(inns "$s" host1 ping -c 200 -i 0.002 -q 10.77.0.3 | awk -F/ '/rtt|round-trip/ {print $5 * 1000}')
		conn=$(inns "$s" host1 "$BIN/bench_connect" 10.77.0.3 9 100000 | awk '{print $3}')
		echo "$r $s $tcp1 $tcp4 $udp $rtt $conn" | tee -a "$TMP/raw.txt" >&2
	done
done

report=$(python3 - "$TMP/raw.txt" "$ROUNDS" "$SECS" "$(uptime)" <<'PY'
import statistics as st, sys
raw, rounds, secs, load = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = [l.split() for l in open(raw)]
data = {}
for r, s, *v in rows:
    data.setdefault(s, {})[int(r)] = [float(x or 0) for x in v]
names = {"wb": "wireguard-go bare", "wa": "wireguard-go + captun", "nb": "nebula bare", "na": "nebula + captun"}
cols = ["TCP 1 (Gbit/s)", "TCP 4 (Gbit/s)", "UDP 64 B (kpps)", "RTT (us)", "connect() (ns)"]
out = ["# bench/attach/run.sh: %s rounds of %s s, interleaved" % (rounds, secs), "",
       "load while measuring: %s" % load.strip(), "",
       "| setup | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
for s in ["wb", "wa", "nb", "na"]:
    med = [st.median(data[s][r][i] for r in data[s]) for i in range(5)]
    out.append("| %s | %s |" % (names[s], " | ".join("%.3g" % m for m in med)))
out += ["", "| mesh | TCP 1 ratio | TCP 4 ratio | UDP 64 ratio | RTT added (us) | connect() added (ns) |",
        "|---|---|---|---|---|---|"]
for b, a, n in [("wb", "wa", "wireguard-go"), ("nb", "na", "nebula")]:
    rs = sorted(set(data[b]) & set(data[a]))
    ratio = [st.median(data[a][r][i] / data[b][r][i] for r in rs if data[b][r][i]) for i in range(3)]
    diff = [st.median(data[a][r][i] - data[b][r][i] for r in rs) for i in (3, 4)]
    out.append("| %s | %.3f | %.3f | %.3f | %.1f | %.0f |" % (n, *ratio, *diff))
out += ["", "Goals: ratios >= 0.97, RTT added <= 10 us, connect() added <= 3000 ns.",
        "Ratios and differences are medians over rounds of attached vs bare in the same round."]
print("\n".join(out))
PY
)
echo "$report"
[ -z "$OUT" ] || echo "$report" >"$OUT"
