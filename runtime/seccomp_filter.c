/* seccomp_filter.c - see seccomp_filter.h. Modelled on what Docker's default
 * profile, crun and nsjail deny, as a deny list over an allow-by-default
 * filter: Python and its C extensions use a wide, changing set of calls,
 * while the dangerous ones are few and well known. */
#include "seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Calls denied outright. Names unknown to this architecture are skipped. */
static const char *const denied_calls[] = {
    /* filesystem and namespace changes */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    /* kernel keyrings, BPF, perf, userfaultfd, io_uring */
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    /* other processes' memory */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    /* the machine itself */
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "lookup_dcookie",
    "vhangup",
    "fanotify_init",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "personality",
};

static int deny_name(scmp_filter_ctx ctx, const char *name, struct error *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	if (rc < 0)
		return error_set(err, -rc, "seccomp: deny %s", name);
	return 0;
}

/* Adds one conditional EPERM rule and reports failures by name. */
static int deny_if(scmp_filter_ctx ctx, const char *what, int nr, unsigned n,
		   const struct scmp_arg_cmp *cmp, struct error *err)
{
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, n, cmp);
	if (rc < 0)
		return error_set(err, -rc, "seccomp: rule for %s", what);
	return 0;
}

/* Builds the filter's rules in a libseccomp context. */
static int build_rules(scmp_filter_ctx ctx, struct error *err);

int seccomp_filter_prepare(struct seccomp_program *prog, struct error *err)
{
	prog->filter = NULL;
	prog->len = 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return error_set(err, ENOMEM, "seccomp_init");
	int rc = build_rules(ctx, err);
	int fds[2] = {-1, -1};
	if (rc == 0 && pipe2(fds, O_CLOEXEC) < 0)
		rc = error_set(err, errno, "seccomp: pipe for the program");
	if (rc == 0) { /* a few hundred instructions: far below the pipe's buffer */
		int erc = seccomp_export_bpf(ctx, fds[1]);
		close(fds[1]);
		static struct sock_filter buf[BPF_MAXINSNS];
		ssize_t n = erc < 0 ? -1 : read(fds[0], buf, sizeof(buf));
		if (n <= 0 || n % (ssize_t)sizeof(buf[0]) != 0 || n == (ssize_t)sizeof(buf))
			rc = error_set(err, erc < 0 ? -erc : EIO, "seccomp: export the program");
		else {
			prog->filter = buf;
			prog->len = (unsigned short)(n / (ssize_t)sizeof(buf[0]));
		}
		close(fds[0]);
	}
	seccomp_release(ctx);
	return rc;
}

int seccomp_filter_load(const struct seccomp_program *prog, struct error *err)
{
	struct sock_fprog fprog = {.len = prog->len, .filter = prog->filter};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return error_set(err, errno, "seccomp: load the filter");
	return 0;
}

static int build_rules(scmp_filter_ctx ctx, struct error *err)
{
	int rc = -1;
	/* x32 and i386 system calls (foreign ABIs) never reach the allow list */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)) < 0) {
		error_set(err, 0, "seccomp: set the foreign-ABI action");
		goto out;
	}
	for (size_t i = 0; i < sizeof(denied_calls) / sizeof(denied_calls[0]); i++)
		if (deny_name(ctx, denied_calls[i], err) < 0)
			goto out;
	/* clone with any namespace flag; clone3 hides its flags in memory we
	 * cannot inspect, so it reports ENOSYS and libc falls back to clone */
	static const unsigned long ns_flags[] = {CLONE_NEWNS,	 CLONE_NEWUTS, CLONE_NEWIPC,
						 CLONE_NEWUSER,	 CLONE_NEWPID, CLONE_NEWNET,
						 CLONE_NEWCGROUP};
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
		if (deny_if(ctx, "clone", SCMP_SYS(clone), 1, &c, err) < 0)
			goto out;
	}
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0) {
		error_set(err, 0, "seccomp: rule for clone3");
		goto out;
	}
	/* packet sockets, raw IP sockets, and netlink other than routing
	 * (which libc uses to list interfaces) */
	struct scmp_arg_cmp packet = SCMP_A0(SCMP_CMP_EQ, AF_PACKET);
	struct scmp_arg_cmp raw4[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET),
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)};
	struct scmp_arg_cmp raw6[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET6),
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)};
	struct scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
					 SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE)};
	if (deny_if(ctx, "socket(AF_PACKET)", SCMP_SYS(socket), 1, &packet, err) < 0 ||
	    deny_if(ctx, "socket(AF_INET, SOCK_RAW)", SCMP_SYS(socket), 2, raw4, err) < 0 ||
	    deny_if(ctx, "socket(AF_INET6, SOCK_RAW)", SCMP_SYS(socket), 2, raw6, err) < 0 ||
	    deny_if(ctx, "socket(AF_NETLINK)", SCMP_SYS(socket), 2, netlink, err) < 0)
		goto out;
	rc = 0;
out:
	return rc;
}
