/*
 * shim/hsqueue.c - which received handshake messages reach the public-key
 * work, and when, so that a flood of them costs a MAC, not a DH, and never
 * starves the data path:
 *
 *  1. The receive path only copies a handshake message (initiation,
 *     response, cookie reply) into a bounded queue (SHIM_HSQ; when full,
 *     the newest is dropped and counted) and goes on with the data.
 *  2. After each turn of the event loop has served its data, the queue is
 *     drained with a budget: at most SHIM_HS_BUDGET messages, of which at
 *     most SHIM_HS_BUDGET_DH may cost public-key work; the rest waits for
 *     the next turn (the loop then does not sleep).
 *  3. Each message: mac1 (cheap) first. Under load (a queue of SHIM_HSQ_LOAD
 *     or more at the start of a drain, or SHIM_HS_DH_LOAD messages that
 *     cost a DH in the last second; it lasts SHIM_UNDER_LOAD_S after), a
 *     message without a valid mac2 gets a cookie reply instead and goes no
 *     further (cookie.h). Then the per-source budget (ratelimiter.h). Only
 *     then the DHs (handshake.c).
 *
 * Cookie replies go out in the transmit batch, one system call for many.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shim.h"

#define NS UINT64_C(1000000000)

struct hs_item {
	uint16_t len;
	socklen_t fromlen;
	struct sockaddr_storage from;
	uint8_t buf[sizeof(struct proto_initiation)];
};

_Static_assert(sizeof(struct proto_initiation) >= sizeof(struct proto_response) &&
	       sizeof(struct proto_initiation) >= sizeof(struct proto_cookie_reply),
	       "an item holds any handshake message");

int shim_hsqueue_init(struct shim *s)
{
	s->hsq.items = calloc(SHIM_HSQ, sizeof(*s->hsq.items));
	s->hsq.head = s->hsq.len = 0;
	return s->hsq.items ? 0 : -ENOMEM;
}

void shim_hsqueue_free(struct shim *s)
{
	if (s->hsq.items)
		sodium_memzero(s->hsq.items, SHIM_HSQ * sizeof(*s->hsq.items));
	free(s->hsq.items);
	s->hsq.items = NULL;
	s->hsq.len = 0;
}

void shim_handshake_enqueue(struct shim *s, const uint8_t *buf, size_t len,
			    const struct sockaddr *from, socklen_t fromlen)
{
	struct hs_item *it;

	if (len > sizeof(it->buf) || fromlen > sizeof(it->from)) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	if (!s->hsq.items || s->hsq.len == SHIM_HSQ) {
		shim_drop(s, DROP_RX_HANDSHAKE_QUEUE);
		return;
	}
	it = &s->hsq.items[(s->hsq.head + s->hsq.len) % SHIM_HSQ];
	memcpy(it->buf, buf, len);
	it->len = (uint16_t)len;
	memcpy(&it->from, from, fromlen);
	it->fromlen = fromlen;
	s->hsq.len++;
}

bool shim_handshake_pending(const struct shim *s)
{
	return s->hsq.len > 0;
}

/* Whether this drain runs under load; the state lasts a while after. */
static bool load_update(struct shim *s, uint64_t now)
{
	if (now - s->hsq.dh_window_ns >= NS) {
		s->hsq.dh_window_ns = now;
		s->hsq.dh_in_window = 0;
	}
	if (s->hsq.len >= SHIM_HSQ_LOAD || s->hsq.dh_in_window >= SHIM_HS_DH_LOAD)
		s->hsq.under_load_until_ns = now + SHIM_UNDER_LOAD_S * NS;
	return now < s->hsq.under_load_until_ns;
}

/* Answers msg with a cookie reply, batched. */
static void cookie_send(struct shim *s, const struct hs_item *it, uint64_t now)
{
	struct proto_cookie_reply reply;
	uint32_t sender;

	/* Initiations and responses both carry their sender's index there. */
	memcpy(&sender, it->buf + 4, sizeof(sender));
	if (cookie_reply_create(&s->cookies, &reply, it->buf, it->len, be32toh(sender),
				(const struct sockaddr *)&it->from, it->fromlen, now) < 0 ||
	    shim_send_raw(s, &it->from, it->fromlen, &reply, sizeof(reply)) < 0)
		shim_drop(s, DROP_TX_SEND_ERROR);
	else
		s->hsq.cookies_sent++;
}

/* One message; returns whether it cost public-key work. */
static bool one(struct shim *s, const struct hs_item *it, bool under_load, uint64_t now)
{
	const struct sockaddr *from = (const struct sockaddr *)&it->from;
	enum cookie_mac_state st;

	if (it->buf[0] == PROTO_COOKIE_REPLY) {
		shim_handshake_cookie(s, it->buf, it->len);
		return false;
	}
	st = cookie_validate(&s->cookies, it->buf, it->len, from, it->fromlen,
			     under_load, now);
	if (st == COOKIE_MAC_INVALID) {
		shim_drop(s, DROP_RX_MAC1);
		return false;
	}
	if (under_load && st != COOKIE_MAC_VALID_COOKIE) {
		shim_drop(s, DROP_RX_COOKIE);
		cookie_send(s, it, now);
		return false;
	}
	if (!ratelimiter_allow(&s->rl, from, it->fromlen, now)) {
		shim_drop(s, DROP_RX_HANDSHAKE_RATE);
		return false;
	}
	if (it->buf[0] == PROTO_INITIATION)
		return shim_handshake_initiation(s, it->buf, it->len, from, it->fromlen);
	return shim_handshake_response(s, it->buf, it->len, from, it->fromlen);
}

bool shim_handshake_drain(struct shim *s)
{
	uint64_t now = shim_now_ns();
	bool under_load = load_update(s, now);
	unsigned n = 0, dh = 0;

	s->now = now;
	while (s->hsq.len && n < SHIM_HS_BUDGET && dh < SHIM_HS_BUDGET_DH) {
		struct hs_item *it = &s->hsq.items[s->hsq.head];

		s->hsq.head = (s->hsq.head + 1) % SHIM_HSQ;
		s->hsq.len--;
		n++;
		if (one(s, it, under_load, now)) {
			dh++;
			s->hsq.dh_in_window++;
		}
		sodium_memzero(it, sizeof(*it));
	}
	shim_tx_flush(s);
	return s->hsq.len > 0;
}
