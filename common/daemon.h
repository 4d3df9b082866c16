/*
 * common/daemon.h - process plumbing the captun daemons share: their
 * control socket's listening end, detaching, the pid file, and giving up
 * privileges once set up.
 */
#ifndef CAPTUN_COMMON_DAEMON_H
#define CAPTUN_COMMON_DAEMON_H

#include <sys/types.h>

/*
 * Listens on the Unix stream socket path (mode 0666: the daemon decides
 * per request by the peer's credentials), making its directory (0755) if
 * needed. The directory must be root's (or ours) and writable by nobody
 * else, or -EPERM: whoever may write it could replace the socket. A socket
 * a live daemon answers on is never taken over (-EADDRINUSE); a stale one
 * is replaced. Returns the non-blocking, close-on-exec descriptor or
 * -errno; on failure nothing is left at path.
 */
int daemon_unix_listen(const char *path, int backlog);
/* The same with the socket's mode and group (gid -1: left as it is). */
int daemon_unix_listen_as(const char *path, int backlog, mode_t mode, gid_t gid);

/* Writes this process's pid to pidfile, atomically. 0 or -errno. */
int daemon_pidfile_write(const char *pidfile);

/* Fork, new session, stdio on /dev/null, then the pid file if given. */
int daemon_detach(const char *pidfile);

/*
 * Gives up every capability, the bounding set with them (nothing to
 * regain on exec), and sets no_new_privs. A daemon running as uid 0
 * still reaches root's files through their owner bits.
 */
int daemon_privileges_drop(void);

/*
 * Like daemon_privileges_drop, but keeps cap (CAP_*) in the permitted and
 * effective sets: for a privileged helper that needs exactly one. -EPERM
 * if this process does not hold cap.
 */
int daemon_privileges_only(int cap);

/*
 * The signals a daemon's event loop reads (SIGTERM, SIGINT, SIGHUP;
 * SIGPIPE only so that it never kills): blocked, and a non-blocking
 * signalfd that delivers them. The descriptor, or -errno.
 */
int daemon_signals_open(void);

/* A non-blocking timerfd that fires every ms milliseconds; or -errno. */
int daemon_ticker_open(unsigned ms);

/*
 * Forks a helper joined to this process by a SOCK_SEQPACKET socketpair.
 * In the parent: 0, *fd its end, *pid the helper's. In the helper: 0,
 * *fd the helper's end, *pid 0 (the caller runs the helper's loop and
 * never returns). -errno, with nothing left open, if either step fails.
 */
int daemon_helper_start(int *fd, pid_t *pid);

/*
 * In a helper: its socket moved to descriptor to, standard input and
 * output closed, every descriptor above to closed; stderr stays for its
 * log. 0 or -errno.
 */
int daemon_helper_isolate(int fd, int to);

/*
 * A privileged helper's end, from its parent: closes *fd (the helper
 * exits at its EOF), reaps *pid, killing it if it has not gone within
 * half a second. Both are reset (-1, 0).
 */
void daemon_helper_stop(int *fd, pid_t *pid);

#endif
