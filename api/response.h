/* response.h - encode job results and errors as the JSON the API returns.
 * Owns: the response shape. Always emits valid JSON, whatever bytes the job
 * produced. */
#ifndef CODERUNNER_RESPONSE_H
#define CODERUNNER_RESPONSE_H

#include <stddef.h>

#include <stdbool.h>

#include "../runtime/job.h"
#include "../runtime/limits.h"

/* {"exit_code", "stdout", "stderr", "artifacts", ...}; malloc'd, NULL on OOM.
 * request_id (may be NULL) is echoed so callers can quote it. */
char *response_encode_result(const struct job_result *res, const char *request_id,
			     const char *hint);

/* A short hint for the next try, or "" (a module missing from the rootfs,
 * the timeout, the memory limit, truncated output). */
void response_hint(const struct job_result *res, const struct job_spec *spec,
		   const struct limits *lim, bool dependencies_enabled, char *out, size_t len);

/* {"error": msg} (plus "exit_code": -1 when internal); malloc'd. */
char *response_encode_error(const char *msg, int internal, const char *request_id);

#endif
