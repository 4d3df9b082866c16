# tools/caplab/mesh.sh - caplab's meshes (`caplab up --mesh KIND`); sourced
# by caplab, whose variables (BIN, ME) and helpers (die, labdir, ns,
# hosts_of, host_field) it uses.
#
# Instead of capshim's own tunnel, the hosts get an existing mesh between
# their underlay addresses, with the same overlay addresses captun's host
# tokens carry, and capshim runs in attach mode on its interface:
#
#   wireguard-go  interface wg0 in every host, one peer per other host
#                 (allowed-ips its overlay /32 and /128), listen port 51820.
#                 Each wireguard-go gets a private /run (its UAPI socket is
#                 /run/wireguard/wg0.sock, the same name in every host);
#                 `wg` reaches it through nsenter into that mount namespace.
#   nebula        interface nebula1, a lab CA (nebula-cert), a certificate
#                 per host with its overlay IPv4 (Nebula 1.6 carries no
#                 IPv6), every host in every static_host_map, port 4242,
#                 a firewall that lets everything through (captun decides).
#
# capshim --attach runs under `nsenter --net` (not `ip netns exec`, which
# hides /sys/fs/bpf), pinning under /sys/fs/bpf/captun/LAB-HOST.
# capshim mounts bpffs on /sys/fs/bpf if nothing is mounted there.
#
# Files: RUNDIR/LAB/mesh (the kind), hosts/HOST/mesh/ (keys, certificates,
# config, the mesh daemon's pid and log).

MESH_WG_PORT=51820
MESH_NEBULA_PORT=4242

# Polls CMD every 50 ms for SECS seconds (a loaded machine starts daemons slowly).
mesh_wait() { # SECS CMD...
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

mesh_kind() { cat "$(labdir "$1")/mesh" 2>/dev/null; }	# LAB: "" for capshim's tunnel

mesh_iface() { # KIND
	case $1 in
	wireguard-go) echo wg0 ;;
	nebula) echo nebula1 ;;
	esac
}

mesh_bpf_dir() { echo "/sys/fs/bpf/captun/$1-$2"; }	# LAB HOST

mesh_check() { # KIND
	case $1 in
	wireguard-go)
		command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
			die "--mesh wireguard-go needs wireguard-go and wg (make deps)" ;;
	nebula)
		command -v nebula >/dev/null && command -v nebula-cert >/dev/null ||
			die "--mesh nebula needs nebula and nebula-cert (make deps)" ;;
	*) usage_die "--mesh wants wireguard-go or nebula, not '$1'" ;;
	esac
}

# wg in the mount and network namespaces of HOST's wireguard-go.
mesh_wg() { # LAB HOST WG-ARGS...
	local pid
	pid=$(cat "$(hostdir "$1" "$2")/mesh/daemon.pid")
	shift 2
	nsenter -t "$pid" -m -n wg "$@"
}

mesh_wg_up() { # LAB
	local lab=$1 d host n md pid
	d=$(labdir "$lab")
	while read -r host _ _ _ _ _; do
		md=$(hostdir "$lab" "$host")/mesh
		mkdir -p "$md"
		(umask 077; wg genkey >"$md/private.key")
		wg pubkey <"$md/private.key" >"$md/public.key"
		n=$(ns "$lab" "$host")
		ip netns exec "$n" setsid sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run &&
			WG_PROCESS_FOREGROUND=1 exec wireguard-go -f wg0' \
			</dev/null >>"$md/daemon.log" 2>&1 &
		echo $! >"$md/daemon.pid"
	done <"$d/hosts.txt"
	while read -r host _ u4 _ o4 o6; do
		md=$(hostdir "$lab" "$host")/mesh
		n=$(ns "$lab" "$host")
		mesh_wait 20 mesh_wg "$lab" "$host" show wg0 ||
			die "$host: wireguard-go did not come up in 20 s: $(tail -n 3 "$md/daemon.log" | tr '\n' ' ')"
		mesh_wg "$lab" "$host" set wg0 listen-port "$MESH_WG_PORT" private-key /dev/stdin \
			<"$md/private.key" || die "$host: wg set failed"
		local peer pu4 po4 po6 allowed
		while read -r peer _ pu4 _ po4 po6; do
			[ "$peer" = "$host" ] && continue
			allowed=$po4/32
			[ "$po6" != - ] && allowed=$allowed,$po6/128
			mesh_wg "$lab" "$host" set wg0 peer "$(cat "$(hostdir "$lab" "$peer")/mesh/public.key")" \
				endpoint "$pu4:$MESH_WG_PORT" allowed-ips "$allowed" persistent-keepalive 0
		done <"$d/hosts.txt"
		ip -n "$n" addr add "$o4/16" dev wg0
		[ "$o6" != - ] && ip -n "$n" addr add "$o6/64" dev wg0 nodad
		ip -n "$n" link set wg0 up
	done <"$d/hosts.txt"
}

mesh_nebula_up() { # LAB
	local lab=$1 d host n md u4 o4 peer pu4 po4
	d=$(labdir "$lab")
	mkdir -p "$d/nebula"
	nebula-cert ca -name "caplab-$lab" -duration 24h -out-crt "$d/nebula/ca.crt" \
		-out-key "$d/nebula/ca.key" >/dev/null
	while read -r host _ u4 _ o4 _; do
		md=$(hostdir "$lab" "$host")/mesh
		mkdir -p "$md"
		nebula-cert sign -name "$host" -ip "$o4/16" -ca-crt "$d/nebula/ca.crt" \
			-ca-key "$d/nebula/ca.key" -out-crt "$md/host.crt" -out-key "$md/host.key" >/dev/null
		{
			echo "pki: {ca: $d/nebula/ca.crt, cert: $md/host.crt, key: $md/host.key}"
			echo "static_host_map:"
			while read -r peer _ pu4 _ po4 _; do
				[ "$peer" = "$host" ] && continue
				echo "  \"$po4\": [\"$pu4:$MESH_NEBULA_PORT\"]"
			done <"$d/hosts.txt"
			cat <<-EOF
			lighthouse: {am_lighthouse: false, interval: 60, hosts: []}
			listen: {host: 0.0.0.0, port: $MESH_NEBULA_PORT}
			punchy: {punch: false}
			tun: {dev: nebula1, mtu: 1300, drop_local_broadcast: false, drop_multicast: false}
			logging: {level: warning}
			firewall:
			  outbound: [{port: any, proto: any, host: any}]
			  inbound: [{port: any, proto: any, host: any}]
			EOF
		} >"$md/config.yml"
		n=$(ns "$lab" "$host")
		ip netns exec "$n" setsid nebula -config "$md/config.yml" \
			</dev/null >>"$md/daemon.log" 2>&1 &
		echo $! >"$md/daemon.pid"
	done <"$d/hosts.txt"
	while read -r host _ _ _ _ _; do
		n=$(ns "$lab" "$host")
		md=$(hostdir "$lab" "$host")/mesh
		mesh_wait 20 sh -c "ip -n $n addr show nebula1 2>/dev/null | grep -q 'inet '" ||
			die "$host: nebula did not come up in 20 s: $(tail -n 3 "$md/daemon.log" | tr '\n' ' ')"
	done <"$d/hosts.txt"
}

mesh_up() { # LAB KIND
	local host
	echo "$2" >"$(labdir "$1")/mesh"
	case $2 in
	wireguard-go) mesh_wg_up "$1" ;;
	nebula) mesh_nebula_up "$1" ;;
	esac
	for host in $(hosts_of "$1"); do
		mesh_state "$1" "$host" >"$(hostdir "$1" "$host")/mesh/before.txt"
	done
}

# What attaching may change and detaching must restore, in one text: the
# interface (MTU, flags), its addresses, every route, the tc programs on it,
# and (wireguard-go) the mesh's own configuration.
mesh_state() { # LAB HOST
	local n iface kind
	n=$(ns "$1" "$2")
	kind=$(mesh_kind "$1")
	iface=$(mesh_iface "$kind")
	ip -n "$n" -d link show dev "$iface" | sed 's/ link\/none.*//'
	ip -n "$n" addr show dev "$iface"
	ip -n "$n" route show table all dev "$iface"
	ip -n "$n" -6 route show table all dev "$iface"
	ip netns exec "$n" bpftool net show dev "$iface" 2>&1
	ip netns exec "$n" tc filter show dev "$iface" ingress 2>&1
	ip netns exec "$n" tc filter show dev "$iface" egress 2>&1
	# wireguard-go lists peers in no fixed order: one sorted line per setting
	[ "$kind" != wireguard-go ] || mesh_wg "$1" "$2" showconf "$iface" |
		awk '/^\[/ {sec = $0; pk = ""; next} /^PublicKey/ {pk = $3} NF {print sec, pk, $0}' | sort
}

# capshim in attach mode on HOST's mesh interface.
mesh_start_shim() { # LAB HOST
	local d hd args; d=$(labdir "$1"); hd=$(hostdir "$1" "$2")
	args=$(cat "$hd/capshim.args")
	# shellcheck disable=SC2086 # args are words caplab wrote itself
	nsenter --net="/run/netns/$(ns "$1" "$2")" setsid "$BIN/capshim" --dir "$hd" \
		--attach "$(mesh_iface "$(mesh_kind "$1")")" --bpf-dir "$(mesh_bpf_dir "$1" "$2")" \
		--control "$hd/shim.sock" --foreground $args \
		</dev/null >>"$hd/capshim.log" 2>&1 &
	echo $! >"$hd/capshim.pid"
}

# After the lab's processes are gone: what a killed capshim left pinned.
mesh_down() { # LAB
	local dir
	for dir in /sys/fs/bpf/captun/"$1"-*; do
		[ -d "$dir" ] || continue
		"$BIN/capshim" --detach x --bpf-dir "$dir" >/dev/null 2>&1 || rm -rf "$dir"
	done
	rmdir /sys/fs/bpf/captun 2>/dev/null || true
}
