/*
 * tools/capctl/cmd_policy.c - 'capctl policy check' (validate and summarise
 * a policy file) and 'capctl issue' (issue what the policy calls for).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capctl.h"

/* A grant as "2-3 (host2,host3)"; NULL when out of memory. */
static char *describe(const struct policy *p, const struct mask *m)
{
	char *ranges = polfile_mask_ranges(m), *names = polfile_mask_names(p, m);
	char *out = NULL;

	if (ranges && names && asprintf(&out, "%s (%s)", ranges, names) < 0)
		out = NULL;
	free(ranges);
	free(names);
	return out;
}

/* What the policy compiles to, so that the admin can check the masks. */
static int summarise(const char *path, const struct policy *p)
{
	struct util_table hosts, users, groups;
	int ret = 0;

	util_table_init(&hosts, 4);
	util_table_init(&users, 2);
	util_table_init(&groups, 2);
	util_table_row(&hosts, (const char *const[]){ "NAME", "BIT", "KEYS", "GRANT" });
	util_table_row(&users, (const char *const[]){ "NAME", "GRANT" });
	util_table_row(&groups, (const char *const[]){ "NAME", "MEMBERS" });
	for (size_t i = 0; i < p->nhosts; i++) {
		const struct policy_host *h = &p->hosts[i];
		char bit[8], *g = describe(p, &h->grant);

		snprintf(bit, sizeof(bit), "%u", h->bit);
		util_table_row(&hosts, (const char *const[]){
			h->name, bit, h->has_keys ? "yes" : "no", g ? g : "?" });
		ret |= !g;
		free(g);
	}
	for (size_t i = 0; i < p->nusers; i++) {
		char *g = describe(p, &p->users[i].grant);

		util_table_row(&users, (const char *const[]){ p->users[i].name, g ? g : "?" });
		ret |= !g;
		free(g);
	}
	for (size_t i = 0; i < p->ngroups; i++) {
		char *g = describe(p, &p->groups[i].members);

		util_table_row(&groups, (const char *const[]){ p->groups[i].name, g ? g : "?" });
		ret |= !g;
		free(g);
	}
	printf("%s: valid: %zu host%s, %zu user%s, %zu group%s\n", path,
	       p->nhosts, p->nhosts == 1 ? "" : "s", p->nusers,
	       p->nusers == 1 ? "" : "s", p->ngroups, p->ngroups == 1 ? "" : "s");
	if (p->nhosts) {
		printf("hosts:\n");
		ret |= util_table_print(&hosts, "  ") < 0;
	}
	if (p->nusers) {
		printf("users:\n");
		ret |= util_table_print(&users, "  ") < 0;
	}
	if (p->ngroups) {
		printf("groups:\n");
		ret |= util_table_print(&groups, "  ") < 0;
	}
	util_table_free(&hosts);
	util_table_free(&users);
	util_table_free(&groups);
	return ret ? util_fail(CAPCTL_SYS, "", "out of memory") : CAPCTL_OK;
}

/* capctl policy check [FILE]: exit 1 invalid, 3 unreadable. */
static int check(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = { CAPCTL_COMMON_LONGOPTS, { 0 } };
	struct policy_error err;
	struct policy *p = NULL;
	const char *path;
	struct stat sb;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1)
		if ((ret = cli_common(ctx, c, "policy", argv)) != CAPCTL_GO_ON)
			return ret;
	if (argc - optind > 1)
		return help_usage("policy", "give at most one FILE");
	if (argc - optind == 1) {
		path = argv[optind];
	} else {
		if ((ret = ctx_resolve(ctx)) != CAPCTL_OK)
			return ret;
		path = ctx->path_policy;
	}
	if (stat(path, &sb) < 0)
		return util_io_fail(-errno, "read", path);
	memset(&err, 0, sizeof(err));
	if (!policy_parse_file(path, &p, &err))
		return util_fail(CAPCTL_FAIL, "fix it and run 'capctl policy check' again",
				 "%s", err.text);
	ret = summarise(path, p);
	policy_free(p);
	return ret;
}

/* capctl policy check */
int cmd_policy(struct capctl_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return help_usage("policy", "expected 'check'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_show("policy");
	if (strcmp(argv[1], "check") == 0)
		return check(ctx, argc - 1, argv + 1);
	return help_usage("policy", "unknown sub-verb 'policy %s'", argv[1]);
}

/* capctl issue [--validity DAYS] [--force] */
int cmd_issue(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "validity", required_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
		CAPCTL_PUBLISH_LONGOPT,
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct issue_opts o = {
		.orphans = true,
		.validity_days = CAPCTL_VALIDITY_DAYS,
		.only_kind = -1,
	};
	struct policy *p = NULL;
	uint64_t days;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!util_parse_uint(optarg, CAPCTL_VALIDITY_MAX_DAYS, &days) ||
			    days == 0)
				return help_usage("issue", "--validity takes 1..%d days",
						  CAPCTL_VALIDITY_MAX_DAYS);
			o.validity_days = (unsigned)days;
			break;
		case 'f':
			o.force = true;
			break;
		default:
			if ((ret = cli_common(ctx, c, "issue", argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (optind < argc)
		return help_usage("issue", "unexpected argument '%s'", argv[optind]);
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK ||
	    (ret = polfile_parse(ctx, &p)) != CAPCTL_OK)
		return ret;
	ret = issue_sync(ctx, p, &o);
	policy_free(p);
	return ret;
}
