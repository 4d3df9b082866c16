/*
 * capd/audit.c - DIR/audit.log: one JSON object per line, appended and
 * fsync'd, each naming the time, the event and its fields, and ending in
 *
 *   "prev": hex BLAKE2b-256 of the previous line's bytes (without its
 *           newline); 64 zeros on the first line.
 *
 * Changing, removing or inserting a line anywhere breaks the chain at the
 * next line, which capd_audit_verify (and any BLAKE2b tool) finds; the
 * last line is covered by the head hash capd keeps (status shows it). capd
 * reads the last line at start and continues the chain from it; a last
 * line cut short by a crash is closed with a newline and chained to as it
 * is, so the damage shows rather than disappears.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "capd.h"

enum audit_const {
	AUDIT_CHUNK = 65536,
	AUDIT_HEX = 2 * CAPD_HASH_LEN,
};

void capd_audit_hash(const void *line, size_t len, uint8_t out[CAPD_HASH_LEN])
{
	crypto_generichash(out, CAPD_HASH_LEN, line, len, NULL, 0);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Offset of the first byte of the line that ends at end (exclusive). */
static int line_start(int fd, off_t end, off_t *start, char *buf)
{
	off_t pos = end;

	while (pos > 0) {
		size_t n = pos > AUDIT_CHUNK ? AUDIT_CHUNK : (size_t)pos;
		ssize_t got = pread(fd, buf, n, pos - (off_t)n);

		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n') {
				*start = pos - (off_t)n + (off_t)i;
				return 0;
			}
		pos -= (off_t)n;
	}
	*start = 0;
	return 0;
}

/* Hashes bytes [start, end) of the file, streaming. */
static int hash_range(int fd, off_t start, off_t end, uint8_t out[CAPD_HASH_LEN],
		      char *buf)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CAPD_HASH_LEN);
	while (start < end) {
		size_t n = end - start > AUDIT_CHUNK ? AUDIT_CHUNK : (size_t)(end - start);
		ssize_t got = pread(fd, buf, n, start);

		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		crypto_generichash_update(&st, (const uint8_t *)buf, (size_t)got);
		start += got;
	}
	crypto_generichash_final(&st, out, CAPD_HASH_LEN);
	return 0;
}

/* Reads the chain's end: the hash of the last line, if there is one. */
static int chain_resume(struct capd_audit *a, const char *path)
{
	struct stat st;
	off_t end, start = 0;
	char *buf, last;
	int ret;

	memset(a->prev, 0, sizeof(a->prev));
	if (fstat(a->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0)
		return 0;
	buf = malloc(AUDIT_CHUNK);
	if (!buf)
		return -ENOMEM;
	end = st.st_size;
	ret = pread(a->fd, &last, 1, end - 1) == 1 ? 0 : -EIO;
	if (ret == 0 && last == '\n')
		end--;
	if (ret == 0)
		ret = line_start(a->fd, end, &start, buf);
	if (ret == 0)
		ret = hash_range(a->fd, start, end, a->prev, buf);
	if (ret == 0 && last != '\n') {
		capd_log(LOG_WARNING, "%s: the last line was cut short (a crash?); closing it "
				      "and chaining on",
			 path);
		ret = write_all(a->fd, "\n", 1);
		if (ret == 0 && fsync(a->fd) < 0)
			ret = -errno;
	}
	free(buf);
	return ret;
}

int capd_audit_open(struct capd_audit *a, const char *path)
{
	int ret;

	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0)
		return -errno;
	ret = chain_resume(a, path);
	if (ret < 0) {
		close(a->fd);
		a->fd = -1;
	}
	return ret;
}

void capd_audit_close(struct capd_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

/*
 * Appends {"time":..., "event":event, <fields>, "prev":...} and fsyncs it.
 * Takes the reference to fields (which may be NULL). Returns 0 or -errno.
 */
int capd_audit_append(struct capd_audit *a, const char *event, json_t *fields)
{
	char now[32], hex[AUDIT_HEX + 1], *text = NULL;
	json_t *line;
	size_t len;
	int ret = -ENOMEM;

	capd_time_iso(capd_unix_ms(), now);
	sodium_bin2hex(hex, sizeof(hex), a->prev, sizeof(a->prev));
	line = json_pack("{s:s, s:s}", "time", now, "event", event);
	if (!line || (fields && json_object_update(line, fields) < 0) ||
	    json_object_set_new(line, "prev", json_string(hex)) < 0)
		goto out;
	text = json_dumps(line, JSON_COMPACT);
	if (!text)
		goto out;
	if (a->fd < 0) {
		ret = -EBADF;
		goto out;
	}
	len = strlen(text);
	text[len] = '\n';	/* over the NUL: one write, one line */
	ret = write_all(a->fd, text, len + 1);
	if (ret == 0 && fsync(a->fd) < 0)
		ret = -errno;
	if (ret == 0)
		capd_audit_hash(text, len, a->prev);
out:
	free(text);
	json_decref(line);
	json_decref(fields);
	return ret;
}

/* The "prev" member of one line, if it is a JSON object that has one. */
static bool line_prev(const char *line, size_t len, char hex[AUDIT_HEX + 1])
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *p = json_string_value(json_object_get(o, "prev"));
	bool ok = p && strlen(p) == AUDIT_HEX;

	if (ok)
		memcpy(hex, p, AUDIT_HEX + 1);
	json_decref(o);
	return ok;
}

/*
 * True if every line of text chains to the one before it and, when head is
 * given (the hash capd holds of the last line it wrote: status shows it),
 * the last line hashes to head. Otherwise *bad_line is the first line
 * (1-based) whose "prev" does not match or that is not a JSON object with
 * a "prev", or the last line if only head disagrees. The chain alone
 * cannot tell that the last line was changed; head can.
 */
bool capd_audit_verify(const char *text, size_t len,
		       const uint8_t head[CAPD_HASH_LEN], size_t *bad_line)
{
	uint8_t prev[CAPD_HASH_LEN];
	char want[AUDIT_HEX + 1], got[AUDIT_HEX + 1];
	size_t pos = 0, lineno = 0;

	memset(prev, 0, sizeof(prev));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		sodium_bin2hex(want, sizeof(want), prev, sizeof(prev));
		if (!line_prev(text + pos, llen, got) || strcmp(got, want) != 0) {
			*bad_line = lineno;
			return false;
		}
		capd_audit_hash(text + pos, llen, prev);
		pos += llen + (nl ? 1 : 0);
	}
	if (head && sodium_memcmp(head, prev, CAPD_HASH_LEN) != 0) {
		*bad_line = lineno ? lineno : 1;
		return false;
	}
	*bad_line = 0;
	return true;
}
