/*
 * policy/fileio.c - whole-file reads and crash-safe writes: every file the
 * admin's tools keep is replaced whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fileio.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int fileio_write_atomic(const char *path, const void *data, size_t len,
			mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	ret = write_all(fd, data, len);
	if (ret < 0)
		goto err_unlink;
	if (fsync(fd) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto err_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	return sync_dir(path);

err_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

/* Reads an open file whole; secret buffers are locked and wiped on error. */
static int read_fd(int fd, size_t max, bool secret, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t size, got = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	size = (size_t)st.st_size;
	buf = secret ? sodium_malloc(size + 1) : malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int ret = n < 0 ? -errno : -EIO;

			if (secret)
				sodium_free(buf);
			else
				free(buf);
			return ret;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int fileio_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read_fd(fd, max, false, out, len);
	close(fd);
	return ret;
}

int fileio_read_secret(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd, ret;

	if (sodium_init() < 0)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		ret = -EPERM;
		goto out_close;
	}
	ret = read_fd(fd, max, true, out, len);
out_close:
	close(fd);
	return ret;
}

void fileio_free_secret(uint8_t *buf, size_t len)
{
	if (buf)
		sodium_free(buf);
}
