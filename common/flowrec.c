/*
 * common/flowrec.c - flow records (flowrec.h): names of reasons and
 * protocols, the reason in words, times, the JSON line both ways, and the
 * hash chain.
 *
 * The parser is a small one for exactly this shape (one flat object of
 * strings, integers, booleans and one list of strings) rather than a
 * general JSON library: capctl audit report reads millions of lines, and
 * a bounded, typed parser is also easier to fuzz. Strings are written
 * with every byte outside printable ASCII escaped as \u00XX and read back
 * the same way, so any bytes (a command name is not always UTF-8) survive
 * the trip and the line stays valid JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "flowrec.h"

static const char *const reason_names[FLOWREC_R_COUNT] = {
	[FLOWREC_R_NONE] = "none",
	[FLOWREC_R_USER_GRANT] = "user_grant",
	[FLOWREC_R_HOST_GRANT] = "host_grant",
	[FLOWREC_R_ISOLATED] = "isolated",
	[FLOWREC_R_CAPABILITY] = "capability",
	[FLOWREC_R_UNKNOWN_EPOCH] = "unknown_epoch",
	[FLOWREC_R_STALE_EPOCH] = "stale_epoch",
	[FLOWREC_R_NO_SHIM] = "no_shim",
};

static const char *const via_names[FLOWREC_VIA_COUNT] = {
	[FLOWREC_VIA_NONE] = "",
	[FLOWREC_VIA_TUN] = "tun",
	[FLOWREC_VIA_NFQUEUE] = "nfqueue",
	[FLOWREC_VIA_BPF] = "bpf",
	[FLOWREC_VIA_REPORT] = "report",
};

void flowrec_init(struct flowrec *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = FLOWREC_DENIED;
	r->uid = -1;
	r->pid = -1;
}

void flowrec_id_new(uint8_t id[FLOWREC_ID_LEN])
{
	randombytes_buf(id, FLOWREC_ID_LEN);
}

void flowrec_id_hex(const uint8_t id[FLOWREC_ID_LEN], char out[2 * FLOWREC_ID_LEN + 1])
{
	sodium_bin2hex(out, 2 * FLOWREC_ID_LEN + 1, id, FLOWREC_ID_LEN);
}

const char *flowrec_reason_name(enum flowrec_reason r)
{
	return (unsigned)r < FLOWREC_R_COUNT ? reason_names[r] : "none";
}

bool flowrec_reason_parse(const char *name, enum flowrec_reason *out)
{
	for (int i = 0; i < FLOWREC_R_COUNT; i++)
		if (strcmp(name, reason_names[i]) == 0) {
			*out = (enum flowrec_reason)i;
			return true;
		}
	return false;
}

const char *flowrec_via_name(enum flowrec_via v)
{
	return (unsigned)v < FLOWREC_VIA_COUNT ? via_names[v] : "";
}

static bool via_parse(const char *name, enum flowrec_via *out)
{
	for (int i = 1; i < FLOWREC_VIA_COUNT; i++)
		if (strcmp(name, via_names[i]) == 0) {
			*out = (enum flowrec_via)i;
			return true;
		}
	return false;
}

const char *flowrec_proto_name(uint8_t proto, char buf[16])
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, 16, "proto-%u", proto);
		return buf;
	}
}

bool flowrec_proto_parse(const char *name, uint8_t *out)
{
	static const struct { const char *n; uint8_t p; } known[] = {
		{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
		{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 },
	};
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i].n) == 0) {
			*out = known[i].p;
			return true;
		}
	if (strncmp(name, "proto-", 6) != 0 || name[6] < '0' || name[6] > '9')
		return false;
	v = strtoul(name + 6, &end, 10);
	if (*end || v > 255)
		return false;
	*out = (uint8_t)v;
	return true;
}

/* The first name of "A,B" into out. */
static const char *first_user(const char *users, char *out, size_t cap)
{
	size_t n = strcspn(users, ",");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, users, n);
	out[n] = '\0';
	return out;
}

const char *flowrec_why(const struct flowrec *r, char *out, size_t cap)
{
	const char *src = r->src_host[0] ? r->src_host : "the sender";
	const char *dst = r->dst_host[0] ? r->dst_host : "the receiver";
	char who[FLOWREC_NAME_MAX + 1];

	switch (r->reason) {
	case FLOWREC_R_USER_GRANT:
		snprintf(out, cap, "user %s's grant lacks %s",
			 r->subject[0] ? r->subject : first_user(r->users, who, sizeof(who)),
			 dst);
		break;
	case FLOWREC_R_HOST_GRANT:
		snprintf(out, cap, "%s's own grant lacks %s",
			 r->subject[0] ? r->subject : src, dst);
		break;
	case FLOWREC_R_ISOLATED:
		if (r->subject[0])
			snprintf(out, cap, "%s is isolated: user %s's token is missing, "
				 "expired or revoked", src, r->subject);
		else
			snprintf(out, cap, "%s is isolated (its capability is empty)", src);
		break;
	case FLOWREC_R_CAPABILITY:
		if (r->users[0])
			snprintf(out, cap, "%s's capability (epoch %" PRIu32 ", users %s) "
				 "lacks %s", src, r->epoch, r->users, dst);
		else
			snprintf(out, cap, "%s's capability (epoch %" PRIu32 ") lacks %s",
				 src, r->epoch, dst);
		break;
	case FLOWREC_R_UNKNOWN_EPOCH:
		snprintf(out, cap, "unknown epoch %" PRIu32 " from %s (never announced "
			 "to %s)", r->epoch, src, dst);
		break;
	case FLOWREC_R_STALE_EPOCH:
		snprintf(out, cap, "stale epoch %" PRIu32 " from %s (a newer capability "
			 "was announced)", r->epoch, src);
		break;
	case FLOWREC_R_NO_SHIM:
		snprintf(out, cap, "capshim on %s did not answer: new flows fail closed",
			 src);
		break;
	default:
		snprintf(out, cap, "denied");
		break;
	}
	return out;
}

void flowrec_time_format(uint64_t ms, char out[FLOWREC_TIME_LEN + 1])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, FLOWREC_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (unsigned)(ms % 1000));
}

static bool digits(const char *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z", or a date "YYYY-MM-DD" (midnight UTC). */
bool flowrec_time_parse(const char *s, uint64_t *ms)
{
	size_t len = strlen(s);
	int y, mo, d, h = 0, mi = 0, se = 0, milli = 0;
	int64_t days;

	if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return false;
	if (len > 10) {
		if (len < 20 || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
		    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
			return false;
		if (s[19] == '.') {
			if (len != 24 || !digits(s + 20, 3, &milli) || s[23] != 'Z')
				return false;
		} else if (len != 20 || s[19] != 'Z') {
			return false;
		}
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return false;
	days = days_from_civil(y, mo, d);
	*ms = ((uint64_t)days * 86400 + (uint64_t)h * 3600 + (uint64_t)mi * 60 +
	       (uint64_t)se) * 1000 + (uint64_t)milli;
	return true;
}

const char *flowrec_count_text(uint64_t n, char out[32])
{
	char plain[24];
	int len = snprintf(plain, sizeof(plain), "%" PRIu64, n), o = 0;

	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = plain[i];
	}
	out[o] = '\0';
	return out;
}

void flowrec_hash(const char *line, size_t len, uint8_t out[FLOWREC_HASH_LEN])
{
	crypto_generichash(out, FLOWREC_HASH_LEN, (const uint8_t *)line, len, NULL, 0);
}

/* ---- encoding ---------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(o, buf, n < 0 ? 0 : (size_t)n);
}

static void put_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };

			put(o, e, 2);
		} else if (*p < 0x20 || *p >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };

			put(o, e, 6);
		} else {
			put(o, (const char *)p, 1);
		}
	}
	put(o, "\"", 1);
}

static void key(struct out *o, const char *k)
{
	put(o, ",\"", 2);
	puts_(o, k);
	put(o, "\":", 2);
}

static void member_str(struct out *o, const char *k, const char *v)
{
	if (!v[0])
		return;
	key(o, k);
	put_str(o, v);
}

static void put_users(struct out *o, const char *users)
{
	const char *p = users;

	key(o, "users");
	put(o, "[", 1);
	while (*p) {
		char name[FLOWREC_NAME_MAX + 1];
		size_t n = strcspn(p, ",");

		if (n > FLOWREC_NAME_MAX) {
			o->full = true;
			return;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (p != users)
			put(o, ",", 1);
		put_str(o, name);
		p += n + (p[n] == ',');
	}
	put(o, "]", 1);
}

size_t flowrec_encode(const struct flowrec *r, const uint8_t prev[FLOWREC_HASH_LEN],
		      char *buf, size_t cap)
{
	struct out o = { buf, 0, cap < FLOWREC_LINE_MAX + 1 ? cap : FLOWREC_LINE_MAX + 1,
			 false };
	char t[FLOWREC_TIME_LEN + 1], pb[16], idhex[2 * FLOWREC_ID_LEN + 1];
	char why[FLOWREC_WHY_MAX + 1], hex[FLOWREC_HEX + 1], n[32], text[80];

	if (cap == 0 || (r->kind != FLOWREC_DENIED && r->kind != FLOWREC_SUMMARY) ||
	    (r->side != FLOWREC_SENDER && r->side != FLOWREC_RECEIVER))
		return 0;
	buf[0] = '\0';
	flowrec_time_format(r->time_ms, t);
	putf(&o, "{\"v\":%d,\"seq\":%" PRIu64, FLOWREC_VERSION, r->seq);
	key(&o, "time");
	put_str(&o, t);
	key(&o, "kind");
	put_str(&o, r->kind == FLOWREC_SUMMARY ? "summary" : "denied");
	member_str(&o, "host", r->host);
	key(&o, "side");
	put_str(&o, r->side == FLOWREC_SENDER ? "sender" : "receiver");
	if (r->has_id) {
		flowrec_id_hex(r->id, idhex);
		member_str(&o, "flow", idhex);
	}
	member_str(&o, "src_host", r->src_host);
	member_str(&o, "dst_host", r->dst_host);
	put_users(&o, r->users);
	key(&o, "proto");
	put_str(&o, flowrec_proto_name(r->proto, pb));
	member_str(&o, "src", r->src);
	putf(&o, ",\"sport\":%u", r->sport);
	member_str(&o, "dst", r->dst);
	putf(&o, ",\"dport\":%u,\"epoch\":%" PRIu32, r->dport, r->epoch);
	key(&o, "reason");
	put_str(&o, flowrec_reason_name(r->reason));
	member_str(&o, "subject", r->subject);
	key(&o, "why");
	put_str(&o, flowrec_why(r, why, sizeof(why)));
	if (r->has_told)
		puts_(&o, r->told ? ",\"told\":true" : ",\"told\":false");
	member_str(&o, "via", flowrec_via_name(r->via));
	if (r->uid >= 0)
		putf(&o, ",\"uid\":%" PRId64, r->uid);
	member_str(&o, "user", r->user);
	if (r->pid >= 0)
		putf(&o, ",\"pid\":%" PRId64, r->pid);
	member_str(&o, "comm", r->comm);
	member_str(&o, "exe", r->exe);
	member_str(&o, "iif", r->iif);
	if (r->kind == FLOWREC_SUMMARY) {
		putf(&o, ",\"count\":%" PRIu64, r->count);
		flowrec_time_format(r->last_ms, t);
		key(&o, "last");
		put_str(&o, t);
		snprintf(text, sizeof(text), "and %s more like this",
			 flowrec_count_text(r->count, n));
		key(&o, "text");
		put_str(&o, text);
	}
	sodium_bin2hex(hex, sizeof(hex), prev, FLOWREC_HASH_LEN);
	key(&o, "prev");
	put_str(&o, hex);
	put(&o, "}", 1);
	return o.full ? 0 : o.len;
}

/* ---- parsing ----------------------------------------------------------- */

struct in {
	const char *p, *end;
	char *err;
	size_t errcap;
};

static bool fail(struct in *in, const char *what)
{
	if (in->errcap)
		snprintf(in->err, in->errcap, "%s", what);
	return false;
}

static void ws(struct in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\r' ||
				   *in->p == '\n'))
		in->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	uint8_t b[4];
	size_t k;

	if (cp < 0x100) {		/* our own \u00XX: one byte (see the top) */
		b[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

static bool hex4(struct in *in, uint32_t *v)
{
	*v = 0;
	if (in->end - in->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int h = hexval(in->p[i]);

		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	in->p += 4;
	return true;
}

/* A JSON string into out (cap bytes with the NUL); no NUL bytes inside. */
static bool str(struct in *in, char *out, size_t cap)
{
	size_t n = 0;

	if (in->p >= in->end || *in->p != '"')
		return fail(in, "expected a string");
	in->p++;
	while (in->p < in->end && *in->p != '"') {
		unsigned char c = (unsigned char)*in->p++;
		uint32_t cp, lo;

		if (c < 0x20)
			return fail(in, "control character in a string");
		if (c != '\\') {
			if (n + 1 >= cap)
				return fail(in, "string too long");
			out[n++] = (char)c;
			continue;
		}
		if (in->p >= in->end)
			return fail(in, "unterminated escape");
		c = (unsigned char)*in->p++;
		switch (c) {
		case '"': case '\\': case '/':
			cp = c;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!hex4(in, &cp))
				return fail(in, "bad \\u escape");
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (in->end - in->p < 6 || in->p[0] != '\\' || in->p[1] != 'u')
					return fail(in, "lone surrogate");
				in->p += 2;
				if (!hex4(in, &lo) || lo < 0xdc00 || lo >= 0xe000)
					return fail(in, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return fail(in, "lone surrogate");
			}
			break;
		default:
			return fail(in, "unknown escape");
		}
		if (cp == 0)
			return fail(in, "NUL in a string");
		if (!put_utf8(out, cap, &n, cp))
			return fail(in, "string too long");
	}
	if (in->p >= in->end)
		return fail(in, "unterminated string");
	in->p++;
	out[n] = '\0';
	return true;
}

/* A non-negative integer (a leading '-' for the signed members). */
static bool integer(struct in *in, bool neg_ok, int64_t lo, uint64_t hi, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0;
	const char *start;

	if (in->p < in->end && *in->p == '-') {
		if (!neg_ok)
			return fail(in, "negative number");
		neg = true;
		in->p++;
	}
	start = in->p;
	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return fail(in, "number too large");
		v = v * 10 + (uint64_t)(*in->p++ - '0');
	}
	if (in->p == start || (in->p - start > 1 && *start == '0'))
		return fail(in, "expected a number");
	if (in->p < in->end && (*in->p == '.' || *in->p == 'e' || *in->p == 'E'))
		return fail(in, "expected an integer");
	if (neg) {
		if (v > (uint64_t)INT64_MAX || -(int64_t)v < lo)
			return fail(in, "number out of range");
		*out = -(int64_t)v;
		return true;
	}
	if (v > hi)
		return fail(in, "number out of range");
	*out = (int64_t)v;
	return true;
}

static bool boolean(struct in *in, bool *out)
{
	if (in->end - in->p >= 4 && memcmp(in->p, "true", 4) == 0) {
		in->p += 4;
		*out = true;
		return true;
	}
	if (in->end - in->p >= 5 && memcmp(in->p, "false", 5) == 0) {
		in->p += 5;
		*out = false;
		return true;
	}
	return fail(in, "expected true or false");
}

static bool name_ok(const char *s)
{
	if (!s[0])
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* "users":["A","B"] into "A,B". */
static bool users(struct in *in, char *out)
{
	size_t n = 0, count = 0;

	if (in->p >= in->end || *in->p != '[')
		return fail(in, "users: expected a list");
	in->p++;
	ws(in);
	out[0] = '\0';
	if (in->p < in->end && *in->p == ']') {
		in->p++;
		return true;
	}
	for (;;) {
		char name[FLOWREC_NAME_MAX + 1];
		size_t l;

		ws(in);
		if (!str(in, name, sizeof(name)))
			return false;
		if (!name_ok(name) || ++count > FLOWREC_USERS_MAX)
			return fail(in, "users: bad name or too many");
		l = strlen(name);
		if (n + l + 2 > FLOWREC_USERS_TEXT)
			return fail(in, "users: too long");
		if (n)
			out[n++] = ',';
		memcpy(out + n, name, l + 1);
		n += l;
		ws(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			continue;
		}
		if (in->p < in->end && *in->p == ']') {
			in->p++;
			return true;
		}
		return fail(in, "users: expected , or ]");
	}
}

enum member {
	M_V, M_SEQ, M_TIME, M_KIND, M_HOST, M_SIDE, M_FLOW, M_SRC_HOST, M_DST_HOST,
	M_USERS, M_PROTO, M_SRC, M_SPORT, M_DST, M_DPORT, M_EPOCH, M_REASON,
	M_SUBJECT, M_WHY, M_TOLD, M_VIA, M_UID, M_USER, M_PID, M_COMM, M_EXE, M_IIF,
	M_COUNT, M_LAST, M_TEXT, M_PREV, M_COUNT_,
};

static const char *const member_names[M_COUNT_] = {
	"v", "seq", "time", "kind", "host", "side", "flow", "src_host", "dst_host",
	"users", "proto", "src", "sport", "dst", "dport", "epoch", "reason",
	"subject", "why", "told", "via", "uid", "user", "pid", "comm", "exe", "iif",
	"count", "last", "text", "prev",
};

static bool hexbytes(const char *text, uint8_t *out, size_t n)
{
	if (strlen(text) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int a = hexval(text[2 * i]), b = hexval(text[2 * i + 1]);

		if (a < 0 || b < 0)
			return false;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return true;
}

/* Reads member m's value into r. */
static bool value(struct in *in, enum member m, struct flowrec *r)
{
	char s[FLOWREC_EXE_MAX + 1];
	int64_t v;

	switch (m) {
	case M_V:
		if (!integer(in, false, 0, 1000, &v))
			return false;
		return v == FLOWREC_VERSION || fail(in, "unknown version");
	case M_SEQ:
		if (!integer(in, false, 0, INT64_MAX, &v))
			return false;
		r->seq = (uint64_t)v;
		return true;
	case M_SPORT:
	case M_DPORT:
		if (!integer(in, false, 0, 65535, &v))
			return false;
		*(m == M_SPORT ? &r->sport : &r->dport) = (uint16_t)v;
		return true;
	case M_EPOCH:
		if (!integer(in, false, 0, UINT32_MAX, &v))
			return false;
		r->epoch = (uint32_t)v;
		return true;
	case M_UID:
		if (!integer(in, false, 0, UINT32_MAX, &v))
			return false;
		r->uid = v;
		return true;
	case M_PID:
		if (!integer(in, false, 0, INT32_MAX, &v))
			return false;
		r->pid = v;
		return true;
	case M_COUNT:
		if (!integer(in, false, 0, INT64_MAX, &v))
			return false;
		r->count = (uint64_t)v;
		return true;
	case M_TOLD:
		r->has_told = true;
		return boolean(in, &r->told);
	case M_USERS:
		return users(in, r->users);
	default:
		break;
	}
	if (!str(in, s, sizeof(s)))
		return false;
	switch (m) {
	case M_TIME:
		return flowrec_time_parse(s, &r->time_ms) || fail(in, "bad time");
	case M_LAST:
		return flowrec_time_parse(s, &r->last_ms) || fail(in, "bad last");
	case M_KIND:
		if (strcmp(s, "denied") == 0)
			r->kind = FLOWREC_DENIED;
		else if (strcmp(s, "summary") == 0)
			r->kind = FLOWREC_SUMMARY;
		else
			return fail(in, "unknown kind");
		return true;
	case M_SIDE:
		if (strcmp(s, "sender") == 0)
			r->side = FLOWREC_SENDER;
		else if (strcmp(s, "receiver") == 0)
			r->side = FLOWREC_RECEIVER;
		else
			return fail(in, "unknown side");
		return true;
	case M_FLOW:
		r->has_id = true;
		return hexbytes(s, r->id, FLOWREC_ID_LEN) || fail(in, "bad flow id");
	case M_PREV:
		r->has_prev = true;
		return hexbytes(s, r->prev, FLOWREC_HASH_LEN) || fail(in, "bad prev");
	case M_PROTO:
		return flowrec_proto_parse(s, &r->proto) || fail(in, "unknown proto");
	case M_REASON:
		return flowrec_reason_parse(s, &r->reason) || fail(in, "unknown reason");
	case M_VIA:
		return via_parse(s, &r->via) || fail(in, "unknown via");
	case M_WHY:
	case M_TEXT:
		return strlen(s) <= FLOWREC_WHY_MAX || fail(in, "text too long");
	case M_EXE:
		memcpy(r->exe, s, strlen(s) + 1);
		return true;
	default:
		break;
	}
	{
		static const struct { enum member m; size_t off, max; bool name; } f[] = {
			{ M_HOST, offsetof(struct flowrec, host), FLOWREC_NAME_MAX, true },
			{ M_SRC_HOST, offsetof(struct flowrec, src_host), FLOWREC_NAME_MAX, true },
			{ M_DST_HOST, offsetof(struct flowrec, dst_host), FLOWREC_NAME_MAX, true },
			{ M_SUBJECT, offsetof(struct flowrec, subject), FLOWREC_NAME_MAX, true },
			{ M_SRC, offsetof(struct flowrec, src), FLOWREC_ADDR_MAX, false },
			{ M_DST, offsetof(struct flowrec, dst), FLOWREC_ADDR_MAX, false },
			{ M_USER, offsetof(struct flowrec, user), FLOWREC_LOGIN_MAX, false },
			{ M_COMM, offsetof(struct flowrec, comm), FLOWREC_COMM_MAX, false },
			{ M_IIF, offsetof(struct flowrec, iif), FLOWREC_IFNAME_MAX, false },
		};

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			if (f[i].m != m)
				continue;
			if (strlen(s) > f[i].max || (f[i].name && !name_ok(s)))
				return fail(in, "field too long or not a name");
			memcpy((char *)r + f[i].off, s, strlen(s) + 1);
			return true;
		}
	}
	return fail(in, "unknown member");
}

bool flowrec_parse(const char *line, size_t len, struct flowrec *r, char *err,
		   size_t errcap)
{
	struct in in = { line, line + len, err, errcap };
	uint64_t seen = 0;

	flowrec_init(r);
	r->kind = 0;
	if (len > FLOWREC_LINE_MAX)
		return fail(&in, "line too long");
	ws(&in);
	if (in.p >= in.end || *in.p != '{')
		return fail(&in, "not a JSON object");
	in.p++;
	ws(&in);
	if (in.p < in.end && *in.p == '}')
		return fail(&in, "empty object");
	for (int next = 0;;) {
		char k[16];
		int m = -1;

		ws(&in);
		if (!str(&in, k, sizeof(k)))
			return fail(&in, "bad or unknown member name");
		/* writers use the order of member_names: try the next one first */
		for (int i = next; m < 0 && i < M_COUNT_; i++)
			if (strcmp(k, member_names[i]) == 0)
				m = i;
		for (int i = 0; m < 0 && i < next; i++)
			if (strcmp(k, member_names[i]) == 0)
				m = i;
		next = m + 1;
		if (m < 0)
			return fail(&in, "unknown member");
		if (seen & (UINT64_C(1) << m))
			return fail(&in, "duplicate member");
		seen |= UINT64_C(1) << m;
		ws(&in);
		if (in.p >= in.end || *in.p != ':')
			return fail(&in, "expected :");
		in.p++;
		ws(&in);
		if (!value(&in, (enum member)m, r))
			return false;
		ws(&in);
		if (in.p < in.end && *in.p == ',') {
			in.p++;
			continue;
		}
		if (in.p < in.end && *in.p == '}') {
			in.p++;
			break;
		}
		return fail(&in, "expected , or }");
	}
	ws(&in);
	if (in.p != in.end)
		return fail(&in, "trailing bytes after the object");
	{
		static const enum member need[] = { M_V, M_SEQ, M_TIME, M_KIND, M_SIDE,
						    M_PROTO, M_REASON, M_PREV };

		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			if (!(seen & (UINT64_C(1) << need[i]))) {
				if (errcap)
					snprintf(err, errcap, "missing \"%s\"",
						 member_names[need[i]]);
				return false;
			}
	}
	if (r->kind == FLOWREC_SUMMARY && (!(seen & (UINT64_C(1) << M_COUNT)) || !r->count))
		return fail(&in, "a summary needs a count");
	return true;
}

/* ---- the chain --------------------------------------------------------- */

void flowrec_chain_init(struct flowrec_chain *c)
{
	memset(c, 0, sizeof(*c));
}

bool flowrec_chain_step(struct flowrec_chain *c, const char *line, size_t len,
			char *err, size_t errcap)
{
	static const uint8_t zero[FLOWREC_HASH_LEN];
	struct flowrec r;
	char why[128];

	if (!flowrec_parse(line, len, &r, why, sizeof(why))) {
		snprintf(err, errcap, "not a flow record: %s", why);
		return false;
	}
	if (!c->started) {
		if (r.seq == 1 && sodium_memcmp(r.prev, zero, sizeof(zero)) != 0) {
			snprintf(err, errcap, "seq 1 must carry 64 zeros as prev");
			return false;
		}
		c->first_seq = r.seq;
	} else {
		if (sodium_memcmp(r.prev, c->prev, sizeof(c->prev)) != 0) {
			snprintf(err, errcap, "prev is not the hash of the line before "
				 "(that line or this one was changed, or lines were removed "
				 "or inserted)");
			return false;
		}
		if (r.seq != c->seq + 1) {
			snprintf(err, errcap, "seq %" PRIu64 " follows %" PRIu64, r.seq, c->seq);
			return false;
		}
	}
	c->started = true;
	c->lines++;
	c->seq = r.seq;
	flowrec_hash(line, len, c->prev);
	return true;
}
