/*
 * tools/pam_capd/capdclient.c - one JSON-lines request to capd within a
 * deadline (see capdclient.h). The socket is non-blocking throughout, so a
 * capd that hangs, or a full listen queue, costs at most timeout_ms: a
 * login never waits on capd for longer than the administrator allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "capdclient.h"

enum {
	CONNECT_RETRY_MS = 10,	/* listen queue full: try again this soon */
	READ_CHUNK = 4096,
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before the deadline, 0 when it has passed. */
static int left_ms(int64_t deadline)
{
	int64_t d = deadline - now_ms();

	return d > 0 ? (int)d : 0;
}

/* Waits for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int left = left_ms(deadline), n;

		if (left == 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * A Unix stream connect does not block for long, but answers EAGAIN when
 * the listener's queue is full; that is retried until the deadline.
 */
static int connect_deadline(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINPROGRESS)
			return wait_fd(fd, POLLOUT, deadline);
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (left_ms(deadline) == 0)
			return -ETIMEDOUT;
		poll(NULL, 0, left_ms(deadline) < CONNECT_RETRY_MS ?
		     left_ms(deadline) : CONNECT_RETRY_MS);
	}
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int ret;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Reads until the first '\n'; what follows it is ignored. */
static int recv_line(int fd, int64_t deadline, char **answer, size_t *len)
{
	size_t cap = READ_CHUNK, used = 0;
	char *buf = malloc(cap), *nl;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *bigger;

			if (cap >= CAPDCLIENT_ANSWER_MAX) {
				ret = -EMSGSIZE;
				break;
			}
			cap = cap * 2 > CAPDCLIENT_ANSWER_MAX ? CAPDCLIENT_ANSWER_MAX : cap * 2;
			bigger = realloc(buf, cap);
			if (!bigger) {
				ret = -ENOMEM;
				break;
			}
			buf = bigger;
		}
		n = recv(fd, buf + used, cap - used, 0);
		if (n == 0) {
			ret = -EPROTO;
			break;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				ret = -errno;
				break;
			}
			ret = wait_fd(fd, POLLIN, deadline);
			if (ret < 0)
				break;
			continue;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		used += (size_t)n;
		if (nl) {
			*nl = '\0';
			*len = (size_t)(nl - buf);
			*answer = buf;
			return 0;
		}
	}
	free(buf);
	return ret;
}

/* One connection per request: capd answers in order, and a PAM module
 * keeps no state between its calls beyond pam_set_data. */
int capdclient_request_send(const char *path, const char *line, int timeout_ms,
			    char **answer, size_t *len)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	*answer = NULL;
	*len = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect_deadline(fd, &sa, deadline);
	if (ret == 0)
		ret = send_all(fd, line, strlen(line), deadline);
	if (ret == 0)
		ret = recv_line(fd, deadline, answer, len);
	close(fd);
	return ret;
}
