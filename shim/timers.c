/*
 * shim/timers.c - every tick, per peer, after WireGuard's timers:
 * retransmit a pending initiation, rekey an old session, give up on a
 * handshake that never completes, expire old sessions, keep alive.
 */
#include <stdlib.h>

#include <sodium.h>

#include "shim.h"

#define NS UINT64_C(1000000000)

static void expire(struct peer *p, int *slot, uint64_t now)
{
	if (*slot >= 0 && now - p->sessions[*slot].created_ns >
				  3ull * PROTO_REJECT_AFTER_TIME_S * NS) {
		shim_session_clear(&p->sessions[*slot]);
		*slot = -1;
	}
}

/*
 * A responder rekeys a little later than the initiator would, so that the
 * two do not cross; 15 s, or the test's shortened rekey time if shorter.
 */
static unsigned responder_slack(const struct shim *s)
{
	return s->cfg.rekey_after_s < 15 ? s->cfg.rekey_after_s : 15;
}

/*
 * Every tick: retransmit, rekey, expire, keep alive. As WireGuard does, a
 * peer that has sent nothing back for KEEPALIVE + REKEY_TIMEOUT after we
 * sent it data gets a new handshake: its session or endpoint may be gone.
 */
void shim_timers(struct shim *s, uint64_t now)
{
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		struct session *cur = p->cur >= 0 ? &p->sessions[p->cur] : NULL;

		if (p->hs_pending) {
			if (now - p->hs_first_ns > PROTO_REKEY_ATTEMPT_S * NS) {
				p->hs_pending = false;
				p->hs_slot = -1;
				noise_handshake_wipe(&p->hs);
				shim_queue_drop(s, p);
			} else if (now - p->hs_sent_ns >
				   PROTO_REKEY_TIMEOUT_S * NS +
				   randombytes_uniform(333) * 1000000ull) {
				shim_handshake_start(s, p);
			}
		} else if (cur && now - cur->created_ns >
			   (s->cfg.rekey_after_s + (cur->kp.initiator ? 0 : responder_slack(s))) * NS &&
			   now - p->last_tx_ns < PROTO_KEEPALIVE_S * NS) {
			shim_handshake_start(s, p);
		} else if (cur && cur->send_counter > PROTO_REKEY_AFTER_MESSAGES) {
			shim_handshake_start(s, p);
		} else if (p->unanswered_tx_ns && now - p->unanswered_tx_ns >
			   (PROTO_KEEPALIVE_S + PROTO_REKEY_TIMEOUT_S) * NS) {
			p->unanswered_tx_ns = 0;
			shim_handshake_start(s, p);
		}
		expire(p, &p->cur, now);
		expire(p, &p->prev, now);
		expire(p, &p->next, now);
		if (cur && p->cur >= 0 && p->last_rx_ns > p->last_tx_ns &&
		    now - p->last_rx_ns < PROTO_KEEPALIVE_S * NS &&
		    now - p->last_tx_ns > PROTO_KEEPALIVE_S * NS &&
		    shim_session_send(p, now))
			shim_send_control(s, p, NULL, 0);
	}
}
