/*
 * policy/wire.h - the canonical binary encodings of captun's signed objects.
 *
 * Every object the authority signs travels in exactly one encoding, laid out
 * below field by field. All multi-byte integers are big-endian. A mask is a
 * bitmap in which bit i lives in byte i / 8 at position i % 8 (LSB first),
 * trimmed after its last non-zero byte so that each mask has one encoding.
 *
 * Token (host or user):
 *   struct wire_token_hdr                          32 bytes
 *   struct wire_host_fixed      (host tokens only) 88 bytes
 *   name[name_len]                                 1..WIRE_NAME_MAX bytes
 *   mask[mask_len]                                 0..WIRE_MASK_BYTES bytes
 *   signature                                      WIRE_SIG_LEN bytes
 *
 * Revocation list:
 *   struct wire_revocation_hdr                     32 bytes
 *   serial[count]                                  8 bytes each, strictly ascending
 *   signature                                      WIRE_SIG_LEN bytes
 *
 * Key files hold, inside their armor, one struct wire_key_file: public
 * halves are stored beside secret ones so that a load can check they match.
 *
 * The Ed25519 signature covers every byte before it. A user token with a full
 * 1024-bit mask and a 32-byte name is exactly 256 bytes; a host token adds
 * its 88-byte fixed part (bit, overlay addresses, two public keys).
 */
#ifndef CAPTUN_POLICY_WIRE_H
#define CAPTUN_POLICY_WIRE_H

#include <stdint.h>

enum wire_version {
	WIRE_VERSION = 1,
};

enum wire_type {
	WIRE_TYPE_HOST_TOKEN = 1,
	WIRE_TYPE_USER_TOKEN = 2,
	WIRE_TYPE_REVOCATION = 3,
};

enum wire_size {
	WIRE_KEY_ID_LEN = 4,	/* first bytes of BLAKE2b(authority public key) */
	WIRE_NAME_MAX = 32,
	WIRE_MASK_BITS = 1024,
	WIRE_MASK_BYTES = WIRE_MASK_BITS / 8,
	WIRE_PUBKEY_LEN = 32,
	WIRE_SIG_LEN = 64,
	WIRE_TOKEN_HDR_LEN = 32,
	WIRE_HOST_FIXED_LEN = 88,
	WIRE_REVOCATION_HDR_LEN = 32,
	WIRE_REVOCATION_MAX = 65536,	/* serials in one list */
	WIRE_TOKEN_MAX = WIRE_TOKEN_HDR_LEN + WIRE_HOST_FIXED_LEN +
			 WIRE_NAME_MAX + WIRE_MASK_BYTES + WIRE_SIG_LEN,
};

struct wire_token_hdr {
	uint8_t version;		/* WIRE_VERSION */
	uint8_t type;			/* WIRE_TYPE_HOST_TOKEN or _USER_TOKEN */
	uint8_t name_len;		/* 1..WIRE_NAME_MAX */
	uint8_t mask_len;		/* 0..WIRE_MASK_BYTES, last byte non-zero */
	uint8_t key_id[WIRE_KEY_ID_LEN];
	uint64_t serial;		/* unique per authority, never reused */
	uint64_t not_before;		/* unix seconds */
	uint64_t not_after;		/* unix seconds, >= not_before */
} __attribute__((packed));

enum wire_host_flags {
	WIRE_HOST_OVERLAY4 = 1 << 0,	/* overlay4 holds the host's IPv4 address */
	WIRE_HOST_OVERLAY6 = 1 << 1,	/* overlay6 holds the host's IPv6 address */
	WIRE_HOST_FLAGS_ALL = WIRE_HOST_OVERLAY4 | WIRE_HOST_OVERLAY6,
};

/*
 * The overlay addresses are signed with the rest, so that a receiver's
 * check "inner source address belongs to the sending peer" rests on the
 * authority and not on a local file. An absent address is all zero.
 */
struct wire_host_fixed {
	uint16_t bit;			/* 0..WIRE_MASK_BITS-1 */
	uint16_t flags;			/* enum wire_host_flags; others zero */
	uint8_t overlay4[4];		/* network order */
	uint8_t overlay6[16];		/* network order */
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];	/* X25519 */
	uint8_t sign_pk[WIRE_PUBKEY_LEN];	/* Ed25519 */
} __attribute__((packed));

struct wire_revocation_hdr {
	uint8_t version;		/* WIRE_VERSION */
	uint8_t type;			/* WIRE_TYPE_REVOCATION */
	uint8_t reserved[2];		/* zero */
	uint8_t key_id[WIRE_KEY_ID_LEN];
	uint64_t serial;		/* of the list itself; newer lists are higher */
	uint64_t issued_at;		/* unix seconds */
	uint32_t count;			/* 0..WIRE_REVOCATION_MAX */
	uint32_t reserved2;		/* zero */
} __attribute__((packed));

enum wire_key_kind {
	WIRE_KEY_AUTHORITY_SECRET = 1,	/* seed = Ed25519 seed; pk = its public key */
	WIRE_KEY_AUTHORITY_PUBLIC = 2,	/* pk only; seed and tunnel fields zero */
	WIRE_KEY_HOST_SECRET = 3,	/* tunnel_sk, seed, tunnel_pk, pk */
	WIRE_KEY_HOST_PUBLIC = 4,	/* tunnel_pk, pk; secret fields zero */
};

struct wire_key_file {
	uint8_t version;		/* WIRE_VERSION */
	uint8_t kind;			/* enum wire_key_kind */
	uint8_t reserved[2];		/* zero */
	uint8_t tunnel_sk[32];		/* X25519 secret */
	uint8_t seed[32];		/* Ed25519 seed */
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];
	uint8_t pk[WIRE_PUBKEY_LEN];	/* Ed25519 public */
} __attribute__((packed));

_Static_assert(sizeof(struct wire_key_file) == 132, "key file");
_Static_assert(sizeof(struct wire_token_hdr) == WIRE_TOKEN_HDR_LEN, "token header");
_Static_assert(sizeof(struct wire_host_fixed) == WIRE_HOST_FIXED_LEN, "host fixed");
_Static_assert(sizeof(struct wire_revocation_hdr) == WIRE_REVOCATION_HDR_LEN, "revocation header");

#endif
