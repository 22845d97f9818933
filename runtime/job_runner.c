/* job_runner.c - the life of one job: slot, workspace, sandbox, supervision,
 * artifacts, and clean-up on every path.
 * Owns: ordering those steps so that nothing outlives the job. */
#include "job_runner.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "artifacts.h"
#include "metrics.h"
#include "spawn.h"
#include "supervise.h"
#include "workspace.h"

int job_runner_init(struct job_runner *r, const struct host *h, const struct limits *lim,
		    const struct admission_policy *policy, unsigned long id_base,
		    const struct cgroup_setup *cgroups)
{
	r->host = h;
	r->limits = lim;
	r->id_base = id_base;
	r->cgroups = cgroups;
	atomic_init(&r->next_id, 1);
	memset(&r->warm, 0, sizeof(r->warm));
	r->warm.wake_fd = -1;
	memset(&r->prepared, 0, sizeof(r->prepared));
	r->prepared.wake_fd = -1;
	memset(&r->netns, 0, sizeof(r->netns));
	r->netns.host_fd = -1;
	pthread_mutex_init(&r->running_lock, NULL);
	r->running_pidfd = malloc(policy->max_jobs * sizeof(*r->running_pidfd));
	if (!r->running_pidfd)
		return -1;
	for (unsigned i = 0; i < policy->max_jobs; i++)
		r->running_pidfd[i] = -1;
	return admission_init(&r->admission, policy->max_jobs, policy->max_waiting,
			      policy->max_wait_s, policy->tenant_limit);
}

/* Every slot running a job: warm imports would only compete with them. */
static bool all_slots_busy(void *arg)
{
	struct job_runner *r = arg;
	unsigned running, waiting;
	admission_counts(&r->admission, &running, &waiting);
	return running >= r->admission.slots;
}

int job_runner_start_pools(struct job_runner *r, const struct warm_config *warm, unsigned prepared,
			   struct error *err)
{
	unsigned slots = r->admission.slots;
	if (netns_pool_start(&r->netns, slots + warm->size + prepared, err) < 0)
		return -1;
	unsigned long first = r->id_base + (unsigned long)slots * SANDBOX_ID_RANGE;
	r->warm.busy = all_slots_busy; /* kept by warm_pool_start */
	r->warm.busy_arg = r;
	if (warm_pool_start(&r->warm, warm, r->host, r->limits, r->cgroups, &r->netns, first, slots,
			    &r->next_id, err) < 0)
		return -1;
	first += (unsigned long)warm_pool_ranges(warm, slots) * SANDBOX_ID_RANGE;
	struct warm_config cold = {
	    .size = prepared, .preload = "", .max_age_s = warm->max_age_s, .prepared = true};
	return warm_pool_start(&r->prepared, &cold, r->host, r->limits, r->cgroups, &r->netns,
			       first, slots, &r->next_id, err);
}

void job_runner_destroy(struct job_runner *r)
{
	warm_pool_stop(&r->warm);
	warm_pool_stop(&r->prepared);
	netns_pool_stop(&r->netns);
	admission_destroy(&r->admission);
	free(r->running_pidfd);
	r->running_pidfd = NULL;
	pthread_mutex_destroy(&r->running_lock);
}

enum admit_status job_runner_admit(struct job_runner *r, const struct admit_request *rq,
				   struct job_ticket *ticket)
{
	ticket->tenant = rq->tenant;
	return admission_acquire(&r->admission, rq, &ticket->slot, &ticket->queue_ms);
}

/* Publishes (or withdraws, with -1) the pidfd of the job in a slot. */
static void set_running(struct job_runner *r, unsigned slot, int pidfd)
{
	pthread_mutex_lock(&r->running_lock);
	r->running_pidfd[slot] = pidfd;
	pthread_mutex_unlock(&r->running_lock);
}

void job_runner_kill_all(struct job_runner *r)
{
	pthread_mutex_lock(&r->running_lock);
	for (unsigned i = 0; i < r->admission.slots; i++) {
		if (r->running_pidfd[i] >= 0)
			syscall(SYS_pidfd_send_signal, r->running_pidfd[i], SIGKILL, NULL, 0);
	}
	pthread_mutex_unlock(&r->running_lock);
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
	struct admit_request rq = {0};
	struct job_ticket ticket;
	job_runner_admit(r, &rq, &ticket); /* unbounded, never drained: always OK */
	job_run_admitted(r, &ticket, spec, res);
}

/* Threads numeric libraries may start: the CPU quota, rounded up. */
static unsigned thread_hint(double cpus)
{
	unsigned threads = (unsigned)cpus;
	if ((double)threads < cpus || threads == 0)
		threads++;
	return threads;
}

/* After a pooled sandbox reported its job's end (and was killed): when
 * processes other than the main ones (expected) are left, waits for the
 * kernel to end them all, so no straggler still writes while the results
 * are read. Alone, the main process's teardown is not waited for. */
static void wait_for_stragglers(struct sandbox_proc *proc, const struct job_cgroup *jc,
				int expected)
{
	int n = jc ? job_cgroup_nprocs(jc) : -1;
	if (n >= 0 && n <= expected)
		return;
	struct pollfd pfd = {.fd = proc->pidfd, .events = POLLIN};
	while (poll(&pfd, 1, 5000) < 0 && errno == EINTR)
		;
}

/* Supervises a started sandbox in a slot to its end and reads its usage;
 * cpu_before is what its cgroup had used before the job began; expected:
 * the processes a pooled sandbox still has once its job has reported. */
static void supervise_in_slot(struct job_runner *r, unsigned slot, struct sandbox_proc *proc,
			      int done_fd, int expected, struct job_cgroup *jc, double cpu_before,
			      double timeout_s, struct job_result *res)
{
	struct error err = {{0}};
	set_running(r, slot, proc->pidfd);
	int rc = supervise_job(proc, done_fd, timeout_s, r->limits, res, &err);
	set_running(r, slot, -1);
	if (proc->pid > 0) /* ended by report, not yet reaped */
		wait_for_stragglers(proc, jc, expected);
	if (rc < 0) {
		internal_error(res, &err);
	} else if (jc) {
		apply_usage(jc, res);
		if (res->cpu_ms >= 0 && cpu_before > 0)
			res->cpu_ms = res->cpu_ms > cpu_before ? res->cpu_ms - cpu_before : 0;
	}
}

/* Runs the job in a sandbox of the pool (warm, or prepared for a cold
 * start), if one fits; false: the job has not run. */
static bool run_in_pool(struct job_runner *r, struct warm_pool *pool, unsigned slot,
			const struct job_spec *spec, double setup_start, struct job_result *res)
{
	enum warm_miss why;
	if (!pool->started)
		return false;
	if (spec->deps_dir) {
		warm_pool_count_miss(pool, WARM_MISS_DEPENDENCIES);
		return false;
	}
	struct warm_member *m = warm_pool_take(pool, spec->memory_bytes, &why);
	if (!m)
		return false;
	struct error err = {{0}};
	uid_t uid = (uid_t)(m->id_base + SANDBOX_JOB_ID);
	struct job_resources resources = {
	    .memory_bytes = spec->memory_bytes, .cpus = spec->cpus, .pids = r->limits->pids};
	struct job_usage before = {.cpu_ms = -1};
	if (m->limited)
		job_cgroup_usage(&m->jc, &before);
	if (workspace_add_files(&m->ws, uid, uid, spec, &err) < 0 ||
	    (m->limited && job_cgroup_update(&m->jc, &m->resources, &resources, &err) < 0) ||
	    warm_member_go(m, spec->entry_point, thread_hint(spec->cpus), &err) < 0) {
		fprintf(stderr, "coderunner: hand-over to a %s sandbox failed, starting anew: %s\n",
			pool->cfg.prepared ? "prepared" : "warm", err.msg);
		warm_pool_release(pool, m);
		warm_pool_count_miss(pool, WARM_MISS_FAILED);
		return false;
	}
	res->limits_enforced = m->limited;
	res->warm_start = !pool->cfg.prepared;
	metrics_setup_seconds((monotonic_ms() - setup_start) / 1e3);
	/* a warm job's Python reports while exiting; a prepared one's init
	 * reports once Python is gone */
	supervise_in_slot(r, slot, &m->proc, m->control_fd, pool->cfg.prepared ? 1 : 2,
			  m->limited ? &m->jc : NULL, before.cpu_ms, spec->timeout_s, res);
	if (res->exit_code != -1 && artifacts_collect(m->ws.path, r->limits, res, &err) < 0)
		internal_error(res, &err);
	warm_pool_release(pool, m);
	return true;
}

/* One sandbox in a slot: its cgroup, the spawn, supervision and usage. The
 * caller owns the directory mounted at /workspace. */
static void run_sandbox(struct job_runner *r, unsigned slot, unsigned long id, const char *dir,
			const struct job_spec *spec, char *const *pip_args, double setup_start,
			struct job_result *res)
{
	struct error err = {{0}};
	unsigned long base = r->id_base + (unsigned long)slot * SANDBOX_ID_RANGE;
	struct job_cgroup jc = {.dir_fd = -1};
	bool limited = r->cgroups && r->cgroups->version != 0;
	struct job_resources resources = {
	    .memory_bytes = spec->memory_bytes, .cpus = spec->cpus, .pids = r->limits->pids};
	if (limited && job_cgroup_create(&jc, r->cgroups, id, &resources, &err) < 0) {
		internal_error(res, &err);
		goto done;
	}
	res->limits_enforced = limited;
	struct sandbox_params params = {.workspace = dir,
					.entry_point = spec->entry_point,
					.host_id_base = base,
					.tmpfs_bytes = r->limits->workspace_bytes,
					.cpus = thread_hint(spec->cpus),
					.cgroup = limited ? &jc : NULL,
					.deps_dir = spec->deps_dir,
					.share_network = pip_args != NULL,
					.pip_args = pip_args,
					.control_fd = -1,
					.netns_fd = pip_args ? -1 : netns_pool_take(&r->netns)};
	struct sandbox_proc proc;
	int spawned = sandbox_spawn(r->host, &params, &proc, &err);
	if (params.netns_fd >= 0)
		close(params.netns_fd); /* the sandbox holds it now */
	if (spawned < 0) {
		internal_error(res, &err);
		goto done;
	}
	metrics_setup_seconds((monotonic_ms() - setup_start) / 1e3);
	supervise_in_slot(r, slot, &proc, -1, 0, limited ? &jc : NULL, -1, spec->timeout_s, res);
	sandbox_proc_close(&proc);
done:
	job_cgroup_destroy(&jc);
}

/* The limits a result reports, filled before anything can fail. */
static void result_init(struct job_result *res, const struct job_spec *spec, size_t pids)
{
	memset(res, 0, sizeof(*res));
	res->cpu_ms = res->peak_memory = -1;
	res->memory_bytes = spec->memory_bytes;
	res->cpus = spec->cpus;
	res->pids = pids;
}

void job_run_admitted(struct job_runner *r, const struct job_ticket *ticket,
		      const struct job_spec *spec, struct job_result *res)
{
	result_init(res, spec, r->limits->pids);
	struct error err = {{0}};
	unsigned slot = ticket->slot;
	unsigned long id = atomic_fetch_add(&r->next_id, 1);
	unsigned long base = r->id_base + (unsigned long)slot * SANDBOX_ID_RANGE;
	double setup_start = monotonic_ms();
	if (run_in_pool(r, &r->warm, slot, spec, setup_start, res) ||
	    run_in_pool(r, &r->prepared, slot, spec, setup_start, res)) {
		admission_release(&r->admission, slot, ticket->tenant);
		return;
	}
	struct workspace ws;
	if (workspace_create(&ws, r->host->jobs_dir, id, (uid_t)(base + SANDBOX_JOB_ID),
			     (gid_t)(base + SANDBOX_JOB_ID), r->limits->workspace_bytes, spec,
			     &err) < 0) {
		internal_error(res, &err);
	} else {
		run_sandbox(r, slot, id, ws.path, spec, NULL, setup_start, res);
		if (res->exit_code != -1 && artifacts_collect(ws.path, r->limits, res, &err) < 0)
			internal_error(res, &err);
	}
	workspace_destroy(&ws);
	admission_release(&r->admission, slot, ticket->tenant);
}

void job_run_install(struct job_runner *r, const struct job_ticket *ticket, const char *dir,
		     char *const *pip_args, double timeout_s, struct job_result *res)
{
	struct job_spec spec = {.timeout_s = timeout_s,
				.memory_bytes = r->limits->default_memory_bytes,
				.cpus = r->limits->default_cpus};
	result_init(res, &spec, r->limits->pids);
	run_sandbox(r, ticket->slot, atomic_fetch_add(&r->next_id, 1), dir, &spec, pip_args,
		    monotonic_ms(), res);
}

unsigned long job_runner_host_uid(const struct job_runner *r, const struct job_ticket *ticket)
{
	return r->id_base + (unsigned long)ticket->slot * SANDBOX_ID_RANGE + SANDBOX_JOB_ID;
}
