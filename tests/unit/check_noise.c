/*
 * tests/unit/check_noise.c - shim/noise.h: the full IK handshake and its
 * transport keys, the peer lookup, tampered and forged messages,
 * small-order keys, TAI64N timestamps. (The published test vector is
 * check_noise_vector.c's; the macs and cookies check_cookie.c's.)
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "noise.h"
#include "suites.h"

enum {
	RESP_MAC1 = offsetof(struct proto_response, mac1),
	INIT_INDEX = 0x01020304,
	RESP_INDEX = 0xa0b0c0d0,
};

/* ---- fixture: two hosts and a lookup that knows one peer ------------- */

struct lookup_ctx {
	uint8_t known[PROTO_KEY_LEN];	/* the one key the lookup accepts */
	bool refuse;			/* refuse even that one */
	int calls;
	uint8_t seen[PROTO_KEY_LEN];	/* the key of the last call */
};

struct pair {
	struct noise_static ini, resp;
	struct lookup_ctx lk;
};

static void static_make(struct noise_static *s)
{
	uint8_t sk[PROTO_KEY_LEN];

	randombytes_buf(sk, sizeof(sk));
	ck_assert_int_eq(noise_static_init(s, sk), 0);
	sodium_memzero(sk, sizeof(sk));
}

static void pair_make(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	static_make(&p->ini);
	static_make(&p->resp);
	memcpy(p->lk.known, p->ini.pk, PROTO_KEY_LEN);
}

static bool lookup(void *arg, const uint8_t pk[PROTO_KEY_LEN])
{
	struct lookup_ctx *lk = arg;

	lk->calls++;
	memcpy(lk->seen, pk, PROTO_KEY_LEN);
	return !lk->refuse && memcmp(pk, lk->known, PROTO_KEY_LEN) == 0;
}

static bool all_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

static void initiation_make(struct pair *p, struct noise_handshake *hs,
			    struct proto_initiation *msg)
{
	ck_assert_int_eq(noise_initiation_create(hs, &p->ini, p->resp.pk,
						 INIT_INDEX, msg), 0);
}

static bool initiation_take(struct pair *p, const struct proto_initiation *msg,
			    struct noise_handshake *hs, uint8_t ts[PROTO_TIMESTAMP_LEN])
{
	return noise_initiation_consume(hs, &p->resp, msg, lookup, &p->lk, ts);
}

/* Initiation and response; the initiator's hs is left awaiting it. */
static void response_make(struct pair *p, struct noise_handshake *ihs,
			  struct proto_response *resp, struct noise_keypair *rkp)
{
	struct proto_initiation init;
	struct noise_handshake rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];

	initiation_make(p, ihs, &init);
	ck_assert(initiation_take(p, &init, &rhs, ts));
	ck_assert_int_eq(noise_response_create(&rhs, &p->resp, RESP_INDEX, resp, rkp), 0);
	ck_assert(all_zero(&rhs, sizeof(rhs)));
}

static void handshake_full(struct pair *p, struct noise_keypair *ikp,
			   struct noise_keypair *rkp)
{
	struct noise_handshake ihs;
	struct proto_response resp;

	response_make(p, &ihs, &resp, rkp);
	ck_assert(noise_response_consume(&ihs, &p->ini, &resp, ikp));
	ck_assert(all_zero(&ihs, sizeof(ihs)));
}

/* ---- keys ---------------------------------------------------------- */

START_TEST(test_static_init)
{
	uint8_t sk[PROTO_KEY_LEN], pk[PROTO_KEY_LEN];
	struct noise_static s;

	randombytes_buf(sk, sizeof(sk));
	ck_assert_int_eq(noise_static_init(&s, sk), 0);
	ck_assert_int_eq(crypto_scalarmult_base(pk, sk), 0);
	ck_assert_mem_eq(s.pk, pk, sizeof(pk));
	ck_assert_mem_eq(s.sk, sk, sizeof(sk));
	noise_static_wipe(&s);
	ck_assert(all_zero(&s, sizeof(s)));
}
END_TEST

START_TEST(test_handshake_keys)
{
	struct noise_keypair ikp, rkp, ikp2, rkp2;
	struct pair p;

	pair_make(&p);
	handshake_full(&p, &ikp, &rkp);
	ck_assert_mem_eq(ikp.send, rkp.recv, PROTO_KEY_LEN);
	ck_assert_mem_eq(ikp.recv, rkp.send, PROTO_KEY_LEN);
	ck_assert(memcmp(ikp.send, ikp.recv, PROTO_KEY_LEN) != 0);
	ck_assert(!all_zero(ikp.send, PROTO_KEY_LEN));
	ck_assert(!all_zero(ikp.recv, PROTO_KEY_LEN));
	ck_assert(ikp.initiator);
	ck_assert(!rkp.initiator);
	ck_assert_uint_eq(ikp.local_index, INIT_INDEX);
	ck_assert_uint_eq(ikp.remote_index, RESP_INDEX);
	ck_assert_uint_eq(rkp.local_index, RESP_INDEX);
	ck_assert_uint_eq(rkp.remote_index, INIT_INDEX);
	ck_assert_int_eq(p.lk.calls, 1);

	/* A second handshake between the same hosts: fresh keys. */
	handshake_full(&p, &ikp2, &rkp2);
	ck_assert_mem_eq(ikp2.send, rkp2.recv, PROTO_KEY_LEN);
	ck_assert_mem_eq(ikp2.recv, rkp2.send, PROTO_KEY_LEN);
	ck_assert(memcmp(ikp.send, ikp2.send, PROTO_KEY_LEN) != 0);
	ck_assert(memcmp(ikp.recv, ikp2.recv, PROTO_KEY_LEN) != 0);

	noise_keypair_wipe(&ikp);
	ck_assert(all_zero(&ikp, sizeof(ikp)));
}
END_TEST

START_TEST(test_wire_fields)
{
	struct noise_handshake ihs, rhs;
	struct proto_initiation init;
	struct proto_response resp;
	struct noise_keypair rkp;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct pair p;

	pair_make(&p);
	initiation_make(&p, &ihs, &init);
	ck_assert_uint_eq(init.type, PROTO_INITIATION);
	ck_assert(all_zero(init.reserved, sizeof(init.reserved)));
	ck_assert_uint_eq(be32toh(init.sender), INIT_INDEX);
	ck_assert_mem_eq(init.ephemeral, ihs.e_pk, PROTO_KEY_LEN);
	ck_assert(all_zero(init.mac1, sizeof(init.mac1)));
	ck_assert(all_zero(init.mac2, sizeof(init.mac2)));
	ck_assert_uint_eq(ihs.local_index, INIT_INDEX);
	ck_assert_mem_eq(ihs.remote_static, p.resp.pk, PROTO_KEY_LEN);

	ck_assert(initiation_take(&p, &init, &rhs, ts));
	ck_assert_uint_eq(rhs.remote_index, INIT_INDEX);
	ck_assert_mem_eq(rhs.remote_static, p.ini.pk, PROTO_KEY_LEN);
	ck_assert_mem_eq(rhs.remote_e, init.ephemeral, PROTO_KEY_LEN);
	ck_assert_mem_eq(rhs.hash, ihs.hash, NOISE_HASH_LEN);
	ck_assert_mem_eq(rhs.chaining, ihs.chaining, NOISE_HASH_LEN);

	ck_assert_int_eq(noise_response_create(&rhs, &p.resp, RESP_INDEX, &resp, &rkp), 0);
	ck_assert_uint_eq(resp.type, PROTO_RESPONSE);
	ck_assert(all_zero(resp.reserved, sizeof(resp.reserved)));
	ck_assert_uint_eq(be32toh(resp.sender), RESP_INDEX);
	ck_assert_uint_eq(be32toh(resp.receiver), INIT_INDEX);
	ck_assert(all_zero(resp.mac1, sizeof(resp.mac1)));
	ck_assert(all_zero(resp.mac2, sizeof(resp.mac2)));
}
END_TEST

/* One data packet each way: header as associated data, Noise's nonce. */
START_TEST(test_transport)
{
	static const uint8_t payload[] = "GET / HTTP/1.1\r\nHost: host2\r\n\r\n";
	struct noise_keypair kp[2];
	struct proto_data_hdr hdr;
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t ct[sizeof(payload) + PROTO_TAG_LEN], pt[sizeof(payload)];
	unsigned long long len;
	struct pair p;
	int from;

	pair_make(&p);
	handshake_full(&p, &kp[0], &kp[1]);
	for (from = 0; from < 2; from++) {
		const struct noise_keypair *tx = &kp[from], *rx = &kp[!from];

		memset(&hdr, 0, sizeof(hdr));
		hdr.type = PROTO_DATA;
		hdr.receiver = htobe32(tx->remote_index);
		hdr.counter = htobe64(7 + (uint64_t)from);
		hdr.epoch = htobe32(3);
		noise_nonce(7 + (uint64_t)from, nonce);
		ck_assert(all_zero(nonce, 4));
		ck_assert_uint_eq(nonce[4], 7 + from);	/* little-endian */
		ck_assert(all_zero(nonce + 5, 7));
		ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_encrypt(
			ct, &len, payload, sizeof(payload), (const uint8_t *)&hdr,
			sizeof(hdr), NULL, nonce, tx->send), 0);
		ck_assert_uint_eq(be32toh(hdr.receiver), rx->local_index);
		ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_decrypt(
			pt, &len, NULL, ct, sizeof(ct), (const uint8_t *)&hdr,
			sizeof(hdr), nonce, rx->recv), 0);
		ck_assert_uint_eq(len, sizeof(payload));
		ck_assert_mem_eq(pt, payload, sizeof(payload));
		/* Neither the sender's own receive key nor another epoch opens it. */
		ck_assert_int_ne(crypto_aead_chacha20poly1305_ietf_decrypt(
			pt, &len, NULL, ct, sizeof(ct), (const uint8_t *)&hdr,
			sizeof(hdr), nonce, tx->recv), 0);
		hdr.epoch = htobe32(4);
		ck_assert_int_ne(crypto_aead_chacha20poly1305_ietf_decrypt(
			pt, &len, NULL, ct, sizeof(ct), (const uint8_t *)&hdr,
			sizeof(hdr), nonce, rx->recv), 0);
	}
}
END_TEST

/* ---- initiation: the macs are not Noise's ------------------------ */

/*
 * The macs are outside the handshake (cookie.h checks them first): any
 * mac1 and mac2 pass noise_initiation_consume, and so does another sender
 * index (it is not in the handshake hash either, as in WireGuard).
 */
START_TEST(test_init_outside_noise)
{
	struct proto_initiation init;
	struct noise_handshake ihs, rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct pair p;

	pair_make(&p);
	initiation_make(&p, &ihs, &init);
	memset(init.mac1, 0x5a, sizeof(init.mac1));
	memset(init.mac2, 0xa5, sizeof(init.mac2));
	init.sender = htobe32(INIT_INDEX + 1);
	ck_assert(initiation_take(&p, &init, &rhs, ts));
	ck_assert_uint_eq(rhs.remote_index, INIT_INDEX + 1);
}
END_TEST

/* ---- initiation: the lookup and the wrong responder ---------------- */

START_TEST(test_init_unknown_static)
{
	struct proto_initiation init;
	struct noise_handshake ihs, rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct noise_static stranger;
	struct pair p;

	pair_make(&p);
	initiation_make(&p, &ihs, &init);
	p.lk.refuse = true;
	ck_assert(!initiation_take(&p, &init, &rhs, ts));
	ck_assert_int_eq(p.lk.calls, 1);
	ck_assert_mem_eq(p.lk.seen, p.ini.pk, PROTO_KEY_LEN);
	ck_assert(all_zero(&rhs, sizeof(rhs)));
	ck_assert(all_zero(ts, sizeof(ts)));

	/* A host the lookup does not know, with a valid message. */
	p.lk.refuse = false;
	static_make(&stranger);
	ck_assert_int_eq(noise_initiation_create(&ihs, &stranger, p.resp.pk,
						 INIT_INDEX, &init), 0);
	ck_assert(!initiation_take(&p, &init, &rhs, ts));
	ck_assert_int_eq(p.lk.calls, 2);
	ck_assert_mem_eq(p.lk.seen, stranger.pk, PROTO_KEY_LEN);
	noise_static_wipe(&stranger);
}
END_TEST

START_TEST(test_init_wrong_responder)
{
	struct proto_initiation init;
	struct noise_handshake ihs, rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct noise_static other;
	struct pair p;

	pair_make(&p);
	static_make(&other);
	initiation_make(&p, &ihs, &init);
	/* es does not open the static key for another host. */
	ck_assert(!noise_initiation_consume(&rhs, &other, &init, lookup, &p.lk, ts));
	ck_assert_int_eq(p.lk.calls, 0);
	ck_assert(all_zero(&rhs, sizeof(rhs)));
	noise_static_wipe(&other);
}
END_TEST

/* ---- initiation: tampered fields --------------------------------- */

struct field_case {
	const char *name;
	size_t off, len;
	int lookups;		/* lookup calls expected per tampered message */
};

static const struct field_case init_fields[] = {
	{ "type", offsetof(struct proto_initiation, type), 1, 0 },
	{ "reserved", offsetof(struct proto_initiation, reserved), 3, 0 },
	{ "ephemeral", offsetof(struct proto_initiation, ephemeral), PROTO_KEY_LEN, 0 },
	{ "enc_static", offsetof(struct proto_initiation, enc_static),
	  PROTO_KEY_LEN + PROTO_TAG_LEN, 0 },
	{ "enc_timestamp", offsetof(struct proto_initiation, enc_timestamp),
	  PROTO_TIMESTAMP_LEN + PROTO_TAG_LEN, 1 },
};

START_TEST(test_init_tampered)
{
	const struct field_case *f = &init_fields[_i];
	struct proto_initiation init, bad;
	struct noise_handshake ihs, rhs;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct pair p;
	size_t bit, n = 0;

	pair_make(&p);
	initiation_make(&p, &ihs, &init);
	for (bit = 0; bit < f->len * 8; bit++) {
		bad = init;
		((uint8_t *)&bad)[f->off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!initiation_take(&p, &bad, &rhs, ts),
			      "%s bit %zu accepted", f->name, bit);
		ck_assert(all_zero(&rhs, sizeof(rhs)));
		ck_assert(all_zero(ts, sizeof(ts)));
		n++;
	}
	ck_assert_int_eq(p.lk.calls, (int)n * f->lookups);
	ck_assert(initiation_take(&p, &init, &rhs, ts));
}
END_TEST

/* The same message twice decrypts twice: the timestamp check is the caller's. */
START_TEST(test_init_replayed)
{
	struct proto_initiation init;
	struct noise_handshake ihs, rhs;
	uint8_t ts1[PROTO_TIMESTAMP_LEN], ts2[PROTO_TIMESTAMP_LEN];
	struct pair p;

	pair_make(&p);
	initiation_make(&p, &ihs, &init);
	ck_assert(initiation_take(&p, &init, &rhs, ts1));
	ck_assert(initiation_take(&p, &init, &rhs, ts2));
	ck_assert_mem_eq(ts1, ts2, sizeof(ts1));
}
END_TEST

/* ---- small-order points -------------------------------------------- */

static const uint8_t small_order[][PROTO_KEY_LEN] = {
	{ 0 },							/* 0 */
	{ 1 },							/* 1 */
	{ [31] = 0x80 },					/* 0, top bit set */
	{ 1, [31] = 0x80 },					/* 1, top bit set */
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },	/* order 8 */
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },	/* order 8 */
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p - 1 */
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p */
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },	/* p + 1 */
};

START_TEST(test_small_order)
{
	const uint8_t *pt = small_order[_i];
	struct proto_initiation init;
	struct proto_response resp, bad;
	struct noise_handshake ihs, rhs, saved;
	struct noise_keypair ikp, rkp;
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct pair p;

	pair_make(&p);

	/* Initiation with a small-order ephemeral. */
	initiation_make(&p, &ihs, &init);
	memcpy(init.ephemeral, pt, PROTO_KEY_LEN);
	ck_assert(!initiation_take(&p, &init, &rhs, ts));
	ck_assert_int_eq(p.lk.calls, 0);

	/* Response with one. */
	response_make(&p, &ihs, &resp, &rkp);
	saved = ihs;
	bad = resp;
	memcpy(bad.ephemeral, pt, PROTO_KEY_LEN);
	ck_assert(!noise_response_consume(&ihs, &p.ini, &bad, &ikp));
	ck_assert_mem_eq(&ihs, &saved, sizeof(ihs));

	/* An initiation towards a small-order "static key". */
	ck_assert_int_eq(noise_initiation_create(&ihs, &p.ini, pt, INIT_INDEX, &init),
			 -EINVAL);
	ck_assert(all_zero(&ihs, sizeof(ihs)));
	ck_assert(all_zero(&init, sizeof(init)));
}
END_TEST

/* ---- response ------------------------------------------------------ */

START_TEST(test_resp_wrong_receiver)
{
	static const uint32_t wrong[] = { 0, INIT_INDEX + 1, INIT_INDEX ^ 0x80000000u,
					  UINT32_MAX, RESP_INDEX };
	struct noise_handshake ihs, saved;
	struct proto_response resp, bad;
	struct noise_keypair ikp, rkp;
	struct pair p;
	size_t i;

	pair_make(&p);
	response_make(&p, &ihs, &resp, &rkp);
	saved = ihs;
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		bad = resp;
		bad.receiver = htobe32(wrong[i]);
		ck_assert(!noise_response_consume(&ihs, &p.ini, &bad, &ikp));
		ck_assert_mem_eq(&ihs, &saved, sizeof(ihs));
	}
	/* The genuine response still completes the same pending handshake. */
	ck_assert(noise_response_consume(&ihs, &p.ini, &resp, &ikp));
	ck_assert_mem_eq(ikp.send, rkp.recv, PROTO_KEY_LEN);
}
END_TEST

/*
 * Every bit of the Noise part and the header fails, except the sender
 * index, which like WireGuard's is outside the handshake hash (mac1
 * covers it: a forger who could recompute mac1 gains nothing from it).
 */
START_TEST(test_resp_bitflip)
{
	const size_t sender = offsetof(struct proto_response, sender);
	struct noise_handshake ihs, saved;
	struct proto_response resp, bad;
	struct noise_keypair ikp, rkp;
	struct pair p;
	size_t bit;

	pair_make(&p);
	response_make(&p, &ihs, &resp, &rkp);
	saved = ihs;
	for (bit = 0; bit < RESP_MAC1 * 8; bit++) {
		size_t byte = bit / 8;

		if (byte >= sender && byte < sender + 4)
			continue;
		bad = resp;
		((uint8_t *)&bad)[byte] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!noise_response_consume(&ihs, &p.ini, &bad, &ikp),
			      "bit %zu accepted", bit);
		ck_assert_mem_eq(&ihs, &saved, sizeof(ihs));
	}
	ck_assert(noise_response_consume(&ihs, &p.ini, &resp, &ikp));
	ck_assert_mem_eq(ikp.recv, rkp.send, PROTO_KEY_LEN);
}
END_TEST

/* A response for another pending handshake with the same index fails. */
START_TEST(test_resp_other_handshake)
{
	struct noise_handshake ihs, other;
	struct proto_response resp;
	struct proto_initiation init;
	struct noise_keypair ikp, rkp;
	struct pair p;

	pair_make(&p);
	response_make(&p, &ihs, &resp, &rkp);
	initiation_make(&p, &other, &init);
	ck_assert_uint_eq(other.local_index, ihs.local_index);
	ck_assert(!noise_response_consume(&other, &p.ini, &resp, &ikp));
	ck_assert(noise_response_consume(&ihs, &p.ini, &resp, &ikp));
}
END_TEST

/* ---- timestamps ---------------------------------------------------- */

START_TEST(test_timestamp)
{
	static const struct timespec pause = { 0, 2000000 };
	struct timespec t0, t1;
	uint8_t prev[PROTO_TIMESTAMP_LEN], cur[PROTO_TIMESTAMP_LEN];
	struct proto_initiation init;
	struct noise_handshake ihs, rhs;
	uint8_t before[PROTO_TIMESTAMP_LEN], after[PROTO_TIMESTAMP_LEN];
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	uint64_t sec;
	uint32_t nsec;
	struct pair p;
	int i;

	/*
	 * Bracketed by the clock it reads: time(NULL) reads a coarser clock
	 * that can still show the previous second right after a boundary.
	 */
	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &t0), 0);
	noise_timestamp_now(prev);
	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &t1), 0);
	memcpy(&sec, prev, sizeof(sec));
	memcpy(&nsec, prev + 8, sizeof(nsec));
	sec = be64toh(sec);
	ck_assert_uint_eq(sec >> 62, 1);
	sec &= (UINT64_C(1) << 62) - 1;
	ck_assert_uint_ge(sec, (uint64_t)t0.tv_sec + 10);	/* label: 2^62 + 10 + Unix time */
	ck_assert_uint_le(sec, (uint64_t)t1.tv_sec + 10);
	ck_assert_uint_lt(be32toh(nsec), 1000000000u);
	for (i = 0; i < 1000; i++) {
		noise_timestamp_now(cur);
		ck_assert(memcmp(prev, cur, sizeof(cur)) <= 0);
		memcpy(prev, cur, sizeof(cur));
	}
	ck_assert_int_eq(nanosleep(&pause, NULL), 0);
	noise_timestamp_now(cur);
	ck_assert(memcmp(prev, cur, sizeof(cur)) < 0);

	/* The responder gets the one the initiator took. */
	pair_make(&p);
	noise_timestamp_now(before);
	initiation_make(&p, &ihs, &init);
	noise_timestamp_now(after);
	ck_assert(initiation_take(&p, &init, &rhs, ts));
	ck_assert(memcmp(before, ts, sizeof(ts)) <= 0);
	ck_assert(memcmp(ts, after, sizeof(ts)) <= 0);
}
END_TEST

Suite *suite_noise(void)
{
	Suite *s = suite_create("noise");
	TCase *tc = tcase_create("handshake");

	tcase_add_test(tc, test_static_init);
	tcase_add_test(tc, test_handshake_keys);
	tcase_add_test(tc, test_wire_fields);
	tcase_add_test(tc, test_transport);
	tcase_add_test(tc, test_init_outside_noise);
	tcase_add_test(tc, test_init_unknown_static);
	tcase_add_test(tc, test_init_wrong_responder);
	tcase_add_loop_test(tc, test_init_tampered, 0,
			    (int)(sizeof(init_fields) / sizeof(init_fields[0])));
	tcase_add_test(tc, test_init_replayed);
	tcase_add_loop_test(tc, test_small_order, 0,
			    (int)(sizeof(small_order) / sizeof(small_order[0])));
	tcase_add_test(tc, test_resp_wrong_receiver);
	tcase_add_test(tc, test_resp_bitflip);
	tcase_add_test(tc, test_resp_other_handshake);
	tcase_add_test(tc, test_timestamp);
	suite_add_tcase(s, tc);
	return s;
}
