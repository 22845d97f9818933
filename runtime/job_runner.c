/* job_runner.c - the life of one job: slot, workspace, sandbox, supervision,
 * artifacts, and clean-up on every path.
 * Owns: ordering those steps so that nothing outlives the job. */
#include "job_runner.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "spawn.h"
#include "supervise.h"
#include "workspace.h"

int job_runner_init(struct job_runner *r, const struct host *h, const struct limits *lim,
		    unsigned max_jobs, unsigned long id_base, const struct cgroup_setup *cgroups)
{
	r->host = h;
	r->limits = lim;
	r->id_base = id_base;
	r->cgroups = cgroups;
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

/* Appends a line to the job's stderr, beyond the cap if need be: the
 * caller must always learn why its job ended. */
static void note_stderr(struct job_result *res, const char *note)
{
	size_t len = strlen(note);
	if (res->err.len > 0 && res->err.data[res->err.len - 1] != '\n')
		captured_append(&res->err, "\n", 1, res->err.len + 1);
	captured_append(&res->err, note, len, res->err.len + len);
}

/* Fills usage and the OOM outcome from the job's cgroup. An OOM kill
 * anywhere in the job reports 137, as the kernel's SIGKILL would. */
static void apply_usage(struct job_cgroup *jc, struct job_result *res)
{
	struct job_usage u;
	job_cgroup_usage(jc, &u);
	res->cpu_ms = u.cpu_ms;
	res->peak_memory = u.peak_memory;
	res->oom_killed = u.oom_killed;
	if (u.oom_killed && !res->timed_out) {
		res->exit_code = 137;
		char note[160];
		snprintf(note, sizeof(note),
			 "[coderunner] out of memory: the job exceeded its %zu MiB memory limit "
			 "and was killed\n",
			 res->memory_bytes >> 20);
		note_stderr(res, note);
	}
}

void job_run(struct job_runner *r, const struct job_spec *spec, struct job_result *res)
{
	memset(res, 0, sizeof(*res));
	res->cpu_ms = res->peak_memory = -1;
	res->memory_bytes = spec->memory_bytes;
	res->cpus = spec->cpus;
	res->pids = r->limits->pids;
	struct error err = {{0}};
	unsigned slot = admission_acquire(&r->admission);
	unsigned long id = atomic_fetch_add(&r->next_id, 1);
	unsigned long base = r->id_base + (unsigned long)slot * SANDBOX_ID_RANGE;
	struct workspace ws;
	struct job_cgroup jc = {.dir_fd = -1};
	bool limited = r->cgroups && r->cgroups->version != 0;
	if (workspace_create(&ws, r->host->jobs_dir, id, (uid_t)(base + SANDBOX_JOB_ID),
			     (gid_t)(base + SANDBOX_JOB_ID), r->limits->workspace_bytes, spec,
			     &err) < 0) {
		internal_error(res, &err);
		goto done;
	}
	struct job_resources resources = {
	    .memory_bytes = spec->memory_bytes, .cpus = spec->cpus, .pids = r->limits->pids};
	if (limited && job_cgroup_create(&jc, r->cgroups, id, &resources, &err) < 0) {
		internal_error(res, &err);
		goto done;
	}
	res->limits_enforced = limited;
	unsigned threads = (unsigned)spec->cpus;
	if ((double)threads < spec->cpus || threads == 0)
		threads++;
	struct sandbox_params params = {.workspace = ws.path,
					.entry_point = spec->entry_point,
					.host_id_base = base,
					.tmpfs_bytes = r->limits->workspace_bytes,
					.cpus = threads,
					.cgroup = limited ? &jc : NULL};
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
	if (limited)
		apply_usage(&jc, res);
	if (artifacts_collect(ws.path, r->limits, res, &err) < 0)
		internal_error(res, &err);
done:
	job_cgroup_destroy(&jc);
	workspace_destroy(&ws);
	admission_release(&r->admission, slot);
}
