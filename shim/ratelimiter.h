/*
 * shim/ratelimiter.h - the per-source budget of handshake messages.
 *
 * The rule, kept simple so that the XDP early-drop program (which budgets
 * handshakes per source in the kernel, before capshim sees them) can
 * apply the same one:
 *
 *   key     the source address: an IPv4 address whole, an IPv6 address's
 *           /64 (one host may hold a whole prefix); never the port
 *   budget  a token bucket per key: RATELIMIT_PER_S messages a second,
 *           bursts of up to RATELIMIT_BURST
 *   cost    one token per handshake message (initiation or response) whose
 *           mac1 (and, under load, mac2) is valid, taken just before the
 *           Diffie-Hellman work; cookie replies and messages that fail a
 *           MAC cost nothing here (they cost no DH either)
 *
 * The table is fixed-size (RATELIMIT_TABLE entries, open addressing under
 * a keyed SipHash, RATELIMIT_WINDOW probes). When a window is full the
 * least recently seen entry there gives way: a source that floods with
 * many (spoofed) addresses can then make an evicted source's next bucket
 * start full, never emptier, and spoofed sources do not get past the
 * cookie check under load anyway. Not thread-safe: one owner.
 */
#ifndef CAPTUN_SHIM_RATELIMITER_H
#define CAPTUN_SHIM_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum ratelimit_const {
	RATELIMIT_PER_S = 20,
	RATELIMIT_BURST = 5,
	RATELIMIT_TABLE = 4096,		/* entries, a power of two */
	RATELIMIT_WINDOW = 8,
};

struct ratelimit_entry;

struct ratelimiter {
	struct ratelimit_entry *table;
	uint8_t hkey[16];
	uint64_t allowed, refused;
};

/* 0 or -ENOMEM. */
int ratelimiter_init(struct ratelimiter *r);
void ratelimiter_free(struct ratelimiter *r);
/* Takes a token from src's bucket; false if it is empty (or src not IP). */
bool ratelimiter_allow(struct ratelimiter *r, const struct sockaddr *src,
		       socklen_t len, uint64_t now_ns);

#endif
