/*
 * bench/bench_io.c - how many UDP datagrams per second the underlay moves
 * on loopback, one system call per packet against batching and GSO.
 *
 * In a private network namespace (unshare(CLONE_NEWNET), so it needs
 * root; lo is brought up there), one thread sends to 127.0.0.1 and another
 * receives with udp_recv_batch (UDP GRO on), for each of:
 *   sendto      one sendto() per datagram
 *   sendmmsg    udp_send_batch() with UDP_BATCH (64) datagrams per call
 *   gso         udp_send_batch() with one UDP_SEGMENT message per call,
 *               64 segments (fewer when 64 would pass the 64 KiB UDP limit)
 * at 64- and 1400-byte payloads, each for --seconds (default 2). Sent and
 * received counts are datagrams on the wire (a GSO or GRO message counts
 * as its segments); loopback drops what the receiver cannot keep up with.
 *
 * It asserts nothing about speed; it exits non-zero only if a socket
 * operation fails.
 *
 *   build/bench_io [--seconds S]
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udp.h"

enum bench_mode { MODE_SENDTO, MODE_SENDMMSG, MODE_GSO, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = {
	"sendto", "sendmmsg x64", "gso x64",
};

static const size_t payloads[] = { 64, 1400 };

enum bench_const {
	UDP4_PAYLOAD_MAX = 65507,	/* 65535 - IPv4 and UDP headers */
	RECV_BATCH = 16,
	IDLE_MS = 200,			/* receiver gives up after this quiet */
};

/* The receiving side's state, shared with its thread. */
struct receiver {
	struct udp_sock sock;
	atomic_bool stop;
	uint64_t datagrams, bytes;
	int err;
};

/* What one run measured. */
struct result {
	uint64_t sent, calls, received, bytes;
	double seconds;
};

/* Prints why and exits: a benchmark that cannot run has nothing to show. */
static void die(const char *what, int err)
{
	fprintf(stderr, "bench_io: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new network namespace starts with lo down. */
static void netns_enter(void)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (run as root)", errno);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket", errno);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo", errno);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS lo", errno);
	close(s);
}

/* Receiver thread: drains until told to stop and then quiet for IDLE_MS. */
static void *receive_loop(void *arg)
{
	struct receiver *r = arg;
	static uint8_t bufs[RECV_BATCH][UDP_BUF_MAX];
	struct udp_msg msgs[RECV_BATCH];
	struct pollfd p = { .fd = r->sock.fd, .events = POLLIN };
	unsigned i;

	for (;;) {
		int n;

		for (i = 0; i < RECV_BATCH; i++) {
			msgs[i].buf = bufs[i];
			msgs[i].cap = sizeof(bufs[i]);
		}
		n = udp_recv_batch(&r->sock, msgs, RECV_BATCH);
		if (n < 0) {
			r->err = -n;
			return NULL;
		}
		for (i = 0; i < (unsigned)n; i++) {
			size_t seg = msgs[i].segment;

			r->datagrams += seg ? (msgs[i].len + seg - 1) / seg : 1;
			r->bytes += msgs[i].len;
		}
		if (n > 0)
			continue;
		if (poll(&p, 1, IDLE_MS) == 0 && atomic_load(&r->stop))
			return NULL;
	}
}

/* One sending call of the mode; returns datagrams sent (0 if full). */
static uint64_t send_once(enum bench_mode mode, struct udp_sock *s,
			  struct udp_msg *msgs, unsigned gso_segs)
{
	int n;

	if (mode == MODE_SENDTO) {
		ssize_t r = sendto(s->fd, msgs[0].buf, msgs[0].len, 0,
				   (struct sockaddr *)&msgs[0].addr,
				   msgs[0].addr_len);

		if (r < 0 && errno != EAGAIN && errno != ENOBUFS)
			die("sendto", errno);
		return r < 0 ? 0 : 1;
	}
	n = udp_send_batch(s, msgs, mode == MODE_SENDMMSG ? UDP_BATCH : 1);
	if (n < 0 && n != -ENOBUFS)
		die("udp_send_batch", -n);
	if (n <= 0)
		return 0;
	return mode == MODE_GSO ? gso_segs : (uint64_t)n;
}

/* Runs one mode at one payload size for seconds. */
static struct result run(enum bench_mode mode, size_t payload, double seconds)
{
	static uint8_t data[UDP_BATCH][UDP_BUF_MAX];
	struct udp_msg msgs[UDP_BATCH];
	struct sockaddr_in *to;
	struct receiver r;
	struct udp_sock tx;
	struct result res;
	pthread_t th;
	unsigned i, gso_segs = UDP_GSO_MAX_SEGS;
	double t0, t1;
	int err;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	if ((err = udp_open(&r.sock, AF_INET, 0, true)) < 0)
		die("udp_open (receiver)", -err);
	if ((err = udp_open(&tx, AF_INET, 0, true)) < 0)
		die("udp_open (sender)", -err);
	if (mode == MODE_GSO && !tx.gso)
		die("UDP GSO", EOPNOTSUPP);
	while (gso_segs * payload > UDP4_PAYLOAD_MAX)
		gso_segs--;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < UDP_BATCH; i++) {
		memset(data[i], (int)i, sizeof(data[i]));
		msgs[i].buf = data[i];
		msgs[i].len = payload;
		to = (struct sockaddr_in *)&msgs[i].addr;
		to->sin_family = AF_INET;
		to->sin_port = htons(r.sock.port);
		to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		msgs[i].addr_len = sizeof(*to);
	}
	if (mode == MODE_GSO) {
		msgs[0].len = payload * gso_segs;
		msgs[0].segment = (uint16_t)payload;
	}

	atomic_init(&r.stop, false);
	if ((err = pthread_create(&th, NULL, receive_loop, &r)) != 0)
		die("pthread_create", err);
	t0 = now_s();
	t1 = t0;
	while (t1 - t0 < seconds) {
		for (i = 0; i < 64; i++) {
			res.sent += send_once(mode, &tx, msgs, gso_segs);
			res.calls++;
		}
		t1 = now_s();
	}
	atomic_store(&r.stop, true);
	if ((err = pthread_join(th, NULL)) != 0)
		die("pthread_join", err);
	if (r.err)
		die("udp_recv_batch", r.err);
	res.seconds = t1 - t0;
	res.received = r.datagrams;
	res.bytes = r.bytes;
	udp_close(&tx);
	udp_close(&r.sock);
	return res;
}

/* Parses --seconds; anything else is a usage error. */
static double parse_args(int argc, char **argv)
{
	double seconds = 2.0;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
			continue;
		}
		fprintf(stderr, "usage: %s [--seconds S]\n", argv[0]);
		exit(2);
	}
	if (!(seconds > 0))
		seconds = 2.0;
	return seconds;
}

/* Runs every mode at every size and prints one table. */
int main(int argc, char **argv)
{
	double seconds = parse_args(argc, argv);
	size_t p;
	int m;

	netns_enter();
	printf("loopback UDP/IPv4, private netns, %.1f s per row "
	       "(datagrams counted on the wire)\n\n", seconds);
	printf("%-14s %7s %12s %12s %12s %12s %7s\n", "mode", "payload",
	       "calls/s", "sent pps", "recv pps", "recv Mbit/s", "recv %");
	printf("%-14s %7s %12s %12s %12s %12s %7s\n", "--------------", "-------",
	       "------------", "------------", "------------", "------------",
	       "-------");
	for (p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
		for (m = 0; m < MODE_COUNT; m++) {
			struct result r = run((enum bench_mode)m, payloads[p], seconds);

			printf("%-14s %7zu %12.0f %12.0f %12.0f %12.1f %6.1f%%\n",
			       mode_names[m], payloads[p],
			       (double)r.calls / r.seconds,
			       (double)r.sent / r.seconds,
			       (double)r.received / r.seconds,
			       (double)r.bytes * 8 / r.seconds / 1e6,
			       r.sent ? 100.0 * (double)r.received / (double)r.sent : 0.0);
			fflush(stdout);
		}
	}
	printf("\n(gso at 1400 bytes: %u segments per call, the most under 64 KiB)\n",
	       (unsigned)(UDP4_PAYLOAD_MAX / 1400));
	return 0;
}
