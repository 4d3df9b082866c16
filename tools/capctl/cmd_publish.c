/*
 * tools/capctl/cmd_publish.c - 'capctl publish': hands every token under
 * DIR/tokens and the revocation list, armored, to a host's capd, which
 * verifies each against the authority, keeps what is newer than what the
 * host holds, and has capshim spread it to every peer. Also run after
 * every change when --publish SOCKET or $CAPTUN_CAPD says where.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "capctl.h"
#include "fileio.h"

enum publish_limit {
	PUBLISH_BATCH = 192 * 1024,	/* object text per request: under capd's line bound */
	PUBLISH_ANSWER_MAX = 4 << 20,
	PUBLISH_TIMEOUT_S = 15,
};

#define PUBLISH_DEFAULT_SOCKET "/run/captun/capd.sock"

struct tally {
	size_t accepted, ignored, sent;
	bool unspread;
};

/* Connects to capd's socket; -errno. */
static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { PUBLISH_TIMEOUT_S, 0 };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* One request line out, one answer object back; -errno. */
static int exchange(int fd, json_t *req, json_t **answer)
{
	char *text = json_dumps(req, JSON_COMPACT), *buf = NULL;
	size_t len, off = 0, got = 0, cap = 65536;
	int ret = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len++] = '\n';
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	buf = malloc(cap);
	while (buf && !memchr(buf, '\n', got)) {
		ssize_t n;

		if (got + 1 >= cap) {
			char *nb = cap < PUBLISH_ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ret = -EFBIG;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -ECONNRESET;
			goto out;
		}
		got += (size_t)n;
	}
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	*answer = json_loadb(buf, (size_t)((char *)memchr(buf, '\n', got) - buf), 0, NULL);
	if (!json_is_object(*answer)) {
		json_decref(*answer);
		*answer = NULL;
		ret = -EPROTO;
	}
out:
	free(buf);
	free(text);
	return ret;
}

/* Prints what capd did with each object that is news (or was refused). */
static void report(json_t *ans, struct tally *t)
{
	json_t *results = json_object_get(ans, "results"), *r;
	size_t i;

	t->accepted += (size_t)json_integer_value(json_object_get(ans, "accepted"));
	t->ignored += (size_t)json_integer_value(json_object_get(ans, "ignored"));
	if (json_is_false(json_object_get(ans, "spread")))
		t->unspread = true;
	json_array_foreach(results, i, r) {
		const char *res = json_string_value(json_object_get(r, "result"));
		const char *why = json_string_value(json_object_get(r, "why"));
		const char *name = json_string_value(json_object_get(r, "object"));
		long long serial = (long long)json_integer_value(json_object_get(r, "serial"));

		if (res && strcmp(res, "accepted") == 0)
			out_say("  accepted %s serial %lld\n", name ? name : "?", serial);
		else if (why && strncmp(why, "not newer", 9) != 0)
			out_say("  ignored  %s serial %lld: %s\n", name ? name : "?", serial, why);
		out_add("objects", json_pack("{s:s, s:I, s:s, s:s?}", "object", name ? name : "?",
					     "serial", (json_int_t)serial, "result",
					     res ? res : "?", "why", why));
	}
}

/* Sends the batch in objs (emptied afterwards); an error answer fails. */
static int flush(int fd, const char *path, json_t *objs, struct tally *t)
{
	json_t *req, *ans = NULL;
	int ret;

	if (json_array_size(objs) == 0)
		return CAPCTL_OK;
	req = json_pack("{s:s, s:O}", "cmd", "publish", "objects", objs);
	if (!req)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	t->sent += json_array_size(objs);
	ret = exchange(fd, req, &ans);
	json_decref(req);
	json_array_clear(objs);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "check capd's log", "%s: no answer from capd: %s",
				 path, strerror(-ret));
	if (!json_is_true(json_object_get(ans, "ok"))) {
		ret = util_fail(CAPCTL_FAIL, "",
				"%s: capd refused: %s", path,
				json_string_value(json_object_get(ans, "error")) ?: "no reason "
										    "given");
		json_decref(ans);
		return ret;
	}
	report(ans, t);
	json_decref(ans);
	return CAPCTL_OK;
}

/* Adds the armored file at path to the batch, sending first if it is full. */
static int add(int fd, const char *sock, const char *path, json_t *objs,
	       size_t *batch, struct tally *t)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int ret;

	ret = fileio_read(path, CAPCTL_OBJ_MAX, &text, &len);
	if (ret < 0)
		return util_io_fail(ret, "read", path);
	if (len > PUBLISH_BATCH) {
		free(text);
		return util_fail(CAPCTL_FAIL, "it is too large to publish in one request",
				 "%s: %zu bytes", path, len);
	}
	if (*batch + len > PUBLISH_BATCH) {
		ret = flush(fd, sock, objs, t);
		*batch = 0;
		if (ret != CAPCTL_OK) {
			free(text);
			return ret;
		}
	}
	ret = json_array_append_new(objs, json_stringn((const char *)text, len));
	free(text);
	if (ret < 0)
		return util_fail(CAPCTL_SYS, "", "%s is not text", path);
	*batch += len;
	return CAPCTL_OK;
}

/* The revocation list first (capd takes lists first anyway), then tokens. */
static int send_all(struct capctl_ctx *ctx, int fd, const char *sock, struct tally *t)
{
	json_t *objs = json_array();
	char path[PATH_MAX];
	struct dirent *de;
	size_t batch = 0;
	int ret = CAPCTL_OK;
	DIR *dh;

	if (!objs)
		return util_fail(CAPCTL_SYS, "", "out of memory");
	if (access(ctx->path_revlist, F_OK) == 0)
		ret = add(fd, sock, ctx->path_revlist, objs, &batch, t);
	dh = ret == CAPCTL_OK ? opendir(ctx->path_tokens) : NULL;
	if (ret == CAPCTL_OK && !dh)
		ret = util_io_fail(-errno, "read", ctx->path_tokens);
	while (ret == CAPCTL_OK && (de = readdir(dh))) {
		size_t n = strlen(de->d_name);

		if (n < 7 || strcmp(de->d_name + n - 6, ".token") != 0 ||
		    (strncmp(de->d_name, "host-", 5) != 0 && strncmp(de->d_name, "user-", 5) != 0))
			continue;
		if (!util_join(path, sizeof(path), ctx->path_tokens, de->d_name))
			continue;
		ret = add(fd, sock, path, objs, &batch, t);
	}
	if (dh)
		closedir(dh);
	if (ret == CAPCTL_OK)
		ret = flush(fd, sock, objs, t);
	json_decref(objs);
	return ret;
}

/* Publishes everything the authority holds to capd at sock. */
static int publish_to(struct capctl_ctx *ctx, const char *sock, const char *fix)
{
	struct tally t = { 0 };
	int fd, ret;

	fd = dial(sock);
	if (fd < 0)
		return util_fail(CAPCTL_SYS, fix, "cannot reach capd at %s: %s", sock,
				 strerror(-fd));
	ret = send_all(ctx, fd, sock, &t);
	close(fd);
	if (ret != CAPCTL_OK)
		return ret;
	out_say("published to %s: %zu accepted, %zu ignored\n",
		sock, t.accepted, t.ignored);
	out_set("published_to", json_string(sock));
	out_set("accepted", json_integer((json_int_t)t.accepted));
	out_set("ignored", json_integer((json_int_t)t.ignored));
	if (t.unspread)
		util_note("capd stored what it accepted but could not hand it to capshim; see "
			  "capd's log");
	return CAPCTL_OK;
}

/* After a verb changed tokens or the list: publish if asked to. */
int publish_after_change(struct capctl_ctx *ctx)
{
	const char *env = getenv("CAPTUN_CAPD");
	const char *sock = ctx->publish_opt ? ctx->publish_opt : env && *env ? env : NULL;

	if (!sock)
		return CAPCTL_OK;
	return publish_to(ctx, sock,
			  "the change is written here; run 'capctl publish' once capd is up");
}

/* capctl publish [--capd SOCKET] */
int cmd_publish(struct capctl_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "capd", required_argument, NULL, 'c' },
		CAPCTL_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *env = getenv("CAPTUN_CAPD");
	const char *sock = env && *env ? env : PUBLISH_DEFAULT_SOCKET;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'c')
			sock = optarg;
		else if ((ret = cli_common(ctx, c, "publish", argv)) != CAPCTL_GO_ON)
			return ret;
	}
	if (optind < argc)
		return help_usage("publish", "unexpected argument '%s'", argv[optind]);
	if ((ret = ctx_resolve(ctx)) != CAPCTL_OK ||
	    (ret = ctx_require_init(ctx)) != CAPCTL_OK ||
	    (ret = ctx_lock(ctx)) != CAPCTL_OK)
		return ret;
	return publish_to(ctx, sock, "is capd running? (--capd SOCKET or $CAPTUN_CAPD)");
}
