/*
 * policy/policy.h - the policy file: hosts, users and groups, compiled into
 * one grant mask per host and per user.
 *
 * {
 *   "hosts": {
 *     "host1": { "bit": 1, "reach": ["host2", "web", "*"],
 *                "overlay": ["10.77.0.1", "fd77::1"],
 *                "endpoint": "192.0.2.1:51820",
 *                "tunnel_key": "<base64 X25519>", "sign_key": "<base64 Ed25519>" }
 *   },
 *   "users":  { "alice": { "reach": ["host1"] } },
 *   "groups": { "web": ["host2", "host3"] }
 * }
 *
 * A reach entry names a host, a group or "*" (every host). Loading is all or
 * nothing: on any error no policy is returned and the error names the file
 * and either the line and column or the path to the offending value.
 */
#ifndef CAPTUN_POLICY_POLICY_H
#define CAPTUN_POLICY_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mask.h"
#include "wire.h"

enum policy_limit {
	POLICY_HOSTS_MAX = WIRE_MASK_BITS,
	POLICY_USERS_MAX = 1 << 20,
	POLICY_FILE_MAX = 64 << 20,
	POLICY_ERROR_LEN = 512,
};

struct policy_error {
	char text[POLICY_ERROR_LEN];	/* "FILE:LINE:COL: msg" or "FILE: path: msg" */
	int sys_errno;			/* the file could not be read: its errno; else 0 */
};

struct policy_endpoint {
	bool set;
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint16_t port;
};

struct policy_host {
	char name[WIRE_NAME_MAX + 1];
	uint16_t bit;
	struct mask grant;
	bool has_keys;
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];
	uint8_t sign_pk[WIRE_PUBKEY_LEN];
	bool has_overlay4, has_overlay6;
	struct in_addr overlay4;
	struct in6_addr overlay6;
	struct policy_endpoint endpoint;
};

struct policy_user {
	char name[WIRE_NAME_MAX + 1];
	struct mask grant;
};

struct policy_group {
	char name[WIRE_NAME_MAX + 1];
	struct mask members;
};

struct policy {
	size_t nhosts, nusers, ngroups;
	struct policy_host *hosts;	/* in file order */
	struct policy_user *users;
	struct policy_group *groups;
};

bool policy_parse_file(const char *path, struct policy **out,
		       struct policy_error *err);
bool policy_parse_buffer(const char *buf, size_t len, const char *source,
			 struct policy **out, struct policy_error *err);
/* source names the origin in messages; root is not modified. */
bool policy_parse_json(const json_t *root, const char *source,
		       struct policy **out, struct policy_error *err);
void policy_free(struct policy *p);

const struct policy_host *policy_host_find(const struct policy *p, const char *name);
const struct policy_host *policy_host_by_bit(const struct policy *p, unsigned bit);
const struct policy_user *policy_user_find(const struct policy *p, const char *name);
const struct policy_group *policy_group_find(const struct policy *p, const char *name);

struct token;

/*
 * Fill a token from a policy entry: name, grant, and for hosts bit, overlay
 * addresses and public keys (-ENOKEY if the host has none). The caller
 * sets serial and validity. Returns 0 or -errno.
 */
int policy_host_token(const struct policy_host *h, struct token *out);
int policy_user_token(const struct policy_user *u, struct token *out);

/* All hosts' bits: what "*" means. */
void policy_all_hosts(const struct policy *p, struct mask *out);

#endif
