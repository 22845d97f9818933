/* supervise.h - watch a running job: capture its output, enforce its
 * deadline, collect its exit status.
 * Owns: the poll loop over stdout, stderr and the init's pidfd. Never blocks
 * the job on a full pipe: past the cap, output is read and dropped. */
#ifndef CODERUNNER_SUPERVISE_H
#define CODERUNNER_SUPERVISE_H

#include "error.h"
#include "job.h"
#include "limits.h"
#include "spawn.h"

/* Runs until the job's init has exited and both pipes are drained, killing
 * the whole pid namespace at the deadline. Fills exit_code, timed_out, out,
 * err and duration_ms. Returns -1 only when CodeRunner itself failed.
 * done_fd (a warm sandbox's control socket, else -1) may report "exit N"
 * first: the job is then over without waiting for its process to be torn
 * down, the sandbox is killed, and the caller reaps proc->pid later. */
int supervise_job(struct sandbox_proc *proc, int done_fd, double timeout_s,
		  const struct limits *lim, struct job_result *res, struct error *err);

/* Appends data to c, keeping at most cap bytes and counting the rest. */
int captured_append(struct captured *c, const char *data, size_t len, size_t cap);

#endif
