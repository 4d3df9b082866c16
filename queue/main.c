/*
 * queue/main.c - capqueue: command line, setup, privileges and the event
 * loop. One thread; signals through a signalfd, time through a timerfd.
 * In each turn capshim's lines are read before the queued packets, so that
 * a table pushed before a packet was sent decides it.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "capqueue.h"
#include "config.h"
#include "daemon.h"
#include "sdnotify.h"
#include "version.h"

enum main_const {
	TICK_MS = 100,
	EXIT_SETUP = 1,
	EXIT_USAGE = 2,
};

static const char usage_text[] =
"Usage: capqueue [options]\n"
"\n"
"capqueue is captun's NFQUEUE reader. It installs netfilter rules that\n"
"queue the first packet of every new flow (conntrack NEW) towards the\n"
"overlay interface, for IPv4 and IPv6, locally sent (OUTPUT) or routed\n"
"(FORWARD), and asks capshim, which holds this host's capability, for\n"
"each one's verdict; capshim pushes the destinations its capability allows\n"
"whenever that changes, and flows to those go on without asking. An allowed\n"
"flow goes on (established traffic is never queued, so it costs nothing);\n"
"a denied one is refused at once (TCP reset,\n"
"ICMP administratively prohibited: the application sees an error, not a\n"
"time-out), and capshim records it in DIR/flows.log with the local uid,\n"
"user, pid, command and executable that opened it (for routed traffic, the\n"
"input interface), and tells the receiving host under the same flow id.\n"
"\n"
"Fail closed: the rules stay when capqueue stops, and the kernel then drops\n"
"new flows to the overlay (unless --queue-bypass); while capshim does not\n"
"answer, capqueue refuses them. 'capctl shim status' shows the reader's\n"
"state.\n"
"\n"
"Options:\n"
"  -i, --ifname NAME    the overlay interface (default captun0)\n"
"  -c, --shim PATH      capshim's control socket (default\n"
"                       /run/captun/IFNAME.sock)\n"
"  -q, --queue-num N    the NFQUEUE number (default 4700)\n"
"      --mark HEX       the mark of refused packets (default 0x470000)\n"
"      --queue-bypass   let new flows through while no capqueue runs (fail\n"
"                       open; capshim still enforces, without attribution)\n"
"      --no-rules       do not install the rules (an admin keeps them)\n"
"      --remove-rules   remove the rules and exit\n"
"  -f, --foreground     stay in the foreground and log to stderr\n"
"      --pidfile PATH   write the daemon's pid to PATH\n"
"      --config FILE    the configuration file (default " CAPTUN_CONFIG_PATH "):\n"
"                       the keys of its [capqueue] section, which are these\n"
"                       long options without '--'; options here override it\n"
"  -h, --help           this text\n"
"  -V, --version        print the version\n"
"\n"
"Rules (iptables and ip6tables, table filter): chain CAPQ-IFNAME, jumped to\n"
"first from OUTPUT and FORWARD for packets out of IFNAME:\n"
"  -m mark --mark M/M -p tcp -j REJECT --reject-with tcp-reset\n"
"  -m mark --mark M/M -j REJECT --reject-with icmp-admin-prohibited\n"
"  -m conntrack --ctstate NEW -j NFQUEUE --queue-num N\n"
"\n"
"Privileges: after setup capqueue keeps only CAP_NET_ADMIN (verdicts),\n"
"CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (to find which process of which\n"
"user holds a socket, in /proc), and sets no_new_privs.\n"
"\n"
"Exit status: 0 after a clean stop, 1 if setup failed, 2 on a usage error.\n"
"\n"
"Example:\n"
"  capqueue --ifname captun0 --shim /run/captun/captun0.sock\n";

static bool use_syslog;

uint64_t capqueue_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void capqueue_log(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "capqueue: %s: ", names[prio & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static int parse_args(int argc, char **argv, struct capqueue_config *cfg, bool *remove)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "shim", required_argument, NULL, 'c' },
		{ "queue-num", required_argument, NULL, 'q' },
		{ "mark", required_argument, NULL, 'M' },
		{ "queue-bypass", no_argument, NULL, 'B' },
		{ "no-rules", no_argument, NULL, 'N' },
		{ "remove-rules", no_argument, NULL, 'R' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "config", required_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char shim[108];
	char cerr[CONFIG_ERR_MAX];
	unsigned long v;
	char *end;
	int c;

	if (config_argv_build("capqueue", opts, argc, argv, &argc, &argv, cerr,
			      sizeof(cerr)) < 0) {
		fprintf(stderr, "capqueue: %s\n", cerr);
		return -EINVAL;
	}

	cfg->ifname = "captun0";
	cfg->num = QUEUE_DEFAULT_NUM;
	cfg->mark = QUEUE_DEFAULT_MARK;
	cfg->rules = true;
	while ((c = getopt_long(argc, argv, "i:c:q:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!*optarg || strlen(optarg) >= IF_NAMESIZE || strlen(optarg) > 23) {
				fprintf(stderr, "capqueue: interface name must be 1..15 characters\n");
				return -EINVAL;
			}
			cfg->ifname = optarg;
			break;
		case 'c':
			cfg->shim = optarg;
			break;
		case 'q':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 65535) {
				fprintf(stderr, "capqueue: --queue-num wants 0..65535, not '%s'\n", optarg);
				return -EINVAL;
			}
			cfg->num = (unsigned)v;
			break;
		case 'M':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || v == 0 || v > UINT32_MAX) {
				fprintf(stderr, "capqueue: --mark wants a non-zero 32-bit mark, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			cfg->mark = (uint32_t)v;
			break;
		case 'B':
			cfg->bypass = true;
			break;
		case 'N':
			cfg->rules = false;
			break;
		case 'R':
			*remove = true;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'P':
			cfg->pidfile = optarg;
			break;
		case 'C':
			break;	/* read by config_argv_build */
		case 'V':
			puts(CAPTUN_VERSION_LINE("capqueue"));
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "capqueue: see 'capqueue --help'\n");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "capqueue: unexpected argument '%s'; see 'capqueue --help'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!cfg->shim) {
		snprintf(shim, sizeof(shim), "/run/captun/%s.sock", cfg->ifname);
		cfg->shim = shim;
	}
	return 0;
}

/*
 * Keeps CAP_NET_ADMIN (verdicts: every nfnetlink message is checked),
 * CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (other users' /proc/PID/fd);
 * drops everything else, the bounding set included, and sets no_new_privs.
 */
static int privileges_keep(void)
{
	static const int keep[] = { CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	for (int cap = 0; cap <= 63; cap++) {
		bool kept = false;

		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			kept |= keep[i] == cap;
		if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			return -errno;
	}
	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

struct ev {
	int fd;
	int kind;
};

enum { EV_SIG, EV_TICK, EV_NFQ, EV_LINK };

static void on_packet(void *arg, uint32_t id, const uint8_t *pkt, size_t len,
		      int64_t uid, uint32_t indev)
{
	capqueue_link_packet(arg, id, pkt, len, uid, indev);
}

/* The link's socket in the epoll set, watched for output when it has some. */
static void link_watch(int ep, struct capqueue_link *l, struct ev *lev, int *watched)
{
	int fd = capqueue_link_fd(l);
	struct epoll_event e = { .events = EPOLLIN | (capqueue_link_wants_write(l) ? EPOLLOUT : 0),
				 .data.ptr = lev };

	if (*watched >= 0 && *watched != fd) {
		epoll_ctl(ep, EPOLL_CTL_DEL, *watched, NULL);
		*watched = -1;
	}
	if (fd < 0)
		return;
	lev->fd = fd;
	if (epoll_ctl(ep, *watched == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) == 0)
		*watched = fd;
}

static int loop(struct capqueue_nfq *q, struct capqueue_link *l)
{
	struct itimerspec its = { { 0, TICK_MS * 1000000 }, { 0, TICK_MS * 1000000 } };
	struct ev sig = { -1, EV_SIG }, tick = { -1, EV_TICK }, nfq = { -1, EV_NFQ };
	struct ev lev = { -1, EV_LINK };
	int ep = epoll_create1(EPOLL_CLOEXEC), watched = -1, ret = 0;
	bool running = true;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (ep < 0 || sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	tick.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	nfq.fd = capqueue_nfq_fd(q);
	if (sig.fd < 0 || tick.fd < 0 || timerfd_settime(tick.fd, 0, &its, NULL) < 0) {
		ret = -errno;
		goto out;
	}
	for (struct ev *e = &sig; e; e = e == &sig ? &tick : e == &tick ? &nfq : NULL) {
		struct epoll_event ee = { .events = EPOLLIN, .data.ptr = e };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &ee) < 0) {
			ret = -errno;
			goto out;
		}
	}
	capqueue_link_tick(l);
	while (running) {
		struct epoll_event evs[8];
		bool packets = false;
		int n;

		link_watch(ep, l, &lev, &watched);
		n = epoll_wait(ep, evs, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct ev *e = evs[i].data.ptr;
			struct signalfd_siginfo si;
			uint64_t ticks;

			switch (e->kind) {
			case EV_SIG:
				while (read(e->fd, &si, sizeof(si)) == sizeof(si))
					if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
						running = false;
				break;
			case EV_TICK:
				if (read(e->fd, &ticks, sizeof(ticks)) == sizeof(ticks))
					capqueue_link_tick(l);
				break;
			case EV_NFQ:
				packets = true;	/* after capshim's lines: a push first */
				break;
			case EV_LINK:
				if (e->fd == capqueue_link_fd(l))
					capqueue_link_io(l, evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR),
							 evs[i].events & EPOLLOUT);
				break;
			}
		}
		if (packets)
			capqueue_nfq_readable(q);
	}
out:
	if (sig.fd >= 0)
		close(sig.fd);
	if (tick.fd >= 0)
		close(tick.fd);
	close(ep);
	return ret;
}

int main(int argc, char **argv)
{
	static struct capqueue_config cfg;
	struct capqueue_nfq *q = NULL;
	struct capqueue_link *l = NULL;
	bool remove = false;
	int ret, status = EXIT_SETUP;

	if (parse_args(argc, argv, &cfg, &remove) < 0)
		return EXIT_USAGE;
	if (remove)
		return capqueue_rules_remove(&cfg) < 0 ? EXIT_SETUP : 0;
	if (cfg.rules && capqueue_rules_install(&cfg) < 0)
		return EXIT_SETUP;
	ret = capqueue_link_new(&l, &cfg, NULL);
	if (ret == 0)
		ret = capqueue_nfq_open(&q, &cfg, on_packet, l);
	if (ret < 0) {
		capqueue_log(LOG_ERR, "NFQUEUE %u: %s%s", cfg.num, strerror(-ret),
			     ret == -EBUSY || ret == -EEXIST ? " (another reader holds it)" : "");
		goto out;
	}
	capqueue_link_attach(l, q);
	capqueue_log(LOG_INFO, "queue %u on %s, capshim %s, %s", cfg.num, cfg.ifname, cfg.shim,
		     cfg.bypass ? "fail open (--queue-bypass)" : "fail closed");
	if (!cfg.foreground) {
		use_syslog = true;
		openlog("capqueue", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		if (daemon_detach(cfg.pidfile) < 0)
			goto out;
	} else if (cfg.pidfile && daemon_pidfile_write(cfg.pidfile) < 0) {
		capqueue_log(LOG_WARNING, "%s: cannot write the pid", cfg.pidfile);
	}
	ret = privileges_keep();
	if (ret < 0) {
		capqueue_log(LOG_ERR, "dropping capabilities: %s", strerror(-ret));
		goto out;
	}
	sdnotify_sendf("READY=1\nSTATUS=queue %u on %s", cfg.num, cfg.ifname);
	status = loop(q, l) < 0 ? EXIT_SETUP : 0;
	capqueue_log(LOG_INFO, "stopping; the rules stay: new flows to %s now fail %s",
		     cfg.ifname, cfg.bypass ? "open" : "closed");
	if (cfg.pidfile)
		unlink(cfg.pidfile);
out:
	capqueue_link_free(l);
	capqueue_nfq_close(q);
	return status;
}
