/*
 * shim/cookie.c - mac1, mac2 and cookie replies (cookie.h), after
 * WireGuard's cookie.c: libsodium's BLAKE2b (keyed, 128-bit, as MAC) and
 * XChaCha20-Poly1305 for the cookie in transit. Secrets are wiped on
 * every path; every comparison of a MAC is constant-time.
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"

#define NS UINT64_C(1000000000)

_Static_assert(PROTO_XNONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(COOKIE_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(PROTO_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(PROTO_MAC_LEN >= crypto_generichash_BYTES_MIN, "mac length");
_Static_assert(offsetof(struct proto_initiation, mac2) == sizeof(struct proto_initiation) -
	       PROTO_MAC_LEN && offsetof(struct proto_initiation, mac1) ==
	       sizeof(struct proto_initiation) - 2 * PROTO_MAC_LEN, "macs close an initiation");
_Static_assert(offsetof(struct proto_response, mac2) == sizeof(struct proto_response) -
	       PROTO_MAC_LEN && offsetof(struct proto_response, mac1) ==
	       sizeof(struct proto_response) - 2 * PROTO_MAC_LEN, "macs close a response");

/* Only handshake messages carry macs: their last 32 bytes. */
static bool has_macs(size_t len)
{
	return len == sizeof(struct proto_initiation) ||
	       len == sizeof(struct proto_response);
}

/* HASH(label || pk): the keys a receiver's public key gives. */
static void derive(uint8_t key[COOKIE_KEY_LEN], const char *label,
		   const uint8_t pk[PROTO_KEY_LEN])
{
	crypto_generichash_state st;

	if (crypto_generichash_init(&st, NULL, 0, COOKIE_KEY_LEN) != 0 ||
	    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label)) != 0 ||
	    crypto_generichash_update(&st, pk, PROTO_KEY_LEN) != 0 ||
	    crypto_generichash_final(&st, key, COOKIE_KEY_LEN) != 0)
		sodium_memzero(key, COOKIE_KEY_LEN);	/* every later MAC then fails */
	sodium_memzero(&st, sizeof(st));
}

/* MAC(key, data): keyed BLAKE2b-128. A failure gives all zero, which verifies nothing. */
static void mac(uint8_t out[PROTO_MAC_LEN], const uint8_t *key, size_t key_len,
		const void *data, size_t len)
{
	if (crypto_generichash(out, PROTO_MAC_LEN, data, len, key, key_len) != 0)
		sodium_memzero(out, PROTO_MAC_LEN);
}

/* The bytes of a source: address then port, as WireGuard binds a cookie. */
static size_t source_bytes(const struct sockaddr *src, socklen_t len, uint8_t out[18])
{
	if (src->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;

		memcpy(out, &in->sin_addr, 4);
		memcpy(out + 4, &in->sin_port, 2);
		return 6;
	}
	if (src->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;

		memcpy(out, &in6->sin6_addr, 16);
		memcpy(out + 16, &in6->sin6_port, 2);
		return 18;
	}
	return 0;
}

/* The cookie of src under the current secret, drawn anew when too old. */
static bool cookie_of(struct cookie_checker *c, const struct sockaddr *src,
		      socklen_t srclen, uint64_t now_ns, uint8_t out[PROTO_MAC_LEN])
{
	uint8_t a[18];
	size_t n = source_bytes(src, srclen, a);

	if (n == 0)
		return false;
	if (c->secret_born_ns == 0 ||
	    now_ns - c->secret_born_ns >= COOKIE_SECRET_MAX_AGE_S * NS) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_born_ns = now_ns ? now_ns : 1;
	}
	mac(out, c->secret, sizeof(c->secret), a, n);
	return true;
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t pk[PROTO_KEY_LEN])
{
	memset(c, 0, sizeof(*c));
	derive(c->mac1_key, PROTO_LABEL_MAC1, pk);
	derive(c->cookie_key, PROTO_LABEL_COOKIE, pk);
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t pk[PROTO_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	derive(m->mac1_key, PROTO_LABEL_MAC1, pk);
	derive(m->cookie_key, PROTO_LABEL_COOKIE, pk);
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

void cookie_maker_wipe(struct cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now_ns)
{
	/* mac2 only while the cookie is surely still the receiver's. */
	uint8_t *p = msg;
	size_t mac1_off = len - 2 * PROTO_MAC_LEN, mac2_off = len - PROTO_MAC_LEN;

	if (!has_macs(len))
		return;
	mac(p + mac1_off, m->mac1_key, sizeof(m->mac1_key), p, mac1_off);
	memcpy(m->last_mac1, p + mac1_off, PROTO_MAC_LEN);
	m->have_last_mac1 = true;
	if (m->cookie_born_ns && now_ns - m->cookie_born_ns <
	    (uint64_t)(COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) * NS)
		mac(p + mac2_off, m->cookie, sizeof(m->cookie), p, mac2_off);
	else
		memset(p + mac2_off, 0, PROTO_MAC_LEN);
}

enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg,
				      size_t len, const struct sockaddr *src,
				      socklen_t srclen, bool check_cookie,
				      uint64_t now_ns)
{
	const uint8_t *p = msg;
	uint8_t want[PROTO_MAC_LEN], cookie[PROTO_MAC_LEN];
	size_t mac1_off = len - 2 * PROTO_MAC_LEN, mac2_off = len - PROTO_MAC_LEN;
	enum cookie_mac_state st = COOKIE_MAC_INVALID;

	if (!has_macs(len))
		return COOKIE_MAC_INVALID;
	mac(want, c->mac1_key, sizeof(c->mac1_key), p, mac1_off);
	if (crypto_verify_16(want, p + mac1_off) != 0)
		goto out;
	st = COOKIE_MAC_VALID;
	if (!check_cookie || !cookie_of(c, src, srclen, now_ns, cookie))
		goto out;
	mac(want, cookie, sizeof(cookie), p, mac2_off);
	if (crypto_verify_16(want, p + mac2_off) == 0)
		st = COOKIE_MAC_VALID_COOKIE;
out:
	sodium_memzero(want, sizeof(want));
	sodium_memzero(cookie, sizeof(cookie));
	return st;
}

int cookie_reply_create(struct cookie_checker *c, struct proto_cookie_reply *out,
			const void *msg, size_t len, uint32_t receiver,
			const struct sockaddr *src, socklen_t srclen, uint64_t now_ns)
{
	const uint8_t *p = msg;
	uint8_t cookie[PROTO_MAC_LEN];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!has_macs(len))
		return -EINVAL;
	if (!cookie_of(c, src, srclen, now_ns, cookie))
		return -EAFNOSUPPORT;
	out->type = PROTO_COOKIE_REPLY;
	out->receiver = htobe32(receiver);
	randombytes_buf(out->nonce, sizeof(out->nonce));
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    out->enc_cookie, NULL, cookie, sizeof(cookie),
		    p + len - 2 * PROTO_MAC_LEN, PROTO_MAC_LEN, NULL, out->nonce,
		    c->cookie_key) != 0) {
		memset(out, 0, sizeof(*out));
		rc = -EIO;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return rc;
}

bool cookie_reply_consume(struct cookie_maker *m, const struct proto_cookie_reply *msg,
			  uint64_t now_ns)
{
	static const uint8_t zero3[3];
	uint8_t cookie[PROTO_MAC_LEN];

	if (msg->type != PROTO_COOKIE_REPLY ||
	    memcmp(msg->reserved, zero3, sizeof(zero3)) != 0 || !m->have_last_mac1)
		return false;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, msg->enc_cookie, sizeof(msg->enc_cookie),
		    m->last_mac1, PROTO_MAC_LEN, msg->nonce, m->cookie_key) != 0) {
		sodium_memzero(cookie, sizeof(cookie));
		return false;
	}
	memcpy(m->cookie, cookie, sizeof(cookie));
	m->cookie_born_ns = now_ns ? now_ns : 1;
	/* One reply per message sent: a second would be a replay. */
	m->have_last_mac1 = false;
	sodium_memzero(cookie, sizeof(cookie));
	return true;
}
