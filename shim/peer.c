/*
 * shim/peer.c - the peer table: every other host with a valid, unrevoked
 * host token in the state directory, its signed overlay addresses, the
 * endpoint the policy gives it, and lookups by key, address and index.
 *
 * A session index is random:20 | peer number:10 | slot:2, so that a
 * receiver finds the session without a hash table; the random part makes
 * stale or guessed indices miss.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "policy.h"
#include "shim.h"

uint64_t shim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t shim_unix_now(void)
{
	return (uint64_t)time(NULL);
}

size_t shim_peer_no(const struct shim *s, const struct peer *p)
{
	return (size_t)(p - s->peers);
}

uint32_t shim_index_make(const struct shim *s, const struct peer *p, int slot)
{
	uint32_t r = randombytes_random() >> SHIM_INDEX_RANDOM_SHIFT;

	return (r << SHIM_INDEX_RANDOM_SHIFT) |
	       ((uint32_t)shim_peer_no(s, p) << SHIM_INDEX_PEER_SHIFT) |
	       (uint32_t)slot;
}

void (*shim_index_hook)(uint32_t index, bool on);

void shim_session_clear(struct session *se)
{
	if (se->live && shim_index_hook)
		shim_index_hook(se->kp.local_index, false);
	for (int i = 0; i < WORKERS_MAX; i++) {
		aead_free(&se->tx[i]);
		aead_free(&se->rx[i]);
	}
	noise_keypair_wipe(&se->kp);
	sodium_memzero(se, sizeof(*se));
}

/*
 * A new session in a cleared slot: its keys, each direction's AEAD
 * contexts, one per worker thread (the only allocations of a session;
 * none per packet), a fresh replay window. 0 or -errno (the slot is left
 * cleared).
 */
int shim_session_install(const struct shim *s, struct session *se,
			 const struct noise_keypair *kp, bool confirmed, uint64_t now)
{
	unsigned n = workers_count(s->workers);
	int ret = 0;

	shim_session_clear(se);
	se->kp = *kp;
	for (unsigned i = 0; i < n && ret == 0; i++) {
		ret = aead_init(&se->tx[i], kp->send, true);
		if (ret == 0)
			ret = aead_init(&se->rx[i], kp->recv, false);
	}
	if (ret < 0) {
		shim_session_clear(se);
		return ret;
	}
	se->live = true;
	se->confirmed = confirmed;
	se->created_ns = now;
	replay_init(&se->replay);
	if (shim_index_hook)
		shim_index_hook(kp->local_index, true);
	return 0;
}

/* A slot that is neither current, previous, next nor pending; else the
 * previous session's slot, which is given up. */
int shim_slot_free(struct peer *p)
{
	for (int i = 0; i < SHIM_SESSIONS; i++) {
		if (i == p->cur || i == p->prev || i == p->next ||
		    (p->hs_pending && i == p->hs_slot))
			continue;
		return i;
	}
	if (p->prev >= 0) {
		int slot = p->prev;

		shim_session_clear(&p->sessions[slot]);
		p->prev = -1;
		return slot;
	}
	return -1;
}

int shim_session_slot(uint32_t index)
{
	return (int)(index & ((1u << SHIM_INDEX_PEER_SHIFT) - 1));
}

struct session *shim_session_by_index(struct shim *s, uint32_t index,
				      struct peer **peer)
{
	size_t no = (index >> SHIM_INDEX_PEER_SHIFT) &
		    ((1u << (SHIM_INDEX_RANDOM_SHIFT - SHIM_INDEX_PEER_SHIFT)) - 1);
	int slot = shim_session_slot(index);
	struct session *se;

	if (no >= s->npeers)
		return NULL;
	se = &s->peers[no].sessions[slot];
	if (!se->live || se->kp.local_index != index)
		return NULL;
	*peer = &s->peers[no];
	return se;
}

struct peer *shim_peer_by_pk(struct shim *s, const uint8_t pk[PROTO_KEY_LEN])
{
	for (size_t i = 0; i < s->npeers; i++)
		if (sodium_memcmp(s->peers[i].tunnel_pk, pk, PROTO_KEY_LEN) == 0)
			return &s->peers[i];
	return NULL;
}

static size_t addr_hash(const struct shim *s, const struct in6_addr *a)
{
	uint64_t x, y;

	memcpy(&x, a->s6_addr, 8);
	memcpy(&y, a->s6_addr + 8, 8);
	x ^= y * UINT64_C(0x9e3779b97f4a7c15);
	x ^= x >> 29;
	return (size_t)(x * UINT64_C(0xbf58476d1ce4e5b9) >> 17) &
	       (s->addr_table_size - 1);
}

struct peer *shim_peer_by_addr(struct shim *s, const struct in6_addr *a)
{
	for (size_t i = addr_hash(s, a), n = 0; n < s->addr_table_size;
	     i = (i + 1) & (s->addr_table_size - 1), n++) {
		struct peer *p = s->addr_table[i];

		if (!p)
			return NULL;
		if ((p->has4 && memcmp(&p->overlay4, a, sizeof(*a)) == 0) ||
		    (p->has6 && memcmp(&p->overlay6, a, sizeof(*a)) == 0))
			return p;
	}
	return NULL;
}

static void addr_insert(struct shim *s, struct peer *p, const struct in6_addr *a)
{
	size_t i = addr_hash(s, a);

	while (s->addr_table[i])
		i = (i + 1) & (s->addr_table_size - 1);
	s->addr_table[i] = p;
}

/* Reads one armored host token file and verifies it. */
static int token_file(struct shim *s, const char *path, uint8_t *bin,
		      size_t *binlen, struct token *t)
{
	struct token_trust trust;
	enum token_status st = TOKEN_OK;
	int ret;

	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &s->revoked;
	trust.now = shim_unix_now();
	ret = token_file_verify(path, WIRE_TYPE_HOST_TOKEN, &trust, bin, binlen,
				t, &st);
	if (ret == -EKEYREJECTED)
		shim_log(4, "%s: ignored: %s", path, token_status_str(st));
	return ret;
}

/* p's endpoint from its entry h in the policy; none there, nothing set. */
void shim_peer_endpoint_set(struct peer *p, const struct policy_host *h)
{
	if (!h || !h->endpoint.set)
		return;
	memset(&p->endpoint, 0, sizeof(p->endpoint));
	if (h->endpoint.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->endpoint;

		sin->sin_family = AF_INET;
		sin->sin_addr = h->endpoint.addr.v4;
		sin->sin_port = htons(h->endpoint.port);
		p->endpoint_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->endpoint;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = h->endpoint.addr.v6;
		sin6->sin6_port = htons(h->endpoint.port);
		p->endpoint_len = sizeof(*sin6);
	}
}

/* The endpoint of each host, from the policy if there is one. */
void shim_peer_endpoints(struct shim *s)
{
	struct policy_error err;
	struct policy *pol = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/policy.json", s->cfg.dir);
	if (!policy_parse_file(path, &pol, &err)) {
		shim_log(5, "no endpoints from the policy (%s); peers must "
			 "initiate", err.text);
		return;
	}
	for (size_t i = 0; i < s->npeers; i++)
		shim_peer_endpoint_set(&s->peers[i], policy_host_find(pol, s->peers[i].name));
	policy_free(pol);
}

void shim_peer_init(struct shim *s, struct peer *p, const struct token *t,
		    const uint8_t *bin, size_t binlen)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", t->name);
	p->bit = t->bit;
	p->token = *t;
	memcpy(p->tunnel_pk, t->tunnel_pk, sizeof(p->tunnel_pk));
	memcpy(p->sign_pk, t->sign_pk, sizeof(p->sign_pk));
	memcpy(p->host_token, bin, binlen);
	p->host_token_len = binlen;
	cookie_maker_init(&p->cookie, p->tunnel_pk);
	if (t->flags & WIRE_HOST_OVERLAY4) {
		struct in_addr a;

		memcpy(&a, t->overlay4, sizeof(a));
		inet_addr_from4(&p->overlay4, &a);
		p->has4 = true;
	}
	if (t->flags & WIRE_HOST_OVERLAY6) {
		memcpy(&p->overlay6, t->overlay6, sizeof(p->overlay6));
		p->has6 = true;
	}
	p->cur = p->prev = p->next = -1;
	p->hs_slot = -1;
	p->mtu = s->cfg.mtu;
}

/* The overlay address table, (re)built for every peer, a quarter full at most. */
int shim_addr_table_build(struct shim *s)
{
	size_t size = 16;
	struct peer **t;

	while (size < 4 * (s->npeers + 1))
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	free(s->addr_table);
	s->addr_table = t;
	s->addr_table_size = size;
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->has4)
			addr_insert(s, p, &p->overlay4);
		if (p->has6)
			addr_insert(s, p, &p->overlay6);
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->name, ((const struct peer *)b)->name);
}

/*
 * Loads every host token under DIR/tokens: its own (matching the host's
 * tunnel key) becomes s->self, every other valid one a peer. Tokens that
 * fail verification are logged and left out: a peer without a valid token
 * gets no answer.
 */
int shim_peers_load(struct shim *s)
{
	char dir[4096], path[4600];
	uint8_t bin[WIRE_TOKEN_MAX];
	struct dirent *de;
	bool have_self = false;
	size_t cap = SHIM_PEERS_MAX;	/* never moved: hosts join while running */
	DIR *d;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/tokens", s->cfg.dir);
	d = opendir(dir);
	if (!d)
		return -errno;
	s->peers = calloc(cap, sizeof(*s->peers));
	if (!s->peers) {
		ret = -ENOMEM;
		goto out_close;
	}
	while ((de = readdir(d))) {
		struct token t;
		size_t binlen = 0;

		if (strncmp(de->d_name, "host-", 5) != 0 ||
		    !strstr(de->d_name, ".token"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (token_file(s, path, bin, &binlen, &t) < 0)
			continue;
		if (sodium_memcmp(t.tunnel_pk, s->keys.tunnel_pk, PROTO_KEY_LEN) == 0) {
			s->self = t;
			memcpy(s->self_token, bin, binlen);
			s->self_token_len = binlen;
			have_self = true;
			continue;
		}
		if (s->npeers == cap) {
			ret = -E2BIG;
			goto out_close;
		}
		shim_peer_init(s, &s->peers[s->npeers++], &t, bin, binlen);
	}
	if (!have_self && (ret = shim_self_fallback(s)) < 0) {
		shim_log(3, "%s: no host token for this host's key", dir);
		goto out_close;
	}
	qsort(s->peers, s->npeers, sizeof(*s->peers), cmp_name);
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].bit == s->self.bit) {
			shim_log(3, "hosts %s and %s share bit %u", s->peers[i].name,
				 s->self.name, s->self.bit);
			ret = -EINVAL;
			goto out_close;
		}
	ret = shim_addr_table_build(s);
	if (ret < 0)
		goto out_close;
	shim_peer_endpoints(s);
out_close:
	closedir(d);
	return ret;
}

void shim_peers_free(struct shim *s)
{
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		for (int j = 0; j < SHIM_SESSIONS; j++)
			shim_session_clear(&p->sessions[j]);
		noise_handshake_wipe(&p->hs);
		cookie_maker_wipe(&p->cookie);
		shim_queue_drop(s, p);
		free(p->announce);
	}
	free(s->peers);
	free(s->addr_table);
	s->peers = NULL;
	s->addr_table = NULL;
	s->npeers = 0;
}
