/*
 * shim/proto.h - every message capshim puts on the UDP underlay.
 *
 * All multi-byte integers are big-endian. The handshake is
 * Noise_IK_25519_ChaChaPoly_BLAKE2b exactly as the Noise specification
 * defines it (noise.h: HASHLEN 64, HKDF over HMAC-BLAKE2b), prologue
 * PROTO_IDENTIFIER, in the message shape WireGuard uses around it: the
 * initiator knows the responder's static X25519 key from its host token;
 * session indices; the initiation's payload is a TAI64N timestamp, the
 * response's empty; mac1 and mac2 close each handshake message (cookie.h):
 * mac1 is checked before any Diffie-Hellman, and a receiver under load
 * answers with a cookie reply instead, until the sender proves with mac2
 * that it receives at its address.
 *
 *   initiation    initiator -> responder  struct proto_initiation    148 bytes
 *   response      responder -> initiator  struct proto_response       92 bytes
 *   cookie reply  either way              struct proto_cookie_reply   64 bytes
 *   data          either way              struct proto_data_hdr + AEAD(inner IP packet)
 *   control       either way              struct proto_data_hdr + AEAD(control message)
 *
 * Data and control share a session's counter space and replay window. The
 * AEAD (ChaCha20-Poly1305 IETF) takes the whole 20-byte header as
 * associated data, so the capability epoch a packet was sent under is
 * authenticated with it; its nonce is Noise's: 4 zero bytes, then the
 * counter little-endian (the counter field of the header is big-endian).
 *
 * Control plaintext starts with one byte, enum proto_ctl:
 *   PROTO_CTL_ANNOUNCE       struct proto_announce, host token, for each
 *                            user (u16 length, user token), mask, then an
 *                            Ed25519 signature by the host's signing key
 *                            over PROTO_ANNOUNCE_CONTEXT and everything
 *                            before the signature.
 *   PROTO_CTL_EPOCH_REQUEST  struct proto_epoch_request: "announce this".
 *   PROTO_CTL_DENIED         struct proto_denied: the sender refused a
 *                            flow to this receiver (its capability lacks
 *                            the receiver), with its flow id, so that
 *                            both ends record it under one id.
 *   PROTO_CTL_OBJECT         struct proto_object, then one signed object
 *                            of the authority (a token or a revocation
 *                            list, wire.h) to store if newer and pass on.
 *   PROTO_CTL_INVENTORY      struct proto_inventory, then count entries
 *                            (struct proto_inventory_entry), or none when
 *                            PROTO_INVENTORY_DIGEST is set: which signed
 *                            objects the sender holds, so that a peer that
 *                            was away catches up. Each side sends its digest
 *                            when a session comes up; a side whose digest
 *                            differs answers with its entries; a side that
 *                            gets entries sends, as PROTO_CTL_OBJECT, every
 *                            object it holds that the list lacks or holds
 *                            with a lower serial (tokens before the list).
 *
 * An announced mask must be a subset of the host grant ANDed with the
 * grants of the users it names: narrowing further (down to isolation, the
 * empty mask) is always allowed, widening never.
 *
 * Version 2 ("captun v2") changed the handshake from a BLAKE2b-keyed PRF
 * to the HMAC-BLAKE2b HKDF of the Noise specification, added the cookie
 * reply and mac2, and moved the data nonce to Noise's little-endian
 * counter: v1 and v2 hosts do not talk to each other.
 */
#ifndef CAPTUN_SHIM_PROTO_H
#define CAPTUN_SHIM_PROTO_H

#include <stdint.h>

#include "wire.h"

#define PROTO_CONSTRUCTION "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define PROTO_IDENTIFIER "captun v2"
#define PROTO_LABEL_MAC1 "mac1----"
#define PROTO_LABEL_COOKIE "cookie--"
#define PROTO_ANNOUNCE_CONTEXT "captun announce v1"

enum proto_type {
	PROTO_INITIATION = 1,
	PROTO_RESPONSE = 2,
	PROTO_COOKIE_REPLY = 3,
	PROTO_DATA = 4,
	PROTO_CONTROL = 5,
};

enum proto_ctl {
	PROTO_CTL_ANNOUNCE = 1,
	PROTO_CTL_EPOCH_REQUEST = 2,
	PROTO_CTL_OBJECT = 3,
	PROTO_CTL_DENIED = 4,
	PROTO_CTL_INVENTORY = 5,
};

enum {
	PROTO_INVENTORY_DIGEST_LEN = 32,
};

enum proto_inventory_flags {
	PROTO_INVENTORY_DIGEST = 1 << 0,	/* digest only, no entries */
	PROTO_INVENTORY_FLAGS_ALL = PROTO_INVENTORY_DIGEST,
};

enum proto_object_kind {
	PROTO_OBJECT_TOKEN = 1,		/* host or user token */
	PROTO_OBJECT_REVOCATION = 2,	/* revocation list */
};

enum proto_size {
	PROTO_KEY_LEN = 32,
	PROTO_TAG_LEN = 16,
	PROTO_MAC_LEN = 16,		/* mac1, mac2, and a cookie */
	PROTO_XNONCE_LEN = 24,		/* XChaCha20-Poly1305 */
	PROTO_TIMESTAMP_LEN = 12,	/* TAI64N */
	PROTO_DATA_HDR_LEN = 20,
	PROTO_OVERHEAD = PROTO_DATA_HDR_LEN + PROTO_TAG_LEN,
	PROTO_ANNOUNCE_USERS_MAX = 64,
	PROTO_CONTROL_MAX = 60000,	/* control plaintext, bytes (IP may fragment) */
	PROTO_PAD = 16,			/* data plaintext padded to a multiple */
};

/* Timers and limits of a session, after WireGuard's. */
enum proto_timer {
	PROTO_REKEY_AFTER_TIME_S = 120,
	PROTO_REJECT_AFTER_TIME_S = 180,
	PROTO_REKEY_TIMEOUT_S = 5,
	PROTO_KEEPALIVE_S = 10,
	PROTO_REKEY_ATTEMPT_S = 90,
};

#define PROTO_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define PROTO_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))

struct proto_initiation {
	uint8_t type;			/* PROTO_INITIATION */
	uint8_t reserved[3];		/* zero */
	uint32_t sender;		/* initiator's session index */
	uint8_t ephemeral[PROTO_KEY_LEN];
	uint8_t enc_static[PROTO_KEY_LEN + PROTO_TAG_LEN];
	uint8_t enc_timestamp[PROTO_TIMESTAMP_LEN + PROTO_TAG_LEN];
	uint8_t mac1[PROTO_MAC_LEN];
	uint8_t mac2[PROTO_MAC_LEN];	/* zero without a cookie */
} __attribute__((packed));

struct proto_response {
	uint8_t type;			/* PROTO_RESPONSE */
	uint8_t reserved[3];
	uint32_t sender;		/* responder's session index */
	uint32_t receiver;		/* initiator's session index */
	uint8_t ephemeral[PROTO_KEY_LEN];
	uint8_t enc_empty[PROTO_TAG_LEN];
	uint8_t mac1[PROTO_MAC_LEN];
	uint8_t mac2[PROTO_MAC_LEN];
} __attribute__((packed));

struct proto_cookie_reply {
	uint8_t type;			/* PROTO_COOKIE_REPLY */
	uint8_t reserved[3];
	uint32_t receiver;		/* the "sender" index of the answered message */
	uint8_t nonce[PROTO_XNONCE_LEN];
	uint8_t enc_cookie[PROTO_MAC_LEN + PROTO_TAG_LEN];
} __attribute__((packed));

struct proto_data_hdr {
	uint8_t type;			/* PROTO_DATA or PROTO_CONTROL */
	uint8_t reserved[3];		/* zero */
	uint32_t receiver;		/* receiver's session index */
	uint64_t counter;		/* per session, never reused */
	uint32_t epoch;			/* sender's capability epoch */
} __attribute__((packed));

struct proto_announce {
	uint8_t ctl;			/* PROTO_CTL_ANNOUNCE */
	uint8_t nusers;			/* 0..PROTO_ANNOUNCE_USERS_MAX */
	uint16_t host_token_len;	/* 1..WIRE_TOKEN_MAX */
	uint32_t epoch;			/* > 0, grows with every change */
	uint64_t issued_at;		/* unix seconds */
	uint8_t mask_len;		/* canonical mask (wire.h) */
	uint8_t reserved[3];		/* zero */
} __attribute__((packed));

struct proto_epoch_request {
	uint8_t ctl;			/* PROTO_CTL_EPOCH_REQUEST */
	uint8_t reserved[3];
	uint32_t epoch;
} __attribute__((packed));

struct proto_object {
	uint8_t ctl;			/* PROTO_CTL_OBJECT */
	uint8_t kind;			/* enum proto_object_kind */
	uint16_t len;			/* bytes of the object that follow */
} __attribute__((packed));

struct proto_inventory {
	uint8_t ctl;			/* PROTO_CTL_INVENTORY */
	uint8_t flags;			/* enum proto_inventory_flags */
	uint16_t count;			/* entries the sender holds */
	uint8_t digest[PROTO_INVENTORY_DIGEST_LEN];	/* BLAKE2b-256 of its sorted entries */
} __attribute__((packed));

/* One signed object: which (kind, name) and how new (serial). */
struct proto_inventory_entry {
	uint8_t kind;			/* WIRE_TYPE_* of the object */
	uint8_t reserved[7];		/* zero */
	uint8_t id[8];			/* BLAKE2b-64 of the name; zero for the list */
	uint64_t serial;
} __attribute__((packed));

enum {
	PROTO_INVENTORY_MAX = (PROTO_CONTROL_MAX - 36) / 24,	/* entries in one message */
};

struct proto_denied {
	uint8_t ctl;			/* PROTO_CTL_DENIED */
	uint8_t proto;			/* IPPROTO_* of the refused packet */
	uint8_t reserved[2];		/* [0]: the sender's enum flowrec_reason; [1] zero */
	uint32_t epoch;			/* the sender's capability epoch */
	uint16_t sport, dport;		/* ports (ICMP echo: identifier) */
	uint8_t src[16], dst[16];	/* IPv6 or v4-mapped */
	uint8_t flow[8];		/* the sender's flow id (common/flowrec.h) */
} __attribute__((packed));

_Static_assert(sizeof(struct proto_object) == 4, "object");
_Static_assert(sizeof(struct proto_inventory) == 36, "inventory");
_Static_assert(sizeof(struct proto_inventory_entry) == 24, "inventory entry");
_Static_assert(sizeof(struct proto_denied) == 52, "denied");
_Static_assert(sizeof(struct proto_initiation) == 148, "initiation");
_Static_assert(sizeof(struct proto_response) == 92, "response");
_Static_assert(sizeof(struct proto_cookie_reply) == 64, "cookie reply");
_Static_assert(sizeof(struct proto_data_hdr) == PROTO_DATA_HDR_LEN, "data header");
_Static_assert(sizeof(struct proto_announce) == 20, "announce");
_Static_assert(sizeof(struct proto_epoch_request) == 8, "epoch request");

#endif
