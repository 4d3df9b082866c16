/*
 * tests/tools/capinject.c - capinject's command line and its cases: a
 * real handshake as a lab host, then one hostile datagram per case, each
 * aimed at exactly one of capshim's receive-side drop counters.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "capinject.h"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	DEFAULT_BAD_EPOCH = 0xC0FFEE00u,
	TRUNCATE_TO = 28,		/* < PROTO_OVERHEAD: too short to open */
	HANDSHAKE_TRIES = 3,
};

static const char usage_text[] =
"Usage: capinject CASE --dir DIR --target HOST [options]\n"
"\n"
"capinject speaks captun's underlay protocol (shim/proto.h) as the host\n"
"whose state directory DIR is - its host.key, authority.pub,\n"
"revocation.list and tokens/host-*.token, read as capshim reads them -\n"
"from its own UDP socket, to the capshim of host HOST, and sends it valid\n"
"and crafted datagrams: a test tool for how capshim treats hostile input.\n"
"Run it inside the network namespace of the host it speaks as (caplab\n"
"exec LAB HOST -- capinject ...). That host's own capshim may keep\n"
"running: capinject binds another port, and the target moves the host's\n"
"endpoint to it on the first authenticated packet (so the real host's\n"
"session with the target is displaced until it rekeys).\n"
"\n"
"Every case first completes a real Noise IK handshake as that host and\n"
"sends the host's capability announcement (host grant, no users, signed\n"
"with the host's key) at the epoch of DIR/epoch (as capshim persisted it;\n"
"1 if none) or --epoch. Then:\n"
"\n"
"  handshake      one valid data packet: an ICMP echo request from the\n"
"                 host's overlay address to the target's; waits for the\n"
"                 target's echo reply (exit 1 if none comes)\n"
"  replay         one valid data packet, sent twice        -> rx_replay\n"
"  flip           a data packet with one bit of its ciphertext flipped\n"
"                                                          -> rx_decrypt\n"
"  truncate       a data packet cut to 28 bytes            -> rx_short\n"
"  unknown-index  a data packet for a session index the target never\n"
"                 gave out                                 -> rx_unknown_index\n"
"  unlisted-key   a handshake initiation from a freshly generated key in\n"
"                 no token, with a valid mac1              -> rx_unknown_key\n"
"  bad-epoch      a data packet stamped with an epoch never announced\n"
"                                                          -> rx_unknown_epoch\n"
"  bad-announce   an announcement at an unannounced epoch, signed by a\n"
"                 freshly generated key, not the host's    -> rx_announce_bad\n"
"  spoof-source   a data packet whose inner source address is another\n"
"                 host's overlay address                   -> rx_source\n"
"  forge-icmp     an ICMP port unreachable from this host's own address to\n"
"                 the target, quoting a UDP datagram the target sent to\n"
"                 another host (--spoof HOST, ports --quote-ports SPORT:DPORT):\n"
"                 an error only that host may send      -> rx_icmp_unrelated\n"
"\n"
"(-> the drop counter of the target's status that the case should raise.)\n"
"\n"
"Options:\n"
"  -d, --dir DIR        state directory of the host to speak as (required)\n"
"  -t, --target HOST    the host whose capshim to talk to (required)\n"
"  -e, --endpoint EP    the target's underlay endpoint, A.B.C.D:PORT or\n"
"                       [V6]:PORT (default: its endpoint in DIR/policy.json)\n"
"  -p, --port PORT      local UDP port (default: any free one)\n"
"  -6, --inet6          inner packets between IPv6 overlay addresses\n"
"      --epoch N        announce and stamp capability epoch N instead; a new\n"
"                       N makes the target verify the announcement, and it\n"
"                       supersedes the epoch the real host sends under\n"
"      --bad-epoch N    the unannounced epoch of bad-epoch and bad-announce\n"
"                       (default 3237998080)\n"
"      --spoof HOST     whose address spoof-source uses, and forge-icmp's\n"
"                       quoted destination (default: the first host by name\n"
"                       that is neither this one nor the target)\n"
"      --quote-ports SPORT:DPORT\n"
"                       the UDP ports of forge-icmp's quoted datagram\n"
"                       (default 40053:5353)\n"
"      --timeout MS     how long to wait for each answer (default 2000)\n"
"      --linger MS      after the last datagram sent, keep reading the\n"
"                       target's answers until none came for MS (default 200)\n"
"  -v, --verbose        report every datagram the target sends back\n"
"  -h, --help           this text\n"
"\n"
"Exit status: 0 when the case was carried out (handshake: and the echo\n"
"reply came back), 1 on a failure, 2 on a usage error.\n"
"\n"
"Example, in a caplab lab LAB:\n"
"  caplab exec LAB host3 -- capinject replay \\\n"
"      --dir /run/caplab/LAB/hosts/host3 --target host1\n";

struct opts {
	const char *cse, *dir, *target, *endpoint, *spoof;
	uint16_t port;
	bool v6, verbose, epoch_set;
	uint32_t epoch, bad_epoch;
	int timeout_ms, linger_ms;
	uint16_t qsport, qdport;
};

struct ctx {
	struct opts o;
	struct inj_host h;
	struct inj_link l;
	const struct token *target;
	char endpoint[INET6_ADDRSTRLEN + 16];
	uint8_t src[16], dst[16];	/* overlay addresses, this host -> target */
	uint16_t echo_id, echo_seq;
	uint8_t pkt[INJ_PKT_MAX];	/* an inner packet */
	size_t pkt_len;
	uint8_t *dgram;			/* INJ_ANNOUNCE_MAX + PROTO_OVERHEAD */
	uint8_t *rbuf;			/* INJ_RECV_MAX */
	bool echo_replied;
};

static void say(const struct ctx *c, const char *what)
{
	printf("capinject: %s -> %s (%s): %s\n", c->h.self.name, c->o.target,
	       c->endpoint, what);
	fflush(stdout);
}

static int usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "capinject: %s%s%s; see 'capinject --help'\n", msg,
		arg ? ": " : "", arg ? arg : "");
	return -EINVAL;
}

static bool num(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 10);
	return !errno && *end == '\0' && text[0] != '-' && text[0] && *out <= max;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "inet6", no_argument, NULL, '6' },
		{ "epoch", required_argument, NULL, 'E' },
		{ "bad-epoch", required_argument, NULL, 'B' },
		{ "spoof", required_argument, NULL, 'S' },
		{ "quote-ports", required_argument, NULL, 'Q' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "linger", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int ch;

	o->bad_epoch = DEFAULT_BAD_EPOCH;
	o->qsport = 40053;
	o->qdport = 5353;
	o->timeout_ms = 2000;
	o->linger_ms = 200;
	while ((ch = getopt_long(argc, argv, "d:t:e:p:6vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->dir = optarg; break;
		case 't': o->target = optarg; break;
		case 'e': o->endpoint = optarg; break;
		case 'p':
			if (!num(optarg, 65535, &v))
				return usage_err("--port wants 0..65535", optarg);
			o->port = (uint16_t)v;
			break;
		case '6': o->v6 = true; break;
		case 'E':
			if (!num(optarg, UINT32_MAX - 1, &v) || v == 0)
				return usage_err("--epoch wants 1..4294967294", optarg);
			o->epoch = (uint32_t)v;
			o->epoch_set = true;
			break;
		case 'B':
			if (!num(optarg, UINT32_MAX, &v))
				return usage_err("--bad-epoch wants 0..4294967295", optarg);
			o->bad_epoch = (uint32_t)v;
			break;
		case 'S': o->spoof = optarg; break;
		case 'Q': {
			unsigned long a, b;
			char *colon = strchr(optarg, ':');

			if (!colon)
				return usage_err("--quote-ports wants SPORT:DPORT", optarg);
			*colon = '\0';
			if (!num(optarg, 65535, &a) || !num(colon + 1, 65535, &b))
				return usage_err("--quote-ports wants SPORT:DPORT", optarg);
			o->qsport = (uint16_t)a;
			o->qdport = (uint16_t)b;
			break;
		}
		case 'T':
			if (!num(optarg, 600000, &v) || v == 0)
				return usage_err("--timeout wants 1..600000 ms", optarg);
			o->timeout_ms = (int)v;
			break;
		case 'L':
			if (!num(optarg, 600000, &v))
				return usage_err("--linger wants 0..600000 ms", optarg);
			o->linger_ms = (int)v;
			break;
		case 'v': o->verbose = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage_err("bad option", NULL);
		}
	}
	if (optind != argc - 1)
		return usage_err(optind >= argc ? "missing CASE" : "one CASE only",
				 optind < argc ? argv[optind] : NULL);
	o->cse = argv[optind];
	if (!o->dir || !o->target)
		return usage_err("--dir and --target are required", NULL);
	return 0;
}

/* Reads what the target sends for ms; reports it, notes our echo reply. */
static void drain(struct ctx *c, int ms, bool until_echo)
{
	long n;

	while ((n = inj_recv(&c->l, c->rbuf, INJ_RECV_MAX, ms)) > 0) {
		uint8_t type = 0, *plain;
		size_t plen;
		char line[160];

		if (!inj_open(&c->l, c->rbuf, (size_t)n, &type, &plain, &plen)) {
			if (c->o.verbose) {
				snprintf(line, sizeof(line),
					 "received a %ld-byte datagram of type %u not for our session",
					 n, c->rbuf[0]);
				say(c, line);
			}
			continue;
		}
		if (type == PROTO_CONTROL && plen >= sizeof(struct proto_announce) &&
		    plain[0] == PROTO_CTL_ANNOUNCE) {
			struct proto_announce a;

			memcpy(&a, plain, sizeof(a));
			snprintf(line, sizeof(line), "received the target's announcement, epoch %u",
				 be32toh(a.epoch));
		} else if (type == PROTO_CONTROL && plen >= 1 &&
			   plain[0] == PROTO_CTL_EPOCH_REQUEST) {
			snprintf(line, sizeof(line), "received an epoch request");
		} else if (type == PROTO_DATA && plen == 0) {
			snprintf(line, sizeof(line), "received a keepalive");
		} else if (type == PROTO_DATA &&
			   inj_is_echo_reply(c->o.v6, plain, plen, c->dst, c->echo_id,
					     c->echo_seq)) {
			c->echo_replied = true;
			snprintf(line, sizeof(line), "received the echo reply");
		} else {
			snprintf(line, sizeof(line), "received a %s message of %zu bytes",
				 type == PROTO_DATA ? "data" : "control", plen);
		}
		if (c->o.verbose || c->echo_replied)
			say(c, line);
		if (until_echo && c->echo_replied)
			return;
	}
}

static int send_dgram(struct ctx *c, const uint8_t *buf, size_t len, const char *what)
{
	int ret;

	if (len == 0) {
		fprintf(stderr, "capinject: cannot build %s\n", what);
		return -EIO;
	}
	ret = inj_send(&c->l, buf, len);
	if (ret < 0) {
		fprintf(stderr, "capinject: sending %s: %s\n", what, strerror(-ret));
		return ret;
	}
	say(c, what);
	return 0;
}

/* The echo request this host -> target, sealed under the session. */
static size_t echo_dgram(struct ctx *c, uint32_t epoch, uint32_t receiver,
			 const uint8_t *src)
{
	c->echo_seq++;
	c->pkt_len = inj_craft_echo(c->o.v6, src, c->dst, c->echo_id, c->echo_seq,
				    c->pkt, sizeof(c->pkt));
	if (c->pkt_len == 0)
		return 0;
	return inj_seal(&c->l, PROTO_DATA, epoch, receiver, c->pkt, c->pkt_len,
			c->dgram, INJ_ANNOUNCE_MAX + PROTO_OVERHEAD);
}

/* Handshake as this host, then its announcement. */
static int session(struct ctx *c)
{
	uint8_t msg[INJ_ANNOUNCE_MAX];
	size_t len = 0, n;
	char line[160];
	int ret;

	ret = inj_handshake(&c->l, &c->h.stat, c->target->tunnel_pk, HANDSHAKE_TRIES,
			    c->o.timeout_ms);
	if (ret < 0) {
		fprintf(stderr, "capinject: handshake with %s at %s: %s\n", c->o.target,
			c->endpoint, strerror(-ret));
		return ret;
	}
	snprintf(line, sizeof(line),
		 "handshake done from port %u (our index 0x%08x, theirs 0x%08x)",
		 c->l.local_port, c->l.kp.local_index, c->l.kp.remote_index);
	say(c, line);
	ret = inj_craft_announce(&c->h, c->o.epoch, c->h.keys.sign_sk, msg, sizeof(msg),
				 &len);
	if (ret < 0)
		return ret;
	n = inj_seal(&c->l, PROTO_CONTROL, c->o.epoch, 0, msg, len, c->dgram,
		     INJ_ANNOUNCE_MAX + PROTO_OVERHEAD);
	snprintf(line, sizeof(line), "sent the announcement of epoch %u", c->o.epoch);
	return send_dgram(c, c->dgram, n, line);
}

static int case_handshake(struct ctx *c)
{
	size_t n = echo_dgram(c, c->o.epoch, 0, c->src);
	int ret = send_dgram(c, c->dgram, n, "sent one valid data packet (ICMP echo request)");

	if (ret < 0)
		return ret;
	drain(c, c->o.timeout_ms, true);
	if (!c->echo_replied) {
		fprintf(stderr, "capinject: no echo reply from %s within %d ms\n",
			c->o.target, c->o.timeout_ms);
		return -ETIMEDOUT;
	}
	return 0;
}

static int case_replay(struct ctx *c)
{
	size_t n = echo_dgram(c, c->o.epoch, 0, c->src);
	int ret = send_dgram(c, c->dgram, n, "sent one valid data packet");

	return ret < 0 ? ret : send_dgram(c, c->dgram, n, "sent the same packet again");
}

static int case_flip(struct ctx *c)
{
	size_t n = echo_dgram(c, c->o.epoch, 0, c->src);

	if (n > PROTO_DATA_HDR_LEN + 7)
		c->dgram[PROTO_DATA_HDR_LEN + 7] ^= 0x10;
	return send_dgram(c, c->dgram, n, "sent a data packet with one ciphertext bit flipped");
}

static int case_truncate(struct ctx *c)
{
	size_t n = echo_dgram(c, c->o.epoch, 0, c->src);

	return send_dgram(c, c->dgram, n < TRUNCATE_TO ? n : TRUNCATE_TO,
			  "sent a data packet cut to 28 bytes");
}

static int case_unknown_index(struct ctx *c)
{
	/* Same peer number and slot, another random part: no such session. */
	uint32_t bogus = c->l.kp.remote_index ^ 0xa5a5a000u;
	size_t n = echo_dgram(c, c->o.epoch, bogus, c->src);

	return send_dgram(c, c->dgram, n, "sent a data packet for an unknown session index");
}

static int case_unlisted_key(struct ctx *c)
{
	struct proto_initiation init;
	struct noise_handshake hs;
	struct noise_static fresh;
	uint8_t sk[PROTO_KEY_LEN];
	int ret;

	randombytes_buf(sk, sizeof(sk));
	ret = noise_static_init(&fresh, sk);
	sodium_memzero(sk, sizeof(sk));
	if (ret < 0 || noise_initiation_create(&hs, &fresh, c->target->tunnel_pk,
					       randombytes_random(), &init) < 0) {
		noise_static_wipe(&fresh);
		return -EIO;
	}
	noise_static_wipe(&fresh);
	noise_handshake_wipe(&hs);
	cookie_add_macs(&c->l.cookie, &init, sizeof(init), 0);
	return send_dgram(c, (const uint8_t *)&init, sizeof(init),
			  "sent an initiation from a key in no token");
}

static int case_bad_epoch(struct ctx *c)
{
	size_t n = echo_dgram(c, c->o.bad_epoch, 0, c->src);
	char line[128];

	snprintf(line, sizeof(line), "sent a data packet stamped with epoch %u",
		 c->o.bad_epoch);
	return send_dgram(c, c->dgram, n, line);
}

static int case_bad_announce(struct ctx *c)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t msg[INJ_ANNOUNCE_MAX];
	size_t len = 0, n;
	char line[128];
	int ret;

	crypto_sign_keypair(pk, sk);
	ret = inj_craft_announce(&c->h, c->o.bad_epoch, sk, msg, sizeof(msg), &len);
	sodium_memzero(sk, sizeof(sk));
	if (ret < 0)
		return ret;
	n = inj_seal(&c->l, PROTO_CONTROL, c->o.epoch, 0, msg, len, c->dgram,
		     INJ_ANNOUNCE_MAX + PROTO_OVERHEAD);
	snprintf(line, sizeof(line),
		 "sent an announcement of epoch %u signed by a wrong key", c->o.bad_epoch);
	return send_dgram(c, c->dgram, n, line);
}

static int case_spoof_source(struct ctx *c)
{
	const struct token *other = c->o.spoof ? inj_host_find(&c->h, c->o.spoof) :
				    inj_host_other(&c->h, c->o.target);
	uint8_t addr[16];
	char line[128];
	size_t n;

	if (!other || !inj_overlay(other, c->o.v6, addr)) {
		fprintf(stderr, "capinject: no host with an overlay address to spoof\n");
		return -ENOENT;
	}
	n = echo_dgram(c, c->o.epoch, 0, addr);
	snprintf(line, sizeof(line), "sent a data packet with %s's inner source address",
		 other->name);
	return send_dgram(c, c->dgram, n, line);
}

/*
 * An error the other host would send about the target's datagram to it,
 * sent by this host from its own address (its inner source check holds):
 * the target must refuse it, the error not coming from the quoted
 * packet's destination.
 */
static int case_forge_icmp(struct ctx *c)
{
	const struct token *other = c->o.spoof ? inj_host_find(&c->h, c->o.spoof) :
				    inj_host_other(&c->h, c->o.target);
	uint8_t addr[16];
	char line[160];
	size_t n;

	if (!other || !inj_overlay(other, c->o.v6, addr)) {
		fprintf(stderr, "capinject: no other host with an overlay address\n");
		return -ENOENT;
	}
	c->pkt_len = inj_craft_unreach(c->o.v6, c->src, c->dst, c->dst, c->o.qsport, addr,
				       c->o.qdport, c->pkt, sizeof(c->pkt));
	n = c->pkt_len ? inj_seal(&c->l, PROTO_DATA, c->o.epoch, 0, c->pkt, c->pkt_len,
				  c->dgram, INJ_ANNOUNCE_MAX + PROTO_OVERHEAD) : 0;
	snprintf(line, sizeof(line), "sent a port unreachable about %s:%u -> %s:%u "
		 "(a datagram to %s)", c->o.target, c->o.qsport, other->name, c->o.qdport,
		 other->name);
	return send_dgram(c, c->dgram, n, line);
}

static const struct {
	const char *name;
	int (*fn)(struct ctx *c);
} cases[] = {
	{ "handshake", case_handshake },
	{ "replay", case_replay },
	{ "flip", case_flip },
	{ "truncate", case_truncate },
	{ "unknown-index", case_unknown_index },
	{ "unlisted-key", case_unlisted_key },
	{ "bad-epoch", case_bad_epoch },
	{ "bad-announce", case_bad_announce },
	{ "spoof-source", case_spoof_source },
	{ "forge-icmp", case_forge_icmp },
};

static int setup(struct ctx *c)
{
	int ret;

	if (inj_host_load(&c->h, c->o.dir) < 0)
		return -EINVAL;
	c->target = inj_host_find(&c->h, c->o.target);
	if (!c->target || strcmp(c->o.target, c->h.self.name) == 0) {
		fprintf(stderr, "capinject: no valid host token for target '%s' in %s/tokens "
			"(or it is this host)\n", c->o.target, c->o.dir);
		return -ENOENT;
	}
	if (!inj_overlay(&c->h.self, c->o.v6, c->src) ||
	    !inj_overlay(c->target, c->o.v6, c->dst)) {
		fprintf(stderr, "capinject: %s or %s has no IPv%c overlay address\n",
			c->h.self.name, c->o.target, c->o.v6 ? '6' : '4');
		return -ENOENT;
	}
	if (!c->o.epoch_set)
		c->o.epoch = c->h.epoch ? c->h.epoch : 1;
	if (c->o.endpoint)
		snprintf(c->endpoint, sizeof(c->endpoint), "%s", c->o.endpoint);
	else if (inj_host_endpoint(&c->h, c->o.target, c->endpoint, sizeof(c->endpoint)) < 0)
		return -ENOENT;
	ret = inj_link_open(&c->l, c->endpoint, c->o.port);
	if (ret < 0) {
		fprintf(stderr, "capinject: socket towards %s (port %u): %s\n", c->endpoint,
			c->o.port, ret == -EINVAL ? "not A.B.C.D:PORT or [V6]:PORT" :
			strerror(-ret));
		return ret;
	}
	c->l.verbose = c->o.verbose;
	c->echo_id = (uint16_t)randombytes_random();
	c->dgram = malloc(INJ_ANNOUNCE_MAX + PROTO_OVERHEAD);
	c->rbuf = malloc(INJ_RECV_MAX);
	return c->dgram && c->rbuf ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	static struct ctx c;
	int (*fn)(struct ctx *) = NULL;
	int ret;

	c.l.fd = -1;
	if (parse(argc, argv, &c.o) < 0)
		return EXIT_USAGE;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(c.o.cse, cases[i].name) == 0)
			fn = cases[i].fn;
	if (!fn) {
		usage_err("unknown case", c.o.cse);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "capinject: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	ret = setup(&c);
	if (ret == 0)
		ret = session(&c);
	if (ret == 0)
		ret = fn(&c);
	if (ret == 0 && c.o.linger_ms)
		drain(&c, c.o.linger_ms, false);
	inj_link_close(&c.l);
	inj_host_free(&c.h);
	free(c.dgram);
	free(c.rbuf);
	return ret == 0 ? 0 : EXIT_FAIL;
}
