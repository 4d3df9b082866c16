/*
 * bench/bench_policy.c - how fast the policy library is at network scale.
 *
 * Generates in memory a policy of 1024 hosts (bits 0..1023, each with fresh
 * host keys, reaching a pseudo-random set of hosts and groups) and 10,000
 * users (reach lists of varied size, with groups and "*"), then times:
 *   - JSON load, compile, and the two together (policy_parse_buffer);
 *   - issuing (signing) a token for every host and user;
 *   - signing and verifying a revocation list of ~1,000 serials;
 *   - token_verify on one core against that list, and token_decode alone.
 * Per-second and per-item figures come from the process CPU time (one
 * thread); wall time is shown beside it.
 *
 * It asserts nothing about speed. It exits non-zero if anything fails: a
 * compiled grant that differs from the generator's own reckoning, a token
 * that does not sign, decode or verify, or a sanity check (a revoked token
 * that still verifies, a tampered one that does).
 *
 *   build/bench_policy [--hosts N] [--users N] [--seconds S]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "keys.h"
#include "mask.h"
#include "policy.h"
#include "token.h"
#include "wire.h"

enum bench_default {
	DEF_HOSTS = 1024,
	DEF_USERS = 10000,
	NGROUPS = 64,
	NREVOKED = 1000,
};

static const double DEF_SECONDS = 3.0;

struct opts {
	unsigned hosts, users;
	double seconds;
};

/* ---- small helpers ---- */

static void die(const char *what)
{
	fprintf(stderr, "bench_policy: %s\n", what);
	exit(1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: deterministic, so every run measures the same policy. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct sbuf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf");
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 1;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
}

struct stamp {
	struct timespec wall, cpu;
};

static void stamp_now(struct stamp *s)
{
	clock_gettime(CLOCK_MONOTONIC, &s->wall);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &s->cpu);
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double wall_since(const struct stamp *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(&a->wall, &now);
}

static void row_header(void)
{
	printf("\n%-34s %9s %9s %9s %12s %10s\n", "step", "count", "wall s",
	       "cpu s", "per sec", "us/item");
	printf("%-34s %9s %9s %9s %12s %10s\n",
	       "----------------------------------", "---------", "---------",
	       "---------", "------------", "----------");
}

static void row(const char *what, uint64_t count, const struct stamp *a,
		const struct stamp *b)
{
	double wall = ts_diff(&a->wall, &b->wall);
	double cpu = ts_diff(&a->cpu, &b->cpu);
	double t = cpu > 0 ? cpu : wall;

	printf("%-34s %9" PRIu64 " %9.4f %9.4f %12.0f %10.2f\n", what, count,
	       wall, cpu, t > 0 ? (double)count / t : 0.0,
	       count ? t * 1e6 / (double)count : 0.0);
}

/* ---- the generated network ---- */

struct gen {
	unsigned nhosts, nusers;
	struct host_pubkeys *pub;	/* per host */
	struct mask *group_members;	/* per group */
	struct mask *host_grant;	/* what each host must compile to */
	struct mask *user_grant;
	struct mask all;
	struct sbuf json;
};

static void gen_reach_list(struct gen *g, struct sbuf *b, struct mask *grant,
			   unsigned nhost_refs, unsigned ngroup_refs, bool star)
{
	bool first = true;

	mask_clear(grant);
	sb_printf(b, "[");
	if (star) {
		sb_printf(b, "\"*\"");
		mask_or(grant, &g->all);
		first = false;
	}
	for (unsigned k = 0; k < nhost_refs; k++) {
		unsigned h = rnd_below(g->nhosts);

		sb_printf(b, "%s\"h%04u\"", first ? "" : ", ", h);
		mask_bit_set(grant, h);
		first = false;
	}
	for (unsigned k = 0; k < ngroup_refs; k++) {
		unsigned gi = rnd_below(NGROUPS);

		sb_printf(b, "%s\"g%02u\"", first ? "" : ", ", gi);
		mask_or(grant, &g->group_members[gi]);
		first = false;
	}
	sb_printf(b, "]");
}

static void generate(struct gen *g, const struct opts *o)
{
	static const unsigned user_sizes[] = { 1, 1, 2, 2, 3, 4, 5, 8, 12, 16,
					       24, 32, 64, 128, 256 };
	struct sbuf *b = &g->json;
	char tk[45], sk[45];

	g->nhosts = o->hosts;
	g->nusers = o->users;
	g->pub = calloc(g->nhosts, sizeof(*g->pub));
	g->group_members = calloc(NGROUPS, sizeof(*g->group_members));
	g->host_grant = calloc(g->nhosts, sizeof(*g->host_grant));
	g->user_grant = calloc(g->nusers ? g->nusers : 1, sizeof(*g->user_grant));
	b->cap = 1 << 20;
	b->p = malloc(b->cap);
	if (!g->pub || !g->group_members || !g->host_grant || !g->user_grant ||
	    !b->p)
		die("out of memory");

	mask_clear(&g->all);
	for (unsigned i = 0; i < g->nhosts; i++) {
		struct host_keys hk;

		if (keys_host_generate(&hk) != 0)
			die("keys_host_generate");
		memcpy(g->pub[i].tunnel_pk, hk.tunnel_pk, WIRE_PUBKEY_LEN);
		memcpy(g->pub[i].sign_pk, hk.sign_pk, WIRE_PUBKEY_LEN);
		keys_host_wipe(&hk);
		mask_bit_set(&g->all, i);
	}
	for (unsigned gi = 0; gi < NGROUPS; gi++) {
		unsigned n = 4 + rnd_below(61);

		for (unsigned k = 0; k < n; k++)
			mask_bit_set(&g->group_members[gi], rnd_below(g->nhosts));
	}

	sb_printf(b, "{\n  \"groups\": {\n");
	for (unsigned gi = 0; gi < NGROUPS; gi++) {
		bool first = true;

		sb_printf(b, "    \"g%02u\": [", gi);
		for (unsigned h = 0; h < g->nhosts; h++) {
			if (!mask_bit_test(&g->group_members[gi], h))
				continue;
			sb_printf(b, "%s\"h%04u\"", first ? "" : ", ", h);
			first = false;
		}
		sb_printf(b, "]%s\n", gi + 1 < NGROUPS ? "," : "");
	}

	sb_printf(b, "  },\n  \"hosts\": {\n");
	for (unsigned i = 0; i < g->nhosts; i++) {
		keys_pub_to_base64(g->pub[i].tunnel_pk, tk);
		keys_pub_to_base64(g->pub[i].sign_pk, sk);
		sb_printf(b,
			  "    \"h%04u\": { \"bit\": %u,\n"
			  "      \"overlay\": [\"10.77.%u.%u\", \"fd77::%x\"],\n"
			  "      \"endpoint\": \"198.18.%u.%u:51820\",\n"
			  "      \"tunnel_key\": \"%s\", \"sign_key\": \"%s\",\n"
			  "      \"reach\": ",
			  i, i, i / 256, i % 256, i + 1, i / 256, i % 256, tk, sk);
		gen_reach_list(g, b, &g->host_grant[i], rnd_below(33),
			       rnd_below(4), rnd_below(64) == 0);
		sb_printf(b, " }%s\n", i + 1 < g->nhosts ? "," : "");
	}

	sb_printf(b, "  },\n  \"users\": {\n");
	for (unsigned j = 0; j < g->nusers; j++) {
		bool star = rnd_below(20) == 0;
		unsigned nh = star ? 0 : user_sizes[rnd_below(
				sizeof(user_sizes) / sizeof(user_sizes[0]))];

		sb_printf(b, "    \"u%05u\": { \"reach\": ", j);
		gen_reach_list(g, b, &g->user_grant[j], nh, rnd_below(4), star);
		sb_printf(b, " }%s\n", j + 1 < g->nusers ? "," : "");
	}
	sb_printf(b, "  }\n}\n");
}

/* ---- tokens ---- */

struct issued {
	uint8_t buf[WIRE_TOKEN_MAX];
	size_t len;
	enum wire_type type;
	const struct mask *grant;	/* what it must carry */
};

struct sizes {
	size_t host_min, host_max, user_min, user_max;
};

static void note_size(struct sizes *s, enum wire_type type, size_t len)
{
	size_t *mn = type == WIRE_TYPE_HOST_TOKEN ? &s->host_min : &s->user_min;
	size_t *mx = type == WIRE_TYPE_HOST_TOKEN ? &s->host_max : &s->user_max;

	if (*mn == 0 || len < *mn)
		*mn = len;
	if (len > *mx)
		*mx = len;
}

static bool parse_opts(int argc, char **argv, struct opts *o)
{
	o->hosts = DEF_HOSTS;
	o->users = DEF_USERS;
	o->seconds = DEF_SECONDS;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;

		if (i + 1 >= argc)
			return false;
		errno = 0;
		if (strcmp(argv[i], "--hosts") == 0) {
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (errno || *end || v < 1 || v > POLICY_HOSTS_MAX)
				return false;
			o->hosts = (unsigned)v;
		} else if (strcmp(argv[i], "--users") == 0) {
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (errno || *end || v > POLICY_USERS_MAX)
				return false;
			o->users = (unsigned)v;
		} else if (strcmp(argv[i], "--seconds") == 0) {
			double v = strtod(argv[++i], &end);

			if (errno || *end || !(v >= 0 && v <= 3600))
				return false;
			o->seconds = v;
		} else {
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gen g;
	struct policy *p = NULL;
	struct policy_error perr;
	struct authority_key ak;
	struct issued *tok;
	struct sizes sz;
	struct revocation rl, rl_verified;
	struct token_trust trust;
	struct stamp t0, t1, tm;
	json_error_t jerr;
	json_t *root;
	uint8_t *rl_bin = NULL;
	size_t rl_len = 0, ntok, nrevoked = 0, fails = 0;
	uint64_t now, *revoked, serial_range, count;
	bool *used;
	struct rusage ru;

	if (!parse_opts(argc, argv, &o)) {
		fprintf(stderr,
			"usage: bench_policy [--hosts N (1..%d)] [--users N] [--seconds S]\n",
			POLICY_HOSTS_MAX);
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init");
	memset(&g, 0, sizeof(g));
	memset(&sz, 0, sizeof(sz));
	memset(&tm, 0, sizeof(tm));
	now = (uint64_t)time(NULL);

	/* Setup: keys and the policy text (not timed as a step of interest). */
	stamp_now(&t0);
	generate(&g, &o);
	if (keys_authority_generate(&ak) != 0)
		die("keys_authority_generate");
	stamp_now(&t1);
	printf("captun bench_policy: %u hosts, %u users, %d groups, "
	       "%d revoked serials, verify loop %.1f s\n",
	       g.nhosts, g.nusers, NGROUPS, NREVOKED, o.seconds);
	printf("policy JSON: %zu bytes (generated with host keys in %.3f s)\n",
	       g.json.len, ts_diff(&t0.wall, &t1.wall));

	row_header();

	/* ---- policy: JSON load, compile, both ---- */
	stamp_now(&t0);
	root = json_loadb(g.json.p, g.json.len, JSON_REJECT_DUPLICATES, &jerr);
	stamp_now(&t1);
	if (!root) {
		fprintf(stderr, "bench_policy: generated JSON does not load: %d:%d: %s\n",
			jerr.line, jerr.column, jerr.text);
		return 1;
	}
	row("json_loadb (jansson)", 1, &t0, &t1);

	stamp_now(&t0);
	if (!policy_parse_json(root, "bench", &p, &perr)) {
		fprintf(stderr, "bench_policy: %s\n", perr.text);
		return 1;
	}
	stamp_now(&t1);
	row("policy_parse_json (compile)", 1, &t0, &t1);
	policy_free(p);
	json_decref(root);

	stamp_now(&t0);
	if (!policy_parse_buffer(g.json.p, g.json.len, "bench", &p, &perr)) {
		fprintf(stderr, "bench_policy: %s\n", perr.text);
		return 1;
	}
	stamp_now(&t1);
	row("policy_parse_buffer (parse+comp.)", 1, &t0, &t1);

	/* The compiled grants must be what the generator meant. */
	if (p->nhosts != g.nhosts || p->nusers != g.nusers ||
	    p->ngroups != NGROUPS) {
		fprintf(stderr, "bench_policy: policy has %zu hosts, %zu users, "
			"%zu groups\n", p->nhosts, p->nusers, p->ngroups);
		return 1;
	}
	for (unsigned i = 0; i < g.nhosts; i++) {
		const struct policy_host *h = &p->hosts[i];

		if (h->bit != i || !mask_equal(&h->grant, &g.host_grant[i]) ||
		    !h->has_keys ||
		    memcmp(h->sign_pk, g.pub[i].sign_pk, WIRE_PUBKEY_LEN) != 0) {
			fprintf(stderr, "bench_policy: host %s compiled wrong\n", h->name);
			fails++;
		}
	}
	for (unsigned j = 0; j < g.nusers; j++)
		if (!mask_equal(&p->users[j].grant, &g.user_grant[j])) {
			fprintf(stderr, "bench_policy: user %s compiled wrong\n",
				p->users[j].name);
			fails++;
		}

	/* ---- issue every token ---- */
	ntok = p->nhosts + p->nusers;
	tok = calloc(ntok, sizeof(*tok));
	if (!tok)
		die("out of memory");
	stamp_now(&t0);
	for (size_t i = 0; i < ntok; i++) {
		struct token t;

		if (i == p->nhosts) {
			stamp_now(&tm);
			row("token_sign (host tokens)", p->nhosts, &t0, &tm);
		}
		memset(&t, 0, sizeof(t));
		if (i < p->nhosts) {
			const struct policy_host *h = &p->hosts[i];

			t.type = WIRE_TYPE_HOST_TOKEN;
			memcpy(t.name, h->name, sizeof(t.name));
			t.bit = h->bit;
			memcpy(t.tunnel_pk, h->tunnel_pk, WIRE_PUBKEY_LEN);
			memcpy(t.sign_pk, h->sign_pk, WIRE_PUBKEY_LEN);
			t.grant = h->grant;
			tok[i].grant = &h->grant;
		} else {
			const struct policy_user *u = &p->users[i - p->nhosts];

			t.type = WIRE_TYPE_USER_TOKEN;
			memcpy(t.name, u->name, sizeof(t.name));
			t.grant = u->grant;
			tok[i].grant = &u->grant;
		}
		t.serial = 2 * (uint64_t)(i + 1);	/* even; revoked are odd */
		t.not_before = now - 3600;
		t.not_after = now + 30 * 86400;
		tok[i].type = t.type;
		if (token_sign(&t, &ak, tok[i].buf, sizeof(tok[i].buf),
			       &tok[i].len) != 0) {
			fprintf(stderr, "bench_policy: token_sign %s failed\n", t.name);
			return 1;
		}
	}
	stamp_now(&t1);
	if (p->nusers)
		row("token_sign (user tokens)", p->nusers, &tm, &t1);
	row("token_sign (all tokens)", ntok, &t0, &t1);
	for (size_t i = 0; i < ntok; i++)
		note_size(&sz, tok[i].type, tok[i].len);

	/* ---- the revocation list: odd serials among the issued ones ---- */
	serial_range = 2 * (uint64_t)(ntok > NREVOKED ? ntok : NREVOKED) + 2;
	revoked = calloc(NREVOKED, sizeof(*revoked));
	used = calloc(serial_range + 1, sizeof(*used));
	if (!revoked || !used)
		die("out of memory");
	while (nrevoked < NREVOKED) {
		uint64_t s = (rnd() % (serial_range / 2)) * 2 + 1;

		if (!used[s]) {
			used[s] = true;
			revoked[nrevoked++] = s;
		}
	}
	free(used);
	memset(&rl, 0, sizeof(rl));
	rl.serial = 1;
	rl.issued_at = now;
	rl.count = (uint32_t)nrevoked;
	rl.serials = revoked;
	stamp_now(&t0);
	if (revocation_sign(&rl, &ak, &rl_bin, &rl_len) != 0)
		die("revocation_sign failed");
	stamp_now(&t1);
	row("revocation_sign (1000 serials)", 1, &t0, &t1);
	stamp_now(&t0);
	if (revocation_verify(rl_bin, rl_len, ak.pk, &rl_verified) != TOKEN_OK)
		die("revocation_verify failed");
	stamp_now(&t1);
	row("revocation_verify (1000 serials)", 1, &t0, &t1);

	memset(&trust, 0, sizeof(trust));
	memcpy(trust.authority_pk, ak.pk, WIRE_PUBKEY_LEN);
	trust.revoked = &rl_verified;
	trust.now = now;

	/* ---- token_verify: one checked pass, then round robin ---- */
	count = 0;
	stamp_now(&t0);
	for (size_t i = 0; i < ntok; i++, count++) {
		struct token t;
		enum token_status st = token_verify(tok[i].buf, tok[i].len,
						    tok[i].type, &trust, &t);

		if (st != TOKEN_OK || !mask_equal(&t.grant, tok[i].grant) ||
		    t.serial != 2 * (uint64_t)(i + 1)) {
			if (fails < 10)
				fprintf(stderr, "bench_policy: token %zu: %s\n", i,
					token_status_str(st));
			fails++;
		}
	}
	while (wall_since(&t0) < o.seconds) {
		for (unsigned k = 0; k < 64; k++, count++) {
			size_t i = count % ntok;
			struct token t;

			if (token_verify(tok[i].buf, tok[i].len, tok[i].type,
					 &trust, &t) != TOKEN_OK)
				fails++;
		}
	}
	stamp_now(&t1);
	row("token_verify (1000 revoked)", count, &t0, &t1);

	/* ---- token_decode alone ---- */
	count = 0;
	stamp_now(&t0);
	do {
		for (unsigned k = 0; k < 256; k++, count++) {
			size_t i = count % ntok;
			struct token t;
			enum token_status why;

			if (!token_decode(tok[i].buf, tok[i].len, tok[i].type, &t,
					  &why))
				fails++;
		}
	} while (count < ntok || wall_since(&t0) < o.seconds);
	stamp_now(&t1);
	row("token_decode (no crypto)", count, &t0, &t1);

	/* ---- revocation_contains alone ---- */
	count = 0;
	stamp_now(&t0);
	{
		uint64_t hits = 0;

		for (uint64_t s = 0; s < 2000000; s++, count++)
			hits += revocation_contains(&rl_verified, s % serial_range);
		if (hits == 0)
			fails++;
	}
	stamp_now(&t1);
	row("revocation_contains", count, &t0, &t1);

	/* ---- sanity: a revoked token and a tampered one must not pass ---- */
	{
		struct token t, out;
		uint8_t buf[WIRE_TOKEN_MAX];
		size_t len;

		memset(&t, 0, sizeof(t));
		t.type = WIRE_TYPE_USER_TOKEN;
		snprintf(t.name, sizeof(t.name), "revoked-user");
		mask_bit_set(&t.grant, 0);
		t.serial = revoked[0];
		t.not_before = now - 1;
		t.not_after = now + 1;
		if (token_sign(&t, &ak, buf, sizeof(buf), &len) != 0 ||
		    token_verify(buf, len, 0, &trust, &out) != TOKEN_ERR_REVOKED) {
			fprintf(stderr, "bench_policy: a revoked token verifies\n");
			fails++;
		}
		memcpy(buf, tok[ntok - 1].buf, tok[ntok - 1].len);
		len = tok[ntok - 1].len;
		buf[len - WIRE_SIG_LEN - 1] ^= 0x80;	/* last mask or name byte */
		if (token_verify(buf, len, 0, &trust, &out) == TOKEN_OK) {
			fprintf(stderr, "bench_policy: a tampered token verifies\n");
			fails++;
		}
	}

	printf("\nencoded sizes (bytes): host token min %zu max %zu; "
	       "user token min %zu max %zu; revocation list %zu\n",
	       sz.host_min, sz.host_max, sz.user_min, sz.user_max, rl_len);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("max RSS: %ld KiB\n", ru.ru_maxrss);
	printf("per sec and us/item are from process CPU time (one thread)\n");
	printf("result: %s (%zu failures)\n", fails ? "FAIL" : "ok", fails);

	revocation_free(&rl_verified);
	free(rl_bin);
	free(revoked);
	free(tok);
	policy_free(p);
	keys_authority_wipe(&ak);
	free(g.pub);
	free(g.group_members);
	free(g.host_grant);
	free(g.user_grant);
	free(g.json.p);
	return fails ? 1 : 0;
}
