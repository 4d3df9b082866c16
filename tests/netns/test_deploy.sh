#!/usr/bin/env bash
# tests/netns/test_deploy.sh - a real deployment, as docs/deploy.md tells
# it, on namespaces standing in for servers; no caplab.
#
#    D-srv1 192.0.2.1         D-srv2 192.0.2.2         D-srv3 192.0.2.3
#    overlay 10.77.0.1        overlay 10.77.0.2        overlay 10.77.0.3
#    authority (/etc/captun)  http :80                 joins later
#    capshim, capd, sshd      capshim, capd            capshim, capd
#        |                        |                        |
#    +---+------------------------+------------------------+---+
#    |  D-sw: bridge br0 192.0.2.254; ssh logins start here     |
#    +----------------------------------------------------------+
#
# 'make install DESTDIR' once; each server sees the installed tree as its
# /usr (deploylib.sh) and has its own /etc, /var/lib, /run. The daemons
# run as the installed units' ExecStart says, with the installed
# captun.conf, and must say READY=1 on $NOTIFY_SOCKET. Then: srv1 -> srv2
# works with nobody logged in, and is refused at once while user A is
# logged in to srv1 (PAM line of docs/deploy.md); srv3 joins while srv1
# and srv2 keep running (same pids); srv2's token is renewed live; srv2,
# stopped, misses a revoke and a new user, and catches up from a peer at
# its first contact. Also: systemd-analyze verify of the installed units.
. "$(dirname "$0")/lib.sh"
DEP_TAG=d . "$(dirname "$0")/deploylib.sh"

check "make install DESTDIR=... PREFIX=/usr" dep_install
t_show "$T_TMP/install.log" 5 >/dev/null
for f in usr/sbin/capshim usr/sbin/capd usr/sbin/capctl \
	lib/x86_64-linux-gnu/security/pam_capd.so usr/share/man/man8/capctl.8 \
	usr/share/man/man5/captun.conf.5 lib/systemd/system/captun-shim.service \
	etc/captun/captun.conf usr/share/bash-completion/completions/capctl; do
	[ -e "$DEST/$f" ] || [ "${f#lib/x86_64}" != "$f" ] || not_ok "installed $f"
done
check "pam_capd.so installed in the multiarch PAM directory" \
	sh -c "ls $DEST/lib/*/security/pam_capd.so"
dep_bridge
for s in 1 2 3; do
	check "server srv$s is up" srv_up "srv$s" "192.0.2.$s"
done
check "units verify (systemd-analyze verify, installed tree)" srv srv1 \
	systemd-analyze verify /lib/systemd/system/captun-shim.service \
	/lib/systemd/system/captun-capd.service /lib/systemd/system/captun-renew.timer \
	/lib/systemd/system/captun-renew.service /lib/systemd/system/captun-metrics.timer \
	/lib/systemd/system/captun-metrics.service /lib/systemd/system/captun-queue.service
# attach mode's drop-in, installed as docs/deploy.md says, on srv3 alone
# (srv3 runs the tunnel later: the drop-in only widens its bounding set)
check "attach mode's drop-in installed (srv3)" srv srv3 install -D -m 0644 \
	/usr/share/doc/captun/captun-shim-attach.conf \
	/etc/systemd/system/captun-shim.service.d/attach.conf
check "captun-shim.service with the attach drop-in verifies (srv3)" srv srv3 \
	systemd-analyze verify /lib/systemd/system/captun-shim.service
srv srv3 systemd-analyze security --offline=true captun-shim.service >"$T_TMP/attach-sec.out" 2>&1
check_grep "  ... it adds CAP_BPF to the bounding set" "CapabilityBoundingSet=~CAP_BPF +Service may load" "$T_TMP/attach-sec.out"
check_grep "  ... not CAP_SYS_ADMIN" "CapabilityBoundingSet=~CAP_SYS_ADMIN +Service has no administrator" "$T_TMP/attach-sec.out"
check_grep "  ... exposure OK or better" "exposure level for captun-shim.service: [0-9.]+ (OK|SAFE|PERFECT)" \
	"$T_TMP/attach-sec.out"
srv srv3 rm -rf /etc/systemd/system/captun-shim.service.d
for u in shim capd queue; do
	verdict=$(srv srv1 systemd-analyze security --offline=true \
		"/lib/systemd/system/captun-$u.service" 2>/dev/null |
		sed -n 's/.*exposure level for .*: \([0-9.]* [A-Z]*\).*/\1/p')
	echo "# systemd-analyze security captun-$u.service: $verdict"
	check "captun-$u.service: exposure '$verdict' is OK or better" \
		sh -c "echo '$verdict' | grep -Eq '^[0-9.]+ (OK|SAFE|PERFECT)\$'"
done

# ---- sections 3-6: authority, keys, hosts, bundles, join -----------------------
A=(srv srv1 capctl)
check "capctl init (srv1)" "${A[@]}" init
for s in 1 2 3; do
	check "capctl keygen (srv$s)" srv "srv$s" capctl keygen
done
srv srv2 cat /var/lib/captun/host.pub >"$T_TMP/srv2.pub"
srv srv3 cat /var/lib/captun/host.pub >"$T_TMP/srv3.pub"
check "host add srv2" "${A[@]}" host add srv2 --bit 2 --pub "$T_TMP/srv2.pub" \
	--overlay 10.77.0.2 --endpoint 192.0.2.2
check "host add srv1" "${A[@]}" host add srv1 --bit 1 --pub /var/lib/captun/host.pub \
	--overlay 10.77.0.1 --endpoint 192.0.2.1 --reach srv2
check "user add depa" "${A[@]}" user add depa --reach srv1
check "user add depb" "${A[@]}" user add depb --reach '*'
check "policy check" "${A[@]}" policy check
check "endpoint got the one default port" grep -q '"192.0.2.2:51900"' "$T_TMP/srv-srv1/etc/captun/policy.json"
for s in 1 2; do
	check "host bundle srv$s" "${A[@]}" host bundle "srv$s" --out "$T_TMP/srv$s.bundle"
done
for s in 1 2; do
	check "host join (srv$s)" srv "srv$s" capctl host join "$T_TMP/srv$s.bundle"
	check "the installed captun.conf routes the overlay prefix (srv$s)" \
		srv "srv$s" grep -qx 'route = 10.77.0.0/16' /etc/captun/captun.conf
	check "the PAM line (srv$s)" dep_pam_line "srv$s"
done

# ---- section 8: start as the units do -------------------------------------------
for s in 1 2; do
	check "captun-shim.service ExecStart says READY=1 (srv$s)" srv_unit "srv$s" captun-shim.service
	check "captun-capd.service ExecStart says READY=1 (srv$s)" srv_unit "srv$s" captun-capd.service
done
check "units start from the installed binaries with the config file" \
	grep -q "^/usr/sbin/capshim --config /etc/captun/captun.conf --foreground$" \
	<(unit_exec captun-shim.service)
check "srv2's HTTP server" srv_http srv2 10.77.0.2
check "srv1's HTTP server" srv_http srv1 10.77.0.1
check "sshd on srv1 (PAM service sshd)" dep_sshd srv1
for u in depa depb; do check "user $u on srv1" srv_user srv1 "$u"; done

# ---- section 9: the acceptance basics -------------------------------------------
curl_ok() { srv "$1" curl -sf -m 3 -o /dev/null "http://$2/"; }
curl_refused() { ! srv "$1" curl -sf -m 2 -o /dev/null "http://$2/"; }
peer_known() { srv "$1" capctl shim status --json | grep -q "\"name\":\"$2\""; }
serial() { # SERVER FILE
	srv "$1" capctl token show "$2" --authority /var/lib/captun/authority.pub 2>/dev/null |
		sed -n 's/^serial: *//p'
}
serial_is() { [ "$(serial "$1" "$2")" = "$3" ]; }
capd_status() { # SERVER
	srv "$1" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX)
s.connect("/run/captun/capd.sock")
s.sendall(b"{\"cmd\":\"status\"}\n")
print(s.makefile().readline().strip())'
}
check "capctl shim status (srv1)" srv srv1 capctl shim status
check "nobody on srv1: srv1 -> srv2 works" wait_until 15 curl_ok srv1 10.77.0.2
check "srv2 -> srv1 refused (srv2 reaches nobody)" curl_refused srv2 10.77.0.1
mkfifo "$T_TMP/fifoA"
ssh_as depa 192.0.2.1 sh -c 'echo in; read x' <"$T_TMP/fifoA" >"$T_TMP/A.out" 2>&1 &
HOLD=$!
exec {HFD}>"$T_TMP/fifoA"
check "user depa (user A of the acceptance example) logs in to srv1 over SSH" wait_until 15 grep -qx in "$T_TMP/A.out"
t0=$(ms_now)
rc=0; out=$(srv srv1 curl -sS -m 5 -o /dev/null -w '%{time_total}' http://10.77.0.2/ 2>&1) || rc=$?
check_gt "A on srv1: srv1 -> srv2 refused" "$rc" 0
check_lt "... at once, not a time-out ($(($(ms_now) - t0)) ms)" "$(($(ms_now) - t0))" 2500
check_grep "srv1's capd recorded A's session" '"event":"session_open".*"user":"depa"' \
	"$T_TMP/srv-srv1/varlib/captun/audit.log"
echo bye >&"$HFD"
exec {HFD}>&-
wait "$HOLD" 2>/dev/null
check "A logged out: srv1 -> srv2 works again" wait_until 5 curl_ok srv1 10.77.0.2
check_grep "pam_capd logged A's login to syslog" 'pam_capd.*open user=depa .*result=accepted' \
	"$T_TMP/srv-srv1/syslog"

# ---- section 10: srv3 joins while srv1 and srv2 run ------------------------------
p1=$(srv_unit_pid srv1 captun-shim.service)
p2=$(srv_unit_pid srv2 captun-shim.service)
check "host add srv3, published to srv1's capd" "${A[@]}" host add srv3 --bit 3 \
	--pub "$T_TMP/srv3.pub" --overlay 10.77.0.3 --endpoint 192.0.2.3 --reach srv1 \
	--publish /run/captun/capd.sock
check "grant srv1 srv3, published" "${A[@]}" grant srv1 srv3 --publish /run/captun/capd.sock
check "host bundle srv3" "${A[@]}" host bundle srv3 --out "$T_TMP/srv3.bundle"
check "host join (srv3)" srv srv3 capctl host join "$T_TMP/srv3.bundle"
check "captun-shim (srv3)" srv_unit srv3 captun-shim.service
check "captun-capd (srv3)" srv_unit srv3 captun-capd.service
check "srv3's HTTP server" srv_http srv3 10.77.0.3
check "srv3 -> srv1 works" wait_until 15 curl_ok srv3 10.77.0.1
check "srv1 -> srv3 works (srv1 took srv3 in live)" wait_until 10 curl_ok srv1 10.77.0.3
check "srv2 knows srv3 as a peer without a restart" wait_until 10 peer_known srv2 srv3
check "srv3 -> srv2 refused (not in srv3's grant)" curl_refused srv3 10.77.0.2
check_eq "srv1's capshim was not restarted" "$(srv_unit_pid srv1 captun-shim.service)" "$p1"
check_eq "srv2's capshim was not restarted" "$(srv_unit_pid srv2 captun-shim.service)" "$p2"
check "srv1's capshim still runs" kill -0 "$p1"

# ---- section 11: a token renewed live --------------------------------------------
old=$(serial srv2 /var/lib/captun/tokens/host-srv2.token)
check "capctl renew host:srv2, published" "${A[@]}" renew host:srv2 --publish /run/captun/capd.sock
new=$(serial srv1 /etc/captun/tokens/host-srv2.token)
check "renewal made a new serial ($old -> $new)" test "$new" -gt "$old"
for s in 2 3; do
	check "srv$s holds srv2's renewed token" wait_until 10 serial_is "srv$s" \
		/var/lib/captun/tokens/host-srv2.token "$new"
done
check "srv1 -> srv2 still works after the renewal" curl_ok srv1 10.77.0.2
check_eq "srv2's capshim was not restarted for it" "$(srv_unit_pid srv2 captun-shim.service)" "$p2"
st=$(capd_status srv2)
check_eq "capd status: srv2's host token valid" "$(jget "$st" "d['host_token']['valid']")" true
capd_serial_is() { [ "$(jget "$(capd_status "$1")" "d['host_token']['serial']")" = "$2" ]; }
check "capd on srv2 took the renewed token" wait_until 5 capd_serial_is srv2 "$new"

# ---- an offline host catches up on its first contact ------------------------------
srv_unit_stop srv2 captun-capd.service
srv_unit_stop srv2 captun-shim.service
check "srv2 is down" curl_refused srv1 10.77.0.2
check "while srv2 is down: user depc added, published" "${A[@]}" user add depc --reach srv2 \
	--publish /run/captun/capd.sock
check "while srv2 is down: revoke srv1 srv3, published" "${A[@]}" revoke srv1 srv3 \
	--publish /run/captun/capd.sock
check "srv2 does not have them yet" test ! -e "$T_TMP/srv-srv2/varlib/captun/tokens/user-depc.token"
check "captun-shim (srv2) again" srv_unit srv2 captun-shim.service
check "captun-capd (srv2) again" srv_unit srv2 captun-capd.service
check "srv2 caught up: user depc's token" wait_until 15 test -e "$T_TMP/srv-srv2/varlib/captun/tokens/user-depc.token"
check "srv2 caught up: the newest revocation list" wait_until 10 \
	cmp -s "$T_TMP/srv-srv1/etc/captun/revocation.list" "$T_TMP/srv-srv2/varlib/captun/revocation.list"
check "srv2's capshim logged where it caught up from" wait_until 5 grep -q "stored a newer" \
	"$T_TMP/srv-srv2/captun-shim.service.log"
check "srv1 -> srv2 works again" wait_until 10 curl_ok srv1 10.77.0.2
check "srv1 -> srv3 refused now (the revoke reached srv1)" wait_until 10 curl_refused srv1 10.77.0.3

# ---- metrics, SIGHUP, uninstall ---------------------------------------------------
srv srv1 capctl metrics >"$T_TMP/metrics" 2>&1
check_grep "capctl metrics: both daemons up" '^captun_up\{daemon="capd"\} 1' "$T_TMP/metrics"
check_grep "capctl metrics: per-peer counters" '^captun_shim_peer_rx_packets_total\{host="srv1",peer="srv2"\} [1-9]' "$T_TMP/metrics"
check_grep "capctl metrics: capd's host token expiry" '^captun_capd_host_token_expiry_timestamp_seconds\{host="srv1"\} [1-9]' "$T_TMP/metrics"
check "capctl metrics --out (textfile collector)" srv srv1 sh -c \
	'mkdir -p /var/lib/prometheus/node-exporter && capctl metrics --out /var/lib/prometheus/node-exporter/captun.prom && grep -q captun_up /var/lib/prometheus/node-exporter/captun.prom'
kill -HUP "$(srv_unit_pid srv1 captun-capd.service)"
check "capd reloads on SIGHUP (RELOADING=1 ... READY=1, audit log reopened)" wait_until 5 \
	grep -q "SIGHUP: audit log reopened" "$T_TMP/srv-srv1/captun-capd.service.log"
kill -HUP "$(srv_unit_pid srv1 captun-shim.service)"
check "capshim reloads on SIGHUP" wait_until 5 grep -q "SIGHUP: reloaded" \
	"$T_TMP/srv-srv1/captun-shim.service.log"
check "srv1 -> srv2 works after the reloads" curl_ok srv1 10.77.0.2
check "make uninstall DESTDIR=..." make -C "$NETNS_ROOT" --no-print-directory -s uninstall \
	SAN="$([ "$(basename "$CAPTUN_BIN")" = san ] && echo 1 || echo 0)" BUILD="$CAPTUN_BIN" \
	DESTDIR="$DEST" PREFIX=/usr
check "uninstall removed the programs" test ! -e "$DEST/usr/sbin/capshim"
check "uninstall kept the configuration" test -e "$DEST/etc/captun/captun.conf"
bad=""
for f in "$T_TMP"/srv-*/captun-*.log; do
	grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" && bad="$bad $f"
done
check_eq "no sanitizer report in the daemons' logs" "$bad" ""
finish
