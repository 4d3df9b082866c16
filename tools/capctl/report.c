/*
 * tools/capctl/report.c - the audit report's engine (report.h): records
 * in, flows joined by id, groupings out; text, JSON and CSV.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

enum report_const {
	BAD_LINES_SHOWN = 5,
	FLAGGED_SHOWN = 20,
	NO_NAME = 0,			/* interned "" */
	SIDE_SENDER = 1,
	SIDE_RECEIVER = 2,
};

/* Interned strings: index 0 is "". */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slots;		/* index + 1; 0 empty */
	size_t nslots;
};

struct flow {
	uint8_t id[FLOWREC_ID_LEN];
	uint8_t sides;
	uint8_t proto;
	uint8_t reason;
	uint8_t rvia;			/* the receiver record's via */
	bool told;
	bool summary;
	uint16_t dport;
	uint32_t src, dst, users, luser, comm;
	int32_t uid, pid;
	uint64_t count;			/* 1, or a summary's count */
	uint64_t time_ms;
	const char *note;		/* set by finish when flagged */
	bool counted;
};

struct group {
	uint64_t *keys;			/* key + 1; 0 empty */
	uint32_t *idx;
	size_t nslots, n;
	struct report_row *rows;
	char **names;
	uint64_t *rawkeys;
};

struct report {
	struct report_filter f;
	struct strtab str;
	struct flow *flows;
	size_t n, cap;
	uint32_t *slots;		/* flow index + 1, by id; 0 empty */
	size_t nslots;
	bool *host_seen;		/* by interned name: records written by it */
	size_t host_seen_cap;
	struct group g[REPORT_GROUPS];
	uint64_t matrix_n;
	uint32_t *host_ids;		/* interned ids of the hosts, in name order */
	const char **host_names;
	size_t nhosts;
	uint64_t *matrix;		/* nhosts * nhosts */
	uint32_t *flagged;
	size_t nflagged;
	uint32_t *order;		/* counted flows (not summaries), oldest first */
	size_t norder;
	struct report_stats st;
	bool oom;
};

/* ---- small hash helpers --------------------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static bool str_grow(struct strtab *t)
{
	size_t ns = t->nslots ? 2 * t->nslots : 256;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		size_t k = hash_bytes(t->s[i], strlen(t->s[i])) & (ns - 1);

		while (slots[k])
			k = (k + 1) & (ns - 1);
		slots[k] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return true;
}

/* The index of s, added if new; UINT32_MAX when out of memory. */
static uint32_t intern(struct report *r, const char *s)
{
	struct strtab *t = &r->str;
	size_t len = strlen(s), k;

	if (!len)
		return NO_NAME;
	if ((t->n + 1) * 2 > t->nslots && !str_grow(t))
		goto oom;
	k = hash_bytes(s, len) & (t->nslots - 1);
	while (t->slots[k]) {
		if (strcmp(t->s[t->slots[k] - 1], s) == 0)
			return t->slots[k] - 1;
		k = (k + 1) & (t->nslots - 1);
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 64;
		char **ns = realloc(t->s, nc * sizeof(*ns));

		if (!ns)
			goto oom;
		t->s = ns;
		t->cap = nc;
	}
	t->s[t->n] = strdup(s);
	if (!t->s[t->n])
		goto oom;
	t->slots[k] = (uint32_t)t->n + 1;
	return (uint32_t)t->n++;
oom:
	r->oom = true;
	return UINT32_MAX;
}

static const char *name_of(const struct report *r, uint32_t i)
{
	return i < r->str.n ? r->str.s[i] : "";
}

/* ---- lifecycle ------------------------------------------------------------ */

struct report *report_new(const struct report_filter *f)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->f = *f;
	if (intern(r, "x") == UINT32_MAX) {	/* slot 0 is "" */
		report_free(r);
		return NULL;
	}
	r->str.s[0][0] = '\0';
	return r;
}

static void group_free(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->names[i]);
	free(g->keys);
	free(g->idx);
	free(g->rows);
	free(g->names);
	free(g->rawkeys);
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->str.n; i++)
		free(r->str.s[i]);
	free(r->str.s);
	free(r->str.slots);
	free(r->flows);
	free(r->slots);
	free(r->host_seen);
	for (int i = 0; i < REPORT_GROUPS; i++)
		group_free(&r->g[i]);
	free(r->host_ids);
	free(r->host_names);
	free(r->matrix);
	free(r->flagged);
	free(r->order);
	free(r);
}

/* ---- records in ----------------------------------------------------------- */

static bool users_have(const char *users, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = users; *p;) {
		size_t l = strcspn(p, ",");

		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

static bool wanted(const struct report *r, const struct flowrec *rec)
{
	const struct report_filter *f = &r->f;
	uint64_t end = rec->kind == FLOWREC_SUMMARY ? rec->last_ms : rec->time_ms;

	if (f->since_ms && end < f->since_ms)
		return false;
	if (f->until_ms && rec->time_ms >= f->until_ms)
		return false;
	if (f->user && !users_have(rec->users, f->user) && strcmp(rec->user, f->user) != 0)
		return false;
	if (f->host && strcmp(rec->src_host, f->host) != 0 &&
	    strcmp(rec->dst_host, f->host) != 0)
		return false;
	if (f->port >= 0 && rec->dport != f->port)
		return false;
	return true;
}

static bool flows_grow(struct report *r)
{
	size_t ns = r->nslots ? 2 * r->nslots : 1024;
	uint32_t *slots;

	if (r->n == r->cap) {
		size_t nc = r->cap ? 2 * r->cap : 1024;
		struct flow *nf = realloc(r->flows, nc * sizeof(*nf));

		if (!nf)
			return false;
		r->flows = nf;
		r->cap = nc;
	}
	if ((r->n + 1) * 2 <= r->nslots)
		return true;
	slots = calloc(ns, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		size_t k;

		if (r->flows[i].summary)
			continue;
		k = hash_bytes(r->flows[i].id, FLOWREC_ID_LEN) & (ns - 1);
		while (slots[k])
			k = (k + 1) & (ns - 1);
		slots[k] = (uint32_t)i + 1;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = ns;
	return true;
}

static void host_mark(struct report *r, uint32_t id)
{
	if (id >= r->host_seen_cap) {
		size_t nc = (id + 1) * 2;
		bool *ns = realloc(r->host_seen, nc * sizeof(*ns));

		if (!ns) {
			r->oom = true;
			return;
		}
		memset(ns + r->host_seen_cap, 0, (nc - r->host_seen_cap) * sizeof(*ns));
		r->host_seen = ns;
		r->host_seen_cap = nc;
	}
	r->host_seen[id] = true;
}

static bool host_present(const struct report *r, uint32_t id)
{
	return id && id < r->host_seen_cap && r->host_seen[id];
}

/* Sender-side fields, from the record that has them. */
static void take_sender(struct report *r, struct flow *fl, const struct flowrec *rec)
{
	fl->users = intern(r, rec->users);
	fl->luser = intern(r, rec->user);
	fl->comm = intern(r, rec->comm);
	fl->uid = (int32_t)rec->uid;
	fl->pid = (int32_t)rec->pid;
	fl->told = rec->has_told && rec->told;
	fl->reason = (uint8_t)rec->reason;
	fl->time_ms = rec->time_ms;
}

bool report_add_line(struct report *r, const char *line, size_t len,
		     const char *source, uint64_t lineno)
{
	struct flowrec rec;
	struct flow *fl = NULL;
	char err[128];
	size_t k = 0;

	r->st.lines++;
	if (!flowrec_parse(line, len, &rec, err, sizeof(err))) {
		if (r->st.bad_lines++ < BAD_LINES_SHOWN)
			fprintf(stderr, "capctl: %s:%" PRIu64 ": not a flow record (%s); "
				"skipped\n", source, lineno, err);
		return false;
	}
	host_mark(r, intern(r, rec.host));
	if (!wanted(r, &rec)) {
		r->st.filtered_out++;
		return true;
	}
	if (!flows_grow(r)) {
		r->oom = true;
		return true;
	}
	if (rec.kind == FLOWREC_DENIED && rec.has_id) {
		k = hash_bytes(rec.id, FLOWREC_ID_LEN) & (r->nslots - 1);
		while (r->slots[k]) {
			struct flow *c = &r->flows[r->slots[k] - 1];

			if (memcmp(c->id, rec.id, FLOWREC_ID_LEN) == 0) {
				fl = c;
				break;
			}
			k = (k + 1) & (r->nslots - 1);
		}
	}
	if (!fl) {
		fl = &r->flows[r->n];
		memset(fl, 0, sizeof(*fl));
		memcpy(fl->id, rec.id, FLOWREC_ID_LEN);
		fl->summary = rec.kind == FLOWREC_SUMMARY || !rec.has_id;
		fl->count = rec.kind == FLOWREC_SUMMARY ? rec.count : 1;
		fl->src = intern(r, rec.src_host);
		fl->dst = intern(r, rec.dst_host);
		fl->proto = rec.proto;
		fl->dport = rec.dport;
		fl->uid = fl->pid = -1;
		take_sender(r, fl, &rec);
		if (!fl->summary)
			r->slots[k] = (uint32_t)r->n + 1;
		r->n++;
	}
	if (rec.side == FLOWREC_SENDER) {
		if (!(fl->sides & SIDE_SENDER) || fl->summary)
			take_sender(r, fl, &rec);
		fl->sides |= SIDE_SENDER;
	} else {
		if (!(fl->sides & SIDE_SENDER) && !fl->users && rec.users[0])
			fl->users = intern(r, rec.users);
		fl->sides |= SIDE_RECEIVER;
		fl->rvia = (uint8_t)rec.via;
	}
	if (rec.kind == FLOWREC_SUMMARY) {
		fl->rvia = (uint8_t)rec.via;
		fl->told = rec.side == FLOWREC_SENDER;
	}
	return true;
}

int report_add_file(struct report *r, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	uint64_t no = 0;
	ssize_t n;
	int ret = 0;

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		if (line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		report_add_line(r, line, (size_t)n, path, no);
		if (r->oom) {
			ret = -ENOMEM;
			break;
		}
	}
	if (ret == 0 && ferror(f))
		ret = -EIO;
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

/* ---- grouping ------------------------------------------------------------- */

static struct report_row *group_row(struct report *r, struct group *g, uint64_t key)
{
	size_t k;

	if ((g->n + 1) * 2 > g->nslots) {
		size_t ns = g->nslots ? 2 * g->nslots : 64;
		uint64_t *keys = calloc(ns, sizeof(*keys));
		uint32_t *idx = calloc(ns, sizeof(*idx));
		struct report_row *rows = realloc(g->rows, ns / 2 * sizeof(*rows));
		uint64_t *raw = realloc(g->rawkeys, ns / 2 * sizeof(*raw));

		if (rows)
			g->rows = rows;
		if (raw)
			g->rawkeys = raw;
		if (!keys || !idx || !rows || !raw) {
			free(keys);
			free(idx);
			r->oom = true;
			return NULL;
		}
		for (size_t i = 0; i < g->nslots; i++) {
			if (!g->keys[i])
				continue;
			k = hash_u64(g->keys[i]) & (ns - 1);
			while (keys[k])
				k = (k + 1) & (ns - 1);
			keys[k] = g->keys[i];
			idx[k] = g->idx[i];
		}
		free(g->keys);
		free(g->idx);
		g->keys = keys;
		g->idx = idx;
		g->nslots = ns;
	}
	k = hash_u64(key + 1) & (g->nslots - 1);
	while (g->keys[k]) {
		if (g->keys[k] == key + 1)
			return &g->rows[g->idx[k]];
		k = (k + 1) & (g->nslots - 1);
	}
	g->keys[k] = key + 1;
	g->idx[k] = (uint32_t)g->n;
	memset(&g->rows[g->n], 0, sizeof(g->rows[0]));
	g->rawkeys[g->n] = key;
	return &g->rows[g->n++];
}

static void tally(struct report *r, enum report_group gi, uint64_t key,
		  const struct flow *fl)
{
	struct report_row *row = group_row(r, &r->g[gi], key);

	if (!row)
		return;
	row->denials += fl->count;
	if (!fl->summary && fl->sides == (SIDE_SENDER | SIDE_RECEIVER))
		row->both_ends++;
	if (fl->note && fl->note[0])
		row->one_end++;
}

/* Why a flow seen at one end only is suspect; "" if it is not. */
static const char *flag_note(const struct report *r, const struct flow *fl)
{
	if (fl->summary || fl->sides == (SIDE_SENDER | SIDE_RECEIVER))
		return "";
	if (fl->sides == SIDE_SENDER)
		return fl->told && host_present(r, fl->dst) ?
		       "the receiver has no record of the sender's report (lost)" : "";
	if (fl->rvia == FLOWREC_VIA_REPORT)
		return host_present(r, fl->src) ?
		       "no sender record of this report (spoofed or lost)" : "";
	return "refused by the receiver alone: the sender did not enforce (rogue or "
	       "out of date)";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Host names of every flow, sorted; the matrix of denials between them. */
static int matrix_build(struct report *r)
{
	bool *used = calloc(r->str.n ? r->str.n : 1, sizeof(*used));
	size_t n = 0;

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		if (r->flows[i].counted)
			used[r->flows[i].src] = used[r->flows[i].dst] = true;
	used[NO_NAME] = false;
	for (size_t i = 0; i < r->str.n; i++)
		n += used[i];
	r->host_names = calloc(n ? n : 1, sizeof(*r->host_names));
	r->matrix = calloc(n ? n * n : 1, sizeof(*r->matrix));
	if (!r->host_names || !r->matrix) {
		free(used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->str.n; i++)
		if (used[i])
			r->host_names[r->nhosts++] = r->str.s[i];
	qsort(r->host_names, r->nhosts, sizeof(*r->host_names), cmp_str);
	free(used);
	for (size_t i = 0; i < r->n; i++) {
		const struct flow *fl = &r->flows[i];
		size_t a = SIZE_MAX, b = SIZE_MAX;

		if (!fl->counted)
			continue;
		for (size_t h = 0; h < r->nhosts; h++) {
			if (strcmp(r->host_names[h], name_of(r, fl->src)) == 0)
				a = h;
			if (strcmp(r->host_names[h], name_of(r, fl->dst)) == 0)
				b = h;
		}
		if (a != SIZE_MAX && b != SIZE_MAX)
			r->matrix[a * r->nhosts + b] += fl->count;
	}
	return 0;
}

static const struct report *sort_ctx;
static enum report_group sort_group;

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (sort_group == REPORT_BY_HOUR)
		return strcmp(x->key, y->key);
	if (x->denials != y->denials)
		return x->denials < y->denials ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* By time, for the flagged and the listed flows. */
static int cmp_flagged(const void *a, const void *b)
{
	const struct flow *x = &sort_ctx->flows[*(const uint32_t *)a];
	const struct flow *y = &sort_ctx->flows[*(const uint32_t *)b];

	return x->time_ms < y->time_ms ? -1 : x->time_ms > y->time_ms;
}

/* The text of a group's key. */
static char *key_text(const struct report *r, enum report_group g, uint64_t key)
{
	char buf[2 * FLOWREC_NAME_MAX + FLOWREC_USERS_TEXT + 16], pb[16];
	char t[FLOWREC_TIME_LEN + 1];

	switch (g) {
	case REPORT_BY_USER:
		snprintf(buf, sizeof(buf), "%s", key ? name_of(r, (uint32_t)key) : "(nobody)");
		break;
	case REPORT_BY_PAIR:
		snprintf(buf, sizeof(buf), "%s -> %s", name_of(r, (uint32_t)(key >> 32)),
			 name_of(r, (uint32_t)key));
		break;
	case REPORT_BY_PORT:
		if ((key >> 16) == IPPROTO_ICMP || (key >> 16) == IPPROTO_ICMPV6)
			snprintf(buf, sizeof(buf), "%s", flowrec_proto_name((uint8_t)(key >> 16), pb));
		else
			snprintf(buf, sizeof(buf), "%s/%u", flowrec_proto_name((uint8_t)(key >> 16), pb),
				 (unsigned)(key & 0xffff));
		break;
	default:
		flowrec_time_format(key * 3600000, t);
		snprintf(buf, sizeof(buf), "%.13s:00Z", t);
		break;
	}
	return strdup(buf);
}

int report_finish(struct report *r)
{
	struct report_stats *st = &r->st;

	if (r->oom)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct flow *fl = &r->flows[i];
		uint64_t port;

		/* a receiver's summary of reports repeats the sender's */
		if (fl->summary && fl->rvia == FLOWREC_VIA_REPORT && host_present(r, fl->src))
			continue;
		fl->counted = true;
		fl->note = flag_note(r, fl);
		st->denials += fl->count;
		if (fl->summary) {
			st->summarised += fl->count;
		} else {
			st->flows++;
			if (fl->sides == (SIDE_SENDER | SIDE_RECEIVER))
				st->both_ends++;
			else if (fl->sides == SIDE_SENDER)
				st->sender_only++;
			else
				st->receiver_only++;
		}
		if (fl->note[0])
			st->flagged++;
		if (!st->first_ms || fl->time_ms < st->first_ms)
			st->first_ms = fl->time_ms;
		if (fl->time_ms > st->last_ms)
			st->last_ms = fl->time_ms;
		port = (fl->proto == IPPROTO_ICMP || fl->proto == IPPROTO_ICMPV6) ?
		       (uint64_t)fl->proto << 16 : (uint64_t)fl->proto << 16 | fl->dport;
		tally(r, REPORT_BY_USER, fl->users, fl);
		tally(r, REPORT_BY_PAIR, (uint64_t)fl->src << 32 | fl->dst, fl);
		tally(r, REPORT_BY_PORT, port, fl);
		tally(r, REPORT_BY_HOUR, fl->time_ms / 3600000, fl);
	}
	if (r->oom)
		return -ENOMEM;
	for (int gi = 0; gi < REPORT_GROUPS; gi++) {
		struct group *g = &r->g[gi];

		g->names = calloc(g->n ? g->n : 1, sizeof(*g->names));
		if (!g->names)
			return -ENOMEM;
		for (size_t i = 0; i < g->n; i++) {
			g->names[i] = key_text(r, gi, g->rawkeys[i]);
			if (!g->names[i])
				return -ENOMEM;
			g->rows[i].key = g->names[i];
		}
		sort_ctx = r;
		sort_group = gi;
		if (g->n)
			qsort(g->rows, g->n, sizeof(*g->rows), cmp_rows);
	}
	r->flagged = calloc(st->flagged ? st->flagged : 1, sizeof(*r->flagged));
	if (!r->flagged)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		if (r->flows[i].counted && r->flows[i].note[0])
			r->flagged[r->nflagged++] = (uint32_t)i;
	sort_ctx = r;
	qsort(r->flagged, r->nflagged, sizeof(*r->flagged), cmp_flagged);
	r->order = calloc(st->flows ? st->flows : 1, sizeof(*r->order));
	if (!r->order)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		if (r->flows[i].counted && !r->flows[i].summary)
			r->order[r->norder++] = (uint32_t)i;
	qsort(r->order, r->norder, sizeof(*r->order), cmp_flagged);
	st->nhosts = 0;
	for (size_t i = 0; i < r->host_seen_cap; i++)
		st->nhosts += r->host_seen[i];
	return matrix_build(r);
}

void report_stats_get(const struct report *r, struct report_stats *st)
{
	*st = r->st;
}

size_t report_rows(const struct report *r, enum report_group g,
		   const struct report_row **rows)
{
	*rows = r->g[g].rows;
	return r->g[g].n;
}

const char *report_group_name(enum report_group g)
{
	static const char *const names[REPORT_GROUPS] = {
		"user", "host pair", "port", "hour",
	};

	return (unsigned)g < REPORT_GROUPS ? names[g] : "?";
}

size_t report_hosts(const struct report *r, const char *const **names)
{
	*names = r->host_names;
	return r->nhosts;
}

uint64_t report_matrix(const struct report *r, size_t from, size_t to)
{
	return from < r->nhosts && to < r->nhosts ? r->matrix[from * r->nhosts + to] : 0;
}

static void view(const struct report *r, const struct flow *fl,
		 struct report_flow_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!fl->summary)
		flowrec_id_hex(fl->id, v->id);
	v->time_ms = fl->time_ms;
	v->src_host = name_of(r, fl->src);
	v->dst_host = name_of(r, fl->dst);
	v->users = name_of(r, fl->users);
	v->local_user = name_of(r, fl->luser);
	v->comm = name_of(r, fl->comm);
	v->uid = fl->uid;
	v->pid = fl->pid;
	v->proto = fl->proto;
	v->dport = fl->dport;
	v->reason = (enum flowrec_reason)fl->reason;
	v->at_sender = fl->sides & SIDE_SENDER;
	v->at_receiver = fl->sides & SIDE_RECEIVER;
	v->note = fl->note ? fl->note : "";
}

void report_timeline(const struct report *r, uint64_t start_ms, uint64_t bucket_ms,
		     uint64_t *counts, size_t n)
{
	memset(counts, 0, n * sizeof(*counts));
	for (size_t i = 0; i < r->n; i++) {
		const struct flow *fl = &r->flows[i];
		uint64_t b;

		if (!fl->counted || fl->time_ms < start_ms)
			continue;
		b = (fl->time_ms - start_ms) / bucket_ms;
		if (b < n)
			counts[b] += fl->count;
	}
}

size_t report_flow_count(const struct report *r)
{
	return r->norder;
}

bool report_flow_get(const struct report *r, size_t i, struct report_flow_view *v)
{
	if (i >= r->norder)
		return false;
	view(r, &r->flows[r->order[i]], v);
	return true;
}

size_t report_flagged_count(const struct report *r)
{
	return r->nflagged;
}

bool report_flagged_get(const struct report *r, size_t i, struct report_flow_view *v)
{
	if (i >= r->nflagged)
		return false;
	view(r, &r->flows[r->flagged[i]], v);
	return true;
}

/* ---- outputs -------------------------------------------------------------- */

static const char *sides_text(const struct report_flow_view *v)
{
	return v->at_sender && v->at_receiver ? "both" : v->at_sender ? "sender" : "receiver";
}

static void print_table(FILE *out, const char *title, const char *head[],
			size_t ncols, const char *const *cells, size_t nrows)
{
	size_t w[16] = { 0 };

	fprintf(out, "\n%s\n", title);
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < nrows; i++)
		for (size_t c = 0; c < ncols; c++)
			if (strlen(cells[i * ncols + c]) > w[c])
				w[c] = strlen(cells[i * ncols + c]);
	for (size_t i = 0; i <= nrows; i++) {
		fputs("  ", out);
		for (size_t c = 0; c < ncols; c++) {
			const char *s = i ? cells[(i - 1) * ncols + c] : head[c];

			fprintf(out, c + 1 < ncols ? "%-*s  " : "%-*s", (int)(c + 1 < ncols ? w[c] : 0), s);
		}
		fputc('\n', out);
	}
}

static void flow_cells(const struct report_flow_view *v, char cells[9][64])
{
	char t[FLOWREC_TIME_LEN + 1], pb[16];

	flowrec_time_format(v->time_ms, t);
	snprintf(cells[0], 64, "%s", t);
	snprintf(cells[1], 64, "%s", v->id);
	snprintf(cells[2], 64, "%s -> %s", v->src_host, v->dst_host);
	snprintf(cells[3], 64, "%s/%u", flowrec_proto_name(v->proto, pb), v->dport);
	snprintf(cells[4], 64, "%s", v->users[0] ? v->users : "-");
	if (v->uid >= 0)
		snprintf(cells[5], 64, "%s(%lld)", v->local_user[0] ? v->local_user : "?",
			 (long long)v->uid);
	else
		snprintf(cells[5], 64, "-");
	if (v->pid >= 0)
		snprintf(cells[6], 64, "%lld %s", (long long)v->pid, v->comm);
	else
		snprintf(cells[6], 64, "-");
	snprintf(cells[7], 64, "%s", sides_text(v));
	snprintf(cells[8], 64, "%s", flowrec_reason_name(v->reason));
}

static void print_flows(const struct report *r, FILE *out, const char *title,
			bool flagged, size_t limit)
{
	static const char *head[] = { "TIME", "FLOW", "HOSTS", "PORT", "USERS", "UID",
				      "PID COMMAND", "SEEN AT", "REASON" };
	size_t n = flagged ? r->nflagged : r->norder, shown = 0;
	const char **cells = calloc(n * 9 + 1, sizeof(*cells));
	char (*buf)[9][64] = calloc(n + 1, sizeof(*buf));

	if (!cells || !buf) {
		free(cells);
		free(buf);
		fprintf(out, "\n%s: out of memory\n", title);
		return;
	}
	for (size_t i = 0; i < n && (!limit || shown < limit); i++) {
		struct report_flow_view v;

		if (!(flagged ? report_flagged_get(r, i, &v) : report_flow_get(r, i, &v)))
			continue;
		flow_cells(&v, buf[shown]);
		for (int c = 0; c < 9; c++)
			cells[shown * 9 + c] = buf[shown][c];
		shown++;
	}
	print_table(out, title, head, 9, cells, shown);
	if (flagged)
		for (size_t i = 0; i < shown; i++) {
			struct report_flow_view v;

			report_flagged_get(r, i, &v);
			fprintf(out, "  %s: %s\n", v.id, v.note);
		}
	free(cells);
	free(buf);
}

int report_print_text(const struct report *r, FILE *out, bool flows, size_t limit)
{
	const struct report_stats *st = &r->st;
	char a[FLOWREC_TIME_LEN + 1], b[FLOWREC_TIME_LEN + 1], n1[32], n2[32], n3[32], n4[32];

	flowrec_time_format(st->first_ms, a);
	flowrec_time_format(st->last_ms, b);
	fprintf(out, "captun audit: %s denied flow%s from %zu host%s' records",
		flowrec_count_text(st->denials, n1), st->denials == 1 ? "" : "s",
		st->nhosts, st->nhosts == 1 ? "" : "s");
	if (st->denials)
		fprintf(out, ", %s to %s", a, b);
	fprintf(out, "\n  %s joined at both ends, %s at the sender only, %s at the receiver "
		"only; %s counted by summary lines\n",
		flowrec_count_text(st->both_ends, n1), flowrec_count_text(st->sender_only, n2),
		flowrec_count_text(st->receiver_only, n3), flowrec_count_text(st->summarised, n4));
	if (st->bad_lines)
		fprintf(out, "  %s line%s were not flow records and were skipped\n",
			flowrec_count_text(st->bad_lines, n1), st->bad_lines == 1 ? "" : "s");
	for (int gi = 0; gi < REPORT_GROUPS; gi++) {
		static const char *head[] = { "KEY", "DENIALS", "BOTH ENDS", "ONE END" };
		const struct report_row *rows;
		size_t n = report_rows(r, gi, &rows);
		const char **cells = calloc(n * 4 + 1, sizeof(*cells));
		char (*nums)[3][32] = calloc(n + 1, sizeof(*nums));
		char title[64];

		if (!cells || !nums) {
			free(cells);
			free(nums);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			cells[i * 4] = rows[i].key;
			cells[i * 4 + 1] = flowrec_count_text(rows[i].denials, nums[i][0]);
			cells[i * 4 + 2] = flowrec_count_text(rows[i].both_ends, nums[i][1]);
			cells[i * 4 + 3] = flowrec_count_text(rows[i].one_end, nums[i][2]);
		}
		snprintf(title, sizeof(title), "By %s:", report_group_name(gi));
		head[0] = gi == REPORT_BY_USER ? "USERS" : gi == REPORT_BY_PAIR ? "FROM -> TO" :
			  gi == REPORT_BY_PORT ? "PORT" : "HOUR (UTC)";
		print_table(out, title, head, 4, cells, n);
		free(cells);
		free(nums);
	}
	if (r->nflagged)
		print_flows(r, out, "Seen at one end only (suspect):", true,
			    limit ? limit : FLAGGED_SHOWN);
	else
		fprintf(out, "\nSeen at one end only: none\n");
	if (flows)
		print_flows(r, out, "Flows:", false, limit);
	return ferror(out) ? -EIO : 0;
}

static json_t *flow_json(const struct report_flow_view *v)
{
	char t[FLOWREC_TIME_LEN + 1], pb[16];
	json_t *o;

	flowrec_time_format(v->time_ms, t);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
		      "flow", v->id, "time", t, "src_host", v->src_host,
		      "dst_host", v->dst_host, "proto", flowrec_proto_name(v->proto, pb),
		      "dport", v->dport, "users", v->users, "seen_at", sides_text(v),
		      "reason", flowrec_reason_name(v->reason), "note", v->note);
	if (o && v->uid >= 0)
		json_object_set_new(o, "uid", json_integer(v->uid));
	if (o && v->local_user[0])
		json_object_set_new(o, "user", json_string(v->local_user));
	if (o && v->pid >= 0)
		json_object_set_new(o, "pid", json_integer(v->pid));
	if (o && v->comm[0])
		json_object_set_new(o, "comm", json_string(v->comm));
	return o;
}

int report_print_json(const struct report *r, FILE *out, bool flows, size_t limit)
{
	static const char *const keys[REPORT_GROUPS] = { "by_user", "by_host_pair",
							 "by_port", "by_hour" };
	const struct report_stats *st = &r->st;
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "denials", (json_int_t)st->denials, "flows", (json_int_t)st->flows,
			      "both_ends", (json_int_t)st->both_ends,
			      "sender_only", (json_int_t)st->sender_only,
			      "receiver_only", (json_int_t)st->receiver_only,
			      "flagged", (json_int_t)st->flagged,
			      "summarised", (json_int_t)st->summarised,
			      "lines", (json_int_t)st->lines,
			      "bad_lines", (json_int_t)st->bad_lines);
	json_t *hosts = json_array(), *flagged = json_array();
	int ret;

	if (!o || !hosts || !flagged) {
		json_decref(o);
		json_decref(hosts);
		json_decref(flagged);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->nhosts; i++) {
		json_t *row = json_object();

		for (size_t j = 0; j < r->nhosts; j++)
			if (r->matrix[i * r->nhosts + j])
				json_object_set_new(row, r->host_names[j],
						    json_integer((json_int_t)r->matrix[i * r->nhosts + j]));
		json_array_append_new(hosts, json_pack("{s:s, s:o}", "host", r->host_names[i],
						       "denied_to", row));
	}
	json_object_set_new(o, "matrix", hosts);
	for (int gi = 0; gi < REPORT_GROUPS; gi++) {
		const struct report_row *rows;
		size_t n = report_rows(r, gi, &rows);
		json_t *arr = json_array();

		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I}",
				"key", rows[i].key, "denials", (json_int_t)rows[i].denials,
				"both_ends", (json_int_t)rows[i].both_ends,
				"one_end", (json_int_t)rows[i].one_end));
		json_object_set_new(o, keys[gi], arr);
	}
	for (size_t i = 0; i < r->nflagged; i++) {
		struct report_flow_view v;

		report_flagged_get(r, i, &v);
		json_array_append_new(flagged, flow_json(&v));
	}
	json_object_set_new(o, "one_end", flagged);
	if (flows) {
		json_t *arr = json_array();
		size_t shown = 0;

		for (size_t i = 0; arr && i < r->norder && (!limit || shown < limit); i++) {
			struct report_flow_view v;

			if (report_flow_get(r, i, &v)) {
				json_array_append_new(arr, flow_json(&v));
				shown++;
			}
		}
		json_object_set_new(o, "flows", arr);
	}
	ret = json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(o);
	return ret < 0 || ferror(out) ? -EIO : 0;
}

static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

int report_print_csv(const struct report *r, FILE *out)
{
	fputs("group,key,denials,both_ends,one_end\r\n", out);
	for (int gi = 0; gi < REPORT_GROUPS; gi++) {
		const struct report_row *rows;
		size_t n = report_rows(r, gi, &rows);

		for (size_t i = 0; i < n; i++) {
			csv_field(out, report_group_name(gi));
			fputc(',', out);
			csv_field(out, rows[i].key);
			fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\r\n", rows[i].denials,
				rows[i].both_ends, rows[i].one_end);
		}
	}
	return ferror(out) ? -EIO : 0;
}
