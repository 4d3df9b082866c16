/*
 * shim/conntrack.h - flows this host took part in, so that replies to them
 * pass although the replier's capability lacks this host's bit (non-strict
 * mode). Bounded: a fixed table, oldest entries evicted first; entries
 * time out by protocol and TCP state.
 */
#ifndef CAPTUN_SHIM_CONNTRACK_H
#define CAPTUN_SHIM_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inet.h"

enum conntrack_timeout_s {
	CONNTRACK_TCP_SYN_S = 30,
	CONNTRACK_TCP_ESTABLISHED_S = 600,
	CONNTRACK_TCP_CLOSING_S = 30,
	CONNTRACK_UDP_S = 60,
	CONNTRACK_ICMP_S = 30,
	CONNTRACK_OTHER_S = 60,
};

struct conntrack;

struct conntrack_stats {
	size_t entries, capacity;
	uint64_t inserted, evicted, expired;
};

/* capacity is rounded up to a power of two. Returns 0 or -errno. */
int conntrack_create(struct conntrack **out, size_t capacity);
void conntrack_destroy(struct conntrack *ct);

/*
 * Records (or refreshes) flow f as one this host opened or accepted, in
 * the direction f describes (src is the side that sent it).
 */
void conntrack_note(struct conntrack *ct, const struct inet_flow *f,
		    uint64_t now_ns);

/*
 * True if f travels in the reverse direction of a live noted flow, or is
 * an ICMP error about such a flow; refreshes the entry (and tracks TCP
 * state from f's flags).
 *
 * Details: an ICMP error matches when it is addressed to the quoted
 * packet's source and that packet travelled in a noted direction; errors
 * do not refresh. ICMP echo: only echo requests are noted, and only an
 * echo reply with the same identifier, from the peer, matches. Non-first
 * fragments carry no ports: they are never noted nor replies. A TCP RST
 * opens nothing. Not thread-safe: one owner per table.
 */
bool conntrack_is_reply(struct conntrack *ct, const struct inet_flow *f,
			uint64_t now_ns);

/* Drops entries that timed out; cheap enough to call every second. */
void conntrack_expire(struct conntrack *ct, uint64_t now_ns);
void conntrack_stats_get(const struct conntrack *ct, struct conntrack_stats *st);

#endif
