/* requirements.h - the `dependencies` a request may ask for.
 * Owns: the subset of PEP 508 we accept (a name, optional extras, optional
 * version specifiers) and its canonical form. Never accepts what could make
 * pip do anything but resolve a package from the index: no URLs, paths, "@"
 * direct references, environment markers, or leading "-" (pip options). */
#ifndef CODERUNNER_REQUIREMENTS_H
#define CODERUNNER_REQUIREMENTS_H

#include <stdbool.h>
#include <stddef.h>

#define MAX_REQUIREMENT_BYTES 200

/* Checks one requirement; on success writes its canonical form (PEP 503
 * normalised name, sorted extras, specifiers without spaces) to canon and
 * the normalised name to name. On failure writes why and returns false. */
bool requirement_parse(const char *text, char *canon, size_t canon_len, char *name, size_t name_len,
		       char *why, size_t why_len);

#endif
