/*
 * tests/unit/check_capd_state.c - capd.state: a round trip keeps every
 * field, every malformed file is refused whole, /proc/PID/stat's start time
 * is read right even when the command name holds spaces and parentheses,
 * and a restart keeps the sessions whose process still lives and reaps
 * those whose process is gone or whose pid now names another process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "capd.h"
#include "suites.h"

static struct capd_session *session_new(uint64_t id, const char *user, pid_t pid,
					uint64_t start)
{
	struct capd_session *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	s->id = id;
	s->pid = pid;
	s->start_time = start;
	s->opened_at = 1700000000 + id;
	s->ev.fd = -1;
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->service, sizeof(s->service), "sshd");
	snprintf(s->tty, sizeof(s->tty), "pts/%llu", (unsigned long long)id);
	snprintf(s->rhost, sizeof(s->rhost), "2001:db8::%llu", (unsigned long long)id);
	return s;
}

START_TEST(test_roundtrip)
{
	struct capd_table t, back;
	char err[256] = "", *text;

	capd_table_init(&t);
	capd_table_init(&back);
	ck_assert_int_eq(capd_table_add(&t, session_new(3, "alice", 4242, 123456), NULL), 0);
	ck_assert_int_eq(capd_table_add(&t, session_new(8, "b\xc3\xa9" "b\"q", 77, 9), NULL), 0);
	snprintf(t.s[1]->rhost, sizeof(t.s[1]->rhost), "%s", "");
	t.next_id = 40;
	text = capd_state_encode(&t);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(capd_state_decode(text, strlen(text), &back, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_uint_eq(back.next_id, 40);
	for (size_t i = 0; i < 2; i++) {
		const struct capd_session *a = t.s[i], *b = back.s[i];

		ck_assert_uint_eq(a->id, b->id);
		ck_assert_int_eq(a->pid, b->pid);
		ck_assert_uint_eq(a->start_time, b->start_time);
		ck_assert_uint_eq(a->opened_at, b->opened_at);
		ck_assert_str_eq(a->user, b->user);
		ck_assert_str_eq(a->service, b->service);
		ck_assert_str_eq(a->tty, b->tty);
		ck_assert_str_eq(a->rhost, b->rhost);
		ck_assert_int_eq(b->ev.fd, -1);
	}
	ck_assert_uint_eq(back.nusers, 2);
	ck_assert_int_eq(back.users[0].err, -ENODATA);	/* verified again at start */
	free(text);
	capd_table_free(&t);
	capd_table_free(&back);
}
END_TEST

START_TEST(test_save_load)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "capd.state");
	struct capd_table t, back;
	char err[256] = "";

	capd_table_init(&t);
	capd_table_init(&back);
	ck_assert_int_eq(capd_state_load(&back, path, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(capd_table_add(&t, session_new(1, "A", 10, 20), NULL), 0);
	ck_assert_int_eq(capd_state_save(&t, path), 0);
	ck_assert_int_eq(capd_state_load(&back, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_uint_eq(back.next_id, 2);
	capd_table_free(&back);
	capd_table_init(&back);
	test_write_file(path, "{", 1, 0600);
	ck_assert_int_eq(capd_state_load(&back, path, err, sizeof(err)), -EBADMSG);
	ck_assert_uint_eq(back.n, 0);
	capd_table_free(&t);
	free(path);
	test_rmtree(dir);
}
END_TEST

#define SESSION(fields) "{\"version\":1,\"next_session\":5,\"sessions\":[" fields "]}"
#define GOOD_FIELDS "\"user\":\"A\",\"service\":\"sshd\",\"tty\":\"\",\"rhost\":\"\"," \
	"\"pid\":9,\"start_time\":1,\"opened_at\":2"
/* One session whose fields are given as JSON text; rhost omitted if NULL. */
#define ONE(user, tty, pid, start) SESSION("{\"id\":1,\"user\":" user \
	",\"service\":\"s\",\"tty\":" tty ",\"rhost\":\"\",\"pid\":" pid \
	",\"start_time\":" start ",\"opened_at\":2}")

struct bad_case {
	const char *what;
	const char *text;
};

static const struct bad_case bad_cases[] = {
	{ "not JSON", "sessions" },
	{ "not an object", "[1,2]" },
	{ "no version", "{\"next_session\":1,\"sessions\":[]}" },
	{ "version 2", "{\"version\":2,\"next_session\":1,\"sessions\":[]}" },
	{ "next_session 0", "{\"version\":1,\"next_session\":0,\"sessions\":[]}" },
	{ "next_session a string", "{\"version\":1,\"next_session\":\"1\",\"sessions\":[]}" },
	{ "sessions not a list", "{\"version\":1,\"next_session\":1,\"sessions\":{}}" },
	{ "duplicate key", "{\"version\":1,\"version\":1,\"next_session\":1,\"sessions\":[]}" },
	{ "session not an object", SESSION("7") },
	{ "no id", SESSION("{" GOOD_FIELDS "}") },
	{ "id 0", SESSION("{\"id\":0," GOOD_FIELDS "}") },
	{ "id negative", SESSION("{\"id\":-3," GOOD_FIELDS "}") },
	{ "duplicate ids", SESSION("{\"id\":1," GOOD_FIELDS "},{\"id\":1," GOOD_FIELDS "}") },
	{ "user with a slash", ONE("\"../x\"", "\"\"", "9", "1") },
	{ "user empty", ONE("\"\"", "\"\"", "9", "1") },
	{ "user not a string", ONE("7", "\"\"", "9", "1") },
	{ "user with NUL", ONE("\"A\\u0000B\"", "\"\"", "9", "1") },
	{ "tty with a newline", ONE("\"A\"", "\"a\\nb\"", "9", "1") },
	{ "tty null", ONE("\"A\"", "null", "9", "1") },
	{ "pid 0", ONE("\"A\"", "\"\"", "0", "1") },
	{ "pid too large", ONE("\"A\"", "\"\"", "99999999", "1") },
	{ "pid a float", ONE("\"A\"", "\"\"", "9.5", "1") },
	{ "start_time negative", ONE("\"A\"", "\"\"", "9", "-1") },
	{ "start_time a string", ONE("\"A\"", "\"\"", "9", "\"1\"") },
	{ "no rhost", SESSION("{\"id\":1,\"user\":\"A\",\"service\":\"s\",\"tty\":\"\","
			      "\"pid\":9,\"start_time\":1,\"opened_at\":2}") },
	{ "no opened_at", SESSION("{\"id\":1,\"user\":\"A\",\"service\":\"s\",\"tty\":\"\","
				  "\"rhost\":\"\",\"pid\":9,\"start_time\":1}") },
};

START_TEST(test_decode_refuses)
{
	const struct bad_case *c = &bad_cases[_i];
	struct capd_table t;
	char err[256] = "";

	capd_table_init(&t);
	ck_assert_msg(!capd_state_decode(c->text, strlen(c->text), &t, err, sizeof(err)),
		      "%s: accepted", c->what);
	ck_assert_msg(err[0], "%s: no error text", c->what);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.nusers, 0);
	capd_table_free(&t);
}
END_TEST

struct stat_case {
	const char *what;
	const char *line;
	bool ok;
	uint64_t start;
};

static const struct stat_case stat_cases[] = {
	{ "plain", "12829 (cat) R 12785 12785 6420 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 376946 "
		   "3133440 359\n",
	  true, 376946 },
	{ "spaces and parentheses in the name",
	  "7 (a) b ) (c) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0\n", true, 42 },
	{ "start time last, no newline",
	  "7 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", true, 99 },
	{ "truncated before field 22", "7 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0", false, 0 },
	{ "no closing parenthesis", "7 (x S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0", false, 0 },
	{ "not a number", "7 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9x9 0", false, 0 },
	{ "overflow",
	  "7 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0", false, 0 },
	{ "empty", "", false, 0 },
};

START_TEST(test_proc_stat)
{
	const struct stat_case *c = &stat_cases[_i];
	uint64_t start = 0;

	ck_assert_msg(capd_proc_stat_parse(c->line, strlen(c->line), &start) == c->ok,
		      "%s", c->what);
	if (c->ok)
		ck_assert_uint_eq(start, c->start);
}
END_TEST

START_TEST(test_proc_start_time_live)
{
	uint64_t a = 0, b = 0;
	pid_t child;
	int status;

	ck_assert_int_eq(capd_proc_start_time(getpid(), &a), 0);
	ck_assert_int_eq(capd_proc_start_time(getpid(), &b), 0);
	ck_assert_uint_eq(a, b);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(capd_proc_start_time(child, &a), -ESRCH);
}
END_TEST

/* A capd with just what restoring sessions uses. */
static void capd_fake(struct capd *d, const char *dir)
{
	memset(d, 0, sizeof(*d));
	d->cfg.dir = dir;
	d->audit.fd = -1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(d->epfd, 0);
	capd_table_init(&d->table);
	snprintf(d->path_state, sizeof(d->path_state), "%s/capd.state", dir);
	snprintf(d->path_audit, sizeof(d->path_audit), "%s/audit.log", dir);
	ck_assert_int_eq(capd_audit_open(&d->audit, d->path_audit), 0);
}

START_TEST(test_restore_reaps_dead)
{
	char *dir = test_tmpdir(), err[256] = "", *log;
	struct capd d;
	struct capd_table back;
	uint64_t me = 0;
	pid_t dead;
	size_t len = 0, bad = 0;
	int status;

	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &status, 0), dead);
	ck_assert_int_eq(capd_proc_start_time(getpid(), &me), 0);
	capd_fake(&d, dir);
	ck_assert_int_eq(capd_table_add(&d.table, session_new(1, "alive", getpid(), me), NULL), 0);
	ck_assert_int_eq(capd_table_add(&d.table, session_new(2, "gone", dead, me), NULL), 0);
	ck_assert_int_eq(capd_table_add(&d.table, session_new(3, "reused", getpid(), me + 1),
					NULL), 0);
	ck_assert_int_eq(capd_sessions_restore(&d), 0);

	ck_assert_uint_eq(d.table.n, 1);
	ck_assert_str_eq(d.table.s[0]->user, "alive");
	ck_assert_int_ge(d.table.s[0]->ev.fd, 0);	/* watched again */
	ck_assert_uint_eq(d.table.nusers, 1);
	ck_assert_int_eq(d.table.users[0].err, -ENOENT);	/* verified afresh: no file */

	capd_table_init(&back);
	ck_assert_int_eq(capd_state_load(&back, d.path_state, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_uint_eq(back.s[0]->id, 1);
	ck_assert_uint_eq(back.next_id, 4);
	capd_table_free(&back);

	log = test_read_file(d.path_audit, &len);
	ck_assert(capd_audit_verify(log, len, d.audit.prev, &bad));
	ck_assert_ptr_nonnull(strstr(log, "\"session\":2"));
	ck_assert_ptr_nonnull(strstr(log, "\"session\":3"));
	ck_assert_ptr_nonnull(strstr(log, "another process"));
	ck_assert_ptr_null(strstr(log, "\"session\":1"));
	free(log);

	close(d.table.s[0]->ev.fd);
	capd_table_free(&d.table);
	capd_audit_close(&d.audit);
	close(d.epfd);
	test_rmtree(dir);
}
END_TEST

Suite *suite_capd_state(void)
{
	Suite *s = suite_create("capd_state");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_save_load);
	tcase_add_loop_test(tc, test_decode_refuses, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("proc");
	tcase_add_loop_test(tc, test_proc_stat, 0, sizeof(stat_cases) / sizeof(stat_cases[0]));
	tcase_add_test(tc, test_proc_start_time_live);
	suite_add_tcase(s, tc);
	tc = tcase_create("restore");
	tcase_add_test(tc, test_restore_reaps_dead);
	suite_add_tcase(s, tc);
	return s;
}
