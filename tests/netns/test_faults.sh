#!/usr/bin/env bash
# tests/netns/test_faults.sh - ARCHITECTURE.md's "Failure semantics: fail
# closed, lose nothing" with real SSH logins (sshd + PAM + pam_capd.so +
# capd) in a caplab lab of tests/policies/acceptance.json.
#
#      F-host1 (bit 1)            F-host2 (bit 2)          F-host3 (bit 3)
#      grant host2,host3          grant: none              grant host1
#      capd  <-- kill -9, restart capd                     capd
#      sshd: A [priv] <-- kill -9 sshd                     sshd
#      capshim (mask watched)     capshim                  capshim
#        ^ capctl grant/revoke (CAPTUN_CAPD = host1's capd) spread by the shims
#         |                          |                        |
#      +--+--------------------------+------------------------+--+
#      |  F-sw: br0 10.99.255.254; `caplab ssh` logins start here |
#      +---------------------------------------------------------+
#
#   users: A reaches host1,host3; B reaches every host.
#
#   1. kill -9 capd while A's session is open, restart it with the command
#      line caplab used (from /proc/PID/cmdline): the session is still
#      listed (same id, user, pid), host1's mask never left 3 (a watcher
#      polls capshim every 20 ms throughout), host1 -> host2 stays refused;
#      when the session ends, the mask widens again (nothing lost), within
#      a second of the logout reaching capd (capd's audit times).
#   2. kill -9 a session's privileged sshd (the pid capd lists for it)
#      while A's command runs: the session lingers, mask still narrow,
#      while any process of A remains on host1; once they are gone capd
#      closes it by itself within a second (capd's audit time against the
#      kill) and the mask is restored.
#   3. capd stopped: a login is refused (ssh exits non-zero) and its command
#      never ran (the file it would create does not exist); host1's mask is
#      left as it was. With capd back the same login runs its command.
#   4. `caplab capctl LAB grant host3 host2`, later `revoke`, published to
#      host1's capd and spread by capd and the shims with no file copied by
#      hand: host3 -> host2 works within a few seconds of the grant, is
#      refused after the revoke, and every host's revocation.list (and
#      host3's token) equals the authority's.
#
# The same on a mesh with capshim attached: capd's crash leaves the kernel
# enforcing, and grants and revokes travel over the mesh.
# meshes: wireguard-go nebula
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/acceptance.json
REAP_MS=1000		# a dead session closed within a second
WIDEN_MS=1000		# a session's end widens the mask within a second
SPREAD_S=5		# a grant or revoke in force everywhere within a few seconds
L=$(lab_name f)

for need in capd pam_capd.so capshim; do
	if [ ! -e "$CAPTUN_BIN/$need" ]; then
		not_ok "$CAPTUN_BIN/$need is needed (make)"
		finish
	fi
done
command -v sshd >/dev/null || { not_ok "sshd is needed (make deps)"; finish; }

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L
HD=$D/hosts/host1
U2="http://$("$CAPLAB" addr "$L" host2)/"
U3="http://$("$CAPLAB" addr "$L" host3)/"
U1="http://$("$CAPLAB" addr "$L" host1)/"

# ---- helpers ---------------------------------------------------------------------
mask() { jget "$(status "$L" "$1")" "d['mask']"; }
mask_is() { [ "$(mask "$1")" = "$2" ]; }
capdq() { "$CAPLAB" capd "$L" "$1" "$2"; }
sessions() { jget "$(capdq "$1" '{"cmd":"list"}')" "[[s['session'], s['user'], s['pid']] for s in d['sessions']]"; }
no_sessions() { [ "$(sessions "$1")" = "[]" ]; }
capd_pid() { cat "$HD/capd.pid" 2>/dev/null; }
AUDIT=$HD/audit.log
audit_off() { stat -c %s "$AUDIT"; }
curl_ok() { inlab "$L" "$1" curl -sf -m 1 -o /dev/null "$2"; }
curl_refused() { ! curl_ok "$@"; }
# curl exit status: 7 is a refused connection (not 28, a time-out)
curl_rc() { local rc=0; inlab "$L" "$1" curl -sS -m 5 -o /dev/null "$2" 2>/dev/null || rc=$?; echo "$rc"; }

# poll_ms BOUND_MS CMD...: polls CMD every 50 ms; prints the ms it took, or
# fails once BOUND_MS has passed.
poll_ms() {
	local t0 deadline bound=$1
	shift
	t0=$(ms_now)
	deadline=$((t0 + bound))
	while :; do
		if "$@" >/dev/null 2>&1; then
			echo $(($(ms_now) - t0))
			return 0
		fi
		[ "$(ms_now)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# The mask watcher: polls host1's capshim every 20 ms until STOP exists
# (90 s at most); prints {mask: times seen}.
watch_mask() {
	python3 - "$HD/shim.sock" "$T_TMP/watch.stop" <<'PY'
import json, os, socket, sys, time
sock, stop = sys.argv[1:3]
seen = {}
end = time.time() + 90
while not os.path.exists(stop) and time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(sock)
        s.sendall(b'{"cmd":"status"}\n')
        buf = b""
        while b"\n" not in buf:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        s.close()
        m = json.loads(buf)["mask"]
    except Exception as e:
        m = "error: %s" % e
    seen[m] = seen.get(m, 0) + 1
    time.sleep(0.02)
print(json.dumps(seen))
PY
}

# ---- 1. kill -9 capd with A's session open -----------------------------------------------
if login_hold a1 "$L" host1 A; then ok "A logged in to host1 (held open)"; else
	not_ok "A's login to host1"
	t_show "$T_TMP/a1.out"
fi
check_eq "A on host1: mask 3" "$(mask host1)" 3
BEFORE=$(sessions host1)
check_eq "capd lists A's one session" "$(jget "$BEFORE" "[s[1] for s in d]")" '["A"]'
PID=$(capd_pid)
check_eq "capd's pid file names capd" "$(cat "/proc/$PID/comm" 2>/dev/null)" capd
mapfile -d '' -t CAPD_CMD <"/proc/$PID/cmdline"
echo "# capd's command line: ${CAPD_CMD[*]}"
watch_mask >"$T_TMP/watch.out" 2>&1 &
WATCH=$!
on_exit "kill $WATCH"
sleep 0.2
kill -9 "$PID"
check "capd killed -9" wait_until 5 pid_gone "$PID"
sleep 0.5
check_eq "capd dead: host1's mask is still 3" "$(mask host1)" 3
check_eq "capd dead: curl host1 -> host2 still refused at once (curl exit 7)" "$(curl_rc host1 "$U2")" 7
check_eq "capd dead: host2 still sees A on host1" "$(peer "$L" host2 host1 users)" A
# The same command line, in host1's namespace; capd replaces the stale socket.
ip netns exec "$L-host1" setsid "${CAPD_CMD[@]}" </dev/null >>"$HD/capd.log" 2>&1 &
echo $! >"$HD/capd.pid"
check "capd restarted with the same command line answers" wait_until 10 capdq host1 '{"cmd":"status"}'
check_eq "restarted capd: the pid file names capd" "$(cat "/proc/$(capd_pid)/comm" 2>/dev/null)" capd
check_eq "restarted capd: A's session is still listed (same id, user, pid)" "$(sessions host1)" "$BEFORE"
check_eq "restarted capd: its mask is 3" "$(jget "$(capdq host1 '{"cmd":"status"}')" "d['mask']")" 3
check_eq "restarted capd: host1's mask is 3" "$(mask host1)" 3
check_eq "restarted capd: curl host1 -> host2 still refused (curl exit 7)" "$(curl_rc host1 "$U2")" 7
sleep 0.3
touch "$T_TMP/watch.stop"
wait "$WATCH"
check_eq "host1's mask never left 3 across the crash and restart (watched every 20 ms)" \
	"$(jget "$(cat "$T_TMP/watch.out")" "sorted(d)")" '["3"]'
echo "#   watcher: $(cat "$T_TMP/watch.out")"
SID=$(jget "$BEFORE" "d[0][0]")
off=$(audit_off)
login_end a1
# The logout reaches capd as a close (session_close, or session_linger for
# a tick while A's sshd child exits); the capability follows its end.
if ! wait_until 10 mask_is host1 2-3; then
	not_ok "A's session ends: host1's mask still '$(mask host1)' 10 s after the logout"
elif ! t1=$(audit_ms "$AUDIT" "$off" session_close session="$SID" reason="closed by request") &&
	! t1=$(audit_ms "$AUDIT" "$off" session_linger session="$SID" reason="closed by request"); then
	not_ok "A's session ends: the restarted capd recorded no close of session $SID"
elif ! t2=$(audit_ms "$AUDIT" "$off" capability mask=2-3); then
	not_ok "A's session ends: the restarted capd recorded no capability 2-3"
else
	check_lt "A's session ends: host1's mask widens to 2-3 ($((t2 - t1)) ms after capd got the logout, capd's audit)" \
		"$((t2 - t1))" "$WIDEN_MS"
fi
check "A's session ends: the restarted capd lists no session" wait_until 10 no_sessions host1
check "A's session ends: curl host1 -> host2 works" curl_ok host1 "$U2"
check_grep "audit: the restarted capd recorded the end of A's session" \
	"\"event\":\"session_(close|reap)\",\"session\":$SID," "$HD/audit.log"
login_wait a1 2>/dev/null

# ---- 2. kill -9 a session's sshd ---------------------------------------------------
if login_hold a2 "$L" host1 A; then ok "A logged in to host1 again (held open)"; else not_ok "A's second login"; fi
check_eq "A on host1: mask 3" "$(mask host1)" 3
SPID=$(jget "$(sessions host1)" "d[0][2]")
SID=$(jget "$(sessions host1)" "d[0][0]")
check_grep "the session's pid is its privileged sshd" "^caplab-$L-host1: A \[priv\]" \
	<(tr '\0' ' ' <"/proc/$SPID/cmdline" 2>/dev/null)
off=$(audit_off)
kill -9 "$SPID"
# OpenSSH's privilege separation: A's command (and the unprivileged sshd
# child) outlive the monitor capd watches. Closing the session now would
# widen host1 under A's running code, so it must linger until A's
# processes are gone.
a_procs() { for p in $(ip netns pids "$L-host1"); do
	[ "$(stat -c %U "/proc/$p" 2>/dev/null)" = A ] && echo "$p"; done; }
lingers() { audit_ms "$AUDIT" "$1" session_linger session="$SID"; }
check "sshd killed -9: capd saw its process end, and keeps the session" wait_until 10 lingers "$off"
check "sshd killed -9: A's command still runs on host1" test -n "$(a_procs)"
check_eq "sshd killed -9: capd keeps A's session while A's processes run" \
	"$(jget "$(capdq host1 '{"cmd":"list"}')" "[[s['session'], s['lingering']] for s in d['sessions']]")" "[[$SID, true]]"
check_eq "sshd killed -9: host1's mask stays 3" "$(mask host1)" 3
check "sshd killed -9: curl host1 -> host2 still refused" curl_refused host1 "$U2"
off=$(audit_off)
t0=$(ms_now)
for p in $(a_procs); do kill -9 "$p" 2>/dev/null; done
if ! wait_until 10 no_sessions host1; then
	not_ok "A's processes gone: capd still lists $(sessions host1) 10 s later"
elif ! t=$(audit_ms "$AUDIT" "$off" session_reap session="$SID"); then
	not_ok "A's processes gone: the session ended, but capd recorded no session_reap"
else
	check_lt "A's processes gone: capd closed the session by itself ($((t - t0)) ms after the kill, capd's audit)" \
		"$((t - t0))" "$REAP_MS"
fi
check "A's processes gone: host1's mask restored to 2-3" wait_until 10 mask_is host1 2-3
check "A's processes gone: curl host1 -> host2 works" curl_ok host1 "$U2"
check "A's processes gone: host2 sees host1 reach it again" \
	wait_until 3 sh -c "[ \"\$($CAPLAB status $L host2 | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)[\"peers\"] if p[\"name\"]==\"host1\"][0][\"reaches_us\"])')\" = True ]"
check_grep "audit: capd recorded the reap" "\"event\":\"session_reap\",\"session\":$SID," "$HD/audit.log"
login_end a2		# A's command ends: the rest of the session goes
rc=0
login_wait a2 || rc=$?
check "sshd killed -9: A's ssh client has ended (exit $rc)" test "$rc" -ne 124

# ---- 3. capd stopped: logins are refused --------------------------------------------------
# The command would create a file where A may write: it must never exist.
chmod 711 "$T_TMP"
mkdir -m 1777 "$T_TMP/w"
MARK=$T_TMP/w/ran
check "caplab capd stop host1" "$CAPLAB" capd "$L" host1 stop
check "capd stopped: it is gone" wait_until 5 pid_gone "$(capd_pid)"
rc=0
"$CAPLAB" ssh "$L" host1 A -- touch "$MARK" >"$T_TMP/refused.out" 2>&1 || rc=$?
check "capd stopped: A's login is refused (ssh exit $rc)" test "$rc" -ne 0
check_fails "capd stopped: the login's command never ran ($MARK absent)" test -e "$MARK"
check_grep "capd stopped: sshd logged the refused PAM session" \
	"PAM session setup failed|pam_open_session" "$HD/sshd.log"
rc=0
"$CAPLAB" ssh "$L" host1 B -- touch "$MARK" >>"$T_TMP/refused.out" 2>&1 || rc=$?
check "capd stopped: B's login is refused too (ssh exit $rc)" test "$rc" -ne 0
check_fails "capd stopped: B's command never ran" test -e "$MARK"
check_eq "capd stopped: host1's mask is left as it was (2-3)" "$(mask host1)" 2-3
check "caplab capd start host1" "$CAPLAB" capd "$L" host1 start
rc=0
"$CAPLAB" ssh "$L" host1 A -- touch "$MARK" >>"$T_TMP/refused.out" 2>&1 || rc=$?
check_eq "capd back: the same login runs (exit status)" "$rc" 0
check "capd back: its command ran ($MARK exists)" test -e "$MARK"
check "capd back: no session left" wait_until 10 no_sessions host1

# ---- 4. grant and revoke through capd, spread by the shims --------------------------------
check_eq "before: host3 -> host2 refused (curl exit 7)" "$(curl_rc host3 "$U2")" 7
if "$CAPLAB" capctl "$L" grant host3 host2 >"$T_TMP/grant.out" 2>&1; then
	ok "caplab capctl grant host3 host2 (published to host1's capd)"
else
	not_ok "caplab capctl grant host3 host2"
	t_show "$T_TMP/grant.out"
fi
check_grep "  ... capd accepted the new host3 token" "accepted host-host3" "$T_TMP/grant.out"
if ms=$(poll_ms $((SPREAD_S * 1000)) curl_ok host3 "$U2"); then
	ok "after the grant: host3 -> host2 works ($ms ms)"
else
	not_ok "after the grant: host3 -> host2 does not work within $SPREAD_S s"
	if ms=$(poll_ms 30000 curl_ok host3 "$U2"); then
		echo "#   (it worked $((SPREAD_S * 1000 + ms)) ms after the grant)"
	fi
fi
check_eq "after the grant: host3's mask is 1-2" "$(mask host3)" 1-2
for h in host1 host2 host3; do
	check "after the grant: $h's revocation.list is the authority's" \
		wait_until "$SPREAD_S" cmp -s "$D/admin/revocation.list" "$D/hosts/$h/revocation.list"
	check "after the grant: $h holds the authority's host3 token" \
		wait_until "$SPREAD_S" cmp -s "$D/admin/tokens/host-host3.token" "$D/hosts/$h/tokens/host-host3.token"
done
if "$CAPLAB" capctl "$L" revoke host3 host2 >"$T_TMP/revoke.out" 2>&1; then
	ok "caplab capctl revoke host3 host2"
else
	not_ok "caplab capctl revoke host3 host2"
	t_show "$T_TMP/revoke.out"
fi
if ms=$(poll_ms $((SPREAD_S * 1000)) curl_refused host3 "$U2"); then
	ok "after the revoke: host3 -> host2 refused ($ms ms)"
else
	not_ok "after the revoke: host3 -> host2 still works after $SPREAD_S s"
fi
check_eq "after the revoke: refused at once (curl exit 7)" "$(curl_rc host3 "$U2")" 7
check "after the revoke: host3's mask is 1" wait_until "$SPREAD_S" mask_is host3 1
for h in host1 host2 host3; do
	check "after the revoke: $h's revocation.list is the authority's" \
		wait_until "$SPREAD_S" cmp -s "$D/admin/revocation.list" "$D/hosts/$h/revocation.list"
	check "after the revoke: $h holds the authority's host3 token" \
		wait_until "$SPREAD_S" cmp -s "$D/admin/tokens/host-host3.token" "$D/hosts/$h/tokens/host-host3.token"
done
check "after the revoke: host3 -> host1 works" wait_until "$SPREAD_S" curl_ok host3 "$U1"
check "after the revoke: host1 -> host3 works" wait_until "$SPREAD_S" curl_ok host1 "$U3"

# ---- the end ---------------------------------------------------------------
for f in "$D"/hosts/*/capd.log; do
	if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$f"; then
		not_ok "sanitizer report in $f"
		t_show "$f" 30
	fi
done
logs_clean "$L"
finish
