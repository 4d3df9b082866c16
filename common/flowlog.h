/*
 * common/flowlog.h - the flow-record writer: hash-chained JSON lines
 * (flowrec.h), written durably in batches, rotated by size with the chain
 * carried into the next file, bounded on disk, and rate-limited with
 * summary lines ("and 1,204 more like this") instead of silent drops.
 *
 *   path        the live file (e.g. DIR/flows.log)
 *   path.1..K   rotated files, .1 the newest; the oldest is removed, so
 *               the files never hold more than (K + 1) * max_bytes
 *
 * Each record gets the next seq and the hash of the line before it, also
 * across a rotation and a restart (the writer resumes from the last line
 * on disk). Records come in through flowlog_add; while the rate limit
 * lets them (rate per second, burst), each is a line of its own;
 * beyond it, records alike (same side, hosts, users, uid, protocol,
 * destination port and reason) are counted, and one summary line per
 * kind says how many there were, at most a second later. Lines are
 * buffered and reach the disk (write, then fdatasync) on flowlog_flush,
 * which the owner calls from its timer, or when the buffer fills.
 *
 * Not thread-safe: one owner per file; a second writer on the same file
 * would break the chain (capshim is the only writer of its DIR/flows.log).
 */
#ifndef CAPTUN_COMMON_FLOWLOG_H
#define CAPTUN_COMMON_FLOWLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "flowrec.h"

enum flowlog_default {
	FLOWLOG_MAX_BYTES = 16 << 20,	/* rotate past this */
	FLOWLOG_KEEP = 4,		/* rotated files kept */
	FLOWLOG_RATE = 50,		/* lines per second, one per record */
	FLOWLOG_BURST = 200,
	FLOWLOG_LIKE_MAX = 64,		/* kinds of records summarised at once */
	FLOWLOG_SUMMARY_MS = 1000,	/* a summary is written this late at most */
	FLOWLOG_BUF = 256 * 1024,	/* buffered bytes before a forced write */
	FLOWLOG_MIN_BYTES = 64 * 1024,	/* smallest max_bytes accepted */
	FLOWLOG_KEEP_MAX = 100,
};

struct flowlog_config {
	const char *path;
	const char *host;		/* "host" of every line */
	uint64_t max_bytes;		/* 0: FLOWLOG_MAX_BYTES */
	unsigned keep;			/* 0: FLOWLOG_KEEP */
	unsigned rate;			/* 0: FLOWLOG_RATE */
	unsigned burst;			/* 0: FLOWLOG_BURST */
};

struct flowlog_stats {
	uint64_t seq;			/* of the last line */
	uint64_t records;		/* records taken */
	uint64_t lines;			/* records written one by one */
	uint64_t summarised;		/* records counted in summaries */
	uint64_t summaries;		/* summary lines */
	uint64_t rotations;
	uint64_t write_errors;
	uint64_t lost;			/* records dropped: the disk refused writes */
	uint64_t bytes;			/* in the live file */
};

struct flowlog;

/*
 * Opens (or creates, 0600) the live file and resumes its chain from the
 * last line on disk (a line cut short by a crash is closed and chained to
 * as it is, so the damage shows). 0 or -errno.
 */
int flowlog_open(struct flowlog **out, const struct flowlog_config *cfg);

/*
 * Takes one record (kind denied): seq, time and host are filled in here.
 * Returns true if it became a line of its own, false if it was counted
 * toward a summary (or lost, see stats).
 */
bool flowlog_add(struct flowlog *fl, const struct flowrec *r, uint64_t now_ms);

/*
 * Writes the summaries that are due (all with all), then the buffer, and
 * makes it durable. 0 or -errno (the lines stay buffered to retry).
 */
int flowlog_flush(struct flowlog *fl, uint64_t now_ms, bool all);

void flowlog_stats_get(const struct flowlog *fl, struct flowlog_stats *st);

/* The most the files of cfg can hold, in bytes. */
uint64_t flowlog_disk_bound(const struct flowlog_config *cfg);

/* Writes everything (summaries too) and closes. */
void flowlog_close(struct flowlog *fl, uint64_t now_ms);

#endif
