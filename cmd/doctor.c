/* doctor.c - `coderunner doctor`: can this host run jobs safely, and if not,
 * what to change. Read-only: it creates no cgroup and moves no process. */
#include <cjson/cJSON.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../runtime/host.h"
#include "commands.h"

static const char doctor_usage[] =
    "usage: coderunner doctor [--json] [--rootfs DIR]\n\n"
    "Checks that this host can run sandboxed jobs with limits: kernel, user\n"
    "namespaces, cgroups (mode, controllers, where job cgroups go), seccomp, the\n"
    "rootfs and its manifest, free disk. Exits 0 when everything needed works,\n"
    "1 otherwise, with the fix for each problem.\n";

static const char *const controller_names[CG_COUNT] = {"memory", "cpu", "cpuacct", "pids"};

/* Forks a child into new user, mount, pid and net namespaces: what container
 * runtimes and managed platforms most often forbid. */
static bool userns_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) == 0 ? 0
											      : 1);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Seccomp filters can be installed (tried in a child, so this process keeps
 * none). */
static bool seccomp_works(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(1);
		_exit(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 ? 0 : 1);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 && access("/proc/self/status", R_OK) == 0;
}

/* Adds a problem with its fix. */
static void problem(cJSON *list, const char *what, const char *fix)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "problem", what);
	cJSON_AddStringToObject(p, "fix", fix);
	cJSON_AddItemToArray(list, p);
}

/* Gathers every check into one JSON document (printed as is for --json). */
static cJSON *diagnose(const struct config *cfg)
{
	cJSON *d = cJSON_CreateObject(), *problems = cJSON_CreateArray();
	struct utsname u;
	uname(&u);
	char kernel[sizeof(u.sysname) + sizeof(u.release) + 2];
	snprintf(kernel, sizeof(kernel), "%s %s", u.sysname, u.release);
	cJSON_AddStringToObject(d, "kernel", kernel);
	bool aca = getenv("CONTAINER_APP_NAME") != NULL;
	if (aca)
		cJSON_AddStringToObject(d, "platform", "Azure Container Apps");

	bool userns = userns_works();
	cJSON_AddBoolToObject(d, "user_namespaces", userns);
	if (!userns)
		problem(
		    problems, "cannot create user, mount, pid and network namespaces",
		    aca ? "Azure Container Apps runs no privileged containers and allows no "
			  "user namespaces: run CodeRunner on AKS (k8s/) instead"
			: "run as root with user namespaces enabled (sysctl "
			  "user.max_user_namespaces > 0); in Kubernetes use the k8s/ overlays "
			  "(user-namespaced pod with SYS_ADMIN and Unconfined seccomp/AppArmor, "
			  "or a privileged pod)");

	struct cgroup_setup cs;
	struct error err = {{0}};
	cgroup_setup_init(&cs, true, &err);
	cJSON *cg = cJSON_AddObjectToObject(d, "cgroups");
	cJSON_AddStringToObject(cg, "mode",
				cs.version == 0	  ? "none"
				: cs.version == 2 ? "v2"
				: cs.hybrid	  ? "hybrid"
						  : "v1");
	cJSON *ctl = cJSON_AddObjectToObject(cg, "controllers");
	for (int c = 0; c < CG_COUNT; c++) {
		if (cs.version == 2 && c == CG_CPUACCT)
			continue;
		cJSON *one = cJSON_AddObjectToObject(ctl, controller_names[c]);
		cJSON_AddBoolToObject(one, "usable", cs.have[c]);
		if (cs.have[c]) {
			char where[2 * PATH_MAX + 16];
			snprintf(where, sizeof(where), "%s/%s/job-N", cs.mount[c], cs.instance[c]);
			cJSON_AddStringToObject(one, "job_cgroups", where);
		}
	}
	if (!cs.have[CG_MEMORY])
		problem(
		    problems, cs.problem[0] ? cs.problem : "the memory controller is not available",
		    "on cgroup v2 give coderunner a cgroup of its own with memory, cpu and pids "
		    "delegated (a container, or systemd-run -p Delegate=yes); `serve` refuses to "
		    "start otherwise unless --no-limits");

	bool seccomp = seccomp_works();
	cJSON_AddBoolToObject(d, "seccomp", seccomp);
	if (!seccomp)
		problem(
		    problems, "seccomp filters cannot be installed",
		    "use a kernel with CONFIG_SECCOMP_FILTER (every distribution kernel has it)");

	cJSON *rootfs = cJSON_AddObjectToObject(d, "rootfs");
	cJSON_AddStringToObject(rootfs, "path", cfg->rootfs);
	bool rootfs_ok = host_check_rootfs(cfg->rootfs, &err) == 0;
	cJSON_AddBoolToObject(rootfs, "ok", rootfs_ok);
	if (!rootfs_ok)
		problem(problems, err.msg, "build it with `make rootfs` or point --rootfs at one");
	char *manifest = load_manifest(cfg->rootfs);
	cJSON *m = manifest ? cJSON_Parse(manifest) : NULL;
	free(manifest);
	if (m) {
		cJSON *py = cJSON_GetObjectItem(m, "python");
		if (cJSON_IsString(py))
			cJSON_AddStringToObject(rootfs, "python", py->valuestring);
		cJSON_AddNumberToObject(rootfs, "packages",
					cJSON_GetArraySize(cJSON_GetObjectItem(m, "packages")));
		cJSON_Delete(m);
	}
	struct statvfs sv;
	if (statvfs(cfg->rootfs, &sv) == 0 || statvfs(".", &sv) == 0) {
		cJSON *disk = cJSON_AddObjectToObject(d, "disk");
		cJSON_AddStringToObject(disk, "path", cfg->rootfs);
		cJSON_AddNumberToObject(disk, "free_bytes",
					(double)sv.f_bavail * (double)sv.f_frsize);
	}
	cJSON_AddBoolToObject(d, "ready", cJSON_GetArraySize(problems) == 0);
	cJSON_AddItemToObject(d, "problems", problems);
	return d;
}

/* The same facts for a person. */
static void print_text(const cJSON *d)
{
	printf("kernel:           %s\n", cJSON_GetObjectItem(d, "kernel")->valuestring);
	printf("user namespaces:  %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(d, "user_namespaces")) ? "ok" : "NOT usable");
	const cJSON *cg = cJSON_GetObjectItem(d, "cgroups");
	printf("cgroups:          %s\n", cJSON_GetObjectItem(cg, "mode")->valuestring);
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(cg, "controllers"))
	{
		const cJSON *where = cJSON_GetObjectItem(c, "job_cgroups");
		if (where)
			printf("  %-8s usable; job cgroups in %s\n", c->string, where->valuestring);
		else
			printf("  %-8s NOT usable\n", c->string);
	}
	printf("seccomp:          %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(d, "seccomp")) ? "ok" : "NOT usable");
	const cJSON *r = cJSON_GetObjectItem(d, "rootfs");
	const cJSON *py = cJSON_GetObjectItem(r, "python");
	printf("rootfs:           %s %s%s%s\n", cJSON_GetObjectItem(r, "path")->valuestring,
	       cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")) ? "ok" : "MISSING", py ? ", Python " : "",
	       py ? py->valuestring : "");
	const cJSON *disk = cJSON_GetObjectItem(d, "disk");
	if (disk)
		printf("disk free:        %.1f GiB\n",
		       cJSON_GetObjectItem(disk, "free_bytes")->valuedouble / (1 << 30));
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(d, "problems"))
	{
		printf("problem:          %s\n  fix: %s\n",
		       cJSON_GetObjectItem(p, "problem")->valuestring,
		       cJSON_GetObjectItem(p, "fix")->valuestring);
	}
	printf("verdict:          %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(d, "ready")) ? "ready" : "NOT ready");
}

int cmd_doctor(int argc, char **argv)
{
	struct config cfg;
	struct opt_list pos;
	int rc = config_from_args(&cfg, "doctor", doctor_usage, argc, argv, 0, 0, &pos);
	if (rc >= 0)
		return rc;
	cJSON *d = diagnose(&cfg);
	if (cfg.json) {
		char *text = cJSON_Print(d);
		printf("%s\n", text);
		free(text);
	} else {
		print_text(d);
	}
	int ready = cJSON_IsTrue(cJSON_GetObjectItem(d, "ready"));
	cJSON_Delete(d);
	return ready ? 0 : 1;
}
