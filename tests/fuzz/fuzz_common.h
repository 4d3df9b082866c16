/*
 * tests/fuzz/fuzz_common.h - what the token fuzz harness and its seed
 * generator (gen_seeds.c) share: a fixed authority key derived from a fixed
 * seed, so that the seed corpus holds tokens the harness can verify, the
 * fixed "now" of the harness and the serials its revocation list holds.
 *
 * Header-only (static inline) so that the Makefile's one-source-per-harness
 * rule keeps working.
 */
#ifndef CAPTUN_TESTS_FUZZ_COMMON_H
#define CAPTUN_TESTS_FUZZ_COMMON_H

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"

/* Exactly crypto_sign_SEEDBYTES (32) characters each. */
#define FUZZ_AUTHORITY_SEED "captun-fuzz-fixed-authority-seed"
#define FUZZ_OTHER_SEED "captun-fuzz-other-authority-seed"

enum fuzz_fixed {
	FUZZ_NOW = 1700000000,		/* the harness's clock */
	FUZZ_NOT_BEFORE = 1600000000,	/* seed tokens' validity */
	FUZZ_NOT_AFTER = 1900000000,
	FUZZ_RL_SERIAL = 7,		/* the harness's revocation list */
	FUZZ_RL_ISSUED_AT = 1690000000,
	FUZZ_RL_COUNT = 3,
};

/* The serials the harness's trusted revocation list revokes (ascending). */
static const uint64_t fuzz_revoked_serials[FUZZ_RL_COUNT] = { 5, 1000, 4242 };

_Static_assert(sizeof(FUZZ_AUTHORITY_SEED) - 1 == crypto_sign_SEEDBYTES, "seed");
_Static_assert(sizeof(FUZZ_OTHER_SEED) - 1 == crypto_sign_SEEDBYTES, "seed");
_Static_assert(KEYS_ED25519_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk");
_Static_assert(WIRE_PUBKEY_LEN == crypto_sign_PUBLICKEYBYTES, "pk");

static inline void fuzz_authority_from_seed(const char *seed,
					    struct authority_key *ak)
{
	unsigned char s[crypto_sign_SEEDBYTES];

	memcpy(s, seed, sizeof(s));
	crypto_sign_seed_keypair(ak->pk, ak->sk, s);
}

/* The authority the seed corpus is signed with. */
static inline void fuzz_authority(struct authority_key *ak)
{
	fuzz_authority_from_seed(FUZZ_AUTHORITY_SEED, ak);
}

/* Another authority, for "issued by someone else" checks. */
static inline void fuzz_other_authority(struct authority_key *ak)
{
	fuzz_authority_from_seed(FUZZ_OTHER_SEED, ak);
}

#endif
