/*
 * tests/fuzz/fuzz_flowrec.c - libFuzzer harness for common/flowrec.h:
 * arbitrary bytes as one flow-record line.
 *
 * Whatever flowrec_parse accepts must encode again (within
 * FLOWREC_LINE_MAX) and parse back to the same line: the record format
 * has one spelling per record. The line then goes through a chain check,
 * which must agree with the parser about whether it is a record.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[FLOWREC_LINE_MAX + 1], b[FLOWREC_LINE_MAX + 1], err[128];
	struct flowrec r, back;
	struct flowrec_chain c;
	size_t n, m;
	bool ok;

	ok = flowrec_parse((const char *)data, size, &r, err, sizeof(err));
	flowrec_chain_init(&c);
	CHECK(flowrec_chain_step(&c, (const char *)data, size, err, sizeof(err)) ==
	      (ok && (r.seq != 1 || !memcmp(r.prev, (uint8_t[FLOWREC_HASH_LEN]){ 0 },
					    FLOWREC_HASH_LEN))));
	if (!ok)
		return 0;
	n = flowrec_encode(&r, r.prev, a, sizeof(a));
	if (n == 0)
		return 0;	/* a record past an encoding bound (e.g. long escapes) */
	CHECK(n == strlen(a) && n <= FLOWREC_LINE_MAX);
	CHECK(flowrec_parse(a, n, &back, err, sizeof(err)));
	m = flowrec_encode(&back, back.prev, b, sizeof(b));
	CHECK(m == n && memcmp(a, b, n) == 0);
	return 0;
}
