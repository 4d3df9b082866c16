/*
 * tests/unit/check_capd_publish.c - capd's publish verb without a capshim:
 * which signed objects a host keeps (only verified ones, only newer ones,
 * revocation lists before tokens) and what it answers. The host holds
 * user-A.token serial 5 and a revocation list of serial 2 to begin with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "armor.h"
#include "capd.h"
#include "suites.h"

enum obj_kind {
	OBJ_END,
	OBJ_USER_A,		/* user A, serial given */
	OBJ_USER_B,
	OBJ_USER_A_OTHER_AUTH,
	OBJ_USER_A_EXPIRED,
	OBJ_LIST,		/* revocation list, serial given, revoking `revokes` */
	OBJ_GARBAGE,
	OBJ_HOST_SELF,		/* this host's own token, serial given */
};

struct obj {
	enum obj_kind kind;
	uint64_t serial;
	uint64_t revokes;
};

struct pub_case {
	const char *what;
	struct obj objs[4];
	int accepted, ignored;
	uint64_t a_serial;	/* user-A.token's serial afterwards */
	uint64_t list_serial;	/* the list held afterwards */
};

static const struct pub_case pub_cases[] = {
	{ "newer token kept", { { OBJ_USER_A, 6, 0 } }, 1, 0, 6, 2 },
	{ "same serial ignored", { { OBJ_USER_A, 5, 0 } }, 0, 1, 5, 2 },
	{ "older serial ignored", { { OBJ_USER_A, 4, 0 } }, 0, 1, 5, 2 },
	{ "a new user's token kept", { { OBJ_USER_B, 9, 0 } }, 1, 0, 5, 2 },
	{ "other authority ignored", { { OBJ_USER_A_OTHER_AUTH, 9, 0 } }, 0, 1, 5, 2 },
	{ "expired token ignored", { { OBJ_USER_A_EXPIRED, 9, 0 } }, 0, 1, 5, 2 },
	{ "garbage ignored", { { OBJ_GARBAGE, 0, 0 } }, 0, 1, 5, 2 },
	{ "newer list kept", { { OBJ_LIST, 3, 77 } }, 1, 0, 5, 3 },
	{ "older list ignored", { { OBJ_LIST, 1, 77 } }, 0, 1, 5, 2 },
	{ "list first: a token it revokes is not kept",
	  { { OBJ_USER_A, 8, 0 }, { OBJ_LIST, 3, 8 } }, 1, 1, 5, 3 },
	{ "a mix", { { OBJ_GARBAGE, 0, 0 }, { OBJ_USER_A, 7, 0 }, { OBJ_USER_B, 3, 0 },
		     { OBJ_LIST, 2, 0 } }, 2, 2, 7, 2 },
	{ "this host's newer token kept", { { OBJ_HOST_SELF, 20, 0 } }, 1, 0, 5, 2 },
};

struct fixture {
	char *dir;
	struct authority_key ak, other;
	struct host_keys hk;
};

static char *armored(const char *label, const uint8_t *bin, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;

	ck_assert_int_eq(armor_encode(label, bin, len, &text, &tlen), 0);
	return text;
}

static char *token_text(const struct fixture *f, enum obj_kind kind, uint64_t serial)
{
	const struct authority_key *ak = kind == OBJ_USER_A_OTHER_AUTH ? &f->other : &f->ak;
	uint64_t now = capd_unix_now();
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token t;
	size_t len = 0;

	memset(&t, 0, sizeof(t));
	t.type = kind == OBJ_HOST_SELF ? WIRE_TYPE_HOST_TOKEN : WIRE_TYPE_USER_TOKEN;
	snprintf(t.name, sizeof(t.name), "%s",
		 kind == OBJ_HOST_SELF ? "h1" : kind == OBJ_USER_B ? "B" : "A");
	mask_bit_set(&t.grant, 2);
	t.serial = serial;
	t.not_before = now - 100;
	t.not_after = kind == OBJ_USER_A_EXPIRED ? now - 10 : now + 3600;
	if (kind == OBJ_HOST_SELF) {
		t.bit = 1;
		memcpy(t.tunnel_pk, f->hk.tunnel_pk, sizeof(t.tunnel_pk));
		memcpy(t.sign_pk, f->hk.sign_pk, sizeof(t.sign_pk));
	}
	ck_assert_int_eq(token_sign(&t, ak, bin, sizeof(bin), &len), 0);
	return armored(kind == OBJ_HOST_SELF ? TOKEN_ARMOR_HOST : TOKEN_ARMOR_USER, bin, len);
}

static char *list_text(const struct fixture *f, uint64_t serial, uint64_t revokes)
{
	struct revocation rl = { .serial = serial, .issued_at = 1, .count = revokes ? 1 : 0 };
	uint8_t *bin = NULL;
	size_t len = 0;
	char *text;

	rl.serials = &revokes;
	ck_assert_int_eq(revocation_sign(&rl, &f->ak, &bin, &len), 0);
	text = armored(TOKEN_ARMOR_REVOCATION, bin, len);
	free(bin);
	return text;
}

static void put(const char *dir, const char *name, char *text)
{
	char *path = test_path(dir, name);

	test_write_file(path, text, strlen(text), 0644);
	free(path);
	free(text);
}

/* A host directory: keys, authority, list serial 2, own token, A serial 5. */
static void fixture_make(struct fixture *f)
{
	char *key, *pub, *tokens;

	f->dir = test_tmpdir();
	ck_assert_int_eq(keys_authority_generate(&f->ak), 0);
	ck_assert_int_eq(keys_authority_generate(&f->other), 0);
	ck_assert_int_eq(keys_host_generate(&f->hk), 0);
	key = test_path(f->dir, "host.key");
	pub = test_path(f->dir, "host.pub");
	ck_assert_int_eq(keys_host_save(key, pub, &f->hk), 0);
	free(key);
	free(pub);
	key = test_path(f->dir, "authority.key");
	pub = test_path(f->dir, "authority.pub");
	ck_assert_int_eq(keys_authority_save(key, pub, &f->ak), 0);
	free(key);
	free(pub);
	tokens = test_path(f->dir, "tokens");
	ck_assert_int_eq(mkdir(tokens, 0755), 0);
	put(f->dir, "revocation.list", list_text(f, 2, 0));
	put(tokens, "host-h1.token", token_text(f, OBJ_HOST_SELF, 10));
	put(tokens, "user-A.token", token_text(f, OBJ_USER_A, 5));
	free(tokens);
}

static uint64_t file_serial(const struct fixture *f, const char *name)
{
	char path[PATH_MAX];
	uint8_t bin[WIRE_TOKEN_MAX];
	struct token_trust trust;
	enum token_status st;
	struct token t;
	size_t len = 0;

	memset(&trust, 0, sizeof(trust));
	memcpy(trust.authority_pk, f->ak.pk, sizeof(trust.authority_pk));
	trust.now = capd_unix_now();
	snprintf(path, sizeof(path), "%s/tokens/%s", f->dir, name);
	if (token_file_verify(path, strncmp(name, "host", 4) == 0 ? WIRE_TYPE_HOST_TOKEN
								   : WIRE_TYPE_USER_TOKEN,
			      &trust, bin, &len, &t, &st) < 0)
		return 0;
	return t.serial;
}

START_TEST(test_publish)
{
	const struct pub_case *c = &pub_cases[_i];
	struct fixture f;
	struct capd d;
	json_t *objs = json_array(), *ans;

	fixture_make(&f);
	memset(&d, 0, sizeof(d));
	d.cfg.dir = f.dir;
	d.epfd = -1;
	d.audit.fd = -1;
	capd_table_init(&d.table);
	capd_shim_init(&d.shim, "/nonexistent/capd-test-shim.sock", 100);
	ck_assert_int_eq(capd_trust_load(&d.trust, f.dir), 0);
	ck_assert_uint_eq(d.trust.revoked.serial, 2);
	ck_assert_uint_eq(d.trust.host.serial, 10);
	for (int i = 0; i < 4 && c->objs[i].kind != OBJ_END; i++) {
		const struct obj *o = &c->objs[i];
		char *text = o->kind == OBJ_LIST ? list_text(&f, o->serial, o->revokes) :
			     o->kind == OBJ_GARBAGE ? strdup("-----BEGIN CAPTUN NONSENSE-----\n") :
			     token_text(&f, o->kind, o->serial);

		json_array_append_new(objs, json_string(text));
		free(text);
	}
	ans = capd_publish_run(&d, objs);
	ck_assert_msg(json_is_true(json_object_get(ans, "ok")), "%s: not ok", c->what);
	ck_assert_msg(json_integer_value(json_object_get(ans, "accepted")) == c->accepted,
		      "%s: accepted %lld", c->what,
		      (long long)json_integer_value(json_object_get(ans, "accepted")));
	ck_assert_int_eq(json_integer_value(json_object_get(ans, "ignored")), c->ignored);
	ck_assert_uint_eq(json_array_size(json_object_get(ans, "results")),
			  (size_t)(c->accepted + c->ignored));
	/* stored, but capshim could not be told: said so */
	ck_assert(c->accepted == 0 || json_is_false(json_object_get(ans, "spread")));
	ck_assert_uint_eq(file_serial(&f, "user-A.token"), c->a_serial);
	ck_assert_uint_eq(d.trust.revoked.serial, c->list_serial);
	if (c->objs[0].kind == OBJ_HOST_SELF)
		ck_assert_uint_eq(d.trust.host.serial, 20);
	json_decref(ans);
	json_decref(objs);
	capd_shim_close(&d);
	capd_trust_free(&d.trust);
	test_rmtree(f.dir);
}
END_TEST

/*
 * The trust a host starts from: every required file, verified. Without a
 * valid token of its own the host still loads, isolated (empty grant),
 * so that break-glass logins can repair it.
 */
START_TEST(test_trust_load_needs_own_token)
{
	struct fixture f;
	struct capd_trust tr;
	char *path;

	fixture_make(&f);
	ck_assert_int_eq(capd_trust_load(&tr, f.dir), 0);
	ck_assert_str_eq(tr.host.name, "h1");
	ck_assert(tr.have_list);
	ck_assert(tr.host_ok);
	capd_trust_free(&tr);
	path = test_path(f.dir, "tokens/host-h1.token");
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	ck_assert_int_eq(capd_trust_load(&tr, f.dir), 0);
	ck_assert(!tr.host_ok);
	ck_assert(mask_is_empty(&tr.host.grant));
	capd_trust_free(&tr);
	path = test_path(f.dir, "authority.pub");
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	ck_assert_int_eq(capd_trust_load(&tr, f.dir), -ENOENT);
	test_rmtree(f.dir);
}
END_TEST

Suite *suite_capd_publish(void)
{
	Suite *s = suite_create("capd_publish");
	TCase *tc = tcase_create("publish");

	tcase_add_loop_test(tc, test_publish, 0, sizeof(pub_cases) / sizeof(pub_cases[0]));
	tcase_add_test(tc, test_trust_load_needs_own_token);
	suite_add_tcase(s, tc);
	return s;
}
