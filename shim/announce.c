/*
 * shim/announce.c - capabilities: this host's own (host grant AND the
 * grants of the users behind it), signed and announced to every peer; and
 * peers' announcements, verified once per epoch so that the data path only
 * looks an epoch up. A peer cannot widen its capability: the receiver
 * recomputes the mask from the authority-signed tokens it carries.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "shim.h"

/* Ed25519 over the context string and the message, in one pass. */
static int sign_msg(const uint8_t *msg, size_t len, const uint8_t *sk,
		    uint8_t sig[WIRE_SIG_LEN])
{
	crypto_sign_state st;

	if (crypto_sign_init(&st) != 0 ||
	    crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
			       sizeof(PROTO_ANNOUNCE_CONTEXT) - 1) != 0 ||
	    crypto_sign_update(&st, msg, len) != 0 ||
	    crypto_sign_final_create(&st, sig, NULL, sk) != 0)
		return -EIO;
	return 0;
}

static bool verify_msg(const uint8_t *msg, size_t len,
		       const uint8_t sig[WIRE_SIG_LEN], const uint8_t *pk)
{
	crypto_sign_state st;

	return crypto_sign_init(&st) == 0 &&
	       crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
				  sizeof(PROTO_ANNOUNCE_CONTEXT) - 1) == 0 &&
	       crypto_sign_update(&st, msg, len) == 0 &&
	       crypto_sign_final_verify(&st, (uint8_t *)sig, pk) == 0;
}

static void users_append(char *text, const char *name)
{
	size_t n = strlen(text);

	if (n + strlen(name) + 2 > SHIM_USERS_TEXT)
		return;
	if (n > 0)
		text[n++] = ',';
	memcpy(text + n, name, strlen(name) + 1);
}

static bool put(uint8_t *msg, size_t *pos, const void *data, size_t len)
{
	if (*pos + len > SHIM_ANNOUNCE_MAX)
		return false;
	memcpy(msg + *pos, data, len);
	*pos += len;
	return true;
}

/*
 * Sets this host's capability from the user tokens of the sessions open on
 * it: each must verify; the mask is the host grant ANDed with each user's
 * grant; a new epoch is persisted, signed and announced to every peer.
 */
int shim_cap_set(struct shim *s, const uint8_t *const *user_tokens,
		 const size_t *user_lens, unsigned nusers, bool isolate,
		 const char **err)
{
	struct token_trust trust;
	struct proto_announce hdr;
	uint8_t mask_bytes[WIRE_MASK_BYTES];
	struct own_cap *next;
	size_t pos = 0, mlen;
	uint64_t now = shim_now_ns();
	int ret = 0;

	*err = NULL;
	if (nusers > PROTO_ANNOUNCE_USERS_MAX) {
		*err = "too many users";
		return -E2BIG;
	}
	next = calloc(1, sizeof(*next));
	if (!next) {
		*err = "out of memory";
		return -ENOMEM;
	}
	next->mask = s->self.grant;
	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &s->revoked;
	trust.now = shim_unix_now();
	for (unsigned i = 0; i < nusers; i++) {
		struct token t;
		enum token_status st;

		st = user_lens[i] <= WIRE_TOKEN_MAX ?
		     token_verify(user_tokens[i], user_lens[i],
				  WIRE_TYPE_USER_TOKEN, &trust, &t) : TOKEN_ERR_TRAILING;
		if (st != TOKEN_OK) {
			*err = token_status_str(st);
			ret = -EKEYREJECTED;
			goto out;
		}
		mask_and(&next->mask, &t.grant);
		users_append(next->users, t.name);
		memcpy(next->user_tokens[i], user_tokens[i], user_lens[i]);
		next->user_lens[i] = user_lens[i];
	}
	next->nusers = nusers;
	next->isolated = isolate;
	if (isolate)
		mask_clear(&next->mask);
	if (s->cap.epoch >= UINT32_MAX - 1) {
		*err = "epoch space exhausted";
		ret = -EOVERFLOW;
		goto out;
	}
	next->epoch = s->cap.epoch + 1;

	mlen = mask_encode(&next->mask, mask_bytes);
	memset(&hdr, 0, sizeof(hdr));
	hdr.ctl = PROTO_CTL_ANNOUNCE;
	hdr.nusers = (uint8_t)nusers;
	hdr.host_token_len = htobe16((uint16_t)s->self_token_len);
	hdr.epoch = htobe32(next->epoch);
	hdr.issued_at = htobe64(shim_unix_now());
	hdr.mask_len = (uint8_t)mlen;
	ret = -E2BIG;
	*err = "announcement too large";
	if (!put(next->msg, &pos, &hdr, sizeof(hdr)) ||
	    !put(next->msg, &pos, s->self_token, s->self_token_len))
		goto out;
	for (unsigned i = 0; i < nusers; i++) {
		uint16_t be = htobe16((uint16_t)user_lens[i]);

		if (!put(next->msg, &pos, &be, sizeof(be)) ||
		    !put(next->msg, &pos, user_tokens[i], user_lens[i]))
			goto out;
	}
	if (!put(next->msg, &pos, mask_bytes, mlen) ||
	    pos + WIRE_SIG_LEN > SHIM_ANNOUNCE_MAX)
		goto out;
	*err = NULL;
	ret = sign_msg(next->msg, pos, s->keys.sign_sk, next->msg + pos);
	if (ret < 0) {
		*err = "signing failed";
		goto out;
	}
	next->msg_len = pos + WIRE_SIG_LEN;

	/* On disk before anyone sees it: a restart neither reuses the epoch nor widens. */
	ret = shim_cap_persist(s, next);
	if (ret < 0) {
		*err = "the capability could not be saved (DIR/capability)";
		goto out;
	}
	s->cap = *next;
	shim_queue_table_sync(s);	/* before whoever changed it hears back */
	if (s->mode && s->mode->cap_changed) {
		s->mode->cap_changed(s);
		goto out;
	}
	shim_recheck(s);
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (shim_session_send(p, now) &&
		    shim_send_control(s, p, s->cap.msg, s->cap.msg_len) == 0) {
			p->announced_epoch = s->cap.epoch;
			p->announce_sent_ns = now;
		}
	}
out:
	sodium_memzero(next, sizeof(*next));
	free(next);
	return ret;
}

/*
 * After the host token or the revocation list changed: the same users
 * again, under the new grant; a user whose token no longer verifies
 * isolates the host (fail closed) until the session daemon says more.
 */
int shim_cap_refresh(struct shim *s)
{
	const uint8_t *toks[PROTO_ANNOUNCE_USERS_MAX];
	size_t lens[PROTO_ANNOUNCE_USERS_MAX];
	struct token_trust trust;
	bool isolate = s->cap.isolated;
	const char *err = NULL;
	unsigned n = 0;
	int ret;

	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &s->revoked;
	trust.now = shim_unix_now();
	for (unsigned i = 0; i < s->cap.nusers; i++) {
		if (token_verify(s->cap.user_tokens[i], s->cap.user_lens[i],
				 WIRE_TYPE_USER_TOKEN, &trust, NULL) != TOKEN_OK) {
			isolate = true;
			continue;
		}
		toks[n] = s->cap.user_tokens[i];
		lens[n++] = s->cap.user_lens[i];
	}
	if (isolate && !s->cap.isolated)
		shim_log(LOG_WARNING, "a logged-in user's token no longer verifies: "
			 "isolating this host");
	ret = shim_cap_set(s, toks, lens, n, isolate, &err);
	if (ret < 0)
		shim_log(LOG_ERR, "capability refresh: %s", err ? err : strerror(-ret));
	return ret;
}

const struct peer_cap *shim_peer_cap(const struct peer *p, uint32_t epoch)
{
	for (int i = 0; i < SHIM_CAP_EPOCHS; i++)
		if (p->caps[i].valid && p->caps[i].epoch == epoch)
			return &p->caps[i];
	return NULL;
}

/* Keeps a verified capability: the newest supersedes all older ones. */
static void cap_store(struct peer *p, const struct peer_cap *c)
{
	int slot = 0;

	for (int i = 0; i < SHIM_CAP_EPOCHS; i++) {
		if (!p->caps[i].valid) {
			slot = i;
			break;
		}
		if (p->caps[i].epoch < p->caps[slot].epoch)
			slot = i;
	}
	p->caps[slot] = *c;
	if (c->epoch > p->latest_epoch) {
		for (int i = 0; i < SHIM_CAP_EPOCHS; i++)
			if (i != slot && p->caps[i].valid)
				p->caps[i].superseded = true;
		p->latest_epoch = c->epoch;
	} else {
		p->caps[slot].superseded = true;
	}
}

/*
 * Verifies a peer's announcement: layout and lengths, the host's signature,
 * its host token (authority, validity, revocation, and the same key, bit
 * and addresses as the peer), every user token, and that the mask is
 * exactly the host grant ANDed with the users' grants.
 */
static const char *announce_check(struct shim *s, struct peer *p,
				   const uint8_t *msg, size_t len)
{
	struct proto_announce hdr;
	struct token_trust trust;
	struct peer_cap c;
	struct token host;
	struct mask announced, expect;
	enum token_status st;
	size_t pos, tlen, body;
	uint32_t epoch;

	if (len < sizeof(hdr) + WIRE_SIG_LEN)
		return "shorter than its header";
	memcpy(&hdr, msg, sizeof(hdr));
	epoch = be32toh(hdr.epoch);
	tlen = be16toh(hdr.host_token_len);
	if (hdr.reserved[0] || hdr.reserved[1] || hdr.reserved[2] || epoch == 0 ||
	    hdr.nusers > PROTO_ANNOUNCE_USERS_MAX || tlen == 0 ||
	    tlen > WIRE_TOKEN_MAX || hdr.mask_len > WIRE_MASK_BYTES)
		return "bad header fields";
	body = len - WIRE_SIG_LEN;
	if (shim_peer_cap(p, epoch))
		return NULL;
	if (!verify_msg(msg, body, msg + body, p->sign_pk))
		return "bad host signature";

	memcpy(trust.authority_pk, s->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &s->revoked;
	trust.now = shim_unix_now();
	pos = sizeof(hdr);
	if (pos + tlen > body ||
	    (st = token_verify(msg + pos, tlen, WIRE_TYPE_HOST_TOKEN, &trust,
				&host)) != TOKEN_OK)
		return pos + tlen > body ? "host token overruns" : token_status_str(st);
	if (sodium_memcmp(host.tunnel_pk, p->tunnel_pk, PROTO_KEY_LEN) != 0 ||
	    sodium_memcmp(host.sign_pk, p->sign_pk, PROTO_KEY_LEN) != 0 ||
	    host.bit != p->bit || host.flags != p->token.flags ||
	    memcmp(host.overlay4, p->token.overlay4, sizeof(host.overlay4)) ||
	    memcmp(host.overlay6, p->token.overlay6, sizeof(host.overlay6)))
		return "host token is not this peer's";
	pos += tlen;

	memset(&c, 0, sizeof(c));
	expect = host.grant;
	for (unsigned i = 0; i < hdr.nusers; i++) {
		struct token u;
		uint16_t ulen;

		if (pos + sizeof(ulen) > body)
			return "user token length overruns";
		memcpy(&ulen, msg + pos, sizeof(ulen));
		ulen = be16toh(ulen);
		pos += sizeof(ulen);
		if (ulen > body - pos ||
		    (st = token_verify(msg + pos, ulen, WIRE_TYPE_USER_TOKEN, &trust,
					&u)) != TOKEN_OK)
			return ulen > body - pos ? "user token overruns" : token_status_str(st);
		pos += ulen;
		mask_and(&expect, &u.grant);
		users_append(c.users, u.name);
	}
	if (body - pos != hdr.mask_len ||
	    !mask_decode(msg + pos, hdr.mask_len, &announced))
		return "malformed mask";
	{
		struct mask inside = announced;

		mask_and(&inside, &expect);
		if (!mask_equal(&inside, &announced))
			return "mask is wider than the AND of the tokens' grants";
	}

	c.valid = true;
	c.epoch = epoch;
	c.mask = announced;
	c.received_ns = shim_now_ns();
	if (epoch >= p->latest_epoch) {
		uint8_t *copy = malloc(len);

		if (copy) {
			memcpy(copy, msg, len);
			free(p->announce);
			p->announce = copy;
			p->announce_len = len;
		}
	}
	cap_store(p, &c);
	if (c.epoch == p->latest_epoch)
		s->recheck_due = true;	/* once per loop turn, however many arrive */
	shim_log(LOG_INFO, "peer %s: capability epoch %u mask bits %u users [%s]",
		 p->name, epoch, mask_count(&announced), c.users);
	return NULL;
}

/*
 * After a reload: a peer's latest announcement must still verify under
 * the new revocation list and its new token; if not, all its epochs are
 * forgotten, its packets name an unknown epoch, and we ask it again.
 */
void shim_peer_caps_recheck(struct shim *s, struct peer *p)
{
	const char *why;
	uint8_t *ann = p->announce;
	size_t len = p->announce_len;

	if (!ann)
		return;
	p->announce = NULL;
	for (int i = 0; i < SHIM_CAP_EPOCHS; i++)
		p->caps[i].valid = false;
	p->latest_epoch = 0;
	why = announce_check(s, p, ann, len);
	if (why)
		shim_log(LOG_WARNING, "peer %s: capability withdrawn after reload: %s",
			 p->name, why);
	free(ann);
}

bool shim_announce_receive(struct shim *s, struct peer *p, const uint8_t *msg,
			   size_t len)
{
	const char *why = announce_check(s, p, msg, len);

	if (why)
		shim_log(LOG_WARNING, "peer %s: announcement refused: %s", p->name, why);
	return why == NULL;
}
