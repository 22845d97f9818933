/* http_internal.h - what the HTTP server's files share: the server state and
 * the response helpers. Not part of the API layer's public surface. */
#ifndef CODERUNNER_HTTP_INTERNAL_H
#define CODERUNNER_HTTP_INTERNAL_H

#include <civetweb.h>
#include <pthread.h>
#include <stdbool.h>

#include "http_server.h"

struct http_server {
	struct mg_context *ctx;
	struct job_runner *runner;
	struct auth *auth;
	char *info_json;
	unsigned retry_after_s;
	pthread_mutex_t state_lock;
	bool draining;
	char unready[256]; /* "" when ready */
};

/* Optional headers of a response. */
struct http_extra {
	const char *request_id;
	unsigned retry_after_s;
	const char *allow;
	bool www_authenticate;
	bool close;
};

void http_send(struct mg_connection *conn, int status, const char *type, const char *body,
	       size_t len, const struct http_extra *extra);
/* Sends {"error": msg, "request_id"}; returns the body length. */
size_t http_send_error(struct mg_connection *conn, int status, const char *msg,
		       const struct http_extra *extra);

/* POST /api/run (run_handler.c). */
int handle_run(struct mg_connection *conn, struct http_server *s);

#endif
