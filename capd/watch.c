/*
 * capd/watch.c - inotify on the state directory: DIR/revocation.list and
 * everything under DIR/tokens. capctl publish (through capd) and capshim
 * (storing objects its peers sent) write there, and so may an admin by
 * hand. A change only marks the trust dirty; the next tick re-verifies,
 * so that a burst of writes (a new list, then new tokens) is taken in
 * once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"

enum watch_const {
	WATCH_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
		     IN_CREATE,
	WATCH_BUF = 16 * (sizeof(struct inotify_event) + NAME_MAX + 1),
};

/* Files of DIR itself that matter; capd's own state and log do not. */
static bool relevant(const struct capd *d, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW)
		return true;
	if (e->wd == d->watch.wd_tokens)
		return e->len == 0 || strstr(e->name, ".token") != NULL;
	if (e->wd == d->watch.wd_dir)
		return e->len && (strcmp(e->name, "revocation.list") == 0 ||
				  strcmp(e->name, "tokens") == 0);
	return false;
}

static void on_inotify(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	char buf[WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool tokens_dir_new = false;

	for (;;) {
		ssize_t n = read(ev->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (relevant(d, e))
				d->trust_dirty = true;
			if (e->wd == d->watch.wd_dir && e->len &&
			    strcmp(e->name, "tokens") == 0 && (e->mask & (IN_CREATE | IN_MOVED_TO)))
				tokens_dir_new = true;
			p += sizeof(*e) + e->len;
		}
	}
	if (tokens_dir_new) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/tokens", d->cfg.dir);
		d->watch.wd_tokens = inotify_add_watch(ev->fd, path, WATCH_MASK);
	}
}

int capd_watch_open(struct capd *d)
{
	char path[PATH_MAX];
	int fd, ret;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	d->watch.ev.fd = fd;
	d->watch.ev.fn = on_inotify;
	d->watch.wd_dir = inotify_add_watch(fd, d->cfg.dir, WATCH_MASK);
	if (d->watch.wd_dir < 0) {
		ret = -errno;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/tokens", d->cfg.dir);
	d->watch.wd_tokens = inotify_add_watch(fd, path, WATCH_MASK);
	if (d->watch.wd_tokens < 0 && errno != ENOENT) {
		ret = -errno;
		goto err;
	}
	ret = capd_ev_add(d, &d->watch.ev, EPOLLIN);
	if (ret < 0)
		goto err;
	return 0;
err:
	close(fd);
	d->watch.ev.fd = -1;
	return ret;
}

void capd_watch_close(struct capd *d)
{
	if (d->watch.ev.fd < 0)
		return;
	capd_ev_del(d, &d->watch.ev);
	close(d->watch.ev.fd);
	d->watch.ev.fd = -1;
}
