/* admission.c - see admission.h. */
#include "admission.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a waiting request checks whether its client is still there. */
#define POLL_MS 100

int admission_init(struct admission *a, unsigned slots, unsigned max_waiting, double max_wait_s,
		   unsigned tenant_limit)
{
	memset(a, 0, sizeof(*a));
	a->busy = calloc(slots, sizeof(*a->busy));
	if (!a->busy)
		return -1;
	a->slots = slots;
	a->max_waiting = max_waiting;
	a->max_wait_s = max_wait_s;
	a->tenant_limit = tenant_limit;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->changed, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

void admission_destroy(struct admission *a)
{
	free(a->busy);
	free(a->tenants);
	a->busy = NULL;
	a->tenants = NULL;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
}

/* The tenant's counter, created on first use; NULL without a tenant or on
 * allocation failure (then the tenant is simply not limited). */
static struct tenant_count *tenant_of(struct admission *a, const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; i < a->ntenants; i++)
		if (strcmp(a->tenants[i].name, name) == 0)
			return &a->tenants[i];
	struct tenant_count *n = realloc(a->tenants, (a->ntenants + 1) * sizeof(*n));
	if (!n)
		return NULL;
	a->tenants = n;
	struct tenant_count *t = &a->tenants[a->ntenants++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->in_flight = 0;
	return t;
}

/* The lowest free slot, or -1. Lowest first keeps uid ranges predictable. */
static int free_slot(const struct admission *a)
{
	for (unsigned i = 0; i < a->slots; i++)
		if (!a->busy[i])
			return (int)i;
	return -1;
}

enum admit_status admission_acquire(struct admission *a, const struct admit_request *rq,
				    unsigned *slot, double *waited_ms)
{
	double start = monotonic_ms();
	*waited_ms = 0;
	pthread_mutex_lock(&a->lock);
	enum admit_status st = ADMIT_OK;
	struct tenant_count *t = tenant_of(a, rq->tenant);
	if (a->draining) {
		st = ADMIT_DRAINING;
	} else if (t && a->tenant_limit && t->in_flight >= a->tenant_limit) {
		st = ADMIT_TENANT_BUSY;
	} else if (free_slot(a) < 0 && a->max_waiting && a->waiting >= a->max_waiting) {
		st = ADMIT_QUEUE_FULL;
	}
	if (st != ADMIT_OK) {
		pthread_mutex_unlock(&a->lock);
		return st;
	}
	if (t)
		t->in_flight++;
	a->waiting++;
	int s;
	while ((s = free_slot(a)) < 0 || a->draining) {
		if (a->draining) {
			st = ADMIT_DRAINING;
			break;
		}
		double waited = monotonic_ms() - start;
		if (a->max_wait_s > 0 && waited >= a->max_wait_s * 1e3) {
			st = ADMIT_TIMEOUT;
			break;
		}
		pthread_mutex_unlock(&a->lock);
		bool gone = rq->gone && rq->gone(rq->ctx);
		pthread_mutex_lock(&a->lock);
		if (gone) {
			st = ADMIT_GONE;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->changed, &a->lock, &ts);
	}
	a->waiting--;
	if (st == ADMIT_OK) {
		a->busy[s] = true;
		a->running++;
		*slot = (unsigned)s;
	} else if (t) {
		t->in_flight--;
	}
	pthread_mutex_unlock(&a->lock);
	*waited_ms = monotonic_ms() - start;
	return st;
}

void admission_release(struct admission *a, unsigned slot, const char *tenant)
{
	pthread_mutex_lock(&a->lock);
	a->busy[slot] = false;
	a->running--;
	struct tenant_count *t = tenant_of(a, tenant);
	if (t && t->in_flight > 0)
		t->in_flight--;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
}

void admission_drain(struct admission *a)
{
	pthread_mutex_lock(&a->lock);
	a->draining = true;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
}

void admission_counts(struct admission *a, unsigned *running, unsigned *waiting)
{
	pthread_mutex_lock(&a->lock);
	*running = a->running;
	*waiting = a->waiting;
	pthread_mutex_unlock(&a->lock);
}
