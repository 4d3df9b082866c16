/*
 * tools/capctl/cmd_renew.c - 'capctl renew': tokens signed again before
 * they run out. The content stays (grant, bit, addresses, keys); a new
 * serial and a new validity are signed, and nothing is revoked: both
 * serials say the same until the old one expires. Published like every
 * other change (--publish or $CAPTUN_CAPD), renewed tokens spread from
 * host to host; a host that was away gets them when it next reaches a
 * peer. A timer (captun-renew.timer) can run this every day.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "capctl.h"

/* capctl renew [--within DAYS] [--validity DAYS] [--all] [[user:|host:]NAME] */
int cmd_renew(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "within", required_argument, NULL, 'w' },
		{ "validity", required_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		CAPCTL_PUBLISH_LONGOPT,
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct issue_opts o = {
		.renew_only = true,
		.keyless_ok = true,
		.validity_days = CAPCTL_VALIDITY_DAYS,
		.only_kind = -1,
	};
	struct policy *p = NULL;
	const char *subject = NULL;
	uint64_t days;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (!util_parse_uint(optarg, CAPCTL_VALIDITY_MAX_DAYS, &days))
				return help_usage("renew", "--within takes 0..%d days",
						  CAPCTL_VALIDITY_MAX_DAYS);
			o.renew_within_s = days * 86400;
			break;
		case 'v':
			if ((ret = cli_validity("renew", optarg, &o.validity_days)) != CAPCTL_GO_ON)
				return ret;
			break;
		case 'a':
			o.force = true;
			break;
		default:
			if ((ret = cli_common(ctx, c, "renew", argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (argc - optind > 1)
		return help_usage("renew", "give at most one NAME");
	if (argc - optind == 1)
		subject = argv[optind];
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK ||
	    (ret = polfile_parse(ctx, &p)) != CAPCTL_OK)
		return ret;
	if (subject) {
		bool prefixed = strncmp(subject, "user:", 5) == 0 ||
				strncmp(subject, "host:", 5) == 0;
		const char *name = prefixed ? subject + 5 : subject;
		bool host = prefixed ? subject[0] == 'h' : policy_host_find(p, name) != NULL;

		if (!prefixed && policy_host_find(p, name) && policy_user_find(p, name)) {
			policy_free(p);
			return util_fail(CAPCTL_USAGE, "say which with a prefix",
					 "'%s' is both a user and a host: use user:%s or host:%s",
					 name, name, name);
		}
		if (host ? !policy_host_find(p, name) : !policy_user_find(p, name)) {
			policy_free(p);
			return util_fail(CAPCTL_FAIL, "see 'capctl status' for the names",
					 "no user or host named '%s'", name);
		}
		o.only_kind = host ? KIND_HOST : KIND_USER;
		o.only_name = name;
		o.force = true;
	}
	ret = issue_sync(ctx, p, &o);
	policy_free(p);
	return ret;
}
