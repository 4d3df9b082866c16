/*
 * common/breakglass.c - break-glass users and groups (breakglass.h).
 * No captun dependencies: pam_capd.so links it too.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breakglass.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

bool breakglass_list_ok(const char *list)
{
	size_t len = 0;

	if (strlen(list) >= BREAKGLASS_LIST_MAX)
		return false;
	if (strcmp(list, "none") == 0)
		return true;
	for (const char *p = list; ; p++) {
		if (*p && name_char(*p)) {
			if (++len > BREAKGLASS_NAME_MAX)
				return false;
			continue;
		}
		if (*p && !sep(*p))
			return false;
		len = 0;
		if (!*p)
			return true;
	}
}

/* Calls fn for each name of list until it returns true. */
static bool each(const char *list, bool (*fn)(const char *name, const void *arg),
		 const void *arg)
{
	char name[BREAKGLASS_NAME_MAX + 1];
	size_t n = 0;

	for (const char *p = list; ; p++) {
		if (*p && !sep(*p)) {
			if (n < BREAKGLASS_NAME_MAX)
				name[n++] = *p;
			continue;
		}
		if (n) {
			name[n] = '\0';
			if (fn(name, arg))
				return true;
		}
		n = 0;
		if (!*p)
			return false;
	}
}

static bool same(const char *name, const void *arg)
{
	return strcmp(name, (const char *)arg) == 0;
}

struct member_of {
	const gid_t *gids;
	int n;
	char hit[BREAKGLASS_NAME_MAX + 1];
};

static bool member(const char *name, const void *arg)
{
	struct member_of *m = (struct member_of *)arg;
	struct group *g = getgrnam(name);

	if (!g)
		return false;
	for (int i = 0; i < m->n; i++)
		if (m->gids[i] == g->gr_gid) {
			snprintf(m->hit, sizeof(m->hit), "%s", name);
			return true;
		}
	return false;
}

bool breakglass_match(const char *users, const char *groups, const char *user,
		      char *why, size_t whycap)
{
	gid_t gids[BREAKGLASS_GROUPS_MAX];
	struct member_of m = { gids, BREAKGLASS_GROUPS_MAX, "" };
	struct passwd *pw;

	if (!users || !breakglass_list_ok(users))
		users = BREAKGLASS_USERS_DEFAULT;
	if (!groups || !breakglass_list_ok(groups))
		groups = BREAKGLASS_GROUPS_DEFAULT;
	if (!user || !*user)
		return false;
	if (strcmp(users, "none") != 0 &&
	    (strcmp(user, "root") == 0 || each(users, same, user))) {
		snprintf(why, whycap, "user %s", user);
		return true;
	}
	if (strcmp(groups, "none") == 0)
		return false;
	pw = getpwnam(user);
	if (!pw)
		return false;
	if (getgrouplist(user, pw->pw_gid, gids, &m.n) < 0)
		m.n = BREAKGLASS_GROUPS_MAX;	/* the first ones it filled in */
	if (!each(groups, member, &m))
		return false;
	snprintf(why, whycap, "group %s", m.hit);
	return true;
}
