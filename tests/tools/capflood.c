/*
 * tests/tools/capflood.c - capflood, a handshake flood for the netns tests:
 * what an attacker who knows a host's public key (it is in every host
 * token) can send it. Every initiation is a genuine Noise IK message from
 * a freshly generated static key, with a valid mac1, so that without
 * cookies and per-source budgets each would cost the target a
 * Diffie-Hellman. Bounded in time and rate, and only inside a lab.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "capinject.h"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	SECONDS_MAX = 60,
	RATE_MAX = 200000,
	KEYS_MAX = 4096,
	TICK_US = 1000,			/* one burst per millisecond */
	BURST_MAX = RATE_MAX / (1000000 / TICK_US),
	RING = 1 << 16,			/* mac1 of the initiations last sent */
};

static const char usage_text[] =
"Usage: capflood --dir DIR --target HOST [options]\n"
"\n"
"capflood floods the capshim of host HOST with handshake initiations, as\n"
"an attacker who knows HOST's public key would: each one a genuine Noise IK\n"
"initiation from one of a pool of freshly generated static keys (in no host\n"
"token), with a new sender index and a valid mac1. It reads HOST's token\n"
"and endpoint from DIR (a lab host's state directory: authority.pub,\n"
"tokens/, policy.json), as capinject does. A test tool for labs only: it\n"
"refuses to run in the machine's initial network namespace (run it with\n"
"caplab exec LAB HOST -- capflood ...), and it is bounded in time and rate.\n"
"\n"
"Options:\n"
"  -d, --dir DIR        state directory of a lab host (required)\n"
"  -t, --target HOST    the host whose capshim to flood (required)\n"
"  -e, --endpoint EP    its endpoint, A.B.C.D:PORT or [V6]:PORT (default:\n"
"                       from DIR/policy.json)\n"
"  -s, --seconds S      how long, 1..60 (default 10)\n"
"  -r, --rate N         initiations a second, 1..200000 (default 20000)\n"
"  -k, --keys K         fresh static keys in the pool, 1..4096 (default 256)\n"
"  -c, --cookies        read the target's cookie replies and add mac2 from\n"
"                       then on, as an attacker receiving at its own address\n"
"                       would (default: ignore them, as a spoofer must)\n"
"  -v, --verbose        report each second\n"
"  -h, --help           this text\n"
"\n"
"Prints one line at the end: initiations sent, the rate reached, cookie\n"
"replies and other datagrams received.\n"
"\n"
"Exit status: 0 when the flood ran its time, 1 on a failure, 2 on a usage\n"
"error.\n";

struct opts {
	const char *dir, *target, *endpoint;
	unsigned seconds, rate, keys;
	bool cookies, verbose;
};

struct flood {
	struct opts o;
	struct inj_host h;
	struct inj_link l;
	const struct token *target;
	struct proto_initiation *pool;
	struct cookie_maker maker;	/* macs towards the target */
	uint8_t (*ring)[PROTO_MAC_LEN];	/* mac1 by sender index % RING */
	uint32_t next_index;
	uint64_t sent, cookies, other;
};

static int usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "capflood: %s%s%s; see 'capflood --help'\n", msg,
		arg ? ": " : "", arg ? arg : "");
	return -EINVAL;
}

static bool num(const char *text, unsigned long lo, unsigned long hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || !*text || text[0] == '-' || v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "keys", required_argument, NULL, 'k' },
		{ "cookies", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->seconds = 10;
	o->rate = 20000;
	o->keys = 256;
	while ((ch = getopt_long(argc, argv, "d:t:e:s:r:k:cvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->dir = optarg; break;
		case 't': o->target = optarg; break;
		case 'e': o->endpoint = optarg; break;
		case 's':
			if (!num(optarg, 1, SECONDS_MAX, &o->seconds))
				return usage_err("--seconds wants 1..60", optarg);
			break;
		case 'r':
			if (!num(optarg, 1, RATE_MAX, &o->rate))
				return usage_err("--rate wants 1..200000", optarg);
			break;
		case 'k':
			if (!num(optarg, 1, KEYS_MAX, &o->keys))
				return usage_err("--keys wants 1..4096", optarg);
			break;
		case 'c': o->cookies = true; break;
		case 'v': o->verbose = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage_err("bad option", NULL);
		}
	}
	if (optind != argc)
		return usage_err("unexpected argument", argv[optind]);
	if (!o->dir || !o->target)
		return usage_err("--dir and --target are required", NULL);
	return 0;
}

/*
 * Labs only: not in the network namespace the machine booted with (the
 * kernel numbers it PROC_NET_INIT_INO), nor in pid 1's where we may look.
 */
static bool in_lab(void)
{
	const ino_t init_net = 0xEFFFFFF9u;	/* PROC_NET_INIT_INO, include/linux/proc_ns.h */
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) < 0 || self.st_ino == init_net)
		return false;
	return stat("/proc/1/ns/net", &init) < 0 || self.st_ino != init.st_ino;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The pool: one genuine initiation per fresh static key. */
static int pool_make(struct flood *f)
{
	f->pool = calloc(f->o.keys, sizeof(*f->pool));
	if (!f->pool)
		return -ENOMEM;
	for (unsigned i = 0; i < f->o.keys; i++) {
		struct noise_static st;
		struct noise_handshake hs;
		uint8_t sk[PROTO_KEY_LEN];
		int ret;

		randombytes_buf(sk, sizeof(sk));
		ret = noise_static_init(&st, sk);
		if (ret == 0)
			ret = noise_initiation_create(&hs, &st, f->target->tunnel_pk, 0,
						      &f->pool[i]);
		noise_handshake_wipe(&hs);
		noise_static_wipe(&st);
		sodium_memzero(sk, sizeof(sk));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Cookie replies to any initiation of the ring: the cookie for mac2. */
static void replies(struct flood *f)
{
	uint8_t buf[2048];
	long n;

	while ((n = inj_recv(&f->l, buf, sizeof(buf), 0)) > 0) {
		struct proto_cookie_reply r;
		struct cookie_maker m;

		if (n != (long)sizeof(r) || buf[0] != PROTO_COOKIE_REPLY) {
			f->other++;
			continue;
		}
		f->cookies++;
		if (!f->o.cookies)
			continue;
		memcpy(&r, buf, sizeof(r));
		m = f->maker;
		memcpy(m.last_mac1, f->ring[be32toh(r.receiver) % RING], PROTO_MAC_LEN);
		m.have_last_mac1 = true;
		if (cookie_reply_consume(&m, &r, now_ns())) {
			memcpy(f->maker.cookie, m.cookie, sizeof(m.cookie));
			f->maker.cookie_born_ns = m.cookie_born_ns;
		}
	}
}

/* One burst of n initiations, one sendmmsg. */
static int burst(struct flood *f, unsigned n, uint64_t now)
{
	static struct proto_initiation msgs[BURST_MAX];
	static struct mmsghdr mm[BURST_MAX];
	static struct iovec iov[BURST_MAX];
	int sent;

	for (unsigned i = 0; i < n; i++) {
		uint32_t index = f->next_index++;

		msgs[i] = f->pool[index % f->o.keys];
		msgs[i].sender = htobe32(index);
		cookie_add_macs(&f->maker, &msgs[i], sizeof(msgs[i]), now);
		memcpy(f->ring[index % RING], msgs[i].mac1, PROTO_MAC_LEN);
		iov[i].iov_base = &msgs[i];
		iov[i].iov_len = sizeof(msgs[i]);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &f->l.to;
		mm[i].msg_hdr.msg_namelen = f->l.tolen;
	}
	sent = sendmmsg(f->l.fd, mm, n, MSG_DONTWAIT);
	if (sent < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
		return -errno;
	if (sent > 0)
		f->sent += (unsigned)sent;
	return 0;
}

/* Paced at the rate, in one-millisecond bursts, until the time is up. */
static int run(struct flood *f)
{
	uint64_t start = now_ns(), end = start + (uint64_t)f->o.seconds * 1000000000u;
	uint64_t due = 0, last_report = start, t;
	int ret;

	while ((t = now_ns()) < end) {
		uint64_t want = (t - start) / 1000 * f->o.rate / 1000000;
		struct timespec pause = { 0, TICK_US * 1000 };

		if (want > due) {
			unsigned n = want - due > BURST_MAX ? BURST_MAX : (unsigned)(want - due);

			ret = burst(f, n, t);
			if (ret < 0)
				return ret;
			due += n;
		}
		replies(f);
		if (f->o.verbose && t - last_report >= 1000000000u) {
			fprintf(stderr, "capflood: %llu sent, %llu cookie replies\n",
				(unsigned long long)f->sent, (unsigned long long)f->cookies);
			last_report = t;
		}
		nanosleep(&pause, NULL);
	}
	replies(f);
	return 0;
}

int main(int argc, char **argv)
{
	static struct flood f;
	char endpoint[INET6_ADDRSTRLEN + 16];
	uint64_t t0;
	int ret;

	f.l.fd = -1;
	if (parse(argc, argv, &f.o) < 0)
		return EXIT_USAGE;
	if (!in_lab()) {
		fprintf(stderr, "capflood: refusing to run in the initial network namespace: "
			"labs only (caplab exec LAB HOST -- capflood ...)\n");
		return EXIT_FAIL;
	}
	if (sodium_init() < 0 || inj_host_load(&f.h, f.o.dir) < 0)
		return EXIT_FAIL;
	f.target = inj_host_find(&f.h, f.o.target);
	if (!f.target) {
		fprintf(stderr, "capflood: no valid host token for '%s' in %s/tokens\n",
			f.o.target, f.o.dir);
		ret = -ENOENT;
		goto out;
	}
	if (f.o.endpoint)
		snprintf(endpoint, sizeof(endpoint), "%s", f.o.endpoint);
	else if ((ret = inj_host_endpoint(&f.h, f.o.target, endpoint, sizeof(endpoint))) < 0)
		goto out;
	ret = inj_link_open(&f.l, endpoint, 0);
	if (ret < 0) {
		fprintf(stderr, "capflood: socket towards %s: %s\n", endpoint, strerror(-ret));
		goto out;
	}
	cookie_maker_init(&f.maker, f.target->tunnel_pk);
	f.ring = calloc(RING, sizeof(*f.ring));
	f.next_index = randombytes_random();
	ret = f.ring ? pool_make(&f) : -ENOMEM;
	if (ret < 0)
		goto out;
	t0 = now_ns();
	ret = run(&f);
	if (ret == 0)
		printf("capflood: %llu initiations to %s (%s) in %u s (%.0f/s) from %u keys; "
		       "%llu cookie replies, %llu other datagrams received\n",
		       (unsigned long long)f.sent, f.o.target, endpoint, f.o.seconds,
		       (double)f.sent * 1e9 / (double)(now_ns() - t0), f.o.keys,
		       (unsigned long long)f.cookies, (unsigned long long)f.other);
	else
		fprintf(stderr, "capflood: %s\n", strerror(-ret));
out:
	inj_link_close(&f.l);
	inj_host_free(&f.h);
	free(f.pool);
	free(f.ring);
	return ret == 0 ? 0 : EXIT_FAIL;
}
