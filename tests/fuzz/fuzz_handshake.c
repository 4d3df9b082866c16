/*
 * tests/fuzz/fuzz_handshake.c - libFuzzer harness for shim/noise.h: the
 * responder's noise_mac1_verify and noise_initiation_consume with a fixed
 * static key, and the initiator's noise_response_consume against a fixed
 * pending handshake.
 *
 * Input: one flags byte, then the body.
 *   FLAG_MAC1   recompute a valid mac1 before consuming, so the fuzzer
 *               gets past the cheap gate and reaches the DHs and AEADs
 *   FLAG_XOR    the body is XORed into a genuine initiation / response
 *               made at start-up (all-zero body: the genuine message), so
 *               that small changes to valid messages are explored; without
 *               it the body is the message itself (when it is long enough)
 *   FLAG_RECV   the response's receiver is set to the pending index
 * Every body also goes raw to noise_mac1_verify under both keys.
 *
 * The static keys are fixed (so a seed initiation from the fixed initiator
 * stays valid); the pending handshake's ephemeral is drawn at start-up.
 * Invariants (abort on breach): whatever is accepted came from the known
 * initiator and, for a response, yields exactly the responder's keys; a
 * refused response leaves the pending handshake untouched.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Exactly PROTO_KEY_LEN (32) characters each. */
#define FUZZ_RESPONDER_SK "captun-fuzz-handshake-responder!"
#define FUZZ_INITIATOR_SK "captun-fuzz-handshake-initiator!"

enum fuzz_flags {
	FLAG_MAC1 = 1 << 0,
	FLAG_XOR = 1 << 1,
	FLAG_RECV = 1 << 2,
};

enum fuzz_index {
	PENDING_INDEX = 0x11223344,
	RESPONDER_INDEX = 0x55667788,
};

_Static_assert(sizeof(FUZZ_RESPONDER_SK) - 1 == PROTO_KEY_LEN, "sk");
_Static_assert(sizeof(FUZZ_INITIATOR_SK) - 1 == PROTO_KEY_LEN, "sk");

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static struct noise_static responder, initiator;
static struct noise_handshake pending;		/* initiator awaiting valid_resp */
static struct proto_initiation valid_init;
static struct proto_response valid_resp;
static struct noise_keypair responder_kp;	/* the keys valid_resp carries */

/* The responder knows exactly one peer: the fixed initiator. */
static bool lookup(void *arg, const uint8_t pk[PROTO_KEY_LEN])
{
	int *calls = arg;

	(*calls)++;
	return memcmp(pk, initiator.pk, PROTO_KEY_LEN) == 0;
}

/* A valid mac1 for msg as a sender who knows the receiver's key makes it. */
static void mac1_fix(void *msg, size_t mac1_off, const uint8_t receiver_pk[PROTO_KEY_LEN])
{
	uint8_t key[PROTO_HASH_LEN];

	noise_mac1_key(receiver_pk, key);
	CHECK(crypto_generichash((uint8_t *)msg + mac1_off, PROTO_MAC_LEN, msg,
				 mac1_off, key, sizeof(key)) == 0);
}

/* msg = base XOR body (xor mode) or body itself; false if too short. */
static bool build(void *msg, const void *base, size_t len, unsigned flags,
		  const uint8_t *body, size_t body_len)
{
	uint8_t *m = msg;
	size_t i;

	if (!(flags & FLAG_XOR)) {
		if (body_len < len)
			return false;
		memcpy(m, body, len);
		return true;
	}
	memcpy(m, base, len);
	for (i = 0; i < len && i < body_len; i++)
		m[i] ^= body[i];
	return true;
}

static void fuzz_initiation(unsigned flags, const uint8_t *body, size_t body_len)
{
	struct proto_initiation msg;
	struct noise_handshake hs;
	struct proto_response resp;
	struct noise_keypair kp;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	int calls = 0;
	bool ok;

	if (!build(&msg, &valid_init, sizeof(msg), flags, body, body_len))
		return;
	if (flags & FLAG_MAC1)
		mac1_fix(&msg, offsetof(struct proto_initiation, mac1), responder.pk);
	ok = noise_initiation_consume(&hs, &responder, &msg, lookup, &calls, ts);
	if (!ok) {
		CHECK(sodium_is_zero((const uint8_t *)&hs, sizeof(hs)));
		CHECK(sodium_is_zero(ts, sizeof(ts)));
		return;
	}
	CHECK(noise_mac1_verify(&responder, &msg, sizeof(msg)));
	CHECK(calls == 1);
	CHECK(memcmp(hs.remote_static, initiator.pk, PROTO_KEY_LEN) == 0);
	CHECK(hs.remote_index == be32toh(msg.sender));
	if (flags & FLAG_XOR) {
		/* The AEADs bind these: an accepted variant carries the same. */
		CHECK(memcmp(msg.ephemeral, valid_init.ephemeral, sizeof(msg.ephemeral)) == 0);
		CHECK(memcmp(msg.enc_static, valid_init.enc_static, sizeof(msg.enc_static)) == 0);
		CHECK(memcmp(msg.enc_timestamp, valid_init.enc_timestamp,
			     sizeof(msg.enc_timestamp)) == 0);
	}
	CHECK(noise_response_create(&hs, &responder, RESPONDER_INDEX, &resp, &kp) == 0);
	CHECK(sodium_is_zero((const uint8_t *)&hs, sizeof(hs)));
	CHECK(noise_mac1_verify(&initiator, &resp, sizeof(resp)));
	noise_keypair_wipe(&kp);
}

static void fuzz_response(unsigned flags, const uint8_t *body, size_t body_len)
{
	struct proto_response msg;
	struct noise_handshake hs = pending;
	struct noise_keypair kp;

	if (!build(&msg, &valid_resp, sizeof(msg), flags, body, body_len))
		return;
	if (flags & FLAG_RECV)
		msg.receiver = htobe32(PENDING_INDEX);
	if (flags & FLAG_MAC1)
		mac1_fix(&msg, offsetof(struct proto_response, mac1), initiator.pk);
	if (!noise_response_consume(&hs, &initiator, &msg, &kp)) {
		CHECK(memcmp(&hs, &pending, sizeof(hs)) == 0);
		noise_handshake_wipe(&hs);
		return;
	}
	CHECK(be32toh(msg.receiver) == PENDING_INDEX);
	CHECK(memcmp(msg.ephemeral, valid_resp.ephemeral, sizeof(msg.ephemeral)) == 0);
	CHECK(memcmp(kp.send, responder_kp.recv, PROTO_KEY_LEN) == 0);
	CHECK(memcmp(kp.recv, responder_kp.send, PROTO_KEY_LEN) == 0);
	CHECK(sodium_is_zero((const uint8_t *)&hs, sizeof(hs)));
	noise_keypair_wipe(&kp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char rsk[] = FUZZ_RESPONDER_SK, isk[] = FUZZ_INITIATOR_SK;
	struct noise_handshake rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	int calls = 0;

	(void)argc;
	(void)argv;
	CHECK(sodium_init() >= 0);
	CHECK(noise_static_init(&responder, (const uint8_t *)rsk) == 0);
	CHECK(noise_static_init(&initiator, (const uint8_t *)isk) == 0);
	CHECK(noise_initiation_create(&pending, &initiator, responder.pk,
				      PENDING_INDEX, &valid_init) == 0);
	CHECK(noise_initiation_consume(&rhs, &responder, &valid_init, lookup,
				       &calls, ts));
	CHECK(noise_response_create(&rhs, &responder, RESPONDER_INDEX,
				    &valid_resp, &responder_kp) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	(void)noise_mac1_verify(&responder, data, size);
	(void)noise_mac1_verify(&initiator, data, size);
	fuzz_initiation(flags, data, size);
	fuzz_response(flags, data, size);
	return 0;
}
