/*
 * tools/capctl/state.c - state.json: the serial counters, the revoked set
 * (each revoked serial with its token's expiry, so that expired entries can
 * be pruned) and a record of the token issued to each host and user.
 *
 * {
 *   "version": 1,
 *   "next_serial": 12,
 *   "revocation_serial": 4,
 *   "revoked": [ { "serial": 3, "not_after": 1717000000 } ],
 *   "tokens": { "hosts": { "host1": { "serial": 5, "not_before": ..,
 *                                      "not_after": .. } },
 *               "users": { .. } }
 * }
 *
 * On load the file is reconciled with revocation.list (revlist.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"
#include "fileio.h"

enum state_const {
	STATE_VERSION = 1,
	STATE_FILE_MAX = 256 << 20,
};

/* The state of a new authority: serial 1 next, nothing revoked or issued. */
void state_init(struct capctl_state *st)
{
	memset(st, 0, sizeof(*st));
	st->next_serial = 1;
	st->records = json_pack("{s:{},s:{}}", "hosts", "users");
}

/* Frees what state_load() or state_init() allocated. */
void state_free(struct capctl_state *st)
{
	free(st->revoked);
	json_decref(st->records);
	memset(st, 0, sizeof(*st));
}

/* A non-negative integer member of a JSON object. */
static bool get_u64(const json_t *rec, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* The expiry of the token a record says carried serial, if any. */
uint64_t state_expiry_find(const struct capctl_state *st, uint64_t serial)
{
	const char *secs[] = { "hosts", "users" };

	for (size_t i = 0; i < 2; i++) {
		json_t *rec;
		const char *name;
		uint64_t s, na;

		json_object_foreach(json_object_get(st->records, secs[i]), name, rec)
			if (get_u64(rec, "serial", &s) && s == serial &&
			    get_u64(rec, "not_after", &na))
				return na;
	}
	return UINT64_MAX;
}

/* Records are kept per kind, like the policy. */
static const char *section(enum capctl_kind kind)
{
	return kind == KIND_HOST ? "hosts" : "users";
}

/* The record of the token issued to a host or user, or NULL. */
json_t *state_record_get(const struct capctl_state *st, enum capctl_kind kind,
			 const char *name)
{
	return json_object_get(json_object_get(st->records, section(kind)), name);
}

/* Records the token a token file now holds. */
int state_record_set(struct capctl_state *st, const struct token *t)
{
	enum capctl_kind kind = t->type == WIRE_TYPE_HOST_TOKEN ? KIND_HOST : KIND_USER;
	json_t *sec = json_object_get(st->records, section(kind));
	json_t *rec;

	rec = json_pack("{s:I,s:I,s:I}", "serial", (json_int_t)t->serial,
			"not_before", (json_int_t)t->not_before,
			"not_after", (json_int_t)t->not_after);
	if (!sec || !rec || json_object_set_new(sec, t->name, rec) < 0)
		return -ENOMEM;
	return 0;
}

/* Forgets the token of a host or user. */
void state_record_del(struct capctl_state *st, enum capctl_kind kind,
		      const char *name)
{
	json_object_del(json_object_get(st->records, section(kind)), name);
}

/* Does state.json know the token the file holds? If not, status flags it. */
bool state_record_matches(const struct capctl_state *st, const struct token *t)
{
	enum capctl_kind kind = t->type == WIRE_TYPE_HOST_TOKEN ? KIND_HOST : KIND_USER;
	json_t *rec = state_record_get(st, kind, t->name);
	uint64_t s, nb, na;

	return rec && get_u64(rec, "serial", &s) && get_u64(rec, "not_before", &nb) &&
	       get_u64(rec, "not_after", &na) && s == t->serial &&
	       nb == t->not_before && na == t->not_after;
}

/* A state.json that does not parse is restored from backup, not guessed at. */
static int reject(const struct capctl_ctx *ctx, const char *what)
{
	return util_fail(CAPCTL_FAIL, "restore it from a backup",
			 "%s: %s", ctx->path_state, what);
}

/* Checks the shape of "tokens" and takes it over as the record set. */
static int parse_records(struct capctl_ctx *ctx, struct capctl_state *st,
			 json_t *tokens)
{
	const char *secs[] = { "hosts", "users" };

	if (!json_is_object(tokens))
		return reject(ctx, "\"tokens\" must be an object");
	for (size_t i = 0; i < 2; i++) {
		json_t *sec = json_object_get(tokens, secs[i]), *rec;
		const char *name;
		uint64_t v;

		if (!json_is_object(sec))
			return reject(ctx, "\"tokens\" needs \"hosts\" and \"users\" objects");
		json_object_foreach(sec, name, rec)
			if (!get_u64(rec, "serial", &v) ||
			    !get_u64(rec, "not_before", &v) ||
			    !get_u64(rec, "not_after", &v))
				return reject(ctx, "a token record lacks serial or validity");
	}
	json_decref(st->records);
	st->records = json_incref(tokens);
	return CAPCTL_OK;
}

/* The revoked set, kept sorted in memory. */
static int parse_revoked(struct capctl_ctx *ctx, struct capctl_state *st,
			 json_t *arr)
{
	size_t i;
	json_t *e;

	if (!json_is_array(arr))
		return reject(ctx, "\"revoked\" must be a list");
	json_array_foreach(arr, i, e) {
		json_t *na = json_object_get(e, "not_after");
		uint64_t serial, not_after = UINT64_MAX;

		if (!get_u64(e, "serial", &serial) ||
		    (!json_is_null(na) && !get_u64(e, "not_after", &not_after)))
			return reject(ctx, "a \"revoked\" entry needs serial and not_after");
		if (revlist_serial_add(st, serial, not_after) < 0)
			return util_fail(CAPCTL_SYS, "", "out of memory");
	}
	return CAPCTL_OK;
}

/* Reads, checks and reconciles state.json; nothing is guessed. */
int state_load(struct capctl_ctx *ctx, struct capctl_state *st)
{
	json_error_t jerr;
	json_t *root, *v;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t ver;
	int ret;

	state_init(st);
	if (!st->records)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	ret = fileio_read(ctx->path_state, STATE_FILE_MAX, &buf, &len);
	if (ret < 0)
		return util_io_fail(ret, "read", ctx->path_state);
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!root)
		return util_fail(CAPCTL_FAIL, "restore it from a backup",
				 "%s:%d:%d: %s", ctx->path_state, jerr.line,
				 jerr.column, jerr.text);
	ret = CAPCTL_OK;
	if (!json_is_object(root) || !get_u64(root, "version", &ver) ||
	    ver != STATE_VERSION)
		ret = reject(ctx, "not a version 1 capctl state file");
	else if (!get_u64(root, "next_serial", &st->next_serial) ||
		 st->next_serial == 0)
		ret = reject(ctx, "\"next_serial\" must be a positive integer");
	else if (!get_u64(root, "revocation_serial", &st->revocation_serial))
		ret = reject(ctx, "\"revocation_serial\" must be an integer");
	if (ret == CAPCTL_OK)
		ret = parse_revoked(ctx, st, json_object_get(root, "revoked"));
	if (ret == CAPCTL_OK && (v = json_object_get(root, "tokens")))
		ret = parse_records(ctx, st, v);
	json_decref(root);
	if (ret == CAPCTL_OK)
		ret = ctx_pub_load(ctx);
	if (ret == CAPCTL_OK)
		ret = revlist_reconcile(ctx, st);
	if (ret == CAPCTL_OK && st->nrevoked &&
	    st->revoked[st->nrevoked - 1].serial >= st->next_serial)
		st->next_serial = st->revoked[st->nrevoked - 1].serial + 1;
	if (ret != CAPCTL_OK)
		state_free(st);
	return ret;
}

/* Writes state.json atomically; the revoked set is written in order. */
int state_save(struct capctl_ctx *ctx, const struct capctl_state *st)
{
	json_t *root, *arr;
	char *text;
	int ret;

	arr = json_array();
	root = json_pack("{s:i,s:I,s:I,s:o,s:O}", "version", STATE_VERSION,
			 "next_serial", (json_int_t)st->next_serial,
			 "revocation_serial", (json_int_t)st->revocation_serial,
			 "revoked", arr, "tokens", st->records);
	if (!root)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	for (size_t i = 0; i < st->nrevoked; i++) {
		const struct rev_entry *r = &st->revoked[i];
		json_t *e = r->not_after == UINT64_MAX
			? json_pack("{s:I,s:n}", "serial", (json_int_t)r->serial,
				    "not_after")
			: json_pack("{s:I,s:I}", "serial", (json_int_t)r->serial,
				    "not_after", (json_int_t)r->not_after);

		if (!e || json_array_append_new(arr, e) < 0) {
			json_decref(root);
			return util_fail(CAPCTL_SYS, "", "out of memory");
		}
	}
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	ret = util_write_text(ctx->path_state, text, 0644);
	free(text);
	if (ret < 0)
		return util_io_fail(ret, "write", ctx->path_state);
	return CAPCTL_OK;
}
