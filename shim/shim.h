/*
 * shim/shim.h - capshim's state: this host, its peers and their sessions,
 * capabilities (own and peers'), counters. Internal to the daemon.
 */
#ifndef CAPTUN_SHIM_SHIM_H
#define CAPTUN_SHIM_SHIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <jansson.h>

#include <jansson.h>

#include "conntrack.h"
#include "aead.h"
#include "cookie.h"
#include "guard.h"
#include "flowlog.h"
#include "inet.h"
#include "mask.h"
#include "noise.h"
#include "offload.h"
#include "proto.h"
#include "ratelimiter.h"
#include "replay.h"
#include "token.h"
#include "tun.h"
#include "udp.h"
#include "workers.h"

/* Why a packet was dropped; each has its own counter and name. */
enum shim_drop {
	DROP_RX_SHORT,			/* shorter than its type needs */
	DROP_RX_TYPE,			/* unknown message type or bad reserved bits */
	DROP_RX_MAC1,			/* handshake mac1 wrong */
	DROP_RX_HANDSHAKE,		/* handshake failed to decrypt or verify */
	DROP_RX_UNKNOWN_KEY,		/* handshake from a key in no valid host token */
	DROP_RX_HANDSHAKE_REPLAY,	/* initiation timestamp not newer */
	DROP_RX_UNKNOWN_INDEX,		/* no session with that receiver index */
	DROP_RX_SESSION_EXPIRED,
	DROP_RX_REPLAY,			/* counter seen before or too old */
	DROP_RX_DECRYPT,		/* AEAD failed: tampered or wrong key */
	DROP_RX_MALFORMED_INNER,	/* inner packet does not parse */
	DROP_RX_SOURCE,			/* inner source is not the sending peer's */
	DROP_RX_UNKNOWN_EPOCH,		/* capability epoch never announced */
	DROP_RX_STALE_EPOCH,		/* epoch superseded by a newer announcement */
	DROP_RX_DENIED,			/* sender's capability lacks our bit */
	DROP_RX_NOT_FOR_US,		/* inner destination is not this host */
	DROP_RX_ANNOUNCE_BAD,		/* announcement failed verification */
	DROP_RX_CONTROL_BAD,		/* malformed control message */
	DROP_RX_HANDSHAKE_QUEUE,	/* handshake queue full */
	DROP_RX_COOKIE,			/* under load without mac2: cookie reply sent instead */
	DROP_RX_COOKIE_BAD,		/* cookie reply that does not open */
	DROP_RX_HANDSHAKE_RATE,		/* its source's handshake budget is spent */
	DROP_TX_NO_PEER,		/* no peer owns the destination address */
	DROP_TX_DENIED,			/* own capability lacks the destination bit */
	DROP_TX_TOO_BIG,		/* larger than the path allows */
	DROP_TX_NO_SESSION,		/* queue full while a handshake is pending */
	DROP_TX_MALFORMED,		/* packet from the TUN does not parse */
	DROP_TX_SEND_ERROR,		/* the UDP send failed */
	DROP_RX_TUN_ERROR,		/* a delivery or a local answer not written to the TUN */
	DROP_RX_ICMP_UNRELATED,		/* ICMP error not from the quoted packet's destination, or about no flow */
	DROP_TX_ICMP_UNRELATED,		/* the local stack's ICMP error about no flow */
	DROP_COUNT,
};

const char *shim_drop_name(enum shim_drop d);

enum shim_limit {
	SHIM_SESSIONS = 4,		/* slots: current, previous, next, pending */
	SHIM_INDEX_PEER_SHIFT = 2,	/* index = random:20 | peer:10 | slot:2 */
	SHIM_INDEX_RANDOM_SHIFT = 12,
	SHIM_CAP_EPOCHS = 4,		/* peer capabilities remembered */
	SHIM_QUEUE = 32,		/* packets held while a handshake runs */
	SHIM_USERS_TEXT = 256,		/* "alice,bob" of an announcement */
	SHIM_PKT_MAX = 65536,
	SHIM_MTU_MAX = 9000,		/* largest TUN MTU */
	SHIM_SLOT = SHIM_MTU_MAX + PROTO_OVERHEAD + PROTO_PAD,
	SHIM_GSO_MAX = 65000,		/* bytes in one GSO message */
	SHIM_ARENA = UDP_BATCH * SHIM_GSO_MAX,
	SHIM_JOBS = UDP_BATCH * UDP_GSO_MAX_SEGS,	/* datagrams in a batch, at most */
	SHIM_ANNOUNCE_MAX = PROTO_CONTROL_MAX,
	SHIM_HSQ = 1024,		/* handshake messages waiting (hsqueue.c) */
	SHIM_HSQ_LOAD = 64,		/* queued at a drain's start: under load */
	SHIM_HS_DH_LOAD = 50,		/* DH messages in a second: under load */
	SHIM_UNDER_LOAD_S = 1,		/* how long load lasts after its cause */
	SHIM_HS_BUDGET = 256,		/* messages per drain */
	SHIM_HS_BUDGET_DH = 16,		/* of which may cost public-key work */
};

struct session {
	bool live;
	bool confirmed;			/* responder: peer has used it */
	struct noise_keypair kp;
	/* kp.send and kp.recv, ready (aead.h): one context per worker thread */
	struct aead tx[WORKERS_MAX], rx[WORKERS_MAX];
	struct replay replay;
	uint64_t send_counter;
	uint64_t created_ns;
};

/* One announced capability of a peer, verified. */
struct peer_cap {
	bool valid;
	bool superseded;		/* a newer epoch has been announced */
	uint32_t epoch;
	struct mask mask;
	char users[SHIM_USERS_TEXT];	/* comma-separated, "" for none */
	uint64_t received_ns;
};

struct peer_counters {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_denied, tx_denied, handshakes;
	uint64_t cookies_received;	/* cookie replies it sent us */
	uint64_t denied_reported;	/* refusals the peer reported making */
};

struct queued {
	uint16_t len;
	uint8_t *data;
};

struct peer {
	char name[WIRE_NAME_MAX + 1];
	uint16_t bit;
	uint8_t tunnel_pk[PROTO_KEY_LEN];
	uint8_t sign_pk[PROTO_KEY_LEN];
	struct cookie_maker cookie;	/* macs of what we send it, its cookie */
	uint8_t host_token[WIRE_TOKEN_MAX];
	size_t host_token_len;
	struct token token;
	bool has4, has6;
	struct in6_addr overlay4;	/* v4-mapped */
	struct in6_addr overlay6;
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;		/* 0: unknown */
	unsigned mtu;			/* inner MTU towards this peer */

	struct session sessions[SHIM_SESSIONS];
	int cur, prev, next;		/* slot numbers, -1 for none */
	struct noise_handshake hs;
	bool hs_pending;		/* initiation sent, awaiting response */
	bool hs_cookie_retried;		/* resent once on a cookie reply */
	int hs_slot;			/* slot the pending session will use */
	uint64_t hs_sent_ns, hs_first_ns;
	uint8_t last_ts[PROTO_TIMESTAMP_LEN];

	struct peer_cap caps[SHIM_CAP_EPOCHS];
	uint32_t latest_epoch;
	uint8_t *announce;		/* latest verified announcement, re-checked on reload */
	size_t announce_len;
	bool disabled;			/* its host token no longer verifies */
	uint32_t announced_epoch;	/* our epoch last sent to this peer */
	uint64_t epoch_request_ns;	/* rate limit of our requests */
	uint64_t announce_sent_ns;	/* rate limit of our answers */
	uint64_t denied_report_ns;	/* rate limit of our refusal reports */
	unsigned denied_reports;	/* reports sent since denied_report_ns */

	struct queued queue[SHIM_QUEUE];
	unsigned queue_len;

	uint64_t last_rx_ns, last_tx_ns, last_handshake_ns;
	uint64_t last_initiation_rx_ns;	/* flood limit on initiations received */
	uint64_t unanswered_tx_ns;	/* first data sent since we last heard */
	struct peer_counters c;
	uint64_t sync_ns;		/* sync.c: our last inventory answer */
};

/* This host's own capability, as announced. */
struct own_cap {
	uint32_t epoch;
	struct mask mask;
	bool isolated;
	unsigned nusers;		/* the user tokens it rests on, kept */
	uint8_t user_tokens[PROTO_ANNOUNCE_USERS_MAX][WIRE_TOKEN_MAX];
	size_t user_lens[PROTO_ANNOUNCE_USERS_MAX];
	char users[SHIM_USERS_TEXT];
	uint8_t msg[SHIM_ANNOUNCE_MAX];	/* signed control plaintext */
	size_t msg_len;
};

/* An overlay prefix routed into the interface at start (--route). */
struct shim_route {
	int family;
	uint8_t addr[16];
	unsigned plen;
};

enum {
	SHIM_ROUTES_MAX = 8,
	SHIM_PEERS_MAX = WIRE_MASK_BITS,	/* one per bit; the array never moves */
};

struct shim_config {
	const char *dir;		/* host state directory */
	const char *ifname;
	const char *control;		/* control socket path */
	unsigned control_mode;		/* its permissions (ctl.c) */
	const char *control_group;	/* its group; NULL: "captun" if it exists */
	uint16_t port;
	unsigned mtu;			/* TUN MTU; 0: underlay 1500 - overhead */
	bool strict;
	bool offload;
	bool skip_sender_check;		/* tests only: act as a rogue sender */
	bool no_cap_check;		/* benchmarks only: no capability check */
	unsigned rekey_after_s;		/* PROTO_REKEY_AFTER_TIME_S; tests shorten it */
	bool foreground;
	const char *xdp;		/* underlay interface of the early drop, or NULL */
	unsigned threads;		/* crypto workers (workers.h), the loop's included */
	bool spread_always;		/* tests only: WORKERS_ALWAYS */
	struct shim_guard_cfg guard;	/* --underlay-guard, --underlay-allow */
	uint64_t flow_max_bytes;		/* flows.log rotation size; 0: default */
	unsigned flow_keep;		/* rotated flows.log files kept; 0: default */
	unsigned flow_rate;		/* flow records a second before summaries */
	struct shim_route routes[SHIM_ROUTES_MAX];	/* --route, service.c */
	unsigned nroutes;
	const char *attach;		/* attach mode: the mesh interface (shim/attach.h) */
	const char *bpf_dir;		/* attach mode: pin directory */
	const char *cgroup;		/* attach mode: cgroup2 root, NULL to detect */
	bool drop_others;		/* attach mode: drop non-captun peers' packets */
	bool detach;			/* --detach: remove a dead instance's attachment */
};

/*
 * A data plane other than the tunnel (attach mode, shim/attach.h) takes
 * these over; a NULL mode means the tunnel's own.
 */
struct shim;
struct peer;
struct json_t;
struct shim_mode {
	int (*send_control)(struct shim *s, struct peer *p, const uint8_t *msg, size_t len);
	void (*cap_changed)(struct shim *s);	/* after s->cap, peers or tokens changed */
	struct json_t *(*status)(struct shim *s);
};

/*
 * Encrypted datagrams waiting for one sendmmsg, per address family, laid
 * out back to back in one arena so that a run of equal-size datagrams to
 * one peer can leave as one UDP GSO message.
 */
struct tx_batch {
	struct udp_msg msgs[UDP_BATCH];
	struct crypto_job *jobs;	/* SHIM_JOBS: the seals, run at the flush */
	size_t njobs;
	unsigned n;
	unsigned segs;			/* datagrams in msgs[n - 1] */
	bool closed;			/* msgs[n - 1] ended with a short one */
	uint8_t *arena;			/* SHIM_ARENA bytes */
	size_t used;
};

/* Received handshake messages waiting for the public-key work (hsqueue.c). */
struct hs_item;
struct hs_queue {
	struct hs_item *items;		/* SHIM_HSQ, a ring */
	unsigned head, len;
	uint64_t under_load_until_ns;
	uint64_t dh_window_ns;		/* start of the current second */
	unsigned dh_in_window;		/* DH messages in it */
	uint64_t cookies_sent;
};

struct shim;
struct rx_item;

/* An epoll registration: the loop calls fn when fd is ready. */
struct shim_ev {
	int fd;
	void (*fn)(struct shim *s, struct shim_ev *ev, uint32_t events);
};

struct ctl;
struct shim_sync;

struct shim {
	struct shim_config cfg;
	struct host_keys keys;
	struct noise_static stat;
	struct cookie_checker cookies;	/* macs sent to us, our cookies */
	struct ratelimiter rl;		/* handshake budget per source */
	struct hs_queue hsq;
	struct token self;		/* own host token, verified */
	uint8_t self_token[WIRE_TOKEN_MAX];
	size_t self_token_len;
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	struct revocation revoked;

	struct peer *peers;		/* every other host with a valid token */
	size_t npeers;
	struct peer **addr_table;	/* open addressing on overlay addresses */
	size_t addr_table_size;
	struct own_cap cap;
	bool cap_confirmed;		/* set by capd since the start */
	const char *cap_origin;		/* how the first capability came about */

	struct tun tun;
	struct udp_sock udp4, udp6;
	struct conntrack *ct;
	struct offload_gro gro;

	uint64_t drops[DROP_COUNT];
	uint64_t log_tokens, log_last_ns;	/* denied-flow log rate limit */
	struct tx_batch tx4, tx6;
	struct udp_msg rx[UDP_BATCH];
	uint8_t *rxbufs;		/* UDP_BATCH * UDP_BUF_MAX */
	struct rx_item *rx_items;	/* SHIM_JOBS: a received batch (receive.c) */
	struct crypto_job *rx_jobs;	/* SHIM_JOBS: its opens */
	struct workers *workers;	/* --threads (workers.h); NULL: one thread */
	uint8_t *buf;			/* scratch, SHIM_PKT_MAX */
	uint8_t *buf2;			/* scratch, SHIM_PKT_MAX */
	uint64_t now;			/* time of the current event */
	uint64_t ct_expired_ns;		/* last conntrack expiry pass */
	uint64_t flows_reset;		/* TCP connections reset by rechecks */
	bool recheck_due;		/* a peer's capability changed: recheck */
	int epfd;
	struct ctl *ctl;
	struct shim_guard guard;	/* guard.c */
	struct flowlog *flows;		/* DIR/flows.log (flows.c) */
	/*
	 * How a refusal report (struct proto_denied) reaches a peer: NULL for
	 * capshim's own sessions; attach mode sets its own channel. 0 or -errno.
	 */
	int (*flow_report)(struct shim *s, struct peer *p, const uint8_t *msg, size_t len);
	struct {			/* the NFQUEUE reader, capqueue (queue.c) */
		uint64_t first_ms, hello_ms;	/* monotonic; 0: never */
		int num;
		bool bypass, rules;
		uint64_t accepted, denied;
		uint64_t gen;			/* the verdict table's (queue.c) */
		uint8_t table_hash[32];		/* of its addresses */
		size_t entries;
		uint64_t pushes;
		int64_t reader_gen;		/* the reader's, from its hello */
		uint64_t reader_local, reader_asked;
	} queue;
	/* --xdp: the early-drop program's counters (xdp.c), or NULL */
	int (*xdp_counters)(struct shim *s, uint64_t *out, const char **names,
			    unsigned max);
	struct shim_sync *sync;		/* sync.c: what we hold, cached */
	uint64_t expiry_ns;		/* expiry.c: the last check */
	const struct shim_mode *mode;	/* NULL: the tunnel */
	void *mode_state;
};

uint64_t shim_now_ns(void);
uint64_t shim_unix_now(void);

/* state.c: keys, authority, revocations, peers, epoch from cfg.dir */
int shim_state_load(struct shim *s);
/* Writes c to DIR/capability (and DIR/epoch), atomically; 0 or -errno. */
int shim_cap_persist(struct shim *s, const struct own_cap *c);
/*
 * The first capability of a (re)started capshim: the last one it enforced
 * (DIR/capability, its users' tokens verified again), at a new epoch;
 * isolated if that cannot be read; the host grant only on a first start
 * (no DIR/capability and no DIR/epoch). Unconfirmed until capd sets one.
 */
int shim_cap_start(struct shim *s, const char **err);

/* peer.c */
int shim_peers_load(struct shim *s);
void shim_peer_init(struct shim *s, struct peer *p, const struct token *t,
		    const uint8_t *bin, size_t binlen);
void shim_peer_endpoints(struct shim *s);
struct policy_host;
void shim_peer_endpoint_set(struct peer *p, const struct policy_host *h);
int shim_addr_table_build(struct shim *s);
void shim_peers_free(struct shim *s);
int shim_reload(struct shim *s, char *report, size_t cap);
struct peer *shim_peer_by_pk(struct shim *s, const uint8_t pk[PROTO_KEY_LEN]);
struct peer *shim_peer_by_addr(struct shim *s, const struct in6_addr *a);
struct session *shim_session_by_index(struct shim *s, uint32_t index,
				      struct peer **peer);
int shim_session_slot(uint32_t index);
uint32_t shim_index_make(const struct shim *s, const struct peer *p, int slot);
int shim_slot_free(struct peer *p);
void shim_session_clear(struct session *se);
int shim_session_install(const struct shim *s, struct session *se,
			 const struct noise_keypair *kp, bool confirmed, uint64_t now);
/* Told of every session index handed out (on) and taken back; or NULL. */
extern void (*shim_index_hook)(uint32_t index, bool on);

/* xdp.c (capshim only): the early-drop XDP program on the underlay */
int shim_xdp_open(struct shim *s, const char *ifname);
void shim_xdp_close(struct shim *s);
size_t shim_peer_no(const struct shim *s, const struct peer *p);

/* handshake.c: the public-key work; bool: whether any was done */
int shim_handshake_start(struct shim *s, struct peer *p);
bool shim_handshake_initiation(struct shim *s, const uint8_t *buf, size_t len,
			       const struct sockaddr *from, socklen_t fromlen);
bool shim_handshake_response(struct shim *s, const uint8_t *buf, size_t len,
			     const struct sockaddr *from, socklen_t fromlen);
void shim_handshake_cookie(struct shim *s, const uint8_t *buf, size_t len);
struct session *shim_session_send(struct peer *p, uint64_t now);
void shim_session_confirm(struct shim *s, struct peer *p, int slot);

/* hsqueue.c */
int shim_hsqueue_init(struct shim *s);
void shim_hsqueue_free(struct shim *s);
void shim_handshake_enqueue(struct shim *s, const uint8_t *buf, size_t len,
			    const struct sockaddr *from, socklen_t fromlen);
/* Serves queued handshake messages within the budget; true if some remain. */
bool shim_handshake_drain(struct shim *s);
bool shim_handshake_pending(const struct shim *s);

/* timers.c */
void shim_timers(struct shim *s, uint64_t now);

/* announce.c */
int shim_cap_set(struct shim *s, const uint8_t *const *user_tokens,
		 const size_t *user_lens, unsigned nusers, bool isolate,
		 const char **err);
int shim_cap_refresh(struct shim *s);
void shim_peer_caps_recheck(struct shim *s, struct peer *p);
bool shim_announce_receive(struct shim *s, struct peer *p,
			   const uint8_t *msg, size_t len);
const struct peer_cap *shim_peer_cap(const struct peer *p, uint32_t epoch);

/* device.c */
void shim_drop(struct shim *s, enum shim_drop d);
int shim_datapath_init(struct shim *s);
void shim_datapath_free(struct shim *s);

/* send.c */
void shim_tun_readable(struct shim *s);
void shim_peer_mtu_update(struct shim *s, struct peer *p);
int shim_send_control(struct shim *s, struct peer *p, const uint8_t *msg,
		      size_t len);
void shim_flush_queue(struct shim *s, struct peer *p);
void shim_queue_drop(struct shim *s, struct peer *p);
void shim_tx_flush(struct shim *s);
int shim_send_raw(struct shim *s, const struct sockaddr_storage *to,
		  socklen_t tolen, const void *buf, size_t len);
/* An inner packet to p, past every check: sealed now, or queued. */
int shim_send_packet(struct shim *s, struct peer *p, const uint8_t *pkt, size_t len);

/*
 * recheck.c: at every capability change, cut the flows it no longer covers;
 * shim_recheck_settle does it at the end of a loop turn if a peer's changed.
 */
void shim_recheck(struct shim *s);
void shim_recheck_settle(struct shim *s);

/* receive.c */
void shim_udp_readable(struct shim *s, struct udp_sock *u);
struct rx_item *shim_rx_items_alloc(void);
/* A received batch: each message (or GRO run) of msgs, in order. */
void shim_rx_batch(struct shim *s, struct udp_msg *msgs, unsigned n);
void shim_rx_datagram(struct shim *s, uint8_t *buf, size_t len,
		      const struct sockaddr *from, socklen_t fromlen);
int shim_tun_write(struct shim *s, const uint8_t *pkt, size_t len);

/* update.c */
int shim_object_accept(struct shim *s, const uint8_t *bin, size_t len,
		       bool *stored, const char **why);
int shim_publish(struct shim *s, const uint8_t *bin, size_t len,
		 const struct peer *except);
void shim_object_receive(struct shim *s, struct peer *from,
			 const uint8_t *msg, size_t len);

/* ctl.c: the control socket */
int shim_ctl_open(struct shim *s, const char *path);
void shim_ctl_close(struct shim *s);
/* Every tick: clients whose budget refilled are served again. */
void shim_ctl_tick(struct shim *s);
uint64_t shim_ctl_dropped(const struct shim *s);
/* Pushes: lines that no request asked for, to the clients that subscribed. */
enum shim_ctl_sub {
	SHIM_CTL_SUB_QUEUE = 1 << 0,	/* capqueue's verdict table (queue.c) */
};
/* The client whose request is being answered gets subs; -ENOTCONN outside one. */
int shim_ctl_subscribe(struct shim *s, unsigned subs);
/* obj (reference taken) to every client subscribed to sub; how many. */
unsigned shim_ctl_push(struct shim *s, unsigned sub, json_t *obj);
int shim_ev_add(struct shim *s, struct shim_ev *ev);

/* flows.c: denied flows recorded at both ends (common/flowrec.h) */
int shim_flows_option(struct shim_config *cfg, int opt, const char *arg);
int shim_flows_open(struct shim *s);
void shim_flows_tick(struct shim *s);
void shim_flows_close(struct shim *s);
json_t *shim_flows_status(struct shim *s);
void shim_flow_denied_tx(struct shim *s, struct peer *p, const struct inet_flow *f,
			 const struct flowrec *attr, enum flowrec_via via,
			 uint8_t id_out[FLOWREC_ID_LEN]);
void shim_flow_reported(struct shim *s, struct peer *p, const uint8_t *msg);
void shim_flow_denied_rx(struct shim *s, struct peer *p, uint32_t epoch,
			 enum flowrec_reason reason, const struct inet_flow *f,
			 enum flowrec_via via);
/* flows_attach.c: attach mode's ring-buffer records (kernel-bpf/attach_event.h) */
struct attach_event;
int shim_flow_attach_event(struct shim *s, const struct attach_event *e);

/* queue.c: the NFQUEUE reader's verbs (queue/queue_proto.h) */
json_t *shim_queue_request(struct shim *s, uid_t uid, const char *cmd, json_t *req);
json_t *shim_queue_status(struct shim *s);
/*
 * The verdict table capqueue holds, pushed when it changed: called where
 * the capability changes and every tick (whatever else it depends on).
 */
void shim_queue_table_sync(struct shim *s);
/* hostadd.c: a host that joins while capshim runs. */
void shim_peer_add(struct shim *s, const struct token *t, const uint8_t *bin,
		   size_t len, char *report, size_t cap);

/* expiry.c: this host's token invalid at start, and tokens expiring. */
int shim_self_fallback(struct shim *s);
void shim_expiry_tick(struct shim *s);

/* sync.c: a peer that was away catches up on the authority's objects. */
void shim_sync_session_up(struct shim *s, struct peer *p);
void shim_sync_receive(struct shim *s, struct peer *p, const uint8_t *msg,
		       size_t len);
void shim_sync_free(struct shim *s);

/* service.c: what capshim does as a service (routes, readiness, SIGHUP). */
int shim_route_parse(struct shim_config *cfg, const char *text);
int shim_routes_add(struct shim *s);
void shim_service_ready(struct shim *s);
void shim_service_reload(struct shim *s);

/* ctlverbs.c: the answer to one request line from a client of uid */
json_t *shim_ctl_answer(struct shim *s, uid_t uid, const char *line, size_t len);

/* loop.c: runs until SIGTERM/SIGINT or shim_stop(); 0, or -errno if it broke */
int shim_run(struct shim *s);
void shim_stop(void);

/* log.c */
void shim_log_syslog(bool on);
void shim_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_log_denied(struct shim *s, const char *side, const struct peer *p,
		     const char *users, uint32_t epoch,
		     const struct inet_flow *f, const char *reason);

#endif
