/*
 * tests/unit/check_mask.c - policy/mask.h: bit operations, set operations,
 * the canonical binary encoding and the human text form.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "mask.h"
#include "suites.h"

/* ---- single bits ---------------------------------------------------- */

struct bit_case {
	unsigned bit;
	bool in_range;
};

static const struct bit_case bit_cases[] = {
	{ 0, true },    { 1, true },     { 63, true },   { 64, true },
	{ 65, true },   { 127, true },   { 128, true },  { 511, true },
	{ 512, true },  { 1022, true },  { 1023, true }, { 1024, false },
	{ 1025, false }, { 4096, false }, { 65535, false }, { UINT_MAX, false },
};

START_TEST(test_bit_set_test_clear)
{
	const struct bit_case *c = &bit_cases[_i];
	struct mask m, full;
	unsigned w;

	mask_clear(&m);
	ck_assert(mask_is_empty(&m));
	mask_bit_set(&m, c->bit);
	ck_assert_int_eq(mask_bit_test(&m, c->bit), c->in_range);
	ck_assert_uint_eq(mask_count(&m), c->in_range ? 1 : 0);
	ck_assert_int_eq(mask_is_empty(&m), !c->in_range);
	for (w = 0; w < MASK_WORDS; w++) {
		uint64_t want = 0;

		if (c->in_range && w == c->bit / 64)
			want = UINT64_C(1) << (c->bit % 64);
		ck_assert_uint_eq(m.w[w], want);
	}
	if (c->in_range && c->bit > 0)
		ck_assert(!mask_bit_test(&m, c->bit - 1));
	if (c->in_range && c->bit < MASK_BITS - 1)
		ck_assert(!mask_bit_test(&m, c->bit + 1));
	mask_bit_clear(&m, c->bit);
	ck_assert(mask_is_empty(&m));
	ck_assert(!mask_bit_test(&m, c->bit));

	/* Clearing one bit of a full mask touches that bit only. */
	mask_fill(&full);
	ck_assert_uint_eq(mask_count(&full), MASK_BITS);
	mask_bit_clear(&full, c->bit);
	ck_assert_uint_eq(mask_count(&full), c->in_range ? MASK_BITS - 1 : MASK_BITS);
	ck_assert(!mask_bit_test(&full, c->bit));
	if (c->in_range && c->bit > 0)
		ck_assert(mask_bit_test(&full, c->bit - 1));
	if (c->in_range && c->bit < MASK_BITS - 1)
		ck_assert(mask_bit_test(&full, c->bit + 1));
	mask_bit_set(&full, c->bit);
	ck_assert_uint_eq(mask_count(&full), MASK_BITS);
}
END_TEST

START_TEST(test_clear_fill)
{
	struct mask m;
	unsigned i;

	memset(&m, 0x5a, sizeof(m));
	mask_clear(&m);
	ck_assert(mask_is_empty(&m));
	ck_assert_uint_eq(mask_count(&m), 0);
	for (i = 0; i < MASK_WORDS; i++)
		ck_assert_uint_eq(m.w[i], 0);
	mask_fill(&m);
	ck_assert(!mask_is_empty(&m));
	ck_assert_uint_eq(mask_count(&m), MASK_BITS);
	for (i = 0; i < MASK_WORDS; i++)
		ck_assert_uint_eq(m.w[i], UINT64_MAX);
	for (i = 0; i < MASK_BITS; i++)
		ck_assert(mask_bit_test(&m, i));
	ck_assert(!mask_bit_test(&m, MASK_BITS));
}
END_TEST

/* ---- and / or / equal / count ------------------------------------------ */

struct setop_case {
	int a[8], b[8];
	int and_[8], or_[8];
	bool equal;
};

#define B(...) { __VA_ARGS__, BITS_END }
#define NONE { BITS_END }

static const struct setop_case setop_cases[] = {
	{ NONE, NONE, NONE, NONE, true },
	{ B(0), NONE, NONE, B(0), false },
	{ NONE, B(1023), NONE, B(1023), false },
	{ B(0, 63, 64, 1023), B(63, 64), B(63, 64), B(0, 63, 64, 1023), false },
	{ B(1, 2, 3), B(3, 4, 5), B(3), B(1, 2, 3, 4, 5), false },
	{ B(1023), B(1023), B(1023), B(1023), true },
	{ B(0), B(1023), NONE, B(0, 1023), false },
	{ B(5, 700), B(700, 5), B(5, 700), B(5, 700), true },
	{ B(127, 128), B(128, 129), B(128), B(127, 128, 129), false },
	{ B(2, 3), B(1, 3), B(3), B(1, 2, 3), false },
};

START_TEST(test_set_operations)
{
	const struct setop_case *c = &setop_cases[_i];
	struct mask a, b, want_and, want_or, x, full;

	test_mask_of(&a, c->a);
	test_mask_of(&b, c->b);
	test_mask_of(&want_and, c->and_);
	test_mask_of(&want_or, c->or_);

	ck_assert_uint_eq(mask_count(&a), test_bits_len(c->a));
	ck_assert_uint_eq(mask_count(&b), test_bits_len(c->b));
	ck_assert_int_eq(mask_equal(&a, &b), c->equal);
	ck_assert_int_eq(mask_equal(&b, &a), c->equal);
	ck_assert(mask_equal(&a, &a));

	x = a;
	mask_and(&x, &b);
	ck_assert(mask_equal(&x, &want_and));
	ck_assert_uint_eq(mask_count(&x), test_bits_len(c->and_));
	ck_assert_int_eq(mask_is_empty(&x), test_bits_len(c->and_) == 0);
	x = b;
	mask_and(&x, &a);
	ck_assert(mask_equal(&x, &want_and));

	x = a;
	mask_or(&x, &b);
	ck_assert(mask_equal(&x, &want_or));
	ck_assert_uint_eq(mask_count(&x), test_bits_len(c->or_));
	x = b;
	mask_or(&x, &a);
	ck_assert(mask_equal(&x, &want_or));

	/* The full mask is the identity of AND and absorbs OR. */
	mask_fill(&full);
	x = a;
	mask_and(&x, &full);
	ck_assert(mask_equal(&x, &a));
	x = a;
	mask_or(&x, &full);
	ck_assert(mask_equal(&x, &full));
	/* Masks differing in one bit only are unequal. */
	x = a;
	mask_bit_set(&x, 500);
	ck_assert(!mask_equal(&x, &a));
}
END_TEST

/* ---- canonical encoding ------------------------------------------------ */

struct encode_case {
	int bits[12];
	size_t len;
};

static const struct encode_case encode_cases[] = {
	{ NONE, 0 },
	{ B(0), 1 },
	{ B(7), 1 },
	{ B(8), 2 },
	{ B(0, 9), 2 },
	{ B(63, 64), 9 },
	{ B(1, 1000), 126 },
	{ B(1016), 128 },
	{ B(1023), 128 },
	{ B(0, 1023), 128 },
	{ B(3, 4, 5, 6, 7, 100, 101), 13 },
};

static void expected_encoding(const int *bits, uint8_t out[WIRE_MASK_BYTES])
{
	memset(out, 0, WIRE_MASK_BYTES);
	for (; *bits != BITS_END; bits++)
		out[*bits / 8] |= (uint8_t)(1u << (*bits % 8));
}

START_TEST(test_encode_canonical)
{
	const struct encode_case *c = &encode_cases[_i];
	uint8_t want[WIRE_MASK_BYTES], out[WIRE_MASK_BYTES];
	struct mask m, back;
	size_t n;

	test_mask_of(&m, c->bits);
	expected_encoding(c->bits, want);
	memset(out, 0xee, sizeof(out));
	n = mask_encode(&m, out);
	ck_assert_uint_eq(n, c->len);
	if (n > 0) {
		ck_assert_mem_eq(out, want, n);
		ck_assert_uint_ne(out[n - 1], 0);	/* trimmed */
	}
	memset(&back, 0xff, sizeof(back));
	ck_assert(mask_decode(out, n, &back));
	ck_assert(mask_equal(&back, &m));
}
END_TEST

START_TEST(test_encode_specific_bytes)
{
	uint8_t out[WIRE_MASK_BYTES];
	struct mask m;
	size_t i;

	mask_clear(&m);
	ck_assert_uint_eq(mask_encode(&m, out), 0);

	mask_bit_set(&m, 1023);
	ck_assert_uint_eq(mask_encode(&m, out), 128);
	for (i = 0; i < 127; i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert_uint_eq(out[127], 0x80);

	mask_clear(&m);
	mask_bit_set(&m, 0);
	mask_bit_set(&m, 9);
	ck_assert_uint_eq(mask_encode(&m, out), 2);
	ck_assert_uint_eq(out[0], 0x01);
	ck_assert_uint_eq(out[1], 0x02);

	mask_fill(&m);
	ck_assert_uint_eq(mask_encode(&m, out), 128);
	for (i = 0; i < 128; i++)
		ck_assert_uint_eq(out[i], 0xff);

	/* Clearing the top bits trims the encoding. */
	mask_clear(&m);
	mask_bit_set(&m, 10);
	mask_bit_set(&m, 900);
	ck_assert_uint_eq(mask_encode(&m, out), 113);
	mask_bit_clear(&m, 900);
	ck_assert_uint_eq(mask_encode(&m, out), 2);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 0x04);
}
END_TEST

struct decode_bad_case {
	const char *what;
	uint8_t bytes[130];
	size_t len;
};

static const struct decode_bad_case decode_bad_cases[] = {
	{ "single zero byte", { 0x00 }, 1 },
	{ "trailing zero byte", { 0x01, 0x00 }, 2 },
	{ "two zero bytes", { 0x00, 0x00 }, 2 },
	{ "128 bytes ending in zero", { 0xff }, 128 },
	{ "129 bytes", { [0 ... 128] = 0xff }, 129 },
	{ "130 bytes", { [0 ... 129] = 0x01 }, 130 },
};

START_TEST(test_decode_rejects)
{
	const struct decode_bad_case *c = &decode_bad_cases[_i];
	struct mask m;

	ck_assert_msg(!mask_decode(c->bytes, c->len, &m), "accepted: %s", c->what);
}
END_TEST

START_TEST(test_decode_accepts)
{
	uint8_t buf[WIRE_MASK_BYTES] = { 0 };
	struct mask m, want;

	/* Empty encoding: empty mask. */
	memset(&m, 0xff, sizeof(m));
	ck_assert(mask_decode(buf, 0, &m));
	ck_assert(mask_is_empty(&m));

	/* 128 bytes of 0xff: the full mask. */
	memset(buf, 0xff, sizeof(buf));
	ck_assert(mask_decode(buf, sizeof(buf), &m));
	mask_fill(&want);
	ck_assert(mask_equal(&m, &want));

	/* Zero bytes inside are fine, only the last must be non-zero. */
	memset(buf, 0, sizeof(buf));
	buf[2] = 0x81;
	ck_assert(mask_decode(buf, 3, &m));
	mask_clear(&want);
	mask_bit_set(&want, 16);
	mask_bit_set(&want, 23);
	ck_assert(mask_equal(&m, &want));
	ck_assert_uint_eq(mask_count(&m), 2);
}
END_TEST

/* ---- text form -------------------------------------------------------- */

struct format_case {
	int bits[16];
	const char *text;	/* NULL: round-trip only (range style of pairs) */
};

static const struct format_case format_cases[] = {
	{ NONE, "-" },
	{ B(0), "0" },
	{ B(0, 1, 2, 3, 7, 9), "0-3,7,9" },
	{ B(1023), "1023" },
	{ B(0, 2, 4), "0,2,4" },
	{ B(10, 11, 12, 13, 14, 1021, 1022, 1023), "10-14,1021-1023" },
	{ B(63, 64, 65), "63-65" },
	{ B(0, 1023), "0,1023" },
	{ B(5, 6), NULL },
	{ B(0, 1, 3, 4, 1022, 1023), NULL },
};

START_TEST(test_format_parse)
{
	const struct format_case *c = &format_cases[_i];
	char buf[256];
	struct mask m, back;
	size_t n;

	test_mask_of(&m, c->bits);
	memset(buf, 'x', sizeof(buf));
	n = mask_format(&m, buf, sizeof(buf));
	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	if (c->text)
		ck_assert_str_eq(buf, c->text);
	memset(&back, 0xa5, sizeof(back));
	ck_assert_msg(mask_parse(buf, &back), "parse of own output \"%s\"", buf);
	ck_assert(mask_equal(&back, &m));
	if (c->text) {
		memset(&back, 0xa5, sizeof(back));
		ck_assert(mask_parse(c->text, &back));
		ck_assert(mask_equal(&back, &m));
	}
}
END_TEST

START_TEST(test_format_large)
{
	static char buf[8192];
	struct mask m, back;
	size_t n, need;
	unsigned i;

	/* Every other bit: the longest text a mask can need. */
	mask_clear(&m);
	for (i = 0; i < MASK_BITS; i += 2)
		mask_bit_set(&m, i);
	n = mask_format(&m, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	ck_assert(mask_parse(buf, &back));
	ck_assert(mask_equal(&back, &m));
	ck_assert_uint_eq(mask_count(&back), 512);

	mask_fill(&m);
	need = mask_format(&m, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0-1023");
	ck_assert_uint_eq(need, 6);
}
END_TEST

START_TEST(test_format_truncates_like_snprintf)
{
	static const int bits[] = B(0, 1, 2, 3, 7, 9);
	char buf[16];
	struct mask m;

	test_mask_of(&m, bits);
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(mask_format(&m, buf, 4), 7);
	ck_assert_str_eq(buf, "0-3");
	ck_assert_int_eq(buf[4], 'x');	/* nothing past cap */

	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(mask_format(&m, buf, 0), 7);
	ck_assert_int_eq(buf[0], 'x');

	ck_assert_uint_eq(mask_format(&m, buf, 7), 7);
	ck_assert_str_eq(buf, "0-3,7,");
	ck_assert_uint_eq(mask_format(&m, buf, 8), 7);
	ck_assert_str_eq(buf, "0-3,7,9");

	mask_clear(&m);
	ck_assert_uint_eq(mask_format(&m, buf, 1), 1);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(mask_format(&m, buf, 2), 1);
	ck_assert_str_eq(buf, "-");
}
END_TEST

static const char *const parse_bad[] = {
	"",
	" ",
	" 0",
	"0 ",
	"0, 1",
	"0,\n1",
	"1\n",
	"a",
	"1a",
	"0x1",
	"+1",
	"-1",
	"1-",
	"1--2",
	"--",
	"-,1",
	"1-2-3",
	"3-1",
	"2,1",
	"0-3,2",
	"5-9,1-2",
	"1024",
	"0-1024",
	"1023,1024",
	"4294967297",
	"18446744073709551617",
	"99999999999999999999999",
	"1,",
	",1",
	"1,,2",
	"1;2",
	"1.5",
};

START_TEST(test_parse_rejects)
{
	struct mask m;

	ck_assert_msg(!mask_parse(parse_bad[_i], &m), "accepted \"%s\"", parse_bad[_i]);
}
END_TEST

Suite *suite_mask(void)
{
	Suite *s = suite_create("mask");
	TCase *tc;

	tc = tcase_create("bits");
	tcase_add_loop_test(tc, test_bit_set_test_clear, 0,
			    sizeof(bit_cases) / sizeof(bit_cases[0]));
	tcase_add_test(tc, test_clear_fill);
	suite_add_tcase(s, tc);

	tc = tcase_create("setops");
	tcase_add_loop_test(tc, test_set_operations, 0,
			    sizeof(setop_cases) / sizeof(setop_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_add_loop_test(tc, test_encode_canonical, 0,
			    sizeof(encode_cases) / sizeof(encode_cases[0]));
	tcase_add_test(tc, test_encode_specific_bytes);
	tcase_add_loop_test(tc, test_decode_rejects, 0,
			    sizeof(decode_bad_cases) / sizeof(decode_bad_cases[0]));
	tcase_add_test(tc, test_decode_accepts);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_loop_test(tc, test_format_parse, 0,
			    sizeof(format_cases) / sizeof(format_cases[0]));
	tcase_add_test(tc, test_format_large);
	tcase_add_test(tc, test_format_truncates_like_snprintf);
	tcase_add_loop_test(tc, test_parse_rejects, 0,
			    sizeof(parse_bad) / sizeof(parse_bad[0]));
	suite_add_tcase(s, tc);
	return s;
}
