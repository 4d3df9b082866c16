/*
 * shim/handshake.c - sessions with peers: starting and answering Noise IK
 * handshakes, installing the resulting keys into session slots, taking
 * the cookies peers under load send back. Which received handshake
 * messages get here, and when, is hsqueue.c's to decide (after their
 * macs and the per-source budget); the timers that rekey, retransmit,
 * expire and keep alive are in timers.c.
 *
 * An initiator's new session becomes current at once; a responder's waits
 * as "next" until the initiator has used it, since until then the
 * initiation might have been a replay.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "shim.h"

#define NS UINT64_C(1000000000)
#define INITIATION_MIN_GAP_NS UINT64_C(50000000)	/* per peer, as WireGuard */

static int send_to(struct shim *s, const struct sockaddr_storage *to,
		   socklen_t tolen, const void *buf, size_t len)
{
	struct udp_sock *u = to->ss_family == AF_INET6 ? &s->udp6 : &s->udp4;
	struct udp_msg m;
	int ret;

	if (u->fd < 0)
		return -EAFNOSUPPORT;
	memset(&m, 0, sizeof(m));
	m.buf = (uint8_t *)buf;
	m.len = len;
	memcpy(&m.addr, to, tolen);
	m.addr_len = tolen;
	ret = udp_send_batch(u, &m, 1);
	if (ret < 0)
		return ret;
	return ret == 1 ? 0 : -EAGAIN;
}

/* The session to send on: current, if it is fresh enough to use. */
struct session *shim_session_send(struct peer *p, uint64_t now)
{
	struct session *se;

	if (p->cur < 0)
		return NULL;
	se = &p->sessions[p->cur];
	if (!se->live || (!se->kp.initiator && !se->confirmed) ||
	    now - se->created_ns > PROTO_REJECT_AFTER_TIME_S * NS ||
	    se->send_counter >= PROTO_REJECT_AFTER_MESSAGES)
		return NULL;
	return se;
}

/* A (re)transmission of the pending initiation: new ephemeral, new timestamp. */
static int initiation_send(struct shim *s, struct peer *p, uint64_t now)
{
	struct proto_initiation msg;
	int slot, ret;

	slot = p->hs_pending ? p->hs_slot : shim_slot_free(p);
	if (slot < 0)
		return -EBUSY;
	ret = noise_initiation_create(&p->hs, &s->stat, p->tunnel_pk,
				      shim_index_make(s, p, slot), &msg);
	if (ret < 0)
		return ret;
	cookie_add_macs(&p->cookie, &msg, sizeof(msg), now);
	if (!p->hs_pending) {
		p->hs_first_ns = now;
		p->hs_cookie_retried = false;
	}
	p->hs_pending = true;
	p->hs_slot = slot;
	p->hs_sent_ns = now;
	ret = send_to(s, &p->endpoint, p->endpoint_len, &msg, sizeof(msg));
	sodium_memzero(&msg, sizeof(msg));
	return ret;
}

int shim_handshake_start(struct shim *s, struct peer *p)
{
	uint64_t now = shim_now_ns();

	if (p->endpoint_len == 0)
		return -EDESTADDRREQ;
	if (p->disabled)
		return -EKEYREJECTED;
	if (p->hs_pending && now - p->hs_sent_ns < PROTO_REKEY_TIMEOUT_S * NS)
		return 0;
	return initiation_send(s, p, now);
}

/* Authenticated traffic moves the peer's endpoint, as WireGuard roams. */
static void roam(struct peer *p, const struct sockaddr *from, socklen_t fromlen)
{
	if (fromlen > sizeof(p->endpoint))
		return;
	if (p->endpoint_len != fromlen || memcmp(&p->endpoint, from, fromlen)) {
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		memcpy(&p->endpoint, from, fromlen);
		p->endpoint_len = fromlen;
	}
}

/* After a session comes up: our capability, then what waited for it. */
static void session_up(struct shim *s, struct peer *p, uint64_t now)
{
	p->last_handshake_ns = now;
	p->c.handshakes++;
	if (shim_send_control(s, p, s->cap.msg, s->cap.msg_len) == 0) {
		p->announced_epoch = s->cap.epoch;
		p->announce_sent_ns = now;
	}
	/*
	 * What the peer lacks (tokens, then the revocation list: a list that
	 * came first would cut off the hosts whose new tokens it waits for).
	 */
	shim_sync_session_up(s, p);
	shim_flush_queue(s, p);
}

struct lookup_arg {
	struct shim *s;
	struct peer *found;
};

static bool lookup(void *arg, const uint8_t pk[PROTO_KEY_LEN])
{
	struct lookup_arg *la = arg;

	la->found = shim_peer_by_pk(la->s, pk);
	if (la->found && la->found->disabled)
		la->found = NULL;
	return la->found != NULL;
}

/*
 * An initiation whose macs passed: the DHs, then the response from a
 * "next" session slot. Returns whether public-key work was done.
 */
bool shim_handshake_initiation(struct shim *s, const uint8_t *buf, size_t len,
			       const struct sockaddr *from, socklen_t fromlen)
{
	struct proto_initiation msg;
	struct proto_response resp;
	struct noise_handshake hs;
	struct noise_keypair kp;
	struct lookup_arg la = { s, NULL };
	uint8_t ts[PROTO_TIMESTAMP_LEN];
	struct session *se;
	struct peer *p;
	uint64_t now = shim_now_ns();
	int slot;

	memset(&kp, 0, sizeof(kp));
	if (len != sizeof(msg)) {
		shim_drop(s, DROP_RX_SHORT);
		return false;
	}
	memcpy(&msg, buf, sizeof(msg));
	if (!noise_initiation_consume(&hs, &s->stat, &msg, lookup, &la, ts)) {
		shim_drop(s, la.found ? DROP_RX_HANDSHAKE : DROP_RX_UNKNOWN_KEY);
		goto out;
	}
	p = la.found;
	if (memcmp(ts, p->last_ts, sizeof(ts)) <= 0 ||
	    (p->last_initiation_rx_ns &&
	     now - p->last_initiation_rx_ns < INITIATION_MIN_GAP_NS)) {
		shim_drop(s, DROP_RX_HANDSHAKE_REPLAY);
		goto out;
	}
	if (p->next >= 0) {
		shim_session_clear(&p->sessions[p->next]);
		p->next = -1;
	}
	slot = shim_slot_free(p);
	if (slot < 0 ||
	    noise_response_create(&hs, &s->stat, shim_index_make(s, p, slot),
				  &resp, &kp) < 0) {
		shim_drop(s, DROP_RX_HANDSHAKE);
		goto out;
	}
	se = &p->sessions[slot];
	if (shim_session_install(s, se, &kp, false, now) < 0) {
		shim_drop(s, DROP_RX_HANDSHAKE);
		goto out;
	}
	memcpy(p->last_ts, ts, sizeof(ts));
	p->last_initiation_rx_ns = now;
	p->next = slot;
	p->last_handshake_ns = now;
	roam(p, from, fromlen);
	cookie_add_macs(&p->cookie, &resp, sizeof(resp), now);
	if (send_to(s, &p->endpoint, p->endpoint_len, &resp, sizeof(resp)) < 0)
		shim_drop(s, DROP_TX_SEND_ERROR);
out:
	noise_keypair_wipe(&kp);
	noise_handshake_wipe(&hs);
	sodium_memzero(&msg, sizeof(msg));
	sodium_memzero(&resp, sizeof(resp));
	return true;
}

/* The peer whose pending initiation an index names, or NULL. */
static struct peer *pending_by_index(struct shim *s, uint32_t index)
{
	size_t no = (index >> SHIM_INDEX_PEER_SHIFT) &
		    ((1u << (SHIM_INDEX_RANDOM_SHIFT - SHIM_INDEX_PEER_SHIFT)) - 1);

	if (no >= s->npeers || !s->peers[no].hs_pending ||
	    s->peers[no].hs.local_index != index)
		return NULL;
	return &s->peers[no];
}

/*
 * A response whose macs passed, to a pending initiation: the DHs, and the
 * new session becomes current. Returns whether public-key work was done.
 */
bool shim_handshake_response(struct shim *s, const uint8_t *buf, size_t len,
			     const struct sockaddr *from, socklen_t fromlen)
{
	struct proto_response msg;
	struct noise_keypair kp;
	struct session *se;
	struct peer *p = NULL;
	uint64_t now = shim_now_ns();

	if (len != sizeof(msg)) {
		shim_drop(s, DROP_RX_SHORT);
		return false;
	}
	memcpy(&msg, buf, sizeof(msg));
	p = pending_by_index(s, be32toh(msg.receiver));
	if (!p) {
		shim_drop(s, DROP_RX_UNKNOWN_INDEX);
		return false;
	}
	if (!noise_response_consume(&p->hs, &s->stat, &msg, &kp)) {
		shim_drop(s, DROP_RX_HANDSHAKE);
		return true;
	}
	se = &p->sessions[p->hs_slot];
	if (shim_session_install(s, se, &kp, true, now) < 0) {
		noise_keypair_wipe(&kp);
		shim_drop(s, DROP_RX_HANDSHAKE);
		return true;
	}
	if (p->prev >= 0)
		shim_session_clear(&p->sessions[p->prev]);
	p->prev = p->cur;
	p->cur = p->hs_slot;
	p->hs_pending = false;
	p->hs_slot = -1;
	noise_keypair_wipe(&kp);
	roam(p, from, fromlen);
	session_up(s, p, now);
	return true;
}

/*
 * A peer under load answered our last initiation or response with a
 * cookie: kept for mac2. A pending initiation is sent again at once (once
 * per handshake, so that forged replies cannot make us loop), instead of
 * waiting REKEY_TIMEOUT, so that a flood elsewhere costs a legitimate
 * peer one round trip, not five seconds.
 */
void shim_handshake_cookie(struct shim *s, const uint8_t *buf, size_t len)
{
	struct proto_cookie_reply msg;
	struct session *se;
	struct peer *p;
	uint32_t receiver;
	uint64_t now = shim_now_ns();

	if (len != sizeof(msg)) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	memcpy(&msg, buf, sizeof(msg));
	receiver = be32toh(msg.receiver);
	p = pending_by_index(s, receiver);
	if (!p) {
		se = shim_session_by_index(s, receiver, &p);
		if (!se || shim_session_slot(se->kp.local_index) != p->next)
			p = NULL;
	}
	if (!p) {
		shim_drop(s, DROP_RX_UNKNOWN_INDEX);
		return;
	}
	if (!cookie_reply_consume(&p->cookie, &msg, now)) {
		shim_drop(s, DROP_RX_COOKIE_BAD);
		return;
	}
	p->c.cookies_received++;
	if (p->hs_pending && p->hs.local_index == receiver && !p->hs_cookie_retried) {
		p->hs_cookie_retried = true;
		initiation_send(s, p, now);
	}
}

/* A responder's "next" session is confirmed by its first valid packet. */
void shim_session_confirm(struct shim *s, struct peer *p, int slot)
{
	uint64_t now = shim_now_ns();

	if (slot != p->next)
		return;
	p->sessions[slot].confirmed = true;
	if (p->prev >= 0)
		shim_session_clear(&p->sessions[p->prev]);
	p->prev = p->cur;
	p->cur = slot;
	p->next = -1;
	session_up(s, p, now);
}
