/* job_runner.h - runs jobs for the HTTP server and the `run` command.
 * Owns: the shared state jobs need (host set-up, limits, admission, ids). */
#ifndef CODERUNNER_JOB_RUNNER_H
#define CODERUNNER_JOB_RUNNER_H

#include <stdatomic.h>

#include "admission.h"
#include "cgroup.h"
#include "host.h"
#include "job.h"
#include "limits.h"

struct job_runner {
	const struct host *host;
	const struct limits *limits;
	struct admission admission;
	unsigned long id_base;		    /* first host uid of slot 0's range */
	const struct cgroup_setup *cgroups; /* NULL: limits not enforced */
	atomic_ulong next_id;
};

int job_runner_init(struct job_runner *r, const struct host *h, const struct limits *lim,
		    unsigned max_jobs, unsigned long id_base, const struct cgroup_setup *cgroups);
void job_runner_destroy(struct job_runner *r);

/* Runs one validated job to completion (waiting for a free slot first).
 * Always fills res; res->exit_code == -1 means CodeRunner failed, with the
 * reason in res->error. Thread-safe. */
void job_run(struct job_runner *r, const struct job_spec *spec, struct job_result *res);

#endif
