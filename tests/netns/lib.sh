# tests/netns/lib.sh - shared helpers of the netns integration tests.
# Source it from a test script; it sets `set -u` and an EXIT trap.
#
#   lab_name TAG          a lab name unique to this run: n<pid in base 36><TAG>
#   lab_up LAB POLICY [caplab up options]   records LAB for cleanup first
#                         and waits for its HTTP servers; with CAPLAB_MESH
#                         set (wireguard-go, nebula) the lab runs on that
#                         mesh with capshim in attach mode (run.sh runs the
#                         tests that say "# meshes:" once per mesh too)
#   mesh_v6               true unless the lab's mesh carries no IPv6 (Nebula)
#   lab_down LAB          caplab down, and forget LAB
#   lab_hosts LAB         the lab's host names
#   on_exit CMD           run CMD (eval) at exit, before the labs go down
#   ok / not_ok TEXT      one TAP-like line, counted
#   skip TEXT WHY         a check that cannot run here: "ok - TEXT # SKIP WHY",
#                         counted apart
#   check TEXT CMD...     ok if CMD succeeds (its output shown if not)
#   check_fails TEXT CMD...
#   check_eq / check_ge / check_gt / check_lt TEXT GOT WANT
#   check_grep TEXT REGEX FILE
#   status LAB HOST       the host's capshim status: one JSON line
#   jget JSON EXPR        python3 expression over d = the parsed JSON
#                         (booleans, lists and objects print as JSON)
#   drop LAB HOST NAME    one drop counter of the host
#   peer LAB HOST PEER FIELD   one field of the host's entry for PEER
#   snapshot LAB HOST FILE     saves the status to FILE
#   delta BEFORE AFTER EXPR    EXPR (over d) in snapshot AFTER minus in BEFORE
#   peer_expr PEER FIELD       the EXPR of a field of the entry for PEER
#   inlab LAB HOST CMD... run CMD in HOST's namespace
#   ms_now                milliseconds since the epoch
#   wait_until SECS CMD...     polls CMD every 0.1 s, false on timeout
#   capshim_pid LAB HOST  pid of HOST's capshim (from its namespace's pids)
#   ns_pid_named LAB HOST COMM  pid of a process named COMM in HOST's namespace
#   cap_eff PID           the process's effective capability set (CapEff, hex)
#   pid_gone PID          true if PID has exited (zombies count as gone)
#   procs_naming TEXT     pids of processes whose command line holds TEXT
#   logs_clean LAB        checks no capshim log of LAB has a sanitizer report
#   login_hold NAME LAB HOST USER   a real login of USER on HOST that stays
#                         open (its command reads a line from a fifo the
#                         test holds) until login_end NAME
#   login_end NAME        the held login's command ends, so the session ends
#   login_wait NAME       waits (10 s at most) for the held login's ssh to
#                         exit; its status, 124 if it had to be killed
#   own_users LAB POLICY OUT   writes POLICY with each user NAME renamed to
#                         own_user LAB NAME, a user no other lab has. caplab's
#                         Unix users are the machine's, shared by every lab;
#                         capd counts a user's process in a network namespace
#                         the user made on every host of the kernel (it cannot
#                         tell which host it came from: fail closed). A test
#                         that runs such code, or whose checks depend on a
#                         user running nothing, owns its users
#   own_user LAB NAME     name-LAB (NAME in lower case)
#   audit_ms LOG OFFSET EVENT [KEY=VALUE]...  capd's own time (Unix ms) of the
#                         first EVENT in capd's audit log LOG from byte OFFSET
#                         on whose fields have those values; fails if none.
#                         Timing checks judge from it, not from a poller that
#                         a loaded machine delays
#   finish                prints "N passed, N failed" and exits (1 on failures)
#
# The binaries come from CAPTUN_BIN (default ROOT/build), which caplab
# uses too. Everything a test creates is removed on exit, also on failure
# or interruption.
set -u

NETNS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CAPTUN_BIN=$(cd "${CAPTUN_BIN:-$NETNS_ROOT/build}" && pwd) || {
	echo "not ok - CAPTUN_BIN ${CAPTUN_BIN:-} does not exist"
	echo "0 passed, 1 failed"
	exit 1
}
export CAPTUN_BIN
CAPLAB="$NETNS_ROOT/tools/caplab/caplab"
CAPLAB_RUNDIR=${CAPLAB_RUNDIR:-/run/caplab}

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_LABS=()
T_EXIT_CMDS=()
T_TMP=$(mktemp -d /tmp/captun-netns.XXXXXX)

ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $*"
}

skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "ok - $1 # SKIP $2"
}

mesh_v6() { [ "${CAPLAB_MESH:-}" != nebula ]; }

# Shows a file's last lines as TAP comments.
t_show() {
	[ -s "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/#   /'
	return 0
}

check() {
	local name=$1
	shift
	if "$@" >"$T_TMP/check.out" 2>&1; then
		ok "$name"
	else
		not_ok "$name (exit $?: $*)"
		t_show "$T_TMP/check.out"
	fi
}

check_fails() {
	local name=$1
	shift
	if "$@" >"$T_TMP/check.out" 2>&1; then
		not_ok "$name (succeeded: $*)"
		t_show "$T_TMP/check.out"
	else
		ok "$name"
	fi
}

check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi; }
t_num() { [[ $1 =~ ^-?[0-9]+$ ]]; }
check_ge() { if t_num "$2" && [ "$2" -ge "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want >= $3)"; fi; }
check_gt() { if t_num "$2" && [ "$2" -gt "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want > $3)"; fi; }
check_lt() { if t_num "$2" && [ "$2" -lt "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want < $3)"; fi; }

check_grep() {
	if grep -Eq -- "$2" "$3" 2>/dev/null; then ok "$1"; else
		not_ok "$1 (no /$2/ in $3)"
		t_show "$3"
	fi
}

ms_now() { date +%s%3N; }

wait_until() {
	local deadline=$(($(ms_now) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(ms_now)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# A name of 1-8 of [a-z0-9] that no other run can have: the pid of this
# test script in base 36 (at most 5 characters for pid_max 2^22) and a tag.
lab_name() {
	local n=$$ digits=0123456789abcdefghijklmnopqrstuvwxyz out=""
	while [ "$n" -gt 0 ]; do
		out=${digits:$((n % 36)):1}$out
		n=$((n / 36))
	done
	echo "n$out$1"
}

lab_up() {
	local lab=$1 h
	shift
	T_LABS+=("$lab")
	if ip netns list 2>/dev/null | grep -qE "^$lab-" || [ -e "$CAPLAB_RUNDIR/$lab" ]; then
		not_ok "lab $lab already exists (not ours: left alone)"
		return 1
	fi
	if ! "$CAPLAB" up "$@" ${CAPLAB_MESH:+--mesh "$CAPLAB_MESH"} --name "$lab" \
		>"$T_TMP/up.out" 2>&1; then
		not_ok "caplab up $lab ($*)"
		t_show "$T_TMP/up.out" 40
		return 1
	fi
	# caplab returns once the sessions are up; its HTTP servers (python)
	# may still be starting on a loaded machine.
	for h in $(lab_hosts "$lab"); do
		if ! wait_until 10 inlab "$lab" "$h" sh -c "ss -Hltn | grep -q ':80 '"; then
			not_ok "caplab up $lab ($*): no HTTP server on $h"
			return 1
		fi
	done
	ok "caplab up $lab ($*)${CAPLAB_MESH:+ on a $CAPLAB_MESH mesh, capshim attached}"
}

lab_hosts() { awk '{print $1}' "$CAPLAB_RUNDIR/$1/hosts.txt"; }

lab_down() {
	local lab=$1 i
	"$CAPLAB" down "$lab" >/dev/null 2>&1
	for i in "${!T_LABS[@]}"; do
		[ "${T_LABS[$i]}" = "$lab" ] && unset "T_LABS[$i]"
	done
	return 0
}

on_exit() { T_EXIT_CMDS+=("$1"); }

t_cleanup() {
	local c lab
	trap - EXIT INT TERM
	for c in "${T_EXIT_CMDS[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	for lab in "${T_LABS[@]}"; do
		"$CAPLAB" down "$lab" >/dev/null 2>&1 || true
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'echo "not ok - interrupted"; exit 130' INT TERM

inlab() {
	local lab=$1 host=$2
	shift 2
	"$CAPLAB" exec "$lab" "$host" -- "$@"
}

status() { "$CAPLAB" status "$1" "$2"; }

jget() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}

drop() { jget "$(status "$1" "$2")" "d['drops']['$3']"; }

peer() {
	jget "$(status "$1" "$2")" "[p for p in d['peers'] if p['name'] == '$3'][0]['$4']"
}

snapshot() { status "$1" "$2" >"$3"; }

delta() {
	python3 -c 'import json, sys
before, after = (json.load(open(f)) for f in sys.argv[1:3])
f = lambda d: eval(sys.argv[3])
print(f(after) - f(before))' "$1" "$2" "$3" 2>/dev/null
}

peer_expr() { echo "[p for p in d['peers'] if p['name'] == '$1'][0]['$2']"; }

ns_pid_named() {
	local pid
	for pid in $(ip netns pids "$1-$2" 2>/dev/null); do
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$3" ]; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

capshim_pid() { ns_pid_named "$1" "$2" capshim; }

cap_eff() { awk '/^CapEff/ {print $2}' "/proc/$1/status" 2>/dev/null; }

pid_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

procs_naming() {
	T_TEXT=$1 python3 -c 'import os
me, text = os.getpid(), os.environ["T_TEXT"].encode()
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) != me:
        try:
            if text in open("/proc/%s/cmdline" % p, "rb").read():
                print(p)
        except OSError:
            pass'
}

logs_clean() {
	local lab=$1 f bad=""
	for f in "$CAPLAB_RUNDIR/$lab"/hosts/*/capshim.log; do
		if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' "$f"; then
			bad="$bad $f"
			t_show "$f" 30
		fi
	done
	if [ -z "$bad" ]; then ok "no sanitizer report in lab $lab's capshim logs"; else
		not_ok "sanitizer reports in$bad"
	fi
}


declare -A HOLD_PID HOLD_FD

login_hold() {
	local n=$1 fifo=$T_TMP/$1.fifo fd
	mkfifo "$fifo"
	"$CAPLAB" ssh "$2" "$3" "$4" -- sh -c 'echo in; read x' <"$fifo" >"$T_TMP/$n.out" 2>&1 &
	HOLD_PID[$n]=$!
	on_exit "kill ${HOLD_PID[$n]}"
	exec {fd}>"$fifo"
	HOLD_FD[$n]=$fd
	wait_until 30 grep -qx in "$T_TMP/$n.out"
}

login_end() {
	local fd=${HOLD_FD[$1]}
	(echo bye >&"$fd") 2>/dev/null
	exec {fd}>&-
}

login_wait() {
	local pid=${HOLD_PID[$1]} rc=0
	if ! wait_until 10 pid_gone "$pid"; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

own_user() { echo "${2,,}-$1"; }

own_users() {
	python3 - "$@" <<'PY'
import json, sys
lab, src, dst = sys.argv[1:4]
p = json.load(open(src))
p["users"] = {"%s-%s" % (n.lower(), lab): u for n, u in p.get("users", {}).items()}
json.dump(p, open(dst, "w"), indent=2)
PY
}

audit_ms() {
	python3 - "$@" <<'PY'
import datetime, json, sys
log, off, event, want = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
want = [w.split("=", 1) for w in want]
with open(log, "rb") as f:
    f.seek(off)
    for line in f.read().decode().splitlines():
        e = json.loads(line) if line else {}
        if e.get("event") == event and all(str(e.get(k)) == v for k, v in want):
            t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%f%z")
            print(int(t.timestamp() * 1000))
            sys.exit(0)
sys.exit(1)
PY
}

finish() {
	if [ "$T_SKIPPED" -gt 0 ]; then
		echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	else
		echo "$T_PASSED passed, $T_FAILED failed"
	fi
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}
