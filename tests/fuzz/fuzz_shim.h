/*
 * tests/fuzz/fuzz_shim.h - a real struct shim for the capshim harnesses
 * (fuzz_receive, fuzz_shim_ctl): this host ("self", bit 1) and one peer
 * ("peer", bit 2) with host tokens of a fixed authority, one live session
 * with fixed keys, the host grant in force, and a scratch state directory
 * under /tmp removed at exit. Header-only, like fuzz_common.h, so that the
 * Makefile's one-source-per-harness rule keeps working.
 */
#ifndef CAPTUN_TESTS_FUZZ_SHIM_H
#define CAPTUN_TESTS_FUZZ_SHIM_H

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "shim.h"

static struct shim s;
static struct host_keys peer_keys;
static char fuzz_dir[] = "/tmp/captun-fuzz-shim-XXXXXX";

/* A host token for name/bit/addr signed by the fixed authority. */
static inline void fuzz_host_token(const struct authority_key *ak, const char *name,
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

static inline int fuzz_rm_entry(const char *path, const struct stat *st, int flag,
				struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static inline void fuzz_dir_remove(void)
{
	nftw(fuzz_dir, fuzz_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* s as described above; aborts on any failure. */
static inline void fuzz_shim_make(void)
{
	uint8_t seed[32] = { 7 };
	struct authority_key ak;
	struct token pt;
	struct peer *p;
	struct session *se;
	struct noise_keypair kp;
	struct in_addr a4;
	const char *err;
	char tokens[sizeof(fuzz_dir) + 8];

	if (sodium_init() < 0 || crypto_sign_seed_keypair(ak.pk, ak.sk, seed))
		abort();
	memcpy(s.authority_pk, ak.pk, 32);
	if (keys_host_generate(&s.keys) || keys_host_generate(&peer_keys) ||
	    noise_static_init(&s.stat, s.keys.tunnel_sk))
		abort();
	fuzz_host_token(&ak, "self", 1, 2, &s.keys, s.self_token, &s.self_token_len, &s.self);
	/* shim_cap_set saves the capability there; gone at exit. */
	if (!mkdtemp(fuzz_dir) || atexit(fuzz_dir_remove) != 0)
		abort();
	snprintf(tokens, sizeof(tokens), "%s/tokens", fuzz_dir);
	if (mkdir(tokens, 0700) < 0)
		abort();
	s.cfg.dir = fuzz_dir;
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
	fuzz_host_token(&ak, "peer", 2, 3, &peer_keys, p->host_token, &p->host_token_len, &pt);
	strcpy(p->name, "peer");
	p->bit = 2;
	p->token = pt;
	memcpy(p->tunnel_pk, pt.tunnel_pk, 32);
	memcpy(p->sign_pk, pt.sign_pk, 32);
	cookie_maker_init(&p->cookie, p->tunnel_pk);
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
	if (shim_cap_set(&s, NULL, NULL, 0, false, &err) != 0)
		abort();
}

#endif
