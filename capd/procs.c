/*
 * capd/procs.c - which users run processes on this host, read from /proc.
 *
 * A process belongs to a user when any of its four user ids (real,
 * effective, saved, filesystem; /proc/PID/status) is the user's: not the
 * owner of /proc/PID, which a process hands to root with
 * prctl(PR_SET_DUMPABLE, 0), and not its name or command line, which it
 * may rewrite. It runs while any of its threads is neither a zombie nor
 * exiting (a leader that called pthread_exit() is a zombie whose other
 * threads still run).
 *
 * (A dumpable process's /proc/PID belongs to its effective uid; the scan
 * reads the status only of those whose owner is wanted or root, so a
 * setuid program of another user that makes itself dumpable again while
 * its real uid is a captun user's is not seen: that program, not the user,
 * chose to.)
 *
 * It is on this host when its network namespace is capd's own. On a real
 * server that is every process; in a lab of namespaces sharing one kernel
 * (caplab) it tells the hosts apart. Two cases count as here although the
 * namespace differs, so that nothing is shed by leaving the namespace:
 * a namespace owned by another user namespace than capd's (one an
 * unprivileged user made, e.g. `unshare -rn`, from which it may still use
 * sockets of this host's namespace), and a namespace that cannot be read
 * (capd without CAP_SYS_PTRACE may not read another uid's namespace link:
 * fail closed). Only a namespace made by root in capd's user namespace -
 * another lab host, a container root started - is elsewhere.
 *
 * The privileged helper (procsep.c) runs this scan with CAP_SYS_PTRACE; capd
 * runs it itself, unprivileged, if there is no helper.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capd.h"

enum procs_const {
	STATUS_READ = 2048,		/* the Uid line is near the top */
	STAT_READ = 1024,		/* state and flags are in the first fields */
	PF_EXITING_FLAG = 0x00000004,	/* include/linux/sched.h */
	STAT_FIELD_FLAGS = 9,		/* proc(5) */
};

/*
 * The four uids of a /proc/PID/status text ("Uid:\tR\tE\tS\tF"). false if
 * the line is missing or malformed.
 */
bool capd_procs_status_uids(const char *text, size_t len, uint32_t uids[4])
{
	const char *end = text + len, *p = text;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if (le - p > 4 && memcmp(p, "Uid:", 4) == 0) {
			p += 4;
			for (int i = 0; i < 4; i++) {
				uint64_t v = 0;
				bool digits = false;

				while (p < le && (*p == '\t' || *p == ' '))
					p++;
				while (p < le && *p >= '0' && *p <= '9') {
					v = v * 10 + (uint64_t)(*p++ - '0');
					if (v > UINT32_MAX)
						return false;
					digits = true;
				}
				if (!digits)
					return false;
				uids[i] = (uint32_t)v;
			}
			return p == le;
		}
		p = le + 1;
	}
	return false;
}

/*
 * Whether a /proc/PID/stat (or task/TID/stat) text names a thread that
 * runs: not a zombie or dead (state Z, X, x) and not exiting (PF_EXITING in
 * field 9). Fields count from the last ')' (the name may hold any byte).
 * false, with *live untouched, if the text is malformed.
 */
bool capd_procs_stat_live(const char *text, size_t len, bool *live)
{
	const char *p = NULL, *end = text + len;
	uint64_t flags = 0;
	char state;
	int field = 3;

	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p || end - p < 3 || p[1] != ' ')
		return false;
	state = p[2];
	p += 3;
	while (field < STAT_FIELD_FLAGS) {
		if (p >= end || *p != ' ')
			return false;
		p++;
		field++;
		if (field == STAT_FIELD_FLAGS)
			break;
		while (p < end && *p != ' ')
			p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9') {
		flags = flags * 10 + (uint64_t)(*p++ - '0');
		if (flags > UINT32_MAX)
			return false;
	}
	if (p < end && *p != ' ' && *p != '\n')
		return false;
	*live = state != 'Z' && state != 'X' && state != 'x' && !(flags & PF_EXITING_FLAG);
	return true;
}

/*
 * The rule for one process of a wanted user: where its namespace puts it.
 * ns_err: 0 if its network namespace was read, else the -errno of that;
 * same_net: it is capd's; owner_err / same_owner: the same for the user
 * namespace that owns it.
 */
enum capd_procs_verdict capd_procs_judge(int ns_err, bool same_net, int owner_err,
					 bool same_owner)
{
	if (ns_err == -ENOENT || ns_err == -ESRCH)
		return CAPD_PROCS_NONE;		/* it exited meanwhile */
	if (ns_err < 0)
		return CAPD_PROCS_UNKNOWN;	/* cannot tell: here */
	if (same_net)
		return CAPD_PROCS_HERE;
	if (owner_err < 0)
		return CAPD_PROCS_UNKNOWN;
	return same_owner ? CAPD_PROCS_NONE : CAPD_PROCS_HERE;
}

int capd_procs_self(struct capd_procs_self *self)
{
	struct stat st;

	memset(self, 0, sizeof(*self));
	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	self->net_dev = st.st_dev;
	self->net_ino = st.st_ino;
	if (stat("/proc/self/ns/user", &st) < 0)
		return -errno;
	self->user_dev = st.st_dev;
	self->user_ino = st.st_ino;
	self->ok = true;
	return 0;
}

/* Reads up to cap-1 bytes of dirfd/name, NUL-terminated; length or -errno. */
static ssize_t slurp(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * A thread of the process (its /proc directory dirfd) that runs: "." for
 * the leader, or "task/TID" (into out) when the leader is a zombie whose
 * other threads run on; NULL if none runs. A zombie leader has no
 * namespaces left, so its live thread is the one to ask where it is.
 */
static const char *runs(int dirfd, char *out, size_t cap)
{
	char buf[STAT_READ];
	const char *found = NULL;
	bool live = false;
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int tfd;

	n = slurp(dirfd, "stat", buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	if (!capd_procs_stat_live(buf, (size_t)n, &live) || live)
		return ".";	/* unreadable counts: fail closed */
	tfd = openat(dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return NULL;
	d = fdopendir(tfd);
	if (!d) {
		close(tfd);
		return NULL;
	}
	while (!found && (de = readdir(d))) {
		char path[64];

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/stat", de->d_name);
		n = slurp(tfd, path, buf, sizeof(buf));
		if (n > 0 && (!capd_procs_stat_live(buf, (size_t)n, &live) || live)) {
			snprintf(out, cap, "task/%s", de->d_name);
			found = out;
		}
	}
	closedir(d);
	return found;
}

/* Where the process of dirfd is (thread: runs()), by capd_procs_judge. */
static enum capd_procs_verdict where(const struct capd_procs_self *self, int dirfd,
				     const char *thread)
{
	char path[96];
	int fd, ufd, ns_err = 0, owner_err = 0;
	bool same_net = false, same_owner = false;
	struct stat st;

	snprintf(path, sizeof(path), "%s/ns/net", thread);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ns_err = -errno;
	} else {
		same_net = st.st_dev == self->net_dev && st.st_ino == self->net_ino;
		if (!same_net) {
			ufd = ioctl(fd, NS_GET_USERNS);
			if (ufd < 0 || fstat(ufd, &st) < 0)
				owner_err = -errno;
			else
				same_owner = st.st_dev == self->user_dev &&
					     st.st_ino == self->user_ino;
			if (ufd >= 0)
				close(ufd);
		}
	}
	if (fd >= 0)
		close(fd);
	return capd_procs_judge(ns_err, same_net, owner_err, same_owner);
}

static struct capd_procs_hit *wanted(struct capd_procs_hit *hits, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (hits[i].uid == uid)
			return &hits[i];
	return NULL;
}

/*
 * For each hits[i].uid, whether a process of that uid runs on this host
 * (verdict and one such pid). Stops early once every uid is HERE. 0, or
 * -errno if /proc cannot be read (then every verdict is UNKNOWN).
 */
int capd_procs_scan(const struct capd_procs_self *self, struct capd_procs_hit *hits,
		    size_t n)
{
	char buf[STATUS_READ];
	struct dirent *de;
	size_t here = 0;
	DIR *proc;

	for (size_t i = 0; i < n; i++) {
		hits[i].verdict = CAPD_PROCS_NONE;
		hits[i].pid = 0;
	}
	proc = self->ok ? opendir("/proc") : NULL;
	if (!proc) {
		int ret = self->ok ? -errno : -ENOENT;

		for (size_t i = 0; i < n; i++)
			hits[i].verdict = CAPD_PROCS_UNKNOWN;
		return ret;
	}
	while (here < n && (de = readdir(proc))) {
		struct capd_procs_hit *hit[4] = { NULL };
		char thread_buf[64];
		const char *thread;
		enum capd_procs_verdict v;
		uint32_t uids[4];
		struct stat st;
		bool any = false;
		ssize_t len;
		int dfd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		dfd = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		/*
		 * /proc/PID belongs to the effective uid, or to root when the
		 * process is not dumpable (setuid programs, PR_SET_DUMPABLE 0):
		 * only those two kinds need their status read.
		 */
		if (fstat(dfd, &st) == 0 && st.st_uid != 0 && !wanted(hits, n, st.st_uid)) {
			close(dfd);
			continue;
		}
		len = slurp(dfd, "status", buf, sizeof(buf));
		if (len > 0 && capd_procs_status_uids(buf, (size_t)len, uids))
			for (int k = 0; k < 4; k++) {
				hit[k] = wanted(hits, n, uids[k]);
				any = any || (hit[k] && hit[k]->verdict != CAPD_PROCS_HERE);
			}
		thread = any ? runs(dfd, thread_buf, sizeof(thread_buf)) : NULL;
		if (!thread) {
			close(dfd);
			continue;
		}
		v = where(self, dfd, thread);
		close(dfd);
		for (int k = 0; k < 4 && v != CAPD_PROCS_NONE; k++) {
			if (!hit[k] || hit[k]->verdict == CAPD_PROCS_HERE ||
			    (hit[k]->verdict == CAPD_PROCS_UNKNOWN && v == CAPD_PROCS_UNKNOWN))
				continue;
			hit[k]->verdict = v;
			hit[k]->pid = atoi(de->d_name);
			if (v == CAPD_PROCS_HERE)
				here++;
		}
	}
	closedir(proc);
	return 0;
}
