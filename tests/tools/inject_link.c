/*
 * tests/tools/inject_link.c - capinject's side of the underlay: one UDP
 * socket towards one capshim, the Noise IK handshake through shim/noise.c
 * with the macs and cookies of shim/cookie.c, and data/control messages
 * sealed and opened exactly as shim/send.c and shim/receive.c do (header
 * as associated data, Noise's nonce).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "capinject.h"

#define DEFAULT_PORT 51900

int inj_endpoint_parse(const char *text, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon;
	unsigned long p = DEFAULT_PORT;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		n = (size_t)(end - text - 1);
		port = end[1] ? end + 2 : NULL;
		text++;
	} else if ((colon = strchr(text, ':')) && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - text);
		port = colon + 1;
	} else {
		n = strlen(text);
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (port) {
		char *end;

		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || p == 0 || p > 65535)
			return -EINVAL;
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
	}
	return 0;
}

int inj_link_open(struct inj_link *l, const char *endpoint, uint16_t port)
{
	struct sockaddr_storage self;
	socklen_t slen;
	int ret;

	l->fd = -1;
	ret = inj_endpoint_parse(endpoint, &l->to, &l->tolen);
	if (ret < 0)
		return ret;
	l->fd = socket(l->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -errno;
	memset(&self, 0, sizeof(self));
	self.ss_family = l->to.ss_family;
	if (self.ss_family == AF_INET) {
		((struct sockaddr_in *)&self)->sin_port = htons(port);
		slen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&self)->sin6_port = htons(port);
		slen = sizeof(struct sockaddr_in6);
	}
	if (bind(l->fd, (struct sockaddr *)&self, slen) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&self, &slen) < 0) {
		ret = -errno;
		close(l->fd);
		l->fd = -1;
		return ret;
	}
	l->local_port = ntohs(self.ss_family == AF_INET ?
			      ((struct sockaddr_in *)&self)->sin_port :
			      ((struct sockaddr_in6 *)&self)->sin6_port);
	return 0;
}

void inj_link_close(struct inj_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	noise_keypair_wipe(&l->kp);
	cookie_maker_wipe(&l->cookie);
}

int inj_send(struct inj_link *l, const void *buf, size_t len)
{
	ssize_t n = sendto(l->fd, buf, len, 0, (const struct sockaddr *)&l->to,
			   l->tolen);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only datagrams from the target's endpoint count. */
long inj_recv(struct inj_link *l, uint8_t *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left < 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		n = recvfrom(l->fd, buf, cap, 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			return -errno;
		}
		if (flen == l->tolen && memcmp(&from, &l->to, flen) == 0)
			return (long)n;
	}
}

/*
 * Sends initiations until a response completes one. A cookie reply (the
 * target under load) is taken for mac2 and the initiation sent again at
 * once, as capshim does.
 */
int inj_handshake(struct inj_link *l, const struct noise_static *local,
		  const uint8_t remote_pk[PROTO_KEY_LEN], int tries,
		  int timeout_ms)
{
	struct proto_initiation init;
	struct noise_handshake hs;
	uint8_t buf[512];
	int ret = -ETIMEDOUT;

	cookie_maker_init(&l->cookie, remote_pk);
	for (int t = 0; t < tries && ret != 0; t++) {
		uint32_t index = randombytes_random();
		bool resend = true;
		int64_t deadline = now_ms() + timeout_ms;

		while (ret != 0 && now_ms() < deadline) {
			struct proto_response resp;
			struct proto_cookie_reply cr;
			long n;

			if (resend) {
				if (noise_initiation_create(&hs, local, remote_pk, index, &init) < 0)
					return -EIO;
				cookie_add_macs(&l->cookie, &init, sizeof(init),
						(uint64_t)now_ms() * 1000000u);
				if ((ret = inj_send(l, &init, sizeof(init))) < 0)
					return ret;
				ret = -ETIMEDOUT;
				resend = false;
			}
			n = inj_recv(l, buf, sizeof(buf), (int)(deadline - now_ms()));
			if (n < 0) {
				ret = (int)n;
				break;
			}
			if (n == (long)sizeof(cr) && buf[0] == PROTO_COOKIE_REPLY) {
				memcpy(&cr, buf, sizeof(cr));
				if (be32toh(cr.receiver) == index &&
				    cookie_reply_consume(&l->cookie, &cr,
							 (uint64_t)now_ms() * 1000000u)) {
					if (l->verbose)
						fprintf(stderr, "capinject: cookie reply: "
							"initiating again with mac2\n");
					resend = true;
				}
				continue;
			}
			if (n != (long)sizeof(resp) || buf[0] != PROTO_RESPONSE)
				continue;
			memcpy(&resp, buf, sizeof(resp));
			if (noise_response_consume(&hs, local, &resp, &l->kp)) {
				l->send_counter = 0;
				l->up = true;
				ret = 0;
			}
		}
		noise_handshake_wipe(&hs);
		if (ret != 0 && l->verbose)
			fprintf(stderr, "capinject: no response to initiation %d\n", t + 1);
	}
	sodium_memzero(&init, sizeof(init));
	return ret;
}

size_t inj_seal(struct inj_link *l, uint8_t type, uint32_t epoch,
		uint32_t receiver, const uint8_t *msg, size_t len, uint8_t *out,
		size_t cap)
{
	size_t padded = type == PROTO_DATA ?
			(len + PROTO_PAD - 1) / PROTO_PAD * PROTO_PAD : len;
	struct proto_data_hdr hdr;
	unsigned long long clen = 0;
	uint8_t nonce[12];

	if (padded + PROTO_OVERHEAD > cap)
		return 0;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.receiver = htobe32(receiver ? receiver : l->kp.remote_index);
	hdr.counter = htobe64(l->send_counter);
	hdr.epoch = htobe32(epoch);
	noise_nonce(l->send_counter, nonce);
	l->send_counter++;
	memcpy(out, &hdr, sizeof(hdr));
	if (len)
		memcpy(out + sizeof(hdr), msg, len);
	memset(out + sizeof(hdr) + len, 0, padded - len);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out + sizeof(hdr), &clen,
						      out + sizeof(hdr), padded,
						      out, sizeof(hdr), NULL, nonce,
						      l->kp.send) != 0)
		return 0;
	return sizeof(hdr) + (size_t)clen;
}

bool inj_open(struct inj_link *l, uint8_t *buf, size_t len, uint8_t *type,
	      uint8_t **plain, size_t *plain_len)
{
	struct proto_data_hdr hdr;
	unsigned long long plen = 0;
	uint8_t nonce[12];

	if (!l->up || len < PROTO_OVERHEAD)
		return false;
	memcpy(&hdr, buf, sizeof(hdr));
	if ((hdr.type != PROTO_DATA && hdr.type != PROTO_CONTROL) ||
	    be32toh(hdr.receiver) != l->kp.local_index)
		return false;
	noise_nonce(be64toh(hdr.counter), nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(buf + sizeof(hdr), &plen, NULL,
						      buf + sizeof(hdr),
						      len - sizeof(hdr), buf,
						      sizeof(hdr), nonce,
						      l->kp.recv) != 0)
		return false;
	*type = hdr.type;
	*plain = buf + sizeof(hdr);
	*plain_len = (size_t)plen;
	return true;
}
