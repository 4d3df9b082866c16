/*
 * tests/fuzz/fuzz_shim_ctl.c - capshim's control protocol (ctlverbs.c):
 * one request line, as root or as an ordinary user (the first input byte
 * picks), answered by a real struct shim (fuzz_shim.h). The answer must
 * always be a JSON object with a boolean "ok"; an ordinary user must never
 * change the capability.
 *
 * Run with -close_fd_mask=2: refusals are logged to stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "fuzz_shim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_shim_make();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uid_t uid;
	uint32_t epoch = s.cap.epoch;
	json_t *ans;

	if (size < 1 || size > 1 << 16)
		return 0;
	uid = data[0] & 1 ? 1000 : 0;
	ans = shim_ctl_answer(&s, uid, (const char *)data + 1, size - 1);
	if (!json_is_object(ans) || !json_is_boolean(json_object_get(ans, "ok")))
		abort();
	if (uid != 0 && s.cap.epoch != epoch)
		abort();
	json_decref(ans);
	return 0;
}
