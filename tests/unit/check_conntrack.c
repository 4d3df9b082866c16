/*
 * tests/unit/check_conntrack.c - shim/conntrack.h: replies to noted flows,
 * direction, timeouts by protocol and TCP state (time passed explicitly),
 * ICMP echo and ICMP errors, eviction and expiry keeping the table
 * bounded and every surviving entry reachable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "inet.h"
#include "suites.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MS(x) ((uint64_t)(x) * UINT64_C(1000000))
#define SEC(x) MS((uint64_t)(x) * 1000)

enum {
	F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_ACK = 0x10,
	STEPS_MAX = 12,
};

/* Endpoints by family: a is this host, b the peer, r a router. */
static const char *const addr_a[2] = { "10.0.0.1", "fd00::1" };
static const char *const addr_b[2] = { "10.0.0.2", "fd00::2" };
static const char *const addr_r[2] = { "192.0.2.9", "2001:db8::9" };

/* Tests run each case in both families; v6 picks one. */
static uint8_t fam(int v6)
{
	return v6 ? AF_INET6 : AF_INET;
}

/* An address as struct inet_flow holds it (v4-mapped for IPv4). */
static void t_addr(int v6, const char *txt, struct in6_addr *out)
{
	struct in_addr a4;

	if (!v6) {
		ck_assert_int_eq(inet_pton(AF_INET, txt, &a4), 1);
		inet_addr_from4(out, &a4);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, txt, out), 1);
	}
}

/* A flow src:sport -> dst:dport as inet_parse would describe it. */
static struct inet_flow mk(int v6, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, uint8_t proto,
			   uint8_t flags)
{
	struct inet_flow f;

	memset(&f, 0, sizeof(f));
	f.family = fam(v6);
	f.df = v6;
	t_addr(v6, src, &f.src);
	t_addr(v6, dst, &f.dst);
	f.sport = sport;
	f.dport = dport;
	f.proto = proto;
	f.tcp_flags = proto == IPPROTO_TCP ? flags : 0;
	return f;
}

/* The same flow the other way, with other flags. */
static struct inet_flow rev(const struct inet_flow *f, uint8_t flags)
{
	struct inet_flow r = *f;

	r.src = f->dst;
	r.dst = f->src;
	r.sport = f->dport;
	r.dport = f->sport;
	r.tcp_flags = f->proto == IPPROTO_TCP ? flags : 0;
	return r;
}

/* An ICMP echo (request or reply) with identifier id. */
static struct inet_flow echo(int v6, const char *src, const char *dst,
			     bool request, uint16_t id)
{
	struct inet_flow f = mk(v6, src, id, dst, id,
				v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0);

	f.icmp_type = v6 ? (request ? 128 : 129) : (request ? 8 : 0);
	return f;
}

/* An ICMP error from 'from' to 'to' quoting a packet of flow about. */
static struct inet_flow icmp_err(int v6, const char *from, const char *to,
				 const struct inet_flow *about)
{
	struct inet_flow f = mk(v6, from, 0, to, 0,
				v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0);

	f.icmp_type = v6 ? 1 : 3;
	f.icmp_error = true;
	f.related.src = about->src;
	f.related.dst = about->dst;
	f.related.sport = about->sport;
	f.related.dport = about->dport;
	f.related.proto = about->proto;
	return f;
}

/* A table, or the test fails. */
static struct conntrack *new_ct(size_t cap)
{
	struct conntrack *ct = NULL;

	ck_assert_int_eq(conntrack_create(&ct, cap), 0);
	ck_assert_ptr_nonnull(ct);
	return ct;
}

/* Live entries, from the stats. */
static size_t ct_entries(const struct conntrack *ct)
{
	struct conntrack_stats st;

	conntrack_stats_get(ct, &st);
	return st.entries;
}

/* ---- scenarios: one flow, steps in time ------------------------------------ */

enum op { OP_END, OP_NOTE, OP_REPLY, OP_EXPIRE };
enum way { FWD, REV };

struct step {
	enum op op;
	enum way way;
	uint8_t flags;
	uint64_t ms;			/* now */
	bool want;			/* OP_REPLY: answer; OP_EXPIRE: entry left */
};

struct scenario {
	const char *name;
	uint8_t proto;
	struct step steps[STEPS_MAX];
};

#define NOTE(w, fl, t) { OP_NOTE, w, fl, t, false }
#define REPLY(w, fl, t, y) { OP_REPLY, w, fl, t, y }
#define EXPIRE(t, left) { OP_EXPIRE, FWD, 0, t, left }
#define HANDSHAKE NOTE(FWD, F_SYN, 0), REPLY(REV, F_SYN | F_ACK, 1000, true), \
	NOTE(FWD, F_ACK, 1001)

static const struct scenario scenarios[] = {
	{ "udp reply passes, same way does not", IPPROTO_UDP, {
	  NOTE(FWD, 0, 0), REPLY(REV, 0, 10, true), REPLY(FWD, 0, 20, false),
	  REPLY(REV, 0, 30, true) } },
	{ "no note, no reply", IPPROTO_UDP, { REPLY(REV, 0, 0, false),
	  REPLY(FWD, 0, 0, false) } },
	{ "udp times out after 60 s", IPPROTO_UDP, { NOTE(FWD, 0, 0),
	  REPLY(REV, 0, 59999, true), REPLY(REV, 0, 59999 + 59999, true),
	  REPLY(REV, 0, 59999 + 59999 + 60000, false) } },
	{ "udp exactly at the deadline is gone", IPPROTO_UDP, { NOTE(FWD, 0, 0),
	  REPLY(REV, 0, 60000, false) } },
	{ "udp note refreshes", IPPROTO_UDP, { NOTE(FWD, 0, 0), NOTE(FWD, 0, 50000),
	  REPLY(REV, 0, 109000, true) } },
	{ "both ways noted: both are replies", IPPROTO_UDP, { NOTE(FWD, 0, 0),
	  NOTE(REV, 0, 1), REPLY(FWD, 0, 2, true), REPLY(REV, 0, 3, true) } },
	{ "other protocol 60 s", 47, { NOTE(FWD, 0, 0), REPLY(REV, 0, 59000, true),
	  REPLY(REV, 0, 119001, false) } },
	{ "sctp as other", IPPROTO_SCTP, { NOTE(FWD, 0, 0), REPLY(FWD, 0, 1, false),
	  REPLY(REV, 0, 2, true) } },
	{ "tcp syn waits 30 s", IPPROTO_TCP, { NOTE(FWD, F_SYN, 0),
	  REPLY(REV, F_SYN | F_ACK, 30000, false) } },
	{ "tcp syn-ack within 30 s", IPPROTO_TCP, { NOTE(FWD, F_SYN, 0),
	  REPLY(REV, F_SYN | F_ACK, 29999, true) } },
	{ "tcp established lives 600 s", IPPROTO_TCP, { HANDSHAKE,
	  REPLY(REV, F_ACK, 1001 + 599000, true),
	  REPLY(REV, F_ACK, 1001 + 599000 + 599999, true),
	  REPLY(REV, F_ACK, 1001 + 599000 + 599999 + 600000, false) } },
	{ "tcp same-way acks do not establish", IPPROTO_TCP, { NOTE(FWD, F_SYN, 0),
	  NOTE(FWD, F_ACK, 1000), NOTE(FWD, F_ACK, 2000),
	  REPLY(REV, F_ACK, 32000, false) } },
	{ "tcp our fin shortens to 30 s", IPPROTO_TCP, { HANDSHAKE,
	  NOTE(FWD, F_FIN | F_ACK, 10000), REPLY(REV, F_ACK, 39999, true),
	  REPLY(REV, F_FIN | F_ACK, 69998, true), REPLY(REV, F_ACK, 99998, false) } },
	{ "tcp their rst shortens to 30 s", IPPROTO_TCP, { HANDSHAKE,
	  REPLY(REV, F_RST, 10000, true), REPLY(REV, F_ACK, 40000, false) } },
	{ "tcp closing stays closing", IPPROTO_TCP, { HANDSHAKE,
	  NOTE(FWD, F_FIN | F_ACK, 2000), REPLY(REV, F_ACK, 3000, true),
	  NOTE(FWD, F_ACK, 4000), REPLY(REV, F_ACK, 34000, false) } },
	{ "tcp reopened after close", IPPROTO_TCP, { HANDSHAKE,
	  NOTE(FWD, F_RST, 2000), NOTE(FWD, F_SYN, 3000),
	  REPLY(REV, F_SYN | F_ACK, 4000, true), NOTE(FWD, F_ACK, 4001),
	  REPLY(REV, F_ACK, 4001 + 500000, true) } },
	{ "tcp rst opens nothing", IPPROTO_TCP, { NOTE(FWD, F_RST, 0),
	  REPLY(REV, F_ACK, 1, false) } },
	{ "tcp mid-stream pickup", IPPROTO_TCP, { NOTE(FWD, F_ACK, 0),
	  REPLY(REV, F_ACK, 1000, true), REPLY(REV, F_ACK, 1000 + 599000, true) } },
	{ "expire sweeps the dead", IPPROTO_UDP, { NOTE(FWD, 0, 0),
	  EXPIRE(59999, true), EXPIRE(60000, false), REPLY(REV, 0, 60001, false) } },
	{ "expire keeps established tcp", IPPROTO_TCP, { HANDSHAKE,
	  EXPIRE(300000, true), REPLY(REV, F_ACK, 300001, true) } },
};

/* Runs one scenario, in IPv4 for even _i and IPv6 for odd. */
START_TEST(test_scenario)
{
	const struct scenario *sc = &scenarios[_i / 2];
	int v6 = _i % 2;
	struct conntrack *ct = new_ct(256);
	struct inet_flow fwd = mk(v6, addr_a[v6], 40000, addr_b[v6], 443,
				  sc->proto, 0);
	const struct step *s;
	unsigned n;

	for (n = 0; n < STEPS_MAX && sc->steps[n].op != OP_END; n++) {
		struct inet_flow f;

		s = &sc->steps[n];
		f = s->way == FWD ? fwd : rev(&fwd, 0);
		f.tcp_flags = sc->proto == IPPROTO_TCP ? s->flags : 0;
		switch (s->op) {
		case OP_NOTE:
			conntrack_note(ct, &f, MS(s->ms));
			break;
		case OP_REPLY:
			ck_assert_msg(conntrack_is_reply(ct, &f, MS(s->ms)) == s->want,
				      "%s (v%d) step %u", sc->name, v6 ? 6 : 4, n);
			break;
		case OP_EXPIRE:
			conntrack_expire(ct, MS(s->ms));
			ck_assert_msg(ct_entries(ct) == (s->want ? 1u : 0u),
				      "%s (v%d) step %u", sc->name, v6 ? 6 : 4, n);
			break;
		case OP_END:
			break;
		}
	}
	conntrack_destroy(ct);
}
END_TEST

/* ---- ICMP ---------------------------------------------------------------------- */

/* An echo reply matches the request's identifier, from its peer, only. */
START_TEST(test_echo)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	const char *a = addr_a[v6], *b = addr_b[v6], *r = addr_r[v6];
	struct inet_flow req = echo(v6, a, b, true, 7);
	struct inet_flow f;

	conntrack_note(ct, &req, 0);
	ck_assert_uint_eq(ct_entries(ct), 1);
	f = echo(v6, b, a, false, 8);
	ck_assert(!conntrack_is_reply(ct, &f, SEC(1)));
	f = echo(v6, r, a, false, 7);
	ck_assert(!conntrack_is_reply(ct, &f, SEC(1)));
	f = echo(v6, b, a, true, 7);	/* their request, same id */
	ck_assert(!conntrack_is_reply(ct, &f, SEC(1)));
	f = echo(v6, a, b, false, 7);	/* our own way */
	ck_assert(!conntrack_is_reply(ct, &f, SEC(1)));
	f = echo(v6, b, a, false, 7);
	ck_assert(conntrack_is_reply(ct, &f, SEC(1)));
	ck_assert(conntrack_is_reply(ct, &f, SEC(30)));
	ck_assert(!conntrack_is_reply(ct, &f, SEC(60)));

	/* Echo replies and other ICMP open nothing. */
	f = echo(v6, a, b, false, 9);
	conntrack_note(ct, &f, SEC(61));
	f.icmp_type = v6 ? 135 : 13;
	conntrack_note(ct, &f, SEC(61));
	ck_assert_uint_eq(ct_entries(ct), 0);
	conntrack_destroy(ct);
}
END_TEST

/* ICMP errors about flows we opened pass; about anything else, not. */
START_TEST(test_icmp_error)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	const char *a = addr_a[v6], *b = addr_b[v6], *r = addr_r[v6];
	struct inet_flow ours = mk(v6, a, 1000, b, 53, IPPROTO_UDP, 0);
	struct inet_flow theirs = mk(v6, b, 2000, a, 22, IPPROTO_TCP, F_SYN);
	struct inet_flow ping = echo(v6, a, b, true, 99);
	struct inet_flow e, other;

	conntrack_note(ct, &ours, 0);
	conntrack_note(ct, &theirs, 0);
	conntrack_note(ct, &ping, 0);

	e = icmp_err(v6, r, a, &ours);
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));
	e = icmp_err(v6, b, a, &ours);
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));
	e = icmp_err(v6, r, a, &ping);
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));

	/* About the reverse of our flow: not a packet we sent that way. */
	other = rev(&ours, 0);
	e = icmp_err(v6, r, b, &other);
	ck_assert(!conntrack_is_reply(ct, &e, SEC(1)));
	e = icmp_err(v6, r, a, &other);
	ck_assert(!conntrack_is_reply(ct, &e, SEC(1)));
	/* Sent to someone else than the quoted sender. */
	e = icmp_err(v6, r, b, &ours);
	ck_assert(!conntrack_is_reply(ct, &e, SEC(1)));
	/* Another port. */
	other = ours;
	other.sport = 1001;
	e = icmp_err(v6, r, a, &other);
	ck_assert(!conntrack_is_reply(ct, &e, SEC(1)));
	/* About our answer in a flow the peer opened. */
	other = rev(&theirs, F_SYN | F_ACK);
	e = icmp_err(v6, r, a, &other);
	ck_assert(!conntrack_is_reply(ct, &e, SEC(1)));

	/* Errors do not keep a flow alive. */
	e = icmp_err(v6, r, a, &ours);
	ck_assert(conntrack_is_reply(ct, &e, SEC(59)));
	ck_assert(!conntrack_is_reply(ct, &e, SEC(60)));
	conntrack_destroy(ct);
}
END_TEST

/*
 * End to end with inet.h: a UDP packet we send is noted; the refusal
 * inet_reject builds for it (an ICMP error from the peer, parsed back)
 * passes as related, and so does inet_too_big's.
 */
START_TEST(test_icmp_error_from_inet)
{
	static const uint8_t udp4[] = {
		0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 17, 0, 0,
		10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd',
	};
	uint8_t udp6[48], out[INET_REJECT_MAX];
	struct conntrack *ct = new_ct(64);
	struct inet_flow f, e;
	size_t n;

	ck_assert(inet_parse(udp4, sizeof(udp4), &f));
	conntrack_note(ct, &f, 0);
	n = inet_reject(udp4, sizeof(udp4), &f, out);
	ck_assert_uint_gt(n, 0);
	ck_assert(inet_parse(out, n, &e));
	ck_assert(e.icmp_error);
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));
	n = inet_too_big(udp4, sizeof(udp4), &f, 1200, out);
	ck_assert_uint_gt(n, 0);
	ck_assert(inet_parse(out, n, &e));
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));

	memset(udp6, 0, sizeof(udp6));
	udp6[0] = 0x60;
	udp6[5] = 8;
	udp6[6] = IPPROTO_UDP;
	udp6[7] = 64;
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::1", udp6 + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", udp6 + 24), 1);
	udp6[41] = 9;
	udp6[43] = 10;
	udp6[45] = 8;
	ck_assert(inet_parse(udp6, sizeof(udp6), &f));
	conntrack_note(ct, &f, 0);
	n = inet_too_big(udp6, sizeof(udp6), &f, 1280, out);
	ck_assert_uint_gt(n, 0);
	ck_assert(inet_parse(out, n, &e));
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));
	/* And the plain reply still passes. */
	e = rev(&f, 0);
	ck_assert(conntrack_is_reply(ct, &e, SEC(1)));
	conntrack_destroy(ct);
}
END_TEST

/* Non-first fragments have no ports: they neither open nor match. */
START_TEST(test_fragments)
{
	struct conntrack *ct = new_ct(64);
	struct inet_flow f = mk(0, addr_a[0], 0, addr_b[0], 0, IPPROTO_UDP, 0);
	struct inet_flow g = mk(0, addr_a[0], 5, addr_b[0], 6, IPPROTO_UDP, 0);
	struct inet_flow r;

	f.fragment = true;
	conntrack_note(ct, &f, 0);
	ck_assert_uint_eq(ct_entries(ct), 0);
	conntrack_note(ct, &g, 0);
	r = rev(&g, 0);
	r.fragment = true;
	r.sport = r.dport = 0;
	ck_assert(!conntrack_is_reply(ct, &r, 1));
	conntrack_destroy(ct);
}
END_TEST

/* ---- table size, eviction, expiry ------------------------------------------- */

/* Capacity checks and rounding; destroying NULL is harmless. */
START_TEST(test_create)
{
	struct conntrack *ct = (struct conntrack *)1;
	struct conntrack_stats st;

	ck_assert_int_eq(conntrack_create(&ct, 0), -EINVAL);
	ck_assert_ptr_null(ct);
	ck_assert_int_eq(conntrack_create(&ct, (size_t)1 << 40), -EINVAL);
	ck_assert_int_eq(conntrack_create(NULL, 16), -EINVAL);
	ct = new_ct(100);
	conntrack_stats_get(ct, &st);
	ck_assert_uint_eq(st.capacity, 128);
	ck_assert_uint_eq(st.entries, 0);
	conntrack_destroy(ct);
	ct = new_ct(1);
	conntrack_stats_get(ct, &st);
	ck_assert_uint_eq(st.capacity, 1);
	conntrack_destroy(ct);
	conntrack_destroy(NULL);
}
END_TEST

/* The i-th distinct UDP flow from a. */
static struct inet_flow nth(int v6, unsigned i)
{
	return mk(v6, addr_a[v6], (uint16_t)(1024 + i % 60000), addr_b[v6],
		  (uint16_t)(1 + i / 60000), IPPROTO_UDP, 0);
}

/* Flooding: the table stays at its capacity; the newest flow is kept. */
START_TEST(test_eviction_bounded)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	struct conntrack_stats st;
	struct inet_flow f;
	unsigned i;

	for (i = 0; i < 10000; i++) {
		f = nth(v6, i);
		conntrack_note(ct, &f, MS(i));
		conntrack_stats_get(ct, &st);
		ck_assert_uint_le(st.entries, 64);
	}
	ck_assert_uint_eq(st.capacity, 64);
	ck_assert_uint_eq(st.inserted, 10000);
	ck_assert_uint_eq(st.evicted + st.expired, 10000 - st.entries);
	ck_assert_uint_gt(st.evicted, 0);
	f = rev(&f, 0);
	ck_assert(conntrack_is_reply(ct, &f, MS(i)));
	conntrack_destroy(ct);
}
END_TEST

/* In a table one window wide, the entry nearest its deadline goes. */
START_TEST(test_eviction_oldest)
{
	struct conntrack *ct = new_ct(16);
	struct conntrack_stats st;
	struct inet_flow f;
	unsigned i;

	for (i = 0; i < 17; i++) {
		f = nth(0, i);
		conntrack_note(ct, &f, SEC(i));
	}
	conntrack_stats_get(ct, &st);
	ck_assert_uint_eq(st.entries, 16);
	ck_assert_uint_eq(st.evicted, 1);
	for (i = 0; i < 17; i++) {
		f = nth(0, i);
		f = rev(&f, 0);
		ck_assert_msg(conntrack_is_reply(ct, &f, SEC(17)) == (i != 0), "flow %u", i);
	}
	conntrack_destroy(ct);
}
END_TEST

/* Half-open flows flooding a full table push out each other, not this. */
START_TEST(test_established_survives_syn_flood)
{
	struct conntrack *ct = new_ct(16);
	struct inet_flow est = mk(0, addr_a[0], 50000, addr_b[0], 22, IPPROTO_TCP, F_SYN);
	struct inet_flow f;
	unsigned i;

	conntrack_note(ct, &est, 0);
	f = rev(&est, F_SYN | F_ACK);
	ck_assert(conntrack_is_reply(ct, &f, 1));
	for (i = 0; i < 1000; i++) {
		f = mk(0, addr_a[0], (uint16_t)(1000 + i), addr_b[0], 80, IPPROTO_TCP, F_SYN);
		conntrack_note(ct, &f, SEC(1) + MS(i));
	}
	f = rev(&est, F_ACK);
	ck_assert(conntrack_is_reply(ct, &f, SEC(2)));
	conntrack_destroy(ct);
}
END_TEST

/* A sweep removes exactly the dead and leaves every live entry findable. */
START_TEST(test_expire_keeps_survivors_reachable)
{
	int v6 = _i;
	enum { N = 700, CUT = 350 };
	struct conntrack *ct = new_ct(1024);
	struct conntrack_stats st;
	struct inet_flow f;
	unsigned i, alive = 0;
	uint64_t now = SEC(CONNTRACK_UDP_S) + MS(CUT);

	for (i = 0; i < N; i++) {
		f = nth(v6, i);
		conntrack_note(ct, &f, MS(i));
	}
	conntrack_stats_get(ct, &st);
	ck_assert_uint_eq(st.entries + st.evicted, N);
	conntrack_expire(ct, now);
	conntrack_stats_get(ct, &st);
	for (i = 0; i < N; i++) {
		bool hit;

		f = nth(v6, i);
		f = rev(&f, 0);
		hit = conntrack_is_reply(ct, &f, now);
		if (i <= CUT)
			ck_assert_msg(!hit, "dead flow %u answered", i);
		else
			alive += hit;
	}
	ck_assert_uint_eq(st.entries, alive);
	ck_assert_uint_ge(alive + st.evicted, N - CUT - 1);
	conntrack_expire(ct, now + SEC(CONNTRACK_UDP_S));
	ck_assert_uint_eq(ct_entries(ct), 0);
	conntrack_destroy(ct);
}
END_TEST

Suite *suite_conntrack(void)
{
	Suite *s = suite_create("conntrack");
	TCase *tc = tcase_create("conntrack");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_scenario, 0, 2 * N_ELEM(scenarios));
	tcase_add_loop_test(tc, test_echo, 0, 2);
	tcase_add_loop_test(tc, test_icmp_error, 0, 2);
	tcase_add_test(tc, test_icmp_error_from_inet);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_create);
	tcase_add_loop_test(tc, test_eviction_bounded, 0, 2);
	tcase_add_test(tc, test_eviction_oldest);
	tcase_add_test(tc, test_established_survives_syn_flood);
	tcase_add_loop_test(tc, test_expire_keeps_survivors_reachable, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
