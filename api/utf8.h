/* utf8.h - UTF-8 checks and repair for everything that enters or leaves JSON.
 * Owns: byte-level UTF-8 rules. Never allocates more than the output needs. */
#ifndef CODERUNNER_UTF8_H
#define CODERUNNER_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). */
bool utf8_valid(const unsigned char *buf, size_t len);

/* Returns a NUL-terminated copy of buf with every ill-formed sequence replaced
 * by U+FFFD, so the JSON we emit is always valid. NUL bytes become U+FFFD too
 * (cJSON strings are NUL-terminated). NULL on allocation failure. */
char *utf8_sanitize(const unsigned char *buf, size_t len, size_t *out_len);

#endif
