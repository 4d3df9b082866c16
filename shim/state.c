/*
 * shim/state.c - what capshim keeps in the host state directory: at start
 * its keys, the authority, the revocation list and every host token
 * (peer.c); and, across restarts, the capability it enforces:
 *
 *   DIR/capability  {"version":1,"epoch":E,"isolated":B,"mask":"1,3",
 *                    "users":[BASE64 USER TOKEN...]}, replaced atomically
 *                    before each new capability is used or announced
 *   DIR/epoch       E again, for tools; the larger of the two is the last
 *                    epoch used, so that none is ever used twice
 *
 * A restarted capshim starts from that capability (never wider: its users'
 * tokens are verified again, and one that no longer verifies isolates the
 * host), or isolated if the file cannot be read, until capd sets the
 * capability of the sessions it knows. Only a first start (neither file)
 * starts at the host grant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>
#include <sodium.h>

#include "fileio.h"
#include "shim.h"

enum state_limit {
	STATE_EPOCH_MAX = 64,		/* bytes of DIR/epoch */
	STATE_CAP_MAX = 1 << 20,	/* bytes of DIR/capability */
	STATE_CAP_VERSION = 1,
	B64_TOKEN = 4 * ((WIRE_TOKEN_MAX + 2) / 3) + 1,
};

/* DIR/epoch: the last epoch, 0 if none; -errno if unreadable. */
static int epoch_read(const struct shim *s, uint32_t *epoch)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned long v = 0;
	int ret;

	*epoch = 0;
	snprintf(path, sizeof(path), "%s/epoch", s->cfg.dir);
	ret = fileio_read(path, STATE_EPOCH_MAX, &buf, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	/* NUL-terminated by fileio_read; digits and a newline, nothing else. */
	ret = len > 0 && strspn((const char *)buf, "0123456789\n") == len &&
	      sscanf((const char *)buf, "%lu", &v) == 1 && v < UINT32_MAX ? 0 : -EINVAL;
	free(buf);
	if (ret == 0)
		*epoch = (uint32_t)v;
	return ret;
}

/* Keys, authority, revocations and peers from the state directory. */
int shim_state_load(struct shim *s)
{
	char path[4096];
	enum token_status st = TOKEN_OK;
	int ret;

	snprintf(path, sizeof(path), "%s/host.key", s->cfg.dir);
	ret = keys_host_load(path, &s->keys);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s: %s%s", path, strerror(-ret),
			 ret == -EPERM ? " (must be owned by root, mode 0600)" : "");
		return ret;
	}
	ret = noise_static_init(&s->stat, s->keys.tunnel_sk);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/authority.pub", s->cfg.dir);
	ret = keys_authority_pub_load(path, s->authority_pk);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s: %s", path, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/revocation.list", s->cfg.dir);
	ret = revocation_file_load(path, s->authority_pk, &s->revoked, &st);
	if (ret == -EKEYREJECTED) {
		shim_log(LOG_ERR, "%s: %s", path, token_status_str(st));
		return ret;
	}
	if (ret < 0 && ret != -ENOENT) {
		shim_log(LOG_ERR, "%s: %s", path,
			 ret == -EINVAL ? "not an armored revocation list" : strerror(-ret));
		return ret;
	}
	ret = shim_peers_load(s);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s/tokens: cannot load host tokens: %s", s->cfg.dir,
			 strerror(-ret));
		return ret;
	}
	ret = epoch_read(s, &s->cap.epoch);
	if (ret < 0)
		shim_log(LOG_ERR, "%s/epoch: %s", s->cfg.dir, strerror(-ret));
	return ret;
}


int shim_cap_persist(struct shim *s, const struct own_cap *c)
{
	char path[4096], b64[B64_TOKEN], mask[4096], text[32], *out;
	json_t *o, *users;
	int n, ret = -ENOMEM;

	users = json_array();
	for (unsigned i = 0; users && i < c->nusers; i++) {
		sodium_bin2base64(b64, sizeof(b64), c->user_tokens[i], c->user_lens[i],
				  sodium_base64_VARIANT_ORIGINAL);
		if (json_array_append_new(users, json_string(b64)) < 0) {
			json_decref(users);
			users = NULL;
		}
	}
	mask_format(&c->mask, mask, sizeof(mask));
	o = users ? json_pack("{s:i, s:I, s:b, s:s, s:o}", "version", STATE_CAP_VERSION,
			      "epoch", (json_int_t)c->epoch, "isolated", c->isolated,
			      "mask", mask, "users", users) : NULL;
	out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!out)
		return ret;
	snprintf(path, sizeof(path), "%s/capability", s->cfg.dir);
	ret = fileio_write_atomic(path, out, strlen(out), 0600);
	free(out);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s: %s: epoch %u not used", path, strerror(-ret), c->epoch);
		return ret;
	}
	snprintf(path, sizeof(path), "%s/epoch", s->cfg.dir);
	n = snprintf(text, sizeof(text), "%u\n", c->epoch);
	if (fileio_write_atomic(path, text, (size_t)n, 0644) < 0)
		shim_log(LOG_WARNING, "%s not updated (DIR/capability holds epoch %u)",
			 path, c->epoch);
	return 0;
}

/*
 * DIR/capability as it was saved: its epoch, isolation and user tokens
 * (malloc'd, the caller frees). -ENOENT if absent, -EBADMSG if damaged.
 */
static int cap_read(const struct shim *s, uint32_t *epoch, bool *isolated,
		    uint8_t **toks, size_t *lens, unsigned *n)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0, i;
	json_t *o, *users, *u;
	json_int_t e;
	int ret;

	*n = 0;
	snprintf(path, sizeof(path), "%s/capability", s->cfg.dir);
	ret = fileio_read(path, STATE_CAP_MAX, &buf, &len);
	if (ret < 0)
		return ret;
	o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	users = json_object_get(o, "users");
	e = json_integer_value(json_object_get(o, "epoch"));
	ret = -EBADMSG;
	if (!json_is_object(o) ||
	    json_integer_value(json_object_get(o, "version")) != STATE_CAP_VERSION ||
	    !json_is_integer(json_object_get(o, "epoch")) || e < 1 || e >= UINT32_MAX ||
	    !json_is_boolean(json_object_get(o, "isolated")) || !json_is_array(users) ||
	    json_array_size(users) > PROTO_ANNOUNCE_USERS_MAX)
		goto out;
	*epoch = (uint32_t)e;
	*isolated = json_is_true(json_object_get(o, "isolated"));
	json_array_foreach(users, i, u) {
		const char *t = json_string_value(u);

		toks[*n] = malloc(WIRE_TOKEN_MAX);
		if (!t || !toks[*n] ||
		    sodium_base642bin(toks[*n], WIRE_TOKEN_MAX, t, strlen(t), NULL,
				      &lens[*n], NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(toks[*n]);
			goto out;
		}
		(*n)++;
	}
	ret = 0;
out:
	json_decref(o);
	if (ret < 0) {
		for (unsigned k = 0; k < *n; k++)
			free(toks[k]);
		*n = 0;
	}
	return ret;
}

int shim_cap_start(struct shim *s, const char **err)
{
	uint8_t *toks[PROTO_ANNOUNCE_USERS_MAX];
	size_t lens[PROTO_ANNOUNCE_USERS_MAX];
	struct token_trust trust;
	uint32_t epoch = 0;
	unsigned n = 0, kept = 0;
	bool isolate = false;
	int ret;

	ret = cap_read(s, &epoch, &isolate, toks, lens, &n);
	if (ret == -ENOENT && s->cap.epoch == 0) {
		s->cap_origin = "first start: the host grant";
	} else if (ret < 0) {
		shim_log(LOG_ERR, "%s/capability: %s: starting isolated until capd sets "
			 "the capability", s->cfg.dir,
			 ret == -EBADMSG ? "damaged" : ret == -ENOENT ?
			 "missing although capshim ran before" : strerror(-ret));
		isolate = true;
		s->cap_origin = "isolated: the last capability could not be read";
	} else {
		s->cap_origin = "the last capability, resumed";
	}
	if (epoch > s->cap.epoch)
		s->cap.epoch = epoch;
	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &s->revoked;
	trust.now = shim_unix_now();
	for (unsigned i = 0; i < n; i++) {
		if (token_verify(toks[i], lens[i], WIRE_TYPE_USER_TOKEN, &trust, NULL) !=
		    TOKEN_OK) {
			isolate = true;
			s->cap_origin = "isolated: a user of the last capability has no "
					"valid token now";
			free(toks[i]);
			continue;
		}
		toks[kept] = toks[i];
		lens[kept++] = lens[i];
	}
	ret = shim_cap_set(s, (const uint8_t *const *)toks, lens, kept, isolate, err);
	for (unsigned i = 0; i < kept; i++)
		free(toks[i]);
	s->cap_confirmed = false;
	return ret;
}
