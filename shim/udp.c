/*
 * shim/udp.c - the UDP underlay sockets: opened with large buffers and
 * path-MTU discovery, batched with recvmmsg/sendmmsg, and with offload
 * on, UDP GRO on receive (segment size from the UDP_GRO cmsg) and UDP
 * GSO on send (a UDP_SEGMENT cmsg per message).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udp.h"

enum udp_const {
	UDP_SOCK_BUF = 4 << 20,		/* bytes asked for each direction */
	UDP_CMSG_SPACE = 64,		/* room for one int cmsg, generously */
	UDP_PROBE_SEG = 8,		/* GSO probe: two segments of this */
};

/* Control buffer for one message, aligned for struct cmsghdr. */
union udp_cbuf {
	struct cmsghdr align;
	uint8_t buf[UDP_CMSG_SPACE];
};

/* Sets an int socket option; -errno on failure. */
static int opt_set(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		return -errno;
	return 0;
}

/*
 * Large buffers absorb bursts between batches. As root the FORCE variants
 * pass net.core.*mem_max; otherwise the plain ones (capped) still work.
 */
static int buffers_set(int fd)
{
	int err = opt_set(fd, SOL_SOCKET, SO_RCVBUFFORCE, UDP_SOCK_BUF);

	if (err < 0)
		err = opt_set(fd, SOL_SOCKET, SO_RCVBUF, UDP_SOCK_BUF);
	if (err < 0)
		return err;
	err = opt_set(fd, SOL_SOCKET, SO_SNDBUFFORCE, UDP_SOCK_BUF);
	if (err < 0)
		err = opt_set(fd, SOL_SOCKET, SO_SNDBUF, UDP_SOCK_BUF);
	return err;
}

/* DF on every datagram: the shim does its own MTU handling. */
static int pmtu_set(int fd, int family)
{
	if (family == AF_INET)
		return opt_set(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	return opt_set(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
}

/* The loopback address of family on port (network order), as a sockaddr. */
static socklen_t loopback_addr(int family, uint16_t port_be,
			       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port_be;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = port_be;
	sin6->sin6_addr = in6addr_loopback;
	return sizeof(*sin6);
}

/* Fills a UDP_SEGMENT cmsg asking the kernel to cut len into segment. */
static size_t gso_cmsg_put(union udp_cbuf *c, uint16_t segment)
{
	struct cmsghdr *cm = &c->align;

	memset(c, 0, sizeof(*c));
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(segment));
	memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
	return CMSG_SPACE(sizeof(segment));
}

/*
 * Does a UDP_SEGMENT send work here? Sends two segments from a scratch
 * socket to itself on loopback; the kernel refuses GSO it cannot do.
 */
static bool gso_probe(int family)
{
	struct sockaddr_storage self;
	socklen_t self_len;
	uint8_t payload[2 * UDP_PROBE_SEG] = { 0 };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	union udp_cbuf cbuf;
	struct msghdr mh;
	bool ok = false;
	int fd;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	self_len = loopback_addr(family, 0, &self);
	if (bind(fd, (struct sockaddr *)&self, self_len) < 0)
		goto out_close;
	if (getsockname(fd, (struct sockaddr *)&self, &self_len) < 0)
		goto out_close;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &self;
	mh.msg_namelen = self_len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = gso_cmsg_put(&cbuf, UDP_PROBE_SEG);
	ok = sendmsg(fd, &mh, MSG_DONTWAIT) == (ssize_t)sizeof(payload);
out_close:
	close(fd);
	return ok;
}

/* Binds the wildcard address of s->family on port, records the port. */
static int bind_any(struct udp_sock *s, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_any;
		len = sizeof(*sin6);
	}
	if (bind(s->fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	s->port = ntohs(s->family == AF_INET ?
			((struct sockaddr_in *)&ss)->sin_port :
			((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/*
 * One socket per family, set up before bind so no datagram arrives on
 * a half-configured socket. Offloads are best effort (s->gso, s->gro).
 */
int udp_open(struct udp_sock *s, int family, uint16_t port, bool offload)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	s->family = family;
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       IPPROTO_UDP);
	if (s->fd < 0) {
		err = -errno;
		goto fail_clear;
	}
	if (family == AF_INET6) {
		err = opt_set(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (err < 0)
			goto fail_close_fd;
	}
	err = buffers_set(s->fd);
	if (err < 0)
		goto fail_close_fd;
	err = pmtu_set(s->fd, family);
	if (err < 0)
		goto fail_close_fd;
	if (offload) {
		s->gro = opt_set(s->fd, SOL_UDP, UDP_GRO, 1) == 0;
		s->gso = gso_probe(family);
	}
	err = bind_any(s, port);
	if (err < 0)
		goto fail_close_fd;
	return 0;

fail_close_fd:
	close(s->fd);
fail_clear:
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	return err;
}

/* Closes the socket; safe on a closed one. */
void udp_close(struct udp_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->gso = s->gro = false;
}

/* The GRO segment size from a received message's cmsgs, 0 if none. */
static uint16_t gro_segment(struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		int seg;

		if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO)
			continue;
		if (cm->cmsg_len < CMSG_LEN(sizeof(seg)))
			continue;
		memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
		return seg > 0 && seg <= UINT16_MAX ? (uint16_t)seg : 0;
	}
	return 0;
}

/*
 * One recvmmsg for up to n (<= UDP_BATCH) datagrams. A datagram that did
 * not fit in its buffer (MSG_TRUNC) comes back with len 0, to be dropped.
 */
int udp_recv_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr hdr[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	union udp_cbuf cbuf[UDP_BATCH];
	unsigned i;
	int got;

	if (s->fd < 0)
		return -EBADF;
	if (n > UDP_BATCH)
		n = UDP_BATCH;
	if (n == 0)
		return 0;
	memset(hdr, 0, n * sizeof(hdr[0]));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = msgs[i].buf;
		iov[i].iov_len = msgs[i].cap;
		hdr[i].msg_hdr.msg_name = &msgs[i].addr;
		hdr[i].msg_hdr.msg_namelen = sizeof(msgs[i].addr);
		hdr[i].msg_hdr.msg_iov = &iov[i];
		hdr[i].msg_hdr.msg_iovlen = 1;
		hdr[i].msg_hdr.msg_control = cbuf[i].buf;
		hdr[i].msg_hdr.msg_controllen = sizeof(cbuf[i].buf);
	}
	do {
		got = recvmmsg(s->fd, hdr, n, MSG_DONTWAIT, NULL);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (i = 0; i < (unsigned)got; i++) {
		struct msghdr *mh = &hdr[i].msg_hdr;

		msgs[i].addr_len = mh->msg_namelen;
		msgs[i].segment = gro_segment(mh);
		msgs[i].len = hdr[i].msg_len;
		if (mh->msg_flags & MSG_TRUNC) {
			msgs[i].len = 0;
			msgs[i].segment = 0;
		}
	}
	return got;
}

/*
 * sendmmsg in chunks of UDP_BATCH until all are out. Stops early, with
 * the count so far, when the socket is full (EAGAIN) or a message fails
 * after others went; a failure of the very first message is -errno, so
 * the caller can drop that one and go on. Messages with segment > 0 need
 * s->gso (else -EOPNOTSUPP).
 */
int udp_send_batch(struct udp_sock *s, struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr hdr[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	union udp_cbuf cbuf[UDP_BATCH];
	unsigned done = 0;

	if (s->fd < 0)
		return -EBADF;
	while (done < n) {
		unsigned chunk = n - done < UDP_BATCH ? n - done : UDP_BATCH;
		unsigned i;
		int sent;

		memset(hdr, 0, chunk * sizeof(hdr[0]));
		for (i = 0; i < chunk; i++) {
			struct udp_msg *m = &msgs[done + i];
			struct msghdr *mh = &hdr[i].msg_hdr;

			if (m->segment > 0 && !s->gso)
				return done > 0 ? (int)done : -EOPNOTSUPP;
			iov[i].iov_base = m->buf;
			iov[i].iov_len = m->len;
			mh->msg_name = &m->addr;
			mh->msg_namelen = m->addr_len;
			mh->msg_iov = &iov[i];
			mh->msg_iovlen = 1;
			if (m->segment > 0 && m->len > m->segment) {
				mh->msg_control = cbuf[i].buf;
				mh->msg_controllen = gso_cmsg_put(&cbuf[i],
								  m->segment);
			}
		}
		do {
			sent = sendmmsg(s->fd, hdr, chunk, MSG_DONTWAIT);
		} while (sent < 0 && errno == EINTR);
		if (sent < 0) {
			int e = errno;

			if (e == EAGAIN || e == EWOULDBLOCK || done > 0)
				return (int)done;
			return -e;
		}
		if (sent == 0)
			break;
		done += (unsigned)sent;
	}
	return (int)done;
}

/*
 * Asks the kernel's route cache: a scratch socket connected to addr with
 * DF on reports the path MTU it knows (the device MTU if no ICMP yet).
 */
int udp_path_mtu(struct udp_sock *s, const struct sockaddr *addr, socklen_t len)
{
	int fd, err, mtu = 0;
	socklen_t mtu_len = sizeof(mtu);

	if (addr->sa_family != s->family)
		return -EAFNOSUPPORT;
	fd = socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	err = pmtu_set(fd, s->family);
	if (err < 0)
		goto out_close;
	if (connect(fd, addr, len) < 0) {
		err = -errno;
		goto out_close;
	}
	if (getsockopt(fd, s->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       s->family == AF_INET ? IP_MTU : IPV6_MTU,
		       &mtu, &mtu_len) < 0) {
		err = -errno;
		goto out_close;
	}
	err = mtu > 0 ? mtu : -EIO;
out_close:
	close(fd);
	return err;
}
