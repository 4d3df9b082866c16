/*
 * tests/unit/check_report.c - capctl's audit report (tools/capctl/report.c):
 * both ends of a flow count once, summaries count their N (a receiver's
 * summary of reports not twice), groupings by user, host pair, port and
 * hour, filters, and the flags for flows seen at one end only.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "flowrec.h"
#include "report.h"
#include "suites.h"

#define T0 UINT64_C(1700000000000)	/* 2023-11-14T22:13:20Z */
#define HOUR UINT64_C(3600000)

/* Records of one made-up network, as the hosts would write them. */
struct rec_spec {
	const char *host;
	enum flowrec_side side;
	int id;				/* 0: none */
	const char *src, *dst, *users;
	uint8_t proto;
	uint16_t dport;
	uint64_t time_ms;
	enum flowrec_reason reason;
	enum flowrec_via via;
	bool told;
	uint64_t summary;		/* count, 0: a denial */
};

static const struct rec_spec net[] = {
	/* A on host1 -> host2:80, both ends, twice */
	{ "host1", FLOWREC_SENDER, 1, "host1", "host2", "A", IPPROTO_TCP, 80, T0,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_NFQUEUE, true, 0 },
	{ "host2", FLOWREC_RECEIVER, 1, "host1", "host2", "A", IPPROTO_TCP, 80, T0 + 1,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_REPORT, false, 0 },
	{ "host1", FLOWREC_SENDER, 2, "host1", "host2", "A", IPPROTO_TCP, 80, T0 + 10,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_TUN, true, 0 },
	{ "host2", FLOWREC_RECEIVER, 2, "host1", "host2", "A", IPPROTO_TCP, 80, T0 + 11,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_REPORT, false, 0 },
	/* B on host3 -> host2:22, an hour later, both ends */
	{ "host3", FLOWREC_SENDER, 3, "host3", "host2", "B", IPPROTO_TCP, 22, T0 + HOUR,
	  FLOWREC_R_HOST_GRANT, FLOWREC_VIA_TUN, true, 0 },
	{ "host2", FLOWREC_RECEIVER, 3, "host3", "host2", "B", IPPROTO_TCP, 22, T0 + HOUR,
	  FLOWREC_R_HOST_GRANT, FLOWREC_VIA_REPORT, false, 0 },
	/* a sender's report that never arrived: flagged */
	{ "host3", FLOWREC_SENDER, 4, "host3", "host2", "B", IPPROTO_UDP, 53, T0 + HOUR + 5,
	  FLOWREC_R_HOST_GRANT, FLOWREC_VIA_TUN, true, 0 },
	/* not told (rate limit): not flagged */
	{ "host3", FLOWREC_SENDER, 5, "host3", "host2", "B", IPPROTO_UDP, 53, T0 + HOUR + 6,
	  FLOWREC_R_HOST_GRANT, FLOWREC_VIA_TUN, false, 0 },
	/* a report with no sender record: flagged (spoofed or lost) */
	{ "host2", FLOWREC_RECEIVER, 6, "host1", "host2", "A", IPPROTO_TCP, 443, T0 + 20,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_REPORT, false, 0 },
	/* refused by the receiver alone: flagged */
	{ "host2", FLOWREC_RECEIVER, 7, "host3", "host2", "", IPPROTO_ICMP, 7, T0 + 30,
	  FLOWREC_R_CAPABILITY, FLOWREC_VIA_TUN, false, 0 },
	/* a flood: the sender's summary counts 1,000; the receiver's 300 are the same */
	{ "host1", FLOWREC_SENDER, 0, "host1", "host2", "A", IPPROTO_UDP, 9, T0 + 40,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_NFQUEUE, true, 1000 },
	{ "host2", FLOWREC_RECEIVER, 0, "host1", "host2", "A", IPPROTO_UDP, 9, T0 + 40,
	  FLOWREC_R_USER_GRANT, FLOWREC_VIA_REPORT, false, 300 },
};

static void line_of(const struct rec_spec *sp, char *out, size_t cap)
{
	uint8_t prev[FLOWREC_HASH_LEN] = { 0 };
	struct flowrec r;

	flowrec_init(&r);
	r.kind = sp->summary ? FLOWREC_SUMMARY : FLOWREC_DENIED;
	r.count = sp->summary;
	r.seq = 1;
	r.time_ms = r.last_ms = sp->time_ms;
	snprintf(r.host, sizeof(r.host), "%s", sp->host);
	r.side = sp->side;
	r.has_id = sp->id != 0;
	memset(r.id, 0, sizeof(r.id));
	r.id[7] = (uint8_t)sp->id;
	snprintf(r.src_host, sizeof(r.src_host), "%s", sp->src);
	snprintf(r.dst_host, sizeof(r.dst_host), "%s", sp->dst);
	snprintf(r.users, sizeof(r.users), "%s", sp->users);
	r.proto = sp->proto;
	r.dport = sp->dport;
	r.reason = sp->reason;
	r.via = sp->via;
	r.has_told = sp->side == FLOWREC_SENDER;
	r.told = sp->told;
	if (sp->side == FLOWREC_SENDER && sp->via == FLOWREC_VIA_NFQUEUE && !sp->summary) {
		r.uid = 1001;
		r.pid = 4242;
		snprintf(r.user, sizeof(r.user), "A");
		snprintf(r.comm, sizeof(r.comm), "curl");
	}
	ck_assert_uint_gt(flowrec_encode(&r, prev, out, cap), 0);
}

static struct report *build(const struct report_filter *f, const char *only_host)
{
	struct report *r = report_new(f);
	char line[FLOWREC_LINE_MAX + 1];

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
		if (only_host && strcmp(net[i].host, only_host) != 0)
			continue;
		line_of(&net[i], line, sizeof(line));
		ck_assert(report_add_line(r, line, strlen(line), "test", i + 1));
	}
	ck_assert_int_eq(report_finish(r), 0);
	return r;
}

static uint64_t row(const struct report *r, enum report_group g, const char *key,
		    uint64_t *both, uint64_t *one)
{
	const struct report_row *rows;
	size_t n = report_rows(r, g, &rows);

	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].key, key) == 0) {
			if (both)
				*both = rows[i].both_ends;
			if (one)
				*one = rows[i].one_end;
			return rows[i].denials;
		}
	return 0;
}

START_TEST(test_join_and_totals)
{
	struct report_filter f = { .port = -1 };
	struct report *r = build(&f, NULL);
	struct report_stats st;

	report_stats_get(r, &st);
	/* 7 flows (ids 1-7) + the sender's summary of 1,000; not the receiver's 300 */
	ck_assert_uint_eq(st.flows, 7);
	ck_assert_uint_eq(st.denials, 1007);
	ck_assert_uint_eq(st.summarised, 1000);
	ck_assert_uint_eq(st.both_ends, 3);
	ck_assert_uint_eq(st.sender_only, 2);
	ck_assert_uint_eq(st.receiver_only, 2);
	ck_assert_uint_eq(st.flagged, 3);
	ck_assert_uint_eq(st.nhosts, 3);
	report_free(r);
}
END_TEST

START_TEST(test_grouping)
{
	struct report_filter f = { .port = -1 };
	struct report *r = build(&f, NULL);
	uint64_t both = 0, one = 0;
	const struct report_row *rows;

	ck_assert_uint_eq(row(r, REPORT_BY_USER, "A", &both, &one), 1003);
	ck_assert_uint_eq(both, 2);
	ck_assert_uint_eq(one, 1);
	ck_assert_uint_eq(row(r, REPORT_BY_USER, "B", NULL, NULL), 3);
	ck_assert_uint_eq(row(r, REPORT_BY_USER, "(nobody)", NULL, &one), 1);
	ck_assert_uint_eq(one, 1);
	ck_assert_uint_eq(row(r, REPORT_BY_PAIR, "host1 -> host2", NULL, NULL), 1003);
	ck_assert_uint_eq(row(r, REPORT_BY_PAIR, "host3 -> host2", NULL, NULL), 4);
	ck_assert_uint_eq(row(r, REPORT_BY_PORT, "tcp/80", &both, NULL), 2);
	ck_assert_uint_eq(both, 2);
	ck_assert_uint_eq(row(r, REPORT_BY_PORT, "udp/9", NULL, NULL), 1000);
	ck_assert_uint_eq(row(r, REPORT_BY_PORT, "udp/53", NULL, NULL), 2);
	ck_assert_uint_eq(row(r, REPORT_BY_PORT, "icmp", NULL, NULL), 1);
	ck_assert_uint_eq(row(r, REPORT_BY_HOUR, "2023-11-14T22:00Z", NULL, NULL), 1004);
	ck_assert_uint_eq(row(r, REPORT_BY_HOUR, "2023-11-14T23:00Z", NULL, NULL), 3);
	/* most denials first; hours in time order */
	ck_assert_uint_eq(report_rows(r, REPORT_BY_USER, &rows), 3);
	ck_assert_str_eq(rows[0].key, "A");
	report_rows(r, REPORT_BY_HOUR, &rows);
	ck_assert_str_eq(rows[0].key, "2023-11-14T22:00Z");
	report_free(r);
}
END_TEST

START_TEST(test_flags)
{
	struct report_filter f = { .port = -1 };
	struct report *r = build(&f, NULL);
	struct report_flow_view v;
	bool lost = false, spoofed = false, rogue = false;

	ck_assert_uint_eq(report_flagged_count(r), 3);
	for (size_t i = 0; report_flagged_get(r, i, &v); i++) {
		lost |= v.at_sender && !v.at_receiver && strstr(v.note, "lost");
		spoofed |= !v.at_sender && strstr(v.note, "spoofed");
		rogue |= !v.at_sender && strstr(v.note, "did not enforce");
	}
	ck_assert(lost && spoofed && rogue);
	report_free(r);
	/* one host's records alone: nothing to compare, nothing flagged but rogues */
	r = build(&f, "host1");
	ck_assert_uint_eq(report_flagged_count(r), 0);
	report_free(r);
}
END_TEST

START_TEST(test_sender_fields_win)
{
	struct report_filter f = { .port = 80 };
	struct report *r = build(&f, NULL);
	struct report_flow_view v;
	bool found = false;

	for (size_t i = 0; i < report_flow_count(r); i++) {
		if (!report_flow_get(r, i, &v) || strcmp(v.id, "0000000000000001") != 0)
			continue;
		found = true;
		ck_assert(v.at_sender && v.at_receiver);
		ck_assert_int_eq(v.uid, 1001);
		ck_assert_int_eq(v.pid, 4242);
		ck_assert_str_eq(v.comm, "curl");
		ck_assert_str_eq(v.local_user, "A");
	}
	ck_assert(found);
	report_free(r);
}
END_TEST

START_TEST(test_filters)
{
	struct report_filter f = { .port = -1, .user = "B" };
	struct report *r = build(&f, NULL);
	struct report_stats st;

	report_stats_get(r, &st);
	ck_assert_uint_eq(st.denials, 3);
	report_free(r);
	f = (struct report_filter){ .port = 80 };
	r = build(&f, NULL);
	report_stats_get(r, &st);
	ck_assert_uint_eq(st.denials, 2);
	report_free(r);
	f = (struct report_filter){ .port = -1, .since_ms = T0 + HOUR };
	r = build(&f, NULL);
	report_stats_get(r, &st);
	ck_assert_uint_eq(st.denials, 3);
	report_free(r);
	f = (struct report_filter){ .port = -1, .until_ms = T0 + HOUR, .host = "host3" };
	r = build(&f, NULL);
	report_stats_get(r, &st);
	ck_assert_uint_eq(st.denials, 1);	/* the ICMP one host2 refused from host3 */
	report_free(r);
}
END_TEST

START_TEST(test_outputs)
{
	struct report_filter f = { .port = -1 };
	struct report *r = build(&f, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(report_print_text(r, out, true, 0), 0);
	ck_assert_int_eq(report_print_csv(r, out), 0);
	ck_assert_int_eq(report_print_json(r, out, true, 0), 0);
	ck_assert_int_eq(report_print_html(r, out), 0);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(buf, "1,007 denied flows"));
	ck_assert_ptr_nonnull(strstr(buf, "user,A,1003,2,1\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"denials\": 1007"));
	ck_assert_ptr_nonnull(strstr(buf, "<table class=\"m\" id=\"matrix\">"));
	ck_assert_ptr_nonnull(strstr(buf, "<svg id=\"timeline\""));
	ck_assert_ptr_null(strstr(buf, "http://") != strstr(buf, "http://www.w3.org") ?
			   buf : NULL);
	free(buf);
	report_free(r);
}
END_TEST

START_TEST(test_bad_lines)
{
	struct report_filter f = { .port = -1 };
	struct report *r = report_new(&f);
	struct report_stats st;

	ck_assert(!report_add_line(r, "{}", 2, "test", 1));
	ck_assert(!report_add_line(r, "garbage", 7, "test", 2));
	ck_assert_int_eq(report_finish(r), 0);
	report_stats_get(r, &st);
	ck_assert_uint_eq(st.bad_lines, 2);
	ck_assert_uint_eq(st.denials, 0);
	report_free(r);
}
END_TEST

Suite *suite_report(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_join_and_totals);
	tcase_add_test(tc, test_grouping);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_sender_fields_win);
	tcase_add_test(tc, test_filters);
	tcase_add_test(tc, test_outputs);
	tcase_add_test(tc, test_bad_lines);
	suite_add_tcase(s, tc);
	return s;
}
