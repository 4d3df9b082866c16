/*
 * tests/unit/check_flowrec.c - flow records (common/flowrec.h) and their
 * writer (common/flowlog.h): the line both ways, what the parser refuses,
 * the reason in words for every reason, the flow id that joins both ends,
 * the chain across a restart and across rotations, the disk bound, and
 * summaries that count every record the rate limit held back.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "flowlog.h"
#include "flowrec.h"
#include "suites.h"

static void rec_sender(struct flowrec *r)
{
	flowrec_init(r);
	r->side = FLOWREC_SENDER;
	memcpy(r->host, "host1", 6);
	r->has_id = true;
	memcpy(r->id, "\x01\x23\x45\x67\x89\xab\xcd\xef", FLOWREC_ID_LEN);
	memcpy(r->src_host, "host1", 6);
	memcpy(r->dst_host, "host2", 6);
	memcpy(r->users, "A,B", 4);
	r->proto = IPPROTO_TCP;
	memcpy(r->src, "10.77.0.2", 10);
	memcpy(r->dst, "10.77.0.3", 10);
	r->sport = 41234;
	r->dport = 80;
	r->epoch = 7;
	r->reason = FLOWREC_R_USER_GRANT;
	memcpy(r->subject, "A", 2);
	r->has_told = true;
	r->told = true;
	r->via = FLOWREC_VIA_NFQUEUE;
	r->uid = 1001;
	memcpy(r->user, "A", 2);
	r->pid = 4242;
	memcpy(r->comm, "cu\"rl\x01\xff", 7);
	memcpy(r->exe, "/usr/bin/curl", 14);
	r->time_ms = UINT64_C(1700000000123);
	r->seq = 5;
}

START_TEST(test_round_trip)
{
	struct flowrec r, back;
	uint8_t prev[FLOWREC_HASH_LEN];
	char line[FLOWREC_LINE_MAX + 1], again[FLOWREC_LINE_MAX + 1], err[128];
	size_t n;

	rec_sender(&r);
	memset(prev, 0xa5, sizeof(prev));
	n = flowrec_encode(&r, prev, line, sizeof(line));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(strlen(line), n);
	ck_assert_ptr_nonnull(strstr(line, "\"why\":\"user A's grant lacks host2\""));
	ck_assert_ptr_nonnull(strstr(line, "\"users\":[\"A\",\"B\"]"));
	ck_assert_ptr_nonnull(strstr(line, "\"comm\":\"cu\\\"rl\\u0001\\u00ff\""));
	ck_assert_ptr_nonnull(strstr(line, "\"time\":\"2023-11-14T22:13:20.123Z\""));
	ck_assert_ptr_nonnull(strstr(line, "\"flow\":\"0123456789abcdef\""));
	ck_assert_msg(flowrec_parse(line, n, &back, err, sizeof(err)), "%s: %s", err, line);
	ck_assert_int_eq(back.kind, FLOWREC_DENIED);
	ck_assert_int_eq(back.side, FLOWREC_SENDER);
	ck_assert(back.has_id);
	ck_assert_mem_eq(back.id, r.id, FLOWREC_ID_LEN);
	ck_assert_str_eq(back.users, "A,B");
	ck_assert_str_eq(back.comm, r.comm);
	ck_assert_int_eq(back.uid, 1001);
	ck_assert_int_eq(back.pid, 4242);
	ck_assert_uint_eq(back.time_ms, r.time_ms);
	ck_assert_uint_eq(back.seq, 5);
	ck_assert_mem_eq(back.prev, prev, sizeof(prev));
	ck_assert_int_eq(back.reason, FLOWREC_R_USER_GRANT);
	ck_assert_int_eq(back.via, FLOWREC_VIA_NFQUEUE);
	ck_assert(back.has_told && back.told);
	/* the parsed record encodes to the same line */
	ck_assert_uint_eq(flowrec_encode(&back, back.prev, again, sizeof(again)), n);
	ck_assert_str_eq(again, line);
}
END_TEST

START_TEST(test_summary_round_trip)
{
	struct flowrec r, back;
	uint8_t prev[FLOWREC_HASH_LEN] = { 0 };
	char line[FLOWREC_LINE_MAX + 1], err[128];
	size_t n;

	rec_sender(&r);
	r.kind = FLOWREC_SUMMARY;
	r.count = 1204;
	r.last_ms = r.time_ms + 999;
	n = flowrec_encode(&r, prev, line, sizeof(line));
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(line, "\"text\":\"and 1,204 more like this\""));
	ck_assert_msg(flowrec_parse(line, n, &back, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(back.kind, FLOWREC_SUMMARY);
	ck_assert_uint_eq(back.count, 1204);
	ck_assert_uint_eq(back.last_ms, r.last_ms);
}
END_TEST

static const char good[] =
	"{\"v\":1,\"seq\":1,\"time\":\"2024-01-01T00:00:00.000Z\",\"kind\":\"denied\","
	"\"side\":\"receiver\",\"users\":[],\"proto\":\"udp\",\"sport\":1,\"dport\":2,"
	"\"epoch\":3,\"reason\":\"unknown_epoch\",\"prev\":\""
	"0000000000000000000000000000000000000000000000000000000000000000\"}";

/* Lines the parser must refuse: each is `good` with one thing wrong. */
static const struct {
	const char *from, *to;
} bad_edits[] = {
	{ "\"v\":1", "\"v\":2" },
	{ "\"v\":1,", "" },
	{ "\"seq\":1", "\"seq\":-1" },
	{ "\"seq\":1", "\"seq\":1.5" },
	{ "\"seq\":1", "\"seq\":01" },
	{ "\"seq\":1", "\"seq\":\"1\"" },
	{ "\"kind\":\"denied\"", "\"kind\":\"allowed\"" },
	{ "\"side\":\"receiver\"", "\"side\":\"middle\"" },
	{ "\"users\":[]", "\"users\":[\"a b\"]" },
	{ "\"users\":[]", "\"users\":\"A\"" },
	{ "\"users\":[]", "\"users\":[\"A\",]" },
	{ "\"proto\":\"udp\"", "\"proto\":\"proto-256\"" },
	{ "\"sport\":1", "\"sport\":65536" },
	{ "\"epoch\":3", "\"epoch\":4294967296" },
	{ "\"reason\":\"unknown_epoch\"", "\"reason\":\"because\"" },
	{ "\"time\":\"2024-01-01T00:00:00.000Z\"", "\"time\":\"2024-13-01T00:00:00.000Z\"" },
	{ "\"time\":\"2024-01-01T00:00:00.000Z\"", "\"time\":\"yesterday\"" },
	{ "\"prev\":\"0", "\"prev\":\"x" },
	{ "\"dport\":2", "\"dport\":2,\"dport\":3" },
	{ "\"dport\":2", "\"dport\":2,\"colour\":\"red\"" },
	{ "\"dport\":2", "\"dport\":2,\"host\":\"\"" },
	{ "\"dport\":2", "\"dport\":2,\"comm\":\"a\\u0000b\"" },
	{ "\"dport\":2", "\"dport\":2,\"comm\":\"a\\ud800\"" },
	{ "\"dport\":2", "\"dport\":2,\"comm\":\"0123456789abcdefg\"" },
	{ "\"dport\":2", "\"dport\":2,\"flow\":\"0123\"" },
	{ "\"dport\":2", "\"dport\":2,\"kind\":\"summary\"" },
	{ "}", "} x" },
	{ "{", "[" },
};

START_TEST(test_parse_refuses)
{
	char line[2 * sizeof(good)], err[128];
	struct flowrec r;
	const char *at = strstr(good, bad_edits[_i].from);
	size_t pre;

	ck_assert(flowrec_parse(good, strlen(good), &r, err, sizeof(err)));
	ck_assert_ptr_nonnull(at);
	pre = (size_t)(at - good);
	snprintf(line, sizeof(line), "%.*s%s%s", (int)pre, good, bad_edits[_i].to,
		 at + strlen(bad_edits[_i].from));
	ck_assert_msg(!flowrec_parse(line, strlen(line), &r, err, sizeof(err)),
		      "accepted: %s", line);
	ck_assert_uint_gt(strlen(err), 0);
}
END_TEST

/* Every reason, in words. */
static const struct {
	enum flowrec_reason reason;
	const char *subject, *users;
	const char *want;
} why_cases[] = {
	{ FLOWREC_R_USER_GRANT, "A", "A", "user A's grant lacks host2" },
	{ FLOWREC_R_USER_GRANT, "", "B,C", "user B's grant lacks host2" },
	{ FLOWREC_R_HOST_GRANT, "host3", "B", "host3's own grant lacks host2" },
	{ FLOWREC_R_HOST_GRANT, "", "", "host3's own grant lacks host2" },
	{ FLOWREC_R_ISOLATED, "C", "C", "host3 is isolated: user C's token is missing, "
	  "expired or revoked" },
	{ FLOWREC_R_ISOLATED, "", "", "host3 is isolated (its capability is empty)" },
	{ FLOWREC_R_CAPABILITY, "", "A", "host3's capability (epoch 9, users A) lacks host2" },
	{ FLOWREC_R_CAPABILITY, "", "", "host3's capability (epoch 9) lacks host2" },
	{ FLOWREC_R_UNKNOWN_EPOCH, "", "", "unknown epoch 9 from host3 (never announced "
	  "to host2)" },
	{ FLOWREC_R_STALE_EPOCH, "", "", "stale epoch 9 from host3 (a newer capability "
	  "was announced)" },
	{ FLOWREC_R_NO_SHIM, "", "", "capshim on host3 did not answer: new flows fail "
	  "closed" },
};

START_TEST(test_why)
{
	struct flowrec r;
	char out[FLOWREC_WHY_MAX + 1];
	enum flowrec_reason back;

	flowrec_init(&r);
	r.reason = why_cases[_i].reason;
	r.epoch = 9;
	memcpy(r.src_host, "host3", 6);
	memcpy(r.dst_host, "host2", 6);
	snprintf(r.subject, sizeof(r.subject), "%s", why_cases[_i].subject);
	snprintf(r.users, sizeof(r.users), "%s", why_cases[_i].users);
	ck_assert_str_eq(flowrec_why(&r, out, sizeof(out)), why_cases[_i].want);
	ck_assert(flowrec_reason_parse(flowrec_reason_name(r.reason), &back));
	ck_assert_int_eq(back, r.reason);
}
END_TEST

START_TEST(test_every_reason_has_words)
{
	for (int i = 1; i < FLOWREC_R_COUNT; i++) {
		bool found = false;

		for (size_t k = 0; k < sizeof(why_cases) / sizeof(why_cases[0]); k++)
			found |= why_cases[k].reason == (enum flowrec_reason)i;
		ck_assert_msg(found, "reason %s has no test of its words",
			      flowrec_reason_name(i));
	}
}
END_TEST

START_TEST(test_time_and_count)
{
	char t[FLOWREC_TIME_LEN + 1], n[32];
	uint64_t ms;

	flowrec_time_format(0, t);
	ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
	ck_assert(flowrec_time_parse("2024-02-29T23:59:59.999Z", &ms));
	flowrec_time_format(ms, t);
	ck_assert_str_eq(t, "2024-02-29T23:59:59.999Z");
	ck_assert(flowrec_time_parse("2024-03-01", &ms));
	flowrec_time_format(ms, t);
	ck_assert_str_eq(t, "2024-03-01T00:00:00.000Z");
	ck_assert(flowrec_time_parse("2024-03-01T10:00:00Z", &ms));
	ck_assert(!flowrec_time_parse("2024-03-01T10:00", &ms));
	ck_assert_str_eq(flowrec_count_text(0, n), "0");
	ck_assert_str_eq(flowrec_count_text(999, n), "999");
	ck_assert_str_eq(flowrec_count_text(1204, n), "1,204");
	ck_assert_str_eq(flowrec_count_text(100000, n), "100,000");
	ck_assert_str_eq(flowrec_count_text(1234567, n), "1,234,567");
}
END_TEST

/* The sender's id travels in the report; both lines carry it. */
START_TEST(test_flow_id_join)
{
	struct flowrec snd, rcv, a, b;
	uint8_t zero[FLOWREC_HASH_LEN] = { 0 }, other[FLOWREC_ID_LEN];
	char l1[FLOWREC_LINE_MAX + 1], l2[FLOWREC_LINE_MAX + 1], err[64];

	rec_sender(&snd);
	flowrec_id_new(snd.id);
	flowrec_id_new(other);
	ck_assert_mem_ne(snd.id, other, FLOWREC_ID_LEN);
	rcv = snd;
	rcv.side = FLOWREC_RECEIVER;
	memcpy(rcv.host, "host2", 6);
	rcv.via = FLOWREC_VIA_REPORT;
	rcv.uid = rcv.pid = -1;
	rcv.user[0] = rcv.comm[0] = rcv.exe[0] = '\0';
	ck_assert(flowrec_parse(l1, flowrec_encode(&snd, zero, l1, sizeof(l1)), &a, err,
				sizeof(err)));
	ck_assert(flowrec_parse(l2, flowrec_encode(&rcv, zero, l2, sizeof(l2)), &b, err,
				sizeof(err)));
	ck_assert(a.has_id && b.has_id);
	ck_assert_mem_eq(a.id, b.id, FLOWREC_ID_LEN);
	ck_assert_int_eq(a.side, FLOWREC_SENDER);
	ck_assert_int_eq(b.side, FLOWREC_RECEIVER);
	ck_assert_str_eq(b.host, "host2");
}
END_TEST

/* ---- the writer -------------------------------------------------------- */

/* Verifies the files in order; returns the lines, fails the test if broken. */
static uint64_t chain_check(struct flowrec_chain *c, const char *path,
			    uint64_t *summarised)
{
	size_t len = 0, pos = 0;
	char *text = test_read_file(path, &len), err[256];
	uint64_t n = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct flowrec r;

		ck_assert_msg(flowrec_chain_step(c, text + pos, l, err, sizeof(err)),
			      "%s line %llu: %s", path, (unsigned long long)n + 1, err);
		ck_assert(flowrec_parse(text + pos, l, &r, err, sizeof(err)));
		if (summarised)
			*summarised += r.kind == FLOWREC_SUMMARY ? r.count : 1;
		n++;
		pos += l + 1;
	}
	free(text);
	return n;
}

static struct flowlog *open_log(const char *path, uint64_t max, unsigned keep,
				unsigned rate)
{
	struct flowlog_config cfg = {
		.path = path, .host = "host1", .max_bytes = max, .keep = keep,
		.rate = rate, .burst = rate,
	};
	struct flowlog *fl = NULL;

	ck_assert_int_eq(flowlog_open(&fl, &cfg), 0);
	return fl;
}

START_TEST(test_writer_chain_and_resume)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "flows.log");
	struct flowrec_chain c;
	struct flowlog_stats st;
	struct flowlog *fl;
	struct flowrec r;

	rec_sender(&r);
	fl = open_log(path, 0, 0, 1000);
	for (int i = 0; i < 10; i++)
		ck_assert(flowlog_add(fl, &r, 1000 + (uint64_t)i));
	flowlog_stats_get(fl, &st);
	ck_assert_uint_eq(st.seq, 10);
	flowlog_close(fl, 2000);
	/* a restart continues the chain and the seq */
	fl = open_log(path, 0, 0, 1000);
	for (int i = 0; i < 5; i++)
		ck_assert(flowlog_add(fl, &r, 3000));
	flowlog_close(fl, 3000);
	flowrec_chain_init(&c);
	ck_assert_uint_eq(chain_check(&c, path, NULL), 15);
	ck_assert_uint_eq(c.first_seq, 1);
	ck_assert_uint_eq(c.seq, 15);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_writer_crash_cut)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "flows.log"), *text, err[256];
	struct flowrec_chain c;
	struct flowlog *fl;
	struct flowrec r;
	size_t len, pos = 0, lines = 0, bad = 0;

	rec_sender(&r);
	fl = open_log(path, 0, 0, 1000);
	for (int i = 0; i < 3; i++)
		flowlog_add(fl, &r, 1000);
	flowlog_close(fl, 1000);
	ck_assert_int_eq(truncate(path, 50 + 2 * (off_t)strlen("x")), 0);
	text = test_read_file(path, &len);
	free(text);
	/* the cut line is closed and chained to: the damage shows at it */
	fl = open_log(path, 0, 0, 1000);
	flowlog_add(fl, &r, 2000);
	flowlog_close(fl, 2000);
	text = test_read_file(path, &len);
	flowrec_chain_init(&c);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = (size_t)(nl - (text + pos));

		lines++;
		if (!flowrec_chain_step(&c, text + pos, l, err, sizeof(err)) && !bad)
			bad = lines;
		if (bad == lines && lines > 1)
			break;
		pos += l + 1;
	}
	ck_assert_uint_eq(bad, 1);
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_writer_rotation)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "flows.log");
	char name[64];
	struct flowrec_chain c;
	struct flowlog_stats st;
	struct flowlog_config cfg = { .path = path, .max_bytes = FLOWLOG_MIN_BYTES,
				      .keep = 3 };
	struct flowlog *fl;
	struct flowrec r;
	uint64_t lines = 0, total = 0;
	struct stat sb;

	rec_sender(&r);
	fl = open_log(path, FLOWLOG_MIN_BYTES, 3, 1000000);
	/* about 600 bytes a line: 2,000 lines are some 18 files' worth */
	for (int i = 0; i < 2000; i++) {
		ck_assert(flowlog_add(fl, &r, 1000 + (uint64_t)i));
		if (i % 100 == 0)
			ck_assert_int_eq(flowlog_flush(fl, 1000 + (uint64_t)i, false), 0);
	}
	flowlog_stats_get(fl, &st);
	flowlog_close(fl, 5000);
	ck_assert_uint_ge(st.rotations, 10);
	ck_assert_uint_eq(st.seq, 2000);
	/* only keep + 1 files, each within its bound, chained in order */
	snprintf(name, sizeof(name), "flows.log.4");
	{
		char *p4 = test_path(dir, name);

		ck_assert_int_eq(access(p4, F_OK), -1);
		free(p4);
	}
	flowrec_chain_init(&c);
	for (int k = 3; k >= 0; k--) {
		char *p;

		if (k)
			snprintf(name, sizeof(name), "flows.log.%d", k);
		else
			snprintf(name, sizeof(name), "flows.log");
		p = test_path(dir, name);
		ck_assert_int_eq(stat(p, &sb), 0);
		ck_assert_int_le(sb.st_size, FLOWLOG_MIN_BYTES);
		total += (uint64_t)sb.st_size;
		lines += chain_check(&c, p, NULL);
		free(p);
	}
	ck_assert_uint_le(total, flowlog_disk_bound(&cfg));
	ck_assert_uint_eq(c.seq, 2000);
	ck_assert_uint_eq(c.first_seq, 2000 - lines + 1);
	ck_assert_uint_gt(c.first_seq, 1);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_writer_summaries_count_all)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "flows.log");
	struct flowrec_chain c;
	struct flowlog_stats st;
	struct flowlog *fl;
	struct flowrec r;
	uint64_t counted = 0, lines;
	char *text;
	size_t len;

	rec_sender(&r);
	fl = open_log(path, 0, 0, 10);
	for (int i = 0; i < 10000; i++) {
		uint64_t now = 1000 + (uint64_t)i / 10;	/* 10,000 in a second */

		r.dport = (uint16_t)(80 + i % 3);	/* three kinds */
		flowlog_add(fl, &r, now);
		if (i % 1000 == 0)
			flowlog_flush(fl, now, false);
	}
	flowlog_stats_get(fl, &st);
	flowlog_close(fl, 3000);
	ck_assert_uint_eq(st.records, 10000);
	ck_assert_uint_eq(st.lines + st.summarised, 10000);
	ck_assert_uint_le(st.lines, 30);
	flowrec_chain_init(&c);
	lines = chain_check(&c, path, &counted);
	ck_assert_uint_eq(counted, 10000);
	ck_assert_uint_lt(lines, 60);
	text = test_read_file(path, &len);
	ck_assert_ptr_nonnull(strstr(text, "more like this"));
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_tamper_found)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "flows.log"), *text, err[256];
	struct flowrec_chain c;
	struct flowlog *fl;
	struct flowrec r;
	size_t len, pos = 0, line = 0, bad = 0;
	char *at;

	rec_sender(&r);
	fl = open_log(path, 0, 0, 1000);
	for (int i = 0; i < 6; i++)
		flowlog_add(fl, &r, 1000);
	flowlog_close(fl, 1000);
	text = test_read_file(path, &len);
	/* change user A into B on the third line */
	at = text;
	for (int i = 0; i < 2; i++)
		at = strchr(at, '\n') + 1;
	at = strstr(at, "\"user\":\"A\"");
	ck_assert_ptr_nonnull(at);
	at[8] = 'B';
	flowrec_chain_init(&c);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = (size_t)(nl - (text + pos));

		line++;
		if (!flowrec_chain_step(&c, text + pos, l, err, sizeof(err))) {
			bad = line;
			break;
		}
		pos += l + 1;
	}
	ck_assert_uint_eq(bad, 4);	/* the line after the changed one */
	free(text);
	free(path);
	test_rmtree(dir);
}
END_TEST

Suite *suite_flowrec(void)
{
	Suite *s = suite_create("flowrec");
	TCase *tc = tcase_create("record");
	TCase *tw = tcase_create("writer");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_summary_round_trip);
	tcase_add_loop_test(tc, test_parse_refuses, 0,
			    sizeof(bad_edits) / sizeof(bad_edits[0]));
	tcase_add_loop_test(tc, test_why, 0, sizeof(why_cases) / sizeof(why_cases[0]));
	tcase_add_test(tc, test_every_reason_has_words);
	tcase_add_test(tc, test_time_and_count);
	tcase_add_test(tc, test_flow_id_join);
	suite_add_tcase(s, tc);
	tcase_add_test(tw, test_writer_chain_and_resume);
	tcase_add_test(tw, test_writer_crash_cut);
	tcase_add_test(tw, test_writer_rotation);
	tcase_add_test(tw, test_writer_summaries_count_all);
	tcase_add_test(tw, test_tamper_found);
	tcase_set_timeout(tw, 60);
	suite_add_tcase(s, tw);
	return s;
}
