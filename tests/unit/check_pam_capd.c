/*
 * tests/unit/check_pam_capd.c - the libpam-free parts of pam_capd: option
 * parsing (tools/pam_capd/pamcfg.c), the request lines it sends, capd's
 * answers it reads, log text cleaning, and the socket client
 * (capdclient.c) against a fake capd in a child process: answers whole or
 * in pieces, hangs, hang-ups, missing sockets and oversized answers.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/pam_capd/capdclient.h"
#include "../../tools/pam_capd/pamcfg.h"
#include "suites.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- options ----------------------------------------------------------- */

struct args_case {
	const char *argv[4];
	int ret;
	const char *socket;	/* on success */
	int timeout_ms;
	enum pamcfg_on_error on_error;
	const char *err;	/* on failure: a part of the reason */
};

#define DEF PAMCFG_SOCKET_DEFAULT
#define LONG_PATH "socket=/" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	/* longer than sun_path */

static const struct args_case args_cases[] = {
	{ { NULL }, 0, DEF, 2000, PAMCFG_ON_ERROR_REFUSE, NULL },
	{ { "socket=/run/x.sock" }, 0, "/run/x.sock", 2000, PAMCFG_ON_ERROR_REFUSE, NULL },
	{ { "timeout=1" }, 0, DEF, 1, PAMCFG_ON_ERROR_REFUSE, NULL },
	{ { "timeout=60000" }, 0, DEF, 60000, PAMCFG_ON_ERROR_REFUSE, NULL },
	{ { "on_error=allow" }, 0, DEF, 2000, PAMCFG_ON_ERROR_ALLOW, NULL },
	{ { "on_error=refuse" }, 0, DEF, 2000, PAMCFG_ON_ERROR_REFUSE, NULL },
	{ { "on_error=allow", "timeout=250", "socket=/a/b" }, 0, "/a/b", 250,
	  PAMCFG_ON_ERROR_ALLOW, NULL },
	{ { "socket=/a=b" }, 0, "/a=b", 2000, PAMCFG_ON_ERROR_REFUSE, NULL },
	/* typos and unknown options weaken nothing: they are errors */
	{ { "on_eror=allow" }, -EINVAL, NULL, 0, 0, "unknown option 'on_eror=allow'" },
	{ { "debug" }, -EINVAL, NULL, 0, 0, "wants name=value" },
	{ { "Socket=/x" }, -EINVAL, NULL, 0, 0, "unknown option" },
	{ { "socket" }, -EINVAL, NULL, 0, 0, "wants name=value" },
	{ { "=x" }, -EINVAL, NULL, 0, 0, "unknown option" },
	{ { "on_error=allow", "bogus=1" }, -EINVAL, NULL, 0, 0, "unknown option 'bogus=1'" },
	{ { "on_error=Allow" }, -EINVAL, NULL, 0, 0, "must be refuse or allow" },
	{ { "on_error=" }, -EINVAL, NULL, 0, 0, "empty value" },
	{ { "on_error=allow", "on_error=refuse" }, -EINVAL, NULL, 0, 0, "given twice" },
	{ { "socket=relative.sock" }, -EINVAL, NULL, 0, 0, "absolute path" },
	{ { "socket=" }, -EINVAL, NULL, 0, 0, "empty value" },
	{ { LONG_PATH }, -EINVAL, NULL, 0, 0, "too long" },
	{ { "timeout=0" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout=60001" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout=-5" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout=+5" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout= 5" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout=5ms" }, -EINVAL, NULL, 0, 0, "1-60000" },
	{ { "timeout=99999999999999999999" }, -EINVAL, NULL, 0, 0, "1-60000" },
};

START_TEST(test_args_parse)
{
	const struct args_case *c = &args_cases[_i];
	struct pamcfg cfg;
	char err[PAMCFG_ERR_MAX];
	const char *argv[N_ELEM(c->argv)];
	int argc = 0;

	while (argc < (int)N_ELEM(c->argv) && c->argv[argc]) {
		argv[argc] = c->argv[argc];
		argc++;
	}
	ck_assert_int_eq(pamcfg_args_parse(&cfg, argc, argv, err, sizeof(err)), c->ret);
	if (c->ret == 0) {
		ck_assert_str_eq(cfg.socket, c->socket);
		ck_assert_int_eq(cfg.timeout_ms, c->timeout_ms);
		ck_assert_int_eq(cfg.on_error, c->on_error);
		ck_assert_str_eq(err, "");
	} else {
		ck_assert_msg(strstr(err, c->err), "reason '%s' lacks '%s'", err, c->err);
	}
}
END_TEST

START_TEST(test_args_err_bounded)
{
	const char *argv[] = { "unknown_option_with_a_long_name=" LONG_PATH };
	struct pamcfg cfg;
	char err[16];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(pamcfg_args_parse(&cfg, 1, argv, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(pamcfg_args_parse(&cfg, 1, argv, NULL, 0), -EINVAL);
	ck_assert_int_eq(pamcfg_args_parse(&cfg, 1, NULL, NULL, 0), -EINVAL);
}
END_TEST

/* no_token: refuse (the default, sshd's) or skip (su, sudo, cron, at). */
START_TEST(test_args_no_token)
{
	static const struct {
		const char *arg;
		int ret;
		bool skip;
	} cases[] = {
		{ NULL, 0, false },
		{ "no_token=refuse", 0, false },
		{ "no_token=skip", 0, true },
		{ "no_token=allow", -EINVAL, false },
		{ "no_token=", -EINVAL, false },
		{ "no_tokens=skip", -EINVAL, false },
	};
	char err[PAMCFG_ERR_MAX];

	for (size_t i = 0; i < N_ELEM(cases); i++) {
		const char *argv[2] = { cases[i].arg, "no_token=skip" };
		struct pamcfg cfg;

		ck_assert_int_eq(pamcfg_args_parse(&cfg, cases[i].arg ? 1 : 0, argv, err,
						   sizeof(err)), cases[i].ret);
		if (cases[i].ret == 0)
			ck_assert(cfg.no_token_skip == cases[i].skip);
	}
	/* given twice is an error, like every option */
	{
		const char *argv[2] = { "no_token=skip", "no_token=skip" };
		struct pamcfg cfg;

		ck_assert_int_eq(pamcfg_args_parse(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
	}
}
END_TEST

/* ---- request lines ------------------------------------------------------ */

struct open_case {
	struct pamcfg_open o;
	int ret;
	const char *line;
};

static const struct open_case open_cases[] = {
	{ { "A", "sshd", "ssh", "10.99.255.254", 4242, false }, 0,
	  "{\"cmd\":\"open\",\"user\":\"A\",\"service\":\"sshd\",\"tty\":\"ssh\","
	  "\"rhost\":\"10.99.255.254\",\"pid\":4242}\n" },
	{ { "bob", NULL, NULL, NULL, 1, false }, 0,
	  "{\"cmd\":\"open\",\"user\":\"bob\",\"service\":\"\",\"tty\":\"\","
	  "\"rhost\":\"\",\"pid\":1}\n" },
	{ { "q\"u\\o\nte", "s", "/dev/pts/3", "::1", 2147483647, false }, 0,
	  "{\"cmd\":\"open\",\"user\":\"q\\\"u\\\\o\\nte\",\"service\":\"s\","
	  "\"tty\":\"/dev/pts/3\",\"rhost\":\"::1\",\"pid\":2147483647}\n" },
	{ { "\xc3\xa9l\xc3\xa8ve", "login", "tty1", "", 7, false }, 0,
	  "{\"cmd\":\"open\",\"user\":\"\xc3\xa9l\xc3\xa8ve\",\"service\":\"login\","
	  "\"tty\":\"tty1\",\"rhost\":\"\",\"pid\":7}\n" },
	{ { NULL, "sshd", NULL, NULL, 5, false }, -EINVAL, NULL },
	{ { "", "sshd", NULL, NULL, 5, false }, -EINVAL, NULL },
	{ { "A", "sshd", NULL, NULL, 0, false }, -EINVAL, NULL },
	{ { "A", "sshd", NULL, NULL, -3, false }, -EINVAL, NULL },
	{ { "bad\xff", "sshd", NULL, NULL, 5, false }, -EINVAL, NULL },
	{ { "A", "sshd", "\xc3", NULL, 5, false }, -EINVAL, NULL },
	{ { "root", "su", "pts/0", "", 77, true }, 0,
	  "{\"cmd\":\"open\",\"user\":\"root\",\"service\":\"su\",\"tty\":\"pts/0\","
	  "\"rhost\":\"\",\"pid\":77,\"no_token\":\"skip\"}\n" },
};

START_TEST(test_open_build)
{
	const struct open_case *c = &open_cases[_i];
	char *line = (char *)"unset";

	ck_assert_int_eq(pamcfg_open_build(&c->o, &line), c->ret);
	if (c->ret == 0) {
		ck_assert_str_eq(line, c->line);
		free(line);
	} else {
		ck_assert_ptr_null(line);
	}
}
END_TEST

struct close_case {
	const char *session;
	pid_t pid;
	int ret;
	const char *line;
};

static const struct close_case close_cases[] = {
	{ "17", 99, 0, "{\"cmd\":\"close\",\"session\":17}\n" },
	{ "\"s-3\"", 99, 0, "{\"cmd\":\"close\",\"session\":\"s-3\"}\n" },
	{ "\"a\\\"b\"", 0, 0, "{\"cmd\":\"close\",\"session\":\"a\\\"b\"}\n" },
	{ NULL, 321, 0, "{\"cmd\":\"close\",\"pid\":321}\n" },
	{ "", 321, 0, "{\"cmd\":\"close\",\"pid\":321}\n" },
	{ NULL, 0, -EINVAL, NULL },
	{ "", -1, -EINVAL, NULL },
	{ "1.5", 9, -EINVAL, NULL },
	{ "[1]", 9, -EINVAL, NULL },
	{ "{}", 9, -EINVAL, NULL },
	{ "null", 9, -EINVAL, NULL },
	{ "\"unterminated", 9, -EINVAL, NULL },
};

START_TEST(test_close_build)
{
	const struct close_case *c = &close_cases[_i];
	char *line = (char *)"unset";

	ck_assert_int_eq(pamcfg_close_build(c->session, c->pid, &line), c->ret);
	if (c->ret == 0) {
		ck_assert_str_eq(line, c->line);
		free(line);
	} else {
		ck_assert_ptr_null(line);
	}
}
END_TEST

/* ---- answers ------------------------------------------------------------ */

struct answer_case {
	const char *line;
	bool want_session;
	int ret;
	const char *session;
	long long epoch;
	const char *mask;
	const char *error;	/* a part of ans.error */
};

static const struct answer_case answer_cases[] = {
	{ "{\"ok\":true,\"session\":12,\"epoch\":7,\"mask\":\"1,3\"}", true, 0,
	  "12", 7, "1,3", "" },
	{ "{\"ok\":true,\"session\":\"s-12\",\"epoch\":0,\"mask\":\"\"}", true, 0,
	  "\"s-12\"", 0, "", "" },
	{ "{\"mask\":\"3\",\"session\":5,\"ok\":true,\"extra\":[1,{}]}", true, 0,
	  "5", -1, "3", "" },
	{ "{\"ok\":true,\"epoch\":9,\"mask\":\"1\"}", false, 0, "", 9, "1", "" },
	{ "{\"ok\":true}", false, 0, "", -1, "", "" },
	{ "{\"ok\":false,\"error\":\"user A has no valid token\"}", true, -EPERM,
	  "", -1, "", "user A has no valid token" },
	{ "{\"ok\":false}", true, -EPERM, "", -1, "", "no reason" },
	{ "{\"ok\":false,\"error\":42}", false, -EPERM, "", -1, "", "no reason" },
	{ "{\"ok\":true,\"epoch\":1}", true, -EBADMSG, "", -1, "", "no session id" },
	{ "{\"ok\":true,\"session\":null}", true, -EBADMSG, "", -1, "", "no session id" },
	{ "{\"ok\":true,\"session\":[1]}", false, -EBADMSG, "", -1, "", "no session id" },
	{ "{\"ok\":true,\"session\":1.5}", true, -EBADMSG, "", -1, "", "no session id" },
	{ "{\"ok\":true,\"session\":\"\"}", true, -EBADMSG, "", -1, "", "empty or too long" },
	{ "{\"ok\":\"yes\",\"session\":1}", true, -EBADMSG, "", -1, "", "no boolean" },
	{ "{\"session\":1}", true, -EBADMSG, "", -1, "", "no boolean" },
	{ "{\"ok\":true,\"ok\":false}", true, -EBADMSG, "", -1, "", "not a JSON object" },
	{ "[true]", true, -EBADMSG, "", -1, "", "not a JSON object" },
	{ "", true, -EBADMSG, "", -1, "", "not a JSON object" },
	{ "{\"ok\":tru", true, -EBADMSG, "", -1, "", "not a JSON object" },
	{ "garbage", false, -EBADMSG, "", -1, "", "not a JSON object" },
	/* no_token=skip: let in, not recorded; the why is kept for the log */
	{ "{\"ok\":true,\"recorded\":false,\"why\":\"no token\"}", true, 0, "", -1, "",
	  "no token" },
	{ "{\"ok\":true,\"recorded\":false,\"session\":3}", true, -EBADMSG, "", -1, "",
	  "says it recorded none" },
	{ "{\"ok\":true,\"recorded\":\"no\"}", true, -EBADMSG, "", -1, "", "not a boolean" },
	{ "{\"ok\":true,\"recorded\":true,\"session\":4}", true, 0, "4", -1, "", "" },
};

START_TEST(test_answer_parse)
{
	const struct answer_case *c = &answer_cases[_i];
	struct pamcfg_answer ans;

	memset(&ans, 0x55, sizeof(ans));
	ck_assert_int_eq(pamcfg_answer_parse(c->line, strlen(c->line), c->want_session,
					     &ans), c->ret);
	ck_assert_str_eq(ans.session, c->ret == 0 ? c->session : "");
	if (c->ret == 0) {
		ck_assert_int_eq(ans.epoch, c->epoch);
		ck_assert_str_eq(ans.mask, c->mask);
		ck_assert_str_eq(ans.error, c->error);
		ck_assert(ans.recorded == !strstr(c->line, "\"recorded\":false"));
	} else {
		ck_assert_msg(strstr(ans.error, c->error), "error '%s' lacks '%s'",
			      ans.error, c->error);
	}
}
END_TEST

/* Long texts are cut, never overrun; an over-long id is refused. */
START_TEST(test_answer_bounds)
{
	char line[4096], big[2048];
	struct pamcfg_answer ans;

	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"ok\":true,\"session\":1,\"mask\":\"%s\"}", big);
	ck_assert_int_eq(pamcfg_answer_parse(line, strlen(line), true, &ans), 0);
	ck_assert_uint_eq(strlen(ans.mask), sizeof(ans.mask) - 1);
	ck_assert_str_eq(ans.mask + sizeof(ans.mask) - 4, "...");
	snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}", big);
	ck_assert_int_eq(pamcfg_answer_parse(line, strlen(line), true, &ans), -EPERM);
	ck_assert_uint_eq(strlen(ans.error), sizeof(ans.error) - 1);
	snprintf(line, sizeof(line), "{\"ok\":true,\"session\":\"%.*s\"}",
		 PAMCFG_SESSION_MAX - 2, big);
	ck_assert_int_eq(pamcfg_answer_parse(line, strlen(line), true, &ans), -EBADMSG);
	snprintf(line, sizeof(line), "{\"ok\":true,\"session\":\"%.*s\"}",
		 PAMCFG_SESSION_MAX - 3, big);
	ck_assert_int_eq(pamcfg_answer_parse(line, strlen(line), true, &ans), 0);
	ck_assert_uint_eq(strlen(ans.session), PAMCFG_SESSION_MAX - 1);
	/* the id kept goes back to capd unchanged */
	{
		char *close_line = NULL, want[PAMCFG_SESSION_MAX + 64];

		ck_assert_int_eq(pamcfg_close_build(ans.session, 1, &close_line), 0);
		snprintf(want, sizeof(want), "{\"cmd\":\"close\",\"session\":%s}\n",
			 ans.session);
		ck_assert_str_eq(close_line, want);
		free(close_line);
	}
}
END_TEST

/* ---- log text ----------------------------------------------------------- */

struct clean_case {
	const char *in;
	bool keep_spaces;
	size_t outlen;
	const char *out;
};

static const struct clean_case clean_cases[] = {
	{ "A", false, 16, "A" },
	{ NULL, false, 16, "-" },
	{ "", true, 16, "-" },
	{ "10.99.255.254", false, 16, "10.99.255.254" },
	{ "a b", false, 16, "a?b" },
	{ "a b", true, 16, "a b" },
	{ "x\ny=1", false, 16, "x?y=1" },
	{ "q\"\\", true, 16, "q??" },
	{ "\xc3\xa9\t\x7f", true, 16, "????" },
	{ "abcdefgh", false, 4, "abc" },
	{ "abcdefgh", false, 1, "" },
};

START_TEST(test_text_clean)
{
	const struct clean_case *c = &clean_cases[_i];
	char out[32];

	memset(out, 'z', sizeof(out));
	ck_assert_ptr_eq(pamcfg_text_clean(c->in, c->keep_spaces, out, c->outlen), out);
	ck_assert_str_eq(out, c->out);
	ck_assert_int_eq(out[c->outlen], 'z');
}
END_TEST

/* ---- the client against a fake capd ------------------------------------- */

enum fake_mode {
	FAKE_ANSWER,		/* reads the request, answers in one write */
	FAKE_PIECES,		/* answers a byte at a time */
	FAKE_TRAILING,		/* answers, then more lines */
	FAKE_SILENT,		/* reads, never answers */
	FAKE_HANGUP,		/* reads, closes */
	FAKE_PARTIAL,		/* half a line, then closes */
	FAKE_HUGE,		/* an answer longer than the client takes */
	FAKE_NO_ACCEPT,		/* listens, never accepts */
};

struct client_case {
	enum fake_mode mode;
	int timeout_ms;
	int ret;
	const char *answer;
	int max_ms;		/* the call must not take longer */
};

static const char ANSWER[] = "{\"ok\":true,\"session\":1,\"epoch\":2,\"mask\":\"3\"}";
static const char REQUEST[] = "{\"cmd\":\"open\",\"user\":\"A\",\"pid\":1}\n";

static const struct client_case client_cases[] = {
	{ FAKE_ANSWER, 2000, 0, ANSWER, 1500 },
	{ FAKE_PIECES, 2000, 0, ANSWER, 1500 },
	{ FAKE_TRAILING, 2000, 0, ANSWER, 1500 },
	{ FAKE_SILENT, 300, -ETIMEDOUT, NULL, 1500 },
	{ FAKE_HANGUP, 2000, -EPROTO, NULL, 1500 },
	{ FAKE_PARTIAL, 2000, -EPROTO, NULL, 1500 },
	{ FAKE_HUGE, 5000, -EMSGSIZE, NULL, 4500 },
	{ FAKE_NO_ACCEPT, 300, -ETIMEDOUT, NULL, 1500 },
};

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads one request line from fd into buf (the child checks it). */
static bool fake_read_request(int fd, char *buf, size_t len)
{
	size_t used = 0;

	while (used + 1 < len) {
		ssize_t n = read(fd, buf + used, len - 1 - used);

		if (n <= 0)
			return false;
		used += (size_t)n;
		buf[used] = '\0';
		if (strchr(buf, '\n'))
			return strcmp(buf, REQUEST) == 0;
	}
	return false;
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The child: serves one connection in mode; exits 0 if the request was right. */
static void fake_capd(int lfd, enum fake_mode mode)
{
	char req[256];
	int fd;

	signal(SIGPIPE, SIG_IGN);
	if (mode == FAKE_NO_ACCEPT) {
		pause();
		_exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || !fake_read_request(fd, req, sizeof(req)))
		_exit(3);
	switch (mode) {
	case FAKE_ANSWER:
		_exit(write_all(fd, ANSWER, strlen(ANSWER)) && write_all(fd, "\n", 1) ? 0 : 4);
	case FAKE_PIECES:
		for (size_t i = 0; i < strlen(ANSWER); i++) {
			if (!write_all(fd, ANSWER + i, 1))
				_exit(4);
			usleep(1000);
		}
		_exit(write_all(fd, "\n", 1) ? 0 : 4);
	case FAKE_TRAILING:
		write_all(fd, ANSWER, strlen(ANSWER));
		write_all(fd, "\n{\"ok\":false}\n{\"more", 20);
		_exit(0);
	case FAKE_SILENT:
		pause();
		_exit(0);
	case FAKE_HANGUP:
		_exit(0);
	case FAKE_PARTIAL:
		write_all(fd, ANSWER, 10);
		_exit(0);
	case FAKE_HUGE: {
		static char chunk[65536];

		memset(chunk, ' ', sizeof(chunk));
		for (int i = 0; i < CAPDCLIENT_ANSWER_MAX / (int)sizeof(chunk) + 2; i++)
			if (!write_all(fd, chunk, sizeof(chunk)))
				break;
		_exit(0);
	}
	case FAKE_NO_ACCEPT:
		break;
	}
	_exit(5);
}

START_TEST(test_client)
{
	const struct client_case *c = &client_cases[_i];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dir = test_tmpdir(), *path = test_path(dir, "capd.sock"), *answer = NULL;
	struct timespec t0;
	size_t len = 0;
	int lfd, status;
	pid_t child;

	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		fake_capd(lfd, c->mode);
	close(lfd);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(capdclient_request_send(path, REQUEST, c->timeout_ms, &answer, &len),
			 c->ret);
	ck_assert_int_le(elapsed_ms(&t0), c->max_ms);
	if (c->ret == 0) {
		ck_assert_str_eq(answer, c->answer);
		ck_assert_uint_eq(len, strlen(c->answer));
		free(answer);
	} else {
		ck_assert_ptr_null(answer);
		ck_assert_int_ge(elapsed_ms(&t0), c->ret == -ETIMEDOUT ? c->timeout_ms - 5 : 0);
	}
	if (c->mode == FAKE_SILENT || c->mode == FAKE_NO_ACCEPT)
		kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	if (c->mode != FAKE_SILENT && c->mode != FAKE_NO_ACCEPT)
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "fake capd: status %d", status);
	free(path);
	test_rmtree(dir);
}
END_TEST

/* No capd: the errors a login sees at once, not after the time-out. */
START_TEST(test_client_unreachable)
{
	char *dir = test_tmpdir(), *path = test_path(dir, "capd.sock"), *answer = NULL;
	char longpath[200];
	struct timespec t0;
	size_t len;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(capdclient_request_send(path, REQUEST, 2000, &answer, &len), -ENOENT);
	/* a socket file nobody listens on */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	ck_assert_int_eq(capdclient_request_send(path, REQUEST, 2000, &answer, &len),
			 -ECONNREFUSED);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(capdclient_request_send(longpath, REQUEST, 2000, &answer, &len),
			 -ENAMETOOLONG);
	ck_assert_ptr_null(answer);
	ck_assert_int_lt(elapsed_ms(&t0), 500);
	free(path);
	test_rmtree(dir);
}
END_TEST

Suite *suite_pam_capd(void)
{
	Suite *s = suite_create("pam_capd");
	TCase *tc = tcase_create("pamcfg");

	tcase_add_loop_test(tc, test_args_parse, 0, (int)N_ELEM(args_cases));
	tcase_add_test(tc, test_args_err_bounded);
	tcase_add_test(tc, test_args_no_token);
	tcase_add_loop_test(tc, test_open_build, 0, (int)N_ELEM(open_cases));
	tcase_add_loop_test(tc, test_close_build, 0, (int)N_ELEM(close_cases));
	tcase_add_loop_test(tc, test_answer_parse, 0, (int)N_ELEM(answer_cases));
	tcase_add_test(tc, test_answer_bounds);
	tcase_add_loop_test(tc, test_text_clean, 0, (int)N_ELEM(clean_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("capdclient");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_client, 0, (int)N_ELEM(client_cases));
	tcase_add_test(tc, test_client_unreachable);
	suite_add_tcase(s, tc);
	return s;
}
