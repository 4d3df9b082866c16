/*
 * tests/unit/check_privsep.c - attach mode's privileged helper
 * (shim/privsep.c): its two parsers table-driven (exact sizes, version,
 * type, reserved field, an answer to another request, results that are
 * not 0 or -errno), and the helper itself forked for real with a route
 * remover that only counts: it answers with how many routes went, counts
 * a route already gone (or its interface) as none and not as a failure, reports the first
 * real failure, ignores the stop signals meant for capshim, exits at a
 * malformed request and when capshim's end closes.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "privsep.h"
#include "suites.h"

enum { OK_ = 0, GONE_ = 1, DENIED_ = 2, NO_DEV_ = 3 };

static const struct shim_priv_req good_req = {
	.version = SHIM_PRIV_VERSION, .type = SHIM_PRIV_ROUTES_REMOVE, .seq = 7,
};

struct req_case {
	const char *what;
	size_t len;
	uint8_t version, type;
	uint16_t zero;
	bool ok;
};

static const struct req_case req_cases[] = {
	{ "the one request", sizeof(struct shim_priv_req), SHIM_PRIV_VERSION, 1, 0, true },
	{ "empty", 0, SHIM_PRIV_VERSION, 1, 0, false },
	{ "one byte short", sizeof(struct shim_priv_req) - 1, SHIM_PRIV_VERSION, 1, 0, false },
	{ "one byte over", sizeof(struct shim_priv_req) + 1, SHIM_PRIV_VERSION, 1, 0, false },
	{ "another version", sizeof(struct shim_priv_req), SHIM_PRIV_VERSION + 1, 1, 0, false },
	{ "type 0", sizeof(struct shim_priv_req), SHIM_PRIV_VERSION, 0, 0, false },
	{ "an unknown type", sizeof(struct shim_priv_req), SHIM_PRIV_VERSION, 2, 0, false },
	{ "reserved field set", sizeof(struct shim_priv_req), SHIM_PRIV_VERSION, 1, 1, false },
};

START_TEST(test_req_parse)
{
	const struct req_case *c = &req_cases[_i];
	uint8_t buf[sizeof(struct shim_priv_req) + 1] = { 0 };
	struct shim_priv_req r = good_req, out;

	r.version = c->version;
	r.type = c->type;
	r.zero = c->zero;
	memcpy(buf, &r, sizeof(r));
	ck_assert_msg(shim_priv_req_parse(buf, c->len, &out) == c->ok, "%s", c->what);
	if (c->ok)
		ck_assert_int_eq(out.seq, 7);
}
END_TEST

struct ans_case {
	const char *what;
	size_t len;
	uint8_t type;
	uint32_t seq;
	int32_t result;
	uint32_t done;
	bool ok;
};

static const struct ans_case ans_cases[] = {
	{ "an answer", sizeof(struct shim_priv_ans), 1, 7, 0, 2, true },
	{ "a failure", sizeof(struct shim_priv_ans), 1, 7, -EPERM, 0, true },
	{ "short", sizeof(struct shim_priv_ans) - 1, 1, 7, 0, 2, false },
	{ "long", sizeof(struct shim_priv_ans) + 1, 1, 7, 0, 2, false },
	{ "another request's", sizeof(struct shim_priv_ans), 1, 8, 0, 2, false },
	{ "another type", sizeof(struct shim_priv_ans), 2, 7, 0, 2, false },
	{ "a positive result", sizeof(struct shim_priv_ans), 1, 7, 1, 2, false },
	{ "no errno", sizeof(struct shim_priv_ans), 1, 7, -5000, 0, false },
	{ "more routes than there can be", sizeof(struct shim_priv_ans), 1, 7, 0,
	  SHIM_PRIV_ROUTES_MAX + 1, false },
};

START_TEST(test_ans_parse)
{
	const struct ans_case *c = &ans_cases[_i];
	uint8_t buf[sizeof(struct shim_priv_ans) + 1] = { 0 };
	struct shim_priv_ans a = { .version = SHIM_PRIV_VERSION }, out;

	a.type = c->type;
	a.seq = c->seq;
	a.result = c->result;
	a.done = c->done;
	memcpy(buf, &a, sizeof(a));
	ck_assert_msg(shim_priv_ans_parse(buf, c->len, &good_req, &out) == c->ok, "%s", c->what);
}
END_TEST

/*
 * The fake remover: the address's last byte says what the kernel answers.
 * It runs in the helper, where Check's own descriptor is gone: no ck_assert.
 */
static int fake_del(int ifindex, const uint8_t addr[16])
{
	if (ifindex != 42)
		return -EINVAL;
	return addr[15] == OK_ ? 0 : addr[15] == GONE_ ? -ESRCH :
	       addr[15] == NO_DEV_ ? -ENODEV : -EPERM;
}

static struct shim_priv_routes routes;

static void routes_set(const uint8_t *kinds, size_t n)
{
	memset(&routes, 0, sizeof(routes));
	routes.ifindex = 42;
	routes.del = fake_del;
	routes.n = n;
	for (size_t i = 0; i < n; i++)
		routes.addr[i][15] = kinds[i];
}

START_TEST(test_helper_removes)
{
	static const uint8_t kinds[] = { OK_, GONE_, OK_, NO_DEV_ };
	struct shim_privsep ps;
	pid_t pid;

	routes_set(kinds, 4);
	ck_assert_int_eq(shim_privsep_start(&ps, &routes, -1), 0);
	pid = ps.pid;
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(shim_privsep_routes_remove(&ps), 2);
	/* capshim's stop signal reaches the whole group: the helper stays */
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(shim_privsep_routes_remove(&ps), 2);	/* again: seq 2 */
	shim_privsep_stop(&ps);
	ck_assert_int_eq(ps.fd, -1);
	ck_assert_int_eq(kill(pid, 0), -1);	/* reaped */
	ck_assert_int_eq(errno, ESRCH);
}
END_TEST

START_TEST(test_helper_reports_failure)
{
	static const uint8_t kinds[] = { OK_, DENIED_, OK_ };
	struct shim_privsep ps;

	routes_set(kinds, 3);
	ck_assert_int_eq(shim_privsep_start(&ps, &routes, -1), 0);
	ck_assert_int_eq(shim_privsep_routes_remove(&ps), -EPERM);
	shim_privsep_stop(&ps);
}
END_TEST

START_TEST(test_helper_exits_on_garbage)
{
	static const uint8_t kinds[] = { OK_ };
	struct shim_privsep ps;
	uint8_t junk[7] = { SHIM_PRIV_VERSION, SHIM_PRIV_ROUTES_REMOVE };
	int ret;

	routes_set(kinds, 1);
	ck_assert_int_eq(shim_privsep_start(&ps, &routes, -1), 0);
	ck_assert_int_eq(send(ps.fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	ret = shim_privsep_routes_remove(&ps);
	ck_assert_msg(ret == -EPIPE || ret == -ECONNRESET, "after garbage: %d", ret);
	shim_privsep_stop(&ps);
}
END_TEST

START_TEST(test_start_refuses)
{
	struct shim_privsep ps;

	routes_set(NULL, 0);
	routes.n = SHIM_PRIV_ROUTES_MAX + 1;
	ck_assert_int_eq(shim_privsep_start(&ps, &routes, -1), -EINVAL);
	routes.n = 0;
	routes.del = NULL;
	ck_assert_int_eq(shim_privsep_start(&ps, &routes, -1), -EINVAL);
	ck_assert_int_eq(ps.fd, -1);
	ck_assert_int_eq(shim_privsep_routes_remove(&ps), -ENOTCONN);
}
END_TEST

Suite *suite_privsep(void)
{
	Suite *s = suite_create("privsep");
	TCase *parse = tcase_create("parse");
	TCase *helper = tcase_create("helper");

	tcase_add_loop_test(parse, test_req_parse, 0, sizeof(req_cases) / sizeof(req_cases[0]));
	tcase_add_loop_test(parse, test_ans_parse, 0, sizeof(ans_cases) / sizeof(ans_cases[0]));
	tcase_add_test(helper, test_helper_removes);
	tcase_add_test(helper, test_helper_reports_failure);
	tcase_add_test(helper, test_helper_exits_on_garbage);
	tcase_add_test(helper, test_start_refuses);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, helper);
	return s;
}
