/*
 * tests/unit/inet_pkt.h - building IPv4 / IPv6 test packets from table
 * specs, for the inet suites (check_inet.c, check_inet_reject.c), and the
 * packets both use.
 */
#ifndef CAPTUN_TESTS_UNIT_INET_PKT_H
#define CAPTUN_TESTS_UNIT_INET_PKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "inet.h"

enum {
	BUF = 4096,
	EXT_MAX = 10,
	F_SYN = 0x02, F_FIN = 0x01, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10,
	P_HOP = IPPROTO_HOPOPTS, P_RT = IPPROTO_ROUTING,
	P_DST = IPPROTO_DSTOPTS, P_FRAG = IPPROTO_FRAGMENT,
};

/* One packet to build. */
struct spec {
	uint8_t family;
	const char *src, *dst;
	uint8_t proto;			/* transport, after any extensions */
	uint16_t sport, dport;
	uint8_t flags;			/* TCP */
	uint32_t seq, ack;
	uint8_t tcp_opt;		/* TCP option bytes, multiple of 4 */
	uint8_t type, code;		/* ICMP */
	uint16_t id;			/* ICMP echo identifier */
	uint16_t payload;		/* bytes after the transport header */
	uint16_t frag;			/* v4 flags|offset; v6 offset<<3|M */
	uint8_t ip_opt;			/* IPv4 option bytes, multiple of 4 */
	uint8_t ext[EXT_MAX];		/* IPv6 extension headers, in order */
	uint8_t n_ext;
	uint8_t ext_units;		/* their length field (8-byte units - 1) */
	const struct spec *inner;	/* ICMP error: the quoted packet */
	uint16_t quote;			/* bytes of it quoted, 0: all */
};

#define V4(s, d, p) .family = AF_INET, .src = s, .dst = d, .proto = p
#define V6(s, d, p) .family = AF_INET6, .src = s, .dst = d, .proto = p
#define SPEC(...) (&(const struct spec){ __VA_ARGS__ })

#define A4 "10.0.0.1"
#define B4 "10.0.0.2"
#define R4 "192.0.2.9"
#define A6 "fd00::1"
#define B6 "fd00::2"
#define R6 "2001:db8::9"

/* Big-endian stores and loads. */
void pkt_put16(uint8_t *p, uint16_t v);
void pkt_put32(uint8_t *p, uint32_t v);
uint16_t pkt_rd16(const uint8_t *p);
uint32_t pkt_rd32(const uint8_t *p);
/* RFC 1071 sum (folded, not complemented), independent of inet_csum_*. */
uint16_t pkt_sum(const uint8_t *p, size_t n, uint32_t acc);
/* A spec's address as struct inet_flow holds it (v4-mapped for IPv4). */
void pkt_addr(uint8_t family, const char *txt, struct in6_addr *out);
/* Builds the packet of s into out (BUF bytes); returns its length. */
size_t pkt_build(const struct spec *s, uint8_t *out);
/* inet_parse on an exact-size heap copy, so ASan sees any overread. */
bool pkt_parse_exact(const uint8_t *pkt, size_t len, struct inet_flow *f);

extern const struct spec pkt_s4_tcp, pkt_s4_udp, pkt_s4_echo, pkt_s4_unreach,
	pkt_s4_udp_big, pkt_s6_udp, pkt_s6_tcp_ext, pkt_s6_echo, pkt_s6_unreach,
	pkt_s6_udp_big, pkt_s6_long_chain;

/* The refusal tests (check_inet_reject.c), part of suite_inet. */
TCase *inet_reject_tcase(void);

#endif
