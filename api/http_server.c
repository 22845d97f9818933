/* http_server.c - see http_server.h. */
#include "http_server.h"

#include <civetweb.h>
#include <pthread.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../cmd/version.h"
#include "request.h"
#include "response.h"

struct http_server {
	struct mg_context *ctx;
	struct job_runner *runner;
	char *info_json;
};

/* Sends a complete response with an explicit length. */
static void send_body(struct mg_connection *conn, int status, const char *type, const char *body,
		      size_t len, bool close_conn)
{
	char clen[32];
	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", type, -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	if (close_conn) /* e.g. after refusing a body we did not read */
		mg_disable_connection_keep_alive(conn);
	mg_response_header_send(conn);
	mg_write(conn, body, len);
}

static int send_error(struct mg_connection *conn, int status, const char *msg, bool close_conn)
{
	char *body = response_encode_error(msg, status >= 500 && status != 501);
	if (!body) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		send_body(conn, 500, "application/json", oom, sizeof(oom) - 1, true);
		return 500;
	}
	send_body(conn, status, "application/json", body, strlen(body), close_conn);
	free(body);
	return status;
}

/* Reads the body up to max bytes; returns -1 (and *too_big) past max. The
 * declared length is checked first so a huge upload is refused unread. */
static char *read_body(struct mg_connection *conn, size_t max, size_t *len, bool *too_big)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	*too_big = false;
	if (ri->content_length > 0 && (unsigned long long)ri->content_length > max) {
		*too_big = true;
		return NULL;
	}
	size_t cap = ri->content_length > 0 ? (size_t)ri->content_length + 1 : 65536, used = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (used + 1 >= cap) {
			if (cap > max + 1) {
				*too_big = true;
				free(buf);
				return NULL;
			}
			char *n = realloc(buf, cap * 2);
			if (!n) {
				free(buf);
				return NULL;
			}
			buf = n;
			cap *= 2;
		}
		int n = mg_read(conn, buf + used, cap - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used > max) {
			*too_big = true;
			free(buf);
			return NULL;
		}
	}
	buf[used] = '\0';
	*len = used;
	return buf;
}

static bool is_json_content_type(const char *ct)
{
	return ct && strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* The work of one /api/run request, done on a thread of our own. */
struct run_call {
	struct http_server *server;
	char *body;
	size_t len;
	bool json;
	const char *query;
	int status;
	char *response;
};

/* Parses, runs and encodes. civetweb's workers have ~100 KiB stacks, too
 * small for deeply nested JSON or the sandbox set-up, so this runs on a
 * thread with a stack sized for it. */
static void *run_call_main(void *arg)
{
	struct run_call *c = arg;
	const struct limits *lim = c->server->runner->limits;
	struct job_spec spec;
	struct api_error aerr = {0};
	int rc = c->json ? request_parse_json(c->body, c->len, lim, &spec, &aerr)
			 : request_parse_raw(c->body, c->len, c->query, lim, &spec, &aerr);
	if (rc < 0) {
		c->status = aerr.status;
		c->response =
		    response_encode_error(aerr.msg, aerr.status >= 500 && aerr.status != 501);
		return NULL;
	}
	struct job_result res;
	job_run(c->server->runner, &spec, &res);
	job_spec_free(&spec);
	c->status = res.exit_code == -1 ? 500 : 200;
	if (res.exit_code == -1)
		fprintf(stderr, "coderunner: job failed internally: %s\n", res.error);
	c->response = response_encode_result(&res);
	job_result_free(&res);
	return NULL;
}

#define RUN_THREAD_STACK (8u << 20)

/* POST /api/run: parse, run, respond. 200 for every job that ran. */
static int handle_run(struct mg_connection *conn, struct http_server *s)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const struct limits *lim = s->runner->limits;
	struct run_call c = {.server = s,
			     .json = is_json_content_type(mg_get_header(conn, "Content-Type")),
			     .query = ri->query_string};
	size_t max = c.json ? lim->max_body_bytes : lim->max_script_bytes;
	bool too_big;
	c.body = read_body(conn, max, &c.len, &too_big);
	if (!c.body) {
		char msg[160];
		if (!too_big)
			return send_error(conn, 500, "out of memory reading the request body",
					  true);
		snprintf(msg, sizeof(msg), "%s exceeds the %zu-byte limit",
			 c.json ? "request body" : "script (raw request body)", max);
		return send_error(conn, 413, msg, true);
	}
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, RUN_THREAD_STACK);
	int err = pthread_create(&tid, &attr, run_call_main, &c);
	pthread_attr_destroy(&attr);
	if (err == 0)
		pthread_join(tid, NULL);
	free(c.body);
	if (err != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot start a job thread: %s", strerror(err));
		return send_error(conn, 500, msg, true);
	}
	if (!c.response)
		return send_error(conn, 500, "out of memory encoding the result", true);
	send_body(conn, c.status, "application/json", c.response, strlen(c.response), false);
	free(c.response);
	return c.status;
}

static int method_not_allowed(struct mg_connection *conn, const char *allow)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "method not allowed; use %s", allow);
	mg_response_header_start(conn, 405);
	char *body = response_encode_error(msg, 0);
	char clen[32];
	snprintf(clen, sizeof(clen), "%zu", body ? strlen(body) : 0);
	mg_response_header_add(conn, "Content-Type", "application/json", -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Allow", allow, -1);
	mg_response_header_send(conn);
	if (body)
		mg_write(conn, body, strlen(body));
	free(body);
	return 405;
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
	if (strcmp(uri, "/api/health") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		send_body(conn, 200, "text/plain", "OK", 2, false);
		return 200;
	}
	if (strcmp(uri, "/api/info") == 0) {
		if (!get)
			return method_not_allowed(conn, "GET");
		send_body(conn, 200, "application/json", s->info_json, strlen(s->info_json), false);
		return 200;
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "no such endpoint: %.100s; try POST /api/run", uri);
	return send_error(conn, 404, msg, false);
}

/* /api/info: version, limits and the rootfs manifest, built once. */
static char *build_info(const struct http_config *cfg, const struct limits *lim)
{
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
	s->info_json = build_info(cfg, runner->limits);
	char threads[16], timeout_ms[32];
	snprintf(threads, sizeof(threads), "%u", cfg->threads);
	/* Per network read or write, not per request: a slow or stalled client
	 * loses its worker after this long, while a long job (which does no
	 * network I/O while it runs) is unaffected. */
	snprintf(timeout_ms, sizeof(timeout_ms), "%.0f", cfg->io_timeout_s * 1000);
	const char *options[] = {"listening_ports",
				 cfg->listen,
				 "num_threads",
				 threads,
				 "request_timeout_ms",
				 timeout_ms,
				 "keep_alive_timeout_ms",
				 "5000",
				 "enable_keep_alive",
				 "yes",
				 NULL};
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

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	mg_stop(s->ctx);
	mg_exit_library();
	free(s->info_json);
	free(s);
}
