/*
 * shim/noise.c - Noise_IK_25519_ChaChaPoly_BLAKE2b (noise.h), as the Noise
 * specification (revision 34) writes it:
 *
 *   HASH(x)        BLAKE2b, 64 bytes
 *   HMAC(k, x)     RFC 2104 over BLAKE2b, block 128 bytes
 *   HKDF(ck, ikm)  tk = HMAC(ck, ikm); o1 = HMAC(tk, 0x01);
 *                  o2 = HMAC(tk, o1 || 0x02)
 *   MixHash(d)     h = HASH(h || d)
 *   MixKey(ikm)    ck, k = HKDF(ck, ikm); k truncated to 32 bytes; n = 0
 *   Encrypt/Decrypt-AndHash   AEAD(k, n++, ad = h, x); MixHash(ciphertext)
 *   start          h = protocol name padded with zeros to 64; ck = h;
 *                  MixHash(prologue); MixHash(rs)   (IK's pre-message)
 *   message 1      e: MixHash(e.pub)   es: MixKey(DH(e, rs))
 *                  s: EncryptAndHash(s.pub)   ss: MixKey(DH(s, rs))
 *                  EncryptAndHash(payload)
 *   message 2      e: MixHash(e.pub)   ee: MixKey(DH(e, re))
 *                  se: MixKey(DH(e, rs) / DH(s, re))   EncryptAndHash(payload)
 *   Split()        k1, k2 = HKDF(ck, ""); initiator sends with k1
 *
 * In IK every cipher key encrypts once (n = 0), then is replaced by the
 * next MixKey; so the key lives only inside the message that uses it.
 * Keys, DH results and ephemeral secrets are wiped on every path.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "noise.h"

_Static_assert(NOISE_HASH_LEN == crypto_generichash_blake2b_BYTES_MAX, "hash length");
_Static_assert(NOISE_KEY_LEN == crypto_scalarmult_BYTES, "x25519 length");
_Static_assert(NOISE_KEY_LEN == crypto_scalarmult_SCALARBYTES, "x25519 scalar");
_Static_assert(NOISE_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "aead key");
_Static_assert(NOISE_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "aead tag");
_Static_assert(NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(sizeof(PROTO_CONSTRUCTION) - 1 <= NOISE_HASH_LEN, "name fits h unhashed");
_Static_assert(offsetof(struct proto_initiation, enc_timestamp) +
	       PROTO_TIMESTAMP_LEN + PROTO_TAG_LEN ==
	       offsetof(struct proto_initiation, ephemeral) + NOISE_MSG1_OVERHEAD +
	       PROTO_TIMESTAMP_LEN, "initiation = message 1 with a timestamp");
_Static_assert(offsetof(struct proto_response, enc_empty) + PROTO_TAG_LEN ==
	       offsetof(struct proto_response, ephemeral) + NOISE_MSG2_OVERHEAD,
	       "response = message 2 with no payload");

/* TAI64 label of the Unix epoch: 2^62 plus the 10 s TAI-UTC offset of 1970. */
#define TAI64_EPOCH (UINT64_C(0x4000000000000000) + 10)

/*
 * The SymmetricState one message works on. err is sticky: a helper whose
 * libsodium call fails sets it, and a message is committed only while it
 * is still zero.
 */
struct sym {
	uint8_t h[NOISE_HASH_LEN];
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
	int err;
};

/* Wipes the symmetric state on every exit of a message. */
static void sym_wipe(struct sym *s)
{
	sodium_memzero(s, sizeof(*s));
}

/* BLAKE2b-512 of a || b into out; 0 or -EIO (out then zero). */
static int hash2(uint8_t out[NOISE_HASH_LEN], const uint8_t *a, size_t a_len,
		 const uint8_t *b, size_t b_len)
{
	crypto_generichash_blake2b_state st;
	int rc = 0;

	if (crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN) != 0 ||
	    crypto_generichash_blake2b_update(&st, a, a_len) != 0 ||
	    crypto_generichash_blake2b_update(&st, b, b_len) != 0 ||
	    crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN) != 0) {
		sodium_memzero(out, NOISE_HASH_LEN);
		rc = -EIO;
	}
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/*
 * HMAC-BLAKE2b of a || b under key (RFC 2104): H((K ^ opad) || H((K ^ ipad)
 * || text)), K zero-padded to the 128-byte block. Noise's keys are never
 * longer than HASHLEN, so the "hash a long key" branch is not needed.
 * out may alias key or a.
 */
static int hmac(uint8_t out[NOISE_HASH_LEN], const uint8_t *key, size_t key_len,
		const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	crypto_generichash_blake2b_state st;
	uint8_t pad[NOISE_BLOCK_LEN], inner[NOISE_HASH_LEN];
	int rc = 0;

	if (key_len > NOISE_HASH_LEN)
		return -EINVAL;
	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	if (crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN) != 0 ||
	    crypto_generichash_blake2b_update(&st, pad, sizeof(pad)) != 0 ||
	    crypto_generichash_blake2b_update(&st, a, a_len) != 0 ||
	    crypto_generichash_blake2b_update(&st, b, b_len) != 0 ||
	    crypto_generichash_blake2b_final(&st, inner, sizeof(inner)) != 0)
		rc = -EIO;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	if (rc == 0 &&
	    (crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN) != 0 ||
	     crypto_generichash_blake2b_update(&st, pad, sizeof(pad)) != 0 ||
	     crypto_generichash_blake2b_update(&st, inner, sizeof(inner)) != 0 ||
	     crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN) != 0))
		rc = -EIO;
	if (rc < 0)
		sodium_memzero(out, NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	return rc;
}

/*
 * HKDF(ck, ikm) with two outputs, as Noise defines it. o1 may alias ck
 * (ck is read first); the temporary key and o1's copy are wiped.
 */
static void hkdf(struct sym *s, const uint8_t ck[NOISE_HASH_LEN],
		 const uint8_t *ikm, size_t ikm_len, uint8_t o1[NOISE_HASH_LEN],
		 uint8_t o2[NOISE_HASH_LEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t tk[NOISE_HASH_LEN], t1[NOISE_HASH_LEN];

	if (hmac(tk, ck, NOISE_HASH_LEN, ikm, ikm_len, NULL, 0) != 0 ||
	    hmac(t1, tk, sizeof(tk), &one, 1, NULL, 0) != 0 ||
	    hmac(o2, tk, sizeof(tk), t1, sizeof(t1), &two, 1) != 0)
		s->err = -EIO;
	memcpy(o1, t1, sizeof(t1));
	sodium_memzero(tk, sizeof(tk));
	sodium_memzero(t1, sizeof(t1));
}

static void mix_hash(struct sym *s, const uint8_t *data, size_t len)
{
	if (hash2(s->h, s->h, NOISE_HASH_LEN, data, len) != 0)
		s->err = -EIO;
}

static void mix_key(struct sym *s, const uint8_t *ikm, size_t len)
{
	uint8_t tk[NOISE_HASH_LEN];

	hkdf(s, s->ck, ikm, len, s->ck, tk);
	memcpy(s->k, tk, NOISE_KEY_LEN);	/* HASHLEN 64: truncated */
	s->n = 0;
	sodium_memzero(tk, sizeof(tk));
}

/*
 * DH then MixKey: a small-order peer key (all-zero output, which
 * crypto_scalarmult reports as -1) fails, so no known key enters ck.
 */
static int mix_dh(struct sym *s, const uint8_t sk[NOISE_KEY_LEN],
		  const uint8_t pk[NOISE_KEY_LEN])
{
	uint8_t dh[NOISE_KEY_LEN];
	int rc = 0;

	if (crypto_scalarmult(dh, sk, pk) != 0 || sodium_is_zero(dh, sizeof(dh)))
		rc = -EINVAL;
	else
		mix_key(s, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return rc < 0 ? rc : s->err;
}

/* EncryptAndHash: the ciphertext also joins h, so later messages bind it. */
static void seal(struct sym *s, const uint8_t *pt, size_t len, uint8_t *ct)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(s->n++, nonce);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, len, s->h,
						      NOISE_HASH_LEN, NULL,
						      nonce, s->k) != 0)
		s->err = -EIO;
	mix_hash(s, ct, len + NOISE_TAG_LEN);
}

/* DecryptAndHash: false on a bad tag (pt then zero). */
static bool open_ct(struct sym *s, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(s->n++, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, ct_len,
						      s->h, NOISE_HASH_LEN,
						      nonce, s->k) != 0) {
		sodium_memzero(pt, ct_len - NOISE_TAG_LEN);
		return false;
	}
	mix_hash(s, ct, ct_len);
	return s->err == 0;
}

/* The state a message continues from, as a handshake saved it. */
static void sym_load(struct sym *s, const struct noise_handshake *hs)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, hs->hash, NOISE_HASH_LEN);
	memcpy(s->ck, hs->chaining, NOISE_HASH_LEN);
}

/* Saves what a later message continues from (the key is not: IK remixes). */
static void sym_save(const struct sym *s, struct noise_handshake *hs)
{
	memcpy(hs->hash, s->h, NOISE_HASH_LEN);
	memcpy(hs->chaining, s->ck, NOISE_HASH_LEN);
}

/* The ephemeral: fixed (tests) or fresh; its public half derived. */
static int ephemeral_make(struct noise_handshake *hs, const uint8_t *e_sk)
{
	if (e_sk)
		memcpy(hs->e_sk, e_sk, NOISE_KEY_LEN);
	else
		randombytes_buf(hs->e_sk, NOISE_KEY_LEN);
	if (crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0) {
		sodium_memzero(hs->e_sk, NOISE_KEY_LEN);
		return -EIO;
	}
	return 0;
}

/* The "e" token: a fresh (or fixed) ephemeral, sent in the clear and hashed. */
static int write_e(struct sym *s, struct noise_handshake *hs, const uint8_t *e_sk,
		   uint8_t *out)
{
	int rc = ephemeral_make(hs, e_sk);

	if (rc < 0)
		return rc;
	memcpy(out, hs->e_pk, NOISE_KEY_LEN);
	mix_hash(s, hs->e_pk, NOISE_KEY_LEN);
	return 0;
}

int noise_static_init(struct noise_static *s, const uint8_t sk[NOISE_KEY_LEN])
{
	/* The public half is derived once, not per message. */
	if (sodium_init() < 0)
		return -ENOSYS;
	memcpy(s->sk, sk, NOISE_KEY_LEN);
	if (crypto_scalarmult_base(s->pk, s->sk) != 0) {
		noise_static_wipe(s);
		return -EINVAL;
	}
	return 0;
}

void noise_static_wipe(struct noise_static *s)
{
	sodium_memzero(s, sizeof(*s));
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	/* Ephemeral secret and chaining key must not outlive the handshake. */
	sodium_memzero(hs, sizeof(*hs));
}

void noise_keypair_wipe(struct noise_keypair *kp)
{
	/* Transport keys die with their session. */
	sodium_memzero(kp, sizeof(*kp));
}

void noise_nonce(uint64_t counter, uint8_t nonce[NOISE_NONCE_LEN])
{
	/* Noise's ChaChaPoly nonce: 32 zero bits, the counter little-endian. */
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

void noise_timestamp_now(uint8_t ts[PROTO_TIMESTAMP_LEN])
{
	/* TAI64N lets the responder refuse a replayed initiation by memcmp. */
	struct timespec now;
	uint64_t sec;
	uint32_t nsec;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec < 0) {
		/* All zero: older than any real timestamp, so it is refused. */
		memset(ts, 0, PROTO_TIMESTAMP_LEN);
		return;
	}
	sec = htobe64(TAI64_EPOCH + (uint64_t)now.tv_sec);
	nsec = htobe32((uint32_t)now.tv_nsec);
	memcpy(ts, &sec, sizeof(sec));
	memcpy(ts + sizeof(sec), &nsec, sizeof(nsec));
}

int noise_ik_start(struct noise_handshake *hs, const uint8_t *prologue,
		   size_t prologue_len, const uint8_t responder_pk[NOISE_KEY_LEN])
{
	/* The protocol name fits HASHLEN, so it is padded, not hashed. */
	static const char name[] = PROTO_CONSTRUCTION;
	struct sym s;
	int rc;

	memset(hs, 0, sizeof(*hs));
	memset(&s, 0, sizeof(s));
	memcpy(s.h, name, sizeof(name) - 1);
	memcpy(s.ck, s.h, NOISE_HASH_LEN);
	mix_hash(&s, prologue, prologue_len);
	mix_hash(&s, responder_pk, NOISE_KEY_LEN);
	rc = s.err;
	if (rc == 0) {
		sym_save(&s, hs);
		memcpy(hs->remote_static, responder_pk, NOISE_KEY_LEN);
	}
	sym_wipe(&s);
	return rc;
}

int noise_ik_write1(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *e_sk, const uint8_t *payload, size_t len,
		    uint8_t *out)
{
	/* -> e, es, s, ss, payload; hs keeps what the response needs. */
	const uint8_t *rs = hs->remote_static;
	struct sym s;
	int rc;

	sym_load(&s, hs);
	rc = write_e(&s, hs, e_sk, out);
	if (rc < 0)
		goto out;
	rc = mix_dh(&s, hs->e_sk, rs);
	if (rc < 0)
		goto out;
	seal(&s, local->pk, NOISE_KEY_LEN, out + NOISE_KEY_LEN);
	rc = mix_dh(&s, local->sk, rs);
	if (rc < 0)
		goto out;
	seal(&s, payload, len, out + 2 * NOISE_KEY_LEN + NOISE_TAG_LEN);
	rc = s.err;
	if (rc == 0)
		sym_save(&s, hs);
out:
	if (rc < 0) {
		sodium_memzero(hs->e_sk, NOISE_KEY_LEN);
		memset(out, 0, NOISE_MSG1_OVERHEAD + len);
	}
	sym_wipe(&s);
	return rc;
}

bool noise_ik_read1(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *msg, size_t len,
		    bool (*lookup)(void *arg, const uint8_t pk[NOISE_KEY_LEN]),
		    void *arg, uint8_t *payload)
{
	/*
	 * es and the initiator's static key first, then the lookup, so that
	 * an unknown key costs one DH only; then ss and the payload.
	 */
	uint8_t spk[NOISE_KEY_LEN];
	const uint8_t *re = msg;
	struct sym s;
	bool ok = false;

	if (len < NOISE_MSG1_OVERHEAD)
		return false;
	sym_load(&s, hs);
	mix_hash(&s, re, NOISE_KEY_LEN);
	if (mix_dh(&s, local->sk, re) < 0 ||
	    !open_ct(&s, msg + NOISE_KEY_LEN, NOISE_KEY_LEN + NOISE_TAG_LEN, spk) ||
	    !lookup(arg, spk) ||
	    mix_dh(&s, local->sk, spk) < 0 ||
	    !open_ct(&s, msg + 2 * NOISE_KEY_LEN + NOISE_TAG_LEN,
		     len - 2 * NOISE_KEY_LEN - NOISE_TAG_LEN, payload))
		goto out;
	sym_save(&s, hs);
	memcpy(hs->remote_e, re, NOISE_KEY_LEN);
	memcpy(hs->remote_static, spk, NOISE_KEY_LEN);
	ok = true;
out:
	sodium_memzero(spk, sizeof(spk));
	sym_wipe(&s);
	return ok;
}

int noise_ik_write2(struct noise_handshake *hs, const uint8_t *e_sk,
		    const uint8_t *payload, size_t len, uint8_t *out)
{
	/* <- e, ee, se, payload. */
	struct sym s;
	int rc;

	sym_load(&s, hs);
	rc = write_e(&s, hs, e_sk, out);
	if (rc < 0)
		goto out;
	rc = mix_dh(&s, hs->e_sk, hs->remote_e);
	if (rc == 0)
		rc = mix_dh(&s, hs->e_sk, hs->remote_static);
	if (rc < 0)
		goto out;
	seal(&s, payload, len, out + NOISE_KEY_LEN);
	rc = s.err;
	if (rc == 0)
		sym_save(&s, hs);
out:
	sodium_memzero(hs->e_sk, NOISE_KEY_LEN);
	if (rc < 0)
		memset(out, 0, NOISE_MSG2_OVERHEAD + len);
	sym_wipe(&s);
	return rc;
}

bool noise_ik_read2(struct noise_handshake *hs, const struct noise_static *local,
		    const uint8_t *msg, size_t len, uint8_t *payload)
{
	/* On a copy of the state: a forged response leaves hs intact. */
	const uint8_t *re = msg;
	struct sym s;
	bool ok = false;

	if (len < NOISE_MSG2_OVERHEAD)
		return false;
	sym_load(&s, hs);
	mix_hash(&s, re, NOISE_KEY_LEN);
	if (mix_dh(&s, hs->e_sk, re) < 0 || mix_dh(&s, local->sk, re) < 0 ||
	    !open_ct(&s, msg + NOISE_KEY_LEN, len - NOISE_KEY_LEN, payload))
		goto out;
	sym_save(&s, hs);
	memcpy(hs->remote_e, re, NOISE_KEY_LEN);
	ok = true;
out:
	sym_wipe(&s);
	return ok;
}

int noise_ik_split(const struct noise_handshake *hs, bool initiator,
		   uint8_t send[NOISE_KEY_LEN], uint8_t recv[NOISE_KEY_LEN])
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];
	struct sym s;
	int rc;

	sym_load(&s, hs);
	hkdf(&s, s.ck, NULL, 0, k1, k2);
	rc = s.err;
	if (rc == 0) {
		memcpy(initiator ? send : recv, k1, NOISE_KEY_LEN);
		memcpy(initiator ? recv : send, k2, NOISE_KEY_LEN);
	} else {
		sodium_memzero(send, NOISE_KEY_LEN);
		sodium_memzero(recv, NOISE_KEY_LEN);
	}
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sym_wipe(&s);
	return rc;
}

/* The first state of a captun handshake: our prologue, the responder's key. */
static int captun_start(struct noise_handshake *hs,
			const uint8_t responder_pk[NOISE_KEY_LEN])
{
	static const char prologue[] = PROTO_IDENTIFIER;

	return noise_ik_start(hs, (const uint8_t *)prologue, sizeof(prologue) - 1,
			      responder_pk);
}

int noise_initiation_create(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const uint8_t remote_pk[NOISE_KEY_LEN],
			    uint32_t local_index,
			    struct proto_initiation *out)
{
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = captun_start(hs, remote_pk);
	if (rc == 0) {
		noise_timestamp_now(ts);
		rc = noise_ik_write1(hs, local, NULL, ts, sizeof(ts), out->ephemeral);
	}
	if (rc < 0) {
		noise_handshake_wipe(hs);
		memset(out, 0, sizeof(*out));
	} else {
		out->type = PROTO_INITIATION;
		out->sender = htobe32(local_index);
		hs->local_index = local_index;
	}
	sodium_memzero(ts, sizeof(ts));
	return rc;
}

bool noise_initiation_consume(struct noise_handshake *hs,
			      const struct noise_static *local,
			      const struct proto_initiation *msg,
			      bool (*lookup)(void *arg, const uint8_t pk[NOISE_KEY_LEN]),
			      void *arg, uint8_t ts[PROTO_TIMESTAMP_LEN])
{
	static const uint8_t zero3[3];
	const size_t len = NOISE_MSG1_OVERHEAD + PROTO_TIMESTAMP_LEN;
	bool ok = false;

	memset(ts, 0, PROTO_TIMESTAMP_LEN);
	if (msg->type == PROTO_INITIATION &&
	    memcmp(msg->reserved, zero3, sizeof(zero3)) == 0 &&
	    captun_start(hs, local->pk) == 0 &&
	    noise_ik_read1(hs, local, msg->ephemeral, len, lookup, arg, ts)) {
		hs->remote_index = be32toh(msg->sender);
		ok = true;
	}
	if (!ok) {
		noise_handshake_wipe(hs);
		memset(ts, 0, PROTO_TIMESTAMP_LEN);
	}
	return ok;
}

int noise_response_create(struct noise_handshake *hs,
			  const struct noise_static *local,
			  uint32_t local_index, struct proto_response *out,
			  struct noise_keypair *kp)
{
	/* hs is spent either way: a second response from it would reuse nothing useful. */
	int rc;

	(void)local;
	memset(out, 0, sizeof(*out));
	memset(kp, 0, sizeof(*kp));
	rc = noise_ik_write2(hs, NULL, NULL, 0, out->ephemeral);
	if (rc == 0)
		rc = noise_ik_split(hs, false, kp->send, kp->recv);
	if (rc == 0) {
		out->type = PROTO_RESPONSE;
		out->sender = htobe32(local_index);
		out->receiver = htobe32(hs->remote_index);
		kp->local_index = local_index;
		kp->remote_index = hs->remote_index;
		kp->initiator = false;
	} else {
		memset(out, 0, sizeof(*out));
		noise_keypair_wipe(kp);
	}
	noise_handshake_wipe(hs);
	return rc;
}

bool noise_response_consume(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const struct proto_response *msg,
			    struct noise_keypair *kp)
{
	static const uint8_t zero3[3];
	struct noise_handshake next = *hs;
	uint8_t nothing[1];
	bool ok = false;

	if (msg->type != PROTO_RESPONSE ||
	    memcmp(msg->reserved, zero3, sizeof(zero3)) != 0 ||
	    be32toh(msg->receiver) != hs->local_index ||
	    !noise_ik_read2(&next, local, msg->ephemeral, NOISE_MSG2_OVERHEAD,
			    nothing) ||
	    noise_ik_split(&next, true, kp->send, kp->recv) < 0)
		goto out;
	kp->local_index = hs->local_index;
	kp->remote_index = be32toh(msg->sender);
	kp->initiator = true;
	noise_handshake_wipe(hs);
	ok = true;
out:
	noise_handshake_wipe(&next);
	return ok;
}
