/* sandbox_init.h - pid 1 of every job.
 * Owns: building the job's filesystem view (pivot_root into the read-only
 * rootfs), lo, hostname, the privilege drop, exec of Python, reaping, and
 * relaying the exit status. Never returns to the server's code: it runs in a
 * freshly exec'd copy of our binary inside the job's namespaces. */
#ifndef CODERUNNER_SANDBOX_INIT_H
#define CODERUNNER_SANDBOX_INIT_H

/* argv: __sandbox-init ROOTFS WORKSPACE ENTRY_POINT TMPFS_BYTES CPUS DEPS MODE
 * [PIP_ARGS...], with DEPS "-" for none and MODE "job" or "pip".
 * Exits with the job's exit code (128+N for signal N), or 125 after writing
 * a set-up error to fd 3. */
int sandbox_init_main(int argc, char **argv);

#endif
