/*
 * tests/unit/check_fileio.c - policy/fileio.h: atomic writes, bounded reads,
 * and the stricter rules for secrets.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "suites.h"

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131u + seed + (i >> 9));
}

/* Number of directory entries other than . and .. */
static unsigned dir_entries(const char *dir, const char *only)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (only)
			ck_assert_msg(!strcmp(e->d_name, only),
				      "unexpected file left in %s: %s", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

struct write_case {
	size_t len;
	mode_t mode;
};

static const struct write_case write_cases[] = {
	{ 0, 0600 },
	{ 1, 0600 },
	{ 100, 0640 },
	{ 4096, 0644 },
	{ 4097, 0400 },
	{ 200000, 0600 },
};

START_TEST(test_write_read_roundtrip)
{
	const struct write_case *c = &write_cases[_i];
	char *dir = test_tmpdir(), *path = test_path(dir, "file.bin");
	uint8_t *data = malloc(c->len + 1), *got = NULL;
	size_t len = 99;
	struct stat st;
	mode_t old = umask(022);

	ck_assert_ptr_nonnull(data);
	fill_pattern(data, c->len, (unsigned)_i);
	ck_assert_int_eq(fileio_write_atomic(path, data, c->len, c->mode), 0);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, c->mode);
	ck_assert_int_eq(st.st_size, (off_t)c->len);
	ck_assert_uint_eq(dir_entries(dir, "file.bin"), 1);

	ck_assert_int_eq(fileio_read(path, c->len, &got, &len), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, c->len);
	if (c->len)
		ck_assert_mem_eq(got, data, c->len);
	ck_assert_uint_eq(got[len], 0);	/* NUL appended */
	free(got);
	free(data);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_overwrite_replaces)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "state");
	static const char *const contents[] = {
		"a rather long first version of the file\n",
		"short\n",
		"",
		"third, longer than the second\n",
	};
	static const mode_t modes[] = { 0644, 0600, 0600, 0640 };
	uint8_t *got;
	size_t i, len;
	struct stat st;
	mode_t old = umask(022);

	for (i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		ck_assert_int_eq(fileio_write_atomic(path, contents[i], strlen(contents[i]),
						     modes[i]), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, modes[i]);
		ck_assert_int_eq(fileio_read(path, 1024, &got, &len), 0);
		ck_assert_uint_eq(len, strlen(contents[i]));
		ck_assert_str_eq((char *)got, contents[i]);
		free(got);
		ck_assert_uint_eq(dir_entries(dir, "state"), 1);
	}
	umask(old);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_write_errors)
{
	char *dir = test_tmpdir();
	char *missing = test_path(dir, "no/such/dir/file");
	char *sub = test_path(dir, "sub");

	ck_assert_int_eq(fileio_write_atomic(missing, "x", 1, 0600), -ENOENT);
	/* A directory in the way: rename cannot replace it. */
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_lt(fileio_write_atomic(sub, "x", 1, 0600), 0);
	ck_assert_uint_eq(dir_entries(dir, "sub"), 1);	/* no temp left */
	free(missing);
	free(sub);
	test_rmtree(dir);
}
END_TEST

struct read_case {
	const char *what;
	size_t size;	/* bytes in the file, or (size_t)-1 for "no file" */
	size_t max;
	int rc;
};

static const struct read_case read_cases[] = {
	{ "missing", (size_t)-1, 100, -ENOENT },
	{ "empty", 0, 100, 0 },
	{ "empty, max 0", 0, 0, 0 },
	{ "exactly max", 100, 100, 0 },
	{ "one over max", 101, 100, -EFBIG },
	{ "far over max", 70000, 100, -EFBIG },
	{ "one byte, max 0", 1, 0, -EFBIG },
};

START_TEST(test_read_limits)
{
	const struct read_case *c = &read_cases[_i];
	char *dir = test_tmpdir(), *path = test_path(dir, "in");
	uint8_t *data = NULL, *got = (uint8_t *)"untouched";
	size_t len = 0;
	int rc;

	if (c->size != (size_t)-1) {
		data = malloc(c->size + 1);
		ck_assert_ptr_nonnull(data);
		fill_pattern(data, c->size, 5);
		test_write_file(path, data, c->size, 0644);
	}
	rc = fileio_read(path, c->max, &got, &len);
	ck_assert_msg(rc == c->rc, "%s: got %d, want %d", c->what, rc, c->rc);
	if (rc == 0) {
		ck_assert_uint_eq(len, c->size);
		if (c->size)
			ck_assert_mem_eq(got, data, c->size);
		ck_assert_uint_eq(got[len], 0);
		free(got);
	}
	free(data);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_read_not_regular)
{
	char *dir = test_tmpdir();
	uint8_t *got = NULL;
	size_t len;

	ck_assert_int_lt(fileio_read(dir, 1 << 20, &got, &len), 0);
	ck_assert_int_lt(fileio_read_secret(dir, 1 << 20, &got, &len), 0);
	test_rmtree(dir);
}
END_TEST

struct secret_case {
	mode_t mode;
	int rc;
};

static const struct secret_case secret_cases[] = {
	{ 0600, 0 },
	{ 0400, 0 },
	{ 0700, 0 },
	{ 0644, -EPERM },
	{ 0640, -EPERM },
	{ 0604, -EPERM },
	{ 0620, -EPERM },
	{ 0602, -EPERM },
	{ 0666, -EPERM },
};

START_TEST(test_read_secret_modes)
{
	const struct secret_case *c = &secret_cases[_i];
	char *dir = test_tmpdir(), *path = test_path(dir, "secret.key");
	static const char secret[] = "super secret key material";
	uint8_t *got = NULL;
	size_t len = 0;
	int rc;

	test_write_file(path, secret, sizeof(secret) - 1, c->mode);
	rc = fileio_read_secret(path, 4096, &got, &len);
	ck_assert_msg(rc == c->rc, "mode %04o: got %d, want %d", (unsigned)c->mode, rc, c->rc);
	if (rc == 0) {
		ck_assert_uint_eq(len, sizeof(secret) - 1);
		ck_assert_mem_eq(got, secret, len);
		ck_assert_uint_eq(got[len], 0);
		fileio_free_secret(got, len);
	}
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_read_secret_symlink)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "real.key");
	char *link = test_path(dir, "link.key");
	uint8_t *got = NULL;
	size_t len;

	test_write_file(path, "k", 1, 0600);
	ck_assert_int_eq(symlink(path, link), 0);
	/* The target itself is fine ... */
	ck_assert_int_eq(fileio_read_secret(path, 16, &got, &len), 0);
	fileio_free_secret(got, len);
	got = NULL;
	/* ... but not through a symbolic link. */
	ck_assert_int_lt(fileio_read_secret(link, 16, &got, &len), 0);
	free(path);
	free(link);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_read_secret_other_owner)
{
	char *dir, *path;
	uint8_t *got = NULL;
	size_t len;

	if (geteuid() != 0) {
		test_skip(__func__, "needs root to give a file away");
		return;
	}
	dir = test_tmpdir();
	path = test_path(dir, "theirs.key");
	test_write_file(path, "k", 1, 0600);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(fileio_read_secret(path, 16, &got, &len), -EPERM);
	free(path);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_read_secret_limits)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "big.key");
	char *missing = test_path(dir, "missing.key");
	uint8_t data[64] = { 0 };
	uint8_t *got = NULL;
	size_t len;

	test_write_file(path, data, sizeof(data), 0600);
	ck_assert_int_eq(fileio_read_secret(path, 63, &got, &len), -EFBIG);
	ck_assert_int_eq(fileio_read_secret(missing, 63, &got, &len), -ENOENT);
	ck_assert_int_eq(fileio_read_secret(path, 64, &got, &len), 0);
	ck_assert_uint_eq(len, 64);
	fileio_free_secret(got, len);
	free(path);
	free(missing);
	test_rmtree(dir);
}
END_TEST

Suite *suite_fileio(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc;

	tc = tcase_create("write");
	tcase_add_loop_test(tc, test_write_read_roundtrip, 0,
			    sizeof(write_cases) / sizeof(write_cases[0]));
	tcase_add_test(tc, test_overwrite_replaces);
	tcase_add_test(tc, test_write_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_loop_test(tc, test_read_limits, 0,
			    sizeof(read_cases) / sizeof(read_cases[0]));
	tcase_add_test(tc, test_read_not_regular);
	suite_add_tcase(s, tc);

	tc = tcase_create("secret");
	tcase_add_loop_test(tc, test_read_secret_modes, 0,
			    sizeof(secret_cases) / sizeof(secret_cases[0]));
	tcase_add_test(tc, test_read_secret_symlink);
	tcase_add_test(tc, test_read_secret_other_owner);
	tcase_add_test(tc, test_read_secret_limits);
	suite_add_tcase(s, tc);
	return s;
}
