/*
 * shim/attach_net.c - attach mode's control channel (attach_proto.h): one
 * UDP socket on the mesh interface (SO_BINDTODEVICE), control messages
 * cut into chunks to peers' overlay addresses, reassembled per peer, and
 * handed to the same code the tunnel uses (announce.c, update.c).
 *
 * A datagram counts as from peer P only if its source is one of P's
 * signed overlay addresses and it came in on the mesh interface, which
 * authenticated that source. Cheap checks (length, magic, chunk fields)
 * come before any work; announcements are verified once per epoch.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "attach.h"

#define NS UINT64_C(1000000000)
#define EPOCH_REQUEST_GAP_NS (NS / 5)
#define ANNOUNCE_GAP_NS (NS / 10)
#define DENIED_REPORT_GAP_NS (NS / 20)

static struct attach_peer_state *state_of(struct shim *s, struct peer *p)
{
	return &attach_of(s)->ps[p - s->peers];
}

int attach_net_open(struct shim *s, struct attach_state *a)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(s->cfg.port) };
	int fd, off = 0, one = 1;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->cfg.attach,
		       (socklen_t)strlen(s->cfg.attach)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		int ret = -errno;

		shim_log(LOG_ERR, "control channel: UDP port %u on %s: %s", s->cfg.port,
			 s->cfg.attach, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	a->udp_fd = fd;
	a->ev_udp.fd = fd;
	a->ev_udp.fn = attach_net_readable;
	return shim_ev_add(s, &a->ev_udp);
}

/* Sends msg to p in chunks; 0 or -errno. */
int attach_net_send(struct shim *s, struct peer *p, const uint8_t *msg, size_t len)
{
	struct attach_state *a = attach_of(s);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(s->cfg.port) };
	uint8_t dgram[sizeof(struct attach_chunk) + ATTACH_CHUNK_DATA];
	struct attach_chunk h;
	size_t count = (len + ATTACH_CHUNK_DATA - 1) / ATTACH_CHUNK_DATA;
	int ret = 0;

	if (p->disabled)
		return -EKEYREJECTED;
	if (len == 0 || len > PROTO_CONTROL_MAX)
		return -EMSGSIZE;
	to.sin6_addr = p->has4 ? p->overlay4 : p->overlay6;
	memcpy(h.magic, ATTACH_MAGIC, 4);
	h.version = ATTACH_VERSION;
	h.reserved = 0;
	h.count = (uint8_t)count;
	h.msg_id = htobe32(++a->msg_id);
	h.total_len = htobe32((uint32_t)len);
	for (size_t i = 0; i < count; i++) {
		size_t off = i * ATTACH_CHUNK_DATA;
		size_t n = len - off < ATTACH_CHUNK_DATA ? len - off : ATTACH_CHUNK_DATA;

		h.index = (uint8_t)i;
		memcpy(dgram, &h, sizeof(h));
		memcpy(dgram + sizeof(h), msg + off, n);
		if (sendto(a->udp_fd, dgram, sizeof(h) + n, 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0) {
			ret = -errno;
			a->send_errors++;
		}
	}
	p->c.tx_packets++;
	return ret;
}

void attach_net_announce_all(struct shim *s)
{
	struct attach_state *a = attach_of(s);
	uint64_t now = shim_now_ns();

	a->last_announce_ns = now;
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->disabled || !s->cap.msg_len)
			continue;
		if (attach_net_send(s, p, s->cap.msg, s->cap.msg_len) == 0) {
			p->announced_epoch = s->cap.epoch;
			state_of(s, p)->announce_sent_ns = now;
		}
	}
}

void attach_net_epoch_request(struct shim *s, struct peer *p, uint32_t epoch)
{
	struct attach_peer_state *ps = state_of(s, p);
	struct proto_epoch_request rq;
	uint64_t now = shim_now_ns();

	if (ps->epoch_request_ns && now - ps->epoch_request_ns < EPOCH_REQUEST_GAP_NS)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.ctl = PROTO_CTL_EPOCH_REQUEST;
	rq.epoch = htobe32(epoch);
	ps->epoch_request_ns = now;
	attach_net_send(s, p, (const uint8_t *)&rq, sizeof(rq));
}

/* One whole control message from p. */
static void control(struct shim *s, struct peer *p, const uint8_t *msg, size_t len)
{
	struct attach_state *a = attach_of(s);
	struct attach_peer_state *ps = state_of(s, p);
	uint64_t now = shim_now_ns();

	p->c.rx_packets++;
	p->last_rx_ns = now;
	if (msg[0] == PROTO_CTL_ANNOUNCE) {
		bool first = p->latest_epoch == 0;

		if (!shim_announce_receive(s, p, msg, len)) {
			shim_drop(s, DROP_RX_ANNOUNCE_BAD);
			return;
		}
		shim_attach_sync(s);
		/* a peer we had not heard from (it just started): it wants ours */
		if (first && now - ps->announce_sent_ns > ANNOUNCE_GAP_NS &&
		    attach_net_send(s, p, s->cap.msg, s->cap.msg_len) == 0)
			ps->announce_sent_ns = now;
		return;
	}
	if (msg[0] == PROTO_CTL_DENIED && len == sizeof(struct proto_denied)) {
		shim_flow_reported(s, p, msg);
		return;
	}
	if (msg[0] == PROTO_CTL_OBJECT) {
		shim_object_receive(s, p, msg, len);
		return;
	}
	if (msg[0] == PROTO_CTL_EPOCH_REQUEST && len == sizeof(struct proto_epoch_request)) {
		if (now - ps->announce_sent_ns < ANNOUNCE_GAP_NS || !s->cap.msg_len)
			return;
		if (attach_net_send(s, p, s->cap.msg, s->cap.msg_len) == 0)
			ps->announce_sent_ns = now;
		return;
	}
	a->control_bad++;
	shim_drop(s, DROP_RX_CONTROL_BAD);
}

/* One datagram: header checks, then into p's assembly slot. */
static void chunk(struct shim *s, struct peer *p, const uint8_t *buf, size_t len)
{
	struct attach_rx *rx = &state_of(s, p)->rx;
	struct attach_chunk h;
	uint32_t id, total;
	size_t off, want;

	if (len < sizeof(h)) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	memcpy(&h, buf, sizeof(h));
	id = be32toh(h.msg_id);
	total = be32toh(h.total_len);
	if (memcmp(h.magic, ATTACH_MAGIC, 4) != 0 || h.version != ATTACH_VERSION ||
	    h.reserved || total == 0 || total > PROTO_CONTROL_MAX || h.count == 0 ||
	    h.count != (total + ATTACH_CHUNK_DATA - 1) / ATTACH_CHUNK_DATA ||
	    h.index >= h.count) {
		shim_drop(s, DROP_RX_TYPE);
		return;
	}
	off = (size_t)h.index * ATTACH_CHUNK_DATA;
	want = total - off < ATTACH_CHUNK_DATA ? total - off : ATTACH_CHUNK_DATA;
	if (len - sizeof(h) != want) {
		shim_drop(s, DROP_RX_SHORT);
		return;
	}
	if (h.count == 1) {
		control(s, p, buf + sizeof(h), want);
		return;
	}
	if (!rx->buf || rx->msg_id != id || rx->total_len != total) {
		free(rx->buf);
		rx->buf = malloc(total);
		if (!rx->buf)
			return;
		rx->msg_id = id;
		rx->total_len = total;
		rx->count = h.count;
		rx->have = 0;
	}
	memcpy(rx->buf + off, buf + sizeof(h), want);
	rx->have |= UINT64_C(1) << h.index;
	if (rx->have == (h.count == 64 ? UINT64_MAX : (UINT64_C(1) << h.count) - 1)) {
		uint8_t *msg = rx->buf;

		rx->buf = NULL;
		control(s, p, msg, total);
		free(msg);
	}
}

void attach_net_readable(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	static uint8_t buf[sizeof(struct attach_chunk) + ATTACH_CHUNK_DATA + 1];

	for (int i = 0; i < 64; i++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(ev->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct peer *p;

		if (n < 0)
			break;
		s->now = shim_now_ns();
		p = fl == sizeof(from) ? shim_peer_by_addr(s, &from.sin6_addr) : NULL;
		if (!p || p->disabled || ntohs(from.sin6_port) != s->cfg.port) {
			shim_drop(s, DROP_RX_SOURCE);
			continue;
		}
		chunk(s, p, buf, (size_t)n);
	}
}
