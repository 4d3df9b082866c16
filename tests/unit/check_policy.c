/*
 * tests/unit/check_policy.c - policy/policy.h: the policy file compiled into
 * grant masks (the acceptance example of ARCHITECTURE.md among them), and
 * every way a policy file can be wrong.
 *
 * JSON in the tables below is written with single quotes for readability;
 * jq() turns them into double quotes before parsing (no name contains one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "keys.h"
#include "mask.h"
#include "policy.h"
#include "token.h"
#include "suites.h"

#define SRC "test.json"
#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"
#define NAME33 "abcdefghijklmnopqrstuvwxyz0123456"
#define UNAME32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#define UNAME33 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"

static char *jq(const char *s)
{
	char *j = strdup(s), *p;

	ck_assert_ptr_nonnull(j);
	for (p = j; *p; p++)
		if (*p == '\'')
			*p = '"';
	return j;
}

static bool parse_sq(const char *json_sq, struct policy **out, struct policy_error *err)
{
	char *j = jq(json_sq);
	bool ok;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	ok = policy_parse_buffer(j, strlen(j), SRC, out, err);
	free(j);
	return ok;
}

#define B(...) { __VA_ARGS__, BITS_END }
#define NONE { BITS_END }

static void assert_mask(const struct mask *got, const int *want, const char *what)
{
	struct mask m;
	char gs[64], ws[64];

	test_mask_of(&m, want);
	if (!mask_equal(got, &m)) {
		mask_format(got, gs, sizeof(gs));
		mask_format(&m, ws, sizeof(ws));
		ck_abort_msg("%s: grant {%s}, want {%s}", what, gs, ws);
	}
}

/* ---- policies that load ---------------------------------------------------- */

struct host_want {
	const char *name;
	int bit;
	int grant[8];
};

struct named_want {
	const char *name;
	int bits[8];
};

struct ok_case {
	const char *what;
	const char *json;
	struct host_want hosts[6];	/* in file order; ends at name NULL */
	struct named_want users[4];
	struct named_want groups[4];
};

#define ACCEPTANCE \
	"{'hosts': {'host1': {'bit': 1, 'reach': ['host2', 'host3']},\n" \
	"           'host2': {'bit': 2, 'reach': []},\n" \
	"           'host3': {'bit': 3, 'reach': ['host1']}},\n" \
	" 'users': {'A': {'reach': ['host1', 'host3']},\n" \
	"           'B': {'reach': ['*']}},\n" \
	" 'groups': {}}\n"

static const struct ok_case ok_cases[] = {
	{ "acceptance example", ACCEPTANCE,
	  { { "host1", 1, B(2, 3) }, { "host2", 2, NONE }, { "host3", 3, B(1) } },
	  { { "A", B(1, 3) }, { "B", B(1, 2, 3) } },
	  { { NULL, NONE } } },
	{ "groups and wildcards",
	  "{'hosts': {'h1': {'bit': 0, 'reach': ['web']},"
	  "           'h2': {'bit': 1, 'reach': ['web', 'h1']},"
	  "           'h3': {'bit': 2, 'reach': ['*']},"
	  "           'h4': {'bit': 1023, 'reach': []}},"
	  " 'users': {'u': {'reach': ['db', 'web']},"
	  "           'v': {'reach': ['*', 'h1']},"
	  "           'w': {'reach': []}},"
	  " 'groups': {'web': ['h2', 'h3'], 'db': ['h4'], 'none': []}}",
	  { { "h1", 0, B(1, 2) }, { "h2", 1, B(0, 1, 2) }, { "h3", 2, B(0, 1, 2, 1023) },
	    { "h4", 1023, NONE } },
	  { { "u", B(1, 2, 1023) }, { "v", B(0, 1, 2, 1023) }, { "w", NONE } },
	  { { "web", B(1, 2) }, { "db", B(1023) }, { "none", NONE } } },
	{ "group overlapping names, repeated entries",
	  "{'hosts': {'a': {'bit': 10, 'reach': ['g', 'b', 'g']},"
	  "           'b': {'bit': 20, 'reach': ['b']},"
	  "           'c': {'bit': 30, 'reach': ['g', 'c']}},"
	  " 'users': {'x': {'reach': ['g', 'a', 'c']}},"
	  " 'groups': {'g': ['a', 'b', 'a']}}",
	  { { "a", 10, B(10, 20) }, { "b", 20, B(20) }, { "c", 30, B(10, 20, 30) } },
	  { { "x", B(10, 20, 30) } },
	  { { "g", B(10, 20) } } },
	{ "file order kept, boundary names",
	  "{'hosts': {'zeta': {'bit': 5, 'reach': ['" NAME32 "']},"
	  "           '" NAME32 "': {'bit': 1023, 'reach': []},"
	  "           'a.b-c_D9': {'bit': 0, 'reach': ['*']}},"
	  " 'users': {'" UNAME32 "': {'reach': ['zeta']}, '_u.1-x': {'reach': []}},"
	  " 'groups': {'_g-1.x': ['zeta', 'a.b-c_D9']}}",
	  { { "zeta", 5, B(1023) }, { NAME32, 1023, NONE }, { "a.b-c_D9", 0, B(0, 5, 1023) } },
	  { { UNAME32, B(5) }, { "_u.1-x", NONE } },
	  { { "_g-1.x", B(0, 5) } } },
};

START_TEST(test_ok_case)
{
	const struct ok_case *c = &ok_cases[_i];
	struct policy *p = NULL;
	struct policy_error err;
	size_t i, n;

	ck_assert_msg(parse_sq(c->json, &p, &err), "%s: %s", c->what, err.text);
	ck_assert_ptr_nonnull(p);

	for (n = 0; c->hosts[n].name; n++)
		;
	ck_assert_uint_eq(p->nhosts, n);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(p->hosts[i].name, c->hosts[i].name);
		ck_assert_uint_eq(p->hosts[i].bit, (unsigned)c->hosts[i].bit);
		assert_mask(&p->hosts[i].grant, c->hosts[i].grant, c->hosts[i].name);
		ck_assert_ptr_eq(policy_host_find(p, c->hosts[i].name), &p->hosts[i]);
		ck_assert_ptr_eq(policy_host_by_bit(p, (unsigned)c->hosts[i].bit), &p->hosts[i]);
	}

	for (n = 0; n < 4 && c->users[n].name; n++)
		;
	ck_assert_uint_eq(p->nusers, n);
	for (i = 0; i < n; i++) {
		const struct policy_user *u = policy_user_find(p, c->users[i].name);

		ck_assert_msg(u != NULL, "user %s missing", c->users[i].name);
		ck_assert_str_eq(u->name, c->users[i].name);
		assert_mask(&u->grant, c->users[i].bits, c->users[i].name);
	}

	for (n = 0; n < 4 && c->groups[n].name; n++)
		;
	ck_assert_uint_eq(p->ngroups, n);
	for (i = 0; i < n; i++) {
		const struct policy_group *g = policy_group_find(p, c->groups[i].name);

		ck_assert_msg(g != NULL, "group %s missing", c->groups[i].name);
		ck_assert_str_eq(g->name, c->groups[i].name);
		assert_mask(&g->members, c->groups[i].bits, c->groups[i].name);
	}
	policy_free(p);
}
END_TEST

/* The rule of ARCHITECTURE.md: effective = host grant AND every user's grant. */
START_TEST(test_acceptance_effective_capability)
{
	struct policy *p = NULL;
	struct policy_error err;
	const struct policy_host *h1, *h2, *h3;
	const struct policy_user *a, *b;
	struct mask eff, all;
	static const int want_all[] = B(1, 2, 3);

	ck_assert_msg(parse_sq(ACCEPTANCE, &p, &err), "%s", err.text);
	h1 = policy_host_find(p, "host1");
	h2 = policy_host_find(p, "host2");
	h3 = policy_host_find(p, "host3");
	a = policy_user_find(p, "A");
	b = policy_user_find(p, "B");
	ck_assert(h1 && h2 && h3 && a && b);

	/* Nobody on host1: host1 -> host2 works. */
	eff = h1->grant;
	ck_assert(mask_bit_test(&eff, h2->bit));
	ck_assert(mask_bit_test(&eff, h3->bit));

	/* A on host1: host1 AND A = {host3}; host2 denied. */
	mask_and(&eff, &a->grant);
	ck_assert(!mask_bit_test(&eff, h2->bit));
	ck_assert(mask_bit_test(&eff, h3->bit));
	ck_assert(!mask_bit_test(&eff, h1->bit));
	ck_assert_uint_eq(mask_count(&eff), 1);

	/* A jumps on to host3: host3 AND A = {host1}; host2 still denied. */
	eff = h3->grant;
	mask_and(&eff, &a->grant);
	ck_assert(!mask_bit_test(&eff, h2->bit));

	/* B on host3: host3 AND B = {host1}; host2 denied by host3's own grant. */
	eff = h3->grant;
	mask_and(&eff, &b->grant);
	ck_assert(mask_bit_test(&eff, h1->bit));
	ck_assert(!mask_bit_test(&eff, h2->bit));
	ck_assert_uint_eq(mask_count(&eff), 1);

	/* B alone may reach every host; host2 may reach nobody. */
	ck_assert(mask_bit_test(&b->grant, h2->bit));
	ck_assert(mask_is_empty(&h2->grant));

	/* A and B both on host1: host1 AND A AND B = {host3}. */
	eff = h1->grant;
	mask_and(&eff, &a->grant);
	mask_and(&eff, &b->grant);
	ck_assert(mask_bit_test(&eff, h3->bit));
	ck_assert_uint_eq(mask_count(&eff), 1);

	/* "*" means exactly the declared hosts. */
	policy_all_hosts(p, &all);
	assert_mask(&all, want_all, "all hosts");
	ck_assert(mask_equal(&all, &b->grant));
	policy_free(p);
}
END_TEST

START_TEST(test_lookups)
{
	struct policy *p = NULL;
	struct policy_error err;
	const struct policy_host *h;

	ck_assert_msg(parse_sq(ok_cases[1].json, &p, &err), "%s", err.text);
	h = policy_host_find(p, "h4");
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->bit, 1023);
	ck_assert_ptr_null(policy_host_find(p, "nosuch"));
	ck_assert_ptr_null(policy_host_find(p, ""));
	ck_assert_ptr_null(policy_host_find(p, "H1"));
	ck_assert_ptr_null(policy_host_find(p, "h"));
	ck_assert_ptr_null(policy_host_find(p, "h11"));
	ck_assert_ptr_null(policy_host_find(p, "web"));	/* a group, not a host */

	ck_assert_str_eq(policy_host_by_bit(p, 0)->name, "h1");
	ck_assert_str_eq(policy_host_by_bit(p, 2)->name, "h3");
	ck_assert_str_eq(policy_host_by_bit(p, 1023)->name, "h4");
	ck_assert_ptr_null(policy_host_by_bit(p, 3));
	ck_assert_ptr_null(policy_host_by_bit(p, 1022));
	ck_assert_ptr_null(policy_host_by_bit(p, 1024));
	ck_assert_ptr_null(policy_host_by_bit(p, 65536 + 1));

	ck_assert_str_eq(policy_user_find(p, "v")->name, "v");
	ck_assert_ptr_null(policy_user_find(p, "h1"));
	ck_assert_ptr_null(policy_user_find(p, "x"));
	ck_assert_str_eq(policy_group_find(p, "db")->name, "db");
	ck_assert_ptr_null(policy_group_find(p, "h1"));
	ck_assert_ptr_null(policy_group_find(p, "u"));
	policy_free(p);
}
END_TEST

/* A policy with addresses and keys; tk and sk get the keys it names. */
static struct policy *details_policy(uint8_t tk[32], uint8_t sk[32])
{
	char tk64[45], sk64[45], *json = NULL;
	struct policy *p = NULL;
	struct policy_error err;
	size_t i;

	for (i = 0; i < 32; i++) {
		tk[i] = (uint8_t)(i + 1);
		sk[i] = (uint8_t)(0xff - i);
	}
	sodium_bin2base64(tk64, 45, tk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sk64, 45, sk, 32, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_gt(asprintf(&json,
		"{'hosts': {"
		"  'h1': {'bit': 1, 'reach': ['h2'], 'overlay': ['10.77.0.1', 'fd77::1'],"
		"         'endpoint': '192.0.2.1:51820', 'tunnel_key': '%s', 'sign_key': '%s'},"
		"  'h2': {'bit': 2, 'reach': [], 'overlay': ['fd77::2'],"
		"         'endpoint': '[2001:db8::2]:443'},"
		"  'h3': {'bit': 3, 'reach': [], 'overlay': ['10.77.0.3']}},"
		" 'users': {'alice': {'reach': ['h1', 'h3']}}, 'groups': {}}", tk64, sk64), 0);
	ck_assert_msg(parse_sq(json, &p, &err), "%s", err.text);
	free(json);
	return p;
}

START_TEST(test_host_details)
{
	uint8_t tk[32], sk[32];
	struct policy *p = details_policy(tk, sk);
	const struct policy_host *h;
	struct in_addr a4;
	struct in6_addr a6;

	h = policy_host_find(p, "h1");
	ck_assert(h->has_keys);
	ck_assert_mem_eq(h->tunnel_pk, tk, 32);
	ck_assert_mem_eq(h->sign_pk, sk, 32);
	ck_assert(h->has_overlay4);
	ck_assert(h->has_overlay6);
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.1", &a4), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd77::1", &a6), 1);
	ck_assert_mem_eq(&h->overlay4, &a4, sizeof(a4));
	ck_assert_mem_eq(&h->overlay6, &a6, sizeof(a6));
	ck_assert(h->endpoint.set);
	ck_assert_int_eq(h->endpoint.family, AF_INET);
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &a4), 1);
	ck_assert_mem_eq(&h->endpoint.addr.v4, &a4, sizeof(a4));
	ck_assert_uint_eq(h->endpoint.port, 51820);

	h = policy_host_find(p, "h2");
	ck_assert(!h->has_keys);
	ck_assert(!h->has_overlay4);
	ck_assert(h->has_overlay6);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd77::2", &a6), 1);
	ck_assert_mem_eq(&h->overlay6, &a6, sizeof(a6));
	ck_assert(h->endpoint.set);
	ck_assert_int_eq(h->endpoint.family, AF_INET6);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::2", &a6), 1);
	ck_assert_mem_eq(&h->endpoint.addr.v6, &a6, sizeof(a6));
	ck_assert_uint_eq(h->endpoint.port, 443);

	h = policy_host_find(p, "h3");
	ck_assert(!h->has_keys);
	ck_assert(h->has_overlay4);
	ck_assert(!h->has_overlay6);
	ck_assert(!h->endpoint.set);
	policy_free(p);
}
END_TEST

/* policy_host_token / policy_user_token, then signed and verified. */
START_TEST(test_policy_tokens)
{
	uint8_t tk[32], sk[32], buf[WIRE_TOKEN_MAX];
	struct policy *p = details_policy(tk, sk);
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	struct in_addr a4;
	struct in6_addr a6;
	static const int h1_grant[] = B(2), alice_grant[] = B(1, 3);
	size_t len;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	memset(&tr, 0, sizeof(tr));
	memcpy(tr.authority_pk, ak.pk, 32);
	tr.now = 150;

	memset(&t, 0x5a, sizeof(t));
	ck_assert_int_eq(policy_host_token(policy_host_find(p, "h1"), &t), 0);
	ck_assert_int_eq(t.type, WIRE_TYPE_HOST_TOKEN);
	ck_assert_str_eq(t.name, "h1");
	ck_assert_uint_eq(t.bit, 1);
	assert_mask(&t.grant, h1_grant, "h1 token");
	ck_assert_uint_eq(t.flags, WIRE_HOST_OVERLAY4 | WIRE_HOST_OVERLAY6);
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.1", &a4), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd77::1", &a6), 1);
	ck_assert_mem_eq(t.overlay4, &a4, 4);
	ck_assert_mem_eq(t.overlay6, &a6, 16);
	ck_assert_mem_eq(t.tunnel_pk, tk, 32);
	ck_assert_mem_eq(t.sign_pk, sk, 32);
	t.serial = 1;
	t.not_before = 100;
	t.not_after = 200;
	ck_assert_int_eq(token_sign(&t, &ak, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(token_verify(buf, len, WIRE_TYPE_HOST_TOKEN, &tr, &got), TOKEN_OK);
	ck_assert_str_eq(got.name, "h1");
	ck_assert_uint_eq(got.flags, t.flags);
	ck_assert_mem_eq(got.overlay4, t.overlay4, 4);
	ck_assert(mask_equal(&got.grant, &t.grant));

	/* A host without keys cannot have a token. */
	ck_assert_int_eq(policy_host_token(policy_host_find(p, "h2"), &t), -ENOKEY);

	memset(&t, 0x5a, sizeof(t));
	ck_assert_int_eq(policy_user_token(policy_user_find(p, "alice"), &t), 0);
	ck_assert_int_eq(t.type, WIRE_TYPE_USER_TOKEN);
	ck_assert_str_eq(t.name, "alice");
	assert_mask(&t.grant, alice_grant, "alice token");
	t.serial = 2;
	t.not_before = 100;
	t.not_after = 200;
	ck_assert_int_eq(token_sign(&t, &ak, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 32 + 5 + 1 + 64);
	ck_assert_int_eq(token_verify(buf, len, WIRE_TYPE_USER_TOKEN, &tr, &got), TOKEN_OK);
	ck_assert_str_eq(got.name, "alice");
	assert_mask(&got.grant, alice_grant, "alice verified");
	policy_free(p);
}
END_TEST

/* ---- policies that do not load --------------------------------------------- */

struct err_case {
	const char *what;
	const char *json;
	int line;		/* > 0: text starts "test.json:LINE:COL:" */
	const char *needles[3];	/* each must appear; "a|b" means either */
};

#define HOSTS_OK "'h1': {'bit': 1, 'reach': ['h2']}, 'h2': {'bit': 2, 'reach': []}"
#define USERS_OK "'u1': {'reach': ['h1']}"
#define GROUPS_OK "'g1': ['h1']"
#define DOC(h, u, g) "{'hosts': {" h "}, 'users': {" u "}, 'groups': {" g "}}"
#define H2(h1body) "'h1': {" h1body "}, 'h2': {'bit': 2, 'reach': []}"

static const struct err_case err_cases[] = {
	/* JSON syntax */
	{ "syntax on line 3", "{\n 'hosts': {\n  'h1': {'bit': 1,, 'reach': []}\n },\n"
	  " 'users': {}, 'groups': {}\n}\n", 3, { NULL } },
	{ "unterminated", "{'hosts': {", 1, { NULL } },
	{ "empty", "", 0, { NULL } },
	{ "trailing garbage", DOC(HOSTS_OK, USERS_OK, GROUPS_OK) " x", 1, { NULL } },
	{ "not JSON", "hosts: h1", 1, { NULL } },
	{ "root is an array", "[]", 0, { NULL } },
	{ "root is a string", "'hosts'", 0, { NULL } },
	/* duplicate keys */
	{ "duplicate host", DOC("'h1': {'bit': 1, 'reach': []}, 'h1': {'bit': 2, 'reach': []}",
				"", ""), 0, { "h1" } },
	{ "duplicate key in host", DOC(H2("'bit': 1, 'bit': 3, 'reach': []"), "", ""), 0,
	  { "bit" } },
	{ "duplicate top-level key", "{'hosts': {" HOSTS_OK "}, 'hosts': {}, 'users': {},"
	  " 'groups': {}}", 0, { "hosts" } },
	{ "duplicate user", DOC(HOSTS_OK, USERS_OK ", " USERS_OK, ""), 0, { "u1" } },
	{ "duplicate group", DOC(HOSTS_OK, "", GROUPS_OK ", " GROUPS_OK), 0, { "g1" } },
	/* unknown names */
	{ "unknown host in host reach", DOC(H2("'bit': 1, 'reach': ['nosuch']"), "", ""), 0,
	  { "nosuch", "h1|reach" } },
	{ "unknown host in user reach", DOC(HOSTS_OK, "'u1': {'reach': ['h1', 'ghost']}", ""),
	  0, { "ghost", "u1|reach" } },
	{ "unknown host in group", DOC(HOSTS_OK, "", "'g1': ['h1', 'h9']"), 0,
	  { "h9", "g1" } },
	{ "unknown group in reach", DOC(HOSTS_OK, "'u1': {'reach': ['nogroup']}", GROUPS_OK),
	  0, { "nogroup" } },
	/* bits */
	{ "duplicate bit", DOC("'h1': {'bit': 1, 'reach': []}, 'h2': {'bit': 1, 'reach': []}",
			       "", ""), 0, { "h1|h2", "bit" } },
	{ "bit -1", DOC(H2("'bit': -1, 'reach': []"), "", ""), 0, { "bit", "h1" } },
	{ "bit 1024", DOC(H2("'bit': 1024, 'reach': []"), "", ""), 0, { "bit", "h1" } },
	{ "bit 65537", DOC(H2("'bit': 65537, 'reach': []"), "", ""), 0, { "bit" } },
	{ "bit 1.5", DOC(H2("'bit': 1.5, 'reach': []"), "", ""), 0, { "bit" } },
	{ "bit string", DOC(H2("'bit': '1', 'reach': []"), "", ""), 0, { "bit" } },
	{ "bit true", DOC(H2("'bit': true, 'reach': []"), "", ""), 0, { "bit" } },
	{ "bit null", DOC(H2("'bit': null, 'reach': []"), "", ""), 0, { "bit" } },
	{ "bit missing", DOC(H2("'reach': []"), "", ""), 0, { "bit", "h1" } },
	/* names */
	{ "empty host name", DOC("'': {'bit': 1, 'reach': []}", "", ""), 0, { "hosts" } },
	{ "host name bad!name", DOC("'bad!name': {'bit': 1, 'reach': []}", "", ""), 0,
	  { "bad!name" } },
	{ "host name with space", DOC("'a b': {'bit': 1, 'reach': []}", "", ""), 0,
	  { "a b" } },
	{ "host name -x", DOC("'-x': {'bit': 1, 'reach': []}", "", ""), 0, { "-x" } },
	{ "host name .x", DOC("'.x': {'bit': 1, 'reach': []}", "", ""), 0, { ".x" } },
	{ "host name *", DOC("'*': {'bit': 1, 'reach': []}", "", ""), 0, { "hosts" } },
	{ "host name 33 long", DOC("'" NAME33 "': {'bit': 1, 'reach': []}", "", ""), 0,
	  { "abcdefghijklmnopqrstuvwxyz" } },
	{ "user name bad/user", DOC(HOSTS_OK, "'bad/user': {'reach': []}", ""), 0,
	  { "bad/user" } },
	{ "user name 33 long", DOC(HOSTS_OK, "'" UNAME33 "': {'reach': []}", ""), 0,
	  { "ABCDEFGHIJKLMNOPQRSTUVWXYZ" } },
	{ "empty user name", DOC(HOSTS_OK, "'': {'reach': []}", ""), 0, { "users" } },
	{ "group name bad group", DOC(HOSTS_OK, "", "'bad group': ['h1']"), 0,
	  { "bad group" } },
	{ "empty group name", DOC(HOSTS_OK, "", "'': ['h1']"), 0, { "groups" } },
	{ "group named like a host", DOC(HOSTS_OK, "", "'h1': ['h2']"), 0, { "h1" } },
	/* unknown keys */
	{ "unknown top-level key", "{'hosts': {" HOSTS_OK "}, 'users': {}, 'groups': {},"
	  " 'extra': 1}", 0, { "extra" } },
	{ "unknown host key", DOC(H2("'bit': 1, 'reach': [], 'colour': 'red'"), "", ""), 0,
	  { "colour", "h1" } },
	{ "unknown user key", DOC(HOSTS_OK, "'u1': {'reach': [], 'shell': '/bin/sh'}", ""),
	  0, { "shell", "u1" } },
	/* wrong types */
	{ "reach a string", DOC(H2("'bit': 1, 'reach': 'h2'"), "", ""), 0,
	  { "reach", "h1" } },
	{ "reach an object", DOC(H2("'bit': 1, 'reach': {}"), "", ""), 0, { "reach" } },
	{ "reach of numbers", DOC(H2("'bit': 1, 'reach': [2]"), "", ""), 0, { "reach" } },
	{ "reach with null", DOC(H2("'bit': 1, 'reach': [null]"), "", ""), 0,
	  { "reach" } },
	{ "user reach a string", DOC(HOSTS_OK, "'u1': {'reach': '*'}", ""), 0,
	  { "reach", "u1" } },
	{ "hosts an array", "{'hosts': [], 'users': {}, 'groups': {}}", 0, { "hosts" } },
	{ "hosts a string", "{'hosts': 'h1', 'users': {}, 'groups': {}}", 0, { "hosts" } },
	{ "users a number", "{'hosts': {" HOSTS_OK "}, 'users': 5, 'groups': {}}", 0,
	  { "users" } },
	{ "groups an array", "{'hosts': {" HOSTS_OK "}, 'users': {}, 'groups': []}", 0,
	  { "groups" } },
	{ "group a string", DOC(HOSTS_OK, "", "'g1': 'h1'"), 0, { "g1" } },
	{ "group of numbers", DOC(HOSTS_OK, "", "'g1': [1]"), 0, { "g1" } },
	{ "host a number", DOC("'h1': 1", "", ""), 0, { "h1" } },
	{ "user an array", DOC(HOSTS_OK, "'u1': []", ""), 0, { "u1" } },
	/* addresses and keys */
	{ "overlay 10.0.0.300", DOC(H2("'bit': 1, 'reach': [], 'overlay': ['10.0.0.300']"),
				    "", ""), 0, { "overlay" } },
	{ "overlay not an address", DOC(H2("'bit': 1, 'reach': [], 'overlay': ['nope']"),
					"", ""), 0, { "overlay" } },
	{ "overlay a string", DOC(H2("'bit': 1, 'reach': [], 'overlay': '10.0.0.1'"), "", ""),
	  0, { "overlay" } },
	{ "overlay of numbers", DOC(H2("'bit': 1, 'reach': [], 'overlay': [1]"), "", ""), 0,
	  { "overlay" } },
	{ "endpoint without port", DOC(H2("'bit': 1, 'reach': [], 'endpoint': '192.0.2.1'"),
				       "", ""), 0, { "endpoint" } },
	{ "endpoint empty port", DOC(H2("'bit': 1, 'reach': [], 'endpoint': '192.0.2.1:'"),
				     "", ""), 0, { "endpoint" } },
	{ "endpoint port 65536",
	  DOC(H2("'bit': 1, 'reach': [], 'endpoint': '192.0.2.1:65536'"), "", ""), 0,
	  { "endpoint" } },
	{ "endpoint port abc", DOC(H2("'bit': 1, 'reach': [], 'endpoint': '192.0.2.1:abc'"),
				   "", ""), 0, { "endpoint" } },
	{ "endpoint host name",
	  DOC(H2("'bit': 1, 'reach': [], 'endpoint': 'example.com:51820'"), "", ""), 0,
	  { "endpoint" } },
	{ "endpoint v6 without port",
	  DOC(H2("'bit': 1, 'reach': [], 'endpoint': '[2001:db8::1]'"), "", ""), 0,
	  { "endpoint" } },
	{ "endpoint bad address",
	  DOC(H2("'bit': 1, 'reach': [], 'endpoint': '192.0.2.300:1'"), "", ""), 0,
	  { "endpoint" } },
	{ "endpoint a number", DOC(H2("'bit': 1, 'reach': [], 'endpoint': 5"), "", ""), 0,
	  { "endpoint" } },
	{ "tunnel_key not base64",
	  DOC(H2("'bit': 1, 'reach': [], 'tunnel_key': 'notbase64!',"
		 " 'sign_key': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='"), "", ""), 0,
	  { "tunnel_key" } },
	{ "sign_key 31 bytes",
	  DOC(H2("'bit': 1, 'reach': [], 'tunnel_key': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',"
		 " 'sign_key': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='"), "", ""), 0,
	  { "sign_key" } },
	{ "tunnel_key a number",
	  DOC(H2("'bit': 1, 'reach': [], 'tunnel_key': 5,"
		 " 'sign_key': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='"), "", ""), 0,
	  { "tunnel_key" } },
};

static bool contains_any(const char *text, const char *alts)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", alts);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		if (strstr(text, tok))
			return true;
	return false;
}

static void check_error_text(const char *text, const char *source, int line,
			     const char *const needles[3], const char *what)
{
	size_t i;

	ck_assert_msg(text[0] != '\0', "%s: empty error text", what);
	ck_assert_msg(strlen(text) < POLICY_ERROR_LEN, "%s: error text unterminated", what);
	ck_assert_msg(strstr(text, source) != NULL, "%s: error \"%s\" does not name %s",
		      what, text, source);
	if (line > 0) {
		char prefix[PATH_MAX + 32];
		size_t n;

		n = (size_t)snprintf(prefix, sizeof(prefix), "%s:%d:", source, line);
		ck_assert_msg(!strncmp(text, prefix, n) && text[n] >= '0' && text[n] <= '9',
			      "%s: error \"%s\" does not start with %sCOL", what, text, prefix);
	}
	for (i = 0; i < 3 && needles[i]; i++)
		ck_assert_msg(contains_any(text, needles[i]), "%s: error \"%s\" lacks \"%s\"",
			      what, text, needles[i]);
}

START_TEST(test_err_case)
{
	const struct err_case *c = &err_cases[_i];
	struct policy *p = NULL;
	struct policy_error err;
	bool ok;

	ok = parse_sq(c->json, &p, &err);
	ck_assert_msg(!ok, "%s: accepted", c->what);
	ck_assert_msg(p == NULL, "%s: *out set on error", c->what);
	check_error_text(err.text, SRC, c->line, c->needles, c->what);
}
END_TEST

/* Every error case parsed through policy_parse_json too (JSON ones excepted). */
START_TEST(test_err_case_json)
{
	const struct err_case *c = &err_cases[_i];
	struct policy *p = NULL;
	struct policy_error err;
	json_error_t jerr;
	json_t *root;
	char *j = jq(c->json), *before, *after;

	root = json_loads(j, JSON_REJECT_DUPLICATES, &jerr);
	free(j);
	if (!root)
		return;	/* a syntax case: policy_parse_buffer's business */
	before = json_dumps(root, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(!policy_parse_json(root, "other.json", &p, &err), "%s: accepted",
		      c->what);
	ck_assert_ptr_null(p);
	check_error_text(err.text, "other.json", 0, c->needles, c->what);
	after = json_dumps(root, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(root->refcount, 1);
	free(before);
	free(after);
	json_decref(root);
}
END_TEST

START_TEST(test_parse_json_ok)
{
	struct policy *p = NULL;
	struct policy_error err;
	json_error_t jerr;
	char *j = jq(ACCEPTANCE), *before, *after;
	json_t *root = json_loads(j, JSON_REJECT_DUPLICATES, &jerr);

	ck_assert_ptr_nonnull(root);
	before = json_dumps(root, JSON_SORT_KEYS);
	ck_assert_msg(policy_parse_json(root, "mem", &p, &err), "%s", err.text);
	after = json_dumps(root, JSON_SORT_KEYS);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(root->refcount, 1);
	ck_assert_uint_eq(p->nhosts, 3);
	ck_assert_uint_eq(policy_host_find(p, "host3")->bit, 3);
	policy_free(p);
	json_decref(root);
	free(before);
	free(after);
	free(j);
}
END_TEST

/* ---- files ----------------------------------------------------------------- */

START_TEST(test_parse_file)
{
	static const char *const no_needles[3] = { NULL };
	static const char *const nosuch[3] = { "nosuch" };
	char *dir = test_tmpdir();
	char *good = test_path(dir, "good.json"), *bad = test_path(dir, "bad.json");
	char *wrong = test_path(dir, "wrong.json"), *missing = test_path(dir, "missing.json");
	char *j = jq(ACCEPTANCE);
	struct policy *p = NULL;
	struct policy_error err;

	test_write_file(good, j, strlen(j), 0644);
	ck_assert_msg(policy_parse_file(good, &p, &err), "%s", err.text);
	ck_assert_uint_eq(p->nhosts, 3);
	ck_assert_uint_eq(p->nusers, 2);
	ck_assert_uint_eq(policy_host_find(p, "host2")->bit, 2);
	policy_free(p);
	free(j);

	/* Syntax error on line 2: "PATH:2:COL: ..." */
	j = jq("{'hosts': {},\n 'users': {]\n}\n");
	test_write_file(bad, j, strlen(j), 0644);
	p = NULL;
	memset(&err, 0, sizeof(err));
	ck_assert(!policy_parse_file(bad, &p, &err));
	ck_assert_ptr_null(p);
	check_error_text(err.text, bad, 2, no_needles, "syntax error in file");
	free(j);

	/* A semantic error names the file and the offending value. */
	j = jq(DOC(H2("'bit': 1, 'reach': ['nosuch']"), "", ""));
	test_write_file(wrong, j, strlen(j), 0644);
	p = NULL;
	memset(&err, 0, sizeof(err));
	ck_assert(!policy_parse_file(wrong, &p, &err));
	ck_assert_ptr_null(p);
	check_error_text(err.text, wrong, 0, nosuch, "unknown host in file");
	free(j);

	/* Missing file, and a directory. */
	p = NULL;
	memset(&err, 0, sizeof(err));
	ck_assert(!policy_parse_file(missing, &p, &err));
	ck_assert_ptr_null(p);
	check_error_text(err.text, missing, 0, no_needles, "missing file");
	memset(&err, 0, sizeof(err));
	ck_assert(!policy_parse_file(dir, &p, &err));
	ck_assert_ptr_null(p);
	check_error_text(err.text, dir, 0, no_needles, "directory");

	free(good);
	free(bad);
	free(wrong);
	free(missing);
	test_rmtree(dir);
}
END_TEST

Suite *suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;
	const int nerr = (int)(sizeof(err_cases) / sizeof(err_cases[0]));

	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_ok_case, 0, sizeof(ok_cases) / sizeof(ok_cases[0]));
	tcase_add_test(tc, test_acceptance_effective_capability);
	tcase_add_test(tc, test_lookups);
	tcase_add_test(tc, test_host_details);
	tcase_add_test(tc, test_policy_tokens);
	tcase_add_test(tc, test_parse_json_ok);
	tcase_add_test(tc, test_parse_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_err_case, 0, nerr);
	tcase_add_loop_test(tc, test_err_case_json, 0, nerr);
	suite_add_tcase(s, tc);
	return s;
}
