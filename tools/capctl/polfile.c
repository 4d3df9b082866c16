/*
 * tools/capctl/polfile.c - policy.json: loaded as JSON to be edited in
 * place (key order kept), validated by the policy library before anything
 * is written, and compiled into masks for display.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"
#include "fileio.h"

/* "host" or "user", as in file names and messages. */
const char *kind_str(enum capctl_kind kind)
{
	return kind == KIND_HOST ? "host" : "user";
}

/* The compiled policy; its errors name the file and line:col or path. */
int polfile_parse(struct capctl_ctx *ctx, struct policy **out)
{
	struct policy_error err;

	memset(&err, 0, sizeof(err));
	if (!policy_parse_file(ctx->path_policy, out, &err))
		return util_fail(CAPCTL_FAIL,
				 "fix the file, then check it with 'capctl policy check'",
				 "%s", err.text);
	return CAPCTL_OK;
}

/* The policy as JSON, to be edited with its key order kept. */
int polfile_load_json(struct capctl_ctx *ctx, json_t **root)
{
	json_error_t jerr;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	ret = fileio_read(ctx->path_policy, POLICY_FILE_MAX, &buf, &len);
	if (ret < 0)
		return util_io_fail(ret, "read", ctx->path_policy);
	*root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!*root)
		return util_fail(CAPCTL_FAIL,
				 "fix the file, then check it with 'capctl policy check'",
				 "%s:%d:%d: %s", ctx->path_policy, jerr.line,
				 jerr.column, jerr.text);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return util_fail(CAPCTL_FAIL,
				 "fix the file, then check it with 'capctl policy check'",
				 "%s: the top level must be an object", ctx->path_policy);
	}
	return CAPCTL_OK;
}

/*
 * Validates root with the policy library and only then replaces
 * policy.json. On success *out is the compiled new policy.
 */
int polfile_commit(struct capctl_ctx *ctx, json_t *root, struct policy **out)
{
	struct policy_error err;
	char *text;
	int ret;

	memset(&err, 0, sizeof(err));
	if (!policy_parse_json(root, ctx->path_policy, out, &err))
		return util_fail(CAPCTL_FAIL, "nothing was changed",
				 "the change would make the policy invalid: %s",
				 err.text);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		policy_free(*out);
		*out = NULL;
		return util_fail(CAPCTL_SYS, "", "out of memory");
	}
	ret = util_write_text(ctx->path_policy, text, 0644);
	free(text);
	if (ret < 0) {
		policy_free(*out);
		*out = NULL;
		return util_io_fail(ret, "write", ctx->path_policy);
	}
	return CAPCTL_OK;
}

/* root[section], created as {} when absent; NULL if it is not an object. */
json_t *polfile_section(json_t *root, const char *section)
{
	json_t *s = json_object_get(root, section);

	if (!s) {
		s = json_object();
		if (!s || json_object_set_new(root, section, s) < 0)
			return NULL;
	}
	return json_is_object(s) ? s : NULL;
}

/* entity.reach, created as [] when asked; NULL if it is not a list. */
json_t *polfile_reach(json_t *entity, bool create)
{
	json_t *r = json_object_get(entity, "reach");

	if (!r && create) {
		r = json_array();
		if (!r || json_object_set_new(entity, "reach", r) < 0)
			return NULL;
	}
	return json_is_array(r) ? r : NULL;
}

/* Reach lists hold each entry once. */
bool polfile_reach_has(const json_t *reach, const char *target)
{
	size_t i;
	json_t *e;

	json_array_foreach((json_t *)reach, i, e) {
		const char *s = json_string_value(e);

		if (s && strcmp(s, target) == 0)
			return true;
	}
	return false;
}

/*
 * Host names of the bits of m in bit order ("#N" for unknown bits), "-" if
 * empty.
 */
char *polfile_mask_names(const struct policy *p, const struct mask *m)
{
	size_t cap = 2, len = 0;
	char *out;

	for (unsigned b = 0; b < MASK_BITS; b++)
		if (mask_bit_test(m, b))
			cap += WIRE_NAME_MAX + 2;
	out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (unsigned b = 0; b < MASK_BITS; b++) {
		const struct policy_host *h;
		int n;

		if (!mask_bit_test(m, b))
			continue;
		h = p ? policy_host_by_bit(p, b) : NULL;
		n = h ? snprintf(out + len, cap - len, "%s%s", len ? "," : "", h->name)
		      : snprintf(out + len, cap - len, "%s#%u", len ? "," : "", b);
		if (n < 0 || (size_t)n >= cap - len) {
			free(out);
			return NULL;
		}
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(out, cap, "-");
	return out;
}

/* mask_format() into a buffer of the right size. */
char *polfile_mask_ranges(const struct mask *m)
{
	size_t need = mask_format(m, NULL, 0) + 1;
	char *out = malloc(need);

	if (out)
		mask_format(m, out, need);
	return out;
}

/* As polfile_mask_names(), as a JSON list. */
json_t *polfile_mask_names_json(const struct policy *p, const struct mask *m)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (unsigned b = 0; b < MASK_BITS; b++) {
		const struct policy_host *h;
		char name[16];

		if (!mask_bit_test(m, b))
			continue;
		h = p ? policy_host_by_bit(p, b) : NULL;
		if (!h)
			snprintf(name, sizeof(name), "#%u", b);
		if (json_array_append_new(arr, json_string(h ? h->name : name)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Appends the comma-separated entries of list to arr, skipping duplicates. */
int polfile_add_list(json_t *arr, const char *list)
{
	const char *p = list;

	if (!list[0])
		return -EINVAL;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char item[WIRE_NAME_MAX + 2];

		if (n == 0 || n > WIRE_NAME_MAX)
			return -EINVAL;
		memcpy(item, p, n);
		item[n] = '\0';
		if (!polfile_reach_has(arr, item) &&
		    json_array_append_new(arr, json_string(item)) < 0)
			return -ENOMEM;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}
