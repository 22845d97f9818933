/* spawn.c - see spawn.h. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* fd numbers the init finds its channels on (see sandbox_init.c). */
#define CHILD_STATUS_FD 3
#define CHILD_EXE_FD	4
#define CHILD_CTRL_FD	5 /* warm sandboxes: the server's control socket */
/* child-side fds are moved above this so dup2 to 0..4 never clobbers one */
#define HIGH_FD 16

static int write_file_str(const char *path, const char *text, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, errno, "open %s", path);
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	if (n != (ssize_t)strlen(text))
		return error_set(err, n < 0 ? saved : EIO, "write %s", path);
	return 0;
}

/* Maps sandbox ids 0..65535 to the job's own unprivileged host range: in-
 * sandbox root is never host root. */
static int write_id_maps(pid_t pid, unsigned long base, struct error *err)
{
	char path[64], map[64];
	snprintf(map, sizeof(map), "0 %lu %u\n", base, SANDBOX_ID_RANGE);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	if (write_file_str(path, map, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	return write_file_str(path, map, err);
}

/* Dups fd above HIGH_FD (close-on-exec) and closes the original. */
static int move_high(int *fd)
{
	int n = fcntl(*fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (n < 0)
		return -1;
	close(*fd);
	*fd = n;
	return 0;
}

/* Runs in the cloned child, in the new namespaces. Raw syscalls only. */
static __attribute__((noreturn)) void child_exec(int sync_rd, int devnull, int out_wr, int err_wr,
						 int status_wr, int exe_fd, int ctrl_fd,
						 char *const argv[])
{
	static const char fail_sync[] = "sandbox: parent did not finish the uid map\n";
	static const char fail_ids[] = "sandbox: cannot become root of the user namespace\n";
	static const char fail_exec[] = "sandbox: cannot exec the sandbox init\n";
	char c;
	if (syscall(SYS_read, sync_rd, &c, 1) != 1) {
		syscall(SYS_write, status_wr, fail_sync, sizeof(fail_sync) - 1);
		syscall(SYS_exit_group, 125);
	}
	/* Become uid/gid 0 of the new namespace before exec so the init keeps
	 * its capabilities there; raw syscalls skip glibc's all-thread setxid. */
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 ||
	    syscall(SYS_setresuid, 0, 0, 0) < 0) {
		syscall(SYS_write, status_wr, fail_ids, sizeof(fail_ids) - 1);
		syscall(SYS_exit_group, 125);
	}
	/* After the id change (which clears it): die with the server. */
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	syscall(SYS_dup2, devnull, 0);
	syscall(SYS_dup2, out_wr, 1);
	syscall(SYS_dup2, err_wr, 2);
	syscall(SYS_dup2, status_wr, CHILD_STATUS_FD);
	syscall(SYS_dup3, exe_fd, CHILD_EXE_FD, O_CLOEXEC);
	if (ctrl_fd >= 0) /* kept across exec, down to the job's Python */
		syscall(SYS_dup2, ctrl_fd, CHILD_CTRL_FD);
	syscall(SYS_close_range, ctrl_fd >= 0 ? CHILD_CTRL_FD + 1 : CHILD_EXE_FD + 1, ~0U, 0);
	static char *const envp[] = {NULL};
	syscall(SYS_execveat, CHILD_EXE_FD, "", argv, envp, AT_EMPTY_PATH);
	syscall(SYS_write, CHILD_STATUS_FD, fail_exec, sizeof(fail_exec) - 1);
	syscall(SYS_exit_group, 125);
	__builtin_unreachable();
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sandbox_proc_close(struct sandbox_proc *proc)
{
	close_fd(&proc->pidfd);
	close_fd(&proc->out_fd);
	close_fd(&proc->err_fd);
	close_fd(&proc->status_fd);
}

int sandbox_spawn(const struct host *h, const struct sandbox_params *p, struct sandbox_proc *proc,
		  struct error *err)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1}, status[2] = {-1, -1}, sync[2] = {-1, -1};
	*proc = (struct sandbox_proc){
	    .pid = -1, .pidfd = -1, .out_fd = -1, .err_fd = -1, .status_fd = -1};
	char tmpfs_arg[32], cpus_arg[16];
	snprintf(tmpfs_arg, sizeof(tmpfs_arg), "%zu", p->tmpfs_bytes);
	snprintf(cpus_arg, sizeof(cpus_arg), "%u", p->cpus);
	/* built before clone: the child may not allocate */
	size_t npip = 0;
	while (p->pip_args && p->pip_args[npip])
		npip++;
	char **argv = calloc(11 + npip, sizeof(*argv));
	if (!argv)
		return error_set(err, ENOMEM, "sandbox arguments");
	size_t a = 0;
	argv[a++] = "coderunner-init";
	argv[a++] = "__sandbox-init";
	argv[a++] = (char *)h->rootfs_mnt;
	argv[a++] = (char *)p->workspace;
	argv[a++] = (char *)(p->entry_point ? p->entry_point : "-");
	argv[a++] = tmpfs_arg;
	argv[a++] = cpus_arg;
	argv[a++] = (char *)(p->deps_dir ? p->deps_dir : "-");
	argv[a++] = p->pip_args	      ? "pip"
		    : p->warm_preload ? "warm"
		    : p->prepared     ? "prepared"
				      : "job";
	if (p->warm_preload)
		argv[a++] = (char *)p->warm_preload;
	for (size_t i = 0; i < npip; i++)
		argv[a++] = p->pip_args[i];
	argv[a] = NULL;
	int rc = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    pipe2(status, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0) {
		error_set(err, errno, "create job pipes");
		goto out;
	}
	if (move_high(&out[1]) < 0 || move_high(&errp[1]) < 0 || move_high(&status[1]) < 0 ||
	    move_high(&sync[0]) < 0) {
		error_set(err, errno, "move job pipe fds");
		goto out;
	}
	int devnull = fcntl(h->devnull_fd, F_DUPFD_CLOEXEC, HIGH_FD);
	int exe = fcntl(h->exe_fd, F_DUPFD_CLOEXEC, HIGH_FD);
	int ctrl = p->control_fd >= 0 ? fcntl(p->control_fd, F_DUPFD_CLOEXEC, HIGH_FD) : -1;
	if (devnull < 0 || exe < 0 || (p->control_fd >= 0 && ctrl < 0)) {
		error_set(err, errno, "dup sandbox fds");
		close_fd(&devnull);
		close_fd(&exe);
		close_fd(&ctrl);
		goto out;
	}
	int pidfd = -1;
	struct clone_args ca = {
	    .flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		     CLONE_NEWCGROUP | CLONE_PIDFD | (p->share_network ? 0 : CLONE_NEWNET),
	    .pidfd = (unsigned long)&pidfd,
	    .exit_signal = SIGCHLD,
	};
	/* On cgroup v2 the child is born inside its cgroup; elsewhere it is
	 * attached below, before it is released to run anything. */
	bool attach = p->cgroup != NULL;
	if (p->cgroup && p->cgroup->dir_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (unsigned long)p->cgroup->dir_fd;
		attach = false;
	}
	/* A namespace made ahead of time: the child is cloned from this thread
	 * while the thread is in it, and the thread goes back right after. */
	bool in_netns = false;
	if (p->netns_fd >= 0 && !p->share_network) {
		if (setns(p->netns_fd, CLONE_NEWNET) < 0) {
			error_set(err, errno, "enter the job's network namespace");
			close_fd(&devnull);
			close_fd(&exe);
			close_fd(&ctrl);
			goto out;
		}
		in_netns = true;
		ca.flags &= ~(unsigned long long)CLONE_NEWNET;
	}
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && (ca.flags & CLONE_INTO_CGROUP) && (errno == EINVAL || errno == E2BIG)) {
		ca.flags &= ~(unsigned long long)CLONE_INTO_CGROUP; /* kernel before 5.7 */
		ca.cgroup = 0;
		attach = true;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	}
	if (pid == 0) {
		close(sync[1]);
		child_exec(sync[0], devnull, out[1], errp[1], status[1], exe, ctrl, argv);
	}
	int clone_errno = errno;
	if (in_netns && setns(h->netns_fd, CLONE_NEWNET) < 0) /* only out of memory */
		fprintf(stderr, "coderunner: return to the server's network namespace: %s\n",
			strerror(errno));
	close_fd(&devnull);
	close_fd(&exe);
	close_fd(&ctrl);
	if (pid < 0) {
		error_set(err, clone_errno, "clone3 into new namespaces");
		goto out;
	}
	proc->pid = (pid_t)pid;
	proc->pidfd = pidfd;
	close_fd(&sync[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	close_fd(&status[1]);
	if (write_id_maps(proc->pid, p->host_id_base, err) < 0 ||
	    (attach && job_cgroup_attach(p->cgroup, proc->pid, err) < 0)) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitpid(proc->pid, NULL, 0);
		proc->pid = -1;
		goto out;
	}
	if (write(sync[1], "g", 1) != 1) {
		error_set(err, errno, "release sandbox init");
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitpid(proc->pid, NULL, 0);
		proc->pid = -1;
		goto out;
	}
	proc->out_fd = out[0];
	proc->err_fd = errp[0];
	proc->status_fd = status[0];
	out[0] = errp[0] = status[0] = -1;
	rc = 0;
out:
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&status[0]);
	close_fd(&status[1]);
	close_fd(&sync[0]);
	close_fd(&sync[1]);
	if (rc < 0)
		sandbox_proc_close(proc);
	free(argv);
	return rc;
}
