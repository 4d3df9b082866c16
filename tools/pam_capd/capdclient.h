/*
 * tools/pam_capd/capdclient.h - one request to capd over its Unix socket,
 * within a deadline. No PAM: the unit tests drive it against a fake capd.
 */
#ifndef CAPTUN_PAM_CAPD_CAPDCLIENT_H
#define CAPTUN_PAM_CAPD_CAPDCLIENT_H

#include <stddef.h>

enum capdclient_limit {
	CAPDCLIENT_ANSWER_MAX = 256 * 1024,	/* capd's line bound (PROTOCOL.md) */
};

/*
 * Connects to path, sends line (which ends with '\n') and reads one answer
 * line, all within timeout_ms. On 0, *answer is the malloc'd line without
 * its '\n' and *len its length. Errors: -ETIMEDOUT; -ENOENT, -ECONNREFUSED,
 * -EACCES (no capd there); -EPROTO (capd closed without a whole line);
 * -EMSGSIZE (longer than CAPDCLIENT_ANSWER_MAX); -ENAMETOOLONG; other
 * -errno from the socket calls.
 */
int capdclient_request_send(const char *path, const char *line, int timeout_ms,
			    char **answer, size_t *len);

#endif
