/*
 * shim/noise.c - the Noise IK handshake of proto.h (noise.h), in the
 * message shape of WireGuard without its pre-shared-key step:
 *
 *   HASH(x)      BLAKE2b-256
 *   PRF(k, x)    keyed BLAKE2b-256 (stands in for HMAC in HKDF)
 *   HKDF(C, x)   PRK = PRF(C, x); T1 = PRF(PRK, 0x01); T2 = PRF(PRK, T1 || 0x02)
 *   AEAD         ChaCha20-Poly1305 IETF, nonce 0 (each key encrypts once),
 *                the running hash H as associated data
 *   MAC(k, x)    keyed BLAKE2b-128
 *
 *   C = HASH(CONSTRUCTION); H = HASH(C || IDENTIFIER); H = HASH(H || S_r)
 *   initiation:  e   H = HASH(H || E_i)
 *                es  (C, k) = HKDF2(C, DH(E_i, S_r)); static = AEAD(k, S_i, H)
 *                s   H = HASH(H || static)
 *                ss  (C, k) = HKDF2(C, DH(S_i, S_r)); ts = AEAD(k, TAI64N, H)
 *                    H = HASH(H || ts)
 *   response:    e   H = HASH(H || E_r)
 *                ee  C = HKDF1(C, DH(E_r, E_i))
 *                se  (C, k) = HKDF2(C, DH(E_r, S_i)); empty = AEAD(k, "", H)
 *                    H = HASH(H || empty)
 *   keys:        (initiator send, initiator recv) = HKDF2(C, "")
 *
 * The "e" tokens only mix the key into H, as Noise IK does: WireGuard's
 * extra C = KDF1(C, E) belongs to its psk2 mode, which captun leaves out.
 * Every DH output that is all zero (a small-order point) fails the
 * handshake. Keys, DH results and ephemeral secrets are wiped on every path.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "noise.h"

_Static_assert(PROTO_HASH_LEN == crypto_generichash_BYTES, "hash length");
_Static_assert(PROTO_KEY_LEN == crypto_scalarmult_BYTES, "x25519 length");
_Static_assert(PROTO_KEY_LEN == crypto_scalarmult_SCALARBYTES, "x25519 scalar");
_Static_assert(PROTO_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "aead key");
_Static_assert(PROTO_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "aead tag");
_Static_assert(PROTO_MAC_LEN >= crypto_generichash_BYTES_MIN, "mac length");
_Static_assert(PROTO_HASH_LEN >= crypto_generichash_KEYBYTES_MIN &&
	       PROTO_HASH_LEN <= crypto_generichash_KEYBYTES_MAX, "prf key length");

enum noise_offsets {
	INIT_MAC1_OFF = offsetof(struct proto_initiation, mac1),
	RESP_MAC1_OFF = offsetof(struct proto_response, mac1),
};

/* TAI64 label of the Unix epoch: 2^62 plus the 10 s TAI-UTC offset of 1970. */
#define TAI64_EPOCH (UINT64_C(0x4000000000000000) + 10)

/*
 * The symmetric state both sides carry through one message. err is
 * sticky: a helper whose libsodium call fails sets it, and a message is
 * only ever committed when it is still zero.
 */
struct sym {
	uint8_t h[PROTO_HASH_LEN];
	uint8_t ck[PROTO_HASH_LEN];
	int err;
};

/* Wipes the symmetric state on every exit of a message. */
static void sym_wipe(struct sym *s)
{
	sodium_memzero(s, sizeof(*s));
}

/* Keyed or plain BLAKE2b of a || b into out; 0 or -EIO. */
static int hash2(uint8_t *out, size_t out_len, const uint8_t *key,
		 size_t key_len, const uint8_t *a, size_t a_len,
		 const uint8_t *b, size_t b_len)
{
	crypto_generichash_state st;
	int rc = 0;

	if (crypto_generichash_init(&st, key, key_len, out_len) != 0 ||
	    crypto_generichash_update(&st, a, a_len) != 0 ||
	    crypto_generichash_update(&st, b, b_len) != 0 ||
	    crypto_generichash_final(&st, out, out_len) != 0) {
		sodium_memzero(out, out_len);
		rc = -EIO;
	}
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/* h = HASH(h || data): binds everything sent so far to what follows. */
static void mix_hash(struct sym *s, const uint8_t *data, size_t len)
{
	if (hash2(s->h, PROTO_HASH_LEN, NULL, 0, s->h, PROTO_HASH_LEN,
		  data, len) != 0)
		s->err = -EIO;
}

/*
 * HKDF with keyed BLAKE2b-256 as PRF: t1 and t2 from the chaining key and
 * the input. t1 may alias ck (read first); PRK and T1's copy are wiped.
 */
static void hkdf(struct sym *s, const uint8_t ck[PROTO_HASH_LEN],
		 const uint8_t *in, size_t in_len, uint8_t t1[PROTO_HASH_LEN],
		 uint8_t t2[PROTO_HASH_LEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t prk[PROTO_HASH_LEN], a[PROTO_HASH_LEN];

	if (hash2(prk, sizeof(prk), ck, PROTO_HASH_LEN, in, in_len, NULL, 0) != 0 ||
	    hash2(a, sizeof(a), prk, sizeof(prk), &one, 1, NULL, 0) != 0 ||
	    hash2(t2, PROTO_HASH_LEN, prk, sizeof(prk), a, sizeof(a), &two, 1) != 0)
		s->err = -EIO;
	memcpy(t1, a, sizeof(a));
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(a, sizeof(a));
}

/*
 * X25519 then MixKey: a small-order peer key (all-zero output, which
 * crypto_scalarmult reports as -1) fails, so no known key ever enters C.
 * k may be NULL when the message does not encrypt under the new key.
 */
static int mix_dh(struct sym *s, uint8_t k[PROTO_KEY_LEN],
		  const uint8_t sk[PROTO_KEY_LEN], const uint8_t pk[PROTO_KEY_LEN])
{
	uint8_t dh[PROTO_KEY_LEN];
	uint8_t unused[PROTO_HASH_LEN];
	int rc = 0;

	if (crypto_scalarmult(dh, sk, pk) != 0 || sodium_is_zero(dh, sizeof(dh)))
		rc = -EINVAL;
	else
		hkdf(s, s->ck, dh, sizeof(dh), s->ck, k ? k : unused);
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(unused, sizeof(unused));
	return rc < 0 ? rc : s->err;
}

/* EncryptAndHash: the ciphertext also joins H, so later messages bind it. */
static void seal(struct sym *s, const uint8_t k[PROTO_KEY_LEN],
		 const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, pt_len, s->h,
						      PROTO_HASH_LEN, NULL,
						      nonce, k) != 0)
		s->err = -EIO;
	mix_hash(s, ct, pt_len + PROTO_TAG_LEN);
}

/* DecryptAndHash: false on a bad tag, pt then left zero. */
static bool open_ct(struct sym *s, const uint8_t k[PROTO_KEY_LEN],
		    const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, ct_len,
						      s->h, PROTO_HASH_LEN,
						      nonce, k) != 0) {
		sodium_memzero(pt, ct_len - PROTO_TAG_LEN);
		return false;
	}
	mix_hash(s, ct, ct_len);
	return s->err == 0;
}

/* The state both sides start from, bound to the responder's static key. */
static void sym_init(struct sym *s, const uint8_t responder_pk[PROTO_KEY_LEN])
{
	static const char construction[] = PROTO_CONSTRUCTION;
	static const char identifier[] = PROTO_IDENTIFIER;

	s->err = 0;
	if (hash2(s->ck, PROTO_HASH_LEN, NULL, 0, (const uint8_t *)construction,
		  sizeof(construction) - 1, NULL, 0) != 0)
		s->err = -EIO;
	memcpy(s->h, s->ck, PROTO_HASH_LEN);
	mix_hash(s, (const uint8_t *)identifier, sizeof(identifier) - 1);
	mix_hash(s, responder_pk, PROTO_KEY_LEN);
}

/* The state a message continues from, as a handshake saved it. */
static void sym_load(struct sym *s, const struct noise_handshake *hs)
{
	memcpy(s->h, hs->hash, PROTO_HASH_LEN);
	memcpy(s->ck, hs->chaining, PROTO_HASH_LEN);
	s->err = 0;
}

/* Saves the state a later message continues from. */
static void sym_save(const struct sym *s, struct noise_handshake *hs)
{
	memcpy(hs->hash, s->h, PROTO_HASH_LEN);
	memcpy(hs->chaining, s->ck, PROTO_HASH_LEN);
}

/* MAC(key, msg[0..len)) into mac, keyed BLAKE2b-128; 0 or -EIO. */
static int mac1_compute(const uint8_t key[PROTO_HASH_LEN], const void *msg,
			size_t len, uint8_t mac[PROTO_MAC_LEN])
{
	return hash2(mac, PROTO_MAC_LEN, key, PROTO_HASH_LEN, msg, len, NULL, 0);
}

/* A fresh ephemeral key pair; the secret is wiped if its public half fails. */
static int ephemeral_make(uint8_t pk[PROTO_KEY_LEN], uint8_t sk[PROTO_KEY_LEN])
{
	randombytes_buf(sk, PROTO_KEY_LEN);
	if (crypto_scalarmult_base(pk, sk) != 0) {
		sodium_memzero(sk, PROTO_KEY_LEN);
		return -EIO;
	}
	return 0;
}

/* Transport keys from the final chaining key, oriented for this side. */
static int keypair_split(struct sym *s, bool initiator, uint32_t local_index,
			 uint32_t remote_index, struct noise_keypair *kp)
{
	static const uint8_t empty[1];

	if (initiator)
		hkdf(s, s->ck, empty, 0, kp->send, kp->recv);
	else
		hkdf(s, s->ck, empty, 0, kp->recv, kp->send);
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->initiator = initiator;
	if (s->err != 0)
		noise_keypair_wipe(kp);
	return s->err;
}

int noise_static_init(struct noise_static *s, const uint8_t sk[PROTO_KEY_LEN])
{
	/* The public half and mac1 key are derived once, not per message. */
	if (sodium_init() < 0)
		return -ENOSYS;
	memcpy(s->sk, sk, PROTO_KEY_LEN);
	if (crypto_scalarmult_base(s->pk, s->sk) != 0) {
		noise_static_wipe(s);
		return -EINVAL;
	}
	noise_mac1_key(s->pk, s->mac1_key);
	return 0;
}

void noise_static_wipe(struct noise_static *s)
{
	/* The whole struct: the secret and what derives from it. */
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

void noise_mac1_key(const uint8_t peer_pk[PROTO_KEY_LEN],
		    uint8_t key[PROTO_HASH_LEN])
{
	/*
	 * Keyed by the receiver's public key: anyone who knows it may send,
	 * no one else may make us do a DH. hash2 zeroes key if BLAKE2b
	 * refuses, and a zero key only makes every later mac1 check fail.
	 */
	static const char label[] = PROTO_LABEL_MAC1;

	(void)hash2(key, PROTO_HASH_LEN, NULL, 0, (const uint8_t *)label,
		    sizeof(label) - 1, peer_pk, PROTO_KEY_LEN);
}

void noise_nonce(uint64_t counter, uint8_t nonce[12])
{
	/* 4 zero bytes, then the counter. */
	uint64_t be = htobe64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &be, sizeof(be));
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

int noise_initiation_create(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const uint8_t remote_pk[PROTO_KEY_LEN],
			    uint32_t local_index,
			    struct proto_initiation *out)
{
	/* Message 1: e, es, s, ss, timestamp; hs keeps what the response needs. */
	uint8_t k[PROTO_KEY_LEN], ts[PROTO_TIMESTAMP_LEN];
	uint8_t mac1_key[PROTO_HASH_LEN];
	struct sym s;
	int rc;

	memset(hs, 0, sizeof(*hs));
	memset(out, 0, sizeof(*out));
	sym_init(&s, remote_pk);
	rc = ephemeral_make(hs->e_pk, hs->e_sk);
	if (rc < 0)
		goto out;
	out->type = PROTO_INITIATION;
	out->sender = htobe32(local_index);
	memcpy(out->ephemeral, hs->e_pk, PROTO_KEY_LEN);
	mix_hash(&s, out->ephemeral, PROTO_KEY_LEN);

	rc = mix_dh(&s, k, hs->e_sk, remote_pk);
	if (rc < 0)
		goto out;
	seal(&s, k, local->pk, PROTO_KEY_LEN, out->enc_static);

	rc = mix_dh(&s, k, local->sk, remote_pk);
	if (rc < 0)
		goto out;
	noise_timestamp_now(ts);
	seal(&s, k, ts, sizeof(ts), out->enc_timestamp);

	noise_mac1_key(remote_pk, mac1_key);
	rc = mac1_compute(mac1_key, out, INIT_MAC1_OFF, out->mac1);
	if (rc == 0)
		rc = s.err;
	if (rc < 0)
		goto out;

	sym_save(&s, hs);
	memcpy(hs->remote_static, remote_pk, PROTO_KEY_LEN);
	hs->local_index = local_index;
out:
	if (rc < 0) {
		noise_handshake_wipe(hs);
		memset(out, 0, sizeof(*out));
	}
	sodium_memzero(k, sizeof(k));
	sodium_memzero(ts, sizeof(ts));
	sodium_memzero(mac1_key, sizeof(mac1_key));
	sym_wipe(&s);
	return rc;
}

bool noise_mac1_verify(const struct noise_static *local, const void *msg,
		       size_t msg_len)
{
	/* Cheap gate before any DH: only holders of our public key get past. */
	uint8_t mac[PROTO_MAC_LEN];
	size_t off;
	bool ok;

	if (msg_len == sizeof(struct proto_initiation))
		off = INIT_MAC1_OFF;
	else if (msg_len == sizeof(struct proto_response))
		off = RESP_MAC1_OFF;
	else
		return false;
	ok = mac1_compute(local->mac1_key, msg, off, mac) == 0 &&
	     crypto_verify_16(mac, (const uint8_t *)msg + off) == 0;
	sodium_memzero(mac, sizeof(mac));
	return ok;
}

bool noise_initiation_consume(struct noise_handshake *hs,
			      const struct noise_static *local,
			      const struct proto_initiation *msg,
			      bool (*lookup)(void *arg, const uint8_t pk[PROTO_KEY_LEN]),
			      void *arg, uint8_t ts[PROTO_TIMESTAMP_LEN])
{
	/*
	 * Cheap checks, then es and the static key, then the peer lookup so
	 * that an unknown key costs one DH only, then ss and the timestamp.
	 */
	static const uint8_t zero3[3];
	uint8_t k[PROTO_KEY_LEN], spk[PROTO_KEY_LEN], t[PROTO_TIMESTAMP_LEN];
	struct sym s;
	bool ok = false;

	memset(hs, 0, sizeof(*hs));
	memset(ts, 0, PROTO_TIMESTAMP_LEN);
	sym_init(&s, local->pk);
	if (msg->type != PROTO_INITIATION ||
	    memcmp(msg->reserved, zero3, sizeof(zero3)) != 0 ||
	    !noise_mac1_verify(local, msg, sizeof(*msg)))
		goto out;

	mix_hash(&s, msg->ephemeral, PROTO_KEY_LEN);
	if (mix_dh(&s, k, local->sk, msg->ephemeral) < 0 ||
	    !open_ct(&s, k, msg->enc_static, sizeof(msg->enc_static), spk))
		goto out;
	if (!lookup(arg, spk))
		goto out;
	if (mix_dh(&s, k, local->sk, spk) < 0 ||
	    !open_ct(&s, k, msg->enc_timestamp, sizeof(msg->enc_timestamp), t))
		goto out;

	sym_save(&s, hs);
	memcpy(hs->remote_e, msg->ephemeral, PROTO_KEY_LEN);
	memcpy(hs->remote_static, spk, PROTO_KEY_LEN);
	hs->remote_index = be32toh(msg->sender);
	memcpy(ts, t, PROTO_TIMESTAMP_LEN);
	ok = true;
out:
	if (!ok)
		noise_handshake_wipe(hs);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(spk, sizeof(spk));
	sodium_memzero(t, sizeof(t));
	sym_wipe(&s);
	return ok;
}

int noise_response_create(struct noise_handshake *hs,
			  const struct noise_static *local,
			  uint32_t local_index, struct proto_response *out,
			  struct noise_keypair *kp)
{
	/*
	 * Message 2: e, ee, se, empty payload, then the split. hs is spent
	 * either way: a second response from it would reuse nothing useful.
	 */
	static const uint8_t nothing[1];
	uint8_t k[PROTO_KEY_LEN], mac1_key[PROTO_HASH_LEN];
	struct sym s;
	int rc;

	(void)local;
	memset(out, 0, sizeof(*out));
	memset(kp, 0, sizeof(*kp));
	sym_load(&s, hs);
	rc = ephemeral_make(hs->e_pk, hs->e_sk);
	if (rc < 0)
		goto out;
	out->type = PROTO_RESPONSE;
	out->sender = htobe32(local_index);
	out->receiver = htobe32(hs->remote_index);
	memcpy(out->ephemeral, hs->e_pk, PROTO_KEY_LEN);
	mix_hash(&s, out->ephemeral, PROTO_KEY_LEN);

	rc = mix_dh(&s, NULL, hs->e_sk, hs->remote_e);
	if (rc < 0)
		goto out;
	rc = mix_dh(&s, k, hs->e_sk, hs->remote_static);
	if (rc < 0)
		goto out;
	seal(&s, k, nothing, 0, out->enc_empty);

	noise_mac1_key(hs->remote_static, mac1_key);
	rc = mac1_compute(mac1_key, out, RESP_MAC1_OFF, out->mac1);
	if (rc == 0)
		rc = s.err;
	if (rc == 0)
		rc = keypair_split(&s, false, local_index, hs->remote_index, kp);
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	noise_handshake_wipe(hs);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(mac1_key, sizeof(mac1_key));
	sym_wipe(&s);
	return rc;
}

bool noise_response_consume(struct noise_handshake *hs,
			    const struct noise_static *local,
			    const struct proto_response *msg,
			    struct noise_keypair *kp)
{
	/*
	 * Works on a copy of the state, so that a forged response leaves hs
	 * intact for the genuine one; hs is wiped only once keys exist.
	 */
	static const uint8_t zero3[3];
	uint8_t k[PROTO_KEY_LEN];
	uint8_t empty[1];
	struct sym s;
	bool ok = false;

	sym_load(&s, hs);
	if (msg->type != PROTO_RESPONSE ||
	    memcmp(msg->reserved, zero3, sizeof(zero3)) != 0 ||
	    !noise_mac1_verify(local, msg, sizeof(*msg)) ||
	    be32toh(msg->receiver) != hs->local_index)
		goto out;

	mix_hash(&s, msg->ephemeral, PROTO_KEY_LEN);
	if (mix_dh(&s, NULL, hs->e_sk, msg->ephemeral) < 0 ||
	    mix_dh(&s, k, local->sk, msg->ephemeral) < 0 ||
	    !open_ct(&s, k, msg->enc_empty, sizeof(msg->enc_empty), empty))
		goto out;
	if (keypair_split(&s, true, hs->local_index, be32toh(msg->sender), kp) < 0)
		goto out;
	noise_handshake_wipe(hs);
	ok = true;
out:
	sodium_memzero(k, sizeof(k));
	sym_wipe(&s);
	return ok;
}
