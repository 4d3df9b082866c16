/*
 * shim/send.c - the send half of the data path (TUN -> UDP), with no
 * public-key operation: parse, find the peer owning the destination, check
 * this host's own capability (or that the packet answers a flow the peer
 * opened), refuse at once with RST/ICMP if not, then encrypt under the
 * current session with the epoch in the authenticated header, batched per
 * address family (UDP GSO where the kernel has it). Also the control
 * messages and keepalives, and the queue of packets waiting for a session.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "shim.h"


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
 * The batch's seals, over the workers. One that fails (only an internal
 * error of the library can) leaves zeros behind, which every receiver
 * drops as an unknown type, and is counted.
 */
static void seal_all(struct shim *s, struct tx_batch *b)
{
	workers_run(s->workers, b->jobs, b->njobs);
	for (size_t i = 0; i < b->njobs; i++) {
		struct crypto_job *j = &b->jobs[i];

		if (!j->ok) {
			memset((uint8_t *)j->ad, 0, j->adlen + j->len + AEAD_TAG_LEN);
			shim_drop(s, DROP_TX_SEND_ERROR);
		}
	}
	b->njobs = 0;
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

	seal_all(s, b);
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

/*
 * A datagram as it is (a cookie reply), into the family's batch on its
 * own (never joined to a GSO run); it leaves with the next flush.
 */
int shim_send_raw(struct shim *s, const struct sockaddr_storage *to,
		  socklen_t tolen, const void *buf, size_t len)
{
	bool v6 = to->ss_family == AF_INET6;
	struct tx_batch *b = v6 ? &s->tx6 : &s->tx4;
	struct udp_sock *u = v6 ? &s->udp6 : &s->udp4;
	struct udp_msg *m;

	if (u->fd < 0 || tolen > sizeof(m->addr))
		return -EAFNOSUPPORT;
	if (b->n == UDP_BATCH || b->used + len > SHIM_ARENA)
		batch_flush(s, u, b);
	m = &b->msgs[b->n++];
	m->buf = b->arena + b->used;
	memcpy(m->buf, buf, len);
	m->len = len;
	m->segment = 0;
	memcpy(&m->addr, to, tolen);
	m->addr_len = tolen;
	b->used += len;
	b->segs = 1;
	b->closed = true;
	return 0;
}

/*
 * One message for p into the family's batch: header, plaintext, room for
 * the tag, and a job that seals it in place when the batch is flushed
 * (the workers do a whole batch's seals at once). Data is padded to PROTO_PAD but never past the peer's MTU (its IP
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
	uint8_t nonce[AEAD_NONCE_LEN], *out;
	struct crypto_job *job;
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
	noise_nonce(se->send_counter, nonce);
	se->send_counter++;
	memcpy(out, &hdr, sizeof(hdr));
	if (len)
		memcpy(out + sizeof(hdr), msg, len);
	memset(out + sizeof(hdr) + len, 0, padded - len);
	job = &b->jobs[b->njobs++];
	job->ctx = se->tx;
	memcpy(job->nonce, nonce, sizeof(nonce));
	job->ad = out;
	job->adlen = sizeof(hdr);
	job->text = out + sizeof(hdr);
	job->len = padded;
	job->seal = true;
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

/*
 * Control messages and keepalives (msg NULL) go out at once. One that
 * cannot is counted here (no session, or the send failed), so that no
 * caller's failure goes unseen.
 */
int shim_send_control(struct shim *s, struct peer *p, const uint8_t *msg,
		      size_t len)
{
	struct session *se;
	int ret;

	if (s->mode && s->mode->send_control)
		return s->mode->send_control(s, p, msg, len);
	se = shim_session_send(p, shim_now_ns());
	if (!se) {
		shim_drop(s, DROP_TX_NO_SESSION);
		return -ENOTCONN;
	}
	ret = seal(s, p, se, msg ? PROTO_CONTROL : PROTO_DATA, msg, len);
	if (ret == 0)
		shim_tx_flush(s);
	else
		shim_drop(s, DROP_TX_SEND_ERROR);
	return ret;
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

	if (n && shim_tun_write(s, out, n) < 0)
		shim_drop(s, DROP_RX_TUN_ERROR);
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
		if (!se)
			shim_drop(s, DROP_TX_NO_SESSION);
		else if (seal(s, p, se, PROTO_DATA, p->queue[i].data, p->queue[i].len) < 0)
			shim_drop(s, DROP_TX_SEND_ERROR);
		free(p->queue[i].data);
	}
	p->queue_len = 0;
	shim_tx_flush(s);
}

void shim_queue_drop(struct shim *s, struct peer *p)
{
	/* Packets that waited for a session that will not come: dropped, counted. */
	for (unsigned i = 0; i < p->queue_len; i++) {
		free(p->queue[i].data);
		shim_drop(s, DROP_TX_NO_SESSION);
	}
	p->queue_len = 0;
}

/* An allowed packet on its way to p: sealed now, or queued for a session. */
int shim_send_packet(struct shim *s, struct peer *p, const uint8_t *pkt, size_t len)
{
	struct session *se = shim_session_send(p, s->now);

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

struct frag_ctx {
	struct shim *s;
	struct peer *p;
};

static int frag_out(void *arg, const uint8_t *frag, size_t len)
{
	struct frag_ctx *fc = arg;

	return shim_send_packet(fc->s, fc->p, frag, len);
}

/*
 * Larger than the path to p: IPv4 without DF is fragmented (as a router
 * would), anything else is dropped and the sender told the MTU.
 */
static int too_big(struct shim *s, struct peer *p, const uint8_t *pkt, size_t len,
		   const struct inet_flow *f)
{
	uint8_t out[SHIM_MTU_MAX];	/* not s->buf2: see refuse() */
	struct frag_ctx fc = { s, p };
	size_t n;

	if (!f->df && inet_fragment4(pkt, len, p->mtu, out, frag_out, &fc) > 0)
		return 0;
	shim_drop(s, DROP_TX_TOO_BIG);
	if (f->df && (n = inet_too_big(pkt, len, f, p->mtu, out)) &&
	    shim_tun_write(s, out, n) < 0)
		shim_drop(s, DROP_RX_TUN_ERROR);
	return 0;
}

/* One inner packet from the TUN. */
static int outbound(void *arg, const uint8_t *pkt, size_t len)
{
	struct shim *s = arg;
	enum conntrack_verdict v;
	struct inet_flow f;
	struct peer *p;

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
	v = conntrack_judge(s->ct, &f, CONNTRACK_OUT, mask_bit_test(&s->cap.mask, p->bit),
			    s->cfg.strict, (uint16_t)shim_peer_no(s, p), s->now);
	if (v == CT_DENY_ICMP && !s->cfg.skip_sender_check) {
		/* The local stack's error about no flow with that peer: nobody to answer. */
		shim_drop(s, DROP_TX_ICMP_UNRELATED);
		return 0;
	}
	if (v == CT_DENY && !s->cfg.skip_sender_check) {
		shim_drop(s, DROP_TX_DENIED);
		p->c.tx_denied++;
		refuse(s, pkt, len, &f);
		shim_flow_denied_tx(s, p, &f, NULL, FLOWREC_VIA_TUN, NULL);
		return 0;
	}
send:
	if (len > p->mtu)
		return too_big(s, p, pkt, len, &f);
	return shim_send_packet(s, p, pkt, len);
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

