/*
 * shim/recheck.c - the tracked flows against the capabilities in force:
 * whenever one changes (this host's, or a peer's announced one), every
 * flow whose opener may no longer reach the other host is cut, whichever
 * side opened it, and a TCP connection is reset at once both ways: an RST
 * into the TUN for the local end, and one through the tunnel for the
 * remote end when this host may still send to it (the peer's capshim
 * resets its end itself when it learns the change, in any case).
 */
#include <errno.h>
#include <string.h>

#include "shim.h"

enum {
	TCPF_RST = 0x04,
	TCPF_ACK = 0x10,
};

/* A peer's capability now: its latest announced one, if still valid. */
static const struct peer_cap *peer_cap_now(const struct peer *p)
{
	const struct peer_cap *c = shim_peer_cap(p, p->latest_epoch);

	return c && !c->superseded && !p->disabled ? c : NULL;
}

static bool opener_may(void *arg, const struct conntrack_flow *fl)
{
	struct shim *s = arg;
	const struct peer_cap *c;
	const struct peer *p;

	if (fl->peer >= s->npeers)
		return false;
	p = &s->peers[fl->peer];
	if (fl->local_opened)
		return !p->disabled && mask_bit_test(&s->cap.mask, p->bit);
	c = peer_cap_now(p);
	return c && mask_bit_test(&c->mask, s->self.bit);
}

/*
 * The RST that a TCP end accepts: with the sequence number it expects
 * next (the last acknowledgment it sent), or, before it acknowledged
 * anything (its SYN alone), RST|ACK acknowledging its SYN.
 */
static size_t rst_to(uint8_t family, const struct in6_addr *to, uint16_t to_port,
		     const struct in6_addr *from, uint16_t from_port, bool acked,
		     uint32_t its_ack, uint32_t its_next, uint8_t *out)
{
	if (acked)
		return inet_rst(family, from, from_port, to, to_port, its_ack, 0, TCPF_RST, out);
	return inet_rst(family, from, from_port, to, to_port, 0, its_next,
			TCPF_RST | TCPF_ACK, out);
}

static void reset(void *arg, const struct conntrack_flow *fl)
{
	struct shim *s = arg;
	uint8_t out[INET_REJECT_MAX];
	struct peer *p;
	size_t n;

	if (fl->peer >= s->npeers)
		return;
	p = &s->peers[fl->peer];
	n = rst_to(fl->family, &fl->local, fl->lport, &fl->remote, fl->rport,
		   fl->local_acked, fl->local_ack, fl->local_next, out);
	if (shim_tun_write(s, out, n) < 0)
		shim_drop(s, DROP_RX_TUN_ERROR);
	s->flows_reset++;
	if (p->disabled || !mask_bit_test(&s->cap.mask, p->bit) || !shim_session_send(p, s->now))
		return;
	n = rst_to(fl->family, &fl->remote, fl->rport, &fl->local, fl->lport,
		   fl->remote_acked, fl->remote_ack, fl->remote_next, out);
	shim_send_packet(s, p, out, n);
}

void shim_recheck(struct shim *s)
{
	size_t n;

	s->recheck_due = false;
	s->now = shim_now_ns();
	n = conntrack_recheck(s->ct, opener_may, reset, s, s->now);
	if (n)
		shim_log(6, "capability changed: %zu flow%s cut", n, n == 1 ? "" : "s");
	shim_tx_flush(s);
}

void shim_recheck_settle(struct shim *s)
{
	if (s->recheck_due)
		shim_recheck(s);
}
