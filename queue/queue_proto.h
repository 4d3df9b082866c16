/*
 * queue/queue_proto.h - what capqueue, the NFQUEUE reader, and capshim say to
 * each other over capshim's control socket (JSON lines, root only; the
 * general rules are in capd/PROTOCOL.md).
 *
 *   {"cmd":"queue_hello","queue":N,"bypass":false,"rules":true}
 *       -> {"ok":true,"host":H}
 *       sent on connecting and then every QUEUE_HELLO_MS: capshim's
 *       status shows the reader as running while hellos keep coming
 *   {"cmd":"queue_verdict","proto":P,"src":A,"dst":A,"sport":N,"dport":N}
 *       -> {"ok":true,"v":"a"} accept, or {"ok":true,"v":"d"} deny
 *       one per new flow, answered from the capability in force now
 *   {"cmd":"queue_denied","proto":P,"src":A,"dst":A,"sport":N,"dport":N,
 *    "uid":N,"user":S,"pid":N,"comm":S,"exe":S,"iif":S}
 *       -> {"ok":true,"flow":HEX}
 *       after a deny: the sender's attribution; capshim writes the flow
 *       record (common/flowrec.h) and reports the flow to the receiver
 *
 * Answers come in the order of the requests. Field bounds are those of
 * common/flowrec.h.
 */
#ifndef CAPTUN_QUEUE_QUEUE_PROTO_H
#define CAPTUN_QUEUE_QUEUE_PROTO_H

enum queue_proto {
	QUEUE_HELLO_MS = 1000,
	QUEUE_STALE_MS = 3000,		/* no hello for this long: reader gone */
	QUEUE_ANSWER_TIMEOUT_MS = 3000,	/* capshim silent this long: fail closed (it
					   may stall a second on a slow client) */
	QUEUE_DEFAULT_NUM = 4700,
	QUEUE_DEFAULT_MARK = 0x00470000,
};

#endif
