/*
 * shim/xdp.c - capshim's side of the early-drop XDP program (--xdp
 * IFNAME; kernel-bpf/early.h has the rules): attach it to the underlay
 * interface for capshim's port, tell it every session index handed out
 * and taken back (shim_index_hook, from shim_session_install and _clear),
 * and show its counters in the status. Linked into capshim only, so that
 * the rest of libcapshim needs no libbpf.
 *
 * Its handshake budget is ratelimiter.h's per-source rule made
 * EARLY_HS_RATE times as generous (the kernel counts every message, valid
 * or not), so that it never refuses what capshim's own budget would take.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "earlydrop.h"
#include "shim.h"

_Static_assert(EARLY_INDICES_MAX >= SHIM_SESSIONS * WIRE_MASK_BITS,
	       "every session of every peer fits the index map");
_Static_assert(EARLY_HS_RATE >= 1, "never stricter than capshim's own budget");

/* One program per process: capshim has one UDP port. */
static struct earlydrop early;
static uint64_t index_errors;

static void index_hook(uint32_t index, bool on)
{
	int ret = earlydrop_index_set(&early, index, on);

	/* Rare (the map holds every session there can be): log the first few. */
	if (ret < 0 && index_errors++ < 10)
		shim_log(LOG_WARNING, "early drop: index %08x %s: %s", index,
			 on ? "not added (its data will be dropped)" : "not removed",
			 strerror(-ret));
}

static int counters(struct shim *s, uint64_t *out, const char **names, unsigned max)
{
	uint64_t v[EARLY_COUNTERS];
	unsigned n = 0;

	if (earlydrop_counters(&early, v) < 0)
		return -EIO;
	for (int c = 0; c < EARLY_COUNTERS && n < max; c++, n++) {
		out[n] = v[c];
		names[n] = earlydrop_counter_name(c);
	}
	return (int)n;
}

int shim_xdp_open(struct shim *s, const char *ifname)
{
	int ret;

	ret = earlydrop_load(&early, s->cfg.port, RATELIMIT_PER_S * EARLY_HS_RATE,
			     RATELIMIT_BURST * EARLY_HS_RATE);
	if (ret == 0)
		ret = earlydrop_attach(&early, ifname);
	if (ret < 0) {
		shim_log(LOG_ERR, "early drop on %s: %s", ifname, early.err);
		earlydrop_close(&early);
		return ret;
	}
	/* sessions made before (none at start-up, but be exact) */
	for (size_t i = 0; i < s->npeers; i++)
		for (int j = 0; j < SHIM_SESSIONS; j++)
			if (s->peers[i].sessions[j].live)
				index_hook(s->peers[i].sessions[j].kp.local_index, true);
	shim_index_hook = index_hook;
	s->xdp_counters = counters;
	return 0;
}

void shim_xdp_close(struct shim *s)
{
	shim_index_hook = NULL;
	s->xdp_counters = NULL;
	earlydrop_close(&early);
}
