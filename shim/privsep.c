/*
 * shim/privsep.c - attach mode's privileged helper (privsep.h): forked
 * before capshim gives up its capabilities, it keeps CAP_NET_ADMIN alone
 * and removes, when asked at a clean stop, the MTU routes capshim made.
 * Its requests carry no argument: the routes were fixed at the fork.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "privsep.h"

enum privsep_fd { HELPER_FD = 3 };

bool shim_priv_req_parse(const void *buf, size_t len, struct shim_priv_req *out)
{
	if (len != sizeof(*out))
		return false;
	memcpy(out, buf, sizeof(*out));
	return out->version == SHIM_PRIV_VERSION && out->zero == 0 &&
	       out->type >= SHIM_PRIV_ROUTES_REMOVE && out->type <= SHIM_PRIV_TYPE_MAX;
}

bool shim_priv_ans_parse(const void *buf, size_t len, const struct shim_priv_req *req,
			 struct shim_priv_ans *out)
{
	if (len != sizeof(*out))
		return false;
	memcpy(out, buf, sizeof(*out));
	return out->version == SHIM_PRIV_VERSION && out->zero == 0 &&
	       out->type == req->type && out->seq == req->seq &&
	       out->result <= 0 && out->result > -4096 &&
	       out->done <= SHIM_PRIV_ROUTES_MAX;
}

/*
 * Every route of r; a route already gone (ESRCH), or gone with its
 * interface (ENODEV: the mesh went down), is not a failure.
 */
static void routes_remove(const struct shim_priv_routes *r, struct shim_priv_ans *ans)
{
	for (size_t i = 0; i < r->n; i++) {
		int ret = r->del(r->ifindex, r->addr[i]);

		if (ret == 0)
			ans->done++;
		else if (ret != -ESRCH && ret != -ENOENT && ret != -ENODEV && ans->result == 0)
			ans->result = ret;
	}
}

/* The helper's life: answer requests until capshim goes. Never returns. */
static __attribute__((noreturn)) void helper_main(int fd, const struct shim_priv_routes *r,
						  int cap)
{
	static const int quiet[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2 };
	uint8_t buf[sizeof(struct shim_priv_req) + 1];
	struct shim_priv_req req;
	struct shim_priv_ans ans;
	int ret;

	prctl(PR_SET_NAME, "capshim-priv", 0, 0, 0);
	/* A stop (systemd signals the whole cgroup, ^C the process group)
	 * must reach capshim, which then asks; the helper goes at its EOF. */
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		signal(quiet[i], SIG_IGN);
	/* Nothing of capshim's but the socket and stderr (for the log). */
	if (daemon_helper_isolate(fd, HELPER_FD) < 0)
		_exit(1);
	ret = cap >= 0 ? daemon_privileges_only(cap) : daemon_privileges_drop();
	if (ret < 0) {
		fprintf(stderr, "capshim: privileged helper: keeping capability %d: %s\n",
			cap, strerror(-ret));
		_exit(1);
	}
	for (;;) {
		ssize_t n = recv(HELPER_FD, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (!shim_priv_req_parse(buf, (size_t)n, &req))
			_exit(1);	/* only capshim writes here */
		memset(&ans, 0, sizeof(ans));
		ans.version = SHIM_PRIV_VERSION;
		ans.type = req.type;
		ans.seq = req.seq;
		if (req.type == SHIM_PRIV_ROUTES_REMOVE)
			routes_remove(r, &ans);
		if (send(HELPER_FD, &ans, sizeof(ans), MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

int shim_privsep_start(struct shim_privsep *ps, const struct shim_priv_routes *r, int cap)
{
	int fd, ret;
	pid_t pid;

	ps->fd = -1;
	ps->pid = 0;
	ps->seq = 0;
	if (r->n > SHIM_PRIV_ROUTES_MAX || !r->del)
		return -EINVAL;
	ret = daemon_helper_start(&fd, &pid);
	if (ret < 0)
		return ret;
	if (pid == 0)
		helper_main(fd, r, cap);
	ps->fd = fd;
	ps->pid = pid;
	return 0;
}

int shim_privsep_routes_remove(struct shim_privsep *ps)
{
	struct shim_priv_req req = {
		.version = SHIM_PRIV_VERSION,
		.type = SHIM_PRIV_ROUTES_REMOVE,
		.seq = ++ps->seq,
	};
	uint8_t buf[sizeof(struct shim_priv_ans) + 1];
	struct pollfd p = { .fd = ps->fd, .events = POLLIN };
	struct shim_priv_ans ans;
	ssize_t got;
	int r;

	if (ps->fd < 0)
		return -ENOTCONN;
	if (send(ps->fd, &req, sizeof(req), MSG_NOSIGNAL) < 0)
		return -errno;
	do
		r = poll(&p, 1, SHIM_PRIV_ANSWER_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	got = recv(ps->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (got < 0)
		return -errno;
	if (got == 0)
		return -EPIPE;
	if (!shim_priv_ans_parse(buf, (size_t)got, &req, &ans))
		return -EBADMSG;
	return ans.result < 0 ? ans.result : (int)ans.done;
}

void shim_privsep_stop(struct shim_privsep *ps)
{
	daemon_helper_stop(&ps->fd, &ps->pid);
}
