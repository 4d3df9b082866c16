/*
 * shim/guard.c - the underlay guard: with --underlay-guard, capshim closes
 * this host's underlay to everything but the tunnel.
 *
 * captun's promise holds for traffic that goes through the tunnel. A
 * service that answers on an underlay address is reached around it, by
 * anyone on the underlay, whatever their capability. The guard is one
 * nftables table in capshim's network namespace, "inet captun_guard_IF",
 * with one input chain that accepts
 *   - loopback and the TUN interface IF (the overlay, judged by capshim);
 *   - replies to the host's own connections (ct established,related);
 *   - IPv6 neighbour and router discovery (ICMPv6 133-137), without which
 *     no IPv6 underlay works;
 *   - UDP to capshim's port from each peer's underlay address (its
 *     endpoint in policy.json);
 *   - the admin's exceptions, --underlay-allow PROTO/PORT[-PORT][@ADDR/PLEN]
 *     (e.g. tcp/22@192.0.2.0/24 for a management network);
 * and drops everything else, counted in the table's counter "dropped"
 * (`nft list counter inet captun_guard_IF dropped`). Packets the host
 * sends are not filtered.
 *
 * The rules are installed while capshim still holds its capabilities. The
 * peers and their endpoints are fixed for a capshim's life (policy.json is
 * read at start; reload only re-verifies tokens; there is no roaming), so
 * the rules never change while it runs: a new host means a restart, which
 * installs them again. Removing them at a clean stop needs CAP_NET_ADMIN,
 * which capshim no longer has by then: so before it drops its privileges
 * it forks a helper that keeps CAP_NET_ADMIN alone (bounding set emptied,
 * no_new_privs, every other descriptor closed), installs the table, and
 * then only waits. Asked to (capshim stopping cleanly) it deletes the
 * table; if capshim dies instead, it leaves the table in place (fail
 * closed: no service is exposed because the tunnel crashed) and exits. A
 * restarted capshim replaces the table atomically.
 *
 * nft(8) does the work: the helper runs `nft -f -` with the ruleset on its
 * standard input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "shim.h"

enum guard_const {
	HELPER_FD = 3,
	ACK_TIMEOUT_MS = 15000,
	NFT_OUT_MAX = SHIM_GUARD_TEXT_MAX - 1,
};

static const char *const nft_paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft" };

__attribute__((format(printf, 3, 4)))
static bool fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return false;
}

/* A decimal port 1..65535, all of text. */
static bool port_parse(const char *text, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* Clears the host bits of addr beyond plen. */
static void mask_host_bits(uint8_t *addr, size_t len, unsigned plen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = plen > 8 * i ? plen - 8 * (unsigned)i : 0;

		if (keep < 8)
			addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/*
 * PROTO/PORT[-PORT][@ADDR[/PLEN]]: PROTO tcp or udp; without @ any source
 * may reach the port. The network address keeps only its prefix bits.
 */
bool shim_guard_allow_parse(const char *spec, struct shim_guard_allow *a,
			    char *err, size_t errcap)
{
	char addr[SHIM_GUARD_SPEC_MAX];
	const char *slash, *at, *dash, *ports;
	size_t plen_max;

	memset(a, 0, sizeof(*a));
	if (strlen(spec) >= SHIM_GUARD_SPEC_MAX)
		return fail(err, errcap, "'%.40s...' is too long", spec);
	slash = strchr(spec, '/');
	if (!slash)
		return fail(err, errcap, "'%s' wants PROTO/PORT[@ADDR[/PLEN]], e.g. "
			    "tcp/22@192.0.2.0/24", spec);
	if ((size_t)(slash - spec) == 3 && strncmp(spec, "tcp", 3) == 0)
		a->proto = IPPROTO_TCP;
	else if ((size_t)(slash - spec) == 3 && strncmp(spec, "udp", 3) == 0)
		a->proto = IPPROTO_UDP;
	else
		return fail(err, errcap, "'%s': the protocol must be tcp or udp", spec);
	ports = slash + 1;
	at = strchr(ports, '@');
	dash = memchr(ports, '-', at ? (size_t)(at - ports) : strlen(ports));
	if (dash) {
		if (!port_parse(ports, (size_t)(dash - ports), &a->port_lo) ||
		    !port_parse(dash + 1, at ? (size_t)(at - dash - 1) : strlen(dash + 1),
				&a->port_hi) || a->port_hi < a->port_lo)
			return fail(err, errcap, "'%s': ports must be 1..65535, LOW-HIGH in order",
				    spec);
	} else {
		if (!port_parse(ports, at ? (size_t)(at - ports) : strlen(ports), &a->port_lo))
			return fail(err, errcap, "'%s': the port must be 1..65535", spec);
		a->port_hi = a->port_lo;
	}
	a->family = AF_UNSPEC;
	if (!at)
		return true;
	memcpy(addr, at + 1, strlen(at + 1) + 1);
	slash = strchr(addr, '/');
	if (slash)
		addr[slash - addr] = '\0';
	if (inet_pton(AF_INET, addr, a->addr) == 1) {
		a->family = AF_INET;
		plen_max = 32;
	} else if (inet_pton(AF_INET6, addr, a->addr) == 1) {
		a->family = AF_INET6;
		plen_max = 128;
	} else {
		return fail(err, errcap, "'%s': '%s' is not an IPv4 or IPv6 address", spec, addr);
	}
	a->plen = (uint8_t)plen_max;
	if (slash) {
		const char *p = at + 1 + (slash - addr) + 1;
		unsigned long v = 0;

		if (!*p || strlen(p) > 3)
			return fail(err, errcap, "'%s': bad prefix length", spec);
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return fail(err, errcap, "'%s': bad prefix length", spec);
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v > plen_max)
			return fail(err, errcap, "'%s': the prefix length must be 0..%zu", spec,
				    plen_max);
		a->plen = (uint8_t)v;
	}
	mask_host_bits(a->addr, plen_max / 8, a->plen);
	return true;
}

/* The nft match of an exception: "ip saddr 192.0.2.0/24 tcp dport 22". */
int shim_guard_allow_format(const struct shim_guard_allow *a, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN] = "", src[INET6_ADDRSTRLEN + 32] = "", ports[16];
	const char *proto = a->proto == IPPROTO_TCP ? "tcp" : "udp";
	int n;

	if (a->family != AF_UNSPEC) {
		inet_ntop(a->family, a->addr, addr, sizeof(addr));
		snprintf(src, sizeof(src), "%s saddr %s/%u ", a->family == AF_INET ? "ip" : "ip6",
			 addr, a->plen);
	}
	if (a->port_lo == a->port_hi)
		snprintf(ports, sizeof(ports), "%u", a->port_lo);
	else
		snprintf(ports, sizeof(ports), "%u-%u", a->port_lo, a->port_hi);
	n = snprintf(out, cap, "%s%s dport %s", src, proto, ports);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* "captun_guard_" and the interface name, other bytes than [A-Za-z0-9_] as '_'. */
void shim_guard_table_name(const char *ifname, char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "captun_guard_%s", ifname);

	for (size_t i = 13; i < len && i < cap; i++) {
		char c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			out[i] = '_';
	}
}

struct buf {
	char *p;
	size_t cap, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->full = true;
		return;
	}
	b->len += (size_t)n;
}

/* "ip saddr { A, B } udp dport P accept" for the peers of one family. */
static void peers_rule(struct buf *b, int family, uint16_t port,
		       const struct sockaddr_storage *peers, size_t npeers)
{
	char addr[INET6_ADDRSTRLEN];
	size_t n = 0;

	for (size_t i = 0; i < npeers; i++) {
		const void *src;

		if (peers[i].ss_family != family)
			continue;
		src = family == AF_INET ?
			(const void *)&((const struct sockaddr_in *)&peers[i])->sin_addr :
			(const void *)&((const struct sockaddr_in6 *)&peers[i])->sin6_addr;
		inet_ntop(family, src, addr, sizeof(addr));
		put(b, "%s%s", n++ ? ", " : family == AF_INET ? "\t\tip saddr { " :
			"\t\tip6 saddr { ", addr);
	}
	if (n)
		put(b, " } udp dport %u accept\n", port);
}

/*
 * The whole ruleset, as one nft transaction that replaces any table of the
 * same name (a restart): length, -ENOSPC if cap is too small, -EINVAL for an
 * interface name with other bytes than [A-Za-z0-9_.-].
 */
int shim_guard_ruleset(const char *ifname, uint16_t port,
		       const struct sockaddr_storage *peers, size_t npeers,
		       const struct shim_guard_allow *allow, size_t nallow,
		       char *out, size_t cap)
{
	struct buf b = { out, cap, 0, cap == 0 };
	char table[SHIM_GUARD_TABLE_MAX], match[256];

	/* the name goes into nft's text between quotes: plain bytes only */
	if (!*ifname || strspn(ifname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_.-") != strlen(ifname))
		return -EINVAL;
	shim_guard_table_name(ifname, table, sizeof(table));
	put(&b, "add table inet %s\ndelete table inet %s\n", table, table);
	put(&b, "table inet %s {\n\tcounter dropped { }\n\tchain input {\n"
		"\t\ttype filter hook input priority filter - 10; policy accept;\n"
		"\t\tiifname { \"lo\", \"%s\" } accept\n"
		"\t\tct state established,related accept\n"
		"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
		"nd-neighbor-advert, nd-redirect } accept\n", table, ifname);
	peers_rule(&b, AF_INET, port, peers, npeers);
	peers_rule(&b, AF_INET6, port, peers, npeers);
	for (size_t i = 0; i < nallow; i++) {
		if (shim_guard_allow_format(&allow[i], match, sizeof(match)) < 0)
			return -ENOSPC;
		put(&b, "\t\t%s accept\n", match);
	}
	put(&b, "\t\tcounter name \"dropped\" drop\n\t}\n}\n");
	return b.full ? -ENOSPC : (int)b.len;
}

bool shim_guard_ack_check(const void *buf, size_t len)
{
	const struct shim_guard_ack *a = buf;

	return len == sizeof(*a) && a->version == SHIM_GUARD_VERSION && a->status <= 0 &&
	       memchr(a->text, '\0', sizeof(a->text)) != NULL;
}

/*
 * Runs `nft -f -` with text on its standard input. 0, or -errno with what
 * nft said in msg.
 */
static int nft_run(const char *text, size_t len, char *msg, size_t cap)
{
	const char *path = NULL;
	int in[2], out[2], status = 0;
	size_t got = 0;
	pid_t pid;

	msg[0] = '\0';
	for (size_t i = 0; i < sizeof(nft_paths) / sizeof(nft_paths[0]) && !path; i++)
		if (access(nft_paths[i], X_OK) == 0)
			path = nft_paths[i];
	if (!path) {
		snprintf(msg, cap, "nft(8) not found (install nftables)");
		return -ENOENT;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
		char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(127);
		execve(path, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return -EAGAIN;
	}
	for (size_t done = 0; done < len;) {
		ssize_t n = write(in[1], text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(in[1]);
	for (;;) {
		ssize_t n = read(out[0], msg + got, cap - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == cap - 1) {
			char sink[256];

			while (read(out[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	msg[got] = '\0';
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (char *p = msg; *p; p++)
		if (*p == '\n' && p[1])
			*p = ' ';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!got)
		snprintf(msg, cap, "nft exited with status %d", WIFEXITED(status) ?
			 WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return -EIO;
}

static void ack_send(int status, const char *text)
{
	struct shim_guard_ack a = { .version = SHIM_GUARD_VERSION, .status = status };

	snprintf(a.text, sizeof(a.text), "%s", text);
	send(HELPER_FD, &a, sizeof(a), MSG_NOSIGNAL);
}

/* The helper: install, then wait for capshim's word or its end. */
static __attribute__((noreturn)) void helper_main(int fd, const char *rules, size_t len,
						  const char *table)
{
	char msg[NFT_OUT_MAX + 1], del[128];
	struct shim_guard_req req;
	int ret;

	prctl(PR_SET_NAME, "capshim-guard", 0, 0, 0);
	if (dup2(fd, HELPER_FD) < 0)
		_exit(1);
	if (syscall(SYS_close_range, HELPER_FD + 1, ~0U, 0) < 0)
		_exit(1);
	ret = daemon_privileges_only(CAP_NET_ADMIN);
	if (ret < 0) {
		ack_send(ret, "the guard's helper cannot keep CAP_NET_ADMIN");
		_exit(1);
	}
	ret = nft_run(rules, len, msg, sizeof(msg));
	ack_send(ret, msg);
	if (ret < 0)
		_exit(1);
	for (;;) {
		ssize_t n = recv(HELPER_FD, &req, sizeof(req), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);	/* capshim died: the rules stay (fail closed) */
		if (n != sizeof(req) || req.version != SHIM_GUARD_VERSION ||
		    req.op != SHIM_GUARD_OP_REMOVE)
			_exit(1);
		snprintf(del, sizeof(del), "delete table inet %s\n", table);
		ret = nft_run(del, strlen(del), msg, sizeof(msg));
		ack_send(ret, msg);
		_exit(ret < 0);
	}
}

/* The helper's answer, within ACK_TIMEOUT_MS. */
static int ack_wait(int fd, struct shim_guard_ack *a)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, ACK_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r == 0 ? -ETIMEDOUT : -errno;
	n = recv(fd, a, sizeof(*a), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if (!shim_guard_ack_check(a, (size_t)n)) {
		a->text[0] = '\0';
		return -EBADMSG;
	}
	return a->status;
}

static void reap(struct shim_guard *g)
{
	if (g->pid > 0)
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
	g->pid = 0;
}

/*
 * With --underlay-guard: the rules in place, through the helper, before
 * capshim drops its privileges. 0, or -errno (capshim must not run
 * without the guard it was asked for).
 */
int shim_guard_start(struct shim *s)
{
	struct shim_guard *g = &s->guard;
	struct sockaddr_storage peers[256];
	struct shim_guard_ack ack = { 0 };
	size_t npeers = 0;
	char *rules;
	int len, ret;

	g->fd = -1;
	g->pid = 0;
	shim_guard_table_name(s->tun.name, g->table, sizeof(g->table));
	if (!s->cfg.guard.on)
		return 0;
	for (size_t i = 0; i < s->npeers && npeers < sizeof(peers) / sizeof(peers[0]); i++)
		if (s->peers[i].endpoint_len)
			peers[npeers++] = s->peers[i].endpoint;
	if (npeers < s->npeers)
		shim_log(LOG_WARNING, "underlay guard: %zu of %zu peers have no endpoint (or too "
			 "many): their tunnel traffic is dropped", s->npeers - npeers, s->npeers);
	rules = malloc(SHIM_GUARD_RULES_MAX);
	if (!rules)
		return -ENOMEM;
	len = shim_guard_ruleset(s->tun.name, s->cfg.port, peers, npeers, s->cfg.guard.allow,
				 s->cfg.guard.nallow, rules, SHIM_GUARD_RULES_MAX);
	if (len < 0) {
		shim_log(LOG_ERR, "underlay guard: %s", len == -EINVAL ?
			 "the interface name has other bytes than [A-Za-z0-9_.-]" :
			 "too many peers and exceptions for one ruleset");
		free(rules);
		return len;
	}
	ret = daemon_helper_start(&g->fd, &g->pid);
	if (ret == 0 && g->pid == 0)
		helper_main(g->fd, rules, (size_t)len, g->table);
	free(rules);
	if (ret < 0)
		return ret;
	ret = ack_wait(g->fd, &ack);
	if (ret < 0) {
		shim_log(LOG_ERR, "underlay guard: installing table inet %s: %s%s%s", g->table,
			 strerror(-ret), ack.text[0] ? ": " : "", ack.text);
		close(g->fd);
		g->fd = -1;
		reap(g);
		return ret;
	}
	shim_log(LOG_INFO, "underlay guard: table inet %s in place (%zu peers on UDP %u, %zu "
		 "exceptions)", g->table, npeers, s->cfg.port, s->cfg.guard.nallow);
	return 0;
}

/* A clean stop: the helper deletes the table; capshim waits for it. */
void shim_guard_stop(struct shim *s)
{
	struct shim_guard *g = &s->guard;
	struct shim_guard_req req = { SHIM_GUARD_VERSION, SHIM_GUARD_OP_REMOVE };
	struct shim_guard_ack ack = { 0 };
	int ret;

	if (g->fd < 0)
		return;
	ret = send(g->fd, &req, sizeof(req), MSG_NOSIGNAL) < 0 ? -errno : ack_wait(g->fd, &ack);
	if (ret < 0)
		shim_log(LOG_ERR, "underlay guard: removing table inet %s: %s%s%s", g->table,
			 strerror(-ret), ack.text[0] ? ": " : "", ack.text);
	else
		shim_log(LOG_INFO, "underlay guard: table inet %s removed", g->table);
	close(g->fd);
	g->fd = -1;
	reap(g);
}
