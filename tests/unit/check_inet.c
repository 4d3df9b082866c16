/*
 * tests/unit/check_inet.c - shim/inet.h parsing: IPv4 / IPv6 packets with
 * options, extension headers, fragments, ICMP errors and their quoted
 * flow; truncated and malformed variants; the checksum and address
 * helpers. The refusals are in check_inet_reject.c.
 *
 * Packets are built from table specs (inet_pkt.h); every parse runs on a
 * buffer of exactly the packet's length, so that ASan sees any read past it.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inet.h"
#include "inet_pkt.h"
#include "suites.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What inet_parse must say of it. */
struct want {
	bool ok, frag, df, err;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t type, code, flags;
	uint8_t rproto;
	uint16_t rsport, rdport;
};

struct parse_case {
	const char *name;
	const struct spec *s;
	struct want w;
};

#define W(p, sp, dp, ...) { .ok = true, .proto = p, .sport = sp, .dport = dp, \
	__VA_ARGS__ }
#define W_ERR(p, t, c, rp, rsp, rdp) { .ok = true, .proto = p, .type = t, \
	.code = c, .err = true, .rproto = rp, .rsport = rsp, .rdport = rdp }
#define REFUSED { .ok = false }
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP4 IPPROTO_ICMP
#define ICMP6 IPPROTO_ICMPV6

static const struct parse_case parse_cases[] = {
	{ "v4 tcp syn", &pkt_s4_tcp,
	  W(TCP, 40000, 80, .flags = F_SYN, .df = true) },
	{ "v4 tcp options",
	  SPEC(V4(A4, B4, TCP), .sport = 1, .dport = 2, .flags = F_ACK | F_PSH,
	       .tcp_opt = 12, .ip_opt = 8, .payload = 50),
	  W(TCP, 1, 2, .flags = F_ACK | F_PSH) },
	{ "v4 tcp first fragment",
	  SPEC(V4(A4, B4, TCP), .sport = 5, .dport = 6, .frag = 0x2000),
	  W(TCP, 5, 6) },
	{ "v4 udp", &pkt_s4_udp, W(UDP, 5353, 53) },
	{ "v4 udplite",
	  SPEC(V4(A4, B4, IPPROTO_UDPLITE), .sport = 7, .dport = 8, .payload = 3),
	  W(IPPROTO_UDPLITE, 7, 8) },
	{ "v4 sctp",
	  SPEC(V4(A4, B4, IPPROTO_SCTP), .sport = 36412, .dport = 38412),
	  W(IPPROTO_SCTP, 36412, 38412) },
	{ "v4 echo request", &pkt_s4_echo, W(ICMP4, 0x1234, 0x1234, .type = 8) },
	{ "v4 echo reply", SPEC(V4(B4, A4, ICMP4), .type = 0, .id = 7),
	  W(ICMP4, 7, 7, .type = 0) },
	{ "v4 timestamp: no identifier",
	  SPEC(V4(A4, B4, ICMP4), .type = 13, .id = 7, .payload = 12),
	  W(ICMP4, 0, 0, .type = 13) },
	{ "v4 redirect: no flow error",
	  SPEC(V4(R4, A4, ICMP4), .type = 5, .inner = &pkt_s4_udp),
	  W(ICMP4, 0, 0, .type = 5) },
	{ "v4 unreach about udp", &pkt_s4_unreach,
	  W_ERR(ICMP4, 3, 3, UDP, 5353, 53) },
	{ "v4 time exceeded, 8 bytes quoted",
	  SPEC(V4(R4, A4, ICMP4), .type = 11, .inner = &pkt_s4_tcp, .quote = 28),
	  W_ERR(ICMP4, 11, 0, TCP, 40000, 80) },
	{ "v4 param problem about echo",
	  SPEC(V4(R4, A4, ICMP4), .type = 12, .inner = &pkt_s4_echo),
	  W_ERR(ICMP4, 12, 0, ICMP4, 0x1234, 0x1234) },
	{ "v4 source quench",
	  SPEC(V4(R4, A4, ICMP4), .type = 4, .inner = &pkt_s4_udp),
	  W_ERR(ICMP4, 4, 0, UDP, 5353, 53) },
	{ "v4 error quoting the IP header only",
	  SPEC(V4(R4, A4, ICMP4), .type = 3, .inner = &pkt_s4_udp, .quote = 20),
	  W_ERR(ICMP4, 3, 0, UDP, 0, 0) },
	{ "v4 error quoting options + 4 bytes",
	  SPEC(V4(R4, A4, ICMP4), .type = 3, .quote = 36,
	       .inner = SPEC(V4(A4, B4, UDP), .sport = 3, .dport = 4, .ip_opt = 12)),
	  W_ERR(ICMP4, 3, 0, UDP, 3, 4) },
	{ "v4 error quoting a later fragment",
	  SPEC(V4(R4, A4, ICMP4), .type = 11,
	       .inner = SPEC(V4(A4, B4, UDP), .sport = 3, .dport = 4, .frag = 100)),
	  W_ERR(ICMP4, 11, 0, UDP, 0, 0) },
	{ "v4 later fragment",
	  SPEC(V4(A4, B4, UDP), .sport = 3, .dport = 4, .frag = 185, .payload = 40),
	  W(UDP, 0, 0, .frag = true) },
	{ "v4 first fragment",
	  SPEC(V4(A4, B4, UDP), .sport = 3, .dport = 4, .frag = 0x2000,
	       .payload = 40),
	  W(UDP, 3, 4) },
	{ "v4 gre", SPEC(V4(A4, B4, 47), .payload = 24), W(47, 0, 0) },
	{ "v4 carrying icmpv6 is other", SPEC(V4(A4, B4, ICMP6), .payload = 8),
	  W(ICMP6, 0, 0) },
	{ "v6 tcp", SPEC(V6(A6, B6, TCP), .sport = 1, .dport = 22, .flags = F_SYN),
	  W(TCP, 1, 22, .flags = F_SYN) },
	{ "v6 tcp behind hop/routing/dstopts", &pkt_s6_tcp_ext,
	  W(TCP, 41000, 443, .flags = F_ACK | F_PSH) },
	{ "v6 long extension headers", &pkt_s6_long_chain, W(UDP, 9, 10) },
	{ "v6 udp first fragment",
	  SPEC(V6(A6, B6, UDP), .sport = 5, .dport = 6, .ext = { P_FRAG },
	       .n_ext = 1, .frag = 1, .payload = 10),
	  W(UDP, 5, 6) },
	{ "v6 atomic fragment",
	  SPEC(V6(A6, B6, UDP), .sport = 5, .dport = 6, .ext = { P_HOP, P_FRAG },
	       .n_ext = 2),
	  W(UDP, 5, 6) },
	{ "v6 later fragment",
	  SPEC(V6(A6, B6, UDP), .sport = 5, .dport = 6, .ext = { P_FRAG },
	       .n_ext = 1, .frag = 100 << 3, .payload = 10),
	  W(UDP, 0, 0, .frag = true) },
	{ "v6 echo request", &pkt_s6_echo, W(ICMP6, 0x4321, 0x4321, .type = 128) },
	{ "v6 echo reply", SPEC(V6(B6, A6, ICMP6), .type = 129, .id = 9),
	  W(ICMP6, 9, 9, .type = 129) },
	{ "v6 unreach about udp behind dstopts", &pkt_s6_unreach,
	  W_ERR(ICMP6, 1, 4, UDP, 5000, 6000) },
	{ "v6 too big about tcp",
	  SPEC(V6(R6, A6, ICMP6), .type = 2, .inner = &pkt_s6_tcp_ext),
	  W_ERR(ICMP6, 2, 0, TCP, 41000, 443) },
	{ "v6 time exceeded about echo",
	  SPEC(V6(R6, A6, ICMP6), .type = 3, .inner = &pkt_s6_echo),
	  W_ERR(ICMP6, 3, 0, ICMP6, 0x4321, 0x4321) },
	{ "v6 param problem",
	  SPEC(V6(R6, A6, ICMP6), .type = 4, .code = 1, .inner = &pkt_s6_udp),
	  W_ERR(ICMP6, 4, 1, UDP, 5000, 6000) },
	{ "v6 error quote cut inside the chain",
	  SPEC(V6(R6, A6, ICMP6), .type = 1, .inner = &pkt_s6_long_chain,
	       .quote = 300),
	  W_ERR(ICMP6, 1, 0, P_DST, 0, 0) },
	{ "v6 neighbour solicitation",
	  SPEC(V6(A6, "ff02::1:ff00:2", ICMP6), .type = 135, .payload = 16),
	  W(ICMP6, 0, 0, .type = 135) },
	{ "v6 no next header", SPEC(V6(A6, B6, IPPROTO_NONE)),
	  W(IPPROTO_NONE, 0, 0) },
	{ "v6 eight extension headers",
	  SPEC(V6(A6, B6, UDP), .sport = 1, .dport = 2, .n_ext = 8,
	       .ext = { P_HOP, P_DST, P_RT, P_DST, P_RT, P_FRAG, P_DST, P_DST }),
	  W(UDP, 1, 2) },
	/* Built well, refused by rule. */
	{ "v6 nine extension headers",
	  SPEC(V6(A6, B6, UDP), .sport = 1, .dport = 2, .n_ext = 9,
	       .ext = { P_HOP, P_DST, P_RT, P_DST, P_RT, P_FRAG, P_DST, P_DST,
			P_DST }),
	  REFUSED },
	{ "v6 hop-by-hop not first",
	  SPEC(V6(A6, B6, UDP), .ext = { P_DST, P_HOP }, .n_ext = 2), REFUSED },
	{ "v6 two fragment headers",
	  SPEC(V6(A6, B6, UDP), .ext = { P_FRAG, P_FRAG }, .n_ext = 2), REFUSED },
	{ "v6 v4-mapped source", SPEC(V6("::ffff:10.0.0.1", B6, UDP)), REFUSED },
	{ "v6 v4-mapped destination", SPEC(V6(A6, "::ffff:10.0.0.2", UDP)),
	  REFUSED },
	{ "v6 error quoting v4",
	  SPEC(V6(R6, A6, ICMP6), .type = 1, .inner = &pkt_s4_udp), REFUSED },
	{ "v4 error quoting v6",
	  SPEC(V4(R4, A4, ICMP4), .type = 3, .inner = &pkt_s6_udp), REFUSED },
	{ "v4 error quoting 19 bytes",
	  SPEC(V4(R4, A4, ICMP4), .type = 3, .inner = &pkt_s4_udp, .quote = 19),
	  REFUSED },
	{ "v6 error quoting 39 bytes",
	  SPEC(V6(R6, A6, ICMP6), .type = 1, .inner = &pkt_s6_udp, .quote = 39),
	  REFUSED },
};

/* Checks every field of f against the spec and the expectation. */
static void check_flow(const struct parse_case *c, const struct inet_flow *f,
		       size_t len)
{
	struct in6_addr a;

	ck_assert_uint_eq(f->family, c->s->family);
	pkt_addr(c->s->family, c->s->src, &a);
	ck_assert_mem_eq(&f->src, &a, 16);
	pkt_addr(c->s->family, c->s->dst, &a);
	ck_assert_mem_eq(&f->dst, &a, 16);
	ck_assert_uint_eq(f->proto, c->w.proto);
	ck_assert_uint_eq(f->sport, c->w.sport);
	ck_assert_uint_eq(f->dport, c->w.dport);
	ck_assert_uint_eq(f->tcp_flags, c->w.flags);
	ck_assert_uint_eq(f->icmp_type, c->w.type);
	ck_assert_uint_eq(f->icmp_code, c->w.code);
	ck_assert_int_eq(f->fragment, c->w.frag);
	ck_assert_int_eq(f->df, c->w.df || c->s->family == AF_INET6);
	ck_assert_int_eq(f->icmp_error, c->w.err);
	ck_assert_uint_eq(f->total_len, len);
	ck_assert_uint_eq(f->related.proto, c->w.rproto);
	ck_assert_uint_eq(f->related.sport, c->w.rsport);
	ck_assert_uint_eq(f->related.dport, c->w.rdport);
	if (c->w.err) {
		pkt_addr(c->s->family, c->s->inner->src, &a);
		ck_assert_mem_eq(&f->related.src, &a, 16);
		pkt_addr(c->s->family, c->s->inner->dst, &a);
		ck_assert_mem_eq(&f->related.dst, &a, 16);
	}
}

/* One table packet: its fields, trailing bytes ignored, every cut refused. */
START_TEST(test_parse_case)
{
	const struct parse_case *c = &parse_cases[_i];
	uint8_t pkt[BUF], big[BUF + 64];
	struct inet_flow f, g;
	size_t len = pkt_build(c->s, pkt), cut;

	memset(&f, 0xa5, sizeof(f));
	ck_assert_msg(pkt_parse_exact(pkt, len, &f) == c->w.ok, "%s", c->name);
	if (!c->w.ok) {
		/* A refusal leaves the output alone. */
		memset(&g, 0xa5, sizeof(g));
		ck_assert_mem_eq(&f, &g, sizeof(f));
		return;
	}
	check_flow(c, &f, len);

	/* Trailing bytes past the IP length change nothing. */
	memcpy(big, pkt, len);
	memset(big + len, 0xee, 64);
	ck_assert(pkt_parse_exact(big, len + 64, &g));
	ck_assert_mem_eq(&f, &g, sizeof(f));

	/* Every truncation is refused: the IP length no longer fits. */
	for (cut = 0; cut < len; cut++)
		ck_assert_msg(!pkt_parse_exact(pkt, cut, &g), "%s cut at %zu",
			      c->name, cut);
}
END_TEST

/*
 * The IP length field shrunk to every smaller value, on the full buffer:
 * each either parses, describing the same endpoints and the new length,
 * or is refused; no read goes past the buffer either way.
 */
START_TEST(test_parse_shrunk_length)
{
	const struct parse_case *c = &parse_cases[_i];
	uint8_t pkt[BUF];
	struct inet_flow f, g;
	size_t len = pkt_build(c->s, pkt), k, hdr;

	if (!c->w.ok)
		return;
	ck_assert(pkt_parse_exact(pkt, len, &f));
	hdr = c->s->family == AF_INET ? 0 : 40;
	for (k = hdr; k < len; k++) {
		uint8_t mut[BUF];

		memcpy(mut, pkt, len);
		pkt_put16(mut + (c->s->family == AF_INET ? 2 : 4),
			  (uint16_t)(k - hdr));
		if (!pkt_parse_exact(mut, len, &g))
			continue;
		ck_assert_uint_eq(g.total_len, k);
		ck_assert_mem_eq(&g.src, &f.src, 16);
		ck_assert_mem_eq(&g.dst, &f.dst, 16);
		ck_assert_uint_eq(g.family, f.family);
	}
}
END_TEST

/* Every byte of every good packet set to a few values: no crash, no overread. */
START_TEST(test_parse_byte_flips)
{
	static const uint8_t vals[] = { 0x00, 0xff, 0x45, 0x60, 0x2c, 0x3b, 0x80 };
	const struct parse_case *c = &parse_cases[_i];
	uint8_t pkt[BUF], mut[BUF];
	struct inet_flow f;
	size_t len = pkt_build(c->s, pkt), i, v;

	for (i = 0; i < len && i < 160; i++)
		for (v = 0; v < N_ELEM(vals); v++) {
			memcpy(mut, pkt, len);
			mut[i] = vals[v];
			if (pkt_parse_exact(mut, len, &f))
				ck_assert_uint_le(f.total_len, len);
		}
}
END_TEST

/* ---- malformed variants of good packets ---------------------------------- */

struct mutation {
	const char *name;
	const struct spec *base;
	size_t off;
	bool wide;			/* write val as 16 bits */
	uint16_t val;
	bool ok;
};

static const struct mutation mutations[] = {
	{ "version 5", &pkt_s4_tcp, 0, false, 0x55, false },
	{ "version 0", &pkt_s4_tcp, 0, false, 0x05, false },
	{ "ihl 4", &pkt_s4_tcp, 0, false, 0x44, false },
	{ "ihl 15 beyond length", &pkt_s4_tcp, 0, false, 0x4f, false },
	{ "total length + 1", &pkt_s4_tcp, 2, true, 41, false },
	{ "total length below header", &pkt_s4_tcp, 2, true, 19, false },
	{ "total length cuts tcp", &pkt_s4_tcp, 2, true, 39, false },
	{ "total length exact", &pkt_s4_tcp, 2, true, 40, true },
	{ "tcp data offset 4", &pkt_s4_tcp, 32, false, 0x40, false },
	{ "tcp data offset 6 beyond", &pkt_s4_tcp, 32, false, 0x60, false },
	{ "fragment past 65535", &pkt_s4_tcp, 6, true, 0x1fff, false },
	{ "udp length 7", &pkt_s4_udp, 24, true, 7, false },
	{ "udp length beyond", &pkt_s4_udp, 24, true, 39, false },
	{ "udp length exact", &pkt_s4_udp, 24, true, 38, true },
	{ "udp length header only", &pkt_s4_udp, 24, true, 8, true },
	{ "first fragment (MF)", &pkt_s4_udp, 6, true, 0x2000, true },
	{ "inner version 6", &pkt_s4_unreach, 28, false, 0x65, false },
	{ "inner ihl 3", &pkt_s4_unreach, 28, false, 0x43, false },
	{ "inner ihl 15 beyond quote", &pkt_s4_unreach, 28, false, 0x4f, false },
	{ "inner length below its header", &pkt_s4_unreach, 30, true, 10, false },
	{ "inner length past the quote", &pkt_s4_unreach, 30, true, 9000, true },
	{ "icmp cut to 7 bytes", &pkt_s4_unreach, 2, true, 27, false },
	{ "v6 payload length + 1", &pkt_s6_tcp_ext, 4, true, 145, false },
	{ "v6 jumbo (length 0)", &pkt_s6_tcp_ext, 4, true, 0, false },
	{ "v6 first ext header too long", &pkt_s6_tcp_ext, 41, false, 0xff, false },
	{ "v6 tcp data offset 2", &pkt_s6_tcp_ext, 64 + 12, false, 0x20, false },
	{ "v6 version 7", &pkt_s6_tcp_ext, 0, false, 0x70, false },
	{ "v6 inner cut in the chain", &pkt_s6_unreach, 48 + 41, false, 0xff, true },
	{ "v6 inner hop-by-hop second", &pkt_s6_unreach, 88, false, P_HOP, false },
	{ "v6 inner version 4", &pkt_s6_unreach, 48, false, 0x45, false },
	{ "v6 echo cut to 7 bytes", &pkt_s6_echo, 4, true, 7, false },
};

/* One byte or length field of a good packet changed: parses or not, as listed. */
START_TEST(test_mutation)
{
	const struct mutation *m = &mutations[_i];
	uint8_t pkt[BUF];
	struct inet_flow f;
	size_t len = pkt_build(m->base, pkt);

	ck_assert(pkt_parse_exact(pkt, len, &f));
	ck_assert_uint_lt(m->off + 1, len);
	if (m->wide)
		pkt_put16(pkt + m->off, m->val);
	else
		pkt[m->off] = (uint8_t)m->val;
	ck_assert_msg(pkt_parse_exact(pkt, len, &f) == m->ok, "%s", m->name);
}
END_TEST

/* Too short for any header, and no packet at all. */
START_TEST(test_parse_short)
{
	static const uint8_t one[1] = { 0x45 };
	struct inet_flow f;

	ck_assert(!inet_parse(NULL, 20, &f));
	ck_assert(!pkt_parse_exact(one, 0, &f));
	ck_assert(!pkt_parse_exact(one, 1, &f));
	ck_assert(!inet_parse(one, 1, NULL));
}
END_TEST

/* ---- helpers --------------------------------------------------------------- */

/* RFC 1071's example, odd lengths, chaining, and a verified header. */
START_TEST(test_csum)
{
	static const uint8_t rfc[] = {
		0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7,
	};
	static const uint8_t odd[] = { 0x12, 0x34, 0x56 };
	uint8_t pkt[BUF], big[70000];
	size_t i;
	uint32_t s;

	pkt_build(&pkt_s4_tcp, pkt);
	/* RFC 1071's example: the sum 0x2ddf0 folds to 0xddf2. */
	s = inet_csum_add(0, rfc, sizeof(rfc));
	ck_assert_uint_eq(inet_csum_fold(s), (uint16_t)~0xddf2);
	ck_assert_uint_eq(inet_csum_fold(s), 0x220d);
	s = inet_csum_add(inet_csum_add(0, rfc, 4), rfc + 4, 4);
	ck_assert_uint_eq(inet_csum_fold(s), 0x220d);
	ck_assert_uint_eq(inet_csum_fold(inet_csum_add(0, odd, 3)),
			  (uint16_t)~(0x1234 + 0x5600));
	ck_assert_uint_eq(inet_csum_fold(inet_csum_add(0, pkt, 20)), 0);
	ck_assert_uint_eq(inet_csum_fold(0), 0xffff);
	for (i = 0; i < sizeof(big); i++)
		big[i] = 0xff;
	s = inet_csum_add(0xffffffffu, big, sizeof(big));
	ck_assert_uint_eq(inet_csum_fold(s),
			  (uint16_t)~pkt_sum(big, sizeof(big), 0xffff));
}
END_TEST

/* The unrolled sum against a word-at-a-time one: random bytes, every length and offset. */
START_TEST(test_csum_random)
{
	uint8_t buf[2100];
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t off = 0; off < 4; off++) {
		for (size_t len = 0; len + off <= 2048; len += 1 + len / 64) {
			uint64_t ref = 0x1234;

			for (size_t i = 0; i < len; i += 2)
				ref += (uint32_t)buf[off + i] << 8 |
				       (i + 1 < len ? buf[off + i + 1] : 0);
			while (ref >> 16)
				ref = (ref & 0xffff) + (ref >> 16);
			ck_assert_uint_eq(inet_csum_fold(inet_csum_add(0x1234, buf + off, len)),
					  (uint16_t)~ref);
		}
	}
}
END_TEST

/* v4-mapped conversion and the text forms, including too small buffers. */
START_TEST(test_addr_helpers)
{
	struct in6_addr a;
	struct in_addr v4;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &v4), 1);
	inet_addr_from4(&a, &v4);
	ck_assert(inet_addr_is4(&a));
	ck_assert_str_eq(inet_addr_str(&a, buf, sizeof(buf)), "192.0.2.1");
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &a), 1);
	ck_assert(!inet_addr_is4(&a));
	ck_assert_str_eq(inet_addr_str(&a, buf, sizeof(buf)), "2001:db8::1");
	ck_assert_str_eq(inet_addr_str(&a, buf, 4), "?");
	ck_assert_str_eq(inet_addr_str(&a, buf, 0), "");
}
END_TEST

Suite *suite_inet(void)
{
	Suite *s = suite_create("inet");
	TCase *tc = tcase_create("inet");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_parse_case, 0, N_ELEM(parse_cases));
	tcase_add_loop_test(tc, test_parse_shrunk_length, 0, N_ELEM(parse_cases));
	tcase_add_loop_test(tc, test_parse_byte_flips, 0, N_ELEM(parse_cases));
	tcase_add_loop_test(tc, test_mutation, 0, N_ELEM(mutations));
	tcase_add_test(tc, test_parse_short);
	tcase_add_test(tc, test_csum);
	tcase_add_test(tc, test_csum_random);
	tcase_add_test(tc, test_addr_helpers);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, inet_reject_tcase());
	return s;
}

