/* serve.c - `coderunner serve`: the HTTP server.
 * Owns: start-up order (mount namespace before any thread), the listening
 * announcement tests rely on, and shutdown on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../api/http_server.h"
#include "../runtime/host.h"
#include "../runtime/job_runner.h"
#include "commands.h"

static const char serve_usage[] =
    "usage: coderunner serve [OPTIONS]\n\n"
    "Serves POST /api/run, GET /api/health and GET /api/info. Needs root (or\n"
    "CAP_SYS_ADMIN) for namespaces and mounts. Every option can also be set\n"
    "from the environment variable shown.\n";

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
	if (config_check(&cfg, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		return 2;
	}

	/* Signals are taken by sigwait in this thread; every thread started
	 * later inherits the mask (the sandbox init resets it for jobs). */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct host host;
	if (host_setup(&host, cfg.rootfs, cfg.state_dir, &err) < 0) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		return 1;
	}
	struct cgroup_setup cgroups;
	const struct cgroup_setup *limits = NULL;
	if (enforce_limits(&cgroups, &cfg, "serve", &limits) < 0)
		return 1;
	struct job_runner runner;
	if (job_runner_init(&runner, &host, &cfg.limits, cfg.max_jobs, cfg.uid_base, limits) < 0) {
		fprintf(stderr, "coderunner serve: out of memory\n");
		return 1;
	}
	char *manifest = load_manifest(cfg.rootfs);
	struct http_config hc = {.listen = cfg.listen,
				 .threads = cfg.http_threads,
				 .io_timeout_s = cfg.io_timeout_s,
				 .manifest_json = manifest};
	char bound[128];
	struct http_server *srv = http_server_start(&hc, &runner, bound, sizeof(bound), &err);
	if (!srv) {
		fprintf(stderr, "coderunner serve: %s\n", err.msg);
		free(manifest);
		return 1;
	}
	char desc[128] = "none";
	if (limits)
		cgroup_setup_describe(limits, desc, sizeof(desc));
	printf("coderunner: listening on http://%s (rootfs %s, %u concurrent jobs, cgroups %s)\n",
	       bound, cfg.rootfs, cfg.max_jobs, desc);
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "coderunner: signal %d, stopping after running jobs finish\n", sig);
	http_server_stop(srv);
	job_runner_destroy(&runner);
	if (limits)
		cgroup_setup_cleanup(&cgroups);
	free(manifest);
	return 0;
}
