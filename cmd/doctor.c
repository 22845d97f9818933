/* doctor.c - `coderunner doctor`: can this host run jobs safely, and if not,
 * what to change. Read-only: it creates no cgroup and moves no process. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../runtime/host.h"
#include "commands.h"

static const char doctor_usage[] =
    "usage: coderunner doctor [--rootfs DIR]\n\n"
    "Checks that this host can run sandboxed jobs with limits: kernel, user\n"
    "namespaces, cgroups (mode, controllers, where job cgroups go), rootfs.\n"
    "Exits 0 when everything needed works, 1 otherwise, with the fix.\n";

static const char *const controller_names[CG_COUNT] = {"memory", "cpu", "cpuacct", "pids"};

/* Forks a child into a new user namespace: the one kernel feature that
 * distributions and container runtimes most often switch off. */
static int userns_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) == 0 ? 0
											      : 1);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int cmd_doctor(int argc, char **argv)
{
	struct config cfg;
	struct opt_list pos;
	struct error err = {{0}};
	int rc = config_from_args(&cfg, "doctor", doctor_usage, argc, argv, 0, 0, &pos);
	if (rc >= 0)
		return rc;
	int bad = 0;
	struct utsname u;
	uname(&u);
	printf("kernel:           %s %s\n", u.sysname, u.release);
	int userns = userns_works();
	printf("user namespaces:  %s\n", userns ? "ok" : "NOT usable");
	if (!userns) {
		bad = 1;
		printf("  fix: run as root with user namespaces enabled (sysctl "
		       "user.max_user_namespaces > 0; kernel.unprivileged_userns_clone=1 on some "
		       "kernels); in Kubernetes use a privileged pod or CAP_SYS_ADMIN with an "
		       "Unconfined seccomp/AppArmor profile\n");
	}
	struct cgroup_setup cs;
	cgroup_setup_init(&cs, true, &err);
	char desc[128];
	cgroup_setup_describe(&cs, desc, sizeof(desc));
	printf("cgroups:          %s\n", cs.version == 0   ? "none found"
					 : cs.version == 2 ? "v2 (unified)"
					 : cs.hybrid ? "hybrid (v1 controllers, cgroup2 unused)"
						     : "v1");
	for (int c = 0; c < CG_COUNT; c++) {
		if (cs.version == 2 && c == CG_CPUACCT)
			continue;
		if (cs.have[c])
			printf("  %-8s usable; job cgroups in %s/%s/job-N\n", controller_names[c],
			       cs.mount[c], cs.instance[c]);
		else
			printf("  %-8s NOT usable\n", controller_names[c]);
	}
	if (!cs.have[CG_MEMORY]) {
		bad = 1;
		printf("limits:           memory limits CANNOT be enforced: %s\n",
		       cs.problem[0] ? cs.problem : "memory controller missing");
		printf(
		    "  fix: on cgroup v2 give coderunner a cgroup of its own with memory, cpu and "
		    "pids delegated (a container, or systemd-run -p Delegate=yes); `serve` "
		    "refuses to start otherwise unless --no-limits\n");
	} else {
		printf("limits:           memory%s%s enforced\n", cs.have[CG_CPU] ? ", cpu" : "",
		       cs.have[CG_PIDS] ? ", pids" : "");
	}
	if (host_check_rootfs(cfg.rootfs, &err) < 0) {
		bad = 1;
		printf("rootfs:           %s\n", err.msg);
	} else {
		printf("rootfs:           %s ok\n", cfg.rootfs);
	}
	printf("verdict:          %s\n", bad ? "NOT ready" : "ready");
	return bad;
}
