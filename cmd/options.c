/* options.c - see options.h. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int parse_size(const char *text, size_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (end == text || errno != 0 || text[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift) {
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end != '\0' || v > (ULLONG_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

/* Stores one textual value into its typed target. */
static int apply(const struct opt *o, const char *value, const char *source, struct error *err)
{
	char *end = NULL;
	switch (o->type) {
	case OPT_STRING:
		*(const char **)o->target = value;
		return 0;
	case OPT_UINT:
	case OPT_ULONG: {
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (end == value || *end || errno || value[0] == '-' ||
		    (o->type == OPT_UINT && (v == 0 || v > UINT_MAX)))
			return error_set(err, 0, "%s for --%s: \"%s\" is not a %s", source, o->name,
					 value,
					 o->type == OPT_UINT ? "positive integer" : "number");
		if (o->type == OPT_UINT)
			*(unsigned *)o->target = (unsigned)v;
		else
			*(unsigned long *)o->target = (unsigned long)v;
		return 0;
	}
	case OPT_SECONDS: {
		double v = strtod(value, &end);
		if (end == value || *end || !isfinite(v) || v <= 0)
			return error_set(err, 0,
					 "%s for --%s: \"%s\" is not a positive number of seconds",
					 source, o->name, value);
		*(double *)o->target = v;
		return 0;
	}
	case OPT_SIZE:
		if (parse_size(value, (size_t *)o->target) < 0)
			return error_set(err, 0,
					 "%s for --%s: \"%s\" is not a size (e.g. 512K, 16M)",
					 source, o->name, value);
		return 0;
	case OPT_FLAG:
		*(bool *)o->target = strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
				     strcmp(value, "yes") == 0;
		return 0;
	case OPT_CPUS: {
		double v = strtod(value, &end);
		if (end == value || *end || !isfinite(v) || v <= 0)
			return error_set(err, 0,
					 "%s for --%s: \"%s\" is not a positive number of CPUs",
					 source, o->name, value);
		*(double *)o->target = v;
		return 0;
	}
	case OPT_LIST: {
		struct opt_list *l = o->target;
		if (l->n >= sizeof(l->items) / sizeof(l->items[0]))
			return error_set(err, 0, "too many --%s", o->name);
		l->items[l->n++] = value;
		return 0;
	}
	}
	return -1;
}

int options_parse(const struct opt *opts, size_t n, int argc, char **argv, struct opt_list *pos,
		  struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
		if (opts[i].def && opts[i].type != OPT_LIST &&
		    apply(&opts[i], opts[i].def, "default", err) < 0)
			return -1;
		if (env && *env && apply(&opts[i], env, opts[i].env, err) < 0)
			return -1;
	}
	pos->n = 0;
	for (int a = 0; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (pos->n >= sizeof(pos->items) / sizeof(pos->items[0]))
				return error_set(err, 0, "too many arguments");
			pos->items[pos->n++] = arg;
			continue;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *o = NULL;
		for (size_t i = 0; i < n; i++)
			if (strlen(opts[i].name) == nlen && strncmp(opts[i].name, name, nlen) == 0)
				o = &opts[i];
		if (!o)
			return error_set(err, 0, "unknown option %s (see --help)", arg);
		const char *value = eq ? eq + 1 : NULL;
		if (o->type == OPT_FLAG && !value)
			value = "1";
		if (!value) {
			if (a + 1 >= argc)
				return error_set(err, 0, "--%s needs a value", o->name);
			value = argv[++a];
		}
		if (apply(o, value, "value", err) < 0)
			return -1;
	}
	return 0;
}

void options_help(FILE *f, const struct opt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &opts[i];
		fprintf(f, "  --%s%s\n      %s", o->name, o->type == OPT_FLAG ? "" : " VALUE",
			o->help);
		if (o->def)
			fprintf(f, " (default: %s)", o->def);
		if (o->env)
			fprintf(f, " [env %s]", o->env);
		fputc('\n', f);
	}
}
