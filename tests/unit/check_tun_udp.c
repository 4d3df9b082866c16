/*
 * tests/unit/check_tun_udp.c - shim/tun.h and shim/udp.h against the real
 * kernel. Every test runs in Check's forked child and first moves into a
 * private network namespace (unshare(CLONE_NEWNET)), so the interfaces,
 * addresses and routes it makes vanish with the child. Needs root; a test
 * whose kernel feature is missing says so and passes without checking.
 *
 * Settings are read back with other interfaces than the ones that made
 * them (SIOCGIFMTU, getifaddrs, an rtnetlink route dump: netlab.h), and traffic
 * crosses the TUN both ways, including TCP super-packets (TSO read, GRO
 * write) against a TCP peer that the test plays by hand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netlab.h"
#include "offload.h"
#include "suites.h"
#include "tun.h"
#include "udp.h"

enum {
	MSS = 1000,
	APP_BYTES = 10 * MSS,		/* one initial congestion window */
	PEER_SEGS = 30,
	F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10,
};

/* The test byte stream: byte k of it. */
static uint8_t pattern(size_t k)
{
	return (uint8_t)(k * 7 + (k >> 9));
}

/* Where offload_split's segments go: the last one kept, all counted. */
struct sink {
	uint8_t buf[LAB_BUF];
	size_t len;
	unsigned n;
	bool (*check)(struct sink *k);	/* per segment, optional */
	void *ctx;
};

/* offload_split's emit: keeps the segment and runs the check on it. */
static int sink_put(void *arg, const uint8_t *seg, size_t len)
{
	struct sink *k = arg;

	ck_assert_uint_le(len, sizeof(k->buf));
	memcpy(k->buf, seg, len);
	k->len = len;
	k->n++;
	if (k->check && !k->check(k))
		return -EPROTO;
	return 0;
}

/* ---- TUN configuration ---------------------------------------------- */

START_TEST(test_tun_config)
{
	bool offload = _i;
	struct tun t;
	struct lab_ends e4, e6;
	uint8_t net4[4] = { 10, 78, 0, 0 }, dst4[4] = { 10, 78, 1, 2 };
	uint8_t net6[16] = { 0xfd, 0x78 }, dst6[16] = { 0xfd, 0x78, 0, 0, 0, 0, 1 };
	struct ifreq ifr;
	struct tun bogus;
	char name[IFNAMSIZ];

	if (!lab_netns_enter(__func__) || !lab_tun_open(&t, offload, __func__))
		return;
	lab_ends_init(&e4, AF_INET);
	lab_ends_init(&e6, AF_INET6);
	ck_assert_int_ge(t.fd, 0);
	ck_assert_str_eq(t.name, "capt0");
	ck_assert_uint_eq(t.ifindex, if_nametoindex("capt0"));
	ck_assert_msg(t.vnet == offload, "offload %d but vnet %d", offload, t.vnet);
	ck_assert_int_ne(fcntl(t.fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(t.fd, F_GETFD) & FD_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	ck_assert_int_eq(ioctl(t.fd, TUNGETIFF, &ifr), 0);
	ck_assert_int_eq(ifr.ifr_flags & (IFF_TUN | IFF_NO_PI), IFF_TUN | IFF_NO_PI);
	ck_assert_int_eq(!!(ifr.ifr_flags & IFF_VNET_HDR), offload);

	ck_assert_int_eq(tun_mtu_set(&t, 1420), 0);
	ck_assert_int_eq(lab_if_mtu(t.name), 1420);
	ck_assert_int_eq(tun_mtu_set(&t, 0), -EINVAL);

	ck_assert_int_eq(tun_addr_add(&t, AF_INET, e4.local, 24), 0);
	ck_assert_int_eq(tun_addr_add(&t, AF_INET, e4.local, 24), 0);
	ck_assert_int_eq(tun_addr_add(&t, AF_INET6, e6.local, 64), 0);
	ck_assert(lab_has_addr(t.name, AF_INET, e4.local, 24));
	ck_assert(lab_has_addr(t.name, AF_INET6, e6.local, 64));
	ck_assert_int_eq(tun_addr_add(&t, AF_UNIX, e4.local, 24), -EAFNOSUPPORT);
	ck_assert_int_eq(tun_addr_add(&t, AF_INET, e4.local, 33), -EINVAL);
	ck_assert_int_eq(tun_addr_add(&t, AF_INET6, e6.local, 129), -EINVAL);

	ck_assert_int_eq(lab_if_flags(t.name) & IFF_UP, 0);
	ck_assert_int_eq(tun_route_add(&t, AF_INET, dst4, 16), -ENETDOWN);
	ck_assert_int_eq(tun_up(&t), 0);
	ck_assert_int_ne(lab_if_flags(t.name) & IFF_UP, 0);

	ck_assert_int_eq(tun_route_add(&t, AF_INET, dst4, 16), 0);
	ck_assert_int_eq(tun_route_add(&t, AF_INET6, dst6, 48), 0);
	ck_assert_int_eq(tun_route_add(&t, AF_INET, dst4, 16), 0);
	ck_assert(lab_has_route(AF_INET, net4, 16, t.ifindex));
	ck_assert(lab_has_route(AF_INET6, net6, 48, t.ifindex));
	ck_assert(lab_has_route(AF_INET, dst4, 32, t.ifindex) == false);
	ck_assert_int_eq(tun_route_add(&t, AF_INET, dst4, 32), 0);
	ck_assert(lab_has_route(AF_INET, dst4, 32, t.ifindex));

	/* Errors from the kernel come back as -errno. */
	bogus = t;
	bogus.ifindex = 99999;
	ck_assert_int_eq(tun_route_add(&bogus, AF_INET, dst4, 16), -ENODEV);
	ck_assert_int_eq(tun_addr_add(&bogus, AF_INET, e4.local, 24), -ENODEV);

	memcpy(name, t.name, IFNAMSIZ);
	tun_close(&t);
	ck_assert_int_eq(t.fd, -1);
	ck_assert_uint_eq(if_nametoindex(name), 0);
	tun_close(&t);
	ck_assert_int_eq(tun_up(&t), -EBADF);
	ck_assert_int_eq(tun_open(&t, "a-name-far-too-long-for-ifnamsiz", false), -EINVAL);
	ck_assert_int_eq(t.fd, -1);
}
END_TEST

/* UDP through the TUN both ways, v4 and v6, with and without vnet headers. */
START_TEST(test_tun_packets)
{
	bool offload = _i & 1;
	int family = _i & 2 ? AF_INET6 : AF_INET;
	struct lab_ends e;
	struct tun t;
	struct udp_sock s;
	struct sockaddr_storage to, from;
	socklen_t to_len, from_len = sizeof(from);
	static uint8_t buf[LAB_BUF], pkt[LAB_BUF], scratch[LAB_BUF];
	uint8_t msg[300], got[400];
	struct virtio_net_hdr vh;
	struct lab_hdr h = { .proto = IPPROTO_UDP, .sport = 5555 };
	uint8_t *ip;
	size_t len, i, l3 = lab_iph_len(family);
	static struct sink sink;
	ssize_t n;

	if (!lab_netns_enter(__func__) || !lab_tun_open(&t, offload, __func__))
		return;
	lab_ends_init(&e, family);
	ck_assert_int_eq(tun_addr_add(&t, family, e.local, e.prefix), 0);
	ck_assert_int_eq(tun_up(&t), 0);
	if (family == AF_INET6)
		lab_v6_settle(t.ifindex);
	ck_assert_int_eq(udp_open(&s, family, 0, false), 0);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = pattern(i);

	/* Peer -> us: written into the TUN, received by the socket. */
	h.dport = s.port;
	len = lab_pkt_build(pkt, &e, &h, msg, sizeof(msg));
	lab_tun_put(&t, pkt, len);
	ck_assert(lab_wait_in(s.fd, LAB_WAIT_MS));
	n = recvfrom(s.fd, got, sizeof(got), 0, (struct sockaddr *)&from, &from_len);
	ck_assert_int_eq(n, (ssize_t)sizeof(msg));
	ck_assert_mem_eq(got, msg, sizeof(msg));
	lab_ends_sockaddr(&e, true, 5555, &to);
	ck_assert_mem_eq(&from, &to, from_len);

	/* Us -> peer: sent by the socket, read from the TUN. */
	to_len = lab_ends_sockaddr(&e, true, 6666, &to);
	ck_assert_int_eq(sendto(s.fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, to_len),
			 (ssize_t)sizeof(msg));
	do
		len = lab_tun_get(&t, buf, &vh, &ip);
	while (!lab_pkt_is(ip, len, &e, IPPROTO_UDP));
	ck_assert_uint_eq(len, l3 + 8 + sizeof(msg));
	ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	/* With TUN_F_CSUM the kernel may leave the checksum to us. */
	sink.n = 0;
	ck_assert_int_eq(offload_split(&vh, ip, len, scratch, sizeof(scratch),
				       sink_put, &sink), 1);
	ip = sink.buf;
	ck_assert_uint_eq(lab_sum(ip + l3, len - l3,
				lab_pseudo(ip, family, IPPROTO_UDP, len - l3)), 0xffff);
	ck_assert_uint_eq(lab_rd16(ip + l3), s.port);
	ck_assert_uint_eq(lab_rd16(ip + l3 + 2), 6666);
	ck_assert_mem_eq(ip + l3 + 8, msg, sizeof(msg));
	tun_close(&t);
	udp_close(&s);
}
END_TEST

/* ---- TCP super-packets across the TUN --------------------------------- */

/* What the peer has seen of the local application's byte stream. */
struct tcp_rx {
	const struct lab_ends *e;
	uint32_t isn, next;		/* app's first sequence number, next expected */
	uint16_t app_port;
};

/* Per segment out of offload_split: a valid, in-order TCP segment. */
static bool tcp_rx_check(struct sink *k)
{
	struct tcp_rx *rx = k->ctx;
	int family = rx->e->family;
	size_t l3 = lab_iph_len(family), thl, plen, i;
	const uint8_t *p = k->buf, *th = p + l3;

	ck_assert(lab_pkt_is(p, k->len, rx->e, IPPROTO_TCP));
	if (family == AF_INET) {
		ck_assert_uint_eq(lab_rd16(p + 2), k->len);
		ck_assert_uint_eq(lab_sum(p, 20, 0), 0xffff);
	} else {
		ck_assert_uint_eq(lab_rd16(p + 4), k->len - 40);
	}
	ck_assert_uint_eq(lab_sum(th, k->len - l3,
				lab_pseudo(p, family, IPPROTO_TCP, k->len - l3)), 0xffff);
	ck_assert_uint_eq(lab_rd16(th), rx->app_port);
	thl = (size_t)(th[12] >> 4) * 4;
	plen = k->len - l3 - thl;
	ck_assert_uint_le(plen, MSS);
	ck_assert_uint_eq(lab_rd32(th + 4), rx->next);
	for (i = 0; i < plen; i++)
		if (p[l3 + thl + i] != pattern(rx->next - rx->isn - 1 + i))
			break;
	ck_assert_msg(i == plen, "segment at %u: byte %zu differs",
		      (unsigned)(rx->next - rx->isn - 1), i);
	rx->next += (uint32_t)plen;
	return true;
}

/* offload_gro's writer: the super-packet with its vnet header, into the TUN. */
struct gro_out {
	struct tun *t;
	unsigned writes, gso_writes;
};

/* Counts writes (merged ones apart) and writes into the TUN. */
static int gro_write(void *arg, const struct virtio_net_hdr *vh,
		     const uint8_t *pkt, size_t len)
{
	struct gro_out *o = arg;
	struct iovec iov[2] = { { (void *)vh, LAB_VNET }, { (void *)pkt, len } };

	o->writes++;
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		o->gso_writes++;
	return writev(o->t->fd, iov, 2) == (ssize_t)(LAB_VNET + len) ? 0 : -errno;
}

/*
 * The test plays a TCP peer behind a vnet TUN: the application's data
 * comes out as TSO super-packets that offload_split cuts into valid
 * segments, and the peer's segments, coalesced by offload_gro, go in as
 * one super-packet that the kernel's TCP takes.
 */
START_TEST(test_tun_tcp_offload)
{
	int family = _i ? AF_INET6 : AF_INET;
	const uint32_t peer_isn = 1000000;
	static uint8_t buf[LAB_BUF], pkt[LAB_BUF], scratch[LAB_BUF], data[PEER_SEGS * MSS];
	static struct sink sink;
	static struct offload_gro gro;
	uint8_t opts[4] = { 2, 4, MSS >> 8, MSS & 0xff }, app_data[APP_BYTES];
	struct virtio_net_hdr vh;
	struct sockaddr_storage ss;
	struct tcp_rx rx;
	struct gro_out out;
	struct lab_ends e;
	struct tun t;
	struct lab_hdr h = { .proto = IPPROTO_TCP, .sport = 80 };
	unsigned tso_reads = 0, k;
	socklen_t sl;
	size_t len, i, got;
	uint8_t *ip;
	int app, soerr;

	if (!lab_netns_enter(__func__) || !lab_tun_open(&t, true, __func__))
		return;
	ck_assert_msg(t.vnet, "the kernel refused IFF_VNET_HDR/TUNSETOFFLOAD");
	lab_ends_init(&e, family);
	ck_assert_int_eq(tun_addr_add(&t, family, e.local, e.prefix), 0);
	ck_assert_int_eq(tun_up(&t), 0);
	if (family == AF_INET6)
		lab_v6_settle(t.ifindex);

	app = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(app, 0);
	sl = lab_ends_sockaddr(&e, true, 80, &ss);
	ck_assert_int_eq(connect(app, (struct sockaddr *)&ss, sl), -1);
	ck_assert_int_eq(errno, EINPROGRESS);

	/* The SYN, then our SYN-ACK with MSS 1000 and no other options. */
	memset(&rx, 0, sizeof(rx));
	rx.e = &e;
	for (;;) {
		len = lab_tun_get(&t, buf, &vh, &ip);
		if (lab_pkt_is(ip, len, &e, IPPROTO_TCP) &&
		    (ip[lab_iph_len(family) + 13] & F_SYN))
			break;
	}
	rx.app_port = lab_rd16(ip + lab_iph_len(family));
	rx.isn = lab_rd32(ip + lab_iph_len(family) + 4);
	rx.next = rx.isn + 1;
	h.dport = rx.app_port;
	h.seq = peer_isn;
	h.ack = rx.next;
	h.flags = F_SYN | F_ACK;
	h.opts = opts;
	h.optlen = sizeof(opts);
	lab_tun_put(&t, pkt, lab_pkt_build(pkt, &e, &h, NULL, 0));
	{
		struct pollfd p = { .fd = app, .events = POLLOUT };

		ck_assert_int_eq(poll(&p, 1, LAB_WAIT_MS), 1);
	}
	sl = sizeof(soerr);
	ck_assert_int_eq(getsockopt(app, SOL_SOCKET, SO_ERROR, &soerr, &sl), 0);
	ck_assert_int_eq(soerr, 0);

	/* Application -> peer: TSO super-packets, split and checked. */
	for (i = 0; i < sizeof(app_data); i++)
		app_data[i] = pattern(i);
	ck_assert_int_eq(send(app, app_data, sizeof(app_data), 0),
			 (ssize_t)sizeof(app_data));
	h.seq = peer_isn + 1;
	h.flags = F_ACK;
	h.optlen = 0;
	sink.check = tcp_rx_check;
	sink.ctx = &rx;
	while (rx.next - rx.isn - 1 < APP_BYTES) {
		len = lab_tun_get(&t, buf, &vh, &ip);
		if (!lab_pkt_is(ip, len, &e, IPPROTO_TCP))
			continue;
		if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			ck_assert_uint_eq(vh.gso_type, family == AF_INET ?
					  VIRTIO_NET_HDR_GSO_TCPV4 :
					  VIRTIO_NET_HDR_GSO_TCPV6);
			ck_assert_uint_eq(vh.gso_size, MSS);
			tso_reads++;
		}
		ck_assert_int_ge(offload_split(&vh, ip, len, scratch, sizeof(scratch),
					       sink_put, &sink), 1);
		h.ack = rx.next;
		lab_tun_put(&t, pkt, lab_pkt_build(pkt, &e, &h, NULL, 0));
	}
	ck_assert_msg(tso_reads > 0, "no TSO super-packet came out of the TUN");

	/* Peer -> application: coalesced into one super-packet. */
	offload_gro_init(&gro);
	memset(&out, 0, sizeof(out));
	out.t = &t;
	for (i = 0; i < sizeof(data); i++)
		data[i] = pattern(i) ^ 0x5a;
	for (k = 0; k < PEER_SEGS; k++) {
		h.seq = peer_isn + 1 + k * MSS;
		h.ack = rx.next;
		h.flags = k + 1 < PEER_SEGS ? F_ACK : F_ACK | F_PSH;
		h.id = (uint16_t)k;
		len = lab_pkt_build(pkt, &e, &h, data + k * MSS, MSS);
		ck_assert_int_eq(offload_gro_add(&gro, pkt, len, gro_write, &out), 0);
	}
	ck_assert_int_eq(offload_gro_flush(&gro, gro_write, &out), 0);
	ck_assert_uint_eq(out.writes, 1);
	ck_assert_uint_eq(out.gso_writes, 1);
	for (got = 0; got < sizeof(data);) {
		ssize_t n;

		ck_assert_msg(lab_wait_in(app, LAB_WAIT_MS), "application got %zu of %zu",
			      got, sizeof(data));
		n = recv(app, buf, sizeof(buf), 0);
		ck_assert_int_gt(n, 0);
		ck_assert_mem_eq(buf, data + got, (size_t)n);
		got += (size_t)n;
	}
	close(app);
	tun_close(&t);
}
END_TEST

/* ---- UDP ------------------------------------------------------------ */

static int int_opt(int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &l), 0);
	return v;
}

/* Fills m with a datagram to port on the family's loopback. */
static void msg_to(struct udp_msg *m, int family, uint16_t port)
{
	struct lab_ends e;

	lab_ends_init(&e, family);
	if (family == AF_INET)
		ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", e.peer), 1);
	else
		memcpy(e.peer, &in6addr_loopback, 16);
	m->addr_len = lab_ends_sockaddr(&e, true, port, &m->addr);
}

/* The port of a received message's source address. */
static uint16_t msg_port(const struct udp_msg *m)
{
	if (m->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&m->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&m->addr)->sin6_port);
}

/* Receives until want messages came or the wait runs out. */
static unsigned recv_all(struct udp_sock *s, struct udp_msg *m, unsigned want)
{
	unsigned got = 0;

	while (got < want && lab_wait_in(s->fd, LAB_WAIT_MS)) {
		int n = udp_recv_batch(s, m + got, want - got);

		ck_assert_int_ge(n, 0);
		got += (unsigned)n;
	}
	return got;
}

/* Socket options as udp_open promises them. */
static void udp_opts_check(const struct udp_sock *s, int family)
{
	ck_assert_int_ge(int_opt(s->fd, SOL_SOCKET, SO_RCVBUF), 4 << 20);
	ck_assert_int_ge(int_opt(s->fd, SOL_SOCKET, SO_SNDBUF), 4 << 20);
	ck_assert_int_ne(fcntl(s->fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(s->fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_uint_ne(s->port, 0);
	if (family == AF_INET) {
		ck_assert_int_eq(int_opt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER),
				 IP_PMTUDISC_DO);
	} else {
		ck_assert_int_eq(int_opt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
		ck_assert_int_eq(int_opt(s->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER),
				 IPV6_PMTUDISC_DO);
	}
}

/* A batch of 64 datagrams over loopback, then the edge cases of a batch. */
START_TEST(test_udp_batch)
{
	int family = _i ? AF_INET6 : AF_INET;
	struct udp_sock a, b;
	static uint8_t bufs[UDP_BATCH][2048];
	static struct udp_msg tx[UDP_BATCH], rx[UDP_BATCH];
	unsigned i, j;

	if (!lab_netns_enter(__func__))
		return;
	lab_lo_up();
	ck_assert_int_eq(udp_open(&a, family, 0, false), 0);
	ck_assert_int_eq(udp_open(&b, family, 0, false), 0);
	udp_opts_check(&a, family);
	ck_assert(!a.gso && !a.gro);
	ck_assert_int_eq(udp_recv_batch(&b, rx, UDP_BATCH), 0);

	for (i = 0; i < UDP_BATCH; i++) {
		tx[i].buf = malloc(1 + i * 20);
		ck_assert_ptr_nonnull(tx[i].buf);
		tx[i].len = 1 + i * 20;
		for (j = 0; j < tx[i].len; j++)
			tx[i].buf[j] = pattern(i * 1000 + j);
		msg_to(&tx[i], family, b.port);
		rx[i].buf = bufs[i];
		rx[i].cap = sizeof(bufs[i]);
	}
	ck_assert_int_eq(udp_send_batch(&a, tx, UDP_BATCH), UDP_BATCH);
	ck_assert_uint_eq(recv_all(&b, rx, UDP_BATCH), UDP_BATCH);
	for (i = 0; i < UDP_BATCH; i++) {
		ck_assert_uint_eq(rx[i].len, tx[i].len);
		ck_assert_mem_eq(rx[i].buf, tx[i].buf, tx[i].len);
		ck_assert_uint_eq(rx[i].segment, 0);
		ck_assert_int_eq(rx[i].addr.ss_family, family);
		ck_assert_uint_eq(msg_port(&rx[i]), a.port);
	}

	/* A bad message stops the batch: the count so far, then its error. */
	msg_to(&tx[3], family == AF_INET ? AF_INET6 : AF_INET, b.port);
	ck_assert_int_eq(udp_send_batch(&a, tx, 8), 3);
	ck_assert_int_lt(udp_send_batch(&a, tx + 3, 5), 0);
	ck_assert_int_eq(udp_send_batch(&a, tx + 4, 4), 4);
	ck_assert_uint_eq(recv_all(&b, rx, 7), 7);
	ck_assert_uint_eq(rx[3].len, tx[4].len);

	/* No GSO on this socket; a datagram too big for its buffer reads as 0. */
	msg_to(&tx[0], family, b.port);
	tx[0].segment = 10;
	ck_assert_int_eq(udp_send_batch(&a, tx, 1), -EOPNOTSUPP);
	tx[0].segment = 0;
	ck_assert_int_eq(udp_send_batch(&a, tx + 10, 1), 1);
	rx[0].cap = 50;
	ck_assert_uint_eq(recv_all(&b, rx, 1), 1);
	ck_assert_uint_eq(rx[0].len, 0);

	for (i = 0; i < UDP_BATCH; i++)
		free(tx[i].buf);
	udp_close(&a);
	udp_close(&b);
	ck_assert_int_eq(a.fd, -1);
	udp_close(&a);
	ck_assert_int_eq(udp_recv_batch(&a, rx, 1), -EBADF);
	ck_assert_int_eq(udp_open(&a, AF_UNIX, 0, false), -EAFNOSUPPORT);
}
END_TEST

/* GSO send of 64 segments, received with GRO as one run. */
START_TEST(test_udp_gso_gro)
{
	int family = _i ? AF_INET6 : AF_INET;
	enum { SEG = 1000, TOTAL = UDP_GSO_MAX_SEGS * SEG + 10 * SEG + 500 };
	static uint8_t data[TOTAL], bufs[8][UDP_BUF_MAX];
	struct udp_msg tx[2], rx[8];
	struct udp_sock a, b;
	size_t got = 0, i;
	bool saw_gro = false;

	if (!lab_netns_enter(__func__))
		return;
	lab_lo_up();
	ck_assert_int_eq(udp_open(&a, family, 0, true), 0);
	ck_assert_int_eq(udp_open(&b, family, 0, true), 0);
	ck_assert_msg(a.gso, "UDP_SEGMENT send refused");
	ck_assert_msg(b.gro, "UDP_GRO refused");
	ck_assert_int_eq(int_opt(b.fd, SOL_UDP, UDP_GRO), 1);
	udp_opts_check(&b, family);

	for (i = 0; i < TOTAL; i++)
		data[i] = pattern(i);
	memset(tx, 0, sizeof(tx));
	tx[0].buf = data;
	tx[0].len = UDP_GSO_MAX_SEGS * SEG;
	tx[0].segment = SEG;
	tx[1].buf = data + tx[0].len;
	tx[1].len = TOTAL - tx[0].len;
	tx[1].segment = SEG;
	msg_to(&tx[0], family, b.port);
	msg_to(&tx[1], family, b.port);
	ck_assert_int_eq(udp_send_batch(&a, tx, 2), 2);

	while (got < TOTAL) {
		int n;

		for (i = 0; i < 8; i++) {
			rx[i].buf = bufs[i];
			rx[i].cap = sizeof(bufs[i]);
		}
		ck_assert_msg(lab_wait_in(b.fd, LAB_WAIT_MS), "got %zu of %d bytes", got, TOTAL);
		n = udp_recv_batch(&b, rx, 8);
		ck_assert_int_ge(n, 0);
		for (i = 0; i < (size_t)n; i++) {
			ck_assert_uint_le(got + rx[i].len, TOTAL);
			ck_assert_mem_eq(rx[i].buf, data + got, rx[i].len);
			got += rx[i].len;
			ck_assert_uint_eq(msg_port(&rx[i]), a.port);
			if (rx[i].segment) {
				ck_assert_uint_eq(rx[i].segment, SEG);
				if (rx[i].len > SEG)
					saw_gro = true;
			} else {
				ck_assert_uint_le(rx[i].len, SEG);
			}
		}
	}
	ck_assert_uint_eq(got, TOTAL);
	ck_assert_msg(saw_gro, "no coalesced datagram received");
	udp_close(&a);
	udp_close(&b);
}
END_TEST

/* The path MTU on loopback is lo's MTU, and follows it. */
START_TEST(test_udp_path_mtu)
{
	int family = _i ? AF_INET6 : AF_INET;
	struct udp_msg m;
	struct udp_sock s;
	struct ifreq ifr;

	if (!lab_netns_enter(__func__))
		return;
	lab_lo_up();
	ck_assert_int_eq(udp_open(&s, family, 0, false), 0);
	msg_to(&m, family, 9);
	/* IPv4 cannot express lo's 65536; it reports its own maximum. */
	ck_assert_int_eq(udp_path_mtu(&s, (struct sockaddr *)&m.addr, m.addr_len),
			 family == AF_INET && lab_if_mtu("lo") > 65535 ? 65535 : lab_if_mtu("lo"));
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_mtu = 9000;
	ck_assert_int_eq(lab_ifioctl(SIOCSIFMTU, &ifr), 0);
	ck_assert_int_eq(udp_path_mtu(&s, (struct sockaddr *)&m.addr, m.addr_len), 9000);
	msg_to(&m, family == AF_INET ? AF_INET6 : AF_INET, 9);
	ck_assert_int_eq(udp_path_mtu(&s, (struct sockaddr *)&m.addr, m.addr_len),
			 -EAFNOSUPPORT);
	udp_close(&s);
}
END_TEST

Suite *suite_tun_udp(void)
{
	Suite *s = suite_create("tun_udp");
	TCase *tc = tcase_create("tun");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_tun_config, 0, 2);
	tcase_add_loop_test(tc, test_tun_packets, 0, 4);
	tcase_add_loop_test(tc, test_tun_tcp_offload, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_udp_batch, 0, 2);
	tcase_add_loop_test(tc, test_udp_gso_gro, 0, 2);
	tcase_add_loop_test(tc, test_udp_path_mtu, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
