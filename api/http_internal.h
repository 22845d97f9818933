/* http_internal.h - what the HTTP server's files share: the server state and
 * the response helpers. Not part of the API layer's public surface. */
#ifndef CODERUNNER_HTTP_INTERNAL_H
#define CODERUNNER_HTTP_INTERNAL_H

#include <civetweb.h>
#include <pthread.h>
#include <stdbool.h>

#include "../runtime/deps.h"
#include "../runtime/metrics.h"
#include "audit.h"
#include "client_socket.h"
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
	struct deps *deps; /* NULL: installing "dependencies" is disabled */
	struct mcp_sessions *mcp;
	char *mcp_tools_json; /* tools/list result, built once from openapi.json */
	const char *const *allowed_origins;
};

/* Optional headers of a response. */
struct http_extra {
	const char *request_id;
	unsigned retry_after_s;
	const char *allow;
	bool www_authenticate;
	bool close;
	const char *mcp_session_id;
};

void http_send(struct mg_connection *conn, int status, const char *type, const char *body,
	       size_t len, const struct http_extra *extra);
/* Sends {"error": msg, "request_id"}; returns the body length. */
size_t http_send_error(struct mg_connection *conn, int status, const char *msg,
		       const struct http_extra *extra);

/* One job request from its JSON (or raw) body to its encoded response:
 * validation, admission, the run. Shared by /api/run and MCP tools/call. */
struct run_call {
	struct http_server *server;
	const char *body;
	size_t len;
	bool json;
	const char *query;
	const char *tenant;
	const char *request_id;
	struct client_socket client;
	/* results */
	int status;
	unsigned retry_after_s;
	char *response;
	bool have_spec, have_result;
	struct job_spec spec;
	struct job_result res;
	double queue_ms;
	char error[1100];
	enum job_outcome outcome;
};

/* Parses, admits, runs and encodes; fills status, response and outcome. */
void run_call_execute(struct run_call *c);
/* Counts the outcome in the metrics and writes the audit line. */
void run_call_account(struct run_call *c, struct audit_record *ar, double start_ms);
void run_call_release(struct run_call *c);

/* Reads a request body up to max bytes (NULL and *too_big past it). */
char *http_read_body(struct mg_connection *conn, size_t max, size_t *len, bool *too_big);
/* True when auth is off or the Authorization header holds a valid key. */
bool http_authenticate(struct http_server *s, struct mg_connection *conn, char *tenant,
		       size_t tenant_len);

/* Client-gone (status never sent): nginx's convention for the logs. */
#define STATUS_CLIENT_GONE 499

typedef int (*http_handler)(struct mg_connection *conn, struct http_server *s);
/* Runs fn on a thread with an 8 MiB stack and waits for it. */
int http_on_big_stack(struct mg_connection *conn, struct http_server *s, http_handler fn);

/* POST /api/run (run_handler.c). */
int handle_run(struct mg_connection *conn, struct http_server *s);
/* /mcp (mcp.c). */
int handle_mcp(struct mg_connection *conn, struct http_server *s);
struct mcp_sessions *mcp_sessions_new(void);
void mcp_sessions_free(struct mcp_sessions *m);
char *mcp_tools_build(void);

#endif
