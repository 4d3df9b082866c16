#!/usr/bin/env bash
# tests/netns/test_cut.sh - open connections end the moment the capability
# stops covering them, whichever host opened them (issue 11, item 7).
#
#      K-host1 (bit 1)           K-host2 (bit 2)          K-host3 (bit 3)
#      grant host2,host3         grant host1              grant host1
#      :9000 echo server         :9000 echo server        :9000 echo server
#        ^  \                      ^                        /
#        |   +------ client, a line every 100 ms ---------+  (per case)
#      +-+--------------------------------------------------------+
#      |  K-sw: br0 (the underlay); `caplab ssh` logins start here |
#      +----------------------------------------------------------+
#   users: A reaches host1,host3; D reaches host2,host3 (tests/policies/cut.json)
#
# Each pair below may reach each other both ways; each case opens a TCP
# connection from one host (the opener) to the other, then takes away the
# opener's right to reach the other, and both ends must see the connection
# reset within a second (the client and the server each log the moment
# recv fails, by a reset) of the revoke command, or of the login's push
# to capshim (capd's audit log, written once capshim answered: the cut may
# come a millisecond before it):
#   1. revoke, host3 opened to host1: capctl revoke host3 host1
#   2. revoke, host1 opened to host3: capctl revoke host1 host3
#   3. narrowing login, host1 opened to host2: A logs in on host1
#   4. narrowing login, host2 opened to host1: D logs in on host2
# and, as the rule says, a connection the *other* host opened survives a
# narrowing of the host that did not open it (its packets are replies):
#   5. host2 opened to host1, A logs in on host1: the echo goes on.
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/cut.json
CUT_MS=${CUT_MS:-1000}
L=$(lab_name k)

for need in capd pam_capd.so capshim; do
	[ -e "$CAPTUN_BIN/$need" ] || { not_ok "$CAPTUN_BIN/$need is needed (make)"; finish; }
done
command -v sshd >/dev/null || { not_ok "sshd is needed (make deps)"; finish; }

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L

# The echo server of each host: one line back per line, until the peer
# goes; it logs "server <peer port> <ms> <error>" when recv fails.
for h in host1 host2 host3; do
	inlab "$L" "$h" python3 - "$("$CAPLAB" addr "$L" "$h")" "$T_TMP/server-$h" <<'PY' &
import socket, sys, threading, time
addr, log = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, 9000))
srv.listen(8)
def serve(c, peer):
    err = "closed"
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
    except OSError as e:
        err = e.strerror
    with open(log, "a") as f:
        f.write("server %d %d %s\n" % (peer[1], time.time() * 1000, err.replace(" ", "_")))
end = time.time() + 300
srv.settimeout(1)
while time.time() < end:
    try:
        c, peer = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c, peer), daemon=True).start()
PY
	on_exit "kill $!"
done
for h in host1 host2 host3; do
	wait_until 10 inlab "$L" "$h" sh -c "ss -Hltn | grep -q ':9000 '" ||
		not_ok "no echo server on $h"
done

# client NAME FROM TO: a connection FROM -> TO:9000 writing a line every
# 100 ms and reading it back; logs "client <local port> <ms> <error>"
# when it fails, and "echo" after each line that came back.
client() {
	inlab "$L" "$2" python3 - "$("$CAPLAB" addr "$L" "$3")" "$T_TMP/client-$1" <<'PY' &
import socket, sys, time
addr, log = sys.argv[1], sys.argv[2]
s = socket.create_connection((addr, 9000), timeout=5)
port = s.getsockname()[1]
out = open(log, "a", buffering=1)
out.write("connected %d\n" % port)
err = "timeout"
end = time.time() + 60
try:
    while time.time() < end:
        s.sendall(b"x\n")
        if s.recv(16) == b"":
            err = "closed"
            break
        out.write("echo %d\n" % (time.time() * 1000))
        time.sleep(0.1)
except OSError as e:
    err = e.strerror or str(e)
out.write("client %d %d %s\n" % (port, time.time() * 1000, err.replace(" ", "_")))
PY
	on_exit "kill $!"
	wait_until 5 grep -q '^echo' "$T_TMP/client-$1"
}

# pushed_ms HOST USER: when HOST's capd last pushed a capability with USER
# behind it (its audit log), in ms since the epoch: when a login narrowed it.
pushed_ms() {
	python3 - "$D/hosts/$1/audit.log" "$2" <<'PY'
import datetime, json, sys
t = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "capability" and sys.argv[2] in e.get("users", "").split(","):
        t = e["time"]
d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(d.timestamp() * 1000))
PY
}

# cut NAME SERVER T0 WHAT: both ends of NAME's connection failed within
# CUT_MS of T0 (ms).
cut() {
	local name=$1 server=$2 t0=$3 what=$4 port tc ts
	if ! wait_until 5 grep -q '^client' "$T_TMP/client-$name"; then
		not_ok "$what: the client's connection still works 5 s later"
		return
	fi
	read -r _ port tc err <<<"$(grep '^client' "$T_TMP/client-$name")"
	check_lt "$what: the opener's end reset within $CUT_MS ms ($((tc - t0)) ms, $err)" \
		$((tc - t0)) "$CUT_MS"
	check_eq "$what: ... by a reset, not a time-out" "$err" Connection_reset_by_peer
	if wait_until 5 grep -q "^server $port " "$T_TMP/server-$server"; then
		ts=$(awk -v p="$port" '$1 == "server" && $2 == p {print $3}' "$T_TMP/server-$server")
		err=$(awk -v p="$port" '$1 == "server" && $2 == p {print $4}' "$T_TMP/server-$server")
		check_lt "$what: the other end reset within $CUT_MS ms ($((ts - t0)) ms, $err)" \
			$((ts - t0)) "$CUT_MS"
		check_eq "$what: ... by a reset, not a time-out" "$err" Connection_reset_by_peer
	else
		not_ok "$what: the other end ($server) never saw its connection end"
	fi
}

# ---- 1, 2: revokes ------------------------------------------------------------------
client c1 host3 host1
t0=$(ms_now)
check "caplab capctl revoke host3 host1" "$CAPLAB" capctl "$L" revoke host3 host1
cut c1 host1 "$t0" "revoke, host3 opened to host1"

client c2 host1 host3
t0=$(ms_now)
check "caplab capctl revoke host1 host3" "$CAPLAB" capctl "$L" revoke host1 host3
cut c2 host3 "$t0" "revoke, host1 opened to host3"

# ---- 3, 4: narrowing logins -----------------------------------------------------------
# From the moment the login narrowed the host (capd pushed), not from the
# start of the SSH login, which takes its own time.
client c3 host1 host2
client c5 host2 host1
if login_hold a1 "$L" host1 A; then ok "A logged in on host1"; else
	not_ok "A's login on host1"
	t_show "$T_TMP/a1.out"
fi
cut c3 host2 "$(pushed_ms host1 A)" "A's login, host1 opened to host2"
# 5. host2 opened to host1: host1's packets are replies, host2 still may.
n0=$(grep -c '^echo' "$T_TMP/client-c5")
sleep 1
check_gt "A's login: host2's connection to host1 goes on (replies)" \
	"$(($(grep -c '^echo' "$T_TMP/client-c5") - n0))" 3
check_fails "... and it was not cut" grep -q '^client' "$T_TMP/client-c5"

if login_hold d2 "$L" host2 D; then ok "D logged in on host2"; else
	not_ok "D's login on host2"
	t_show "$T_TMP/d2.out"
fi
cut c5 host1 "$(pushed_ms host2 D)" "D's login, host2 opened to host1"
login_end a1
login_end d2
login_wait a1
login_wait d2

snapshot "$L" host1 "$T_TMP/h1.json"
check_gt "host1 reset connections ($(jget "$(cat "$T_TMP/h1.json")" "d['conntrack']['reset']"))" \
	"$(jget "$(cat "$T_TMP/h1.json")" "d['conntrack']['reset']")" 0
logs_clean "$L"
lab_down "$L"
finish
