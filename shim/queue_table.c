/*
 * shim/queue_table.c - the verdict table that capshim pushes to capqueue
 * (queue/queue_proto.h): its push line, built and parsed, and the lookup
 * capqueue makes per new flow. Here, in libcapshim, because both daemons,
 * the unit tests and the fuzzers link it.
 *
 * The parser is strict: "push" must say "queue_table", "gen" is a
 * non-negative integer, "allow" an array of at most QUEUE_TABLE_MAX
 * strings, each an IPv4 or IPv6 address in the text inet_pton reads.
 * Other members are ignored (a later capshim may say more).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../queue/queue_proto.h"
#include "inet.h"

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

void queue_table_sort(struct queue_table *t)
{
	size_t w = 0;

	qsort(t->addr, t->n, sizeof(t->addr[0]), addr_cmp);
	for (size_t r = 0; r < t->n; r++)
		if (w == 0 || memcmp(&t->addr[w - 1], &t->addr[r], sizeof(t->addr[r])) != 0)
			t->addr[w++] = t->addr[r];
	t->n = w;
}

static bool addr_of(const char *text, struct in6_addr *out)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		inet_addr_from4(out, &a4);
		return true;
	}
	return inet_pton(AF_INET6, text, out) == 1;
}

bool queue_table_from_json(json_t *obj, struct queue_table *t)
{
	const char *push = json_string_value(json_object_get(obj, "push"));
	json_t *gen = json_object_get(obj, "gen"), *allow = json_object_get(obj, "allow");
	size_t i;
	json_t *v;

	if (!json_is_object(obj) || !push || strcmp(push, "queue_table") != 0 ||
	    !json_is_integer(gen) || json_integer_value(gen) < 0 || !json_is_array(allow) ||
	    json_array_size(allow) > QUEUE_TABLE_MAX)
		return false;
	t->gen = (uint64_t)json_integer_value(gen);
	t->n = 0;
	json_array_foreach(allow, i, v) {
		const char *text = json_string_value(v);

		if (!text || strlen(text) >= QUEUE_ADDR_TEXT_MAX || !addr_of(text, &t->addr[t->n]))
			return false;
		t->n++;
	}
	queue_table_sort(t);
	return true;
}

bool queue_table_parse(const char *line, size_t len, struct queue_table *t)
{
	json_t *obj;
	bool ok;

	if (len > QUEUE_TABLE_LINE_MAX)
		return false;
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	ok = obj && queue_table_from_json(obj, t);
	json_decref(obj);
	return ok;
}

json_t *queue_table_json(const struct queue_table *t)
{
	json_t *allow = json_array(), *obj;
	char text[INET6_ADDRSTRLEN];

	if (!allow)
		return NULL;
	for (size_t i = 0; i < t->n && i < QUEUE_TABLE_MAX; i++)
		if (json_array_append_new(allow, json_string(inet_addr_str(&t->addr[i], text,
									   sizeof(text)))) < 0) {
			json_decref(allow);
			return NULL;
		}
	obj = json_pack("{s:s, s:I, s:o}", "push", "queue_table", "gen", (json_int_t)t->gen,
			"allow", allow);
	return obj;
}

bool queue_table_allows(const struct queue_table *t, const struct in6_addr *a)
{
	return t && bsearch(a, t->addr, t->n, sizeof(t->addr[0]), addr_cmp) != NULL;
}
