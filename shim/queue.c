/*
 * shim/queue.c - capshim's side of the NFQUEUE reader (capqueue, in
 * queue/; protocol in queue/queue_proto.h): verdicts on new flows from the
 * capability in force now, the denied flow recorded with the local
 * process that opened it, and the reader's state for 'status'.
 *
 * capqueue holds the privilege NFQUEUE needs; capshim keeps none. A flow
 * the reader lets through still meets capshim's own check at the TUN,
 * so a verdict given just before a capability change cannot widen it.
 *
 * The verdict table: the overlay addresses whose new flows the capability
 * allows now, pushed to the subscribed reader whenever it changes, so that
 * allowed flows cost no round trip; why that is safe is in
 * queue/queue_proto.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <sodium.h>

#include "../queue/queue_proto.h"
#include "shim.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* The flow of a request: protocol, addresses and ports. */
static bool flow_of(json_t *req, struct inet_flow *f)
{
	json_t *proto = json_object_get(req, "proto");
	json_t *sport = json_object_get(req, "sport"), *dport = json_object_get(req, "dport");
	const char *src = json_string_value(json_object_get(req, "src"));
	const char *dst = json_string_value(json_object_get(req, "dst"));
	struct in_addr a4;

	memset(f, 0, sizeof(*f));
	if (!json_is_integer(proto) || json_integer_value(proto) < 0 ||
	    json_integer_value(proto) > 255 || !json_is_integer(sport) ||
	    !json_is_integer(dport) || json_integer_value(sport) < 0 ||
	    json_integer_value(sport) > 65535 || json_integer_value(dport) < 0 ||
	    json_integer_value(dport) > 65535 || !src || !dst)
		return false;
	f->proto = (uint8_t)json_integer_value(proto);
	f->sport = (uint16_t)json_integer_value(sport);
	f->dport = (uint16_t)json_integer_value(dport);
	if (inet_pton(AF_INET, src, &a4) == 1) {
		inet_addr_from4(&f->src, &a4);
		f->family = AF_INET;
	} else if (inet_pton(AF_INET6, src, &f->src) == 1) {
		f->family = AF_INET6;
	} else {
		return false;
	}
	if (inet_pton(AF_INET, dst, &a4) == 1) {
		inet_addr_from4(&f->dst, &a4);
		return f->family == AF_INET;
	}
	return inet_pton(AF_INET6, dst, &f->dst) == 1 && f->family == AF_INET6;
}

_Static_assert(QUEUE_TABLE_MAX >= 2 * SHIM_PEERS_MAX, "two addresses per peer");

/*
 * What verdict() answers "a" for, as a table: a peer's addresses when its
 * bit is in the capability (or it is cut off, or checks are off). Flows
 * to addresses of no peer are left to verdict(): they stay round trips.
 */
static void table_build(struct shim *s, struct queue_table *t)
{
	bool all = s->cfg.no_cap_check || s->cfg.skip_sender_check;

	t->n = 0;
	for (size_t i = 0; i < s->npeers && t->n + 2 <= QUEUE_TABLE_MAX; i++) {
		const struct peer *p = &s->peers[i];

		if (!all && !p->disabled && !mask_bit_test(&s->cap.mask, p->bit))
			continue;
		if (p->has4)
			t->addr[t->n++] = p->overlay4;
		if (p->has6)
			t->addr[t->n++] = p->overlay6;
	}
	queue_table_sort(t);
}

/* Rebuilds the table; pushes it if it changed, or to a new subscriber. */
static void table_sync(struct shim *s, bool force)
{
	struct queue_table *t = malloc(sizeof(*t));
	uint8_t hash[sizeof(s->queue.table_hash)];

	if (!t) {
		shim_log(LOG_ERR, "nfqueue: no memory for the verdict table");
		return;
	}
	table_build(s, t);
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)t->addr,
			   t->n * sizeof(t->addr[0]), NULL, 0);
	if (!s->queue.gen || sodium_memcmp(hash, s->queue.table_hash, sizeof(hash)) != 0) {
		s->queue.gen++;
		memcpy(s->queue.table_hash, hash, sizeof(hash));
		s->queue.entries = t->n;
		force = true;
	}
	t->gen = s->queue.gen;
	if (force && shim_ctl_push(s, SHIM_CTL_SUB_QUEUE, queue_table_json(t)))
		s->queue.pushes++;
	free(t);
}

void shim_queue_table_sync(struct shim *s)
{
	table_sync(s, false);
}

static json_t *subscribe(struct shim *s)
{
	if (shim_ctl_subscribe(s, SHIM_CTL_SUB_QUEUE) < 0)
		return error("queue_subscribe: only a control-socket client can subscribe");
	table_sync(s, true);
	return json_pack("{s:b, s:I}", "ok", 1, "gen", (json_int_t)s->queue.gen);
}

static uint64_t count_of(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	       (uint64_t)json_integer_value(v) : 0;
}

static json_t *hello(struct shim *s, json_t *req)
{
	json_t *num = json_object_get(req, "queue"), *gen = json_object_get(req, "table");

	if (!s->queue.first_ms)
		s->queue.first_ms = mono_ms();
	s->queue.hello_ms = mono_ms();
	s->queue.num = json_is_integer(num) ? (int)json_integer_value(num) : -1;
	s->queue.bypass = json_is_true(json_object_get(req, "bypass"));
	s->queue.rules = json_is_true(json_object_get(req, "rules"));
	s->queue.reader_gen = json_is_integer(gen) && json_integer_value(gen) >= 0 ?
			      json_integer_value(gen) : -1;
	s->queue.reader_local = count_of(req, "local");
	s->queue.reader_asked = count_of(req, "asked");
	return json_pack("{s:b, s:s}", "ok", 1, "host", s->self.name);
}

static json_t *verdict(struct shim *s, json_t *req)
{
	struct inet_flow f;
	struct peer *p;
	bool allow;

	if (!flow_of(req, &f))
		return error("queue_verdict: proto, src, dst, sport and dport are needed");
	p = shim_peer_by_addr(s, &f.dst);
	/* not a peer (or cut off): capshim drops it at the TUN, counted there */
	allow = !p || p->disabled || s->cfg.no_cap_check || s->cfg.skip_sender_check ||
		mask_bit_test(&s->cap.mask, p->bit);
	if (allow) {
		s->queue.accepted++;
	} else {
		/* counted as capshim's own refusals are: the packet never reaches it */
		s->queue.denied++;
		shim_drop(s, DROP_TX_DENIED);
		p->c.tx_denied++;
	}
	return json_pack("{s:b, s:s}", "ok", 1, "v", allow ? "a" : "d");
}

static void copy_str(json_t *req, const char *key, char *out, size_t cap)
{
	const char *v = json_string_value(json_object_get(req, key));

	if (v && strlen(v) < cap)
		memcpy(out, v, strlen(v) + 1);
}

static json_t *denied(struct shim *s, json_t *req)
{
	uint8_t id[FLOWREC_ID_LEN];
	char hex[2 * FLOWREC_ID_LEN + 1];
	json_t *uid = json_object_get(req, "uid"), *pid = json_object_get(req, "pid");
	struct inet_flow f;
	struct flowrec attr;
	struct peer *p;

	if (!flow_of(req, &f))
		return error("queue_denied: proto, src, dst, sport and dport are needed");
	p = shim_peer_by_addr(s, &f.dst);
	if (!p)
		return error("queue_denied: the destination is no peer's");
	flowrec_init(&attr);
	if (json_is_integer(uid) && json_integer_value(uid) >= 0 &&
	    json_integer_value(uid) <= UINT32_MAX)
		attr.uid = json_integer_value(uid);
	if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
	    json_integer_value(pid) <= INT32_MAX)
		attr.pid = json_integer_value(pid);
	copy_str(req, "user", attr.user, sizeof(attr.user));
	copy_str(req, "comm", attr.comm, sizeof(attr.comm));
	copy_str(req, "exe", attr.exe, sizeof(attr.exe));
	copy_str(req, "iif", attr.iif, sizeof(attr.iif));
	s->now = shim_now_ns();
	shim_flow_denied_tx(s, p, &f, &attr, FLOWREC_VIA_NFQUEUE, id);
	shim_tx_flush(s);
	flowrec_id_hex(id, hex);
	return json_pack("{s:b, s:s}", "ok", 1, "flow", hex);
}

json_t *shim_queue_request(struct shim *s, uid_t uid, const char *cmd, json_t *req)
{
	if (uid != 0)
		return error("permission denied: only root (capqueue) may use the queue verbs");
	if (strcmp(cmd, "queue_hello") == 0)
		return hello(s, req);
	if (strcmp(cmd, "queue_verdict") == 0)
		return verdict(s, req);
	if (strcmp(cmd, "queue_subscribe") == 0)
		return subscribe(s);
	return denied(s, req);
}

json_t *shim_queue_status(struct shim *s)
{
	uint64_t now = mono_ms();
	bool running = s->queue.hello_ms && now - s->queue.hello_ms < QUEUE_STALE_MS;
	const char *state, *note;

	if (!s->queue.first_ms) {
		state = "none";
		note = "no NFQUEUE reader (capqueue) has registered: denied flows are "
		       "refused at the TUN, without the local process that opened them";
	} else if (running) {
		state = "running";
		note = s->queue.bypass ?
		       "fail open: --queue-bypass lets new flows through while capqueue is down" :
		       "fail closed: while capqueue is down, new flows to the overlay are "
		       "dropped by the kernel";
	} else {
		state = "gone";
		note = s->queue.bypass ?
		       "capqueue is not running and --queue-bypass lets new flows through "
		       "unattributed (capshim still enforces at the TUN)" :
		       "capqueue is not running: new flows to the overlay are DROPPED by the "
		       "kernel (fail closed) until it runs again";
	}
	/*
	 * accepted/denied: round trips answered here; local/asked: the
	 * reader's own count of flows it let through from its table and of
	 * those it asked about, as of its last hello.
	 */
	return json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:s}",
			 "reader", state, "queue", s->queue.num, "bypass", s->queue.bypass,
			 "rules", s->queue.rules, "last_hello_ms_ago",
			 (json_int_t)(s->queue.hello_ms ? (json_int_t)(now - s->queue.hello_ms) : -1),
			 "accepted", (json_int_t)s->queue.accepted,
			 "denied", (json_int_t)s->queue.denied,
			 "local", (json_int_t)s->queue.reader_local,
			 "asked", (json_int_t)s->queue.reader_asked,
			 "table", "gen", (json_int_t)s->queue.gen,
			 "entries", (json_int_t)s->queue.entries,
			 "pushes", (json_int_t)s->queue.pushes,
			 "reader_gen", (json_int_t)(s->queue.first_ms ? s->queue.reader_gen : -1),
			 "note", note);
}
