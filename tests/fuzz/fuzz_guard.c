/*
 * tests/fuzz/fuzz_guard.c - libFuzzer harness for capshim's underlay guard
 * (shim/guard.c): an --underlay-allow entry (shim_guard_allow_parse), the
 * nft text it becomes, the ruleset around it, and the guard helper's
 * answer (shim_guard_ack_check).
 *
 * Invariants: a parsed entry has tcp or udp, ports in order and a prefix
 * within its family with no host bit set; it formats into a match that
 * holds only the bytes of addresses, numbers and nft keywords (nothing
 * that could end the rule or start another); and a ruleset with it is
 * generated whole. A broken invariant abort()s with a message on stderr.
 */
#include <netinet/in.h>
#include <string.h>

#include "fuzz_check.h"
#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rules[SHIM_GUARD_RULES_MAX];
	char spec[SHIM_GUARD_SPEC_MAX + 16], err[256], match[256];
	struct shim_guard_allow a;
	struct shim_guard_ack ack;
	size_t bits;

	memset(&ack, 0, sizeof(ack));
	memcpy(&ack, data, size < sizeof(ack) ? size : sizeof(ack));
	(void)shim_guard_ack_check(&ack, size);
	if (size >= sizeof(spec))
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (!shim_guard_allow_parse(spec, &a, err, sizeof(err))) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	CHECK(a.proto == IPPROTO_TCP || a.proto == IPPROTO_UDP);
	CHECK(a.port_lo >= 1 && a.port_lo <= a.port_hi);
	CHECK(a.family == AF_UNSPEC || a.family == AF_INET || a.family == AF_INET6);
	bits = a.family == AF_INET ? 32 : a.family == AF_INET6 ? 128 : 0;
	CHECK(a.plen <= bits);
	for (size_t i = a.plen; i < bits; i++)
		CHECK(!(a.addr[i / 8] & (0x80 >> (i % 8))));
	CHECK(shim_guard_allow_format(&a, match, sizeof(match)) > 0);
	CHECK(strspn(match, "abcdefghijklmnopqrstuvwxyz0123456789.:/- ") == strlen(match));
	CHECK(shim_guard_ruleset("cap0", 51900, NULL, 0, &a, 1, rules, sizeof(rules)) > 0);
	CHECK(strstr(rules, match) != NULL);
	return 0;
}
