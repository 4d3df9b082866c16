/*
 * policy/policy.c - policy JSON to grant masks. Three passes over a parsed
 * document: hosts (names, bits, addresses, keys), groups, then every reach
 * list of hosts and users. All or nothing: the first error stops the load
 * and nothing is returned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "keys.h"
#include "policy.h"
#include "token.h"

struct ctx {
	const char *source;
	struct policy_error *err;
	struct policy *p;
	int bit_owner[WIRE_MASK_BITS];	/* host index + 1, 0 if free */
};

__attribute__((format(printf, 3, 4)))
static bool fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[POLICY_ERROR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err) {
		snprintf(c->err->text, sizeof(c->err->text), "%s: %s: %s",
			 c->source, path, msg);
		c->err->sys_errno = 0;
	}
	return false;
}

static bool keys_only(struct ctx *c, const char *path, const json_t *obj,
		      const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(key, *a) == 0;
		if (!ok)
			return fail(c, path, "unknown key '%s'", key);
	}
	return true;
}

static bool name_ok(struct ctx *c, const char *path, const char *kind,
		    const char *name)
{
	if (name[0] == '\0')
		return fail(c, path, "empty %s name", kind);
	if (strlen(name) > WIRE_NAME_MAX)
		return fail(c, path, "%s name '%.40s...' is longer than %d bytes",
			    kind, name, WIRE_NAME_MAX);
	if (!token_name_valid(name))
		return fail(c, path,
			    "%s name '%s' may hold only letters, digits, '_', '.' and '-' (not first)",
			    kind, name);
	return true;
}

static bool parse_endpoint(const char *text, struct policy_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	size_t hlen;
	char *end;
	long v;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		port = close + 2;
		ep->family = AF_INET6;
		if (inet_pton(AF_INET6, host, &ep->addr.v6) != 1)
			return false;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		port = colon + 1;
		ep->family = AF_INET;
		if (inet_pton(AF_INET, host, &ep->addr.v4) != 1)
			return false;
	}
	if (port[0] < '1' || port[0] > '9')
		return false;
	errno = 0;
	v = strtol(port, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return false;
	ep->port = (uint16_t)v;
	ep->set = true;
	return true;
}

static bool parse_overlay(struct ctx *c, const char *path, const json_t *val,
			  struct policy_host *h)
{
	char sub[160];
	size_t i;
	json_t *a;

	if (!json_is_array(val))
		return fail(c, path, "must be a list of addresses");
	json_array_foreach((json_t *)val, i, a) {
		const char *s = json_string_value(a);

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!s)
			return fail(c, sub, "must be a string");
		if (inet_pton(AF_INET, s, &h->overlay4) == 1) {
			if (h->has_overlay4)
				return fail(c, sub, "a second IPv4 overlay address");
			h->has_overlay4 = true;
		} else if (inet_pton(AF_INET6, s, &h->overlay6) == 1) {
			if (h->has_overlay6)
				return fail(c, sub, "a second IPv6 overlay address");
			h->has_overlay6 = true;
		} else {
			return fail(c, sub, "'%s' is not an IPv4 or IPv6 address", s);
		}
	}
	return true;
}

static bool parse_key(struct ctx *c, const char *path, const json_t *val,
		      uint8_t pk[WIRE_PUBKEY_LEN])
{
	const char *s = json_string_value(val);

	if (!s)
		return fail(c, path, "must be a string");
	if (!keys_pub_from_base64(s, pk))
		return fail(c, path, "not a base64 32-byte public key");
	return true;
}

/*
 * What no two hosts may share: a key (one host's token would open the
 * other's sessions) or an overlay address (packets from one would pass
 * as the other's). Bits are checked as they are read.
 */
static bool unique(struct ctx *c, size_t idx, const char *path)
{
	const struct policy_host *h = &c->p->hosts[idx];
	char sub[200];

	for (size_t i = 0; i < idx; i++) {
		const struct policy_host *o = &c->p->hosts[i];

		if (h->has_keys && o->has_keys &&
		    memcmp(h->tunnel_pk, o->tunnel_pk, WIRE_PUBKEY_LEN) == 0) {
			snprintf(sub, sizeof(sub), "%s.tunnel_key", path);
			return fail(c, sub, "the same key as host '%s': each host needs "
				    "its own keys (capctl keygen on it)", o->name);
		}
		if (h->has_keys && o->has_keys &&
		    memcmp(h->sign_pk, o->sign_pk, WIRE_PUBKEY_LEN) == 0) {
			snprintf(sub, sizeof(sub), "%s.sign_key", path);
			return fail(c, sub, "the same key as host '%s': each host needs "
				    "its own keys (capctl keygen on it)", o->name);
		}
		if ((h->has_overlay4 && o->has_overlay4 &&
		     memcmp(&h->overlay4, &o->overlay4, sizeof(h->overlay4)) == 0) ||
		    (h->has_overlay6 && o->has_overlay6 &&
		     memcmp(&h->overlay6, &o->overlay6, sizeof(h->overlay6)) == 0)) {
			snprintf(sub, sizeof(sub), "%s.overlay", path);
			return fail(c, sub, "an address host '%s' holds already", o->name);
		}
	}
	return true;
}

static const char *const host_keys[] = {
	"bit", "reach", "overlay", "endpoint", "tunnel_key", "sign_key", NULL,
};

static bool parse_host(struct ctx *c, size_t idx, const char *name,
		       const json_t *obj)
{
	struct policy_host *h = &c->p->hosts[idx];
	char path[160], sub[200];
	json_t *bit, *v, *tk, *sk;
	json_int_t b;

	snprintf(path, sizeof(path), "hosts.%s", name);
	if (!name_ok(c, path, "host", name))
		return false;
	if (!json_is_object(obj))
		return fail(c, path, "must be an object");
	if (!keys_only(c, path, obj, host_keys))
		return false;
	snprintf(h->name, sizeof(h->name), "%s", name);

	snprintf(sub, sizeof(sub), "%s.bit", path);
	bit = json_object_get(obj, "bit");
	if (!bit)
		return fail(c, path, "missing 'bit'");
	if (!json_is_integer(bit))
		return fail(c, sub, "must be an integer 0..%d", WIRE_MASK_BITS - 1);
	b = json_integer_value(bit);
	if (b < 0 || b >= WIRE_MASK_BITS)
		return fail(c, sub, "bit %lld out of range 0..%d", (long long)b,
			    WIRE_MASK_BITS - 1);
	if (c->bit_owner[b])
		return fail(c, sub, "bit %lld already used by host '%s'",
			    (long long)b, c->p->hosts[c->bit_owner[b] - 1].name);
	c->bit_owner[b] = (int)idx + 1;
	h->bit = (uint16_t)b;

	v = json_object_get(obj, "overlay");
	snprintf(sub, sizeof(sub), "%s.overlay", path);
	if (v && !parse_overlay(c, sub, v, h))
		return false;
	v = json_object_get(obj, "endpoint");
	snprintf(sub, sizeof(sub), "%s.endpoint", path);
	if (v && (!json_is_string(v) ||
		  !parse_endpoint(json_string_value(v), &h->endpoint)))
		return fail(c, sub, "must be \"IPv4:port\" or \"[IPv6]:port\"");

	tk = json_object_get(obj, "tunnel_key");
	sk = json_object_get(obj, "sign_key");
	if (!tk != !sk)
		return fail(c, path, "'tunnel_key' and 'sign_key' go together");
	if (tk) {
		snprintf(sub, sizeof(sub), "%s.tunnel_key", path);
		if (!parse_key(c, sub, tk, h->tunnel_pk))
			return false;
		snprintf(sub, sizeof(sub), "%s.sign_key", path);
		if (!parse_key(c, sub, sk, h->sign_pk))
			return false;
		h->has_keys = true;
	}
	return unique(c, idx, path);
}

static const struct policy_host *host_find(const struct policy *p, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p->hosts[i].name, name) == 0)
			return &p->hosts[i];
	return NULL;
}

static bool parse_group(struct ctx *c, size_t idx, const char *name,
			const json_t *arr)
{
	struct policy_group *g = &c->p->groups[idx];
	char path[160], sub[200];
	size_t i;
	json_t *m;

	snprintf(path, sizeof(path), "groups.%s", name);
	if (!name_ok(c, path, "group", name))
		return false;
	if (host_find(c->p, c->p->nhosts, name))
		return fail(c, path, "'%s' is already a host name", name);
	if (!json_is_array(arr))
		return fail(c, path, "must be a list of host names");
	snprintf(g->name, sizeof(g->name), "%s", name);
	json_array_foreach((json_t *)arr, i, m) {
		const struct policy_host *h;
		const char *s = json_string_value(m);

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!s)
			return fail(c, sub, "must be a host name string");
		h = host_find(c->p, c->p->nhosts, s);
		if (!h)
			return fail(c, sub, "unknown host '%s'", s);
		mask_bit_set(&g->members, h->bit);
	}
	return true;
}

/* A reach list: host names, group names and "*", ORed into out. */
static bool parse_reach(struct ctx *c, const char *path, const json_t *arr,
			struct mask *out)
{
	char sub[200];
	size_t i;
	json_t *e;

	mask_clear(out);
	if (!arr)
		return true;
	if (!json_is_array(arr))
		return fail(c, path, "must be a list of host names, group names or \"*\"");
	json_array_foreach((json_t *)arr, i, e) {
		const struct policy_host *h;
		const struct policy_group *g;
		const char *s = json_string_value(e);

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!s)
			return fail(c, sub, "must be a string");
		if (strcmp(s, "*") == 0) {
			struct mask all;

			policy_all_hosts(c->p, &all);
			mask_or(out, &all);
		} else if ((h = host_find(c->p, c->p->nhosts, s))) {
			mask_bit_set(out, h->bit);
		} else if ((g = policy_group_find(c->p, s))) {
			mask_or(out, &g->members);
		} else {
			return fail(c, sub, "unknown host or group '%s'", s);
		}
	}
	return true;
}

static const char *const user_keys[] = { "reach", NULL };
static const char *const top_keys[] = { "hosts", "users", "groups", NULL };

static bool parse_user(struct ctx *c, size_t idx, const char *name,
		       const json_t *obj)
{
	struct policy_user *u = &c->p->users[idx];
	char path[160], sub[200];

	snprintf(path, sizeof(path), "users.%s", name);
	if (!name_ok(c, path, "user", name))
		return false;
	if (!json_is_object(obj))
		return fail(c, path, "must be an object");
	if (!keys_only(c, path, obj, user_keys))
		return false;
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(sub, sizeof(sub), "%s.reach", path);
	return parse_reach(c, sub, json_object_get(obj, "reach"), &u->grant);
}

/* Allocates the three tables, sized by the document. */
static bool alloc_tables(struct ctx *c, const json_t *hosts,
			 const json_t *users, const json_t *groups)
{
	struct policy *p = c->p;
	size_t nh = json_object_size(hosts), nu = json_object_size(users);
	size_t ng = json_object_size(groups);

	if (nh > POLICY_HOSTS_MAX)
		return fail(c, "hosts", "more than %d hosts", POLICY_HOSTS_MAX);
	if (nu > POLICY_USERS_MAX)
		return fail(c, "users", "more than %d users", POLICY_USERS_MAX);
	p->hosts = calloc(nh ? nh : 1, sizeof(*p->hosts));
	p->users = calloc(nu ? nu : 1, sizeof(*p->users));
	p->groups = calloc(ng ? ng : 1, sizeof(*p->groups));
	if (!p->hosts || !p->users || !p->groups)
		return fail(c, "policy", "out of memory");
	return true;
}

static bool compile(struct ctx *c, const json_t *root)
{
	const json_t *hosts, *users, *groups;
	const char *name;
	json_t *v;

	if (!json_is_object(root))
		return fail(c, "(top)", "must be an object with \"hosts\", \"users\" and \"groups\"");
	if (!keys_only(c, "(top)", root, top_keys))
		return false;
	hosts = json_object_get(root, "hosts");
	users = json_object_get(root, "users");
	groups = json_object_get(root, "groups");
	if (!hosts)
		return fail(c, "(top)", "missing \"hosts\"");
	if (!json_is_object(hosts))
		return fail(c, "hosts", "must be an object of host name -> host");
	if (users && !json_is_object(users))
		return fail(c, "users", "must be an object of user name -> user");
	if (groups && !json_is_object(groups))
		return fail(c, "groups", "must be an object of group name -> list of hosts");
	if (!alloc_tables(c, hosts, users, groups))
		return false;

	json_object_foreach((json_t *)hosts, name, v) {
		if (!parse_host(c, c->p->nhosts, name, v))
			return false;
		c->p->nhosts++;
	}
	if (groups)
		json_object_foreach((json_t *)groups, name, v) {
			if (!parse_group(c, c->p->ngroups, name, v))
				return false;
			c->p->ngroups++;
		}
	json_object_foreach((json_t *)hosts, name, v) {
		struct policy_host *h = (struct policy_host *)host_find(c->p, c->p->nhosts, name);
		char sub[200];

		snprintf(sub, sizeof(sub), "hosts.%s.reach", name);
		if (!parse_reach(c, sub, json_object_get(v, "reach"), &h->grant))
			return false;
	}
	if (users)
		json_object_foreach((json_t *)users, name, v) {
			if (!parse_user(c, c->p->nusers, name, v))
				return false;
			c->p->nusers++;
		}
	return true;
}

bool policy_parse_json(const json_t *root, const char *source,
		       struct policy **out, struct policy_error *err)
{
	struct ctx *c;
	bool ok;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (err) {
			snprintf(err->text, sizeof(err->text), "%s: out of memory", source);
			err->sys_errno = ENOMEM;
		}
		return false;
	}
	c->source = source;
	c->err = err;
	c->p = calloc(1, sizeof(*c->p));
	ok = c->p ? compile(c, root) : fail(c, "policy", "out of memory");
	if (ok)
		*out = c->p;
	else
		policy_free(c->p);
	free(c);
	return ok;
}

bool policy_parse_buffer(const char *buf, size_t len, const char *source,
			 struct policy **out, struct policy_error *err)
{
	json_error_t jerr;
	json_t *root;
	bool ok;

	*out = NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (err) {
			snprintf(err->text, sizeof(err->text), "%s:%d:%d: %s",
				 source, jerr.line, jerr.column, jerr.text);
			err->sys_errno = 0;
		}
		return false;
	}
	ok = policy_parse_json(root, source, out, err);
	json_decref(root);
	return ok;
}

bool policy_parse_file(const char *path, struct policy **out,
		       struct policy_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	bool ok;
	int ret;

	*out = NULL;
	ret = fileio_read(path, POLICY_FILE_MAX, &buf, &len);
	if (ret < 0) {
		if (err) {
			snprintf(err->text, sizeof(err->text), "%s: %s", path,
				 ret == -EFBIG ? "file too large" : strerror(-ret));
			err->sys_errno = -ret;
		}
		return false;
	}
	ok = policy_parse_buffer((const char *)buf, len, path, out, err);
	free(buf);
	return ok;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->hosts);
	free(p->users);
	free(p->groups);
	free(p);
}

const struct policy_host *policy_host_find(const struct policy *p, const char *name)
{
	return host_find(p, p->nhosts, name);
}

const struct policy_host *policy_host_by_bit(const struct policy *p, unsigned bit)
{
	for (size_t i = 0; i < p->nhosts; i++)
		if (p->hosts[i].bit == bit)
			return &p->hosts[i];
	return NULL;
}

const struct policy_user *policy_user_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nusers; i++)
		if (strcmp(p->users[i].name, name) == 0)
			return &p->users[i];
	return NULL;
}

const struct policy_group *policy_group_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

int policy_host_token(const struct policy_host *h, struct token *out)
{
	if (!h->has_keys)
		return -ENOKEY;
	memset(out, 0, sizeof(*out));
	out->type = WIRE_TYPE_HOST_TOKEN;
	snprintf(out->name, sizeof(out->name), "%s", h->name);
	out->bit = h->bit;
	out->grant = h->grant;
	if (h->has_overlay4) {
		out->flags |= WIRE_HOST_OVERLAY4;
		memcpy(out->overlay4, &h->overlay4, sizeof(out->overlay4));
	}
	if (h->has_overlay6) {
		out->flags |= WIRE_HOST_OVERLAY6;
		memcpy(out->overlay6, &h->overlay6, sizeof(out->overlay6));
	}
	memcpy(out->tunnel_pk, h->tunnel_pk, sizeof(out->tunnel_pk));
	memcpy(out->sign_pk, h->sign_pk, sizeof(out->sign_pk));
	return 0;
}

int policy_user_token(const struct policy_user *u, struct token *out)
{
	memset(out, 0, sizeof(*out));
	out->type = WIRE_TYPE_USER_TOKEN;
	snprintf(out->name, sizeof(out->name), "%s", u->name);
	out->grant = u->grant;
	return 0;
}

void policy_all_hosts(const struct policy *p, struct mask *out)
{
	mask_clear(out);
	for (size_t i = 0; i < p->nhosts; i++)
		mask_bit_set(out, p->hosts[i].bit);
}
