/* sandbox_init.c - see sandbox_init.h. */
#include "sandbox_init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "netlink.h"
#include "seccomp_filter.h"
#include "spawn.h"

/* runtime/warm_start.py, compiled in by the Makefile */
extern const char warm_start_py[];

#define STATUS_FD    3
#define CONTROL_FD   5 /* warm sandboxes only: see spawn.c */
#define SETUP_FAILED 125
#define MPL_SRC	     "/etc/coderunner/mplconfig"
#define MPL_DIR	     "/tmp/.matplotlib"
/* open files per process: plenty for data work, bounded for the host */
#define JOB_MAX_OPEN_FILES 4096

/* Reports a set-up failure to the server over the status pipe and exits;
 * the server turns it into an internal error (exit_code -1). */
static __attribute__((noreturn, format(printf, 2, 3))) void die(int errnum, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (errnum)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
	dprintf(STATUS_FD, "sandbox init: %s\n", msg);
	_exit(SETUP_FAILED);
}

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags,
			 const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		die(errno, "mount %s on %s", type ? type : (src ? src : "(remount)"), dst);
}

/* The server may have blocked or ignored signals in its threads; both
 * survive exec, so the job starts with a clean slate. */
static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	}
}

/* Bind-mounts one host device node onto an empty file in the new /dev:
 * mknod is refused in a user namespace. */
static void bind_device(const char *root, const char *name)
{
	char src[64], dst[PATH_MAX];
	snprintf(src, sizeof(src), "/dev/%s", name);
	snprintf(dst, sizeof(dst), "%s/dev/%s", root, name);
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		die(errno, "create %s", dst);
	close(fd);
	mount_or_die(src, dst, NULL, MS_BIND, NULL);
}

/* A minimal /dev: the few nodes Python needs, fd symlinks, tmpfs shm. */
static void build_dev(const char *root, const char *tmpfs_opts_1777)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/dev", root);
	mount_or_die("dev", path, "tmpfs", MS_NOSUID | MS_NOEXEC,
		     "mode=0755,size=64k,nr_inodes=64");
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		bind_device(root, nodes[i]);
	static const char *const links[][2] = {{"/proc/self/fd", "fd"},
					       {"/proc/self/fd/0", "stdin"},
					       {"/proc/self/fd/1", "stdout"},
					       {"/proc/self/fd/2", "stderr"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i][1]);
		if (symlink(links[i][0], path) < 0)
			die(errno, "symlink %s", path);
	}
	snprintf(path, sizeof(path), "%s/dev/shm", root);
	if (mkdir(path, 01777) < 0)
		die(errno, "mkdir %s", path);
	mount_or_die("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, tmpfs_opts_1777);
	snprintf(path, sizeof(path), "%s/dev", root);
	mount_or_die(NULL, path, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "mode=0755");
}

/* Hides the kernel interfaces in /proc that a job has no business with. */
static void mask_proc(void)
{
	static const char *const files[] = {
	    "/proc/kcore",	"/proc/keys",	       "/proc/timer_list",  "/proc/sysrq-trigger",
	    "/proc/kallsyms",	"/proc/latency_stats", "/proc/sched_debug", "/proc/kpagecount",
	    "/proc/kpageflags", "/proc/kpagecgroup",   "/proc/config.gz",   "/proc/vmallocinfo"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (access(files[i], F_OK) == 0)
			mount_or_die("/dev/null", files[i], NULL, MS_BIND, NULL);
	}
	static const char *const dirs[] = {"/proc/sys",	 "/proc/bus",  "/proc/irq",   "/proc/fs",
					   "/proc/acpi", "/proc/scsi", "/proc/driver"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (access(dirs[i], F_OK) != 0)
			continue;
		mount_or_die(dirs[i], dirs[i], NULL, MS_BIND | MS_REC, NULL);
		mount_or_die(NULL, dirs[i], NULL,
			     MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     NULL);
	}
}

/* Copies the prebuilt matplotlib font cache into the job's writable
 * MPLCONFIGDIR: an empty one costs ~70 ms of font scanning per job. */
static void seed_matplotlib_cache(void)
{
	if (mkdir(MPL_DIR, 0700) < 0)
		die(errno, "mkdir %s", MPL_DIR);
	if (chown(MPL_DIR, SANDBOX_JOB_ID, SANDBOX_JOB_ID) < 0)
		die(errno, "chown %s", MPL_DIR);
	DIR *d = opendir(MPL_SRC);
	if (!d)
		return; /* an older rootfs without the cache still works, just slower */
	struct dirent *e;
	char buf[65536];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int in = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			continue;
		char dst[PATH_MAX];
		snprintf(dst, sizeof(dst), "%s/%s", MPL_DIR, e->d_name);
		int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0)
			die(errno, "create %s", dst);
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				die(errno, "write %s", dst);
		if (fchown(out, SANDBOX_JOB_ID, SANDBOX_JOB_ID) < 0)
			die(errno, "chown %s", dst);
		close(in);
		close(out);
	}
	closedir(d);
}

/* Builds the job's filesystem under root, then pivots into it. */
static void build_root(const char *root, const char *workspace, const char *deps, bool host_network,
		       size_t tmpfs_bytes)
{
	char path[PATH_MAX], opts[96];
	snprintf(opts, sizeof(opts), "mode=1777,size=%zu,nr_inodes=100000", tmpfs_bytes);
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/* The copied rootfs mount is locked in this user namespace, and
	 * pivot_root refuses a locked new root; a bind of it onto itself is a
	 * mount of our own, still read-only (those flags stay locked). */
	mount_or_die(root, root, NULL, MS_BIND | MS_REC, NULL);
	build_dev(root, opts);
	snprintf(path, sizeof(path), "%s/tmp", root);
	mount_or_die("tmp", path, "tmpfs", MS_NOSUID | MS_NODEV, opts);
	snprintf(path, sizeof(path), "%s/proc", root);
	mount_or_die("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(path, sizeof(path), "%s/workspace", root);
	mount_or_die(workspace, path, NULL, MS_BIND | MS_REC, NULL);
	if (deps) { /* installed dependencies: read-only, first on sys.path */
		snprintf(path, sizeof(path), "%s/opt", root);
		mount_or_die(deps, path, NULL, MS_BIND | MS_REC, NULL);
		mount_or_die(NULL, path, NULL,
			     MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
	}
	if (host_network && access("/etc/resolv.conf", R_OK) == 0) {
		/* pip resolves the index's name as the host does */
		snprintf(path, sizeof(path), "%s/etc/resolv.conf", root);
		if (access(path, F_OK) == 0)
			mount_or_die("/etc/resolv.conf", path, NULL, MS_BIND, NULL);
	}
	if (chdir(root) < 0)
		die(errno, "chdir %s", root);
	/* pivot_root(".", ".") stacks the old root on top of the new one;
	 * detaching it leaves only the job's tree. chroot would leave the host
	 * root reachable and breaks nested user namespaces. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die(errno, "pivot_root %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		die(errno, "detach the old root");
	if (chdir("/workspace") < 0)
		die(errno, "chdir /workspace");
	mask_proc();
}

/* Everything the job may rely on, and nothing from the server's environment. */
static void build_env(char **env, size_t n, const char *cpus, bool deps)
{
	static char threads[4][48];
	snprintf(threads[0], sizeof(threads[0]), "OMP_NUM_THREADS=%s", cpus);
	snprintf(threads[1], sizeof(threads[1]), "OPENBLAS_NUM_THREADS=%s", cpus);
	snprintf(threads[2], sizeof(threads[2]), "MKL_NUM_THREADS=%s", cpus);
	snprintf(threads[3], sizeof(threads[3]), "NUMEXPR_NUM_THREADS=%s", cpus);
	char *const fixed[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
			       "HOME=/tmp",
			       "TMPDIR=/tmp",
			       "LANG=C.UTF-8",
			       "MPLBACKEND=Agg",
			       "MPLCONFIGDIR=" MPL_DIR,
			       "PYTHONUNBUFFERED=1",
			       "PYTHONDONTWRITEBYTECODE=1",
			       deps ? "PYTHONPATH=/opt:/workspace" : "PYTHONPATH=/workspace",
			       threads[0],
			       threads[1],
			       threads[2],
			       threads[3],
			       NULL};
	size_t i = 0;
	for (; fixed[i] && i + 1 < n; i++)
		env[i] = fixed[i];
	env[i] = NULL;
}

/* Clears every capability set the setuid transition leaves behind
 * (inheritable survives it). */
static void clear_capabilities(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		die(errno, "clear capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die(errno, "clear ambient capabilities");
}

/* Per-process limits: no core files, bounded open files, and no single file
 * larger than the job's tmpfs could hold anyway. */
static void set_rlimits(size_t max_file)
{
	struct rlimit no_core = {0, 0}, files = {JOB_MAX_OPEN_FILES, JOB_MAX_OPEN_FILES},
		      fsize = {max_file, max_file};
	if (setrlimit(RLIMIT_CORE, &no_core) < 0 || setrlimit(RLIMIT_NOFILE, &files) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		die(errno, "set resource limits");
}

/* In the forked child: give up every privilege, then become Python (argv:
 * the job's entry point, `pip install`, or the warm-start loader). */
static __attribute__((noreturn)) void exec_job(char **argv, char **env, size_t max_file,
					       const struct seccomp_program *filter)
{
	set_rlimits(max_file);
	setsid();
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (setgroups(0, NULL) < 0 ||
	    setresgid(SANDBOX_JOB_ID, SANDBOX_JOB_ID, SANDBOX_JOB_ID) < 0 ||
	    setresuid(SANDBOX_JOB_ID, SANDBOX_JOB_ID, SANDBOX_JOB_ID) < 0)
		die(errno, "drop to uid %u", SANDBOX_JOB_ID);
	clear_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "set no_new_privs");
	struct error err;
	if (seccomp_filter_load(filter, &err) < 0)
		die(0, "%s", err.msg);
	execve("/usr/bin/python3", argv, env);
	die(errno, "exec /usr/bin/python3 (%s)", argv[1]);
}

/* A prepared sandbox (see warm_pool.h): says "ready" on the control socket
 * and waits for the job's entry point and thread count. Returns false when
 * the server retired the sandbox instead. */
static bool wait_for_job(char *entry, size_t entry_len, char *threads, size_t threads_len)
{
	if (write(CONTROL_FD, "ready", 5) != 5)
		die(errno, "report ready on the control socket");
	char msg[PATH_MAX + 32];
	ssize_t n = read(CONTROL_FD, msg, sizeof(msg) - 1);
	if (n <= 0)
		return false;
	msg[n] = '\0';
	size_t elen = strlen(msg);
	if (elen == 0 || elen >= entry_len || (size_t)n <= elen + 1 ||
	    (size_t)n - elen - 1 >= threads_len)
		die(0, "malformed job hand-over (%zd bytes)", n);
	memcpy(entry, msg, elen + 1);
	memcpy(threads, msg + elen + 1, (size_t)n - elen);
	return true;
}

/* Waits for the job's main process, reaping adopted orphans on the way.
 * When it ends, init exits too, and the kernel kills the rest of the pid
 * namespace: background children never outlive the job. With report, the
 * status goes to the server first, so the answer does not wait for the
 * namespaces to be torn down. */
static __attribute__((noreturn)) void reap_until(pid_t main_pid, bool report)
{
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "waitpid");
		}
		if (w != main_pid)
			continue;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (report)
			dprintf(CONTROL_FD, "exit %d", code);
		_exit(code);
	}
}

int sandbox_init_main(int argc, char **argv)
{
	if (argc < 9) {
		dprintf(STATUS_FD, "sandbox init: expected at least 7 arguments, got %d\n",
			argc - 2);
		return SETUP_FAILED;
	}
	const char *root = argv[2], *workspace = argv[3], *entry = argv[4], *cpus = argv[6];
	const char *deps = strcmp(argv[7], "-") == 0 ? NULL : argv[7];
	bool pip = strcmp(argv[8], "pip") == 0, warm = strcmp(argv[8], "warm") == 0;
	bool prepared = strcmp(argv[8], "prepared") == 0;
	if (warm && argc != 10) {
		dprintf(STATUS_FD, "sandbox init: warm mode takes a preload list\n");
		return SETUP_FAILED;
	}
	size_t tmpfs_bytes = strtoull(argv[5], NULL, 10);
	if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0)
		return SETUP_FAILED;
	reset_signals();
	build_root(root, workspace, deps, pip, tmpfs_bytes);
	if (sethostname("sandbox", 7) < 0)
		die(errno, "sethostname");
	struct error err;
	/* pip shares the host's network; a namespace made ahead has lo up */
	if (!pip && !netlink_loopback_is_up() && netlink_loopback_up(&err) < 0)
		die(0, "%s", err.msg);
	seed_matplotlib_cache();
	struct seccomp_program filter; /* compiled now: a prepared job need not wait for it */
	if (seccomp_filter_prepare(&filter, &err) < 0)
		die(0, "%s", err.msg);
	static char prepared_entry[PATH_MAX], prepared_threads[16];
	if (prepared) {
		if (!wait_for_job(prepared_entry, sizeof(prepared_entry), prepared_threads,
				  sizeof(prepared_threads)))
			_exit(0);
		entry = prepared_entry;
		cpus = prepared_threads;
		if (fcntl(CONTROL_FD, F_SETFD, FD_CLOEXEC) < 0) /* init's alone */
			die(errno, "keep the control socket from the job");
	}
	char *env[32];
	build_env(env, sizeof(env) / sizeof(env[0]), cpus, deps != NULL);
	char *job_argv[] = {"python3", (char *)entry, NULL};
	char *warm_argv[] = {"python3", "-c", (char *)warm_start_py, argv[9], NULL};
	char **python_argv = job_argv;
	if (pip) { /* argv[5..8] are spent: they make room for "python3 -m pip install" */
		python_argv = argv + 5;
		python_argv[0] = "python3";
		python_argv[1] = "-m";
		python_argv[2] = "pip";
		python_argv[3] = "install";
	} else if (warm) {
		python_argv = warm_argv;
	}
	pid_t pid = fork();
	if (pid < 0)
		die(errno, "fork the job");
	if (pid == 0)
		exec_job(python_argv, env, tmpfs_bytes, &filter);
	/* Only the job holds its output pipes and control socket, so the server
	 * sees them close when the job does, not when init has reaped it. */
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	if (warm)
		close(CONTROL_FD);
	reap_until(pid, prepared);
}
