/*
 * policy/keys.h - the authority's signing key and a host's own key pairs.
 *
 * Private keys live in armored files of mode 0600 and in memory only as long
 * as a caller holds these structs; every *_wipe() zeroes them.
 */
#ifndef CAPTUN_POLICY_KEYS_H
#define CAPTUN_POLICY_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

enum keys_size {
	KEYS_ED25519_SK_LEN = 64,
	KEYS_X25519_SK_LEN = 32,
};

struct authority_key {
	uint8_t pk[WIRE_PUBKEY_LEN];
	uint8_t sk[KEYS_ED25519_SK_LEN];
};

struct host_keys {
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];	/* X25519 */
	uint8_t tunnel_sk[KEYS_X25519_SK_LEN];
	uint8_t sign_pk[WIRE_PUBKEY_LEN];	/* Ed25519 */
	uint8_t sign_sk[KEYS_ED25519_SK_LEN];
};

struct host_pubkeys {
	uint8_t tunnel_pk[WIRE_PUBKEY_LEN];
	uint8_t sign_pk[WIRE_PUBKEY_LEN];
};

/* All return 0 or -errno. */
int keys_authority_generate(struct authority_key *ak);
int keys_host_generate(struct host_keys *hk);
void keys_authority_wipe(struct authority_key *ak);
void keys_host_wipe(struct host_keys *hk);

/* The key id tokens carry: the first WIRE_KEY_ID_LEN bytes of BLAKE2b(pk). */
void keys_key_id(const uint8_t pk[WIRE_PUBKEY_LEN], uint8_t id[WIRE_KEY_ID_LEN]);

/*
 * Files. Private files are written 0600 and read back only if they are
 * owned by the effective user and closed to group and others (-EPERM
 * otherwise); a file whose content is not the expected armored object
 * gives -EINVAL; a private file whose public half does not match its
 * secret half gives -EBADMSG.
 */
int keys_authority_save(const char *key_path, const char *pub_path,
			const struct authority_key *ak);
int keys_authority_load(const char *key_path, struct authority_key *ak);
int keys_authority_pub_load(const char *pub_path, uint8_t pk[WIRE_PUBKEY_LEN]);

int keys_host_save(const char *key_path, const char *pub_path,
		   const struct host_keys *hk);
int keys_host_load(const char *key_path, struct host_keys *hk);
int keys_host_pub_load(const char *pub_path, struct host_pubkeys *pub);

/* Base64 (original alphabet, padded) of one public key; out needs 45 bytes. */
void keys_pub_to_base64(const uint8_t pk[WIRE_PUBKEY_LEN], char out[45]);
bool keys_pub_from_base64(const char *text, uint8_t pk[WIRE_PUBKEY_LEN]);

#endif
