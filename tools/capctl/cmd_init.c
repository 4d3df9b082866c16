/*
 * tools/capctl/cmd_init.c - 'capctl init' (the authority's state directory)
 * and 'capctl keygen' (a host's own key pairs).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "capctl.h"

static const char empty_policy[] =
	"{\n  \"hosts\": {},\n  \"users\": {},\n  \"groups\": {}\n}";

/* Parses a verb that takes only the common options and no arguments. */
static int parse_bare(struct capctl_ctx *ctx, int argc, char **argv, const char *verb)
{
	static const struct option lo[] = { CAPCTL_COMMON_LONGOPTS, { 0 } };
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1)
		if ((ret = cli_common(ctx, c, verb, argv)) != CAPCTL_GO_ON)
			return ret;
	if (optind < argc)
		return help_usage(verb, "unexpected argument '%s'", argv[optind]);
	return CAPCTL_GO_ON;
}

/* Any file of ours in the directory means it is someone's authority already. */
static int refuse_existing(struct capctl_ctx *ctx)
{
	const char *const files[] = {
		ctx->path_key, ctx->path_pub, ctx->path_policy, ctx->path_state,
		ctx->path_revlist, ctx->path_tokens,
	};
	struct stat sb;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (lstat(files[i], &sb) == 0)
			return util_fail(CAPCTL_FAIL,
					 "refusing to replace an authority; use another --dir, or move the old one away first",
					 "%s is already initialised (%s exists)",
					 ctx->dir, files[i]);
		if (errno != ENOENT)
			return util_io_fail(-errno, "check", files[i]);
	}
	return CAPCTL_OK;
}

/* The directory itself: created 0700, or an existing one tightened to 0700. */
static int make_dir(struct capctl_ctx *ctx)
{
	struct stat sb;
	int ret;

	ret = util_mkdir_p(ctx->dir);
	if (ret < 0)
		return util_io_fail(ret, "create directory", ctx->dir);
	if (stat(ctx->dir, &sb) < 0)
		return util_io_fail(-errno, "check", ctx->dir);
	if ((sb.st_mode & 07777) != 0700) {
		if (chmod(ctx->dir, 0700) < 0)
			return util_io_fail(-errno, "chmod 0700", ctx->dir);
		util_note("set the mode of %s to 0700", ctx->dir);
	}
	return CAPCTL_OK;
}

/*
 * The state files in an order where state.json, the sign of a complete
 * directory, comes last.
 */
static int populate(struct capctl_ctx *ctx)
{
	struct capctl_state st;
	int ret;

	ret = util_mkdir(ctx->path_tokens, 0755, false);
	if (ret < 0)
		return util_io_fail(ret, "create directory", ctx->path_tokens);
	ret = keys_authority_generate(&ctx->ak);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "check the system's random source",
				 "cannot generate the authority key: %s", strerror(-ret));
	ctx->have_sk = true;
	memcpy(ctx->authority_pk, ctx->ak.pk, WIRE_PUBKEY_LEN);
	ctx->have_pk = true;
	ret = keys_authority_save(ctx->path_key, ctx->path_pub, &ctx->ak);
	if (ret < 0)
		return util_io_fail(ret, "write", ctx->path_key);
	ret = util_write_text(ctx->path_policy, empty_policy, 0644);
	if (ret < 0)
		return util_io_fail(ret, "write", ctx->path_policy);
	state_init(&st);
	if (!st.records)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	ret = revlist_write(ctx, &st);
	ctx_key_wipe(ctx);
	if (ret == CAPCTL_OK)
		ret = state_save(ctx, &st);
	state_free(&st);
	return ret;
}

/*
 * capctl init: checked twice, before and under the lock, so two inits cannot
 * race.
 */
int cmd_init(struct capctl_ctx *ctx, int argc, char **argv)
{
	uint8_t id[WIRE_KEY_ID_LEN];
	char hex[2 * WIRE_KEY_ID_LEN + 1];
	int ret;

	if ((ret = parse_bare(ctx, argc, argv, "init")) != CAPCTL_GO_ON)
		return ret;
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK)
		return ret;
	if ((ret = refuse_existing(ctx)) != CAPCTL_OK)
		return ret;
	if ((ret = make_dir(ctx)) != CAPCTL_OK)
		return ret;
	if ((ret = ctx_lock(ctx)) != CAPCTL_OK)
		return ret;
	if ((ret = refuse_existing(ctx)) != CAPCTL_OK)
		return ret;
	ret = populate(ctx);
	ctx_key_wipe(ctx);
	if (ret != CAPCTL_OK)
		return ret;
	keys_key_id(ctx->authority_pk, id);
	util_hex(id, sizeof(id), hex);
	out_say("initialised %s (authority key id %s)\n", ctx->dir, hex);
	out_say("next: run 'capctl keygen' on each host, then "
		"'capctl host add NAME --bit N --pub host.pub --overlay ADDR' here\n");
	out_set("dir", json_string(ctx->dir));
	out_set("authority_key_id", json_string(hex));
	return CAPCTL_OK;
}

/* Host keys are never overwritten: peers know the old public keys. */
static int refuse_file(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return util_fail(CAPCTL_FAIL,
				 "refusing to overwrite host keys; remove it first if you really mean to replace them",
				 "%s already exists", path);
	if (errno != ENOENT)
		return util_io_fail(-errno, "check", path);
	return CAPCTL_OK;
}

/* capctl keygen --out DIR: runs on the host; only host.pub leaves it. */
int cmd_keygen(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	char key[PATH_MAX], pub[PATH_MAX], state[PATH_MAX];
	const char *out = NULL;
	struct host_keys hk;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", lo, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if ((ret = cli_common(ctx, c, "keygen", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (optind < argc)
		return help_usage("keygen", "unexpected argument '%s'", argv[optind]);
	if (!out)
		out = ctx_host_dir(NULL, state, sizeof(state));
	if (!out[0])
		return help_usage("keygen", "--out DIR is empty");
	if (!util_join(key, sizeof(key), out, "host.key") ||
	    !util_join(pub, sizeof(pub), out, "host.pub"))
		return help_usage("keygen", "--out path is too long");
	if ((ret = util_mkdir_p(out)) < 0)
		return util_io_fail(ret, "create directory", out);
	if ((ret = refuse_file(key)) != CAPCTL_OK ||
	    (ret = refuse_file(pub)) != CAPCTL_OK)
		return ret;
	ret = keys_host_generate(&hk);
	if (ret < 0) {
		keys_host_wipe(&hk);
		return util_fail(CAPCTL_SYS, "check the system's random source",
				 "cannot generate host keys: %s", strerror(-ret));
	}
	ret = keys_host_save(key, pub, &hk);
	keys_host_wipe(&hk);
	if (ret < 0)
		return util_io_fail(ret, "write", key);
	out_set("key", json_string(key));
	out_set("pub", json_string(pub));
	out_say("wrote %s (private, 0600: it never leaves this host) and %s\n",
	       key, pub);
	out_say("next: copy %s to the admin, who runs "
	       "'capctl host add NAME --bit N --pub host.pub'\n", pub);
	return CAPCTL_OK;
}
