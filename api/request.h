/* request.h - turn an HTTP request body into a validated job spec.
 * Owns: every rule about what a client may send. Never runs anything. */
#ifndef CODERUNNER_REQUEST_H
#define CODERUNNER_REQUEST_H

#include <stddef.h>

#include "../runtime/job.h"
#include "../runtime/limits.h"

/* A rejected request: HTTP status (400, 413, 501) and a message naming the
 * field and the rule, e.g. context["a/../b"]: path contains a ".." segment. */
struct api_error {
	int status;
	char msg[768];
};

/* JSON mode: body is a JSON object. Returns 0 and fills spec, or -1 and err. */
int request_parse_json(const char *body, size_t len, const struct limits *lim,
		       struct job_spec *spec, struct api_error *err);

/* Raw mode: body is the script itself; query may carry timeout_s. */
int request_parse_raw(const char *body, size_t len, const char *query, const struct limits *lim,
		      struct job_spec *spec, struct api_error *err);

/* Formats err and returns -1. */
int api_error_set(struct api_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
