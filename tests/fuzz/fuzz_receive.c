/*
 * tests/fuzz/fuzz_receive.c - capshim's receive path, from the first byte
 * of a datagram to delivery: a real struct shim with one peer and one live
 * session. The first input byte picks how far the rest may get:
 *
 *   0  raw datagram (header checks, handshake parsers, index lookup)
 *   1  the rest is a data plaintext, sealed under the session (inner
 *      packet parsing, source/destination/epoch/capability checks)
 *   2  the rest is a control plaintext, sealed (control dispatch)
 *   3  the rest is an announcement body, signed with the peer's real key
 *      and sealed (token and mask parsing behind the signature)
 *   4  the rest is a handshake message (148 or 92 bytes taken, type set
 *      by length) with valid macs from the peer's side, so that it gets
 *      through the queue, the cookie check and the per-source budget
 *      to the Noise code
 *
 * Handshake messages are queued: every input ends with a drain.
 * Run with -close_fd_mask=2: refusals are logged to stderr.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_shim.h"

static uint64_t counter;
static uint32_t sources;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_shim_make();
	return 0;
}

/* Seals plaintext as the peer would, into buf; returns the datagram length. */
static size_t seal(uint8_t type, uint32_t epoch, const uint8_t *pt, size_t len,
		   uint8_t *buf)
{
	struct session *se = &s.peers[0].sessions[0];
	struct proto_data_hdr hdr = { .type = type };
	uint8_t nonce[12] = { 0 };
	unsigned long long clen = 0;

	hdr.receiver = htobe32(se->kp.local_index);
	hdr.counter = htobe64(counter);
	hdr.epoch = htobe32(epoch);
	noise_nonce(counter, nonce);
	counter++;
	memcpy(buf, &hdr, sizeof(hdr));
	crypto_aead_chacha20poly1305_ietf_encrypt(buf + sizeof(hdr), &clen, pt, len,
						  buf, sizeof(hdr), NULL, nonce,
						  se->kp.recv);
	return sizeof(hdr) + (size_t)clen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[PROTO_CONTROL_MAX + 256], pt[PROTO_CONTROL_MAX + 128];
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct peer *p = &s.peers[0];
	size_t len;

	if (size < 1 || size > PROTO_CONTROL_MAX)
		return 0;
	s.now = shim_now_ns();
	switch (data[0] % 5) {
	case 0:
		memcpy(buf, data + 1, size - 1);
		len = size - 1;
		break;
	case 1:
		len = seal(PROTO_DATA, p->latest_epoch, data + 1, size - 1, buf);
		break;
	case 2:
		len = seal(PROTO_CONTROL, 1, data + 1, size - 1, buf);
		break;
	case 4: {
		struct cookie_maker m;
		size_t n = size - 1 >= sizeof(struct proto_initiation) ?
			   sizeof(struct proto_initiation) : sizeof(struct proto_response);

		if (size - 1 < n)
			return 0;
		memcpy(buf, data + 1, n);
		buf[0] = n == sizeof(struct proto_initiation) ? PROTO_INITIATION : PROTO_RESPONSE;
		buf[1] = buf[2] = buf[3] = 0;
		cookie_maker_init(&m, s.stat.pk);
		cookie_add_macs(&m, buf, n, s.now);
		len = n;
		/* A new source each time, and no load: on to the DHs. */
		from.sin_addr.s_addr = htonl(++sources);
		s.hsq.under_load_until_ns = 0;
		s.hsq.dh_in_window = 0;
		break;
	}
	default: {
		crypto_sign_state st;
		size_t n = size - 1;

		memcpy(pt, data + 1, n);
		pt[0] = PROTO_CTL_ANNOUNCE;
		crypto_sign_init(&st);
		crypto_sign_update(&st, (const uint8_t *)PROTO_ANNOUNCE_CONTEXT,
				   sizeof(PROTO_ANNOUNCE_CONTEXT) - 1);
		crypto_sign_update(&st, pt, n);
		crypto_sign_final_create(&st, pt + n, NULL, peer_keys.sign_sk);
		len = seal(PROTO_CONTROL, 1, pt, n + WIRE_SIG_LEN, buf);
		break;
	}
	}
	shim_rx_datagram(&s, buf, len, (const struct sockaddr *)&from, sizeof(from));
	while (shim_handshake_drain(&s))
		;
	return 0;
}
