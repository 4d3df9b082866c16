/*
 * tools/pam_capd/pam_capd.c - the PAM session module that tells capd about
 * logins, so that a host's capability narrows to the users on it.
 *
 *   session required pam_capd.so [socket=PATH] [timeout=MS] [on_error=refuse|allow]
 *                                [no_token=refuse|skip]
 *
 * open_session sends capd {"cmd":"open",...} with this process's pid (the
 * one that lives as long as the session: sshd's privileged session process)
 * and keeps the session id capd answers (pam_set_data); capd's refusal
 * refuses the login. When capd cannot be reached in time, or answers
 * something that is not a capd answer, on_error decides (default refuse:
 * a login capd has not recorded would escape the narrowing of the host's
 * capability). no_token=skip lets a user for whom capd holds no token at
 * all (root, service accounts: not captun users) through unrecorded; it is
 * meant for su, sudo, cron and at, whose targets are often such accounts,
 * while sshd keeps the default (refuse). close_session closes by session
 * id (by pid if the open left none). Options are checked strictly: an unknown one is an error.
 * Every outcome goes to syslog with user, service, rhost and result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "capdclient.h"
#include "config.h"
#include "pamcfg.h"
#include "rescue.h"

/* The module's only exports; everything else is hidden (-fvisibility). */
#define PAM_CAPD_EXPORT __attribute__((visibility("default")))

/* pam_set_data key; its value is capd's session id as JSON text, or ""
 * when on_error=allow let the session in without capd recording it. */
static const char DATA_KEY[] = "pam_capd.session";

enum { FIELD_MAX = 96 };

/* The session's PAM items, raw for capd and cleaned for the log. */
struct who {
	const char *user, *service, *tty, *rhost;
	char log[4 * FIELD_MAX + 64];
};

static const char *item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

/* Fills w from the handle; the log part is "user=U service=S rhost=R tty=T pid=P". */
static void who_get(pam_handle_t *pamh, struct who *w)
{
	char u[FIELD_MAX], s[FIELD_MAX], r[FIELD_MAX], t[FIELD_MAX];

	w->user = item(pamh, PAM_USER);
	w->service = item(pamh, PAM_SERVICE);
	w->tty = item(pamh, PAM_TTY);
	w->rhost = item(pamh, PAM_RHOST);
	snprintf(w->log, sizeof(w->log), "user=%s service=%s rhost=%s tty=%s pid=%ld",
		 pamcfg_text_clean(w->user, false, u, sizeof(u)),
		 pamcfg_text_clean(w->service, false, s, sizeof(s)),
		 pamcfg_text_clean(w->rhost, false, r, sizeof(r)),
		 pamcfg_text_clean(w->tty, false, t, sizeof(t)), (long)getpid());
}

static void data_free(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Options first: a mistyped option is a configuration error, never a default. */
static int config_get(pam_handle_t *pamh, const char *what, int argc, const char **argv,
		      struct pamcfg *cfg)
{
	char err[PAMCFG_ERR_MAX], clean[PAMCFG_ERR_MAX];

	if (pamcfg_args_parse(cfg, argc, argv, err, sizeof(err)) == 0) {
		/* One configuration file: capd's socket is where captun.conf says. */
		if (!cfg->socket_set)
			config_value(cfg->config, "capd", "socket", cfg->socket,
				     sizeof(cfg->socket));
		return 0;
	}
	pam_syslog(pamh, LOG_ERR, "%s result=config-error reason=\"%s\"", what,
		   pamcfg_text_clean(err, true, clean, sizeof(clean)));
	return -EINVAL;
}

/* Sends line to capd and parses the answer: 0, -EPERM (capd said no), or
 * another -errno (capd unreachable or broken), with the reason in ans. */
static int capd_ask(const struct pamcfg *cfg, const char *line, bool want_session,
		    struct pamcfg_answer *ans)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(ans, 0, sizeof(*ans));
	ret = capdclient_request_send(cfg->socket, line, cfg->timeout_ms, &text, &len);
	if (ret < 0) {
		snprintf(ans->error, sizeof(ans->error), "capd at %s: %s", cfg->socket,
			 ret == -ETIMEDOUT ? "no answer in time" :
			 ret == -EPROTO ? "closed without answering" : strerror(-ret));
		return ret;
	}
	ret = pamcfg_answer_parse(text, len, want_session, ans);
	free(text);
	return ret;
}

/* The PAM result of a capd failure under on_error. */
static int on_error_result(const struct pamcfg *cfg)
{
	return cfg->on_error == PAMCFG_ON_ERROR_ALLOW ? PAM_SUCCESS : PAM_SESSION_ERR;
}

PAM_CAPD_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
					const char **argv)
{
	struct pamcfg_open o = { 0 };
	struct pamcfg_answer ans;
	char reason[PAMCFG_TEXT_MAX], *line = NULL, *id;
	struct pamcfg cfg;
	struct who w;
	int ret;

	who_get(pamh, &w);
	if (config_get(pamh, "open", argc, argv, &cfg) < 0)
		return PAM_SERVICE_ERR;
	o.user = w.user;
	o.service = w.service;
	o.tty = w.tty;
	o.rhost = w.rhost;
	o.pid = getpid();
	o.no_token_skip = cfg.no_token_skip;
	ret = pamcfg_open_build(&o, &line);
	if (ret < 0) {
		pam_syslog(pamh, LOG_ERR, "open %s result=refused reason=\"%s\"", w.log,
			   ret == -EINVAL ? "no user, or a name that is not UTF-8" :
			   strerror(-ret));
		return PAM_SESSION_ERR;
	}
	ret = capd_ask(&cfg, line, true, &ans);
	free(line);
	pamcfg_text_clean(ans.error, true, reason, sizeof(reason));
	if (ret == -EPERM) {
		pam_syslog(pamh, LOG_WARNING, "open %s result=refused reason=\"%s\"",
			   w.log, reason);
		return PAM_SESSION_ERR;
	}
	if (ret < 0) {
		struct rescue_who rw = { w.user, w.service, w.tty, w.rhost, w.log };
		int result = on_error_result(&cfg);

		if (rescue_login(pamh, &cfg, &rw, reason) == 0)
			result = PAM_SUCCESS;
		else if (result == PAM_SUCCESS)
			pam_syslog(pamh, LOG_ERR, "open %s result=allowed-unrecorded reason=\"%s\"",
				   w.log, reason);
		else
			pam_syslog(pamh, LOG_ERR, "open %s result=refused-capd-error reason=\"%s\"",
				   w.log, reason);
		if (result == PAM_SUCCESS) {
			id = strdup("");
			if (!id || pam_set_data(pamh, DATA_KEY, id, data_free) != PAM_SUCCESS) {
				free(id);
				pam_syslog(pamh, LOG_ERR, "open %s result=refused reason=\"%s; "
					   "cannot keep session data\"", w.log, reason);
				return PAM_SESSION_ERR;
			}
		}
		return result;
	}
	if (!ans.recorded) {
		id = strdup("");
		if (!id || pam_set_data(pamh, DATA_KEY, id, data_free) != PAM_SUCCESS) {
			free(id);
			pam_syslog(pamh, LOG_ERR, "open %s result=refused reason=\"cannot keep "
				   "session data\"", w.log);
			return PAM_SESSION_ERR;
		}
		pam_syslog(pamh, LOG_INFO, "open %s result=skipped-no-token reason=\"%s\"",
			   w.log, reason);
		return PAM_SUCCESS;
	}
	id = strdup(ans.session);
	if (!id || pam_set_data(pamh, DATA_KEY, id, data_free) != PAM_SUCCESS) {
		/* capd has the session; its pid watch closes it when we exit. */
		free(id);
		pam_syslog(pamh, LOG_ERR, "open %s result=refused reason=\"cannot keep "
			   "session data\" session=%s", w.log, ans.session);
		return PAM_SESSION_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "open %s result=accepted session=%s epoch=%lld mask=%s",
		   w.log, ans.session, ans.epoch,
		   pamcfg_text_clean(ans.mask, false, reason, sizeof(reason)));
	return PAM_SUCCESS;
}

PAM_CAPD_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
					 const char **argv)
{
	const void *data = NULL;
	struct pamcfg_answer ans;
	char reason[PAMCFG_TEXT_MAX], session[PAMCFG_SESSION_MAX], *line = NULL;
	struct pamcfg cfg;
	struct who w;
	int ret;

	who_get(pamh, &w);
	if (config_get(pamh, "close", argc, argv, &cfg) < 0)
		return PAM_SERVICE_ERR;
	if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS)
		data = NULL;
	if (data && !*(const char *)data) {
		rescue_logout(&cfg);
		pam_syslog(pamh, LOG_NOTICE, "close %s result=skipped reason=\"capd "
			   "never recorded this session (break-glass, on_error=allow or no_token=skip)\"",
			   w.log);
		return PAM_SUCCESS;
	}
	snprintf(session, sizeof(session), "%s", data ? (const char *)data : "");
	ret = pamcfg_close_build(session, getpid(), &line);
	if (ret < 0) {
		pam_syslog(pamh, LOG_ERR, "close %s result=error reason=\"%s\"", w.log,
			   strerror(-ret));
		return PAM_SESSION_ERR;
	}
	ret = capd_ask(&cfg, line, false, &ans);
	free(line);
	pamcfg_text_clean(ans.error, true, reason, sizeof(reason));
	if (ret == 0) {
		pam_syslog(pamh, LOG_INFO, "close %s result=closed session=%s epoch=%lld mask=%s",
			   w.log, session[0] ? session : "-", ans.epoch,
			   pamcfg_text_clean(ans.mask, false, reason, sizeof(reason)));
		if (pam_set_data(pamh, DATA_KEY, NULL, NULL) != PAM_SUCCESS)
			pam_syslog(pamh, LOG_ERR, "close %s: cannot drop session data", w.log);
		return PAM_SUCCESS;
	}
	/* capd also closes the session itself when this process exits. */
	pam_syslog(pamh, LOG_ERR, "close %s result=%s session=%s reason=\"%s\"", w.log,
		   ret == -EPERM ? "refused" : "capd-error", session[0] ? session : "-",
		   reason);
	return ret == -EPERM ? PAM_SESSION_ERR : on_error_result(&cfg);
}
