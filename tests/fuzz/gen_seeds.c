/*
 * tests/fuzz/gen_seeds.c - writes the seed corpus of fuzz_token (and one
 * policy seed with real keys for fuzz_policy). Not built by make; its output
 * is committed. Everything is deterministic (fixed seeds, Ed25519 signatures
 * are deterministic), so rerunning it rewrites the same bytes:
 *
 *   gcc -std=gnu11 -O1 -Ipolicy -o build/gen_seeds tests/fuzz/gen_seeds.c \
 *       policy/[a-z]*.c -lsodium -ljansson
 *   build/gen_seeds tests/fuzz/corpus/fuzz_token tests/fuzz/corpus/fuzz_policy
 */
#include <errno.h>
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

static struct authority_key fixed_ak, other_ak;
static const char *token_dir;

static void die(const char *what)
{
	fprintf(stderr, "gen_seeds: %s\n", what);
	exit(1);
}

static void write_file(const char *dir, const char *name, const void *data,
		       size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	printf("%s (%zu bytes)\n", path, len);
}

/* Writes NAME.bin and, if label is non-NULL, NAME.asc. */
static void write_object(const char *name, const char *label,
			 const uint8_t *bin, size_t len)
{
	char file[256], *text;
	size_t tlen;

	snprintf(file, sizeof(file), "%s.bin", name);
	write_file(token_dir, file, bin, len);
	if (!label)
		return;
	if (armor_encode(label, bin, len, &text, &tlen) != 0)
		die("armor_encode");
	snprintf(file, sizeof(file), "%s.asc", name);
	write_file(token_dir, file, text, tlen);
	free(text);
}

/* Deterministic host keys: a host's public keys from its bit. */
static void host_pubkeys(unsigned bit, uint8_t tunnel_pk[WIRE_PUBKEY_LEN],
			 uint8_t sign_pk[WIRE_PUBKEY_LEN])
{
	unsigned char seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char xsk[crypto_scalarmult_SCALARBYTES];

	memset(seed, 0, sizeof(seed));
	snprintf((char *)seed, sizeof(seed), "captun-fuzz-host-%u", bit);
	crypto_sign_seed_keypair(sign_pk, sk, seed);
	crypto_generichash(xsk, sizeof(xsk), seed, sizeof(seed), NULL, 0);
	crypto_scalarmult_base(tunnel_pk, xsk);
}

static void token_base(struct token *t, enum wire_type type, const char *name,
		       uint64_t serial)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->serial = serial;
	t->not_before = FUZZ_NOT_BEFORE;
	t->not_after = FUZZ_NOT_AFTER;
}

static void sign_write(const struct token *t, const struct authority_key *ak,
		       const char *file, const char *label)
{
	uint8_t buf[WIRE_TOKEN_MAX];
	size_t len;
	int rc = token_sign(t, ak, buf, sizeof(buf), &len);

	if (rc != 0) {
		fprintf(stderr, "gen_seeds: token_sign %s: %s\n", file, strerror(-rc));
		exit(1);
	}
	write_object(file, label, buf, len);
}

static void host(const char *file, const char *name, unsigned bit,
		 const unsigned *reach, size_t nreach, bool full, uint64_t serial,
		 bool armored)
{
	struct token t;

	token_base(&t, WIRE_TYPE_HOST_TOKEN, name, serial);
	t.bit = (uint16_t)bit;
	host_pubkeys(bit, t.tunnel_pk, t.sign_pk);
	if (full)
		mask_fill(&t.grant);
	for (size_t i = 0; i < nreach; i++)
		mask_bit_set(&t.grant, reach[i]);
	sign_write(&t, &fixed_ak, file, armored ? TOKEN_ARMOR_HOST : NULL);
}

static void user(const char *file, const char *name, const unsigned *reach,
		 size_t nreach, bool full, uint64_t serial, uint64_t nb,
		 uint64_t na, const struct authority_key *ak, bool armored)
{
	struct token t;

	token_base(&t, WIRE_TYPE_USER_TOKEN, name, serial);
	t.not_before = nb;
	t.not_after = na;
	if (full)
		mask_fill(&t.grant);
	for (size_t i = 0; i < nreach; i++)
		mask_bit_set(&t.grant, reach[i]);
	sign_write(&t, ak, file, armored ? TOKEN_ARMOR_USER : NULL);
}

static void revocation(const char *file, const uint64_t *serials, uint32_t count,
		       uint64_t serial, bool armored)
{
	struct revocation rl;
	uint64_t copy[64];
	uint8_t *bin;
	size_t len;

	if (count > 64)
		die("too many serials");
	if (count)
		memcpy(copy, serials, count * sizeof(*serials));
	memset(&rl, 0, sizeof(rl));
	rl.serial = serial;
	rl.issued_at = FUZZ_RL_ISSUED_AT;
	rl.count = count;
	rl.serials = copy;
	if (revocation_sign(&rl, &fixed_ak, &bin, &len) != 0)
		die("revocation_sign");
	write_object(file, armored ? TOKEN_ARMOR_REVOCATION : NULL, bin, len);
	free(bin);
}

static void policy_seed(const char *dir)
{
	static const char *const names[] = { "host1", "host2", "host3" };
	char tb[45], sb[45], text[4096];
	uint8_t tpk[WIRE_PUBKEY_LEN], spk[WIRE_PUBKEY_LEN];
	size_t pos = 0;

	pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "{\n  \"hosts\": {\n");
	for (unsigned i = 0; i < 3; i++) {
		host_pubkeys(i + 1, tpk, spk);
		keys_pub_to_base64(tpk, tb);
		keys_pub_to_base64(spk, sb);
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
			"    \"%s\": { \"bit\": %u, \"reach\": [%s],\n"
			"               \"overlay\": [\"10.77.0.%u\", \"fd77::%u\"],\n"
			"               \"endpoint\": \"%s\",\n"
			"               \"tunnel_key\": \"%s\",\n"
			"               \"sign_key\": \"%s\" }%s\n",
			names[i], i + 1,
			i == 0 ? "\"host2\", \"host3\"" : i == 2 ? "\"host1\"" : "",
			i + 1, i + 1,
			i == 1 ? "[2001:db8::2]:51820" : i == 0 ? "192.0.2.1:51820"
							       : "192.0.2.3:51820",
			tb, sb, i < 2 ? "," : "");
	}
	pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
		"  },\n  \"users\": {\n"
		"    \"A\": { \"reach\": [\"host1\", \"host3\"] },\n"
		"    \"B\": { \"reach\": [\"*\"] }\n"
		"  }\n}\n");
	if (pos >= sizeof(text))
		die("policy seed too long");
	write_file(dir, "acceptance_keys.json", text, pos);
}

int main(int argc, char **argv)
{
	static const unsigned h1[] = { 2, 3 }, h3[] = { 1 }, ua[] = { 1, 3 };
	static const unsigned ub[] = { 1, 2, 3 };
	static const unsigned spread[] = { 0, 7, 8, 63, 64, 511, 777, 1023 };
	uint64_t many[64];

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen_seeds TOKEN_CORPUS_DIR [POLICY_CORPUS_DIR]\n");
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init");
	token_dir = argv[1];
	fuzz_authority(&fixed_ak);
	fuzz_other_authority(&other_ak);

	/* The acceptance scenario's hosts and users. */
	host("host1", "host1", 1, h1, 2, false, 1, true);
	host("host2", "host2", 2, NULL, 0, false, 2, false);
	host("host3", "host3", 3, h3, 1, false, 3, false);
	host("host_max", "h.this-name-is-32-bytes-long_123", 1023, NULL, 0, true,
	     4, false);
	user("user_A", "A", ua, 2, false, 101, FUZZ_NOT_BEFORE, FUZZ_NOT_AFTER,
	     &fixed_ak, true);
	user("user_B", "B", ub, 3, false, 102, FUZZ_NOT_BEFORE, FUZZ_NOT_AFTER,
	     &fixed_ak, false);
	user("user_full", "u.this-name-is-32-bytes-long_123", NULL, 0, true, 103,
	     FUZZ_NOT_BEFORE, FUZZ_NOT_AFTER, &fixed_ak, false);
	user("user_spread", "spread", spread, sizeof(spread) / sizeof(spread[0]),
	     false, 104, FUZZ_NOT_BEFORE, FUZZ_NOT_AFTER, &fixed_ak, false);
	user("user_empty", "nobody", NULL, 0, false, 105, FUZZ_NOT_BEFORE,
	     FUZZ_NOT_AFTER, &fixed_ak, false);

	/* Each way a good signature still fails: revoked, expired, early, foreign. */
	user("user_revoked", "revoked", ua, 2, false, 1000, FUZZ_NOT_BEFORE,
	     FUZZ_NOT_AFTER, &fixed_ak, false);
	user("user_expired", "expired", ua, 2, false, 106, FUZZ_NOT_BEFORE,
	     FUZZ_NOW - 1, &fixed_ak, false);
	user("user_notyet", "notyet", ua, 2, false, 107, FUZZ_NOW + 1,
	     FUZZ_NOT_AFTER, &fixed_ak, false);
	user("user_other_authority", "A", ua, 2, false, 108, FUZZ_NOT_BEFORE,
	     FUZZ_NOT_AFTER, &other_ak, false);

	/* The harness's revocation list, an empty one and a longer one. */
	revocation("revocation", fuzz_revoked_serials, FUZZ_RL_COUNT,
		   FUZZ_RL_SERIAL, true);
	revocation("revocation_empty", NULL, 0, 1, false);
	for (unsigned i = 0; i < 64; i++)
		many[i] = (uint64_t)i * i * 977 + 3;
	many[63] = UINT64_MAX;
	revocation("revocation_64", many, 64, 9, false);

	/* Human-form masks for the mask_parse path. */
	write_file(token_dir, "mask.txt", "0-3,7,9,1023", 12);

	if (argc == 3)
		policy_seed(argv[2]);
	return 0;
}
