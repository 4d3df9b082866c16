/*
 * tools/capctl/revlist.c - the revoked set: kept in state.json with each
 * serial's expiry (for pruning), and published as revocation.list, the
 * signed list armored as "REVOCATION LIST". Each new list carries the next
 * list serial, so that capd can take only newer lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "capctl.h"
#include "fileio.h"

/* Binary search: the index of serial, or where it would go. */
static size_t find(const struct capctl_state *st, uint64_t serial, bool *found)
{
	size_t lo = 0, hi = st->nrevoked;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->revoked[mid].serial == serial) {
			*found = true;
			return mid;
		}
		if (st->revoked[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Is serial revoked (per state.json and the list on disk)? */
bool revlist_serial_has(const struct capctl_state *st, uint64_t serial)
{
	bool found;

	find(st, serial, &found);
	return found;
}

/* Keeps the set sorted; a known expiry replaces an unknown one. */
int revlist_serial_add(struct capctl_state *st, uint64_t serial,
		       uint64_t not_after)
{
	bool found;
	size_t at = find(st, serial, &found);

	if (found) {
		if (st->revoked[at].not_after == UINT64_MAX)
			st->revoked[at].not_after = not_after;
		return 0;
	}
	if (st->nrevoked == st->caprevoked) {
		size_t cap = st->caprevoked ? st->caprevoked * 2 : 64;
		struct rev_entry *r = realloc(st->revoked, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		st->revoked = r;
		st->caprevoked = cap;
	}
	memmove(st->revoked + at + 1, st->revoked + at,
		(st->nrevoked - at) * sizeof(*st->revoked));
	st->revoked[at].serial = serial;
	st->revoked[at].not_after = not_after;
	st->nrevoked++;
	return 0;
}

/*
 * Drops serials whose tokens expired long enough ago that no verifier with
 * a clock up to CAPCTL_SKEW behind still accepts them. Returns how many.
 */
size_t revlist_serials_prune(struct capctl_state *st, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nrevoked; i++) {
		uint64_t na = st->revoked[i].not_after;

		if (na != UINT64_MAX && na + CAPCTL_SKEW < now)
			continue;
		st->revoked[n++] = st->revoked[i];
	}
	n = st->nrevoked - n;
	st->nrevoked -= n;
	return n;
}

/*
 * Takes in what revocation.list says: a crash between writing the list and
 * writing state.json leaves the list ahead, and what it revoked stays
 * revoked. Marks the list stale when it is behind state.json.
 */
int revlist_reconcile(struct capctl_ctx *ctx, struct capctl_state *st)
{
	struct revocation rl;
	enum token_status why = TOKEN_OK;
	int ret;

	memset(&rl, 0, sizeof(rl));
	ret = revlist_read(ctx, &rl, &why);
	if (ret == -ENOENT) {
		st->list_stale = true;
		return CAPCTL_OK;
	}
	if (ret == -EBADMSG || ret == -EPROTO) {
		util_note("%s does not verify (%s); the next change rewrites it",
			  ctx->path_revlist,
			  ret == -EPROTO ? token_status_str(why) : "bad armor");
		st->list_stale = true;
		return CAPCTL_OK;
	}
	if (ret < 0)
		return util_io_fail(ret, "read", ctx->path_revlist);
	st->list_present = true;
	st->list_serial = rl.serial;
	st->list_count = rl.count;
	if (rl.serial > st->revocation_serial)
		st->revocation_serial = rl.serial;
	for (uint32_t i = 0; i < rl.count; i++)
		if (!revlist_serial_has(st, rl.serials[i]) &&
		    revlist_serial_add(st, rl.serials[i],
				       state_expiry_find(st, rl.serials[i])) < 0) {
			revocation_free(&rl);
			return util_fail(CAPCTL_SYS, "", "out of memory");
		}
	if (rl.serial < st->revocation_serial || rl.count != st->nrevoked)
		st->list_stale = true;
	revocation_free(&rl);
	return CAPCTL_OK;
}

/*
 * Reads and verifies revocation.list against authority.pub. Returns 0,
 * -ENOENT when there is none, -EBADMSG when it is not an armored list,
 * -EPROTO when it does not verify (*why says why), or another -errno.
 */
int revlist_read(struct capctl_ctx *ctx, struct revocation *rl,
		 enum token_status *why)
{
	struct capctl_obj obj;
	enum token_status st;
	int ret;

	memset(rl, 0, sizeof(*rl));
	if (ctx_pub_load(ctx) != CAPCTL_OK)
		return -EINVAL;
	ret = util_obj_read(ctx->path_revlist, &obj);
	if (ret < 0)
		return ret;
	if (obj.armored && strcmp(obj.label, TOKEN_ARMOR_REVOCATION) != 0) {
		util_obj_free(&obj);
		return -EBADMSG;
	}
	st = revocation_verify(obj.bin, obj.len, ctx->authority_pk, rl);
	util_obj_free(&obj);
	if (st != TOKEN_OK) {
		*why = st;
		return -EPROTO;
	}
	return 0;
}

/*
 * Signs the revoked set of st (pruned of long-expired serials) as the next
 * list and writes it. Needs the authority key loaded. On success st carries
 * the new list serial; st is to be saved after, never before.
 */
int revlist_write(struct capctl_ctx *ctx, struct capctl_state *st)
{
	struct revocation rl;
	uint8_t *bin = NULL;
	char *text = NULL;
	size_t binlen = 0, textlen = 0;
	int ret;

	revlist_serials_prune(st, ctx->now);
	if (st->nrevoked > WIRE_REVOCATION_MAX)
		return util_fail(CAPCTL_FAIL,
				 "wait for revoked tokens to expire, or shorten validity",
				 "more than %d revoked serials are still unexpired",
				 WIRE_REVOCATION_MAX);
	memset(&rl, 0, sizeof(rl));
	rl.serial = st->revocation_serial + 1;
	rl.issued_at = ctx->now;
	rl.count = (uint32_t)st->nrevoked;
	if (rl.count) {
		rl.serials = malloc(rl.count * sizeof(*rl.serials));
		if (!rl.serials)
			return util_fail(CAPCTL_SYS, "", "out of memory");
		for (size_t i = 0; i < st->nrevoked; i++)
			rl.serials[i] = st->revoked[i].serial;
	}
	ret = revocation_sign(&rl, &ctx->ak, &bin, &binlen);
	free(rl.serials);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "", "cannot sign the revocation list: %s",
				 strerror(-ret));
	ret = armor_encode(TOKEN_ARMOR_REVOCATION, bin, binlen, &text, &textlen);
	free(bin);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "", "cannot armor the revocation list: %s",
				 strerror(-ret));
	ret = fileio_write_atomic(ctx->path_revlist, text, textlen, 0644);
	free(text);
	if (ret < 0)
		return util_io_fail(ret, "write", ctx->path_revlist);
	st->revocation_serial++;
	st->list_present = true;
	st->list_serial = st->revocation_serial;
	st->list_count = (uint32_t)st->nrevoked;
	st->list_stale = false;
	return CAPCTL_OK;
}
