/*
 * capd/core.c - what capd does when something changes: a session opens,
 * closes or its process exits, the tokens on disk change, time passes.
 * Every change ends in the same three steps: the state file rewritten,
 * the audit log appended, and the effective capability pushed to capshim
 * (capd_apply) before the request that caused it is answered.
 *
 * Fail closed: a login that cannot be recorded, or whose users capshim
 * cannot be told about, is refused; a logout is never refused, and if
 * capshim cannot be told, it keeps enforcing the narrower capability it
 * has until capd gets through.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "capd.h"

enum core_const {
	B64_TOKEN = ((WIRE_TOKEN_MAX + 2) / 3) * 4 + 1,
};

int capd_ev_add(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0 ? -errno : 0;
}

void capd_ev_del(struct capd *d, struct capd_ev *ev)
{
	if (d->epfd >= 0 && ev->fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

void capd_cap_local(const struct capd *d, struct mask *out, bool *isolate)
{
	capd_cap_compute(&d->trust.host.grant, d->table.users, d->table.nusers,
			 capd_unix_now(), out, isolate);
}

/* Whether capshim already holds exactly these users' tokens and verdict. */
static bool pushed_same(const struct capd *d, uint64_t now, bool isolate)
{
	const struct capd_pushed *p = &d->pushed;
	unsigned n = 0;

	if (!p->valid || p->isolate != isolate)
		return false;
	for (size_t i = 0; i < d->table.nusers; i++) {
		const struct capd_user *u = &d->table.users[i];

		if (!capd_user_valid(u, now))
			continue;
		if (n >= p->nusers || strcmp(p->users[n], u->name) != 0 ||
		    p->serials[n] != u->tok.serial)
			return false;
		n++;
	}
	return n == p->nusers;
}

static void pushed_record(struct capd *d, uint64_t now, bool isolate, json_t *ans)
{
	struct capd_pushed *p = &d->pushed;
	const char *mask = json_string_value(json_object_get(ans, "mask"));

	p->valid = true;
	p->isolate = isolate;
	p->nusers = 0;
	for (size_t i = 0; i < d->table.nusers; i++) {
		const struct capd_user *u = &d->table.users[i];

		if (!capd_user_valid(u, now))
			continue;
		memcpy(p->users[p->nusers], u->name, strlen(u->name) + 1);
		p->serials[p->nusers++] = u->tok.serial;
	}
	p->epoch = (uint64_t)json_integer_value(json_object_get(ans, "epoch"));
	snprintf(p->mask, sizeof(p->mask), "%s", mask ? mask : "?");
}

/* The request that tells capshim the valid users' tokens and the verdict. */
static json_t *capability_request(const struct capd *d, uint64_t now, bool isolate)
{
	json_t *users = json_array();
	char b64[B64_TOKEN];

	if (!users)
		return NULL;
	for (size_t i = 0; i < d->table.nusers; i++) {
		const struct capd_user *u = &d->table.users[i];

		if (!capd_user_valid(u, now))
			continue;
		sodium_bin2base64(b64, sizeof(b64), u->bin, u->len,
				  sodium_base64_VARIANT_ORIGINAL);
		if (json_array_append_new(users, json_string(b64)) < 0) {
			json_decref(users);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o, s:b}", "cmd", "capability", "users", users,
			 "isolate", isolate);
}

static void shim_failed(struct capd *d, const char *what)
{
	if (!d->shim.failing)
		capd_log(LOG_ERR, "%s: %s; capshim keeps enforcing its last capability",
			 what, d->shim.error);
	d->shim.failing = true;
	d->shim.dirty = true;
}

/*
 * Recomputes the capability and, unless capshim already holds it (and
 * force is false), pushes it and waits for capshim's answer. 0 once
 * capshim holds it; -errno (and the link marked dirty, for the next
 * tick to retry) if it could not be told.
 */
int capd_apply(struct capd *d, bool force)
{
	uint64_t now = capd_unix_now();
	struct mask local;
	bool isolate;
	json_t *req, *ans = NULL, *invalid;
	char users[CAPD_USERS_MAX * (CAPD_USER_MAX + 1) + 1];
	int ret;

	capd_cap_compute(&d->trust.host.grant, d->table.users, d->table.nusers,
			 now, &local, &isolate);
	if (!force && !d->shim.dirty && pushed_same(d, now, isolate))
		return 0;
	req = capability_request(d, now, isolate);
	if (!req)
		return -ENOMEM;
	ret = capd_shim_request(d, req, &ans);
	if (ret == 0 && !json_is_true(json_object_get(ans, "ok"))) {
		const char *e = json_string_value(json_object_get(ans, "error"));

		snprintf(d->shim.error, sizeof(d->shim.error), "capshim refused the capability: %s",
			 e ? e : "no reason given");
		ret = -EREMOTEIO;
	}
	if (ret < 0) {
		json_decref(ans);
		shim_failed(d, "pushing the capability");
		return ret;
	}
	if (d->shim.failing)
		capd_log(LOG_INFO, "capshim (%s) holds the capability again", d->shim.path);
	d->shim.failing = false;
	d->shim.dirty = false;
	pushed_record(d, now, isolate, ans);
	json_decref(ans);
	capd_users_text(&d->table, users, sizeof(users));
	invalid = json_array();
	for (size_t i = 0; invalid && i < d->table.nusers; i++)
		if (!capd_user_valid(&d->table.users[i], now))
			json_array_append_new(invalid, json_pack("{s:s, s:s}", "user",
				d->table.users[i].name, "why",
				capd_user_why(&d->table.users[i], now)));
	if (isolate)
		capd_log(LOG_WARNING,
			 "host isolated: a logged-in user has no valid token (users %s)", users);
	ret = capd_audit_append(&d->audit, "capability",
				json_pack("{s:I, s:s, s:s, s:b, s:o*}", "epoch",
					  (json_int_t)d->pushed.epoch, "mask", d->pushed.mask,
					  "users", users, "isolated", isolate,
					  "invalid_users", invalid));
	if (ret < 0)
		capd_log(LOG_ERR, "audit log: %s", strerror(-ret));
	return 0;
}

static void audit(struct capd *d, const char *event, json_t *fields)
{
	int ret = capd_audit_append(&d->audit, event, fields);

	if (ret < 0)
		capd_log(LOG_ERR, "audit log: cannot record %s: %s", event, strerror(-ret));
}

static void save(struct capd *d)
{
	int ret = capd_state_save(&d->table, d->path_state);

	if (ret < 0)
		capd_log(LOG_ERR, "%s: %s", d->path_state, strerror(-ret));
}

static void on_pid_exit(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	struct capd_session *s = (struct capd_session *)ev;
	ssize_t idx = capd_table_find_id(&d->table, s->id);

	if (idx >= 0)
		capd_session_gone(d, (size_t)idx, "session_reap",
				  "the session's process exited");
}

static int pidfd_open_pid(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : (int)fd;
}

static void refused(struct capd *d, const struct capd_request *r, const char *why)
{
	capd_log(LOG_NOTICE, "login refused: user %s, service %s, pid %d: %s", r->user,
		 r->service, (int)r->pid, why);
	d->logins_refused++;
	audit(d, "login_refused", json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "user", r->user,
					     "service", r->service, "tty", r->tty,
					     "rhost", r->rhost, "pid", (int)r->pid,
					     "reason", why));
}

/* A session that was added and must go again; its user with it if new. */
static void unwind(struct capd *d, struct capd_session *s)
{
	ssize_t idx = capd_table_find_id(&d->table, s->id);

	if (idx >= 0)
		capd_table_remove(&d->table, (size_t)idx);
	capd_ev_del(d, &s->ev);
}

/*
 * The open verb. 0 with *id once the session is recorded and capshim
 * holds the capability it leads to; 1 (why says why) for a user with no
 * token at all under "no_token":"skip", not recorded; otherwise -errno,
 * why says why, and the refusal is in the audit log.
 */
int capd_session_open(struct capd *d, const struct capd_request *r,
		      uint64_t *id, char *why, size_t whycap)
{
	uint64_t now = capd_unix_now();
	struct capd_session *s;
	struct capd_user fresh, *u;
	char bgwho[96] = "", *bgwhy = NULL;
	bool new_user, bg;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, whycap, "out of memory");
		refused(d, r, why);
		return -ENOMEM;
	}
	ret = pidfd_open_pid(r->pid);
	if (ret < 0) {
		snprintf(why, whycap, "cannot watch process %d: %s", (int)r->pid,
			 ret == -ESRCH ? "no such process" : strerror(-ret));
		goto err_free;
	}
	s->ev.fd = ret;
	s->ev.fn = on_pid_exit;
	ret = capd_proc_start_time(r->pid, &s->start_time);
	if (ret < 0) {
		snprintf(why, whycap, "cannot read the start time of process %d: %s",
			 (int)r->pid, strerror(-ret));
		goto err_close;
	}
	s->id = d->table.next_id;
	s->pid = r->pid;
	s->opened_at = now;
	snprintf(s->user, sizeof(s->user), "%s", r->user);
	snprintf(s->service, sizeof(s->service), "%s", r->service);
	snprintf(s->tty, sizeof(s->tty), "%s", r->tty);
	snprintf(s->rhost, sizeof(s->rhost), "%s", r->rhost);

	memset(&fresh, 0, sizeof(fresh));
	snprintf(fresh.name, sizeof(fresh.name), "%s", r->user);
	capd_trust_user_verify(&d->trust, d->cfg.dir, &fresh, now);
	if (fresh.err == -ENOENT && r->no_token_skip) {
		snprintf(why, whycap, "user %s has no token on this host: not a captun user "
			 "(no_token skip)", r->user);
		capd_log(LOG_INFO, "login of %s (service %s, pid %d) not recorded: %s", r->user,
			 r->service, (int)r->pid, why);
		close(s->ev.fd);
		free(s);
		return 1;
	}
	bg = r->adopt || capd_breakglass_user(d, r->user, bgwho, sizeof(bgwho));
	if (!d->trust.host_ok && !bg) {
		snprintf(why, whycap, "this host has no valid host token: only break-glass "
			 "logins until it is renewed (capctl renew, then publish or join)");
		ret = -EKEYREJECTED;
		goto err_close;
	}
	if (!d->trust.host_ok)
		bgwhy = "this host has no valid host token";
	if (!capd_user_valid(&fresh, now) && d->cfg.on_invalid == CAPD_ON_INVALID_REFUSE &&
	    bg && !bgwhy)
		bgwhy = "the user has no valid token";
	if (!capd_user_valid(&fresh, now) && d->cfg.on_invalid == CAPD_ON_INVALID_REFUSE &&
	    !bg) {
		snprintf(why, whycap, "user %s has no valid token: %s", r->user,
			 capd_user_why(&fresh, now));
		ret = -EKEYREJECTED;
		goto err_close;
	}
	new_user = !capd_table_user(&d->table, r->user);
	ret = capd_table_add(&d->table, s, &u);
	if (ret < 0) {
		snprintf(why, whycap, "%s", ret == -EUSERS ?
			 "too many distinct users logged in on this host (64)" :
			 ret == -ENOSPC ? "too many sessions on this host" : strerror(-ret));
		goto err_close;
	}
	fresh.nsessions = u->nsessions;
	*u = fresh;
	ret = capd_ev_add(d, &s->ev, EPOLLIN);
	if (ret == 0)
		ret = capd_state_save(&d->table, d->path_state);
	if (ret < 0) {
		snprintf(why, whycap, "cannot record the session (%s): %s", d->path_state,
			 strerror(-ret));
		unwind(d, s);
		goto err_close;
	}
	ret = capd_apply(d, false);
	if (ret < 0 && new_user && bg && !bgwhy)
		bgwhy = "capshim cannot be told about the new user";
	if (ret < 0 && new_user && !bg) {
		snprintf(why, whycap, "capshim cannot be told about the new user: %s",
			 d->shim.error);
		unwind(d, s);
		save(d);
		goto err_close;
	}
	if (ret < 0)
		capd_log(LOG_WARNING, "capshim unreachable, but user %s was already logged in: "
				      "session accepted",
			 r->user);
	audit(d, "session_open",
	      json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:b}", "session",
			(json_int_t)s->id, "user", s->user, "service", s->service,
			"tty", s->tty, "rhost", s->rhost, "pid", (int)s->pid,
			"epoch", (json_int_t)d->pushed.epoch, "mask", d->pushed.mask,
			"isolated", d->pushed.isolate));
	if (r->adopt)
		bgwhy = "capd could not be reached at login";
	if (bgwhy)
		capd_breakglass_note(d, s, r->adopt ? "adopted" : bgwho, bgwhy);
	*id = s->id;
	return 0;

err_close:
	close(s->ev.fd);
err_free:
	free(s);
	refused(d, r, why);
	return ret < 0 ? ret : -EPERM;
}

/* Closes session idx (a close request, its process exiting, a restart). */
void capd_session_end(struct capd *d, size_t idx, const char *event,
		      const char *reason)
{
	struct capd_session *s = capd_table_remove(&d->table, idx);

	if (!s)
		return;
	if (s->ev.fd >= 0) {
		capd_ev_del(d, &s->ev);
		close(s->ev.fd);
	}
	save(d);
	audit(d, event, json_pack("{s:I, s:s, s:s, s:i, s:s}", "session",
				  (json_int_t)s->id, "user", s->user, "service",
				  s->service, "pid", (int)s->pid, "reason", reason));
	capd_log(LOG_INFO, "session %llu of %s (pid %d) closed: %s",
		 (unsigned long long)s->id, s->user, (int)s->pid, reason);
	free(s);
	capd_apply(d, false);
}

/*
 * A captun user runs processes here without a session (no PAM login capd
 * was told of): open one for them, lingering from the start so that it ends
 * with their last process (linger.c). A user without a valid token
 * isolates the host: a running process cannot be refused.
 */
int capd_session_found(struct capd *d, const char *user, pid_t pid, bool unsure)
{
	uint64_t now = capd_unix_now();
	struct capd_session *s = calloc(1, sizeof(*s));
	struct capd_user fresh, *u;
	char comm[64] = "?";
	int ret;

	if (!s)
		return -ENOMEM;
	s->ev.fd = -1;
	s->lingering = true;
	ret = capd_proc_start_time(pid, &s->start_time);
	if (ret < 0) {
		free(s);
		return ret;	/* gone already: the next tick looks again */
	}
	s->id = d->table.next_id;
	s->pid = pid;
	s->opened_at = now;
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->service, sizeof(s->service), "process");
	memset(&fresh, 0, sizeof(fresh));
	snprintf(fresh.name, sizeof(fresh.name), "%s", user);
	capd_trust_user_verify(&d->trust, d->cfg.dir, &fresh, now);
	ret = capd_table_add(&d->table, s, &u);
	if (ret < 0) {
		capd_log(LOG_ERR, "user %s runs processes here (pid %d) but capd cannot record "
			 "a session for them: %s", user, (int)pid, strerror(-ret));
		free(s);
		return ret;
	}
	fresh.nsessions = u->nsessions;
	*u = fresh;
	save(d);
	capd_proc_comm(pid, comm, sizeof(comm));
	capd_log(LOG_NOTICE, "user %s runs processes here without a login capd was told of "
		 "(pid %d, %s%s): session %llu opened for them", user, (int)pid, comm,
		 unsure ? ", in a namespace capd cannot place" : "",
		 (unsigned long long)s->id);
	if (!capd_user_valid(u, now))
		capd_log(LOG_WARNING, "user %s has no valid token (%s): this host is isolated "
			 "while their processes run", user, capd_user_why(u, now));
	capd_apply(d, false);
	audit(d, "session_found", json_pack("{s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:b}",
					    "session", (json_int_t)s->id, "user", s->user,
					    "service", s->service, "pid", (int)pid,
					    "command", comm, "epoch", (json_int_t)d->pushed.epoch,
					    "mask", d->pushed.mask, "isolated", d->pushed.isolate));
	return 0;
}

/* Whether a restored session's process is the one that opened it. */
static const char *still_there(struct capd_session *s)
{
	uint64_t start = 0;
	int fd = pidfd_open_pid(s->pid);

	if (fd < 0)
		return "the session's process exited while capd was down";
	if (capd_proc_start_time(s->pid, &start) < 0) {
		close(fd);
		return "the session's process exited while capd was down";
	}
	if (start != s->start_time) {
		close(fd);
		return "the session's pid now belongs to another process";
	}
	s->ev.fd = fd;
	s->ev.fn = on_pid_exit;
	return NULL;
}

/* The one rule (linger.c) for a restored session whose process is gone. */
static bool keep_restored(struct capd *d, struct capd_session *s, const char *gone)
{
	pid_t pid = 0;
	enum capd_procs_verdict v = capd_linger_user_verdict(d, s->user, &pid);
	struct passwd *pw = getpwnam(s->user);

	if (capd_linger_decide(pw && pw->pw_uid == 0, pw != NULL, v) == CAPD_LINGER_END)
		return false;
	s->lingering = true;
	capd_log(LOG_NOTICE, "session %llu of %s kept: %s, but %s still runs processes here "
		 "(pid %d)", (unsigned long long)s->id, s->user, gone, s->user, (int)pid);
	return true;
}

/*
 * At start, with the table read from capd.state: sessions whose process is
 * gone (or whose pid was reused) are reaped, the others watched again, and
 * every user's token verified afresh.
 */
int capd_sessions_restore(struct capd *d)
{
	uint64_t now = capd_unix_now();
	size_t i = 0;
	int ret;

	while (i < d->table.n) {
		struct capd_session *s = d->table.s[i];
		const char *gone = still_there(s);

		if (!gone) {
			ret = capd_ev_add(d, &s->ev, EPOLLIN);
			if (ret < 0)
				return ret;
			i++;
			continue;
		}
		s->ev.fd = -1;
		if (keep_restored(d, s, gone)) {
			i++;
			continue;
		}
		capd_table_remove(&d->table, i);
		audit(d, "session_reap", json_pack("{s:I, s:s, s:s, s:i, s:s}", "session",
						   (json_int_t)s->id, "user", s->user,
						   "service", s->service, "pid", (int)s->pid,
						   "reason", gone));
		capd_log(LOG_INFO, "session %llu of %s (pid %d) reaped: %s",
			 (unsigned long long)s->id, s->user, (int)s->pid, gone);
		free(s);
	}
	for (i = 0; i < d->table.nusers; i++)
		capd_trust_user_verify(&d->trust, d->cfg.dir, &d->table.users[i], now);
	return capd_state_save(&d->table, d->path_state);
}

/* Asks capshim to re-read the directory; its answer carries the epoch. */
static int shim_reload(struct capd *d)
{
	json_t *ans = NULL;
	int ret = capd_shim_request(d, json_pack("{s:s}", "cmd", "reload"), &ans);

	if (ret == 0 && !json_is_true(json_object_get(ans, "ok"))) {
		const char *e = json_string_value(json_object_get(ans, "error"));

		snprintf(d->shim.error, sizeof(d->shim.error), "capshim refused to reload: %s",
			 e ? e : "no reason given");
		ret = -EREMOTEIO;
	}
	if (ret == 0 && json_is_integer(json_object_get(ans, "epoch"))) {
		const char *mask = json_string_value(json_object_get(ans, "mask"));

		d->pushed.epoch = (uint64_t)json_integer_value(json_object_get(ans, "epoch"));
		if (mask)
			snprintf(d->pushed.mask, sizeof(d->pushed.mask), "%s", mask);
	}
	json_decref(ans);
	d->shim.reload_pending = ret < 0;
	if (ret < 0)
		shim_failed(d, "asking capshim to reload");
	return ret;
}

/*
 * The tokens or the revocation list changed on disk: take the newer list
 * and host token, verify every logged-in user's token again, have capshim
 * re-read the directory, and push what follows.
 */
void capd_refresh(struct capd *d)
{
	uint64_t now = capd_unix_now();
	bool changed = false;

	d->trust_dirty = false;
	capd_known_invalidate(d);
	capd_trust_reload(&d->trust, d->cfg.dir, &changed);
	for (size_t i = 0; i < d->table.nusers; i++) {
		struct capd_user *u = &d->table.users[i];
		bool was = capd_user_valid(u, now);

		capd_trust_user_verify(&d->trust, d->cfg.dir, u, now);
		if (was && !capd_user_valid(u, now))
			capd_log(LOG_WARNING, "user %s is logged in but their token no longer "
					      "counts (%s): isolating this host",
				 u->name, capd_user_why(u, now));
	}
	shim_reload(d);
	capd_apply(d, false);
}

/*
 * Every tick: files changed (inotify) are taken in, a reload or push that
 * failed is retried, and a token that expired since is noticed (the push
 * compares which users' tokens count now).
 */
void capd_tick(struct capd *d)
{
	capd_linger_tick(d);
	if (d->trust_dirty) {
		capd_refresh(d);
		return;
	}
	if (d->shim.reload_pending && shim_reload(d) < 0)
		return;
	capd_apply(d, false);
}
