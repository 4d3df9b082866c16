/*
 * tests/fuzz/fuzz_capd_ctl.c - libFuzzer harness for what capd reads from
 * others: a control request line (capd_request_parse, and the answers that
 * need no session: list, status, and every root verb from a non-root
 * peer), the same bytes as a capd.state file (capd_state_decode) and as a
 * /proc/PID/stat line (capd_proc_stat_parse).
 *
 * Invariants are checked on whatever parses: a parsed request carries
 * only fields that pass the same checks capd applies to them, a refused
 * one leaves nothing behind and an error text that becomes valid JSON; a
 * decoded state file encodes and decodes again to the same table. The same
 * bytes also go to what capd reads of other processes (linger.c, procs.c):
 * /proc/PID/status's Uid line and a thread's state and flags, and to the
 * checks of the process helper's messages. A broken invariant abort()s
 * with a message on stderr.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capd.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An idle capd: no sessions, no capshim, nothing on disk. */
static struct capd idle = {
	.cfg = { .dir = "/nonexistent" },
	.epfd = -1,
	.audit = { .fd = -1 },
	.shim = { .ev = { .fd = -1 }, .path = "/nonexistent/shim.sock" },
};

static void check_answer(json_t *ans, bool want_ok)
{
	char *text;

	CHECK(json_is_object(ans));
	CHECK(json_is_boolean(json_object_get(ans, "ok")));
	CHECK(json_is_true(json_object_get(ans, "ok")) == want_ok);
	if (!want_ok)
		CHECK(json_is_string(json_object_get(ans, "error")));
	text = json_dumps(ans, JSON_COMPACT);
	CHECK(text && !strchr(text, '\n'));
	free(text);
	json_decref(ans);
}

static void check_request(const struct capd_request *r)
{
	CHECK(r->root && json_is_object(r->root));
	switch (r->verb) {
	case CAPD_VERB_OPEN:
		CHECK(r->user && capd_user_name_ok(r->user));
		CHECK(r->service && capd_field_ok(r->service, CAPD_FIELD_MAX));
		CHECK(r->tty && capd_field_ok(r->tty, CAPD_FIELD_MAX));
		CHECK(r->rhost && capd_field_ok(r->rhost, CAPD_FIELD_MAX));
		CHECK(r->pid >= 1 && r->pid <= CAPD_PID_MAX);
		break;
	case CAPD_VERB_CLOSE:
		CHECK((r->session > 0) != (r->pid > 0));
		CHECK(r->pid >= 0 && r->pid <= CAPD_PID_MAX);
		break;
	case CAPD_VERB_PUBLISH:
		CHECK(json_is_array(r->objects));
		CHECK(json_array_size(r->objects) >= 1 &&
		      json_array_size(r->objects) <= CAPD_OBJECTS_MAX);
		for (size_t i = 0; i < json_array_size(r->objects); i++)
			CHECK(json_string_value(json_array_get(r->objects, i)));
		break;
	case CAPD_VERB_FLOWS:
		CHECK(r->max >= 1 && r->max <= CAPD_FLOWS_MAX);
		CHECK(r->since <= (uint64_t)INT64_MAX);
		break;
	case CAPD_VERB_LIST:
	case CAPD_VERB_STATUS:
		break;
	default:
		CHECK(!"unknown verb");
	}
	if (capd_verb_is_root(r->verb))
		check_answer(capd_verbs_answer(&idle, r, 65534), false);
	else
		check_answer(capd_verbs_answer(&idle, r, 65534), true);
}

static void fuzz_request(const char *text, size_t size)
{
	struct capd_request r;
	char err[512];

	err[0] = '\0';
	if (capd_request_parse(text, size, &r, err, sizeof(err))) {
		check_request(&r);
		capd_request_free(&r);
		CHECK(!r.root);
		return;
	}
	CHECK(!r.root && err[0]);
	check_answer(capd_error("%s", err), false);
}

static void fuzz_state(const char *text, size_t size)
{
	struct capd_table t, again;
	char err[256];
	char *enc;

	capd_table_init(&t);
	if (!capd_state_decode(text, size, &t, err, sizeof(err))) {
		CHECK(t.n == 0 && t.nusers == 0);
		capd_table_free(&t);
		return;
	}
	enc = capd_state_encode(&t);
	CHECK(enc);
	capd_table_init(&again);
	CHECK(capd_state_decode(enc, strlen(enc), &again, err, sizeof(err)));
	CHECK(again.n == t.n && again.next_id == t.next_id && again.nusers == t.nusers);
	for (size_t i = 0; i < t.n; i++) {
		CHECK(again.s[i]->id == t.s[i]->id);
		CHECK(again.s[i]->pid == t.s[i]->pid);
		CHECK(again.s[i]->start_time == t.s[i]->start_time);
		CHECK(strcmp(again.s[i]->user, t.s[i]->user) == 0);
		CHECK(strcmp(again.s[i]->rhost, t.s[i]->rhost) == 0);
		CHECK(i == 0 || t.s[i - 1]->id < t.s[i]->id);
	}
	free(enc);
	capd_table_free(&again);
	capd_table_free(&t);
}

/* /proc texts and the helper's messages: bounded reads, sane verdicts. */
static void fuzz_procs(const char *text, size_t size)
{
	static struct capd_procs_req req;
	static struct capd_procs_ans ans;
	uint32_t uids[4];
	bool live;

	(void)capd_procs_status_uids(text, size, uids);
	(void)capd_procs_stat_live(text, size, &live);
	memset(&req, 0, sizeof(req));
	memcpy(&req, text, size < sizeof(req) ? size : sizeof(req));
	if (capd_procs_req_check(&req, size))
		CHECK(req.n <= CAPD_PROCS_UIDS_MAX);
	memset(&ans, 0, sizeof(ans));
	memcpy(&ans, text, size < sizeof(ans) ? size : sizeof(ans));
	req.version = CAPD_PROCS_VERSION;
	req.n = ans.n <= CAPD_PROCS_UIDS_MAX ? ans.n : 0;
	for (uint32_t i = 0; i < req.n; i++)
		req.uid[i] = ans.hit[i].uid;
	if (capd_procs_ans_check(&ans, size, &req))
		for (uint32_t i = 0; i < ans.n; i++)
			CHECK(ans.hit[i].verdict <= CAPD_PROCS_UNKNOWN && ans.hit[i].pid >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	uint64_t start = 0;

	if (size > CAPD_LINE_MAX)
		return 0;
	fuzz_request(text, size);
	fuzz_state(text, size);
	(void)capd_proc_stat_parse(text, size, &start);
	fuzz_procs(text, size);
	return 0;
}
