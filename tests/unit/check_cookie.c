/*
 * tests/unit/check_cookie.c - shim/cookie.h and shim/ratelimiter.h: mac1
 * and mac2 on both handshake messages, the cookie exchange and every way
 * of tampering with it (flipped bits, another address, another message,
 * a replayed or foreign reply, an expired secret or cookie), and the
 * per-source token buckets.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "noise.h"
#include "ratelimiter.h"
#include "suites.h"

#define NS UINT64_C(1000000000)

enum {
	T0 = 1000,			/* a "now" that is not zero, seconds */
	SENDER = 0x11223344,
};

struct ends {
	struct noise_static recv;	/* the receiver, which may be under load */
	struct cookie_checker checker;	/* its side */
	struct cookie_maker maker;	/* the sender's side, towards it */
	struct sockaddr_in src;		/* where the sender sends from */
};

static void ends_make(struct ends *e)
{
	uint8_t sk[32];

	randombytes_buf(sk, sizeof(sk));
	ck_assert_int_eq(noise_static_init(&e->recv, sk), 0);
	cookie_checker_init(&e->checker, e->recv.pk);
	cookie_maker_init(&e->maker, e->recv.pk);
	memset(&e->src, 0, sizeof(e->src));
	e->src.sin_family = AF_INET;
	e->src.sin_port = htons(51900);
	e->src.sin_addr.s_addr = htonl(0x0a630002);
}

/* A handshake message of len bytes (148 or 92) with random contents. */
static void msg_make(uint8_t *msg, size_t len)
{
	randombytes_buf(msg, len);
	msg[0] = len == sizeof(struct proto_initiation) ? PROTO_INITIATION : PROTO_RESPONSE;
	memset(msg + 1, 0, 3);
	memcpy(msg + 4, &(uint32_t){ htobe32(SENDER) }, 4);
}

static enum cookie_mac_state check(struct ends *e, const uint8_t *msg, size_t len,
				   const struct sockaddr_in *src, bool cookie, uint64_t now)
{
	return cookie_validate(&e->checker, msg, len, (const struct sockaddr *)src,
			       sizeof(*src), cookie, now);
}

/* The receiver, under load, answers msg; the sender takes the cookie. */
static void cookie_get(struct ends *e, const uint8_t *msg, size_t len, uint64_t now)
{
	struct proto_cookie_reply r;

	ck_assert_int_eq(cookie_reply_create(&e->checker, &r, msg, len, SENDER,
					     (const struct sockaddr *)&e->src,
					     sizeof(e->src), now), 0);
	ck_assert_uint_eq(r.type, PROTO_COOKIE_REPLY);
	ck_assert_uint_eq(be32toh(r.receiver), SENDER);
	ck_assert(cookie_reply_consume(&e->maker, &r, now));
}

static const size_t lens[] = { sizeof(struct proto_initiation), sizeof(struct proto_response) };

/* mac1: made by whoever knows the receiver's key, checked by it alone, covering every byte before it. */
START_TEST(test_mac1)
{
	size_t len = lens[_i];
	uint8_t msg[sizeof(struct proto_initiation)], bad[sizeof(msg)];
	struct ends e, other;

	ends_make(&e);
	ends_make(&other);
	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, T0 * NS);
	ck_assert(sodium_is_zero(msg + len - PROTO_MAC_LEN, PROTO_MAC_LEN));	/* no cookie: mac2 0 */
	ck_assert_int_eq(check(&e, msg, len, &e.src, false, T0 * NS), COOKIE_MAC_VALID);
	ck_assert_int_eq(check(&e, msg, len, &e.src, true, T0 * NS), COOKIE_MAC_VALID);
	ck_assert_int_eq(check(&other, msg, len, &e.src, false, T0 * NS), COOKIE_MAC_INVALID);
	for (size_t bit = 0; bit < (len - PROTO_MAC_LEN) * 8; bit++) {
		memcpy(bad, msg, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(check(&e, bad, len, &e.src, false, T0 * NS) == COOKIE_MAC_INVALID,
			      "bit %zu", bit);
	}
	/* Only handshake lengths carry macs. */
	ck_assert_int_eq(check(&e, msg, len - 1, &e.src, false, T0 * NS), COOKIE_MAC_INVALID);
	ck_assert_int_eq(check(&e, msg, 0, &e.src, false, T0 * NS), COOKIE_MAC_INVALID);
	ck_assert_int_eq(check(&e, msg, 64, &e.src, false, T0 * NS), COOKIE_MAC_INVALID);
}
END_TEST

/* The exchange: a cookie reply, then mac2 from the same address passes. */
START_TEST(test_cookie_exchange)
{
	size_t len = lens[_i];
	uint8_t msg[sizeof(struct proto_initiation)];
	struct sockaddr_in elsewhere;
	struct ends e;

	ends_make(&e);
	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, T0 * NS);
	cookie_get(&e, msg, len, T0 * NS);

	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, T0 * NS + 1);
	ck_assert(!sodium_is_zero(msg + len - PROTO_MAC_LEN, PROTO_MAC_LEN));
	ck_assert_int_eq(check(&e, msg, len, &e.src, true, T0 * NS + 1),
			 COOKIE_MAC_VALID_COOKIE);
	ck_assert_int_eq(check(&e, msg, len, &e.src, false, T0 * NS + 1), COOKIE_MAC_VALID);
	/* The cookie is bound to the address and the port. */
	elsewhere = e.src;
	elsewhere.sin_port = htons(51901);
	ck_assert_int_eq(check(&e, msg, len, &elsewhere, true, T0 * NS + 1), COOKIE_MAC_VALID);
	elsewhere = e.src;
	elsewhere.sin_addr.s_addr ^= htonl(1);
	ck_assert_int_eq(check(&e, msg, len, &elsewhere, true, T0 * NS + 1), COOKIE_MAC_VALID);
}
END_TEST

/* mac2 covers the message and mac1: a change behind a recomputed mac1 fails it. */
START_TEST(test_mac2_tampered)
{
	size_t len = sizeof(struct proto_initiation);
	uint8_t msg[sizeof(struct proto_initiation)], bad[sizeof(msg)];
	struct cookie_maker forger;
	struct ends e;

	ends_make(&e);
	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, T0 * NS);
	cookie_get(&e, msg, len, T0 * NS);
	cookie_add_macs(&e.maker, msg, len, T0 * NS);
	ck_assert_int_eq(check(&e, msg, len, &e.src, true, T0 * NS), COOKIE_MAC_VALID_COOKIE);
	cookie_maker_init(&forger, e.recv.pk);	/* knows the key, not the cookie */
	for (size_t bit = 0; bit < len * 8; bit++) {
		memcpy(bad, msg, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (bit / 8 < len - 2 * PROTO_MAC_LEN) {
			uint8_t mac2[PROTO_MAC_LEN];

			memcpy(mac2, bad + len - PROTO_MAC_LEN, sizeof(mac2));
			cookie_add_macs(&forger, bad, len, T0 * NS);
			memcpy(bad + len - PROTO_MAC_LEN, mac2, sizeof(mac2));
			ck_assert_int_eq(check(&e, bad, len, &e.src, true, T0 * NS),
					 COOKIE_MAC_VALID);
		} else {
			ck_assert_msg(check(&e, bad, len, &e.src, true, T0 * NS) !=
				      COOKIE_MAC_VALID_COOKIE, "bit %zu", bit);
		}
	}
}
END_TEST

/* A reply with any bit flipped, for another message, twice, or from another host: refused. */
START_TEST(test_reply_tampered)
{
	size_t len = sizeof(struct proto_initiation);
	uint8_t msg[sizeof(struct proto_initiation)], msg2[sizeof(msg)];
	struct proto_cookie_reply r, bad;
	struct ends e, other;
	const size_t receiver = offsetof(struct proto_cookie_reply, receiver);

	ends_make(&e);
	ends_make(&other);
	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, T0 * NS);
	ck_assert_int_eq(cookie_reply_create(&e.checker, &r, msg, len, SENDER,
					     (const struct sockaddr *)&e.src,
					     sizeof(e.src), T0 * NS), 0);
	for (size_t bit = 0; bit < sizeof(r) * 8; bit++) {
		bad = r;
		((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		/* The receiver index only finds the maker; the AEAD covers the rest. */
		if (bit / 8 >= receiver && bit / 8 < receiver + 4)
			continue;
		ck_assert_msg(!cookie_reply_consume(&e.maker, &bad, T0 * NS), "bit %zu", bit);
		ck_assert_uint_eq(e.maker.cookie_born_ns, 0);
	}
	/* Made by another host (its cookie key): refused. */
	ck_assert_int_eq(cookie_reply_create(&other.checker, &bad, msg, len, SENDER,
					     (const struct sockaddr *)&e.src,
					     sizeof(e.src), T0 * NS), 0);
	ck_assert(!cookie_reply_consume(&e.maker, &bad, T0 * NS));
	/* For a message sent earlier than the last: refused. */
	memcpy(msg2, msg, len);
	msg2[10] ^= 1;
	cookie_add_macs(&e.maker, msg2, len, T0 * NS);
	ck_assert(!cookie_reply_consume(&e.maker, &r, T0 * NS));
	/* For the last one: taken once, then refused as a replay. */
	ck_assert_int_eq(cookie_reply_create(&e.checker, &r, msg2, len, SENDER,
					     (const struct sockaddr *)&e.src,
					     sizeof(e.src), T0 * NS), 0);
	ck_assert(cookie_reply_consume(&e.maker, &r, T0 * NS));
	ck_assert(!cookie_reply_consume(&e.maker, &r, T0 * NS));
	/* Nothing sent yet: nothing to take. */
	cookie_maker_init(&other.maker, e.recv.pk);
	ck_assert(!cookie_reply_consume(&other.maker, &r, T0 * NS));
}
END_TEST

/* The secret is redrawn after two minutes; the sender stops using a cookie 5 s before. */
START_TEST(test_cookie_expiry)
{
	size_t len = sizeof(struct proto_initiation);
	uint8_t msg[sizeof(struct proto_initiation)];
	uint64_t t = T0 * NS;
	struct ends e;

	ends_make(&e);
	msg_make(msg, len);
	cookie_add_macs(&e.maker, msg, len, t);
	cookie_get(&e, msg, len, t);
	cookie_add_macs(&e.maker, msg, len, t + (COOKIE_SECRET_MAX_AGE_S - 6) * NS);
	ck_assert(!sodium_is_zero(msg + len - PROTO_MAC_LEN, PROTO_MAC_LEN));
	ck_assert_int_eq(check(&e, msg, len, &e.src, true,
			       t + (COOKIE_SECRET_MAX_AGE_S - 6) * NS), COOKIE_MAC_VALID_COOKIE);
	cookie_add_macs(&e.maker, msg, len, t + (COOKIE_SECRET_MAX_AGE_S - 4) * NS);
	ck_assert(sodium_is_zero(msg + len - PROTO_MAC_LEN, PROTO_MAC_LEN));
	/* A mac2 made with the old cookie fails once the secret is new. */
	e.maker.cookie_born_ns = t + COOKIE_SECRET_MAX_AGE_S * NS;
	cookie_add_macs(&e.maker, msg, len, t + COOKIE_SECRET_MAX_AGE_S * NS);
	ck_assert_int_eq(check(&e, msg, len, &e.src, true, t + COOKIE_SECRET_MAX_AGE_S * NS),
			 COOKIE_MAC_VALID);
}
END_TEST

/* ---- ratelimiter ---------------------------------------------------- */

static bool allow4(struct ratelimiter *r, uint32_t addr, uint16_t port, uint64_t now)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

	in.sin_addr.s_addr = htonl(addr);
	return ratelimiter_allow(r, (const struct sockaddr *)&in, sizeof(in), now);
}

static bool allow6(struct ratelimiter *r, uint8_t last, uint8_t eighth, uint64_t now)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };

	in6.sin6_addr.s6_addr[0] = 0xfd;
	in6.sin6_addr.s6_addr[7] = eighth;
	in6.sin6_addr.s6_addr[15] = last;
	return ratelimiter_allow(r, (const struct sockaddr *)&in6, sizeof(in6), now);
}

START_TEST(test_ratelimit)
{
	struct ratelimiter r;
	uint64_t t = T0 * NS;
	int i;

	ck_assert_int_eq(ratelimiter_init(&r), 0);
	for (i = 0; i < RATELIMIT_BURST; i++)
		ck_assert(allow4(&r, 0x0a630002, (uint16_t)(1000 + i), t));
	/* Spent, whatever the port. */
	ck_assert(!allow4(&r, 0x0a630002, 1, t));
	ck_assert(!allow4(&r, 0x0a630002, 2, t + NS / RATELIMIT_PER_S - 1));
	/* Another source has its own bucket. */
	ck_assert(allow4(&r, 0x0a630003, 1, t));
	/* One message's worth of time later, one more. */
	ck_assert(allow4(&r, 0x0a630002, 1, t + NS / RATELIMIT_PER_S));
	ck_assert(!allow4(&r, 0x0a630002, 1, t + NS / RATELIMIT_PER_S));
	/* Refills to the burst, no further. */
	t += 100 * NS;
	for (i = 0; i < RATELIMIT_BURST; i++)
		ck_assert(allow4(&r, 0x0a630002, 1, t));
	ck_assert(!allow4(&r, 0x0a630002, 1, t));
	/* IPv6: one /64 shares a bucket. */
	for (i = 0; i < RATELIMIT_BURST; i++)
		ck_assert(allow6(&r, (uint8_t)i, 1, t));
	ck_assert(!allow6(&r, 99, 1, t));
	ck_assert(allow6(&r, 99, 2, t));
	/* A flood of sources churns the table but breaks nothing. */
	for (uint32_t a = 0; a < 4 * RATELIMIT_TABLE; a++)
		ck_assert(allow4(&r, 0x0b000000 + a, 1, t));
	ck_assert_uint_eq(r.refused, 5);
	ratelimiter_free(&r);
}
END_TEST

Suite *suite_cookie(void)
{
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("cookie");

	tcase_add_loop_test(tc, test_mac1, 0, 2);
	tcase_add_loop_test(tc, test_cookie_exchange, 0, 2);
	tcase_add_test(tc, test_mac2_tampered);
	tcase_add_test(tc, test_reply_tampered);
	tcase_add_test(tc, test_cookie_expiry);
	tcase_add_test(tc, test_ratelimit);
	suite_add_tcase(s, tc);
	return s;
}
