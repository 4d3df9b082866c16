/*
 * shim/aead.c - ChaCha20-Poly1305 IETF through OpenSSL 3's EVP interface
 * (aead.h). The cipher is fetched once per process; each context keeps
 * its key schedule, and a packet only sets the nonce, feeds the
 * associated data and the text, and takes or checks the tag.
 *
 * Below AEAD_SMALL bytes the EVP calls' fixed cost (parameter lookups by
 * name, about 300 ns) outweighs OpenSSL's faster bulk code, and
 * libsodium's one-call functions are as fast or faster there
 * (bench/bench_aead), so small messages go through libsodium: the same
 * algorithm, the same bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "aead.h"

static EVP_CIPHER *cipher;
static pthread_once_t cipher_once = PTHREAD_ONCE_INIT;

/* The provider's implementation, looked up once instead of per context. */
static void cipher_fetch(void)
{
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

int aead_init(struct aead *a, const uint8_t key[AEAD_KEY_LEN], bool encrypt)
{
	EVP_CIPHER_CTX *ctx = a->ctx;
	bool made = false;

	if (pthread_once(&cipher_once, cipher_fetch) != 0 || !cipher)
		return -EIO;
	if (!ctx) {
		ctx = EVP_CIPHER_CTX_new();
		if (!ctx)
			return -ENOMEM;
		made = true;
	}
	if (EVP_CipherInit_ex2(ctx, cipher, key, NULL, encrypt ? 1 : 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_get_iv_length(ctx) != AEAD_NONCE_LEN) {
		if (made)
			EVP_CIPHER_CTX_free(ctx);
		else
			aead_free(a);
		return -EIO;
	}
	a->ctx = ctx;
	memcpy(a->key, key, AEAD_KEY_LEN);
	a->small = AEAD_SMALL;
	return 0;
}

void aead_free(struct aead *a)
{
	/* EVP_CIPHER_CTX_free cleanses the provider's key schedule. */
	EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
	sodium_memzero(a->key, sizeof(a->key));
}

int aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
	      uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->ctx;
	int outl = 0;

	if (!ctx || len > INT32_MAX || adlen > INT32_MAX)
		return -EIO;
	if (len < a->small)
		return crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			out, out + len, NULL, in, len, ad, adlen, NULL, nonce,
			a->key) == 0 ? 0 : -EIO;
	if (EVP_EncryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1)
		return -EIO;
	if (adlen && EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1)
		return -EIO;
	if (len && EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1)
		return -EIO;
	if (EVP_EncryptFinal_ex(ctx, out + len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
				out + len) != 1)
		return -EIO;
	return 0;
}

bool aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
	       const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
	       uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->ctx;
	uint8_t tag[AEAD_TAG_LEN];
	size_t clen;
	int outl = 0;

	if (!ctx || len < AEAD_TAG_LEN || len > INT32_MAX || adlen > INT32_MAX)
		return false;
	clen = len - AEAD_TAG_LEN;
	if (clen < a->small)
		return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
			out, NULL, in, clen, in + clen, ad, adlen, nonce, a->key) == 0;
	/* The tag first: in == out may overwrite nothing of it, but be plain. */
	for (size_t i = 0; i < AEAD_TAG_LEN; i++)
		tag[i] = in[clen + i];
	if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1)
		return false;
	if (adlen && EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1)
		return false;
	if (clen && EVP_DecryptUpdate(ctx, out, &outl, in, (int)clen) != 1)
		return false;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		return false;
	return EVP_DecryptFinal_ex(ctx, out + clen, &outl) == 1;
}
