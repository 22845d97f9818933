/* run.c - `coderunner run FILE.py`: one job, no HTTP, same JSON result.
 * Owns: turning local files into a job spec. Useful to users and benchmarks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/paths.h"
#include "../api/response.h"
#include "../runtime/host.h"
#include "../runtime/job_runner.h"
#include "commands.h"

static const char run_usage[] =
    "usage: coderunner run [OPTIONS] FILE.py\n\n"
    "Runs FILE.py once in the sandbox, as /workspace/main.py, and prints the\n"
    "same JSON an HTTP client gets. Exits 0 when the job ran (whatever its\n"
    "exit_code), 1 when CodeRunner failed, 2 on bad usage. Needs root.\n";

/* Reads a whole local file, refusing anything over max bytes. */
static unsigned char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "coderunner run: open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	unsigned char *buf = malloc(max + 2);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	if (n > max) {
		fprintf(stderr, "coderunner run: %s is larger than %zu bytes\n", path, max);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Adds one local file to the spec under the given workspace path. */
static int add_file(struct job_spec *spec, const char *src, const char *dst, size_t max)
{
	size_t len = 0;
	unsigned char *data = slurp(src, max, &len);
	if (!data)
		return -1;
	struct job_file *f = realloc(spec->files, (spec->nfiles + 1) * sizeof(*f));
	char *path = strdup(dst);
	if (!f || !path) {
		free(data);
		free(path);
		if (f)
			spec->files = f;
		return -1;
	}
	spec->files = f;
	f[spec->nfiles++] = (struct job_file){.path = path, .data = data, .len = len};
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct config cfg;
	struct opt_list pos;
	struct error err = {{0}};
	int rc = config_from_args(&cfg, "run", run_usage, argc, argv, 1, 1, &pos);
	if (rc >= 0)
		return rc;
	struct limits *lim = &cfg.limits;
	if (lim->max_timeout_s < lim->default_timeout_s)
		lim->max_timeout_s = lim->default_timeout_s;
	if (config_check(&cfg, &err) < 0) {
		fprintf(stderr, "coderunner run: %s\n", err.msg);
		return 2;
	}
	struct job_spec spec = {.timeout_s = lim->default_timeout_s,
				.memory_bytes = lim->default_memory_bytes,
				.cpus = lim->default_cpus,
				.entry_point = strdup("main.py")};
	rc =
	    spec.entry_point ? add_file(&spec, pos.items[0], "main.py", lim->max_script_bytes) : -1;
	for (size_t i = 0; rc == 0 && i < cfg.context.n; i++) {
		const char *src = cfg.context.items[i], *base = strrchr(src, '/');
		base = base ? base + 1 : src;
		char dst[PATH_MAX_BYTES + 8], why[128];
		if (!path_is_safe(base, strlen(base), why, sizeof(why))) {
			fprintf(stderr, "coderunner run: context name %s %s\n", base, why);
			rc = -1;
			break;
		}
		snprintf(dst, sizeof(dst), "input/%s", base);
		rc = add_file(&spec, src, dst, lim->max_file_bytes);
	}
	if (rc < 0) {
		job_spec_free(&spec);
		return 2;
	}
	struct host host;
	struct job_runner runner;
	struct cgroup_setup cgroups;
	const struct cgroup_setup *limits = NULL;
	if (host_setup(&host, cfg.rootfs, cfg.state_dir, &err) < 0) {
		fprintf(stderr, "coderunner run: %s\n", err.msg);
		job_spec_free(&spec);
		return 1;
	}
	struct admission_policy policy = {.max_jobs = 1};
	if (enforce_limits(&cgroups, &cfg, "run", &limits) < 0 ||
	    job_runner_init(&runner, &host, lim, &policy, cfg.uid_base, limits) < 0) {
		job_spec_free(&spec);
		return 1;
	}
	struct job_result res;
	job_run(&runner, &spec, &res);
	char *out = response_encode_result(&res, NULL, NULL);
	int code = res.exit_code == -1 ? 1 : 0;
	if (out)
		printf("%s\n", out);
	free(out);
	job_result_free(&res);
	job_spec_free(&spec);
	job_runner_destroy(&runner);
	if (limits)
		cgroup_setup_cleanup(&cgroups);
	return out ? code : 1;
}
