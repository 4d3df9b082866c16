/*
 * capd/flows.c - the "flows" verb: this host's denied-flow records
 * (DIR/flows.log and its rotated files, written by capshim; format in
 * common/flowrec.h), served to root with a cursor:
 *
 *   {"cmd":"flows","since":S,"max":N}
 *   -> {"ok":true,"host":H,"lines":[LINE...],"last":SEQ,"more":bool,
 *       "oldest":SEQ,"lost":N}
 *
 * lines are the records with seq > S, oldest first, byte for byte as on
 * disk (so that their chain still verifies), at most N of them and about
 * CAPD_FLOWS_BYTES in all; last is the seq of the last one given (S if
 * none): the next request's since. oldest is the first seq still on disk;
 * lost counts records after S that rotation removed before they were
 * collected. Files are read oldest first, skipping whole files whose
 * records all come before the cursor.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capd.h"
#include "flowlog.h"

enum flows_limit {
	FILES_MAX = FLOWLOG_KEEP_MAX + 1,
};

/* The seq a line names, or 0 if it names none (a damaged line). */
static uint64_t line_seq(const char *line)
{
	const char *p = strstr(line, "\"seq\":");
	uint64_t v = 0;

	if (!p)
		return 0;
	for (p += 6; *p >= '0' && *p <= '9' && v < UINT64_MAX / 10 - 9; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/* The seq of a file's first line; 0 if it has none. */
static uint64_t first_seq(const char *path)
{
	char buf[FLOWREC_LINE_MAX + 2];
	FILE *f = fopen(path, "re");
	uint64_t seq = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		seq = line_seq(buf);
	fclose(f);
	return seq;
}

/* The record files, oldest first (path.K ... path.1, path). */
static size_t files_list(const char *dir, char paths[FILES_MAX][PATH_MAX])
{
	size_t n = 0;

	for (int k = FLOWLOG_KEEP_MAX; k >= 0; k--) {
		char p[PATH_MAX];

		if (k)
			snprintf(p, sizeof(p), "%s/flows.log.%d", dir, k);
		else
			snprintf(p, sizeof(p), "%s/flows.log", dir);
		if (access(p, R_OK) == 0)
			memcpy(paths[n++], p, sizeof(p));
	}
	return n;
}

json_t *capd_flows_answer(struct capd *d, uint64_t since, unsigned max)
{
	static char paths[FILES_MAX][PATH_MAX];
	json_t *lines = json_array(), *ans;
	uint64_t last = since, oldest = 0;
	size_t nfiles = files_list(d->cfg.dir, paths), bytes = 0, count = 0;
	bool more = false;
	char *line = NULL;
	size_t cap = 0;

	if (!lines)
		return capd_error("out of memory");
	for (size_t i = 0; i < nfiles && !more; i++) {
		uint64_t next_first = i + 1 < nfiles ? first_seq(paths[i + 1]) : 0;
		FILE *f;
		ssize_t n;

		if (!oldest)
			oldest = first_seq(paths[i]);
		if (next_first && next_first <= since + 1)
			continue;	/* everything here is before the cursor */
		f = fopen(paths[i], "re");
		if (!f)
			continue;
		while ((n = getline(&line, &cap, f)) > 0) {
			uint64_t seq;
			json_t *v;

			if (line[n - 1] != '\n')
				break;	/* being written: next time */
			line[--n] = '\0';
			seq = line_seq(line);
			if (seq && seq <= since)
				continue;
			if (count >= max || bytes + (size_t)n > CAPD_FLOWS_BYTES) {
				more = true;
				break;
			}
			v = json_stringn(line, (size_t)n);
			if (!v) {	/* not UTF-8: a damaged line, shown as such */
				for (ssize_t k = 0; k < n; k++)
					if ((unsigned char)line[k] >= 0x80)
						line[k] = '?';
				v = json_stringn(line, (size_t)n);
			}
			if (json_array_append_new(lines, v) < 0) {
				more = true;
				break;
			}
			count++;
			bytes += (size_t)n;
			if (seq)
				last = seq;
		}
		fclose(f);
	}
	free(line);
	ans = json_pack("{s:b, s:s, s:o, s:I, s:b, s:I, s:I}", "ok", 1,
			"host", d->trust.host.name, "lines", lines, "last", (json_int_t)last,
			"more", more, "oldest", (json_int_t)oldest,
			"lost", (json_int_t)(oldest > since + 1 ? oldest - since - 1 : 0));
	return ans ? ans : capd_error("out of memory");
}
