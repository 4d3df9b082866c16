/*
 * queue/link.c - capqueue's connection to capshim (queue/queue_proto.h).
 *
 * capshim pushes its verdict table on this connection (subscribed once on
 * connecting): a queued packet whose destination the table allows is
 * accepted at once, with no round trip. Every other one becomes a
 * queue_verdict request; answers come back in order, so a FIFO of what
 * was asked matches them up (push lines, marked "push", are not answers).
 * The table goes with the connection: with none, every flow is asked
 * about, and refused if no answer comes (queue/queue_proto.h says why a
 * stale table cannot refuse or widen anything). The socket is
 * non-blocking both ways: requests wait in a bounded buffer, and a
 * capshim that is gone or silent for QUEUE_ANSWER_TIMEOUT_MS makes every
 * waiting packet fail closed (refused at once) until it answers again.
 * A denied flow's process is looked up before the verdict, while the
 * application still holds its socket, and handed to capshim
 * (queue_denied), which records it and tells the receiver.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "capqueue.h"

enum link_const {
	RECONNECT_MS = 200,
};

struct capqueue_link {
	const struct capqueue_config *cfg;
	struct capqueue_nfq *nfq;
	int fd;
	bool up;
	uint64_t last_try_ms, last_hello_ms, down_logged_ms;
	char *out;
	size_t out_len;
	char *in;
	size_t in_len;
	struct capqueue_pending *fifo;	/* ring of CAPQUEUE_PENDING_MAX */
	size_t head, count;
	uint64_t refused_down;
	struct queue_table *table;	/* capshim's last push, or NULL */
	struct queue_table *spare;	/* the next push is parsed into it */
	struct queue_table *tables[2];
	uint64_t local, asked;		/* verdicts from the table, round trips */
	uint64_t bad_push_logged;
};

_Static_assert((long)CAPQUEUE_IN_MAX >= (long)QUEUE_TABLE_LINE_MAX, "a push line fits");

int capqueue_link_new(struct capqueue_link **out, const struct capqueue_config *cfg,
		      struct capqueue_nfq *nfq)
{
	struct capqueue_link *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->cfg = cfg;
	l->nfq = nfq;
	l->fd = -1;
	l->out = malloc(CAPQUEUE_OUT_MAX);
	l->in = malloc(CAPQUEUE_IN_MAX);
	l->fifo = calloc(CAPQUEUE_PENDING_MAX, sizeof(*l->fifo));
	l->tables[0] = malloc(sizeof(*l->tables[0]));
	l->tables[1] = malloc(sizeof(*l->tables[1]));
	l->spare = l->tables[0];
	if (!l->out || !l->in || !l->fifo || !l->tables[0] || !l->tables[1]) {
		capqueue_link_free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

void capqueue_link_attach(struct capqueue_link *l, struct capqueue_nfq *nfq)
{
	l->nfq = nfq;
}

int capqueue_link_fd(const struct capqueue_link *l)
{
	return l->fd;
}

bool capqueue_link_wants_write(const struct capqueue_link *l)
{
	return l->fd >= 0 && l->out_len > 0;
}

/* Every packet still waiting is refused: fail closed. */
static void drop_pending(struct capqueue_link *l)
{
	while (l->count) {
		struct capqueue_pending *p = &l->fifo[l->head];

		if (p->packet_id)
			capqueue_nfq_refuse(l->nfq, p->packet_id);
		l->head = (l->head + 1) % CAPQUEUE_PENDING_MAX;
		l->count--;
	}
}

static void disconnect(struct capqueue_link *l, const char *why)
{
	if (l->fd >= 0) {
		capqueue_log(LOG_WARNING, "capshim %s: %s; new flows are refused until it "
			     "answers again", l->cfg->shim, why);
		close(l->fd);
	}
	l->fd = -1;
	l->up = false;
	l->out_len = l->in_len = 0;
	l->table = NULL;	/* until the next connection's push: ask */
	drop_pending(l);
}

static bool push(struct capqueue_link *l, const struct capqueue_pending *p, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	size_t n;

	json_decref(req);
	if (!text)
		return false;
	n = strlen(text);
	if (l->fd < 0 || l->count == CAPQUEUE_PENDING_MAX ||
	    l->out_len + n + 1 > CAPQUEUE_OUT_MAX) {
		free(text);
		return false;
	}
	memcpy(l->out + l->out_len, text, n);
	l->out[l->out_len + n] = '\n';
	l->out_len += n + 1;
	free(text);
	l->fifo[(l->head + l->count) % CAPQUEUE_PENDING_MAX] = *p;
	l->count++;
	return true;
}

static void hello(struct capqueue_link *l)
{
	struct capqueue_pending p = { .sent_ms = capqueue_mono_ms() };

	l->last_hello_ms = p.sent_ms;
	push(l, &p, json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:I}", "cmd", "queue_hello",
			      "queue", (int)l->cfg->num, "bypass", l->cfg->bypass,
			      "rules", l->cfg->rules,
			      "table", l->table ? (json_int_t)l->table->gen : (json_int_t)-1,
			      "local", (json_int_t)l->local, "asked", (json_int_t)l->asked));
}

static void connect_shim(struct capqueue_link *l)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	l->last_try_ms = capqueue_mono_ms();
	if (strlen(l->cfg->shim) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, l->cfg->shim, strlen(l->cfg->shim) + 1);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return;
	if (connect(l->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(l->fd);
		l->fd = -1;
		return;
	}
	l->up = true;
	capqueue_log(LOG_INFO, "connected to capshim %s", l->cfg->shim);
	hello(l);
	push(l, &(struct capqueue_pending){ .sent_ms = l->last_hello_ms },
	     json_pack("{s:s}", "cmd", "queue_subscribe"));
}

static json_t *flow_json(const char *cmd, const struct inet_flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	return json_pack("{s:s, s:i, s:s, s:s, s:i, s:i}", "cmd", cmd, "proto", f->proto,
			 "src", inet_addr_str(&f->src, src, sizeof(src)),
			 "dst", inet_addr_str(&f->dst, dst, sizeof(dst)),
			 "sport", f->sport, "dport", f->dport);
}

void capqueue_link_packet(struct capqueue_link *l, uint32_t id, const uint8_t *pkt,
			  size_t len, int64_t uid, uint32_t indev)
{
	struct capqueue_pending p = { .packet_id = id, .uid = uid, .indev = indev };

	if (!inet_parse(pkt, len, &p.flow)) {
		capqueue_nfq_accept(l->nfq, id);	/* capshim drops it as malformed */
		return;
	}
	if (l->table && queue_table_allows(l->table, &p.flow.dst)) {
		l->local++;
		capqueue_nfq_accept(l->nfq, id);
		return;
	}
	p.sent_ms = capqueue_mono_ms();
	if (l->fd < 0)
		connect_shim(l);
	l->asked++;
	if (!push(l, &p, flow_json("queue_verdict", &p.flow))) {
		if (l->refused_down++ % 1000 == 0)
			capqueue_log(LOG_WARNING, "capshim %s cannot be asked: new flows are "
				     "refused (fail closed; %llu so far)", l->cfg->shim,
				     (unsigned long long)l->refused_down);
		capqueue_nfq_refuse(l->nfq, id);
		return;
	}
	capqueue_link_io(l, false, true);
}

/* Text from /proc as a JSON string: bytes outside ASCII become '?'. */
static json_t *ascii(char *text)
{
	for (char *p = text; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	return json_string(text);
}

/* A denied flow: find its process, tell capshim, refuse the packet. */
static void deny(struct capqueue_link *l, const struct capqueue_pending *p)
{
	struct capqueue_pending ev = { .sent_ms = capqueue_mono_ms() };
	struct capqueue_who who;
	json_t *req;

	capqueue_who_find(&p->flow, p->uid, p->indev, &who);
	req = flow_json("queue_denied", &p->flow);
	if (req && who.uid >= 0)
		json_object_set_new(req, "uid", json_integer(who.uid));
	if (req && who.pid >= 0)
		json_object_set_new(req, "pid", json_integer(who.pid));
	if (req && who.user[0])
		json_object_set_new(req, "user", json_string(who.user));
	if (req && who.comm[0])
		json_object_set_new(req, "comm", ascii(who.comm));
	if (req && who.exe[0])
		json_object_set_new(req, "exe", ascii(who.exe));
	if (req && who.iif[0])
		json_object_set_new(req, "iif", json_string(who.iif));
	if (req)
		push(l, &ev, req);
	capqueue_nfq_refuse(l->nfq, p->packet_id);
}

/* A pushed table replaces the one in force whole; a bad one drops it. */
static void table_pushed(struct capqueue_link *l, json_t *a)
{
	if (!queue_table_from_json(a, l->spare)) {
		if (l->bad_push_logged++ % 100 == 0)
			capqueue_log(LOG_WARNING, "capshim %s pushed a table that does not "
				     "parse: every new flow is asked about", l->cfg->shim);
		l->table = NULL;
		return;
	}
	l->table = l->spare;
	l->spare = l->table == l->tables[0] ? l->tables[1] : l->tables[0];
}

static void answer(struct capqueue_link *l, const char *line, size_t len)
{
	json_t *a = json_loadb(line, len, 0, NULL);
	struct capqueue_pending p;
	const char *v;

	if (json_object_get(a, "push")) {
		table_pushed(l, a);
		json_decref(a);
		return;
	}
	if (!l->count || !l->fifo[l->head].packet_id) {
		/* nothing asked (ignored), or a hello's, subscription's or denied event's answer */
		if (l->count) {
			l->head = (l->head + 1) % CAPQUEUE_PENDING_MAX;
			l->count--;
		}
		json_decref(a);
		return;
	}
	p = l->fifo[l->head];
	l->head = (l->head + 1) % CAPQUEUE_PENDING_MAX;
	l->count--;
	v = json_string_value(json_object_get(a, "v"));
	if (v && strcmp(v, "a") == 0)
		capqueue_nfq_accept(l->nfq, p.packet_id);
	else if (v && strcmp(v, "d") == 0)
		deny(l, &p);
	else
		capqueue_nfq_refuse(l->nfq, p.packet_id);	/* an error: fail closed */
	json_decref(a);
}

void capqueue_link_io(struct capqueue_link *l, bool readable, bool writable)
{
	if (l->fd < 0)
		return;
	while (writable && l->out_len) {
		ssize_t n = send(l->fd, l->out, l->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			disconnect(l, "connection lost");
			return;
		}
		memmove(l->out, l->out + n, l->out_len - (size_t)n);
		l->out_len -= (size_t)n;
	}
	while (readable) {
		ssize_t n = recv(l->fd, l->in + l->in_len, CAPQUEUE_IN_MAX - l->in_len,
				 MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			disconnect(l, n == 0 ? "it closed the connection" : "connection lost");
			return;
		}
		l->in_len += (size_t)n;
		while ((nl = memchr(l->in, '\n', l->in_len))) {
			size_t len = (size_t)(nl - l->in);

			answer(l, l->in, len);
			memmove(l->in, nl + 1, l->in_len - len - 1);
			l->in_len -= len + 1;
		}
		if (l->in_len == CAPQUEUE_IN_MAX) {
			disconnect(l, "an answer line too long");
			return;
		}
	}
}

void capqueue_link_tick(struct capqueue_link *l)
{
	uint64_t now = capqueue_mono_ms();

	if (l->fd < 0 && now - l->last_try_ms >= RECONNECT_MS)
		connect_shim(l);
	if (l->fd >= 0 && l->count && now - l->fifo[l->head].sent_ms > QUEUE_ANSWER_TIMEOUT_MS)
		disconnect(l, "no answer within 3 seconds");
	if (l->fd >= 0 && now - l->last_hello_ms >= QUEUE_HELLO_MS) {
		hello(l);
		capqueue_link_io(l, false, true);
	}
}

void capqueue_link_free(struct capqueue_link *l)
{
	if (!l)
		return;
	drop_pending(l);
	if (l->fd >= 0)
		close(l->fd);
	free(l->out);
	free(l->in);
	free(l->fifo);
	free(l->tables[0]);
	free(l->tables[1]);
	free(l);
}
