/*
 * shim/flows_attach.c - attach mode's refusals (kernel-bpf/attach_event.h,
 * pushed by its eBPF programs into a ring buffer) as flow records, through
 * the same path as capshim's own (flows.c): a refused connect() or
 * sendmsg() carries the process that made it (tgid, uid, comm) straight
 * from the cgroup hook, so no NFQUEUE reader is needed in attach mode.
 *
 *   EV_CONNECT_DENIED, EV_SENDMSG_DENIED  sender record, with the process
 *   EV_TX_DENIED                          sender record (packet path)
 *   EV_RX_DENIED                          receiver record (capability)
 *   EV_UNKNOWN_EPOCH                      receiver record (unknown epoch)
 *
 * The daemon of attach mode calls shim_flow_attach_event from its ring
 * buffer callback (kbpf_events_open), sets s->flow_report to its own
 * channel to the peers (the report carries the flow id, so that the
 * receiver's record joins), and hands a PROTO_CTL_DENIED it receives to
 * shim_flow_reported.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "../kernel-bpf/attach_event.h"
#include "shim.h"

static struct peer *peer_by_bit(struct shim *s, unsigned bit)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].bit == bit)
			return &s->peers[i];
	return NULL;
}

int shim_flow_attach_event(struct shim *s, const struct attach_event *e)
{
	struct peer *p = peer_by_bit(s, e->peer_bit);
	struct inet_flow f;
	struct flowrec attr;

	if (!p)
		return -ENOENT;
	memset(&f, 0, sizeof(f));
	f.family = e->family;
	f.proto = e->proto;
	f.sport = e->sport;
	f.dport = e->dport;
	memcpy(&f.src, e->src, sizeof(f.src));
	memcpy(&f.dst, e->dst, sizeof(f.dst));
	s->now = shim_now_ns();
	switch (e->kind) {
	case EV_CONNECT_DENIED:
	case EV_SENDMSG_DENIED: {
		struct passwd pw, *res = NULL;
		char buf[1024];

		flowrec_init(&attr);
		attr.uid = e->uid;
		attr.pid = e->pid;
		memcpy(attr.comm, e->comm, sizeof(attr.comm) - 1);
		attr.comm[sizeof(attr.comm) - 1] = '\0';
		if (getpwuid_r(e->uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
		    strlen(pw.pw_name) < sizeof(attr.user))
			memcpy(attr.user, pw.pw_name, strlen(pw.pw_name) + 1);
		shim_flow_denied_tx(s, p, &f, &attr, FLOWREC_VIA_BPF, NULL);
		return 0;
	}
	case EV_TX_DENIED:
		shim_flow_denied_tx(s, p, &f, NULL, FLOWREC_VIA_BPF, NULL);
		return 0;
	case EV_RX_DENIED:
		shim_flow_denied_rx(s, p, e->epoch, FLOWREC_R_CAPABILITY, &f, FLOWREC_VIA_BPF);
		return 0;
	case EV_UNKNOWN_EPOCH:
		shim_flow_denied_rx(s, p, e->epoch, FLOWREC_R_UNKNOWN_EPOCH, &f, FLOWREC_VIA_BPF);
		return 0;
	default:
		return -EINVAL;
	}
}
