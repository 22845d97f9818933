/* admission.c - see admission.h. */
#include "admission.h"

#include <stdlib.h>

int admission_init(struct admission *a, unsigned slots)
{
	a->busy = calloc(slots, sizeof(*a->busy));
	if (!a->busy)
		return -1;
	a->slots = slots;
	a->waiting = 0;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->freed, NULL);
	return 0;
}

void admission_destroy(struct admission *a)
{
	free(a->busy);
	a->busy = NULL;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->freed);
}

/* The lowest free slot is taken so host uid ranges are reused predictably. */
unsigned admission_acquire(struct admission *a)
{
	pthread_mutex_lock(&a->lock);
	a->waiting++;
	for (;;) {
		for (unsigned i = 0; i < a->slots; i++) {
			if (!a->busy[i]) {
				a->busy[i] = true;
				a->waiting--;
				pthread_mutex_unlock(&a->lock);
				return i;
			}
		}
		pthread_cond_wait(&a->freed, &a->lock);
	}
}

void admission_release(struct admission *a, unsigned slot)
{
	pthread_mutex_lock(&a->lock);
	a->busy[slot] = false;
	pthread_cond_signal(&a->freed);
	pthread_mutex_unlock(&a->lock);
}
