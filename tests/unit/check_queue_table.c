/*
 * tests/unit/check_queue_table.c - the verdict table capshim pushes to
 * capqueue (queue/queue_proto.h, shim/queue_table.c, shim/queue.c): push
 * lines parsed (table-driven: what is refused, what a table holds),
 * encode and parse agree, the lookup; and in a whole shim (shimlab.h),
 * over a real control socket, a subscriber gets the table before its
 * answer, and a capability change pushes the narrowed table at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../../queue/queue_proto.h"
#include "shimlab.h"
#include "suites.h"

static struct in6_addr addr(const char *text)
{
	struct in6_addr a;
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1)
		inet_addr_from4(&a, &a4);
	else
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a), 1);
	return a;
}

static const struct parse_case {
	const char *line;
	bool ok;
	uint64_t gen;
	size_t n;			/* entries after sorting and deduplication */
	const char *in, *out;		/* one address it allows, one it does not */
} parse_cases[] = {
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[]}", true, 1, 0, NULL, "10.77.0.2" },
	{ "{\"push\":\"queue_table\",\"gen\":7,\"allow\":[\"10.77.0.3\",\"fd77::3\"]}",
	  true, 7, 2, "10.77.0.3", "10.77.0.4" },
	{ "{\"push\":\"queue_table\",\"gen\":7,\"allow\":[\"fd77::3\",\"10.77.0.3\"]}",
	  true, 7, 2, "fd77::3", "fd77::4" },
	/* duplicates and the v4-mapped spelling are one entry */
	{ "{\"push\":\"queue_table\",\"gen\":2,\"allow\":[\"10.77.0.3\",\"10.77.0.3\","
	  "\"::ffff:10.77.0.3\"]}", true, 2, 1, "10.77.0.3", "10.77.0.2" },
	/* other members: a later capshim may say more */
	{ "{\"push\":\"queue_table\",\"gen\":0,\"allow\":[\"10.0.0.1\"],\"x\":1}",
	  true, 0, 1, "10.0.0.1", "::1" },
	{ "{\"push\":\"other\",\"gen\":1,\"allow\":[]}", false, 0, 0, NULL, NULL },
	{ "{\"gen\":1,\"allow\":[]}", false, 0, 0, NULL, NULL },
	{ "{\"ok\":true,\"v\":\"a\"}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":-1,\"allow\":[]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":\"1\",\"allow\":[]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":\"10.0.0.1\"}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[1]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[\"10.0.0\"]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[\"10.0.0.1/24\"]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[\"host2\"]}", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"push\":\"queue_table\",\"gen\":1,\"allow\":[]}",
	  false, 0, 0, NULL, NULL },
	{ "[\"push\",\"queue_table\"]", false, 0, 0, NULL, NULL },
	{ "{\"push\":\"queue_table\",\"gen\":1,\"allow\":[]", false, 0, 0, NULL, NULL },
	{ "", false, 0, 0, NULL, NULL },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct queue_table *t = malloc(sizeof(*t));
	struct in6_addr a;
	bool ok;

	ck_assert_ptr_nonnull(t);
	ok = queue_table_parse(c->line, strlen(c->line), t);
	ck_assert_msg(ok == c->ok, "case %d: %s", _i, c->line);
	if (ok) {
		ck_assert_uint_eq(t->gen, c->gen);
		ck_assert_uint_eq(t->n, c->n);
		if (c->in) {
			a = addr(c->in);
			ck_assert_msg(queue_table_allows(t, &a), "case %d allows %s", _i, c->in);
		}
		a = addr(c->out);
		ck_assert_msg(!queue_table_allows(t, &a), "case %d refuses %s", _i, c->out);
	}
	free(t);
}
END_TEST

/* More than QUEUE_TABLE_MAX addresses is refused; exactly that many is not. */
START_TEST(test_bounds)
{
	struct queue_table *t = malloc(sizeof(*t));
	json_t *obj, *allow = json_array();
	char text[64];

	ck_assert_ptr_nonnull(t);
	for (unsigned i = 0; i < QUEUE_TABLE_MAX; i++) {
		snprintf(text, sizeof(text), "fd77::%x:%x", i >> 8, i & 0xff);
		json_array_append_new(allow, json_string(text));
	}
	obj = json_pack("{s:s, s:i, s:O}", "push", "queue_table", "gen", 3, "allow", allow);
	ck_assert(queue_table_from_json(obj, t));
	ck_assert_uint_eq(t->n, QUEUE_TABLE_MAX);
	json_array_append_new(allow, json_string("10.0.0.1"));
	ck_assert(!queue_table_from_json(obj, t));
	json_decref(obj);
	json_decref(allow);
	ck_assert(!queue_table_allows(NULL, &t->addr[0]));
	free(t);
}
END_TEST

/* What capshim encodes, capqueue parses back to the same table. */
START_TEST(test_round_trip)
{
	static const char *const addrs[] = { "10.77.0.4", "fd77::2", "10.77.0.2", "fd77::4" };
	struct queue_table *t = calloc(1, sizeof(*t)), *back = calloc(1, sizeof(*back));
	char *text;
	json_t *obj;

	ck_assert(t && back);
	t->gen = 42;
	for (size_t i = 0; i < 4; i++)
		t->addr[t->n++] = addr(addrs[i]);
	queue_table_sort(t);
	obj = queue_table_json(t);
	ck_assert_ptr_nonnull(obj);
	text = json_dumps(obj, JSON_COMPACT);
	ck_assert(queue_table_parse(text, strlen(text), back));
	ck_assert_uint_eq(back->gen, 42);
	ck_assert_uint_eq(back->n, 4);
	ck_assert_mem_eq(back->addr, t->addr, 4 * sizeof(t->addr[0]));
	ck_assert(strlen(text) <= QUEUE_TABLE_LINE_MAX);
	free(text);
	json_decref(obj);
	free(t);
	free(back);
}
END_TEST

static const int all3[] = { 1, 2, 3, BITS_END };
static const int *const full[] = { all3, all3, all3 };
static const int only13[] = { 1, 3, BITS_END };

struct reader {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* sl_run's stop: one whole line has arrived. */
static bool line_in(struct shimlab *lab, void *arg)
{
	struct reader *r = arg;
	ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, MSG_DONTWAIT);

	if (n > 0)
		r->len += (size_t)n;
	return memchr(r->buf, '\n', r->len) != NULL;
}

/* The next line from capshim, as an object. */
static json_t *next_line(struct shimlab *lab, struct reader *r)
{
	char *nl;
	json_t *obj;
	size_t len;

	ck_assert_msg(sl_run(lab, 3000, line_in, r), "no line from capshim");
	nl = memchr(r->buf, '\n', r->len);
	len = (size_t)(nl - r->buf);
	obj = json_loadb(r->buf, len, 0, NULL);
	memmove(r->buf, nl + 1, r->len - len - 1);
	r->len -= len + 1;
	ck_assert_ptr_nonnull(obj);
	return obj;
}

static bool allows(const struct queue_table *t, const char *text)
{
	struct in6_addr a = addr(text);

	return queue_table_allows(t, &a);
}

/* Subscribed: the table first; narrowed: the new table at once. */
START_TEST(test_push)
{
	static struct shimlab lab;
	static struct reader r;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct queue_table *t = malloc(sizeof(*t));
	const char *sub = "{\"cmd\":\"queue_subscribe\"}\n", *err = NULL;
	uint8_t tok[WIRE_TOKEN_MAX];
	const uint8_t *toks[1] = { tok };
	size_t len;
	uint64_t gen;
	json_t *obj;

	if (geteuid() != 0) {
		test_skip("queue_table push", "the queue verbs are root's (run as root)");
		free(t);
		return;
	}
	sl_make(&lab, 3, full);
	sl_start_all(&lab);
	r.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", lab.h[0].s.cfg.control);
	ck_assert_int_eq(connect(r.fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(send(r.fd, sub, strlen(sub), MSG_NOSIGNAL), (ssize_t)strlen(sub));
	obj = next_line(&lab, &r);
	ck_assert_msg(queue_table_from_json(obj, t), "the table comes first");
	json_decref(obj);
	gen = t->gen;
	ck_assert_uint_ge(gen, 1);
	ck_assert_uint_eq(t->n, 4);
	ck_assert(allows(t, sl_addr4(1)) && allows(t, sl_addr6(1)));
	ck_assert(allows(t, sl_addr4(2)) && allows(t, sl_addr6(2)));
	ck_assert(!allows(t, sl_addr4(0)));
	obj = next_line(&lab, &r);
	ck_assert(json_is_true(json_object_get(obj, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "gen")), (json_int_t)gen);
	json_decref(obj);

	/* alice narrows h1 to h3: the push is there without another request */
	len = sl_user_token(&lab, "alice", only13, tok);
	ck_assert_msg(shim_cap_set(&lab.h[0].s, toks, &len, 1, false, &err) == 0, "%s", err);
	obj = next_line(&lab, &r);
	ck_assert(queue_table_from_json(obj, t));
	json_decref(obj);
	ck_assert_uint_gt(t->gen, gen);
	ck_assert_uint_eq(t->n, 2);
	ck_assert(!allows(t, sl_addr4(1)) && !allows(t, sl_addr6(1)));
	ck_assert(allows(t, sl_addr4(2)) && allows(t, sl_addr6(2)));

	/* an unchanged table is not pushed again; status counts what was */
	shim_queue_table_sync(&lab.h[0].s);
	ck_assert(!line_in(&lab, &r));
	obj = shim_queue_status(&lab.h[0].s);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(obj, "table"), "gen")),
			 (json_int_t)t->gen);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(obj, "table"),
							    "pushes")), 2);
	json_decref(obj);
	close(r.fd);
	free(t);
	sl_free(&lab);
}
END_TEST

/* Outside a control-socket request nobody can subscribe. */
START_TEST(test_subscribe_needs_socket)
{
	static struct shimlab lab;
	const char *line = "{\"cmd\":\"queue_subscribe\"}";
	json_t *ans;

	sl_make(&lab, 2, full);
	sl_start_all(&lab);
	ans = shim_ctl_answer(&lab.h[0].s, 0, line, strlen(line));
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	json_decref(ans);
	ans = shim_ctl_answer(&lab.h[0].s, 1000, line, strlen(line));
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ans, "error")), "root"));
	json_decref(ans);
	sl_free(&lab);
}
END_TEST

Suite *suite_queue_table(void)
{
	Suite *s = suite_create("queue_table");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_push);
	tcase_add_test(tc, test_subscribe_needs_socket);
	suite_add_tcase(s, tc);
	return s;
}
