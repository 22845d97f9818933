/* host.c - see host.h. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int host_mkdir_p(const char *path, struct error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return error_set(err, ENAMETOOLONG, "state dir %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return error_set(err, errno, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return error_set(err, errno, "mkdir %s", buf);
	return 0;
}

int host_check_rootfs(const char *rootfs, struct error *err)
{
	char p[PATH_MAX];
	struct stat st;
	static const char *const needed[] = {"usr/bin/python3", "workspace", "proc", "dev", "tmp"};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", rootfs, needed[i]);
		if (stat(p, &st) < 0)
			return error_set(
			    err, errno, "rootfs %s is incomplete (%s); build it with `make rootfs`",
			    rootfs, p);
	}
	return 0;
}

int host_setup(struct host *h, const char *rootfs, const char *state_dir, struct error *err)
{
	memset(h, 0, sizeof(*h));
	h->exe_fd = h->devnull_fd = h->netns_fd = -1;
	if (host_check_rootfs(rootfs, err) < 0)
		return -1;
	if (snprintf(h->state_dir, sizeof(h->state_dir), "%s", state_dir) >=
		(int)sizeof(h->state_dir) ||
	    snprintf(h->rootfs_mnt, sizeof(h->rootfs_mnt), "%s/rootfs", state_dir) >=
		(int)sizeof(h->rootfs_mnt) ||
	    snprintf(h->jobs_dir, sizeof(h->jobs_dir), "%s/jobs", state_dir) >=
		(int)sizeof(h->jobs_dir))
		return error_set(err, ENAMETOOLONG, "state dir %s", state_dir);

	h->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (h->exe_fd < 0)
		return error_set(err, errno, "open /proc/self/exe");
	h->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (h->devnull_fd < 0)
		return error_set(err, errno, "open /dev/null");
	h->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (h->netns_fd < 0)
		return error_set(err, errno, "open /proc/self/ns/net");

	if (host_mkdir_p(state_dir, err) < 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0)
		return error_set(
		    err, errno,
		    "unshare(CLONE_NEWNS) (needs root or CAP_SYS_ADMIN; run as root, or "
		    "in Kubernetes give the pod privileged or SYS_ADMIN)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "make / private in the server's mount namespace");
	if (mount("coderunner", state_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m") < 0)
		return error_set(err, errno, "mount tmpfs on %s", state_dir);
	if (mkdir(h->rootfs_mnt, 0755) < 0)
		return error_set(err, errno, "mkdir %s", h->rootfs_mnt);
	if (mkdir(h->jobs_dir, 0711) < 0)
		return error_set(err, errno, "mkdir %s", h->jobs_dir);
	if (mount(rootfs, h->rootfs_mnt, NULL, MS_BIND | MS_REC, NULL) < 0)
		return error_set(err, errno, "bind %s on %s", rootfs, h->rootfs_mnt);
	if (mount(NULL, h->rootfs_mnt, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return error_set(err, errno, "remount %s read-only", h->rootfs_mnt);
	return 0;
}
