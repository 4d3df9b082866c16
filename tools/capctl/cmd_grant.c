/*
 * tools/capctl/cmd_grant.c - 'capctl grant' and 'capctl revoke': change one
 * subject's reach, then re-issue its token and revoke the old serial.
 *
 * Order, so that a crash anywhere fails closed: policy.json first, then the
 * old serial into revocation.list and state.json, then the new token and
 * state.json (issue.c). A crash in between leaves the subject with no valid
 * token, never with the old, wider one; 'capctl issue' completes it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"

/* One grant or revoke in progress. */
struct change {
	const char *verb;
	enum capctl_kind kind;
	const char *name;
	struct policy *p;		/* the policy before the change */
	json_t *root;
	json_t *entity;			/* root.hosts.NAME or root.users.NAME */
	const char *const *targets;
	int ntargets;
};

/* "user:NAME", "host:NAME", or a bare name that must be only one of them. */
static int resolve(struct change *c, const char *arg)
{
	bool is_host, is_user;

	if (strncmp(arg, "user:", 5) == 0 || strncmp(arg, "host:", 5) == 0) {
		c->kind = arg[0] == 'u' ? KIND_USER : KIND_HOST;
		c->name = arg + 5;
		if (c->kind == KIND_USER ? !policy_user_find(c->p, c->name)
					 : !policy_host_find(c->p, c->name))
			return util_fail(CAPCTL_FAIL, "see 'capctl status' for the names",
					 "no %s named '%s'", kind_str(c->kind), c->name);
		return CAPCTL_OK;
	}
	c->name = arg;
	is_host = policy_host_find(c->p, arg) != NULL;
	is_user = policy_user_find(c->p, arg) != NULL;
	if (is_host && is_user)
		return util_fail(CAPCTL_USAGE, "say which with a prefix",
				 "'%s' is both a user and a host: use user:%s or host:%s",
				 arg, arg, arg);
	if (!is_host && !is_user)
		return util_fail(CAPCTL_FAIL, "see 'capctl status' for the names",
				 "no user or host named '%s'", arg);
	c->kind = is_host ? KIND_HOST : KIND_USER;
	return CAPCTL_OK;
}

/* Targets may name groups as well as hosts. */
static bool is_group(const struct policy *p, const char *s)
{
	return policy_group_find(p, s) != NULL;
}

/* The hosts a reach entry stands for. */
static void cover(const struct policy *p, const char *entry, struct mask *m)
{
	const struct policy_host *h;
	const struct policy_group *g;

	mask_clear(m);
	if (strcmp(entry, "*") == 0)
		policy_all_hosts(p, m);
	else if ((h = policy_host_find(p, entry)))
		mask_bit_set(m, h->bit);
	else if ((g = policy_group_find(p, entry)))
		*m = g->members;
}

/* Lock, key, policy (compiled and as JSON), subject and targets. */
static int load(struct capctl_ctx *ctx, struct change *c, const char *subj)
{
	int ret;

	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK ||
	    (ret = ctx_key_load(ctx)) != CAPCTL_OK ||
	    (ret = polfile_parse(ctx, &c->p)) != CAPCTL_OK ||
	    (ret = polfile_load_json(ctx, &c->root)) != CAPCTL_OK ||
	    (ret = resolve(c, subj)) != CAPCTL_OK)
		return ret;
	for (int i = 0; i < c->ntargets; i++) {
		const char *t = c->targets[i];

		if (strcmp(t, "*") != 0 && !policy_host_find(c->p, t) &&
		    !is_group(c->p, t))
			return util_fail(CAPCTL_FAIL,
					 "a target is a host name, a group name or \"*\"",
					 "unknown target '%s'", t);
	}
	c->entity = json_object_get(json_object_get(c->root,
			c->kind == KIND_HOST ? "hosts" : "users"), c->name);
	if (!json_is_object(c->entity))
		return util_fail(CAPCTL_FAIL, "fix policy.json by hand",
				 "%s %s is not an object in the policy",
				 kind_str(c->kind), c->name);
	return CAPCTL_OK;
}

/*
 * Everything up to the edit: options, lock, key, policy, subject, targets.
 * Returns CAPCTL_GO_ON to carry on, or the exit status (0 after --help).
 */
static int prepare(struct capctl_ctx *ctx, int argc, char **argv,
		   struct change *c)
{
	static const struct option lo[] = {
		CAPCTL_PUBLISH_LONGOPT, CAPCTL_COMMON_LONGOPTS, { 0 },
	};
	int opt, ret;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1)
		if ((ret = cli_common(ctx, opt, c->verb, argv)) != CAPCTL_GO_ON)
			return ret;
	if (argc - optind < 2)
		return help_usage(c->verb, "expected SUBJECT and at least one TARGET");
	c->targets = (const char *const *)argv + optind + 1;
	c->ntargets = argc - optind - 1;
	ret = load(ctx, c, argv[optind]);
	return ret == CAPCTL_OK ? CAPCTL_GO_ON : ret;
}

/* The compiled grant of the subject, to print and to double-check. */
static const struct mask *find_grant(const struct policy *p, enum capctl_kind kind,
				   const char *name)
{
	if (kind == KIND_HOST) {
		const struct policy_host *h = policy_host_find(p, name);

		return h ? &h->grant : NULL;
	}
	const struct policy_user *u = policy_user_find(p, name);

	return u ? &u->grant : NULL;
}

/* Both verbs end by showing the mask the new token carries. */
static void print_mask(const struct policy *p, enum capctl_kind kind,
		       const char *name)
{
	const struct mask *m = find_grant(p, kind, name);
	char *ranges, *names;

	if (!m)
		return;
	ranges = polfile_mask_ranges(m);
	names = polfile_mask_names(p, m);
	out_say("%s %s: grant %s (%s)\n", kind_str(kind), name,
		ranges ? ranges : "?",
		mask_is_empty(m) ? "no hosts" : names ? names : "?");
	out_set("subject", json_pack("{s:s, s:s, s:s?, s:o}", "kind", kind_str(kind),
				     "name", name, "grant", ranges,
				     "grant_hosts", polfile_mask_names_json(p, m)));
	free(ranges);
	free(names);
}

/*
 * Writes the policy if the reach changed, then re-issues the subject's
 * token (a new serial, the old one revoked) and prints the new mask.
 */
static int finish(struct capctl_ctx *ctx, struct change *c, bool changed)
{
	struct issue_opts o = {
		.keyless_ok = true,
		.validity_days = CAPCTL_VALIDITY_DAYS,
		.only_kind = (int)c->kind,
		.only_name = c->name,
	};
	struct policy *np = NULL;
	int ret;

	if (changed) {
		ret = polfile_commit(ctx, c->root, &np);
		if (ret != CAPCTL_OK)
			return ret;
	}
	ret = issue_sync(ctx, changed ? np : c->p, &o);
	if (ret == CAPCTL_OK)
		print_mask(changed ? np : c->p, c->kind, c->name);
	policy_free(np);
	return ret;
}

/* Frees what prepare() loaded. */
static void release(struct change *c)
{
	policy_free(c->p);
	json_decref(c->root);
}

/* capctl grant SUBJECT TARGET...: appends to the reach, no duplicates. */
int cmd_grant(struct capctl_ctx *ctx, int argc, char **argv)
{
	struct change c = { .verb = "grant" };
	bool changed = false;
	json_t *reach;
	int ret;

	ret = prepare(ctx, argc, argv, &c);
	if (ret != CAPCTL_GO_ON)
		goto out;
	reach = polfile_reach(c.entity, true);
	if (!reach) {
		ret = util_fail(CAPCTL_FAIL, "fix policy.json by hand",
				"the reach of %s %s is not a list", kind_str(c.kind), c.name);
		goto out;
	}
	for (int i = 0; i < c.ntargets; i++) {
		if (polfile_reach_has(reach, c.targets[i])) {
			util_note("%s is already in the reach of %s %s", c.targets[i],
				  kind_str(c.kind), c.name);
			continue;
		}
		if (json_array_append_new(reach, json_string(c.targets[i])) < 0) {
			ret = util_fail(CAPCTL_SYS, "", "out of memory");
			goto out;
		}
		changed = true;
	}
	ret = finish(ctx, &c, changed);
out:
	release(&c);
	return ret;
}

/* Literal reach entries named on the command line go away whole. */
static bool is_target(const struct change *c, const char *s)
{
	for (int i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i], s) == 0)
			return true;
	return false;
}

/* Expansions must not duplicate entries that are already there. */
static int append_unique(json_t *arr, const char *s)
{
	if (polfile_reach_has(arr, s))
		return 0;
	return json_array_append_new(arr, json_string(s));
}

/*
 * Replaces a group or "*" entry that covers revoked hosts by its other
 * hosts, in policy order, and says so.
 */
static int expand(const struct change *c, json_t *out, const char *entry,
		  const struct mask *covered, const struct mask *gone)
{
	size_t cap = 1, len = 0;
	char *list;
	int ret = 0;

	for (size_t i = 0; i < c->p->nhosts; i++)
		cap += strlen(c->p->hosts[i].name) + 1;
	list = calloc(1, cap);
	if (!list)
		return -1;
	for (size_t i = 0; i < c->p->nhosts && ret == 0; i++) {
		const struct policy_host *h = &c->p->hosts[i];

		if (!mask_bit_test(covered, h->bit) || mask_bit_test(gone, h->bit))
			continue;
		ret = append_unique(out, h->name);
		len += (size_t)snprintf(list + len, cap - len, "%s%s", len ? "," : "",
					h->name);
	}
	if (ret == 0)
		util_note("'%s' in the reach of %s %s covered a revoked host; replaced it by %s",
			  entry, kind_str(c->kind), c->name, len ? list : "nothing");
	free(list);
	return ret;
}

/* The new reach: what it was, minus the targets and the hosts they cover. */
static int shrink(const struct change *c, const json_t *reach, json_t *out,
		  const struct mask *gone)
{
	size_t i;
	json_t *e;

	json_array_foreach((json_t *)reach, i, e) {
		const char *s = json_string_value(e);
		struct mask m, both;

		if (!s || is_target(c, s))
			continue;
		cover(c->p, s, &m);
		both = m;
		mask_and(&both, gone);
		if (mask_is_empty(&both)) {
			if (append_unique(out, s) < 0)
				return -1;
		} else if (!policy_host_find(c->p, s)) {
			if (expand(c, out, s, &m, gone) < 0)
				return -1;
		}
	}
	return 0;
}

/* capctl revoke SUBJECT TARGET...: the grant must lose every targeted host. */
int cmd_revoke(struct capctl_ctx *ctx, int argc, char **argv)
{
	struct change c = { .verb = "revoke" };
	struct policy *check = NULL;
	struct policy_error err;
	const struct mask *after;
	struct mask gone, left;
	json_t *reach, *fresh = NULL;
	bool changed;
	int ret;

	ret = prepare(ctx, argc, argv, &c);
	if (ret != CAPCTL_GO_ON)
		goto out;
	mask_clear(&gone);
	for (int i = 0; i < c.ntargets; i++) {
		struct mask m;

		cover(c.p, c.targets[i], &m);
		mask_or(&gone, &m);
	}
	reach = polfile_reach(c.entity, false);
	fresh = json_array();
	if (!fresh || (reach && shrink(&c, reach, fresh, &gone) < 0)) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	changed = reach && !json_equal(reach, fresh);
	if (!changed) {
		util_note("%s %s reaches none of the given targets; nothing to revoke",
			  kind_str(c.kind), c.name);
		ret = finish(ctx, &c, false);
		goto out;
	}
	if (json_object_set(c.entity, "reach", fresh) < 0) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if (!policy_parse_json(c.root, ctx->path_policy, &check, &err)) {
		ret = util_fail(CAPCTL_FAIL, "nothing was changed",
				"the change would make the policy invalid: %s", err.text);
		goto out;
	}
	after = find_grant(check, c.kind, c.name);
	left = after ? *after : gone;
	mask_and(&left, &gone);
	if (!after || !mask_is_empty(&left)) {
		ret = util_fail(CAPCTL_FAIL, "nothing was changed; edit policy.json by hand",
				"internal error: the revoked hosts are still in the grant of %s %s",
				kind_str(c.kind), c.name);
		goto out;
	}
	ret = finish(ctx, &c, true);
out:
	policy_free(check);
	json_decref(fresh);
	release(&c);
	return ret;
}
