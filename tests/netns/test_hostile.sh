#!/usr/bin/env bash
# tests/netns/test_hostile.sh - hostile input against a running capshim.
#
# One lab (tests/policies/acceptance.json). capinject runs in host3's
# namespace with host3's keys and tokens, from its own UDP port (host3's
# capshim keeps port 51900), and sends host1's capshim crafted datagrams:
#
#      H-host1 (bit 1)  TARGET        H-host2 (bit 2)        H-host3 (bit 3)
#      capshim :51900                 capshim :51900         capshim :51900
#      cap0 10.77.0.2 fd77::2         cap0 10.77.0.3         capinject :random
#      ul0  10.99.0.2 fd99::2         ul0  10.99.0.3         ul0  10.99.0.4
#         ^    |                         ^                      |
#         |    +--- curl after each case +                      |
#         |         (host1 -> host2, allowed)                   |
#         +---- handshake as host3, announcement, then one -----+
#               hostile datagram per case
#      +-----------------------------------------------------------------+
#      |                 H-sw: bridge br0 (the underlay)                  |
#      +-----------------------------------------------------------------+
#
# (forge-icmp: host1 first sends one UDP datagram from port 40053 to
# host2:5353 and one to host3:5353, so that those flows exist.)
#
# Each case must raise exactly its drop counter on host1 and nothing else
# (tx_no_peer aside: the kernel's own IPv6 router solicitations and MLD
# reports on cap0 raise it at any time), and leave host1's capshim alive
# and the tunnel working.
. "$(dirname "$0")/lib.sh"

POLICY3=$NETNS_ROOT/tests/policies/acceptance.json
INJECT=$CAPTUN_BIN/capinject
L=$(lab_name h)

if [ ! -x "$INJECT" ]; then
	not_ok "no capinject in $CAPTUN_BIN (make builds it)"
	finish
fi
check "capinject --help documents every case" sh -c \
	"'$INJECT' --help | grep -q spoof-source && '$INJECT' --help | grep -q unlisted-key"
check_fails "capinject refuses an unknown case" "$INJECT" frobnicate --dir /nonexistent --target x

lab_up "$L" "$POLICY3" || finish
DIR3=$CAPLAB_RUNDIR/$L/hosts/host3
# caplab's hosts.txt: NAME BIT UNDERLAY4 UNDERLAY6 OVERLAY4 OVERLAY6
UL6_1=$(awk '$1 == "host1" {print $4}' "$CAPLAB_RUNDIR/$L/hosts.txt")
H2_4=$("$CAPLAB" addr "$L" host2)
PID1=$(capshim_pid "$L" host1)
[ -n "$PID1" ] || not_ok "no capshim process in $L-host1"

# Let the start-up handshakes settle, so that no retransmission of theirs
# lands in the middle of a case.
settled() {
	[ "$(jget "$(status "$L" host1)" "any(p['handshake_pending'] or not p['session'] for p in d['peers'])")" = false ]
}
check "$L: host1's sessions are up and settled" wait_until 10 settled

# inject NAME EXPECT ARGS...: runs capinject ARGS as host3 against host1;
# EXPECT is the drop counter that must go up by one, or "rx_packets" for a
# valid packet delivered.
inject() {
	local name=$1 expect=$2 expr rc body
	shift 2
	if [ "$expect" = rx_packets ]; then expr=$(peer_expr host3 rx_packets); else
		expr="d['drops']['$expect']"
	fi
	snapshot "$L" host1 "$T_TMP/before.json"
	inlab "$L" host3 "$INJECT" "$@" --dir "$DIR3" --target host1 >"$T_TMP/inject.out" 2>&1
	rc=$?
	check_eq "$name: capinject $* (exit status)" "$rc" 0
	[ "$rc" = 0 ] || t_show "$T_TMP/inject.out"
	grown() {
		snapshot "$L" host1 "$T_TMP/after.json" &&
			[ "$(delta "$T_TMP/before.json" "$T_TMP/after.json" "$expr")" -ge 1 ]
	}
	# capinject lingers after its last datagram, so host1 has seen them all
	# by now; the wait only covers a slow status answer.
	wait_until 3 grown
	check_eq "$name: host1's $expect went up by one" \
		"$(delta "$T_TMP/before.json" "$T_TMP/after.json" "$expr")" 1
	check_eq "$name: no other drop counter of host1 moved" \
		"$(python3 -c 'import json, sys
a, b = (json.load(open(f))["drops"] for f in sys.argv[1:3])
print(" ".join("%s+%d" % (k, b[k] - a[k]) for k in sorted(a)
               if b[k] != a[k] and k not in (sys.argv[3], "tx_no_peer")))' \
			"$T_TMP/before.json" "$T_TMP/after.json" "$expect")" ""
	check_fails "$name: host1's capshim is still alive" pid_gone "$PID1"
	body=$(inlab "$L" host1 curl -sS -m 5 "http://$H2_4/" 2>&1)
	check_eq "$name: the tunnel still works (host1 -> host2 curl)" "$body" "hello from host2"
}

inject handshake rx_packets handshake
check_grep "handshake: capinject got host1's echo reply back" "received the echo reply" \
	"$T_TMP/inject.out"
inject "handshake, IPv6 inside and out" rx_packets handshake -6 --endpoint "[$UL6_1]:51900"
inject replay rx_replay replay
inject flip rx_decrypt flip
inject truncate rx_short truncate
inject unknown-index rx_unknown_index unknown-index
inject unlisted-key rx_unknown_key unlisted-key
inject bad-epoch rx_unknown_epoch bad-epoch
inject bad-announce rx_announce_bad bad-announce
check_grep "bad-announce: host1 logs why" "peer host3: announcement refused: bad host signature" \
	"$CAPLAB_RUNDIR/$L/hosts/host1/capshim.log"
inject spoof-source rx_source spoof-source
check_eq "spoof-source: capinject used host2's address" \
	"$(grep -c "host2's inner source address" "$T_TMP/inject.out")" 1

# ICMP errors (issue 11, item 5): host1 has a UDP flow with host2 and one
# with host3; host3 forges the port unreachable only host2 may send about
# its flow, then one about a flow host1 never had with host3; both are
# refused and counted. host3's own error about its own flow is delivered.
H1_4=$("$CAPLAB" addr "$L" host1)
H3_4=$("$CAPLAB" addr "$L" host3)
udp_from_host1() {
	inlab "$L" host1 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 40053))
s.sendto(b"x", (sys.argv[2], 5353))' "$H1_4" "$1"
}
udp_from_host1 "$H2_4"
udp_from_host1 "$H3_4"
inject "forge-icmp about host1's flow with host2" rx_icmp_unrelated forge-icmp --spoof host2
check_grep "forge-icmp: host1 logs why" "ICMP error about no flow of the sender's" \
	"$CAPLAB_RUNDIR/$L/hosts/host1/capshim.log"
inject "forge-icmp about a flow that does not exist" rx_icmp_unrelated forge-icmp \
	--spoof host3 --quote-ports 40054:5353
inject "host3's own error about host1's flow with host3" rx_packets forge-icmp --spoof host3

# Last, as it supersedes the epoch host3's real capshim sends under: an
# announcement at a new epoch goes through host1's full verification.
E=$(( $(cat "$DIR3/epoch") + 100 ))
inject "announcement at a new epoch $E" rx_packets handshake --epoch "$E"
check_eq "host1 now holds host3's capability at epoch $E" \
	"$(jget "$(status "$L" host1)" "$(peer_expr host3 epoch)")" "$E"

check_eq "host1 saw no traffic it had to deny" "$(drop "$L" host1 rx_denied)" 0
check "$L: host1 -> host2 ping still works" inlab "$L" host1 ping -c 1 -W 2 "$H2_4"
logs_clean "$L"
lab_down "$L"
finish
