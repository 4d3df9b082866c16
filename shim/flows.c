/*
 * shim/flows.c - capshim's flow records (common/flowrec.h) in
 * DIR/flows.log: both ends of every denied flow, joined by a flow id.
 *
 *   sender    its own capability lacks the destination (refused at the
 *             TUN, or by the NFQUEUE reader with the local uid, pid and
 *             command): a record with a fresh flow id, and a refusal
 *             report (PROTO_CTL_DENIED) carrying that id to the receiver
 *   receiver  the report: a record with the sender's id; or a packet it
 *             refused itself (capability lacks it, unknown or stale
 *             epoch): a record with an id of its own
 *
 * The reason names the grant that lacks the bit: this host's own grant
 * or a user's (from the user tokens behind the capability); a receiver
 * works it out from the sender's verified announcement of that epoch.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "shim.h"

#define REPORT_WINDOW_NS UINT64_C(1000000000)
#define REPORTS_PER_S 200

_Static_assert((int)SHIM_USERS_TEXT == (int)FLOWREC_USERS_TEXT, "users text");
_Static_assert((int)WIRE_NAME_MAX <= (int)FLOWREC_NAME_MAX, "names");
_Static_assert(sizeof(((struct proto_denied *)0)->flow) == FLOWREC_ID_LEN, "flow id");

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --flow-log-max-bytes (X), --flow-log-files (K), --flow-log-rate (L). */
int shim_flows_option(struct shim_config *cfg, int opt, const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || end == arg) {
		fprintf(stderr, "capshim: '%s' is not a number\n", arg);
		return -EINVAL;
	}
	if (opt == 'X' && v >= FLOWLOG_MIN_BYTES && v <= (1ull << 40)) {
		cfg->flow_max_bytes = v;
	} else if (opt == 'K' && v >= 1 && v <= FLOWLOG_KEEP_MAX) {
		cfg->flow_keep = (unsigned)v;
	} else if (opt == 'L' && v >= 1 && v <= 100000) {
		cfg->flow_rate = (unsigned)v;
	} else {
		fprintf(stderr, "capshim: %s wants %s, not '%s'\n",
			opt == 'X' ? "--flow-log-max-bytes" : opt == 'K' ? "--flow-log-files" :
			"--flow-log-rate",
			opt == 'X' ? "65536..2^40 bytes" : opt == 'K' ? "1..100" : "1..100000",
			arg);
		return -EINVAL;
	}
	return 0;
}

int shim_flows_open(struct shim *s)
{
	char path[PATH_MAX];
	struct flowlog_config cfg = {
		.path = path,
		.host = s->self.name,
		.max_bytes = s->cfg.flow_max_bytes,
		.keep = s->cfg.flow_keep,
		.rate = s->cfg.flow_rate,
		.burst = s->cfg.flow_rate ? 4 * s->cfg.flow_rate : 0,
	};

	if ((size_t)snprintf(path, sizeof(path), "%s/flows.log", s->cfg.dir) >= sizeof(path))
		return -ENAMETOOLONG;
	return flowlog_open(&s->flows, &cfg);
}

void shim_flows_tick(struct shim *s)
{
	int ret;

	if (!s->flows)
		return;
	ret = flowlog_flush(s->flows, unix_ms(), false);
	if (ret < 0)
		shim_log(LOG_ERR, "%s/flows.log: %s (records are kept and written again)",
			 s->cfg.dir, strerror(-ret));
}

void shim_flows_close(struct shim *s)
{
	flowlog_close(s->flows, unix_ms());
	s->flows = NULL;
}

json_t *shim_flows_status(struct shim *s)
{
	struct flowlog_stats st;

	if (!s->flows)
		return json_null();
	flowlog_stats_get(s->flows, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "seq", (json_int_t)st.seq, "records", (json_int_t)st.records,
			 "lines", (json_int_t)st.lines,
			 "summarised", (json_int_t)st.summarised,
			 "summaries", (json_int_t)st.summaries,
			 "rotations", (json_int_t)st.rotations,
			 "write_errors", (json_int_t)st.write_errors,
			 "lost", (json_int_t)st.lost, "bytes", (json_int_t)st.bytes);
}

static void set_name(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* The flow's fields common to both ends. */
static void fill_flow(struct flowrec *r, const struct inet_flow *f)
{
	r->proto = f->proto;
	inet_addr_str(&f->src, r->src, sizeof(r->src));
	inet_addr_str(&f->dst, r->dst, sizeof(r->dst));
	r->sport = f->sport;
	r->dport = f->dport;
}

/* Why this host's own capability lacks bit: its grant, or whose. */
static void reason_own(const struct shim *s, uint16_t bit, struct flowrec *r)
{
	if (!mask_bit_test(&s->self.grant, bit)) {
		r->reason = FLOWREC_R_HOST_GRANT;
		set_name(r->subject, sizeof(r->subject), s->self.name);
		return;
	}
	for (unsigned i = 0; i < s->cap.nusers; i++) {
		struct token u;
		enum token_status st;

		if (token_decode(s->cap.user_tokens[i], s->cap.user_lens[i],
				 WIRE_TYPE_USER_TOKEN, &u, &st) && !mask_bit_test(&u.grant, bit)) {
			r->reason = FLOWREC_R_USER_GRANT;
			set_name(r->subject, sizeof(r->subject), u.name);
			return;
		}
	}
	r->reason = s->cap.isolated ? FLOWREC_R_ISOLATED : FLOWREC_R_CAPABILITY;
}

/*
 * Why a peer's capability of epoch lacks our bit, from its verified
 * announcement (which holds its host token and user tokens). False if
 * that announcement is not the one of epoch.
 */
static bool reason_peer(const struct shim *s, const struct peer *p, uint32_t epoch,
			struct flowrec *r)
{
	const uint8_t *msg = p->announce;
	struct proto_announce hdr;
	enum token_status st;
	struct token host, u;
	size_t pos, tlen, body;

	if (!msg || p->announce_len < sizeof(hdr) + WIRE_SIG_LEN)
		return false;
	memcpy(&hdr, msg, sizeof(hdr));
	if (be32toh(hdr.epoch) != epoch)
		return false;
	body = p->announce_len - WIRE_SIG_LEN;
	tlen = be16toh(hdr.host_token_len);
	pos = sizeof(hdr);
	if (tlen > body - pos || !token_decode(msg + pos, tlen, WIRE_TYPE_HOST_TOKEN,
					       &host, &st))
		return false;
	if (!mask_bit_test(&host.grant, s->self.bit)) {
		r->reason = FLOWREC_R_HOST_GRANT;
		set_name(r->subject, sizeof(r->subject), host.name);
		return true;
	}
	pos += tlen;
	for (unsigned i = 0; i < hdr.nusers; i++) {
		uint16_t ulen;

		if (body - pos < sizeof(ulen))
			return false;
		memcpy(&ulen, msg + pos, sizeof(ulen));
		ulen = be16toh(ulen);
		pos += sizeof(ulen);
		if (ulen > body - pos ||
		    !token_decode(msg + pos, ulen, WIRE_TYPE_USER_TOKEN, &u, &st))
			return false;
		pos += ulen;
		if (!mask_bit_test(&u.grant, s->self.bit)) {
			r->reason = FLOWREC_R_USER_GRANT;
			set_name(r->subject, sizeof(r->subject), u.name);
			return true;
		}
	}
	r->reason = FLOWREC_R_ISOLATED;	/* grants allow it, the mask does not */
	return true;
}

static void log_line(struct shim *s, const char *side, const struct peer *p,
		     const struct flowrec *r, const struct inet_flow *f)
{
	char why[FLOWREC_WHY_MAX + 1], text[FLOWREC_WHY_MAX + 64], id[2 * FLOWREC_ID_LEN + 1];

	flowrec_id_hex(r->id, id);
	flowrec_why(r, why, sizeof(why));
	if (r->pid >= 0)
		snprintf(text, sizeof(text), "%s; flow %s; uid %lld pid %lld (%s)", why, id,
			 (long long)r->uid, (long long)r->pid, r->comm);
	else
		snprintf(text, sizeof(text), "%s; flow %s", why, id);
	shim_log_denied(s, side, p, r->users, r->epoch, f, text);
}

/*
 * Tells p we refused a flow to it, with the flow's id and our reason; at
 * most REPORTS_PER_S a second per peer (the sender's record says whether
 * the receiver was told).
 */
static bool report(struct shim *s, struct peer *p, const struct inet_flow *f,
		   const struct flowrec *r)
{
	struct proto_denied d;

	if (!p->denied_report_ns || s->now - p->denied_report_ns >= REPORT_WINDOW_NS) {
		p->denied_report_ns = s->now;
		p->denied_reports = 0;
	}
	if (p->denied_reports >= REPORTS_PER_S ||
	    (!s->flow_report && !shim_session_send(p, s->now)))
		return false;
	memset(&d, 0, sizeof(d));
	d.ctl = PROTO_CTL_DENIED;
	d.proto = f->proto;
	d.reserved[0] = (uint8_t)r->reason;
	d.epoch = htobe32(r->epoch);
	d.sport = htobe16(f->sport);
	d.dport = htobe16(f->dport);
	memcpy(d.src, &f->src, sizeof(d.src));
	memcpy(d.dst, &f->dst, sizeof(d.dst));
	memcpy(d.flow, r->id, sizeof(d.flow));
	if ((s->flow_report ? s->flow_report(s, p, (const uint8_t *)&d, sizeof(d)) :
	     shim_send_control(s, p, (const uint8_t *)&d, sizeof(d))) < 0)
		return false;
	p->denied_reports++;
	return true;
}

void shim_flow_denied_tx(struct shim *s, struct peer *p, const struct inet_flow *f,
			 const struct flowrec *attr, enum flowrec_via via,
			 uint8_t id_out[FLOWREC_ID_LEN])
{
	struct flowrec r;

	if (attr)
		r = *attr;
	else
		flowrec_init(&r);
	r.side = FLOWREC_SENDER;
	r.has_id = true;
	flowrec_id_new(r.id);
	set_name(r.src_host, sizeof(r.src_host), s->self.name);
	set_name(r.dst_host, sizeof(r.dst_host), p->name);
	set_name(r.users, sizeof(r.users), s->cap.users);
	fill_flow(&r, f);
	r.epoch = s->cap.epoch;
	r.subject[0] = '\0';
	reason_own(s, p->bit, &r);
	r.via = via;
	r.has_told = true;
	r.told = report(s, p, f, &r);
	log_line(s, "sender", p, &r, f);
	if (s->flows)
		flowlog_add(s->flows, &r, unix_ms());
	if (id_out)
		memcpy(id_out, r.id, FLOWREC_ID_LEN);
}

void shim_flow_reported(struct shim *s, struct peer *p, const uint8_t *msg)
{
	const struct peer_cap *cap;
	struct proto_denied d;
	struct inet_flow f;
	struct flowrec r;

	memcpy(&d, msg, sizeof(d));
	memset(&f, 0, sizeof(f));
	f.proto = d.proto;
	f.sport = be16toh(d.sport);
	f.dport = be16toh(d.dport);
	memcpy(&f.src, d.src, sizeof(f.src));
	memcpy(&f.dst, d.dst, sizeof(f.dst));
	p->c.denied_reported++;
	flowrec_init(&r);
	r.side = FLOWREC_RECEIVER;
	r.has_id = true;
	memcpy(r.id, d.flow, sizeof(r.id));
	set_name(r.src_host, sizeof(r.src_host), p->name);
	set_name(r.dst_host, sizeof(r.dst_host), s->self.name);
	r.epoch = be32toh(d.epoch);
	cap = shim_peer_cap(p, r.epoch);
	set_name(r.users, sizeof(r.users), cap ? cap->users : "");
	fill_flow(&r, &f);
	r.via = FLOWREC_VIA_REPORT;
	if (!reason_peer(s, p, r.epoch, &r)) {
		r.reason = d.reserved[0] > FLOWREC_R_NONE && d.reserved[0] <= FLOWREC_R_CAPABILITY ?
			   (enum flowrec_reason)d.reserved[0] : FLOWREC_R_CAPABILITY;
		if (r.reason == FLOWREC_R_HOST_GRANT)
			set_name(r.subject, sizeof(r.subject), p->name);
	}
	log_line(s, "receiver, refused at the sender", p, &r, &f);
	if (s->flows)
		flowlog_add(s->flows, &r, unix_ms());
}

void shim_flow_denied_rx(struct shim *s, struct peer *p, uint32_t epoch,
			 enum flowrec_reason reason, const struct inet_flow *f,
			 enum flowrec_via via)
{
	const struct peer_cap *cap = shim_peer_cap(p, epoch);
	struct flowrec r;

	flowrec_init(&r);
	r.side = FLOWREC_RECEIVER;
	r.has_id = true;
	flowrec_id_new(r.id);
	set_name(r.src_host, sizeof(r.src_host), p->name);
	set_name(r.dst_host, sizeof(r.dst_host), s->self.name);
	set_name(r.users, sizeof(r.users), cap ? cap->users : "");
	fill_flow(&r, f);
	r.epoch = epoch;
	r.reason = reason;
	if (reason == FLOWREC_R_CAPABILITY && !reason_peer(s, p, epoch, &r))
		r.reason = FLOWREC_R_CAPABILITY;
	r.via = via;
	log_line(s, "receiver", p, &r, f);
	if (s->flows)
		flowlog_add(s->flows, &r, unix_ms());
}
