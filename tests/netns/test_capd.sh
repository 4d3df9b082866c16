#!/usr/bin/env bash
# tests/netns/test_capd.sh - capd, the session daemon, driving a real
# capshim in a caplab lab (tests/policies/acceptance.json, --no-logins:
# this test starts capd itself and opens sessions over capd's socket).
#
#   X-host1 (bit 1)              X-host2 (bit 2)         X-host3 (bit 3)
#   grant host2,host3            grant: none             grant host1
#   capd --dir hosts/host1       capshim, http :80       capshim, http :80
#     |  --socket hosts/host1/capd.sock
#     v  --shim   hosts/host1/shim.sock
#   capshim, http :80
#      |                           |                       |
#   +--+---------------------------+-----------------------+--+
#   |              X-sw: bridge br0 (the underlay)             |
#   +----------------------------------------------------------+
#
#   users: A may reach host1,host3; B may reach every host. They are this
#   run's own (a-LAB, b-LAB: lib.sh's own_users; Unix accounts made here,
#   running nothing), so that no other lab's processes count: at every
#   close capd asks whether the user still runs anything on this host.
#
#   1. A's session (the pid of a `sleep`) narrows host1 to {host3} before
#      open returns: curl host1 -> host2 is refused at once (curl's own
#      time); closing it widens host1 again; killing the sleep makes capd
#      reap it within a second (capd's audit time).
#   2. kill -9 capd with sessions open, restart: the live session is back,
#      the one whose process died meanwhile is reaped, the mask stayed
#      narrow throughout; a second capd on the same directory is refused.
#   3. hostile input: malformed JSON, a 1 MiB line, an unknown verb, a
#      non-root peer opening: each refused, capd still serving.
#   4. 1,000 opens and closes in a row: each close ends its session (A runs
#      nothing here), none lost, audit chain intact.
#   5. publish: a grant published through capd widens A at once; deleting
#      A (its token revoked) isolates host1 while A is on.
#   6. --on-invalid isolate: a user without a token gets in, and host1 is
#      isolated (empty mask) until that user leaves.
. "$(dirname "$0")/lib.sh"

CAPDQ=$NETNS_ROOT/tests/netns/capdq.py
REFUSE_MS=1000
REAP_MS=1000
LOOPS=1000
LAB=$(lab_name c)
UA=$(own_user "$LAB" A)
UB=$(own_user "$LAB" B)
UC=$(own_user "$LAB" C)	# no token, no account
POLICY=$T_TMP/policy.json
own_users "$LAB" "$NETNS_ROOT/tests/policies/acceptance.json" "$POLICY"
for u in "$UA" "$UB"; do
	if id "$u" >/dev/null 2>&1; then
		not_ok "user $u already exists (not ours: left alone)"
		finish
	fi
	on_exit "userdel $u"
	useradd -M -N -s /usr/sbin/nologin "$u" || { not_ok "useradd $u"; finish; }
done

lab_up "$LAB" "$POLICY" --no-logins || finish
H1=$CAPLAB_RUNDIR/$LAB/hosts/host1
SOCK=$H1/capd.sock
LOG=$H1/capd-test.log
PIDF=$H1/capd-test.pid
H2_URL="http://$("$CAPLAB" addr "$LAB" host2)/"
H3_URL="http://$("$CAPLAB" addr "$LAB" host3)/"
SLEEPS=()

q() { python3 "$CAPDQ" "$SOCK" "$@"; }
capd_pid() { cat "$PIDF" 2>/dev/null; }
shim_field() { jget "$(status "$LAB" host1)" "d['$1']"; }
capd_field() { jget "$(q '{"cmd":"status"}')" "d['$1']"; }
nsessions() { jget "$(q '{"cmd":"list"}')" "len(d['sessions'])"; }
no_sessions() { [ "$(nsessions)" = 0 ]; }
open_req() { printf '{"cmd":"open","user":"%s","service":"test","tty":"pts/9","rhost":"192.0.2.7","pid":%s}' "$1" "$2"; }

start_capd() { # [CAPD OPTION...]
	rm -f "$PIDF"
	( "$CAPLAB" exec "$LAB" host1 -- "$CAPTUN_BIN/capd" --dir "$H1" --shim "$H1/shim.sock" \
		--socket "$SOCK" --pidfile "$PIDF" --foreground "$@" </dev/null >>"$LOG" 2>&1 & )
	wait_until 10 q '{"cmd":"status"}'
}

new_sleep() { # sets SP to a fresh `sleep 600`
	sleep 600 &
	SP=$!
	SLEEPS+=("$SP")
}

# curl from host1 to URL; prints "ok MS" or "refused MS", MS by curl's own
# clock (time_total), which a slow start of caplab exec does not stretch.
curl_h1() {
	local out rc=ok
	out=$(inlab "$LAB" host1 curl -sS -m 5 -o /dev/null -w '%{time_total}' "$1" 2>/dev/null) ||
		rc=refused
	echo "$rc $(awk -v s="$out" 'BEGIN { printf "%d", s * 1000 }')"
}
audit_off() { stat -c %s "$H1/audit.log"; }

on_exit 'kill $(capd_pid) 2>/dev/null; for p in "${SLEEPS[@]}"; do kill $p 2>/dev/null; done; rm -rf "$T_TMP/pub"'

############################################################ 1. sessions
check "capd starts and answers status" start_capd
check_eq "capd: no sessions at start" "$(nsessions)" 0
check_eq "host1's capshim mask with nobody on: host2,host3" "$(shim_field mask)" "2-3"
check_eq "capd runs with no capability" \
	"$(awk '/^CapEff|^CapPrm|^CapBnd/ {print $2}' "/proc/$(capd_pid)/status" | sort -u)" \
	"0000000000000000"
check_eq "capd runs with no_new_privs" "$(awk '/^NoNewPrivs/ {print $2}' "/proc/$(capd_pid)/status")" 1

new_sleep
ans=$(q "$(open_req "$UA" "$SP")")
check_eq "open A: ok" "$(jget "$ans" "d['ok']")" true
SID=$(jget "$ans" "d['session']")
check_eq "open A: the answer's mask is host3" "$(jget "$ans" "d['mask']")" 3
check_eq "open A: capshim's mask is host3 when open returns" "$(shim_field mask)" 3
check_eq "open A: capshim's users" "$(shim_field users)" "$UA"
read -r res ms <<<"$(curl_h1 "$H2_URL")"
check_eq "A on host1: curl host1 -> host2 refused" "$res" refused
check_lt "A on host1: refused at once (${ms} ms)" "$ms" "$REFUSE_MS"
read -r res ms <<<"$(curl_h1 "$H3_URL")"
check_eq "A on host1: curl host1 -> host3 works" "$res" ok
ans=$(q '{"cmd":"list"}')
check_eq "list: A's session with its fields" \
	"$(jget "$ans" "[(s['session'], s['user'], s['service'], s['tty'], s['rhost'], s['pid']) for s in d['sessions']]")" \
	"[[$SID, \"$UA\", \"test\", \"pts/9\", \"192.0.2.7\", $SP]]"
check_grep "capd.state records the session and its start time" "\"pid\":$SP,\"start_time\":[0-9]+" "$H1/capd.state"

ans=$(q "{\"cmd\":\"close\",\"session\":$SID}")
check_eq "close A: ok" "$(jget "$ans" "d['ok']")" true
check_eq "close A: capshim's mask is host2,host3 again" "$(shim_field mask)" "2-3"
read -r res ms <<<"$(curl_h1 "$H2_URL")"
check_eq "nobody on host1: curl host1 -> host2 works" "$res" ok
check_eq "close of a closed session: refused" "$(jget "$(q "{\"cmd\":\"close\",\"session\":$SID}")" "d['ok']")" false

ans=$(q "$(open_req "$UA" "$SP")")
check_eq "open A again: mask host3" "$(shim_field mask)" 3
off=$(audit_off)
t0=$(ms_now)
kill "$SP"
if ! wait_until 10 no_sessions; then
	not_ok "sleep killed: capd did not reap the session"
elif ! t=$(audit_ms "$H1/audit.log" "$off" session_reap user="$UA"); then
	not_ok "sleep killed: the session ended, but not by a session_reap"
else
	check_lt "sleep killed: capd reaped the session ($((t - t0)) ms after the kill, by capd's audit)" \
		"$((t - t0))" "$REAP_MS"
fi
check_eq "after the reap: capshim's mask host2,host3" "$(shim_field mask)" "2-3"
check_grep "audit: the reap is recorded" '"event":"session_reap".*"reason":"the session.s process exited"' "$H1/audit.log"

check_eq "open for a process that does not exist: refused" \
	"$(jget "$(q "$(open_req "$UA" 4194300)")" "d['ok']")" false
ans=$(q "$(open_req "$UC" "$$")")
check_eq "open for a user without a token: refused" "$(jget "$ans" "d['ok']")" false
check_grep "  ... saying why" "no valid token" <(echo "$ans")
check_grep "audit: the refused login is recorded" "\"event\":\"login_refused\",\"user\":\"$UC\"" "$H1/audit.log"

############################################################ 2. crash
new_sleep
SPA=$SP
SIDA=$(jget "$(q "$(open_req "$UA" "$SPA")")" "d['session']")
new_sleep
SPB=$SP
SIDB=$(jget "$(q "$(open_req "$UB" "$SPB")")" "d['session']")
check_eq "A and B on host1: mask host3" "$(shim_field mask)" 3
kill -9 "$(capd_pid)"
wait_until 5 pid_gone "$(capd_pid)"
check_eq "capd killed -9: capshim keeps the narrow mask" "$(shim_field mask)" 3
kill "$SPB"
wait_until 5 pid_gone "$SPB"
check "capd restarts" start_capd
check_eq "after the restart: A's session is back" \
	"$(jget "$(q '{"cmd":"list"}')" "[s['session'] for s in d['sessions']]")" "[$SIDA]"
check_eq "after the restart: mask still host3" "$(shim_field mask)" 3
"$CAPLAB" exec "$LAB" host1 -- timeout 10 "$CAPTUN_BIN/capd" --dir "$H1" --shim "$H1/shim.sock" \
	--socket "$H1/capd2.sock" --foreground >"$T_TMP/second.out" 2>&1
check_eq "a second capd on the same directory refuses to start" "$?" 1
check_grep "  ... saying another capd serves it" "another capd serves this directory" "$T_TMP/second.out"
check_eq "after the restart: capd's mask host3" "$(capd_field mask)" 3
check_grep "audit: B's session reaped at the restart" \
	"\"event\":\"session_reap\",\"session\":$SIDB,.*while capd was down" "$H1/audit.log"
read -r res ms <<<"$(curl_h1 "$H2_URL")"
check_eq "after the restart: curl host1 -> host2 still refused" "$res" refused
ans=$(q "$(open_req "$UA" "$SPA")")
check_gt "new ids continue after the restart" "$(jget "$ans" "d['session']")" "$SIDB"
check "close every session of A's process" q "{\"cmd\":\"close\",\"pid\":$SPA}"
check_eq "all closed: mask host2,host3" "$(shim_field mask)" "2-3"

############################################################ 3. hostile
ans=$(q '{"cmd":"open","user":' 2>/dev/null)
check_eq "malformed JSON: refused" "$(jget "$ans" "d['ok']")" false
check_grep "  ... as malformed" "malformed request" <(echo "$ans")
python3 "$CAPDQ" "$SOCK" --long $((1 << 20)) >"$T_TMP/long.out" 2>&1
check_eq "1 MiB line: refused, then served on the same connection" "$?" 0
check_grep "  ... as too long" "request line too long" "$T_TMP/long.out"
ans=$(q '{"cmd":"shutdown"}')
check_eq "unknown verb: refused" "$(jget "$ans" "d['ok']")" false
check_grep "  ... naming the known verbs" "known: open, close, list, status, publish" <(echo "$ans")
ans=$(q "{\"cmd\":\"open\",\"user\":\"$UA\",\"service\":\"x\",\"pid\":\"12\"}")
check_grep "wrong type: refused, naming the field" '"ok":false.*\\"pid\\"' <(echo "$ans")
mkdir -p "$T_TMP/pub"
chmod 711 "$T_TMP"
chmod 755 "$T_TMP/pub"
cp "$CAPDQ" "$T_TMP/pub/capdq.py"
if ln "$SOCK" "$T_TMP/pub/capd.sock" 2>"$T_TMP/ln.err"; then
	new_sleep
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$T_TMP/pub/capdq.py" \
		"$T_TMP/pub/capd.sock" "$(open_req "$UA" "$SP")" >"$T_TMP/nobody.out" 2>&1
	check_grep "non-root peer opening: permission denied" '"ok":false.*permission denied.*uid 65534' \
		"$T_TMP/nobody.out"
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$T_TMP/pub/capdq.py" \
		"$T_TMP/pub/capd.sock" '{"cmd":"status"}' >"$T_TMP/nobody.out" 2>&1
	check_eq "non-root peer: status is open to all" "$?" 0
	kill "$SP"
else
	not_ok "cannot link capd's socket where nobody can reach it: $(cat "$T_TMP/ln.err")"
fi
check_eq "after the hostile input: no session" "$(nsessions)" 0
check_eq "after the hostile input: capd still serving, mask host2,host3" "$(capd_field mask)" "2-3"

############################################################ 4. 1,000 sessions
new_sleep
lines_before=$(wc -l <"$H1/audit.log")
python3 "$CAPDQ" "$SOCK" --loop "$LOOPS" "$UA" "$SP" >"$T_TMP/loop.out" 2>&1
check_eq "$LOOPS opens and closes in a row: none failed" "$(jget "$(cat "$T_TMP/loop.out")" "d['failed']")" 0
echo "#   $LOOPS opens + closes took $(jget "$(cat "$T_TMP/loop.out")" "d['seconds']") s"
check_eq "after $LOOPS: session count back to 0" "$(nsessions)" 0
check_eq "after $LOOPS: audit has $((2 * LOOPS)) session lines" \
	"$(tail -n +$((lines_before + 1)) "$H1/audit.log" | grep -cE '"event":"session_(open|close)"')" \
	$((2 * LOOPS))
HEAD=$(capd_field audit_head)
chain=$(python3 - "$H1/audit.log" "$HEAD" <<'PY'
import hashlib, json, sys
prev = "0" * 64
n = 0
for line in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    n += 1
    if json.loads(line)["prev"] != prev:
        print("broken at line %d" % n); sys.exit()
    prev = hashlib.blake2b(line, digest_size=32).hexdigest()
print("ok" if prev == sys.argv[2] else "head differs")
PY
)
check_eq "audit chain valid (BLAKE2b-256, checked by Python) up to capd's head" "$chain" ok
check_eq "after $LOOPS: mask host2,host3" "$(shim_field mask)" "2-3"

############################################################ 5. publish
SIDP=$(jget "$(q "$(open_req "$UA" "$SP")")" "d['session']")
check_eq "A on again: mask host3" "$(shim_field mask)" 3
CAPTUN_CAPD=$SOCK "$CAPLAB" capctl "$LAB" grant "$UA" host2 >"$T_TMP/grant.out" 2>&1
check_eq "capctl grant A host2, published through capd" "$?" 0
check_grep "  ... capd accepted the new token" "accepted user-$UA serial" "$T_TMP/grant.out"
check_eq "A's wider grant in force at once: mask host2,host3" "$(shim_field mask)" "2-3"
check "  ... and spread by capshim to host3" wait_until 5 cmp -s \
	"$CAPLAB_RUNDIR/$LAB/admin/tokens/user-$UA.token" "$CAPLAB_RUNDIR/$LAB/hosts/host3/tokens/user-$UA.token"
CAPTUN_CAPD=$SOCK "$CAPLAB" capctl "$LAB" user del "$UA" >"$T_TMP/del.out" 2>&1
check_eq "capctl user del A, published" "$?" 0
check_eq "A's token revoked while A is on: host1 isolated" "$(capd_field isolated)" true
check_eq "  ... capshim's mask is empty" "$(shim_field mask)" "-"
q "{\"cmd\":\"close\",\"session\":$SIDP}" >/dev/null
check_eq "A gone: host1 not isolated, mask host2,host3" "$(shim_field mask)" "2-3"
ans=$("$CAPTUN_BIN/capctl" --dir "$CAPLAB_RUNDIR/$LAB/admin" publish --capd "$SOCK" 2>&1)
check_grep "capctl publish again: nothing new" "0 accepted" <(echo "$ans")

pid=$(capd_pid)
kill -TERM "$pid"
check "SIGTERM: capd stops" wait_until 5 pid_gone "$pid"
check_fails "SIGTERM: the socket is removed" test -e "$SOCK"

############################################################ 6. on-invalid isolate
check "capd restarts with --on-invalid isolate" start_capd --on-invalid isolate
ans=$(q "$(open_req "$UC" "$SP")")
check_eq "isolate: a user without a token gets in" "$(jget "$ans" "d['ok']")" true
check_eq "  ... and the host is isolated" "$(jget "$ans" "d['isolated']")" true
check_eq "  ... capshim's mask is empty when open returns" "$(shim_field mask)" "-"
read -r res ms <<<"$(curl_h1 "$H3_URL")"
check_eq "isolated: curl host1 -> host3 refused" "$res" refused
check "close C's session" q "{\"cmd\":\"close\",\"pid\":$SP}"
check_eq "C gone: mask host2,host3" "$(shim_field mask)" "2-3"

############################################################ the end
pid=$(capd_pid)
kill -TERM "$pid"
check "SIGTERM: capd stops again" wait_until 5 pid_gone "$pid"
if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$LOG"; then
	not_ok "sanitizer reports in capd's log"
	t_show "$LOG" 40
else
	ok "no sanitizer report in capd's log"
fi
logs_clean "$LAB"
finish
