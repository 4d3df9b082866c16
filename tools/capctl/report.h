/*
 * tools/capctl/report.h - 'capctl audit report': denied-flow records
 * (common/flowrec.h) of one or many hosts, joined by flow id, filtered,
 * and grouped by user, by host pair, by port and by hour.
 *
 * A denial counts once however many ends recorded it: a flow id is one
 * denial; a summary line ("and N more like this") is N. A flow is
 * flagged when it was seen at one end only although the records of both
 * hosts are in the input: a sender record the receiver never got (report
 * lost), a receiver's record of a report with no sender record (a spoofed
 * or lost report), or a refusal only the receiver made (a sender that did
 * not enforce: rogue or out of date).
 *
 * Memory is per flow (a few dozen bytes) and per distinct name, never per
 * line, so that a million records fit in well under 200 MB.
 */
#ifndef CAPTUN_CAPCTL_REPORT_H
#define CAPTUN_CAPCTL_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flowrec.h"

struct report_filter {
	uint64_t since_ms, until_ms;	/* 0: open */
	const char *user;		/* behind the capability, or the local user */
	const char *host;		/* either end */
	int port;			/* destination port; -1: any */
};

enum report_group {
	REPORT_BY_USER,
	REPORT_BY_PAIR,
	REPORT_BY_PORT,
	REPORT_BY_HOUR,
	REPORT_GROUPS,
};

/* One row of a grouping. */
struct report_row {
	const char *key;
	uint64_t denials;
	uint64_t both_ends;		/* flows joined at both ends */
	uint64_t one_end;		/* flagged flows */
};

struct report_stats {
	uint64_t lines, bad_lines, filtered_out;
	uint64_t denials, flows, both_ends, sender_only, receiver_only, flagged;
	uint64_t summarised;		/* denials counted by summary lines */
	uint64_t first_ms, last_ms;
	size_t nhosts;
};

struct report;

struct report *report_new(const struct report_filter *f);
void report_free(struct report *r);

/*
 * Adds one line of source (a file name, for messages). False if it is not
 * a record (counted in bad_lines, the first few named on stderr).
 */
bool report_add_line(struct report *r, const char *line, size_t len,
		     const char *source, uint64_t lineno);

/* Reads a whole file of lines ("-": stdin). 0 or -errno. */
int report_add_file(struct report *r, const char *path);

/* Joins and groups; call once, after the last line. */
int report_finish(struct report *r);

void report_stats_get(const struct report *r, struct report_stats *st);
/* The rows of a grouping, most denials first (hours: in time order). */
size_t report_rows(const struct report *r, enum report_group g,
		   const struct report_row **rows);
const char *report_group_name(enum report_group g);

/* Outputs. flows: also list every flow (at most limit; 0: all). */
int report_print_text(const struct report *r, FILE *out, bool flows, size_t limit);
int report_print_json(const struct report *r, FILE *out, bool flows, size_t limit);
int report_print_csv(const struct report *r, FILE *out);
int report_print_html(const struct report *r, FILE *out);

/* For report_html.c: hosts, and denials from host i to host j. */
size_t report_hosts(const struct report *r, const char *const **names);
uint64_t report_matrix(const struct report *r, size_t from, size_t to);

/* Denials in n buckets of bucket_ms from start_ms (by first sight). */
void report_timeline(const struct report *r, uint64_t start_ms, uint64_t bucket_ms,
		     uint64_t *counts, size_t n);

/* One flagged or listed flow, for the outputs. */
struct report_flow_view {
	char id[2 * FLOWREC_ID_LEN + 1];
	uint64_t time_ms;
	const char *src_host, *dst_host, *users, *local_user, *comm;
	int64_t uid, pid;
	uint8_t proto;
	uint16_t dport;
	enum flowrec_reason reason;
	bool at_sender, at_receiver;
	const char *note;		/* why it is flagged, or "" */
};

/* The i-th flow (not summaries), oldest first. */
size_t report_flow_count(const struct report *r);
bool report_flow_get(const struct report *r, size_t i, struct report_flow_view *v);
/* The i-th flagged flow, oldest first. */
size_t report_flagged_count(const struct report *r);
bool report_flagged_get(const struct report *r, size_t i, struct report_flow_view *v);

#endif
