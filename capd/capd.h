/*
 * capd/capd.h - capd, the per-host session daemon: what its source files
 * share. capd/PROTOCOL.md is the contract these implement.
 *
 *   main.c     command line, setup, privileges, the event loop
 *   core.c     sessions opened, closed and reaped; the capability pushed
 *   session.c  the session table, its users, the effective mask
 *   trust.c    authority key, revocation list, host token, user tokens
 *   state.c    DIR/capd.state, and a process's start time
 *   audit.c    DIR/audit.log, a hash-chained JSON-lines log
 *   request.c  control requests parsed and checked
 *   verbs.c    control requests answered
 *   publish.c  signed objects verified, stored and spread
 *   ctl.c      the control socket
 *   shimlink.c capd's client of capshim's control socket
 *   watch.c    inotify on the state directory
 *   flows.c    the denied-flow records capshim wrote, served by cursor
 *   daemon.c   logging, clocks, privileges, detaching
 *   linger.c   the one rule at every session end; users found running
 *   procs.c    which users run processes on this host (/proc)
 *   procsep.c  the privileged helper that runs that scan (CAP_SYS_PTRACE)
 *   breakglass.c  logins let in to repair the host, and adopted ones
 *   service.c  systemd readiness, SIGHUP, token expiry ahead and past
 */
#ifndef CAPTUN_CAPD_H
#define CAPTUN_CAPD_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "keys.h"
#include "mask.h"
#include "token.h"
#include "wire.h"

enum capd_limit {
	CAPD_LINE_MAX = 256 * 1024,	/* one control request line */
	CAPD_CLIENTS = 64,		/* control connections at once */
	CAPD_SESSIONS_MAX = 4096,
	CAPD_USERS_MAX = 64,		/* distinct users: capshim's announcement limit */
	CAPD_USER_MAX = 64,		/* bytes of a login name */
	CAPD_FIELD_MAX = 256,		/* bytes of service, tty, rhost */
	CAPD_OBJECTS_MAX = 4096,	/* objects in one publish request */
	CAPD_PID_MAX = 1 << 22,		/* the kernel's PID_MAX_LIMIT */
	CAPD_HASH_LEN = 32,		/* BLAKE2b-256 of an audit line */
	CAPD_MASK_TEXT = 4096,		/* "0-3,7,..." of a full mask fits */
	CAPD_STATE_MAX = 16 << 20,	/* largest capd.state read */
	CAPD_FLOWS_MAX = 100000,	/* flow records in one "flows" answer */
	CAPD_FLOWS_DEFAULT = 5000,
	CAPD_FLOWS_BYTES = 4 << 20,	/* bytes of records in one answer */
};

enum capd_on_invalid {
	CAPD_ON_INVALID_REFUSE,
	CAPD_ON_INVALID_ISOLATE,
};

struct capd;

/* One epoll registration; the loop calls fn with the pointer it stored. */
struct capd_ev {
	int fd;
	void (*fn)(struct capd *d, struct capd_ev *ev, uint32_t events);
};

struct capd_config {
	const char *dir;
	const char *socket;
	const char *shim;
	const char *pidfile;
	enum capd_on_invalid on_invalid;
	bool foreground;
	int shim_timeout_ms;
	const char *break_glass_users;	/* NULL: the default (breakglass.h) */
	const char *break_glass_groups;
	int renew_warn_days;		/* warn this long before a token expires */
};

struct capd_session {
	struct capd_ev ev;		/* first: the pidfd, in the epoll set */
	uint64_t id;
	pid_t pid;
	uint64_t start_time;		/* /proc/PID/stat field 22 */
	bool lingering;			/* process gone, its user's processes not (linger.c) */
	uint64_t opened_at;		/* unix seconds */
	char user[CAPD_USER_MAX + 1];
	char service[CAPD_FIELD_MAX + 1];
	char tty[CAPD_FIELD_MAX + 1];
	char rhost[CAPD_FIELD_MAX + 1];
};

/* A distinct logged-in user and the verdict on its token. */
struct capd_user {
	char name[CAPD_USER_MAX + 1];
	unsigned nsessions;
	int err;			/* 0 verified, else -errno (trust.c) */
	enum token_status st;		/* when err is -EKEYREJECTED */
	uint8_t bin[WIRE_TOKEN_MAX];
	size_t len;
	struct token tok;		/* when err is 0 */
};

struct capd_table {
	struct capd_session **s;	/* open sessions, by ascending id */
	size_t n, cap;
	struct capd_user users[CAPD_USERS_MAX];
	size_t nusers;
	uint64_t next_id;
};

/* What this host trusts and is, from the state directory. */
struct capd_trust {
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	struct revocation revoked;	/* serial 0, count 0 when there is no list */
	bool have_list;
	struct host_pubkeys self;
	struct token host;		/* this host's own token */
	uint64_t host_serial_seen;
	bool host_ok;			/* host is a valid token; else its grant is empty */
};

/* The capability capshim last confirmed. */
struct capd_pushed {
	bool valid;
	bool isolate;
	unsigned nusers;
	char users[CAPD_USERS_MAX][CAPD_USER_MAX + 1];
	uint64_t serials[CAPD_USERS_MAX];
	uint64_t epoch;
	char mask[CAPD_MASK_TEXT];
};

struct capd_audit {
	int fd;
	uint8_t prev[CAPD_HASH_LEN];
};

struct capd_shim {
	struct capd_ev ev;		/* the connection, when open */
	const char *path;
	int timeout_ms;
	bool dirty;			/* capshim may not hold the truth: push */
	bool reload_pending;		/* a reload capshim has not done yet */
	bool failing;			/* a failure was logged, not yet its end */
	bool reachable;
	char error[256];		/* the last failure, for logs and status */
	struct capd_ev appear;		/* inotify: capshim's socket (re)appears */
};

struct capd_watch {
	struct capd_ev ev;
	int wd_dir, wd_tokens;
};

/*
 * The helper's protocol (procsep.c): capd and the helper it forked, over a
 * SOCK_SEQPACKET socketpair, so in host byte order. One request, one
 * answer: each message exactly the size its n says.
 */
enum capd_procs_wire {
	CAPD_PROCS_VERSION = 1,
	CAPD_PROCS_UIDS_MAX = 1024,	/* uids in one request */
};

enum capd_procs_verdict {
	CAPD_PROCS_NONE = 0,		/* no running process of the uid here */
	CAPD_PROCS_HERE = 1,		/* one runs in this host's namespace */
	CAPD_PROCS_UNKNOWN = 2,		/* one runs where capd cannot tell: counts */
};

struct capd_procs_req {
	uint32_t version;
	uint32_t n;
	uint32_t uid[CAPD_PROCS_UIDS_MAX];
};

struct capd_procs_hit {
	uint32_t uid;
	uint32_t verdict;		/* enum capd_procs_verdict */
	int32_t pid;			/* one such process, 0 if none */
};

struct capd_procs_ans {
	uint32_t version;
	uint32_t n;
	int32_t err;			/* 0, or -errno if /proc could not be read */
	uint32_t reserved;
	struct capd_procs_hit hit[CAPD_PROCS_UIDS_MAX];
};

/* This process's network and user namespaces: "this host". */
struct capd_procs_self {
	bool ok;
	dev_t net_dev, user_dev;
	ino_t net_ino, user_ino;
};

struct capd_procsep {
	int fd;				/* the helper's socket, -1 if none */
	pid_t pid;
	struct capd_procs_self self;	/* for the scan capd runs itself */
	bool warned;
};

/* The captun users of this host: DIR/tokens/user-NAME.token with a Unix uid. */
struct capd_known {
	size_t n;
	uint32_t uid[CAPD_PROCS_UIDS_MAX];
	char name[CAPD_PROCS_UIDS_MAX][CAPD_USER_MAX + 1];
	uint64_t loaded_ms;		/* monotonic; 0: load at the next tick */
};

struct capd_ctl;

struct capd {
	struct capd_config cfg;
	int epfd;
	bool running;
	bool trust_dirty;		/* files changed: re-verify at the next tick */
	struct capd_trust trust;
	struct capd_table table;
	struct capd_pushed pushed;
	struct capd_audit audit;
	struct capd_shim shim;
	struct capd_watch watch;
	struct capd_ctl *ctl;
	struct capd_procsep procs;
	struct capd_known known;
	char path_state[PATH_MAX];
	char path_audit[PATH_MAX];
	uint64_t warned_at;		/* service.c: the last expiry warning */
	uint64_t breakglass_logins;	/* counted for metrics */
	uint64_t logins_refused;
};

/* daemon.c */
__attribute__((format(printf, 2, 3)))
void capd_log(int level, const char *fmt, ...);
void capd_log_syslog(bool on);
uint64_t capd_unix_now(void);
uint64_t capd_mono_ms(void);
void capd_time_iso(uint64_t unix_ms, char out[32]);
uint64_t capd_unix_ms(void);
void capd_daemon_nofile_raise(void);
int capd_daemon_lock(const char *dir);

/* session.c: the table, its users and the effective capability. */
void capd_table_init(struct capd_table *t);
void capd_table_free(struct capd_table *t);
struct capd_user *capd_table_user(struct capd_table *t, const char *name);
int capd_table_add(struct capd_table *t, struct capd_session *s,
		   struct capd_user **user);
struct capd_session *capd_table_remove(struct capd_table *t, size_t idx);
ssize_t capd_table_find_id(const struct capd_table *t, uint64_t id);
ssize_t capd_table_find_pid(const struct capd_table *t, pid_t pid, size_t from);
bool capd_user_valid(const struct capd_user *u, uint64_t now);
const char *capd_user_why(const struct capd_user *u, uint64_t now);
void capd_cap_compute(const struct mask *host_grant,
		      const struct capd_user *users, size_t n, uint64_t now,
		      struct mask *out, bool *isolate);
size_t capd_users_text(const struct capd_table *t, char *out, size_t cap);

/* trust.c */
int capd_trust_load(struct capd_trust *tr, const char *dir);
int capd_trust_reload(struct capd_trust *tr, const char *dir, bool *changed);
void capd_trust_free(struct capd_trust *tr);
void capd_trust_user_verify(const struct capd_trust *tr, const char *dir,
			    struct capd_user *u, uint64_t now);
void capd_trust_get(const struct capd_trust *tr, uint64_t now,
		    struct token_trust *out);

/* state.c: DIR/capd.state and /proc. */
char *capd_state_encode(const struct capd_table *t);
bool capd_state_decode(const char *text, size_t len, struct capd_table *t,
		       char *err, size_t errcap);
int capd_state_save(const struct capd_table *t, const char *path);
int capd_state_load(struct capd_table *t, const char *path, char *err,
		    size_t errcap);
int capd_proc_start_time(pid_t pid, uint64_t *out);
void capd_proc_comm(pid_t pid, char *out, size_t cap);
bool capd_proc_stat_parse(const char *text, size_t len, uint64_t *start);

/* audit.c */
int capd_audit_open(struct capd_audit *a, const char *path);
void capd_audit_close(struct capd_audit *a);
int capd_audit_append(struct capd_audit *a, const char *event, json_t *fields);
bool capd_audit_verify(const char *text, size_t len,
		       const uint8_t head[CAPD_HASH_LEN], size_t *bad_line);
void capd_audit_hash(const void *line, size_t len, uint8_t out[CAPD_HASH_LEN]);

/* linger.c: the one rule at every session end. */
enum capd_linger_action {
	CAPD_LINGER_END,		/* nothing of the user runs here: end it */
	CAPD_LINGER_KEEP,		/* the user's code runs on: it lingers */
};
enum capd_linger_action capd_linger_decide(bool root_user, bool have_uid,
					   enum capd_procs_verdict v);
enum capd_procs_verdict capd_linger_user_verdict(struct capd *d, const char *user,
						 pid_t *pid);
void capd_session_gone(struct capd *d, size_t idx, const char *event,
		       const char *reason);
void capd_linger_tick(struct capd *d);
void capd_known_invalidate(struct capd *d);

/* procs.c */
bool capd_procs_status_uids(const char *text, size_t len, uint32_t uids[4]);
bool capd_procs_stat_live(const char *text, size_t len, bool *live);
enum capd_procs_verdict capd_procs_judge(int ns_err, bool same_net, int owner_err,
					 bool same_owner);
int capd_procs_self(struct capd_procs_self *self);
int capd_procs_scan(const struct capd_procs_self *self, struct capd_procs_hit *hits,
		    size_t n);

/* procsep.c */
int capd_procsep_start(struct capd_procsep *ps);
void capd_procsep_stop(struct capd_procsep *ps);
int capd_procsep_query(struct capd_procsep *ps, struct capd_procs_hit *hits, size_t n);
bool capd_procs_req_check(const void *buf, size_t len);
bool capd_procs_ans_check(const void *buf, size_t len, const struct capd_procs_req *req);

/* request.c */
enum capd_verb {
	CAPD_VERB_OPEN = 1,
	CAPD_VERB_CLOSE,
	CAPD_VERB_LIST,
	CAPD_VERB_STATUS,
	CAPD_VERB_PUBLISH,
	CAPD_VERB_FLOWS,
};

struct capd_request {
	enum capd_verb verb;
	json_t *root;			/* owns every string below */
	const char *user, *service, *tty, *rhost;
	pid_t pid;			/* open; close by pid */
	bool no_token_skip;		/* open: "no_token":"skip" */
	uint64_t session;		/* close by id (0: by pid) */
	json_t *objects;		/* publish: array of strings */
	uint64_t since;			/* flows: records after this seq */
	unsigned max;			/* flows: at most this many */
	bool adopt;			/* a break-glass login pam_capd let in (breakglass.c) */
};

bool capd_request_parse(const char *line, size_t len, struct capd_request *req,
			char *err, size_t errcap);
void capd_request_free(struct capd_request *req);
bool capd_verb_is_root(enum capd_verb verb);
const char *capd_verb_name(enum capd_verb verb);
bool capd_user_name_ok(const char *name);
bool capd_field_ok(const char *text, size_t max);

/* verbs.c */
json_t *capd_verbs_answer(struct capd *d, const struct capd_request *req,
			  uid_t uid);
json_t *capd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* core.c */
int capd_ev_add(struct capd *d, struct capd_ev *ev, uint32_t events);
void capd_ev_del(struct capd *d, struct capd_ev *ev);
int capd_session_open(struct capd *d, const struct capd_request *r,
		      uint64_t *id, char *why, size_t whycap);
void capd_session_end(struct capd *d, size_t idx, const char *event,
		      const char *reason);
int capd_session_found(struct capd *d, const char *user, pid_t pid, bool unsure);
int capd_sessions_restore(struct capd *d);
int capd_apply(struct capd *d, bool force);
void capd_refresh(struct capd *d);
void capd_tick(struct capd *d);
void capd_cap_local(const struct capd *d, struct mask *out, bool *isolate);

/* flows.c */
json_t *capd_flows_answer(struct capd *d, uint64_t since, unsigned max);

/* publish.c */
json_t *capd_publish_run(struct capd *d, json_t *objects);

/* ctl.c */
int capd_ctl_open(struct capd *d, const char *path);
void capd_ctl_close(struct capd *d);

/* shimlink.c */
void capd_shim_init(struct capd_shim *sh, const char *path, int timeout_ms);
int capd_shim_request(struct capd *d, json_t *req, json_t **answer);
void capd_shim_close(struct capd *d);
/* Pushes at once when capshim's socket appears (inotify on its directory). */
int capd_shim_watch_open(struct capd *d);
void capd_shim_watch_close(struct capd *d);

/* breakglass.c */
bool capd_breakglass_user(const struct capd *d, const char *user, char *why,
			  size_t whycap);
void capd_breakglass_note(struct capd *d, const struct capd_session *s,
			  const char *who, const char *exemption);
void capd_breakglass_adopt(struct capd *d);

/* service.c */
void capd_service_ready(struct capd *d);
void capd_service_reload(struct capd *d);
void capd_service_tick(struct capd *d);
json_t *capd_service_status(const struct capd *d);

/* watch.c */
int capd_watch_open(struct capd *d);
void capd_watch_close(struct capd *d);

#endif
