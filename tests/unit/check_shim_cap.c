/*
 * tests/unit/check_shim_cap.c - capabilities end to end between whole
 * shims (shimlab.h): a user narrowing a host and its peers learning it
 * (announce.c), an announcement wider than its tokens refused, signed
 * updates spread through the shims (update.c), and the capability across
 * restarts (state.c): resumed, isolated when it cannot be read or a user
 * lost their token, never an epoch twice, never the host grant but on a
 * first start.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "armor.h"
#include "inet_pkt.h"
#include "shimlab.h"
#include "suites.h"

static const int all3[] = { 1, 2, 3, BITS_END };
static const int *const full[] = { all3, all3, all3 };
static const int u_only13[] = { 1, 3, BITS_END };

/* Host i's capability from one user token with grant bits. */
static void narrow(struct shimlab *lab, unsigned i, const char *user, const int *bits)
{
	uint8_t tok[WIRE_TOKEN_MAX];
	const uint8_t *toks[1] = { tok };
	size_t len = sl_user_token(lab, user, bits, tok);
	const char *err = NULL;

	ck_assert_msg(shim_cap_set(&lab->h[i].s, toks, &len, 1, false, &err) == 0, "%s", err);
}

struct epoch_want {
	unsigned at, of;
	uint32_t epoch;
};

static bool peer_has_epoch(struct shimlab *lab, void *arg)
{
	struct epoch_want *w = arg;

	return sl_peer(lab, w->at, w->of)->latest_epoch == w->epoch;
}

/* A user narrows h1; h2 learns h1's new capability and h1 no longer reaches h2. */
START_TEST(test_narrow_announced)
{
	static struct shimlab lab;
	struct epoch_want w = { 1, 0, 0 };
	const struct peer_cap *cap;
	uint8_t pkt[BUF];
	size_t len;

	sl_make(&lab, 3, full);
	sl_start_all(&lab);
	sl_connect(&lab);
	narrow(&lab, 0, "alice", u_only13);
	ck_assert_str_eq(lab.h[0].s.cap.users, "alice");
	ck_assert(!mask_bit_test(&lab.h[0].s.cap.mask, 2));
	w.epoch = lab.h[0].s.cap.epoch;
	ck_assert(sl_run(&lab, 2000, peer_has_epoch, &w));
	cap = shim_peer_cap(sl_peer(&lab, 1, 0), w.epoch);
	ck_assert_ptr_nonnull(cap);
	ck_assert(!mask_bit_test(&cap->mask, 2));
	ck_assert(mask_bit_test(&cap->mask, 3));
	ck_assert_str_eq(cap->users, "alice");
	len = pkt_build(SPEC(V4(sl_addr4(0), sl_addr4(1), IPPROTO_UDP), .sport = 1,
			     .dport = 2, .payload = 8), pkt);
	sl_tun_send(&lab, 0, pkt, len);
	sl_run(&lab, 200, NULL, NULL);
	ck_assert_uint_eq(lab.h[0].s.drops[DROP_TX_DENIED], 1);
	sl_free(&lab);
}
END_TEST

/* Re-signs an announcement as capshim signs it (announce.c). */
static void resign(uint8_t *msg, size_t len, const uint8_t *sk)
{
	crypto_sign_state st;
	size_t body = len - WIRE_SIG_LEN;

	ck_assert_int_eq(crypto_sign_init(&st), 0);
	crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
			   sizeof(PROTO_ANNOUNCE_CONTEXT) - 1);
	crypto_sign_update(&st, msg, body);
	ck_assert_int_eq(crypto_sign_final_create(&st, msg + body, NULL, sk), 0);
}

/* h1 signs a mask wider than its user's grant: h2 refuses it, keeps the old. */
START_TEST(test_wider_refused)
{
	static struct shimlab lab;
	struct own_cap *c;
	struct proto_announce hdr;
	uint32_t before;

	sl_make(&lab, 2, full);
	sl_start_all(&lab);
	sl_connect(&lab);
	narrow(&lab, 0, "alice", u_only13);
	sl_run(&lab, 200, NULL, NULL);
	before = sl_peer(&lab, 1, 0)->latest_epoch;
	c = &lab.h[0].s.cap;
	memcpy(&hdr, c->msg, sizeof(hdr));
	hdr.epoch = htobe32(be32toh(hdr.epoch) + 10);
	memcpy(c->msg, &hdr, sizeof(hdr));
	/* The mask is the last field before the signature: set bit 2 again. */
	c->msg[c->msg_len - WIRE_SIG_LEN - hdr.mask_len] |= 1u << 2;
	resign(c->msg, c->msg_len, lab.h[0].keys.sign_sk);
	ck_assert_int_eq(shim_send_control(&lab.h[0].s, sl_peer(&lab, 0, 1), c->msg,
					   c->msg_len), 0);
	sl_run(&lab, 200, NULL, NULL);
	ck_assert_uint_eq(lab.h[1].s.drops[DROP_RX_ANNOUNCE_BAD], 1);
	ck_assert_uint_eq(sl_peer(&lab, 1, 0)->latest_epoch, before);
	sl_free(&lab);
}
END_TEST

/* ---- restarts (state.c) ----------------------------------------------- */

/* A restart resumes the users' capability at a new epoch, unconfirmed. */
START_TEST(test_restart_resumes)
{
	static struct shimlab lab;
	struct shim *s = &lab.h[0].s;
	uint32_t epoch;

	sl_make(&lab, 2, full);
	sl_start(&lab, 0);
	ck_assert_str_eq(s->cap_origin, "first start: the host grant");
	ck_assert(mask_bit_test(&s->cap.mask, 2));
	narrow(&lab, 0, "alice", u_only13);
	epoch = s->cap.epoch;
	sl_stop(&lab, 0);
	sl_start(&lab, 0);
	ck_assert_str_eq(s->cap_origin, "the last capability, resumed");
	ck_assert_str_eq(s->cap.users, "alice");
	ck_assert(!mask_bit_test(&s->cap.mask, 2));
	ck_assert(!s->cap.isolated);
	ck_assert(!s->cap_confirmed);
	ck_assert_uint_gt(s->cap.epoch, epoch);
	sl_free(&lab);
}
END_TEST

/* What makes a restart isolate. */
enum restart_case {
	RC_DAMAGED,		/* DIR/capability is not what capshim wrote */
	RC_MISSING,		/* gone, while DIR/epoch says capshim ran */
	RC_REVOKED,		/* a user's token is revoked since */
	RC_ISOLATED,		/* it was isolated when it stopped */
	RC_COUNT,
};

START_TEST(test_restart_isolates)
{
	static struct shimlab lab;
	struct shim *s = &lab.h[0].s;
	char *path;

	sl_make(&lab, 2, full);
	sl_start(&lab, 0);
	narrow(&lab, 0, "alice", u_only13);
	if (_i == RC_ISOLATED) {
		const char *err;

		ck_assert_int_eq(shim_cap_set(s, NULL, NULL, 0, true, &err), 0);
	}
	sl_stop(&lab, 0);
	path = test_path(lab.h[0].dir, "capability");
	if (_i == RC_DAMAGED)
		test_write_file(path, "{\"version\":1,\"epoch\":\"x\"}", 25, 0600);
	if (_i == RC_MISSING)
		ck_assert_int_eq(unlink(path), 0);
	if (_i == RC_REVOKED) {
		struct revocation rl = { .serial = 2, .issued_at = 1, .count = 1 };
		uint64_t serial = SL_USER_SERIAL;
		uint8_t *bin = NULL;
		size_t len = 0;
		char *text = NULL, *list = test_path(lab.h[0].dir, "revocation.list");
		size_t tlen = 0;

		rl.serials = &serial;
		ck_assert_int_eq(revocation_sign(&rl, &lab.ak, &bin, &len), 0);
		ck_assert_int_eq(armor_encode(TOKEN_ARMOR_REVOCATION, bin, len, &text, &tlen), 0);
		test_write_file(list, text, tlen, 0644);
		free(bin);
		free(text);
		free(list);
	}
	free(path);
	sl_start(&lab, 0);
	ck_assert(s->cap.isolated);
	ck_assert(mask_is_empty(&s->cap.mask));
	ck_assert(!s->cap_confirmed);
	sl_free(&lab);
}
END_TEST

/* A capability that cannot be saved is not used: its epoch never goes out. */
START_TEST(test_unsaved_not_used)
{
	static struct shimlab lab;
	struct shim *s = &lab.h[0].s;
	const char *err = NULL;
	uint32_t epoch;
	char *path;

	sl_make(&lab, 2, full);
	sl_start(&lab, 0);
	epoch = s->cap.epoch;
	path = test_path(lab.h[0].dir, "capability");
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);	/* rename onto it fails */
	ck_assert_int_lt(shim_cap_set(s, NULL, NULL, 0, true, &err), 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(s->cap.epoch, epoch);
	ck_assert(!s->cap.isolated);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(shim_cap_set(s, NULL, NULL, 0, true, &err), 0);
	ck_assert_uint_eq(s->cap.epoch, epoch + 1);
	free(path);
	sl_free(&lab);
}
END_TEST

/* ---- updates (update.c) ------------------------------------------------ */

static bool h3_cut_off(struct shimlab *lab, void *arg)
{
	return sl_peer(lab, 0, 2)->disabled && sl_peer(lab, 1, 2)->disabled;
}

/*
 * A revocation list published at h1 (root, through the control verb)
 * reaches h2 through h1's shim; both store it and cut h3 off.
 */
START_TEST(test_publish_revocation)
{
	static struct shimlab lab;
	struct revocation rl = { .serial = 5, .issued_at = 1, .count = 1 };
	uint64_t serial = lab.h[2].token.serial;
	uint8_t *bin = NULL;
	char *text = NULL, *line;
	size_t len = 0, tlen = 0;
	json_t *ans;
	struct stat st;

	sl_make(&lab, 3, full);
	sl_start_all(&lab);
	sl_connect(&lab);
	serial = lab.h[2].token.serial;
	rl.serials = &serial;
	ck_assert_int_eq(revocation_sign(&rl, &lab.ak, &bin, &len), 0);
	ck_assert_int_eq(armor_encode(TOKEN_ARMOR_REVOCATION, bin, len, &text, &tlen), 0);
	ans = json_pack("{s:s, s:[s]}", "cmd", "publish", "objects", text);
	line = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	/* Not as an ordinary user. */
	ans = shim_ctl_answer(&lab.h[0].s, 1000, line, strlen(line));
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	json_decref(ans);
	ans = shim_ctl_answer(&lab.h[0].s, 0, line, strlen(line));
	ck_assert_msg(json_is_true(json_object_get(ans, "ok")), "%s",
		      json_string_value(json_object_get(ans, "error")));
	json_decref(ans);
	ck_assert(sl_run(&lab, 3000, h3_cut_off, NULL));
	ck_assert(!sl_peer(&lab, 0, 1)->disabled && !sl_peer(&lab, 1, 0)->disabled);
	ck_assert(!lab.h[0].s.cap.isolated && !lab.h[1].s.cap.isolated);
	for (unsigned i = 0; i < 2; i++) {
		char *p = test_path(lab.h[i].dir, "revocation.list");

		ck_assert_int_eq(stat(p, &st), 0);
		ck_assert_uint_eq(lab.h[i].s.revoked.serial, 5);
		free(p);
	}
	free(line);
	free(bin);
	free(text);
	sl_free(&lab);
}
END_TEST

Suite *suite_shim_cap(void)
{
	Suite *s = suite_create("shim_cap");
	TCase *tc = tcase_create("capability");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_narrow_announced);
	tcase_add_test(tc, test_wider_refused);
	tcase_add_test(tc, test_restart_resumes);
	tcase_add_loop_test(tc, test_restart_isolates, 0, RC_COUNT);
	tcase_add_test(tc, test_unsaved_not_used);
	tcase_add_test(tc, test_publish_revocation);
	suite_add_tcase(s, tc);
	return s;
}
