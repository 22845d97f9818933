/* config.c - see config.h. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char cpu_default[24];

/* Which commands take an option. */
enum { SERVE = 1, RUN = 2, DOCTOR = 4 };

size_t config_options(struct config *c, const char *command, struct opt *opts, size_t max)
{
	memset(c, 0, sizeof(*c));
	limits_defaults(&c->limits);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(cpu_default, sizeof(cpu_default), "%ld", cpus > 0 ? cpus : 1);
	struct limits *l = &c->limits;
	const struct opt all[] = {
	    {"listen", "CODERUNNER_LISTEN", OPT_STRING, "127.0.0.1:8080",
	     "address:port to listen on; port 0 picks a free port", &c->listen, SERVE},
	    {"rootfs", "CODERUNNER_ROOTFS", OPT_STRING, "build/rootfs",
	     "the Python rootfs built by `make rootfs`", &c->rootfs, SERVE | RUN | DOCTOR},
	    {"state-dir", "CODERUNNER_STATE_DIR", OPT_STRING, "/run/coderunner",
	     "where job workspaces are mounted (private to the server)", &c->state_dir,
	     SERVE | RUN},
	    {"max-jobs", "CODERUNNER_MAX_JOBS", OPT_UINT, cpu_default,
	     "jobs running at once; more requests wait (the default is the CPU count)",
	     &c->max_jobs, SERVE},
	    {"http-threads", "CODERUNNER_HTTP_THREADS", OPT_UINT, "64",
	     "HTTP worker threads (running plus waiting requests)", &c->http_threads, SERVE},
	    {"io-timeout", "CODERUNNER_IO_TIMEOUT", OPT_SECONDS, "30",
	     "seconds a client may stall reading its request or its response before the "
	     "connection is closed (slowloris defence)",
	     &c->io_timeout_s, SERVE},
	    {"max-queue", "CODERUNNER_MAX_QUEUE", OPT_SIZE, "64",
	     "requests that may wait for a job slot; beyond that 429 with Retry-After",
	     &c->max_queue, SERVE},
	    {"max-queue-wait", "CODERUNNER_MAX_QUEUE_WAIT", OPT_SECONDS, "60",
	     "longest a request waits for a slot before 429", &c->max_queue_wait_s, SERVE},
	    {"tenant-max-jobs", "CODERUNNER_TENANT_MAX_JOBS", OPT_SIZE, "0",
	     "requests one tenant may have running or waiting (0: --max-jobs)", &c->tenant_max_jobs,
	     SERVE},
	    {"retry-after", "CODERUNNER_RETRY_AFTER", OPT_UINT, "2",
	     "seconds suggested in Retry-After on 429 and 503", &c->retry_after_s, SERVE},
	    {"api-keys-file", "CODERUNNER_API_KEYS_FILE", OPT_STRING, NULL,
	     "file of \"KEY TENANT\" lines; requests then need Authorization: Bearer KEY "
	     "(reloaded on SIGHUP)",
	     &c->api_keys_file, SERVE},
	    {"allow-unauthenticated", "CODERUNNER_ALLOW_UNAUTHENTICATED", OPT_FLAG, NULL,
	     "listen on a non-loopback address without API keys", &c->allow_unauthenticated, SERVE},
	    {"log-level", "CODERUNNER_LOG_LEVEL", OPT_STRING, "info",
	     "error, warn, info (one audit line per request) or debug", &c->log_level, SERVE},
	    {"log-file", "CODERUNNER_LOG_FILE", OPT_STRING, NULL,
	     "append logs here instead of stderr (reopened on SIGHUP)", &c->log_file, SERVE},
	    {"shutdown-grace", "CODERUNNER_SHUTDOWN_GRACE", OPT_SECONDS, "330",
	     "on SIGTERM, how long running jobs may finish before they are killed",
	     &c->shutdown_grace_s, SERVE},
	    {"mcp-allowed-origins", "CODERUNNER_MCP_ALLOWED_ORIGINS", OPT_STRING, NULL,
	     "comma-separated browser origins (https://app.example) allowed to call /mcp besides "
	     "localhost",
	     &c->mcp_allowed_origins, SERVE},
	    {"deps-cache-dir", "CODERUNNER_DEPS_CACHE_DIR", OPT_STRING,
	     "/var/cache/coderunner/deps",
	     "where installed dependencies are cached (\"\" turns installs off: 501)",
	     &c->deps_cache_dir, SERVE},
	    {"deps-cache-size", "CODERUNNER_DEPS_CACHE_SIZE", OPT_SIZE, "2G",
	     "dependency cache size; least recently used entries are evicted beyond it",
	     &c->deps_cache_bytes, SERVE},
	    {"deps-install-timeout", "CODERUNNER_DEPS_INSTALL_TIMEOUT", OPT_SECONDS, "120",
	     "longest a dependency install may take (504 beyond)", &c->deps_install_timeout_s,
	     SERVE},
	    {"pip-index-url", "CODERUNNER_PIP_INDEX_URL", OPT_STRING, "https://pypi.org/simple",
	     "the package index (PEP 503 simple API) dependencies come from", &c->pip_index_url,
	     SERVE},
	    {"pip-extra-index-url", "CODERUNNER_PIP_EXTRA_INDEX_URL", OPT_STRING, NULL,
	     "a second index", &c->pip_extra_index_url, SERVE},
	    {"pip-trusted-host", "CODERUNNER_PIP_TRUSTED_HOST", OPT_STRING, NULL,
	     "an index host reached without TLS verification (private mirrors)",
	     &c->pip_trusted_host, SERVE},
	    {"uid-base", "CODERUNNER_UID_BASE", OPT_ULONG, "1000000000",
	     "first host uid/gid of the unprivileged ranges jobs map to (65536 each: one per "
	     "slot, and per pool one per sandbox and one per slot)",
	     &c->uid_base, SERVE | RUN},
	    {"warm-pool", "CODERUNNER_WARM_POOL", OPT_SIZE, "2",
	     "sandboxes kept started with Python and --warm-preload already imported, so a job "
	     "skips start-up (0 turns warm starts off; each costs the memory of its imports)",
	     &c->warm_pool, SERVE},
	    {"warm-preload", "CODERUNNER_WARM_PRELOAD", OPT_STRING,
	     "numpy,pandas,matplotlib.pyplot",
	     "comma-separated modules a warm sandbox imports before its job arrives",
	     &c->warm_preload, SERVE},
	    {"warm-max-age", "CODERUNNER_WARM_MAX_AGE", OPT_SECONDS, "600",
	     "a warm or prepared sandbox not used within this many seconds is replaced",
	     &c->warm_max_age_s, SERVE},
	    {"prepared-sandboxes", "CODERUNNER_PREPARED_SANDBOXES", OPT_STRING, "auto",
	     "sandboxes set up ahead (namespaces, mounts, cgroup) for jobs that start cold, so "
	     "those only pay for Python's own start (auto: --max-jobs, at most 64; 0: off)",
	     &c->prepared_text, SERVE},
	    {"default-timeout", "CODERUNNER_DEFAULT_TIMEOUT", OPT_SECONDS, "60",
	     "timeout_s when a request gives none", &l->default_timeout_s, SERVE},
	    {"max-timeout", "CODERUNNER_MAX_TIMEOUT", OPT_SECONDS, "300",
	     "largest timeout_s; larger requests are clamped", &l->max_timeout_s, SERVE | RUN},
	    {"max-body-size", "CODERUNNER_MAX_BODY_SIZE", OPT_SIZE, "16M",
	     "largest JSON request body (413 above)", &l->max_body_bytes, SERVE},
	    {"max-script-size", "CODERUNNER_MAX_SCRIPT_SIZE", OPT_SIZE, "256K",
	     "largest script (413 above)", &l->max_script_bytes, SERVE | RUN},
	    {"max-files", "CODERUNNER_MAX_FILES", OPT_SIZE, "20",
	     "most entries in files, and in context", &l->max_files, SERVE | RUN},
	    {"max-file-size", "CODERUNNER_MAX_FILE_SIZE", OPT_SIZE, "5M",
	     "largest single decoded file", &l->max_file_bytes, SERVE | RUN},
	    {"max-total-size", "CODERUNNER_MAX_TOTAL_SIZE", OPT_SIZE, "10M",
	     "largest total of context (and, separately, of files)", &l->max_total_bytes,
	     SERVE | RUN},
	    {"max-artifacts-size", "CODERUNNER_MAX_ARTIFACTS_SIZE", OPT_SIZE, "10M",
	     "largest total of artifacts returned; the rest are named in artifacts_omitted",
	     &l->max_artifacts_bytes, SERVE | RUN},
	    {"stdout-limit", "CODERUNNER_STDOUT_LIMIT", OPT_SIZE, "1M",
	     "stdout bytes kept; the rest is dropped", &l->stdout_cap, SERVE | RUN},
	    {"stderr-limit", "CODERUNNER_STDERR_LIMIT", OPT_SIZE, "1M",
	     "stderr bytes kept; the rest is dropped", &l->stderr_cap, SERVE | RUN},
	    {"workspace-size", "CODERUNNER_WORKSPACE_SIZE", OPT_SIZE, "512M",
	     "size of each job's /workspace, /tmp and /dev/shm tmpfs", &l->workspace_bytes,
	     SERVE | RUN},
	    {"memory-limit", "CODERUNNER_MEMORY_LIMIT", OPT_SIZE, "1536M",
	     "memory limit of a job (cgroup); an OOM kill reports exit code 137",
	     &l->default_memory_bytes, SERVE | RUN},
	    {"max-memory", "CODERUNNER_MAX_MEMORY", OPT_SIZE, "1536M",
	     "largest memory_mb a request may ask for", &l->max_memory_bytes, SERVE},
	    {"cpus", "CODERUNNER_CPUS", OPT_CPUS, "1", "CPU quota of a job, in CPUs",
	     &l->default_cpus, SERVE | RUN},
	    {"max-cpus", "CODERUNNER_MAX_CPUS", OPT_CPUS, cpu_default,
	     "largest cpus a request may ask for (the default is the CPU count)", &l->max_cpus,
	     SERVE},
	    {"pids-limit", "CODERUNNER_PIDS_LIMIT", OPT_SIZE, "256",
	     "processes and threads a job may have at once", &l->pids, SERVE | RUN},
	    {"no-limits", "CODERUNNER_NO_LIMITS", OPT_FLAG, NULL,
	     "run even when cgroup limits cannot be enforced (jobs may then use all memory and "
	     "CPU of the host)",
	     &c->no_limits, SERVE | RUN},
	    {"json", NULL, OPT_FLAG, NULL, "print the findings as JSON", &c->json, DOCTOR},
	    {"timeout", NULL, OPT_SECONDS, "60", "seconds before the job is killed (exit 124)",
	     &l->default_timeout_s, RUN},
	    {"context", NULL, OPT_LIST, NULL,
	     "a file made available as /workspace/input/<its name>; repeatable", &c->context, RUN},
	};
	unsigned want = strcmp(command, "serve") == 0 ? SERVE
			: strcmp(command, "run") == 0 ? RUN
						      : DOCTOR;
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i].scope & want) {
			if (n < max)
				opts[n] = all[i];
			n++; /* counted past max, so a caller can tell options were cut */
		}
	}
	return n;
}

int config_check(struct config *c, struct error *err)
{
	struct limits *l = &c->limits;
	if (l->default_memory_bytes < ((size_t)MIN_MEMORY_MB << 20))
		return error_set(err, 0, "--memory-limit must be at least %d MiB", MIN_MEMORY_MB);
	if (l->default_cpus < MIN_CPUS)
		return error_set(err, 0, "--cpus must be at least %g", MIN_CPUS);
	if (l->pids < 8)
		return error_set(err, 0, "--pids-limit must be at least 8");
	if (l->max_memory_bytes < l->default_memory_bytes)
		l->max_memory_bytes = l->default_memory_bytes;
	if (l->max_cpus < l->default_cpus)
		l->max_cpus = l->default_cpus;
	if (c->warm_pool > 64)
		return error_set(err, 0, "--warm-pool must be at most 64");
	for (const char *p = c->warm_preload ? c->warm_preload : ""; *p; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ','))
			return error_set(err, 0,
					 "--warm-preload: \"%s\" is not a comma-separated list of "
					 "module names",
					 c->warm_preload);
	}
	if (!c->prepared_text || strcmp(c->prepared_text, "auto") == 0) {
		c->prepared = c->max_jobs < 64 ? c->max_jobs : 64;
	} else if (parse_size(c->prepared_text, &c->prepared) < 0 || c->prepared > 64) {
		return error_set(err, 0, "--prepared-sandboxes: \"%s\" is not auto or 0..64",
				 c->prepared_text);
	}
	/* each slot, each sandbox of the two pools, and each taken one has its
	 * own range */
	unsigned long ranges = (unsigned long)c->max_jobs;
	if (c->warm_pool)
		ranges += c->warm_pool + c->max_jobs;
	if (c->prepared)
		ranges += c->prepared + c->max_jobs;
	if (c->uid_base < 65536 || c->uid_base > 0xFFFFFFFFul ||
	    (0xFFFFFFFFul - c->uid_base) / 65536 < ranges)
		return error_set(err, 0,
				 "--uid-base %lu: the %lu uid ranges of 65536 it needs must fit "
				 "between 65536 and 2^32",
				 c->uid_base, ranges);
	return 0;
}

int config_from_args(struct config *c, const char *command, const char *usage, int argc,
		     char **argv, size_t min_pos, size_t max_pos, struct opt_list *pos)
{
	struct opt opts[CONFIG_MAX_OPTIONS];
	size_t n = config_options(c, command, opts, CONFIG_MAX_OPTIONS);
	if (n > CONFIG_MAX_OPTIONS) {
		fprintf(stderr, "coderunner %s: internal error: %zu options, room for %d\n",
			command, n, CONFIG_MAX_OPTIONS);
		return 2;
	}
	struct error err = {{0}};
	int rc = options_parse(opts, n, argc, argv, pos, &err);
	bool bad = rc < 0 || (rc == 0 && (pos->n < min_pos || pos->n > max_pos));
	if (rc == 0 && !bad)
		return -1;
	FILE *f = bad ? stderr : stdout;
	if (bad)
		fprintf(stderr, "coderunner %s: %s\n", command,
			rc < 0 ? err.msg : "wrong number of arguments");
	fprintf(f, "%s\nOptions:\n", usage);
	options_help(f, opts, n);
	return bad ? 2 : 0;
}
