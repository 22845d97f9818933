/* admission.h - bounded concurrency for jobs.
 * Owns: how many jobs run at once, and which slot (and so which host uid
 * range) each running job holds. Never lets two running jobs share a slot. */
#ifndef CODERUNNER_ADMISSION_H
#define CODERUNNER_ADMISSION_H

#include <pthread.h>
#include <stdbool.h>

struct admission {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	bool *busy;
	unsigned slots;
	unsigned waiting;
};

int admission_init(struct admission *a, unsigned slots);
void admission_destroy(struct admission *a);
/* Blocks until a slot is free; returns its index. */
unsigned admission_acquire(struct admission *a);
void admission_release(struct admission *a, unsigned slot);

#endif
