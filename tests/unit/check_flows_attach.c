/*
 * tests/unit/check_flows_attach.c - capshim's flow records from its own
 * state (shim/flows.c) and from attach mode's ring-buffer records
 * (shim/flows_attach.c): the reason names the grant that lacks the bit
 * (the host's own, or a user's token), the sender's process comes with
 * the eBPF record, receiver-side kinds become receiver records, and a
 * record for a host that is no peer is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../kernel-bpf/attach_event.h"
#include "shim.h"
#include "suites.h"

static struct shim s;
static struct peer peer2;
static struct proto_denied sent;	/* the last report "sent" */
static int nsent;

static int report_capture(struct shim *sh, struct peer *p, const uint8_t *msg, size_t len)
{
	ck_assert_ptr_eq(p, &peer2);
	ck_assert_uint_eq(len, sizeof(sent));
	memcpy(&sent, msg, sizeof(sent));
	nsent++;
	return 0;
}

/* host1 (grant: host3 only, or host2 too) with user tokens behind it. */
static void shim_make(const char *dir, bool host_grants_2, bool user_grants_2)
{
	struct authority_key ak;
	struct token u;
	struct flowlog_config cfg = { .host = "host1", .rate = 1000, .burst = 1000 };
	char path[512];
	size_t len = 0;

	memset(&s, 0, sizeof(s));
	memset(&peer2, 0, sizeof(peer2));
	snprintf(s.self.name, sizeof(s.self.name), "host1");
	s.self.bit = 1;
	mask_bit_set(&s.self.grant, 3);
	if (host_grants_2)
		mask_bit_set(&s.self.grant, 2);
	snprintf(peer2.name, sizeof(peer2.name), "host2");
	peer2.bit = 2;
	peer2.cur = -1;
	s.peers = &peer2;
	s.npeers = 1;
	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	memset(&u, 0, sizeof(u));
	u.type = WIRE_TYPE_USER_TOKEN;
	snprintf(u.name, sizeof(u.name), "A");
	mask_bit_set(&u.grant, 1);
	mask_bit_set(&u.grant, 3);
	if (user_grants_2)
		mask_bit_set(&u.grant, 2);
	u.serial = 1;
	u.not_before = 1;
	u.not_after = UINT64_MAX / 2;
	ck_assert_int_eq(token_sign(&u, &ak, s.cap.user_tokens[0], WIRE_TOKEN_MAX, &len), 0);
	s.cap.user_lens[0] = len;
	s.cap.nusers = 1;
	snprintf(s.cap.users, sizeof(s.cap.users), "A");
	s.cap.epoch = 5;
	snprintf(path, sizeof(path), "%s/flows.log", dir);
	cfg.path = path;
	ck_assert_int_eq(flowlog_open(&s.flows, &cfg), 0);
}

/* The lines of the log after closing it. */
static char *shim_done(const char *dir)
{
	char *path = test_path(dir, "flows.log"), *text;
	size_t len;

	flowlog_close(s.flows, 0);
	s.flows = NULL;
	text = test_read_file(path, &len);
	free(path);
	return text;
}

static void event(struct attach_event *e, enum attach_event_kind kind)
{
	struct in_addr a;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->pid = 4242;
	e->uid = 0;
	e->epoch = 5;
	e->peer_bit = 2;
	e->family = AF_INET;
	e->proto = IPPROTO_TCP;
	e->sport = 40000;
	e->dport = 80;
	inet_pton(AF_INET, "10.77.0.2", &a);
	inet_addr_from4((struct in6_addr *)e->src, &a);
	inet_pton(AF_INET, "10.77.0.3", &a);
	inet_addr_from4((struct in6_addr *)e->dst, &a);
	memcpy(e->comm, "curl", 5);
}

START_TEST(test_reason_user_grant)
{
	char *dir = test_tmpdir(), *text;
	struct attach_event e;

	shim_make(dir, true, false);
	event(&e, EV_CONNECT_DENIED);
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	text = shim_done(dir);
	ck_assert_ptr_nonnull(strstr(text, "\"side\":\"sender\""));
	ck_assert_ptr_nonnull(strstr(text, "\"why\":\"user A's grant lacks host2\""));
	ck_assert_ptr_nonnull(strstr(text, "\"via\":\"bpf\",\"uid\":0,\"user\":\"root\","
				     "\"pid\":4242,\"comm\":\"curl\""));
	ck_assert_ptr_nonnull(strstr(text, "\"told\":false"));	/* no session */
	free(text);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_reason_host_grant)
{
	char *dir = test_tmpdir(), *text;
	struct attach_event e;

	shim_make(dir, false, true);
	event(&e, EV_SENDMSG_DENIED);
	e.proto = IPPROTO_UDP;
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	event(&e, EV_TX_DENIED);
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	text = shim_done(dir);
	ck_assert_ptr_nonnull(strstr(text, "\"proto\":\"udp\""));
	ck_assert_ptr_nonnull(strstr(text, "\"why\":\"host1's own grant lacks host2\""));
	/* the packet path has no process */
	ck_assert_ptr_nonnull(strstr(strchr(text, '\n') + 1, "\"via\":\"bpf\",\"prev\""));
	free(text);
	test_rmtree(dir);
}
END_TEST

/* attach mode's own channel carries the report, with the record's flow id */
START_TEST(test_report_joins)
{
	char *dir = test_tmpdir(), *text, hex[2 * FLOWREC_ID_LEN + 1], want[64];
	struct attach_event e;

	shim_make(dir, true, false);
	s.flow_report = report_capture;
	nsent = 0;
	event(&e, EV_CONNECT_DENIED);
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(sent.ctl, PROTO_CTL_DENIED);
	ck_assert_uint_eq(sent.reserved[0], FLOWREC_R_USER_GRANT);
	text = shim_done(dir);
	flowrec_id_hex(sent.flow, hex);
	snprintf(want, sizeof(want), "\"flow\":\"%s\"", hex);
	ck_assert_ptr_nonnull(strstr(text, want));
	ck_assert_ptr_nonnull(strstr(text, "\"told\":true"));
	free(text);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_receiver_kinds)
{
	char *dir = test_tmpdir(), *text;
	struct attach_event e;

	shim_make(dir, true, true);
	event(&e, EV_RX_DENIED);
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	event(&e, EV_UNKNOWN_EPOCH);
	e.epoch = 99;
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), 0);
	event(&e, EV_RX_DENIED);
	e.peer_bit = 7;		/* no such peer */
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), -ENOENT);
	event(&e, 42);
	ck_assert_int_eq(shim_flow_attach_event(&s, &e), -EINVAL);
	text = shim_done(dir);
	ck_assert_ptr_nonnull(strstr(text, "\"side\":\"receiver\""));
	ck_assert_ptr_nonnull(strstr(text, "\"src_host\":\"host2\",\"dst_host\":\"host1\""));
	ck_assert_ptr_nonnull(strstr(text, "\"why\":\"unknown epoch 99 from host2 (never "
				     "announced to host1)\""));
	free(text);
	test_rmtree(dir);
}
END_TEST

Suite *suite_flows_attach(void)
{
	Suite *su = suite_create("flows_attach");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, test_reason_user_grant);
	tcase_add_test(tc, test_reason_host_grant);
	tcase_add_test(tc, test_report_joins);
	tcase_add_test(tc, test_receiver_kinds);
	suite_add_tcase(su, tc);
	return su;
}
