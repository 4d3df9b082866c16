/*
 * policy/armor.h - text armor for binary objects kept in files:
 *
 *   -----BEGIN CAPTUN <LABEL>-----
 *   <base64, 64 columns>
 *   -----END CAPTUN <LABEL>-----
 */
#ifndef CAPTUN_POLICY_ARMOR_H
#define CAPTUN_POLICY_ARMOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum armor_limit {
	ARMOR_LABEL_MAX = 48,
	ARMOR_BIN_MAX = 1 << 20,
};

/* Allocates *out (NUL-terminated, ends in a newline); returns 0 or -errno. */
int armor_encode(const char *label, const uint8_t *bin, size_t len, char **out,
		 size_t *outlen);

/*
 * Decodes the first armored block of text. If label is non-NULL the block
 * must carry exactly that label; the label found is copied to found_label
 * when that is non-NULL (ARMOR_LABEL_MAX + 1 bytes). Bytes before BEGIN and
 * after END are ignored only if they are whitespace. *outlen is set to the
 * binary length; fails if it would exceed cap.
 */
bool armor_decode(const char *text, size_t len, const char *label,
		  char *found_label, uint8_t *out, size_t cap, size_t *outlen);

/*
 * True if text holds only the base64 alphabet (A-Z a-z 0-9 + /), '='
 * padding at the end, and, if space is set, ASCII whitespace. libsodium
 * 1.0.18 decodes bytes 0x80-0xff as '/', so callers check this first to
 * keep one text form per object.
 */
bool armor_base64_valid(const char *text, size_t len, bool space);

#endif
