/* auth.c - see auth.h. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"

#define MIN_KEY_LEN 16

/* Parses the keys file into a fresh array. */
static int load(const char *path, struct api_key **out, size_t *n, struct error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return error_set(err, errno, "open API keys file %s", path);
	struct api_key *keys = NULL;
	size_t count = 0;
	char line[1024];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		char *key = strtok(p, " \t\r\n"), *tenant = strtok(NULL, " \t\r\n");
		if (!key || !tenant || strtok(NULL, " \t\r\n")) {
			rc = error_set(err, 0, "%s:%d: expected \"KEY TENANT\"", path, lineno);
			break;
		}
		if (strlen(key) < MIN_KEY_LEN) {
			rc = error_set(err, 0, "%s:%d: key shorter than %d characters", path,
				       lineno, MIN_KEY_LEN);
			break;
		}
		struct api_key *k = realloc(keys, (count + 1) * sizeof(*k));
		if (!k) {
			rc = error_set(err, ENOMEM, "load API keys");
			break;
		}
		keys = k;
		sha256(key, strlen(key), keys[count].digest);
		snprintf(keys[count].tenant, sizeof(keys[count].tenant), "%s", tenant);
		count++;
	}
	fclose(f);
	if (rc == 0 && count == 0)
		rc = error_set(err, 0, "API keys file %s has no keys", path);
	if (rc < 0) {
		free(keys);
		return -1;
	}
	*out = keys;
	*n = count;
	return 0;
}

int auth_init(struct auth *a, const char *path, struct error *err)
{
	memset(a, 0, sizeof(*a));
	pthread_rwlock_init(&a->lock, NULL);
	a->path = path && *path ? path : NULL;
	return a->path ? load(a->path, &a->keys, &a->nkeys, err) : 0;
}

int auth_reload(struct auth *a, struct error *err)
{
	if (!a->path)
		return 0;
	struct api_key *keys;
	size_t n;
	if (load(a->path, &keys, &n, err) < 0)
		return -1;
	pthread_rwlock_wrlock(&a->lock);
	free(a->keys);
	a->keys = keys;
	a->nkeys = n;
	pthread_rwlock_unlock(&a->lock);
	return 0;
}

void auth_destroy(struct auth *a)
{
	free(a->keys);
	a->keys = NULL;
	pthread_rwlock_destroy(&a->lock);
}

bool auth_enabled(const struct auth *a)
{
	return a->path != NULL;
}

/* Constant-time equality of two digests. */
static bool digest_equal(const unsigned char *x, const unsigned char *y)
{
	unsigned char diff = 0;
	for (int i = 0; i < 32; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

bool auth_check(struct auth *a, const char *authorization, char *tenant, size_t tenant_len)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	const char *key = authorization + 7;
	while (*key == ' ')
		key++;
	unsigned char digest[32];
	sha256(key, strlen(key), digest);
	bool found = false;
	pthread_rwlock_rdlock(&a->lock);
	for (size_t i = 0; i < a->nkeys; i++) {
		bool eq = digest_equal(digest, a->keys[i].digest);
		if (eq && !found) {
			snprintf(tenant, tenant_len, "%s", a->keys[i].tenant);
			found = true;
		}
	}
	pthread_rwlock_unlock(&a->lock);
	return found;
}
