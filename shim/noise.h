/*
 * shim/noise.h - Noise_IK_25519_ChaChaPoly_BLAKE2b, exactly as the Noise
 * Protocol Framework (revision 34) defines it, from libsodium primitives
 * only: X25519 (crypto_scalarmult), ChaCha20-Poly1305 IETF with the Noise
 * nonce (32 zero bits, then the 64-bit counter little-endian), BLAKE2b-512
 * as HASH (HASHLEN 64), HMAC-BLAKE2b (RFC 2104, block 128 bytes) and the
 * Noise HKDF over it. No state outside the structs.
 *
 * Two layers:
 *
 *  - the pattern core (noise_ik_*), generic: any prologue, any payloads,
 *    and an ephemeral key that a test may fix. tests/unit/check_noise.c
 *    proves it against a published vector (fixed ephemerals, prologue,
 *    handshake hash and every transport message).
 *  - captun's handshake messages around it, in WireGuard's shape
 *    (proto.h): indices, the first message's payload a TAI64N timestamp,
 *    the second's empty, prologue PROTO_IDENTIFIER. mac1 and mac2 are
 *    outside Noise (cookie.h adds and checks them).
 *
 * Initiator:  noise_initiation_create -> send -> noise_response_consume
 * Responder:  (macs checked) -> noise_initiation_consume (looks the static
 *             key up through a callback between the two DHs)
 *             -> noise_response_create
 * Both end with a struct noise_keypair of transport keys (Split()).
 */
#ifndef CAPTUN_SHIM_NOISE_H
#define CAPTUN_SHIM_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum noise_size {
	NOISE_HASH_LEN = 64,		/* BLAKE2b */
	NOISE_BLOCK_LEN = 128,		/* BLAKE2b's block, for HMAC */
	NOISE_KEY_LEN = 32,		/* DHLEN and the cipher key */
	NOISE_TAG_LEN = 16,
	NOISE_NONCE_LEN = 12,
	/* The IK messages around a payload of n bytes. */
	NOISE_MSG1_OVERHEAD = NOISE_KEY_LEN + NOISE_KEY_LEN + NOISE_TAG_LEN +
			      NOISE_TAG_LEN,	/* e, s, payload tag */
	NOISE_MSG2_OVERHEAD = NOISE_KEY_LEN + NOISE_TAG_LEN,	/* e, payload tag */
};

_Static_assert((int)NOISE_KEY_LEN == (int)PROTO_KEY_LEN, "key length");
_Static_assert((int)NOISE_TAG_LEN == (int)PROTO_TAG_LEN, "tag length");

struct noise_static {
	uint8_t pk[NOISE_KEY_LEN];
	uint8_t sk[NOISE_KEY_LEN];
};

/*
 * One side's HandshakeState between messages: h and ck of the symmetric
 * state (the cipher key never outlives the message it encrypts in IK),
 * the local ephemeral and what is known of the remote.
 */
struct noise_handshake {
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining[NOISE_HASH_LEN];
	uint8_t e_pk[NOISE_KEY_LEN];
	uint8_t e_sk[NOISE_KEY_LEN];
	uint8_t remote_e[NOISE_KEY_LEN];
	uint8_t remote_static[NOISE_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
};

struct noise_keypair {
	uint8_t send[NOISE_KEY_LEN];
	uint8_t recv[NOISE_KEY_LEN];
	uint32_t local_index;		/* the index peers address us by */
	uint32_t remote_index;		/* the index we address the peer by */
	bool initiator;
};

/* Returns 0 or -errno. Wiped by noise_static_wipe. */
int noise_static_init(struct noise_static *s, const uint8_t sk[NOISE_KEY_LEN]);
void noise_static_wipe(struct noise_static *s);
void noise_handshake_wipe(struct noise_handshake *hs);
void noise_keypair_wipe(struct noise_keypair *kp);

/* The Noise nonce of transport message number counter. */
void noise_nonce(uint64_t counter, uint8_t nonce[NOISE_NONCE_LEN]);

/* TAI64N of now, big-endian, so that memcmp orders timestamps. */
void noise_timestamp_now(uint8_t ts[PROTO_TIMESTAMP_LEN]);

/* ---- the IK pattern ----------------------------------------------------
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss     message 1: e(32) || ENC(s)(48) || ENC(payload)
 *   <- e, ee, se        message 2: e(32) || ENC(payload)
 *
 * e_sk NULL draws a fresh ephemeral; tests pass a fixed one. Every
 * all-zero DH output (a small-order point) fails the message. On failure
 * a write leaves out zeroed and a read leaves hs as it was (so that a
 * forged message cannot spoil the state the genuine one needs).
 */

/*
 * InitializeSymmetric, MixHash(prologue), MixHash(rs): either side. The
 * responder's key is also kept in hs->remote_static, which is what the
 * initiator needs; the responder's read1 replaces it with the initiator's.
 */
int noise_ik_start(struct noise_handshake *hs, const uint8_t *prologue,
		   size_t prologue_len, const uint8_t responder_pk[NOISE_KEY_LEN]);
/* Initiator: out gets NOISE_MSG1_OVERHEAD + len bytes. */
int noise_ik_write1(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *e_sk, const uint8_t *payload, size_t len,
		    uint8_t *out);
/*
 * Responder: msg of len >= NOISE_MSG1_OVERHEAD bytes; after the initiator's
 * static key is decrypted, lookup(arg, pk) says whether it is known (false
 * stops before the second DH). payload gets len - NOISE_MSG1_OVERHEAD.
 */
bool noise_ik_read1(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *msg, size_t len,
		    bool (*lookup)(void *arg, const uint8_t pk[NOISE_KEY_LEN]),
		    void *arg, uint8_t *payload);
/* Responder: out gets NOISE_MSG2_OVERHEAD + len bytes. */
int noise_ik_write2(struct noise_handshake *hs, const uint8_t *e_sk,
		    const uint8_t *payload, size_t len, uint8_t *out);
/* Initiator: payload gets len - NOISE_MSG2_OVERHEAD bytes. */
bool noise_ik_read2(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *msg, size_t len, uint8_t *payload);
/* Split(): the two transport keys, oriented for this side. */
int noise_ik_split(const struct noise_handshake *hs, bool initiator,
		   uint8_t send[NOISE_KEY_LEN], uint8_t recv[NOISE_KEY_LEN]);

/* ---- captun's messages (proto.h) ------------------------------------ */

/* Initiator: a fresh ephemeral, the message (macs zero), hs to await the response. */
int noise_initiation_create(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const uint8_t remote_pk[NOISE_KEY_LEN],
			    uint32_t local_index,
			    struct proto_initiation *out);

/*
 * Responder, once the macs passed: type and reserved bytes, es and the
 * initiator's static key, then lookup(arg, static_pk) (false: stop before
 * the second DH), then ss and the timestamp. On success hs holds the
 * state for noise_response_create, and ts the initiator's timestamp (the
 * caller refuses one not newer than the last).
 */
bool noise_initiation_consume(struct noise_handshake *hs,
			      const struct noise_static *local,
			      const struct proto_initiation *msg,
			      bool (*lookup)(void *arg, const uint8_t pk[NOISE_KEY_LEN]),
			      void *arg, uint8_t ts[PROTO_TIMESTAMP_LEN]);

/* Responder: the response (macs zero) and the session's transport keys; hs is spent. */
int noise_response_create(struct noise_handshake *hs,
			  const struct noise_static *local,
			  uint32_t local_index, struct proto_response *out,
			  struct noise_keypair *kp);

/*
 * Initiator, once the macs passed: checks type, reserved bytes and the
 * receiver index against hs, finishes the handshake and derives the
 * transport keys. hs is wiped on success, untouched on failure.
 */
bool noise_response_consume(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const struct proto_response *msg,
			    struct noise_keypair *kp);

#endif
