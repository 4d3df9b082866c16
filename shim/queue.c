/*
 * shim/queue.c - capshim's side of the NFQUEUE reader (capqueue, in
 * queue/; protocol in queue/queue_proto.h): verdicts on new flows from the
 * capability in force now, the denied flow recorded with the local
 * process that opened it, and the reader's state for 'status'.
 *
 * capqueue holds the privilege NFQUEUE needs; capshim keeps none. A flow
 * the reader lets through still meets capshim's own check at the TUN,
 * so a verdict given just before a capability change cannot widen it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>

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

static json_t *hello(struct shim *s, json_t *req)
{
	json_t *num = json_object_get(req, "queue");

	if (!s->queue.first_ms)
		s->queue.first_ms = mono_ms();
	s->queue.hello_ms = mono_ms();
	s->queue.num = json_is_integer(num) ? (int)json_integer_value(num) : -1;
	s->queue.bypass = json_is_true(json_object_get(req, "bypass"));
	s->queue.rules = json_is_true(json_object_get(req, "rules"));
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
	return json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:s}", "reader", state,
			 "queue", s->queue.num, "bypass", s->queue.bypass, "rules", s->queue.rules,
			 "last_hello_ms_ago",
			 (json_int_t)(s->queue.hello_ms ? (json_int_t)(now - s->queue.hello_ms) : -1),
			 "accepted", (json_int_t)s->queue.accepted,
			 "denied", (json_int_t)s->queue.denied, "note", note);
}
