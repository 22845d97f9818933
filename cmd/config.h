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
	double io_timeout_s;
	size_t max_queue;
	double max_queue_wait_s;
	size_t tenant_max_jobs;
	const char *api_keys_file;
	bool allow_unauthenticated;
	const char *log_level;
	const char *log_file;
	double shutdown_grace_s;
	unsigned retry_after_s;
	const char *mcp_allowed_origins;
	const char *deps_cache_dir; /* "" disables dependency installs */
	size_t deps_cache_bytes;
	const char *pip_index_url, *pip_extra_index_url, *pip_trusted_host;
	double deps_install_timeout_s;
	unsigned long uid_base;
	size_t warm_pool;	  /* pre-started sandboxes; 0: warm starts off */
	const char *warm_preload; /* modules they import ahead of the job */
	double warm_max_age_s;
	const char *prepared_text; /* "auto" (--max-jobs) or a number */
	size_t prepared;	   /* sandboxes set up ahead for cold jobs */
	bool no_limits;
	bool json; /* doctor --json */
	struct limits limits;
	struct opt_list context; /* run only */
};

/* Room for one command's options; config_from_args refuses to run with
 * fewer than a command has, rather than silently dropping some. */
#define CONFIG_MAX_OPTIONS 64

/* Fills opts (capacity max) with the options for the given command
 * ("serve" or "run"); returns how many there are, which may exceed max. Defaults that depend on the
 * machine (CPU count) are computed here. */
size_t config_options(struct config *c, const char *command, struct opt *opts, size_t max);

/* Parses a command's options and positional arguments (between min_pos and
 * max_pos of them), printing usage (the text, then every option) for --help
 * or bad usage. Returns -1 to go on, else the exit status: 0 after --help,
 * 2 after bad usage. */
int config_from_args(struct config *c, const char *command, const char *usage, int argc,
		     char **argv, size_t min_pos, size_t max_pos, struct opt_list *pos);

/* Checks values that only make sense together (a default above its
 * maximum raises the maximum; a limit too small to start Python fails). */
int config_check(struct config *c, struct error *err);

#endif
