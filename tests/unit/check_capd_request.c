/*
 * tests/unit/check_capd_request.c - capd's control-request parser: every
 * verb in its accepted forms, and malformed lines, missing fields, wrong
 * types and out-of-range values, each refused with an error that names
 * what to fix. Then the answers that need no session at all: permission
 * checks by uid, and error objects that stay valid JSON whatever bytes
 * they quote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "capd.h"
#include "suites.h"

struct req_case {
	const char *line;
	bool ok;
	enum capd_verb verb;
	const char *err_has;	/* refused: a piece of the error text */
};

static const struct req_case req_cases[] = {
	/* every verb */
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"tty\":\"pts/1\","
	  "\"rhost\":\"192.0.2.1\",\"pid\":42}",
	  true, CAPD_VERB_OPEN, NULL },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":42}", true, CAPD_VERB_OPEN, NULL },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"\",\"tty\":null,\"rhost\":null,"
	  "\"pid\":4194304}",
	  true, CAPD_VERB_OPEN, NULL },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"pid\":42,\"future\":[1]}",
	  true, CAPD_VERB_OPEN, NULL },
	{ "{\"cmd\":\"close\",\"session\":7}", true, CAPD_VERB_CLOSE, NULL },
	{ "{\"cmd\":\"close\",\"pid\":42}", true, CAPD_VERB_CLOSE, NULL },
	{ "{\"cmd\":\"list\"}", true, CAPD_VERB_LIST, NULL },
	{ "{\"cmd\":\"status\"}", true, CAPD_VERB_STATUS, NULL },
	{ " {\"cmd\" : \"status\"} ", true, CAPD_VERB_STATUS, NULL },
	{ "{\"cmd\":\"publish\",\"objects\":[\"-----BEGIN CAPTUN USER TOKEN-----\"]}",
	  true, CAPD_VERB_PUBLISH, NULL },
	/* malformed */
	{ "", false, 0, "malformed" },
	{ "{", false, 0, "malformed" },
	{ "not json", false, 0, "malformed" },
	{ "[\"cmd\",\"status\"]", false, 0, "malformed" },
	{ "\"status\"", false, 0, "malformed" },
	{ "{\"cmd\":\"status\"}{\"cmd\":\"status\"}", false, 0, "malformed" },
	{ "{\"cmd\":\"status\",\"cmd\":\"list\"}", false, 0, "malformed" },
	{ "{\"cmd\":\"status\"", false, 0, "malformed" },
	{ "{\"cmd\":\"st\xff\"}", false, 0, "malformed" },
	/* cmd */
	{ "{}", false, 0, "missing \"cmd\"" },
	{ "{\"cmd\":7}", false, 0, "missing \"cmd\"" },
	{ "{\"cmd\":null}", false, 0, "missing \"cmd\"" },
	{ "{\"cmd\":\"status\\u0000x\"}", false, 0, "malformed" },
	{ "{\"cmd\":\"reboot\"}", false, 0, "unknown cmd \"reboot\"" },
	{ "{\"cmd\":\"STATUS\"}", false, 0, "unknown cmd" },
	{ "{\"cmd\":\"bad\\nname\"}", false, 0, "unknown cmd \"?\"" },
	/* open: missing fields */
	{ "{\"cmd\":\"open\",\"service\":\"sshd\",\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"pid\":42}", false, 0, "\"service\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\"}", false, 0, "\"pid\"" },
	/* open: wrong types */
	{ "{\"cmd\":\"open\",\"user\":7,\"service\":\"sshd\",\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":[],"
	  "\"pid\":42}", false, 0, "\"service\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"tty\":3,"
	  "\"pid\":42}", false, 0, "\"tty\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"rhost\":{},"
	  "\"pid\":42}", false, 0, "\"rhost\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":\"42\"}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":42.0}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":true}", false, 0, "\"pid\"" },
	/* open: values */
	{ "{\"cmd\":\"open\",\"user\":\"\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"../../etc/x\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"..\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"a b\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"a\\nb\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"a\\u0000b\",\"service\":\"sshd\","
	  "\"pid\":42}", false, 0, "malformed" },
	{ "{\"cmd\":\"open\","
	  "\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	  "\"service\":\"sshd\",\"pid\":42}",
	  false, 0, "\"user\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"ss\\u001bhd\","
	  "\"pid\":42}", false, 0, "\"service\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"tty\":\"a\\tb\","
	  "\"pid\":42}", false, 0, "\"tty\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":0}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":-1}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":4194305}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
	  "\"pid\":99999999999999999999}", false, 0, "malformed" },
	/* close */
	{ "{\"cmd\":\"close\"}", false, 0, "say which session" },
	{ "{\"cmd\":\"close\",\"session\":1,\"pid\":2}", false, 0, "not both" },
	{ "{\"cmd\":\"close\",\"session\":\"1\"}", false, 0, "\"session\"" },
	{ "{\"cmd\":\"close\",\"session\":0}", false, 0, "\"session\"" },
	{ "{\"cmd\":\"close\",\"session\":-5}", false, 0, "\"session\"" },
	{ "{\"cmd\":\"close\",\"pid\":null}", false, 0, "\"pid\"" },
	{ "{\"cmd\":\"close\",\"pid\":0}", false, 0, "\"pid\"" },
	/* publish */
	{ "{\"cmd\":\"publish\"}", false, 0, "\"objects\"" },
	{ "{\"cmd\":\"publish\",\"objects\":[]}", false, 0, "\"objects\"" },
	{ "{\"cmd\":\"publish\",\"objects\":\"x\"}", false, 0, "\"objects\"" },
	{ "{\"cmd\":\"publish\",\"objects\":[\"a\",7]}", false, 0, "objects[1]" },
	{ "{\"cmd\":\"publish\",\"objects\":[\"\"]}", false, 0, "objects[0]" },
};

START_TEST(test_parse)
{
	const struct req_case *c = &req_cases[_i];
	struct capd_request r;
	char err[512] = "";
	bool ok = capd_request_parse(c->line, strlen(c->line), &r, err, sizeof(err));

	ck_assert_msg(ok == c->ok, "'%s': parse %d, want %d (%s)", c->line, ok, c->ok, err);
	if (!ok) {
		ck_assert_ptr_null(r.root);
		ck_assert_msg(strstr(err, c->err_has), "'%s': error '%s' lacks '%s'", c->line,
			      err, c->err_has);
		return;
	}
	ck_assert_int_eq(r.verb, c->verb);
	switch (r.verb) {
	case CAPD_VERB_OPEN:
		ck_assert_str_eq(r.user, "alice");
		ck_assert_ptr_nonnull(r.service);
		ck_assert_ptr_nonnull(r.tty);
		ck_assert_ptr_nonnull(r.rhost);
		ck_assert_int_gt(r.pid, 0);
		break;
	case CAPD_VERB_CLOSE:
		ck_assert(r.session > 0 || r.pid > 0);
		break;
	case CAPD_VERB_PUBLISH:
		ck_assert_uint_eq(json_array_size(r.objects), 1);
		break;
	default:
		break;
	}
	capd_request_free(&r);
	ck_assert_ptr_null(r.root);
}
END_TEST

START_TEST(test_open_fields)
{
	const char *line = "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\","
			   "\"tty\":\"pts/1\",\"rhost\":\"192.0.2.1\",\"pid\":42}";
	struct capd_request r;
	char err[256];

	ck_assert(capd_request_parse(line, strlen(line), &r, err, sizeof(err)));
	ck_assert_str_eq(r.service, "sshd");
	ck_assert_str_eq(r.tty, "pts/1");
	ck_assert_str_eq(r.rhost, "192.0.2.1");
	ck_assert_int_eq(r.pid, 42);
	capd_request_free(&r);
	line = "{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"tty\":null,\"pid\":42}";
	ck_assert(capd_request_parse(line, strlen(line), &r, err, sizeof(err)));
	ck_assert_str_eq(r.tty, "");
	ck_assert_str_eq(r.rhost, "");
	capd_request_free(&r);
	line = "{\"cmd\":\"close\",\"session\":9007199254740993}";
	ck_assert(capd_request_parse(line, strlen(line), &r, err, sizeof(err)));
	ck_assert_uint_eq(r.session, 9007199254740993ULL);
	ck_assert_int_eq(r.pid, 0);
	capd_request_free(&r);
}
END_TEST

START_TEST(test_root_verbs)
{
	static const struct {
		enum capd_verb verb;
		bool root;
		const char *name;
	} v[] = {
		{ CAPD_VERB_OPEN, true, "open" },
		{ CAPD_VERB_CLOSE, true, "close" },
		{ CAPD_VERB_PUBLISH, true, "publish" },
		{ CAPD_VERB_LIST, false, "list" },
		{ CAPD_VERB_STATUS, false, "status" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert(capd_verb_is_root(v[i].verb) == v[i].root);
		ck_assert_str_eq(capd_verb_name(v[i].verb), v[i].name);
	}
}
END_TEST

/* A non-root peer is refused before anything is looked at. */
START_TEST(test_non_root_refused)
{
	static const char *const lines[] = {
		"{\"cmd\":\"open\",\"user\":\"alice\",\"service\":\"sshd\",\"pid\":1}",
		"{\"cmd\":\"close\",\"session\":1}",
		"{\"cmd\":\"publish\",\"objects\":[\"x\"]}",
	};
	struct capd d;

	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct capd_request r;
		char err[256];
		json_t *ans;

		ck_assert(capd_request_parse(lines[i], strlen(lines[i]), &r, err, sizeof(err)));
		ans = capd_verbs_answer(&d, &r, 65534);
		ck_assert(json_is_false(json_object_get(ans, "ok")));
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ans, "error")),
					     "permission denied"));
		json_decref(ans);
		capd_request_free(&r);
	}
}
END_TEST

START_TEST(test_error_stays_json)
{
	json_t *e = capd_error("bad %s", "\xff\xfe\n\"x\"");
	const char *text = json_string_value(json_object_get(e, "error"));

	ck_assert_ptr_nonnull(e);
	ck_assert(json_is_false(json_object_get(e, "ok")));
	ck_assert_str_eq(text, "bad ???\"x\"");
	json_decref(e);
}
END_TEST

struct name_case {
	const char *name;
	bool ok;
};

static const struct name_case name_cases[] = {
	{ "alice", true }, { "A", true }, { "first.last", true }, { "x@corp", true },
	{ "-dash", true }, { "", false }, { ".", false }, { "..", false },
	{ "a/b", false }, { "a b", false }, { "tab\t", false }, { "del\x7f", false },
};

START_TEST(test_user_names)
{
	const struct name_case *c = &name_cases[_i];

	ck_assert_msg(capd_user_name_ok(c->name) == c->ok, "'%s'", c->name);
}
END_TEST

Suite *suite_capd_request(void)
{
	Suite *s = suite_create("capd_request");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(req_cases) / sizeof(req_cases[0]));
	tcase_add_test(tc, test_open_fields);
	tcase_add_loop_test(tc, test_user_names, 0, sizeof(name_cases) / sizeof(name_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("answer");
	tcase_add_test(tc, test_root_verbs);
	tcase_add_test(tc, test_non_root_refused);
	tcase_add_test(tc, test_error_stays_json);
	suite_add_tcase(s, tc);
	return s;
}
