/*
 * tests/unit/shimlab.h - whole capshims in one test process, for the unit
 * tests of the data path, handshakes, announcements, updates and the
 * control socket: real state directories (keys, authority, tokens), real
 * UDP sockets on the loopback (each shim on its own port), and a fake TUN:
 * a SOCK_SEQPACKET socketpair whose other end the test reads and writes,
 * one packet per message. No root, no namespace, no kernel TUN.
 *
 * Hosts are "h1".."hN" with bits 1..N, overlay 10.77.0.(bit+1) and
 * fd77::(bit+1); each one's grant is given as a bit list.
 */
#ifndef CAPTUN_TESTS_UNIT_SHIMLAB_H
#define CAPTUN_TESTS_UNIT_SHIMLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim.h"

enum {
	SL_HOSTS_MAX = 4,
	SL_PKT = 65536,
	SL_USER_SERIAL = 1000,		/* of every user token (host i's: 10 + i) */
};

struct sl_host {
	char *dir;
	struct host_keys keys;
	struct token token;
	struct shim s;
	int tun;			/* the test's end of the fake TUN */
	bool started;
};

struct shimlab {
	char *root;
	struct authority_key ak;
	unsigned n;
	struct sl_host h[SL_HOSTS_MAX];
};

/* n hosts; grants[i] is host i's grant, a BITS_END-terminated bit list. */
void sl_make(struct shimlab *lab, unsigned n, const int *const *grants);
/* Loads and opens host i as capshim's main() would (no TUN device). */
void sl_start(struct shimlab *lab, unsigned i);
void sl_start_all(struct shimlab *lab);
/* Closes host i (its directory stays: a restart is sl_start again). */
void sl_stop(struct shimlab *lab, unsigned i);
void sl_free(struct shimlab *lab);
/* Points every started host's peers at the others' current UDP ports. */
void sl_endpoints(struct shimlab *lab);

/*
 * Runs every started host for up to ms milliseconds: their UDP sockets,
 * fake TUNs and control sockets, the handshake queue after each turn, the
 * timers every 100 ms. Stops early once done(lab, arg) (if given) holds;
 * returns whether it did.
 */
bool sl_run(struct shimlab *lab, int ms, bool (*done)(struct shimlab *, void *),
	    void *arg);
/* Every started host has a session to send on with every other. */
bool sl_sessions_up(struct shimlab *lab, void *arg);
/* Starts handshakes and runs until every session is up (fails the test if not). */
void sl_connect(struct shimlab *lab);

/* A packet into host i's TUN, as a local application would send it. */
void sl_tun_send(struct shimlab *lab, unsigned i, const uint8_t *pkt, size_t len);
/* The next packet host i wrote to its TUN (delivered or a local answer); 0 if none. */
size_t sl_tun_recv(struct shimlab *lab, unsigned i, uint8_t *buf, size_t cap);

/* A signed user token for name with the given grant bits. */
size_t sl_user_token(struct shimlab *lab, const char *name, const int *bits,
		     uint8_t *out);
/* Host i's overlay address text, "10.77.0.X" / "fd77::X". */
const char *sl_addr4(unsigned i);
const char *sl_addr6(unsigned i);
/* The peer entry host i has for host j. */
struct peer *sl_peer(struct shimlab *lab, unsigned i, unsigned j);

#endif
