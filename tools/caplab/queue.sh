# tools/caplab/queue.sh - caplab's NFQUEUE readers; sourced by caplab,
# whose variables (BIN) and helpers (labdir, ns) it uses.
#
# In every host, next to capshim: capqueue, which installs the host's
# CAPQ-cap0 rules (iptables and ip6tables, inside the host's namespace)
# and asks capshim for the verdict on each new flow, so that a denied
# flow is recorded with the local uid, pid and command that opened it.
# The rules and the reader go away with the namespace.

queue_wanted() { [ -x "$BIN/capqueue" ] && command -v iptables >/dev/null; }

start_queue() { # LAB HOST
	local d; d=$(labdir "$1")
	ip netns exec "$(ns "$1" "$2")" setsid "$BIN/capqueue" --ifname cap0 \
		--shim "$d/hosts/$2/shim.sock" --foreground \
		</dev/null >>"$d/hosts/$2/capqueue.log" 2>&1 &
	echo $! >"$d/hosts/$2/capqueue.pid"
}

# Waits until HOST's capshim reports a running reader.
queue_running() { # LAB HOST
	python3 "$HERE/ctlquery.py" "$(labdir "$1")/hosts/$2/shim.sock" '{"cmd":"status"}' 2>/dev/null |
		python3 -c 'import json,sys; sys.exit(json.load(sys.stdin).get("nfqueue",{}).get("reader") != "running")'
}

# Waits (TIMEOUT seconds) until every host's capshim has a running reader.
queue_wait() { # LAB TIMEOUT
	local host deadline=$(( $(date +%s) + $2 ))
	for host in $(hosts_of "$1"); do
		until queue_running "$1" "$host"; do
			[ "$(date +%s)" -lt "$deadline" ] || return 1
			sleep 0.1
		done
	done
}
