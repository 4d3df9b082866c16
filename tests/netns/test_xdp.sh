#!/usr/bin/env bash
# tests/netns/test_xdp.sh - capshim --xdp: the early-drop program on the
# underlay keeps the tunnel working across rekeys (every new session's
# index reaches its map before the peer uses it) and drops a flood of
# garbage before capshim sees it; it goes away with capshim.
#
#      X-a (bit 1)                            X-b (bit 2)
#      capshim --test-rekey-after=2           capshim --xdp ul0 --test-rekey-after=2
#      cap0 10.77.0.2  ---- ping, curl ---->  cap0 10.77.0.3
#      ul0  10.99.0.2                         ul0 10.99.0.3  [XDP early drop]
#      +-------------------------------------------------------+
#      |  X-sw: bridge br0 10.99.255.254: udpflood -> b:51900  |
#      +-------------------------------------------------------+
#
# The lab has no underlay guard, so that the flood reaches ul0's port as a
# forged peer address would.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTUN_BIN/udpflood" ]; then
	not_ok "no udpflood in $CAPTUN_BIN (make)"
	finish
fi
L=$(lab_name x)
lab_up "$L" "$NETNS_ROOT/tests/policies/pair.json" --no-underlay-guard \
	--shim-arg b=--xdp=ul0 --shim-arg a=--test-rekey-after=2 \
	--shim-arg b=--test-rekey-after=2 || finish

check_grep "b's ul0 has an XDP program" 'xdp' <(ip -n "$L-b" link show ul0)
x=$(jget "$(status "$L" b)" "d['xdp']['pass_data'] > 0")
check_eq "b's status counts data the program let through" "$x" "true"

before=$(peer "$L" a b handshakes)
out=$(inlab "$L" a ping -q -c 120 -i 0.05 -W 1 10.77.0.3 2>&1)
loss=$(echo "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
check_eq "no ping loss across rekeys with the early drop" "$loss" "0"
check_ge "at least 2 rekeys meanwhile" "$(($(peer "$L" a b handshakes) - before))" 2

snapshot "$L" b "$T_TMP/b0.json"
ip netns exec "$L-sw" "$CAPTUN_BIN/udpflood" 10.99.0.3 51900 1 >"$T_TMP/flood.out" 2>&1
snapshot "$L" b "$T_TMP/b1.json"
check_gt "the program dropped datagrams to unknown indices" \
	"$(delta "$T_TMP/b0.json" "$T_TMP/b1.json" "d['xdp']['drop_unknown_index']")" 0
check_gt "the program dropped datagrams of unknown types" \
	"$(delta "$T_TMP/b0.json" "$T_TMP/b1.json" "d['xdp']['drop_type']")" 0
check_eq "capshim saw none of them (rx_unknown_index)" \
	"$(delta "$T_TMP/b0.json" "$T_TMP/b1.json" "d['drops']['rx_unknown_index']")" 0
check_eq "capshim saw none of them (rx_type)" \
	"$(delta "$T_TMP/b0.json" "$T_TMP/b1.json" "d['drops']['rx_type']")" 0
body=$(inlab "$L" a curl -sf -m 5 http://10.77.0.3/ 2>/dev/null)
check_eq "a -> b curl after the flood" "$body" "hello from b"
for d in rx_decrypt rx_replay rx_unknown_index tx_no_session; do
	check_eq "a: no $d drops" "$(drop "$L" a "$d")" 0
done

pid=$(capshim_pid "$L" b)
kill -TERM "$pid"
check "b's capshim stops" wait_until 10 pid_gone "$pid"
check_fails "the XDP program left with it" grep -q ' xdp' <(ip -n "$L-b" link show ul0)
logs_clean "$L"
finish
