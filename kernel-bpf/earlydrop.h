/*
 * kernel-bpf/earlydrop.h - user space's side of the early-drop XDP program
 * (early.bpf.c, rules in early.h): load it for capshim's port, attach it
 * to the underlay interface, keep its map of handed-out receiver indices,
 * read its counters.
 *
 * The attachment is a BPF link owned by this process, not pinned: when
 * capshim stops (or dies) the program goes with it, and datagrams then
 * reach capshim's own checks as before (it is a filter in front of them,
 * never the only one).
 */
#ifndef CAPTUN_KBPF_EARLYDROP_H
#define CAPTUN_KBPF_EARLYDROP_H

#include <stdbool.h>
#include <stdint.h>

#include "early.h"

struct early_bpf;
struct bpf_link;

struct earlydrop {
	struct early_bpf *skel;
	struct bpf_link *link;
	int ifindex;			/* 0: not attached */
	int indices_fd, counters_fd;
	char err[256];			/* why the last call failed, one line */
};

/*
 * Loads the program for UDP port (host order) with a per-source budget of
 * hs_per_s handshake messages a second, bursts of hs_burst. Attaches
 * nothing. 0 or -errno with e->err set.
 */
int earlydrop_load(struct earlydrop *e, uint16_t port, uint32_t hs_per_s,
		   uint32_t hs_burst);
/* Attaches to ifname (native XDP where the driver has it). 0 or -errno. */
int earlydrop_attach(struct earlydrop *e, const char *ifname);
/* Lets data to index through (on) or not any more. 0 or -errno. */
int earlydrop_index_set(struct earlydrop *e, uint32_t index, bool on);
/* The counters summed over CPUs. 0 or -errno. */
int earlydrop_counters(const struct earlydrop *e, uint64_t out[EARLY_COUNTERS]);
const char *earlydrop_counter_name(enum early_counter c);
/* Detaches and unloads; safe on a zeroed or half-opened one. */
void earlydrop_close(struct earlydrop *e);

#endif
