/*
 * tools/capctl/cmd_token.c - 'capctl token show': decode a token file,
 * verify it against the authority key and the revocation list, and print
 * every field, as text or JSON. Read-only: takes no lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capctl.h"

/* What was learnt about one token. */
struct shown {
	const char *file;
	struct token t;
	enum token_status status;	/* of token_verify */
	bool have_pk;
	char problem[160];		/* why it could not be fully verified */
	bool have_rl;
	uint64_t rl_serial;
	uint32_t rl_count;
	struct policy *p;		/* DIR/policy.json, if it loads */
	int policy_match;		/* -1 unknown, 0 differs, 1 matches */
};

/* --authority wins over DIR/authority.pub; a failure is kept, not fatal. */
static int load_pk(struct capctl_ctx *ctx, const char *authority, struct shown *s,
		   uint8_t pk[WIRE_PUBKEY_LEN])
{
	const char *path = authority ? authority : ctx->path_pub;
	int ret = keys_authority_pub_load(path, pk);

	if (ret < 0) {
		snprintf(s->problem, sizeof(s->problem),
			 "cannot load the authority key %s: %s", path,
			 ret == -EINVAL ? "not an authority public key" : strerror(-ret));
		return ret;
	}
	s->have_pk = true;
	return 0;
}

/* DIR/revocation.list, if any; a list that does not verify is a problem. */
static void load_rl(struct capctl_ctx *ctx, const uint8_t pk[WIRE_PUBKEY_LEN],
		    struct shown *s, struct revocation *rl)
{
	struct capctl_obj obj;
	enum token_status st;
	int ret;

	ret = util_obj_read(ctx->path_revlist, &obj);
	if (ret == -ENOENT)
		return;
	if (ret < 0) {
		snprintf(s->problem, sizeof(s->problem), "cannot read %s: %s",
			 ctx->path_revlist,
			 ret == -EBADMSG ? "broken armor" : strerror(-ret));
		return;
	}
	if (obj.armored && strcmp(obj.label, TOKEN_ARMOR_REVOCATION) != 0) {
		snprintf(s->problem, sizeof(s->problem), "%s is not a revocation list",
			 ctx->path_revlist);
		util_obj_free(&obj);
		return;
	}
	st = revocation_verify(obj.bin, obj.len, pk, rl);
	util_obj_free(&obj);
	if (st != TOKEN_OK) {
		snprintf(s->problem, sizeof(s->problem),
			 "revocation list %s does not verify: %s", ctx->path_revlist,
			 token_status_str(st));
		return;
	}
	s->have_rl = true;
	s->rl_serial = rl->serial;
	s->rl_count = rl->count;
}

/* Does the policy in DIR still say what the token says? */
static void compare(struct capctl_ctx *ctx, struct shown *s)
{
	const struct policy_host *h = NULL;
	const struct policy_user *u = NULL;
	struct policy_error err;
	struct token want;

	s->policy_match = -1;
	if (!policy_parse_file(ctx->path_policy, &s->p, &err))
		return;
	if (s->t.type == WIRE_TYPE_HOST_TOKEN)
		h = policy_host_find(s->p, s->t.name);
	else
		u = policy_user_find(s->p, s->t.name);
	if (!h && !u)
		return;
	issue_token_want(h, u, &want);
	s->policy_match = (!h || h->has_keys) && issue_token_same(&want, &s->t);
}

/* How the token compares with DIR/policy.json. */
static const char *describe_match(int m)
{
	return m < 0 ? "not in the policy" : m ? "matches the policy"
					       : "differs from the policy (run 'capctl issue')";
}

/* The signed overlay addresses of a host token, "-" if none. */
static void format_overlay(const struct token *t, char *out, size_t cap)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";

	if (t->flags & WIRE_HOST_OVERLAY4)
		inet_ntop(AF_INET, t->overlay4, a4, sizeof(a4));
	if (t->flags & WIRE_HOST_OVERLAY6)
		inet_ntop(AF_INET6, t->overlay6, a6, sizeof(a6));
	snprintf(out, cap, "%s%s%s", a4, a4[0] && a6[0] ? "," : "",
		 a4[0] || a6[0] ? a6 : "-");
}

/* One field per line, "name:" aligned. */
static int print_text(const struct shown *s)
{
	char nb[32], na[32], id[2 * WIRE_KEY_ID_LEN + 1], k1[45], k2[45];
	char ov[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 2];
	char *ranges = polfile_mask_ranges(&s->t.grant);
	char *names = polfile_mask_names(s->p, &s->t.grant);
	bool host = s->t.type == WIRE_TYPE_HOST_TOKEN;

	util_time_iso(s->t.not_before, nb);
	util_time_iso(s->t.not_after, na);
	util_hex(s->t.key_id, WIRE_KEY_ID_LEN, id);
	printf("file:        %s\n", s->file);
	printf("type:        %s token\n", host ? "host" : "user");
	printf("name:        %s\n", s->t.name);
	if (host) {
		keys_pub_to_base64(s->t.tunnel_pk, k1);
		keys_pub_to_base64(s->t.sign_pk, k2);
		format_overlay(&s->t, ov, sizeof(ov));
		printf("bit:         %u\n", s->t.bit);
		printf("overlay:     %s\n", ov);
		printf("tunnel key:  %s\n", k1);
		printf("sign key:    %s\n", k2);
	}
	printf("grant:       %s\n", ranges ? ranges : "?");
	if (s->p)
		printf("grant hosts: %s\n", names ? names : "?");
	printf("serial:      %llu\n", (unsigned long long)s->t.serial);
	printf("not before:  %s\n", nb);
	printf("not after:   %s\n", na);
	printf("key id:      %s\n", id);
	if (s->have_rl)
		printf("revocation:  list serial %llu, %u serial%s revoked\n",
		       (unsigned long long)s->rl_serial, s->rl_count,
		       s->rl_count == 1 ? "" : "s");
	else if (s->have_pk && !s->problem[0])
		printf("revocation:  not checked (no revocation list in the state directory)\n");
	if (s->p)
		printf("policy:      %s\n", describe_match(s->policy_match));
	if (!s->have_pk)
		printf("status:      unverified: %s\n", s->problem);
	else
		printf("status:      %s: %s\n", token_status_name(s->status),
		       token_status_str(s->status));
	free(ranges);
	free(names);
	return ranges && names ? 0 : -ENOMEM;
}

/* token show --json: the same fields as one object. */
static int print_json(const struct shown *s)
{
	char nb[32], na[32], id[2 * WIRE_KEY_ID_LEN + 1], k[45];
	char ov[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 2];
	char *ranges = polfile_mask_ranges(&s->t.grant), *text;
	json_t *o;
	int bad = 0;

	util_time_iso(s->t.not_before, nb);
	util_time_iso(s->t.not_after, na);
	util_hex(s->t.key_id, WIRE_KEY_ID_LEN, id);
	o = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:s,s:s,s:s,s:s,s:s,s:b}",
		      "file", s->file,
		      "type", s->t.type == WIRE_TYPE_HOST_TOKEN ? "host" : "user",
		      "name", s->t.name, "grant", ranges,
		      "serial", (json_int_t)s->t.serial, "not_before", nb,
		      "not_after", na, "key_id", id,
		      "status", s->have_pk ? token_status_name(s->status) : "unverified",
		      "message", s->have_pk ? token_status_str(s->status) : s->problem,
		      "valid", s->have_pk && s->status == TOKEN_OK && !s->problem[0]);
	free(ranges);
	if (!o)
		return -ENOMEM;
	if (s->t.type == WIRE_TYPE_HOST_TOKEN) {
		format_overlay(&s->t, ov, sizeof(ov));
		bad |= json_object_set_new(o, "bit", json_integer(s->t.bit));
		bad |= json_object_set_new(o, "overlay", json_string(ov));
		keys_pub_to_base64(s->t.tunnel_pk, k);
		bad |= json_object_set_new(o, "tunnel_key", json_string(k));
		keys_pub_to_base64(s->t.sign_pk, k);
		bad |= json_object_set_new(o, "sign_key", json_string(k));
	}
	if (s->p) {
		bad |= json_object_set_new(o, "grant_hosts",
					   polfile_mask_names_json(s->p, &s->t.grant));
		bad |= json_object_set_new(o, "policy", json_string(
			s->policy_match < 0 ? "absent" : s->policy_match ? "matches" : "differs"));
	}
	if (s->have_rl)
		bad |= json_object_set_new(o, "revocation_list", json_pack("{s:I,s:I}",
			"serial", (json_int_t)s->rl_serial, "count", (json_int_t)s->rl_count));
	if (s->problem[0])
		bad |= json_object_set_new(o, "problem", json_string(s->problem));
	text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	puts(text);
	free(text);
	return 0;
}

/* Reads and decodes; a file that is not a token ends here with exit 1. */
static int decode(const char *file, struct shown *s, enum wire_type *type,
		  struct capctl_obj *obj)
{
	enum token_status why = TOKEN_OK;
	int ret = util_obj_read(file, obj);

	if (ret == -EBADMSG)
		return util_fail(CAPCTL_FAIL, "is it a captun token file?",
				 "%s: cannot decode: broken armor", file);
	if (ret < 0)
		return util_io_fail(ret, "read", file);
	*type = 0;
	if (obj->armored) {
		if (strcmp(obj->label, TOKEN_ARMOR_HOST) == 0)
			*type = WIRE_TYPE_HOST_TOKEN;
		else if (strcmp(obj->label, TOKEN_ARMOR_USER) == 0)
			*type = WIRE_TYPE_USER_TOKEN;
		else
			return util_fail(CAPCTL_FAIL, "give a host or user token file",
					 "%s: cannot decode: it holds a %s, not a token",
					 file, obj->label);
	}
	if (!token_decode(obj->bin, obj->len, *type, &s->t, &why))
		return util_fail(CAPCTL_FAIL, "is it a captun token file?",
				 "%s: cannot decode token: %s", file,
				 token_status_str(why));
	*type = s->t.type;
	return CAPCTL_OK;
}

/* What to do about a token that does not verify. */
static const char *advise(const struct shown *s)
{
	if (!s->have_pk || s->problem[0])
		return "give the right authority key (--authority) or state directory (--dir)";
	switch (s->status) {
	case TOKEN_ERR_REVOKED:
		return "a newer token replaced it or its subject was removed; see 'capctl status'";
	case TOKEN_ERR_EXPIRED:
	case TOKEN_ERR_NOT_YET_VALID:
		return "check the clock; 'capctl issue' renews expired tokens";
	case TOKEN_ERR_AUTHORITY:
		return "it comes from another authority: give its key with --authority";
	default:
		return "it was altered or damaged; re-issue it with 'capctl issue'";
	}
}

/* capctl token show FILE: exit 0 only if the token fully verifies. */
static int show(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "authority", required_argument, NULL, 'a' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	uint8_t pk[WIRE_PUBKEY_LEN];
	const char *authority = NULL;
	struct token_trust trust;
	struct revocation rl;
	struct capctl_obj obj;
	enum wire_type type = 0;
	struct shown s;
	bool json = false;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'a')
			authority = optarg;
		else if ((ret = cli_common(ctx, c, "token", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (argc - optind != 1)
		return help_usage("token", "expected one FILE");
	json |= out_json();
	out_json_set(json);
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK)
		return ret;
	memset(&s, 0, sizeof(s));
	memset(&rl, 0, sizeof(rl));
	s.file = argv[optind];
	s.policy_match = -1;
	ret = decode(s.file, &s, &type, &obj);
	if (ret == CAPCTL_OK) {
		if (load_pk(ctx, authority, &s, pk) == 0) {
			load_rl(ctx, pk, &s, &rl);
			memset(&trust, 0, sizeof(trust));
			memcpy(trust.authority_pk, pk, WIRE_PUBKEY_LEN);
			trust.revoked = s.have_rl ? &rl : NULL;
			trust.now = ctx->now;
			s.status = token_verify(obj.bin, obj.len, type, &trust, NULL);
		}
		compare(ctx, &s);
		if (json)
			out_json_own();
		if ((json ? print_json(&s) : print_text(&s)) < 0)
			ret = util_fail(CAPCTL_SYS, "", "out of memory");
		else if (!s.have_pk || s.status != TOKEN_OK || s.problem[0])
			ret = util_fail(CAPCTL_FAIL, advise(&s), "%s does not verify: %s",
					s.file, s.problem[0] ? s.problem
							     : token_status_str(s.status));
	}
	util_obj_free(&obj);
	revocation_free(&rl);
	policy_free(s.p);
	return ret;
}

/* capctl token show */
int cmd_token(struct capctl_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return help_usage("token", "expected 'show'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_show("token");
	if (strcmp(argv[1], "show") == 0)
		return show(ctx, argc - 1, argv + 1);
	return help_usage("token", "unknown sub-verb 'token %s'", argv[1]);
}
