/*
 * common/daemon.c - process plumbing shared by capshim and capd.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/capability.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "fileio.h"

/*
 * The socket's directory: made 0755 if missing; refused unless root (or
 * we) own it and nobody else may write it, since whoever may write there
 * could put another socket in the daemon's place.
 */
static int socket_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	memcpy(dir, path, strlen(path) + 1);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
		return -EPERM;
	return 0;
}

int daemon_unix_listen_as(const char *path, int backlog, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char tmp[sizeof(sun.sun_path)];
	mode_t old_mask;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path) ||
	    snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ret = socket_dir(path);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Bound and listening under a scratch name, then renamed into place:
	 * the socket appears only once it answers (capd watches for it), and
	 * born root-only (single-threaded daemons: the umask is ours).
	 */
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	if (unlink(tmp) < 0 && errno != ENOENT) {
		ret = -errno;
		goto err_close;
	}
	old_mask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old_mask);
	if (ret < 0)
		goto err_close;
	if ((gid != (gid_t)-1 && chown(tmp, (uid_t)-1, gid) < 0) ||
	    chmod(tmp, mode) < 0 || listen(fd, backlog) < 0 || rename(tmp, path) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink(tmp);
err_close:
	close(fd);
	return ret;
}

int daemon_unix_listen(const char *path, int backlog)
{
	return daemon_unix_listen_as(path, backlog, 0666, (gid_t)-1);
}

int daemon_pidfile_write(const char *pidfile)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());

	return fileio_write_atomic(pidfile, text, (size_t)n, 0644);
}

int daemon_detach(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	/*
	 * stdio must not stay on the terminal (a write there could block or
	 * kill us with SIGPIPE/SIGTTOU): a failure here is a failure to start.
	 */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		int ret = -errno;

		if (fd > 2)
			close(fd);
		return ret;
	}
	if (fd > 2)
		close(fd);
	return pidfile ? daemon_pidfile_write(pidfile) : 0;
}

/* Every capability but keep (-1: none) goes, bounding set included. */
static int privileges_limit(int keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	for (int cap = 0; cap <= 63; cap++)
		if (cap != keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	memset(data, 0, sizeof(data));
	if (keep >= 0) {
		data[keep / 32].effective = 1u << (keep % 32);
		data[keep / 32].permitted = 1u << (keep % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int daemon_privileges_drop(void)
{
	return privileges_limit(-1);
}

int daemon_privileges_only(int cap)
{
	if (cap < 0 || cap > 63)
		return -EINVAL;
	return privileges_limit(cap);
}

int daemon_signals_open(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE };
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int daemon_ticker_open(unsigned ms)
{
	struct timespec every = { ms / 1000, (long)(ms % 1000) * 1000000L };
	struct itimerspec its = { every, every };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int daemon_helper_start(int *fd, pid_t *pid)
{
	int sp[2];

	*fd = -1;
	*pid = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int ret = -errno;

		close(sp[0]);
		close(sp[1]);
		*pid = 0;
		return ret;
	}
	close(sp[*pid == 0 ? 0 : 1]);
	*fd = sp[*pid == 0 ? 1 : 0];
	return 0;
}

int daemon_helper_isolate(int fd, int to)
{
	if (dup2(fd, to) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		close(i);
	if (syscall(SYS_close_range, (unsigned)to + 1, ~0U, 0) < 0)
		return -errno;
	return 0;
}

void daemon_helper_stop(int *fd, pid_t *pid)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (*pid > 0) {
		for (int i = 0; i < 50 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(*pid, NULL, WNOHANG) == 0) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
		}
	}
	*pid = 0;
}
