/*
 * tests/tools/inject_craft.c - what capinject puts inside its messages:
 * inner IP packets (ICMP / ICMPv6 echo requests, checksums through
 * shim/inet.c) and capability announcements laid out and signed as
 * shim/announce.c does (proto.h: struct proto_announce, host token, mask,
 * Ed25519 over PROTO_ANNOUNCE_CONTEXT and the message).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "capinject.h"
#include "inet.h"
#include "mask.h"

enum craft_const {
	IP4_HDR = 20,
	IP6_HDR = 40,
	ICMP_HDR = 8,
	ICMP4_ECHO = 8,
	ICMP4_ECHO_REPLY = 0,
	ICMP6_ECHO = 128,
	ICMP6_ECHO_REPLY = 129,
	TTL = 64,
};

static const char payload[] = "capinject echo payload 0123456789";

bool inj_overlay(const struct token *t, bool v6, uint8_t addr[16])
{
	if (v6 && (t->flags & WIRE_HOST_OVERLAY6)) {
		memcpy(addr, t->overlay6, 16);
		return true;
	}
	if (!v6 && (t->flags & WIRE_HOST_OVERLAY4)) {
		memcpy(addr, t->overlay4, 4);
		return true;
	}
	return false;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ICMPv6 checksum: pseudo-header (RFC 8200) then the message. */
static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst,
			   const uint8_t *msg, size_t len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	tail[2] = (uint8_t)(len >> 8);
	tail[3] = (uint8_t)len;
	tail[7] = IPPROTO_ICMPV6;
	sum = inet_csum_add(0, src, 16);
	sum = inet_csum_add(sum, dst, 16);
	sum = inet_csum_add(sum, tail, sizeof(tail));
	return inet_csum_fold(inet_csum_add(sum, msg, len));
}

size_t inj_craft_echo(bool v6, const uint8_t *src, const uint8_t *dst,
		      uint16_t id, uint16_t seq, uint8_t *out, size_t cap)
{
	size_t hl = v6 ? IP6_HDR : IP4_HDR;
	size_t icmp_len = ICMP_HDR + sizeof(payload) - 1;
	size_t total = hl + icmp_len;
	uint8_t *icmp = out + hl;

	if (total > cap)
		return 0;
	memset(out, 0, total);
	icmp[0] = v6 ? ICMP6_ECHO : ICMP4_ECHO;
	put16(icmp + 4, id);
	put16(icmp + 6, seq);
	memcpy(icmp + ICMP_HDR, payload, sizeof(payload) - 1);
	if (v6) {
		out[0] = 0x60;
		put16(out + 4, (uint16_t)icmp_len);
		out[6] = IPPROTO_ICMPV6;
		out[7] = TTL;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
		put16(icmp + 2, icmp6_csum(src, dst, icmp, icmp_len));
	} else {
		out[0] = 0x45;
		put16(out + 2, (uint16_t)total);
		put16(out + 4, (uint16_t)randombytes_random());
		out[6] = 0x40;		/* DF */
		out[8] = TTL;
		out[9] = IPPROTO_ICMP;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		put16(out + 10, inet_csum_fold(inet_csum_add(0, out, IP4_HDR)));
		put16(icmp + 2, inet_csum_fold(inet_csum_add(0, icmp, icmp_len)));
	}
	return total;
}

/* An IP header src -> dst of proto around plen bytes; its length. */
static size_t ip_hdr(bool v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     size_t plen, uint8_t *out)
{
	if (v6) {
		memset(out, 0, IP6_HDR);
		out[0] = 0x60;
		put16(out + 4, (uint16_t)plen);
		out[6] = proto;
		out[7] = TTL;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
		return IP6_HDR;
	}
	memset(out, 0, IP4_HDR);
	out[0] = 0x45;
	put16(out + 2, (uint16_t)(IP4_HDR + plen));
	put16(out + 4, (uint16_t)randombytes_random());
	out[8] = TTL;
	out[9] = proto;
	memcpy(out + 12, src, 4);
	memcpy(out + 16, dst, 4);
	put16(out + 10, inet_csum_fold(inet_csum_add(0, out, IP4_HDR)));
	return IP4_HDR;
}

size_t inj_craft_unreach(bool v6, const uint8_t *src, const uint8_t *dst,
			 const uint8_t *qsrc, uint16_t qsport, const uint8_t *qdst,
			 uint16_t qdport, uint8_t *out, size_t cap)
{
	size_t hl = v6 ? IP6_HDR : IP4_HDR;
	size_t icmp_len = ICMP_HDR + hl + 8;
	uint8_t *icmp = out + hl, *quote = icmp + ICMP_HDR, *udp;

	if (hl + icmp_len > cap)
		return 0;
	ip_hdr(v6, src, dst, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, icmp_len, out);
	memset(icmp, 0, ICMP_HDR);
	icmp[0] = v6 ? 1 : 3;		/* destination unreachable */
	icmp[1] = v6 ? 4 : 3;		/* port unreachable */
	udp = quote + ip_hdr(v6, qsrc, qdst, IPPROTO_UDP, 8 + 16, quote);
	put16(udp, qsport);
	put16(udp + 2, qdport);
	put16(udp + 4, 8 + 16);
	put16(udp + 6, 0);
	put16(icmp + 2, v6 ? icmp6_csum(src, dst, icmp, icmp_len) :
		       inet_csum_fold(inet_csum_add(0, icmp, icmp_len)));
	return hl + icmp_len;
}

bool inj_is_echo_reply(bool v6, const uint8_t *pkt, size_t len,
		       const uint8_t *from, uint16_t id, uint16_t seq)
{
	struct inet_flow f;
	size_t hl;
	const uint8_t *icmp;

	if (!inet_parse(pkt, len, &f) || f.total_len > len)
		return false;
	if (v6) {
		if (f.family != AF_INET6 || f.proto != IPPROTO_ICMPV6 ||
		    memcmp(f.src.s6_addr, from, 16) != 0)
			return false;
		hl = IP6_HDR;
	} else {
		if (f.family != AF_INET || f.proto != IPPROTO_ICMP ||
		    memcmp(&f.src.s6_addr[12], from, 4) != 0)
			return false;
		hl = (size_t)(pkt[0] & 0x0f) * 4;
	}
	if (f.total_len < hl + ICMP_HDR)
		return false;
	icmp = pkt + hl;
	return icmp[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY) &&
	       (uint16_t)(icmp[4] << 8 | icmp[5]) == id &&
	       (uint16_t)(icmp[6] << 8 | icmp[7]) == seq;
}

static bool put(uint8_t *out, size_t cap, size_t *pos, const void *data,
		size_t len)
{
	if (*pos + len > cap)
		return false;
	memcpy(out + *pos, data, len);
	*pos += len;
	return true;
}

int inj_craft_announce(const struct inj_host *h, uint32_t epoch,
		       const uint8_t *sign_sk, uint8_t *out, size_t cap,
		       size_t *len)
{
	uint8_t mask_bytes[WIRE_MASK_BYTES];
	struct proto_announce hdr;
	crypto_sign_state st;
	size_t pos = 0, mlen;

	mlen = mask_encode(&h->self.grant, mask_bytes);
	memset(&hdr, 0, sizeof(hdr));
	hdr.ctl = PROTO_CTL_ANNOUNCE;
	hdr.nusers = 0;
	hdr.host_token_len = htobe16((uint16_t)h->self_token_len);
	hdr.epoch = htobe32(epoch);
	hdr.issued_at = htobe64((uint64_t)time(NULL));
	hdr.mask_len = (uint8_t)mlen;
	if (!put(out, cap, &pos, &hdr, sizeof(hdr)) ||
	    !put(out, cap, &pos, h->self_token, h->self_token_len) ||
	    !put(out, cap, &pos, mask_bytes, mlen) || pos + WIRE_SIG_LEN > cap)
		return -E2BIG;
	if (crypto_sign_init(&st) != 0 ||
	    crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
			       sizeof(PROTO_ANNOUNCE_CONTEXT) - 1) != 0 ||
	    crypto_sign_update(&st, out, pos) != 0 ||
	    crypto_sign_final_create(&st, out + pos, NULL, sign_sk) != 0)
		return -EIO;
	*len = pos + WIRE_SIG_LEN;
	return 0;
}
