/*
 * shim/ctl.c - capshim's control socket: a Unix stream socket speaking
 * JSON lines (one request object per line, one answer per line; the
 * answers are ctlverbs.c's). It shares the only thread with the packets,
 * so nothing here may ever wait on a client:
 *
 *  - every client socket is non-blocking; answers go to a per-client
 *    output queue flushed as the socket takes them (EPOLLOUT). A client
 *    whose unsent answers would pass CTL_OUT_MAX has fallen behind and is
 *    dropped, as capd drops one that does not read.
 *  - requests are bounded: a line of CTL_LINE_MAX at most (a longer one
 *    is answered with an error and the client dropped); at most
 *    CTL_LINES_PER_TURN answers per client per turn of the event loop,
 *    the rest waits for the next turn (an eventfd keeps the loop coming
 *    back while answers are due); a non-root uid
 *    gets CTL_RATE_PER_S requests a second (bursts of CTL_RATE_BURST)
 *    over all its connections, beyond which its sockets are not read
 *    until the budget refills (shim_ctl_tick), and CTL_CLIENTS_PER_UID
 *    connections at once. Root (capd) is never throttled and always gets
 *    a slot: when all CTL_CLIENTS are taken, the non-root client idle the
 *    longest gives its slot up.
 *  - the socket is mode CTL_MODE_DEFAULT (root and the control group,
 *    by default "captun" if it exists) unless --control-mode says
 *    otherwise, in a directory only root may write (common/daemon.c), so
 *    that no local user can put another socket in its place; SO_PEERCRED
 *    decides per request what a client may do.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "shim.h"

#define NS UINT64_C(1000000000)

enum ctl_limit {
	CTL_CLIENTS = 32,
	CTL_CLIENTS_PER_UID = 4,	/* non-root */
	CTL_LINE_MAX = 256 * 1024,
	CTL_OUT_MAX = 4 << 20,		/* unsent answers per client */
	CTL_RATE_PER_S = 20,		/* requests of a non-root uid */
	CTL_RATE_BURST = 40,
	CTL_BACKLOG = 16,
	CTL_READ_CHUNK = 64 * 1024,
	CTL_LINES_PER_TURN = 4,		/* answers per client per loop turn */
};

struct ctl_client {
	struct shim_ev ev;		/* first: the loop hands us this pointer */
	bool in_use;
	bool closing;			/* close once the output is flushed */
	bool throttled;			/* its uid's budget is spent: not read */
	unsigned subs;			/* enum shim_ctl_sub: the pushes it gets */
	uid_t uid;
	uint32_t events;		/* what epoll watches for it */
	uint64_t active_ns;
	char *in;			/* a partial request line, CTL_LINE_MAX */
	size_t in_len;
	char *out;			/* unsent answers */
	size_t out_off, out_len, out_cap;
};

/* A non-root uid's request budget, shared by its connections. */
struct ctl_uid {
	uid_t uid;
	unsigned conns;
	uint64_t tokens_ns, last_ns;
};

struct ctl {
	struct shim_ev listen;
	struct shim_ev pending;		/* eventfd: readable while lines wait */
	struct ctl_client clients[CTL_CLIENTS];
	struct ctl_uid uids[CTL_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t dropped;		/* clients dropped for falling behind */
	struct ctl_client *serving;	/* whose request is being answered */
};

enum {
	TOKEN_NS = NS / CTL_RATE_PER_S,
	TOKENS_MAX_NS = TOKEN_NS * CTL_RATE_BURST,
};

int shim_ev_add(struct shim *s, struct shim_ev *ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = ev };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0 ? -errno : 0;
}

static struct ctl_uid *uid_find(struct ctl *ctl, uid_t uid)
{
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl->uids[i].conns && ctl->uids[i].uid == uid)
			return &ctl->uids[i];
	return NULL;
}

/* Takes one request from uid's budget; root's is unbounded. */
static bool uid_spend(struct ctl *ctl, uid_t uid, uint64_t now)
{
	struct ctl_uid *u = uid == 0 ? NULL : uid_find(ctl, uid);
	uint64_t earned;

	if (!u)
		return true;
	earned = now - u->last_ns;
	u->tokens_ns = earned >= TOKENS_MAX_NS - u->tokens_ns ? TOKENS_MAX_NS :
		       u->tokens_ns + earned;
	u->last_ns = now;
	if (u->tokens_ns < TOKEN_NS)
		return false;
	u->tokens_ns -= TOKEN_NS;
	return true;
}

static void watch(struct shim *s, struct ctl_client *c, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = &c->ev };

	if (events != c->events && epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->ev.fd, &e) == 0)
		c->events = events;
}

/* An event epoll reported before its client was closed, in the same batch. */
static void stale_event(struct shim *s, struct shim_ev *ev, uint32_t events)
{
}

/*
 * The slot is left with a handler that does nothing: the loop may still
 * hold an event of this client from the same epoll_wait (another handler
 * of that batch closed it).
 */
static void client_close(struct shim *s, struct ctl_client *c)
{
	struct ctl_uid *u = c->uid == 0 ? NULL : uid_find(s->ctl, c->uid);

	if (u && --u->conns == 0)
		memset(u, 0, sizeof(*u));
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->ev.fd, NULL);
	close(c->ev.fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->ev.fd = -1;
	c->ev.fn = stale_event;
}

/* Sends what the socket takes now; false if the connection is broken. */
static bool send_out(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->ev.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	return true;
}

/* Sends what the socket takes now; false if the client is gone. */
static bool flush_out(struct shim *s, struct ctl_client *c)
{
	if (!send_out(c)) {
		client_close(s, c);
		return false;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->closing) {
			client_close(s, c);
			return false;
		}
	}
	watch(s, c, (c->throttled || c->closing ? 0 : EPOLLIN) |
		    (c->out_len ? EPOLLOUT : 0));
	return true;
}

/*
 * Appends one line to c's output queue; -ENOBUFS if the queue would pass
 * CTL_OUT_MAX (the client has fallen behind), -ENOMEM.
 */
static int enqueue(struct shim *s, struct ctl_client *c, const char *text, size_t len)
{
	if (c->out_len - c->out_off + len + 1 > CTL_OUT_MAX) {
		s->ctl->dropped++;
		shim_log(LOG_WARNING, "control client (uid %u) dropped: it does not read "
			 "its answers", (unsigned)c->uid);
		return -ENOBUFS;
	}
	if (c->out_off && c->out_len + len + 1 > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *nb;

		while (cap < c->out_len + len + 1)
			cap *= 2;
		nb = realloc(c->out, cap);
		if (!nb)
			return -ENOMEM;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

/*
 * Queues one answer line (the reference is taken) and sends what it can.
 * A client whose queue would pass CTL_OUT_MAX is dropped: false.
 */
static bool reply(struct shim *s, struct ctl_client *c, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int ret;

	json_decref(obj);
	if (!text)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (!text) {
		client_close(s, c);
		return false;
	}
	ret = enqueue(s, c, text, strlen(text));
	free(text);
	if (ret < 0) {
		client_close(s, c);
		return false;
	}
	return flush_out(s, c);
}

static json_t *error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* Wakes the loop for answers still due (see on_pending). */
static void mark_pending(struct shim *s)
{
	uint64_t one = 1;

	if (write(s->ctl->pending.fd, &one, sizeof(one)) != sizeof(one))
		shim_log(LOG_ERR, "control socket: eventfd: %s", strerror(errno));
}

/*
 * Answers up to CTL_LINES_PER_TURN complete lines of the input buffer
 * while the client's uid has budget; false if the client is gone. What is
 * left waits: for more bytes (a partial line), for the budget (throttled,
 * shim_ctl_tick) or for the next turn (pending).
 */
static bool serve(struct shim *s, struct ctl_client *c)
{
	unsigned done = 0;
	json_t *ans;
	char *nl;

	while ((nl = memchr(c->in, '\n', c->in_len))) {
		size_t l = (size_t)(nl - c->in);

		if (done == CTL_LINES_PER_TURN) {
			mark_pending(s);
			return true;
		}
		if (!uid_spend(s->ctl, c->uid, shim_now_ns())) {
			c->throttled = true;
			watch(s, c, c->out_len ? EPOLLOUT : 0);
			return true;
		}
		s->ctl->serving = c;
		ans = shim_ctl_answer(s, c->uid, c->in, l);
		s->ctl->serving = NULL;
		if (!reply(s, c, ans))
			return false;
		memmove(c->in, nl + 1, c->in_len - l - 1);
		c->in_len -= l + 1;
		done++;
	}
	c->throttled = false;
	return true;
}

static bool has_line(const struct ctl_client *c)
{
	return memchr(c->in, '\n', c->in_len) != NULL;
}

/* Answers due from earlier turns, a few per client. */
static void on_pending(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct ctl *ctl = s->ctl;
	uint64_t n;

	if (read(ev->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		shim_log(LOG_ERR, "control socket: eventfd: %s", strerror(errno));
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

		if (c->in_use && !c->throttled && !c->closing && has_line(c))
			serve(s, c);
	}
}

static void client_event(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct ctl_client *c = (struct ctl_client *)ev;
	size_t room;
	ssize_t n;

	if (!c->in_use)
		return;

	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		client_close(s, c);
		return;
	}
	if ((events & EPOLLOUT) && !flush_out(s, c))
		return;
	if (!(events & EPOLLIN) || c->throttled || c->closing)
		return;
	c->active_ns = shim_now_ns();
	/* Lines already here first: the socket is read only when none is whole. */
	if (has_line(c)) {
		serve(s, c);
		return;
	}
	room = CTL_LINE_MAX - c->in_len;
	if (room == 0) {
		c->closing = true;
		reply(s, c, error("request line too long"));
		return;
	}
	do {
		n = recv(c->ev.fd, c->in + c->in_len, room < CTL_READ_CHUNK ? room :
			 CTL_READ_CHUNK, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(s, c);
		return;
	}
	c->in_len += (size_t)n;
	serve(s, c);
}

/* The slot a new client of uid may take, or NULL (then it is refused). */
static struct ctl_client *slot_for(struct shim *s, uid_t uid)
{
	struct ctl *ctl = s->ctl;
	struct ctl_client *idlest = NULL;
	struct ctl_uid *u = uid_find(ctl, uid);

	if (uid != 0 && u && u->conns >= CTL_CLIENTS_PER_UID)
		return NULL;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

		if (!c->in_use)
			return c;
		if (c->uid != 0 && (!idlest || c->active_ns < idlest->active_ns))
			idlest = c;
	}
	if (uid != 0 || !idlest)
		return NULL;
	shim_log(LOG_NOTICE, "control socket full: uid %u's idle client gives its slot "
		 "to root", (unsigned)idlest->uid);
	client_close(s, idlest);
	return idlest;
}

static void accept_client(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct ctl *ctl = s->ctl;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_client *c;
	struct ctl_uid *u;
	int fd;

	fd = accept4(ev->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    !(c = slot_for(s, cred.uid))) {
		close(fd);
		return;
	}
	u = cred.uid == 0 ? NULL : uid_find(ctl, cred.uid);
	if (cred.uid != 0 && !u) {
		for (int i = 0; i < CTL_CLIENTS && !u; i++)
			if (ctl->uids[i].conns == 0) {
				u = &ctl->uids[i];
				u->uid = cred.uid;
				u->tokens_ns = TOKENS_MAX_NS;
				u->last_ns = shim_now_ns();
			}
	}
	c->in = malloc(CTL_LINE_MAX);
	if (!c->in || (cred.uid != 0 && !u)) {
		free(c->in);
		c->in = NULL;
		close(fd);
		return;
	}
	if (u)
		u->conns++;
	c->in_use = true;
	c->uid = cred.uid;
	c->active_ns = shim_now_ns();
	c->ev.fd = fd;
	c->ev.fn = client_event;
	c->events = EPOLLIN;
	if (shim_ev_add(s, &c->ev) < 0)
		client_close(s, c);
}

void shim_ctl_tick(struct shim *s)
{
	/* Throttled clients whose uid's budget has refilled go on. */
	struct ctl *ctl = s->ctl;

	if (!ctl)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

		if (!c->in_use || !c->throttled)
			continue;
		c->throttled = false;
		if (!serve(s, c) || c->throttled)
			continue;
		watch(s, c, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
	}
}

/* The control group: "captun" if the system has one, else root's. */
static gid_t control_gid(const char *name)
{
	struct group *g = getgrnam(name ? name : "captun");

	return g ? g->gr_gid : 0;
}

int shim_ctl_open(struct shim *s, const char *path)
{
	struct ctl *ctl;
	int fd, ret;

	if (strlen(path) >= sizeof(ctl->path))
		return -ENAMETOOLONG;
	if (s->cfg.control_group && !getgrnam(s->cfg.control_group))
		return -ENOENT;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	fd = daemon_unix_listen_as(path, CTL_BACKLOG, s->cfg.control_mode,
				   control_gid(s->cfg.control_group));
	if (fd < 0) {
		free(ctl);
		return fd;
	}
	memcpy(ctl->path, path, strlen(path) + 1);
	ctl->listen.fd = fd;
	ctl->listen.fn = accept_client;
	ctl->pending.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ctl->pending.fn = on_pending;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		ctl->clients[i].ev.fd = -1;
		ctl->clients[i].ev.fn = stale_event;
	}
	s->ctl = ctl;
	ret = ctl->pending.fd < 0 ? -errno : shim_ev_add(s, &ctl->listen);
	if (ret == 0)
		ret = shim_ev_add(s, &ctl->pending);
	if (ret < 0) {
		s->ctl = NULL;
		unlink(path);
		close(fd);
		if (ctl->pending.fd >= 0)
			close(ctl->pending.fd);
		free(ctl);
	}
	return ret;
}

void shim_ctl_close(struct shim *s)
{
	struct ctl *ctl = s->ctl;

	if (!ctl)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl->clients[i].in_use)
			client_close(s, &ctl->clients[i]);
	close(ctl->listen.fd);
	close(ctl->pending.fd);
	unlink(ctl->path);
	free(ctl);
	s->ctl = NULL;
}

uint64_t shim_ctl_dropped(const struct shim *s)
{
	return s->ctl ? s->ctl->dropped : 0;
}

int shim_ctl_subscribe(struct shim *s, unsigned subs)
{
	if (!s->ctl || !s->ctl->serving)
		return -ENOTCONN;
	s->ctl->serving->subs |= subs;
	return 0;
}

/*
 * A line no request asked for, to every client subscribed to sub (the
 * reference is taken): queued and sent as far as the socket takes it now.
 * It never closes a client here (the push may come from inside that
 * client's own request): one that has fallen behind or whose connection
 * broke is shut down, and its next event closes it. The number of clients
 * it went to.
 */
unsigned shim_ctl_push(struct shim *s, unsigned sub, json_t *obj)
{
	struct ctl *ctl = s->ctl;
	unsigned sent = 0;
	char *text = NULL;

	for (int i = 0; ctl && obj && i < CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

		if (!c->in_use || c->closing || !(c->subs & sub))
			continue;
		if (!text && !(text = json_dumps(obj, JSON_COMPACT)))
			break;
		if (enqueue(s, c, text, strlen(text)) < 0 || !send_out(c)) {
			shutdown(c->ev.fd, SHUT_RDWR);
			c->closing = true;
			c->out_off = c->out_len = 0;
			watch(s, c, EPOLLOUT);
			continue;
		}
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
		watch(s, c, (c->throttled ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0));
		sent++;
	}
	free(text);
	json_decref(obj);
	return sent;
}
