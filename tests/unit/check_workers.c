/*
 * tests/unit/check_workers.c - the crypto workers (shim/workers.h) and the
 * receive path over them:
 *
 *  - every job of a batch done exactly once, whatever thread took it,
 *    sealing what libsodium seals, for 1 to 4 threads, batch after batch;
 *  - a received batch spread over 4 threads, with its counters shuffled
 *    and some repeated: every datagram delivered once, in the order it
 *    came (not the order the threads finished), the repeats dropped as
 *    replays, nothing too old let in, and the whole batch replayed again
 *    dropped entirely.
 *
 * The receive tests run capshim's shim_rx_batch on a struct shim made by
 * hand (one peer, one session, no capability check), its TUN a datagram
 * socket pair the test reads back.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "inet_pkt.h"
#include "shim.h"
#include "suites.h"
#include "workers.h"

/* ---- the pool on its own ---- */

START_TEST(test_jobs_once_each)
{
	unsigned threads = (unsigned)_i;
	struct workers *w = NULL;
	uint8_t key[AEAD_KEY_LEN];
	struct aead ctx[WORKERS_MAX];
	enum { N = 300, MAXLEN = 3000 };
	static uint8_t bufs[N][20 + MAXLEN + AEAD_TAG_LEN], ref[MAXLEN + AEAD_TAG_LEN];
	static uint8_t plain[N / 37 + 1][MAXLEN];
	static struct crypto_job jobs[N];
	size_t lens[N];

	ck_assert_int_eq(workers_create(&w, threads), 0);
	ck_assert_uint_eq(workers_count(w), threads);
	workers_mode_set(w, WORKERS_ALWAYS);
	randombytes_buf(key, sizeof(key));
	memset(ctx, 0, sizeof(ctx));
	for (unsigned t = 0; t < threads; t++) {
		ck_assert_int_eq(aead_init(&ctx[t], key, true), 0);
		ctx[t].small = t % 2 ? 0 : AEAD_SMALL;	/* both paths at once */
	}
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < N; i++) {
			lens[i] = randombytes_uniform(MAXLEN + 1);
			randombytes_buf(bufs[i], 20 + lens[i]);
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].ctx = ctx;
			randombytes_buf(jobs[i].nonce, sizeof(jobs[i].nonce));
			jobs[i].ad = bufs[i];
			jobs[i].adlen = 20;
			jobs[i].text = bufs[i] + 20;
			jobs[i].len = lens[i];
			jobs[i].seal = true;
		}
		/* a job done twice would seal its ciphertext again: check some */
		for (size_t i = 0; i < N; i += 37)
			memcpy(plain[i / 37], bufs[i] + 20, lens[i]);
		workers_run(w, jobs, N);
		for (size_t i = 0; i < N; i++) {
			unsigned long long plen;

			ck_assert(jobs[i].ok);
			if (i % 37)
				continue;
			ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_decrypt(
				ref, &plen, NULL, bufs[i] + 20, lens[i] + AEAD_TAG_LEN,
				bufs[i], 20, jobs[i].nonce, key), 0);
			ck_assert_uint_eq(plen, lens[i]);
			ck_assert(lens[i] == 0 || memcmp(ref, plain[i / 37], lens[i]) == 0);
		}
	}
	if (threads > 1) {
		uint64_t in, spread;

		workers_stats(w, &in, &spread);
		ck_assert_uint_eq(spread, 20);
	}
	for (unsigned t = 0; t < threads; t++)
		aead_free(&ctx[t]);
	workers_destroy(w);
}
END_TEST

/* ---- the receive path over the workers ---- */

struct rxlab {
	struct shim s;
	int tun[2];			/* [0] capshim's "TUN", [1] the test's end */
	uint8_t key[AEAD_KEY_LEN];	/* the peer's send key = our receive key */
	uint32_t index;
};

static const char *const SELF4 = "10.77.0.3", *const PEER4 = "10.77.0.2";

static void rxlab_up(struct rxlab *l, unsigned threads)
{
	struct shim *s = &l->s;
	struct noise_keypair kp;
	struct in_addr a;
	struct peer *p;

	memset(l, 0, sizeof(*l));
	s->tun.fd = s->udp4.fd = s->udp6.fd = s->epfd = -1;
	s->cfg.no_cap_check = true;
	s->cfg.mtu = 1416;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, l->tun), 0);
	s->tun.fd = l->tun[0];
	ck_assert_int_eq(conntrack_create(&s->ct, 1024), 0);
	ck_assert_int_eq(shim_datapath_init(s), 0);
	ck_assert_int_eq(workers_create(&s->workers, threads), 0);
	workers_mode_set(s->workers, WORKERS_ALWAYS);
	s->self.flags = WIRE_HOST_OVERLAY4;
	ck_assert_int_eq(inet_pton(AF_INET, SELF4, s->self.overlay4), 1);
	s->peers = calloc(1, sizeof(*s->peers));
	ck_assert_ptr_nonnull(s->peers);
	s->npeers = 1;
	p = &s->peers[0];
	strcpy(p->name, "peer");
	p->bit = 2;
	ck_assert_int_eq(inet_pton(AF_INET, PEER4, &a), 1);
	inet_addr_from4(&p->overlay4, &a);
	p->has4 = true;
	p->cur = 0;
	p->prev = p->next = p->hs_slot = -1;
	p->mtu = 1416;
	memset(&kp, 0, sizeof(kp));
	kp.initiator = true;
	kp.local_index = l->index = shim_index_make(s, p, 0);
	randombytes_buf(l->key, sizeof(l->key));
	memcpy(kp.recv, l->key, sizeof(kp.recv));
	randombytes_buf(kp.send, sizeof(kp.send));
	ck_assert_int_eq(shim_session_install(s, &p->sessions[0], &kp, true, shim_now_ns()), 0);
	s->now = shim_now_ns();
}

static void rxlab_down(struct rxlab *l)
{
	workers_destroy(l->s.workers);
	l->s.workers = NULL;
	shim_peers_free(&l->s);
	shim_datapath_free(&l->s);
	conntrack_destroy(l->s.ct);
	close(l->tun[0]);
	close(l->tun[1]);
}

enum { PAYLOAD = 1000 };

/*
 * The datagram the peer sends with counter, carrying an inner UDP packet
 * (one flow) whose payload starts with tag.
 */
static size_t datagram(struct rxlab *l, uint64_t counter, uint32_t tag, uint8_t *out)
{
	struct proto_data_hdr hdr = { .type = PROTO_DATA };
	uint8_t nonce[12];
	unsigned long long clen = 0;
	size_t n = pkt_build(SPEC(V4(PEER4, SELF4, IPPROTO_UDP), .sport = 4000,
				  .dport = 5000, .payload = PAYLOAD), out + sizeof(hdr));

	memcpy(out + sizeof(hdr) + 28, &tag, sizeof(tag));
	hdr.receiver = htobe32(l->index);
	hdr.counter = htobe64(counter);
	memcpy(out, &hdr, sizeof(hdr));
	noise_nonce(counter, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + sizeof(hdr), &clen, out + sizeof(hdr),
						  n, out, sizeof(hdr), NULL, nonce, l->key);
	return sizeof(hdr) + (size_t)clen;
}

/* The tags of the packets capshim delivered, in the order it wrote them. */
static size_t delivered(struct rxlab *l, uint32_t *tags, size_t max)
{
	uint8_t pkt[4096];
	size_t n = 0;
	ssize_t r;

	while (n < max && (r = recv(l->tun[1], pkt, sizeof(pkt), MSG_DONTWAIT)) > 0) {
		ck_assert_int_eq(r, 28 + PAYLOAD);
		memcpy(&tags[n++], pkt + 28, sizeof(tags[0]));
	}
	ck_assert(n < max);
	return n;
}

enum { BATCH = UDP_BATCH };

START_TEST(test_rx_order_and_replay)
{
	static uint8_t bufs[BATCH][2048];
	struct udp_msg msgs[BATCH];
	uint64_t counters[BATCH];
	uint32_t tags[BATCH * 2];
	bool seen[BATCH];
	size_t expect = 0, got, dups = 0;
	struct rxlab l;

	rxlab_up(&l, (unsigned)_i);
	for (int round = 0; round < 5; round++) {
		uint64_t base = (uint64_t)round * 3000;
		uint64_t replay0 = l.s.drops[DROP_RX_REPLAY];

		memset(seen, 0, sizeof(seen));
		expect = 0;
		dups = 0;
		/* counters base..base+BATCH-1 shuffled, a few repeated */
		for (size_t i = 0; i < BATCH; i++)
			counters[i] = base + i;
		for (size_t i = BATCH - 1; i > 0; i--) {
			size_t j = randombytes_uniform((uint32_t)i + 1);
			uint64_t t = counters[i];

			counters[i] = counters[j];
			counters[j] = t;
		}
		for (size_t i = 5; i < BATCH; i += 7)
			counters[i] = counters[randombytes_uniform((uint32_t)i)];
		for (size_t i = 0; i < BATCH; i++) {
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].buf = bufs[i];
			msgs[i].len = datagram(&l, counters[i], (uint32_t)i, bufs[i]);
			msgs[i].addr.ss_family = AF_INET;
			msgs[i].addr_len = sizeof(struct sockaddr_in);
			if (seen[counters[i] - base])
				dups++;
			seen[counters[i] - base] = true;
		}
		shim_rx_batch(&l.s, msgs, BATCH);
		got = delivered(&l, tags, BATCH * 2);
		/* the first of each counter, in batch order */
		memset(seen, 0, sizeof(seen));
		for (size_t i = 0; i < BATCH; i++) {
			if (seen[counters[i] - base])
				continue;
			seen[counters[i] - base] = true;
			ck_assert_uint_lt(expect, got);
			ck_assert_uint_eq(tags[expect], i);
			expect++;
		}
		ck_assert_uint_eq(got, expect);
		ck_assert_uint_eq(l.s.drops[DROP_RX_REPLAY] - replay0, dups);

		/* the same batch again: every datagram a replay */
		for (size_t i = 0; i < BATCH; i++)
			msgs[i].len = datagram(&l, counters[i], (uint32_t)i, bufs[i]);
		shim_rx_batch(&l.s, msgs, BATCH);
		ck_assert_uint_eq(delivered(&l, tags, BATCH * 2), 0);
		ck_assert_uint_eq(l.s.drops[DROP_RX_REPLAY] - replay0, dups + BATCH);
	}
	/* far below the window now (12000 above it): refused before the open */
	msgs[0].len = datagram(&l, 0, 0, bufs[0]);
	shim_rx_batch(&l.s, msgs, 1);
	ck_assert_uint_eq(delivered(&l, tags, 4), 0);
	ck_assert_uint_eq(l.s.drops[DROP_RX_DECRYPT], 0);
	rxlab_down(&l);
}
END_TEST

/* A tampered datagram in a spread batch: that one dropped, the rest in order. */
START_TEST(test_rx_tampered_in_batch)
{
	static uint8_t bufs[BATCH][2048];
	struct udp_msg msgs[BATCH];
	uint32_t tags[BATCH * 2];
	struct rxlab l;
	size_t got, k = 0;

	rxlab_up(&l, 4);
	for (size_t i = 0; i < BATCH; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].buf = bufs[i];
		msgs[i].len = datagram(&l, i, (uint32_t)i, bufs[i]);
		msgs[i].addr.ss_family = AF_INET;
		msgs[i].addr_len = sizeof(struct sockaddr_in);
		if (i % 10 == 3)
			bufs[i][100] ^= 1;
	}
	shim_rx_batch(&l.s, msgs, BATCH);
	got = delivered(&l, tags, BATCH * 2);
	for (size_t i = 0; i < BATCH; i++) {
		if (i % 10 == 3)
			continue;
		ck_assert_uint_lt(k, got);
		ck_assert_uint_eq(tags[k++], i);
	}
	ck_assert_uint_eq(got, k);
	ck_assert_uint_eq(l.s.drops[DROP_RX_DECRYPT], BATCH / 10 + (BATCH % 10 > 3));
	/* a tampered counter was not marked seen: its true datagram still opens */
	msgs[0].len = datagram(&l, 3, 3, bufs[0]);
	shim_rx_batch(&l.s, msgs, 1);
	ck_assert_uint_eq(delivered(&l, tags, 4), 1);
	rxlab_down(&l);
}
END_TEST

Suite *suite_workers(void)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("pool");
	TCase *rx = tcase_create("receive");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_jobs_once_each, 1, 5);
	suite_add_tcase(s, tc);
	tcase_set_timeout(rx, 60);
	tcase_add_loop_test(rx, test_rx_order_and_replay, 1, 5);
	tcase_add_test(rx, test_rx_tampered_in_batch);
	suite_add_tcase(s, rx);
	return s;
}
