/*
 * policy/keys.c - key pairs of the authority and of hosts, and their files.
 * Secrets pass through sodium_malloc'd buffers and are wiped on every path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "armor.h"
#include "fileio.h"
#include "keys.h"

static const char label_auth_sec[] = "AUTHORITY PRIVATE KEY";
static const char label_auth_pub[] = "AUTHORITY PUBLIC KEY";
static const char label_host_sec[] = "HOST PRIVATE KEYS";
static const char label_host_pub[] = "HOST PUBLIC KEYS";

enum keys_file {
	KEYS_FILE_MAX = 4096,
	KEYS_PRIVATE_MODE = 0600,
	KEYS_PUBLIC_MODE = 0644,
};

int keys_authority_generate(struct authority_key *ak)
{
	if (sodium_init() < 0)
		return -ENOSYS;
	if (crypto_sign_keypair(ak->pk, ak->sk) != 0)
		return -EIO;
	return 0;
}

int keys_host_generate(struct host_keys *hk)
{
	if (sodium_init() < 0)
		return -ENOSYS;
	randombytes_buf(hk->tunnel_sk, sizeof(hk->tunnel_sk));
	if (crypto_scalarmult_base(hk->tunnel_pk, hk->tunnel_sk) != 0 ||
	    crypto_sign_keypair(hk->sign_pk, hk->sign_sk) != 0) {
		keys_host_wipe(hk);
		return -EIO;
	}
	return 0;
}

void keys_authority_wipe(struct authority_key *ak)
{
	sodium_memzero(ak, sizeof(*ak));
}

void keys_host_wipe(struct host_keys *hk)
{
	sodium_memzero(hk, sizeof(*hk));
}

void keys_key_id(const uint8_t pk[WIRE_PUBKEY_LEN], uint8_t id[WIRE_KEY_ID_LEN])
{
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash(h, sizeof(h), pk, WIRE_PUBKEY_LEN, NULL, 0);
	memcpy(id, h, WIRE_KEY_ID_LEN);
}

/* Armors one key record and writes it atomically with the given mode. */
static int save(const char *path, const char *label,
		const struct wire_key_file *rec, mode_t mode)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = armor_encode(label, (const uint8_t *)rec, sizeof(*rec), &text, &len);
	if (ret < 0)
		return ret;
	ret = fileio_write_atomic(path, text, len, mode);
	sodium_memzero(text, len);
	free(text);
	return ret;
}

/* Reads one key record: secret files with owner and mode checks. */
static int load(const char *path, const char *label, enum wire_key_kind kind,
		bool secret, struct wire_key_file *rec)
{
	uint8_t *buf = NULL;
	size_t len = 0, binlen = 0;
	int ret;

	ret = secret ? fileio_read_secret(path, KEYS_FILE_MAX, &buf, &len)
		     : fileio_read(path, KEYS_FILE_MAX, &buf, &len);
	if (ret < 0)
		return ret;
	ret = 0;
	if (!armor_decode((const char *)buf, len, label, NULL, (uint8_t *)rec,
			  sizeof(*rec), &binlen) ||
	    binlen != sizeof(*rec) || rec->version != WIRE_VERSION ||
	    rec->kind != kind || rec->reserved[0] || rec->reserved[1])
		ret = -EINVAL;
	if (secret)
		fileio_free_secret(buf, len);
	else
		free(buf);
	if (ret < 0)
		sodium_memzero(rec, sizeof(*rec));
	return ret;
}

int keys_authority_save(const char *key_path, const char *pub_path,
			const struct authority_key *ak)
{
	struct wire_key_file *rec;
	int ret;

	rec = sodium_malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	memset(rec, 0, sizeof(*rec));
	rec->version = WIRE_VERSION;
	rec->kind = WIRE_KEY_AUTHORITY_SECRET;
	crypto_sign_ed25519_sk_to_seed(rec->seed, ak->sk);
	memcpy(rec->pk, ak->pk, sizeof(rec->pk));
	ret = save(key_path, label_auth_sec, rec, KEYS_PRIVATE_MODE);
	if (ret < 0)
		goto out_free;
	memset(rec, 0, sizeof(*rec));
	rec->version = WIRE_VERSION;
	rec->kind = WIRE_KEY_AUTHORITY_PUBLIC;
	memcpy(rec->pk, ak->pk, sizeof(rec->pk));
	ret = save(pub_path, label_auth_pub, rec, KEYS_PUBLIC_MODE);
out_free:
	sodium_free(rec);
	return ret;
}

int keys_authority_load(const char *key_path, struct authority_key *ak)
{
	struct wire_key_file *rec;
	int ret;

	if (sodium_init() < 0)
		return -ENOSYS;
	rec = sodium_malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	ret = load(key_path, label_auth_sec, WIRE_KEY_AUTHORITY_SECRET, true, rec);
	if (ret < 0)
		goto out_free;
	if (crypto_sign_seed_keypair(ak->pk, ak->sk, rec->seed) != 0) {
		ret = -EIO;
		goto out_wipe;
	}
	if (sodium_memcmp(ak->pk, rec->pk, sizeof(ak->pk)) != 0)
		ret = -EBADMSG;
out_wipe:
	if (ret < 0)
		keys_authority_wipe(ak);
out_free:
	sodium_free(rec);
	return ret;
}

int keys_authority_pub_load(const char *pub_path, uint8_t pk[WIRE_PUBKEY_LEN])
{
	struct wire_key_file rec;
	int ret;

	ret = load(pub_path, label_auth_pub, WIRE_KEY_AUTHORITY_PUBLIC, false, &rec);
	if (ret < 0)
		return ret;
	memcpy(pk, rec.pk, WIRE_PUBKEY_LEN);
	return 0;
}

int keys_host_save(const char *key_path, const char *pub_path,
		   const struct host_keys *hk)
{
	struct wire_key_file *rec;
	int ret;

	rec = sodium_malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	memset(rec, 0, sizeof(*rec));
	rec->version = WIRE_VERSION;
	rec->kind = WIRE_KEY_HOST_SECRET;
	memcpy(rec->tunnel_sk, hk->tunnel_sk, sizeof(rec->tunnel_sk));
	crypto_sign_ed25519_sk_to_seed(rec->seed, hk->sign_sk);
	memcpy(rec->tunnel_pk, hk->tunnel_pk, sizeof(rec->tunnel_pk));
	memcpy(rec->pk, hk->sign_pk, sizeof(rec->pk));
	ret = save(key_path, label_host_sec, rec, KEYS_PRIVATE_MODE);
	if (ret < 0)
		goto out_free;
	memset(rec, 0, sizeof(*rec));
	rec->version = WIRE_VERSION;
	rec->kind = WIRE_KEY_HOST_PUBLIC;
	memcpy(rec->tunnel_pk, hk->tunnel_pk, sizeof(rec->tunnel_pk));
	memcpy(rec->pk, hk->sign_pk, sizeof(rec->pk));
	ret = save(pub_path, label_host_pub, rec, KEYS_PUBLIC_MODE);
out_free:
	sodium_free(rec);
	return ret;
}

int keys_host_load(const char *key_path, struct host_keys *hk)
{
	struct wire_key_file *rec;
	int ret;

	if (sodium_init() < 0)
		return -ENOSYS;
	rec = sodium_malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	ret = load(key_path, label_host_sec, WIRE_KEY_HOST_SECRET, true, rec);
	if (ret < 0)
		goto out_free;
	memcpy(hk->tunnel_sk, rec->tunnel_sk, sizeof(hk->tunnel_sk));
	if (crypto_scalarmult_base(hk->tunnel_pk, hk->tunnel_sk) != 0 ||
	    crypto_sign_seed_keypair(hk->sign_pk, hk->sign_sk, rec->seed) != 0) {
		ret = -EIO;
		goto out_wipe;
	}
	if (sodium_memcmp(hk->tunnel_pk, rec->tunnel_pk, sizeof(hk->tunnel_pk)) ||
	    sodium_memcmp(hk->sign_pk, rec->pk, sizeof(hk->sign_pk)))
		ret = -EBADMSG;
out_wipe:
	if (ret < 0)
		keys_host_wipe(hk);
out_free:
	sodium_free(rec);
	return ret;
}

int keys_host_pub_load(const char *pub_path, struct host_pubkeys *pub)
{
	struct wire_key_file rec;
	int ret;

	ret = load(pub_path, label_host_pub, WIRE_KEY_HOST_PUBLIC, false, &rec);
	if (ret < 0)
		return ret;
	memcpy(pub->tunnel_pk, rec.tunnel_pk, WIRE_PUBKEY_LEN);
	memcpy(pub->sign_pk, rec.pk, WIRE_PUBKEY_LEN);
	return 0;
}

void keys_pub_to_base64(const uint8_t pk[WIRE_PUBKEY_LEN], char out[45])
{
	sodium_bin2base64(out, 45, pk, WIRE_PUBKEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

bool keys_pub_from_base64(const char *text, uint8_t pk[WIRE_PUBKEY_LEN])
{
	size_t len = 0;
	const char *end = NULL;

	if (strlen(text) != 44 || !armor_base64_valid(text, 44, false))
		return false;
	if (sodium_base642bin(pk, WIRE_PUBKEY_LEN, text, 44, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return len == WIRE_PUBKEY_LEN && end == text + 44;
}
