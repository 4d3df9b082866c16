#!/bin/bash
# bench/net/run.sh - captun's data plane against plain veth, wireguard-go and
# nebula, side by side, on the same kind of two-namespace pair.
#
# Every setup gets its own copy of this topology (caplab's, made by caplab
# itself for the capshim setups and by this script for the others):
#
#   PFX<s>-host1                                    PFX<s>-host2
#   +---------------------------+                   +---------------------------+
#   | iperf3 -c / ping          |                   | iperf3 -s (one-off, JSON) |
#   |   |                       |                   |   ^                       |
#   | overlay dev 10.77.0.2     |                   | overlay dev 10.77.0.3     |
#   |   cap0  (b,e,f) capshim   |                   |   cap0 / wg / neb0        |
#   |   <wg>  (c) wireguard-go  |                   |                           |
#   |   neb0  (d) nebula        |                   |                           |
#   |   |  tunnel daemon (UDP)  |                   |   |  tunnel daemon (UDP)  |
#   | ul0 10.99.0.2/16 (veth) --+--+             +--+-- ul0 10.99.0.3/16 (veth) |
#   +---------------------------+  |             |  +---------------------------+
#                                  |  PFX<s>-sw  |
#                               +--+-------------+--+
#                               | bridge br0 (p0,p1)|   underlay MTU 1500
#                               +-------------------+
#
#   setups: a veth        no tunnel; iperf3/ping straight over ul0 (10.99.0.3)
#           b capshim     caplab lab, 2-host policy bench/net/pair.json
#           c wireguard-go  `wireguard-go -f` in each namespace, wg + ip
#           d nebula      CA + 2 certs from nebula-cert, static host map,
#                         no lighthouse
#           e capshim     with --bench-no-capability-check on both hosts
#           f capshim     with --no-offload (TUN/UDP offloads off)
#           g capshim     with --threads 1 (b runs the default: one crypto
#                         thread per online CPU)
#           h capshim     with --xdp ul0 (the early-drop XDP program on
#                         each underlay veth)
#
# All setups are brought up once, then measured in interleaved rounds
# (round 1: a b c d e f, round 2: a b c d e f, ...) so that the noise of a
# shared machine hits every setup alike. Metrics per setup and round:
#   tcp1   iperf3 TCP, 1 stream, Gbit/s at the receiver (-t T -O 1)
#   tcp4   iperf3 TCP, 4 streams (-P 4), Gbit/s at the receiver
#   udp64  iperf3 -u -l 64 -b 0, packets/s received at the server (kpps)
#   rtt    ping -c 50 -i 0.01 -q, average RTT in ms
#   cpu    CPU seconds (utime+stime from /proc/PID/stat) of the tunnel
#          daemons of both ends during the tcp1 run, per GB (1e9 bytes)
#          that the receiver's overlay device took in
# and the report gives medians per setup and the medians of the per-round
# ratios capshim/wireguard-go, capshim/nebula, capshim/veth,
# capshim-with-check/capshim-without-check and the other capshim
# variants against b. Last, build/bench_aead measures the crypto alone
# (libsodium against libcrypto's ChaCha20-Poly1305) for the report.
#
# Everything made here (namespaces PFX*, processes, temp files, wireguard-go
# sockets) is removed by a trap on exit, on failure and on Ctrl-C too.
set -euo pipefail

ME=bench-net
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
CAPLAB=$ROOT/tools/caplab/caplab
POLICY=$HERE/pair.json

usage() {
	cat <<'USAGE'
Usage: bench/net/run.sh [--rounds N] [--quick] [--only SETUPS] [--out FILE]
                        [--nebula-cipher aes|chachapoly]

Measures TCP throughput (1 and 4 streams), 64-byte UDP packet rate, ping
RTT and tunnel CPU per GB for: a veth (no tunnel), b capshim, c wireguard-go,
d nebula, e capshim --bench-no-capability-check, f capshim --no-offload,
g capshim --threads 1, h capshim --xdp ul0 (b: default threads, no XDP);
each on its own pair of network namespaces joined by a veth/bridge underlay.

  --rounds N      interleaved rounds (default 5); the report gives medians
  --quick         smoke test: 1 round, 2 s runs, report printed, not saved
                  (unless --out is given)
  --only SETUPS   only these setups, letters or names, e.g. "a,b,e" or "abe"
                  or "veth,capshim"
  --out FILE      results file (default bench/net/results.md; none with
                  --quick)
  --nebula-cipher nebula's cipher (default aes, nebula's own default)

Needs root, /dev/net/tun, a built tree (make), and the Debian packages
iproute2 iperf3 iputils-ping jq python3 wireguard-go wireguard-tools nebula
(the script says which are missing). Takes about 15 minutes with 5 rounds
(6 setups), 1.5 minutes with --quick.
USAGE
}

die() { echo "$ME: $*" >&2; exit 1; }
log() { echo "$ME: $*" >&2; }

ROUNDS=5 QUICK=0 ONLY="a b c d e f g h" OUT="" OUT_SET=0 NEB_CIPHER=aes
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:?--rounds wants N}; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--only) ONLY=${2:?--only wants SETUPS}; shift 2 ;;
	--out) OUT=${2:?--out wants FILE}; OUT_SET=1; shift 2 ;;
	--nebula-cipher) NEB_CIPHER=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$ME: unknown argument '$1'; see --help" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $NEB_CIPHER == aes || $NEB_CIPHER == chachapoly ]] || die "--nebula-cipher wants aes or chachapoly"
if [ $QUICK = 1 ]; then
	ROUNDS=1 T=2
else
	T=5
fi
OMIT=1
[ $OUT_SET = 1 ] || { [ $QUICK = 1 ] || OUT=$HERE/results.md; }

declare -A NAME=([a]=veth [b]=capshim [c]=wireguard-go [d]=nebula
	[e]=capshim-nocheck [f]=capshim-nooffload [g]=capshim-1thread [h]=capshim-xdp)
SETUPS=()
sel=$(echo "$ONLY" | tr ',' ' ')
for w in $sel; do
	if [[ $w =~ ^[a-h]+$ ]]; then
		for ((i = 0; i < ${#w}; i++)); do SETUPS+=("${w:i:1}"); done
	else
		found=""
		for k in a b c d e f g h; do [ "${NAME[$k]}" = "$w" ] && found=$k; done
		[ -n "$found" ] || die "--only: unknown setup '$w' (a-h or: ${NAME[*]})"
		SETUPS+=("$found")
	fi
done
# keep a..f order, no duplicates
mapfile -t SETUPS < <(printf '%s\n' "${SETUPS[@]}" | sort -u)
[ ${#SETUPS[@]} -gt 0 ] || die "--only selected nothing"
want() { [[ " ${SETUPS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- prerequisites
check_prereqs() {
	local missing=() c pkg
	[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, TUN devices)"
	[ -c /dev/net/tun ] || die "no /dev/net/tun (kernel without TUN?)"
	declare -A pkgof=([ip]=iproute2 [iperf3]=iperf3 [ping]=iputils-ping [jq]=jq
		[python3]=python3 [timeout]=coreutils [ss]=iproute2 [getconf]=libc-bin)
	if want c; then pkgof[wireguard-go]=wireguard-go; pkgof[wg]=wireguard-tools; fi
	if want d; then pkgof[nebula]=nebula; pkgof[nebula-cert]=nebula; fi
	for c in "${!pkgof[@]}"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("${pkgof[$c]}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		pkg=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
		die "missing tools; install them with: apt-get install $pkg"
	fi
	if want b || want e || want f || want g || want h; then
		for c in capshim capctl; do
			[ -x "$BIN/$c" ] || die "$BIN/$c not built; run 'make' first"
		done
		[ -x "$CAPLAB" ] || die "$CAPLAB missing"
		[ -r "$POLICY" ] || die "$POLICY missing"
	fi
}
check_prereqs

# ------------------------------------------------------------ run-unique names
PFX=bn$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')   # e.g. bn3fa2; labs are PFX<s>
while ip netns list 2>/dev/null | grep -q "^$PFX"; do
	PFX=bn$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
done
TMP=$(mktemp -d "/tmp/bench-net.$PFX.XXXXXX")
export CAPLAB_RUNDIR=$TMP/caplab
LABS=()
CUR=""

# remove_ns PATTERN: stop every process in the namespaces matching PATTERN
# (all of them made by this run), then delete the namespaces
remove_ns() {
	local n pid
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "$1"); do
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
	done
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "$1"); do
		for _ in $(seq 1 30); do
			[ -z "$(ip netns pids "$n" 2>/dev/null)" ] && break
			sleep 0.1
		done
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns delete "$n" 2>/dev/null
	done
	return 0
}

cleanup() {
	local rc=$? lab
	trap - EXIT INT TERM
	set +e
	[ -n "$CUR" ] && kill -TERM "$CUR" 2>/dev/null
	for lab in "${LABS[@]}"; do "$CAPLAB" down "$lab" >/dev/null 2>&1; done
	remove_ns "^$PFX"
	rm -f /var/run/wireguard/"$PFX"*.sock 2>/dev/null
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ topology
ns1() { echo "$PFX$1-host1"; }
ns2() { echo "$PFX$1-host2"; }

# mkpair S: caplab's topology for setup S, without any tunnel.
mkpair() {
	local s=$1 sw="$PFX$1-sw" i n
	ip netns add "$sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	for i in 1 2; do
		n="$PFX$s-host$i"
		ip netns add "$n"
		ip -n "$n" link set lo up
		ip -n "$n" link add ul0 type veth peer name "p$((i - 1))" netns "$sw"
		ip -n "$sw" link set "p$((i - 1))" master br0 up
		ip -n "$n" addr add "10.99.0.$((i + 1))/16" dev ul0
		ip -n "$n" link set ul0 up
	done
}

declare -A SRV DEV DAEMON DPIDS UP WHY
# wait_ping S IP SECONDS: until the first ping from host1 answers
wait_ping() {
	local s=$1 ip=$2 deadline=$(( $(date +%s) + $3 ))
	while ! ip netns exec "$(ns1 "$s")" ping -c 1 -W 1 -q "$ip" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# find_daemons S: the tunnel daemon pids in both namespaces of S
find_daemons() {
	local s=$1 n pid comm out=""
	for n in "$(ns1 "$s")" "$(ns2 "$s")"; do
		for pid in $(ip netns pids "$n" 2>/dev/null); do
			comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
			[ "$comm" = "${DAEMON[$s]}" ] && out+=" $pid"
		done
	done
	DPIDS[$s]=${out# }
	[ "$(echo "${DPIDS[$s]}" | wc -w)" -ge 2 ]
}

setup_a() { mkpair a; }

setup_capshim() { # S EXTRA-CAPLAB-ARGS...
	local s=$1; shift
	# data plane only: no capd, sshd or Unix users, where caplab has them
	if "$CAPLAB" --help | grep -q -- '--no-logins'; then set -- --no-logins "$@"; fi
	"$CAPLAB" up "$POLICY" --name "$PFX$s" --timeout 30 "$@"
}
setup_b() { setup_capshim b; }
setup_e() {
	setup_capshim e --shim-arg host1=--bench-no-capability-check \
		--shim-arg host2=--bench-no-capability-check
}
setup_f() { setup_capshim f --no-offload; }
setup_g() { setup_capshim g --shim-arg host1=--threads=1 --shim-arg host2=--threads=1; }
setup_h() { setup_capshim h --shim-arg host1=--xdp=ul0 --shim-arg host2=--xdp=ul0; }

setup_c() {
	local i n dev k=$TMP/wg
	mkpair c
	mkdir -p "$k" /var/run/wireguard
	for i in 1 2; do
		wg genkey >"$k/host$i.key"
		wg pubkey <"$k/host$i.key" >"$k/host$i.pub"
	done
	for i in 1 2; do
		n=$(ns"$i" c)
		dev="${PFX}wg$i"   # wireguard-go's socket /var/run/wireguard/DEV.sock is not per-netns
		WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
			ip netns exec "$n" wireguard-go -f "$dev" </dev/null >"$TMP/wg$i.log" 2>&1 &
		for _ in $(seq 1 50); do
			[ -S "/var/run/wireguard/$dev.sock" ] && ip -n "$n" link show "$dev" >/dev/null 2>&1 && break
			sleep 0.1
		done
		local o=$((3 - i))
		ip netns exec "$n" wg set "$dev" private-key "$k/host$i.key" listen-port 51820 \
			peer "$(cat "$k/host$o.pub")" allowed-ips "10.77.0.$((o + 1))/32" \
			endpoint "10.99.0.$((o + 1)):51820"
		ip -n "$n" addr add "10.77.0.$((i + 1))/24" dev "$dev"
		ip -n "$n" link set "$dev" mtu 1420 up
	done
}

setup_d() {
	local i n o k=$TMP/nebula
	mkpair d
	mkdir -p "$k"
	nebula-cert ca -name "captun-bench-$PFX" -duration 24h \
		-out-crt "$k/ca.crt" -out-key "$k/ca.key"
	for i in 1 2; do
		nebula-cert sign -ca-crt "$k/ca.crt" -ca-key "$k/ca.key" -name "host$i" \
			-ip "10.77.0.$((i + 1))/24" -out-crt "$k/host$i.crt" -out-key "$k/host$i.key"
		o=$((3 - i))
		cat >"$k/host$i.yml" <<EOF
pki:
  ca: $k/ca.crt
  cert: $k/host$i.crt
  key: $k/host$i.key
static_host_map:
  "10.77.0.$((o + 1))": ["10.99.0.$((o + 1)):4242"]
lighthouse:
  am_lighthouse: false
  interval: 60
  hosts: []
listen:
  host: 0.0.0.0
  port: 4242
punchy:
  punch: false
relay:
  am_relay: false
  use_relays: false
cipher: $NEB_CIPHER
tun:
  disabled: false
  dev: neb0
  drop_local_broadcast: false
  drop_multicast: false
  tx_queue: 500
  mtu: 1300
logging:
  level: warning
  format: text
firewall:
  outbound:
    - port: any
      proto: any
      host: any
  inbound:
    - port: any
      proto: any
      host: any
EOF
		n=$(ns"$i" d)
		ip netns exec "$n" nebula -config "$k/host$i.yml" </dev/null >"$TMP/nebula$i.log" 2>&1 &
	done
}

bring_up() { # S; a setup that fails is torn down and tried once more
	local s=$1 rc attempt
	case $s in b|e|f|g|h) LABS+=("$PFX$s") ;; esac
	for attempt in 1 2; do
		log "setting up ${s} (${NAME[$s]})$( [ $attempt = 1 ] || echo ", attempt $attempt")"
		# in a background subshell, so that set -e applies inside and a
		# failure stays contained (a function called from a condition would
		# run without -e)
		rc=0
		"setup_$s" </dev/null >"$TMP/setup-$s.log" 2>&1 &
		wait $! || rc=$?
		if [ $rc = 0 ]; then
			UP[$s]=1
			[ $attempt = 1 ] || WHY[$s]="came up at attempt $attempt; before: ${WHY[$s]}"
			return 0
		fi
		UP[$s]=0 WHY[$s]="setup failed: $(tail -n 3 "$TMP/setup-$s.log" | tr '\n' ' ')"
		log "${NAME[$s]}: ${WHY[$s]}"
		case $s in b|e|f|g|h) "$CAPLAB" down "$PFX$s" >/dev/null 2>&1 || true ;; esac
		remove_ns "^$PFX$s-"
		case $s in
		c) rm -rf "$TMP/wg"; rm -f /var/run/wireguard/"$PFX"wg*.sock ;;
		d) rm -rf "$TMP/nebula" ;;
		esac
	done
}

# What the measurements need to know about setup S.
facts() {
	case $1 in
	a) SRV[a]=10.99.0.3 DEV[a]=ul0 DAEMON[a]="" ;;
	b|e|f|g|h) SRV[$1]=10.77.0.3 DEV[$1]=cap0 DAEMON[$1]=capshim ;;
	c) SRV[c]=10.77.0.3 DEV[c]="${PFX}wg2" DAEMON[c]=wireguard-go ;;
	d) SRV[d]=10.77.0.3 DEV[d]=neb0 DAEMON[d]=nebula ;;
	esac
}

# ------------------------------------------------------------------ metrics
CLK_TCK=$(getconf CLK_TCK)
daemon_ticks() { # S -> summed utime+stime of the daemons (clock ticks)
	local pid sum=0 t
	for pid in ${DPIDS[$1]}; do
		t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat" 2>/dev/null) || return 1
		sum=$((sum + t))
	done
	echo "$sum"
}
rx_bytes() { # S
	ip netns exec "$(ns2 "$1")" cat "/sys/class/net/${DEV[$1]}/statistics/rx_bytes"
}

# iperf S TAG ARGS...: one-off iperf3 server in host2, client in host1;
# leaves $TMP/r-TAG-{srv,cli}.json
iperf() {
	local s=$1 tag=$2; shift 2
	local n2 srvpid limit=$((T + OMIT + 20))
	n2=$(ns2 "$s")
	ip netns exec "$n2" timeout "$limit" iperf3 -s -1 -J -B "${SRV[$s]}" -p 5201 \
		>"$TMP/r-$tag-srv.json" 2>&1 &
	srvpid=$!
	for _ in $(seq 1 50); do
		ip netns exec "$n2" ss -Hltn 'sport = :5201' 2>/dev/null | grep -q . && break
		sleep 0.05
	done
	local rc=0
	ip netns exec "$(ns1 "$s")" timeout "$limit" iperf3 -c "${SRV[$s]}" -p 5201 \
		-t "$T" -O "$OMIT" -J "$@" >"$TMP/r-$tag-cli.json" 2>&1 || rc=1
	wait "$srvpid" 2>/dev/null || true
	return $rc
}

DATA=$TMP/data.tsv
: >"$DATA"
record() { # ROUND SETUP METRIC VALUE; a value that is not a number is reported
	if [[ $4 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
		printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$DATA"
	else
		log "round $1 ${NAME[$2]}: $3: not a number: '$4'"
	fi
}

measure() { # ROUND S
	local r=$1 s=$2 tag="$1-$2" v t0 t1 b0 b1
	if [ -n "${DAEMON[$s]}" ] && ! find_daemons "$s"; then
		log "round $r ${NAME[$s]}: tunnel daemons gone; skipped"
		return 0
	fi
	# tcp1 (+ CPU per GB)
	t0=$( [ -n "${DAEMON[$s]}" ] && daemon_ticks "$s" || echo 0 )
	b0=$(rx_bytes "$s")
	if iperf "$s" "$tag-tcp1"; then
		t1=$( [ -n "${DAEMON[$s]}" ] && daemon_ticks "$s" || echo 0 )
		b1=$(rx_bytes "$s")
		v=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$TMP/r-$tag-tcp1-cli.json")
		record "$r" "$s" tcp1 "$v"
		if [ -n "${DAEMON[$s]}" ]; then
			record "$r" "$s" cpu "$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v b=$((b1 - b0)) \
				'BEGIN { if (b > 0) printf "%.4f", (t / hz) / (b / 1e9); else print "nan" }')"
		fi
	else
		log "round $r ${NAME[$s]}: tcp1 failed: $(jq -r '.error // empty' "$TMP/r-$tag-tcp1-cli.json" 2>/dev/null | head -c 200)"
	fi
	sleep 0.5
	if iperf "$s" "$tag-tcp4" -P 4; then
		record "$r" "$s" tcp4 "$(jq -r '.end.sum_received.bits_per_second / 1e9' "$TMP/r-$tag-tcp4-cli.json")"
	else
		log "round $r ${NAME[$s]}: tcp4 failed"
	fi
	sleep 0.5
	# 64-byte UDP: the server's own intervals after the omit period; bytes/64
	# (iperf3 3.12's end.sum at the server is not usable together with -O)
	if iperf "$s" "$tag-udp" -u -l 64 -b 0 &&
		v=$(jq -r '[.intervals[].sum | select(.omitted | not)] |
			if length == 0 then "nan" else
			((map(.bytes) | add) / 64 / (map(.seconds) | add) / 1000) end' \
			"$TMP/r-$tag-udp-srv.json" 2>/dev/null) && [ -n "$v" ]; then
		record "$r" "$s" udp64 "$v"
	else
		log "round $r ${NAME[$s]}: udp failed"
	fi
	sleep 1
	v=$(ip netns exec "$(ns1 "$s")" ping -c 50 -i 0.01 -q -w 15 "${SRV[$s]}" 2>/dev/null |
		awk '/^rtt|^round-trip/ {split($4, f, "/"); print f[2], f[1]}') || true
	if [ -n "$v" ]; then
		record "$r" "$s" rtt "${v% *}"
		record "$r" "$s" rttmin "${v#* }"
	else
		log "round $r ${NAME[$s]}: ping failed"
	fi
}

# ------------------------------------------------------------------ the run
# what is measured, taken before anything starts (others may rebuild meanwhile)
CAPTUN_VER=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]; then
	CAPTUN_VER+=" + uncommitted changes"
fi
CAPTUN_VER+=", capshim binary sha256 $(sha256sum "$BIN/capshim" 2>/dev/null | cut -c1-12 || true)"
CAPTUN_VER+=" built $(date -u -r "$BIN/capshim" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "prefix $PFX, setups: ${SETUPS[*]}, rounds $ROUNDS, ${T}s runs after ${OMIT}s omit"
for s in "${SETUPS[@]}"; do
	bring_up "$s"
	facts "$s"
done
for s in "${SETUPS[@]}"; do
	[ "${UP[$s]}" = 1 ] || continue
	if ! wait_ping "$s" "${SRV[$s]}" 30; then
		UP[$s]=0 WHY[$s]="no ping reply over the tunnel within 30 s"
		log "${NAME[$s]}: ${WHY[$s]}"
		continue
	fi
	if [ -n "${DAEMON[$s]}" ] && ! find_daemons "$s"; then
		UP[$s]=0 WHY[$s]="tunnel daemons not found"
		log "${NAME[$s]}: ${WHY[$s]}"
		continue
	fi
done

declare -A MTU
for s in "${SETUPS[@]}"; do
	[ "${UP[$s]}" = 1 ] || continue
	MTU[$s]=$(ip netns exec "$(ns1 "$s")" cat "/sys/class/net/$( [ "$s" = c ] && echo "${PFX}wg1" || echo "${DEV[$s]}")/mtu")
done

for ((r = 1; r <= ROUNDS; r++)); do
	for s in "${SETUPS[@]}"; do
		[ "${UP[$s]}" = 1 ] || continue
		log "round $r/$ROUNDS: ${NAME[$s]}"
		# in a background subshell: an unexpected error costs this one
		# measurement, not the run (the figures go to $DATA, a file)
		measure "$r" "$s" &
		CUR=$!
		wait $CUR || log "round $r ${NAME[$s]}: measurement aborted (status $?)"
		CUR=""
	done
done
END=$(date +%s)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
META=$TMP/meta.tsv
{
	printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'kernel\t%s\n' "$(uname -r)"
	printf 'cpu\t%s (%s CPUs online)\n' "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)"
	printf 'rounds\t%s\n' "$ROUNDS"
	printf 'runs\t%s s measured after a %s s omit (iperf3 -t %s -O %s)\n' "$T" "$OMIT" "$T" "$OMIT"
	printf 'duration\t%s s\n' "$((END - START))"
	printf 'load\t%s at start, %s at end (1/5/15 min)\n' "$LOAD0" "$LOAD1"
	printf 'captun\t%s\n' "$CAPTUN_VER"
	printf 'wireguard-go\t%s (Debian %s)\n' "$(wireguard-go --version 2>/dev/null | head -1 | awk '{print $2}')" "$(pkgver wireguard-go)"
	printf 'wireguard-tools\t%s\n' "$(pkgver wireguard-tools)"
	printf 'nebula\t%s (Debian %s), cipher %s\n' "$(nebula -version 2>/dev/null | awk '{print $2}')" "$(pkgver nebula)" "$NEB_CIPHER"
	printf 'iperf3\t%s\n' "$(pkgver iperf3)"
	printf 'iputils-ping\t%s\n' "$(pkgver iputils-ping)"
	for s in "${SETUPS[@]}"; do
		if [ "${UP[$s]}" = 1 ]; then
			printf 'setup\t%s\t%s\tup\t%s\t%s\n' "$s" "${NAME[$s]}" "${MTU[$s]}" "${WHY[$s]:-}"
		else
			printf 'setup\t%s\t%s\tdown\t-\t%s\n' "$s" "${NAME[$s]}" "${WHY[$s]:-}"
		fi
	done
} >"$META"

# the crypto alone, after the network runs (it keeps one CPU busy)
if [ -x "$BIN/bench_aead" ]; then
	"$BIN/bench_aead" --ms 200 --rounds 5 >"$TMP/aead.txt" 2>&1 || true
fi
python3 "$HERE/report.py" "$META" "$DATA" "$TMP/aead.txt" >"$TMP/results.md"
cat "$TMP/results.md"
if [ -n "$OUT" ]; then
	cp "$TMP/results.md" "$OUT"
	log "results written to $OUT"
fi
