/* audit.c - see audit.h. */
#include "audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

static struct {
	pthread_mutex_t lock;
	enum log_level level;
	const char *file;
	int fd;
} logger = {PTHREAD_MUTEX_INITIALIZER, LOG_INFO, NULL, 2};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int audit_init(const char *level, const char *file, struct error *err)
{
	int found = -1;
	for (int i = 0; i < 4; i++)
		if (level && strcmp(level, level_names[i]) == 0)
			found = i;
	if (found < 0)
		return error_set(err, 0, "log level \"%s\": use error, warn, info or debug",
				 level ? level : "");
	logger.level = (enum log_level)found;
	logger.file = file && *file ? file : NULL;
	return audit_reopen(err);
}

int audit_reopen(struct error *err)
{
	if (!logger.file)
		return 0;
	int fd = open(logger.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return error_set(err, errno, "open log file %s", logger.file);
	pthread_mutex_lock(&logger.lock);
	int old = logger.fd;
	logger.fd = fd;
	pthread_mutex_unlock(&logger.lock);
	if (old != 2)
		close(old);
	return 0;
}

/* Writes one line whole, so concurrent requests never interleave. */
static void write_line(const char *line)
{
	size_t len = strlen(line);
	pthread_mutex_lock(&logger.lock);
	const char *p = line;
	while (len > 0) {
		ssize_t n = write(logger.fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	if (write(logger.fd, "\n", 1) < 0) {
		/* nowhere left to report it */
	}
	pthread_mutex_unlock(&logger.lock);
}

/* RFC 3339 UTC with milliseconds. */
static void timestamp(char *out, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static cJSON *line_start(enum log_level level)
{
	char ts[40];
	timestamp(ts, sizeof(ts));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "level", level_names[level]);
	return o;
}

static void line_end(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	if (text)
		write_line(text);
	free(text);
	cJSON_Delete(o);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > logger.level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = line_start(level);
	cJSON_AddStringToObject(o, "msg", msg);
	line_end(o);
}

void request_id_choose(const char *client_value, char *out)
{
	size_t n = client_value ? strlen(client_value) : 0;
	bool ok = n > 0 && n <= 64;
	for (size_t i = 0; ok && i < n; i++) {
		char c = client_value[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '.' || c == '_' || c == '-';
	}
	if (ok) {
		memcpy(out, client_value, n + 1);
		return;
	}
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		static unsigned long counter;
		unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		memset(rnd, 0, sizeof(rnd));
		memcpy(rnd, &c, sizeof(c));
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[2 * sizeof(rnd)] = '\0';
}

/* Hash of the code (every file outside input/), so an operator can tell
 * identical submissions apart without ever seeing them. */
static void code_hash(const struct job_spec *spec, char *hex)
{
	struct sha256 s;
	sha256_init(&s);
	for (size_t i = 0; i < spec->nfiles; i++) {
		const struct job_file *f = &spec->files[i];
		if (strncmp(f->path, "input/", 6) == 0)
			continue;
		sha256_update(&s, f->path, strlen(f->path) + 1);
		sha256_update(&s, f->data, f->len);
	}
	unsigned char d[32];
	sha256_final(&s, d);
	sha256_hex(d, 8, hex);
}

static double round1(double v)
{
	return (double)(long long)(v * 10 + 0.5) / 10;
}

void audit_request(const struct audit_record *r)
{
	if (LOG_INFO > logger.level)
		return;
	cJSON *o = line_start(LOG_INFO);
	cJSON_AddStringToObject(o, "event", "request");
	cJSON_AddStringToObject(o, "request_id", r->request_id ? r->request_id : "");
	if (r->tenant)
		cJSON_AddStringToObject(o, "tenant", r->tenant);
	cJSON_AddStringToObject(o, "client", r->client ? r->client : "");
	cJSON_AddStringToObject(o, "method", r->method ? r->method : "");
	cJSON_AddStringToObject(o, "path", r->path ? r->path : "");
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_AddNumberToObject(o, "request_bytes", (double)r->request_bytes);
	cJSON_AddNumberToObject(o, "response_bytes", (double)r->response_bytes);
	if (r->spec) {
		char hex[17];
		code_hash(r->spec, hex);
		size_t code = 0, input = 0, ninput = 0;
		for (size_t i = 0; i < r->spec->nfiles; i++) {
			bool is_input = strncmp(r->spec->files[i].path, "input/", 6) == 0;
			*(is_input ? &input : &code) += r->spec->files[i].len;
			ninput += is_input;
		}
		cJSON_AddStringToObject(o, "code_sha256", hex);
		cJSON_AddNumberToObject(o, "code_bytes", (double)code);
		cJSON_AddNumberToObject(o, "files", (double)(r->spec->nfiles - ninput));
		cJSON_AddNumberToObject(o, "context_files", (double)ninput);
		cJSON_AddNumberToObject(o, "context_bytes", (double)input);
		if (r->spec->ndependencies > 0) {
			cJSON *deps = cJSON_AddArrayToObject(o, "dependencies");
			for (size_t i = 0; i < r->spec->ndependencies; i++)
				cJSON_AddItemToArray(deps,
						     cJSON_CreateString(r->spec->dependencies[i]));
		}
		cJSON *lim = cJSON_AddObjectToObject(o, "limits");
		cJSON_AddNumberToObject(lim, "timeout_s", r->spec->timeout_s);
		cJSON_AddNumberToObject(lim, "memory_mb", (double)(r->spec->memory_bytes >> 20));
		cJSON_AddNumberToObject(lim, "cpus", r->spec->cpus);
	}
	if (r->result) {
		const struct job_result *res = r->result;
		cJSON_AddNumberToObject(o, "exit_code", res->exit_code);
		cJSON_AddBoolToObject(o, "timed_out", res->timed_out);
		cJSON_AddBoolToObject(o, "oom_killed", res->oom_killed);
		cJSON_AddNumberToObject(o, "duration_ms", round1(res->duration_ms));
		cJSON_AddNumberToObject(o, "stdout_bytes",
					(double)(res->out.len + res->out.dropped));
		cJSON_AddNumberToObject(o, "stderr_bytes",
					(double)(res->err.len + res->err.dropped));
		cJSON_AddNumberToObject(o, "artifacts", (double)res->nartifacts);
		if (res->deps_used) {
			cJSON_AddBoolToObject(o, "deps_cache_hit", res->deps_cache_hit);
			cJSON_AddNumberToObject(o, "deps_install_ms", round1(res->deps_install_ms));
		}
		if (res->cpu_ms >= 0)
			cJSON_AddNumberToObject(o, "cpu_ms", round1(res->cpu_ms));
		if (res->peak_memory >= 0)
			cJSON_AddNumberToObject(o, "peak_memory_bytes", res->peak_memory);
		cJSON_AddBoolToObject(o, "warm_start", res->warm_start);
	}
	cJSON_AddNumberToObject(o, "queue_ms", round1(r->queue_ms));
	cJSON_AddNumberToObject(o, "total_ms", round1(r->total_ms));
	if (r->error)
		cJSON_AddStringToObject(o, "error", r->error);
	line_end(o);
}
