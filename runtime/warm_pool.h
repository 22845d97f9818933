/* warm_pool.h - warm starts: sandboxes started before their job, with
 * Python already running and a preload list (numpy, pandas, matplotlib)
 * already imported, so a job skips interpreter start-up and imports. The
 * same pool, with cfg.prepared, keeps sandboxes whose init waits for the job
 * before starting Python: cold jobs then skip only the sandbox's set-up.
 * Owns: keeping up to N such sandboxes ready in the background, retiring
 * them by age, restarting failed ones with back-off, and handing each to at
 * most one job.
 *
 * Design: a pool of one-shot pre-started sandboxes, not fork from a shared
 * template. Each member is a complete cold sandbox (own user, pid, mount,
 * net, ipc, uts and cgroup namespaces, own uid range, seccomp, no
 * privileges) whose Python waits on a control socket; nothing is shared
 * between jobs, not even the address-space layout or the hash seed. The
 * price: every warm job still costs one full start-up of CPU, paid ahead of
 * time at the lowest CPU weight. bench/warm_designs.py measures both. */
#ifndef CODERUNNER_WARM_POOL_H
#define CODERUNNER_WARM_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cgroup.h"
#include "error.h"
#include "host.h"
#include "limits.h"
#include "netns_pool.h"
#include "spawn.h"
#include "workspace.h"

/* Memory a warm job must have beyond what its sandbox already holds. */
#define WARM_MEMORY_HEADROOM ((size_t)32 << 20)

struct warm_config {
	unsigned size;	     /* sandboxes kept ready; 0 turns the pool off */
	const char *preload; /* comma-separated modules imported ahead of time */
	double max_age_s;    /* a ready sandbox older than this is replaced */
	bool prepared;	     /* Python is not started ahead: cold jobs, without the
				sandbox's set-up (namespaces, mounts, cgroup) */
};

/* Why a job started cold although warm starts are on. */
enum warm_miss {
	WARM_MISS_EMPTY,	/* no sandbox ready (all taken, or still importing) */
	WARM_MISS_MEMORY,	/* the job's memory limit is below a warm sandbox's use */
	WARM_MISS_DEPENDENCIES, /* jobs with dependencies need their own /opt */
	WARM_MISS_FAILED,	/* the hand-over failed; the job ran cold */
	WARM_MISS_COUNT
};

/* One pre-started sandbox. */
struct warm_member {
	unsigned long id;      /* job id: names its workspace and cgroup */
	unsigned range;	       /* its uid range, among the pool's */
	unsigned long id_base; /* first host uid of that range */
	struct workspace ws;
	struct job_cgroup jc;
	bool limited;			/* jc is a real cgroup */
	struct job_resources resources; /* what jc allows now */
	struct sandbox_proc proc;
	int control_fd;
	double born_ms;
	bool ready;
	struct warm_member *next;
};

struct warm_stats {
	unsigned target, ready, starting;
	double memory_bytes; /* charged to the ready and starting sandboxes */
	unsigned long started, start_failures, retired;
	unsigned long warm_jobs, misses[WARM_MISS_COUNT];
};

struct warm_pool {
	const struct host *host;
	const struct limits *limits;
	const struct cgroup_setup *cgroups; /* NULL: no limits */
	struct netns_pool *netns;
	struct warm_config cfg;
	unsigned long first_id_base; /* host uid of the pool's range 0 */
	unsigned nranges;
	bool *range_used;
	atomic_ulong *next_id; /* shared with the job runner */
	pthread_mutex_t lock;
	struct warm_member *members; /* starting and ready, not yet taken */
	struct warm_member *dying;   /* used, left to the manager to tear down */
	unsigned count, nready;
	int wake_fd; /* eventfd: the manager re-plans */
	pthread_t thread;
	atomic_bool started; /* read by job threads without the lock */
	bool stop;
	bool (*busy)(void *arg); /* the server is saturated: imports would be wasted */
	void *busy_arg;
	unsigned failures;   /* consecutive start failures */
	unsigned generation; /* bumped by recycle: older sandboxes are not used */
	double retry_at_ms;
	struct warm_stats stats;
};

/* Number of uid ranges the pool may use at once: its ready members plus
 * one taken member per job slot. */
unsigned warm_pool_ranges(const struct warm_config *cfg, unsigned max_jobs);

/* Starts the manager thread, which fills the pool in the background.
 * first_id_base: host uid of the first of warm_pool_ranges() ranges. */
int warm_pool_start(struct warm_pool *p, const struct warm_config *cfg, const struct host *h,
		    const struct limits *lim, const struct cgroup_setup *cgroups,
		    struct netns_pool *netns, unsigned long first_id_base, unsigned max_jobs,
		    atomic_ulong *next_id, struct error *err);

/* Takes a ready sandbox for a job with this memory limit, or returns NULL
 * and says why. The caller owns the member and must warm_pool_release it. */
struct warm_member *warm_pool_take(struct warm_pool *p, size_t memory_bytes, enum warm_miss *why);

/* Sends the job to a taken member: its entry point and thread count. */
int warm_member_go(struct warm_member *m, const char *entry_point, unsigned threads,
		   struct error *err);

/* Ends a taken member (killing what is left) and frees its uid range, in
 * the manager thread: the job's caller does not wait for the teardown. */
void warm_pool_release(struct warm_pool *p, struct warm_member *m);

/* Counts a cold start that warm starts could not serve. */
void warm_pool_count_miss(struct warm_pool *p, enum warm_miss why);

/* Replaces every sandbox not yet taken (SIGHUP, or a changed rootfs). */
void warm_pool_recycle(struct warm_pool *p);

/* Consistent copy of the counters, for /metrics. */
void warm_pool_stats(struct warm_pool *p, struct warm_stats *out);

/* Stops the manager and ends every member not taken; idempotent. */
void warm_pool_stop(struct warm_pool *p);

#endif
