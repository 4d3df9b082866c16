/*
 * shim/log.c - logging to stderr (foreground) or syslog (daemon), and the
 * denied-flow log, rate-limited by a token bucket so that a flood of
 * refused packets cannot flood the log.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "shim.h"

enum log_rate {
	LOG_DENIED_PER_S = 20,
	LOG_DENIED_BURST = 50,
};

static bool use_syslog;

void shim_log_syslog(bool on)
{
	use_syslog = on;
	if (on)
		openlog("capshim", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void shim_log(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "capshim: %s: ", names[prio & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/* Refills one token per 1/LOG_DENIED_PER_S s, up to the burst. */
static bool allow(struct shim *s)
{
	uint64_t now = shim_now_ns();
	uint64_t step = 1000000000ull / LOG_DENIED_PER_S;

	if (s->log_last_ns == 0) {
		s->log_tokens = LOG_DENIED_BURST;
		s->log_last_ns = now;
	}
	while (now - s->log_last_ns >= step && s->log_tokens < LOG_DENIED_BURST) {
		s->log_tokens++;
		s->log_last_ns += step;
	}
	if (s->log_tokens >= LOG_DENIED_BURST)
		s->log_last_ns = now;
	if (s->log_tokens == 0)
		return false;
	s->log_tokens--;
	return true;
}

void shim_log_denied(struct shim *s, const char *side, const struct peer *p,
		     const char *users, uint32_t epoch,
		     const struct inet_flow *f, const char *reason)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[16];
	bool sender = strcmp(side, "sender") == 0;

	if (!allow(s))
		return;
	shim_log(LOG_NOTICE,
		 "denied (%s) %s %s:%u -> %s:%u from host %s to host %s "
		 "users [%s] epoch %u: %s",
		 side, flowrec_proto_name(f->proto, pbuf),
		 inet_addr_str(&f->src, src, sizeof(src)), f->sport,
		 inet_addr_str(&f->dst, dst, sizeof(dst)), f->dport,
		 sender ? s->self.name : p->name, sender ? p->name : s->self.name,
		 users, epoch, reason);
}
