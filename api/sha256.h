/* sha256.h - SHA-256 (FIPS 180-4), for audit fingerprints of scripts and for
 * comparing API keys in constant time without leaking their length.
 * Owns: hashing only; no secrets are kept here. */
#ifndef CODERUNNER_SHA256_H
#define CODERUNNER_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[32]);

/* One-shot digest. */
void sha256(const void *data, size_t len, unsigned char out[32]);

/* Lower-case hex of the first n bytes of a digest (out holds 2n+1). */
void sha256_hex(const unsigned char digest[32], size_t n, char *out);

#endif
