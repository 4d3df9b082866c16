# tests/netns/deploylib.sh - servers made of namespaces, for the tests that
# play a real deployment (test_deploy.sh, test_lockout.sh). Source it after
# lib.sh. No caplab: each server runs what 'make install' put in place.
#
# A server is a network namespace (an underlay address on a bridge) plus a
# private mount namespace, held open by a sleeping process, in which:
#   /usr, /usr/lib   the installed tree (DESTDIR) layered over the machine's
#   /etc             the installed /etc over the machine's, and on top a
#                    writable layer of the server's own (its /etc/captun,
#                    /etc/pam.d/sshd, /etc/passwd, ...)
#   /var/lib         the machine's, with a writable layer of the server's
#   /run, /home, /root  empty tmpfs
#   /dev             the machine's devices, plus /dev/log: a syslog socket
#                    whose lines go to SRVDIR/syslog
# so that files, users and logs stay the server's, and everything is gone
# when the test ends.
#
#   dep_install           make install DESTDIR=$DEST PREFIX=/usr (from CAPTUN_BIN)
#   srv_up NAME ADDR      a server NAME with underlay ADDR/24 on the bridge
#   srv NAME CMD...       CMD in the server (root), stdout/stderr as they come
#   srv_unit NAME UNIT    starts UNIT's ExecStart as systemd would: its
#                         StateDirectory/RuntimeDirectory made, NOTIFY_SOCKET
#                         set; waits for READY=1 (false if none in 20 s)
#   srv_unit_stop NAME UNIT
#   srv_unit_pid NAME UNIT
#   srv_http NAME ADDR    an HTTP server on ADDR:80 in the server
#   srv_user NAME USER    a Unix user with the test's SSH key
#   client CMD...         CMD in the client namespace (on the bridge)
#   ssh_as USER ADDR CMD...   a real SSH login from the client; 254 if PAM
#                         refused the session, 255 if the login failed
#   dep_pam_line NAME     Debian's /etc/pam.d/sshd plus the pam_capd line
#   dep_sshd NAME         the machine's sshd, its PAM service sshd

DEP_PFX=$(lab_name "${DEP_TAG:-d}")
DEST=$T_TMP/dest
DEP_SW=$DEP_PFX-sw
declare -A SRV_HOLD SRV_DIR UNIT_PID
DEP_NETNS=()
DEP_KEY=$T_TMP/id_ed25519

dep_cleanup() {
	local n p
	for p in "${UNIT_PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${UNIT_PID[@]}" "${SRV_HOLD[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for n in "${DEP_NETNS[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns delete "$n" 2>/dev/null
	done
	return 0
}
on_exit dep_cleanup

dep_install() {
	local san=0
	[ "$(basename "$CAPTUN_BIN")" = san ] && san=1
	make -C "$NETNS_ROOT" --no-print-directory -s install SAN=$san BUILD="$CAPTUN_BIN" \
		DESTDIR="$DEST" PREFIX=/usr >"$T_TMP/install.log" 2>&1
}

dep_bridge() {
	ip netns add "$DEP_SW" && DEP_NETNS+=("$DEP_SW")
	ip -n "$DEP_SW" link set lo up
	ip -n "$DEP_SW" link add br0 type bridge
	ip -n "$DEP_SW" addr add 192.0.2.254/24 dev br0
	ip -n "$DEP_SW" link set br0 up
	ssh-keygen -q -t ed25519 -N '' -f "$DEP_KEY"
}

client() { ip netns exec "$DEP_SW" "$@"; }

# The mounts of a server's namespace (runs inside it, then holds it open).
srv_mounts() { # SRVDIR DEST
	local d=$1 dest=$2 dev
	set -e
	mount -t overlay overlay -o "lowerdir=$dest/usr:/usr" /usr
	mount -t overlay overlay -o "lowerdir=$dest/lib:/usr/lib" /usr/lib
	mount -t overlay overlay -o "lowerdir=$dest/etc:/etc,upperdir=$d/etc,workdir=$d/etc.work" /etc
	mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$d/varlib,workdir=$d/varlib.work" /var/lib
	mount -t tmpfs -o mode=755 tmpfs /run
	mount -t tmpfs -o mode=755 tmpfs /home
	mount -t tmpfs -o mode=700 tmpfs /root
	mount -t tmpfs -o mode=755 tmpfs "$d/dev"
	for dev in null zero full random urandom tty; do
		touch "$d/dev/$dev"
		mount --bind "/dev/$dev" "$d/dev/$dev"
	done
	mkdir -p "$d/dev/net" "$d/dev/pts"
	touch "$d/dev/net/tun"
	mount --bind /dev/net/tun "$d/dev/net/tun"
	mount --move "$d/dev" /dev
	mkdir -p /dev/shm
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	set +e
}

srv_up() { # NAME ADDR
	local name=$1 addr=$2 ns=$DEP_PFX-$1 d=$T_TMP/srv-$1 i
	mkdir -p "$d/etc" "$d/etc.work" "$d/varlib" "$d/varlib.work" "$d/dev"
	SRV_DIR[$name]=$d
	ip netns add "$ns" && DEP_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" link add ul0 type veth peer name "p-$name" netns "$DEP_SW"
	ip -n "$DEP_SW" link set "p-$name" master br0 up
	ip -n "$ns" addr add "$addr/24" dev ul0
	ip -n "$ns" link set ul0 up
	ip netns exec "$ns" unshare -m --propagation private bash -c \
		"$(declare -f srv_mounts); srv_mounts '$d' '$DEST' && echo up >'$d/mounted'; exec sleep 100000" \
		</dev/null >"$d/hold.log" 2>&1 &
	SRV_HOLD[$name]=$!
	for i in $(seq 1 50); do [ -f "$d/mounted" ] && break; sleep 0.1; done
	[ -f "$d/mounted" ] || { cat "$d/hold.log" >&2; return 1; }
	# the server's syslog: /dev/log, one line per message
	srv "$name" python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
out = open(sys.argv[1], "ab", buffering=0)
print("ready", flush=True)
while True:
    out.write(s.recv(65536).rstrip(b"\0\n") + b"\n")' "$d/syslog" >"$d/syslogd.out" 2>&1 &
	UNIT_PID[$name-syslog]=$!
	wait_until 5 grep -q ready "$d/syslogd.out"
}

srv() { # NAME CMD...
	local name=$1
	shift
	nsenter -t "${SRV_HOLD[$name]}" -m -n -- "$@"
}

# The ExecStart of an installed unit, its words one a line.
unit_exec() { # UNIT
	sed -n 's/^ExecStart=//p' "$DEST/lib/systemd/system/$1"
}

srv_unit() { # NAME UNIT
	local name=$1 unit=$2 d=${SRV_DIR[$1]} sock exec
	sock=$d/notify-$unit.sock
	exec=$(unit_exec "$unit")
	[ -n "$exec" ] || return 1
	rm -f "$sock" "$d/notify-$unit.out"
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
print("listening", flush=True)
try:
    while True:
        m = s.recv(4096).decode()
        print(m.replace("\n", " "), flush=True)
        if "READY=1" in m.split("\n"):
            break
except socket.timeout:
    print("TIMEOUT", flush=True)' "$sock" >"$d/notify-$unit.out" 2>&1 &
	local listener=$!
	wait_until 5 grep -q listening "$d/notify-$unit.out"
	# what systemd does for StateDirectory= and RuntimeDirectory=
	srv "$name" sh -c 'mkdir -p /var/lib/captun /run/captun && chmod 700 /var/lib/captun &&
		chmod 755 /run/captun'
	# DEP_STRACE=DIR: every system call the daemon makes goes to DIR (to
	# hold against the unit's SystemCallFilter=; not part of make check)
	[ -n "${DEP_STRACE:-}" ] && exec="strace -f -qq -o $DEP_STRACE/$name-$unit.strace $exec"
	# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them
	NOTIFY_SOCKET=$sock nsenter -t "${SRV_HOLD[$name]}" -m -n -- $exec \
		</dev/null >>"$d/$unit.log" 2>&1 &
	UNIT_PID[$name-$unit]=$!
	wait "$listener"
	grep -q "READY=1" "$d/notify-$unit.out"
}

srv_unit_pid() { echo "${UNIT_PID[$1-$2]:-}"; }

srv_unit_stop() { # NAME UNIT
	local pid=${UNIT_PID[$1-$2]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "UNIT_PID[$1-$2]"
	return 0
}

srv_http() { # NAME ADDR
	local d=${SRV_DIR[$1]}
	mkdir -p "$d/www"
	echo "hello from $1" >"$d/www/index.html"
	srv "$1" python3 -m http.server 80 --bind "$2" --directory "$d/www" \
		</dev/null >"$d/http.log" 2>&1 &
	UNIT_PID[$1-http]=$!
	wait_until 10 srv "$1" sh -c "ss -Hltn | grep -q '$2:80 '"
}

srv_user() { # NAME USER [useradd options]
	local name=$1 u=$2
	shift 2
	if ! srv "$name" getent passwd "$u" >/dev/null; then
		srv "$name" useradd --badname -m -s /bin/sh "$@" "$u" &&
		srv "$name" usermod -p '*' "$u" || return 1
	fi
	srv "$name" sh -c "h=\$(getent passwd '$u' | cut -d: -f6); mkdir -p \$h && chown '$u:' \$h" &&
	srv "$name" sh -c "h=\$(getent passwd '$u' | cut -d: -f6); mkdir -p \$h/.ssh &&
		cp '$DEP_KEY.pub' \$h/.ssh/authorized_keys && chown -R '$u:' \$h/.ssh &&
		chmod 700 \$h/.ssh && chmod 600 \$h/.ssh/authorized_keys"
}

# docs/deploy.md, section 7: the line after @include common-session.
dep_pam_line() { # NAME
	srv "$1" sed -i '/^@include common-session/a session    required     pam_capd.so' \
		/etc/pam.d/sshd
}

dep_sshd() { # NAME
	local d=${SRV_DIR[$1]}
	srv "$1" /usr/sbin/sshd -D -e -o LogLevel=VERBOSE -o UseDNS=no \
		</dev/null >>"$d/sshd.log" 2>&1 &
	UNIT_PID[$1-sshd]=$!
	wait_until 10 srv "$1" sh -c "ss -Hltn | grep -q ':22 '"
}

ssh_as() { # USER ADDR CMD...
	local u=$1 a=$2
	shift 2
	client ssh -F /dev/null -T -i "$DEP_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o LogLevel=ERROR -l "$u" "$a" -- "$(printf '%q ' "$@")"
}
