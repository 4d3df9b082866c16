/*
 * policy/armor.c - PEM-like text armor around binary objects, so that
 * tokens and keys survive being mailed, pasted and put in files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "armor.h"

enum armor_fmt {
	ARMOR_COLS = 64,
};

static const char begin_pfx[] = "-----BEGIN CAPTUN ";
static const char end_pfx[] = "-----END CAPTUN ";
static const char dashes[] = "-----";

static bool label_valid(const char *label)
{
	size_t n = strlen(label);

	if (n == 0 || n > ARMOR_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((label[i] >= 'A' && label[i] <= 'Z') || label[i] == ' '))
			return false;
	return label[0] != ' ' && label[n - 1] != ' ';
}

int armor_encode(const char *label, const uint8_t *bin, size_t len, char **out,
		 size_t *outlen)
{
	size_t b64len, lines, cap, pos = 0;
	char *b64, *text;

	if (!label_valid(label) || len > ARMOR_BIN_MAX)
		return -EINVAL;
	b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64len);
	if (!b64)
		return -ENOMEM;
	sodium_bin2base64(b64, b64len, bin, len, sodium_base64_VARIANT_ORIGINAL);
	b64len = strlen(b64);
	lines = (b64len + ARMOR_COLS - 1) / ARMOR_COLS;
	cap = 2 * (sizeof(begin_pfx) + ARMOR_LABEL_MAX + sizeof(dashes) + 1) +
	      b64len + lines + 1;
	text = malloc(cap);
	if (!text) {
		free(b64);
		return -ENOMEM;
	}
	pos += (size_t)snprintf(text + pos, cap - pos, "%s%s%s\n", begin_pfx,
				label, dashes);
	for (size_t i = 0; i < b64len; i += ARMOR_COLS) {
		size_t n = b64len - i < ARMOR_COLS ? b64len - i : ARMOR_COLS;

		memcpy(text + pos, b64 + i, n);
		pos += n;
		text[pos++] = '\n';
	}
	pos += (size_t)snprintf(text + pos, cap - pos, "%s%s%s\n", end_pfx,
				label, dashes);
	free(b64);
	*out = text;
	if (outlen)
		*outlen = pos;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool armor_base64_valid(const char *text, size_t len, bool space)
{
	bool padding = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (space && is_space(c))
			continue;
		if (c == '=') {
			padding = true;
			continue;
		}
		if (padding)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

/* Finds "PFX LABEL-----" at text[*pos]; copies the label out. */
static bool marker(const char *text, size_t len, size_t *pos, const char *pfx,
		   char label[ARMOR_LABEL_MAX + 1])
{
	size_t plen = strlen(pfx), i = *pos, n = 0;

	if (len - i < plen || memcmp(text + i, pfx, plen) != 0)
		return false;
	i += plen;
	while (i < len && text[i] != '-' && text[i] != '\n') {
		if (n == ARMOR_LABEL_MAX)
			return false;
		label[n++] = text[i++];
	}
	label[n] = '\0';
	if (len - i < sizeof(dashes) - 1 ||
	    memcmp(text + i, dashes, sizeof(dashes) - 1) != 0)
		return false;
	i += sizeof(dashes) - 1;
	if (!label_valid(label))
		return false;
	*pos = i;
	return true;
}

bool armor_decode(const char *text, size_t len, const char *label,
		  char *found_label, uint8_t *out, size_t cap, size_t *outlen)
{
	char first[ARMOR_LABEL_MAX + 1], last[ARMOR_LABEL_MAX + 1];
	size_t pos = 0, body, body_end, binlen = 0;
	const char *b64_end;

	while (pos < len && is_space(text[pos]))
		pos++;
	if (!marker(text, len, &pos, begin_pfx, first))
		return false;
	if (label && strcmp(first, label) != 0)
		return false;
	body = pos;
	for (body_end = body; body_end < len; body_end++)
		if (text[body_end] == '-')
			break;
	if (body_end == len)
		return false;
	pos = body_end;
	if (!marker(text, len, &pos, end_pfx, last) || strcmp(first, last) != 0)
		return false;
	while (pos < len && is_space(text[pos]))
		pos++;
	if (pos != len)
		return false;
	if (!armor_base64_valid(text + body, body_end - body, true))
		return false;
	if (sodium_base642bin(out, cap, text + body, body_end - body, " \t\r\n",
			      &binlen, &b64_end, sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	if (b64_end != text + body_end)
		return false;
	if (found_label)
		memcpy(found_label, first, strlen(first) + 1);
	*outlen = binlen;
	return true;
}
