/*
 * tests/unit/check_tokenfile.c - token_file_verify and revocation_file_load:
 * armored files read, decoded and verified in one call, each failure with
 * its own return value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "armor.h"
#include "suites.h"
#include "token.h"

enum file_kind {
	FILE_HOST,		/* armored host token */
	FILE_USER,		/* armored user token */
	FILE_HOST_OTHER_AUTH,	/* host token signed by another authority */
	FILE_HOST_REVOKED,	/* host token whose serial the list names */
	FILE_RAW,		/* host token, binary, not armored */
	FILE_GARBAGE,		/* not a token at all */
	FILE_MISSING,		/* no file */
};

struct tf_case {
	const char *what;
	enum file_kind kind;
	enum wire_type expect;
	int ret;
	enum token_status st;	/* when ret is 0 or -EKEYREJECTED */
};

static const struct tf_case tf_cases[] = {
	{ "valid host token", FILE_HOST, WIRE_TYPE_HOST_TOKEN, 0, TOKEN_OK },
	{ "valid user token", FILE_USER, WIRE_TYPE_USER_TOKEN, 0, TOKEN_OK },
	{ "user file read as host", FILE_USER, WIRE_TYPE_HOST_TOKEN, -EINVAL, 0 },
	{ "other authority", FILE_HOST_OTHER_AUTH, WIRE_TYPE_HOST_TOKEN,
	  -EKEYREJECTED, TOKEN_ERR_AUTHORITY },
	{ "revoked", FILE_HOST_REVOKED, WIRE_TYPE_HOST_TOKEN, -EKEYREJECTED,
	  TOKEN_ERR_REVOKED },
	{ "raw binary", FILE_RAW, WIRE_TYPE_HOST_TOKEN, -EINVAL, 0 },
	{ "garbage", FILE_GARBAGE, WIRE_TYPE_HOST_TOKEN, -EINVAL, 0 },
	{ "missing", FILE_MISSING, WIRE_TYPE_HOST_TOKEN, -ENOENT, 0 },
};

static void sign_token(const struct authority_key *ak, enum wire_type type,
		       uint64_t serial, uint8_t *bin, size_t *len)
{
	struct token t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	strcpy(t.name, "h1");
	t.bit = 1;
	mask_bit_set(&t.grant, 2);
	t.serial = serial;
	t.not_before = 100;
	t.not_after = 200;
	ck_assert_int_eq(token_sign(&t, ak, bin, WIRE_TOKEN_MAX, len), 0);
}

static void write_armored(const char *path, const char *label,
			  const uint8_t *bin, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;

	ck_assert_int_eq(armor_encode(label, bin, len, &text, &tlen), 0);
	test_write_file(path, text, tlen, 0644);
	free(text);
}

START_TEST(test_token_file)
{
	const struct tf_case *c = &tf_cases[_i];
	struct authority_key ak, other;
	struct revocation rl = { .serial = 1, .count = 1 };
	uint64_t revoked_serial = 9;
	uint8_t bin[WIRE_TOKEN_MAX], out[WIRE_TOKEN_MAX];
	struct token_trust trust;
	enum token_status st = TOKEN_OK;
	struct token t;
	size_t len = 0, outlen = 0;
	char *dir = test_tmpdir(), *path = test_path(dir, "t.token");
	int ret;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_generate(&other), 0);
	rl.serials = &revoked_serial;
	switch (c->kind) {
	case FILE_HOST:
	case FILE_RAW:
		sign_token(&ak, WIRE_TYPE_HOST_TOKEN, 1, bin, &len);
		break;
	case FILE_USER:
		sign_token(&ak, WIRE_TYPE_USER_TOKEN, 1, bin, &len);
		break;
	case FILE_HOST_OTHER_AUTH:
		sign_token(&other, WIRE_TYPE_HOST_TOKEN, 1, bin, &len);
		break;
	case FILE_HOST_REVOKED:
		sign_token(&ak, WIRE_TYPE_HOST_TOKEN, revoked_serial, bin, &len);
		break;
	default:
		break;
	}
	if (c->kind == FILE_RAW)
		test_write_file(path, bin, len, 0644);
	else if (c->kind == FILE_GARBAGE)
		test_write_file(path, "not a token\n", 12, 0644);
	else if (c->kind != FILE_MISSING)
		write_armored(path, c->kind == FILE_USER ? TOKEN_ARMOR_USER
							 : TOKEN_ARMOR_HOST, bin, len);
	memcpy(trust.authority_pk, ak.pk, sizeof(trust.authority_pk));
	trust.revoked = &rl;
	trust.now = 150;
	ret = token_file_verify(path, c->expect, &trust, out, &outlen, &t, &st);
	ck_assert_msg(ret == c->ret, "%s: ret %d, want %d", c->what, ret, c->ret);
	if (ret == 0 || ret == -EKEYREJECTED)
		ck_assert_msg(st == c->st, "%s: status %s, want %s", c->what,
			      token_status_name(st), token_status_name(c->st));
	if (ret == 0) {
		ck_assert_uint_eq(outlen, len);
		ck_assert_mem_eq(out, bin, len);
		ck_assert_str_eq(t.name, "h1");
	}
	keys_authority_wipe(&ak);
	keys_authority_wipe(&other);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_revocation_file)
{
	struct authority_key ak, other;
	uint64_t serials[] = { 7, 3 };
	struct revocation rl = { .serial = 4, .count = 2, .serials = serials }, got;
	enum token_status st = TOKEN_OK;
	uint8_t *bin = NULL;
	size_t len = 0;
	char *dir = test_tmpdir(), *path = test_path(dir, "revocation.list");

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_generate(&other), 0);
	ck_assert_int_eq(revocation_file_load(path, ak.pk, &got, &st), -ENOENT);
	ck_assert_int_eq(revocation_sign(&rl, &ak, &bin, &len), 0);
	write_armored(path, TOKEN_ARMOR_REVOCATION, bin, len);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(revocation_file_load(path, ak.pk, &got, &st), 0);
	ck_assert_uint_eq(got.serial, 4);
	ck_assert_uint_eq(got.count, 2);
	ck_assert(revocation_contains(&got, 3) && revocation_contains(&got, 7));
	revocation_free(&got);
	ck_assert_int_eq(revocation_file_load(path, other.pk, &got, &st), -EKEYREJECTED);
	ck_assert_int_eq(st, TOKEN_ERR_AUTHORITY);
	write_armored(path, TOKEN_ARMOR_HOST, bin, len);
	ck_assert_int_eq(revocation_file_load(path, ak.pk, &got, &st), -EINVAL);
	free(bin);
	keys_authority_wipe(&ak);
	keys_authority_wipe(&other);
	free(path);
	test_rmtree(dir);
}
END_TEST

Suite *suite_tokenfile(void)
{
	Suite *s = suite_create("tokenfile");
	TCase *tc = tcase_create("files");

	tcase_add_loop_test(tc, test_token_file, 0,
			    (int)(sizeof(tf_cases) / sizeof(tf_cases[0])));
	tcase_add_test(tc, test_revocation_file);
	suite_add_tcase(s, tc);
	return s;
}
