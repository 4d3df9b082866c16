/*
 * shim/tun.c - the TUN device: opened through /dev/net/tun, configured
 * with interface ioctls (MTU, flags) and rtnetlink messages built here by
 * hand (addresses, routes), closed with the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

/* UDP segmentation offload flags, absent from older kernel headers. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

enum tun_const {
	NL_MSG_MAX = 256,		/* one request: header + a few attributes */
	NL_REPLY_MAX = 8192,		/* an error reply quotes the request */
};

/* A netlink request under construction: header, family part, attributes. */
struct nl_req {
	union {
		struct nlmsghdr hdr;
		uint8_t raw[NL_MSG_MAX];
	} u;
};

/*
 * Sets up the fd for plain or vnet-header operation on the device name;
 * split out so tun_open can retry without offload on a fresh fd.
 */
static int attach(int fd, const char *name, bool vnet, char *out_name, bool *uso)
{
	struct ifreq ifr;
	int hdr_len = (int)sizeof(struct virtio_net_hdr);
	unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	if (name)
		strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (vnet) {
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
			return -errno;
		/*
		 * UDP segmentation (kernel 6.2+) too if the kernel has it: it may
		 * then hand us UDP super-packets, and takes them from us, so that
		 * a run of received datagrams goes up in one write.
		 */
		*uso = ioctl(fd, TUNSETOFFLOAD, offloads | TUN_F_USO4 | TUN_F_USO6) == 0;
		if (!*uso && ioctl(fd, TUNSETOFFLOAD, offloads) < 0)
			return -errno;
	}
	memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
	out_name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* Opens /dev/net/tun as a non-blocking, close-on-exec fd. */
static int open_clone(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Creates or attaches to the device; with offload, a kernel that refuses
 * vnet headers or the offloads leaves us on a fresh fd in plain mode.
 */
int tun_open(struct tun *t, const char *name, bool offload)
{
	int fd, err;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (name && strlen(name) >= IFNAMSIZ)
		return -EINVAL;

	fd = open_clone();
	if (fd < 0)
		return fd;
	err = attach(fd, name, offload, t->name, &t->uso);
	if (err < 0 && offload && err != -EBUSY && err != -EPERM) {
		/* Refused offload: the device may be half set up on this fd. */
		close(fd);
		fd = open_clone();
		if (fd < 0)
			return fd;
		offload = false;
		t->uso = false;
		err = attach(fd, name, false, t->name, &t->uso);
	}
	if (err < 0)
		goto fail_close_fd;

	t->ifindex = if_nametoindex(t->name);
	if (t->ifindex == 0) {
		err = -errno;
		goto fail_close_fd;
	}
	t->fd = fd;
	t->vnet = offload;
	return 0;

fail_close_fd:
	close(fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	return err;
}

/* Runs one interface ioctl on a throw-away socket. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (s < 0)
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

/* MTU through SIOCSIFMTU: no netlink needed for one integer. */
int tun_mtu_set(struct tun *t, unsigned mtu)
{
	struct ifreq ifr;

	if (t->fd < 0)
		return -EBADF;
	if (mtu == 0 || mtu > 65535)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	ifr.ifr_mtu = (int)mtu;
	return if_ioctl(SIOCSIFMTU, &ifr);
}

/* Sets IFF_UP (read-modify-write of the flags, so others stay). */
int tun_up(struct tun *t)
{
	struct ifreq ifr;
	int err;

	if (t->fd < 0)
		return -EBADF;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	err = if_ioctl(SIOCGIFFLAGS, &ifr);
	if (err < 0)
		return err;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

/* Appends one attribute; -EMSGSIZE if the request buffer is full. */
static int nl_attr_put(struct nl_req *r, unsigned short type,
		       const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->u.hdr.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(r->u.raw))
		return -EMSGSIZE;
	rta = (struct rtattr *)(r->u.raw + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->u.hdr.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

/* Starts a request of type with a zeroed family part of body bytes. */
static void *nl_req_init(struct nl_req *r, unsigned short type,
			 unsigned short flags, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->u.hdr.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	r->u.hdr.nlmsg_type = type;
	r->u.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->u.hdr.nlmsg_seq = 1;
	return NLMSG_DATA(&r->u.hdr);
}

/*
 * Reads replies until the ack (or error) of our request; the kernel's
 * error is a negative errno already.
 */
static int nl_ack_wait(int s, uint32_t seq)
{
	union {
		struct nlmsghdr hdr;
		uint8_t raw[NL_REPLY_MAX];
	} buf;
	struct sockaddr_nl from;
	socklen_t from_len;
	ssize_t n;
	struct nlmsghdr *h;

	for (;;) {
		from_len = sizeof(from);
		n = recvfrom(s, buf.raw, sizeof(buf.raw), 0,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (from.nl_pid != 0)
			continue;
		for (h = &buf.hdr; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct nlmsgerr *e;

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			e = NLMSG_DATA(h);
			return e->error <= 0 ? e->error : -EPROTO;
		}
	}
}

/* Sends one request on a fresh rtnetlink socket and waits for its ack. */
static int nl_talk(struct nl_req *r)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	int s, err;
	ssize_t n;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto out_close;
	}
	do {
		n = sendto(s, r->u.raw, r->u.hdr.nlmsg_len, 0,
			   (struct sockaddr *)&kernel, sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto out_close;
	}
	if ((size_t)n != r->u.hdr.nlmsg_len) {
		err = -EIO;
		goto out_close;
	}
	err = nl_ack_wait(s, r->u.hdr.nlmsg_seq);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
out_close:
	close(s);
	return err;
}

/* Address length of a family, or 0 if we do not handle it. */
static size_t addr_len(int family)
{
	if (family == AF_INET)
		return sizeof(struct in_addr);
	if (family == AF_INET6)
		return sizeof(struct in6_addr);
	return 0;
}

/*
 * RTM_NEWADDR with IFA_LOCAL and IFA_ADDRESS both the address (no peer);
 * CREATE|REPLACE so that adding an address twice is not an error.
 */
int tun_addr_add(struct tun *t, int family, const void *addr, unsigned prefix)
{
	struct nl_req r;
	struct ifaddrmsg *ifa;
	size_t alen = addr_len(family);
	uint32_t flags = IFA_F_NODAD;
	int err;

	if (t->fd < 0)
		return -EBADF;
	if (alen == 0)
		return -EAFNOSUPPORT;
	if (prefix > alen * 8)
		return -EINVAL;
	ifa = nl_req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
			  sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = t->ifindex;
	err = nl_attr_put(&r, IFA_LOCAL, addr, alen);
	if (err == 0)
		err = nl_attr_put(&r, IFA_ADDRESS, addr, alen);
	if (err == 0 && family == AF_INET6) {
		ifa->ifa_flags = IFA_F_NODAD;
		err = nl_attr_put(&r, IFA_FLAGS, &flags, sizeof(flags));
	}
	if (err < 0)
		return err;
	return nl_talk(&r);
}

/* Clears the host bits of dst beyond prefix (the kernel rejects them). */
static void prefix_mask(uint8_t *dst, size_t alen, unsigned prefix)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (prefix >= 8) {
			prefix -= 8;
			continue;
		}
		dst[i] &= (uint8_t)(0xff00u >> prefix);
		prefix = 0;
	}
}

/*
 * RTM_NEWROUTE: dst/prefix through the device, main table, no gateway.
 * CREATE|REPLACE: the route the kernel already made for an address's
 * prefix (or ours from a previous run) is taken over, not an error.
 */
int tun_route_add(struct tun *t, int family, const void *dst, unsigned prefix)
{
	struct nl_req r;
	struct rtmsg *rtm;
	uint8_t net[sizeof(struct in6_addr)];
	size_t alen = addr_len(family);
	uint32_t oif = t->ifindex;
	uint32_t table = RT_TABLE_MAIN;
	int err;

	if (t->fd < 0)
		return -EBADF;
	if (alen == 0)
		return -EAFNOSUPPORT;
	if (prefix > alen * 8)
		return -EINVAL;
	memcpy(net, dst, alen);
	prefix_mask(net, alen, prefix);

	rtm = nl_req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE,
			  sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	err = nl_attr_put(&r, RTA_TABLE, &table, sizeof(table));
	if (err == 0 && prefix > 0)
		err = nl_attr_put(&r, RTA_DST, net, alen);
	if (err == 0)
		err = nl_attr_put(&r, RTA_OIF, &oif, sizeof(oif));
	if (err < 0)
		return err;
	return nl_talk(&r);
}

/* Closing the last fd of a non-persistent TUN device removes it. */
void tun_close(struct tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->vnet = false;
}
