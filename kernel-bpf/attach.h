/*
 * kernel-bpf/attach.h - what attach mode's eBPF programs (attach.bpf.c)
 * and their loader (attach.c) share: the stamp on the wire, every map's
 * key and value, the counters, and the limits. Fixed-width fields in an
 * explicit order, so that the kernel and user space agree byte for byte.
 *
 * The stamp: 8 bytes right after the fixed IP header, holding the
 * capability epoch the sender sent under (big-endian).
 *
 *   IPv4: an IP option, the first of the header (ihl grows by 2):
 *           0x9E (copied, class 0, number 30: RFC 4727 experimental)
 *           8 (option length)  0  0 (reserved, zero)  epoch (4 bytes)
 *   IPv6: a destination-options header, the first extension header:
 *           next header  0 (8 bytes long)
 *           0x1E (RFC 4727 experimental; top bits 00: skipped by a
 *           stack that does not know it)  4 (data length)  epoch (4 bytes)
 *
 * Lengths and the IPv4 header checksum are fixed on insert and strip; the
 * transport checksums do not cover either, so they stay as they are.
 */
#ifndef CAPTUN_KBPF_ATTACH_H
#define CAPTUN_KBPF_ATTACH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum attach_stamp {
	STAMP_LEN = 8,
	STAMP_V4_TYPE = 0x9e,
	STAMP_V6_TYPE = 0x1e,
	STAMP_V6_OPT_LEN = 4,
	STAMP_V6_NEXTHDR = 60,		/* IPPROTO_DSTOPTS */
};

struct stamp_v4 {
	__u8 type;			/* STAMP_V4_TYPE */
	__u8 len;			/* STAMP_LEN */
	__u8 reserved[2];		/* zero */
	__u32 epoch;			/* big-endian */
};

struct stamp_v6 {
	__u8 nexthdr;			/* what followed the IPv6 header */
	__u8 hdrlen;			/* 0: 8 bytes */
	__u8 type;			/* STAMP_V6_TYPE */
	__u8 len;			/* STAMP_V6_OPT_LEN */
	__u32 epoch;			/* big-endian */
};

enum attach_limit {
	ATTACH_MASK_BITS = 1024,
	ATTACH_MASK_WORDS = ATTACH_MASK_BITS / 64,
	ATTACH_PEERS_MAX = 2 * ATTACH_MASK_BITS,	/* two addresses a host */
	ATTACH_CAPS_MAX = 4 * ATTACH_MASK_BITS,		/* epochs kept per host: 4 */
	ATTACH_CT_MAX = 65536,
	ATTACH_EVENTS_BYTES = 256 * 1024,
	ATTACH_EVENTS_PER_S = 200,	/* per CPU, from the packet path */
};

/* Settings, one entry (key 0) of the config map. */
enum attach_flag {
	ATTACH_F_STRICT = 1 << 0,	/* no reply passes on conntrack */
	ATTACH_F_DROP_OTHERS = 1 << 1,	/* drop packets of non-captun peers */
	ATTACH_F_HAS4 = 1 << 2,
	ATTACH_F_HAS6 = 1 << 3,
	ATTACH_F_ENABLED = 1 << 4,	/* set once the maps are filled */
};

struct attach_config {
	__u64 netns_cookie;		/* the cgroup hooks act in this netns only */
	__u32 flags;			/* enum attach_flag */
	__u16 self_bit;
	__u16 ctl_port;			/* control channel's UDP port, host order */
	__u32 own_slot;			/* which own_caps slot is current: 0 or 1 */
	__u32 l3_off;			/* bytes before the IP header: 0 on a TUN */
	__u32 mtu;			/* interface MTU: stamped packets fit in it */
	__u32 ifindex;			/* the mesh interface */
	__u8 self4[16];			/* v4-mapped */
	__u8 self6[16];
};

/* This host's capability: written into the slot not in use, then flipped. */
struct attach_own {
	__u32 epoch;			/* 0: none yet, everything refused */
	__u32 reserved;
	__u64 mask[ATTACH_MASK_WORDS];	/* bit b is word b / 64, bit b % 64 */
};

/* peers: overlay address (IPv6 or v4-mapped) -> host. */
struct attach_peer_key {
	__u8 addr[16];
};

enum attach_peer_flag {
	PEER_F_REACHES_US = 1 << 0,	/* its latest capability holds our bit */
};

struct attach_peer {
	__u16 bit;
	__u16 flags;			/* enum attach_peer_flag */
	__u32 latest_epoch;
};

/* peer_caps: (host bit, epoch) -> verdict, written after verification. */
struct attach_cap_key {
	__u16 bit;
	__u16 reserved;
	__u32 epoch;
};

struct attach_cap {
	__u8 allowed;			/* the capability holds our bit */
	__u8 superseded;		/* a newer epoch was announced */
	__u8 reserved[2];
};

/*
 * conntrack: flows, normalised so that both directions share one key (the
 * lower address:port is side a). An entry remembers which host opened it.
 */
struct attach_ct_key {
	__u8 a[16], b[16];
	__u16 pa, pb;			/* ports, host order; ICMP echo: id, id */
	__u8 proto;
	__u8 reserved[3];
};

enum attach_ct_state {
	CT_OTHER = 0,
	CT_TCP_SYN = 1,
	CT_TCP_ESTABLISHED = 2,
	CT_TCP_CLOSING = 3,
};

enum attach_ct_opener {
	CT_OPENED_BY_US = 1,
	CT_OPENED_BY_PEER = 2,
};

struct attach_ct {
	__u64 last_ns;			/* bpf_ktime_get_ns of the last packet */
	__u16 peer_bit;			/* the other host */
	__u8 opener;			/* enum attach_ct_opener */
	__u8 state;			/* enum attach_ct_state */
	__u8 seen;			/* directions seen: 1 a->b, 2 b->a */
	__u8 reserved[3];
};

/* Timeouts after the last packet, seconds (as shim/conntrack.h). */
enum attach_ct_timeout_s {
	CT_TCP_SYN_S = 30,
	CT_TCP_ESTABLISHED_S = 600,
	CT_TCP_CLOSING_S = 30,
	CT_UDP_S = 60,
	CT_ICMP_S = 30,
	CT_OTHER_S = 60,
};

/* Counters, a per-CPU array indexed by this enum; attach_counter_names. */
enum attach_counter {
	/* passed */
	CNT_TX_STAMPED,
	CNT_TX_REPLY,			/* own capability lacks the peer: a reply */
	CNT_TX_CONTROL,			/* control channel, unstamped */
	CNT_TX_OTHER,			/* not to a captun host: untouched */
	CNT_RX_VERIFIED,
	CNT_RX_REPLY,			/* sender's capability lacks us: a reply */
	CNT_RX_CONTROL,
	CNT_RX_OTHER,			/* from a non-captun peer, passed */
	CNT_SOCK_ALLOWED_REPLY,		/* sendmsg of a reply */
	CNT_SOCK_DESTROYED,		/* TCP sockets aborted by the iterator */
	CNT_EVENTS_LOST,		/* ring buffer full or rate limit */
	/* dropped (and refused connects), each its own reason */
	CNT_DROP_FIRST,
	CNT_TX_DENIED = CNT_DROP_FIRST,	/* own capability lacks the peer */
	CNT_TX_NO_CAPABILITY,		/* no capability yet (epoch 0) */
	CNT_TX_NO_ROOM,			/* IPv4 options full, IPv6 hop-by-hop */
	CNT_TX_TOO_BIG,			/* over the MTU with the stamp */
	CNT_TX_MALFORMED,
	CNT_TX_CONNECT_DENIED,		/* connect() refused with EPERM */
	CNT_TX_SENDMSG_DENIED,		/* sendmsg() refused with EPERM */
	CNT_RX_MALFORMED,		/* truncated or malformed IP */
	CNT_RX_MISSING_STAMP,		/* from a captun host, no stamp */
	CNT_RX_MALFORMED_STAMP,
	CNT_RX_UNKNOWN_EPOCH,
	CNT_RX_STALE_EPOCH,		/* superseded by a newer announcement */
	CNT_RX_DENIED,			/* sender's capability lacks our bit */
	CNT_RX_SPOOFED,			/* our own source, or stamped by a non-host */
	CNT_RX_NOT_FOR_US,		/* from a captun host to another address */
	CNT_RX_NON_CAPTUN,		/* non-captun peer, dropped by setting */
	CNT_COUNT,
};

/* Per peer (indexed by bit), per CPU. */
struct attach_peer_counters {
	__u64 tx_packets, tx_bytes, rx_packets, rx_bytes;
	__u64 tx_denied, rx_denied;
};

#endif
