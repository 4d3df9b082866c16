/*
 * queue/procs.c - who opened a flow: the local socket that sent the
 * packet (from /proc/net/{tcp,udp,icmp,raw}{,6}, matched on the flow's
 * addresses and ports, owned by the uid NFQUEUE reported), its inode,
 * the process holding that inode (a scan of /proc/PID/fd of that uid's
 * processes, which needs CAP_SYS_PTRACE for other users' processes),
 * its command and executable, and the uid's name. Forwarded packets
 * have no local socket: their input interface is named instead.
 *
 * Called only for flows capshim denied, before the verdict, while the
 * application still holds its socket. A small cache maps inodes to
 * processes, so that a flood from one socket costs one scan.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capqueue.h"

enum procs_const {
	CACHE_SLOTS = 64,
	SCAN_MAX = 65536,		/* processes looked at, at most */
};

struct cache_entry {
	uint64_t inode;
	pid_t pid;
};

static struct cache_entry cache[CACHE_SLOTS];

/* An address as /proc/net prints it: the words of the address in host order. */
static void proc_addr(const struct in6_addr *a, bool v4, char *out, size_t cap)
{
	uint32_t w[4];

	memcpy(w, a, sizeof(w));
	if (v4)
		snprintf(out, cap, "%08X", w[3]);
	else
		snprintf(out, cap, "%08X%08X%08X%08X", w[0], w[1], w[2], w[3]);
}

/*
 * The inode of the socket in file path with local address:port and, when
 * given, remote address:port; "any" local addresses and unconnected
 * sockets match too (exact matches win). 0 if none.
 */
static uint64_t find_inode(const char *path, const char *laddr, unsigned lport,
			   const char *raddr, unsigned rport, int64_t uid)
{
	FILE *f = fopen(path, "re");
	char line[512], la[40], ra[40];
	uint64_t best = 0;
	int best_score = 0;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned lp, rp, st;
		unsigned long u;
		unsigned long long inode;
		int score = 1;
		bool lany, rany;

		if (sscanf(line, " %*d: %39[0-9A-F]:%x %39[0-9A-F]:%x %x %*s %*s %*s %lu %*d %llu",
			   la, &lp, ra, &rp, &st, &u, &inode) != 7 || !inode)
			continue;
		if (lp != lport || (uid >= 0 && (int64_t)u != uid))
			continue;
		lany = strspn(la, "0") == strlen(la);
		rany = strspn(ra, "0") == strlen(ra);
		if (strcmp(la, laddr) == 0)
			score += 2;
		else if (!lany)
			continue;
		if (raddr && strcmp(ra, raddr) == 0 && rp == rport)
			score += 4;
		else if (!rany || rp != 0)
			continue;
		if (score > best_score) {
			best_score = score;
			best = inode;
		}
	}
	fclose(f);
	return best;
}

static uint64_t socket_inode(const struct inet_flow *f, int64_t uid)
{
	bool v4 = f->family == AF_INET;
	char la[40], ra[40], path[64];
	const char *kind;

	proc_addr(&f->src, v4, la, sizeof(la));
	proc_addr(&f->dst, v4, ra, sizeof(ra));
	switch (f->proto) {
	case IPPROTO_TCP:
		kind = "tcp";
		break;
	case IPPROTO_UDP:
		kind = "udp";
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		uint64_t ino;

		/* ping sockets: the "port" is the echo identifier */
		snprintf(path, sizeof(path), "/proc/net/%s", v4 ? "icmp" : "icmp6");
		ino = find_inode(path, la, f->sport, NULL, 0, uid);
		if (ino)
			return ino;
		/* raw sockets: the "port" is the protocol */
		snprintf(path, sizeof(path), "/proc/net/%s", v4 ? "raw" : "raw6");
		return find_inode(path, la, f->proto, NULL, 0, uid);
	}
	default:
		snprintf(path, sizeof(path), "/proc/net/%s", v4 ? "raw" : "raw6");
		return find_inode(path, la, f->proto, NULL, 0, uid);
	}
	snprintf(path, sizeof(path), "/proc/net/%s%s", kind, v4 ? "" : "6");
	return find_inode(path, la, f->sport, ra, f->dport, uid);
}

/* True if process pid holds socket inode. */
static bool holds(pid_t pid, uint64_t inode)
{
	char dir[64], link[64], want[48], path[320];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/* The network namespace a process is in (0 if it cannot be read). */
static ino_t netns_of(const char *proc_dir)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/ns/net", proc_dir);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * Only processes of uid in our network namespace can hold the socket
 * (/proc/net lists this namespace's sockets): others, such as another
 * host's on the same machine, are not looked into.
 */
static pid_t owner_of(uint64_t inode, int64_t uid)
{
	struct cache_entry *c = &cache[inode % CACHE_SLOTS];
	ino_t ours = netns_of("/proc/self");
	struct dirent *e;
	pid_t found = -1;
	unsigned seen = 0;
	DIR *d;

	if (c->inode == inode && holds(c->pid, inode))
		return c->pid;
	d = opendir("/proc");
	if (!d)
		return -1;
	while (found < 0 && seen++ < SCAN_MAX && (e = readdir(d))) {
		char path[64];
		struct stat st;
		pid_t pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (uid >= 0 && (stat(path, &st) < 0 || (int64_t)st.st_uid != uid))
			continue;
		if (ours && netns_of(path) != ours)
			continue;
		if (holds(pid, inode))
			found = pid;
	}
	closedir(d);
	if (found > 0) {
		c->inode = inode;
		c->pid = found;
	}
	return found;
}

static void read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

void capqueue_who_find(const struct inet_flow *f, int64_t uid, uint32_t indev,
		       struct capqueue_who *who)
{
	char path[64], name[IF_NAMESIZE];
	uint64_t inode;

	memset(who, 0, sizeof(*who));
	who->uid = uid;
	who->pid = -1;
	if (indev && if_indextoname(indev, name))
		snprintf(who->iif, sizeof(who->iif), "%s", name);
	if (uid >= 0) {
		struct passwd pw, *res = NULL;
		char buf[1024];

		if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
		    strlen(pw.pw_name) <= FLOWREC_LOGIN_MAX)
			snprintf(who->user, sizeof(who->user), "%s", pw.pw_name);
	}
	if (indev)
		return;	/* forwarded: no local socket */
	inode = socket_inode(f, uid);
	if (!inode)
		return;
	who->pid = owner_of(inode, uid);
	if (who->pid < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)who->pid);
	read_small(path, who->comm, sizeof(who->comm));
	snprintf(path, sizeof(path), "/proc/%lld/exe", (long long)who->pid);
	{
		ssize_t n = readlink(path, who->exe, sizeof(who->exe) - 1);

		who->exe[n > 0 ? n : 0] = '\0';
	}
}
