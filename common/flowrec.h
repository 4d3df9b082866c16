/*
 * common/flowrec.h - the flow record: one JSON line per denied flow, the
 * same at both ends of the flow and from every path that refuses one
 * (capshim's TUN, the NFQUEUE reader, attach mode). This header defines
 * the format; capctl audit, capd's "flows" verb and the writer
 * (flowlog.h) follow it.
 *
 * A line is one JSON object, members in this order (absent when unknown):
 *
 *   "v":1                   format version
 *   "seq":N                 1, 2, ... per host, never reused, carried
 *                           across rotated files (the collection cursor)
 *   "time":"2025-01-02T03:04:05.678Z"   when the writer took the record
 *   "kind":"denied"|"summary"
 *   "host":H                the host that wrote the line
 *   "side":"sender"|"receiver"
 *   "flow":16 hex           flow id: the sender makes it and carries it in
 *                           its refusal report, so the receiver's line has
 *                           the same one; a denial only the receiver saw
 *                           gets an id of its own
 *   "src_host":H, "dst_host":H
 *   "users":[U...]          the users behind the sender's capability
 *   "proto":"tcp"|"udp"|"icmp"|"icmpv6"|"proto-N"
 *   "src":A, "sport":N, "dst":A, "dport":N   (ICMP echo: identifier)
 *   "epoch":N               the sender's capability epoch
 *   "reason":CODE           enum flowrec_reason, by name
 *   "subject":NAME          the user or host whose grant lacks the bit
 *   "why":TEXT              the reason in words (flowrec_why)
 *   "told":bool             sender: the receiver was sent a report
 *   "via":"tun"|"nfqueue"|"bpf"|"report"   how the denial was seen
 *   sender attribution, when it could be resolved:
 *   "uid":N, "user":NAME, "pid":N, "comm":TEXT, "exe":PATH
 *   "iif":IFNAME            forwarded traffic: the input interface
 *   summary lines only:
 *   "count":N, "last":TIME, "text":"and 1,204 more like this"
 *                           N denials like the fields above (same side,
 *                           hosts, users, uid, protocol, port and
 *                           reason) that the rate limit did not write
 *                           one by one, between "time" and "last"
 *   "prev":64 hex           BLAKE2b-256 of the previous line's bytes
 *                           (without its newline); 64 zeros before seq 1
 *
 * Limits are enum flowrec_limit; a line longer than FLOWREC_LINE_MAX, a
 * field past its bound or a value of the wrong type does not parse.
 */
#ifndef CAPTUN_COMMON_FLOWREC_H
#define CAPTUN_COMMON_FLOWREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flowrec_limit {
	FLOWREC_VERSION = 1,
	FLOWREC_LINE_MAX = 4096,	/* one line, without its newline */
	FLOWREC_NAME_MAX = 63,		/* host and user names (wire.h: WIRE_NAME_MAX) */
	FLOWREC_USERS_MAX = 64,		/* names in "users" */
	FLOWREC_USERS_TEXT = 256,	/* "A,B" of the users, as capshim keeps it */
	FLOWREC_LOGIN_MAX = 32,		/* a local (Unix) user name */
	FLOWREC_COMM_MAX = 15,		/* the kernel's TASK_COMM_LEN - 1 */
	FLOWREC_EXE_MAX = 255,
	FLOWREC_IFNAME_MAX = 15,	/* IFNAMSIZ - 1 */
	FLOWREC_ADDR_MAX = 45,		/* INET6_ADDRSTRLEN - 1 */
	FLOWREC_WHY_MAX = 255,
	FLOWREC_ID_LEN = 8,
	FLOWREC_HASH_LEN = 32,
	FLOWREC_HEX = 2 * FLOWREC_HASH_LEN,
	FLOWREC_TIME_LEN = 24,		/* "2025-01-02T03:04:05.678Z" */
};

enum flowrec_kind {
	FLOWREC_DENIED = 1,
	FLOWREC_SUMMARY = 2,
};

enum flowrec_side {
	FLOWREC_SENDER = 1,
	FLOWREC_RECEIVER = 2,
};

enum flowrec_via {
	FLOWREC_VIA_NONE = 0,
	FLOWREC_VIA_TUN,		/* capshim refused a packet from its TUN */
	FLOWREC_VIA_NFQUEUE,		/* the NFQUEUE reader refused a new flow */
	FLOWREC_VIA_BPF,		/* attach mode's programs refused it */
	FLOWREC_VIA_REPORT,		/* receiver: the sender's refusal report */
	FLOWREC_VIA_COUNT,
};

/* Why a flow was denied; each has a name and a sentence (flowrec_why). */
enum flowrec_reason {
	FLOWREC_R_NONE = 0,
	FLOWREC_R_USER_GRANT,		/* a user behind the capability lacks dst */
	FLOWREC_R_HOST_GRANT,		/* the sender host's own grant lacks dst */
	FLOWREC_R_ISOLATED,		/* the sender is isolated (empty mask) */
	FLOWREC_R_CAPABILITY,		/* the capability lacks dst, cause unknown */
	FLOWREC_R_UNKNOWN_EPOCH,	/* receiver: epoch never announced */
	FLOWREC_R_STALE_EPOCH,		/* receiver: epoch superseded */
	FLOWREC_R_NO_SHIM,		/* NFQUEUE reader: capshim unreachable */
	FLOWREC_R_COUNT,
};

struct flowrec {
	enum flowrec_kind kind;
	uint64_t seq;			/* 0 until the writer assigns it */
	uint64_t time_ms;		/* unix milliseconds */
	char host[FLOWREC_NAME_MAX + 1];
	enum flowrec_side side;
	bool has_id;
	uint8_t id[FLOWREC_ID_LEN];
	char src_host[FLOWREC_NAME_MAX + 1];
	char dst_host[FLOWREC_NAME_MAX + 1];
	char users[FLOWREC_USERS_TEXT];	/* comma-separated, "" for none */
	uint8_t proto;			/* IPPROTO_* */
	char src[FLOWREC_ADDR_MAX + 1];
	char dst[FLOWREC_ADDR_MAX + 1];
	uint16_t sport, dport;
	uint32_t epoch;
	enum flowrec_reason reason;
	char subject[FLOWREC_NAME_MAX + 1];
	bool has_told, told;
	enum flowrec_via via;
	/* sender attribution; uid and pid are -1 when unknown */
	int64_t uid;
	int64_t pid;
	char user[FLOWREC_LOGIN_MAX + 1];
	char comm[FLOWREC_COMM_MAX + 1];
	char exe[FLOWREC_EXE_MAX + 1];
	char iif[FLOWREC_IFNAME_MAX + 1];
	/* summary lines */
	uint64_t count;
	uint64_t last_ms;
	/* the chain */
	bool has_prev;
	uint8_t prev[FLOWREC_HASH_LEN];
};

/* An empty record: kind denied, uid and pid unknown. */
void flowrec_init(struct flowrec *r);

/* A fresh random flow id. */
void flowrec_id_new(uint8_t id[FLOWREC_ID_LEN]);
void flowrec_id_hex(const uint8_t id[FLOWREC_ID_LEN], char out[2 * FLOWREC_ID_LEN + 1]);

const char *flowrec_reason_name(enum flowrec_reason r);
bool flowrec_reason_parse(const char *name, enum flowrec_reason *out);
const char *flowrec_via_name(enum flowrec_via v);
const char *flowrec_proto_name(uint8_t proto, char buf[16]);
bool flowrec_proto_parse(const char *name, uint8_t *out);

/*
 * The reason in words, e.g. "user A's grant lacks host2", "host3's own
 * grant lacks host2", "unknown epoch 7 from host1". Returns out.
 */
const char *flowrec_why(const struct flowrec *r, char *out, size_t cap);

/* "2025-01-02T03:04:05.678Z" (UTC) of unix milliseconds, and back. */
void flowrec_time_format(uint64_t ms, char out[FLOWREC_TIME_LEN + 1]);
bool flowrec_time_parse(const char *text, uint64_t *ms);

/* "1,204" */
const char *flowrec_count_text(uint64_t n, char out[32]);

/*
 * Encodes r as one line (no newline) with prev as its "prev", into out
 * (cap bytes, at least FLOWREC_LINE_MAX + 1). Returns the length, or 0 if
 * r breaks a limit.
 */
size_t flowrec_encode(const struct flowrec *r, const uint8_t prev[FLOWREC_HASH_LEN],
		      char *out, size_t cap);

/*
 * Parses one line (without its newline). False, with a reason in err,
 * for anything but a well-formed record of this version.
 */
bool flowrec_parse(const char *line, size_t len, struct flowrec *out,
		   char *err, size_t errcap);

/* BLAKE2b-256 of a line's bytes: the next line's "prev". */
void flowrec_hash(const char *line, size_t len, uint8_t out[FLOWREC_HASH_LEN]);

/*
 * Checks a chain line by line (files in order, rotated ones oldest
 * first). The first line anchors the chain: it must carry 64 zeros if its
 * seq is 1; otherwise earlier lines are simply not at hand. Every later
 * line must carry the hash of the one before and the next seq.
 */
struct flowrec_chain {
	bool started;
	uint64_t lines;			/* lines checked */
	uint64_t seq;			/* of the last line */
	uint64_t first_seq;
	uint8_t prev[FLOWREC_HASH_LEN];	/* hash of the last line */
};

void flowrec_chain_init(struct flowrec_chain *c);
bool flowrec_chain_step(struct flowrec_chain *c, const char *line, size_t len,
			char *err, size_t errcap);

#endif
