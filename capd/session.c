/*
 * capd/session.c - the session table: open sessions by id, the distinct
 * users behind them (each counted once, whatever its number of sessions),
 * and the effective capability they leave this host:
 *
 *   host grant AND the grant of every distinct logged-in user,
 *
 * empty (isolated) while any of those users has no valid token. Pure data:
 * no I/O, no clock beyond the "now" callers pass, so tests drive it whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capd.h"

void capd_table_init(struct capd_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

/* Frees every session still held; callers close their pidfds first. */
void capd_table_free(struct capd_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

struct capd_user *capd_table_user(struct capd_table *t, const char *name)
{
	for (size_t i = 0; i < t->nusers; i++)
		if (strcmp(t->users[i].name, name) == 0)
			return &t->users[i];
	return NULL;
}

/* Keeps the array ordered by id, so list and the state file are stable. */
static size_t slot_for(const struct capd_table *t, uint64_t id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->s[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Adds s (the table owns it from here). A user seen for the first time gets
 * an entry with err = -ENODATA: its token is not verified yet, which counts
 * as invalid until the caller verifies it. Returns 0, -ENOSPC (too many
 * sessions), -EUSERS (too many distinct users), -EEXIST (id taken) or
 * -ENOMEM.
 */
int capd_table_add(struct capd_table *t, struct capd_session *s,
		   struct capd_user **user)
{
	struct capd_user *u = capd_table_user(t, s->user);
	size_t at;

	if (t->n >= CAPD_SESSIONS_MAX)
		return -ENOSPC;
	if (!u && t->nusers >= CAPD_USERS_MAX)
		return -EUSERS;
	at = slot_for(t, s->id);
	if (at < t->n && t->s[at]->id == s->id)
		return -EEXIST;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 16;
		struct capd_session **ns = realloc(t->s, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		t->cap = ncap;
	}
	if (!u) {
		u = &t->users[t->nusers++];
		memset(u, 0, sizeof(*u));
		memcpy(u->name, s->user, strlen(s->user) + 1);
		u->err = -ENODATA;
	}
	u->nsessions++;
	memmove(&t->s[at + 1], &t->s[at], (t->n - at) * sizeof(*t->s));
	t->s[at] = s;
	t->n++;
	if (s->id >= t->next_id)
		t->next_id = s->id + 1;
	if (user)
		*user = u;
	return 0;
}

/* Takes session idx out and hands it back; its user goes with its last one. */
struct capd_session *capd_table_remove(struct capd_table *t, size_t idx)
{
	struct capd_session *s;
	struct capd_user *u;

	if (idx >= t->n)
		return NULL;
	s = t->s[idx];
	memmove(&t->s[idx], &t->s[idx + 1], (t->n - idx - 1) * sizeof(*t->s));
	t->n--;
	u = capd_table_user(t, s->user);
	if (u && --u->nsessions == 0) {
		size_t ui = (size_t)(u - t->users);

		memmove(&t->users[ui], &t->users[ui + 1],
			(t->nusers - ui - 1) * sizeof(*t->users));
		t->nusers--;
	}
	return s;
}

ssize_t capd_table_find_id(const struct capd_table *t, uint64_t id)
{
	size_t at = slot_for(t, id);

	return at < t->n && t->s[at]->id == id ? (ssize_t)at : -1;
}

/* The first session of pid at or after index from, or -1. */
ssize_t capd_table_find_pid(const struct capd_table *t, pid_t pid, size_t from)
{
	for (size_t i = from; i < t->n; i++)
		if (t->s[i]->pid == pid)
			return (ssize_t)i;
	return -1;
}

/* Verified, and still within its validity at now. */
bool capd_user_valid(const struct capd_user *u, uint64_t now)
{
	return u->err == 0 && now >= u->tok.not_before && now <= u->tok.not_after;
}

/* Why a user's token does not count, in words ("" if it does). */
const char *capd_user_why(const struct capd_user *u, uint64_t now)
{
	switch (u->err) {
	case 0:
		if (now < u->tok.not_before)
			return token_status_str(TOKEN_ERR_NOT_YET_VALID);
		if (now > u->tok.not_after)
			return token_status_str(TOKEN_ERR_EXPIRED);
		return "";
	case -ENOENT:
		return "no token for this user on this host";
	case -ENODATA:
		return "token not verified yet";
	case -EINVAL:
		return "the token file is not an armored user token";
	case -ENAMETOOLONG:
		return "the login name cannot name a token";
	case -EBADE:
		return "the token file holds another user's token";
	case -EKEYREJECTED:
		return token_status_str(u->st);
	default:
		return strerror(-u->err);
	}
}

/*
 * The effective capability: host_grant AND each user's grant; any user
 * without a valid token empties it and sets *isolate.
 */
void capd_cap_compute(const struct mask *host_grant,
		      const struct capd_user *users, size_t n, uint64_t now,
		      struct mask *out, bool *isolate)
{
	*out = *host_grant;
	*isolate = false;
	for (size_t i = 0; i < n; i++) {
		if (!capd_user_valid(&users[i], now)) {
			*isolate = true;
			continue;
		}
		mask_and(out, &users[i].tok.grant);
	}
	if (*isolate)
		mask_clear(out);
}

/* "A,B": the distinct users, comma-separated; like snprintf's return. */
size_t capd_users_text(const struct capd_table *t, char *out, size_t cap)
{
	size_t len = 0;
	bool fits = true;

	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < t->nusers; i++) {
		const char *name = t->users[i].name;
		size_t nl = strlen(name) + (i ? 1 : 0);

		fits = fits && len + nl < cap;
		if (fits) {
			if (i)
				out[len] = ',';
			memcpy(out + len + (i ? 1 : 0), name, strlen(name) + 1);
		}
		len += nl;
	}
	return len;
}
