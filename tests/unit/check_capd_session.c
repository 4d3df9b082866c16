/*
 * tests/unit/check_capd_session.c - capd's session table and the effective
 * capability it leaves: the acceptance example of ARCHITECTURE.md (host1
 * grant {host2,host3}, A {host1,host3}, B all), users counted once however
 * many sessions they hold, isolation by a user without a valid token, and
 * the table's bookkeeping and limits. Then the same with real signed token
 * files: capd_trust_user_verify's verdict for each kind of bad file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "armor.h"
#include "capd.h"
#include "suites.h"

enum {
	NOW = 1000,
	MAX_USERS_IN_CASE = 4,
};

static const int host1_grant[] = { 2, 3, BITS_END };
static const int user_a[] = { 1, 3, BITS_END };
static const int user_b[] = { 0, 1, 2, 3, 4, 5, 1023, BITS_END };
static const int user_c[] = { 2, BITS_END };

struct mask_case {
	const char *what;
	const char *users[MAX_USERS_IN_CASE];	/* logged in, in order; NULL ends */
	const char *invalid;			/* a user whose token does not count */
	int want[8];
	bool isolate;
};

static const struct mask_case mask_cases[] = {
	{ "nobody: the host grant", { NULL }, NULL, { 2, 3, BITS_END }, false },
	{ "A: host3 only", { "A" }, NULL, { 3, BITS_END }, false },
	{ "A and B: host3", { "A", "B" }, NULL, { 3, BITS_END }, false },
	{ "B and A: order does not matter", { "B", "A" }, NULL, { 3, BITS_END }, false },
	{ "B: the host grant", { "B" }, NULL, { 2, 3, BITS_END }, false },
	{ "A twice: counted once", { "A", "A" }, NULL, { 3, BITS_END }, false },
	{ "A and C: nothing in common", { "A", "C" }, NULL, { BITS_END }, false },
	{ "C: host2", { "C" }, NULL, { 2, BITS_END }, false },
	{ "B with an invalid token: isolated", { "B" }, "B", { BITS_END }, true },
	{ "A valid, B invalid: isolated", { "A", "B" }, "B", { BITS_END }, true },
};

static void user_fill(struct capd_user *u, const char *name, bool valid)
{
	const int *bits = strcmp(name, "A") == 0 ? user_a :
			  strcmp(name, "B") == 0 ? user_b : user_c;

	u->err = valid ? 0 : -EKEYREJECTED;
	u->st = valid ? TOKEN_OK : TOKEN_ERR_REVOKED;
	u->tok.not_before = 0;
	u->tok.not_after = NOW * 2;
	snprintf(u->tok.name, sizeof(u->tok.name), "%s", name);
	test_mask_of(&u->tok.grant, bits);
}

static struct capd_session *session_new(uint64_t id, const char *user, pid_t pid)
{
	struct capd_session *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	s->id = id;
	s->pid = pid;
	s->ev.fd = -1;
	snprintf(s->user, sizeof(s->user), "%s", user);
	return s;
}

START_TEST(test_effective_mask)
{
	const struct mask_case *c = &mask_cases[_i];
	struct capd_table t;
	struct mask host, got, want;
	bool isolate = false;

	test_mask_of(&host, host1_grant);
	test_mask_of(&want, c->want);
	capd_table_init(&t);
	for (int i = 0; i < MAX_USERS_IN_CASE && c->users[i]; i++) {
		struct capd_user *u = NULL;

		ck_assert_int_eq(capd_table_add(&t, session_new(t.next_id, c->users[i], 100 + i),
						&u), 0);
		user_fill(u, c->users[i], !c->invalid || strcmp(c->invalid, c->users[i]) != 0);
	}
	capd_cap_compute(&host, t.users, t.nusers, NOW, &got, &isolate);
	ck_assert_msg(mask_equal(&got, &want), "%s: wrong mask", c->what);
	ck_assert_msg(isolate == c->isolate, "%s: isolate %d", c->what, isolate);
	capd_table_free(&t);
}
END_TEST

/* A token outside its validity does not count, whatever it verified as. */
START_TEST(test_expiry_isolates)
{
	struct capd_user u;
	struct mask host, got;
	bool isolate;

	memset(&u, 0, sizeof(u));
	test_mask_of(&host, host1_grant);
	user_fill(&u, "A", true);
	u.tok.not_before = 500;
	u.tok.not_after = 900;
	capd_cap_compute(&host, &u, 1, 700, &got, &isolate);
	ck_assert(!isolate);
	ck_assert(mask_bit_test(&got, 3));
	capd_cap_compute(&host, &u, 1, 901, &got, &isolate);
	ck_assert(isolate && mask_is_empty(&got));
	ck_assert_str_eq(capd_user_why(&u, 901), token_status_str(TOKEN_ERR_EXPIRED));
	capd_cap_compute(&host, &u, 1, 499, &got, &isolate);
	ck_assert(isolate);
	ck_assert_str_eq(capd_user_why(&u, 499), token_status_str(TOKEN_ERR_NOT_YET_VALID));
	ck_assert_str_eq(capd_user_why(&u, 700), "");
}
END_TEST

START_TEST(test_table_bookkeeping)
{
	struct capd_table t;
	struct capd_user *u = NULL;
	struct capd_session *s;
	char text[64];

	capd_table_init(&t);
	ck_assert_uint_eq(t.next_id, 1);
	ck_assert_int_eq(capd_table_add(&t, session_new(5, "A", 10), &u), 0);
	ck_assert_int_eq(u->err, -ENODATA);	/* not verified yet: does not count */
	ck_assert_int_eq(capd_table_add(&t, session_new(2, "B", 11), NULL), 0);
	ck_assert_int_eq(capd_table_add(&t, session_new(9, "A", 12), &u), 0);
	ck_assert_uint_eq(u->nsessions, 2);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.nusers, 2);
	ck_assert_uint_eq(t.next_id, 10);
	/* kept by ascending id */
	ck_assert_uint_eq(t.s[0]->id, 2);
	ck_assert_uint_eq(t.s[1]->id, 5);
	ck_assert_uint_eq(t.s[2]->id, 9);
	s = session_new(5, "C", 13);
	ck_assert_int_eq(capd_table_add(&t, s, NULL), -EEXIST);
	free(s);
	ck_assert_uint_eq(t.nusers, 2);
	ck_assert_int_eq(capd_table_find_id(&t, 9), 2);
	ck_assert_int_eq(capd_table_find_id(&t, 7), -1);
	ck_assert_int_eq(capd_table_find_pid(&t, 11, 0), 0);
	ck_assert_int_eq(capd_table_find_pid(&t, 12, 0), 2);
	ck_assert_int_eq(capd_table_find_pid(&t, 99, 0), -1);
	capd_users_text(&t, text, sizeof(text));
	ck_assert_str_eq(text, "A,B");
	ck_assert_uint_eq(capd_users_text(&t, text, 2), 3);
	ck_assert_str_eq(text, "A");

	s = capd_table_remove(&t, 1);	/* id 5, one of A's two */
	ck_assert_uint_eq(s->id, 5);
	free(s);
	ck_assert_ptr_nonnull(capd_table_user(&t, "A"));
	s = capd_table_remove(&t, 1);	/* id 9, A's last */
	free(s);
	ck_assert_ptr_null(capd_table_user(&t, "A"));
	ck_assert_uint_eq(t.nusers, 1);
	ck_assert_ptr_null(capd_table_remove(&t, 5));
	s = capd_table_remove(&t, 0);
	free(s);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.nusers, 0);
	ck_assert_uint_eq(t.next_id, 10);	/* ids are never reused */
	capd_table_free(&t);
}
END_TEST

START_TEST(test_table_limits)
{
	struct capd_table t;
	struct capd_session *s;
	char name[16];

	capd_table_init(&t);
	for (int i = 0; i < CAPD_USERS_MAX; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		ck_assert_int_eq(capd_table_add(&t, session_new(t.next_id, name, 100), NULL), 0);
	}
	s = session_new(t.next_id, "one-too-many", 100);
	ck_assert_int_eq(capd_table_add(&t, s, NULL), -EUSERS);
	free(s);
	while (t.n < CAPD_SESSIONS_MAX)
		ck_assert_int_eq(capd_table_add(&t, session_new(t.next_id, "u1", 100), NULL), 0);
	s = session_new(t.next_id, "u1", 100);
	ck_assert_int_eq(capd_table_add(&t, s, NULL), -ENOSPC);
	free(s);
	capd_table_free(&t);
}
END_TEST

/* Token files, as capd finds them in DIR/tokens. */
enum file_kind {
	F_VALID,
	F_MISSING,
	F_REVOKED,
	F_EXPIRED,
	F_OTHER_AUTHORITY,
	F_OTHER_USER,		/* user-A.token holding B's token */
	F_GARBAGE,
	F_BAD_NAME,		/* a login name no token can carry */
};

struct file_case {
	const char *what;
	enum file_kind kind;
	int err;
	enum token_status st;
};

static const struct file_case file_cases[] = {
	{ "valid", F_VALID, 0, TOKEN_OK },
	{ "missing", F_MISSING, -ENOENT, TOKEN_OK },
	{ "revoked", F_REVOKED, -EKEYREJECTED, TOKEN_ERR_REVOKED },
	{ "expired", F_EXPIRED, -EKEYREJECTED, TOKEN_ERR_EXPIRED },
	{ "other authority", F_OTHER_AUTHORITY, -EKEYREJECTED, TOKEN_ERR_AUTHORITY },
	{ "another user's token", F_OTHER_USER, -EBADE, TOKEN_OK },
	{ "garbage", F_GARBAGE, -EINVAL, TOKEN_OK },
	{ "name no token can carry", F_BAD_NAME, -ENAMETOOLONG, TOKEN_OK },
};

static void sign_user(const struct authority_key *ak, const char *name, uint64_t serial,
		      uint64_t not_after, const char *path)
{
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token t;
	char *text = NULL;
	size_t len = 0, tlen = 0;

	memset(&t, 0, sizeof(t));
	t.type = WIRE_TYPE_USER_TOKEN;
	snprintf(t.name, sizeof(t.name), "%s", name);
	test_mask_of(&t.grant, user_a);
	t.serial = serial;
	t.not_before = 100;
	t.not_after = not_after;
	ck_assert_int_eq(token_sign(&t, ak, bin, sizeof(bin), &len), 0);
	ck_assert_int_eq(armor_encode(TOKEN_ARMOR_USER, bin, len, &text, &tlen), 0);
	test_write_file(path, text, tlen, 0644);
	free(text);
}

START_TEST(test_user_token_file)
{
	const struct file_case *c = &file_cases[_i];
	struct authority_key ak, other;
	struct capd_trust tr;
	struct capd_user u;
	uint64_t revoked = 66;
	char *dir = test_tmpdir(), *tokens = test_path(dir, "tokens");
	char *path;

	ck_assert_int_eq(mkdir(tokens, 0755), 0);
	path = test_path(tokens, "user-A.token");
	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_generate(&other), 0);
	memset(&tr, 0, sizeof(tr));
	memcpy(tr.authority_pk, ak.pk, sizeof(tr.authority_pk));
	tr.have_list = true;
	tr.revoked.serial = 1;
	tr.revoked.count = 1;
	tr.revoked.serials = &revoked;
	switch (c->kind) {
	case F_VALID:
	case F_BAD_NAME:
		sign_user(&ak, "A", 7, NOW * 2, path);
		break;
	case F_REVOKED:
		sign_user(&ak, "A", revoked, NOW * 2, path);
		break;
	case F_EXPIRED:
		sign_user(&ak, "A", 7, NOW - 1, path);
		break;
	case F_OTHER_AUTHORITY:
		sign_user(&other, "A", 7, NOW * 2, path);
		break;
	case F_OTHER_USER:
		sign_user(&ak, "B", 7, NOW * 2, path);
		break;
	case F_GARBAGE:
		test_write_file(path, "hello\n", 6, 0644);
		break;
	case F_MISSING:
		break;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", c->kind == F_BAD_NAME ? "a@b" : "A");
	capd_trust_user_verify(&tr, dir, &u, NOW);
	ck_assert_msg(u.err == c->err, "%s: err %d, want %d", c->what, u.err, c->err);
	if (c->err == -EKEYREJECTED)
		ck_assert_int_eq(u.st, c->st);
	ck_assert(capd_user_valid(&u, NOW) == (c->err == 0));
	ck_assert(c->err == 0 || strlen(capd_user_why(&u, NOW)) > 0);
	if (c->err == 0) {
		ck_assert_uint_eq(u.tok.serial, 7);
		ck_assert_uint_gt(u.len, 0);
	}
	free(path);
	free(tokens);
	test_rmtree(dir);
}
END_TEST

Suite *suite_capd_session(void)
{
	Suite *s = suite_create("capd_session");
	TCase *tc = tcase_create("mask");

	tcase_add_loop_test(tc, test_effective_mask, 0,
			    sizeof(mask_cases) / sizeof(mask_cases[0]));
	tcase_add_test(tc, test_expiry_isolates);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, test_table_bookkeeping);
	tcase_add_test(tc, test_table_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("token_files");
	tcase_add_loop_test(tc, test_user_token_file, 0,
			    sizeof(file_cases) / sizeof(file_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
