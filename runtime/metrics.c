/* metrics.c - see metrics.h. */
#include "metrics.h"

#include "deps.h"
#include "warm_pool.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TENANTS  256
#define MAX_STATUSES 32
#define NBUCKETS     12

struct histogram {
	const char *name, *help;
	const double *bounds;
	unsigned long long counts[NBUCKETS + 1];
	double sum;
	unsigned long long total;
};

static const double job_bounds[NBUCKETS] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					    1,	  2.5,	 5,    10,  30,	  120};
static const double fast_bounds[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					     0.05,   0.1,   0.25,   0.5,   1,	 2.5};

static const char *const outcome_names[OUTCOME_COUNT] = {"ok",	"error",    "timeout",
							 "oom", "rejected", "internal"};

static struct {
	pthread_mutex_t lock;
	struct {
		char name[64];
		unsigned long long n[OUTCOME_COUNT];
	} tenants[MAX_TENANTS];
	unsigned ntenants;
	struct {
		int status;
		unsigned long long n;
	} http[MAX_STATUSES];
	unsigned nhttp;
	struct histogram job, setup, queue;
} m = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .job =
	{"coderunner_job_duration_seconds", "Wall time of jobs that ran.", job_bounds, {0}, 0, 0},
    .setup = {"coderunner_sandbox_setup_seconds",
	      "Server-side set-up of a job: workspace, cgroup, namespaces, uid map.",
	      fast_bounds,
	      {0},
	      0,
	      0},
    .queue = {"coderunner_queue_wait_seconds",
	      "Time requests waited for a job slot.",
	      job_bounds,
	      {0},
	      0,
	      0},
};

void metrics_job(const char *tenant, enum job_outcome outcome)
{
	const char *name = tenant ? tenant : "";
	pthread_mutex_lock(&m.lock);
	unsigned i = 0;
	while (i < m.ntenants && strcmp(m.tenants[i].name, name) != 0)
		i++;
	if (i == m.ntenants && m.ntenants < MAX_TENANTS)
		snprintf(m.tenants[m.ntenants++].name, sizeof(m.tenants[0].name), "%s", name);
	if (i < m.ntenants)
		m.tenants[i].n[outcome]++;
	pthread_mutex_unlock(&m.lock);
}

static void observe(struct histogram *h, double v)
{
	pthread_mutex_lock(&m.lock);
	int b = 0;
	while (b < NBUCKETS && v > h->bounds[b])
		b++;
	h->counts[b]++;
	h->sum += v;
	h->total++;
	pthread_mutex_unlock(&m.lock);
}

void metrics_job_seconds(double s)
{
	observe(&m.job, s);
}

void metrics_setup_seconds(double s)
{
	observe(&m.setup, s);
}

void metrics_queue_wait_seconds(double s)
{
	observe(&m.queue, s);
}

void metrics_http_response(int status)
{
	pthread_mutex_lock(&m.lock);
	unsigned i = 0;
	while (i < m.nhttp && m.http[i].status != status)
		i++;
	if (i == m.nhttp && m.nhttp < MAX_STATUSES)
		m.http[m.nhttp++].status = status;
	if (i < m.nhttp)
		m.http[i].n++;
	pthread_mutex_unlock(&m.lock);
}

/* A growable string for the exposition text. */
struct text {
	char *buf;
	size_t len, cap;
};

static void out(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = t->buf ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 8192;
		char *b = realloc(t->buf, cap);
		if (!b)
			return;
		t->buf = b;
		t->cap = cap;
	}
}

/* Label values are tenant names from the keys file; escape what the format
 * requires. */
static void label_value(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 3 < len; src++) {
		if (*src == '\\' || *src == '"') {
			dst[o++] = '\\';
			dst[o++] = *src;
		} else if (*src == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *src;
		}
	}
	dst[o] = '\0';
}

static void render_histogram(struct text *t, const struct histogram *h)
{
	out(t, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
	unsigned long long cum = 0;
	for (int b = 0; b < NBUCKETS; b++) {
		cum += h->counts[b];
		out(t, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[b], cum);
	}
	out(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", h->name, h->total,
	    h->name, h->sum, h->name, h->total);
}

static long process_rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

static long process_fds(void)
{
	long n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

/* The two sandbox pools' gauges and counters (warm_pool.h), labelled
 * pool="warm" and pool="prepared". */
static void render_pools(struct text *t, struct warm_pool *const pools[2])
{
	static const char *const names[2] = {"warm", "prepared"};
	static const char *const miss_names[WARM_MISS_COUNT] = {"empty", "memory", "dependencies",
								"failed"};
	static const struct {
		const char *name, *type, *help;
	} series[] = {
	    {"coderunner_pool_target", "gauge", "Sandboxes a pool keeps ready."},
	    {"coderunner_pool_ready", "gauge", "Sandboxes ready for a job now."},
	    {"coderunner_pool_starting", "gauge", "Sandboxes still starting (or importing)."},
	    {"coderunner_pool_memory_bytes", "gauge", "Memory held by sandboxes not yet used."},
	    {"coderunner_pool_sandboxes_started_total", "counter", "Sandboxes started."},
	    {"coderunner_pool_sandbox_failures_total", "counter",
	     "Sandboxes that failed to start or died unused."},
	    {"coderunner_pool_sandboxes_retired_total", "counter",
	     "Sandboxes replaced unused (age, SIGHUP)."},
	    {"coderunner_pool_jobs_total", "counter",
	     "Jobs a pool served (warm: Python already running; prepared: a cold start "
	     "without the sandbox set-up)."},
	};
	struct warm_stats w[2];
	bool on[2];
	for (int i = 0; i < 2; i++) {
		on[i] = pools[i] && pools[i]->started;
		if (on[i])
			warm_pool_stats(pools[i], &w[i]);
	}
	for (size_t k = 0; k < sizeof(series) / sizeof(series[0]); k++) {
		out(t, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help,
		    series[k].name, series[k].type);
		for (int i = 0; i < 2; i++) {
			if (!on[i])
				continue;
			double v[] = {w[i].target,	    w[i].ready,
				      w[i].starting,	    w[i].memory_bytes,
				      (double)w[i].started, (double)w[i].start_failures,
				      (double)w[i].retired, (double)w[i].warm_jobs};
			out(t, "%s{pool=\"%s\"} %.0f\n", series[k].name, names[i], v[k]);
		}
	}
	if (!on[0])
		return;
	out(t, "# HELP coderunner_warm_misses_total Jobs that could not start warm, by reason.\n"
	       "# TYPE coderunner_warm_misses_total counter\n");
	for (int r = 0; r < WARM_MISS_COUNT; r++)
		out(t, "coderunner_warm_misses_total{reason=\"%s\"} %lu\n", miss_names[r],
		    w[0].misses[r]);
}

char *metrics_render(unsigned running, unsigned waiting, unsigned max_jobs, struct deps *deps,
		     struct warm_pool *warm, struct warm_pool *prepared)
{
	struct text t = {0};
	pthread_mutex_lock(&m.lock);
	out(&t, "# HELP coderunner_jobs_total Requests to run a job, by outcome and tenant.\n"
		"# TYPE coderunner_jobs_total counter\n");
	for (unsigned i = 0; i < m.ntenants; i++) {
		char tenant[160];
		label_value(tenant, sizeof(tenant), m.tenants[i].name);
		for (int o = 0; o < OUTCOME_COUNT; o++)
			out(&t, "coderunner_jobs_total{outcome=\"%s\",tenant=\"%s\"} %llu\n",
			    outcome_names[o], tenant, m.tenants[i].n[o]);
	}
	out(&t, "# HELP coderunner_http_responses_total HTTP responses by status code.\n"
		"# TYPE coderunner_http_responses_total counter\n");
	for (unsigned i = 0; i < m.nhttp; i++)
		out(&t, "coderunner_http_responses_total{code=\"%d\"} %llu\n", m.http[i].status,
		    m.http[i].n);
	render_histogram(&t, &m.job);
	render_histogram(&t, &m.setup);
	render_histogram(&t, &m.queue);
	pthread_mutex_unlock(&m.lock);
	out(&t,
	    "# HELP coderunner_jobs_running Jobs running now.\n# TYPE coderunner_jobs_running "
	    "gauge\n"
	    "coderunner_jobs_running %u\n"
	    "# HELP coderunner_queue_depth Requests waiting for a job slot.\n"
	    "# TYPE coderunner_queue_depth gauge\ncoderunner_queue_depth %u\n"
	    "# HELP coderunner_job_slots Jobs that may run at once.\n"
	    "# TYPE coderunner_job_slots gauge\ncoderunner_job_slots %u\n"
	    "# HELP process_resident_memory_bytes Resident memory of the server.\n"
	    "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n"
	    "# HELP process_open_fds Open file descriptors of the server.\n"
	    "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
	    running, waiting, max_jobs, process_rss_bytes(), process_fds());
	if (deps) {
		unsigned long hits, misses;
		size_t bytes;
		deps_stats(deps, &hits, &misses, &bytes);
		out(&t,
		    "# HELP coderunner_dependency_cache_hits_total Requests whose dependencies "
		    "were "
		    "cached.\n# TYPE coderunner_dependency_cache_hits_total counter\n"
		    "coderunner_dependency_cache_hits_total %lu\n"
		    "# HELP coderunner_dependency_cache_misses_total Dependency installs run.\n"
		    "# TYPE coderunner_dependency_cache_misses_total counter\n"
		    "coderunner_dependency_cache_misses_total %lu\n"
		    "# HELP coderunner_dependency_cache_bytes Disk used by the dependency cache.\n"
		    "# TYPE coderunner_dependency_cache_bytes gauge\n"
		    "coderunner_dependency_cache_bytes %zu\n",
		    hits, misses, bytes);
	}
	struct warm_pool *const pools[2] = {warm, prepared};
	if ((warm && warm->started) || (prepared && prepared->started))
		render_pools(&t, pools);
	return t.buf;
}
