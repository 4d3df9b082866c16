/*
 * shim/cookie.h - the two MACs at the end of every handshake message, and
 * WireGuard's cookie replies, so that a flood of handshake messages costs
 * the receiver a MAC, not a Diffie-Hellman.
 *
 *   mac1 = MAC(HASH(LABEL_MAC1 || Spub_receiver), msg up to mac1)
 *          anyone who knows the receiver's public key can make it; the
 *          receiver checks it before anything else.
 *   mac2 = MAC(cookie, msg up to mac2), or zero without a cookie.
 *   cookie = MAC(secret, source address || source port): the receiver's
 *          random secret (rotated every COOKIE_SECRET_MAX_AGE_S) bound to
 *          where the message came from.
 *
 * A receiver under load answers a message with a valid mac1 but no valid
 * mac2 with a cookie reply (proto.h) instead of doing the DH: the cookie,
 * XChaCha20-Poly1305-encrypted under HASH(LABEL_COOKIE || Spub_receiver),
 * with the answered message's mac1 as associated data, so that only the
 * one who sent that message (and can read replies at its address) learns
 * a cookie that works. MAC is keyed BLAKE2b-128, HASH BLAKE2b-256.
 */
#ifndef CAPTUN_SHIM_COOKIE_H
#define CAPTUN_SHIM_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"

enum cookie_size {
	COOKIE_KEY_LEN = 32,		/* BLAKE2b-256 of label || public key */
	COOKIE_SECRET_LEN = 32,
};

enum cookie_time_s {
	COOKIE_SECRET_MAX_AGE_S = 120,	/* the receiver's secret is redrawn */
	COOKIE_SECRET_LATENCY_S = 5,	/* a sender stops using a cookie this much earlier */
};

/* What cookie_validate found. */
enum cookie_mac_state {
	COOKIE_MAC_INVALID,		/* mac1 wrong, or not a handshake message */
	COOKIE_MAC_VALID,		/* mac1 right; mac2 absent, wrong or not asked for */
	COOKIE_MAC_VALID_COOKIE,	/* mac1 and mac2 right */
};

/* This host as a receiver: checks the macs sent to it and makes cookies. */
struct cookie_checker {
	uint8_t mac1_key[COOKIE_KEY_LEN];
	uint8_t cookie_key[COOKIE_KEY_LEN];
	uint8_t secret[COOKIE_SECRET_LEN];
	uint64_t secret_born_ns;	/* 0: none drawn yet */
};

/* This host as a sender to one peer: the macs it adds, the peer's cookie. */
struct cookie_maker {
	uint8_t mac1_key[COOKIE_KEY_LEN];
	uint8_t cookie_key[COOKIE_KEY_LEN];
	uint8_t cookie[PROTO_MAC_LEN];
	uint64_t cookie_born_ns;	/* 0: no cookie */
	uint8_t last_mac1[PROTO_MAC_LEN];	/* of the last message sent */
	bool have_last_mac1;
};

/* Keys from the receiver's public key (our own for a checker). */
void cookie_checker_init(struct cookie_checker *c, const uint8_t pk[PROTO_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *m, const uint8_t pk[PROTO_KEY_LEN]);
void cookie_checker_wipe(struct cookie_checker *c);
void cookie_maker_wipe(struct cookie_maker *m);

/*
 * Fills mac1 and mac2 of msg, an initiation or a response (len says which;
 * other lengths are left alone); mac2 only with a cookie younger than
 * COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S. Remembers mac1 for
 * the cookie reply that may answer it.
 */
void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now_ns);

/*
 * Checks msg's mac1 and, if check_cookie, its mac2 against the cookie of
 * the source address (src, srclen: a sockaddr_in or sockaddr_in6). Constant
 * time; a MAC and a hash at most, never a DH.
 */
enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg,
				      size_t len, const struct sockaddr *src,
				      socklen_t srclen, bool check_cookie,
				      uint64_t now_ns);

/*
 * The cookie reply to msg (an initiation or a response whose mac1 was
 * valid) from src; receiver is the index the message's sender gave
 * (its "sender" field). 0 or -errno.
 */
int cookie_reply_create(struct cookie_checker *c, struct proto_cookie_reply *out,
			const void *msg, size_t len, uint32_t receiver,
			const struct sockaddr *src, socklen_t srclen, uint64_t now_ns);

/*
 * Takes the cookie of a reply to the last message sent with m; false (m
 * unchanged) if it does not open under m's key and that message's mac1.
 */
bool cookie_reply_consume(struct cookie_maker *m, const struct proto_cookie_reply *msg,
			  uint64_t now_ns);

#endif
