/*
 * kernel-bpf/earlydrop.c - loads and attaches early.bpf.c (earlydrop.h).
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "early.skel.h"
#include "earlydrop.h"

static const char *const counter_names[EARLY_COUNTERS] = {
	[EARLY_PASS_DATA] = "pass_data",
	[EARLY_DROP_INDEX] = "drop_unknown_index",
	[EARLY_DROP_SHORT] = "drop_short",
	[EARLY_DROP_TYPE] = "drop_type",
	[EARLY_PASS_HANDSHAKE] = "pass_handshake",
	[EARLY_DROP_HANDSHAKE] = "drop_handshake_budget",
	[EARLY_PASS_OTHER] = "pass_other",
};

const char *earlydrop_counter_name(enum early_counter c)
{
	return (unsigned)c < EARLY_COUNTERS ? counter_names[c] : "unknown";
}

static int fail(struct earlydrop *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct earlydrop *e, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	n = strlen(e->err);
	snprintf(e->err + n, sizeof(e->err) - n, ": %s", strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

int earlydrop_load(struct earlydrop *e, uint16_t port, uint32_t hs_per_s,
		   uint32_t hs_burst)
{
	struct early_config cfg;
	uint32_t zero = 0;
	int ret;

	memset(e, 0, sizeof(*e));
	e->indices_fd = e->counters_fd = -1;
	e->skel = early_bpf__open();
	if (!e->skel)
		return fail(e, -errno, "opening the early-drop eBPF object");
	ret = early_bpf__load(e->skel);
	if (ret < 0) {
		ret = fail(e, ret, "the kernel refused the early-drop XDP program");
		earlydrop_close(e);
		return ret;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.port = port;
	cfg.hs_per_s = hs_per_s;
	cfg.hs_burst = hs_burst;
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.early_settings), &zero,
				&cfg, BPF_ANY) < 0) {
		ret = fail(e, -errno, "configuring the early-drop program");
		earlydrop_close(e);
		return ret;
	}
	e->indices_fd = bpf_map__fd(e->skel->maps.early_indices);
	e->counters_fd = bpf_map__fd(e->skel->maps.early_counters);
	return 0;
}

int earlydrop_attach(struct earlydrop *e, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	if (!e->skel)
		return fail(e, -EINVAL, "early-drop program not loaded");
	if (ifindex == 0)
		return fail(e, -errno, "interface %s", ifname);
	e->link = bpf_program__attach_xdp(e->skel->progs.captun_early, ifindex);
	if (!e->link) {
		int err = -errno;

		e->link = NULL;
		return fail(e, err, "attaching XDP to %s", ifname);
	}
	e->ifindex = ifindex;
	return 0;
}

int earlydrop_index_set(struct earlydrop *e, uint32_t index, bool on)
{
	uint8_t one = 1;

	if (e->indices_fd < 0)
		return -EBADF;
	if (on)
		return bpf_map_update_elem(e->indices_fd, &index, &one, BPF_ANY) < 0 ? -errno : 0;
	if (bpf_map_delete_elem(e->indices_fd, &index) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int earlydrop_counters(const struct earlydrop *e, uint64_t out[EARLY_COUNTERS])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	memset(out, 0, EARLY_COUNTERS * sizeof(out[0]));
	if (e->counters_fd < 0)
		return -EBADF;
	if (ncpu <= 0)
		return -EIO;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t c = 0; c < EARLY_COUNTERS; c++) {
		if (bpf_map_lookup_elem(e->counters_fd, &c, v) < 0) {
			int err = -errno;

			free(v);
			return err;
		}
		for (int i = 0; i < ncpu; i++)
			out[c] += v[i];
	}
	free(v);
	return 0;
}

void earlydrop_close(struct earlydrop *e)
{
	bpf_link__destroy(e->link);
	e->link = NULL;
	e->ifindex = 0;
	early_bpf__destroy(e->skel);
	e->skel = NULL;
	e->indices_fd = e->counters_fd = -1;
}
