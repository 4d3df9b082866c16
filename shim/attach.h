/*
 * shim/attach.h - capshim's attach mode (--attach IFNAME): instead of a
 * TUN device and its own tunnel, capshim runs under an existing mesh
 * (WireGuard, Nebula, ...) and enforces in the kernel: eBPF programs on
 * the mesh interface and on the cgroup2 root (kernel-bpf/), fed from the
 * same verified announcements and signed objects, exchanged over the mesh
 * (attach_net.c). capd speaks to it exactly as to the tunnel.
 */
#ifndef CAPTUN_SHIM_ATTACH_H
#define CAPTUN_SHIM_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "attach_proto.h"
#include "loader.h"
#include "privsep.h"
#include "shim.h"

/* One message in assembly from a peer. */
struct attach_rx {
	uint32_t msg_id;
	uint32_t total_len;
	uint8_t count;
	uint64_t have;			/* chunks received */
	uint8_t *buf;			/* total_len bytes, NULL when idle */
};

struct attach_peer_state {
	struct attach_rx rx;
	uint64_t epoch_request_ns;	/* rate limits */
	uint64_t announce_sent_ns;
	bool reaches_us;		/* as last written to the kernel */
};

struct attach_state {
	struct kbpf k;
	struct shim_ev ev_udp, ev_events, ev_sig, ev_tick;
	int udp_fd;
	uint32_t msg_id;
	struct attach_peer_state *ps;	/* one per s->peers[i] */
	bool provisional;		/* adopted: never wider than the kernel's last mask */
	bool started;			/* the initial capability is set */
	struct mask adopted_mask;
	struct shim_priv_routes routes;	/* the MTU routes made at start */
	struct shim_privsep priv;	/* the helper that removes them at stop */
	uint64_t last_announce_ns;
	uint64_t control_bad, send_errors, routes_refused;
	bool stop;
};

/* attach.c */
int shim_attach_run(struct shim *s, const char *pidfile);
int shim_attach_detach_cmd(const struct shim_config *cfg);
void shim_attach_sync(struct shim *s);

/* attach_net.c: the control channel */
int attach_net_open(struct shim *s, struct attach_state *a);
int attach_net_send(struct shim *s, struct peer *p, const uint8_t *msg, size_t len);
void attach_net_readable(struct shim *s, struct shim_ev *ev, uint32_t events);
void attach_net_announce_all(struct shim *s);
void attach_net_epoch_request(struct shim *s, struct peer *p, uint32_t epoch);

/* attach_status.c */
struct json_t *attach_status(struct shim *s);

static inline struct attach_state *attach_of(struct shim *s)
{
	return s->mode_state;
}

#endif
