/*
 * tools/capctl/issue.c - brings the token files in line with the policy.
 *
 * A plan classifies the token of each host and user (and, for a full sync,
 * each token file whose host or user left the policy), then a run carries
 * it out in an order that fails closed at every crash point:
 *
 *   A. the old serials of tokens whose content changed go into a new signed
 *      revocation.list, then state.json records them and reserves the
 *      serials about to be used (so that no serial is ever handed out twice);
 *   B. each new token is written (atomically), orphaned files are removed;
 *   C. state.json records what the token files now hold.
 *
 * A crash after A leaves old tokens revoked and new ones missing; a crash
 * inside B leaves some tokens new and the rest old; either way
 * 'capctl status' shows what is stale and 'capctl issue' completes it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "armor.h"
#include "capctl.h"
#include "fileio.h"

/* Words for status and for the reasons issue gives. */
const char *issue_verdict_str(enum issue_verdict v)
{
	switch (v) {
	case VERDICT_CURRENT:
		return "current";
	case VERDICT_MISSING:
		return "missing";
	case VERDICT_UNREADABLE:
		return "unusable";
	case VERDICT_REVOKED:
		return "revoked";
	case VERDICT_EXPIRED:
		return "expired";
	case VERDICT_CHANGED:
		return "stale";
	case VERDICT_RENEW:
		return "renewal due";
	case VERDICT_NO_KEYS:
		return "no keys";
	case VERDICT_ORPHAN:
		return "orphan";
	}
	return "?";
}

/* The wire type of a kind of token. */
static enum wire_type type_of(enum capctl_kind kind)
{
	return kind == KIND_HOST ? WIRE_TYPE_HOST_TOKEN : WIRE_TYPE_USER_TOKEN;
}

/* The armor label of a kind of token. */
static const char *label_of(enum capctl_kind kind)
{
	return kind == KIND_HOST ? TOKEN_ARMOR_HOST : TOKEN_ARMOR_USER;
}

/*
 * What the policy says the token of a host (h) or a user (u) must carry,
 * serial and validity aside.
 */
void issue_token_want(const struct policy_host *h, const struct policy_user *u,
		      struct token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = h ? WIRE_TYPE_HOST_TOKEN : WIRE_TYPE_USER_TOKEN;
	snprintf(t->name, sizeof(t->name), "%s", h ? h->name : u->name);
	if (!h) {
		t->grant = u->grant;
		return;
	}
	t->bit = h->bit;
	t->grant = h->grant;
	memcpy(t->tunnel_pk, h->tunnel_pk, WIRE_PUBKEY_LEN);
	memcpy(t->sign_pk, h->sign_pk, WIRE_PUBKEY_LEN);
	if (h->has_overlay4) {
		t->flags |= WIRE_HOST_OVERLAY4;
		memcpy(t->overlay4, &h->overlay4, sizeof(t->overlay4));
	}
	if (h->has_overlay6) {
		t->flags |= WIRE_HOST_OVERLAY6;
		memcpy(t->overlay6, &h->overlay6, sizeof(t->overlay6));
	}
}

/* Serial and validity aside, do two tokens say the same? */
bool issue_token_same(const struct token *a, const struct token *b)
{
	if (a->type != b->type || strcmp(a->name, b->name) != 0 ||
	    !mask_equal(&a->grant, &b->grant))
		return false;
	if (a->type != WIRE_TYPE_HOST_TOKEN)
		return true;
	return a->bit == b->bit && a->flags == b->flags &&
	       memcmp(a->overlay4, b->overlay4, sizeof(a->overlay4)) == 0 &&
	       memcmp(a->overlay6, b->overlay6, sizeof(a->overlay6)) == 0 &&
	       memcmp(a->tunnel_pk, b->tunnel_pk, WIRE_PUBKEY_LEN) == 0 &&
	       memcmp(a->sign_pk, b->sign_pk, WIRE_PUBKEY_LEN) == 0;
}

/* Records a verdict and its reason. */
static void set(struct issue_item *it, enum issue_verdict v, const char *detail)
{
	it->verdict = v;
	snprintf(it->detail, sizeof(it->detail), "%s", detail);
}

/*
 * Reads the item's token file into it->old; verdicts for what is wrong with
 * it.
 */
static int inspect(struct capctl_ctx *ctx, struct capctl_state *st,
		   struct issue_item *it, enum token_status *vs)
{
	char path[PATH_MAX];
	struct token_trust trust;
	struct capctl_obj obj;
	enum token_status why = TOKEN_OK;
	int ret;

	*vs = TOKEN_ERR_MALFORMED;
	if (!ctx_token_path(ctx, it->kind, it->name, path, sizeof(path)))
		return util_fail(CAPCTL_USAGE, "use a shorter --dir",
				 "token path too long");
	ret = util_obj_read(path, &obj);
	if (ret == -ENOENT) {
		set(it, VERDICT_MISSING, "no token file");
		return CAPCTL_OK;
	}
	if (ret == -EBADMSG) {
		set(it, VERDICT_UNREADABLE, "file is not a valid armored token");
		return CAPCTL_OK;
	}
	if (ret < 0)
		return util_io_fail(ret, "read", path);
	memset(&trust, 0, sizeof(trust));
	memcpy(trust.authority_pk, ctx->authority_pk, WIRE_PUBKEY_LEN);
	trust.now = ctx->now;
	if (obj.armored && strcmp(obj.label, label_of(it->kind)) != 0) {
		set(it, VERDICT_UNREADABLE, "file holds another kind of object");
	} else if (!token_decode(obj.bin, obj.len, type_of(it->kind), &it->old, &why)) {
		set(it, VERDICT_UNREADABLE, token_status_str(why));
	} else if (strcmp(it->old.name, it->name) != 0) {
		set(it, VERDICT_UNREADABLE, "file holds the token of another name");
	} else {
		*vs = token_verify(obj.bin, obj.len, type_of(it->kind), &trust, NULL);
		if (*vs == TOKEN_ERR_AUTHORITY || *vs == TOKEN_ERR_SIGNATURE) {
			set(it, VERDICT_UNREADABLE, token_status_str(*vs));
		} else {
			it->has_old = true;
			it->record_ok = state_record_matches(st, &it->old);
			if (it->old.serial >= st->next_serial)
				st->next_serial = it->old.serial + 1;
			if (revlist_serial_has(st, it->old.serial)) {
				*vs = TOKEN_ERR_REVOKED;
				set(it, VERDICT_REVOKED, "serial is on the revocation list");
			} else if (*vs == TOKEN_ERR_EXPIRED) {
				set(it, VERDICT_EXPIRED, "token expired");
			} else {
				set(it, VERDICT_CURRENT, "matches the policy");
			}
		}
	}
	util_obj_free(&obj);
	return CAPCTL_OK;
}

/*
 * A valid token (ours, unexpired, unrevoked) must be revoked before it is
 * replaced.
 */
static bool live(const struct issue_item *it, enum token_status vs)
{
	return it->has_old && (vs == TOKEN_OK || vs == TOKEN_ERR_NOT_YET_VALID);
}

/*
 * capctl renew: the same content signed again for a new validity, for a
 * token that expired or expires soon; nothing is revoked (the old serial
 * says the same and runs out by itself), and changes of the policy are
 * left to 'capctl issue'.
 */
static int renewal(struct capctl_ctx *ctx, struct issue_item *it, enum token_status vs,
		   const struct issue_opts *o)
{
	bool soon = it->verdict == VERDICT_CURRENT && vs == TOKEN_OK &&
		    it->old.not_after - ctx->now < o->renew_within_s;

	it->revoke_old = false;
	it->issue = it->verdict == VERDICT_RENEW || it->verdict == VERDICT_EXPIRED || soon ||
		    (o->force && it->verdict == VERDICT_CURRENT);
	if (soon)
		set(it, VERDICT_RENEW, "expires within the --within days");
	return CAPCTL_OK;
}

/* Decides what the run does for one item: issue, revoke, remove. */
static int classify(struct capctl_ctx *ctx, struct capctl_state *st,
		    struct issue_item *it, const struct issue_opts *o)
{
	enum token_status vs;
	struct token t;
	int ret;

	ret = inspect(ctx, st, it, &vs);
	if (ret != CAPCTL_OK)
		return ret;
	if (!it->host && !it->user) {
		it->revoke_old = live(it, vs);
		it->unlink_file = true;
		set(it, VERDICT_ORPHAN, "no longer in the policy");
		return CAPCTL_OK;
	}
	if (it->host && !it->host->has_keys) {
		it->revoke_old = live(it, vs);
		set(it, VERDICT_NO_KEYS, "host has no public keys in the policy");
		return CAPCTL_OK;
	}
	if (it->verdict == VERDICT_CURRENT) {
		issue_token_want(it->host, it->user, &t);
		if (!issue_token_same(&t, &it->old)) {
			it->revoke_old = live(it, vs);
			set(it, VERDICT_CHANGED, it->kind == KIND_HOST
			    ? "grant, bit, addresses or keys differ from the policy"
			    : "grant differs from the policy");
		} else if (vs == TOKEN_OK &&
			   it->old.not_after - ctx->now <
			   (it->old.not_after - it->old.not_before) / 3) {
			set(it, VERDICT_RENEW, "less than a third of its validity left");
		}
	}
	if (o->renew_only)
		return renewal(ctx, it, vs, o);
	it->issue = it->verdict != VERDICT_CURRENT || o->force;
	return CAPCTL_OK;
}

/* grant/revoke restrict a plan to their subject. */
static bool wanted(const struct issue_opts *o, enum capctl_kind kind,
		   const char *name)
{
	return o->only_kind < 0 ||
	       ((int)kind == o->only_kind && strcmp(name, o->only_name) == 0);
}

/* Appends an item to the plan; NULL when out of memory. */
static struct issue_item *add(struct issue_plan *plan, size_t *cap,
			      enum capctl_kind kind, const char *name)
{
	struct issue_item *it;

	if (plan->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		it = realloc(plan->items, ncap * sizeof(*it));
		if (!it)
			return NULL;
		plan->items = it;
		*cap = ncap;
	}
	it = &plan->items[plan->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	snprintf(it->name, sizeof(it->name), "%s", name);
	return it;
}

/* "host-NAME.token" or "user-NAME.token" of a name absent from p. */
static bool orphan_name(const struct policy *p, const char *file,
			enum capctl_kind *kind, char name[WIRE_NAME_MAX + 1])
{
	size_t len = strlen(file);

	if (len < 11 || strcmp(file + len - 6, ".token") != 0)
		return false;
	if (strncmp(file, "host-", 5) == 0)
		*kind = KIND_HOST;
	else if (strncmp(file, "user-", 5) == 0)
		*kind = KIND_USER;
	else
		return false;
	if (len - 11 > WIRE_NAME_MAX)
		return false;
	memcpy(name, file + 5, len - 11);
	name[len - 11] = '\0';
	if (!token_name_valid(name))
		return false;
	return *kind == KIND_HOST ? !policy_host_find(p, name)
				  : !policy_user_find(p, name);
}

/* Token files of hosts and users gone from the policy must be revoked. */
static int scan_orphans(struct capctl_ctx *ctx, const struct policy *p,
			const struct issue_opts *o, struct issue_plan *plan,
			size_t *cap)
{
	struct dirent *de;
	DIR *d = opendir(ctx->path_tokens);

	if (!d)
		return errno == ENOENT ? CAPCTL_OK
				       : util_io_fail(-errno, "list", ctx->path_tokens);
	while ((de = readdir(d))) {
		char name[WIRE_NAME_MAX + 1];
		enum capctl_kind kind;

		if (!orphan_name(p, de->d_name, &kind, name) || !wanted(o, kind, name))
			continue;
		if (!add(plan, cap, kind, name)) {
			closedir(d);
			return util_fail(CAPCTL_SYS, "", "out of memory");
		}
	}
	closedir(d);
	return CAPCTL_OK;
}

/* Classifies every item without changing anything (status uses it too). */
int issue_plan_build(struct capctl_ctx *ctx, struct capctl_state *st,
		     const struct policy *p, const struct issue_opts *o,
		     struct issue_plan *plan)
{
	size_t cap = 0;
	int ret;

	memset(plan, 0, sizeof(*plan));
	ret = ctx_pub_load(ctx);
	if (ret != CAPCTL_OK)
		return ret;
	for (size_t i = 0; i < p->nhosts; i++) {
		struct issue_item *it;

		if (!wanted(o, KIND_HOST, p->hosts[i].name))
			continue;
		if (!(it = add(plan, &cap, KIND_HOST, p->hosts[i].name)))
			return util_fail(CAPCTL_SYS, "", "out of memory");
		it->host = &p->hosts[i];
	}
	for (size_t i = 0; i < p->nusers; i++) {
		struct issue_item *it;

		if (!wanted(o, KIND_USER, p->users[i].name))
			continue;
		if (!(it = add(plan, &cap, KIND_USER, p->users[i].name)))
			return util_fail(CAPCTL_SYS, "", "out of memory");
		it->user = &p->users[i];
	}
	if (o->orphans && (ret = scan_orphans(ctx, p, o, plan, &cap)) != CAPCTL_OK)
		return ret;
	for (size_t i = 0; i < plan->n; i++) {
		struct issue_item *it = &plan->items[i];

		ret = classify(ctx, st, it, o);
		if (ret != CAPCTL_OK)
			return ret;
		plan->nissue += it->issue;
		plan->nrevoke += it->revoke_old;
		plan->nkeyless += it->verdict == VERDICT_NO_KEYS;
		if (it->verdict != VERDICT_CURRENT || (it->has_old && !it->record_ok))
			plan->nstale++;
	}
	return CAPCTL_OK;
}

/* Frees the items of a plan. */
void issue_plan_free(struct issue_plan *plan)
{
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}

/* Signs, armors and writes the new token of it. */
static int write_token(struct capctl_ctx *ctx, struct issue_item *it,
		       uint64_t serial, const struct issue_opts *o)
{
	uint8_t bin[WIRE_TOKEN_MAX];
	char path[PATH_MAX];
	char *text = NULL;
	size_t binlen = 0, textlen = 0;
	int ret;

	issue_token_want(it->host, it->user, &it->fresh);
	it->fresh.serial = serial;
	it->fresh.not_before = ctx->now > CAPCTL_SKEW ? ctx->now - CAPCTL_SKEW : 0;
	it->fresh.not_after = ctx->now + (uint64_t)o->validity_days * 86400;
	keys_key_id(ctx->ak.pk, it->fresh.key_id);
	if (!ctx_token_path(ctx, it->kind, it->name, path, sizeof(path)))
		return util_fail(CAPCTL_USAGE, "use a shorter --dir",
				 "token path too long");
	ret = token_sign(&it->fresh, &ctx->ak, bin, sizeof(bin), &binlen);
	if (ret < 0)
		return util_fail(CAPCTL_FAIL, "check the policy entry",
				 "cannot sign the token of %s %s: %s",
				 kind_str(it->kind), it->name, strerror(-ret));
	ret = armor_encode(label_of(it->kind), bin, binlen, &text, &textlen);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "", "cannot armor a token: %s",
				 strerror(-ret));
	ret = fileio_write_atomic(path, text, textlen, 0644);
	free(text);
	if (ret < 0)
		return util_io_fail(ret, "write", path);
	return CAPCTL_OK;
}

/* Removes an orphan token file; its serial was revoked in step A. */
static int drop_file(struct capctl_ctx *ctx, const struct issue_item *it)
{
	char path[PATH_MAX];

	if (!ctx_token_path(ctx, it->kind, it->name, path, sizeof(path)))
		return util_fail(CAPCTL_USAGE, "use a shorter --dir",
				 "token path too long");
	if (unlink(path) < 0 && errno != ENOENT)
		return util_io_fail(-errno, "remove", path);
	return CAPCTL_OK;
}

/* The token the item's file holds after the run, if one of ours. */
static const struct token *holding(const struct issue_item *it)
{
	if (it->issue)
		return &it->fresh;
	if (it->has_old && !it->unlink_file)
		return &it->old;
	return NULL;
}

/* Step C: state.json's records mirror the token files. */
static int mirror(struct capctl_state *st, const struct issue_plan *plan,
		   const struct issue_opts *o, bool *changed)
{
	json_t *before = json_deep_copy(st->records);

	if (!before)
		return -ENOMEM;
	if (o->only_kind < 0) {
		json_t *fresh = json_pack("{s:{},s:{}}", "hosts", "users");

		if (!fresh) {
			json_decref(before);
			return -ENOMEM;
		}
		json_decref(st->records);
		st->records = fresh;
	}
	for (size_t i = 0; i < plan->n; i++) {
		const struct issue_item *it = &plan->items[i];
		const struct token *t = holding(it);

		if (!t)
			state_record_del(st, it->kind, it->name);
		else if (state_record_set(st, t) < 0) {
			json_decref(before);
			return -ENOMEM;
		}
	}
	*changed = !json_equal(before, st->records);
	json_decref(before);
	return 0;
}

/* One line per token written or removed, for the admin. */
static void report(const struct issue_item *it, const struct issue_opts *o)
{
	char until[32];

	if (o->quiet)
		return;
	util_time_iso(it->fresh.not_after, until);
	if (it->issue)
		out_add("issued", json_pack("{s:s, s:s, s:I, s:s, s:s}", "kind",
					    kind_str(it->kind), "name", it->name, "serial",
					    (json_int_t)it->fresh.serial, "not_after", until,
					    "reason", it->detail));
	if (it->unlink_file)
		out_add("removed", json_pack("{s:s, s:s, s:s}", "kind", kind_str(it->kind),
					     "name", it->name, "reason", it->detail));
	if (it->issue)
		out_say("issued %s-%s.token serial %llu, valid until %s (%s)\n",
		       kind_str(it->kind), it->name,
		       (unsigned long long)it->fresh.serial, until,
		       o->force && it->verdict == VERDICT_CURRENT ? "forced"
								   : it->detail);
	if (it->unlink_file)
		out_say("removed %s-%s.token (%s)\n", kind_str(it->kind), it->name,
		       it->detail);
}

/* Steps B and C; the authority key is wiped as soon as signing is done. */
static int finish(struct capctl_ctx *ctx, struct capctl_state *st,
		  struct issue_plan *plan, const struct issue_opts *o,
		  uint64_t serial)
{
	bool unlinked = false, changed = false;
	int ret = CAPCTL_OK;

	for (size_t i = 0; i < plan->n && ret == CAPCTL_OK; i++) {
		struct issue_item *it = &plan->items[i];

		if (it->issue)
			ret = write_token(ctx, it, serial++, o);
		else if (it->unlink_file && (ret = drop_file(ctx, it)) == CAPCTL_OK)
			unlinked = true;
		if (ret == CAPCTL_OK)
			report(it, o);
	}
	ctx_key_wipe(ctx);
	if (ret != CAPCTL_OK)
		return ret;
	if (unlinked && (ret = util_sync_dir(ctx->path_tokens)) < 0)
		return util_io_fail(ret, "sync", ctx->path_tokens);
	if (mirror(st, plan, o, &changed) < 0)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	return changed ? state_save(ctx, st) : CAPCTL_OK;
}

/* Step A here, then steps B and C in finish(). */
int issue_plan_run(struct capctl_ctx *ctx, struct capctl_state *st,
		   struct issue_plan *plan, const struct issue_opts *o)
{
	bool need_list = plan->nrevoke > 0 || st->list_stale;
	uint64_t first;
	int ret;

	if (plan->nissue || need_list) {
		ret = ctx_key_load(ctx);
		if (ret != CAPCTL_OK)
			return ret;
	}
	for (size_t i = 0; i < plan->n; i++) {
		const struct issue_item *it = &plan->items[i];

		if (it->revoke_old &&
		    revlist_serial_add(st, it->old.serial, it->old.not_after) < 0) {
			ctx_key_wipe(ctx);
			return util_fail(CAPCTL_SYS, "", "out of memory");
		}
	}
	first = st->next_serial;
	st->next_serial += plan->nissue;
	ret = need_list ? revlist_write(ctx, st) : CAPCTL_OK;
	if (ret == CAPCTL_OK && (need_list || plan->nissue))
		ret = state_save(ctx, st);
	if (ret != CAPCTL_OK) {
		ctx_key_wipe(ctx);
		return ret;
	}
	for (size_t i = 0; i < plan->n && !o->quiet; i++) {
		const struct issue_item *it = &plan->items[i];

		if (it->revoke_old)
			out_add("revoked", json_pack("{s:I, s:s, s:s, s:s}", "serial",
						     (json_int_t)it->old.serial, "kind",
						     kind_str(it->kind), "name", it->name,
						     "reason", it->detail));
		if (it->revoke_old)
			out_say("revoked serial %llu (%s %s: %s)\n",
			       (unsigned long long)it->old.serial, kind_str(it->kind),
			       it->name, it->detail);
	}
	if (need_list && !o->quiet)
		out_say("revocation list serial %llu: %zu serial%s revoked\n",
		       (unsigned long long)st->revocation_serial, st->nrevoked,
		       st->nrevoked == 1 ? "" : "s");
	return finish(ctx, st, plan, o, first);
}

/* Hosts without keys: an error for 'capctl issue', a note for policy edits. */
static int flag_keyless(const struct issue_plan *plan, const struct issue_opts *o)
{
	int ret = CAPCTL_OK;

	for (size_t i = 0; i < plan->n; i++) {
		const struct issue_item *it = &plan->items[i];

		if (it->verdict != VERDICT_NO_KEYS)
			continue;
		if (o->keyless_ok) {
			util_note("host %s has no keys yet, so it has no token; run 'capctl host keys %s FILE' with the host.pub that 'capctl keygen' wrote on it",
				  it->name, it->name);
			continue;
		}
		ret = util_fail(CAPCTL_FAIL,
				"run 'capctl keygen --out DIR' on that host, then 'capctl host keys NAME DIR/host.pub' here",
				"host %s has no public keys in the policy, so no token was issued for it",
				it->name);
	}
	return ret;
}

/* The last line of issue and of the editing verbs. */
static void summarise(const struct issue_plan *plan)
{
	size_t kept = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct issue_item *it = &plan->items[i];

		kept += !it->issue && !it->unlink_file && it->verdict != VERDICT_NO_KEYS;
	}
	out_set("tokens", json_pack("{s:I, s:I, s:I}", "issued", (json_int_t)plan->nissue,
				    "unchanged", (json_int_t)kept, "revoked",
				    (json_int_t)plan->nrevoke));
	out_say("tokens: %zu issued, %zu unchanged, %zu old serial%s revoked\n",
	       plan->nissue, kept, plan->nrevoke, plan->nrevoke == 1 ? "" : "s");
}

/*
 * Loads state, plans and runs: what every verb that changes the policy ends
 * with. Once the tokens are written they are published to capd, if asked.
 */
int issue_sync(struct capctl_ctx *ctx, const struct policy *p,
	       const struct issue_opts *o)
{
	struct capctl_state st;
	struct issue_plan plan;
	bool written;
	int ret, kret;

	ret = state_load(ctx, &st);
	if (ret != CAPCTL_OK)
		return ret;
	ret = issue_plan_build(ctx, &st, p, o, &plan);
	if (ret == CAPCTL_OK)
		ret = issue_plan_run(ctx, &st, &plan, o);
	if (ret == CAPCTL_OK && !o->quiet && o->only_kind < 0)
		summarise(&plan);
	written = ret == CAPCTL_OK;
	if (ret == CAPCTL_OK) {
		kret = flag_keyless(&plan, o);
		if (kret != CAPCTL_OK)
			ret = kret;
	}
	if (written) {
		kret = publish_after_change(ctx);
		if (kret != CAPCTL_OK)
			ret = kret;
	}
	issue_plan_free(&plan);
	state_free(&st);
	return ret;
}
