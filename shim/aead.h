/*
 * shim/aead.h - the bulk AEAD of data and control messages:
 * ChaCha20-Poly1305 IETF (RFC 8439) from OpenSSL 3's libcrypto, whose
 * vectorised code seals and opens about 4x as fast as libsodium 1.0.18 on
 * the CPUs we run on (bench/bench_aead: 0.8 against 3.7 GB/s at 1408
 * bytes). The bytes on the wire are exactly those of libsodium's
 * crypto_aead_chacha20poly1305_ietf_{encrypt,decrypt}: ciphertext, then
 * the 16-byte tag; the 12-byte nonce is Noise's (noise_nonce).
 *
 * One context per session and direction, made when the session's keys are
 * installed: sealing and opening a packet allocates nothing. A context is
 * used by one thread at a time (the caller's lock or ownership).
 * libsodium keeps the handshake, keys, signatures and hashing.
 */
#ifndef CAPTUN_SHIM_AEAD_H
#define CAPTUN_SHIM_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aead_size {
	AEAD_KEY_LEN = 32,
	AEAD_NONCE_LEN = 12,
	AEAD_TAG_LEN = 16,
	AEAD_SMALL = 256,		/* shorter texts go through libsodium (aead.c) */
};

struct aead {
	void *ctx;			/* EVP_CIPHER_CTX; NULL: no key */
	size_t small;			/* shorter go through libsodium; AEAD_SMALL */
	uint8_t key[AEAD_KEY_LEN];	/* for those */
};

/*
 * Makes a (or re-keys an existing) context for one direction: encrypt for
 * sealing, else opening. Returns 0 or -ENOMEM / -EIO.
 */
int aead_init(struct aead *a, const uint8_t key[AEAD_KEY_LEN], bool encrypt);
/* Frees the context; its key schedule is cleansed. Safe on a zeroed one. */
void aead_free(struct aead *a);

/*
 * Seals len bytes at in into out (in == out allowed): len bytes of
 * ciphertext, then the tag. Returns 0 or -EIO.
 */
int aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
	      uint8_t *out);
/*
 * Opens len bytes at in (ciphertext then tag, len >= AEAD_TAG_LEN) into
 * out (in == out allowed): len - AEAD_TAG_LEN bytes of plaintext. False
 * if the tag does not verify (out then holds nothing to use).
 */
bool aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
	       uint8_t *out);

#endif
