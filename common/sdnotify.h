/*
 * common/sdnotify.h - the systemd readiness protocol (sd_notify(3)),
 * reimplemented as systemd documents it for daemons that do not link
 * libsystemd: one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or an abstract name after '@').
 * Without $NOTIFY_SOCKET (not started by systemd) nothing is sent.
 */
#ifndef CAPTUN_COMMON_SDNOTIFY_H
#define CAPTUN_COMMON_SDNOTIFY_H

/* Sends state (e.g. "READY=1\nSTATUS=..."): 0, 0 when there is no
 * socket to tell, or -errno. */
int sdnotify_send(const char *state);

/* printf-style; the text is cut at 1 KiB. */
int sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
