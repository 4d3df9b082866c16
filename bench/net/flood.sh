#!/bin/bash
# bench/net/flood.sh - a legitimate TCP stream between two capshim hosts
# while a third namespace floods host2's capshim port with random UDP
# datagrams as fast as it can, with and without the XDP early drop
# (capshim --xdp ul0) on host2.
#
#   PFX<s>-host1                 PFX<s>-sw                  PFX<s>-host2
#   iperf3 -c 10.77.0.3 -------> bridge br0 -------------> iperf3 -s
#   capshim                      10.99.255.254              capshim [--xdp ul0]
#   ul0 10.99.0.2                udpflood -> 10.99.0.3:51900  ul0 10.99.0.3
#
#   setups: n  capshim, no early drop
#           x  capshim --xdp ul0 on host2 (the receiver of stream and flood)
#
# Each setup is its own caplab lab (bench/net/pair.json, --no-logins,
# --no-underlay-guard: the guard's nftables rules would take capshim's
# port only from the peers' addresses, which an attacker on the underlay
# can forge, so the flood goes straight to capshim as the worst case). In
# interleaved rounds (n, x, n, x, ...) each measures iperf3 TCP, 1 stream,
# T s, alone and then under udpflood (10 s by default); the figure is
# the stream's throughput under the flood as a share of the same
# round's throughput alone, with the flood's send rate, capshim's drops
# and the XDP counters. Everything made here is removed by a trap.
set -euo pipefail

ME=bench-flood
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
CAPLAB=$ROOT/tools/caplab/caplab
POLICY=$HERE/pair.json

usage() {
	cat <<'USAGE'
Usage: bench/net/flood.sh [--rounds N] [--seconds T] [--only n|x] [--out FILE]

A TCP stream host1 -> host2 over capshim, alone and while the underlay
switch's namespace floods host2's capshim port with random UDP datagrams
(bench/udpflood), for capshim without (n) and with (x) the XDP early drop
(capshim --xdp ul0). Reports the stream's throughput under the flood as a
share of its throughput alone, per setup (medians of interleaved rounds).

  --rounds N    interleaved rounds (default 3)
  --seconds T   length of each stream and flood (default 10)
  --only S      one setup only (n or x)
  --out FILE    also write the report (markdown) to FILE

Needs root, a built tree (make: capshim, capctl, udpflood) and iperf3,
python3. Takes about (4 T + 10) s per round plus a minute of set-up.
USAGE
}

die() { echo "$ME: $*" >&2; exit 1; }
log() { echo "$ME: $*" >&2; }

ROUNDS=3 T=10 ONLY="n x" OUT=""
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--seconds) T=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$ME: unknown argument '$1'; see --help" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $T =~ ^[1-9][0-9]*$ ]] || die "--seconds wants a positive number"
[ "$(id -u)" = 0 ] || die "must run as root"
for c in iperf3 python3 ip; do command -v $c >/dev/null || die "missing $c"; done
for b in capshim capctl udpflood; do
	[ -x "$BIN/$b" ] || die "$BIN/$b not built; run 'make' first"
done

PFX=bf$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
TMP=$(mktemp -d "/tmp/bench-flood.$PFX.XXXXXX")
export CAPLAB_RUNDIR=$TMP/caplab
LABS=()
cleanup() {
	local rc=$? lab
	trap - EXIT INT TERM
	set +e
	for lab in "${LABS[@]}"; do "$CAPLAB" down "$lab" >/dev/null 2>&1; done
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

up() { # S
	local s=$1 extra=()
	[ "$s" = x ] && extra=(--shim-arg host2=--xdp=ul0)
	LABS+=("$PFX$s")
	# no underlay guard: its nftables rules take capshim's port only from
	# the peers' addresses, and an attacker on the underlay can forge those
	"$CAPLAB" up "$POLICY" --name "$PFX$s" --no-logins --no-underlay-guard --timeout 40 "${extra[@]}" \
		>"$TMP/up-$s.log" 2>&1 || { cat "$TMP/up-$s.log" >&2; die "lab $s did not come up"; }
}

status_json() { "$CAPLAB" status "$PFX$1" host2; }

# stream S TAG SECONDS: iperf3 host1 -> host2; prints Gbit/s received
stream() {
	local s=$1 tag=$2 spid
	ip netns exec "$PFX$s-host2" timeout $((T + 30)) iperf3 -s -1 -J -B 10.77.0.3 -p 5201 \
		>"$TMP/$tag-srv.json" 2>&1 &
	spid=$!
	for _ in $(seq 1 50); do
		ip netns exec "$PFX$s-host2" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.05
	done
	ip netns exec "$PFX$s-host1" timeout $((T + 30)) iperf3 -c 10.77.0.3 -p 5201 \
		-t "$T" -J >"$TMP/$tag-cli.json" 2>&1 || true
	wait "$spid" 2>/dev/null || true
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%.4f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' "$TMP/$tag-cli.json" \
		2>/dev/null || echo nan
}

DATA=$TMP/data.tsv
: >"$DATA"
measure() { # ROUND S
	local r=$1 s=$2 alone flooded fpid rate
	alone=$(stream "$s" "r$r-$s-alone")
	status_json "$s" >"$TMP/st0.json"
	ip netns exec "$PFX$s-sw" "$BIN/udpflood" 10.99.0.3 51900 $((T + 1)) \
		>"$TMP/flood.out" 2>&1 &
	fpid=$!
	sleep 0.5
	flooded=$(stream "$s" "r$r-$s-flood")
	wait "$fpid" || true
	status_json "$s" >"$TMP/st1.json"
	rate=$(sed -n 's/.*: \([0-9]*\)\/s$/\1/p' "$TMP/flood.out")
	python3 - "$TMP/st0.json" "$TMP/st1.json" "$r" "$s" "$alone" "$flooded" "${rate:-nan}" \
		>>"$DATA" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
r, s, alone, flooded, rate = sys.argv[3:8]
dd = {k: b["drops"][k] - a["drops"].get(k, 0) for k in b["drops"] if b["drops"][k] - a["drops"].get(k, 0)}
xd = {k: b["xdp"][k] - a["xdp"].get(k, 0) for k in b.get("xdp", {})}
print("\t".join([r, s, alone, flooded, rate, json.dumps(dd), json.dumps(xd)]))
PY
	log "round $r $s: alone $alone Gbit/s, flooded $flooded Gbit/s, flood ${rate:-?}/s"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
for s in $ONLY; do log "setting up $s"; up "$s"; done
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $ONLY; do measure "$r" "$s"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$DATA" "$LOAD0" "$LOAD1" "$((T))" "$(( $(date +%s) - START ))" >"$TMP/report.md" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
load0, load1, T, dur = sys.argv[2:6]
name = {"n": "capshim, no early drop", "x": "capshim --xdp ul0 (early drop)"}
def num(v):
    try:
        return float(v)
    except ValueError:
        return float("nan")
def med(v):
    v = [x for x in v if x == x]
    return statistics.median(v) if v else float("nan")
print("# TCP stream under a UDP flood at capshim's port\n")
print("Made by `bench/net/flood.sh` (`make bench-flood`): iperf3 TCP, 1 stream, %s s, host1 -> host2, "
      "alone and while the underlay switch's namespace sends random UDP datagrams (bench/udpflood, "
      "one thread, sendmmsg) to host2's capshim port. Labs without the underlay guard (an attacker on the "
      "underlay can forge a peer's address), so the flood reaches capshim. Interleaved rounds; medians.\n" % T)
print("- Load average: %s at start, %s at end; run took %s s\n" % (load0, load1, dur))
print("| setup | rounds | alone (Gbit/s) | under flood (Gbit/s) | kept (flooded/alone) | flood sent (datagrams/s) |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for s in ("n", "x"):
    rs = [r for r in rows if r[1] == s]
    if not rs:
        continue
    alone = [num(r[2]) for r in rs]
    fl = [num(r[3]) for r in rs]
    kept = [f / a for a, f in zip(alone, fl) if a == a and f == f and a > 0]
    rate = [num(r[4]) for r in rs]
    print("| %s | %d | %.3g | %.3g | %.2f | %.0f |" % (name[s], len(rs), med(alone), med(fl), med(kept), med(rate)))
print("\nPer round (capshim drops and XDP counters on host2 during the flooded run):\n")
for r in rows:
    print("- round %s %s: alone %s, flooded %s Gbit/s, flood %s/s; drops %s; xdp %s" % tuple(r[:7]))
PY
cat "$TMP/report.md"
[ -n "$OUT" ] && cp "$TMP/report.md" "$OUT" && log "report written to $OUT"
exit 0
