/* config.h - settings shared by `serve` and `run`, and their option tables.
 * Owns: what can be configured and its documented defaults. */
#ifndef CODERUNNER_CONFIG_H
#define CODERUNNER_CONFIG_H

#include "../runtime/limits.h"
#include "options.h"

struct config {
	const char *listen;
	const char *rootfs;
	const char *state_dir;
	unsigned max_jobs;
	unsigned http_threads;
	unsigned long uid_base;
	struct limits limits;
	struct opt_list context; /* run only */
};

/* Fills opts (capacity max) with the options for the given command
 * ("serve" or "run"); returns how many. Defaults that depend on the machine
 * (CPU count) are computed here. */
size_t config_options(struct config *c, const char *command, struct opt *opts, size_t max);

#endif
