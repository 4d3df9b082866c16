/*
 * capd/shimlink.c - capd's side of capshim's control socket: one request
 * line out, one answer line back, synchronously and with a time limit, so
 * that a capability is in force before capd answers the login it follows.
 *
 * The connection stays open between requests and sits in capd's epoll
 * set: capshim closing it (a restart, a crash) marks the link dirty, and
 * capd pushes the capability again as soon as capshim is back: an inotify
 * watch on the socket's directory sees capshim's socket appear (capshim
 * renames it into place once it listens), so capd does not wait for its
 * next tick. A restarted capshim resumes its last capability meanwhile,
 * but the sessions may have changed while it was away.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"

enum shimlink_limit {
	SHIM_ANSWER_MAX = 4 << 20,
	SHIM_ANSWER_START = 16384,
};

void capd_shim_init(struct capd_shim *sh, const char *path, int timeout_ms)
{
	memset(sh, 0, sizeof(*sh));
	sh->ev.fd = -1;
	sh->appear.fd = -1;
	sh->path = path;
	sh->timeout_ms = timeout_ms;
	sh->dirty = true;
}

void capd_shim_close(struct capd *d)
{
	struct capd_shim *sh = &d->shim;

	if (sh->ev.fd < 0)
		return;
	capd_ev_del(d, &sh->ev);
	close(sh->ev.fd);
	sh->ev.fd = -1;
}

/* Between requests capshim has nothing to say: anything is a close. */
static void on_event(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	capd_log(LOG_WARNING, "capshim (%s) closed the control connection; the capability will "
			      "be pushed again when it is back",
		 d->shim.path);
	capd_shim_close(d);
	d->shim.dirty = true;
	d->shim.reachable = false;
}

static int connect_shim(struct capd *d)
{
	struct capd_shim *sh = &d->shim;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { sh->timeout_ms / 1000, (sh->timeout_ms % 1000) * 1000 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, ret;

	if (strlen(sh->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, sh->path, strlen(sh->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* The capability goes to root's capshim only, not to whoever took the name. */
	if (cred.uid != 0 && cred.uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	sh->ev.fd = fd;
	sh->ev.fn = on_event;
	if (d->epfd >= 0) {
		ret = capd_ev_add(d, &sh->ev, EPOLLIN | EPOLLRDHUP);
		if (ret < 0) {
			close(fd);
			sh->ev.fd = -1;
			return ret;
		}
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One answer line, parsed; -ETIMEDOUT, -ECONNRESET, -EPROTO or -ENOMEM. */
static int recv_answer(int fd, json_t **answer)
{
	size_t len = 0, cap = SHIM_ANSWER_START;
	char *buf = malloc(cap), *nl = NULL;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!nl) {
		ssize_t n;

		if (len == cap) {
			char *nb = cap < SHIM_ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ret = cap < SHIM_ANSWER_MAX ? -ENOMEM : -EPROTO;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n == 0 ? -ECONNRESET : errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	if ((size_t)(nl - buf) + 1 != len) {
		ret = -EPROTO;	/* more than one answer: out of step */
		goto out;
	}
	*answer = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
	if (!json_is_object(*answer)) {
		json_decref(*answer);
		*answer = NULL;
		ret = -EPROTO;
	}
out:
	free(buf);
	return ret;
}

/*
 * Sends req (the reference is taken) and waits for capshim's answer, at
 * most the configured time. 0 with *answer (capshim's "ok" is the caller's
 * to check), or -errno with d->shim.error set. A connection that turns out
 * stale is replaced once: every request capd sends may safely be repeated.
 */
int capd_shim_request(struct capd *d, json_t *req, json_t **answer)
{
	struct capd_shim *sh = &d->shim;
	char *text = json_dumps(req, JSON_COMPACT);
	size_t len;
	int ret = -ENOMEM;

	json_decref(req);
	*answer = NULL;
	if (!text)
		goto out;
	len = strlen(text);
	text[len] = '\n';
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = sh->ev.fd < 0;

		if (fresh && (ret = connect_shim(d)) < 0)
			break;
		ret = send_all(sh->ev.fd, text, len + 1);
		if (ret == 0)
			ret = recv_answer(sh->ev.fd, answer);
		if (ret == 0)
			break;
		capd_shim_close(d);
		if (fresh || (ret != -EPIPE && ret != -ECONNRESET))
			break;
	}
out:
	free(text);
	sh->reachable = ret == 0;
	if (ret < 0)
		snprintf(sh->error, sizeof(sh->error), "%s: %s", sh->path,
			 ret == -ETIMEDOUT ? "no answer in time" :
			 ret == -EPROTO ? "answer is not one JSON object" :
			 ret == -EPERM ? "the socket is not root's: refused" : strerror(-ret));
	return ret;
}

/* capshim's socket appeared (created or renamed into place): push now. */
static void on_appear(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	char copy[PATH_MAX];
	const char *name;
	bool seen = false;
	ssize_t n;

	snprintf(copy, sizeof(copy), "%s", d->shim.path);
	name = basename(copy);
	while ((n = read(ev->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if ((e->mask & IN_Q_OVERFLOW) ||
			    (e->len && strcmp(e->name, name) == 0))
				seen = true;
			p += sizeof(*e) + e->len;
		}
	}
	if (!seen)
		return;
	capd_log(LOG_INFO, "capshim's socket %s appeared: pushing the capability",
		 d->shim.path);
	capd_shim_close(d);
	d->shim.dirty = true;
	capd_apply(d, false);
}

int capd_shim_watch_open(struct capd *d)
{
	struct capd_shim *sh = &d->shim;
	char dir[PATH_MAX];
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", sh->path);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dirname(dir), IN_CREATE | IN_MOVED_TO) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	sh->appear.fd = fd;
	sh->appear.fn = on_appear;
	ret = capd_ev_add(d, &sh->appear, EPOLLIN);
	if (ret < 0) {
		close(fd);
		sh->appear.fd = -1;
	}
	return ret;
}

void capd_shim_watch_close(struct capd *d)
{
	if (d->shim.appear.fd < 0)
		return;
	capd_ev_del(d, &d->shim.appear);
	close(d->shim.appear.fd);
	d->shim.appear.fd = -1;
}
