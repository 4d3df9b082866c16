/*
 * tests/unit/netlab.h - a small network lab for the tests that need the
 * real kernel (check_tun_udp.c): a private network namespace per test,
 * interface ioctls and rtnetlink dumps to read settings back, a peer
 * "behind" a TUN device whose packets the test builds by hand, and an
 * Internet checksum of its own. Big-endian helpers and the checksum are
 * shared with check_offload.c.
 */
#ifndef CAPTUN_TESTS_UNIT_NETLAB_H
#define CAPTUN_TESTS_UNIT_NETLAB_H

#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tun.h"

enum lab_const {
	LAB_VNET = sizeof(struct virtio_net_hdr),
	LAB_BUF = 65536 + 64,		/* one TUN read, vnet header included */
	LAB_WAIT_MS = 3000,		/* longest wait for a packet */
};

/* The two ends of the test's traffic: us (local) and the peer behind the TUN. */
struct lab_ends {
	int family;
	uint8_t local[16], peer[16];
	unsigned prefix;
};

/* What lab_pkt_build puts in a TCP or UDP header. */
struct lab_hdr {
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t id;
	const uint8_t *opts;
	size_t optlen;
};

/* ---- environment ---- */

/* unshare(CLONE_NEWNET); false (with a message saying why) if refused. */
bool lab_netns_enter(const char *test);
/* One interface ioctl on a scratch socket; 0 or -errno. */
int lab_ifioctl(unsigned long req, struct ifreq *ifr);
/* Brings up lo, which a new namespace starts with down. */
void lab_lo_up(void);
/* tun_open("capt%d"), false (with a message) if there is no TUN driver. */
bool lab_tun_open(struct tun *t, bool offload, const char *test);
int lab_if_mtu(const char *name);
short lab_if_flags(const char *name);
/* Is addr/prefix on interface name (getifaddrs)? */
bool lab_has_addr(const char *name, int family, const void *addr,
		  unsigned prefix);
/* Does the main table route dst/prefix via ifindex (rtnetlink dump)? */
bool lab_has_route(int family, const void *dst, unsigned prefix,
		   unsigned ifindex);
/* Waits until no IPv6 address of ifindex is tentative any more. */
void lab_v6_settle(unsigned ifindex);
/* poll() for input; false on time-out. */
bool lab_wait_in(int fd, int ms);

/* ---- packets ---- */

/* RFC 1071 sum of big-endian words, folded, not complemented. */
uint16_t lab_sum(const uint8_t *p, size_t n, uint32_t init);
uint16_t lab_rd16(const uint8_t *p);
uint32_t lab_rd32(const uint8_t *p);
void lab_wr16(uint8_t *p, uint16_t v);
void lab_wr32(uint8_t *p, uint32_t v);
/* IP header length without options: 20 or 40. */
size_t lab_iph_len(int family);
/* TCP/UDP pseudo-header sum of pkt for a transport part of l4len bytes. */
uint32_t lab_pseudo(const uint8_t *pkt, int family, uint8_t proto, size_t l4len);

/* 10.77.0.1/24 -> 10.77.0.2, or fd77::1/64 -> fd77::2. */
void lab_ends_init(struct lab_ends *e, int family);
socklen_t lab_ends_sockaddr(const struct lab_ends *e, bool peer, uint16_t port,
			    struct sockaddr_storage *ss);
/* A packet from the peer to us, checksums complete; returns its length. */
size_t lab_pkt_build(uint8_t *out, const struct lab_ends *e,
		     const struct lab_hdr *h, const uint8_t *payload, size_t plen);
/* Writes a packet into the TUN (a zero vnet header first if it has them). */
void lab_tun_put(struct tun *t, const uint8_t *pkt, size_t len);
/*
 * Reads the next packet from the TUN into buf (LAB_BUF bytes); vh gets its
 * vnet header (zero without), *pkt the IP packet. Returns its length.
 */
size_t lab_tun_get(struct tun *t, uint8_t *buf, struct virtio_net_hdr *vh,
		   uint8_t **pkt);
/* Is pkt of e's family and protocol proto, towards the peer? */
bool lab_pkt_is(const uint8_t *pkt, size_t len, const struct lab_ends *e,
		uint8_t proto);

#endif
