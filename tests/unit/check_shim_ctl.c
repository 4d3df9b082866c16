/*
 * tests/unit/check_shim_ctl.c - capshim's control socket (ctl.c and
 * ctlverbs.c) in a whole shim (shimlab.h): answers, root-only verbs, a
 * flooding client that never reads (forwarding goes on, the client is
 * dropped), the limits of a non-root uid (connections, requests a second),
 * root's slot when every other one is taken, and the socket's permissions
 * and directory. The tests that act as another uid need root (setuid in a
 * child); without it they say SKIP.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "inet_pkt.h"
#include "shimlab.h"
#include "suites.h"

static const int all2[] = { 1, 2, BITS_END };
static const int *const full[] = { all2, all2 };

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

struct line {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* sl_run's stop: one whole answer line has arrived on l->fd. */
static bool line_in(struct shimlab *lab, void *arg)
{
	struct line *l = arg;
	ssize_t n = recv(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len, MSG_DONTWAIT);

	if (n > 0)
		l->len += (size_t)n;
	l->buf[l->len] = '\0';
	return memchr(l->buf, '\n', l->len) != NULL;
}

static json_t *ask(struct shimlab *lab, int fd, const char *req)
{
	static struct line l;

	memset(&l, 0, sizeof(l));
	l.fd = fd;
	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	ck_assert_msg(sl_run(lab, 3000, line_in, &l), "no answer to %s", req);
	return json_loads(l.buf, JSON_DISABLE_EOF_CHECK, NULL);
}

START_TEST(test_ctl_answers)
{
	static struct shimlab lab;
	json_t *ans;
	int fd;

	sl_make(&lab, 2, full);
	sl_start_all(&lab);
	fd = ctl_connect(lab.h[0].s.cfg.control);
	ck_assert_int_ge(fd, 0);
	ans = ask(&lab, fd, "{\"cmd\":\"status\"}\n");
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(ans, "host")), "h1");
	ck_assert(json_is_boolean(json_object_get(ans, "capability_confirmed")));
	json_decref(ans);
	ans = ask(&lab, fd, "not json\n");
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	json_decref(ans);
	ans = ask(&lab, fd, "{\"cmd\":\"ping\"}\n");
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	close(fd);
	sl_free(&lab);
}
END_TEST

/* What changes state is root's; reading is not. */
START_TEST(test_ctl_root_verbs)
{
	static const char *const verbs[] = {
		"{\"cmd\":\"capability\",\"users\":[]}",
		"{\"cmd\":\"reload\"}",
		"{\"cmd\":\"publish\",\"objects\":[]}",
	};
	static struct shimlab lab;
	uint32_t epoch;
	json_t *ans;

	sl_make(&lab, 2, full);
	sl_start(&lab, 0);
	epoch = lab.h[0].s.cap.epoch;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		ans = shim_ctl_answer(&lab.h[0].s, 1000, verbs[i], strlen(verbs[i]));
		ck_assert(json_is_false(json_object_get(ans, "ok")));
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ans, "error")),
					     "permission denied"));
		json_decref(ans);
	}
	ck_assert_uint_eq(lab.h[0].s.cap.epoch, epoch);
	ans = shim_ctl_answer(&lab.h[0].s, 1000, "{\"cmd\":\"status\"}", 16);
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	ans = shim_ctl_answer(&lab.h[0].s, 0, verbs[0], strlen(verbs[0]));
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	ck_assert(lab.h[0].s.cap_confirmed);
	json_decref(ans);
	sl_free(&lab);
}
END_TEST

struct want {
	unsigned host;
	uint8_t buf[SL_PKT];
};

static bool tun_has(struct shimlab *lab, void *arg)
{
	struct want *w = arg;

	return sl_tun_recv(lab, w->host, w->buf, sizeof(w->buf)) > 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes status requests while the socket takes them; never reads. */
static void flood_some(int fd)
{
	static const char req[] = "{\"cmd\":\"status\"}\n";

	for (int i = 0; i < 1000; i++)
		if (send(fd, req, sizeof(req) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
}

/*
 * A client (root, so not rate-limited) that sends status requests as fast
 * as it can and never reads: packets keep flowing with no delay, and once
 * its unread answers pass the bound it is dropped.
 */
START_TEST(test_ctl_flood)
{
	static struct shimlab lab;
	static struct want w;
	uint8_t pkt[BUF];
	uint64_t worst = 0;
	size_t len;
	int fd;

	sl_make(&lab, 2, full);
	sl_start_all(&lab);
	sl_connect(&lab);
	fd = ctl_connect(lab.h[0].s.cfg.control);
	ck_assert_int_ge(fd, 0);
	len = pkt_build(SPEC(V4(sl_addr4(0), sl_addr4(1), IPPROTO_ICMP), .type = 8,
			     .id = 9, .payload = 40), pkt);
	w.host = 1;
	for (int i = 0; i < 20000 && shim_ctl_dropped(&lab.h[0].s) == 0; i++) {
		uint64_t t0;

		flood_some(fd);
		t0 = ms_now();
		sl_tun_send(&lab, 0, pkt, len);
		ck_assert_msg(sl_run(&lab, 2000, tun_has, &w), "ping %d lost", i);
		if (ms_now() - t0 > worst)
			worst = ms_now() - t0;
	}
	ck_assert_uint_ge(shim_ctl_dropped(&lab.h[0].s), 1);
	/* A loaded test machine is slow, but not a flood's worth of status answers slow. */
	ck_assert_uint_lt(worst, 500);
	ck_assert_int_eq(recv(fd, pkt, 0, 0), 0);	/* closed under it (EOF) */
	close(fd);
	sl_free(&lab);
}
END_TEST

/* ---- another uid: a child that setuid()s ----------------------------- */

/* Runs fn as uid in a child while the lab runs; fn's exit status. */
static int as_uid(struct shimlab *lab, uid_t uid, int (*fn)(struct shimlab *, void *),
		  void *arg, int ms)
{
	pid_t pid = fork();
	int st = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(99);
		_exit(fn(lab, arg));
	}
	while (waitpid(pid, &st, WNOHANG) == 0)
		sl_run(lab, 20, NULL, NULL);
	(void)ms;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 98;
}

/* Whether fd answers a ping within ms (the lab runs in the parent). */
static bool answers(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	if (send(fd, "{\"cmd\":\"ping\"}\n", 15, MSG_NOSIGNAL) != 15)
		return false;
	return poll(&p, 1, ms) == 1 && recv(fd, buf, sizeof(buf), 0) > 0;
}

/* Child: five connections; exit 0 if exactly the first four are served. */
static int five_connections(struct shimlab *lab, void *arg)
{
	int fd[5];

	for (int i = 0; i < 5; i++)
		if ((fd[i] = ctl_connect(lab->h[0].s.cfg.control)) < 0)
			return 10 + i;
	for (int i = 0; i < 4; i++)
		if (!answers(fd[i], 3000))
			return 20 + i;
	return answers(fd[4], 500) ? 30 : 0;
}

/* Child: 200 requests at once; exit 0 if between 1 and 80 are answered in a second. */
static int many_requests(struct shimlab *lab, void *arg)
{
	static const char req[] = "{\"cmd\":\"ping\"}\n";
	char buf[1 << 16];
	unsigned lines = 0;
	uint64_t end;
	int fd = ctl_connect(lab->h[0].s.cfg.control);

	if (fd < 0)
		return 10;
	for (int i = 0; i < 200; i++)
		if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
			return 11;
	end = ms_now() + 1000;
	while (ms_now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 50) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 12;
		for (ssize_t k = 0; k < n; k++)
			lines += buf[k] == '\n';
	}
	return lines >= 1 && lines <= 80 ? 0 : 20;
}

static bool need_root(const char *test)
{
	if (geteuid() == 0)
		return true;
	test_skip(test, "acting as another uid needs root (setuid)");
	return false;
}

/*
 * The control socket moved where another uid can reach it (the lab's
 * directories are 0700): a 0755 directory of its own, removed by the
 * caller (its path is returned).
 */
static char *reachable_socket(struct shimlab *lab)
{
	static char path[128];
	char *dir = strdup("/tmp/captun-ctl-XXXXXX");

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/shim.sock", dir);
	shim_ctl_close(&lab->h[0].s);
	lab->h[0].s.cfg.control = path;
	ck_assert_int_eq(shim_ctl_open(&lab->h[0].s, path), 0);
	return dir;
}

static void reachable_gone(struct shimlab *lab, char *dir)
{
	shim_ctl_close(&lab->h[0].s);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}

START_TEST(test_ctl_uid_limits)
{
	static struct shimlab lab;

	char *dir;

	if (!need_root(__func__))
		return;
	sl_make(&lab, 1, full);
	sl_start(&lab, 0);
	dir = reachable_socket(&lab);
	ck_assert_int_eq(as_uid(&lab, 60001, five_connections, NULL, 5000), 0);
	ck_assert_int_eq(as_uid(&lab, 60002, many_requests, NULL, 5000), 0);
	reachable_gone(&lab, dir);
	sl_free(&lab);
}
END_TEST

/* Child: holds four connections until its parent's pipe closes. */
static int hold_four(struct shimlab *lab, void *arg)
{
	int *pipefd = arg, fd[4];
	char c;

	for (int i = 0; i < 4; i++)
		if ((fd[i] = ctl_connect(lab->h[0].s.cfg.control)) < 0 || !answers(fd[i], 3000))
			return 10 + i;
	if (write(pipefd[1], "r", 1) != 1)
		return 20;
	return read(pipefd[0], &c, 1) < 0 ? 21 : 0;
}

/* Every slot taken by ordinary users: root (capd) still gets one. */
START_TEST(test_ctl_root_slot)
{
	static struct shimlab lab;
	pid_t kids[8];
	int sync[2], ready[2], st, fd;
	uint64_t deadline;
	json_t *ans;
	char *dir;

	if (!need_root(__func__))
		return;
	sl_make(&lab, 1, full);
	sl_start(&lab, 0);
	dir = reachable_socket(&lab);
	ck_assert_int_eq(pipe(sync), 0);
	ck_assert_int_eq(pipe(ready), 0);
	for (int k = 0; k < 8; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (kids[k] == 0) {
			int fds[2] = { sync[0], ready[1] };

			close(sync[1]);
			if (setgroups(0, NULL) < 0 || setgid(60010 + k) < 0 || setuid(60010 + k) < 0)
				_exit(99);
			_exit(hold_four(&lab, fds));
		}
	}
	close(sync[0]);
	close(ready[1]);
	deadline = ms_now() + 20000;
	for (int got = 0; got < 8;) {
		char c;

		ck_assert_msg(ms_now() < deadline, "only %d of 8 users hold their slots", got);
		sl_run(&lab, 20, NULL, NULL);
		if (poll(&(struct pollfd){ .fd = ready[0], .events = POLLIN }, 1, 0) == 1 &&
		    read(ready[0], &c, 1) == 1)
			got++;
	}
	fd = ctl_connect(lab.h[0].s.cfg.control);
	ck_assert_int_ge(fd, 0);
	ans = ask(&lab, fd, "{\"cmd\":\"status\"}\n");
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	close(fd);
	close(sync[1]);
	for (int k = 0; k < 8; k++) {
		while (waitpid(kids[k], &st, WNOHANG) == 0)
			sl_run(&lab, 20, NULL, NULL);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: %d", k,
			      WEXITSTATUS(st));
	}
	close(ready[0]);
	reachable_gone(&lab, dir);
	sl_free(&lab);
}
END_TEST

/* The socket's mode and group; a directory others may write is refused. */
START_TEST(test_ctl_socket_perms)
{
	static struct shimlab lab;
	struct shim *s;
	struct stat st;
	char *dir, *path;

	sl_make(&lab, 1, full);
	sl_start(&lab, 0);
	s = &lab.h[0].s;
	ck_assert_int_eq(stat(s->cfg.control, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0666);
	shim_ctl_close(s);
	s->cfg.control_mode = 0660;
	ck_assert_int_eq(shim_ctl_open(s, s->cfg.control), 0);
	ck_assert_int_eq(stat(s->cfg.control, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ck_assert_uint_eq(st.st_gid, getgrnam("captun") ? getgrnam("captun")->gr_gid : 0);
	/* A second capshim on the same socket is refused, the first keeps it. */
	{
		struct ctl *keep = s->ctl;

		ck_assert_int_eq(shim_ctl_open(s, s->cfg.control), -EADDRINUSE);
		s->ctl = keep;
	}
	shim_ctl_close(s);
	dir = test_path(lab.h[0].dir, "open");
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	path = test_path(dir, "shim.sock");
	ck_assert_int_eq(shim_ctl_open(s, path), -EPERM);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(shim_ctl_open(s, path), 0);
	free(path);
	free(dir);
	sl_free(&lab);
}
END_TEST

Suite *suite_shim_ctl(void)
{
	Suite *s = suite_create("shim_ctl");
	TCase *tc = tcase_create("ctl");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ctl_answers);
	tcase_add_test(tc, test_ctl_root_verbs);
	tcase_add_test(tc, test_ctl_flood);
	tcase_add_test(tc, test_ctl_uid_limits);
	tcase_add_test(tc, test_ctl_root_slot);
	tcase_add_test(tc, test_ctl_socket_perms);
	suite_add_tcase(s, tc);
	return s;
}
