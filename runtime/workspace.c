/* workspace.c - see workspace.h. */
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes all of buf, retrying short writes. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates one file at a validated relative path, making parent folders on
 * the way, every one owned by the job. Paths were checked by the API layer
 * (no "..", no leading "/"), and the tmpfs is fresh, so nothing is followed. */
static int write_file(int root_fd, const struct job_file *f, uid_t uid, gid_t gid,
		      struct error *err)
{
	char rel[PATH_MAX];
	if (snprintf(rel, sizeof(rel), "%s", f->path) >= (int)sizeof(rel))
		return error_set(err, ENAMETOOLONG, "write workspace file %s", f->path);
	for (char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(root_fd, rel, 0755) == 0) {
			if (fchownat(root_fd, rel, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
				return error_set(err, errno, "chown workspace dir %s", rel);
		} else if (errno != EEXIST) {
			return error_set(err, errno, "mkdir workspace dir %s", rel);
		}
		*p = '/';
	}
	int fd = openat(root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_set(err, errno, "create workspace file %s", rel);
	int rc = 0;
	if (write_all(fd, f->data, f->len) < 0)
		rc = error_set(err, errno, "write workspace file %s", rel);
	else if (fchown(fd, uid, gid) < 0)
		rc = error_set(err, errno, "chown workspace file %s", rel);
	close(fd);
	return rc;
}

int workspace_create(struct workspace *ws, const char *jobs_dir, unsigned long id, uid_t uid,
		     gid_t gid, size_t size, const struct job_spec *spec, struct error *err)
{
	memset(ws, 0, sizeof(*ws));
	if (snprintf(ws->path, sizeof(ws->path), "%s/%lu", jobs_dir, id) >= (int)sizeof(ws->path))
		return error_set(err, ENAMETOOLONG, "workspace path under %s", jobs_dir);
	if (mkdir(ws->path, 0700) < 0)
		return error_set(err, errno, "mkdir workspace %s", ws->path);
	char opts[128];
	snprintf(opts, sizeof(opts), "mode=0755,uid=%u,gid=%u,size=%zu,nr_inodes=100000",
		 (unsigned)uid, (unsigned)gid, size);
	if (mount("workspace", ws->path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return error_set(err, errno, "mount workspace tmpfs on %s", ws->path);
	ws->mounted = 1;
	int root_fd = open(ws->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return error_set(err, errno, "open workspace %s", ws->path);
	int rc = 0;
	static const char *const dirs[] = {"input", "output"};
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		if (mkdirat(root_fd, dirs[i], 0755) < 0 ||
		    fchownat(root_fd, dirs[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = error_set(err, errno, "create workspace dir %s", dirs[i]);
	}
	close(root_fd);
	return rc == 0 && spec ? workspace_add_files(ws, uid, gid, spec, err) : rc;
}

int workspace_add_files(const struct workspace *ws, uid_t uid, gid_t gid,
			const struct job_spec *spec, struct error *err)
{
	int root_fd = open(ws->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return error_set(err, errno, "open workspace %s", ws->path);
	int rc = 0;
	for (size_t i = 0; i < spec->nfiles && rc == 0; i++)
		rc = write_file(root_fd, &spec->files[i], uid, gid, err);
	close(root_fd);
	return rc;
}

void workspace_destroy(struct workspace *ws)
{
	if (ws->path[0] == '\0')
		return;
	if (ws->mounted && umount2(ws->path, MNT_DETACH) < 0)
		fprintf(stderr, "coderunner: umount workspace %s: %s\n", ws->path, strerror(errno));
	ws->mounted = 0;
	if (rmdir(ws->path) < 0 && errno != ENOENT)
		fprintf(stderr, "coderunner: rmdir workspace %s: %s\n", ws->path, strerror(errno));
	ws->path[0] = '\0';
}
