/* run_handler.c - POST /api/run: request id, authentication, body limits,
 * validation, admission, the job, the response, metrics and the audit line.
 * Owns: the order of those steps and the status each refusal gets. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../runtime/metrics.h"
#include "audit.h"
#include "client_socket.h"
#include "../runtime/clock.h"
#include "http_internal.h"
#include "request.h"
#include "response.h"

#define RUN_THREAD_STACK (8u << 20)

/* Records a refusal: status, message, and the error body. */
static void refuse(struct run_call *c, int status, unsigned retry_after_s, const char *msg)
{
	c->status = status;
	c->retry_after_s = retry_after_s;
	c->outcome = OUTCOME_REJECTED;
	snprintf(c->error, sizeof(c->error), "%s", msg);
	c->response = response_encode_error(msg, 0, c->request_id);
}

/* Turns an admission refusal into 429/503 with a message that says what to
 * do next. */
static void refuse_admission(struct run_call *c, enum admit_status st)
{
	struct admission *a = &c->server->runner->admission;
	char msg[256];
	unsigned retry = c->server->retry_after_s;
	switch (st) {
	case ADMIT_QUEUE_FULL:
		snprintf(msg, sizeof(msg),
			 "server busy: %u jobs running and %u waiting (the queue limit); retry "
			 "after %u s",
			 a->slots, a->max_waiting, retry);
		refuse(c, 429, retry, msg);
		break;
	case ADMIT_TIMEOUT:
		snprintf(msg, sizeof(msg),
			 "server busy: no job slot became free within %g s; retry after %u s",
			 a->max_wait_s, retry);
		refuse(c, 429, retry, msg);
		break;
	case ADMIT_TENANT_BUSY:
		snprintf(msg, sizeof(msg),
			 "tenant %s already has %u requests in flight (its limit); retry after "
			 "%u s",
			 c->tenant ? c->tenant : "", a->tenant_limit, retry);
		refuse(c, 429, retry, msg);
		break;
	case ADMIT_DRAINING:
		refuse(c, 503, retry, "server is shutting down; retry on another instance");
		break;
	case ADMIT_GONE:
		c->status = STATUS_CLIENT_GONE;
		c->outcome = OUTCOME_REJECTED;
		snprintf(c->error, sizeof(c->error), "client went away while waiting for a slot");
		break;
	case ADMIT_OK:
		break;
	}
}

static enum job_outcome outcome_of(const struct job_result *res)
{
	if (res->exit_code == -1)
		return OUTCOME_INTERNAL;
	if (res->timed_out)
		return OUTCOME_TIMEOUT;
	if (res->oom_killed)
		return OUTCOME_OOM;
	return res->exit_code == 0 ? OUTCOME_OK : OUTCOME_ERROR;
}

void run_call_execute(struct run_call *c)
{
	struct job_runner *runner = c->server->runner;
	const struct limits *lim = runner->limits;
	struct api_error aerr = {0};
	int rc = c->json ? request_parse_json(c->body, c->len, lim, &c->spec, &aerr)
			 : request_parse_raw(c->body, c->len, c->query, lim, &c->spec, &aerr);
	if (rc < 0) {
		refuse(c, aerr.status, 0, aerr.msg);
		return;
	}
	c->have_spec = true;
	if (c->spec.ndependencies > 0 && !c->server->deps) {
		refuse(c, 501, 0,
		       "dependencies: installing packages is disabled on this server; the rootfs "
		       "already has numpy, pandas, scipy, scikit-learn, matplotlib and more (GET "
		       "/api/info lists them)");
		return;
	}
	struct admit_request rq = {
	    .tenant = c->tenant, .gone = client_socket_gone, .ctx = &c->client};
	struct job_ticket ticket;
	enum admit_status st = job_runner_admit(runner, &rq, &ticket);
	c->queue_ms = ticket.queue_ms;
	metrics_queue_wait_seconds(ticket.queue_ms / 1e3);
	if (st != ADMIT_OK) {
		refuse_admission(c, st);
		return;
	}
	struct deps_use use;
	bool deps = c->spec.ndependencies > 0;
	if (deps) {
		enum deps_status ds =
		    deps_acquire(c->server->deps, runner, &ticket, c->spec.dependencies,
				 c->spec.ndependencies, &use);
		if (ds != DEPS_READY) {
			admission_release(&runner->admission, ticket.slot, ticket.tenant);
			refuse(c,
			       ds == DEPS_FAILED    ? 422
			       : ds == DEPS_TIMEOUT ? 504
						    : 500,
			       0, use.message);
			if (ds == DEPS_INTERNAL)
				c->outcome = OUTCOME_INTERNAL;
			return;
		}
		c->spec.deps_dir = use.site;
	}
	job_run_admitted(runner, &ticket, &c->spec, &c->res);
	if (deps) {
		deps_release(c->server->deps, &use);
		c->spec.deps_dir = NULL;
		c->res.deps_used = true;
		c->res.deps_cache_hit = use.cache_hit;
		c->res.deps_install_ms = use.install_ms;
	}
	c->have_result = true;
	c->outcome = outcome_of(&c->res);
	c->status = c->res.exit_code == -1 ? 500 : 200;
	if (c->res.exit_code == -1) {
		log_msg(LOG_ERROR, "request %s: job failed internally: %s", c->request_id,
			c->res.error);
		snprintf(c->error, sizeof(c->error), "%s", c->res.error);
	} else {
		metrics_job_seconds(c->res.duration_ms / 1e3);
	}
	char hint[512];
	response_hint(&c->res, &c->spec, lim, c->server->deps != NULL, hint, sizeof(hint));
	c->response = response_encode_result(&c->res, c->request_id, hint[0] ? hint : NULL);
}

void run_call_account(struct run_call *c, struct audit_record *ar, double start_ms)
{
	metrics_job(ar->tenant, c->outcome);
	ar->status = c->status;
	ar->spec = c->have_spec ? &c->spec : NULL;
	ar->result = c->have_result ? &c->res : NULL;
	ar->queue_ms = c->queue_ms;
	ar->error = c->error[0] ? c->error : NULL;
	ar->total_ms = monotonic_ms() - start_ms;
	audit_request(ar);
}

void run_call_release(struct run_call *c)
{
	free(c->response);
	c->response = NULL;
	if (c->have_spec)
		job_spec_free(&c->spec);
	if (c->have_result)
		job_result_free(&c->res);
	c->have_spec = c->have_result = false;
}

/* Reads the body up to max bytes; NULL and *too_big past max. The declared
 * length is checked first so a huge upload is refused unread. */
char *http_read_body(struct mg_connection *conn, size_t max, size_t *len, bool *too_big)
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
			char *n = cap > max + 1 ? NULL : realloc(buf, cap * 2);
			if (!n) {
				*too_big = cap > max + 1;
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

/* Answers a refusal before any job work, and audits it. */
static int refuse_early(struct mg_connection *conn, struct audit_record *ar, int status,
			const char *msg, const struct http_extra *extra, double start)
{
	ar->status = status;
	ar->error = msg;
	ar->response_bytes = http_send_error(conn, status, msg, extra);
	ar->total_ms = monotonic_ms() - start;
	metrics_job(ar->tenant, OUTCOME_REJECTED);
	audit_request(ar);
	return status;
}

/* The whole request, on a thread with a real stack (see handle_run). */
static int serve_run(struct mg_connection *conn, struct http_server *s)
{
	double start = monotonic_ms();
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char request_id[72], tenant[64] = "";
	request_id_choose(mg_get_header(conn, "X-Request-Id"), request_id);
	struct audit_record ar = {.request_id = request_id,
				  .client = ri->remote_addr,
				  .method = ri->request_method,
				  .path = ri->local_uri};
	struct http_extra extra = {.request_id = request_id};

	pthread_mutex_lock(&s->state_lock);
	bool draining = s->draining;
	pthread_mutex_unlock(&s->state_lock);
	if (draining) {
		extra.retry_after_s = s->retry_after_s;
		return refuse_early(conn, &ar, 503,
				    "server is shutting down; retry on another instance", &extra,
				    start);
	}
	if (auth_enabled(s->auth)) {
		if (!http_authenticate(s, conn, tenant, sizeof(tenant))) {
			extra.www_authenticate = true;
			return refuse_early(conn, &ar, 401,
					    "missing or invalid API key: send \"Authorization: "
					    "Bearer <key>\"",
					    &extra, start);
		}
		ar.tenant = tenant;
	}

	const struct limits *lim = s->runner->limits;
	bool json = is_json_content_type(mg_get_header(conn, "Content-Type"));
	size_t max = json ? lim->max_body_bytes : lim->max_script_bytes, len = 0;
	bool too_big;
	char *body = http_read_body(conn, max, &len, &too_big);
	ar.request_bytes = ri->content_length > 0 ? (size_t)ri->content_length : len;
	if (!body) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s exceeds the %zu-byte limit",
			 json ? "request body" : "script (raw request body)", max);
		extra.close = true;
		return refuse_early(conn, &ar, too_big ? 413 : 500,
				    too_big ? msg : "out of memory reading the request body",
				    &extra, start);
	}

	/* serve_run already runs on a big stack (http_on_big_stack) */
	struct run_call call = {.server = s,
				.body = body,
				.len = len,
				.json = json,
				.query = ri->query_string,
				.tenant = ar.tenant,
				.request_id = request_id};
	struct run_call *c = &call;
	client_socket_init(&c->client, ri->remote_addr, ri->remote_port, ri->server_port);
	run_call_execute(c);
	free(body);

	if (c->status == STATUS_CLIENT_GONE) {
		mg_disable_connection_keep_alive(conn);
	} else if (!c->response) {
		ar.response_bytes =
		    http_send_error(conn, 500, "out of memory encoding the result", &extra);
		c->status = 500;
	} else {
		extra.retry_after_s = c->retry_after_s;
		ar.response_bytes = strlen(c->response);
		http_send(conn, c->status, "application/json", c->response, ar.response_bytes,
			  &extra);
	}
	run_call_account(c, &ar, start);
	run_call_release(c);
	return c->status;
}

struct handler_call {
	struct mg_connection *conn;
	struct http_server *server;
	http_handler fn;
	int status;
};

static void *handler_main(void *arg)
{
	struct handler_call *h = arg;
	h->status = h->fn(h->conn, h->server);
	return NULL;
}

/* civetweb's worker threads have 100 KiB stacks with barely 12 KiB left by
 * the time a handler runs: too little for deeply nested JSON, the sandbox
 * set-up, or even civetweb's own 8 KiB response buffer after our frames.
 * Such requests are served on a thread of our own while the worker waits. */
int http_on_big_stack(struct mg_connection *conn, struct http_server *s, http_handler fn)
{
	struct handler_call h = {.conn = conn, .server = s, .fn = fn, .status = 500};
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, RUN_THREAD_STACK);
	int err = pthread_create(&tid, &attr, handler_main, &h);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		log_msg(LOG_ERROR, "cannot start a request thread: %s", strerror(err));
		http_send_error(conn, 503, "server overloaded: cannot start a request thread",
				NULL);
		return 503;
	}
	pthread_join(tid, NULL);
	return h.status;
}

bool http_authenticate(struct http_server *s, struct mg_connection *conn, char *tenant,
		       size_t tenant_len)
{
	return !auth_enabled(s->auth) ||
	       auth_check(s->auth, mg_get_header(conn, "Authorization"), tenant, tenant_len);
}

int handle_run(struct mg_connection *conn, struct http_server *s)
{
	return http_on_big_stack(conn, s, serve_run);
}
