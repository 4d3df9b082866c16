/*
 * shim/workers.h - capshim's crypto workers (--threads N): the AEAD of a
 * batch of packets spread over N threads, the event loop's own included.
 *
 * The event loop keeps all state to itself (peers, sessions, replay
 * windows, conntrack, capabilities, the handshake): it collects a batch,
 * hands only the seal/open of each packet to the workers, waits for all
 * of them, and goes on with the batch in its original order. So packets
 * leave and are delivered in the order they came, a replay window is
 * updated by one thread, after the tag verified, in arrival order, and
 * nothing the handshake or the announcements touch is ever seen by two
 * threads. Thread t uses its own AEAD context of each session (tx[t],
 * rx[t]): the contexts are made when a session is installed, N per
 * direction, never per packet.
 *
 * A batch too small to be worth waking anyone (WORKERS_INLINE_BYTES) is
 * done by the caller alone, and so is a larger one while spreading has
 * measured slower than not (the other cores busy with other work): the
 * pool measures both ways as it goes.
 */
#ifndef CAPTUN_SHIM_WORKERS_H
#define CAPTUN_SHIM_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"

enum workers_limit {
	WORKERS_MAX = 16,		/* threads, the caller's included */
	WORKERS_CHUNK = 4,		/* jobs taken at a time */
	WORKERS_INLINE_BYTES = 16384,	/* smaller batches: no wake-up */
	WORKERS_PROBE = 32,
	WORKERS_JOBS_MAX = 0xffff - WORKERS_CHUNK,	/* spread batches, jobs */		/* one batch in this many tries the other way */
};

/* One packet's AEAD: in place, ad then text (and the tag after it). */
struct crypto_job {
	struct aead *ctx;		/* the session's contexts, [WORKERS_MAX] */
	uint8_t nonce[AEAD_NONCE_LEN];
	const uint8_t *ad;
	size_t adlen;
	uint8_t *text;			/* plaintext (seal) or ciphertext + tag (open) */
	size_t len;			/* of the plaintext (seal) or of text (open) */
	bool seal;
	bool ok;			/* the result */
};

struct workers;

enum workers_mode {
	WORKERS_ADAPTIVE,		/* spread large batches while that pays */
	WORKERS_ALWAYS,			/* spread every batch of 2 or more (tests) */
	WORKERS_NEVER,			/* the caller alone */
};

/* n threads in all (1: the caller alone, no thread made). 0 or -errno. */
int workers_create(struct workers **out, unsigned n);
/* Stops and joins the threads. Safe on NULL. */
void workers_destroy(struct workers *w);
unsigned workers_count(const struct workers *w);

/* Runs every job; returns when all are done (each job's ok set). */
void workers_run(struct workers *w, struct crypto_job *jobs, size_t n);

void workers_mode_set(struct workers *w, enum workers_mode mode);

/* Counters: batches run by the caller alone, and spread. */
void workers_stats(const struct workers *w, uint64_t *inline_batches,
		   uint64_t *spread_batches);

#endif
