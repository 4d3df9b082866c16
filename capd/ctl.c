/*
 * capd/ctl.c - capd's control socket: a Unix stream socket (mode 0666;
 * SO_PEERCRED decides who may change what) speaking JSON lines, one
 * request per line and one answer per line.
 *
 * Lines are bounded (CAPD_LINE_MAX): a longer one is answered with an
 * error and skipped up to its newline, and the connection goes on. When
 * every slot is taken, the client idle the longest gives its slot up, so
 * that nobody can starve the PAM module by holding connections open.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "capd.h"
#include "daemon.h"

enum ctl_limit {
	CTL_BUF_START = 4096,
	CTL_SEND_TIMEOUT_MS = 1000,
	CTL_BACKLOG = 64,
};

struct ctl_client {
	struct capd_ev ev;		/* first: the loop hands us this pointer */
	bool in_use;
	bool skipping;			/* inside an over-long line */
	bool stuck;			/* an answer could not be sent: drop it */
	uid_t uid;
	pid_t pid;
	uint64_t active_ms;
	char *buf;
	size_t len, cap;
};

struct capd_ctl {
	struct capd_ev listen;
	struct ctl_client clients[CAPD_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void client_close(struct capd *d, struct ctl_client *c)
{
	capd_ev_del(d, &c->ev);
	close(c->ev.fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->ev.fd = -1;
}

/*
 * Sends one answer line; a peer that does not take it within a second is
 * marked stuck and dropped, so that it cannot stall capd again.
 */
static void reply(struct ctl_client *c, json_t *obj)
{
	uint64_t deadline = capd_mono_ms() + CTL_SEND_TIMEOUT_MS;
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	size_t len, off = 0;

	json_decref(obj);
	if (!text)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (!text) {
		c->stuck = true;
		return;
	}
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: one line on the wire */
	while (off < len) {
		ssize_t n = send(c->ev.fd, text + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd p = { .fd = c->ev.fd, .events = POLLOUT };
		uint64_t now = capd_mono_ms();

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN || now >= deadline ||
		    (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR))
			break;
	}
	c->stuck = off < len;
	free(text);
}

static void request(struct capd *d, struct ctl_client *c, const char *line, size_t len)
{
	struct capd_request req;
	char err[512];

	if (!capd_request_parse(line, len, &req, err, sizeof(err))) {
		reply(c, capd_error("%s", err));
		return;
	}
	reply(c, capd_verbs_answer(d, &req, c->uid));
	capd_request_free(&req);
}

/* Room for more bytes: doubles the buffer up to one line's bound. */
static bool grow(struct ctl_client *c)
{
	size_t ncap = c->cap ? 2 * c->cap : CTL_BUF_START;
	char *nb;

	if (c->cap >= CAPD_LINE_MAX)
		return false;
	if (ncap > CAPD_LINE_MAX)
		ncap = CAPD_LINE_MAX;
	nb = realloc(c->buf, ncap);
	if (!nb)
		return false;
	c->buf = nb;
	c->cap = ncap;
	return true;
}

/* Answers every complete line in the buffer; skips the rest of a long one. */
static void lines(struct capd *d, struct ctl_client *c)
{
	char *nl;

	while (!c->stuck && c->len && (nl = memchr(c->buf, '\n', c->len))) {
		size_t l = (size_t)(nl - c->buf);

		if (c->skipping)
			c->skipping = false;
		else if (l && !(l == 1 && c->buf[0] == '\r'))
			request(d, c, c->buf, l);
		memmove(c->buf, nl + 1, c->len - l - 1);
		c->len -= l + 1;
	}
	if (c->skipping)
		c->len = 0;
}

static void client_readable(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	struct ctl_client *c = (struct ctl_client *)ev;

	c->active_ms = capd_mono_ms();
	for (;;) {
		ssize_t n;

		if (c->len == c->cap && !grow(c)) {
			if (c->cap < CAPD_LINE_MAX) {
				client_close(d, c);
				return;
			}
			reply(c, capd_error("request line too long: at most %d bytes per line",
					    CAPD_LINE_MAX));
			if (c->stuck) {
				client_close(d, c);
				return;
			}
			c->skipping = true;
			c->len = 0;
		}
		n = recv(c->ev.fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(d, c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		c->len += (size_t)n;
		lines(d, c);
		if (c->stuck) {
			capd_log(LOG_WARNING, "control client (uid %u, pid %d) does not read its "
					      "answers: dropped",
				 (unsigned)c->uid, (int)c->pid);
			client_close(d, c);
			return;
		}
	}
}

/* A free slot, or the one of the client idle the longest. */
static struct ctl_client *slot(struct capd *d)
{
	struct capd_ctl *ctl = d->ctl;
	struct ctl_client *oldest = NULL;

	for (int i = 0; i < CAPD_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

		if (!c->in_use)
			return c;
		if (!oldest || c->active_ms < oldest->active_ms)
			oldest = c;
	}
	capd_log(LOG_WARNING,
		 "control socket full: dropping the client idle the longest (uid %u, pid %d)",
		 (unsigned)oldest->uid, (int)oldest->pid);
	client_close(d, oldest);
	return oldest;
}

static void accept_client(struct capd *d, struct capd_ev *ev, uint32_t events)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_client *c;
	int fd;

	fd = accept4(ev->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		close(fd);
		return;
	}
	c = slot(d);
	c->in_use = true;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->active_ms = capd_mono_ms();
	c->ev.fd = fd;
	c->ev.fn = client_readable;
	if (capd_ev_add(d, &c->ev, EPOLLIN) < 0)
		client_close(d, c);
}

/* Listens on path (never stealing it from a live capd). */
int capd_ctl_open(struct capd *d, const char *path)
{
	struct capd_ctl *ctl;
	int fd, ret;

	if (strlen(path) >= sizeof(ctl->path))
		return -ENAMETOOLONG;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	fd = daemon_unix_listen(path, CTL_BACKLOG);
	if (fd < 0) {
		free(ctl);
		return fd;
	}
	for (int i = 0; i < CAPD_CLIENTS; i++)
		ctl->clients[i].ev.fd = -1;
	memcpy(ctl->path, path, strlen(path) + 1);
	ctl->listen.fd = fd;
	ctl->listen.fn = accept_client;
	d->ctl = ctl;
	ret = capd_ev_add(d, &ctl->listen, EPOLLIN);
	if (ret < 0) {
		d->ctl = NULL;
		unlink(path);
		close(fd);
		free(ctl);
	}
	return ret;
}

void capd_ctl_close(struct capd *d)
{
	struct capd_ctl *ctl = d->ctl;

	if (!ctl)
		return;
	for (int i = 0; i < CAPD_CLIENTS; i++)
		if (ctl->clients[i].in_use)
			client_close(d, &ctl->clients[i]);
	capd_ev_del(d, &ctl->listen);
	close(ctl->listen.fd);
	unlink(ctl->path);
	free(ctl);
	d->ctl = NULL;
}
