/*
 * tests/fuzz/fuzz_receive.c - capshim's receive path, from the first byte
 * of a datagram to delivery: a real struct shim with one peer and one live
 * session. The first input byte picks how far the rest may get:
 *
 *   0  raw datagram (header checks, handshake parsers, index lookup)
 *   1  the rest is a data plaintext, sealed under the session (inner
 *      packet parsing, source/destination/epoch/capability checks)
 *   2  the rest is a control plaintext, sealed (control dispatch)
 *   3  the rest is an announcement body, signed with the peer's real key
 *      and sealed (token and mask parsing behind the signature)
 *   4  the rest is a handshake message (148 or 92 bytes taken, type set
 *      by length) with valid macs from the peer's side, so that it gets
 *      through the queue, the cookie check and the per-source budget
 *      to the Noise code
 *
 * Handshake messages are queued: every input ends with a drain.
 * Run with -close_fd_mask=2: refusals are logged to stderr.
 */
#include <endian.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shim.h"

static struct shim s;
static struct host_keys peer_keys;
static uint64_t counter;
static uint32_t sources;

/* A host token for name/bit/addr signed by the fixed authority. */
static void host_token(const struct authority_key *ak, const char *name,
		       unsigned bit, uint8_t last, const struct host_keys *hk,
		       uint8_t *out, size_t *len, struct token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = WIRE_TYPE_HOST_TOKEN;
	strcpy(t->name, name);
	t->bit = (uint16_t)bit;
	t->flags = WIRE_HOST_OVERLAY4 | WIRE_HOST_OVERLAY6;
	t->overlay4[0] = 10;
	t->overlay4[1] = 77;
	t->overlay4[3] = last;
	t->overlay6[0] = 0xfd;
	t->overlay6[1] = 0x77;
	t->overlay6[15] = last;
	memcpy(t->tunnel_pk, hk->tunnel_pk, 32);
	memcpy(t->sign_pk, hk->sign_pk, 32);
	mask_fill(&t->grant);
	t->serial = bit + 1;
	t->not_before = 0;
	t->not_after = UINT64_MAX / 2;
	if (token_sign(t, ak, out, WIRE_TOKEN_MAX, len) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/captun-fuzz-receive-XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void dir_remove(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32] = { 7 };
	struct authority_key ak;
	struct token pt;
	struct peer *p;
	struct session *se;
	struct noise_keypair kp;
	struct in_addr a4;
	const char *err;

	if (sodium_init() < 0 || crypto_sign_seed_keypair(ak.pk, ak.sk, seed))
		abort();
	memcpy(s.authority_pk, ak.pk, 32);
	if (keys_host_generate(&s.keys) || keys_host_generate(&peer_keys) ||
	    noise_static_init(&s.stat, s.keys.tunnel_sk))
		abort();
	host_token(&ak, "self", 1, 2, &s.keys, s.self_token, &s.self_token_len, &s.self);
	/* shim_cap_set saves the capability there; gone at exit. */
	if (!mkdtemp(dir) || atexit(dir_remove) != 0)
		abort();
	s.cfg.dir = dir;
	s.cfg.mtu = 1416;
	s.tun.fd = s.udp4.fd = s.udp6.fd = s.epfd = -1;
	if (conntrack_create(&s.ct, 1024) || shim_datapath_init(&s))
		abort();

	s.peers = calloc(1, sizeof(*s.peers));
	s.addr_table_size = 16;
	s.addr_table = calloc(16, sizeof(*s.addr_table));
	if (!s.peers || !s.addr_table)
		abort();
	s.npeers = 1;
	p = &s.peers[0];
	host_token(&ak, "peer", 2, 3, &peer_keys, p->host_token, &p->host_token_len, &pt);
	strcpy(p->name, "peer");
	p->bit = 2;
	p->token = pt;
	memcpy(p->tunnel_pk, pt.tunnel_pk, 32);
	memcpy(p->sign_pk, pt.sign_pk, 32);
	memcpy(&a4, pt.overlay4, sizeof(a4));
	inet_addr_from4(&p->overlay4, &a4);
	memcpy(&p->overlay6, pt.overlay6, 16);
	p->has4 = p->has6 = true;
	p->cur = 0;
	p->prev = p->next = p->hs_slot = -1;
	p->mtu = 1416;
	se = &p->sessions[0];
	memset(&kp, 0, sizeof(kp));
	kp.initiator = true;
	kp.local_index = shim_index_make(&s, p, 0);
	memset(kp.recv, 0x42, sizeof(kp.recv));
	memset(kp.send, 0x43, sizeof(kp.send));
	if (shim_session_install(&s, se, &kp, true, shim_now_ns()) < 0)
		abort();
	keys_authority_wipe(&ak);
	return shim_cap_set(&s, NULL, NULL, 0, false, &err) == 0 ? 0 : 1;
}

/* Seals plaintext as the peer would, into buf; returns the datagram length. */
static size_t seal(uint8_t type, uint32_t epoch, const uint8_t *pt, size_t len,
		   uint8_t *buf)
{
	struct session *se = &s.peers[0].sessions[0];
	struct proto_data_hdr hdr = { .type = type };
	uint8_t nonce[12] = { 0 };
	unsigned long long clen = 0;

	hdr.receiver = htobe32(se->kp.local_index);
	hdr.counter = htobe64(counter);
	hdr.epoch = htobe32(epoch);
	noise_nonce(counter, nonce);
	counter++;
	memcpy(buf, &hdr, sizeof(hdr));
	crypto_aead_chacha20poly1305_ietf_encrypt(buf + sizeof(hdr), &clen, pt, len,
						  buf, sizeof(hdr), NULL, nonce,
						  se->kp.recv);
	return sizeof(hdr) + (size_t)clen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[PROTO_CONTROL_MAX + 256], pt[PROTO_CONTROL_MAX + 128];
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct peer *p = &s.peers[0];
	size_t len;

	if (size < 1 || size > PROTO_CONTROL_MAX)
		return 0;
	s.now = shim_now_ns();
	switch (data[0] % 5) {
	case 0:
		memcpy(buf, data + 1, size - 1);
		len = size - 1;
		break;
	case 1:
		len = seal(PROTO_DATA, p->latest_epoch, data + 1, size - 1, buf);
		break;
	case 2:
		len = seal(PROTO_CONTROL, 1, data + 1, size - 1, buf);
		break;
	case 4: {
		struct cookie_maker m;
		size_t n = size - 1 >= sizeof(struct proto_initiation) ?
			   sizeof(struct proto_initiation) : sizeof(struct proto_response);

		if (size - 1 < n)
			return 0;
		memcpy(buf, data + 1, n);
		buf[0] = n == sizeof(struct proto_initiation) ? PROTO_INITIATION : PROTO_RESPONSE;
		buf[1] = buf[2] = buf[3] = 0;
		cookie_maker_init(&m, s.stat.pk);
		cookie_add_macs(&m, buf, n, s.now);
		len = n;
		/* A new source each time, and no load: on to the DHs. */
		from.sin_addr.s_addr = htonl(++sources);
		s.hsq.under_load_until_ns = 0;
		s.hsq.dh_in_window = 0;
		break;
	}
	default: {
		crypto_sign_state st;
		size_t n = size - 1;

		memcpy(pt, data + 1, n);
		pt[0] = PROTO_CTL_ANNOUNCE;
		crypto_sign_init(&st);
		crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
				   sizeof(PROTO_ANNOUNCE_CONTEXT) - 1);
		crypto_sign_update(&st, pt, n);
		crypto_sign_final_create(&st, pt + n, NULL, peer_keys.sign_sk);
		len = seal(PROTO_CONTROL, 1, pt, n + WIRE_SIG_LEN, buf);
		break;
	}
	}
	shim_rx_datagram(&s, buf, len, (const struct sockaddr *)&from, sizeof(from));
	while (shim_handshake_drain(&s))
		;
	return 0;
}
