/*
 * shim/ratelimiter.c - token buckets per source address (ratelimiter.h),
 * as WireGuard's ratelimiter keeps them: tokens are nanoseconds of credit,
 * a message costs 1/RATELIMIT_PER_S s of it, a bucket holds at most
 * RATELIMIT_BURST messages' worth.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimiter.h"

#define NS UINT64_C(1000000000)

enum {
	COST_NS = NS / RATELIMIT_PER_S,
	MAX_TOKENS_NS = COST_NS * RATELIMIT_BURST,
};

_Static_assert((RATELIMIT_TABLE & (RATELIMIT_TABLE - 1)) == 0, "power of two");
_Static_assert(crypto_shorthash_KEYBYTES == 16, "siphash key");

struct ratelimit_entry {
	uint8_t key[17];		/* family, then the address (v6: /64) */
	bool used;
	uint64_t last_ns;
	uint64_t tokens_ns;
};

int ratelimiter_init(struct ratelimiter *r)
{
	memset(r, 0, sizeof(*r));
	if (sodium_init() < 0)
		return -EIO;
	r->table = calloc(RATELIMIT_TABLE, sizeof(*r->table));
	if (!r->table)
		return -ENOMEM;
	randombytes_buf(r->hkey, sizeof(r->hkey));
	return 0;
}

void ratelimiter_free(struct ratelimiter *r)
{
	free(r->table);
	sodium_memzero(r->hkey, sizeof(r->hkey));
	r->table = NULL;
}

/* The bucket key of a source: family byte, address bytes, zero-padded. */
static bool key_of(const struct sockaddr *src, socklen_t len, uint8_t key[17])
{
	memset(key, 0, 17);
	if (src->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)src)->sin_addr, 4);
		return true;
	}
	if (src->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)src)->sin6_addr, 8);
		return true;
	}
	return false;
}

bool ratelimiter_allow(struct ratelimiter *r, const struct sockaddr *src,
		       socklen_t len, uint64_t now_ns)
{
	struct ratelimit_entry *e = NULL, *oldest = NULL;
	uint8_t key[17], h[crypto_shorthash_BYTES];
	uint64_t home = 0;

	if (!r->table || !key_of(src, len, key) ||
	    crypto_shorthash(h, key, sizeof(key), r->hkey) != 0) {
		r->refused++;
		return false;
	}
	for (size_t i = 0; i < sizeof(h); i++)
		home = home << 8 | h[i];
	for (unsigned d = 0; d < RATELIMIT_WINDOW; d++) {
		struct ratelimit_entry *x = &r->table[(home + d) & (RATELIMIT_TABLE - 1)];

		if (x->used && memcmp(x->key, key, sizeof(key)) == 0) {
			e = x;
			break;
		}
		if (!oldest || !x->used || (oldest->used && x->last_ns < oldest->last_ns))
			oldest = x;
	}
	if (!e) {
		/* A new source starts with a full bucket. */
		e = oldest;
		memcpy(e->key, key, sizeof(key));
		e->used = true;
		e->tokens_ns = MAX_TOKENS_NS;
	} else {
		uint64_t earned = now_ns - e->last_ns;

		e->tokens_ns = earned >= MAX_TOKENS_NS - e->tokens_ns ? MAX_TOKENS_NS :
			       e->tokens_ns + earned;
	}
	e->last_ns = now_ns;
	if (e->tokens_ns < COST_NS) {
		r->refused++;
		return false;
	}
	e->tokens_ns -= COST_NS;
	r->allowed++;
	return true;
}
