/* base64.c - see base64.h. */
#include "base64.h"

#include <stdbool.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Plain 3-bytes-to-4-chars loop; artifacts are at most a few MiB. */
char *base64_encode(const unsigned char *data, size_t len)
{
	size_t olen = (len + 2) / 3 * 4;
	char *out = malloc(olen + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)data[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Value of one alphabet character, or -1. */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Strict: an unknown character, data after padding, or a dangling single
 * character is an error, reported with its position for the API message. */
int base64_decode(const char *text, size_t text_len, unsigned char **out, size_t *out_len,
		  size_t *bad_at)
{
	unsigned char *buf = malloc(text_len / 4 * 3 + 3);
	if (!buf) {
		*bad_at = 0;
		return -1;
	}
	size_t o = 0, quad = 0, pad = 0, last = 0;
	unsigned acc = 0;
	for (size_t i = 0; i < text_len; i++) {
		char c = text[i];
		if (is_space(c))
			continue;
		last = i;
		if (c == '=') {
			/* padding only completes a quad of 2 or 3 characters */
			if (quad < 2 || pad >= 2)
				goto bad;
			pad++;
			quad++;
			if (quad == 4) {
				quad = 0;
			}
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || pad > 0) {
			*bad_at = i;
			free(buf);
			return -1;
		}
		acc = acc << 6 | (unsigned)v;
		quad++;
		if (quad == 4) {
			buf[o++] = (unsigned char)(acc >> 16);
			buf[o++] = (unsigned char)(acc >> 8);
			buf[o++] = (unsigned char)acc;
			acc = 0;
			quad = 0;
		}
		continue;
	bad:
		*bad_at = i;
		free(buf);
		return -1;
	}
	/* tail: the characters of an unpadded (or padded) last quad */
	size_t chars = pad ? 4 - pad : quad;
	if (pad && quad != 0) {
		*bad_at = last;
		free(buf);
		return -1;
	}
	if (pad) {
		/* acc holds 4 - pad characters */
		if (chars == 2) {
			buf[o++] = (unsigned char)(acc >> 4);
		} else if (chars == 3) {
			buf[o++] = (unsigned char)(acc >> 10);
			buf[o++] = (unsigned char)(acc >> 2);
		}
	} else if (quad == 1) {
		*bad_at = last;
		free(buf);
		return -1;
	} else if (quad == 2) {
		buf[o++] = (unsigned char)(acc >> 4);
	} else if (quad == 3) {
		buf[o++] = (unsigned char)(acc >> 10);
		buf[o++] = (unsigned char)(acc >> 2);
	}
	*out = buf;
	*out_len = o;
	return 0;
}
