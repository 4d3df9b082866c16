/*
 * tests/unit/check_conntrack.c - shim/conntrack.h: the capability rule
 * with replies, scenario by scenario (who opened a flow, whose capability
 * allows what, TCP state and sequence numbers, time passed explicitly);
 * ICMP echo and ICMP errors (only from the quoted packet's destination,
 * only about flows that exist); rechecks after a capability change with
 * the numbers a reset needs; eviction and per-peer quotas under a flood;
 * expiry keeping every survivor reachable.
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
	STEPS_MAX = 14,
	PEER = 3,
	L_ISN = 1000,			/* the local end's initial sequence number */
	R_ISN = 50000,			/* the remote end's */
};

/* Endpoints by family: l is this host, r the peer, x a third host. */
static const char *const addr_l[2] = { "10.0.0.1", "fd00::1" };
static const char *const addr_r[2] = { "10.0.0.2", "fd00::2" };
static const char *const addr_x[2] = { "10.0.0.3", "fd00::3" };

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
static struct inet_flow mk(int v6, const char *src, uint16_t sport, const char *dst,
			   uint16_t dport, uint8_t proto)
{
	struct inet_flow f;

	memset(&f, 0, sizeof(f));
	f.family = v6 ? AF_INET6 : AF_INET;
	f.df = v6;
	t_addr(v6, src, &f.src);
	t_addr(v6, dst, &f.dst);
	f.sport = sport;
	f.dport = dport;
	f.proto = proto;
	return f;
}

static struct conntrack *new_ct(size_t cap)
{
	struct conntrack *ct = NULL;

	ck_assert_int_eq(conntrack_create(&ct, cap), 0);
	ck_assert_ptr_nonnull(ct);
	return ct;
}

static size_t ct_entries(const struct conntrack *ct)
{
	struct conntrack_stats st;

	conntrack_stats_get(ct, &st);
	return st.entries;
}

/* ---- scenarios ----------------------------------------------------------- */

/* Who sends: this host (out, to the peer) or the peer (in). */
enum who { LOC, REM };

struct step {
	enum who who;
	bool allowed;			/* the sender's capability allows it */
	uint8_t flags;			/* TCP; 0xff ends the list */
	uint32_t seq, ack;		/* TCP, relative to the sender's / other's ISN */
	uint16_t len;			/* TCP payload */
	uint64_t ms;			/* now */
	enum conntrack_verdict want;
};

struct scenario {
	const char *name;
	uint8_t proto;
	bool strict;
	struct step steps[STEPS_MAX];
};

#define S(w, a, fl, sq, ak, ln, t, v) { w, a, fl, sq, ak, ln, t, v }
#define END { LOC, false, 0xff, 0, 0, 0, 0, 0 }
/* The three-way handshake, the local host opening (both allowed). */
#define HS_LOC S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS), \
	       S(REM, true, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS), \
	       S(LOC, true, F_ACK, 1, 1, 0, 2, CT_PASS)
#define HS_REM S(REM, true, F_SYN, 0, 0, 0, 0, CT_PASS), \
	       S(LOC, true, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS), \
	       S(REM, true, F_ACK, 1, 1, 0, 2, CT_PASS)

static const struct scenario scenarios[] = {
	{ "tcp: the peer may not reach us, replies to our flow pass", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 1, 0, 2, CT_PASS),
	  S(REM, false, F_ACK, 1, 1, 100, 3, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 101, 0, 4, CT_PASS), END } },
	{ "tcp: we may not reach the peer, our replies to its flow pass", IPPROTO_TCP, false, {
	  S(REM, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(LOC, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(REM, true, F_ACK, 1, 1, 50, 2, CT_PASS),
	  S(LOC, false, F_ACK, 1, 51, 10, 3, CT_PASS_REPLY), END } },
	{ "tcp: the opener loses its right, its flow ends both ways", IPPROTO_TCP, false, {
	  HS_REM,
	  S(REM, false, F_ACK, 1, 1, 10, 3, CT_DENY),
	  S(LOC, false, F_ACK, 1, 11, 0, 4, CT_DENY), END } },
	{ "tcp: our side may reach, theirs lost it: their packets stop, ours pass by capability",
	  IPPROTO_TCP, false, {
	  HS_REM,
	  S(REM, false, F_ACK, 1, 1, 10, 3, CT_DENY),
	  S(LOC, true, F_ACK, 1, 1, 0, 4, CT_PASS), END } },
	{ "tcp: no opening by a forbidden SYN", IPPROTO_TCP, false, {
	  S(REM, false, F_SYN, 0, 0, 0, 0, CT_DENY),
	  S(LOC, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_DENY), END } },
	{ "tcp: a reply that acknowledges what was never sent does not belong", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 7, 0, 1, CT_DENY),
	  S(REM, false, F_ACK, 0, 1, 0, 2, CT_DENY),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 3, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 1, 0, 4, CT_PASS),
	  S(REM, false, F_ACK, 1, 5000, 0, 5, CT_DENY),
	  S(REM, false, F_ACK, 1, 1, 0, 6, CT_PASS_REPLY), END } },
	{ "tcp: after a RST nothing belongs, and a forbidden SYN does not reopen", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 1, 0, 2, CT_PASS),
	  S(LOC, true, F_RST, 1, 0, 0, 3, CT_PASS),
	  S(REM, false, F_ACK, 1, 1, 0, 4, CT_DENY),
	  S(REM, false, F_SYN, 100, 0, 0, 5, CT_DENY),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 6, CT_DENY), END } },
	{ "tcp: after FINs both ways, no refresh: gone 30 s later", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 1, 0, 2, CT_PASS),
	  S(LOC, true, F_FIN | F_ACK, 1, 1, 0, 3, CT_PASS),
	  S(REM, false, F_FIN | F_ACK, 1, 2, 0, 4, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 2, 2, 0, 5, CT_PASS),
	  S(REM, false, F_ACK, 2, 2, 0, 20000, CT_PASS_REPLY),
	  S(REM, false, F_ACK, 2, 2, 0, 29000, CT_PASS_REPLY),
	  S(REM, false, F_ACK, 2, 2, 0, 30010, CT_DENY), END } },
	{ "tcp: a closed connection's 5-tuple reopened by who may open", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_RST | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(LOC, true, F_SYN, 500, 0, 0, 2, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 501, 0, 3, CT_PASS_REPLY), END } },
	{ "tcp: established lives 600 s idle, refreshed by what belongs", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_PASS_REPLY),
	  S(LOC, true, F_ACK, 1, 1, 0, 2, CT_PASS),
	  S(REM, false, F_ACK, 1, 1, 0, 599000, CT_PASS_REPLY),
	  S(REM, false, F_ACK, 1, 1, 0, 1198000, CT_PASS_REPLY),
	  S(REM, false, F_ACK, 1, 1, 0, 1799000, CT_DENY), END } },
	{ "tcp: an unanswered SYN is forgotten after 30 s", IPPROTO_TCP, false, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 30001, CT_DENY), END } },
	{ "tcp strict: replies judged by capability alone", IPPROTO_TCP, true, {
	  S(LOC, true, F_SYN, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, F_SYN | F_ACK, 0, 1, 0, 1, CT_DENY), END } },
	{ "udp: replies to our flow pass, for 60 s after the last packet", IPPROTO_UDP, false, {
	  S(LOC, true, 0, 0, 0, 0, 0, CT_PASS),
	  S(REM, false, 0, 0, 0, 0, 1000, CT_PASS_REPLY),
	  S(REM, false, 0, 0, 0, 0, 60900, CT_PASS_REPLY),
	  S(REM, false, 0, 0, 0, 0, 121000, CT_DENY), END } },
	{ "udp: the peer's flow, our replies; then the peer loses its right", IPPROTO_UDP, false, {
	  S(REM, true, 0, 0, 0, 0, 0, CT_PASS),
	  S(LOC, false, 0, 0, 0, 0, 1, CT_PASS_REPLY),
	  S(REM, false, 0, 0, 0, 0, 2, CT_DENY),
	  S(LOC, false, 0, 0, 0, 0, 3, CT_DENY), END } },
	{ "udp: forbidden first packets open nothing", IPPROTO_UDP, false, {
	  S(REM, false, 0, 0, 0, 0, 0, CT_DENY),
	  S(LOC, false, 0, 0, 0, 0, 1, CT_DENY), END } },
};

/* Sequence numbers from both halves of the space: sequence order wraps. */
static const uint32_t isn_base[] = { 0, 0x7ffffff0u, 0xfffffff0u };

static uint32_t isn(enum who w, unsigned base)
{
	return (w == LOC ? L_ISN : R_ISN) + isn_base[base];
}

/* Runs one scenario, in IPv4 and IPv6, from each base of sequence numbers. */
START_TEST(test_scenario)
{
	const struct scenario *sc = &scenarios[_i / 6];
	int v6 = _i % 2;
	unsigned base = (unsigned)(_i / 2) % 3;
	struct conntrack *ct = new_ct(64);

	for (int n = 0; n < STEPS_MAX && sc->steps[n].flags != 0xff; n++) {
		const struct step *st = &sc->steps[n];
		struct inet_flow f = st->who == LOC ?
			mk(v6, addr_l[v6], 40000, addr_r[v6], 80, sc->proto) :
			mk(v6, addr_r[v6], 80, addr_l[v6], 40000, sc->proto);
		enum conntrack_verdict v;

		if (sc->proto == IPPROTO_TCP) {
			f.tcp_flags = st->flags;
			f.tcp_seq = isn(st->who, base) + st->seq;
			f.tcp_ack = (st->flags & F_ACK) ?
				    isn(st->who == LOC ? REM : LOC, base) + st->ack : 0;
			f.tcp_len = st->len;
		}
		v = conntrack_judge(ct, &f, st->who == LOC ? CONNTRACK_OUT : CONNTRACK_IN,
				    st->allowed, sc->strict, PEER, MS(st->ms));
		ck_assert_msg(v == st->want, "%s (%s, ISNs +0x%x): step %d gave %d, want %d",
			      sc->name, v6 ? "v6" : "v4", isn_base[base], n, v, st->want);
	}
	conntrack_destroy(ct);
}
END_TEST

/* ---- ICMP ----------------------------------------------------------------- */

static struct inet_flow echo(int v6, const char *src, const char *dst, bool request,
			     uint16_t id)
{
	struct inet_flow f = mk(v6, src, id, dst, id, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);

	f.icmp_type = v6 ? (request ? 128 : 129) : (request ? 8 : 0);
	return f;
}

/* An echo reply passes for a request we sent, with its identifier, from its peer only. */
START_TEST(test_echo)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	struct inet_flow f;

	f = echo(v6, addr_l[v6], addr_r[v6], true, 7);
	ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, PEER, 0), CT_PASS);
	f = echo(v6, addr_r[v6], addr_l[v6], false, 7);
	ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_IN, false, false, PEER, 1),
			 CT_PASS_REPLY);
	f = echo(v6, addr_r[v6], addr_l[v6], false, 8);
	ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_IN, false, false, PEER, 2), CT_DENY);
	/* The peer's own request on our identifier is no reply. */
	f = echo(v6, addr_r[v6], addr_l[v6], true, 7);
	ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_IN, false, false, PEER, 3), CT_DENY);
	f = echo(v6, addr_x[v6], addr_l[v6], false, 7);
	ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_IN, false, false, PEER, 4), CT_DENY);
	conntrack_destroy(ct);
}
END_TEST

/* An ICMP error from 'from' to 'to' quoting a packet of flow about. */
static struct inet_flow icmp_err(int v6, const char *from, const char *to,
				 const struct inet_flow *about)
{
	struct inet_flow f = mk(v6, from, 0, to, 0, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);

	f.icmp_type = v6 ? 1 : 3;
	f.icmp_error = true;
	f.related.src = about->src;
	f.related.dst = about->dst;
	f.related.sport = about->sport;
	f.related.dport = about->dport;
	f.related.proto = about->proto;
	return f;
}

/*
 * Errors pass only from the quoted packet's destination, to its source,
 * about a flow that exists: a third host cannot forge one about our flow
 * with another peer (issue 11, item 5), whatever its capability.
 */
START_TEST(test_icmp_error)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	struct inet_flow udp = mk(v6, addr_l[v6], 5000, addr_r[v6], 53, IPPROTO_UDP), e, other;

	ck_assert_int_eq(conntrack_judge(ct, &udp, CONNTRACK_OUT, true, false, PEER, 0), CT_PASS);
	e = icmp_err(v6, addr_r[v6], addr_l[v6], &udp);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, false, false, PEER, 1),
			 CT_PASS_REPLY);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, true, false, PEER, 1), CT_PASS);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, false, true, PEER, 1), CT_DENY);
	/* From a third host, allowed to reach us or not. */
	e = icmp_err(v6, addr_x[v6], addr_l[v6], &udp);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, true, false, PEER + 1, 2),
			 CT_DENY_ICMP);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, false, false, PEER + 1, 2),
			 CT_DENY_ICMP);
	/* About a flow that does not exist (another port). */
	other = udp;
	other.sport = 5001;
	e = icmp_err(v6, addr_r[v6], addr_l[v6], &other);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, true, false, PEER, 3),
			 CT_DENY_ICMP);
	/* Quoting a packet in the wrong direction for its sender. */
	other = mk(v6, addr_r[v6], 53, addr_l[v6], 5000, IPPROTO_UDP);
	e = icmp_err(v6, addr_r[v6], addr_l[v6], &other);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, true, false, PEER, 4),
			 CT_DENY_ICMP);
	/* Our own stack's error about the peer's packet, on a flow the peer opened. */
	other = mk(v6, addr_r[v6], 6000, addr_l[v6], 7, IPPROTO_UDP);
	ck_assert_int_eq(conntrack_judge(ct, &other, CONNTRACK_IN, true, false, PEER, 5), CT_PASS);
	e = icmp_err(v6, addr_l[v6], addr_r[v6], &other);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_OUT, false, false, PEER, 6),
			 CT_PASS_REPLY);
	/* Gone with the flow. */
	e = icmp_err(v6, addr_r[v6], addr_l[v6], &udp);
	ck_assert_int_eq(conntrack_judge(ct, &e, CONNTRACK_IN, true, false, PEER,
					 SEC(CONNTRACK_UDP_S) + 1), CT_DENY_ICMP);
	conntrack_destroy(ct);
}
END_TEST

/* Non-first fragments have no ports: judged by capability alone. */
START_TEST(test_fragments)
{
	struct conntrack *ct = new_ct(64);
	struct inet_flow udp = mk(0, addr_l[0], 5000, addr_r[0], 53, IPPROTO_UDP), frag;

	ck_assert_int_eq(conntrack_judge(ct, &udp, CONNTRACK_OUT, true, false, PEER, 0), CT_PASS);
	frag = mk(0, addr_r[0], 0, addr_l[0], 0, IPPROTO_UDP);
	frag.fragment = true;
	ck_assert_int_eq(conntrack_judge(ct, &frag, CONNTRACK_IN, false, false, PEER, 1), CT_DENY);
	ck_assert_int_eq(conntrack_judge(ct, &frag, CONNTRACK_IN, true, false, PEER, 1), CT_PASS);
	ck_assert_uint_eq(ct_entries(ct), 1);
	conntrack_destroy(ct);
}
END_TEST

/* ---- recheck -------------------------------------------------------------- */

struct rc {
	bool local_may, remote_may;
	struct conntrack_flow resets[8];
	unsigned nresets;
};

static bool rc_may(void *arg, const struct conntrack_flow *fl)
{
	const struct rc *r = arg;

	return fl->local_opened ? r->local_may : r->remote_may;
}

static void rc_reset(void *arg, const struct conntrack_flow *fl)
{
	struct rc *r = arg;

	ck_assert_uint_lt(r->nresets, 8);
	r->resets[r->nresets++] = *fl;
}

static void judge_ok(struct conntrack *ct, int v6, enum who w, uint16_t lport,
		     uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len)
{
	struct inet_flow f = w == LOC ? mk(v6, addr_l[v6], lport, addr_r[v6], 80, IPPROTO_TCP) :
				       mk(v6, addr_r[v6], 80, addr_l[v6], lport, IPPROTO_TCP);

	f.tcp_flags = flags;
	f.tcp_seq = seq;
	f.tcp_ack = ack;
	f.tcp_len = len;
	ck_assert_int_ne(conntrack_judge(ct, &f, w == LOC ? CONNTRACK_OUT : CONNTRACK_IN, true,
					 false, PEER, 0), CT_DENY);
}

/*
 * A capability change cuts what its opener may no longer open, whichever
 * side that is, and hands each open TCP connection over for a reset with
 * the numbers each end expects.
 */
START_TEST(test_recheck)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(64);
	struct rc r = { .local_may = false, .remote_may = true };
	struct inet_flow u = mk(v6, addr_l[v6], 7000, addr_r[v6], 53, IPPROTO_UDP);

	/* Ours, established with 100 bytes from us and 30 from them. */
	judge_ok(ct, v6, LOC, 40000, F_SYN, L_ISN, 0, 0);
	judge_ok(ct, v6, REM, 40000, F_SYN | F_ACK, R_ISN, L_ISN + 1, 0);
	judge_ok(ct, v6, LOC, 40000, F_ACK, L_ISN + 1, R_ISN + 1, 100);
	judge_ok(ct, v6, REM, 40000, F_ACK, R_ISN + 1, L_ISN + 101, 30);
	judge_ok(ct, v6, LOC, 40000, F_ACK, L_ISN + 101, R_ISN + 31, 0);
	/* Ours, only a SYN so far. */
	judge_ok(ct, v6, LOC, 40001, F_SYN, L_ISN, 0, 0);
	/* Theirs, established. */
	judge_ok(ct, v6, REM, 40002, F_SYN, R_ISN, 0, 0);
	judge_ok(ct, v6, LOC, 40002, F_SYN | F_ACK, L_ISN, R_ISN + 1, 0);
	judge_ok(ct, v6, REM, 40002, F_ACK, R_ISN + 1, L_ISN + 1, 0);
	/* Ours, UDP. */
	ck_assert_int_eq(conntrack_judge(ct, &u, CONNTRACK_OUT, true, false, PEER, 0), CT_PASS);
	ck_assert_uint_eq(ct_entries(ct), 4);

	ck_assert_uint_eq(conntrack_recheck(ct, rc_may, rc_reset, &r, 1), 3);
	ck_assert_uint_eq(ct_entries(ct), 1);
	ck_assert_uint_eq(r.nresets, 2);
	for (unsigned i = 0; i < r.nresets; i++) {
		const struct conntrack_flow *fl = &r.resets[i];

		ck_assert(fl->local_opened);
		ck_assert(fl->open);
		ck_assert_uint_eq(fl->peer, PEER);
		ck_assert_uint_eq(fl->rport, 80);
		if (fl->lport == 40000) {
			ck_assert(fl->local_acked && fl->remote_acked);
			ck_assert_uint_eq(fl->local_ack, R_ISN + 31);	/* what we expect next */
			ck_assert_uint_eq(fl->remote_ack, L_ISN + 101);	/* what they expect */
			ck_assert_uint_eq(fl->local_next, L_ISN + 101);
		} else {
			ck_assert_uint_eq(fl->lport, 40001);
			ck_assert(!fl->local_acked);
			ck_assert_uint_eq(fl->local_next, L_ISN + 1);	/* ACK for our SYN */
		}
	}
	/* Now the peer loses its right too: its flow goes, reset. */
	r.remote_may = false;
	r.nresets = 0;
	ck_assert_uint_eq(conntrack_recheck(ct, rc_may, rc_reset, &r, 2), 1);
	ck_assert_uint_eq(r.nresets, 1);
	ck_assert(!r.resets[0].local_opened);
	ck_assert_uint_eq(ct_entries(ct), 0);
	conntrack_destroy(ct);
}
END_TEST

/* ---- bounds ---------------------------------------------------------------- */

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
	conntrack_destroy(NULL);
}
END_TEST

/* The i-th distinct UDP flow, opened by us or by the peer. */
static struct inet_flow nth(int v6, unsigned i, bool ours)
{
	struct inet_flow f = mk(v6, addr_l[v6], (uint16_t)(1024 + i % 60000), addr_r[v6],
				(uint16_t)(1 + i / 60000), IPPROTO_UDP);

	if (!ours) {
		struct in6_addr t = f.src;
		uint16_t p = f.sport;

		f.src = f.dst;
		f.dst = t;
		f.sport = f.dport;
		f.dport = p;
	}
	return f;
}

/* Flooding with unanswered flows: bounded, and answered flows stay. */
START_TEST(test_flood_bounded)
{
	int v6 = _i;
	struct conntrack *ct = new_ct(256);
	struct conntrack_stats st;
	struct inet_flow f, r;
	unsigned i;

	/* 16 confirmed flows of ours. */
	for (i = 0; i < 16; i++) {
		f = nth(v6, 100000 + i, true);
		ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, 0), CT_PASS);
		r = nth(v6, 100000 + i, false);
		ck_assert_int_eq(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1, 1),
				 CT_PASS_REPLY);
	}
	/* A peer opens 10000 flows and never hears back. */
	for (i = 0; i < 10000; i++) {
		f = nth(v6, i, false);
		ck_assert_int_eq(conntrack_judge(ct, &f, CONNTRACK_IN, true, false, 2, MS(i)),
				 CT_PASS);
		conntrack_stats_get(ct, &st);
		ck_assert_uint_le(st.entries, 256);
	}
	conntrack_stats_get(ct, &st);
	ck_assert_uint_gt(st.full, 0);
	ck_assert_uint_le(st.entries, 16 + CONNTRACK_UNCONFIRMED_MIN);
	for (i = 0; i < 16; i++) {
		r = nth(v6, 100000 + i, false);
		ck_assert_msg(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1, SEC(20)) ==
			      CT_PASS_REPLY, "answered flow %u lost to the flood", i);
	}
	conntrack_destroy(ct);
}
END_TEST

/* In a table one window wide, unanswered entries give way to new flows, answered never. */
START_TEST(test_eviction_order)
{
	struct conntrack *ct = new_ct(16);
	struct conntrack_stats st;
	struct inet_flow f, r;
	unsigned i;

	for (i = 0; i < 8; i++) {	/* answered */
		f = nth(0, i, true);
		conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, MS(i));
		r = nth(0, i, false);
		ck_assert_int_eq(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1, MS(i)),
				 CT_PASS_REPLY);
	}
	for (i = 8; i < 16; i++) {	/* not */
		f = nth(0, i, true);
		conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, MS(i));
	}
	f = nth(0, 16, true);
	conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, MS(20));
	conntrack_stats_get(ct, &st);
	ck_assert_uint_eq(st.entries, 16);
	ck_assert_uint_eq(st.evicted, 1);
	/* The oldest unanswered one went. */
	r = nth(0, 8, false);
	ck_assert_int_eq(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1, MS(21)), CT_DENY);
	for (i = 0; i < 8; i++) {
		r = nth(0, i, false);
		ck_assert_int_eq(conntrack_judge(ct, &r, CONNTRACK_IN, false, false, 1, MS(22)),
				 CT_PASS_REPLY);
	}
	conntrack_destroy(ct);
}
END_TEST

/* A sweep removes exactly the dead and leaves every live entry findable. */
START_TEST(test_expire_keeps_survivors_reachable)
{
	int v6 = _i;
	enum { N = 700, CUT = 350 };
	struct conntrack *ct = new_ct(1024);
	static bool tracked[N];
	unsigned i, alive = 0;
	uint64_t now = SEC(CONNTRACK_UDP_S) + MS(CUT);

	for (i = 0; i < N; i++) {
		struct inet_flow f = nth(v6, i, true), r = nth(v6, i, false);

		conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, (uint16_t)(i % 7), MS(i));
		/* Answered at once: confirmed, never evicted (a full window refuses instead). */
		tracked[i] = conntrack_judge(ct, &r, CONNTRACK_IN, false, false,
					     (uint16_t)(i % 7), MS(i)) == CT_PASS_REPLY;
		alive += tracked[i] && i > CUT;
	}
	ck_assert_uint_gt(alive, N / 2 - 50);
	conntrack_expire(ct, now);
	ck_assert_uint_eq(ct_entries(ct), alive);
	for (i = 0; i < N; i++) {
		struct inet_flow r = nth(v6, i, false);

		ck_assert_msg(conntrack_judge(ct, &r, CONNTRACK_IN, false, false,
					      (uint16_t)(i % 7), now) ==
			      (tracked[i] && i > CUT ? CT_PASS_REPLY : CT_DENY), "flow %u", i);
	}
	conntrack_destroy(ct);
}
END_TEST

Suite *suite_conntrack(void)
{
	Suite *s = suite_create("conntrack");
	TCase *tc = tcase_create("rule");

	tcase_add_loop_test(tc, test_scenario, 0, (int)(6 * N_ELEM(scenarios)));
	tcase_add_loop_test(tc, test_echo, 0, 2);
	tcase_add_loop_test(tc, test_icmp_error, 0, 2);
	tcase_add_test(tc, test_fragments);
	tcase_add_loop_test(tc, test_recheck, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, test_create);
	tcase_add_loop_test(tc, test_flood_bounded, 0, 2);
	tcase_add_test(tc, test_eviction_order);
	tcase_add_loop_test(tc, test_expire_keeps_survivors_reachable, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
