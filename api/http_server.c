/* http_server.c - see http_server.h. Routing, probes and metrics live here;
 * the /api/run flow is in run_handler.c. */
#include "http_server.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cmd/version.h"
#include "../runtime/metrics.h"
#include "http_internal.h"
#include "response.h"

extern const char openapi_json[];

void http_send(struct mg_connection *conn, int status, const char *type, const char *body,
	       size_t len, const struct http_extra *extra)
{
	char clen[32], retry[16];
	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", type, -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	if (extra && extra->request_id)
		mg_response_header_add(conn, "X-Request-Id", extra->request_id, -1);
	if (extra && extra->retry_after_s) {
		snprintf(retry, sizeof(retry), "%u", extra->retry_after_s);
		mg_response_header_add(conn, "Retry-After", retry, -1);
	}
	if (extra && extra->mcp_session_id)
		mg_response_header_add(conn, "Mcp-Session-Id", extra->mcp_session_id, -1);
	if (extra && extra->allow)
		mg_response_header_add(conn, "Allow", extra->allow, -1);
	if (extra && extra->www_authenticate)
		mg_response_header_add(conn, "WWW-Authenticate", "Bearer realm=\"coderunner\"", -1);
	if (extra && extra->close) /* e.g. after refusing a body we did not read */
		mg_disable_connection_keep_alive(conn);
	mg_response_header_send(conn);
	if (strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
		mg_write(conn, body, len);
	metrics_http_response(status);
}

size_t http_send_error(struct mg_connection *conn, int status, const char *msg,
		       const struct http_extra *extra)
{
	char *body = response_encode_error(msg, status >= 500 && status != 501 && status != 503,
					   extra ? extra->request_id : NULL);
	if (!body) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		http_send(conn, 500, "application/json", oom, sizeof(oom) - 1, extra);
		return sizeof(oom) - 1;
	}
	size_t len = strlen(body);
	http_send(conn, status, "application/json", body, len, extra);
	free(body);
	return len;
}

static int method_not_allowed(struct mg_connection *conn, const char *allow)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "method not allowed; use %s", allow);
	struct http_extra extra = {.allow = allow};
	http_send_error(conn, 405, msg, &extra);
	return 405;
}

static int send_text(struct mg_connection *conn, int status, const char *text)
{
	http_send(conn, status, "text/plain; charset=utf-8", text, strlen(text), NULL);
	return status;
}

/* /readyz: 200 only when the rootfs, cgroups and the self-test job are fine
 * and we are not draining. */
static int handle_ready(struct mg_connection *conn, struct http_server *s)
{
	pthread_mutex_lock(&s->state_lock);
	char reason[256];
	snprintf(reason, sizeof(reason), "%s",
		 s->draining ? "draining: shutting down" : s->unready);
	pthread_mutex_unlock(&s->state_lock);
	if (reason[0] == '\0')
		return send_text(conn, 200, "ready\n");
	char text[300];
	snprintf(text, sizeof(text), "not ready: %s\n", reason);
	return send_text(conn, 503, text);
}

static int handle_metrics(struct mg_connection *conn, struct http_server *s)
{
	unsigned running, waiting;
	admission_counts(&s->runner->admission, &running, &waiting);
	char *text = metrics_render(running, waiting, s->runner->admission.slots, s->deps,
				    &s->runner->warm, &s->runner->prepared);
	if (!text)
		return send_text(conn, 500, "out of memory\n");
	http_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), NULL);
	free(text);
	return 200;
}

/* One handler for every path keeps routing (and 404s) in one place. */
static int route(struct mg_connection *conn, void *cbdata)
{
	struct http_server *s = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *uri = ri->local_uri ? ri->local_uri : "";
	bool get =
	    strcmp(ri->request_method, "GET") == 0 || strcmp(ri->request_method, "HEAD") == 0;
	if (strcmp(uri, "/api/run") == 0) {
		if (strcmp(ri->request_method, "POST") != 0)
			return method_not_allowed(conn, "POST");
		return handle_run(conn, s);
	}
	if (strcmp(uri, "/api/health") == 0 || strcmp(uri, "/healthz") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		return send_text(conn, 200, strcmp(uri, "/healthz") == 0 ? "ok\n" : "OK");
	}
	if (strcmp(uri, "/readyz") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		return handle_ready(conn, s);
	}
	if (strcmp(uri, "/metrics") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		return handle_metrics(conn, s);
	}
	if (strcmp(uri, "/mcp") == 0)
		return handle_mcp(conn, s);
	if (strcmp(uri, "/api/openapi.json") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		http_send(conn, 200, "application/json", openapi_json, strlen(openapi_json), NULL);
		return 200;
	}
	if (strcmp(uri, "/api/info") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		char tenant[64];
		if (!http_authenticate(s, conn, tenant, sizeof(tenant))) {
			struct http_extra extra = {.www_authenticate = true};
			http_send_error(conn, 401,
					"missing or invalid API key: send \"Authorization: Bearer "
					"<key>\"",
					&extra);
			return 401;
		}
		http_send(conn, 200, "application/json", s->info_json, strlen(s->info_json), NULL);
		return 200;
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "no such endpoint: %.100s; try POST /api/run", uri);
	http_send_error(conn, 404, msg, NULL);
	return 404;
}

/* /api/info: version, limits and the rootfs manifest, built once. */
static char *build_info(const struct http_config *cfg, const struct job_runner *runner)
{
	const struct limits *lim = runner->limits;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "version", CODERUNNER_VERSION);
	cJSON *l = cJSON_AddObjectToObject(root, "limits");
	cJSON_AddNumberToObject(l, "max_body_bytes", (double)lim->max_body_bytes);
	cJSON_AddNumberToObject(l, "max_script_bytes", (double)lim->max_script_bytes);
	cJSON_AddNumberToObject(l, "max_files", (double)lim->max_files);
	cJSON_AddNumberToObject(l, "max_file_bytes", (double)lim->max_file_bytes);
	cJSON_AddNumberToObject(l, "max_total_bytes", (double)lim->max_total_bytes);
	cJSON_AddNumberToObject(l, "max_artifacts_bytes", (double)lim->max_artifacts_bytes);
	cJSON_AddNumberToObject(l, "stdout_cap_bytes", (double)lim->stdout_cap);
	cJSON_AddNumberToObject(l, "stderr_cap_bytes", (double)lim->stderr_cap);
	cJSON_AddNumberToObject(l, "default_timeout_s", lim->default_timeout_s);
	cJSON_AddNumberToObject(l, "max_timeout_s", lim->max_timeout_s);
	cJSON_AddNumberToObject(l, "default_memory_mb", (double)(lim->default_memory_bytes >> 20));
	cJSON_AddNumberToObject(l, "max_memory_mb", (double)(lim->max_memory_bytes >> 20));
	cJSON_AddNumberToObject(l, "default_cpus", lim->default_cpus);
	cJSON_AddNumberToObject(l, "max_cpus", lim->max_cpus);
	cJSON_AddNumberToObject(l, "pids", (double)lim->pids);
	cJSON *features = cJSON_AddObjectToObject(root, "features");
	cJSON_AddBoolToObject(features, "dependencies", cfg->deps != NULL);
	cJSON_AddBoolToObject(features, "mcp", true);
	cJSON_AddBoolToObject(features, "api_keys", cfg->auth && auth_enabled(cfg->auth));
	cJSON_AddBoolToObject(features, "artifacts", true);
	cJSON_AddBoolToObject(features, "warm_starts", runner->warm.started);
	/* what a warm job finds imported already: worth importing in agent code */
	cJSON *preload = cJSON_AddArrayToObject(root, "warm_preload");
	char names[1024];
	snprintf(names, sizeof(names), "%s", runner->warm.started ? runner->warm.cfg.preload : "");
	for (char *save = NULL, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(preload, cJSON_CreateString(n));
	cJSON *manifest = cfg->manifest_json ? cJSON_Parse(cfg->manifest_json) : NULL;
	cJSON_AddItemToObject(root, "rootfs", manifest ? manifest : cJSON_CreateNull());
	char *out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

struct http_server *http_server_start(const struct http_config *cfg, struct job_runner *runner,
				      char *bound, size_t bound_len, struct error *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		error_set(err, 0, "out of memory");
		return NULL;
	}
	s->runner = runner;
	s->auth = cfg->auth;
	s->retry_after_s = cfg->retry_after_s ? cfg->retry_after_s : 1;
	pthread_mutex_init(&s->state_lock, NULL);
	s->info_json = build_info(cfg, runner);
	s->deps = cfg->deps;
	s->allowed_origins = cfg->allowed_origins;
	s->mcp = mcp_sessions_new();
	s->mcp_tools_json = mcp_tools_build();
	if (!s->info_json || !s->mcp || !s->mcp_tools_json) {
		error_set(err, 0, "out of memory (or a broken api/openapi.json)");
		free(s->info_json);
		free(s->mcp_tools_json);
		mcp_sessions_free(s->mcp);
		free(s);
		return NULL;
	}
	char threads[16], timeout_ms[32];
	snprintf(threads, sizeof(threads), "%u", cfg->threads);
	/* Per network read or write, not per request: a slow or stalled client
	 * loses its worker after this long, while a long job (which does no
	 * network I/O while it runs) is unaffected. */
	snprintf(timeout_ms, sizeof(timeout_ms), "%.0f", cfg->io_timeout_s * 1000);
	const char *options[] = {"listening_ports", cfg->listen, "num_threads", threads,
				 "request_timeout_ms", timeout_ms, "keep_alive_timeout_ms", "5000",
				 "enable_keep_alive", "yes",
				 /* headers and body go out in separate writes: without
				  * this, Nagle and delayed ACKs add ~40 ms per response */
				 "tcp_nodelay", "1", NULL};
	mg_init_library(0);
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	s->ctx = mg_start(&cb, s, options);
	if (!s->ctx) {
		error_set(err, 0, "cannot listen on %s (address in use, or not ip:port?)",
			  cfg->listen);
		free(s->info_json);
		free(s);
		return NULL;
	}
	mg_set_request_handler(s->ctx, "**", route, s);
	struct mg_server_port ports[4];
	int n = mg_get_server_ports(s->ctx, 4, ports);
	const char *host = cfg->listen;
	const char *colon = strrchr(host, ':');
	if (n > 0 && colon)
		snprintf(bound, bound_len, "%.*s:%d", (int)(colon - host), host, ports[0].port);
	else if (n > 0)
		snprintf(bound, bound_len, "0.0.0.0:%d", ports[0].port);
	else
		snprintf(bound, bound_len, "%s", cfg->listen);
	return s;
}

void http_server_set_unready(struct http_server *s, const char *reason)
{
	pthread_mutex_lock(&s->state_lock);
	snprintf(s->unready, sizeof(s->unready), "%s", reason ? reason : "");
	pthread_mutex_unlock(&s->state_lock);
}

void http_server_drain(struct http_server *s)
{
	pthread_mutex_lock(&s->state_lock);
	s->draining = true;
	pthread_mutex_unlock(&s->state_lock);
	admission_drain(&s->runner->admission);
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	mg_stop(s->ctx);
	mg_exit_library();
	pthread_mutex_destroy(&s->state_lock);
	free(s->info_json);
	free(s->mcp_tools_json);
	mcp_sessions_free(s->mcp);
	free(s);
}
