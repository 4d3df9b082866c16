/*
 * bench/bench_connect.c - the cost of one connect(): socket, connect,
 * close, N times over, on UDP (no packet leaves: what is measured is the
 * system call with every cgroup connect hook attached to this process's
 * cgroups, e.g. attach mode's, kernel-bpf/attach.bpf.c).
 *
 *   bench_connect [ADDR [PORT [N]]]   default 127.0.0.1 9 200000
 *
 * Prints the median over 5 batches of N/5, in nanoseconds per connect().
 * bench/attach/run.sh runs it inside lab hosts against a captun peer.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "127.0.0.1";
	int port = argc > 2 ? atoi(argv[2]) : 9;
	long n = argc > 3 ? atol(argv[3]) : 200000;
	struct sockaddr_storage ss;
	socklen_t len;
	double per[5];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((unsigned short)port);
		len = sizeof(*a);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return 2;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((unsigned short)port);
		len = sizeof(*a);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return 2;
	}
	for (int b = 0; b < 5; b++) {
		double t0 = now_ns();

		for (long i = 0; i < n / 5; i++) {
			int fd = socket(family, SOCK_DGRAM, 0);

			if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
				perror("bench_connect");
				return 1;
			}
			close(fd);
		}
		per[b] = (now_ns() - t0) / (double)(n / 5);
	}
	qsort(per, 5, sizeof(per[0]), cmp);
	printf("connect %s: %.0f ns per socket+connect+close (median of 5 x %ld)\n", addr,
	       per[2], n / 5);
	return 0;
}
