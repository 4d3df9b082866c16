/*
 * tests/unit/check_token.c - policy/token.h host and user tokens: canonical
 * encoding (wire.h), signing, and every verification failure with its own
 * status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "mask.h"
#include "suites.h"
#include "token.h"
#include "wire.h"

enum {
	T_NB = 1700000000,
	T_NA = 1800000000,
	T_NOW = 1750000000,
	BUF_MAX = 2048,
};

#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"
#define NAME33 "abcdefghijklmnopqrstuvwxyz0123456"

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}



static void gen_authority(struct authority_key *ak)
{
	ck_assert_int_eq(keys_authority_generate(ak), 0);
}

static void trust_init(struct token_trust *tr, const struct authority_key *ak,
		       uint64_t now)
{
	memset(tr, 0, sizeof(*tr));
	memcpy(tr->authority_pk, ak->pk, WIRE_PUBKEY_LEN);
	tr->revoked = NULL;
	tr->now = now;
}

enum mask_kind {
	MK_EMPTY,
	MK_LOW,		/* bit 2 */
	MK_HIGH,	/* bit 1023 */
	MK_SOME,	/* 0, 5, 64, 1000 */
	MK_FULL,
};

static size_t mask_kind_len(enum mask_kind mk)
{
	switch (mk) {
	case MK_EMPTY: return 0;
	case MK_LOW: return 1;
	case MK_HIGH: return 128;
	case MK_SOME: return 126;
	case MK_FULL: return 128;
	}
	return 0;
}

static void mask_of_kind(struct mask *m, enum mask_kind mk)
{
	mask_clear(m);
	switch (mk) {
	case MK_EMPTY:
		break;
	case MK_LOW:
		mask_bit_set(m, 2);
		break;
	case MK_HIGH:
		mask_bit_set(m, 1023);
		break;
	case MK_SOME:
		mask_bit_set(m, 0);
		mask_bit_set(m, 5);
		mask_bit_set(m, 64);
		mask_bit_set(m, 1000);
		break;
	case MK_FULL:
		mask_fill(m);
		break;
	}
}

/* Host tokens get the overlay addresses flags asks for. */
static void make_token_flags(struct token *t, enum wire_type type, const char *name,
			     enum mask_kind mk, uint16_t bit, uint64_t serial,
			     uint16_t flags)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->type = type;
	ck_assert_uint_le(strlen(name), WIRE_NAME_MAX);
	strcpy(t->name, name);
	if (type == WIRE_TYPE_HOST_TOKEN) {
		t->bit = bit;
		t->flags = flags;
		if (flags & WIRE_HOST_OVERLAY4) {
			static const uint8_t v4[4] = { 10, 77, 0, 9 };

			memcpy(t->overlay4, v4, 4);
		}
		if (flags & WIRE_HOST_OVERLAY6)
			for (i = 0; i < 16; i++)
				t->overlay6[i] = (uint8_t)(i == 0 ? 0xfd : 0x70 + i);
		for (i = 0; i < WIRE_PUBKEY_LEN; i++) {
			t->tunnel_pk[i] = (uint8_t)(0x10 + i);
			t->sign_pk[i] = (uint8_t)(0xa0 + i);
		}
	}
	mask_of_kind(&t->grant, mk);
	t->serial = serial;
	t->not_before = T_NB;
	t->not_after = T_NA;
}

static void make_token(struct token *t, enum wire_type type, const char *name,
		       enum mask_kind mk, uint16_t bit, uint64_t serial)
{
	make_token_flags(t, type, name, mk, bit, serial,
			 type == WIRE_TYPE_HOST_TOKEN ? WIRE_HOST_FLAGS_ALL : 0);
}

static size_t sign_token(const struct token *t, const struct authority_key *ak,
			 uint8_t *buf)
{
	size_t len = 0;

	ck_assert_int_eq(token_sign(t, ak, buf, BUF_MAX, &len), 0);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, WIRE_TOKEN_MAX);
	return len;
}

/* Signs buf[0 .. len-64) into its last 64 bytes, as the authority would. */

static void assert_same_token(const struct token *got, const struct token *want,
			      const struct authority_key *ak)
{
	uint8_t id[WIRE_KEY_ID_LEN];

	ck_assert_int_eq(got->type, want->type);
	ck_assert_str_eq(got->name, want->name);
	ck_assert(mask_equal(&got->grant, &want->grant));
	ck_assert_uint_eq(got->serial, want->serial);
	ck_assert_uint_eq(got->not_before, want->not_before);
	ck_assert_uint_eq(got->not_after, want->not_after);
	keys_key_id(ak->pk, id);
	ck_assert_mem_eq(got->key_id, id, WIRE_KEY_ID_LEN);
	if (want->type == WIRE_TYPE_HOST_TOKEN) {
		ck_assert_uint_eq(got->bit, want->bit);
		ck_assert_uint_eq(got->flags, want->flags);
		ck_assert_mem_eq(got->overlay4, want->overlay4, 4);
		ck_assert_mem_eq(got->overlay6, want->overlay6, 16);
		ck_assert_mem_eq(got->tunnel_pk, want->tunnel_pk, WIRE_PUBKEY_LEN);
		ck_assert_mem_eq(got->sign_pk, want->sign_pk, WIRE_PUBKEY_LEN);
	}
}

/* ---- round trips and the wire layout ---------------------------------- */

struct rt_case {
	enum wire_type type;
	const char *name;
	enum mask_kind mask;
	uint16_t bit;
	uint16_t flags;
};

#define OV4 WIRE_HOST_OVERLAY4
#define OV6 WIRE_HOST_OVERLAY6
#define OVALL WIRE_HOST_FLAGS_ALL

static const struct rt_case rt_cases[] = {
	{ WIRE_TYPE_HOST_TOKEN, "host1", MK_EMPTY, 0, 0 },
	{ WIRE_TYPE_HOST_TOKEN, "host1", MK_LOW, 1, OV4 },
	{ WIRE_TYPE_HOST_TOKEN, "h", MK_HIGH, 1023, OV6 },
	{ WIRE_TYPE_HOST_TOKEN, "web-01.example", MK_SOME, 300, OVALL },
	{ WIRE_TYPE_HOST_TOKEN, NAME32, MK_FULL, 512, OVALL },
	{ WIRE_TYPE_USER_TOKEN, "alice", MK_EMPTY, 0, 0 },
	{ WIRE_TYPE_USER_TOKEN, "alice", MK_LOW, 0, 0 },
	{ WIRE_TYPE_USER_TOKEN, "B", MK_HIGH, 0, 0 },
	{ WIRE_TYPE_USER_TOKEN, "a.b-c_D9", MK_SOME, 0, 0 },
	{ WIRE_TYPE_USER_TOKEN, "bob", MK_FULL, 0, 0 },
	{ WIRE_TYPE_USER_TOKEN, NAME32, MK_FULL, 0, 0 },
};

START_TEST(test_roundtrip)
{
	const struct rt_case *c = &rt_cases[_i];
	const bool host = c->type == WIRE_TYPE_HOST_TOKEN;
	const size_t name_len = strlen(c->name), mask_len = mask_kind_len(c->mask);
	const size_t want_len = WIRE_TOKEN_HDR_LEN + (host ? WIRE_HOST_FIXED_LEN : 0) +
				name_len + mask_len + WIRE_SIG_LEN;
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX], again[BUF_MAX], id[WIRE_KEY_ID_LEN];
	uint8_t mask_bytes[WIRE_MASK_BYTES];
	enum token_status why = TOKEN_OK;
	size_t len, off, len2;

	gen_authority(&ak);
	make_token_flags(&t, c->type, c->name, c->mask, c->bit, 1000 + (uint64_t)_i,
			 c->flags);
	ck_assert_uint_eq(token_encoded_len(&t), want_len);
	len = sign_token(&t, &ak, buf);
	ck_assert_uint_eq(len, want_len);

	/* Signing is deterministic: one token, one encoding. */
	len2 = sign_token(&t, &ak, again);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(again, buf, len);

	/* The layout of wire.h, field by field. */
	keys_key_id(ak.pk, id);
	ck_assert_uint_eq(buf[0], WIRE_VERSION);
	ck_assert_uint_eq(buf[1], c->type);
	ck_assert_uint_eq(buf[2], name_len);
	ck_assert_uint_eq(buf[3], mask_len);
	ck_assert_mem_eq(buf + 4, id, WIRE_KEY_ID_LEN);
	ck_assert_uint_eq(test_get_be64(buf + 8), t.serial);
	ck_assert_uint_eq(test_get_be64(buf + 16), T_NB);
	ck_assert_uint_eq(test_get_be64(buf + 24), T_NA);
	off = WIRE_TOKEN_HDR_LEN;
	if (host) {
		static const uint8_t zero[16];

		ck_assert_uint_eq((unsigned)buf[32] << 8 | buf[33], c->bit);
		ck_assert_uint_eq((unsigned)buf[34] << 8 | buf[35], c->flags);
		ck_assert_mem_eq(buf + 36, c->flags & OV4 ? t.overlay4 : zero, 4);
		ck_assert_mem_eq(buf + 40, c->flags & OV6 ? t.overlay6 : zero, 16);
		ck_assert_mem_eq(buf + 56, t.tunnel_pk, WIRE_PUBKEY_LEN);
		ck_assert_mem_eq(buf + 88, t.sign_pk, WIRE_PUBKEY_LEN);
		off += WIRE_HOST_FIXED_LEN;
	}
	ck_assert_mem_eq(buf + off, c->name, name_len);
	off += name_len;
	ck_assert_uint_eq(mask_encode(&t.grant, mask_bytes), mask_len);
	if (mask_len)
		ck_assert_mem_eq(buf + off, mask_bytes, mask_len);
	off += mask_len;
	ck_assert_uint_eq(off + WIRE_SIG_LEN, len);
	ck_assert_int_eq(crypto_sign_verify_detached(buf + off, buf, off, ak.pk), 0);

	/* Verify and decode give back every field. */
	trust_init(&tr, &ak, T_NOW);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_int_eq(token_verify(buf, len, c->type, &tr, &got), TOKEN_OK);
	assert_same_token(&got, &t, &ak);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_int_eq(token_verify(buf, len, 0, &tr, &got), TOKEN_OK);
	assert_same_token(&got, &t, &ak);
	memset(&got, 0xa5, sizeof(got));
	ck_assert(token_decode(buf, len, c->type, &got, &why));
	assert_same_token(&got, &t, &ak);
	ck_assert(token_decode(buf, len, 0, &got, &why));
	assert_same_token(&got, &t, &ak);
}
END_TEST

START_TEST(test_user_token_256_bytes)
{
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX];
	size_t len;

	gen_authority(&ak);
	make_token(&t, WIRE_TYPE_USER_TOKEN, NAME32, MK_FULL, 0, 42);
	ck_assert_uint_eq(strlen(t.name), 32);
	ck_assert_uint_eq(token_encoded_len(&t), 256);
	len = sign_token(&t, &ak, buf);
	ck_assert_uint_eq(len, 256);
	trust_init(&tr, &ak, T_NOW);
	ck_assert_int_eq(token_verify(buf, len, WIRE_TYPE_USER_TOKEN, &tr, &got), TOKEN_OK);
	ck_assert_uint_eq(mask_count(&got.grant), MASK_BITS);
	/* The largest token fits WIRE_TOKEN_MAX exactly. */
	make_token(&t, WIRE_TYPE_HOST_TOKEN, NAME32, MK_FULL, 1023, 43);
	ck_assert_uint_eq(token_encoded_len(&t), WIRE_TOKEN_MAX);
	ck_assert_uint_eq(sign_token(&t, &ak, buf), WIRE_TOKEN_MAX);
}
END_TEST

/* ---- verification failures of a signed token --------------------------- */

enum tmut {
	TM_NONE,
	TM_SIG_LAST,		/* last signature byte */
	TM_SIG_FIRST,		/* first signature byte */
	TM_SERIAL,		/* a signed header field */
	TM_NOT_AFTER,		/* extend validity without re-signing */
	TM_NAME_CHAR,		/* another valid name character */
	TM_MASK,		/* grant widened without re-signing */
	TM_HOST_PK,		/* host tunnel key swapped */
	TM_HOST_SIGN_PK,	/* host signing key swapped */
	TM_OVERLAY4,		/* host overlay address changed */
	TM_OVERLAY6,
	TM_BIT,			/* host bit changed */
	TM_OTHER_AUTHORITY,	/* signed by another authority key */
	TM_KEY_ID,		/* key id byte changed */
	TM_TRAIL_1,
	TM_TRAIL_64,
	TM_VERSION_0,
	TM_VERSION_2,
	TM_VERSION_255,
	TM_TYPE_0,
	TM_TYPE_REVOCATION,
	TM_TYPE_99,
	TM_REVOKED,		/* serial in a verified revocation list */
	TM_NOT_REVOKED,		/* a list without the serial */
	TM_SIG_AND_EXPIRED,
	TM_AUTHORITY_AND_EXPIRED,
};

struct fail_case {
	const char *what;
	enum wire_type type;	/* of the token signed */
	enum tmut mut;
	enum wire_type expect;
	uint64_t now;
	enum token_status want;
};

#define H WIRE_TYPE_HOST_TOKEN
#define U WIRE_TYPE_USER_TOKEN

static const struct fail_case fail_cases[] = {
	{ "host ok", H, TM_NONE, H, T_NOW, TOKEN_OK },
	{ "user ok", U, TM_NONE, U, T_NOW, TOKEN_OK },
	{ "host sig last byte", H, TM_SIG_LAST, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "user sig last byte", U, TM_SIG_LAST, U, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "user sig first byte", U, TM_SIG_FIRST, U, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "user serial", U, TM_SERIAL, U, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "user not_after", U, TM_NOT_AFTER, U, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host name char", H, TM_NAME_CHAR, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "user mask", U, TM_MASK, U, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host tunnel key", H, TM_HOST_PK, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host signing key", H, TM_HOST_SIGN_PK, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host overlay4", H, TM_OVERLAY4, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host overlay6", H, TM_OVERLAY6, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host bit", H, TM_BIT, H, T_NOW, TOKEN_ERR_SIGNATURE },
	{ "host other authority", H, TM_OTHER_AUTHORITY, H, T_NOW, TOKEN_ERR_AUTHORITY },
	{ "user other authority", U, TM_OTHER_AUTHORITY, U, T_NOW, TOKEN_ERR_AUTHORITY },
	{ "user key id", U, TM_KEY_ID, U, T_NOW, TOKEN_ERR_AUTHORITY },
	{ "host trailing byte", H, TM_TRAIL_1, H, T_NOW, TOKEN_ERR_TRAILING },
	{ "user trailing byte", U, TM_TRAIL_1, U, T_NOW, TOKEN_ERR_TRAILING },
	{ "user 64 trailing", U, TM_TRAIL_64, U, T_NOW, TOKEN_ERR_TRAILING },
	{ "host version 0", H, TM_VERSION_0, H, T_NOW, TOKEN_ERR_VERSION },
	{ "user version 2", U, TM_VERSION_2, U, T_NOW, TOKEN_ERR_VERSION },
	{ "user version 255", U, TM_VERSION_255, 0, T_NOW, TOKEN_ERR_VERSION },
	{ "user as host", U, TM_NONE, H, T_NOW, TOKEN_ERR_TYPE },
	{ "host as user", H, TM_NONE, U, T_NOW, TOKEN_ERR_TYPE },
	{ "type 0", U, TM_TYPE_0, 0, T_NOW, TOKEN_ERR_TYPE },
	{ "type revocation", U, TM_TYPE_REVOCATION, 0, T_NOW, TOKEN_ERR_TYPE },
	{ "type 99", U, TM_TYPE_99, 0, T_NOW, TOKEN_ERR_TYPE },
	{ "host either type", H, TM_NONE, 0, T_NOW, TOKEN_OK },
	{ "user either type", U, TM_NONE, 0, T_NOW, TOKEN_OK },
	{ "now = 0", U, TM_NONE, U, 0, TOKEN_ERR_NOT_YET_VALID },
	{ "now = not_before - 1", U, TM_NONE, U, T_NB - 1, TOKEN_ERR_NOT_YET_VALID },
	{ "host now = not_before - 1", H, TM_NONE, H, T_NB - 1, TOKEN_ERR_NOT_YET_VALID },
	{ "now = not_before", U, TM_NONE, U, T_NB, TOKEN_OK },
	{ "now = not_after", U, TM_NONE, U, T_NA, TOKEN_OK },
	{ "now = not_after + 1", U, TM_NONE, U, (uint64_t)T_NA + 1, TOKEN_ERR_EXPIRED },
	{ "host now = not_after + 1", H, TM_NONE, H, (uint64_t)T_NA + 1, TOKEN_ERR_EXPIRED },
	{ "now = max", U, TM_NONE, U, UINT64_MAX, TOKEN_ERR_EXPIRED },
	{ "user revoked", U, TM_REVOKED, U, T_NOW, TOKEN_ERR_REVOKED },
	{ "host revoked", H, TM_REVOKED, H, T_NOW, TOKEN_ERR_REVOKED },
	{ "user not revoked", U, TM_NOT_REVOKED, U, T_NOW, TOKEN_OK },
	{ "bad sig beats expiry", U, TM_SIG_AND_EXPIRED, U, (uint64_t)T_NA + 1,
	  TOKEN_ERR_SIGNATURE },
	{ "authority beats expiry", U, TM_AUTHORITY_AND_EXPIRED, U, (uint64_t)T_NA + 1,
	  TOKEN_ERR_AUTHORITY },
};

enum { FAIL_SERIAL = 777 };

START_TEST(test_verify_case)
{
	const struct fail_case *c = &fail_cases[_i];
	struct authority_key ak, other;
	struct token t, got, sentinel;
	struct token_trust tr;
	struct revocation rl, verified;
	uint64_t serials[4] = { 5, FAIL_SERIAL, 900, 1 };
	uint8_t buf[BUF_MAX], *rbuf = NULL;
	size_t len, rlen, name_off;
	enum token_status st;

	gen_authority(&ak);
	gen_authority(&other);
	make_token(&t, c->type, "host1", MK_LOW, 7, FAIL_SERIAL);
	len = sign_token(&t, (c->mut == TM_OTHER_AUTHORITY ||
			      c->mut == TM_AUTHORITY_AND_EXPIRED) ? &other : &ak, buf);
	name_off = WIRE_TOKEN_HDR_LEN + (c->type == H ? WIRE_HOST_FIXED_LEN : 0);
	trust_init(&tr, &ak, c->now);
	memset(&verified, 0, sizeof(verified));

	switch (c->mut) {
	case TM_NONE:
	case TM_OTHER_AUTHORITY:
	case TM_AUTHORITY_AND_EXPIRED:
		break;
	case TM_SIG_LAST:
	case TM_SIG_AND_EXPIRED:
		buf[len - 1] ^= 0x01;
		break;
	case TM_SIG_FIRST:
		buf[len - WIRE_SIG_LEN] ^= 0x80;
		break;
	case TM_SERIAL:
		buf[15] ^= 0x01;
		break;
	case TM_NOT_AFTER:
		buf[24] ^= 0x01;	/* top byte: far in the future */
		break;
	case TM_NAME_CHAR:
		ck_assert_int_eq(buf[name_off + 4], '1');
		buf[name_off + 4] = '2';
		break;
	case TM_MASK:
		ck_assert_uint_eq(buf[name_off + 5], 0x04);
		buf[name_off + 5] = 0x07;
		break;
	case TM_HOST_PK:
		buf[60] ^= 0x01;
		break;
	case TM_HOST_SIGN_PK:
		buf[100] ^= 0x01;
		break;
	case TM_OVERLAY4:
		ck_assert_uint_eq(buf[39], 9);
		buf[39] = 10;
		break;
	case TM_OVERLAY6:
		buf[55] ^= 0x01;
		break;
	case TM_BIT:
		ck_assert_uint_eq(buf[33], 7);
		buf[33] = 8;
		break;
	case TM_KEY_ID:
		buf[5] ^= 0x01;
		break;
	case TM_TRAIL_1:
		buf[len++] = 0;
		break;
	case TM_TRAIL_64:
		memset(buf + len, 0, 64);
		len += 64;
		break;
	case TM_VERSION_0:
		buf[0] = 0;
		break;
	case TM_VERSION_2:
		buf[0] = 2;
		break;
	case TM_VERSION_255:
		buf[0] = 255;
		break;
	case TM_TYPE_0:
		buf[1] = 0;
		break;
	case TM_TYPE_REVOCATION:
		buf[1] = WIRE_TYPE_REVOCATION;
		break;
	case TM_TYPE_99:
		buf[1] = 99;
		break;
	case TM_REVOKED:
	case TM_NOT_REVOKED:
		memset(&rl, 0, sizeof(rl));
		rl.serial = 3;
		rl.issued_at = T_NOW;
		rl.count = 4;
		rl.serials = serials;
		if (c->mut == TM_NOT_REVOKED)
			serials[1] = FAIL_SERIAL + 1;
		ck_assert_int_eq(revocation_sign(&rl, &ak, &rbuf, &rlen), 0);
		ck_assert_int_eq(revocation_verify(rbuf, rlen, ak.pk, &verified), TOKEN_OK);
		ck_assert_int_eq(revocation_contains(&verified, FAIL_SERIAL),
				 c->mut == TM_REVOKED);
		tr.revoked = &verified;
		break;
	}

	memset(&got, 0xa5, sizeof(got));
	memset(&sentinel, 0xa5, sizeof(sentinel));
	st = token_verify(buf, len, c->expect, &tr, &got);
	ck_assert_msg(st == c->want, "%s: got %d (%s), want %d (%s)", c->what, st,
		      token_status_name(st), c->want, token_status_name(c->want));
	if (st == TOKEN_OK)
		assert_same_token(&got, &t, &ak);
	else
		ck_assert_msg(!memcmp(&got, &sentinel, sizeof(got)),
			      "%s: out written on failure", c->what);
	if (rbuf) {
		revocation_free(&verified);
		free(rbuf);
	}
}
END_TEST

START_TEST(test_truncated_every_length)
{
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX], *copy;
	size_t len, n;
	enum token_status st, why;
	const enum wire_type type = _i == 0 ? H : U;

	gen_authority(&ak);
	make_token(&t, type, _i == 2 ? NAME32 : "host1", _i == 2 ? MK_FULL : MK_SOME, 9, 5);
	len = sign_token(&t, &ak, buf);
	trust_init(&tr, &ak, T_NOW);
	for (n = 0; n < len; n++) {
		/* An exact-size heap copy, so ASan sees any read past n. */
		copy = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, buf, n);
		st = token_verify(copy, n, type, &tr, &got);
		ck_assert_msg(st == TOKEN_ERR_TRUNCATED, "length %zu of %zu: got %s", n,
			      len, token_status_name(st));
		st = token_verify(copy, n, 0, &tr, &got);
		ck_assert_msg(st == TOKEN_ERR_TRUNCATED, "length %zu of %zu (any type): got %s",
			      n, len, token_status_name(st));
		why = TOKEN_OK;
		ck_assert(!token_decode(copy, n, type, &got, &why));
		ck_assert_msg(why == TOKEN_ERR_TRUNCATED, "decode length %zu: why %s", n,
			      token_status_name(why));
		free(copy);
	}
	ck_assert_int_eq(token_verify(buf, len, type, &tr, &got), TOKEN_OK);
}
END_TEST

START_TEST(test_every_bit_flip_fails)
{
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX], copy[BUF_MAX];
	size_t len, bit;
	const enum wire_type type = _i == 0 ? H : U;
	enum token_status st;

	gen_authority(&ak);
	make_token(&t, type, "node-7", MK_SOME, 77, 123456789);
	len = sign_token(&t, &ak, buf);
	trust_init(&tr, &ak, T_NOW);
	ck_assert_int_eq(token_verify(buf, len, type, &tr, &got), TOKEN_OK);
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		st = token_verify(copy, len, type, &tr, &got);
		ck_assert_msg(st != TOKEN_OK, "flip of bit %zu (byte %zu) verified", bit,
			      bit / 8);
		st = token_verify(copy, len, 0, &tr, &got);
		ck_assert_msg(st != TOKEN_OK, "flip of bit %zu (byte %zu) verified (any type)",
			      bit, bit / 8);
	}
}
END_TEST

/* ---- structurally bad tokens, correctly signed -------------------------- */

struct raw_case {
	const char *what;
	bool host;
	const char *name;
	size_t name_len;	/* bytes of name (may hold NUL) */
	size_t mask_len;
	uint8_t mask_fill;	/* every mask byte */
	uint8_t mask_last;	/* last mask byte */
	uint16_t bit;
	uint16_t flags;
	uint64_t nb, na;
	enum token_status want;
	uint8_t ov4, ov6;	/* every byte of overlay4 / overlay6 */
};

static const struct raw_case raw_cases[] = {
	{ "valid user", false, "alice", 5, 2, 0x01, 0x80, 0, 0, T_NB, T_NA, TOKEN_OK, 0, 0 },
	{ "valid host", true, "host1", 5, 128, 0xff, 0xff, 1023, 0, T_NB, T_NA, TOKEN_OK, 0, 0 },
	{ "valid user, empty mask", false, NAME32, 32, 0, 0, 0, 0, 0, T_NB, T_NA, TOKEN_OK, 0, 0 },
	{ "valid, not_after = not_before", false, "u", 1, 1, 1, 1, 0, 0, T_NOW, T_NOW,
	  TOKEN_OK, 0, 0 },
	{ "user name_len 0", false, "", 0, 1, 0x01, 0x01, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "user name_len 33", false, NAME33, 33, 1, 0x01, 0x01, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "user mask_len 129", false, "alice", 5, 129, 0xff, 0xff, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "user mask_len 255", false, "alice", 5, 255, 0xff, 0xff, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "host name_len 0", true, "", 0, 1, 0x01, 0x01, 1, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "host name_len 33", true, NAME33, 33, 1, 0x01, 0x01, 1, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "host mask_len 129", true, "host1", 5, 129, 0xff, 0xff, 1, 0, T_NB, T_NA,
	  TOKEN_ERR_LENGTHS, 0, 0 },
	{ "mask trailing zero byte", false, "alice", 5, 2, 0x01, 0x00, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "mask single zero byte", false, "alice", 5, 1, 0x00, 0x00, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "host mask 128 bytes, last zero", true, "host1", 5, 128, 0xff, 0x00, 1, 0,
	  T_NB, T_NA, TOKEN_ERR_MALFORMED, 0, 0 },
	{ "valid host, both overlays", true, "host1", 5, 1, 1, 1, 1, OVALL, T_NB, T_NA,
	  TOKEN_OK, 10, 0xfd },
	{ "valid host, overlay4 only", true, "host1", 5, 1, 1, 1, 1, OV4, T_NB, T_NA,
	  TOKEN_OK, 10, 0 },
	{ "valid host, overlay6 only", true, "host1", 5, 1, 1, 1, 1, OV6, T_NB, T_NA,
	  TOKEN_OK, 0, 0xfd },
	{ "host unknown flag 4", true, "host1", 5, 1, 1, 1, 1, 4, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "host unknown flag 0x8000", true, "host1", 5, 1, 1, 1, 1, 0x8000 | OVALL, T_NB,
	  T_NA, TOKEN_ERR_MALFORMED, 10, 0xfd },
	{ "host absent overlay4 not zero", true, "host1", 5, 1, 1, 1, 1, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 10, 0 },
	{ "host absent overlay6 not zero", true, "host1", 5, 1, 1, 1, 1, OV4, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 10, 0xfd },
	{ "host bit 1024", true, "host1", 5, 1, 1, 1, 1024, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "host bit 65535", true, "host1", 5, 1, 1, 1, 65535, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name with /", false, "a/b", 3, 1, 1, 1, 0, 0, T_NB, T_NA, TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name with space", false, "a b", 3, 1, 1, 1, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name starting with -", false, "-ab", 3, 1, 1, 1, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name starting with .", false, ".ab", 3, 1, 1, 1, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name with NUL", false, "a\0b", 3, 1, 1, 1, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "name with 0xff", false, "a\xff", 2, 1, 1, 1, 0, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "host name with /", true, "h/1", 3, 1, 1, 1, 1, 0, T_NB, T_NA,
	  TOKEN_ERR_MALFORMED, 0, 0 },
	{ "not_after < not_before", false, "alice", 5, 1, 1, 1, 0, 0, T_NA, T_NB,
	  TOKEN_ERR_MALFORMED, 0, 0 },
};

static size_t build_raw(const struct raw_case *c, const struct authority_key *ak,
			uint8_t *buf)
{
	size_t off = 0;
	uint8_t id[WIRE_KEY_ID_LEN];
	unsigned i;

	memset(buf, 0, BUF_MAX);
	keys_key_id(ak->pk, id);
	buf[0] = WIRE_VERSION;
	buf[1] = c->host ? WIRE_TYPE_HOST_TOKEN : WIRE_TYPE_USER_TOKEN;
	buf[2] = (uint8_t)c->name_len;
	buf[3] = (uint8_t)c->mask_len;
	memcpy(buf + 4, id, WIRE_KEY_ID_LEN);
	test_put_be64(buf + 8, 4242);
	test_put_be64(buf + 16, c->nb);
	test_put_be64(buf + 24, c->na);
	off = WIRE_TOKEN_HDR_LEN;
	if (c->host) {
		put_be16(buf + off, c->bit);
		put_be16(buf + off + 2, c->flags);
		memset(buf + off + 4, c->ov4, 4);
		memset(buf + off + 8, c->ov6, 16);
		for (i = 0; i < 2 * WIRE_PUBKEY_LEN; i++)
			buf[off + 24 + i] = (uint8_t)(i + 1);
		off += WIRE_HOST_FIXED_LEN;
	}
	memcpy(buf + off, c->name, c->name_len);
	off += c->name_len;
	if (c->mask_len) {
		memset(buf + off, c->mask_fill, c->mask_len);
		buf[off + c->mask_len - 1] = c->mask_last;
		off += c->mask_len;
	}
	off += WIRE_SIG_LEN;
	test_resign(buf, off, ak);
	return off;
}

START_TEST(test_raw_case)
{
	const struct raw_case *c = &raw_cases[_i];
	struct authority_key ak;
	struct token got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX];
	size_t len;
	enum token_status st, why = TOKEN_OK;
	bool ok;

	gen_authority(&ak);
	len = build_raw(c, &ak, buf);
	trust_init(&tr, &ak, T_NOW);
	st = token_verify(buf, len, 0, &tr, &got);
	ck_assert_msg(st == c->want, "%s: verify got %s, want %s", c->what,
		      token_status_name(st), token_status_name(c->want));
	ok = token_decode(buf, len, 0, &got, &why);
	ck_assert_msg(ok == (c->want == TOKEN_OK), "%s: decode returned %d", c->what, ok);
	if (!ok)
		ck_assert_msg(why == c->want, "%s: decode why %s, want %s", c->what,
			      token_status_name(why), token_status_name(c->want));
	else
		ck_assert_uint_eq(strlen(got.name), c->name_len);
}
END_TEST

/* ---- token_sign input checks -------------------------------------------- */

struct sign_bad_case {
	const char *what;
	enum wire_type type;
	const char *name;
	unsigned bit;
	uint64_t nb, na;
	uint16_t flags;
	uint8_t ov4, ov6;	/* every byte of overlay4 / overlay6 */
};

static const struct sign_bad_case sign_bad_cases[] = {
	{ "empty name", U, "", 0, T_NB, T_NA, 0, 0, 0 },
	{ "empty host name", H, "", 1, T_NB, T_NA, 0, 0, 0 },
	{ "space in name", U, "bad name", 0, T_NB, T_NA, 0, 0, 0 },
	{ "slash in name", U, "a/b", 0, T_NB, T_NA, 0, 0, 0 },
	{ "leading -", U, "-x", 0, T_NB, T_NA, 0, 0, 0 },
	{ "leading .", H, ".x", 1, T_NB, T_NA, 0, 0, 0 },
	{ "non-ASCII", U, "caf\xc3\xa9", 0, T_NB, T_NA, 0, 0, 0 },
	{ "name 33 long", U, NAME33, 0, T_NB, T_NA, 0, 0, 0 },
	{ "host bit 1024", H, "host1", 1024, T_NB, T_NA, 0, 0, 0 },
	{ "host bit 65535", H, "host1", 65535, T_NB, T_NA, 0, 0, 0 },
	{ "not_after < not_before", U, "alice", 0, T_NA, T_NB, 0, 0, 0 },
	{ "host not_after < not_before", H, "host1", 1, T_NB + 1, T_NB, 0, 0, 0 },
	{ "type 0", 0, "alice", 0, T_NB, T_NA, 0, 0, 0 },
	{ "type revocation", WIRE_TYPE_REVOCATION, "alice", 0, T_NB, T_NA, 0, 0, 0 },
	{ "host unknown flag", H, "host1", 1, T_NB, T_NA, 4, 0, 0 },
	{ "host absent overlay4 set", H, "host1", 1, T_NB, T_NA, 0, 10, 0 },
	{ "host absent overlay6 set", H, "host1", 1, T_NB, T_NA, OV4, 10, 0xfd },
};

START_TEST(test_sign_rejects)
{
	const struct sign_bad_case *c = &sign_bad_cases[_i];
	struct authority_key ak;
	struct token t;
	uint8_t buf[BUF_MAX];
	size_t len = 0;

	gen_authority(&ak);
	make_token_flags(&t, c->type == 0 || c->type == WIRE_TYPE_REVOCATION ? U : c->type,
			 "x", MK_LOW, 0, 1, 0);
	t.type = c->type;
	t.flags = c->flags;
	memset(t.overlay4, c->ov4, sizeof(t.overlay4));
	memset(t.overlay6, c->ov6, sizeof(t.overlay6));
	if (strlen(c->name) > WIRE_NAME_MAX)
		memcpy(t.name, c->name, sizeof(t.name));	/* unterminated */
	else
		strcpy(t.name, c->name);
	t.bit = (uint16_t)c->bit;
	t.not_before = c->nb;
	t.not_after = c->na;
	ck_assert_msg(token_sign(&t, &ak, buf, sizeof(buf), &len) == -EINVAL,
		      "%s: token_sign gave %d", c->what, token_sign(&t, &ak, buf, sizeof(buf), &len));
	/* token.h: "Encoded length of t, or 0 if t cannot be encoded." */
	ck_assert_msg(token_encoded_len(&t) == 0, "%s: token_encoded_len gave %zu, want 0",
		      c->what, token_encoded_len(&t));
}
END_TEST

START_TEST(test_sign_boundaries)
{
	struct authority_key ak;
	struct token t, got;
	struct token_trust tr;
	uint8_t buf[BUF_MAX], *exact;
	size_t need, len = 0;

	gen_authority(&ak);
	trust_init(&tr, &ak, T_NB);

	/* not_after == not_before, bit 1023, 32-char name: all allowed. */
	make_token(&t, H, NAME32, MK_HIGH, 1023, 9);
	t.not_after = t.not_before;
	need = token_encoded_len(&t);
	ck_assert_uint_eq(need, 32 + 88 + 32 + 128 + 64);
	/* Too small: -ENOSPC, for every smaller capacity tried. */
	ck_assert_int_eq(token_sign(&t, &ak, buf, need - 1, &len), -ENOSPC);
	ck_assert_int_eq(token_sign(&t, &ak, buf, 0, &len), -ENOSPC);
	ck_assert_int_eq(token_sign(&t, &ak, buf, 100, &len), -ENOSPC);
	/* Exactly enough (heap, so ASan sees any write past it). */
	exact = malloc(need);
	ck_assert_ptr_nonnull(exact);
	ck_assert_int_eq(token_sign(&t, &ak, exact, need, &len), 0);
	ck_assert_uint_eq(len, need);
	ck_assert_int_eq(token_verify(exact, len, H, &tr, &got), TOKEN_OK);
	assert_same_token(&got, &t, &ak);
	free(exact);

	/* User token: the bit and host keys are not part of it. */
	make_token(&t, U, "a.b-c_D9", MK_EMPTY, 0, 10);
	ck_assert_int_eq(token_sign(&t, &ak, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 32 + 8 + 0 + 64);
}
END_TEST

/* ---- names and status strings ------------------------------------------- */

struct name_case {
	const char *name;
	bool valid;
};

static const struct name_case name_cases[] = {
	{ "a", true },
	{ "A", true },
	{ "0", true },
	{ "_x", true },
	{ "host1", true },
	{ "web-01.example.com", true },
	{ "a.b-c_D9", true },
	{ "x-", true },
	{ "x.", true },
	{ NAME32, true },
	{ "", false },
	{ NAME33, false },
	{ "-x", false },
	{ ".x", false },
	{ "..", false },
	{ "a b", false },
	{ "a/b", false },
	{ "a:b", false },
	{ "a@b", false },
	{ "a*", false },
	{ "*", false },
	{ "a\tb", false },
	{ "a\n", false },
	{ "caf\xc3\xa9", false },
	{ "a+b", false },
};

START_TEST(test_name_valid)
{
	const struct name_case *c = &name_cases[_i];

	ck_assert_msg(token_name_valid(c->name) == c->valid, "\"%s\": want %d", c->name,
		      c->valid);
}
END_TEST

START_TEST(test_status_strings)
{
	int i, j;

	for (i = 0; i < TOKEN_STATUS_COUNT; i++) {
		const char *s = token_status_str((enum token_status)i);
		const char *n = token_status_name((enum token_status)i);

		ck_assert_msg(s != NULL && *s, "status %d has no message", i);
		ck_assert_msg(n != NULL && *n, "status %d has no name", i);
		ck_assert_ptr_null(strchr(s, '\n'));
		for (j = 0; j < i; j++) {
			ck_assert_msg(strcmp(n, token_status_name((enum token_status)j)),
				      "statuses %d and %d share the name %s", i, j, n);
			ck_assert_msg(strcmp(s, token_status_str((enum token_status)j)),
				      "statuses %d and %d share the message %s", i, j, s);
		}
	}
	ck_assert_str_eq(token_status_name(TOKEN_ERR_EXPIRED), "expired");
}
END_TEST

Suite *suite_token(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_roundtrip, 0, sizeof(rt_cases) / sizeof(rt_cases[0]));
	tcase_add_test(tc, test_user_token_256_bytes);
	tcase_add_test(tc, test_sign_boundaries);
	tcase_add_loop_test(tc, test_sign_rejects, 0,
			    sizeof(sign_bad_cases) / sizeof(sign_bad_cases[0]));
	tcase_add_loop_test(tc, test_name_valid, 0,
			    sizeof(name_cases) / sizeof(name_cases[0]));
	tcase_add_test(tc, test_status_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_verify_case, 0,
			    sizeof(fail_cases) / sizeof(fail_cases[0]));
	tcase_add_loop_test(tc, test_truncated_every_length, 0, 3);
	tcase_add_loop_test(tc, test_every_bit_flip_fails, 0, 2);
	tcase_add_loop_test(tc, test_raw_case, 0, sizeof(raw_cases) / sizeof(raw_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
