/*
 * tools/pam_capd/pamcfg.h - the parts of pam_capd that need no libpam:
 * the module's options, the JSON lines it sends to capd, the answers it
 * reads back, and the text it logs. Kept apart so that the unit test
 * runner links them without PAM.
 */
#ifndef CAPTUN_PAM_CAPD_PAMCFG_H
#define CAPTUN_PAM_CAPD_PAMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "version.h"

#define PAMCFG_SOCKET_DEFAULT CAPTUN_CAPD_SOCKET
#define PAMCFG_CONFIG_DEFAULT CAPTUN_CONFIG_PATH
#define PAMCFG_SOCKET_MAX 108		/* sizeof(sockaddr_un.sun_path) */

enum pamcfg_limit {
	PAMCFG_TIMEOUT_DEFAULT_MS = 2000,
	PAMCFG_TIMEOUT_MIN_MS = 1,
	PAMCFG_TIMEOUT_MAX_MS = 60000,
	PAMCFG_SESSION_MAX = 128,	/* the session id, as JSON text */
	PAMCFG_TEXT_MAX = 256,		/* error and mask texts kept for logs */
	PAMCFG_ERR_MAX = 256,
};

enum pamcfg_on_error {
	PAMCFG_ON_ERROR_REFUSE,		/* capd unreachable: refuse the login */
	PAMCFG_ON_ERROR_ALLOW,		/* capd unreachable: let it in, unrecorded */
};

struct pamcfg {
	char socket[PAMCFG_SOCKET_MAX];
	bool socket_set;		/* socket= given; else captun.conf's [capd] socket */
	char config[PAMCFG_SOCKET_MAX];	/* captun.conf: socket and break-glass lists */
	int timeout_ms;
	enum pamcfg_on_error on_error;
	bool no_token_skip;		/* no_token=skip: not a captun user, let in */
};

/* What an "open" request says about the session. NULL strings go as "". */
struct pamcfg_open {
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	pid_t pid;
	bool no_token_skip;		/* sends "no_token":"skip" */
};

/* capd's answer to open or close, reduced to what the module needs. */
struct pamcfg_answer {
	char session[PAMCFG_SESSION_MAX];	/* JSON text of the id, "" if none */
	long long epoch;			/* -1 if the answer had none */
	char mask[PAMCFG_TEXT_MAX];		/* "" if none; cut with "..." */
	char error[PAMCFG_TEXT_MAX];		/* capd's error, or what was wrong;
						 * why, when not recorded */
	bool recorded;				/* false: no_token=skip let it in */
};

/*
 * Parses the module's arguments (socket=PATH timeout=MS on_error=refuse|allow
 * no_token=refuse|skip config=PATH) into cfg, defaults first. Any unknown,
 * repeated, empty or out-of-range
 * option is an error: 0, or -EINVAL with a one-line reason in err.
 */
int pamcfg_args_parse(struct pamcfg *cfg, int argc, const char **argv,
		      char *err, size_t errlen);

/* The "open" request line (malloc'd, '\n'-terminated): 0 or -errno. */
int pamcfg_open_build(const struct pamcfg_open *o, char **line);

/*
 * The "close" request line (malloc'd, '\n'-terminated): by session id (its
 * JSON text, as pamcfg_answer_parse kept it) or, if session is NULL or
 * empty, by pid. 0, -EINVAL for a session text that is no string or
 * integer, -ENOMEM.
 */
int pamcfg_close_build(const char *session, pid_t pid, char **line);

/*
 * Parses one answer line (without its '\n'). 0: ok, with the session id
 * when want_session (an ok answer lacking one is malformed), or with
 * recorded false and capd's why in error ("recorded":false: a user with no
 * token at all let in under no_token=skip); -EPERM: capd
 * said no, its reason in ans->error; -EBADMSG: not a capd answer, what was
 * wrong in ans->error.
 */
int pamcfg_answer_parse(const char *line, size_t len, bool want_session,
			struct pamcfg_answer *ans);

/*
 * Copies in (NULL or "": "-") into out for a log line: bounded, and every
 * byte that is not printable ASCII, a quote or a backslash becomes '?', and
 * so does a space unless keep_spaces (for a quoted reason), so that a user
 * or host name cannot forge log fields or lines. Returns out.
 */
const char *pamcfg_text_clean(const char *in, bool keep_spaces, char *out, size_t outlen);

#endif
