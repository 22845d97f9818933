/* deps.c - see deps.h.
 * Layout of the cache: KEY/site/ (the packages) and KEY/entry.json (written
 * last; its mtime is the entry's last use), KEY.lock (flock for installs),
 * and KEY.tmp-PID-N while an install runs. An entry without entry.json is
 * half-written and is rebuilt. */
#define _XOPEN_SOURCE 700
#include "deps.h"
#include "clock.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../api/sha256.h"

struct deps_entry_state {
	char key[65];
	bool installing;
	unsigned users;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf, never following symlinks. */
static void remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t tree_bytes_total;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		tree_bytes_total += (size_t)st->st_blocks * 512;
	return 0;
}

/* Disk use of a tree. nftw's callback has no context argument, so walks
 * are serialised around the shared total. */
static size_t tree_bytes(const char *path)
{
	static pthread_mutex_t walk = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&walk);
	tree_bytes_total = 0;
	nftw(path, add_size, 16, FTW_PHYS);
	size_t total = tree_bytes_total;
	pthread_mutex_unlock(&walk);
	return total;
}

/* An entry's entry.json, parsed; NULL when missing or unreadable. */
static cJSON *read_entry(const struct deps *d, const char *key)
{
	char path[PATH_MAX + 80], buf[4096];
	snprintf(path, sizeof(path), "%s/%s/entry.json", d->dir, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

/* Valid when entry.json names this key and the packages are there. */
static bool entry_valid(const struct deps *d, const char *key)
{
	cJSON *j = read_entry(d, key);
	const cJSON *k = cJSON_GetObjectItem(j, "key");
	bool ok = cJSON_IsString(k) && strcmp(k->valuestring, key) == 0;
	cJSON_Delete(j);
	char path[PATH_MAX + 80];
	snprintf(path, sizeof(path), "%s/%s/site", d->dir, key);
	struct stat st;
	return ok && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Size recorded in an entry's entry.json at install time (0 if unknown). */
static size_t entry_bytes(const struct deps *d, const char *key)
{
	cJSON *j = read_entry(d, key);
	double bytes = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "bytes"));
	cJSON_Delete(j);
	return bytes > 0 ? (size_t)bytes : 0;
}

/* Marks an entry used now (its entry.json mtime orders eviction). */
static void touch_entry(const struct deps *d, const char *key)
{
	char path[PATH_MAX + 80];
	snprintf(path, sizeof(path), "%s/%s/entry.json", d->dir, key);
	utimensat(AT_FDCWD, path, NULL, 0);
}

/* Removes what a crashed install or eviction left: temporary dirs of dead
 * processes and entries without entry.json. */
static void clean_cache(struct deps *d)
{
	DIR *dir = opendir(d->dir);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", d->dir, e->d_name);
		const char *tmp = strstr(e->d_name, ".tmp-");
		if (tmp) {
			long pid = strtol(tmp + 5, NULL, 10);
			if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
				continue;
			remove_tree(path);
		} else if (strlen(e->d_name) == 64 && !entry_valid(d, e->d_name)) {
			fprintf(
			    stderr,
			    "coderunner: dependency cache entry %s is incomplete; removing it\n",
			    e->d_name);
			remove_tree(path);
		}
	}
	closedir(dir);
}

int deps_init(struct deps *d, const struct deps_config *cfg, const struct host *h,
	      const char *python_version, struct error *err)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	snprintf(d->python, sizeof(d->python), "%s", python_version ? python_version : "unknown");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->changed, NULL);
	/* the versioned subdirectory is ours: 0755 so sandboxes can reach it
	 * whatever the permissions of the directories above it */
	char real[PATH_MAX];
	if (snprintf(real, sizeof(real), "%s/v1", cfg->cache_dir) >= (int)sizeof(real))
		return error_set(err, ENAMETOOLONG, "dependency cache %s", cfg->cache_dir);
	if (host_mkdir_p(real, err) < 0)
		return -1;
	if (chmod(real, 0755) < 0)
		return error_set(err, errno, "chmod %s", real);
	snprintf(d->dir, sizeof(d->dir), "%.900s/deps", h->state_dir);
	if (mkdir(d->dir, 0755) < 0 && errno != EEXIST)
		return error_set(err, errno, "mkdir %s", d->dir);
	if (mount(real, d->dir, NULL, MS_BIND, NULL) < 0)
		return error_set(err, errno, "bind dependency cache %s on %s", real, d->dir);
	clean_cache(d);
	return 0;
}

void deps_destroy(struct deps *d)
{
	free(d->states);
	d->states = NULL;
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->changed);
}

/* The key: every input that changes what pip would install. */
static void make_key(const struct deps *d, char *const *reqs, size_t n, char *key)
{
	char **sorted = malloc(n * sizeof(*sorted));
	for (size_t i = 0; sorted && i < n; i++)
		sorted[i] = reqs[i];
	for (size_t i = 1; sorted && i < n; i++) /* insertion sort: n <= 15 */
		for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
			char *t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	struct sha256 s;
	sha256_init(&s);
	const char *parts[] = {"coderunner-deps-v1", d->python, d->cfg.index_url,
			       d->cfg.extra_index_url ? d->cfg.extra_index_url : "",
			       d->cfg.trusted_host ? d->cfg.trusted_host : ""};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		sha256_update(&s, parts[i], strlen(parts[i]) + 1);
	for (size_t i = 0; i < n; i++) {
		const char *r = sorted ? sorted[i] : reqs[i];
		sha256_update(&s, r, strlen(r) + 1);
	}
	free(sorted);
	unsigned char digest[32];
	sha256_final(&s, digest);
	sha256_hex(digest, 32, key);
}

static struct deps_entry_state *state_of(struct deps *d, const char *key)
{
	for (size_t i = 0; i < d->nstates; i++)
		if (strcmp(d->states[i].key, key) == 0)
			return &d->states[i];
	struct deps_entry_state *n = realloc(d->states, (d->nstates + 1) * sizeof(*n));
	if (!n)
		return NULL;
	d->states = n;
	struct deps_entry_state *s = &d->states[d->nstates++];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	return s;
}

/* pip's own words for why an install failed: its ERROR lines. */
static void pip_message(const struct job_result *res, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (const char *p = res->err.data; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > 7 && strncmp(p, "ERROR: ", 7) == 0 && o + 3 < len)
			o += (size_t)snprintf(out + o, len - o, "%s%.*s", o ? "; " : "",
					      (int)(n - 7), p + 7);
		p = nl ? nl + 1 : p + n;
	}
	if (o == 0 && res->err.len > 0) {
		size_t n = res->err.len > 300 ? 300 : res->err.len;
		snprintf(out, len, "%.*s", (int)n, res->err.data + res->err.len - n);
	}
}

/* Finds where pip put the packages under the prefix (Debian's layout is
 * PREFIX/local/lib/python3.X/dist-packages). */
static bool find_site(const char *prefix, char *out, size_t len)
{
	static const char *const layouts[] = {"local/lib", "lib"};
	for (size_t i = 0; i < 2; i++) {
		char lib[1400];
		snprintf(lib, sizeof(lib), "%.1300s/%s", prefix, layouts[i]);
		DIR *dir = opendir(lib);
		if (!dir)
			continue;
		struct dirent *e;
		while ((e = readdir(dir))) {
			if (strncmp(e->d_name, "python", 6) != 0)
				continue;
			for (int k = 0; k < 2; k++) {
				snprintf(out, len, "%s/%s/%s", lib, e->d_name,
					 k ? "site-packages" : "dist-packages");
				struct stat st;
				if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
					closedir(dir);
					return true;
				}
			}
		}
		closedir(dir);
	}
	return false;
}

/* Runs pip for one key in the ticket's slot; on success renames the result
 * into place. Called with the install's flock held. */
static enum deps_status install(struct deps *d, struct job_runner *r, const struct job_ticket *t,
				char *const *reqs, size_t n, struct deps_use *use)
{
	char tmp[1200], path[1400];
	pthread_mutex_lock(&d->lock);
	unsigned long serial = ++d->counter;
	pthread_mutex_unlock(&d->lock);
	snprintf(tmp, sizeof(tmp), "%.1000s/%s.tmp-%d-%lu", d->dir, use->key, (int)getpid(),
		 serial);
	uid_t uid = (uid_t)job_runner_host_uid(r, t);
	if (mkdir(tmp, 0755) < 0 || chown(tmp, uid, uid) < 0) {
		snprintf(use->message, sizeof(use->message), "create %.400s: %s", tmp,
			 strerror(errno));
		return DEPS_INTERNAL;
	}
	char *args[32 + 17];
	size_t a = 4; /* room for "python3 -m pip install" */
	char *fixed[] = {"--no-input",
			 "--disable-pip-version-check",
			 "--no-cache-dir",
			 "--only-binary=:all:",
			 "--break-system-packages",
			 "--no-warn-script-location",
			 "--progress-bar",
			 "off",
			 "--retries",
			 "1",
			 "--timeout",
			 "15",
			 "--prefix",
			 "/workspace/prefix",
			 "--index-url",
			 (char *)d->cfg.index_url};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		args[a++] = fixed[i];
	if (d->cfg.extra_index_url) {
		args[a++] = "--extra-index-url";
		args[a++] = (char *)d->cfg.extra_index_url;
	}
	if (d->cfg.trusted_host) {
		args[a++] = "--trusted-host";
		args[a++] = (char *)d->cfg.trusted_host;
	}
	args[a++] = "--"; /* requirements only from here on */
	for (size_t i = 0; i < n; i++)
		args[a++] = reqs[i];
	args[a] = NULL;
	struct job_result res;
	double start = monotonic_ms();
	job_run_install(r, t, tmp, args + 4, d->cfg.install_timeout_s, &res);
	snprintf(path, sizeof(path), "%.1200s/prefix", tmp);
	if (res.exit_code == 1 && res.err.data &&
	    strstr(res.err.data, "uninstall-no-record-file")) {
		/* A requested version conflicts with a Debian-packaged one, which
		 * pip cannot uninstall (and must not: the rootfs is shared). Install
		 * it beside, ignoring what is installed: the job then sees the
		 * requested version first on sys.path. */
		job_result_free(&res);
		remove_tree(path);
		memmove(args + 5, args + 4, (a - 3) * sizeof(*args));
		args[4] = "--ignore-installed";
		double left = d->cfg.install_timeout_s - (monotonic_ms() - start) / 1e3;
		job_run_install(r, t, tmp, args + 4, left > 1 ? left : 1, &res);
	}
	use->install_ms = monotonic_ms() - start;
	enum deps_status st = DEPS_READY;
	char site[PATH_MAX];
	if (res.exit_code == -1) {
		snprintf(use->message, sizeof(use->message), "installing dependencies failed: %s",
			 res.error);
		st = DEPS_INTERNAL;
	} else if (res.timed_out) {
		snprintf(use->message, sizeof(use->message),
			 "dependencies: installing took longer than %g s and was stopped",
			 d->cfg.install_timeout_s);
		st = DEPS_TIMEOUT;
	} else if (res.exit_code != 0) {
		char why[900];
		pip_message(&res, why, sizeof(why));
		snprintf(use->message, sizeof(use->message),
			 "dependencies: pip could not install them (only wheels are used, so a "
			 "package without a wheel for Python %s on this platform fails too): %s",
			 d->python, why);
		st = DEPS_FAILED;
	}
	job_result_free(&res);
	char final_site[1200];
	snprintf(final_site, sizeof(final_site), "%.1100s/site", tmp);
	if (st == DEPS_READY) {
		if (find_site(path, site, sizeof(site))) {
			if (rename(site, final_site) < 0)
				st = DEPS_INTERNAL;
		} else if (mkdir(final_site, 0755) < 0) { /* all satisfied by the rootfs */
			st = DEPS_INTERNAL;
		}
		if (st != DEPS_READY)
			snprintf(use->message, sizeof(use->message), "store installed packages: %s",
				 strerror(errno));
	}
	if (st == DEPS_READY) {
		remove_tree(path);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "key", use->key);
		cJSON *list = cJSON_AddArrayToObject(j, "requirements");
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(list, cJSON_CreateString(reqs[i]));
		cJSON_AddStringToObject(j, "python", d->python);
		cJSON_AddStringToObject(j, "index_url", d->cfg.index_url);
		cJSON_AddNumberToObject(j, "bytes", (double)tree_bytes(final_site));
		char *text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		snprintf(path, sizeof(path), "%.1200s/entry.json", tmp);
		FILE *f = text ? fopen(path, "we") : NULL;
		bool written = f && fputs(text, f) >= 0;
		if (f && fclose(f) != 0)
			written = false;
		free(text);
		snprintf(path, sizeof(path), "%.1000s/%s", d->dir, use->key);
		remove_tree(path); /* a corrupt entry of the same key, if any */
		if (!written || rename(tmp, path) < 0) {
			snprintf(use->message, sizeof(use->message),
				 "store dependency entry %.400s: %s", path, strerror(errno));
			st = DEPS_INTERNAL;
		}
	}
	if (st != DEPS_READY)
		remove_tree(tmp);
	return st;
}

/* Removes least recently used entries (not in use, not `keep`) until the
 * cache fits its size limit. Called with the lock held. */
static void evict(struct deps *d, const char *keep)
{
	for (;;) {
		DIR *dir = opendir(d->dir);
		if (!dir)
			return;
		size_t total = 0;
		char oldest[65] = "";
		struct timespec oldest_t = {0, 0};
		struct dirent *e;
		while ((e = readdir(dir))) {
			if (strlen(e->d_name) != 64 || !entry_valid(d, e->d_name))
				continue;
			char path[PATH_MAX + 80];
			total += entry_bytes(d, e->d_name);
			snprintf(path, sizeof(path), "%s/%s/entry.json", d->dir, e->d_name);
			struct stat st;
			struct deps_entry_state *s = state_of(d, e->d_name);
			if (strcmp(e->d_name, keep) == 0 || (s && (s->users || s->installing)) ||
			    stat(path, &st) < 0)
				continue;
			if (!oldest[0] || st.st_mtim.tv_sec < oldest_t.tv_sec ||
			    (st.st_mtim.tv_sec == oldest_t.tv_sec &&
			     st.st_mtim.tv_nsec < oldest_t.tv_nsec)) {
				snprintf(oldest, sizeof(oldest), "%s", e->d_name);
				oldest_t = st.st_mtim;
			}
		}
		closedir(dir);
		if (total <= d->cfg.cache_max_bytes || !oldest[0])
			return;
		char path[PATH_MAX + 80];
		snprintf(path, sizeof(path), "%s/%s", d->dir, oldest);
		fprintf(stderr, "coderunner: dependency cache over %zu bytes: evicting %s\n",
			d->cfg.cache_max_bytes, oldest);
		remove_tree(path);
	}
}

enum deps_status deps_acquire(struct deps *d, struct job_runner *r, const struct job_ticket *t,
			      char *const *reqs, size_t n, struct deps_use *use)
{
	memset(use, 0, sizeof(*use));
	make_key(d, reqs, n, use->key);
	snprintf(use->site, sizeof(use->site), "%.900s/%s/site", d->dir, use->key);
	pthread_mutex_lock(&d->lock);
	struct deps_entry_state *s = state_of(d, use->key);
	if (!s) {
		pthread_mutex_unlock(&d->lock);
		snprintf(use->message, sizeof(use->message), "out of memory");
		return DEPS_INTERNAL;
	}
	while (s->installing) { /* an identical install is running: share it */
		pthread_cond_wait(&d->changed, &d->lock);
		s = state_of(d, use->key);
	}
	if (entry_valid(d, use->key)) {
		s->users++;
		d->hits++;
		use->cache_hit = true;
		touch_entry(d, use->key);
		pthread_mutex_unlock(&d->lock);
		return DEPS_READY;
	}
	s->installing = true;
	d->misses++;
	pthread_mutex_unlock(&d->lock);

	/* another server sharing this cache may be installing the same key */
	char lock_path[PATH_MAX + 80];
	snprintf(lock_path, sizeof(lock_path), "%s/%s.lock", d->dir, use->key);
	int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd >= 0)
		flock(lock_fd, LOCK_EX);
	enum deps_status st =
	    entry_valid(d, use->key) ? DEPS_READY : install(d, r, t, reqs, n, use);
	if (lock_fd >= 0) {
		unlink(lock_path);
		close(lock_fd);
	}

	pthread_mutex_lock(&d->lock);
	s = state_of(d, use->key);
	s->installing = false;
	if (st == DEPS_READY) {
		s->users++;
		touch_entry(d, use->key);
		evict(d, use->key);
	}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	return st;
}

void deps_release(struct deps *d, const struct deps_use *use)
{
	pthread_mutex_lock(&d->lock);
	struct deps_entry_state *s = state_of(d, use->key);
	if (s && s->users > 0)
		s->users--;
	pthread_mutex_unlock(&d->lock);
}

/* Cheap enough for every scrape: sums the sizes recorded per entry instead
 * of walking the packages, and never holds the cache lock meanwhile. */
void deps_stats(struct deps *d, unsigned long *hits, unsigned long *misses, size_t *bytes)
{
	pthread_mutex_lock(&d->lock);
	*hits = d->hits;
	*misses = d->misses;
	pthread_mutex_unlock(&d->lock);
	*bytes = 0;
	DIR *dir = opendir(d->dir);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir)))
		if (strlen(e->d_name) == 64)
			*bytes += entry_bytes(d, e->d_name);
	closedir(dir);
}
