/*
 * shim/privsep.h - attach mode's privileged helper and the one wire
 * format between it and capshim (a SOCK_SEQPACKET socketpair, host byte
 * order: both ends are the same binary on the same machine).
 *
 * capshim --attach gives up every capability once it is attached; what
 * it still needs at run time works on descriptors it already holds (BPF
 * maps, the ring buffer, the socket iterator's link, its sockets). The
 * one thing left that needs a capability is the clean stop: removing the
 * MTU routes it made (CAP_NET_ADMIN). So before the drop it forks this
 * helper, which keeps CAP_NET_ADMIN alone (bounding set emptied,
 * no_new_privs, every other descriptor closed) and knows, from the fork,
 * the interface and the addresses of the routes. It answers exactly one
 * request, carrying no argument, so whoever controls capshim can at most
 * remove the routes capshim made: it never chooses an address. It exits
 * when capshim's end closes; a capshim that died (kill -9) leaves the
 * routes in place, as it leaves its programs enforcing.
 */
#ifndef CAPTUN_SHIM_PRIVSEP_H
#define CAPTUN_SHIM_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum shim_priv_const {
	SHIM_PRIV_VERSION = 1,
	SHIM_PRIV_ROUTES_MAX = 512,	/* two per peer (IPv4, IPv6) */
	SHIM_PRIV_ANSWER_MS = 5000,	/* the stop waits no longer for the helper */
};

enum shim_priv_type {
	SHIM_PRIV_ROUTES_REMOVE = 1,	/* remove the MTU routes made at start */
	SHIM_PRIV_TYPE_MAX = SHIM_PRIV_ROUTES_REMOVE,
};

/* capshim -> helper */
struct shim_priv_req {
	uint8_t version;		/* SHIM_PRIV_VERSION */
	uint8_t type;			/* enum shim_priv_type */
	uint16_t zero;			/* must be 0 */
	uint32_t seq;			/* echoed in the answer */
};

/* helper -> capshim */
struct shim_priv_ans {
	uint8_t version;
	uint8_t type;			/* the request's */
	uint16_t zero;
	uint32_t seq;			/* the request's */
	int32_t result;			/* 0 or -errno of the first failure */
	uint32_t done;			/* routes removed */
};

_Static_assert(sizeof(struct shim_priv_req) == 8, "shim_priv_req is 8 bytes");
_Static_assert(sizeof(struct shim_priv_ans) == 16, "shim_priv_ans is 16 bytes");

/* Exactly one request of this version and a known type. */
bool shim_priv_req_parse(const void *buf, size_t len, struct shim_priv_req *out);
/* Exactly one answer to req, with a result that is 0 or -errno. */
bool shim_priv_ans_parse(const void *buf, size_t len, const struct shim_priv_req *req,
			 struct shim_priv_ans *out);

/* What the helper may act on, fixed at the fork. */
struct shim_priv_routes {
	int ifindex;
	size_t n;			/* at most SHIM_PRIV_ROUTES_MAX */
	uint8_t addr[SHIM_PRIV_ROUTES_MAX][16];	/* v4-mapped or IPv6 */
	int (*del)(int ifindex, const uint8_t addr[16]);	/* 0 or -errno */
};

struct shim_privsep {
	int fd;				/* capshim's end, -1 without a helper */
	pid_t pid;
	uint32_t seq;
};

/*
 * Forks the helper, which keeps capability cap alone (-1: none, for
 * tests). Call before giving up privileges. 0 or -errno.
 */
int shim_privsep_start(struct shim_privsep *ps, const struct shim_priv_routes *r, int cap);
/* Asks the helper to remove its routes: how many it removed, or -errno. */
int shim_privsep_routes_remove(struct shim_privsep *ps);
/* Closes capshim's end (the helper exits) and reaps the helper. */
void shim_privsep_stop(struct shim_privsep *ps);

#endif
