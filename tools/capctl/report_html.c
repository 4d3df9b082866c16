/*
 * tools/capctl/report_html.c - 'capctl audit report --html FILE': one
 * self-contained page (inline CSS and SVG, no script, nothing fetched)
 * with the totals, a host x host matrix of denials, a timeline, the
 * groupings and the flows seen at one end only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

enum html_const {
	TIMELINE_BUCKETS_MAX = 120,
	CHART_W = 960,
	CHART_H = 180,
	FLAGGED_SHOWN = 50,
};

static void esc(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc('?', out);
			else
				fputc(*s, out);
		}
	}
}

/* A cell's background: white to red by share of the largest count. */
static void heat(FILE *out, uint64_t v, uint64_t max)
{
	unsigned a = max ? (unsigned)(v * 200 / max) : 0;

	if (!v)
		fputs("<td class=\"z\">&middot;</td>", out);
	else
		fprintf(out, "<td style=\"background:rgb(255,%u,%u)\">%" PRIu64 "</td>",
			235 - a, 235 - a, v);
}

static void matrix(const struct report *r, FILE *out)
{
	const char *const *hosts;
	size_t n = report_hosts(r, &hosts);
	uint64_t max = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (report_matrix(r, i, j) > max)
				max = report_matrix(r, i, j);
	fputs("<h2>Denials between hosts</h2>\n<p>Row: the sending host; column: the host "
	      "it tried to reach.</p>\n<table class=\"m\" id=\"matrix\"><tr><th>from \\ to</th>",
	      out);
	for (size_t j = 0; j < n; j++) {
		fputs("<th>", out);
		esc(out, hosts[j]);
		fputs("</th>", out);
	}
	fputs("</tr>\n", out);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><th>", out);
		esc(out, hosts[i]);
		fputs("</th>", out);
		for (size_t j = 0; j < n; j++)
			heat(out, report_matrix(r, i, j), max);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void timeline(const struct report *r, FILE *out)
{
	static const uint64_t steps[] = { 1000, 10000, 60000, 600000, 3600000, 21600000,
					  86400000 };
	uint64_t counts[TIMELINE_BUCKETS_MAX], max = 0, bucket = steps[0], start;
	struct report_stats st;
	char a[FLOWREC_TIME_LEN + 1], b[FLOWREC_TIME_LEN + 1];
	size_t n;
	double w;

	report_stats_get(r, &st);
	fputs("<h2>Timeline</h2>\n", out);
	if (!st.denials) {
		fputs("<p>No denials.</p>\n", out);
		return;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bucket = steps[i];
		if ((st.last_ms - st.first_ms) / bucket < TIMELINE_BUCKETS_MAX)
			break;
	}
	start = st.first_ms / bucket * bucket;
	n = (size_t)((st.last_ms - start) / bucket + 1);
	if (n > TIMELINE_BUCKETS_MAX)
		n = TIMELINE_BUCKETS_MAX;
	report_timeline(r, start, bucket, counts, n);
	for (size_t i = 0; i < n; i++)
		if (counts[i] > max)
			max = counts[i];
	flowrec_time_format(start, a);
	flowrec_time_format(start + n * bucket, b);
	fprintf(out, "<p>Denials per %s, %s to %s (UTC); the highest bar is %" PRIu64 ".</p>\n",
		bucket >= 86400000 ? "day" : bucket >= 3600000 ? "hour" :
		bucket >= 60000 ? "minute or more" : "second or more", a, b, max);
	fprintf(out, "<svg id=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n<rect width=\"%d\" height=\"%d\" "
		"fill=\"#f6f6f6\"/>\n", CHART_W, CHART_H + 20, CHART_W, CHART_H + 20, CHART_W,
		CHART_H);
	w = (double)CHART_W / (double)n;
	for (size_t i = 0; i < n; i++) {
		double h = max ? (double)counts[i] * (CHART_H - 10) / (double)max : 0;
		char t[FLOWREC_TIME_LEN + 1];

		if (!counts[i])
			continue;
		flowrec_time_format(start + i * bucket, t);
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"#c0392b\"><title>%s: %" PRIu64 "</title></rect>\n",
			i * w + 1, CHART_H - h, w > 3 ? w - 2 : w, h, t, counts[i]);
	}
	fprintf(out, "<text x=\"2\" y=\"%d\" font-size=\"12\">%.19s</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%.19s</text>\n"
		"</svg>\n", CHART_H + 15, a, CHART_W - 2, CHART_H + 15, b);
}

static void groups(const struct report *r, FILE *out)
{
	for (int gi = 0; gi < REPORT_GROUPS; gi++) {
		const struct report_row *rows;
		size_t n = report_rows(r, gi, &rows);

		fprintf(out, "<div class=\"g\"><h3>By %s</h3>\n<table><tr><th>%s</th>"
			"<th>denials</th><th>both ends</th><th>one end</th></tr>\n",
			report_group_name(gi), report_group_name(gi));
		for (size_t i = 0; i < n; i++) {
			fputs("<tr><td>", out);
			esc(out, rows[i].key);
			fprintf(out, "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
				"</td></tr>\n", rows[i].denials, rows[i].both_ends, rows[i].one_end);
		}
		fputs("</table></div>\n", out);
	}
}

static void flagged(const struct report *r, FILE *out)
{
	size_t n = report_flagged_count(r);

	fprintf(out, "<h2>Seen at one end only</h2>\n");
	if (!n) {
		fputs("<p>None: every denial the senders reported was recorded at both "
		      "ends.</p>\n", out);
		return;
	}
	fputs("<table><tr><th>time</th><th>flow</th><th>from</th><th>to</th><th>port</th>"
	      "<th>users</th><th>seen at</th><th>why it stands out</th></tr>\n", out);
	for (size_t i = 0; i < n && i < FLAGGED_SHOWN; i++) {
		struct report_flow_view v;
		char t[FLOWREC_TIME_LEN + 1], pb[16];

		report_flagged_get(r, i, &v);
		flowrec_time_format(v.time_ms, t);
		fprintf(out, "<tr><td>%s</td><td><code>%s</code></td><td>", t, v.id);
		esc(out, v.src_host);
		fputs("</td><td>", out);
		esc(out, v.dst_host);
		fprintf(out, "</td><td>%s/%u</td><td>", flowrec_proto_name(v.proto, pb), v.dport);
		esc(out, v.users);
		fprintf(out, "</td><td>%s</td><td>", v.at_sender ? "sender" : "receiver");
		esc(out, v.note);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
	if (n > FLAGGED_SHOWN)
		fprintf(out, "<p>... and %zu more (see --json).</p>\n", n - FLAGGED_SHOWN);
}

int report_print_html(const struct report *r, FILE *out)
{
	struct report_stats st;
	char a[FLOWREC_TIME_LEN + 1], b[FLOWREC_TIME_LEN + 1], n1[32], n2[32], n3[32], n4[32];

	report_stats_get(r, &st);
	flowrec_time_format(st.first_ms, a);
	flowrec_time_format(st.last_ms, b);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>captun audit report</title>\n<style>\n"
	      "body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1100px}\n"
	      "h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:15px}\n"
	      "table{border-collapse:collapse;margin:6px 0}\n"
	      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
	      "th{background:#eee}td:first-child,th:first-child{text-align:left}\n"
	      "table.m td{min-width:48px;text-align:center}td.z{color:#bbb}\n"
	      ".g{display:inline-block;vertical-align:top;margin-right:24px}\n"
	      ".s{font-size:16px}\n</style></head><body>\n"
	      "<h1>captun audit report: denied flows</h1>\n", out);
	fprintf(out, "<p class=\"s\" id=\"summary\"><b>%s</b> denials from %zu hosts' records",
		flowrec_count_text(st.denials, n1), st.nhosts);
	if (st.denials)
		fprintf(out, ", %s to %s", a, b);
	fprintf(out, ".<br>%s joined at both ends, %s at the sender only, %s at the "
		"receiver only, %s counted by summary lines.</p>\n",
		flowrec_count_text(st.both_ends, n1), flowrec_count_text(st.sender_only, n2),
		flowrec_count_text(st.receiver_only, n3), flowrec_count_text(st.summarised, n4));
	matrix(r, out);
	timeline(r, out);
	fputs("<h2>Groupings</h2>\n", out);
	groups(r, out);
	flagged(r, out);
	fputs("</body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}
