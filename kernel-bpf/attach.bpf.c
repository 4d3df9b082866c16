// SPDX-License-Identifier: GPL-2.0
/*
 * kernel-bpf/attach.bpf.c - captun's attach mode, in the kernel: on an
 * existing mesh interface (wg0, nebula1, tailscale0, ...),
 *
 *   tc egress   stamps every packet to a captun host with this host's
 *               capability epoch, if that capability holds the host (or
 *               the packet answers a flow the other host opened);
 *   tc ingress  finds the sender host by the inner source (the mesh has
 *               authenticated it), looks (host, epoch) up, delivers only if
 *               our bit is set (or the packet answers a flow we opened),
 *               and strips the stamp byte-exactly;
 *   cgroup connect4/6, sendmsg4/6
 *               refuse at once (EPERM) what the capability forbids, with
 *               the process in a ring-buffer record, in one netns only;
 *   iter/tcp    aborts established connections that became forbidden.
 *
 * Every verdict comes from maps user space fills after verifying signed
 * announcements (shim/attach.c); no public-key work happens here.
 * Layouts: attach.h and attach_event.h.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "attach.h"
#include "attach_event.h"

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define NS_PER_S 1000000000ULL

enum {
	IPPROTO_HOPOPTS_ = 0,
	IPPROTO_ICMP_ = 1,
	IPPROTO_TCP_ = 6,
	IPPROTO_UDP_ = 17,
	IPPROTO_ROUTING_ = 43,
	IPPROTO_FRAGMENT_ = 44,
	IPPROTO_AH_ = 51,
	IPPROTO_ICMPV6_ = 58,
	IPPROTO_DSTOPTS_ = 60,
	TCPF_FIN_ = 0x01,
	TCPF_SYN_ = 0x02,
	TCPF_RST_ = 0x04,
	TCPF_ACK_ = 0x10,
	V6_EXT_MAX = 6,
	L3_OFF_MAX = 64,
	TCP_ESTABLISHED_ = 1,
	TCP_SYN_SENT_ = 2,
	TCP_SYN_RECV_ = 3,
	TCP_TIME_WAIT_ = 6,
	TCP_CLOSE_ = 7,
	TCP_LISTEN_ = 10,
	TCP_NEW_SYN_RECV_ = 12,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct attach_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct attach_own);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} own_caps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ATTACH_PEERS_MAX);
	__type(key, struct attach_peer_key);
	__type(value, struct attach_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ATTACH_CAPS_MAX);
	__type(key, struct attach_cap_key);
	__type(value, struct attach_cap);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peer_caps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ATTACH_CT_MAX);
	__type(key, struct attach_ct_key);
	__type(value, struct attach_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ATTACH_MASK_BITS);
	__type(key, __u32);
	__type(value, struct attach_peer_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peer_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, ATTACH_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct ratelimit {
	__u64 last_ns;
	__u64 tokens;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ratelimit);
} ratelimit SEC(".maps");

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* What the programs need to know of one packet. */
struct pkt {
	__u8 src[16] __attribute__((aligned(8)));	/* v4-mapped for IPv4 */
	__u8 dst[16] __attribute__((aligned(8)));
	__u16 sport, dport;		/* host order; ICMP echo: id, id */
	__u8 family, proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 fragment;			/* a non-first fragment: no ports */
	__u8 icmp_error;		/* related holds the flow it is about */
	__u8 stamped, stamp_bad;
	__u32 epoch;			/* from the stamp */
	__u32 l3;			/* offset of the IP header */
	__u32 hlen;			/* IPv4: ihl * 4 */
	__u8 nexthdr;			/* IPv6: the header after the fixed one */
	__u16 payload;			/* IPv6 payload length / IPv4 total length */
	struct {
		__u8 src[16] __attribute__((aligned(8)));
		__u8 dst[16] __attribute__((aligned(8)));
		__u16 sport, dport;
		__u8 proto;
	} related;
};

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);

	if (v)
		*v += 1;
}

static __always_inline void peer_count(__u16 bit, bool tx, bool denied, __u32 len)
{
	__u32 k = bit;
	struct attach_peer_counters *c = bpf_map_lookup_elem(&peer_counters, &k);

	if (!c)
		return;
	if (denied) {
		if (tx)
			c->tx_denied++;
		else
			c->rx_denied++;
	} else if (tx) {
		c->tx_packets++;
		c->tx_bytes += len;
	} else {
		c->rx_packets++;
		c->rx_bytes += len;
	}
}

static __always_inline struct attach_config *cfg_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&settings, &k);
}

static __always_inline struct attach_own *own_get(const struct attach_config *cfg)
{
	__u32 k = cfg->own_slot & 1;

	return bpf_map_lookup_elem(&own_caps, &k);
}

static __always_inline bool own_has(const struct attach_own *own, __u16 bit)
{
	__u32 w = (bit / 64) & (ATTACH_MASK_WORDS - 1);

	return own && own->epoch && (own->mask[w] >> (bit % 64)) & 1;
}

static __always_inline void map4(__u8 out[16], __u32 be_addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &be_addr, 4);
}

static __always_inline bool addr_eq(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline bool is_self(const struct attach_config *cfg, const __u8 a[16])
{
	return ((cfg->flags & ATTACH_F_HAS4) && addr_eq(a, cfg->self4)) ||
	       ((cfg->flags & ATTACH_F_HAS6) && addr_eq(a, cfg->self6));
}

static __always_inline struct attach_peer *peer_of(const __u8 a[16])
{
	struct attach_peer_key k;

	__builtin_memcpy(k.addr, a, 16);
	return bpf_map_lookup_elem(&peers, &k);
}

/*
 * A per-CPU token bucket for records from the packet path: a flood of
 * refused packets must not turn into a flood of records.
 */
static __always_inline bool event_allowed(void)
{
	__u32 k = 0;
	struct ratelimit *r = bpf_map_lookup_elem(&ratelimit, &k);
	__u64 now = bpf_ktime_get_ns(), add;

	if (!r)
		return false;
	add = (now - r->last_ns) / (NS_PER_S / ATTACH_EVENTS_PER_S);
	if (add) {
		r->tokens += add;
		if (r->tokens > ATTACH_EVENTS_PER_S)
			r->tokens = ATTACH_EVENTS_PER_S;
		r->last_ns = now;
	}
	if (!r->tokens) {
		count(CNT_EVENTS_LOST);
		return false;
	}
	r->tokens--;
	return true;
}

static __always_inline void event_pkt(__u32 kind, const struct pkt *p, __u16 bit,
				      __u32 epoch)
{
	struct attach_event *e;

	if (!event_allowed())
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_EVENTS_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->epoch = epoch;
	e->peer_bit = bit;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	bpf_ringbuf_submit(e, 0);
}

/* ---- parsing --------------------------------------------------------------------- */

struct iphdr_ {
	__u8 vihl, tos;
	__u16 tot_len, id, frag_off;
	__u8 ttl, protocol;
	__u16 check;
	__u32 saddr, daddr;
};

struct ip6hdr_ {
	__u32 vtcfl;
	__u16 payload_len;
	__u8 nexthdr, hop_limit;
	__u8 saddr[16], daddr[16];
};

/* Ports (or ICMP fields) of the transport header at off. */
static __always_inline int l4(struct __sk_buff *skb, struct pkt *p, __u32 off)
{
	__u8 b[16];

	if (p->fragment)
		return 0;
	if (p->proto == IPPROTO_TCP_) {
		if (bpf_skb_load_bytes(skb, off, b, 14) < 0)
			return -1;
		p->sport = (b[0] << 8) | b[1];
		p->dport = (b[2] << 8) | b[3];
		p->tcp_flags = b[13];
	} else if (p->proto == IPPROTO_UDP_) {
		if (bpf_skb_load_bytes(skb, off, b, 8) < 0)
			return -1;
		p->sport = (b[0] << 8) | b[1];
		p->dport = (b[2] << 8) | b[3];
	} else if (p->proto == IPPROTO_ICMP_ || p->proto == IPPROTO_ICMPV6_) {
		bool v4 = p->proto == IPPROTO_ICMP_;

		if (bpf_skb_load_bytes(skb, off, b, 8) < 0)
			return -1;
		p->icmp_type = b[0];
		if ((v4 && (b[0] == 8 || b[0] == 0)) || (!v4 && (b[0] == 128 || b[0] == 129))) {
			p->sport = p->dport = (b[4] << 8) | b[5];
		} else if ((v4 && (b[0] == 3 || b[0] == 11 || b[0] == 12)) ||
			   (!v4 && b[0] >= 1 && b[0] <= 4)) {
			p->icmp_error = 1;
			if (v4) {
				struct iphdr_ q;
				__u32 qh;

				if (bpf_skb_load_bytes(skb, off + 8, &q, sizeof(q)) < 0)
					return 0;	/* errors with short quotes match nothing */
				map4(p->related.src, q.saddr);
				map4(p->related.dst, q.daddr);
				p->related.proto = q.protocol;
				qh = (q.vihl & 0xf) * 4;
				if (qh < 20 || qh > 60)
					return 0;
				if (q.protocol == IPPROTO_TCP_ || q.protocol == IPPROTO_UDP_) {
					if (bpf_skb_load_bytes(skb, off + 8 + qh, b, 4) < 0)
						return 0;
					p->related.sport = (b[0] << 8) | b[1];
					p->related.dport = (b[2] << 8) | b[3];
				}
			} else {
				struct ip6hdr_ q;

				if (bpf_skb_load_bytes(skb, off + 8, &q, sizeof(q)) < 0)
					return 0;
				__builtin_memcpy(p->related.src, q.saddr, 16);
				__builtin_memcpy(p->related.dst, q.daddr, 16);
				p->related.proto = q.nexthdr;
				if (q.nexthdr == IPPROTO_TCP_ || q.nexthdr == IPPROTO_UDP_) {
					if (bpf_skb_load_bytes(skb, off + 48, b, 4) < 0)
						return 0;
					p->related.sport = (b[0] << 8) | b[1];
					p->related.dport = (b[2] << 8) | b[3];
				}
			}
		}
	}
	return 0;
}

/*
 * Parses the IP packet at l3. 1: parsed; 0: not IP (left alone);
 * -1: malformed. A stamp is recognised (stamped, epoch) if it is the
 * first option / extension header; one that looks like ours but is not
 * exactly right sets stamp_bad.
 */
static __always_inline int parse(struct __sk_buff *skb, __u32 l3, struct pkt *p)
{
	__u32 len = skb->len;

	__builtin_memset(p, 0, sizeof(*p));
	p->l3 = l3;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr_ ip;
		__u16 frag;

		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0)
			return -1;
		p->hlen = (ip.vihl & 0xf) * 4;
		p->payload = bpf_ntohs(ip.tot_len);
		if ((ip.vihl >> 4) != 4 || p->hlen < 20 || p->payload < p->hlen ||
		    p->payload > len - l3)
			return -1;
		p->family = AF_INET;
		p->proto = ip.protocol;
		map4(p->src, ip.saddr);
		map4(p->dst, ip.daddr);
		frag = bpf_ntohs(ip.frag_off);
		p->fragment = (frag & 0x1fff) != 0;
		if (p->hlen >= 20 + STAMP_LEN) {
			struct stamp_v4 st;

			if (bpf_skb_load_bytes(skb, l3 + 20, &st, sizeof(st)) < 0)
				return -1;
			if (st.type == STAMP_V4_TYPE) {
				p->stamped = 1;
				p->epoch = bpf_ntohl(st.epoch);
				p->stamp_bad = st.len != STAMP_LEN || st.reserved[0] ||
					       st.reserved[1];
			}
		} else if (p->hlen > 20) {
			__u8 t;

			if (bpf_skb_load_bytes(skb, l3 + 20, &t, 1) < 0)
				return -1;
			if (t == STAMP_V4_TYPE)
				p->stamped = p->stamp_bad = 1;
		}
		if (l4(skb, p, l3 + p->hlen) < 0)
			return -1;
		return 1;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ip6hdr_ ip6;
		__u32 off = l3 + 40;
		__u8 nh;

		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)) < 0)
			return -1;
		p->payload = bpf_ntohs(ip6.payload_len);
		if ((bpf_ntohl(ip6.vtcfl) >> 28) != 6 || 40 + (__u32)p->payload > len - l3)
			return -1;
		p->family = AF_INET6;
		__builtin_memcpy(p->src, ip6.saddr, 16);
		__builtin_memcpy(p->dst, ip6.daddr, 16);
		p->nexthdr = nh = ip6.nexthdr;
		if (nh == STAMP_V6_NEXTHDR) {
			struct stamp_v6 st;

			if (p->payload < STAMP_LEN)
				return -1;

			if (bpf_skb_load_bytes(skb, off, &st, sizeof(st)) < 0)
				return -1;
			if (st.type == STAMP_V6_TYPE) {
				p->stamped = 1;
				p->epoch = bpf_ntohl(st.epoch);
				p->stamp_bad = st.hdrlen != 0 || st.len != STAMP_V6_OPT_LEN;
			}
		}
#pragma unroll
		for (int i = 0; i < V6_EXT_MAX; i++) {
			__u8 h[8];

			if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ &&
			    nh != IPPROTO_DSTOPTS_ && nh != IPPROTO_FRAGMENT_ && nh != IPPROTO_AH_)
				break;
			if (bpf_skb_load_bytes(skb, off, h, 8) < 0)
				return -1;
			if (nh == IPPROTO_FRAGMENT_) {
				if (((h[2] << 8) | h[3]) & 0xfff8)
					p->fragment = 1;
				off += 8;
			} else if (nh == IPPROTO_AH_) {
				off += ((__u32)h[1] + 2) * 4;
			} else {
				off += ((__u32)h[1] + 1) * 8;
			}
			nh = h[0];
		}
		if (nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_DSTOPTS_ ||
		    nh == IPPROTO_FRAGMENT_ || nh == IPPROTO_AH_)
			return -1;	/* a longer chain than we follow */
		p->proto = nh;
		if (l4(skb, p, off) < 0)
			return -1;
		return 1;
	}
	return 0;
}

/* ---- conntrack --------------------------------------------------------------------- */

/* The key both directions share; returns this packet's direction (1 or 2). */
static __always_inline __u8 ct_key(struct attach_ct_key *k, __u8 proto,
				   const __u8 *src, __u16 sport,
				   const __u8 *dst, __u16 dport)
{
	int c = 0;

	__builtin_memset(k, 0, sizeof(*k));
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (c == 0 && src[i] != dst[i])
			c = src[i] < dst[i] ? -1 : 1;
	}
	k->proto = proto;
	if (c < 0 || (c == 0 && sport <= dport)) {
		__builtin_memcpy(k->a, src, 16);
		__builtin_memcpy(k->b, dst, 16);
		k->pa = sport;
		k->pb = dport;
		return 1;
	}
	__builtin_memcpy(k->a, dst, 16);
	__builtin_memcpy(k->b, src, 16);
	k->pa = dport;
	k->pb = sport;
	return 2;
}

static __always_inline __u64 ct_timeout(const struct attach_ct *e, __u8 proto)
{
	switch (e->state) {
	case CT_TCP_SYN:
		return CT_TCP_SYN_S * NS_PER_S;
	case CT_TCP_ESTABLISHED:
		return CT_TCP_ESTABLISHED_S * NS_PER_S;
	case CT_TCP_CLOSING:
		return CT_TCP_CLOSING_S * NS_PER_S;
	}
	if (proto == IPPROTO_UDP_)
		return CT_UDP_S * NS_PER_S;
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_)
		return CT_ICMP_S * NS_PER_S;
	return CT_OTHER_S * NS_PER_S;
}

static __always_inline struct attach_ct *ct_find(const struct attach_ct_key *k, __u64 now)
{
	struct attach_ct *e = bpf_map_lookup_elem(&conntrack, k);

	if (e && e->last_ns + ct_timeout(e, k->proto) < now) {
		bpf_map_delete_elem(&conntrack, k);
		return NULL;
	}
	return e;
}

/* As shim/conntrack.c: FIN/RST close, bare SYN (re)opens, ACK both ways establishes. */
static __always_inline void ct_tcp(struct attach_ct *e, __u8 flags, __u8 dir)
{
	__u8 rev = dir == 1 ? 2 : 1;

	if (flags & (TCPF_FIN_ | TCPF_RST_)) {
		e->state = CT_TCP_CLOSING;
	} else if ((flags & (TCPF_SYN_ | TCPF_ACK_)) == TCPF_SYN_) {
		if (e->state != CT_TCP_ESTABLISHED) {
			e->state = CT_TCP_SYN;
			e->seen = 0;
		}
	} else if (e->state == CT_TCP_SYN && (flags & TCPF_ACK_) && (e->seen & rev)) {
		e->state = CT_TCP_ESTABLISHED;
	}
	e->seen |= dir;
}

static __always_inline bool is_icmp(const struct pkt *p)
{
	return p->proto == IPPROTO_ICMP_ || p->proto == IPPROTO_ICMPV6_;
}

static __always_inline bool trackable(const struct pkt *p)
{
	if (p->icmp_error || p->fragment)
		return false;
	if (is_icmp(p))
		return p->icmp_type == (p->family == AF_INET ? 8 : 128);
	return true;
}

enum verdict {
	V_DENY = 0,
	V_CAP = 1,			/* the sender's capability allows it */
	V_REPLY = 2,			/* a reply to a flow the receiver opened */
};

/*
 * The rule shim/conntrack.c follows: a flow remembers which host opened
 * it; a packet the sender's capability forbids passes only as a reply to
 * a flow the receiver opened (never in strict mode). A bare TCP RST of a
 * known flow passes too: it only ends the flow, and without it the other
 * end would wait for a connection the iterator already aborted here.
 *
 * opener_if_new: who opens the flow if this packet starts it;
 * receiver: the opener a reply must answer.
 */
static __always_inline int judge(const struct pkt *p, bool by_cap, bool strict,
				 __u8 opener_if_new, __u8 receiver, __u16 peer_bit)
{
	struct attach_ct_key k;
	struct attach_ct *e;
	__u64 now = bpf_ktime_get_ns();
	__u8 dir;

	if (by_cap) {
		if (!trackable(p))
			return V_CAP;
		dir = ct_key(&k, p->proto, p->src, p->sport, p->dst, p->dport);
		e = ct_find(&k, now);
		if (!e) {
			struct attach_ct n = {};

			if (p->proto == IPPROTO_TCP_ && (p->tcp_flags & TCPF_RST_))
				return V_CAP;
			n.last_ns = now;
			n.peer_bit = peer_bit;
			n.opener = opener_if_new;
			n.state = p->proto == IPPROTO_TCP_ ? CT_TCP_SYN : CT_OTHER;
			if (p->proto == IPPROTO_TCP_)
				ct_tcp(&n, p->tcp_flags, dir);
			bpf_map_update_elem(&conntrack, &k, &n, BPF_NOEXIST);
			return V_CAP;
		}
		e->last_ns = now;
		if (p->proto == IPPROTO_TCP_)
			ct_tcp(e, p->tcp_flags, dir);
		return V_CAP;
	}
	if (p->icmp_error) {
		if (strict || !addr_eq(p->dst, p->related.src))
			return V_DENY;
		ct_key(&k, p->related.proto, p->related.src, p->related.sport,
		       p->related.dst, p->related.dport);
		e = ct_find(&k, now);
		return e && e->opener == receiver ? V_REPLY : V_DENY;
	}
	if (p->fragment)
		return V_DENY;
	if (is_icmp(p) && p->icmp_type != (p->family == AF_INET ? 0 : 129))
		return V_DENY;
	dir = ct_key(&k, p->proto, p->src, p->sport, p->dst, p->dport);
	e = ct_find(&k, now);
	if (!e || strict)
		return V_DENY;
	if (e->opener != receiver &&
	    !(p->proto == IPPROTO_TCP_ && p->tcp_flags == TCPF_RST_))
		return V_DENY;
	e->last_ns = now;
	if (p->proto == IPPROTO_TCP_)
		ct_tcp(e, p->tcp_flags, dir);
	return V_REPLY;
}

/* The control channel: datagrams between the daemons' ports, unstamped. */
static __always_inline bool is_control(const struct attach_config *cfg, const struct pkt *p)
{
	return p->proto == IPPROTO_UDP_ && !p->fragment && cfg->ctl_port &&
	       p->sport == cfg->ctl_port && p->dport == cfg->ctl_port;
}

/* ---- tc egress: check and stamp ---------------------------------------------------- */

static __always_inline __u32 l3_of(const struct attach_config *cfg)
{
	return cfg->l3_off > L3_OFF_MAX ? L3_OFF_MAX : cfg->l3_off;
}

static __always_inline int stamp4(struct __sk_buff *skb, const struct pkt *p, __u32 epoch)
{
	__u32 l3 = p->l3, csum = l3 + 10;
	struct stamp_v4 st = { STAMP_V4_TYPE, STAMP_LEN, { 0, 0 }, bpf_htonl(epoch) };
	__u16 w0_old, w0_new, tl_old, tl_new;
	__u32 words[2];

	if (p->hlen + STAMP_LEN > 60)
		return -1;
	if (bpf_skb_load_bytes(skb, l3, &w0_old, 2) < 0 ||
	    bpf_skb_load_bytes(skb, l3 + 2, &tl_old, 2) < 0)
		return -2;
	if (bpf_skb_adjust_room(skb, STAMP_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return -2;
	if (bpf_skb_store_bytes(skb, l3 + 20, &st, sizeof(st), 0) < 0)
		return -2;
	w0_new = bpf_htons(bpf_ntohs(w0_old) + (2 << 8));	/* ihl += 2 */
	tl_new = bpf_htons(bpf_ntohs(tl_old) + STAMP_LEN);
	__builtin_memcpy(words, &st, sizeof(words));
	if (bpf_skb_store_bytes(skb, l3, &w0_new, 2, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 2, &tl_new, 2, 0) < 0 ||
	    bpf_l3_csum_replace(skb, csum, w0_old, w0_new, 2) < 0 ||
	    bpf_l3_csum_replace(skb, csum, tl_old, tl_new, 2) < 0 ||
	    bpf_l3_csum_replace(skb, csum, 0, words[0], 4) < 0 ||
	    bpf_l3_csum_replace(skb, csum, 0, words[1], 4) < 0)
		return -2;
	return 0;
}

static __always_inline int stamp6(struct __sk_buff *skb, const struct pkt *p, __u32 epoch)
{
	__u32 l3 = p->l3;
	struct stamp_v6 st = { p->nexthdr, 0, STAMP_V6_TYPE, STAMP_V6_OPT_LEN, bpf_htonl(epoch) };
	__u8 nh = STAMP_V6_NEXTHDR;
	__u16 pl = bpf_htons(p->payload + STAMP_LEN);

	if (p->nexthdr == IPPROTO_HOPOPTS_)
		return -1;	/* hop-by-hop must stay first */
	if (bpf_skb_adjust_room(skb, STAMP_LEN, BPF_ADJ_ROOM_NET, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 40, &st, sizeof(st), 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 6, &nh, 1, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 4, &pl, 2, 0) < 0)
		return -2;
	return 0;
}

SEC("tc")
int captun_egress(struct __sk_buff *skb)
{
	struct attach_config *cfg = cfg_get();
	struct attach_own *own;
	struct attach_peer *peer;
	struct pkt p;
	int r, v;

	if (!cfg || !(cfg->flags & ATTACH_F_ENABLED))
		return TC_ACT_UNSPEC;
	r = parse(skb, l3_of(cfg), &p);
	if (r == 0)
		return TC_ACT_UNSPEC;
	if (r < 0) {
		count(CNT_TX_MALFORMED);
		return TC_ACT_SHOT;
	}
	peer = peer_of(p.dst);
	if (!peer) {
		count(CNT_TX_OTHER);
		return TC_ACT_UNSPEC;
	}
	if (is_control(cfg, &p) && is_self(cfg, p.src)) {
		count(CNT_TX_CONTROL);
		return TC_ACT_UNSPEC;
	}
	own = own_get(cfg);
	if (!own || !own->epoch) {
		count(CNT_TX_NO_CAPABILITY);
		return TC_ACT_SHOT;
	}
	v = judge(&p, own_has(own, peer->bit), cfg->flags & ATTACH_F_STRICT,
		  CT_OPENED_BY_US, CT_OPENED_BY_PEER, peer->bit);
	if (v == V_DENY) {
		count(CNT_TX_DENIED);
		peer_count(peer->bit, true, true, 0);
		event_pkt(EV_TX_DENIED, &p, peer->bit, own->epoch);
		return TC_ACT_SHOT;
	}
	if (cfg->mtu && !skb->gso_size && skb->len - p.l3 + STAMP_LEN > cfg->mtu) {
		count(CNT_TX_TOO_BIG);
		return TC_ACT_SHOT;
	}
	r = p.family == AF_INET ? stamp4(skb, &p, own->epoch) : stamp6(skb, &p, own->epoch);
	if (r < 0) {
		count(r == -1 ? CNT_TX_NO_ROOM : CNT_TX_MALFORMED);
		return TC_ACT_SHOT;
	}
	count(v == V_REPLY ? CNT_TX_REPLY : CNT_TX_STAMPED);
	peer_count(peer->bit, true, false, skb->len);
	return TC_ACT_UNSPEC;
}

/* ---- tc ingress: verify, enforce, strip ------------------------------------------- */

static __always_inline int strip4(struct __sk_buff *skb, const struct pkt *p)
{
	__u32 l3 = p->l3, csum = l3 + 10;
	__u16 w0_old, w0_new, tl_old, tl_new;
	__u32 words[2];

	if (bpf_skb_load_bytes(skb, l3, &w0_old, 2) < 0 ||
	    bpf_skb_load_bytes(skb, l3 + 2, &tl_old, 2) < 0 ||
	    bpf_skb_load_bytes(skb, l3 + 20, words, 8) < 0)
		return -1;
	if (bpf_skb_adjust_room(skb, -STAMP_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	w0_new = bpf_htons(bpf_ntohs(w0_old) - (2 << 8));
	tl_new = bpf_htons(bpf_ntohs(tl_old) - STAMP_LEN);
	if (bpf_skb_store_bytes(skb, l3, &w0_new, 2, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 2, &tl_new, 2, 0) < 0 ||
	    bpf_l3_csum_replace(skb, csum, w0_old, w0_new, 2) < 0 ||
	    bpf_l3_csum_replace(skb, csum, tl_old, tl_new, 2) < 0 ||
	    bpf_l3_csum_replace(skb, csum, words[0], 0, 4) < 0 ||
	    bpf_l3_csum_replace(skb, csum, words[1], 0, 4) < 0)
		return -1;
	return 0;
}

static __always_inline int strip6(struct __sk_buff *skb, const struct pkt *p)
{
	__u32 l3 = p->l3;
	__u8 nh;
	__u16 pl = bpf_htons(p->payload - STAMP_LEN);

	if (bpf_skb_load_bytes(skb, l3 + 40, &nh, 1) < 0 ||
	    bpf_skb_adjust_room(skb, -STAMP_LEN, BPF_ADJ_ROOM_NET, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 6, &nh, 1, 0) < 0 ||
	    bpf_skb_store_bytes(skb, l3 + 4, &pl, 2, 0) < 0)
		return -1;
	return 0;
}

static __always_inline int rx_drop(__u32 reason)
{
	count(reason);
	return TC_ACT_SHOT;
}

SEC("tc")
int captun_ingress(struct __sk_buff *skb)
{
	struct attach_config *cfg = cfg_get();
	struct attach_cap_key ck = {};
	struct attach_peer *peer;
	struct attach_cap *cap;
	struct pkt p;
	int r, v;

	if (!cfg || !(cfg->flags & ATTACH_F_ENABLED))
		return TC_ACT_UNSPEC;
	r = parse(skb, l3_of(cfg), &p);
	if (r == 0)
		return TC_ACT_UNSPEC;
	if (r < 0)
		return rx_drop(CNT_RX_MALFORMED);
	if (is_self(cfg, p.src))
		return rx_drop(CNT_RX_SPOOFED);
	peer = peer_of(p.src);
	if (!peer) {
		if (p.stamped)
			return rx_drop(CNT_RX_SPOOFED);
		if (cfg->flags & ATTACH_F_DROP_OTHERS)
			return rx_drop(CNT_RX_NON_CAPTUN);
		count(CNT_RX_OTHER);
		return TC_ACT_UNSPEC;
	}
	if (!is_self(cfg, p.dst))
		return rx_drop(CNT_RX_NOT_FOR_US);
	if (!p.stamped) {
		if (is_control(cfg, &p)) {
			count(CNT_RX_CONTROL);
			return TC_ACT_UNSPEC;
		}
		return rx_drop(CNT_RX_MISSING_STAMP);
	}
	if (p.stamp_bad || p.epoch == 0)
		return rx_drop(CNT_RX_MALFORMED_STAMP);
	ck.bit = peer->bit;
	ck.epoch = p.epoch;
	cap = bpf_map_lookup_elem(&peer_caps, &ck);
	if (!cap) {
		event_pkt(EV_UNKNOWN_EPOCH, &p, peer->bit, p.epoch);
		return rx_drop(CNT_RX_UNKNOWN_EPOCH);
	}
	if (cap->superseded)
		return rx_drop(CNT_RX_STALE_EPOCH);
	v = judge(&p, cap->allowed, cfg->flags & ATTACH_F_STRICT,
		  CT_OPENED_BY_PEER, CT_OPENED_BY_US, peer->bit);
	if (v == V_DENY) {
		peer_count(peer->bit, false, true, 0);
		event_pkt(EV_RX_DENIED, &p, peer->bit, p.epoch);
		return rx_drop(CNT_RX_DENIED);
	}
	r = p.family == AF_INET ? strip4(skb, &p) : strip6(skb, &p);
	if (r < 0)
		return rx_drop(CNT_RX_MALFORMED);
	count(v == V_REPLY ? CNT_RX_REPLY : CNT_RX_VERIFIED);
	peer_count(peer->bit, false, false, skb->len);
	return TC_ACT_UNSPEC;
}

/* ---- cgroup hooks: refuse at once, say who ------------------------------------------ */

static __always_inline int sock_judge(struct bpf_sock_addr *ctx, bool v6, bool msg)
{
	struct attach_config *cfg = cfg_get();
	struct attach_own *own;
	struct attach_peer *peer;
	struct attach_event *e;
	struct pkt p;
	__u32 kind;

	if (!cfg || !(cfg->flags & ATTACH_F_ENABLED))
		return 1;
	if (bpf_get_netns_cookie(ctx) != cfg->netns_cookie)
		return 1;
	__builtin_memset(&p, 0, sizeof(p));
	if (v6) {
		__u32 d[4];

		d[0] = ctx->user_ip6[0];
		d[1] = ctx->user_ip6[1];
		d[2] = ctx->user_ip6[2];
		d[3] = ctx->user_ip6[3];
		__builtin_memcpy(p.dst, d, 16);
		p.family = AF_INET6;
	} else {
		map4(p.dst, ctx->user_ip4);
		p.family = AF_INET;
	}
	peer = peer_of(p.dst);
	if (!peer)
		return 1;
	own = own_get(cfg);
	if (own_has(own, peer->bit))
		return 1;
	/* v4-mapped destinations on an IPv6 socket leave as IPv4 */
	if (p.family == AF_INET6 && p.dst[10] == 0xff && p.dst[11] == 0xff && !p.dst[0])
		p.family = AF_INET;
	__builtin_memcpy(p.src, p.family == AF_INET ? cfg->self4 : cfg->self6, 16);
	p.proto = ctx->protocol;
	p.dport = bpf_ntohs(ctx->user_port);
	if (ctx->sk)
		p.sport = ctx->sk->src_port;
	if (msg && p.proto == IPPROTO_UDP_ && cfg->ctl_port && p.sport == cfg->ctl_port &&
	    p.dport == cfg->ctl_port)
		return 1;	/* the daemons' control channel (is_control) */
	if (msg && p.sport && !(cfg->flags & ATTACH_F_STRICT)) {
		struct attach_ct_key k;
		struct attach_ct *ct;

		ct_key(&k, p.proto, p.src, p.sport, p.dst, p.dport);
		ct = ct_find(&k, bpf_ktime_get_ns());
		if (ct && ct->opener == CT_OPENED_BY_PEER) {
			count(CNT_SOCK_ALLOWED_REPLY);
			return 1;
		}
	}
	kind = msg ? EV_SENDMSG_DENIED : EV_CONNECT_DENIED;
	count(msg ? CNT_TX_SENDMSG_DENIED : CNT_TX_CONNECT_DENIED);
	peer_count(peer->bit, true, true, 0);
	if (!event_allowed())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_EVENTS_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->gid = bpf_get_current_uid_gid() >> 32;
	e->epoch = own ? own->epoch : 0;
	e->peer_bit = peer->bit;
	e->family = p.family;
	e->proto = p.proto;
	e->sport = p.sport;
	e->dport = p.dport;
	__builtin_memcpy(e->src, p.src, 16);
	__builtin_memcpy(e->dst, p.dst, 16);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("cgroup/connect4")
int captun_connect4(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, false, false);
}

SEC("cgroup/connect6")
int captun_connect6(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, true, false);
}

SEC("cgroup/sendmsg4")
int captun_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, false, true);
}

SEC("cgroup/sendmsg6")
int captun_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, true, true);
}

/* ---- iter/tcp: abort what became forbidden ------------------------------------------ */

/*
 * A connection is forbidden when the host that opened it may no longer
 * reach the other (in strict mode: when either may not reach the other);
 * with no flow record, when neither may reach the other.
 */
SEC("iter/tcp")
int captun_sock_destroy(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	struct attach_config *cfg = cfg_get();
	struct attach_ct_key k;
	struct attach_ct *ct;
	struct attach_peer *peer;
	struct attach_own *own;
	__u8 local[16] __attribute__((aligned(8)));
	__u8 remote[16] __attribute__((aligned(8)));
	bool we, they, forbidden;
	__u8 state;

	if (!sk || !cfg)
		return 0;
	state = sk->skc_state;
	if (state == TCP_LISTEN_ || state == TCP_CLOSE_ || state == TCP_TIME_WAIT_ ||
	    state == TCP_NEW_SYN_RECV_)
		return 0;
	if (sk->skc_family == AF_INET) {
		map4(local, sk->skc_rcv_saddr);
		map4(remote, sk->skc_daddr);
	} else if (sk->skc_family == AF_INET6) {
		__builtin_memcpy(local, &sk->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(remote, &sk->skc_v6_daddr, 16);
	} else {
		return 0;
	}
	peer = peer_of(remote);
	if (!peer)
		return 0;
	own = own_get(cfg);
	we = own_has(own, peer->bit);
	they = peer->flags & PEER_F_REACHES_US;
	ct_key(&k, IPPROTO_TCP_, local, sk->skc_num, remote, bpf_ntohs(sk->skc_dport));
	ct = bpf_map_lookup_elem(&conntrack, &k);
	if (cfg->flags & ATTACH_F_STRICT)
		forbidden = !we || !they;
	else if (ct && ct->opener == CT_OPENED_BY_US)
		forbidden = !we;
	else if (ct && ct->opener == CT_OPENED_BY_PEER)
		forbidden = !they;
	else
		forbidden = !we && !they;
	if (forbidden && bpf_sock_destroy(sk) == 0)
		count(CNT_SOCK_DESTROYED);
	return 0;
}
