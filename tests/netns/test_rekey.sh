#!/usr/bin/env bash
# tests/netns/test_rekey.sh - sessions rotate their keys under traffic
# without losing packets.
#
#      R-a (bit 1)                          R-b (bit 2)
#      capshim --test-rekey-after=2         capshim --test-rekey-after=2
#      cap0 10.77.0.2  ---- ping -i 0.05 for 8 s ---->  cap0 10.77.0.3
#      ul0  10.99.0.2                       ul0  10.99.0.3
#      +--------------------------------------------------------+
#      |              R-sw: bridge br0 (the underlay)           |
#      +--------------------------------------------------------+
#
# With rekeys every 2 s (instead of 120), an 8-second ping sees at least
# three new handshakes and no loss: packets sealed under the old keys
# still open after the switch, and no decrypt, replay or index drops.
. "$(dirname "$0")/lib.sh"

L=$(lab_name r)
lab_up "$L" "$NETNS_ROOT/tests/policies/pair.json" \
	--shim-arg a=--test-rekey-after=2 --shim-arg b=--test-rekey-after=2 || finish

before=$(peer "$L" a b handshakes)
out=$(inlab "$L" a ping -q -c 160 -i 0.05 -W 1 10.77.0.3 2>&1)
loss=$(echo "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
check_eq "no ping loss across rekeys" "$loss" "0"
after=$(peer "$L" a b handshakes)
check_ge "at least 3 handshakes with b during 8 s of traffic" "$((after - before))" 3
for d in rx_decrypt rx_replay rx_unknown_index rx_session_expired tx_no_session; do
	check_eq "a: no $d drops" "$(drop "$L" a "$d")" 0
	check_eq "b: no $d drops" "$(drop "$L" b "$d")" 0
done
check "curl a -> b after the rekeys" inlab "$L" a curl -sf -m 3 -o /dev/null http://10.77.0.3/
logs_clean "$L"
finish
