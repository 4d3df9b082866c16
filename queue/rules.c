/*
 * queue/rules.c - the netfilter rules that hand capqueue the first packet
 * of every new flow towards the overlay, for IPv4 and IPv6, in a chain of
 * their own (CAPQ-IFNAME) jumped to from OUTPUT (local senders) and
 * FORWARD (routed traffic):
 *
 *   -m mark --mark M/M -p tcp -j REJECT --reject-with tcp-reset
 *   -m mark --mark M/M        -j REJECT --reject-with icmp-admin-prohibited
 *   -m conntrack --ctstate NEW -j NFQUEUE --queue-num N [--queue-bypass]
 *
 * A refused packet comes back marked (NF_REPEAT) and meets the REJECT
 * rules: the application gets ECONNREFUSED / EHOSTUNREACH at once instead
 * of waiting through retries. The rules stay when capqueue stops, so that
 * new flows keep failing closed; --remove-rules takes them away. iptables
 * here is the nf_tables-based one, whose NFQUEUE target works (a native
 * nft queue rule does not on kernels without CONFIG_NFT_QUEUE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "capqueue.h"

/* Runs argv quietly; its exit status, or -errno. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void chain_name(const struct capqueue_config *cfg, char out[32])
{
	snprintf(out, 32, "CAPQ-%s", cfg->ifname);
}

static int family(const struct capqueue_config *cfg, const char *tool, bool v6)
{
	char chain[32], mark[32], num[16];
	int ret;

	chain_name(cfg, chain);
	snprintf(mark, sizeof(mark), "0x%x/0x%x", cfg->mark, cfg->mark);
	snprintf(num, sizeof(num), "%u", cfg->num);
	{
		char *const mk[] = { (char *)tool, "-w", "-N", chain, NULL };
		char *const fl[] = { (char *)tool, "-w", "-F", chain, NULL };

		run(mk);	/* exists already: fine, it is flushed next */
		if ((ret = run(fl)) != 0)
			return ret < 0 ? ret : -EIO;
	}
	{
		char *const rst[] = { (char *)tool, "-w", "-A", chain, "-m", "mark", "--mark", mark,
				      "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset",
				      NULL };
		char *const icmp[] = { (char *)tool, "-w", "-A", chain, "-m", "mark", "--mark",
				       mark, "-j", "REJECT", "--reject-with",
				       v6 ? "icmp6-adm-prohibited" : "icmp-admin-prohibited",
				       NULL };
		char *const q[] = { (char *)tool, "-w", "-A", chain, "-m", "conntrack",
				    "--ctstate", "NEW", "-j", "NFQUEUE", "--queue-num", num,
				    cfg->bypass ? "--queue-bypass" : NULL, NULL };

		if ((ret = run(rst)) != 0 || (ret = run(icmp)) != 0 || (ret = run(q)) != 0)
			return ret < 0 ? ret : -EIO;
	}
	for (int hook = 0; hook < 2; hook++) {
		char *name = hook ? "FORWARD" : "OUTPUT";
		char *const chk[] = { (char *)tool, "-w", "-C", name, "-o", (char *)cfg->ifname,
				      "-j", chain, NULL };
		char *const ins[] = { (char *)tool, "-w", "-I", name, "1", "-o",
				      (char *)cfg->ifname, "-j", chain, NULL };

		if (run(chk) != 0 && (ret = run(ins)) != 0)
			return ret < 0 ? ret : -EIO;
	}
	return 0;
}

int capqueue_rules_install(const struct capqueue_config *cfg)
{
	int ret = family(cfg, "iptables", false);

	if (ret < 0) {
		capqueue_log(LOG_ERR, "iptables: cannot install the rules of chain CAPQ-%s "
			     "(is iptables installed, with NFQUEUE and conntrack support?)",
			     cfg->ifname);
		return ret;
	}
	ret = family(cfg, "ip6tables", true);
	if (ret < 0)
		capqueue_log(LOG_ERR, "ip6tables: cannot install the rules of chain CAPQ-%s",
			     cfg->ifname);
	return ret;
}

int capqueue_rules_remove(const struct capqueue_config *cfg)
{
	static const char *const tools[] = { "iptables", "ip6tables" };
	char chain[32];
	int bad = 0;

	chain_name(cfg, chain);
	for (int t = 0; t < 2; t++) {
		for (int hook = 0; hook < 2; hook++) {
			char *const del[] = { (char *)tools[t], "-w", "-D",
					      hook ? "FORWARD" : "OUTPUT", "-o",
					      (char *)cfg->ifname, "-j", chain, NULL };

			while (run(del) == 0)
				;
		}
		{
			char *const fl[] = { (char *)tools[t], "-w", "-F", chain, NULL };
			char *const x[] = { (char *)tools[t], "-w", "-X", chain, NULL };

			run(fl);
			bad |= run(x) != 0;
		}
	}
	return bad ? -ENOENT : 0;
}
