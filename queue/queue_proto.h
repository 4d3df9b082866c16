/*
 * queue/queue_proto.h - what capqueue, the NFQUEUE reader, and capshim say to
 * each other over capshim's control socket (JSON lines, root only; the
 * general rules are in capd/PROTOCOL.md).
 *
 *   {"cmd":"queue_hello","queue":N,"bypass":false,"rules":true,
 *    "table":G,"local":N,"asked":N}
 *       -> {"ok":true,"host":H}
 *       sent on connecting and then every QUEUE_HELLO_MS: capshim's
 *       status shows the reader as running while hellos keep coming, and
 *       the reader's counters: the table generation it holds (G, -1 for
 *       none), flows it allowed from that table (local) and flows it asked
 *       capshim about (asked), since the reader started
 *   {"cmd":"queue_subscribe"}
 *       -> {"ok":true,"gen":G}
 *       once, on connecting: from then on capshim pushes its verdict table
 *       (below) on this connection whenever it changes, the first one
 *       before this answer
 *   {"push":"queue_table","gen":G,"allow":[A,...]}
 *       not an answer (only pushes carry "push"): the overlay addresses
 *       whose new flows the capability in force allows now, at most
 *       QUEUE_TABLE_MAX; G grows with every change of the table
 *   {"cmd":"queue_verdict","proto":P,"src":A,"dst":A,"sport":N,"dport":N}
 *       -> {"ok":true,"v":"a"} accept, or {"ok":true,"v":"d"} deny
 *       per new flow whose destination is not in the table: answered from
 *       the capability in force now
 *   {"cmd":"queue_denied","proto":P,"src":A,"dst":A,"sport":N,"dport":N,
 *    "uid":N,"user":S,"pid":N,"comm":S,"exe":S,"iif":S}
 *       -> {"ok":true,"flow":HEX}
 *       after a deny: the sender's attribution; capshim writes the flow
 *       record (common/flowrec.h) and reports the flow to the receiver
 *
 * Answers come in the order of the requests; pushes come between them.
 * Field bounds are those of common/flowrec.h.
 *
 * Why the table is safe. It lists only what is allowed, and capqueue asks
 * capshim about every other destination, so it can never deny on its own:
 * a stale table cannot refuse a flow the capability now allows. A stale
 * "allow" (the push of a narrowing still on its way) cannot widen
 * anything either: capshim still checks every packet at the TUN, refuses
 * the flow there at once and records it (via "tun", without the process).
 * capshim pushes in the same turn of its loop as the change, before it
 * answers whoever made it; capqueue reads capshim's socket before the
 * queue's in each turn and replaces its table whole, and drops it with
 * the connection: with no table, or with capshim gone or silent for
 * QUEUE_ANSWER_TIMEOUT_MS (its hellos unanswered), capqueue fails closed
 * as before (asks, and refuses when no answer comes).
 */
#ifndef CAPTUN_QUEUE_QUEUE_PROTO_H
#define CAPTUN_QUEUE_QUEUE_PROTO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum queue_proto {
	QUEUE_HELLO_MS = 1000,
	QUEUE_STALE_MS = 3000,		/* no hello for this long: reader gone */
	QUEUE_ANSWER_TIMEOUT_MS = 3000,	/* capshim silent this long: fail closed (it
					   may stall a second on a slow client) */
	QUEUE_DEFAULT_NUM = 4700,
	QUEUE_DEFAULT_MARK = 0x00470000,
	QUEUE_TABLE_MAX = 2048,		/* addresses: two per peer (capshim asserts it) */
	QUEUE_ADDR_TEXT_MAX = 46,	/* INET6_ADDRSTRLEN */
	/* the longest push line: every address quoted, with a comma */
	QUEUE_TABLE_LINE_MAX = 128 + QUEUE_TABLE_MAX * (QUEUE_ADDR_TEXT_MAX + 3),
};

/* The verdict table (shim/queue_table.c): addresses sorted, v4 as v4-mapped. */
struct queue_table {
	uint64_t gen;
	size_t n;
	struct in6_addr addr[QUEUE_TABLE_MAX];
};

/* A push line as an object; false if it is none or breaks a bound. */
bool queue_table_from_json(json_t *obj, struct queue_table *t);
/* The same from the text of one line (for tests and fuzzing). */
bool queue_table_parse(const char *line, size_t len, struct queue_table *t);
/* The push line of t (a new reference), or NULL without memory. */
json_t *queue_table_json(const struct queue_table *t);
/* Sorts and deduplicates t->addr[0..n) (what a parsed table holds). */
void queue_table_sort(struct queue_table *t);
/* Whether new flows to a (v4-mapped for IPv4) may go on without asking. */
bool queue_table_allows(const struct queue_table *t, const struct in6_addr *a);

#endif
