/*
 * capd/request.c - one control request line, parsed and checked before
 * anything acts on it (capd/PROTOCOL.md):
 *
 *   {"cmd":"open","user":U,"service":S,"tty":T,"rhost":R,"pid":P[,"no_token":"skip"]}
 *   {"cmd":"close","session":ID}   or   {"cmd":"close","pid":P}
 *   {"cmd":"list"}   {"cmd":"status"}
 *   {"cmd":"publish","objects":[ARMORED...]}
 *   {"cmd":"flows","since":SEQ,"max":N}
 *
 * Every field has a type and a bound; a login name that could escape a
 * path or break a log line is refused here. Members the verb does not use
 * are ignored, so that newer clients can add some.
 */
#include <stdio.h>
#include <string.h>

#include "capd.h"

static const struct verb_info {
	const char *name;
	enum capd_verb verb;
	bool root;
} verbs[] = {
	{ "open", CAPD_VERB_OPEN, true },
	{ "close", CAPD_VERB_CLOSE, true },
	{ "list", CAPD_VERB_LIST, false },
	{ "status", CAPD_VERB_STATUS, false },
	{ "publish", CAPD_VERB_PUBLISH, true },
	{ "flows", CAPD_VERB_FLOWS, true },
};

bool capd_verb_is_root(enum capd_verb verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].root;
	return true;
}

const char *capd_verb_name(enum capd_verb verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "?";
}

/* At most max bytes, none of them a control character. */
bool capd_field_ok(const char *text, size_t max)
{
	size_t len = strlen(text);

	if (len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return false;
	return true;
}

/* 1..CAPD_USER_MAX bytes, no control character, space or '/', not . or .. */
bool capd_user_name_ok(const char *name)
{
	if (!*name || !capd_field_ok(name, CAPD_USER_MAX) ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return !strpbrk(name, "/ ");
}

/* A string member without NUL bytes; NULL if absent or of another type. */
static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* An optional string: absent or null gives "". */
static bool opt_str(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = "";
	if (!v || json_is_null(v))
		return true;
	*out = str(o, key);
	return *out && capd_field_ok(*out, CAPD_FIELD_MAX);
}

static bool int_in(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi;
}

static bool fail(char *err, size_t cap, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return false;
}

static bool parse_open(struct capd_request *r, char *err, size_t cap)
{
	json_int_t pid;
	json_t *nt;

	r->user = str(r->root, "user");
	if (!r->user || !capd_user_name_ok(r->user))
		return fail(err, cap, "open: \"user\" must be a login name: 1..64 bytes, no "
				      "spaces, '/' or control characters");
	r->service = str(r->root, "service");
	if (!r->service || !capd_field_ok(r->service, CAPD_FIELD_MAX))
		return fail(err, cap, "open: \"service\" must be the PAM service name: at most "
				      "256 bytes, no control characters");
	if (!opt_str(r->root, "tty", &r->tty))
		return fail(err, cap, "open: \"tty\" must be a string of at most 256 bytes "
				      "without control characters, or null");
	if (!opt_str(r->root, "rhost", &r->rhost))
		return fail(err, cap, "open: \"rhost\" must be a string of at most 256 bytes "
				      "without control characters, or null");
	if (!int_in(json_object_get(r->root, "pid"), 1, CAPD_PID_MAX, &pid))
		return fail(err, cap, "open: \"pid\" must be the session's process id, an "
				      "integer 1..4194304");
	r->pid = (pid_t)pid;
	nt = json_object_get(r->root, "no_token");
	if (nt && !json_is_null(nt)) {
		const char *v = str(r->root, "no_token");

		if (!v || (strcmp(v, "refuse") != 0 && strcmp(v, "skip") != 0))
			return fail(err, cap, "open: \"no_token\" must be \"refuse\" or \"skip\"");
		r->no_token_skip = strcmp(v, "skip") == 0;
	}
	return true;
}

static bool parse_close(struct capd_request *r, char *err, size_t cap)
{
	json_t *sid = json_object_get(r->root, "session");
	json_t *pid = json_object_get(r->root, "pid");
	json_int_t v;

	if (sid && pid)
		return fail(err, cap, "close: give \"session\" or \"pid\", not both");
	if (sid) {
		if (!int_in(sid, 1, INT64_MAX, &v))
			return fail(err, cap, "close: \"session\" must be a session id, a "
					      "positive integer");
		r->session = (uint64_t)v;
		return true;
	}
	if (pid) {
		if (!int_in(pid, 1, CAPD_PID_MAX, &v))
			return fail(err, cap, "close: \"pid\" must be a process id, an integer "
					      "1..4194304");
		r->pid = (pid_t)v;
		return true;
	}
	return fail(err, cap, "close: say which session: {\"cmd\":\"close\",\"session\":ID} or "
			      "{\"cmd\":\"close\",\"pid\":PID}");
}

static bool parse_publish(struct capd_request *r, char *err, size_t cap)
{
	json_t *objs = json_object_get(r->root, "objects"), *o;
	size_t i;

	if (!json_is_array(objs) || json_array_size(objs) == 0 ||
	    json_array_size(objs) > CAPD_OBJECTS_MAX)
		return fail(err, cap, "publish: \"objects\" must be a list of 1..4096 armored "
				      "tokens or revocation lists");
	json_array_foreach(objs, i, o) {
		const char *s = json_string_value(o);

		if (!s || !*s || strlen(s) != json_string_length(o)) {
			snprintf(err, cap, "publish: objects[%zu] is not armored text", i);
			return false;
		}
	}
	r->objects = objs;
	return true;
}

static bool parse_flows(struct capd_request *r, char *err, size_t cap)
{
	json_t *since = json_object_get(r->root, "since");
	json_t *max = json_object_get(r->root, "max");
	json_int_t v;

	r->max = CAPD_FLOWS_DEFAULT;
	if (since && !json_is_null(since)) {
		if (!int_in(since, 0, INT64_MAX, &v))
			return fail(err, cap, "flows: \"since\" must be the seq of the last record "
					      "you have, an integer >= 0");
		r->since = (uint64_t)v;
	}
	if (max && !json_is_null(max)) {
		if (!int_in(max, 1, CAPD_FLOWS_MAX, &v))
			return fail(err, cap, "flows: \"max\" must be 1..100000");
		r->max = (unsigned)v;
	}
	return true;
}

/*
 * Parses one line (without its newline) into req, which then owns a
 * reference to the JSON it came from (capd_request_free). On failure req
 * holds nothing and err says what to fix, in one line.
 */
bool capd_request_parse(const char *line, size_t len, struct capd_request *req,
			char *err, size_t errcap)
{
	const struct verb_info *vi = NULL;
	json_error_t jerr;
	const char *cmd;
	bool ok = false;

	memset(req, 0, sizeof(*req));
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->root || !json_is_object(req->root)) {
		if (!req->root)
			snprintf(err, errcap,
				 "malformed request: expected one JSON object per line (column %d: %s)",
				 jerr.column, jerr.text);
		else
			snprintf(err, errcap,
				 "malformed request: expected one JSON object per line");
		goto out;
	}
	cmd = str(req->root, "cmd");
	if (!cmd) {
		snprintf(err, errcap, "missing \"cmd\": a string naming the verb, e.g. "
				      "{\"cmd\":\"status\"}");
		goto out;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(cmd, verbs[i].name) == 0)
			vi = &verbs[i];
	if (!vi) {
		snprintf(err, errcap, "unknown cmd \"%.32s\"; known: open, close, list, status, "
				      "publish, flows",
			 capd_field_ok(cmd, 32) ? cmd : "?");
		goto out;
	}
	req->verb = vi->verb;
	switch (vi->verb) {
	case CAPD_VERB_OPEN:
		ok = parse_open(req, err, errcap);
		break;
	case CAPD_VERB_CLOSE:
		ok = parse_close(req, err, errcap);
		break;
	case CAPD_VERB_PUBLISH:
		ok = parse_publish(req, err, errcap);
		break;
	case CAPD_VERB_FLOWS:
		ok = parse_flows(req, err, errcap);
		break;
	case CAPD_VERB_LIST:
	case CAPD_VERB_STATUS:
		ok = true;
		break;
	}
out:
	if (!ok)
		capd_request_free(req);
	return ok;
}

void capd_request_free(struct capd_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}
