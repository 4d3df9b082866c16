#!/usr/bin/env bash
# tests/netns/test_pam.sh - pam_capd.so alone: a real libpam (pamtester)
# loads the module, which talks to a fake capd (fakecapd.py); no lab.
#
#   private mount namespace (unshare -m), /dev a tmpfs with null, zero, ...
#   +------------------------------------------------------------------+
#   | pamtester -I rhost=.. -I tty=.. SERVICE A open_session close_session
#   |    |  /etc/pam.d/SERVICE: session required $BIN/pam_capd.so OPTS |
#   |    v                                                             |
#   | pam_capd.so --JSON line--> T/capd.sock: fakecapd.py (MODEFILE)   |
#   |    |                        requests appended to T/requests      |
#   |    +--syslog--> /dev/log: syslog catcher -> T/syslog             |
#   +------------------------------------------------------------------+
#
# SERVICE is captun-pt-<pid of this run>, written for each case and
# removed at exit. The module in the sanitizer build is built without
# sanitizers (it is loaded into programs without their runtime).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODULE=$CAPTUN_BIN/pam_capd.so
SERVICE=captun-pt-$$
PAMFILE=/etc/pam.d/$SERVICE
SOCK=$T_TMP/capd.sock
REQS=$T_TMP/requests
MODEFILE=$T_TMP/mode
SYSLOG=$T_TMP/syslog

if ! command -v pamtester >/dev/null || [ ! -f "$MODULE" ]; then
	not_ok "pamtester (make deps) and $MODULE (make) are needed"
	finish
fi

on_exit "rm -f '$PAMFILE'"
python3 "$NETNS_ROOT/tests/netns/fakecapd.py" "$SOCK" "$REQS" "$MODEFILE" &
FAKE=$!
on_exit "kill $FAKE"
wait_until 5 test -S "$SOCK" || { not_ok "fake capd did not start"; finish; }

# A syslog catcher bound at /dev/log of a private mount namespace, then
# pamtester with ARGS in that namespace. Prints pamtester's output.
cat >"$T_TMP/catch.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[2], "w").close()
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
EOF
cat >"$T_TMP/inns.sh" <<'EOF'
set -euo pipefail
T=$1; shift
mkdir -p "$T/olddev"
mount --bind /dev "$T/olddev"
mount -t tmpfs -o mode=755 none /dev
for d in null zero urandom random full tty; do
	touch "/dev/$d"
	mount --bind "$T/olddev/$d" "/dev/$d"
done
python3 "$T/catch.py" "$T/syslog" "$T/catch.ready" &
catcher=$!
trap 'kill $catcher 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -e "$T/catch.ready" ] && break; sleep 0.05; done
rm -f "$T/catch.ready"
rc=0
pamtester "$@" || rc=$?
sleep 0.1
exit $rc
EOF

# pam OPTIONS...: rewrites the service file with these module options.
pam() {
	echo "session required $MODULE $*" >"$PAMFILE"
}

# run USER OPS...: pamtester as USER with rhost and tty set; its output
# in $T_TMP/out, exit status returned. Requests and syslog start afresh.
run() {
	local user=$1
	shift
	: >"$REQS"
	: >"$SYSLOG"
	unshare -m --propagation private bash "$T_TMP/inns.sh" "$T_TMP" \
		-I rhost=10.99.255.254 -I tty=ssh "$SERVICE" "$user" "$@" >"$T_TMP/out" 2>&1
}

req() { python3 -c 'import json, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.loads(lines[int(sys.argv[2])])
print(eval(sys.argv[3]))' "$REQS" "$1" "$2" 2>/dev/null || echo "(no request $1)"; }
nreq() { grep -c . "$REQS" || true; }

# ---- capd accepts: open then close, by session id ----------------------
echo ok >"$MODEFILE"
pam "socket=$SOCK"
rc=0; run A open_session close_session || rc=$?
check_eq "accepted: pamtester succeeds" "$rc" 0
check_eq "accepted: two requests (open, close)" "$(nreq)" 2
check_eq "open request names user, service, tty, rhost" \
	"$(req 0 '"%s %s %s %s %s" % (d["cmd"], d["user"], d["service"], d["tty"], d["rhost"])')" \
	"open A $SERVICE ssh 10.99.255.254"
check_eq "open request carries a pid" "$(req 0 'type(d["pid"]).__name__ + str(d["pid"] > 1)')" "intTrue"
check_eq "close goes by the session id capd gave" "$(req 1 'json.dumps(d, sort_keys=True)')" \
	'{"cmd": "close", "session": 1}'
check_grep "syslog: open accepted, with user, service, rhost" \
	"pam_capd\\($SERVICE:session\\): open user=A service=$SERVICE rhost=10\\.99\\.255\\.254 tty=ssh pid=[0-9]+ result=accepted session=1 epoch=1 mask=1,3" "$SYSLOG"
check_grep "syslog: close logged" "close user=A .* result=closed session=1" "$SYSLOG"

echo strid >"$MODEFILE"
rc=0; run B open_session close_session || rc=$?
check_eq "string session ids: accepted" "$rc" 0
check_eq "string session ids go back as strings" \
	"$(req 1 'type(d["session"]).__name__ + " " + d["session"][:2]')" "str s-"

# ---- capd refuses: the login is refused ------------------------------------
echo refuse >"$MODEFILE"
rc=0; run C open_session || rc=$?
check_gt "refused: pamtester fails" "$rc" 0
check_grep "refused: PAM says the session cannot be made" "Cannot make/remove" "$T_TMP/out"
check_grep "syslog: refusal with capd's reason" \
	'open user=C service=.* result=refused reason="user C has no valid token"' "$SYSLOG"

# ---- capd broken or unreachable: on_error decides ---------------------------
for mode in garbage hangup; do
	echo "$mode" >"$MODEFILE"
	rc=0; run A open_session || rc=$?
	check_gt "capd answers $mode: refused by default" "$rc" 0
	check_grep "syslog: $mode logged as a capd error" "result=refused-capd-error" "$SYSLOG"
done

echo silent >"$MODEFILE"
pam "socket=$SOCK timeout=300"
t0=$(ms_now)
rc=0; run A open_session || rc=$?
t=$(($(ms_now) - t0))
check_gt "capd silent: refused" "$rc" 0
check_lt "capd silent: refused after the 300 ms timeout, not later" "$t" 2500
check_grep "syslog: the timeout named" "result=refused-capd-error reason=\"capd at .*: no answer in time\"" "$SYSLOG"

pam "socket=$T_TMP/nobody.sock"
rc=0; run A open_session close_session || rc=$?
check_gt "no capd: refused by default" "$rc" 0
check_eq "no capd: the session never opened" "$(grep -c 'result=accepted' "$SYSLOG" || true)" 0

pam "socket=$T_TMP/nobody.sock on_error=refuse"
rc=0; run A open_session || rc=$?
check_gt "no capd, on_error=refuse: refused" "$rc" 0

pam "socket=$T_TMP/nobody.sock on_error=allow timeout=500"
rc=0; run A open_session close_session || rc=$?
check_eq "no capd, on_error=allow: let in" "$rc" 0
check_grep "syslog: let in unrecorded, and why" \
	'open user=A .* result=allowed-unrecorded reason="capd at .*nobody.sock: No such file or directory"' "$SYSLOG"
check_grep "syslog: its close is skipped" "close user=A .* result=skipped" "$SYSLOG"

echo ok >"$MODEFILE"
pam "socket=$SOCK on_error=allow"
rc=0; run A open_session close_session || rc=$?
check_eq "capd up, on_error=allow: accepted and recorded" "$(nreq) $rc" "2 0"

# ---- option errors: a typo weakens nothing ----------------------------------
for opts in "on_eror=allow" "on_error=yes" "socket=relative" "timeout=0" "debug" \
	"on_error=allow on_error=refuse"; do
	if [[ $opts == socket=* ]]; then pam "$opts"; else pam "socket=$SOCK $opts"; fi
	rc=0; run A open_session || rc=$?
	check_gt "bad options '$opts': refused" "$rc" 0
	check_grep "bad options '$opts': PAM says module error" "Error in service module" "$T_TMP/out"
	check_eq "bad options '$opts': capd never asked" "$(nreq)" 0
	check_grep "bad options '$opts': logged" "open result=config-error reason=" "$SYSLOG"
done

# ---- names that would forge log fields stay one field ------------------------
pam "socket=$SOCK"
rc=0; run 'x result=accepted' open_session || rc=$?
check_eq "odd user name: accepted by the fake" "$rc" 0
check_grep "odd user name: logged as one field" "open user=x\\?result=accepted service=" "$SYSLOG"

finish
