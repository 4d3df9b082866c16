#!/usr/bin/env bash
# tests/netns/test_attach.sh - what only attach mode has, on a real mesh
# (wireguard-go unless CAPLAB_MESH says nebula), in a caplab lab of
# tests/policies/acceptance.json with capshim attached in every host:
#
#      T-host1 (bit 1)           T-host2 (bit 2)           T-host3 (bit 3)
#      grant host2,host3         grant: none               grant host1
#      capshim --attach wg0      capshim --attach wg0      capshim --attach wg0
#      (tcx in/egress on wg0, cgroup hooks on the cgroup2 root, this netns only)
#      wg0 10.77.0.2 fd77::2     wg0 10.77.0.3 fd77::3     wg0 10.77.0.4 fd77::4
#         |  ul0 10.99.0.2          |  ul0 10.99.0.3          |  ul0 10.99.0.4
#      +--+-------------------------+-------------------------+--+
#      |  T-sw: br0; wireguard-go (or nebula) between the ul0s    |
#      +---------------------------------------------------------+
#
#   0. capshim runs with no capability and no_new_privs; its helper
#      capshim-priv holds CAP_NET_ADMIN alone (and again after a restart,
#      which runs within the bounding set of captun-shim.service and its
#      attach drop-in, dist/systemd/captun-shim-attach.conf).
#   1. A's curl host1 -> host2 fails in under 50 ms (curl's time_total),
#      and host1's record names the process: pid, uid (A), comm curl, in
#      its log and in its flows.log (via bpf); host2's flows.log has the
#      report under the same flow id; capctl audit verify passes on both.
#   2. A TCP connection host1 -> host2 that is open when A logs in to
#      host1 is aborted at once (ECONNABORTED in the application).
#   3. capshim killed -9 on host1: the kernel keeps enforcing (refused
#      still, host3 still reached); a new capshim with the same command
#      line adopts the pinned links, never wider meanwhile (a curl loop
#      never gets through), and capd pushes A's capability to it again.
#   4. MTU: the stamp's 8 bytes are budgeted by a route per captun host
#      (ping -M do one byte over fails locally, at the route MTU works).
#   5. Bad input: no such interface; an MTU too small for the stamp; the
#      interface vanishing under a running capshim (wg-quick down): each a
#      one-line error, nothing left pinned.
#   6. A clean stop (SIGTERM) leaves the mesh exactly as it was before
#      capshim attached (link, addresses, routes, tc, wireguard config),
#      its links gone from the kernel and its pins from bpffs.
# meshes: nebula
. "$(dirname "$0")/lib.sh"

export CAPLAB_MESH=${CAPLAB_MESH:-wireguard-go}
POLICY=$NETNS_ROOT/tests/policies/acceptance.json
REFUSE_MS=50
ABORT_MS=1000
L=$(lab_name t)

for need in capd pam_capd.so capshim; do
	if [ ! -e "$CAPTUN_BIN/$need" ]; then
		not_ok "$CAPTUN_BIN/$need is needed (make)"
		finish
	fi
done

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L
HD=$D/hosts/host1
IF=$(jget "$(status "$L" host1)" "d['interface']")
H2=$("$CAPLAB" addr "$L" host2)
H3=$("$CAPLAB" addr "$L" host3)
PIN=$(jget "$(status "$L" host1)" "d['bpf_dir']")
check_eq "host1's capshim runs attached to $IF" "$(jget "$(status "$L" host1)" "d['mode']")" attach

# ---- 0. privileges: capshim keeps none, its helper CAP_NET_ADMIN alone -------------------
caps() { awk '/^CapEff|^CapPrm|^CapBnd/ {print $2}' "/proc/$1/status" 2>/dev/null | sort -u | tr '\n' ' '; }
nnp() { awk '/^NoNewPrivs/ {print $2}' "/proc/$1/status" 2>/dev/null; }
helper_of() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr ' ' '\n' |
	while read -r c; do [ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = capshim-priv ] && echo "$c"; done; }
# PID PREFIX [BOUND]: capshim without capabilities, one helper with
# CAP_NET_ADMIN (bit 12) only. Started with a bounding set (BOUND, setpriv's
# +name,... as a unit's CapabilityBoundingSet= gives it), capshim holds no
# CAP_SETPCAP to empty it: what is left must lie within BOUND, and with
# nothing permitted and no_new_privs nothing can be regained from it.
privs_ok() {
	local pid=$1 h bnd want=0
	h=$(helper_of "$pid")
	if [ -n "${3:-}" ]; then
		for c in ${3//,/ }; do
			want=$((want | 1 << ($(setpriv --list-caps | grep -nx "${c#+}" | cut -d: -f1) - 1)))
		done
		bnd=$((16#$(awk '/^CapBnd/ {print $2}' "/proc/$pid/status")))
		check_eq "$2capshim (pid $pid) holds no capability (CapEff/CapPrm)" \
			"$(awk '/^Cap(Eff|Prm)/ {print $2}' "/proc/$pid/status" | sort -u | tr '\n' ' ')" "0000000000000000 "
		check_eq "$2  ... its bounding set lies within the unit's ($3)" "$((bnd & ~want))" 0
	else
		check_eq "$2capshim (pid $pid, uid $(awk '/^Uid/ {print $2}' "/proc/$pid/status")) holds no capability (CapEff/CapPrm/CapBnd)" \
			"$(caps "$pid")" "0000000000000000 "
	fi
	check_eq "$2  ... and runs with no_new_privs" "$(nnp "$pid")" 1
	check_eq "$2  ... one helper, capshim-priv, with CAP_NET_ADMIN alone" \
		"$(awk '/^Cap(Eff|Prm)/ {print $2}' "/proc/$h/status" | sort -u | tr '\n' ' ')" "0000000000001000 "
	[ "$want" != 0 ] || want=$((0x1000))
	check_eq "$2  ... the helper's bounding set: CAP_NET_ADMIN at most (or the unit's)" \
		"$(($((16#$(awk '/^CapBnd/ {print $2}' "/proc/$h/status" 2>/dev/null || echo ffff))) & ~want))" 0
	check_eq "$2  ... the helper runs with no_new_privs" "$(nnp "$h")" 1
	check_eq "$2  ... the helper holds no descriptor but its socket and stdio" \
		"$(ls "/proc/$h/fd" 2>/dev/null | sort -n | tr '\n' ' ')" "2 3 "
}
privs_ok "$(cat "$HD/capshim.pid")" ""

curl_rc() { local rc=0; inlab "$L" "$1" curl -sS -m 3 -o /dev/null "$2" 2>/dev/null || rc=$?; echo "$rc"; }
log_lines() { wc -l <"$D/hosts/$1/capshim.log"; }
log_has() { tail -n +"$(($2 + 1))" "$D/hosts/$1/capshim.log" | grep -Eq -- "$3"; }
link_ids() { for f in "$PIN"/link_*; do bpftool link show pinned "$f" 2>/dev/null | sed -n 's/^\([0-9]*\):.*/\1/p'; done; }
mask() { jget "$(status "$L" host1)" "d['mask']"; }

# ---- 1. refused in under 50 ms, with the process named --------------------------------
L1=$(log_lines host1)
if login_hold a1 "$L" host1 A; then ok "A logged in to host1 (held open)"; else not_ok "A's login to host1"; fi
out=$("$CAPLAB" ssh "$L" host1 A -- curl -sS -m 5 -o /dev/null -w '%{time_total}' "http://$H2/" 2>/dev/null)
rc=$?
ms=$(python3 -c "print(int(float('${out:-9}') * 1000))")
check_eq "A's curl host1 -> host2: refused (curl exit 7)" "$rc" 7
check_lt "A's curl host1 -> host2: refused in under $REFUSE_MS ms (curl's time_total ${ms} ms)" "$ms" "$REFUSE_MS"
check "host1's record names the process: pid, uid $(id -u A) (A), comm curl" wait_until 2 log_has host1 "$L1" \
	"denied \(sender\) tcp 10\.77\.0\.2:[0-9]+ -> 10\.77\.0\.3:80 from host host1 to host host2 users \[A\] epoch [0-9]+: .*uid $(id -u A) pid [0-9]+ \(curl\)"
# the same refusal in the flow records: the sender's names the process, the
# receiver's (from host1's report over the mesh) carries the same flow id
flow_of() { # HOST SIDE VIA: the flow id of the last A-curl-to-host2:80 denial there
	python3 - "$D/hosts/$1/flows.log" "$2" "$3" "$(id -u A)" <<'PY' 2>/dev/null
import json, sys
path, side, via, uid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hit = ""
for line in open(path):
    r = json.loads(line)
    if (r.get("kind") == "denied" and r.get("side") == side and r.get("via") == via
            and r.get("src_host") == "host1" and r.get("dst_host") == "host2"
            and r.get("dport") == 80 and r.get("proto") == "tcp"):
        if side == "receiver" or (r.get("uid") == uid and r.get("user") == "A"
                                  and r.get("comm") == "curl" and r.get("pid", 0) > 0):
            hit = r["flow"]
print(hit)
PY
}
has_flow() { [ -n "$(flow_of "$@")" ]; }
check "host1's flows.log: the sender record, via bpf, with uid, user A, pid, comm curl" \
	wait_until 2 has_flow host1 sender bpf
FLOW=$(flow_of host1 sender bpf)
check "host2's flows.log: the receiver record of the report" wait_until 3 has_flow host2 receiver report
check_eq "  ... under the sender's flow id ($FLOW)" "$(flow_of host2 receiver report)" "${FLOW:-none}"
check "capctl audit verify passes on both hosts' flows.log" "$CAPTUN_BIN/capctl" audit verify \
	"$D/hosts/host1/flows.log" "$D/hosts/host2/flows.log"
login_end a1
login_wait a1 2>/dev/null
check "A gone: host1's mask is 2-3 again" wait_until 3 sh -c "[ \"\$($CAPLAB status $L host1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"mask\"])')\" = 2-3 ]"

# ---- 2. an open TCP connection cut when A logs in ----------------------------------------
inlab "$L" host2 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(1)
c, _ = s.accept(); c.sendall(b"hi")
time.sleep(60)' >/dev/null 2>&1 &
SRV=$!
on_exit "kill $SRV"
wait_until 5 inlab "$L" host2 sh -c "ss -Hltn | grep -q ':9000 '"
inlab "$L" host1 python3 -c '
import errno, socket, sys, time
c = socket.create_connection((sys.argv[1], 9000), timeout=5)
c.settimeout(30)
c.recv(2)
print("connected", flush=True)
try:
    c.recv(1)
    print("closed %d" % int(time.time() * 1000), flush=True)
except OSError as e:
    print("%s %d" % (errno.errorcode.get(e.errno, e.errno), int(time.time() * 1000)), flush=True)' "$H2" \
	>"$T_TMP/conn.out" 2>&1 &
CLI=$!
on_exit "kill $CLI"
check "host1 -> host2:9000 connected (before A logs in)" wait_until 5 grep -q connected "$T_TMP/conn.out"
if login_hold a2 "$L" host1 A; then ok "A logged in to host1 again"; else not_ok "A's second login"; fi
T_IN=$(ms_now)
check "the open connection is aborted (ECONNABORTED)" wait_until 3 grep -q ECONNABORTED "$T_TMP/conn.out"
t_abort=$(awk '$1 == "ECONNABORTED" {print $2}' "$T_TMP/conn.out")
check_lt "  ... within $ABORT_MS ms of the login's command running ($((${t_abort:-0} - T_IN)) ms)" \
	"$((${t_abort:-999999} - T_IN))" "$ABORT_MS"
check_ge "  ... counted (sock_destroyed)" "$(jget "$(status "$L" host1)" "d['counters']['sock_destroyed']")" 1

# ---- 3. capshim killed -9: the kernel keeps enforcing; a new one adopts -------------------
PID=$(cat "$HD/capshim.pid")
mapfile -d '' -t SHIM_CMD <"/proc/$PID/cmdline"
IDS=$(link_ids | sort | tr '\n' ' ')
check "host1's capshim has 6 links pinned ($IDS)" test "$(echo "$IDS" | wc -w)" = 6
inlab "$L" host1 sh -c "end=\$((\$(date +%s) + 30)); while [ \$(date +%s) -lt \$end ] && [ ! -e $T_TMP/loop.stop ]; do
	curl -s -m 1 -o /dev/null http://$H2/ && echo through || echo refused; sleep 0.05; done" >"$T_TMP/loop.out" 2>&1 &
LOOP=$!
on_exit "kill $LOOP"
kill -9 "$PID"
check "capshim killed -9" wait_until 5 pid_gone "$PID"
check_eq "capshim dead: curl host1 -> host2 still refused at once (exit 7)" "$(curl_rc host1 "http://$H2/")" 7
check_eq "capshim dead: curl host1 -> host3 still works" "$(curl_rc host1 "http://$H3/")" 0
check_eq "capshim dead: its links are still in the kernel" "$(link_ids | sort | tr '\n' ' ')" "$IDS"
# It starts with no more than the installed unit and attach mode's drop-in
# allow (their CapabilityBoundingSet= lines, as setpriv's bounding set).
UNIT_CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$NETNS_ROOT/dist/systemd/captun-shim.service.in" \
	"$NETNS_ROOT/dist/systemd/captun-shim-attach.conf" | tr ' ' '\n' | grep . |
	sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd, -)
nsenter --net="/run/netns/$L-host1" setsid setpriv --bounding-set="-all,$UNIT_CAPS" "${SHIM_CMD[@]}" \
	</dev/null >>"$HD/capshim.log" 2>&1 &
echo $! >"$HD/capshim.pid"
check "a new capshim with the same command line, bounded by the unit's capabilities ($UNIT_CAPS), answers" \
	wait_until 10 "$CAPLAB" shim "$L" host1 '{"cmd":"ping"}'
check_eq "  ... it adopted the pinned links" "$(jget "$(status "$L" host1)" "d['adopted']")" true
check_eq "  ... the same links (taken over, not re-attached)" "$(link_ids | sort | tr '\n' ' ')" "$IDS"
privs_ok "$(cat "$HD/capshim.pid")" "restarted: " "$UNIT_CAPS"
check "  ... capd pushed A's capability to it again (users A, mask 3)" wait_until 10 sh -c \
	"$CAPLAB status $L host1 | grep -q '\"users\": *\"A\"' && [ \"\$($CAPLAB status $L host1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"mask\"])')\" = 3 ]"
sleep 0.5
touch "$T_TMP/loop.stop"
wait "$LOOP" 2>/dev/null
check_eq "never wider: the curl loop never got through across kill and restart ($(grep -c refused "$T_TMP/loop.out") refused)" \
	"$(grep -c through "$T_TMP/loop.out")" 0
login_end a2
login_wait a2 2>/dev/null
check "A gone: host1 -> host2 works again" wait_until 5 sh -c "[ \"\$($CAPLAB exec $L host1 curl -s -m 1 -o /dev/null -w '%{http_code}' http://$H2/)\" = 200 ]"

# ---- 4. MTU: a route per captun host leaves room for the stamp ---------------------------
RMTU=$(jget "$(status "$L" host1)" "d['route_mtu']")
check "a route to host2 with MTU $RMTU (proto 235)" sh -c "ip -n $L-host1 route show $H2 proto 235 | grep -q 'mtu $RMTU'"
check "ping -M do at the route MTU ($RMTU) works" inlab "$L" host1 ping -c 1 -W 2 -M do -s $((RMTU - 28)) "$H2"
check_fails "ping -M do one byte over ($((RMTU + 1))) fails locally" inlab "$L" host1 ping -c 1 -W 2 -M do -s $((RMTU - 27)) "$H2"

# ---- 5. bad input: one-line errors, nothing left behind ------------------------------------
cp -a "$HD" "$T_TMP/h1"
rm -f "$T_TMP/h1/"*.sock
second() { # IFNAME: a second capshim from a copy of host1's directory
	timeout 30 nsenter --net="/run/netns/$L-host1" "$CAPTUN_BIN/capshim" --dir "$T_TMP/h1" --attach "$1" \
		--bpf-dir "/sys/fs/bpf/captun/$L-x" --control "$T_TMP/x.sock" --port 51999 --foreground
}
rc=0; second nosuch0 >"$T_TMP/err.out" 2>&1 || rc=$?
check_eq "no such interface: capshim exits 1" "$rc" 1
check_grep "  ... saying so in one line" "interface nosuch0 does not exist" "$T_TMP/err.out"
ip -n "$L-host1" tuntap add mode tun name tsmall
ip -n "$L-host1" link set tsmall mtu 580 up
rc=0; second tsmall >"$T_TMP/err.out" 2>&1 || rc=$?
check_eq "MTU 580: capshim exits 1" "$rc" 1
check_grep "  ... the MTU leaves no room for the stamp" "MTU 580 leaves no room for the 8-byte stamp" "$T_TMP/err.out"
check_fails "  ... nothing left pinned" test -e "/sys/fs/bpf/captun/$L-x"
ip -n "$L-host1" tuntap add mode tun name tgone
ip -n "$L-host1" link set tgone mtu 1420 up
second tgone >"$T_TMP/gone.out" 2>&1 &
GONE=$!
on_exit "kill $GONE"
check "a capshim attached to tgone" wait_until 10 test -e "/sys/fs/bpf/captun/$L-x/link_egress"
ip -n "$L-host1" link del tgone
rc=0
if wait_until 5 pid_gone "$GONE"; then wait "$GONE" || rc=$?; ok "tgone deleted: capshim stopped by itself"; else not_ok "tgone deleted: capshim still runs"; fi
check_eq "  ... exit status 1" "$rc" 1
check_grep "  ... saying the interface is gone" "interface tgone is gone" "$T_TMP/gone.out"
check_fails "  ... nothing left pinned" test -e "/sys/fs/bpf/captun/$L-x"

# ---- 6. a clean stop leaves the mesh as it was -------------------------------------------
IDS=$(link_ids | sort | tr '\n' ' ')
PID=$(cat "$HD/capshim.pid")
kill -TERM "$PID"
check "capshim stopped cleanly (SIGTERM)" wait_until 10 pid_gone "$PID"
"$CAPLAB" meshstate "$L" host1 >"$T_TMP/after.txt" 2>&1
if diff -u "$HD/mesh/before.txt" "$T_TMP/after.txt" >"$T_TMP/state.diff"; then
	ok "the mesh is exactly as before capshim attached (link, addresses, routes, tc, $CAPLAB_MESH config)"
else
	not_ok "the mesh differs from before capshim attached"
	t_show "$T_TMP/state.diff" 30
fi
gone=1
for id in $IDS; do bpftool link show id "$id" >/dev/null 2>&1 && gone=0; done
check_eq "its 6 links are gone from the kernel" "$gone" 1
check_fails "its pin directory is gone" test -e "$PIN"
logs_clean "$L"
finish
