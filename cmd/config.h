/* config.h - settings shared by `serve` and `run`, and their option tables.
 * Owns: what can be configured and its documented defaults. */
#ifndef CODERUNNER_CONFIG_H
#define CODERUNNER_CONFIG_H

#include <stdbool.h>

#include "../runtime/limits.h"
#include "options.h"

struct config {
	const char *listen;
	const char *rootfs;
	const char *state_dir;
	unsigned max_jobs;
	unsigned http_threads;
	unsigned long uid_base;
	bool no_limits;
	struct limits limits;
	struct opt_list context; /* run only */
};

/* Fills opts (capacity max) with the options for the given command
 * ("serve" or "run"); returns how many. Defaults that depend on the machine
 * (CPU count) are computed here. */
size_t config_options(struct config *c, const char *command, struct opt *opts, size_t max);

/* Checks values that only make sense together (a default above its
 * maximum raises the maximum; a limit too small to start Python fails). */
int config_check(struct config *c, struct error *err);

#endif
