/*
 * tests/unit/check_capd_linger.c - the one rule at every session end
 * (capd/linger.c) and what it rests on (capd/procs.c, capd/procsep.c):
 * the decision itself, the /proc parsers (uids from status, a thread's
 * liveness from stat, whatever its name holds), where a process's network
 * namespace puts it, the helper's messages, and then real processes: a
 * process of another uid found running here, gone once it is a zombie,
 * still running when its leader called pthread_exit, elsewhere in a
 * namespace root made, here in one a user made; through capd's own scan
 * and through the privileged helper.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "capd.h"
#include "suites.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A uid no account has, for the children these tests start. */
enum { ODD_UID = 3999001 };

/* ---- the rule ------------------------------------------------------------ */

static const struct {
	bool root, have_uid;
	enum capd_procs_verdict v;
	enum capd_linger_action want;
} decide_cases[] = {
	{ false, true, CAPD_PROCS_NONE, CAPD_LINGER_END },
	{ false, true, CAPD_PROCS_HERE, CAPD_LINGER_KEEP },
	{ false, true, CAPD_PROCS_UNKNOWN, CAPD_LINGER_KEEP },	/* fail closed */
	{ true, true, CAPD_PROCS_HERE, CAPD_LINGER_END },		/* root is the host */
	{ false, false, CAPD_PROCS_HERE, CAPD_LINGER_END },	/* nothing runs as no one */
};

START_TEST(test_decide)
{
	ck_assert_int_eq(capd_linger_decide(decide_cases[_i].root, decide_cases[_i].have_uid,
					    decide_cases[_i].v), decide_cases[_i].want);
}
END_TEST

static const struct {
	int ns_err;
	bool same_net;
	int owner_err;
	bool same_owner;
	enum capd_procs_verdict want;
	const char *what;
} judge_cases[] = {
	{ 0, true, 0, false, CAPD_PROCS_HERE, "this host's namespace" },
	{ 0, false, 0, true, CAPD_PROCS_NONE, "a namespace root made: another host" },
	{ 0, false, 0, false, CAPD_PROCS_HERE, "a namespace a user made (unshare -rn)" },
	{ 0, false, -EPERM, false, CAPD_PROCS_UNKNOWN, "owner unreadable" },
	{ -EACCES, false, 0, false, CAPD_PROCS_UNKNOWN, "namespace unreadable" },
	{ -ENOENT, false, 0, false, CAPD_PROCS_NONE, "exited meanwhile" },
	{ -ESRCH, false, 0, false, CAPD_PROCS_NONE, "exited meanwhile (ESRCH)" },
};

START_TEST(test_judge)
{
	ck_assert_msg(capd_procs_judge(judge_cases[_i].ns_err, judge_cases[_i].same_net,
				       judge_cases[_i].owner_err, judge_cases[_i].same_owner) ==
		      judge_cases[_i].want, "%s", judge_cases[_i].what);
}
END_TEST

/* ---- /proc parsers ---------------------------------------------------------- */

static const struct {
	const char *text;
	bool ok;
	uint32_t uids[4];
} status_cases[] = {
	{ "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1001\t1001\t1001\t1001\n"
	  "Gid:\t1001\t1001\t1001\t1001\n", true, { 1001, 1001, 1001, 1001 } },
	{ "Name:\tpasswd\nUid:\t1001\t0\t0\t0\nGid:\t0\t0\t0\t0\n", true, { 1001, 0, 0, 0 } },
	{ "Uid:\t4294967295\t1\t2\t3", true, { 4294967295u, 1, 2, 3 } },
	/* a name that looks like a Uid line is on the Name line: not taken */
	{ "Name:\tUid:\t0\t0\t0\t0\nUid:\t7\t7\t7\t7\n", true, { 7, 7, 7, 7 } },
	{ "Name:\tx\nGid:\t1\t1\t1\t1\n", false, { 0 } },
	{ "Uid:\t1\t2\t3\n", false, { 0 } },
	{ "Uid:\t1\t2\t3\t4\t5\n", false, { 0 } },
	{ "Uid:\t1\t2\tx\t4\n", false, { 0 } },
	{ "Uid:\t4294967296\t1\t1\t1\n", false, { 0 } },
	{ "", false, { 0 } },
};

START_TEST(test_status_uids)
{
	uint32_t uids[4] = { 0 };
	const char *t = status_cases[_i].text;

	ck_assert(capd_procs_status_uids(t, strlen(t), uids) == status_cases[_i].ok);
	if (status_cases[_i].ok)
		ck_assert_mem_eq(uids, status_cases[_i].uids, sizeof(uids));
}
END_TEST

static const struct {
	const char *text;
	bool ok, live;
} stat_cases[] = {
	{ "42 (sleep) S 1 42 42 0 -1 4194304 100 0 0 0", true, true },
	{ "42 (sleep) R 1 42 42 0 -1 4194560 100", true, true },
	{ "42 (sleep) Z 1 42 42 0 -1 4227084 100", true, false },
	{ "42 (sleep) X 1 42 42 0 -1 0 100", true, false },
	{ "42 (sleep) D 1 42 42 0 -1 4194308 100", true, false },	/* PF_EXITING */
	/* a name with spaces and ") Z": fields count from the last ')' */
	{ "42 (a) Z 1 2 3 (b) S 1 42 42 0 -1 4194304 0", true, true },
	{ "42 (x) S 1 42 42 0 -1 4194304", true, true },
	{ "42 (x) S 1 42 42 0 -1", false, false },
	{ "42 (x) S 1 42 42 0 -1 abc 0", false, false },
	{ "42 x S 1 42", false, false },
	{ "", false, false },
};

START_TEST(test_stat_live)
{
	bool live = !stat_cases[_i].live;
	const char *t = stat_cases[_i].text;

	ck_assert_msg(capd_procs_stat_live(t, strlen(t), &live) == stat_cases[_i].ok, "%s", t);
	if (stat_cases[_i].ok)
		ck_assert_msg(live == stat_cases[_i].live, "%s", t);
}
END_TEST

/* ---- the helper's messages ------------------------------------------------------- */

START_TEST(test_wire)
{
	static struct capd_procs_req req;
	static struct capd_procs_ans ans;
	size_t head = offsetof(struct capd_procs_req, uid);
	size_t ahead = offsetof(struct capd_procs_ans, hit);

	req.version = CAPD_PROCS_VERSION;
	req.n = 2;
	req.uid[0] = 1001;
	req.uid[1] = 1002;
	ck_assert(capd_procs_req_check(&req, head + 8));
	ck_assert(!capd_procs_req_check(&req, head + 4));	/* shorter than n says */
	ck_assert(!capd_procs_req_check(&req, head + 12));	/* longer */
	ck_assert(!capd_procs_req_check(&req, head - 1));
	req.n = CAPD_PROCS_UIDS_MAX + 1;
	ck_assert(!capd_procs_req_check(&req, sizeof(req)));
	req.n = 2;
	req.version = 2;
	ck_assert(!capd_procs_req_check(&req, head + 8));
	req.version = CAPD_PROCS_VERSION;

	ans.version = CAPD_PROCS_VERSION;
	ans.n = 2;
	ans.hit[0] = (struct capd_procs_hit){ 1001, CAPD_PROCS_HERE, 77 };
	ans.hit[1] = (struct capd_procs_hit){ 1002, CAPD_PROCS_NONE, 0 };
	ck_assert(capd_procs_ans_check(&ans, ahead + 2 * sizeof(ans.hit[0]), &req));
	ck_assert(!capd_procs_ans_check(&ans, ahead + sizeof(ans.hit[0]), &req));
	ans.hit[1].uid = 1003;					/* not the uid asked */
	ck_assert(!capd_procs_ans_check(&ans, ahead + 2 * sizeof(ans.hit[0]), &req));
	ans.hit[1] = (struct capd_procs_hit){ 1002, 3, 0 };	/* no such verdict */
	ck_assert(!capd_procs_ans_check(&ans, ahead + 2 * sizeof(ans.hit[0]), &req));
	ans.hit[1] = (struct capd_procs_hit){ 1002, CAPD_PROCS_NONE, -1 };
	ck_assert(!capd_procs_ans_check(&ans, ahead + 2 * sizeof(ans.hit[0]), &req));
	ans.hit[1].pid = 0;
	ans.n = 1;
	ck_assert(!capd_procs_ans_check(&ans, ahead + sizeof(ans.hit[0]), &req));
}
END_TEST

/* ---- real processes -------------------------------------------------------------- */

enum child_kind {
	CHILD_SLEEPS,		/* pause() */
	CHILD_ZOMBIE,		/* exits at once, not reaped */
	CHILD_THREAD_LEFT,	/* leader calls pthread_exit, a thread sleeps on */
	CHILD_RENAMED,		/* renames itself and drops dumpable */
	CHILD_ROOT_NETNS,	/* in a network namespace root made */
	CHILD_USER_NETNS,	/* in a user + network namespace it made itself */
};

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* A child of kind running as ODD_UID; its pid once it is set up. */
static pid_t child_start(enum child_kind kind)
{
	int p[2];
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pthread_t t;

		close(p[0]);
		if (kind == CHILD_ROOT_NETNS && unshare(CLONE_NEWNET) < 0)
			_exit(2);
		if (setresgid(ODD_UID, ODD_UID, ODD_UID) < 0 ||
		    setresuid(ODD_UID, ODD_UID, ODD_UID) < 0)
			_exit(3);
		if (kind == CHILD_USER_NETNS && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			_exit(4);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);	/* reset by setresuid */
		if (kind == CHILD_RENAMED) {
			prctl(PR_SET_NAME, "kworker/0:1", 0, 0, 0);
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		}
		if (write(p[1], "k", 1) != 1)
			_exit(5);
		if (kind == CHILD_ZOMBIE)
			_exit(0);
		if (kind == CHILD_THREAD_LEFT) {
			if (pthread_create(&t, NULL, sleeper, NULL) != 0)
				_exit(6);
			pthread_exit(NULL);
		}
		sleeper(NULL);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	usleep(kind == CHILD_ZOMBIE || kind == CHILD_THREAD_LEFT ? 100000 : 0);
	return pid;
}

static void child_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static const struct {
	enum child_kind kind;
	enum capd_procs_verdict want;
	const char *what;
} child_cases[] = {
	{ CHILD_SLEEPS, CAPD_PROCS_HERE, "a running process" },
	{ CHILD_ZOMBIE, CAPD_PROCS_NONE, "a zombie runs nothing" },
	{ CHILD_THREAD_LEFT, CAPD_PROCS_HERE, "a zombie leader whose thread runs" },
	{ CHILD_RENAMED, CAPD_PROCS_HERE, "renamed, /proc/PID owned by root" },
	{ CHILD_ROOT_NETNS, CAPD_PROCS_NONE, "in a namespace root made: elsewhere" },
	{ CHILD_USER_NETNS, CAPD_PROCS_HERE, "in a namespace it made itself: here" },
};

/* capd's own scan would have to fail closed here; the scan as root does not. */
START_TEST(test_scan_children)
{
	struct capd_procs_self self;
	struct capd_procs_hit hit[2] = { { .uid = ODD_UID }, { .uid = ODD_UID + 1 } };
	pid_t pid;

	ck_assert_msg(geteuid() == 0, "this test starts processes of another uid: run as root");
	ck_assert_int_eq(capd_procs_self(&self), 0);
	pid = child_start(child_cases[_i].kind);
	ck_assert_int_eq(capd_procs_scan(&self, hit, 2), 0);
	ck_assert_msg(hit[0].verdict == child_cases[_i].want, "%s: verdict %u",
		      child_cases[_i].what, hit[0].verdict);
	if (hit[0].verdict == CAPD_PROCS_HERE)
		ck_assert_int_eq(hit[0].pid, pid);
	ck_assert_uint_eq(hit[1].verdict, CAPD_PROCS_NONE);
	ck_assert_int_eq(hit[1].pid, 0);
	child_stop(pid);
	ck_assert_int_eq(capd_procs_scan(&self, hit, 1), 0);
	ck_assert_uint_eq(hit[0].verdict, CAPD_PROCS_NONE);
}
END_TEST

/* The helper keeps CAP_SYS_PTRACE alone and answers the same. */
START_TEST(test_helper)
{
	struct capd_procsep ps;
	struct capd_procs_hit hit[3] = { { .uid = ODD_UID }, { .uid = ODD_UID + 1 },
					 { .uid = (uint32_t)getuid() } };
	pid_t here, away;

	ck_assert_msg(geteuid() == 0, "the helper needs root: run as root");
	ck_assert_int_eq(capd_procsep_start(&ps), 0);
	here = child_start(CHILD_RENAMED);
	away = child_start(CHILD_ROOT_NETNS);
	ck_assert_int_eq(capd_procsep_query(&ps, hit, 3), 0);
	ck_assert_uint_eq(hit[0].verdict, CAPD_PROCS_HERE);
	ck_assert_int_eq(hit[0].pid, here);
	ck_assert_uint_eq(hit[1].verdict, CAPD_PROCS_NONE);
	ck_assert_uint_eq(hit[2].verdict, CAPD_PROCS_HERE);	/* this runner */
	ck_assert_int_ge(ps.fd, 0);				/* no fallback taken */
	ck_assert_int_eq(capd_procsep_query(&ps, hit, 0), 0);
	ck_assert_int_eq(capd_procsep_query(&ps, hit, CAPD_PROCS_UIDS_MAX + 1), -E2BIG);
	child_stop(here);
	child_stop(away);
	/* the helper gone: capd scans by itself, same answer for what it can read */
	kill(ps.pid, SIGKILL);
	waitpid(ps.pid, NULL, 0);
	ps.pid = 0;
	hit[0] = (struct capd_procs_hit){ .uid = ODD_UID };
	ck_assert_int_eq(capd_procsep_query(&ps, hit, 1), 0);
	ck_assert_uint_eq(hit[0].verdict, CAPD_PROCS_NONE);
	ck_assert_int_eq(ps.fd, -1);
	capd_procsep_stop(&ps);
}
END_TEST

Suite *suite_capd_linger(void)
{
	Suite *s = suite_create("capd_linger");
	TCase *tc = tcase_create("rule");

	tcase_add_loop_test(tc, test_decide, 0, (int)N_ELEM(decide_cases));
	tcase_add_loop_test(tc, test_judge, 0, (int)N_ELEM(judge_cases));
	tcase_add_loop_test(tc, test_status_uids, 0, (int)N_ELEM(status_cases));
	tcase_add_loop_test(tc, test_stat_live, 0, (int)N_ELEM(stat_cases));
	tcase_add_test(tc, test_wire);
	suite_add_tcase(s, tc);
	tc = tcase_create("processes");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_scan_children, 0, (int)N_ELEM(child_cases));
	tcase_add_test(tc, test_helper);
	suite_add_tcase(s, tc);
	return s;
}
