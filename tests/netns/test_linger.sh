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
#   A is this run's own (a-LAB, lib.sh's own_users): the userns case below
#   leaves A's code in a namespace A made, which capd counts on every host
#   of this kernel, so no other lab may share the user.
#
# Every case starts linger_probe.py as A on host1 and returns once the way
# in is over (ssh logout, su/sudo/runuser/at done): nohup, setsid, a double
# fork, disown, a killed session leader, a killed `sshd: A@notty`, a probe
# that renames itself and hands /proc/PID to root, one whose leader thread
# exits (zombie leader), one in a network namespace it made (unshare -rn),
# su, runuser -u, sudo -u, an at job, and setpriv (no PAM at all: capd
# finds it). Each probe waits until capd's audit log shows its session
# lingering with the way in over (however long a loaded machine takes),
# then tries host2:80 4 times 0.2 s apart and exits: not one try may
# connect, host1's mask stays 3 while it runs, and once it has exited the
# mask is back to 2-3 within a second. Times are capd's own (its audit
# log) against the probe's own exit, never a poller's.
. "$(dirname "$0")/lib.sh"

WIDEN_MS=1000		# code gone: the host widens within a second
TRIES=4			# each probe's tries, after its way in has ended
L=$(lab_name g)
C=$CAPLAB
POLICY=$T_TMP/policy.json
own_users "$L" "$NETNS_ROOT/tests/policies/acceptance.json" "$POLICY"
UA=$(own_user "$L" A)

for need in capd pam_capd.so capshim sshd su setpriv; do
	[ -e "$CAPTUN_BIN/$need" ] || command -v "$need" >/dev/null ||
		{ not_ok "$need is needed (make, make deps)"; finish; }
done

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
no_sessions() { [ "$(jget "$(capdq host1 '{"cmd":"list"}')" "len(d['sessions'])")" = 0 ]; }
started() { grep -q '^start' "$1"; }
ended() { grep -q '^end' "$1"; }
probe() { echo "python3 $W/probe.py $W/$1.out $H2 $W/$1.go $TRIES ${2:-}"; }
LOG=$D/hosts/host1/audit.log
# capd holds A's SERVICE session open with its way in over (from OFFSET on)
lingering() { # OFFSET SERVICE
	audit_ms "$LOG" "$1" session_linger user="$UA" service="$2" >/dev/null ||
		audit_ms "$LOG" "$1" session_found user="$UA" service="$2" >/dev/null
}

# What capd's audit log says about one case, from byte OFFSET on: the
# session of SERVICE (opened, found, lingering, reaped) and every
# capability pushed, judged against the probe's end (END, unix ms). It is
# capd's own record, so a slow test on a loaded machine cannot blur it.
audit_case() { # OFFSET SERVICE END
	python3 - "$LOG" "$UA" "$@" <<'PY'
import datetime, json, sys
log, user, off, service, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ms = lambda t: int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
with open(log, "rb") as f:
    f.seek(off)
    ev = [json.loads(l) for l in f.read().decode().splitlines() if l]
# capd pushes a capability before it records the open (or found) and after
# it records the end: judge them in the log's order
i_open = next((i for i, e in enumerate(ev) if e["event"] in ("session_open", "session_found")
               and e.get("service") == service and e.get("user") == user), None)
sid = ev[i_open]["session"] if i_open is not None else None
mine = [e for e in ev if sid is not None and e.get("session") == sid]
i_end = next((i for i, e in enumerate(ev) if sid is not None and e.get("session") == sid
              and e["event"] in ("session_reap", "session_close")), None)
reap = ev[i_end] if i_end is not None else None
caps = [(i, e) for i, e in enumerate(ev) if e["event"] == "capability"]
before = [e["mask"] for i, e in caps if i_open is not None and i < i_open]
during = [e["mask"] for i, e in caps if i_open is not None and i_end is not None
          and i_open < i < i_end]
after = [e for i, e in caps if i_end is not None and i > i_end]
widened = ms(after[0]["time"]) if after and after[0]["mask"] == "2-3" else None
print(json.dumps({
    "session": sid is not None,
    "linger": any(e["event"] in ("session_linger", "session_found") for e in mine),
    "outlived": bool(reap) and ms(reap["time"]) >= end,
    "narrow": bool(before) and before[-1] == "3" and all(m == "3" for m in during),
    "widen_ms": widened - end if widened else -1,
    "events": ["%s %s %s %s %s" % (e["time"][11:], e["event"], e.get("session", ""),
                                   e.get("service", ""), e.get("mask", "")) for e in ev],
}))
PY
}

# judge NAME SERVICE OFFSET: the probe of case NAME (output $W/NAME.out)
# runs as A on host1, its way in over (OFFSET: audit.log's size before).
# Once capd records the session lingering (or found), the probe may go.
judge() {
	local name=$1 want=$2 off=$3 out=$W/$1.out a end
	wait_until 30 lingering "$off" "$want"
	touch "$W/$name.go"
	if ! wait_until 30 ended "$out"; then
		not_ok "$name: the probe did not run to its end"
		return
	fi
	end=$(sed -n 's/^end //p' "$out")
	check_eq "$name: none of A's code's tries reached host2" "$(grep -c '^ok' "$out")" 0
	check_eq "$name: A's code tried $TRIES times after its way in ended (refused at once: $(grep -m1 '^no' "$out"))" \
		"$(grep -c '^no' "$out")" "$TRIES"
	if ! wait_until 10 capd_idle; then
		not_ok "$name: capd still holds a session 10 s after A's code ended"
		return
	fi
	a=$(audit_case "$off" "$want" "$end")
	check_eq "$name: capd recorded a $want session for A" "$(jget "$a" "d['session']")" true
	check_eq "$name: ... that lingered after its way in ended" "$(jget "$a" "d['linger']")" true
	check_eq "$name: ... and outlived A's code" "$(jget "$a" "d['outlived']")" true
	check_eq "$name: host1's capability stayed 3 all the while" "$(jget "$a" "d['narrow']")" true
	if [ "$(jget "$a" "d['narrow']")" != true ]; then
		jget "$a" "chr(10).join(d['events'])" | sed 's/^/#   /'
	fi
	ms=$(jget "$a" "d['widen_ms']")
	check_ge "$name: A's code gone: host1 widened (capshim holds 2-3)" "$ms" 0
	check_lt "$name: ... within a second of its exit (${ms} ms, capd's audit time)" "$ms" "$WIDEN_MS"
}
capd_idle() { [ "$(jget "$(capdq host1 '{"cmd":"list"}')" "len(d['sessions'])")" = 0 ] &&
	mask_is host1 2-3; }
off() { stat -c %s "$LOG"; }

check_eq "nobody on host1: mask 2-3" "$(mask host1)" 2-3
check_eq "capd's helper capd-procs runs in host1 with CAP_SYS_PTRACE alone" \
	"$(cap_eff "$(ns_pid_named "$L" host1 capd-procs)")" 0000000000080000
check_eq "capd itself holds no capability" \
	"$(cap_eff "$(cat "$D/hosts/host1/capd.pid")")" 0000000000000000

# ---- ways in over ssh, and ways to hide -----------------------------------------
lssh() { "$C" ssh "$L" host1 "$UA" -- sh -c "$1" >/dev/null 2>&1; }
o=$(off); lssh "nohup $(probe nohup) >/dev/null 2>&1 &"
judge nohup caplab-$L-host1 "$o"
o=$(off); lssh "setsid -f $(probe setsid)"
judge setsid caplab-$L-host1 "$o"
o=$(off); lssh "( $(probe doublefork) & ) &"
judge doublefork caplab-$L-host1 "$o"
o=$(off)
"$C" ssh "$L" host1 "$UA" -- bash -c "$(probe disown) & disown; exit 0" >/dev/null 2>&1
judge disown caplab-$L-host1 "$o"
o=$(off); lssh "nohup $(probe renamed --rename --undumpable) >/dev/null 2>&1 &"
judge renamed caplab-$L-host1 "$o"
o=$(off); lssh "nohup $(probe zombieleader --thread) >/dev/null 2>&1 &"
judge zombieleader caplab-$L-host1 "$o"
# its own user and network namespace: unreachable from there, but it may
# hold sockets of host1's namespace, so it counts as on host1
o=$(off); lssh "nohup unshare -rn $(probe userns) >/dev/null 2>&1 &"
judge userns caplab-$L-host1 "$o"

# the session leader (the login's command) killed -9: its child lives on
o=$(off)
"$C" ssh "$L" host1 "$UA" -- sh -c "echo \$\$ >$W/leader; $(probe leader) & exec sleep 30" \
	>/dev/null 2>&1 &
SSH=$!
on_exit "kill $SSH"
wait_until 5 started "$W/leader.out"
kill -9 "$(cat "$W/leader")"
judge leader caplab-$L-host1 "$o"
wait "$SSH" 2>/dev/null

# A's own unprivileged sshd (`sshd: A@notty`) killed -9: the monitor closes
# the session by request while A's command runs on
o=$(off)
"$C" ssh "$L" host1 "$UA" -- sh -c "exec $(probe notty)" >/dev/null 2>&1 &
SSH=$!
on_exit "kill $SSH"
wait_until 5 started "$W/notty.out"
np=""
for p in $(ip netns pids "$L-host1"); do
	[[ $(tr "\\0" " " <"/proc/$p/cmdline" 2>/dev/null) == *": $UA@notty"* ]] && np=$p
done
check "found A's sshd: A@notty ($np)" test -n "$np"
[ -n "$np" ] && kill -9 "$np"
judge notty caplab-$L-host1 "$o"
wait "$SSH" 2>/dev/null

# ---- ways in without ssh: su, runuser, sudo (PAM with pam_capd), at -------------
o=$(off); inlab "$L" host1 su "$UA" -c "nohup $(probe su) >/dev/null 2>&1 &" >/dev/null 2>&1
judge su su "$o"
o=$(off); inlab "$L" host1 runuser -u "$UA" -- sh -c "nohup $(probe runuser) >/dev/null 2>&1 &" >/dev/null 2>&1
judge runuser runuser "$o"
if command -v sudo >/dev/null; then
	o=$(off); inlab "$L" host1 sudo -u "$UA" sh -c "nohup $(probe sudo) >/dev/null 2>&1 &" >/dev/null 2>&1
	judge sudo sudo "$o"
else
	echo "# SKIP sudo -u: sudo is not installed (make deps)"
	not_ok "sudo is needed (make deps)"
fi
# at: a private spool (tmpfs in a mount namespace), so that no other atd on
# this machine takes the job; `atd -s` runs what is due, once, in host1
if command -v atd >/dev/null; then
	o=$(off)
	inlab "$L" host1 unshare -m --propagation private sh -c "
		mount -t tmpfs -o mode=0755 captun-at /var/spool/cron &&
		install -d -o daemon -g daemon -m 1770 /var/spool/cron/atjobs /var/spool/cron/atspool &&
		install -o daemon -g daemon -m 600 /dev/null /var/spool/cron/atjobs/.SEQ &&
		echo 'nohup $(probe at) >/dev/null 2>&1 &' | su $UA -c 'at now' &&
		atd -s" >"$T_TMP/at.log" 2>&1
	judge at atd "$o"
else
	not_ok "at is needed (make deps)"
fi

# setpriv: no PAM at all (as a setuid program or systemd-run --uid would):
# capd finds A's process within a tick; this probe tries only once capd has
# (what it could send before that is the window README names, measured here)
o=$(off)
inlab "$L" host1 setpriv --reuid="$UA" --regid="$UA" --init-groups sh -c "$(probe setpriv)" &
SP=$!
# The kernel's start time of A's code (Unix ms, in 10 ms steps): of the
# process `ip netns exec` became before setpriv took A's uid (the probe's
# oldest ancestor of A's), so the window measured is never too short.
wait_until 30 started "$W/setpriv.out"
t0=$(python3 - "$(awk '/^start/ {print $2}' "$W/setpriv.out")" "$(id -u "$UA")" <<'PY'
import os, sys, time
pid, uid = int(sys.argv[1]), sys.argv[2]
stat = lambda p: open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
ruid = lambda p: [l.split()[1] for l in open("/proc/%d/status" % p) if l.startswith("Uid:")][0]
while True:
    ppid = int(stat(pid)[1])
    if ppid <= 1 or ruid(ppid) != uid:
        break
    pid = ppid
boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
print(int((boot + int(stat(pid)[19]) / os.sysconf("SC_CLK_TCK")) * 1000))
PY
)
judge setpriv process "$o"
# capd's view: from A's code's start to capshim holding the narrower mask
ms=$(python3 - "$LOG" "$o" "$t0" <<'PY'
import datetime, json, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    ev = [json.loads(l) for l in f.read().decode().splitlines() if l]
t = next(e["time"] for e in ev if e["event"] == "capability" and e["mask"] == "3")
print(int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
      - int(sys.argv[3]))
PY
)
echo "# setpriv: host1 narrowed $ms ms after A's process started (no PAM: capd's tick found it)"
check_lt "setpriv: capd found A's process and narrowed host1 within a second" "$ms" 1000
wait "$SP" 2>/dev/null
check_grep "audit: capd recorded the found session" "\"event\":\"session_found\".*\"user\":\"$UA\"" \
	"$LOG"
check_grep "audit: capd recorded a logout that lingered" \
	'"event":"session_linger".*"reason":"closed by request"' "$LOG"

# ---- A's code on another host holds that host, not host1 --------------------------
# It runs until host1 has been looked at, then exits; host3's capd ends the
# session it found within a second of that (host3's audit time).
o=$(off)
o3=$(stat -c %s "$D/hosts/host3/audit.log")
inlab "$L" host3 setpriv --reuid="$UA" --regid="$UA" --init-groups sh -c \
	"while [ ! -e $W/host3.go ]; do sleep 0.05; done; echo end \$(date +%s%3N) >$W/host3.out" &
SP=$!
on_exit "touch $W/host3.go"
host3_found() { [ "$(jget "$(capdq host3 '{"cmd":"list"}')" "[s['service'] for s in d['sessions']]")" = '["process"]' ]; }
check "A's process on host3: host3's capd finds it" wait_until 10 host3_found
check_eq "A's process on host3: host1's mask stays 2-3" "$(mask host1)" 2-3
check_eq "A's process on host3: capd on host1 holds no session" \
	"$(jget "$(capdq host1 '{"cmd":"list"}')" "len(d['sessions'])")" 0
touch "$W/host3.go"
wait "$SP"
check_fails "A's process on host3, all its life: capd on host1 found nothing of A" \
	lingering "$o" process
if ! wait_until 10 sh -c "[ \"\$($C capd $L host3 '{\"cmd\":\"list\"}')\" = '{\"ok\":true,\"sessions\":[]}' ]"; then
	not_ok "A's process on host3 gone: host3's capd still holds its session 10 s later"
elif ! t=$(audit_ms "$D/hosts/host3/audit.log" "$o3" session_reap user="$UA"); then
	not_ok "A's process on host3 gone: host3's capd recorded no session_reap"
else
	ms=$((t - $(sed -n 's/^end //p' "$W/host3.out")))
	check_lt "A's process on host3 gone: host3's capd ended that session within a second ($ms ms, capd's audit time)" \
		"$ms" "$WIDEN_MS"
fi

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
