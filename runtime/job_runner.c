/* job_runner.c - the life of one job: slot, workspace, sandbox, supervision,
 * artifacts, and clean-up on every path.
 * Owns: ordering those steps so that nothing outlives the job. */
#include "job_runner.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "spawn.h"
#include "supervise.h"
#include "workspace.h"

int job_runner_init(struct job_runner *r, const struct host *h, const struct limits *lim,
		    unsigned max_jobs, unsigned long id_base, unsigned cpus)
{
	r->host = h;
	r->limits = lim;
	r->id_base = id_base;
	r->cpus = cpus;
	atomic_init(&r->next_id, 1);
	return admission_init(&r->admission, max_jobs);
}

void job_runner_destroy(struct job_runner *r)
{
	admission_destroy(&r->admission);
}

/* Marks res as an internal failure with the error's context. */
static void internal_error(struct job_result *res, const struct error *err)
{
	res->exit_code = -1;
	snprintf(res->error, sizeof(res->error), "%s", err->msg);
}

void job_run(struct job_runner *r, const struct job_spec *spec, struct job_result *res)
{
	memset(res, 0, sizeof(*res));
	struct error err = {{0}};
	unsigned slot = admission_acquire(&r->admission);
	unsigned long id = atomic_fetch_add(&r->next_id, 1);
	unsigned long base = r->id_base + (unsigned long)slot * SANDBOX_ID_RANGE;
	struct workspace ws;
	if (workspace_create(&ws, r->host->jobs_dir, id, (uid_t)(base + SANDBOX_JOB_ID),
			     (gid_t)(base + SANDBOX_JOB_ID), r->limits->workspace_bytes, spec,
			     &err) < 0) {
		internal_error(res, &err);
		goto done;
	}
	struct sandbox_params params = {.workspace = ws.path,
					.entry_point = spec->entry_point,
					.host_id_base = base,
					.tmpfs_bytes = r->limits->workspace_bytes,
					.cpus = r->cpus};
	struct sandbox_proc proc;
	if (sandbox_spawn(r->host, &params, &proc, &err) < 0) {
		internal_error(res, &err);
		goto done;
	}
	int rc = supervise_job(&proc, spec->timeout_s, r->limits, res, &err);
	sandbox_proc_close(&proc);
	if (rc < 0) {
		internal_error(res, &err);
		goto done;
	}
	if (artifacts_collect(ws.path, r->limits, res, &err) < 0)
		internal_error(res, &err);
done:
	workspace_destroy(&ws);
	admission_release(&r->admission, slot);
}
