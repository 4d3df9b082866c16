/*
 * tools/capctl/cmd_metrics.c - 'capctl metrics': both daemons' counters in
 * the Prometheus text format (version 0.0.4), for node-exporter's
 * textfile collector: --out FILE writes FILE.tmp then renames it over
 * FILE, so that the collector never reads half a file. Every drop reason
 * capshim reports and every per-peer counter is exported as it comes, so
 * counters the daemons gain later need no change here.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"
#include "config.h"
#include "fileio.h"
#include "version.h"

enum { METRICS_ANSWER_MAX = 4 << 20 };

struct prom {
	char *buf;
	size_t len, cap;
	bool oom;
	const char *host;
};

__attribute__((format(printf, 2, 3)))
static void emit(struct prom *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (m->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(m->buf ? m->buf + m->len : NULL, m->buf ? m->cap - m->len : 0,
			      fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->oom = true;
			return;
		}
		if (m->buf && m->len + (size_t)n < m->cap) {
			m->len += (size_t)n;
			return;
		}
		m->cap = (m->cap ? m->cap * 2 : 8192) + (size_t)n;
		m->buf = realloc(m->buf, m->cap);
		m->oom = !m->buf;
	}
}

/* HELP and TYPE, once per metric name. */
static void family(struct prom *m, const char *name, const char *type, const char *help)
{
	emit(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static const char *esc(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; in && *in && o + 3 < cap; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_boolean(v))
		return json_is_true(v);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* Hosts in a mask text such as "1-3,7" ("-" is empty). */
static long long hosts_in(const char *text)
{
	long long n = 0;

	while (text && *text && *text != '-') {
		char *end;
		long a = strtol(text, &end, 10), b = a;

		if (end == text)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += b - a + 1;
		text = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void sample(struct prom *m, const char *name, const char *labels, long long v)
{
	char h[128];

	emit(m, "%s{host=\"%s\"%s%s} %lld\n", name, esc(m->host, h, sizeof(h)),
	     labels[0] ? "," : "", labels, v);
}

static void shim_metrics(struct prom *m, json_t *st)
{
	static const struct { const char *key, *name, *help; } peer_counters[] = {
		{ "rx_packets", "captun_shim_peer_rx_packets_total", "packets received from the peer" },
		{ "rx_bytes", "captun_shim_peer_rx_bytes_total", "bytes received from the peer" },
		{ "tx_packets", "captun_shim_peer_tx_packets_total", "packets sent to the peer" },
		{ "tx_bytes", "captun_shim_peer_tx_bytes_total", "bytes sent to the peer" },
		{ "rx_denied", "captun_shim_peer_rx_denied_total", "packets from the peer refused here" },
		{ "tx_denied", "captun_shim_peer_tx_denied_total", "packets to the peer refused here" },
		{ "handshakes", "captun_shim_peer_handshakes_total", "sessions set up with the peer" },
		{ "denied_reported", "captun_shim_peer_denied_reported_total", "refusals the peer reported making" },
	};
	json_t *peers = json_object_get(st, "peers"), *drops = json_object_get(st, "drops");
	json_t *p, *v;
	const char *key;
	char lab[256], e[128];
	size_t i;

	family(m, "captun_shim_epoch", "gauge", "capability epoch this host sends under");
	sample(m, "captun_shim_epoch", "", num(st, "epoch"));
	family(m, "captun_shim_reach_hosts", "gauge", "hosts this host's capability reaches now");
	sample(m, "captun_shim_reach_hosts", "",
	       hosts_in(json_string_value(json_object_get(st, "mask"))));
	family(m, "captun_shim_peers", "gauge", "peers with a valid host token");
	sample(m, "captun_shim_peers", "", (long long)json_array_size(peers));
	family(m, "captun_shim_peer_session", "gauge", "1 if a session with the peer is up");
	json_array_foreach(peers, i, p) {
		snprintf(lab, sizeof(lab), "peer=\"%s\"",
			 esc(json_string_value(json_object_get(p, "name")), e, sizeof(e)));
		sample(m, "captun_shim_peer_session", lab, num(p, "session"));
	}
	for (size_t c = 0; c < sizeof(peer_counters) / sizeof(peer_counters[0]); c++) {
		family(m, peer_counters[c].name, "counter", peer_counters[c].help);
		json_array_foreach(peers, i, p) {
			snprintf(lab, sizeof(lab), "peer=\"%s\"",
				 esc(json_string_value(json_object_get(p, "name")), e, sizeof(e)));
			sample(m, peer_counters[c].name, lab, num(p, peer_counters[c].key));
		}
	}
	family(m, "captun_shim_drops_total", "counter", "packets dropped, by reason");
	json_object_foreach(drops, key, v) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", esc(key, e, sizeof(e)));
		sample(m, "captun_shim_drops_total", lab, json_is_integer(v) ?
		       (long long)json_integer_value(v) : 0);
	}
	v = json_object_get(st, "conntrack");
	family(m, "captun_shim_conntrack_entries", "gauge", "flows remembered");
	sample(m, "captun_shim_conntrack_entries", "", num(v, "entries"));
}

static void capd_metrics(struct prom *m, json_t *st)
{
	json_t *ht = json_object_get(st, "host_token");
	json_t *shim = json_object_get(st, "shim");

	family(m, "captun_capd_sessions", "gauge", "login sessions open on this host");
	sample(m, "captun_capd_sessions", "", num(st, "sessions"));
	family(m, "captun_capd_isolated", "gauge", "1 if the host is isolated (empty capability)");
	sample(m, "captun_capd_isolated", "", num(st, "isolated"));
	family(m, "captun_capd_epoch", "gauge", "capability epoch capshim last confirmed");
	sample(m, "captun_capd_epoch", "", num(st, "epoch"));
	family(m, "captun_capd_shim_in_sync", "gauge", "1 if capshim holds capd's capability");
	sample(m, "captun_capd_shim_in_sync", "", num(shim, "in_sync"));
	family(m, "captun_capd_revocation_serial", "gauge", "serial of the revocation list held");
	sample(m, "captun_capd_revocation_serial", "", num(st, "revocation_serial"));
	family(m, "captun_capd_host_token_valid", "gauge", "1 if this host's token verifies");
	sample(m, "captun_capd_host_token_valid", "", num(ht, "valid"));
	family(m, "captun_capd_host_token_expiry_timestamp_seconds", "gauge",
	       "when this host's token expires (unix time)");
	sample(m, "captun_capd_host_token_expiry_timestamp_seconds", "", num(ht, "not_after"));
	family(m, "captun_capd_breakglass_logins_total", "counter",
	       "logins let in by break-glass since capd started");
	sample(m, "captun_capd_breakglass_logins_total", "", num(st, "breakglass_logins"));
	family(m, "captun_capd_logins_refused_total", "counter",
	       "logins refused since capd started");
	sample(m, "captun_capd_logins_refused_total", "", num(st, "logins_refused"));
}

/* One daemon's status answer, or NULL (and a note) if it does not answer. */
static json_t *status_of(const char *what, const char *path)
{
	json_error_t jerr;
	char *answer = NULL;
	json_t *st = NULL;
	int ret = sockq_request(path, "{\"cmd\":\"status\"}\n", METRICS_ANSWER_MAX, &answer);

	if (ret == 0)
		st = json_loads(answer, 0, &jerr);
	if (st && !json_is_true(json_object_get(st, "ok"))) {
		json_decref(st);
		st = NULL;
	}
	if (!st)
		util_note("%s at %s does not answer (%s): its metrics say up 0", what, path,
			  ret < 0 ? strerror(-ret) : "not a status answer");
	free(answer);
	return st;
}

/* capctl metrics [--shim SOCKET] [--capd SOCKET] [--out FILE] */
int cmd_metrics(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "shim", required_argument, NULL, 's' },
		{ "capd", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *conf = getenv("CAPTUN_CONFIG"), *out = NULL;
	char shim[108], capd[108];
	struct prom m = { 0 };
	json_t *sst, *cst;
	int c, ret;

	if (!conf || !*conf)
		conf = CAPTUN_CONFIG_PATH;
	config_shim_control(conf, shim, sizeof(shim));
	if (!config_value(conf, "capd", "socket", capd, sizeof(capd)))
		snprintf(capd, sizeof(capd), "%s", CAPTUN_CAPD_SOCKET);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 's')
			snprintf(shim, sizeof(shim), "%s", optarg);
		else if (c == 'c')
			snprintf(capd, sizeof(capd), "%s", optarg);
		else if (c == 'o')
			out = optarg;
		else if ((ret = cli_common(ctx, c, "metrics", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (optind < argc)
		return help_usage("metrics", "unexpected argument '%s'", argv[optind]);
	sst = status_of("capshim", shim);
	cst = status_of("capd", capd);
	m.host = json_string_value(json_object_get(sst ? sst : cst, "host"));
	if (!m.host)
		m.host = "";
	family(&m, "captun_up", "gauge", "1 if the daemon answered its control socket");
	emit(&m, "captun_up{daemon=\"capshim\"} %d\ncaptun_up{daemon=\"capd\"} %d\n",
	     sst != NULL, cst != NULL);
	family(&m, "captun_build_info", "gauge", "captun's version");
	emit(&m, "captun_build_info{version=\"%s\"} 1\n", CAPTUN_VERSION);
	if (sst)
		shim_metrics(&m, sst);
	if (cst)
		capd_metrics(&m, cst);
	ret = CAPCTL_OK;
	if (m.oom) {
		ret = util_fail(CAPCTL_SYS, "", "out of memory");
	} else if (out_json()) {
		out_set("capshim", sst ? json_incref(sst) : json_null());
		out_set("capd", cst ? json_incref(cst) : json_null());
	} else if (out) {
		int err = fileio_write_atomic(out, m.buf, m.len, 0644);

		if (err < 0)
			ret = util_io_fail(err, "write", out);
	} else {
		fwrite(m.buf, 1, m.len, stdout);
	}
	if (ret == CAPCTL_OK && !sst && !cst)
		ret = util_fail(CAPCTL_FAIL, "are capshim and capd running? (--shim, --capd)",
				"neither daemon answered");
	free(m.buf);
	json_decref(sst);
	json_decref(cst);
	return ret;
}
