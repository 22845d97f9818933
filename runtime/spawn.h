/* spawn.h - start a job's init in fresh namespaces from a threaded server.
 * Owns: clone3 into user, pid, mount, net, ipc, uts and cgroup namespaces,
 * the uid/gid mapping, and the hand-off by exec. Between clone and exec the
 * child makes raw system calls only: the server is multi-threaded, so malloc
 * or stdio there could deadlock. */
#ifndef CODERUNNER_SPAWN_H
#define CODERUNNER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "host.h"

/* The ids inside the sandbox 0..65535 map to host ids host_id_base.. */
#define SANDBOX_ID_RANGE 65536u
/* The uid/gid the job's Python runs as inside the sandbox. */
#define SANDBOX_JOB_ID 1000u

struct sandbox_params {
	const char *workspace;	 /* host path of the job's workspace tmpfs */
	const char *entry_point; /* workspace-relative .py */
	unsigned long host_id_base;
	size_t tmpfs_bytes;	   /* size of the job's /tmp and /dev/shm */
	unsigned cpus;		   /* thread-count hint for numeric libraries */
	struct job_cgroup *cgroup; /* NULL: no limits */
	const char *deps_dir;	   /* packages mounted read-only at /opt, or NULL */
	bool share_network;	   /* pip installs: the host's network, not an empty one */
	char *const *pip_args;	   /* non-NULL: run `pip install ARGS` instead of the job */
	const char *warm_preload;  /* non-NULL: a warm sandbox importing these modules */
	bool prepared;		   /* a sandbox that waits for its job before starting Python */
	int control_fd;		   /* warm: the sandbox's end of the control socket, or -1 */
	int netns_fd; /* a fresh network namespace for the job (netns_pool.h); -1: a new one */
};

struct sandbox_proc {
	pid_t pid;
	int pidfd;	    /* readable when init has exited */
	int out_fd, err_fd; /* read ends of the job's stdout and stderr */
	int status_fd;	    /* read end: set-up errors from init, if any */
};

/* Starts the job's init; on success fills proc (caller closes its fds and
 * reaps pid). */
int sandbox_spawn(const struct host *h, const struct sandbox_params *p, struct sandbox_proc *proc,
		  struct error *err);

/* Closes every fd in proc; idempotent. */
void sandbox_proc_close(struct sandbox_proc *proc);

#endif
