/* cgroup.c - see cgroup.h.
 * libcgroup creates, attaches and deletes the cgroups; a few things it cannot
 * do (v2 delegation, cgroup.kill, reading counters) are plain file I/O. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exported by libcgroup 2.0.2 but missing from its headers. */
enum cg_version_t { CGROUP_UNK = 0, CGROUP_V1, CGROUP_V2 };
int cgroup_get_controller_version(const char *const controller, enum cg_version_t *const version);

static const char *const cg_names[CG_COUNT] = {"memory", "cpu", "cpuacct", "pids"};

/* Message for a libcgroup error code, with errno text when it has one. */
static const char *cg_err(int rc)
{
	if (rc == ECGOTHER)
		return strerror(cgroup_get_last_errno());
	return cgroup_strerror(rc);
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Value of "key N" in a flat-keyed file (memory.events, cpu.stat, ...). */
static int read_keyed(const char *path, const char *key, double *out)
{
	char buf[4096];
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*out = strtod(line + klen + 1, NULL);
			return 0;
		}
	}
	return -1;
}

static int read_number(const char *path, double *out)
{
	char buf[64];
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	char *end;
	*out = strtod(buf, &end);
	return end == buf ? -1 : 0;
}

/* Reads /proc/self/cgroup: the v1 path of each controller we use and the v2
 * path (the "0::" line). libcgroup 2.0.2 cannot parse the v2 line itself. */
static void read_own_paths(struct cgroup_setup *cs, bool found[CG_COUNT], char *v2, size_t v2len,
			   bool *has_v2)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 256];
	*has_v2 = false;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		if (*ctrls == '\0') {
			snprintf(v2, v2len, "%s", path);
			*has_v2 = true;
			continue;
		}
		for (int c = 0; c < CG_COUNT; c++) {
			const char *p = ctrls;
			size_t n = strlen(cg_names[c]);
			while ((p = strstr(p, cg_names[c]))) {
				bool start = p == ctrls || p[-1] == ',';
				bool end = p[n] == '\0' || p[n] == ',';
				if (start && end) {
					snprintf(cs->own[c], sizeof(cs->own[c]), "%s", path);
					found[c] = true;
					break;
				}
				p += n;
			}
		}
	}
	if (f)
		fclose(f);
}

/* Absolute directory of a cgroup given its mount and a relative name. */
static void cg_dir(char *out, size_t len, const char *mount, const char *rel)
{
	snprintf(out, len, "%s/%s", mount, rel[0] == '/' ? rel + 1 : rel);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
}

/* Kills every process in a cgroup directory and waits until it is empty:
 * cgroup.kill where the kernel has it (v2, 5.14+), else a kill sweep over
 * cgroup.procs, repeated because a process may fork while we read. */
static void kill_all(const char *dir)
{
	char path[PATH_MAX + 32], buf[8192];
	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	bool killed = write_text(path, "1") == 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 2000; round++) {
		if (read_text(path, buf, sizeof(buf)) < 0 || buf[0] == '\0')
			return;
		if (!killed) {
			for (char *p = buf; *p;) {
				char *end;
				long pid = strtol(p, &end, 10);
				if (end == p)
					break;
				if (pid > 0)
					kill((pid_t)pid, SIGKILL);
				p = end + (*end != '\0');
			}
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "coderunner: cgroup %s still has processes after 2 s of killing\n", dir);
}

/* Removes a cgroup directory tree bottom-up, killing what is inside. Used
 * for leftovers of a crashed instance, which libcgroup objects don't name. */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			char sub[PATH_MAX];
			if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) < (int)sizeof(sub))
				remove_tree(sub);
		}
		closedir(d);
	}
	kill_all(dir);
	if (rmdir(dir) < 0 && errno != ENOENT)
		fprintf(stderr, "coderunner: remove cgroup %s: %s\n", dir, strerror(errno));
}

/* Removes coderunner-<pid> subtrees under own whose server is gone (or has
 * our pid, from a previous life in the same pid namespace). */
static void remove_stale_instances(const char *mount, const char *own)
{
	char dir[PATH_MAX];
	cg_dir(dir, sizeof(dir), mount, own);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid;
		char rest;
		if (sscanf(e->d_name, "coderunner-%ld%c", &pid, &rest) != 1)
			continue;
		if (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue; /* another live server shares this cgroup */
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= (int)sizeof(sub))
			continue;
		fprintf(stderr, "coderunner: removing cgroups left by a previous instance: %s\n",
			sub);
		remove_tree(sub);
	}
	closedir(d);
}

/* v2 delegation: controllers can be enabled for children only in a cgroup
 * without processes, so the server first moves into a leaf ("supervisor"),
 * exactly what is needed inside a Kubernetes pod. */
static int delegate_v2(struct cgroup_setup *cs, const char *own_dir)
{
	char path[PATH_MAX + 32], ctl[256] = "";
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", own_dir);
	if (read_text(path, ctl, sizeof(ctl)) < 0) {
		snprintf(cs->problem, sizeof(cs->problem), "cannot read %.400s: %s", path,
			 strerror(errno));
		return -1;
	}
	for (int c = 0; c < CG_COUNT; c++) {
		if (!cs->have[c] || strstr(ctl, cg_names[c]))
			continue;
		char plus[32];
		snprintf(plus, sizeof(plus), "+%s", cg_names[c]);
		if (write_text(path, plus) == 0)
			continue;
		if (errno != EBUSY) {
			snprintf(
			    cs->problem, sizeof(cs->problem),
			    "cannot enable %s in %.400s: %s (the cgroup must be delegated to us)",
			    cg_names[c], path, strerror(errno));
			return -1;
		}
		char leaf[PATH_MAX + 32], pid[32];
		snprintf(leaf, sizeof(leaf), "%s/supervisor", own_dir);
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
			snprintf(cs->problem, sizeof(cs->problem), "mkdir %.400s: %s", leaf,
				 strerror(errno));
			return -1;
		}
		snprintf(leaf, sizeof(leaf), "%s/supervisor/cgroup.procs", own_dir);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (write_text(leaf, pid) < 0) {
			snprintf(cs->problem, sizeof(cs->problem),
				 "move the server into %.400s: %s", leaf, strerror(errno));
			return -1;
		}
		if (write_text(path, plus) < 0) {
			snprintf(
			    cs->problem, sizeof(cs->problem),
			    "cannot enable %s in %.400s: %s; other processes share the server's "
			    "cgroup: run coderunner alone in its cgroup (its own container, or "
			    "`systemd-run --scope -p Delegate=yes`)",
			    cg_names[c], path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Creates this instance's subtree through libcgroup: one cgroup object per
 * distinct relative name (on v1 the controllers' paths may differ). */
static int create_instance(struct cgroup_setup *cs, struct error *err)
{
	for (int c = 0; c < CG_COUNT; c++) {
		if (!cs->have[c])
			continue;
		bool done = false;
		for (int p = 0; p < c; p++)
			done |= cs->have[p] && strcmp(cs->instance[p], cs->instance[c]) == 0;
		if (done)
			continue;
		struct cgroup *cg = cgroup_new_cgroup(cs->instance[c]);
		if (!cg)
			return error_set(err, ENOMEM, "libcgroup: new cgroup %s", cs->instance[c]);
		for (int k = c; k < CG_COUNT; k++) {
			if (cs->have[k] && strcmp(cs->instance[k], cs->instance[c]) == 0)
				cgroup_add_controller(cg, cg_names[k]);
		}
		int rc = cgroup_create_cgroup(cg, 1);
		cgroup_free(&cg);
		if (rc != 0)
			return error_set(err, 0, "create cgroup %s/%s (libcgroup): %s",
					 cs->mount[c], cs->instance[c], cg_err(rc));
	}
	return 0;
}

int cgroup_setup_init(struct cgroup_setup *cs, bool probe_only, struct error *err)
{
	memset(cs, 0, sizeof(*cs));
	int rc = cgroup_init();
	if (rc != 0) {
		snprintf(cs->problem, sizeof(cs->problem),
			 "no usable cgroup hierarchy (libcgroup: %.100s); mount cgroup2 on "
			 "/sys/fs/cgroup with the memory, cpu and pids controllers",
			 cg_err(rc));
		return 0;
	}
	bool found[CG_COUNT] = {0}, has_v2 = false;
	char v2_own[PATH_MAX] = "/";
	read_own_paths(cs, found, v2_own, sizeof(v2_own), &has_v2);
	/* Started inside the leaf a previous instance made (a restart from
	 * within it): the cgroup to delegate from is the leaf's parent. */
	size_t olen = strlen(v2_own);
	if (olen >= 11 && strcmp(v2_own + olen - 11, "/supervisor") == 0) {
		v2_own[olen - 11] = '\0';
		if (v2_own[0] == '\0')
			strcpy(v2_own, "/");
	}
	int v1 = 0, v2 = 0;
	for (int c = 0; c < CG_COUNT; c++) {
		enum cg_version_t ver = CGROUP_UNK;
		char *mp = NULL;
		if (cgroup_get_controller_version(cg_names[c], &ver) != 0 ||
		    cgroup_get_subsys_mount_point(cg_names[c], &mp) != 0)
			continue;
		snprintf(cs->mount[c], sizeof(cs->mount[c]), "%s", mp);
		free(mp);
		if (ver == CGROUP_V1 && found[c]) {
			cs->have[c] = true;
			v1++;
		} else if (ver == CGROUP_V2 && has_v2 && c != CG_CPUACCT) {
			snprintf(cs->own[c], sizeof(cs->own[c]), "%s", v2_own);
			cs->have[c] = true;
			v2++;
		}
	}
	cs->version = v1 > 0 ? 1 : v2 > 0 ? 2 : 0;
	cs->hybrid = cs->version == 1 && has_v2;
	if (cs->version == 2) {
		/* a controller listed at the root may still be missing here */
		char path[PATH_MAX + 32], ctl[256] = "", own_dir[PATH_MAX];
		cg_dir(own_dir, sizeof(own_dir),
		       cs->mount[CG_MEMORY][0] ? cs->mount[CG_MEMORY] : "/sys/fs/cgroup", v2_own);
		snprintf(path, sizeof(path), "%s/cgroup.controllers", own_dir);
		read_text(path, ctl, sizeof(ctl));
		for (int c = 0; c < CG_COUNT; c++)
			cs->have[c] = cs->have[c] && strstr(ctl, cg_names[c]) != NULL;
		if (!probe_only && delegate_v2(cs, own_dir) < 0)
			memset(cs->have, 0, sizeof(cs->have));
	}
	if (!cs->have[CG_MEMORY] && cs->problem[0] == '\0')
		snprintf(cs->problem, sizeof(cs->problem),
			 "the memory controller is not available to the server's cgroup; on "
			 "cgroup v2 delegate memory, cpu and pids to it (Kubernetes and systemd do "
			 "this for containers and Delegate=yes units)");
	for (int c = 0; c < CG_COUNT; c++) {
		if (!cs->have[c])
			continue;
		if (strcmp(cs->own[c], "/") == 0)
			snprintf(cs->instance[c], sizeof(cs->instance[c]), "coderunner-%d",
				 (int)getpid());
		else
			snprintf(cs->instance[c], sizeof(cs->instance[c]), "%s/coderunner-%d",
				 cs->own[c] + 1, (int)getpid());
	}
	if (probe_only || cs->version == 0)
		return 0;
	char dir[PATH_MAX];
	cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], cs->instance[CG_MEMORY]);
	char swap[PATH_MAX + 32];
	for (int c = 0; c < CG_COUNT; c++) {
		if (cs->have[c])
			remove_stale_instances(cs->mount[c], cs->own[c]);
	}
	if (create_instance(cs, err) < 0)
		return -1;
	snprintf(swap, sizeof(swap), "%s/%s", dir,
		 cs->version == 1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max");
	cs->memsw = cs->have[CG_MEMORY] && access(swap, F_OK) == 0;
	return 0;
}

void cgroup_setup_describe(const struct cgroup_setup *cs, char *out, size_t len)
{
	int n = snprintf(out, len, "%s:",
			 cs->version == 0   ? "none"
			 : cs->version == 2 ? "v2"
			 : cs->hybrid	    ? "v1 (hybrid)"
					    : "v1");
	for (int c = 0; c < CG_COUNT && n > 0 && (size_t)n < len; c++) {
		if (cs->have[c])
			n += snprintf(out + n, len - (size_t)n, " %s", cg_names[c]);
	}
}

void cgroup_setup_cleanup(struct cgroup_setup *cs)
{
	for (int c = 0; c < CG_COUNT; c++) {
		if (!cs->have[c])
			continue;
		char dir[PATH_MAX];
		cg_dir(dir, sizeof(dir), cs->mount[c], cs->instance[c]);
		remove_tree(dir);
	}
}

/* CPU weights: the kernel's lowest for background work, its default for jobs. */
#define CPU_SHARES_IDLE	   "2"
#define CPU_SHARES_DEFAULT "1024"
#define CPU_WEIGHT_IDLE	   "1"
#define CPU_WEIGHT_DEFAULT "100"

/* CPU quota in microseconds per 100 ms period, never below 1 ms. */
static unsigned long long cpu_quota_us(double cpus)
{
	unsigned long long quota = (unsigned long long)(cpus * 100000.0 + 0.5);
	return quota < 1000 ? 1000 : quota;
}

/* The CPU files as the cgroup version names them, with r's values: one
 * place for both creating a job cgroup and retuning a pooled one. */
struct cpu_files {
	const char *quota_file, *weight_file, *weight;
	char quota[32];
};

static void cpu_files(const struct cgroup_setup *cs, const struct job_resources *r,
		      struct cpu_files *f)
{
	bool v1 = cs->version == 1;
	unsigned long long quota = cpu_quota_us(r->cpus);
	if (v1)
		snprintf(f->quota, sizeof(f->quota), "%llu", quota);
	else
		snprintf(f->quota, sizeof(f->quota), "%llu 100000", quota);
	f->quota_file = v1 ? "cpu.cfs_quota_us" : "cpu.max";
	f->weight_file = v1 ? "cpu.shares" : "cpu.weight";
	if (r->background)
		f->weight = v1 ? CPU_SHARES_IDLE : CPU_WEIGHT_IDLE;
	else
		f->weight = v1 ? CPU_SHARES_DEFAULT : CPU_WEIGHT_DEFAULT;
}

/* Adds a value to a controller, remembering the first failure. */
static void add_value(struct cgroup_controller *ctl, const char *name, const char *value, int *rc)
{
	if (*rc == 0 && cgroup_add_value_string(ctl, name, value) != 0)
		*rc = ECGFAIL;
}

/* The limit files for one controller, named as its version names them. */
static int add_limits(const struct cgroup_setup *cs, struct cgroup_controller *ctl, int c,
		      const struct job_resources *r)
{
	char v[64];
	int rc = 0;
	switch (c) {
	case CG_MEMORY:
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->memory_bytes);
		if (cs->version == 1) {
			add_value(ctl, "memory.limit_in_bytes", v, &rc);
			if (cs->memsw)
				add_value(ctl, "memory.memsw.limit_in_bytes", v, &rc);
		} else {
			add_value(ctl, "memory.max", v, &rc);
			if (cs->memsw)
				add_value(ctl, "memory.swap.max", "0", &rc);
			add_value(ctl, "memory.oom.group", "1", &rc);
		}
		break;
	case CG_CPU: {
		struct cpu_files f;
		cpu_files(cs, r, &f);
		if (cs->version == 1)
			add_value(ctl, "cpu.cfs_period_us", "100000", &rc);
		add_value(ctl, f.quota_file, f.quota, &rc);
		if (r->background) /* the default weight needs no write */
			add_value(ctl, f.weight_file, f.weight, &rc);
		break;
	}
	case CG_PIDS:
		snprintf(v, sizeof(v), "%u", r->pids);
		add_value(ctl, "pids.max", v, &rc);
		break;
	default:
		break;
	}
	return rc;
}

int job_cgroup_create(struct job_cgroup *jc, const struct cgroup_setup *cs, unsigned long id,
		      const struct job_resources *r, struct error *err)
{
	memset(jc, 0, sizeof(*jc));
	jc->cs = cs;
	jc->dir_fd = -1;
	for (int c = 0; c < CG_COUNT; c++) {
		if (!cs->have[c])
			continue;
		snprintf(jc->rel[c], sizeof(jc->rel[c]), "%s/job-%lu", cs->instance[c], id);
		int owner = c;
		for (int p = 0; p < c; p++) {
			if (jc->groups[p] && strcmp(jc->rel[p], jc->rel[c]) == 0) {
				owner = p;
				break;
			}
		}
		if (owner == c) {
			jc->groups[c] = cgroup_new_cgroup(jc->rel[c]);
			if (!jc->groups[c])
				return error_set(err, ENOMEM, "libcgroup: new cgroup %s",
						 jc->rel[c]);
		}
		struct cgroup_controller *ctl =
		    cgroup_add_controller(jc->groups[owner], cg_names[c]);
		if (!ctl || add_limits(cs, ctl, c, r) != 0)
			return error_set(err, 0, "libcgroup: set %s limits for %s", cg_names[c],
					 jc->rel[c]);
	}
	jc->created = true;
	for (int c = 0; c < CG_COUNT; c++) {
		if (!jc->groups[c])
			continue;
		int rc = cgroup_create_cgroup(jc->groups[c], 1);
		if (rc != 0)
			return error_set(err, 0, "create cgroup %s/%s (libcgroup): %s",
					 cs->mount[c], jc->rel[c], cg_err(rc));
	}
	if (cs->version == 2) {
		char dir[PATH_MAX];
		cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], jc->rel[CG_MEMORY]);
		jc->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (jc->dir_fd < 0)
			return error_set(err, errno, "open cgroup %s", dir);
	}
	return 0;
}

int job_cgroup_attach(struct job_cgroup *jc, pid_t pid, struct error *err)
{
	for (int c = 0; c < CG_COUNT; c++) {
		if (!jc->groups[c])
			continue;
		int rc = cgroup_attach_task_pid(jc->groups[c], pid);
		if (rc != 0)
			return error_set(err, 0, "attach job to cgroup %s (libcgroup): %s",
					 jc->rel[c], cg_err(rc));
	}
	return 0;
}

/* Writes one setting of a job cgroup's controller, with context on failure. */
static int set_file(const struct job_cgroup *jc, int c, const char *name, const char *value,
		    struct error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	cg_dir(dir, sizeof(dir), jc->cs->mount[c], jc->rel[c]);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_text(path, value) < 0)
		return error_set(err, errno, "write %s to %s", value, path);
	return 0;
}

int job_cgroup_update(struct job_cgroup *jc, const struct job_resources *from,
		      const struct job_resources *r, struct error *err)
{
	const struct cgroup_setup *cs = jc->cs;
	char v[64];
	int rc = 0;
	if (cs->have[CG_MEMORY]) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->memory_bytes);
		bool changed = r->memory_bytes != from->memory_bytes;
		if (cs->version == 1) {
			/* lowering: memory first, as memsw may never be below it; the
			 * pool creates members at the largest limit, so it only lowers */
			if (changed)
				rc = set_file(jc, CG_MEMORY, "memory.limit_in_bytes", v, err);
			if (rc == 0 && changed && cs->memsw)
				rc = set_file(jc, CG_MEMORY, "memory.memsw.limit_in_bytes", v, err);
			if (rc == 0)
				rc = set_file(jc, CG_MEMORY, "memory.max_usage_in_bytes", "0", err);
		} else if (changed) {
			rc = set_file(jc, CG_MEMORY, "memory.max", v, err);
		}
	}
	if (rc == 0 && cs->have[CG_CPU]) {
		struct cpu_files now, was;
		cpu_files(cs, r, &now);
		cpu_files(cs, from, &was);
		if (strcmp(now.quota, was.quota) != 0)
			rc = set_file(jc, CG_CPU, now.quota_file, now.quota, err);
		if (rc == 0 && strcmp(now.weight, was.weight) != 0)
			rc = set_file(jc, CG_CPU, now.weight_file, now.weight, err);
	}
	if (rc == 0 && cs->have[CG_PIDS] && r->pids != from->pids) {
		snprintf(v, sizeof(v), "%u", r->pids);
		rc = set_file(jc, CG_PIDS, "pids.max", v, err);
	}
	return rc;
}

int job_cgroup_nprocs(const struct job_cgroup *jc)
{
	const struct cgroup_setup *cs = jc->cs;
	char dir[PATH_MAX], path[PATH_MAX + 64], buf[4096];
	if (!cs->have[CG_MEMORY])
		return -1;
	cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], jc->rel[CG_MEMORY]);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	int n = 0;
	for (const char *c = buf; *c; c++)
		n += *c == '\n';
	return (size_t)strlen(buf) == sizeof(buf) - 1 ? 1000 : n; /* full buffer: many */
}

double job_cgroup_memory_current(const struct job_cgroup *jc)
{
	const struct cgroup_setup *cs = jc->cs;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	double v;
	if (!cs->have[CG_MEMORY])
		return -1;
	cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], jc->rel[CG_MEMORY]);
	snprintf(path, sizeof(path), "%s/%s", dir,
		 cs->version == 1 ? "memory.usage_in_bytes" : "memory.current");
	return read_number(path, &v) == 0 ? v : -1;
}

void job_cgroup_usage(const struct job_cgroup *jc, struct job_usage *u)
{
	const struct cgroup_setup *cs = jc->cs;
	char path[PATH_MAX + 64], dir[PATH_MAX];
	double v;
	u->oom_killed = false;
	u->cpu_ms = u->peak_memory = -1;
	if (cs->have[CG_MEMORY]) {
		cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], jc->rel[CG_MEMORY]);
		snprintf(path, sizeof(path), "%s/%s", dir,
			 cs->version == 1 ? "memory.oom_control" : "memory.events");
		u->oom_killed = read_keyed(path, "oom_kill", &v) == 0 && v > 0;
		snprintf(path, sizeof(path), "%s/%s", dir,
			 cs->version == 1 ? "memory.max_usage_in_bytes" : "memory.peak");
		if (read_number(path, &v) == 0)
			u->peak_memory = v;
	}
	if (cs->version == 1 && cs->have[CG_CPUACCT]) {
		cg_dir(dir, sizeof(dir), cs->mount[CG_CPUACCT], jc->rel[CG_CPUACCT]);
		snprintf(path, sizeof(path), "%s/cpuacct.usage", dir);
		if (read_number(path, &v) == 0)
			u->cpu_ms = v / 1e6;
	} else if (cs->version == 2) {
		cg_dir(dir, sizeof(dir), cs->mount[CG_MEMORY], jc->rel[CG_MEMORY]);
		snprintf(path, sizeof(path), "%s/cpu.stat", dir);
		if (read_keyed(path, "usage_usec", &v) == 0)
			u->cpu_ms = v / 1e3;
	}
}

void job_cgroup_destroy(struct job_cgroup *jc)
{
	if (jc->dir_fd >= 0)
		close(jc->dir_fd);
	jc->dir_fd = -1;
	for (int c = 0; c < CG_COUNT; c++) {
		if (!jc->groups[c])
			continue;
		struct cgroup *cg = jc->groups[c];
		if (jc->created) {
			char dir[PATH_MAX];
			cg_dir(dir, sizeof(dir), jc->cs->mount[c], jc->rel[c]);
			kill_all(dir);
			int rc = cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_IGNORE_MIGRATION);
			if (rc != 0 && rmdir(dir) < 0 && errno != ENOENT)
				fprintf(stderr, "coderunner: remove cgroup %s: %s\n", dir,
					cg_err(rc));
		}
		cgroup_free(&cg);
		jc->groups[c] = NULL;
	}
	jc->created = false;
}
