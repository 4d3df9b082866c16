/*
 * tests/unit/check_revocation.c - policy/token.h revocation lists: sign,
 * verify, contains, and every way an encoded list can be wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "suites.h"
#include "token.h"
#include "wire.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}




/* Signs count serials; *out is malloc'd. */
static size_t sign_list(const struct authority_key *ak, uint64_t serial,
			const uint64_t *serials, uint32_t count, uint8_t **out)
{
	struct revocation rl;
	size_t len = 0;

	memset(&rl, 0, sizeof(rl));
	rl.serial = serial;
	rl.issued_at = 1750000000;
	rl.count = count;
	rl.serials = (uint64_t *)serials;
	*out = NULL;
	ck_assert_int_eq(revocation_sign(&rl, ak, out, &len), 0);
	ck_assert_ptr_nonnull(*out);
	return len;
}

/* ---- round trips --------------------------------------------------------- */

#define END UINT64_MAX	/* ends the lists below (never used as a serial) */

struct rl_case {
	uint64_t in[12];	/* as handed to revocation_sign */
	uint64_t want[12];	/* sorted and unique */
	uint64_t absent[6];
};

static const struct rl_case rl_cases[] = {
	{ { END }, { END }, { 0, 1, 2, UINT64_MAX - 1, END } },
	{ { 5, END }, { 5, END }, { 4, 6, 0, END } },
	{ { 9, 3, 7, 3, 1, 9, 9, END }, { 1, 3, 7, 9, END }, { 0, 2, 4, 8, 10, END } },
	{ { 2, 1, END }, { 1, 2, END }, { 0, 3, END } },
	{ { 0, UINT64_MAX - 1, 0x100000000ull, 0xffffffffull, END },
	  { 0, 0xffffffffull, 0x100000000ull, UINT64_MAX - 1, END },
	  { 1, 0xfffffffeull, 0x100000001ull, END } },
	{ { 42, 42, 42, 42, END }, { 42, END }, { 41, 43, END } },
};

static uint32_t list_len(const uint64_t *l)
{
	uint32_t n = 0;

	while (l[n] != END)
		n++;
	return n;
}

START_TEST(test_roundtrip)
{
	const struct rl_case *c = &rl_cases[_i];
	const uint32_t nin = list_len(c->in), nwant = list_len(c->want);
	struct authority_key ak;
	struct revocation out, dec;
	uint8_t *buf, id[WIRE_KEY_ID_LEN];
	enum token_status why = TOKEN_OK;
	size_t len;
	uint32_t i;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	keys_key_id(ak.pk, id);
	len = sign_list(&ak, 17 + (uint64_t)_i, c->in, nin, &buf);
	ck_assert_uint_eq(len, WIRE_REVOCATION_HDR_LEN + 8 * (size_t)nwant + WIRE_SIG_LEN);

	/* wire.h layout. */
	ck_assert_uint_eq(buf[0], WIRE_VERSION);
	ck_assert_uint_eq(buf[1], WIRE_TYPE_REVOCATION);
	ck_assert_uint_eq(buf[2], 0);
	ck_assert_uint_eq(buf[3], 0);
	ck_assert_mem_eq(buf + 4, id, WIRE_KEY_ID_LEN);
	ck_assert_uint_eq(test_get_be64(buf + 8), 17 + (uint64_t)_i);
	ck_assert_uint_eq(test_get_be64(buf + 16), 1750000000);
	ck_assert_uint_eq((uint32_t)buf[24] << 24 | (uint32_t)buf[25] << 16 |
			  (uint32_t)buf[26] << 8 | buf[27], nwant);
	ck_assert_uint_eq(buf[28] | buf[29] | buf[30] | buf[31], 0);
	for (i = 0; i < nwant; i++)
		ck_assert_uint_eq(test_get_be64(buf + 32 + 8 * i), c->want[i]);
	ck_assert_int_eq(crypto_sign_verify_detached(buf + len - WIRE_SIG_LEN, buf,
						     len - WIRE_SIG_LEN, ak.pk), 0);

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(revocation_verify(buf, len, ak.pk, &out), TOKEN_OK);
	ck_assert_uint_eq(out.serial, 17 + (uint64_t)_i);
	ck_assert_uint_eq(out.issued_at, 1750000000);
	ck_assert_uint_eq(out.count, nwant);
	ck_assert_mem_eq(out.key_id, id, WIRE_KEY_ID_LEN);
	for (i = 0; i < nwant; i++) {
		ck_assert_uint_eq(out.serials[i], c->want[i]);
		ck_assert(revocation_contains(&out, c->want[i]));
	}
	for (i = 0; c->absent[i] != END; i++)
		ck_assert_msg(!revocation_contains(&out, c->absent[i]), "contains %llu",
			      (unsigned long long)c->absent[i]);

	memset(&dec, 0, sizeof(dec));
	ck_assert(revocation_decode(buf, len, &dec, &why));
	ck_assert_uint_eq(dec.count, nwant);
	for (i = 0; i < nwant; i++)
		ck_assert_uint_eq(dec.serials[i], c->want[i]);
	revocation_free(&dec);
	revocation_free(&out);
	free(buf);
}
END_TEST

START_TEST(test_contains_large)
{
	enum { N = 5000 };
	struct authority_key ak;
	struct revocation out;
	uint64_t *serials = malloc(N * sizeof(*serials));
	uint8_t *buf;
	size_t len;
	uint64_t i;

	ck_assert_ptr_nonnull(serials);
	/* Even numbers, handed in descending. */
	for (i = 0; i < N; i++)
		serials[i] = 2 * (N - 1 - i);
	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	len = sign_list(&ak, 1, serials, N, &buf);
	ck_assert_uint_eq(len, 32 + 8 * N + 64);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(revocation_verify(buf, len, ak.pk, &out), TOKEN_OK);
	ck_assert_uint_eq(out.count, N);
	for (i = 0; i < 2 * N + 2; i++)
		ck_assert_msg(revocation_contains(&out, i) == (i % 2 == 0 && i < 2 * N),
			      "contains(%llu)", (unsigned long long)i);
	ck_assert(!revocation_contains(&out, UINT64_MAX));
	revocation_free(&out);
	free(buf);
	free(serials);
}
END_TEST

START_TEST(test_empty_list)
{
	struct authority_key ak;
	struct revocation rl, out;
	uint8_t *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	memset(&rl, 0, sizeof(rl));
	rl.serial = 1;
	rl.issued_at = 5;
	rl.count = 0;
	rl.serials = NULL;
	ck_assert_int_eq(revocation_sign(&rl, &ak, &buf, &len), 0);
	ck_assert_uint_eq(len, WIRE_REVOCATION_HDR_LEN + WIRE_SIG_LEN);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(revocation_verify(buf, len, ak.pk, &out), TOKEN_OK);
	ck_assert_uint_eq(out.count, 0);
	ck_assert_uint_eq(out.serial, 1);
	ck_assert_uint_eq(out.issued_at, 5);
	ck_assert(!revocation_contains(&out, 0));
	ck_assert(!revocation_contains(&out, 1));
	revocation_free(&out);
	free(buf);
}
END_TEST

START_TEST(test_sign_too_many)
{
	const uint32_t n = WIRE_REVOCATION_MAX + 1;
	struct authority_key ak;
	struct revocation rl;
	uint64_t *serials = malloc(n * sizeof(*serials));
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t i;

	ck_assert_ptr_nonnull(serials);
	for (i = 0; i < n; i++)
		serials[i] = i + 1;
	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	memset(&rl, 0, sizeof(rl));
	rl.serial = 2;
	rl.count = n;
	rl.serials = serials;
	ck_assert_int_lt(revocation_sign(&rl, &ak, &buf, &len), 0);
	ck_assert_ptr_null(buf);
	/* Exactly the maximum is fine. */
	rl.count = WIRE_REVOCATION_MAX;
	ck_assert_int_eq(revocation_sign(&rl, &ak, &buf, &len), 0);
	ck_assert_uint_eq(len, 32 + 8 * (size_t)WIRE_REVOCATION_MAX + 64);
	free(buf);
	free(serials);
}
END_TEST

/* ---- failures ------------------------------------------------------------ */

enum rmut {
	RM_NONE,
	RM_OTHER_AUTHORITY,	/* verified against another key */
	RM_SIG_BYTE,
	RM_SERIAL_BYTE,		/* a listed serial changed, not re-signed */
	RM_KEY_ID,
	RM_TRAIL_1,
	RM_TRAIL_8,		/* one more serial's worth of bytes */
	RM_VERSION,
	RM_TYPE_HOST,
	RM_TYPE_USER,
	/* below: correctly re-signed, structure wrong */
	RM_UNSORTED,
	RM_DUPLICATE,
	RM_RESERVED,
	RM_RESERVED2,
	RM_COUNT_OVER_MAX,
};

struct rfail_case {
	const char *what;
	enum rmut mut;
	enum token_status want;
};

static const struct rfail_case rfail_cases[] = {
	{ "ok", RM_NONE, TOKEN_OK },
	{ "other authority", RM_OTHER_AUTHORITY, TOKEN_ERR_AUTHORITY },
	{ "key id", RM_KEY_ID, TOKEN_ERR_AUTHORITY },
	{ "signature byte", RM_SIG_BYTE, TOKEN_ERR_SIGNATURE },
	{ "serial byte", RM_SERIAL_BYTE, TOKEN_ERR_SIGNATURE },
	{ "trailing byte", RM_TRAIL_1, TOKEN_ERR_TRAILING },
	{ "trailing 8 bytes", RM_TRAIL_8, TOKEN_ERR_TRAILING },
	{ "version", RM_VERSION, TOKEN_ERR_VERSION },
	{ "type host token", RM_TYPE_HOST, TOKEN_ERR_TYPE },
	{ "type user token", RM_TYPE_USER, TOKEN_ERR_TYPE },
	{ "unsorted", RM_UNSORTED, TOKEN_ERR_MALFORMED },
	{ "duplicate", RM_DUPLICATE, TOKEN_ERR_MALFORMED },
	{ "reserved", RM_RESERVED, TOKEN_ERR_MALFORMED },
	{ "reserved2", RM_RESERVED2, TOKEN_ERR_MALFORMED },
	{ "count over maximum", RM_COUNT_OVER_MAX, TOKEN_ERR_LENGTHS },
};

START_TEST(test_verify_case)
{
	static const uint64_t serials[] = { 10, 20, 30 };
	const struct rfail_case *c = &rfail_cases[_i];
	struct authority_key ak, other;
	struct revocation out;
	uint8_t *buf, *big = NULL;
	size_t len;
	enum token_status st, why = TOKEN_OK;
	bool ok;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_generate(&other), 0);
	len = sign_list(c->mut == RM_OTHER_AUTHORITY ? &other : &ak, 3, serials, 3, &buf);
	ck_assert_uint_eq(len, 32 + 24 + 64);
	buf = realloc(buf, len + 8);
	ck_assert_ptr_nonnull(buf);

	switch (c->mut) {
	case RM_NONE:
	case RM_OTHER_AUTHORITY:
		break;
	case RM_SIG_BYTE:
		buf[len - 10] ^= 0x04;
		break;
	case RM_SERIAL_BYTE:
		buf[32 + 8 + 7] ^= 0x01;	/* 20 -> 21, still ascending */
		break;
	case RM_KEY_ID:
		buf[7] ^= 0x01;
		break;
	case RM_TRAIL_1:
		buf[len++] = 0;
		break;
	case RM_TRAIL_8:
		memset(buf + len, 0xff, 8);
		len += 8;
		break;
	case RM_VERSION:
		buf[0] = 2;
		break;
	case RM_TYPE_HOST:
		buf[1] = WIRE_TYPE_HOST_TOKEN;
		break;
	case RM_TYPE_USER:
		buf[1] = WIRE_TYPE_USER_TOKEN;
		break;
	case RM_UNSORTED:
		test_put_be64(buf + 32, 25);	/* 25, 20, 30 */
		test_resign(buf, len, &ak);
		break;
	case RM_DUPLICATE:
		test_put_be64(buf + 40, 10);	/* 10, 10, 30 */
		test_resign(buf, len, &ak);
		break;
	case RM_RESERVED:
		buf[3] = 1;
		test_resign(buf, len, &ak);
		break;
	case RM_RESERVED2:
		buf[31] = 1;
		test_resign(buf, len, &ak);
		break;
	case RM_COUNT_OVER_MAX: {
		const uint32_t n = WIRE_REVOCATION_MAX + 1;
		uint32_t i;

		len = 32 + 8 * (size_t)n + 64;
		big = calloc(1, len);
		ck_assert_ptr_nonnull(big);
		memcpy(big, buf, 32);
		put_be32(big + 24, n);
		for (i = 0; i < n; i++)
			test_put_be64(big + 32 + 8 * (size_t)i, (uint64_t)i + 1);
		test_resign(big, len, &ak);
		free(buf);
		buf = big;
		break;
	}
	}
	memset(&out, 0, sizeof(out));
	st = revocation_verify(buf, len, ak.pk, &out);
	ck_assert_msg(st == c->want, "%s: got %s, want %s", c->what, token_status_name(st),
		      token_status_name(c->want));
	if (st == TOKEN_OK) {
		ck_assert_uint_eq(out.count, 3);
		revocation_free(&out);
	}
	/* Structural decode agrees about structural faults. */
	memset(&out, 0, sizeof(out));
	ok = revocation_decode(buf, len, &out, &why);
	if (c->want == TOKEN_OK || c->want == TOKEN_ERR_AUTHORITY ||
	    c->want == TOKEN_ERR_SIGNATURE) {
		ck_assert_msg(ok, "%s: decode failed (%s)", c->what, token_status_name(why));
		revocation_free(&out);
	} else {
		ck_assert_msg(!ok, "%s: decode accepted", c->what);
		ck_assert_msg(why == c->want, "%s: decode why %s, want %s", c->what,
			      token_status_name(why), token_status_name(c->want));
	}
	free(buf);
}
END_TEST

START_TEST(test_truncated_every_length)
{
	static const uint64_t serials[] = { 1, 2, 3, 1000 };
	struct authority_key ak;
	struct revocation out;
	uint8_t *buf, *copy;
	size_t len, n;
	enum token_status st;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	len = sign_list(&ak, 3, serials, 4, &buf);
	for (n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, buf, n);
		memset(&out, 0, sizeof(out));
		st = revocation_verify(copy, n, ak.pk, &out);
		ck_assert_msg(st == TOKEN_ERR_TRUNCATED, "length %zu of %zu: got %s", n, len,
			      token_status_name(st));
		free(copy);
	}
	free(buf);
}
END_TEST

START_TEST(test_every_bit_flip_fails)
{
	static const uint64_t serials[] = { 7, 8, 0x0102030405060708ull };
	struct authority_key ak;
	struct revocation out;
	uint8_t *buf, *copy;
	size_t len, bit;
	enum token_status st;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	len = sign_list(&ak, 99, serials, 3, &buf);
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(&out, 0, sizeof(out));
		st = revocation_verify(copy, len, ak.pk, &out);
		if (st == TOKEN_OK)
			revocation_free(&out);
		ck_assert_msg(st != TOKEN_OK, "flip of bit %zu (byte %zu) verified", bit,
			      bit / 8);
	}
	free(copy);
	free(buf);
}
END_TEST

START_TEST(test_token_is_not_a_list)
{
	/* A token handed to revocation_verify, and a list to token_verify. */
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	struct revocation out;
	uint8_t tok[WIRE_TOKEN_MAX], *list;
	size_t tlen, llen;
	static const uint64_t serials[] = { 1 };

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	memset(&t, 0, sizeof(t));
	t.type = WIRE_TYPE_USER_TOKEN;
	strcpy(t.name, "alice");
	t.serial = 1;
	t.not_before = 1;
	t.not_after = 2;
	ck_assert_int_eq(token_sign(&t, &ak, tok, sizeof(tok), &tlen), 0);
	memset(&out, 0, sizeof(out));
	ck_assert_int_ne(revocation_verify(tok, tlen, ak.pk, &out), TOKEN_OK);

	llen = sign_list(&ak, 1, serials, 1, &list);
	memset(&tr, 0, sizeof(tr));
	memcpy(tr.authority_pk, ak.pk, sizeof(tr.authority_pk));
	tr.now = 1;
	ck_assert_int_ne(token_verify(list, llen, 0, &tr, &got), TOKEN_OK);
	free(list);
}
END_TEST

Suite *suite_revocation(void)
{
	Suite *s = suite_create("revocation");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_roundtrip, 0, sizeof(rl_cases) / sizeof(rl_cases[0]));
	tcase_add_test(tc, test_contains_large);
	tcase_add_test(tc, test_empty_list);
	tcase_add_test(tc, test_sign_too_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_verify_case, 0,
			    sizeof(rfail_cases) / sizeof(rfail_cases[0]));
	tcase_add_test(tc, test_truncated_every_length);
	tcase_add_test(tc, test_every_bit_flip_fails);
	tcase_add_test(tc, test_token_is_not_a_list);
	suite_add_tcase(s, tc);
	return s;
}
