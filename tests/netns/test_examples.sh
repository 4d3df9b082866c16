#!/usr/bin/env bash
# tests/netns/test_examples.sh - every EXAMPLE of every manual runs as
# written: 'capctl --help' and each 'capctl help VERB', 'capshim --help'
# and 'capd --help', and the README's commands.
#
#    X-ex-VERB (one fresh server per page, deploylib.sh: the installed
#    tree as /usr, its own /etc, /var/lib, /run; a fresh machine)
#         |
#    +----+--------------------------+
#    |  X-sw: bridge br0 192.0.2.254 |
#    +-------------------------------+
#
# An example may need what a page takes for granted (an authority, a
# host's public key, a running capshim): the PRE table below gives it,
# and says so. The daemons' examples run in the foreground, so they pass
# once the daemon answers on its control socket, and are then stopped.
# The README's make commands build, install, test and benchmark this very
# tree: they are checked with 'make -n' (the target exists and its recipe
# expands), the others run.
. "$(dirname "$0")/lib.sh"
DEP_TAG=x . "$(dirname "$0")/deploylib.sh"

check "make install" dep_install
dep_bridge
BIN=$DEST/usr/sbin

# The example block of a capctl page, or of a daemon's --help.
capctl_example() { awk '/^EXAMPLE/ { on = 1; next } /^[A-Z]/ { on = 0 } on' | sed 's/^    //'; }
daemon_example() { awk '/^Example:/ { on = 1; next } /^[A-Z][a-z ]*:/ { on = 0 } on' | sed 's/^  //'; }

INIT="capctl init >/dev/null"
KEYS="capctl keygen >/dev/null"
H1="capctl host add host1 --bit 1 --pub /var/lib/captun/host.pub --overlay 10.77.0.1 >/dev/null"
RUN_SHIM="capctl host bundle host1 --out h1.bundle >/dev/null && capctl host join h1.bundle >/dev/null"
declare -A PRE=(
	[main]=""
	[init]=""
	[keygen]=""
	[host]="$INIT; $KEYS; cp /var/lib/captun/host.pub host1.pub; capctl keygen --out k2 >/dev/null; cp k2/host.pub host2.pub"
	[user]="$INIT; $KEYS; $H1; capctl host add host3 --bit 3 --overlay 10.77.0.3 >/dev/null"
	[policy]="$INIT"
	[issue]="$INIT; $KEYS; $H1"
	[grant]="$INIT; $KEYS; capctl host add host2 --bit 2 --overlay 10.77.0.2 >/dev/null; $H1; capctl user add alice >/dev/null"
	[revoke]="$INIT; $KEYS; capctl host add host2 --bit 2 --overlay 10.77.0.2 >/dev/null; $H1; capctl user add alice --reach host2 >/dev/null; capctl grant host:host1 host2 >/dev/null"
	[token]="$INIT; capctl user add alice >/dev/null"
	[status]="$INIT; $KEYS; $H1; capctl user add alice >/dev/null"
	[renew]="$INIT; $KEYS; $H1"
	[shim]="$INIT; $KEYS; $H1; $RUN_SHIM"
	[publish]="$INIT; $KEYS; $H1; capctl host add host2 --bit 2 --overlay 10.77.0.2 >/dev/null; capctl user add alice --reach host1 >/dev/null; $RUN_SHIM"
	[metrics]="$INIT; $KEYS; $H1; $RUN_SHIM; mkdir -p /var/lib/prometheus/node-exporter"
	[help]=""
	[audit]="$INIT; $KEYS; $H1; capctl user add alice --reach host1 >/dev/null; $RUN_SHIM"
	[why]="$INIT; $KEYS; capctl host add host2 --bit 2 --overlay 10.77.0.2 >/dev/null; $H1; capctl user add A --reach host1 >/dev/null; $RUN_SHIM"
	[capshim]="$INIT; $KEYS; $H1; $RUN_SHIM"
	[capd]="$INIT; $KEYS; $H1; $RUN_SHIM"
)
# Pages whose example talks to running daemons: which ones to start first.
declare -A DAEMONS=([shim]=captun-shim [publish]="captun-shim captun-capd"
	[metrics]="captun-shim captun-capd" [capd]=captun-shim
	[audit]="captun-shim captun-capd" [why]="captun-shim captun-capd")

n=0
run_page() { # PAGE EXAMPLE_TEXT [background]
	local page=$1 text=$2 bg=${3:-} s="ex$n" u
	n=$((n + 1))
	if [ -z "$text" ]; then
		not_ok "$page: the manual has no EXAMPLE"
		return
	fi
	srv_up "$s" "192.0.2.$((n + 10))" || { not_ok "$page: sandbox"; return; }
	srv "$s" sh -c "cd /root && ${PRE[$page]:-:}" >"$T_TMP/$page.pre" 2>&1 ||
		{ not_ok "$page: its preamble failed"; t_show "$T_TMP/$page.pre"; return; }
	for u in ${DAEMONS[$page]:-}; do
		srv_unit "$s" "$u.service" || { not_ok "$page: $u did not start"; return; }
	done
	printf '%s\n' "$text" >"$T_TMP/$page.example"
	if [ -n "$bg" ]; then
		srv "$s" bash -c "cd /root && $text" >"$T_TMP/$page.out" 2>&1 &
		UNIT_PID[$s-example]=$!
		if wait_until 15 srv "$s" sh -c "$bg"; then
			ok "$page: EXAMPLE runs as written ($(head -n 1 "$T_TMP/$page.example"))"
		else
			not_ok "$page: EXAMPLE did not come up: $(head -n 1 "$T_TMP/$page.example")"
			t_show "$T_TMP/$page.out"
		fi
		srv_unit_stop "$s" example
	elif srv "$s" bash -euo pipefail -c "cd /root && $text" >"$T_TMP/$page.out" 2>&1; then
		ok "$page: EXAMPLE runs as written ($(wc -l <"$T_TMP/$page.example") lines)"
	else
		not_ok "$page: EXAMPLE failed"
		t_show "$T_TMP/$page.example"
		t_show "$T_TMP/$page.out"
	fi
}

run_page main "$("$BIN/capctl" --help | capctl_example)"
for page in $("$BIN/capctl" --help | awk '/^VERBS/ { on = 1; next } /^[A-Z]/ { on = 0 }
		on && $1 ~ /^[a-z]/ { print $1 }' | awk '!seen[$0]++'); do
	if [ -z "${PRE[$page]+set}" ]; then
		not_ok "$page: a new verb: give its example a preamble here (PRE)"
		continue
	fi
	run_page "$page" "$("$BIN/capctl" help "$page" | capctl_example)"
done
run_page capshim "$("$BIN/capshim" --help | daemon_example)" \
	"capctl shim status >/dev/null"
run_page capd "$("$BIN/capd" --help | daemon_example)" \
	"test -S /run/captun/capd.sock && capctl metrics | grep -q 'captun_up{daemon=\"capd\"} 1'"

# The README: each command of each ```sh block; the capctl ones on a host
# of a network with hosts host1 and host2 and users A and alice.
PRE[readme]="${PRE[why]}; capctl user add alice --reach host1 >/dev/null"
DAEMONS[readme]="captun-shim captun-capd"
srv_up exreadme 192.0.2.9 && srv exreadme sh -c "cd /root && ${PRE[readme]}" >/dev/null 2>&1 &&
	srv_unit exreadme captun-shim.service && srv_unit exreadme captun-capd.service ||
	not_ok "README: the sandbox for its capctl commands"
awk '/^```sh/ { on = 1; next } /^```/ { on = 0 } on' "$NETNS_ROOT/README.md" |
	sed 's/[[:space:]]*#.*//; /^[[:space:]]*$/d' >"$T_TMP/readme.cmds"
check "the README has commands" test -s "$T_TMP/readme.cmds"
while IFS= read -r line; do
	# a line may chain commands with &&
	IFS='&' read -ra parts <<<"${line//&&/&}"
	for cmd in "${parts[@]}"; do
		cmd=$(echo "$cmd" | sed 's/^ *//; s/ *$//')
		[ -n "$cmd" ] || continue
		case $cmd in
		make*)
			# shellcheck disable=SC2086 # the README's words
			check "README: $cmd (make -n: the target and its recipe exist)" \
				make -C "$NETNS_ROOT" -n ${cmd#make} ;;
		bash\ *)
			check "README: $cmd (bash -n: it parses)" bash -n "$NETNS_ROOT/${cmd#bash }" ;;
		capctl*)
			check "README: $cmd" srv exreadme sh -c "cd /root && $cmd" ;;
		*)
			check "README: $cmd" sh -c "cd '$NETNS_ROOT' && $cmd" ;;
		esac
	done
done <"$T_TMP/readme.cmds"
finish
