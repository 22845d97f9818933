/* warm_pool.c - see warm_pool.h. */
#include "warm_pool.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A sandbox not ready this long after its start is given up on. */
#define STARTUP_TIMEOUT_MS 120000.0
/* Back-off after consecutive start failures: 0.5 s doubling up to 60 s. */
#define RETRY_FIRST_MS 500.0
#define RETRY_MAX_MS   60000.0
/* While the server is saturated, how often a warm pool checks again. */
#define SATURATED_RECHECK_MS 200.0

unsigned warm_pool_ranges(const struct warm_config *cfg, unsigned max_jobs)
{
	return cfg->size == 0 ? 0 : cfg->size + max_jobs;
}

/* Wakes the manager so it re-plans (a member was taken or must go). */
static void wake(struct warm_pool *p)
{
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "coderunner: warm pool: wake manager: %s\n", strerror(errno));
}

/* A free uid range, or nranges when none (cannot happen while count <=
 * size and taken members <= max_jobs). Lock held. */
static unsigned alloc_range(struct warm_pool *p)
{
	for (unsigned i = 0; i < p->nranges; i++) {
		if (!p->range_used[i]) {
			p->range_used[i] = true;
			return i;
		}
	}
	return p->nranges;
}

/* Ends a member's processes and removes its workspace and cgroup. Called
 * without the lock (it may wait for the kernel); frees the range last. */
static void member_destroy(struct warm_pool *p, struct warm_member *m)
{
	if (m->proc.pid > 0) {
		syscall(SYS_pidfd_send_signal, m->proc.pidfd, SIGKILL, NULL, 0);
		while (waitpid(m->proc.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (m->control_fd >= 0)
		close(m->control_fd);
	sandbox_proc_close(&m->proc);
	job_cgroup_destroy(&m->jc);
	workspace_destroy(&m->ws);
	pthread_mutex_lock(&p->lock);
	if (p->range_used) /* NULL once stopped: a job that outlived the pool */
		p->range_used[m->range] = false;
	pthread_mutex_unlock(&p->lock);
	free(m);
}

/* Starts one member: an empty workspace, a cgroup at the largest limits a
 * job may ask for and the lowest CPU weight, and the sandbox itself. */
static struct warm_member *member_spawn(struct warm_pool *p, unsigned range, struct error *err)
{
	struct warm_member *m = calloc(1, sizeof(*m));
	if (!m) {
		error_set(err, ENOMEM, "warm sandbox");
		return NULL;
	}
	m->range = range;
	m->id = atomic_fetch_add(p->next_id, 1);
	m->id_base = p->first_id_base + (unsigned long)range * SANDBOX_ID_RANGE;
	m->jc.dir_fd = m->control_fd = -1;
	m->proc = (struct sandbox_proc){
	    .pid = -1, .pidfd = -1, .out_fd = -1, .err_fd = -1, .status_fd = -1};
	uid_t uid = (uid_t)(m->id_base + SANDBOX_JOB_ID);
	int sv[2] = {-1, -1};
	m->limited = p->cgroups && p->cgroups->version != 0;
	struct job_resources resources = {.memory_bytes = p->limits->max_memory_bytes,
					  .cpus = p->limits->default_cpus,
					  .pids = (unsigned)p->limits->pids,
					  .background = true};
	m->resources = resources;
	if (workspace_create(&m->ws, p->host->jobs_dir, m->id, uid, uid, p->limits->workspace_bytes,
			     NULL, err) < 0 ||
	    (m->limited && job_cgroup_create(&m->jc, p->cgroups, m->id, &resources, err) < 0))
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		error_set(err, errno, "warm sandbox control socket");
		goto fail;
	}
	struct sandbox_params params = {.workspace = m->ws.path,
					.host_id_base = m->id_base,
					.tmpfs_bytes = p->limits->workspace_bytes,
					.cpus = 1, /* imports run single-threaded */
					.cgroup = m->limited ? &m->jc : NULL,
					.warm_preload = p->cfg.prepared ? NULL : p->cfg.preload,
					.prepared = p->cfg.prepared,
					.control_fd = sv[1],
					.netns_fd = netns_pool_take(p->netns)};
	int rc = sandbox_spawn(p->host, &params, &m->proc, err);
	close(sv[1]);
	if (params.netns_fd >= 0)
		close(params.netns_fd);
	m->control_fd = sv[0];
	if (rc < 0)
		goto fail;
	m->born_ms = monotonic_ms();
	return m;
fail:
	member_destroy(p, m);
	return NULL;
}

static void bury_dying(struct warm_pool *p);

/* Unlinks m from the list of members not taken. Lock held. */
static void unlink_member(struct warm_pool *p, struct warm_member *m)
{
	for (struct warm_member **pp = &p->members; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			p->count--;
			if (m->ready)
				p->nready--;
			m->next = NULL;
			return;
		}
	}
}

/* The member with this id, if it is still in the pool. Lock held. */
static struct warm_member *find(struct warm_pool *p, unsigned long id)
{
	for (struct warm_member *m = p->members; m; m = m->next)
		if (m->id == id)
			return m;
	return NULL;
}

/* Counts a failed start and schedules the next attempt. Lock held. */
static void start_failed(struct warm_pool *p)
{
	p->stats.start_failures++;
	double delay = RETRY_FIRST_MS;
	for (unsigned i = 0; i < p->failures && delay < RETRY_MAX_MS; i++)
		delay *= 2;
	p->failures++;
	p->retry_at_ms = monotonic_ms() + (delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS);
}

/* Takes a dead, failed or expired member out (lock held on entry and exit,
 * dropped while it is destroyed). */
static void drop(struct warm_pool *p, struct warm_member *m, const char *why, bool failure)
{
	unlink_member(p, m);
	if (failure) {
		start_failed(p);
		char status[256] = "";
		ssize_t n = -1; /* the init's set-up error, if it wrote one; never wait */
		if (m->proc.status_fd >= 0 && fcntl(m->proc.status_fd, F_SETFL, O_NONBLOCK) == 0)
			n = read(m->proc.status_fd, status, sizeof(status) - 1);
		status[n > 0 ? n : 0] = '\0';
		status[strcspn(status, "\n")] = '\0';
		fprintf(stderr, "coderunner: warm pool: sandbox %lu %s%s%s\n", m->id, why,
			status[0] ? ": " : "", status);
	} else {
		p->stats.retired++;
	}
	pthread_mutex_unlock(&p->lock);
	member_destroy(p, m);
	pthread_mutex_lock(&p->lock);
}

/* The manager's one round of waiting: on every member's pidfd, on the
 * control socket of those still importing, and on the wake fd, until the
 * next deadline. Handles what happened. Lock held on entry and exit. */
static void watch(struct warm_pool *p)
{
	struct pollfd fds[1 + 2 * 64];
	unsigned long ids[1 + 2 * 64];
	nfds_t n = 0;
	fds[n] = (struct pollfd){.fd = p->wake_fd, .events = POLLIN};
	ids[n++] = 0;
	double now = monotonic_ms(), next = now + 60000.0;
	for (struct warm_member *m = p->members; m && n + 2 <= 1 + 2 * 64; m = m->next) {
		fds[n] = (struct pollfd){.fd = m->proc.pidfd, .events = POLLIN};
		ids[n++] = m->id;
		if (!m->ready) {
			fds[n] = (struct pollfd){.fd = m->control_fd, .events = POLLIN};
			ids[n++] = m->id;
		}
		double due = m->born_ms + (m->ready ? p->cfg.max_age_s * 1e3 : STARTUP_TIMEOUT_MS);
		if (due < next)
			next = due;
	}
	if (p->count < p->cfg.size && p->retry_at_ms < next)
		next = p->retry_at_ms;
	int timeout = next <= now ? 0 : (int)(next - now) + 1;
	pthread_mutex_unlock(&p->lock);
	int rc = poll(fds, n, timeout);
	pthread_mutex_lock(&p->lock);
	if (rc < 0)
		return;
	if (fds[0].revents & POLLIN) {
		uint64_t v;
		if (read(p->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			fprintf(stderr, "coderunner: warm pool: read wake fd: %s\n",
				strerror(errno));
	}
	for (nfds_t i = 1; i < n; i++) {
		if (!fds[i].revents)
			continue;
		struct warm_member *m = find(p, ids[i]); /* may have been taken meanwhile */
		if (!m)
			continue;
		if (fds[i].fd == m->proc.pidfd) {
			drop(p, m, "exited before it was used", true);
		} else if (fds[i].fd == m->control_fd && !m->ready) {
			char msg[16];
			ssize_t got = recv(m->control_fd, msg, sizeof(msg), MSG_DONTWAIT);
			if (got == 5 && memcmp(msg, "ready", 5) == 0) {
				m->ready = true;
				p->nready++;
				p->failures = 0;
			} else if (got >= 0 || errno != EAGAIN) {
				drop(p, m, "broke its control socket", true);
			}
		}
	}
	now = monotonic_ms();
	for (struct warm_member *m = p->members, *nx; m; m = nx) {
		nx = m->next;
		if (m->ready && now - m->born_ms > p->cfg.max_age_s * 1e3)
			drop(p, m, "aged out", false);
		else if (!m->ready && now - m->born_ms > STARTUP_TIMEOUT_MS)
			drop(p, m, "was not ready in time", true);
		else
			continue;
		nx = p->members; /* the list may have changed while unlocked */
	}
}

/* Keeps the pool full until stopped. */
static void *manager(void *arg)
{
	struct warm_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		bury_dying(p);
		if (p->count < p->cfg.size && monotonic_ms() >= p->retry_at_ms &&
		    !p->cfg.prepared && p->busy && p->busy(p->busy_arg)) {
			/* every slot busy: jobs run anyway, and an import now would
			 * take CPU from them for a job that is not waiting for it */
			p->retry_at_ms = monotonic_ms() + SATURATED_RECHECK_MS;
			continue;
		}
		if (p->count < p->cfg.size && monotonic_ms() >= p->retry_at_ms) {
			unsigned range = alloc_range(p), generation = p->generation;
			if (range == p->nranges) { /* all in use: a release wakes us */
				p->retry_at_ms = monotonic_ms() + RETRY_FIRST_MS;
				continue;
			}
			p->count++; /* reserved: take() and stop() see it as starting */
			pthread_mutex_unlock(&p->lock);
			struct error err = {{0}};
			struct warm_member *m = member_spawn(p, range, &err);
			pthread_mutex_lock(&p->lock);
			p->count--;
			if (!m) {
				start_failed(p);
				fprintf(stderr, "coderunner: warm pool: start a sandbox: %s\n",
					err.msg);
				continue;
			}
			p->stats.started++;
			if (generation != p->generation) { /* recycled while it started */
				m->next = p->dying;
				p->dying = m;
				p->stats.retired++;
				continue;
			}
			m->next = p->members;
			p->members = m;
			p->count++;
			continue;
		}
		watch(p);
	}
	while (p->members)
		drop(p, p->members, "stopped", false);
	bury_dying(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int warm_pool_start(struct warm_pool *p, const struct warm_config *cfg, const struct host *h,
		    const struct limits *lim, const struct cgroup_setup *cgroups,
		    struct netns_pool *netns, unsigned long first_id_base, unsigned max_jobs,
		    atomic_ulong *next_id, struct error *err)
{
	bool (*busy)(void *) = p->busy;
	void *busy_arg = p->busy_arg;
	memset(p, 0, sizeof(*p));
	p->busy = busy;
	p->busy_arg = busy_arg;
	p->host = h;
	p->limits = lim;
	p->cgroups = cgroups;
	p->netns = netns;
	p->cfg = *cfg;
	p->first_id_base = first_id_base;
	p->nranges = warm_pool_ranges(cfg, max_jobs);
	p->next_id = next_id;
	p->stats.target = cfg->size;
	p->wake_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (cfg->size == 0)
		return 0;
	if (cfg->size > 64)
		return error_set(err, 0, "--warm-pool %u: at most 64", cfg->size);
	p->range_used = calloc(p->nranges, sizeof(*p->range_used));
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!p->range_used || p->wake_fd < 0)
		return error_set(err, errno ? errno : ENOMEM, "warm pool set-up");
	int rc = pthread_create(&p->thread, NULL, manager, p);
	if (rc != 0)
		return error_set(err, rc, "start the warm pool thread");
	p->started = true;
	return 0;
}

struct warm_member *warm_pool_take(struct warm_pool *p, size_t memory_bytes, enum warm_miss *why)
{
	*why = WARM_MISS_EMPTY;
	if (!p->started)
		return NULL;
	pthread_mutex_lock(&p->lock);
	struct warm_member *m = p->members;
	for (; m; m = m->next) {
		if (!m->ready)
			continue;
		/* unknown use does not fit: on v2 a lower memory.max would reclaim */
		double used = m->limited ? job_cgroup_memory_current(&m->jc) : 0;
		if (used < 0 || used + (double)WARM_MEMORY_HEADROOM > (double)memory_bytes) {
			*why = WARM_MISS_MEMORY;
			continue;
		}
		break;
	}
	if (m) {
		unlink_member(p, m);
		p->stats.warm_jobs++;
		wake(p);
	} else {
		p->stats.misses[*why]++;
	}
	pthread_mutex_unlock(&p->lock);
	return m;
}

void warm_pool_count_miss(struct warm_pool *p, enum warm_miss why)
{
	pthread_mutex_lock(&p->lock);
	p->stats.misses[why]++;
	if (why == WARM_MISS_FAILED && p->stats.warm_jobs > 0)
		p->stats.warm_jobs--; /* taken, but the job ran cold */
	pthread_mutex_unlock(&p->lock);
}

int warm_member_go(struct warm_member *m, const char *entry_point, unsigned threads,
		   struct error *err)
{
	char msg[PATH_MAX + 32];
	int len = snprintf(msg, sizeof(msg), "%s%c%u", entry_point, '\0', threads);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return error_set(err, ENAMETOOLONG, "warm start message for %s", entry_point);
	if (send(m->control_fd, msg, (size_t)len, MSG_NOSIGNAL) != len)
		return error_set(err, errno, "hand the job to warm sandbox %lu", m->id);
	return 0;
}

void warm_pool_release(struct warm_pool *p, struct warm_member *m)
{
	syscall(SYS_pidfd_send_signal, m->proc.pidfd, SIGKILL, NULL, 0);
	pthread_mutex_lock(&p->lock);
	if (!p->stop) {
		m->next = p->dying;
		p->dying = m;
		wake(p);
		m = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (m) /* stopping: no manager left to do it */
		member_destroy(p, m);
}

/* Tears down the members jobs are done with. Lock held on entry and exit. */
static void bury_dying(struct warm_pool *p)
{
	while (p->dying) {
		struct warm_member *m = p->dying;
		p->dying = m->next;
		pthread_mutex_unlock(&p->lock);
		member_destroy(p, m);
		pthread_mutex_lock(&p->lock);
	}
}

void warm_pool_recycle(struct warm_pool *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->generation++; /* a sandbox being started right now is stale too */
	while (p->members) {
		struct warm_member *m = p->members;
		unlink_member(p, m);
		m->next = p->dying; /* torn down by the manager, not this thread */
		p->dying = m;
		p->stats.retired++;
	}
	p->failures = 0;
	p->retry_at_ms = 0;
	wake(p);
	pthread_mutex_unlock(&p->lock);
}

void warm_pool_stats(struct warm_pool *p, struct warm_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	out->ready = p->nready;
	out->starting = p->count - p->nready;
	out->memory_bytes = 0;
	for (struct warm_member *m = p->members; m; m = m->next) {
		double used = m->limited ? job_cgroup_memory_current(&m->jc) : -1;
		if (used > 0)
			out->memory_bytes += used;
	}
	pthread_mutex_unlock(&p->lock);
}

void warm_pool_stop(struct warm_pool *p)
{
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		wake(p);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	pthread_mutex_lock(&p->lock);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	p->wake_fd = -1;
	free(p->range_used);
	p->range_used = NULL;
	pthread_mutex_unlock(&p->lock);
}
