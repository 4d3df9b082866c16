/*
 * shim/fragment.c - IPv4 fragmentation of an inner packet that is larger
 * than the path to its peer and may be fragmented (DF clear), as a router
 * on the way would do it (RFC 791): each fragment carries the header, a
 * piece of the payload (a multiple of 8 bytes but the last), the offset
 * and MF; an already fragmented packet keeps its offset and its MF on the
 * last piece.
 */
#include <errno.h>
#include <string.h>

#include "inet.h"

enum {
	IP4_HDR = 20,
	IP4_MF = 0x2000,
	IP4_DF = 0x4000,
	IP4_OFFSET = 0x1fff,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int inet_fragment4(const uint8_t *pkt, size_t len, unsigned mtu, uint8_t *scratch,
		   int (*emit)(void *arg, const uint8_t *frag, size_t len), void *arg)
{
	size_t hl, total, off = 0, step;
	uint16_t frag, base;
	int n = 0;

	if (len < IP4_HDR || (pkt[0] >> 4) != 4)
		return -EINVAL;
	hl = (size_t)(pkt[0] & 0x0f) * 4;
	total = get16(pkt + 2);
	frag = get16(pkt + 6);
	/* Options would have to be sorted into copied and not: not done. */
	if (hl != IP4_HDR || total < hl || total > len || (frag & IP4_DF))
		return -EINVAL;
	if (mtu < IP4_HDR + 8 || total <= mtu)
		return -EINVAL;
	base = frag & IP4_OFFSET;
	step = (mtu - hl) & ~(size_t)7;
	while (off < total - hl) {
		size_t piece = total - hl - off > step ? step : total - hl - off;
		bool last = off + piece == total - hl;
		uint16_t f = (uint16_t)(base + off / 8);
		int ret;

		if (f > IP4_OFFSET)
			return -EINVAL;
		memcpy(scratch, pkt, hl);
		memcpy(scratch + hl, pkt + hl + off, piece);
		put16(scratch + 2, (uint16_t)(hl + piece));
		put16(scratch + 6, (uint16_t)(f | (last ? frag & IP4_MF : IP4_MF)));
		put16(scratch + 10, 0);
		put16(scratch + 10, inet_csum_fold(inet_csum_add(0, scratch, hl)));
		ret = emit(arg, scratch, hl + piece);
		if (ret < 0)
			return ret;
		off += piece;
		n++;
	}
	return n;
}
