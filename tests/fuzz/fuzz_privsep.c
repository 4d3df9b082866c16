/*
 * tests/fuzz/fuzz_privsep.c - libFuzzer harness for shim/privsep.h's two
 * parsers: arbitrary bytes as a request to attach mode's privileged helper
 * and as an answer from it. Whatever a parser accepts must be exactly one
 * message of the right size, of this version, with the reserved field 0;
 * an accepted request must be of a known type, an accepted answer must
 * match the request it answers and carry 0 or -errno. A broken invariant
 * abort()s with a message on stderr.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "privsep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_priv_req req, asked = {
		.version = SHIM_PRIV_VERSION, .type = SHIM_PRIV_ROUTES_REMOVE,
	};
	struct shim_priv_ans ans;

	if (shim_priv_req_parse(data, size, &req)) {
		CHECK(size == sizeof(req));
		CHECK(req.version == SHIM_PRIV_VERSION && req.zero == 0);
		CHECK(req.type >= SHIM_PRIV_ROUTES_REMOVE && req.type <= SHIM_PRIV_TYPE_MAX);
	}
	/* the answer to a request whose seq the input's first bytes choose */
	if (size >= sizeof(ans))
		memcpy(&asked.seq, data + 4, sizeof(asked.seq));
	if (shim_priv_ans_parse(data, size, &asked, &ans)) {
		CHECK(size == sizeof(ans));
		CHECK(ans.version == SHIM_PRIV_VERSION && ans.zero == 0);
		CHECK(ans.type == asked.type && ans.seq == asked.seq);
		CHECK(ans.result <= 0 && ans.done <= SHIM_PRIV_ROUTES_MAX);
	}
	return 0;
}
