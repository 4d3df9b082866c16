#!/usr/bin/env bash
# tests/netns/test_login.sh - real SSH logins through PAM (pam_capd.so) and
# capd narrow a host's capability to the users on it (caplab labs).
#
# Lab L: tests/policies/acceptance.json plus two users made for this run:
# NEW (does not exist before; caplab creates it) and PRE (this test makes
# it before the lab, with a home of its own, which must come back as it was).
#
#      L-host1 (bit 1)         L-host2 (bit 2)         L-host3 (bit 3)
#      grant host2,host3       grant: none             grant host1
#      capshim, capd, sshd:22  capshim, capd, sshd:22  capshim, capd, sshd:22
#      cap0 10.77.0.2          cap0 10.77.0.3          cap0 10.77.0.4   overlay
#      ul0  10.99.0.2          ul0  10.99.0.3          ul0  10.99.0.4   underlay
#         |                       |                       |
#      +--+-----------------------+-----------------------+--+
#      |  L-sw: br0 10.99.255.254: `caplab ssh` starts here  |
#      +-----------------------------------------------------+
#
#   users: A reaches host1, host3; B everything; NEW like A; PRE everything.
#   sshd on HOST runs as caplab-L-HOST: PAM service /etc/pam.d/caplab-L-HOST,
#   whose pam_capd.so reports each login to HOST's capd.
#
# Lab K (tests/policies/pair.json's two hosts plus a user of its own) is
# crashed (every process killed, its directory removed) and must still be
# cleaned up by `caplab down`. Lab names come from lib.sh's lab_name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

POLICY3=$NETNS_ROOT/tests/policies/acceptance.json
POLICY2=$NETNS_ROOT/tests/policies/pair.json
USERDB=${CAPLAB_USERDB:-/var/lib/caplab/users}
L=$(lab_name l)
K=$(lab_name k)
NEW=${L}new		# unique to this run, like the lab names
PRE=${L}pre
KUSER=${K}u

for need in capd pam_capd.so capshim; do
	if [ ! -e "$CAPTUN_BIN/$need" ]; then
		not_ok "$CAPTUN_BIN/$need is needed (make)"
		finish
	fi
done
command -v sshd >/dev/null || { not_ok "sshd is needed (make deps)"; finish; }

# policy IN OUT USER=REACH...: IN with these users added.
policy() {
	python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
for u in sys.argv[3:]:
    name, reach = u.split("=")
    p.setdefault("users", {})[name] = {"reach": reach.split(",")}
json.dump(p, open(sys.argv[2], "w"), indent=1)' "$@"
}

# The state of a home: every path with mode, owner and content hash.
home_state() {
	local h; h=$(getent passwd "$1" | cut -d: -f6)
	(cd "$h" && find . -printf '%p %m %u %s ' -exec sh -c \
		'[ -f "$1" ] && md5sum <"$1" || echo' _ {} \; | sort)
}

# A user is gone, or still held by another live lab (labs run at once
# share users; the last one out removes it).
user_gone_or_shared() {
	! getent passwd "$1" >/dev/null && return 0
	[ -s "$USERDB/$1/labs" ] && ! grep -qxF "$CAPLAB_RUNDIR/$L" "$USERDB/$1/labs"
}

mask() { jget "$(status "$1" "$2")" "d['mask']"; }
mask_is() { [ "$(mask "$1" "$2")" = "$3" ]; }	# LAB HOST WANT (for wait_until)
users() { jget "$(status "$1" "$2")" "d['users']"; }
addr() { "$CAPLAB" addr "$1" "$2"; }
lssh() { "$CAPLAB" ssh "$@"; }

# ---- a user that exists before the lab ------------------------------------------
on_exit "userdel -r $PRE"
useradd -m -s /bin/bash "$PRE"
install -d -m 700 -o "$PRE" -g "$PRE" "/home/$PRE/.ssh"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBogusBogusBogusBogusBogusBogusBogusBogusBo pre@elsewhere" |
	install -m 600 -o "$PRE" -g "$PRE" /dev/stdin "/home/$PRE/.ssh/authorized_keys"
echo "mine" >"/home/$PRE/notes.txt"
PRE_BEFORE=$(home_state "$PRE")

policy "$POLICY3" "$T_TMP/policy.json" "$NEW=host1,host3" "$PRE=*"
t0=$(ms_now)
lab_up "$L" "$T_TMP/policy.json" || finish
echo "# caplab up with logins took $(($(ms_now) - t0)) ms"
D=$CAPLAB_RUNDIR/$L
H1=$(addr "$L" host1)
H2=$(addr "$L" host2)
H3=$(addr "$L" host3)

check "caplab created user $NEW" getent passwd "$NEW"
check "user A exists" getent passwd A
check "$NEW has a key its authorized_keys accepts" sh -c \
	"grep -qxF \"\$(cat /home/$NEW/.ssh/id_ed25519.pub)\" /home/$NEW/.ssh/authorized_keys"
check "each host has its PAM service with pam_capd.so and its capd socket" sh -c \
	"for h in host1 host2 host3; do grep -q \"^session *required *$CAPTUN_BIN/pam_capd.so socket=$D/hosts/\$h/capd.sock\$\" /etc/pam.d/caplab-$L-\$h || exit 1; done"
check "each sshd listens on port 22 of its overlay address, not of every address" sh -c \
	"for h in host1 host2 host3; do o=\$($CAPLAB addr $L \$h); l=\$($CAPLAB exec $L \$h ss -Hltn 'sport = :22');
	 echo \"\$l\" | grep -qF \"\$o:22\" && ! echo \"\$l\" | grep -qE '(0\.0\.0\.0|\[::\]|\*):22' || exit 1; done"

# ---- a login runs its command as the user -------------------------------------
out=$(lssh "$L" host1 A -- id -un 2>&1) || true
check_eq "caplab ssh as A into host1: id -un" "$out" "A"
out=$(lssh "$L" host2 "$NEW" -- id -un 2>&1) || true
check_eq "caplab ssh as $NEW (created by caplab) into host2" "$out" "$NEW"
out=$(lssh "$L" host3 "$PRE" -- id -un 2>&1) || true
check_eq "caplab ssh as $PRE (existed before) into host3" "$out" "$PRE"
rc=0; lssh "$L" host1 A -- sh -c 'exit 7' || rc=$?
check_eq "caplab ssh exits with the command's status" "$rc" 7
out=$(lssh "$L" host1 A -- printf '%s|' 'a b' "c'd" '$HOME' 2>&1) || true
check_eq "caplab ssh passes words unchanged" "$out" "a b|c'd|\$HOME|"

# ---- while A is logged in, host1's capability narrows ---------------------------
check_eq "nobody on host1: mask is host1's grant" "$(mask "$L" host1)" "2-3"
check_eq "nobody on host1: host1 -> host2 works" \
	"$(inlab "$L" host1 curl -sS -m 5 "http://$H2/" 2>&1)" "hello from host2"
lssh "$L" host1 A -- sleep 5 &
HOLD=$!
on_exit "kill $HOLD"
t0=$(ms_now)
if wait_until 5 mask_is "$L" host1 3; then
	ok "A logged in: host1's mask narrows to 3 (grant 2-3 AND A's 1,3)"
	echo "# narrowed $(($(ms_now) - t0)) ms after the login started"
else
	not_ok "A logged in: host1's mask narrows to 3 (is '$(mask "$L" host1)')"
	t_show "$D/hosts/host1/capd.log"
	t_show "$D/hosts/host1/sshd.log"
fi
check_eq "A logged in: capshim names A" "$(users "$L" host1)" "A"
list=$("$CAPLAB" capd "$L" host1 '{"cmd":"list"}' 2>&1) || true
check_eq "A logged in: capd lists A's session from sshd's PAM service" \
	"$(jget "$list" "[(s['user'], s['service'], s['rhost']) for s in d['sessions']]")" \
	"[[\"A\", \"caplab-$L-host1\", \"10.99.255.254\"]]"
t0=$(ms_now)
rc=0; out=$(inlab "$L" host1 curl -sS -m 5 "http://$H2/" 2>&1) || rc=$?
t=$(($(ms_now) - t0))
check_gt "A logged in: host1 -> host2 fails" "$rc" 0
check_lt "A logged in: ... at once (${t} ms)" "$t" 1500
rc=0; out=$(lssh "$L" host1 A -- curl -sS -m 5 "http://$H2/" 2>&1) || rc=$?
check_gt "A's own curl from host1 to host2 fails" "$rc" 0
out=$(inlab "$L" host1 curl -sS -m 5 "http://$H3/" 2>&1) || true
check_eq "A logged in: host1 -> host3 still works" "$out" "hello from host3"
rc=0; wait "$HOLD" || rc=$?
check_eq "A's held session ends by itself" "$rc" 0
t0=$(ms_now)
if wait_until 3 mask_is "$L" host1 2-3; then
	ok "A logged out: host1's mask is back to 2-3 ($(($(ms_now) - t0)) ms)"
else
	not_ok "A logged out: host1's mask is back to 2-3 (is '$(mask "$L" host1)')"
fi
check_eq "A logged out: host1 -> host2 works again" \
	"$(inlab "$L" host1 curl -sS -m 5 "http://$H2/" 2>&1)" "hello from host2"
check_eq "A logged out: capd lists no session" \
	"$(jget "$("$CAPLAB" capd "$L" host1 '{"cmd":"list"}')" "len(d['sessions'])")" 0

# ---- hops: A goes host1 -> host3 -> host2; B on host3 -> host2 ------------------
out=$(lssh "$L" host1 A -- ssh "$H3" id -un 2>&1) || true
check_eq "A hops host1 -> host3 over the overlay (ssh inside the session)" "$out" "A"
out=$(lssh "$L" host1 A -- ssh "$H3" curl -sS -m 5 "http://$H1/" 2>&1) || true
check_eq "A on host3 (via host1) reaches host1" "$out" "hello from host1"
rc=0; out=$(lssh "$L" host1 A -- ssh "$H3" curl -sS -m 5 "http://$H2/" 2>&1) || rc=$?
check "A host1 -> host3 -> host2: denied (curl fails, not the login)" \
	test "$rc" != 0 -a "$rc" != 255 -a "${out#*hello from host2}" = "$out"
rc=0; out=$(lssh "$L" host3 B -- curl -sS -m 5 "http://$H2/" 2>&1) || rc=$?
check "B on host3 -> host2: denied by host3's grant" \
	test "$rc" != 0 -a "${out#*hello from host2}" = "$out"

# ---- capd down: logins are refused, the command never runs -------------------
check "caplab capd stop host1" "$CAPLAB" capd "$L" host1 stop
MARK=$T_TMP/ran
rc=0; lssh "$L" host1 A -- touch "$MARK" >"$T_TMP/ssh.out" 2>&1 || rc=$?
# OpenSSH does not run a command whose PAM session did not open: 254.
check "capd stopped: the login is refused (ssh exits $rc)" test "$rc" -ne 0
check_fails "capd stopped: the command never ran" test -e "$MARK"
check_grep "capd stopped: sshd says PAM refused the session" \
	"PAM session setup failed|pam_open_session" "$D/hosts/host1/sshd.log"
check "caplab capd start host1" "$CAPLAB" capd "$L" host1 start
out=$(lssh "$L" host1 A -- id -un 2>&1) || true
check_eq "capd back: logins work again" "$out" "A"

for f in "$D"/hosts/*/capd.log; do
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
		not_ok "sanitizer report in $f"
		t_show "$f" 30
	fi
done
logs_clean "$L"

# ---- caplab down: users it made go, the one that existed stays as it was --------
lab_down "$L"
check_fails "after down: $NEW is gone" getent passwd "$NEW"
check_fails "after down: $NEW's home is gone" test -e "/home/$NEW"
check "after down: A is gone (or still held by another running lab)" user_gone_or_shared A
check "after down: $PRE still exists" getent passwd "$PRE"
check_eq "after down: $PRE's home is as it was before the lab" "$(home_state "$PRE")" "$PRE_BEFORE"
check_eq "after down: no PAM service of the lab is left" \
	"$(find /etc/pam.d -name "caplab-$L-*" | wc -l)" 0
check_eq "after down: no process of the lab is left" "$(procs_naming "$D/" | wc -l)" 0

# ---- a crashed lab is cleaned up too -------------------------------------------
policy "$POLICY2" "$T_TMP/policy2.json" "$KUSER=*"
if lab_up "$K" "$T_TMP/policy2.json" --no-offload; then
	check "lab $K: caplab created $KUSER" getent passwd "$KUSER"
	for n in $(ip netns list | awk '{print $1}' | grep "^$K-"); do
		for pid in $(ip netns pids "$n"); do kill -KILL "$pid" 2>/dev/null || true; done
	done
	rm -rf "${CAPLAB_RUNDIR:?}/$K"
	check "lab $K crashed (processes killed, directory gone): caplab down" "$CAPLAB" down "$K"
	check_fails "crashed lab $K: $KUSER is gone" getent passwd "$KUSER"
	check_eq "crashed lab $K: its PAM services are gone" \
		"$(find /etc/pam.d -name "caplab-$K-*" | wc -l)" 0
	check_eq "crashed lab $K: its namespaces are gone" \
		"$(ip netns list | grep -c "^$K-" || true)" 0
fi

finish
