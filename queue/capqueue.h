/*
 * queue/capqueue.h - capqueue, captun's NFQUEUE reader: what its files
 * share.
 *
 *   main.c    command line, setup, privileges, the event loop
 *   rules.c   the iptables/ip6tables rules that queue new flows to it
 *   nfq.c     libnetfilter_queue: packets in, verdicts out
 *   link.c    the connection to capshim (queue/queue_proto.h): the verdict
 *             table it pushes, verdicts asked for the flows the table does
 *             not allow, denied flows handed over with their process
 *   procs.c   the process behind a packet: socket -> inode -> pid
 *
 * Only the first packet of each new flow towards the overlay interface
 * is queued (conntrack NEW). capqueue lets it go on at once if capshim's
 * pushed table allows its destination; otherwise it asks capshim, which
 * holds the capability in force, and gives the kernel the verdict: accept, or mark
 * and repeat so that an earlier rule REJECTs the packet at once (TCP
 * reset / ICMP administratively prohibited). Without capqueue the rule
 * still queues, and the kernel drops (fail closed) unless --queue-bypass.
 */
#ifndef CAPTUN_QUEUE_CAPQUEUE_H
#define CAPTUN_QUEUE_CAPQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "flowrec.h"
#include "inet.h"
#include "queue_proto.h"

enum capqueue_limit {
	CAPQUEUE_PENDING_MAX = 4096,	/* packets awaiting capshim's answer */
	CAPQUEUE_OUT_MAX = 4 << 20,	/* bytes queued towards capshim */
	CAPQUEUE_IN_MAX = QUEUE_TABLE_LINE_MAX,	/* one answer or push line */
	CAPQUEUE_COPY = 256,		/* bytes of each packet copied to us */
	CAPQUEUE_MAXLEN = 8192,		/* the kernel's queue length */
};

struct capqueue_config {
	const char *ifname;		/* the overlay interface */
	const char *shim;		/* capshim's control socket */
	unsigned num;			/* queue number */
	uint32_t mark;			/* mark of refused packets */
	bool bypass;			/* --queue-bypass: fail open */
	bool rules;			/* install the rules at start */
	bool foreground;
	const char *pidfile;
};

/* A packet's attribution (procs.c). */
struct capqueue_who {
	int64_t uid, pid;		/* -1 unknown */
	char user[FLOWREC_LOGIN_MAX + 1];
	char comm[FLOWREC_COMM_MAX + 1];
	char exe[FLOWREC_EXE_MAX + 1];
	char iif[FLOWREC_IFNAME_MAX + 1];
};

struct capqueue_pending {
	uint32_t packet_id;		/* 0: not a packet (hello, denied event) */
	struct inet_flow flow;
	int64_t uid;
	uint32_t indev;
	uint64_t sent_ms;
};

struct capqueue;

/* main.c */
uint64_t capqueue_mono_ms(void);
__attribute__((format(printf, 2, 3)))
void capqueue_log(int prio, const char *fmt, ...);

/* rules.c */
int capqueue_rules_install(const struct capqueue_config *cfg);
int capqueue_rules_remove(const struct capqueue_config *cfg);

/* nfq.c */
struct capqueue_nfq;
typedef void (*capqueue_packet_fn)(void *arg, uint32_t id, const uint8_t *pkt,
				   size_t len, int64_t uid, uint32_t indev);
int capqueue_nfq_open(struct capqueue_nfq **out, const struct capqueue_config *cfg,
		      capqueue_packet_fn fn, void *arg);
int capqueue_nfq_fd(const struct capqueue_nfq *q);
void capqueue_nfq_readable(struct capqueue_nfq *q);
void capqueue_nfq_accept(struct capqueue_nfq *q, uint32_t id);
void capqueue_nfq_refuse(struct capqueue_nfq *q, uint32_t id);
void capqueue_nfq_close(struct capqueue_nfq *q);

/* link.c */
struct capqueue_link;
int capqueue_link_new(struct capqueue_link **out, const struct capqueue_config *cfg,
		      struct capqueue_nfq *nfq);
void capqueue_link_attach(struct capqueue_link *l, struct capqueue_nfq *nfq);
int capqueue_link_fd(const struct capqueue_link *l);
bool capqueue_link_wants_write(const struct capqueue_link *l);
void capqueue_link_packet(struct capqueue_link *l, uint32_t id, const uint8_t *pkt,
			  size_t len, int64_t uid, uint32_t indev);
void capqueue_link_io(struct capqueue_link *l, bool readable, bool writable);
void capqueue_link_tick(struct capqueue_link *l);
void capqueue_link_free(struct capqueue_link *l);

/* procs.c */
void capqueue_who_find(const struct inet_flow *f, int64_t uid, uint32_t indev,
		       struct capqueue_who *who);

#endif
