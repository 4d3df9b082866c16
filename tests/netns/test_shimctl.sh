#!/usr/bin/env bash
# tests/netns/test_shimctl.sh - capshim's control socket cannot stall the
# data plane, and a restarted capshim never widens what it enforces.
#
#      C-host1 (bit 1)               C-host2 (bit 2)         C-host3 (bit 3)
#      grant host2,host3             grant: none             grant host1
#      capd (stopped, started)       :80                     :80
#      sshd: A (held open)
#      capshim <-- kill -9, restart with its own command line
#        ^  shim.sock <-- flood: status lines, never reads (a reconnecting loop)
#        |  sampler: a TCP connect to host2:80 every 5 ms, all must fail
#      +-+--------------------------------------------------------------+
#      |  C-sw: br0 (the underlay); `caplab ssh` logins start here      |
#      +----------------------------------------------------------------+
#   users: A reaches host1,host3 (host1 with A on it: mask 3).
#
#   1. A root client floods host1's control socket with status requests
#      and never reads its answers, reconnecting when dropped, for 8 s:
#      ping host1 -> host3 loses nothing, every curl both ways succeeds, a
#      login through capd (whose pushes share that socket) narrows host1
#      in time, and the flooder is dropped. (The socket is mode 0660 by
#      default: root and the control group only; the unit tests cover a
#      non-root client's limits.)
#   2. A on host1, capd stopped (unreachable), capshim killed -9 and
#      restarted: a sampler in host1 tries host2:80 every 5 ms through the
#      whole window and never connects, host2 sees no packet of host1's,
#      the restarted capshim holds mask 3 (resumed, unconfirmed). capd
#      started again confirms it; a second restart with capd running is
#      confirmed within a second (capd sees the socket appear). Once A
#      leaves, the same sampler connects (it can tell).
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/acceptance.json
L=$(lab_name c)

for need in capd pam_capd.so capshim; do
	[ -e "$CAPTUN_BIN/$need" ] || { not_ok "$CAPTUN_BIN/$need is needed (make)"; finish; }
done
command -v sshd >/dev/null || { not_ok "sshd is needed (make deps)"; finish; }

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L
HD=$D/hosts/host1
A2=$("$CAPLAB" addr "$L" host2)
A3=$("$CAPLAB" addr "$L" host3)
A1=$("$CAPLAB" addr "$L" host1)

mask() { jget "$(status "$L" "$1")" "d['mask']"; }
confirmed() { [ "$(jget "$(status "$L" host1)" "d['capability_confirmed']")" = true ]; }
curls() {	# FROM URL N OUT: N curls, one status line each
	local i
	for i in $(seq 1 "$3"); do
		inlab "$L" "$1" curl -s -o /dev/null -w '%{http_code}\n' -m 3 "$2" >>"$4" 2>/dev/null ||
			echo 000 >>"$4"
		sleep 0.1
	done
}

# ---- 1. a flooding control client that never reads --------------------------------
perm=$(stat -c %a "$HD/shim.sock")
check_eq "host1's control socket is mode 660 by default" "$perm" 660
grp=$(getent group captun >/dev/null && echo captun || echo root)
check_eq "... its group is $grp (captun if the system has it)" "$(stat -c %G "$HD/shim.sock")" "$grp"

python3 - "$HD/shim.sock" 8 >"$T_TMP/flood.out" 2>&1 <<'PY' &
import socket, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
line = b'{"cmd":"status"}\n' * 256
end, sent, conns = time.time() + secs, 0, 0
while time.time() < end:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        conns += 1
        s.setblocking(False)
        while time.time() < end:
            try:
                sent += s.send(line)
            except BlockingIOError:
                time.sleep(0.001)
    except OSError:
        time.sleep(0.01)
    finally:
        s.close()
print("flooder: %d bytes of requests over %d connections" % (sent, conns))
PY
FLOOD=$!
on_exit "kill $FLOOD"
sleep 0.5
inlab "$L" host1 ping -q -c 60 -i 0.1 -W 1 "$A3" >"$T_TMP/ping" 2>&1 &
P=$!
curls host1 "http://$A3/" 20 "$T_TMP/c13" &
C1=$!
curls host3 "http://$A1/" 20 "$T_TMP/c31" &
C2=$!
t0=$(ms_now)
if login_hold a1 "$L" host1 A; then ok "A logged in to host1 during the flood"; else
	not_ok "A's login to host1 during the flood"
	t_show "$T_TMP/a1.out"
fi
check "... and capd's push narrowed host1 to 3" wait_until 5 sh -c \
	"[ \"\$('$CAPLAB' shim '$L' host1 '{\"cmd\":\"status\"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"mask\"])')\" = 3 ]"
echo "# login and narrowing took $(($(ms_now) - t0)) ms"
wait "$P" "$C1" "$C2"
wait "$FLOOD"
t_show "$T_TMP/flood.out" 1
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$T_TMP/ping")
check_eq "ping host1 -> host3 through the flood: no loss" "$loss" 0
check_eq "curls host1 -> host3: all succeed" "$(grep -vc '^200$' "$T_TMP/c13")" 0
check_eq "curls host3 -> host1: all succeed" "$(grep -vc '^200$' "$T_TMP/c31")" 0
check_ge "the flooder was dropped for not reading" \
	"$(jget "$(status "$L" host1)" "d['control']['dropped']")" 1

# ---- 2. capshim killed and restarted while capd is unreachable ----------------------
check_eq "A on host1: mask 3" "$(mask host1)" 3
"$CAPLAB" capd "$L" host1 stop >/dev/null 2>&1
check_fails "capd stopped" "$CAPLAB" capd "$L" host1 '{"cmd":"status"}'
PID=$(capshim_pid "$L" host1)
if [ -z "$PID" ]; then
	not_ok "host1's capshim is not running"
	finish
fi
mapfile -d '' -t SHIM_CMD <"/proc/$PID/cmdline"
snapshot "$L" host2 "$T_TMP/h2a.json"

# The command line caplab used, in host1's namespace, not a job of ours;
# once the dead one's TUN device is gone (the kernel may take a moment).
restart_shim() {
	wait_until 5 sh -c "! ip -n '$L-host1' link show cap0" ||
		echo "# cap0 still there 5 s after capshim died"
	(ip netns exec "$L-host1" setsid "${SHIM_CMD[@]}" </dev/null >>"$HD/capshim.log" 2>&1 &
	 echo $! >"$HD/capshim.pid")
}

# sampler SECS OUT: a non-blocking connect to host2:80 every 5 ms; counts
# the attempts and the ones that connected.
sampler() {
	inlab "$L" host1 python3 - "$A2" "$1" <<'PY' >"$2" 2>&1
import errno, select, socket, sys, time
addr, secs = sys.argv[1], float(sys.argv[2])
end, tries, connected = time.time() + secs, 0, 0
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    tries += 1
    try:
        s.connect((addr, 80))
        connected += 1
    except BlockingIOError:
        if select.select([], [s], [], 0.005)[1] and \
           s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            connected += 1
    except OSError:
        pass
    s.close()
    time.sleep(0.005)
print("%d %d" % (tries, connected))
PY
}
sampler 5 "$T_TMP/sample1" &
S=$!
sleep 1
kill -9 "$PID"
wait_until 5 pid_gone "$PID"
restart_shim
if wait_until 10 "$CAPLAB" shim "$L" host1 '{"cmd":"ping"}'; then
	ok "capshim restarted (answers on its socket)"
else
	not_ok "capshim restarted (answers on its socket)"
	t_show "$HD/capshim.log"
fi
check_eq "restarted, capd away: host1 resumed mask 3" "$(mask host1)" 3
check_eq "... not confirmed by capd" "$(jget "$(status "$L" host1)" "d['capability_confirmed']")" false
check_eq "... from its last capability" \
	"$(jget "$(status "$L" host1)" "d['capability_origin']")" "the last capability, resumed"
wait "$S"
read -r tries conn <"$T_TMP/sample1"
check_ge "the sampler tried every ~5 ms over 5 s ($tries tries)" "${tries:-0}" 300
check_eq "no connect to host2 succeeded across the restart" "${conn:-x}" 0
snapshot "$L" host2 "$T_TMP/h2b.json"
check_eq "host2 received no packet of host1's" \
	"$(delta "$T_TMP/h2a.json" "$T_TMP/h2b.json" "$(peer_expr host1 rx_packets)")" 0

"$CAPLAB" capd "$L" host1 start >/dev/null 2>&1
check "capd back: it confirms host1's capability" wait_until 5 confirmed
check_eq "... still 3 with A on host1" "$(mask host1)" 3

# Restarted again with capd running: capd sees the socket appear and pushes.
PID=$(capshim_pid "$L" host1)
if [ -z "$PID" ]; then
	not_ok "host1's restarted capshim is not running"
	finish
fi
mapfile -d '' -t SHIM_CMD <"/proc/$PID/cmdline"
rm -f "$T_TMP/appear.out"
OLD_INO=$(stat -c %i "$HD/shim.sock")
kill -9 "$PID"
wait_until 5 pid_gone "$PID"
# From the moment the new socket appears (capshim listens; the dead one's
# socket file stays until then) to capd's push.
python3 - "$HD/shim.sock" "$OLD_INO" >"$T_TMP/appear.out" 2>&1 <<'PY' &
import json, os, socket, sys, time
path, old = sys.argv[1], int(sys.argv[2])
end = time.time() + 10
def ino():
    try:
        return os.stat(path).st_ino
    except OSError:
        return old
while ino() == old and time.time() < end:
    time.sleep(0.002)
t0 = time.time()
while time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(b'{"cmd":"status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(65536)
            if not c:
                break
            buf += c
        s.close()
        if json.loads(buf).get("capability_confirmed"):
            print(int((time.time() - t0) * 1000))
            sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
print("never")
PY
APPEAR=$!
restart_shim
wait "$APPEAR"
t=$(cat "$T_TMP/appear.out")
if [ "$t" != never ]; then
	check_lt "capd confirmed the restarted capshim within 1 s of its socket appearing ($t ms)" \
		"$t" 1000
else
	not_ok "capd never confirmed the restarted capshim"
	t_show "$HD/capd.log"
fi
check_grep "capd saw the socket appear" "socket .* appeared: pushing" "$HD/capd.log"

login_end a1
login_wait a1
check "A gone: host1 widens" wait_until 5 sh -c "[ \"\$('$CAPLAB' shim '$L' host1 '{\"cmd\":\"status\"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"mask\"])')\" = 2-3 ]"
sampler 1 "$T_TMP/sample2"
read -r tries conn <"$T_TMP/sample2"
check_gt "the sampler does see connects once host1 may reach host2 ($conn)" "${conn:-0}" 0
logs_clean "$L"
lab_down "$L"
finish
