#!/bin/bash
# make demo: the acceptance example of ARCHITECTURE.md in a lab of network
# namespaces, step by step, then torn down.
#
#   host1 (bit 1) may reach host2, host3      user A may reach host1, host3
#   host2 (bit 2) may reach nobody            user B may reach everyone
#   host3 (bit 3) may reach host1 only
#
#   LAB-host1 ---+
#   LAB-host2 ---+--- LAB-sw (bridge): encrypted UDP underlay, capshim on each
#   LAB-host3 ---+
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CAPTUN_BIN:-$ROOT/build}
LAB=demo$$
LAB=${LAB:0:8}
CAPLAB="$ROOT/tools/caplab/caplab"
export CAPTUN_BIN=$BIN

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }

cleanup() { "$CAPLAB" down "$LAB" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Runs curl from one host to another's HTTP server and says what happened.
try_curl() { # SRC DST EXPECT(ok|denied)
	local src=$1 dst=$2 expect=$3 addr out rc start end ms
	addr=$("$CAPLAB" addr "$LAB" "$dst")
	start=$(date +%s%N)
	out=$("$CAPLAB" exec "$LAB" "$src" -- curl -sS -m 5 "http://$addr/" 2>&1) && rc=0 || rc=$?
	end=$(date +%s%N)
	ms=$(( (end - start) / 1000000 ))
	if [ $rc = 0 ]; then
		say "$src -> $dst: $out  (${ms} ms)"
	else
		say "$src -> $dst: refused: ${out#curl: }  (${ms} ms)"
	fi
	if { [ "$expect" = ok ] && [ $rc != 0 ]; } || { [ "$expect" = denied ] && [ $rc = 0 ]; }; then
		echo "demo: unexpected result for $src -> $dst (wanted $expect)" >&2
		exit 1
	fi
}

bold "Building"
make -C "$ROOT" --no-print-directory all >/dev/null
say "capctl, capshim and the policy library are built in $BIN"

bold "The policy (tests/policies/acceptance.json)"
"$BIN/capctl" policy check "$ROOT/tests/policies/acceptance.json" | sed 's/^/   /'

bold "Standing up a 3-host lab '$LAB' (namespaces, keys, tokens, capshim)"
"$CAPLAB" up "$ROOT/tests/policies/acceptance.json" --name "$LAB" | sed 's/^/   /'
"$CAPLAB" capctl "$LAB" status | sed 's/^/   /'

bold "Every host tries every other host's web server (curl over the overlay)"
try_curl host1 host2 ok
try_curl host1 host3 ok
try_curl host2 host1 denied
try_curl host2 host3 denied
try_curl host3 host1 ok
try_curl host3 host2 denied
say "host2's replies to host1 pass although host2 may reach nobody: they"
say "answer a flow host1 opened. A refused curl fails at once, not by time-out."

bold "What each end recorded"
for h in host1 host2 host3; do
	grep -h "denied" "/run/caplab/$LAB/hosts/$h/capshim.log" 2>/dev/null | head -n 3 | sed "s/^/   [$h] /" || true
done
"$CAPLAB" status "$LAB" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    drops = {k: v for k, v in d["drops"].items() if v and "denied" in k}
    print("   %s: epoch %d, may reach bits %s, refused: %s" % (d["host"], d["epoch"], d["mask"], drops or "none"))'

bold "A grant takes effect: capctl grant host3 host2"
"$CAPLAB" capctl "$LAB" grant host3 host2 | sed 's/^/   /'
say "(capd will carry new tokens to running hosts; until it exists, 'caplab"
say " sync' copies them and restarts each capshim)"
"$CAPLAB" sync "$LAB"
try_curl host3 host2 ok

bold "A revoke takes effect: capctl revoke host3 host2"
"$CAPLAB" capctl "$LAB" revoke host3 host2 | sed 's/^/   /'
"$CAPLAB" sync "$LAB"
try_curl host3 host2 denied
say "host3's old token (serial 6) is on the signed revocation list now:"
"$CAPLAB" capctl "$LAB" status | grep -E "revocation|host3" | sed 's/^/   /'

bold "Tearing the lab down"
cleanup
say "done: no namespace, process or interface of '$LAB' is left"
