/*
 * tests/unit/check_kbpf_sock.c - attach mode's cgroup hooks and socket
 * iterator (kernel-bpf/attach.bpf.c) with real sockets. BPF_PROG_TEST_RUN
 * does not run these program types, so each test moves into a network
 * namespace of its own (unshare), attaches the hooks to the cgroup2 root
 * (they act in that namespace only: its cookie is in the settings) and
 * uses loopback addresses as the captun peer's:
 *
 *   this host: 127.0.0.1 (bit 1)     peer "host2": 127.0.0.3 and ::1 (bit 2)
 *
 * Each test's process ends with it, and its links with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <check.h>

#include "attach.skel.h"
#include "kbpf_test.h"
#include "suites.h"

static struct kbpf k;
static const char *skip_why;
static struct bpf_link *links[4];
static struct attach_event last;
static int nevents;

static int on_event(void *arg, const struct attach_event *e)
{
	last = *e;
	nevents++;
	return 0;
}

static void addr16(int family, const char *txt, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, txt, out + 12), 1);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, txt, out), 1);
	}
}

static void own(uint32_t epoch, bool reach_host2)
{
	uint64_t mask[ATTACH_MASK_WORDS] = { 0 };

	if (reach_host2)
		mask[0] = 1u << 2;
	ck_assert_int_eq(kbpf_own_set(&k, epoch, mask), 0);
}

static void peer_flags(uint16_t flags)
{
	struct attach_peer p = { .bit = 2, .flags = flags };
	uint8_t a[16];

	addr16(AF_INET, "127.0.0.3", a);
	ck_assert_int_eq(kbpf_peer_set(&k, a, &p), 0);
	addr16(AF_INET6, "::1", a);
	ck_assert_int_eq(kbpf_peer_set(&k, a, &p), 0);
}

static void lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void setup(void)
{
	struct attach_config c;
	char cg[4096] = "";
	int cg_fd;

	skip_why = kbpf_test_load(&k);
	if (skip_why)
		return;
	if (unshare(CLONE_NEWNET) != 0) {
		skip_why = "cannot make a network namespace";
		return;
	}
	lo_up();
	memset(&c, 0, sizeof(c));
	c.flags = ATTACH_F_ENABLED | ATTACH_F_HAS4 | ATTACH_F_HAS6;
	c.self_bit = 1;
	addr16(AF_INET, "127.0.0.1", c.self4);
	addr16(AF_INET6, "fd77::99", c.self6);
	{
		uint64_t cookie = 0;

		ck_assert_int_eq(kbpf_netns_cookie(&cookie), 0);
		c.netns_cookie = cookie;
	}
	ck_assert_int_eq(kbpf_config_set(&k, &c), 0);
	own(3, false);
	peer_flags(0);
	if (kbpf_cgroup2_root(cg, sizeof(cg)) < 0) {
		skip_why = "no cgroup2 hierarchy";
		return;
	}
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(cg_fd, 0);
	links[0] = bpf_program__attach_cgroup(k.skel->progs.captun_connect4, cg_fd);
	links[1] = bpf_program__attach_cgroup(k.skel->progs.captun_connect6, cg_fd);
	links[2] = bpf_program__attach_cgroup(k.skel->progs.captun_sendmsg4, cg_fd);
	links[3] = bpf_program__attach_cgroup(k.skel->progs.captun_sendmsg6, cg_fd);
	close(cg_fd);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(links[i]);
	ck_assert_int_eq(kbpf_events_open(&k, on_event, NULL), 0);
	nevents = 0;
}

static void teardown(void)
{
	for (int i = 0; i < 4; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	if (k.skel)
		kbpf_close(&k);
}

#define SKIP_IF_NEEDED() KBPF_SKIP_IF(skip_why)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* connect() to addr:port; 0 or errno. */
static int try_connect(int family, const char *addr, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0), ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		ret = errno;
	close(fd);
	return ret;
}

START_TEST(connect_refused_at_once_with_who)
{
	double t0, dt;

	SKIP_IF_NEEDED();
	t0 = now_us();
	ck_assert_int_eq(try_connect(AF_INET, "127.0.0.3", 80, SOCK_STREAM), EPERM);
	dt = now_us() - t0;
	printf("# connect() refused in %.0f us\n", dt);
	ck_assert_int_eq(kbpf_events_consume(&k) >= 0, 1);
	ck_assert_int_eq(nevents, 1);
	ck_assert_uint_eq(last.kind, EV_CONNECT_DENIED);
	ck_assert_uint_eq(last.pid, (uint32_t)getpid());
	ck_assert_uint_eq(last.uid, 0);
	ck_assert_uint_eq(last.dport, 80);
	ck_assert_uint_eq(last.peer_bit, 2);
	ck_assert_uint_eq(last.epoch, 3);
	ck_assert_uint_eq(last.family, AF_INET);
	ck_assert_uint_eq(last.dst[15], 3);
	ck_assert_uint_eq(last.src[15], 1);
	ck_assert_str_eq(last.comm, "captun-tests");
	/* IPv6, and v4-mapped on an IPv6 socket */
	ck_assert_int_eq(try_connect(AF_INET6, "::1", 80, SOCK_STREAM), EPERM);
	ck_assert_int_eq(try_connect(AF_INET6, "::ffff:127.0.0.3", 80, SOCK_STREAM), EPERM);
	/* not a captun host: the hooks stay out of it */
	ck_assert_int_eq(try_connect(AF_INET, "127.0.0.4", 80, SOCK_STREAM), ECONNREFUSED);
	/* with host2 in the capability: through (nobody listens) */
	own(4, true);
	ck_assert_int_eq(try_connect(AF_INET, "127.0.0.3", 80, SOCK_STREAM), ECONNREFUSED);
	ck_assert_int_eq(try_connect(AF_INET6, "::1", 80, SOCK_STREAM), ECONNREFUSED);
}
END_TEST

START_TEST(other_namespaces_untouched)
{
	pid_t pid;
	int st;

	SKIP_IF_NEEDED();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(2);
		lo_up();
		_exit(try_connect(AF_INET, "127.0.0.3", 80, SOCK_STREAM) == ECONNREFUSED ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "a connect() in another namespace was touched");
	ck_assert_int_eq(try_connect(AF_INET, "127.0.0.3", 80, SOCK_STREAM), EPERM);
}
END_TEST

static int send_udp(int fd, int family, const char *addr, uint16_t port)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	ssize_t n;

	if (family == AF_INET) {
		inet_pton(AF_INET, addr, &a4.sin_addr);
		n = sendto(fd, "x", 1, 0, (struct sockaddr *)&a4, sizeof(a4));
	} else {
		inet_pton(AF_INET6, addr, &a6.sin6_addr);
		n = sendto(fd, "x", 1, 0, (struct sockaddr *)&a6, sizeof(a6));
	}
	return n < 0 ? errno : 0;
}

START_TEST(sendmsg_refused_unless_a_reply)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(5353) };
	struct attach_ct_key key;
	struct attach_ct ct;
	int fd4 = socket(AF_INET, SOCK_DGRAM, 0), fd6 = socket(AF_INET6, SOCK_DGRAM, 0);

	SKIP_IF_NEEDED();
	ck_assert_int_eq(send_udp(fd4, AF_INET, "127.0.0.3", 7000), EPERM);
	ck_assert_int_eq(send_udp(fd6, AF_INET6, "::1", 7000), EPERM);
	ck_assert_int_eq(kbpf_events_consume(&k) >= 0, 1);
	ck_assert_int_eq(nevents, 2);
	ck_assert_uint_eq(last.kind, EV_SENDMSG_DENIED);
	ck_assert_uint_eq(last.proto, IPPROTO_UDP);
	/* a flow host2 opened to 127.0.0.1:5353: the answer goes out */
	close(fd4);
	fd4 = socket(AF_INET, SOCK_DGRAM, 0);	/* the refused send bound the first */
	inet_pton(AF_INET, "127.0.0.1", &me.sin_addr);
	ck_assert_int_eq(bind(fd4, (struct sockaddr *)&me, sizeof(me)), 0);
	memset(&key, 0, sizeof(key));
	memset(&ct, 0, sizeof(ct));
	addr16(AF_INET, "127.0.0.1", key.a);
	addr16(AF_INET, "127.0.0.3", key.b);
	key.pa = 5353;
	key.pb = 7000;
	key.proto = IPPROTO_UDP;
	ct.opener = CT_OPENED_BY_PEER;
	ct.peer_bit = 2;
	ct.last_ns = (uint64_t)(now_us() * 1000);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(k.skel->maps.conntrack), &key, &ct,
					     BPF_ANY), 0);
	ck_assert_int_eq(send_udp(fd4, AF_INET, "127.0.0.3", 7000), 0);
	ck_assert_int_eq(send_udp(fd4, AF_INET, "127.0.0.3", 7001), EPERM);
	/* the flow opened by us is no licence */
	ct.opener = CT_OPENED_BY_US;
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(k.skel->maps.conntrack), &key, &ct,
					     BPF_ANY), 0);
	ck_assert_int_eq(send_udp(fd4, AF_INET, "127.0.0.3", 7000), EPERM);
	close(fd4);
	close(fd6);
}
END_TEST

/* A connected pair client -> 127.0.0.3:8080; the client's fd. */
static int tcp_pair(int *server, int *listener)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8080) };
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.3", &a.sin_addr);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept(l, NULL, NULL);
	ck_assert_int_ge(*server, 0);
	*listener = l;
	return c;
}

START_TEST(iterator_aborts_forbidden_connections)
{
	int c, s, l;
	char b;

	SKIP_IF_NEEDED();
	ck_assert_ptr_nonnull(k.iter);
	own(4, true);
	c = tcp_pair(&s, &l);
	/* still allowed one way: host2 reaches us, no flow record */
	own(5, false);
	peer_flags(PEER_F_REACHES_US);
	ck_assert_int_eq(kbpf_sockets_sweep(&k), 0);
	ck_assert_int_eq(send(c, "a", 1, MSG_NOSIGNAL), 1);
	ck_assert_int_eq(recv(s, &b, 1, 0), 1);
	/* neither way: aborted */
	peer_flags(0);
	ck_assert_int_eq(kbpf_sockets_sweep(&k), 0);
	ck_assert_int_eq(recv(c, &b, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, ECONNABORTED);
	close(c);
	close(s);
	close(l);
	/* a flow we opened: aborted when our capability loses host2, whoever reaches us */
	own(6, true);
	c = tcp_pair(&s, &l);
	{
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		struct attach_ct_key key;
		struct attach_ct ct = { .opener = CT_OPENED_BY_US, .peer_bit = 2 };

		ck_assert_int_eq(getsockname(c, (struct sockaddr *)&me, &ml), 0);
		memset(&key, 0, sizeof(key));
		addr16(AF_INET, "127.0.0.1", key.a);
		addr16(AF_INET, "127.0.0.3", key.b);
		key.pa = ntohs(me.sin_port);
		key.pb = 8080;
		key.proto = IPPROTO_TCP;
		ct.last_ns = (uint64_t)(now_us() * 1000);
		ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(k.skel->maps.conntrack), &key,
						     &ct, BPF_ANY), 0);
	}
	peer_flags(PEER_F_REACHES_US);
	own(7, false);
	ck_assert_int_eq(kbpf_sockets_sweep(&k), 0);
	ck_assert_int_eq(recv(c, &b, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, ECONNABORTED);
	close(c);
	close(s);
	close(l);
}
END_TEST

void kbpf_sock_tcases(Suite *s)
{
	TCase *tc = tcase_create("sock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, connect_refused_at_once_with_who);
	tcase_add_test(tc, other_namespaces_untouched);
	tcase_add_test(tc, sendmsg_refused_unless_a_reply);
	tcase_add_test(tc, iterator_aborts_forbidden_connections);
	suite_add_tcase(s, tc);
}
