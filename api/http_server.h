/* http_server.h - the HTTP API on civetweb: routes, probes, metrics,
 * authentication, admission, audit, and draining for shutdown.
 * Owns: turning HTTP requests into job runs and results into responses.
 * Never holds sandbox privileges itself: jobs run through the job runner. */
#ifndef CODERUNNER_HTTP_SERVER_H
#define CODERUNNER_HTTP_SERVER_H

#include <stdbool.h>

#include "../runtime/error.h"
#include "../runtime/job_runner.h"
#include "../runtime/deps.h"
#include "auth.h"

struct http_server;

struct http_config {
	const char *listen;		    /* "127.0.0.1:8080"; port 0 picks a free one */
	unsigned threads;		    /* civetweb worker threads */
	double io_timeout_s;		    /* longest a client may stall one read or write */
	const char *manifest_json;	    /* rootfs manifest reported at /api/info, or NULL */
	struct auth *auth;		    /* API keys (auth_enabled() false: open) */
	unsigned retry_after_s;		    /* Retry-After on 429 and 503 */
	struct deps *deps;		    /* NULL: "dependencies" are refused (501) */
	const char *const *allowed_origins; /* extra browser origins for /mcp, NULL-ended */
};

/* Starts serving; writes the bound address ("127.0.0.1:34567") to bound. */
struct http_server *http_server_start(const struct http_config *cfg, struct job_runner *runner,
				      char *bound, size_t bound_len, struct error *err);

/* Readiness: NULL when ready, else why not (copied). /readyz reports it. */
void http_server_set_unready(struct http_server *s, const char *reason);

/* Refuses new jobs (503, not ready) while running ones finish. */
void http_server_drain(struct http_server *s);

/* Stops accepting and waits for in-flight requests. */
void http_server_stop(struct http_server *s);

#endif
