/*
 * policy/token.c - host and user tokens: canonical encoding, signing and
 * verification. Untrusted bytes are checked in order of cost: lengths and
 * fields first, then the authority, then the Ed25519 signature, then
 * validity and revocation.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "token.h"

static const struct {
	const char *name;
	const char *text;
} status_info[TOKEN_STATUS_COUNT] = {
	[TOKEN_OK] = { "ok", "valid" },
	[TOKEN_ERR_TRUNCATED] = { "truncated", "truncated: fewer bytes than the encoding needs" },
	[TOKEN_ERR_TRAILING] = { "trailing", "trailing bytes after the signature" },
	[TOKEN_ERR_VERSION] = { "version", "unknown encoding version" },
	[TOKEN_ERR_TYPE] = { "type", "wrong object type" },
	[TOKEN_ERR_LENGTHS] = { "lengths", "inconsistent lengths: a declared length is out of range" },
	[TOKEN_ERR_MALFORMED] = { "malformed", "malformed field (name, bit, mask or validity)" },
	[TOKEN_ERR_AUTHORITY] = { "authority", "issued by another authority" },
	[TOKEN_ERR_SIGNATURE] = { "signature", "bad signature" },
	[TOKEN_ERR_NOT_YET_VALID] = { "not-yet-valid", "not yet valid" },
	[TOKEN_ERR_EXPIRED] = { "expired", "expired" },
	[TOKEN_ERR_REVOKED] = { "revoked", "revoked by the authority's revocation list" },
};

const char *token_status_str(enum token_status st)
{
	if ((unsigned)st >= TOKEN_STATUS_COUNT)
		return "unknown status";
	return status_info[st].text;
}

const char *token_status_name(enum token_status st)
{
	if ((unsigned)st >= TOKEN_STATUS_COUNT)
		return "unknown";
	return status_info[st].name;
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_')
		return true;
	return !first && (c == '.' || c == '-');
}

static bool name_bytes_valid(const char *name, size_t len)
{
	if (len == 0 || len > WIRE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i], i == 0))
			return false;
	return true;
}

bool token_name_valid(const char *name)
{
	return name_bytes_valid(name, strnlen(name, WIRE_NAME_MAX + 1));
}

static bool is_token_type(unsigned type)
{
	return type == WIRE_TYPE_HOST_TOKEN || type == WIRE_TYPE_USER_TOKEN;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Bit in range, no unknown flags, absent addresses all zero (canonical). */
static bool host_fixed_valid(const struct token *t)
{
	if (t->bit >= WIRE_MASK_BITS || (t->flags & ~WIRE_HOST_FLAGS_ALL))
		return false;
	if (!(t->flags & WIRE_HOST_OVERLAY4) &&
	    !all_zero(t->overlay4, sizeof(t->overlay4)))
		return false;
	if (!(t->flags & WIRE_HOST_OVERLAY6) &&
	    !all_zero(t->overlay6, sizeof(t->overlay6)))
		return false;
	return true;
}

size_t token_encoded_len(const struct token *t)
{
	uint8_t mask[WIRE_MASK_BYTES];
	size_t namelen = strnlen(t->name, sizeof(t->name));
	size_t len;

	if (!is_token_type(t->type) || !name_bytes_valid(t->name, namelen) ||
	    t->not_after < t->not_before ||
	    (t->type == WIRE_TYPE_HOST_TOKEN && !host_fixed_valid(t)))
		return 0;
	len = WIRE_TOKEN_HDR_LEN + namelen + mask_encode(&t->grant, mask) +
	      WIRE_SIG_LEN;
	if (t->type == WIRE_TYPE_HOST_TOKEN)
		len += WIRE_HOST_FIXED_LEN;
	return len;
}

int token_sign(const struct token *t, const struct authority_key *ak,
	       uint8_t *out, size_t cap, size_t *outlen)
{
	struct wire_token_hdr hdr;
	uint8_t mask[WIRE_MASK_BYTES];
	size_t namelen, masklen, len, pos = 0;

	len = token_encoded_len(t);
	if (len == 0)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	namelen = strlen(t->name);
	masklen = mask_encode(&t->grant, mask);

	hdr.version = WIRE_VERSION;
	hdr.type = (uint8_t)t->type;
	hdr.name_len = (uint8_t)namelen;
	hdr.mask_len = (uint8_t)masklen;
	keys_key_id(ak->pk, hdr.key_id);
	hdr.serial = htobe64(t->serial);
	hdr.not_before = htobe64(t->not_before);
	hdr.not_after = htobe64(t->not_after);
	memcpy(out, &hdr, sizeof(hdr));
	pos = sizeof(hdr);
	if (t->type == WIRE_TYPE_HOST_TOKEN) {
		struct wire_host_fixed hf;

		hf.bit = htobe16(t->bit);
		hf.flags = htobe16(t->flags);
		memcpy(hf.overlay4, t->overlay4, sizeof(hf.overlay4));
		memcpy(hf.overlay6, t->overlay6, sizeof(hf.overlay6));
		memcpy(hf.tunnel_pk, t->tunnel_pk, sizeof(hf.tunnel_pk));
		memcpy(hf.sign_pk, t->sign_pk, sizeof(hf.sign_pk));
		memcpy(out + pos, &hf, sizeof(hf));
		pos += sizeof(hf);
	}
	memcpy(out + pos, t->name, namelen);
	pos += namelen;
	memcpy(out + pos, mask, masklen);
	pos += masklen;
	if (crypto_sign_detached(out + pos, NULL, out, pos, ak->sk) != 0)
		return -EIO;
	*outlen = pos + WIRE_SIG_LEN;
	return 0;
}

/* Lengths, version, type and field rules: everything short of crypto. */
bool token_decode(const uint8_t *buf, size_t len, enum wire_type expect,
		  struct token *out, enum token_status *why)
{
	struct wire_token_hdr hdr;
	struct token t;
	size_t need, pos;
	enum token_status st = TOKEN_OK;

	memset(&t, 0, sizeof(t));
	if (len < 2) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	if (buf[0] != WIRE_VERSION) {
		st = TOKEN_ERR_VERSION;
		goto fail;
	}
	if (!is_token_type(buf[1]) || (expect && buf[1] != expect)) {
		st = TOKEN_ERR_TYPE;
		goto fail;
	}
	if (len < sizeof(hdr)) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.name_len == 0 || hdr.name_len > WIRE_NAME_MAX ||
	    hdr.mask_len > WIRE_MASK_BYTES) {
		st = TOKEN_ERR_LENGTHS;
		goto fail;
	}
	need = sizeof(hdr) + hdr.name_len + hdr.mask_len + WIRE_SIG_LEN;
	if (hdr.type == WIRE_TYPE_HOST_TOKEN)
		need += WIRE_HOST_FIXED_LEN;
	if (len < need) {
		st = TOKEN_ERR_TRUNCATED;
		goto fail;
	}
	if (len > need) {
		st = TOKEN_ERR_TRAILING;
		goto fail;
	}

	t.type = hdr.type;
	memcpy(t.key_id, hdr.key_id, sizeof(t.key_id));
	t.serial = be64toh(hdr.serial);
	t.not_before = be64toh(hdr.not_before);
	t.not_after = be64toh(hdr.not_after);
	pos = sizeof(hdr);
	if (hdr.type == WIRE_TYPE_HOST_TOKEN) {
		struct wire_host_fixed hf;

		memcpy(&hf, buf + pos, sizeof(hf));
		pos += sizeof(hf);
		t.bit = be16toh(hf.bit);
		t.flags = be16toh(hf.flags);
		memcpy(t.overlay4, hf.overlay4, sizeof(t.overlay4));
		memcpy(t.overlay6, hf.overlay6, sizeof(t.overlay6));
		if (!host_fixed_valid(&t)) {
			st = TOKEN_ERR_MALFORMED;
			goto fail;
		}
		memcpy(t.tunnel_pk, hf.tunnel_pk, sizeof(t.tunnel_pk));
		memcpy(t.sign_pk, hf.sign_pk, sizeof(t.sign_pk));
	}
	if (!name_bytes_valid((const char *)buf + pos, hdr.name_len)) {
		st = TOKEN_ERR_MALFORMED;
		goto fail;
	}
	memcpy(t.name, buf + pos, hdr.name_len);
	t.name[hdr.name_len] = '\0';
	pos += hdr.name_len;
	if (!mask_decode(buf + pos, hdr.mask_len, &t.grant) ||
	    t.not_after < t.not_before) {
		st = TOKEN_ERR_MALFORMED;
		goto fail;
	}
	*out = t;
	return true;
fail:
	if (why)
		*why = st;
	return false;
}

enum token_status token_verify(const uint8_t *buf, size_t len,
			       enum wire_type expect,
			       const struct token_trust *trust,
			       struct token *out)
{
	uint8_t key_id[WIRE_KEY_ID_LEN];
	enum token_status why = TOKEN_OK;
	struct token t;

	if (!token_decode(buf, len, expect, &t, &why))
		return why;
	keys_key_id(trust->authority_pk, key_id);
	if (memcmp(key_id, t.key_id, sizeof(key_id)) != 0)
		return TOKEN_ERR_AUTHORITY;
	if (crypto_sign_verify_detached(buf + len - WIRE_SIG_LEN, buf,
					len - WIRE_SIG_LEN,
					trust->authority_pk) != 0)
		return TOKEN_ERR_SIGNATURE;
	if (trust->now < t.not_before)
		return TOKEN_ERR_NOT_YET_VALID;
	if (trust->now > t.not_after)
		return TOKEN_ERR_EXPIRED;
	if (trust->revoked && revocation_contains(trust->revoked, t.serial))
		return TOKEN_ERR_REVOKED;
	if (out)
		*out = t;
	return TOKEN_OK;
}
