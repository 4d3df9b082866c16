/*
 * tests/fuzz/fuzz_policy.c - libFuzzer harness for policy_parse_buffer.
 *
 * Every input is parsed as a policy. A failure must return no policy and a
 * message; a success must give a policy that obeys the rules of policy.h
 * (bits in range and unique, names valid and found again by name and bit,
 * every grant within the policy's hosts) and whose grants match what an
 * independent reading of the same JSON says they should be. The same
 * document handed in parsed (policy_parse_json) must give the same policy
 * and must not be modified. A broken invariant abort()s.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "keys.h"
#include "mask.h"
#include "policy.h"
#include "token.h"
#include "wire.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char source[] = "fuzz.json";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		abort();
	return 0;
}

static bool mask_subset(const struct mask *a, const struct mask *of)
{
	struct mask x = *a;

	mask_and(&x, of);
	return mask_equal(&x, a);
}

/* The grant a reach list must compile to, read independently. */
static void expected_reach(const struct policy *p, const json_t *reach,
			   const struct mask *all, struct mask *out)
{
	size_t i;
	json_t *e;

	mask_clear(out);
	if (!reach)
		return;
	CHECK(json_is_array(reach));
	json_array_foreach((json_t *)reach, i, e) {
		const char *s = json_string_value(e);
		const struct policy_host *h;
		const struct policy_group *g;

		CHECK(s != NULL);
		if (strcmp(s, "*") == 0) {
			mask_or(out, all);
		} else if ((h = policy_host_find(p, s))) {
			CHECK(policy_group_find(p, s) == NULL);
			mask_bit_set(out, h->bit);
		} else {
			g = policy_group_find(p, s);
			CHECK(g != NULL);
			mask_or(out, &g->members);
		}
	}
}

static void check_host(const struct policy *p, size_t idx, const char *name,
		       const json_t *obj, const struct mask *all)
{
	const struct policy_host *h = &p->hosts[idx];
	const json_t *v, *e;
	struct mask want;
	struct token t;
	char b64[45];
	size_t i;

	CHECK(strcmp(h->name, name) == 0);	/* file order */
	CHECK(token_name_valid(h->name));
	CHECK(h->bit < WIRE_MASK_BITS);
	CHECK(policy_host_find(p, name) == h);
	CHECK(policy_host_by_bit(p, h->bit) == h);
	CHECK(policy_group_find(p, name) == NULL);

	CHECK(json_is_object(obj));
	v = json_object_get(obj, "bit");
	CHECK(json_is_integer(v) && json_integer_value(v) == h->bit);

	CHECK(mask_subset(&h->grant, all));
	expected_reach(p, json_object_get(obj, "reach"), all, &want);
	CHECK(mask_equal(&want, &h->grant));

	/* Overlay addresses: one of each family at most, as written. */
	v = json_object_get(obj, "overlay");
	if (!v) {
		CHECK(!h->has_overlay4 && !h->has_overlay6);
	} else {
		bool seen4 = false, seen6 = false;

		json_array_foreach((json_t *)v, i, e) {
			const char *s = json_string_value(e);
			struct in_addr a4;
			struct in6_addr a6;

			CHECK(s != NULL);
			if (inet_pton(AF_INET, s, &a4) == 1) {
				CHECK(!seen4 && h->has_overlay4);
				CHECK(memcmp(&a4, &h->overlay4, sizeof(a4)) == 0);
				seen4 = true;
			} else {
				CHECK(inet_pton(AF_INET6, s, &a6) == 1);
				CHECK(!seen6 && h->has_overlay6);
				CHECK(memcmp(&a6, &h->overlay6, sizeof(a6)) == 0);
				seen6 = true;
			}
		}
		CHECK(seen4 == h->has_overlay4 && seen6 == h->has_overlay6);
	}

	/* Endpoint: set exactly when given, and it reads back the same. */
	v = json_object_get(obj, "endpoint");
	CHECK(h->endpoint.set == (v != NULL));
	if (v) {
		char addr[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN + 16];
		struct in_addr a4;
		struct in6_addr a6;
		const char *s = json_string_value(v);

		CHECK(s != NULL && h->endpoint.port >= 1);
		if (h->endpoint.family == AF_INET) {
			CHECK(inet_ntop(AF_INET, &h->endpoint.addr.v4, addr,
					sizeof(addr)) != NULL);
			snprintf(back, sizeof(back), "%s:%u", addr,
				 (unsigned)h->endpoint.port);
			CHECK(inet_pton(AF_INET, addr, &a4) == 1);
		} else {
			CHECK(h->endpoint.family == AF_INET6);
			CHECK(inet_ntop(AF_INET6, &h->endpoint.addr.v6, addr,
					sizeof(addr)) != NULL);
			snprintf(back, sizeof(back), "[%s]:%u", addr,
				 (unsigned)h->endpoint.port);
			CHECK(inet_pton(AF_INET6, addr, &a6) == 1);
		}
		/* inet_pton is strict for IPv4, so the IPv4 text is canonical. */
		if (h->endpoint.family == AF_INET)
			CHECK(strcmp(back, s) == 0);
	}

	/* Keys: both or neither, and exactly the base64 text given. */
	v = json_object_get(obj, "tunnel_key");
	e = json_object_get(obj, "sign_key");
	CHECK(h->has_keys == (v != NULL) && h->has_keys == (e != NULL));
	if (h->has_keys) {
		keys_pub_to_base64(h->tunnel_pk, b64);
		CHECK(strcmp(b64, json_string_value(v)) == 0);
		keys_pub_to_base64(h->sign_pk, b64);
		CHECK(strcmp(b64, json_string_value(e)) == 0);
	}

	/* Whatever the policy holds can be issued as a token. */
	memset(&t, 0, sizeof(t));
	t.type = WIRE_TYPE_HOST_TOKEN;
	memcpy(t.name, h->name, sizeof(t.name));
	t.bit = h->bit;
	t.grant = h->grant;
	CHECK(token_encoded_len(&t) > 0);
}

static void check_policy(const struct policy *p, const json_t *root)
{
	const json_t *hosts, *users, *groups, *v;
	const char *name;
	struct mask all, seen;
	size_t i;

	CHECK(json_is_object(root));
	hosts = json_object_get(root, "hosts");
	users = json_object_get(root, "users");
	groups = json_object_get(root, "groups");
	CHECK(json_is_object(hosts));
	CHECK(p->nhosts == json_object_size(hosts));
	CHECK(p->nusers == (users ? json_object_size(users) : 0));
	CHECK(p->ngroups == (groups ? json_object_size(groups) : 0));
	CHECK(p->nhosts <= POLICY_HOSTS_MAX && p->nusers <= POLICY_USERS_MAX);
	CHECK(p->nhosts == 0 || p->hosts != NULL);
	CHECK(p->nusers == 0 || p->users != NULL);
	CHECK(p->ngroups == 0 || p->groups != NULL);

	/* Bits unique; "*" is exactly the hosts' bits. */
	mask_clear(&seen);
	for (i = 0; i < p->nhosts; i++) {
		CHECK(!mask_bit_test(&seen, p->hosts[i].bit));
		mask_bit_set(&seen, p->hosts[i].bit);
	}
	policy_all_hosts(p, &all);
	CHECK(mask_equal(&all, &seen));
	CHECK(mask_count(&all) == p->nhosts);
	for (unsigned b = 0; b < WIRE_MASK_BITS; b++)
		if (!mask_bit_test(&all, b))
			CHECK(policy_host_by_bit(p, b) == NULL);
	CHECK(policy_host_by_bit(p, WIRE_MASK_BITS) == NULL);
	CHECK(policy_host_find(p, "*") == NULL);
	CHECK(policy_host_find(p, "") == NULL);

	/* Groups first: the reach oracle uses their members. */
	i = 0;
	if (groups)
		json_object_foreach((json_t *)groups, name, v) {
			const struct policy_group *g = &p->groups[i];
			struct mask want;
			size_t j;
			json_t *m;

			CHECK(strcmp(g->name, name) == 0);
			CHECK(token_name_valid(g->name));
			CHECK(policy_group_find(p, name) == g);
			CHECK(policy_host_find(p, name) == NULL);
			CHECK(mask_subset(&g->members, &all));
			mask_clear(&want);
			CHECK(json_is_array(v));
			json_array_foreach(v, j, m) {
				const struct policy_host *h =
					policy_host_find(p, json_string_value(m));

				CHECK(h != NULL);
				mask_bit_set(&want, h->bit);
			}
			CHECK(mask_equal(&want, &g->members));
			i++;
		}

	i = 0;
	json_object_foreach((json_t *)hosts, name, v) {
		check_host(p, i, name, v, &all);
		i++;
	}

	i = 0;
	if (users)
		json_object_foreach((json_t *)users, name, v) {
			const struct policy_user *u = &p->users[i];
			struct token t;
			struct mask want;

			CHECK(strcmp(u->name, name) == 0);
			CHECK(token_name_valid(u->name));
			CHECK(policy_user_find(p, name) == u);
			CHECK(mask_subset(&u->grant, &all));
			CHECK(json_is_object(v));
			expected_reach(p, json_object_get(v, "reach"), &all, &want);
			CHECK(mask_equal(&want, &u->grant));

			memset(&t, 0, sizeof(t));
			t.type = WIRE_TYPE_USER_TOKEN;
			memcpy(t.name, u->name, sizeof(t.name));
			t.grant = u->grant;
			CHECK(token_encoded_len(&t) > 0);
			i++;
		}
}

static bool endpoints_equal(const struct policy_endpoint *a,
			    const struct policy_endpoint *b)
{
	if (a->set != b->set)
		return false;
	if (!a->set)
		return true;
	if (a->family != b->family || a->port != b->port)
		return false;
	return a->family == AF_INET
		       ? memcmp(&a->addr.v4, &b->addr.v4, sizeof(a->addr.v4)) == 0
		       : memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

static void check_same(const struct policy *a, const struct policy *b)
{
	CHECK(a->nhosts == b->nhosts && a->nusers == b->nusers &&
	      a->ngroups == b->ngroups);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct policy_host *x = &a->hosts[i], *y = &b->hosts[i];

		CHECK(strcmp(x->name, y->name) == 0 && x->bit == y->bit);
		CHECK(mask_equal(&x->grant, &y->grant));
		CHECK(x->has_keys == y->has_keys);
		CHECK(!x->has_keys ||
		      (memcmp(x->tunnel_pk, y->tunnel_pk, WIRE_PUBKEY_LEN) == 0 &&
		       memcmp(x->sign_pk, y->sign_pk, WIRE_PUBKEY_LEN) == 0));
		CHECK(x->has_overlay4 == y->has_overlay4 &&
		      x->has_overlay6 == y->has_overlay6);
		CHECK(!x->has_overlay4 ||
		      memcmp(&x->overlay4, &y->overlay4, sizeof(x->overlay4)) == 0);
		CHECK(!x->has_overlay6 ||
		      memcmp(&x->overlay6, &y->overlay6, sizeof(x->overlay6)) == 0);
		CHECK(endpoints_equal(&x->endpoint, &y->endpoint));
	}
	for (size_t i = 0; i < a->nusers; i++) {
		CHECK(strcmp(a->users[i].name, b->users[i].name) == 0);
		CHECK(mask_equal(&a->users[i].grant, &b->users[i].grant));
	}
	for (size_t i = 0; i < a->ngroups; i++) {
		CHECK(strcmp(a->groups[i].name, b->groups[i].name) == 0);
		CHECK(mask_equal(&a->groups[i].members, &b->groups[i].members));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL, *p2 = NULL;
	struct policy_error err, err2;
	json_error_t jerr;
	json_t *root, *copy;
	bool ok, ok2;

	memset(&err, 0, sizeof(err));
	ok = policy_parse_buffer((const char *)data, size, source, &p, &err);
	if (!ok) {
		CHECK(p == NULL);
		CHECK(memchr(err.text, '\0', sizeof(err.text)) != NULL);
		CHECK(strncmp(err.text, source, strlen(source)) == 0);
	} else {
		CHECK(p != NULL);
	}

	/* The same document, parsed here: same verdict, same policy. */
	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		CHECK(!ok);
		return 0;
	}
	copy = json_deep_copy(root);
	CHECK(copy != NULL);
	memset(&err2, 0, sizeof(err2));
	ok2 = policy_parse_json(root, source, &p2, &err2);
	CHECK(ok2 == ok);
	CHECK(json_equal(root, copy));
	if (ok) {
		CHECK(p2 != NULL);
		check_same(p, p2);
		check_policy(p, root);
	} else {
		CHECK(p2 == NULL);
		CHECK(strcmp(err.text, err2.text) == 0);
	}
	policy_free(p);
	policy_free(p2);
	json_decref(copy);
	json_decref(root);
	return 0;
}
