/*
 * policy/revocation.c - the authority's signed revocation list: the serials
 * of tokens that must never verify again, kept sorted for binary search.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "token.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int revocation_sign(const struct revocation *rl, const struct authority_key *ak,
		    uint8_t **out, size_t *outlen)
{
	struct wire_revocation_hdr hdr;
	uint64_t *sorted = NULL;
	size_t n = 0, len;
	uint8_t *buf;

	if (rl->count > WIRE_REVOCATION_MAX || (rl->count && !rl->serials))
		return -EINVAL;
	if (rl->count) {
		sorted = malloc(rl->count * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, rl->serials, rl->count * sizeof(*sorted));
		qsort(sorted, rl->count, sizeof(*sorted), cmp_u64);
		for (size_t i = 0; i < rl->count; i++)
			if (n == 0 || sorted[n - 1] != sorted[i])
				sorted[n++] = sorted[i];
	}
	len = sizeof(hdr) + n * sizeof(uint64_t) + WIRE_SIG_LEN;
	buf = malloc(len);
	if (!buf) {
		free(sorted);
		return -ENOMEM;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = WIRE_VERSION;
	hdr.type = WIRE_TYPE_REVOCATION;
	keys_key_id(ak->pk, hdr.key_id);
	hdr.serial = htobe64(rl->serial);
	hdr.issued_at = htobe64(rl->issued_at);
	hdr.count = htobe32((uint32_t)n);
	memcpy(buf, &hdr, sizeof(hdr));
	for (size_t i = 0; i < n; i++) {
		uint64_t be = htobe64(sorted[i]);

		memcpy(buf + sizeof(hdr) + i * sizeof(be), &be, sizeof(be));
	}
	free(sorted);
	if (crypto_sign_detached(buf + len - WIRE_SIG_LEN, NULL, buf,
				 len - WIRE_SIG_LEN, ak->sk) != 0) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

bool revocation_decode(const uint8_t *buf, size_t len, struct revocation *out,
		       enum token_status *why)
{
	struct wire_revocation_hdr hdr;
	enum token_status st;
	uint64_t *serials = NULL;
	uint32_t count;
	size_t need;

	if (len < 2) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	if (buf[0] != WIRE_VERSION) {
		st = TOKEN_ERR_VERSION;
		goto fail;
	}
	if (buf[1] != WIRE_TYPE_REVOCATION) {
		st = TOKEN_ERR_TYPE;
		goto fail;
	}
	if (len < sizeof(hdr)) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	count = be32toh(hdr.count);
	if (count > WIRE_REVOCATION_MAX) {
		st = TOKEN_ERR_LENGTHS;
		goto fail;
	}
	need = sizeof(hdr) + (size_t)count * sizeof(uint64_t) + WIRE_SIG_LEN;
	if (len < need) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	if (len > need) {
		st = TOKEN_ERR_TRAILING;
		goto fail;
	}
	if (hdr.reserved[0] || hdr.reserved[1] || hdr.reserved2) {
		st = TOKEN_ERR_MALFORMED;
		goto fail;
	}
	if (count) {
		serials = malloc(count * sizeof(*serials));
		if (!serials) {
			st = TOKEN_ERR_LENGTHS;
			goto fail;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t be;

		memcpy(&be, buf + sizeof(hdr) + i * sizeof(be), sizeof(be));
		serials[i] = be64toh(be);
		if (i > 0 && serials[i] <= serials[i - 1]) {
			free(serials);
			st = TOKEN_ERR_MALFORMED;
			goto fail;
		}
	}
	out->serial = be64toh(hdr.serial);
	out->issued_at = be64toh(hdr.issued_at);
	out->count = count;
	out->serials = serials;
	memcpy(out->key_id, hdr.key_id, sizeof(out->key_id));
	return true;
fail:
	if (why)
		*why = st;
	return false;
}

enum token_status revocation_verify(const uint8_t *buf, size_t len,
				    const uint8_t authority_pk[WIRE_PUBKEY_LEN],
				    struct revocation *out)
{
	uint8_t key_id[WIRE_KEY_ID_LEN];
	enum token_status why = TOKEN_OK;
	struct revocation rl;

	if (!revocation_decode(buf, len, &rl, &why))
		return why;
	keys_key_id(authority_pk, key_id);
	if (memcmp(key_id, rl.key_id, sizeof(key_id)) != 0)
		why = TOKEN_ERR_AUTHORITY;
	else if (crypto_sign_verify_detached(buf + len - WIRE_SIG_LEN, buf,
					     len - WIRE_SIG_LEN, authority_pk) != 0)
		why = TOKEN_ERR_SIGNATURE;
	if (why != TOKEN_OK || !out) {
		revocation_free(&rl);
		return why;
	}
	*out = rl;
	return TOKEN_OK;
}

bool revocation_contains(const struct revocation *rl, uint64_t serial)
{
	size_t lo = 0, hi = rl->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rl->serials[mid] == serial)
			return true;
		if (rl->serials[mid] < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void revocation_free(struct revocation *rl)
{
	free(rl->serials);
	rl->serials = NULL;
	rl->count = 0;
}
