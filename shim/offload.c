/*
 * shim/offload.c - user-space TSO/GSO and GRO for a vnet TUN device.
 *
 * offload_split turns what the kernel hands us (a TCP or UDP super-packet
 * with a virtio_net_hdr, or one packet with a partial checksum) into wire-
 * ready IP packets. offload_gro_add/flush do the reverse for received
 * packets: in-order TCP segments of one flow become one super-packet the
 * kernel's TCP takes in one go.
 *
 * Checksums are computed here (not with inet.h's helpers) so that this
 * file stands alone: 32-bit loads into a 64-bit accumulator, the result in
 * network-order words.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "inet.h"
#include "offload.h"

enum offload_const {
	IP4_HDR = 20,
	IP6_HDR = 40,
	TCP_HDR = 20,
	UDP_HDR = 8,
	TCP_CSUM_OFF = 16,
	UDP_CSUM_OFF = 6,
	IP6_EXT_MAX = 8,		/* extension headers walked at most */
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
};

/* Where the layers of a parsed packet are. */
struct layout {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	size_t l4_off;			/* IP header(s) length */
	size_t hdr_len;			/* l4_off + TCP/UDP header */
};

/* Reads a big-endian 16-bit field. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes a big-endian 16-bit field. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reads a big-endian 32-bit field. */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Writes a big-endian 32-bit field. */
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Sum of the TCP/UDP pseudo-header of the IP packet pkt. */
static uint32_t pseudo_sum(const uint8_t *pkt, const struct layout *l,
			   size_t l4_len)
{
	uint32_t sum;

	if (l->family == AF_INET) {
		sum = inet_csum_add(0, pkt + 12, 8);
		return sum + l->proto + (uint32_t)l4_len;
	}
	sum = inet_csum_add(0, pkt + 8, 32);
	return sum + l->proto + (uint32_t)(l4_len >> 16) +
	       (uint32_t)(l4_len & 0xffff);
}

/* Recomputes the IPv4 header checksum in place. */
static void ip4_csum_set(uint8_t *ip, size_t ihl)
{
	put16(ip + 10, 0);
	put16(ip + 10, inet_csum_fold(inet_csum_add(0, ip, ihl)));
}

/* Full TCP/UDP checksum of the packet's transport part, stored in place. */
static void l4_csum_set(uint8_t *pkt, size_t len, const struct layout *l)
{
	size_t off = l->l4_off + (l->proto == IPPROTO_TCP ? TCP_CSUM_OFF :
				  UDP_CSUM_OFF);
	uint32_t sum;
	uint16_t c;

	put16(pkt + off, 0);
	sum = pseudo_sum(pkt, l, len - l->l4_off);
	sum = inet_csum_add(sum, pkt + l->l4_off, len - l->l4_off);
	c = inet_csum_fold(sum);
	if (c == 0 && l->proto == IPPROTO_UDP)
		c = 0xffff;
	put16(pkt + off, c);
}

/*
 * Parses the IP layer strictly: version, header and total lengths equal
 * to len, no fragments; IPv6 hop-by-hop and destination options are
 * walked (bounded), routing and fragment headers are refused.
 */
static int ip_parse(const uint8_t *pkt, size_t len, struct layout *l)
{
	if (len < 1)
		return -EINVAL;
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;

		if (len < IP4_HDR || ihl < IP4_HDR || ihl > len)
			return -EINVAL;
		if (get16(pkt + 2) != len || (get16(pkt + 6) & 0x3fff) != 0)
			return -EINVAL;
		l->family = AF_INET;
		l->proto = pkt[9];
		l->l4_off = ihl;
		return 0;
	}
	if (pkt[0] >> 4 == 6) {
		size_t off = IP6_HDR;
		uint8_t nh;
		int i;

		if (len < IP6_HDR || get16(pkt + 4) + (size_t)IP6_HDR != len)
			return -EINVAL;
		nh = pkt[6];
		for (i = 0; i < IP6_EXT_MAX; i++) {
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_DSTOPTS)
				break;
			if (off + 8 > len)
				return -EINVAL;
			nh = pkt[off];
			off += ((size_t)pkt[off + 1] + 1) * 8;
		}
		if (off > len || nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS)
			return -EINVAL;
		l->family = AF_INET6;
		l->proto = nh;
		l->l4_off = off;
		return 0;
	}
	return -EINVAL;
}

/* Parses IP then the TCP or UDP header proto; -EINVAL if it is not there. */
static int l4_parse(const uint8_t *pkt, size_t len, uint8_t proto,
		    struct layout *l)
{
	size_t thl;
	int err = ip_parse(pkt, len, l);

	if (err < 0)
		return err;
	if (l->proto != proto)
		return -EINVAL;
	if (proto == IPPROTO_TCP) {
		if (l->l4_off + TCP_HDR > len)
			return -EINVAL;
		thl = (size_t)(pkt[l->l4_off + 12] >> 4) * 4;
		if (thl < TCP_HDR)
			return -EINVAL;
	} else {
		thl = UDP_HDR;
		if (l->l4_off + thl > len ||
		    get16(pkt + l->l4_off + 4) != len - l->l4_off)
			return -EINVAL;
	}
	if (l->l4_off + thl > len)
		return -EINVAL;
	l->hdr_len = l->l4_off + thl;
	return 0;
}

/*
 * A packet without GSO: passed on as it is, or copied to finish the
 * checksum the sender left partial (sum from csum_start to the end, the
 * pseudo-header sum already in the field).
 */
static int split_none(const struct virtio_net_hdr *vh, const uint8_t *pkt,
		      size_t len, uint8_t *scratch, size_t scratch_len,
		      int (*emit)(void *arg, const uint8_t *seg, size_t seg_len),
		      void *arg)
{
	size_t start = vh->csum_start, field = start + vh->csum_offset;
	uint16_t c;
	int err;

	if (len == 0)
		return -EINVAL;
	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		err = emit(arg, pkt, len);
		return err < 0 ? err : 1;
	}
	if (start >= len || field + 2 > len)
		return -EINVAL;
	if (scratch_len < len)
		return -ENOSPC;
	memcpy(scratch, pkt, len);
	c = inet_csum_fold(inet_csum_add(0, scratch + start, len - start));
	put16(scratch + field, c ? c : 0xffff);
	err = emit(arg, scratch, len);
	return err < 0 ? err : 1;
}

/* Checks the virtio header against the parsed packet for a GSO split. */
static int gso_check(const struct virtio_net_hdr *vh, size_t len,
		     const struct layout *l, uint8_t family)
{
	size_t csum_off = l->proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;

	if (l->family != family || vh->gso_size == 0)
		return -EINVAL;
	if (vh->hdr_len > len)
		return -EINVAL;
	if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (vh->csum_start != l->l4_off || vh->csum_offset != csum_off))
		return -EINVAL;
	if ((vh->gso_type & VIRTIO_NET_HDR_GSO_ECN) && l->proto != IPPROTO_TCP)
		return -EINVAL;
	return 0;
}

/*
 * Cuts a TCP or UDP super-packet into gso_size payload chunks, each with
 * a copy of the headers fixed up for its place in the run.
 */
static int split_gso(const struct virtio_net_hdr *vh, const uint8_t *pkt,
		     size_t len, uint8_t proto, uint8_t family,
		     uint8_t *scratch, size_t scratch_len,
		     int (*emit)(void *arg, const uint8_t *seg, size_t seg_len),
		     void *arg)
{
	struct layout l;
	size_t gso = vh->gso_size, payload, nsegs, i;
	uint32_t seq;
	uint16_t id;
	int err;

	err = l4_parse(pkt, len, proto, &l);
	if (err < 0)
		return err;
	err = gso_check(vh, len, &l, family);
	if (err < 0)
		return err;
	payload = len - l.hdr_len;
	nsegs = payload == 0 ? 1 : (payload + gso - 1) / gso;
	if (scratch_len < l.hdr_len + (payload < gso ? payload : gso))
		return -ENOSPC;
	seq = proto == IPPROTO_TCP ? get32(pkt + l.l4_off + 4) : 0;
	id = family == AF_INET ? get16(pkt + 4) : 0;

	for (i = 0; i < nsegs; i++) {
		size_t off = i * gso;
		size_t chunk = payload - off < gso ? payload - off : gso;
		size_t seg_len = l.hdr_len + chunk;
		uint8_t *th = scratch + l.l4_off;

		memcpy(scratch, pkt, l.hdr_len);
		memcpy(scratch + l.hdr_len, pkt + l.hdr_len + off, chunk);
		if (family == AF_INET) {
			put16(scratch + 2, (uint16_t)seg_len);
			put16(scratch + 4, (uint16_t)(id + i));
			ip4_csum_set(scratch, l.l4_off);
		} else {
			put16(scratch + 4, (uint16_t)(seg_len - IP6_HDR));
		}
		if (proto == IPPROTO_TCP) {
			put32(th + 4, seq + (uint32_t)off);
			if (i + 1 < nsegs)
				th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				th[13] &= (uint8_t)~TCP_CWR;
		} else {
			put16(th + 4, (uint16_t)(seg_len - l.l4_off));
		}
		l4_csum_set(scratch, seg_len, &l);
		err = emit(arg, scratch, seg_len);
		if (err < 0)
			return err;
	}
	return (int)nsegs;
}

/* Dispatches on gso_type; see offload.h. */
int offload_split(const struct virtio_net_hdr *vh, const uint8_t *pkt,
		  size_t len, uint8_t *scratch, size_t scratch_len,
		  int (*emit)(void *arg, const uint8_t *seg, size_t seg_len),
		  void *arg)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (len > OFFLOAD_SUPER_MAX)
		return -EINVAL;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (vh->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return -EINVAL;
		return split_none(vh, pkt, len, scratch, scratch_len, emit, arg);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return split_gso(vh, pkt, len, IPPROTO_TCP, AF_INET, scratch,
				 scratch_len, emit, arg);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return split_gso(vh, pkt, len, IPPROTO_TCP, AF_INET6, scratch,
				 scratch_len, emit, arg);
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (len < 1)
			return -EINVAL;
		return split_gso(vh, pkt, len, IPPROTO_UDP,
				 pkt[0] >> 4 == 6 ? AF_INET6 : AF_INET,
				 scratch, scratch_len, emit, arg);
	default:
		return -EINVAL;
	}
}

/* ---- GRO ---- */

/* What gro_parse learns of a candidate segment. */
struct seg_info {
	struct layout l;
	size_t payload;
	uint32_t seq;
	uint8_t flags;
};

/*
 * Is pkt a TCP data segment (or, with udp, a UDP datagram) we may
 * coalesce? No IP options or extension headers; TCP flags ACK (and PSH)
 * only; some payload; valid checksums (a UDP one may be absent in IPv4):
 * the super-packet goes up as CHECKSUM_PARTIAL, which the kernel trusts,
 * so a segment that fails here goes up alone for the kernel to judge.
 */
static bool gro_parse(const uint8_t *pkt, size_t len, bool udp, struct seg_info *si)
{
	struct layout *l = &si->l;
	const uint8_t *th;
	uint8_t proto;
	uint32_t sum;

	if (len < 10)
		return false;
	proto = pkt[0] >> 4 == 4 ? pkt[9] : pkt[0] >> 4 == 6 ? pkt[6] : 0;
	if (proto != IPPROTO_TCP && !(udp && proto == IPPROTO_UDP))
		return false;
	if (l4_parse(pkt, len, proto, l) < 0)
		return false;
	if (l->l4_off != (l->family == AF_INET ? IP4_HDR : IP6_HDR))
		return false;
	if (l->family == AF_INET && inet_csum_fold(inet_csum_add(0, pkt, IP4_HDR)) != 0)
		return false;
	th = pkt + l->l4_off;
	si->payload = len - l->hdr_len;
	if (si->payload == 0)
		return false;
	if (proto == IPPROTO_UDP) {
		si->flags = 0;
		si->seq = 0;
		if (l->family == AF_INET && get16(th + UDP_CSUM_OFF) == 0)
			return true;
	} else {
		si->flags = th[13];
		si->seq = get32(th + 4);
		if ((si->flags & ~(TCP_ACK | TCP_PSH)) || !(si->flags & TCP_ACK))
			return false;
	}
	sum = pseudo_sum(pkt, l, len - l->l4_off);
	sum = inet_csum_add(sum, th, len - l->l4_off);
	return inet_csum_fold(sum) == 0;
}

/*
 * Does the candidate continue the pending run? Same flow and IP fields
 * (IPv4 ID one more than the last), next sequence number, same TCP header
 * but for sequence, PSH and checksum, and it fits. UDP: same addresses
 * and ports, IPv4 ID, TOS, TTL and DF alike (the kernel's segmentation
 * numbers the IDs from the first), a datagram no longer than the first.
 */
static bool gro_continues(const struct offload_gro *g, const uint8_t *pkt,
			  const struct seg_info *si)
{
	const uint8_t *a = g->buf, *b = pkt;
	const uint8_t *ta = a + si->l.l4_off, *tb = b + si->l.l4_off;
	size_t thl = si->l.hdr_len - si->l.l4_off;

	if (g->len == 0 || g->family != si->l.family || g->hdr_len != si->l.hdr_len ||
	    g->proto != si->l.proto)
		return false;
	if (g->segs >= OFFLOAD_SEGS_MAX || si->payload > g->seg_size ||
	    si->seq != g->next_seq || g->len + si->payload > OFFLOAD_SUPER_MAX)
		return false;
	if (si->l.family == AF_INET) {
		if (memcmp(a, b, 2) || memcmp(a + 6, b + 6, 4) ||
		    memcmp(a + 12, b + 12, 8) ||
		    get16(b + 4) != (uint16_t)(get16(a + 4) + g->segs))
			return false;
	} else if (memcmp(a, b, 4) || memcmp(a + 6, b + 6, 34)) {
		return false;
	}
	if (si->l.proto == IPPROTO_UDP)
		return memcmp(ta, tb, 4) == 0;
	if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 5) ||
	    memcmp(ta + 14, tb + 14, 2) || memcmp(ta + 18, tb + 18, thl - 18))
		return false;
	return true;
}

/* Starts nothing pending. */
void offload_gro_init(struct offload_gro *g)
{
	g->udp = false;
	g->proto = 0;
	g->len = 0;
	g->segs = 0;
	g->seg_size = 0;
	g->family = 0;
	g->next_seq = 0;
	g->hdr_len = 0;
}

/*
 * Writes the pending packet: alone as it came when it is one segment,
 * else with lengths fixed and the pseudo-header sum in the TCP checksum
 * field, as a CHECKSUM_PARTIAL GSO packet for the kernel.
 */
int offload_gro_flush(struct offload_gro *g, offload_write_fn write, void *arg)
{
	struct virtio_net_hdr vh;
	struct layout l;
	size_t len = g->len;
	int err;

	if (len == 0)
		return 0;
	memset(&vh, 0, sizeof(vh));
	if (g->segs > 1) {
		size_t csum = g->proto == IPPROTO_UDP ? UDP_CSUM_OFF : TCP_CSUM_OFF;

		l.family = g->family;
		l.proto = g->proto;
		l.l4_off = g->family == AF_INET ? IP4_HDR : IP6_HDR;
		l.hdr_len = g->hdr_len;
		if (g->family == AF_INET) {
			put16(g->buf + 2, (uint16_t)len);
			ip4_csum_set(g->buf, IP4_HDR);
		} else {
			put16(g->buf + 4, (uint16_t)(len - IP6_HDR));
		}
		if (g->proto == IPPROTO_UDP)
			put16(g->buf + l.l4_off + 4, (uint16_t)(len - l.l4_off));
		put16(g->buf + l.l4_off + csum,
		      (uint16_t)~inet_csum_fold(pseudo_sum(g->buf, &l, len - l.l4_off)));
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = g->proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4 :
			      g->family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 :
						     VIRTIO_NET_HDR_GSO_TCPV6;
		vh.gso_size = g->seg_size;
		vh.hdr_len = (uint16_t)g->hdr_len;
		vh.csum_start = (uint16_t)l.l4_off;
		vh.csum_offset = (uint16_t)csum;
	}
	g->len = 0;
	g->segs = 0;
	err = write(arg, &vh, g->buf, len);
	return err < 0 ? err : 0;
}

/*
 * Merges pkt into the pending run if it continues it; otherwise flushes
 * and either starts a new run with it or, if it cannot be merged at all,
 * writes it as it is. A short or PSH segment ends its run at once.
 */
int offload_gro_add(struct offload_gro *g, const uint8_t *pkt, size_t len,
		    offload_write_fn write, void *arg)
{
	struct virtio_net_hdr none;
	struct seg_info si;
	int err;

	if (len > OFFLOAD_SUPER_MAX || !gro_parse(pkt, len, g->udp, &si)) {
		err = offload_gro_flush(g, write, arg);
		if (err < 0)
			return err;
		memset(&none, 0, sizeof(none));
		err = write(arg, &none, pkt, len);
		return err < 0 ? err : 0;
	}
	if (gro_continues(g, pkt, &si)) {
		memcpy(g->buf + g->len, pkt + si.l.hdr_len, si.payload);
		g->len += si.payload;
		g->segs++;
		if (g->proto == IPPROTO_TCP)
			g->next_seq += (uint32_t)si.payload;
		if (si.flags & TCP_PSH)
			g->buf[si.l.l4_off + 13] |= TCP_PSH;
		if (si.payload < g->seg_size || (si.flags & TCP_PSH) ||
		    g->segs >= OFFLOAD_SEGS_MAX ||
		    g->len + g->seg_size > OFFLOAD_SUPER_MAX)
			return offload_gro_flush(g, write, arg);
		return 0;
	}
	err = offload_gro_flush(g, write, arg);
	if (err < 0)
		return err;
	memcpy(g->buf, pkt, len);
	g->len = len;
	g->segs = 1;
	g->seg_size = (uint16_t)si.payload;
	g->family = si.l.family;
	g->proto = si.l.proto;
	g->next_seq = si.l.proto == IPPROTO_UDP ? 0 : si.seq + (uint32_t)si.payload;
	g->hdr_len = si.l.hdr_len;
	if (si.flags & TCP_PSH)
		return offload_gro_flush(g, write, arg);
	return 0;
}
