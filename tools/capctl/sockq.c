/*
 * tools/capctl/sockq.c - one request line to a daemon's control socket
 * (capd or capshim: JSON lines) and its one answer line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "capctl.h"

int sockq_request(const char *path, const char *req, size_t max, char **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { SOCKQ_TIMEOUT_S, 0 };
	size_t len = 0, cap = 65536, reqlen = strlen(req);
	char *buf;
	int fd, ret = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < reqlen;) {
		ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EPIPE;
			goto out;
		}
		off += (size_t)n;
	}
	while (!memchr(buf, '\n', len)) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = cap * 2 <= max ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ret = -EFBIG;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			ret = n < 0 ? -errno : -ECONNRESET;
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}
