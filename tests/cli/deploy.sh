#!/usr/bin/env bash
# tests/cli/deploy.sh BUILD_DIR - what deploying needs from the programs,
# without root or namespaces: --version everywhere, --json on every capctl
# verb that prints, policy check's refusals (shared keys, shared overlay
# addresses, a host without one), bundle/join refusals, renew, and the
# configuration file's errors. Ends with "N passed, N failed".
set -u

BUILD=$(cd "${1:?usage: bash tests/cli/deploy.sh BUILD_DIR}" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export CAPTUN_DIR=$T/auth
export CAPTUN_CONFIG=$T/captun.conf
printf 'dir = %s\n' "$T/host" >"$CAPTUN_CONFIG"
unset CAPTUN_CAPD 2>/dev/null || true
C=$BUILD/capctl
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect WANT NAME CMD...: exit status WANT; output in $T/out, $T/err
expect() {
	local want=$1 name=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ]; then ok; else
		bad "$name: exit $rc, want $want: $(head -c 300 "$T/err")"
	fi
}
has() { if grep -Eq -- "$1" "$T/$2"; then ok; else bad "$3: $2 lacks /$1/: $(head -c 300 "$T/$2")"; fi; }
is_json() { # NAME: $T/out is one JSON object with "ok"
	if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "ok" in d or "hosts" in d or "type" in d' "$T/out" 2>/dev/null; then ok; else
		bad "$1: not one JSON object: $(head -c 300 "$T/out")"
	fi
}

# ---- --version on every binary -----------------------------------------------------
for b in capctl capshim capd; do
	expect 0 "$b --version" "$BUILD/$b" --version
	has "^$b \(captun\) [0-9]+\.[0-9]+" out "$b --version says name and version"
done
v=$("$C" --version | awk '{print $3}')
for b in capshim capd; do
	check_v=$("$BUILD/$b" --version | awk '{print $3}')
	[ "$check_v" = "$v" ] && ok || bad "$b's version $check_v is not capctl's $v"
done

# ---- one default port --------------------------------------------------------------
port_shim=$("$BUILD/capshim" --help | sed -n 's/.*--port PORT.*(default \([0-9]*\)).*/\1/p')
[ -n "$port_shim" ] && ok || bad "capshim --help names its default port"
if "$C" help host | grep -oE '[0-9]{5}' | sort -u | grep -qvx "$port_shim"; then
	bad "capctl help host names a port other than capshim's $port_shim"
else ok; fi
grep -rhoE '\b5(18|19)[0-9]{2}\b' "$(dirname "$0")/../../README.md" "$(dirname "$0")/../../docs/deploy.md" "$(dirname "$0")/../../docs/architecture.md" \
	"$(dirname "$0")/../../dist" | sort -u >"$T/ports"
if [ "$(cat "$T/ports")" = "$port_shim" ]; then ok; else
	bad "README, docs and dist name other ports: $(tr '\n' ' ' <"$T/ports")"
fi

# ---- policy check: shared keys, shared addresses, no address ---------------------------
"$C" keygen --out "$T/k1" >/dev/null
"$C" keygen --out "$T/k2" >/dev/null
keys() { # DIR: "tunnel_key": ..., "sign_key": ... of a host.pub
	python3 - "$1/host.pub" <<'PY'
import base64, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l and not l.startswith("-----")]
raw = base64.b64decode("".join(lines))
print('"tunnel_key": "%s", "sign_key": "%s"' % (base64.b64encode(raw[68:100]).decode(), base64.b64encode(raw[100:132]).decode()))
PY
}
K1=$(keys "$T/k1")
K2=$(keys "$T/k2")
pol() { printf '{"hosts": {%s}, "users": {}, "groups": {}}\n' "$1" >"$T/p.json"; }
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\"], $K1}, \"b\": {\"bit\": 2, \"overlay\": [\"10.7.0.2\"], $K2}"
expect 0 "policy check: distinct keys and addresses" "$C" policy check "$T/p.json"
has "valid: 2 hosts" out "policy check says valid"
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\"], $K1}, \"b\": {\"bit\": 2, \"overlay\": [\"10.7.0.2\"], $K1}"
expect 1 "policy check: two hosts with the same keys" "$C" policy check "$T/p.json"
has "hosts.b.tunnel_key: the same key as host 'a'" err "duplicate key named"
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\"], $K1}, \"b\": {\"bit\": 2, \"overlay\": [\"10.7.0.2\"], ${K2%%, *}, \"sign_key\": ${K1#*\"sign_key\": }}"
expect 1 "policy check: two hosts with the same signing key" "$C" policy check "$T/p.json"
has "hosts.b.sign_key: the same key as host 'a'" err "duplicate signing key named"
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\", \"fd77::1\"]}, \"b\": {\"bit\": 2, \"overlay\": [\"fd77::1\"]}"
expect 1 "policy check: two hosts with the same overlay address" "$C" policy check "$T/p.json"
has "hosts.b.overlay: an address host 'a' holds already" err "duplicate address named"
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\"]}, \"b\": {\"bit\": 2}"
expect 1 "policy check: a host without an overlay address" "$C" policy check "$T/p.json"
has "hosts.b: no overlay address" err "missing address named"
has "valid but incomplete" out "summary says incomplete, not valid"
expect 0 "policy check --partial: the same, while being written" "$C" policy check --partial "$T/p.json"
pol "\"a\": {\"bit\": 1, \"overlay\": [\"10.7.0.1\"], $K1}, \"b\": {\"bit\": 2, \"overlay\": [\"10.7.0.2\"]}"
"$C" init >/dev/null
cp "$T/p.json" "$CAPTUN_DIR/policy.json"
expect 1 "host add refuses a key another host has" "$C" host add c --bit 3 --pub "$T/k1/host.pub" \
	--overlay 10.7.0.3 --endpoint 192.0.2.3
"$C" host add c --bit 3 --pub "$T/k2/host.pub" --overlay 10.7.0.3 >/dev/null
expect 1 "host keys refuses a key another host has" "$C" host keys a "$T/k2/host.pub"
expect 1 "host add refuses an address another host has" "$C" host add d --bit 4 --overlay 10.7.0.3

# ---- --json on every verb that prints ----------------------------------------------------
rm -rf "$CAPTUN_DIR" "$T/host"
expect 0 "init --json" "$C" --json init; is_json "init --json"
expect 0 "keygen --json" "$C" keygen --json; is_json "keygen --json"
test -f "$T/host/host.key" && ok || bad "keygen without --out wrote into the configuration's dir"
"$C" keygen --out "$T/k3" >/dev/null
expect 0 "host add --json" "$C" host add h2 --bit 2 --pub "$T/k3/host.pub" --overlay 10.8.0.2 --json
is_json "host add --json"
expect 0 "host add h1" "$C" host add h1 --bit 1 --pub "$T/host/host.pub" --overlay 10.8.0.1 \
	--endpoint 192.0.2.1 --reach h2
grep -q '"192.0.2.1:51900"' "$CAPTUN_DIR/policy.json" && ok || bad "endpoint without a port gets $port_shim"
expect 0 "user add --json" "$C" user add u1 --reach h1 --json; is_json "user add --json"
expect 0 "grant --json" "$C" grant u1 h2 --json; is_json "grant --json"
has '"grant":"1-2"' out "grant --json gives the new grant"
expect 0 "revoke --json" "$C" revoke u1 h2 --json; is_json "revoke --json"
has '"revoked":\[' out "revoke --json lists the revoked serial"
expect 0 "issue --json" "$C" issue --force --json; is_json "issue --json"
has '"issued":\[' out "issue --json lists the tokens"
expect 0 "policy check --json" "$C" policy check --json; is_json "policy check --json"
expect 0 "status --json" "$C" status --json; is_json "status --json"
expect 0 "status, --json before the verb" "$C" --json status; is_json "--json status"
expect 0 "token show --json" "$C" token show "$CAPTUN_DIR/tokens/user-u1.token" --json
is_json "token show --json"
expect 0 "renew --json" "$C" renew --all --json; is_json "renew --json"
expect 0 "help --json" "$C" help renew --json; is_json "help --json"
expect 0 "host bundle --json" "$C" host bundle h1 --out "$T/h1.bundle" --json; is_json "host bundle --json"
expect 0 "host join --json" "$C" host join "$T/h1.bundle" --json; is_json "host join --json"
expect 3 "shim status --json without capshim" "$C" shim status --json --socket "$T/none.sock"
is_json "shim status --json, failing"
has '"error"' out "a failing verb's JSON says the error"
expect 1 "metrics without daemons" "$C" metrics --json --shim "$T/n1.sock" --capd "$T/n2.sock"
is_json "metrics --json"
expect 3 "publish without capd" "$C" publish --capd "$T/none.sock" --json; is_json "publish --json, failing"

# ---- bundle and join: refusals -------------------------------------------------------------
expect 1 "bundle of a host without keys" "$C" host bundle nosuch
"$C" keygen --out "$T/other" >/dev/null
expect 1 "join refuses a bundle for other keys" "$C" host join "$T/h1.bundle" --state "$T/other"
has "carries other keys than this host's" err "join says why"
expect 1 "join refuses what is not a bundle" "$C" host join "$CAPTUN_DIR/policy.json" --state "$T/host"
CAPTUN_DIR=$T/auth2 "$C" init >/dev/null
mkdir -p "$T/auth2/tokens"
cp "$CAPTUN_DIR/policy.json" "$T/auth2/policy.json"
CAPTUN_DIR=$T/auth2 "$C" issue >/dev/null 2>&1
CAPTUN_DIR=$T/auth2 "$C" host bundle h1 --out "$T/h1-other.bundle" >/dev/null
expect 1 "join refuses another authority's bundle" "$C" host join "$T/h1-other.bundle"
has "another authority" err "join names the other authority"
expect 0 "join --force moves the host" "$C" host join "$T/h1-other.bundle" --force

# ---- renew ------------------------------------------------------------------------------
s_before=$("$C" token show "$CAPTUN_DIR/tokens/host-h2.token" | sed -n 's/^serial: *//p')
expect 0 "renew: nothing due" "$C" renew
has "tokens: 0 issued" out "renew with nothing due issues nothing"
expect 0 "renew --within 40: every 30-day token is due" "$C" renew --within 40
has "tokens: [1-9][0-9]* issued, 0 unchanged, 0 old serials revoked" out "renew revokes nothing"
s_after=$("$C" token show "$CAPTUN_DIR/tokens/host-h2.token" | sed -n 's/^serial: *//p')
[ "$s_after" -gt "$s_before" ] && ok || bad "renew gave h2 a new serial ($s_before -> $s_after)"
expect 0 "renew one subject" "$C" renew host:h1 --validity 90
has "issued host-h1.token" out "renew host:h1 renews h1"
expect 0 "status after renew" "$C" status
if command -v faketime >/dev/null; then
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		faketime -f -25d "$C" renew --all --validity 30 >/dev/null 2>&1
	expect 0 "status with tokens expiring soon" "$C" status
	has "warning: [0-9]+ tokens? expires? within 7 days: run 'capctl renew'" out "status warns ahead of expiry"
	expect 0 "renew takes them" "$C" renew
	has "less than a third of its validity left" out "renew says why"
else
	echo "SKIP: no faketime: status's expiry warning not checked"
fi

# ---- the configuration file ---------------------------------------------------------------
printf '[capshim]\nprot = 1\n' >"$T/bad.conf"
expect 2 "capshim refuses an unknown key" "$BUILD/capshim" --config "$T/bad.conf"
has "bad.conf:2: \[capshim\] has no key 'prot'" err "capshim names file, line and key"
printf '[capd]\non-invalid = sometimes\n' >"$T/bad2.conf"
expect 2 "capd checks a value as it checks the option" "$BUILD/capd" --config "$T/bad2.conf"
has "on-invalid wants refuse or isolate" err "capd's option message"
expect 2 "a --config that is not there" "$BUILD/capd" --config "$T/none.conf"
printf '[capd]\nbreak-glass-users = root;x\n' >"$T/bad3.conf"
expect 2 "capd refuses a break-glass list it cannot read" "$BUILD/capd" --config "$T/bad3.conf"

# ---- man pages and completion follow capctl's own manual -------------------------------
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
verbs=$("$C" --help | awk '/^VERBS/ { on = 1; next } /^[A-Z]/ { on = 0 } on && $1 ~ /^[a-z]/ { print $1 }' | sort -u)
if bash "$ROOT/tools/man/mkman.sh" "$BUILD" "$T/man" 2>"$T/err"; then ok; else bad "mkman.sh: $(head -c 300 "$T/err")"; fi
for v in $verbs; do
	grep -q "^\.SS \"capctl $v\"" "$T/man/capctl.8" && ok || bad "capctl.8 lacks verb $v"
done
for o in $("$BUILD/capshim" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*'); do
	grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$T/man/capshim.8" && ok || bad "capshim.8 lacks $o"
done
for f in "$T/man"/*.8 "$ROOT"/docs/man/*; do
	if LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>&1 >/dev/null | grep -q .; then
		bad "$(basename "$f"): man warns: $(LC_ALL=C.UTF-8 man -l "$f" 2>&1 >/dev/null | head -n 2)"
	else ok; fi
done
comp=$(PATH=$BUILD:$PATH bash -c ". '$ROOT/dist/bash-completion/capctl'; _capctl_verbs" | sort -u)
for v in $verbs; do
	echo "$comp" | grep -qx "$v" && ok || bad "bash completion lacks verb $v"
done
got=$(PATH=$BUILD:$PATH bash -c ". '$ROOT/dist/bash-completion/capctl'; COMP_WORDS=(capctl renew --wi); COMP_CWORD=2; _capctl; echo \${COMPREPLY[*]}")
[ "$got" = "--within" ] && ok || bad "completion of 'capctl renew --wi': '$got'"
got=$(PATH=$BUILD:$PATH bash -c ". '$ROOT/dist/bash-completion/capctl'; COMP_WORDS=(capctl host b); COMP_CWORD=2; _capctl; echo \${COMPREPLY[*]}")
[ "$got" = "bundle" ] && ok || bad "completion of 'capctl host b': '$got'"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
