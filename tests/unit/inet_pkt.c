/*
 * tests/unit/inet_pkt.c - test packets from specs (inet_pkt.h): IPv4 with
 * options, IPv6 with extension headers, TCP / UDP / UDP-Lite / SCTP /
 * ICMP / ICMPv6, ICMP errors quoting another spec, fragments.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "inet_pkt.h"

/* Network byte order, byte by byte, like the code under test reads it. */
void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, (uint16_t)(v >> 16));
	pkt_put16(p + 2, (uint16_t)v);
}

uint16_t pkt_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t pkt_rd32(const uint8_t *p)
{
	return (uint32_t)pkt_rd16(p) << 16 | pkt_rd16(p + 2);
}

/* Independent of inet_csum_*: the plain RFC 1071 loop. */
uint16_t pkt_sum(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The address of a spec in v4-mapped form, as inet_flow holds it. */
void pkt_addr(uint8_t family, const char *txt, struct in6_addr *out)
{
	struct in_addr a4;

	if (family == AF_INET) {
		ck_assert_int_eq(inet_pton(AF_INET, txt, &a4), 1);
		inet_addr_from4(out, &a4);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, txt, out), 1);
	}
}

/* Raw address bytes, 4 or 16. */
static size_t raw_addr(uint8_t family, const char *txt, uint8_t *out)
{
	if (family == AF_INET) {
		ck_assert_int_eq(inet_pton(AF_INET, txt, out), 1);
		return 4;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, txt, out), 1);
	return 16;
}

/* ICMP of the spec's own family gets an ICMP header. */
static bool t_is_icmp(const struct spec *s)
{
	return (s->family == AF_INET && s->proto == IPPROTO_ICMP) ||
	       (s->family == AF_INET6 && s->proto == IPPROTO_ICMPV6);
}


/* The transport header and payload of s. */
static size_t build_l4(const struct spec *s, uint8_t *p)
{
	uint8_t inner[BUF];
	size_t n = 0, i, ilen;

	switch (s->proto) {
	case IPPROTO_TCP:
		n = 20 + s->tcp_opt;
		memset(p, 0, n);
		pkt_put16(p, s->sport);
		pkt_put16(p + 2, s->dport);
		pkt_put32(p + 4, s->seq);
		pkt_put32(p + 8, s->ack);
		p[12] = (uint8_t)((n / 4) << 4);
		p[13] = s->flags;
		pkt_put16(p + 14, 65535);
		for (i = 20; i < n; i++)
			p[i] = 1;	/* NOP options */
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		n = 8;
		memset(p, 0, n);
		pkt_put16(p, s->sport);
		pkt_put16(p + 2, s->dport);
		pkt_put16(p + 4, s->proto == IPPROTO_UDP ? (uint16_t)(8 + s->payload) : 0);
		break;
	case IPPROTO_SCTP:
		n = 12;
		memset(p, 0, n);
		pkt_put16(p, s->sport);
		pkt_put16(p + 2, s->dport);
		break;
	default:
		if (!t_is_icmp(s))
			break;
		n = 8;
		memset(p, 0, n);
		p[0] = s->type;
		p[1] = s->code;
		pkt_put16(p + 4, s->id);
		if (s->inner) {
			ilen = pkt_build(s->inner, inner);
			if (s->quote && s->quote < ilen)
				ilen = s->quote;
			memcpy(p + n, inner, ilen);
			n += ilen;
		}
		break;
	}
	for (i = 0; i < s->payload; i++)
		p[n + i] = (uint8_t)(i * 7 + 3);
	return n + s->payload;
}

/* The whole packet, IPv4 header checksum and all. */
size_t pkt_build(const struct spec *s, uint8_t *out)
{
	uint8_t l4[BUF];
	size_t l4len = build_l4(s, l4), hl, off, i, el;
	uint8_t nh;

	if (s->family == AF_INET) {
		hl = 20 + s->ip_opt;
		memset(out, 0, hl);
		out[0] = (uint8_t)(0x40 | hl / 4);
		pkt_put16(out + 2, (uint16_t)(hl + l4len));
		pkt_put16(out + 4, 0x1234);
		pkt_put16(out + 6, s->frag);
		out[8] = 64;
		out[9] = s->proto;
		raw_addr(AF_INET, s->src, out + 12);
		raw_addr(AF_INET, s->dst, out + 16);
		for (i = 20; i < hl; i++)
			out[i] = 1;	/* NOP options */
		pkt_put16(out + 10, (uint16_t)~pkt_sum(out, hl, 0));
		memcpy(out + hl, l4, l4len);
		return hl + l4len;
	}
	memset(out, 0, 40);
	out[0] = 0x60;
	out[6] = s->n_ext ? s->ext[0] : s->proto;
	out[7] = 64;
	raw_addr(AF_INET6, s->src, out + 8);
	raw_addr(AF_INET6, s->dst, out + 24);
	off = 40;
	for (i = 0; i < s->n_ext; i++) {
		nh = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;
		if (s->ext[i] == P_FRAG) {
			memset(out + off, 0, 8);
			out[off] = nh;
			pkt_put16(out + off + 2, s->frag);
			pkt_put32(out + off + 4, 0xabcdef01);
			off += 8;
			continue;
		}
		el = ((size_t)s->ext_units + 1) * 8;
		memset(out + off, 0, el);
		out[off] = nh;
		out[off + 1] = s->ext_units;
		if (el - 4 <= 255) {	/* PadN over the rest, else Pad1s */
			out[off + 2] = 1;
			out[off + 3] = (uint8_t)(el - 4);
		}
		off += el;
	}
	memcpy(out + off, l4, l4len);
	pkt_put16(out + 4, (uint16_t)(off - 40 + l4len));
	return off + l4len;
}

/* inet_parse on an exact-size heap copy, so overreads are caught. */
bool pkt_parse_exact(const uint8_t *pkt, size_t len, struct inet_flow *f)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, pkt, len);
	ok = inet_parse(copy, len, f);
	free(copy);
	return ok;
}


/* The packets both inet test files use. */
const struct spec pkt_s4_tcp = {
	V4(A4, B4, IPPROTO_TCP), .sport = 40000, .dport = 80,
	.flags = F_SYN, .seq = 1000, .frag = 0x4000,
};
const struct spec pkt_s4_udp = {
	V4(A4, B4, IPPROTO_UDP), .sport = 5353, .dport = 53, .payload = 30,
};
const struct spec pkt_s4_echo = {
	V4(A4, B4, IPPROTO_ICMP), .type = 8, .id = 0x1234, .payload = 16,
};
const struct spec pkt_s4_unreach = {
	V4(R4, A4, IPPROTO_ICMP), .type = 3, .code = 3, .inner = &pkt_s4_udp,
};
const struct spec pkt_s6_udp = {
	V6(A6, B6, IPPROTO_UDP), .sport = 5000, .dport = 6000, .payload = 20,
	.ext = { P_DST }, .n_ext = 1,
};
const struct spec pkt_s6_tcp_ext = {
	V6(A6, B6, IPPROTO_TCP), .sport = 41000, .dport = 443,
	.flags = F_ACK | F_PSH, .seq = 77, .ack = 5000, .payload = 100,
	.ext = { P_HOP, P_RT, P_DST }, .n_ext = 3,
};
const struct spec pkt_s6_echo = {
	V6(A6, B6, IPPROTO_ICMPV6), .type = 128, .id = 0x4321, .payload = 8,
};
const struct spec pkt_s6_unreach = {
	V6(R6, A6, IPPROTO_ICMPV6), .type = 1, .code = 4, .inner = &pkt_s6_udp,
};
const struct spec pkt_s4_udp_big = {
	V4(A4, B4, IPPROTO_UDP), .sport = 1, .dport = 2, .payload = 1400,
	.frag = 0x4000,
};
const struct spec pkt_s6_udp_big = {
	V6(A6, B6, IPPROTO_UDP), .sport = 1, .dport = 2, .payload = 1400,
};
const struct spec pkt_s6_long_chain = {
	V6(A6, B6, IPPROTO_UDP), .sport = 9, .dport = 10,
	.ext = { P_HOP, P_DST, P_RT }, .n_ext = 3, .ext_units = 20,
};
