/*
 * capd/linger.c - one rule for the end of every session: it lingers while
 * any process of its user runs on this host.
 *
 * A session ends in three ways: a close request (pam_close_session at
 * logout, or the monitor of a killed `sshd: A@notty`), its process exiting
 * (capd's pidfd), or capd finding at a restart that its process is gone.
 * Each goes through capd_session_gone: if its user still runs anything
 * here - `nohup cmd &`, setsid, a double fork, disown, a child of a killed
 * session leader, a process that renamed itself - the session stays
 * open, "lingering", and the host stays narrowed; every tick checks again
 * and ends it once nothing of the user is left. What runs is decided by
 * uid and by being on this host (procs.c), never by the Unix session,
 * process group, name or command line, which a process can change.
 *
 * Users who arrive without a login capd is told of (a setuid program,
 * systemd-run --uid, a daemon that drops to the user, su or cron where the
 * PAM stack lacks pam_capd): every tick capd also asks for the processes
 * of every captun user of this host (a token in DIR/tokens and a Unix
 * account) that has no session, and opens a "found" session (service
 * "process") for each one running here. It lingers from the start, so it
 * ends with the user's last process. Such code runs at most one tick
 * (CAPD_TICK_MS) under the wider capability before the host narrows;
 * PAM stacks with pam_capd narrow it before the user's code starts.
 *
 * root's sessions cannot be told apart from the host's own daemons, so
 * they end with their process; root is the host.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"

enum linger_const {
	KNOWN_RELOAD_MS = 10000,	/* new Unix accounts are seen this late */
	NO_UID = UINT32_MAX,
};

/*
 * The rule, pure. root (or a name without a Unix account: nothing can
 * run as it) ends; anyone else lingers while a process of theirs runs
 * here or might (UNKNOWN counts: fail closed).
 */
enum capd_linger_action capd_linger_decide(bool root_user, bool have_uid,
					   enum capd_procs_verdict v)
{
	if (root_user || !have_uid)
		return CAPD_LINGER_END;
	return v == CAPD_PROCS_NONE ? CAPD_LINGER_END : CAPD_LINGER_KEEP;
}

static uint32_t uid_of(const char *user)
{
	struct passwd *pw = getpwnam(user);

	return pw ? (uint32_t)pw->pw_uid : NO_UID;
}

/* Where the processes of user are; *pid one of them (0 if none). */
enum capd_procs_verdict capd_linger_user_verdict(struct capd *d, const char *user,
						 pid_t *pid)
{
	struct capd_procs_hit hit = { .uid = uid_of(user) };

	*pid = 0;
	if (hit.uid == NO_UID || hit.uid == 0)
		return CAPD_PROCS_NONE;
	capd_procsep_query(&d->procs, &hit, 1);
	*pid = hit.pid;
	return (enum capd_procs_verdict)hit.verdict;
}

static void audit(struct capd *d, const char *event, json_t *fields)
{
	int ret = capd_audit_append(&d->audit, event, fields);

	if (ret < 0)
		capd_log(LOG_ERR, "audit log: cannot record %s: %s", event, strerror(-ret));
}

/* Session s stays open without its process: stop watching that. */
static void linger(struct capd *d, struct capd_session *s, const char *reason, pid_t pid,
		   enum capd_procs_verdict v)
{
	if (s->ev.fd >= 0) {
		capd_ev_del(d, &s->ev);
		close(s->ev.fd);
		s->ev.fd = -1;
	}
	if (s->lingering)
		return;
	s->lingering = true;
	capd_log(LOG_NOTICE, "session %llu of %s: %s, but %s still runs processes here "
		 "(pid %d%s): the session stays open until they are gone",
		 (unsigned long long)s->id, s->user, reason, s->user, (int)pid,
		 v == CAPD_PROCS_UNKNOWN ? ", in a namespace capd cannot place" : "");
	audit(d, "session_linger", json_pack("{s:I, s:s, s:s, s:i, s:s, s:i}", "session",
					     (json_int_t)s->id, "user", s->user, "service",
					     s->service, "pid", (int)s->pid, "reason", reason,
					     "user_pid", (int)pid));
}

/*
 * Session idx's process is gone or its close was asked for: the one rule.
 * It ends now (event, reason go to the log and the audit log), or lingers.
 */
void capd_session_gone(struct capd *d, size_t idx, const char *event,
		       const char *reason)
{
	struct capd_session *s = d->table.s[idx];
	uint32_t uid = uid_of(s->user);
	enum capd_procs_verdict v = CAPD_PROCS_NONE;
	pid_t pid = 0;

	if (uid != NO_UID && uid != 0)
		v = capd_linger_user_verdict(d, s->user, &pid);
	if (capd_linger_decide(uid == 0, uid != NO_UID, v) == CAPD_LINGER_END) {
		capd_session_end(d, idx, event, reason);
		return;
	}
	linger(d, s, reason, pid, v);
}

void capd_known_invalidate(struct capd *d)
{
	d->known.loaded_ms = 0;
}

/* DIR/tokens/user-NAME.token for every NAME with a Unix account but root. */
static void known_load(struct capd *d)
{
	struct capd_known *k = &d->known;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	k->loaded_ms = capd_mono_ms();
	k->n = 0;
	snprintf(path, sizeof(path), "%s/tokens", d->cfg.dir);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && k->n < CAPD_PROCS_UIDS_MAX) {
		size_t len = strlen(de->d_name);
		char name[CAPD_USER_MAX + 1];
		uint32_t uid;

		if (len <= 5 + 6 || strncmp(de->d_name, "user-", 5) != 0 ||
		    strcmp(de->d_name + len - 6, ".token") != 0 ||
		    len - 11 > CAPD_USER_MAX)
			continue;
		memcpy(name, de->d_name + 5, len - 11);
		name[len - 11] = '\0';
		if (!capd_user_name_ok(name))
			continue;
		uid = uid_of(name);
		if (uid == NO_UID || uid == 0)
			continue;
		k->uid[k->n] = uid;
		memcpy(k->name[k->n], name, strlen(name) + 1);
		k->n++;
	}
	closedir(dir);
}

/* Adds uid to hits (once); false when full. */
static bool want(struct capd_procs_hit *hits, size_t *n, uint32_t uid)
{
	for (size_t i = 0; i < *n; i++)
		if (hits[i].uid == uid)
			return true;
	if (*n >= CAPD_PROCS_UIDS_MAX)
		return false;
	hits[(*n)++] = (struct capd_procs_hit){ .uid = uid };
	return true;
}

static const struct capd_procs_hit *hit_of(const struct capd_procs_hit *hits, size_t n,
					   uint32_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (hits[i].uid == uid)
			return &hits[i];
	return NULL;
}

/*
 * Every tick, one scan: lingering sessions whose user has nothing left
 * here end; captun users running here without a session get a found one.
 */
void capd_linger_tick(struct capd *d)
{
	static struct capd_procs_hit hits[CAPD_PROCS_UIDS_MAX];
	size_t n = 0, i;

	if (!d->known.loaded_ms || capd_mono_ms() - d->known.loaded_ms > KNOWN_RELOAD_MS)
		known_load(d);
	for (i = 0; i < d->table.n; i++) {
		uint32_t uid;

		if (!d->table.s[i]->lingering)
			continue;
		uid = uid_of(d->table.s[i]->user);
		if (uid != NO_UID && uid != 0)
			want(hits, &n, uid);
	}
	for (i = 0; i < d->known.n; i++)
		if (!capd_table_user(&d->table, d->known.name[i]))
			want(hits, &n, d->known.uid[i]);
	if (n && capd_procsep_query(&d->procs, hits, n) < 0)
		for (i = 0; i < n; i++)
			hits[i].verdict = CAPD_PROCS_UNKNOWN;

	i = 0;
	while (i < d->table.n) {
		struct capd_session *s = d->table.s[i];
		uint32_t uid = s->lingering ? uid_of(s->user) : NO_UID;
		const struct capd_procs_hit *h = hit_of(hits, n, uid);

		if (s->lingering &&
		    capd_linger_decide(uid == 0, uid != NO_UID,
				       h ? (enum capd_procs_verdict)h->verdict :
					   CAPD_PROCS_UNKNOWN) == CAPD_LINGER_END) {
			capd_session_end(d, i, "session_reap",
					 "the session's process and every process of its user exited");
			continue;
		}
		i++;
	}
	for (i = 0; i < d->known.n; i++) {
		const struct capd_procs_hit *h = hit_of(hits, n, d->known.uid[i]);

		if (h && h->verdict != CAPD_PROCS_NONE && h->pid > 0 &&
		    !capd_table_user(&d->table, d->known.name[i]))
			capd_session_found(d, d->known.name[i], h->pid,
					   h->verdict == CAPD_PROCS_UNKNOWN);
	}
}
