/*
 * shim/update.c - policy updates while running: signed objects of the
 * authority (host and user tokens, revocation lists) arrive from the local
 * root (capd, through the control socket) or from peers; each is verified,
 * stored in the host directory if newer than what is there, passed on to
 * the other peers (only what was new, so a flood ends), and the directory
 * reloaded: new grants take effect, revoked peers are cut off, and every
 * capability that rested on a revoked token is withdrawn.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "armor.h"
#include "fileio.h"
#include "shim.h"

static void trust_of(const struct shim *s, struct token_trust *t)
{
	memcpy(t->authority_pk, s->authority_pk, sizeof(t->authority_pk));
	t->revoked = &s->revoked;
	t->now = shim_unix_now();
}

static bool same_place(const struct token *a, const struct token *b)
{
	return a->bit == b->bit && a->flags == b->flags &&
	       memcmp(a->overlay4, b->overlay4, sizeof(a->overlay4)) == 0 &&
	       memcmp(a->overlay6, b->overlay6, sizeof(a->overlay6)) == 0;
}

/* Cuts a peer off: no sessions, no capabilities, no queued packets. */
static void disable(struct shim *s, struct peer *p)
{
	for (int i = 0; i < SHIM_SESSIONS; i++)
		shim_session_clear(&p->sessions[i]);
	p->cur = p->prev = p->next = -1;
	p->hs_pending = false;
	p->hs_slot = -1;
	noise_handshake_wipe(&p->hs);
	shim_queue_drop(s, p);
	for (int i = 0; i < SHIM_CAP_EPOCHS; i++)
		p->caps[i].valid = false;
	p->latest_epoch = 0;
	free(p->announce);
	p->announce = NULL;
	p->disabled = true;
}

/* A newer host token of ours or of a known peer, from the directory. */
static void host_token(struct shim *s, const struct token *t, const uint8_t *bin,
		       size_t len, char *report, size_t cap)
{
	struct peer *p;
	size_t n = strlen(report);

	if (sodium_memcmp(t->tunnel_pk, s->keys.tunnel_pk, PROTO_KEY_LEN) == 0) {
		if (t->serial <= s->self.serial)
			return;
		if (!same_place(t, &s->self)) {
			snprintf(report + n, cap - n, "own token %llu moves bit or "
				 "addresses: restart needed; ",
				 (unsigned long long)t->serial);
			return;
		}
		s->self = *t;
		memcpy(s->self_token, bin, len);
		s->self_token_len = len;
		return;
	}
	p = shim_peer_by_pk(s, t->tunnel_pk);
	if (!p) {
		shim_peer_add(s, t, bin, len, report, cap);
		return;
	}
	if (t->serial <= p->token.serial)
		return;
	if (!same_place(t, &p->token)) {
		snprintf(report + n, cap - n, "host %s moves bit or addresses: "
			 "restart needed; ", p->name);
		return;
	}
	p->token = *t;
	memcpy(p->host_token, bin, len);
	p->host_token_len = len;
}

static void reload_revocation(struct shim *s)
{
	struct revocation rl = { 0 };
	enum token_status st = TOKEN_OK;
	char path[4096];
	int ret;

	snprintf(path, sizeof(path), "%s/revocation.list", s->cfg.dir);
	ret = revocation_file_load(path, s->authority_pk, &rl, &st);
	if (ret < 0) {
		if (ret != -ENOENT)
			shim_log(LOG_WARNING, "%s: kept the old list: %s", path,
				 ret == -EKEYREJECTED ? token_status_str(st) : strerror(-ret));
		return;
	}
	if (rl.serial < s->revoked.serial) {
		revocation_free(&rl);
		return;
	}
	revocation_free(&s->revoked);
	s->revoked = rl;
}

int shim_reload(struct shim *s, char *report, size_t cap)
{
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token_trust trust;
	char dir[4096], path[4600];
	struct dirent *de;
	DIR *d;

	report[0] = '\0';
	reload_revocation(s);
	trust_of(s, &trust);
	snprintf(dir, sizeof(dir), "%s/tokens", s->cfg.dir);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		enum token_status st;
		struct token t;
		size_t len = 0;

		if (strncmp(de->d_name, "host-", 5) != 0 || !strstr(de->d_name, ".token"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (token_file_verify(path, WIRE_TYPE_HOST_TOKEN, &trust, bin, &len,
				      &t, &st) == 0)
			host_token(s, &t, bin, len, report, cap);
	}
	closedir(d);

	if (token_verify(s->self_token, s->self_token_len, WIRE_TYPE_HOST_TOKEN,
			 &trust, NULL) != TOKEN_OK) {
		size_t n = strlen(report);

		shim_log(LOG_ERR, "this host's own token no longer verifies: isolating");
		mask_clear(&s->self.grant);
		snprintf(report + n, cap - n, "own token invalid: isolated; ");
	}
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		bool ok = token_verify(p->host_token, p->host_token_len,
				       WIRE_TYPE_HOST_TOKEN, &trust, NULL) == TOKEN_OK;

		if (!ok && !p->disabled) {
			size_t n = strlen(report);

			shim_log(LOG_WARNING, "peer %s: its host token no longer "
				 "verifies: cut off", p->name);
			disable(s, p);
			snprintf(report + n, cap - n, "cut off %s; ", p->name);
		} else if (ok && p->disabled) {
			p->disabled = false;
			shim_handshake_start(s, p);
		}
		if (!p->disabled)
			shim_peer_caps_recheck(s, p);
	}
	return shim_cap_refresh(s);
}

/* The serial of the token already stored under path, or 0. */
static uint64_t stored_serial(const char *path, enum wire_type type)
{
	const char *label = type == WIRE_TYPE_HOST_TOKEN ? TOKEN_ARMOR_HOST
							 : TOKEN_ARMOR_USER;
	uint8_t *text = NULL, bin[WIRE_TOKEN_MAX];
	size_t len = 0, blen = 0;
	struct token t;
	uint64_t serial = 0;

	if (fileio_read(path, 16384, &text, &len) < 0)
		return 0;
	if (armor_decode((const char *)text, len, label, NULL, bin, sizeof(bin), &blen) &&
	    token_decode(bin, blen, type, &t, NULL))
		serial = t.serial;
	free(text);
	return serial;
}

static int store(const char *path, const char *label, const uint8_t *bin,
		 size_t len)
{
	char *text = NULL;
	size_t tlen = 0;
	int ret;

	ret = armor_encode(label, bin, len, &text, &tlen);
	if (ret < 0)
		return ret;
	ret = fileio_write_atomic(path, text, tlen, 0644);
	free(text);
	return ret;
}

int shim_object_accept(struct shim *s, const uint8_t *bin, size_t len,
		       bool *stored, const char **why)
{
	struct token_trust trust;
	enum token_status st;
	char path[4600];

	*stored = false;
	*why = NULL;
	if (len < 2) {
		*why = "too short";
		return -EINVAL;
	}
	trust_of(s, &trust);
	if (bin[1] == WIRE_TYPE_REVOCATION) {
		struct revocation rl;

		st = revocation_verify(bin, len, s->authority_pk, &rl);
		if (st != TOKEN_OK) {
			*why = token_status_str(st);
			return -EKEYREJECTED;
		}
		if (rl.serial > s->revoked.serial) {
			snprintf(path, sizeof(path), "%s/revocation.list", s->cfg.dir);
			if (store(path, TOKEN_ARMOR_REVOCATION, bin, len) == 0)
				*stored = true;
		}
		revocation_free(&rl);
		return 0;
	}
	if (bin[1] == WIRE_TYPE_HOST_TOKEN || bin[1] == WIRE_TYPE_USER_TOKEN) {
		enum wire_type type = bin[1];
		struct token t;

		st = token_verify(bin, len, type, &trust, &t);
		if (st != TOKEN_OK) {
			*why = token_status_str(st);
			return -EKEYREJECTED;
		}
		snprintf(path, sizeof(path), "%s/tokens/%s-%s.token", s->cfg.dir,
			 type == WIRE_TYPE_HOST_TOKEN ? "host" : "user", t.name);
		if (t.serial > stored_serial(path, type) &&
		    store(path, type == WIRE_TYPE_HOST_TOKEN ? TOKEN_ARMOR_HOST
							     : TOKEN_ARMOR_USER,
			  bin, len) == 0)
			*stored = true;
		return 0;
	}
	*why = "not a token or revocation list";
	return -EINVAL;
}

int shim_publish(struct shim *s, const uint8_t *bin, size_t len,
		 const struct peer *except)
{
	struct proto_object hdr;
	uint8_t *msg;
	int sent = 0;

	if (len + sizeof(hdr) > PROTO_CONTROL_MAX)
		return -EMSGSIZE;
	msg = malloc(len + sizeof(hdr));
	if (!msg)
		return -ENOMEM;
	hdr.ctl = PROTO_CTL_OBJECT;
	hdr.kind = bin[1] == WIRE_TYPE_REVOCATION ? PROTO_OBJECT_REVOCATION
						  : PROTO_OBJECT_TOKEN;
	hdr.len = htobe16((uint16_t)len);
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), bin, len);
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p == except || p->disabled)
			continue;
		if (shim_send_control(s, p, msg, len + sizeof(hdr)) == 0)
			sent++;
	}
	free(msg);
	return sent;
}

void shim_object_receive(struct shim *s, struct peer *from, const uint8_t *msg,
			 size_t len)
{
	struct proto_object hdr;
	const char *why = NULL;
	char report[512];
	bool stored = false;

	if (len < sizeof(hdr)) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		return;
	}
	memcpy(&hdr, msg, sizeof(hdr));
	if (be16toh(hdr.len) != len - sizeof(hdr) ||
	    (hdr.kind != PROTO_OBJECT_TOKEN && hdr.kind != PROTO_OBJECT_REVOCATION)) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		return;
	}
	if (shim_object_accept(s, msg + sizeof(hdr), len - sizeof(hdr), &stored,
			       &why) < 0) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		shim_log(LOG_WARNING, "peer %s: object refused: %s", from->name, why);
		return;
	}
	if (!stored)
		return;
	shim_log(LOG_INFO, "peer %s: stored a newer %s", from->name,
		 hdr.kind == PROTO_OBJECT_REVOCATION ? "revocation list" : "token");
	shim_reload(s, report, sizeof(report));
	if (report[0])
		shim_log(LOG_NOTICE, "reload: %s", report);
	shim_publish(s, msg + sizeof(hdr), len - sizeof(hdr), from);
}
