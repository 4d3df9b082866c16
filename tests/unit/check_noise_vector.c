/*
 * tests/unit/check_noise_vector.c - shim/noise.h's IK core against the
 * published test vector of Noise_IK_25519_ChaChaPoly_BLAKE2b (cacophony's,
 * copied to tests/vectors/): both static keys, both fixed ephemerals, the
 * prologue, every handshake message with its payload, the handshake hash
 * and every transport message after Split(), each way. Then a bit flipped
 * anywhere in either handshake message must fail it.
 *
 * The file is found through CAPTUN_TEST_VECTORS (a directory) or, by
 * default, the source tree's tests/vectors, compiled in (tests.mk).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "noise.h"
#include "suites.h"

#ifndef TEST_VECTOR_DIR
#define TEST_VECTOR_DIR "tests/vectors"
#endif

#define VECTOR_FILE "noise-ik-25519-chachapoly-blake2b.json"

enum {
	HEX_MAX = 1024,			/* bytes of the longest field */
	TRANSPORT_MIN = 4,		/* messages after the handshake */
};

struct vec {
	uint8_t init_prologue[HEX_MAX], resp_prologue[HEX_MAX];
	size_t init_prologue_len, resp_prologue_len;
	uint8_t init_static[32], init_ephemeral[32], init_remote_static[32];
	uint8_t resp_static[32], resp_ephemeral[32];
	uint8_t hash[NOISE_HASH_LEN];
	size_t nmsg;
	struct {
		uint8_t payload[HEX_MAX], ct[HEX_MAX];
		size_t payload_len, ct_len;
	} msg[16];
};

/* Hex field of o into out; its length. Fails the test if absent or bad. */
static size_t hex(json_t *o, const char *key, uint8_t *out, size_t cap)
{
	const char *text = json_string_value(json_object_get(o, key));
	size_t len = 0;

	ck_assert_msg(text != NULL, "vector field %s missing", key);
	ck_assert_msg(sodium_hex2bin(out, cap, text, strlen(text), NULL, &len, NULL) == 0,
		      "vector field %s is not hex", key);
	return len;
}

static void hex_exact(json_t *o, const char *key, uint8_t *out, size_t want)
{
	ck_assert_uint_eq(hex(o, key, out, want), want);
}

static void vec_load(struct vec *v)
{
	const char *dir = getenv("CAPTUN_TEST_VECTORS");
	char path[4096];
	json_error_t err;
	json_t *root, *o, *msgs, *m;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : TEST_VECTOR_DIR,
		 VECTOR_FILE);
	root = json_load_file(path, 0, &err);
	ck_assert_msg(root != NULL, "%s: %s", path, err.text);
	ck_assert_uint_eq(json_array_size(json_object_get(root, "vectors")), 1);
	o = json_array_get(json_object_get(root, "vectors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "protocol_name")),
			 PROTO_CONSTRUCTION);
	memset(v, 0, sizeof(*v));
	v->init_prologue_len = hex(o, "init_prologue", v->init_prologue, HEX_MAX);
	v->resp_prologue_len = hex(o, "resp_prologue", v->resp_prologue, HEX_MAX);
	hex_exact(o, "init_static", v->init_static, 32);
	hex_exact(o, "init_ephemeral", v->init_ephemeral, 32);
	hex_exact(o, "init_remote_static", v->init_remote_static, 32);
	hex_exact(o, "resp_static", v->resp_static, 32);
	hex_exact(o, "resp_ephemeral", v->resp_ephemeral, 32);
	hex_exact(o, "handshake_hash", v->hash, NOISE_HASH_LEN);
	msgs = json_object_get(o, "messages");
	ck_assert_uint_ge(json_array_size(msgs), 2 + TRANSPORT_MIN);
	ck_assert_uint_le(json_array_size(msgs), sizeof(v->msg) / sizeof(v->msg[0]));
	json_array_foreach(msgs, i, m) {
		v->msg[i].payload_len = hex(m, "payload", v->msg[i].payload, HEX_MAX);
		v->msg[i].ct_len = hex(m, "ciphertext", v->msg[i].ct, HEX_MAX);
	}
	v->nmsg = json_array_size(msgs);
	json_decref(root);
}

struct sides {
	struct noise_static ini, resp;
	struct noise_handshake ihs, rhs;
};

static bool lookup(void *arg, const uint8_t pk[NOISE_KEY_LEN])
{
	const struct sides *sd = arg;

	return memcmp(pk, sd->ini.pk, NOISE_KEY_LEN) == 0;
}

/* Both sides ready for message 1. */
static void sides_start(struct sides *sd, const struct vec *v)
{
	ck_assert_int_eq(noise_static_init(&sd->ini, v->init_static), 0);
	ck_assert_int_eq(noise_static_init(&sd->resp, v->resp_static), 0);
	ck_assert_mem_eq(sd->resp.pk, v->init_remote_static, 32);
	ck_assert_int_eq(noise_ik_start(&sd->ihs, v->init_prologue, v->init_prologue_len,
					v->init_remote_static), 0);
	ck_assert_int_eq(noise_ik_start(&sd->rhs, v->resp_prologue, v->resp_prologue_len,
					sd->resp.pk), 0);
}

/* The whole vector, message by message. */
START_TEST(test_vector)
{
	static struct vec v;
	struct sides sd;
	uint8_t out[HEX_MAX], pt[HEX_MAX];
	uint8_t isend[32], irecv[32], rsend[32], rrecv[32];
	uint64_t n_ini = 0, n_resp = 0;

	vec_load(&v);
	sides_start(&sd, &v);

	/* -> e, es, s, ss, payload */
	ck_assert_uint_eq(v.msg[0].ct_len, NOISE_MSG1_OVERHEAD + v.msg[0].payload_len);
	ck_assert_int_eq(noise_ik_write1(&sd.ihs, &sd.ini, v.init_ephemeral,
					 v.msg[0].payload, v.msg[0].payload_len, out), 0);
	ck_assert_mem_eq(out, v.msg[0].ct, v.msg[0].ct_len);
	ck_assert(noise_ik_read1(&sd.rhs, &sd.resp, v.msg[0].ct, v.msg[0].ct_len,
				 lookup, &sd, pt));
	ck_assert_mem_eq(pt, v.msg[0].payload, v.msg[0].payload_len);
	ck_assert_mem_eq(sd.rhs.remote_static, sd.ini.pk, 32);

	/* <- e, ee, se, payload */
	ck_assert_uint_eq(v.msg[1].ct_len, NOISE_MSG2_OVERHEAD + v.msg[1].payload_len);
	ck_assert_int_eq(noise_ik_write2(&sd.rhs, v.resp_ephemeral, v.msg[1].payload,
					 v.msg[1].payload_len, out), 0);
	ck_assert_mem_eq(out, v.msg[1].ct, v.msg[1].ct_len);
	ck_assert(noise_ik_read2(&sd.ihs, &sd.ini, v.msg[1].ct, v.msg[1].ct_len, pt));
	ck_assert_mem_eq(pt, v.msg[1].payload, v.msg[1].payload_len);

	/* The handshake hash both sides end with. */
	ck_assert_mem_eq(sd.ihs.hash, v.hash, NOISE_HASH_LEN);
	ck_assert_mem_eq(sd.rhs.hash, v.hash, NOISE_HASH_LEN);

	/* Split(), then the transport messages, alternating from the initiator. */
	ck_assert_int_eq(noise_ik_split(&sd.ihs, true, isend, irecv), 0);
	ck_assert_int_eq(noise_ik_split(&sd.rhs, false, rsend, rrecv), 0);
	ck_assert_mem_eq(isend, rrecv, 32);
	ck_assert_mem_eq(irecv, rsend, 32);
	for (size_t i = 2; i < v.nmsg; i++) {
		bool from_ini = i % 2 == 0;
		uint64_t *n = from_ini ? &n_ini : &n_resp;
		uint8_t nonce[NOISE_NONCE_LEN];
		unsigned long long len = 0;

		noise_nonce(*n, nonce);
		ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_encrypt(
			out, &len, v.msg[i].payload, v.msg[i].payload_len, NULL, 0,
			NULL, nonce, from_ini ? isend : rsend), 0);
		ck_assert_uint_eq(len, v.msg[i].ct_len);
		ck_assert_msg(memcmp(out, v.msg[i].ct, len) == 0,
			      "transport message %zu differs", i);
		ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_decrypt(
			pt, &len, NULL, v.msg[i].ct, v.msg[i].ct_len, NULL, 0, nonce,
			from_ini ? rrecv : irecv), 0);
		ck_assert_uint_eq(len, v.msg[i].payload_len);
		ck_assert_mem_eq(pt, v.msg[i].payload, len);
		(*n)++;
	}
	noise_handshake_wipe(&sd.ihs);
	noise_handshake_wipe(&sd.rhs);
	noise_static_wipe(&sd.ini);
	noise_static_wipe(&sd.resp);
}
END_TEST

/*
 * One bit flipped anywhere in message 1 fails the responder, and in
 * message 2 the initiator, leaving its state as it was.
 */
START_TEST(test_vector_tampered)
{
	static struct vec v;
	struct sides sd;
	struct noise_handshake saved;
	uint8_t bad[HEX_MAX], pt[HEX_MAX], out[HEX_MAX];

	vec_load(&v);
	for (size_t bit = 0; bit < v.msg[0].ct_len * 8; bit++) {
		sides_start(&sd, &v);
		memcpy(bad, v.msg[0].ct, v.msg[0].ct_len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		saved = sd.rhs;
		ck_assert_msg(!noise_ik_read1(&sd.rhs, &sd.resp, bad, v.msg[0].ct_len,
					      lookup, &sd, pt), "message 1 bit %zu", bit);
		ck_assert_mem_eq(&saved, &sd.rhs, sizeof(saved));
	}
	sides_start(&sd, &v);
	ck_assert_int_eq(noise_ik_write1(&sd.ihs, &sd.ini, v.init_ephemeral,
					 v.msg[0].payload, v.msg[0].payload_len, out), 0);
	ck_assert(noise_ik_read1(&sd.rhs, &sd.resp, out, v.msg[0].ct_len, lookup, &sd, pt));
	saved = sd.ihs;
	for (size_t bit = 0; bit < v.msg[1].ct_len * 8; bit++) {
		memcpy(bad, v.msg[1].ct, v.msg[1].ct_len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!noise_ik_read2(&sd.ihs, &sd.ini, bad, v.msg[1].ct_len, pt),
			      "message 2 bit %zu", bit);
		ck_assert_mem_eq(&saved, &sd.ihs, sizeof(saved));
	}
	ck_assert(noise_ik_read2(&sd.ihs, &sd.ini, v.msg[1].ct, v.msg[1].ct_len, pt));
	ck_assert_mem_eq(sd.ihs.hash, v.hash, NOISE_HASH_LEN);
}
END_TEST

Suite *suite_noise_vector(void)
{
	Suite *s = suite_create("noise_vector");
	TCase *tc = tcase_create("vector");

	tcase_add_test(tc, test_vector);
	tcase_add_test(tc, test_vector_tampered);
	suite_add_tcase(s, tc);
	return s;
}
