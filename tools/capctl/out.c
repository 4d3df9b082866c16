/*
 * tools/capctl/out.c - what a verb prints: text for a person, or with
 * --json one JSON object on stdout for a program. A verb says each fact
 * once: out_say() for the sentence, out_set()/out_add() for the fields;
 * in text mode the fields are dropped, in JSON mode the sentences are,
 * and main() prints {"ok":..., fields..., "error":...} at the end. Errors
 * and notes still go to stderr in both modes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"

static bool json_mode;
static bool own_output;		/* the verb printed its own JSON */
static json_t *result;
static char last_error[512];

void out_json_set(bool on)
{
	json_mode = on;
}

bool out_json(void)
{
	return json_mode;
}

/* A verb that prints a JSON document of its own (status, token show). */
void out_json_own(void)
{
	own_output = true;
}

void out_say(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static json_t *obj(void)
{
	if (!result)
		result = json_object();
	return result;
}

void out_set(const char *key, json_t *value)
{
	if (value && obj())
		json_object_set_new(result, key, value);
	else
		json_decref(value);
}

void out_add(const char *key, json_t *value)
{
	json_t *arr;

	if (!value || !obj()) {
		json_decref(value);
		return;
	}
	arr = json_object_get(result, key);
	if (!json_is_array(arr)) {
		arr = json_array();
		if (!arr || json_object_set_new(result, key, arr) < 0) {
			json_decref(value);
			return;
		}
	}
	json_array_append_new(arr, value);
}

void out_error_keep(const char *text)
{
	snprintf(last_error, sizeof(last_error), "%s", text);
}

/* At exit: the JSON object, unless the verb printed its own. */
void out_flush(int status)
{
	char *text;

	if (json_mode && !own_output && obj()) {
		json_object_set_new(result, "ok", json_boolean(status == CAPCTL_OK));
		if (status != CAPCTL_OK && last_error[0])
			json_object_set_new(result, "error", json_string(last_error));
		text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS);
		if (text)
			puts(text);
		free(text);
	}
	json_decref(result);
	result = NULL;
}
