/*
 * capd/service.c - capd as a system service: readiness for systemd,
 * SIGHUP (re-read the directory, reopen the audit log), and time: this
 * host's token expiring ahead (warned) and past (the host is isolated at
 * that moment, not at the next file change).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "capd.h"
#include "sdnotify.h"

enum service_const {
	DAY_S = 86400,
	WARN_EVERY_S = 6 * 3600,	/* an expiry warning is repeated this often */
};

void capd_service_ready(struct capd *d)
{
	int ret = sdnotify_sendf("READY=1\nSTATUS=host %s: %zu sessions, epoch %llu, mask %s",
				 d->trust.host_ok ? d->trust.host.name : "(no valid token)",
				 d->table.n, (unsigned long long)d->pushed.epoch,
				 d->pushed.mask);

	if (ret < 0)
		capd_log(LOG_WARNING, "telling systemd we are ready: %s", strerror(-ret));
}

/*
 * Reopens the audit log at its path. After a rotation the new file is
 * empty: the chain goes on from the old file's last line, so that the two
 * files read as one chain.
 */
static void audit_reopen(struct capd *d)
{
	uint8_t prev[CAPD_HASH_LEN];
	struct stat st;
	bool fresh;
	int ret;

	memcpy(prev, d->audit.prev, sizeof(prev));
	fresh = stat(d->path_audit, &st) < 0 || st.st_size == 0;
	capd_audit_close(&d->audit);
	ret = capd_audit_open(&d->audit, d->path_audit);
	if (ret < 0) {
		capd_log(LOG_ERR, "SIGHUP: reopening %s: %s; audit records are lost until "
			 "it can be opened", d->path_audit, strerror(-ret));
		return;
	}
	if (fresh)
		memcpy(d->audit.prev, prev, sizeof(prev));
}

void capd_service_reload(struct capd *d)
{
	sdnotify_send("RELOADING=1");
	audit_reopen(d);
	d->trust_dirty = true;	/* the next tick re-reads tokens and list */
	capd_log(LOG_INFO, "SIGHUP: audit log reopened; re-reading %s", d->cfg.dir);
	capd_service_ready(d);
}

/* Seconds until t, negative once past. */
static long long until(uint64_t t, uint64_t now)
{
	return (long long)t - (long long)now;
}

void capd_service_tick(struct capd *d)
{
	uint64_t now = capd_unix_now();
	const struct token *h = &d->trust.host;

	capd_breakglass_adopt(d);
	if (!d->trust.host_ok)
		return;
	if (now >= h->not_after) {
		capd_log(LOG_ALERT, "this host's token (serial %llu) has expired: the host is "
			 "isolated until a renewed one arrives", (unsigned long long)h->serial);
		d->trust_dirty = true;
		return;
	}
	if (until(h->not_after, now) < (long long)d->cfg.renew_warn_days * DAY_S &&
	    (d->warned_at == 0 || now - d->warned_at >= WARN_EVERY_S)) {
		d->warned_at = now;
		capd_log(LOG_WARNING, "this host's token (serial %llu) expires in %lld hours: "
			 "renew it on the authority (capctl renew)",
			 (unsigned long long)h->serial, until(h->not_after, now) / 3600);
	}
}

/* What status adds: the host token's validity, and counters. */
json_t *capd_service_status(const struct capd *d)
{
	uint64_t now = capd_unix_now();
	const struct token *h = &d->trust.host;
	const char *warning = NULL;
	char text[160];

	if (!d->trust.host_ok) {
		warning = "no valid host token (missing, expired or revoked): host isolated, "
			  "break-glass logins only";
	} else if (until(h->not_after, now) < (long long)d->cfg.renew_warn_days * DAY_S) {
		snprintf(text, sizeof(text), "host token expires in %lld hours: renew it "
			 "(capctl renew)", until(h->not_after, now) / 3600);
		warning = text;
	}
	return json_pack("{s:{s:b, s:I, s:I, s:I, s:s?}, s:I, s:I}",
			 "host_token", "valid", d->trust.host_ok,
			 "serial", (json_int_t)(d->trust.host_ok ? h->serial : 0),
			 "not_after", (json_int_t)(d->trust.host_ok ? h->not_after : 0),
			 "expires_in_s", (json_int_t)(d->trust.host_ok ?
						      until(h->not_after, now) : 0),
			 "warning", warning,
			 "breakglass_logins", (json_int_t)d->breakglass_logins,
			 "logins_refused", (json_int_t)d->logins_refused);
}
