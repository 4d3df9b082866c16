/*
 * capd/breakglass.c - logins that must get in so that an admin can repair
 * the host (common/breakglass.h says who): capd lets them in where it
 * would refuse, says so loudly, and adopts the ones pam_capd let in while
 * capd could not be reached.
 *
 * pam_capd leaves such a login as a marker file, SOCKETDIR/break-glass/PID
 * (root's, 0600, in a root-only directory): {"user","service","tty",
 * "rhost","pid","stat"}, where stat is the session process's
 * /proc/PID/stat line at login, so that a pid reused since is not taken
 * for it. capd opens the session as if asked (the host narrows to the
 * user's grant, or is isolated if the user has no valid token) and
 * removes the marker; its process's exit closes the session as usual.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "breakglass.h"
#include "capd.h"

enum { MARKER_MAX = 8192 };

bool capd_breakglass_user(const struct capd *d, const char *user, char *why,
			  size_t whycap)
{
	return breakglass_match(d->cfg.break_glass_users, d->cfg.break_glass_groups,
				user, why, whycap);
}

void capd_breakglass_note(struct capd *d, const struct capd_session *s,
			  const char *who, const char *exemption)
{
	int ret;

	d->breakglass_logins++;
	capd_log(LOG_ALERT, "BREAK-GLASS login of %s (%s), service %s, rhost %s, pid %d, "
		 "session %llu: let in although %s; capability now %s%s",
		 s->user, who, s->service, s->rhost[0] ? s->rhost : "-", (int)s->pid,
		 (unsigned long long)s->id, exemption, d->pushed.isolate ? "isolated" :
		 d->pushed.mask, d->shim.dirty ? " (capshim not told yet)" : "");
	ret = capd_audit_append(&d->audit, "break_glass",
				json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:b}",
					  "session", (json_int_t)s->id, "user", s->user,
					  "service", s->service, "tty", s->tty,
					  "rhost", s->rhost, "pid", (int)s->pid,
					  "who", who, "reason", exemption,
					  "isolated", d->pushed.isolate));
	if (ret < 0)
		capd_log(LOG_ERR, "audit log: cannot record a break-glass login: %s",
			 strerror(-ret));
}

/* The marker directory: beside capd's socket, where pam_capd looks too. */
static bool marker_dir(const struct capd *d, char *out, size_t cap)
{
	char sock[PATH_MAX];

	if ((size_t)snprintf(sock, sizeof(sock), "%s", d->cfg.socket) >= sizeof(sock))
		return false;
	return (size_t)snprintf(out, cap, "%s/break-glass", dirname(sock)) < cap;
}

/* A marker's text into a request; false (and why) if it is not one. */
static bool marker_parse(const char *text, size_t len, struct capd_request *r,
			 uint64_t *start, const char **why)
{
	json_error_t jerr;
	json_t *pid;
	const char *stat;

	memset(r, 0, sizeof(*r));
	r->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(r->root)) {
		*why = "not a JSON object";
		return false;
	}
	r->verb = CAPD_VERB_OPEN;
	r->adopt = true;
	r->user = json_string_value(json_object_get(r->root, "user"));
	r->service = json_string_value(json_object_get(r->root, "service"));
	r->tty = json_string_value(json_object_get(r->root, "tty"));
	r->rhost = json_string_value(json_object_get(r->root, "rhost"));
	stat = json_string_value(json_object_get(r->root, "stat"));
	pid = json_object_get(r->root, "pid");
	*why = "a field is missing or out of bounds";
	if (!r->user || !r->service || !r->tty || !r->rhost || !stat ||
	    !json_is_integer(pid) || !capd_user_name_ok(r->user) ||
	    !capd_field_ok(r->service, CAPD_FIELD_MAX) ||
	    !capd_field_ok(r->tty, CAPD_FIELD_MAX) ||
	    !capd_field_ok(r->rhost, CAPD_FIELD_MAX) ||
	    json_integer_value(pid) <= 1 || json_integer_value(pid) >= CAPD_PID_MAX)
		return false;
	r->pid = (pid_t)json_integer_value(pid);
	*why = "its stat line does not parse";
	return capd_proc_stat_parse(stat, strlen(stat), start);
}

/* One marker: adopted if its login still runs; removed either way. */
static void adopt_one(struct capd *d, int dfd, const char *name)
{
	char text[MARKER_MAX], why[256];
	struct capd_request r;
	const char *bad = NULL;
	uint64_t start = 0, now_start = 0, id = 0;
	struct stat st;
	ssize_t n = -1;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    !(st.st_mode & 077))
		n = read(fd, text, sizeof(text));
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, name, 0);
	if (n <= 0 || (size_t)n == sizeof(text)) {
		capd_log(LOG_WARNING, "break-glass marker %s: ignored: not a root-only file "
			 "of at most %d bytes", name, MARKER_MAX - 1);
		return;
	}
	if (!marker_parse(text, (size_t)n, &r, &start, &bad)) {
		capd_log(LOG_WARNING, "break-glass marker %s: ignored: %s", name, bad);
		capd_request_free(&r);
		return;
	}
	if (capd_proc_start_time(r.pid, &now_start) < 0 || now_start != start) {
		capd_log(LOG_NOTICE, "break-glass login of %s (pid %d) ended while capd was "
			 "away", r.user, (int)r.pid);
		capd_request_free(&r);
		return;
	}
	if (capd_session_open(d, &r, &id, why, sizeof(why)) < 0)
		capd_log(LOG_ERR, "break-glass login of %s (pid %d) could not be adopted: %s",
			 r.user, (int)r.pid, why);
	capd_request_free(&r);
}

/*
 * Adopts every marker pam_capd left. Runs at start, before the first push,
 * and at every tick (a marker left while capd was too busy to answer).
 */
void capd_breakglass_adopt(struct capd *d)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dh;

	if (!marker_dir(d, path, sizeof(path)) || lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077)) {
		static bool told;

		if (!told)
			capd_log(LOG_WARNING, "%s: not a root-only directory: its markers are "
				 "not adopted", path);
		told = true;
		return;
	}
	dh = opendir(path);
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		adopt_one(d, dirfd(dh), de->d_name);
	}
	closedir(dh);
}
