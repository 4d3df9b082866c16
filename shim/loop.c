/*
 * shim/loop.c - capshim's event loop. One thread; signals arrive through
 * a signalfd and the tick through a timerfd, so no work ever happens in a
 * signal handler. Each turn serves the ready descriptors (data first),
 * then the queued handshake messages within their budget (hsqueue.c).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "shim.h"

enum loop_const {
	TICK_MS = 100,
	EVENTS = 16,
};

#define CT_EXPIRE_NS UINT64_C(1000000000)

static volatile bool running;

static void on_tun(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	shim_tun_readable(s);
}

static void on_udp4(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	shim_udp_readable(s, &s->udp4);
}

static void on_udp6(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	shim_udp_readable(s, &s->udp6);
}

static void on_signal(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(ev->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			running = false;
		else if (si.ssi_signo == SIGHUP)
			shim_service_reload(s);
}

static void on_timer(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	uint64_t ticks, now = shim_now_ns();

	if (read(ev->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	s->now = now;
	shim_timers(s, now);
	shim_expiry_tick(s);
	if (now - s->ct_expired_ns > CT_EXPIRE_NS) {
		conntrack_expire(s->ct, now);
		s->ct_expired_ns = now;
	}
	shim_ctl_tick(s);
	shim_queue_table_sync(s);
	shim_tx_flush(s);
	shim_flows_tick(s);
}

void shim_stop(void)
{
	running = false;
}

int shim_run(struct shim *s)
{
	struct shim_ev ev_tun, ev_u4, ev_u6, ev_sig = { -1, NULL }, ev_tick = { -1, NULL };
	struct epoll_event events[EVENTS];
	int ret = 0;

	ev_sig.fd = daemon_signals_open();
	ev_sig.fn = on_signal;
	ev_tick.fd = daemon_ticker_open(TICK_MS);
	ev_tick.fn = on_timer;
	if (ev_sig.fd < 0 || ev_tick.fd < 0) {
		ret = ev_sig.fd < 0 ? ev_sig.fd : ev_tick.fd;
		goto out;
	}
	ev_tun.fd = s->tun.fd;
	ev_tun.fn = on_tun;
	ev_u4.fd = s->udp4.fd;
	ev_u4.fn = on_udp4;
	ev_u6.fd = s->udp6.fd;
	ev_u6.fn = on_udp6;
	if ((ret = shim_ev_add(s, &ev_sig)) < 0 || (ret = shim_ev_add(s, &ev_tick)) < 0 ||
	    (ret = shim_ev_add(s, &ev_tun)) < 0 ||
	    (s->udp4.fd >= 0 && (ret = shim_ev_add(s, &ev_u4)) < 0) ||
	    (s->udp6.fd >= 0 && (ret = shim_ev_add(s, &ev_u6)) < 0))
		goto out;

	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].endpoint_len)
			shim_handshake_start(s, &s->peers[i]);
	running = true;
	while (running) {
		/* Queued handshakes left over: look at the data, then go on. */
		int n = epoll_wait(s->epfd, events, EVENTS,
				   shim_handshake_pending(s) ? 0 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* A loop that cannot wait is a data plane that is down: say so. */
			ret = -errno;
			shim_log(LOG_ERR, "event loop: epoll_wait: %s", strerror(-ret));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct shim_ev *ev = events[i].data.ptr;

			ev->fn(s, ev, events[i].events);
		}
		shim_handshake_drain(s);
		shim_recheck_settle(s);
	}
out:
	if (ev_sig.fd >= 0)
		close(ev_sig.fd);
	if (ev_tick.fd >= 0)
		close(ev_tick.fd);
	return ret;
}
