/* workspace.h - a job's /workspace: a tmpfs of its own, filled before the
 * job starts and read back after it ends.
 * Owns: creating, filling and removing the per-job directory. Never follows
 * a symlink the job could have planted. */
#ifndef CODERUNNER_WORKSPACE_H
#define CODERUNNER_WORKSPACE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "job.h"

struct workspace {
	char path[PATH_MAX];
	int mounted;
};

/* Mounts a size-bounded tmpfs at jobs_dir/<id>, owned by the job's host
 * uid/gid, with input/, output/ and every spec file (if spec) written in. */
int workspace_create(struct workspace *ws, const char *jobs_dir, unsigned long id, uid_t uid,
		     gid_t gid, size_t size, const struct job_spec *spec, struct error *err);

/* Writes the spec's files into an existing workspace: a warm sandbox's,
 * made empty before the job was known. */
int workspace_add_files(const struct workspace *ws, uid_t uid, gid_t gid,
			const struct job_spec *spec, struct error *err);

/* Unmounts and removes the directory; safe to call twice or after a partial
 * create. */
void workspace_destroy(struct workspace *ws);

#endif
