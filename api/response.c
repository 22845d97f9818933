/* response.c - see response.h. */
#include "response.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "utf8.h"

/* Adds bytes as a JSON string, replacing invalid UTF-8 with U+FFFD. */
static int add_text(cJSON *obj, const char *key, const char *data, size_t len)
{
	char *safe = utf8_sanitize((const unsigned char *)(data ? data : ""), data ? len : 0, NULL);
	if (!safe)
		return -1;
	cJSON *s = cJSON_AddStringToObject(obj, key, safe);
	free(safe);
	return s ? 0 : -1;
}

/* Text artifacts come back as plain strings (easy for an agent to read);
 * anything with NUL or invalid UTF-8 as base64. */
static int add_artifact(cJSON *arts, const struct artifact *a)
{
	if (utf8_valid(a->data, a->len) && !memchr(a->data, '\0', a->len)) {
		char *s = malloc(a->len + 1);
		if (!s)
			return -1;
		memcpy(s, a->data, a->len);
		s[a->len] = '\0';
		cJSON *item = cJSON_AddStringToObject(arts, a->path, s);
		free(s);
		return item ? 0 : -1;
	}
	char *b64 = base64_encode(a->data, a->len);
	if (!b64)
		return -1;
	cJSON *obj = cJSON_AddObjectToObject(arts, a->path);
	int rc = obj && cJSON_AddStringToObject(obj, "content", b64) &&
			 cJSON_AddStringToObject(obj, "encoding", "base64")
		     ? 0
		     : -1;
	free(b64);
	return rc;
}

/* One decimal is plenty for milliseconds and keeps the JSON short. */
static double round1(double v)
{
	return (double)(long long)(v * 10 + 0.5) / 10;
}

/* The module named by the last "No module named 'x'" in stderr. */
static bool missing_module(const struct job_result *res, char *name, size_t len)
{
	const char *needle = "ModuleNotFoundError: No module named '";
	const char *p = NULL, *q = res->err.data;
	while (q && (q = strstr(q, needle)))
		p = q++;
	if (!p)
		return false;
	p += strlen(needle);
	size_t n = strcspn(p, "'\n");
	if (n == 0 || n >= len || p[n] != '\'')
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	/* "a.b" missing with "a" present is a wrong import, not a missing
	 * package: no hint rather than a misleading one */
	return strchr(name, '.') == NULL;
}

void response_hint(const struct job_result *res, const struct job_spec *spec,
		   const struct limits *lim, bool dependencies_enabled, char *out, size_t len)
{
	char module[128];
	out[0] = '\0';
	if (res->exit_code == -1)
		return;
	if (res->timed_out) {
		snprintf(
		    out, len,
		    "the job was killed at its timeout_s of %g s; this server allows up to %g s: "
		    "raise timeout_s, or make the code faster",
		    spec->timeout_s, lim->max_timeout_s);
	} else if (res->oom_killed) {
		snprintf(
		    out, len,
		    "the job ran out of memory at memory_mb %zu; this server allows up to %zu: "
		    "raise memory_mb, or use less memory",
		    spec->memory_bytes >> 20, lim->max_memory_bytes >> 20);
	} else if (res->exit_code != 0 && missing_module(res, module, sizeof(module))) {
		if (dependencies_enabled)
			snprintf(
			    out, len,
			    "module '%s' is not installed in the sandbox: add its PyPI package to "
			    "\"dependencies\"",
			    module);
		else
			snprintf(
			    out, len,
			    "module '%s' is not installed in the sandbox (GET /api/info lists what "
			    "is), and this server does not install packages (\"dependencies\" is "
			    "not enabled): use an installed package instead",
			    module);
	} else if (res->out.dropped > 0) {
		snprintf(
		    out, len,
		    "stdout was cut at %zu bytes: write large results to /workspace/output/ and "
		    "they come back as artifacts",
		    res->out.len);
	}
}

char *response_encode_result(const struct job_result *res, const char *request_id, const char *hint)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	int rc = 0;
	rc |= cJSON_AddNumberToObject(root, "exit_code", res->exit_code) ? 0 : -1;
	rc |= add_text(root, "stdout", res->out.data, res->out.len);
	rc |= add_text(root, "stderr", res->err.data, res->err.len);
	cJSON *arts = cJSON_AddObjectToObject(root, "artifacts");
	if (!arts)
		rc = -1;
	for (size_t i = 0; arts && i < res->nartifacts; i++)
		rc |= add_artifact(arts, &res->artifacts[i]);
	cJSON *omitted = cJSON_AddArrayToObject(root, "artifacts_omitted");
	for (size_t i = 0; omitted && i < res->nomitted; i++)
		cJSON_AddItemToArray(omitted, cJSON_CreateString(res->omitted[i]));
	cJSON_AddBoolToObject(root, "timed_out", res->timed_out);
	cJSON_AddBoolToObject(root, "stdout_truncated", res->out.dropped > 0);
	cJSON_AddBoolToObject(root, "stderr_truncated", res->err.dropped > 0);
	cJSON_AddNumberToObject(root, "stdout_dropped_bytes", (double)res->out.dropped);
	cJSON_AddNumberToObject(root, "stderr_dropped_bytes", (double)res->err.dropped);
	cJSON_AddNumberToObject(root, "duration_ms", round1(res->duration_ms));
	cJSON_AddBoolToObject(root, "oom_killed", res->oom_killed);
	if (res->deps_used) {
		cJSON *d = cJSON_AddObjectToObject(root, "dependencies");
		cJSON_AddBoolToObject(d, "cache_hit", res->deps_cache_hit);
		cJSON_AddNumberToObject(d, "install_ms", round1(res->deps_install_ms));
	}
	cJSON *usage = cJSON_AddObjectToObject(root, "usage");
	if (usage) {
		cJSON_AddItemToObject(usage, "cpu_ms",
				      res->cpu_ms >= 0 ? cJSON_CreateNumber(round1(res->cpu_ms))
						       : cJSON_CreateNull());
		cJSON_AddItemToObject(usage, "peak_memory_bytes",
				      res->peak_memory >= 0 ? cJSON_CreateNumber(res->peak_memory)
							    : cJSON_CreateNull());
		cJSON_AddBoolToObject(usage, "warm_start", res->warm_start);
	}
	cJSON *limits = cJSON_AddObjectToObject(root, "limits");
	if (limits) {
		cJSON_AddBoolToObject(limits, "enforced", res->limits_enforced);
		cJSON_AddNumberToObject(limits, "memory_mb", (double)(res->memory_bytes >> 20));
		cJSON_AddNumberToObject(limits, "cpus", res->cpus);
		cJSON_AddNumberToObject(limits, "pids", (double)res->pids);
	}
	if (res->exit_code == -1)
		cJSON_AddStringToObject(root, "error", res->error);
	if (hint)
		cJSON_AddStringToObject(root, "hint", hint);
	if (request_id)
		cJSON_AddStringToObject(root, "request_id", request_id);
	char *out = rc == 0 ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return out;
}

char *response_encode_error(const char *msg, int internal, const char *request_id)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	add_text(root, "error", msg, strlen(msg));
	if (internal)
		cJSON_AddNumberToObject(root, "exit_code", -1);
	if (request_id)
		cJSON_AddStringToObject(root, "request_id", request_id);
	char *out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}
