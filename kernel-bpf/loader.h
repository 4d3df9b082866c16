/*
 * kernel-bpf/loader.h - user space's side of attach mode's eBPF programs
 * (attach.bpf.c): load them, pin their maps and links under one bpffs
 * directory, attach them (tc ingress/egress on the mesh interface through
 * tcx links, cgroup connect/sendmsg on the cgroup2 root, multi-attach),
 * adopt what a previous instance left pinned, fill the maps, read the
 * counters and the ring buffer, and detach exactly what was attached.
 *
 * Everything attached lives as a pinned link in the directory, so the
 * kernel keeps enforcing when the daemon dies (fail closed), and a
 * restart takes the same links over (bpf_link_update to the freshly
 * loaded programs). Two instances never share a directory (flock).
 */
#ifndef CAPTUN_KBPF_LOADER_H
#define CAPTUN_KBPF_LOADER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "attach_event.h"

#define KBPF_PIN_ROOT "/sys/fs/bpf/captun"

enum kbpf_link {
	KBPF_LINK_INGRESS,
	KBPF_LINK_EGRESS,
	KBPF_LINK_CONNECT4,
	KBPF_LINK_CONNECT6,
	KBPF_LINK_SENDMSG4,
	KBPF_LINK_SENDMSG6,
	KBPF_LINK_COUNT,
};

enum kbpf_limit {
	KBPF_ERR_LEN = 256,
	KBPF_PATH_LEN = 4096,
	KBPF_ROUTE_PROTO = 235,		/* rtm_protocol of our MTU routes */
};

struct attach_bpf;
struct ring_buffer;
struct bpf_link;

struct kbpf {
	struct attach_bpf *skel;
	char ifname[IF_NAMESIZE];
	int ifindex;
	unsigned mtu;			/* the interface's */
	unsigned l3_off;		/* bytes before the IP header: 0 (TUN) or 14 */
	char pin_dir[KBPF_PATH_LEN];
	char cgroup[KBPF_PATH_LEN];	/* the cgroup2 root the hooks are on */
	int dir_fd;			/* holds the directory's flock */
	int link_fd[KBPF_LINK_COUNT];
	bool adopted;			/* the links were there already */
	bool routes_removed;		/* by the privileged helper: detach leaves them */
	struct bpf_link *iter;		/* iter/tcp, not pinned: only we run it */
	struct ring_buffer *rb;
	char err[KBPF_ERR_LEN];		/* why the last call failed, one line */
};

/*
 * Loads the programs with their maps pinned in pin_dir (made if needed;
 * maps found there are reused, so the kernel's state carries over), takes
 * the directory's lock, and checks the interface (exists, MTU leaves room
 * for the stamp). Attaches nothing yet. 0 or -errno with k->err set.
 */
int kbpf_open(struct kbpf *k, const char *ifname, const char *pin_dir,
	      const char *cgroup);

/*
 * Attaches every program (or takes over the pinned links left by an
 * earlier instance), pinning each link. On failure nothing of what this
 * call attached stays attached. 0 or -errno with k->err set.
 */
int kbpf_links_attach(struct kbpf *k);

/*
 * Removes everything in k's directory: links (so the programs detach),
 * maps, MTU routes (unless k->routes_removed: the privileged helper did),
 * the directory. Used by a clean stop.
 */
int kbpf_detach(struct kbpf *k);

/* Closes everything but leaves what is pinned attached (a crash, or --keep). */
void kbpf_close(struct kbpf *k);

/*
 * `capshim --detach`: removes what an instance that died left in pin_dir
 * (its lock must be free). 0, -ENOENT if there is nothing, or -errno with
 * err set.
 */
int kbpf_detach_dir(const char *pin_dir, char *err, size_t errlen);

/* True if an earlier instance left links pinned in k's directory. */
bool kbpf_links_pinned(struct kbpf *k);

/* Map reads and writes; 0 or -errno. */
int kbpf_own_get(struct kbpf *k, uint32_t slot, struct attach_own *own);
int kbpf_config_get(struct kbpf *k, struct attach_config *c);
int kbpf_config_set(struct kbpf *k, const struct attach_config *c);
int kbpf_own_set(struct kbpf *k, uint32_t epoch, const uint64_t mask[ATTACH_MASK_WORDS]);
int kbpf_peer_set(struct kbpf *k, const uint8_t addr[16], const struct attach_peer *p);
/* Deletes every peer address not in keep[0..n). */
int kbpf_peers_prune(struct kbpf *k, const uint8_t (*keep)[16], size_t n);
int kbpf_cap_set(struct kbpf *k, uint16_t bit, uint32_t epoch, const struct attach_cap *c);
/* Deletes every (bit, epoch) for which keep() says false. */
int kbpf_caps_prune(struct kbpf *k, bool (*keep)(void *arg, uint16_t bit, uint32_t epoch),
		    void *arg);
/* Deletes every conntrack entry for which keep() says false; returns how many. */
int kbpf_ct_prune(struct kbpf *k, bool (*keep)(void *arg, const struct attach_ct *ct),
		  void *arg);

/* Runs the iter/tcp program once: aborts connections that became forbidden. */
int kbpf_sockets_sweep(struct kbpf *k);

/* Counters summed over CPUs. */
int kbpf_counters(struct kbpf *k, uint64_t out[CNT_COUNT]);
int kbpf_peer_counters(struct kbpf *k, uint16_t bit, struct attach_peer_counters *out);
const char *kbpf_counter_name(enum attach_counter c);
const char *kbpf_link_name(enum kbpf_link l);

/* Entries in a map, by walking its keys (cheap for our sizes), and its capacity. */
int kbpf_map_usage(struct kbpf *k, const char *name, unsigned *entries, unsigned *max);

/* Ring buffer: a descriptor for epoll, and a call that hands every record to fn. */
int kbpf_events_open(struct kbpf *k, int (*fn)(void *arg, const struct attach_event *e),
		     void *arg);
int kbpf_events_fd(struct kbpf *k);
int kbpf_events_consume(struct kbpf *k);

/* True if the interface still exists with the index we attached to. */
bool kbpf_iface_alive(struct kbpf *k);

/* Where the cgroup2 hierarchy is mounted (its root), from mountinfo. 0 or -ENOENT. */
int kbpf_cgroup2_root(char *out, size_t cap);

/* The network namespace cookie of the calling thread's namespace. */
int kbpf_netns_cookie(uint64_t *cookie);

/* route.c: a host route with a lower MTU towards a captun peer. */
int kbpf_route_mtu_add(int ifindex, const uint8_t addr[16], unsigned mtu);
int kbpf_route_mtu_del(int ifindex, const uint8_t addr[16]);

#endif
