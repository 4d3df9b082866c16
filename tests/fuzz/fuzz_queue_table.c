/*
 * tests/fuzz/fuzz_queue_table.c - libFuzzer harness for the verdict table
 * capshim pushes to capqueue (queue/queue_proto.h): arbitrary bytes as one
 * push line.
 *
 * Whatever queue_table_parse accepts is sorted and without duplicates,
 * within QUEUE_TABLE_MAX; it encodes again within QUEUE_TABLE_LINE_MAX and
 * parses back to the same table; every address it holds is allowed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../queue/queue_proto.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct queue_table t, back;
	json_t *obj;
	char *text;

	if (!queue_table_parse((const char *)data, size, &t))
		return 0;
	CHECK(t.n <= QUEUE_TABLE_MAX);
	for (size_t i = 0; i < t.n; i++) {
		CHECK(i == 0 || memcmp(&t.addr[i - 1], &t.addr[i], sizeof(t.addr[i])) < 0);
		CHECK(queue_table_allows(&t, &t.addr[i]));
	}
	obj = queue_table_json(&t);
	CHECK(obj);
	text = json_dumps(obj, JSON_COMPACT);
	CHECK(text && strlen(text) <= QUEUE_TABLE_LINE_MAX);
	CHECK(queue_table_parse(text, strlen(text), &back));
	CHECK(back.gen == t.gen && back.n == t.n);
	CHECK(memcmp(back.addr, t.addr, t.n * sizeof(t.addr[0])) == 0);
	free(text);
	json_decref(obj);
	return 0;
}
