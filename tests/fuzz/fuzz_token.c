/*
 * tests/fuzz/fuzz_token.c - libFuzzer harness for the signed objects:
 * token_decode / token_verify, revocation_decode / revocation_verify,
 * armor_decode (and, on the side, mask_decode / mask_parse).
 *
 * Every input goes through every decoder. The authority is fixed (derived
 * from a fixed seed, fuzz_common.h), so that the seed corpus written by
 * gen_seeds.c carries tokens that really verify and the fuzzer reaches the
 * validity and revocation checks. Whenever something decodes, the harness
 * re-encodes and re-signs it and checks invariants; a broken invariant
 * abort()s with a message on stderr.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "armor.h"
#include "keys.h"
#include "mask.h"
#include "token.h"
#include "wire.h"

#include "fuzz_common.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct authority_key fixed_ak, other_ak;
static uint8_t fixed_id[WIRE_KEY_ID_LEN];
static struct revocation fixed_rl;	/* the list the verifier trusts */

/* Offsets of the key id and the end of the header in both encodings. */
enum {
	KEY_ID_OFF = 4,
	KEY_ID_END = KEY_ID_OFF + WIRE_KEY_ID_LEN,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t other_id[WIRE_KEY_ID_LEN];

	if (sodium_init() < 0)
		abort();
	fuzz_authority(&fixed_ak);
	fuzz_other_authority(&other_ak);
	keys_key_id(fixed_ak.pk, fixed_id);
	keys_key_id(other_ak.pk, other_id);
	CHECK(memcmp(fixed_id, other_id, WIRE_KEY_ID_LEN) != 0);

	fixed_rl.serial = FUZZ_RL_SERIAL;
	fixed_rl.issued_at = FUZZ_RL_ISSUED_AT;
	fixed_rl.count = FUZZ_RL_COUNT;
	fixed_rl.serials = (uint64_t *)fuzz_revoked_serials;
	memcpy(fixed_rl.key_id, fixed_id, WIRE_KEY_ID_LEN);

	for (int st = 0; st < TOKEN_STATUS_COUNT; st++) {
		CHECK(token_status_str((enum token_status)st) != NULL);
		CHECK(token_status_name((enum token_status)st) != NULL);
	}
	return 0;
}

static bool tokens_equal(const struct token *a, const struct token *b,
			 bool same_key)
{
	if (a->type != b->type || strcmp(a->name, b->name) != 0 ||
	    !mask_equal(&a->grant, &b->grant) || a->serial != b->serial ||
	    a->not_before != b->not_before || a->not_after != b->not_after)
		return false;
	if (a->type == WIRE_TYPE_HOST_TOKEN &&
	    (a->bit != b->bit ||
	     memcmp(a->tunnel_pk, b->tunnel_pk, WIRE_PUBKEY_LEN) != 0 ||
	     memcmp(a->sign_pk, b->sign_pk, WIRE_PUBKEY_LEN) != 0))
		return false;
	if (same_key && memcmp(a->key_id, b->key_id, WIRE_KEY_ID_LEN) != 0)
		return false;
	return true;
}

/* The structural rules any decoded token must obey (wire.h, token.h). */
static void check_token_fields(const struct token *t)
{
	CHECK(t->type == WIRE_TYPE_HOST_TOKEN || t->type == WIRE_TYPE_USER_TOKEN);
	CHECK(memchr(t->name, '\0', sizeof(t->name)) != NULL);
	CHECK(token_name_valid(t->name));
	CHECK(t->not_before <= t->not_after);
	if (t->type == WIRE_TYPE_HOST_TOKEN)
		CHECK(t->bit < WIRE_MASK_BITS);
}

static enum token_status verify_at(const uint8_t *buf, size_t len,
				   enum wire_type expect, const uint8_t *pk,
				   const struct revocation *rl, uint64_t now,
				   struct token *out)
{
	struct token_trust trust;

	memset(&trust, 0, sizeof(trust));
	memcpy(trust.authority_pk, pk, WIRE_PUBKEY_LEN);
	trust.revoked = rl;
	trust.now = now;
	return token_verify(buf, len, expect, &trust, out);
}

/*
 * A token that decoded: re-sign it with the fixed key and check that the
 * encoding is canonical and that verification sees the same token and
 * reports each failure it should.
 */
static void check_decoded_token(const uint8_t *data, size_t size,
				const struct token *t)
{
	uint8_t out[WIRE_TOKEN_MAX + 1];
	size_t outlen = 0;
	struct token v, d2;
	enum token_status why;
	enum wire_type other;
	uint64_t mid;
	struct revocation one;
	uint64_t serial;

	check_token_fields(t);

	/* Decode only accepts what sign produces: one encoding per token. */
	CHECK(token_encoded_len(t) == size);
	CHECK(token_sign(t, &fixed_ak, out, sizeof(out), &outlen) == 0);
	CHECK(outlen == size);
	CHECK(size > WIRE_SIG_LEN + KEY_ID_END);
	CHECK(memcmp(out, data, KEY_ID_OFF) == 0);
	CHECK(memcmp(out + KEY_ID_OFF, fixed_id, WIRE_KEY_ID_LEN) == 0);
	CHECK(memcmp(out + KEY_ID_END, data + KEY_ID_END,
		     size - WIRE_SIG_LEN - KEY_ID_END) == 0);

	/* Too small a buffer is refused. */
	CHECK(token_sign(t, &fixed_ak, out, size - 1, &outlen) != 0);
	CHECK(token_sign(t, &fixed_ak, out, sizeof(out), &outlen) == 0);

	/* The re-signed token decodes to the same fields. */
	CHECK(token_decode(out, outlen, t->type, &d2, &why));
	CHECK(tokens_equal(t, &d2, false));
	CHECK(memcmp(d2.key_id, fixed_id, WIRE_KEY_ID_LEN) == 0);

	/* Expecting the other type fails, and so do a byte less and more. */
	other = t->type == WIRE_TYPE_HOST_TOKEN ? WIRE_TYPE_USER_TOKEN
						: WIRE_TYPE_HOST_TOKEN;
	CHECK(!token_decode(out, outlen, other, &d2, &why));
	CHECK(why == TOKEN_ERR_TYPE);
	CHECK(!token_decode(out, outlen - 1, 0, &d2, &why));
	CHECK(why != TOKEN_OK);
	out[outlen] = 0;
	CHECK(!token_decode(out, outlen + 1, 0, &d2, &why));
	CHECK(why == TOKEN_ERR_TRAILING);

	/* Verified within its validity: same fields, fixed key id. */
	mid = t->not_before + (t->not_after - t->not_before) / 2;
	memset(&v, 0, sizeof(v));
	CHECK(verify_at(out, outlen, 0, fixed_ak.pk, NULL, mid, &v) == TOKEN_OK);
	CHECK(tokens_equal(t, &v, false));
	CHECK(memcmp(v.key_id, fixed_id, WIRE_KEY_ID_LEN) == 0);
	CHECK(verify_at(out, outlen, t->type, fixed_ak.pk, NULL, mid, &v) ==
	      TOKEN_OK);
	CHECK(verify_at(out, outlen, other, fixed_ak.pk, NULL, mid, &v) ==
	      TOKEN_ERR_TYPE);

	/* Revoked, outside its validity, another authority, a bad signature. */
	serial = t->serial;
	memset(&one, 0, sizeof(one));
	one.count = 1;
	one.serials = &serial;
	memcpy(one.key_id, fixed_id, WIRE_KEY_ID_LEN);
	CHECK(verify_at(out, outlen, 0, fixed_ak.pk, &one, mid, &v) ==
	      TOKEN_ERR_REVOKED);
	if (t->not_before > 0)
		CHECK(verify_at(out, outlen, 0, fixed_ak.pk, NULL,
				t->not_before - 1, &v) == TOKEN_ERR_NOT_YET_VALID);
	if (t->not_after < UINT64_MAX)
		CHECK(verify_at(out, outlen, 0, fixed_ak.pk, NULL,
				t->not_after + 1, &v) == TOKEN_ERR_EXPIRED);
	CHECK(verify_at(out, outlen, 0, other_ak.pk, NULL, mid, &v) ==
	      TOKEN_ERR_AUTHORITY);
	out[outlen - 1] ^= 0x01;
	CHECK(verify_at(out, outlen, 0, fixed_ak.pk, NULL, mid, &v) ==
	      TOKEN_ERR_SIGNATURE);
}

static void fuzz_token_bytes(const uint8_t *data, size_t size)
{
	struct token t, v;
	enum token_status why = TOKEN_OK, st;
	bool ok;

	memset(&t, 0, sizeof(t));
	ok = token_decode(data, size, 0, &t, &why);
	if (ok) {
		check_decoded_token(data, size, &t);
	} else {
		CHECK(why != TOKEN_OK && why < TOKEN_STATUS_COUNT);
	}

	/* The fuzz input as it stands, against the fixed trust. */
	memset(&v, 0, sizeof(v));
	st = verify_at(data, size, 0, fixed_ak.pk, &fixed_rl, FUZZ_NOW, &v);
	CHECK(st < TOKEN_STATUS_COUNT);
	if (!ok) {
		CHECK(st != TOKEN_OK);
		return;
	}
	switch (st) {
	case TOKEN_OK:
		CHECK(tokens_equal(&t, &v, true));
		CHECK(memcmp(v.key_id, fixed_id, WIRE_KEY_ID_LEN) == 0);
		CHECK(t.not_before <= FUZZ_NOW && FUZZ_NOW <= t.not_after);
		CHECK(!revocation_contains(&fixed_rl, t.serial));
		break;
	case TOKEN_ERR_NOT_YET_VALID:
		CHECK(FUZZ_NOW < t.not_before);
		break;
	case TOKEN_ERR_EXPIRED:
		CHECK(FUZZ_NOW > t.not_after);
		break;
	case TOKEN_ERR_REVOKED:
		CHECK(revocation_contains(&fixed_rl, t.serial));
		break;
	case TOKEN_ERR_AUTHORITY:
		CHECK(memcmp(t.key_id, fixed_id, WIRE_KEY_ID_LEN) != 0);
		break;
	case TOKEN_ERR_SIGNATURE:
		break;
	default:
		/* A structural error from verify on what decode accepted. */
		CHECK(!"verify rejects a token decode accepts");
	}
}

static bool revocations_equal(const struct revocation *a,
			      const struct revocation *b)
{
	return a->serial == b->serial && a->issued_at == b->issued_at &&
	       a->count == b->count &&
	       (a->count == 0 ||
		memcmp(a->serials, b->serials, a->count * sizeof(uint64_t)) == 0);
}

static void check_decoded_revocation(const uint8_t *data, size_t size,
				     const struct revocation *rl)
{
	struct revocation v, shuffled;
	uint8_t *out = NULL, *out2 = NULL;
	size_t outlen = 0, outlen2 = 0;
	enum token_status why;

	CHECK(rl->count <= WIRE_REVOCATION_MAX);
	CHECK(size == WIRE_REVOCATION_HDR_LEN + (size_t)rl->count * 8 +
			      WIRE_SIG_LEN);
	for (uint32_t i = 0; i < rl->count; i++) {
		CHECK(i == 0 || rl->serials[i - 1] < rl->serials[i]);
		CHECK(revocation_contains(rl, rl->serials[i]));
		if (rl->serials[i] != UINT64_MAX &&
		    (i + 1 == rl->count || rl->serials[i + 1] != rl->serials[i] + 1))
			CHECK(!revocation_contains(rl, rl->serials[i] + 1));
	}
	if (rl->count == 0 || rl->serials[0] != 0)
		CHECK(!revocation_contains(rl, 0));

	/* Re-signed: canonical, same fields. */
	CHECK(revocation_sign(rl, &fixed_ak, &out, &outlen) == 0);
	CHECK(outlen == size);
	CHECK(memcmp(out, data, KEY_ID_OFF) == 0);
	CHECK(memcmp(out + KEY_ID_OFF, fixed_id, WIRE_KEY_ID_LEN) == 0);
	CHECK(memcmp(out + KEY_ID_END, data + KEY_ID_END,
		     size - WIRE_SIG_LEN - KEY_ID_END) == 0);
	memset(&v, 0, sizeof(v));
	CHECK(revocation_verify(out, outlen, fixed_ak.pk, &v) == TOKEN_OK);
	CHECK(revocations_equal(rl, &v));
	CHECK(memcmp(v.key_id, fixed_id, WIRE_KEY_ID_LEN) == 0);
	revocation_free(&v);

	/* Serials reversed and duplicated sign to the very same bytes. */
	shuffled = *rl;
	shuffled.serials = malloc(((size_t)rl->count * 2 + 1) * sizeof(uint64_t));
	CHECK(shuffled.serials != NULL);
	shuffled.count = rl->count * 2;
	for (uint32_t i = 0; i < rl->count; i++) {
		shuffled.serials[i] = rl->serials[rl->count - 1 - i];
		shuffled.serials[rl->count + i] = rl->serials[i];
	}
	if (rl->count <= WIRE_REVOCATION_MAX / 2) {
		CHECK(revocation_sign(&shuffled, &fixed_ak, &out2, &outlen2) == 0);
		CHECK(outlen2 == outlen && memcmp(out, out2, outlen) == 0);
		free(out2);
	}
	free(shuffled.serials);

	/* Another authority, a bad signature, one byte short or over. */
	CHECK(revocation_verify(out, outlen, other_ak.pk, &v) ==
	      TOKEN_ERR_AUTHORITY);
	out[outlen - 1] ^= 0x01;
	CHECK(revocation_verify(out, outlen, fixed_ak.pk, &v) ==
	      TOKEN_ERR_SIGNATURE);
	CHECK(!revocation_decode(out, outlen - 1, &v, &why));
	free(out);
}

static void fuzz_revocation_bytes(const uint8_t *data, size_t size)
{
	struct revocation rl, v;
	enum token_status why = TOKEN_OK, st;
	bool ok;

	memset(&rl, 0, sizeof(rl));
	ok = revocation_decode(data, size, &rl, &why);
	if (ok)
		check_decoded_revocation(data, size, &rl);
	else
		CHECK(why != TOKEN_OK && why < TOKEN_STATUS_COUNT);

	memset(&v, 0, sizeof(v));
	st = revocation_verify(data, size, fixed_ak.pk, &v);
	CHECK(st < TOKEN_STATUS_COUNT);
	if (st == TOKEN_OK) {
		CHECK(ok);
		CHECK(revocations_equal(&rl, &v));
		CHECK(memcmp(v.key_id, fixed_id, WIRE_KEY_ID_LEN) == 0);
		revocation_free(&v);
	}
	if (ok)
		revocation_free(&rl);
}

static void fuzz_mask(const uint8_t *data, size_t size)
{
	struct mask m, m2;
	uint8_t enc[WIRE_MASK_BYTES];
	char small[8], *text, *in;
	size_t need;

	if (mask_decode(data, size, &m)) {
		CHECK(mask_encode(&m, enc) == size);
		CHECK(size == 0 || memcmp(enc, data, size) == 0);
		need = mask_format(&m, small, sizeof(small));
		CHECK(strlen(small) == (need < sizeof(small) ? need : sizeof(small) - 1));
		text = malloc(need + 1);
		CHECK(text != NULL);
		CHECK(mask_format(&m, text, need + 1) == need);
		CHECK(strlen(text) == need);
		CHECK(mask_parse(text, &m2) && mask_equal(&m, &m2));
		free(text);
	}

	/* The input as the human form, when it is short text. */
	if (size > 8192)
		return;
	in = malloc(size + 1);
	CHECK(in != NULL);
	memcpy(in, data, size);
	in[size] = '\0';
	if (mask_parse(in, &m)) {
		need = mask_format(&m, NULL, 0);
		text = malloc(need + 1);
		CHECK(text != NULL);
		mask_format(&m, text, need + 1);
		CHECK(mask_parse(text, &m2) && mask_equal(&m, &m2));
		free(text);
	}
	free(in);
}

static void fuzz_armor(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char label[ARMOR_LABEL_MAX + 1], label2[ARMOR_LABEL_MAX + 1];
	size_t cap = size / 4 * 3 + 3, outlen = 0, outlen2 = 0, tlen = 0;
	uint8_t *bin, *bin2;
	char *re = NULL;

	/* Exactly cap bytes, so that a write past it trips ASan. */
	bin = malloc(cap);
	CHECK(bin != NULL);
	if (!armor_decode(text, size, NULL, label, bin, cap, &outlen)) {
		free(bin);
		return;
	}
	CHECK(outlen <= cap);
	CHECK(strlen(label) >= 1 && strlen(label) <= ARMOR_LABEL_MAX);

	/* The label it found is the one it wants; others are refused. */
	bin2 = malloc(outlen ? outlen : 1);
	CHECK(bin2 != NULL);
	CHECK(armor_decode(text, size, label, NULL, bin2, outlen, &outlen2));
	CHECK(outlen2 == outlen && memcmp(bin, bin2, outlen) == 0);
	CHECK(!armor_decode(text, size, "NOT THE LABEL", NULL, bin2, outlen,
			    &outlen2));
	if (outlen > 0)
		CHECK(!armor_decode(text, size, NULL, NULL, bin2, outlen - 1,
				    &outlen2));
	free(bin2);

	/* Armoring the result again round-trips. */
	CHECK(armor_encode(label, bin, outlen, &re, &tlen) == 0);
	CHECK(re != NULL && strlen(re) == tlen && tlen > 0 && re[tlen - 1] == '\n');
	bin2 = malloc(outlen ? outlen : 1);
	CHECK(bin2 != NULL);
	CHECK(armor_decode(re, tlen, NULL, label2, bin2, outlen, &outlen2));
	CHECK(strcmp(label, label2) == 0);
	CHECK(outlen2 == outlen && memcmp(bin, bin2, outlen) == 0);
	free(bin2);
	free(re);

	/*
	 * Armored tokens and lists go on to the binary checks, in a buffer of
	 * exactly their size so that reads past the end trip ASan.
	 */
	bin2 = malloc(outlen ? outlen : 1);
	CHECK(bin2 != NULL);
	memcpy(bin2, bin, outlen);
	free(bin);
	if (strcmp(label, TOKEN_ARMOR_HOST) == 0 ||
	    strcmp(label, TOKEN_ARMOR_USER) == 0)
		fuzz_token_bytes(bin2, outlen);
	else if (strcmp(label, TOKEN_ARMOR_REVOCATION) == 0)
		fuzz_revocation_bytes(bin2, outlen);
	free(bin2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_token_bytes(data, size);
	fuzz_revocation_bytes(data, size);
	fuzz_armor(data, size);
	fuzz_mask(data, size);
	return 0;
}
