/*
 * tests/unit/check_keys.c - policy/keys.h: generation, files, key ids and
 * the base64 form of public keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "armor.h"
#include "fileio.h"
#include "keys.h"
#include "suites.h"

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- generation -------------------------------------------------------- */

START_TEST(test_authority_generate)
{
	struct authority_key a, b;
	uint8_t pk[WIRE_PUBKEY_LEN], sig[crypto_sign_BYTES];
	static const uint8_t msg[] = "captun";

	ck_assert_int_eq(keys_authority_generate(&a), 0);
	ck_assert_int_eq(keys_authority_generate(&b), 0);
	ck_assert_mem_ne(a.pk, b.pk, sizeof(a.pk));
	ck_assert_mem_ne(a.sk, b.sk, sizeof(a.sk));
	/* A real Ed25519 pair: pk belongs to sk and signatures verify. */
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_pk(pk, a.sk), 0);
	ck_assert_mem_eq(pk, a.pk, sizeof(pk));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sk);
	ck_assert_int_eq(crypto_sign_verify_detached(sig, msg, sizeof(msg), a.pk), 0);
	ck_assert_int_ne(crypto_sign_verify_detached(sig, msg, sizeof(msg), b.pk), 0);

	keys_authority_wipe(&a);
	ck_assert(all_zero(&a, sizeof(a)));
}
END_TEST

START_TEST(test_host_generate)
{
	struct host_keys a, b;
	uint8_t pk[WIRE_PUBKEY_LEN], sig[crypto_sign_BYTES];
	static const uint8_t msg[] = "captun host";

	ck_assert_int_eq(keys_host_generate(&a), 0);
	ck_assert_int_eq(keys_host_generate(&b), 0);
	ck_assert_mem_ne(a.tunnel_pk, b.tunnel_pk, sizeof(a.tunnel_pk));
	ck_assert_mem_ne(a.sign_pk, b.sign_pk, sizeof(a.sign_pk));
	ck_assert_mem_ne(a.tunnel_pk, a.sign_pk, sizeof(a.sign_pk));
	/* X25519: tunnel_pk = scalarmult_base(tunnel_sk). */
	ck_assert_int_eq(crypto_scalarmult_base(pk, a.tunnel_sk), 0);
	ck_assert_mem_eq(pk, a.tunnel_pk, sizeof(pk));
	/* Ed25519 signing pair. */
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_pk(pk, a.sign_sk), 0);
	ck_assert_mem_eq(pk, a.sign_pk, sizeof(pk));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sign_sk);
	ck_assert_int_eq(crypto_sign_verify_detached(sig, msg, sizeof(msg), a.sign_pk), 0);

	keys_host_wipe(&a);
	ck_assert(all_zero(&a, sizeof(a)));
}
END_TEST

START_TEST(test_key_id)
{
	struct authority_key a, b;
	uint8_t id1[WIRE_KEY_ID_LEN], id2[WIRE_KEY_ID_LEN], id3[WIRE_KEY_ID_LEN];
	uint8_t pk[WIRE_PUBKEY_LEN];

	ck_assert_int_eq(keys_authority_generate(&a), 0);
	ck_assert_int_eq(keys_authority_generate(&b), 0);
	keys_key_id(a.pk, id1);
	keys_key_id(a.pk, id2);
	ck_assert_mem_eq(id1, id2, sizeof(id1));
	keys_key_id(b.pk, id3);
	ck_assert_mem_ne(id1, id3, sizeof(id1));
	/* One bit of the key changes the id. */
	memcpy(pk, a.pk, sizeof(pk));
	pk[31] ^= 0x80;
	keys_key_id(pk, id3);
	ck_assert_mem_ne(id1, id3, sizeof(id1));
	/* Deterministic across calls and independent of the secret half. */
	memset(pk, 0, sizeof(pk));
	keys_key_id(pk, id1);
	keys_key_id(pk, id2);
	ck_assert_mem_eq(id1, id2, sizeof(id1));
}
END_TEST

/* ---- base64 ------------------------------------------------------------ */

START_TEST(test_pub_base64_roundtrip)
{
	uint8_t pk[WIRE_PUBKEY_LEN], back[WIRE_PUBKEY_LEN];
	char text[45], want[45];
	unsigned round;

	for (round = 0; round < 8; round++) {
		if (round == 0)
			memset(pk, 0, sizeof(pk));
		else if (round == 1)
			memset(pk, 0xff, sizeof(pk));
		else
			randombytes_buf(pk, sizeof(pk));
		memset(text, 'x', sizeof(text));
		keys_pub_to_base64(pk, text);
		ck_assert_uint_eq(strlen(text), 44);
		ck_assert_int_eq(text[43], '=');
		sodium_bin2base64(want, sizeof(want), pk, sizeof(pk),
				  sodium_base64_VARIANT_ORIGINAL);
		ck_assert_str_eq(text, want);
		memset(back, 0x55, sizeof(back));
		ck_assert(keys_pub_from_base64(text, back));
		ck_assert_mem_eq(back, pk, sizeof(pk));
	}
}
END_TEST

static const char *const base64_bad[] = {
	"",
	"AAAA",
	/* 31 bytes */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	/* 33 bytes */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	/* 36 bytes */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	/* 32 bytes, one character missing */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	/* invalid characters */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!A=",
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AA=",
	/* bytes over 0x7f, which libsodium 1.0.18 would read as '/' */
	"\xc3\xa9" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"AAAAAAAAAAAAAAAAAAAA\x80" "AAAAAAAAAAAAAAAAAAAAAA=",
	/* URL-safe alphabet is not the original one */
	"-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	/* 32 bytes followed by garbage */
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=x",
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=AAAA",
};

START_TEST(test_pub_base64_rejects)
{
	uint8_t pk[WIRE_PUBKEY_LEN];

	ck_assert_msg(!keys_pub_from_base64(base64_bad[_i], pk), "accepted \"%s\"",
		      base64_bad[_i]);
}
END_TEST

START_TEST(test_pub_base64_accepts_zero)
{
	uint8_t pk[WIRE_PUBKEY_LEN];

	memset(pk, 0xee, sizeof(pk));
	ck_assert(keys_pub_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pk));
	ck_assert(all_zero(pk, sizeof(pk)));
}
END_TEST

/*
 * A private file whose public half was altered. keys.h does not lay out the
 * file's binary content, but it does say the file is armored and holds a
 * public half next to the secret one: so the test decodes the armor, finds
 * every copy of the public key in the binary, changes one byte of one copy,
 * re-armors it under the same label and expects -EBADMSG. The unchanged
 * binary, re-armored the same way, must still load (so the re-armoring is
 * not what breaks it).
 */
struct rewrite {
	char label[ARMOR_LABEL_MAX + 1];
	uint8_t bin[4096];
	size_t len;
};

static void read_armored(const char *path, struct rewrite *rw)
{
	size_t tlen;
	char *txt = test_read_file(path, &tlen);

	ck_assert_msg(armor_decode(txt, tlen, NULL, rw->label, rw->bin, sizeof(rw->bin),
				   &rw->len), "%s is not one armored block", path);
	free(txt);
}

static void write_armored(const char *path, const char *label, const uint8_t *bin,
			  size_t len)
{
	char *txt = NULL;
	size_t tlen;

	ck_assert_int_eq(armor_encode(label, bin, len, &txt, &tlen), 0);
	test_write_file(path, txt, tlen, 0600);
	free(txt);
}

/* Offsets of every copy of needle (32 bytes) in hay; returns how many. */
static size_t find_all(const uint8_t *hay, size_t len, const uint8_t *needle,
		       size_t at[8])
{
	size_t i, n = 0;

	for (i = 0; i + WIRE_PUBKEY_LEN <= len && n < 8; i++)
		if (!memcmp(hay + i, needle, WIRE_PUBKEY_LEN))
			at[n++] = i;
	return n;
}

/* ---- files ------------------------------------------------------------- */

static mode_t file_mode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_authority_files)
{
	char *dir = test_tmpdir();
	char *key = test_path(dir, "authority.key"), *pub = test_path(dir, "authority.pub");
	struct authority_key ak, back;
	uint8_t pk[WIRE_PUBKEY_LEN];

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_save(key, pub, &ak), 0);
	ck_assert_uint_eq(file_mode(key), 0600);

	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(keys_authority_load(key, &back), 0);
	ck_assert_mem_eq(back.pk, ak.pk, sizeof(ak.pk));
	ck_assert_mem_eq(back.sk, ak.sk, sizeof(ak.sk));

	memset(pk, 0, sizeof(pk));
	ck_assert_int_eq(keys_authority_pub_load(pub, pk), 0);
	ck_assert_mem_eq(pk, ak.pk, sizeof(pk));

	/* Saving again replaces both files. */
	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_save(key, pub, &ak), 0);
	ck_assert_int_eq(keys_authority_load(key, &back), 0);
	ck_assert_mem_eq(back.sk, ak.sk, sizeof(ak.sk));
	ck_assert_int_eq(keys_authority_pub_load(pub, pk), 0);
	ck_assert_mem_eq(pk, ak.pk, sizeof(pk));

	/* The public file holds the public key and no part of the secret. */
	{
		struct rewrite rw;
		size_t at[8];

		read_armored(pub, &rw);
		ck_assert_uint_ge(find_all(rw.bin, rw.len, ak.pk, at), 1);
		ck_assert_uint_eq(find_all(rw.bin, rw.len, ak.sk, at), 0);
	}
	free(key);
	free(pub);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_host_files)
{
	char *dir = test_tmpdir();
	char *key = test_path(dir, "host.key"), *pub = test_path(dir, "host.pub");
	struct host_keys hk, back;
	struct host_pubkeys hp;

	ck_assert_int_eq(keys_host_generate(&hk), 0);
	ck_assert_int_eq(keys_host_save(key, pub, &hk), 0);
	ck_assert_uint_eq(file_mode(key), 0600);

	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(keys_host_load(key, &back), 0);
	ck_assert_mem_eq(back.tunnel_pk, hk.tunnel_pk, sizeof(hk.tunnel_pk));
	ck_assert_mem_eq(back.tunnel_sk, hk.tunnel_sk, sizeof(hk.tunnel_sk));
	ck_assert_mem_eq(back.sign_pk, hk.sign_pk, sizeof(hk.sign_pk));
	ck_assert_mem_eq(back.sign_sk, hk.sign_sk, sizeof(hk.sign_sk));

	memset(&hp, 0, sizeof(hp));
	ck_assert_int_eq(keys_host_pub_load(pub, &hp), 0);
	ck_assert_mem_eq(hp.tunnel_pk, hk.tunnel_pk, sizeof(hp.tunnel_pk));
	ck_assert_mem_eq(hp.sign_pk, hk.sign_pk, sizeof(hp.sign_pk));

	/* The public file holds no part of either secret key. */
	{
		struct rewrite rw;
		size_t at[8];

		read_armored(pub, &rw);
		ck_assert_uint_ge(find_all(rw.bin, rw.len, hk.tunnel_pk, at), 1);
		ck_assert_uint_ge(find_all(rw.bin, rw.len, hk.sign_pk, at), 1);
		ck_assert_uint_eq(find_all(rw.bin, rw.len, hk.tunnel_sk, at), 0);
		ck_assert_uint_eq(find_all(rw.bin, rw.len, hk.sign_sk, at), 0);
	}
	free(key);
	free(pub);
	test_rmtree(dir);
}
END_TEST

/*
 * Loading the wrong file: each row names which file to hand to which loader
 * and the error it must give.
 */
enum key_file {
	F_AUTH_KEY,
	F_AUTH_PUB,
	F_HOST_KEY,
	F_HOST_PUB,
	F_GARBAGE,	/* 0600, not armored */
	F_EMPTY,	/* 0600, empty */
	F_MISSING,
	F_AUTH_KEY_0644,
	F_AUTH_KEY_0640,
	F_HOST_KEY_0644,
	F_HOST_KEY_0604,
	F_AUTH_PUB_0600,	/* a public file closed like a private one */
	F_HOST_PUB_0600,
};

enum key_loader {
	L_AUTH,
	L_AUTH_PUB,
	L_HOST,
	L_HOST_PUB,
};

struct load_case {
	const char *what;
	enum key_file file;
	enum key_loader loader;
	int rc;
};

static const struct load_case load_cases[] = {
	{ "authority key", F_AUTH_KEY, L_AUTH, 0 },
	{ "authority pub", F_AUTH_PUB, L_AUTH_PUB, 0 },
	{ "host key", F_HOST_KEY, L_HOST, 0 },
	{ "host pub", F_HOST_PUB, L_HOST_PUB, 0 },
	{ "authority key mode 0644", F_AUTH_KEY_0644, L_AUTH, -EPERM },
	{ "authority key mode 0640", F_AUTH_KEY_0640, L_AUTH, -EPERM },
	{ "host key mode 0644", F_HOST_KEY_0644, L_HOST, -EPERM },
	{ "host key mode 0604", F_HOST_KEY_0604, L_HOST, -EPERM },
	{ "authority pub (0600) as authority key", F_AUTH_PUB_0600, L_AUTH, -EINVAL },
	{ "host pub (0600) as host key", F_HOST_PUB_0600, L_HOST, -EINVAL },
	{ "authority pub (0600) as host key", F_AUTH_PUB_0600, L_HOST, -EINVAL },
	{ "host key as authority key", F_HOST_KEY, L_AUTH, -EINVAL },
	{ "authority key as host key", F_AUTH_KEY, L_HOST, -EINVAL },
	{ "authority key as authority pub", F_AUTH_KEY, L_AUTH_PUB, -EINVAL },
	{ "host key as host pub", F_HOST_KEY, L_HOST_PUB, -EINVAL },
	{ "host pub as authority pub", F_HOST_PUB, L_AUTH_PUB, -EINVAL },
	{ "authority pub as host pub", F_AUTH_PUB, L_HOST_PUB, -EINVAL },
	{ "garbage as authority key", F_GARBAGE, L_AUTH, -EINVAL },
	{ "garbage as host key", F_GARBAGE, L_HOST, -EINVAL },
	{ "garbage as authority pub", F_GARBAGE, L_AUTH_PUB, -EINVAL },
	{ "garbage as host pub", F_GARBAGE, L_HOST_PUB, -EINVAL },
	{ "empty as authority key", F_EMPTY, L_AUTH, -EINVAL },
	{ "empty as host pub", F_EMPTY, L_HOST_PUB, -EINVAL },
	{ "missing authority key", F_MISSING, L_AUTH, -ENOENT },
	{ "missing authority pub", F_MISSING, L_AUTH_PUB, -ENOENT },
	{ "missing host key", F_MISSING, L_HOST, -ENOENT },
	{ "missing host pub", F_MISSING, L_HOST_PUB, -ENOENT },
};

START_TEST(test_load_case)
{
	const struct load_case *c = &load_cases[_i];
	char *dir = test_tmpdir();
	char *akey = test_path(dir, "a.key"), *apub = test_path(dir, "a.pub");
	char *hkey = test_path(dir, "h.key"), *hpub = test_path(dir, "h.pub");
	char *other = test_path(dir, "other");
	const char *path = NULL;
	struct authority_key ak, ak2;
	struct host_keys hk, hk2;
	struct host_pubkeys hp;
	uint8_t pk[WIRE_PUBKEY_LEN];
	int rc = 1;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_save(akey, apub, &ak), 0);
	ck_assert_int_eq(keys_host_generate(&hk), 0);
	ck_assert_int_eq(keys_host_save(hkey, hpub, &hk), 0);

	switch (c->file) {
	case F_AUTH_KEY: path = akey; break;
	case F_AUTH_PUB: path = apub; break;
	case F_HOST_KEY: path = hkey; break;
	case F_HOST_PUB: path = hpub; break;
	case F_GARBAGE:
		test_write_file(other, "not a key at all\n", 17, 0600);
		path = other;
		break;
	case F_EMPTY:
		test_write_file(other, "", 0, 0600);
		path = other;
		break;
	case F_MISSING: path = other; break;
	case F_AUTH_KEY_0644:
		ck_assert_int_eq(chmod(akey, 0644), 0);
		path = akey;
		break;
	case F_AUTH_KEY_0640:
		ck_assert_int_eq(chmod(akey, 0640), 0);
		path = akey;
		break;
	case F_HOST_KEY_0644:
		ck_assert_int_eq(chmod(hkey, 0644), 0);
		path = hkey;
		break;
	case F_HOST_KEY_0604:
		ck_assert_int_eq(chmod(hkey, 0604), 0);
		path = hkey;
		break;
	case F_AUTH_PUB_0600:
		ck_assert_int_eq(chmod(apub, 0600), 0);
		path = apub;
		break;
	case F_HOST_PUB_0600:
		ck_assert_int_eq(chmod(hpub, 0600), 0);
		path = hpub;
		break;
	}
	switch (c->loader) {
	case L_AUTH:
		rc = keys_authority_load(path, &ak2);
		if (rc == 0)
			ck_assert_mem_eq(ak2.sk, ak.sk, sizeof(ak.sk));
		break;
	case L_AUTH_PUB:
		rc = keys_authority_pub_load(path, pk);
		if (rc == 0)
			ck_assert_mem_eq(pk, ak.pk, sizeof(pk));
		break;
	case L_HOST:
		rc = keys_host_load(path, &hk2);
		if (rc == 0)
			ck_assert_mem_eq(hk2.sign_sk, hk.sign_sk, sizeof(hk.sign_sk));
		break;
	case L_HOST_PUB:
		rc = keys_host_pub_load(path, &hp);
		if (rc == 0)
			ck_assert_mem_eq(hp.sign_pk, hk.sign_pk, sizeof(hk.sign_pk));
		break;
	}
	ck_assert_msg(rc == c->rc, "%s: got %d, want %d", c->what, rc, c->rc);
	free(akey);
	free(apub);
	free(hkey);
	free(hpub);
	free(other);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_authority_pub_half_altered)
{
	char *dir = test_tmpdir();
	char *key = test_path(dir, "a.key"), *pub = test_path(dir, "a.pub");
	struct authority_key ak, back;
	struct rewrite rw;
	uint8_t bin[4096];
	size_t at[8], n, i;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_save(key, pub, &ak), 0);
	read_armored(key, &rw);

	write_armored(key, rw.label, rw.bin, rw.len);
	ck_assert_int_eq(keys_authority_load(key, &back), 0);
	ck_assert_mem_eq(back.sk, ak.sk, sizeof(ak.sk));

	/* Cut by one byte: not the expected object. */
	write_armored(key, rw.label, rw.bin, rw.len - 1);
	ck_assert_int_eq(keys_authority_load(key, &back), -EINVAL);

	n = find_all(rw.bin, rw.len, ak.pk, at);
	ck_assert_msg(n >= 1, "the authority key file holds no copy of the public key");
	for (i = 0; i < n; i++) {
		memcpy(bin, rw.bin, rw.len);
		bin[at[i] + 7] ^= 0x01;
		write_armored(key, rw.label, bin, rw.len);
		ck_assert_msg(keys_authority_load(key, &back) == -EBADMSG,
			      "public key copy %zu at offset %zu altered: got %d",
			      i, at[i], keys_authority_load(key, &back));
	}
	free(key);
	free(pub);
	test_rmtree(dir);
}
END_TEST

START_TEST(test_host_pub_half_altered)
{
	char *dir = test_tmpdir();
	char *key = test_path(dir, "h.key"), *pub = test_path(dir, "h.pub");
	struct host_keys hk, back;
	struct rewrite rw;
	uint8_t bin[4096];
	size_t at[8], n, i, which;

	ck_assert_int_eq(keys_host_generate(&hk), 0);
	ck_assert_int_eq(keys_host_save(key, pub, &hk), 0);
	read_armored(key, &rw);

	write_armored(key, rw.label, rw.bin, rw.len);
	ck_assert_int_eq(keys_host_load(key, &back), 0);
	ck_assert_mem_eq(back.tunnel_sk, hk.tunnel_sk, sizeof(hk.tunnel_sk));

	write_armored(key, rw.label, rw.bin, rw.len - 1);
	ck_assert_int_eq(keys_host_load(key, &back), -EINVAL);

	for (which = 0; which < 2; which++) {
		const uint8_t *pk = which == 0 ? hk.tunnel_pk : hk.sign_pk;

		n = find_all(rw.bin, rw.len, pk, at);
		ck_assert_msg(n >= 1, "the host key file holds no copy of its %s public key",
			      which == 0 ? "tunnel" : "signing");
		for (i = 0; i < n; i++) {
			memcpy(bin, rw.bin, rw.len);
			bin[at[i] + 3] ^= 0x10;
			write_armored(key, rw.label, bin, rw.len);
			ck_assert_msg(keys_host_load(key, &back) == -EBADMSG,
				      "%s public key copy %zu at offset %zu altered: got %d",
				      which == 0 ? "tunnel" : "signing", i, at[i],
				      keys_host_load(key, &back));
		}
	}
	free(key);
	free(pub);
	test_rmtree(dir);
}
END_TEST

/* wire.h: the binary inside each key file is one struct wire_key_file. */
START_TEST(test_key_file_layout)
{
	static const uint8_t zero[32];
	char *dir = test_tmpdir();
	char *akey = test_path(dir, "a.key"), *apub = test_path(dir, "a.pub");
	char *hkey = test_path(dir, "h.key"), *hpub = test_path(dir, "h.pub");
	struct authority_key ak;
	struct host_keys hk;
	struct wire_key_file kf;
	struct rewrite rw;

	ck_assert_int_eq(keys_authority_generate(&ak), 0);
	ck_assert_int_eq(keys_authority_save(akey, apub, &ak), 0);
	ck_assert_int_eq(keys_host_generate(&hk), 0);
	ck_assert_int_eq(keys_host_save(hkey, hpub, &hk), 0);

	read_armored(akey, &rw);
	ck_assert_uint_eq(rw.len, sizeof(kf));
	memcpy(&kf, rw.bin, sizeof(kf));
	ck_assert_uint_eq(kf.version, WIRE_VERSION);
	ck_assert_uint_eq(kf.kind, WIRE_KEY_AUTHORITY_SECRET);
	ck_assert_uint_eq(kf.reserved[0] | kf.reserved[1], 0);
	ck_assert_mem_eq(kf.seed, ak.sk, 32);
	ck_assert_mem_eq(kf.pk, ak.pk, 32);

	read_armored(apub, &rw);
	ck_assert_uint_eq(rw.len, sizeof(kf));
	memcpy(&kf, rw.bin, sizeof(kf));
	ck_assert_uint_eq(kf.version, WIRE_VERSION);
	ck_assert_uint_eq(kf.kind, WIRE_KEY_AUTHORITY_PUBLIC);
	ck_assert_mem_eq(kf.seed, zero, 32);
	ck_assert_mem_eq(kf.tunnel_sk, zero, 32);
	ck_assert_mem_eq(kf.tunnel_pk, zero, 32);
	ck_assert_mem_eq(kf.pk, ak.pk, 32);

	read_armored(hkey, &rw);
	ck_assert_uint_eq(rw.len, sizeof(kf));
	memcpy(&kf, rw.bin, sizeof(kf));
	ck_assert_uint_eq(kf.version, WIRE_VERSION);
	ck_assert_uint_eq(kf.kind, WIRE_KEY_HOST_SECRET);
	ck_assert_mem_eq(kf.tunnel_sk, hk.tunnel_sk, 32);
	ck_assert_mem_eq(kf.seed, hk.sign_sk, 32);
	ck_assert_mem_eq(kf.tunnel_pk, hk.tunnel_pk, 32);
	ck_assert_mem_eq(kf.pk, hk.sign_pk, 32);

	read_armored(hpub, &rw);
	ck_assert_uint_eq(rw.len, sizeof(kf));
	memcpy(&kf, rw.bin, sizeof(kf));
	ck_assert_uint_eq(kf.kind, WIRE_KEY_HOST_PUBLIC);
	ck_assert_mem_eq(kf.tunnel_sk, zero, 32);
	ck_assert_mem_eq(kf.seed, zero, 32);
	ck_assert_mem_eq(kf.tunnel_pk, hk.tunnel_pk, 32);
	ck_assert_mem_eq(kf.pk, hk.sign_pk, 32);

	free(akey);
	free(apub);
	free(hkey);
	free(hpub);
	test_rmtree(dir);
}
END_TEST

/* A secret key file edited field by field (re-armored, mode 0600). */
struct kf_edit_case {
	const char *what;
	bool host;
	size_t offset;		/* into struct wire_key_file */
	uint8_t value;		/* stored there (xor when xor is set) */
	bool xor;
	int rc;
};

static const struct kf_edit_case kf_edit_cases[] = {
	{ "authority: version 2", false, 0, 2, false, -EINVAL },
	{ "authority: version 0", false, 0, 0, false, -EINVAL },
	{ "authority: kind host secret", false, 1, WIRE_KEY_HOST_SECRET, false, -EINVAL },
	{ "authority: kind authority public", false, 1, WIRE_KEY_AUTHORITY_PUBLIC, false,
	  -EINVAL },
	{ "authority: kind 99", false, 1, 99, false, -EINVAL },
	{ "authority: reserved", false, 2, 1, false, -EINVAL },
	{ "authority: pk altered", false, 100, 0x01, true, -EBADMSG },
	{ "authority: pk last byte", false, 131, 0x80, true, -EBADMSG },
	{ "authority: seed altered", false, 36, 0x01, true, -EBADMSG },
	{ "host: version 2", true, 0, 2, false, -EINVAL },
	{ "host: kind authority secret", true, 1, WIRE_KEY_AUTHORITY_SECRET, false, -EINVAL },
	{ "host: kind host public", true, 1, WIRE_KEY_HOST_PUBLIC, false, -EINVAL },
	{ "host: reserved", true, 3, 1, false, -EINVAL },
	{ "host: tunnel_pk altered", true, 68, 0x01, true, -EBADMSG },
	{ "host: pk altered", true, 100, 0x01, true, -EBADMSG },
	{ "host: tunnel_sk altered", true, 4, 0x40, true, -EBADMSG },
	{ "host: seed altered", true, 36, 0x01, true, -EBADMSG },
};

START_TEST(test_key_file_edit)
{
	const struct kf_edit_case *c = &kf_edit_cases[_i];
	char *dir = test_tmpdir();
	char *key = test_path(dir, "x.key"), *pub = test_path(dir, "x.pub");
	struct authority_key ak;
	struct host_keys hk;
	struct rewrite rw;
	int rc;

	if (c->host) {
		ck_assert_int_eq(keys_host_generate(&hk), 0);
		ck_assert_int_eq(keys_host_save(key, pub, &hk), 0);
	} else {
		ck_assert_int_eq(keys_authority_generate(&ak), 0);
		ck_assert_int_eq(keys_authority_save(key, pub, &ak), 0);
	}
	read_armored(key, &rw);
	ck_assert_uint_eq(rw.len, sizeof(struct wire_key_file));
	if (c->xor)
		rw.bin[c->offset] ^= c->value;
	else
		rw.bin[c->offset] = c->value;
	write_armored(key, rw.label, rw.bin, rw.len);
	rc = c->host ? keys_host_load(key, &hk) : keys_authority_load(key, &ak);
	ck_assert_msg(rc == c->rc, "%s: got %d, want %d", c->what, rc, c->rc);
	free(key);
	free(pub);
	test_rmtree(dir);
}
END_TEST

Suite *suite_keys(void)
{
	Suite *s = suite_create("keys");
	TCase *tc;

	tc = tcase_create("generate");
	tcase_add_test(tc, test_authority_generate);
	tcase_add_test(tc, test_host_generate);
	tcase_add_test(tc, test_key_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64");
	tcase_add_test(tc, test_pub_base64_roundtrip);
	tcase_add_loop_test(tc, test_pub_base64_rejects, 0,
			    sizeof(base64_bad) / sizeof(base64_bad[0]));
	tcase_add_test(tc, test_pub_base64_accepts_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_authority_files);
	tcase_add_test(tc, test_host_files);
	tcase_add_loop_test(tc, test_load_case, 0,
			    sizeof(load_cases) / sizeof(load_cases[0]));
	tcase_add_test(tc, test_authority_pub_half_altered);
	tcase_add_test(tc, test_host_pub_half_altered);
	tcase_add_test(tc, test_key_file_layout);
	tcase_add_loop_test(tc, test_key_file_edit, 0,
			    sizeof(kf_edit_cases) / sizeof(kf_edit_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
