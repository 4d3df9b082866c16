#!/bin/bash
# make demo: the acceptance example of docs/architecture.md, live, in a lab of
# network namespaces with real SSH logins, then torn down.
#
#   host1 (bit 1) may reach host2, host3      user A may reach host1, host3
#   host2 (bit 2) may reach nobody            user B may reach everyone
#   host3 (bit 3) may reach host1 only
#
#   LAB-host1 --+   each host: capshim (encrypted overlay, enforcement),
#   LAB-host2 --+-- capd (sessions), sshd with pam_capd, a web server
#   LAB-host3 --+
#               LAB-sw: the underlay bridge, and where SSH clients come from
#
# Last act: the same hosts on a real wireguard-go mesh (wg0), captun
# attached to it in the kernel (capshim --attach wg0, eBPF) instead of
# running its own tunnel.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
LAB=demo$$
LAB=${LAB:0:8}
WLAB=w$$
WLAB=${WLAB:0:8}
CAPLAB="$ROOT/tools/caplab/caplab"
export CAPTUN_BIN=$BIN

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }

AUDIT_DIR=$(mktemp -d /tmp/captun-demo-audit.XXXXXX)
cleanup() {
	"$CAPLAB" down "$LAB" >/dev/null 2>&1 || true
	"$CAPLAB" down "$WLAB" >/dev/null 2>&1 || true
	rm -rf "$AUDIT_DIR"
}
trap cleanup EXIT

addr() { "$CAPLAB" addr "$LAB" "$1"; }

# Prints what a curl did and checks it against what the policy says.
report() { # LABEL RC OUT MS EXPECT
	if [ "$2" = 0 ]; then
		say "$1: $3  (${4} ms)"
	else
		say "$1: refused: ${3#curl: }  (${4} ms)"
	fi
	if { [ "$5" = ok ] && [ "$2" != 0 ]; } || { [ "$5" = denied ] && [ "$2" = 0 ]; }; then
		fail "unexpected result for '$1' (wanted $5)"
	fi
}

timed() { # runs "$@", sets RC OUT MS
	local start end
	start=$(date +%s%N)
	OUT=$("$@" 2>&1) && RC=0 || RC=$?
	end=$(date +%s%N)
	MS=$(( (end - start) / 1000000 ))
}

curl_from() { # SRC DST EXPECT: a daemon-like curl, outside any login
	timed "$CAPLAB" exec "$LAB" "$1" -- curl -sS -m 5 "http://$(addr "$2")/"
	report "$1 -> $2 (nobody logged in on $1)" "$RC" "$OUT" "$MS" "$3"
}

mask_of() { "$CAPLAB" shim "$LAB" "$1" '{"cmd":"status"}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["mask"], "users [%s]" % d["users"])'; }

bold "Building"
make -C "$ROOT" --no-print-directory all >/dev/null
say "capctl, capshim, capd and pam_capd.so are built in $BIN"

bold "The policy (tests/policies/acceptance.json)"
"$BIN/capctl" policy check "$ROOT/tests/policies/acceptance.json" | sed 's/^/   /'

bold "Standing up a 3-host lab '$LAB'"
"$CAPLAB" up "$ROOT/tests/policies/acceptance.json" --name "$LAB" | sed 's/^/   /'
say "authority: capctl init, keygen on every host, capctl issue;"
say "every host runs capshim, capd, and sshd with pam_capd; users A and B exist"

bold "Hosts alone: each host's own grant decides"
curl_from host1 host2 ok
curl_from host1 host3 ok
curl_from host2 host1 denied
curl_from host3 host1 ok
curl_from host3 host2 denied
say "host2 may reach nobody, yet its replies to host1 pass: they answer a flow"
say "host1 opened. Refusals come at once from the sender, not by time-out."

bold "User A logs in to host1 over SSH and runs curl host2 there"
"$CAPLAB" ssh "$LAB" host1 A -- sleep 8 &
SSH_PID=$!
for _ in $(seq 1 50); do
	mask_of host1 | grep -q "users \[A\]" && break
	sleep 0.1
done
say "host1 while A is logged in: mask $(mask_of host1)  (host grant AND A's grant)"
timed "$CAPLAB" ssh "$LAB" host1 A -- curl -sS -m 5 "http://$(addr host2)/"
report "A@host1 -> host2" "$RC" "$OUT" "$MS" denied
timed "$CAPLAB" exec "$LAB" host1 -- curl -sS -m 5 "http://$(addr host2)/"
report "a daemon on host1 (no login) -> host2, while A is on host1" "$RC" "$OUT" "$MS" denied
timed "$CAPLAB" ssh "$LAB" host1 A -- curl -sS -m 5 "http://$(addr host3)/"
report "A@host1 -> host3" "$RC" "$OUT" "$MS" ok

bold "A jumps host1 -> host3 -> host2"
timed "$CAPLAB" ssh "$LAB" host1 A -- ssh "$(addr host3)" curl -sS -m 5 "http://$(addr host2)/"
report "A@host1 -> A@host3 -> host2" "$RC" "$OUT" "$MS" denied

bold "B logs in to host3 and tries host2"
timed "$CAPLAB" ssh "$LAB" host3 B -- curl -sS -m 5 "http://$(addr host2)/"
report "B@host3 -> host2 (host3's own grant lacks host2)" "$RC" "$OUT" "$MS" denied
timed "$CAPLAB" ssh "$LAB" host1 B -- curl -sS -m 5 "http://$(addr host2)/"
report "B@host1 -> host2 while A is still on host1" "$RC" "$OUT" "$MS" denied
say "B may reach everyone, but host1 is narrowed by everyone logged in on it:"
say "A's grant lacks host2, so nothing on host1 reaches host2 while A is there."

bold "A logs out of host1"
kill "$SSH_PID" 2>/dev/null || true
wait "$SSH_PID" 2>/dev/null || true
start=$(date +%s%N)
until "$CAPLAB" exec "$LAB" host1 -- curl -sf -m 1 -o /dev/null "http://$(addr host2)/"; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "host1 -> host2 did not come back"
	sleep 0.05
done
say "host1 -> host2 works again $(( ($(date +%s%N) - start) / 1000000 )) ms after A's logout; mask $(mask_of host1)"
timed "$CAPLAB" ssh "$LAB" host1 B -- curl -sS -m 5 "http://$(addr host2)/"
report "B@host1 -> host2 with A gone" "$RC" "$OUT" "$MS" ok

bold "A grant and a revoke, from the admin's desk"
"$CAPLAB" capctl "$LAB" grant host3 host2 | sed 's/^/   /'
start=$(date +%s%N)
until "$CAPLAB" exec "$LAB" host3 -- curl -sf -m 1 -o /dev/null "http://$(addr host2)/"; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ] || fail "the grant did not reach host3"
	sleep 0.1
done
say "host3 -> host2 works $(( ($(date +%s%N) - start) / 1000000 )) ms later: the new token went from capd"
say "to host1's capshim and from shim to shim; no file was copied by hand"
"$CAPLAB" capctl "$LAB" revoke host3 host2 | sed 's/^/   /'
start=$(date +%s%N)
while "$CAPLAB" exec "$LAB" host3 -- curl -sf -m 1 -o /dev/null "http://$(addr host2)/"; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ] || fail "the revoke did not reach host3"
	sleep 0.1
done
say "host3 -> host2 refused again; the old token's serial is on every host's revocation list"

bold "Audit: what the hosts recorded"
for h in host1 host2 host3; do
	grep -h "denied" "/run/caplab/$LAB/hosts/$h/capshim.log" 2>/dev/null | head -n 2 |
		sed "s/^capshim: notice: //; s/^/   [$h capshim] /" || true
done
python3 - "/run/caplab/$LAB/hosts" <<'PY'
import collections, json, os, sys
root = sys.argv[1]
for host in sorted(os.listdir(root)):
    path = os.path.join(root, host, "audit.log")
    if not os.path.exists(path):
        continue
    events = collections.Counter()
    users = collections.Counter()
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        events[e.get("event", "?")] += 1
        if e.get("user"):
            users[e["user"]] += 1
    print("   [%s capd audit.log] %s; by user: %s" % (host,
          ", ".join("%s %d" % kv for kv in sorted(events.items())) or "no events",
          ", ".join("%s %d" % kv for kv in sorted(users.items())) or "-"))
PY

bold "Audit report: every denied flow, both ends joined"
socks=()
for h in host1 host2 host3; do socks+=(--capd "/run/caplab/$LAB/hosts/$h/capd.sock"); done
"$BIN/capctl" audit pull "${socks[@]}" --out "$AUDIT_DIR" 2>&1 | sed 's/^/   /'
"$BIN/capctl" audit verify --quiet "$AUDIT_DIR"/*.flows && say "verify: every host's chain is intact"
"$BIN/capctl" audit report --flows --limit 12 "$AUDIT_DIR"/*.flows | sed 's/^/   /'
"$BIN/capctl" audit report --html "$AUDIT_DIR/report.html" "$AUDIT_DIR"/*.flows >/dev/null
say "(and one self-contained HTML page: capctl audit report --html FILE)"
say "Why was A's curl from host1 to host2 refused?"
"$CAPLAB" capctl "$LAB" why host1 host2 --user A --port 80 | sed 's/^/   /'

bold "Tearing the lab down"
"$CAPLAB" down "$LAB"
say "no namespace, process, user or file of '$LAB' is left"

bold "Attach mode: captun under an existing WireGuard mesh"
"$CAPLAB" up "$ROOT/tests/policies/acceptance.json" --name "$WLAB" --mesh wireguard-go | sed 's/^/   /'
say "the hosts now talk over wireguard-go (wg0); captun runs no tunnel of its own:"
say "capshim --attach wg0 put eBPF programs on wg0 and on the cgroup2 root"
"$BIN/capctl" shim status --socket "/run/caplab/$WLAB/hosts/host1/shim.sock" | head -n 4 | sed 's/^/   /'
"$CAPLAB" ssh "$WLAB" host1 A -- sleep 6 &
SSH_PID=$!
for _ in $(seq 1 50); do
	"$CAPLAB" shim "$WLAB" host1 '{"cmd":"status"}' | grep -q '"users": *"A"' && break
	sleep 0.1
done
timed "$CAPLAB" ssh "$WLAB" host1 A -- curl -sS -m 5 "http://$("$CAPLAB" addr "$WLAB" host2)/"
report "A@host1 -> host2 over wg0" "$RC" "$OUT" "$MS" denied
say "refused by the kernel at connect() (EPERM); host1 recorded who did it:"
grep -hE "pid [0-9]+ \(curl\)" "/run/caplab/$WLAB/hosts/host1/capshim.log" | tail -n 1 |
	sed 's/^capshim: notice: //; s/^/   [host1] /'
kill "$SSH_PID" 2>/dev/null || true
wait "$SSH_PID" 2>/dev/null || true
kill -TERM "$(cat "/run/caplab/$WLAB/hosts/host1/capshim.pid")"
sleep 1
if "$CAPLAB" meshstate "$WLAB" host1 | diff -q "/run/caplab/$WLAB/hosts/host1/mesh/before.txt" - >/dev/null; then
	say "capshim on host1 stopped: wg0's links, routes and tc are exactly as before it attached"
else
	fail "host1's mesh is not as it was before capshim attached"
fi
"$CAPLAB" down "$WLAB"
say "done: no namespace, process, user, pin or file of '$LAB' or '$WLAB' is left"
