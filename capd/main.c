/*
 * capd/main.c - capd: command line, setup, privileges, the event loop and
 * teardown. One thread; signals arrive through a signalfd and time through
 * a timerfd, so no work ever happens in a signal handler.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "breakglass.h"
#include "capd.h"
#include "config.h"
#include "daemon.h"
#include "sdnotify.h"
#include "version.h"

enum main_const {
	TICK_MS = 200,
	SHIM_TIMEOUT_MS = 2000,
	EXIT_SETUP = 1,
	EXIT_USAGE = 2,
	RENEW_WARN_DAYS = 7,
};

static const char usage_text[] =
"Usage: capd [--config FILE] [--dir DIR] [options]\n"
"\n"
"capd is captun's per-host session daemon. It keeps the list of login\n"
"sessions open on this host (the PAM module pam_capd.so tells it of each\n"
"one), verifies each user's signed token, and keeps this host's capability\n"
"- the host's grant ANDed with the grant of every user logged in on it -\n"
"in force in capshim, the data plane: when pam_open_session returns, the\n"
"narrowing is already enforced. It watches each session's process and\n"
"closes the session itself when that process exits, survives its own\n"
"restart (sessions come back from DIR/capd.state, dead ones are reaped),\n"
"verifies and spreads signed policy updates, and keeps a hash-chained\n"
"audit log.\n"
"\n"
"Options:\n"
"      --config FILE    the configuration file (default " CAPTUN_CONFIG_PATH "):\n"
"                       its global 'dir' and the keys of its [capd] section,\n"
"                       which are these long options without '--'; options\n"
"                       given here override it\n"
"  -d, --dir DIR        host state directory (default " CAPTUN_STATE_DIR "),\n"
"                       shared with capshim:\n"
"                         authority.pub     the network authority's key\n"
"                         host.pub or host.key  this host's keys (to find\n"
"                                           its own token)\n"
"                         tokens/host-*.token, tokens/user-*.token\n"
"                         revocation.list   the authority's revocations\n"
"                       capd writes DIR/capd.state (its sessions, 0600),\n"
"                       appends to DIR/audit.log (0600) and holds\n"
"                       DIR/capd.lock while it runs (one capd per DIR).\n"
"  -s, --socket PATH    control socket (default " CAPTUN_CAPD_SOCKET ")\n"
"  -S, --shim PATH      capshim's control socket (default: the configuration\n"
"                       file's [capshim] control, else " CAPTUN_RUN_DIR "/IFNAME.sock\n"
"                       with its [capshim] ifname, else " CAPTUN_IFNAME ")\n"
"  -i, --on-invalid refuse|isolate\n"
"                       a login by a user whose token is missing, expired\n"
"                       or revoked: refuse it (default), or accept it and\n"
"                       isolate the host (empty capability) while that user\n"
"                       is logged in. A token revoked while its user is\n"
"                       logged in isolates the host either way.\n"
"  -t, --shim-timeout MS\n"
"                       how long to wait for capshim's answer (default 2000)\n"
"      --break-glass-users LIST\n"
"                       users always let in to repair the host: where capd\n"
"                       would refuse their login (no valid token for them or\n"
"                       for the host, capshim not answering) it accepts it,\n"
"                       isolates the host while they are on, and logs it at\n"
"                       LOG_ALERT and in the audit log. Names separated by\n"
"                       commas; root is always one unless LIST is 'none'\n"
"                       (default " BREAKGLASS_USERS_DEFAULT ")\n"
"      --break-glass-groups LIST\n"
"                       members of these groups are break-glass users too;\n"
"                       missing groups are skipped; 'none' for no group\n"
"                       (default " BREAKGLASS_GROUPS_DEFAULT ")\n"
"      --renew-warn-days N\n"
"                       warn (log and status) when this host's token or a\n"
"                       logged-in user's token expires within N days\n"
"                       (default 7)\n"
"  -f, --foreground     stay in the foreground and log to stderr\n"
"      --pidfile PATH   write the daemon's pid to PATH\n"
"  -h, --help           this text\n"
"  -V, --version        print the version\n"
"\n"
"Control socket: JSON lines, one request and one answer per line\n"
"(capd/PROTOCOL.md). Root may open, close and publish; anyone may list\n"
"and ask for the status.\n"
"  {\"cmd\":\"open\",\"user\":U,\"service\":S,\"tty\":T,\"rhost\":R,\"pid\":P}\n"
"  {\"cmd\":\"close\",\"session\":ID}  or  {\"cmd\":\"close\",\"pid\":P}\n"
"  {\"cmd\":\"list\"}  {\"cmd\":\"status\"}\n"
"  {\"cmd\":\"publish\",\"objects\":[ARMORED TOKEN OR REVOCATION LIST...]}\n"
"\n"
"Failure semantics: a login capd cannot record, or whose new user capshim\n"
"cannot be told about, is refused. If capshim is unreachable it keeps\n"
"enforcing its last capability and capd pushes again once it is back. At\n"
"start capd pushes the capability of the sessions it restored before it\n"
"accepts any request, retrying until capshim answers.\n"
"\n"
"Audit log: DIR/audit.log gets one JSON line per session opened, closed\n"
"or reaped, refused login and capability change: {\"time\":...,\n"
"\"event\":..., <fields>, \"prev\":HEX}, where prev is the BLAKE2b-256 of\n"
"the previous line's bytes (64 zeros on the first line). The status\n"
"answer's audit_head is the hash of the last line, which anchors it.\n"
"\n"
"Sessions end by one rule: whether closed by request (logout), by its\n"
"process exiting, or found dead at a restart, a session lingers while any\n"
"process of its user runs on this host (by uid, in this network namespace),\n"
"so code left behind (nohup, setsid, a double fork) keeps the host\n"
"narrowed. A user with a token in DIR/tokens who runs processes here\n"
"without a login capd was told of (setuid program, systemd-run, a PAM\n"
"stack without pam_capd) gets a session of service \"process\" within a\n"
"tick (200 ms), which ends with their last process.\n"
"\n"
"Privileges: capd runs as root (it owns the state files and talks to\n"
"root's sockets) but gives up every capability at start, empties its\n"
"bounding set and sets no_new_privs. Before that it forks one helper,\n"
"capd-procs, that keeps CAP_SYS_PTRACE alone (to read other users'\n"
"/proc/PID/ns/net) and only answers which uids run processes here.\n"
"\n"
"No valid host token (expired, revoked): capd still starts, the host is\n"
"isolated (empty capability) and only break-glass logins are let in,\n"
"until a renewed token arrives (capctl renew; it spreads to every host).\n"
"\n"
"Signals: SIGTERM and SIGINT stop capd; sessions stay recorded for the\n"
"next start. SIGHUP re-reads the tokens and the revocation list and\n"
"reopens DIR/audit.log (after logrotate moved it, the chain goes on in\n"
"the new file). Under systemd (Type=notify) capd says READY=1 once\n"
"capshim holds the capability and the control socket accepts logins.\n"
"\n"
"Exit status: 0 after a clean stop, 1 if setup failed, 2 on a usage error.\n"
"\n"
"Example:\n"
"  capd --config " CAPTUN_CONFIG_PATH " --foreground\n";

static int number(const char *text, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || *end || end == text || *out < lo || *out > hi ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct capd_config *cfg)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "shim", required_argument, NULL, 'S' },
		{ "on-invalid", required_argument, NULL, 'i' },
		{ "shim-timeout", required_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "break-glass-users", required_argument, NULL, 'B' },
		{ "break-glass-groups", required_argument, NULL, 'G' },
		{ "renew-warn-days", required_argument, NULL, 'W' },
		{ "config", required_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char shim[108];
	char cerr[CONFIG_ERR_MAX];
	bool explicit;
	long v;
	int c;

	if (config_argv_build("capd", opts, argc, argv, &argc, &argv, cerr,
			      sizeof(cerr)) < 0) {
		fprintf(stderr, "capd: %s\n", cerr);
		return -EINVAL;
	}
	config_shim_control(config_path_find(argc, argv, &explicit), shim, sizeof(shim));
	cfg->dir = CAPTUN_STATE_DIR;
	cfg->socket = CAPTUN_CAPD_SOCKET;
	cfg->shim = shim;
	cfg->shim_timeout_ms = SHIM_TIMEOUT_MS;
	cfg->renew_warn_days = RENEW_WARN_DAYS;
	while ((c = getopt_long(argc, argv, "d:s:S:i:t:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cfg->dir = optarg;
			break;
		case 's':
			cfg->socket = optarg;
			break;
		case 'S':
			cfg->shim = optarg;
			break;
		case 'i':
			if (strcmp(optarg, "refuse") == 0) {
				cfg->on_invalid = CAPD_ON_INVALID_REFUSE;
			} else if (strcmp(optarg, "isolate") == 0) {
				cfg->on_invalid = CAPD_ON_INVALID_ISOLATE;
			} else {
				fprintf(stderr,
					"capd: --on-invalid wants refuse or isolate, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (number(optarg, 100, 60000, &v) < 0) {
				fprintf(stderr,
					"capd: --shim-timeout wants 100..60000 ms, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			cfg->shim_timeout_ms = (int)v;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'P':
			cfg->pidfile = optarg;
			break;
		case 'B':
		case 'G':
			if (!breakglass_list_ok(optarg)) {
				fprintf(stderr, "capd: --%s wants names separated by commas, "
					"or 'none', not '%s'\n", c == 'B' ? "break-glass-users" :
					"break-glass-groups", optarg);
				return -EINVAL;
			}
			*(c == 'B' ? &cfg->break_glass_users : &cfg->break_glass_groups) = optarg;
			break;
		case 'W':
			if (number(optarg, 0, 3650, &v) < 0) {
				fprintf(stderr, "capd: --renew-warn-days wants 0..3650, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			cfg->renew_warn_days = (int)v;
			break;
		case 'C':
			break;	/* read by config_argv_build */
		case 'V':
			puts(CAPTUN_VERSION_LINE("capd"));
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "capd: see 'capd --help'\n");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "capd: unexpected argument '%s'; see 'capd --help'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static void on_signal(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->running = false;
		else if (si.ssi_signo == SIGHUP)
			capd_service_reload(d);
	}
}

static void on_timer(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	uint64_t ticks;

	if (read(ev->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	capd_service_tick(d);
	capd_tick(d);
}

/*
 * Before any request: capshim must hold the capability of the sessions
 * that survived, whatever it held before. Retries until it answers or a
 * signal stops capd; meanwhile capshim enforces its last capability.
 */
static int first_push(struct capd *d, struct capd_ev *sig)
{
	bool waited = false;

	while (d->running) {
		struct pollfd p = { .fd = sig->fd, .events = POLLIN };

		if (capd_apply(d, true) == 0) {
			if (waited)
				capd_log(LOG_INFO, "capshim answered; capability in force");
			return 0;
		}
		if (!waited)
			capd_log(LOG_WARNING, "waiting for capshim (%s) before accepting requests",
				 d->shim.path);
		waited = true;
		if (poll(&p, 1, TICK_MS) > 0)
			on_signal(d, sig, 0);
	}
	return -EINTR;
}

static int loop(struct capd *d)
{
	while (d->running) {
		struct epoll_event e;
		/* One at a time: a handler may free what a later event names. */
		int n = epoll_wait(d->epfd, &e, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 1) {
			struct capd_ev *ev = e.data.ptr;

			ev->fn(d, ev, e.events);
		}
	}
	return 0;
}

static int events_open(struct capd *d, struct capd_ev *sig, struct capd_ev *tick)
{
	int ret;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sig->fd = daemon_signals_open();
	sig->fn = on_signal;
	if (sig->fd < 0)
		return sig->fd;
	tick->fd = daemon_ticker_open(TICK_MS);
	tick->fn = on_timer;
	if (tick->fd < 0)
		return tick->fd;
	if ((ret = capd_ev_add(d, sig, EPOLLIN)) < 0 ||
	    (ret = capd_ev_add(d, tick, EPOLLIN)) < 0)
		return ret;
	return 0;
}

/* State from the directory: trust, the audit chain's end, sessions. */
static int state_open(struct capd *d, int *lock)
{
	char err[256];
	int ret;

	*lock = capd_daemon_lock(d->cfg.dir);
	if (*lock < 0) {
		capd_log(LOG_ERR, "%s/capd.lock: %s", d->cfg.dir, *lock == -EBUSY ?
			 "another capd serves this directory" : strerror(-*lock));
		return *lock;
	}
	ret = capd_trust_load(&d->trust, d->cfg.dir);
	if (ret < 0)
		return ret;
	ret = capd_audit_open(&d->audit, d->path_audit);
	if (ret < 0) {
		capd_log(LOG_ERR, "%s: %s", d->path_audit, strerror(-ret));
		return ret;
	}
	ret = capd_state_load(&d->table, d->path_state, err, sizeof(err));
	if (ret == -EBADMSG)
		capd_log(LOG_ERR, "%s: %s; capd will not start on a state it cannot read (the "
				  "sessions in it would be forgotten): repair or remove it",
			 d->path_state, err);
	else if (ret < 0 && ret != -ENOENT)
		capd_log(LOG_ERR, "%s: %s", d->path_state, err);
	return ret == -ENOENT ? 0 : ret;
}

static void sessions_close(struct capd *d)
{
	for (size_t i = 0; i < d->table.n; i++)
		if (d->table.s[i]->ev.fd >= 0)
			close(d->table.s[i]->ev.fd);
	capd_table_free(&d->table);
}

int main(int argc, char **argv)
{
	static struct capd d;
	struct capd_ev sig = { -1, NULL }, tick = { -1, NULL };
	int ret, lock = -1, status = EXIT_SETUP;

	if (parse_args(argc, argv, &d.cfg) < 0)
		return EXIT_USAGE;
	ret = capd_procsep_start(&d.procs);
	if (ret < 0)
		capd_log(LOG_WARNING, "process helper: %s", strerror(-ret));
	ret = daemon_privileges_drop();
	if (ret < 0) {
		capd_log(LOG_ERR, "dropping capabilities: %s", strerror(-ret));
		return EXIT_SETUP;
	}
	capd_daemon_nofile_raise();
	if (sodium_init() < 0) {
		capd_log(LOG_ERR, "libsodium failed to initialise");
		return EXIT_SETUP;
	}
	d.epfd = -1;
	d.audit.fd = -1;
	d.watch.ev.fd = -1;
	d.running = true;
	capd_table_init(&d.table);
	capd_shim_init(&d.shim, d.cfg.shim, d.cfg.shim_timeout_ms);
	snprintf(d.path_state, sizeof(d.path_state), "%s/capd.state", d.cfg.dir);
	snprintf(d.path_audit, sizeof(d.path_audit), "%s/audit.log", d.cfg.dir);
	if (state_open(&d, &lock) < 0)
		goto out;
	ret = events_open(&d, &sig, &tick);
	if (ret < 0) {
		capd_log(LOG_ERR, "event loop: %s", strerror(-ret));
		goto out;
	}
	ret = capd_sessions_restore(&d);
	if (ret < 0) {
		capd_log(LOG_ERR, "restoring sessions: %s", strerror(-ret));
		goto out;
	}
	capd_breakglass_adopt(&d);
	if (first_push(&d, &sig) < 0) {
		status = 0;
		goto out;
	}
	ret = capd_ctl_open(&d, d.cfg.socket);
	if (ret < 0) {
		capd_log(LOG_ERR, "control socket %s: %s", d.cfg.socket,
			 ret == -EADDRINUSE ? "another capd is serving it" : strerror(-ret));
		goto out;
	}
	ret = capd_watch_open(&d);
	if (ret < 0)
		capd_log(LOG_WARNING, "watching %s: %s; token changes are seen on SIGHUP or "
				      "publish only",
			 d.cfg.dir, strerror(-ret));
	ret = capd_shim_watch_open(&d);
	if (ret < 0)
		capd_log(LOG_WARNING, "watching for capshim's socket %s: %s; a restarted "
				      "capshim gets the capability at the next tick",
			 d.cfg.shim, strerror(-ret));
	capd_log(LOG_INFO, "host %s (bit %u): %zu session%s, epoch %llu, mask %s; socket %s, "
			   "capshim %s, on-invalid %s",
		 d.trust.host_ok ? d.trust.host.name : "(no valid token)", d.trust.host.bit, d.table.n, d.table.n == 1 ? "" : "s",
		 (unsigned long long)d.pushed.epoch, d.pushed.mask, d.cfg.socket, d.cfg.shim,
		 d.cfg.on_invalid == CAPD_ON_INVALID_ISOLATE ? "isolate" : "refuse");
	if (!d.cfg.foreground) {
		capd_log_syslog(true);
		if (daemon_detach(d.cfg.pidfile) < 0)
			goto out;
	} else if (d.cfg.pidfile && daemon_pidfile_write(d.cfg.pidfile) < 0) {
		capd_log(LOG_WARNING, "%s: cannot write the pid", d.cfg.pidfile);
	}
	capd_service_ready(&d);
	ret = loop(&d);
	status = ret < 0 ? EXIT_SETUP : 0;
	sdnotify_send("STOPPING=1");
	capd_log(LOG_INFO, "stopping; %zu session%s stay recorded", d.table.n,
		 d.table.n == 1 ? "" : "s");
	if (d.cfg.pidfile)
		unlink(d.cfg.pidfile);
out:
	capd_ctl_close(&d);
	capd_watch_close(&d);
	capd_shim_watch_close(&d);
	capd_shim_close(&d);
	sessions_close(&d);
	capd_audit_close(&d.audit);
	capd_trust_free(&d.trust);
	capd_procsep_stop(&d.procs);
	if (sig.fd >= 0)
		close(sig.fd);
	if (tick.fd >= 0)
		close(tick.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	if (lock >= 0)
		close(lock);
	return status;
}
