/* netns_pool.c - see netns_pool.h. */
#include "netns_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink.h"

/* Back-off when creating a namespace fails (out of memory, a limit). */
#define RETRY_SECONDS 1

/* Creates one namespace with lo up, from the filler thread: the thread
 * moves into it, takes an fd, and moves back. */
static int make_one(struct netns_pool *p, struct error *err)
{
	if (unshare(CLONE_NEWNET) < 0)
		return error_set(err, errno, "unshare a network namespace");
	int fd = -1;
	if (netlink_loopback_up(err) == 0) {
		fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			error_set(err, errno, "open /proc/thread-self/ns/net");
	}
	if (setns(p->host_fd, CLONE_NEWNET) < 0) { /* only out of memory */
		error_set(err, errno, "netns pool: return to the host namespace (pool stopped)");
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&p->lock);
		p->stop = true; /* this thread is stranded: make no more */
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	return fd;
}

/* Keeps the pool full until stopped. */
static void *filler(void *arg)
{
	struct netns_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->n >= p->size) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		struct error err = {{0}};
		int fd = make_one(p, &err);
		pthread_mutex_lock(&p->lock);
		if (fd < 0) {
			fprintf(stderr, "coderunner: netns pool: %s (jobs create their own)\n",
				err.msg);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += RETRY_SECONDS;
			pthread_cond_timedwait(&p->wake, &p->lock, &ts);
			continue;
		}
		p->ready[p->n++] = fd;
		p->made++;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int netns_pool_start(struct netns_pool *p, unsigned size, struct error *err)
{
	memset(p, 0, sizeof(*p));
	p->host_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->size = size;
	p->ready = calloc(size ? size : 1, sizeof(*p->ready));
	if (!p->ready)
		return error_set(err, ENOMEM, "network namespace pool");
	p->host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->host_fd < 0)
		return error_set(err, errno, "open /proc/thread-self/ns/net");
	int rc = pthread_create(&p->thread, NULL, filler, p);
	if (rc != 0)
		return error_set(err, rc, "start the network namespace thread");
	p->started = true;
	return 0;
}

int netns_pool_take(struct netns_pool *p)
{
	if (!p->started)
		return -1;
	int fd = -1;
	pthread_mutex_lock(&p->lock);
	if (p->n > 0)
		fd = p->ready[--p->n];
	else
		p->misses++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return fd;
}

void netns_pool_stop(struct netns_pool *p)
{
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	for (unsigned i = 0; i < p->n; i++)
		close(p->ready[i]);
	p->n = 0;
	free(p->ready);
	p->ready = NULL;
	if (p->host_fd >= 0)
		close(p->host_fd);
	p->host_fd = -1;
}
