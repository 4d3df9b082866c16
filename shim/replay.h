/*
 * shim/replay.h - the anti-replay window of RFC 6479: a ring of 64-bit
 * words, so that sliding the window costs a word at a time. Accepts any
 * counter within REPLAY_WINDOW below the highest seen, once.
 */
#ifndef CAPTUN_SHIM_REPLAY_H
#define CAPTUN_SHIM_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum replay_size {
	REPLAY_WORDS = 128,			/* ring of 8192 bits */
	REPLAY_WINDOW = (REPLAY_WORDS - 1) * 64, /* 8128 packets */
};

struct replay {
	uint64_t top;		/* highest counter accepted + 1; 0: none yet */
	uint64_t ring[REPLAY_WORDS];
};

void replay_init(struct replay *r);
/* Would counter be accepted? Cheap; call before decrypting. */
bool replay_check(const struct replay *r, uint64_t counter);
/* Marks counter seen; call after the AEAD verified. False if replayed. */
bool replay_update(struct replay *r, uint64_t counter);

#endif
