/*
 * tools/capctl/cmd_bundle.c - onboarding a host in one file.
 *
 *   capctl host bundle NAME [--out FILE]   at the authority
 *   capctl host join FILE [--state DIR]    on the host
 *
 * A bundle is one JSON document (BUNDLE_FORMAT) holding everything a host
 * needs from the authority: its public key, the signed revocation list,
 * every host token (the host's own and its peers'), every user token and
 * the policy (for the peers' endpoints). Nothing in it is secret: the
 * host's private keys never leave the host. join verifies every object
 * against the bundle's authority, checks that the host's own token
 * carries this host's keys, and stores what is newer than what the host
 * holds, each file atomically, so that running daemons take it in as an
 * update (capd watches the directory and has capshim reload).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "armor.h"
#include "capctl.h"
#include "config.h"
#include "fileio.h"
#include "version.h"

#define BUNDLE_FORMAT "captun-bundle-1"

enum bundle_limit {
	BUNDLE_MAX = 16 << 20,
};

/* Adds the armored text of path to arr (or, with key, to obj); 0 or exit status. */
static int text_of(const char *path, char **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = fileio_read(path, CAPCTL_OBJ_MAX, &buf, &len);

	if (ret < 0)
		return util_io_fail(ret, "read", path);
	*out = (char *)buf;
	return CAPCTL_OK;
}

/* Every token file of DIR/tokens, sorted, into arr. */
static int tokens_of(struct capctl_ctx *ctx, json_t *arr, size_t *nhost, size_t *nuser)
{
	struct dirent **names = NULL;
	char path[PATH_MAX];
	int n, ret = CAPCTL_OK;

	n = scandir(ctx->path_tokens, &names, NULL, alphasort);
	if (n < 0)
		return util_io_fail(-errno, "list", ctx->path_tokens);
	for (int i = 0; i < n; i++) {
		const char *f = names[i]->d_name;
		bool host = strncmp(f, "host-", 5) == 0;
		char *text = NULL;

		if (ret != CAPCTL_OK || (!host && strncmp(f, "user-", 5) != 0) ||
		    strlen(f) < 7 || strcmp(f + strlen(f) - 6, ".token") != 0 ||
		    !util_join(path, sizeof(path), ctx->path_tokens, f))
			continue;
		ret = text_of(path, &text);
		if (ret == CAPCTL_OK && json_array_append_new(arr, json_string(text)) < 0)
			ret = util_fail(CAPCTL_SYS, "", "out of memory");
		*(host ? nhost : nuser) += ret == CAPCTL_OK;
		free(text);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* The host's own token must be there and verify: a bundle without it is useless. */
static int own_token_check(struct capctl_ctx *ctx, const char *name)
{
	struct token_trust trust;
	struct revocation rl;
	struct capctl_obj o;
	enum token_status st, why = TOKEN_OK;
	char path[PATH_MAX];
	int ret;

	if (!ctx_token_path(ctx, KIND_HOST, name, path, sizeof(path)))
		return help_usage("host", "host name too long");
	ret = util_obj_read(path, &o);
	if (ret == -ENOENT)
		return util_fail(CAPCTL_FAIL, "add it with 'capctl host add' (with --pub), or set "
				 "its keys with 'capctl host keys'", "host %s has no token", name);
	if (ret < 0)
		return util_io_fail(ret, "read", path);
	memset(&rl, 0, sizeof(rl));
	if (revlist_read(ctx, &rl, &why) != CAPCTL_OK) {
		util_obj_free(&o);
		return CAPCTL_FAIL;
	}
	memcpy(trust.authority_pk, ctx->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &rl;
	trust.now = ctx->now;
	st = token_verify(o.bin, o.len, WIRE_TYPE_HOST_TOKEN, &trust, NULL);
	util_obj_free(&o);
	revocation_free(&rl);
	if (st != TOKEN_OK)
		return util_fail(CAPCTL_FAIL, "run 'capctl issue' (or 'capctl renew') first",
				 "the token of host %s does not verify: %s", name,
				 token_status_str(st));
	return CAPCTL_OK;
}

/* capctl host bundle NAME [--out FILE] */
int cmd_host_bundle(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	char out_default[PATH_MAX], created[32], *pub = NULL, *list = NULL, *text = NULL;
	const char *name, *out = NULL;
	size_t nhost = 0, nuser = 0;
	json_t *doc = NULL, *tokens = NULL, *policy = NULL;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", lo, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if ((ret = cli_common(ctx, c, "host", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (argc - optind != 1)
		return help_usage("host", "host bundle takes one NAME");
	name = argv[optind];
	if (!token_name_valid(name))
		return help_usage("host", "invalid host name '%s'", name);
	if (!out) {
		snprintf(out_default, sizeof(out_default), "%s.bundle", name);
		out = out_default;
	}
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK ||
	    (ret = ctx_pub_load(ctx)) != CAPCTL_OK ||
	    (ret = own_token_check(ctx, name)) != CAPCTL_OK)
		return ret;
	if ((ret = polfile_load_json(ctx, &policy)) != CAPCTL_OK)
		return ret;
	tokens = json_array();
	if ((ret = text_of(ctx->path_pub, &pub)) != CAPCTL_OK ||
	    (ret = text_of(ctx->path_revlist, &list)) != CAPCTL_OK ||
	    (ret = tokens_of(ctx, tokens, &nhost, &nuser)) != CAPCTL_OK)
		goto out;
	util_time_iso(ctx->now, created);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O}", "format", BUNDLE_FORMAT,
			"host", name, "created", created, "authority", pub,
			"revocation_list", list, "tokens", tokens, "policy", policy);
	text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	ret = util_write_text(out, text, 0644);
	if (ret < 0) {
		ret = util_io_fail(ret, "write", out);
		goto out;
	}
	out_say("wrote %s for host %s: the authority's key, %zu host token%s, %zu user "
		"token%s, the revocation list and the policy\n", out, name, nhost,
		nhost == 1 ? "" : "s", nuser, nuser == 1 ? "" : "s");
	out_say("next: copy it to %s and run 'capctl host join %s' there\n", name, out);
	out_set("bundle", json_string(out));
	out_set("host", json_string(name));
	out_set("host_tokens", json_integer((json_int_t)nhost));
	out_set("user_tokens", json_integer((json_int_t)nuser));
	ret = CAPCTL_OK;
out:
	free(text);
	free(pub);
	free(list);
	json_decref(doc);
	json_decref(tokens);
	json_decref(policy);
	return ret;
}

/* What join works with: the bundle, verified, and the host's keys. */
struct join {
	const char *dir;
	json_t *doc;
	const char *host;
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	struct host_keys keys;
	struct revocation rl;
	uint8_t *rl_bin;
	size_t rl_len;
	size_t stored, kept, peers, users;
};

static int bundle_load(const char *path, struct join *j)
{
	json_error_t jerr;
	const char *fmt, *pub;
	struct wire_key_file kf;
	size_t len = 0;

	j->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j->doc)
		return util_fail(errno == ENOENT ? CAPCTL_SYS : CAPCTL_FAIL,
				 "give the file 'capctl host bundle' wrote", "%s:%d: %s",
				 path, jerr.line, jerr.text);
	fmt = json_string_value(json_object_get(j->doc, "format"));
	j->host = json_string_value(json_object_get(j->doc, "host"));
	pub = json_string_value(json_object_get(j->doc, "authority"));
	if (!fmt || strcmp(fmt, BUNDLE_FORMAT) != 0 || !j->host || !pub ||
	    !token_name_valid(j->host) ||
	    !json_is_array(json_object_get(j->doc, "tokens")) ||
	    !json_is_string(json_object_get(j->doc, "revocation_list")))
		return util_fail(CAPCTL_FAIL, "give the file 'capctl host bundle' wrote",
				 "%s: not a captun bundle (format %s)", path, BUNDLE_FORMAT);
	if (!armor_decode(pub, strlen(pub), NULL, NULL, (uint8_t *)&kf, sizeof(kf), &len) ||
	    len != sizeof(kf) || kf.version != WIRE_VERSION ||
	    kf.kind != WIRE_KEY_AUTHORITY_PUBLIC)
		return util_fail(CAPCTL_FAIL, "make the bundle again", "%s: its authority key "
				 "does not decode", path);
	memcpy(j->authority_pk, kf.pk, sizeof(j->authority_pk));
	return CAPCTL_OK;
}

/* Writes text as it is (armored objects keep their bytes), atomically. */
static int write_exact(const char *path, const char *text)
{
	return fileio_write_atomic(path, text, strlen(text), 0644);
}

/* The serial of the token of kind and name the host holds, 0 if none. */
static uint64_t held_serial(const char *dir, enum wire_type type, const char *name)
{
	char path[PATH_MAX];
	struct capctl_obj o;
	struct token t;
	uint64_t serial = 0;

	snprintf(path, sizeof(path), "%s/tokens/%s-%s.token", dir,
		 type == WIRE_TYPE_HOST_TOKEN ? "host" : "user", name);
	if (util_obj_read(path, &o) < 0)
		return 0;
	if (token_decode(o.bin, o.len, type, &t, NULL))
		serial = t.serial;
	util_obj_free(&o);
	return serial;
}

/* The revocation list of the bundle, verified; it must not be older than the host's. */
static int list_take(struct join *j)
{
	const char *text = json_string_value(json_object_get(j->doc, "revocation_list"));
	enum token_status st;
	struct revocation held;
	char path[PATH_MAX];
	size_t len = 0;
	int ret;

	j->rl_bin = malloc(strlen(text) + 1);
	if (!j->rl_bin)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	if (!armor_decode(text, strlen(text), TOKEN_ARMOR_REVOCATION, NULL, j->rl_bin,
			  strlen(text), &len))
		return util_fail(CAPCTL_FAIL, "make the bundle again",
				 "the bundle's revocation list does not decode");
	j->rl_len = len;
	st = revocation_verify(j->rl_bin, len, j->authority_pk, &j->rl);
	if (st != TOKEN_OK)
		return util_fail(CAPCTL_FAIL, "make the bundle again",
				 "the bundle's revocation list: %s", token_status_str(st));
	snprintf(path, sizeof(path), "%s/revocation.list", j->dir);
	memset(&held, 0, sizeof(held));
	ret = revocation_file_load(path, j->authority_pk, &held, &st);
	if (ret == 0 && held.serial > j->rl.serial) {
		util_note("this host holds a newer revocation list (serial %llu) than the "
			  "bundle's (%llu): kept", (unsigned long long)held.serial,
			  (unsigned long long)j->rl.serial);
		revocation_free(&j->rl);
		j->rl = held;
		j->rl_len = 0;		/* nothing to write */
		return CAPCTL_OK;
	}
	revocation_free(&held);
	return CAPCTL_OK;
}

/* One token of the bundle: verified, then written if newer. */
static int token_take(struct join *j, const char *text, bool *own)
{
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token_trust trust;
	enum token_status st;
	struct token t;
	char label[ARMOR_LABEL_MAX + 1], path[PATH_MAX];
	size_t len = 0;
	int ret;

	*own = false;
	if (!armor_decode(text, strlen(text), NULL, label, bin, sizeof(bin), &len) ||
	    len < 2 || (bin[1] != WIRE_TYPE_HOST_TOKEN && bin[1] != WIRE_TYPE_USER_TOKEN))
		return util_fail(CAPCTL_FAIL, "make the bundle again",
				 "a token of the bundle does not decode");
	memcpy(trust.authority_pk, j->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &j->rl;
	trust.now = util_now();
	st = token_verify(bin, len, bin[1], &trust, &t);
	if (st != TOKEN_OK) {
		if (token_decode(bin, len, bin[1], &t, NULL))
			util_note("token of %s %s skipped: %s",
				  bin[1] == WIRE_TYPE_HOST_TOKEN ? "host" : "user", t.name,
				  token_status_str(st));
		return CAPCTL_OK;
	}
	if (t.type == WIRE_TYPE_HOST_TOKEN && strcmp(t.name, j->host) == 0) {
		if (sodium_memcmp(t.tunnel_pk, j->keys.tunnel_pk, WIRE_PUBKEY_LEN) != 0 ||
		    sodium_memcmp(t.sign_pk, j->keys.sign_pk, WIRE_PUBKEY_LEN) != 0)
			return util_fail(CAPCTL_FAIL, "give the admin this host's host.pub for "
					 "'capctl host keys', then make the bundle again",
					 "the bundle's token for host %s carries other keys than "
					 "this host's (%s/host.key)", j->host, j->dir);
		*own = true;
	}
	if (t.type == WIRE_TYPE_HOST_TOKEN)
		j->peers += !*own;
	else
		j->users++;
	if (t.serial <= held_serial(j->dir, t.type, t.name)) {
		j->kept++;
		return CAPCTL_OK;
	}
	snprintf(path, sizeof(path), "%s/tokens/%s-%s.token", j->dir,
		 t.type == WIRE_TYPE_HOST_TOKEN ? "host" : "user", t.name);
	ret = write_exact(path, text);
	if (ret < 0)
		return util_io_fail(ret, "write", path);
	j->stored++;
	out_add("stored", json_pack("{s:s, s:s, s:I}", "kind",
				    t.type == WIRE_TYPE_HOST_TOKEN ? "host" : "user",
				    "name", t.name, "serial", (json_int_t)t.serial));
	return CAPCTL_OK;
}

/* The authority's key: written the first time, never replaced unless forced. */
static int authority_take(struct join *j, bool force)
{
	const char *pub = json_string_value(json_object_get(j->doc, "authority"));
	uint8_t held[WIRE_PUBKEY_LEN];
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/authority.pub", j->dir);
	ret = keys_authority_pub_load(path, held);
	if (ret == 0 && sodium_memcmp(held, j->authority_pk, sizeof(held)) == 0)
		return CAPCTL_OK;
	if (ret == 0 && !force)
		return util_fail(CAPCTL_FAIL, "this host belongs to another network; --force "
				 "moves it (its old tokens stop verifying)",
				 "%s holds another authority's key", path);
	if (ret < 0 && ret != -ENOENT && !force)
		return util_io_fail(ret, "read", path);
	ret = write_exact(path, pub);
	return ret < 0 ? util_io_fail(ret, "write", path) : CAPCTL_OK;
}

static int join_run(struct join *j, bool force)
{
	json_t *tokens = json_object_get(j->doc, "tokens"), *v, *pol;
	char path[PATH_MAX], *text;
	bool own_seen = false, own;
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "%s/host.key", j->dir);
	ret = keys_host_load(path, &j->keys);
	if (ret < 0)
		return util_fail(ret == -ENOENT ? CAPCTL_FAIL : CAPCTL_SYS,
				 ret == -ENOENT ? "run 'capctl keygen' on this host first, and "
				 "give its host.pub to the admin" : "it must be root's, mode 0600",
				 "%s: %s", path, strerror(-ret));
	if ((ret = list_take(j)) != CAPCTL_OK)
		return ret;
	json_array_foreach(tokens, i, v) {
		if (!json_is_string(v))
			return util_fail(CAPCTL_FAIL, "make the bundle again",
					 "token %zu of the bundle is not text", i);
		ret = token_take(j, json_string_value(v), &own);
		if (ret != CAPCTL_OK)
			return ret;
		own_seen |= own;
	}
	if (!own_seen)
		return util_fail(CAPCTL_FAIL, "renew or issue it at the authority and make the "
				 "bundle again", "the bundle holds no valid token for host %s",
				 j->host);
	if ((ret = authority_take(j, force)) != CAPCTL_OK)
		return ret;
	if (j->rl_len) {
		const char *rl = json_string_value(json_object_get(j->doc, "revocation_list"));

		snprintf(path, sizeof(path), "%s/revocation.list", j->dir);
		ret = write_exact(path, rl);
		if (ret < 0)
			return util_io_fail(ret, "write", path);
	}
	pol = json_object_get(j->doc, "policy");
	if (json_is_object(pol)) {
		snprintf(path, sizeof(path), "%s/policy.json", j->dir);
		text = json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		ret = text ? util_write_text(path, text, 0644) : -ENOMEM;
		free(text);
		if (ret < 0)
			return util_io_fail(ret, "write", path);
	}
	return CAPCTL_OK;
}

/* The host state directory of the host-side verbs: --state, the config's dir, the default. */
const char *ctx_host_dir(const char *opt, char *buf, size_t cap)
{
	const char *conf = getenv("CAPTUN_CONFIG");

	if (opt)
		return opt;
	if (config_value(conf && *conf ? conf : CAPTUN_CONFIG_PATH, "capctl", "dir", buf, cap))
		return buf;
	return CAPTUN_STATE_DIR;
}

/* capctl host join BUNDLE [--state DIR] [--force] */
int cmd_host_join(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct join j;
	const char *state = NULL;
	char buf[PATH_MAX], tokdir[PATH_MAX], id[2 * WIRE_KEY_ID_LEN + 1];
	uint8_t kid[WIRE_KEY_ID_LEN];
	bool force = false;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hs:f", lo, NULL)) != -1) {
		if (c == 's')
			state = optarg;
		else if (c == 'f')
			force = true;
		else if ((ret = cli_common(ctx, c, "host", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (argc - optind != 1)
		return help_usage("host", "host join takes one BUNDLE file");
	memset(&j, 0, sizeof(j));
	j.dir = ctx_host_dir(state, buf, sizeof(buf));
	if (!util_join(tokdir, sizeof(tokdir), j.dir, "tokens"))
		return help_usage("host", "--state path is too long");
	ret = bundle_load(argv[optind], &j);
	if (ret == CAPCTL_OK && (ret = util_mkdir_p(tokdir)) < 0)
		ret = util_io_fail(ret, "create directory", tokdir);
	if (ret == CAPCTL_OK)
		ret = join_run(&j, force);
	if (ret == CAPCTL_OK) {
		keys_key_id(j.authority_pk, kid);
		util_hex(kid, sizeof(kid), id);
		out_say("host %s joined the network of authority %s in %s: %zu token%s "
			"stored, %zu already current; %zu peer%s, %zu user%s, revocation "
			"list serial %llu\n", j.host, id, j.dir, j.stored,
			j.stored == 1 ? "" : "s", j.kept, j.peers, j.peers == 1 ? "" : "s",
			j.users, j.users == 1 ? "" : "s", (unsigned long long)j.rl.serial);
		out_say("next: start the daemons (systemctl enable --now captun-shim "
			"captun-capd); running ones take the new files in by themselves\n");
		out_set("host", json_string(j.host));
		out_set("dir", json_string(j.dir));
		out_set("authority", json_string(id));
		out_set("peers", json_integer((json_int_t)j.peers));
		out_set("users", json_integer((json_int_t)j.users));
		out_set("revocation_serial", json_integer((json_int_t)j.rl.serial));
	}
	keys_host_wipe(&j.keys);
	revocation_free(&j.rl);
	free(j.rl_bin);
	json_decref(j.doc);
	return ret;
}
