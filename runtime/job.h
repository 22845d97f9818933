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
	char error[512]; /* set when exit_code == -1 */
};

void job_spec_free(struct job_spec *spec);
void job_result_free(struct job_result *res);

#endif
