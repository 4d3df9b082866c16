/*
 * capd/daemon.c - the process capd runs as: its log (stderr in the
 * foreground, syslog as a daemon), the clocks everything reads (unix time
 * for records and token validity, the monotonic clock for intervals), its
 * descriptor limit and its lock. Detaching, the pid file and dropping
 * privileges are common/daemon.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "capd.h"

enum daemon_const {
	NOFILE_WANT = CAPD_SESSIONS_MAX + CAPD_CLIENTS + 64,
};

static bool use_syslog;

/* Switches the log to syslog (the daemon has no terminal any more). */
void capd_log_syslog(bool on)
{
	if (on && !use_syslog)
		openlog("capd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = on;
}

/* One line: "capd: LEVEL: text" on stderr, or a syslog record. */
void capd_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		"emergency", "alert", "critical", "error", "warning", "notice",
		"info", "debug",
	};
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(level, "%s", text);
		return;
	}
	fprintf(stderr, "capd: %s: %s\n",
		level >= 0 && level <= LOG_DEBUG ? names[level] : "log", text);
}

uint64_t capd_unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t capd_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t capd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "2024-05-01T12:00:00.123Z": UTC, milliseconds, sortable as text. */
void capd_time_iso(uint64_t unix_ms, char out[32])
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 32, "%llu", (unsigned long long)unix_ms);
		return;
	}
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000));
}

/* One pidfd per session: the soft descriptor limit must allow them. */
void capd_daemon_nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= NOFILE_WANT)
		return;
	rl.rlim_cur = rl.rlim_max < NOFILE_WANT ? rl.rlim_max : NOFILE_WANT;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		capd_log(LOG_WARNING, "cannot raise the open-file limit: %s", strerror(errno));
}

/*
 * One capd per state directory: a second one would fork the audit chain
 * and overwrite the first one's sessions. Holds DIR/capd.lock (flock) for
 * the life of the process; returns the descriptor, -EBUSY if another capd
 * holds it, or -errno.
 */
int capd_daemon_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/capd.lock", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return ret;
	}
	return fd;
}
