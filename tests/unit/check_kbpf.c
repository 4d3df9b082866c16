/*
 * tests/unit/check_kbpf.c - attach mode's tc programs (kernel-bpf/
 * attach.bpf.c) run by the kernel through BPF_PROG_TEST_RUN on crafted
 * frames: the stamp inserted and stripped byte-exactly (IPv4 with and
 * without options, IPv6 with and without extension headers), every drop
 * reason, truncated and malformed packets, fragments, non-IP frames, the
 * conntrack rule (a flow remembers who opened it), and a property test:
 * random and mutated packets through ingress never pass with a stamp that
 * does not verify. The cgroup and iterator programs are in
 * check_kbpf_sock.c.
 *
 * Needs root and a kernel with BTF; otherwise each test says SKIP.
 *
 *   host1 10.77.0.2 fd77::2 bit 1   host2 10.77.0.3 fd77::3 bit 2
 *   host3 10.77.0.4 fd77::4 bit 3   (not a captun host: 10.77.0.9)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <check.h>

#include "attach.skel.h"
#include "inet_pkt.h"
#include "kbpf_test.h"
#include "loader.h"
#include "suites.h"

enum {
	ETH = 14,
	CTL_PORT = 51901,
	RET_UNSPEC = -1,
	RET_SHOT = 2,
};

static const char *const h4[4] = { NULL, "10.77.0.2", "10.77.0.3", "10.77.0.4" };
static const char *const h6[4] = { NULL, "fd77::2", "fd77::3", "fd77::4" };
#define N4 "10.77.0.9"

static struct kbpf k;
static const char *skip_why;

/* Loads the object without pinning anything: a private copy per test. */
const char *kbpf_test_load(struct kbpf *kb)
{
	struct bpf_map *m;

	memset(kb, 0, sizeof(*kb));
	kb->dir_fd = -1;
	for (int i = 0; i < KBPF_LINK_COUNT; i++)
		kb->link_fd[i] = -1;
	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return "no kernel BTF";
	kb->skel = attach_bpf__open();
	if (!kb->skel)
		return "cannot open the eBPF object";
	bpf_object__for_each_map(m, kb->skel->obj)
		bpf_map__set_pin_path(m, NULL);
	/* a verifier rejection is a failure, never a skip */
	ck_assert_msg(attach_bpf__load(kb->skel) == 0,
		      "the kernel refused attach.bpf.c's programs (libbpf's log above)");
	kb->iter = bpf_program__attach_iter(kb->skel->progs.captun_sock_destroy, NULL);
	return NULL;
}

static void addr16(const char *txt, uint8_t out[16])
{
	struct in6_addr a;

	pkt_addr(strchr(txt, ':') ? AF_INET6 : AF_INET, txt, &a);
	memcpy(out, &a, 16);
}

/* Makes the loaded programs host `self` of the three; flags: ATTACH_F_*. */
static void be_host(int self, uint32_t flags, uint32_t epoch, const int *bits)
{
	struct attach_config c;
	uint64_t mask[ATTACH_MASK_WORDS] = { 0 };

	memset(&c, 0, sizeof(c));
	c.flags = ATTACH_F_ENABLED | ATTACH_F_HAS4 | ATTACH_F_HAS6 | flags;
	c.self_bit = (uint16_t)self;
	c.ctl_port = CTL_PORT;
	c.l3_off = ETH;
	addr16(h4[self], c.self4);
	addr16(h6[self], c.self6);
	ck_assert_int_eq(kbpf_config_set(&k, &c), 0);
	for (; bits && *bits != BITS_END; bits++)
		mask[*bits / 64] |= UINT64_C(1) << (*bits % 64);
	ck_assert_int_eq(kbpf_own_set(&k, epoch, mask), 0);
	for (int h = 1; h <= 3; h++) {
		struct attach_peer p = { .bit = (uint16_t)h };
		uint8_t a[16];

		if (h == self)
			continue;
		addr16(h4[h], a);
		ck_assert_int_eq(kbpf_peer_set(&k, a, &p), 0);
		addr16(h6[h], a);
		ck_assert_int_eq(kbpf_peer_set(&k, a, &p), 0);
	}
}

static void cap_del(int bit, uint32_t epoch)
{
	struct attach_cap_key key = { .bit = (uint16_t)bit, .epoch = epoch };

	bpf_map_delete_elem(bpf_map__fd(k.skel->maps.peer_caps), &key);
}

static void cap(int bit, uint32_t epoch, bool allowed, bool superseded)
{
	struct attach_cap c = { .allowed = allowed, .superseded = superseded };

	ck_assert_int_eq(kbpf_cap_set(&k, (uint16_t)bit, epoch, &c), 0);
}

static void setup(void)
{
	skip_why = kbpf_test_load(&k);
}

static void teardown(void)
{
	if (k.skel)
		kbpf_close(&k);
}

#define SKIP_IF_NEEDED() KBPF_SKIP_IF(skip_why)

/* An Ethernet frame around the packet of s; its length. */
static size_t frame(const struct spec *s, uint8_t *out)
{
	size_t n;

	memset(out, 0, ETH);
	pkt_put16(out + 12, s->family == AF_INET ? 0x0800 : 0x86dd);
	n = pkt_build(s, out + ETH);
	return ETH + n;
}

/* Runs prog on in; the frame it leaves goes to out (*outlen). Returns retval. */
static int run(struct bpf_program *prog, const uint8_t *in, size_t inlen,
	       uint8_t *out, size_t *outlen)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)inlen,
		    .data_out = out, .data_size_out = BUF, .repeat = 1);

	int ret = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	uint16_t type = inlen >= ETH ? pkt_rd16(in + 12) : 0;

	/* the kernel runs no program on an IP frame shorter than its fixed header */
	if (ret == -EINVAL && ((type == 0x0800 && inlen < ETH + 20) ||
			       (type == 0x86dd && inlen < ETH + 40)))
		return RET_SHOT;
	ck_assert_msg(ret == 0, "BPF_PROG_TEST_RUN on %zu bytes: %s", inlen, strerror(-ret));
	*outlen = o.data_size_out;
	return (int)o.retval;
}

static int egress(const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
	return run(k.skel->progs.captun_egress, in, inlen, out, outlen);
}

static int ingress(const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
	return run(k.skel->progs.captun_ingress, in, inlen, out, outlen);
}

static uint64_t counter(enum attach_counter c)
{
	uint64_t v[CNT_COUNT];

	ck_assert_int_eq(kbpf_counters(&k, v), 0);
	return v[c];
}

/* The IPv4 header checksum of the frame verifies. */
static bool v4_csum_ok(const uint8_t *f)
{
	return pkt_sum(f + ETH, (size_t)(f[ETH] & 0xf) * 4, 0) == 0xffff;
}

/* The stamp inserted by the test itself, as attach.h describes it. */
static size_t hand_stamp(const uint8_t *in, size_t len, uint32_t epoch, uint8_t *out)
{
	const uint8_t *ip = in + ETH;
	bool v4 = pkt_rd16(in + 12) == 0x0800;
	size_t base = v4 ? 20 : 40;

	memcpy(out, in, ETH + base);
	memcpy(out + ETH + base + 8, ip + base, len - ETH - base);
	if (v4) {
		uint8_t *o = out + ETH;
		size_t hl = (size_t)(ip[0] & 0xf) * 4 + 8;

		o[20] = 0x9e;
		o[21] = 8;
		o[22] = o[23] = 0;
		pkt_put32(o + 24, epoch);
		o[0] = (uint8_t)(ip[0] + 2);
		pkt_put16(o + 2, (uint16_t)(pkt_rd16(ip + 2) + 8));
		pkt_put16(o + 10, 0);
		pkt_put16(o + 10, (uint16_t)~pkt_sum(o, hl, 0));
	} else {
		uint8_t *o = out + ETH;

		o[40] = ip[6];
		o[41] = 0;
		o[42] = 0x1e;
		o[43] = 4;
		pkt_put32(o + 44, epoch);
		o[6] = 60;
		pkt_put16(o + 4, (uint16_t)(pkt_rd16(ip + 4) + 8));
	}
	return len + 8;
}

/* Stamps on host1, checks the stamp's bytes, strips on host2, compares. */
static void round_trip(const struct spec *s)
{
	uint8_t in[BUF], st[BUF], back[BUF];
	size_t inlen = frame(s, in), stlen, backlen;
	bool v4 = s->family == AF_INET;
	const uint8_t *ip = st + ETH;
	uint64_t base[CNT_COUNT];

	ck_assert_int_eq(kbpf_counters(&k, base), 0);
	be_host(1, 0, 7, (const int[]){ 2, 3, BITS_END });
	ck_assert_int_eq(egress(in, inlen, st, &stlen), RET_UNSPEC);
	ck_assert_uint_eq(stlen, inlen + STAMP_LEN);
	ck_assert_mem_eq(st, in, ETH);
	if (v4) {
		static const uint8_t opt[8] = { 0x9e, 8, 0, 0, 0, 0, 0, 7 };
		size_t ihl = (size_t)(in[ETH] & 0xf) * 4;

		ck_assert_uint_eq(ip[0], in[ETH] + 2);
		ck_assert_uint_eq(pkt_rd16(ip + 2), pkt_rd16(in + ETH + 2) + 8);
		ck_assert_mem_eq(ip + 4, in + ETH + 4, 6);	/* id, frag, ttl, proto */
		ck_assert_mem_eq(ip + 12, in + ETH + 12, 8);	/* addresses */
		ck_assert_mem_eq(ip + 20, opt, 8);
		ck_assert_mem_eq(ip + 28, in + ETH + 20, inlen - ETH - 20);
		ck_assert(v4_csum_ok(st));
		ck_assert_uint_eq(ihl + 8, (size_t)(ip[0] & 0xf) * 4);
	} else {
		const uint8_t opt[8] = { in[ETH + 6], 0, 0x1e, 4, 0, 0, 0, 7 };

		ck_assert_uint_eq(ip[6], 60);
		ck_assert_uint_eq(pkt_rd16(ip + 4), pkt_rd16(in + ETH + 4) + 8);
		ck_assert_mem_eq(ip, in + ETH, 4);
		ck_assert_mem_eq(ip + 7, in + ETH + 7, 33);
		ck_assert_mem_eq(ip + 40, opt, 8);
		ck_assert_mem_eq(ip + 48, in + ETH + 40, inlen - ETH - 40);
	}
	be_host(2, 0, 3, (const int[]){ 1, BITS_END });
	cap(1, 7, true, false);
	ck_assert_int_eq(ingress(st, stlen, back, &backlen), RET_UNSPEC);
	ck_assert_uint_eq(backlen, inlen);
	ck_assert_mem_eq(back, in, inlen);
	ck_assert_uint_eq(counter(CNT_TX_STAMPED), base[CNT_TX_STAMPED] + 1);
	ck_assert_uint_eq(counter(CNT_RX_VERIFIED), base[CNT_RX_VERIFIED] + 1);
}

START_TEST(stamp_v4_plain)
{
	SKIP_IF_NEEDED();
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .sport = 40000, .dport = 80,
			.flags = F_SYN, .payload = 0));
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .sport = 5353, .dport = 53,
			.payload = 300));
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_ICMP), .type = 8, .id = 9,
			.payload = 56));
}
END_TEST

START_TEST(stamp_v4_options)
{
	SKIP_IF_NEEDED();
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .sport = 1, .dport = 2,
			.flags = F_ACK, .payload = 100, .ip_opt = 4));
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .sport = 1, .dport = 2,
			.payload = 10, .ip_opt = 32));
}
END_TEST

START_TEST(stamp_v6_plain)
{
	SKIP_IF_NEEDED();
	round_trip(SPEC(V6("fd77::2", "fd77::3", IPPROTO_TCP), .sport = 40000, .dport = 80,
			.flags = F_SYN));
	round_trip(SPEC(V6("fd77::2", "fd77::3", IPPROTO_ICMPV6), .type = 128, .id = 3,
			.payload = 56));
}
END_TEST

START_TEST(stamp_v6_ext)
{
	SKIP_IF_NEEDED();
	round_trip(SPEC(V6("fd77::2", "fd77::3", IPPROTO_UDP), .sport = 1, .dport = 2,
			.payload = 64, .ext = { P_DST, P_RT }, .n_ext = 2, .ext_units = 1));
	round_trip(SPEC(V6("fd77::2", "fd77::3", IPPROTO_UDP), .sport = 1, .dport = 2,
			.payload = 64, .ext = { P_FRAG }, .n_ext = 1, .frag = 1));
}
END_TEST

/* A fragment that is not the first: stamped as any, judged without ports. */
START_TEST(fragments)
{
	uint8_t in[BUF], st[BUF], out[BUF];
	size_t inlen, stlen, outlen;

	SKIP_IF_NEEDED();
	round_trip(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .payload = 200,
			.frag = 0x2000 | 100));
	round_trip(SPEC(V6("fd77::2", "fd77::3", IPPROTO_UDP), .payload = 64,
			.ext = { P_FRAG }, .n_ext = 1, .frag = 200 << 3));
	/* a later fragment from a host1 that may not reach host2: no ports, no reply */
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .payload = 200,
			   .frag = 100), in);
	stlen = hand_stamp(in, inlen, 7, st);
	be_host(2, 0, 3, (const int[]){ 1, BITS_END });
	cap(1, 7, false, false);
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_RX_DENIED), 1);
}
END_TEST

START_TEST(non_ip_and_others_untouched)
{
	uint8_t in[BUF], out[BUF];
	size_t inlen, outlen;

	SKIP_IF_NEEDED();
	be_host(1, 0, 7, (const int[]){ 2, BITS_END });
	memset(in, 0x5a, 60);
	pkt_put16(in + 12, 0x0806);	/* ARP */
	ck_assert_int_eq(egress(in, 60, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(outlen, 60);
	ck_assert_mem_eq(out, in, 60);
	ck_assert_int_eq(ingress(in, 60, out, &outlen), RET_UNSPEC);
	ck_assert_mem_eq(out, in, 60);
	/* to and from a mesh peer that is no captun host */
	inlen = frame(SPEC(V4("10.77.0.2", N4, IPPROTO_TCP), .flags = F_SYN), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(outlen, inlen);
	ck_assert_mem_eq(out, in, inlen);
	inlen = frame(SPEC(V4(N4, "10.77.0.2", IPPROTO_TCP), .flags = F_SYN), in);
	ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_UNSPEC);
	ck_assert_mem_eq(out, in, inlen);
	ck_assert_uint_eq(counter(CNT_TX_OTHER), 1);
	ck_assert_uint_eq(counter(CNT_RX_OTHER), 1);
	/* ... unless the setting says drop */
	be_host(1, ATTACH_F_DROP_OTHERS, 7, (const int[]){ 2, BITS_END });
	ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_RX_NON_CAPTUN), 1);
}
END_TEST

START_TEST(control_channel_unstamped)
{
	uint8_t in[BUF], out[BUF];
	size_t inlen, outlen;

	SKIP_IF_NEEDED();
	/* host2 may reach nobody, yet its daemon talks to host1's */
	be_host(2, 0, 4, (const int[]){ BITS_END });
	inlen = frame(SPEC(V4("10.77.0.3", "10.77.0.2", IPPROTO_UDP), .sport = CTL_PORT,
			   .dport = CTL_PORT, .payload = 100), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(outlen, inlen);
	ck_assert_uint_eq(counter(CNT_TX_CONTROL), 1);
	be_host(1, 0, 7, (const int[]){ 2, BITS_END });
	ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_UNSPEC);
	ck_assert_mem_eq(out, in, inlen);
	ck_assert_uint_eq(counter(CNT_RX_CONTROL), 1);
	/* another port of the daemon's host is no control traffic */
	inlen = frame(SPEC(V4("10.77.0.3", "10.77.0.2", IPPROTO_UDP), .sport = CTL_PORT,
			   .dport = 53, .payload = 10), in);
	ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_RX_MISSING_STAMP), 1);
}
END_TEST

/* Egress drop reasons, each counted under its own name. */
START_TEST(egress_drops)
{
	uint8_t in[BUF], out[BUF];
	size_t inlen, outlen;
	struct attach_config c;

	SKIP_IF_NEEDED();
	be_host(3, 0, 5, (const int[]){ 1, BITS_END });
	inlen = frame(SPEC(V4("10.77.0.4", "10.77.0.3", IPPROTO_TCP), .flags = F_SYN), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_TX_DENIED), 1);

	be_host(1, 0, 0, (const int[]){ 2, BITS_END });
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .flags = F_SYN), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_TX_NO_CAPABILITY), 1);

	be_host(1, 0, 7, (const int[]){ 2, BITS_END });
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .ip_opt = 36), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	inlen = frame(SPEC(V6("fd77::2", "fd77::3", IPPROTO_UDP), .ext = { P_HOP }, .n_ext = 1), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_TX_NO_ROOM), 2);

	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .payload = 100), in);
	pkt_put16(in + ETH + 2, 400);	/* longer than the frame */
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	in[ETH] = 0x44;				/* ihl 4: shorter than a header */
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_TX_MALFORMED), 2);

	ck_assert_int_eq(kbpf_config_get(&k, &c), 0);
	c.mtu = 120;
	ck_assert_int_eq(kbpf_config_set(&k, &c), 0);
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .payload = 90), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);	/* 118 + 8 > 120 */
	ck_assert_uint_eq(counter(CNT_TX_TOO_BIG), 1);
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .payload = 84), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);	/* 112 + 8 fits */
	ck_assert_uint_eq(outlen, inlen + 8);
}
END_TEST

/*
 * The frame host1 sends host2 under epoch 7 (TCP SYN, IPv4 or 6), stamped
 * by hand: host1's egress would note the flow in the one conntrack map the
 * test has, and host2 would then take its packets for replies.
 */
static size_t stamped(uint8_t *out, bool v6, uint8_t flags)
{
	uint8_t in[BUF];
	size_t inlen;

	inlen = frame(v6 ? SPEC(V6("fd77::2", "fd77::3", IPPROTO_TCP), .sport = 40000,
				.dport = 80, .flags = flags) :
			   SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .sport = 40000,
				.dport = 80, .flags = flags), in);
	return hand_stamp(in, inlen, 7, out);
}

START_TEST(ingress_drops)
{
	uint8_t st[BUF], in[BUF], out[BUF];
	size_t stlen, inlen, outlen;

	SKIP_IF_NEEDED();
	for (int v6 = 0; v6 <= 1; v6++) {
		uint64_t base[CNT_COUNT];

		ck_assert_int_eq(kbpf_counters(&k, base), 0);
		stlen = stamped(st, v6, F_SYN);
		be_host(2, 0, 3, (const int[]){ 1, BITS_END });
		cap_del(1, 7);
		/* unknown epoch */
		ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_UNKNOWN_EPOCH), base[CNT_RX_UNKNOWN_EPOCH] + 1);
		/* superseded */
		cap(1, 7, true, true);
		ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_STALE_EPOCH), base[CNT_RX_STALE_EPOCH] + 1);
		/* denied */
		cap(1, 7, false, false);
		ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_DENIED), base[CNT_RX_DENIED] + 1);
		cap(1, 7, true, false);
		ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_UNSPEC);
		/* a malformed stamp: wrong length byte, then epoch 0 */
		memcpy(in, st, stlen);
		in[ETH + (v6 ? 43 : 21)] = 6;
		ck_assert_int_eq(ingress(in, stlen, out, &outlen), RET_SHOT);
		memcpy(in, st, stlen);
		memset(in + ETH + (v6 ? 44 : 24), 0, 4);
		ck_assert_int_eq(ingress(in, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_MALFORMED_STAMP), base[CNT_RX_MALFORMED_STAMP] + 2);
		/* truncated: the IP length says more than the frame holds */
		ck_assert_int_eq(ingress(st, stlen - 1, out, &outlen), RET_SHOT);
		ck_assert_int_eq(ingress(st, ETH + (v6 ? 44 : 24), out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_MALFORMED), base[CNT_RX_MALFORMED] + 2);
		/* the same packet arriving at host3: not for it */
		be_host(3, 0, 3, (const int[]){ 1, BITS_END });
		cap(1, 7, true, false);
		ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_NOT_FOR_US), base[CNT_RX_NOT_FOR_US] + 1);
		/* no stamp at all from a captun host */
		be_host(2, 0, 3, (const int[]){ 1, BITS_END });
		inlen = frame(v6 ? SPEC(V6("fd77::2", "fd77::3", IPPROTO_TCP), .flags = F_SYN) :
				   SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .flags = F_SYN), in);
		ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_MISSING_STAMP), base[CNT_RX_MISSING_STAMP] + 1);
		/* spoofed: our own address as source; a stamp from a non-captun peer */
		inlen = frame(v6 ? SPEC(V6("fd77::3", "fd77::3", IPPROTO_TCP), .flags = F_SYN) :
				   SPEC(V4("10.77.0.3", "10.77.0.3", IPPROTO_TCP), .flags = F_SYN), in);
		ck_assert_int_eq(ingress(in, inlen, out, &outlen), RET_SHOT);
		memcpy(in, st, stlen);
		if (v6)
			addr16("fd77::9", in + ETH + 8);
		else
			inet_pton(AF_INET, N4, in + ETH + 12);
		ck_assert_int_eq(ingress(in, stlen, out, &outlen), RET_SHOT);
		ck_assert_uint_eq(counter(CNT_RX_SPOOFED), base[CNT_RX_SPOOFED] + 2);
	}
}
END_TEST

/*
 * The conntrack rule: host1 opens to host2, whose capability lacks host1:
 * host2's answers pass as replies (not in strict mode). A flow host2 opened
 * is no reply channel for host2 once its capability lacks host1. Packets of
 * host2 are stamped by hand (the test's one conntrack map is host1's).
 */
START_TEST(replies_follow_the_opener)
{
	uint8_t in[BUF], q[BUF], st[BUF], out[BUF];
	size_t inlen, qlen, stlen, outlen;

	SKIP_IF_NEEDED();
	be_host(1, 0, 7, (const int[]){ 2, BITS_END });
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_TCP), .sport = 40000,
			   .dport = 80, .flags = F_SYN), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);	/* host1 opens */
	inlen = frame(SPEC(V4("10.77.0.3", "10.77.0.2", IPPROTO_TCP), .sport = 80,
			   .dport = 40000, .flags = F_SYN | F_ACK), in);
	stlen = hand_stamp(in, inlen, 5, st);
	cap(2, 5, false, false);				/* host2 lacks host1 */
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(counter(CNT_RX_REPLY), 1);
	ck_assert_uint_eq(outlen, inlen);
	ck_assert_mem_eq(out, in, inlen);
	be_host(1, ATTACH_F_STRICT, 7, (const int[]){ 2, BITS_END });	/* strict: no */
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);

	/* host2 opens a UDP flow to host1 while its epoch 6 allows it ... */
	be_host(1, 0, 7, (const int[]){ BITS_END });		/* host1 reaches nobody */
	qlen = frame(SPEC(V4("10.77.0.3", "10.77.0.2", IPPROTO_UDP), .sport = 7000,
			  .dport = 53, .payload = 20), q);
	stlen = hand_stamp(q, qlen, 6, st);
	cap(2, 6, true, false);
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_UNSPEC);
	/* ... host1's answer passes as a reply to host2's flow ... */
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .sport = 53,
			   .dport = 7000, .payload = 20), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(counter(CNT_TX_REPLY), 1);
	/* ... but host1 opens nothing new to host2 ... */
	inlen = frame(SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP), .sport = 54,
			   .dport = 7000, .payload = 20), in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_TX_DENIED), 1);
	/* ... and once host2's epoch 8 lacks host1, host2's own flow carries nothing */
	cap(2, 6, true, true);
	cap(2, 8, false, false);
	stlen = hand_stamp(q, qlen, 8, st);
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);
	ck_assert_uint_eq(counter(CNT_RX_DENIED), 2);	/* with the strict one above */
}
END_TEST

/* An ICMP error about a flow the receiver opened is a reply too. */
START_TEST(icmp_errors_of_our_flows)
{
	uint8_t in[BUF], st[BUF], out[BUF];
	size_t inlen, stlen, outlen;
	const struct spec *udp = SPEC(V4("10.77.0.2", "10.77.0.3", IPPROTO_UDP),
				      .sport = 5000, .dport = 6000, .payload = 10);
	const struct spec *err = SPEC(V4("10.77.0.3", "10.77.0.2", IPPROTO_ICMP), .type = 3,
				      .code = 3, .inner = udp);

	SKIP_IF_NEEDED();
	be_host(1, 0, 7, (const int[]){ 2, BITS_END });
	inlen = frame(err, in);
	stlen = hand_stamp(in, inlen, 5, st);
	cap(2, 5, false, false);
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_SHOT);	/* no such flow */
	inlen = frame(udp, in);
	ck_assert_int_eq(egress(in, inlen, out, &outlen), RET_UNSPEC);	/* host1 opens it */
	ck_assert_int_eq(ingress(st, stlen, out, &outlen), RET_UNSPEC);
	ck_assert_uint_eq(counter(CNT_RX_REPLY), 1);
}
END_TEST

/* ---- property: nothing passes with a stamp that does not verify ------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static bool is_addr(const uint8_t *a, const char *txt)
{
	uint8_t b[16];

	addr16(txt, b);
	return memcmp(a, b, 16) == 0;
}

/*
 * The oracle, written apart from the program: host2 knows host1 under
 * epoch 7 (allowed) and 6 (superseded), host3 under epoch 4 (denied);
 * strict mode, so nothing passes on conntrack. A packet from host1 or
 * host3 (or claiming host2's own address) may pass only as control
 * traffic, unchanged, or with host1's exact stamp for epoch 7 as its first
 * option / extension header, and then must come out with exactly that
 * stamp removed.
 */
static void oracle(const uint8_t *in, size_t len, int ret, const uint8_t *out, size_t outlen)
{
	uint8_t src[16], dst[16], exp[BUF];
	const uint8_t *ip = in + ETH;
	bool v4, from_host;
	size_t hl;

	if (ret == RET_SHOT || len < ETH + 40)
		return;
	v4 = pkt_rd16(in + 12) == 0x0800;
	if (!v4 && pkt_rd16(in + 12) != 0x86dd) {
		ck_assert(outlen == len && memcmp(out, in, len) == 0);
		return;
	}
	memset(src, 0, 16);
	memset(dst, 0, 16);
	if (v4) {
		src[10] = src[11] = dst[10] = dst[11] = 0xff;
		memcpy(src + 12, ip + 12, 4);
		memcpy(dst + 12, ip + 16, 4);
	} else {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
	}
	from_host = is_addr(src, "10.77.0.2") || is_addr(src, "fd77::2") ||
		    is_addr(src, "10.77.0.4") || is_addr(src, "fd77::4") ||
		    is_addr(src, "10.77.0.3") || is_addr(src, "fd77::3");
	if (!from_host)
		return;
	ck_assert_msg(is_addr(dst, "10.77.0.3") || is_addr(dst, "fd77::3"),
		      "passed a packet from a captun host to another address");
	if (outlen == len && memcmp(out, in, len) == 0) {
		/* unchanged: only control traffic may pass like this */
		size_t l4 = v4 ? (size_t)(ip[0] & 0xf) * 4 : 40;
		uint8_t proto = v4 ? ip[9] : ip[6];

		while (!v4 && (proto == 0 || proto == 43 || proto == 60) && ETH + l4 + 8 <= len) {
			proto = ip[l4];
			l4 += ((size_t)ip[l4 + 1] + 1) * 8;
		}
		ck_assert_msg(proto == IPPROTO_UDP && len >= ETH + l4 + 4 &&
			      pkt_rd16(ip + l4) == CTL_PORT && pkt_rd16(ip + l4 + 2) == CTL_PORT,
			      "passed an unstamped packet from a captun host");
		return;
	}
	ck_assert_msg(is_addr(src, "10.77.0.2") || is_addr(src, "fd77::2"),
		      "passed a stamped packet of a host whose capability lacks us");
	if (v4) {
		static const uint8_t want[8] = { 0x9e, 8, 0, 0, 0, 0, 0, 7 };

		hl = (size_t)(ip[0] & 0xf) * 4;
		ck_assert_msg(hl >= 28 && memcmp(ip + 20, want, 8) == 0,
			      "passed an IPv4 packet without host1's epoch-7 stamp");
		memcpy(exp, in, ETH + 20);
		memcpy(exp + ETH + 20, ip + 28, len - ETH - 28);
		exp[ETH] = (uint8_t)(ip[0] - 2);
		pkt_put16(exp + ETH + 2, (uint16_t)(pkt_rd16(ip + 2) - 8));
		ck_assert_uint_eq(outlen, len - 8);
		ck_assert_mem_eq(out, exp, ETH + 10);
		ck_assert_mem_eq(out + ETH + 12, exp + ETH + 12, outlen - ETH - 12);
		if (pkt_sum(ip, hl, 0) == 0xffff)
			ck_assert(v4_csum_ok(out));
	} else {
		ck_assert_msg(ip[6] == 60 && ip[41] == 0 && ip[42] == 0x1e && ip[43] == 4 &&
			      pkt_rd32(ip + 44) == 7,
			      "passed an IPv6 packet without host1's epoch-7 stamp");
		memcpy(exp, in, ETH + 40);
		memcpy(exp + ETH + 40, ip + 48, len - ETH - 48);
		exp[ETH + 6] = ip[40];
		pkt_put16(exp + ETH + 4, (uint16_t)(pkt_rd16(ip + 4) - 8));
		ck_assert_uint_eq(outlen, len - 8);
		ck_assert_mem_eq(out, exp, outlen);
	}
}

/* A random packet: a stamped one of host1 or host3 or a raw one, then mutated. */
static size_t random_packet(uint8_t *buf)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 47 };
	uint8_t in[BUF];
	size_t len, inlen;
	int kind = (int)(rnd() % 8);
	bool v6 = rnd() & 1;
	uint8_t proto = protos[rnd() % 4];
	const char *src = (rnd() & 1) ? (v6 ? "fd77::2" : "10.77.0.2") : (v6 ? "fd77::4" : "10.77.0.4");

	if (v6 && proto == IPPROTO_ICMP)
		proto = IPPROTO_ICMPV6;
	if (kind == 0) {
		len = ETH + 20 + rnd() % 100;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		pkt_put16(buf + 12, (rnd() & 1) ? 0x0800 : 0x86dd);
		return len;
	}
	inlen = frame(v6 ? SPEC(V6(src, "fd77::3", proto), .sport = CTL_PORT, .dport = CTL_PORT,
				.payload = (uint16_t)(rnd() % 64), .type = 128,
				.ext = { P_DST }, .n_ext = (uint8_t)(rnd() % 2)) :
			   SPEC(V4(src, "10.77.0.3", proto), .sport = CTL_PORT, .dport = CTL_PORT,
				.payload = (uint16_t)(rnd() % 64), .type = 8,
				.ip_opt = (uint8_t)(4 * (rnd() % 3)),
				.frag = (uint16_t)((rnd() % 4 == 0) ? 0x20 : 0)), in);
	/* stamp it with the sender's epoch (host1: 7 or 6, host3: 4) */
	{
		bool h1 = src[strlen(src) - 1] == '2';
		uint32_t epoch = h1 ? ((rnd() & 3) ? 7 : 6) : 4;

		be_host(h1 ? 1 : 3, 0, epoch, (const int[]){ 1, 2, 3, BITS_END });
		if (kind == 1) {
			memcpy(buf, in, inlen);
			len = inlen;
		} else {
			ck_assert_int_eq(egress(in, inlen, buf, &len), RET_UNSPEC);
		}
	}
	for (int m = (int)(rnd() % 4); m > 0 && len > ETH; m--) {
		switch (rnd() % 5) {
		case 0:
			buf[ETH + rnd() % (len - ETH)] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			buf[ETH + rnd() % (len - ETH < 60 ? len - ETH : 60)] = (uint8_t)rnd();
			break;
		case 2:
			len -= rnd() % (len - ETH);
			break;
		case 3:	/* the stamp's bytes */
			if (len > ETH + 48)
				buf[ETH + (v6 ? 40 : 20) + rnd() % 8] = (uint8_t)rnd();
			break;
		default:
			if (len > ETH + 48)
				buf[ETH + (v6 ? 44 : 24) + rnd() % 4] ^= (uint8_t)(1 + rnd() % 255);
			break;
		}
	}
	return len;
}

START_TEST(property_ingress_never_passes_bad_stamps)
{
	const char *iters_env = getenv("KBPF_PROPERTY_ITERS");
	long iters = iters_env ? atol(iters_env) : 20000;
	uint8_t in[BUF], out[BUF];
	size_t inlen, outlen;
	long passed = 0;

	SKIP_IF_NEEDED();
	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	printf("# kbpf property: %ld packets, seed %llu\n", iters, (unsigned long long)rng_state);
	for (long i = 0; i < iters; i++) {
		int ret;

		inlen = random_packet(in);
		be_host(2, ATTACH_F_STRICT, 3, (const int[]){ 1, 3, BITS_END });
		cap(1, 7, true, false);
		cap(1, 6, true, true);
		cap(3, 4, false, false);
		if (inlen < ETH)
			continue;
		ret = ingress(in, inlen, out, &outlen);
		oracle(in, inlen, ret, out, outlen);
		passed += ret != RET_SHOT;
	}
	printf("# kbpf property: %ld passed ingress, every one verified\n", passed);
	ck_assert_int_gt(passed, 0);
}
END_TEST

Suite *suite_kbpf(void)
{
	Suite *s = suite_create("kbpf");
	TCase *tc = tcase_create("tc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stamp_v4_plain);
	tcase_add_test(tc, stamp_v4_options);
	tcase_add_test(tc, stamp_v6_plain);
	tcase_add_test(tc, stamp_v6_ext);
	tcase_add_test(tc, fragments);
	tcase_add_test(tc, non_ip_and_others_untouched);
	tcase_add_test(tc, control_channel_unstamped);
	tcase_add_test(tc, egress_drops);
	tcase_add_test(tc, ingress_drops);
	tcase_add_test(tc, replies_follow_the_opener);
	tcase_add_test(tc, icmp_errors_of_our_flows);
	tcase_add_test(tc, property_ingress_never_passes_bad_stamps);
	suite_add_tcase(s, tc);
	kbpf_sock_tcases(s);
	return s;
}
