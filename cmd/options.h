/* options.h - command-line flags with CODERUNNER_* environment fallbacks.
 * Owns: one table per command that drives parsing, defaults and --help, so
 * the three can never disagree. */
#ifndef CODERUNNER_OPTIONS_H
#define CODERUNNER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../runtime/error.h"

enum opt_type {
	OPT_STRING,  /* const char ** */
	OPT_UINT,    /* unsigned * (>= 1) */
	OPT_ULONG,   /* unsigned long * */
	OPT_SECONDS, /* double * (> 0) */
	OPT_SIZE,    /* size_t *, accepts K, M, G suffixes (powers of 1024) */
	OPT_LIST,    /* struct opt_list *: repeatable */
	OPT_FLAG,    /* bool *: no value; env accepts 1/true/yes */
	OPT_CPUS,    /* double * (> 0), a number of CPUs */
};

struct opt_list {
	const char *items[64];
	size_t n;
};

struct opt {
	const char *name; /* "listen" for --listen */
	const char *env;  /* "CODERUNNER_LISTEN", or NULL */
	enum opt_type type;
	const char *def; /* default as text, or NULL */
	const char *help;
	void *target;
	unsigned scope; /* bit set of the commands that take it (config.c) */
};

/* Applies defaults, then the environment, then argv (from index 0). Leftover
 * positional arguments are returned in pos. Returns 0, 1 when --help was
 * asked for, or -1 with err set. */
int options_parse(const struct opt *opts, size_t n, int argc, char **argv, struct opt_list *pos,
		  struct error *err);

/* Prints one line per option: flag, env var, default, help. */
void options_help(FILE *f, const struct opt *opts, size_t n);

/* Parses "16M" / "256K" / "1048576" into bytes. */
int parse_size(const char *text, size_t *out);

#endif
