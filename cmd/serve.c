/* serve.c - `coderunner serve`: the HTTP server.
 * Owns: start-up order (mount namespace and cgroups before any thread), the
 * self-test that gates readiness, the listening announcement tests rely on,
 * and signals: SIGTERM/SIGINT drain and stop, SIGHUP reopens logs and
 * reloads API keys. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/audit.h"
#include "../api/auth.h"
#include "../api/http_server.h"
#include "../runtime/deps.h"
#include "../runtime/host.h"
#include "../runtime/job_runner.h"
#include "commands.h"

static const char serve_usage[] =
    "usage: coderunner serve [OPTIONS]\n\n"
    "Serves POST /api/run, the MCP endpoint /mcp, GET /api/info, /api/openapi.json,\n"
    "probes (/healthz, /readyz, /api/health) and GET /metrics. Needs root (or\n"
    "CAP_SYS_ADMIN) for namespaces and mounts.\n"
    "SIGTERM or SIGINT: stop taking jobs, let running ones finish (up to\n"
    "--shutdown-grace), then exit 0. SIGHUP: reopen the log file, reload API keys and\n"
    "replace the warm sandboxes (after a rootfs rebuild, restart instead).\n"
    "Every option can also be set from the environment variable shown.\n";

/* Loopback addresses may serve without API keys; anything else needs keys
 * or an explicit --allow-unauthenticated. */
static bool listen_is_loopback(const char *listen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (strcmp(host, "localhost") == 0)
		return true;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* One tiny job through the whole sandbox: readiness means jobs really run. */
static void self_test(struct job_runner *runner, struct http_server *srv)
{
	char code[] = "print('self-test ok')";
	struct job_file f = {.path = "main.py", .data = (unsigned char *)code, .len = strlen(code)};
	struct job_spec spec = {.files = &f,
				.nfiles = 1,
				.entry_point = "main.py",
				.timeout_s = 60,
				.memory_bytes = runner->limits->default_memory_bytes,
				.cpus = runner->limits->default_cpus};
	struct job_result res;
	job_run(runner, &spec, &res);
	char reason[256] = "";
	if (res.exit_code != 0 || !res.out.data || strcmp(res.out.data, "self-test ok\n") != 0)
		snprintf(reason, sizeof(reason), "sandbox self-test failed (exit %d): %.180s",
			 res.exit_code,
			 res.exit_code == -1 ? res.error : (res.err.data ? res.err.data : ""));
	else if (!runner->cgroups)
		snprintf(reason, sizeof(reason),
			 "cgroup limits are not enforced (--no-limits); see coderunner doctor");
	job_result_free(&res);
	http_server_set_unready(srv, reason[0] ? reason : NULL);
	if (reason[0])
		log_msg(LOG_ERROR, "not ready: %s", reason);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Drains: refuse new jobs, let running ones finish within the grace period
 * (a second signal ends it early), then kill what is left. False when some
 * job would not end even then. */
static bool drain(struct http_server *srv, struct job_runner *runner, double grace_s,
		  const sigset_t *sigs)
{
	http_server_drain(srv);
	double deadline = now_s() + grace_s;
	bool killed = false;
	for (;;) {
		unsigned running, waiting;
		admission_counts(&runner->admission, &running, &waiting);
		if (running == 0 && waiting == 0)
			return true;
		if (!killed && now_s() >= deadline) {
			log_msg(LOG_WARN, "grace period over: killing %u running jobs", running);
			job_runner_kill_all(runner);
			killed = true;
			deadline = now_s() + 10;
		} else if (killed && now_s() >= deadline) {
			log_msg(LOG_ERROR, "%u jobs did not end after being killed", running);
			return false;
		}
		struct timespec tick = {0, 100000000};
		int sig = sigtimedwait(sigs, NULL, &tick);
		if ((sig == SIGTERM || sig == SIGINT) && !killed) {
			log_msg(LOG_WARN, "second signal: killing %u running jobs now", running);
			deadline = now_s();
		}
	}
}

int cmd_serve(int argc, char **argv)
{
	struct config cfg;
	struct opt_list pos;
	struct error err = {{0}};
	int rc = config_from_args(&cfg, "serve", serve_usage, argc, argv, 0, 0, &pos);
	if (rc >= 0)
		return rc;
	if (cfg.limits.default_timeout_s > cfg.limits.max_timeout_s)
		cfg.limits.default_timeout_s = cfg.limits.max_timeout_s;
	if (config_check(&cfg, &err) < 0 || audit_init(cfg.log_level, cfg.log_file, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		return 2;
	}
	struct auth auth;
	if (auth_init(&auth, cfg.api_keys_file, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		return 2;
	}
	if (!auth_enabled(&auth) && !cfg.allow_unauthenticated && !listen_is_loopback(cfg.listen)) {
		fprintf(stderr,
			"coderunner serve: refusing to listen on %s without API keys: give "
			"--api-keys-file, listen on loopback, or pass --allow-unauthenticated\n",
			cfg.listen);
		return 2;
	}

	/* Signals are taken synchronously in this thread; every thread started
	 * later inherits the mask (the sandbox init resets it for jobs). */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct host host;
	if (host_setup(&host, cfg.rootfs, cfg.state_dir, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		if (getenv("CONTAINER_APP_NAME"))
			fprintf(stderr,
				"coderunner serve: this is Azure Container Apps, which allows no "
				"privileged containers or user namespaces: jobs cannot be "
				"sandboxed here, so CodeRunner will not run. Deploy to AKS "
				"(infra/ with target=aks, then k8s/).\n");
		return 1;
	}
	struct cgroup_setup cgroups;
	const struct cgroup_setup *limits = NULL;
	if (enforce_limits(&cgroups, &cfg, "serve", &limits) < 0)
		return 1;
	struct admission_policy policy = {
	    .max_jobs = cfg.max_jobs,
	    .max_waiting = (unsigned)cfg.max_queue,
	    .max_wait_s = cfg.max_queue_wait_s,
	    .tenant_limit = cfg.tenant_max_jobs ? (unsigned)cfg.tenant_max_jobs : cfg.max_jobs};
	if (!auth_enabled(&auth))
		policy.tenant_limit = 0;
	struct job_runner runner;
	if (job_runner_init(&runner, &host, &cfg.limits, &policy, cfg.uid_base, limits) < 0) {
		fprintf(stderr, "coderunner serve: out of memory\n");
		return 1;
	}
	struct warm_config warm = {.size = (unsigned)cfg.warm_pool,
				   .preload = cfg.warm_preload ? cfg.warm_preload : "",
				   .max_age_s = cfg.warm_max_age_s};
	if (job_runner_start_pools(&runner, &warm, (unsigned)cfg.prepared, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		return 1;
	}
	char *manifest = load_manifest(cfg.rootfs);
	struct deps deps;
	bool deps_on = cfg.deps_cache_dir && *cfg.deps_cache_dir;
	if (deps_on) {
		cJSON *m = manifest ? cJSON_Parse(manifest) : NULL;
		struct deps_config dc = {.cache_dir = cfg.deps_cache_dir,
					 .cache_max_bytes = cfg.deps_cache_bytes,
					 .index_url = cfg.pip_index_url,
					 .extra_index_url = cfg.pip_extra_index_url,
					 .trusted_host = cfg.pip_trusted_host,
					 .install_timeout_s = cfg.deps_install_timeout_s};
		int drc = deps_init(&deps, &dc, &host,
				    cJSON_GetStringValue(cJSON_GetObjectItem(m, "python")), &err);
		cJSON_Delete(m);
		if (drc < 0) {
			fprintf(stderr, "coderunner serve: %s\n", err.msg);
			return 1;
		}
	}
	const char *origins[33] = {0};
	char *origin_list = cfg.mcp_allowed_origins ? strdup(cfg.mcp_allowed_origins) : NULL;
	size_t norigins = 0;
	for (char *save = NULL, *o = origin_list ? strtok_r(origin_list, ",", &save) : NULL;
	     o && norigins < 32; o = strtok_r(NULL, ",", &save))
		origins[norigins++] = o;
	struct http_config hc = {.listen = cfg.listen,
				 .threads = cfg.http_threads,
				 .io_timeout_s = cfg.io_timeout_s,
				 .manifest_json = manifest,
				 .auth = &auth,
				 .retry_after_s = cfg.retry_after_s,
				 .allowed_origins = origins,
				 .deps = deps_on ? &deps : NULL};
	char bound[128];
	struct http_server *srv = http_server_start(&hc, &runner, bound, sizeof(bound), &err);
	if (!srv) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		free(manifest);
		return 1;
	}
	http_server_set_unready(srv, "sandbox self-test pending");
	self_test(&runner, srv);
	char desc[128] = "none";
	if (limits)
		cgroup_setup_describe(limits, desc, sizeof(desc));
	printf("coderunner: listening on http://%s (rootfs %s, %u concurrent jobs, cgroups %s, "
	       "auth %s, warm pool %zu, prepared sandboxes %zu)\n",
	       bound, cfg.rootfs, cfg.max_jobs, desc, auth_enabled(&auth) ? "api keys" : "off",
	       cfg.warm_pool, cfg.prepared);
	fflush(stdout);
	for (;;) {
		int sig = 0;
		sigwait(&sigs, &sig);
		if (sig == SIGHUP) {
			if (audit_reopen(&err) < 0 || auth_reload(&auth, &err) < 0)
				log_msg(LOG_ERROR, "SIGHUP: %s (keeping the previous settings)",
					err.msg);
			else
				log_msg(LOG_INFO, "SIGHUP: log reopened, API keys reloaded, warm "
						  "sandboxes replaced");
			warm_pool_recycle(&runner.warm);
			warm_pool_recycle(&runner.prepared);
			continue;
		}
		log_msg(LOG_INFO, "signal %d: draining (up to %g s for running jobs)", sig,
			cfg.shutdown_grace_s);
		break;
	}
	if (!drain(srv, &runner, cfg.shutdown_grace_s, &sigs)) {
		/* their threads still use the runner: exit without freeing it (the
		 * kernel drops our mounts; the next start removes our cgroups) */
		log_msg(LOG_ERROR, "exiting with jobs still running");
		return 1;
	}
	http_server_stop(srv);
	job_runner_destroy(&runner);
	if (limits)
		cgroup_setup_cleanup(&cgroups);
	auth_destroy(&auth);
	if (deps_on)
		deps_destroy(&deps);
	free(manifest);
	free(origin_list);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
