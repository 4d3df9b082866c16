/*
 * policy/mask.c - 1024-bit host masks and their canonical and human forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"

void mask_clear(struct mask *m)
{
	memset(m, 0, sizeof(*m));
}

void mask_fill(struct mask *m)
{
	memset(m, 0xff, sizeof(*m));
}

void mask_and(struct mask *dst, const struct mask *src)
{
	for (unsigned i = 0; i < MASK_WORDS; i++)
		dst->w[i] &= src->w[i];
}

void mask_or(struct mask *dst, const struct mask *src)
{
	for (unsigned i = 0; i < MASK_WORDS; i++)
		dst->w[i] |= src->w[i];
}

bool mask_equal(const struct mask *a, const struct mask *b)
{
	uint64_t diff = 0;

	for (unsigned i = 0; i < MASK_WORDS; i++)
		diff |= a->w[i] ^ b->w[i];
	return diff == 0;
}

bool mask_is_empty(const struct mask *m)
{
	uint64_t any = 0;

	for (unsigned i = 0; i < MASK_WORDS; i++)
		any |= m->w[i];
	return any == 0;
}

unsigned mask_count(const struct mask *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MASK_WORDS; i++)
		n += (unsigned)__builtin_popcountll(m->w[i]);
	return n;
}

/* Bit i lives in byte i/8 at position i%8, whatever the host's byte order. */
size_t mask_encode(const struct mask *m, uint8_t out[WIRE_MASK_BYTES])
{
	size_t len = 0;

	for (size_t i = 0; i < WIRE_MASK_BYTES; i++) {
		out[i] = (uint8_t)(m->w[i / 8] >> ((i % 8) * 8));
		if (out[i])
			len = i + 1;
	}
	return len;
}

bool mask_decode(const uint8_t *in, size_t len, struct mask *out)
{
	if (len > WIRE_MASK_BYTES)
		return false;
	if (len > 0 && in[len - 1] == 0)
		return false;
	mask_clear(out);
	for (size_t i = 0; i < len; i++)
		out->w[i / 8] |= (uint64_t)in[i] << ((i % 8) * 8);
	return true;
}

/* Appends to buf without overflowing it, counting what the text needs. */
static void put(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos < cap) {
		size_t room = cap - *pos;
		size_t k = n < room ? n : room - 1;

		memcpy(buf + *pos, s, k);
		buf[*pos + k] = '\0';
	}
	*pos += n;
}

size_t mask_format(const struct mask *m, char *buf, size_t cap)
{
	size_t pos = 0;
	char part[24];
	bool first = true;

	if (cap > 0)
		buf[0] = '\0';
	for (unsigned i = 0; i < MASK_BITS; i++) {
		unsigned j;

		if (!mask_bit_test(m, i))
			continue;
		for (j = i; j + 1 < MASK_BITS && mask_bit_test(m, j + 1); j++)
			;
		if (j == i)
			snprintf(part, sizeof(part), "%s%u", first ? "" : ",", i);
		else
			snprintf(part, sizeof(part), "%s%u-%u", first ? "" : ",", i, j);
		put(buf, cap, &pos, part);
		first = false;
		i = j;
	}
	if (first)
		put(buf, cap, &pos, "-");
	return pos;
}

/* One decimal bit number without sign, leading zeros or overflow. */
static bool number(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return false;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= MASK_BITS)
			return false;
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

bool mask_parse(const char *text, struct mask *out)
{
	const char *p = text;
	int last = -1;
	struct mask m;

	mask_clear(&m);
	if (strcmp(text, "-") == 0) {
		*out = m;
		return true;
	}
	for (;;) {
		unsigned lo, hi;

		if (!number(&p, &lo))
			return false;
		hi = lo;
		if (*p == '-') {
			p++;
			if (!number(&p, &hi) || hi <= lo)
				return false;
		}
		if ((int)lo <= last)
			return false;
		for (unsigned b = lo; b <= hi; b++)
			mask_bit_set(&m, b);
		last = (int)hi;
		if (*p == '\0')
			break;
		if (*p != ',')
			return false;
		p++;
	}
	*out = m;
	return true;
}
