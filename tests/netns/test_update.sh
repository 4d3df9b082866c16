#!/usr/bin/env bash
# tests/netns/test_update.sh - grants and revokes reach running hosts
# through the shims themselves, with no file copied by hand.
#
#      U-host1 (bit 1)            U-host2 (bit 2)          U-host3 (bit 3)
#      capshim  <-- publish       capshim                  capshim
#        |  (control socket: the admin's new tokens and revocation list)
#        +---- PROTO_CTL_OBJECT ----> host2 ----> host3 (and host1 -> host3)
#      +----------------------------------------------------------------+
#      |                U-sw: bridge br0 (the underlay)                 |
#      +----------------------------------------------------------------+
#
# host3 may reach only host1. capctl grants host3 host2 at the authority;
# the new token and list are published to host1's capshim alone; host3
# must then reach host2, within seconds, without a restart. Then a revoke
# the same way, and host3 -> host2 is refused again; host3's old token is
# on every host's revocation list. Also: isolate empties a host's mask,
# and a badly signed object is refused.
. "$(dirname "$0")/lib.sh"

L=$(lab_name u)
lab_up "$L" "$NETNS_ROOT/tests/policies/acceptance.json" || finish
ADMIN=$CAPLAB_RUNDIR/$L/admin
H1SOCK=$CAPLAB_RUNDIR/$L/hosts/host1/shim.sock
A2=$("$CAPLAB" addr "$L" host2)

# Every token and the revocation list of the authority, as a publish request.
publish_all() {
	python3 - "$ADMIN" <<'PY' >"$T_TMP/publish.json"
import glob, json, sys
d = sys.argv[1]
objs = [open(f).read() for f in sorted(glob.glob(d + "/tokens/*.token"))]
objs.append(open(d + "/revocation.list").read())
print(json.dumps({"cmd": "publish", "objects": objs}))
PY
	python3 "$NETNS_ROOT/tools/caplab/ctlquery.py" "$H1SOCK" "$(cat "$T_TMP/publish.json")"
}

curl_ok() { inlab "$L" "$1" curl -sf -m 2 -o /dev/null "http://$2/"; }
curl_refused() { ! curl_ok "$@"; }

check_fails "before: host3 -> host2 refused" curl_ok host3 "$A2"

"$CAPTUN_BIN/capctl" --dir "$ADMIN" grant host3 host2 >/dev/null
out=$(publish_all)
check_eq "publish of the grant accepted" "$(jget "$out" "d['ok']")" "true"
check "grant reaches host3 through the shims: host3 -> host2 works" \
	wait_until 10 curl_ok host3 "$A2"
check_eq "host3's mask now holds host2" "$(jget "$(status "$L" host3)" "d['mask']")" "1-2"
check_eq "host2 sees host3 reach it" \
	"$(jget "$(status "$L" host2)" "$(peer_expr host3 reaches_us)")" "true"

"$CAPTUN_BIN/capctl" --dir "$ADMIN" revoke host3 host2 >/dev/null
publish_all >/dev/null
check "revoke reaches host3: host3 -> host2 refused again" \
	wait_until 10 curl_refused host3 "$A2"
check_eq "host3's mask is host1 only" "$(jget "$(status "$L" host3)" "d['mask']")" "1"
for h in host2 host3; do
	check "$h holds the newest revocation list" \
		cmp -s "$ADMIN/revocation.list" "$CAPLAB_RUNDIR/$L/hosts/$h/revocation.list"
done
check "host1 -> host3 still works" curl_ok host1 "$("$CAPLAB" addr "$L" host3)"

out=$(python3 "$NETNS_ROOT/tools/caplab/ctlquery.py" "$H1SOCK" '{"cmd":"capability","users":[],"isolate":true}')
check_eq "isolate: host1's mask is empty" "$(jget "$out" "d['mask']")" "-"
check_fails "isolated host1 -> host2 refused" curl_ok host1 "$A2"
check "host2 records the refusal host1 reported" wait_until 3 sh -c \
	"grep -q 'denied (receiver, refused at the sender) tcp .* from host host1 to host host2' $CAPLAB_RUNDIR/$L/hosts/host2/capshim.log"
check_ge "host2 counts host1's reported refusals" \
	"$(jget "$(status "$L" host2)" "$(peer_expr host1 denied_reported)")" 1
check "host2 accepted host1's narrower announcement" \
	wait_until 5 sh -c "[ \"\$(\"$CAPLAB\" status $L host2 | python3 -c 'import json,sys; d=json.load(sys.stdin); print([p for p in d[\"peers\"] if p[\"name\"]==\"host1\"][0][\"mask\"])')\" = - ]"
out=$(python3 "$NETNS_ROOT/tools/caplab/ctlquery.py" "$H1SOCK" '{"cmd":"capability","users":[]}')
check_eq "un-isolated: host1's mask is back" "$(jget "$out" "d['mask']")" "2-3"
check "host1 -> host2 works again" wait_until 5 curl_ok host1 "$A2"

# One base64 character of the signature changed (the last body line).
bad=$(python3 - "$ADMIN/tokens/host-host3.token" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = len(lines) - 3
c = lines[i][3]
lines[i] = lines[i][:3] + ("B" if c != "B" else "C") + lines[i][4:]
print("\n".join(lines), end="")
PY
)
out=$(python3 "$NETNS_ROOT/tools/caplab/ctlquery.py" "$H1SOCK" \
	"$(python3 -c 'import json,sys; print(json.dumps({"cmd":"publish","objects":[sys.argv[1]]}))' "$bad")")
check_eq "a tampered token is refused" "$(jget "$out" "d['ok']")" "false"
logs_clean "$L"
finish
