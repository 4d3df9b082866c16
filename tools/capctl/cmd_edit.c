/*
 * tools/capctl/cmd_edit.c - 'capctl host add|keys|del' and
 * 'capctl user add|del': edits of policy.json, each checked by the policy
 * compiler before it is written, then followed by re-issuing the tokens
 * the change affects.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"
#include "version.h"

enum { ENDPOINT_MAX = 128 };

/* What 'host add' and 'user add' collect from their options. */
struct add_args {
	const char *name;
	uint64_t bit;
	bool has_bit;
	json_t *reach;
	json_t *overlay;
	const char *endpoint;
	const char *pub;
};

/*
 * Shared start of every edit: state dir, lock, key (before any change),
 * policy JSON.
 */
static int open_policy(struct capctl_ctx *ctx, json_t **root)
{
	int ret;

	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK ||
	    (ret = ctx_key_load(ctx)) != CAPCTL_OK)
		return ret;
	return polfile_load_json(ctx, root);
}

/*
 * Writes the edited policy, says what changed, and re-issues what it
 * affects.
 */
static int commit(struct capctl_ctx *ctx, json_t *root, const char *done)
{
	struct issue_opts o = {
		.keyless_ok = true,
		.orphans = true,
		.validity_days = CAPCTL_VALIDITY_DAYS,
		.only_kind = -1,
	};
	struct policy *p = NULL;
	int ret;

	ret = polfile_commit(ctx, root, &p);
	if (ret != CAPCTL_OK)
		return ret;
	out_say("%s\n", done);
	out_set("done", json_string(done));
	ret = issue_sync(ctx, p, &o);
	policy_free(p);
	return ret;
}

/*
 * An endpoint without a port gets capshim's default one, the same
 * everywhere: "192.0.2.1" -> "192.0.2.1:51900", "2001:db8::1" or
 * "[2001:db8::1]" -> "[2001:db8::1]:51900". The policy compiler checks
 * the result.
 */
static const char *endpoint_with_port(const char *text, char *buf)
{
	const char *rb = strrchr(text, ']');
	size_t colons = 0;

	for (const char *p = text; *p; p++)
		colons += *p == ':';
	if (text[0] == '[' && rb && rb[1] == '\0')
		snprintf(buf, ENDPOINT_MAX, "%s:%s", text, CAPTUN_PORT_TEXT);
	else if (text[0] != '[' && colons > 1)
		snprintf(buf, ENDPOINT_MAX, "[%s]:%s", text, CAPTUN_PORT_TEXT);
	else if (colons == 0)
		snprintf(buf, ENDPOINT_MAX, "%s:%s", text, CAPTUN_PORT_TEXT);
	else
		return text;
	return buf;
}

/* Names end up in file names and tokens: check them before anything else. */
static int check_name(const char *verb, const char *kind, const char *name)
{
	if (!token_name_valid(name))
		return help_usage(verb,
				  "invalid %s name '%s' (1..%d of letters, digits, '_', '.', '-'; not starting with '.' or '-')",
				  kind, name, WIRE_NAME_MAX);
	return CAPCTL_OK;
}

/* Copies the two public keys of a host.pub into the policy entry, as base64. */
static int set_keys(const char *file, json_t *host)
{
	struct host_pubkeys pk;
	char t[45], s[45];
	int ret;

	ret = keys_host_pub_load(file, &pk);
	if (ret == -EINVAL)
		return util_fail(CAPCTL_FAIL,
				 "give the host.pub that 'capctl keygen' wrote on the host",
				 "%s is not a host public key file", file);
	if (ret < 0)
		return util_io_fail(ret, "read", file);
	keys_pub_to_base64(pk.tunnel_pk, t);
	keys_pub_to_base64(pk.sign_pk, s);
	if (json_object_set_new(host, "tunnel_key", json_string(t)) < 0 ||
	    json_object_set_new(host, "sign_key", json_string(s)) < 0)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	return CAPCTL_OK;
}

/* root.SECTION.NAME, or NULL; says so if SECTION itself is broken. */
static json_t *find_entity(struct capctl_ctx *ctx, json_t *root, const char *section,
		      const char *name)
{
	json_t *sec = polfile_section(root, section);

	if (!sec) {
		util_fail(CAPCTL_FAIL, "fix it, then check it with 'capctl policy check'",
			  "%s: \"%s\" is not an object", ctx->path_policy, section);
		return NULL;
	}
	return json_object_get(sec, name);
}

/* Options of host add / user add; CAPCTL_GO_ON when all is well. */
static int parse_add(struct capctl_ctx *ctx, int argc, char **argv,
		     const char *verb, bool host, struct add_args *a)
{
	static const struct option lo[] = {
		{ "bit", required_argument, NULL, 'b' },
		{ "reach", required_argument, NULL, 'r' },
		{ "overlay", required_argument, NULL, 'o' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "pub", required_argument, NULL, 'p' },
		CAPCTL_PUBLISH_LONGOPT,
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (!host && (c == 'b' || c == 'o' || c == 'e' || c == 'p'))
			return help_usage(verb, "option '--%s' is for hosts only",
					  c == 'b' ? "bit" : c == 'o' ? "overlay"
					  : c == 'e' ? "endpoint" : "pub");
		switch (c) {
		case 'b':
			if (!util_parse_uint(optarg, WIRE_MASK_BITS - 1, &a->bit))
				return help_usage(verb, "--bit takes a number 0..%d",
						  WIRE_MASK_BITS - 1);
			a->has_bit = true;
			break;
		case 'r':
			if (polfile_add_list(a->reach, optarg) < 0)
				return help_usage(verb, "--reach takes names separated by commas, not '%s'",
						  optarg);
			break;
		case 'o':
			if (polfile_add_list(a->overlay, optarg) < 0)
				return help_usage(verb, "bad --overlay '%s'", optarg);
			break;
		case 'e':
			a->endpoint = optarg;
			break;
		case 'p':
			a->pub = optarg;
			break;
		default:
			if ((ret = cli_common(ctx, c, verb, argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (argc - optind != 1)
		return help_usage(verb, argc - optind ? "give exactly one NAME"
						      : "NAME is missing");
	a->name = argv[optind];
	if (host && !a->has_bit)
		return help_usage(verb, "--bit N is required");
	ret = check_name(verb, host ? "host" : "user", a->name);
	return ret == CAPCTL_OK ? CAPCTL_GO_ON : ret;
}

/* host add and user add. parse_add() returns CAPCTL_GO_ON to carry on. */
static int add(struct capctl_ctx *ctx, int argc, char **argv, bool host)
{
	const char *verb = host ? "host add" : "user add";
	const char *section = host ? "hosts" : "users";
	struct add_args a;
	char done[80], ep[ENDPOINT_MAX];
	json_t *root = NULL, *obj;
	int ret;

	memset(&a, 0, sizeof(a));
	a.reach = json_array();
	a.overlay = json_array();
	obj = json_object();
	if (!a.reach || !a.overlay || !obj) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	ret = parse_add(ctx, argc, argv, verb, host, &a);
	if (ret != CAPCTL_GO_ON || (ret = open_policy(ctx, &root)) != CAPCTL_OK)
		goto out;
	if (find_entity(ctx, root, section, a.name)) {
		ret = util_fail(CAPCTL_FAIL, host
				? "change it with 'capctl host keys' or 'capctl grant', or delete it first"
				: "change it with 'capctl grant' / 'capctl revoke', or delete it first",
				"%s %s already exists", kind_str(host ? KIND_HOST : KIND_USER),
				a.name);
		goto out;
	}
	if (!polfile_section(root, section)) {
		ret = CAPCTL_FAIL;
		goto out;
	}
	if ((host && json_object_set_new(obj, "bit", json_integer((json_int_t)a.bit)) < 0) ||
	    json_object_set(obj, "reach", a.reach) < 0 ||
	    (json_array_size(a.overlay) && json_object_set(obj, "overlay", a.overlay) < 0) ||
	    (a.endpoint && json_object_set_new(obj, "endpoint",
					       json_string(endpoint_with_port(a.endpoint, ep))) < 0)) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	if (a.pub && (ret = set_keys(a.pub, obj)) != CAPCTL_OK)
		goto out;
	if (json_object_set(polfile_section(root, section), a.name, obj) < 0) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	snprintf(done, sizeof(done), "added %s %s", kind_str(host ? KIND_HOST : KIND_USER),
		 a.name);
	ret = commit(ctx, root, done);
out:
	json_decref(obj);
	json_decref(a.reach);
	json_decref(a.overlay);
	json_decref(root);
	return ret;
}

/* Positional arguments only: exactly n of them, at argv[optind]. */
static int parse_positional(struct capctl_ctx *ctx, int argc, char **argv,
		      const char *verb, int n, const char *what)
{
	static const struct option lo[] = {
		CAPCTL_PUBLISH_LONGOPT, CAPCTL_COMMON_LONGOPTS, { 0 },
	};
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1)
		if ((ret = cli_common(ctx, c, verb, argv)) != CAPCTL_GO_ON)
			return ret;
	if (argc - optind != n)
		return help_usage(verb, "expected %s", what);
	return CAPCTL_GO_ON;
}

/* host keys NAME FILE: the host generated new keys, or got them late. */
static int host_keys(struct capctl_ctx *ctx, int argc, char **argv)
{
	json_t *root = NULL, *h;
	const char *name, *file;
	char done[80];
	int ret;

	if ((ret = parse_positional(ctx, argc, argv, "host keys", 2, "NAME FILE")) != CAPCTL_GO_ON)
		return ret;
	name = argv[optind];
	file = argv[optind + 1];
	if ((ret = check_name("host keys", "host", name)) != CAPCTL_OK)
		return ret;
	if ((ret = open_policy(ctx, &root)) != CAPCTL_OK)
		return ret;
	h = find_entity(ctx, root, "hosts", name);
	if (!h || !json_is_object(h))
		ret = util_fail(CAPCTL_FAIL, "add it with 'capctl host add NAME --bit N --pub FILE'",
				"no host named %s", name);
	else if ((ret = set_keys(file, h)) == CAPCTL_OK) {
		snprintf(done, sizeof(done), "set the keys of host %s", name);
		ret = commit(ctx, root, done);
	}
	json_decref(root);
	return ret;
}

/* Drops every string equal to name from arr; true if any was there. */
static bool drop_name(json_t *arr, const char *name)
{
	bool dropped = false;

	for (size_t i = json_array_size(arr); i-- > 0;) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (s && strcmp(s, name) == 0) {
			json_array_remove(arr, i);
			dropped = true;
		}
	}
	return dropped;
}

/* A deleted host leaves no dangling references in reach lists and groups. */
static void unreference(json_t *root, const char *name)
{
	const char *secs[] = { "hosts", "users" };
	const char *key;
	json_t *v;

	for (size_t i = 0; i < 2; i++)
		json_object_foreach(json_object_get(root, secs[i]), key, v)
			if (drop_name(polfile_reach(v, false), name))
				util_note("removed %s from the reach of %s %s", name,
					  i == 0 ? "host" : "user", key);
	json_object_foreach(json_object_get(root, "groups"), key, v)
		if (json_is_array(v) && drop_name(v, name))
			util_note("removed %s from group %s", name, key);
}

/*
 * host del / user del: the orphaned token is revoked by the sync that
 * follows.
 */
static int del(struct capctl_ctx *ctx, int argc, char **argv, bool host)
{
	const char *verb = host ? "host del" : "user del";
	const char *section = host ? "hosts" : "users";
	json_t *root = NULL;
	const char *name;
	char done[80];
	int ret;

	if ((ret = parse_positional(ctx, argc, argv, verb, 1, "NAME")) != CAPCTL_GO_ON)
		return ret;
	name = argv[optind];
	if ((ret = check_name(verb, host ? "host" : "user", name)) != CAPCTL_OK)
		return ret;
	if ((ret = open_policy(ctx, &root)) != CAPCTL_OK)
		return ret;
	if (!find_entity(ctx, root, section, name)) {
		ret = util_fail(CAPCTL_FAIL, "see 'capctl status' for the names",
				"no %s named %s", host ? "host" : "user", name);
		goto out;
	}
	json_object_del(json_object_get(root, section), name);
	if (host)
		unreference(root, name);
	snprintf(done, sizeof(done), "deleted %s %s", host ? "host" : "user", name);
	ret = commit(ctx, root, done);
out:
	json_decref(root);
	return ret;
}

/* "host" and "user" take a sub-verb first. */
static int sub_verb(struct capctl_ctx *ctx, int argc, char **argv, bool host)
{
	const char *verb = host ? "host" : "user";

	if (argc < 2)
		return help_usage(verb, host ? "expected add, keys, del, bundle or join"
					     : "expected add or del");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_show(verb);
	if (strcmp(argv[1], "add") == 0)
		return add(ctx, argc - 1, argv + 1, host);
	if (strcmp(argv[1], "del") == 0)
		return del(ctx, argc - 1, argv + 1, host);
	if (host && strcmp(argv[1], "keys") == 0)
		return host_keys(ctx, argc - 1, argv + 1);
	if (host && strcmp(argv[1], "bundle") == 0)
		return cmd_host_bundle(ctx, argc - 1, argv + 1);
	if (host && strcmp(argv[1], "join") == 0)
		return cmd_host_join(ctx, argc - 1, argv + 1);
	return help_usage(verb, "unknown sub-verb '%s %s'", verb, argv[1]);
}

/* capctl host add|keys|del */
int cmd_host(struct capctl_ctx *ctx, int argc, char **argv)
{
	return sub_verb(ctx, argc, argv, true);
}

/* capctl user add|del */
int cmd_user(struct capctl_ctx *ctx, int argc, char **argv)
{
	return sub_verb(ctx, argc, argv, false);
}
