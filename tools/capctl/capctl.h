/*
 * tools/capctl/capctl.h - internals shared by capctl's source files.
 *
 * capctl keeps the authority's state in one directory (default /etc/captun):
 *
 *   authority.key     the authority's Ed25519 secret key (0600)
 *   authority.pub     its public key
 *   policy.json       hosts, users and groups (policy/policy.h)
 *   state.json        serial counters, revoked serials, issued-token records
 *   revocation.list   the signed revocation list (armored)
 *   tokens/           host-NAME.token and user-NAME.token (armored)
 *   .lock             flock'd by every verb that writes
 */
#ifndef CAPTUN_CAPCTL_H
#define CAPTUN_CAPCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <jansson.h>

#include "armor.h"
#include "keys.h"
#include "mask.h"
#include "policy.h"
#include "token.h"

/* Exit statuses; CAPCTL_GO_ON is internal ("option handled, carry on"). */
enum capctl_exit {
	CAPCTL_GO_ON = -1,
	CAPCTL_OK = 0,
	CAPCTL_FAIL = 1,
	CAPCTL_USAGE = 2,
	CAPCTL_SYS = 3,
};

enum capctl_const {
	CAPCTL_VALIDITY_DAYS = 30,
	CAPCTL_VALIDITY_MAX_DAYS = 3650,
	CAPCTL_SKEW = 300,		/* seconds of clock skew tolerated */
	CAPCTL_OBJ_MAX = 1 << 22,	/* largest token / list file read */
};

#define CAPCTL_DEFAULT_DIR "/etc/captun"

enum capctl_kind {
	KIND_HOST,
	KIND_USER,
};

/* One invocation: where the state lives, the lock, the keys once loaded. */
struct capctl_ctx {
	const char *dir_opt;		/* --dir, if given */
	const char *publish_opt;	/* --publish SOCKET, if given */
	const char *dir;		/* resolved by ctx_resolve() */
	char path_key[PATH_MAX];
	char path_pub[PATH_MAX];
	char path_policy[PATH_MAX];
	char path_state[PATH_MAX];
	char path_revlist[PATH_MAX];
	char path_tokens[PATH_MAX];
	char path_lock[PATH_MAX];
	int lock_fd;
	bool have_pk, have_sk;
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	struct authority_key ak;
	uint64_t now;
};

/* An entry of the revoked set kept in state.json. */
struct rev_entry {
	uint64_t serial;
	uint64_t not_after;		/* of the revoked token; UINT64_MAX unknown */
};

/* state.json, reconciled with revocation.list on load. */
struct capctl_state {
	uint64_t next_serial;
	uint64_t revocation_serial;
	struct rev_entry *revoked;	/* ascending by serial */
	size_t nrevoked, caprevoked;
	json_t *records;		/* {"hosts": {..}, "users": {..}} */
	bool list_stale;		/* revocation.list must be rewritten */
	bool list_present;
	uint64_t list_serial;		/* of revocation.list on disk */
	uint32_t list_count;
};

/* A token, armored or raw, read from a file. */
struct capctl_obj {
	uint8_t *bin;
	size_t len;
	bool armored;
	char label[ARMOR_LABEL_MAX + 1];
};

/* A text table: rows of ncols strings, printed with aligned columns. */
struct util_table {
	size_t ncols, nrows, cap;
	char **cells;
	bool oom;
};

/* util.c */
__attribute__((format(printf, 3, 4)))
int util_fail(int code, const char *fix, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void util_note(const char *fmt, ...);
int util_io_fail(int err, const char *what, const char *path);
uint64_t util_now(void);
void util_time_iso(uint64_t t, char out[32]);
void util_hex(const uint8_t *in, size_t len, char *out);
bool util_parse_uint(const char *text, uint64_t max, uint64_t *out);
bool util_join(char *out, size_t cap, const char *dir, const char *name);
int util_obj_read(const char *path, struct capctl_obj *obj);
void util_obj_free(struct capctl_obj *obj);
int util_mkdir(const char *path, mode_t mode, bool exist_ok);
int util_mkdir_p(const char *path);
int util_sync_dir(const char *path);
int util_write_text(const char *path, const char *text, mode_t mode);
void util_table_init(struct util_table *t, size_t ncols);
void util_table_row(struct util_table *t, const char *const *cells);
int util_table_print(const struct util_table *t, const char *indent);
void util_table_free(struct util_table *t);

/* ctx.c: the state directory, its lock and the authority's keys. */
int ctx_resolve(struct capctl_ctx *ctx);
int ctx_require_init(struct capctl_ctx *ctx);
int ctx_lock(struct capctl_ctx *ctx);
int ctx_pub_load(struct capctl_ctx *ctx);
int ctx_key_load(struct capctl_ctx *ctx);
void ctx_key_wipe(struct capctl_ctx *ctx);
void ctx_free(struct capctl_ctx *ctx);
bool ctx_token_path(const struct capctl_ctx *ctx, enum capctl_kind kind,
		    const char *name, char *out, size_t cap);

/* state.c: state.json. */
void state_init(struct capctl_state *st);
int state_load(struct capctl_ctx *ctx, struct capctl_state *st);
int state_save(struct capctl_ctx *ctx, const struct capctl_state *st);
void state_free(struct capctl_state *st);
json_t *state_record_get(const struct capctl_state *st, enum capctl_kind kind,
			 const char *name);
int state_record_set(struct capctl_state *st, const struct token *t);
void state_record_del(struct capctl_state *st, enum capctl_kind kind,
		      const char *name);
bool state_record_matches(const struct capctl_state *st, const struct token *t);
uint64_t state_expiry_find(const struct capctl_state *st, uint64_t serial);

/* revlist.c: the revoked set in state.json, and revocation.list. */
bool revlist_serial_has(const struct capctl_state *st, uint64_t serial);
int revlist_serial_add(struct capctl_state *st, uint64_t serial,
		       uint64_t not_after);
size_t revlist_serials_prune(struct capctl_state *st, uint64_t now);
int revlist_reconcile(struct capctl_ctx *ctx, struct capctl_state *st);
int revlist_read(struct capctl_ctx *ctx, struct revocation *rl,
		 enum token_status *why);
int revlist_write(struct capctl_ctx *ctx, struct capctl_state *st);

/* polfile.c: policy.json, as JSON to edit and as a compiled policy. */
int polfile_parse(struct capctl_ctx *ctx, struct policy **out);
int polfile_load_json(struct capctl_ctx *ctx, json_t **root);
int polfile_commit(struct capctl_ctx *ctx, json_t *root, struct policy **out);
json_t *polfile_section(json_t *root, const char *section);
json_t *polfile_reach(json_t *entity, bool create);
bool polfile_reach_has(const json_t *reach, const char *target);
char *polfile_mask_names(const struct policy *p, const struct mask *m);
char *polfile_mask_ranges(const struct mask *m);
json_t *polfile_mask_names_json(const struct policy *p, const struct mask *m);
int polfile_add_list(json_t *arr, const char *list);
const char *kind_str(enum capctl_kind kind);

/* issue.c: deciding which tokens to (re)issue, then issuing them. */
enum issue_verdict {
	VERDICT_CURRENT,	/* token matches the policy, not due */
	VERDICT_MISSING,
	VERDICT_UNREADABLE,	/* file present but not a token of ours */
	VERDICT_REVOKED,
	VERDICT_EXPIRED,
	VERDICT_CHANGED,	/* valid token, but the policy says otherwise */
	VERDICT_RENEW,		/* less than a third of its validity left */
	VERDICT_NO_KEYS,	/* host without public keys in the policy */
	VERDICT_ORPHAN,		/* token of a host or user no longer in the policy */
};

struct issue_item {
	enum capctl_kind kind;
	char name[WIRE_NAME_MAX + 1];
	const struct policy_host *host;	/* NULL for users and orphans */
	const struct policy_user *user;	/* NULL for hosts and orphans */
	enum issue_verdict verdict;
	char detail[128];		/* why, in words */
	bool has_old;			/* old token decoded from the file */
	struct token old;
	bool record_ok;			/* state.json agrees with the file */
	bool issue, revoke_old, unlink_file;
	struct token fresh;
};

struct issue_opts {
	bool force;
	bool keyless_ok;		/* note hosts without keys, no error */
	bool orphans;			/* revoke tokens of deleted entities */
	bool quiet;
	unsigned validity_days;
	int only_kind;			/* -1: every entity */
	const char *only_name;
	bool renew_only;		/* capctl renew: re-sign what expires, nothing else */
	uint64_t renew_within_s;	/* renew: also what expires within this */
};

struct issue_plan {
	struct issue_item *items;
	size_t n;
	size_t nissue, nrevoke, nkeyless, nstale;
};

const char *issue_verdict_str(enum issue_verdict v);
void issue_token_want(const struct policy_host *h, const struct policy_user *u,
		      struct token *t);
bool issue_token_same(const struct token *a, const struct token *b);
int issue_plan_build(struct capctl_ctx *ctx, struct capctl_state *st,
		     const struct policy *p, const struct issue_opts *o,
		     struct issue_plan *plan);
int issue_plan_run(struct capctl_ctx *ctx, struct capctl_state *st,
		   struct issue_plan *plan, const struct issue_opts *o);
void issue_plan_free(struct issue_plan *plan);
int issue_sync(struct capctl_ctx *ctx, const struct policy *p,
	       const struct issue_opts *o);

/* sockq.c: one request line to a daemon's socket, one answer line back. */
enum { SOCKQ_TIMEOUT_S = 5 };
int sockq_request(const char *path, const char *req, size_t max, char **out);
/* out.c: text for people, or one JSON object with --json. */
void out_json_set(bool on);
bool out_json(void);
void out_json_own(void);
__attribute__((format(printf, 1, 2)))
void out_say(const char *fmt, ...);
void out_set(const char *key, json_t *value);
void out_add(const char *key, json_t *value);
void out_error_keep(const char *text);
void out_flush(int status);

/* help.c */
int help_show(const char *verb);
int help_usage(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* main.c: option handling every verb shares. */
#define CAPCTL_COMMON_LONGOPTS \
	{ "dir", required_argument, NULL, 'D' }, \
	{ "json", no_argument, NULL, 'J' }, \
	{ "help", no_argument, NULL, 'h' }
/* --publish SOCKET, for the verbs that change tokens (cmd_publish.c). */
#define CAPCTL_PUBLISH_LONGOPT \
	{ "publish", required_argument, NULL, 'U' }
int cli_common(struct capctl_ctx *ctx, int c, const char *verb, char **argv);
int cli_validity(const char *verb, const char *arg, unsigned *days);

/* The verbs: argv[0] is the verb (or sub-verb) name. */
int cmd_init(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_keygen(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_host(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_user(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_policy(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_issue(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_grant(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_revoke(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_token(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_status(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_shim(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_publish(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_audit(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_why(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_renew(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_metrics(struct capctl_ctx *ctx, int argc, char **argv);

/* cmd_bundle.c: onboarding a host in one file. */
int cmd_host_bundle(struct capctl_ctx *ctx, int argc, char **argv);
int cmd_host_join(struct capctl_ctx *ctx, int argc, char **argv);
const char *ctx_host_dir(const char *opt, char *buf, size_t cap);

/* cmd_publish.c: after a change, publish to capd if --publish or $CAPTUN_CAPD. */
int publish_after_change(struct capctl_ctx *ctx);

#endif
