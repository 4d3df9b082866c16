/*
 * shim/main.c - capshim: command line, setup and teardown; the event
 * loop is loop.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "attach.h"
#include "config.h"
#include "daemon.h"
#include "sdnotify.h"
#include "shim.h"
#include "version.h"

enum main_default {
	DEFAULT_PORT = CAPTUN_PORT,
	DEFAULT_CONNTRACK = 65536,
	UNDERLAY_MTU = 1500,
	CHACHA_BLOCK = 64,
	EXIT_USAGE = 2,
	EXIT_SETUP = 1,
};

/* Long options without a short one (attach mode). */
enum main_option {
	OPT_BPF_DIR = 1000,
	OPT_CGROUP,
	OPT_NON_CAPTUN,
	OPT_DETACH,
};

static const char usage_text[] =
"Usage: capshim [--config FILE] [--dir DIR] [options]\n"
"       capshim [--config FILE] [--dir DIR] --attach IFNAME [options]\n"
"       capshim --detach IFNAME [--bpf-dir DIR]\n"
"\n"
"capshim is captun's data plane. It creates a TUN interface holding this\n"
"host's overlay addresses, carries IP packets to the other hosts of the\n"
"network over encrypted UDP (a Noise IK handshake, ChaCha20-Poly1305), and\n"
"stamps every packet with the capability epoch this host sends under. A\n"
"receiver delivers a packet only if the sender's announced capability - the\n"
"host's grant ANDed with the grants of every user logged in on it - holds\n"
"the receiver's bit. A packet this host's own capability does not allow\n"
"never leaves: the local application gets a TCP RST or an ICMP\n"
"administratively-prohibited at once.\n"
"\n"
"Options:\n"
"      --config FILE    the configuration file (default " CAPTUN_CONFIG_PATH "):\n"
"                       its global 'dir' and the keys of its [capshim]\n"
"                       section, which are these long options without\n"
"                       '--'; options given here override it\n"
"  -d, --dir DIR        host state directory (default " CAPTUN_STATE_DIR "),\n"
"                       holding:\n"
"                         host.key          this host's private keys (0600)\n"
"                         authority.pub     the network authority's key\n"
"                         tokens/host-*.token  host tokens of every host\n"
"                         revocation.list   the authority's revocations (optional)\n"
"                         policy.json       for peers' endpoints (optional)\n"
"                       capshim writes DIR/epoch, its last capability epoch.\n"
"  -i, --ifname NAME    TUN interface name (default captun0)\n"
"  -p, --port PORT      UDP port to listen on, IPv4 and IPv6 (default " CAPTUN_PORT_TEXT ")\n"
"  -r, --route PREFIX   route the overlay prefix PREFIX (10.77.0.0/16, fd77::/64)\n"
"                       into the interface at start, so that hosts added\n"
"                       while capshim runs are reached without a new route;\n"
"                       repeatable (up to 8)\n"
"  -m, --mtu MTU        TUN MTU (default 1408: 1500 less the overhead of an\n"
"                       IPv6 underlay, 1416, rounded down to a multiple of 64,\n"
"                       ChaCha20's block, so that full-size packets are\n"
"                       encrypted in whole blocks)\n"
"  -c, --control PATH   control socket (default /run/captun/IFNAME.sock); its\n"
"                       directory must be root's and writable by no one else\n"
"      --control-mode MODE\n"
"                       its permissions, octal (default 0660: root and the\n"
"                       control group may connect; 0666 lets every local\n"
"                       user read the status). Whoever connects, only root\n"
"                       may change anything (SO_PEERCRED), and a non-root\n"
"                       user gets 4 connections and 20 requests a second\n"
"      --control-group GROUP\n"
"                       the socket's group (default: captun if the system\n"
"                       has that group, else root)\n"
"  -s, --strict         judge every packet by the sender's capability alone;\n"
"                       by default replies to flows this host opened pass\n"
"      --no-offload     no TUN/UDP segmentation offloads\n"
"  -t, --threads N      spread the encryption and decryption of each batch of\n"
"                       packets over N threads (1..16; default: the number of\n"
"                       online CPUs); everything else stays in one thread, and\n"
"                       packets leave and are delivered in the order they came\n"
"      --xdp IFNAME     attach an XDP program to the underlay interface IFNAME\n"
"                       that drops, before user space, datagrams to the port\n"
"                       whose receiver index capshim never handed out and\n"
"                       handshake messages over a per-source budget (counted:\n"
"                       \"xdp\" in the status); detached when capshim stops\n"
"      --underlay-guard close the underlay to all but the tunnel: an nftables\n"
"                       table (inet captun_guard_IFNAME) that drops every packet\n"
"                       arriving on other interfaces than lo and IFNAME, except\n"
"                       UDP PORT from the peers' endpoints, replies to this\n"
"                       host's own connections, IPv6 neighbour discovery and\n"
"                       the --underlay-allow exceptions; drops are counted\n"
"                       (nft list counter inet captun_guard_IFNAME dropped).\n"
"                       Removed when capshim stops cleanly, kept if it dies.\n"
"      --underlay-allow PROTO/PORT[-PORT][@ADDR[/PLEN]]\n"
"                       an exception to the guard (repeatable, up to 32), e.g.\n"
"                       tcp/22@192.0.2.0/24 for ssh from a management network\n"
"  -f, --foreground     stay in the foreground and log to stderr\n"
"      --pidfile PATH   write the daemon's pid to PATH\n"
"      --test-skip-sender-check\n"
"                       FOR TESTS ONLY: send what this host's capability\n"
"                       forbids, as a rogue host would, so that tests can\n"
"                       show receivers refusing it\n"
"      --test-rekey-after SECONDS\n"
"                       FOR TESTS ONLY: rekey sessions after SECONDS instead\n"
"                       of 120, to exercise key rotation in a short test\n"
"      --flow-log-max-bytes BYTES\n"
"                       rotate DIR/flows.log, the denied-flow records, past\n"
"                       BYTES (default 16777216, at least 65536)\n"
"      --flow-log-files N\n"
"                       rotated files kept, flows.log.1 .. flows.log.N\n"
"                       (default 4): the records never take more than\n"
"                       (N + 1) * BYTES on disk\n"
"      --flow-log-rate N\n"
"                       denied flows written one line each per second\n"
"                       (default 50, burst 4 * N); past that, one summary\n"
"                       line a second per kind says \"and N more like this\"\n"
"      --test-spread-always\n"
"                       FOR TESTS ONLY: hand every batch of two packets or more\n"
"                       to the --threads workers, however small, so that tests\n"
"                       exercise them\n"
"      --bench-no-capability-check\n"
"                       FOR BENCHMARKS ONLY: deliver and send without any\n"
"                       capability check, to measure what the check costs\n"
"\n"
"Attach mode: under an existing mesh (wireguard-go, WireGuard, Nebula,\n"
"Tailscale: any TUN or Ethernet interface), with no tunnel of its own.\n"
"eBPF programs on IFNAME stamp each packet to a captun host with this\n"
"host's capability epoch and verify, enforce and strip it on the way in;\n"
"cgroup hooks make connect()/sendmsg() to a forbidden host fail at once\n"
"(EPERM), logged with the process; connections that become forbidden are\n"
"aborted. Announcements and policy objects travel as UDP datagrams on\n"
"--port between the hosts' overlay addresses, over the mesh.\n"
"Once attached capshim gives up every capability (bounding set included,\n"
"no_new_privs): maps, ring buffer and socket iterator need none once open.\n"
"A helper forked before that, capshim-priv, keeps CAP_NET_ADMIN alone and\n"
"only removes the MTU routes at a clean stop.\n"
"  -a, --attach IFNAME  attach to the mesh interface IFNAME (it must exist;\n"
"                       its MTU must leave 8 bytes for the stamp: captun\n"
"                       adds a route per captun host with MTU-8)\n"
"      --bpf-dir DIR    where maps and links are pinned (bpffs; default\n"
"                       /sys/fs/bpf/captun/IFNAME). If capshim dies they stay\n"
"                       and the kernel keeps enforcing; the next capshim on\n"
"                       DIR takes them over. A clean stop removes them.\n"
"      --cgroup PATH    cgroup2 root for the connect/sendmsg hooks (default:\n"
"                       found in /proc/self/mountinfo). They act only in\n"
"                       capshim's network namespace.\n"
"      --non-captun pass|drop\n"
"                       packets from mesh peers that are no captun host\n"
"                       (default pass, to roll captun out host by host)\n"
"      --detach IFNAME  remove what a capshim that died left attached to\n"
"                       IFNAME (its --bpf-dir, if not the default), and exit\n"
"  -h, --help           this text\n"
"  -V, --version        print the version\n"
"\n"
"Control socket: JSON lines. {\"cmd\":\"status\"} (anyone who may connect)\n"
"answers with the\n"
"host, epoch, mask, peers, sessions, counters and drops by reason;\n"
"{\"cmd\":\"capability\",\"users\":[BASE64 USER TOKEN...]} (root) sets this\n"
"host's capability from the tokens of the users logged in on it.\n"
"\n"
"Signals: SIGTERM and SIGINT stop capshim cleanly (the interface is\n"
"removed). SIGHUP re-reads the tokens and the revocation list, as the\n"
"control socket's reload does. Under systemd (Type=notify) capshim says\n"
"READY=1 once the interface, sockets and capability are in place.\n"
"\n"
"Exit status: 0 after a clean stop, 1 if setup failed, 2 on a usage error.\n"
"\n"
"Example:\n"
"  capshim --config " CAPTUN_CONFIG_PATH " --foreground\n";

/* Long options without a short letter. */
enum main_opt {
	OPT_XDP = 0x100,
	OPT_CONTROL_MODE,
	OPT_CONTROL_GROUP,
};

static int parse_args(int argc, char **argv, struct shim_config *cfg,
		      const char **pidfile)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "control", required_argument, NULL, 'c' },
		{ "control-mode", required_argument, NULL, OPT_CONTROL_MODE },
		{ "control-group", required_argument, NULL, OPT_CONTROL_GROUP },
		{ "strict", no_argument, NULL, 's' },
		{ "no-offload", no_argument, NULL, 'O' },
		{ "threads", required_argument, NULL, 't' },
		{ "test-spread-always", no_argument, NULL, 'W' },
		{ "xdp", required_argument, NULL, OPT_XDP },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "test-skip-sender-check", no_argument, NULL, 'T' },
		{ "bench-no-capability-check", no_argument, NULL, 'B' },
		{ "test-rekey-after", required_argument, NULL, 'R' },
		{ "underlay-guard", no_argument, NULL, 'G' },
		{ "underlay-allow", required_argument, NULL, 'A' },
		{ "flow-log-max-bytes", required_argument, NULL, 'X' },
		{ "flow-log-files", required_argument, NULL, 'K' },
		{ "flow-log-rate", required_argument, NULL, 'L' },
		{ "route", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "attach", required_argument, NULL, 'a' },
		{ "bpf-dir", required_argument, NULL, OPT_BPF_DIR },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "non-captun", required_argument, NULL, OPT_NON_CAPTUN },
		{ "detach", required_argument, NULL, OPT_DETACH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end, guard_err[256], cerr[CONFIG_ERR_MAX];
	long v;
	int c;

	if (config_argv_build("capshim", opts, argc, argv, &argc, &argv, cerr,
			      sizeof(cerr)) < 0) {
		fprintf(stderr, "capshim: %s\n", cerr);
		return -EINVAL;
	}
	cfg->dir = CAPTUN_STATE_DIR;
	cfg->ifname = CAPTUN_IFNAME;
	cfg->control_mode = 0660;
	cfg->port = DEFAULT_PORT;
	cfg->rekey_after_s = PROTO_REKEY_AFTER_TIME_S;
	cfg->offload = true;
	while ((c = getopt_long(argc, argv, "d:i:p:m:c:t:r:sfhVa:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case OPT_DETACH:
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "capshim: interface name must be 1..%d characters\n",
					IFNAMSIZ - 1);
				return -EINVAL;
			}
			cfg->attach = optarg;
			cfg->ifname = optarg;
			cfg->detach = c == OPT_DETACH;
			break;
		case OPT_BPF_DIR:
			cfg->bpf_dir = optarg;
			break;
		case OPT_CGROUP:
			cfg->cgroup = optarg;
			break;
		case OPT_NON_CAPTUN:
			if (strcmp(optarg, "pass") != 0 && strcmp(optarg, "drop") != 0) {
				fprintf(stderr, "capshim: --non-captun wants pass or drop, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			cfg->drop_others = strcmp(optarg, "drop") == 0;
			break;
		case 'd':
			cfg->dir = optarg;
			break;
		case 'i':
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "capshim: interface name must be 1..%d characters\n",
					IFNAMSIZ - 1);
				return -EINVAL;
			}
			cfg->ifname = optarg;
			break;
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 65535) {
				fprintf(stderr, "capshim: --port wants 1..65535, not '%s'\n", optarg);
				return -EINVAL;
			}
			cfg->port = (uint16_t)v;
			break;
		case 'm':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1280 || v > SHIM_MTU_MAX) {
				fprintf(stderr, "capshim: --mtu wants 1280..%d, not '%s'\n",
					SHIM_MTU_MAX, optarg);
				return -EINVAL;
			}
			cfg->mtu = (unsigned)v;
			break;
		case 'c':
			cfg->control = optarg;
			break;
		case OPT_CONTROL_MODE:
			errno = 0;
			v = strtol(optarg, &end, 8);
			if (errno || *end || !*optarg || v < 0 || v > 0777) {
				fprintf(stderr, "capshim: --control-mode wants octal permissions "
					"like 0660, not '%s'\n", optarg);
				return -EINVAL;
			}
			cfg->control_mode = (unsigned)v;
			break;
		case OPT_CONTROL_GROUP:
			cfg->control_group = optarg;
			break;
		case 's':
			cfg->strict = true;
			break;
		case 'O':
			cfg->offload = false;
			break;
		case 'W':
			cfg->spread_always = true;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > WORKERS_MAX) {
				fprintf(stderr, "capshim: --threads wants 1..%d, not '%s'\n",
					WORKERS_MAX, optarg);
				return -EINVAL;
			}
			cfg->threads = (unsigned)v;
			break;
		case OPT_XDP:
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "capshim: --xdp wants an interface name of 1..%d characters\n",
					IFNAMSIZ - 1);
				return -EINVAL;
			}
			cfg->xdp = optarg;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'P':
			*pidfile = optarg;
			break;
		case 'T':
			cfg->skip_sender_check = true;
			break;
		case 'B':
			cfg->no_cap_check = true;
			break;
		case 'R':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > PROTO_REKEY_AFTER_TIME_S) {
				fprintf(stderr, "capshim: --test-rekey-after wants 1..%d seconds\n",
					PROTO_REKEY_AFTER_TIME_S);
				return -EINVAL;
			}
			cfg->rekey_after_s = (unsigned)v;
			break;
		case 'r':
			if (shim_route_parse(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case 'C':
			break;	/* read by config_argv_build */
		case 'V':
			puts(CAPTUN_VERSION_LINE("capshim"));
			exit(0);
		case 'G':
			cfg->guard.on = true;
			break;
		case 'A':
			if (cfg->guard.nallow >= SHIM_GUARD_ALLOW_MAX) {
				fprintf(stderr, "capshim: at most %d --underlay-allow\n",
					SHIM_GUARD_ALLOW_MAX);
				return -EINVAL;
			}
			if (!shim_guard_allow_parse(optarg, &cfg->guard.allow[cfg->guard.nallow++],
						    guard_err, sizeof(guard_err))) {
				fprintf(stderr, "capshim: --underlay-allow %s\n", guard_err);
				return -EINVAL;
			}
			break;
		case 'X':
		case 'K':
		case 'L':
			if (shim_flows_option(cfg, c, optarg) < 0)
				return -EINVAL;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "capshim: see 'capshim --help'\n");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "capshim: unexpected argument '%s'; see 'capshim --help'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (cfg->guard.nallow && !cfg->guard.on) {
		fprintf(stderr, "capshim: --underlay-allow without --underlay-guard\n");
		return -EINVAL;
	}
	if (!cfg->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->threads = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
	}
	/*
	 * Whole ChaCha20 blocks for full-size packets: libcrypto then needs
	 * no call for a last partial block (9% less CPU per GB measured).
	 */
	if (!cfg->mtu)
		cfg->mtu = (UNDERLAY_MTU - 40 - 8 - PROTO_OVERHEAD) / CHACHA_BLOCK * CHACHA_BLOCK;
	return 0;
}

static int setup_tun(struct shim *s)
{
	int ret;

	ret = tun_open(&s->tun, s->cfg.ifname, s->cfg.offload);
	if (ret < 0) {
		shim_log(LOG_ERR, "TUN %s: %s", s->cfg.ifname, strerror(-ret));
		return ret;
	}
	ret = tun_mtu_set(&s->tun, s->cfg.mtu);
	if (ret == 0 && (s->self.flags & WIRE_HOST_OVERLAY4)) {
		struct in_addr a;

		memcpy(&a, s->self.overlay4, sizeof(a));
		ret = tun_addr_add(&s->tun, AF_INET, &a, 32);
	}
	if (ret == 0 && (s->self.flags & WIRE_HOST_OVERLAY6))
		ret = tun_addr_add(&s->tun, AF_INET6, s->self.overlay6, 128);
	if (ret == 0)
		ret = tun_up(&s->tun);
	for (size_t i = 0; ret == 0 && i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->has4)
			ret = tun_route_add(&s->tun, AF_INET, &p->overlay4.s6_addr[12], 32);
		if (ret == 0 && p->has6)
			ret = tun_route_add(&s->tun, AF_INET6, &p->overlay6, 128);
	}
	if (ret == 0)
		ret = shim_routes_add(s);
	if (ret < 0)
		shim_log(LOG_ERR, "configuring %s: %s", s->tun.name, strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	static struct shim s;
	const char *pidfile = NULL, *err = NULL;
	char control[108];
	int ret, status = EXIT_SETUP;

	if (parse_args(argc, argv, &s.cfg, &pidfile) < 0)
		return EXIT_USAGE;
	if (s.cfg.detach)
		return shim_attach_detach_cmd(&s.cfg);
	if (sodium_init() < 0) {
		fprintf(stderr, "capshim: libsodium failed to initialise\n");
		return EXIT_SETUP;
	}
	s.tun.fd = s.udp4.fd = s.udp6.fd = s.epfd = s.guard.fd = -1;
	if (!s.cfg.control) {
		snprintf(control, sizeof(control), "/run/captun/%s.sock", s.cfg.ifname);
		s.cfg.control = control;
	}
	if (shim_state_load(&s) < 0)
		goto out_state;
	if (conntrack_create(&s.ct, DEFAULT_CONNTRACK) < 0 ||
	    shim_datapath_init(&s) < 0) {
		shim_log(LOG_ERR, "out of memory");
		goto out_data;
	}
	if (s.cfg.attach) {
		status = shim_attach_run(&s, pidfile);
		goto out_data;
	}
	ret = udp_open(&s.udp4, AF_INET, s.cfg.port, s.cfg.offload);
	if (ret < 0) {
		shim_log(LOG_ERR, "UDP port %u (IPv4): %s", s.cfg.port, strerror(-ret));
		goto out_data;
	}
	ret = udp_open(&s.udp6, AF_INET6, s.cfg.port, s.cfg.offload);
	if (ret < 0)
		shim_log(LOG_WARNING, "UDP port %u (IPv6): %s; IPv4 underlay only",
			 s.cfg.port, strerror(-ret));
	ret = shim_flows_open(&s);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s/flows.log: %s", s.cfg.dir, strerror(-ret));
		goto out_udp;
	}
	if (s.cfg.xdp && shim_xdp_open(&s, s.cfg.xdp) < 0)
		goto out_udp;
	if (setup_tun(&s) < 0)
		goto out_udp;
	for (size_t i = 0; i < s.npeers; i++)
		shim_peer_mtu_update(&s, &s.peers[i]);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0)
		goto out_tun;
	ret = shim_ctl_open(&s, s.cfg.control);
	if (ret < 0) {
		shim_log(LOG_ERR, "control socket %s: %s", s.cfg.control,
			 ret == -EPERM ? "its directory must be root's and writable by "
			 "no one else" : ret == -ENOENT && s.cfg.control_group ?
			 "no such --control-group" : strerror(-ret));
		goto out_ep;
	}
	if (shim_cap_start(&s, &err) < 0) {
		shim_log(LOG_ERR, "initial capability: %s", err ? err : "failed");
		goto out_ctl;
	}
	if (shim_guard_start(&s) < 0)
		goto out_ctl;
	shim_log(LOG_INFO, "host %s (bit %u) on %s, port %u, %zu peers, epoch %u (%s)%s%s, "
		 "%u threads",
		 s.self.name, s.self.bit, s.tun.name, s.udp4.port, s.npeers,
		 s.cap.epoch, s.cap_origin, s.cfg.no_cap_check ? ", NO CAPABILITY CHECK (benchmark)" :
		 s.cfg.strict ? ", strict" : "",
		 s.tun.vnet ? ", offloads" : "", s.cfg.threads);
	if (!s.cfg.foreground) {
		shim_log_syslog(true);
		if (daemon_detach(pidfile) < 0)
			goto out_ctl;
	} else if (pidfile && (ret = daemon_pidfile_write(pidfile)) < 0) {
		shim_log(LOG_WARNING, "pid file %s: %s", pidfile, strerror(-ret));
	}
	/*
	 * Once the TUN device, sockets and routes exist nothing else needs a
	 * capability: a flaw in packet handling must not reconfigure the host.
	 */
	ret = daemon_privileges_drop();
	if (ret < 0) {
		shim_log(LOG_ERR, "dropping capabilities: %s", strerror(-ret));
		goto out_ctl;
	}
	/* after the fork and the drop: threads inherit neither otherwise */
	ret = workers_create(&s.workers, s.cfg.threads);
	if (ret < 0) {
		shim_log(LOG_ERR, "starting %u threads: %s", s.cfg.threads, strerror(-ret));
		goto out_ctl;
	}
	if (s.cfg.spread_always)
		workers_mode_set(s.workers, WORKERS_ALWAYS);
	shim_service_ready(&s);
	status = shim_run(&s) < 0 ? EXIT_SETUP : 0;
	sdnotify_send("STOPPING=1");
	workers_destroy(s.workers);
	s.workers = NULL;
	shim_log(LOG_INFO, "stopping");
	shim_guard_stop(&s);
	if (pidfile)
		unlink(pidfile);
out_ctl:
	shim_ctl_close(&s);
out_ep:
	close(s.epfd);
out_tun:
	tun_close(&s.tun);
out_udp:
	shim_flows_close(&s);
	if (s.cfg.xdp)
		shim_xdp_close(&s);
	udp_close(&s.udp4);
	udp_close(&s.udp6);
out_data:
	shim_datapath_free(&s);
	if (s.ct)
		conntrack_destroy(s.ct);
out_state:
	shim_sync_free(&s);
	shim_peers_free(&s);
	revocation_free(&s.revoked);
	noise_static_wipe(&s.stat);
	keys_host_wipe(&s.keys);
	return status;
}
