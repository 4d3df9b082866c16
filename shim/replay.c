/*
 * shim/replay.c - the anti-replay window of RFC 6479 (replay.h), shaped
 * like WireGuard's counter_validate.
 *
 * Bits are indexed by counter + 1, so that top (the highest counter
 * accepted plus one) is the highest bit set and 0 means "nothing yet".
 * The ring holds REPLAY_WORDS words; the window is one word shorter, so
 * the word that top moves into can be cleared without losing a counter
 * still inside the window. A counter c is accepted when it is below
 * PROTO_REJECT_AFTER_MESSAGES, has not been seen, and c + 1 + REPLAY_WINDOW
 * >= top (that is, at most REPLAY_WINDOW below the highest one).
 */
#include <string.h>

#include "proto.h"
#include "replay.h"

enum replay_ring {
	WORD_BITS = 64,
	WORD_SHIFT = 6,
	RING_MASK = REPLAY_WORDS - 1,
};

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "ring size is a power of two");
_Static_assert(REPLAY_WINDOW == (REPLAY_WORDS - 1) * WORD_BITS, "window");

/* The ring word that holds bit pos. */
static unsigned word_of(uint64_t pos)
{
	return (unsigned)((pos >> WORD_SHIFT) & RING_MASK);
}

/* The mask of bit pos within its word. */
static uint64_t bit_of(uint64_t pos)
{
	return UINT64_C(1) << (pos & (WORD_BITS - 1));
}

void replay_init(struct replay *r)
{
	/* A new session has seen nothing: top 0, every bit clear. */
	memset(r, 0, sizeof(*r));
}

bool replay_check(const struct replay *r, uint64_t counter)
{
	/* Read-only and branch-cheap, so it can gate the AEAD. */
	uint64_t pos;

	if (counter >= PROTO_REJECT_AFTER_MESSAGES)
		return false;
	pos = counter + 1;
	if (pos + REPLAY_WINDOW < r->top)
		return false;
	if (pos > r->top)
		return true;
	return (r->ring[word_of(pos)] & bit_of(pos)) == 0;
}

bool replay_update(struct replay *r, uint64_t counter)
{
	/*
	 * Checks again (two packets with one counter may both have passed
	 * replay_check before either was decrypted), slides the window when
	 * the counter is new and highest, then marks it.
	 */
	uint64_t pos, steps, i, cur;

	if (!replay_check(r, counter))
		return false;
	pos = counter + 1;
	if (pos > r->top) {
		cur = r->top >> WORD_SHIFT;
		steps = (pos >> WORD_SHIFT) - cur;
		if (steps > REPLAY_WORDS)
			steps = REPLAY_WORDS;
		for (i = 1; i <= steps; i++)
			r->ring[(cur + i) & RING_MASK] = 0;
		r->top = pos;
	}
	r->ring[word_of(pos)] |= bit_of(pos);
	return true;
}
