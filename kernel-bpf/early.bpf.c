// SPDX-License-Identifier: GPL-2.0
/*
 * kernel-bpf/early.bpf.c - capshim's early drop: an XDP program on the
 * underlay interface that drops, before user space and before any socket
 * buffer, datagrams to capshim's port that capshim would drop anyway:
 * data to a receiver index it never handed out, and handshake messages
 * over a per-source budget. The rules and the layout: early.h.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "early.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define NS_PER_S 1000000000ULL

enum {
	ETH_HLEN_ = 14,
	IP6_HLEN_ = 40,
	UDP_HLEN_ = 8,
	IPPROTO_UDP_ = 17,
	T_INITIATION = 1,
	T_COOKIE_REPLY = 3,
	T_DATA = 4,
	T_CONTROL = 5,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct early_config);
} early_settings SEC(".maps");

/* Receiver indices capshim handed out: key the index (host order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EARLY_INDICES_MAX);
	__type(key, __u32);
	__type(value, __u8);
} early_indices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EARLY_SOURCES_MAX);
	__type(key, struct early_source);
	__type(value, struct early_bucket);
} early_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EARLY_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} early_counters SEC(".maps");

static __always_inline int count(__u32 c, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&early_counters, &c);

	if (v)
		*v += 1;
	return verdict;
}

/*
 * One token of the source's bucket, if it has one. Buckets are shared by
 * the CPUs without a lock: two messages racing may both pass on the last
 * token, which only makes the budget a little more generous.
 */
static __always_inline bool budget_take(const struct early_config *cfg,
					const struct early_source *src)
{
	__u64 now = bpf_ktime_get_ns(), cost, cap, credit;
	struct early_bucket *b, fresh;

	if (cfg->hs_per_s == 0)
		return true;
	cost = NS_PER_S / cfg->hs_per_s;
	cap = cost * cfg->hs_burst;
	b = bpf_map_lookup_elem(&early_sources, src);
	if (!b) {
		/* a new source starts with a full bucket, less this message */
		fresh.last_ns = now;
		fresh.credit_ns = cap - cost;
		bpf_map_update_elem(&early_sources, src, &fresh, BPF_ANY);
		return true;
	}
	credit = b->credit_ns + (now - b->last_ns);
	if (credit > cap)
		credit = cap;
	b->last_ns = now;
	if (credit < cost) {
		b->credit_ns = credit;
		return false;
	}
	b->credit_ns = credit - cost;
	return true;
}

/*
 * xdp.frags: the program takes multi-buffer frames (jumbo frames on a NIC
 * with multi-buffer XDP), reading only the first buffer's headers and the
 * whole frame's length. On a veth, whatever the program, the kernel turns
 * the peer's segmentation offloads off while XDP is attached, so every
 * datagram then crosses the veth on its own: in the benchmark lab that
 * costs a TCP stream about 40% (bench-net setup h); on a NIC, XDP runs
 * before GRO and leaves the senders' offloads alone.
 */
SEC("xdp.frags")
int captun_early(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct early_config *cfg;
	struct early_source src = {};
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u8 *msg;
	__u32 zero = 0, index;
	__u16 proto;
	long len;

	cfg = bpf_map_lookup_elem(&early_settings, &zero);
	if (!cfg || cfg->port == 0)
		return XDP_PASS;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 ihl;

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP_)
			return XDP_PASS;
		/* fragments: the first has the port but not the whole message */
		if (ip->frag_off & bpf_htons(0x3fff))
			return XDP_PASS;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return XDP_PASS;
		udp = (void *)ip + ihl;
		src.family = 4;
		__builtin_memcpy(src.addr, &ip->saddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP_)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
		src.family = 6;
		__builtin_memcpy(src.addr, &ip6->saddr, 8);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	if (udp->dest != bpf_htons(cfg->port))
		return count(EARLY_PASS_OTHER, XDP_PASS);
	msg = (__u8 *)(udp + 1);
	/*
	 * The whole frame's length, fragments included (a GSO frame on a
	 * veth comes in several buffers; only the first is in data..end),
	 * bounds the UDP length; the UDP length, not the frame's, is the
	 * message's (a frame may carry padding).
	 */
	len = (long)bpf_xdp_get_buff_len(ctx) - (long)((void *)msg - data);
	if (bpf_ntohs(udp->len) < UDP_HLEN_ || bpf_ntohs(udp->len) - UDP_HLEN_ > len)
		return count(EARLY_PASS_OTHER, XDP_PASS);
	len = bpf_ntohs(udp->len) - UDP_HLEN_;
	/* every message type is longer than 8 bytes (proto.h) */
	if (len < 8 || (void *)(msg + 8) > end)
		return count(EARLY_DROP_SHORT, XDP_DROP);
	if (msg[1] || msg[2] || msg[3])
		return count(EARLY_DROP_TYPE, XDP_DROP);
	if (msg[0] == T_DATA || msg[0] == T_CONTROL) {
		if (len < EARLY_DATA_MIN)
			return count(EARLY_DROP_SHORT, XDP_DROP);
		index = ((__u32)msg[4] << 24) | ((__u32)msg[5] << 16) |
			((__u32)msg[6] << 8) | msg[7];
		if (!bpf_map_lookup_elem(&early_indices, &index))
			return count(EARLY_DROP_INDEX, XDP_DROP);
		return count(EARLY_PASS_DATA, XDP_PASS);
	}
	if (msg[0] >= T_INITIATION && msg[0] <= T_COOKIE_REPLY) {
		if (!budget_take(cfg, &src))
			return count(EARLY_DROP_HANDSHAKE, XDP_DROP);
		return count(EARLY_PASS_HANDSHAKE, XDP_PASS);
	}
	return count(EARLY_DROP_TYPE, XDP_DROP);
}
