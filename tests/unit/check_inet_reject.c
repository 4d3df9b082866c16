/*
 * tests/unit/check_inet_reject.c - shim/inet.h refusals: inet_reject (TCP
 * RST sequence numbers, ICMP / ICMPv6 unreachable and what they quote)
 * and inet_too_big, each parsed back with inet_parse, addresses checked
 * swapped and checksums verified independently; and the packets that
 * must get no answer at all.
 */
#include <stdbool.h>
#include <string.h>

#include "inet.h"
#include "inet_pkt.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

enum answer { ANS_NONE, ANS_RST, ANS_ICMP };

struct reject_case {
	const char *name;
	const struct spec *s;
	enum answer ans;
	uint8_t flags;			/* RST */
	uint32_t seq, ack;
	uint8_t type, code;		/* ICMP */
	uint8_t cut_proto;		/* quote ends before the ports: last header */
};

#define RST(fl, sq, ak) .ans = ANS_RST, .flags = fl, .seq = sq, .ack = ak
#define UNREACH(t, c) .ans = ANS_ICMP, .type = t, .code = c
#define NONE .ans = ANS_NONE
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static const struct reject_case reject_cases[] = {
	{ "v4 syn", &pkt_s4_tcp, RST(F_RST | F_ACK, 0, 1001) },
	{ "v4 syn with data",
	  SPEC(V4(A4, B4, TCP), .sport = 1, .dport = 2, .flags = F_SYN,
	       .seq = 50, .payload = 10),
	  RST(F_RST | F_ACK, 0, 61) },
	{ "v4 syn at the wrap",
	  SPEC(V4(A4, B4, TCP), .sport = 1, .dport = 2, .flags = F_SYN,
	       .seq = 0xffffffff),
	  RST(F_RST | F_ACK, 0, 0) },
	{ "v4 fin without ack",
	  SPEC(V4(A4, B4, TCP), .sport = 1, .dport = 2, .flags = F_FIN,
	       .seq = 10, .payload = 5, .tcp_opt = 8),
	  RST(F_RST | F_ACK, 0, 16) },
	{ "v4 ack with data",
	  SPEC(V4(A4, B4, TCP), .sport = 1, .dport = 2, .flags = F_ACK | F_PSH,
	       .seq = 10, .ack = 5000, .payload = 100),
	  RST(F_RST, 5000, 0) },
	{ "v4 rst", SPEC(V4(A4, B4, TCP), .flags = F_RST | F_ACK), NONE },
	{ "v4 tcp first fragment",
	  SPEC(V4(A4, B4, TCP), .flags = F_SYN, .frag = 0x2000), NONE },
	{ "v6 syn",
	  SPEC(V6(A6, B6, TCP), .sport = 3, .dport = 4, .flags = F_SYN, .seq = 7),
	  RST(F_RST | F_ACK, 0, 8) },
	{ "v6 ack behind extensions", &pkt_s6_tcp_ext, RST(F_RST, 5000, 0) },
	{ "v4 udp", &pkt_s4_udp, UNREACH(3, 13) },
	{ "v4 udp big", &pkt_s4_udp_big, UNREACH(3, 13) },
	{ "v4 udp with options", SPEC(V4(A4, B4, UDP), .ip_opt = 40),
	  UNREACH(3, 13) },
	{ "v4 echo", &pkt_s4_echo, UNREACH(3, 13) },
	{ "v4 gre", SPEC(V4(A4, B4, 47), .payload = 4), UNREACH(3, 13) },
	{ "v4 udp first fragment",
	  SPEC(V4(A4, B4, UDP), .frag = 0x2000, .payload = 8), UNREACH(3, 13) },
	{ "v4 icmp error", &pkt_s4_unreach, NONE },
	{ "v4 redirect",
	  SPEC(V4(R4, A4, IPPROTO_ICMP), .type = 5, .inner = &pkt_s4_udp), NONE },
	{ "v4 later fragment", SPEC(V4(A4, B4, UDP), .frag = 20), NONE },
	{ "v4 multicast", SPEC(V4(A4, "224.0.0.251", UDP)), NONE },
	{ "v4 broadcast", SPEC(V4(A4, "255.255.255.255", UDP)), NONE },
	{ "v4 from 0.0.0.0", SPEC(V4("0.0.0.0", B4, UDP)), NONE },
	{ "v6 udp", &pkt_s6_udp, UNREACH(1, 1) },
	{ "v6 udp big", &pkt_s6_udp_big, UNREACH(1, 1) },
	{ "v6 echo", &pkt_s6_echo, UNREACH(1, 1) },
	{ "v6 long chain", &pkt_s6_long_chain, UNREACH(1, 1) },
	{ "v6 chain longer than the quote",
	  SPEC(V6(A6, B6, UDP), .sport = 1, .dport = 2, .ext = { P_HOP, P_DST },
	       .n_ext = 2, .ext_units = 100),
	  UNREACH(1, 1), .cut_proto = P_DST },
	{ "v6 chain ending where the quote does",
	  SPEC(V6(A6, B6, UDP), .sport = 1, .dport = 2, .ext = { P_HOP },
	       .n_ext = 1, .ext_units = 148, .payload = 100),
	  UNREACH(1, 1), .cut_proto = UDP },
	{ "v6 icmp error", &pkt_s6_unreach, NONE },
	{ "v6 unassigned error type",
	  SPEC(V6(A6, B6, IPPROTO_ICMPV6), .type = 100), NONE },
	{ "v6 multicast", SPEC(V6(A6, "ff02::1", UDP)), NONE },
	{ "v6 from ::", SPEC(V6("::", B6, UDP)), NONE },
	{ "v6 later fragment",
	  SPEC(V6(A6, B6, UDP), .ext = { P_FRAG }, .n_ext = 1, .frag = 8 << 3),
	  NONE },
};

/* The IPv4 header checksum, or the transport one with its pseudo-header. */
static void check_sums(const uint8_t *out, size_t n, uint8_t family, uint8_t proto)
{
	uint8_t ph[40];
	size_t hl = family == AF_INET ? 20 : 40, alen = family == AF_INET ? 4 : 16;
	uint32_t pre = 0;

	if (family == AF_INET)
		ck_assert_uint_eq(pkt_sum(out, 20, 0), 0xffff);
	if (proto != IPPROTO_ICMP) {
		memset(ph, 0, sizeof(ph));
		memcpy(ph, out + (family == AF_INET ? 12 : 8), 2 * alen);
		pkt_put32(ph + 2 * alen, (uint32_t)(n - hl));
		ph[2 * alen + 7] = proto;
		pre = pkt_sum(ph, 2 * alen + 8, 0);
	}
	ck_assert_uint_eq(pkt_sum(out + hl, n - hl, pre), 0xffff);
}

/* An answer goes back: its endpoints are the original's, swapped. */
static void check_swapped(const struct inet_flow *o, const struct inet_flow *r,
			  const uint8_t *out)
{
	ck_assert_uint_eq(r->family, o->family);
	ck_assert_mem_eq(&r->src, &o->dst, 16);
	ck_assert_mem_eq(&r->dst, &o->src, 16);
	ck_assert_uint_eq(out[o->family == AF_INET ? 8 : 7], 64);
}

/*
 * An ICMP error about o: type, code, the quote and its parsed flow (all
 * of it, or up to cut_proto when the quote ends before the ports).
 */
static void check_icmp_answer(const uint8_t *pkt, size_t len,
			      const struct inet_flow *o, const uint8_t *out,
			      size_t n, const struct inet_flow *r, uint8_t type,
			      uint8_t code, uint8_t cut_proto)
{
	size_t hl = o->family == AF_INET ? 20 : 40;
	size_t limit = o->family == AF_INET ? 576 : 1280;
	size_t quote = len < limit - hl - 8 ? len : limit - hl - 8;

	ck_assert_uint_eq(r->proto,
			  o->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	ck_assert_uint_eq(r->icmp_type, type);
	ck_assert_uint_eq(r->icmp_code, code);
	ck_assert(r->icmp_error);
	ck_assert_uint_eq(n, hl + 8 + quote);
	ck_assert_mem_eq(out + hl + 8, pkt, quote);
	ck_assert_mem_eq(&r->related.src, &o->src, 16);
	ck_assert_mem_eq(&r->related.dst, &o->dst, 16);
	ck_assert_uint_eq(r->related.proto, cut_proto ? cut_proto : o->proto);
	ck_assert_uint_eq(r->related.sport, cut_proto ? 0 : o->sport);
	ck_assert_uint_eq(r->related.dport, cut_proto ? 0 : o->dport);
	check_sums(out, n, o->family, r->proto);
}

/* One refusal: no answer where the rules forbid one, else a valid one. */
START_TEST(test_reject_case)
{
	const struct reject_case c = reject_cases[_i];
	uint8_t pkt[BUF], out[INET_REJECT_MAX + 64];
	struct inet_flow o, r;
	size_t len = pkt_build(c.s, pkt), n;
	size_t hl = c.s->family == AF_INET ? 20 : 40;

	ck_assert_msg(pkt_parse_exact(pkt, len, &o), "%s", c.name);
	memset(out, 0xcc, sizeof(out));
	n = inet_reject(pkt, len, &o, out);
	ck_assert_uint_le(n, INET_REJECT_MAX);
	ck_assert_uint_eq(out[INET_REJECT_MAX], 0xcc);
	if (c.ans == ANS_NONE) {
		ck_assert_msg(n == 0, "%s answered", c.name);
		return;
	}
	ck_assert_msg(n > 0, "%s unanswered", c.name);
	ck_assert(pkt_parse_exact(out, n, &r));
	check_swapped(&o, &r, out);
	if (c.ans == ANS_ICMP) {
		check_icmp_answer(pkt, len, &o, out, n, &r, c.type, c.code,
				  c.cut_proto);
		ck_assert_uint_eq(pkt_rd32(out + hl + 4), 0);
		return;
	}
	ck_assert_uint_eq(n, hl + 20);
	ck_assert_uint_eq(r.proto, IPPROTO_TCP);
	ck_assert_uint_eq(r.sport, o.dport);
	ck_assert_uint_eq(r.dport, o.sport);
	ck_assert_uint_eq(r.tcp_flags, c.flags);
	ck_assert_uint_eq(pkt_rd32(out + hl + 4), c.seq);
	ck_assert_uint_eq(pkt_rd32(out + hl + 8), c.ack);
	check_sums(out, n, c.s->family, IPPROTO_TCP);
}
END_TEST

/* A flow that does not describe the packet gets no answer. */
START_TEST(test_reject_flow_mismatch)
{
	uint8_t pkt[BUF], out[INET_REJECT_MAX];
	struct inet_flow o;
	size_t len = pkt_build(&pkt_s4_udp, pkt);

	ck_assert(pkt_parse_exact(pkt, len, &o));
	o.proto = IPPROTO_TCP;
	ck_assert_uint_eq(inet_reject(pkt, len, &o, out), 0);
	ck_assert_uint_eq(inet_reject(pkt, len, NULL, out), 0);
	ck_assert_uint_eq(inet_reject(pkt, len - 1, &o, out), 0);
}
END_TEST

struct too_big_case {
	const char *name;
	const struct spec *s;
	unsigned mtu;
	bool answered;
	uint32_t field;			/* the MTU word as sent */
};

static const struct too_big_case too_big_cases[] = {
	{ "v4 df", &pkt_s4_udp_big, 1300, true, 1300 },
	{ "v4 df tcp gets icmp", &pkt_s4_tcp, 1280, true, 1280 },
	{ "v4 df mtu capped", &pkt_s4_udp_big, 70000, true, 65535 },
	{ "v4 df mtu 68", &pkt_s4_udp_big, 68, true, 68 },
	{ "v4 df mtu 67", &pkt_s4_udp_big, 67, false, 0 },
	{ "v4 without df", &pkt_s4_udp, 1300, false, 0 },
	{ "v4 icmp error", &pkt_s4_unreach, 1300, false, 0 },
	{ "v6", &pkt_s6_udp_big, 1280, true, 1280 },
	{ "v6 large mtu", &pkt_s6_udp_big, 9000, true, 9000 },
	{ "v6 below 1280", &pkt_s6_udp_big, 1279, false, 0 },
	{ "v6 icmp error", &pkt_s6_unreach, 1400, false, 0 },
};

/* Fragmentation needed / packet too big, with the MTU as sent. */
START_TEST(test_too_big_case)
{
	const struct too_big_case *c = &too_big_cases[_i];
	uint8_t pkt[BUF], out[INET_REJECT_MAX + 64];
	struct inet_flow o, r;
	size_t len = pkt_build(c->s, pkt), n;
	size_t hl = c->s->family == AF_INET ? 20 : 40;

	ck_assert(pkt_parse_exact(pkt, len, &o));
	memset(out, 0xcc, sizeof(out));
	n = inet_too_big(pkt, len, &o, c->mtu, out);
	ck_assert_uint_le(n, INET_REJECT_MAX);
	ck_assert_uint_eq(out[INET_REJECT_MAX], 0xcc);
	if (!c->answered) {
		ck_assert_msg(n == 0, "%s answered", c->name);
		return;
	}
	ck_assert(pkt_parse_exact(out, n, &r));
	check_swapped(&o, &r, out);
	if (o.family == AF_INET)
		check_icmp_answer(pkt, len, &o, out, n, &r, 3, 4, 0);
	else
		check_icmp_answer(pkt, len, &o, out, n, &r, 2, 0, 0);
	ck_assert_uint_eq(pkt_rd32(out + hl + 4), c->field);
}
END_TEST

TCase *inet_reject_tcase(void)
{
	TCase *tc = tcase_create("inet_reject");

	tcase_add_loop_test(tc, test_reject_case, 0, N_ELEM(reject_cases));
	tcase_add_test(tc, test_reject_flow_mismatch);
	tcase_add_loop_test(tc, test_too_big_case, 0, N_ELEM(too_big_cases));
	return tc;
}
