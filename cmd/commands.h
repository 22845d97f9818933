/* commands.h - the subcommands of the coderunner binary. */
#ifndef CODERUNNER_COMMANDS_H
#define CODERUNNER_COMMANDS_H

#include "../runtime/cgroup.h"
#include "config.h"

int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* Sets up job cgroups; *out is NULL when running without limits. Returns -1
 * (after explaining) when limits cannot be enforced and --no-limits is off. */
int enforce_limits(struct cgroup_setup *cs, const struct config *cfg, const char *command,
		   const struct cgroup_setup **out);

/* Reads the rootfs manifest (ROOTFS.manifest.json, else the copy inside the
 * rootfs); NULL when absent. */
char *load_manifest(const char *rootfs);

#endif
