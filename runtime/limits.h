/* limits.h - the server-wide limits every job is held to.
 * Owns: one struct shared by request validation and the runtime, so a limit
 * is configured once and enforced in both places. */
#ifndef CODERUNNER_LIMITS_H
#define CODERUNNER_LIMITS_H

#include <stddef.h>

struct limits {
	size_t max_body_bytes;	    /* whole HTTP request body */
	size_t max_script_bytes;    /* `script` or raw-mode body */
	size_t max_files;	    /* entries in `files`, and in `context` (separately) */
	size_t max_file_bytes;	    /* one decoded file */
	size_t max_total_bytes;	    /* all decoded `context` (and, separately, `files`) */
	size_t max_artifacts_bytes; /* all artifacts returned */
	size_t max_artifact_count;  /* artifacts listed before the rest are omitted */
	size_t stdout_cap;	    /* bytes of stdout kept */
	size_t stderr_cap;	    /* bytes of stderr kept */
	size_t workspace_bytes;	    /* size of each job's /workspace, /tmp, /dev/shm tmpfs */
	double default_timeout_s;
	double max_timeout_s;
	size_t default_memory_bytes; /* per-job memory limit (cgroup) */
	size_t max_memory_bytes;     /* largest memory_mb a request may ask for */
	double default_cpus;	     /* per-job CPU quota, in CPUs */
	double max_cpus;	     /* largest cpus a request may ask for */
	size_t pids;		     /* per-job process/thread limit */
};

/* Smallest memory_mb a request may ask for: Python itself needs ~10 MiB. */
#define MIN_MEMORY_MB 32
/* Smallest cpus a request may ask for. */
#define MIN_CPUS 0.05

/* The documented defaults (README "Limits"). */
void limits_defaults(struct limits *l);

#endif
