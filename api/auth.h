/* auth.h - API keys for multi-tenant use: `Authorization: Bearer KEY`.
 * Owns: loading the keys file, reloading it on SIGHUP, and checking a
 * presented key in constant time. Never logs or returns a key. */
#ifndef CODERUNNER_AUTH_H
#define CODERUNNER_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "../runtime/error.h"

struct api_key {
	unsigned char digest[32]; /* sha256 of the key: equal-length comparison */
	char tenant[64];
};

struct auth {
	pthread_rwlock_t lock;
	const char *path; /* NULL: authentication off */
	struct api_key *keys;
	size_t nkeys;
};

/* Loads path ("KEY TENANT" per line, # comments); NULL path disables auth. */
int auth_init(struct auth *a, const char *path, struct error *err);
/* Re-reads the file; on error the old keys stay in force. */
int auth_reload(struct auth *a, struct error *err);
void auth_destroy(struct auth *a);

bool auth_enabled(const struct auth *a);

/* Checks an Authorization header value; on success copies the tenant name.
 * Every stored key is compared, each in constant time. */
bool auth_check(struct auth *a, const char *authorization, char *tenant, size_t tenant_len);

#endif
