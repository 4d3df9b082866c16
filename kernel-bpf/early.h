/*
 * kernel-bpf/early.h - the layout shared by capshim's early-drop XDP
 * program (early.bpf.c) and its loader (earlydrop.c).
 *
 * On the underlay interface, before any socket buffer is made, for UDP
 * datagrams to capshim's port only (everything else passes untouched):
 *
 *   data, control   (proto.h types 4, 5) pass only if their receiver index
 *                   is in the `early_indices` map, which capshim fills with the
 *                   index of every session it installs and empties as
 *                   sessions end; shorter than a data header, or reserved
 *                   bits set: dropped.
 *   initiation, response, cookie reply (types 1, 2, 3)
 *                   pass within a per-source budget: a token bucket per
 *                   source, keyed like shim/ratelimiter.h's (an IPv4
 *                   address whole, an IPv6 address's /64), but EARLY_HS_RATE
 *                   times as generous, since the kernel cannot check mac1:
 *                   it counts every handshake message, valid or not, and a
 *                   legitimate peer answered with a cookie sends twice. So
 *                   the program never refuses what capshim's own budget
 *                   (which charges only messages whose macs are valid)
 *                   would take; it only keeps floods from one source out
 *                   of user space. Cookies under load stay capshim's.
 *   anything else   to the port (unknown type): dropped.
 *
 * Every verdict is counted per CPU (enum early_counter). IP fragments and
 * IPv6 packets with extension headers pass: capshim judges them. A frame
 * is judged by its first message: a local sender's UDP GSO frame (one
 * frame for many datagrams, on a veth) passes or drops whole, which costs
 * nothing capshim's own checks do not catch (a datagram behind a valid
 * index still has to open under its session).
 */
#ifndef CAPTUN_KBPF_EARLY_H
#define CAPTUN_KBPF_EARLY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum early_const {
	EARLY_INDICES_MAX = 16384,	/* >= sessions capshim can hold */
	EARLY_SOURCES_MAX = 16384,	/* LRU buckets of handshake sources */
	EARLY_HS_RATE = 4,		/* times ratelimiter.h's rate and burst */
	EARLY_DATA_MIN = 36,		/* PROTO_OVERHEAD: header and tag */
};

enum early_counter {
	EARLY_PASS_DATA,		/* data/control to a handed-out index */
	EARLY_DROP_INDEX,		/* data/control to any other index */
	EARLY_DROP_SHORT,		/* too short for its type */
	EARLY_DROP_TYPE,		/* unknown type or reserved bits set */
	EARLY_PASS_HANDSHAKE,		/* within its source's budget */
	EARLY_DROP_HANDSHAKE,		/* over it */
	EARLY_PASS_OTHER,		/* not for capshim's port, or not judged */
	EARLY_COUNTERS,
};

/* The program's settings, element 0 of the `early_settings` array. */
struct early_config {
	__u16 port;			/* capshim's UDP port, host order; 0: off */
	__u16 pad;
	__u32 hs_per_s;		/* handshake messages a second per source */
	__u32 hs_burst;		/* bucket size, messages */
	__u32 pad2;
};

/* A source's bucket: credit in nanoseconds (a message costs 1e9/hs_per_s). */
struct early_bucket {
	__u64 last_ns;
	__u64 credit_ns;
};

/* The key of a source: the IPv4 address, or the /64 of an IPv6 one. */
struct early_source {
	__u32 family;		/* 4 or 6 */
	__u8 addr[8];		/* v4 in the first 4 bytes */
	__u32 pad;
};

#endif
