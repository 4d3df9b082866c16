/*
 * tests/unit/netlab.c - the network lab of netlab.h: namespaces, read-back
 * of interface settings through other interfaces than the ones under test,
 * and hand-built packets for a peer behind a TUN device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <check.h>

#include "netlab.h"
#include "suites.h"

/* ---- environment ---------------------------------------------------- */

/*
 * Moves this (forked) test into a fresh network namespace; false with a
 * message if the machine does not let us.
 */
bool lab_netns_enter(const char *test)
{
	const char *fork_mode = getenv("CK_FORK");

	char why[128];

	if (fork_mode && strcmp(fork_mode, "no") == 0) {
		test_skip(test, "CK_FORK=no would move the whole runner into the "
			  "test's network namespace");
		return false;
	}
	if (unshare(CLONE_NEWNET) == 0)
		return true;
	snprintf(why, sizeof(why), "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
	test_skip(test, why);
	return false;
}

/* Runs an interface ioctl on a scratch socket. */
int lab_ifioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	ck_assert_int_ge(s, 0);
	r = ioctl(s, req, ifr);
	close(s);
	return r < 0 ? -errno : 0;
}

/* Brings up lo in the new namespace (it starts down). */
void lab_lo_up(void)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(lab_ifioctl(SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(lab_ifioctl(SIOCSIFFLAGS, &ifr), 0);
}

/* Opens a TUN device or says why the test cannot run. */
bool lab_tun_open(struct tun *t, bool offload, const char *test)
{
	int err = tun_open(t, "capt%d", offload);

	if (err == -ENOENT || err == -ENODEV) {
		char why[128];

		snprintf(why, sizeof(why), "no /dev/net/tun: %s", strerror(-err));
		test_skip(test, why);
		return false;
	}
	ck_assert_msg(err == 0, "tun_open: %s", strerror(-err));
	return true;
}

/* The MTU as SIOCGIFMTU reports it. */
int lab_if_mtu(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_int_eq(lab_ifioctl(SIOCGIFMTU, &ifr), 0);
	return ifr.ifr_mtu;
}

/* The interface flags as SIOCGIFFLAGS reports them. */
short lab_if_flags(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_int_eq(lab_ifioctl(SIOCGIFFLAGS, &ifr), 0);
	return ifr.ifr_flags;
}

/* Prefix length of a netmask. */
static unsigned mask_bits(const uint8_t *m, size_t len)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += (unsigned)__builtin_popcount(m[i]);
	return n;
}

/* Is addr/prefix on interface name, as getifaddrs sees it? */
bool lab_has_addr(const char *name, int family, const void *addr,
		     unsigned prefix)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	ck_assert_int_eq(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, name) != 0)
			continue;
		if (family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
			struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;

			if (!memcmp(&a->sin_addr, addr, 4) &&
			    mask_bits((uint8_t *)&m->sin_addr, 4) == prefix)
				found = true;
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)i->ifa_addr;
			struct sockaddr_in6 *m = (struct sockaddr_in6 *)i->ifa_netmask;

			if (!memcmp(&a->sin6_addr, addr, 16) &&
			    mask_bits((uint8_t *)&m->sin6_addr, 16) == prefix)
				found = true;
		}
	}
	freeifaddrs(ifa);
	return found;
}

/* Does the main table hold dst/prefix via ifindex? (rtnetlink dump) */
bool lab_has_route(int family, const void *dst, unsigned prefix,
		      unsigned ifindex)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg r;
	} req;
	static uint8_t buf[1 << 16];
	size_t alen = family == AF_INET ? 4 : 16;
	bool found = false, done = false;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	ck_assert_int_ge(s, 0);
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 7;
	req.r.rtm_family = (unsigned char)family;
	ck_assert_int_eq(send(s, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	while (!done) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		ck_assert_int_gt(n, 0);
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct rtmsg *r = NLMSG_DATA(h);
			struct rtattr *a;
			int alen_left;
			bool dst_ok = prefix == 0, oif_ok = false;
			uint32_t table = r->rtm_table;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_type != RTM_NEWROUTE || r->rtm_dst_len != prefix)
				continue;
			alen_left = (int)RTM_PAYLOAD(h);
			for (a = RTM_RTA(r); RTA_OK(a, alen_left);
			     a = RTA_NEXT(a, alen_left)) {
				if (a->rta_type == RTA_DST)
					dst_ok = !memcmp(RTA_DATA(a), dst, alen);
				if (a->rta_type == RTA_OIF)
					oif_ok = *(uint32_t *)RTA_DATA(a) == ifindex;
				if (a->rta_type == RTA_TABLE)
					table = *(uint32_t *)RTA_DATA(a);
			}
			if (dst_ok && oif_ok && table == RT_TABLE_MAIN)
				found = true;
		}
	}
	close(s);
	return found;
}

/* Does any IPv6 address of ifindex still wait for DAD (rtnetlink dump)? */
static bool v6_tentative(unsigned ifindex)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
	} req;
	static uint8_t buf[1 << 16];
	bool tentative = false, done = false;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	ck_assert_int_ge(s, 0);
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.a.ifa_family = AF_INET6;
	ck_assert_int_eq(send(s, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	while (!done) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		ck_assert_int_gt(n, 0);
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct ifaddrmsg *a = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_type == RTM_NEWADDR && a->ifa_index == ifindex &&
			    (a->ifa_flags & IFA_F_TENTATIVE))
				tentative = true;
		}
	}
	close(s);
	return tentative;
}

/*
 * Even with IFA_F_NODAD the kernel finishes an IPv6 address's setup in a
 * work item after the link comes up; until then packets to it are
 * dropped. Waits for that (at most LAB_WAIT_MS).
 */
void lab_v6_settle(unsigned ifindex)
{
	int i;

	for (i = 0; i < LAB_WAIT_MS / 10 && v6_tentative(ifindex); i++)
		usleep(10000);
	ck_assert_msg(!v6_tentative(ifindex), "IPv6 address still tentative");
}

/* ---- packets -------------------------------------------------------- */

uint16_t lab_sum(const uint8_t *p, size_t n, uint32_t init)
{
	uint64_t s = init;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Big-endian loads and stores, for header fields at any alignment. */
uint16_t lab_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* See lab_rd16. */
uint32_t lab_rd32(const uint8_t *p)
{
	return (uint32_t)lab_rd16(p) << 16 | lab_rd16(p + 2);
}

/* See lab_rd16. */
void lab_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* See lab_rd16. */
void lab_wr32(uint8_t *p, uint32_t v)
{
	lab_wr16(p, (uint16_t)(v >> 16));
	lab_wr16(p + 2, (uint16_t)v);
}

/* The lab builds IP headers without options. */
size_t lab_iph_len(int family)
{
	return family == AF_INET ? 20 : 40;
}

/* Pseudo-header sum, left unfolded: lab_sum folds what it is given. */
uint32_t lab_pseudo(const uint8_t *pkt, int family, uint8_t proto, size_t l4len)
{
	if (family == AF_INET)
		return lab_sum(pkt + 12, 8, 0) + proto + (uint32_t)l4len;
	return lab_sum(pkt + 8, 32, 0) + proto + (uint32_t)l4len;
}


/* Fixed addresses: every test runs in its own namespace. */
void lab_ends_init(struct lab_ends *e, int family)
{
	memset(e, 0, sizeof(*e));
	e->family = family;
	if (family == AF_INET) {
		ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.1", e->local), 1);
		ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.2", e->peer), 1);
		e->prefix = 24;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, "fd77::1", e->local), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd77::2", e->peer), 1);
		e->prefix = 64;
	}
}

/* One end as a socket address with port. */
socklen_t lab_ends_sockaddr(const struct lab_ends *e, bool peer, uint16_t port,
			       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, peer ? e->peer : e->local, 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, peer ? e->peer : e->local, 16);
	return sizeof(*s6);
}


/* A packet from the peer to us, checksums complete. */
size_t lab_pkt_build(uint8_t *out, const struct lab_ends *e, const struct lab_hdr *h,
		     const uint8_t *payload, size_t plen)
{
	size_t ip = lab_iph_len(e->family);
	size_t l4 = h->proto == IPPROTO_TCP ? 20 + h->optlen : 8;
	size_t len = ip + l4 + plen;
	uint8_t *th = out + ip;

	memset(out, 0, ip + l4);
	if (e->family == AF_INET) {
		out[0] = 0x45;
		lab_wr16(out + 2, (uint16_t)len);
		lab_wr16(out + 4, h->id);
		lab_wr16(out + 6, 0x4000);
		out[8] = 64;
		out[9] = h->proto;
		memcpy(out + 12, e->peer, 4);
		memcpy(out + 16, e->local, 4);
		lab_wr16(out + 10, (uint16_t)~lab_sum(out, 20, 0));
	} else {
		out[0] = 0x60;
		lab_wr16(out + 4, (uint16_t)(len - 40));
		out[6] = h->proto;
		out[7] = 64;
		memcpy(out + 8, e->peer, 16);
		memcpy(out + 24, e->local, 16);
	}
	lab_wr16(th, h->sport);
	lab_wr16(th + 2, h->dport);
	if (h->proto == IPPROTO_TCP) {
		lab_wr32(th + 4, h->seq);
		lab_wr32(th + 8, h->ack);
		th[12] = (uint8_t)(l4 / 4 << 4);
		th[13] = h->flags;
		lab_wr16(th + 14, 65535);
		if (h->optlen)
			memcpy(th + 20, h->opts, h->optlen);
	} else {
		lab_wr16(th + 4, (uint16_t)(l4 + plen));
	}
	if (plen)
		memcpy(out + ip + l4, payload, plen);
	lab_wr16(th + (h->proto == IPPROTO_TCP ? 16 : 6),
	     (uint16_t)~lab_sum(th, len - ip, lab_pseudo(out, e->family, h->proto, len - ip)));
	return len;
}

/* Writes one packet into the TUN, with a zero vnet header if it has them. */
void lab_tun_put(struct tun *t, const uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2] = { { &vh, LAB_VNET }, { (void *)pkt, len } };

	memset(&vh, 0, sizeof(vh));
	if (t->vnet)
		ck_assert_int_eq(writev(t->fd, iov, 2), (ssize_t)(LAB_VNET + len));
	else
		ck_assert_int_eq(write(t->fd, pkt, len), (ssize_t)len);
}

/* Waits for fd to become readable; false on time-out. */
bool lab_wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/*
 * Reads the next packet from the TUN into buf; vh gets its vnet header
 * (zero without vnet). Returns the IP packet's length.
 */
size_t lab_tun_get(struct tun *t, uint8_t *buf, struct virtio_net_hdr *vh,
		      uint8_t **pkt)
{
	ssize_t n;

	ck_assert_msg(lab_wait_in(t->fd, LAB_WAIT_MS), "nothing came out of the TUN");
	n = read(t->fd, buf, LAB_BUF);
	ck_assert_int_gt(n, 0);
	memset(vh, 0, sizeof(*vh));
	if (!t->vnet) {
		*pkt = buf;
		return (size_t)n;
	}
	ck_assert_int_ge(n, LAB_VNET);
	memcpy(vh, buf, LAB_VNET);
	*pkt = buf + LAB_VNET;
	return (size_t)n - LAB_VNET;
}

/* Is pkt of family and protocol proto, towards the peer? */
bool lab_pkt_is(const uint8_t *pkt, size_t len, const struct lab_ends *e,
		   uint8_t proto)
{
	size_t ip = lab_iph_len(e->family);

	if (len < ip + 8 || pkt[0] >> 4 != (e->family == AF_INET ? 4 : 6))
		return false;
	if (e->family == AF_INET)
		return pkt[9] == proto && !memcmp(pkt + 16, e->peer, 4);
	return pkt[6] == proto && !memcmp(pkt + 24, e->peer, 16);
}
