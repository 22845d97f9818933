/* job_runner.h - runs jobs for the HTTP server and the `run` command.
 * Owns: the shared state jobs need (host set-up, limits, admission, ids) and
 * the registry of running jobs, so shutdown can end them all. */
#ifndef CODERUNNER_JOB_RUNNER_H
#define CODERUNNER_JOB_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>

#include "admission.h"
#include "cgroup.h"
#include "host.h"
#include "job.h"
#include "limits.h"
#include "netns_pool.h"
#include "warm_pool.h"

struct job_runner {
	const struct host *host;
	const struct limits *limits;
	struct admission admission;
	unsigned long id_base;		    /* first host uid of slot 0's range */
	const struct cgroup_setup *cgroups; /* NULL: limits not enforced */
	atomic_ulong next_id;
	pthread_mutex_t running_lock;
	int *running_pidfd;	   /* per slot: the job's init, or -1 */
	struct warm_pool warm;	   /* pre-started sandboxes; off until started */
	struct warm_pool prepared; /* sandboxes set up for cold jobs; off until started */
	struct netns_pool netns;   /* network namespaces made ahead; off until started */
};

/* A granted admission: the slot to run in, and how long it took. */
struct job_ticket {
	unsigned slot;
	double queue_ms;
	const char *tenant;
};

struct admission_policy {
	unsigned max_jobs;     /* run at once */
	unsigned max_waiting;  /* wait at most; 0: unbounded */
	double max_wait_s;     /* longest wait; 0: unbounded */
	unsigned tenant_limit; /* in flight per tenant; 0: none */
};

int job_runner_init(struct job_runner *r, const struct host *h, const struct limits *lim,
		    const struct admission_policy *policy, unsigned long id_base,
		    const struct cgroup_setup *cgroups);
void job_runner_destroy(struct job_runner *r);

/* Starts the server's background helpers: network namespaces made ahead
 * of jobs (netns_pool.h), warm starts and prepared sandboxes for cold jobs
 * (warm_pool.h; their uid ranges come after the slots', in that order).
 * `coderunner run` starts none. */
int job_runner_start_pools(struct job_runner *r, const struct warm_config *warm, unsigned prepared,
			   struct error *err);

/* Waits for a slot (see admission.h for the outcomes). */
enum admit_status job_runner_admit(struct job_runner *r, const struct admit_request *rq,
				   struct job_ticket *ticket);

/* Runs one validated job in an admitted slot to completion and releases the
 * slot. Always fills res; res->exit_code == -1 means CodeRunner failed, with
 * the reason in res->error. Thread-safe. */
void job_run_admitted(struct job_runner *r, const struct job_ticket *ticket,
		      const struct job_spec *spec, struct job_result *res);

/* Runs `pip install PIP_ARGS` in the admitted slot (which it keeps), with
 * dir as its writable /workspace and the host's network to reach the index.
 * Fills res like a job (exit_code, output, timed_out). */
void job_run_install(struct job_runner *r, const struct job_ticket *ticket, const char *dir,
		     char *const *pip_args, double timeout_s, struct job_result *res);

/* The host uid (and gid) the slot's sandbox user maps to: files it must
 * write are chowned to it. */
unsigned long job_runner_host_uid(const struct job_runner *r, const struct job_ticket *ticket);

/* Admits (waiting as long as needed) and runs: the `run` command. */
void job_run(struct job_runner *r, const struct job_spec *spec, struct job_result *res);

/* Kills every running job (shutdown after the grace period). */
void job_runner_kill_all(struct job_runner *r);

#endif
