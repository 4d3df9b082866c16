/*
 * tools/pam_capd/rescue.c - break-glass when capd cannot be reached: a
 * login of a break-glass user (common/breakglass.h, with the lists of
 * captun.conf's [capd] section) is let in instead of refused, so that an
 * admin can always repair the host. The host is isolated first through
 * capshim's control socket if capshim answers (if it does not, there is
 * no data plane to leave the host by), the login is logged at LOG_ALERT,
 * and a marker is left for capd, which adopts the session when it is back
 * (capd/breakglass.c says the marker's form).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <security/pam_ext.h>

#include "breakglass.h"
#include "capdclient.h"
#include "config.h"
#include "rescue.h"

enum { STAT_MAX = 1024 };

/* SOCKETDIR/break-glass, beside capd's socket: where capd looks. */
static int marker_path(const struct pamcfg *cfg, pid_t pid, char *dir, char *path,
		       size_t cap)
{
	char sock[PAMCFG_SOCKET_MAX];

	snprintf(sock, sizeof(sock), "%s", cfg->socket);
	if ((size_t)snprintf(dir, cap, "%s/break-glass", dirname(sock)) >= cap ||
	    (size_t)snprintf(path, cap, "%s/%d", dir, (int)pid) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int marker_write(const struct pamcfg *cfg, const struct rescue_who *w)
{
	char dir[PAMCFG_SOCKET_MAX + 32], path[PAMCFG_SOCKET_MAX + 48], tmp[PAMCFG_SOCKET_MAX + 56];
	char stat[STAT_MAX] = "";
	json_t *o;
	char *text;
	ssize_t n;
	int fd, ret;

	ret = marker_path(cfg, getpid(), dir, path, sizeof(dir));
	if (ret < 0)
		return ret;
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, stat, sizeof(stat) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -EIO;
	stat[n] = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "user", w->user ? w->user : "",
		      "service", w->service ? w->service : "", "tty", w->tty ? w->tty : "",
		      "rhost", w->rhost ? w->rhost : "", "pid", (int)getpid(), "stat", stat);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : 0;
	if (ret == 0 && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -EIO;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	free(text);
	return ret;
}

/* Isolates the host through capshim: its answer, or why there was none. */
static const char *isolate(const struct pamcfg *cfg, int timeout_ms)
{
	static const char req[] = "{\"cmd\":\"capability\",\"users\":[],\"isolate\":true}\n";
	char shim[PAMCFG_SOCKET_MAX], *ans = NULL;
	size_t len = 0;
	int ret;

	config_shim_control(cfg->config, shim, sizeof(shim));
	ret = capdclient_request_send(shim, req, timeout_ms, &ans, &len);
	if (ret == 0 && strstr(ans, "\"ok\":true")) {
		free(ans);
		return "host isolated through capshim";
	}
	free(ans);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return "capshim is not running either: no data plane to leave the host by";
	return "capshim did not isolate the host";
}

bool rescue_is_breakglass(const struct pamcfg *cfg, const char *user, char *why,
			  size_t whycap)
{
	char users[BREAKGLASS_LIST_MAX], groups[BREAKGLASS_LIST_MAX];
	bool has_u = config_value(cfg->config, "capd", "break-glass-users", users, sizeof(users));
	bool has_g = config_value(cfg->config, "capd", "break-glass-groups", groups,
				  sizeof(groups));

	return breakglass_match(has_u ? users : NULL, has_g ? groups : NULL, user, why,
				whycap);
}

int rescue_login(pam_handle_t *pamh, const struct pamcfg *cfg, const struct rescue_who *w,
		 const char *reason)
{
	char why[96];
	const char *shim;
	int ret;

	if (!rescue_is_breakglass(cfg, w->user, why, sizeof(why)))
		return -EPERM;
	shim = isolate(cfg, cfg->timeout_ms);
	ret = marker_write(cfg, w);
	pam_syslog(pamh, LOG_ALERT, "open %s result=break-glass who=\"%s\" reason=\"%s\" "
		   "isolation=\"%s\" marker=%s", w->log, why, reason, shim,
		   ret < 0 ? strerror(-ret) : "left for capd");
	return 0;
}

void rescue_logout(const struct pamcfg *cfg)
{
	char dir[PAMCFG_SOCKET_MAX + 32], path[PAMCFG_SOCKET_MAX + 48];

	if (marker_path(cfg, getpid(), dir, path, sizeof(dir)) == 0)
		unlink(path);
}
