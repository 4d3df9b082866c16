/*
 * tests/unit/suites.h - the Check suites of the unit test runner (main.c)
 * and the small helpers they share.
 */
#ifndef CAPTUN_TESTS_UNIT_SUITES_H
#define CAPTUN_TESTS_UNIT_SUITES_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "mask.h"

Suite *suite_mask(void);
Suite *suite_armor(void);
Suite *suite_fileio(void);
Suite *suite_keys(void);
Suite *suite_token(void);
Suite *suite_revocation(void);
Suite *suite_tokenfile(void);
Suite *suite_policy(void);
/*
 * Suites of other modules that live beside these (tests/unit/check_*.c);
 * main.c runs each one that is linked in.
 */
Suite *suite_noise(void);
Suite *suite_noise_vector(void);
Suite *suite_cookie(void);
Suite *suite_shim(void);
Suite *suite_shim_cap(void);
Suite *suite_shim_ctl(void);
Suite *suite_replay(void);
Suite *suite_offload(void);
Suite *suite_tun_udp(void);
Suite *suite_inet(void);
Suite *suite_conntrack(void);
Suite *suite_capd_session(void);
Suite *suite_capd_state(void);
Suite *suite_capd_audit(void);
Suite *suite_capd_request(void);
Suite *suite_capd_publish(void);
Suite *suite_capd_linger(void);
Suite *suite_guard(void);
Suite *suite_pam_capd(void);
Suite *suite_kbpf(void);
Suite *suite_flowrec(void);
Suite *suite_queue_table(void);
Suite *suite_report(void);
Suite *suite_flows_attach(void);
Suite *suite_aead(void);
Suite *suite_early(void);
Suite *suite_workers(void);
Suite *suite_config(void);
Suite *suite_privsep(void);

/* Big-endian fields written and read by hand, apart from the library. */
void test_put_be64(uint8_t *p, uint64_t v);
uint64_t test_get_be64(const uint8_t *p);
/* Re-signs an edited object: its last WIRE_SIG_LEN bytes over the rest. */
void test_resign(uint8_t *buf, size_t len, const struct authority_key *ak);

/*
 * Says that test cannot run here and why (a SKIP line, counted); fails
 * instead under CAPTUN_NO_SKIP=1. The caller returns right after.
 */
void test_skip(const char *test, const char *why);

/* Ends a list of bits (test_mask_of). */
#define BITS_END (-1)

/*
 * A fresh private directory (mkdtemp) for one test; malloc'd path. Every such
 * directory lives under the runner's own temporary root, which main() removes
 * when the run ends, so even a test that fails half-way leaves nothing.
 */
char *test_tmpdir(void);
/* Removes dir and everything under it, then frees the string. */
void test_rmtree(char *dir);
/* dir + "/" + name, malloc'd. */
char *test_path(const char *dir, const char *name);
/* Creates or replaces path with exactly data and mode (chmod'ed). */
void test_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file (malloc'd, NUL appended); fails the test on error. */
char *test_read_file(const char *path, size_t *len);
/* The mask with exactly the listed bits, list ended by BITS_END. */
void test_mask_of(struct mask *m, const int *bits);
/* Number of entries before BITS_END. */
size_t test_bits_len(const int *bits);

#endif
