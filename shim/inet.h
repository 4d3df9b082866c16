/*
 * shim/inet.h - what the shim needs to know of inner IP packets: their
 * flow (addresses, protocol, ports), and the packets it writes back to a
 * local application: TCP RST, ICMP / ICMPv6 administratively prohibited,
 * ICMP fragmentation needed / ICMPv6 packet too big.
 */
#ifndef CAPTUN_SHIM_INET_H
#define CAPTUN_SHIM_INET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inet_limit {
	INET_REJECT_MAX = 1280,		/* longest packet inet_* build */
};

/*
 * A packet's flow. IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d)
 * so both families share one layout. For TCP/UDP/SCTP ports are the
 * ports; for ICMP echo both hold the identifier; otherwise zero.
 */
struct inet_flow {
	struct in6_addr src, dst;
	uint16_t sport, dport;		/* host order */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* IPPROTO_*, after IPv6 extension headers */
	uint8_t tcp_flags;		/* TCP only */
	uint32_t tcp_seq, tcp_ack;	/* TCP only, host order */
	uint16_t tcp_len;		/* TCP payload bytes in this packet */
	uint8_t icmp_type, icmp_code;	/* ICMP / ICMPv6 only */
	bool fragment;			/* a non-first fragment: no ports */
	bool df;			/* IPv4 don't-fragment; always true for IPv6 */
	bool icmp_error;		/* ICMP error: 'related' holds its flow */
	uint16_t total_len;		/* from the IP header */
	struct {			/* the flow an ICMP error speaks of */
		struct in6_addr src, dst;
		uint16_t sport, dport;
		uint8_t proto;
	} related;
};

/*
 * Parses an IPv4 or IPv6 packet: header lengths and the total length
 * against len, version, IPv6 extension-header chain (bounded). False for
 * anything malformed.
 *
 * Details: bytes past the IP length are ignored. The transport header of
 * a first fragment must be whole. IPv6: at most 8 extension headers,
 * hop-by-hop only first, one fragment header; jumbograms and v4-mapped
 * addresses refused (they would pass for IPv4 here). ICMP errors: the
 * quoted packet must hold its whole IP header, of the same family;
 * past that, what the quote lacks (ports, the end of an extension chain)
 * stays zero, and related.proto is the last header reached. On false,
 * out is left untouched.
 */
bool inet_parse(const uint8_t *pkt, size_t len, struct inet_flow *out);

/* IPv4 or v4-mapped helpers. */
void inet_addr_from4(struct in6_addr *out, const struct in_addr *a);
bool inet_addr_is4(const struct in6_addr *a);
/* Formats "a.b.c.d" or the IPv6 text; buf needs INET6_ADDRSTRLEN. */
const char *inet_addr_str(const struct in6_addr *a, char *buf, size_t cap);

/*
 * Builds the refusal of pkt for the local sender into out (INET_REJECT_MAX
 * bytes): a TCP RST (with ACK, as for a refused SYN) for TCP, else ICMP
 * destination unreachable code 13 / ICMPv6 type 1 code 1 quoting pkt.
 * No answer (returns 0) to ICMP errors, non-first fragments or broadcast.
 * Returns the length, checksums filled in.
 *
 * Details: pkt is parsed again (f must be what inet_parse said of it, or
 * 0 is returned). The RST follows RFC 793: for a segment with ACK, seq =
 * its ack and no ACK flag; otherwise RST|ACK, seq 0, ack = seq + payload
 * + SYN + FIN. No RST for a RST, nor for a TCP first fragment (its length
 * is unknown). Also no answer when either address is not unicast
 * (multicast, broadcast, class E, 0.0.0.0/8, ::). Answers come from the
 * original destination, TTL / hop limit 64; ICMP quotes as much of pkt
 * as fits in 576 (IPv4) / 1280 (IPv6) bytes in all.
 */
size_t inet_reject(const uint8_t *pkt, size_t len, const struct inet_flow *f,
		   uint8_t *out);

/*
 * A TCP segment src:sport -> dst:dport with seq, ack and flags (RST, or
 * RST|ACK) and no payload, checksums filled in, into out (INET_REJECT_MAX
 * bytes); src and dst as struct inet_flow holds them. Its length.
 */
size_t inet_rst(uint8_t family, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst, uint16_t dport, uint32_t seq, uint32_t ack,
		uint8_t flags, uint8_t *out);

/*
 * ICMP frag-needed (IPv4 with DF) / ICMPv6 packet too big, with mtu.
 * Same rules and quoting as inet_reject (for any protocol, TCP too); 0
 * for IPv4 without DF, mtu below 68 (IPv4) or 1280 (IPv6); an IPv4 mtu
 * above 65535 is sent as 65535.
 */
size_t inet_too_big(const uint8_t *pkt, size_t len, const struct inet_flow *f,
		    unsigned mtu, uint8_t *out);

/*
 * Splits pkt, an IPv4 packet without DF and without options longer than
 * mtu, into fragments of at most mtu bytes (fragment.c), built one at a
 * time in scratch (mtu bytes) and handed to emit. Returns the number of
 * fragments, -EINVAL for a packet it does not split (IPv6, DF set,
 * options, not longer than mtu, mtu below 28), or what emit returned.
 */
int inet_fragment4(const uint8_t *pkt, size_t len, unsigned mtu, uint8_t *scratch,
		   int (*emit)(void *arg, const uint8_t *frag, size_t len), void *arg);

/*
 * Internet checksum helpers, exported for the offload code. inet_csum_add
 * sums 16-bit big-endian words (an odd last byte padded with zero; chain
 * calls with even-length pieces); inet_csum_fold folds the carries and
 * returns the one's complement, in host order: store it big-endian. Over
 * data that carries a correct checksum, fold gives 0.
 */
uint32_t inet_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t inet_csum_fold(uint32_t sum);

#endif
