/*
 * tests/unit/shimlab.c - whole capshims in one process (shimlab.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "armor.h"
#include "shimlab.h"
#include "suites.h"

#define TICK_NS UINT64_C(100000000)

static struct shim_ev ev_udp[SL_HOSTS_MAX], ev_tun[SL_HOSTS_MAX];

static void on_udp(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	shim_udp_readable(s, &s->udp4);
}

static void on_tun(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	shim_tun_readable(s);
}

const char *sl_addr4(unsigned i)
{
	static char buf[SL_HOSTS_MAX][INET_ADDRSTRLEN];

	snprintf(buf[i], sizeof(buf[i]), "10.77.0.%u", i + 2);
	return buf[i];
}

const char *sl_addr6(unsigned i)
{
	static char buf[SL_HOSTS_MAX][INET6_ADDRSTRLEN];

	snprintf(buf[i], sizeof(buf[i]), "fd77::%u", i + 2);
	return buf[i];
}

static void write_armored(const char *path, const char *label, const uint8_t *bin,
			  size_t len)
{
	char *text = NULL;
	size_t tlen = 0;

	ck_assert_int_eq(armor_encode(label, bin, len, &text, &tlen), 0);
	test_write_file(path, text, tlen, 0644);
	free(text);
}

size_t sl_user_token(struct shimlab *lab, const char *name, const int *bits,
		     uint8_t *out)
{
	struct token t;
	size_t len = 0;
	uint64_t now = shim_unix_now();

	memset(&t, 0, sizeof(t));
	t.type = WIRE_TYPE_USER_TOKEN;
	snprintf(t.name, sizeof(t.name), "%s", name);
	test_mask_of(&t.grant, bits);
	t.serial = SL_USER_SERIAL;
	t.not_before = now - 60;
	t.not_after = now + 3600;
	ck_assert_int_eq(token_sign(&t, &lab->ak, out, WIRE_TOKEN_MAX, &len), 0);
	return len;
}

void sl_make(struct shimlab *lab, unsigned n, const int *const *grants)
{
	uint8_t bin[SL_HOSTS_MAX][WIRE_TOKEN_MAX];
	size_t blen[SL_HOSTS_MAX];
	uint64_t now = shim_unix_now();
	char *apub, *akey, *text;
	size_t tlen;

	ck_assert_uint_le(n, SL_HOSTS_MAX);
	memset(lab, 0, sizeof(*lab));
	lab->n = n;
	lab->root = test_tmpdir();
	ck_assert_int_eq(keys_authority_generate(&lab->ak), 0);
	akey = test_path(lab->root, "authority.key");
	apub = test_path(lab->root, "authority.pub");
	ck_assert_int_eq(keys_authority_save(akey, apub, &lab->ak), 0);
	text = test_read_file(apub, &tlen);
	for (unsigned i = 0; i < n; i++) {
		struct sl_host *h = &lab->h[i];
		struct token *t = &h->token;
		char name[16];

		h->tun = -1;
		snprintf(name, sizeof(name), "h%u", i + 1);
		h->dir = test_path(lab->root, name);
		ck_assert_int_eq(mkdir(h->dir, 0700), 0);
		ck_assert_int_eq(keys_host_generate(&h->keys), 0);
		memset(t, 0, sizeof(*t));
		t->type = WIRE_TYPE_HOST_TOKEN;
		snprintf(t->name, sizeof(t->name), "%s", name);
		t->bit = (uint16_t)(i + 1);
		t->flags = WIRE_HOST_OVERLAY4 | WIRE_HOST_OVERLAY6;
		ck_assert_int_eq(inet_pton(AF_INET, sl_addr4(i), t->overlay4), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, sl_addr6(i), t->overlay6), 1);
		memcpy(t->tunnel_pk, h->keys.tunnel_pk, sizeof(t->tunnel_pk));
		memcpy(t->sign_pk, h->keys.sign_pk, sizeof(t->sign_pk));
		test_mask_of(&t->grant, grants[i]);
		t->serial = 10 + i;	/* each its own: a list can revoke one */
		t->not_before = now - 60;
		t->not_after = now + 86400;
		ck_assert_int_eq(token_sign(t, &lab->ak, bin[i], sizeof(bin[i]), &blen[i]), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		char *p, *tokens, file[64];

		p = test_path(lab->h[i].dir, "host.key");
		tokens = test_path(lab->h[i].dir, "host.pub");
		ck_assert_int_eq(keys_host_save(p, tokens, &lab->h[i].keys), 0);
		free(p);
		free(tokens);
		p = test_path(lab->h[i].dir, "authority.pub");
		test_write_file(p, text, tlen, 0644);
		free(p);
		tokens = test_path(lab->h[i].dir, "tokens");
		ck_assert_int_eq(mkdir(tokens, 0755), 0);
		for (unsigned j = 0; j < n; j++) {
			snprintf(file, sizeof(file), "host-h%u.token", j + 1);
			p = test_path(tokens, file);
			write_armored(p, TOKEN_ARMOR_HOST, bin[j], blen[j]);
			free(p);
		}
		free(tokens);
	}
	free(text);
	free(akey);
	free(apub);
}

void sl_start(struct shimlab *lab, unsigned i)
{
	struct sl_host *h = &lab->h[i];
	struct shim *s = &h->s;
	const char *err = NULL;
	static char control[SL_HOSTS_MAX][256];
	int fds[2];

	ck_assert(!h->started);
	memset(s, 0, sizeof(*s));
	s->cfg.dir = h->dir;
	s->cfg.ifname = "sl0";
	snprintf(control[i], sizeof(control[i]), "%s/shim.sock", h->dir);
	s->cfg.control = control[i];
	s->cfg.control_mode = 0666;
	s->cfg.mtu = 1416;
	s->cfg.rekey_after_s = PROTO_REKEY_AFTER_TIME_S;
	s->tun.fd = s->udp4.fd = s->udp6.fd = s->epfd = -1;
	ck_assert_int_eq(shim_state_load(s), 0);
	ck_assert_int_eq(conntrack_create(&s->ct, 4096), 0);
	ck_assert_int_eq(shim_datapath_init(s), 0);
	ck_assert_int_eq(udp_open(&s->udp4, AF_INET, 0, false), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, fds), 0);
	s->tun.fd = fds[0];
	h->tun = fds[1];
	snprintf(s->tun.name, sizeof(s->tun.name), "sl%u", i);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(s->epfd, 0);
	ev_udp[i].fd = s->udp4.fd;
	ev_udp[i].fn = on_udp;
	ev_tun[i].fd = s->tun.fd;
	ev_tun[i].fn = on_tun;
	ck_assert_int_eq(shim_ev_add(s, &ev_udp[i]), 0);
	ck_assert_int_eq(shim_ev_add(s, &ev_tun[i]), 0);
	ck_assert_int_eq(shim_ctl_open(s, s->cfg.control), 0);
	ck_assert_msg(shim_cap_start(s, &err) == 0, "first capability: %s", err);
	h->started = true;
}

void sl_start_all(struct shimlab *lab)
{
	for (unsigned i = 0; i < lab->n; i++)
		sl_start(lab, i);
	sl_endpoints(lab);
}

void sl_endpoints(struct shimlab *lab)
{
	for (unsigned i = 0; i < lab->n; i++) {
		if (!lab->h[i].started)
			continue;
		for (unsigned j = 0; j < lab->n; j++) {
			struct sockaddr_in *in;
			struct peer *p;

			if (j == i || !lab->h[j].started)
				continue;
			p = sl_peer(lab, i, j);
			in = (struct sockaddr_in *)&p->endpoint;
			memset(&p->endpoint, 0, sizeof(p->endpoint));
			in->sin_family = AF_INET;
			in->sin_port = htons(lab->h[j].s.udp4.port);
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			p->endpoint_len = sizeof(*in);
			shim_peer_mtu_update(&lab->h[i].s, p);
		}
	}
}

void sl_stop(struct shimlab *lab, unsigned i)
{
	struct sl_host *h = &lab->h[i];
	struct shim *s = &h->s;

	if (!h->started)
		return;
	shim_ctl_close(s);
	close(s->epfd);
	close(s->tun.fd);
	close(h->tun);
	h->tun = -1;
	udp_close(&s->udp4);
	shim_datapath_free(s);
	conntrack_destroy(s->ct);
	shim_sync_free(s);
	shim_peers_free(s);
	revocation_free(&s->revoked);
	noise_static_wipe(&s->stat);
	keys_host_wipe(&s->keys);
	memset(s, 0, sizeof(*s));
	h->started = false;
}

void sl_free(struct shimlab *lab)
{
	for (unsigned i = 0; i < lab->n; i++) {
		sl_stop(lab, i);
		keys_host_wipe(&lab->h[i].keys);
		free(lab->h[i].dir);
	}
	keys_authority_wipe(&lab->ak);
	test_rmtree(lab->root);
	lab->root = NULL;
}

struct peer *sl_peer(struct shimlab *lab, unsigned i, unsigned j)
{
	struct shim *s = &lab->h[i].s;

	for (size_t k = 0; k < s->npeers; k++)
		if (s->peers[k].bit == j + 1)
			return &s->peers[k];
	ck_abort_msg("h%u has no peer h%u", i + 1, j + 1);
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One turn of every started host; whether anything happened. */
static bool turn(struct shimlab *lab, uint64_t now, uint64_t *last_tick)
{
	bool busy = false, tick = now - *last_tick >= TICK_NS;

	for (unsigned i = 0; i < lab->n; i++) {
		struct shim *s = &lab->h[i].s;
		struct epoll_event evs[16];
		int n;

		if (!lab->h[i].started)
			continue;
		n = epoll_wait(s->epfd, evs, 16, 0);
		for (int k = 0; k < n; k++) {
			struct shim_ev *ev = evs[k].data.ptr;

			ev->fn(s, ev, evs[k].events);
		}
		busy |= n > 0 || shim_handshake_pending(s);
		shim_handshake_drain(s);
		shim_recheck_settle(s);
		if (tick) {
			s->now = now;
			shim_timers(s, now);
			shim_ctl_tick(s);
			shim_tx_flush(s);
		}
	}
	if (tick)
		*last_tick = now;
	return busy;
}

bool sl_run(struct shimlab *lab, int ms, bool (*done)(struct shimlab *, void *),
	    void *arg)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u, last_tick = mono_ns();

	for (;;) {
		uint64_t now = mono_ns();

		if (done && done(lab, arg))
			return true;
		if (now >= end)
			return false;
		if (!turn(lab, now, &last_tick)) {
			struct pollfd pfd[SL_HOSTS_MAX];
			nfds_t n = 0;

			for (unsigned i = 0; i < lab->n; i++)
				if (lab->h[i].started)
					pfd[n++] = (struct pollfd){ .fd = lab->h[i].s.epfd,
								    .events = POLLIN };
			poll(pfd, n, 2);
		}
	}
}

bool sl_sessions_up(struct shimlab *lab, void *arg)
{
	uint64_t now = shim_now_ns();

	for (unsigned i = 0; i < lab->n; i++)
		for (unsigned j = 0; j < lab->n; j++)
			if (i != j && lab->h[i].started && lab->h[j].started &&
			    !shim_session_send(sl_peer(lab, i, j), now))
				return false;
	return true;
}

void sl_connect(struct shimlab *lab)
{
	for (unsigned i = 0; i < lab->n; i++)
		for (unsigned j = 0; j < lab->n; j++)
			if (i != j && lab->h[i].started && lab->h[j].started)
				shim_handshake_start(&lab->h[i].s, sl_peer(lab, i, j));
	ck_assert_msg(sl_run(lab, 5000, sl_sessions_up, NULL), "sessions did not come up");
	/* The announcements that follow the sessions. */
	sl_run(lab, 50, NULL, NULL);
}

void sl_tun_send(struct shimlab *lab, unsigned i, const uint8_t *pkt, size_t len)
{
	ck_assert_int_eq(send(lab->h[i].tun, pkt, len, MSG_DONTWAIT), (ssize_t)len);
}

size_t sl_tun_recv(struct shimlab *lab, unsigned i, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(lab->h[i].tun, buf, cap, MSG_DONTWAIT);

	if (n < 0) {
		ck_assert_msg(errno == EAGAIN, "fake TUN: %s", strerror(errno));
		return 0;
	}
	return (size_t)n;
}
