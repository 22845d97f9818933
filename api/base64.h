/* base64.h - RFC 4648 base64 (standard alphabet) for context and artifacts.
 * Owns: encoding and strict decoding. Never accepts what it cannot decode. */
#ifndef CODERUNNER_BASE64_H
#define CODERUNNER_BASE64_H

#include <stddef.h>

/* Encodes len bytes; returns a NUL-terminated malloc'd string or NULL. */
char *base64_encode(const unsigned char *data, size_t len);

/* Decodes text (ASCII whitespace ignored, padding optional but never in the
 * middle). Returns 0 and a malloc'd buffer, or -1 with *bad_at set to the
 * offending character's offset. */
int base64_decode(const char *text, size_t text_len, unsigned char **out, size_t *out_len,
		  size_t *bad_at);

#endif
