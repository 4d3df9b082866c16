/*
 * tools/capctl/cmd_shim.c - 'capctl shim status': a host's data plane as
 * capshim reports it on its control socket (epoch, mask, peers, sessions,
 * packet and byte counters, drops by reason).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "capctl.h"
#include "config.h"
#include "version.h"

enum shim_limit {
	SHIM_ANSWER_MAX = 4 << 20,
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : "-";
}

static void num(char *buf, size_t cap, json_t *o, const char *key)
{
	snprintf(buf, cap, "%lld", (long long)json_integer_value(json_object_get(o, key)));
}

/* Attach mode's lines: where it is attached, its programs, maps and passes. */
static void print_attach(json_t *st)
{
	json_t *progs = json_object_get(st, "programs"), *maps = json_object_get(st, "maps");
	json_t *cnt = json_object_get(st, "counters"), *v;
	const char *key;
	size_t i, n = 0;

	printf("attached to %s (MTU %lld, routes to captun hosts %lld), pinned in %s%s; "
	       "cgroup hooks on %s; non-captun peers: %s\n",
	       str(st, "interface"), (long long)json_integer_value(json_object_get(st, "mtu")),
	       (long long)json_integer_value(json_object_get(st, "route_mtu")),
	       str(st, "bpf_dir"), json_is_true(json_object_get(st, "adopted")) ? " (adopted)" : "",
	       str(st, "cgroup"), str(st, "non_captun"));
	printf("programs:");
	json_array_foreach(progs, i, v) {
		printf(" %s%s", str(v, "name"), json_is_true(json_object_get(v, "attached")) ? "" : "(not attached)");
		n += json_is_true(json_object_get(v, "attached"));
	}
	printf(" (%zu of %zu attached)\nmaps:", n, json_array_size(progs));
	json_object_foreach(maps, key, v)
		printf(" %s %lld/%lld", key, (long long)json_integer_value(json_object_get(v, "entries")),
		       (long long)json_integer_value(json_object_get(v, "max")));
	printf("\npassed:");
	json_object_foreach(cnt, key, v)
		printf(" %s=%lld", key, (long long)json_integer_value(v));
	printf("\n");
}

static int print(json_t *st)
{
	static const char *const head[] = {
		"PEER", "BIT", "SESSION", "ENDPOINT", "EPOCH", "REACHES US",
		"RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES", "DENIED RX/TX",
	};
	struct util_table t;
	json_t *peers = json_object_get(st, "peers"), *p, *drops, *v;
	const char *key;
	size_t i;
	bool any = false;

	printf("host %s (bit %lld) on %s: epoch %lld, may reach bits %s, users [%s]%s%s\n",
	       str(st, "host"), (long long)json_integer_value(json_object_get(st, "bit")),
	       str(st, "interface"),
	       (long long)json_integer_value(json_object_get(st, "epoch")),
	       str(st, "mask"), json_string_value(json_object_get(st, "users")) ?: "",
	       json_is_true(json_object_get(st, "strict")) ? ", strict" : "",
	       json_is_true(json_object_get(st, "offload")) ? ", offloads" : "");
	if (strcmp(str(st, "mode"), "attach") == 0)
		print_attach(st);
	util_table_init(&t, sizeof(head) / sizeof(head[0]));
	util_table_row(&t, head);
	json_array_foreach(peers, i, p) {
		char bit[16], epoch[16], rxp[24], rxb[24], txp[24], txb[24], den[48];
		const char *row[sizeof(head) / sizeof(head[0])];

		num(bit, sizeof(bit), p, "bit");
		num(epoch, sizeof(epoch), p, "epoch");
		num(rxp, sizeof(rxp), p, "rx_packets");
		num(rxb, sizeof(rxb), p, "rx_bytes");
		num(txp, sizeof(txp), p, "tx_packets");
		num(txb, sizeof(txb), p, "tx_bytes");
		snprintf(den, sizeof(den), "%lld/%lld",
			 (long long)json_integer_value(json_object_get(p, "rx_denied")),
			 (long long)json_integer_value(json_object_get(p, "tx_denied")));
		row[0] = str(p, "name");
		row[1] = bit;
		row[2] = json_is_true(json_object_get(p, "session")) ? "up" :
			 json_is_true(json_object_get(p, "handshake_pending")) ? "handshake" : "down";
		row[3] = str(p, "endpoint");
		row[4] = epoch;
		row[5] = json_is_true(json_object_get(p, "reaches_us")) ? "yes" : "no";
		row[6] = rxp;
		row[7] = rxb;
		row[8] = txp;
		row[9] = txb;
		row[10] = den;
		util_table_row(&t, row);
	}
	if (util_table_print(&t, "  ") < 0) {
		util_table_free(&t);
		return util_fail(CAPCTL_SYS, "free some memory", "out of memory");
	}
	util_table_free(&t);
	drops = json_object_get(st, "drops");
	printf("drops:");
	json_object_foreach(drops, key, v)
		if (json_integer_value(v)) {
			printf(" %s=%lld", key, (long long)json_integer_value(v));
			any = true;
		}
	printf("%s\n", any ? "" : " none");
	v = json_object_get(st, "nfqueue");
	if (json_is_object(v))
		printf("nfqueue: reader %s, queue %lld, %lld accepted, %lld denied (asked), "
		       "%lld allowed by the reader's table (gen %lld, reader has %lld): %s\n",
		       str(v, "reader"), (long long)json_integer_value(json_object_get(v, "queue")),
		       (long long)json_integer_value(json_object_get(v, "accepted")),
		       (long long)json_integer_value(json_object_get(v, "denied")),
		       (long long)json_integer_value(json_object_get(v, "local")),
		       (long long)json_integer_value(json_object_get(json_object_get(v, "table"), "gen")),
		       (long long)json_integer_value(json_object_get(json_object_get(v, "table"),
								     "reader_gen")),
		       str(v, "note"));
	v = json_object_get(st, "flows");
	if (json_is_object(v))
		printf("flow records: %lld taken, %lld written one by one, %lld in summaries, "
		       "%lld lost, %lld rotations\n",
		       (long long)json_integer_value(json_object_get(v, "records")),
		       (long long)json_integer_value(json_object_get(v, "lines")),
		       (long long)json_integer_value(json_object_get(v, "summarised")),
		       (long long)json_integer_value(json_object_get(v, "lost")),
		       (long long)json_integer_value(json_object_get(v, "rotations")));
	return CAPCTL_OK;
}

int cmd_shim(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *conf = getenv("CAPTUN_CONFIG");
	char path[108], *answer = NULL;
	json_error_t jerr;
	json_t *st;
	bool json = false;
	int c, ret;

	config_shim_control(conf && *conf ? conf : CAPTUN_CONFIG_PATH, path, sizeof(path));
	if (argc < 2 || strcmp(argv[1], "status") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
			return help_show("shim");
		return help_usage("shim", "expected 'capctl shim status'");
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'i':
			snprintf(path, sizeof(path), "%s/%s.sock", CAPTUN_RUN_DIR, optarg);
			break;
		case 'j':
			json = true;
			break;
		default:
			if ((ret = cli_common(ctx, c, "shim", argv + 1)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (optind < argc - 1)
		return help_usage("shim", "unexpected argument '%s'", argv[optind + 1]);
	json |= out_json();
	out_json_set(json);
	ret = sockq_request(path, "{\"cmd\":\"status\"}\n", SHIM_ANSWER_MAX, &answer);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "is capshim running? (--socket PATH or --ifname NAME)",
				 "%s: %s", path, strerror(-ret));
	st = json_loads(answer, 0, &jerr);
	if (!st || !json_is_true(json_object_get(st, "ok"))) {
		ret = util_fail(CAPCTL_FAIL, "check capshim's log",
				"%s: unexpected answer: %.200s", path, answer);
		goto out;
	}
	if (json) {
		out_json_own();
		fputs(answer, stdout);
	}
	else
		ret = print(st);
out:
	json_decref(st);
	free(answer);
	return ret;
}
