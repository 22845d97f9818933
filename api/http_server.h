/* http_server.h - the HTTP API on civetweb: routes, body limits, responses.
 * Owns: turning HTTP requests into job runs and results into responses.
 * Never holds sandbox privileges itself: jobs run through the job runner. */
#ifndef CODERUNNER_HTTP_SERVER_H
#define CODERUNNER_HTTP_SERVER_H

#include "../runtime/error.h"
#include "../runtime/job_runner.h"

struct http_server;

struct http_config {
	const char *listen;	   /* "127.0.0.1:8080"; port 0 picks a free one */
	unsigned threads;	   /* civetweb worker threads */
	double io_timeout_s;	   /* longest a client may stall one read or write */
	const char *manifest_json; /* rootfs manifest reported at /api/info, or NULL */
};

/* Starts serving; writes the bound address ("127.0.0.1:34567") to bound. */
struct http_server *http_server_start(const struct http_config *cfg, struct job_runner *runner,
				      char *bound, size_t bound_len, struct error *err);
/* Stops accepting and waits for in-flight requests. */
void http_server_stop(struct http_server *s);

#endif
