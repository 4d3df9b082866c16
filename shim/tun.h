/*
 * shim/tun.h - the TUN device: created, addressed, routed and brought up
 * through ioctl and rtnetlink (no external commands), removed on close.
 *
 * With offload on, the device is opened with IFF_VNET_HDR and
 * TUNSETOFFLOAD (checksum, TSO4, TSO6): every read and write then starts
 * with a struct virtio_net_hdr, and reads may return TCP super-packets of
 * up to 64 KiB that offload.h splits.
 */
#ifndef CAPTUN_SHIM_TUN_H
#define CAPTUN_SHIM_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct tun {
	int fd;				/* -1 when closed */
	char name[IFNAMSIZ];
	unsigned ifindex;
	bool vnet;			/* IFF_VNET_HDR + offloads in use */
	bool uso;			/* and UDP segmentation (TUN_F_USO4/6) */
};

/*
 * Creates (or attaches to) TUN device name (IFF_TUN | IFF_NO_PI, non-
 * blocking, close-on-exec); with offload, also IFF_VNET_HDR and offloads,
 * falling back to plain reads if the kernel refuses (t->vnet says which).
 * Returns 0 or -errno.
 */
int tun_open(struct tun *t, const char *name, bool offload);
int tun_mtu_set(struct tun *t, unsigned mtu);
/*
 * family AF_INET (addr: struct in_addr) or AF_INET6 (struct in6_addr).
 * Adding an address or route that exists is not an error (an existing
 * route to the same prefix is taken over). Routes need the device up
 * (tun_up first, else -ENETDOWN). Kernel refusals come back as -errno.
 */
int tun_addr_add(struct tun *t, int family, const void *addr, unsigned prefix);
int tun_route_add(struct tun *t, int family, const void *dst, unsigned prefix);
int tun_up(struct tun *t);
/* Closes the fd; a device this process created disappears with it. */
void tun_close(struct tun *t);

#endif
