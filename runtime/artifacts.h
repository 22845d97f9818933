/* artifacts.h - read the files a job left in /workspace/output.
 * Owns: the walk of the output tree. Never follows a symlink and never opens
 * anything but a regular file, whatever the job planted there. */
#ifndef CODERUNNER_ARTIFACTS_H
#define CODERUNNER_ARTIFACTS_H

#include "error.h"
#include "job.h"
#include "limits.h"

/* Collects every regular file under workspace/output into res->artifacts
 * (sorted by path), and names every file left out, with the reason, in
 * res->omitted. */
int artifacts_collect(const char *workspace, const struct limits *lim, struct job_result *res,
		      struct error *err);

#endif
