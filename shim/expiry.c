/*
 * shim/expiry.c - tokens and time. A host whose own token has expired (or
 * was revoked) still starts, isolated: it knows who it is from the newest
 * token the authority signed for its key, sends nothing, and its peers,
 * for whom that token no longer verifies either, answer nothing; once a
 * renewed token arrives (from a peer, capd or 'capctl host join') it takes
 * its place at the next reload. Tokens that expire while capshim runs are
 * noticed within seconds, not at the next file change.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "armor.h"
#include "fileio.h"
#include "shim.h"

enum { EXPIRY_CHECK_NS = 2000000000ull };

/* A host token file decoded, and its signature checked at its own time. */
static bool signed_by_authority(const struct shim *s, const char *path, uint8_t *bin,
				size_t *len, struct token *t)
{
	struct token_trust trust;
	uint8_t *text = NULL;
	size_t tlen = 0;
	bool ok;

	if (fileio_read(path, 16384, &text, &tlen) < 0)
		return false;
	ok = armor_decode((const char *)text, tlen, TOKEN_ARMOR_HOST, NULL, bin,
			  WIRE_TOKEN_MAX, len) &&
	     token_decode(bin, *len, WIRE_TYPE_HOST_TOKEN, t, NULL);
	free(text);
	if (!ok)
		return false;
	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = NULL;
	trust.now = t->not_before;	/* the signature, not the time */
	return token_verify(bin, *len, WIRE_TYPE_HOST_TOKEN, &trust, NULL) == TOKEN_OK;
}

/*
 * No valid token for this host's key: take the newest one the authority
 * signed for it, whatever its validity, with an empty grant. -ENOKEY if
 * the authority never signed one (the host was never added).
 */
int shim_self_fallback(struct shim *s)
{
	char dir[4096], path[4600];
	uint8_t bin[WIRE_TOKEN_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tokens", s->cfg.dir);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct token t;
		size_t len = 0;

		if (strncmp(de->d_name, "host-", 5) != 0 || !strstr(de->d_name, ".token"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!signed_by_authority(s, path, bin, &len, &t) ||
		    sodium_memcmp(t.tunnel_pk, s->keys.tunnel_pk, PROTO_KEY_LEN) != 0 ||
		    (found && t.serial <= s->self.serial))
			continue;
		s->self = t;
		memcpy(s->self_token, bin, len);
		s->self_token_len = len;
		found = true;
	}
	closedir(d);
	if (!found)
		return -ENOKEY;
	mask_clear(&s->self.grant);
	shim_log(LOG_ALERT, "this host's token (serial %llu) is expired, revoked or not yet "
		 "valid: host %s starts isolated until a renewed token arrives",
		 (unsigned long long)s->self.serial, s->self.name);
	return 0;
}

/* Every few seconds: a token that expired since makes the directory reload. */
void shim_expiry_tick(struct shim *s)
{
	uint64_t now = shim_unix_now();
	bool due = !mask_is_empty(&s->self.grant) && now >= s->self.not_after;
	char report[1024];

	if (s->now - s->expiry_ns < EXPIRY_CHECK_NS)
		return;
	s->expiry_ns = s->now;
	for (size_t i = 0; !due && i < s->npeers; i++)
		due = !s->peers[i].disabled && now >= s->peers[i].token.not_after;
	if (!due)
		return;
	shim_log(LOG_NOTICE, "a host token expired: reloading");
	if (shim_reload(s, report, sizeof(report)) == 0 && report[0])
		shim_log(LOG_NOTICE, "reload: %s", report);
}
