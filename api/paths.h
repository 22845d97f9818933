/* paths.h - the rules a client-supplied file name must follow.
 * Owns: deciding whether a relative path is safe to create under the
 * workspace. Never touches the filesystem. */
#ifndef CODERUNNER_PATHS_H
#define CODERUNNER_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#define PATH_MAX_BYTES	 1024
#define PATH_MAX_SEGMENT 255
#define PATH_MAX_DEPTH	 16

/* Checks a relative path: non-empty, valid UTF-8, no NUL or control
 * characters, no backslash, not absolute, no empty, "." or ".." segments, no
 * segment starting with a dot, bounded length and depth. On failure writes a
 * reason (e.g. "contains a \"..\" segment") into why and returns false. */
bool path_is_safe(const char *path, size_t len, char *why, size_t why_len);

/* True when a is b, or a is a directory prefix of b ("a" vs "a/b"), or vice
 * versa: the two cannot both be files in one tree. */
bool path_conflicts(const char *a, const char *b);

#endif
