/*
 * shim/hostadd.c - a host added to the network while capshim runs. Its
 * host token arrives like any signed object (capd, a peer, a catch-up);
 * once it verifies, the host becomes a peer at once: its keys are
 * accepted in handshakes, its overlay addresses are routed to it (the
 * kernel already sends them here: capshim routes the whole overlay prefix
 * into its interface at start, --route), and its capability announcements
 * are believed. The peer table never moves (SHIM_PEERS_MAX slots), so no
 * pointer into it goes stale.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "policy.h"
#include "shim.h"

static bool claims(const struct peer *p, const struct in6_addr *a)
{
	return (p->has4 && memcmp(&p->overlay4, a, sizeof(*a)) == 0) ||
	       (p->has6 && memcmp(&p->overlay6, a, sizeof(*a)) == 0);
}

/* A bit or an overlay address already held by this host or a live peer. */
static const char *conflict(const struct shim *s, const struct peer *np)
{
	if (np->bit == s->self.bit)
		return "this host's own bit";
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		if (p->disabled)
			continue;
		if (p->bit == np->bit)
			return "the bit of another host";
		if ((np->has4 && claims(p, &np->overlay4)) ||
		    (np->has6 && claims(p, &np->overlay6)))
			return "the overlay address of another host";
	}
	return NULL;
}

/* Its endpoint, if this host's copy of the policy knows it already. */
static void endpoint(struct shim *s, struct peer *p)
{
	struct policy_error err;
	struct policy *pol = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/policy.json", s->cfg.dir);
	if (!policy_parse_file(path, &pol, &err))
		return;
	shim_peer_endpoint_set(p, policy_host_find(pol, p->name));
	policy_free(pol);
}

/*
 * t verified against the authority and the revocation list, and names a
 * key no peer has: it becomes a peer. Until it has an endpoint (from the
 * policy, or from its first authenticated handshake) it is reached only
 * after it initiates, which a joining host does towards every peer.
 */
void shim_peer_add(struct shim *s, const struct token *t, const uint8_t *bin,
		   size_t len, char *report, size_t cap)
{
	size_t n = strlen(report);
	struct peer *p;
	const char *why;

	if (s->npeers == SHIM_PEERS_MAX) {
		snprintf(report + n, cap - n, "new host %s: no room; ", t->name);
		return;
	}
	p = &s->peers[s->npeers];
	shim_peer_init(s, p, t, bin, len);
	why = conflict(s, p);
	if (why) {
		shim_log(LOG_WARNING, "new host %s (bit %u) ignored: it claims %s",
			 t->name, t->bit, why);
		snprintf(report + n, cap - n, "new host %s ignored: claims %s; ", t->name, why);
		memset(p, 0, sizeof(*p));
		return;
	}
	s->npeers++;
	if (shim_addr_table_build(s) < 0) {
		s->npeers--;
		memset(p, 0, sizeof(*p));
		shim_addr_table_build(s);
		snprintf(report + n, cap - n, "new host %s: out of memory; ", t->name);
		return;
	}
	endpoint(s, p);
	shim_peer_mtu_update(s, p);
	shim_log(LOG_NOTICE, "host %s (bit %u) joined the network: now a peer%s",
		 p->name, p->bit, p->endpoint_len ? "" : " (endpoint learnt when it calls)");
	snprintf(report + n, cap - n, "added host %s; ", p->name);
	if (p->endpoint_len)
		shim_handshake_start(s, p);
}
