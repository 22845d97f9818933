/* netns_pool.h - empty network namespaces made ahead of time.
 * Owns: creating each job's network namespace (loopback up, nothing else)
 * in a background thread, so a job's start does not pay for it: creating
 * one costs ~3 ms and, while the kernel tears down old ones, up to ~20 ms.
 * Each namespace serves one job. They belong to the host's user namespace,
 * so a job (in its own user namespace) cannot reconfigure its network at
 * all; it can only use lo. */
#ifndef CODERUNNER_NETNS_POOL_H
#define CODERUNNER_NETNS_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "error.h"

struct netns_pool {
	int host_fd; /* the server's own network namespace */
	int *ready;  /* fds of fresh namespaces */
	unsigned n, size;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	atomic_bool started; /* read by job threads without the lock */
	bool stop;
	unsigned long made, misses;
};

/* Starts the filler thread keeping size namespaces ready. */
int netns_pool_start(struct netns_pool *p, unsigned size, struct error *err);

/* A fresh namespace's fd for one job (the caller closes it; see
 * sandbox_params.netns_fd), or -1 when none is ready: the caller then has
 * the kernel create one. */
int netns_pool_take(struct netns_pool *p);

/* Stops the filler and closes every namespace not taken; idempotent. */
void netns_pool_stop(struct netns_pool *p);

#endif
