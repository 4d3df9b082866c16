/*
 * tests/unit/check_capd_audit.c - capd's hash-chained audit log: lines
 * chain from 64 zeros, a flipped byte anywhere (with the head hash capd
 * keeps) breaks the chain, and so do a removed, swapped or dropped line;
 * capd resumes the chain across restarts, also after a crash cut the last
 * line short.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "capd.h"
#include "suites.h"

enum {
	LINES = 6,
};

/* Writes LINES events to a fresh log in dir; returns its path. */
static char *log_make(const char *dir, uint8_t head[CAPD_HASH_LEN])
{
	char *path = test_path(dir, "audit.log");
	struct capd_audit a = { .fd = -1 };

	ck_assert_int_eq(capd_audit_open(&a, path), 0);
	for (int i = 0; i < LINES; i++)
		ck_assert_int_eq(capd_audit_append(&a, i % 2 ? "session_close" : "session_open",
				 json_pack("{s:i, s:s, s:s}", "session", i, "user",
					   i % 3 ? "A" : "B", "note", "caf\xc3\xa9 \"q\"")), 0);
	memcpy(head, a.prev, CAPD_HASH_LEN);
	capd_audit_close(&a);
	return path;
}

START_TEST(test_hash_is_blake2b_256)
{
	static const char want[] =
		"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
	uint8_t h[CAPD_HASH_LEN];
	char hex[2 * CAPD_HASH_LEN + 1];

	capd_audit_hash("abc", 3, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	ck_assert_str_eq(hex, want);
}
END_TEST

START_TEST(test_chain_valid)
{
	char *dir = test_tmpdir(), *path, *text;
	uint8_t head[CAPD_HASH_LEN], last[CAPD_HASH_LEN];
	size_t len = 0, bad = 99;
	const char *nl;

	path = log_make(dir, head);
	text = test_read_file(path, &len);
	ck_assert(capd_audit_verify(text, len, head, &bad));
	ck_assert_uint_eq(bad, 0);
	ck_assert(capd_audit_verify(text, len, NULL, &bad));
	ck_assert_ptr_nonnull(strstr(text, "\"prev\":\"00000000000000000000000000000000"
				     "00000000000000000000000000000000\"}\n"));
	ck_assert(strncmp(text, "{\"time\":\"", 9) == 0);
	ck_assert_ptr_nonnull(strstr(text, "\"event\":\"session_open\""));
	/* the head is the hash of the last line, without its newline */
	nl = text + len - 1;
	while (nl > text && nl[-1] != '\n')
		nl--;
	capd_audit_hash(nl, (size_t)(text + len - 1 - nl), last);
	ck_assert_mem_eq(last, head, CAPD_HASH_LEN);
	ck_assert(capd_audit_verify("", 0, NULL, &bad));
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

/* Every byte of the file, flipped one at a time. */
START_TEST(test_every_flip_breaks)
{
	char *dir = test_tmpdir(), *path, *text;
	uint8_t head[CAPD_HASH_LEN];
	size_t len = 0, bad = 0, last_start;

	path = log_make(dir, head);
	text = test_read_file(path, &len);
	last_start = len - 1;
	while (last_start > 0 && text[last_start - 1] != '\n')
		last_start--;
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			text[i] ^= (char)(1 << bit);
			ck_assert_msg(!capd_audit_verify(text, len, head, &bad),
				      "flip of bit %d at byte %zu went unnoticed", bit, i);
			ck_assert_uint_ge(bad, 1);
			if (i < last_start)
				ck_assert_msg(!capd_audit_verify(text, len, NULL, &bad),
					      "flip at byte %zu unnoticed by the chain", i);
			text[i] ^= (char)(1 << bit);
		}
	}
	ck_assert(capd_audit_verify(text, len, head, &bad));
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

enum edit_kind {
	EDIT_DROP_FIRST,
	EDIT_DROP_MIDDLE,
	EDIT_DROP_LAST,
	EDIT_SWAP,
	EDIT_DUPLICATE,
	EDIT_BLANK_LINE,
};

struct edit_case {
	const char *what;
	enum edit_kind kind;
	bool chain_alone_sees;	/* without the head */
};

static const struct edit_case edit_cases[] = {
	{ "first line removed", EDIT_DROP_FIRST, true },
	{ "a middle line removed", EDIT_DROP_MIDDLE, true },
	{ "last line removed", EDIT_DROP_LAST, false },
	{ "two lines swapped", EDIT_SWAP, true },
	{ "a line repeated", EDIT_DUPLICATE, true },
	{ "a blank line inserted", EDIT_BLANK_LINE, true },
};

START_TEST(test_line_edits_break)
{
	const struct edit_case *c = &edit_cases[_i];
	char *dir = test_tmpdir(), *path, *text, *out, *lines[LINES], *save;
	uint8_t head[CAPD_HASH_LEN];
	size_t len = 0, n = 0, bad = 0, olen = 0;

	path = log_make(dir, head);
	text = test_read_file(path, &len);
	out = calloc(1, 2 * len + 8);
	ck_assert_ptr_nonnull(out);
	for (char *l = strtok_r(text, "\n", &save); l && n < LINES; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	ck_assert_uint_eq(n, LINES);
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];

		if ((c->kind == EDIT_DROP_FIRST && i == 0) ||
		    (c->kind == EDIT_DROP_MIDDLE && i == 2) ||
		    (c->kind == EDIT_DROP_LAST && i == n - 1))
			continue;
		if (c->kind == EDIT_SWAP && (i == 1 || i == 2))
			l = lines[i == 1 ? 2 : 1];
		olen += (size_t)sprintf(out + olen, "%s\n", l);
		if ((c->kind == EDIT_DUPLICATE && i == 3))
			olen += (size_t)sprintf(out + olen, "%s\n", l);
		if (c->kind == EDIT_BLANK_LINE && i == 3)
			olen += (size_t)sprintf(out + olen, "\n");
	}
	ck_assert_msg(!capd_audit_verify(out, olen, head, &bad), "%s unnoticed", c->what);
	ck_assert_msg(capd_audit_verify(out, olen, NULL, &bad) == !c->chain_alone_sees,
		      "%s: chain alone", c->what);
	free(out);
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_resume)
{
	char *dir = test_tmpdir(), *path, *text;
	uint8_t head[CAPD_HASH_LEN];
	struct capd_audit a = { .fd = -1 };
	size_t len = 0, bad = 0;

	path = log_make(dir, head);
	ck_assert_int_eq(capd_audit_open(&a, path), 0);
	ck_assert_mem_eq(a.prev, head, CAPD_HASH_LEN);
	ck_assert_int_eq(capd_audit_append(&a, "capability", NULL), 0);
	capd_audit_close(&a);
	text = test_read_file(path, &len);
	ck_assert(capd_audit_verify(text, len, NULL, &bad));
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

/* A crash cut the last line: closed, chained to as it is, and it shows. */
START_TEST(test_resume_after_cut)
{
	char *dir = test_tmpdir(), *path, *text;
	uint8_t head[CAPD_HASH_LEN], want[CAPD_HASH_LEN];
	struct capd_audit a = { .fd = -1 };
	size_t len = 0, bad = 0, cut, start;

	path = log_make(dir, head);
	text = test_read_file(path, &len);
	cut = len - 20;
	ck_assert_int_eq(truncate(path, (off_t)cut), 0);
	start = cut;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	capd_audit_hash(text + start, cut - start, want);
	free(text);

	ck_assert_int_eq(capd_audit_open(&a, path), 0);
	ck_assert_mem_eq(a.prev, want, CAPD_HASH_LEN);
	ck_assert_int_eq(capd_audit_append(&a, "capability", NULL), 0);
	capd_audit_close(&a);
	text = test_read_file(path, &len);
	ck_assert(!capd_audit_verify(text, len, NULL, &bad));
	ck_assert_uint_eq(bad, LINES);	/* the cut line itself */
	ck_assert_int_eq(text[cut], '\n');
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_open_refuses_non_file)
{
	char *dir = test_tmpdir();
	struct capd_audit a = { .fd = -1 };

	ck_assert_int_lt(capd_audit_open(&a, dir), 0);
	ck_assert_int_eq(a.fd, -1);
	ck_assert_int_eq(capd_audit_append(&a, "x", NULL), -EBADF);
	test_rmtree(dir);
}
END_TEST

Suite *suite_capd_audit(void)
{
	Suite *s = suite_create("capd_audit");
	TCase *tc = tcase_create("chain");

	tcase_add_test(tc, test_hash_is_blake2b_256);
	tcase_add_test(tc, test_chain_valid);
	tcase_add_test(tc, test_every_flip_breaks);
	tcase_add_loop_test(tc, test_line_edits_break, 0,
			    sizeof(edit_cases) / sizeof(edit_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("resume");
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_resume_after_cut);
	tcase_add_test(tc, test_open_refuses_non_file);
	suite_add_tcase(s, tc);
	return s;
}
