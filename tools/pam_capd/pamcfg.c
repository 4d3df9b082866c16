/*
 * tools/pam_capd/pamcfg.c - pam_capd's options, request lines and answer
 * parsing (see pamcfg.h). Pure: no PAM, no I/O.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pamcfg.h"

enum opt {
	OPT_SOCKET,
	OPT_TIMEOUT,
	OPT_ON_ERROR,
	OPT_NO_TOKEN,
	OPT_CONFIG,
	OPT_COUNT,
};

static const char *const opt_names[OPT_COUNT] = {
	[OPT_SOCKET] = "socket",
	[OPT_TIMEOUT] = "timeout",
	[OPT_ON_ERROR] = "on_error",
	[OPT_NO_TOKEN] = "no_token",
	[OPT_CONFIG] = "config",
};

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A whole decimal number within the limits, no sign, no spaces. */
static int parse_timeout(const char *v, int *out)
{
	char *end;
	long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < PAMCFG_TIMEOUT_MIN_MS || n > PAMCFG_TIMEOUT_MAX_MS)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

/* Options are name=value words; a mistyped one must not pass silently. */
int pamcfg_args_parse(struct pamcfg *cfg, int argc, const char **argv,
		      char *err, size_t errlen)
{
	bool seen[OPT_COUNT] = { false };

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", PAMCFG_SOCKET_DEFAULT);
	cfg->timeout_ms = PAMCFG_TIMEOUT_DEFAULT_MS;
	cfg->on_error = PAMCFG_ON_ERROR_REFUSE;
	snprintf(cfg->config, sizeof(cfg->config), "%s", PAMCFG_CONFIG_DEFAULT);
	if (errlen)
		err[0] = '\0';
	if (argc < 0 || (argc > 0 && !argv))
		return fail(err, errlen, "bad argument list");
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		size_t nlen;
		int o;

		if (!a)
			return fail(err, errlen, "bad argument list");
		eq = strchr(a, '=');
		if (!eq)
			return fail(err, errlen, "option '%s' wants name=value "
				    "(known: socket, timeout, on_error, no_token, config)", a);
		nlen = (size_t)(eq - a);
		v = eq + 1;
		for (o = 0; o < OPT_COUNT; o++)
			if (strlen(opt_names[o]) == nlen && strncmp(a, opt_names[o], nlen) == 0)
				break;
		if (o == OPT_COUNT)
			return fail(err, errlen, "unknown option '%s' "
				    "(known: socket, timeout, on_error, no_token, config)", a);
		if (seen[o])
			return fail(err, errlen, "option '%s' given twice", a);
		seen[o] = true;
		if (!*v)
			return fail(err, errlen, "option '%s' has an empty value", a);
		switch (o) {
		case OPT_SOCKET:
			if (v[0] != '/')
				return fail(err, errlen, "socket '%s' must be an absolute path", v);
			if (strlen(v) >= sizeof(cfg->socket))
				return fail(err, errlen, "socket path '%s' is too long", v);
			snprintf(cfg->socket, sizeof(cfg->socket), "%s", v);
			cfg->socket_set = true;
			break;
		case OPT_CONFIG:
			if (v[0] != '/')
				return fail(err, errlen, "config '%s' must be an absolute path", v);
			if (strlen(v) >= sizeof(cfg->config))
				return fail(err, errlen, "config path '%s' is too long", v);
			snprintf(cfg->config, sizeof(cfg->config), "%s", v);
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(v, &cfg->timeout_ms) < 0)
				return fail(err, errlen, "timeout '%s' must be milliseconds, 1-60000", v);
			break;
		case OPT_ON_ERROR:
			if (strcmp(v, "refuse") == 0)
				cfg->on_error = PAMCFG_ON_ERROR_REFUSE;
			else if (strcmp(v, "allow") == 0)
				cfg->on_error = PAMCFG_ON_ERROR_ALLOW;
			else
				return fail(err, errlen, "on_error '%s' must be refuse or allow", v);
			break;
		case OPT_NO_TOKEN:
			if (strcmp(v, "refuse") == 0)
				cfg->no_token_skip = false;
			else if (strcmp(v, "skip") == 0)
				cfg->no_token_skip = true;
			else
				return fail(err, errlen, "no_token '%s' must be refuse or skip", v);
			break;
		}
	}
	return 0;
}

/* Dumps obj as one line with '\n' appended; consumes obj. */
static int line_of(json_t *obj, char **line)
{
	char *text, *out;
	size_t len;

	*line = NULL;
	if (!obj)
		return -ENOMEM;
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	out = malloc(len + 2);
	if (!out) {
		free(text);
		return -ENOMEM;
	}
	memcpy(out, text, len);
	out[len] = '\n';
	out[len + 1] = '\0';
	free(text);
	*line = out;
	return 0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Builds the open request; json_pack checks the strings are UTF-8. */
int pamcfg_open_build(const struct pamcfg_open *o, char **line)
{
	json_t *obj;

	*line = NULL;
	if (!o->user || !*o->user || o->pid <= 0)
		return -EINVAL;
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "cmd", "open",
			"user", o->user, "service", or_empty(o->service),
			"tty", or_empty(o->tty), "rhost", or_empty(o->rhost),
			"pid", (json_int_t)o->pid);
	if (!obj)
		return -EINVAL;	/* a string that is not UTF-8 */
	if (o->no_token_skip && json_object_set_new(obj, "no_token", json_string("skip")) < 0) {
		json_decref(obj);
		return -ENOMEM;
	}
	return line_of(obj, line);
}

/* The id goes back to capd exactly as capd gave it: string or integer. */
int pamcfg_close_build(const char *session, pid_t pid, char **line)
{
	json_t *obj, *id;

	*line = NULL;
	if (!session || !*session) {
		if (pid <= 0)
			return -EINVAL;
		obj = json_pack("{s:s, s:I}", "cmd", "close", "pid", (json_int_t)pid);
		return obj ? line_of(obj, line) : -ENOMEM;
	}
	id = json_loads(session, JSON_DECODE_ANY, NULL);
	if (!id || !(json_is_string(id) || json_is_integer(id))) {
		json_decref(id);
		return -EINVAL;
	}
	obj = json_pack("{s:s, s:o}", "cmd", "close", "session", id);
	return obj ? line_of(obj, line) : -ENOMEM;
}

/* Copies s into dst, cut with "..." when it does not fit. */
static void copy_cut(char *dst, size_t dlen, const char *s)
{
	size_t len = strlen(s);

	if (len < dlen) {
		memcpy(dst, s, len + 1);
		return;
	}
	if (dlen < 4) {
		if (dlen)
			dst[0] = '\0';
		return;
	}
	memcpy(dst, s, dlen - 4);
	memcpy(dst + dlen - 4, "...", 4);
}

static int bad(struct pamcfg_answer *ans, const char *why)
{
	copy_cut(ans->error, sizeof(ans->error), why);
	return -EBADMSG;
}

/* Reduces capd's answer to accepted / refused / malformed. */
int pamcfg_answer_parse(const char *line, size_t len, bool want_session,
			struct pamcfg_answer *ans)
{
	json_t *obj, *ok, *v;
	char *text;
	int ret = 0;

	memset(ans, 0, sizeof(*ans));
	ans->epoch = -1;
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		return bad(ans, "capd's answer is not a JSON object");
	}
	ok = json_object_get(obj, "ok");
	if (!json_is_boolean(ok)) {
		ret = bad(ans, "capd's answer has no boolean \"ok\"");
		goto out;
	}
	if (!json_is_true(ok)) {
		v = json_object_get(obj, "error");
		copy_cut(ans->error, sizeof(ans->error),
			 json_is_string(v) ? json_string_value(v) : "capd gave no reason");
		ret = -EPERM;
		goto out;
	}
	v = json_object_get(obj, "recorded");
	if (v && !json_is_boolean(v)) {
		ret = bad(ans, "capd's \"recorded\" is not a boolean");
		goto out;
	}
	ans->recorded = !json_is_false(v);
	v = json_object_get(obj, "session");
	if (!ans->recorded && v) {
		ret = bad(ans, "capd's answer has a session id but says it recorded none");
		goto out;
	}
	if (!ans->recorded) {
		v = json_object_get(obj, "why");
		copy_cut(ans->error, sizeof(ans->error),
			 json_is_string(v) ? json_string_value(v) : "capd gave no reason");
		goto out;
	}
	if (v && (json_is_string(v) || json_is_integer(v))) {
		text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!text) {
			ret = bad(ans, "out of memory");
			goto out;
		}
		if (strlen(text) >= sizeof(ans->session) || (json_is_string(v) &&
							      !json_string_length(v))) {
			free(text);
			ret = bad(ans, "capd's session id is empty or too long");
			goto out;
		}
		memcpy(ans->session, text, strlen(text) + 1);
		free(text);
	} else if (want_session || v) {
		ret = bad(ans, "capd's answer has no session id (string or integer)");
		goto out;
	}
	v = json_object_get(obj, "epoch");
	if (json_is_integer(v))
		ans->epoch = json_integer_value(v);
	v = json_object_get(obj, "mask");
	if (json_is_string(v))
		copy_cut(ans->mask, sizeof(ans->mask), json_string_value(v));
out:
	json_decref(obj);
	return ret;
}

const char *pamcfg_text_clean(const char *in, bool keep_spaces, char *out, size_t outlen)
{
	unsigned char lowest = keep_spaces ? ' ' : ' ' + 1;
	size_t i = 0;

	if (!outlen)
		return out;
	if (!in || !*in)
		in = "-";
	for (; in[i] && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c >= lowest && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	out[i] = '\0';
	return out;
}
