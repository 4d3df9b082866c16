/*
 * policy/token.h - host tokens, user tokens and the revocation list: build,
 * sign, decode and verify their canonical encodings (wire.h).
 *
 * Verification is pure: the caller hands in the authority key, the current
 * revocation list and the time. Checks run cheapest first: lengths, version,
 * declared lengths against received, authority, then the signature, then
 * validity and revocation.
 */
#ifndef CAPTUN_POLICY_TOKEN_H
#define CAPTUN_POLICY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "mask.h"
#include "wire.h"

enum token_status {
	TOKEN_OK = 0,
	TOKEN_ERR_TRUNCATED,		/* fewer bytes than the object needs */
	TOKEN_ERR_TRAILING,		/* more bytes than the object declares */
	TOKEN_ERR_VERSION,		/* unknown encoding version */
	TOKEN_ERR_TYPE,			/* not the kind of object expected */
	TOKEN_ERR_LENGTHS,		/* a declared length is out of range */
	TOKEN_ERR_MALFORMED,		/* a field breaks the encoding's rules */
	TOKEN_ERR_AUTHORITY,		/* issued by another authority */
	TOKEN_ERR_SIGNATURE,		/* signature does not verify */
	TOKEN_ERR_NOT_YET_VALID,
	TOKEN_ERR_EXPIRED,
	TOKEN_ERR_REVOKED,
	TOKEN_STATUS_COUNT,
};

struct token {
	enum wire_type type;		/* WIRE_TYPE_HOST_TOKEN or _USER_TOKEN */
	char name[WIRE_NAME_MAX + 1];
	uint16_t bit;			/* host tokens */
	uint16_t flags;			/* host tokens: enum wire_host_flags */
	uint8_t overlay4[4];		/* host tokens, if WIRE_HOST_OVERLAY4 */
	uint8_t overlay6[16];		/* host tokens, if WIRE_HOST_OVERLAY6 */
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];	/* host tokens */
	uint8_t sign_pk[WIRE_PUBKEY_LEN];	/* host tokens */
	struct mask grant;
	uint64_t serial;
	uint64_t not_before;
	uint64_t not_after;
	uint8_t key_id[WIRE_KEY_ID_LEN];	/* filled in by decode and sign */
};

struct revocation {
	uint64_t serial;
	uint64_t issued_at;
	uint32_t count;
	uint64_t *serials;		/* ascending; malloc'd */
	uint8_t key_id[WIRE_KEY_ID_LEN];
};

/* What a verifier trusts. revoked may be NULL (nothing revoked). */
struct token_trust {
	uint8_t authority_pk[WIRE_PUBKEY_LEN];
	const struct revocation *revoked;
	uint64_t now;
};

const char *token_status_str(enum token_status st);	/* one-line message */
const char *token_status_name(enum token_status st);	/* "expired", ... */

/* True if name is 1..WIRE_NAME_MAX of [A-Za-z0-9._-], first not '-' or '.'. */
bool token_name_valid(const char *name);

/* Encoded length of t, or 0 if t cannot be encoded. */
size_t token_encoded_len(const struct token *t);

/*
 * Encodes and signs t with the authority key into out (cap bytes, at least
 * token_encoded_len(t)). Returns 0 or -errno: -EINVAL for a token that
 * breaks the encoding's rules, -ENOSPC if cap is too small.
 */
int token_sign(const struct token *t, const struct authority_key *ak,
	       uint8_t *out, size_t cap, size_t *outlen);

/*
 * Structural decode without signature, validity or revocation checks;
 * expect is the type wanted or 0 for either token type. On failure *why
 * says which structural rule broke.
 */
bool token_decode(const uint8_t *buf, size_t len, enum wire_type expect,
		  struct token *out, enum token_status *why);

/* Full verification; out is filled only when the result is TOKEN_OK. */
enum token_status token_verify(const uint8_t *buf, size_t len,
			       enum wire_type expect,
			       const struct token_trust *trust,
			       struct token *out);

/* Revocation lists. serials in rl need not be sorted or unique on sign. */
int revocation_sign(const struct revocation *rl, const struct authority_key *ak,
		    uint8_t **out, size_t *outlen);
bool revocation_decode(const uint8_t *buf, size_t len, struct revocation *out,
		       enum token_status *why);
enum token_status revocation_verify(const uint8_t *buf, size_t len,
				    const uint8_t authority_pk[WIRE_PUBKEY_LEN],
				    struct revocation *out);
bool revocation_contains(const struct revocation *rl, uint64_t serial);
void revocation_free(struct revocation *rl);

/*
 * Files (tokenfile.c). token_file_verify reads an armored token of type
 * from path into bin and verifies it: 0, -errno if it cannot be read,
 * -EINVAL if it is not an armored token of that type, -EKEYREJECTED with
 * *st saying why it did not verify. revocation_file_load likewise for an
 * armored revocation list, which out then owns (revocation_free).
 */
int token_file_verify(const char *path, enum wire_type type,
		      const struct token_trust *trust,
		      uint8_t bin[WIRE_TOKEN_MAX], size_t *binlen,
		      struct token *out, enum token_status *st);
int revocation_file_load(const char *path,
			 const uint8_t authority_pk[WIRE_PUBKEY_LEN],
			 struct revocation *out, enum token_status *st);

/* Armor labels (armor.h) for files holding these objects. */
#define TOKEN_ARMOR_HOST "HOST TOKEN"
#define TOKEN_ARMOR_USER "USER TOKEN"
#define TOKEN_ARMOR_REVOCATION "REVOCATION LIST"

#endif
