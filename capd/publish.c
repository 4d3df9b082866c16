/*
 * capd/publish.c - the publish verb: signed objects from the admin (capctl
 * publish) or anyone root on this host. Each armored object, a host or
 * user token or a revocation list, is verified against the authority; it
 * is stored in the state directory only if it is newer than what the host
 * holds (a higher serial than the same-named token file, a higher list
 * serial), and only what was stored is sent on to capshim, which spreads
 * it to every peer. Revocation lists go first, so that a token the same
 * request revokes is not stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "armor.h"
#include "capd.h"
#include "fileio.h"

enum publish_kind {
	KIND_UNKNOWN,
	KIND_HOST,
	KIND_USER,
	KIND_LIST,
};

struct item {
	const char *text;
	enum publish_kind kind;
	uint8_t *bin;
	size_t len;
	char name[WIRE_NAME_MAX + 16];
	uint64_t serial;
	bool accepted;
	char why[192];
	char *armored;			/* the stored form, for capshim */
};

static enum publish_kind kind_of(const char *label)
{
	if (strcmp(label, TOKEN_ARMOR_HOST) == 0)
		return KIND_HOST;
	if (strcmp(label, TOKEN_ARMOR_USER) == 0)
		return KIND_USER;
	if (strcmp(label, TOKEN_ARMOR_REVOCATION) == 0)
		return KIND_LIST;
	return KIND_UNKNOWN;
}

static int decode(struct item *it)
{
	char label[ARMOR_LABEL_MAX + 1] = "";
	size_t tlen = strlen(it->text);

	it->bin = malloc(tlen + 1);
	if (!it->bin)
		return -ENOMEM;
	if (!armor_decode(it->text, tlen, NULL, label, it->bin, tlen + 1, &it->len) ||
	    (it->kind = kind_of(label)) == KIND_UNKNOWN)
		snprintf(it->why, sizeof(it->why), "not an armored token or revocation list");
	snprintf(it->name, sizeof(it->name), "%s", "?");
	return 0;
}

/* Writes the object, re-armored, to path; keeps the text for capshim. */
static int store(struct item *it, const char *label, const char *path)
{
	size_t alen = 0;
	int ret;

	ret = armor_encode(label, it->bin, it->len, &it->armored, &alen);
	if (ret == 0)
		ret = fileio_write_atomic(path, it->armored, alen, 0644);
	if (ret < 0)
		snprintf(it->why, sizeof(it->why), "cannot store %s: %s", path, strerror(-ret));
	return ret;
}

static void list_take(struct capd *d, struct item *it)
{
	struct revocation rl;
	enum token_status st;
	char path[PATH_MAX];

	snprintf(it->name, sizeof(it->name), "revocation.list");
	st = revocation_verify(it->bin, it->len, d->trust.authority_pk, &rl);
	if (st != TOKEN_OK) {
		snprintf(it->why, sizeof(it->why), "does not verify: %s", token_status_str(st));
		return;
	}
	it->serial = rl.serial;
	if (d->trust.have_list && rl.serial <= d->trust.revoked.serial) {
		snprintf(it->why, sizeof(it->why), "not newer than the host's list (serial %llu)",
			 (unsigned long long)d->trust.revoked.serial);
		revocation_free(&rl);
		return;
	}
	snprintf(path, sizeof(path), "%s/revocation.list", d->cfg.dir);
	if (store(it, TOKEN_ARMOR_REVOCATION, path) < 0) {
		revocation_free(&rl);
		return;
	}
	revocation_free(&d->trust.revoked);
	d->trust.revoked = rl;
	d->trust.have_list = true;
	it->accepted = true;
}

/* The serial of the token in path, if it holds one that decodes. */
static bool file_serial(const char *path, enum wire_type type, uint64_t *serial)
{
	uint8_t *text = NULL, bin[WIRE_TOKEN_MAX];
	enum token_status why;
	struct token t;
	size_t len = 0, binlen = 0;
	bool ok;

	if (fileio_read(path, 16384, &text, &len) < 0)
		return false;
	ok = armor_decode((const char *)text, len, NULL, NULL, bin, sizeof(bin), &binlen) &&
	     token_decode(bin, binlen, type, &t, &why);
	free(text);
	if (ok)
		*serial = t.serial;
	return ok;
}

static void token_take(struct capd *d, struct item *it, uint64_t now)
{
	enum wire_type type = it->kind == KIND_HOST ? WIRE_TYPE_HOST_TOKEN
						    : WIRE_TYPE_USER_TOKEN;
	const char *prefix = it->kind == KIND_HOST ? "host" : "user";
	struct token_trust trust;
	char path[PATH_MAX], dir[PATH_MAX];
	enum token_status st;
	uint64_t have = 0;
	struct token t;

	capd_trust_get(&d->trust, now, &trust);
	st = token_verify(it->bin, it->len, type, &trust, &t);
	if (st != TOKEN_OK) {
		snprintf(it->name, sizeof(it->name), "%s token", prefix);
		snprintf(it->why, sizeof(it->why), "does not verify: %s", token_status_str(st));
		return;
	}
	snprintf(it->name, sizeof(it->name), "%s-%s", prefix, t.name);
	it->serial = t.serial;
	snprintf(dir, sizeof(dir), "%s/tokens", d->cfg.dir);
	if (snprintf(path, sizeof(path), "%s/%s-%s.token", dir, prefix, t.name) >=
	    (int)sizeof(path)) {
		snprintf(it->why, sizeof(it->why), "path too long");
		return;
	}
	if (file_serial(path, type, &have) && t.serial <= have) {
		snprintf(it->why, sizeof(it->why), "not newer than the host's (serial %llu)",
			 (unsigned long long)have);
		return;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(it->why, sizeof(it->why), "cannot create %s: %s", dir, strerror(errno));
		return;
	}
	if (store(it, it->kind == KIND_HOST ? TOKEN_ARMOR_HOST : TOKEN_ARMOR_USER, path) == 0)
		it->accepted = true;
}

/* Sends what was stored to capshim, which passes it to every peer. */
static bool spread(struct capd *d, struct item *items, size_t n)
{
	json_t *objs = json_array(), *ans = NULL;
	bool ok;

	for (size_t i = 0; objs && i < n; i++)
		if (items[i].accepted)
			json_array_append_new(objs, json_string(items[i].armored));
	if (!objs)
		return false;
	if (capd_shim_request(d, json_pack("{s:s, s:o}", "cmd", "publish", "objects", objs),
			      &ans) < 0) {
		capd_log(LOG_ERR, "publish: %s; stored here, not spread", d->shim.error);
		return false;
	}
	ok = json_is_true(json_object_get(ans, "ok"));
	if (!ok)
		capd_log(LOG_ERR, "publish: capshim refused: %s",
			 json_string_value(json_object_get(ans, "error")) ?: "no reason given");
	json_decref(ans);
	return ok;
}

static json_t *results(const struct item *items, size_t n, size_t accepted, bool spread_ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_pack("{s:s, s:I, s:s}", "object", items[i].name,
				      "serial", (json_int_t)items[i].serial, "result",
				      items[i].accepted ? "accepted" : "ignored");

		if (o && !items[i].accepted)
			json_object_set_new(o, "why", json_string(items[i].why));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:b, s:I, s:I, s:b, s:o*}", "ok", 1, "accepted",
			 (json_int_t)accepted, "ignored", (json_int_t)(n - accepted),
			 "spread", spread_ok, "results", arr);
}

json_t *capd_publish_run(struct capd *d, json_t *objects)
{
	size_t n = json_array_size(objects), accepted = 0;
	uint64_t now = capd_unix_now();
	struct item *items = calloc(n ? n : 1, sizeof(*items));
	json_t *ans = NULL;
	bool spread_ok = true;

	if (!items)
		return capd_error("out of memory");
	for (size_t i = 0; i < n; i++) {
		items[i].text = json_string_value(json_array_get(objects, i));
		if (!items[i].text || decode(&items[i]) < 0) {
			ans = capd_error("out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == KIND_LIST)
			list_take(d, &items[i]);
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == KIND_HOST || items[i].kind == KIND_USER)
			token_take(d, &items[i], now);
	for (size_t i = 0; i < n; i++) {
		accepted += items[i].accepted;
		if (items[i].accepted)
			capd_log(LOG_INFO, "publish: stored %s serial %llu", items[i].name,
				 (unsigned long long)items[i].serial);
	}
	if (accepted) {
		spread_ok = spread(d, items, n);
		capd_refresh(d);
	}
	ans = results(items, n, accepted, spread_ok);
out:
	for (size_t i = 0; i < n; i++) {
		free(items[i].bin);
		free(items[i].armored);
	}
	free(items);
	return ans ? ans : capd_error("out of memory");
}
