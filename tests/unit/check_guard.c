/*
 * tests/unit/check_guard.c - capshim's underlay guard (shim/guard.c): the
 * --underlay-allow grammar (every malformed entry refused, host bits
 * cleared), the ruleset it generates (peers of both families, exceptions,
 * the table named after the interface), the helper's answers checked, and
 * then the real thing in a network namespace of the test's own: the
 * helper installs the table with nft, keeps CAP_NET_ADMIN alone, deletes
 * the table at a clean stop, and leaves it in place when capshim dies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "shim.h"
#include "suites.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *spec;
	bool ok;
	const char *nft;	/* the match it becomes, or a part of the error */
} allow_cases[] = {
	{ "tcp/22", true, "tcp dport 22" },
	{ "udp/53", true, "udp dport 53" },
	{ "tcp/22@192.0.2.0/24", true, "ip saddr 192.0.2.0/24 tcp dport 22" },
	{ "tcp/22@192.0.2.77/24", true, "ip saddr 192.0.2.0/24 tcp dport 22" },
	{ "tcp/22@10.99.255.254", true, "ip saddr 10.99.255.254/32 tcp dport 22" },
	{ "udp/51900@fd99::/64", true, "ip6 saddr fd99::/64 udp dport 51900" },
	{ "tcp/8000-8080@2001:db8::1/127", true, "ip6 saddr 2001:db8::/127 tcp dport 8000-8080" },
	{ "tcp/1@0.0.0.0/0", true, "ip saddr 0.0.0.0/0 tcp dport 1" },
	{ "tcp/65535", true, "tcp dport 65535" },
	{ "icmp/0", false, "tcp or udp" },
	{ "TCP/22", false, "tcp or udp" },
	{ "tcp", false, "PROTO/PORT" },
	{ "tcp/", false, "1..65535" },
	{ "tcp/0", false, "1..65535" },
	{ "tcp/65536", false, "1..65535" },
	{ "tcp/22x", false, "1..65535" },
	{ "tcp/-22", false, "LOW-HIGH" },
	{ "tcp/30-20", false, "LOW-HIGH" },
	{ "tcp/22@", false, "not an IPv4 or IPv6" },
	{ "tcp/22@host2", false, "not an IPv4 or IPv6" },
	{ "tcp/22@192.0.2.0/33", false, "0..32" },
	{ "tcp/22@fd99::/129", false, "0..128" },
	{ "tcp/22@192.0.2.0/", false, "prefix" },
	{ "tcp/22@192.0.2.0/2x", false, "prefix" },
	{ "tcp/22@192.0.2.0/24 ; flush ruleset", false, "prefix" },
	{ "tcp/22@1.2.3.4\n", false, "not an IPv4" },
};

START_TEST(test_allow)
{
	struct shim_guard_allow a;
	char err[256] = "", out[256] = "";

	ck_assert_msg(shim_guard_allow_parse(allow_cases[_i].spec, &a, err, sizeof(err)) ==
		      allow_cases[_i].ok, "%s: %s", allow_cases[_i].spec, err);
	if (allow_cases[_i].ok) {
		ck_assert_int_gt(shim_guard_allow_format(&a, out, sizeof(out)), 0);
		ck_assert_str_eq(out, allow_cases[_i].nft);
	} else {
		ck_assert_msg(strstr(err, allow_cases[_i].nft), "%s: '%s' lacks '%s'",
			      allow_cases[_i].spec, err, allow_cases[_i].nft);
	}
}
END_TEST

START_TEST(test_allow_long)
{
	char spec[SHIM_GUARD_SPEC_MAX + 8], err[128];
	struct shim_guard_allow a;

	memset(spec, '1', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	memcpy(spec, "tcp/22@", 7);
	ck_assert(!shim_guard_allow_parse(spec, &a, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

static void sa4(struct sockaddr_storage *ss, const char *addr)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(51900);
	ck_assert_int_eq(inet_pton(AF_INET, addr, &s->sin_addr), 1);
}

static void sa6(struct sockaddr_storage *ss, const char *addr)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(51900);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &s->sin6_addr), 1);
}

START_TEST(test_ruleset)
{
	static const char want[] =
		"add table inet captun_guard_cap_0\n"
		"delete table inet captun_guard_cap_0\n"
		"table inet captun_guard_cap_0 {\n"
		"\tcounter dropped { }\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter - 10; policy accept;\n"
		"\t\tiifname { \"lo\", \"cap-0\" } accept\n"
		"\t\tct state established,related accept\n"
		"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
		"nd-neighbor-advert, nd-redirect } accept\n"
		"\t\tip saddr { 10.99.0.3, 10.99.0.4 } udp dport 4242 accept\n"
		"\t\tip6 saddr { fd99::5 } udp dport 4242 accept\n"
		"\t\tip saddr 192.0.2.0/24 tcp dport 22 accept\n"
		"\t\tcounter name \"dropped\" drop\n"
		"\t}\n"
		"}\n";
	struct sockaddr_storage peers[3];
	struct shim_guard_allow allow;
	char out[4096], err[64];
	int len;

	sa4(&peers[0], "10.99.0.3");
	sa6(&peers[1], "fd99::5");
	sa4(&peers[2], "10.99.0.4");
	ck_assert(shim_guard_allow_parse("tcp/22@192.0.2.1/24", &allow, err, sizeof(err)));
	len = shim_guard_ruleset("cap-0", 4242, peers, 3, &allow, 1, out, sizeof(out));
	ck_assert_int_eq(len, (int)strlen(want));
	ck_assert_str_eq(out, want);
	/* no peers of a family: no rule with an empty set (nft refuses those) */
	len = shim_guard_ruleset("cap0", 51900, peers, 1, NULL, 0, out, sizeof(out));
	ck_assert_int_gt(len, 0);
	ck_assert_ptr_null(strstr(out, "ip6 saddr"));
	ck_assert_ptr_nonnull(strstr(out, "ip saddr { 10.99.0.3 } udp dport 51900 accept"));
	/* an interface name that would break out of nft's quotes */
	ck_assert_int_eq(shim_guard_ruleset("c\"ap", 1, peers, 1, NULL, 0, out, sizeof(out)),
			 -EINVAL);
	ck_assert_int_eq(shim_guard_ruleset("", 1, peers, 1, NULL, 0, out, sizeof(out)), -EINVAL);
	/* too small a buffer: refused whole, never cut */
	ck_assert_int_eq(shim_guard_ruleset("cap0", 51900, peers, 3, &allow, 1, out, 200),
			 -ENOSPC);
	ck_assert_int_eq(shim_guard_ruleset("cap0", 51900, peers, 3, &allow, 1, out, 0),
			 -ENOSPC);
}
END_TEST

START_TEST(test_ack)
{
	struct shim_guard_ack a = { .version = SHIM_GUARD_VERSION, .status = 0 };

	ck_assert(shim_guard_ack_check(&a, sizeof(a)));
	ck_assert(!shim_guard_ack_check(&a, sizeof(a) - 1));
	a.status = -EIO;
	ck_assert(shim_guard_ack_check(&a, sizeof(a)));
	a.status = 1;
	ck_assert(!shim_guard_ack_check(&a, sizeof(a)));
	a.status = 0;
	a.version = 2;
	ck_assert(!shim_guard_ack_check(&a, sizeof(a)));
	a.version = SHIM_GUARD_VERSION;
	memset(a.text, 'x', sizeof(a.text));		/* no NUL */
	ck_assert(!shim_guard_ack_check(&a, sizeof(a)));
}
END_TEST

/* What `nft list tables` shows in this process's namespace. */
static bool table_present(const char *name)
{
	char line[256];
	bool found = false;
	FILE *f = popen("nft list tables 2>/dev/null", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			found = true;
	pclose(f);
	return found;
}

static bool have_nft(void)
{
	return access("/usr/sbin/nft", X_OK) == 0 || access("/sbin/nft", X_OK) == 0;
}

/* The helper, for real, in a namespace of this test's own. */
START_TEST(test_helper)
{
	static struct shim s;
	static struct peer peer;
	char path[64], line[256];
	FILE *f;
	bool capeff = false;

	ck_assert_msg(geteuid() == 0, "the guard needs root (a network namespace): run as root");
	ck_assert_msg(have_nft(), "nft(8) is needed (make deps: nftables)");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	snprintf(s.tun.name, sizeof(s.tun.name), "cap0");
	s.cfg.port = 51900;
	s.cfg.guard.on = true;
	ck_assert(shim_guard_allow_parse("tcp/22@192.0.2.0/24", &s.cfg.guard.allow[0], line,
					 sizeof(line)));
	s.cfg.guard.nallow = 1;
	sa4(&peer.endpoint, "10.99.0.3");
	peer.endpoint_len = sizeof(struct sockaddr_in);
	s.peers = &peer;
	s.npeers = 1;
	ck_assert_int_eq(shim_guard_start(&s), 0);
	ck_assert(table_present("captun_guard_cap0"));
	ck_assert_int_gt(s.guard.pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s.guard.pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strcmp(line, "CapEff:\t0000000000001000\n") == 0)	/* CAP_NET_ADMIN */
			capeff = true;
	fclose(f);
	ck_assert_msg(capeff, "the helper must hold CAP_NET_ADMIN alone");
	shim_guard_stop(&s);
	ck_assert(!table_present("captun_guard_cap0"));
	ck_assert_int_eq(s.guard.fd, -1);
	shim_guard_stop(&s);		/* twice: nothing to do */

	/* capshim gone without a word: the helper leaves the table (fail closed) */
	ck_assert_int_eq(shim_guard_start(&s), 0);
	close(s.guard.fd);
	waitpid(s.guard.pid, NULL, 0);
	ck_assert(table_present("captun_guard_cap0"));
	/* a restart replaces it whole */
	ck_assert_int_eq(shim_guard_start(&s), 0);
	shim_guard_stop(&s);
	ck_assert(!table_present("captun_guard_cap0"));

	/* off: nothing installed, nothing to stop */
	s.cfg.guard.on = false;
	ck_assert_int_eq(shim_guard_start(&s), 0);
	ck_assert_int_eq(s.guard.fd, -1);
	ck_assert(!table_present("captun_guard"));
}
END_TEST

Suite *suite_guard(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_allow, 0, (int)N_ELEM(allow_cases));
	tcase_add_test(tc, test_allow_long);
	tcase_add_test(tc, test_ruleset);
	tcase_add_test(tc, test_ack);
	suite_add_tcase(s, tc);
	tc = tcase_create("helper");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_helper);
	suite_add_tcase(s, tc);
	return s;
}
