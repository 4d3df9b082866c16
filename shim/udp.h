/*
 * shim/udp.h - the UDP underlay: one socket per address family, batched
 * with recvmmsg/sendmmsg, and with offload on, UDP GSO (UDP_SEGMENT) on
 * send and UDP GRO on receive so that one system call moves many packets.
 */
#ifndef CAPTUN_SHIM_UDP_H
#define CAPTUN_SHIM_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum udp_limit {
	UDP_BATCH = 64,			/* messages per system call */
	UDP_GSO_MAX_SEGS = 64,		/* kernel's UDP_MAX_SEGMENTS */
	UDP_BUF_MAX = 65535,		/* one (GRO/GSO) datagram */
};

struct udp_sock {
	int fd;				/* -1 when closed */
	int family;			/* AF_INET or AF_INET6 (v6-only) */
	uint16_t port;			/* bound port, host order */
	bool gso, gro;			/* offloads the kernel accepted */
};

/*
 * One datagram, or with segment > 0 a run of datagrams of segment bytes
 * each (the last may be shorter) to or from one peer.
 */
struct udp_msg {
	uint8_t *buf;
	size_t len;			/* bytes in buf */
	size_t cap;			/* receive: room in buf */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint16_t segment;		/* GSO/GRO segment size, 0 for one */
};

/*
 * Binds family's wildcard address on port (0: any; the bound port is put
 * in s->port), non-blocking, close-on-exec, large buffers, path-MTU
 * discovery on (DF set). Returns 0 or -errno.
 */
int udp_open(struct udp_sock *s, int family, uint16_t port, bool offload);
void udp_close(struct udp_sock *s);

/*
 * Returns the number of messages filled (0 if none waiting) or -errno.
 * Each gets len, addr, and segment (the GRO size, 0 for one datagram); a
 * datagram longer than its cap comes back with len 0, to be dropped.
 * At most UDP_BATCH per call.
 */
int udp_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);
/*
 * Returns the number of messages sent (all unless an error) or -errno.
 * A full socket (EAGAIN) or a message the kernel refuses after others went
 * ends the call early with the count so far (0 if the socket was full at
 * once); when the first message is refused the result is its -errno, so
 * the caller drops that one and goes on. segment > 0 needs s->gso
 * (-EOPNOTSUPP otherwise).
 */
int udp_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n);

/* The path MTU the kernel knows towards addr (IP_MTU / IPV6_MTU), or -errno. */
int udp_path_mtu(struct udp_sock *s, const struct sockaddr *addr, socklen_t len);

#endif
