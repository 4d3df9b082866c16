/*
 * tests/fuzz/fuzz_check.h - CHECK(cond): a harness's invariant; broken, it
 * says which on stderr and abort()s, which libFuzzer reports as a crash.
 */
#ifndef CAPTUN_TESTS_FUZZ_CHECK_H
#define CAPTUN_TESTS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

#endif
