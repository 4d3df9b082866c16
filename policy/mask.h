/*
 * policy/mask.h - 1024-bit host masks: one bit per host of a network.
 */
#ifndef CAPTUN_POLICY_MASK_H
#define CAPTUN_POLICY_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum mask_size {
	MASK_BITS = WIRE_MASK_BITS,
	MASK_WORDS = WIRE_MASK_BITS / 64,
};

struct mask {
	uint64_t w[MASK_WORDS];
};

static inline void mask_bit_set(struct mask *m, unsigned bit)
{
	if (bit < MASK_BITS)
		m->w[bit / 64] |= UINT64_C(1) << (bit % 64);
}

static inline void mask_bit_clear(struct mask *m, unsigned bit)
{
	if (bit < MASK_BITS)
		m->w[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
}

static inline bool mask_bit_test(const struct mask *m, unsigned bit)
{
	return bit < MASK_BITS && (m->w[bit / 64] >> (bit % 64)) & 1;
}

void mask_clear(struct mask *m);
void mask_fill(struct mask *m);
void mask_and(struct mask *dst, const struct mask *src);
void mask_or(struct mask *dst, const struct mask *src);
bool mask_equal(const struct mask *a, const struct mask *b);
bool mask_is_empty(const struct mask *m);
unsigned mask_count(const struct mask *m);

/* Canonical encoding (wire.h): returns the number of bytes written to out. */
size_t mask_encode(const struct mask *m, uint8_t out[WIRE_MASK_BYTES]);
/* Rejects lengths over WIRE_MASK_BYTES and a trailing zero byte. */
bool mask_decode(const uint8_t *in, size_t len, struct mask *out);

/*
 * Human form: ascending bit ranges, "0-3,7,9". Returns the length the full
 * text needs (like snprintf); "-" for the empty mask.
 */
size_t mask_format(const struct mask *m, char *buf, size_t cap);
/* Parses the human form back; strict (no spaces, ascending, in range). */
bool mask_parse(const char *text, struct mask *out);

#endif
