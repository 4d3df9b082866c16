#!/usr/bin/env bash
# tests/netns/test_audit_flood.sh - a flood of 100,000 denied attempts
# against the flow records' bounds: host2 (whose grant reaches nobody)
# sends 100,000 UDP datagrams to host1, each refused by its capshim. The
# rate limit writes the first ones a line each and summarises the rest
# ("and N more like this"); host2's records are kept small (64 KiB files,
# two rotated ones) so that they rotate during the flood. Collected with
# `capctl audit pull` every half second, the records count every attempt
# capshim refused, with nothing rotated away uncollected, while the files
# on disk stay within their bound the whole time; the chain verifies
# across the rotations.
#
#      F-host1 (bit 1)                      F-host2 (bit 2)
#      grant host2,host3                    grant: none
#      cap0 10.77.0.2   <--- 100,000 UDP -- cap0 10.77.0.3   python flood
#         |                                    |  --flow-log-max-bytes 65536
#         |                                    |  --flow-log-files 2
#      +--+------------------------------------+--+
#      |  F-sw: bridge br0 (the underlay)          |    (host3 idle)
#      +-------------------------------------------+
#
# The flood goes through capshim's own TUN path (--no-queue): the NFQUEUE
# path records through the same writer, one round trip per flow slower.
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/acceptance.json
CAPCTL=$CAPTUN_BIN/capctl
N=${CAPTUN_FLOOD:-100000}
MAX=65536
KEEP=2
L=$(lab_name f)

for need in capd capshim capctl; do
	if [ ! -e "$CAPTUN_BIN/$need" ]; then
		not_ok "$CAPTUN_BIN/$need is needed (make)"
		finish
	fi
done

lab_up "$L" "$POLICY" --no-queue --shim-arg host2=--flow-log-max-bytes=$MAX \
	--shim-arg host2=--flow-log-files=$KEEP || finish
D=$CAPLAB_RUNDIR/$L
H1=$("$CAPLAB" addr "$L" host1)
BOUND=$(((KEEP + 1) * (MAX + 4097)))

disk() { cat "$D"/hosts/host2/flows.log* 2>/dev/null | wc -c; }
denied() { drop "$L" host2 tx_denied; }

# a long TUN queue: datagrams wait for capshim instead of being dropped
inlab "$L" host2 ip link set cap0 txqueuelen 50000
before=$(denied)
inlab "$L" host2 python3 -c '
import socket, sys, time
n, dst = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
for i in range(n):
    try:
        s.sendto(b"x", (dst, 9))
    except OSError:
        pass        # ICMP errors of earlier refusals
    if i % 200 == 199:
        time.sleep(0.003)   # paced, so that the TUN queue does not drop
' "$N" "$H1" &
FLOOD=$!
on_exit "kill $FLOOD"

OUT=$T_TMP/flows
max_disk=0
pulls=0
pull() {
	"$CAPCTL" audit pull --capd "$D/hosts/host2/capd.sock" --out "$OUT" 2>>"$T_TMP/pull.err" &&
		pulls=$((pulls + 1))
	local d; d=$(disk)
	[ "$d" -gt "$max_disk" ] && max_disk=$d
	return 0
}
while kill -0 "$FLOOD" 2>/dev/null; do
	pull
	sleep 0.5
done
wait "$FLOOD"
sleep 1.5	# the last summaries are written within a second
pull
after=$(denied)
refused=$((after - before))

check_ge "capshim refused the flood ($refused of $N datagrams reached it)" "$refused" $((N * 99 / 100))
check_eq "no datagram was lost in the TUN queue: capshim saw all $N" "$refused" "$N"
check_ge "pull ran during the flood ($pulls times)" "$pulls" 2
check_lt "the files never held more than their bound ($max_disk <= $BOUND bytes)" "$max_disk" $((BOUND + 1))
check_ge "... and they did rotate" "$(jget "$(status "$L" host2)" "d['flows']['rotations']")" 1
check_eq "nothing was rotated away before collection" \
	"$(grep -c 'rotated away' "$T_TMP/pull.err" 2>/dev/null || true)" 0
read -r lines summaries counted < <(python3 - "$OUT/host2.flows" <<'PY'
import json, sys
lines = summaries = counted = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["side"] != "sender" or r["dst_host"] != "host1":
        continue
    lines += 1
    if r["kind"] == "summary":
        summaries += 1
        counted += r["count"]
    else:
        counted += 1
print(lines, summaries, counted)
PY
)
check_eq "the records count every refused attempt (lines + summary counts)" "$counted" "$refused"
check_gt "summary lines carried most of them ($summaries summaries in $lines lines)" "$summaries" 0
check_lt "... in few lines" "$lines" 2000
check_grep "a summary says how many in words" '"text":"and [0-9,]+ more like this"' "$OUT/host2.flows"
check "the collected chain verifies across the rotations" "$CAPCTL" audit verify "$OUT/host2.flows"
check_eq "capshim's counters agree: every record written or summarised" \
	"$(jget "$(status "$L" host2)" "d['flows']['lines'] + d['flows']['summarised'] - d['flows']['records']")" 0
check_eq "... none lost" "$(jget "$(status "$L" host2)" "d['flows']['lost']")" 0
"$CAPCTL" audit report "$OUT/host2.flows" >"$T_TMP/report.txt"
check_grep "report counts them all" "^captun audit: $(python3 -c "print(f'{$refused:,}')") denied flows" \
	"$T_TMP/report.txt"
logs_clean "$L"
finish
