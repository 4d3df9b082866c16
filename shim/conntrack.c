/*
 * shim/conntrack.c - a fixed-size table of the flows this host took part
 * in, so that replies to them pass.
 *
 * Open addressing with linear probing, bounded to CT_WINDOW slots from an
 * entry's home slot; removal shifts later entries back (no tombstones),
 * so a lookup stops at the first empty slot. The home slot comes from
 * SipHash-2-4 (crypto_shorthash) under a random key, so that nobody can
 * choose flows that pile up in one window. A flow and its reverse share
 * one key: the endpoint that sorts lower is side a; an entry remembers in
 * which directions it was noted (opened or accepted by this host). When a
 * window is full, the entry closest to its deadline gives way (expired
 * ones first, then the least recently refreshed of the shortest-lived
 * state, so a flood of half-open flows does not push out established
 * ones).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conntrack.h"

enum {
	CT_WINDOW = 16,			/* probe range, slots */
	CT_CAPACITY_MAX = 1 << 24,
};

#define NS_PER_S UINT64_C(1000000000)

enum ct_state {
	CT_OTHER = 0,			/* not TCP */
	CT_TCP_SYN,			/* one direction seen, or not yet agreed */
	CT_TCP_ESTABLISHED,
	CT_TCP_CLOSING,			/* FIN or RST seen */
};

enum ct_dir {
	DIR_AB = 1,			/* from side a to side b */
	DIR_BA = 2,
};

enum {
	TCPF_FIN = 0x01,
	TCPF_SYN = 0x02,
	TCPF_RST = 0x04,
	TCPF_ACK = 0x10,
	ICMP4_ECHO_REPLY = 0,
	ICMP4_ECHO = 8,
	ICMP6_ECHO = 128,
	ICMP6_ECHO_REPLY = 129,
};

/* Normalised flow: bytes only, so no padding enters hash or compare. */
struct ct_key {
	uint8_t a[16], b[16];
	uint8_t pa[2], pb[2];
	uint8_t proto, family;
};

struct ct_entry {
	struct ct_key key;
	uint64_t expires_ns;
	size_t home;			/* slot the hash chose */
	uint8_t used;
	uint8_t state;			/* enum ct_state */
	uint8_t noted;			/* enum ct_dir bits: opened / accepted */
	uint8_t seen;			/* enum ct_dir bits: any packet */
};

struct conntrack {
	struct ct_entry *slot;
	size_t mask, window, entries;
	uint64_t inserted, evicted, expired;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

_Static_assert(sizeof(struct ct_key) == 38, "key without padding");

/* A table no one can flood one window of: random SipHash key. */
int conntrack_create(struct conntrack **out, size_t capacity)
{
	struct conntrack *ct;
	size_t cap = 1;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (capacity == 0 || capacity > CT_CAPACITY_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	while (cap < capacity)
		cap <<= 1;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	ct->slot = calloc(cap, sizeof(*ct->slot));
	if (!ct->slot) {
		free(ct);
		return -ENOMEM;
	}
	ct->mask = cap - 1;
	ct->window = cap < CT_WINDOW ? cap : CT_WINDOW;
	randombytes_buf(ct->hkey, sizeof(ct->hkey));
	*out = ct;
	return 0;
}

/* Frees the table; the hash key is wiped with it. */
void conntrack_destroy(struct conntrack *ct)
{
	if (!ct)
		return;
	sodium_memzero(ct->hkey, sizeof(ct->hkey));
	free(ct->slot);
	free(ct);
}

/* Port fields of a key, big-endian like on the wire. */
static void put_port(uint8_t p[2], uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * The key of the flow src:sport -> dst:dport, the same for both ways;
 * returns the direction this one travels in.
 */
static enum ct_dir make_key(struct ct_key *k, uint8_t family, uint8_t proto,
			    const struct in6_addr *src, uint16_t sport,
			    const struct in6_addr *dst, uint16_t dport)
{
	int c = memcmp(src->s6_addr, dst->s6_addr, 16);
	bool src_first = c < 0 || (c == 0 && sport <= dport);

	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	memcpy(k->a, src_first ? src->s6_addr : dst->s6_addr, 16);
	memcpy(k->b, src_first ? dst->s6_addr : src->s6_addr, 16);
	put_port(k->pa, src_first ? sport : dport);
	put_port(k->pb, src_first ? dport : sport);
	return src_first ? DIR_AB : DIR_BA;
}

/* The other way round. */
static enum ct_dir reverse(enum ct_dir d)
{
	return d == DIR_AB ? DIR_BA : DIR_AB;
}

/* Home slot of a key: keyed SipHash, so collisions cannot be chosen. */
static size_t home_of(const struct conntrack *ct, const struct ct_key *k)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	if (crypto_shorthash(h, (const uint8_t *)k, sizeof(*k), ct->hkey) != 0)
		return 0;
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)v & ct->mask;
}

/*
 * Removes slot i, pulling back the entries whose probe path crossed it
 * (only those within one window of i can have).
 */
static void slot_clear(struct conntrack *ct, size_t i)
{
	size_t j = i, mask = ct->mask;

	for (;;) {
		j = (j + 1) & mask;
		if (j == i || !ct->slot[j].used || ((j - i) & mask) >= ct->window)
			break;
		if (((j - ct->slot[j].home) & mask) >= ((j - i) & mask)) {
			ct->slot[i] = ct->slot[j];
			i = j;
		}
	}
	memset(&ct->slot[i], 0, sizeof(ct->slot[i]));
	ct->entries--;
}

/*
 * The entry of key k, or NULL. One that timed out is removed on the way
 * (counted as expired) and reported absent.
 */
static struct ct_entry *find(struct conntrack *ct, const struct ct_key *k,
			     size_t home, uint64_t now_ns)
{
	size_t d, i;

	for (d = 0; d < ct->window; d++) {
		i = (home + d) & ct->mask;
		if (!ct->slot[i].used)
			return NULL;
		if (memcmp(&ct->slot[i].key, k, sizeof(*k)) != 0)
			continue;
		if (ct->slot[i].expires_ns <= now_ns) {
			slot_clear(ct, i);
			ct->expired++;
			return NULL;
		}
		return &ct->slot[i];
	}
	return NULL;
}

/*
 * A fresh entry for k (known absent): the first free slot of its window,
 * else the one closest to its deadline there, replaced in place (the
 * probe paths through it stay whole).
 */
static struct ct_entry *insert(struct conntrack *ct, const struct ct_key *k,
			       size_t home, uint64_t now_ns)
{
	struct ct_entry *e = NULL;
	size_t d, i;

	for (d = 0; d < ct->window; d++) {
		i = (home + d) & ct->mask;
		if (!ct->slot[i].used) {
			e = &ct->slot[i];
			ct->entries++;
			break;
		}
		if (!e || ct->slot[i].expires_ns < e->expires_ns)
			e = &ct->slot[i];
	}
	if (e->used) {
		if (e->expires_ns <= now_ns)
			ct->expired++;
		else
			ct->evicted++;
	}
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->home = home;
	e->used = 1;
	ct->inserted++;
	return e;
}

/* How long an entry lives after its last packet, by protocol and state. */
static uint64_t timeout_ns(const struct ct_entry *e)
{
	uint64_t s;

	switch (e->state) {
	case CT_TCP_SYN:
		s = CONNTRACK_TCP_SYN_S;
		break;
	case CT_TCP_ESTABLISHED:
		s = CONNTRACK_TCP_ESTABLISHED_S;
		break;
	case CT_TCP_CLOSING:
		s = CONNTRACK_TCP_CLOSING_S;
		break;
	default:
		if (e->key.proto == IPPROTO_UDP || e->key.proto == IPPROTO_UDPLITE)
			s = CONNTRACK_UDP_S;
		else if (e->key.proto == IPPROTO_ICMP ||
			 e->key.proto == IPPROTO_ICMPV6)
			s = CONNTRACK_ICMP_S;
		else
			s = CONNTRACK_OTHER_S;
		break;
	}
	return s * NS_PER_S;
}

/*
 * TCP state from one packet travelling in direction dir: FIN or RST
 * closes; a bare SYN after closing reopens (port reuse); a packet with
 * ACK in the second direction while half-open establishes.
 */
static void tcp_track(struct ct_entry *e, uint8_t flags, enum ct_dir dir)
{
	if (flags & (TCPF_FIN | TCPF_RST)) {
		e->state = CT_TCP_CLOSING;
	} else if ((flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		if (e->state != CT_TCP_ESTABLISHED) {
			e->state = CT_TCP_SYN;
			e->seen = 0;
		}
	} else if (e->state == CT_TCP_SYN && (flags & TCPF_ACK) &&
		   (e->seen & reverse(dir))) {
		e->state = CT_TCP_ESTABLISHED;
	}
	e->seen |= dir;
}

/* Refreshes an entry's deadline from its (new) state. */
static void refresh(struct ct_entry *e, uint64_t now_ns)
{
	uint64_t t = timeout_ns(e);

	e->expires_ns = now_ns > UINT64_MAX - t ? UINT64_MAX : now_ns + t;
}

/* ICMP or ICMPv6 of the flow's own family. */
static bool flow_is_icmp(const struct inet_flow *f)
{
	return (f->family == AF_INET && f->proto == IPPROTO_ICMP) ||
	       (f->family == AF_INET6 && f->proto == IPPROTO_ICMPV6);
}

/*
 * Flows worth an entry: not ICMP errors, not non-first fragments (the
 * first one carried the ports), and of ICMP only echo requests (their
 * replies are the only answers).
 */
static bool trackable(const struct inet_flow *f)
{
	if (f->icmp_error || f->fragment)
		return false;
	if (f->family != AF_INET && f->family != AF_INET6)
		return false;
	if (flow_is_icmp(f))
		return f->icmp_type == (f->family == AF_INET ? ICMP4_ECHO : ICMP6_ECHO);
	return true;
}

/* Opens or refreshes the entry of f and adds f's direction to it. */
void conntrack_note(struct conntrack *ct, const struct inet_flow *f,
		    uint64_t now_ns)
{
	struct ct_entry *e;
	struct ct_key k;
	enum ct_dir dir;
	size_t home;

	if (!ct || !f || !trackable(f))
		return;
	dir = make_key(&k, f->family, f->proto, &f->src, f->sport, &f->dst,
		       f->dport);
	home = home_of(ct, &k);
	e = find(ct, &k, home, now_ns);
	if (!e) {
		/* A RST closes what exists; nothing answers it, so it opens nothing. */
		if (f->proto == IPPROTO_TCP && (f->tcp_flags & TCPF_RST))
			return;
		e = insert(ct, &k, home, now_ns);
		if (f->proto == IPPROTO_TCP)
			e->state = CT_TCP_SYN;
	}
	e->noted |= dir;
	if (f->proto == IPPROTO_TCP)
		tcp_track(e, f->tcp_flags, dir);
	refresh(e, now_ns);
}

/*
 * An ICMP error sent to us about a packet we sent (related.src is us):
 * it belongs if that packet's direction is one we noted. Not refreshed:
 * errors do not keep a flow alive.
 */
static bool related_match(struct conntrack *ct, const struct inet_flow *f,
			  uint64_t now_ns)
{
	struct ct_entry *e;
	struct ct_key k;
	enum ct_dir dir;

	if (memcmp(&f->dst, &f->related.src, sizeof(f->dst)) != 0)
		return false;
	dir = make_key(&k, f->family, f->related.proto, &f->related.src,
		       f->related.sport, &f->related.dst, f->related.dport);
	e = find(ct, &k, home_of(ct, &k), now_ns);
	return e && (e->noted & dir);
}

/* Replies travel against a noted direction; echo replies only by id. */
bool conntrack_is_reply(struct conntrack *ct, const struct inet_flow *f,
			uint64_t now_ns)
{
	struct ct_entry *e;
	struct ct_key k;
	enum ct_dir dir;

	if (!ct || !f)
		return false;
	if (f->icmp_error)
		return related_match(ct, f, now_ns);
	if (f->fragment)
		return false;
	if (flow_is_icmp(f) &&
	    f->icmp_type != (f->family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY))
		return false;
	dir = make_key(&k, f->family, f->proto, &f->src, f->sport, &f->dst,
		       f->dport);
	e = find(ct, &k, home_of(ct, &k), now_ns);
	if (!e || !(e->noted & reverse(dir)))
		return false;
	if (f->proto == IPPROTO_TCP)
		tcp_track(e, f->tcp_flags, dir);
	refresh(e, now_ns);
	return true;
}

/* One pass over the table; a cleared slot is looked at again (shifts). */
void conntrack_expire(struct conntrack *ct, uint64_t now_ns)
{
	size_t i = 0;

	if (!ct)
		return;
	while (i <= ct->mask) {
		if (ct->slot[i].used && ct->slot[i].expires_ns <= now_ns) {
			slot_clear(ct, i);
			ct->expired++;
			continue;
		}
		i++;
	}
}

/* A snapshot of the counters, for status output. */
void conntrack_stats_get(const struct conntrack *ct, struct conntrack_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!ct)
		return;
	st->entries = ct->entries;
	st->capacity = ct->mask + 1;
	st->inserted = ct->inserted;
	st->evicted = ct->evicted;
	st->expired = ct->expired;
}
