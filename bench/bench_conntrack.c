/*
 * bench/bench_conntrack.c - what the capability check's conntrack costs
 * per packet: conntrack_judge on the packets of a UDP stream and of a TCP
 * bulk transfer (data one way, ACKs back), for 1 flow and for 64 flows
 * interleaved, in nanoseconds per packet. The data path's own cost per
 * packet is some microseconds, so this is the figure to compare with.
 *
 * It asserts nothing about speed; it exits non-zero only if a verdict is
 * not the one the rule gives (every packet here is allowed).
 *
 *   build/bench_conntrack [--ms MS]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "inet.h"

enum { FLOWS_MAX = 64, ROUND = 1024 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The flow of packet i of flow n: UDP one way, or TCP data and its ACK. */
static void flow_of(struct inet_flow *f, int proto, unsigned n, uint64_t i, bool back)
{
	struct in_addr a, b;

	memset(f, 0, sizeof(*f));
	inet_pton(AF_INET, "10.77.0.2", &a);
	inet_pton(AF_INET, "10.77.0.3", &b);
	f->family = AF_INET;
	f->proto = (uint8_t)proto;
	inet_addr_from4(back ? &f->src : &f->dst, &b);
	inet_addr_from4(back ? &f->dst : &f->src, &a);
	f->sport = back ? 5201 : (uint16_t)(40000 + n);
	f->dport = back ? (uint16_t)(40000 + n) : 5201;
	f->total_len = 1408;
	if (proto == IPPROTO_TCP) {
		f->tcp_flags = 0x10;
		f->tcp_seq = back ? 7777 : (uint32_t)(1000 + i * 1368);
		f->tcp_ack = back ? (uint32_t)(1000 + (i + 1) * 1368) : 7777;
		f->tcp_len = back ? 0 : 1368;
	}
}

static double run(int proto, unsigned flows, double ms)
{
	struct conntrack *ct;
	struct inet_flow f;
	uint64_t i = 0, now = 1000000000ull;
	double t0, t;

	if (conntrack_create(&ct, 65536) < 0)
		exit(1);
	/* open each flow as the rule wants: SYN, SYN|ACK, ACK; UDP by its first */
	for (unsigned n = 0; n < flows; n++) {
		flow_of(&f, proto, n, 0, false);
		if (proto == IPPROTO_TCP) {
			f.tcp_flags = 0x02;
			f.tcp_seq = 999;
			f.tcp_len = 0;
			conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, now);
			flow_of(&f, proto, n, 0, true);
			f.tcp_flags = 0x12;
			f.tcp_seq = 7776;
			f.tcp_ack = 1000;
			conntrack_judge(ct, &f, CONNTRACK_IN, true, false, 1, now);
		} else {
			conntrack_judge(ct, &f, CONNTRACK_OUT, true, false, 1, now);
		}
	}
	t0 = now_s();
	do {
		for (int k = 0; k < ROUND; k++, i++) {
			unsigned n = (unsigned)(i % flows);
			bool back = proto == IPPROTO_TCP && (i / flows) % 2;

			flow_of(&f, proto, n, i / flows / 2, back);
			if (conntrack_judge(ct, &f, back ? CONNTRACK_IN : CONNTRACK_OUT, true,
					    false, 1, now) != CT_PASS) {
				fprintf(stderr, "bench_conntrack: packet %llu not passed\n",
					(unsigned long long)i);
				exit(1);
			}
		}
		t = now_s();
	} while (t - t0 < ms / 1000);
	conntrack_destroy(ct);
	return (t - t0) / (double)i * 1e9;
}

int main(int argc, char **argv)
{
	double ms = 300;

	if (argc == 3 && strcmp(argv[1], "--ms") == 0)
		ms = atof(argv[2]);
	printf("conntrack_judge, ns per packet (all allowed), %.0f ms each\n", ms);
	printf("%-28s %10s\n", "traffic", "ns/packet");
	printf("%-28s %10.1f\n", "UDP, 1 flow", run(IPPROTO_UDP, 1, ms));
	printf("%-28s %10.1f\n", "UDP, 64 flows interleaved", run(IPPROTO_UDP, 64, ms));
	printf("%-28s %10.1f\n", "TCP data + ACKs, 1 flow", run(IPPROTO_TCP, 1, ms));
	printf("%-28s %10.1f\n", "TCP, 64 flows interleaved", run(IPPROTO_TCP, 64, ms));
	return 0;
}
