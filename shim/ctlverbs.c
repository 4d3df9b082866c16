/*
 * shim/ctlverbs.c - the answers of capshim's control protocol, one JSON
 * object per request line (capd/PROTOCOL.md is the contract):
 *
 *   {"cmd":"status"}                       anyone: host, epoch, peers, drops
 *   {"cmd":"capability","users":[B64...],"isolate":false}
 *                                          root: set the capability from the
 *                                          user tokens of the open sessions
 *   {"cmd":"reload"}                       root: re-read tokens, revocations
 *   {"cmd":"publish","objects":[ARMORED]}  root: store if newer, send to peers
 *   {"cmd":"ping"}                         anyone: {"ok":true}
 *
 * The caller's uid (SO_PEERCRED, ctl.c) decides: verbs that change state
 * are root's. Reading has no side effect on forwarding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <sodium.h>

#include "armor.h"
#include "shim.h"

static json_t *error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *mask_json(const struct mask *m)
{
	char buf[4096];

	mask_format(m, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *peer_json(struct shim *s, struct peer *p)
{
	const struct peer_cap *cap = NULL;
	char ep[INET6_ADDRSTRLEN + 8] = "";
	json_t *o;

	for (int i = 0; i < SHIM_CAP_EPOCHS; i++)
		if (p->caps[i].valid && p->caps[i].epoch == p->latest_epoch)
			cap = &p->caps[i];
	if (p->endpoint_len) {
		struct inet_flow dummy;
		char a[INET6_ADDRSTRLEN];

		memset(&dummy, 0, sizeof(dummy));
		if (p->endpoint.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&p->endpoint;

			inet_addr_from4(&dummy.src, &sin->sin_addr);
			snprintf(ep, sizeof(ep), "%s:%u",
				 inet_addr_str(&dummy.src, a, sizeof(a)), ntohs(sin->sin_port));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&p->endpoint;

			snprintf(ep, sizeof(ep), "[%s]:%u",
				 inet_addr_str(&sin6->sin6_addr, a, sizeof(a)),
				 ntohs(sin6->sin6_port));
		}
	}
	o = json_pack("{s:s, s:i, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "name", p->name, "bit", p->bit, "endpoint", ep,
		      "session", shim_session_send(p, shim_now_ns()) != NULL,
		      "handshake_pending", p->hs_pending,
		      "last_handshake_ms_ago",
		      p->last_handshake_ns ?
		      (json_int_t)((shim_now_ns() - p->last_handshake_ns) / 1000000) :
		      (json_int_t)-1,
		      "rx_packets", (json_int_t)p->c.rx_packets,
		      "rx_bytes", (json_int_t)p->c.rx_bytes,
		      "tx_packets", (json_int_t)p->c.tx_packets,
		      "tx_bytes", (json_int_t)p->c.tx_bytes,
		      "rx_denied", (json_int_t)p->c.rx_denied,
		      "tx_denied", (json_int_t)p->c.tx_denied,
		      "handshakes", (json_int_t)p->c.handshakes);
	if (!o)
		return NULL;
	json_object_set_new(o, "denied_reported",
			    json_integer((json_int_t)p->c.denied_reported));
	json_object_set_new(o, "cookies_received",
			    json_integer((json_int_t)p->c.cookies_received));
	json_object_set_new(o, "epoch", json_integer(cap ? cap->epoch : 0));
	json_object_set_new(o, "mask", cap ? mask_json(&cap->mask) : json_null());
	json_object_set_new(o, "users", json_string(cap ? cap->users : ""));
	json_object_set_new(o, "reaches_us",
			    json_boolean(cap && mask_bit_test(&cap->mask, s->self.bit)));
	json_object_set_new(o, "we_reach",
			    json_boolean(mask_bit_test(&s->cap.mask, p->bit)));
	return o;
}

static json_t *status(struct shim *s)
{
	struct conntrack_stats cs;
	json_t *o, *peers, *drops;

	conntrack_stats_get(s->ct, &cs);
	peers = json_array();
	drops = json_object();
	for (size_t i = 0; i < s->npeers; i++)
		json_array_append_new(peers, peer_json(s, &s->peers[i]));
	for (int d = 0; d < DROP_COUNT; d++)
		json_object_set_new(drops, shim_drop_name(d), json_integer((json_int_t)s->drops[d]));
	o = json_pack("{s:b, s:s, s:i, s:s, s:I, s:o, s:s, s:b, s:b, s:o, s:o, "
		      "s:{s:I, s:I, s:I, s:I, s:I}}",
		      "ok", 1, "host", s->self.name, "bit", s->self.bit,
		      "interface", s->tun.name, "epoch", (json_int_t)s->cap.epoch,
		      "mask", mask_json(&s->cap.mask), "users", s->cap.users,
		      "strict", s->cfg.strict, "offload", s->tun.vnet,
		      "peers", peers, "drops", drops,
		      "conntrack", "entries", (json_int_t)cs.entries,
		      "capacity", (json_int_t)cs.capacity, "full", (json_int_t)cs.full,
		      "cut", (json_int_t)cs.removed, "reset", (json_int_t)s->flows_reset);
	if (o)
		json_object_set_new(o, "handshakes", json_pack(
			"{s:I, s:b, s:I, s:I, s:I}", "queued", (json_int_t)s->hsq.len,
			"under_load", shim_now_ns() < s->hsq.under_load_until_ns,
			"cookies_sent", (json_int_t)s->hsq.cookies_sent,
			"budget_allowed", (json_int_t)s->rl.allowed,
			"budget_refused", (json_int_t)s->rl.refused));
	if (o) {
		json_object_set_new(o, "flows", shim_flows_status(s));
		json_object_set_new(o, "nfqueue", shim_queue_status(s));
		if (s->xdp_counters) {
			uint64_t v[16];
			const char *names[16];
			int n = s->xdp_counters(s, v, names, 16);
			json_t *x = json_object();

			for (int i = 0; i < n; i++)
				json_object_set_new(x, names[i], json_integer((json_int_t)v[i]));
			json_object_set_new(o, "xdp", x);
		}
		json_object_set_new(o, "control", json_pack("{s:I}", "dropped",
			(json_int_t)shim_ctl_dropped(s)));
		json_object_set_new(o, "isolated", json_boolean(s->cap.isolated));
		json_object_set_new(o, "capability_confirmed", json_boolean(s->cap_confirmed));
		json_object_set_new(o, "capability_origin",
				    json_string(s->cap_origin ? s->cap_origin : ""));
	}
	return o ? o : error("out of memory");
}

/* Sets the capability from base64 user tokens; root only. */
static json_t *capability(struct shim *s, uid_t uid, json_t *req)
{
	json_t *users = json_object_get(req, "users"), *u;
	json_t *iso = json_object_get(req, "isolate");
	uint8_t *bins[PROTO_ANNOUNCE_USERS_MAX];
	size_t lens[PROTO_ANNOUNCE_USERS_MAX], i, n = 0;
	const char *err = NULL;
	json_t *ans;
	int ret;

	if (uid != 0)
		return error("permission denied: only root may set the capability");
	if (!json_is_array(users))
		return error("'users' must be a list of base64 user tokens");
	if (iso && !json_is_boolean(iso))
		return error("'isolate' must be true or false");
	if (json_array_size(users) > PROTO_ANNOUNCE_USERS_MAX)
		return error("too many users");
	json_array_foreach(users, i, u) {
		const char *b64 = json_string_value(u);
		size_t len = 0;

		bins[n] = malloc(WIRE_TOKEN_MAX);
		if (!b64 || !bins[n] ||
		    sodium_base642bin(bins[n], WIRE_TOKEN_MAX, b64, strlen(b64), NULL,
				      &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bins[n]);
			ans = error("a user token is not valid base64");
			goto out;
		}
		lens[n++] = len;
	}
	ret = shim_cap_set(s, (const uint8_t *const *)bins, lens, (unsigned)n,
			   json_is_true(iso), &err);
	if (ret == 0)
		s->cap_confirmed = true;
	if (ret < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "capability refused: %s", err ? err : strerror(-ret));
		ans = error(msg);
		goto out;
	}
	ans = json_pack("{s:b, s:I, s:o, s:s, s:b}", "ok", 1, "epoch",
			(json_int_t)s->cap.epoch, "mask", mask_json(&s->cap.mask),
			"users", s->cap.users, "isolated", s->cap.isolated);
out:
	for (i = 0; i < n; i++)
		free(bins[i]);
	return ans;
}

static json_t *reload(struct shim *s, uid_t uid)
{
	char report[1024];
	int ret;

	if (uid != 0)
		return error("permission denied: only root may reload");
	ret = shim_reload(s, report, sizeof(report));
	if (ret < 0) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "reload failed: %s%s%s", strerror(-ret),
			 report[0] ? "; " : "", report);
		return error(msg);
	}
	return json_pack("{s:b, s:I, s:o, s:s}", "ok", 1, "epoch",
			 (json_int_t)s->cap.epoch, "mask", mask_json(&s->cap.mask),
			 "report", report);
}

/*
 * Armored signed objects: stored if newer, then sent to every peer.
 * Tokens go before revocation lists, so that a peer has a host's new
 * token before the list that revokes its old one: otherwise it would cut
 * that host off for a moment and drop its sessions.
 */
static json_t *publish(struct shim *s, uid_t uid, json_t *req)
{
	json_t *objs = json_object_get(req, "objects"), *o;
	size_t i, accepted = 0, stored_n = 0;
	uint8_t *bin;
	int peers = 0;

	if (uid != 0)
		return error("permission denied: only root may publish");
	if (!json_is_array(objs))
		return error("'objects' must be a list of armored tokens or revocation lists");
	bin = malloc(PROTO_CONTROL_MAX);
	if (!bin)
		return error("out of memory");
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(objs, i, o) {
			const char *text = json_string_value(o), *why = NULL;
			size_t len = 0;
			bool stored = false;

			if (!text || !armor_decode(text, strlen(text), NULL, NULL, bin,
						   PROTO_CONTROL_MAX - sizeof(struct proto_object),
						   &len) || len < 2) {
				free(bin);
				return error("an object is not armored text (or is too large)");
			}
			if ((bin[1] == WIRE_TYPE_REVOCATION) != (pass == 1))
				continue;
			if (shim_object_accept(s, bin, len, &stored, &why) < 0) {
				char msg[256];

				free(bin);
				snprintf(msg, sizeof(msg), "object %zu refused: %s", i, why);
				return error(msg);
			}
			accepted++;
			stored_n += stored;
			peers = shim_publish(s, bin, len, NULL);
		}
	}
	free(bin);
	if (stored_n) {
		char report[1024];

		shim_reload(s, report, sizeof(report));
	}
	return json_pack("{s:b, s:I, s:I, s:i}", "ok", 1, "accepted",
			 (json_int_t)accepted, "stored", (json_int_t)stored_n,
			 "peers", peers < 0 ? 0 : peers);
}

json_t *shim_ctl_answer(struct shim *s, uid_t uid, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *ans;
	const char *cmd;

	if (!req || !json_is_object(req)) {
		json_decref(req);
		return error("malformed request: expected one JSON object per line");
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		ans = error("missing \"cmd\"");
	else if (strcmp(cmd, "status") == 0)
		ans = s->mode && s->mode->status ? s->mode->status(s) : status(s);
	else if (strcmp(cmd, "capability") == 0)
		ans = capability(s, uid, req);
	else if (strcmp(cmd, "reload") == 0)
		ans = reload(s, uid);
	else if (strcmp(cmd, "publish") == 0)
		ans = publish(s, uid, req);
	else if (strncmp(cmd, "queue_", 6) == 0 && (strcmp(cmd, "queue_hello") == 0 ||
		 strcmp(cmd, "queue_verdict") == 0 || strcmp(cmd, "queue_denied") == 0 ||
		 strcmp(cmd, "queue_subscribe") == 0))
		ans = shim_queue_request(s, uid, cmd, req);
	else if (strcmp(cmd, "ping") == 0)
		ans = json_pack("{s:b}", "ok", 1);
	else
		ans = error("unknown cmd; known: status, capability, reload, publish, ping");
	json_decref(req);
	return ans ? ans : error("out of memory");
}
