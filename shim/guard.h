/*
 * shim/guard.h - capshim's underlay guard (shim/guard.c): nftables rules
 * that close this host's underlay to everything but the tunnel, and the
 * messages between capshim and the privileged helper that removes them.
 */
#ifndef CAPTUN_SHIM_GUARD_H
#define CAPTUN_SHIM_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum shim_guard_limit {
	SHIM_GUARD_ALLOW_MAX = 32,	/* --underlay-allow entries */
	SHIM_GUARD_SPEC_MAX = 96,	/* bytes of one entry */
	SHIM_GUARD_RULES_MAX = 64 * 1024,
	SHIM_GUARD_TABLE_MAX = 64,	/* "captun_guard_" + interface name */
	SHIM_GUARD_TEXT_MAX = 480,	/* nft's error, as the helper relays it */
};

/* One exception: PROTO/PORT[-PORT][@ADDR[/PLEN]]. */
struct shim_guard_allow {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port_lo, port_hi;
	int family;			/* AF_INET, AF_INET6, or AF_UNSPEC: any source */
	uint8_t addr[16];		/* network address, host bits cleared */
	uint8_t plen;
};

struct shim_guard_cfg {
	bool on;
	size_t nallow;
	struct shim_guard_allow allow[SHIM_GUARD_ALLOW_MAX];
};

/* The running guard: its helper, while the rules are in place. */
struct shim_guard {
	int fd;				/* socket to the helper, -1 if none */
	pid_t pid;
	char table[SHIM_GUARD_TABLE_MAX];
};

/*
 * capshim <-> helper, over a SOCK_SEQPACKET socketpair between a process
 * and its fork: host byte order, each message exactly its size.
 */
enum shim_guard_wire {
	SHIM_GUARD_VERSION = 1,
	SHIM_GUARD_OP_REMOVE = 1,	/* capshim stops cleanly: delete the table */
};

struct shim_guard_req {
	uint32_t version;
	uint32_t op;
};

struct shim_guard_ack {
	uint32_t version;
	int32_t status;			/* 0, or -errno */
	char text[SHIM_GUARD_TEXT_MAX];	/* NUL-terminated: what nft said */
};

bool shim_guard_allow_parse(const char *spec, struct shim_guard_allow *a,
			    char *err, size_t errcap);
int shim_guard_allow_format(const struct shim_guard_allow *a, char *out, size_t cap);
void shim_guard_table_name(const char *ifname, char *out, size_t cap);
int shim_guard_ruleset(const char *ifname, uint16_t port,
		       const struct sockaddr_storage *peers, size_t npeers,
		       const struct shim_guard_allow *allow, size_t nallow,
		       char *out, size_t cap);
bool shim_guard_ack_check(const void *buf, size_t len);

struct shim;
int shim_guard_start(struct shim *s);
void shim_guard_stop(struct shim *s);

#endif
