/* audit.h - the audit log: one JSON line per request, and the server's own
 * messages, on stderr or a log file reopened on SIGHUP.
 * Owns: what is logged about a request. Never logs script contents, file
 * contents or context data: only sizes, counts and a hash prefix. */
#ifndef CODERUNNER_AUDIT_H
#define CODERUNNER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "../runtime/error.h"
#include "../runtime/job.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* level: "error", "warn", "info" or "debug"; file: NULL for stderr. */
int audit_init(const char *level, const char *file, struct error *err);
/* Reopens the log file (after rotation); stderr needs nothing. */
int audit_reopen(struct error *err);

/* A JSON line {"ts", "level", "msg"} at the given level. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The client's X-Request-Id when it is 1-64 of [A-Za-z0-9._-], else a new
 * random one; out holds at least 65 bytes. */
void request_id_choose(const char *client_value, char *out);

/* Everything one audit line says about a request. */
struct audit_record {
	const char *request_id, *tenant, *client, *method, *path;
	int status;
	size_t request_bytes, response_bytes;
	const struct job_spec *spec;	 /* NULL when the request was not parsed */
	const struct job_result *result; /* NULL when no job ran */
	double queue_ms, total_ms;
	const char *error; /* why the request was refused, if it was */
};

void audit_request(const struct audit_record *r);

#endif
