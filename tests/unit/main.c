/*
 * tests/unit/main.c - runs every unit test suite; Check's summary line
 * ("100%: Checks: N, Failures: 0, Errors: 0") is the last line printed when
 * all pass. Exits 1 if any check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "suites.h"

static char test_root[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A test that cannot run here says so: one "SKIP: TEST: WHY" line now,
 * one line in the runner's skip list (counted before the summary), or a
 * failure when CAPTUN_NO_SKIP=1 (make check sets it: CI runs as root and
 * must run everything).
 */
void test_skip(const char *test, const char *why)
{
	const char *strict = getenv("CAPTUN_NO_SKIP");
	char *list;
	FILE *f;

	ck_assert_msg(!strict || strcmp(strict, "1") != 0,
		      "%s cannot run here (%s) and CAPTUN_NO_SKIP=1 forbids skipping",
		      test, why);
	printf("SKIP: %s: %s\n", test, why);
	fflush(stdout);
	list = test_path(test_root, "skipped");
	f = fopen(list, "a");
	if (f) {
		fprintf(f, "%s: %s\n", test, why);
		fclose(f);
	}
	free(list);
}

/* The skip list, before Check's summary (which stays the last line). */
static void skips_report(void)
{
	char list[PATH_MAX + 16], line[512];
	FILE *f;
	unsigned n = 0;

	snprintf(list, sizeof(list), "%s/skipped", test_root);
	f = fopen(list, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	printf("SKIP: %u test(s) could not run here (see the SKIP lines above)\n", n);
}

char *test_tmpdir(void)
{
	char *dir = test_path(test_root[0] ? test_root : "/tmp", "t-XXXXXX");

	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

void test_rmtree(char *dir)
{
	if (!dir)
		return;
	ck_assert_msg(rmtree(dir) == 0, "removing %s: %s", dir, strerror(errno));
	ck_assert_int_eq(access(dir, F_OK), -1);
	free(dir);
}

char *test_path(const char *dir, const char *name)
{
	char *p = NULL;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

void test_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

char *test_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

void test_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t test_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void test_resign(uint8_t *buf, size_t len, const struct authority_key *ak)
{
	ck_assert_uint_ge(len, WIRE_SIG_LEN);
	ck_assert_int_eq(crypto_sign_detached(buf + len - WIRE_SIG_LEN, NULL, buf,
					      len - WIRE_SIG_LEN, ak->sk), 0);
}

void test_mask_of(struct mask *m, const int *bits)
{
	memset(m, 0, sizeof(*m));
	for (; *bits != BITS_END; bits++) {
		ck_assert_int_ge(*bits, 0);
		ck_assert_int_lt(*bits, MASK_BITS);
		m->w[*bits / 64] |= UINT64_C(1) << (*bits % 64);
	}
}

size_t test_bits_len(const int *bits)
{
	size_t n = 0;

	while (bits[n] != BITS_END)
		n++;
	return n;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 2;
	}
	snprintf(test_root, sizeof(test_root), "%s/captun-unit-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(test_root)) {
		fprintf(stderr, "mkdtemp %s: %s\n", test_root, strerror(errno));
		return 2;
	}

	sr = srunner_create(suite_mask());
	srunner_add_suite(sr, suite_armor());
	srunner_add_suite(sr, suite_fileio());
	srunner_add_suite(sr, suite_keys());
	srunner_add_suite(sr, suite_token());
	srunner_add_suite(sr, suite_revocation());
	srunner_add_suite(sr, suite_tokenfile());
	srunner_add_suite(sr, suite_policy());
	srunner_add_suite(sr, suite_noise());
	srunner_add_suite(sr, suite_noise_vector());
	srunner_add_suite(sr, suite_cookie());
	srunner_add_suite(sr, suite_shim());
	srunner_add_suite(sr, suite_shim_cap());
	srunner_add_suite(sr, suite_shim_ctl());
	srunner_add_suite(sr, suite_replay());
	srunner_add_suite(sr, suite_offload());
	srunner_add_suite(sr, suite_tun_udp());
	srunner_add_suite(sr, suite_inet());
	srunner_add_suite(sr, suite_conntrack());
	srunner_add_suite(sr, suite_capd_session());
	srunner_add_suite(sr, suite_capd_state());
	srunner_add_suite(sr, suite_capd_audit());
	srunner_add_suite(sr, suite_capd_request());
	srunner_add_suite(sr, suite_capd_publish());
	srunner_add_suite(sr, suite_capd_linger());
	srunner_add_suite(sr, suite_guard());
	srunner_add_suite(sr, suite_pam_capd());
	srunner_add_suite(sr, suite_kbpf());
	srunner_add_suite(sr, suite_flowrec());
	srunner_add_suite(sr, suite_queue_table());
	srunner_add_suite(sr, suite_report());
	srunner_add_suite(sr, suite_flows_attach());
	srunner_add_suite(sr, suite_aead());
	srunner_add_suite(sr, suite_early());
	srunner_add_suite(sr, suite_workers());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_privsep());

	srunner_run_all(sr, CK_SILENT);
	skips_report();
	srunner_print(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	if (rmtree(test_root) != 0)
		fprintf(stderr, "warning: could not remove %s\n", test_root);
	return failed == 0 ? 0 : 1;
}
