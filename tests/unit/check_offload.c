/*
 * tests/unit/check_offload.c - shim/offload.h: TSO/USO splitting, partial
 * checksum completion, malformed virtio headers, and user-space GRO whose
 * output, split again, must give back the input byte for byte.
 *
 * Packets are built and checked here with the tests' own (slow, obvious)
 * checksum, lab_sum of netlab.h, so the code under test is never its own
 * judge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netlab.h"
#include "offload.h"
#include "suites.h"

enum {
	F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08,
	F_ACK = 0x10, F_CWR = 0x80,
	PKT_MAX = 65535,
	COLLECT_MAX = 2048,		/* packets one test may collect */
	SPORT = 40000, DPORT = 443,
	ACK_NO = 0x01020304,
	WINDOW = 512,
	STEPS_MAX = 80,
};

/* ---- building and checking packets, independently ------------------- */

/* The stream byte at offset k: payloads of consecutive segments join up. */
static uint8_t pattern(uint32_t k)
{
	return (uint8_t)(k * 131u + (k >> 8) + 7u);
}

/*
 * Does p hold the stream from offset start on? (One assertion per buffer:
 * Check marks every assertion that passes, which is slow byte by byte.)
 */
static bool pattern_ok(const uint8_t *p, size_t n, uint32_t start)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pattern(start + (uint32_t)i))
			return false;
	return true;
}

/* What one packet looks like. */
struct spec {
	int family;
	uint8_t proto;			/* IPPROTO_TCP (default 0 = TCP) or UDP */
	uint16_t sport;
	uint32_t seq;
	uint8_t flags;
	size_t plen;
	uint16_t id;
	uint8_t ttl;
	bool ts;			/* TCP timestamp option (12 bytes) */
	uint32_t tsval;
	bool ip_opt;			/* IPv4 option / IPv6 hop-by-hop header */
	bool bad_csum;
};

/* IP header length the spec gives. */
static size_t spec_l4_off(const struct spec *s)
{
	if (s->family == AF_INET)
		return s->ip_opt ? 24 : 20;
	return s->ip_opt ? 48 : 40;
}

/* Builds the packet, checksums complete; returns its length. */
static size_t build(uint8_t *out, const struct spec *s)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	size_t l4 = spec_l4_off(s);
	size_t thl = proto == IPPROTO_TCP ? (s->ts ? 32 : 20) : 8;
	size_t len = l4 + thl + s->plen, i;
	uint8_t *th = out + l4;
	uint16_t c;

	memset(out, 0, l4 + thl);
	if (s->family == AF_INET) {
		out[0] = (uint8_t)(0x40 | l4 / 4);
		out[1] = 0x10;
		lab_wr16(out + 2, (uint16_t)len);
		lab_wr16(out + 4, s->id);
		lab_wr16(out + 6, 0x4000);
		out[8] = s->ttl ? s->ttl : 64;
		out[9] = proto;
		out[12] = 10, out[15] = 1;
		out[16] = 10, out[19] = 2;
		if (s->ip_opt)
			out[20] = 1, out[21] = 1, out[22] = 1, out[23] = 0;
		lab_wr16(out + 10, (uint16_t)~lab_sum(out, l4, 0));
	} else {
		out[0] = 0x60;
		out[1] = 0x01, out[2] = 0x23, out[3] = 0x45;
		lab_wr16(out + 4, (uint16_t)(len - 40));
		out[6] = s->ip_opt ? IPPROTO_HOPOPTS : proto;
		out[7] = s->ttl ? s->ttl : 64;
		out[8] = 0xfd, out[23] = 1;
		out[24] = 0xfd, out[39] = 2;
		if (s->ip_opt)
			out[40] = proto, out[41] = 0, out[42] = 1, out[43] = 4;
	}
	lab_wr16(th, s->sport ? s->sport : SPORT);
	lab_wr16(th + 2, DPORT);
	if (proto == IPPROTO_TCP) {
		lab_wr32(th + 4, s->seq);
		lab_wr32(th + 8, ACK_NO);
		th[12] = (uint8_t)(thl / 4 << 4);
		th[13] = s->flags;
		lab_wr16(th + 14, WINDOW);
		if (s->ts) {
			th[20] = 1, th[21] = 1, th[22] = 8, th[23] = 10;
			lab_wr32(th + 24, s->tsval);
			lab_wr32(th + 28, 0x55aa55aa);
		}
	} else {
		lab_wr16(th + 4, (uint16_t)(thl + s->plen));
	}
	for (i = 0; i < s->plen; i++)
		out[l4 + thl + i] = pattern(s->seq + (uint32_t)i);
	c = (uint16_t)~lab_sum(th, len - l4, lab_pseudo(out, s->family, proto, len - l4));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	lab_wr16(th + (proto == IPPROTO_TCP ? 16 : 6), s->bad_csum ? (uint16_t)(c ^ 1) : c);
	return len;
}

/* Packets an emit/write callback saw, copied. */
struct collect {
	uint8_t *data[COLLECT_MAX];
	size_t len[COLLECT_MAX];
	struct virtio_net_hdr vh[COLLECT_MAX];
	size_t n;
	int fail_at;			/* emit fails (-EPIPE) at this index, or -1 */
};

/* An empty collector; emit fails nowhere until fail_at is set. */
static struct collect *collect_new(void)
{
	struct collect *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->fail_at = -1;
	return c;
}

/* Frees the collector and every packet copy in it. */
static void collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->data[i]);
	free(c);
}

/* Keeps a copy of one packet (and its virtio header, if any). */
static void collect_put(struct collect *c, const struct virtio_net_hdr *vh,
			const uint8_t *p, size_t len)
{
	ck_assert_uint_lt(c->n, COLLECT_MAX);
	c->data[c->n] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(c->data[c->n]);
	memcpy(c->data[c->n], p, len);
	c->len[c->n] = len;
	if (vh)
		c->vh[c->n] = *vh;
	c->n++;
}

/* offload_split's emit: collects, or fails on purpose at fail_at. */
static int emit_cb(void *arg, const uint8_t *seg, size_t len)
{
	struct collect *c = arg;

	if (c->fail_at >= 0 && (size_t)c->fail_at == c->n)
		return -EPIPE;
	collect_put(c, NULL, seg, len);
	return 0;
}

/* offload_gro's write: collects packet and header. */
static int write_cb(void *arg, const struct virtio_net_hdr *vh,
		    const uint8_t *pkt, size_t len)
{
	collect_put(arg, vh, pkt, len);
	return 0;
}

/* The IP header length of a built packet without options, by family. */
static size_t ip_len(int family)
{
	return family == AF_INET ? 20 : 40;
}

/*
 * Checks one segment on its own: lengths, IPv4 header checksum, the
 * transport checksum with the pseudo-header.
 */
static void segment_verify(const uint8_t *p, size_t len, int family, uint8_t proto)
{
	size_t l4 = ip_len(family);

	ck_assert_uint_ge(len, l4 + 8);
	if (family == AF_INET) {
		ck_assert_uint_eq(p[0], 0x45);
		ck_assert_uint_eq(lab_rd16(p + 2), len);
		ck_assert_uint_eq(lab_sum(p, 20, 0), 0xffff);
		ck_assert_uint_eq(p[9], proto);
	} else {
		ck_assert_uint_eq(p[0] >> 4, 6);
		ck_assert_uint_eq(lab_rd16(p + 4), len - 40);
		ck_assert_uint_eq(p[6], proto);
	}
	if (proto == IPPROTO_UDP)
		ck_assert_uint_eq(lab_rd16(p + l4 + 4), len - l4);
	ck_assert_uint_eq(lab_sum(p + l4, len - l4, lab_pseudo(p, family, proto, len - l4)),
			  0xffff);
}

/* ---- TSO split ------------------------------------------------------ */

struct tso_case {
	int family;
	uint16_t mss;
	size_t payload;
	uint8_t flags;
	bool ts;
};

static const struct tso_case tso_cases[] = {
	{ AF_INET, 1448, 65000, F_ACK | F_PSH, false },
	{ AF_INET, 1448, 1448 * 10, F_ACK | F_PSH | F_FIN | F_CWR, true },
	{ AF_INET, 536, 10000, F_ACK | F_CWR, false },
	{ AF_INET, 1000, 1000, F_ACK | F_PSH | F_FIN | F_CWR, false },
	{ AF_INET, 1000, 999, F_ACK, true },
	{ AF_INET, 100, 1, F_ACK | F_PSH, false },
	{ AF_INET, 1, 64, F_ACK | F_PSH, false },
	{ AF_INET, 1360, 65495, F_ACK, false },
	{ AF_INET6, 1440, 64000, F_ACK | F_PSH, false },
	{ AF_INET6, 1220, 2441, F_ACK | F_PSH | F_FIN | F_CWR, true },
	{ AF_INET6, 1200, 1200 * 3, F_ACK, false },
	{ AF_INET6, 536, 535, F_ACK | F_PSH, false },
	{ AF_INET6, 9000, 65000, F_ACK, true },
	{ AF_INET6, 1428, 65475, F_ACK | F_PSH, false },
};

/* A super-packet as the kernel hands it: pseudo-header sum in the field. */
static size_t super_build(uint8_t *pkt, struct virtio_net_hdr *vh,
			  const struct spec *s, uint16_t gso_size)
{
	size_t len = build(pkt, s), l4 = spec_l4_off(s);
	bool tcp = !s->proto || s->proto == IPPROTO_TCP;
	size_t field = l4 + (tcp ? 16 : 6);

	lab_wr16(pkt + field, lab_sum(NULL, 0, lab_pseudo(pkt, s->family,
						   tcp ? IPPROTO_TCP : IPPROTO_UDP,
						   len - l4)));
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (tcp)
		vh->gso_type = s->family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 :
						      VIRTIO_NET_HDR_GSO_TCPV6;
	else
		vh->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	vh->gso_size = gso_size;
	vh->hdr_len = (uint16_t)(l4 + (tcp ? (s->ts ? 32 : 20) : 8));
	vh->csum_start = (uint16_t)l4;
	vh->csum_offset = tcp ? 16 : 6;
	return len;
}

START_TEST(test_tso_split)
{
	const struct tso_case *tc = &tso_cases[_i];
	struct spec s = {
		.family = tc->family, .seq = 0xfffff000u, .flags = tc->flags,
		.plen = tc->payload, .id = 0xfffe, .ts = tc->ts, .tsval = 99,
	};
	struct virtio_net_hdr vh;
	uint8_t *pkt = malloc(PKT_MAX), *scratch = malloc(PKT_MAX);
	struct collect *c = collect_new();
	size_t len, hdr, l4 = ip_len(tc->family), i, off = 0;
	size_t want = (tc->payload + tc->mss - 1) / tc->mss;
	int n;

	ck_assert_ptr_nonnull(pkt);
	ck_assert_ptr_nonnull(scratch);
	len = super_build(pkt, &vh, &s, tc->mss);
	ck_assert_uint_le(len, PKT_MAX);
	hdr = vh.hdr_len;
	n = offload_split(&vh, pkt, len, scratch, PKT_MAX, emit_cb, c);
	ck_assert_int_eq(n, (int)want);
	ck_assert_uint_eq(c->n, want);
	for (i = 0; i < c->n; i++) {
		const uint8_t *p = c->data[i], *th = p + l4;
		size_t plen = c->len[i] - hdr;
		uint8_t fl = th[13], want_fl = tc->flags;

		segment_verify(p, c->len[i], tc->family, IPPROTO_TCP);
		ck_assert_uint_eq(plen, i + 1 < c->n ? tc->mss : tc->payload - off);
		ck_assert_uint_eq(lab_rd32(th + 4), s.seq + (uint32_t)off);
		ck_assert_uint_eq(lab_rd32(th + 8), ACK_NO);
		ck_assert_uint_eq(lab_rd16(th), SPORT);
		ck_assert_uint_eq(lab_rd16(th + 14), WINDOW);
		if (tc->family == AF_INET)
			ck_assert_uint_eq(lab_rd16(p + 4), (uint16_t)(s.id + i));
		if (i + 1 < c->n)
			want_fl &= (uint8_t)~(F_FIN | F_PSH);
		if (i > 0)
			want_fl &= (uint8_t)~F_CWR;
		ck_assert_uint_eq(fl, want_fl);
		ck_assert_mem_eq(p + l4 + 20, pkt + l4 + 20, hdr - l4 - 20);
		ck_assert(pattern_ok(p + hdr, plen, s.seq + (uint32_t)off));
		off += plen;
	}
	ck_assert_uint_eq(off, tc->payload);
	collect_free(c);
	free(pkt);
	free(scratch);
}
END_TEST

/* UDP super-packets (USO) cut into datagrams. */
START_TEST(test_uso_split)
{
	static const struct { int family; uint16_t gso; size_t plen; } uc[] = {
		{ AF_INET, 1200, 5000 }, { AF_INET6, 1200, 5000 },
		{ AF_INET, 1000, 1000 }, { AF_INET6, 512, 60000 },
	};
	struct spec s = { .family = uc[_i].family, .proto = IPPROTO_UDP,
			  .plen = uc[_i].plen, .id = 7 };
	struct virtio_net_hdr vh;
	uint8_t *pkt = malloc(PKT_MAX), *scratch = malloc(PKT_MAX);
	struct collect *c = collect_new();
	size_t len, i, off = 0, l4 = ip_len(s.family);
	int n;

	ck_assert_ptr_nonnull(pkt);
	ck_assert_ptr_nonnull(scratch);
	len = super_build(pkt, &vh, &s, uc[_i].gso);
	n = offload_split(&vh, pkt, len, scratch, PKT_MAX, emit_cb, c);
	ck_assert_int_eq(n, (int)((s.plen + uc[_i].gso - 1) / uc[_i].gso));
	for (i = 0; i < c->n; i++) {
		size_t plen = c->len[i] - l4 - 8;

		segment_verify(c->data[i], c->len[i], s.family, IPPROTO_UDP);
		ck_assert_uint_eq(plen, i + 1 < c->n ? uc[_i].gso : s.plen - off);
		if (s.family == AF_INET)
			ck_assert_uint_eq(lab_rd16(c->data[i] + 4), 7 + i);
		ck_assert(pattern_ok(c->data[i] + l4 + 8, plen, (uint32_t)off));
		off += plen;
	}
	ck_assert_uint_eq(off, s.plen);
	collect_free(c);
	free(pkt);
	free(scratch);
}
END_TEST

/* A packet without GSO but with a partial checksum gets it completed. */
START_TEST(test_needs_csum)
{
	static const struct spec sc[] = {
		{ .family = AF_INET, .flags = F_ACK, .plen = 100, .seq = 5 },
		{ .family = AF_INET, .flags = F_ACK, .plen = 1, .seq = 5 },
		{ .family = AF_INET6, .flags = F_ACK | F_PSH, .plen = 1399, .ts = true },
		{ .family = AF_INET, .proto = IPPROTO_UDP, .plen = 33 },
		{ .family = AF_INET6, .proto = IPPROTO_UDP, .plen = 0 },
		{ .family = AF_INET6, .proto = IPPROTO_UDP, .plen = 1452 },
	};
	const struct spec *s = &sc[_i];
	uint8_t *orig = malloc(PKT_MAX), *pkt = malloc(PKT_MAX);
	uint8_t *scratch = malloc(PKT_MAX);
	struct virtio_net_hdr vh;
	struct collect *c = collect_new();
	size_t len;

	ck_assert_ptr_nonnull(orig);
	ck_assert_ptr_nonnull(pkt);
	ck_assert_ptr_nonnull(scratch);
	len = build(orig, s);
	super_build(pkt, &vh, s, 0);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	ck_assert_mem_ne(orig, pkt, len);
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, PKT_MAX, emit_cb, c), 1);
	ck_assert_uint_eq(c->len[0], len);
	ck_assert_mem_eq(c->data[0], orig, len);
	segment_verify(c->data[0], len, s->family, s->proto ? s->proto : IPPROTO_TCP);

	/* Without NEEDS_CSUM the packet passes untouched. */
	vh.flags = 0;
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, PKT_MAX, emit_cb, c), 1);
	ck_assert_mem_eq(c->data[1], pkt, len);
	collect_free(c);
	free(orig);
	free(pkt);
	free(scratch);
}
END_TEST

/* ---- malformed headers ---------------------------------------------- */

enum bad_kind {
	BAD_GSO_SIZE_0, BAD_WRONG_FAMILY, BAD_CSUM_START,
	BAD_CSUM_OFFSET, BAD_HDR_LEN, BAD_IP_LEN_LONG, BAD_IP_LEN_SHORT,
	BAD_DOFF_BIG, BAD_DOFF_SMALL, BAD_PROTO_UDP, BAD_FRAGMENT,
	BAD_TYPE_2, BAD_TYPE_UFO, BAD_ECN_NONE, BAD_NONE_CSUM_START,
	BAD_NONE_CSUM_FIELD, BAD_LEN_0, BAD_VERSION, BAD_TRUNCATED_IP,
	BAD_V6_FRAG_EXT, BAD_UDP_LEN, BAD_ECN_UDP, BAD_IHL_SMALL,
	BAD_COUNT
};

START_TEST(test_malformed)
{
	int family = _i % 2 ? AF_INET6 : AF_INET;
	enum bad_kind k = (enum bad_kind)(_i / 2);
	struct spec s = { .family = family, .flags = F_ACK, .plen = 3000,
			  .proto = (k == BAD_UDP_LEN || k == BAD_ECN_UDP) ?
				   IPPROTO_UDP : 0 };
	struct virtio_net_hdr vh;
	uint8_t *pkt = malloc(PKT_MAX), *scratch = malloc(PKT_MAX);
	struct collect *c = collect_new();
	size_t len, l4 = ip_len(family);

	ck_assert_ptr_nonnull(pkt);
	ck_assert_ptr_nonnull(scratch);
	len = super_build(pkt, &vh, &s, 1000);
	switch (k) {
	case BAD_GSO_SIZE_0: vh.gso_size = 0; break;
	case BAD_WRONG_FAMILY:
		vh.gso_type = family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV6 :
						  VIRTIO_NET_HDR_GSO_TCPV4;
		break;
	case BAD_CSUM_START: vh.csum_start++; break;
	case BAD_CSUM_OFFSET: vh.csum_offset = 6; break;
	case BAD_HDR_LEN: vh.hdr_len = (uint16_t)(len + 1); break;
	case BAD_IP_LEN_LONG: len -= 1; break;
	case BAD_IP_LEN_SHORT:
		if (family == AF_INET)
			lab_wr16(pkt + 2, (uint16_t)(len - 1));
		else
			lab_wr16(pkt + 4, (uint16_t)(len - 41));
		break;
	case BAD_DOFF_BIG:
		pkt[l4 + 12] = 0xf0;
		len = l4 + 40;
		if (family == AF_INET)
			lab_wr16(pkt + 2, (uint16_t)len);
		else
			lab_wr16(pkt + 4, (uint16_t)(len - 40));
		break;
	case BAD_DOFF_SMALL: pkt[l4 + 12] = 0x40; break;
	case BAD_PROTO_UDP:
		pkt[family == AF_INET ? 9 : 6] = IPPROTO_UDP;
		break;
	case BAD_FRAGMENT:
		if (family == AF_INET)
			lab_wr16(pkt + 6, 0x2000);
		else
			pkt[6] = IPPROTO_FRAGMENT;
		break;
	case BAD_TYPE_2: vh.gso_type = 2; break;
	case BAD_TYPE_UFO: vh.gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
	case BAD_ECN_NONE: vh.gso_type = VIRTIO_NET_HDR_GSO_ECN; break;
	case BAD_NONE_CSUM_START:
		vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		vh.csum_start = (uint16_t)len;
		vh.csum_offset = 0;
		break;
	case BAD_NONE_CSUM_FIELD:
		vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		vh.csum_start = (uint16_t)(len - 4);
		vh.csum_offset = 3;
		break;
	case BAD_LEN_0: len = 0; vh.gso_type = VIRTIO_NET_HDR_GSO_NONE; break;
	case BAD_VERSION: pkt[0] = (uint8_t)(0x50 | (pkt[0] & 0x0f)); break;
	case BAD_TRUNCATED_IP: len = family == AF_INET ? 19 : 39; break;
	case BAD_V6_FRAG_EXT:
		if (family == AF_INET)
			pkt[0] = 0x44;	/* IHL 16 bytes, below the minimum */
		else
			pkt[6] = IPPROTO_ROUTING;
		break;
	case BAD_UDP_LEN: lab_wr16(pkt + l4 + 4, (uint16_t)(len - l4 - 1)); break;
	case BAD_ECN_UDP: vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN; break;
	case BAD_IHL_SMALL:
		if (family == AF_INET)
			pkt[0] = 0x43;
		else
			pkt[0] = 0x40;	/* IPv4 version on a 40-byte header */
		break;
	case BAD_COUNT:
		break;
	}
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, PKT_MAX, emit_cb, c),
			 -EINVAL);
	ck_assert_uint_eq(c->n, 0);
	collect_free(c);
	free(pkt);
	free(scratch);
}
END_TEST

/* Scratch too small, and an emit failure passed back. */
START_TEST(test_split_errors)
{
	struct spec s = { .family = AF_INET, .flags = F_ACK, .plen = 5000 };
	struct virtio_net_hdr vh;
	uint8_t *pkt = malloc(PKT_MAX), *scratch = malloc(PKT_MAX);
	struct collect *c = collect_new();
	size_t len;

	ck_assert_ptr_nonnull(pkt);
	ck_assert_ptr_nonnull(scratch);
	len = super_build(pkt, &vh, &s, 1000);
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, 1039, emit_cb, c),
			 -ENOSPC);
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, 1040, emit_cb, c), 5);
	c->fail_at = 7;
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, 1040, emit_cb, c),
			 -EPIPE);
	ck_assert_uint_eq(c->n, 7);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	ck_assert_int_eq(offload_split(&vh, pkt, len, scratch, len - 1, emit_cb, c),
			 -ENOSPC);
	collect_free(c);
	free(pkt);
	free(scratch);
}
END_TEST

/* ---- GRO ------------------------------------------------------------ */

/* One packet of a GRO case; modifiers off by default. */
struct step {
	uint16_t plen;
	uint8_t flags;			/* 0: ACK */
	uint16_t reps;			/* this step repeated; 0 = once */
	uint16_t gap;			/* skip this many sequence bytes first */
	uint8_t port, ttl, id_jump;	/* make it differ in that */
	uint8_t tsval;			/* nonzero: timestamp option with it */
	bool ip_opt, bad_csum;
};

struct gro_case {
	const char *name;
	struct step steps[12];
	int want4[STEPS_MAX];		/* segments per write, 0-terminated */
	int want6[STEPS_MAX];		/* if want6[0] == 0, same as want4 */
};

/* Shorthand for the table: a step of n payload bytes, with modifiers. */
#define SEG(n, ...) { .plen = (n), __VA_ARGS__ }
#define CASE(nm, st, w4, ...) { .name = (nm), .steps = st, .want4 = w4, __VA_ARGS__ }
#define L(...) { __VA_ARGS__ }

static const struct gro_case gro_cases[] = {
	CASE("one", L(SEG(1000)), L(1)),
	CASE("run10", L(SEG(1448, .reps = 10)), L(10)),
	CASE("psh_last", L(SEG(1000, .reps = 5), SEG(1000, .flags = F_ACK | F_PSH)),
	     L(6)),
	CASE("short_last", L(SEG(1000, .reps = 3), SEG(400), SEG(1000)), L(4, 1)),
	CASE("grows", L(SEG(500), SEG(1000), SEG(1000)), L(1, 2)),
	CASE("out_of_order", L(SEG(1000), SEG(1000, .gap = 1000), SEG(1000)),
	     L(1, 2)),
	CASE("other_flow", L(SEG(1000, .reps = 2), SEG(1000, .port = 1), SEG(1000)),
	     L(2, 1, 1)),
	CASE("syn_fin_rst", L(SEG(1000, .reps = 2), SEG(1000, .flags = F_ACK | F_FIN),
			      SEG(1000), SEG(0, .flags = F_RST),
			      SEG(0, .flags = F_SYN),
			      SEG(0, .flags = F_SYN | F_ACK), SEG(1000)),
	     L(2, 1, 1, 1, 1, 1, 1)),
	CASE("pure_ack", L(SEG(1000), SEG(0, .flags = F_ACK), SEG(1000)), L(1, 1, 1)),
	CASE("bad_csum", L(SEG(1000), SEG(1000, .bad_csum = true), SEG(1000)),
	     L(1, 1, 1)),
	CASE("ttl", L(SEG(1000), SEG(1000, .ttl = 1)), L(1, 1)),
	CASE("ip_options", L(SEG(1000), SEG(1000, .ip_opt = true), SEG(1000)),
	     L(1, 1, 1)),
	CASE("max_bytes", L(SEG(1448, .reps = 50)), L(45, 5)),
	CASE("max_segs", L(SEG(100, .reps = 70)), L(64, 6)),
	CASE("psh_middle", L(SEG(1000), SEG(1000, .flags = F_ACK | F_PSH),
			     SEG(1000, .reps = 2)), L(2, 2)),
	CASE("cwr", L(SEG(1000), SEG(1000, .flags = F_ACK | F_CWR), SEG(1000)),
	     L(1, 1, 1)),
	CASE("tcp_options", L(SEG(1000, .tsval = 1, .reps = 2),
			      SEG(1000, .tsval = 2, .reps = 2)), L(2, 2)),
	CASE("ip_id_gap", L(SEG(1000), SEG(1000, .id_jump = 1)), L(1, 1),
	     .want6 = L(2)),
	CASE("tiny", L(SEG(1, .reps = 3)), L(3)),
	CASE("psh_alone", L(SEG(1000, .flags = F_ACK | F_PSH),
			    SEG(1000, .flags = F_ACK | F_PSH)), L(1, 1)),
};

#undef SEG
#undef CASE
#undef L

/* Feeds a case through the coalescer; returns the input packets. */
static struct collect *gro_feed(const struct gro_case *gc, int family,
				struct offload_gro *g, struct collect *out)
{
	struct collect *in = collect_new();
	uint8_t *pkt = malloc(PKT_MAX);
	uint32_t seq = 1u << 31;
	uint16_t id = 0xfff0;
	size_t i;

	ck_assert_ptr_nonnull(pkt);
	for (i = 0; i < sizeof(gc->steps) / sizeof(gc->steps[0]); i++) {
		const struct step *st = &gc->steps[i];
		unsigned r, reps = st->reps ? st->reps : 1;

		if (st->plen == 0 && st->flags == 0)
			break;
		for (r = 0; r < reps; r++) {
			struct spec s = {
				.family = family, .seq = seq + st->gap,
				.flags = st->flags ? st->flags : F_ACK,
				.plen = st->plen, .sport = (uint16_t)(SPORT + st->port),
				.ttl = (uint8_t)(64 + st->ttl),
				.id = (uint16_t)(id + st->id_jump),
				.ts = st->tsval != 0, .tsval = st->tsval,
				.ip_opt = st->ip_opt, .bad_csum = st->bad_csum,
			};
			size_t len = build(pkt, &s);

			collect_put(in, NULL, pkt, len);
			ck_assert_int_eq(offload_gro_add(g, pkt, len, write_cb, out), 0);
			seq = s.seq + (uint32_t)s.plen;
			id = (uint16_t)(s.id + 1);
		}
	}
	ck_assert_int_eq(offload_gro_flush(g, write_cb, out), 0);
	ck_assert_int_eq(offload_gro_flush(g, write_cb, out), 0);
	free(pkt);
	return in;
}

/*
 * Checks a merged write's virtio header and its partial checksum (the
 * pseudo-header sum, not inverted, as the kernel expects).
 */
static void merged_verify(const struct virtio_net_hdr *vh, const uint8_t *p,
			  size_t len, int family, const uint8_t *first, size_t first_len)
{
	size_t l4 = ip_len(family), thl = (size_t)(p[l4 + 12] >> 4) * 4;

	ck_assert_uint_eq(vh->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(vh->gso_type, family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 :
							  VIRTIO_NET_HDR_GSO_TCPV6);
	ck_assert_uint_eq(vh->gso_size, first_len - l4 - thl);
	ck_assert_uint_eq(vh->hdr_len, l4 + thl);
	ck_assert_uint_eq(vh->csum_start, l4);
	ck_assert_uint_eq(vh->csum_offset, 16);
	if (family == AF_INET) {
		ck_assert_uint_eq(lab_rd16(p + 2), len);
		ck_assert_uint_eq(lab_sum(p, 20, 0), 0xffff);
		ck_assert_uint_eq(lab_rd16(p + 4), lab_rd16(first + 4));
	} else {
		ck_assert_uint_eq(lab_rd16(p + 4), len - 40);
	}
	ck_assert_uint_eq(lab_rd16(p + l4 + 16),
			  lab_sum(NULL, 0, lab_pseudo(p, family, IPPROTO_TCP, len - l4)));
	ck_assert_uint_eq(lab_rd32(p + l4 + 4), lab_rd32(first + l4 + 4));
}

START_TEST(test_gro)
{
	const struct gro_case *gc = &gro_cases[_i / 2];
	int family = _i % 2 ? AF_INET6 : AF_INET;
	const int *want = family == AF_INET6 && gc->want6[0] ? gc->want6 : gc->want4;
	struct offload_gro *g = malloc(sizeof(*g));
	struct collect *out = collect_new(), *resplit = collect_new(), *in;
	uint8_t *scratch = malloc(PKT_MAX);
	size_t w, i, at = 0;

	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(scratch);
	offload_gro_init(g);
	in = gro_feed(gc, family, g, out);
	for (w = 0; want[w]; w++)
		;
	ck_assert_msg(out->n == w, "%s/%d: %zu writes, want %zu", gc->name,
		      family == AF_INET ? 4 : 6, out->n, w);
	for (w = 0; w < out->n; w++) {
		int n = offload_split(&out->vh[w], out->data[w], out->len[w],
				      scratch, PKT_MAX, emit_cb, resplit);

		ck_assert_msg(n == want[w], "%s: write %zu holds %d, want %d",
			      gc->name, w, n, want[w]);
		if (want[w] > 1)
			merged_verify(&out->vh[w], out->data[w], out->len[w], family,
				      in->data[at], in->len[at]);
		else
			ck_assert_uint_eq(out->vh[w].gso_type, VIRTIO_NET_HDR_GSO_NONE);
		at += (size_t)n;
	}
	ck_assert_uint_eq(resplit->n, in->n);
	for (i = 0; i < in->n; i++) {
		ck_assert_uint_eq(resplit->len[i], in->len[i]);
		ck_assert_msg(memcmp(resplit->data[i], in->data[i], in->len[i]) == 0,
			      "%s: packet %zu differs after merge and split",
			      gc->name, i);
	}
	collect_free(in);
	collect_free(out);
	collect_free(resplit);
	free(scratch);
	free(g);
}
END_TEST

/* Packets that are not TCP at all go out unmerged, in order. */
START_TEST(test_gro_passthrough)
{
	struct offload_gro *g = malloc(sizeof(*g));
	struct collect *out = collect_new();
	uint8_t pkt[2000], junk[3] = { 1, 2, 3 };
	struct spec udp = { .family = AF_INET6, .proto = IPPROTO_UDP, .plen = 100 };
	struct spec tcp = { .family = AF_INET6, .flags = F_ACK, .plen = 100 };
	size_t len;

	ck_assert_ptr_nonnull(g);
	offload_gro_init(g);
	len = build(pkt, &tcp);
	ck_assert_int_eq(offload_gro_add(g, pkt, len, write_cb, out), 0);
	ck_assert_uint_eq(out->n, 0);
	len = build(pkt, &udp);
	ck_assert_int_eq(offload_gro_add(g, pkt, len, write_cb, out), 0);
	ck_assert_int_eq(offload_gro_add(g, junk, sizeof(junk), write_cb, out), 0);
	ck_assert_int_eq(offload_gro_add(g, junk, 0, write_cb, out), 0);
	ck_assert_uint_eq(out->n, 4);
	ck_assert_uint_eq(out->len[0], 40 + 20 + 100);
	ck_assert_uint_eq(out->len[1], len);
	ck_assert_mem_eq(out->data[1], pkt, len);
	ck_assert_uint_eq(out->len[2], 3);
	ck_assert_uint_eq(out->len[3], 0);
	ck_assert_uint_eq(out->vh[1].gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(out->vh[1].flags, 0);
	collect_free(out);
	free(g);
}
END_TEST

/*
 * UDP (with the TUN's USO): datagrams of one flow and size merge into one
 * UDP_L4 write that splits back into exactly them; a shorter one ends the
 * run, another port starts a new one; without udp set, none merge.
 */
START_TEST(test_gro_udp)
{
	int family = _i % 2 ? AF_INET6 : AF_INET;
	bool udp = _i < 2;
	struct offload_gro *g = malloc(sizeof(*g));
	struct collect *in = collect_new(), *out = collect_new(), *resplit = collect_new();
	uint8_t *pkt = malloc(PKT_MAX), *scratch = malloc(PKT_MAX);
	static const struct { uint16_t plen, port; } steps[] = {
		{ 100, 0 }, { 100, 0 }, { 100, 0 }, { 100, 0 }, { 60, 0 },	/* one run */
		{ 100, 0 }, { 100, 1 }, { 100, 1 },				/* two runs */
	};
	size_t l4 = ip_len(family), i;

	ck_assert(g && pkt && scratch);
	offload_gro_init(g);
	g->udp = udp;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct spec sp = {
			.family = family, .proto = IPPROTO_UDP, .plen = steps[i].plen,
			.sport = (uint16_t)(SPORT + steps[i].port), .id = (uint16_t)(0xfffd + i),
		};
		size_t len = build(pkt, &sp);

		collect_put(in, NULL, pkt, len);
		ck_assert_int_eq(offload_gro_add(g, pkt, len, write_cb, out), 0);
	}
	ck_assert_int_eq(offload_gro_flush(g, write_cb, out), 0);
	if (!udp) {
		ck_assert_uint_eq(out->n, in->n);
		for (i = 0; i < out->n; i++)
			ck_assert_uint_eq(out->vh[i].gso_type, VIRTIO_NET_HDR_GSO_NONE);
		goto out;
	}
	ck_assert_uint_eq(out->n, 3);
	ck_assert_uint_eq(out->vh[0].gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	ck_assert_uint_eq(out->vh[0].gso_size, 100);
	ck_assert_uint_eq(out->vh[0].hdr_len, l4 + 8);
	ck_assert_uint_eq(out->vh[0].csum_start, l4);
	ck_assert_uint_eq(out->vh[0].csum_offset, 6);
	ck_assert_uint_eq(out->vh[0].flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(out->len[0], l4 + 8 + 4 * 100 + 60);
	ck_assert_uint_eq(lab_rd16(out->data[0] + l4 + 4), 8 + 4 * 100 + 60);
	ck_assert_uint_eq(lab_rd16(out->data[0] + l4 + 6),
			  lab_sum(NULL, 0, lab_pseudo(out->data[0], family, IPPROTO_UDP,
						      out->len[0] - l4)));
	ck_assert_uint_eq(out->vh[1].gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(out->vh[2].gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	for (i = 0; i < out->n; i++)
		ck_assert_int_gt(offload_split(&out->vh[i], out->data[i], out->len[i],
					       scratch, PKT_MAX, emit_cb, resplit), 0);
	ck_assert_uint_eq(resplit->n, in->n);
	for (i = 0; i < in->n; i++) {
		ck_assert_uint_eq(resplit->len[i], in->len[i]);
		ck_assert_msg(memcmp(resplit->data[i], in->data[i], in->len[i]) == 0,
			      "datagram %zu differs after merge and split", i);
		segment_verify(resplit->data[i], resplit->len[i], family, IPPROTO_UDP);
	}
out:
	collect_free(in);
	collect_free(out);
	collect_free(resplit);
	free(pkt);
	free(scratch);
	free(g);
}
END_TEST

Suite *suite_offload(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("split");

	tcase_add_loop_test(tc, test_tso_split, 0,
			    (int)(sizeof(tso_cases) / sizeof(tso_cases[0])));
	tcase_add_loop_test(tc, test_uso_split, 0, 4);
	tcase_add_loop_test(tc, test_needs_csum, 0, 6);
	tcase_add_loop_test(tc, test_malformed, 0, 2 * BAD_COUNT);
	tcase_add_test(tc, test_split_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("gro");
	tcase_add_loop_test(tc, test_gro, 0,
			    (int)(2 * sizeof(gro_cases) / sizeof(gro_cases[0])));
	tcase_add_test(tc, test_gro_passthrough);
	tcase_add_loop_test(tc, test_gro_udp, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
