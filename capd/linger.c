/*
 * capd/linger.c - a session outlives its process while its user still runs
 * anything on this host.
 *
 * capd watches the process that opened a session (for sshd, the session's
 * privileged process). If that process is killed, the user's own
 * processes may live on; closing the session then would widen the host
 * under code the narrower grant was meant to hold. So a session whose
 * process is gone stays open, "lingering", until no process of its user
 * remains in this host's network namespace. The user id, unlike the Unix
 * session, cannot be shed with setsid() or a double fork. Root's sessions
 * cannot be told apart from the host's own daemons, so they end with their
 * process.
 *
 * "On this host" is this network namespace. capd holds no capability, so
 * it may not read another user's namespace link; such a process counts
 * as here (fail closed). On a real host there is one namespace; in a lab
 * of namespaces sharing one kernel, a user's processes in another lab host
 * keep the session open a little longer, never shorter.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"

/* A zombie runs nothing: it waits for its parent to reap it. */
static bool zombie(const char *pid)
{
	char path[64], buf[512], *close_paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	close_paren = strrchr(buf, ')');
	return !close_paren || close_paren[1] != ' ' ||
	       close_paren[2] == 'Z' || close_paren[2] == 'X';
}

/* The network namespace capd itself runs in: "this host". */
static bool own_netns(ino_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return false;
	*ino = st.st_ino;
	return true;
}

bool capd_linger_user_alive(const char *user)
{
	char path[64];
	struct passwd *pw = getpwnam(user);
	struct dirent *de;
	ino_t netns = 0;
	bool any = false;
	DIR *d;

	if (!pw || pw->pw_uid == 0 || !own_netns(&netns))
		return false;
	d = opendir("/proc");
	if (!d)
		return true;	/* cannot tell: keep the narrowing */
	while (!any && (de = readdir(d))) {
		struct stat st;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (stat(path, &st) < 0 || st.st_uid != pw->pw_uid || zombie(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st) == 0)
			any = st.st_ino == netns;
		else
			any = errno != ENOENT && errno != ESRCH;
	}
	closedir(d);
	return any;
}

/* Called when a session's process is gone: linger, or end it now. */
void capd_linger_or_end(struct capd *d, size_t idx, const char *event,
			const char *reason)
{
	struct capd_session *s = d->table.s[idx];

	if (!capd_linger_user_alive(s->user)) {
		capd_session_end(d, idx, event, reason);
		return;
	}
	if (s->ev.fd >= 0) {
		capd_ev_del(d, &s->ev);
		close(s->ev.fd);
		s->ev.fd = -1;
	}
	if (!s->lingering)
		capd_log(LOG_NOTICE, "session %llu of %s: its process is gone (%s) but "
			 "%s still runs processes here: the session stays open",
			 (unsigned long long)s->id, s->user, reason, s->user);
	s->lingering = true;
}

/* Every tick: lingering sessions whose user has nothing left end. */
void capd_linger_tick(struct capd *d)
{
	size_t i = 0;

	while (i < d->table.n) {
		struct capd_session *s = d->table.s[i];

		if (s->lingering && !capd_linger_user_alive(s->user)) {
			capd_session_end(d, i, "session_reap",
					 "the session's process and every process of its user exited");
			continue;
		}
		i++;
	}
}
