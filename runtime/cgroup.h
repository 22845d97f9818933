/* cgroup.h - per-job resource limits through cgroups (v1, hybrid or v2).
 * Owns: finding the server's own cgroup, the per-instance subtree under it,
 * one cgroup per job with its memory, CPU and pids limits, OOM and usage
 * accounting, and removal of everything, including a crashed instance's
 * leftovers. Never writes to the files of the cgroup the server started in
 * or its ancestors, except on v2 the one write that delegation requires
 * (enabling controllers for children after moving into a leaf). */
#ifndef CODERUNNER_CGROUP_H
#define CODERUNNER_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum cg_controller { CG_MEMORY, CG_CPU, CG_CPUACCT, CG_PIDS, CG_COUNT };

struct cgroup_setup {
	int version;			   /* 1, 2, or 0 when no limits can be set */
	bool hybrid;			   /* v1 controllers plus a cgroup2 mount */
	bool have[CG_COUNT];		   /* controller usable for jobs */
	bool memsw;			   /* v1: swap accounting present */
	char mount[CG_COUNT][PATH_MAX];	   /* where each controller is mounted */
	char own[CG_COUNT][PATH_MAX];	   /* the server's cgroup, per controller */
	char instance[CG_COUNT][PATH_MAX]; /* own/coderunner-<pid>, relative to mount */
	char problem[1024];		   /* why limits are (partly) unavailable */
};

/* What one job may use. */
struct job_resources {
	uint64_t memory_bytes;
	double cpus;
	unsigned pids;
	bool background; /* lowest CPU weight: runs on idle CPU only (warm pool) */
};

struct job_usage {
	bool oom_killed;
	double cpu_ms;	    /* < 0 when unknown */
	double peak_memory; /* bytes; < 0 when unknown */
};

struct job_cgroup {
	const struct cgroup_setup *cs;
	char rel[CG_COUNT][PATH_MAX]; /* job dir relative to each mount */
	void *groups[CG_COUNT];	      /* libcgroup objects, one per distinct name */
	int dir_fd;		      /* v2: the job dir, for CLONE_INTO_CGROUP */
	bool created;
};

/* Detects the cgroup layout and prepares this instance's subtree. With
 * probe_only nothing is created or moved (for `coderunner doctor`). Returns
 * -1 only on unexpected failures; a host without usable controllers gives 0
 * with cs->version == 0 and cs->problem explaining the fix. */
int cgroup_setup_init(struct cgroup_setup *cs, bool probe_only, struct error *err);

/* Human-readable one-line summary ("v1 (hybrid): memory cpu cpuacct pids"). */
void cgroup_setup_describe(const struct cgroup_setup *cs, char *out, size_t len);

/* Removes the instance subtree (at shutdown). */
void cgroup_setup_cleanup(struct cgroup_setup *cs);

/* Creates the job's cgroup with its limits. */
int job_cgroup_create(struct job_cgroup *jc, const struct cgroup_setup *cs, unsigned long id,
		      const struct job_resources *r, struct error *err);

/* v1 (or v2 without CLONE_INTO_CGROUP): moves pid in before it runs any
 * job code. */
int job_cgroup_attach(struct job_cgroup *jc, pid_t pid, struct error *err);

/* Changes a live job cgroup (a warm sandbox taken for a job) from the
 * resources it has to r, writing only what differs: memory, CPU quota and
 * weight, pids; on v1 the memory peak restarts from now.
 * Lowering memory below what is in use fails on v1 but reclaims, and may
 * OOM-kill, on v2: callers check job_cgroup_memory_current first. */
int job_cgroup_update(struct job_cgroup *jc, const struct job_resources *from,
		      const struct job_resources *r, struct error *err);

/* Processes in the cgroup now; < 0 when unknown. */
int job_cgroup_nprocs(const struct job_cgroup *jc);

/* Memory charged to the cgroup now, in bytes; < 0 when unknown. */
double job_cgroup_memory_current(const struct job_cgroup *jc);

/* Reads OOM kills, CPU time and peak memory after the job ended. */
void job_cgroup_usage(const struct job_cgroup *jc, struct job_usage *u);

/* Kills whatever is left in the job's cgroup and removes it. */
void job_cgroup_destroy(struct job_cgroup *jc);

#endif
