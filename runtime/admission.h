/* admission.h - admission control: how many jobs run at once, how many may
 * wait and for how long, per-tenant limits, and draining for shutdown.
 * Owns: the slots (and so the host uid range) each running job holds. Never
 * lets two running jobs share a slot, and never queues without bound. */
#ifndef CODERUNNER_ADMISSION_H
#define CODERUNNER_ADMISSION_H

#include <pthread.h>
#include <stdbool.h>

enum admit_status {
	ADMIT_OK,
	ADMIT_QUEUE_FULL,  /* max_waiting requests already wait: 429 */
	ADMIT_TIMEOUT,	   /* waited max_wait_s without a free slot: 429 */
	ADMIT_TENANT_BUSY, /* the tenant has tenant_limit requests in flight: 429 */
	ADMIT_DRAINING,	   /* shutting down: 503 */
	ADMIT_GONE,	   /* the client went away while waiting: nothing to answer */
};

struct tenant_count {
	char name[64];
	unsigned in_flight;
};

struct admission {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool *busy;
	unsigned slots, running, waiting;
	unsigned max_waiting;  /* 0: no queue bound (the `run` command) */
	double max_wait_s;     /* 0: wait as long as it takes */
	unsigned tenant_limit; /* requests in flight per tenant; 0: none */
	bool draining;
	struct tenant_count *tenants;
	unsigned ntenants;
};

/* What a request brings to the door. */
struct admit_request {
	const char *tenant;	 /* NULL when authentication is off */
	bool (*gone)(void *ctx); /* polled while waiting; NULL: never */
	void *ctx;
};

int admission_init(struct admission *a, unsigned slots, unsigned max_waiting, double max_wait_s,
		   unsigned tenant_limit);
void admission_destroy(struct admission *a);

/* Waits for a slot under the rules above; on ADMIT_OK fills slot (release it
 * with admission_release) and how long the request waited. */
enum admit_status admission_acquire(struct admission *a, const struct admit_request *rq,
				    unsigned *slot, double *waited_ms);
void admission_release(struct admission *a, unsigned slot, const char *tenant);

/* Refuses new work from now on and wakes every waiter (they get DRAINING). */
void admission_drain(struct admission *a);

/* Snapshot for metrics and shutdown. */
void admission_counts(struct admission *a, unsigned *running, unsigned *waiting);

#endif
