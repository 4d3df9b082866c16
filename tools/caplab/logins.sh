# tools/caplab/logins.sh - caplab's users and logins; sourced by caplab,
# whose variables (BIN, RUNDIR, ME) and helpers (die, labdir, ns, ...) it uses.
#
# For every user of the policy: a Unix user of the same name (useradd
# --badname -m, if no such user exists: Debian 12 takes "A" as it is, and
# --badname lets through the other names its default NAME_REGEX refuses),
# an ed25519 key pair in its ~/.ssh that its authorized_keys accepts, and
# a ~/.ssh/config with which ssh hops between lab hosts without questions.
# For every host: capd; a PAM service /etc/pam.d/caplab-LAB-HOST, Debian's
# sshd stack plus pam_capd.so with that host's capd socket; and an sshd
# started through a symlink of the same name (OpenSSH names its PAM
# service after the name it runs under), with its own config, host key,
# pid file and log in the host's directory, listening on port 22 of the
# host's overlay addresses and of its underlay address (for `caplab ssh`
# from LAB-sw, the admin's desk: the underlay guard admits port 22 from
# that address alone).
#
# Each host also gets its own /etc/pam.d, as a server has: `ip netns exec`
# bind-mounts /etc/netns/LAB-HOST/pam.d over /etc/pam.d for everything it
# starts (ip-netns(8)). It is the machine's, plus pam_capd.so (no_token=skip)
# in the session stacks of su, su-l, runuser, runuser-l, sudo, sudo-i, cron
# and atd, so that those report to the host's capd as on a real server.
#
# Unix users are the machine's, not a lab's: labs running at once share
# them. USERDB keeps, per user, whether caplab created it (origin), the
# lab directories using it (labs) and what caplab added to the home of a
# user that existed before (undo). The last lab to go deletes a user that
# caplab created (userdel -r) or undoes its additions to one that existed.
# USERDB is outside /run, so that a reboot does not orphan users.

USERDB=${CAPLAB_USERDB:-/var/lib/caplab/users}
SW_ADDR4=10.99.255.254		# the switch's underlay address: `caplab ssh` from there
SW_ADDR6=fd99::fffe
USER_RE='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$'

pam_service() { echo "caplab-$1-$2"; }	# LAB HOST
hostdir() { echo "$(labdir "$1")/hosts/$2"; }

# Runs "$@" holding USERDB's lock (labs going up or down at once).
userdb_locked() {
	mkdir -p "$USERDB"
	(
		flock -w 60 9 || die "cannot lock $USERDB/.lock"
		"$@"
	) 9>"$USERDB/.lock"
}

user_home() { getent passwd "$1" | cut -d: -f6; }

# Gives USER a key pair, authorized_keys and ssh config, each only if
# missing; every addition is logged to UNDO so that it can be taken back.
user_keys() { # USER UNDO
	local u=$1 undo=$2 home grp ssh pub
	home=$(user_home "$u")
	grp=$(id -gn "$u")
	[ -n "$home" ] && [ -d "$home" ] || die "user $u has no home directory"
	ssh=$home/.ssh
	if [ ! -d "$ssh" ]; then
		install -d -m 700 -o "$u" -g "$grp" "$ssh"
		echo "rmdir $ssh" >>"$undo"
	fi
	if [ ! -f "$ssh/id_ed25519" ]; then
		ssh-keygen -q -t ed25519 -N '' -C "caplab-$u" -f "$ssh/id_ed25519"
		chown "$u:$grp" "$ssh/id_ed25519" "$ssh/id_ed25519.pub"
		echo "rm $ssh/id_ed25519" >>"$undo"
		echo "rm $ssh/id_ed25519.pub" >>"$undo"
	fi
	pub=$(cat "$ssh/id_ed25519.pub")
	if [ ! -f "$ssh/authorized_keys" ]; then
		install -m 600 -o "$u" -g "$grp" /dev/null "$ssh/authorized_keys"
		echo "rm $ssh/authorized_keys" >>"$undo"
	fi
	if ! grep -qxF -- "$pub" "$ssh/authorized_keys"; then
		echo "$pub" >>"$ssh/authorized_keys"
		echo "unline $ssh/authorized_keys $pub" >>"$undo"
	fi
	if [ ! -f "$ssh/config" ]; then
		install -m 600 -o "$u" -g "$grp" /dev/null "$ssh/config"
		cat >"$ssh/config" <<-'EOF'
		# Written by caplab: ssh between lab hosts (overlay addresses) without
		# questions. Removed with the user, or when the last lab goes.
		Host *
		    StrictHostKeyChecking no
		    UserKnownHostsFile /dev/null
		    BatchMode yes
		    LogLevel ERROR
		    ConnectTimeout 10
		EOF
		echo "rm $ssh/config" >>"$undo"
	fi
}

# Takes back what UNDO logged, last first.
user_undo() { # UNDO
	local op path rest
	[ -f "$1" ] || return 0
	tac "$1" | while read -r op path rest; do
		case $op in
		rm) rm -f -- "$path" ;;
		rmdir) rmdir -- "$path" 2>/dev/null || true ;;
		unline)
			[ -f "$path" ] || continue
			rest=$(grep -vxF -- "$rest" "$path" || true)
			if [ -n "$rest" ]; then printf '%s\n' "$rest" >"$path"; else : >"$path"; fi ;;
		esac
	done
}

# Marks USER used by LABDIR, creating the Unix user and its keys if this
# is the first lab to use it. Holds the lock (userdb_locked).
user_acquire() { # LABDIR USER
	local r="$USERDB/$2"
	if [ -d "$r" ]; then
		grep -qxF -- "$1" "$r/labs" || echo "$1" >>"$r/labs"
		getent passwd "$2" >/dev/null && return 0
		echo "$ME: user $2 vanished; making it again" >&2
	else
		mkdir -p "$r"
		echo "$1" >"$r/labs"
	fi
	: >"$r/undo"
	if getent passwd "$2" >/dev/null; then
		echo existing >"$r/origin"
	else
		echo created >"$r/origin"
		if ! useradd --badname -m -s /bin/bash -U "$2" >/dev/null; then
			rm -rf "$r"
			die "useradd $2 failed"
		fi
		usermod -p '*' "$2"	# no password, not locked: keys only
	fi
	user_keys "$2" "$r/undo"
}

# Drops LABDIR (and labs that no longer exist) from USER's labs; the last
# one out deletes the user caplab created, or undoes its additions.
user_release() { # LABDIR USER
	local r="$USERDB/$2" l
	[ -f "$r/labs" ] || { rm -rf "$r"; return 0; }
	while read -r l; do
		[ "$l" != "$1" ] && [ -d "$l" ] && echo "$l"
	done <"$r/labs" >"$r/labs.new" || true
	mv "$r/labs.new" "$r/labs"
	[ -s "$r/labs" ] && return 0
	if [ "$(cat "$r/origin" 2>/dev/null)" = created ]; then
		if getent passwd "$2" >/dev/null; then
			userdel -r "$2" 2>/dev/null || userdel -r -f "$2" 2>/dev/null ||
				echo "$ME: could not remove user $2" >&2
		fi
	else
		user_undo "$r/undo"
	fi
	rm -rf "$r"
}

# Every user LABDIR holds, from USERDB itself: works after a crash too.
users_release_all() { # LABDIR
	local r
	for r in "$USERDB"/*/; do
		[ -f "$r/labs" ] || continue
		grep -qxF -- "$1" "$r/labs" && user_release "$1" "$(basename "$r")"
	done
	return 0
}

policy_users() { # POLICY
	python3 -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1])).get("users", {})))' "$1"
}

# Writes HOST's PAM service, host key, sshd config and sshd symlink.
sshd_prepare() { # LAB HOST
	local lab=$1 host=$2 hd svc sshd a listen=""
	hd=$(hostdir "$lab" "$host")
	svc=$(pam_service "$lab" "$host")
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || die "no sshd; run 'make deps' (openssh-server)"
	cat >"/etc/pam.d/$svc" <<-EOF
	# Written by caplab for lab $lab, host $host; \`caplab down $lab\` removes it.
	# Debian's sshd stack, then pam_capd.so: the login is recorded by this
	# host's capd, or refused.
	@include common-auth
	account    required     pam_nologin.so
	@include common-account
	@include common-session
	session    required     $BIN/pam_capd.so socket=$hd/capd.sock
	EOF
	ssh-keygen -q -t ed25519 -N '' -C "caplab-$lab-$host" -f "$hd/ssh_host_ed25519_key"
	# overlay addresses, and the underlay one for the admin's desk (LAB-sw)
	for a in $(host_field "$lab" "$host" 5) $(host_field "$lab" "$host" 6) \
		$(host_field "$lab" "$host" 3); do
		if [ "$a" != - ]; then listen="${listen:+$listen$'\n'}ListenAddress $a"; fi
	done
	cat >"$hd/sshd_config" <<-EOF
	# caplab lab $lab, host $host: this sshd only. Started as $hd/$svc,
	# so its PAM service is /etc/pam.d/$svc.
	Port 22
	$listen
	HostKey $hd/ssh_host_ed25519_key
	PidFile $hd/sshd.pid
	UsePAM yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	AuthorizedKeysFile .ssh/authorized_keys
	PermitRootLogin no
	StrictModes yes
	UseDNS no
	PrintMotd no
	PrintLastLog no
	X11Forwarding no
	AllowAgentForwarding no
	PermitUserEnvironment no
	MaxStartups 64:30:128
	LogLevel VERBOSE
	EOF
	ln -sfn "$sshd" "$hd/$svc"
	pam_netns "$lab" "$host"
	"$hd/$svc" -t -f "$hd/sshd_config" || die "$host: sshd refuses $hd/sshd_config"
}

# The PAM services of su, sudo, cron and at that report to HOST's capd.
PAM_NETNS_SERVICES="su su-l runuser runuser-l sudo sudo-i cron atd"

# /etc/netns/LAB-HOST/pam.d: the machine's /etc/pam.d (caplab's sshd
# service included) with pam_capd.so added to PAM_NETNS_SERVICES.
pam_netns() { # LAB HOST
	local dir svc hd; dir=/etc/netns/$(ns "$1" "$2")/pam.d; hd=$(hostdir "$1" "$2")
	rm -rf "$dir"
	mkdir -p "$(dirname "$dir")"
	cp -a /etc/pam.d "$dir"
	for svc in $PAM_NETNS_SERVICES; do
		[ -f "$dir/$svc" ] || continue
		printf '%s\n' "# Added by caplab (lab $1, host $2): su, sudo, cron and at report to capd." \
			"session    required     $BIN/pam_capd.so socket=$hd/capd.sock no_token=skip" \
			>>"$dir/$svc"
	done
}

start_capd() { # LAB HOST
	local hd; hd=$(hostdir "$1" "$2")
	rm -f "$hd/capd.sock"
	ip netns exec "$(ns "$1" "$2")" setsid "$BIN/capd" --config /dev/null --dir "$hd" --shim "$hd/shim.sock" \
		--socket "$hd/capd.sock" --foreground </dev/null >>"$hd/capd.log" 2>&1 &
	echo $! >"$hd/capd.pid"
}

start_sshd() { # LAB HOST
	local hd svc; hd=$(hostdir "$1" "$2"); svc=$(pam_service "$1" "$2")
	ip netns exec "$(ns "$1" "$2")" setsid "$hd/$svc" -D -f "$hd/sshd_config" \
		-E "$hd/sshd.log" </dev/null >/dev/null 2>&1 &
	echo $! >"$hd/sshd.pid"
}

# Alive and not a zombie (whoever reaps caplab's orphans may take seconds).
pid_alive() { # PID
	kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# TERM to the pid in FILE, KILL after 5 s.
stop_pidfile() { # FILE
	local pid; pid=$(cat "$1" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		pid_alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
}

capd_ready() { # LAB HOST
	python3 "$HERE/ctlquery.py" "$(hostdir "$1" "$2")/capd.sock" '{"cmd":"status"}' \
		--timeout 2 >/dev/null 2>&1
}

sshd_ready() { # LAB HOST
	[ -n "$(ip netns exec "$(ns "$1" "$2")" ss -Hltn 'sport = :22' 2>/dev/null)" ]
}

# Polls CHECK LAB HOST for every host until TIMEOUT seconds.
wait_hosts() { # LAB TIMEOUT CHECK
	local deadline=$(($(date +%s) + $2)) host ok
	while :; do
		ok=1
		for host in $(hosts_of "$1"); do
			"$3" "$1" "$host" || { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# The login half of `caplab up`: users, then capd, then sshd on every host.
logins_up() { # LAB TIMEOUT
	local lab=$1 timeout=$2 d u host
	d=$(labdir "$lab")
	for u in $(policy_users "$d/admin/policy.json"); do
		[[ $u =~ $USER_RE ]] || die "policy user '$u' cannot be a Unix user name ($USER_RE)"
		echo "$u" >>"$d/users.txt"
		userdb_locked user_acquire "$d" "$u"
	done
	install -d -m 755 /run/sshd	# sshd's privilege separation directory
	for host in $(hosts_of "$lab"); do
		sshd_prepare "$lab" "$host"
		start_capd "$lab" "$host"
	done
	wait_hosts "$lab" "$timeout" capd_ready || {
		tail -n 20 "$d"/hosts/*/capd.log >&2 || true
		die "capd did not answer on every host within $timeout s"
	}
	for host in $(hosts_of "$lab"); do
		start_sshd "$lab" "$host"
	done
	wait_hosts "$lab" "$timeout" sshd_ready || {
		tail -n 20 "$d"/hosts/*/sshd.log >&2 || true
		die "sshd did not listen on every host within $timeout s"
	}
	touch "$d/logins"
}

# `caplab down`, first: sshd (its sessions close through PAM) then capd.
logins_stop() { # LAB
	local d f
	d=$(labdir "$1")
	for f in "$d"/hosts/*/sshd.pid "$d"/hosts/*/capd.pid; do
		[ -f "$f" ] && stop_pidfile "$f"
	done
	return 0
}

# `caplab down`, once the namespaces are gone: the PAM services and the
# users. Needs nothing from the lab's directory (works after a crash).
logins_remove() { # LAB
	rm -f /etc/pam.d/caplab-"$1"-*
	rm -rf /etc/netns/"$1"-*
	rmdir /etc/netns 2>/dev/null || true
	if [ -d "$USERDB" ]; then
		userdb_locked users_release_all "$(labdir "$1")"
	fi
}

cmd_ssh() {
	local lab=${1:-} host=${2:-} user=${3:-} d home addr
	[ -n "$lab" ] && [ -n "$host" ] && [ -n "$user" ] || usage_die "ssh needs LAB HOST USER -- CMD"
	shift 3
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || usage_die "ssh needs a command after --"
	check_lab "$lab"
	d=$(labdir "$lab")
	hosts_of "$lab" | grep -qxF -- "$host" || die "no host '$host' in lab '$lab'"
	[ -f "$d/logins" ] || die "lab '$lab' has no logins (see 'caplab up' in --help)"
	grep -qxF -- "$user" "$d/users.txt" || die "no user '$user' in lab '$lab'"
	home=$(user_home "$user")
	addr=$(host_field "$lab" "$host" 3)
	# Each word quoted for the remote shell, so CMD's words arrive as given.
	exec ip netns exec "$(ns "$lab" sw)" ssh -F /dev/null -T \
		-i "$home/.ssh/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$d/known_hosts" \
		-o ConnectTimeout=10 -o LogLevel=ERROR -l "$user" "$addr" -- "$(printf '%q ' "$@")"
}

cmd_capd() {
	local lab=${1:-} host=${2:-} req=${3:-}
	[ -n "$req" ] || usage_die "capd needs LAB HOST stop|start|REQUEST_JSON"
	check_lab "$lab"
	hosts_of "$lab" | grep -qxF -- "$host" || die "no host '$host' in lab '$lab'"
	[ -f "$(labdir "$lab")/logins" ] || die "lab '$lab' runs no capd"
	case $req in
	stop) stop_pidfile "$(hostdir "$lab" "$host")/capd.pid" ;;
	start)
		start_capd "$lab" "$host"
		for _ in $(seq 1 100); do capd_ready "$lab" "$host" && return 0; sleep 0.1; done
		die "capd on $host did not answer within 10 s" ;;
	*) python3 "$HERE/ctlquery.py" "$(hostdir "$lab" "$host")/capd.sock" "$req" ;;
	esac
}
