/* seccomp_filter.h - the system-call filter every job runs under.
 * Owns: the list of kernel interfaces untrusted code never needs (mounts,
 * namespaces, keyrings, BPF, perf, io_uring, ptrace, module loading, raw and
 * packet sockets, foreign ABIs, ...). Denied calls fail with EPERM so Python
 * raises an ordinary exception; nothing is killed. */
#ifndef CODERUNNER_SECCOMP_FILTER_H
#define CODERUNNER_SECCOMP_FILTER_H

#include <linux/filter.h>

#include "error.h"

/* The filter compiled to BPF: built ahead (it takes ~0.4 ms), loaded at
 * the last moment. */
struct seccomp_program {
	struct sock_filter *filter; /* static storage: one program per process */
	unsigned short len;
};

/* Compiles the filter with libseccomp. */
int seccomp_filter_prepare(struct seccomp_program *prog, struct error *err);

/* Loads a prepared filter into the calling thread (no_new_privs must be
 * set), as seccomp_load would. */
int seccomp_filter_load(const struct seccomp_program *prog, struct error *err);

#endif
