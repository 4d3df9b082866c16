/*
 * shim/attach.c - capshim --attach IFNAME: set-up, the event loop and
 * teardown of attach mode, and keeping the kernel's maps in step with
 * what the daemon has verified (shim_attach_sync).
 *
 * Order of set-up, so that nothing is ever wider than it should be:
 * programs loaded with their maps (a dead instance's maps reused), peers
 * and their verified capabilities written, links attached (or the pinned
 * ones taken over), then the capability. From then on the kernel
 * enforces whether or not this process lives: a crash leaves the last
 * capability in force (fail closed), a clean stop (SIGTERM) removes every
 * link, map and route this instance made, and nothing else.
 */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "attach.h"
#include "daemon.h"

#define NS UINT64_C(1000000000)
#define ANNOUNCE_EVERY_NS (10 * NS)

static int send_control(struct shim *s, struct peer *p, const uint8_t *msg, size_t len)
{
	return attach_net_send(s, p, msg, len);
}

static void cap_changed(struct shim *s)
{
	struct attach_state *a = attach_of(s);

	if (a->started)
		a->provisional = false;	/* capd has spoken */
	shim_attach_sync(s);
	attach_net_announce_all(s);
}

static const struct shim_mode attach_mode = {
	.send_control = send_control,
	.cap_changed = cap_changed,
	.status = attach_status,
};

static struct peer *peer_by_bit(struct shim *s, uint16_t bit)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].bit == bit)
			return &s->peers[i];
	return NULL;
}

static const struct peer_cap *latest_cap(const struct peer *p)
{
	return p->latest_epoch ? shim_peer_cap(p, p->latest_epoch) : NULL;
}

static bool reaches_us(struct shim *s, const struct peer *p)
{
	const struct peer_cap *c = latest_cap(p);

	return !p->disabled && c && mask_bit_test(&c->mask, s->self.bit);
}

/* The mask the kernel enforces for this host. */
static void own_mask(struct shim *s, struct mask *m)
{
	struct attach_state *a = attach_of(s);

	*m = s->cap.mask;
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].disabled)
			mask_bit_clear(m, s->peers[i].bit);
	if (a->provisional)
		mask_and(m, &a->adopted_mask);
}

struct caps_keep {
	struct shim *s;
};

/* A (host, epoch) stays in the kernel while the daemon holds it verified. */
static bool cap_keep(void *arg, uint16_t bit, uint32_t epoch)
{
	struct caps_keep *ck = arg;
	struct peer *p = peer_by_bit(ck->s, bit);

	if (!p || p->disabled)
		return false;
	if (!p->latest_epoch)
		return true;	/* nothing learnt yet (a restart): keep the kernel's */
	return shim_peer_cap(p, epoch) != NULL;
}

/* A flow stays while its opener may still reach the other host. */
static bool ct_keep(void *arg, const struct attach_ct *ct)
{
	struct shim *s = arg;
	struct peer *p = peer_by_bit(s, ct->peer_bit);
	struct mask m;

	if (!p)
		return false;
	if (ct->opener == CT_OPENED_BY_US) {
		own_mask(s, &m);
		return mask_bit_test(&m, p->bit);
	}
	return p->latest_epoch == 0 || reaches_us(s, p);
}

static void write_peer(struct shim *s, struct peer *p)
{
	struct attach_state *a = attach_of(s);
	struct attach_peer v = { .bit = p->bit, .latest_epoch = p->latest_epoch };
	bool reach = p->latest_epoch ? reaches_us(s, p) : a->ps[p - s->peers].reaches_us;

	v.flags = reach ? PEER_F_REACHES_US : 0;
	a->ps[p - s->peers].reaches_us = reach;
	if (p->has4)
		kbpf_peer_set(&a->k, p->overlay4.s6_addr, &v);
	if (p->has6)
		kbpf_peer_set(&a->k, p->overlay6.s6_addr, &v);
}

/*
 * Writes what the daemon knows into the kernel: this host's mask, each
 * peer's verified capabilities (and whether the latest reaches us), then
 * aborts the connections and forgets the flows that became forbidden.
 */
void shim_attach_sync(struct shim *s)
{
	struct attach_state *a = attach_of(s);
	struct caps_keep ck = { s };
	struct mask m;
	int ret;

	own_mask(s, &m);
	ret = kbpf_own_set(&a->k, s->cap.epoch, m.w);
	if (ret < 0)
		shim_log(LOG_ERR, "writing the capability into the kernel: %s", strerror(-ret));
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		for (int c = 0; c < SHIM_CAP_EPOCHS && !p->disabled; c++) {
			const struct peer_cap *pc = &p->caps[c];
			struct attach_cap v = { 0 };

			if (!pc->valid)
				continue;
			v.allowed = mask_bit_test(&pc->mask, s->self.bit);
			v.superseded = pc->superseded;
			kbpf_cap_set(&a->k, p->bit, pc->epoch, &v);
		}
		write_peer(s, p);
	}
	kbpf_caps_prune(&a->k, cap_keep, &ck);
	ret = kbpf_sockets_sweep(&a->k);
	if (ret < 0)
		shim_log(LOG_WARNING, "aborting forbidden connections: %s", strerror(-ret));
	kbpf_ct_prune(&a->k, ct_keep, s);
}

/* ---- ring buffer records ------------------------------------------------------------ */

/*
 * A record from the programs: a refusal becomes a flow record at both
 * ends (flows_attach.c: the process's pid, uid and command from the cgroup
 * hook, the report to the peer); an unknown epoch also asks the peer.
 */
static int on_event(void *arg, const struct attach_event *e)
{
	struct shim *s = arg;
	struct peer *p = peer_by_bit(s, e->peer_bit);

	if (!p)
		return 0;
	shim_flow_attach_event(s, e);
	if (e->kind == EV_UNKNOWN_EPOCH)
		attach_net_epoch_request(s, p, e->epoch);
	return 0;
}

static void on_events(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	kbpf_events_consume(&attach_of(s)->k);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void on_signal(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(ev->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			attach_of(s)->stop = true;
}

static void on_tick(struct shim *s, struct shim_ev *ev, uint32_t events)
{
	struct attach_state *a = attach_of(s);
	uint64_t ticks, now = shim_now_ns();

	if (read(ev->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	s->now = now;
	if (!kbpf_iface_alive(&a->k)) {
		shim_log(LOG_ERR, "interface %s is gone (the mesh went down): detaching",
			 s->cfg.attach);
		a->stop = true;
		return;
	}
	if (now - a->last_announce_ns > ANNOUNCE_EVERY_NS)
		attach_net_announce_all(s);
	shim_flows_tick(s);
	shim_ctl_tick(s);
}

static int loop(struct shim *s)
{
	struct attach_state *a = attach_of(s);
	struct epoll_event events[16];
	int ret;

	a->ev_sig.fd = daemon_signals_open();
	a->ev_sig.fn = on_signal;
	if (a->ev_sig.fd < 0)
		return a->ev_sig.fd;
	a->ev_tick.fd = daemon_ticker_open(1000);
	a->ev_tick.fn = on_tick;
	if (a->ev_tick.fd < 0)
		return a->ev_tick.fd;
	if ((ret = shim_ev_add(s, &a->ev_sig)) < 0 || (ret = shim_ev_add(s, &a->ev_tick)) < 0)
		return ret;
	while (!a->stop) {
		int n = epoll_wait(s->epfd, events, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct shim_ev *ev = events[i].data.ptr;

			ev->fn(s, ev, events[i].events);
		}
	}
	return 0;
}

/* Peers into the kernel, with a route each that leaves room for the stamp. */
static int peers_setup(struct shim *s, struct attach_state *a)
{
	uint8_t (*keep)[16] = calloc(2 * s->npeers + 1, 16);
	unsigned mtu = a->k.mtu - STAMP_LEN;
	size_t n = 0;

	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		const struct in6_addr *addrs[2] = { p->has4 ? &p->overlay4 : NULL,
						    p->has6 ? &p->overlay6 : NULL };

		write_peer(s, p);
		for (int j = 0; j < 2; j++) {
			char txt[INET6_ADDRSTRLEN];
			int ret;

			if (!addrs[j])
				continue;
			memcpy(keep[n++], addrs[j]->s6_addr, 16);
			if (a->routes.n < SHIM_PRIV_ROUTES_MAX)
				memcpy(a->routes.addr[a->routes.n++], addrs[j]->s6_addr, 16);
			ret = kbpf_route_mtu_add(a->k.ifindex, addrs[j]->s6_addr, mtu);
			if (ret < 0) {
				a->routes_refused++;
				shim_log(LOG_WARNING, "route to %s with MTU %u: %s; packets to it "
					 "within 8 bytes of %s's MTU are dropped (tx_too_big)",
					 inet_addr_str(addrs[j], txt, sizeof(txt)), mtu,
					 ret == -EEXIST ? "the mesh has its own route for it" :
					 strerror(-ret), s->cfg.attach);
			}
		}
	}
	kbpf_peers_prune(&a->k, (const uint8_t (*)[16])keep, n);
	free(keep);
	return 0;
}

static int config_setup(struct shim *s, struct attach_state *a)
{
	struct attach_config c;
	uint64_t cookie = 0;
	int ret;

	memset(&c, 0, sizeof(c));
	if (kbpf_config_get(&a->k, &c) < 0)
		memset(&c, 0, sizeof(c));
	ret = kbpf_netns_cookie(&cookie);
	if (ret < 0) {
		shim_log(LOG_ERR, "network namespace cookie (SO_NETNS_COOKIE, Linux 5.14+): %s",
			 strerror(-ret));
		return ret;
	}
	c.netns_cookie = cookie;
	c.flags = ATTACH_F_ENABLED | (s->cfg.strict ? ATTACH_F_STRICT : 0) |
		  (s->cfg.drop_others ? ATTACH_F_DROP_OTHERS : 0);
	if (s->self.flags & WIRE_HOST_OVERLAY4) {
		struct in_addr v4;
		struct in6_addr m;

		memcpy(&v4, s->self.overlay4, sizeof(v4));
		inet_addr_from4(&m, &v4);
		memcpy(c.self4, m.s6_addr, 16);
		c.flags |= ATTACH_F_HAS4;
	}
	if (s->self.flags & WIRE_HOST_OVERLAY6) {
		memcpy(c.self6, s->self.overlay6, 16);
		c.flags |= ATTACH_F_HAS6;
	}
	c.self_bit = s->self.bit;
	c.ctl_port = s->cfg.port;
	c.l3_off = a->k.l3_off;
	c.mtu = a->k.mtu;
	c.ifindex = (uint32_t)a->k.ifindex;
	/* c.own_slot: the slot in force stays, so an adopted mask stays too */
	return kbpf_config_set(&a->k, &c);
}

/* What an adopted instance enforced: the new one is never wider until capd speaks. */
static void adopted_mask(struct attach_state *a)
{
	struct attach_config c;
	struct attach_own own;
	__u32 slot;

	if (kbpf_config_get(&a->k, &c) < 0)
		return;
	slot = c.own_slot & 1;
	if (kbpf_own_get(&a->k, slot, &own) < 0 || own.epoch == 0)
		return;
	memcpy(a->adopted_mask.w, own.mask, sizeof(a->adopted_mask.w));
	a->provisional = true;
}

/*
 * Once attached, nothing the daemon does while it runs needs a
 * capability: maps, the ring buffer and the socket iterator work through
 * the descriptors it holds. Only removing the MTU routes at a clean stop
 * does (CAP_NET_ADMIN): a helper forked now keeps that capability alone
 * (privsep.c), and this process, which parses what peers send, keeps none.
 */
static int privileges_drop(struct shim *s, struct attach_state *a)
{
	int ret;

	a->routes.ifindex = a->k.ifindex;
	a->routes.del = kbpf_route_mtu_del;
	ret = shim_privsep_start(&a->priv, &a->routes, CAP_NET_ADMIN);
	if (ret < 0) {
		shim_log(LOG_ERR, "starting the privileged helper: %s", strerror(-ret));
		return ret;
	}
	ret = daemon_privileges_drop();
	if (ret < 0)
		shim_log(LOG_ERR, "dropping capabilities: %s", strerror(-ret));
	return ret;
}

/* At a stop: the helper removes the routes (kbpf_detach then leaves them), and goes. */
static void privileges_stop(struct shim *s, struct attach_state *a)
{
	int ret;

	if (a->priv.pid <= 0)
		return;
	ret = shim_privsep_routes_remove(&a->priv);
	if (ret >= 0)
		a->k.routes_removed = true;
	else
		shim_log(LOG_WARNING, "the privileged helper could not remove the MTU routes "
			 "(%s): 'ip route flush proto %d dev %s' does", strerror(-ret),
			 KBPF_ROUTE_PROTO, s->cfg.attach);
	shim_privsep_stop(&a->priv);
}

int shim_attach_run(struct shim *s, const char *pidfile)
{
	static struct attach_state state;
	struct attach_state *a = &state;
	char dir[KBPF_PATH_LEN];
	const char *err = NULL;
	bool had_links;
	int ret, status = 1;

	a->udp_fd = -1;
	a->priv.fd = -1;
	a->ev_sig.fd = a->ev_tick.fd = -1;
	s->mode = &attach_mode;
	s->mode_state = a;
	s->flow_report = send_control;	/* refusal reports: over the mesh too */
	a->ps = calloc(SHIM_PEERS_MAX, sizeof(*a->ps));	/* hosts join while running (hostadd.c) */
	if (!a->ps) {
		shim_log(LOG_ERR, "out of memory");
		return 1;
	}
	if (s->cfg.bpf_dir)
		snprintf(dir, sizeof(dir), "%s", s->cfg.bpf_dir);
	else
		snprintf(dir, sizeof(dir), "%s/%s", KBPF_PIN_ROOT, s->cfg.attach);
	ret = kbpf_open(&a->k, s->cfg.attach, dir, s->cfg.cgroup);
	if (ret < 0) {
		shim_log(LOG_ERR, "attach %s: %s", s->cfg.attach, a->k.err);
		goto out_free;
	}
	had_links = kbpf_links_pinned(&a->k);
	if ((s->self.flags & WIRE_HOST_OVERLAY6) && a->k.mtu < 1280 + STAMP_LEN) {
		shim_log(LOG_ERR, "attach %s: its MTU %u leaves no room for the 8-byte stamp "
			 "(IPv6 needs 1280 after it): raise it to %d or more", s->cfg.attach,
			 a->k.mtu, 1280 + STAMP_LEN);
		goto out_unload;
	}
	if (a->k.mtu < 576 + STAMP_LEN) {
		shim_log(LOG_ERR, "attach %s: its MTU %u leaves no room for the 8-byte stamp",
			 s->cfg.attach, a->k.mtu);
		goto out_unload;
	}
	if (had_links)
		adopted_mask(a);
	if (config_setup(s, a) < 0 || peers_setup(s, a) < 0) {
		shim_log(LOG_ERR, "attach %s: cannot fill the eBPF maps", s->cfg.attach);
		goto out_unload;
	}
	shim_attach_sync(s);
	ret = kbpf_links_attach(&a->k);
	if (ret < 0) {
		shim_log(LOG_ERR, "attach %s: %s", s->cfg.attach, a->k.err);
		goto out_unload;
	}
	ret = kbpf_events_open(&a->k, on_event, s);
	if (ret < 0) {
		shim_log(LOG_ERR, "attach %s: ring buffer: %s", s->cfg.attach, strerror(-ret));
		goto out_detach;
	}
	ret = shim_flows_open(s);
	if (ret < 0) {
		shim_log(LOG_ERR, "%s/flows.log: %s", s->cfg.dir, strerror(-ret));
		goto out_detach;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto out_flows;
	a->ev_events.fd = kbpf_events_fd(&a->k);
	a->ev_events.fn = on_events;
	if (shim_ev_add(s, &a->ev_events) < 0 || attach_net_open(s, a) < 0)
		goto out_ep;
	ret = shim_ctl_open(s, s->cfg.control);
	if (ret < 0) {
		shim_log(LOG_ERR, "control socket %s: %s", s->cfg.control, strerror(-ret));
		goto out_net;
	}
	/* The last capability enforced, or isolated; never wider (state.c). */
	if (shim_cap_start(s, &err) < 0) {
		shim_log(LOG_ERR, "initial capability: %s", err ? err : "failed");
		goto out_ctl;
	}
	a->started = true;
	for (size_t i = 0; i < s->npeers; i++)
		attach_net_epoch_request(s, &s->peers[i], 0);
	shim_log(LOG_INFO, "host %s (bit %u) attached to %s (ifindex %d, MTU %u, stamped "
		 "routes %u) through %s%s, cgroup %s, port %u, %zu peers, epoch %u%s, "
		 "non-captun peers %s", s->self.name, s->self.bit, s->cfg.attach, a->k.ifindex,
		 a->k.mtu, a->k.mtu - STAMP_LEN, a->k.pin_dir,
		 a->k.adopted ? " (adopted from an earlier instance)" : "", a->k.cgroup,
		 s->cfg.port, s->npeers, s->cap.epoch, s->cfg.strict ? ", strict" : "",
		 s->cfg.drop_others ? "dropped" : "passed");
	if (!s->cfg.foreground) {
		shim_log_syslog(true);
		if (daemon_detach(pidfile) < 0)
			goto out_ctl;
	} else if (pidfile && (ret = daemon_pidfile_write(pidfile)) < 0) {
		shim_log(LOG_WARNING, "pid file %s: %s", pidfile, strerror(-ret));
	}
	ret = privileges_drop(s, a);
	if (ret < 0)
		goto out_priv;
	status = loop(s) < 0 ? 1 : 0;
	if (!kbpf_iface_alive(&a->k))
		status = 1;
	shim_log(LOG_INFO, "stopping: detaching from %s", s->cfg.attach);
out_priv:
	privileges_stop(s, a);
	if (pidfile)
		unlink(pidfile);
out_ctl:
	shim_ctl_close(s);
out_net:
	if (a->udp_fd >= 0)
		close(a->udp_fd);
out_ep:
	close(s->epfd);
	s->epfd = -1;
out_flows:
	shim_flows_close(s);
out_detach:
	kbpf_detach(&a->k);
	goto out_free;
out_unload:
	/* nothing of ours attached: leave a dead instance's links as they were */
	if (had_links)
		kbpf_close(&a->k);
	else
		kbpf_detach(&a->k);
out_free:
	for (size_t i = 0; i < s->npeers; i++)
		free(a->ps[i].rx.buf);
	free(a->ps);
	if (a->ev_sig.fd >= 0)
		close(a->ev_sig.fd);
	if (a->ev_tick.fd >= 0)
		close(a->ev_tick.fd);
	s->mode = NULL;
	s->mode_state = NULL;
	s->flow_report = NULL;
	return status;
}

int shim_attach_detach_cmd(const struct shim_config *cfg)
{
	char dir[KBPF_PATH_LEN], err[KBPF_ERR_LEN];
	int ret;

	if (cfg->bpf_dir)
		snprintf(dir, sizeof(dir), "%s", cfg->bpf_dir);
	else
		snprintf(dir, sizeof(dir), "%s/%s", KBPF_PIN_ROOT, cfg->attach);
	ret = kbpf_detach_dir(dir, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "capshim: detach: %s\n", err);
		return 1;
	}
	printf("capshim: detached everything pinned in %s\n", dir);
	return 0;
}
