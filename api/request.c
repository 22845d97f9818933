/* request.c - see request.h.
 * Every message names the field and the rule, because the caller is usually
 * an agent that will read it and try again. */
#include "request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "paths.h"
#include "requirements.h"
#include "utf8.h"

#define MAX_DEPENDENCIES 15

static const char known_fields_text[] = "script, files, entry_point, context, timeout_s, "
					"dependencies, memory_mb, cpus";

int api_error_set(struct api_error *err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->status = status;
	return -1;
}

/* Appends one file to the spec, taking ownership of path and data. */
static int spec_add_file(struct job_spec *spec, char *path, unsigned char *data, size_t len)
{
	struct job_file *n = realloc(spec->files, (spec->nfiles + 1) * sizeof(*n));
	if (!n) {
		free(path);
		free(data);
		return -1;
	}
	spec->files = n;
	spec->files[spec->nfiles++] = (struct job_file){.path = path, .data = data, .len = len};
	return 0;
}

/* cJSON ends strings at NUL, so an escaped \u0000 would silently cut a file
 * short; a raw NUL byte is not JSON at all. Both are refused up front. */
static int reject_nul(const char *body, size_t len, struct api_error *err)
{
	if (memchr(body, '\0', len))
		return api_error_set(err, 400,
				     "request body contains a NUL byte, which JSON does not allow");
	for (size_t i = 0; i + 5 < len; i++) {
		if (body[i] != '\\' || body[i + 1] != 'u')
			continue;
		size_t backslashes = 0;
		for (size_t j = i; j > 0 && body[j - 1] == '\\'; j--)
			backslashes++;
		if (backslashes % 2 == 0 && strncmp(body + i + 2, "0000", 4) == 0)
			return api_error_set(
			    err, 400,
			    "JSON string contains \\u0000 at byte %zu; send binary data as "
			    "{\"content\": \"<base64>\", \"encoding\": \"base64\"}",
			    i);
	}
	return 0;
}

/* Line and column of a byte offset, for parse errors a human can find. */
static void offset_position(const char *body, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (body[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Decodes a content value: a string (UTF-8 text) or
 * {"content": "...", "encoding": "utf-8"|"base64"}. `where` names the field. */
static int decode_content(const cJSON *item, const char *where, const struct limits *lim,
			  unsigned char **data, size_t *len, struct api_error *err)
{
	const char *text = NULL, *encoding = "utf-8";
	if (cJSON_IsString(item)) {
		text = item->valuestring;
	} else if (cJSON_IsObject(item)) {
		const cJSON *f;
		cJSON_ArrayForEach(f, item)
		{
			if (strcmp(f->string, "content") == 0) {
				if (!cJSON_IsString(f))
					return api_error_set(err, 400,
							     "%s.content: must be a string", where);
				text = f->valuestring;
			} else if (strcmp(f->string, "encoding") == 0) {
				if (!cJSON_IsString(f))
					return api_error_set(
					    err, 400, "%s.encoding: must be a string", where);
				encoding = f->valuestring;
			} else {
				return api_error_set(
				    err, 400,
				    "%s: unknown field \"%s\"; allowed: content, encoding", where,
				    f->string);
			}
		}
		if (!text)
			return api_error_set(err, 400, "%s: missing \"content\"", where);
	} else {
		return api_error_set(err, 400,
				     "%s: must be a string or {\"content\": ..., \"encoding\": "
				     "\"utf-8\"|\"base64\"}",
				     where);
	}
	size_t tlen = strlen(text);
	if (strcasecmp(encoding, "base64") == 0) {
		size_t bad_at = 0;
		if (base64_decode(text, tlen, data, len, &bad_at) < 0)
			return api_error_set(err, 400, "%s: invalid base64 at character %zu", where,
					     bad_at);
	} else if (strcasecmp(encoding, "utf-8") == 0 || strcasecmp(encoding, "utf8") == 0) {
		if (!utf8_valid((const unsigned char *)text, tlen))
			return api_error_set(
			    err, 400,
			    "%s: content is not valid UTF-8; send binary data with "
			    "\"encoding\": \"base64\"",
			    where);
		*data = malloc(tlen + 1);
		if (!*data)
			return api_error_set(err, 500, "out of memory");
		memcpy(*data, text, tlen + 1);
		*len = tlen;
	} else {
		return api_error_set(err, 400,
				     "%s: unknown encoding \"%s\"; use \"utf-8\" or \"base64\"",
				     where, encoding);
	}
	if (*len > lim->max_file_bytes) {
		free(*data);
		*data = NULL;
		return api_error_set(err, 413,
				     "%s: decoded size %zu bytes exceeds the %zu-byte limit", where,
				     *len, lim->max_file_bytes);
	}
	return 0;
}

/* Reads an object of name -> content into the spec, each name placed under
 * prefix ("input/" for context, "" for files). */
static int parse_file_map(const cJSON *obj, const char *field, const char *prefix,
			  const struct limits *lim, struct job_spec *spec, struct api_error *err)
{
	if (!cJSON_IsObject(obj))
		return api_error_set(err, 400,
				     "%s: must be an object mapping file names to contents", field);
	size_t count = 0, total = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, obj)
	{
		if (++count > lim->max_files)
			return api_error_set(err, 400, "%s: more than %zu files", field,
					     lim->max_files);
		char where[PATH_MAX_BYTES + 64], why[128];
		snprintf(where, sizeof(where), "%s[\"%.*s\"]", field, PATH_MAX_BYTES, item->string);
		if (!path_is_safe(item->string, strlen(item->string), why, sizeof(why)))
			return api_error_set(err, 400, "%s: path %s", where, why);
		unsigned char *data = NULL;
		size_t len = 0;
		if (decode_content(item, where, lim, &data, &len, err) < 0)
			return -1;
		total += len;
		if (total > lim->max_total_bytes) {
			free(data);
			return api_error_set(err, 413,
					     "%s: total decoded size exceeds the %zu-byte limit",
					     field, lim->max_total_bytes);
		}
		size_t plen = strlen(prefix) + strlen(item->string) + 1;
		char *path = malloc(plen);
		if (!path) {
			free(data);
			return api_error_set(err, 500, "out of memory");
		}
		snprintf(path, plen, "%s%s", prefix, item->string);
		if (spec_add_file(spec, path, data, len) < 0)
			return api_error_set(err, 500, "out of memory");
	}
	return 0;
}

/* Two entries may not name the same file, or a file and a folder at once;
 * input/ and output/ are reserved folders. */
static int check_conflicts(const struct job_spec *spec, struct api_error *err)
{
	for (size_t i = 0; i < spec->nfiles; i++) {
		const char *p = spec->files[i].path;
		if (strcmp(p, "input") == 0 || strcmp(p, "output") == 0)
			return api_error_set(
			    err, 400, "files[\"%s\"]: name is reserved for the %s/ folder", p, p);
		for (size_t j = 0; j < i; j++) {
			if (path_conflicts(p, spec->files[j].path))
				return api_error_set(
				    err, 400,
				    "duplicate path: \"%s\" and \"%s\" name the same "
				    "file or a file and a folder (context files live "
				    "under input/)",
				    spec->files[j].path, p);
		}
	}
	return 0;
}

/* dependencies: a list of simple requirements (see requirements.h), kept
 * in canonical form; duplicates by normalised name are refused. */
static int parse_dependencies(const cJSON *deps, struct job_spec *spec, struct api_error *err)
{
	if (!cJSON_IsArray(deps))
		return api_error_set(err, 400, "dependencies: must be a list of strings");
	int n = cJSON_GetArraySize(deps);
	if (n > MAX_DEPENDENCIES)
		return api_error_set(err, 400, "dependencies: at most %d entries, got %d",
				     MAX_DEPENDENCIES, n);
	char names[MAX_DEPENDENCIES][MAX_REQUIREMENT_BYTES + 1];
	spec->dependencies = calloc((size_t)n + 1, sizeof(*spec->dependencies));
	if (!spec->dependencies)
		return api_error_set(err, 500, "out of memory");
	const cJSON *d;
	int i = 0;
	cJSON_ArrayForEach(d, deps)
	{
		if (!cJSON_IsString(d) || d->valuestring[0] == '\0')
			return api_error_set(err, 400,
					     "dependencies[%d]: must be a non-empty string", i);
		char canon[MAX_REQUIREMENT_BYTES * 2], why[300];
		if (!requirement_parse(d->valuestring, canon, sizeof(canon), names[i],
				       sizeof(names[i]), why, sizeof(why)))
			return api_error_set(err, 400, "dependencies[%d]: %s", i, why);
		for (int j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return api_error_set(
				    err, 400,
				    "dependencies[%d]: \"%s\" is listed twice "
				    "(names compare case- and separator-insensitively)",
				    i, names[i]);
		spec->dependencies[i] = strdup(canon);
		if (!spec->dependencies[i])
			return api_error_set(err, 500, "out of memory");
		spec->ndependencies = (size_t)++i;
	}
	return 0;
}

/* timeout_s: a positive number; above the server maximum it is clamped. */
static int parse_timeout(double v, bool is_number, const struct limits *lim, double *out,
			 struct api_error *err)
{
	if (!is_number || !isfinite(v) || v <= 0)
		return api_error_set(err, 400,
				     "timeout_s: must be a number of seconds greater than 0");
	*out = v > lim->max_timeout_s ? lim->max_timeout_s : v;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Picks and checks the entry point among the files. */
static int resolve_entry_point(const cJSON *ep, struct job_spec *spec, struct api_error *err)
{
	const char *name = "main.py";
	if (ep) {
		if (!cJSON_IsString(ep))
			return api_error_set(err, 400, "entry_point: must be a string");
		name = ep->valuestring;
		char why[128];
		if (!path_is_safe(name, strlen(name), why, sizeof(why)))
			return api_error_set(err, 400, "entry_point: path %s", why);
		if (!ends_with(name, ".py"))
			return api_error_set(err, 400, "entry_point: \"%s\" must be a .py file",
					     name);
	}
	for (size_t i = 0; i < spec->nfiles; i++) {
		if (strcmp(spec->files[i].path, name) == 0) {
			spec->entry_point = strdup(name);
			return spec->entry_point ? 0 : api_error_set(err, 500, "out of memory");
		}
	}
	if (!ep)
		return api_error_set(err, 400,
				     "entry_point: files has no main.py; name the file to run with "
				     "\"entry_point\"");
	return api_error_set(err, 400, "entry_point: \"%s\" is not among files", name);
}

/* memory_mb: a whole number of MiB within [MIN_MEMORY_MB, server maximum]. */
static int parse_memory(const cJSON *v, const struct limits *lim, size_t *out,
			struct api_error *err)
{
	size_t max_mb = lim->max_memory_bytes >> 20;
	/* range first: casting an out-of-range double is undefined */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= MIN_MEMORY_MB) ||
	    !(v->valuedouble <= (double)max_mb) || v->valuedouble != floor(v->valuedouble))
		return api_error_set(err, 400,
				     "memory_mb: must be a whole number of MiB from %d to %zu (the "
				     "server maximum)",
				     MIN_MEMORY_MB, max_mb);
	*out = (size_t)v->valuedouble << 20;
	return 0;
}

/* cpus: a CPU quota within [MIN_CPUS, server maximum]. */
static int parse_cpus(const cJSON *v, const struct limits *lim, double *out, struct api_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < MIN_CPUS || v->valuedouble > lim->max_cpus)
		return api_error_set(err, 400,
				     "cpus: must be a number of CPUs from %g to %g (the server "
				     "maximum)",
				     MIN_CPUS, lim->max_cpus);
	*out = v->valuedouble;
	return 0;
}

/* The top-level fields of a request, each seen at most once. */
struct fields {
	const cJSON *script, *files, *entry, *context, *timeout, *deps, *memory, *cpus;
};

/* Slot for a field name, or NULL when the name is unknown. */
static const cJSON **field_slot(struct fields *f, const char *name)
{
	static const struct {
		const char *name;
		size_t offset;
	} table[] = {
	    {"script", offsetof(struct fields, script)},
	    {"files", offsetof(struct fields, files)},
	    {"entry_point", offsetof(struct fields, entry)},
	    {"context", offsetof(struct fields, context)},
	    {"timeout_s", offsetof(struct fields, timeout)},
	    {"dependencies", offsetof(struct fields, deps)},
	    {"memory_mb", offsetof(struct fields, memory)},
	    {"cpus", offsetof(struct fields, cpus)},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(name, table[i].name) == 0)
			return (const cJSON **)((char *)f + table[i].offset);
	return NULL;
}

/* Walks the top-level object once: unknown or repeated fields fail early. */
static int parse_object(const cJSON *root, const struct limits *lim, struct job_spec *spec,
			struct api_error *err)
{
	struct fields fl = {0};
	const cJSON *f;
	cJSON_ArrayForEach(f, root)
	{
		const cJSON **slot = field_slot(&fl, f->string);
		if (!slot)
			return api_error_set(err, 400,
					     "unknown field \"%.200s\"; allowed fields: %s",
					     f->string, known_fields_text);
		if (*slot)
			return api_error_set(err, 400, "field \"%s\" appears more than once",
					     f->string);
		*slot = f;
	}
	const cJSON *script = fl.script, *files = fl.files, *entry = fl.entry,
		    *context = fl.context, *timeout = fl.timeout, *deps = fl.deps;
	spec->memory_bytes = lim->default_memory_bytes;
	spec->cpus = lim->default_cpus;
	if (fl.memory && parse_memory(fl.memory, lim, &spec->memory_bytes, err) < 0)
		return -1;
	if (fl.cpus && parse_cpus(fl.cpus, lim, &spec->cpus, err) < 0)
		return -1;
	if (script && files)
		return api_error_set(
		    err, 400,
		    "script and files are exclusive: send one script, or files with "
		    "an entry_point");
	if (!script && !files)
		return api_error_set(
		    err, 400,
		    "missing code: send \"script\" (a string) or \"files\" (an object) "
		    "with an \"entry_point\"");
	if (entry && !files)
		return api_error_set(err, 400, "entry_point: only valid together with files");
	if (deps && parse_dependencies(deps, spec, err) < 0)
		return -1;
	spec->timeout_s = lim->default_timeout_s;
	if (timeout && parse_timeout(timeout->valuedouble, cJSON_IsNumber(timeout), lim,
				     &spec->timeout_s, err) < 0)
		return -1;
	if (script) {
		if (!cJSON_IsString(script))
			return api_error_set(err, 400, "script: must be a string");
		size_t len = strlen(script->valuestring);
		if (len > lim->max_script_bytes)
			return api_error_set(err, 413,
					     "script: %zu bytes exceeds the %zu-byte limit", len,
					     lim->max_script_bytes);
		if (!utf8_valid((const unsigned char *)script->valuestring, len))
			return api_error_set(err, 400, "script: not valid UTF-8");
		char *path = strdup("main.py");
		unsigned char *data = (unsigned char *)strdup(script->valuestring);
		if (!path || !data || spec_add_file(spec, path, data, len) < 0) {
			free(path);
			free(data);
			return api_error_set(err, 500, "out of memory");
		}
		spec->entry_point = strdup("main.py");
		if (!spec->entry_point)
			return api_error_set(err, 500, "out of memory");
	} else {
		if (parse_file_map(files, "files", "", lim, spec, err) < 0)
			return -1;
		if (spec->nfiles == 0)
			return api_error_set(err, 400, "files: must contain at least one file");
		if (resolve_entry_point(entry, spec, err) < 0)
			return -1;
	}
	if (context && parse_file_map(context, "context", "input/", lim, spec, err) < 0)
		return -1;
	return check_conflicts(spec, err);
}

int request_parse_json(const char *body, size_t len, const struct limits *lim,
		       struct job_spec *spec, struct api_error *err)
{
	memset(spec, 0, sizeof(*spec));
	if (len > lim->max_body_bytes)
		return api_error_set(err, 413, "request body exceeds the %zu-byte limit",
				     lim->max_body_bytes);
	if (reject_nul(body, len, err) < 0)
		return -1;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root) {
		size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : 0,
		       line, col;
		offset_position(body, off, &line, &col);
		return api_error_set(err, 400,
				     "malformed JSON at byte %zu (line %zu, column %zu)%s", off,
				     line, col, len == 0 ? ": empty body" : "");
	}
	while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	int rc;
	if (end != body + len) {
		rc = api_error_set(err, 400,
				   "malformed JSON: unexpected data after the object at byte %zu",
				   (size_t)(end - body));
	} else if (!cJSON_IsObject(root)) {
		rc = api_error_set(err, 400, "request body must be a JSON object");
	} else {
		rc = parse_object(root, lim, spec, err);
	}
	cJSON_Delete(root);
	if (rc < 0)
		job_spec_free(spec);
	return rc;
}

/* Raw mode keeps curl one-liners easy: `curl --data-binary @x.py`. */
int request_parse_raw(const char *body, size_t len, const char *query, const struct limits *lim,
		      struct job_spec *spec, struct api_error *err)
{
	memset(spec, 0, sizeof(*spec));
	spec->timeout_s = lim->default_timeout_s;
	spec->memory_bytes = lim->default_memory_bytes;
	spec->cpus = lim->default_cpus;
	if (len > lim->max_script_bytes)
		return api_error_set(err, 413, "script: %zu bytes exceeds the %zu-byte limit", len,
				     lim->max_script_bytes);
	for (const char *q = query; q && *q;) {
		const char *amp = strchr(q, '&');
		size_t plen = amp ? (size_t)(amp - q) : strlen(q);
		if (plen >= 10 && strncmp(q, "timeout_s=", 10) == 0) {
			char num[64];
			size_t nlen = plen - 10 < sizeof(num) - 1 ? plen - 10 : sizeof(num) - 1;
			memcpy(num, q + 10, nlen);
			num[nlen] = '\0';
			char *e = NULL;
			double v = strtod(num, &e);
			if (parse_timeout(v, e != num && *e == '\0', lim, &spec->timeout_s, err) <
			    0)
				return -1;
		} else if (plen > 0) {
			return api_error_set(
			    err, 400,
			    "unknown query parameter \"%.*s\"; raw mode accepts only "
			    "timeout_s",
			    (int)(plen > 100 ? 100 : plen), q);
		}
		q = amp ? amp + 1 : q + plen;
	}
	char *path = strdup("main.py");
	unsigned char *data = malloc(len + 1);
	if (!path || !data) {
		free(path);
		free(data);
		return api_error_set(err, 500, "out of memory");
	}
	memcpy(data, body, len);
	data[len] = '\0';
	if (spec_add_file(spec, path, data, len) < 0 || !(spec->entry_point = strdup("main.py"))) {
		job_spec_free(spec);
		return api_error_set(err, 500, "out of memory");
	}
	return 0;
}
