/* mcp.c - the Model Context Protocol endpoint (/mcp, Streamable HTTP).
 * Owns: JSON-RPC 2.0 framing, sessions (Mcp-Session-Id), protocol version
 * negotiation, the Origin check, and the run_python tool, which goes through
 * the same validation, admission, sandbox, metrics and audit log as
 * /api/run. Never answers bad input with an HTTP 500. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "../cmd/version.h"
#include "base64.h"
#include "../runtime/clock.h"
#include "http_internal.h"

#define MAX_SESSIONS	   1024
#define SESSION_IDLE_S	   3600
#define JSONRPC_PARSE	   -32700
#define JSONRPC_INVALID	   -32600
#define JSONRPC_NO_METHOD  -32601
#define JSONRPC_BAD_PARAMS -32602
#define JSONRPC_INTERNAL   -32603
#define JSONRPC_BUSY	   -32000

extern const char openapi_json[];

/* Newest first: what initialize offers when the client asks for another. */
static const char *const protocol_versions[] = {"2025-06-18", "2025-03-26"};
static const char *const tool_arguments[] = {"code",	  "files",	  "entry_point", "context",
					     "timeout_s", "dependencies", "memory_mb",	 "cpus"};

struct mcp_session {
	char id[33];
	char version[16];
	char tenant[64];
	time_t last_used;
};

struct mcp_sessions {
	pthread_mutex_t lock;
	struct mcp_session s[MAX_SESSIONS];
	unsigned n;
};

struct mcp_sessions *mcp_sessions_new(void)
{
	struct mcp_sessions *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void mcp_sessions_free(struct mcp_sessions *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Creates a session; the least recently used one makes room when full. */
static void session_create(struct mcp_sessions *m, const char *version, const char *tenant,
			   char *id_out)
{
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (int i = 0; i < 16; i++)
		sprintf(id_out + 2 * i, "%02x", rnd[i]);
	pthread_mutex_lock(&m->lock);
	unsigned slot = m->n;
	if (m->n == MAX_SESSIONS) {
		slot = 0;
		for (unsigned i = 1; i < m->n; i++)
			if (m->s[i].last_used < m->s[slot].last_used)
				slot = i;
	} else {
		m->n++;
	}
	struct mcp_session *s = &m->s[slot];
	snprintf(s->id, sizeof(s->id), "%s", id_out);
	snprintf(s->version, sizeof(s->version), "%s", version);
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant ? tenant : "");
	s->last_used = time(NULL);
	pthread_mutex_unlock(&m->lock);
}

/* Finds a live session of this tenant and copies its protocol version. */
static bool session_find(struct mcp_sessions *m, const char *id, const char *tenant, char *version,
			 size_t vlen)
{
	bool found = false;
	time_t now = time(NULL);
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->n; i++) {
		struct mcp_session *s = &m->s[i];
		if (strcmp(s->id, id) != 0)
			continue;
		if (now - s->last_used > SESSION_IDLE_S ||
		    strcmp(s->tenant, tenant ? tenant : "") != 0)
			break;
		s->last_used = now;
		snprintf(version, vlen, "%s", s->version);
		found = true;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

static bool session_delete(struct mcp_sessions *m, const char *id, const char *tenant)
{
	bool found = false;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->n; i++) {
		if (strcmp(m->s[i].id, id) == 0 &&
		    strcmp(m->s[i].tenant, tenant ? tenant : "") == 0) {
			m->s[i] = m->s[--m->n];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

static bool version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(protocol_versions) / sizeof(protocol_versions[0]); i++)
		if (strcmp(v, protocol_versions[i]) == 0)
			return true;
	return false;
}

/* A copy of node with every "#/components/schemas/X" reference replaced by
 * X itself: MCP clients validate tool schemas standalone. */
static cJSON *inline_refs(const cJSON *node, const cJSON *schemas, int depth)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "$ref");
	if (depth < 16 && cJSON_IsString(ref) &&
	    strncmp(ref->valuestring, "#/components/schemas/", 21) == 0) {
		const cJSON *target =
		    cJSON_GetObjectItemCaseSensitive(schemas, ref->valuestring + 21);
		if (target)
			return inline_refs(target, schemas, depth + 1);
	}
	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return cJSON_Duplicate(node, 1);
	cJSON *out = cJSON_IsObject(node) ? cJSON_CreateObject() : cJSON_CreateArray();
	const cJSON *child;
	cJSON_ArrayForEach(child, node)
	{
		cJSON *copy = inline_refs(child, schemas, depth);
		if (cJSON_IsObject(node))
			cJSON_AddItemToObject(out, child->string, copy);
		else
			cJSON_AddItemToArray(out, copy);
	}
	return out;
}

/* tools/list's result, from the OpenAPI document's schemas: one source. */
char *mcp_tools_build(void)
{
	cJSON *doc = cJSON_Parse(openapi_json);
	const cJSON *schemas =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "components"), "schemas");
	cJSON *result = cJSON_CreateObject(), *tools = cJSON_AddArrayToObject(result, "tools");
	cJSON *tool = cJSON_CreateObject();
	cJSON_AddStringToObject(tool, "name", "run_python");
	cJSON_AddStringToObject(tool, "title", "Run Python");
	cJSON_AddStringToObject(
	    tool, "description",
	    "Run Python 3.13 code in an isolated sandbox (no network) with numpy, pandas, scipy, "
	    "scikit-learn, matplotlib, sympy, networkx, seaborn, requests, beautifulsoup4, "
	    "openpyxl and more installed. Returns stdout, stderr and the exit code; files the "
	    "code writes to /workspace/output/ come back (PNG, JPEG and SVG as images). Input "
	    "files passed in `context` are at /workspace/input/.");
	cJSON_AddItemToObject(
	    tool, "inputSchema",
	    inline_refs(cJSON_GetObjectItem(schemas, "McpRunPythonArguments"), schemas, 0));
	cJSON_AddItemToObject(tool, "outputSchema",
			      inline_refs(cJSON_GetObjectItem(schemas, "RunResult"), schemas, 0));
	cJSON *ann = cJSON_AddObjectToObject(tool, "annotations");
	cJSON_AddBoolToObject(ann, "readOnlyHint", false);
	cJSON_AddBoolToObject(ann, "destructiveHint", false);
	cJSON_AddBoolToObject(ann, "idempotentHint", false);
	cJSON_AddBoolToObject(ann, "openWorldHint", false);
	cJSON_AddItemToArray(tools, tool);
	char *out = cJSON_PrintUnformatted(result);
	cJSON_Delete(result);
	cJSON_Delete(doc);
	return out;
}

static cJSON *rpc_error(const cJSON *id, int code, const char *msg, cJSON *data)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "jsonrpc", "2.0");
	cJSON_AddItemToObject(r, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
	cJSON *e = cJSON_AddObjectToObject(r, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	if (data)
		cJSON_AddItemToObject(e, "data", data);
	return r;
}

static cJSON *rpc_result(const cJSON *id, cJSON *result)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "jsonrpc", "2.0");
	cJSON_AddItemToObject(r, "id", cJSON_Duplicate(id, 1));
	cJSON_AddItemToObject(r, "result", result);
	return r;
}

/* Sends a JSON-RPC document (or an error object) with an HTTP status. */
static int send_json(struct mg_connection *conn, int status, cJSON *doc, const char *session_id)
{
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		return http_send_error(conn, 500, "out of memory", NULL), 500;
	struct http_extra extra = {.mcp_session_id = session_id};
	http_send(conn, status, "application/json", text, strlen(text), &extra);
	free(text);
	return status;
}

/* Everything one POST shares across its messages. */
struct mcp_ctx {
	struct mg_connection *conn;
	struct http_server *server;
	const char *tenant;
	const char *version; /* the session's protocol version */
	char new_session[33];
};

/* initialize: negotiate the version and open a session. */
static cJSON *do_initialize(struct mcp_ctx *x, const cJSON *id, const cJSON *params)
{
	const cJSON *pv = cJSON_GetObjectItem(params, "protocolVersion");
	if (!cJSON_IsString(pv))
		return rpc_error(id, JSONRPC_BAD_PARAMS,
				 "initialize: params.protocolVersion is required", NULL);
	const char *version =
	    version_supported(pv->valuestring) ? pv->valuestring : protocol_versions[0];
	session_create(x->server->mcp, version, x->tenant, x->new_session);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "protocolVersion", version);
	cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged", false);
	cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", "coderunner");
	cJSON_AddStringToObject(info, "title", "CodeRunner");
	cJSON_AddStringToObject(info, "version", CODERUNNER_VERSION);
	cJSON_AddStringToObject(
	    r, "instructions",
	    "Use run_python to execute Python code in a sandbox. Print results to "
	    "stdout; write files to /workspace/output/ to get them back.");
	return rpc_result(id, r);
}

static bool is_tool_argument(const char *name)
{
	for (size_t i = 0; i < sizeof(tool_arguments) / sizeof(tool_arguments[0]); i++)
		if (strcmp(name, tool_arguments[i]) == 0)
			return true;
	return false;
}

/* run_python arguments -> an /api/run JSON body, or an error message. */
static char *api_body(const cJSON *args, char *why, size_t len)
{
	if (!cJSON_IsObject(args)) {
		snprintf(why, len, "arguments must be an object with at least \"code\"");
		return NULL;
	}
	const cJSON *a;
	cJSON_ArrayForEach(a, args)
	{
		if (!is_tool_argument(a->string)) {
			snprintf(why, len,
				 "unknown argument \"%.100s\"; allowed: code, files, entry_point, "
				 "context, timeout_s, dependencies, memory_mb, cpus",
				 a->string);
			return NULL;
		}
	}
	const cJSON *code = cJSON_GetObjectItem(args, "code");
	if (!cJSON_IsString(code)) {
		snprintf(why, len, "code: required, a string of Python source");
		return NULL;
	}
	cJSON *body = cJSON_CreateObject();
	const cJSON *files = cJSON_GetObjectItem(args, "files"),
		    *entry = cJSON_GetObjectItem(args, "entry_point");
	if (files || entry) {
		cJSON *f = files ? cJSON_Duplicate(files, 1) : cJSON_CreateObject();
		if (cJSON_IsObject(f) && cJSON_GetObjectItem(f, "main.py")) {
			snprintf(
			    why, len,
			    "files[\"main.py\"]: `code` is main.py; rename the file, or put its "
			    "source in `code`");
			cJSON_Delete(f);
			cJSON_Delete(body);
			return NULL;
		}
		if (cJSON_IsObject(f))
			cJSON_AddStringToObject(f, "main.py", code->valuestring);
		cJSON_AddItemToObject(body, "files", f);
		cJSON_AddItemToObject(body, "entry_point",
				      entry ? cJSON_Duplicate(entry, 1)
					    : cJSON_CreateString("main.py"));
	} else {
		cJSON_AddStringToObject(body, "script", code->valuestring);
	}
	static const char *const passed[] = {"context", "timeout_s", "dependencies", "memory_mb",
					     "cpus"};
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		const cJSON *v = cJSON_GetObjectItem(args, passed[i]);
		if (v)
			cJSON_AddItemToObject(body, passed[i], cJSON_Duplicate(v, 1));
	}
	char *text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return text;
}

static const char *mime_of(const char *path, bool *image)
{
	static const char *const map[][2] = {
	    {".png", "image/png"},	   {".jpg", "image/jpeg"},   {".jpeg", "image/jpeg"},
	    {".svg", "image/svg+xml"},	   {".gif", "image/gif"},    {".csv", "text/csv"},
	    {".json", "application/json"}, {".txt", "text/plain"},   {".md", "text/markdown"},
	    {".html", "text/html"},	   {".py", "text/x-python"}, {".pdf", "application/pdf"}};
	const char *dot = strrchr(path, '.');
	*image = false;
	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(dot, map[i][0]) == 0) {
			*image = strncmp(map[i][1], "image/", 6) == 0;
			return map[i][1];
		}
	}
	return "application/octet-stream";
}

/* The artifact as MCP content: images as image content, anything else as
 * an embedded resource. */
static cJSON *artifact_content(const cJSON *art)
{
	bool image;
	const char *mime = mime_of(art->string, &image);
	const char *b64 =
	    cJSON_IsObject(art) ? cJSON_GetStringValue(cJSON_GetObjectItem(art, "content")) : NULL;
	char *encoded = NULL;
	cJSON *c = cJSON_CreateObject();
	if (image) {
		if (!b64 && cJSON_IsString(art))
			b64 = encoded = base64_encode((const unsigned char *)art->valuestring,
						      strlen(art->valuestring));
		cJSON_AddStringToObject(c, "type", "image");
		cJSON_AddStringToObject(c, "data", b64 ? b64 : "");
		cJSON_AddStringToObject(c, "mimeType", mime);
	} else {
		cJSON_AddStringToObject(c, "type", "resource");
		cJSON *r = cJSON_AddObjectToObject(c, "resource");
		char uri[1200];
		snprintf(uri, sizeof(uri), "file:///workspace/output/%s", art->string);
		for (char *p = uri; *p; p++) /* keep the URI free of spaces */
			if (*p == ' ')
				*p = '_';
		cJSON_AddStringToObject(r, "uri", uri);
		if (cJSON_IsString(art)) {
			cJSON_AddStringToObject(
			    r, "mimeType",
			    strcmp(mime, "application/octet-stream") == 0 ? "text/plain" : mime);
			cJSON_AddStringToObject(r, "text", art->valuestring);
		} else {
			cJSON_AddStringToObject(r, "mimeType", mime);
			cJSON_AddStringToObject(r, "blob", b64 ? b64 : "");
		}
	}
	free(encoded);
	return c;
}

/* The /api/run result as an MCP tool result. */
static cJSON *tool_result(cJSON *run)
{
	int exit_code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(run, "exit_code"));
	bool timed_out = cJSON_IsTrue(cJSON_GetObjectItem(run, "timed_out"));
	bool oom = cJSON_IsTrue(cJSON_GetObjectItem(run, "oom_killed"));
	const char *out = cJSON_GetStringValue(cJSON_GetObjectItem(run, "stdout"));
	const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(run, "stderr"));
	const char *hint = cJSON_GetStringValue(cJSON_GetObjectItem(run, "hint"));
	char summary[900];
	int n = timed_out ? snprintf(summary, sizeof(summary),
				     "Timed out: the job was killed (exit_code 124).")
		: oom	  ? snprintf(summary, sizeof(summary),
				     "Out of memory: the job was killed (exit_code 137).")
		: exit_code == 0
		    ? snprintf(summary, sizeof(summary), "Finished with exit_code 0.")
		    : snprintf(summary, sizeof(summary), "Failed with exit_code %d.", exit_code);
	if (hint && n > 0 && (size_t)n < sizeof(summary))
		snprintf(summary + n, sizeof(summary) - (size_t)n, " Hint: %s", hint);
	cJSON *r = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(r, "content");
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", "text");
	cJSON_AddStringToObject(t, "text", summary);
	cJSON_AddItemToArray(content, t);
	const char *labels[2] = {"stdout:\n", "stderr:\n"};
	const char *texts[2] = {out, err};
	for (int i = 0; i < 2; i++) {
		if (!texts[i] || !*texts[i])
			continue;
		size_t len = strlen(labels[i]) + strlen(texts[i]) + 1;
		char *block = malloc(len);
		if (!block)
			continue;
		snprintf(block, len, "%s%s", labels[i], texts[i]);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "text");
		cJSON_AddStringToObject(b, "text", block);
		cJSON_AddItemToArray(content, b);
		free(block);
	}
	const cJSON *art;
	cJSON_ArrayForEach(art, cJSON_GetObjectItem(run, "artifacts"))
	{
		cJSON_AddItemToArray(content, artifact_content(art));
	}
	cJSON_AddItemToObject(r, "structuredContent", run);
	cJSON_AddBoolToObject(r, "isError", exit_code != 0);
	return r;
}

/* tools/call run_python: the /api/run path, then the MCP shapes. */
static cJSON *do_tools_call(struct mcp_ctx *x, const cJSON *id, const cJSON *params)
{
	const cJSON *name = cJSON_GetObjectItem(params, "name");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, "run_python") != 0)
		return rpc_error(id, JSONRPC_BAD_PARAMS,
				 "unknown tool; the only tool is run_python", NULL);
	char why[300];
	char *body = api_body(cJSON_GetObjectItem(params, "arguments"), why, sizeof(why));
	if (!body)
		return rpc_error(id, JSONRPC_BAD_PARAMS, why, NULL);
	double start = monotonic_ms();
	const struct mg_request_info *ri = mg_get_request_info(x->conn);
	char request_id[72];
	request_id_choose(mg_get_header(x->conn, "X-Request-Id"), request_id);
	struct run_call *c = calloc(1, sizeof(*c));
	if (!c) {
		free(body);
		return rpc_error(id, JSONRPC_INTERNAL, "out of memory", NULL);
	}
	c->server = x->server;
	c->body = body;
	c->len = strlen(body);
	c->json = true;
	c->tenant = x->tenant;
	c->request_id = request_id;
	client_socket_init(&c->client, ri->remote_addr, ri->remote_port, ri->server_port);
	run_call_execute(c);
	struct audit_record ar = {.request_id = request_id,
				  .tenant = x->tenant,
				  .client = ri->remote_addr,
				  .method = "POST",
				  .path = "/mcp",
				  .request_bytes = c->len,
				  .response_bytes = c->response ? strlen(c->response) : 0};
	run_call_account(c, &ar, start);
	cJSON *reply;
	if (c->status == 200) {
		cJSON *run = cJSON_Parse(c->response);
		reply = run ? rpc_result(id, tool_result(run))
			    : rpc_error(id, JSONRPC_INTERNAL, "cannot read the job result", NULL);
	} else if (c->status == 429 || c->status == 503) {
		cJSON *data = cJSON_CreateObject();
		cJSON_AddNumberToObject(data, "http_status", c->status);
		cJSON_AddNumberToObject(data, "retry_after_s", c->retry_after_s);
		reply = rpc_error(id, JSONRPC_BUSY, c->error, data);
	} else if (c->status == STATUS_CLIENT_GONE) {
		reply = NULL;
	} else if (c->status >= 500 && c->status != 501) {
		reply = rpc_error(id, JSONRPC_INTERNAL, c->error, NULL);
	} else {
		/* validation: the API's message, with its field named as here */
		char msg[1200];
		const char *e = c->error;
		snprintf(msg, sizeof(msg), "%s%s", strncmp(e, "script", 6) == 0 ? "code" : "",
			 strncmp(e, "script", 6) == 0 ? e + 6 : e);
		reply = rpc_error(id, JSONRPC_BAD_PARAMS, msg, NULL);
	}
	run_call_release(c);
	free(c);
	free(body);
	return reply;
}

/* One JSON-RPC message: a response object, or NULL for notifications and
 * for responses the client sends us. */
static cJSON *dispatch(struct mcp_ctx *x, const cJSON *msg, bool in_batch)
{
	if (!cJSON_IsObject(msg))
		return rpc_error(NULL, JSONRPC_INVALID, "a JSON-RPC message must be an object",
				 NULL);
	const cJSON *id = cJSON_GetObjectItem(msg, "id");
	const cJSON *method = cJSON_GetObjectItem(msg, "method");
	const cJSON *jsonrpc = cJSON_GetObjectItem(msg, "jsonrpc");
	if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
		return rpc_error(NULL, JSONRPC_INVALID, "id must be a string or a number", NULL);
	if (!cJSON_IsString(jsonrpc) || strcmp(jsonrpc->valuestring, "2.0") != 0)
		return rpc_error(id, JSONRPC_INVALID, "jsonrpc must be \"2.0\"", NULL);
	if (!method) {
		if (cJSON_GetObjectItem(msg, "result") || cJSON_GetObjectItem(msg, "error"))
			return NULL; /* a response to a request we never send */
		return rpc_error(id, JSONRPC_INVALID, "method is required", NULL);
	}
	if (!cJSON_IsString(method))
		return rpc_error(id, JSONRPC_INVALID, "method must be a string", NULL);
	const char *m = method->valuestring;
	const cJSON *params = cJSON_GetObjectItem(msg, "params");
	if (params && !cJSON_IsObject(params))
		return id ? rpc_error(id, JSONRPC_BAD_PARAMS, "params must be an object", NULL)
			  : NULL;
	if (!id) /* notifications: initialized, cancelled, ... need no answer */
		return NULL;
	if (strcmp(m, "initialize") == 0)
		return in_batch ? rpc_error(id, JSONRPC_INVALID,
					    "initialize must not be part of a batch", NULL)
				: do_initialize(x, id, params);
	if (strcmp(m, "ping") == 0)
		return rpc_result(id, cJSON_CreateObject());
	if (strcmp(m, "tools/list") == 0)
		return rpc_result(id, cJSON_Parse(x->server->mcp_tools_json));
	if (strcmp(m, "tools/call") == 0)
		return do_tools_call(x, id, params);
	char text[160];
	snprintf(text, sizeof(text), "method not found: %.100s", m);
	return rpc_error(id, JSONRPC_NO_METHOD, text, NULL);
}

/* Browsers send Origin; only local pages (or configured origins) may talk
 * to us, which stops DNS-rebinding attacks. */
static bool origin_allowed(const struct http_server *s, const char *origin)
{
	if (!origin)
		return true;
	const char *host = strstr(origin, "://");
	host = host ? host + 3 : origin;
	size_t n = strcspn(host, ":/");
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 9 && strncmp(host, "127.0.0.1", 9) == 0) || strncmp(host, "[::1]", 5) == 0)
		return true;
	for (const char *const *o = s->allowed_origins; o && *o; o++)
		if (strcmp(*o, origin) == 0)
			return true;
	return false;
}

/* Is this message (or any in a batch) an initialize request? */
static bool has_initialize(const cJSON *doc)
{
	const cJSON *m = doc;
	if (cJSON_IsArray(doc)) {
		cJSON_ArrayForEach(m, doc)
		{
			if (has_initialize(m))
				return true;
		}
		return false;
	}
	const cJSON *method = cJSON_GetObjectItem(doc, "method");
	return cJSON_IsString(method) && strcmp(method->valuestring, "initialize") == 0;
}

static int mcp_post(struct mg_connection *conn, struct http_server *s)
{
	char tenant[64] = "";
	if (!origin_allowed(s, mg_get_header(conn, "Origin")))
		return send_json(
		    conn, 403, rpc_error(NULL, JSONRPC_INVALID, "Origin not allowed", NULL), NULL);
	if (!http_authenticate(s, conn, tenant, sizeof(tenant))) {
		struct http_extra extra = {.www_authenticate = true};
		http_send_error(conn, 401,
				"missing or invalid API key: send \"Authorization: Bearer <key>\"",
				&extra);
		return 401;
	}
	const char *accept = mg_get_header(conn, "Accept");
	if (accept && !strstr(accept, "application/json") && !strstr(accept, "*/*"))
		return send_json(
		    conn, 406,
		    rpc_error(NULL, JSONRPC_INVALID, "Accept must include application/json", NULL),
		    NULL);
	size_t len = 0;
	bool too_big;
	char *body = http_read_body(conn, s->runner->limits->max_body_bytes, &len, &too_big);
	if (!body) {
		struct http_extra extra = {.close = true};
		http_send_error(conn, too_big ? 413 : 500,
				too_big ? "request body too large" : "out of memory", &extra);
		return too_big ? 413 : 500;
	}
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(body, len, &end, false);
	free(body);
	if (!doc)
		return send_json(
		    conn, 400, rpc_error(NULL, JSONRPC_PARSE, "parse error: not JSON", NULL), NULL);
	struct mcp_ctx x = {
	    .conn = conn, .server = s, .tenant = auth_enabled(s->auth) ? tenant : NULL};
	char version[16] = "";
	int status = 200;
	cJSON *reply = NULL;
	const char *sid = mg_get_header(conn, "Mcp-Session-Id");
	const char *pv = mg_get_header(conn, "MCP-Protocol-Version");
	if (!has_initialize(doc)) {
		if (!sid) {
			cJSON_Delete(doc);
			return send_json(
			    conn, 400,
			    rpc_error(NULL, JSONRPC_INVALID,
				      "Mcp-Session-Id header required: call initialize "
				      "first",
				      NULL),
			    NULL);
		}
		if (!session_find(s->mcp, sid, x.tenant, version, sizeof(version))) {
			cJSON_Delete(doc);
			return send_json(conn, 404,
					 rpc_error(NULL, JSONRPC_INVALID,
						   "unknown or expired session: initialize again",
						   NULL),
					 NULL);
		}
		if (pv && !version_supported(pv)) {
			cJSON_Delete(doc);
			return send_json(conn, 400,
					 rpc_error(NULL, JSONRPC_INVALID,
						   "unsupported MCP-Protocol-Version", NULL),
					 NULL);
		}
		x.version = version;
	}
	if (cJSON_IsArray(doc)) {
		if (cJSON_GetArraySize(doc) == 0 ||
		    (x.version && strcmp(x.version, "2025-03-26") != 0)) {
			status = 400;
			reply = rpc_error(NULL, JSONRPC_INVALID,
					  cJSON_GetArraySize(doc) == 0
					      ? "empty batch"
					      : "batches are not allowed in this protocol version",
					  NULL);
		} else {
			reply = cJSON_CreateArray();
			const cJSON *m;
			cJSON_ArrayForEach(m, doc)
			{
				cJSON *r = dispatch(&x, m, true);
				if (r)
					cJSON_AddItemToArray(reply, r);
			}
			if (cJSON_GetArraySize(reply) == 0) {
				cJSON_Delete(reply);
				reply = NULL;
			}
		}
	} else {
		reply = dispatch(&x, doc, false);
	}
	cJSON_Delete(doc);
	if (!reply) { /* notifications and responses only */
		http_send(conn, 202, "application/json", "", 0, NULL);
		return 202;
	}
	return send_json(conn, status, reply, x.new_session[0] ? x.new_session : NULL);
}

int handle_mcp(struct mg_connection *conn, struct http_server *s)
{
	const char *method = mg_get_request_info(conn)->request_method;
	if (strcmp(method, "POST") == 0)
		return http_on_big_stack(conn, s, mcp_post);
	if (strcmp(method, "DELETE") == 0) {
		char tenant[64] = "";
		if (!http_authenticate(s, conn, tenant, sizeof(tenant))) {
			struct http_extra extra = {.www_authenticate = true};
			http_send_error(conn, 401, "missing or invalid API key", &extra);
			return 401;
		}
		const char *sid = mg_get_header(conn, "Mcp-Session-Id");
		if (!sid || !session_delete(s->mcp, sid, auth_enabled(s->auth) ? tenant : NULL))
			return send_json(conn, 404,
					 rpc_error(NULL, JSONRPC_INVALID, "unknown session", NULL),
					 NULL);
		http_send(conn, 204, "application/json", "", 0, NULL);
		return 204;
	}
	struct http_extra extra = {.allow = "POST, DELETE"};
	http_send_error(conn, 405,
			"this server sends no unsolicited messages: there is no SSE stream; POST "
			"JSON-RPC messages",
			&extra);
	return 405;
}
