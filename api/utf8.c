/* utf8.c - see utf8.h. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence at p (1-4), or 0 if ill-formed.
 * Follows the table in Unicode 15 §3.9 (D92). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* Validation walks sequences; one bad byte fails the whole buffer. */
bool utf8_valid(const unsigned char *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq_len(buf + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Worst case each input byte becomes 3 output bytes (U+FFFD). */
char *utf8_sanitize(const unsigned char *buf, size_t len, size_t *out_len)
{
	char *out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	while (i < len) {
		size_t n = utf8_seq_len(buf + i, len - i);
		if (n == 0 || (n == 1 && buf[i] == 0)) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i += 1;
			continue;
		}
		memcpy(out + o, buf + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}
