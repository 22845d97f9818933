/* deps.h - on-demand dependencies: wheels installed once by pip in a
 * sandbox, kept in a content-addressed cache, mounted read-only into jobs.
 * Owns: cache keys, single-flight installs (in this process and, through
 * lock files, across processes sharing the cache), entry integrity, and
 * least-recently-used eviction. Never lets package code run at install time
 * (wheels only) and never caches a failed install. */
#ifndef CODERUNNER_DEPS_H
#define CODERUNNER_DEPS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "host.h"
#include "job_runner.h"

struct deps_config {
	const char *cache_dir;
	size_t cache_max_bytes;
	const char *index_url;
	const char *extra_index_url; /* or NULL */
	const char *trusted_host;    /* or NULL */
	double install_timeout_s;
};

struct deps_entry_state;

struct deps {
	struct deps_config cfg;
	char dir[1024];	 /* the cache, as the sandbox reaches it (under the state dir) */
	char python[32]; /* the rootfs's Python version: part of every key */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct deps_entry_state *states;
	size_t nstates;
	unsigned long counter;
	unsigned long hits, misses;
};

enum deps_status { DEPS_READY, DEPS_FAILED, DEPS_TIMEOUT, DEPS_INTERNAL };

/* One job's use of an entry. */
struct deps_use {
	char key[65];
	char site[PATH_MAX]; /* host path to mount at /opt */
	bool cache_hit;
	double install_ms;
	char message[1024]; /* why it failed: pip's essential lines */
};

/* Prepares the cache under cfg->cache_dir, bound into the server's state
 * dir; removes half-written entries left by a crash. */
int deps_init(struct deps *d, const struct deps_config *cfg, const struct host *h,
	      const char *python_version, struct error *err);
void deps_destroy(struct deps *d);

/* Makes the requirements available: a cache hit, or an install in the
 * ticket's slot (waiting for an identical install already running). On
 * DEPS_READY the entry is in use until deps_release. */
enum deps_status deps_acquire(struct deps *d, struct job_runner *r, const struct job_ticket *t,
			      char *const *reqs, size_t n, struct deps_use *use);
void deps_release(struct deps *d, const struct deps_use *use);

/* Cache statistics for /metrics. */
void deps_stats(struct deps *d, unsigned long *hits, unsigned long *misses, size_t *bytes);

#endif
