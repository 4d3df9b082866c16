/*
 * tools/capctl/cmd_why.c - 'capctl why SRC DST [--user U]... [--port P]':
 * would SRC reach DST, and if not, exactly which grant lacks which bit,
 * with the remedy. The answer comes from the policy (the grants) and,
 * where SRC's capd is reachable (--capd SOCKET), from who is logged in
 * on SRC now and the capability SRC holds: the same AND capd computes
 * (host grant AND every logged-in user's grant).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "capctl.h"

enum why_const {
	WHY_USERS_MAX = 64,
	WHY_ANSWER_MAX = 4 << 20,
	WHY_TEXT = 4096,
};

/* One user behind SRC's capability, and how we know of it. */
struct why_user {
	const char *name;
	bool in_policy, allows;
	bool live;			/* from capd's session list */
	uint64_t since;			/* unix seconds */
	char service[64];
	long pid;
};

struct why {
	const struct policy_host *src, *dst;
	struct why_user users[WHY_USERS_MAX];
	size_t nusers;
	bool host_allows, allowed;
	bool live;			/* capd answered */
	bool live_allows, live_isolated;
	char live_mask[256];
	int port;
};

/* capd's sessions on SRC: the users behind its capability now. */
static int live_state(struct why *w, const char *sock, json_t **keep)
{
	char *text = NULL;
	json_t *list, *st, *sessions, *s;
	const char *host, *mask;
	struct mask m;
	size_t i;
	int ret;

	ret = sockq_request(sock, "{\"cmd\":\"status\"}\n", WHY_ANSWER_MAX, &text);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "is capd running on the source host?", "%s: %s",
				 sock, strerror(-ret));
	st = json_loads(text, 0, NULL);
	free(text);
	host = json_string_value(json_object_get(st, "host"));
	if (!host || strcmp(host, w->src->name) != 0) {
		ret = util_fail(CAPCTL_FAIL, "give the capd socket of the source host",
				"%s is the capd of host %s, not of %s", sock, host ? host : "?",
				w->src->name);
		json_decref(st);
		return ret;
	}
	mask = json_string_value(json_object_get(st, "mask"));
	snprintf(w->live_mask, sizeof(w->live_mask), "%s", mask ? mask : "");
	w->live_isolated = json_is_true(json_object_get(st, "isolated"));
	w->live_allows = mask && mask_parse(mask, &m) && mask_bit_test(&m, w->dst->bit);
	json_decref(st);
	ret = sockq_request(sock, "{\"cmd\":\"list\"}\n", WHY_ANSWER_MAX, &text);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "is capd running on the source host?", "%s: %s",
				 sock, strerror(-ret));
	list = json_loads(text, 0, NULL);
	free(text);
	sessions = json_object_get(list, "sessions");
	json_array_foreach(sessions, i, s) {
		const char *u = json_string_value(json_object_get(s, "user"));
		bool seen = false;

		if (!u)
			continue;
		for (size_t k = 0; k < w->nusers; k++)
			seen |= strcmp(w->users[k].name, u) == 0;
		if (seen || w->nusers == WHY_USERS_MAX)
			continue;
		w->users[w->nusers].name = u;
		w->users[w->nusers].live = true;
		w->users[w->nusers].since =
			(uint64_t)json_integer_value(json_object_get(s, "opened_at"));
		w->users[w->nusers].pid = (long)json_integer_value(json_object_get(s, "pid"));
		snprintf(w->users[w->nusers].service, sizeof(w->users[0].service), "%s",
			 json_string_value(json_object_get(s, "service")) ?: "?");
		w->nusers++;
	}
	w->live = true;
	*keep = list;		/* the names point into it */
	return CAPCTL_OK;
}

static void decide(struct why *w, const struct policy *p)
{
	w->host_allows = mask_bit_test(&w->src->grant, w->dst->bit);
	w->allowed = w->host_allows;
	for (size_t i = 0; i < w->nusers; i++) {
		const struct policy_user *u = policy_user_find(p, w->users[i].name);

		w->users[i].in_policy = u != NULL;
		w->users[i].allows = u && mask_bit_test(&u->grant, w->dst->bit);
		w->allowed &= w->users[i].allows;
	}
}

static void hhmm(uint64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, 16, "%H:%M", &tm);
}

/* The sentence; remedies into rem (one per line). */
static void explain(const struct why *w, char *out, size_t cap, char *rem, size_t remcap)
{
	size_t n = 0, r = 0;

	n += (size_t)snprintf(out + n, cap - n, "%s: ", w->allowed ? "allowed" : "denied");
	for (size_t i = 0; i < w->nusers && n < cap; i++) {
		const struct why_user *u = &w->users[i];
		char t[16];

		if (u->live) {
			hhmm(u->since, t);
			n += (size_t)snprintf(out + n, cap - n, "%s is logged in on %s (since %s, "
					      "via %s pid %ld) and ", u->name, w->src->name, t,
					      u->service, u->pid);
		}
		if (!u->in_policy)
			n += (size_t)snprintf(out + n, cap - n, "user %s is not in the policy "
					      "(capd refuses its logins, or isolates %s); ", u->name,
					      w->src->name);
		else
			n += (size_t)snprintf(out + n, cap - n, "%s's grant %s %s; ", u->name,
					      u->allows ? "allows" : "lacks", w->dst->name);
		if (u->in_policy && !u->allows && r < remcap)
			r += (size_t)snprintf(rem + r, remcap - r, "capctl grant %s %s\n", u->name,
					      w->dst->name);
		if (u->in_policy && !u->allows && u->live && r < remcap)
			r += (size_t)snprintf(rem + r, remcap - r, "or: %s logs out of %s (and "
					      "leaves no process behind)\n", u->name, w->src->name);
		if (!u->in_policy && r < remcap)
			r += (size_t)snprintf(rem + r, remcap - r, "capctl user add %s --reach %s\n",
					      u->name, w->dst->name);
	}
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%s's own grant %s %s", w->src->name,
				      w->host_allows ? "allows" : "lacks", w->dst->name);
	if (!w->host_allows && r < remcap)
		r += (size_t)snprintf(rem + r, remcap - r, "capctl grant %s %s\n", w->src->name,
				      w->dst->name);
	if (!w->nusers && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " (nobody %s on %s)",
				      w->live ? "is logged in" : "named with --user", w->src->name);
	if (w->port >= 0 && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "; port %d does not change this: captun "
				      "decides per pair of hosts", w->port);
	if (w->live && w->live_allows != w->allowed && n < cap)
		snprintf(out + n, cap - n, ".\nNote: %s holds capability %s%s now, which %s %s: "
			 "its tokens are not those of this policy (run 'capctl issue' and "
			 "publish them)", w->src->name, w->live_mask[0] ? w->live_mask : "-",
			 w->live_isolated ? " (isolated)" : "",
			 w->live_allows ? "allows" : "lacks", w->dst->name);
}

static int print_json(const struct why *w, const char *text, const char *rem)
{
	json_t *users = json_array(), *remedies = json_array(), *o;
	char *out;

	for (size_t i = 0; i < w->nusers; i++) {
		json_t *u = json_pack("{s:s, s:b, s:b, s:b}", "user", w->users[i].name,
				      "in_policy", w->users[i].in_policy,
				      "allows", w->users[i].allows, "logged_in", w->users[i].live);

		if (u && w->users[i].live) {
			json_object_set_new(u, "since", json_integer((json_int_t)w->users[i].since));
			json_object_set_new(u, "service", json_string(w->users[i].service));
			json_object_set_new(u, "pid", json_integer(w->users[i].pid));
		}
		json_array_append_new(users, u);
	}
	for (const char *p = rem; *p;) {
		size_t l = strcspn(p, "\n");

		json_array_append_new(remedies, json_stringn(p, l));
		p += l + (p[l] == '\n');
	}
	o = json_pack("{s:s, s:s, s:b, s:{s:s, s:b}, s:o, s:s, s:o}",
		      "src", w->src->name, "dst", w->dst->name, "allowed", w->allowed,
		      "host_grant", "host", w->src->name, "allows", w->host_allows,
		      "users", users, "explanation", text, "remedies", remedies);
	if (o && w->live)
		json_object_set_new(o, "live", json_pack("{s:s, s:b, s:b}", "mask", w->live_mask,
							 "allows", w->live_allows,
							 "isolated", w->live_isolated));
	if (o && w->port >= 0)
		json_object_set_new(o, "port", json_integer(w->port));
	out = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!out)
		return util_fail(CAPCTL_SYS, "free some memory", "out of memory");
	puts(out);
	free(out);
	return CAPCTL_OK;
}

int cmd_why(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "port", required_argument, NULL, 'p' },
		{ "capd", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	char text[WHY_TEXT], rem[WHY_TEXT] = "";
	const char *sock = NULL;
	struct policy *p = NULL;
	json_t *keep = NULL;
	struct why w;
	bool json = false;
	uint64_t v;
	int c, ret;

	memset(&w, 0, sizeof(w));
	w.port = -1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":u:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (w.nusers == WHY_USERS_MAX)
				return help_usage("why", "at most %d --user", WHY_USERS_MAX);
			w.users[w.nusers++].name = optarg;
			break;
		case 'p':
			if (!util_parse_uint(optarg, 65535, &v))
				return help_usage("why", "--port wants 0..65535, not '%s'", optarg);
			w.port = (int)v;
			break;
		case 'c':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			if ((ret = cli_common(ctx, c, "why", argv)) != CAPCTL_GO_ON)
				return ret;
		}
	}
	if (argc - optind != 2)
		return help_usage("why", "expected SRC DST (two host names)");
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK || (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = polfile_parse(ctx, &p)) != CAPCTL_OK)
		return ret;
	w.src = policy_host_find(p, argv[optind]);
	w.dst = policy_host_find(p, argv[optind + 1]);
	if (!w.src || !w.dst) {
		ret = util_fail(CAPCTL_FAIL, "'capctl status' lists the hosts", "no host '%s' "
				"in the policy", w.src ? argv[optind + 1] : argv[optind]);
		goto out;
	}
	if (sock && (ret = live_state(&w, sock, &keep)) != CAPCTL_OK)
		goto out;
	decide(&w, p);
	explain(&w, text, sizeof(text), rem, sizeof(rem));
	if (json) {
		ret = print_json(&w, text, rem);
	} else {
		printf("%s\n", text);
		if (rem[0]) {
			printf("remedy:\n");
			for (const char *q = rem; *q;) {
				size_t l = strcspn(q, "\n");

				printf("  %.*s\n", (int)l, q);
				q += l + (q[l] == '\n');
			}
		}
		ret = CAPCTL_OK;
	}
out:
	json_decref(keep);
	policy_free(p);
	return ret;
}
