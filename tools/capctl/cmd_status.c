/*
 * tools/capctl/cmd_status.c - 'capctl status': every host and user with its
 * reach, grant and token, flagging tokens that are not current with the
 * policy (e.g. after an interrupted change), and the revocation list.
 * Read-only: it plans what 'capctl issue' would do and shows it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"

/* Everything status looks at. */
struct view {
	struct capctl_ctx *ctx;
	struct policy *p;
	json_t *root;
	struct capctl_state st;
	struct issue_plan plan;
	size_t attention;
	size_t expiring;		/* tokens that run out within STATUS_WARN_DAYS */
};

enum { STATUS_WARN_DAYS = 7 };

/* Current: verifies, matches the policy, and state.json knows it. */
static bool is_current(const struct issue_item *it)
{
	return it->verdict == VERDICT_CURRENT && it->record_ok;
}

/* One word for the TOKEN column. */
static const char *state_word(const struct issue_item *it)
{
	if (it->verdict == VERDICT_CURRENT && !it->record_ok)
		return "stale";
	return issue_verdict_str(it->verdict);
}

/* Why an item is not current, in words. */
static const char *detail(const struct issue_item *it)
{
	if (it->verdict == VERDICT_CURRENT && !it->record_ok)
		return "state.json does not record this token";
	return it->detail;
}

/* The reach as written in policy.json, not as compiled. */
static char *reach_text(const json_t *entity)
{
	const json_t *reach = json_object_get(entity, "reach");
	size_t cap = 2, len = 0, i;
	json_t *e;
	char *out;

	json_array_foreach((json_t *)reach, i, e)
		cap += strlen(json_string_value(e) ? json_string_value(e) : "?") + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	json_array_foreach((json_t *)reach, i, e) {
		const char *s = json_string_value(e);

		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "",
					s ? s : "?");
	}
	if (!len)
		snprintf(out, cap, "-");
	return out;
}

/* The plan item of a host or user, found by name. */
static const struct issue_item *item_of(const struct view *v,
					enum capctl_kind kind, const char *name)
{
	for (size_t i = 0; i < v->plan.n; i++)
		if (v->plan.items[i].kind == kind &&
		    strcmp(v->plan.items[i].name, name) == 0)
			return &v->plan.items[i];
	return NULL;
}

/* One row: host or user. */
static bool add_row(struct view *v, struct util_table *t, enum capctl_kind kind,
		const char *name, const struct mask *grant, const char *bit,
		const char *keys)
{
	const struct issue_item *it = item_of(v, kind, name);
	json_t *entity = json_object_get(json_object_get(v->root,
			kind == KIND_HOST ? "hosts" : "users"), name);
	char *reach = reach_text(entity), *names = polfile_mask_names(v->p, grant);
	char serial[24] = "-", expires[32] = "-";
	bool ok = reach && names && it;

	if (ok && it->has_old) {
		snprintf(serial, sizeof(serial), "%llu", (unsigned long long)it->old.serial);
		util_time_iso(it->old.not_after, expires);
	}
	if (ok && kind == KIND_HOST)
		util_table_row(t, (const char *const[]){ name, bit, keys, reach, names,
					serial, expires, state_word(it) });
	else if (ok)
		util_table_row(t, (const char *const[]){ name, reach, names, serial,
					expires, state_word(it) });
	free(reach);
	free(names);
	return ok;
}

/* Tables for people; the items needing attention are listed after them. */
static int print_text(struct view *v)
{
	struct util_table hosts, users;
	char id[2 * WIRE_KEY_ID_LEN + 1];
	uint8_t kid[WIRE_KEY_ID_LEN];
	bool ok = true;

	util_table_init(&hosts, 8);
	util_table_init(&users, 6);
	util_table_row(&hosts, (const char *const[]){ "NAME", "BIT", "KEYS", "REACH",
				"GRANT", "SERIAL", "EXPIRES", "TOKEN" });
	util_table_row(&users, (const char *const[]){ "NAME", "REACH", "GRANT",
				"SERIAL", "EXPIRES", "TOKEN" });
	for (size_t i = 0; i < v->p->nhosts && ok; i++) {
		const struct policy_host *h = &v->p->hosts[i];
		char bit[8];

		snprintf(bit, sizeof(bit), "%u", h->bit);
		ok = add_row(v, &hosts, KIND_HOST, h->name, &h->grant, bit,
			 h->has_keys ? "yes" : "no");
	}
	for (size_t i = 0; i < v->p->nusers && ok; i++)
		ok = add_row(v, &users, KIND_USER, v->p->users[i].name,
			 &v->p->users[i].grant, NULL, NULL);
	keys_key_id(v->ctx->authority_pk, kid);
	util_hex(kid, sizeof(kid), id);
	printf("state directory: %s (authority key id %s)\n", v->ctx->dir, id);
	printf("hosts: %zu\n", v->p->nhosts);
	if (ok && v->p->nhosts)
		ok = util_table_print(&hosts, "  ") == 0;
	printf("users: %zu\n", v->p->nusers);
	if (ok && v->p->nusers)
		ok = util_table_print(&users, "  ") == 0;
	util_table_free(&hosts);
	util_table_free(&users);
	if (!ok)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	for (size_t i = 0; i < v->plan.n; i++) {
		const struct issue_item *it = &v->plan.items[i];

		if (!is_current(it))
			printf("%s %s: %s: %s\n", kind_str(it->kind), it->name,
			       state_word(it), detail(it));
	}
	printf("revocation list: serial %llu, %u serial%s revoked%s\n",
	       (unsigned long long)v->st.list_serial, v->st.list_count,
	       v->st.list_count == 1 ? "" : "s",
	       !v->st.list_present ? " (missing)"
	       : v->st.list_stale ? " (behind state.json)" : "");
	printf("next serial: %llu\n", (unsigned long long)v->st.next_serial);
	if (v->attention)
		printf("%zu item%s need attention: run 'capctl issue'%s\n", v->attention,
		       v->attention == 1 ? "" : "s",
		       v->plan.nkeyless ? " (hosts without keys need 'capctl host keys' first)" : "");
	else
		printf("all tokens are current\n");
	if (v->expiring)
		printf("warning: %zu token%s expire%s within %d days: run 'capctl renew' "
		       "(or let captun-renew.timer do it)\n", v->expiring,
		       v->expiring == 1 ? "" : "s", v->expiring == 1 ? "s" : "",
		       STATUS_WARN_DAYS);
	return CAPCTL_OK;
}

/* The token part of a status entry. */
static json_t *token_json(const struct issue_item *it)
{
	char nb[32], na[32];
	json_t *o = json_pack("{s:s,s:s}", "state", it ? state_word(it) : "?",
			      "detail", it ? detail(it) : "");

	if (o && it && it->has_old) {
		util_time_iso(it->old.not_before, nb);
		util_time_iso(it->old.not_after, na);
		if (json_object_set_new(o, "serial",
					json_integer((json_int_t)it->old.serial)) < 0 ||
		    json_object_set_new(o, "not_before", json_string(nb)) < 0 ||
		    json_object_set_new(o, "not_after", json_string(na)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* One host or user of status --json. */
static json_t *entity_json(const struct view *v, enum capctl_kind kind,
			   const char *name, const struct mask *grant)
{
	json_t *ent = json_object_get(json_object_get(v->root,
			kind == KIND_HOST ? "hosts" : "users"), name);
	json_t *reach = json_object_get(ent, "reach");
	char *ranges = polfile_mask_ranges(grant);
	json_t *o;

	reach = json_is_array(reach) ? json_incref(reach) : json_array();
	o = json_pack("{s:s,s:o,s:s?,s:o,s:o}", "name", name,
		      "reach", reach, "grant", ranges,
		      "grant_hosts", polfile_mask_names_json(v->p, grant),
		      "token", token_json(item_of(v, kind, name)));
	free(ranges);
	return o;
}

/* status --json: one object, for scripts and monitoring. */
static int print_json(struct view *v)
{
	json_t *hosts = json_array(), *users = json_array(), *orphans = json_array();
	char id[2 * WIRE_KEY_ID_LEN + 1], *out;
	uint8_t kid[WIRE_KEY_ID_LEN];
	json_t *o;
	int bad = !hosts || !users || !orphans;

	for (size_t i = 0; i < v->p->nhosts && !bad; i++) {
		const struct policy_host *h = &v->p->hosts[i];
		json_t *e = entity_json(v, KIND_HOST, h->name, &h->grant);

		bad |= !e || json_object_set_new(e, "bit", json_integer(h->bit)) < 0 ||
		       json_object_set_new(e, "keys", json_boolean(h->has_keys)) < 0;
		bad |= json_array_append_new(hosts, e) < 0;
	}
	for (size_t i = 0; i < v->p->nusers && !bad; i++)
		bad |= json_array_append_new(users, entity_json(v, KIND_USER,
				v->p->users[i].name, &v->p->users[i].grant)) < 0;
	for (size_t i = 0; i < v->plan.n && !bad; i++)
		if (v->plan.items[i].verdict == VERDICT_ORPHAN)
			bad |= json_array_append_new(orphans, json_pack("{s:s,s:s,s:o}",
				"kind", kind_str(v->plan.items[i].kind),
				"name", v->plan.items[i].name,
				"token", token_json(&v->plan.items[i]))) < 0;
	keys_key_id(v->ctx->authority_pk, kid);
	util_hex(kid, sizeof(kid), id);
	o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:{s:I,s:I,s:b,s:b},s:I,s:I}",
		      "dir", v->ctx->dir, "authority_key_id", id,
		      "hosts", hosts, "users", users, "orphans", orphans,
		      "revocation_list", "serial", (json_int_t)v->st.list_serial,
		      "count", (json_int_t)v->st.list_count,
		      "present", v->st.list_present, "current", !v->st.list_stale,
		      "next_serial", (json_int_t)v->st.next_serial,
		      "attention", (json_int_t)v->attention);
	if (o)
		json_object_set_new(o, "expiring_within_7_days",
				    json_integer((json_int_t)v->expiring));
	out = o && !bad ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!out)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	out_json_own();
	puts(out);
	free(out);
	return CAPCTL_OK;
}

/* capctl status [--json] */
int cmd_status(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct issue_opts o = {
		.orphans = true,
		.keyless_ok = true,
		.validity_days = CAPCTL_VALIDITY_DAYS,
		.only_kind = -1,
	};
	struct view v;
	bool json = false, loaded = false;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if ((ret = cli_common(ctx, c, "status", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	json |= out_json();
	out_json_set(json);
	if (optind < argc)
		return help_usage("status", "unexpected argument '%s'", argv[optind]);
	memset(&v, 0, sizeof(v));
	v.ctx = ctx;
	if ((ret = ctx_resolve(ctx)) == CAPCTL_OK &&
	    (ret = ctx_require_init(ctx)) == CAPCTL_OK &&
	    (ret = polfile_parse(ctx, &v.p)) == CAPCTL_OK &&
	    (ret = polfile_load_json(ctx, &v.root)) == CAPCTL_OK &&
	    (ret = state_load(ctx, &v.st)) == CAPCTL_OK) {
		loaded = true;
		ret = issue_plan_build(ctx, &v.st, v.p, &o, &v.plan);
	}
	if (ret == CAPCTL_OK) {
		for (size_t i = 0; i < v.plan.n; i++) {
			const struct issue_item *it = &v.plan.items[i];

			v.attention += !is_current(it);
			v.expiring += it->has_old && it->old.not_after > ctx->now &&
				      it->old.not_after - ctx->now < STATUS_WARN_DAYS * 86400ull;
		}
		v.attention += v.st.list_stale;
		ret = json ? print_json(&v) : print_text(&v);
	}
	issue_plan_free(&v.plan);
	if (loaded)
		state_free(&v.st);
	json_decref(v.root);
	policy_free(v.p);
	return ret;
}
