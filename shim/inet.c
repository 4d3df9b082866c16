/*
 * shim/inet.c - parsing inner IP packets into flows, and building the
 * packets the shim writes back to a local application (TCP RST, ICMP /
 * ICMPv6 unreachable, fragmentation needed / packet too big).
 *
 * Every read is bounded by the received length first and by the length
 * the headers declare second; multi-byte fields are read byte by byte,
 * never through a cast pointer. The quoted packet of an ICMP error is
 * parsed leniently (a quote is a truncated packet by nature), but only
 * within the quote.
 */
#include <arpa/inet.h>
#include <string.h>

#include "inet.h"

enum {
	IP4_HDR = 20,
	IP6_HDR = 40,
	IP4_DF = 0x4000,
	IP4_MF = 0x2000,
	IP4_OFFMASK = 0x1fff,
	IP6_EXT_MAX = 8,		/* extension headers walked at most */
	TCP_HDR = 20,
	UDP_HDR = 8,
	SCTP_HDR = 12,
	ICMP_HDR = 8,
	PORTS_LEN = 4,			/* source and destination port */
	TTL_OUT = 64,
	ICMP4_QUOTE_TOTAL = 576,	/* RFC 1812 4.3.2.3 */
	ICMP6_QUOTE_TOTAL = 1280,	/* RFC 4443 2.4 (c) */
	MTU4_MIN = 68,
	MTU6_MIN = 1280,
};

enum {
	TCPF_FIN = 0x01,
	TCPF_SYN = 0x02,
	TCPF_RST = 0x04,
	TCPF_ACK = 0x10,
};

enum {
	ICMP4_ECHO_REPLY = 0,
	ICMP4_UNREACH = 3,
	ICMP4_SOURCE_QUENCH = 4,
	ICMP4_REDIRECT = 5,
	ICMP4_ECHO = 8,
	ICMP4_TIME_EXCEEDED = 11,
	ICMP4_PARAM_PROBLEM = 12,
	ICMP4_CODE_FRAG_NEEDED = 4,
	ICMP4_CODE_ADMIN = 13,
	ICMP6_UNREACH = 1,
	ICMP6_TOO_BIG = 2,
	ICMP6_PARAM_PROBLEM = 4,
	ICMP6_INFO_MIN = 128,		/* below: error messages */
	ICMP6_ECHO = 128,
	ICMP6_ECHO_REPLY = 129,
	ICMP6_CODE_ADMIN = 1,
};

_Static_assert((int)ICMP4_QUOTE_TOTAL <= (int)INET_REJECT_MAX, "v4 quote fits");
_Static_assert((int)ICMP6_QUOTE_TOTAL <= (int)INET_REJECT_MAX, "v6 quote fits");
_Static_assert((int)IP6_HDR + TCP_HDR <= (int)INET_REJECT_MAX, "rst fits");

/* Where the layers of a parsed packet lie, for the builders. */
struct layout {
	size_t l4_off;			/* transport header */
	size_t end;			/* IP total length */
	bool more;			/* more fragments follow this one */
};

/* What walking an IPv6 extension-header chain found. */
struct ext_walk {
	uint8_t nh;			/* the header after the chain */
	size_t off;			/* where it starts */
	bool nonfirst;			/* a fragment header with offset > 0 */
	bool more;			/* its M flag */
};

enum walk_result {
	WALK_BAD = -1,			/* malformed */
	WALK_CUT = 0,			/* ran out of bytes inside the chain */
	WALK_OK = 1,
};

/* Big-endian reads and writes, byte by byte: no alignment assumptions. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* See get16. */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* See get16. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* See get16. */
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Both families share the v4-mapped layout, so IPv4 goes in mapped. */
void inet_addr_from4(struct in6_addr *out, const struct in_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = 0xff;
	out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], &a->s_addr, 4);
}

/* Tells the mapped IPv4 addresses apart from real IPv6 ones. */
bool inet_addr_is4(const struct in6_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(a);
}

/* For logs: dotted quad for mapped addresses, else the IPv6 text. */
const char *inet_addr_str(const struct in6_addr *a, char *buf, size_t cap)
{
	struct in_addr v4;
	const char *s;

	if (!buf || cap == 0)
		return "";
	if (inet_addr_is4(a)) {
		memcpy(&v4.s_addr, &a->s6_addr[12], 4);
		s = inet_ntop(AF_INET, &v4, buf, (socklen_t)(cap > 64 ? 64 : cap));
	} else {
		s = inet_ntop(AF_INET6, a, buf, (socklen_t)(cap > 64 ? 64 : cap));
	}
	if (!s) {
		buf[0] = '\0';
		if (cap >= 2) {
			buf[0] = '?';
			buf[1] = '\0';
		}
	}
	return buf;
}

/*
 * One's complement sum of 16-bit big-endian words (an odd last byte is
 * padded with zero); chain calls with even-length pieces. 64-bit inside so
 * that any length folds back without loss.
 */
uint32_t inet_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0, a1 = 0, a2 = 0, a3 = 0;
	uint32_t w, v[4];

	/*
	 * Native 32-bit loads: the folded native sum is the byte-swapped
	 * network-order sum, which ntohs undoes (RFC 1071, byte-order
	 * independence). This runs once or twice per segment on the offload
	 * path (it was 8% of capshim's time on bulk TCP), so 16 bytes a turn
	 * into four independent accumulators that the CPU adds in parallel;
	 * none can overflow below 2^32 turns.
	 */
	for (; len >= 16; p += 16, len -= 16) {
		memcpy(v, p, 16);
		acc += v[0];
		a1 += v[1];
		a2 += v[2];
		a3 += v[3];
	}
	acc = (acc & 0xffffffffu) + (acc >> 32) + (a1 & 0xffffffffu) + (a1 >> 32) +
	      (a2 & 0xffffffffu) + (a2 >> 32) + (a3 & 0xffffffffu) + (a3 >> 32);
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		acc += w;
	}
	if (len > 0) {
		uint8_t tail[4] = { 0 };

		memcpy(tail, p, len);
		memcpy(&w, tail, 4);
		acc += w;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (uint64_t)sum + ntohs((uint16_t)acc);
	return (uint32_t)((acc & 0xffffffffu) + (acc >> 32));
}

/* Folds the carries and complements: the value to store big-endian. */
uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header of TCP, UDP and ICMPv6 checksums (RFC 793, 8200). */
static uint32_t pseudo_sum(uint8_t family, const struct in6_addr *src,
			   const struct in6_addr *dst, uint8_t proto, size_t len)
{
	uint8_t tail[4];
	uint32_t sum;

	put32(tail, (uint32_t)len);
	if (family == AF_INET) {
		sum = inet_csum_add(0, &src->s6_addr[12], 4);
		sum = inet_csum_add(sum, &dst->s6_addr[12], 4);
	} else {
		sum = inet_csum_add(0, src->s6_addr, 16);
		sum = inet_csum_add(sum, dst->s6_addr, 16);
	}
	sum = inet_csum_add(sum, tail, 4);
	return sum + proto;
}

/* ICMP for the family the packet is in (ICMPv4 inside IPv6 is not ICMP). */
static bool is_icmp(uint8_t family, uint8_t proto)
{
	return (family == AF_INET && proto == IPPROTO_ICMP) ||
	       (family == AF_INET6 && proto == IPPROTO_ICMPV6);
}

/* Echo messages carry an identifier that stands in for ports. */
static bool is_echo(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP4_ECHO || type == ICMP4_ECHO_REPLY;
	return type == ICMP6_ECHO || type == ICMP6_ECHO_REPLY;
}

/* The errors whose quoted packet is worth a flow (the brief's list). */
static bool is_error(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP4_UNREACH || type == ICMP4_TIME_EXCEEDED ||
		       type == ICMP4_PARAM_PROBLEM ||
		       type == ICMP4_SOURCE_QUENCH;
	return type >= ICMP6_UNREACH && type <= ICMP6_PARAM_PROBLEM;
}

/* Any error message at all: never answered (RFC 1122 3.2.2, 4443 2.4). */
static bool is_any_error(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return is_error(family, type) || type == ICMP4_REDIRECT;
	return type < ICMP6_INFO_MIN;
}

/* Protocols whose first four bytes are the two ports. */
static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP;
}

/* The IPv6 extension headers the walker steps over. */
static bool is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT;
}

/*
 * Walks the extension headers of the IPv6 packet p (end bytes count),
 * at most IP6_EXT_MAX of them; hop-by-hop only first, one fragment
 * header. Stops at the first non-extension header or after a non-first
 * fragment header (what follows it is not a header).
 */
static enum walk_result walk6(const uint8_t *p, size_t end, struct ext_walk *w)
{
	bool frag_seen = false;
	unsigned n;
	size_t hl;

	w->nh = p[6];
	w->off = IP6_HDR;
	w->nonfirst = false;
	w->more = false;
	for (n = 0; is_ext(w->nh); n++) {
		if (n == IP6_EXT_MAX)
			return WALK_BAD;
		if (w->nh == IPPROTO_HOPOPTS && n != 0)
			return WALK_BAD;
		if (end - w->off < 8)
			return WALK_CUT;
		if (w->nh == IPPROTO_FRAGMENT) {
			uint16_t fo = get16(p + w->off + 2);

			if (frag_seen)
				return WALK_BAD;
			frag_seen = true;
			w->more = fo & 1;
			w->nh = p[w->off];
			w->off += 8;
			if (fo >> 3) {
				w->nonfirst = true;
				return WALK_OK;
			}
			continue;
		}
		hl = ((size_t)p[w->off + 1] + 1) * 8;
		if (hl > end - w->off)
			return WALK_CUT;
		w->nh = p[w->off];
		w->off += hl;
	}
	return WALK_OK;
}

/*
 * The transport ports of a quoted packet: only the first bytes of its
 * header are there, so only those are read. Nested ICMP errors give no
 * ports.
 */
static void quoted_ports(const uint8_t *p, size_t n, uint8_t family,
			 struct inet_flow *f)
{
	uint8_t proto = f->related.proto;

	if (has_ports(proto) && n >= PORTS_LEN) {
		f->related.sport = get16(p);
		f->related.dport = get16(p + 2);
	} else if (is_icmp(family, proto) && n >= ICMP_HDR &&
		   is_echo(family, p[0])) {
		f->related.sport = get16(p + 4);
		f->related.dport = f->related.sport;
	}
}

/*
 * The packet an ICMP error quotes (n bytes from p) into f->related. Its
 * IP header must be whole, of the error's own family and not claim fewer
 * bytes than its header; its length may exceed the quote. Past the IP
 * header what is missing stays zero.
 */
static bool parse_quoted(const uint8_t *p, size_t n, struct inet_flow *f)
{
	struct in_addr a4;
	struct ext_walk w;
	size_t hlen, end;
	enum walk_result wr;

	if (f->family == AF_INET) {
		if (n < IP4_HDR || p[0] >> 4 != 4)
			return false;
		hlen = (size_t)(p[0] & 0x0f) * 4;
		end = get16(p + 2);
		if (hlen < IP4_HDR || hlen > n || end < hlen)
			return false;
		if (end > n)
			end = n;
		memcpy(&a4.s_addr, p + 12, 4);
		inet_addr_from4(&f->related.src, &a4);
		memcpy(&a4.s_addr, p + 16, 4);
		inet_addr_from4(&f->related.dst, &a4);
		f->related.proto = p[9];
		if (get16(p + 6) & IP4_OFFMASK)
			return true;
		quoted_ports(p + hlen, end - hlen, f->family, f);
		return true;
	}
	if (n < IP6_HDR || p[0] >> 4 != 6)
		return false;
	end = IP6_HDR + (size_t)get16(p + 4);
	if (end > n)
		end = n;
	memcpy(&f->related.src, p + 8, 16);
	memcpy(&f->related.dst, p + 24, 16);
	if (inet_addr_is4(&f->related.src) || inet_addr_is4(&f->related.dst))
		return false;
	wr = walk6(p, end, &w);
	if (wr == WALK_BAD)
		return false;
	f->related.proto = w.nh;
	if (wr == WALK_CUT || w.nonfirst)
		return true;
	quoted_ports(p + w.off, end - w.off, f->family, f);
	return true;
}

/* ICMP / ICMPv6: type, code, echo identifier, an error's quoted flow. */
static bool parse_icmp(const uint8_t *p, size_t n, struct inet_flow *f)
{
	if (n < ICMP_HDR)
		return false;
	f->icmp_type = p[0];
	f->icmp_code = p[1];
	if (is_echo(f->family, p[0])) {
		f->sport = get16(p + 4);
		f->dport = f->sport;
		return true;
	}
	if (!is_error(f->family, p[0]))
		return true;
	f->icmp_error = true;
	return parse_quoted(p + ICMP_HDR, n - ICMP_HDR, f);
}

/*
 * The transport header of a first (or only) fragment, n bytes up to the
 * IP total length. Its fixed header must be whole (RFC 1858: no tiny
 * fragments); a datagram length is checked only when not fragmented.
 */
static bool parse_l4(const uint8_t *p, size_t n, bool more, struct inet_flow *f)
{
	size_t doff, ulen;

	switch (f->proto) {
	case IPPROTO_TCP:
		if (n < TCP_HDR)
			return false;
		doff = (size_t)(p[12] >> 4) * 4;
		if (doff < TCP_HDR || doff > n)
			return false;
		f->tcp_flags = p[13];
		f->tcp_seq = get32(p + 4);
		f->tcp_ack = get32(p + 8);
		f->tcp_len = (uint16_t)(n - doff);
		break;
	case IPPROTO_UDP:
		if (n < UDP_HDR)
			return false;
		ulen = get16(p + 4);
		if (!more && (ulen < UDP_HDR || ulen > n))
			return false;
		break;
	case IPPROTO_UDPLITE:
		if (n < UDP_HDR)
			return false;
		ulen = get16(p + 4);	/* checksum coverage, 0: all */
		if (ulen != 0 && (ulen < UDP_HDR || (!more && ulen > n)))
			return false;
		break;
	case IPPROTO_SCTP:
		if (n < SCTP_HDR)
			return false;
		break;
	default:
		if (is_icmp(f->family, f->proto))
			return parse_icmp(p, n, f);
		return true;
	}
	f->sport = get16(p);
	f->dport = get16(p + 2);
	return true;
}

/* IPv4: IHL, total length against the buffer, fragment fields. */
static bool parse4(const uint8_t *pkt, size_t len, struct inet_flow *f,
		   struct layout *ly)
{
	struct in_addr a4;
	size_t hlen, total;
	uint16_t frag;

	if (len < IP4_HDR)
		return false;
	hlen = (size_t)(pkt[0] & 0x0f) * 4;
	total = get16(pkt + 2);
	if (hlen < IP4_HDR || total < hlen || total > len)
		return false;
	frag = get16(pkt + 6);
	/* A fragment reaching past 65535 bytes is an attack, not a packet. */
	if ((size_t)(frag & IP4_OFFMASK) * 8 + (total - hlen) > 65535)
		return false;
	f->family = AF_INET;
	f->proto = pkt[9];
	f->df = frag & IP4_DF;
	f->fragment = (frag & IP4_OFFMASK) != 0;
	f->total_len = (uint16_t)total;
	memcpy(&a4.s_addr, pkt + 12, 4);
	inet_addr_from4(&f->src, &a4);
	memcpy(&a4.s_addr, pkt + 16, 4);
	inet_addr_from4(&f->dst, &a4);
	ly->l4_off = hlen;
	ly->end = total;
	ly->more = frag & IP4_MF;
	if (f->fragment)
		return true;
	return parse_l4(pkt + hlen, total - hlen, ly->more, f);
}

/*
 * IPv6: payload length against the buffer, no v4-mapped addresses (they
 * would pass for IPv4 ones in struct inet_flow), the extension chain.
 * Jumbograms (and so anything above 65535 bytes) are refused.
 */
static bool parse6(const uint8_t *pkt, size_t len, struct inet_flow *f,
		   struct layout *ly)
{
	struct ext_walk w;
	size_t total;

	if (len < IP6_HDR)
		return false;
	total = IP6_HDR + (size_t)get16(pkt + 4);
	if (total > len || total > 65535)
		return false;
	f->family = AF_INET6;
	f->df = true;
	f->total_len = (uint16_t)total;
	memcpy(&f->src, pkt + 8, 16);
	memcpy(&f->dst, pkt + 24, 16);
	if (inet_addr_is4(&f->src) || inet_addr_is4(&f->dst))
		return false;
	if (walk6(pkt, total, &w) != WALK_OK)
		return false;
	f->proto = w.nh;
	f->fragment = w.nonfirst;
	ly->l4_off = w.off;
	ly->end = total;
	ly->more = w.more;
	if (f->fragment)
		return true;
	return parse_l4(pkt + w.off, total - w.off, w.more, f);
}

/* inet_parse plus the layout the builders need. */
static bool parse(const uint8_t *pkt, size_t len, struct inet_flow *f,
		  struct layout *ly)
{
	memset(f, 0, sizeof(*f));
	memset(ly, 0, sizeof(*ly));
	if (!pkt || len < 1)
		return false;
	if (pkt[0] >> 4 == 4)
		return parse4(pkt, len, f, ly);
	if (pkt[0] >> 4 == 6)
		return parse6(pkt, len, f, ly);
	return false;
}

/* Parses into a local copy so that out is untouched on failure. */
bool inet_parse(const uint8_t *pkt, size_t len, struct inet_flow *out)
{
	struct inet_flow f;
	struct layout ly;

	if (!out || !parse(pkt, len, &f, &ly))
		return false;
	*out = f;
	return true;
}

/* Unicast: neither unspecified, multicast, broadcast nor class E. */
static bool is_unicast(uint8_t family, const struct in6_addr *a)
{
	if (family == AF_INET)
		return a->s6_addr[12] != 0 && a->s6_addr[12] < 224;
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a);
}

/*
 * Re-parses pkt (the layout is not in the flow) and checks that it is
 * one the rules allow us to answer: no ICMP errors, no non-first
 * fragments, unicast at both ends. f must be what inet_parse said of it.
 */
static bool answerable(const uint8_t *pkt, size_t len,
		       const struct inet_flow *f, struct inet_flow *g,
		       struct layout *ly)
{
	if (!f || !parse(pkt, len, g, ly))
		return false;
	if (g->family != f->family || g->proto != f->proto)
		return false;
	if (g->fragment || g->icmp_error)
		return false;
	if (is_icmp(g->family, g->proto) && is_any_error(g->family, g->icmp_type))
		return false;
	return is_unicast(g->family, &g->src) && is_unicast(g->family, &g->dst);
}

/*
 * An IP header from src to dst carrying plen bytes of proto; returns its
 * length. IPv4 gets ID 0 and its header checksum.
 */
static size_t put_ip(uint8_t *out, uint8_t family, const struct in6_addr *src,
		     const struct in6_addr *dst, uint8_t proto, size_t plen,
		     bool df)
{
	if (family == AF_INET) {
		memset(out, 0, IP4_HDR);
		out[0] = 0x45;
		put16(out + 2, (uint16_t)(IP4_HDR + plen));
		put16(out + 6, df ? IP4_DF : 0);
		out[8] = TTL_OUT;
		out[9] = proto;
		memcpy(out + 12, &src->s6_addr[12], 4);
		memcpy(out + 16, &dst->s6_addr[12], 4);
		put16(out + 10, inet_csum_fold(inet_csum_add(0, out, IP4_HDR)));
		return IP4_HDR;
	}
	memset(out, 0, IP6_HDR);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)plen);
	out[6] = proto;
	out[7] = TTL_OUT;
	memcpy(out + 8, src->s6_addr, 16);
	memcpy(out + 24, dst->s6_addr, 16);
	return IP6_HDR;
}

/*
 * RST for a refused segment (RFC 793, "Reset Generation"): with ACK the
 * RST takes its acknowledgment number as sequence; without, RST|ACK
 * acknowledging everything the segment occupied. Nothing for a RST, nor
 * for a TCP first fragment (its segment length is unknown).
 */
static size_t build_rst(const uint8_t *pkt, const struct inet_flow *g,
			const struct layout *ly, uint8_t *out)
{
	const uint8_t *th = pkt + ly->l4_off;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	uint32_t seq = 0, ack = 0, seglen;
	uint8_t flags = th[13], rflags;

	if ((flags & TCPF_RST) || ly->more)
		return 0;
	seglen = (uint32_t)(ly->end - ly->l4_off - doff);
	seglen += !!(flags & TCPF_SYN) + !!(flags & TCPF_FIN);
	if (flags & TCPF_ACK) {
		seq = get32(th + 8);
		rflags = TCPF_RST;
	} else {
		ack = get32(th + 4) + seglen;
		rflags = TCPF_RST | TCPF_ACK;
	}
	return inet_rst(g->family, &g->dst, g->dport, &g->src, g->sport, seq, ack,
			rflags, out);
}

size_t inet_rst(uint8_t family, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst, uint16_t dport, uint32_t seq, uint32_t ack,
		uint8_t flags, uint8_t *out)
{
	size_t hl = put_ip(out, family, src, dst, IPPROTO_TCP, TCP_HDR, true);
	uint8_t *tcp = out + hl;
	uint32_t sum;

	memset(tcp, 0, TCP_HDR);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (TCP_HDR / 4) << 4;
	tcp[13] = flags;
	sum = pseudo_sum(family, src, dst, IPPROTO_TCP, TCP_HDR);
	put16(tcp + 16, inet_csum_fold(inet_csum_add(sum, tcp, TCP_HDR)));
	return hl + TCP_HDR;
}

/*
 * An ICMP / ICMPv6 error about pkt, from its destination to its source,
 * quoting as much of it as the family's limit allows (576 / 1280 bytes
 * in all). rest is the second header word (MTU or zero).
 */
static size_t build_icmp(const uint8_t *pkt, const struct inet_flow *g,
			 const struct layout *ly, uint8_t type, uint8_t code,
			 uint32_t rest, uint8_t *out)
{
	bool v4 = g->family == AF_INET;
	size_t limit = v4 ? ICMP4_QUOTE_TOTAL : ICMP6_QUOTE_TOTAL;
	size_t hl = v4 ? IP4_HDR : IP6_HDR;
	size_t quote = ly->end;
	uint8_t proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint32_t sum = 0;
	uint8_t *icmp;

	if (quote > limit - hl - ICMP_HDR)
		quote = limit - hl - ICMP_HDR;
	hl = put_ip(out, g->family, &g->dst, &g->src, proto, ICMP_HDR + quote,
		    false);
	icmp = out + hl;
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 2, 0);
	put32(icmp + 4, rest);
	memcpy(icmp + ICMP_HDR, pkt, quote);
	if (!v4)
		sum = pseudo_sum(g->family, &g->dst, &g->src, proto,
				 ICMP_HDR + quote);
	put16(icmp + 2, inet_csum_fold(inet_csum_add(sum, icmp, ICMP_HDR + quote)));
	return hl + ICMP_HDR + quote;
}

/* The fast refusal the sender side writes back to a local application. */
size_t inet_reject(const uint8_t *pkt, size_t len, const struct inet_flow *f,
		   uint8_t *out)
{
	struct inet_flow g;
	struct layout ly;

	if (!out || !answerable(pkt, len, f, &g, &ly))
		return 0;
	if (g.proto == IPPROTO_TCP)
		return build_rst(pkt, &g, &ly, out);
	if (g.family == AF_INET)
		return build_icmp(pkt, &g, &ly, ICMP4_UNREACH, ICMP4_CODE_ADMIN,
				  0, out);
	return build_icmp(pkt, &g, &ly, ICMP6_UNREACH, ICMP6_CODE_ADMIN, 0, out);
}

/*
 * Path MTU discovery for packets that do not fit the tunnel: IPv4 only
 * with DF (else the kernel may fragment), MTU below the protocol minimum
 * refused, IPv4 MTU capped to its 16-bit field.
 */
size_t inet_too_big(const uint8_t *pkt, size_t len, const struct inet_flow *f,
		    unsigned mtu, uint8_t *out)
{
	struct inet_flow g;
	struct layout ly;

	if (!out || !answerable(pkt, len, f, &g, &ly))
		return 0;
	if (g.family == AF_INET) {
		if (!g.df || mtu < MTU4_MIN)
			return 0;
		if (mtu > 0xffff)
			mtu = 0xffff;
		return build_icmp(pkt, &g, &ly, ICMP4_UNREACH,
				  ICMP4_CODE_FRAG_NEEDED, mtu, out);
	}
	if (mtu < MTU6_MIN)
		return 0;
	return build_icmp(pkt, &g, &ly, ICMP6_TOO_BIG, 0, mtu, out);
}
