/*
 * kernel-bpf/attach_event.h - the record attach mode's eBPF programs push
 * to their ring buffer (map "events") for user space: a refused connect()
 * or sendmsg() with the process that made it, a packet dropped on the
 * mesh interface, or an epoch to ask a peer for. Fixed-width fields in
 * an explicit order; addresses IPv6 or v4-mapped, ports host order.
 *
 * It is what the denied-flow log is fed from: one record, one line.
 */
#ifndef CAPTUN_KBPF_ATTACH_EVENT_H
#define CAPTUN_KBPF_ATTACH_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum attach_event_kind {
	EV_CONNECT_DENIED = 1,		/* connect(): EPERM, the sender's own refusal */
	EV_SENDMSG_DENIED = 2,		/* sendmsg() of a datagram: EPERM */
	EV_TX_DENIED = 3,		/* a packet dropped on egress (no process) */
	EV_RX_DENIED = 4,		/* a packet whose sender may not reach us */
	EV_UNKNOWN_EPOCH = 5,		/* a packet under an epoch we do not know */
};

enum attach_event_size {
	EV_COMM_LEN = 16,		/* TASK_COMM_LEN */
};

struct attach_event {
	__u64 time_ns;			/* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u32 kind;			/* enum attach_event_kind */
	__u32 pid;			/* thread-group id; 0 from the packet path */
	__u32 uid, gid;			/* 0 from the packet path */
	__u32 epoch;			/* ours (tx) or the sender's (rx) */
	__u16 peer_bit;			/* the other captun host */
	__u8 family;			/* AF_INET or AF_INET6 */
	__u8 proto;			/* IPPROTO_* */
	__u16 sport, dport;
	__u8 reserved[4];
	__u8 src[16], dst[16];
	char comm[EV_COMM_LEN];		/* NUL-padded; empty from the packet path */
};

_Static_assert(sizeof(struct attach_event) == 88, "attach_event layout");

#endif
