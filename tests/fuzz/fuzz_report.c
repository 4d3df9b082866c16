/*
 * tests/fuzz/fuzz_report.c - libFuzzer harness for capctl's audit report
 * (tools/capctl/report.h): arbitrary bytes as a file of record lines,
 * joined, grouped and written out in every format.
 *
 * Counts must add up: the groupings each sum to the total of denials,
 * and the flows at one end or both add up to all flows.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_filter f = { .port = -1 };
	struct report *r;
	struct report_stats st;
	const char *p = (const char *)data, *end = p + size;
	FILE *null;
	uint64_t no = 0;

	if (size && data[0] == 'F') {	/* a filter, from the first line */
		f.port = 80;
		f.user = "A";
	}
	r = report_new(&f);
	if (!r)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		report_add_line(r, p, len, "fuzz", ++no);
		p += len + 1;
	}
	CHECK(report_finish(r) == 0);
	report_stats_get(r, &st);
	CHECK(st.both_ends + st.sender_only + st.receiver_only == st.flows);
	CHECK(st.flows + st.summarised == st.denials);
	for (int g = 0; g < REPORT_GROUPS; g++) {
		const struct report_row *rows;
		size_t n = report_rows(r, g, &rows);
		uint64_t sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += rows[i].denials;
		CHECK(sum == st.denials);
	}
	null = fopen("/dev/null", "w");
	if (null) {
		report_print_text(r, null, true, 0);
		report_print_json(r, null, true, 0);
		report_print_csv(r, null);
		report_print_html(r, null);
		fclose(null);
	}
	report_free(r);
	return 0;
}
