/* error.h - errors as values: a fixed buffer filled with context.
 * Owns: formatting "what, on which path: errno text". Never aborts. */
#ifndef CODERUNNER_ERROR_H
#define CODERUNNER_ERROR_H

#include <stddef.h>

struct error {
	char msg[512];
};

/* Formats msg and appends ": strerror(errnum)" when errnum != 0; returns -1
 * so callers can write `return error_set(err, errno, "open %s", path);`. */
int error_set(struct error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
