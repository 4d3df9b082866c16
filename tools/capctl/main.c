/*
 * tools/capctl/main.c - capctl's entry point: global options, verb
 * dispatch, and the option handling every verb shares.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "capctl.h"
#include "version.h"

static const struct verb {
	const char *name;
	int (*run)(struct capctl_ctx *ctx, int argc, char **argv);
} verbs[] = {
	{ "init", cmd_init },
	{ "keygen", cmd_keygen },
	{ "host", cmd_host },
	{ "user", cmd_user },
	{ "policy", cmd_policy },
	{ "issue", cmd_issue },
	{ "grant", cmd_grant },
	{ "revoke", cmd_revoke },
	{ "token", cmd_token },
	{ "status", cmd_status },
	{ "shim", cmd_shim },
	{ "publish", cmd_publish },
	{ "audit", cmd_audit },
	{ "why", cmd_why },
	{ "renew", cmd_renew },
	{ "metrics", cmd_metrics },
};

/* --validity DAYS of issue and renew: CAPCTL_GO_ON, or the usage error. */
int cli_validity(const char *verb, const char *arg, unsigned *days)
{
	uint64_t v;

	if (!util_parse_uint(arg, CAPCTL_VALIDITY_MAX_DAYS, &v) || v == 0)
		return help_usage(verb, "--validity takes 1..%d days", CAPCTL_VALIDITY_MAX_DAYS);
	*days = (unsigned)v;
	return CAPCTL_GO_ON;
}

/*
 * Called from each verb's getopt_long loop for what it does not handle
 * itself: --dir, --help, unknown options and missing arguments. Returns
 * CAPCTL_GO_ON to keep parsing, or the exit status.
 */
int cli_common(struct capctl_ctx *ctx, int c, const char *verb, char **argv)
{
	switch (c) {
	case 'D':
		ctx->dir_opt = optarg;
		return CAPCTL_GO_ON;
	case 'U':
		ctx->publish_opt = optarg;
		return CAPCTL_GO_ON;
	case 'J':
		out_json_set(true);
		return CAPCTL_GO_ON;
	case 'h':
		return help_show(verb);
	case ':':
		return help_usage(verb, "option '%s' needs an argument",
				  argv[optind - 1]);
	default:
		if (optopt)
			return help_usage(verb, "unknown option '-%c'", optopt);
		return help_usage(verb, "unknown option '%s'", argv[optind - 1]);
	}
}

/* capctl help [VERB [SUB-VERB]] [--json] */
static int help(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[argc - 1], "--json") == 0) {
		out_json_set(true);
		argc--;
	}
	if (argc > 3)
		return help_usage("help", "too many arguments");
	return help_show(argc > 1 ? argv[1] : NULL);
}

/* argv[0] is the verb. */
static int dispatch(struct capctl_ctx *ctx, int argc, char **argv)
{
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			return verbs[i].run(ctx, argc, argv);
	return help_usage(NULL, "unknown verb '%s'", argv[0]);
}

/* Global options come before the verb: --dir DIR, --help, --version. */
int main(int argc, char **argv)
{
	struct capctl_ctx ctx;
	int i = 1, ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.lock_fd = -1;
	if (sodium_init() < 0)
		return util_fail(CAPCTL_SYS, "check the system's random source",
				 "cannot initialise libsodium");
	ctx.now = util_now();
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return help_show(NULL);
		if (strcmp(argv[i], "--version") == 0) {
			puts(CAPTUN_VERSION_LINE("capctl"));
			return CAPCTL_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			out_json_set(true);
			i++;
			continue;
		}
		if (strncmp(argv[i], "--dir=", 6) == 0) {
			ctx.dir_opt = argv[i++] + 6;
		} else if (strcmp(argv[i], "--dir") == 0) {
			if (i + 1 >= argc)
				return help_usage(NULL, "option '--dir' needs an argument");
			ctx.dir_opt = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			return help_usage(NULL, "unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		return help_usage(NULL, "no verb given");
	ret = dispatch(&ctx, argc - i, argv + i);
	out_flush(ret);
	ctx_free(&ctx);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return ret;
		return util_fail(CAPCTL_SYS, "check where the output goes",
				 "cannot write the output: %s", strerror(errno));
	}
	return ret;
}
