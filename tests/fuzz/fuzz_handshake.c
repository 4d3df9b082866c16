/*
 * tests/fuzz/fuzz_handshake.c - libFuzzer harness for shim/noise.h and
 * shim/cookie.h: the responder's noise_initiation_consume with a fixed
 * static key, the initiator's noise_response_consume against a fixed
 * pending handshake, cookie_validate (mac1 and mac2) and
 * cookie_reply_consume.
 *
 * Input: one flags byte, then the body.
 *   FLAG_MAC1   recompute valid macs (mac1, and mac2 with the cookie the
 *               responder gave) before checking them, so that the checks
 *               pass and the mac2 path is explored
 *   FLAG_XOR    the body is XORed into a genuine initiation / response /
 *               cookie reply made at start-up (all-zero body: the genuine
 *               message), so that small changes to valid messages are
 *               explored; without it the body is the message itself (when
 *               it is long enough)
 *   FLAG_RECV   the response's receiver is set to the pending index
 * Every body also goes raw to cookie_validate under both checkers.
 *
 * The static keys are fixed (so a seed initiation from the fixed initiator
 * stays valid); the pending handshake's ephemeral is drawn at start-up.
 * Invariants (abort on breach): whatever is accepted came from the known
 * initiator and, for a response, yields exactly the responder's keys; a
 * refused response leaves the pending handshake untouched; an accepted
 * cookie reply is the genuine one but for its receiver index; macs made
 * by the maker always validate.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "noise.h"
#include "fuzz_check.h"

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

#define NOW (UINT64_C(1000) * 1000000000u)

enum fuzz_index {
	PENDING_INDEX = 0x11223344,
	RESPONDER_INDEX = 0x55667788,
};

_Static_assert(sizeof(FUZZ_RESPONDER_SK) - 1 == PROTO_KEY_LEN, "sk");
_Static_assert(sizeof(FUZZ_INITIATOR_SK) - 1 == PROTO_KEY_LEN, "sk");

static struct noise_static responder, initiator;
static struct cookie_checker responder_cc, initiator_cc;
static struct cookie_maker to_responder;	/* holds the responder's cookie */
static struct cookie_maker reply_maker;		/* awaiting valid_reply */
static struct proto_cookie_reply valid_reply;
static const struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = 9 };
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

/* Valid macs for msg as the initiator makes them (mac2: the responder's cookie). */
static void macs_fix(void *msg, size_t len, struct cookie_checker *cc)
{
	struct cookie_maker m = to_responder;

	cookie_add_macs(&m, msg, len, NOW);
	CHECK(cookie_validate(cc, msg, len, (const struct sockaddr *)&from, sizeof(from),
			      true, NOW) != COOKIE_MAC_INVALID || cc != &responder_cc);
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
	if (flags & FLAG_MAC1) {
		macs_fix(&msg, sizeof(msg), &responder_cc);
		CHECK(cookie_validate(&responder_cc, &msg, sizeof(msg),
				      (const struct sockaddr *)&from, sizeof(from), true,
				      NOW) == COOKIE_MAC_VALID_COOKIE);
	}
	ok = noise_initiation_consume(&hs, &responder, &msg, lookup, &calls, ts);
	if (!ok) {
		CHECK(sodium_is_zero((const uint8_t *)&hs, sizeof(hs)));
		CHECK(sodium_is_zero(ts, sizeof(ts)));
		return;
	}
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
		macs_fix(&msg, sizeof(msg), &initiator_cc);
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

static void fuzz_cookie(unsigned flags, const uint8_t *body, size_t body_len)
{
	struct proto_cookie_reply msg;
	struct cookie_maker m = reply_maker;

	if (!build(&msg, &valid_reply, sizeof(msg), flags, body, body_len))
		return;
	if (!cookie_reply_consume(&m, &msg, NOW)) {
		CHECK(memcmp(&m, &reply_maker, sizeof(m)) == 0);
		return;
	}
	msg.receiver = valid_reply.receiver;
	CHECK(memcmp(&msg, &valid_reply, sizeof(msg)) == 0);
	CHECK(memcmp(m.cookie, to_responder.cookie, sizeof(m.cookie)) == 0);
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
	cookie_checker_init(&responder_cc, responder.pk);
	cookie_checker_init(&initiator_cc, initiator.pk);
	cookie_maker_init(&to_responder, responder.pk);
	CHECK(noise_initiation_create(&pending, &initiator, responder.pk,
				      PENDING_INDEX, &valid_init) == 0);
	cookie_add_macs(&to_responder, &valid_init, sizeof(valid_init), NOW);
	reply_maker = to_responder;
	CHECK(cookie_reply_create(&responder_cc, &valid_reply, &valid_init,
				  sizeof(valid_init), PENDING_INDEX,
				  (const struct sockaddr *)&from, sizeof(from), NOW) == 0);
	CHECK(cookie_reply_consume(&to_responder, &valid_reply, NOW));
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
	(void)cookie_validate(&responder_cc, data, size, (const struct sockaddr *)&from,
			      sizeof(from), true, NOW);
	(void)cookie_validate(&initiator_cc, data, size, (const struct sockaddr *)&from,
			      sizeof(from), flags & FLAG_RECV, NOW);
	fuzz_initiation(flags, data, size);
	fuzz_response(flags, data, size);
	fuzz_cookie(flags, data, size);
	return 0;
}
