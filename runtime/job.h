/* job.h - what a job is (spec) and what it produced (result).
 * Owns: the data passed from the API layer to the runtime and back. No I/O. */
#ifndef CODERUNNER_JOB_H
#define CODERUNNER_JOB_H

#include <stdbool.h>
#include <stddef.h>

/* One file written into the workspace before the job starts. */
struct job_file {
	char *path; /* workspace-relative, validated ("input/a.csv") */
	unsigned char *data;
	size_t len;
};

struct job_spec {
	struct job_file *files;
	size_t nfiles;
	char *entry_point; /* workspace-relative .py path among files */
	double timeout_s;
	size_t memory_bytes; /* memory limit */
	double cpus;	     /* CPU quota, in CPUs */
	char **dependencies; /* canonical requirement strings */
	size_t ndependencies;
	const char *deps_dir; /* host path of the installed packages, or NULL */
};

/* One artifact read back from /workspace/output. */
struct artifact {
	char *path; /* relative to output/, valid UTF-8 */
	unsigned char *data;
	size_t len;
};

/* Captured output of one stream. */
struct captured {
	char *data;
	size_t len;
	size_t dropped; /* bytes past the cap, discarded */
};

struct job_result {
	int exit_code; /* script's code, 124 timeout, 128+N signal, -1 internal */
	bool timed_out;
	struct captured out, err;
	struct artifact *artifacts;
	size_t nartifacts;
	char **omitted; /* artifacts left out (limits, type), with reasons */
	size_t nomitted;
	double duration_ms;
	bool oom_killed;      /* the kernel's OOM killer acted in the job's cgroup */
	bool limits_enforced; /* the job ran in a cgroup with the limits below */
	bool warm_start;      /* it ran in a pre-started sandbox (warm_pool.h) */
	size_t memory_bytes;  /* limits applied */
	double cpus;
	size_t pids;
	double cpu_ms;	    /* CPU time used; < 0 when unknown */
	double peak_memory; /* bytes; < 0 when unknown */
	char error[512];    /* set when exit_code == -1 */
	bool deps_used;	    /* dependencies were requested */
	bool deps_cache_hit;
	double deps_install_ms;
};

void job_spec_free(struct job_spec *spec);
void job_result_free(struct job_result *res);

#endif
