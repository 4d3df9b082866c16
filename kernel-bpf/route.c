/*
 * kernel-bpf/route.c - the stamp's 8 bytes, budgeted: a host route per
 * captun peer through the mesh interface with the interface's MTU less 8,
 * so the stack sizes packets (and TCP its MSS, and PMTU its answers) to
 * leave room for the stamp. The interface itself keeps its MTU: tc's
 * bpf_skb_adjust_room refuses to grow a packet past it.
 *
 * Routes carry rtm_protocol KBPF_ROUTE_PROTO, so that deleting them
 * touches nothing of the mesh's own (a mesh route for the same prefix, as
 * wg-quick makes, wins: ours is then refused with EEXIST and the caller
 * says so).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "loader.h"

struct route_req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[128];
};

static void attr_put(struct route_req *r, unsigned short type, const void *data,
		     size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static bool is_v4(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Sends one request and reads its acknowledgement: 0 or -errno. */
static int talk(struct route_req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[512];
	ssize_t n;
	int fd, ret = -EPROTO;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n >= sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr)) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (h->nlmsg_type == NLMSG_ERROR)
			ret = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
out:
	close(fd);
	return ret;
}

static void req_init(struct route_req *r, int type, int flags, const uint8_t addr[16],
		     int ifindex)
{
	bool v4 = is_v4(addr);
	__u32 oif = (__u32)ifindex;

	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r->nh.nlmsg_type = (unsigned short)type;
	r->nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	r->rt.rtm_family = v4 ? AF_INET : AF_INET6;
	r->rt.rtm_dst_len = v4 ? 32 : 128;
	r->rt.rtm_table = RT_TABLE_MAIN;
	r->rt.rtm_protocol = KBPF_ROUTE_PROTO;
	r->rt.rtm_scope = v4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	r->rt.rtm_type = RTN_UNICAST;
	attr_put(r, RTA_DST, v4 ? addr + 12 : addr, v4 ? 4 : 16);
	attr_put(r, RTA_OIF, &oif, sizeof(oif));
}

int kbpf_route_mtu_add(int ifindex, const uint8_t addr[16], unsigned mtu)
{
	struct route_req r;
	char metrics[RTA_SPACE(sizeof(__u32))];
	struct rtattr *m = (struct rtattr *)metrics;
	__u32 v = mtu;

	kbpf_route_mtu_del(ifindex, addr);	/* ours, from an earlier instance */
	req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, addr, ifindex);
	m->rta_type = RTAX_MTU;
	m->rta_len = RTA_LENGTH(sizeof(v));
	memcpy(RTA_DATA(m), &v, sizeof(v));
	attr_put(&r, RTA_METRICS, metrics, sizeof(metrics));
	return talk(&r);
}

int kbpf_route_mtu_del(int ifindex, const uint8_t addr[16])
{
	struct route_req r;

	req_init(&r, RTM_DELROUTE, 0, addr, ifindex);
	r.rt.rtm_scope = RT_SCOPE_NOWHERE;	/* any scope, any type: the protocol decides */
	r.rt.rtm_type = RTN_UNSPEC;
	return talk(&r);
}
