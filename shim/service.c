/*
 * shim/service.c - capshim as a system service: the overlay prefixes it
 * routes into its interface at start (so that a host added later is
 * reached with no new route, and capshim needs no privilege for it), the
 * readiness it tells systemd, and SIGHUP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "sdnotify.h"
#include "shim.h"

/* "10.77.0.0/16" or "fd77::/64" into cfg->routes; -EINVAL after a message. */
int shim_route_parse(struct shim_config *cfg, const char *text)
{
	struct shim_route *r = &cfg->routes[cfg->nroutes];
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	char *end;
	unsigned long plen;
	size_t alen;

	if (cfg->nroutes == SHIM_ROUTES_MAX) {
		fprintf(stderr, "capshim: at most %d --route prefixes\n", SHIM_ROUTES_MAX);
		return -EINVAL;
	}
	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		goto bad;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, addr, r->addr) == 1) {
		r->family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, addr, r->addr) == 1) {
		r->family = AF_INET6;
		alen = 16;
	} else {
		goto bad;
	}
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || plen > alen * 8)
		goto bad;
	r->plen = (unsigned)plen;
	cfg->nroutes++;
	return 0;
bad:
	fprintf(stderr, "capshim: --route wants an IPv4 or IPv6 prefix such as "
		"10.77.0.0/16 or fd77::/64, not '%s'\n", text);
	return -EINVAL;
}

int shim_routes_add(struct shim *s)
{
	for (unsigned i = 0; i < s->cfg.nroutes; i++) {
		const struct shim_route *r = &s->cfg.routes[i];
		char a[INET6_ADDRSTRLEN];
		int ret = tun_route_add(&s->tun, r->family, r->addr, r->plen);

		inet_ntop(r->family, r->addr, a, sizeof(a));
		if (ret < 0) {
			shim_log(LOG_ERR, "route %s/%u into %s: %s", a, r->plen, s->tun.name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Everything is in place: tell systemd (Type=notify), if it is listening. */
void shim_service_ready(struct shim *s)
{
	int ret = sdnotify_sendf("READY=1\nSTATUS=host %s on %s, %zu peers, epoch %u",
				 s->self.name, s->tun.name, s->npeers, s->cap.epoch);

	if (ret < 0)
		shim_log(LOG_WARNING, "telling systemd we are ready: %s", strerror(-ret));
}

/*
 * SIGHUP: re-read the directory, as the control socket's reload does.
 * capshim keeps no log file of its own (stderr or syslog), so there is
 * nothing to reopen.
 */
void shim_service_reload(struct shim *s)
{
	char report[1024];
	int ret;

	sdnotify_send("RELOADING=1");
	ret = shim_reload(s, report, sizeof(report));
	if (ret < 0)
		shim_log(LOG_ERR, "SIGHUP: reload failed: %s%s%s", strerror(-ret),
			 report[0] ? "; " : "", report);
	else
		shim_log(LOG_INFO, "SIGHUP: reloaded, epoch %u%s%s", s->cap.epoch,
			 report[0] ? "; " : "", report);
	sdnotify_sendf("READY=1\nSTATUS=host %s on %s, %zu peers, epoch %u",
		       s->self.name, s->tun.name, s->npeers, s->cap.epoch);
}
