/*
 * tests/tools/capinject.h - capinject, a hostile peer for the netns tests.
 *
 * capinject speaks captun's underlay protocol (shim/proto.h) as one host of
 * a lab, with that host's own keys and tokens, from its own UDP socket, and
 * sends a running capshim valid and crafted datagrams. The pieces:
 *
 *   inject_host.c   the host it speaks as: keys, tokens, epoch, endpoints
 *   inject_link.c   the UDP socket, the Noise IK handshake (shim/noise.c),
 *                   sealing and opening data and control messages
 *   inject_craft.c  inner IP packets (ICMP echo) and capability
 *                   announcements, built as shim/announce.c builds them
 *   capinject.c     the command line and the cases
 */
#ifndef CAPTUN_TESTS_CAPINJECT_H
#define CAPTUN_TESTS_CAPINJECT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cookie.h"
#include "keys.h"
#include "noise.h"
#include "proto.h"
#include "token.h"

enum inj_limit {
	INJ_HOSTS_MAX = WIRE_MASK_BITS,
	INJ_PKT_MAX = 2048,		/* inner packets and datagrams we build */
	INJ_RECV_MAX = 65536,
	INJ_ANNOUNCE_MAX = PROTO_CONTROL_MAX,
};

/* The host capinject speaks as, loaded from its state directory. */
struct inj_host {
	const char *dir;
	struct host_keys keys;
	struct noise_static stat;
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	struct revocation revoked;
	struct token self;
	uint8_t self_token[WIRE_TOKEN_MAX];
	size_t self_token_len;
	struct token *hosts;		/* every valid host token, self included */
	size_t nhosts;
	uint32_t epoch;			/* DIR/epoch as capshim left it, 0 if none */
};

/* Loads DIR: host.key, authority.pub, revocation.list, tokens/host-*. */
int inj_host_load(struct inj_host *h, const char *dir);
void inj_host_free(struct inj_host *h);
const struct token *inj_host_find(const struct inj_host *h, const char *name);
/* The first host that is neither self nor except, or NULL. */
const struct token *inj_host_other(const struct inj_host *h, const char *except);
/* Target's endpoint from DIR/policy.json, as "ADDR:PORT" / "[ADDR]:PORT". */
int inj_host_endpoint(const struct inj_host *h, const char *name, char *out,
		      size_t cap);

/* A UDP socket towards one capshim, and the session we hold with it. */
struct inj_link {
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint16_t local_port;
	bool up;			/* the handshake finished */
	struct noise_keypair kp;
	struct cookie_maker cookie;	/* macs towards the target, its cookie */
	uint64_t send_counter;
	bool verbose;
};

/* Parses "A.B.C.D:PORT", "[V6]:PORT" (PORT defaults to 51900). */
int inj_endpoint_parse(const char *text, struct sockaddr_storage *ss,
		       socklen_t *len);
/* A socket of the endpoint's family bound to port (0: any). */
int inj_link_open(struct inj_link *l, const char *endpoint, uint16_t port);
void inj_link_close(struct inj_link *l);
int inj_send(struct inj_link *l, const void *buf, size_t len);
/* Waits up to timeout_ms for one datagram; its length, 0 on timeout, -errno. */
long inj_recv(struct inj_link *l, uint8_t *buf, size_t cap, int timeout_ms);

/*
 * A real Noise IK handshake as local towards remote_pk: initiation, then
 * the response; tries times, timeout_ms each. 0 or -errno.
 */
int inj_handshake(struct inj_link *l, const struct noise_static *local,
		  const uint8_t remote_pk[PROTO_KEY_LEN], int tries,
		  int timeout_ms);

/*
 * One data (PROTO_DATA, padded as capshim pads) or control message under
 * the session, stamped with epoch, with the next counter; the receiver
 * index may be overridden (receiver != 0). Returns the datagram's length.
 */
size_t inj_seal(struct inj_link *l, uint8_t type, uint32_t epoch,
		uint32_t receiver, const uint8_t *msg, size_t len, uint8_t *out,
		size_t cap);
/*
 * Opens a datagram the target sent us under the session; false if it is
 * not one. *type is PROTO_DATA or PROTO_CONTROL, the plaintext is in place.
 */
bool inj_open(struct inj_link *l, uint8_t *buf, size_t len, uint8_t *type,
	      uint8_t **plain, size_t *plain_len);

/* An overlay address of a host token: 4 or 16 bytes; false if it has none. */
bool inj_overlay(const struct token *t, bool v6, uint8_t addr[16]);
/* ICMP (v6: ICMPv6) echo request src -> dst; returns its length. */
size_t inj_craft_echo(bool v6, const uint8_t *src, const uint8_t *dst,
		      uint16_t id, uint16_t seq, uint8_t *out, size_t cap);
/*
 * ICMP port unreachable (v6: ICMPv6 type 1 code 4) src -> dst, quoting
 * the IP and UDP headers of a datagram qsrc:qsport -> qdst:qdport.
 */
size_t inj_craft_unreach(bool v6, const uint8_t *src, const uint8_t *dst,
			 const uint8_t *qsrc, uint16_t qsport, const uint8_t *qdst,
			 uint16_t qdport, uint8_t *out, size_t cap);
/* True if pkt is the echo reply dst -> src to that request. */
bool inj_is_echo_reply(bool v6, const uint8_t *pkt, size_t len,
		       const uint8_t *from, uint16_t id, uint16_t seq);
/*
 * The host's capability announcement at epoch (no users: the mask is the
 * host grant), signed with sign_sk (64 bytes), as shim/announce.c signs.
 * Returns 0 or -errno.
 */
int inj_craft_announce(const struct inj_host *h, uint32_t epoch,
		       const uint8_t *sign_sk, uint8_t *out, size_t cap,
		       size_t *len);

#endif
