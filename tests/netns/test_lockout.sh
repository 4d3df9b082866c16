#!/usr/bin/env bash
# tests/netns/test_lockout.sh - no state of captun locks the admins out.
#
#    L-srv 192.0.2.1, overlay 10.77.0.1 (installed files, deploylib.sh)
#    capshim, capd, sshd with the pam_capd line; its own authority
#         |
#    +----+-----------------------------------------------+
#    |  L-sw: bridge br0 192.0.2.254; ssh logins from here |
#    +-----------------------------------------------------+
#
# Break-glass users: root (always) and group depwheel (captun.conf
# [capd] break-glass-groups), whose member is depops; depbob is a user
# with a valid token. In each of three states - the host's token
# expired, capd stopped, capshim stopped - root and depops get in (and
# the login is logged: capd's audit log, or pam_capd's LOG_ALERT line),
# and depbob is refused. While capd is stopped pam_capd isolates the host
# through capshim and leaves a marker; capd, started again, adopts the
# still-open break-glass session.
. "$(dirname "$0")/lib.sh"
DEP_TAG=l . "$(dirname "$0")/deploylib.sh"

if ! command -v faketime >/dev/null; then
	echo "SKIP: no faketime (make deps installs it): cannot sign an expired token"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

check "make install" dep_install
dep_bridge
check "server srv is up" srv_up srv 192.0.2.1
C=(srv srv capctl)
srv srv capctl init >/dev/null
srv srv capctl keygen >/dev/null
check "host add srv" "${C[@]}" host add srv --bit 1 --pub /var/lib/captun/host.pub --overlay 10.77.0.1
check "user add depbob" "${C[@]}" user add depbob --reach srv
check "host bundle" "${C[@]}" host bundle srv --out "$T_TMP/srv.bundle"
check "host join" "${C[@]}" host join "$T_TMP/srv.bundle"
srv srv sed -i 's/^break-glass-groups = .*/break-glass-groups = depwheel/' /etc/captun/captun.conf
check "captun.conf names the break-glass group" srv srv grep -qx 'break-glass-groups = depwheel' \
	/etc/captun/captun.conf
srv srv groupadd depwheel
check "user depops in group depwheel" srv_user srv depops -G depwheel
check "user depbob" srv_user srv depbob
srv srv sh -c "mkdir -p /root/.ssh && cp '$DEP_KEY.pub' /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys"
dep_pam_line srv
check "captun-shim" srv_unit srv captun-shim.service
check "captun-capd" srv_unit srv captun-capd.service
check "sshd" dep_sshd srv

AUDIT=$T_TMP/srv-srv/varlib/captun/audit.log
SYSLOG=$T_TMP/srv-srv/syslog
login_in() { ssh_as "$1" 192.0.2.1 echo in 2>&1 | grep -qx in; }
login_refused() { ! login_in "$1"; }
restart_units() {
	srv_unit_stop srv captun-capd.service
	srv_unit_stop srv captun-shim.service
	srv_unit srv captun-shim.service && srv_unit srv captun-capd.service
}

check "all well: depbob gets in" login_in depbob
check "all well: root gets in" login_in root

# ---- 1. the host's token has expired ------------------------------------------------
# signed 40 days ago for 30 days: what a host that was away too long holds
check "an expired token for srv (faketime)" srv srv faketime -f -40d capctl renew host:srv --validity 30
srv srv cp /etc/captun/tokens/host-srv.token /var/lib/captun/tokens/host-srv.token
expired_token() {
	srv srv capctl token show /var/lib/captun/tokens/host-srv.token \
		--authority /var/lib/captun/authority.pub | grep -q expired
}
check "the host's token now says expired" expired_token
check "capshim and capd still start (READY=1)" restart_units
check_grep "capd says the host is isolated" "no valid host token" "$T_TMP/srv-srv/captun-capd.service.log"
check "expired token: root gets in" login_in root
check "expired token: depops (group depwheel) gets in" login_in depops
check "expired token: depbob is refused" login_refused depbob
check_grep "expired token: root's login is in the audit log as break-glass" \
	'"event":"break_glass".*"user":"root".*"reason":"this host has no valid host token"' "$AUDIT"
check_grep "expired token: depops' login too, through the group" \
	'"event":"break_glass".*"user":"depops".*"who":"group depwheel"' "$AUDIT"
check_grep "expired token: capd logged BREAK-GLASS" 'BREAK-GLASS login of root' \
	"$T_TMP/srv-srv/captun-capd.service.log"
check_grep "expired token: depbob's refusal is in the audit log" \
	'"event":"login_refused".*"user":"depbob".*no valid host token' "$AUDIT"

# ---- 2. capd stopped --------------------------------------------------------------------
check "a valid token again (capctl renew)" "${C[@]}" renew host:srv
srv srv cp /etc/captun/tokens/host-srv.token /var/lib/captun/tokens/host-srv.token
check "restarted with the valid token" restart_units
check "valid token: depbob gets in again" login_in depbob
srv_unit_stop srv captun-capd.service
mkfifo "$T_TMP/fifo"
ssh_as root 192.0.2.1 sh -c 'echo in; read x' <"$T_TMP/fifo" >"$T_TMP/root.out" 2>&1 &
HOLD=$!
exec {HFD}>"$T_TMP/fifo"
check "capd stopped: root gets in (held open)" wait_until 15 grep -qx in "$T_TMP/root.out"
check "capd stopped: depops gets in" login_in depops
check "capd stopped: depbob is refused" login_refused depbob
check_grep "capd stopped: pam_capd logged root's break-glass login" \
	'pam_capd.*open user=root .*result=break-glass who="user root"' "$SYSLOG"
check_grep "... and isolated the host through capshim" 'isolation="host isolated through capshim"' "$SYSLOG"
check_grep "capd stopped: depbob's refusal is logged" 'pam_capd.*open user=depbob .*result=refused-capd-error' "$SYSLOG"
check_eq "capshim holds the isolated capability" \
	"$(srv srv capctl shim status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mask"])')" "-"
check "a marker for capd" srv srv sh -c 'ls /run/captun/break-glass/ | grep -q .'
check "capd starts again (READY=1)" srv_unit srv captun-capd.service
check "capd adopted root's open session" wait_until 5 grep -q \
	'"event":"break_glass".*"user":"root".*"who":"adopted"' "$AUDIT"
echo bye >&"$HFD"
exec {HFD}>&-
wait "$HOLD" 2>/dev/null

# ---- 3. capshim stopped ----------------------------------------------------------------
srv_unit_stop srv captun-shim.service
bg_before=$(grep -c '"event":"break_glass".*"user":"root"' "$AUDIT")
check "capshim stopped: root gets in" login_in root
check "capshim stopped: depbob is refused" login_refused depbob
check_eq "capshim stopped: root's login is audited as break-glass" \
	"$(grep -c '"event":"break_glass".*"user":"root"' "$AUDIT")" "$((bg_before + 1))"
check_grep "capshim stopped: depbob's refusal is audited" \
	'"event":"login_refused".*"user":"depbob".*capshim' "$AUDIT"
check "capshim back (READY=1)" srv_unit srv captun-shim.service
check "capshim back: depbob gets in again" wait_until 10 login_in depbob
bad=""
for f in "$T_TMP"/srv-*/captun-*.log; do
	grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" && bad="$bad $f"
done
check_eq "no sanitizer report in the daemons' logs" "$bad" ""
finish
