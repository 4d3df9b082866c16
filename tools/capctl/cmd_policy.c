/*
 * tools/capctl/cmd_policy.c - 'capctl policy check' (validate and summarise
 * a policy file) and 'capctl issue' (issue what the policy calls for).
 */
#include <arpa/inet.h>
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

/* "10.77.0.1 fd77::1", or "-". */
static void overlay_text(const struct policy_host *h, char *out, size_t cap)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";

	if (h->has_overlay4)
		inet_ntop(AF_INET, &h->overlay4, a4, sizeof(a4));
	if (h->has_overlay6)
		inet_ntop(AF_INET6, &h->overlay6, a6, sizeof(a6));
	snprintf(out, cap, "%s%s%s", a4, a4[0] && a6[0] ? " " : "",
		 a4[0] || a6[0] ? a6 : "-");
}

/* The summary as JSON (--json). */
static void summary_json(const char *path, const struct policy *p, size_t incomplete)
{
	for (size_t i = 0; i < p->nhosts; i++) {
		const struct policy_host *h = &p->hosts[i];
		char ov[80], *g = polfile_mask_ranges(&h->grant);

		overlay_text(h, ov, sizeof(ov));
		out_add("hosts", json_pack("{s:s, s:i, s:b, s:s, s:s?, s:o}", "name", h->name,
					   "bit", (int)h->bit, "keys", h->has_keys,
					   "overlay", ov, "grant", g,
					   "grant_names", polfile_mask_names_json(p, &h->grant)));
		free(g);
	}
	for (size_t i = 0; i < p->nusers; i++) {
		char *g = polfile_mask_ranges(&p->users[i].grant);

		out_add("users", json_pack("{s:s, s:s?, s:o}", "name", p->users[i].name,
					   "grant", g, "grant_names",
					   polfile_mask_names_json(p, &p->users[i].grant)));
		free(g);
	}
	for (size_t i = 0; i < p->ngroups; i++)
		out_add("groups", json_pack("{s:s, s:o}", "name", p->groups[i].name, "members",
					    polfile_mask_names_json(p, &p->groups[i].members)));
	out_set("file", json_string(path));
	out_set("complete", json_boolean(incomplete == 0));
}

/* What the policy compiles to, so that the admin can check the masks. */
static int summarise(const char *path, const struct policy *p, size_t incomplete)
{
	struct util_table hosts, users, groups;
	int ret = 0;

	if (out_json()) {
		summary_json(path, p, incomplete);
		return CAPCTL_OK;
	}
	util_table_init(&hosts, 5);
	util_table_init(&users, 2);
	util_table_init(&groups, 2);
	util_table_row(&hosts, (const char *const[]){ "NAME", "BIT", "KEYS", "OVERLAY", "GRANT" });
	util_table_row(&users, (const char *const[]){ "NAME", "GRANT" });
	util_table_row(&groups, (const char *const[]){ "NAME", "MEMBERS" });
	for (size_t i = 0; i < p->nhosts; i++) {
		const struct policy_host *h = &p->hosts[i];
		char bit[8], ov[80], *g = describe(p, &h->grant);

		snprintf(bit, sizeof(bit), "%u", h->bit);
		overlay_text(h, ov, sizeof(ov));
		util_table_row(&hosts, (const char *const[]){
			h->name, bit, h->has_keys ? "yes" : "no", ov, g ? g : "?" });
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
	printf("%s: %s: %zu host%s, %zu user%s, %zu group%s\n", path,
	       incomplete ? "valid but incomplete" : "valid",
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

/*
 * A host without an overlay address compiles, but no peer can send to
 * it: the policy is not ready to deploy. Each such host is named.
 */
static size_t incomplete_hosts(const struct policy *p, bool partial)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nhosts; i++) {
		const struct policy_host *h = &p->hosts[i];

		if (h->has_overlay4 || h->has_overlay6)
			continue;
		n++;
		if (partial)
			util_note("host %s has no overlay address yet (hosts.%s.overlay)",
				  h->name, h->name);
		else
			util_fail(CAPCTL_FAIL, "give it one ('capctl host add --overlay', or "
				  "hosts.NAME.overlay), or check with --partial while the policy "
				  "is being written", "hosts.%s: no overlay address: no peer can "
				  "send to it", h->name);
	}
	return n;
}

/* capctl policy check [--partial] [FILE]: exit 1 invalid, 3 unreadable. */
static int check(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "partial", no_argument, NULL, 'p' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct policy_error err;
	struct policy *p = NULL;
	const char *path;
	struct stat sb;
	bool partial = false;
	size_t incomplete;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1)
		if (c == 'p')
			partial = true;
		else if ((ret = cli_common(ctx, c, "policy", argv)) != CAPCTL_GO_ON)
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
	incomplete = incomplete_hosts(p, partial);
	ret = summarise(path, p, incomplete);
	policy_free(p);
	if (ret == CAPCTL_OK && incomplete && !partial)
		ret = CAPCTL_FAIL;
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
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'v':
			if ((ret = cli_validity("issue", optarg, &o.validity_days)) != CAPCTL_GO_ON)
				return ret;
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
