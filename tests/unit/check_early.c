/*
 * tests/unit/check_early.c - the early-drop XDP program (kernel-bpf/
 * early.bpf.c) run by the kernel through BPF_PROG_TEST_RUN on crafted
 * Ethernet frames: data to handed-out and unknown receiver indices, every
 * drop reason with its counter, what must pass untouched (other ports,
 * other protocols, fragments, IPv6 extension headers, non-IP), the
 * per-source handshake budget (IPv4 address, IPv6 /64) and its refill,
 * and random datagrams to the port, none of which pass unless capshim
 * handed out their index or they are handshakes within budget.
 *
 * Needs root and a kernel with BTF; otherwise each test says SKIP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <check.h>
#include <sodium.h>

#include "early.skel.h"
#include "earlydrop.h"
#include "suites.h"

enum {
	PORT = 51900,
	PER_S = 80,
	BURST = 20,
	XDP_DROP_ = 1,
	XDP_PASS_ = 2,
	FRAME_MAX = 1600,
};

static struct earlydrop e;
static const char *skip_why;

static void setup(void)
{
	skip_why = NULL;
	memset(&e, 0, sizeof(e));
	if (geteuid() != 0) {
		skip_why = "not root";
		return;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		skip_why = "no kernel BTF";
		return;
	}
	/* a verifier rejection is a failure, never a skip */
	ck_assert_msg(earlydrop_load(&e, PORT, PER_S, BURST) == 0, "%s", e.err);
}

static void teardown(void)
{
	earlydrop_close(&e);
}

#define SKIP_IF_NEEDED()                                              \
	do {                                                          \
		if (skip_why) {                                       \
			printf("SKIP: %s: %s\n", __func__, skip_why); \
			return;                                       \
		}                                                     \
	} while (0)

/* A frame: Ethernet, IPv4 or IPv6 from src, UDP to dport, payload. */
struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void build(struct frame *f, const char *src, uint16_t dport,
		  const uint8_t *pl, size_t plen)
{
	bool v6 = strchr(src, ':') != NULL;
	size_t ip = v6 ? 40 : 20;
	uint8_t *p = f->b;

	ck_assert_uint_le(14 + ip + 8 + plen, sizeof(f->b));
	memset(f->b, 0, sizeof(f->b));
	memset(p, 0x02, 12);
	put16(p + 12, v6 ? 0x86dd : 0x0800);
	p += 14;
	if (v6) {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)(8 + plen));
		p[6] = 17;
		p[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, src, p + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd99::3", p + 24), 1);
	} else {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(20 + 8 + plen));
		p[8] = 64;
		p[9] = 17;
		ck_assert_int_eq(inet_pton(AF_INET, src, p + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, "10.99.0.3", p + 16), 1);
	}
	p += ip;
	put16(p, 40000);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + plen));
	memcpy(p + 8, pl, plen);
	f->len = 14 + ip + 8 + plen;
}

/* The program's verdict on the frame. */
static int run(const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .repeat = 1);
	int fd = bpf_program__fd(e.skel->progs.captun_early);

	ck_assert_int_eq(bpf_prog_test_run_opts(fd, &o), 0);
	return (int)o.retval;
}

/* A data (or control) message of len bytes to index. */
static size_t data_msg(uint8_t *m, uint8_t type, uint32_t index, size_t len)
{
	memset(m, 0xab, len);
	m[0] = type;
	m[1] = m[2] = m[3] = 0;
	m[4] = (uint8_t)(index >> 24);
	m[5] = (uint8_t)(index >> 16);
	m[6] = (uint8_t)(index >> 8);
	m[7] = (uint8_t)index;
	return len;
}

static uint64_t counter(enum early_counter c)
{
	uint64_t v[EARLY_COUNTERS];

	ck_assert_int_eq(earlydrop_counters(&e, v), 0);
	return v[c];
}

START_TEST(test_data_by_index)
{
	uint8_t m[1500];
	struct frame f;

	SKIP_IF_NEEDED();
	build(&f, "10.99.0.2", PORT, m, data_msg(m, 4, 0x12345678, 1200));
	ck_assert_int_eq(run(&f), XDP_DROP_);
	ck_assert_uint_eq(counter(EARLY_DROP_INDEX), 1);
	ck_assert_int_eq(earlydrop_index_set(&e, 0x12345678, true), 0);
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "fd99::2", PORT, m, data_msg(m, 5, 0x12345678, 36));
	ck_assert_int_eq(run(&f), XDP_PASS_);
	ck_assert_uint_eq(counter(EARLY_PASS_DATA), 2);
	/* one index handed out is not its neighbour */
	build(&f, "10.99.0.2", PORT, m, data_msg(m, 4, 0x12345679, 100));
	ck_assert_int_eq(run(&f), XDP_DROP_);
	/* taken back: dropped again; taking it back twice is no error */
	ck_assert_int_eq(earlydrop_index_set(&e, 0x12345678, false), 0);
	ck_assert_int_eq(earlydrop_index_set(&e, 0x12345678, false), 0);
	build(&f, "10.99.0.2", PORT, m, data_msg(m, 4, 0x12345678, 1200));
	ck_assert_int_eq(run(&f), XDP_DROP_);
	ck_assert_uint_eq(counter(EARLY_DROP_INDEX), 3);
}
END_TEST

/* Malformed datagrams to the port: each dropped, each counted. */
START_TEST(test_drop_reasons)
{
	static const struct {
		uint8_t m[40];
		size_t len;
		enum early_counter c;
	} cases[] = {
		{ { 4, 0, 0, 0, 1, 2, 3, 4 }, 35, EARLY_DROP_SHORT },	/* under a header + tag */
		{ { 4, 0, 0 }, 3, EARLY_DROP_SHORT },
		{ { 1, 0, 0, 0, 9 }, 7, EARLY_DROP_SHORT },
		{ { 0 }, 0, EARLY_DROP_SHORT },
		{ { 4, 1, 0, 0 }, 40, EARLY_DROP_TYPE },		/* reserved bits */
		{ { 1, 0, 0, 1 }, 40, EARLY_DROP_TYPE },
		{ { 9, 0, 0, 0 }, 40, EARLY_DROP_TYPE },		/* unknown type */
		{ { 0, 0, 0, 0 }, 40, EARLY_DROP_TYPE },
		{ { 6, 0, 0, 0 }, 40, EARLY_DROP_TYPE },
	};
	uint64_t before[EARLY_COUNTERS], after[EARLY_COUNTERS];
	struct frame f;

	SKIP_IF_NEEDED();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(earlydrop_counters(&e, before), 0);
		build(&f, i % 2 ? "fd99::2" : "10.99.0.2", PORT, cases[i].m, cases[i].len);
		ck_assert_msg(run(&f) == XDP_DROP_, "case %zu passed", i);
		ck_assert_int_eq(earlydrop_counters(&e, after), 0);
		for (int c = 0; c < EARLY_COUNTERS; c++)
			ck_assert_msg(after[c] - before[c] == (c == (int)cases[i].c),
				      "case %zu: counter %s", i, earlydrop_counter_name(c));
	}
}
END_TEST

/* What is not capshim's, or not judged here, passes untouched. */
START_TEST(test_passes_untouched)
{
	uint8_t m[200];
	struct frame f;

	SKIP_IF_NEEDED();
	data_msg(m, 4, 0xdead, 100);
	build(&f, "10.99.0.2", PORT + 1, m, 100);	/* another port */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "fd99::2", 53, m, 100);
	ck_assert_int_eq(run(&f), XDP_PASS_);
	ck_assert_uint_eq(counter(EARLY_PASS_OTHER), 2);

	build(&f, "10.99.0.2", PORT, m, 100);
	f.b[14 + 9] = 6;				/* TCP */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "10.99.0.2", PORT, m, 100);
	put16(f.b + 14 + 6, 0x2000);			/* MF: a first fragment */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "10.99.0.2", PORT, m, 100);
	put16(f.b + 14 + 6, 0x0010);			/* a later fragment */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "fd99::2", PORT, m, 100);
	f.b[14 + 6] = 60;				/* destination options first */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "10.99.0.2", PORT, m, 100);
	put16(f.b + 12, 0x0806);			/* ARP */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "10.99.0.2", PORT, m, 100);
	f.len = 14 + 20 + 4;				/* truncated UDP header */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	build(&f, "10.99.0.2", PORT, m, 100);
	put16(f.b + 14 + 20 + 4, 8 + 500);		/* UDP length past the frame */
	ck_assert_int_eq(run(&f), XDP_PASS_);
	ck_assert_uint_eq(counter(EARLY_DROP_INDEX), 0);

	/* padding after the datagram does not count as message */
	build(&f, "10.99.0.2", PORT, m, data_msg(m, 4, 0xdead, 20));
	f.len += 60;
	ck_assert_int_eq(run(&f), XDP_DROP_);
	ck_assert_uint_eq(counter(EARLY_DROP_SHORT), 1);
}
END_TEST

/* Sends n initiations from src; how many passed. */
static int initiations(const char *src, int n)
{
	uint8_t m[148] = { 1 };
	struct frame f;
	int passed = 0;

	build(&f, src, PORT, m, sizeof(m));
	for (int i = 0; i < n; i++)
		passed += run(&f) == XDP_PASS_;
	return passed;
}

START_TEST(test_handshake_budget)
{
	uint8_t resp[92] = { 2 }, cookie[64] = { 3 };
	struct frame f;
	struct timespec ts = { 0, 120 * 1000 * 1000 };

	SKIP_IF_NEEDED();
	/* a burst of BURST, then nothing (the test runs in far under 1/PER_S per message) */
	ck_assert_int_eq(initiations("10.99.0.5", BURST), BURST);
	ck_assert_int_le(initiations("10.99.0.5", 10), 3);
	/* responses and cookie replies share the bucket */
	build(&f, "10.99.0.5", PORT, resp, sizeof(resp));
	ck_assert_int_eq(run(&f), XDP_DROP_);
	build(&f, "10.99.0.5", PORT, cookie, sizeof(cookie));
	ck_assert_int_eq(run(&f), XDP_DROP_);
	/* another source has its own bucket */
	ck_assert_int_eq(initiations("10.99.0.6", 3), 3);
	/* IPv6: one bucket per /64 */
	ck_assert_int_ge(initiations("fd99:1:2:3::1", BURST), BURST - 1);
	ck_assert_int_le(initiations("fd99:1:2:3:ffff::9", 5), 1);
	ck_assert_int_eq(initiations("fd99:1:2:4::1", 2), 2);
	ck_assert_uint_ge(counter(EARLY_DROP_HANDSHAKE), 10);
	/* data is not charged to the budget */
	ck_assert_int_eq(earlydrop_index_set(&e, 7, true), 0);
	build(&f, "10.99.0.5", PORT, resp, data_msg(resp, 4, 7, 80));
	ck_assert_int_eq(run(&f), XDP_PASS_);
	/* the bucket refills at PER_S: 120 ms is at least 9 tokens */
	nanosleep(&ts, NULL);
	ck_assert_int_ge(initiations("10.99.0.5", 5), 5);
}
END_TEST

/* Random datagrams to the port: none passes unless handed out or budgeted. */
START_TEST(test_random_never_pass)
{
	uint8_t m[300];
	struct frame f;
	char src[32];

	SKIP_IF_NEEDED();
	ck_assert_int_eq(earlydrop_index_set(&e, 0x01020304, true), 0);
	for (int i = 0; i < 3000; i++) {
		size_t len = randombytes_uniform(sizeof(m) + 1);
		uint32_t index;
		int v;

		randombytes_buf(m, len);
		if (i % 3 == 0 && len > 0)
			m[0] = (uint8_t)(1 + randombytes_uniform(5));
		if (i % 5 == 0 && len >= 4)
			m[1] = m[2] = m[3] = 0;
		if (i % 50 == 0 && len >= 8)
			data_msg(m, 4, 0x01020304, len);
		snprintf(src, sizeof(src), "10.98.%u.%u", randombytes_uniform(256),
			 randombytes_uniform(256));
		build(&f, src, PORT, m, len);
		v = run(&f);
		if (v != XDP_PASS_)
			continue;
		ck_assert_uint_ge(len, 8);
		ck_assert(m[1] == 0 && m[2] == 0 && m[3] == 0);
		index = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 |
			(uint32_t)m[6] << 8 | m[7];
		ck_assert_msg((m[0] >= 1 && m[0] <= 3) ||
			      ((m[0] == 4 || m[0] == 5) && len >= 36 && index == 0x01020304),
			      "type %u len %zu index %08x passed", m[0], len, index);
	}
}
END_TEST

/* Attaching: to a veth in a private namespace would need one; lo is enough. */
START_TEST(test_attach_detach)
{
	SKIP_IF_NEEDED();
	ck_assert_int_lt(earlydrop_attach(&e, "captun-no-such-if"), 0);
	ck_assert_ptr_nonnull(strstr(e.err, "captun-no-such-if"));
}
END_TEST

Suite *suite_early(void)
{
	Suite *s = suite_create("early");
	TCase *tc = tcase_create("xdp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_data_by_index);
	tcase_add_test(tc, test_drop_reasons);
	tcase_add_test(tc, test_passes_untouched);
	tcase_add_test(tc, test_handshake_budget);
	tcase_add_test(tc, test_random_never_pass);
	tcase_add_test(tc, test_attach_detach);
	suite_add_tcase(s, tc);
	return s;
}
