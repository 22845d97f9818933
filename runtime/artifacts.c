/* artifacts.c - see artifacts.h. */
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/utf8.h"

#define MAX_DEPTH	   32
#define MAX_ENTRIES_WALKED 100000
#define MAX_OMITTED_LISTED 100

struct walk {
	const struct limits *lim;
	struct job_result *res;
	size_t total;
	size_t walked;
	size_t omitted_unlisted;
	struct error *err;
};

/* Records a left-out file; past MAX_OMITTED_LISTED only counts them. */
static void omit(struct walk *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void omit(struct walk *w, const char *path, const char *fmt, ...)
{
	if (w->res->nomitted >= MAX_OMITTED_LISTED) {
		w->omitted_unlisted++;
		return;
	}
	char reason[160], *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	size_t safe_len;
	char *safe = utf8_sanitize((const unsigned char *)path, strlen(path), &safe_len);
	if (!safe || asprintf(&line, "%s: %s", safe, reason) < 0)
		line = NULL;
	free(safe);
	char **n = line ? realloc(w->res->omitted, (w->res->nomitted + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(line);
		w->omitted_unlisted++;
		return;
	}
	w->res->omitted = n;
	w->res->omitted[w->res->nomitted++] = line;
}

/* Reads one regular file (already opened with O_NOFOLLOW) if it fits. */
static void take_file(struct walk *w, int fd, const char *path, const struct stat *st)
{
	size_t size = (size_t)st->st_size;
	if (w->res->nartifacts >= w->lim->max_artifact_count) {
		omit(w, path, "more than %zu artifacts", w->lim->max_artifact_count);
		return;
	}
	if (size > w->lim->max_artifacts_bytes - w->total) {
		omit(w, path, "%zu bytes would exceed the %zu-byte artifact limit", size,
		     w->lim->max_artifacts_bytes);
		return;
	}
	unsigned char *data = malloc(size + 1);
	if (!data) {
		omit(w, path, "out of memory");
		return;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	struct artifact *a = realloc(w->res->artifacts, (w->res->nartifacts + 1) * sizeof(*a));
	char *p = strdup(path);
	if (!a || !p) {
		if (a)
			w->res->artifacts = a;
		free(data);
		free(p);
		omit(w, path, "out of memory");
		return;
	}
	w->res->artifacts = a;
	a[w->res->nartifacts++] = (struct artifact){.path = p, .data = data, .len = got};
	w->total += got;
}

/* Walks one directory (fd owned here); prefix is its path relative to
 * output/ ("" at the top). */
static void walk_dir(struct walk *w, int dir_fd, const char *prefix, int depth)
{
	DIR *d = fdopendir(dir_fd);
	if (!d) {
		close(dir_fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s%s", prefix, e->d_name) >= (int)sizeof(path)) {
			omit(w, prefix, "path too long");
			continue;
		}
		if (++w->walked > MAX_ENTRIES_WALKED) {
			omit(w, path, "output has more than %d entries; stopped looking",
			     MAX_ENTRIES_WALKED);
			break;
		}
		if (!utf8_valid((const unsigned char *)path, strlen(path))) {
			omit(w, path, "name is not valid UTF-8");
			continue;
		}
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth >= MAX_DEPTH) {
				omit(w, path, "nested deeper than %d folders", MAX_DEPTH);
				continue;
			}
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			char sub_prefix[PATH_MAX];
			snprintf(sub_prefix, sizeof(sub_prefix), "%s/", path);
			walk_dir(w, sub, sub_prefix, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			int fd = openat(dirfd(d), e->d_name,
					O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct stat fst;
			if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode))
				take_file(w, fd, path, &fst);
			close(fd);
		} else {
			omit(w, path, "not a regular file (%s)",
			     S_ISLNK(st.st_mode)    ? "symlink"
			     : S_ISFIFO(st.st_mode) ? "fifo"
			     : S_ISSOCK(st.st_mode) ? "socket"
						    : "device");
		}
	}
	closedir(d);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct artifact *)a)->path, ((const struct artifact *)b)->path);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int artifacts_collect(const char *workspace, const struct limits *lim, struct job_result *res,
		      struct error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/output", workspace);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
			return 0; /* the job removed or replaced output/: no artifacts */
		}
		return error_set(err, errno, "open %s", path);
	}
	struct walk w = {.lim = lim, .res = res, .err = err};
	walk_dir(&w, fd, "", 0);
	qsort(res->artifacts, res->nartifacts, sizeof(*res->artifacts), by_path);
	qsort(res->omitted, res->nomitted, sizeof(*res->omitted), by_string);
	if (w.omitted_unlisted > 0) {
		char *line = NULL;
		char **n = realloc(res->omitted, (res->nomitted + 1) * sizeof(*n));
		if (n) {
			res->omitted = n;
			if (asprintf(&line, "... and %zu more files left out",
				     w.omitted_unlisted) >= 0)
				res->omitted[res->nomitted++] = line;
		}
	}
	return 0;
}
