#!/usr/bin/env bash
# tests/netns/test_interop.sh - this capshim talks to the capshim of the
# commit before the data path moved to libcrypto's AEAD: the bytes on the
# wire did not change.
#
#      I-a (bit 1)                              I-b (bit 2)
#      capshim of this tree                     capshim built from OLD, the
#                                               parent of the commit that
#                                               added shim/aead.c
#      cap0 10.77.0.2  <-- ping, curl, iperf3 both ways -->  cap0 10.77.0.3
#      ul0  10.99.0.2                           ul0  10.99.0.3
#      +--------------------------------------------------------------+
#      |                I-sw: bridge br0 (the underlay)               |
#      +--------------------------------------------------------------+
#
# OLD is built from the repository's own history (git archive into a
# temporary directory, `make build/capshim` there), so a fresh clone runs
# this; without that history (not a git checkout, a shallow clone) it says
# SKIP. CAPTUN_INTEROP_REV names another commit to test against.
. "$(dirname "$0")/lib.sh"

skip() {
	echo "ok - SKIP: $1"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}

git_root() { git -C "$NETNS_ROOT" "$@" 2>/dev/null; }

git_root rev-parse --git-dir >/dev/null || skip "not a git checkout: no history to build the old capshim from"
[ "$(git_root rev-parse --is-shallow-repository)" = false ] ||
	skip "shallow clone: the commit before the AEAD switch is not here (git fetch --unshallow)"
if [ -n "${CAPTUN_INTEROP_REV:-}" ]; then
	OLD=$(git_root rev-parse --verify "$CAPTUN_INTEROP_REV^{commit}") ||
		skip "CAPTUN_INTEROP_REV=$CAPTUN_INTEROP_REV is not a commit here"
else
	added=$(git_root log -n 1 --format=%H --diff-filter=A HEAD -- shim/aead.c)
	[ -n "$added" ] || skip "no commit in HEAD's history adds shim/aead.c"
	OLD=$(git_root rev-parse --verify "$added^") || skip "the parent of $added is not here"
fi
OLDSHORT=$(git_root rev-parse --short "$OLD")

# Build the old capshim (release flags; its own Makefile).
OLDTREE=$T_TMP/old
mkdir -p "$OLDTREE"
if ! git_root archive "$OLD" | tar -x -C "$OLDTREE"; then
	not_ok "git archive $OLDSHORT"
	finish
fi
if ! make -C "$OLDTREE" -j"$(nproc)" build/capshim >"$T_TMP/old-build.log" 2>&1; then
	not_ok "building capshim of $OLDSHORT"
	t_show "$T_TMP/old-build.log" 30
	finish
fi
ok "built the capshim of $OLDSHORT (the commit before the AEAD switch)"

L=$(lab_name i)
lab_up "$L" "$NETNS_ROOT/tests/policies/pair.json" || finish

# Swap b's capshim for the old one, with the arguments caplab gave it.
D=$CAPLAB_RUNDIR/$L/hosts/b
pid=$(cat "$D/capshim.pid")
kill -TERM "$pid"
wait_until 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
# shellcheck disable=SC2046 # caplab's own argument words
ip netns exec "$L-b" setsid "$OLDTREE/build/capshim" --dir "$D" --ifname cap0 \
	--control "$D/shim.sock" --foreground $(cat "$D/capshim.args") \
	</dev/null >>"$D/capshim.log" 2>&1 &
echo $! >"$D/capshim.pid"
on_exit "kill $!"
check "the old capshim answers on b's control socket" wait_until 10 status "$L" b
check "a session between the new a and the old b (ping)" \
	wait_until 20 inlab "$L" a ping -c 1 -W 1 -q 10.77.0.3
check "b (old) -> a (new) ping" inlab "$L" b ping -c 5 -i 0.1 -W 2 -q 10.77.0.2
body=$(inlab "$L" a curl -sf -m 5 http://10.77.0.3/ 2>/dev/null)
check_eq "a -> b curl" "$body" "hello from b"
body=$(inlab "$L" b curl -sf -m 5 http://10.77.0.2/ 2>/dev/null)
check_eq "b -> a curl" "$body" "hello from a"

# iperf FROM TO ADDR: 2 s of bulk TCP (full-size packets through libcrypto,
# ACKs through libsodium on the new side) must arrive.
iperf() {
	local from=$1 to=$2 a=$3 spid bps
	inlab "$L" "$to" timeout 20 iperf3 -s -1 -B "$a" >"$T_TMP/iperf-s.out" 2>&1 &
	spid=$!
	on_exit "kill $spid"
	if ! wait_until 5 inlab "$L" "$to" sh -c "ss -Hltn | grep -q ':5201 '"; then
		not_ok "iperf3 server on $to did not start"
		return
	fi
	inlab "$L" "$from" iperf3 -c "$a" -t 2 -J >"$T_TMP/iperf.json" 2>&1
	bps=$(python3 -c 'import json, sys
print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
		"$T_TMP/iperf.json" 2>/dev/null)
	check_gt "$from -> $to iperf3 TCP for 2 s" "${bps:-0}" 0
	[ -n "$bps" ] && echo "#   $((bps / 1000000)) Mbit/s"
	wait "$spid" 2>/dev/null
}
iperf a b 10.77.0.3
iperf b a 10.77.0.2
for h in a b; do
	check_eq "$h: no rx_decrypt drops" "$(drop "$L" "$h" rx_decrypt)" 0
	check_eq "$h: no rx_malformed_inner drops" "$(drop "$L" "$h" rx_malformed_inner)" 0
done
logs_clean "$L"
finish
