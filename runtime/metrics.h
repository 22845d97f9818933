/* metrics.h - process-wide counters and histograms, rendered in the
 * Prometheus text exposition format for GET /metrics.
 * Owns: the metric names and their meaning. Thread-safe; never blocks a job
 * for more than a counter update. */
#ifndef CODERUNNER_METRICS_H
#define CODERUNNER_METRICS_H

enum job_outcome {
	OUTCOME_OK,	  /* ran, exit code 0 */
	OUTCOME_ERROR,	  /* ran, non-zero exit (not timeout or OOM) */
	OUTCOME_TIMEOUT,  /* killed at its deadline */
	OUTCOME_OOM,	  /* killed by the OOM killer */
	OUTCOME_REJECTED, /* not run: bad input, auth, overload, draining */
	OUTCOME_INTERNAL, /* CodeRunner failed */
	OUTCOME_COUNT
};

void metrics_job(const char *tenant, enum job_outcome outcome);
void metrics_job_seconds(double s);
void metrics_setup_seconds(double s);
void metrics_queue_wait_seconds(double s);
void metrics_http_response(int status);

/* The whole exposition; running and waiting are gauges read by the caller.
 * Returns a malloc'd string. */
struct deps;
struct warm_pool;
char *metrics_render(unsigned running, unsigned waiting, unsigned max_jobs, struct deps *deps,
		     struct warm_pool *warm, struct warm_pool *prepared);

#endif
