/*
 * policy/fileio.h - whole-file reads and crash-safe writes.
 */
#ifndef CAPTUN_POLICY_FILEIO_H
#define CAPTUN_POLICY_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fileio_limit {
	FILEIO_READ_MAX = 64 << 20,
};

/*
 * Writes path atomically: a temporary file in the same directory, written,
 * fsync'd, renamed over path, then the directory fsync'd. A crash at any
 * point leaves either the old file or the new one. Returns 0 or -errno.
 */
int fileio_write_atomic(const char *path, const void *data, size_t len,
			mode_t mode);

/*
 * Reads a whole regular file of at most max bytes into a malloc'd buffer
 * with a NUL byte appended (not counted in *len). Returns 0 or -errno
 * (-EFBIG when the file is larger than max).
 */
int fileio_read(const char *path, size_t max, uint8_t **out, size_t *len);

/*
 * As fileio_read, for secrets: refuses (-EPERM) a file that is not owned by
 * the effective user or that group or others may read or write, and does
 * not follow a symbolic link. The buffer must be released with
 * fileio_free_secret().
 */
int fileio_read_secret(const char *path, size_t max, uint8_t **out, size_t *len);
void fileio_free_secret(uint8_t *buf, size_t len);

#endif
