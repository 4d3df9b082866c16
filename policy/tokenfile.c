/*
 * policy/tokenfile.c - signed objects kept in armored files: read one,
 * decode it and verify it, in one call for every daemon and tool that
 * trusts what the authority publishes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "fileio.h"
#include "token.h"

enum tokenfile_limit {
	TOKENFILE_TOKEN_MAX = 16384,
	TOKENFILE_REVOCATION_MAX = 1 << 20,
};

int token_file_verify(const char *path, enum wire_type type,
		      const struct token_trust *trust,
		      uint8_t bin[WIRE_TOKEN_MAX], size_t *binlen,
		      struct token *out, enum token_status *st)
{
	const char *label = type == WIRE_TYPE_HOST_TOKEN ? TOKEN_ARMOR_HOST
							 : TOKEN_ARMOR_USER;
	uint8_t *text = NULL;
	size_t len = 0;
	int ret;

	ret = fileio_read(path, TOKENFILE_TOKEN_MAX, &text, &len);
	if (ret < 0)
		return ret;
	if (!armor_decode((const char *)text, len, label, NULL, bin,
			  WIRE_TOKEN_MAX, binlen)) {
		free(text);
		return -EINVAL;
	}
	free(text);
	*st = token_verify(bin, *binlen, type, trust, out);
	return *st == TOKEN_OK ? 0 : -EKEYREJECTED;
}

int revocation_file_load(const char *path,
			 const uint8_t authority_pk[WIRE_PUBKEY_LEN],
			 struct revocation *out, enum token_status *st)
{
	uint8_t *text = NULL, *bin = NULL;
	size_t len = 0, binlen = 0;
	int ret;

	ret = fileio_read(path, TOKENFILE_REVOCATION_MAX, &text, &len);
	if (ret < 0)
		return ret;
	bin = malloc(len ? len : 1);
	if (!bin) {
		free(text);
		return -ENOMEM;
	}
	ret = -EINVAL;
	if (armor_decode((const char *)text, len, TOKEN_ARMOR_REVOCATION, NULL,
			 bin, len, &binlen)) {
		*st = revocation_verify(bin, binlen, authority_pk, out);
		ret = *st == TOKEN_OK ? 0 : -EKEYREJECTED;
	}
	free(bin);
	free(text);
	return ret;
}
