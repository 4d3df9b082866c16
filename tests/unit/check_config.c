/*
 * tests/unit/check_config.c - common/config.c (captun.conf and the command
 * line built from it) and common/breakglass.c (who always gets in).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "breakglass.h"
#include "config.h"
#include "suites.h"

static const struct option opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "port", required_argument, NULL, 'p' },
	{ "strict", no_argument, NULL, 's' },
	{ "route", required_argument, NULL, 'r' },
	{ "config", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 },
};

static const struct parse_case {
	const char *text;
	int ret;		/* of config_argv_build */
	const char *words;	/* the built command line, after argv[0] */
	const char *err;	/* a part of the error */
} parse_cases[] = {
	{ "", 0, "", NULL },
	{ "# only a comment\n\n; another\n", 0, "", NULL },
	{ "dir = /var/lib/x\n", 0, "--dir=/var/lib/x", NULL },
	{ "[capshim]\nport = 51900\nstrict = yes\n", 0, "--port=51900 --strict", NULL },
	{ "[capshim]\nstrict = no\n", 0, "", NULL },
	{ "[capshim]\nstrict = maybe\n", -EINVAL, NULL, ":2: 'strict' is a flag" },
	{ "[capshim]\nroute = 10.0.0.0/8\nroute = fd00::/8\n", 0,
	  "--route=10.0.0.0/8 --route=fd00::/8", NULL },
	{ "[capd]\non-invalid = isolate\n[capshim]\nport = 1\n", 0, "--port=1", NULL },
	{ "[capshim]\nprot = 1\n", -EINVAL, NULL, "[capshim] has no key 'prot'" },
	{ "port = 1\n", -EINVAL, NULL, ":1: 'port' belongs in a section" },
	{ "[nosuch]\n", -EINVAL, NULL, "unknown section '[nosuch]'" },
	{ "[capshim\n", -EINVAL, NULL, "a section is '[name]'" },
	{ "[capshim]\njust words\n", -EINVAL, NULL, "expected 'key = value'" },
	{ "[capshim]\nPort = 1\n", -EINVAL, NULL, "is not a key" },
	{ "[capshim]\nport =\n", -EINVAL, NULL, "'port' needs a value" },
	{ "[capshim]\nhelp = yes\n", -EINVAL, NULL, "cannot be set in the file" },
	{ "[capshim]\ndir = \"/a b\"\n", 0, "--dir=/a b", NULL },
	{ "[capshim]\ndir = /a\"b\n", -EINVAL, NULL, "quoted whole" },
	{ "  [ capshim ]  \n\tport=7\r\n", 0, "--port=7", NULL },
};

START_TEST(test_config_argv)
{
	const struct parse_case *c = &parse_cases[_i];
	char *dir = test_tmpdir(), *path = test_path(dir, "captun.conf");
	char *argv[] = { "capshim", "--config", path, "--port", "9", NULL };
	char err[CONFIG_ERR_MAX] = "", words[512] = "";
	char **nargv = NULL;
	int nargc = 0, ret;

	test_write_file(path, c->text, strlen(c->text), 0644);
	ret = config_argv_build("capshim", opts, 5, argv, &nargc, &nargv, err, sizeof(err));
	ck_assert_msg(ret == c->ret, "case %d: %d, want %d (%s)", _i, ret, c->ret, err);
	if (ret == 0) {
		/* argv[0], the file's words, then the command line's four */
		ck_assert_str_eq(nargv[0], "capshim");
		for (int i = 1; i < nargc - 4; i++) {
			strcat(words, i > 1 ? " " : "");
			strcat(words, nargv[i]);
		}
		ck_assert_msg(strcmp(words, c->words) == 0, "case %d: '%s', want '%s'", _i,
			      words, c->words);
		ck_assert_str_eq(nargv[nargc - 1], "9");
		ck_assert_ptr_null(nargv[nargc]);
	} else {
		ck_assert_msg(strstr(err, c->err) != NULL, "case %d: '%s' lacks '%s'", _i,
			      err, c->err);
	}
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_config_missing)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "none.conf");
	char *explicit_argv[] = { "capd", "--config", path, NULL };
	char *default_argv[] = { "capd", "--config=/dev/null", NULL };
	char err[CONFIG_ERR_MAX];
	char **nargv;
	int nargc;

	/* A file named on the command line must be there; /dev/null is empty. */
	ck_assert_int_eq(config_argv_build("capd", opts, 3, explicit_argv, &nargc, &nargv,
					   err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(config_argv_build("capd", opts, 2, default_argv, &nargc, &nargv,
					   err, sizeof(err)), 0);
	ck_assert_int_eq(nargc, 2);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_config_values)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "c.conf");
	static const char text[] = "dir = /g\n[capshim]\nifname = wg7\n[capd]\ndir = /d\n";
	char out[108];

	test_write_file(path, text, strlen(text), 0644);
	ck_assert(config_value(path, "capd", "dir", out, sizeof(out)));
	ck_assert_str_eq(out, "/d");
	ck_assert(config_value(path, "capshim", "dir", out, sizeof(out)));
	ck_assert_str_eq(out, "/g");
	ck_assert(!config_value(path, "capd", "ifname", out, sizeof(out)));
	config_shim_control(path, out, sizeof(out));
	ck_assert_str_eq(out, "/run/captun/wg7.sock");
	config_shim_control("/nonexistent/captun.conf", out, sizeof(out));
	ck_assert_str_eq(out, "/run/captun/captun0.sock");
	free(path);
	test_rmtree(dir);
}
END_TEST

static const struct bg_case {
	const char *users, *groups, *user;
	bool match;
} bg_cases[] = {
	{ NULL, NULL, "root", true },			/* the default */
	{ "alice", "none", "root", true },		/* root stays, whatever the list */
	{ "alice,bob", "none", "bob", true },
	{ "alice bob", "none", "bob", true },
	{ "alice", "none", "carol", false },
	{ "none", "none", "root", false },		/* only said outright */
	{ "root;rm -rf", NULL, "root", true },		/* invalid list: its default */
	{ "none", "root", "root", true },		/* root's primary group */
	{ "none", "nosuchgroup-x", "root", false },
	{ NULL, NULL, "", false },
	{ NULL, NULL, "nosuchuser-x", false },
};

START_TEST(test_breakglass_match)
{
	const struct bg_case *c = &bg_cases[_i];
	char why[96] = "";

	ck_assert_msg(breakglass_match(c->users, c->groups, c->user, why, sizeof(why)) ==
		      c->match, "case %d", _i);
	if (c->match)
		ck_assert(why[0]);
}
END_TEST

START_TEST(test_breakglass_list_ok)
{
	ck_assert(breakglass_list_ok("none"));
	ck_assert(breakglass_list_ok("root, admin.ops wheel"));
	ck_assert(breakglass_list_ok(""));
	ck_assert(!breakglass_list_ok("root;x"));
	ck_assert(!breakglass_list_ok("a/b"));
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_loop_test(tc, test_config_argv, 0,
			    (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
	tcase_add_test(tc, test_config_missing);
	tcase_add_test(tc, test_config_values);
	tcase_add_loop_test(tc, test_breakglass_match, 0,
			    (int)(sizeof(bg_cases) / sizeof(bg_cases[0])));
	tcase_add_test(tc, test_breakglass_list_ok);
	suite_add_tcase(s, tc);
	return s;
}
