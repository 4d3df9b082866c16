/*
 * shim/conntrack.c - the flow table of conntrack.h.
 *
 * Open addressing with linear probing, bounded to CT_WINDOW slots from an
 * entry's home slot; removal shifts later entries back (no tombstones),
 * so a lookup stops at the first empty slot. The home slot comes from
 * SipHash-2-4 (crypto_shorthash) under a random key, so that nobody can
 * choose flows that pile up in one window. A flow and its reverse share
 * one key: the endpoint that sorts lower is side a, and the entry says
 * which side opened the flow and which side is this host.
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
#define SEQ_WINDOW (UINT32_C(1) << 30)	/* how far a sequence number may stray */

enum ct_state {
	CT_OTHER = 0,			/* not TCP */
	CT_SYN_SENT,			/* the opener's SYN */
	CT_SYN_RECV,			/* and the SYN|ACK */
	CT_ESTABLISHED,			/* and the ACK; FINs one way keep it here */
	CT_CLOSING,			/* a FIN each way: fixed deadline */
	CT_RESET,			/* a RST: fixed deadline */
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
	uint64_t used_ns;		/* last packet that belonged */
	size_t home;			/* slot the hash chose */
	uint16_t peer;
	uint8_t used;
	uint8_t state;			/* enum ct_state */
	uint8_t orig;			/* enum ct_dir the opener sent in */
	uint8_t local_a;		/* side a is this host */
	uint8_t confirmed;		/* the other side has answered */
	uint8_t fin, acked, sent;	/* enum ct_dir bits: FIN, ACK, any segment that way */
	uint32_t end[2];		/* by direction (AB, BA): next sequence number */
	uint32_t ack[2];		/* by direction: highest acknowledgment */
};

/*
 * The last key looked up in one direction, its home slot and where it
 * was: most packets belong to the flow just before them, and their home
 * (a SipHash of the key) and slot need no new computing. The home is a
 * function of the key alone, so a memo of it is always right; the slot is
 * checked (still holding that key) before it is used, since entries move
 * when others are removed.
 */
struct ct_memo {
	struct ct_key key;
	bool valid;
	size_t home, slot;
};

enum { CT_MEMOS = 2 };			/* one per enum conntrack_dir */

struct conntrack {
	struct ct_entry *slot;
	size_t mask, window, entries, quota;
	uint32_t unconfirmed[CONNTRACK_PEERS_MAX];
	uint64_t inserted, evicted, expired, full, removed;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct ct_memo memo[CT_MEMOS];	/* the last flow judged each way */
};

_Static_assert(sizeof(struct ct_key) == 38, "key without padding");

int conntrack_create(struct conntrack **out, size_t capacity)
{
	/* A table no one can flood one window of: random SipHash key. */
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
	ct->quota = cap / 8 > CONNTRACK_UNCONFIRMED_MIN ? cap / 8 : CONNTRACK_UNCONFIRMED_MIN;
	randombytes_buf(ct->hkey, sizeof(ct->hkey));
	*out = ct;
	return 0;
}

void conntrack_destroy(struct conntrack *ct)
{
	/* The hash key is wiped with the table. */
	if (!ct)
		return;
	sodium_memzero(ct->hkey, sizeof(ct->hkey));
	free(ct->slot);
	free(ct);
}

static void put_port(uint8_t p[2], uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * The key of the flow src:sport -> dst:dport, the same both ways; returns
 * the direction this one travels in.
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

static enum ct_dir reverse(enum ct_dir d)
{
	return d == DIR_AB ? DIR_BA : DIR_AB;
}

/* The index of a direction in end[] and ack[]. */
static int idx(enum ct_dir d)
{
	return d == DIR_AB ? 0 : 1;
}

/* The direction in which this host sends, for an entry. */
static enum ct_dir out_dir(const struct ct_entry *e)
{
	return e->local_a ? DIR_AB : DIR_BA;
}

static size_t home_of(const struct conntrack *ct, const struct ct_key *k)
{
	/* Keyed SipHash, so collisions cannot be chosen. */
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	if (crypto_shorthash(h, (const uint8_t *)k, sizeof(*k), ct->hkey) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)v & ct->mask;
}

/* An entry stops counting against its peer's quota. */
static void unconfirmed_drop(struct conntrack *ct, const struct ct_entry *e)
{
	if (!e->confirmed && ct->unconfirmed[e->peer])
		ct->unconfirmed[e->peer]--;
}

/*
 * Removes slot i, pulling back the entries whose probe path crossed it
 * (only those within one window of i can have).
 */
static void slot_clear(struct conntrack *ct, size_t i)
{
	size_t j = i, mask = ct->mask;

	unconfirmed_drop(ct, &ct->slot[i]);
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

/* The entry of key k, or NULL; one that timed out is removed on the way. */
static struct ct_entry *find(struct conntrack *ct, const struct ct_key *k,
			     size_t home, uint64_t now_ns)
{
	for (size_t d = 0; d < ct->window; d++) {
		size_t i = (home + d) & ct->mask;

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
 * find() through the direction's memo: the same key as last time skips
 * the hash, and its slot, if it still holds the key, the probing. Sets
 * *home for an insert.
 */
static struct ct_entry *lookup(struct conntrack *ct, unsigned dir, const struct ct_key *k,
			       size_t *home, uint64_t now_ns)
{
	struct ct_memo *m = &ct->memo[dir % CT_MEMOS];
	struct ct_entry *e;

	if (m->valid && memcmp(&m->key, k, sizeof(*k)) == 0) {
		struct ct_entry *hint = &ct->slot[m->slot & ct->mask];

		*home = m->home;
		if (hint->used && hint->expires_ns > now_ns &&
		    memcmp(&hint->key, k, sizeof(*k)) == 0)
			return hint;
	} else {
		*home = home_of(ct, k);
		m->key = *k;
		m->home = *home;
		m->valid = true;
	}
	e = find(ct, k, *home, now_ns);
	if (e)
		m->slot = (size_t)(e - ct->slot);
	return e;
}

/*
 * A fresh, unconfirmed entry for k (known absent), or NULL: the peer is
 * over its quota of unconfirmed entries, or the window holds only
 * confirmed live ones. A full window gives up an expired entry, else the
 * least recently used unconfirmed one, replaced in place.
 */
static struct ct_entry *insert(struct conntrack *ct, const struct ct_key *k,
			       size_t home, uint16_t peer, uint64_t now_ns)
{
	struct ct_entry *e = NULL;

	if (ct->unconfirmed[peer] >= ct->quota) {
		ct->full++;
		return NULL;
	}
	for (size_t d = 0; d < ct->window; d++) {
		struct ct_entry *x = &ct->slot[(home + d) & ct->mask];

		if (!x->used) {
			e = x;
			ct->entries++;
			break;
		}
		if (x->expires_ns <= now_ns) {
			if (!e || e->expires_ns > now_ns)
				e = x;
		} else if (!x->confirmed && (!e || (e->expires_ns > now_ns &&
						    x->used_ns < e->used_ns))) {
			e = x;
		}
	}
	if (!e) {
		ct->full++;
		return NULL;
	}
	if (e->used) {
		unconfirmed_drop(ct, e);
		if (e->expires_ns <= now_ns)
			ct->expired++;
		else
			ct->evicted++;
	}
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->home = home;
	e->used = 1;
	e->peer = peer;
	ct->unconfirmed[peer]++;
	ct->inserted++;
	return e;
}

static void confirm(struct conntrack *ct, struct ct_entry *e)
{
	if (e->confirmed)
		return;
	unconfirmed_drop(ct, e);
	e->confirmed = 1;
}

/* How long an entry lives after its last packet, by protocol and state. */
static uint64_t timeout_ns(const struct ct_entry *e)
{
	uint64_t s;

	switch (e->state) {
	case CT_SYN_SENT:
	case CT_SYN_RECV:
		s = CONNTRACK_TCP_SYN_S;
		break;
	case CT_ESTABLISHED:
		s = CONNTRACK_TCP_ESTABLISHED_S;
		break;
	case CT_CLOSING:
		s = CONNTRACK_TCP_CLOSING_S;
		break;
	case CT_RESET:
		s = CONNTRACK_TCP_RESET_S;
		break;
	default:
		if (e->key.proto == IPPROTO_UDP || e->key.proto == IPPROTO_UDPLITE)
			s = CONNTRACK_UDP_S;
		else if (e->key.proto == IPPROTO_ICMP || e->key.proto == IPPROTO_ICMPV6)
			s = CONNTRACK_ICMP_S;
		else
			s = CONNTRACK_OTHER_S;
		break;
	}
	return s * NS_PER_S;
}

/* A packet that belongs: the deadline moves, unless closing or reset. */
static void refresh(struct ct_entry *e, uint64_t now_ns)
{
	uint64_t t = timeout_ns(e);

	e->used_ns = now_ns;
	if (e->state == CT_CLOSING || e->state == CT_RESET)
		return;
	e->expires_ns = now_ns > UINT64_MAX - t ? UINT64_MAX : now_ns + t;
}

/* Enters a closing state with its fixed deadline. */
static void close_state(struct ct_entry *e, enum ct_state st, uint64_t now_ns)
{
	e->state = st;
	e->expires_ns = now_ns + timeout_ns(e);
}

/* a after b, in sequence space. */
static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/*
 * Once both sides have synchronised: an ACK must not acknowledge what the
 * other side never sent, nor lag far behind; the segment must start near
 * what the other side last acknowledged.
 */
static bool in_window(const struct ct_entry *e, const struct inet_flow *f,
		      int i, int o, uint32_t end)
{
	if ((f->tcp_flags & TCPF_ACK) &&
	    (seq_after(f->tcp_ack, e->end[o]) || seq_after(e->end[o] - SEQ_WINDOW, f->tcp_ack)))
		return false;
	if ((e->acked & (o == 0 ? DIR_AB : DIR_BA)) &&
	    (seq_after(end, e->ack[o] + SEQ_WINDOW) ||
	     seq_after(e->ack[o] - SEQ_WINDOW, f->tcp_seq)))
		return false;
	return true;
}

/* Records what a belonging segment sent and acknowledged. */
static void note_seg(struct ct_entry *e, const struct inet_flow *f, enum ct_dir d,
		     uint32_t end)
{
	int i = idx(d);

	if (!(e->sent & d) || seq_after(end, e->end[i]))
		e->end[i] = end;
	e->sent |= d;
	if (f->tcp_flags & TCPF_ACK) {
		if (!(e->acked & d) || seq_after(f->tcp_ack, e->ack[i]))
			e->ack[i] = f->tcp_ack;
		e->acked |= d;
	}
}

/*
 * TCP: does segment f, travelling d, belong to the connection? If so the
 * state moves on. The opener's SYN made the entry (conntrack_judge).
 */
static bool tcp_step(struct conntrack *ct, struct ct_entry *e,
		     const struct inet_flow *f, enum ct_dir d, uint64_t now_ns)
{
	uint8_t fl = f->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN);
	bool opener = d == e->orig;
	int i = idx(d), o = 1 - i;
	uint32_t end = f->tcp_seq + f->tcp_len + !!(fl & TCPF_SYN) + !!(fl & TCPF_FIN);

	switch (e->state) {
	case CT_SYN_SENT:
		if (opener)	/* only its SYN again */
			return fl == TCPF_SYN && end == e->end[i];
		if (fl == (TCPF_SYN | TCPF_ACK) && f->tcp_ack == e->end[o]) {
			e->state = CT_SYN_RECV;
			note_seg(e, f, d, end);
			confirm(ct, e);
			return true;
		}
		if (fl == (TCPF_RST | TCPF_ACK) && f->tcp_ack == e->end[o]) {
			confirm(ct, e);
			close_state(e, CT_RESET, now_ns);
			return true;
		}
		return false;
	case CT_SYN_RECV:
		if (!opener) {	/* its SYN|ACK again, or a RST */
			if (fl == (TCPF_SYN | TCPF_ACK))
				return end == e->end[i];
			if ((fl & TCPF_RST) && f->tcp_seq == e->end[i]) {
				close_state(e, CT_RESET, now_ns);
				return true;
			}
			return false;
		}
		if (fl == TCPF_SYN)
			return end == e->end[i];
		if ((fl & TCPF_RST) && f->tcp_seq == e->end[i]) {
			close_state(e, CT_RESET, now_ns);
			return true;
		}
		if (!(fl & TCPF_ACK) || (fl & TCPF_SYN) || f->tcp_ack != e->end[o])
			return false;
		e->state = CT_ESTABLISHED;
		break;
	case CT_ESTABLISHED:
	case CT_CLOSING:
		if ((fl & TCPF_SYN) || !in_window(e, f, i, o, end))
			return false;
		if (fl & TCPF_RST) {
			close_state(e, CT_RESET, now_ns);
			return true;
		}
		break;
	default:	/* reset: nothing belongs any more */
		return false;
	}
	note_seg(e, f, d, end);
	if (fl & TCPF_FIN) {
		e->fin |= d;
		if (e->fin == (DIR_AB | DIR_BA) && e->state != CT_CLOSING)
			close_state(e, CT_CLOSING, now_ns);
	}
	return true;
}

/* ICMP or ICMPv6 of the flow's own family. */
static bool flow_is_icmp(const struct inet_flow *f)
{
	return (f->family == AF_INET && f->proto == IPPROTO_ICMP) ||
	       (f->family == AF_INET6 && f->proto == IPPROTO_ICMPV6);
}

static bool is_echo_request(const struct inet_flow *f)
{
	return f->icmp_type == (f->family == AF_INET ? ICMP4_ECHO : ICMP6_ECHO);
}

static bool is_echo_reply(const struct inet_flow *f)
{
	return f->icmp_type == (f->family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY);
}

/* Whether f may open a flow: TCP SYN alone, ICMP echo request, anything else. */
static bool opens(const struct inet_flow *f)
{
	if (f->proto == IPPROTO_TCP)
		return (f->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) == TCPF_SYN;
	if (flow_is_icmp(f))
		return is_echo_request(f);
	return true;
}

/* Flows worth an entry: not non-first fragments (no ports), ICMP echo only. */
static bool trackable(const struct inet_flow *f)
{
	if (f->fragment || (f->family != AF_INET && f->family != AF_INET6))
		return false;
	if (flow_is_icmp(f))
		return is_echo_request(f) || is_echo_reply(f);
	return true;
}

/*
 * An ICMP error: from the destination of the packet it quotes, to that
 * packet's source, about a flow that exists. Never refreshes.
 */
static bool icmp_related(struct conntrack *ct, const struct inet_flow *f, uint64_t now_ns)
{
	struct ct_key k;

	if (memcmp(&f->src, &f->related.dst, sizeof(f->src)) != 0 ||
	    memcmp(&f->dst, &f->related.src, sizeof(f->dst)) != 0)
		return false;
	make_key(&k, f->family, f->related.proto, &f->related.src, f->related.sport,
		 &f->related.dst, f->related.dport);
	return find(ct, &k, home_of(ct, &k), now_ns) != NULL;
}

/* A new flow of f's, its sender the opener; NULL when the table cannot take it. */
static struct ct_entry *open_flow(struct conntrack *ct, const struct ct_key *k,
				  size_t home, enum ct_dir d, enum conntrack_dir dir,
				  const struct inet_flow *f, uint16_t peer, uint64_t now_ns)
{
	struct ct_entry *e = insert(ct, k, home, peer, now_ns);

	if (!e)
		return NULL;
	e->orig = (uint8_t)d;
	e->local_a = (dir == CONNTRACK_OUT) == (d == DIR_AB);
	if (f->proto == IPPROTO_TCP) {
		e->state = CT_SYN_SENT;
		e->end[idx(d)] = f->tcp_seq + 1 + f->tcp_len;
		e->sent = (uint8_t)d;
	}
	refresh(e, now_ns);
	return e;
}

enum conntrack_verdict conntrack_judge(struct conntrack *ct, const struct inet_flow *f,
				       enum conntrack_dir dir, bool allowed, bool strict,
				       uint16_t peer, uint64_t now_ns)
{
	struct ct_entry *e;
	struct ct_key k;
	enum ct_dir d;
	size_t home;
	bool belongs;

	if (!ct || !f || peer >= CONNTRACK_PEERS_MAX)
		return allowed ? CT_PASS : CT_DENY;
	if (f->icmp_error) {
		if (!icmp_related(ct, f, now_ns))
			return CT_DENY_ICMP;
		return allowed ? CT_PASS : strict ? CT_DENY : CT_PASS_REPLY;
	}
	if (!trackable(f))
		return allowed ? CT_PASS : CT_DENY;
	d = make_key(&k, f->family, f->proto, &f->src, f->sport, &f->dst, f->dport);
	e = lookup(ct, dir, &k, &home, now_ns);
	if (e && d == e->orig && !allowed) {
		/* The opener lost the right: the flow ends here. */
		slot_clear(ct, (size_t)(e - ct->slot));
		ct->removed++;
		return CT_DENY;
	}
	if (e) {
		if (f->proto == IPPROTO_TCP)
			belongs = tcp_step(ct, e, f, d, now_ns);
		else if (flow_is_icmp(f))
			belongs = d == e->orig ? is_echo_request(f) : is_echo_reply(f);
		else
			belongs = true;
		if (belongs) {
			if (d != e->orig)
				confirm(ct, e);
			refresh(e, now_ns);
			if (allowed)
				return CT_PASS;
			return strict ? CT_DENY : CT_PASS_REPLY;
		}
		if (!allowed)
			return CT_DENY;
		/* A new connection on a closed one's 5-tuple, from a host that may open it. */
		if (opens(f) && (e->state == CT_CLOSING || e->state == CT_RESET)) {
			slot_clear(ct, (size_t)(e - ct->slot));
			open_flow(ct, &k, home, d, dir, f, peer, now_ns);
		}
		return CT_PASS;
	}
	if (!allowed)
		return CT_DENY;
	if (opens(f))
		open_flow(ct, &k, home, d, dir, f, peer, now_ns);
	return CT_PASS;
}

/* The flow of entry e, from this host's side. */
static void flow_of(const struct ct_entry *e, struct conntrack_flow *fl)
{
	enum ct_dir out = out_dir(e), in = reverse(out);

	memset(fl, 0, sizeof(*fl));
	fl->family = e->key.family;
	fl->proto = e->key.proto;
	memcpy(&fl->local, e->local_a ? e->key.a : e->key.b, 16);
	memcpy(&fl->remote, e->local_a ? e->key.b : e->key.a, 16);
	fl->lport = (uint16_t)((e->local_a ? e->key.pa : e->key.pb)[0] << 8 |
			       (e->local_a ? e->key.pa : e->key.pb)[1]);
	fl->rport = (uint16_t)((e->local_a ? e->key.pb : e->key.pa)[0] << 8 |
			       (e->local_a ? e->key.pb : e->key.pa)[1]);
	fl->peer = e->peer;
	fl->local_opened = e->orig == out;
	fl->open = e->key.proto == IPPROTO_TCP && e->state != CT_CLOSING &&
		   e->state != CT_RESET;
	fl->local_next = e->end[idx(out)];
	fl->remote_next = e->end[idx(in)];
	fl->local_ack = e->ack[idx(out)];
	fl->remote_ack = e->ack[idx(in)];
	fl->local_acked = !!(e->acked & out);
	fl->remote_acked = !!(e->acked & in);
}

size_t conntrack_recheck(struct conntrack *ct,
			 bool (*opener_may)(void *arg, const struct conntrack_flow *fl),
			 void (*reset)(void *arg, const struct conntrack_flow *fl),
			 void *arg, uint64_t now_ns)
{
	size_t i = 0, n = 0;

	if (!ct)
		return 0;
	while (i <= ct->mask) {
		struct ct_entry *e = &ct->slot[i];
		struct conntrack_flow fl;

		if (!e->used) {
			i++;
			continue;
		}
		if (e->expires_ns <= now_ns) {
			slot_clear(ct, i);
			ct->expired++;
			continue;
		}
		flow_of(e, &fl);
		if (opener_may(arg, &fl)) {
			i++;
			continue;
		}
		if (fl.open && reset)
			reset(arg, &fl);
		slot_clear(ct, i);	/* a later entry may now sit at i: look again */
		ct->removed++;
		n++;
	}
	return n;
}

void conntrack_expire(struct conntrack *ct, uint64_t now_ns)
{
	/* One pass; a cleared slot is looked at again (shifts). */
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
	st->full = ct->full;
	st->removed = ct->removed;
}
