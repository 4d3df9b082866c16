/*
 * tests/unit/check_aead.c - shim/aead.h against libsodium: the wire format
 * did not change when the data path moved to libcrypto. Over random keys,
 * nonces, associated data and lengths 0..65535, both of aead.c's paths
 * (libcrypto's EVP, and libsodium below AEAD_SMALL) seal byte for byte
 * what crypto_aead_chacha20poly1305_ietf_encrypt seals, open what it
 * sealed, refuse any flipped bit, and work in place as the data path
 * calls them.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "suites.h"

enum { MAX_LEN = 65535, AD_MAX = 64 };

struct fixture {
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[AD_MAX];
	uint8_t *pt, *ref, *out;
	struct aead enc, dec;
};

static void setup(struct fixture *f, size_t small)
{
	memset(f, 0, sizeof(*f));
	randombytes_buf(f->key, sizeof(f->key));
	f->pt = malloc(MAX_LEN + AEAD_TAG_LEN);
	f->ref = malloc(MAX_LEN + AEAD_TAG_LEN);
	f->out = malloc(MAX_LEN + AEAD_TAG_LEN);
	ck_assert(f->pt && f->ref && f->out);
	ck_assert_int_eq(aead_init(&f->enc, f->key, true), 0);
	ck_assert_int_eq(aead_init(&f->dec, f->key, false), 0);
	f->enc.small = f->dec.small = small;
}

static void teardown(struct fixture *f)
{
	aead_free(&f->enc);
	aead_free(&f->dec);
	ck_assert_ptr_null(f->enc.ctx);
	free(f->pt);
	free(f->ref);
	free(f->out);
}

/* New key for both contexts (a rekey reuses them). */
static void rekey(struct fixture *f)
{
	size_t small = f->enc.small;

	randombytes_buf(f->key, sizeof(f->key));
	ck_assert_int_eq(aead_init(&f->enc, f->key, true), 0);
	ck_assert_int_eq(aead_init(&f->dec, f->key, false), 0);
	f->enc.small = f->dec.small = small;
}

/* One message: seal equal to libsodium's, open, in place, tamper. */
static void one(struct fixture *f, size_t len, size_t adlen)
{
	unsigned long long rlen = 0;
	size_t flip;

	randombytes_buf(f->nonce, sizeof(f->nonce));
	randombytes_buf(f->ad, adlen);
	randombytes_buf(f->pt, len);
	ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_encrypt(
		f->ref, &rlen, f->pt, len, adlen ? f->ad : NULL, adlen, NULL,
		f->nonce, f->key), 0);
	ck_assert_uint_eq(rlen, len + AEAD_TAG_LEN);

	ck_assert_int_eq(aead_seal(&f->enc, f->nonce, f->ad, adlen, f->pt, len, f->out), 0);
	ck_assert_msg(memcmp(f->out, f->ref, len + AEAD_TAG_LEN) == 0,
		      "sealed bytes differ at len %zu ad %zu (small %zu)", len, adlen,
		      f->enc.small);
	/* in place, as send.c seals */
	memcpy(f->out, f->pt, len);
	ck_assert_int_eq(aead_seal(&f->enc, f->nonce, f->ad, adlen, f->out, len, f->out), 0);
	ck_assert(memcmp(f->out, f->ref, len + AEAD_TAG_LEN) == 0);

	/* open libsodium's, in place, as receive.c opens */
	ck_assert(aead_open(&f->dec, f->nonce, f->ad, adlen, f->out,
			    len + AEAD_TAG_LEN, f->out));
	ck_assert(len == 0 || memcmp(f->out, f->pt, len) == 0);

	/* any one flipped bit of text, tag or AD is refused */
	memcpy(f->out, f->ref, len + AEAD_TAG_LEN);
	flip = randombytes_uniform((uint32_t)(len + AEAD_TAG_LEN));
	f->out[flip] ^= (uint8_t)(1u << randombytes_uniform(8));
	ck_assert(!aead_open(&f->dec, f->nonce, f->ad, adlen, f->out,
			     len + AEAD_TAG_LEN, f->out));
	if (adlen) {
		memcpy(f->out, f->ref, len + AEAD_TAG_LEN);
		f->ad[randombytes_uniform((uint32_t)adlen)] ^= 0x80;
		ck_assert(!aead_open(&f->dec, f->nonce, f->ad, adlen, f->out,
				     len + AEAD_TAG_LEN, f->out));
	}
}

/* Both paths: 0 forces libcrypto at every size, AEAD_SMALL is capshim's. */
static const size_t smalls[] = { 0, AEAD_SMALL };

START_TEST(test_every_short_length)
{
	struct fixture f;

	setup(&f, smalls[_i]);
	for (size_t len = 0; len <= 1600; len++) {
		if (len % 97 == 0)
			rekey(&f);
		one(&f, len, len % (AD_MAX + 1));
	}
	teardown(&f);
}
END_TEST

START_TEST(test_random_lengths_to_max)
{
	static const size_t edges[] = { 0, 1, 15, 16, 17, 63, 64, 65, AEAD_SMALL - 1,
					AEAD_SMALL, AEAD_SMALL + 1, 8191, 8192, 65519,
					65534, MAX_LEN };
	struct fixture f;

	setup(&f, smalls[_i]);
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		one(&f, edges[i], i % 3 == 0 ? 0 : 20);
	for (int i = 0; i < 120; i++) {
		if (i % 10 == 0)
			rekey(&f);
		one(&f, randombytes_uniform(MAX_LEN + 1), randombytes_uniform(AD_MAX + 1));
	}
	teardown(&f);
}
END_TEST

/* The data path's shape: 20-byte header as AD, Noise's nonce. */
START_TEST(test_data_header_shape)
{
	struct fixture f;

	setup(&f, smalls[_i]);
	for (uint64_t n = 0; n < 64; n++) {
		memset(f.nonce, 0, 4);
		for (int b = 0; b < 8; b++)
			f.nonce[4 + b] = (uint8_t)((n * 0x9e3779b97f4a7c15ull) >> (8 * b));
		one(&f, 1392 + (size_t)n, 20);
	}
	teardown(&f);
}
END_TEST

START_TEST(test_bad_input)
{
	struct aead a;
	uint8_t key[AEAD_KEY_LEN] = { 1 }, nonce[AEAD_NONCE_LEN] = { 0 };
	uint8_t buf[64] = { 0 };

	memset(&a, 0, sizeof(a));
	/* no key yet: nothing seals or opens */
	ck_assert_int_lt(aead_seal(&a, nonce, NULL, 0, buf, 8, buf), 0);
	ck_assert(!aead_open(&a, nonce, NULL, 0, buf, sizeof(buf), buf));
	ck_assert_int_eq(aead_init(&a, key, false), 0);
	/* shorter than a tag */
	ck_assert(!aead_open(&a, nonce, NULL, 0, buf, AEAD_TAG_LEN - 1, buf));
	/* all-zero "ciphertext" does not verify */
	ck_assert(!aead_open(&a, nonce, NULL, 0, buf, sizeof(buf), buf));
	aead_free(&a);
	aead_free(&a);		/* twice is harmless */
	ck_assert_ptr_null(a.ctx);
}
END_TEST

Suite *suite_aead(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("libsodium equivalence");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_short_length, 0, 2);
	tcase_add_loop_test(tc, test_random_lengths_to_max, 0, 2);
	tcase_add_loop_test(tc, test_data_header_shape, 0, 2);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}
