/*
 * capd/procsep.c - the privileged half of "which users run processes on
 * this host" (procs.c), split off as OpenBSD daemons split theirs.
 *
 * capd gives up every capability at start. Telling which network
 * namespace another uid's process is in needs CAP_SYS_PTRACE (the kernel
 * checks ptrace access to read /proc/PID/ns/net), and so does seeing every
 * process under a /proc mounted with hidepid. So before capd drops its
 * privileges it forks this helper, which keeps CAP_SYS_PTRACE and nothing
 * else (bounding set emptied, no_new_privs), closes every other
 * descriptor, and does one thing: for a list of uids, scan /proc and
 * answer where their processes are. It reads no file but /proc, writes
 * none, and exits when capd's end of the socket closes.
 *
 * Without the helper (it could not start, or died), capd runs the same
 * scan itself; a namespace it may not read then counts as this host's
 * (fail closed: a lab's other hosts keep a session open longer, never
 * shorter).
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"
#include "daemon.h"

enum procsep_const {
	REQ_HEAD = offsetof(struct capd_procs_req, uid),
	ANS_HEAD = offsetof(struct capd_procs_ans, hit),
	HELPER_FD = 3,
	ANSWER_TIMEOUT_MS = 5000,
};

/* A request of exactly the size its n says, of this version. */
bool capd_procs_req_check(const void *buf, size_t len)
{
	struct capd_procs_req r;

	if (len < REQ_HEAD || len > sizeof(r))
		return false;
	memcpy(&r, buf, REQ_HEAD);
	return r.version == CAPD_PROCS_VERSION && r.n <= CAPD_PROCS_UIDS_MAX &&
	       len == REQ_HEAD + (size_t)r.n * sizeof(r.uid[0]);
}

/* An answer to req: same version and count, each hit for the uid asked. */
bool capd_procs_ans_check(const void *buf, size_t len, const struct capd_procs_req *req)
{
	const struct capd_procs_ans *a = buf;

	if (len < ANS_HEAD || len > sizeof(*a))
		return false;
	if (a->version != CAPD_PROCS_VERSION || a->n != req->n ||
	    len != ANS_HEAD + (size_t)a->n * sizeof(a->hit[0]))
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->hit[i].uid != req->uid[i] || a->hit[i].verdict > CAPD_PROCS_UNKNOWN ||
		    a->hit[i].pid < 0)
			return false;
	return true;
}

/* The helper's life: answer requests until capd goes. Never returns. */
static __attribute__((noreturn)) void helper_main(int fd)
{
	static struct capd_procs_req req;
	static struct capd_procs_ans ans;
	struct capd_procs_self self;
	int ret;

	prctl(PR_SET_NAME, "capd-procs", 0, 0, 0);
	/* Nothing of capd's but the socket and stderr (for the log). */
	if (daemon_helper_isolate(fd, HELPER_FD) < 0)
		_exit(1);
	ret = daemon_privileges_only(CAP_SYS_PTRACE);
	if (ret < 0) {
		fprintf(stderr, "capd: process helper: keeping CAP_SYS_PTRACE: %s\n",
			strerror(-ret));
		_exit(1);
	}
	if (capd_procs_self(&self) < 0)
		_exit(1);
	for (;;) {
		ssize_t n = recv(HELPER_FD, &req, sizeof(req), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (!capd_procs_req_check(&req, (size_t)n))
			_exit(1);	/* only capd writes here */
		memset(&ans, 0, sizeof(ans));
		ans.version = CAPD_PROCS_VERSION;
		ans.n = req.n;
		for (uint32_t i = 0; i < req.n; i++)
			ans.hit[i].uid = req.uid[i];
		ans.err = capd_procs_scan(&self, ans.hit, req.n);
		if (send(HELPER_FD, &ans, ANS_HEAD + req.n * sizeof(ans.hit[0]),
			 MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

/*
 * Forks the helper; call while capd still holds its capabilities. 0, or
 * -errno (capd then scans by itself).
 */
int capd_procsep_start(struct capd_procsep *ps)
{
	int fd, ret;
	pid_t pid;

	ps->fd = -1;
	ps->pid = 0;
	capd_procs_self(&ps->self);
	ret = daemon_helper_start(&fd, &pid);
	if (ret < 0)
		return ret;
	if (pid == 0)
		helper_main(fd);
	ps->fd = fd;
	ps->pid = pid;
	return 0;
}

/* Closes capd's end (the helper exits) and reaps the helper. */
void capd_procsep_stop(struct capd_procsep *ps)
{
	daemon_helper_stop(&ps->fd, &ps->pid);
}

static int ask(struct capd_procsep *ps, struct capd_procs_hit *hits, size_t n)
{
	static struct capd_procs_req req;
	static struct capd_procs_ans ans;
	struct pollfd p = { .fd = ps->fd, .events = POLLIN };
	ssize_t got;

	req.version = CAPD_PROCS_VERSION;
	req.n = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		req.uid[i] = hits[i].uid;
	if (send(ps->fd, &req, REQ_HEAD + n * sizeof(req.uid[0]), MSG_NOSIGNAL) < 0)
		return -errno;
	for (;;) {
		int r = poll(&p, 1, ANSWER_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		break;
	}
	got = recv(ps->fd, &ans, sizeof(ans), MSG_DONTWAIT);
	if (got < 0)
		return -errno;
	if (got == 0)
		return -EPIPE;
	if (!capd_procs_ans_check(&ans, (size_t)got, &req))
		return -EBADMSG;
	memcpy(hits, ans.hit, n * sizeof(hits[0]));
	return ans.err;
}

/*
 * For each hits[i].uid (at most CAPD_PROCS_UIDS_MAX), its verdict and a
 * pid: from the helper, or from capd's own scan if the helper is gone
 * (then logged once, and the helper is not asked again).
 */
int capd_procsep_query(struct capd_procsep *ps, struct capd_procs_hit *hits, size_t n)
{
	int ret;

	if (n > CAPD_PROCS_UIDS_MAX)
		return -E2BIG;
	if (n == 0)
		return 0;
	if (ps->fd >= 0) {
		ret = ask(ps, hits, n);
		if (ret != -EPIPE && ret != -ETIMEDOUT && ret != -EBADMSG &&
		    ret != -ECONNRESET && ret != -ENOTCONN)
			return ret;
		capd_log(LOG_ERR, "process helper (pid %d) failed: %s; capd scans /proc itself "
				  "from now on, and counts processes it may not place as on "
				  "this host",
			 (int)ps->pid, strerror(-ret));
		capd_procsep_stop(ps);
	} else if (!ps->warned) {
		capd_log(LOG_WARNING, "no process helper: capd scans /proc itself, and counts "
				      "processes it may not place as on this host");
	}
	ps->warned = true;
	return capd_procs_scan(&ps->self, hits, n);
}
