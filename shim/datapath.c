/*
 * shim/datapath.c - the per-packet work, with no public-key operation:
 *
 *   send (TUN -> UDP): parse, find the peer owning the destination, check
 *     this host's own capability (or that the packet answers a flow the
 *     peer opened), refuse at once with RST/ICMP if not, then encrypt
 *     under the current session with the epoch in the authenticated header.
 *   receive (UDP -> TUN): length and type, session by index, replay check,
 *     decrypt, replay update, inner source belongs to the peer, inner
 *     destination is us, capability for the epoch known and current, our
 *     bit set (or a reply to a flow we opened), deliver.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "shim.h"

#define DP_NS UINT64_C(1000000000)
#define EPOCH_REQUEST_GAP_NS UINT64_C(200000000)
#define ANNOUNCE_GAP_NS UINT64_C(100000000)
#define DENIED_REPORT_GAP_NS UINT64_C(50000000)

static const char *const drop_names[DROP_COUNT] = {
	[DROP_RX_SHORT] = "rx_short",
	[DROP_RX_TYPE] = "rx_type",
	[DROP_RX_MAC1] = "rx_mac1",
	[DROP_RX_HANDSHAKE] = "rx_handshake",
	[DROP_RX_UNKNOWN_KEY] = "rx_unknown_key",
	[DROP_RX_HANDSHAKE_REPLAY] = "rx_handshake_replay",
	[DROP_RX_UNKNOWN_INDEX] = "rx_unknown_index",
	[DROP_RX_SESSION_EXPIRED] = "rx_session_expired",
	[DROP_RX_REPLAY] = "rx_replay",
	[DROP_RX_DECRYPT] = "rx_decrypt",
	[DROP_RX_MALFORMED_INNER] = "rx_malformed_inner",
	[DROP_RX_SOURCE] = "rx_source",
	[DROP_RX_UNKNOWN_EPOCH] = "rx_unknown_epoch",
	[DROP_RX_STALE_EPOCH] = "rx_stale_epoch",
	[DROP_RX_DENIED] = "rx_denied",
	[DROP_RX_NOT_FOR_US] = "rx_not_for_us",
	[DROP_RX_ANNOUNCE_BAD] = "rx_announce_bad",
	[DROP_RX_CONTROL_BAD] = "rx_control_bad",
	[DROP_TX_NO_PEER] = "tx_no_peer",
	[DROP_TX_DENIED] = "tx_denied",
	[DROP_TX_TOO_BIG] = "tx_too_big",
	[DROP_TX_NO_SESSION] = "tx_no_session",
	[DROP_TX_MALFORMED] = "tx_malformed",
	[DROP_TX_SEND_ERROR] = "tx_send_error",
};

const char *shim_drop_name(enum shim_drop d)
{
	return (unsigned)d < DROP_COUNT ? drop_names[d] : "unknown";
}

void shim_drop(struct shim *s, enum shim_drop d)
{
	s->drops[d]++;
}

int shim_datapath_init(struct shim *s)
{
	s->tx4.arena = malloc(SHIM_ARENA);
	s->tx6.arena = malloc(SHIM_ARENA);
	s->rxbufs = malloc((size_t)UDP_BATCH * UDP_BUF_MAX);
	s->buf = malloc(SHIM_PKT_MAX);
	s->buf2 = malloc(SHIM_PKT_MAX);
	if (!s->tx4.arena || !s->tx6.arena || !s->rxbufs || !s->buf || !s->buf2) {
		shim_datapath_free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		s->rx[i].buf = s->rxbufs + (size_t)i * UDP_BUF_MAX;
		s->rx[i].cap = UDP_BUF_MAX;
	}
	offload_gro_init(&s->gro);
	return 0;
}

void shim_datapath_free(struct shim *s)
{
	free(s->tx4.arena);
	free(s->tx6.arena);
	free(s->rxbufs);
	free(s->buf);
	free(s->buf2);
	s->tx4.arena = s->tx6.arena = s->rxbufs = s->buf = s->buf2 = NULL;
}

/* The peer a queued datagram goes to, by endpoint. */
static struct peer *peer_by_endpoint(struct shim *s, const struct udp_msg *m)
{
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->endpoint_len == m->addr_len &&
		    memcmp(&p->endpoint, &m->addr, m->addr_len) == 0)
			return p;
	}
	return NULL;
}

/*
 * The largest inner packet that fits the path to p: the kernel's path MTU
 * less the outer IP and UDP headers and our overhead, at most the TUN MTU.
 */
void shim_peer_mtu_update(struct shim *s, struct peer *p)
{
	struct udp_sock *u = p->endpoint.ss_family == AF_INET6 ? &s->udp6 : &s->udp4;
	unsigned outer = p->endpoint.ss_family == AF_INET6 ? 48 : 28;
	int pmtu;

	if (p->endpoint_len == 0 || u->fd < 0)
		return;
	pmtu = udp_path_mtu(u, (const struct sockaddr *)&p->endpoint, p->endpoint_len);
	if (pmtu <= (int)(outer + PROTO_OVERHEAD + 576))
		return;
	p->mtu = (unsigned)pmtu - outer - PROTO_OVERHEAD;
	if (p->mtu > s->cfg.mtu)
		p->mtu = s->cfg.mtu;
}

static void wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	poll(&pfd, 1, 2);
}

/*
 * Sends the batch. A message the kernel refuses is dropped alone (and on
 * EMSGSIZE its peer's MTU is looked up again, so that the next packet that
 * large gets an ICMP answer); a full socket gets one short wait.
 */
static void batch_flush(struct shim *s, struct udp_sock *u, struct tx_batch *b)
{
	unsigned done = 0;
	bool waited = false;

	while (done < b->n) {
		int ret = udp_send_batch(u, b->msgs + done, b->n - done);

		if (ret > 0) {
			done += (unsigned)ret;
			continue;
		}
		if (ret == 0 && !waited) {
			wait_writable(u->fd);
			waited = true;
			continue;
		}
		if (ret == -EMSGSIZE) {
			struct peer *p = peer_by_endpoint(s, &b->msgs[done]);

			if (p)
				shim_peer_mtu_update(s, p);
		}
		shim_drop(s, DROP_TX_SEND_ERROR);
		done++;
	}
	b->n = 0;
	b->used = 0;
	b->segs = 0;
	b->closed = false;
}

void shim_tx_flush(struct shim *s)
{
	if (s->tx4.n)
		batch_flush(s, &s->udp4, &s->tx4);
	if (s->tx6.n)
		batch_flush(s, &s->udp6, &s->tx6);
}

static void nonce_of(uint64_t counter, uint8_t nonce[12])
{
	uint64_t be = htobe64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &be, sizeof(be));
}

/*
 * Encrypts one message for p into the family's batch: header, plaintext,
 * tag. Data is padded to PROTO_PAD but never past the peer's MTU (its IP
 * header gives the true length); control messages are not padded, since
 * their length is part of them.
 */
static int seal(struct shim *s, struct peer *p, struct session *se,
		uint8_t type, const uint8_t *msg, size_t len)
{
	bool v6 = p->endpoint.ss_family == AF_INET6;
	struct tx_batch *b = v6 ? &s->tx6 : &s->tx4;
	struct udp_sock *u = v6 ? &s->udp6 : &s->udp4;
	size_t padded = len;

	size_t dlen = padded + PROTO_OVERHEAD;
	struct proto_data_hdr hdr;
	uint8_t nonce[12], *out;
	unsigned long long clen = 0;
	struct udp_msg *m;
	bool join;

	if (type == PROTO_DATA) {
		padded = (len + PROTO_PAD - 1) / PROTO_PAD * PROTO_PAD;
		if (padded > p->mtu)
			padded = len > p->mtu ? len : p->mtu;
		dlen = padded + PROTO_OVERHEAD;
	}
	if (u->fd < 0 || p->endpoint_len == 0)
		return -EDESTADDRREQ;
	if (dlen > SHIM_GSO_MAX)
		return -EMSGSIZE;
	m = b->n ? &b->msgs[b->n - 1] : NULL;
	join = u->gso && m && !b->closed && b->segs < UDP_GSO_MAX_SEGS &&
	       dlen <= (m->segment ? m->segment : m->len) &&
	       m->len + dlen <= SHIM_GSO_MAX && m->addr_len == p->endpoint_len &&
	       memcmp(&m->addr, &p->endpoint, m->addr_len) == 0;
	if (!join && (b->n == UDP_BATCH || b->used + dlen > SHIM_ARENA)) {
		batch_flush(s, u, b);
		m = NULL;
	}
	out = b->arena + b->used;
	hdr.type = type;
	memset(hdr.reserved, 0, sizeof(hdr.reserved));
	hdr.receiver = htobe32(se->kp.remote_index);
	hdr.counter = htobe64(se->send_counter);
	hdr.epoch = htobe32(s->cap.epoch);
	nonce_of(se->send_counter, nonce);
	se->send_counter++;
	memcpy(out, &hdr, sizeof(hdr));
	if (len)
		memcpy(out + sizeof(hdr), msg, len);
	memset(out + sizeof(hdr) + len, 0, padded - len);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(
		    out + sizeof(hdr), &clen, out + sizeof(hdr), padded,
		    out, sizeof(hdr), NULL, nonce, se->kp.send) != 0)
		return -EIO;
	b->used += dlen;
	if (join) {
		if (m->segment == 0)
			m->segment = (uint16_t)m->len;
		b->closed = dlen < m->segment;
		m->len += dlen;
		b->segs++;
	} else {
		m = &b->msgs[b->n++];
		m->buf = out;
		m->len = dlen;
		m->segment = 0;
		memcpy(&m->addr, &p->endpoint, p->endpoint_len);
		m->addr_len = p->endpoint_len;
		b->segs = 1;
		b->closed = false;
	}
	p->last_tx_ns = s->now ? s->now : shim_now_ns();
	if (type == PROTO_DATA && len && !p->unanswered_tx_ns)
		p->unanswered_tx_ns = p->last_tx_ns;
	p->c.tx_packets++;
	p->c.tx_bytes += len;
	return 0;
}

/* Control messages and keepalives (msg NULL) go out at once. */
int shim_send_control(struct shim *s, struct peer *p, const uint8_t *msg,
		      size_t len)
{
	struct session *se;
	int ret;

	if (s->mode && s->mode->send_control)
		return s->mode->send_control(s, p, msg, len);
	se = shim_session_send(p, shim_now_ns());
	if (!se)
		return -ENOTCONN;
	ret = seal(s, p, se, msg ? PROTO_CONTROL : PROTO_DATA, msg, len);
	if (ret == 0)
		shim_tx_flush(s);
	return ret;
}

static int gro_write(void *arg, const struct virtio_net_hdr *vh,
		     const uint8_t *pkt, size_t len)
{
	struct shim *s = arg;
	struct iovec iov[2] = {
		{ .iov_base = (void *)vh, .iov_len = sizeof(*vh) },
		{ .iov_base = (void *)pkt, .iov_len = len },
	};

	return writev(s->tun.fd, iov, 2) < 0 ? -errno : 0;
}

static int tun_write(struct shim *s, const uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2];
	ssize_t n;

	memset(&vh, 0, sizeof(vh));
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = (void *)pkt;
	iov[1].iov_len = len;
	if (s->tun.vnet)
		n = writev(s->tun.fd, iov, 2);
	else
		n = write(s->tun.fd, pkt, len);
	return n < 0 ? -errno : 0;
}

/*
 * Answers the local application at once instead of letting it time out.
 * The answer gets its own buffer: with offloads, pkt may be a segment
 * offload_split() made in s->buf2, which the answer quotes.
 */
static void refuse(struct shim *s, const uint8_t *pkt, size_t len,
		   const struct inet_flow *f)
{
	uint8_t out[INET_REJECT_MAX];
	size_t n = inet_reject(pkt, len, f, out);

	if (n)
		tun_write(s, out, n);
}

static void enqueue(struct shim *s, struct peer *p, const uint8_t *pkt, size_t len)
{
	uint8_t *copy;

	if (p->queue_len == SHIM_QUEUE) {
		free(p->queue[0].data);
		memmove(p->queue, p->queue + 1, (SHIM_QUEUE - 1) * sizeof(p->queue[0]));
		p->queue_len--;
		shim_drop(s, DROP_TX_NO_SESSION);
	}
	copy = malloc(len);
	if (!copy) {
		shim_drop(s, DROP_TX_NO_SESSION);
		return;
	}
	memcpy(copy, pkt, len);
	p->queue[p->queue_len].data = copy;
	p->queue[p->queue_len].len = (uint16_t)len;
	p->queue_len++;
}

void shim_flush_queue(struct shim *s, struct peer *p)
{
	struct session *se = shim_session_send(p, shim_now_ns());

	for (unsigned i = 0; i < p->queue_len; i++) {
		if (!se || seal(s, p, se, PROTO_DATA, p->queue[i].data,
				p->queue[i].len) < 0)
			shim_drop(s, DROP_TX_NO_SESSION);
		free(p->queue[i].data);
	}
	p->queue_len = 0;
	shim_tx_flush(s);
}

/*
 * Tells the peer we refused a flow to it, so that the receiving end
 * records the refusal too (it never sees the packet). Rate-limited per
 * peer; without a session there is no one to tell.
 */
static void report_denied(struct shim *s, struct peer *p, const struct inet_flow *f)
{
	struct proto_denied d;

	if (p->denied_report_ns && s->now - p->denied_report_ns < DENIED_REPORT_GAP_NS)
		return;
	if (!shim_session_send(p, s->now))
		return;
	memset(&d, 0, sizeof(d));
	d.ctl = PROTO_CTL_DENIED;
	d.proto = f->proto;
	d.epoch = htobe32(s->cap.epoch);
	d.sport = htobe16(f->sport);
	d.dport = htobe16(f->dport);
	memcpy(d.src, &f->src, sizeof(d.src));
	memcpy(d.dst, &f->dst, sizeof(d.dst));
	p->denied_report_ns = s->now;
	shim_send_control(s, p, (const uint8_t *)&d, sizeof(d));
}

/* A peer's report that it refused a flow to us: logged with its users. */
void shim_denied_reported(struct shim *s, struct peer *p, const uint8_t *msg)
{
	const struct peer_cap *cap;
	struct proto_denied d;
	struct inet_flow f;

	memcpy(&d, msg, sizeof(d));
	memset(&f, 0, sizeof(f));
	f.proto = d.proto;
	f.sport = be16toh(d.sport);
	f.dport = be16toh(d.dport);
	memcpy(&f.src, d.src, sizeof(f.src));
	memcpy(&f.dst, d.dst, sizeof(f.dst));
	cap = shim_peer_cap(p, be32toh(d.epoch));
	p->c.denied_reported++;
	shim_log_denied(s, "receiver, refused at the sender", p, cap ? cap->users : "?",
			be32toh(d.epoch), &f, "sender's capability lacks this host");
}

/* One inner packet from the TUN. */
static int outbound(void *arg, const uint8_t *pkt, size_t len)
{
	struct shim *s = arg;
	struct inet_flow f;
	struct session *se;
	struct peer *p;
	bool allowed;

	if (!inet_parse(pkt, len, &f)) {
		shim_drop(s, DROP_TX_MALFORMED);
		return 0;
	}
	p = shim_peer_by_addr(s, &f.dst);
	if (!p || p->disabled) {
		shim_drop(s, DROP_TX_NO_PEER);
		return 0;
	}
	if (s->cfg.no_cap_check)
		goto send;
	allowed = mask_bit_test(&s->cap.mask, p->bit);
	if (!allowed && !s->cfg.strict && conntrack_is_reply(s->ct, &f, s->now))
		allowed = true;
	else if (allowed)
		conntrack_note(s->ct, &f, s->now);
	if (!allowed && !s->cfg.skip_sender_check) {
		shim_drop(s, DROP_TX_DENIED);
		p->c.tx_denied++;
		shim_log_denied(s, "sender", p, s->cap.users, s->cap.epoch, &f,
				"own capability lacks the destination");
		refuse(s, pkt, len, &f);
		report_denied(s, p, &f);
		return 0;
	}
send:
	if (len > p->mtu) {
		uint8_t big[INET_REJECT_MAX];	/* not s->buf2: see refuse() */
		size_t n;

		shim_drop(s, DROP_TX_TOO_BIG);
		if (f.df && (n = inet_too_big(pkt, len, &f, p->mtu, big)))
			tun_write(s, big, n);
		if (f.df)
			return 0;
	}
	se = shim_session_send(p, s->now);
	if (!se) {
		enqueue(s, p, pkt, len);
		if (!p->hs_pending)
			shim_handshake_start(s, p);
		return 0;
	}
	if (seal(s, p, se, PROTO_DATA, pkt, len) < 0)
		shim_drop(s, DROP_TX_SEND_ERROR);
	return 0;
}

enum { TUN_BURST = 64 };

void shim_tun_readable(struct shim *s)
{
	struct virtio_net_hdr vh;

	s->now = shim_now_ns();
	for (unsigned i = 0; i < TUN_BURST; i++) {
		ssize_t n = read(s->tun.fd, s->buf, SHIM_PKT_MAX);

		if (n <= 0)
			break;
		if (!s->tun.vnet) {
			outbound(s, s->buf, (size_t)n);
			continue;
		}
		if ((size_t)n < sizeof(vh)) {
			shim_drop(s, DROP_TX_MALFORMED);
			continue;
		}
		memcpy(&vh, s->buf, sizeof(vh));
		if (offload_split(&vh, s->buf + sizeof(vh), (size_t)n - sizeof(vh),
				  s->buf2, SHIM_PKT_MAX, outbound, s) < 0)
			shim_drop(s, DROP_TX_MALFORMED);
	}
	shim_tx_flush(s);
}

static void epoch_request(struct shim *s, struct peer *p, uint32_t epoch)
{
	struct proto_epoch_request rq;

	if (p->epoch_request_ns && s->now - p->epoch_request_ns < EPOCH_REQUEST_GAP_NS)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.ctl = PROTO_CTL_EPOCH_REQUEST;
	rq.epoch = htobe32(epoch);
	p->epoch_request_ns = s->now;
	shim_send_control(s, p, (const uint8_t *)&rq, sizeof(rq));
}

static void control(struct shim *s, struct peer *p, const uint8_t *msg, size_t len)
{
	if (len >= 1 && msg[0] == PROTO_CTL_ANNOUNCE) {
		if (!shim_announce_receive(s, p, msg, len))
			shim_drop(s, DROP_RX_ANNOUNCE_BAD);
		return;
	}
	if (len == sizeof(struct proto_denied) && msg[0] == PROTO_CTL_DENIED) {
		shim_denied_reported(s, p, msg);
		return;
	}
	if (len >= 1 && msg[0] == PROTO_CTL_OBJECT) {
		shim_object_receive(s, p, msg, len);
		return;
	}
	if (len == sizeof(struct proto_epoch_request) &&
	    msg[0] == PROTO_CTL_EPOCH_REQUEST) {
		if (s->now - p->announce_sent_ns < ANNOUNCE_GAP_NS)
			return;
		if (shim_send_control(s, p, s->cap.msg, s->cap.msg_len) == 0) {
			p->announce_sent_ns = s->now;
			p->announced_epoch = s->cap.epoch;
		}
		return;
	}
	shim_drop(s, DROP_RX_CONTROL_BAD);
}

static bool own_addr(const struct shim *s, const struct in6_addr *a)
{
	struct in6_addr mine;

	if (s->self.flags & WIRE_HOST_OVERLAY4) {
		struct in_addr v4;

		memcpy(&v4, s->self.overlay4, sizeof(v4));
		inet_addr_from4(&mine, &v4);
		if (memcmp(&mine, a, sizeof(mine)) == 0)
			return true;
	}
	return (s->self.flags & WIRE_HOST_OVERLAY6) &&
	       memcmp(s->self.overlay6, a, sizeof(*a)) == 0;
}

/* One inner packet from peer p, decrypted and authenticated. */
static void inbound(struct shim *s, struct peer *p, uint32_t epoch,
		    uint8_t *pkt, size_t len)
{
	const struct peer_cap *cap;
	struct inet_flow f;
	bool allowed;

	if (!inet_parse(pkt, len, &f) || f.total_len > len) {
		shim_drop(s, DROP_RX_MALFORMED_INNER);
		return;
	}
	len = f.total_len;
	if (!((p->has4 && memcmp(&f.src, &p->overlay4, sizeof(f.src)) == 0) ||
	      (p->has6 && memcmp(&f.src, &p->overlay6, sizeof(f.src)) == 0))) {
		shim_drop(s, DROP_RX_SOURCE);
		return;
	}
	if (!own_addr(s, &f.dst)) {
		shim_drop(s, DROP_RX_NOT_FOR_US);
		return;
	}
	if (s->cfg.no_cap_check)
		goto deliver;
	cap = shim_peer_cap(p, epoch);
	if (!cap) {
		shim_drop(s, DROP_RX_UNKNOWN_EPOCH);
		epoch_request(s, p, epoch);
		return;
	}
	if (cap->superseded) {
		shim_drop(s, DROP_RX_STALE_EPOCH);
		return;
	}
	allowed = mask_bit_test(&cap->mask, s->self.bit);
	if (!allowed && !s->cfg.strict && conntrack_is_reply(s->ct, &f, s->now))
		allowed = true;
	else if (allowed)
		conntrack_note(s->ct, &f, s->now);
	if (!allowed) {
		shim_drop(s, DROP_RX_DENIED);
		p->c.rx_denied++;
		shim_log_denied(s, "receiver", p, cap->users, epoch, &f,
				"sender's capability lacks this host");
		return;
	}
deliver:
	p->c.rx_packets++;
	p->c.rx_bytes += len;
	if (s->tun.vnet ? offload_gro_add(&s->gro, pkt, len, gro_write, s) < 0 :
			  tun_write(s, pkt, len) < 0)
		shim_drop(s, DROP_TX_SEND_ERROR);
}

/* One datagram: a handshake message, or data/control under a session. */
void shim_rx_datagram(struct shim *s, uint8_t *buf, size_t len,
		     const struct sockaddr *from, socklen_t fromlen)
{
	struct proto_data_hdr hdr;
	unsigned long long plen = 0;
	uint8_t nonce[12];
	struct session *se;
	struct peer *p = NULL;
	uint64_t counter;
	int slot;

	if (len < 4) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	if (buf[1] || buf[2] || buf[3]) {
		shim_drop(s, DROP_RX_TYPE);
		return;
	}
	switch (buf[0]) {
	case PROTO_INITIATION:
		shim_handshake_initiation(s, buf, len, from, fromlen);
		return;
	case PROTO_RESPONSE:
		shim_handshake_response(s, buf, len, from, fromlen);
		return;
	case PROTO_DATA:
	case PROTO_CONTROL:
		break;
	default:
		shim_drop(s, DROP_RX_TYPE);
		return;
	}
	if (len < PROTO_OVERHEAD) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	se = shim_session_by_index(s, be32toh(hdr.receiver), &p);
	if (!se) {
		shim_drop(s, DROP_RX_UNKNOWN_INDEX);
		return;
	}
	if (s->now - se->created_ns > PROTO_REJECT_AFTER_TIME_S * DP_NS) {
		shim_drop(s, DROP_RX_SESSION_EXPIRED);
		return;
	}
	counter = be64toh(hdr.counter);
	if (!replay_check(&se->replay, counter)) {
		shim_drop(s, DROP_RX_REPLAY);
		return;
	}
	nonce_of(counter, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		    buf + sizeof(hdr), &plen, NULL, buf + sizeof(hdr),
		    len - sizeof(hdr), buf, sizeof(hdr), nonce, se->kp.recv) != 0) {
		shim_drop(s, DROP_RX_DECRYPT);
		return;
	}
	if (!replay_update(&se->replay, counter)) {
		shim_drop(s, DROP_RX_REPLAY);
		return;
	}
	slot = (int)(se->kp.local_index & ((1u << SHIM_INDEX_PEER_SHIFT) - 1));
	p->last_rx_ns = s->now;
	p->unanswered_tx_ns = 0;
	if (fromlen <= sizeof(p->endpoint)) {
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		memcpy(&p->endpoint, from, fromlen);
		p->endpoint_len = fromlen;
	}
	if (slot == p->next)
		shim_session_confirm(s, p, slot);
	if (hdr.type == PROTO_CONTROL) {
		control(s, p, buf + sizeof(hdr), (size_t)plen);
		return;
	}
	if (plen == 0)
		return;
	inbound(s, p, be32toh(hdr.epoch), buf + sizeof(hdr), (size_t)plen);
}

void shim_udp_readable(struct shim *s, struct udp_sock *u)
{
	for (int round = 0; round < 4; round++) {
		int n = udp_recv_batch(u, s->rx, UDP_BATCH);

		if (n <= 0)
			break;
		s->now = shim_now_ns();
		for (int i = 0; i < n; i++) {
			struct udp_msg *m = &s->rx[i];
			size_t seg = m->segment ? m->segment : m->len;

			for (size_t off = 0; off < m->len; off += seg) {
				size_t l = m->len - off < seg ? m->len - off : seg;

				shim_rx_datagram(s, m->buf + off, l,
					 (const struct sockaddr *)&m->addr, m->addr_len);
			}
		}
		if (s->tun.vnet)
			offload_gro_flush(&s->gro, gro_write, s);
		shim_tx_flush(s);
		if (n < UDP_BATCH)
			break;
	}
}
