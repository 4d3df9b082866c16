/*
 * shim/offload.h - the user-space halves of TUN offloads: splitting a TCP
 * super-packet read from a vnet TUN into MSS-sized segments (with correct
 * IP lengths, IDs, TCP sequence numbers, flags and checksums), completing
 * a partial checksum, and coalescing received TCP segments of one flow
 * into one super-packet to write back (user-space GRO).
 */
#ifndef CAPTUN_SHIM_OFFLOAD_H
#define CAPTUN_SHIM_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The virtio spec's UDP (USO) GSO type, absent from older kernel headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

enum offload_limit {
	OFFLOAD_SUPER_MAX = 65535,	/* bytes of one super-packet */
	OFFLOAD_SEGS_MAX = 64,
};

/*
 * Splits pkt (len bytes, after its virtio_net_hdr vh) into segments,
 * calling emit for each with a complete IP packet (checksums done). A
 * packet without GSO comes out as one, with any partial checksum
 * completed. Returns the number of segments or -EINVAL for a header that
 * does not match the packet (-ENOSPC if scratch cannot hold one segment,
 * or what emit returned if it failed). gso_type TCPV4, TCPV6 and UDP_L4
 * are split; old-style UFO (GSO_UDP) is refused.
 */
int offload_split(const struct virtio_net_hdr *vh, const uint8_t *pkt,
		  size_t len, uint8_t *scratch, size_t scratch_len,
		  int (*emit)(void *arg, const uint8_t *seg, size_t seg_len),
		  void *arg);

/*
 * Coalescer: offload_gro_add takes one received IP packet; packets that
 * continue the pending TCP flow in sequence (same addresses, ports, flags
 * ACK/PSH only, same segment size) are merged; with udp set (the TUN
 * takes UDP_L4 super-packets: TUN_F_USO), so are datagrams of one UDP
 * flow of the same size (a shorter one ends the run); anything else
 * first flushes the pending super-packet. flush hands out a
 * virtio_net_hdr plus packet (gso_type TCPV4/TCPV6 or UDP_L4 when merged,
 * NEEDS_CSUM as required).
 */
struct offload_gro {
	bool udp;			/* may merge UDP (set after init) */
	uint8_t proto;			/* of the pending run */
	uint8_t buf[OFFLOAD_SUPER_MAX];
	size_t len;			/* 0: nothing pending */
	unsigned segs;
	uint16_t seg_size;		/* payload bytes per merged segment */
	uint8_t family;
	uint32_t next_seq;
	size_t hdr_len;			/* IP + TCP header bytes */
};

typedef int (*offload_write_fn)(void *arg, const struct virtio_net_hdr *vh,
				const uint8_t *pkt, size_t len);

void offload_gro_init(struct offload_gro *g);
int offload_gro_add(struct offload_gro *g, const uint8_t *pkt, size_t len,
		    offload_write_fn write, void *arg);
int offload_gro_flush(struct offload_gro *g, offload_write_fn write, void *arg);

#endif
