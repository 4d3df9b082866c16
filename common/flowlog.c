/*
 * common/flowlog.c - the flow-record writer (flowlog.h): chain, buffer,
 * rotation, rate limit and summaries.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "flowlog.h"

enum flowlog_const {
	TAIL_MAX = 64 * 1024,		/* bytes read back to resume the chain */
};

/* Records alike, counted while the rate limit holds them back. */
struct like {
	bool used;
	uint64_t key;
	struct flowrec first;		/* the first one held back */
	uint64_t count;
	uint64_t first_ms, last_ms;
};

struct flowlog {
	struct flowlog_config cfg;
	char path[PATH_MAX];
	char host[FLOWREC_NAME_MAX + 1];
	int fd;
	uint64_t size;			/* bytes in the live file */
	uint8_t prev[FLOWREC_HASH_LEN];
	uint64_t seq;
	char *buf;			/* lines not yet written */
	size_t len;
	double tokens;
	uint64_t refill_ms;
	struct like like[FLOWLOG_LIKE_MAX];
	unsigned nlike;
	struct flowlog_stats st;
};

uint64_t flowlog_disk_bound(const struct flowlog_config *cfg)
{
	uint64_t max = cfg->max_bytes ? cfg->max_bytes : FLOWLOG_MAX_BYTES;
	unsigned keep = cfg->keep ? cfg->keep : FLOWLOG_KEEP;

	return (keep + 1) * (max + FLOWREC_LINE_MAX + 1);
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

static int open_live(struct flowlog *fl)
{
	struct stat st;

	fl->fd = open(fl->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fl->fd < 0)
		return -errno;
	if (fstat(fl->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int ret = S_ISREG(st.st_mode) ? -errno : -EINVAL;

		close(fl->fd);
		fl->fd = -1;
		return ret;
	}
	fl->size = (uint64_t)st.st_size;
	return 0;
}

/*
 * The chain's end in file path: the hash of its last line and the seq to
 * continue from. *found is false for a missing or empty file. A last line
 * without its newline is closed (cut) when cut is set.
 */
static int resume_from(struct flowlog *fl, const char *path, bool cut, bool *found)
{
	struct stat st;
	char *buf;
	size_t n, end, start, lines_after = 0;
	int fd, ret = 0;

	*found = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		ret = st.st_size == 0 ? 0 : -errno;
		close(fd);
		return ret;
	}
	n = (size_t)(st.st_size < TAIL_MAX ? st.st_size : TAIL_MAX);
	buf = malloc(n);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, n, st.st_size - (off_t)n) != (ssize_t)n) {
		ret = -EIO;
		goto out;
	}
	end = n;
	if (buf[end - 1] == '\n') {
		end--;
	} else if (cut) {
		fprintf(stderr, "flowlog: %s: the last line was cut short (a crash?); "
			"closing it and chaining on\n", path);
		if ((ret = write_all(fl->fd, "\n", 1)) < 0 || fdatasync(fl->fd) < 0) {
			ret = ret < 0 ? ret : -errno;
			goto out;
		}
		fl->size++;
	}
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && (size_t)st.st_size > n) {
		ret = -EFBIG;		/* a last line longer than any record */
		goto out;
	}
	flowrec_hash(buf + start, end - start, fl->prev);
	*found = true;
	/* seq: the last line that parses, plus the lines after it */
	for (;;) {
		struct flowrec r;
		char err[64];

		if (flowrec_parse(buf + start, end - start, &r, err, sizeof(err))) {
			fl->seq = r.seq + lines_after;
			break;
		}
		lines_after++;
		if (start == 0) {
			fl->seq = lines_after;
			break;
		}
		end = start - 1;
		start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
	}
out:
	free(buf);
	close(fd);
	return ret;
}

int flowlog_open(struct flowlog **out, const struct flowlog_config *cfg)
{
	struct flowlog *fl;
	char rotated[PATH_MAX + 8];
	bool found = false;
	int ret;

	if (strlen(cfg->path) >= PATH_MAX || (cfg->host && strlen(cfg->host) > FLOWREC_NAME_MAX))
		return -ENAMETOOLONG;
	if ((cfg->max_bytes && cfg->max_bytes < FLOWLOG_MIN_BYTES) ||
	    cfg->keep > FLOWLOG_KEEP_MAX)
		return -EINVAL;
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	fl->cfg = *cfg;
	if (!fl->cfg.max_bytes)
		fl->cfg.max_bytes = FLOWLOG_MAX_BYTES;
	if (!fl->cfg.keep)
		fl->cfg.keep = FLOWLOG_KEEP;
	if (!fl->cfg.rate)
		fl->cfg.rate = FLOWLOG_RATE;
	if (!fl->cfg.burst)
		fl->cfg.burst = FLOWLOG_BURST;
	memcpy(fl->path, cfg->path, strlen(cfg->path) + 1);
	fl->cfg.path = fl->path;
	if (cfg->host)
		memcpy(fl->host, cfg->host, strlen(cfg->host) + 1);
	fl->cfg.host = fl->host;
	fl->tokens = fl->cfg.burst;
	fl->buf = malloc(FLOWLOG_BUF);
	if (!fl->buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = open_live(fl);
	if (ret < 0)
		goto err_buf;
	ret = resume_from(fl, fl->path, true, &found);
	if (ret == 0 && !found) {
		snprintf(rotated, sizeof(rotated), "%s.1", fl->path);
		ret = resume_from(fl, rotated, false, &found);
	}
	if (ret < 0)
		goto err_fd;
	fl->st.seq = fl->seq;
	fl->st.bytes = fl->size;
	*out = fl;
	return 0;

err_fd:
	close(fl->fd);
err_buf:
	free(fl->buf);
err_free:
	free(fl);
	return ret;
}

static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, ret = 0;

	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		memcpy(dir, ".", 2);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Writes the buffer to the live file and makes it durable. */
static int write_out(struct flowlog *fl)
{
	int ret;

	if (!fl->len)
		return 0;
	if (fl->fd < 0 && (ret = open_live(fl)) < 0)
		return ret;
	ret = write_all(fl->fd, fl->buf, fl->len);
	if (ret == 0 && fdatasync(fl->fd) < 0)
		ret = -errno;
	if (ret < 0) {
		/*
		 * Part of the buffer may be on disk: reopening measures the
		 * file again, and the next write appends after what made it.
		 * Lines are not rewritten, so a partial line shows as damage.
		 */
		fl->st.write_errors++;
		close(fl->fd);
		fl->fd = -1;
		fl->len = 0;
		return ret;
	}
	fl->size += fl->len;
	fl->st.bytes = fl->size;
	fl->len = 0;
	return 0;
}

/* path -> path.1 -> ... -> path.keep (dropped past that); a new live file. */
static int rotate(struct flowlog *fl)
{
	char from[PATH_MAX + 8], to[PATH_MAX + 8];
	int ret;

	if (fl->fd >= 0) {
		fsync(fl->fd);
		close(fl->fd);
		fl->fd = -1;
	}
	for (unsigned k = fl->cfg.keep; k >= 1; k--) {
		if (k == 1)
			snprintf(from, sizeof(from), "%s", fl->path);
		else
			snprintf(from, sizeof(from), "%s.%u", fl->path, k - 1);
		snprintf(to, sizeof(to), "%s.%u", fl->path, k);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	ret = open_live(fl);
	if (ret == 0)
		ret = sync_dir(fl->path);
	fl->st.rotations++;
	fl->st.bytes = fl->size;
	return ret;
}

/* Chains, encodes and buffers one line; rotates first if it would not fit. */
static bool emit(struct flowlog *fl, struct flowrec *r)
{
	char line[FLOWREC_LINE_MAX + 2];
	size_t n;

	r->seq = fl->seq + 1;
	if (fl->host[0])
		memcpy(r->host, fl->host, strlen(fl->host) + 1);
	n = flowrec_encode(r, fl->prev, line, sizeof(line) - 1);
	if (!n)
		return false;
	if (fl->size + fl->len + n + 1 > fl->cfg.max_bytes && fl->size + fl->len > 0) {
		if (write_out(fl) < 0 || rotate(fl) < 0) {
			fl->st.lost++;
			return false;
		}
	}
	if (fl->len + n + 1 > FLOWLOG_BUF && write_out(fl) < 0) {
		fl->st.lost++;
		return false;
	}
	flowrec_hash(line, n, fl->prev);
	line[n] = '\n';
	memcpy(fl->buf + fl->len, line, n + 1);
	fl->len += n + 1;
	fl->seq = r->seq;
	fl->st.seq = fl->seq;
	return true;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* What makes two records alike for a summary. */
static uint64_t like_key(const struct flowrec *r)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	h = mix(h, &r->side, sizeof(r->side));
	h = mix(h, r->src_host, strlen(r->src_host) + 1);
	h = mix(h, r->dst_host, strlen(r->dst_host) + 1);
	h = mix(h, r->users, strlen(r->users) + 1);
	h = mix(h, &r->uid, sizeof(r->uid));
	h = mix(h, &r->proto, sizeof(r->proto));
	h = mix(h, &r->dport, sizeof(r->dport));
	h = mix(h, &r->reason, sizeof(r->reason));
	return h;
}

static void summary_write(struct flowlog *fl, struct like *l)
{
	struct flowrec r = l->first;

	r.kind = FLOWREC_SUMMARY;
	r.count = l->count;
	r.time_ms = l->first_ms;
	r.last_ms = l->last_ms;
	r.has_id = false;	/* many flows: no one id */
	r.pid = -1;		/* nor one process */
	r.comm[0] = r.exe[0] = '\0';
	r.sport = 0;
	r.has_told = false;
	if (emit(fl, &r)) {
		fl->st.summaries++;
	} else {
		fl->st.lost += l->count;
		fl->st.summarised -= l->count;
	}
	l->used = false;
	fl->nlike--;
}

static void summaries_due(struct flowlog *fl, uint64_t now_ms, bool all)
{
	for (unsigned i = 0; i < FLOWLOG_LIKE_MAX && fl->nlike; i++) {
		struct like *l = &fl->like[i];

		if (l->used && (all || now_ms - l->first_ms >= FLOWLOG_SUMMARY_MS))
			summary_write(fl, l);
	}
}

static bool take_token(struct flowlog *fl, uint64_t now_ms)
{
	if (now_ms > fl->refill_ms) {
		fl->tokens += (double)(now_ms - fl->refill_ms) * fl->cfg.rate / 1000.0;
		if (fl->tokens > fl->cfg.burst)
			fl->tokens = fl->cfg.burst;
	}
	fl->refill_ms = now_ms;
	if (fl->tokens < 1.0)
		return false;
	fl->tokens -= 1.0;
	return true;
}

bool flowlog_add(struct flowlog *fl, const struct flowrec *in, uint64_t now_ms)
{
	struct flowrec r = *in;
	struct like *l = NULL, *free_slot = NULL;
	uint64_t key;

	fl->st.records++;
	r.kind = FLOWREC_DENIED;
	r.time_ms = now_ms;
	if (take_token(fl, now_ms)) {
		if (emit(fl, &r)) {
			fl->st.lines++;
			return true;
		}
		return false;
	}
	key = like_key(&r);
	for (unsigned i = 0; i < FLOWLOG_LIKE_MAX; i++) {
		if (fl->like[i].used && fl->like[i].key == key) {
			l = &fl->like[i];
			break;
		}
		if (!fl->like[i].used && !free_slot)
			free_slot = &fl->like[i];
	}
	if (!l && !free_slot) {
		/* every slot taken by another kind: write them all now */
		summaries_due(fl, now_ms, true);
		free_slot = &fl->like[0];
	}
	if (!l) {
		l = free_slot;
		memset(l, 0, sizeof(*l));
		l->used = true;
		l->key = key;
		l->first = r;
		l->first_ms = now_ms;
		fl->nlike++;
	}
	l->count++;
	l->last_ms = now_ms;
	fl->st.summarised++;
	return false;
}

int flowlog_flush(struct flowlog *fl, uint64_t now_ms, bool all)
{
	summaries_due(fl, now_ms, all);
	return write_out(fl);
}

void flowlog_stats_get(const struct flowlog *fl, struct flowlog_stats *st)
{
	*st = fl->st;
}

void flowlog_close(struct flowlog *fl, uint64_t now_ms)
{
	if (!fl)
		return;
	flowlog_flush(fl, now_ms, true);
	if (fl->fd >= 0)
		close(fl->fd);
	free(fl->buf);
	free(fl);
}
