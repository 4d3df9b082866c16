/*
 * tests/fuzz/fuzz_inet.c - libFuzzer harness for shim/inet.h and
 * shim/conntrack.h: arbitrary bytes as an inner IP packet.
 *
 * Whatever inet_parse accepts must describe a packet that fits the input;
 * the refusals built for it (inet_reject, inet_too_big) must fit
 * INET_REJECT_MAX, parse back with the endpoints swapped, carry valid
 * checksums, quote the original's flow, and never draw an answer
 * themselves. The flow then goes through a small connection table shared
 * by all inputs, so eviction and expiry run too. A broken invariant
 * abort()s with a message on stderr.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "inet.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	TCPF_RST = 0x04,
	CT_CAPACITY = 64,
};

/* One small table for the whole run, and its clock, 250 ms per input. */
static struct conntrack *ct;
static uint64_t now_ns;

/* ICMP of the flow's own family. */
static bool is_icmp(const struct inet_flow *f)
{
	return (f->family == AF_INET && f->proto == IPPROTO_ICMP) ||
	       (f->family == AF_INET6 && f->proto == IPPROTO_ICMPV6);
}

/* Checks what inet_parse reported against the input it came from. */
static void check_flow(const struct inet_flow *f, size_t size)
{
	CHECK(f->family == AF_INET || f->family == AF_INET6);
	CHECK(f->total_len <= size);
	CHECK(f->total_len >= (f->family == AF_INET ? 20 : 40));
	CHECK(inet_addr_is4(&f->src) == (f->family == AF_INET));
	CHECK(inet_addr_is4(&f->dst) == (f->family == AF_INET));
	if (f->family == AF_INET6)
		CHECK(f->df);
	if (f->fragment)
		CHECK(f->sport == 0 && f->dport == 0 && !f->icmp_error);
	if (f->icmp_error) {
		CHECK(is_icmp(f));
		CHECK(inet_addr_is4(&f->related.src) == (f->family == AF_INET));
	}
	if (f->proto != IPPROTO_TCP)
		CHECK(f->tcp_flags == 0);
}

/* The checksums of a built packet, from the library's own helpers. */
static void check_sums(const uint8_t *p, size_t n, const struct inet_flow *r)
{
	size_t hl = r->family == AF_INET ? 20 : 40;
	uint8_t tail[4] = { 0, 0, 0, 0 };
	uint32_t sum = 0;

	CHECK(n > hl);
	if (r->family == AF_INET) {
		CHECK(inet_csum_fold(inet_csum_add(0, p, hl)) == 0);
		if (r->proto == IPPROTO_TCP) {
			sum = inet_csum_add(0, p + 12, 8);
			tail[2] = (uint8_t)((n - hl) >> 8);
			tail[3] = (uint8_t)(n - hl);
			sum = inet_csum_add(sum, tail, 4) + IPPROTO_TCP;
		}
	} else {
		sum = inet_csum_add(0, p + 8, 32);
		tail[2] = (uint8_t)((n - hl) >> 8);
		tail[3] = (uint8_t)(n - hl);
		sum = inet_csum_add(sum, tail, 4) + r->proto;
	}
	CHECK(inet_csum_fold(inet_csum_add(sum, p + hl, n - hl)) == 0);
}

/* An answer to f: parses, goes back, is valid, and is never answered. */
static void check_answer(const uint8_t *p, size_t n, const struct inet_flow *f,
			 bool rst_allowed)
{
	uint8_t again[INET_REJECT_MAX];
	struct inet_flow r;

	CHECK(n <= INET_REJECT_MAX);
	CHECK(inet_parse(p, n, &r));
	check_flow(&r, n);
	CHECK(r.family == f->family);
	CHECK(memcmp(&r.src, &f->dst, sizeof(r.src)) == 0);
	CHECK(memcmp(&r.dst, &f->src, sizeof(r.dst)) == 0);
	check_sums(p, n, &r);
	if (r.proto == IPPROTO_TCP) {
		CHECK(rst_allowed && f->proto == IPPROTO_TCP);
		CHECK(r.tcp_flags & TCPF_RST);
		CHECK(r.sport == f->dport && r.dport == f->sport);
	} else {
		CHECK(is_icmp(&r) && r.icmp_error);
		CHECK(memcmp(&r.related.src, &f->src, sizeof(r.related.src)) == 0);
		CHECK(memcmp(&r.related.dst, &f->dst, sizeof(r.related.dst)) == 0);
		/*
		 * A quote cut inside the IPv6 chain ends on an extension;
		 * one cut right after it has no ports.
		 */
		if (r.related.proto == f->proto)
			CHECK((r.related.sport == f->sport &&
			       r.related.dport == f->dport) ||
			      (r.related.sport == 0 && r.related.dport == 0 &&
			       f->total_len >= n - (f->family == AF_INET ? 28 : 48)));
		CHECK(inet_too_big(p, n, &r, 1280, again) == 0);
	}
	CHECK(inet_reject(p, n, &r, again) == 0);
}

/* The reverse of a flow, as a reply would look. */
static struct inet_flow reverse(const struct inet_flow *f)
{
	struct inet_flow r = *f;

	r.src = f->dst;
	r.dst = f->src;
	r.sport = f->dport;
	r.dport = f->sport;
	return r;
}

/* One input: parse, refuse, too big, and the connection table. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[INET_REJECT_MAX];
	struct conntrack_stats st;
	struct inet_flow f, r;
	unsigned mtu;
	size_t n;

	if (!ct && conntrack_create(&ct, CT_CAPACITY) != 0)
		abort();
	now_ns += UINT64_C(250000000);
	if (!inet_parse(data, size, &f))
		return 0;
	check_flow(&f, size);

	n = inet_reject(data, size, &f, out);
	if (n)
		check_answer(out, n, &f, true);
	mtu = size >= 2 ? (unsigned)(data[size - 2] << 8 | data[size - 1]) : 1280;
	n = inet_too_big(data, size, &f, mtu, out);
	if (n)
		check_answer(out, n, &f, false);
	n = inet_too_big(data, size, &f, 1280, out);
	if (n)
		check_answer(out, n, &f, false);

	/*
	 * The packet opens (or continues) a flow of ours; when it opened a new
	 * UDP flow between two distinct endpoints, its reverse is a reply; and
	 * the packet is judged as the peer's too, allowed or not.
	 */
	conntrack_stats_get(ct, &st);
	{
		uint64_t inserted = st.inserted;
		enum conntrack_verdict v = conntrack_judge(ct, &f, CONNTRACK_OUT, true,
							   false, 1, now_ns);

		CHECK(v == CT_PASS || v == CT_DENY_ICMP);
		r = reverse(&f);
		conntrack_stats_get(ct, &st);
		if (f.proto == IPPROTO_UDP && !f.fragment && st.inserted == inserted + 1 &&
		    (memcmp(&f.src, &f.dst, sizeof(f.src)) != 0 || f.sport != f.dport))
			CHECK(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1,
					      now_ns) == CT_PASS_REPLY);
		(void)conntrack_judge(ct, &f, CONNTRACK_IN, data[0] & 1, data[0] & 2,
				      (uint16_t)(size % 3), now_ns);
	}
	conntrack_stats_get(ct, &st);
	CHECK(st.entries <= st.capacity && st.capacity == CT_CAPACITY);
	if ((now_ns / UINT64_C(250000000)) % 512 == 0)
		conntrack_expire(ct, now_ns);
	return 0;
}
