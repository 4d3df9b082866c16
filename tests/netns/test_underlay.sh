#!/usr/bin/env bash
# tests/netns/test_underlay.sh - the underlay is closed to all but the
# tunnel: capshim's --underlay-guard (on in caplab) and servers that listen
# on overlay addresses only. Written as an attacker on host1 would try to
# get around captun: straight to host2's underlay address.
#
#      U-host1 (bit 1)            U-host2 (bit 2)              U-host3 (bit 3)
#      attacker: curl, ssh,       www :80 overlay only,        capshim stopped
#      ping to 10.99.0.3          sshd :22 (overlay+underlay), at the end: its
#                                 test server :8080 on ALL     table goes
#                                 addresses
#      cap0 10.77.0.2             cap0 10.77.0.3               cap0 10.77.0.4
#      ul0  10.99.0.2             ul0  10.99.0.3               ul0  10.99.0.4
#         |                          |   nft: inet captun_guard_cap0 in each
#      +--+--------------------------+----------------------------+--+
#      |  U-sw: br0 10.99.255.254 (`caplab ssh`: tcp/22 exception)   |
#      +-------------------------------------------------------------+
#
#   policy: host1 reaches host2 and host3; host2 nobody; host3 host1.
#
# host2's guard must drop (and count) host1's TCP to a server listening on
# every address, its ssh and its ping over the underlay, while the same
# server answers over the overlay and `caplab ssh` (the exception) works;
# stopping capshim removes the table, and nothing is left in the root
# namespace.
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/acceptance.json
L=$(lab_name u)
C=$CAPLAB
TABLE=captun_guard_cap0

command -v nft >/dev/null || { not_ok "nft is needed (make deps: nftables)"; finish; }
ROOT_TABLES=$(nft list tables 2>/dev/null | grep -c "$TABLE" || true)

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L
UL2=10.99.0.3
O2=$("$C" addr "$L" host2)
dropped() { inlab "$L" "$1" nft list counter inet "$TABLE" dropped | awk '/packets/ {print $2}'; }
# curl's own view: 28 is a time-out (dropped), 7 refused, 0 through
curl_rc() { local rc=0; inlab "$L" "$1" curl -sS -m 2 -o /dev/null "$2" 2>/dev/null || rc=$?; echo "$rc"; }

for h in host1 host2 host3; do
	check "$h: the guard's table is in place" inlab "$L" "$h" nft list table inet "$TABLE"
done
rules=$(inlab "$L" host2 nft list table inet "$TABLE")
check_grep "host2 takes UDP 51900 from its peers' underlay addresses only" \
	'ip saddr \{ 10\.99\.0\.2, 10\.99\.0\.4 \} udp dport 51900 accept' <(echo "$rules")
check_grep "host2's last rule drops and counts" 'counter name "dropped" drop' <(echo "$rules")
check_eq "capshim holds no capability" "$(cap_eff "$(capshim_pid "$L" host2)")" 0000000000000000
check_eq "its helper capshim-guard holds CAP_NET_ADMIN alone" \
	"$(cap_eff "$(ns_pid_named "$L" host2 capshim-guard)")" 0000000000001000

# ---- the lab's servers listen on overlay addresses ------------------------------------
check "host2's web server listens on its overlay address" \
	sh -c "$C exec $L host2 ss -Hltn 'sport = :80' | grep -qF '$O2:80'"
check_fails "host2's web server does not listen on the underlay or a wildcard" \
	sh -c "$C exec $L host2 ss -Hltn 'sport = :80' | awk '{print \$4}' | grep -qE '10\\.99|0\\.0\\.0\\.0|\\[::\\]|\\*:'"
check_eq "curl host1 -> host2's underlay :80: nothing gets through (time-out)" \
	"$(curl_rc host1 "http://$UL2/")" 28

# ---- a server on every address: only the overlay reaches it ---------------------------
inlab "$L" host2 setsid python3 -m http.server 8080 --bind 0.0.0.0 --directory "$D/hosts/host2/www" \
	</dev/null >/dev/null 2>&1 &
on_exit "kill $!"
wait_until 10 inlab "$L" host2 sh -c "ss -Hltn 'sport = :8080' | grep -q ."
before=$(dropped host2)
check_eq "host1 -> host2 overlay :8080 (host1 may reach host2): works" \
	"$(curl_rc host1 "http://$O2:8080/")" 0
check_eq "host1 -> host2 underlay :8080: dropped (time-out)" \
	"$(curl_rc host1 "http://$UL2:8080/")" 28
rc=0; inlab "$L" host1 timeout 3 bash -c "exec 3<>/dev/tcp/$UL2/22" 2>/dev/null || rc=$?
check "host1 -> host2 underlay ssh port: no connection (exit $rc)" test "$rc" -ne 0
rc=0; inlab "$L" host1 ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=2 \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "A@$UL2" true 2>/dev/null || rc=$?
check_eq "host1 -> host2 ssh over the underlay fails (exit 255)" "$rc" 255
check_fails "host1 -> host2 ping over the underlay: no answer" \
	inlab "$L" host1 ping -c 2 -W 1 -i 0.2 "$UL2"
check_fails "the switch (no exception for :8080) -> host2 underlay :8080: dropped" \
	ip netns exec "$L-sw" curl -sS -m 2 -o /dev/null "http://$UL2:8080/"
after=$(dropped host2)
check_gt "host2's guard counted the drops ($before -> $after packets)" "$((after - before))" 4

# ---- the tunnel and the exceptions still work ---------------------------------------
check "host1 -> host2 ping over the overlay works" inlab "$L" host1 ping -c 1 -W 2 "$O2"
check_eq "host1 -> host2 curl over the overlay works" \
	"$(inlab "$L" host1 curl -sS -m 5 "http://$O2/" 2>&1)" "hello from host2"
check_eq "the exception: caplab ssh from the switch (tcp/22@10.99.255.254) logs in" \
	"$("$C" ssh "$L" host2 B -- id -un 2>&1)" B
check_eq "A's hop host1 -> host3 over the overlay still works" \
	"$("$C" ssh "$L" host1 A -- ssh "$("$C" addr "$L" host3)" id -un 2>&1)" A

# ---- a clean stop removes the table; nothing in the root namespace ---------------------
pid=$(cat "$D/hosts/host3/capshim.pid")
kill -TERM "$pid"
check "host3's capshim stops cleanly" wait_until 5 pid_gone "$pid"
check_fails "host3's capshim stopped: its table is gone" inlab "$L" host3 nft list table inet "$TABLE"
check_grep "host3's capshim logged the removal" "underlay guard: table inet $TABLE removed" \
	"$D/hosts/host3/capshim.log"
check_eq "no guard table in the root namespace" \
	"$(nft list tables 2>/dev/null | grep -c "$TABLE" || true)" "$ROOT_TABLES"
check "capshim refuses a malformed exception (usage error)" sh -c \
	"$CAPTUN_BIN/capshim --dir /nonexistent --underlay-guard --underlay-allow tcp/99999 2>&1; [ \$? = 2 ]"
check "capshim refuses an exception without the guard (usage error)" sh -c \
	"$CAPTUN_BIN/capshim --dir /nonexistent --underlay-allow tcp/22 2>&1; [ \$? = 2 ]"
logs_clean "$L"
finish
