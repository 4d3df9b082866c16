#!/usr/bin/env bash
# tests/cli/run.sh BUILD_DIR - end-to-end tests of capctl (BUILD_DIR/capctl)
# in a scratch state directory. Ends with one line "N passed, N failed" and
# exits non-zero if anything failed.
set -u

BUILD=${1:?usage: bash tests/cli/run.sh BUILD_DIR}
CAPCTL=$(cd "$BUILD" 2>/dev/null && pwd)/capctl
if [ ! -x "$CAPCTL" ]; then
	echo "run.sh: no capctl in $BUILD (build it first)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ST=$T/state
export CAPTUN_DIR=$ST
# host-side defaults (keygen, host join, metrics) point into the scratch dir
export CAPTUN_CONFIG=$T/captun.conf
printf 'dir = %s\n' "$T/hoststate" >"$CAPTUN_CONFIG"
unset CAPTUN_NOW 2>/dev/null || true
unset CAPTUN_CAPD 2>/dev/null || true

passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# run ARGS...: runs capctl, keeps stdout, stderr and the exit status.
run() {
	"$CAPCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# rc_is WANT NAME: checks the status of the last run.
rc_is() {
	if [ "$rc" = "$1" ]; then ok; else
		bad "$2: exit $rc, want $1; stderr: $(head -c 400 "$T/err")"
	fi
}

# expect WANT NAME ARGS...: runs and checks the exit status.
expect() {
	local want=$1 name=$2
	shift 2
	run "$@"
	rc_is "$want" "$name"
}

# out_has / err_has PATTERN NAME (grep -E); out_lacks / err_lacks likewise.
out_has() { if grep -Eq -- "$1" "$T/out"; then ok; else bad "$2: stdout lacks /$1/: $(head -c 400 "$T/out")"; fi; }
err_has() { if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2: stderr lacks /$1/: $(head -c 400 "$T/err")"; fi; }
out_lacks() { if grep -Eq -- "$1" "$T/out"; then bad "$2: stdout has /$1/"; else ok; fi; }
err_lacks() { if grep -Eq -- "$1" "$T/err"; then bad "$2: stderr has /$1/: $(head -c 400 "$T/err")"; else ok; fi; }

check() { # check NAME COMMAND...: a shell condition
	local name=$1
	shift
	if "$@"; then ok; else bad "$name"; fi
}
check_not() { # check_not NAME COMMAND...: the condition must fail
	local name=$1
	shift
	if "$@"; then bad "$name"; else ok; fi
}

mode_of() { stat -c %a "$1"; }

# The grant mask capctl token show prints for a token file.
grant_of() {
	"$CAPCTL" token show "$1" 2>/dev/null | sed -n 's/^grant: *//p'
}
serial_of() {
	"$CAPCTL" token show "$1" 2>/dev/null | sed -n 's/^serial: *//p'
}

json_ok() { # json_ok FILE: parses as JSON (with whatever tool there is)
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
	elif command -v jq >/dev/null 2>&1; then
		jq empty "$1" >/dev/null 2>&1
	else
		grep -q '^{' "$1"
	fi
}

############################################################ help and usage
expect 0 "capctl --help" --help
out_has "^SYNOPSIS" "capctl --help synopsis"
expect 0 "capctl help" help
for verb in init keygen host user policy issue grant revoke token status help; do
	expect 0 "capctl help $verb" help "$verb"
	out_has "^SYNOPSIS" "help $verb synopsis"
	out_has "^EXIT STATUS" "help $verb exit status"
	out_has "^EXAMPLE" "help $verb example"
done
for args in "init" "keygen" "host" "host add" "host keys" "host del" "user" \
	"user add" "user del" "policy" "policy check" "issue" "grant" "revoke" \
	"token" "token show" "status"; do
	# shellcheck disable=SC2086
	expect 0 "capctl $args --help" $args --help
	out_has "^NAME" "capctl $args --help page"
done
expect 2 "unknown verb" frobnicate
err_has "^capctl: unknown verb 'frobnicate'; " "unknown verb message"
expect 2 "no verb"
expect 2 "unknown option" status --frob
expect 2 "unknown global option" --frob status
expect 2 "missing option argument" issue --validity
expect 2 "bad validity" issue --validity 0
expect 2 "host add without --bit" host add hostx
expect 2 "bad name" user add -- '-x'
expect 2 "grant without target" grant alice
expect 0 "keygen without --out: the configuration's dir" keygen
check "keygen wrote into the configuration's dir" [ -f "$T/hoststate/host.key" ]
expect 2 "token show without file" token show

############################################################ init
expect 1 "status before init" status
err_has "init" "status before init says to init"
expect 0 "init" init
check "state dir is 0700" [ "$(mode_of "$ST")" = 700 ]
check "authority.key is 0600" [ "$(mode_of "$ST/authority.key")" = 600 ]
for f in authority.pub policy.json state.json revocation.list; do
	check "init wrote $f" [ -s "$ST/$f" ]
done
check "init made tokens/" [ -d "$ST/tokens" ]
check "state.json is JSON" json_ok "$ST/state.json"
check "empty policy" grep -q '"hosts": {}' "$ST/policy.json"
check "revocation list armored" grep -q 'BEGIN CAPTUN REVOCATION LIST' "$ST/revocation.list"
cp "$ST/authority.key" "$T/authority.key.orig"
expect 1 "re-init refused" init
err_has "already initialised" "re-init message"
check "re-init kept the key" cmp -s "$ST/authority.key" "$T/authority.key.orig"
expect 0 "init --dir elsewhere" init --dir "$T/other"
check "--dir wins over CAPTUN_DIR" [ -f "$T/other/authority.key" ]
expect 0 "global --dir" --dir "$T/other" status
expect 0 "policy check of the empty policy" policy check
out_has "valid: 0 hosts, 0 users, 0 groups" "empty policy summary"

############################################################ keygen
for h in host1 host2 host3 host4; do
	expect 0 "keygen $h" keygen --out "$T/keys/$h"
done
check "host.key is 0600" [ "$(mode_of "$T/keys/host1/host.key")" = 600 ]
check "host.pub written" grep -q 'HOST PUBLIC KEYS' "$T/keys/host1/host.pub"
cp "$T/keys/host1/host.key" "$T/host1.key.orig"
expect 1 "keygen refuses to overwrite" keygen --out "$T/keys/host1"
check "keygen kept the key" cmp -s "$T/keys/host1/host.key" "$T/host1.key.orig"

############################################################ the acceptance example
expect 0 "host add host2" host add host2 --bit 2 --pub "$T/keys/host2/host.pub" \
	--overlay 10.77.0.2
out_has "issued host-host2.token" "host add issues the host token"
expect 0 "host add host3" host add host3 --bit 3 --pub "$T/keys/host3/host.pub" \
	--overlay 10.77.0.3
expect 0 "host add host1" host add host1 --bit 1 --reach host2,host3 \
	--pub "$T/keys/host1/host.pub" --overlay 10.77.0.1 --overlay fd77::1 \
	--endpoint 192.0.2.1:51820
expect 0 "host3 reaches host1" grant host3 host1
out_has "host host3: grant 1 \(host1\)" "host3 grant printed"
expect 0 "user add A" user add A --reach host1,host3
expect 0 "user add B" user add B --reach '*'
check "policy keeps tunnel_key" grep -q '"tunnel_key"' "$ST/policy.json"
check "policy keeps overlay" grep -q 'fd77::1' "$ST/policy.json"

expect 0 "policy check good" policy check "$ST/policy.json"
out_has "valid: 3 hosts, 2 users" "policy check summary"
out_has "host1 +1 +yes +10.77.0.1 fd77::1 +2-3 \(host2,host3\)" "policy check host1 grant"
out_has "host3 +3 +yes +10.77.0.3 +1 \(host1\)" "policy check host3 grant"
out_has "A +1,3 \(host1,host3\)" "policy check A grant"
out_has "B +1-3 \(host1,host2,host3\)" "policy check B grant"

check "host2 grant empty" [ "$(grant_of "$ST/tokens/host-host2.token")" = "-" ]
check "host1 grant 2-3" [ "$(grant_of "$ST/tokens/host-host1.token")" = "2-3" ]
check "host3 grant 1" [ "$(grant_of "$ST/tokens/host-host3.token")" = "1" ]
check "A grant 1,3" [ "$(grant_of "$ST/tokens/user-A.token")" = "1,3" ]
check "B grant 1-3" [ "$(grant_of "$ST/tokens/user-B.token")" = "1-3" ]

############################################################ policy check on bad files
printf '{\n  "hosts": {\n    "h1": {"bit": 1,}\n  }\n}\n' >"$T/badjson.json"
expect 1 "policy check bad JSON" policy check "$T/badjson.json"
err_has "badjson.json:3:[0-9]+: " "bad JSON error has line:col"
printf '{"hosts": {"h1": {"bit": 1, "reach": ["h9"]}}, "users": {}, "groups": {}}\n' >"$T/unknown.json"
expect 1 "policy check unknown host" policy check "$T/unknown.json"
err_has "hosts.h1.reach\[0\].*unknown host or group 'h9'" "unknown host error names the path"
printf '{"hosts": {"h1": {"bit": 1}, "h2": {"bit": 1}}, "users": {}, "groups": {}}\n' >"$T/dupbit.json"
expect 1 "policy check duplicate bit" policy check "$T/dupbit.json"
err_has "hosts.h2.bit.*already used by host 'h1'" "duplicate bit error"
expect 3 "policy check missing file" policy check "$T/nonexistent.json"

############################################################ issue
expect 0 "issue with nothing to do" issue
out_has "tokens: 0 issued, 5 unchanged" "issue is idempotent"
s_a=$(serial_of "$ST/tokens/user-A.token")
expect 0 "issue --force" issue --force --validity 10
out_has "tokens: 5 issued" "issue --force re-issues all"
check "forced token has a new serial" [ "$(serial_of "$ST/tokens/user-A.token")" != "$s_a" ]
run token show "$ST/tokens/user-A.token"
check_not "forced old serial not revoked (content unchanged)" grep -q "\"serial\": $s_a," "$ST/state.json"
rm "$ST/tokens/user-B.token"
expect 0 "issue after a lost token" issue
out_has "issued user-B.token" "issue restores a missing token"
check "state.json still JSON" json_ok "$ST/state.json"

############################################################ token show
expect 0 "token show host1" token show "$ST/tokens/host-host1.token"
for field in "^type: +host token" "^name: +host1" "^bit: +1" "^tunnel key: +[A-Za-z0-9+/]{43}=" \
	"^sign key: +[A-Za-z0-9+/]{43}=" "^overlay: +10.77.0.1,fd77::1" "^grant: +2-3" "^grant hosts: +host2,host3" \
	"^serial: +[0-9]+" "^not before: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z" \
	"^not after: +[0-9]{4}-" "^key id: +[0-9a-f]{8}" "^status: +ok"; do
	out_has "$field" "token show field $field"
done
expect 0 "token show --json" token show --json "$ST/tokens/user-A.token"
out_has '"valid": true' "token show json valid"
out_has '"grant_hosts"' "token show json names"
if command -v python3 >/dev/null 2>&1; then
	check "token show --json parses" json_ok "$T/out"
fi
expect 0 "token show --authority" token show "$ST/tokens/user-A.token" --authority "$ST/authority.pub"
expect 1 "token show, other authority" token show "$ST/tokens/user-A.token" --authority "$T/other/authority.pub"
out_has "^name: +A" "other authority still prints the fields"
out_has "^status: +authority" "other authority status"
printf 'not a token\n' >"$T/junk.token"
expect 1 "token show junk" token show "$T/junk.token"
err_has "cannot decode" "junk is reported as undecodable"
head -c 150 "$ST/tokens/user-A.token" >"$T/cut.token"
expect 1 "token show truncated armor" token show "$T/cut.token"
expect 3 "token show missing file" token show "$T/nope.token"
sed -n '2,/END/p' "$ST/tokens/user-A.token" | grep -v END | base64 -d >"$T/raw.token" 2>/dev/null
expect 0 "token show raw binary" token show "$T/raw.token"

# The overlay addresses are signed: changing them makes the token stale.
cp "$ST/tokens/host-host1.token" "$T/host1.before"
sed -i 's/10.77.0.1/10.77.0.11/' "$ST/policy.json"
expect 0 "status after an overlay change" status
out_has "^  host1 .* stale" "overlay change makes host1 stale"
expect 0 "issue after an overlay change" issue
out_has "revoked serial [0-9]+ \(host host1" "overlay change revokes host1's old serial"
expect 0 "token show new host1" token show "$ST/tokens/host-host1.token"
out_has "^overlay: +10.77.0.11,fd77::1" "new host1 token carries the new address"
expect 1 "old host1 token revoked" token show "$T/host1.before"

############################################################ grant and revoke
cp "$ST/tokens/user-A.token" "$T/A.before"
s_before=$(serial_of "$T/A.before")
expect 0 "grant A host2" grant A host2
out_has "user A: grant 1-3 \(host1,host2,host3\)" "grant prints the new mask"
check "A's token grant 1-3" [ "$(grant_of "$ST/tokens/user-A.token")" = "1-3" ]
expect 1 "A's old token is revoked" token show "$T/A.before"
out_has "^status: +revoked" "old token status revoked"
err_has "revoked" "old token error names revoked"
expect 0 "grant again is a no-op" grant A host2
err_has "already in the reach" "grant duplicate note"
check "no duplicate in reach" [ "$(grep -c '"host2"' "$ST/policy.json")" -le 3 ]
cp "$ST/tokens/user-A.token" "$T/A.granted"
expect 0 "revoke A host2" revoke A host2
out_has "user A: grant 1,3 \(host1,host3\)" "revoke prints the new mask"
check "A's token grant 1,3" [ "$(grant_of "$ST/tokens/user-A.token")" = "1,3" ]
expect 1 "A's granted token is revoked" token show "$T/A.granted"
out_has "^status: +revoked" "granted token revoked"
check "serials grow" [ "$(serial_of "$ST/tokens/user-A.token")" -gt "$s_before" ]
expect 1 "grant unknown target" grant A host9
err_has "unknown target 'host9'" "unknown target message"
expect 1 "grant unknown subject" grant nobody host1
cp "$ST/policy.json" "$T/policy.before"
expect 1 "invalid edit refused" host add host5 --bit 1
err_has "already used" "duplicate bit refused by the library"
check "refused edit left policy.json alone" cmp -s "$ST/policy.json" "$T/policy.before"

# B reaches "*": revoking host2 expands it.
cp "$ST/tokens/user-B.token" "$T/B.star"
expect 0 "revoke B host2 (covered by *)" revoke B host2
err_has "'\*'.*replaced it by host1,host3|'\*'.*replaced it by host3,host1" "expansion is reported"
out_has "user B: grant 1,3" "B grant after expansion"
b_reach_has_no_star() { ! sed -n '/"B": {/,/]/p' "$ST/policy.json" | grep -q '"\*"'; }
check "B's reach is explicit now" b_reach_has_no_star
expect 1 "B's star token revoked" token show "$T/B.star"
out_has "^status: +revoked" "star token revoked"

# groups: grant a group, revoke one member, then the group.
"$CAPCTL" user add C >/dev/null 2>&1
sed -i 's/"groups": {}/"groups": {"web": ["host2", "host3"]}/' "$ST/policy.json"
expect 0 "policy with a group" policy check --partial
expect 0 "grant C web" grant C web
out_has "user C: grant 2-3" "C grant via group"
expect 0 "revoke C host3 (covered by web)" revoke C host3
err_has "'web'.*replaced it by host2" "group expansion reported"
out_has "user C: grant 2 \(host2\)" "C grant after group expansion"
expect 0 "grant C web again" grant C web host1
expect 0 "revoke C web" revoke C web
out_has "user C: grant 1 \(host1\)" "revoking a group removes its hosts"
expect 0 "revoke C *" revoke C '*'
out_has "user C: grant - " "revoke * empties the grant"

# a host that is also a user.
expect 0 "user named like a host" user add host1 --reach host2
expect 2 "ambiguous subject" grant host1 host3
err_has "both a user and a host.*user:host1" "ambiguous subject asks for a prefix"
expect 0 "prefixed user subject" grant user:host1 host3
out_has "user host1: grant 2-3" "user:host1 grant"
check "host1's host token untouched" [ "$(grant_of "$ST/tokens/host-host1.token")" = "2-3" ]
expect 0 "prefixed host subject" revoke host:host1 host3
out_has "host host1: grant 2 \(host2\)" "host:host1 revoke"
expect 0 "regrant host1 host3" grant host:host1 host3

############################################################ hosts without keys, deletion
expect 0 "host add without keys" host add host4 --bit 4
err_has "host4 has no keys" "keyless host note"
expect 1 "issue names the keyless host" issue
err_has "host host4 has no public keys.*capctl host keys" "keyless host error says what to do"
expect 0 "host keys" host keys host4 "$T/keys/host4/host.pub"
check "host4 token issued" [ -f "$ST/tokens/host-host4.token" ]
expect 0 "issue after host keys" issue
expect 1 "host keys with a bad file" host keys host4 "$ST/authority.pub"
err_has "not a host public key" "bad host.pub message"
expect 0 "grant host2 host4" grant host2 host4
cp "$ST/tokens/host-host4.token" "$T/host4.token"
expect 0 "host del host4" host del host4
err_has "removed host4 from the reach of host host2" "host del removes references"
check "host4 token file removed" [ ! -e "$ST/tokens/host-host4.token" ]
expect 1 "deleted host's token revoked" token show "$T/host4.token"
out_has "^status: +revoked" "deleted host token revoked"
check "host2 grant back to empty" [ "$(grant_of "$ST/tokens/host-host2.token")" = "-" ]
cp "$ST/tokens/user-C.token" "$T/C.token"
expect 0 "user del C" user del C
check "user C token removed" [ ! -e "$ST/tokens/user-C.token" ]
expect 1 "deleted user's token revoked" token show "$T/C.token"
expect 1 "delete unknown user" user del C

############################################################ status
expect 0 "status" status
out_has "^hosts: 3" "status host count"
out_has "^  host1 +1 +yes +host2,host3 +host2,host3 +[0-9]+ +[0-9-]+T[0-9:]+Z +current" "status host1 row"
out_has "^  A +host1,host3 +host1,host3 +[0-9]+ .* current" "status A row"
out_has "^revocation list: serial [0-9]+, [0-9]+ serials? revoked" "status revocation list"
out_has "all tokens are current" "status all current"
expect 0 "status --json" status --json
out_has '"revocation_list"' "status json"
if command -v python3 >/dev/null 2>&1; then
	check "status --json parses" json_ok "$T/out"
fi
# A crash between writing policy.json and re-issuing: status flags it.
sed -i 's/"reach": \[\]/"reach": ["host1"]/' "$ST/policy.json"
expect 0 "status with a stale token" status
out_has "host2 .* stale" "status marks the stale token"
out_has "run 'capctl issue'" "status says what to do"
cp "$ST/tokens/host-host2.token" "$T/host2.stale"
expect 0 "issue repairs it" issue
out_has "revoked serial" "repair revokes the stale serial"
expect 0 "status after repair" status
out_has "all tokens are current" "status current after repair"
expect 1 "stale token now revoked" token show "$T/host2.stale"

############################################################ serials and revocation bookkeeping
serials=$(for f in "$ST"/tokens/*.token; do serial_of "$f"; done)
check "token serials unique" [ "$(echo "$serials" | sort -n | uniq -d | wc -l)" = 0 ]
next=$(sed -n 's/.*"next_serial": \([0-9]*\).*/\1/p' "$ST/state.json")
maxs=$(echo "$serials" | sort -n | tail -1)
check "next_serial is above every serial" [ "$next" -gt "$maxs" ]
for s in $serials; do
	if grep -q "\"serial\": $s,\$" <(sed -n '/"revoked"/,/"tokens"/p' "$ST/state.json"); then
		bad "live serial $s is on the revoked list"
	fi
done
ok
rl1=$(sed -n 's/.*"revocation_serial": \([0-9]*\).*/\1/p' "$ST/state.json")
expect 0 "revoke A host3" revoke A host3
rl2=$(sed -n 's/.*"revocation_serial": \([0-9]*\).*/\1/p' "$ST/state.json")
check "revocation serial +1" [ "$rl2" = $((rl1 + 1)) ]

# Pruning: a revoked serial whose token expired long ago leaves the next list.
sed -i 's/^  "revoked": \[$/  "revoked": [\n    {"serial": 999999, "not_after": 1},/' "$ST/state.json"
check "test set-up: old revoked serial in state.json" grep -q 999999 "$ST/state.json"
expect 0 "revoke with an expired revoked serial around" revoke A host3
check_not "expired revoked serial pruned" grep -q 999999 "$ST/state.json"
check "next_serial stays above a pruned serial" \
	[ "$(sed -n 's/.*"next_serial": \([0-9]*\).*/\1/p' "$ST/state.json")" -gt 999999 ]
expect 0 "grant A host3 back" grant A host3

# state.json loses its last write (crash after revocation.list): the list
# stays authoritative and serials keep growing.
cp "$ST/state.json" "$T/state.old"
cp "$ST/tokens/user-A.token" "$T/A.lost"
expect 0 "revoke before the simulated loss" revoke A host3
lost_serial=$(serial_of "$T/A.lost")
new_serial=$(serial_of "$ST/tokens/user-A.token")
cp "$T/state.old" "$ST/state.json"
expect 0 "status after losing state.json's last write" status
out_has "need attention" "status notices the lost write"
expect 1 "revoked token stays revoked" token show "$T/A.lost"
expect 0 "issue after the loss" issue
expect 0 "status after issue" status
out_has "all tokens are current" "issue repairs the lost write"
check "the lost write's revoked serial is back in state.json" \
	grep -q "\"serial\": $lost_serial,\$" "$ST/state.json"
expect 0 "grant after the loss" grant A host3
check "serials keep growing after the loss" [ "$(serial_of "$ST/tokens/user-A.token")" -gt "$new_serial" ]

############################################################ lock
if command -v flock >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
	(flock -x 9; sleep 2) 9>"$ST/.lock" &
	holder=$!
	sleep 0.3
	timeout 1 "$CAPCTL" grant A host3 >/dev/null 2>"$T/err"
	rc=$?
	check "a writer waits for the lock" [ "$rc" = 124 ]
	wait "$holder"
	expect 0 "status does not need the lock" status
	expect 0 "grant after the lock is free" grant A host3
fi

############################################################ authority key protection
chmod 0644 "$ST/authority.key"
expect 1 "world-readable authority key refused" grant A host2
err_has "chmod 600" "key mode message"
chmod 0600 "$ST/authority.key"

############################################################ crash safety
# ~300 users, 'capctl issue --force' killed at random points; after each
# kill every file must still parse and a final issue must complete.
C=$T/crash
export CAPTUN_DIR=$C
expect 0 "crash: init" init
for h in 1 2 3; do
	"$CAPCTL" keygen --out "$T/ckeys/h$h" >/dev/null 2>&1
	expect 0 "crash: host add h$h" host add "h$h" --bit "$h" --pub "$T/ckeys/h$h/host.pub"
done
{
	sed -n '1,/"users"/p' "$C/policy.json" | sed '$d'
	echo '  "users": {'
	for i in $(seq 1 300); do
		sep=,
		[ "$i" = 300 ] && sep=
		echo "    \"user$i\": {\"reach\": [\"h$((i % 3 + 1))\"]}$sep"
	done
	echo '  },'
	echo '  "groups": {}'
	echo '}'
} >"$T/big.json"
expect 0 "crash: big policy valid" policy check --partial "$T/big.json"
cp "$T/big.json" "$C/policy.json"
expect 0 "crash: first issue" issue
start=$(date +%s%N)
"$CAPCTL" issue --force >/dev/null 2>&1
span_ms=$((($(date +%s%N) - start) / 1000000 + 1))

crash_check() { # crash_check ROUND: every file in the state dir parses
	local round=$1 bad_tokens
	"$CAPCTL" policy check --partial "$C/policy.json" >/dev/null 2>&1 ||
		bad "crash round $round: policy.json no longer valid"
	json_ok "$C/state.json" || bad "crash round $round: state.json is not JSON"
	"$CAPCTL" status >"$T/cstatus" 2>"$T/cerr" ||
		bad "crash round $round: status fails: $(head -c 300 "$T/cerr")"
	# token show on every token, four at a time: exit 0 or 1, a status
	# line, and never a decode or armor error.
	# shellcheck disable=SC2016 # the script expands in the child bash
	bad_tokens=$(printf '%s\0' "$C"/tokens/*.token | xargs -0 -n 40 -P 4 bash -c '
		for f; do
			out=$("$0" token show "$f" 2>&1)
			rc=$?
			if { [ $rc != 0 ] && [ $rc != 1 ]; } ||
				printf "%s\n" "$out" | grep -Eq "cannot decode|armor" ||
				! printf "%s\n" "$out" | grep -q "^status:"; then
				echo "$f"
			fi
		done' "$CAPCTL")
	if [ -z "$bad_tokens" ]; then ok; else
		bad "crash round $round: token files do not decode: $(echo "$bad_tokens" | tr '\n' ' ' | head -c 300)"
	fi
}

interrupted=0
for round in $(seq 1 15); do
	delay_ms=$((RANDOM % (span_ms + 5)))
	"$CAPCTL" issue --force >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	crash_check "$round"
	if grep -q "need attention" "$T/cstatus"; then
		interrupted=$((interrupted + 1))
	fi
done
echo "run.sh: $interrupted of 15 kills interrupted 'capctl issue --force'" >&2
expect 0 "crash: issue completes after the kills" issue
expect 0 "crash: status after recovery" status
out_has "all tokens are current" "crash: all current after recovery"
cserials=$(sed -n '/"tokens"/,$p' "$C/state.json" | sed -n 's/.*"serial": \([0-9]*\).*/\1/p')
check "crash: 303 token records" [ "$(echo "$cserials" | wc -l)" = 303 ]
check "crash: serials unique" [ "$(echo "$cserials" | sort -n | uniq -d | wc -l)" = 0 ]
check "crash: no temporaries left" [ -z "$(find "$C" -name '*.tmp.*')" ]

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
