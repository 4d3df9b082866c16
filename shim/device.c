/*
 * shim/device.c - what both halves of the data path share: the buffers
 * they work in (transmit batches, receive batch, scratch), the handshake
 * queue with its cookie checker and per-source budget, and the drop
 * counters with their names.
 */
#include <errno.h>
#include <stdlib.h>

#include "shim.h"

static const char *const drop_names[DROP_COUNT] = {
	[DROP_RX_SHORT] = "rx_short",
	[DROP_RX_TYPE] = "rx_type",
	[DROP_RX_MAC1] = "rx_mac1",
	[DROP_RX_HANDSHAKE] = "rx_handshake",
	[DROP_RX_UNKNOWN_KEY] = "rx_unknown_key",
	[DROP_RX_HANDSHAKE_REPLAY] = "rx_handshake_replay",
	[DROP_RX_UNKNOWN_INDEX] = "rx_unknown_index",
	[DROP_RX_SESSION_EXPIRED] = "rx_session_expired",
	[DROP_RX_REPLAY] = "rx_replay",
	[DROP_RX_DECRYPT] = "rx_decrypt",
	[DROP_RX_MALFORMED_INNER] = "rx_malformed_inner",
	[DROP_RX_SOURCE] = "rx_source",
	[DROP_RX_UNKNOWN_EPOCH] = "rx_unknown_epoch",
	[DROP_RX_STALE_EPOCH] = "rx_stale_epoch",
	[DROP_RX_DENIED] = "rx_denied",
	[DROP_RX_NOT_FOR_US] = "rx_not_for_us",
	[DROP_RX_ANNOUNCE_BAD] = "rx_announce_bad",
	[DROP_RX_CONTROL_BAD] = "rx_control_bad",
	[DROP_RX_HANDSHAKE_QUEUE] = "rx_handshake_queue",
	[DROP_RX_COOKIE] = "rx_cookie",
	[DROP_RX_COOKIE_BAD] = "rx_cookie_bad",
	[DROP_RX_HANDSHAKE_RATE] = "rx_handshake_rate",
	[DROP_TX_NO_PEER] = "tx_no_peer",
	[DROP_TX_DENIED] = "tx_denied",
	[DROP_TX_TOO_BIG] = "tx_too_big",
	[DROP_TX_NO_SESSION] = "tx_no_session",
	[DROP_TX_MALFORMED] = "tx_malformed",
	[DROP_TX_SEND_ERROR] = "tx_send_error",
	[DROP_RX_TUN_ERROR] = "rx_tun_error",
	[DROP_RX_ICMP_UNRELATED] = "rx_icmp_unrelated",
	[DROP_TX_ICMP_UNRELATED] = "tx_icmp_unrelated",
};

const char *shim_drop_name(enum shim_drop d)
{
	return (unsigned)d < DROP_COUNT ? drop_names[d] : "unknown";
}

void shim_drop(struct shim *s, enum shim_drop d)
{
	s->drops[d]++;
}

/* Needs s->stat (the cookie keys derive from our public key). */
int shim_datapath_init(struct shim *s)
{
	cookie_checker_init(&s->cookies, s->stat.pk);
	if (ratelimiter_init(&s->rl) < 0 || shim_hsqueue_init(s) < 0) {
		shim_datapath_free(s);
		return -ENOMEM;
	}
	s->tx4.arena = malloc(SHIM_ARENA);
	s->tx6.arena = malloc(SHIM_ARENA);
	s->rxbufs = malloc((size_t)UDP_BATCH * UDP_BUF_MAX);
	s->buf = malloc(SHIM_PKT_MAX);
	s->buf2 = malloc(SHIM_PKT_MAX);
	s->tx4.jobs = calloc(SHIM_JOBS, sizeof(*s->tx4.jobs));
	s->tx6.jobs = calloc(SHIM_JOBS, sizeof(*s->tx6.jobs));
	s->rx_jobs = calloc(SHIM_JOBS, sizeof(*s->rx_jobs));
	s->rx_items = shim_rx_items_alloc();
	if (!s->tx4.arena || !s->tx6.arena || !s->rxbufs || !s->buf || !s->buf2 ||
	    !s->tx4.jobs || !s->tx6.jobs || !s->rx_jobs || !s->rx_items) {
		shim_datapath_free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		s->rx[i].buf = s->rxbufs + (size_t)i * UDP_BUF_MAX;
		s->rx[i].cap = UDP_BUF_MAX;
	}
	offload_gro_init(&s->gro);
	return 0;
}

void shim_datapath_free(struct shim *s)
{
	free(s->tx4.arena);
	free(s->tx6.arena);
	free(s->rxbufs);
	free(s->buf);
	free(s->buf2);
	free(s->tx4.jobs);
	free(s->tx6.jobs);
	free(s->rx_jobs);
	free(s->rx_items);
	s->tx4.jobs = s->tx6.jobs = s->rx_jobs = NULL;
	s->rx_items = NULL;
	s->tx4.arena = s->tx6.arena = s->rxbufs = s->buf = s->buf2 = NULL;
	shim_hsqueue_free(s);
	ratelimiter_free(&s->rl);
	cookie_checker_wipe(&s->cookies);
}

