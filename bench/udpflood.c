/*
 * bench/udpflood.c - a flood of random UDP datagrams at one address and
 * port, as fast as one thread's sendmmsg goes, for the flood benchmark
 * (bench/net/flood.sh). Half the datagrams are random bytes of random
 * length (64..1400), half are shaped like captun data messages (type 4,
 * reserved zero, a random receiver index, random rest), so that the
 * receiver must look each up rather than refuse it by its first byte.
 * Sixteen sockets take turns, so sixteen source ports.
 *
 *   build/udpflood ADDR PORT SECONDS
 *
 * Prints datagrams sent and the rate. Sends only to the address given
 * (the benchmark's namespaces); exits after SECONDS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, SOCKS = 16, MAXLEN = 1400, MINLEN = 64 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: fast, good enough for junk */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][MAXLEN];
	struct mmsghdr hdr[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage to;
	socklen_t tolen;
	int fds[SOCKS];
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32, sent = 0;
	double secs, t0, t;
	unsigned round = 0;

	if (argc != 4 || (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: udpflood ADDR PORT SECONDS\n");
		return 2;
	}
	memset(&to, 0, sizeof(to));
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&to)->sin_addr) == 1) {
		to.ss_family = AF_INET;
		((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)atoi(argv[2]));
		tolen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&to)->sin6_addr) == 1) {
		to.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)atoi(argv[2]));
		tolen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "udpflood: '%s' is not an address\n", argv[1]);
		return 2;
	}
	/* several sockets, each its own source port */
	for (int i = 0; i < SOCKS; i++) {
		fds[i] = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			perror("udpflood: socket");
			return 1;
		}
	}
	memset(hdr, 0, sizeof(hdr));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		hdr[i].msg_hdr.msg_iov = &iov[i];
		hdr[i].msg_hdr.msg_iovlen = 1;
		hdr[i].msg_hdr.msg_name = &to;
		hdr[i].msg_hdr.msg_namelen = tolen;
	}
	t0 = now_s();
	do {
		int fd = fds[round++ % SOCKS], n;

		for (int i = 0; i < BATCH; i++) {
			size_t len = MINLEN + rnd(&seed) % (MAXLEN - MINLEN + 1);
			uint64_t *w = (uint64_t *)bufs[i];

			for (size_t k = 0; k < len / 8; k++)
				w[k] = rnd(&seed);
			if (i & 1) {
				bufs[i][0] = 4;
				bufs[i][1] = bufs[i][2] = bufs[i][3] = 0;
			}
			iov[i].iov_len = len;
		}
		n = sendmmsg(fd, hdr, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
			perror("udpflood: sendmmsg");
			return 1;
		}
		if (n > 0)
			sent += (uint64_t)n;
		t = now_s();
	} while (t - t0 < secs);
	printf("%llu datagrams in %.2f s: %.0f/s\n", (unsigned long long)sent, t - t0,
	       (double)sent / (t - t0));
	return 0;
}
