#!/usr/bin/env bash
# tests/netns/test_linger.sh - a user's code left on a host keeps the host
# narrowed, whichever way it got there and however it hides; once it is
# really gone the host widens within a second. Written as the attacker
# runs it: A (who may not reach host2) leaves code on host1 that tries
# host2 after A's login has ended.
#
#      G-host1 (bit 1)               G-host2 (bit 2)         G-host3 (bit 3)
#      grant host2,host3             grant: none             grant host1
#      capd (+ capd-procs helper)    capd                    capd
#      sshd, su, runuser, sudo, atd  sshd                    sshd
#        (PAM: pam_capd.so)
#      probe (as A) ---------------> www :80 (overlay only)
#      cap0 10.77.0.2                cap0 10.77.0.3          cap0 10.77.0.4
#      ul0  10.99.0.2                ul0  10.99.0.3          ul0  10.99.0.4
#         |                             |                       |
#      +--+-----------------------------+-----------------------+--+
#      |  G-sw: br0 10.99.255.254; `caplab ssh` logins start here   |
#      +-----------------------------------------------------------+
#
#   users: A reaches host1, host3 (not host2); host1 alone reaches host2.
#
# Every case starts linger_probe.py as A on host1 and returns once the way
# in is over (ssh logout, su/sudo/runuser/at done): nohup, setsid, a double
# fork, disown, a killed session leader, a killed `sshd: A@notty`, a probe
# that renames itself and hands /proc/PID to root, one whose leader thread
# exits (zombie leader), one in a network namespace it made (unshare -rn),
# su, runuser -u, sudo -u, an at job, and setpriv (no PAM at all: capd
# finds it). Each probe waits 0.3 s, then tries host2:80 every 0.2 s for
# 0.8 s: not one try may connect, host1's mask stays 3 while it runs, and
# once it has ended the mask is back to 2-3 within a second.
. "$(dirname "$0")/lib.sh"

POLICY=$NETNS_ROOT/tests/policies/acceptance.json
WIDEN_MS=1000		# code gone: the host widens within a second
L=$(lab_name g)
C=$CAPLAB

for need in capd pam_capd.so capshim; do
	if [ ! -e "$CAPTUN_BIN/$need" ]; then
		not_ok "$CAPTUN_BIN/$need is needed (make)"
		finish
	fi
done
command -v sshd >/dev/null || { not_ok "sshd is needed (make deps)"; finish; }

lab_up "$L" "$POLICY" || finish
D=$CAPLAB_RUNDIR/$L
H2=$("$C" addr "$L" host2)
# A's probes write here; A may not read the rest of T_TMP.
chmod 711 "$T_TMP"
W=$T_TMP/w
mkdir -m 1777 "$W"
install -m 644 "$NETNS_ROOT/tests/netns/linger_probe.py" "$W/probe.py"

mask() { jget "$(status "$L" "$1")" "d['mask']"; }
mask_is() { [ "$(mask "$1")" = "$2" ]; }
capdq() { "$C" capd "$L" "$1" "$2"; }
sessions() { jget "$(capdq host1 '{"cmd":"list"}')" "[[s['service'], s['lingering']] for s in d['sessions']]"; }
no_sessions() { [ "$(jget "$(capdq host1 '{"cmd":"list"}')" "len(d['sessions'])")" = 0 ]; }
started() { grep -q '^start' "$1"; }
ended() { grep -q '^end' "$1"; }
probe() { echo "python3 $W/probe.py $W/$1.out $H2 0.3 0.8 ${2:-}"; }

# judge NAME SERVICE: the probe of case NAME (output $W/NAME.out) runs as
# A on host1 with its way in over; SERVICE is the session capd must keep.
judge() {
	local name=$1 want=$2 out=$W/$1.out seen="" m="" t0 ms s
	if ! wait_until 5 started "$out"; then
		not_ok "$name: the probe did not start"
		return
	fi
	# while it runs: narrowed, and capd holds A's session for it
	while ! ended "$out" && [ -z "$seen" ]; do
		s=$(sessions)
		if [[ $s == *"[\"$want\", true]"* ]]; then seen=$s; m=$(mask host1); fi
		sleep 0.1
	done
	check_eq "$name: host1's mask is 3 while A's code runs" "$m" 3
	check "$name: capd keeps a lingering $want session for it ($seen)" test -n "$seen"
	wait_until 5 ended "$out"
	check_eq "$name: none of A's code's tries reached host2" "$(grep -c '^ok' "$out")" 0
	check_ge "$name: A's code did try (refused at once: $(grep -m1 '^no' "$out"))" \
		"$(grep -c '^no' "$out")" 3
	t0=$(sed -n 's/^end //p' "$out")
	if wait_until 3 mask_is host1 2-3; then
		ms=$(($(ms_now) - t0))
		check_lt "$name: A's code gone: host1 widens within a second (${ms} ms)" "$ms" "$WIDEN_MS"
	else
		not_ok "$name: host1's mask is still '$(mask host1)' 3 s after A's code ended"
	fi
	check "$name: capd closed the session by itself" wait_until 1 no_sessions
}

check_eq "nobody on host1: mask 2-3" "$(mask host1)" 2-3
hp=""
for p in $(ip netns pids "$L-host1"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = capd-procs ] && hp=$p
done
check_eq "capd's helper capd-procs runs in host1 with CAP_SYS_PTRACE alone" \
	"$(awk '/^CapEff/ {print $2}' "/proc/$hp/status" 2>/dev/null)" 0000000000080000
check_eq "capd itself holds no capability" \
	"$(awk '/^CapEff/ {print $2}' "/proc/$(cat "$D/hosts/host1/capd.pid")/status")" 0000000000000000

# ---- ways in over ssh, and ways to hide -----------------------------------------
lssh() { "$C" ssh "$L" host1 A -- sh -c "$1" >/dev/null 2>&1; }
lssh "nohup $(probe nohup) >/dev/null 2>&1 &"
judge nohup caplab-$L-host1
lssh "setsid -f $(probe setsid)"
judge setsid caplab-$L-host1
lssh "( $(probe doublefork) & ) &"
judge doublefork caplab-$L-host1
"$C" ssh "$L" host1 A -- bash -c "$(probe disown) & disown; exit 0" >/dev/null 2>&1
judge disown caplab-$L-host1
lssh "nohup $(probe renamed --rename --undumpable) >/dev/null 2>&1 &"
judge renamed caplab-$L-host1
lssh "nohup $(probe zombieleader --thread) >/dev/null 2>&1 &"
judge zombieleader caplab-$L-host1
# its own user and network namespace: unreachable from there, but it may
# hold sockets of host1's namespace, so it counts as on host1
lssh "nohup unshare -rn $(probe userns) >/dev/null 2>&1 &"
judge userns caplab-$L-host1

# the session leader (the login's command) killed -9: its child lives on
"$C" ssh "$L" host1 A -- sh -c "echo \$\$ >$W/leader; $(probe leader) & exec sleep 30" \
	>/dev/null 2>&1 &
SSH=$!
on_exit "kill $SSH"
wait_until 5 started "$W/leader.out"
kill -9 "$(cat "$W/leader")"
judge leader caplab-$L-host1
wait "$SSH" 2>/dev/null

# A's own unprivileged sshd (`sshd: A@notty`) killed -9: the monitor closes
# the session by request while A's command runs on
"$C" ssh "$L" host1 A -- sh -c "exec $(probe notty)" >/dev/null 2>&1 &
SSH=$!
on_exit "kill $SSH"
wait_until 5 started "$W/notty.out"
np=""
for p in $(ip netns pids "$L-host1"); do
	[[ $(tr "\\0" " " <"/proc/$p/cmdline" 2>/dev/null) == *": A@notty"* ]] && np=$p
done
check "found A's sshd: A@notty ($np)" test -n "$np"
[ -n "$np" ] && kill -9 "$np"
judge notty caplab-$L-host1
wait "$SSH" 2>/dev/null

# ---- ways in without ssh: su, runuser, sudo (PAM with pam_capd), at -------------
inlab "$L" host1 su A -c "nohup $(probe su) >/dev/null 2>&1 &" >/dev/null 2>&1
judge su su
inlab "$L" host1 runuser -u A -- sh -c "nohup $(probe runuser) >/dev/null 2>&1 &" >/dev/null 2>&1
judge runuser runuser
if command -v sudo >/dev/null; then
	inlab "$L" host1 sudo -u A sh -c "nohup $(probe sudo) >/dev/null 2>&1 &" >/dev/null 2>&1
	judge sudo sudo
else
	echo "# SKIP sudo -u: sudo is not installed (make deps)"
	not_ok "sudo is needed (make deps)"
fi
# at: a private spool (tmpfs in a mount namespace), so that no other atd on
# this machine takes the job; `atd -s` runs what is due, once, in host1
if command -v atd >/dev/null; then
	inlab "$L" host1 unshare -m --propagation private sh -c "
		mount -t tmpfs -o mode=0755 captun-at /var/spool/cron &&
		install -d -o daemon -g daemon -m 1770 /var/spool/cron/atjobs /var/spool/cron/atspool &&
		install -o daemon -g daemon -m 600 /dev/null /var/spool/cron/atjobs/.SEQ &&
		echo 'nohup $(probe at) >/dev/null 2>&1 &' | su A -c 'at now' &&
		atd -s" >"$T_TMP/at.log" 2>&1
	judge at atd
else
	not_ok "at is needed (make deps)"
fi

# setpriv: no PAM at all (as a setuid program or systemd-run --uid would):
# capd finds A's process within a tick, before the probe's first try
t0=$(ms_now)
inlab "$L" host1 setpriv --reuid=A --regid=A --init-groups sh -c "$(probe setpriv)" &
SP=$!
if wait_until 2 mask_is host1 3; then
	ok "setpriv: capd found A's process; host1 narrowed $(($(ms_now) - t0)) ms after it started"
else
	not_ok "setpriv: host1 not narrowed within 2 s"
fi
judge setpriv process
wait "$SP" 2>/dev/null
check_grep "audit: capd recorded the found session" '"event":"session_found".*"user":"A"' \
	"$D/hosts/host1/audit.log"
check_grep "audit: capd recorded a logout that lingered" \
	'"event":"session_linger".*"reason":"closed by request"' "$D/hosts/host1/audit.log"

# ---- A's code on another host holds that host, not host1 --------------------------
inlab "$L" host3 setpriv --reuid=A --regid=A --init-groups sleep 2 &
SP=$!
host3_found() { [ "$(jget "$(capdq host3 '{"cmd":"list"}')" "[s['service'] for s in d['sessions']]")" = '["process"]' ]; }
check "A's process on host3: host3's capd finds it" wait_until 2 host3_found
check_eq "A's process on host3: host1's mask stays 2-3" "$(mask host1)" 2-3
check_eq "A's process on host3: capd on host1 holds no session" \
	"$(jget "$(capdq host1 '{"cmd":"list"}')" "len(d['sessions'])")" 0
wait "$SP"
check "A's process on host3 gone: host3's capd ends that session" wait_until 2 sh -c \
	"[ \"\$($C capd $L host3 '{\"cmd\":\"list\"}')\" = '{\"ok\":true,\"sessions\":[]}' ]"

# ---- root and other accounts do not narrow (no_token=skip) ------------------------
check "su to root (no token: not a captun user) is let through" inlab "$L" host1 su root -c true
check_eq "su to root: host1's mask stays 2-3" "$(mask host1)" 2-3
check "host1: no session left" no_sessions

for f in "$D"/hosts/*/capd.log; do
	if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$f"; then
		not_ok "sanitizer report in $f"
		t_show "$f" 30
	fi
done
logs_clean "$L"
finish
