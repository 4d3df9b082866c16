/*
 * tests/unit/check_replay.c - shim/replay.h: tables of counter sequences
 * with the expected verdicts, then long random sequences compared with a
 * plain reference model (the set of counters seen, and the rule).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "replay.h"
#include "suites.h"

#define W ((uint64_t)REPLAY_WINDOW)
#define R PROTO_REJECT_AFTER_MESSAGES
#define JUMP (UINT64_C(1) << 40)
#define RING ((uint64_t)REPLAY_WORDS * 64)

/* ---- tables -------------------------------------------------------- */

struct step {
	uint64_t counter;
	bool ok;
};

struct seq_case {
	const char *name;
	struct step steps[16];
	size_t n;
};

#define SEQ(nm, ...)                                                          \
	{ nm, { __VA_ARGS__ },                                               \
	  sizeof((struct step[]){ __VA_ARGS__ }) / sizeof(struct step) }

static const struct seq_case seq_cases[] = {
	SEQ("in order", { 0, true }, { 1, true }, { 2, true }, { 3, true },
	    { 4, true }, { 5, true }, { 6, true }, { 7, true }),
	SEQ("counter 0", { 0, true }, { 0, false }, { 1, true }, { 0, false },
	    { 1, false }),
	SEQ("starts high", { 1000, true }, { 0, true }, { 999, true },
	    { 1001, true }, { 0, false }),
	SEQ("duplicates", { 5, true }, { 5, false }, { 3, true }, { 3, false },
	    { 5, false }, { 6, true }, { 6, false }, { 4, true }, { 4, false }),
	SEQ("out of order within the window", { 10000, true }, { 9000, true },
	    { 10000 - W, true }, { 10000 - W, false }, { 9999, true },
	    { 10001, true }, { 9000, false }, { 10001 - W, true },
	    { 5000, true }, { 10002, true }),
	SEQ("word boundaries", { 62, true }, { 63, true }, { 64, true },
	    { 127, true }, { 128, true }, { 63, false }, { 64, false },
	    { 65, true }, { 126, true }, { 127, false }, { 129, true }),
	SEQ("exactly at the window edge", { W, true }, { 0, true }, { 0, false },
	    { W + 1, true }, { 1, true }, { 0, false }, { 2 * W, true },
	    { W - 1, false }, { W, false }, { W + 2, true }, { W + 2, false }),
	SEQ("too old", { 20000, true }, { 20000 - W - 1, false }, { 0, false },
	    { 1, false }, { 20000 - W, true }, { 20000 - W - 1, false }),
	SEQ("huge jump then old", { 5, true }, { JUMP, true }, { 5, false },
	    { 6, false }, { JUMP - 1, true }, { JUMP - W, true },
	    { JUMP - W - 1, false }, { JUMP, false }, { JUMP + 1, true },
	    { JUMP - W, false }),
	SEQ("ring reuse after a jump of one ring", { 100, true },
	    { 100 + RING, true }, { 100 + RING - 64, true }, { 100, false },
	    { 100 + 2 * RING, true }, { 100 + RING, false },
	    { 100 + 2 * RING - W, true }),
	SEQ("jump of half a ring clears only what left", { 1000, true },
	    { 1000 + RING / 2, true }, { 1000 + W, true }, { 1000, false },
	    { 1001, true }, { 1000 + RING / 2 + 1, true }, { 1000 + W, false },
	    { 1000 + RING / 2 - 1, true }),
	SEQ("reject-after limit", { R - 3, true }, { R - 1, true }, { R, false },
	    { R + 1, false }, { UINT64_MAX, false }, { R - 1, false },
	    { R - 2, true }, { R - 3, false }, { R - 1 - W, true },
	    { R - 2 - W, false }),
	SEQ("limit before anything", { UINT64_MAX, false }, { R, false },
	    { 0, true }, { R - 1, true }, { 0, false }),
};

START_TEST(test_sequences)
{
	const struct seq_case *c = &seq_cases[_i];
	struct replay r, before;
	size_t i;

	ck_assert_uint_le(c->n, sizeof(c->steps) / sizeof(c->steps[0]));
	replay_init(&r);
	for (i = 0; i < c->n; i++) {
		const struct step *s = &c->steps[i];

		before = r;
		ck_assert_msg(replay_check(&r, s->counter) == s->ok,
			      "%s: step %zu check(%llu) != %d", c->name, i,
			      (unsigned long long)s->counter, s->ok);
		ck_assert(memcmp(&r, &before, sizeof(r)) == 0);
		ck_assert_msg(replay_update(&r, s->counter) == s->ok,
			      "%s: step %zu update(%llu) != %d", c->name, i,
			      (unsigned long long)s->counter, s->ok);
		if (!s->ok)
			ck_assert(memcmp(&r, &before, sizeof(r)) == 0);
		ck_assert(!replay_check(&r, s->counter));
		ck_assert(!replay_update(&r, s->counter));
	}
}
END_TEST

START_TEST(test_init)
{
	struct replay r;
	size_t i;

	memset(&r, 0xff, sizeof(r));
	replay_init(&r);
	ck_assert_uint_eq(r.top, 0);
	for (i = 0; i < REPLAY_WORDS; i++)
		ck_assert_uint_eq(r.ring[i], 0);
	ck_assert(replay_check(&r, 0));
	ck_assert(replay_check(&r, R - 1));
	ck_assert(!replay_check(&r, R));
}
END_TEST

/* Every counter of the window just below a top, after a full fill. */
START_TEST(test_full_window)
{
	const uint64_t base = 3 * RING + 17, top = base + 2 * W;
	struct replay r;
	uint64_t c;

	replay_init(&r);
	for (c = base; c <= top; c += 2)
		ck_assert(replay_update(&r, c));
	for (c = top - W; c <= top; c++)
		ck_assert_int_eq(replay_check(&r, c), (c - base) % 2 == 1);
	for (c = top - W; c <= top; c++)
		ck_assert_int_eq(replay_update(&r, c), (c - base) % 2 == 1);
	for (c = top - W - 64; c <= top; c++)
		ck_assert(!replay_check(&r, c));
	ck_assert(replay_check(&r, top + 1));
}
END_TEST

/* ---- random sequences against a reference model -------------------- */

/* Open-addressing set of counters (stored + 1, so that 0 means empty). */
struct seen_set {
	uint64_t *slot;
	size_t mask;
};

static void seen_init(struct seen_set *s, size_t slots)
{
	s->slot = calloc(slots, sizeof(*s->slot));
	ck_assert_ptr_nonnull(s->slot);
	s->mask = slots - 1;
}

static size_t seen_find(const struct seen_set *s, uint64_t c)
{
	size_t i = (size_t)((c * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & s->mask;

	while (s->slot[i] != 0 && s->slot[i] != c + 1)
		i = (i + 1) & s->mask;
	return i;
}

static bool seen_has(const struct seen_set *s, uint64_t c)
{
	return s->slot[seen_find(s, c)] == c + 1;
}

static void seen_add(struct seen_set *s, uint64_t c)
{
	s->slot[seen_find(s, c)] = c + 1;
}

/* The rule, stated plainly: new, below the limit, not too far below the max. */
struct model {
	struct seen_set seen;
	bool any;
	uint64_t max;
};

enum verdict {
	V_ACCEPT,
	V_LIMIT,
	V_SEEN,
	V_OLD,
	V_COUNT,
};

static enum verdict model_accept(struct model *m, uint64_t c)
{
	if (c >= R)
		return V_LIMIT;
	if (seen_has(&m->seen, c))
		return V_SEEN;
	if (m->any && c < m->max && m->max - c > W)
		return V_OLD;
	seen_add(&m->seen, c);
	if (!m->any || c > m->max)
		m->max = c;
	m->any = true;
	return V_ACCEPT;
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Mostly forward, often back into and past the window, sometimes far ahead,
 * rarely at or past the limit (just below it the tables cover: accepting
 * there would end the run's useful part).
 */
static uint64_t counter_pick(uint64_t *x, const struct model *m, uint64_t last)
{
	uint64_t r = rng_next(x), pick = rng_next(x), hi = m->any ? m->max : 0;
	unsigned kind = (unsigned)(r % 1000);

	if (kind < 500)
		return hi + 1 + pick % 4;
	if (kind < 800)
		return hi - (pick % (W + W / 4) < hi ? pick % (W + W / 4) : hi);
	if (kind < 900)
		return hi - (pick % 64 < hi ? pick % 64 : hi);
	if (kind < 960)
		return last;
	if (kind < 990)
		return hi + pick % (3 * RING);
	if (kind < 998)
		return hi + pick % JUMP;
	return pick % 2 ? R + pick % 1000 : UINT64_MAX - pick % 8;
}

START_TEST(test_random_model)
{
	enum { COUNT = 100000 };
	uint64_t x = UINT64_C(0x243f6a8885a308d3) + (uint64_t)_i * 7919, last = 0;
	size_t i, verdicts[V_COUNT] = { 0 };
	struct model m = { .any = false };
	struct replay r;

	replay_init(&r);
	seen_init(&m.seen, (size_t)1 << 18);
	for (i = 0; i < COUNT; i++) {
		uint64_t c = counter_pick(&x, &m, last);
		enum verdict v = model_accept(&m, c);
		bool want = v == V_ACCEPT;

		ck_assert_msg(replay_check(&r, c) == want,
			      "seed %d step %zu check(%llu) != %d", _i, i,
			      (unsigned long long)c, want);
		ck_assert_msg(replay_update(&r, c) == want,
			      "seed %d step %zu update(%llu) != %d", _i, i,
			      (unsigned long long)c, want);
		verdicts[v]++;
		last = c;
	}
	/* The mix reached every verdict plenty of times. */
	ck_assert_uint_gt(verdicts[V_ACCEPT], COUNT / 2);
	ck_assert_uint_gt(verdicts[V_LIMIT], 50);
	ck_assert_uint_gt(verdicts[V_SEEN], COUNT / 20);
	ck_assert_uint_gt(verdicts[V_OLD], COUNT / 50);
	free(m.seen.slot);
}
END_TEST

Suite *suite_replay(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, test_init);
	tcase_add_loop_test(tc, test_sequences, 0,
			    (int)(sizeof(seq_cases) / sizeof(seq_cases[0])));
	tcase_add_test(tc, test_full_window);
	tcase_add_loop_test(tc, test_random_model, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
