#!/usr/bin/env bash
# tests/netns/test_udp_gro.sh - runs of UDP datagrams that the receiving
# capshim merges into one UDP_L4 super-packet for its TUN (TUN_F_USO) reach
# the application as the datagrams that were sent: each one whole, none
# merged into another, IPv4 and IPv6. Sizes change every ten datagrams
# (100, 400, 700 bytes), so runs end both ways. (Order is not checked: the
# veth underlay itself reorders some datagrams, with or without merging,
# one capshim thread or more - seen before this change too.)
#
#      U-a (bit 1)                              U-b (bit 2)
#      udp sender: 3000 datagrams in runs  ---> udp receiver on cap0's
#      cap0 10.77.0.2 / v6                      10.77.0.3 / v6, port 9000
#      ul0  10.99.0.2                           ul0 10.99.0.3
#      +--------------------------------------------------------------+
#      |                U-sw: bridge br0 (the underlay)               |
#      +--------------------------------------------------------------+
. "$(dirname "$0")/lib.sh"

L=$(lab_name u)
lab_up "$L" "$NETNS_ROOT/tests/policies/pair.json" || finish

RECV='import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], 9000))
s.settimeout(3)
print("ready", flush=True)
got, bad, order = 0, 0, 0
last = -1
try:
    while True:
        d = s.recv(65536)
        n = int.from_bytes(d[:4], "big")
        size = 100 + n // 10 % 3 * 300
        if len(d) != size or d != n.to_bytes(4, "big") + bytes([n % 251]) * (size - 4):
            bad += 1
            continue
        got += 1
        if n < last:
            order += 1
        last = n
except socket.timeout:
    pass
print(got, bad, order)'

SEND='import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
for n in range(3000):
    size = 100 + n // 10 % 3 * 300
    s.sendto(n.to_bytes(4, "big") + bytes([n % 251]) * (size - 4), (sys.argv[1], 9000))
    if n % 50 == 49:
        time.sleep(0.002)'

for dst in 10.77.0.3 "$("$CAPLAB" addr "$L" b -6)"; do
	inlab "$L" b python3 -c "$RECV" "$dst" >"$T_TMP/recv.out" 2>&1 &
	rpid=$!
	on_exit "kill $rpid"
	wait_until 5 grep -q ready "$T_TMP/recv.out"
	inlab "$L" a python3 -c "$SEND" "$dst"
	wait "$rpid"
	read -r got bad order < <(tail -n 1 "$T_TMP/recv.out")
	check_ge "$dst: most of 3000 datagrams of mixed sizes arrive" "${got:-0}" 2700
	check_eq "$dst: every one whole and as sent" "${bad:-x}" 0
	echo "#   $got received, $order out of order"
done
check_eq "b: no TUN write failed (tx_send_error)" "$(drop "$L" b tx_send_error)" 0
logs_clean "$L"
finish
