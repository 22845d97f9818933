/* host.h - the server's own view of the host: a private mount namespace with
 * the rootfs bound read-only and a tmpfs for job workspaces.
 * Owns: process-wide set-up done once, before any thread starts. Never
 * changes anything the host's other processes can see. */
#ifndef CODERUNNER_HOST_H
#define CODERUNNER_HOST_H

#include <limits.h>

#include "error.h"

struct host {
	char state_dir[PATH_MAX];  /* tmpfs, private to this process */
	char rootfs_mnt[PATH_MAX]; /* state_dir/rootfs: read-only, nosuid, nodev */
	char jobs_dir[PATH_MAX];   /* state_dir/jobs: one tmpfs per job */
	int exe_fd;		   /* our own binary, re-executed as sandbox init */
	int devnull_fd;		   /* stdin of every job */
	int netns_fd;		   /* the server's network namespace */
};

/* Enters a private mount namespace, mounts a tmpfs on state_dir and binds
 * rootfs under it. Must run before any thread exists (unshare(CLONE_NEWNS)
 * refuses shared fs state). When the process exits, the kernel drops every
 * mount made here, so a crash leaks nothing. */
int host_setup(struct host *h, const char *rootfs, const char *state_dir, struct error *err);

/* mkdir -p (mode 0755) for an absolute path; existing directories are fine. */
int host_mkdir_p(const char *path, struct error *err);

/* Checks that dir looks like a built rootfs; explains how to build one. */
int host_check_rootfs(const char *rootfs, struct error *err);

#endif
