#!/usr/bin/env bash
# tests/netns/test_tunnel.sh - capshim end to end, with real TUN devices,
# veth underlays and real ping, curl and iperf3 (caplab labs).
#
# Lab A, two hosts (a policy written here): host1 <-> host2, both allowed.
#
#      A-host1 (bit 1)                    A-host2 (bit 2)
#      cap0 10.77.0.2 fd77::2   overlay   cap0 10.77.0.3 fd77::3
#      ul0  10.99.0.2 fd99::2   underlay  ul0  10.99.0.3 fd99::3
#         |                                  |
#      +--+----------------------------------+--+
#      |   A-sw: bridge br0 (UDP port 51900)     |
#      +-----------------------------------------+
#
# Labs B, C, D: three hosts, tests/policies/acceptance.json.
#
#      X-host1 (bit 1)         X-host2 (bit 2)         X-host3 (bit 3)
#      grant host2,host3       grant: none             grant host1
#      cap0 10.77.0.2 fd77::2  cap0 10.77.0.3 fd77::3  cap0 10.77.0.4 fd77::4
#      ul0  10.99.0.2 fd99::2  ul0  10.99.0.3 fd99::3  ul0  10.99.0.4 fd99::4
#      capshim, http :80       capshim, http :80       capshim, http :80
#         |                       |                       |
#      +--+-----------------------+-----------------------+--+
#      |            X-sw: bridge br0 (the underlay)           |
#      +------------------------------------------------------+
#
#   B  normal:  1->2, 1->3, 3->1 work; 2->1 and 3->2 refused at the sender
#   C  rogue:   host2 runs --test-skip-sender-check; host1 refuses 2->1
#   D  strict:  --strict; 1->2 fails (host2's replies judged by host2's
#               empty grant); then SIGTERM to a capshim and `caplab down`
#
# Lab names come from lib.sh's lab_name (unique per run).
. "$(dirname "$0")/lib.sh"

POLICY3=$NETNS_ROOT/tests/policies/acceptance.json
REFUSE_MS=1000		# "at once", wall clock with process start (timeouts are 2-5 s)

addr() { "$CAPLAB" addr "$1" "$2" ${3:+-6}; }

# url LAB HOST [6]
url() {
	if [ -n "${3:-}" ]; then echo "http://[$(addr "$1" "$2" 6)]/"; else
		echo "http://$(addr "$1" "$2")/"
	fi
}

# talk LAB FROM TO: ping and curl over the overlay, IPv4 and IPv6.
talk() {
	local lab=$1 from=$2 to=$3 v six body
	for v in 4 6; do
		six=; [ $v = 6 ] && six=6
		check "$lab: $from -> $to ping over IPv$v" \
			inlab "$lab" "$from" ping -c 2 -i 0.2 -W 2 "$(addr "$lab" "$to" $six)"
		body=$(inlab "$lab" "$from" curl -sS -m 5 "$(url "$lab" "$to" $six)" 2>&1)
		check_eq "$lab: $from -> $to curl over IPv$v" "$body" "hello from $to"
	done
}

# iperf LAB FROM TO [6]: a 2-second TCP run from FROM to TO.
iperf() {
	local lab=$1 from=$2 to=$3 six=${4:-} a pid bps
	a=$(addr "$lab" "$to" $six)
	inlab "$lab" "$to" timeout 20 iperf3 -s -1 -B "$a" >"$T_TMP/iperf-s.out" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	if ! wait_until 5 inlab "$lab" "$to" sh -c "ss -Hltn | grep -q ':5201 '"; then
		not_ok "$lab: iperf3 server on $to did not start"
		return
	fi
	inlab "$lab" "$from" iperf3 -c "$a" -t 2 -J >"$T_TMP/iperf.json" 2>&1
	bps=$(python3 -c 'import json, sys
print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
		"$T_TMP/iperf.json" 2>/dev/null)
	check_gt "$lab: $from -> $to iperf3 TCP for 2 s over IPv${six:-4}" "${bps:-0}" 0
	[ -n "$bps" ] && echo "#   $((bps / 1000000)) Mbit/s"
	wait "$pid" 2>/dev/null
}

# refused LAB FROM TO: refused at once at the sender, counted at both ends.
refused() {
	local lab=$1 from=$2 to=$3 rc t0 el out tt
	snapshot "$lab" "$from" "$T_TMP/from0.json"
	snapshot "$lab" "$to" "$T_TMP/to0.json"
	t0=$(ms_now)
	tt=$(inlab "$lab" "$from" curl -sS -m 5 -o /dev/null -w '%{time_total}' \
		"$(url "$lab" "$to")" 2>"$T_TMP/curl.err")
	rc=$?
	el=$(($(ms_now) - t0))
	snapshot "$lab" "$from" "$T_TMP/from1.json"
	snapshot "$lab" "$to" "$T_TMP/to1.json"
	check_eq "$lab: $from -> $to curl refused with a connection error (exit 7)" "$rc" 7
	check "$lab: ... at once: curl's own time ${tt}s < 0.5s" \
		python3 -c "import sys; sys.exit(not float('$tt') < 0.5)"
	check_lt "$lab: ... and curl, started in the namespace, exits within (ms)" \
		"$el" "$REFUSE_MS"
	check_ge "$lab: $from counts drops.tx_denied" \
		"$(delta "$T_TMP/from0.json" "$T_TMP/from1.json" "d['drops']['tx_denied']")" 1
	check_ge "$lab: $from counts tx_denied for peer $to" \
		"$(delta "$T_TMP/from0.json" "$T_TMP/from1.json" "$(peer_expr "$to" tx_denied)")" 1
	check_eq "$lab: nothing of it reached $to (rx_denied unchanged)" \
		"$(delta "$T_TMP/to0.json" "$T_TMP/to1.json" "d['drops']['rx_denied']")" 0
	check_grep "$lab: $from logs the denied flow (sender side)" \
		"denied \(sender\) tcp .* from host $from to host $to" \
		"$CAPLAB_RUNDIR/$lab/hosts/$from/capshim.log"

	for six in "" 6; do
		t0=$(ms_now)
		inlab "$lab" "$from" ping -c 1 -W 2 "$(addr "$lab" "$to" $six)" >"$T_TMP/ping.out" 2>&1
		rc=$?
		el=$(($(ms_now) - t0))
		check_eq "$lab: $from -> $to ping over IPv${six:-4} fails" "$rc" 1
		check_lt "$lab: ... at once, not after -W 2 (wall clock, ms)" "$el" "$REFUSE_MS"
		check_grep "$lab: ... with an ICMP administratively-prohibited" \
			"Packet filtered|Administratively prohibited" "$T_TMP/ping.out"
	done
	# UDP: the connected socket gets the ICMP error at once.
	out=$(inlab "$lab" "$from" python3 -c 'import socket, sys, time
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((a, 9))
    t = time.time()
    s.send(b"x")
    try:
        s.recv(16)
        print("answered")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("refused" if time.time() - t < 0.5 else "late", e.errno)' \
		"$(addr "$lab" "$to")" "$(addr "$lab" "$to" 6)" 2>&1 | tr '\n' ' ')
	check_eq "$lab: $from -> $to UDP refused at once over IPv4 (EHOSTUNREACH) and IPv6 (EACCES)" \
		"$out" "refused 113 refused 13 "
}

# ---------------------------------------------------------------- lab A
LA=$(lab_name a)
cat >"$T_TMP/two.json" <<'EOF'
{
  "hosts": {
    "host1": { "bit": 1, "reach": ["host2"] },
    "host2": { "bit": 2, "reach": ["host1"] }
  },
  "users": {},
  "groups": {}
}
EOF
if lab_up "$LA" "$T_TMP/two.json"; then
	talk "$LA" host1 host2
	talk "$LA" host2 host1
	iperf "$LA" host1 host2
	for h in host1 host2; do
		check_eq "$LA: $h has no decrypt, replay, source or denied drops" \
			"$(jget "$(status "$LA" $h)" "sum(d['drops'][k] for k in ('rx_decrypt', 'rx_replay', 'rx_source', 'rx_denied', 'tx_denied', 'rx_unknown_epoch'))")" 0
	done
	logs_clean "$LA"
	lab_down "$LA"
fi

# ---------------------------------------------------------------- lab B
LB=$(lab_name b)
if lab_up "$LB" "$POLICY3"; then
	# host1 -> host2: host2's grant is empty, yet its replies to the flow
	# host1 opened pass (not strict).
	talk "$LB" host1 host2
	talk "$LB" host1 host3
	talk "$LB" host3 host1
	iperf "$LB" host3 host1 6
	check_eq "$LB: host2's own mask is empty" "$(jget "$(status "$LB" host2)" "d['mask']")" "-"
	refused "$LB" host2 host1
	refused "$LB" host3 host2
	logs_clean "$LB"
	lab_down "$LB"
fi

# ---------------------------------------------------------------- lab C
LC=$(lab_name c)
if lab_up "$LC" "$POLICY3" --shim-arg host2=--test-skip-sender-check; then
	snapshot "$LC" host1 "$T_TMP/h1a.json"
	snapshot "$LC" host2 "$T_TMP/h2a.json"
	inlab "$LC" host2 curl -sS -m 2 "$(url "$LC" host1)" >"$T_TMP/curl.out" 2>&1
	rc=$?
	snapshot "$LC" host1 "$T_TMP/h1b.json"
	snapshot "$LC" host2 "$T_TMP/h2b.json"
	check_gt "$LC: rogue host2 -> host1 curl fails (exit $rc)" "$rc" 0
	check_eq "$LC: host2 skipped its sender check (tx_denied unchanged)" \
		"$(delta "$T_TMP/h2a.json" "$T_TMP/h2b.json" "d['drops']['tx_denied']")" 0
	check_ge "$LC: host1 counts drops.rx_denied" \
		"$(delta "$T_TMP/h1a.json" "$T_TMP/h1b.json" "d['drops']['rx_denied']")" 1
	check_ge "$LC: host1 counts rx_denied for peer host2" \
		"$(delta "$T_TMP/h1a.json" "$T_TMP/h1b.json" "$(peer_expr host2 rx_denied)")" 1
	check_grep "$LC: host1's log has a 'denied (receiver)' line naming host2" \
		"denied \(receiver\) tcp .* from host host2 to host host1" \
		"$CAPLAB_RUNDIR/$LC/hosts/host1/capshim.log"
	check_fails "$LC: rogue host2 -> host1 ping over IPv6 gets no answer" \
		inlab "$LC" host2 ping -6 -c 1 -W 1 "$(addr "$LC" host1 6)"
	body=$(inlab "$LC" host1 curl -sS -m 5 "$(url "$LC" host2)" 2>&1)
	check_eq "$LC: host1 -> host2 still works" "$body" "hello from host2"
	logs_clean "$LC"
	lab_down "$LC"
fi

# ---------------------------------------------------------------- lab D
LD=$(lab_name d)
if lab_up "$LD" "$POLICY3" --strict; then
	check_eq "$LD: capshim runs strict" "$(jget "$(status "$LD" host2)" "d['strict']")" true
	snapshot "$LD" host2 "$T_TMP/h2a.json"
	inlab "$LD" host1 curl -sS -m 2 "$(url "$LD" host2)" >"$T_TMP/curl.out" 2>&1
	rc=$?
	snapshot "$LD" host2 "$T_TMP/h2b.json"
	check_gt "$LD: strict: host1 -> host2 curl fails (exit $rc)" "$rc" 0
	check_ge "$LD: strict: host2 refuses its own replies (tx_denied)" \
		"$(delta "$T_TMP/h2a.json" "$T_TMP/h2b.json" "d['drops']['tx_denied']")" 1
	check_fails "$LD: strict: host1 -> host2 ping fails" \
		inlab "$LD" host1 ping -c 1 -W 1 "$(addr "$LD" host2)"
	body=$(inlab "$LD" host1 curl -sS -m 5 "$(url "$LD" host3)" 2>&1)
	check_eq "$LD: strict: host1 -> host3 works (both grants allow it)" "$body" "hello from host3"
	body=$(inlab "$LD" host3 curl -sS -m 5 "$(url "$LD" host1 6)" 2>&1)
	check_eq "$LD: strict: host3 -> host1 works over IPv6" "$body" "hello from host1"

	# SIGTERM to one capshim: it stops cleanly and its interface goes.
	pid=$(capshim_pid "$LD" host3)
	check "$LD: host3's cap0 exists" inlab "$LD" host3 ip link show cap0
	if [ -n "$pid" ]; then
		kill -TERM "$pid"
		check "$LD: host3's capshim exits on SIGTERM" wait_until 5 pid_gone "$pid"
		check_fails "$LD: host3's cap0 is gone" inlab "$LD" host3 ip link show cap0
		check_grep "$LD: host3's capshim logged its stop" "stopping" \
			"$CAPLAB_RUNDIR/$LD/hosts/host3/capshim.log"
	else
		not_ok "$LD: no capshim process in $LD-host3"
	fi
	logs_clean "$LD"

	# caplab down: nothing of the lab remains.
	pids=$(for n in $(ip netns list | awk '{print $1}' | grep -E "^$LD-"); do
		ip netns pids "$n"; done | tr '\n' ' ')
	check_gt "$LD: the lab runs processes before down" "$(echo $pids | wc -w)" 0
	lab_down "$LD"
	check_eq "$LD: no namespace left" "$(ip netns list | grep -cE "^$LD-")" 0
	left=""
	for p in $pids; do pid_gone "$p" || left="$left $p"; done
	check_eq "$LD: no process of the lab left" "$left" ""
	check_eq "$LD: no process names the lab's directory" \
		"$(procs_naming "$CAPLAB_RUNDIR/$LD/" | tr '\n' ' ')" ""
	check_fails "$LD: no lab directory left" test -e "$CAPLAB_RUNDIR/$LD"
	check_eq "$LD: no cap0/ul0 interface in the root namespace" \
		"$(ip -o link show | grep -cE '^[0-9]+: (cap0|ul0)[:@]')" 0
fi

finish
