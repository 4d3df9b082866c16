/*
 * capd/trust.c - what capd believes, all from the host state directory:
 * the authority's public key, the current signed revocation list, this
 * host's own token (found by its public keys) and the token of each
 * logged-in user. Nothing here trusts a file that does not verify.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "capd.h"

/* The trust a verifier needs at time now. */
void capd_trust_get(const struct capd_trust *tr, uint64_t now,
		    struct token_trust *out)
{
	memcpy(out->authority_pk, tr->authority_pk, sizeof(out->authority_pk));
	out->revoked = tr->have_list ? &tr->revoked : NULL;
	out->now = now;
}

/* host.pub if the host has one, else the public halves of host.key. */
static int self_load(struct capd_trust *tr, const char *dir)
{
	struct host_keys hk;
	char path[PATH_MAX];
	int ret;

	if (snprintf(path, sizeof(path), "%s/host.pub", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	ret = keys_host_pub_load(path, &tr->self);
	if (ret != -ENOENT)
		return ret;
	snprintf(path, sizeof(path), "%s/host.key", dir);
	ret = keys_host_load(path, &hk);
	if (ret < 0)
		return ret;
	memcpy(tr->self.tunnel_pk, hk.tunnel_pk, sizeof(tr->self.tunnel_pk));
	memcpy(tr->self.sign_pk, hk.sign_pk, sizeof(tr->self.sign_pk));
	keys_host_wipe(&hk);
	return 0;
}

/*
 * The newest valid host token in DIR/tokens carrying this host's keys.
 * -ENOKEY if there is none.
 */
static int host_find(const struct capd_trust *tr, const char *dir,
		     struct token *out)
{
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token_trust trust;
	char path[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *dh;

	if (snprintf(path, sizeof(path), "%s/tokens", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	dh = opendir(path);
	if (!dh)
		return -errno;
	capd_trust_get(tr, capd_unix_now(), &trust);
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name), binlen = 0;
		enum token_status st;
		struct token t;

		if (len < 12 || strncmp(de->d_name, "host-", 5) != 0 ||
		    strcmp(de->d_name + len - 6, ".token") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/tokens/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (token_file_verify(path, WIRE_TYPE_HOST_TOKEN, &trust, bin,
				      &binlen, &t, &st) < 0)
			continue;
		if (sodium_memcmp(t.sign_pk, tr->self.sign_pk, WIRE_PUBKEY_LEN) != 0 ||
		    sodium_memcmp(t.tunnel_pk, tr->self.tunnel_pk, WIRE_PUBKEY_LEN) != 0)
			continue;
		if (!found || t.serial > out->serial)
			*out = t;
		found = true;
	}
	closedir(dh);
	return found ? 0 : -ENOKEY;
}

/* The list in DIR, if any; a list that is there but does not verify is an error. */
static int list_load(const struct capd_trust *tr, const char *dir,
		     struct revocation *out, bool *present)
{
	enum token_status st = TOKEN_OK;
	char path[PATH_MAX];
	int ret;

	*present = false;
	if (snprintf(path, sizeof(path), "%s/revocation.list", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	ret = revocation_file_load(path, tr->authority_pk, out, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret == -EKEYREJECTED)
		capd_log(LOG_ERR, "%s: %s", path, token_status_str(st));
	else if (ret == -EINVAL)
		capd_log(LOG_ERR, "%s: not an armored revocation list", path);
	else if (ret < 0)
		capd_log(LOG_ERR, "%s: %s", path, strerror(-ret));
	*present = ret == 0;
	return ret;
}

/* Everything at start; any failure is a setup error the log explains. */
int capd_trust_load(struct capd_trust *tr, const char *dir)
{
	char path[PATH_MAX];
	int ret;

	memset(tr, 0, sizeof(*tr));
	snprintf(path, sizeof(path), "%s/authority.pub", dir);
	ret = keys_authority_pub_load(path, tr->authority_pk);
	if (ret < 0) {
		capd_log(LOG_ERR, "%s: %s", path,
			 ret == -EINVAL ? "not an armored authority public key" : strerror(-ret));
		return ret;
	}
	ret = self_load(tr, dir);
	if (ret < 0) {
		capd_log(LOG_ERR, "%s/host.pub or host.key: %s", dir, strerror(-ret));
		return ret;
	}
	ret = list_load(tr, dir, &tr->revoked, &tr->have_list);
	if (ret < 0)
		return ret;
	ret = host_find(tr, dir, &tr->host);
	if (ret < 0) {
		/* Fail closed for traffic, not for the repair of the host. */
		capd_log(LOG_ALERT, "%s/tokens: no valid host token for this host's keys (%s): "
			 "the host is isolated and only break-glass logins are let in",
			 dir, ret == -ENOKEY ? "missing, expired or revoked" : strerror(-ret));
		memset(&tr->host, 0, sizeof(tr->host));
	}
	tr->host_ok = ret == 0;
	tr->host_serial_seen = tr->host.serial;
	return 0;
}

/*
 * After the directory changed: a newer revocation list replaces the one
 * held (never an older one), and this host's token is looked up again; if
 * none verifies any more, the host grant is empty (fail closed). *changed
 * says whether either moved.
 */
int capd_trust_reload(struct capd_trust *tr, const char *dir, bool *changed)
{
	struct revocation rl;
	struct token host;
	bool present = false;
	int ret;

	*changed = false;
	memset(&rl, 0, sizeof(rl));
	ret = list_load(tr, dir, &rl, &present);
	if (ret == 0 && present) {
		if (!tr->have_list || rl.serial > tr->revoked.serial) {
			revocation_free(&tr->revoked);
			tr->revoked = rl;
			tr->have_list = true;
			*changed = true;
		} else {
			revocation_free(&rl);
		}
	}
	ret = host_find(tr, dir, &host);
	if (ret == 0 && !tr->host_ok)
		capd_log(LOG_NOTICE, "this host has a valid token again (serial %llu)",
			 (unsigned long long)host.serial);
	tr->host_ok = ret == 0;
	if (ret == 0 && host.serial != tr->host.serial) {
		tr->host = host;
		*changed = true;
	} else if (ret < 0 && !mask_is_empty(&tr->host.grant)) {
		capd_log(LOG_ERR, "this host's token no longer verifies (%s): its grant is empty",
			 strerror(-ret));
		mask_clear(&tr->host.grant);
		tr->host.serial = 0;
		*changed = true;
	}
	tr->host_serial_seen = tr->host.serial;
	return 0;
}

void capd_trust_free(struct capd_trust *tr)
{
	revocation_free(&tr->revoked);
	tr->have_list = false;
}

/*
 * Verifies DIR/tokens/user-NAME.token for u: u->err is 0 and u->bin,
 * u->tok hold the token when it verifies (authority, signature, validity
 * at now, revocation) and names u; otherwise u->err (and u->st) say why.
 */
void capd_trust_user_verify(const struct capd_trust *tr, const char *dir,
			    struct capd_user *u, uint64_t now)
{
	struct token_trust trust;
	char path[PATH_MAX];
	size_t len = 0;
	int ret;

	u->st = TOKEN_OK;
	if (!token_name_valid(u->name)) {
		u->err = -ENAMETOOLONG;
		return;
	}
	if (snprintf(path, sizeof(path), "%s/tokens/user-%s.token", dir, u->name) >=
	    (int)sizeof(path)) {
		u->err = -ENAMETOOLONG;
		return;
	}
	capd_trust_get(tr, now, &trust);
	ret = token_file_verify(path, WIRE_TYPE_USER_TOKEN, &trust, u->bin, &len,
				&u->tok, &u->st);
	if (ret == 0 && strcmp(u->tok.name, u->name) != 0)
		ret = -EBADE;
	u->len = ret == 0 ? len : 0;
	u->err = ret;
}
