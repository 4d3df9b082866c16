/*
 * tests/unit/check_armor.c - policy/armor.h: encode/decode round trips, the
 * text layout, and every way a block can be wrong.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "suites.h"

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 37u + seed * 101u + (i >> 8));
}

/* ---- round trips ------------------------------------------------------ */

static const size_t roundtrip_lens[] = { 0, 1, 2, 3, 32, 47, 48, 49, 255, 1000, 4096 };

START_TEST(test_roundtrip)
{
	const size_t len = roundtrip_lens[_i];
	const char *label = "TEST OBJECT";
	const char *begin = "-----BEGIN CAPTUN TEST OBJECT-----\n";
	const char *end = "-----END CAPTUN TEST OBJECT-----\n";
	uint8_t *bin = malloc(len + 1), *out = malloc(len + 1);
	char found[ARMOR_LABEL_MAX + 1];
	char *txt = NULL, *line, *body;
	size_t tlen = 0, outlen = 12345;
	int rc;

	ck_assert_ptr_nonnull(bin);
	ck_assert_ptr_nonnull(out);
	fill_pattern(bin, len, (unsigned)_i);
	rc = armor_encode(label, bin, len, &txt, &tlen);
	if (len == 0 && rc != 0) {
		/* An empty object may be refused, but only with an error. */
		ck_assert_int_lt(rc, 0);
		goto done;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(txt);
	ck_assert_uint_eq(tlen, strlen(txt));

	/* Layout: BEGIN line, base64 lines of at most 64 columns, END line. */
	if (len == 0)
		ck_assert_uint_eq(tlen, strlen(begin) + strlen(end));
	else
		ck_assert_uint_gt(tlen, strlen(begin) + strlen(end));
	ck_assert_int_eq(strncmp(txt, begin, strlen(begin)), 0);
	ck_assert_str_eq(txt + tlen - strlen(end), end);
	body = txt + strlen(begin);
	for (line = body; line < txt + tlen - strlen(end);) {
		char *nl = strchr(line, '\n');
		size_t n;

		ck_assert_ptr_nonnull(nl);
		n = (size_t)(nl - line);
		ck_assert_uint_le(n, 64);
		ck_assert_uint_gt(n, 0);
		/* Every line but the last is full. */
		if (nl + 1 < txt + tlen - strlen(end))
			ck_assert_uint_eq(n, 64);
		line = nl + 1;
	}
	/* Total base64 characters: 4 per 3 bytes, padded. */
	{
		size_t chars = 0;
		const char *p;

		for (p = body; p < txt + tlen - strlen(end); p++)
			if (*p != '\n')
				chars++;
		ck_assert_uint_eq(chars, (len + 2) / 3 * 4);
	}

	/* Exact label, any label, and the found label. */
	memset(found, 'x', sizeof(found));
	ck_assert(armor_decode(txt, tlen, label, found, out, len, &outlen));
	ck_assert_uint_eq(outlen, len);
	if (len)
		ck_assert_mem_eq(out, bin, len);
	ck_assert_str_eq(found, label);

	memset(out, 0, len + 1);
	outlen = 12345;
	ck_assert(armor_decode(txt, tlen, NULL, NULL, out, len, &outlen));
	ck_assert_uint_eq(outlen, len);
	if (len)
		ck_assert_mem_eq(out, bin, len);

	/* One byte too little room: refused. */
	if (len > 0)
		ck_assert(!armor_decode(txt, tlen, label, NULL, out, len - 1, &outlen));
	free(txt);
done:
	free(bin);
	free(out);
}
END_TEST

START_TEST(test_found_label)
{
	static const char *const labels[] = {
		"REVOCATION LIST", "HOST TOKEN", "USER TOKEN", "X",
		/* exactly ARMOR_LABEL_MAX characters */
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ ABCDEFGHIJKLMNOPQRSTU",
	};
	uint8_t bin[40], out[40];
	char found[ARMOR_LABEL_MAX + 1];
	size_t i, outlen;

	ck_assert_uint_eq(strlen(labels[4]), ARMOR_LABEL_MAX);
	fill_pattern(bin, sizeof(bin), 3);
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		char *txt = NULL;
		size_t tlen;

		ck_assert_int_eq(armor_encode(labels[i], bin, sizeof(bin), &txt, &tlen), 0);
		memset(found, 'x', sizeof(found));
		ck_assert(armor_decode(txt, tlen, NULL, found, out, sizeof(out), &outlen));
		ck_assert_str_eq(found, labels[i]);
		ck_assert_uint_eq(outlen, sizeof(bin));
		ck_assert_mem_eq(out, bin, sizeof(bin));
		free(txt);
	}
}
END_TEST

/* ---- rejected and accepted variants of one good block ----------------- */

enum mutation {
	MUT_NONE,
	MUT_BAD_CHAR_FIRST,	/* first base64 char -> '!' */
	MUT_BAD_CHAR_MID,	/* a middle base64 char -> '*' */
	MUT_HIGH_BYTE_MID,	/* a middle base64 char -> 0x80 (libsodium reads '/') */
	MUT_PAD_MID,		/* a middle base64 char -> '=' */
	MUT_DROP_CHAR,		/* one base64 char removed */
	MUT_CUT_END,		/* END line removed */
	MUT_LEN_BEFORE_END,	/* len stops before END (text still has it) */
	MUT_END_OTHER_LABEL,	/* END line carries another label */
	MUT_NO_BEGIN,		/* BEGIN line removed */
	MUT_BEGIN_4_DASHES,	/* malformed BEGIN line */
	MUT_EMPTY,		/* no text at all */
	MUT_TWICE,		/* the block twice */
};

struct armor_case {
	const char *what;
	const char *prefix, *suffix;
	enum mutation mut;
	const char *want_label;	/* passed to decode */
	bool ok;
};

static const struct armor_case armor_cases[] = {
	{ "plain", "", "", MUT_NONE, "HOST TOKEN", true },
	{ "any label", "", "", MUT_NONE, NULL, true },
	{ "whitespace around", "\n \t\n", "\n\n  \t\n", MUT_NONE, "HOST TOKEN", true },
	{ "wrong label", "", "", MUT_NONE, "USER TOKEN", false },
	{ "label prefix only", "", "", MUT_NONE, "HOST", false },
	{ "longer label", "", "", MUT_NONE, "HOST TOKENS", false },
	{ "lower-case label", "", "", MUT_NONE, "host token", false },
	{ "bad char first", "", "", MUT_BAD_CHAR_FIRST, NULL, false },
	{ "bad char middle", "", "", MUT_BAD_CHAR_MID, NULL, false },
	{ "high byte middle", "", "", MUT_HIGH_BYTE_MID, NULL, false },
	{ "padding in the middle", "", "", MUT_PAD_MID, NULL, false },
	{ "one char dropped", "", "", MUT_DROP_CHAR, NULL, false },
	{ "missing END", "", "", MUT_CUT_END, NULL, false },
	{ "len before END", "", "", MUT_LEN_BEFORE_END, NULL, false },
	{ "END of another label", "", "", MUT_END_OTHER_LABEL, NULL, false },
	{ "missing BEGIN", "", "", MUT_NO_BEGIN, NULL, false },
	{ "BEGIN with 4 dashes", "", "", MUT_BEGIN_4_DASHES, NULL, false },
	{ "empty", "", "", MUT_EMPTY, NULL, false },
	{ "garbage before", "garbage\n", "", MUT_NONE, "HOST TOKEN", false },
	{ "garbage before, same line", "x", "", MUT_NONE, "HOST TOKEN", false },
	{ "garbage after", "", "garbage\n", MUT_NONE, "HOST TOKEN", false },
	{ "garbage after, no newline", "", "x", MUT_NONE, "HOST TOKEN", false },
	{ "newline after", "", "\n", MUT_NONE, "HOST TOKEN", true },
	{ "second block after", "", "", MUT_TWICE, NULL, false },
};

static char *replace_first(const char *txt, const char *from, const char *to)
{
	const char *at = strstr(txt, from);
	char *res = NULL;

	ck_assert_ptr_nonnull(at);
	ck_assert_int_ge(asprintf(&res, "%.*s%s%s", (int)(at - txt), txt, to,
				  at + strlen(from)), 0);
	return res;
}

START_TEST(test_armor_case)
{
	const struct armor_case *c = &armor_cases[_i];
	uint8_t bin[100], out[200];
	char *txt = NULL, *mut = NULL, *full = NULL;
	size_t tlen, len, outlen;
	char *body;
	bool ok;

	fill_pattern(bin, sizeof(bin), 7);
	ck_assert_int_eq(armor_encode("HOST TOKEN", bin, sizeof(bin), &txt, &tlen), 0);
	body = strchr(txt, '\n') + 1;
	mut = strdup(txt);
	ck_assert_ptr_nonnull(mut);
	len = strlen(mut);
	switch (c->mut) {
	case MUT_NONE:
		break;
	case MUT_BAD_CHAR_FIRST:
		mut[body - txt] = '!';
		break;
	case MUT_BAD_CHAR_MID:
		mut[body - txt + 30] = '*';
		break;
	case MUT_HIGH_BYTE_MID:
		mut[body - txt + 30] = (char)0x80;
		break;
	case MUT_PAD_MID:
		mut[body - txt + 30] = '=';
		break;
	case MUT_DROP_CHAR:
		memmove(mut + (body - txt) + 10, mut + (body - txt) + 11,
			len - (size_t)(body - txt) - 10);
		break;
	case MUT_CUT_END:
		*strstr(mut, "-----END") = '\0';
		break;
	case MUT_LEN_BEFORE_END:
		len = (size_t)(strstr(mut, "-----END") - mut);
		break;
	case MUT_END_OTHER_LABEL:
		free(mut);
		mut = replace_first(txt, "END CAPTUN HOST TOKEN", "END CAPTUN USER TOKEN");
		break;
	case MUT_NO_BEGIN:
		free(mut);
		mut = strdup(body);
		break;
	case MUT_BEGIN_4_DASHES:
		free(mut);
		mut = replace_first(txt, "-----BEGIN CAPTUN HOST TOKEN-----",
				    "-----BEGIN CAPTUN HOST TOKEN----");
		break;
	case MUT_EMPTY:
		mut[0] = '\0';
		break;
	case MUT_TWICE:
		free(mut);
		ck_assert_int_ge(asprintf(&mut, "%s%s", txt, txt), 0);
		break;
	}
	ck_assert_int_ge(asprintf(&full, "%s%s%s", c->prefix, mut, c->suffix), 0);
	if (c->mut != MUT_LEN_BEFORE_END)
		len = strlen(full);
	else
		len += strlen(c->prefix);

	outlen = 0;
	ok = armor_decode(full, len, c->want_label, NULL, out, sizeof(out), &outlen);
	ck_assert_msg(ok == c->ok, "%s: decode returned %d, want %d", c->what, ok, c->ok);
	if (ok) {
		ck_assert_uint_eq(outlen, sizeof(bin));
		ck_assert_mem_eq(out, bin, sizeof(bin));
	}
	free(full);
	free(mut);
	free(txt);
}
END_TEST

START_TEST(test_decode_uses_len_not_nul)
{
	/* The text handed in is not NUL-terminated: decode must stop at len. */
	uint8_t bin[33], out[64];
	char *txt = NULL, *copy;
	size_t tlen, outlen;

	fill_pattern(bin, sizeof(bin), 9);
	ck_assert_int_eq(armor_encode("USER TOKEN", bin, sizeof(bin), &txt, &tlen), 0);
	copy = malloc(tlen);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, txt, tlen);	/* no NUL: ASan flags any over-read */
	ck_assert(armor_decode(copy, tlen, "USER TOKEN", NULL, out, sizeof(out), &outlen));
	ck_assert_uint_eq(outlen, sizeof(bin));
	ck_assert_mem_eq(out, bin, sizeof(bin));
	free(copy);
	free(txt);
}
END_TEST

Suite *suite_armor(void)
{
	Suite *s = suite_create("armor");
	TCase *tc = tcase_create("armor");

	tcase_add_loop_test(tc, test_roundtrip, 0,
			    sizeof(roundtrip_lens) / sizeof(roundtrip_lens[0]));
	tcase_add_test(tc, test_found_label);
	tcase_add_loop_test(tc, test_armor_case, 0,
			    sizeof(armor_cases) / sizeof(armor_cases[0]));
	tcase_add_test(tc, test_decode_uses_len_not_nul);
	suite_add_tcase(s, tc);
	return s;
}
