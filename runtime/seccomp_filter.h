/* seccomp_filter.h - the system-call filter every job runs under.
 * Owns: the list of kernel interfaces untrusted code never needs (mounts,
 * namespaces, keyrings, BPF, perf, io_uring, ptrace, module loading, raw and
 * packet sockets, foreign ABIs, ...). Denied calls fail with EPERM so Python
 * raises an ordinary exception; nothing is killed. */
#ifndef CODERUNNER_SECCOMP_FILTER_H
#define CODERUNNER_SECCOMP_FILTER_H

#include "error.h"

/* Loads the filter into the calling thread (no_new_privs must be set). */
int seccomp_filter_install(struct error *err);

#endif
