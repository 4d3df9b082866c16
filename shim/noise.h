/*
 * shim/noise.h - the Noise IK handshake (proto.h) between two hosts'
 * static X25519 keys, from libsodium primitives only: X25519
 * (crypto_scalarmult), ChaCha20-Poly1305 IETF, and keyed BLAKE2b
 * (crypto_generichash) as the PRF of HKDF. No state outside the structs.
 *
 * Initiator:  noise_initiation_create -> send -> noise_response_consume
 * Responder:  noise_mac1_verify -> noise_initiation_consume (looks the
 *             static key up through a callback between the two DHs)
 *             -> noise_response_create
 * Both end with a struct noise_keypair of transport keys.
 */
#ifndef CAPTUN_SHIM_NOISE_H
#define CAPTUN_SHIM_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct noise_static {
	uint8_t pk[PROTO_KEY_LEN];
	uint8_t sk[PROTO_KEY_LEN];
	uint8_t mac1_key[PROTO_HASH_LEN];	/* HASH(LABEL_MAC1 || pk) */
};

/* One side's state between sending/receiving the initiation and the end. */
struct noise_handshake {
	uint8_t hash[PROTO_HASH_LEN];
	uint8_t chaining[PROTO_HASH_LEN];
	uint8_t e_pk[PROTO_KEY_LEN];
	uint8_t e_sk[PROTO_KEY_LEN];
	uint8_t remote_e[PROTO_KEY_LEN];
	uint8_t remote_static[PROTO_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
};

struct noise_keypair {
	uint8_t send[PROTO_KEY_LEN];
	uint8_t recv[PROTO_KEY_LEN];
	uint32_t local_index;		/* the index peers address us by */
	uint32_t remote_index;		/* the index we address the peer by */
	bool initiator;
};

/* Returns 0 or -errno; fills mac1_key. Wiped by noise_static_wipe. */
int noise_static_init(struct noise_static *s, const uint8_t sk[PROTO_KEY_LEN]);
void noise_static_wipe(struct noise_static *s);
void noise_handshake_wipe(struct noise_handshake *hs);
void noise_keypair_wipe(struct noise_keypair *kp);

/* mac1 key a sender uses towards a peer: HASH(LABEL_MAC1 || peer pk). */
void noise_mac1_key(const uint8_t peer_pk[PROTO_KEY_LEN],
		    uint8_t key[PROTO_HASH_LEN]);

/* The AEAD nonce of transport message number counter. */
void noise_nonce(uint64_t counter, uint8_t nonce[12]);

/* TAI64N of now, big-endian, so that memcmp orders timestamps. */
void noise_timestamp_now(uint8_t ts[PROTO_TIMESTAMP_LEN]);

/* Initiator: a fresh ephemeral, the message, and hs to await the response. */
int noise_initiation_create(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const uint8_t remote_pk[PROTO_KEY_LEN],
			    uint32_t local_index,
			    struct proto_initiation *out);

/* Responder's cheap check, before any DH: mac1 over the message so far. */
bool noise_mac1_verify(const struct noise_static *local, const void *msg,
		       size_t msg_len);

/*
 * Responder: es DH and decryption of the initiator's static key; then
 * lookup(arg, static_pk) decides whether that key belongs to a known peer
 * (false: stop before the second DH); then ss DH and the timestamp.
 * On success hs holds the state for noise_response_create, and ts the
 * initiator's timestamp (the caller rejects one not newer than the last).
 */
bool noise_initiation_consume(struct noise_handshake *hs,
			      const struct noise_static *local,
			      const struct proto_initiation *msg,
			      bool (*lookup)(void *arg, const uint8_t pk[PROTO_KEY_LEN]),
			      void *arg, uint8_t ts[PROTO_TIMESTAMP_LEN]);

/* Responder: the response message and the session's transport keys. */
int noise_response_create(struct noise_handshake *hs,
			  const struct noise_static *local,
			  uint32_t local_index, struct proto_response *out,
			  struct noise_keypair *kp);

/*
 * Initiator: checks mac1 and receiver index against hs, finishes the
 * handshake and derives the transport keys. hs is wiped on success.
 */
bool noise_response_consume(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const struct proto_response *msg,
			    struct noise_keypair *kp);

#endif
