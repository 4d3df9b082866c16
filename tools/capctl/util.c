/*
 * tools/capctl/util.c - messages, time, numbers, paths and object files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "armor.h"
#include "capctl.h"
#include "fileio.h"

/* Every error is one line: "capctl: <what went wrong>; <what to do>". */
int util_fail(int code, const char *fix, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	out_error_keep(what);
	fprintf(stderr, "capctl: %s", what);
	if (fix && fix[0])
		fprintf(stderr, "; %s", fix);
	fputc('\n', stderr);
	return code;
}

/* Notes tell the admin what capctl did on their behalf; they go to stderr. */
void util_note(const char *fmt, ...)
{
	va_list ap;

	fputs("capctl: note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Maps a failed file operation (negative errno) to a message and exit 3. */
int util_io_fail(int err, const char *what, const char *path)
{
	const char *fix;

	switch (-err) {
	case ENOENT:
		fix = "check the path";
		break;
	case EACCES:
		fix = "check the file's owner and permissions";
		break;
	case EPERM:
		fix = "a private file must be owned by you and mode 0600 (chmod 600 it)";
		break;
	case ENOSPC:
	case EDQUOT:
		fix = "free some disk space and retry";
		break;
	case EFBIG:
		fix = "the file is far larger than expected; check it";
		break;
	case EINVAL:
	case EBADMSG:
		fix = "the file is damaged or of another kind; restore it from a backup";
		break;
	case EROFS:
		fix = "the file system is read-only";
		break;
	default:
		fix = "check the file and retry";
		break;
	}
	return util_fail(CAPCTL_SYS, fix, "cannot %s %s: %s", what, path,
			 -err == EBADMSG ? "content does not check out"
					 : strerror(-err));
}

/* Unix seconds; tokens carry unsigned times. */
uint64_t util_now(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

/* UTC ISO-8601, second precision: "2024-05-01T12:00:00Z". */
void util_time_iso(uint64_t t, char out[32])
{
	struct tm tm;
	time_t tt;

	if (t > (uint64_t)INT64_MAX / 2) {
		snprintf(out, 32, "(far future)");
		return;
	}
	tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%llu", (unsigned long long)t);
}

/* Lower-case hex of in; out needs 2 * len + 1 bytes. */
void util_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Strict decimal: digits only, no sign, no spaces, at most max. */
bool util_parse_uint(const char *text, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!text || text[0] < '0' || text[0] > '9')
		return false;
	if (text[0] == '0' && text[1])
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* DIR/NAME; false if it does not fit. */
bool util_join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n > 0 && (size_t)n < cap;
}

/* Armored files start with BEGIN after optional white space. */
static bool starts_armored(const uint8_t *buf, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
			   buf[i] == '\n'))
		i++;
	return len - i >= sizeof(begin) - 1 &&
	       memcmp(buf + i, begin, sizeof(begin) - 1) == 0;
}

/*
 * Reads a token or list file, armored or raw binary. Returns 0, a negative
 * errno from reading, or -EBADMSG when armor is present but broken.
 */
int util_obj_read(const char *path, struct capctl_obj *obj)
{
	uint8_t *buf = NULL, *bin;
	size_t len = 0, binlen = 0;
	int ret;

	memset(obj, 0, sizeof(*obj));
	ret = fileio_read(path, CAPCTL_OBJ_MAX, &buf, &len);
	if (ret < 0)
		return ret;
	if (!starts_armored(buf, len)) {
		obj->bin = buf;
		obj->len = len;
		return 0;
	}
	bin = malloc(len + 1);
	if (!bin) {
		free(buf);
		return -ENOMEM;
	}
	if (!armor_decode((const char *)buf, len, NULL, obj->label, bin, len,
			  &binlen)) {
		free(buf);
		free(bin);
		return -EBADMSG;
	}
	free(buf);
	obj->bin = bin;
	obj->len = binlen;
	obj->armored = true;
	return 0;
}

/* Frees what util_obj_read() allocated. */
void util_obj_free(struct capctl_obj *obj)
{
	free(obj->bin);
	obj->bin = NULL;
	obj->len = 0;
}

/* mkdir; with exist_ok an existing directory is fine. Returns 0 or -errno. */
int util_mkdir(const char *path, mode_t mode, bool exist_ok)
{
	struct stat sb;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST || !exist_ok)
		return -errno;
	if (lstat(path, &sb) < 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/* mkdir -p: the parents 0755, the last component 0700. */
int util_mkdir_p(const char *out)
{
	char path[PATH_MAX];
	int ret;

	if (snprintf(path, sizeof(path), "%s", out) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ret = util_mkdir(path, 0755, true);
		*p = '/';
		if (ret < 0)
			return ret;
	}
	return util_mkdir(path, 0700, true);
}

/* fsync a directory, so that a removal survives a crash. */
int util_sync_dir(const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* Writes text plus a final newline atomically. Returns 0 or -errno. */
int util_write_text(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 2);
	int ret;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len++] = '\n';
	buf[len] = '\0';
	ret = fileio_write_atomic(path, buf, len, mode);
	free(buf);
	return ret;
}

/* An empty table of ncols columns. */
void util_table_init(struct util_table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

/* Copies one row of ncols cells; a failure shows up in util_table_print(). */
void util_table_row(struct util_table *t, const char *const *cells)
{
	if (t->oom)
		return;
	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
		char **c = realloc(t->cells, cap * sizeof(*c));

		if (!c) {
			t->oom = true;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = strdup(cells[i] ? cells[i] : "");

		if (!s) {
			for (size_t j = 0; j < i; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			t->oom = true;
			return;
		}
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
}

/* Left-aligned columns two spaces apart; the last column is not padded. */
int util_table_print(const struct util_table *t, const char *indent)
{
	size_t width[16] = { 0 };

	if (t->oom || t->ncols > 16)
		return -ENOMEM;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * t->ncols + c]);

			if (n > width[c])
				width[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
	}
	return 0;
}

/* Frees the cells of a table. */
void util_table_free(struct util_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
