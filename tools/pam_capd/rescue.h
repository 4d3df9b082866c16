/*
 * tools/pam_capd/rescue.h - break-glass logins while capd is away.
 */
#ifndef CAPTUN_PAM_CAPD_RESCUE_H
#define CAPTUN_PAM_CAPD_RESCUE_H

#include <stdbool.h>
#include <stddef.h>

#include <security/pam_modules.h>

#include "pamcfg.h"

/* The session's items, raw, and their cleaned text for the log. */
struct rescue_who {
	const char *user, *service, *tty, *rhost;
	const char *log;
};

/* Whether user is a break-glass user under cfg's captun.conf. */
bool rescue_is_breakglass(const struct pamcfg *cfg, const char *user, char *why,
			  size_t whycap);

/*
 * capd could not be reached (reason): 0 if the login is a break-glass one
 * and is let in (isolated, logged, marked for capd), -EPERM if not.
 */
int rescue_login(pam_handle_t *pamh, const struct pamcfg *cfg, const struct rescue_who *w,
		 const char *reason);

/* The break-glass session ends: its marker goes, if capd has not taken it. */
void rescue_logout(const struct pamcfg *cfg);

#endif
