/*
 * bench/bench_aead.c - the crypto alone: ChaCha20-Poly1305 IETF seal and
 * open, libsodium (crypto_aead_chacha20poly1305_ietf_*) against OpenSSL's
 * libcrypto through shim/aead.h, at 64, 512, 1408 and 65535 bytes of
 * plaintext with the data header's 20 bytes of associated data, in place,
 * one thread, as the data path does it.
 *
 * Prints ns per message and GB/s (1e9 bytes of plaintext) for each, and
 * the libcrypto/libsodium speed ratio. Rounds alternate the two libraries
 * so that a busy machine slows both alike; the best round counts.
 * capshim itself uses libsodium below AEAD_SMALL bytes (shim/aead.c), where
 * this benchmark shows the EVP calls' fixed cost outweighing the faster
 * bulk code.
 *
 * It asserts nothing about speed; it exits non-zero only if the two
 * libraries disagree on a ciphertext or an open fails.
 *
 *   build/bench_aead [--ms MS] [--rounds N] [--sizes N,N,...]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "aead.h"

enum { HDR = 20, MAX_SIZES = 16 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum lib { LIB_SODIUM, LIB_CRYPTO };
enum op { OP_SEAL, OP_OPEN };

struct ctx {
	uint8_t key[32];
	struct aead enc, dec;
	uint8_t *buf;			/* header + text + tag */
	uint8_t *sealed;		/* a sealed copy, for opening */
};

static void nonce_of(uint64_t n, uint8_t nonce[12])
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* Seconds per message of one run of about ms milliseconds. */
static double run(struct ctx *c, enum lib lib, enum op op, size_t len, double ms)
{
	uint8_t nonce[12];
	uint64_t n = 0;
	double t0 = now_s(), t;
	unsigned long long out = 0;

	do {
		for (int k = 0; k < 64; k++, n++) {
			if (op == OP_SEAL) {
				nonce_of(n, nonce);
				if (lib == LIB_SODIUM)
					crypto_aead_chacha20poly1305_ietf_encrypt(
						c->buf + HDR, &out, c->buf + HDR, len,
						c->buf, HDR, NULL, nonce, c->key);
				else if (aead_seal(&c->enc, nonce, c->buf, HDR,
						   c->buf + HDR, len, c->buf + HDR) < 0)
					exit(1);
			} else {
				/* Opening the same sealed message keeps it valid. */
				nonce_of(0, nonce);
				memcpy(c->buf, c->sealed, HDR);
				if (lib == LIB_SODIUM) {
					if (crypto_aead_chacha20poly1305_ietf_decrypt(
						    c->buf + HDR, &out, NULL, c->sealed + HDR,
						    len + 16, c->sealed, HDR, nonce, c->key) != 0)
						exit(1);
				} else if (!aead_open(&c->dec, nonce, c->sealed, HDR,
						      c->sealed + HDR, len + 16, c->buf + HDR)) {
					exit(1);
				}
			}
		}
		t = now_s();
	} while (t - t0 < ms / 1000);
	return (t - t0) / (double)n;
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = { 64, 512, 1408, 65535 };
	unsigned nsizes = 4, rounds = 5;
	double ms = 200;
	struct ctx c;
	unsigned long long out = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
			ms = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *p = argv[++i];

			nsizes = 0;
			while (*p && nsizes < MAX_SIZES) {
				sizes[nsizes++] = strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
		} else {
			fprintf(stderr, "usage: bench_aead [--ms MS] [--rounds N] [--sizes N,N,...]\n");
			return 2;
		}
	}
	if (sodium_init() < 0 || rounds == 0 || ms <= 0)
		return 2;
	memset(&c, 0, sizeof(c));
	randombytes_buf(c.key, sizeof(c.key));
	c.buf = malloc(HDR + 65536 + 16);
	c.sealed = malloc(HDR + 65536 + 16);
	if (!c.buf || !c.sealed || aead_init(&c.enc, c.key, true) < 0 ||
	    aead_init(&c.dec, c.key, false) < 0) {
		fprintf(stderr, "bench_aead: setup failed\n");
		return 1;
	}
	/* libcrypto at every size here; capshim's choice by size is aead.c's. */
	c.enc.small = c.dec.small = 0;
	printf("ChaCha20-Poly1305 IETF, %u rounds of %.0f ms, best round; "
	       "in place, 20 bytes of AD\n", rounds, ms);
	printf("%-6s %-5s %14s %14s %14s %14s %8s\n", "bytes", "op",
	       "sodium ns/msg", "sodium GB/s", "crypto ns/msg", "crypto GB/s", "ratio");
	for (unsigned si = 0; si < nsizes; si++) {
		size_t len = sizes[si];
		uint8_t nonce[12];

		if (len > 65535) {
			fprintf(stderr, "bench_aead: sizes up to 65535\n");
			return 2;
		}
		/* Both libraries must agree byte for byte before timing. */
		randombytes_buf(c.buf, HDR + len);
		memcpy(c.sealed, c.buf, HDR + len);
		nonce_of(0, nonce);
		crypto_aead_chacha20poly1305_ietf_encrypt(c.sealed + HDR, &out,
			c.sealed + HDR, len, c.sealed, HDR, NULL, nonce, c.key);
		if (aead_seal(&c.enc, nonce, c.buf, HDR, c.buf + HDR, len, c.buf + HDR) < 0 ||
		    memcmp(c.buf, c.sealed, HDR + len + 16) != 0) {
			fprintf(stderr, "bench_aead: libraries disagree at %zu bytes\n", len);
			return 1;
		}
		for (int op = OP_SEAL; op <= OP_OPEN; op++) {
			double best[2] = { 1e9, 1e9 };

			for (unsigned r = 0; r < rounds; r++) {
				for (int lib = LIB_SODIUM; lib <= LIB_CRYPTO; lib++) {
					double t = run(&c, lib, op, len, ms);

					if (t < best[lib])
						best[lib] = t;
				}
			}
			printf("%-6zu %-5s %14.0f %14.2f %14.0f %14.2f %8.2f\n", len,
			       op == OP_SEAL ? "seal" : "open",
			       best[0] * 1e9, (double)len / best[0] / 1e9,
			       best[1] * 1e9, (double)len / best[1] / 1e9,
			       best[0] / best[1]);
		}
	}
	aead_free(&c.enc);
	aead_free(&c.dec);
	free(c.buf);
	free(c.sealed);
	return 0;
}
