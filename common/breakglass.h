/*
 * common/breakglass.h - who may always log in to repair a host.
 *
 * A break-glass user is let in where captun would otherwise refuse the
 * login (no valid user token, no valid host token, capd or capshim not
 * answering); the host is isolated instead (empty capability) and the
 * login is logged at LOG_ALERT and in capd's audit log. capd and pam_capd
 * decide with the same lists, from captun.conf's [capd] section:
 *
 *   break-glass-users   names, comma- or space-separated; root is always
 *                       one unless the value is "none" (default: root)
 *   break-glass-groups  group names; members (primary or supplementary)
 *                       are break-glass users; groups that do not exist
 *                       are skipped (default: sudo,wheel; "none": nobody)
 *
 * The defaults are chosen so that no configuration mistake locks every
 * admin out: a list that cannot be read falls back to them, and a typo
 * in a list can add or miss a name but never drops root.
 */
#ifndef CAPTUN_COMMON_BREAKGLASS_H
#define CAPTUN_COMMON_BREAKGLASS_H

#include <stdbool.h>
#include <stddef.h>

#define BREAKGLASS_USERS_DEFAULT "root"
#define BREAKGLASS_GROUPS_DEFAULT "sudo,wheel"

enum breakglass_limit {
	BREAKGLASS_LIST_MAX = 1024,	/* bytes of a list */
	BREAKGLASS_NAME_MAX = 64,	/* bytes of one name */
	BREAKGLASS_GROUPS_MAX = 256,	/* groups of one user looked at */
};

/* Whether list is "none" or names of [A-Za-z0-9_.-] separated by ',' or spaces. */
bool breakglass_list_ok(const char *list);

/*
 * Whether user is a break-glass user under users and groups (NULL: the
 * defaults; an invalid list: its default). why gets "user root" or
 * "group sudo" when it is.
 */
bool breakglass_match(const char *users, const char *groups, const char *user,
		      char *why, size_t whycap);

#endif
