/*
 * shim/receive.c - the receive half of the data path (UDP -> TUN), with no
 * public-key operation: length and type, session by index, replay check,
 * decrypt, replay update, inner source belongs to the peer, inner
 * destination is us, capability for the epoch known and current, our bit
 * set (or a reply to a flow we opened), deliver. Handshake messages go to
 * handshake.c, control messages to their handlers.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "shim.h"

#define DP_NS UINT64_C(1000000000)
#define EPOCH_REQUEST_GAP_NS UINT64_C(200000000)
#define ANNOUNCE_GAP_NS UINT64_C(100000000)

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

int shim_tun_write(struct shim *s, const uint8_t *pkt, size_t len)
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
		shim_flow_reported(s, p, msg);
		return;
	}
	if (len >= 1 && msg[0] == PROTO_CTL_OBJECT) {
		shim_object_receive(s, p, msg, len);
		return;
	}
	if (len >= 1 && msg[0] == PROTO_CTL_INVENTORY) {
		shim_sync_receive(s, p, msg, len);
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
	enum conntrack_verdict v;

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
		shim_flow_denied_rx(s, p, epoch, FLOWREC_R_UNKNOWN_EPOCH, &f, FLOWREC_VIA_TUN);
		epoch_request(s, p, epoch);
		return;
	}
	if (cap->superseded) {
		shim_drop(s, DROP_RX_STALE_EPOCH);
		shim_flow_denied_rx(s, p, epoch, FLOWREC_R_STALE_EPOCH, &f, FLOWREC_VIA_TUN);
		return;
	}
	v = conntrack_judge(s->ct, &f, CONNTRACK_IN, mask_bit_test(&cap->mask, s->self.bit),
			    s->cfg.strict, (uint16_t)shim_peer_no(s, p), s->now);
	if (v == CT_DENY_ICMP) {
		/* An error not from the quoted packet's destination, or about no flow. */
		shim_drop(s, DROP_RX_ICMP_UNRELATED);
		shim_log_denied(s, "receiver", p, cap->users, epoch, &f,
				"ICMP error about no flow of the sender's");
		return;
	}
	if (v == CT_DENY) {
		shim_drop(s, DROP_RX_DENIED);
		p->c.rx_denied++;
		shim_flow_denied_rx(s, p, epoch, FLOWREC_R_CAPABILITY, &f, FLOWREC_VIA_TUN);
		return;
	}
deliver:
	p->c.rx_packets++;
	p->c.rx_bytes += len;
	if (s->tun.vnet ? offload_gro_add(&s->gro, pkt, len, gro_write, s) < 0 :
			  shim_tun_write(s, pkt, len) < 0)
		shim_drop(s, DROP_RX_TUN_ERROR);
}

/* A data or control datagram of a received batch, between its checks and its open. */
struct rx_item {
	struct proto_data_hdr hdr;
	struct session *se;		/* as looked up before the open */
	uint8_t *buf;
	size_t len;
	const struct sockaddr *from;
	socklen_t fromlen;
};

struct rx_item *shim_rx_items_alloc(void)
{
	return calloc(SHIM_JOBS, sizeof(struct rx_item));
}

/*
 * The checks before the AEAD: length and type, session by index, age,
 * replay window (read only). A handshake message is queued for
 * hsqueue.c, after the data. True if the datagram is to be opened (it is
 * then in it and job).
 */
static bool rx_prepare(struct shim *s, uint8_t *buf, size_t len,
		       const struct sockaddr *from, socklen_t fromlen,
		       struct rx_item *it, struct crypto_job *job)
{
	struct session *se;
	struct peer *p = NULL;

	if (len < 4) {
		shim_drop(s, DROP_RX_SHORT);
		return false;
	}
	if (buf[1] || buf[2] || buf[3]) {
		shim_drop(s, DROP_RX_TYPE);
		return false;
	}
	switch (buf[0]) {
	case PROTO_INITIATION:
	case PROTO_RESPONSE:
	case PROTO_COOKIE_REPLY:
		shim_handshake_enqueue(s, buf, len, from, fromlen);
		return false;
	case PROTO_DATA:
	case PROTO_CONTROL:
		break;
	default:
		shim_drop(s, DROP_RX_TYPE);
		return false;
	}
	if (len < PROTO_OVERHEAD) {
		shim_drop(s, DROP_RX_SHORT);
		return false;
	}
	memcpy(&it->hdr, buf, sizeof(it->hdr));
	se = shim_session_by_index(s, be32toh(it->hdr.receiver), &p);
	if (!se) {
		shim_drop(s, DROP_RX_UNKNOWN_INDEX);
		return false;
	}
	if (s->now - se->created_ns > PROTO_REJECT_AFTER_TIME_S * DP_NS) {
		shim_drop(s, DROP_RX_SESSION_EXPIRED);
		return false;
	}
	if (!replay_check(&se->replay, be64toh(it->hdr.counter))) {
		shim_drop(s, DROP_RX_REPLAY);
		return false;
	}
	it->se = se;
	it->buf = buf;
	it->len = len;
	it->from = from;
	it->fromlen = fromlen;
	job->ctx = se->rx;
	noise_nonce(be64toh(it->hdr.counter), job->nonce);
	job->ad = buf;
	job->adlen = sizeof(it->hdr);
	job->text = buf + sizeof(it->hdr);
	job->len = len - sizeof(it->hdr);
	job->seal = false;
	return true;
}

/*
 * After the AEAD, in arrival order: the tag, the session still the one
 * the index named (an earlier datagram of the batch may have retired
 * it), the replay window marked, then the endpoint, the responder's
 * confirmation, and the message itself.
 */
static void rx_finish(struct shim *s, const struct rx_item *it, bool opened)
{
	uint32_t index = be32toh(it->hdr.receiver);
	struct session *se;
	struct peer *p = NULL;
	size_t plen = it->len - PROTO_OVERHEAD;
	uint8_t *msg = it->buf + sizeof(it->hdr);
	int slot;

	if (!opened) {
		shim_drop(s, DROP_RX_DECRYPT);
		return;
	}
	se = shim_session_by_index(s, index, &p);
	if (!se || se != it->se) {
		shim_drop(s, DROP_RX_UNKNOWN_INDEX);
		return;
	}
	if (!replay_update(&se->replay, be64toh(it->hdr.counter))) {
		shim_drop(s, DROP_RX_REPLAY);
		return;
	}
	slot = shim_session_slot(index);
	p->last_rx_ns = s->now;
	p->unanswered_tx_ns = 0;
	if (it->fromlen <= sizeof(p->endpoint)) {
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		memcpy(&p->endpoint, it->from, it->fromlen);
		p->endpoint_len = it->fromlen;
	}
	if (slot == p->next)
		shim_session_confirm(s, p, slot);
	if (it->hdr.type == PROTO_CONTROL) {
		control(s, p, msg, plen);
		return;
	}
	if (plen == 0)
		return;
	inbound(s, p, be32toh(it->hdr.epoch), msg, plen);
}

/*
 * One datagram on its own: data/control under a session, served at once;
 * a handshake message is queued for hsqueue.c, after the data.
 */
void shim_rx_datagram(struct shim *s, uint8_t *buf, size_t len,
		     const struct sockaddr *from, socklen_t fromlen)
{
	struct crypto_job job;
	struct rx_item it;

	if (!rx_prepare(s, buf, len, from, fromlen, &it, &job))
		return;
	workers_run(NULL, &job, 1);
	rx_finish(s, &it, job.ok);
}

/*
 * A batch: the checks of every datagram (each GRO run cut into its
 * datagrams), then all the opens at once over the workers, then each
 * datagram in the order it came.
 */
void shim_rx_batch(struct shim *s, struct udp_msg *msgs, unsigned n)
{
	size_t k = 0;

	s->gro.udp = s->tun.uso;
	for (unsigned i = 0; i < n; i++) {
		struct udp_msg *m = &msgs[i];
		size_t seg = m->segment ? m->segment : m->len;

		for (size_t off = 0; off < m->len && k < SHIM_JOBS; off += seg) {
			size_t l = m->len - off < seg ? m->len - off : seg;

			if (rx_prepare(s, m->buf + off, l, (const struct sockaddr *)&m->addr,
				       m->addr_len, &s->rx_items[k], &s->rx_jobs[k]))
				k++;
		}
	}
	workers_run(s->workers, s->rx_jobs, k);
	for (size_t i = 0; i < k; i++)
		rx_finish(s, &s->rx_items[i], s->rx_jobs[i].ok);
	if (s->tun.vnet)
		offload_gro_flush(&s->gro, gro_write, s);
	shim_tx_flush(s);
}

void shim_udp_readable(struct shim *s, struct udp_sock *u)
{
	for (int round = 0; round < 4; round++) {
		int n = udp_recv_batch(u, s->rx, UDP_BATCH);

		if (n <= 0)
			break;
		s->now = shim_now_ns();
		shim_rx_batch(s, s->rx, (unsigned)n);
		if (n < UDP_BATCH)
			break;
	}
}
