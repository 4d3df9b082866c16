/*
 * shim/conntrack.h - the flows this host takes part in, and which host
 * opened each, so that the capability rule holds exactly:
 *
 *   A packet from X to Y passes if X's current capability holds Y's bit.
 *   One that X's capability forbids passes only as a reply to a flow Y
 *   opened while Y was allowed to (and Y still is): at the receiver, a
 *   reply to a flow the receiver opened; at the sender, a reply to a flow
 *   the other side opened. Never in strict mode.
 *
 * A flow is opened only by a packet its sender's capability allows and
 * that opens one (TCP: SYN without ACK; ICMP: echo request; UDP and the
 * rest: any packet), and it remembers its opener. When a capability
 * changes (this host's or a peer's) every flow whose opener may no longer
 * reach the other host is removed, TCP ones reset both ways
 * (conntrack_recheck). A packet of the opener's that its capability
 * forbids also ends the flow.
 *
 * TCP state is tracked: SYN, SYN|ACK and the ACK that completes the
 * handshake, FINs and RSTs, the highest sequence number each side sent
 * and the highest acknowledgment: a packet "belongs" to a connection when
 * it fits its state and acknowledges nothing the other side has not sent.
 * What does not belong refreshes nothing and is no reply; an unsolicited
 * SYN on a closed connection's 5-tuple reopens it only if its sender may
 * open flows. Closing and closed connections are never refreshed.
 *
 * ICMP errors are accepted only from the destination of the packet they
 * quote, addressed to its source, and only when that packet belongs to a
 * flow that exists; they never refresh.
 *
 * Bounded: a fixed table; when a window is full, expired entries go
 * first, then unconfirmed ones (no packet back yet: half-open TCP, one-way
 * UDP), the least recently used first; a confirmed entry is never evicted
 * for a new flow (the new one then passes untracked if its sender's
 * capability allows it). A peer may hold at most CONNTRACK_UNCONFIRMED_PER_PEER
 * unconfirmed entries, so that its SYN flood cannot crowd out others.
 * Not thread-safe: one owner per table.
 */
#ifndef CAPTUN_SHIM_CONNTRACK_H
#define CAPTUN_SHIM_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inet.h"

enum conntrack_timeout_s {
	CONNTRACK_TCP_SYN_S = 30,	/* until the handshake completes */
	CONNTRACK_TCP_ESTABLISHED_S = 600,
	CONNTRACK_TCP_CLOSING_S = 30,	/* after a FIN each way, not refreshed */
	CONNTRACK_TCP_RESET_S = 10,	/* after a RST, not refreshed */
	CONNTRACK_UDP_S = 60,
	CONNTRACK_ICMP_S = 30,
	CONNTRACK_OTHER_S = 60,
};

enum conntrack_limit {
	CONNTRACK_PEERS_MAX = 1024,	/* peer numbers 0..1023 */
	CONNTRACK_UNCONFIRMED_MIN = 64,	/* per peer, at least; else capacity / 8 */
};

/* Which way a packet goes, seen from this host. */
enum conntrack_dir {
	CONNTRACK_OUT,			/* this host sends it */
	CONNTRACK_IN,			/* this host receives it */
};

enum conntrack_verdict {
	CT_PASS,			/* the sender's capability allows it */
	CT_PASS_REPLY,			/* forbidden, but a reply to a flow the other side opened */
	CT_DENY,			/* forbidden, and no such reply */
	CT_DENY_ICMP,			/* an ICMP error about no flow of its sender's */
};

struct conntrack;

struct conntrack_stats {
	size_t entries, capacity;
	uint64_t inserted, evicted, expired, full, removed;
};

/* A flow as a reset needs it, from this host's point of view. */
struct conntrack_flow {
	uint8_t family, proto;
	struct in6_addr local, remote;
	uint16_t lport, rport;
	uint16_t peer;
	bool local_opened;
	bool open;			/* TCP not yet closed by FINs or a RST */
	/* TCP: what each side will send next, and what it last acknowledged. */
	uint32_t local_next, remote_next;
	uint32_t local_ack, remote_ack;
	bool local_acked, remote_acked;	/* the _ack values are known */
};

/* capacity is rounded up to a power of two. Returns 0 or -errno. */
int conntrack_create(struct conntrack **out, size_t capacity);
void conntrack_destroy(struct conntrack *ct);

/*
 * Judges one packet of flow f going dir, between this host and peer (a
 * peer number < CONNTRACK_PEERS_MAX): allowed says whether its sender's
 * current capability holds its receiver's bit. Opens, tracks and ends
 * flows as the header says.
 */
enum conntrack_verdict conntrack_judge(struct conntrack *ct, const struct inet_flow *f,
				       enum conntrack_dir dir, bool allowed, bool strict,
				       uint16_t peer, uint64_t now_ns);

/*
 * After a capability changed: opener_may(arg, flow) says whether the
 * flow's opener may still reach the other host; every flow it may not is
 * removed, and reset(arg, flow) called first for each TCP one still open.
 * Returns how many were removed.
 */
size_t conntrack_recheck(struct conntrack *ct,
			 bool (*opener_may)(void *arg, const struct conntrack_flow *fl),
			 void (*reset)(void *arg, const struct conntrack_flow *fl),
			 void *arg, uint64_t now_ns);

/* Drops entries that timed out; cheap enough to call every second. */
void conntrack_expire(struct conntrack *ct, uint64_t now_ns);
void conntrack_stats_get(const struct conntrack *ct, struct conntrack_stats *st);

#endif
