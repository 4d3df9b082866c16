/*
 * tools/capctl/cmd_audit.c - 'capctl audit verify|report|pull': the
 * denied-flow records (common/flowrec.h) every host's capshim writes.
 *
 *   verify FILE...   is each host's chain intact? the first broken line
 *   report FILE...   joined, filtered, grouped (report.c, report_html.c)
 *   pull --capd SOCKET... [--out DIR]
 *                    collects the records each capd serves ('flows'
 *                    verb), appending to DIR/HOST.flows from a cursor
 *                    kept in DIR/HOST.cursor
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "capctl.h"
#include "report.h"

enum audit_const {
	PULL_ANSWER_MAX = 64 << 20,
	PULL_BATCH = 20000,
	VERIFY_HOSTS_MAX = 1024,
};

/* ---- verify ------------------------------------------------------------- */

/* One host's chain while its files are read in the order given. */
struct chain_of {
	char host[FLOWREC_NAME_MAX + 1];
	struct flowrec_chain c;
	bool broken;
};

static struct chain_of *chain_for(struct chain_of *tab, size_t *n, const char *host)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(tab[i].host, host) == 0)
			return &tab[i];
	if (*n == VERIFY_HOSTS_MAX)
		return NULL;
	memset(&tab[*n], 0, sizeof(tab[*n]));
	snprintf(tab[*n].host, sizeof(tab[*n].host), "%s", host);
	flowrec_chain_init(&tab[*n].c);
	return &tab[(*n)++];
}

/* The "host" of a line, if it parses that far. */
static void line_host(const char *line, size_t len, char out[FLOWREC_NAME_MAX + 1])
{
	struct flowrec r;
	char err[8];

	out[0] = '\0';
	if (flowrec_parse(line, len, &r, err, sizeof(err)))
		memcpy(out, r.host, sizeof(r.host));
}

static int verify_file(const char *path, struct chain_of *tab, size_t *ntab,
		       bool quiet)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL, host[FLOWREC_NAME_MAX + 1], last_host[FLOWREC_NAME_MAX + 1] = "";
	size_t cap = 0;
	uint64_t no = 0, first = 0, lastseq = 0;
	ssize_t n;
	int bad = 0;

	if (!f)
		return util_io_fail(-errno, "read", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct chain_of *ch;
		char err[256];

		no++;
		if (line[n - 1] == '\n')
			n--;
		line_host(line, (size_t)n, host);
		if (!host[0])
			memcpy(host, last_host, sizeof(host));
		ch = chain_for(tab, ntab, host);
		if (!ch) {
			bad = 1;
			fprintf(stderr, "capctl: %s: more than %d hosts\n", path, VERIFY_HOSTS_MAX);
			break;
		}
		memcpy(last_host, host, sizeof(last_host));
		if (ch->broken)
			continue;
		if (!flowrec_chain_step(&ch->c, line, (size_t)n, err, sizeof(err))) {
			printf("%s:%" PRIu64 ": BROKEN (host %s): %s\n", path, no,
			       host[0] ? host : "?", err);
			ch->broken = true;
			bad = 1;
			continue;
		}
		if (!first)
			first = ch->c.seq;
		lastseq = ch->c.seq;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!bad && !quiet)
		printf("%s: intact, %" PRIu64 " line%s, seq %" PRIu64 "..%" PRIu64 "%s\n", path,
		       no, no == 1 ? "" : "s", first, lastseq,
		       first > 1 ? " (earlier records are not in this file)" : "");
	return bad;
}

static int audit_verify(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quiet", no_argument, NULL, 'q' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	static struct chain_of tab[VERIFY_HOSTS_MAX];
	size_t ntab = 0;
	bool quiet = false;
	int c, ret, bad = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh", lo, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if ((ret = cli_common(ctx, c, "audit", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (optind >= argc)
		return help_usage("audit", "audit verify needs FILE...");
	for (int i = optind; i < argc; i++) {
		ret = verify_file(argv[i], tab, &ntab, quiet);
		if (ret > 1)
			return ret;
		bad |= ret;
	}
	if (bad)
		return util_fail(CAPCTL_FAIL, "compare with the host's own files; a changed, "
				 "removed or inserted line breaks the chain at the next one",
				 "the chain is broken (see above)");
	if (!quiet)
		for (size_t i = 0; i < ntab; i++)
			printf("host %s: %" PRIu64 " records chained, seq %" PRIu64 "..%" PRIu64
			       "; the last line is anchored only by the records after it\n",
			       tab[i].host[0] ? tab[i].host : "?", tab[i].c.lines,
			       tab[i].c.first_seq, tab[i].c.seq);
	return CAPCTL_OK;
}

/* ---- report ------------------------------------------------------------- */

static int audit_report(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'U' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "html", required_argument, NULL, 'w' },
		{ "flows", no_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	struct report_filter f = { .port = -1 };
	const char *html = NULL;
	bool json = false, csv = false, flows = false;
	uint64_t v, limit = 0;
	struct report *r;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'u':
			if (!flowrec_time_parse(optarg, &v))
				return help_usage("audit", "--%s wants a UTC time like 2025-01-31 or "
						  "2025-01-31T14:00:00Z, not '%s'",
						  c == 's' ? "since" : "until", optarg);
			*(c == 's' ? &f.since_ms : &f.until_ms) = v;
			break;
		case 'U':
			f.user = optarg;
			break;
		case 'H':
			f.host = optarg;
			break;
		case 'p':
			if (!util_parse_uint(optarg, 65535, &v))
				return help_usage("audit", "--port wants 0..65535, not '%s'", optarg);
			f.port = (int)v;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			csv = true;
			break;
		case 'w':
			html = optarg;
			break;
		case 'f':
			flows = true;
			break;
		case 'l':
			if (!util_parse_uint(optarg, UINT32_MAX, &limit))
				return help_usage("audit", "--limit wants a number, not '%s'", optarg);
			break;
		default:
			if ((ret = cli_common(ctx, c, "audit", argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (json && csv)
		return help_usage("audit", "give --json or --csv, not both");
	if (optind >= argc)
		return help_usage("audit", "audit report needs FILE... (records from "
				  "'capctl audit pull', or a host's flows.log; - for stdin)");
	r = report_new(&f);
	if (!r)
		return util_fail(CAPCTL_SYS, "free some memory", "out of memory");
	for (int i = optind; i < argc; i++) {
		ret = report_add_file(r, argv[i]);
		if (ret < 0) {
			report_free(r);
			return ret == -ENOMEM ? util_fail(CAPCTL_SYS, "free some memory",
							  "out of memory") :
			       util_io_fail(ret, "read", argv[i]);
		}
	}
	ret = report_finish(r);
	if (ret == 0 && html) {
		FILE *out = fopen(html, "we");

		if (!out) {
			report_free(r);
			return util_io_fail(-errno, "write", html);
		}
		ret = report_print_html(r, out);
		if (fclose(out) != 0 && ret == 0)
			ret = -errno;
		if (ret < 0) {
			report_free(r);
			return util_io_fail(ret, "write", html);
		}
	}
	if (ret == 0)
		ret = json ? report_print_json(r, stdout, flows, (size_t)limit) :
		      csv ? report_print_csv(r, stdout) :
		      report_print_text(r, stdout, flows, (size_t)limit);
	report_free(r);
	if (ret == -ENOMEM)
		return util_fail(CAPCTL_SYS, "free some memory", "out of memory");
	return ret < 0 ? util_fail(CAPCTL_SYS, "check where the output goes",
				   "cannot write the report") : CAPCTL_OK;
}

/* ---- pull --------------------------------------------------------------- */

static uint64_t cursor_read(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	uint64_t v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		util_parse_uint(strtok(buf, "\n"), UINT64_MAX, &v);
	fclose(f);
	return v;
}

/* Appends lines to DIR/HOST.flows (fsync'd), then moves the cursor. */
static int pull_store(const char *dir, const char *host, json_t *lines, uint64_t last)
{
	char path[PATH_MAX], cur[PATH_MAX], num[32];
	size_t i;
	json_t *l;
	int fd, ret = 0;

	if (!util_join(path, sizeof(path) - 8, dir, host) || !util_join(cur, sizeof(cur) - 8,
									dir, host))
		return -ENAMETOOLONG;
	strcat(path, ".flows");
	strcat(cur, ".cursor");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	json_array_foreach(lines, i, l) {
		const char *s = json_string_value(l);
		size_t n = json_string_length(l);

		if (!s)
			continue;
		if (write(fd, s, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
			ret = -errno;
			break;
		}
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret == 0) {
		snprintf(num, sizeof(num), "%" PRIu64 "\n", last);
		ret = util_write_text(cur, num, 0600);
	}
	return ret;
}

/* One capd: every record after the cursor, in batches. */
static int pull_one(const char *sock, const char *dir, bool to_stdout, uint64_t since_opt)
{
	char req[128], cpath[PATH_MAX], host[FLOWREC_NAME_MAX + 1] = "";
	uint64_t since = since_opt, got = 0, lost = 0, first = 0;
	bool more = true, cursor_known = false;
	int ret;

	while (more) {
		json_t *ans, *lines;
		char *text = NULL;
		const char *h;

		snprintf(req, sizeof(req), "{\"cmd\":\"flows\",\"since\":%" PRIu64 ",\"max\":%d}\n",
			 since, PULL_BATCH);
		ret = sockq_request(sock, req, PULL_ANSWER_MAX, &text);
		if (ret < 0)
			return util_fail(CAPCTL_SYS, "is capd running there, and are you root?",
					 "%s: %s", sock, strerror(-ret));
		ans = json_loads(text, 0, NULL);
		free(text);
		if (!json_is_true(json_object_get(ans, "ok")) ||
		    !(h = json_string_value(json_object_get(ans, "host"))) ||
		    !token_name_valid(h) || !json_is_array(lines = json_object_get(ans, "lines"))) {
			const char *e = json_string_value(json_object_get(ans, "error"));

			ret = util_fail(CAPCTL_FAIL, "a capd of this version answers 'flows' to root",
					"%s: %s", sock, e ? e : "unexpected answer");
			json_decref(ans);
			return ret;
		}
		snprintf(host, sizeof(host), "%s", h);
		if (!cursor_known && !to_stdout) {
			char p[PATH_MAX];

			if (!util_join(p, sizeof(p) - 8, dir, host)) {
				json_decref(ans);
				return util_fail(CAPCTL_USAGE, "", "%s: path too long", dir);
			}
			snprintf(cpath, sizeof(cpath), "%s.cursor", p);
			cursor_known = true;
			if (!since_opt && cursor_read(cpath) != since) {
				since = cursor_read(cpath);
				json_decref(ans);
				continue;	/* ask again from the stored cursor */
			}
		}
		if (!first && json_array_size(lines))
			first = since + 1;
		lost += (uint64_t)json_integer_value(json_object_get(ans, "lost"));
		more = json_is_true(json_object_get(ans, "more"));
		got += json_array_size(lines);
		if (to_stdout) {
			size_t i;
			json_t *l;

			json_array_foreach(lines, i, l)
				printf("%s\n", json_string_value(l));
		} else if ((ret = pull_store(dir, host, lines,
					     (uint64_t)json_integer_value(json_object_get(ans, "last")))) < 0) {
			json_decref(ans);
			return util_io_fail(ret, "write into", dir);
		}
		since = (uint64_t)json_integer_value(json_object_get(ans, "last"));
		json_decref(ans);
		if (lost)
			since_opt = 0;
	}
	if (!to_stdout)
		fprintf(stderr, "%s: %" PRIu64 " new record%s (up to seq %" PRIu64 ") into %s/%s.flows%s\n",
			host, got, got == 1 ? "" : "s", since, dir, host,
			lost ? "; some were rotated away before collection" : "");
	if (lost)
		fprintf(stderr, "capctl: %s: %" PRIu64 " record%s were rotated away on the host "
			"before they were collected (pull more often, or raise its "
			"--flow-log-files)\n", host, lost, lost == 1 ? "" : "s");
	return CAPCTL_OK;
}

static int audit_pull(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "capd", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 's' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *socks[256], *dir = "captun-flows";
	size_t nsocks = 0;
	uint64_t since = 0;
	int c, ret, worst = CAPCTL_OK;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (nsocks == sizeof(socks) / sizeof(socks[0]))
				return help_usage("audit", "at most 256 --capd at once");
			socks[nsocks++] = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case 's':
			if (!util_parse_uint(optarg, INT64_MAX, &since))
				return help_usage("audit", "--since wants a seq, not '%s'", optarg);
			break;
		default:
			if ((ret = cli_common(ctx, c, "audit", argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (optind < argc)
		return help_usage("audit", "unexpected argument '%s'", argv[optind]);
	if (!nsocks)
		socks[nsocks++] = "/run/captun/capd.sock";
	if (strcmp(dir, "-") != 0 && (ret = util_mkdir_p(dir)) < 0)
		return util_io_fail(ret, "create", dir);
	for (size_t i = 0; i < nsocks; i++) {
		ret = pull_one(socks[i], dir, strcmp(dir, "-") == 0, since);
		if (ret > worst)
			worst = ret;
	}
	return worst;
}

int cmd_audit(struct capctl_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return help_usage("audit", "expected 'capctl audit verify|report|pull'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_show("audit");
	if (strcmp(argv[1], "verify") == 0)
		return audit_verify(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return audit_report(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "pull") == 0)
		return audit_pull(ctx, argc - 1, argv + 1);
	return help_usage("audit", "unknown 'audit %s'; expected verify, report or pull",
			  argv[1]);
}
