/*
 * capd/verbs.c - the answers to control requests that parsed (request.c):
 * open, close, list, status, publish. Verbs that change anything are
 * root's (SO_PEERCRED); list and status are anyone's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "capd.h"

/* {"ok":false,"error":...}; bytes that are not printable ASCII become '?'. */
json_t *capd_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	o = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	return o ? o : json_pack("{s:b}", "ok", 0);
}

/* The mask capshim confirmed last, or what capd computes if none yet. */
static json_t *mask_now(const struct capd *d)
{
	char text[CAPD_MASK_TEXT];
	struct mask m;
	bool isolate;

	if (d->pushed.valid)
		return json_string(d->pushed.mask);
	capd_cap_local(d, &m, &isolate);
	mask_format(&m, text, sizeof(text));
	return json_string(text);
}

static json_t *open_verb(struct capd *d, const struct capd_request *r)
{
	char why[512];
	uint64_t id = 0;
	int ret = capd_session_open(d, r, &id, why, sizeof(why));

	if (ret < 0)
		return capd_error("login refused: %s", why);
	if (ret == 1)
		return json_pack("{s:b, s:b, s:s}", "ok", 1, "recorded", 0, "why", why);
	return json_pack("{s:b, s:I, s:I, s:o, s:b, s:b}", "ok", 1,
			 "session", (json_int_t)id, "epoch", (json_int_t)d->pushed.epoch,
			 "mask", mask_now(d), "isolated", d->pushed.isolate,
			 "pending", d->shim.dirty);
}

/* Session idx's close was asked for: ended, or lingering (linger.c). */
static void close_one(struct capd *d, size_t idx, json_int_t *closed, json_int_t *lingering)
{
	uint64_t id = d->table.s[idx]->id;

	capd_session_gone(d, idx, "session_close", "closed by request");
	if (capd_table_find_id(&d->table, id) >= 0)
		(*lingering)++;
	else
		(*closed)++;
}

static json_t *close_verb(struct capd *d, const struct capd_request *r)
{
	json_int_t closed = 0, lingering = 0;
	size_t from = 0;
	ssize_t idx;

	if (r->session) {
		idx = capd_table_find_id(&d->table, r->session);
		if (idx < 0)
			return capd_error("no open session %llu; 'list' shows the open ones",
					  (unsigned long long)r->session);
		close_one(d, (size_t)idx, &closed, &lingering);
	} else {
		while ((idx = capd_table_find_pid(&d->table, r->pid, from)) >= 0) {
			uint64_t id = d->table.s[idx]->id;
			ssize_t still;

			close_one(d, (size_t)idx, &closed, &lingering);
			/* ended: the next one moved into its slot; else past it */
			still = capd_table_find_id(&d->table, id);
			from = still >= 0 ? (size_t)still + 1 : (size_t)idx;
		}
		if (!closed && !lingering)
			return capd_error("no open session of process %d; 'list' shows the "
					  "open ones",
					  (int)r->pid);
	}
	return json_pack("{s:b, s:I, s:I, s:I, s:o, s:b, s:b}", "ok", 1, "closed", closed,
			 "lingering", lingering, "epoch", (json_int_t)d->pushed.epoch,
			 "mask", mask_now(d), "isolated", d->pushed.isolate,
			 "pending", d->shim.dirty);
}

static json_t *list_verb(struct capd *d)
{
	json_t *arr = json_array();

	if (!arr)
		return capd_error("out of memory");
	for (size_t i = 0; i < d->table.n; i++) {
		const struct capd_session *s = d->table.s[i];

		if (json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:b}",
				"session", (json_int_t)s->id, "user", s->user,
				"service", s->service, "tty", s->tty, "rhost", s->rhost,
				"pid", (int)s->pid, "opened_at", (json_int_t)s->opened_at,
				"lingering", s->lingering)) < 0) {
			json_decref(arr);
			return capd_error("out of memory");
		}
	}
	return json_pack("{s:b, s:o}", "ok", 1, "sessions", arr);
}

static json_t *status_verb(struct capd *d)
{
	uint64_t now = capd_unix_now();
	char users[CAPD_USERS_MAX * (CAPD_USER_MAX + 1) + 1], grant[CAPD_MASK_TEXT];
	json_t *invalid = json_array(), *o;
	char head[2 * CAPD_HASH_LEN + 1];
	struct mask m;
	bool isolate;

	capd_cap_local(d, &m, &isolate);
	sodium_bin2hex(head, sizeof(head), d->audit.prev, sizeof(d->audit.prev));
	capd_users_text(&d->table, users, sizeof(users));
	mask_format(&d->trust.host.grant, grant, sizeof(grant));
	for (size_t i = 0; invalid && i < d->table.nusers; i++)
		if (!capd_user_valid(&d->table.users[i], now))
			json_array_append_new(invalid, json_pack("{s:s, s:s}", "user",
				d->table.users[i].name, "why",
				capd_user_why(&d->table.users[i], now)));
	o = json_pack("{s:b, s:s, s:i, s:I, s:o, s:s, s:s, s:b, s:o*, s:I, s:I,"
		      " s:{s:s, s:b, s:b, s:s}, s:s, s:s, s:I}",
		      "ok", 1, "host", d->trust.host.name, "bit", (int)d->trust.host.bit,
		      "epoch", (json_int_t)d->pushed.epoch, "mask", mask_now(d),
		      "host_grant", grant, "users", users, "isolated", isolate,
		      "invalid_users", invalid, "sessions", (json_int_t)d->table.n,
		      "next_session", (json_int_t)d->table.next_id,
		      "shim", "socket", d->shim.path, "reachable", d->shim.reachable,
		      "in_sync", !d->shim.dirty && d->pushed.valid,
		      "error", d->shim.dirty ? d->shim.error : "",
		      "on_invalid", d->cfg.on_invalid == CAPD_ON_INVALID_ISOLATE ? "isolate" : "refuse",
		      "dir", d->cfg.dir,
		      "revocation_serial", (json_int_t)(d->trust.have_list ? d->trust.revoked.serial : 0));
	if (o)
		json_object_set_new(o, "audit_head", json_string(head));
	if (o)
		json_object_update_new(o, capd_service_status(d));
	return o ? o : capd_error("out of memory");
}

/* The answer to one parsed request from a peer of uid. */
json_t *capd_verbs_answer(struct capd *d, const struct capd_request *req,
			  uid_t uid)
{
	if (capd_verb_is_root(req->verb) && uid != 0)
		return capd_error("permission denied: only root may %s (this peer is uid %u); "
				  "list and status are open to all",
				  capd_verb_name(req->verb), (unsigned)uid);
	switch (req->verb) {
	case CAPD_VERB_OPEN:
		return open_verb(d, req);
	case CAPD_VERB_CLOSE:
		return close_verb(d, req);
	case CAPD_VERB_LIST:
		return list_verb(d);
	case CAPD_VERB_STATUS:
		return status_verb(d);
	case CAPD_VERB_PUBLISH:
		return capd_publish_run(d, req->objects);
	case CAPD_VERB_FLOWS:
		return capd_flows_answer(d, req->since, req->max);
	}
	return capd_error("unknown verb");
}
