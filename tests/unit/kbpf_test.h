/*
 * tests/unit/kbpf_test.h - what the attach-mode eBPF suites share
 * (check_kbpf.c, check_kbpf_sock.c).
 */
#ifndef CAPTUN_TESTS_UNIT_KBPF_TEST_H
#define CAPTUN_TESTS_UNIT_KBPF_TEST_H

#include <check.h>

#include "loader.h"

/*
 * Loads attach.bpf.c's programs into k without pinning anything (each
 * test its own copy, gone when it ends). NULL, or why the tests must
 * SKIP (not root, no BTF, the kernel refused).
 */
const char *kbpf_test_load(struct kbpf *k);

/* A test that cannot run here says SKIP and why (skip_why), and returns. */
#define KBPF_SKIP_IF(skip_why)                                             \
	do {                                                               \
		if (skip_why) {                                            \
			printf("SKIP: %s: %s\n", __func__, skip_why);     \
			return;                                            \
		}                                                          \
	} while (0)

/* check_kbpf_sock.c: the cgroup hooks and the socket iterator. */
void kbpf_sock_tcases(Suite *s);

#endif
